//! delete: the protocol of §4 that leaves nothing behind, however many files.
//!
//! 1. status → DELETING (readers ignore the backup from now on);
//! 2. every key under the backup's folder, page by page (ListObjectsV2 with continuation
//!    tokens), deleted in DeleteObjects batches of at most 1000 — one batch per page; keys
//!    that fail in a 200 answer are retried, then reported;
//! 3. `metadata.json`, then `status.json` last.
//!
//! A delete that reads only the first page of the listing leaves every key past the first 1000
//! behind (the store this layout comes from did). Re-running a half-done delete (the status
//! says DELETING) finishes it.

use futures::TryStreamExt as _;

use super::layout::{key_inside, METADATA_JSON, STATUS_JSON};
use super::{not_found, BackupId, BackupStore, DeleteReport, StatusCode, StatusDoc, StatusObject, StatusRead};
use crate::error::{Error, ErrorDetails, Result};
use crate::runtime;
use crate::s3::{DeleteError, ListOptions};

/// Tries of DeleteObjects for keys that failed inside a 200 answer.
const PER_KEY_ATTEMPTS: u32 = 3;

/// Options of [`BackupStore::delete`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// Delete an IN_PROGRESS backup that is not yet stale (its writer may still be running).
    pub force: bool,
}

impl BackupStore {
    /// delete(id): removes every object of the backup; reports how many were deleted.
    ///
    /// Only keys inside the backup's folder are deleted ([`key_inside`]), whatever the
    /// store's listing names; others are left alone and reported in an error once the backup
    /// is gone. A backup whose `status.json` is not a status document (`CORRUPT`) is deleted
    /// only with `force`.
    ///
    /// # Errors
    /// [`Error::NotFound`] when nothing of the backup exists; [`Error::Conflict`] for an
    /// IN_PROGRESS backup younger than the stale threshold without `force`, or (code
    /// `ObjectLocked`, the date in the message) for a backup of a store with Object Lock
    /// whose retain-until is still ahead, `force` or not;
    /// [`Error::Integrity`] for a CORRUPT one without `force`; [`Error::S3`] naming the keys
    /// that could not be deleted after retries, or, after the delete, the keys outside the
    /// folder the listing named (the store ignores the listing's prefix).
    pub async fn delete(&self, id: BackupId, options: DeleteOptions) -> Result<DeleteReport> {
        self.bucket_ready().await?;
        let status = match self.read_status_or_corrupt(&id).await? {
            StatusRead::Missing => None,
            StatusRead::Found(status) => Some(status),
            StatusRead::Corrupt { error, .. } if !options.force => {
                let reason = &error.details().message;
                return Err(Error::integrity(
                    self.layout.status_key(&id),
                    format!("backup {id} has an unreadable status ({reason}); its state is unknown, so only a forced delete removes it"),
                ));
            }
            StatusRead::Corrupt {
                etag, last_modified, ..
            } => Some(StatusObject {
                // Replaced by DELETING conditionally on the corrupt object's ETag.
                doc: StatusDoc {
                    status_code: StatusCode::Corrupt,
                    failure_reason: None,
                    created_at: None,
                    updated_at: None,
                    writer: None,
                },
                etag,
                last_modified,
            }),
        };
        if let Some(s) = &status {
            if s.doc.status_code == StatusCode::InProgress && !options.force {
                let stale_after = time::Duration::try_from(self.config.stale_after).unwrap_or(time::Duration::MAX);
                let fresh = s
                    .created_at()
                    .is_none_or(|created| runtime::now_utc() - created < stale_after);
                if fresh {
                    return Err(Error::Conflict(ErrorDetails::message(format!(
                        "backup {id} is IN_PROGRESS and may still be written; wait until it is stale or use force"
                    )))
                    .with_key(id.to_string()));
                }
            }
            // Object Lock (§12): a backup its store's lock still retains is refused before
            // DELETING (a delete would only hide its objects behind delete markers).
            if s.doc.status_code != StatusCode::Deleting {
                if let Some(until) = self.locked_until(s.created_at(), runtime::now_utc()).await? {
                    return Err(crate::format2::retain::locked_error(&id, until).with_key(id.to_string()));
                }
            }
            // DELETING changes the status ETag, so a writer still alive cannot complete the
            // backup (its If-Match fails) while its files are being deleted.
            if s.doc.status_code != StatusCode::Deleting {
                self.write_status(&id, s, StatusCode::Deleting, None).await?;
            }
        }
        let (deleted, outside) = self.delete_files(&id).await?;
        if status.is_none() && deleted == 0 && outside.is_empty() {
            return Err(not_found(&id));
        }
        self.client.delete_object(&self.layout.metadata_key(&id)).await?;
        self.client.delete_object(&self.layout.status_key(&id)).await?;
        if !outside.is_empty() {
            return Err(outside_keys_left_alone(&id, &self.layout.backup_prefix(&id), &outside));
        }
        Ok(DeleteReport {
            id,
            objects_deleted: deleted + 2,
        })
    }

    /// Step 2: every key inside the folder but the two manifests, page by page, one
    /// DeleteObjects per page. Returns how many were deleted, and the keys the listing named
    /// outside the folder (left alone).
    async fn delete_files(&self, id: &BackupId) -> Result<(u64, Vec<String>)> {
        let folder = self.layout.backup_prefix(id);
        let manifests = [format!("{folder}{STATUS_JSON}"), format!("{folder}{METADATA_JSON}")];
        let options = ListOptions {
            prefix: folder.clone(),
            ..ListOptions::default()
        };
        let mut pages = std::pin::pin!(self.client.list_objects_v2(options));
        let mut deleted = 0;
        let mut outside = Vec::new();
        while let Some(page) = pages.try_next().await? {
            let (keys, others): (Vec<String>, Vec<String>) = page
                .objects
                .into_iter()
                .map(|o| o.key)
                .filter(|k| !manifests.contains(k))
                .partition(|k| key_inside(&folder, k));
            outside.extend(others);
            if !keys.is_empty() {
                deleted += keys.len() as u64;
                self.delete_batch(keys).await?;
            }
        }
        Ok((deleted, outside))
    }

    /// One DeleteObjects batch (≤ 1000 keys); keys reported as failed are retried.
    pub(crate) async fn delete_batch(&self, mut keys: Vec<String>) -> Result<()> {
        let mut errors: Vec<DeleteError> = Vec::new();
        for attempt in 1..=PER_KEY_ATTEMPTS {
            let outcome = self.client.delete_objects(&keys).await?;
            if outcome.errors.is_empty() {
                return Ok(());
            }
            keys = outcome.errors.iter().map(|e| e.key.clone()).collect();
            errors = outcome.errors;
            tracing::warn!(
                attempt,
                failed = keys.len(),
                "DeleteObjects reported per-key errors; retrying them"
            );
            runtime::sleep(std::time::Duration::from_millis(100 * u64::from(attempt))).await;
        }
        let listed: Vec<String> = errors
            .iter()
            .take(10)
            .map(|e| format!("{} ({})", e.key, e.code.as_deref().unwrap_or("unknown error")))
            .collect();
        Err(Error::S3(ErrorDetails {
            code: errors.first().and_then(|e| e.code.clone()),
            key: errors.first().map(|e| e.key.clone()),
            message: format!(
                "{} objects could not be deleted after {PER_KEY_ATTEMPTS} tries: {}; run delete again to finish",
                errors.len(),
                listed.join(", ")
            ),
            ..ErrorDetails::default()
        }))
    }
}

/// The error of a listing that named keys outside the backup's folder: they were left alone.
fn outside_keys_left_alone(id: &BackupId, folder: &str, keys: &[String]) -> Error {
    let shown: Vec<String> = keys.iter().take(3).map(|k| format!("{k:?}")).collect();
    let more = match keys.len() {
        n if n > 3 => format!(" and {} more", n - 3),
        _ => String::new(),
    };
    Error::S3(ErrorDetails {
        message: format!(
            "backup {id} was deleted, but the store's ListObjectsV2 of {folder:?} also named {} keys outside that folder, which were left alone: {}{more}; the store does not filter listings by prefix",
            keys.len(),
            shown.join(", ")
        ),
        key: Some(folder.to_string()),
        ..ErrorDetails::default()
    })
}
