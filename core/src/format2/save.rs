//! save, format 2 (§11; docs/FORMAT.md, "Save"). `backup/save.rs` has checked every
//! name, read the store descriptor and written `status.json` = IN_PROGRESS; then:
//!
//! 1. take a shared lock (refreshed while the save runs);
//! 2. load the index and the previous COMPLETED backup's manifest of the same
//!    (partition, node);
//! 3. files whose size, mtime, ctime and inode match that manifest (and are not racy), and
//!    whose chunks are all indexed, are reused without being opened; the others are read,
//!    chunked, and only chunks the store lacks are compressed into packs, which upload as
//!    they fill, each indexed as soon as it is complete;
//! 4. the manifest, then `metadata.json` (a summary for `status`);
//! 5. the lock is checked, and every pack the manifest references is checked to exist;
//! 6. `status.json` = COMPLETED with `If-Match`; the lock is deleted.
//!
//! On error `backup/save.rs` aborts open multipart uploads, releases the lock and marks
//! the backup FAILED. Finished packs stay, indexed, for the next save to reuse.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{self, StreamExt as _};
use tokio::sync::mpsc;

use super::change::{ChangeRule, FileStat, Verdict};
use super::chunking::{Blob, ChunkedFile, Dedup, FileChunker};
use super::descriptor::StoreDescriptor;
use super::id::{ChunkId, PackId};
use super::index::Index;
use super::lock::Lock;
use super::manifest::{Manifest, ManifestFile};
use super::pack::PackConfig;
use super::packer::{Packer, WrittenPack};
use crate::backup::manifest::Metadata;
use crate::backup::source::ChunkReader;
use crate::backup::{BackupInfo, BackupStore, PlannedFile, SaveOptions, StatusCode, StatusObject, Transfer};
use crate::error::{Error, Result};
use crate::s3::{PutOptions, Retention};

/// Blobs waiting between the readers and the packer (each up to the largest chunk, 1 MiB
/// on average with the default parameters).
const BLOB_QUEUE: usize = 2;

impl BackupStore {
    /// Steps 1–6 of the module documentation; returns the COMPLETED backup's info.
    pub(crate) async fn save_format2(
        &self,
        transfer: &Transfer,
        files: Vec<PlannedFile>,
        in_progress: &StatusObject,
        options: &SaveOptions,
        descriptor: Arc<StoreDescriptor>,
    ) -> Result<BackupInfo> {
        let lock = Arc::new(self.take_shared_lock("save", &transfer.id).await?);
        *transfer.lock.lock().expect("not poisoned") = Some(lock.clone());
        let work = self.save_locked(transfer, files, in_progress, options, &descriptor, &lock);
        let refresh = lock.keep_fresh(&self.client);
        futures::pin_mut!(work, refresh);
        let result = match futures::future::select(work, refresh).await {
            futures::future::Either::Left((result, _)) => result,
            futures::future::Either::Right((broken, _)) => Err(broken),
        };
        if result.is_ok() {
            transfer.lock.lock().expect("not poisoned").take();
            lock.release(&self.client).await;
        }
        result
    }

    async fn save_locked(
        &self,
        transfer: &Transfer,
        files: Vec<PlannedFile>,
        in_progress: &StatusObject,
        options: &SaveOptions,
        descriptor: &StoreDescriptor,
        lock: &Lock,
    ) -> Result<BackupInfo> {
        let id = transfer.id;
        let created_at = in_progress.doc.created_at.unwrap_or_else(crate::runtime::now_utc);
        let started_ns = i64::try_from(created_at.unix_timestamp_nanos()).ok();
        let level = descriptor
            .compression
            .as_ref()
            .map_or(super::compress::DEFAULT_LEVEL, |c| c.level);
        let keys = self.store_keys(descriptor).await?;
        // A locked store (§12): every object of this backup is locked for the minimum age.
        let retention = descriptor.object_lock()?.map(|l| l.retention(created_at));
        let (index, previous) = futures::try_join!(self.load_index(), self.previous_manifest(&id))?;
        let rule = ChangeRule::new(previous.as_ref().and_then(|m| m.source_started_ns));

        // Step 3: reuse what did not change, read the rest.
        let mut sets = Vec::with_capacity(files.len());
        let mut entries: Vec<Option<ManifestFile>> = Vec::with_capacity(files.len());
        let mut pending: Vec<Option<(String, FileStat, Option<String>)>> = Vec::with_capacity(files.len());
        let mut readers: Vec<(usize, ChunkReader)> = Vec::new();
        for (slot, file) in files.into_iter().enumerate() {
            let stat = file.reader.stat();
            let etag = file.reader.etag().map(str::to_string);
            let before = previous.as_ref().and_then(|m| m.lookup(&file.set, &file.name));
            sets.push(file.set);
            let unchanged = match (&etag, before) {
                // An S3 source object (§13): the same ETag and size is the same object.
                (Some(etag), Some(before)) => {
                    (before.etag.as_ref() == Some(etag) && before.size == stat.size).then_some(before)
                }
                (Some(_), None) => None,
                (None, _) => match rule.compare(before, &stat) {
                    Verdict::Unchanged(entry) => Some(entry),
                    Verdict::Changed(_) => None,
                },
            };
            if let Some(entry) = unchanged {
                if entry.chunks.iter().all(|c| index.contains(c)) {
                    let mut entry = entry.clone();
                    entry.mode = stat.mode.or(entry.mode);
                    transfer.tracker.add_bytes(entry.size);
                    transfer.tracker.file_done();
                    entries.push(Some(entry));
                    pending.push(None);
                    continue;
                }
            }
            entries.push(None);
            pending.push(Some((file.name, stat, etag)));
            readers.push((slot, file.reader));
        }
        drop(previous);
        let index = Arc::new(index);
        let dedup = Arc::new(Dedup::new(index.clone()));
        let (chunked, written) = self
            .chunk_and_pack(transfer, readers, descriptor, (level, retention), dedup, keys.clone())
            .await?;
        for (slot, chunked) in chunked {
            let (name, stat, etag) = pending[slot].take().ok_or_else(|| internal("a file was read twice"))?;
            entries[slot] = Some(ManifestFile {
                name,
                size: chunked.size,
                crc32c: chunked.crc32c.to_base64(),
                mode: stat.mode,
                mtime_ns: stat.mtime_ns,
                ctime_ns: stat.ctime_ns,
                inode: stat.inode,
                etag,
                chunks: chunked.chunks,
            });
        }
        let mut file_sets: BTreeMap<String, Vec<ManifestFile>> = BTreeMap::new();
        for (set, entry) in sets.into_iter().zip(entries) {
            let entry = entry.ok_or_else(|| internal("a file was neither reused nor read"))?;
            file_sets.entry(set).or_default().push(entry);
        }

        // Step 4: the manifest, then the summary `status` reads.
        let mut manifest = Manifest::new(
            &id,
            file_sets,
            options.user_metadata.clone(),
            options.descriptor.clone(),
            created_at,
            started_ns,
        );
        let referenced = referenced_packs(&index, &written, &manifest)?;
        #[cfg(not(target_arch = "wasm32"))]
        let reused = retention.map(|_| super::retain::Reused::new(&index, &written, &referenced));
        drop(index);
        let stored = super::sealed::manifest_to_stored(&mut manifest, level, keys.as_deref())?;
        let manifest_key = self.f2().layout.manifest_key(&id);
        let locked = PutOptions {
            lock: retention,
            ..PutOptions::default()
        };
        self.client
            .put_object(&manifest_key, Bytes::from(stored), &locked)
            .await?;
        let mut metadata = Metadata::format2_summary(
            &id,
            manifest.total_size(),
            manifest.file_count(),
            options.user_metadata.clone(),
            options.descriptor.clone(),
            created_at,
        );
        if keys.is_some() {
            // An encrypted store's summary says only that the backup exists (FORMAT.md).
            metadata = Metadata::format2_summary(&id, 0, 0, Default::default(), Default::default(), created_at);
            metadata.total_size = None;
            metadata.file_count = None;
        }
        let json = PutOptions {
            content_type: Some("application/json".into()),
            lock: retention,
            ..PutOptions::default()
        };
        self.put_json(&self.layout.metadata_key(&id), metadata.to_json(), &json)
            .await?;

        // Step 5: nothing it relies on may have gone while it ran.
        lock.check(&self.client).await?;
        self.check_packs_exist(&referenced).await?;
        #[cfg(not(target_arch = "wasm32"))]
        if let (Some(retention), Some(reused)) = (&retention, &reused) {
            // Shared packs carry the latest date of the backups that use them.
            self.lock_reused(reused, retention, level, keys.as_deref()).await?;
        }

        // Step 6.
        let doc = self
            .write_status_locked(&id, in_progress, StatusCode::Completed, None, retention)
            .await?;
        // The manifest's totals, not the summary's: an encrypted store's summary has none.
        let mut info = crate::backup::info_from_status(
            id,
            &StatusObject {
                doc,
                etag: None,
                last_modified: None,
            },
        );
        info.total_size = Some(manifest.total_size());
        info.file_count = Some(manifest.file_count());
        info.user_metadata = options.user_metadata.clone();
        Ok(info)
    }

    /// Reads and chunks `readers` (worker threads for files on disk natively, the async
    /// path for the rest) while the packer uploads what is new. Returns each file's chunks
    /// by slot, and the packs written.
    async fn chunk_and_pack(
        &self,
        transfer: &Transfer,
        readers: Vec<(usize, ChunkReader)>,
        descriptor: &StoreDescriptor,
        (level, lock): (i32, Option<Retention>),
        dedup: Arc<Dedup>,
        keys: Option<Arc<super::crypto::StoreKeys>>,
    ) -> Result<(Vec<(usize, ChunkedFile)>, Vec<WrittenPack>)> {
        let params = descriptor
            .chunker_params()
            .ok_or_else(|| Error::invalid_input("the store descriptor has no chunker parameters"))?;
        let scheme = descriptor.chunk_id_scheme(keys.as_ref().map(|k| k.mac()))?;
        let pack_config = descriptor.pack.map_or_else(PackConfig::default, |p| PackConfig {
            target_size: p.target_size,
            part_size: p.part_size,
        });
        let make = || FileChunker::new(params, level, scheme.clone(), dedup.clone());
        let packer = Packer::new(
            self.client.clone(),
            self.f2().layout.clone(),
            transfer.uploads.clone(),
            transfer.permits.clone(),
            pack_config,
            level,
            keys,
        )?
        .with_lock(lock);
        let (blobs, mut received) = mpsc::channel::<Blob>(BLOB_QUEUE);
        let pack = async move {
            let mut packer = packer;
            while let Some(blob) = received.recv().await {
                packer.add(blob).await?;
            }
            packer.finish().await
        };

        #[cfg(not(target_arch = "wasm32"))]
        let (paths, others) = {
            let mut paths = Vec::new();
            let mut others = Vec::new();
            for (slot, reader) in readers {
                match reader.unread_path() {
                    Some(path) => paths.push(super::chunking::PathJob {
                        slot,
                        path: path.to_path_buf(),
                        size: reader.size().unwrap_or(0),
                    }),
                    None => others.push((slot, reader)),
                }
            }
            (paths, others)
        };
        #[cfg(target_arch = "wasm32")]
        let others = readers;

        #[cfg(not(target_arch = "wasm32"))]
        let on_disk = {
            let workers = std::thread::available_parallelism()
                .map_or(2, |n| n.get())
                .clamp(1, 8)
                .min(paths.len());
            super::chunking::chunk_paths(paths, workers, make, blobs.clone(), &transfer.tracker)
        };
        #[cfg(target_arch = "wasm32")]
        let on_disk = async { Ok::<_, Error>(Vec::new()) };

        let mut sender = blobs;
        let tracker = &transfer.tracker;
        let ahead = self.config.concurrency;
        let streamed = async move {
            let mut done = Vec::with_capacity(others.len());
            if !others.is_empty() {
                let mut chunker = make()?;
                // The small objects of an S3 source are fetched `concurrency` at a time ahead
                // of the chunker (one GetObject round trip each would otherwise add up);
                // memory: at most `concurrency` × PREFETCH_SIZE.
                let mut opened =
                    stream::iter(others)
                        .map(|(slot, mut reader)| async move {
                            reader.prefetch(PREFETCH_SIZE).await.map(|()| (slot, reader))
                        })
                        .buffered(ahead);
                while let Some(next) = opened.next().await {
                    let (slot, mut reader) = next?;
                    let file = chunker.chunk_async(&mut reader, &mut sender, tracker).await?;
                    tracker.file_done();
                    done.push((slot, file));
                }
            }
            Ok::<_, Error>(done)
        };
        let (mut chunked, streamed, written) = futures::try_join!(on_disk, streamed, pack)?;
        chunked.extend(streamed);
        Ok((chunked, written))
    }
}

/// Every pack the manifest's chunks are in, with its length: from the index loaded at the
/// start, or among the packs this save wrote.
fn referenced_packs(index: &Index, written: &[WrittenPack], manifest: &Manifest) -> Result<HashMap<PackId, u64>> {
    let mut new: HashMap<ChunkId, (PackId, u64)> = HashMap::new();
    for pack in written {
        for entry in &pack.entries {
            new.insert(entry.id, (pack.id, pack.length));
        }
    }
    let lengths: HashMap<PackId, u64> = index.packs().collect();
    let mut referenced = HashMap::new();
    for id in manifest.chunk_ids() {
        let (pack, length) = match index.get(id) {
            Some(located) => (located.pack, lengths[&located.pack]),
            None => *new
                .get(id)
                .ok_or_else(|| internal(&format!("chunk {id} is neither indexed nor written")))?,
        };
        referenced.insert(pack, length);
    }
    Ok(referenced)
}

/// S3 source objects up to this size are read whole ahead of the chunker (bytes).
const PREFETCH_SIZE: u64 = 1024 * 1024;

fn internal(what: &str) -> Error {
    Error::Io(crate::ErrorDetails::message(format!(
        "internal error of the format 2 save: {what}"
    )))
}
