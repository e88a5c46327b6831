// The scenarios every JavaScript runtime runs against the harness MinIO: Node
// (store.test.mjs), Deno (deno_test.mjs) and Bun (bun_store_test.js) each register these
// with their own test runner. Only web APIs, node:assert and the harness (which needs
// process.env and node:crypto) are used here.
import assert from "node:assert/strict";
import {
  BackupAlreadyExistsError,
  BackupNotCompletedError,
  BackupStore,
  CancelledError,
  InvalidCredentialsError,
  IntegrityError,
  InvalidInputError,
  IoError,
  NotFoundError,
  RedirectError,
  S3KeepError,
  restoreToDirectory,
} from "../js/index.js";
import { freshBucketName, minio } from "./harness.mjs";
import { LOCATION_SECRET, startRedirect } from "./redirect_server.mjs";

const MiB = 1024 * 1024;

/** A store on a fresh bucket of the harness MinIO (created on first use). */
async function newStore(overrides = {}) {
  const m = await minio();
  return new BackupStore({
    bucket: freshBucketName("js"),
    endpoint: m.endpoint,
    region: m.region,
    accessKeyId: m.accessKeyId,
    secretAccessKey: m.secretAccessKey,
    createBucket: true,
    env: false,
    ...overrides,
  });
}

/** Deterministic pseudo-random bytes (xorshift32), fast enough for tens of MiB. */
function bytes(size, seed = 1) {
  const out = new Uint8Array(size);
  const words = new Uint32Array(out.buffer, 0, size >>> 2);
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    words[i] = x;
  }
  for (let i = words.length * 4; i < size; i++) out[i] = i & 0xff;
  return out;
}

/** A ReadableStream of `data` in chunks of odd sizes (the core re-chunks into parts). */
function streamOf(data, chunk = 100_003) {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= data.length) return controller.close();
      controller.enqueue(data.slice(offset, offset + chunk));
      offset += chunk;
    },
  });
}

function sameBytes(actual, expected, what) {
  assert.equal(actual.byteLength, expected.byteLength, `${what}: size`);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) assert.fail(`${what}: first difference at byte ${i}`);
  }
}

async function readStream(stream) {
  const chunks = [];
  let size = 0;
  for (const reader = stream.getReader(); ;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

async function rejects(promise, ErrorClass, check = () => {}) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof ErrorClass, `expected ${ErrorClass.name}, got ${e?.name}: ${e?.message}`);
    assert.ok(e instanceof S3KeepError);
    check(e);
    return e;
  }
  assert.fail(`expected ${ErrorClass.name}, but it resolved`);
}

async function filesByName(store, id, options) {
  const files = await store.restore(id, options);
  return Object.fromEntries(files.map((f) => [`${f.set}/${f.name}`, f]));
}

/** [name, async () => {...}] pairs, in the order they run. */
export const scenarios = [
  ["save of Uint8Array, Blob and ReadableStream restores byte-exact", async () => {
    const store = await newStore();
    const small = new TextEncoder().encode("hello s3keep");
    const blobData = bytes(300_000, 2);
    const streamData = bytes(250_001, 3);
    const progress = [];
    const info = await store.save("1/1000/0", {
      files: { "a.txt": small, "dir/b.bin": new Blob([blobData]), "dir/sub/c.bin": streamOf(streamData) },
      segments: { "1.log": new Uint8Array(0) },
    }, { metadata: { app: "test", env: "ci" }, onProgress: (p) => progress.push(p) });
    assert.equal(info.status, "COMPLETED");
    assert.equal(info.id, "1/1000/0");
    // Checkpoints may exceed 2^53: a string, as in every face (docs/SCHEMA.md).
    assert.deepEqual([info.partition, info.checkpoint, info.node], [1, "1000", 0]);
    assert.equal(info.fileCount, 4);
    assert.equal(info.totalSize, small.length + blobData.length + streamData.length);
    assert.ok(info.createdAt instanceof Date);
    assert.deepEqual(info.userMetadata, { app: "test", env: "ci" });
    // The object serialises to the core's document: timestamps back to their RFC 3339 text.
    const doc = JSON.parse(JSON.stringify(info));
    assert.match(doc.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(doc.createdAt, info.createdAt.toISOString());
    const last = progress.at(-1);
    // The core delivers its snapshots in order: no field ever goes back.
    for (let i = 1; i < progress.length; i++) {
      for (const k of ["bytesDone", "bytesTotal", "filesDone", "filesTotal"]) assert.ok(progress[i][k] >= progress[i - 1][k], k);
    }
    assert.equal(last.filesDone, 4);
    assert.equal(last.bytesDone, info.totalSize);

    const status = await store.status({ partition: 1, checkpoint: 1000, node: 0 });
    assert.equal(status.status, "COMPLETED");
    assert.equal(status.totalSize, info.totalSize);
    assert.deepEqual(status.userMetadata, { app: "test", env: "ci" });
    assert.match(status.writer, /^s3keep\//);

    const files = await filesByName(store, "1/1000/0");
    assert.deepEqual(Object.keys(files).sort(), ["files/a.txt", "files/dir/b.bin", "files/dir/sub/c.bin", "segments/1.log"]);
    sameBytes(await files["files/a.txt"].bytes(), small, "a.txt");
    sameBytes(await files["files/dir/b.bin"].bytes(), blobData, "b.bin bytes()");
    sameBytes(await readStream(files["files/dir/b.bin"].stream()), blobData, "b.bin stream()");
    sameBytes(await readStream(files["files/dir/sub/c.bin"].stream()), streamData, "c.bin stream()");
    sameBytes(await files["segments/1.log"].bytes(), new Uint8Array(0), "empty file");
    assert.equal(files["files/dir/b.bin"].size, blobData.length);
    assert.match(files["files/dir/b.bin"].crc32c, /^[A-Za-z0-9+/]{6}==$/);

    const only = await store.restore("1/1000/0", { sets: ["segments"] });
    assert.deepEqual(only.map((f) => f.name), ["1.log"]);
    await rejects(store.restore("1/1000/0", { sets: ["nope"] }), InvalidInputError);
  }],

  ["multipart save with small parts (Blob and stream of unknown size) restores byte-exact", async () => {
    const store = await newStore({ partSize: 5 * MiB, multipartThreshold: 5 * MiB, concurrency: 3 });
    const blobData = bytes(12 * MiB + 7, 4);
    const streamData = bytes(11 * MiB + 3, 5);
    const info = await store.save("0/2000/0", {
      files: { "big.bin": new Blob([blobData]), "stream.bin": streamOf(streamData, 1_000_003) },
    });
    assert.equal(info.totalSize, blobData.length + streamData.length);
    const files = await filesByName(store, "0/2000/0");
    sameBytes(await readStream(files["files/big.bin"].stream()), blobData, "big.bin");
    sameBytes(await files["files/stream.bin"].bytes(), streamData, "stream.bin");
    const report = await store.verify("0/2000/0", { deep: true });
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    assert.equal(report.filesChecked, 2);
    const cleaned = await store.cleanupUploads({ olderThanMs: 0 });
    assert.deepEqual(cleaned.aborted, []);
    assert.ok(cleaned.cutoffAt instanceof Date);
  }],

  ["list is sorted and filtered; status of a missing backup is DOES_NOT_EXIST", async () => {
    const store = await newStore();
    for (const id of ["2/30/0", "1/20/1", "1/10/0", "1/20/0"]) {
      await store.save(id, { files: { "x.txt": new TextEncoder().encode(id) } });
    }
    const all = await store.list();
    assert.deepEqual(all.map((b) => b.id), ["1/10/0", "1/20/0", "1/20/1", "2/30/0"]);
    assert.ok(all.every((b) => b.status === "COMPLETED" && b.createdAt instanceof Date));
    assert.deepEqual((await store.list({ partition: 1 })).map((b) => b.id), ["1/10/0", "1/20/0", "1/20/1"]);
    assert.deepEqual((await store.list({ checkpoint: 20 })).map((b) => b.id), ["1/20/0", "1/20/1"]);
    assert.deepEqual((await store.list({ partition: 1, node: 1 })).map((b) => b.id), ["1/20/1"]);
    const missing = await store.status("9/9/9");
    assert.equal(missing.status, "DOES_NOT_EXIST");
  }],

  ["verify finds an intact backup, delete removes it, a second delete is NotFound (both formats)", async () => {
    // The backup's own objects: format 1, its two files, metadata.json and status.json;
    // format 2 (the default), its manifest, metadata.json and status.json (the packs stay
    // for prune).
    for (const [format, objectsDeleted] of [[1, 4], [2, 3]]) {
      const store = await newStore({ format });
      await store.save("0/1/0", { files: { "a": new Uint8Array([1, 2, 3]), "b/c": new Blob(["xyz"]) } });
      const shallow = await store.verify("0/1/0");
      assert.deepEqual([shallow.ok, shallow.filesChecked, shallow.bytesChecked, shallow.problems], [true, 2, 6, []]);
      assert.equal((await store.verify("0/1/0", { deep: true })).ok, true);
      const deleted = await store.delete("0/1/0");
      assert.deepEqual(deleted, { id: "0/1/0", partition: 0, checkpoint: "1", node: 0, objectsDeleted }, `format ${format}`);
      assert.equal((await store.status("0/1/0")).status, "DOES_NOT_EXIST");
      assert.deepEqual(await store.list(), []);
      await rejects(store.delete("0/1/0"), NotFoundError, (e) => assert.equal(e.key, "0/1/0"));
    }
  }],

  ["prune dry-run plans keep-last and deletes nothing", async () => {
    const store = await newStore();
    for (const checkpoint of [1, 2, 3]) {
      await store.save({ partition: 0, checkpoint, node: 0 }, { files: { "f": new Uint8Array([checkpoint]) } });
    }
    const plan = await store.prune({ keepLast: 1 }, { dryRun: true });
    assert.equal(plan.dryRun, true);
    const actions = Object.fromEntries(plan.entries.map((e) => [e.id, `${e.action}:${e.reason}`]));
    assert.equal(actions["0/3/0"].split(":")[0], "keep");
    assert.equal(actions["0/2/0"], "delete:no-rule-matched");
    assert.equal(actions["0/1/0"], "delete:no-rule-matched");
    assert.deepEqual(plan.deleted, []);
    assert.equal((await store.list()).length, 3);
    const done = await store.prune({ keepLast: 1 });
    assert.deepEqual(done.deleted.sort(), ["0/1/0", "0/2/0"]);
    assert.deepEqual((await store.list()).map((b) => b.id), ["0/3/0"]);
  }],

  ["a second save of the same id is BackupAlreadyExists and leaves the first intact", async () => {
    const store = await newStore();
    await store.save("0/5/0", { files: { "a": new TextEncoder().encode("first") } });
    await rejects(store.save("0/5/0", { files: { "a": new TextEncoder().encode("second") } }), BackupAlreadyExistsError,
      (e) => assert.equal(e.key, "0/5/0"));
    const [file] = await store.restore("0/5/0");
    assert.equal(new TextDecoder().decode(await file.bytes()), "first");
  }],

  ["restore of a missing backup is NotFound", async () => {
    const store = await newStore();
    await rejects(store.restore("0/404/0"), NotFoundError);
    await rejects(store.verify("0/404/0"), NotFoundError);
  }],

  ["unsafe names and malformed ids are InvalidInput before any request", async () => {
    const store = await newStore();
    for (const name of ["../x", "/abs", "a/../../b", "a\\b", ""]) {
      await rejects(store.save("0/1/0", { files: { [name]: new Uint8Array(1) } }), InvalidInputError);
    }
    await rejects(store.save("0/1/0", { "Bad Set": { a: new Uint8Array(1) } }), InvalidInputError);
    await rejects(store.save("0/1/0", { files: { a: 42 } }), InvalidInputError);
    await rejects(store.status("1/2"), InvalidInputError);
    await rejects(store.status({ partition: 1, checkpoint: 2 }), InvalidInputError);
    assert.throws(() => new BackupStore({ bucket: "Not_Valid!" }), InvalidInputError);
    assert.throws(() => new BackupStore({ bucket: "abc", partSize: 1024 }), InvalidInputError);
    // Nothing was written by the refused saves.
    assert.equal((await store.status("0/1/0")).status, "DOES_NOT_EXIST");
  }],

  ["a wrong secret is InvalidCredentials with the S3 code and status", async () => {
    const m = await minio();
    const good = await newStore();
    await good.ensureBucket();
    const bad = new BackupStore({
      bucket: good.bucket, endpoint: m.endpoint, region: m.region,
      accessKeyId: m.accessKeyId, secretAccessKey: "wrong-secret", env: false,
    });
    await rejects(bad.status("0/1/0"), InvalidCredentialsError, (e) => {
      assert.equal(e.code, "SignatureDoesNotMatch");
      assert.equal(e.status, 403);
      assert.equal(e.kind, "InvalidCredentials");
      assert.ok(e.requestId, "request id");
      assert.ok(!e.message.includes("wrong-secret"));
    });
  }],

  ["an AbortSignal cancels a save, which ends FAILED; markFailed and restore then behave", async () => {
    const store = await newStore();
    const controller = new AbortController();
    // A stream that never ends: the save can only stop by being aborted.
    const endless = new ReadableStream({ pull: () => new Promise(() => {}) });
    const saving = store.save("0/7/0", { files: { "a": endless } }, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error("stop")), 200);
    await rejects(saving, CancelledError, (e) => assert.equal(e.cause?.message, "stop"));
    const status = await store.status("0/7/0");
    assert.equal(status.status, "FAILED");
    assert.match(status.failureReason, /cancel/i);
    const marked = await store.markFailed("0/7/0", "operator gave up");
    assert.equal(marked.status, "FAILED");
    assert.equal(marked.failureReason, "operator gave up");
    await rejects(store.restore("0/7/0"), BackupNotCompletedError, (e) => assert.equal(e.code, "FAILED"));
    // An already aborted signal rejects at once.
    await rejects(store.list({}, { signal: AbortSignal.abort() }), CancelledError);
  }],

  ["JS values become the core's option strings; config() reports them", async () => {
    const store = new BackupStore({
      bucket: "options-bucket", partSize: 5 * MiB, multipartThreshold: "100MB", requestTimeout: 1500,
      staleAfter: "2h", createBucket: true, concurrency: 2, maxElapsed: 90_000,
      env: { AWS_REGION: "eu-west-3", S3KEEP_CONNECT_TIMEOUT: "3s" },
    });
    const c = store.config();
    assert.deepEqual(
      [c.partSize, c.multipartThreshold, c.requestTimeout, c.staleAfter, c.maxElapsed, c.connectTimeout],
      ["5MiB", "100MB", "1s500ms", "2h", "1m30s", "3s"],
    );
    assert.deepEqual([c.createBucket, c.concurrency, c.region], [true, 2, "eu-west-3"]);
    assert.equal(c.sources.region, "AWS_REGION");
    assert.throws(() => new BackupStore({ bucket: "options-bucket", partSize: "16", env: false }), (e) =>
      e instanceof InvalidInputError && e.message.startsWith('part_size: "16" has no unit; give e.g. 16MiB'));
    assert.throws(() => new BackupStore({ bucket: "options-bucket", requestTimeout: 1.5, env: false }), InvalidInputError);
    assert.throws(() => new BackupStore({ bucket: "options-bucket", colour: "red", env: false }), InvalidInputError);
  }],

  ["secrets never appear in toString, JSON or errors", async () => {
    const store = new BackupStore({
      bucket: "secret-test", endpoint: "http://127.0.0.1:9", accessKeyId: "AKIDVISIBLE",
      secretAccessKey: "TOPSECRETVALUE", sessionToken: "SESSIONTOKENVALUE", maxAttempts: 1, env: false,
    });
    const shown = [String(store), JSON.stringify(store), JSON.stringify({ store })];
    for (const text of shown) {
      assert.ok(!text.includes("TOPSECRETVALUE") && !text.includes("SESSIONTOKENVALUE"), text);
    }
    assert.deepEqual(Object.keys(store), []);
    const e = await rejects(store.status("0/1/0"), S3KeepError);
    const all = `${e.message} ${JSON.stringify(e)} ${e.stack}`;
    assert.ok(!all.includes("TOPSECRETVALUE") && !all.includes("SESSIONTOKENVALUE"));
  }],

  ["URLs and endpoints with credentials or a query are refused without showing them", async () => {
    for (const options of [
      { url: "s3://bkt?endpoint=ftp://AK:SECRET@host" },
      { url: "s3://bkt?endpoint=http://AK:SECRET@host&colour=red" },
      { url: "s3://bkt?endpoint=http://AK:SECRET@[::1" },
      { url: "https://AK:SECRET@host/b" },
      { bucket: "bkt", endpoint: "http://AK:SECRET@host:9000" },
      { bucket: "bkt", endpoint: "http://host:9000/?X-Amz-Signature=SECRET&X-Amz-Security-Token=SECRET" },
      { bucket: "bkt", env: { AWS_ENDPOINT_URL: "http://AK:SECRET@host:9000" } },
    ]) {
      let error;
      try {
        new BackupStore({ env: false, ...options });
      } catch (e) {
        error = e;
      }
      assert.ok(error instanceof InvalidInputError, `${JSON.stringify(options)}: ${error}`);
      const all = `${error} ${error.message} ${JSON.stringify(error)} ${error.stack} ${error.endpoint}`;
      assert.ok(!all.includes("SECRET") && !all.includes("AK:"), all);
    }
  }],

  ["a 301 or 307 to another host is a RedirectError and the other host receives nothing", async () => {
    for (const status of [301, 307]) {
      const { endpoint, otherHost, received, close } = await startRedirect(status);
      const store = new BackupStore({
        bucket: "redirected", endpoint, accessKeyId: "AKIDREDIRECT", secretAccessKey: "SECRET-KEY",
        sessionToken: "SESSION-TOKEN-SECRET", maxAttempts: 1, env: false,
      });
      try {
        const save = store.save("0/1/0", { files: { "a.bin": new TextEncoder().encode("FILE-CONTENTS-SECRET") } });
        const e = await rejects(save, RedirectError);
        assert.equal(e.kind, "Redirect");
        assert.equal(e.status, status);
        assert.equal(e.code, status === 301 ? "PermanentRedirect" : "TemporaryRedirect");
        assert.ok(e.message.includes(`the store redirected to ${otherHost} (region eu-west-1)`), e.message);
        const all = `${e} ${JSON.stringify(e)} ${e.stack} ${String(store)}`;
        for (const secret of [LOCATION_SECRET, "SESSION-TOKEN", "FILE-CONTENTS", "SECRET-KEY"]) {
          assert.ok(!all.includes(secret), `${secret} in ${all}`);
        }
        await rejects(store.list(), RedirectError);
        assert.deepEqual(received, [], "the other host was contacted");
      } finally {
        await close();
      }
    }
  }],

  ["restore and deep verify catch a file changed in the bucket (CRC32C), format 1", async () => {
    const store = await newStore({ format: 1 }); // one object per file, replaced below
    const good = bytes(100_000, 11);
    await store.save("0/9/0", { files: { "a.bin": good } });
    // Same size, other bytes, written behind s3keep's back with a plain signed PUT.
    const { AwsClient } = await import("aws4fetch");
    const m = await minio();
    const aws = new AwsClient({ accessKeyId: m.accessKeyId, secretAccessKey: m.secretAccessKey, region: m.region, service: "s3" });
    const put = await aws.fetch(`${m.endpoint}/${store.bucket}/0/9/0/files/a.bin`, { method: "PUT", body: bytes(100_000, 12) });
    assert.equal(put.status, 200, await put.text());
    const [file] = await store.restore("0/9/0");
    await rejects(file.bytes(), IntegrityError, (e) => assert.equal(e.key, "0/9/0/files/a.bin"));
    await rejects(readStream(file.stream()), IntegrityError);
    const report = await store.verify("0/9/0", { deep: true });
    assert.equal(report.ok, false);
    assert.deepEqual(report.problems.map((p) => [p.key, p.kind]), [["0/9/0/files/a.bin", "checksum-mismatch"]]);
    assert.equal((await store.verify("0/9/0")).ok, true, "a shallow verify only compares sizes");
  }],

  ["restore and deep verify catch a pack changed in the bucket, format 2", async () => {
    const store = await newStore(); // format 2, the default: the file's one chunk is in one pack
    await store.save("0/9/0", { files: { "a.bin": bytes(100_000, 11) } });
    const { AwsClient } = await import("aws4fetch");
    const m = await minio();
    const aws = new AwsClient({ accessKeyId: m.accessKeyId, secretAccessKey: m.secretAccessKey, region: m.region, service: "s3" });
    const listing = await (await aws.fetch(`${m.endpoint}/${store.bucket}?list-type=2&prefix=data/`)).text();
    const packs = [...listing.matchAll(/<Key>([^<]+)<\/Key>/g)].map((k) => k[1]);
    assert.equal(packs.length, 1, listing);
    const url = `${m.endpoint}/${store.bucket}/${packs[0]}`;
    const length = Number((await aws.fetch(url, { method: "HEAD" })).headers.get("content-length"));
    assert.ok(length > 100_000, `pack of ${length} bytes`);
    // Same length, other bytes, written behind s3keep's back with a plain signed PUT.
    const put = await aws.fetch(url, { method: "PUT", body: bytes(length, 12) });
    assert.equal(put.status, 200, await put.text());
    const [file] = await store.restore("0/9/0");
    await rejects(file.bytes(), IntegrityError, (e) => assert.ok(e.message.includes(packs[0]), e.message));
    await rejects(readStream(file.stream()), IntegrityError);
    const report = await store.verify("0/9/0", { deep: true });
    assert.equal(report.ok, false);
    assert.deepEqual(report.problems.map((p) => [p.key, p.kind]), [[packs[0], "corrupt"]]);
    assert.equal((await store.verify("0/9/0")).ok, true, "a shallow verify only compares lengths");
  }],

  ["an AbortSignal stops a restore stream", async () => {
    const store = await newStore();
    await store.save("0/10/0", { files: { "big.bin": bytes(4 * MiB, 13) } });
    const controller = new AbortController();
    const [file] = await store.restore("0/10/0", { signal: controller.signal });
    const reader = file.stream().getReader();
    const first = await reader.read();
    assert.ok(first.value.byteLength > 0);
    controller.abort();
    let received = first.value.byteLength;
    const e = await rejects((async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        received += value.byteLength;
      }
    })(), CancelledError);
    assert.ok(received < 4 * MiB, `${received} bytes arrived after the abort`);
    assert.equal(e.kind, "Cancelled");
  }],

  ["a save that would create a store with Object Lock is refused (native faces only in this version)", async () => {
    const store = await newStore({ objectLock: "governance", lockPolicy: "keep_within=1h" });
    await rejects(store.save("0/1/0", { files: { a: new Uint8Array(1) } }), InvalidInputError,
      (e) => assert.match(e.message, /this store has Object Lock; in this version only the native faces/));
    assert.deepEqual(await store.list(), []);
  }],

  ["check reports a healthy store", async () => {
    const store = await newStore({ prefix: "probe/" });
    await store.ensureBucket();
    const report = await store.check();
    assert.equal(report.ok, true, JSON.stringify(report));
    const checks = report.checks;
    const byName = Object.fromEntries(checks.map((c) => [c.name, c.state]));
    for (const name of ["credentials", "bucket", "put", "get", "list", "delete"]) {
      assert.equal(byName[name], "ok", JSON.stringify(checks));
    }
  }],
];

/** Scenarios that need node:fs (Node, Deno, Bun; not workerd). */
export const fsScenarios = [
  ["restoreToDirectory writes the tree and skips files already there", async () => {
    const fs = await import("node:fs/promises");
    const os = await import("node:os");
    const path = await import("node:path");
    const store = await newStore();
    const data = bytes(200_000, 9);
    await store.save("0/8/0", {
      files: { "a.txt": new TextEncoder().encode("A"), "d/e.bin": data },
      segments: { "1.log": new TextEncoder().encode("log") },
    });
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "s3keep-js-"));
    try {
      const first = await restoreToDirectory(store, "0/8/0", dir);
      assert.deepEqual(first, { filesRestored: 3, filesSkipped: 0, bytesRestored: 200_000 + 4 });
      assert.equal(await fs.readFile(path.join(dir, "a.txt"), "utf8"), "A");
      assert.equal(await fs.readFile(path.join(dir, "segments", "1.log"), "utf8"), "log");
      sameBytes(new Uint8Array(await fs.readFile(path.join(dir, "d", "e.bin"))), data, "e.bin");
      await fs.writeFile(path.join(dir, "a.txt"), "changed");
      const second = await restoreToDirectory(store, "0/8/0", dir);
      assert.deepEqual(second, { filesRestored: 1, filesSkipped: 2, bytesRestored: 1 });
      assert.equal(await fs.readFile(path.join(dir, "a.txt"), "utf8"), "A");
      const names = await fs.readdir(dir, { recursive: true });
      assert.ok(!names.some((n) => n.includes("s3keep-partial")), names.join(","));
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }],

  ["restoreToDirectory refuses a symlink as a directory below the target, even one pointing inside", async () => {
    const { fs, path, base, target, victimUntouched } = await linkScene();
    try {
      const store = await newStore();
      await store.save("0/11/0", { files: { "a.txt": new TextEncoder().encode("A"), "sub/b.bin": new TextEncoder().encode("B") } });
      // The scenario: target/sub -> ../outside.
      await fs.symlink("../outside", path.join(target, "sub"));
      await rejects(restoreToDirectory(store, "0/11/0", target), IoError, (e) => {
        assert.equal(e.key, path.join(target, "sub"));
        assert.match(e.message, /symbolic link/);
      });
      await victimUntouched();
      await fs.rm(path.join(target, "sub"));
      await fs.mkdir(path.join(target, "inside"));
      await fs.symlink("inside", path.join(target, "sub"));
      await rejects(restoreToDirectory(store, "0/11/0", target), IoError, (e) => assert.match(e.message, /symbolic link/));
      assert.deepEqual(await fs.readdir(path.join(target, "inside")), []);
    } finally {
      await fs.rm(base, { recursive: true, force: true });
    }
  }],

  ["restoreToDirectory does not write through a symlink planted at a temporary name", async () => {
    const { fs, path, base, target, victim, victimUntouched, regularFileWith } = await linkScene();
    try {
      const store = await newStore();
      await store.save("0/12/0", { files: { "b.bin": new TextEncoder().encode("restored b") } });
      await fs.symlink(victim, path.join(target, ".b.bin.s3keep-partial"));
      const summary = await restoreToDirectory(store, "0/12/0", target);
      assert.equal(summary.filesRestored, 1);
      await victimUntouched();
      await regularFileWith(path.join(target, "b.bin"), "restored b");
      assert.deepEqual(await fs.readdir(target), ["b.bin"]);
    } finally {
      await fs.rm(base, { recursive: true, force: true });
    }
  }],

  ["restoreToDirectory replaces a symlink at a final name, also one to the right content", async () => {
    const { fs, path, base, target, victim, victimUntouched, regularFileWith } = await linkScene();
    try {
      const store = await newStore();
      await store.save("0/13/0", { files: { "d/b.bin": new TextEncoder().encode("restored b"), "same.bin": VICTIM } });
      await fs.mkdir(path.join(target, "d"));
      await fs.symlink(victim, path.join(target, "d", "b.bin"));
      // Right size and CRC32C behind the link: a resume check that followed it would skip it.
      await fs.symlink(victim, path.join(target, "same.bin"));
      const summary = await restoreToDirectory(store, "0/13/0", target);
      assert.deepEqual([summary.filesRestored, summary.filesSkipped], [2, 0]);
      await victimUntouched();
      await regularFileWith(path.join(target, "d", "b.bin"), "restored b");
      await regularFileWith(path.join(target, "same.bin"), new TextDecoder().decode(VICTIM));
    } finally {
      await fs.rm(base, { recursive: true, force: true });
    }
  }],
];

const VICTIM = new TextEncoder().encode("the victim's own bytes, which no restore may touch");

/** A temporary `base` with `base/target/` (empty) and `base/outside/victim`. */
async function linkScene() {
  const fs = await import("node:fs/promises");
  const os = await import("node:os");
  const path = await import("node:path");
  const base = await fs.mkdtemp(path.join(os.tmpdir(), "s3keep-js-links-"));
  const target = path.join(base, "target");
  const outside = path.join(base, "outside");
  const victim = path.join(outside, "victim");
  await fs.mkdir(target);
  await fs.mkdir(outside);
  await fs.writeFile(victim, VICTIM);
  return {
    fs, path, base, target, outside, victim,
    async victimUntouched() {
      assert.deepEqual(await fs.readdir(outside), ["victim"], "something was written outside the target");
      sameBytes(new Uint8Array(await fs.readFile(victim)), VICTIM, "victim");
    },
    async regularFileWith(file, text) {
      assert.ok((await fs.lstat(file)).isFile(), `${file} is not a regular file`);
      assert.equal(await fs.readFile(file, "utf8"), text);
    },
  };
}
