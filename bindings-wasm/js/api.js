// BackupStore: the JavaScript face of the Rust core, the same in Node, Deno, Bun and
// workerd. Translation only: ids, options and file sources are normalised here, the work
// (layout, protocols, S3 requests over fetch) is done by the wasm module.
import { isRestored as wasmIsRestored, WasmCancel, WasmStore } from "../pkg/s3keep_wasm.js";
import * as errors from "./errors.js";

const { CancelledError, InvalidInputError, S3Error, S3KeepError } = errors;
/** The error class of each kind of the core: every class errors.js exports but the base. */
const CLASSES = Object.fromEntries(
  Object.values(errors).filter((c) => c !== S3KeepError).map((c) => [c.kind, c]),
);

/**
 * @internal The S3KeepError for a value thrown by the wasm side; anything else is returned
 * as is. `cause` (an AbortSignal's reason) is attached to cancellations.
 */
export function toError(thrown, cause) {
  if (thrown instanceof S3KeepError || !thrown || thrown.s3keepError !== true) return thrown;
  const Class = CLASSES[thrown.kind] ?? S3Error;
  return new Class(thrown.message, { ...thrown, cause: Class === CancelledError ? cause : undefined });
}

/** Raised by the constructor when the wasm module was never initialised. */
let notReady = () => undefined;
/** @internal Lets the entry modules report why the wasm module is missing. */
export function setNotReady(check) {
  notReady = check;
}

/**
 * How the core reads the environment: `env(name)` for each variable it knows. An object
 * (a Worker's `env`) is read as is; by default the runtime's (Node and Bun `process.env`,
 * `Deno.env`); `false`: none.
 */
function envLookup(env) {
  if (env === false) return undefined;
  if (env && typeof env === "object") return (name) => env[name];
  return (name) => {
    try {
      return globalThis.Deno?.env ? globalThis.Deno.env.get(name) : globalThis.process?.env?.[name];
    } catch {
      return undefined; // Deno without --allow-env: no environment, as in workerd
    }
  };
}

/** "P/C/N" from a string or {partition, checkpoint, node}. */
function idText(id) {
  if (typeof id === "string") return id;
  if (id && typeof id === "object") {
    for (const part of ["partition", "checkpoint", "node"]) {
      if (!["number", "bigint", "string"].includes(typeof id[part])) {
        throw new InvalidInputError(`backup id: ${part} is missing (give {partition, checkpoint, node} or "P/C/N")`);
      }
    }
    return `${id.partition}/${id.checkpoint}/${id.node}`;
  }
  throw new InvalidInputError(`backup id must be "PARTITION/CHECKPOINT/NODE" or {partition, checkpoint, node}; got ${String(id)}`);
}

function isBlob(v) {
  return typeof v?.slice === "function" && typeof v.size === "number" && typeof v.arrayBuffer === "function";
}

function isReadableStream(v) {
  return typeof v?.getReader === "function";
}

function asBytes(chunk) {
  if (chunk instanceof Uint8Array) return chunk;
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === "string") return new TextEncoder().encode(chunk);
  return chunk; // the Rust side names the file in its error
}

/**
 * One file to save as the wasm side pulls it: [kind, read or stream, size, cleanup].
 * Bytes and Blobs are read by ranges (one part at a time: a Blob is never read whole),
 * streams chunk by chunk (as Uint8Arrays).
 */
function source(value, name) {
  const bytes = typeof value === "string" || value instanceof ArrayBuffer || ArrayBuffer.isView(value)
    ? asBytes(value)
    : undefined;
  if (bytes) return ["ranged", (start, end) => bytes.subarray(start, end), bytes.byteLength];
  if (isBlob(value)) {
    // A slice's stream, copied into wasm chunk by chunk: `arrayBuffer()` would also build
    // the whole part in JS (Node even concatenates it from chunks), garbage V8 frees late.
    const read = (start, end) => {
      const reader = value.slice(start, end).stream().getReader();
      return async () => {
        const { done, value: chunk } = await reader.read();
        return done ? undefined : chunk;
      };
    };
    return ["ranged", read, value.size];
  }
  const stream = isReadableStream(value) ? value : isReadableStream(value?.stream) ? value.stream : undefined;
  if (stream) {
    const size = isReadableStream(value) ? undefined : value.size;
    const bytes = stream.pipeThrough(new TransformStream({ transform: (chunk, c) => c.enqueue(asBytes(chunk)) }));
    return ["stream", bytes, size, (error) => bytes.cancel(error).catch(() => {})];
  }
  throw new InvalidInputError(
    `file ${JSON.stringify(name)}: expected a Uint8Array, Blob, File, ReadableStream or {stream, size}; got ${Object.prototype.toString.call(value)}`,
  );
}

function entries(object, what) {
  if (object instanceof Map) return [...object.entries()];
  if (object && typeof object === "object") return Object.entries(object);
  throw new InvalidInputError(`${what} must be an object (or a Map)`);
}

/**
 * A result of the core (docs/SCHEMA.md) with its timestamps, the fields named `...At`, as
 * `Date`s (user metadata stays text). `JSON.stringify` writes a `Date` back as the same
 * RFC 3339 text, so the object still serialises to the core's document.
 */
function fromCore(value) {
  if (Array.isArray(value)) {
    value.forEach(fromCore);
  } else if (value && typeof value === "object") {
    for (const [key, field] of Object.entries(value)) {
      if (key === "userMetadata") continue;
      if (key.endsWith("At") && typeof field === "string") value[key] = new Date(field);
      else fromCore(field);
    }
  }
  return value;
}

/** A WasmCancel tied to `signal` for the duration of one call. */
class Cancellation {
  constructor(signal) {
    this.signal = signal;
    if (!signal) return;
    if (signal.aborted) throw new CancelledError("the operation was aborted before it started (AbortSignal)", { cause: signal.reason });
    this.cancel = new WasmCancel();
    this.onAbort = () => this.cancel.cancel();
    signal.addEventListener("abort", this.onAbort, { once: true });
  }

  /** A handle for one wasm call (the call consumes it). */
  handle() {
    return this.cancel?.cloneHandle();
  }

  dispose() {
    if (!this.cancel) return;
    this.signal.removeEventListener("abort", this.onAbort);
    this.cancel.free();
    this.cancel = undefined;
  }
}

/** Runs one wasm call with the signal's cancellation handle; errors become S3KeepErrors. */
async function cancellable(signal, call) {
  const cancellation = new Cancellation(signal);
  try {
    return await call(cancellation.handle());
  } catch (e) {
    throw toError(e, signal?.reason);
  } finally {
    cancellation.dispose();
  }
}

/**
 * A backup store: one bucket and prefix of an S3-compatible store (§4).
 * Secrets stay inside the wasm module: they never appear in toString, JSON or inspection.
 */
export class BackupStore {
  #raw;
  #info;

  constructor(options = {}) {
    const why = notReady();
    if (why) throw why;
    const { env, ...rest } = options ?? {};
    try {
      this.#raw = new WasmStore(rest, envLookup(env));
    } catch (e) {
      throw toError(e);
    }
    this.#info = this.#raw.describe();
  }

  /** The bucket name. */
  get bucket() { return this.#info.bucket; }
  /** The key prefix, normalised ("" or "a/b/"). */
  get prefix() { return this.#info.prefix; }
  /** The endpoint requests go to. */
  get endpoint() { return this.#info.endpoint; }
  /** The signing region. */
  get region() { return this.#info.region; }

  toString() {
    return `BackupStore(s3://${this.bucket}/${this.prefix} at ${this.endpoint}, region ${this.region})`;
  }

  toJSON() {
    return { ...this.#info };
  }

  /** The effective options, without secrets: the document of `s3keep config --json`. */
  config() {
    return this.#raw.config();
  }

  [Symbol.for("nodejs.util.inspect.custom")]() {
    return this.toString();
  }

  /** Creates the bucket if it does not exist (with `createBucket: true` every call does this first). */
  async ensureBucket({ signal } = {}) {
    await cancellable(signal, (c) => this.#raw.ensureBucket(c));
  }

  /**
   * Saves file sets as backup `id` (§4 save). `fileSets` maps set names to
   * `{relativePath: Uint8Array | Blob | File | ReadableStream | {stream, size}}`, or to an
   * `s3://BUCKET/PREFIX?endpoint=...` string: every object under that prefix (§13).
   */
  async save(id, fileSets, { metadata, descriptor, onProgress, signal } = {}) {
    const cleanups = [];
    const files = [];
    try {
      for (const [set, setFiles] of entries(fileSets, "fileSets")) {
        if (typeof setFiles === "string") {
          files.push([set, "", "url", setFiles, undefined]);
          continue;
        }
        for (const [name, value] of entries(setFiles, `file set ${JSON.stringify(set)}`)) {
          const [kind, read, size, cleanup] = source(value, name);
          if (cleanup) cleanups.push(cleanup);
          files.push([set, name, kind, read, size]);
        }
      }
      const [meta, zeebe] = [JSON.stringify(metadata ?? {}), JSON.stringify(descriptor ?? {})];
      const progress = onProgress ? (p) => onProgress(p) : undefined;
      return fromCore(await cancellable(signal, (c) => this.#raw.save(idText(id), files, meta, zeebe, progress, c)));
    } catch (e) {
      for (const cleanup of cleanups) cleanup(e);
      throw e;
    }
  }

  /** Status of a backup; `status: "DOES_NOT_EXIST"` when there is none. */
  async status(id, { signal } = {}) {
    return fromCore(await cancellable(signal, (c) => this.#raw.status(idText(id), c)));
  }

  /** Every backup matching the filter, sorted by (partition, node, checkpoint). */
  async list(filter = {}, { signal } = {}) {
    const { partition, checkpoint, node } = filter ?? {};
    const fields = { partition, checkpoint: typeof checkpoint === "bigint" ? String(checkpoint) : checkpoint, node };
    return fromCore(await cancellable(signal, (c) => this.#raw.list(fields, c)));
  }

  /**
   * The files of a COMPLETED backup, each readable as bytes or as a stream, CRC32C
   * verified; nothing is downloaded until a file is read. `sets` picks sets (one the backup
   * lacks is an InvalidInputError). Each file's `path` and `temp` come from the core's plan
   * of a directory restore: the set `rootSet` (default "files", or the only set of `sets`)
   * at the top, every other set below its name.
   */
  async restore(id, { sets, rootSet, signal } = {}) {
    const text = idText(id);
    const plan = await cancellable(signal, (c) => this.#raw.directoryPlan(text, sets, rootSet, c));
    return plan.files.map((planned) => new RestoredFile(this.#raw, text, planned, signal));
  }

  /**
   * Restores a COMPLETED backup into the bucket and prefix `url`
   * (`s3://BUCKET/PREFIX?endpoint=...`, §13): the set `files` under the prefix, every other
   * set under `PREFIX/NAME/`; with `set`, only that set, under the prefix. Each object is
   * written once, complete and CRC32C-verified. Resolves to the restore report.
   */
  async restoreToBucket(id, url, { set, onProgress, signal } = {}) {
    const progress = onProgress ? (p) => onProgress(p) : undefined;
    return fromCore(await cancellable(signal, (c) => this.#raw.restoreToBucket(idText(id), String(url), set ?? undefined, progress, c)));
  }

  /** IN_PROGRESS → FAILED with a reason (Zeebe's markFailed). */
  async markFailed(id, reason, { signal } = {}) {
    return fromCore(await cancellable(signal, (c) => this.#raw.markFailed(idText(id), String(reason ?? ""), c)));
  }

  /** Deletes every object of a backup; IN_PROGRESS ones only when stale or with `force`. */
  async delete(id, { force = false, signal } = {}) {
    return cancellable(signal, (c) => this.#raw.delete(idText(id), Boolean(force), c));
  }

  /** Checks every file exists with its size; `deep` downloads and checks CRC32C. */
  async verify(id, { deep = false, signal } = {}) {
    return cancellable(signal, (c) => this.#raw.verify(idText(id), Boolean(deep), c));
  }

  /** Retention (§7): the plan, executed unless `dryRun`. */
  async prune(policy = {}, { dryRun = false, signal } = {}) {
    const report = fromCore(await cancellable(signal, (c) => this.#raw.prune(policy ?? {}, Boolean(dryRun), c)));
    report.failed = report.failed.map(({ id, error }) => ({ id, error: toError({ ...error, s3keepError: true }) }));
    return report;
  }

  /** Aborts multipart uploads under the prefix older than `olderThan` (ms or "24h"; default the `staleAfter` option). */
  async cleanupUploads({ olderThanMs, olderThan, signal } = {}) {
    const age = olderThan ?? olderThanMs;
    return fromCore(await cancellable(signal, (c) => this.#raw.cleanupUploads(age, c)));
  }

  /** The doctor: endpoint, credentials, bucket, put/get/list/delete, clock, addressing. */
  async check({ signal } = {}) {
    return cancellable(signal, (c) => this.#raw.check(c));
  }
}

/** One file of a backup being restored: read it with `bytes()` or `stream()`, once or more. */
export class RestoredFile {
  #raw;
  #id;
  #entry;
  #signal;

  constructor(raw, id, { set, entry, path, temp }, signal) {
    this.#raw = raw;
    this.#id = id;
    this.#entry = JSON.stringify(entry);
    this.#signal = signal;
    /** The file set. */
    this.set = set;
    /** Where a directory restore writes it: path components below the target. */
    this.path = path;
    /** The name of its temporary file during a directory restore, beside `path`. */
    this.temp = temp;
    /** The path relative to the set, "/"-separated. */
    this.name = entry.name;
    /** Size in bytes (null for backups written by Zeebe). */
    this.size = entry.size ?? null;
    /** CRC32C, base64 of the 4 big-endian bytes (null for backups written by Zeebe). */
    this.crc32c = entry.crc32c ?? null;
  }

  /** The whole file, verified. For small files; stream large ones. */
  async bytes() {
    return cancellable(this.#signal, (c) => this.#raw.readFile(this.#id, this.set, this.#entry, c));
  }

  /**
   * The file as a stream of Uint8Array chunks. It errors with an IntegrityError instead of
   * closing when the size or CRC32C is wrong: the data is good only once it closed.
   */
  stream() {
    const signal = this.#signal;
    let cancellation;
    let reader;
    let opening;
    const done = () => {
      cancellation?.dispose();
      cancellation = undefined;
    };
    // The core's stream, whose errors become S3KeepErrors here.
    const open = async () => {
      try {
        cancellation = new Cancellation(signal);
        reader = this.#raw.openFile(this.#id, this.set, this.#entry, cancellation.handle()).getReader();
      } catch (e) {
        done();
        throw toError(e, signal?.reason);
      }
    };
    return new ReadableStream({
      // workerd may call pull() before start()'s promise settles: pull waits for the open.
      start: () => {
        opening = open();
        return opening;
      },
      pull: async (controller) => {
        try {
          await opening;
          const { done: end, value } = await reader.read();
          if (end) {
            done();
            controller.close();
          } else {
            controller.enqueue(value);
          }
        } catch (e) {
          done();
          throw toError(e, signal?.reason);
        }
      },
      cancel: (reason) => {
        done();
        return reader?.cancel(reason);
      },
    });
  }
}

/**
 * @internal The resume check of restoreToDirectory (node.js), done by the core: whether
 * `bytes`, a ReadableStream of the file already at `file.path`, holds `file` (its size and
 * CRC32C).
 */
export async function isRestored(file, bytes) {
  const entry = JSON.stringify({ name: file.name, size: file.size, crc32c: file.crc32c });
  try {
    return await wasmIsRestored(entry, bytes);
  } catch (e) {
    throw toError(e);
  }
}
