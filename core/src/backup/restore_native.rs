//! restore into a directory (native targets): temp file, CRC32C, rename, resume.
//!
//! # Links in the target
//! Whoever can write into the target directory must not be able to redirect the restore's
//! writes to a file outside it, nor to another file inside it. The rules:
//! - the target directory itself is created if missing and opened once, following links:
//!   it is the path the caller named, and a symlink there is the caller's own choice;
//! - every name below it is opened relative to an open directory handle (cap-std), one
//!   component at a time, never following a link: a symlink where a directory is needed is
//!   an [`Error::Io`] naming that path, even when it points inside the target; anything else
//!   that is not a directory there (a file) is an [`Error::Io`] as well;
//! - a temporary file is created with `O_CREAT | O_EXCL` and no-follow, so that no existing
//!   file, symlink or hard link is ever opened for writing; a name left by an earlier run
//!   (file, symlink or hard link) is unlinked first (unlinking a name never touches what a
//!   link points to) and the create is tried once more; if it still fails, [`Error::Io`];
//! - the bytes go through the handle of that create only (ranges of a large file at their
//!   offsets with positional writes), never through the name opened again, so a name
//!   swapped in the meantime cannot redirect them;
//! - the temporary file is renamed over the final name: a symlink or hard link there is
//!   replaced, never written through;
//! - the resume check ("already restored": right size and CRC32C) looks at the final name
//!   with lstat and reads it through a no-follow, non-blocking open whose handle is checked
//!   again: a symlink, a FIFO or anything but a regular file there is not "already
//!   restored", and is replaced.
//!
//! What remains is harmless to the files outside: a name swapped between the write and the
//! rename only changes which of the attacker's own files ends up under the final name.
//!
//! Directories opened that way are kept open for the files that follow ([`DirCache`], up to
//! [`DIR_CACHE`] of them; the plan lists the files of a directory together): a directory
//! renamed or swapped for a link after it was opened still receives its files, in the
//! directory that was opened without following links, wherever it now is: the restore
//! never writes through a name it did not open itself.
//!
//! # Small files
//! A file of at most [`SMALL_FILE`] bytes is downloaded into memory (verified as it comes),
//! then written and renamed in one blocking step: two hops to a blocking thread per file
//! (prepare; write and rename) instead of one per write, flush and rename.

// The blocking helpers return the crate's `Error` like every async function of the core,
// which clippy finds large everywhere (a crate-wide matter, not this module's).
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::io::Read as _;
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use cap_fs_ext::{DirExt as _, FollowSymlinks, OpenOptionsFollowExt as _};
use cap_std::fs::{Dir, OpenOptions};
use futures::stream::{self, StreamExt as _, TryStreamExt as _};
use tokio::io::AsyncWriteExt as _;

use super::{plan_restore, temp_name, RestoreItem, RestoreOptions};
use crate::backup::manifest::FileEntry;
use crate::backup::progress::Tracker;
use crate::backup::{BackupId, BackupStore, RestoreReport};
use crate::error::{Error, ErrorDetails, Result};
use crate::s3::checksum::Crc32c;

/// Buffer between the network and the file, per file in flight.
const WRITE_BUFFER: usize = 1 << 20;
/// Files up to this size are downloaded whole into memory, then written in one step.
pub(crate) const SMALL_FILE: u64 = WRITE_BUFFER as u64;
/// Directories kept open by one restore ([`DirCache`]).
pub(crate) const DIR_CACHE: usize = 64;

enum Outcome {
    Restored(u64),
    Skipped,
}

/// A temporary file, created exclusively in its directory, removed when dropped unless it
/// was renamed into place: a failed, cancelled or dropped download never leaves it behind.
pub(crate) struct PartialFile {
    /// The directory of the file, opened below the target without following links.
    dir: Arc<Dir>,
    temp: OsString,
    name: OsString,
    /// The final path, for messages.
    path: PathBuf,
    renamed: bool,
}

impl PartialFile {
    /// The temporary file's path, for messages.
    pub(crate) fn temp_path(&self) -> PathBuf {
        self.path.with_file_name(&self.temp)
    }

    /// Renames the temporary file over the final name (a link there is replaced, not
    /// followed). Blocking.
    pub(crate) fn rename_into_place(mut self) -> Result<()> {
        self.dir
            .rename(&self.temp, &self.dir, &self.name)
            .map_err(|e| Error::io(&self.path, e))?;
        self.renamed = true;
        Ok(())
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.renamed {
            // On Unix an in-flight write through the dropped handle goes to the unlinked
            // inode, so the name cannot come back.
            let _ = self.dir.remove_file_or_symlink(&self.temp);
        }
    }
}

impl BackupStore {
    /// Restores into `target` as the faces take it: a bucket and prefix when it is an
    /// `s3://BUCKET/PREFIX?...` URL ([`restore_to_bucket`](Self::restore_to_bucket), §13),
    /// else a local directory ([`restore`](Self::restore)).
    ///
    /// # Errors
    /// Those of the restore chosen; [`Error::InvalidInput`] for a malformed URL.
    pub async fn restore_to(&self, id: BackupId, target: &Path, options: RestoreOptions) -> Result<RestoreReport> {
        match target.to_str().filter(|t| crate::backup::is_s3_url(t)) {
            Some(url) => {
                self.restore_to_bucket(id, &crate::backup::BucketUrl::parse(url)?, options)
                    .await
            }
            None => self.restore(id, target, options).await,
        }
    }

    /// Restores backup `id` into the directory `target` (created if missing) and returns
    /// what was done (§4 restore).
    ///
    /// Set `files` (or `options.root_set`) goes into `target` itself and every other set
    /// `NAME` into `target/NAME/`. Files are restored concurrently (`concurrency` at a
    /// time), each streamed to `.{name}.s3keep-partial` beside its final path, its size
    /// and CRC32C checked against `metadata.json` as it is written (for Zeebe-written
    /// backups, which record neither, its size against the object's), then renamed into
    /// place. A file already present with the right size and CRC32C is skipped, so
    /// running a restore again after a crash finishes it. Memory: 1 MiB of buffer per
    /// file in flight.
    ///
    /// Nothing is written before the status, the requested sets and every name in
    /// `metadata.json` have been checked: a tampered `../x` cannot escape `target`.
    ///
    /// Restore never follows a link below `target` (`target` itself may be one: it is the
    /// caller's own path): a symlink where a directory is needed is an error naming it,
    /// temporary files are created exclusively (a leftover one, even a link, is unlinked
    /// first), and a link at a final name is replaced by the restored file, never written
    /// through. Anyone who can write into `target` therefore cannot redirect the restore's
    /// writes outside it (module docs of `restore_native.rs` give every rule).
    ///
    /// # Errors
    /// - [`Error::NotFound`] / [`Error::BackupNotCompleted`] as in
    ///   [`restore_plan`](Self::restore_plan);
    /// - [`Error::InvalidInput`] for an unknown set in `options.sets` or a bad name;
    /// - [`Error::Integrity`] naming the key when a file's bytes do not match (its
    ///   temporary file is removed; nothing appears under its final name);
    /// - [`Error::Io`] for local files, naming the path: also for a symlink or a file
    ///   where the backup needs a directory below `target`;
    /// - [`Error::Cancelled`] when `options.cancel` fires;
    /// - transfer errors of GetObject.
    ///
    /// On any error the restore stops; files already renamed into place stay, and are
    /// skipped by the next run.
    pub async fn restore(&self, id: BackupId, target: &Path, options: RestoreOptions) -> Result<RestoreReport> {
        let metadata = self.restore_plan(id).await?;
        let items = plan_restore(&metadata, options.sets.as_deref(), options.root_set.as_deref())?;
        if options.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
            return Err(cancelled(&id));
        }
        let root = {
            let target = target.to_path_buf();
            blocking(move || {
                // The caller's own path: created and opened following links (module docs).
                std::fs::create_dir_all(&target).map_err(|e| Error::io(&target, e))?;
                Dir::open_ambient_dir(&target, cap_std::ambient_authority()).map_err(|e| Error::io(&target, e))
            })
            .await?
        };
        let bytes_total = items.iter().filter_map(|i| i.entry.size).sum();
        let ctx = Ctx {
            tracker: Tracker::new(bytes_total, items.len() as u64, options.progress.clone()),
            permits: tokio::sync::Semaphore::new(self.config.concurrency),
            dirs: Arc::new(DirCache::new(root)),
            preparing: Arc::new(()),
        };
        let work = async {
            if metadata.is_format2() {
                // Format 2 restores by packs, many files per ranged GET (format2/restore_dir.rs).
                let session = self.format2_session(id, false).await?;
                return self
                    .format2_restore_dir(session, items, ctx.dirs.clone(), target, &ctx.tracker, &ctx.preparing)
                    .await;
            }
            stream::iter(items)
                .map(|item| self.restore_item(id, target, item, &ctx))
                .buffer_unordered(self.config.concurrency)
                .try_fold(RestoreReport::empty(id), |mut summary, outcome| async move {
                    match outcome {
                        Outcome::Restored(bytes) => {
                            summary.files_restored += 1;
                            summary.bytes_restored += bytes;
                        }
                        Outcome::Skipped => summary.files_skipped += 1,
                    }
                    Ok(summary)
                })
                .await
        };
        let result = match &options.cancel {
            Some(cancel) => {
                let stop = Box::pin(async {
                    cancel.cancelled().await;
                    Err(cancelled(&id))
                });
                // Dropping the losing `work` (here, at the end of this statement) drops
                // every download in flight, and with them their temporary files.
                futures::future::select(Box::pin(work), stop).await.factor_first().0
            }
            None => work.await,
        };
        // A token that fired while the last file was being renamed still means "cancelled":
        // the outcome follows the caller's request, not which task won the race (the files
        // already renamed into place stay, and the next run skips them).
        let result = match result {
            Ok(_) if options.cancel.as_ref().is_some_and(|c| c.is_cancelled()) => Err(cancelled(&id)),
            other => other,
        };
        if result.is_err() {
            // A temporary file being created or renamed on a blocking thread when the
            // restore stopped is removed or renamed there (its guard drops after it); wait
            // for those, so that a caller exiting right after the error (the CLI) leaves
            // none behind.
            while Arc::strong_count(&ctx.preparing) > 1 {
                crate::runtime::sleep(std::time::Duration::from_millis(2)).await;
            }
        }
        result
    }

    async fn restore_item(&self, id: BackupId, target: &Path, item: RestoreItem, ctx: &Ctx) -> Result<Outcome> {
        let ranged = ranged_size(&item.entry, self.config.part_size);
        let prepared = {
            let (dirs, path) = (ctx.dirs.clone(), target.join(&item.relative));
            let (relative, entry) = (item.relative.clone(), item.entry.clone());
            // The guard comes after the file in the tuple, so it drops after it: if this
            // future is gone when the task ends, the file is removed before the guard is.
            let guard = Arc::clone(&ctx.preparing);
            blocking(move || prepare(&dirs, &relative, path, &entry, ranged).map(|p| (p, guard))).await?
        };
        let (prepared, guard) = prepared;
        let Some((partial, file)) = prepared else {
            ctx.tracker.add_bytes(item.entry.size.unwrap_or(0));
            ctx.tracker.file_done();
            return Ok(Outcome::Skipped);
        };
        let shown = partial.temp_path();
        if let Some(size) = item.entry.size.filter(|size| *size <= SMALL_FILE) {
            let body = self.download_small(id, &item, size).await?;
            let written = body.len() as u64;
            blocking(move || {
                // Bound in this order so that on an early return the temporary file is
                // removed (its `partial` dropped) before the guard is released.
                let _guard = guard;
                let partial = partial;
                let mut file = file;
                file.write_all(&body).map_err(|e| Error::io(&shown, e))?;
                drop(file);
                partial.rename_into_place()
            })
            .await?;
            ctx.tracker.add_bytes(written);
            ctx.tracker.file_done();
            return Ok(Outcome::Restored(written));
        }
        let written = match ranged {
            Some(size) => {
                self.download_ranges(id, &item, Arc::new(file), &shown, size, ctx)
                    .await?
            }
            None => self.download_stream(id, &item, file, &shown, ctx).await?,
        };
        blocking(move || {
            let _guard = guard;
            partial.rename_into_place()
        })
        .await?;
        ctx.tracker.file_done();
        Ok(Outcome::Restored(written))
    }

    /// One GetObject of a file of `size` bytes (at most [`SMALL_FILE`]) into memory,
    /// verified as it passes (`open_file`: a longer body fails at the first extra byte).
    async fn download_small(&self, id: BackupId, item: &RestoreItem, size: u64) -> Result<Vec<u8>> {
        let mut body = self.open_file(id, &item.set, &item.entry).await?.body;
        let mut out = Vec::with_capacity(size as usize);
        while let Some(chunk) = body.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    /// One GetObject streamed into `file` (the temporary file `partial`), verified as it
    /// passes (`open_file`).
    async fn download_stream(
        &self,
        id: BackupId,
        item: &RestoreItem,
        file: std::fs::File,
        partial: &Path,
        ctx: &Ctx,
    ) -> Result<u64> {
        let file = tokio::fs::File::from_std(file);
        let mut writer = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file);
        let mut body = self.open_file(id, &item.set, &item.entry).await?.body;
        let mut written = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            writer.write_all(&chunk).await.map_err(|e| Error::io(partial, e))?;
            written += chunk.len() as u64;
            ctx.tracker.add_bytes(chunk.len() as u64);
        }
        // No fsync: after a crash a truncated file under its final name fails the size
        // or CRC32C check of the next run and is downloaded again.
        writer.flush().await.map_err(|e| Error::io(partial, e))?;
        Ok(written)
    }

    /// A large file as concurrent ranged GetObjects of one part size each, written at their
    /// offsets of `file` (already `size` bytes long): one TCP stream is limited by its own
    /// window and round trips (boto3's download_file does the same). The parts' CRC32Cs are
    /// combined in order and compared with the whole file's, as save combines them.
    async fn download_ranges(
        &self,
        id: BackupId,
        item: &RestoreItem,
        file: Arc<std::fs::File>,
        partial: &Path,
        size: u64,
        ctx: &Ctx,
    ) -> Result<u64> {
        let key = self.layout.file_key(&id, &item.set, &item.entry.name);
        let part = self.config.part_size;
        let ranges: Vec<(u64, u64)> = (0..size.div_ceil(part))
            .map(|i| (i * part, ((i + 1) * part).min(size)))
            .collect();
        let crcs: Vec<(u32, u64)> = stream::iter(ranges)
            .map(|(start, end)| self.download_range(&key, &file, partial, start, end, ctx))
            .buffered(self.config.concurrency)
            .try_collect()
            .await?;
        let crc = crcs.iter().fold(0u32, |crc, (part_crc, len)| {
            crc32c::crc32c_combine(crc, *part_crc, *len as usize)
        });
        let actual = Crc32c::from_value(crc).to_base64();
        let expected = item.entry.crc32c.as_deref().unwrap_or_default();
        if actual != expected {
            return Err(Error::integrity(
                &key,
                format!("{key}: CRC32C of the downloaded bytes is {actual}, metadata.json says {expected}"),
            ));
        }
        Ok(size)
    }

    /// Bytes `start..end` of `key` into `file` (the temporary file `partial`) at `start`;
    /// returns their CRC32C and length.
    async fn download_range(
        &self,
        key: &str,
        file: &Arc<std::fs::File>,
        partial: &Path,
        start: u64,
        end: u64,
        ctx: &Ctx,
    ) -> Result<(u32, u64)> {
        let _permit = ctx.permits.acquire().await.expect("the semaphore is never closed");
        // `send` retries until the answer's head arrives; a connection lost in the body
        // restarts the range here, with the same backoff (§6).
        let stopwatch = crate::runtime::Stopwatch::start();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let err = match self.download_range_once(key, file, partial, start, end).await {
                Ok(done) => {
                    ctx.tracker.add_bytes(done.1);
                    return Ok(done);
                }
                Err(err) => err,
            };
            match self.client.retry_delay(&err, attempt, stopwatch.elapsed()) {
                Some(delay) => {
                    tracing::debug!(%key, start, attempt, error = %err, "restarting a ranged GetObject");
                    crate::runtime::sleep(delay).await;
                }
                None => return Err(err),
            }
        }
    }

    /// One try of a range; progress is reported by the caller once the range is complete.
    async fn download_range_once(
        &self,
        key: &str,
        file: &Arc<std::fs::File>,
        partial: &Path,
        start: u64,
        end: u64,
    ) -> Result<(u32, u64)> {
        let mut body = self.client.get_object(key, Some((start, end - 1))).await?.body;
        let mut at = RangeWriter::new(file.clone(), start);
        let mut crc = Crc32c::new();
        let mut received = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            received += chunk.len() as u64;
            if received > end - start {
                break;
            }
            crc.update(&chunk);
            at.write(&chunk).await.map_err(|e| Error::io(partial, e))?;
        }
        if received != end - start {
            return Err(Error::integrity(
                key,
                format!("{key}: bytes {start}..{end} came back as {received} bytes; the object is not the size metadata.json says"),
            ));
        }
        at.flush().await.map_err(|e| Error::io(partial, e))?;
        Ok((crc.value(), received))
    }
}

/// What the files of one restore share: progress, the cap on GetObjects in flight
/// (`concurrency`, whole files and ranges together), and the open target directory.
struct Ctx {
    tracker: Tracker,
    permits: tokio::sync::Semaphore,
    dirs: Arc<DirCache>,
    /// One clone per temporary file being created or renamed on a blocking thread (see
    /// `restore`).
    preparing: Arc<()>,
}

/// The size of a file to download by ranges: larger than one part, with a size and CRC32C
/// recorded (s3keep-written, so its key is the layout's, never Zeebe's `snapshots/`).
fn ranged_size(entry: &FileEntry, part_size: u64) -> Option<u64> {
    entry.size.filter(|size| *size > part_size && entry.crc32c.is_some())
}

/// Runs blocking file-system calls off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(Error::Io(ErrorDetails::message(format!(
            "a file-system task of the restore did not finish: {e}"
        )))),
    }
}

/// Blocking. Opens the directory of `relative` below `root` (creating what is missing,
/// following no link), then either finds the file already restored (`None`) or creates its
/// temporary file, `preallocate` bytes long when given.
pub(crate) fn prepare(
    dirs: &DirCache,
    relative: &Path,
    path: PathBuf,
    entry: &FileEntry,
    preallocate: Option<u64>,
) -> Result<Option<(PartialFile, std::fs::File)>> {
    let name = relative.file_name().expect("validated names end in a file name");
    let dir = dirs.parent(relative, &path)?;
    if already_restored(&dir, name, &path, entry)? {
        return Ok(None);
    }
    let temp = temp_name(name);
    let file = create_exclusive(&dir, &temp, &path)?;
    let partial = PartialFile {
        dir,
        temp,
        name: name.to_os_string(),
        path,
        renamed: false,
    };
    let file = file.into_std();
    if let Some(size) = preallocate {
        file.set_len(size).map_err(|e| Error::io(partial.temp_path(), e))?;
    }
    Ok(Some((partial, file)))
}

/// The directories of one restore below its target, opened without following links and
/// kept open (at most [`DIR_CACHE`]; all are dropped when it is full) for the files that
/// follow: without it every file re-opened each of its parent directories from the target
/// down, one component at a time.
pub(crate) struct DirCache {
    root: Arc<Dir>,
    open: Mutex<HashMap<PathBuf, Arc<Dir>>>,
}

impl DirCache {
    /// A cache below the open target directory `root`.
    pub(crate) fn new(root: Dir) -> Self {
        Self {
            root: Arc::new(root),
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Blocking. The directory that will hold `relative` (`path` is the same below the
    /// target, for messages), opened one component at a time below the target without
    /// following links, from its nearest ancestor already open; missing directories are
    /// created.
    pub(crate) fn parent(&self, relative: &Path, path: &Path) -> Result<Arc<Dir>> {
        let parent = relative.parent().unwrap_or(Path::new(""));
        if parent.as_os_str().is_empty() {
            return Ok(self.root.clone());
        }
        let (mut dir, skip) = {
            let open = self.open.lock().expect("not poisoned");
            parent
                .ancestors()
                .take_while(|a| !a.as_os_str().is_empty())
                .find_map(|a| open.get(a).map(|d| (d.clone(), a.components().count())))
                .unwrap_or_else(|| (self.root.clone(), 0))
        };
        let depth = parent.components().count();
        let mut opened = Vec::new();
        let mut below = PathBuf::new();
        for (i, component) in parent.components().enumerate() {
            let Component::Normal(name) = component else {
                unreachable!("validated names have only normal components");
            };
            below.push(name);
            if i < skip {
                continue;
            }
            // `path` minus the components below this one, for messages.
            let shown = path.ancestors().nth(depth - i).expect("path ends in relative");
            dir = Arc::new(open_or_create_dir(&dir, name, shown)?);
            opened.push((below.clone(), dir.clone()));
        }
        let mut open = self.open.lock().expect("not poisoned");
        if open.len() + opened.len() > DIR_CACHE {
            open.clear();
        }
        open.extend(opened);
        Ok(dir)
    }
}

/// Blocking. Opens (creating it if missing) the directory `name` in `parent`; a symlink
/// there is refused, even one that points inside the target.
fn open_or_create_dir(parent: &Dir, name: &OsStr, shown: &Path) -> Result<Dir> {
    match parent.open_dir_nofollow(name) {
        Ok(dir) => return Ok(dir),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(not_a_directory(parent, name, shown, e)),
    }
    match parent.create_dir(name) {
        // Exists: another file's task made it, or something was planted; the open tells.
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io(shown, e)),
    }
    parent
        .open_dir_nofollow(name)
        .map_err(|e| not_a_directory(parent, name, shown, e))
}

/// The error for a name that could not be opened as a directory without following links:
/// says so plainly when it is a symlink.
fn not_a_directory(parent: &Dir, name: &OsStr, shown: &Path, err: std::io::Error) -> Error {
    match parent.symlink_metadata(name) {
        Ok(meta) if meta.file_type().is_symlink() => Error::io(
            shown,
            std::io::Error::other(
                "is a symbolic link; restore never follows a link below the target directory (remove it, or restore into another directory)",
            ),
        ),
        _ => Error::io(shown, err),
    }
}

/// Blocking. Creates `temp` in `dir` exclusively and without following links; a name left
/// there (a file, or a symlink or hard link planted to redirect the write) is unlinked and
/// the create tried once more.
fn create_exclusive(dir: &Dir, temp: &OsStr, path: &Path) -> Result<cap_std::fs::File> {
    let shown = || path.with_file_name(temp);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true).follow(FollowSymlinks::No);
    match dir.open_with(temp, &options) {
        Ok(file) => return Ok(file),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io(shown(), e)),
    }
    // Unlinking a name never touches what a link points to.
    dir.remove_file_or_symlink(temp).map_err(|e| Error::io(shown(), e))?;
    dir.open_with(temp, &options).map_err(|e| Error::io(shown(), e))
}

/// Blocking. Whether `name` in `dir` already holds the file: a regular file (not a link) of
/// the recorded size and CRC32C. Entries without a CRC32C (Zeebe-written) are always
/// downloaded again.
fn already_restored(dir: &Dir, name: &OsStr, path: &Path, entry: &FileEntry) -> Result<bool> {
    let (Some(size), Some(expected)) = (entry.size, &entry.crc32c) else {
        return Ok(false);
    };
    let is_candidate = |meta: &cap_std::fs::Metadata| meta.is_file() && meta.len() == size;
    match dir.symlink_metadata(name) {
        Ok(meta) if is_candidate(&meta) => {}
        Ok(_) => return Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(path, e)),
    }
    let mut options = OpenOptions::new();
    options.read(true).follow(FollowSymlinks::No);
    // A FIFO swapped in after the lstat must not block the open.
    #[cfg(unix)]
    cap_std::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let mut file = match dir.open_with(name, &options) {
        Ok(file) => file,
        // Swapped for a link (or removed) since the lstat: not restored.
        Err(_) if !dir.symlink_metadata(name).is_ok_and(|m| is_candidate(&m)) => return Ok(false),
        Err(e) => return Err(Error::io(path, e)),
    };
    if !file.metadata().is_ok_and(|m| is_candidate(&m)) {
        return Ok(false);
    }
    let mut crc = Crc32c::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        crc.update(&buf[..n]);
    }
    Ok(crc.to_base64() == *expected)
}

/// Writes one range of a file at its offsets through a shared handle, with positional
/// writes: concurrent ranges need no handle of their own (the file is never opened again by
/// name) and share no file position. Buffers up to [`WRITE_BUFFER`] bytes per write.
struct RangeWriter {
    file: Arc<std::fs::File>,
    offset: u64,
    buf: Vec<u8>,
}

impl RangeWriter {
    fn new(file: Arc<std::fs::File>, offset: u64) -> Self {
        Self {
            file,
            offset,
            buf: Vec::new(),
        }
    }

    async fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        if self.buf.len() + chunk.len() > WRITE_BUFFER {
            self.flush().await?;
        }
        if self.buf.capacity() == 0 {
            self.buf.reserve_exact(WRITE_BUFFER);
        }
        self.buf.extend_from_slice(chunk);
        if self.buf.len() >= WRITE_BUFFER {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let (file, offset, buf) = (self.file.clone(), self.offset, std::mem::take(&mut self.buf));
        let mut buf = tokio::task::spawn_blocking(move || write_all_at(&file, &buf, offset).map(|()| buf))
            .await
            .map_err(std::io::Error::other)??;
        self.offset += buf.len() as u64;
        buf.clear();
        self.buf = buf;
        Ok(())
    }
}

#[cfg(unix)]
pub(crate) fn write_all_at(file: &std::fs::File, buf: &[u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
}

#[cfg(windows)]
pub(crate) fn write_all_at(file: &std::fs::File, mut buf: &[u8], mut offset: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt as _;
    while !buf.is_empty() {
        match file.seek_write(buf, offset) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                buf = &buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn cancelled(id: &BackupId) -> Error {
    Error::Cancelled(ErrorDetails::message(format!("restore of backup {id} was cancelled")).with_key(id.to_string()))
}
