// Memory of a 1 GiB save in Node (issue #7: JS heap + wasm memory under 200 MiB).
//
//   python3 scripts/minio_harness.py run -- node --expose-gc bindings-wasm/bench/memory.mjs
//
// The source is a file-backed Blob (fs.openAsBlob): nothing of it is in memory until the
// binding slices a part. Samples process.memoryUsage() and the wasm memory every 20 ms and
// prints the peaks; exits 1 when heapUsed + arrayBuffers + wasm memory went over the limit.
// Options (env): S3KEEP_BENCH_SIZE_MIB (default 1024), S3KEEP_BENCH_PART_MIB (8),
// S3KEEP_BENCH_CONCURRENCY (4), S3KEEP_BENCH_LIMIT_MIB (200).
import { openAsBlob } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BackupStore } from "../js/index.js";
import initWasm from "../pkg/s3keep_wasm.js";
import { freshBucketName, minio } from "../test/harness.mjs";

const MiB = 1024 * 1024;
const env = (name, fallback) => Number(process.env[name] ?? fallback);
const size = env("S3KEEP_BENCH_SIZE_MIB", 1024) * MiB;
const partSize = env("S3KEEP_BENCH_PART_MIB", 8) * MiB;
const concurrency = env("S3KEEP_BENCH_CONCURRENCY", 4);
const limit = env("S3KEEP_BENCH_LIMIT_MIB", 200) * MiB;

// Already initialised by index.js: the glue hands back the same instance's exports.
const wasm = await initWasm();

/** A file of `size` bytes (1 MiB of noise, repeated with a counter so parts differ). */
async function makeFile(path) {
  const block = new Uint8Array(MiB);
  for (let i = 0; i < block.length; i += 4) block[i] = (i * 2654435761) >>> 24;
  const file = await open(path, "w");
  for (let written = 0; written < size; written += block.length) {
    new DataView(block.buffer).setUint32(0, written / MiB);
    await file.write(block, 0, Math.min(block.length, size - written));
  }
  await file.close();
}

const peak = { heapUsed: 0, arrayBuffers: 0, wasm: 0, total: 0, rss: 0 };
function sample() {
  const m = process.memoryUsage();
  const w = wasm.memory.buffer.byteLength;
  peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
  peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
  peak.wasm = Math.max(peak.wasm, w);
  peak.total = Math.max(peak.total, m.heapUsed + m.arrayBuffers + w);
  peak.rss = Math.max(peak.rss, m.rss);
}

const mib = (n) => `${(n / MiB).toFixed(1)} MiB`;
const dir = await mkdtemp(join(tmpdir(), "s3keep-bench-"));
try {
  const path = join(dir, "big.bin");
  await makeFile(path);
  const blob = await openAsBlob(path);
  const m = await minio();
  const store = new BackupStore({
    bucket: freshBucketName("bench"),
    endpoint: m.endpoint,
    region: m.region,
    accessKeyId: m.accessKeyId,
    secretAccessKey: m.secretAccessKey,
    createBucket: true,
    partSize,
    concurrency,
    env: false,
  });
  await store.ensureBucket();
  globalThis.gc?.();
  sample();
  const before = { ...peak };
  const timer = setInterval(sample, 20);
  const start = performance.now();
  const info = await store.save("0/1/0", { files: { "big.bin": blob } });
  const seconds = (performance.now() - start) / 1000;
  clearInterval(timer);
  sample();
  console.log(`saved ${mib(info.totalSize)} as ${info.id} (${info.status}) in ${seconds.toFixed(1)} s ` +
    `(${mib(info.totalSize / seconds)}/s); part size ${mib(partSize)}, concurrency ${concurrency}`);
  console.log(`before: heapUsed ${mib(before.heapUsed)}, arrayBuffers ${mib(before.arrayBuffers)}, wasm memory ${mib(before.wasm)}`);
  console.log(`peak:   heapUsed ${mib(peak.heapUsed)}, arrayBuffers ${mib(peak.arrayBuffers)}, ` +
    `wasm memory ${mib(peak.wasm)}; rss ${mib(peak.rss)}`);
  const ok = peak.total < limit;
  console.log(`peak JS heap + arrayBuffers + wasm memory: ${mib(peak.total)} (limit ${mib(limit)}): ${ok ? "ok" : "OVER"}`);
  await store.delete("0/1/0");
  process.exitCode = ok ? 0 : 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
