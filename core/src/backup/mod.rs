//! The backup store: the layout of §3 and the protocols of §4 on top of the S3
//! client. One file per operation: `save.rs`, `restore.rs`, `delete.rs`, `list.rs`,
//! `verify.rs`, `prune.rs`, `maintenance.rs` (cleanup_uploads, check), `probe.rs` (what the
//! store honours: conditional writes, checksums, multipart, paging, Object Lock).

mod copy;
mod delete;
pub mod layout;
mod list;
mod maintenance;
pub mod manifest;
mod probe;
pub(crate) mod progress;
mod prune;
pub(crate) mod remote;
pub(crate) mod restore;
mod restore_bucket;
mod save;
#[cfg(not(target_arch = "wasm32"))]
mod scan;
mod scan_options;
pub(crate) mod source;
mod verify;

use std::collections::BTreeMap;

use bytes::Bytes;
use time::OffsetDateTime;

pub use crate::id::BackupId;
pub use crate::report::{
    AbortedUpload, BackupInfo, CheckReport, CheckResult, CheckState, CleanupReport, DeleteReport, GcReport, Progress,
    PruneReport, RestoreReport, VerifyProblem, VerifyProblemKind, VerifyReport,
};
pub use crate::status::StatusCode;
pub use delete::DeleteOptions;
pub use list::ListFilter;
pub use manifest::{FileEntry, Metadata, StatusDoc, ZeebeDescriptor};
pub use probe::{ProbeLine, ProbeReport, ProbeState, CONDITIONAL_WRITES_IGNORED, PROBE_LINES};
pub use progress::ProgressFn;
pub use remote::{is_s3_url, BucketUrl, RemoteObject};
pub use restore::{is_restored, DirectoryPlan, PlannedRestore, RestoreOptions};
pub use save::SaveOptions;
pub(crate) use save::{OpenUploads, PlannedFile, Transfer};
#[cfg(not(target_arch = "wasm32"))]
pub use scan::{Scan, SkipReason, Skipped};
pub use scan_options::{OnFileError, ScanOptions};
pub use source::{FileSet, FileSpec, RangedSource, Source};

use crate::config::StoreConfig;
use crate::error::{Error, Result};
use crate::s3::{human_size, PutOptions, PutResult, S3Client};
use layout::Layout;
use manifest::{MAX_METADATA_BYTES, MAX_STATUS_BYTES};

/// A backup store: one bucket and prefix of an S3-compatible store (§4).
///
/// Cheap to clone. Every operation is safe to retry and safe to interrupt.
#[derive(Clone, Debug)]
pub struct BackupStore {
    pub(crate) client: S3Client,
    pub(crate) layout: Layout,
    pub(crate) config: StoreConfig,
    /// What format 2 remembers between calls (the store descriptor, the backup being read).
    pub(crate) format2: std::sync::Arc<crate::format2::store::Format2State>,
    /// Whether the store honours conditional writes, probed by the first save (probe.rs).
    conditional_writes: std::sync::Arc<tokio::sync::OnceCell<probe::ConditionalWrites>>,
    /// Set once the bucket is known to exist (only with `create_bucket`; see `bucket_ready`).
    bucket_ready: std::sync::Arc<tokio::sync::OnceCell<()>>,
}

/// A `status.json` as read, with the ETag needed to change it conditionally.
#[derive(Clone, Debug)]
pub(crate) struct StatusObject {
    pub doc: StatusDoc,
    pub etag: Option<String>,
    /// The object's LastModified, standing in for timestamps Zeebe does not write.
    pub last_modified: Option<OffsetDateTime>,
}

/// What reading a `status.json` found.
#[derive(Debug)]
pub(crate) enum StatusRead {
    /// No status object.
    Missing,
    /// A status document.
    Found(StatusObject),
    /// An object that is not a status document; `error` says why. `delete` with force
    /// replaces it conditionally on `etag`; `list` and `status` report it as CORRUPT.
    Corrupt {
        error: Error,
        etag: Option<String>,
        last_modified: Option<OffsetDateTime>,
    },
}

impl StatusRead {
    fn corrupt(error: Error, etag: Option<String>, last_modified: Option<OffsetDateTime>) -> Self {
        StatusRead::Corrupt {
            error,
            etag,
            last_modified,
        }
    }
}

impl StatusObject {
    pub(crate) fn created_at(&self) -> Option<OffsetDateTime> {
        self.doc.created_at.or(self.last_modified)
    }
}

impl BackupStore {
    /// A store for `config`. Sends nothing; the first operation finds out whether the
    /// bucket is reachable (or run [`BackupStore::check`]).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad bucket name, endpoint, concurrency or part size.
    pub fn new(config: StoreConfig) -> Result<Self> {
        if config.concurrency == 0 {
            return Err(Error::invalid_input("concurrency must be at least 1"));
        }
        if config.part_size < crate::s3::MIN_PART_SIZE || config.part_size > crate::s3::MAX_PART_SIZE {
            return Err(Error::invalid_input(format!(
                "part size must be between 5 MiB and 5 GiB (S3 limits), got {} bytes",
                config.part_size
            )));
        }
        if config.format.is_some_and(|f| f != 1 && f != 2) {
            return Err(Error::invalid_input(format!(
                "format must be 1 or 2, got {}",
                config.format.unwrap_or_default()
            )));
        }
        if config.format == Some(1) && config.encryption.any() {
            return Err(Error::invalid_input(crate::config::FORMAT1_ENCRYPTED));
        }
        let client = S3Client::new(config.client.clone())?;
        let layout = Layout::new(crate::config::normalize_prefix(&config.prefix));
        let format2 = std::sync::Arc::new(crate::format2::store::Format2State::new(layout.prefix()));
        Ok(Self {
            client,
            layout,
            config,
            format2,
            conditional_writes: Default::default(),
            bucket_ready: Default::default(),
        })
    }

    /// The S3 client underneath.
    pub fn client(&self) -> &S3Client {
        &self.client
    }

    /// The configuration.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// The key layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Creates the bucket when `create_bucket` is set and it does not exist yet.
    pub async fn ensure_bucket(&self) -> Result<()> {
        match self.client.head_bucket().await {
            Err(Error::NoSuchBucket(_)) if self.config.create_bucket && self.config.object_lock.mode.is_some() => {
                self.client.create_bucket_with_object_lock().await
            }
            Err(Error::NoSuchBucket(_)) if self.config.create_bucket => self.client.create_bucket().await,
            other => other,
        }
    }

    /// With `create_bucket`, makes sure the bucket exists before the first operation of this
    /// store (and its clones): one HeadBucket, and a CreateBucket when it is missing, once
    /// per store; a failure is returned and tried again by the next operation. Every
    /// operation calls it, so the faces need not. Without `create_bucket`, does nothing.
    pub(crate) async fn bucket_ready(&self) -> Result<()> {
        if !self.config.create_bucket {
            return Ok(());
        }
        self.bucket_ready
            .get_or_try_init(|| self.ensure_bucket())
            .await
            .map(|_| ())
    }

    /// status(id): code, failure reason, timestamps, and from `metadata.json` the total size,
    /// file count and user metadata. A missing backup reports `DoesNotExist`, one whose
    /// `status.json` is not a status document `Corrupt` (the reason says why), not an error.
    pub async fn status(&self, id: BackupId) -> Result<BackupInfo> {
        self.bucket_ready().await?;
        let status = match self.read_status_or_corrupt(&id).await? {
            StatusRead::Missing => return Ok(BackupInfo::missing(id)),
            StatusRead::Found(status) => status,
            corrupt => return Ok(info_from_corrupt(id, &corrupt)),
        };
        let info = info_from_status(id, &status);
        if status.doc.status_code == StatusCode::Completed {
            if let Some(metadata) = self.read_metadata(&id).await? {
                return Ok(with_metadata(info, metadata));
            }
        }
        Ok(info)
    }

    /// mark_failed(id, reason): IN_PROGRESS → FAILED (Zeebe's markFailed). Marking a FAILED
    /// backup again updates the reason.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such backup; [`Error::Conflict`] when it is
    /// COMPLETED or DELETING (a COMPLETED backup is never turned into a failed one).
    pub async fn mark_failed(&self, id: BackupId, reason: &str) -> Result<BackupInfo> {
        self.bucket_ready().await?;
        let status = self.read_status(&id).await?.ok_or_else(|| not_found(&id))?;
        match status.doc.status_code {
            StatusCode::InProgress | StatusCode::Failed => {}
            other => {
                return Err(Error::Conflict(crate::ErrorDetails::message(format!(
                    "backup {id} is {other}; only IN_PROGRESS backups can be marked failed"
                )))
                .with_key(id.to_string()))
            }
        }
        let doc = self
            .write_status(&id, &status, StatusCode::Failed, Some(reason.to_string()))
            .await?;
        Ok(info_from_status(
            id,
            &StatusObject {
                doc,
                etag: None,
                last_modified: None,
            },
        ))
    }

    /// Reads `status.json`; `None` when it does not exist.
    ///
    /// # Errors
    /// [`Error::Integrity`] when it is not a status document (see [`StatusRead::Corrupt`]).
    pub(crate) async fn read_status(&self, id: &BackupId) -> Result<Option<StatusObject>> {
        match self.read_status_or_corrupt(id).await? {
            StatusRead::Missing => Ok(None),
            StatusRead::Found(status) => Ok(Some(status)),
            StatusRead::Corrupt { error, .. } => Err(error),
        }
    }

    /// Reads `status.json`, telling a corrupt one (not JSON, not a status, larger than
    /// [`MAX_STATUS_BYTES`]) from a failure to read it.
    pub(crate) async fn read_status_or_corrupt(&self, id: &BackupId) -> Result<StatusRead> {
        let key = self.layout.status_key(id);
        let what = "status object";
        let (bytes, head) = match self.get_small(&key, MAX_STATUS_BYTES, what).await {
            Ok(Some(found)) => found,
            Ok(None) => return Ok(StatusRead::Missing),
            Err(Error::Integrity(d)) => return Ok(StatusRead::corrupt(Error::Integrity(d), None, None)),
            Err(e) => return Err(e),
        };
        let last_modified = head
            .last_modified
            .as_deref()
            .and_then(|d| httpdate::parse_http_date(d).ok())
            .map(OffsetDateTime::from);
        Ok(match StatusDoc::from_json(&key, &bytes) {
            Ok(doc) => StatusRead::Found(StatusObject {
                doc,
                etag: head.etag,
                last_modified,
            }),
            Err(error) => StatusRead::corrupt(error, head.etag, last_modified),
        })
    }

    /// Reads `metadata.json`; `None` when it does not exist.
    pub(crate) async fn read_metadata(&self, id: &BackupId) -> Result<Option<Metadata>> {
        let key = self.layout.metadata_key(id);
        match self.get_small(&key, MAX_METADATA_BYTES, "metadata object").await? {
            Some((bytes, _)) => Metadata::from_json(&key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// GetObject of a manifest, read whole up to `limit` bytes; a larger one is
    /// [`Error::Integrity`] naming `what`, the key and the limit. `None` when it does not exist.
    async fn get_small(&self, key: &str, limit: usize, what: &str) -> Result<Option<(Bytes, crate::s3::ObjectHead)>> {
        let too_large = || {
            let message = format!(
                "{what} {key} is larger than {}, the most s3keep reads of it: it cannot be one",
                human_size(limit)
            );
            Error::integrity(key, message)
        };
        match self.client.get_object_bytes(key, limit, too_large).await {
            Ok((head, bytes)) => Ok(Some((bytes, head))),
            Err(Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Replaces `status.json` with `code`, conditionally on the ETag read (If-Match), keeping
    /// `createdAt`. Returns the document written.
    pub(crate) async fn write_status(
        &self,
        id: &BackupId,
        previous: &StatusObject,
        code: StatusCode,
        failure_reason: Option<String>,
    ) -> Result<StatusDoc> {
        self.write_status_locked(id, previous, code, failure_reason, None).await
    }

    /// [`write_status`](Self::write_status) of a version locked with `lock` (Object Lock, §12).
    pub(crate) async fn write_status_locked(
        &self,
        id: &BackupId,
        previous: &StatusObject,
        code: StatusCode,
        failure_reason: Option<String>,
        lock: Option<crate::s3::Retention>,
    ) -> Result<StatusDoc> {
        let now = crate::runtime::now_utc();
        let mut doc = StatusDoc::new(code, previous.created_at().unwrap_or(now), now);
        doc.failure_reason = failure_reason;
        let options = PutOptions {
            if_match: previous.etag.clone(),
            content_type: Some("application/json".into()),
            lock,
            ..PutOptions::default()
        };
        self.put_status(id, &doc, &options).await?;
        Ok(doc)
    }

    /// PutObject of a status with a condition (If-None-Match / If-Match). The client retries
    /// lost answers, so a 412 may answer our own first attempt that did land: a status object
    /// holding exactly what we sent (its `updatedAt` is unique) is then a success.
    pub(crate) async fn put_status(&self, id: &BackupId, doc: &StatusDoc, options: &PutOptions) -> Result<PutResult> {
        let key = self.layout.status_key(id);
        let json = doc.to_json();
        if json.len() > MAX_STATUS_BYTES {
            // Only a caller's failure reason can make it so; such a status could not be read.
            return Err(Error::invalid_input(format!(
                "the status of backup {id} would be {} bytes, above the {} s3keep reads; shorten the failure reason",
                json.len(),
                human_size(MAX_STATUS_BYTES)
            )));
        }
        match self.put_json(&key, json, options).await {
            Err(Error::Conflict(d)) => match self.read_status_or_corrupt(id).await? {
                StatusRead::Found(current) if current.doc == *doc => Ok(PutResult {
                    etag: current.etag.unwrap_or_default(),
                    checksum_crc32c: None,
                }),
                _ => Err(Error::Conflict(d)),
            },
            other => other,
        }
    }

    pub(crate) async fn put_json(&self, key: &str, json: Vec<u8>, options: &PutOptions) -> Result<PutResult> {
        self.client.put_object(key, Bytes::from(json), options).await
    }
}

pub(crate) fn info_from_status(id: BackupId, status: &StatusObject) -> BackupInfo {
    BackupInfo {
        id,
        status: status.doc.status_code,
        failure_reason: status.doc.failure_reason.clone(),
        created_at: status.created_at(),
        updated_at: status.doc.updated_at.or(status.last_modified),
        writer: status.doc.writer.clone(),
        total_size: None,
        file_count: None,
        user_metadata: BTreeMap::new(),
    }
}

/// What a save reports once it wrote `doc` (COMPLETED) for a backup of `metadata`.
pub(crate) fn completed_info(id: BackupId, doc: StatusDoc, metadata: Metadata) -> BackupInfo {
    let status = StatusObject {
        doc,
        etag: None,
        last_modified: None,
    };
    with_metadata(info_from_status(id, &status), metadata)
}

/// `info` with the total size, file count and user metadata of `metadata.json`.
fn with_metadata(mut info: BackupInfo, metadata: Metadata) -> BackupInfo {
    info.total_size = Some(metadata.total_size());
    info.file_count = Some(metadata.file_count());
    info.user_metadata = metadata.user_metadata;
    info
}

/// What `list` and `status` report of a backup whose `status.json` is corrupt: `Corrupt`,
/// with the reason as the failure reason and the object's LastModified as timestamps.
pub(crate) fn info_from_corrupt(id: BackupId, read: &StatusRead) -> BackupInfo {
    let mut info = BackupInfo::missing(id);
    if let StatusRead::Corrupt {
        error, last_modified, ..
    } = read
    {
        info.status = StatusCode::Corrupt;
        info.failure_reason = Some(error.details().message.clone());
        info.created_at = *last_modified;
        info.updated_at = *last_modified;
    }
    info
}

pub(crate) fn not_found(id: &BackupId) -> Error {
    Error::NotFound(crate::ErrorDetails::message(format!("backup {id} does not exist"))).with_key(id.to_string())
}
