//! The backup store: the layout of SPEC §3 and the protocols of SPEC §4 on top of the S3
//! client. One file per operation: `save.rs`, `restore.rs`, `delete.rs`, `list.rs`,
//! `verify.rs`, `prune.rs`, `maintenance.rs` (cleanup_uploads, check).

mod delete;
pub mod layout;
mod list;
mod maintenance;
pub mod manifest;
mod progress;
mod prune;
mod restore;
mod save;
mod source;
mod verify;

use std::collections::BTreeMap;

use bytes::Bytes;
use time::OffsetDateTime;

pub use crate::id::BackupId;
pub use crate::report::{
    AbortedUpload, BackupInfo, CheckReport, CheckResult, CheckState, CleanupReport, DeleteReport, Progress,
    PruneReport, RestoreReport, VerifyProblem, VerifyProblemKind, VerifyReport,
};
pub use crate::status::StatusCode;
pub use delete::DeleteOptions;
pub use list::ListFilter;
pub use manifest::{FileEntry, Metadata, StatusDoc, ZeebeDescriptor};
pub use progress::ProgressFn;
pub use restore::RestoreOptions;
pub use save::SaveOptions;
pub use source::{FileSet, FileSpec, RangedSource, Source};

use crate::config::StoreConfig;
use crate::error::{Error, Result};
use crate::s3::{PutOptions, PutResult, S3Client};
use layout::Layout;

/// A backup store: one bucket and prefix of an S3-compatible store (SPEC §4).
///
/// Cheap to clone. Every operation is safe to retry and safe to interrupt.
#[derive(Clone, Debug)]
pub struct BackupStore {
    client: S3Client,
    layout: Layout,
    config: StoreConfig,
}

/// A `status.json` as read, with the ETag needed to change it conditionally.
#[derive(Clone, Debug)]
pub(crate) struct StatusObject {
    pub doc: StatusDoc,
    pub etag: Option<String>,
    /// The object's LastModified, standing in for timestamps Zeebe does not write.
    pub last_modified: Option<OffsetDateTime>,
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
        let client = S3Client::new(config.client.clone())?;
        let layout = Layout::new(crate::config::normalize_prefix(&config.prefix));
        Ok(Self { client, layout, config })
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
            Err(Error::NoSuchBucket(_)) if self.config.create_bucket => self.client.create_bucket().await,
            other => other,
        }
    }

    /// status(id): code, failure reason, timestamps, and from `metadata.json` the total size,
    /// file count and user metadata. A missing backup reports `DoesNotExist`, not an error.
    pub async fn status(&self, id: BackupId) -> Result<BackupInfo> {
        let Some(status) = self.read_status(&id).await? else {
            return Ok(BackupInfo::missing(id));
        };
        let mut info = info_from_status(id, &status);
        if status.doc.status_code == StatusCode::Completed {
            if let Some(metadata) = self.read_metadata(&id).await? {
                info.total_size = Some(metadata.total_size());
                info.file_count = Some(metadata.file_count());
                info.user_metadata = metadata.user_metadata;
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
    pub(crate) async fn read_status(&self, id: &BackupId) -> Result<Option<StatusObject>> {
        let key = self.layout.status_key(id);
        let Some((bytes, head)) = self.get_small(&key).await? else {
            return Ok(None);
        };
        Ok(Some(StatusObject {
            doc: StatusDoc::from_json(&key, &bytes)?,
            etag: head.etag,
            last_modified: head
                .last_modified
                .as_deref()
                .and_then(|d| httpdate::parse_http_date(d).ok())
                .map(OffsetDateTime::from),
        }))
    }

    /// Reads `metadata.json`; `None` when it does not exist.
    pub(crate) async fn read_metadata(&self, id: &BackupId) -> Result<Option<Metadata>> {
        let key = self.layout.metadata_key(id);
        match self.get_small(&key).await? {
            Some((bytes, _)) => Metadata::from_json(&key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    async fn get_small(&self, key: &str) -> Result<Option<(Bytes, crate::s3::ObjectHead)>> {
        match self.client.get_object(key, None).await {
            Ok(output) => {
                let head = output.head.clone();
                Ok(Some((output.bytes().await?, head)))
            }
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
        let now = crate::runtime::now_utc();
        let mut doc = StatusDoc::new(code, previous.created_at().unwrap_or(now), now);
        doc.failure_reason = failure_reason;
        let options = PutOptions {
            if_match: previous.etag.clone(),
            content_type: Some("application/json".into()),
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
        match self.put_json(&key, doc.to_json(), options).await {
            Err(Error::Conflict(d)) => match self.read_status(id).await? {
                Some(current) if current.doc == *doc => Ok(PutResult {
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

pub(crate) fn not_found(id: &BackupId) -> Error {
    Error::NotFound(crate::ErrorDetails::message(format!("backup {id} does not exist"))).with_key(id.to_string())
}
