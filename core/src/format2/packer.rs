//! The packer of a save: blobs into packs, each pack uploaded while it fills.
//!
//! A pack's parts (5 MiB) go out by UploadPart as soon as they are full, concurrently, each
//! holding a permit of the save's request cap while its bytes are in memory; a pack that
//! ends before its first part is full is one PutObject. A full pack is finished in the
//! background (its last part, CompleteMultipartUpload, then an index object listing just
//! that pack) while the next one fills. So a killed save leaves every pack it finished
//! indexed, and the next save finds their chunks (docs/FORMAT.md, "Save").
//!
//! Memory: parts in flight × part size, plus one pack's unsent part and one blob. Parts in
//! flight are at most [`PARTS_IN_MEMORY`] (and the save's request cap): 15 MiB with the
//! default 5 MiB parts, whatever the concurrency, as each is held in memory until sent.

/// The most pack parts held in memory for their uploads at once.
pub(crate) const PARTS_IN_MEMORY: usize = 3;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::chunking::Blob;
use super::crypto::{PackSealer, StoreKeys};
use super::id::PackId;
use super::index::IndexFile;
use super::layout::Format2Layout;
use super::pack::{BlobKind, PackConfig, PackEntry, PackWriter};
use super::task::{spawn, Task};
use crate::backup::OpenUploads;
use crate::error::{Error, Result};
use crate::s3::checksum::crc32c_base64;
use crate::s3::{CompletedPart, PutOptions, Retention, S3Client};

/// A pack this save uploaded and indexed.
#[derive(Clone, Debug)]
pub(crate) struct WrittenPack {
    pub id: PackId,
    pub length: u64,
    pub entries: Vec<PackEntry>,
}

struct OpenPack {
    writer: PackWriter,
    /// An encrypted store's age writer of this pack: the writer's plaintext parts go in,
    /// sealed parts come out.
    sealer: Option<PackSealer>,
    key: String,
    upload_id: Option<String>,
    parts: Vec<Task<Result<CompletedPart>>>,
}

/// Builds and uploads the packs of one save.
pub(crate) struct Packer {
    client: S3Client,
    layout: Format2Layout,
    uploads: Arc<OpenUploads>,
    permits: Arc<Semaphore>,
    /// [`PARTS_IN_MEMORY`] permits, taken before one of `permits`.
    in_memory: Arc<Semaphore>,
    config: PackConfig,
    level: i32,
    keys: Option<Arc<StoreKeys>>,
    /// Object Lock retention of every pack and index object written (a locked store).
    lock: Option<Retention>,
    current: Option<OpenPack>,
    finishing: Vec<Task<Result<WrittenPack>>>,
    /// The first error of a background upload, reported at the next blob.
    failure: Arc<Mutex<Option<Error>>>,
    /// Bytes of packs handed to uploads.
    pub bytes_packed: u64,
}

impl Packer {
    pub fn new(
        client: S3Client,
        layout: Format2Layout,
        uploads: Arc<OpenUploads>,
        permits: Arc<Semaphore>,
        config: PackConfig,
        level: i32,
        keys: Option<Arc<StoreKeys>>,
    ) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            client,
            layout,
            uploads,
            permits,
            in_memory: Arc::new(Semaphore::new(PARTS_IN_MEMORY)),
            config,
            level,
            keys,
            lock: None,
            current: None,
            finishing: Vec::new(),
            failure: Arc::new(Mutex::new(None)),
            bytes_packed: 0,
        })
    }

    /// Locks every pack and index object it writes with `lock` (a locked store, §12).
    pub fn with_lock(mut self, lock: Option<Retention>) -> Self {
        self.lock = lock;
        self
    }

    fn check_failure(&self) -> Result<()> {
        match self.failure.lock().expect("not poisoned").take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Adds a blob to the current pack, uploading parts as they fill and finishing the
    /// pack when it is full.
    pub async fn add(&mut self, blob: Blob) -> Result<()> {
        self.check_failure()?;
        if self.current.is_none() {
            let id = PackId::random();
            self.current = Some(OpenPack {
                writer: PackWriter::new(id, self.config)?,
                sealer: self
                    .keys
                    .as_ref()
                    .map(|k| k.pack_sealer(self.config.part_size as usize)),
                key: self.layout.pack_key(&id),
                upload_id: None,
                parts: Vec::new(),
            });
        }
        self.current.as_mut().expect("set above").writer.add(
            blob.id,
            BlobKind::Data,
            blob.compression,
            blob.raw_len,
            &blob.stored,
        )?;
        drop(blob);
        loop {
            let pack = self.current.as_mut().expect("set above");
            let Some(part) = pack.writer.take_part() else {
                break;
            };
            let parts = match &mut pack.sealer {
                Some(sealer) => sealer.push(&part)?,
                None => vec![part],
            };
            for part in parts {
                self.send_part(part).await?;
            }
        }
        let pack = self.current.as_mut().expect("set above");
        if pack.writer.is_full() {
            self.finish_current().await?;
        }
        Ok(())
    }

    /// Uploads a full part of the current pack (starting its multipart upload first).
    async fn send_part(&mut self, part: Bytes) -> Result<()> {
        let pack = self.current.as_mut().expect("a pack is open");
        let upload_id = match &pack.upload_id {
            Some(id) => id.clone(),
            None => {
                // Recorded first: a failure during the request may leave an upload behind.
                self.uploads.creating(&pack.key);
                let id = self
                    .client
                    .create_multipart_upload_locked(&pack.key, self.lock.as_ref())
                    .await?;
                self.uploads.opened(&pack.key, &id);
                pack.upload_id = Some(id.clone());
                id
            }
        };
        let permit = (acquire(&self.in_memory).await, acquire(&self.permits).await);
        let number = pack.parts.len() as u32 + 1;
        self.bytes_packed += part.len() as u64;
        let (client, key, failure) = (self.client.clone(), pack.key.clone(), self.failure.clone());
        pack.parts.push(spawn(async move {
            let result = upload_part(&client, &key, &upload_id, number, part, permit).await;
            remember(&failure, &result);
            result
        }));
        Ok(())
    }

    /// Finishes the current pack in the background.
    async fn finish_current(&mut self) -> Result<()> {
        let Some(pack) = self.current.as_mut() else {
            return Ok(());
        };
        let writer = std::mem::replace(&mut pack.writer, PackWriter::new(PackId::random(), self.config)?);
        let mut finished = writer.finish()?;
        if let Some(sealer) = pack.sealer.take() {
            let (full, last, length) = sealer.finish(&finished.last_part)?;
            for part in full {
                self.send_part(part).await?;
            }
            finished.last_part = last;
            finished.length = length;
        }
        let pack = self.current.take().expect("open above");
        let permit = (acquire(&self.in_memory).await, acquire(&self.permits).await);
        self.bytes_packed += finished.last_part.len() as u64;
        let (client, layout, uploads, failure, level, keys) = (
            self.client.clone(),
            self.layout.clone(),
            self.uploads.clone(),
            self.failure.clone(),
            self.level,
            self.keys.clone(),
        );
        let locked = PutOptions {
            lock: self.lock,
            ..PutOptions::default()
        };
        let (key, upload_id, parts) = (pack.key, pack.upload_id, pack.parts);
        self.finishing.push(spawn(async move {
            let result = async {
                let number = parts.len() as u32 + 1;
                match &upload_id {
                    Some(upload_id) => {
                        let mut completed = Vec::with_capacity(parts.len() + 1);
                        for part in parts {
                            completed.push(part.await??);
                        }
                        let last = upload_part(&client, &key, upload_id, number, finished.last_part, permit).await?;
                        completed.push(last);
                        client.complete_multipart_upload(&key, upload_id, &completed).await?;
                        uploads.closed(&key);
                    }
                    None => {
                        let crc = crc32c_base64(&finished.last_part);
                        client
                            .put_object_with_checksum(&key, finished.last_part, &crc, &locked)
                            .await?;
                        drop(permit);
                    }
                }
                let mut index = IndexFile::new();
                index.push_pack(finished.id, finished.length, &finished.entries);
                let (index_id, stored) = super::sealed::index_to_stored(&index, level, keys.as_deref());
                client
                    .put_object(&layout.index_key(&index_id), Bytes::from(stored), &locked)
                    .await?;
                Ok(WrittenPack {
                    id: finished.id,
                    length: finished.length,
                    entries: finished.entries,
                })
            }
            .await;
            remember(&failure, &result);
            result
        }));
        Ok(())
    }

    /// Finishes the last pack and waits for every upload; returns the packs written.
    pub async fn finish(mut self) -> Result<Vec<WrittenPack>> {
        self.check_failure()?;
        if self.current.as_ref().is_some_and(|p| !p.writer.is_empty()) {
            self.finish_current().await?;
        }
        let mut written = Vec::with_capacity(self.finishing.len());
        for task in std::mem::take(&mut self.finishing) {
            written.push(task.await??);
        }
        Ok(written)
    }
}

async fn upload_part(
    client: &S3Client,
    key: &str,
    upload_id: &str,
    number: u32,
    part: Bytes,
    permit: (OwnedSemaphorePermit, OwnedSemaphorePermit),
) -> Result<CompletedPart> {
    let crc = crc32c_base64(&part);
    let done = client.upload_part(key, upload_id, number, part, &crc).await;
    drop(permit);
    done
}

fn remember<T>(failure: &Mutex<Option<Error>>, result: &Result<T>) {
    if let Err(e) = result {
        failure.lock().expect("not poisoned").get_or_insert_with(|| e.clone());
    }
}

async fn acquire(permits: &Arc<Semaphore>) -> OwnedSemaphorePermit {
    permits
        .clone()
        .acquire_owned()
        .await
        .expect("the semaphore is never closed")
}
