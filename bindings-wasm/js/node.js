// restoreToDirectory: the native restore of SPEC §4 for runtimes with node:fs (Node, Deno,
// Bun). node:fs is imported when called, so the main entry still loads without it.
import { crc32c } from "./api.js";
import { InvalidInputError, IoError, toError } from "./errors.js";

const PARTIAL = ".s3keep-partial";

/**
 * Restores backup `id` into `dir`: the set `rootSet` (default "files", or the only set of
 * `sets`) straight into `dir`, every other set NAME into `dir/NAME/`. Each file is streamed
 * to `.NAME.s3keep-partial` beside its final path, CRC32C verified, then renamed; a file
 * already there with the right size and CRC32C is skipped, so a restore run again after a
 * crash finishes it.
 */
export async function restoreToDirectory(store, id, dir, { sets, rootSet, signal, concurrency = 4, onProgress } = {}) {
  const fs = await import("node:fs/promises");
  const path = await import("node:path");
  const files = await store.restore(id, { sets, signal });
  const root = rootSet ?? (sets?.length === 1 ? sets[0] : "files");
  const base = path.resolve(dir);
  const targets = new Map();
  for (const file of files) {
    const target = path.resolve(base, ...(file.set === root ? [] : [file.set]), ...file.name.split("/"));
    // The core already refused unsafe names; this guards the join itself.
    if (!target.startsWith(base + path.sep)) {
      throw new InvalidInputError(`${file.set}/${file.name} would be restored outside ${base}`);
    }
    if (targets.has(target)) {
      throw new InvalidInputError(`two files of the backup would both be restored to ${target}`);
    }
    targets.set(target, file);
  }
  const summary = { filesRestored: 0, filesSkipped: 0, bytesRestored: 0 };
  const progress = {
    bytesDone: 0,
    bytesTotal: files.reduce((n, f) => n + (f.size ?? 0), 0),
    filesDone: 0,
    filesTotal: files.length,
  };
  const report = () => onProgress?.({ ...progress });
  report();
  const queue = [...targets.entries()];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [target, file] = next;
      if (await alreadyRestored(fs, target, file)) {
        summary.filesSkipped += 1;
        progress.bytesDone += file.size ?? 0;
      } else {
        const written = await writeFile(fs, path, target, file, (n) => {
          progress.bytesDone += n;
          report();
        });
        summary.filesRestored += 1;
        summary.bytesRestored += written;
      }
      progress.filesDone += 1;
      report();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, queue.length)) }, worker));
  return summary;
}

async function alreadyRestored(fs, target, file) {
  if (file.size === null || file.crc32c === null) return false;
  let handle;
  try {
    const stat = await fs.lstat(target);
    if (!stat.isFile() || stat.size !== file.size) return false;
    handle = await fs.open(target, "r");
    const crc = crc32c();
    try {
      const buffer = new Uint8Array(1 << 20);
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length);
        if (bytesRead === 0) break;
        crc.update(buffer.subarray(0, bytesRead));
      }
      return crc.digest() === file.crc32c;
    } finally {
      crc.free();
    }
  } catch (e) {
    if (e?.code === "ENOENT") return false;
    throw ioError(target, e);
  } finally {
    await handle?.close();
  }
}

async function writeFile(fs, path, target, file, onBytes) {
  const partial = path.join(path.dirname(target), tempName(path.basename(target)));
  let handle;
  let written = 0;
  try {
    await fs.mkdir(path.dirname(target), { recursive: true });
    handle = await fs.open(partial, "w");
    const reader = file.stream().getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      await handle.write(value);
      written += value.byteLength;
      onBytes(value.byteLength);
    }
    await handle.close();
    handle = undefined;
    // Only now is the file known good: the stream closes after its CRC32C matched.
    await fs.rename(partial, target);
    return written;
  } catch (e) {
    await handle?.close().catch(() => {});
    await fs.rm(partial, { force: true }).catch(() => {});
    throw e?.code && !e.kind ? ioError(target, e) : toError(e);
  }
}

function tempName(name) {
  const temp = `.${name}${PARTIAL}`;
  if (new TextEncoder().encode(temp).length <= 255) return temp;
  const crc = crc32c();
  crc.update(new TextEncoder().encode(name));
  const digest = crc.digest().replace(/[/+=]/g, "_");
  crc.free();
  return `.s3keep-${digest}${PARTIAL}`;
}

function ioError(target, e) {
  return new IoError(`${target}: ${e?.message ?? e}`, { key: target, code: e?.code ?? null, cause: e });
}
