// The conformance runner in workerd, driven from Node through Miniflare:
//
//   node test/conformance/workerd.mjs [FILTER]
//
// Reads the case files here (a Worker has no filesystem), hands them to worker.mjs as a
// binding with the harness connection (S3KEEP_TEST_*), then asks the Worker to run each case
// in turn and prints its line, then `N passed, N failed, N skipped`; exits 1 if a case failed
// or none passed.
// Capabilities in workerd: rawS3 (aws4fetch over the Worker's fetch); no filesystem, so the
// restoreDir cases are skipped. With S3KEEP_INTEROP_BUCKET and S3KEEP_INTEROP_PHASE set it
// runs that interop phase inside workerd instead, as binding "workerd".
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { checkProvidersDoc, providerOf, summary } from "./runner.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MODULES = [
  ["ESModule", "test/conformance/worker.mjs"],
  ["ESModule", "test/conformance/runner.mjs"],
  ["ESModule", "node_modules/aws4fetch/dist/aws4fetch.esm.mjs"],
  ["ESModule", "js/workerd.js"],
  ["ESModule", "js/api.js"],
  ["ESModule", "js/errors.js"],
  ["ESModule", "pkg/s3keep_wasm.js"],
  ["CompiledWasm", "pkg/s3keep_wasm_bg.wasm"],
];

const env = process.env;
const started = performance.now();
if (!env.S3KEEP_TEST_ENDPOINT) {
  console.error("conformance: S3KEEP_TEST_ENDPOINT is not set; run under `python3 scripts/minio_harness.py run -- ...`");
  process.exit(2);
}
const interop = Boolean(env.S3KEEP_INTEROP_BUCKET && env.S3KEEP_INTEROP_PHASE);

async function caseFiles() {
  const dir = env.S3KEEP_CONFORMANCE_CASES || join(ROOT, "../conformance/cases");
  const names = (await readdir(dir)).filter((n) => n.endsWith(".json"));
  return Promise.all(names.map(async (name) => ({ name, text: await readFile(join(dir, name), "utf8") })));
}

const filter = process.argv.slice(2).find((a) => !a.startsWith("-")) || env.S3KEEP_CONFORMANCE_FILTER || "";
const bindings = {
  S3_ENDPOINT: env.S3KEEP_TEST_ENDPOINT,
  S3_REGION: env.S3KEEP_TEST_REGION || "us-east-1",
  S3_ACCESS_KEY: env.S3KEEP_TEST_ACCESS_KEY,
  S3_SECRET_KEY: env.S3KEEP_TEST_SECRET_KEY,
  CASE_FILES: interop ? "[]" : JSON.stringify(await caseFiles()),
  FILTER: filter,
  INTEROP_BUCKET: env.S3KEEP_INTEROP_BUCKET ?? "",
  INTEROP_PHASE: env.S3KEEP_INTEROP_PHASE ?? "",
  INTEROP_EXPECT: env.S3KEEP_INTEROP_EXPECT ?? "",
};
if (env.S3KEEP_CONFORMANCE_CAPABILITIES !== undefined) bindings.CAPABILITIES = env.S3KEEP_CONFORMANCE_CAPABILITIES;
const providersDoc = JSON.parse(await readFile(join(ROOT, "../conformance/providers.json"), "utf8"));
checkProvidersDoc(providersDoc);
const provider = providerOf(env.S3KEEP_TEST_PROVIDER, env.S3KEEP_TEST_CAPABILITIES, providersDoc.providers);
bindings.PROVIDER = provider.name;
bindings.PROVIDER_CAPABILITIES = provider.capabilities.join(",");

const mf = new Miniflare({
  modules: MODULES.map(([type, path]) => ({ type, path: ROOT + path })),
  modulesRoot: ROOT,
  compatibilityDate: "2025-09-01",
  bindings,
});

async function get(path) {
  const response = await mf.dispatchFetch(`http://localhost${path}`);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${path}: HTTP ${response.status}: ${text}`);
  return JSON.parse(text);
}

let failed = false;
try {
  if (interop) {
    const { ok, lines } = await get("/interop");
    for (const line of lines) console.log(line);
    failed = !ok;
  } else {
    const own = ["rawS3", "s3Bucket"];
    const capabilities = env.S3KEEP_CONFORMANCE_CAPABILITIES === undefined
      ? own
      : own.filter((c) => env.S3KEEP_CONFORMANCE_CAPABILITIES.split(",").map((s) => s.trim()).includes(c));
    console.log(`conformance (workerd through Miniflare; no filesystem: a Worker has no local disk): capabilities ${capabilities.join(", ") || "none"}${filter ? `; filter ${JSON.stringify(filter)}` : ""}`);
    const entries = await get("/entries");
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (let i = 0; i < entries.length; i++) {
      let result;
      try {
        result = await get(`/run?i=${i}`);
      } catch (e) {
        result = { verdict: "failed", line: `${entries[i].label} ... FAILED: the Worker failed: ${String(e.message).split("\n")[0]}` };
      }
      counts[result.verdict] += 1;
      console.log(result.line);
    }
    console.log(summary(counts));
    // A run in which no case passed proves nothing.
    failed = counts.failed > 0 || counts.passed === 0;
    if (counts.passed === 0) console.log("conformance (workerd): no case passed: failing");
    console.error(`conformance (workerd): ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
} catch (e) {
  console.log(`conformance (workerd): FAILED: ${e.message}`);
  failed = true;
} finally {
  await mf.dispose();
}
process.exit(failed ? 1 : 0);
