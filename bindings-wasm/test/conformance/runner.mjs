// The JavaScript runner of the shared conformance suite (conformance/README.md, §9):
// one runtime-neutral ES module, used by Node, Deno and Bun (run.mjs) and inside workerd
// (workerd.mjs + worker.mjs). It imports nothing of the runtime: the entry hands in the
// binding module (`js/index.js` or `js/workerd.js`), the case files' text, the harness
// connection, its capabilities and, for `filesystem`, a few directory helpers. Raw S3 access
// (the `rawS3` steps, creating case buckets) goes through aws4fetch and `fetch`.
//
// Where this file and conformance/README.md disagree, this file is wrong.
import { AwsClient } from "../../node_modules/aws4fetch/dist/aws4fetch.esm.mjs";

/**
 * What a store may lack (conformance/providers.json, README "Providers"); run.mjs and
 * workerd.mjs check that this list and the file agree.
 */
export const STORE_CAPABILITIES = [
  "ifNoneMatch", "ifMatch", "crc32c", "deleteObjects", "multipart", "listPaging", "listUploads",
  "objectLock", "lockedOverwrite", "s3ErrorCodes", "minioErrorCodes", "mc",
];
/**
 * Every capability a case may require (README, "Capabilities" and "Providers"). No JS
 * runner has `lockedStores`: in this version the WebAssembly build refuses to create, save
 * into or prune a store with Object Lock.
 */
export const KNOWN_CAPABILITIES = ["rawS3", "filesystem", "s3Bucket", "lockedStores", ...STORE_CAPABILITIES];
/** An endpoint nothing listens on (README, config `endpoint: "unreachable"`). */
const UNREACHABLE_ENDPOINT = "http://127.0.0.1:1";
const WRONG_SECRET = "wrong-secret-key-for-s3keep-conformance";
const UNKNOWN_ACCESS_KEY = "s3keep-unknown-access-key";
const DEFAULT_PREFIX = "backups";
const MAX_U32 = 4294967295;

// ------------------------------------------------------------------------------------------
// File contents (README, "File contents")
// ------------------------------------------------------------------------------------------

/** The 256 blocks `j*31 + c mod 256` (c = 0..255): block k of a file is block `c(k)`. */
let BLOCKS;
function blocks() {
  if (!BLOCKS) {
    BLOCKS = [];
    for (let c = 0; c < 256; c++) {
      const block = new Uint8Array(256);
      for (let j = 0; j < 256; j++) block[j] = (j * 31 + c) & 0xff;
      BLOCKS.push(block);
    }
  }
  return BLOCKS;
}

/** `byte[i] = (i*31 + (i>>8)*7 + (i>>16)*13 + seed*101) mod 256`, block by block. */
export function generate(size, seed = 0) {
  const out = new Uint8Array(size);
  const table = blocks();
  const whole = Math.floor(size / 256);
  for (let k = 0; k <= whole; k++) {
    const c = (k * 7 + (k >>> 8) * 13 + seed * 101) & 0xff;
    const start = k * 256;
    if (k < whole) out.set(table[c], start);
    else if (start < size) out.set(table[c].subarray(0, size - start), start);
  }
  return out;
}

let CRC_TABLE;
/** CRC32C (Castagnoli), base64 of the 4 big-endian bytes: for the README's test vectors. */
export function crc32cBase64(bytes) {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  crc = (crc ^ 0xffffffff) >>> 0;
  return btoa(String.fromCharCode(crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff));
}

/** The README's test vectors; throws when the generator does not match them. */
export function selfCheck() {
  const list = (a) => Array.from(a).join(" ");
  const checks = [
    ["(8, 0)", list(generate(8, 0)), "0 31 62 93 124 155 186 217"],
    ["(4, 1)", list(generate(4, 1)), "101 132 163 194"],
    ["(70000, 3)[256..258]", list(generate(70000, 3).subarray(256, 258)), "54 85"],
    ["(70000, 3)[65536..65538]", list(generate(70000, 3).subarray(65536, 65538)), "60 91"],
    ["crc32c(100, 3)", crc32cBase64(generate(100, 3)), "DVECog=="],
    ["crc32c(1000000, 7)", crc32cBase64(generate(1000000, 7)), "BXgfVQ=="],
  ];
  for (const [what, got, want] of checks) {
    if (got !== want) throw new Error(`the generator does not match the README: ${what} = ${got}, expected ${want}`);
  }
}

const encoder = new TextEncoder();

/** What a file holds: `{size, seed}` generated or `{text}`. */
class Content {
  constructor(doc) {
    this.doc = doc;
  }
  bytes(cache) {
    if ("text" in this.doc) return encoder.encode(this.doc.text);
    const key = `${this.doc.size}/${this.doc.seed}`;
    let bytes = cache?.get(key);
    if (!bytes) {
      bytes = generate(this.doc.size, this.doc.seed);
      cache?.set(key, bytes);
    }
    return bytes;
  }
  size() {
    return "text" in this.doc ? encoder.encode(this.doc.text).length : this.doc.size;
  }
  toString() {
    return "text" in this.doc ? `text ${JSON.stringify(this.doc.text)}` : `generated(size ${this.doc.size}, seed ${this.doc.seed})`;
  }
}

// ------------------------------------------------------------------------------------------
// Loading and validating cases (README, "Runner contract" 1, "A case", "Steps")
// ------------------------------------------------------------------------------------------

class Invalid extends Error {}

function typeName(v) {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

// A small schema language: each checker takes (value, where) and returns the value.
const str = (v, at) => {
  if (typeof v !== "string") throw new Invalid(`${at} must be a string, not ${typeName(v)}`);
  return v;
};
const bool = (v, at) => {
  if (typeof v !== "boolean") throw new Invalid(`${at} must be a boolean, not ${typeName(v)}`);
  return v;
};
const uint = (max) => (v, at) => {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new Invalid(`${at} must be a non-negative integer, not ${JSON.stringify(v)}`);
  if (v > max) throw new Invalid(`${at} is above ${max}`);
  return v;
};
// u64 fields are kept exact only up to 2^53 in JS numbers: anything above is refused
// loudly (no case needs one) rather than silently rounded.
const u64 = uint(Number.MAX_SAFE_INTEGER);
const u32 = uint(MAX_U32);
const any = (v) => v;
const arrayOf = (item) => (v, at) => {
  if (!Array.isArray(v)) throw new Invalid(`${at} must be an array, not ${typeName(v)}`);
  return v.map((x, i) => item(x, `${at}[${i}]`));
};
const mapOf = (item) => (v, at) => {
  if (typeName(v) !== "object") throw new Invalid(`${at} must be an object, not ${typeName(v)}`);
  const out = new Map();
  for (const [k, x] of Object.entries(v)) out.set(k, item(x, `${at}.${k}`));
  return out;
};
const oneOf = (...values) => (v, at) => {
  str(v, at);
  if (!values.includes(v)) throw new Invalid(`${at} must be one of ${values.join(", ")}, not ${JSON.stringify(v)}`);
  return v;
};
/**
 * An object with exactly the fields of `spec` (`{name: [checker, required]}`); unknown
 * fields are errors. `null` counts as absent for optional fields (serde's Option).
 */
const object = (spec) => (v, at) => {
  if (typeName(v) !== "object") throw new Invalid(`${at} must be an object, not ${typeName(v)}`);
  for (const k of Object.keys(v)) {
    if (!(k in spec)) throw new Invalid(`${at}: unknown field ${JSON.stringify(k)} (expected one of ${Object.keys(spec).join(", ")})`);
  }
  const out = {};
  for (const [k, [check, required]] of Object.entries(spec)) {
    if (v[k] === undefined || (v[k] === null && !required)) {
      if (required) throw new Invalid(`${at}: missing field ${JSON.stringify(k)}`);
      continue;
    }
    out[k] = check(v[k], `${at}.${k}`);
  }
  return out;
};
const opt = (check) => [check, false];
const req = (check) => [check, true];

/** `{size, seed}` or `{text}`. */
const contentDoc = (v, at) => {
  const d = object({ size: opt(uint(2 ** 31 - 1)), seed: opt(uint(65535)), text: opt(str) })(v, at);
  if (d.size !== undefined && d.text === undefined) return new Content({ size: d.size, seed: d.seed ?? 0 });
  if (d.size === undefined && d.seed === undefined && d.text !== undefined) return new Content({ text: d.text });
  throw new Invalid(`${at} must be {size, seed} or {text}`);
};

/** A file entry of a set, expanded to [[name, Content]]. */
const fileDoc = (v, at) => {
  const d = object({
    name: opt(str), namePrefix: opt(str), count: opt(u64), width: opt(uint(64)),
    size: opt(uint(2 ** 31 - 1)), seed: opt(uint(65535)), text: opt(str),
  })(v, at);
  if (d.name !== undefined && d.namePrefix === undefined && d.count === undefined && d.width === undefined) {
    const content = contentDoc(Object.fromEntries(["size", "seed", "text"].filter((k) => k in d).map((k) => [k, d[k]])), at);
    return [[d.name, content]];
  }
  if (d.name === undefined && d.namePrefix !== undefined && d.count !== undefined && d.text === undefined) {
    if (d.size === undefined) throw new Invalid(`${at}: a namePrefix entry needs a size`);
    const seed = d.seed ?? 0;
    const out = [];
    for (let i = 0; i < d.count; i++) {
      out.push([d.namePrefix + String(i).padStart(d.width ?? 0, "0"), new Content({ size: d.size, seed: seed + i })]);
    }
    return out;
  }
  throw new Invalid(`${at} must be {name, ...content} or {namePrefix, count, width?, size, seed?}`);
};

/** `{set: [file entries]}` → Map(set → [[name, Content]]). */
const setsDoc = (v, at) => {
  const raw = mapOf(arrayOf(fileDoc))(v, at);
  const out = new Map();
  for (const [set, lists] of raw) out.set(set, lists.flat());
  return out;
};

const duration = (v, at) => {
  str(v, at);
  parseDuration(v, at);
  return v;
};
const timeValue = (v, at) => {
  str(v, at);
  if (v.startsWith("$now")) resolveTime(v, at);
  return v;
};

const policyDoc = object({
  keepLast: opt(u32), keepHourly: opt(u32), keepDaily: opt(u32), keepWeekly: opt(u32),
  keepMonthly: opt(u32), keepYearly: opt(u32), keepWithin: opt(duration),
  pruneFailed: opt(bool), pruneStale: opt(bool), staleAfter: opt(duration),
});
const key = { key: req(str), absolute: opt(bool) };

/** The fields of each op, and the capability it needs. */
const keysDoc = object({ password: opt(str), identity: opt(str), recipients: opt(str), macKey: opt(str) });

const OPS = {
  open: [{}],
  reopen: [{ keys: opt(keysDoc) }],
  config: [{ url: opt(str), options: opt(mapOf(str)), env: opt(mapOf(str)), expect: opt(mapOf(any)) }],
  save: [{
    id: req(str), sets: req(setsDoc), metadata: opt(mapOf(str)),
    descriptor: opt(object({ checkpointPosition: opt(u64), numberOfPartitions: opt(u32), snapshotId: opt(str) })),
    expect: opt(any),
  }],
  status: [{ id: req(str), expect: opt(any) }],
  list: [{ filter: opt(object({ partition: opt(u32), checkpoint: opt(u64), node: opt(u32) })), expect: opt(any) }],
  restore: [{ id: req(str), sets: opt(arrayOf(str)), expectFiles: opt(setsDoc) }],
  restoreDir: [{
    id: req(str), set: opt(str), dir: opt(str), expectTree: opt(mapOf(contentDoc)), expect: opt(any),
  }, "filesystem"],
  saveFromBucket: [{ id: req(str), set: req(str), prefix: req(str), expect: opt(any) }, "s3Bucket"],
  restoreToBucket: [{
    id: req(str), set: opt(str), prefix: req(str), expectObjects: opt(mapOf(contentDoc)), expectSameAs: opt(str),
    expect: opt(any),
  }, "s3Bucket"],
  verify: [{ id: req(str), deep: opt(bool), expect: opt(any) }],
  delete: [{ id: req(str), force: opt(bool) }],
  markFailed: [{ id: req(str), reason: req(str), expect: opt(any) }],
  prune: [{ policy: opt(policyDoc), dryRun: opt(bool), expect: opt(any) }],
  check: [{ expect: opt(any) }],
  cleanupUploads: [{ olderThan: req(duration), expect: opt(any) }],
  putObject: [{
    ...key, json: opt(any), text: opt(str), generated: opt(contentDoc),
    repeat: opt(object({ count: req(u64), start: opt(u64) })),
  }, "rawS3"],
  deleteObject: [{ ...key }, "rawS3"],
  headObject: [{ ...key, expect: req(object({ exists: opt(bool), size: opt(u64), parts: opt(u32) })) }, "rawS3"],
  getObject: [{ ...key, expectJson: opt(any), expectText: opt(str), expectGenerated: opt(contentDoc) }, "rawS3"],
  listKeys: [{ prefix: opt(str), absolute: opt(bool), expectKeys: opt(arrayOf(str)), expectCount: opt(u64) }, "rawS3"],
  forgeBackup: [{ id: req(str), status: req(str), createdAt: req(timeValue), failureReason: opt(str) }, "rawS3"],
  createMultipartUpload: [{ ...key }, "rawS3"],
};

function step(v, at) {
  if (typeName(v) !== "object") throw new Invalid(`${at} must be an object`);
  const { op, expectError, expectErrorCode, expectMessage, comment, ...fields } = v;
  str(op, `${at}.op`);
  if (!Object.hasOwn(OPS, op)) throw new Invalid(`${at}: unknown op ${JSON.stringify(op)}`);
  if (expectError !== undefined) str(expectError, `${at}.expectError`);
  if (expectErrorCode !== undefined) str(expectErrorCode, `${at}.expectErrorCode`);
  if (expectMessage !== undefined) str(expectMessage, `${at}.expectMessage`);
  if (comment !== undefined) str(comment, `${at}.comment`);
  if ((expectErrorCode ?? expectMessage) !== undefined && expectError === undefined) {
    throw new Invalid(`${at}: expectErrorCode and expectMessage need expectError`);
  }
  if (expectError !== undefined && "expect" in fields) throw new Invalid(`${at}: a step has expect or expectError, not both`);
  const [spec, capability] = OPS[op];
  return { op, expectError, expectErrorCode, expectMessage, capability, ...object(spec)(fields, `${at} (${op})`) };
}

const caseDoc = object({
  name: req(str), family: req(str), description: req(str),
  requires: opt(arrayOf(oneOf(...KNOWN_CAPABILITIES))),
  config: opt(object({
    prefix: opt(str), partSize: opt(u64), multipartThreshold: opt(u64), concurrency: opt(u64), format: opt(u64),
    credentials: opt(oneOf("valid", "wrongSecret", "unknownAccessKey")),
    bucket: opt(oneOf("fresh", "objectLock", "missing")),
    endpoint: opt(oneOf("harness", "unreachable")),
    keys: opt(keysDoc),
    objectLock: opt(oneOf("governance", "compliance")),
    lockPolicy: opt(str),
  })),
  steps: req(arrayOf((v, at) => step(v, at))),
});

function validateCase(value) {
  const c = caseDoc(value, "case");
  c.requires ??= [];
  c.config ??= {};
  if (c.steps.length === 0) throw new Invalid("a case needs steps");
  if (c.config.bucket === "objectLock" && !c.requires.includes("objectLock")) {
    throw new Invalid(`config.bucket "objectLock" needs "objectLock" in requires`);
  }
  if ((c.config.objectLock ?? c.config.lockPolicy) !== undefined && !c.requires.includes("lockedStores")) {
    throw new Invalid(`config.objectLock or config.lockPolicy needs "lockedStores" in requires`);
  }
  c.steps.forEach((s, i) => {
    if (s.capability && !c.requires.includes(s.capability)) {
      throw new Invalid(`step ${i + 1} (${s.op}) needs "${s.capability}" in requires`);
    }
    if (s.op === "open" && i !== 0) throw new Invalid("open can only be the first step");
  });
  return c;
}

/**
 * Cases from `files` (`[{name, text}]`, any order): files in byte order of their names, each
 * one case or an array of cases. A file that does not parse or breaks a rule of the format is
 * one entry `{file, error}`; every case is `{case}`.
 */
export function loadCases(files) {
  const bytesOf = (s) => encoder.encode(s);
  const byName = [...files].filter((f) => f.name.endsWith(".json")).sort((a, b) => {
    const x = bytesOf(a.name);
    const y = bytesOf(b.name);
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
    return x.length - y.length;
  });
  const entries = [];
  for (const file of byName) {
    try {
      let value;
      try {
        value = JSON.parse(file.text);
      } catch (e) {
        throw new Invalid(`not JSON: ${e.message}`);
      }
      const items = Array.isArray(value) ? value : [value];
      const cases = items.map((item) => {
        try {
          return validateCase(item);
        } catch (e) {
          const name = typeof item?.name === "string" ? item.name : "?";
          throw new Invalid(`case ${name}: ${e.message}`);
        }
      });
      for (const c of cases) entries.push({ case: c });
    } catch (e) {
      if (!(e instanceof Invalid)) throw e;
      entries.push({ file: file.name, error: `invalid case file: ${e.message}` });
    }
  }
  return entries;
}

// ------------------------------------------------------------------------------------------
// Durations, times, ids, prefixes
// ------------------------------------------------------------------------------------------

const UNIT_MS = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 };

/** README, "Durations": `<integer><s|m|h|d>` → milliseconds. */
export function parseDuration(text, at = "duration") {
  const m = /^(\d+)([smhd])$/.exec(text);
  if (!m) throw new Invalid(`${at}: ${JSON.stringify(text)} is not <integer><s|m|h|d>`);
  return Number(m[1]) * UNIT_MS[m[2]];
}

/** README, "Time values": `$now`, `$now-<duration>`, `$now+<duration>`, or RFC 3339 as is. */
export function resolveTime(text, at = "time") {
  if (!text.startsWith("$now")) return text;
  const rest = text.slice(4);
  let ms = Date.now();
  if (rest.startsWith("-")) ms -= parseDuration(rest.slice(1), at);
  else if (rest.startsWith("+")) ms += parseDuration(rest.slice(1), at);
  else if (rest !== "") throw new Invalid(`${at}: ${JSON.stringify(text)} is not a time value`);
  return new Date(ms).toISOString();
}

/** Every string value starting with `$now` in a JSON document, resolved. */
function resolveNow(value) {
  if (typeof value === "string" && value.startsWith("$now")) return resolveTime(value);
  if (Array.isArray(value)) return value.map(resolveNow);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveNow(v)]));
  return value;
}

/** `"P/C/N"` → its three decimal parts (BigInt: checkpoints may exceed 2^53), or throws. */
function parseIdExact(text) {
  const m = /^(\d+)\/(\d+)\/(\d+)$/.exec(text);
  const parts = m && [BigInt(m[1]), BigInt(m[2]), BigInt(m[3])];
  if (!parts || parts[0] > MAX_U32 || parts[1] > 2n ** 64n - 1n || parts[2] > MAX_U32) {
    throw new Check(`invalid case: backup id ${JSON.stringify(text)}`);
  }
  return parts.map(String);
}

/** Strip every leading and trailing "/"; if anything is left, add one "/". */
export function normalizePrefix(prefix) {
  const trimmed = prefix.replace(/^\/+/, "").replace(/\/+$/, "");
  return trimmed === "" ? "" : `${trimmed}/`;
}

/** A fresh random bucket name, `<prefix>-<16 hex digits>`. */
export function freshBucketName(prefix = "t") {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return `${prefix}-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

// ------------------------------------------------------------------------------------------
// Comparisons
// ------------------------------------------------------------------------------------------

/** A step's outcome did not match: the step fails with this message. */
class Check extends Error {}

function fail(message) {
  throw new Check(message);
}

const show = (v) => JSON.stringify(v, (k, x) => (x instanceof Map ? Object.fromEntries(x) : x));

function deepEqual(a, b) {
  return show(a) === show(b);
}

/** Compares when `expected` is given (README: fields "checked if given"). */
function expectEq(what, expected, actual) {
  if (expected !== undefined && !deepEqual(expected, actual)) fail(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}

function sameBytes(a, b) {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function firstDifference(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/** `actual` (Map path → bytes) is exactly `expected` (Map path → Content), byte for byte. */
function compareFiles(what, expected, actual, cache) {
  const missing = [...expected.keys()].filter((k) => !actual.has(k)).sort();
  const extra = [...actual.keys()].filter((k) => !expected.has(k)).sort();
  if (missing.length || extra.length) fail(`${what}: missing ${show(missing)}, unexpected ${show(extra)}`);
  for (const [path, content] of expected) {
    const bytes = actual.get(path);
    const want = content.bytes(cache);
    if (!sameBytes(bytes, want)) {
      fail(`${what} ${path} differs from ${content} (${bytes.byteLength} bytes, expected ${want.byteLength}; first difference at byte ${firstDifference(bytes, want)})`);
    }
  }
}

/** README, "Subset match". */
/** A JSON value with its object keys sorted, for comparing documents as text. */
function sorted(v) {
  if (typeName(v) !== "object") return v;
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted(v[k])]));
}

function jsonMatches(expected, actual, at) {
  if (expected === "$any") return;
  if (expected === "$notNull") {
    if (actual === null) fail(`${at}: expected a value, got null`);
    return;
  }
  if (typeName(expected) === "object" && Object.keys(expected).length === 1 && "$contains" in expected) {
    if (typeof actual !== "string" || !actual.includes(expected.$contains)) {
      fail(`${at}: expected a string containing ${JSON.stringify(expected.$contains)}, got ${JSON.stringify(actual)}`);
    }
    return;
  }
  if (typeName(expected) === "object" && typeName(actual) === "object") {
    for (const [k, v] of Object.entries(expected)) {
      if (!Object.hasOwn(actual, k)) fail(`${at}.${k} is missing`);
      jsonMatches(v, actual[k], `${at}.${k}`);
    }
    return;
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (expected.length !== actual.length) fail(`${at}: expected ${expected.length} items, got ${actual.length}`);
    expected.forEach((v, i) => jsonMatches(v, actual[i], `${at}[${i}]`));
    return;
  }
  if (!deepEqual(expected, actual) || typeName(expected) !== typeName(actual)) {
    fail(`${at}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

/** Runs `fn` over `items` with at most `limit` in flight; results in order. */
async function pool(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

// ------------------------------------------------------------------------------------------
// Raw S3 access (aws4fetch): the runner's own, valid credentials, never the binding
// ------------------------------------------------------------------------------------------

/** An S3 request that did not succeed (raw access: a runner failure, not a binding error). */
class RawError extends Check {}

function encodeKey(key) {
  return key.split("/").map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)).join("/");
}

function xmlText(s) {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (_, e) => {
    if (e[0] === "#") return String.fromCodePoint(e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" }[e];
  });
}

function xmlField(xml, tag) {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  return m ? xmlText(m[1]) : undefined;
}

/** Path-style S3 access to one bucket of the harness MinIO. */
export class RawS3 {
  constructor(connection, bucket) {
    this.endpoint = connection.endpoint.replace(/\/+$/, "");
    this.bucket = bucket;
    this.client = new AwsClient({
      accessKeyId: connection.accessKeyId,
      secretAccessKey: connection.secretAccessKey,
      region: connection.region,
      service: "s3",
      retries: 3,
    });
  }

  url(key = "", query = "") {
    return `${this.endpoint}/${this.bucket}${key === null ? "" : `/${encodeKey(key)}`}${query}`;
  }

  async request(method, key, { query = "", body, headers, ok = [200, 204] } = {}) {
    const response = await this.client.fetch(this.url(key, query), { method, body, headers });
    if (!ok.includes(response.status)) {
      const text = await response.text().catch(() => "");
      const code = xmlField(text, "Code");
      throw new RawError(`raw S3 ${method} ${key ?? ""}${query}: HTTP ${response.status}${code ? ` ${code}` : ""}`);
    }
    return response;
  }

  /** CreateBucket; with `objectLock`, `x-amz-bucket-object-lock-enabled: true`. */
  async createBucket({ objectLock = false } = {}) {
    const headers = objectLock ? { "x-amz-bucket-object-lock-enabled": "true" } : undefined;
    const r = await this.request("PUT", null, { headers, ok: [200, 409] });
    await r.body?.cancel();
  }

  async put(key, body) {
    const r = await this.request("PUT", key, { body });
    await r.body?.cancel();
  }

  async delete(key) {
    const r = await this.request("DELETE", key);
    await r.body?.cancel();
  }

  /** `{size, etag}`, or null when there is no such object. */
  async head(key) {
    const r = await this.request("HEAD", key, { ok: [200, 404] });
    await r.body?.cancel();
    if (r.status === 404) return null;
    return { size: Number(r.headers.get("content-length")), etag: r.headers.get("etag") ?? "" };
  }

  async get(key) {
    const r = await this.request("GET", key);
    return new Uint8Array(await r.arrayBuffer());
  }

  /** Every key under `prefix` (ListObjectsV2, every page). */
  async list(prefix) {
    const keys = [];
    let token;
    for (;;) {
      let query = `?list-type=2&prefix=${encodeURIComponent(prefix)}`;
      if (token !== undefined) query += `&continuation-token=${encodeURIComponent(token)}`;
      const xml = await (await this.request("GET", null, { query })).text();
      for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) keys.push(xmlField(m[1], "Key"));
      if (xmlField(xml, "IsTruncated") !== "true") return keys;
      token = xmlField(xml, "NextContinuationToken");
      if (!token) throw new RawError("raw S3 list: truncated page without NextContinuationToken");
    }
  }

  async createMultipartUpload(key) {
    const r = await this.request("POST", key, { query: "?uploads" });
    await r.text();
  }
}

// ------------------------------------------------------------------------------------------
// Running one case (README, "Runner contract" 3, "Steps")
// ------------------------------------------------------------------------------------------

/**
 * A step's `expect` against the result as its JSON document, `JSON.parse(JSON.stringify(result))`
 * (README, "Results"): the binding's object must serialise to the core's document.
 */
function expectDoc(expected, result) {
  if (expected === undefined) return;
  const doc = JSON.parse(JSON.stringify(result));
  try {
    jsonMatches(expected, doc, "$");
  } catch (e) {
    if (!(e instanceof Check)) throw e;
    const text = JSON.stringify(doc);
    fail(`${e.message}; document: ${text.length > 1500 ? `${text.slice(0, 1500)}...` : text}`);
  }
}

/** The state of one case while its steps run. */
class CaseRun {
  constructor(env, config) {
    this.env = env;
    this.api = env.api;
    this.bucket = freshBucketName();
    this.raw = new RawS3(env.connection, this.bucket);
    const c = env.connection;
    const credentials = config.credentials ?? "valid";
    this.options = {
      bucket: this.bucket,
      prefix: config.prefix ?? DEFAULT_PREFIX,
      endpoint: (config.endpoint ?? "harness") === "unreachable" ? UNREACHABLE_ENDPOINT : c.endpoint,
      region: c.region,
      accessKeyId: credentials === "unknownAccessKey" ? UNKNOWN_ACCESS_KEY : c.accessKeyId,
      secretAccessKey: credentials === "wrongSecret" ? WRONG_SECRET : c.secretAccessKey,
      env: false, // nothing from AWS_* of the environment
    };
    for (const k of ["partSize", "multipartThreshold", "concurrency", "format", "objectLock", "lockPolicy"]) {
      if (config[k] !== undefined) this.options[k] = config[k];
    }
    this.withKeys(config.keys);
    this.bucketKind = config.bucket ?? "fresh";
    this.prefix = normalizePrefix(this.options.prefix);
    this.store = undefined;
    this.saved = new Map(); // id text → Map(set → [[name, Content]])
    this.dirs = new Map(); // dir name → path
    this.temps = [];
    this.cache = new Map(); // generated contents of this case
  }

  /** The encryption options of a case's `keys` (README, `config`), replacing any before. */
  withKeys(keys) {
    for (const k of ["password", "identity", "recipients", "macKey"]) {
      if (keys?.[k] === undefined) delete this.options[k];
      else this.options[k] = keys[k];
    }
  }

  async begin() {
    if (this.bucketKind !== "missing") {
      try {
        await this.raw.createBucket({ objectLock: this.bucketKind === "objectLock" });
      } catch (e) {
        throw new Check(`cannot create the case bucket: ${e.message}`);
      }
    }
  }

  async end() {
    for (const dir of this.temps) await this.env.platform.removeDir(dir).catch(() => {});
    this.cache.clear();
  }

  /** Runs one step and judges it against `expectError` / `expectErrorCode`. */
  async step(s) {
    if (!this.store && s.op !== "open" && s.op !== "config") {
      try {
        this.store = new this.api.BackupStore(this.options);
      } catch (e) {
        fail(`cannot open the store: ${describe(e)}`);
      }
    }
    let error;
    try {
      await this.run(s);
    } catch (e) {
      if (e instanceof Check) throw e;
      if (!(e instanceof this.api.S3KeepError)) fail(`unexpected exception ${describe(e)}`);
      error = e;
    }
    if (s.expectError === undefined) {
      if (error) fail(`unexpected error ${describe(error)}`);
      return;
    }
    if (!error) fail(`expected error ${s.expectError}, but the step succeeded`);
    if (error.kind !== s.expectError) fail(`expected error ${s.expectError}, got ${describe(error)}`);
    if (s.expectErrorCode !== undefined && error.code !== s.expectErrorCode) {
      fail(`expected error code ${s.expectErrorCode}, got ${JSON.stringify(error.code)} (${describe(error)})`);
    }
    if (s.expectMessage !== undefined && ![s.expectMessage, `${s.expectMessage}; ${error.hint}`].includes(error.message)) {
      fail(`expected the message ${JSON.stringify(s.expectMessage)}, got ${JSON.stringify(error.message)}`);
    }
  }

  /** README, `config`: the options as camelCase fields, `env` as the only environment. */
  config(s) {
    const options = { env: Object.fromEntries(s.env ?? []) };
    if (s.url !== undefined) options.url = s.url;
    for (const [name, value] of s.options ?? []) options[name.replace(/_([a-z])/g, (_, c) => c.toUpperCase())] = value;
    const report = new this.api.BackupStore(options).config();
    for (const [k, want] of s.expect ?? []) {
      if (!Object.hasOwn(report, k) || JSON.stringify(sorted(report[k])) !== JSON.stringify(sorted(want))) {
        fail(`config ${k}: expected ${JSON.stringify(want)}, got ${JSON.stringify(report[k])}`);
      }
    }
  }

  key(k, absolute) {
    return absolute ? k : this.prefix + k;
  }

  async run(s) {
    switch (s.op) {
      case "open":
        this.store = new this.api.BackupStore(this.options);
        return;
      case "reopen":
        this.withKeys(s.keys);
        this.store = new this.api.BackupStore(this.options);
        return;
      case "config":
        return this.config(s);
      case "save":
        return this.save(s);
      case "status":
        return expectDoc(s.expect, await this.store.status(s.id));
      case "list":
        return this.list(s);
      case "restore":
        return this.restore(s);
      case "restoreDir":
        return this.restoreDir(s);
      case "saveFromBucket":
        return this.saveFromBucket(s);
      case "restoreToBucket":
        return this.restoreToBucket(s);
      case "verify":
        return this.verify(s);
      case "delete":
        await this.store.delete(s.id, { force: s.force ?? false });
        return;
      case "markFailed":
        return expectDoc(s.expect, await this.store.markFailed(s.id, s.reason));
      case "prune":
        return this.prune(s);
      case "check":
        return expectDoc(s.expect, await this.store.check());
      case "cleanupUploads":
        return expectDoc(s.expect, await this.store.cleanupUploads({ olderThanMs: parseDuration(s.olderThan) }));
      case "putObject":
        return this.putObject(s);
      case "deleteObject":
        return this.raw.delete(this.key(s.key, s.absolute));
      case "headObject":
        return this.headObject(s);
      case "getObject":
        return this.getObject(s);
      case "listKeys":
        return this.listKeys(s);
      case "forgeBackup":
        return this.forgeBackup(s);
      case "createMultipartUpload":
        return this.raw.createMultipartUpload(this.key(s.key, s.absolute));
      default:
        fail(`op ${s.op} is not implemented by this runner`);
    }
  }

  async save(s) {
    const sets = new Map();
    for (const [set, files] of s.sets) sets.set(set, new Map(files.map(([name, c]) => [name, c.bytes(this.cache)])));
    const info = await this.store.save(s.id, sets, {
      metadata: s.metadata ? Object.fromEntries(s.metadata) : {},
      descriptor: s.descriptor,
    });
    if (info.status !== "COMPLETED") fail(`save returned status ${info.status}`);
    this.saved.set(s.id, s.sets);
    expectDoc(s.expect, info);
  }

  async list(s) {
    expectDoc(s.expect, await this.store.list(s.filter ?? {}));
  }

  /** `expectFiles`, else what this case saved under `id` (restricted to `sets`). */
  expectedFiles(id, sets, expectFiles) {
    let files = expectFiles;
    if (!files) {
      const saved = this.saved.get(id);
      if (!saved) fail(`invalid case: restore of ${id} without expectFiles, and no save of it`);
      files = new Map([...saved].filter(([set]) => !sets || sets.includes(set)));
    }
    const out = new Map();
    for (const [set, list] of files) for (const [name, c] of list) out.set(`${set}/${name}`, c);
    return out;
  }

  async restore(s) {
    const files = await this.store.restore(s.id, s.sets ? { sets: s.sets } : {});
    const actual = new Map();
    const read = await pool(files, 8, (f) => f.bytes());
    files.forEach((f, i) => {
      const path = `${f.set}/${f.name}`;
      if (actual.has(path)) fail(`restore returned ${path} twice`);
      actual.set(path, read[i]);
    });
    compareFiles("restored", this.expectedFiles(s.id, s.sets, s.expectFiles), actual, this.cache);
  }

  async restoreDir(s) {
    const platform = this.env.platform;
    let dir;
    if (s.dir !== undefined && this.dirs.has(s.dir)) {
      dir = this.dirs.get(s.dir);
    } else {
      dir = await platform.tempDir();
      this.temps.push(dir);
      if (s.dir !== undefined) this.dirs.set(s.dir, dir);
    }
    const options = s.set !== undefined ? { sets: [s.set], rootSet: s.set } : {};
    const summary = await platform.restoreToDirectory(this.store, s.id, dir, options);
    expectDoc(s.expect, summary);
    if (s.expectTree) compareFiles("restored tree", s.expectTree, await platform.readTree(dir), this.cache);
  }

  async verify(s) {
    expectDoc(s.expect, await this.store.verify(s.id, { deep: s.deep ?? true }));
  }

  /** `s3://CASE-BUCKET/PREFIX?endpoint=HARNESS&region=REGION`: the store's credentials serve it. */
  bucketUrl(prefix) {
    const c = this.env.connection;
    return `s3://${this.bucket}/${prefix}?endpoint=${c.endpoint}&region=${c.region}`;
  }

  /** Every object under `prefix/` of the case bucket: Map(name below the prefix → bytes). */
  async objectsUnder(prefix) {
    const base = `${prefix.replace(/^\/+|\/+$/g, "")}/`;
    const keys = await this.raw.list(base);
    const bodies = await pool(keys, 16, (k) => this.raw.get(k));
    return new Map(keys.map((k, i) => [k.slice(base.length), bodies[i]]));
  }

  async saveFromBucket(s) {
    const info = await this.store.save(s.id, new Map([[s.set, this.bucketUrl(s.prefix)]]));
    if (info.status !== "COMPLETED") fail(`save returned status ${info.status}`);
    expectDoc(s.expect, info);
  }

  async restoreToBucket(s) {
    const report = await this.store.restoreToBucket(s.id, this.bucketUrl(s.prefix), s.set !== undefined ? { set: s.set } : {});
    const got = await this.objectsUnder(s.prefix);
    if (s.expectObjects) compareFiles("restored objects", s.expectObjects, got, this.cache);
    if (s.expectSameAs !== undefined) {
      const want = await this.objectsUnder(s.expectSameAs);
      const names = (m) => [...m.keys()].sort(byCodeUnits);
      if (!deepEqual(names(want), names(got))) fail(`restored objects: expected the names under ${s.expectSameAs}, got ${show(names(got))}`);
      for (const [name, bytes] of want) if (!sameBytes(got.get(name), bytes)) fail(`restored object ${name} differs from ${s.expectSameAs}/${name}`);
    }
    expectDoc(s.expect, report);
  }

  async prune(s) {
    const p = s.policy ?? {};
    const policy = {};
    for (const k of ["keepLast", "keepHourly", "keepDaily", "keepWeekly", "keepMonthly", "keepYearly", "pruneFailed", "pruneStale"]) {
      if (p[k] !== undefined) policy[k] = p[k];
    }
    if (p.keepWithin !== undefined) policy.keepWithin = parseDuration(p.keepWithin);
    if (p.staleAfter !== undefined) policy.staleAfter = parseDuration(p.staleAfter);
    const outcome = await this.store.prune(policy, { dryRun: s.dryRun ?? false });
    if (outcome.failed.length) fail(`prune could not delete ${outcome.failed[0].id}: ${describe(outcome.failed[0].error)}`);
    expectDoc(s.expect, outcome);
  }

  async putObject(s) {
    const given = ["json", "text", "generated"].filter((k) => s[k] !== undefined);
    if (given.length !== 1) fail("invalid case: putObject needs exactly one of json, text, generated");
    const body = s.json !== undefined
      ? encoder.encode(JSON.stringify(resolveNow(s.json)))
      : s.text !== undefined ? encoder.encode(s.text) : s.generated.bytes(this.cache);
    const keys = [];
    if (s.repeat) {
      for (let i = s.repeat.start ?? 0; i < (s.repeat.start ?? 0) + s.repeat.count; i++) {
        keys.push(this.key(s.key.replaceAll("{i}", String(i)), s.absolute));
      }
    } else {
      keys.push(this.key(s.key, s.absolute));
    }
    await pool(keys, 16, (k) => this.raw.put(k, body));
  }

  async headObject(s) {
    const key = this.key(s.key, s.absolute);
    const head = await this.raw.head(key);
    expectEq(`${key} exists`, s.expect.exists, head !== null);
    if (!head) {
      if (s.expect.size !== undefined || s.expect.parts !== undefined) fail(`${key} does not exist`);
      return;
    }
    expectEq(`${key} size`, s.expect.size, head.size);
    // A multipart object's ETag ends in "-<number of parts>".
    const m = /-(\d+)$/.exec(head.etag.replace(/^"+|"+$/g, ""));
    expectEq(`${key} parts (ETag ${head.etag})`, s.expect.parts, m ? Number(m[1]) : 0);
  }

  async getObject(s) {
    const key = this.key(s.key, s.absolute);
    const bytes = await this.raw.get(key);
    if (s.expectJson !== undefined) {
      let doc;
      try {
        doc = JSON.parse(new TextDecoder().decode(bytes));
      } catch (e) {
        fail(`${s.key} is not JSON: ${e.message}`);
      }
      try {
        jsonMatches(s.expectJson, doc, "$");
      } catch (e) {
        if (e instanceof Check) fail(`${s.key}: ${e.message}; document: ${JSON.stringify(doc)}`);
        throw e;
      }
    }
    if (s.expectText !== undefined && !sameBytes(bytes, encoder.encode(s.expectText))) {
      fail(`${s.key}: expected text ${JSON.stringify(s.expectText)}, got ${JSON.stringify(new TextDecoder().decode(bytes))}`);
    }
    if (s.expectGenerated !== undefined) {
      const want = s.expectGenerated.bytes(this.cache);
      if (!sameBytes(bytes, want)) fail(`${s.key}: bytes differ from ${s.expectGenerated} (${bytes.byteLength} bytes)`);
    }
  }

  async listKeys(s) {
    const base = s.absolute ? "" : this.prefix;
    const prefix = s.prefix ?? "";
    const keys = (await this.raw.list(base + prefix)).map((k) => (k.startsWith(base) ? k.slice(base.length) : k));
    keys.sort(byCodeUnits);
    if (s.expectKeys) {
      const expected = [...s.expectKeys].sort(byCodeUnits);
      if (!deepEqual(expected, keys)) fail(`keys under ${JSON.stringify(prefix)}: expected ${show(expected)}, got ${show(keys)}`);
    }
    expectEq(`number of keys under ${JSON.stringify(prefix)}`, s.expectCount, keys.length);
  }

  /** README, "forgeBackup": metadata.json first, then status.json. */
  async forgeBackup(s) {
    const [p, c, n] = parseIdExact(s.id);
    const t = JSON.stringify(resolveTime(s.createdAt));
    const folder = `${this.prefix}${p}/${c}/${n}/`;
    // Written as text: the checkpoint may exceed 2^53.
    const metadata = `{"formatVersion":1,"partitionId":${p},"checkpointId":${c},"nodeId":${n},"fileSets":{},"userMetadata":{},"createdAt":${t},"writer":"s3keep-conformance"}`;
    const status = `{"statusCode":${JSON.stringify(s.status)},"failureReason":${JSON.stringify(s.failureReason ?? null)},"createdAt":${t},"updatedAt":${t},"writer":"s3keep-conformance"}`;
    await this.raw.put(`${folder}metadata.json`, encoder.encode(metadata));
    await this.raw.put(`${folder}status.json`, encoder.encode(status));
  }
}

function byCodeUnits(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** An error in one line: `Kind (code): message` for s3keep errors. */
function describe(e) {
  if (e && typeof e === "object" && "kind" in e) {
    const first = String(e.message ?? "").split("\n")[0];
    return `${e.kind}${e.code ? ` (${e.code})` : ""}: ${first}`;
  }
  return `${e?.name ?? "Error"}: ${String(e?.message ?? e).split("\n")[0]}`;
}

// ------------------------------------------------------------------------------------------
// The suite (README, "Runner contract")
// ------------------------------------------------------------------------------------------

/**
 * The capabilities in effect: `own` (what the runtime can do), restricted to those listed in
 * `restrictTo` (S3KEEP_CONFORMANCE_CAPABILITIES, comma-separated) when it is set.
 */
export function effectiveCapabilities(own, restrictTo) {
  if (restrictTo === undefined || restrictTo === null) return [...own];
  const wanted = restrictTo.split(",").map((c) => c.trim());
  return own.filter((c) => wanted.includes(c));
}

/**
 * The harness's provider, `{name, capabilities}`, from S3KEEP_TEST_PROVIDER and
 * S3KEEP_TEST_CAPABILITIES (comma-separated); `declared` (providers.json's `providers`) when
 * the list is unset.
 */
export function providerOf(name, list, declared) {
  const provider = name || "minio";
  const capabilities = list === undefined || list === null || list === ""
    ? [...(declared?.[provider] ?? STORE_CAPABILITIES)]
    : list.split(",").map((c) => c.trim());
  return { name: provider, capabilities };
}

/** Throws unless `doc` (conformance/providers.json) names exactly STORE_CAPABILITIES. */
export function checkProvidersDoc(doc) {
  const names = Object.keys(doc.capabilities);
  if (names.join(",") !== STORE_CAPABILITIES.join(",")) {
    throw new Error(`runner.mjs STORE_CAPABILITIES (${STORE_CAPABILITIES}) differ from conformance/providers.json (${names})`);
  }
}

/** Why case `c` is skipped: a capability neither the runner nor the provider has. */
function skipReason(c, env) {
  const provider = env.provider ?? providerOf(undefined, undefined, undefined);
  const missing = c.requires.find((cap) => !env.capabilities.includes(cap) && !provider.capabilities.includes(cap));
  if (!missing) return undefined;
  const lacks = STORE_CAPABILITIES.includes(missing) ? `the provider ${provider.name}` : "this runner";
  return `requires ${missing}, which ${lacks} lacks`;
}

/**
 * The entries to run: the loaded cases whose name contains `filter` (every invalid file is
 * kept: it is one failed case whatever the filter).
 */
export function selectEntries(files, filter) {
  return loadCases(files).filter((e) => !e.case || !filter || e.case.name.includes(filter));
}

/**
 * Runs one entry of `selectEntries`; returns `{verdict: "passed" | "failed" | "skipped",
 * line, seconds}` (`line` as README, "Runner contract" 4, says).
 *
 * env: `{api, connection: {endpoint, accessKeyId, secretAccessKey, region}, capabilities,
 * provider, platform}` (`provider` from `providerOf`; MinIO's when absent); `platform` (for `filesystem`): `{tempDir(), removeDir(path), readTree(path) →
 * Map(relative path → Uint8Array), restoreToDirectory(store, id, dir, options)}`.
 */
export async function runEntry(entry, env) {
  if (!entry.case) return { verdict: "failed", line: `${entry.file} ... FAILED: ${entry.error}`, seconds: 0 };
  const c = entry.case;
  const label = `${c.name} [${c.family}]`;
  const skip = skipReason(c, env);
  if (skip) return { verdict: "skipped", line: `${label} ... skipped: ${skip}`, seconds: 0 };
  const started = performance.now();
  const run = new CaseRun(env, c.config);
  let why;
  try {
    await run.begin();
    for (const [i, s] of c.steps.entries()) {
      try {
        await run.step(s);
      } catch (e) {
        why = `step ${i + 1} (${s.op}): ${e instanceof Check ? e.message : `runner error ${describe(e)}`}`;
        break;
      }
    }
  } catch (e) {
    why = e instanceof Check ? e.message : `runner error ${describe(e)}`;
  } finally {
    await run.end();
  }
  const seconds = (performance.now() - started) / 1000;
  if (why !== undefined) return { verdict: "failed", line: `${label} ... FAILED: ${oneLine(why)}`, seconds };
  return { verdict: "passed", line: `${label} ... ok (${seconds.toFixed(2)} s)`, seconds };
}

function oneLine(text) {
  return text.replace(/\s*\n\s*/g, " | ");
}

/** The summary line, exactly. */
export function summary(counts) {
  return `${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`;
}

/**
 * Runs the suite: every selected entry in order, one printed line each, then the summary.
 * Returns the counts.
 */
export async function runSuite({ files, filter, print, ...env }) {
  selfCheck();
  const counts = { passed: 0, failed: 0, skipped: 0 };
  for (const entry of selectEntries(files, filter)) {
    const result = await runEntry(entry, env);
    counts[result.verdict] += 1;
    print(result.line);
  }
  print(summary(counts));
  return counts;
}

// ------------------------------------------------------------------------------------------
// Interop (README, "Interop")
// ------------------------------------------------------------------------------------------

export const BINDING_INDEX = { rust: 1, python: 2, node: 3, deno: 4, bun: 5, workerd: 6, cli: 7 };
const ZEEBE_PARTITION = 90;
const FIVE_MIB = 5 * 1024 * 1024;
/** The encrypted store of interop (README, "Interop", "Encrypted"). */
const ENCRYPTED_PREFIX = "interop-encrypted";
/** The test age identities 1 (the store's) and 2 (a key that opens no key object). */
const IDENTITY = "AGE-SECRET-KEY-1ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYGSUZRZYL";
const OTHER_IDENTITY = "AGE-SECRET-KEY-1YG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3Q0KAHAN";

/** The files every writer saves (`b`: its binding index). */
function writerSets(b) {
  const g = (size, seed) => new Content({ size, seed });
  return new Map([
    ["files", [
      ["small.bin", g(1000, b)],
      ["nested/dir/ünïcode name.txt", g(100, b + 10)],
      ["empty.bin", g(0, 0)],
      ["multipart.bin", g(FIVE_MIB + 1, b + 20)],
    ]],
    ["segments", [["00000001.log", g(70000, b + 30)]]],
  ]);
}

/** The files every writer saves encrypted (`b`: its binding index). */
function encryptedSets(b) {
  const g = (size, seed) => new Content({ size, seed });
  return new Map([
    ["files", [["small.bin", g(1000, b + 40)], ["nested/dir/ünïcode name.txt", g(100, b + 50)]]],
    ["segments", [["00000001.log", g(70000, b + 60)]]],
  ]);
}

function zeebeSets() {
  return new Map([
    ["snapshot", [["000012.sst", new Content({ size: 3000, seed: 91 })], ["CURRENT", new Content({ text: "MANIFEST-000001\n" })]]],
    ["segments", [["raft-partition-1.log", new Content({ size: 70000, seed: 92 })]]],
  ]);
}

/**
 * One interop phase as binding `me`: `phase` "write" saves `b/1/0`; "read" checks every
 * backup of a binding index or 90 in `bucket` (`expect`: writers that must be there).
 * Prints its lines; returns true when nothing failed.
 */
export async function runInterop({ api, connection, bucket, phase, expect = [], me, print }) {
  selfCheck();
  const index = BINDING_INDEX[me];
  const connect = { bucket, endpoint: connection.endpoint, region: connection.region,
    accessKeyId: connection.accessKeyId, secretAccessKey: connection.secretAccessKey, env: false };
  const encrypted = (identity) => new api.BackupStore({ ...connect, prefix: ENCRYPTED_PREFIX, ...(identity ? { identity } : {}) });
  let store;
  try {
    store = new api.BackupStore({
      ...connect, prefix: "interop", partSize: FIVE_MIB, multipartThreshold: FIVE_MIB, createBucket: phase === "write",
    });
  } catch (e) {
    print(`interop: cannot open the store: ${describe(e)}`);
    return false;
  }
  const inMemory = (sets) => new Map([...sets].map(([set, files]) => [set, new Map(files.map(([n, c]) => [n, c.bytes()]))]));
  if (phase === "write") {
    const started = performance.now();
    try {
      await store.save(`${index}/1/0`, inMemory(writerSets(index)), { metadata: { binding: me } });
      await encrypted(IDENTITY).save(`${index}/1/0`, inMemory(encryptedSets(index)), { metadata: { binding: me } });
      print(`interop write ${me}: ok (${index}/1/0 plain and encrypted, ${((performance.now() - started) / 1000).toFixed(2)} s)`);
      return true;
    } catch (e) {
      print(`interop write ${me}: FAILED: ${describe(e)}`);
      return false;
    }
  }
  const names = Object.fromEntries(Object.entries(BINDING_INDEX).map(([n, i]) => [i, n]));
  let passed = 0;
  let failed = 0;
  // The encrypted store: every writer's backup with the identity; another identity and none refused.
  let encryptedListed;
  try {
    encryptedListed = await encrypted(IDENTITY).list();
  } catch (e) {
    failed += 1;
    print(`interop-encrypted read ${me}: FAILED: list: ${describe(e)}`);
  }
  const seenEncrypted = [];
  for (const info of encryptedListed ?? []) {
    const writer = names[info.partition];
    if (!writer) continue;
    seenEncrypted.push(writer);
    try {
      await readEncryptedOne(encrypted, info.id, info.partition);
      passed += 1;
      print(`interop-encrypted ${writer} -> ${me}: ok`);
    } catch (e) {
      failed += 1;
      print(`interop-encrypted ${writer} -> ${me}: FAILED: ${oneLine(e instanceof Check ? e.message : describe(e))}`);
    }
  }
  for (const writer of expect.filter((w) => w !== "zeebe" && !seenEncrypted.includes(w))) {
    if (!encryptedListed) break;
    failed += 1;
    print(`interop-encrypted ${writer} -> ${me}: FAILED: no encrypted backup of ${writer} in the bucket`);
  }
  let listed;
  try {
    listed = await store.list();
  } catch (e) {
    print(`interop read ${me}: FAILED: list: ${describe(e)}`);
    print(`${passed} passed, ${failed + 1} failed, 0 skipped`);
    return false;
  }
  const seen = [];
  for (const info of listed) {
    const writer = info.partition === ZEEBE_PARTITION ? "zeebe" : names[info.partition];
    if (!writer) continue;
    seen.push(writer);
    try {
      const status = await readOne(store, info.id, info.partition, writer);
      passed += 1;
      print(`interop ${writer} -> ${me}: ok`);
      // Compared with `s3keep status --json` by scripts/interop.sh (one schema).
      print(`interop status-json ${writer} -> ${me}: ${JSON.stringify(status)}`);
    } catch (e) {
      failed += 1;
      print(`interop ${writer} -> ${me}: FAILED: ${oneLine(e instanceof Check ? e.message : describe(e))}`);
    }
  }
  for (const writer of expect.filter((w) => !seen.includes(w))) {
    failed += 1;
    print(`interop ${writer} -> ${me}: FAILED: no backup of ${writer} in the bucket`);
  }
  print(`${passed} passed, ${failed} failed, 0 skipped`);
  return failed === 0;
}

/**
 * Checks one encrypted backup (`open(identity)` gives a store of the encrypted prefix):
 * status, a deep verify and a byte-exact restore with the identity; restore with another
 * identity refused with InvalidInput `KeyWrong`, without any with `KeyMissing`.
 */
async function readEncryptedOne(open, id, partition) {
  const store = open(IDENTITY);
  const info = await store.status(id);
  if (info.status !== "COMPLETED") fail(`status ${info.status} (expected COMPLETED)`);
  // Sizes, file count and user metadata are sealed in an encrypted store (docs/FORMAT.md,
  // "Encryption"): the restore checks.
  const sets = encryptedSets(partition);
  const report = await store.verify(id, { deep: true });
  if (!report.ok) fail(`verify --deep: ${report.problems.map((p) => p.message).join("; ")}`);
  const files = await store.restore(id);
  const read = await pool(files, 4, (f) => f.bytes());
  const expected = new Map();
  for (const [set, list] of sets) for (const [name, c] of list) expected.set(`${set}/${name}`, c);
  compareFiles("restore:", expected, new Map(files.map((f, i) => [`${f.set}/${f.name}`, read[i]])));
  for (const [identity, code] of [[OTHER_IDENTITY, "KeyWrong"], [undefined, "KeyMissing"]]) {
    let error;
    try {
      const refused = await open(identity).restore(id);
      await pool(refused, 4, (f) => f.bytes());
    } catch (e) {
      error = e;
    }
    if (!error) fail(`restore without the right key succeeded (expected ${code})`);
    if (error.kind !== "InvalidInput" || error.code !== code) fail(`restore: ${describe(error)}, expected InvalidInput (${code})`);
  }
}

async function readOne(store, id, partition, writer) {
  const step = async (what, fn) => {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof Check) throw e;
      fail(`${what}: ${describe(e)}`);
    }
  };
  const info = await step("status", () => store.status(id));
  if (info.status !== "COMPLETED") fail(`status ${info.status} (expected COMPLETED)`);
  let sets;
  if (writer === "zeebe") {
    sets = zeebeSets();
  } else {
    sets = writerSets(partition);
    const all = [...sets.values()].flat();
    const size = all.reduce((n, [, c]) => n + c.size(), 0);
    if (info.fileCount !== all.length || info.totalSize !== size) {
      fail(`status: ${info.fileCount} files of ${info.totalSize} bytes, expected ${all.length} of ${size}`);
    }
    if (info.userMetadata?.binding !== writer) fail(`metadata ${JSON.stringify(info.userMetadata)}, expected binding=${writer}`);
  }
  const report = await step("verify", () => store.verify(id, { deep: true }));
  if (!report.ok) fail(`verify --deep: ${report.problems.map((p) => p.message).join("; ")}`);
  const files = await step("restore", () => store.restore(id));
  const read = await step("restore", () => pool(files, 4, (f) => f.bytes()));
  const actual = new Map(files.map((f, i) => [`${f.set}/${f.name}`, read[i]]));
  const expected = new Map();
  for (const [set, list] of sets) for (const [name, c] of list) expected.set(`${set}/${name}`, c);
  compareFiles("restore:", expected, actual);
  return info;
}
