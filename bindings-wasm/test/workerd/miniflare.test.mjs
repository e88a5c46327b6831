// The Worker of worker.mjs in workerd through Miniflare: the wasm module is handed
// to workerd as a compiled module ("CompiledWasm"), the MinIO endpoint and credentials as
// bindings. Each step of the Worker becomes one subtest here.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { freshBucketName, minio } from "../harness.mjs";
import { startRedirect } from "../redirect_server.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MODULES = [
  ["ESModule", "test/workerd/worker.mjs"],
  ["ESModule", "js/workerd.js"],
  ["ESModule", "js/api.js"],
  ["ESModule", "js/errors.js"],
  ["ESModule", "pkg/s3keep_wasm.js"],
  ["CompiledWasm", "pkg/s3keep_wasm_bg.wasm"],
];

let mf;
let steps;
let redirect;

before(async () => {
  const m = await minio();
  redirect = await startRedirect(307);
  mf = new Miniflare({
    modules: MODULES.map(([type, path]) => ({ type, path: ROOT + path })),
    modulesRoot: ROOT,
    compatibilityDate: "2025-09-01",
    bindings: {
      S3_ENDPOINT: m.endpoint,
      S3_REGION: m.region,
      S3_ACCESS_KEY: m.accessKeyId,
      S3_SECRET_KEY: m.secretAccessKey,
      S3_BUCKET: freshBucketName("workerd"),
      S3_REDIRECT_ENDPOINT: redirect.endpoint,
      S3_REDIRECT_TARGET: redirect.otherHost,
    },
  });
  const response = await mf.dispatchFetch("http://localhost/");
  const text = await response.text();
  assert.equal(response.status, 200, text);
  steps = JSON.parse(text);
  console.log(steps.map((s) => `${s.name}: ${s.ok ? "ok" : "FAILED"} (${Math.round(s.ms)} ms)`).join("\n"));
});

after(async () => {
  await mf?.dispose();
  await redirect?.close();
});

const NAMES = [
  "save Uint8Array, an 11 MiB Blob and ReadableStream",
  "list and status",
  "restore byte-exact (bytes and stream)",
  "verify deep",
  "BackupAlreadyExists",
  "InvalidInput for ../x",
  "InvalidCredentials",
  "prune dry-run",
  "delete, then NotFound",
  "a redirect to another host is a RedirectError",
  "no secret in toString or JSON",
];

for (const name of NAMES) {
  test(`workerd: ${name}`, () => {
    const step = steps.find((s) => s.name === name);
    assert.ok(step, `the Worker did not run "${name}"`);
    assert.ok(step.ok, step.error);
  });
}

test("workerd: the host a redirect points to receives nothing", () => {
  assert.deepEqual(redirect.received, []);
});
