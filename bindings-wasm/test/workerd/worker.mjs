// A Cloudflare Worker using the `s3keep/workerd` entry: saves, lists, restores, verifies
// and deletes a backup in the MinIO named by its bindings (S3_*), then answers with one
// result per step. Driven by miniflare.test.mjs through Miniflare.
import {
  BackupAlreadyExistsError,
  BackupStore,
  InvalidCredentialsError,
  InvalidInputError,
  NotFoundError,
  RedirectError,
} from "../../js/workerd.js";

const MiB = 1024 * 1024;

function check(condition, message) {
  if (!condition) throw new Error(message);
}

function pattern(size, seed) {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed + (i >>> 10)) & 0xff;
  return out;
}

function same(actual, expected, what) {
  check(actual.byteLength === expected.byteLength, `${what}: ${actual.byteLength} bytes, expected ${expected.byteLength}`);
  for (let i = 0; i < expected.length; i++) check(actual[i] === expected[i], `${what}: differs at byte ${i}`);
}

async function readAll(stream) {
  const parts = [];
  for (const reader = stream.getReader(); ;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

async function throwsKind(promise, ErrorClass) {
  try {
    await promise;
  } catch (e) {
    check(e instanceof ErrorClass, `expected ${ErrorClass.name}, got ${e?.name}: ${e?.message}`);
    return e;
  }
  throw new Error(`expected ${ErrorClass.name}, but it resolved`);
}

async function run(env) {
  const options = {
    bucket: env.S3_BUCKET,
    endpoint: env.S3_ENDPOINT,
    region: env.S3_REGION,
    createBucket: true,
    // Credentials from the Worker's bindings, the way a Worker keeps its secrets.
    env: { AWS_ACCESS_KEY_ID: env.S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: env.S3_SECRET_KEY },
    partSize: 5 * MiB,
    multipartThreshold: 5 * MiB,
    concurrency: 4,
  };
  const store = new BackupStore(options);
  const id = { partition: 3, checkpoint: 1700000000000, node: 1 };
  const small = new TextEncoder().encode("hello from workerd");
  const blobData = pattern(11 * MiB + 5, 1);
  const streamData = pattern(300_001, 2);
  const steps = [];
  const step = async (name, fn) => {
    const start = performance.now();
    try {
      await fn();
      steps.push({ name, ok: true, ms: performance.now() - start });
    } catch (e) {
      steps.push({ name, ok: false, error: `${e?.name}: ${e?.message}`, ms: performance.now() - start });
    }
  };

  await step("save Uint8Array, an 11 MiB Blob and ReadableStream", async () => {
    const info = await store.save(id, {
      files: { "a.txt": small, "big.bin": new Blob([blobData]), "s/c.bin": new Blob([streamData]).stream() },
    }, { metadata: { runtime: "workerd" } });
    check(info.status === "COMPLETED", `status ${info.status}`);
    check(info.totalSize === small.length + blobData.length + streamData.length, `totalSize ${info.totalSize}`);
  });
  await step("list and status", async () => {
    const list = await store.list({ partition: 3 });
    check(list.length === 1 && list[0].id === "3/1700000000000/1", JSON.stringify(list));
    const status = await store.status("3/1700000000000/1");
    check(status.status === "COMPLETED" && status.fileCount === 3, JSON.stringify(status));
    check(status.userMetadata.runtime === "workerd", "metadata");
  });
  await step("restore byte-exact (bytes and stream)", async () => {
    const files = Object.fromEntries((await store.restore(id)).map((f) => [f.name, f]));
    same(await files["a.txt"].bytes(), small, "a.txt");
    same(await readAll(files["big.bin"].stream()), blobData, "big.bin");
    same(await files["s/c.bin"].bytes(), streamData, "s/c.bin");
  });
  await step("verify deep", async () => {
    const report = await store.verify(id, { deep: true });
    check(report.ok && report.filesChecked === 3, JSON.stringify(report));
  });
  await step("BackupAlreadyExists", () => throwsKind(store.save(id, { files: { x: small } }), BackupAlreadyExistsError));
  await step("InvalidInput for ../x", () => throwsKind(store.save("3/2/1", { files: { "../x": small } }), InvalidInputError));
  await step("InvalidCredentials", async () => {
    const bad = new BackupStore({ ...options, env: { AWS_ACCESS_KEY_ID: env.S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: "nope" } });
    const e = await throwsKind(bad.list(), InvalidCredentialsError);
    check(e.status === 403 && e.code === "SignatureDoesNotMatch", `${e.status} ${e.code}`);
  });
  await step("prune dry-run", async () => {
    const plan = await store.prune({ keepLast: 1 }, { dryRun: true });
    check(plan.entries.length === 1 && plan.entries[0].action === "keep", JSON.stringify(plan));
  });
  await step("delete, then NotFound", async () => {
    const deleted = await store.delete(id);
    // Format 2 (the default): the manifest, metadata.json and status.json; the packs stay
    // for prune (format 1 would delete the three file objects instead of the manifest).
    check(deleted.objectsDeleted === 3, JSON.stringify(deleted));
    check((await store.status(id)).status === "DOES_NOT_EXIST", "still there");
    await throwsKind(store.delete(id), NotFoundError);
  });
  await step("a redirect to another host is a RedirectError", async () => {
    // S3_REDIRECT_ENDPOINT answers 307 with a Location on S3_REDIRECT_TARGET, which must
    // receive nothing (miniflare.test.mjs checks).
    const redirected = new BackupStore({
      bucket: "redirected",
      endpoint: env.S3_REDIRECT_ENDPOINT,
      env: { AWS_ACCESS_KEY_ID: "AKIDREDIRECT", AWS_SECRET_ACCESS_KEY: "SECRET-KEY", AWS_SESSION_TOKEN: "SESSION-TOKEN" },
      maxAttempts: 1,
    });
    const files = { files: { "a.bin": new TextEncoder().encode("FILE-CONTENTS") } };
    const e = await throwsKind(redirected.save("0/1/0", files), RedirectError);
    check(e.status === 307 && e.message.includes(`redirected to ${env.S3_REDIRECT_TARGET}`), e.message);
    await throwsKind(redirected.list(), RedirectError);
  });
  await step("no secret in toString or JSON", async () => {
    const text = `${store} ${JSON.stringify(store)}`;
    check(!text.includes(env.S3_SECRET_KEY), text);
  });
  return steps;
}

export default {
  async fetch(request, env) {
    return Response.json(await run(env));
  },
};
