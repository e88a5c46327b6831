//! restore into a directory (native targets): temp file, CRC32C, rename, resume.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use futures::stream::{self, StreamExt as _, TryStreamExt as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::{plan_restore, RestoreItem, RestoreOptions};
use crate::backup::manifest::FileEntry;
use crate::backup::progress::Tracker;
use crate::backup::{BackupId, BackupStore, RestoreReport};
use crate::error::{Error, ErrorDetails, Result};
use crate::s3::checksum::Crc32c;

/// Suffix of the temporary files a restore writes before renaming them into place.
const PARTIAL_SUFFIX: &str = ".s3keep-partial";
/// Most file systems limit one path component to 255 bytes.
const NAME_MAX: usize = 255;
/// Buffer between the network and the file, per file in flight.
const WRITE_BUFFER: usize = 1 << 20;

/// The temporary name a restore writes `final_name` under, in the same directory (so the
/// rename is atomic): `.{name}.s3keep-partial`, or a hash of the name when that would
/// exceed 255 bytes.
pub(crate) fn temp_name(final_name: &std::ffi::OsStr) -> OsString {
    let mut name = OsString::from(".");
    name.push(final_name);
    name.push(PARTIAL_SUFFIX);
    if name.len() <= NAME_MAX {
        return name;
    }
    let mut crc = Crc32c::new();
    crc.update(final_name.as_encoded_bytes());
    OsString::from(format!(".s3keep-{:08x}{PARTIAL_SUFFIX}", crc.value()))
}

enum Outcome {
    Restored(u64),
    Skipped,
}

/// A temporary file removed when dropped unless it was renamed into place: a failed,
/// cancelled or dropped download never leaves it behind.
struct PartialFile {
    path: PathBuf,
    renamed: bool,
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.renamed {
            // On Unix an in-flight write of a dropped tokio File goes to the unlinked
            // inode, so the name cannot come back.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl BackupStore {
    /// Restores backup `id` into the directory `target` (created if missing) and returns
    /// what was done (SPEC §4 restore).
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
    /// # Errors
    /// - [`Error::NotFound`] / [`Error::BackupNotCompleted`] as in
    ///   [`restore_plan`](Self::restore_plan);
    /// - [`Error::InvalidInput`] for an unknown set in `options.sets` or a bad name;
    /// - [`Error::Integrity`] naming the key when a file's bytes do not match (its
    ///   temporary file is removed; nothing appears under its final name);
    /// - [`Error::Io`] for local files; [`Error::Cancelled`] when `options.cancel` fires;
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
        tokio::fs::create_dir_all(target)
            .await
            .map_err(|e| Error::io(target, e))?;
        let bytes_total = items.iter().filter_map(|i| i.entry.size).sum();
        let ctx = Ctx {
            tracker: Tracker::new(bytes_total, items.len() as u64, options.progress.clone()),
            permits: tokio::sync::Semaphore::new(self.config.concurrency),
        };
        let work = stream::iter(items)
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
            });
        match &options.cancel {
            Some(cancel) => {
                let stop = async {
                    cancel.cancelled().await;
                    Err(cancelled(&id))
                };
                futures::pin_mut!(work, stop);
                // Dropping the losing `work` drops every download in flight, and with
                // them their temporary files.
                futures::future::select(work, stop).await.factor_first().0
            }
            None => work.await,
        }
    }

    async fn restore_item(&self, id: BackupId, target: &Path, item: RestoreItem, ctx: &Ctx) -> Result<Outcome> {
        let path = target.join(&item.relative);
        if already_restored(&path, &item.entry).await? {
            ctx.tracker.add_bytes(item.entry.size.unwrap_or(0));
            ctx.tracker.file_done();
            return Ok(Outcome::Skipped);
        }
        let dir = path.parent().unwrap_or(target);
        tokio::fs::create_dir_all(dir).await.map_err(|e| Error::io(dir, e))?;
        let file_name = path.file_name().expect("validated names end in a file name");
        let mut partial = PartialFile {
            path: dir.join(temp_name(file_name)),
            renamed: false,
        };
        let written = match ranged_size(&item.entry, self.config.part_size) {
            Some(size) => self.download_ranges(id, &item, &partial.path, size, ctx).await?,
            None => self.download_stream(id, &item, &partial.path, ctx).await?,
        };
        tokio::fs::rename(&partial.path, &path)
            .await
            .map_err(|e| Error::io(&path, e))?;
        partial.renamed = true;
        ctx.tracker.file_done();
        Ok(Outcome::Restored(written))
    }

    /// One GetObject streamed into `partial`, verified as it passes (`open_file`).
    async fn download_stream(&self, id: BackupId, item: &RestoreItem, partial: &Path, ctx: &Ctx) -> Result<u64> {
        let file = tokio::fs::File::create(partial)
            .await
            .map_err(|e| Error::io(partial, e))?;
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
    /// offsets: one TCP stream is limited by its own window and round trips (boto3's
    /// download_file does the same). The parts' CRC32Cs are combined in order and compared
    /// with the whole file's, as save combines them.
    async fn download_ranges(
        &self,
        id: BackupId,
        item: &RestoreItem,
        partial: &Path,
        size: u64,
        ctx: &Ctx,
    ) -> Result<u64> {
        let key = self.layout.file_key(&id, &item.set, &item.entry.name);
        let file = tokio::fs::File::create(partial)
            .await
            .map_err(|e| Error::io(partial, e))?;
        file.set_len(size).await.map_err(|e| Error::io(partial, e))?;
        drop(file);
        let part = self.config.part_size;
        let ranges: Vec<(u64, u64)> = (0..size.div_ceil(part))
            .map(|i| (i * part, ((i + 1) * part).min(size)))
            .collect();
        let crcs: Vec<(u32, u64)> = stream::iter(ranges)
            .map(|(start, end)| self.download_range(&key, partial, start, end, ctx))
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

    /// Bytes `start..end` of `key` into `partial` at `start`; returns their CRC32C and length.
    async fn download_range(&self, key: &str, partial: &Path, start: u64, end: u64, ctx: &Ctx) -> Result<(u32, u64)> {
        let _permit = ctx.permits.acquire().await.expect("the semaphore is never closed");
        // `send` retries until the answer's head arrives; a connection lost in the body
        // restarts the range here, with the same backoff (SPEC §6).
        let stopwatch = crate::runtime::Stopwatch::start();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let err = match self.download_range_once(key, partial, start, end).await {
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
    async fn download_range_once(&self, key: &str, partial: &Path, start: u64, end: u64) -> Result<(u32, u64)> {
        use tokio::io::AsyncSeekExt as _;
        let mut body = self.client.get_object(key, Some((start, end - 1))).await?.body;
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .open(partial)
            .await
            .map_err(|e| Error::io(partial, e))?;
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(|e| Error::io(partial, e))?;
        let mut writer = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file);
        let mut crc = Crc32c::new();
        let mut received = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            received += chunk.len() as u64;
            if received > end - start {
                break;
            }
            crc.update(&chunk);
            writer.write_all(&chunk).await.map_err(|e| Error::io(partial, e))?;
        }
        if received != end - start {
            return Err(Error::integrity(
                key,
                format!("{key}: bytes {start}..{end} came back as {received} bytes; the object is not the size metadata.json says"),
            ));
        }
        writer.flush().await.map_err(|e| Error::io(partial, e))?;
        Ok((crc.value(), received))
    }
}

/// What the files of one restore share: progress, and the cap on GetObjects in flight
/// (`concurrency`, whole files and ranges together).
struct Ctx {
    tracker: Tracker,
    permits: tokio::sync::Semaphore,
}

/// The size of a file to download by ranges: larger than one part, with a size and CRC32C
/// recorded (s3keep-written, so its key is the layout's, never Zeebe's `snapshots/`).
fn ranged_size(entry: &FileEntry, part_size: u64) -> Option<u64> {
    entry.size.filter(|size| *size > part_size && entry.crc32c.is_some())
}

/// Whether `path` already holds the file: a regular file of the recorded size and
/// CRC32C. Entries without a CRC32C (Zeebe-written) are always downloaded again.
async fn already_restored(path: &Path, entry: &FileEntry) -> Result<bool> {
    let (Some(size), Some(expected)) = (entry.size, &entry.crc32c) else {
        return Ok(false);
    };
    let meta = match tokio::fs::symlink_metadata(path).await {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(path, e)),
    };
    if !meta.is_file() || meta.len() != size {
        return Ok(false);
    }
    let mut file = tokio::fs::File::open(path).await.map_err(|e| Error::io(path, e))?;
    let mut crc = Crc32c::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).await.map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        crc.update(&buf[..n]);
    }
    Ok(crc.to_base64() == *expected)
}

fn cancelled(id: &BackupId) -> Error {
    Error::Cancelled(ErrorDetails::message(format!("restore of backup {id} was cancelled")).with_key(id.to_string()))
}
