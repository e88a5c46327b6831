// Types of the `s3keep` npm package (hand-written; checked by `tsc --noEmit` on
// test/types_example.ts, which uses every part of the API).

/** A backup id: `"PARTITION/CHECKPOINT/NODE"` or its three parts. */
export type BackupIdLike =
  | string
  | { partition: number | bigint | string; checkpoint: number | bigint | string; node: number | bigint | string };

/** A duration: whole milliseconds, or the core's text: `"90s"`, `"30m"`, `"24h"`, `"7d"`, `"1w"`, `"1h30m"` (units ms, s, m, h, d, w). */
export type Duration = number | string;

/** A size: bytes, or the core's text: `"16MiB"` (units B, KiB, MiB, GiB, TiB; KB, MB, GB, TB = powers of 1000). */
export type Size = number | string;

/** `status.json`'s `statusCode`, `DOES_NOT_EXIST` when there is none, `CORRUPT` when it is not a status. */
export type StatusCode = "IN_PROGRESS" | "COMPLETED" | "FAILED" | "DELETING" | "DOES_NOT_EXIST" | "CORRUPT";

/**
 * Options of `new BackupStore(...)`: the core's option table (docs/OPTIONS.md), camelCase.
 * Values are strings the core parses, or numbers (durations in ms, sizes in bytes). Unset
 * ones come from the URL, then `env`'s `S3KEEP_*` and `AWS_*` variables, then the defaults;
 * explicit options win over the URL. A bad value throws `InvalidInputError` naming it.
 */
export interface BackupStoreOptions {
  /** `s3://BUCKET[/PREFIX][?key=value&...]`: bucket, prefix and any option but credentials. */
  url?: string;
  /** The bucket (required unless `url` or `S3KEEP_BUCKET` gives it). */
  bucket?: string;
  /** Key prefix of every backup; normalised to "" or "a/b/". */
  prefix?: string;
  /** `http(s)://host[:port]` of an S3-compatible store; default AWS's regional endpoint. */
  endpoint?: string;
  /** Signing region; default `AWS_REGION`, `AWS_DEFAULT_REGION`, else `us-east-1`. */
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** Where unset values come from: the runtime's variables by default (Node and Bun
   *  `process.env`, Deno `Deno.env`), an object of them (a Worker's `env`), or `false` for none. */
  env?: false | Record<string, unknown>;
  /** `auto` (default): path-style with a custom endpoint, virtual-hosted on AWS. */
  addressing?: "auto" | "path" | "virtual";
  /** Create the bucket on first use when it does not exist (default false). */
  createBucket?: boolean | string;
  /** Requests in flight per operation (default 8). */
  concurrency?: number | string;
  /** Multipart part size (default 16 MiB; 5 MiB to 5 GiB). Memory of a save stays under partSize × concurrency. */
  partSize?: Size;
  /** Files larger than this are uploaded by multipart (default 16 MiB). */
  multipartThreshold?: Size;
  /** Attempts per request, the first included (default 5). */
  maxAttempts?: number | string;
  /** Time budget per request, retries included (default 1m). */
  maxElapsed?: Duration;
  /** Timeout to connect (default 10s; no effect where fetch decides). */
  connectTimeout?: Duration;
  /** Timeout of one request attempt (default 5m). */
  requestTimeout?: Duration;
  /** The longest a server may send nothing before the attempt is a retried Timeout (default 1m). */
  readTimeout?: Duration;
  /** An IN_PROGRESS backup older than this is stale (default 1d); also cleanupUploads' default age. */
  staleAfter?: Duration;
  /** Checksum each upload carries (default `crc32c`; `md5` for stores without flexible checksums). */
  checksum?: "crc32c" | "md5";
  /** Sign the SHA-256 of every payload instead of UNSIGNED-PAYLOAD (slower). */
  signedPayload?: boolean | string;
  /** Storage format of a new store: 1 (one object per file) or 2 (packs, the default); must agree with an existing store. */
  format?: 1 | 2 | "1" | "2";
  /**
   * Only one process ever writes under this prefix (default false): save then accepts a store
   * that ignores conditional writes (If-None-Match, If-Match), which it otherwise refuses with
   * `ConditionalWritesIgnored`, and reads status.json before creating a backup.
   */
  singleWriter?: boolean | string;
  /**
   * Encryption of a format 2 store (docs/FORMAT.md, "Encryption"). A passphrase unwraps the
   * store's key object (age scrypt: about 256 MiB, more than a Worker has: give `identity`
   * there). A new store given any of these is created encrypted.
   */
  password?: string;
  /** age recipients (`age1...`, comma-separated) every new object is also encrypted to. */
  recipients?: string;
  /** age identities (`AGE-SECRET-KEY-1...`, one a line) of one of the store's recipients: reads the store. */
  identity?: string;
  /** The store's chunk-id MAC key (64 hex digits): a write-only host saves with it alone. */
  macKey?: string;
  /**
   * Object Lock of a new store (docs/FORMAT.md, "Object Lock"): the mode, with `lockPolicy`
   * (restic's rules, `keep_daily=7,keep_within=30d`) whose minimum age every object is locked for.
   */
  objectLock?: "governance" | "compliance";
  lockPolicy?: string;
  /**
   * Credentials for the other bucket of an `s3://` file set or `restoreToBucket` target
   * (docs/OPTIONS.md, "S3 sources"); else the store's, only on the store's endpoint.
   */
  sourceAccessKeyId?: string;
  sourceSecretAccessKey?: string;
  sourceSessionToken?: string;
}

/** `store.config()`: the effective options, secrets as `"***"` (docs/OPTIONS.md). */
export interface ConfigReport {
  bucket: string;
  prefix: string;
  endpoint: string | null;
  region: string;
  accessKeyId: string | null;
  secretAccessKey: "***" | null;
  sessionToken: "***" | null;
  profile: string | null;
  addressing: "auto" | "path" | "virtual";
  createBucket: boolean;
  concurrency: number;
  partSize: string;
  multipartThreshold: string;
  maxAttempts: number;
  maxElapsed: string;
  connectTimeout: string;
  requestTimeout: string;
  readTimeout: string;
  checksum: "crc32c" | "md5";
  signedPayload: boolean;
  staleAfter: string;
  format: 1 | 2 | null;
  /** The CA bundle trusted for HTTPS (native faces only; always null here). */
  caBundle: string | null;
  /** How a saved directory is read (native faces only; here at their defaults). */
  followSymlinks: boolean;
  onFileError: "fail" | "skip";
  singleWriter: boolean;
  password: "***" | null;
  /** Native faces only; always null here. */
  passwordFile: string | null;
  recipients: string[];
  identity: "***" | null;
  /** Native faces only; always null here. */
  identityFile: string | null;
  macKey: "***" | null;
  objectLock: "governance" | "compliance" | null;
  lockPolicy: string | null;
  sourceAccessKeyId: string | null;
  sourceSecretAccessKey: "***" | null;
  sourceSessionToken: "***" | null;
  /** Native faces only; always null here. */
  sourceProfile: string | null;
  /** Where each value not at its default came from: "option", "url", a variable name, "profile". */
  sources: Record<string, string>;
}

/** A file to save. `{stream, size}` gives a stream's size in advance. Strings are saved as UTF-8. */
export type FileSource =
  | Uint8Array
  | ArrayBuffer
  | ArrayBufferView
  | Blob
  | ReadableStream<Uint8Array>
  | { stream: ReadableStream<Uint8Array>; size?: number }
  | string;

/** `{ setName: { "relative/path": source } }` (objects or Maps). Set names: `[a-z0-9][a-z0-9_-]{0,62}`. */
/** The files of a set, or `s3://BUCKET/PREFIX?endpoint=...`: every object under that prefix. */
export type SetSource = Record<string, FileSource> | Map<string, FileSource> | string;
export type FileSets = Record<string, SetSource> | Map<string, SetSource>;

/** How far a save or restore has got. */
export interface Progress {
  bytesDone: number;
  /** Bytes in all (streams of unknown size count 0). */
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
}

export interface CallOptions {
  /** Cancels the call; it then rejects with a `CancelledError` (`cause`: the signal's reason). */
  signal?: AbortSignal;
}

export interface SaveOptions extends CallOptions {
  /** Your key/value metadata, stored in metadata.json. */
  metadata?: Record<string, string>;
  /** Zeebe's backup descriptor fields. */
  descriptor?: { checkpointPosition?: number; numberOfPartitions?: number; snapshotId?: string };
  /** Called as bytes and files are uploaded. */
  onProgress?: (progress: Progress) => void;
}

/**
 * How every result names a backup. Results are the core's JSON documents (docs/SCHEMA.md),
 * the same that `s3keep --json` prints and Python's `to_dict()` returns; their `...At`
 * timestamps are `Date`s here, which `JSON.stringify` writes back as the same text.
 */
export interface BackupFields {
  /** `"P/C/N"`. */
  id: string;
  partition: number;
  /** A string: checkpoints may exceed 2^53. */
  checkpoint: string;
  node: number;
}

/** What `save`, `status`, `list` and `markFailed` report of a backup. */
export interface BackupInfo extends BackupFields {
  status: StatusCode;
  failureReason: string | null;
  createdAt: Date | null;
  updatedAt: Date | null;
  /** `s3keep/x.y.z`; null for backups written by Zeebe. */
  writer: string | null;
  /** Total bytes, from metadata.json (`status` and `save` only; null in `list`). */
  totalSize: number | null;
  /** Number of files (`status` and `save` only; null in `list`). */
  fileCount: number | null;
  /** Your metadata (`status` and `save` only; empty in `list`). */
  userMetadata: Record<string, string>;
}

export interface ListFilter {
  partition?: number;
  checkpoint?: number | bigint | string;
  node?: number;
}

/** One file of a COMPLETED backup. Read it as often as you like; each read downloads it. */
export interface RestoredFile {
  readonly set: string;
  /** Path relative to the set, "/"-separated. */
  readonly name: string;
  /** Bytes; null for backups written by Zeebe. */
  readonly size: number | null;
  /** CRC32C, base64 of the 4 big-endian bytes; null for backups written by Zeebe. */
  readonly crc32c: string | null;
  /** Where a directory restore writes it: path components below the target (`rootSet` at the top). */
  readonly path: string[];
  /** Its temporary file's name during a directory restore, in the directory of `path`. */
  readonly temp: string;
  /** The whole file, size and CRC32C verified (else an `IntegrityError`). */
  bytes(): Promise<Uint8Array>;
  /** The file chunk by chunk; errors with an `IntegrityError` instead of closing on a mismatch. */
  stream(): ReadableStream<Uint8Array>;
}

export interface RestoreOptions extends CallOptions {
  /** Only these sets (default all); an unknown name is an `InvalidInputError`. */
  sets?: string[];
  /** The set a directory restore writes into the directory itself (default "files", or the only one of `sets`). */
  rootSet?: string;
}

export interface RestoreToDirectoryOptions extends RestoreOptions {
  /** Files downloaded at once (default 4). */
  concurrency?: number;
  onProgress?: (progress: Progress) => void;
}

export interface RestoreReport extends BackupFields {
  filesRestored: number;
  /** Files already there with the right size and CRC32C. */
  filesSkipped: number;
  bytesRestored: number;
}

export interface DeleteReport extends BackupFields {
  /** Objects deleted, status.json and metadata.json included. */
  objectsDeleted: number;
}

export interface VerifyProblem {
  key: string;
  kind: "missing" | "size-mismatch" | "checksum-mismatch" | "corrupt";
  /** Bytes (`size-mismatch`), CRC32C in base64 (`checksum-mismatch`), null for `missing` and `corrupt` (a damaged pack of a format 2 store; `message` says why). */
  expected: number | string | null;
  actual: number | string | null;
  message: string;
}

export interface VerifyReport extends BackupFields {
  /** Whether the files were downloaded again and their CRC32C checked. */
  deep: boolean;
  /** True when no problem was found. */
  ok: boolean;
  filesChecked: number;
  bytesChecked: number;
  problems: VerifyProblem[];
  /** Lines worth knowing but not wrong (format 2: packs no COMPLETED backup uses, which the next prune deletes). */
  notes: string[];
}

/** Retention, restic's semantics (§7). An empty policy deletes nothing. */
export interface RetentionPolicy {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  /** Keep backups created within this long before the group's newest. */
  keepWithin?: Duration;
  /** Delete FAILED backups. */
  pruneFailed?: boolean;
  /** Delete IN_PROGRESS backups older than `staleAfter` (default: the store's `staleAfter` option). */
  pruneStale?: boolean;
  staleAfter?: Duration;
}

export interface PlanEntry extends BackupFields {
  status: StatusCode;
  createdAt: Date;
  action: "keep" | "delete";
  /** The deciding rule: "keep-last", "newest-completed", "no-rule-matched", "failed", ... */
  reason: string;
  /** Every keep rule that matched. */
  matched: string[];
}

export interface PruneReport {
  dryRun: boolean;
  entries: PlanEntry[];
  /** Ids deleted (none for a dry run). */
  deleted: string[];
  /** Deletes that failed; a later prune finishes them. */
  failed: { id: string; error: S3KeepError }[];
  /** What garbage collection did: an executed prune of a format 2 store; null otherwise. */
  gc: GcReport | null;
}

/** Garbage collection of a format 2 store's packs (counts; bytes in bytes). */
export interface GcReport {
  /** Backups whose chunks were kept (COMPLETED, and CORRUPT ones with a manifest). */
  backupsReferenced: number;
  /** Packs kept because a backup uses them. */
  packsUsed: number;
  /** Unused packs kept because they are younger than the lock stale limit; a later prune deletes them. */
  packsTooYoung: number;
  packsDeleted: number;
  bytesDeleted: number;
  indexObjectsWritten: number;
  indexObjectsDeleted: number;
}

export interface AbortedUpload {
  key: string;
  uploadId: string;
  initiatedAt: Date | null;
}

export interface CleanupReport {
  /** Uploads initiated at or before this instant were aborted. */
  cutoffAt: Date;
  aborted: AbortedUpload[];
}

export interface CheckResult {
  /** endpoint, credentials, bucket, put, get, list, delete, clock, addressing */
  name: string;
  state: "ok" | "warning" | "failed" | "skipped";
  message: string;
  /** What to do about it ("" when fine). */
  hint: string;
  code: string | null;
}

export interface CheckReport {
  /** False when a check failed. */
  ok: boolean;
  endpoint: string;
  bucket: string;
  prefix: string;
  checks: CheckResult[];
}

/** A backup store: one bucket and prefix of an S3-compatible store. Every method returns a Promise. */
export class BackupStore {
  /** @throws InvalidInputError for an unknown option or a bad value, naming it. */
  constructor(options: BackupStoreOptions);
  readonly bucket: string;
  readonly prefix: string;
  readonly endpoint: string;
  readonly region: string;
  /** Bucket, prefix, endpoint and region: never secrets. */
  toString(): string;
  toJSON(): { bucket: string; prefix: string; endpoint: string; region: string };
  /** The effective options, without secrets (the document of `s3keep config --json`). */
  config(): ConfigReport;

  /** Creates the bucket if it does not exist. */
  ensureBucket(options?: CallOptions): Promise<void>;
  /** Saves the file sets as backup `id`; an existing id is a `BackupAlreadyExistsError`. */
  save(id: BackupIdLike, fileSets: FileSets, options?: SaveOptions): Promise<BackupInfo>;
  status(id: BackupIdLike, options?: CallOptions): Promise<BackupInfo>;
  list(filter?: ListFilter, options?: CallOptions): Promise<BackupInfo[]>;
  /** The files of a COMPLETED backup (`BackupNotCompletedError` otherwise). */
  restore(id: BackupIdLike, options?: RestoreOptions): Promise<RestoredFile[]>;
  /** Restores into `s3://BUCKET/PREFIX?endpoint=...` (every set, or only `set` under the prefix). */
  restoreToBucket(
    id: BackupIdLike,
    url: string,
    options?: CallOptions & { set?: string; onProgress?: (p: Progress) => void },
  ): Promise<RestoreReport>;
  markFailed(id: BackupIdLike, reason: string, options?: CallOptions): Promise<BackupInfo>;
  delete(id: BackupIdLike, options?: CallOptions & { force?: boolean }): Promise<DeleteReport>;
  verify(id: BackupIdLike, options?: CallOptions & { deep?: boolean }): Promise<VerifyReport>;
  /** Plans retention and, unless `dryRun`, deletes what the plan says. */
  prune(policy: RetentionPolicy, options?: CallOptions & { dryRun?: boolean }): Promise<PruneReport>;
  /** Aborts multipart uploads under the prefix older than `olderThan` (default: the `staleAfter` option, 1d). */
  cleanupUploads(options?: CallOptions & { olderThanMs?: Duration; olderThan?: Duration }): Promise<CleanupReport>;
  check(options?: CallOptions): Promise<CheckReport>;
}

/**
 * Restores a backup into a directory (Node, Deno and Bun: needs node:fs): set `files` into
 * `dir`, every other set NAME into `dir/NAME/`; files written under a temporary name,
 * verified, then renamed; files already there with the right size and CRC32C are skipped.
 * No link below `dir` is followed: a symlink where a directory is needed rejects with
 * `IoError` naming it, and a link at a temporary or final name is replaced, never written
 * through (README: the one race node:fs cannot close).
 */
export function restoreToDirectory(
  store: BackupStore,
  id: BackupIdLike,
  dir: string,
  options?: RestoreToDirectoryOptions,
): Promise<RestoreReport>;

/**
 * Initialises the WebAssembly module. Done on import in Node, Deno and Bun; call it to load
 * the module from elsewhere (a `WebAssembly.Module`, a URL, or the bytes).
 */
export function init(moduleOrPath?: WebAssembly.Module | URL | string | BufferSource | Response): Promise<void>;

/** The core's error kinds. */
export type ErrorKind =
  | "NoSuchBucket" | "NotFound" | "BackupAlreadyExists" | "BackupNotCompleted" | "AccessDenied"
  | "InvalidCredentials" | "ClockSkew" | "Throttled" | "Network" | "Timeout" | "InvalidInput"
  | "Integrity" | "Conflict" | "Io" | "Cancelled" | "Redirect" | "S3";

/** Base class of every error s3keep throws. */
export class S3KeepError extends Error {
  static readonly kind: ErrorKind;
  constructor(
    message: string,
    details?: {
      code?: string | null; status?: number | null; requestId?: string | null; key?: string | null;
      endpoint?: string | null; hint?: string | null; cause?: unknown;
    },
  );
  readonly kind: ErrorKind;
  /** The S3 error code (`NoSuchKey`, `SignatureDoesNotMatch`...; for BackupNotCompleted the status). */
  readonly code: string | null;
  /** HTTP status of the failing response. */
  readonly status: number | null;
  /** `x-amz-request-id` of the failing response. */
  readonly requestId: string | null;
  /** Object key, backup id or path concerned. */
  readonly key: string | null;
  readonly endpoint: string | null;
  /** What to do about it. */
  readonly hint: string | null;
}
export class NoSuchBucketError extends S3KeepError {}
export class NotFoundError extends S3KeepError {}
export class BackupAlreadyExistsError extends S3KeepError {}
export class BackupNotCompletedError extends S3KeepError {}
export class AccessDeniedError extends S3KeepError {}
export class InvalidCredentialsError extends S3KeepError {}
export class ClockSkewError extends S3KeepError {}
export class ThrottledError extends S3KeepError {}
export class NetworkError extends S3KeepError {}
export class TimeoutError extends S3KeepError {}
export class InvalidInputError extends S3KeepError {}
export class IntegrityError extends S3KeepError {}
export class ConflictError extends S3KeepError {}
export class IoError extends S3KeepError {}
export class CancelledError extends S3KeepError {}
/** The store answered with a redirect to another endpoint or region; it is never followed. */
export class RedirectError extends S3KeepError {}
export class S3Error extends S3KeepError {}
