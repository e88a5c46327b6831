// Uses every part of the `s3keep` API, so that `tsc --noEmit -p test/tsconfig.json` proves
// index.d.ts describes it (and catches drift). Type-checked only, never run.
import {
  BackupStore, init, restoreToDirectory, S3KeepError, NoSuchBucketError, NotFoundError,
  BackupAlreadyExistsError, BackupNotCompletedError, AccessDeniedError, InvalidCredentialsError,
  ClockSkewError, ThrottledError, NetworkError, TimeoutError, InvalidInputError, IntegrityError,
  ConflictError, IoError, CancelledError, RedirectError, S3Error,
} from "s3keep";
import type {
  AbortedUpload, BackupInfo, BackupStoreOptions, CheckReport, CheckResult, CleanupReport, ConfigReport, DeleteReport,
  ErrorKind, FileSets, PlanEntry, Progress, PruneReport, RestoredFile, RestoreReport, RetentionPolicy, StatusCode,
  VerifyReport,
} from "s3keep";
import * as workerd from "s3keep/workerd";

async function example(blob: Blob, file: File, stream: ReadableStream<Uint8Array>): Promise<void> {
  await init();
  await init(new URL("https://example.com/s3keep_wasm_bg.wasm"));

  const options: BackupStoreOptions = {
    bucket: "backups",
    prefix: "db/",
    endpoint: "http://127.0.0.1:9000",
    region: "us-east-1",
    accessKeyId: "AKID",
    secretAccessKey: "secret",
    sessionToken: "token",
    addressing: "path",
    createBucket: true,
    concurrency: 4,
    partSize: 8 * 1024 * 1024,
    multipartThreshold: 16 * 1024 * 1024,
    maxAttempts: 5,
    maxElapsed: "60s",
    connectTimeout: 10_000,
    requestTimeout: 300_000,
    staleAfter: "24h",
    checksum: "crc32c",
    signedPayload: false,
    singleWriter: false,
    env: false,
  };
  const store = new BackupStore(options);
  const fromUrl = new BackupStore({ url: "s3://backups/db?endpoint=http://127.0.0.1:9000", env: { AWS_REGION: "eu-west-1" } });
  const where: string = `${store.bucket} ${store.prefix} ${store.endpoint} ${store.region} ${String(fromUrl)}`;
  const json: { bucket: string } = store.toJSON();
  const effective: ConfigReport = store.config();
  const partSize: string = effective.partSize;
  await store.ensureBucket();

  const controller = new AbortController();
  const fileSets: FileSets = {
    files: {
      "a.txt": new TextEncoder().encode("hello"),
      "b.bin": blob,
      "c.bin": file,
      "nested/d.log": stream,
      "e.log": { stream: new Blob(["x"]).stream(), size: 1 },
      "f.txt": "text is saved as UTF-8",
      "g.bin": new ArrayBuffer(8),
    },
    segments: new Map([["1.log", new Uint8Array(4)]]),
  };
  const saved: BackupInfo = await store.save({ partition: 1, checkpoint: 1700000000000, node: 0 }, fileSets, {
    metadata: { app: "example" },
    descriptor: { checkpointPosition: 42, numberOfPartitions: 3, snapshotId: "1-2-3" },
    onProgress: (p: Progress) => console.log(p.bytesDone / p.bytesTotal, p.filesDone, p.filesTotal),
    signal: controller.signal,
  });
  const code: StatusCode = saved.status;
  const when: Date | null = saved.createdAt;
  const size: number | null = saved.totalSize;
  const checkpoint: string = saved.checkpoint; // may exceed 2^53: a string
  const meta: Record<string, string> = saved.userMetadata;
  // The core's document, as `s3keep status --json` prints it (docs/SCHEMA.md).
  const doc: unknown = JSON.parse(JSON.stringify(saved));

  const status: BackupInfo = await store.status("1/1700000000000/0", { signal: AbortSignal.timeout(5000) });
  const all: BackupInfo[] = await store.list();
  const some: BackupInfo[] = await store.list({ partition: 1, checkpoint: 1700000000000n, node: 0 });

  const files: RestoredFile[] = await store.restore(saved.id, { sets: ["files"], signal: controller.signal });
  for (const f of files) {
    const bytes: Uint8Array = await f.bytes();
    const reader = f.stream().getReader();
    const { value } = await reader.read();
    console.log(f.set, f.name, f.size, f.crc32c, bytes.byteLength, value?.byteLength);
  }
  const summary: RestoreReport = await restoreToDirectory(store, saved.id, "/tmp/restore", {
    sets: ["files"],
    rootSet: "files",
    concurrency: 2,
    onProgress: (p) => console.log(p.bytesDone),
    signal: controller.signal,
  });

  const failed: BackupInfo = await store.markFailed("1/2/0", "crashed");
  const deleted: DeleteReport = await store.delete("1/2/0", { force: true });
  const report: VerifyReport = await store.verify(saved.id, { deep: true });
  const deep: boolean = report.deep;
  for (const p of report.problems) console.log(p.key, p.kind, p.expected, p.actual, p.message);

  const policy: RetentionPolicy = {
    keepLast: 3, keepHourly: 24, keepDaily: 7, keepWeekly: 4, keepMonthly: 12, keepYearly: 2,
    keepWithin: "2d", pruneFailed: true, pruneStale: true, staleAfter: 86_400_000,
  };
  const plan: PruneReport = await store.prune(policy, { dryRun: true });
  const entries: PlanEntry[] = plan.entries;
  for (const e of entries) console.log(e.id, e.action, e.reason, e.matched, e.createdAt.getTime());
  for (const f of plan.failed) console.log(f.id, f.error.code);
  const cleaned: CleanupReport = await store.cleanupUploads({ olderThanMs: 3_600_000 });
  const aborted: AbortedUpload[] = cleaned.aborted;
  for (const u of aborted) console.log(u.key, u.uploadId, u.initiatedAt?.getTime(), cleaned.cutoffAt.getTime());
  await store.cleanupUploads({ olderThan: "7d" });
  const doctor: CheckReport = await store.check();
  const checks: CheckResult[] = doctor.checks;
  for (const c of checks) if (c.state === "failed") console.log(c.name, c.message, c.hint, c.code);
  console.log(doctor.ok, doctor.endpoint, doctor.bucket, doctor.prefix, checkpoint, meta, doc, deep);

  try {
    await store.save("0/1/0", { files: { "../x": new Uint8Array(1) } });
  } catch (e) {
    if (e instanceof S3KeepError) {
      const kind: ErrorKind = e.kind;
      const fields: [string | null, number | null, string | null, string | null, string | null] = [
        e.code, e.status, e.requestId, e.key, e.hint,
      ];
      console.log(kind, fields, e.endpoint, e.message);
    }
    const classes = [
      NoSuchBucketError, NotFoundError, BackupAlreadyExistsError, BackupNotCompletedError, AccessDeniedError,
      InvalidCredentialsError, ClockSkewError, ThrottledError, NetworkError, TimeoutError, InvalidInputError,
      IntegrityError, ConflictError, IoError, CancelledError, RedirectError, S3Error,
    ];
    console.log(classes.some((c) => e instanceof c), new S3Error("x", { code: "Y" }).kind);
  }

  // The Workers entry has the same store API.
  const edge = new workerd.BackupStore({ bucket: "backups", env: { AWS_ACCESS_KEY_ID: "a", AWS_SECRET_ACCESS_KEY: "b" } });
  const edgeInfo: BackupInfo = await edge.status("0/1/0");
  console.log(where, json, partSize, code, when, size, status, all, some, summary, failed, deleted, aborted, edgeInfo);
}

export { example };
