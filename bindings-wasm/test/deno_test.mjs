// The shared scenarios (scenarios.mjs) under `deno test`, against the harness MinIO:
//   deno test --no-check --allow-net=127.0.0.1 --allow-read --allow-env --allow-write test/deno_test.mjs
// (--allow-write only for restoreToDirectory's temporary directory).
import { fsScenarios, scenarios } from "./scenarios.mjs";

const canWrite = (await Deno.permissions.query({ name: "write" })).state === "granted";
for (const [name, fn] of scenarios) Deno.test(name, fn);
for (const [name, fn] of fsScenarios) Deno.test({ name, fn, ignore: !canWrite });
