// The shared scenarios (scenarios.mjs) under node:test, against the harness MinIO.
import { test } from "node:test";
import { fsScenarios, scenarios } from "./scenarios.mjs";

for (const [name, run] of [...scenarios, ...fsScenarios]) test(name, run);
