// The conformance runner's entry for Node, Deno and Bun (one file, the runtime is detected):
//
//   node test/conformance/run.mjs [FILTER]
//   deno run --allow-net=127.0.0.1 --allow-read --allow-env --allow-write test/conformance/run.mjs [FILTER]
//   bun test/conformance/run.mjs [FILTER]
//
// Runs every case of conformance/cases/ (runner.mjs) against the MinIO named by
// S3KEEP_TEST_* (`scripts/minio_harness.py run -- ...`), printing one line per case and
// `N passed, N failed, N skipped`; exits 1 if a case failed or none passed. Capabilities: rawS3 (aws4fetch)
// and filesystem (restoreToDirectory into temporary directories; in Deno only with write
// permission). With S3KEEP_INTEROP_BUCKET and S3KEEP_INTEROP_PHASE set it runs that interop
// phase instead, as binding "node", "deno" or "bun" (conformance/README.md, "Interop").
import { checkProvidersDoc, effectiveCapabilities, providerOf, runInterop, runSuite } from "./runner.mjs";

const runtime = globalThis.Deno ? "deno" : globalThis.Bun ? "bun" : "node";
const { default: process } = await import("node:process");
const fs = await import("node:fs/promises");
const path = await import("node:path");
const os = await import("node:os");
const { fileURLToPath } = await import("node:url");

const env = process.env;
const print = (line) => console.log(line);
const started = performance.now();

function connection() {
  if (!env.S3KEEP_TEST_ENDPOINT) {
    console.error("conformance: S3KEEP_TEST_ENDPOINT is not set; run under `python3 scripts/minio_harness.py run -- ...`");
    process.exit(2);
  }
  return {
    endpoint: env.S3KEEP_TEST_ENDPOINT,
    accessKeyId: env.S3KEEP_TEST_ACCESS_KEY,
    secretAccessKey: env.S3KEEP_TEST_SECRET_KEY,
    region: env.S3KEEP_TEST_REGION || "us-east-1",
  };
}

/** The case files: `[{name, text}]` of S3KEEP_CONFORMANCE_CASES or conformance/cases/. */
async function caseFiles() {
  const dir = env.S3KEEP_CONFORMANCE_CASES || fileURLToPath(new URL("../../../conformance/cases/", import.meta.url));
  const names = (await fs.readdir(dir)).filter((n) => n.endsWith(".json"));
  return Promise.all(names.map(async (name) => ({ name, text: await fs.readFile(path.join(dir, name), "utf8") })));
}

/** Every regular file under `root`, by "/"-separated relative path. */
async function readTree(root) {
  const out = new Map();
  const walk = async (dir, rel) => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const name = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(full, name);
      else out.set(name, new Uint8Array(await fs.readFile(full)));
    }
  };
  await walk(root, "");
  return out;
}

const api = await import("../../js/index.js");

if (env.S3KEEP_INTEROP_BUCKET && env.S3KEEP_INTEROP_PHASE) {
  const phase = env.S3KEEP_INTEROP_PHASE;
  if (phase !== "write" && phase !== "read") {
    console.error(`S3KEEP_INTEROP_PHASE must be write or read, not ${JSON.stringify(phase)}`);
    process.exit(2);
  }
  const ok = await runInterop({
    api, connection: connection(), bucket: env.S3KEEP_INTEROP_BUCKET, phase, me: runtime, print,
    expect: (env.S3KEEP_INTEROP_EXPECT ?? "").split(",").map((s) => s.trim()).filter(Boolean),
  });
  process.exit(ok ? 0 : 1);
}

// What this runtime can do. Deno restores into directories only with write permission.
const own = ["rawS3", "filesystem", "s3Bucket"];
const notes = [`${runtime} ${runtime === "deno" ? Deno.version.deno : runtime === "bun" ? Bun.version : process.version}`];
if (runtime === "deno" && (await Deno.permissions.query({ name: "write", path: os.tmpdir() })).state !== "granted") {
  own.splice(own.indexOf("filesystem"), 1);
  notes.push(`no filesystem: deno run without --allow-write for ${os.tmpdir()}`);
}
const capabilities = effectiveCapabilities(own, env.S3KEEP_CONFORMANCE_CAPABILITIES);
const args = runtime === "deno" ? Deno.args : process.argv.slice(2);
const filter = args.find((a) => !a.startsWith("-")) || env.S3KEEP_CONFORMANCE_FILTER || undefined;
console.log(`conformance (${notes.join("; ")}): capabilities ${capabilities.join(", ") || "none"}${filter ? `; filter ${JSON.stringify(filter)}` : ""}`);

const platform = {
  tempDir: () => fs.mkdtemp(path.join(os.tmpdir(), "s3keep-conformance-")),
  removeDir: (dir) => fs.rm(dir, { recursive: true, force: true }),
  readTree,
  restoreToDirectory: api.restoreToDirectory,
};

const providersDoc = JSON.parse(await fs.readFile(fileURLToPath(new URL("../../../conformance/providers.json", import.meta.url)), "utf8"));
checkProvidersDoc(providersDoc);
const provider = providerOf(env.S3KEEP_TEST_PROVIDER, env.S3KEEP_TEST_CAPABILITIES, providersDoc.providers);
console.log(`conformance: provider ${provider.name} (${provider.capabilities.join(", ")})`);
const counts = await runSuite({
  api, connection: connection(), capabilities, provider, platform, filter, print, files: await caseFiles(),
});
console.error(`conformance (${runtime}): ${((performance.now() - started) / 1000).toFixed(1)} s`);
// A run in which no case passed (a filter matching nothing, every case skipped) proves nothing.
if (counts.passed === 0) console.error("conformance: no case passed: failing");
process.exit(counts.failed === 0 && counts.passed > 0 ? 0 : 1);
