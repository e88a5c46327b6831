//! Directory restore of a format 2 backup (native targets), by packs rather than by files.
//!
//! Files are taken in windows (at most [`WINDOW_FILES`] files or [`WINDOW_BYTES`] bytes).
//! For a window, every file's temporary file is prepared (or the file is found already
//! restored and skipped: resume), then the chunks the window needs are grouped by pack,
//! neighbours coalesced into ranged GETs of at most 8 MiB, fetched `concurrency` at a time;
//! each blob is decompressed and checked against its id, then written at its offsets into
//! every file that holds it (a chunk shared by two files is fetched once). When the
//! window's ranges are done, each file's CRC32C (combined from its chunks') and size are
//! checked and the file is renamed into place. Thousands of small files thus cost a few
//! ranged GETs, not one GET each.
//!
//! Temporary files, names, links and resume follow `backup/restore_native.rs` exactly
//! (its `prepare` and `PartialFile`): nothing is written outside the target, nothing under
//! a final name before it is verified.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use futures::stream::{self, StreamExt as _, TryStreamExt as _};

use super::id::{ChunkId, PackId};
use super::restore::{decode_range, fetch_range, name_file, RangePlan, RestoreSession};
use super::task::blocking;
use crate::backup::progress::Tracker;
use crate::backup::restore::native::{prepare, write_all_at, DirCache, PartialFile};
use crate::backup::restore::RestoreItem;
use crate::backup::{BackupStore, RestoreReport};
use crate::error::{Error, Result};
use crate::s3::checksum::Crc32c;

/// Files per window (each holds an open temporary file while its window runs).
const WINDOW_FILES: usize = 256;
/// Bytes of files per window.
const WINDOW_BYTES: u64 = 64 * 1024 * 1024;
/// Windows in flight: one preparing or finishing while the other downloads.
const WINDOWS_AT_ONCE: usize = 2;

/// One file of a window being written.
struct Open {
    label: String,
    partial: PartialFile,
    file: Arc<std::fs::File>,
    size: u64,
    crc32c: String,
    /// Each chunk's CRC32C and length once written, in file order.
    written: Mutex<Vec<Option<(u32, u64)>>>,
}

/// Where a chunk goes: (file of the window, chunk index in the file, offset in the file).
type Uses = Vec<(usize, usize, u64)>;

impl BackupStore {
    /// Restores `items` of the backup of `session` below `root` (see the module docs).
    pub(crate) async fn format2_restore_dir(
        &self,
        session: Arc<RestoreSession>,
        items: Vec<RestoreItem>,
        root: Arc<DirCache>,
        target: &Path,
        tracker: &Tracker,
        in_flight: &Arc<()>,
    ) -> Result<RestoreReport> {
        let mut windows: Vec<Vec<RestoreItem>> = Vec::new();
        let mut bytes = 0u64;
        for item in items {
            let size = item.entry.size.unwrap_or(0);
            match windows.last_mut() {
                Some(w) if w.len() < WINDOW_FILES && bytes + size <= WINDOW_BYTES => {
                    bytes += size;
                    w.push(item);
                }
                _ => {
                    bytes = size;
                    windows.push(vec![item]);
                }
            }
        }
        let permits = Arc::new(tokio::sync::Semaphore::new(self.config.concurrency));
        let id = session.id;
        stream::iter(windows)
            .map(|window| self.restore_window(&session, window, &root, target, tracker, &permits, in_flight))
            .buffered(WINDOWS_AT_ONCE)
            .try_fold(RestoreReport::empty(id), |mut sum, part| async move {
                sum.files_restored += part.files_restored;
                sum.files_skipped += part.files_skipped;
                sum.bytes_restored += part.bytes_restored;
                Ok(sum)
            })
            .await
    }

    async fn restore_window(
        &self,
        session: &Arc<RestoreSession>,
        window: Vec<RestoreItem>,
        root: &Arc<DirCache>,
        target: &Path,
        tracker: &Tracker,
        permits: &Arc<tokio::sync::Semaphore>,
        in_flight: &Arc<()>,
    ) -> Result<RestoreReport> {
        // Prepare: temporary files, or skip what is already there. The guard (one clone of
        // `in_flight` per blocking task that creates or renames files) drops after the files:
        // a restore that stops waits for it, so none is left behind (restore_native.rs).
        let ((opened, skipped), guard) = {
            let (session, root, target) = (session.clone(), root.clone(), target.to_path_buf());
            let guard = Arc::clone(in_flight);
            blocking(move || open_window(&session, window, &root, &target).map(|w| (w, guard))).await?
        };
        let mut summary = RestoreReport {
            files_skipped: skipped.len() as u64,
            ..RestoreReport::empty(session.id)
        };
        for size in skipped {
            tracker.add_bytes(size);
            tracker.file_done();
        }
        let (files, chunk_lists): (Vec<Open>, Vec<Vec<ChunkId>>) = opened.into_iter().unzip();
        let files = Arc::new(files);

        // Which chunk goes where, then the ranged GETs by pack.
        let mut uses: HashMap<ChunkId, Uses> = HashMap::new();
        let mut blobs: Vec<(PackId, ChunkId, super::pack::BlobLocation)> = Vec::new();
        for (f, chunks) in chunk_lists.iter().enumerate() {
            let mut offset = 0u64;
            for (i, id) in chunks.iter().enumerate() {
                let located = session
                    .index
                    .get(id)
                    .ok_or_else(|| missing_chunk(&files[f].label, id))?;
                let entry = uses.entry(*id).or_default();
                if entry.is_empty() {
                    blobs.push((located.pack, *id, located.location));
                }
                entry.push((f, i, offset));
                offset += u64::from(located.location.raw_length);
            }
        }
        blobs.sort_by_key(|(pack, _, location)| (*pack, location.offset));
        let mut ranges: Vec<RangePlan> = Vec::new();
        for (pack, id, location) in blobs {
            if !ranges.last_mut().is_some_and(|r| r.try_extend(pack, id, location)) {
                ranges.push(RangePlan {
                    pack,
                    start: location.offset,
                    end: location.range().end,
                    blobs: vec![(id, location)],
                });
            }
        }
        let uses = Arc::new(uses);
        let written: Vec<u64> = stream::iter(ranges)
            .map(|range| {
                let (files, uses, session) = (files.clone(), uses.clone(), session.clone());
                let guard = Arc::clone(in_flight);
                let key = self.f2().layout.pack_key(&range.pack);
                // Errors name the first file that needs the range.
                let label = files[uses[&range.blobs[0].0][0].0].label.clone();
                async move {
                    let bytes = {
                        let _permit = permits.acquire().await.expect("the semaphore is never closed");
                        fetch_range(&self.client, &key, &range, &session).await
                    };
                    let bytes = bytes.map_err(|e| name_file(&label, e))?;
                    let done = blocking(move || {
                        // The guard outlives this task's hold on the window's files (declared
                        // first, dropped last): a stopped restore waits for it (see above).
                        let _guard = guard;
                        let files = files;
                        write_range(&key, &range, &bytes, &session, &files, &uses)
                    })
                    .await;
                    let done = done.map_err(|e| name_file(&label, e))?;
                    tracker.add_bytes(done);
                    Ok::<_, Error>(done)
                }
            })
            .buffer_unordered(self.config.concurrency)
            .try_collect()
            .await?;
        summary.bytes_restored = written.iter().sum();

        // Check every file whole, then rename it into place.
        let files = Arc::try_unwrap(files).map_err(|_| Error::invalid_input("a window's files are still in use"))?;
        let count = files.len() as u64;
        blocking(move || {
            let _guard = guard;
            files.into_iter().try_for_each(finish_file)
        })
        .await?;
        for _ in 0..count {
            tracker.file_done();
        }
        summary.files_restored = count;
        Ok(summary)
    }
}

/// Blocking. Opens the window's temporary files; returns them with their chunk lists, and
/// the sizes of the files found already restored.
#[allow(clippy::type_complexity)]
fn open_window(
    session: &RestoreSession,
    window: Vec<RestoreItem>,
    root: &DirCache,
    target: &Path,
) -> Result<(Vec<(Open, Vec<ChunkId>)>, Vec<u64>)> {
    let mut opened = Vec::new();
    let mut skipped = Vec::new();
    for item in window {
        let label = format!("{}/{}", item.set, item.entry.name);
        let file = session
            .manifest
            .lookup(&item.set, &item.entry.name)
            .ok_or_else(|| Error::integrity(&label, format!("{label} is in the plan but not in the manifest")))?;
        let path = target.join(&item.relative);
        match prepare(root, &item.relative, path, &item.entry, Some(file.size))? {
            None => skipped.push(file.size),
            Some((partial, handle)) => opened.push((
                Open {
                    label,
                    partial,
                    file: Arc::new(handle),
                    size: file.size,
                    crc32c: file.crc32c.clone(),
                    written: Mutex::new(vec![None; file.chunks.len()]),
                },
                file.chunks.clone(),
            )),
        }
    }
    Ok((opened, skipped))
}

/// Blocking. Decodes a fetched range and writes each chunk wherever the window needs it;
/// returns the bytes written.
fn write_range(
    key: &str,
    range: &RangePlan,
    bytes: &[u8],
    session: &RestoreSession,
    files: &[Open],
    uses: &HashMap<ChunkId, Uses>,
) -> Result<u64> {
    let plain = decode_range(key, range, bytes, &session.scheme)?;
    let mut total = 0u64;
    for ((id, _), chunk) in range.blobs.iter().zip(plain) {
        let mut crc = Crc32c::new();
        crc.update(&chunk);
        for (f, index, offset) in &uses[id] {
            let open = &files[*f];
            write_all_at(&open.file, &chunk, *offset).map_err(|e| Error::io(open.partial.temp_path(), e))?;
            open.written.lock().expect("not poisoned")[*index] = Some((crc.value(), chunk.len() as u64));
            total += chunk.len() as u64;
        }
    }
    Ok(total)
}

/// Blocking. Checks a file's size and CRC32C from its chunks', then renames it into place.
fn finish_file(open: Open) -> Result<()> {
    let written = open.written.into_inner().expect("not poisoned");
    let mut crc = 0u32;
    let mut size = 0u64;
    for part in &written {
        let (part_crc, len) =
            part.ok_or_else(|| Error::integrity(&open.label, format!("{}: a chunk was never written", open.label)))?;
        crc = crc32c::crc32c_combine(crc, part_crc, len as usize);
        size += len;
    }
    let actual = Crc32c::from_value(crc).to_base64();
    if size != open.size || actual != open.crc32c {
        return Err(Error::integrity(
            &open.label,
            format!(
                "{}: its chunks give {size} bytes with CRC32C {actual}, the manifest says {} bytes with {}",
                open.label, open.size, open.crc32c
            ),
        ));
    }
    drop(open.file);
    open.partial.rename_into_place()
}

fn missing_chunk(label: &str, id: &ChunkId) -> Error {
    Error::integrity(
        label,
        format!("{label}: its chunk {id} is in no index object: the store is damaged"),
    )
}
