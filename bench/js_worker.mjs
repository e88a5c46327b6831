// One timed operation of one JavaScript client, in a fresh process (run by bench/peers.py).
//
//   node bench/js_worker.mjs OP LIB      (or: bun bench/js_worker.mjs OP LIB)
//
// OP: small-put, small-get, big-put, big-get, or `fixture` (untimed: saves the s3keep
// backups the GETs restore). LIB: s3keep (the npm package in bindings-wasm/), lib-storage
// (@aws-sdk/lib-storage Upload + @aws-sdk/client-s3 GetObject), aws4fetch (signed fetch; the
// multipart upload written here as its users write it). Settings: JSON in $S3KEEP_BENCH_CFG.
// Sources: s3keep takes file-backed Blobs (its documented way); the peers' small PUTs send
// the bytes of readFile (a file-backed Blob as a fetch body costs undici ~4x more per
// request), their large PUTs a file-backed Blob (sliced per part by aws4fetch here).
//
// Timed: the operation only, after import, client construction and one small untimed
// request (connection, lazy loading). Printed as one JSON line:
// wall seconds, CPU seconds (process.cpuUsage), and memory sampled every 20 ms as
// bindings-wasm/bench/memory.mjs does: peak heapUsed + arrayBuffers + wasm memory (the
// package's; 0 for the peers), each peak, and the peak RSS (VmHWM, reset through
// /proc/self/clear_refs just before the operation).
import { openAsBlob, readFileSync, writeFileSync } from "node:fs";
import { mkdir, open, readdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { pathToFileURL } from "node:url";

const cfg = JSON.parse(process.env.S3KEEP_BENCH_CFG);
const [op, lib] = process.argv.slice(2);
const FIXTURE_SMALL = "1/1/0";
const FIXTURE_BIG = "1/2/0";
const c = cfg.concurrency;

async function filesBelow(root) {
  const out = [];
  for (const e of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) {
      const path = join(e.parentPath ?? e.path, e.name);
      out.push([relative(root, path), path]);
    }
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** A file-backed Blob: nothing is read until sliced (Node's fs.openAsBlob, Bun.file). */
const fileBlob = (path) => (globalThis.Bun ? Promise.resolve(globalThis.Bun.file(path)) : openAsBlob(path));

/** Runs `jobs` (functions returning promises) `c` at a time. */
async function pool(items, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(c, items.length) }, worker));
}

async function writeStream(path, stream) {
  await mkdir(dirname(path), { recursive: true });
  const fh = await open(path, "w");
  try {
    for await (const chunk of stream) await fh.write(chunk);
  } finally {
    await fh.close();
  }
}

// ---------------------------------------------------------------------------- clients

let wasmMemory = () => 0;

async function s3keepOp() {
  const pkg = await import(pathToFileURL(join(cfg.package_dir, "js/index.js")));
  const glue = await import(pathToFileURL(join(cfg.package_dir, "pkg/s3keep_wasm.js")));
  const wasm = await glue.default(); // already initialised by index.js: the same exports
  wasmMemory = () => wasm.memory.buffer.byteLength;
  const put = op.endsWith("-put");
  const store = new pkg.BackupStore({
    bucket: cfg.bucket, prefix: put ? cfg.prefix : cfg.fixture_prefix, endpoint: cfg.endpoint,
    region: cfg.region, accessKeyId: cfg.access_key, secretAccessKey: cfg.secret_key, env: false,
    partSize: cfg.part_size, multipartThreshold: cfg.part_size, concurrency: c,
    ...(cfg.format == null ? {} : { format: cfg.format }),
  });
  await store.status("9/9/9"); // warm-up: a GET of a missing status.json
  const smallSet = async () => {
    const files = {};
    for (const [name, path] of await filesBelow(cfg.small_dir)) files[name] = await fileBlob(path);
    return files;
  };
  const bigSet = async () => ({ "big.bin": await fileBlob(cfg.big_file) });
  const restore = (id) => pkg.restoreToDirectory(store, id, cfg.out, { concurrency: c });
  return {
    fixture: async () => {
      await store.save(FIXTURE_SMALL, { files: await smallSet() });
      await store.save(FIXTURE_BIG, { files: await bigSet() });
    },
    "small-put": async () => store.save("0/1/0", { files: await smallSet() }),
    "small-get": () => restore(FIXTURE_SMALL),
    "big-put": async () => store.save("0/1/0", { files: await bigSet() }),
    "big-get": () => restore(FIXTURE_BIG),
  }[op];
}

function peers() {
  return createRequire(join(cfg.node_modules, "..", "package.json"));
}

async function libStorageOp() {
  const require = peers();
  const { S3Client, GetObjectCommand } = require("@aws-sdk/client-s3");
  const { Upload } = require("@aws-sdk/lib-storage");
  const client = new S3Client({
    endpoint: cfg.endpoint, region: cfg.region, forcePathStyle: true,
    credentials: { accessKeyId: cfg.access_key, secretAccessKey: cfg.secret_key },
  });
  const { HeadBucketCommand } = require("@aws-sdk/client-s3");
  await client.send(new HeadBucketCommand({ Bucket: cfg.bucket })); // warm-up
  const upload = async (key, body) =>
    new Upload({ client, params: { Bucket: cfg.bucket, Key: key, Body: body }, partSize: cfg.part_size, queueSize: c })
      .done();
  const download = async (key, path) => {
    const res = await client.send(new GetObjectCommand({ Bucket: cfg.bucket, Key: key }));
    await writeStream(path, res.Body.transformToWebStream());
  };
  return {
    "small-put": async () =>
      pool(await filesBelow(cfg.small_dir), async ([name, path]) => upload(cfg.prefix + name, await readFile(path))),
    "small-get": async () =>
      pool(await filesBelow(cfg.small_dir), ([name]) => download(cfg.peer_small_prefix + name, join(cfg.out, name))),
    "big-put": async () => upload(cfg.prefix + "big.bin", await fileBlob(cfg.big_file)),
    "big-get": () => download(cfg.peer_big_key, join(cfg.out, "big.bin")),
  }[op];
}

async function aws4fetchOp() {
  const { AwsClient } = peers()("aws4fetch");
  const aws = new AwsClient({
    accessKeyId: cfg.access_key, secretAccessKey: cfg.secret_key, region: cfg.region, service: "s3",
  });
  // Without this header aws4fetch reads the whole body into memory to hash it.
  const UNSIGNED = { "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD" };
  const url = (key, query = "") =>
    `${cfg.endpoint}/${cfg.bucket}/${key.split("/").map(encodeURIComponent).join("/")}${query}`;
  const ok = async (res) => {
    if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
    return res;
  };
  await ok(await aws.fetch(url("").replace(/\/$/, ""), { method: "HEAD", headers: UNSIGNED })); // warm-up
  const put = async (key, body) => {
    await ok(await aws.fetch(url(key), { method: "PUT", body, headers: UNSIGNED }));
  };
  const get = async (key, path) => {
    const res = await ok(await aws.fetch(url(key), { headers: UNSIGNED }));
    await writeStream(path, res.body);
  };
  // Multipart upload: c parts in flight, each a slice of the Blob.
  const multipart = async (key, blob) => {
    const init = await (await ok(await aws.fetch(url(key, "?uploads"), { method: "POST", headers: UNSIGNED }))).text();
    const uploadId = /<UploadId>(.*?)<\/UploadId>/.exec(init)[1];
    const count = Math.ceil(blob.size / cfg.part_size);
    const etags = new Array(count);
    await pool([...Array(count).keys()], async (i) => {
      const body = blob.slice(i * cfg.part_size, Math.min(blob.size, (i + 1) * cfg.part_size));
      const q = `?partNumber=${i + 1}&uploadId=${encodeURIComponent(uploadId)}`;
      const res = await ok(await aws.fetch(url(key, q), { method: "PUT", body, headers: UNSIGNED }));
      etags[i] = res.headers.get("etag");
    });
    const xml = "<CompleteMultipartUpload>" +
      etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join("") +
      "</CompleteMultipartUpload>";
    const q = `?uploadId=${encodeURIComponent(uploadId)}`;
    const done = await (await ok(await aws.fetch(url(key, q), { method: "POST", body: xml, headers: UNSIGNED }))).text();
    if (done.includes("<Error>")) throw new Error(done);
  };
  return {
    "small-put": async () =>
      pool(await filesBelow(cfg.small_dir), async ([name, path]) => put(cfg.prefix + name, await readFile(path))),
    "small-get": async () =>
      pool(await filesBelow(cfg.small_dir), ([name]) => get(cfg.peer_small_prefix + name, join(cfg.out, name))),
    "big-put": async () => {
      const blob = await fileBlob(cfg.big_file);
      await (blob.size > cfg.part_size ? multipart(cfg.prefix + "big.bin", blob) : put(cfg.prefix + "big.bin", blob));
    },
    "big-get": () => get(cfg.peer_big_key, join(cfg.out, "big.bin")),
  }[op];
}

// ---------------------------------------------------------------------------- measuring

function vmKib(field) {
  const line = readFileSync("/proc/self/status", "utf8").split("\n").find((l) => l.startsWith(field + ":"));
  return Number(line.split(/\s+/)[1]);
}

const peak = { heap: 0, arrayBuffers: 0, wasm: 0, total: 0 };
function sample() {
  const m = process.memoryUsage();
  const w = wasmMemory();
  const ab = m.arrayBuffers ?? 0;
  peak.heap = Math.max(peak.heap, m.heapUsed);
  peak.arrayBuffers = Math.max(peak.arrayBuffers, ab);
  peak.wasm = Math.max(peak.wasm, w);
  peak.total = Math.max(peak.total, m.heapUsed + ab + w);
}

const builders = { s3keep: s3keepOp, "lib-storage": libStorageOp, aws4fetch: aws4fetchOp };
const run = await builders[lib]();
if (!run) throw new Error(`${lib} has no operation ${op}`);
globalThis.gc?.();
const baseKib = vmKib("VmRSS");
let reset = true;
try {
  writeFileSync("/proc/self/clear_refs", "5");
} catch {
  reset = false;
}
sample();
const timer = setInterval(sample, 20);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await run();
const wall = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
clearInterval(timer);
sample();
const KiB = 1024;
// Written synchronously, then exit: kept-alive sockets of the SDK would hold the process open.
writeFileSync(1, JSON.stringify({
  wall, cpu: (cpu.user + cpu.system) / 1e6, base_kib: baseKib, peak_kib: vmKib("VmHWM"), peak_reset: reset,
  js_peak_kib: peak.total / KiB, heap_peak_kib: peak.heap / KiB, array_buffers_peak_kib: peak.arrayBuffers / KiB,
  wasm_peak_kib: peak.wasm / KiB,
}) + "\n");
process.exit(0);
