//! Format 1 saves of S3 sources without the bytes passing through the client (§13).
//!
//! - An object on the store's endpoint, readable with the store's access key, is copied by
//!   the server: CopyObject up to 5 GiB, UploadPartCopy of equal ranges above; each copy is
//!   pinned to the listed ETag (`x-amz-copy-source-if-match`).
//! - An object whose ETag and size equal the previous backup's entry (same partition and
//!   node) is copied by the server from that backup, which is in the store itself.
//!
//! The CRC32C recorded in `metadata.json` is the server's checksum of the copy
//! (`x-amz-checksum-algorithm: CRC32C` on the copy; the parts' checksums combined for
//! UploadPartCopy). A server that sends none is asked with HeadObject
//! (`x-amz-checksum-mode: ENABLED`, whole-object checksums only); failing that, the copy is
//! read back once and its CRC32C computed (a verifying read: the bytes then pass through
//! the client once, and are not stored anywhere). MinIO answers CopyObject's checksum, but
//! none for UploadPartCopy (whose upload must be declared without a checksum algorithm,
//! `create_multipart_upload_for_copy`): objects above 5 GiB get a verifying read there.

use futures::stream::{self, StreamExt as _, TryStreamExt as _};

use super::manifest::{FileEntry, Metadata};
use super::save::{acquire, Transfer};
use super::{BackupId, BackupStore, StatusCode};
use crate::error::{Error, Result};
use crate::s3::checksum::Crc32c;
use crate::s3::{part_size_for, CopySource, S3Client, MAX_PART_SIZE};

/// The largest object one CopyObject copies (S3 limit): 5 GiB.
pub const COPY_OBJECT_MAX: u64 = MAX_PART_SIZE;

/// The previous COMPLETED format 1 backup of the same (partition, node), for incremental
/// saves of S3 sources.
pub(crate) struct Previous {
    id: BackupId,
    metadata: Metadata,
}

impl Previous {
    /// The previous entry of `set`/`name` when its ETag and size match, with the key of its
    /// object in the store.
    pub(crate) fn unchanged(
        &self,
        store: &BackupStore,
        set: &str,
        name: &str,
        etag: &str,
        size: u64,
    ) -> Option<(CopySource, &FileEntry)> {
        let entry = self.metadata.file_sets.get(set)?.iter().find(|e| e.name == name)?;
        let same = entry.etag.as_deref() == Some(etag) && entry.size == Some(size) && entry.crc32c.is_some();
        same.then(|| {
            let source = CopySource {
                bucket: store.config.client.bucket.clone(),
                key: store.layout.file_key(&self.id, set, name),
                etag: None,
            };
            (source, entry)
        })
    }
}

impl BackupStore {
    /// The metadata of the COMPLETED format 1 backup of the same (partition, node) with the
    /// largest checkpoint below `id`'s, if any (unreadable candidates are passed over).
    pub(crate) async fn previous_metadata(&self, id: &BackupId) -> Result<Option<Previous>> {
        for checkpoint in self.previous_checkpoints(id).await? {
            let candidate = BackupId::new(id.partition, checkpoint, id.node);
            let completed = matches!(
                self.read_status(&candidate).await,
                Ok(Some(s)) if s.doc.status_code == StatusCode::Completed
            );
            if !completed {
                continue;
            }
            match self.read_metadata(&candidate).await {
                Ok(Some(metadata)) if !metadata.is_format2() => {
                    return Ok(Some(Previous {
                        id: candidate,
                        metadata,
                    }))
                }
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!(backup = %candidate, error = %e, "previous backup unreadable; not used for incremental copies");
                    continue;
                }
            }
        }
        Ok(None)
    }

    /// Copies `source` (`size` bytes) to `key` of the store on the server; returns the size
    /// and the copy's CRC32C (module documentation).
    ///
    /// # Errors
    /// [`Error::Conflict`] when the source changed since it was listed; [`Error::NotFound`]
    /// when it is gone; the errors of the copy requests.
    pub(crate) async fn copy_file(
        &self,
        transfer: &Transfer,
        key: &str,
        source: &CopySource,
        size: u64,
    ) -> Result<(u64, Crc32c)> {
        let client = &self.client;
        let crc = if size <= COPY_OBJECT_MAX {
            let _permit = acquire(&transfer.permits).await;
            let result = client.copy_object(key, source).await?;
            match result.checksum_crc32c.as_deref().and_then(decode_crc) {
                Some(crc) => crc,
                None => server_crc_or_read(client, key).await?,
            }
        } else {
            self.copy_multipart(transfer, key, source, size).await?
        };
        transfer.tracker.add_bytes(size);
        Ok((size, crc))
    }

    /// UploadPartCopy of equal ranges (the part size of §5), several at once.
    async fn copy_multipart(&self, transfer: &Transfer, key: &str, source: &CopySource, size: u64) -> Result<Crc32c> {
        let client = &self.client;
        let part_size = part_size_for(size, self.config.part_size.max(COPY_OBJECT_MAX / 5));
        transfer.uploads.creating(key);
        let upload_id = client.create_multipart_upload_for_copy(key).await?;
        transfer.uploads.opened(key, &upload_id);
        let ranges: Vec<(u32, u64, u64)> = (0..size.div_ceil(part_size))
            .map(|i| {
                let first = i * part_size;
                ((i + 1) as u32, first, (first + part_size).min(size) - 1)
            })
            .collect();
        let parts: Vec<_> = stream::iter(ranges)
            .map(|(number, first, last)| {
                let upload_id = upload_id.as_str();
                async move {
                    let _permit = acquire(&transfer.permits).await;
                    let (part, crc) = client
                        .upload_part_copy(key, upload_id, number, source, (first, last))
                        .await?;
                    Ok::<_, Error>((part, crc.as_deref().and_then(decode_crc), last - first + 1))
                }
            })
            .buffered(self.config.concurrency)
            .try_collect()
            .await?;
        let mut combined = Some(0u32);
        let mut completed = Vec::with_capacity(parts.len());
        for (part, crc, len) in parts {
            combined = match (combined, crc) {
                (Some(c), Some(p)) => Some(crc32c::crc32c_combine(c, p.value(), len as usize)),
                _ => None,
            };
            completed.push(part);
        }
        client.complete_multipart_upload(key, &upload_id, &completed).await?;
        transfer.uploads.closed(key);
        match combined {
            Some(crc) => Ok(Crc32c::from_value(crc)),
            None => read_crc(client, key).await,
        }
    }
}

/// A base64 CRC32C of 4 bytes (a composite `...-N` is not one).
fn decode_crc(text: &str) -> Option<Crc32c> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD.decode(text).ok()?;
    let value: [u8; 4] = bytes.try_into().ok()?;
    Some(Crc32c::from_value(u32::from_be_bytes(value)))
}

/// The stored whole-object CRC32C of `key` (HeadObject), else a verifying read.
async fn server_crc_or_read(client: &S3Client, key: &str) -> Result<Crc32c> {
    let head = client.head_object(key).await?;
    match head.checksum_crc32c.as_deref().and_then(decode_crc) {
        Some(crc) => Ok(crc),
        None => read_crc(client, key).await,
    }
}

/// Reads `key` once and computes its CRC32C (the bytes are dropped as they come).
async fn read_crc(client: &S3Client, key: &str) -> Result<Crc32c> {
    tracing::debug!(%key, "the server sent no checksum of the copy: reading it back");
    let mut body = client.get_object(key, None).await?.body;
    let mut crc = Crc32c::new();
    while let Some(chunk) = body.next().await {
        crc.update(&chunk?);
    }
    Ok(crc)
}
