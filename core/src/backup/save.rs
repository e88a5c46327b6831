//! save: the four-step protocol of §4.
//!
//! 1. `status.json` = IN_PROGRESS with `If-None-Match: *` (an existing backup is never
//!    overwritten); 2. every file uploaded concurrently with a checksum the server verifies,
//!    large ones by multipart (§5); 3. `metadata.json` with size and CRC32C of every file;
//!    4. `status.json` = COMPLETED with `If-Match` on the IN_PROGRESS ETag.
//!    On any error: open multipart uploads aborted, status FAILED with the reason, the
//!    original error returned. A killed process leaves IN_PROGRESS, never COMPLETED.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::stream::{self, StreamExt as _, TryStreamExt as _};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::layout::{validate_key_length, validate_relative_path, validate_set_name};
use super::manifest::{FileEntry, Metadata, StatusDoc, ZeebeDescriptor, MAX_METADATA_BYTES};
use super::progress::{ProgressFn, Tracker};
use super::source::{ChunkReader, FileSet};
#[cfg(not(target_arch = "wasm32"))]
use super::source::{OnDiskFile, RangedFile};
use super::{BackupId, BackupInfo, BackupStore, StatusCode, StatusObject, StatusRead};
use crate::error::{Error, ErrorDetails, Result};
use crate::format2::store::StoreFormat;
use crate::runtime::{self, CancelToken};
use crate::s3::checksum::Crc32c;
use crate::s3::{part_size_for, CompletedPart, PutOptions, S3Client};

/// Files on disk up to this size are read whole (one blocking step) and sent from memory;
/// larger ones are sent from the file as they are read (`s3/file_part.rs`), which reads
/// them twice.
#[cfg(not(target_arch = "wasm32"))]
const READ_WHOLE: u64 = 256 * 1024;

/// Options of [`BackupStore::save`].
#[derive(Clone, Default)]
pub struct SaveOptions {
    /// The caller's key/value metadata, stored in `metadata.json`.
    pub user_metadata: BTreeMap<String, String>,
    /// Zeebe descriptor fields, stored in `metadata.json` when given.
    pub descriptor: ZeebeDescriptor,
    /// Called as bytes and files are uploaded.
    pub progress: Option<Arc<dyn ProgressFn>>,
    /// Cancels the save: uploads stop and are aborted, the status becomes FAILED.
    pub cancel: Option<CancelToken>,
}

impl std::fmt::Debug for SaveOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaveOptions")
            .field("user_metadata", &self.user_metadata)
            .field("descriptor", &self.descriptor)
            .field("progress", &self.progress.is_some())
            .field("cancel", &self.cancel)
            .finish()
    }
}

/// Multipart uploads begun and not yet completed, so that a failure can abort them all.
///
/// A key is recorded before its CreateMultipartUpload is sent (upload id `None`): when a
/// failure drops the save while that request is in flight, the store may have created an
/// upload whose id never reached us; the failure path then finds it by listing that key's
/// uploads (seen on distributed MinIO, where the other files' requests take longer).
#[derive(Default)]
pub(crate) struct OpenUploads(Mutex<HashMap<String, Option<String>>>);

impl OpenUploads {
    pub(crate) fn creating(&self, key: &str) {
        self.0.lock().expect("not poisoned").insert(key.to_string(), None);
    }

    pub(crate) fn opened(&self, key: &str, upload_id: &str) {
        self.0
            .lock()
            .expect("not poisoned")
            .insert(key.to_string(), Some(upload_id.to_string()));
    }

    pub(crate) fn closed(&self, key: &str) {
        self.0.lock().expect("not poisoned").remove(key);
    }

    fn take(&self) -> Vec<(String, Option<String>)> {
        self.0.lock().expect("not poisoned").drain().collect()
    }
}

/// Everything one save shares between its files.
pub(crate) struct Transfer {
    pub(crate) id: BackupId,
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) uploads: Arc<OpenUploads>,
    pub(crate) tracker: Tracker,
    /// Format 2: the save's shared lock, released by the failure path too.
    pub(crate) lock: Mutex<Option<Arc<crate::format2::lock::Lock>>>,
}

impl BackupStore {
    /// Saves the file sets as backup `id` (§4 save) and returns its status (COMPLETED).
    ///
    /// Bad input (set names, file names, key lengths, missing local files) is rejected
    /// before any request is sent. Files on disk are sent from the file, part by part, as
    /// they are read (a block of 256 KiB per request in flight); other sources hold up to
    /// part size × `concurrency` plus a small constant, whatever the file sizes.
    ///
    /// The first save of a store checks that the store honours conditional writes (probe.rs;
    /// cached for the store's life) unless `single_writer` is set.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for bad names; [`Error::BackupAlreadyExists`] when `id` has a
    /// status already (it is left untouched); [`Error::S3`] with code
    /// [`CONDITIONAL_WRITES_IGNORED`](super::CONDITIONAL_WRITES_IGNORED) for a store that
    /// ignores `If-None-Match` / `If-Match` (nothing of the backup is written); any transfer
    /// error, after which the backup is FAILED and its multipart uploads aborted.
    pub async fn save(&self, id: BackupId, sets: Vec<FileSet>, options: SaveOptions) -> Result<BackupInfo> {
        self.bucket_ready().await?;
        // Before any file is looked at: format 2's change detection relies on it (docs/FORMAT.md).
        let created_at = runtime::now_utc();
        let files = self.plan_files(&id, sets).await?;
        self.require_conditional_writes().await?;
        if self.config.single_writer && !matches!(self.read_status_or_corrupt(&id).await?, StatusRead::Missing) {
            // The store may ignore If-None-Match: look first, so that no backup is overwritten.
            return Err(already_exists(&id, ErrorDetails::default()));
        }
        let format = self.format_for_save().await?;
        let status = StatusDoc::new(StatusCode::InProgress, created_at, created_at);
        let lock = match &format {
            StoreFormat::Two(d) => d.object_lock()?.map(|l| l.retention(created_at)),
            StoreFormat::One => None,
        };
        let put = PutOptions {
            if_none_match: true,
            content_type: Some("application/json".into()),
            lock,
            ..PutOptions::default()
        };
        let written = match self.put_status(&id, &status, &put).await {
            Ok(written) => written,
            Err(Error::Conflict(d)) => return Err(already_exists(&id, d)),
            Err(e) => return Err(e),
        };
        let in_progress = StatusObject {
            doc: status,
            etag: Some(written.etag),
            last_modified: None,
        };
        let bytes_total = files.iter().map(|f| f.reader.size().unwrap_or(0)).sum();
        let transfer = Transfer {
            id,
            permits: Arc::new(Semaphore::new(self.config.concurrency)),
            uploads: Arc::new(OpenUploads::default()),
            tracker: Tracker::new(bytes_total, files.len() as u64, options.progress.clone()),
            lock: Mutex::new(None),
        };
        let work = async {
            match &format {
                StoreFormat::One => self.upload_and_complete(&transfer, files, &in_progress, &options).await,
                StoreFormat::Two(descriptor) => {
                    self.save_format2(&transfer, files, &in_progress, &options, descriptor.clone())
                        .await
                }
            }
        };
        let result = match &options.cancel {
            Some(cancel) => {
                let cancelled = async {
                    cancel.cancelled().await;
                    Err(Error::Cancelled(ErrorDetails::message(format!(
                        "save of backup {id} was cancelled"
                    ))))
                };
                futures::pin_mut!(work, cancelled);
                futures::future::select(work, cancelled).await.factor_first().0
            }
            None => work.await,
        };
        match result {
            Ok(info) => Ok(info),
            Err(err) => {
                self.fail(&transfer, &in_progress, &err).await;
                Err(err)
            }
        }
    }

    async fn upload_and_complete(
        &self,
        transfer: &Transfer,
        files: Vec<PlannedFile>,
        in_progress: &StatusObject,
        options: &SaveOptions,
    ) -> Result<BackupInfo> {
        let id = transfer.id;
        // S3 sources (§13): objects unchanged since the previous backup are copied from it.
        let previous = if files.iter().any(|f| f.reader.etag().is_some()) {
            self.previous_metadata(&id).await?
        } else {
            None
        };
        let entries: Vec<(String, FileEntry)> = stream::iter(files)
            .map(|file| self.upload_file(transfer, file, previous.as_ref()))
            .buffered(self.config.concurrency)
            .try_collect()
            .await?;
        let mut file_sets: BTreeMap<String, Vec<FileEntry>> = BTreeMap::new();
        for (set, entry) in entries {
            file_sets.entry(set).or_default().push(entry);
        }
        let created_at = in_progress.doc.created_at.unwrap_or_else(runtime::now_utc);
        let metadata = Metadata::new(
            &id,
            file_sets,
            options.user_metadata.clone(),
            options.descriptor.clone(),
            created_at,
        );
        let json = PutOptions {
            content_type: Some("application/json".into()),
            ..PutOptions::default()
        };
        let metadata_json = metadata.to_json();
        if metadata_json.len() > MAX_METADATA_BYTES {
            return Err(Error::invalid_input(format!(
                "backup {id} lists too many files: its metadata.json would be {} bytes, above the {} s3keep reads back; split the files over several backups",
                metadata_json.len(),
                crate::s3::human_size(MAX_METADATA_BYTES)
            )));
        }
        self.put_json(&self.layout.metadata_key(&id), metadata_json, &json)
            .await?;
        let doc = self.write_status(&id, in_progress, StatusCode::Completed, None).await?;
        Ok(super::completed_info(id, doc, metadata))
    }

    /// The failure path: abort open uploads, then FAILED with the reason (best effort: the
    /// original error is what the caller must see).
    async fn fail(&self, transfer: &Transfer, in_progress: &StatusObject, err: &Error) {
        abort_uploads(&self.client, &transfer.uploads).await;
        let lock = transfer.lock.lock().expect("not poisoned").take();
        if let Some(lock) = lock {
            lock.release(&self.client).await;
        }
        let reason = err.to_string();
        if let Err(e) = self
            .write_status(&transfer.id, in_progress, StatusCode::Failed, Some(reason))
            .await
        {
            tracing::warn!(id = %transfer.id, error = %e, "could not mark the backup FAILED");
        }
    }

    /// Validates every name and opens every source, before any request is sent.
    async fn plan_files(&self, id: &BackupId, sets: Vec<FileSet>) -> Result<Vec<PlannedFile>> {
        let mut seen_sets = HashSet::new();
        let mut planned = Vec::new();
        let mut sources = Vec::new();
        for set in sets {
            validate_set_name(&set.name)?;
            if !seen_sets.insert(set.name.clone()) {
                return Err(Error::invalid_input(format!("file set {:?} is given twice", set.name)));
            }
            let mut seen_files = HashSet::new();
            for file in self.list_prefixes(set.files).await? {
                validate_relative_path(&file.name)?;
                if !seen_files.insert(file.name.clone()) {
                    return Err(Error::invalid_input(format!(
                        "file {:?} appears twice in set {:?}",
                        file.name, set.name
                    )));
                }
                let key = self.layout.file_key(id, &set.name, &file.name);
                validate_key_length(&key)?;
                sources.push((file.source, file.name.clone()));
                planned.push((set.name.clone(), file.name, key));
            }
        }
        let readers = ChunkReader::new_all(sources).await?;
        Ok(planned
            .into_iter()
            .zip(readers)
            .map(|((set, name, key), reader)| PlannedFile { set, name, key, reader })
            .collect())
    }

    /// Replaces every [`Source::Prefix`](super::Source::Prefix) by the objects listed under
    /// it (§13, `remote.rs`).
    async fn list_prefixes(&self, files: Vec<super::FileSpec>) -> Result<Vec<super::FileSpec>> {
        let mut out = Vec::with_capacity(files.len());
        for file in files {
            match file.source {
                super::Source::Prefix(url) => {
                    let client = url.client(&self.config)?;
                    out.extend(super::remote::list_source(&client, &url, &file.name).await?);
                }
                _ => out.push(file),
            }
        }
        Ok(out)
    }

    /// Uploads one file: PutObject up to the threshold, multipart above it; an S3 source
    /// object on the store's endpoint with the store's access key is copied by the server
    /// instead (§13, `copy.rs`).
    async fn upload_file(
        &self,
        transfer: &Transfer,
        mut file: PlannedFile,
        previous: Option<&super::copy::Previous>,
    ) -> Result<(String, FileEntry)> {
        let threshold = self.config.multipart_threshold;
        let etag = file.reader.etag().map(str::to_string);
        let unchanged = match (previous, &etag, file.reader.size()) {
            (Some(previous), Some(etag), Some(size)) => previous.unchanged(self, &file.set, &file.name, etag, size),
            _ => None,
        };
        let copy = file
            .reader
            .remote_object()
            .filter(|o| super::remote::can_copy_server_side(o.client.config(), &self.config.client))
            .map(|o| (o.copy_source(), o.size));
        #[cfg(not(target_arch = "wasm32"))]
        // A file on disk is sent from the file (S3 sources are copied or streamed instead).
        let on_disk = if unchanged.is_some() || copy.is_some() {
            None
        } else {
            match file.reader.open_on_disk(READ_WHOLE).await? {
                Some(OnDiskFile::Read(body)) => {
                    let permit = acquire(&transfer.permits).await;
                    Some(self.put_small(&self.client, transfer, &file.key, body, permit).await?)
                }
                Some(OnDiskFile::Ranged(source)) => Some(self.upload_on_disk(transfer, &file.key, source).await?),
                None => None,
            }
        };
        #[cfg(target_arch = "wasm32")]
        let on_disk = None;
        let (size, crc) = if let Some((source, entry)) = unchanged {
            let (size, crc) = self
                .copy_file(transfer, &file.key, &source, entry.size.unwrap_or(0))
                .await?;
            if Some(crc.to_base64()) != entry.crc32c {
                return Err(Error::integrity(
                    &source.key,
                    format!(
                        "{}: the copy of the previous backup's object has CRC32C {}, its metadata.json says {}",
                        crate::escape::escape_controls(&source.key),
                        crc.to_base64(),
                        entry.crc32c.as_deref().unwrap_or("")
                    ),
                ));
            }
            (size, crc)
        } else if let Some((source, size)) = copy {
            self.copy_file(transfer, &file.key, &source, size).await?
        } else if let Some(done) = on_disk {
            done
        } else if file.reader.size().is_some_and(|size| size <= threshold) {
            let permit = acquire(&transfer.permits).await;
            let body = read_all(&mut file.reader, threshold).await?;
            self.put_small(&self.client, transfer, &file.key, body, permit).await?
        } else {
            self.upload_multipart(&self.client, transfer, &file.key, file.reader)
                .await?
        };
        transfer.tracker.file_done();
        Ok((
            file.set,
            FileEntry {
                name: file.name,
                size: Some(size),
                crc32c: Some(crc.to_base64()),
                etag,
            },
        ))
    }

    /// Uploads a file on disk without holding it in memory: each part (or the whole file, up
    /// to the multipart threshold) is read from the file as it is sent, after a first pass
    /// for its CRC32C (`s3/file_part.rs`); a permit of the save's cap is held per request.
    #[cfg(not(target_arch = "wasm32"))]
    async fn upload_on_disk(&self, transfer: &Transfer, key: &str, source: RangedFile) -> Result<(u64, Crc32c)> {
        let size = source.size;
        let crc = if size <= self.config.multipart_threshold {
            let permit = acquire(&transfer.permits).await;
            let part = self
                .client
                .file_part(source.file.clone(), source.path.clone(), 0, size)
                .await?;
            let crc = part.crc32c();
            self.client.put_object_file(key, part, &PutOptions::default()).await?;
            drop(permit);
            transfer.tracker.add_bytes(size);
            crc
        } else {
            self.upload_ranges(transfer, key, &source).await?
        };
        source.check_size().await?;
        Ok((size, crc))
    }

    /// Multipart upload of a file on disk (§5): equal parts, each read from the file when it
    /// is sent, `concurrency` at a time under the save's shared cap.
    #[cfg(not(target_arch = "wasm32"))]
    async fn upload_ranges(&self, transfer: &Transfer, key: &str, source: &RangedFile) -> Result<Crc32c> {
        let size = source.size;
        let part_size = part_size_for(size, self.config.part_size);
        transfer.uploads.creating(key);
        let upload_id = self.client.create_multipart_upload(key).await?;
        transfer.uploads.opened(key, &upload_id);
        let ranges =
            (0..size.div_ceil(part_size)).map(|i| (i as u32 + 1, i * part_size, ((i + 1) * part_size).min(size)));
        let upload_id = upload_id.as_str();
        let uploaded: Vec<(CompletedPart, u32, u64)> = stream::iter(ranges)
            .map(|(number, start, end)| async move {
                let permit = acquire(&transfer.permits).await;
                let part = self
                    .client
                    .file_part(source.file.clone(), source.path.clone(), start, end - start)
                    .await?;
                let crc = part.crc32c().value();
                let done = self.client.upload_part_file(key, upload_id, number, part).await?;
                drop(permit);
                transfer.tracker.add_bytes(end - start);
                Ok::<_, Error>((done, crc, end - start))
            })
            .buffered(self.config.concurrency)
            .try_collect()
            .await?;
        let mut crc = 0u32;
        let mut completed = Vec::with_capacity(uploaded.len());
        for (part, part_crc, len) in uploaded {
            crc = crc32c::crc32c_combine(crc, part_crc, len as usize);
            completed.push(part);
        }
        self.client
            .complete_multipart_upload(key, upload_id, &completed)
            .await?;
        transfer.uploads.closed(key);
        Ok(Crc32c::from_value(crc))
    }

    /// Multipart upload of one file (§5): equal parts, uploaded concurrently under the
    /// save's shared cap; a permit is taken before a part is read, so buffered parts never
    /// exceed the cap. Streams of unknown size that turn out small go by PutObject.
    ///
    /// The reader is taken by value and owned by the part stream's state: a borrowed reader
    /// there makes rustc unable to prove the save future `Send` (rust-lang/rust#102211), and
    /// the Python binding spawns saves on a multi-threaded runtime.
    pub(crate) async fn upload_multipart(
        &self,
        client: &S3Client,
        transfer: &Transfer,
        key: &str,
        mut reader: ChunkReader,
    ) -> Result<(u64, Crc32c)> {
        let part_size = match reader.size() {
            Some(size) => part_size_for(size, self.config.part_size),
            None => self.config.part_size.max(self.config.multipart_threshold),
        } as usize;
        let first_permit = acquire(&transfer.permits).await;
        // The permit stays held through a small stream's PutObject: its buffer counts too.
        let Some(first) = reader.next_chunk(part_size).await? else {
            return self.put_small(client, transfer, key, Bytes::new(), first_permit).await;
        };
        if first.len() < part_size && reader.size().is_none() {
            return self.put_small(client, transfer, key, first, first_permit).await;
        }
        transfer.uploads.creating(key);
        let upload_id = client.create_multipart_upload(key).await?;
        transfer.uploads.opened(key, &upload_id);
        // The state owns the reader and the closure owns its semaphore handle: nothing
        // borrowed, so the stream's future is `Send` (see above).
        let permits = Arc::clone(&transfer.permits);
        let parts = stream::try_unfold(
            (reader, Some((first_permit, first)), 0u32),
            move |(mut reader, pending, number)| {
                let permits = Arc::clone(&permits);
                async move {
                    let (permit, chunk) = match pending {
                        Some(p) => p,
                        None => {
                            let permit = acquire(&permits).await;
                            match reader.next_chunk(part_size).await? {
                                Some(chunk) => (permit, chunk),
                                None => return Ok(None),
                            }
                        }
                    };
                    Ok::<_, Error>(Some(((number + 1, permit, chunk), (reader, None, number + 1))))
                }
            },
        )
        .map_ok(|(number, permit, chunk)| {
            self.upload_one_part(client, transfer, key, &upload_id, number, permit, chunk)
        })
        .try_buffered(self.config.concurrency);
        let uploaded: Vec<(CompletedPart, u32, u64)> = parts.try_collect().await?;
        let mut size = 0u64;
        let mut crc = 0u32;
        let mut completed = Vec::with_capacity(uploaded.len());
        for (part, part_crc, len) in uploaded {
            crc = crc32c::crc32c_combine(crc, part_crc, len as usize);
            size += len;
            completed.push(part);
        }
        client.complete_multipart_upload(key, &upload_id, &completed).await?;
        transfer.uploads.closed(key);
        Ok((size, Crc32c::from_value(crc)))
    }

    #[allow(clippy::too_many_arguments)]
    async fn upload_one_part(
        &self,
        client: &S3Client,
        transfer: &Transfer,
        key: &str,
        upload_id: &str,
        number: u32,
        permit: OwnedSemaphorePermit,
        chunk: Bytes,
    ) -> Result<(CompletedPart, u32, u64)> {
        let mut crc = Crc32c::new();
        crc.update(&chunk);
        let len = chunk.len() as u64;
        let part = client
            .upload_part(key, upload_id, number, chunk, &crc.to_base64())
            .await?;
        drop(permit);
        transfer.tracker.add_bytes(len);
        Ok((part, crc.value(), len))
    }

    // Takes the key, not the `PlannedFile`: a `&PlannedFile` held across an await would make
    // the save future `!Send` (a stream source is not `Sync`), and the Python binding spawns it.
    /// One PutObject of a whole file, holding `_permit` (its buffer counts against the cap).
    pub(crate) async fn put_small(
        &self,
        client: &S3Client,
        transfer: &Transfer,
        key: &str,
        body: Bytes,
        _permit: OwnedSemaphorePermit,
    ) -> Result<(u64, Crc32c)> {
        let mut crc = Crc32c::new();
        crc.update(&body);
        let len = body.len() as u64;
        client
            .put_object_with_checksum(key, body, &crc.to_base64(), &PutOptions::default())
            .await?;
        transfer.tracker.add_bytes(len);
        Ok((len, crc))
    }
}

/// Aborts every multipart upload of `uploads` (best effort: `cleanup_uploads` finds any
/// left), on the store or on the target bucket of a restore.
pub(crate) async fn abort_uploads(client: &S3Client, uploads: &OpenUploads) {
    for (key, upload_id) in uploads.take() {
        let ids = match upload_id {
            Some(id) => vec![id],
            None => uploads_of(client, &key).await,
        };
        for upload_id in ids {
            if let Err(e) = client.abort_multipart_upload(&key, &upload_id).await {
                tracing::warn!(%key, error = %e, "could not abort a multipart upload; cleanup_uploads will");
            }
        }
    }
}

/// The ids of the multipart uploads of exactly `key` (ListMultipartUploads with the key as
/// prefix, which MinIO answers from any node; best effort).
async fn uploads_of(client: &S3Client, key: &str) -> Vec<String> {
    match client.list_multipart_uploads(key).try_collect::<Vec<_>>().await {
        Ok(pages) => pages
            .into_iter()
            .flat_map(|p| p.uploads)
            .filter(|u| u.key == key)
            .map(|u| u.upload_id)
            .collect(),
        Err(e) => {
            tracing::warn!(%key, error = %e, "could not list the uploads of a key; cleanup_uploads will");
            Vec::new()
        }
    }
}

pub(crate) struct PlannedFile {
    pub(crate) set: String,
    pub(crate) name: String,
    key: String,
    pub(crate) reader: ChunkReader,
}

pub(crate) async fn acquire(permits: &Arc<Semaphore>) -> OwnedSemaphorePermit {
    permits
        .clone()
        .acquire_owned()
        .await
        .expect("the semaphore is never closed")
}

/// Reads a whole source known to be at most `limit` bytes.
pub(crate) async fn read_all(reader: &mut ChunkReader, limit: u64) -> Result<Bytes> {
    let want = reader.size().unwrap_or(limit) as usize;
    let body = reader.next_chunk(want.max(1)).await?.unwrap_or_default();
    if reader.next_chunk(1).await?.is_some() {
        return Err(Error::Io(ErrorDetails::message("a file grew while being saved")));
    }
    Ok(body)
}

fn already_exists(id: &BackupId, conflict: ErrorDetails) -> Error {
    Error::BackupAlreadyExists(ErrorDetails {
        message: format!("backup {id} already exists; it was left untouched"),
        key: Some(id.to_string()),
        ..conflict
    })
}

/// Compile-time check: a save can be spawned on a multi-threaded runtime (`Send + 'static`),
/// as the Python binding does. Borrowing a source across an await breaks this silently
/// until a binding fails to build.
#[cfg(all(test, not(target_arch = "wasm32")))]
#[allow(dead_code)]
fn save_future_is_spawnable(store: BackupStore, sets: Vec<FileSet>) {
    fn spawnable<F: std::future::Future + Send + 'static>(_: F) {}
    spawnable(async move { store.save(BackupId::new(0, 0, 0), sets, SaveOptions::default()).await });
}
