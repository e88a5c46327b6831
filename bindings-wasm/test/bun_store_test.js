// The shared scenarios (scenarios.mjs) under `bun test`, against the harness MinIO:
//   bun test ./test/bun_store_test.js
import { test } from "bun:test";
import { fsScenarios, scenarios } from "./scenarios.mjs";

for (const [name, fn] of [...scenarios, ...fsScenarios]) test(name, fn, 60_000);
