// restoreToDirectory: the native restore of §4 for runtimes with node:fs (Node, Deno,
// Bun). node:fs is imported when called, so the main entry still loads without it.
import { isRestored, toError } from "./api.js";
import { IoError } from "./errors.js";

/**
 * Restores backup `id` into `dir`: the set `rootSet` (default "files", or the only set of
 * `sets`) straight into `dir`, every other set NAME into `dir/NAME/`. The core plans it
 * (`store.restore`: sets, names, clashes, temporary names, all checked before anything is
 * written) and checks what is already there; this module makes the node:fs calls. Each file
 * is streamed to its temporary name (`.NAME.s3keep-partial`) beside its final path, CRC32C
 * verified, then renamed; a file already there with the right size and CRC32C is skipped,
 * so a restore run again after a crash finishes it.
 *
 * No link below `dir` is followed (`dir` itself may be one: it is the caller's own path): a
 * symlink where a directory is needed is an IoError naming it, temporary files are created
 * exclusively (a leftover one, even a link, is unlinked first), and a link at a final name is
 * replaced, never written through. See "Links in the target" below for the one race that
 * node:fs cannot close.
 */
export async function restoreToDirectory(store, id, dir, { sets, rootSet, signal, concurrency = 4, onProgress } = {}) {
  const fs = await import("node:fs/promises");
  const { constants } = await import("node:fs");
  const path = await import("node:path");
  const files = await store.restore(id, { sets, rootSet, signal });
  const base = path.resolve(dir);
  const summary = { filesRestored: 0, filesSkipped: 0, bytesRestored: 0 };
  const progress = {
    bytesDone: 0,
    bytesTotal: files.reduce((n, f) => n + (f.size ?? 0), 0),
    filesDone: 0,
    filesTotal: files.length,
  };
  const report = () => onProgress?.({ ...progress });
  report();
  const queue = [...files];
  const io = { fs, path, flags: openFlags(constants) };
  await fs.mkdir(base, { recursive: true });
  const worker = async () => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      const target = path.join(base, ...file.path);
      await directoryBelow(io, base, file.path.slice(0, -1));
      if (await alreadyRestored(io, target, file)) {
        summary.filesSkipped += 1;
        progress.bytesDone += file.size ?? 0;
      } else {
        const written = await writeFile(io, target, file, (n) => {
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

// ---- Links in the target: the file-system calls -------------------------------------------
// Whoever can write into the target must not redirect the restore's writes elsewhere. So no
// link below `base` is followed: each directory component is lstat()ed (a symlink is refused,
// even one pointing inside the target), temporary files are opened with O_CREAT | O_EXCL |
// O_NOFOLLOW (a name left there, file or link, is unlinked first: unlinking never touches a
// link's target), the bytes go through that handle only, and the rename replaces a link at
// the final name. The resume check lstat()s the final name and reads it through an
// O_NOFOLLOW | O_NONBLOCK open whose handle is checked again.
//
// The race node:fs cannot close: it has no openat, so a directory is checked by path and then
// used by path. Between the lstat of `dir/sub` and the open of `dir/sub/.x.s3keep-partial`,
// whoever can write into the target can swap `sub` for a symlink, and the file is then
// created (exclusively: no existing file is ever overwritten) where the link points. The
// native restore (Rust core, CLI, Python) opens each component relative to the directory
// opened before it and has no such window. On Windows O_NOFOLLOW does not exist (0 here).

function openFlags(c) {
  const nofollow = c.O_NOFOLLOW ?? 0;
  return {
    create: c.O_CREAT | c.O_EXCL | c.O_WRONLY | nofollow,
    read: c.O_RDONLY | nofollow | (c.O_NONBLOCK ?? 0),
  };
}

/** Creates the directories `parts` below `base` one at a time, refusing any that is not a directory. */
async function directoryBelow({ fs, path }, base, parts) {
  let current = base;
  for (const part of parts) {
    current = path.join(current, part);
    let stat = await lstatOrNull(fs, current);
    if (stat === null) {
      await fs.mkdir(current).catch((e) => { if (e?.code !== "EEXIST") throw ioError(current, e); });
      stat = await fs.lstat(current).catch((e) => { throw ioError(current, e); });
    }
    if (stat.isSymbolicLink()) {
      throw new IoError(`${current}: is a symbolic link; restore never follows a link below the target directory `
        + "(remove it, or restore into another directory)", { key: current, code: "ELOOP" });
    }
    if (!stat.isDirectory()) {
      throw new IoError(`${current}: exists and is not a directory`, { key: current, code: "ENOTDIR" });
    }
  }
}

async function lstatOrNull(fs, target) {
  try {
    return await fs.lstat(target);
  } catch (e) {
    if (e?.code === "ENOENT") return null;
    throw ioError(target, e);
  }
}

/** Whether `target` is a regular file (not a link) of the recorded size and CRC32C. */
async function alreadyRestored({ fs, flags }, target, file) {
  if (file.size === null || file.crc32c === null) return false;
  const candidate = (stat) => stat !== null && stat.isFile() && stat.size === file.size;
  if (!candidate(await lstatOrNull(fs, target))) return false;
  let handle;
  try {
    try {
      handle = await fs.open(target, flags.read);
    } catch (e) {
      // Swapped for a link (or removed) since the lstat: not restored.
      if (!candidate(await lstatOrNull(fs, target))) return false;
      throw e;
    }
    if (!candidate(await handle.stat())) return false;
    const buffer = new Uint8Array(1 << 20);
    const bytes = new ReadableStream({
      pull: async (controller) => {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length);
        if (bytesRead === 0) controller.close();
        else controller.enqueue(buffer.slice(0, bytesRead));
      },
    });
    return await isRestored(file, bytes);
  } catch (e) {
    throw e?.kind ? e : ioError(target, e);
  } finally {
    await handle?.close();
  }
}

/** Creates `partial` exclusively, unlinking a name left there (file or link) once first. */
async function createExclusive(fs, flags, partial) {
  try {
    return await fs.open(partial, flags.create, 0o666);
  } catch (e) {
    if (e?.code !== "EEXIST") throw e;
  }
  await fs.unlink(partial);
  return await fs.open(partial, flags.create, 0o666);
}

async function writeFile({ fs, path, flags }, target, file, onBytes) {
  const partial = path.join(path.dirname(target), file.temp);
  let handle;
  let written = 0;
  try {
    handle = await createExclusive(fs, flags, partial);
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

function ioError(target, e) {
  return new IoError(`${target}: ${e?.message ?? e}`, { key: target, code: e?.code ?? null, cause: e });
}
