//! What the store's operations return, and their one JSON schema (`docs/SCHEMA.md`).
//!
//! Every result derives (or implements) `Serialize`; the CLI's `--json`, Python's
//! `to_dict()` and the JS objects are this serialisation and nothing else. The rules:
//!
//! - field names are camelCase; enum values have one spelling: kebab-case
//!   (`size-mismatch`, `keep-daily`), except the backup status codes, which keep the
//!   SCREAMING spelling of `status.json` (`IN_PROGRESS`, `DOES_NOT_EXIST`);
//! - a backup is named by four fields, `id` (`"P/C/N"`), `partition`, `checkpoint`, `node`;
//! - timestamps are RFC 3339 in UTC with milliseconds, `2024-05-01T13:45:12.500Z`
//!   ([`rfc3339`]), the form JavaScript's `Date.toISOString()` writes, so a JS `Date` turns
//!   back into the same text; fields holding one end in `At`;
//! - integers that may exceed 2^53 (checkpoint ids) are JSON strings; sizes and counts are
//!   numbers (exact in every face up to 2^53 bytes, 8 PiB);
//! - absent values are `null`, never left out.
//!
//! The effective configuration, [`crate::options::ConfigReport`], lives next to the option
//! table that defines its fields; it follows these rules, but its sizes and durations are
//! option strings (`16MiB`, `1h30m`) so that it can be given back as options.

use std::collections::BTreeMap;

use serde::ser::{SerializeMap as _, SerializeStruct as _};
use serde::{Serialize, Serializer};
use time::OffsetDateTime;

use crate::error::Error;
use crate::id::BackupId;
use crate::retention::{Action, Plan, PlanEntry, Reason, Rule};
use crate::status::StatusCode;

/// Formats a timestamp the one way results carry it: RFC 3339 in UTC with exactly three
/// fractional digits (`2024-05-01T13:45:12.500Z`; finer precision is truncated).
pub fn rfc3339(t: OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    let utc = t.to_offset(time::UtcOffset::UTC);
    utc.format(&format).unwrap_or_else(|_| utc.to_string())
}

/// `serialize_with` helpers for timestamps and ids.
mod with {
    use super::*;

    pub fn time<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&rfc3339(*t))
    }

    pub fn opt_time<S: Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => time(t, s),
            None => s.serialize_none(),
        }
    }

    /// Ids as their text `P/C/N`.
    pub fn id_texts<S: Serializer>(ids: &[BackupId], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(ids.iter().map(|id| id.to_string()))
    }
}

/// A backup id serialises as the four fields every result names a backup by: `id`
/// (`"P/C/N"`), `partition` and `node` (numbers) and `checkpoint` (a string: it may exceed
/// 2^53). Results flatten it into their own object.
impl Serialize for BackupId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("id", &self.to_string())?;
        m.serialize_entry("partition", &self.partition)?;
        m.serialize_entry("checkpoint", &self.checkpoint.to_string())?;
        m.serialize_entry("node", &self.node)?;
        m.end()
    }
}

/// An error inside a result (a prune's failed deletes) and the CLI's `{"error": ...}`:
/// `kind` (the variant), `code`, `status`, `requestId`, `key`, `endpoint`, `message` (what
/// failed, without the kind) and `hint` (what to do).
impl Serialize for Error {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.details();
        let mut e = s.serialize_struct("Error", 8)?;
        e.serialize_field("kind", self.kind())?;
        e.serialize_field("code", &d.code)?;
        e.serialize_field("status", &d.status)?;
        e.serialize_field("requestId", &d.request_id)?;
        e.serialize_field("key", &d.key)?;
        e.serialize_field("endpoint", &d.endpoint)?;
        e.serialize_field("message", &d.message)?;
        e.serialize_field("hint", self.hint())?;
        e.end()
    }
}

/// What `status`, `list`, `save` and `mark_failed` report of one backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupInfo {
    /// Which backup.
    #[serde(flatten)]
    pub id: BackupId,
    /// Its status (`DoesNotExist` when there is no `status.json`).
    pub status: StatusCode,
    /// Why it failed, for FAILED.
    pub failure_reason: Option<String>,
    /// When the save started; for Zeebe backups, the status object's LastModified.
    #[serde(serialize_with = "with::opt_time")]
    pub created_at: Option<OffsetDateTime>,
    /// When the status last changed; for Zeebe backups, the status object's LastModified.
    #[serde(serialize_with = "with::opt_time")]
    pub updated_at: Option<OffsetDateTime>,
    /// Who wrote it (`s3keep/x.y.z`); `None` for Zeebe backups.
    pub writer: Option<String>,
    /// Total bytes of its files, from `metadata.json` (`status` only; `None` in `list`).
    pub total_size: Option<u64>,
    /// Number of files, from `metadata.json` (`status` only; `None` in `list`).
    pub file_count: Option<u64>,
    /// The caller's metadata, from `metadata.json` (`status` only; empty in `list`).
    pub user_metadata: BTreeMap<String, String>,
}

impl BackupInfo {
    /// What `status` reports for an id without `status.json`.
    pub(crate) fn missing(id: BackupId) -> Self {
        Self {
            id,
            status: StatusCode::DoesNotExist,
            failure_reason: None,
            created_at: None,
            updated_at: None,
            writer: None,
            total_size: None,
            file_count: None,
            user_metadata: BTreeMap::new(),
        }
    }
}

/// What a restore into a directory did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreReport {
    /// The backup restored.
    #[serde(flatten)]
    pub id: BackupId,
    /// Files downloaded and renamed into place.
    pub files_restored: u64,
    /// Files already present with the right size and CRC32C, left as they were.
    pub files_skipped: u64,
    /// Bytes downloaded and written (skipped files not counted).
    pub bytes_restored: u64,
}

impl RestoreReport {
    /// Nothing restored yet from `id`.
    pub fn empty(id: BackupId) -> Self {
        Self {
            id,
            files_restored: 0,
            files_skipped: 0,
            bytes_restored: 0,
        }
    }
}

/// What `delete` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteReport {
    /// The backup deleted.
    #[serde(flatten)]
    pub id: BackupId,
    /// Objects deleted, `status.json` and `metadata.json` included.
    pub objects_deleted: u64,
}

/// What `verify` found. A damaged backup is a report with problems, not an error.
/// Serialised with `ok` ([`is_ok`](Self::is_ok)) after `deep`, `notes` last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// The backup verified.
    pub id: BackupId,
    /// Whether the files were downloaded again and their CRC32C checked.
    pub deep: bool,
    /// Files of `metadata.json` looked for (every one of them, found or not).
    pub files_checked: u64,
    /// Bytes of the files found, by their listed size (deep: also downloaded and checked).
    pub bytes_checked: u64,
    /// What is wrong, sorted by key; empty when the backup is intact.
    pub problems: Vec<VerifyProblem>,
    /// What is worth knowing but not wrong, one line each (format 2: packs no COMPLETED
    /// backup uses, which the next prune deletes); empty in format 1.
    pub notes: Vec<String>,
}

impl VerifyReport {
    /// Whether no problem was found.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl Serialize for VerifyReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Doc<'a> {
            #[serde(flatten)]
            id: &'a BackupId,
            deep: bool,
            ok: bool,
            files_checked: u64,
            bytes_checked: u64,
            problems: &'a [VerifyProblem],
            notes: &'a [String],
        }
        Doc {
            id: &self.id,
            deep: self.deep,
            ok: self.is_ok(),
            files_checked: self.files_checked,
            bytes_checked: self.bytes_checked,
            problems: &self.problems,
            notes: &self.notes,
        }
        .serialize(s)
    }
}

/// One object that does not match `metadata.json`: `key`, `kind` (`missing`,
/// `size-mismatch`, `checksum-mismatch`, `corrupt`), `expected` and `actual` (sizes in bytes,
/// or CRC32C in base64; `null` for `missing` and `corrupt`) and `message` (the line the CLI
/// prints; for `corrupt` it carries the reason).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyProblem {
    /// The object key (for a missing Zeebe snapshot file, the `snapshot/` key).
    pub key: String,
    /// What is wrong with it.
    pub kind: VerifyProblemKind,
}

/// What is wrong with an object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyProblemKind {
    /// `metadata.json` names it; the bucket does not have it.
    Missing,
    /// Its size in bytes differs from the one in `metadata.json` (deep: or the bytes
    /// downloaded differ from the listed size).
    SizeMismatch {
        /// Bytes expected.
        expected: u64,
        /// Bytes found.
        actual: u64,
    },
    /// Its CRC32C (base64 of the 4 big-endian bytes, as S3 writes it) differs (deep only).
    ChecksumMismatch {
        /// From `metadata.json`.
        expected: String,
        /// Computed from the downloaded bytes.
        actual: String,
    },
    /// Format 2: a pack that is torn, truncated or holds other bytes than its chunks' ids
    /// say (deep), or a file whose chunk is in no index object.
    Corrupt {
        /// What is wrong, in one line.
        reason: String,
    },
}

impl VerifyProblemKind {
    /// `missing`, `size-mismatch`, `checksum-mismatch` or `corrupt`.
    pub fn as_str(&self) -> &'static str {
        match self {
            VerifyProblemKind::Missing => "missing",
            VerifyProblemKind::SizeMismatch { .. } => "size-mismatch",
            VerifyProblemKind::ChecksumMismatch { .. } => "checksum-mismatch",
            VerifyProblemKind::Corrupt { .. } => "corrupt",
        }
    }
}

impl std::fmt::Display for VerifyProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A key comes from a metadata.json that may be tampered with: no raw control characters.
        let key = crate::escape::escape_controls(&self.key);
        match &self.kind {
            VerifyProblemKind::Missing => write!(f, "{key}: missing"),
            VerifyProblemKind::SizeMismatch { expected, actual } => {
                write!(f, "{key}: size mismatch: {actual} bytes, expected {expected}")
            }
            VerifyProblemKind::ChecksumMismatch { expected, actual } => {
                write!(f, "{key}: checksum mismatch: CRC32C {actual}, expected {expected}")
            }
            VerifyProblemKind::Corrupt { reason } => {
                write!(f, "{key}: corrupt: {}", crate::escape::escape_controls(reason))
            }
        }
    }
}

impl Serialize for VerifyProblem {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut p = s.serialize_struct("VerifyProblem", 5)?;
        p.serialize_field("key", &self.key)?;
        p.serialize_field("kind", self.kind.as_str())?;
        match &self.kind {
            VerifyProblemKind::Missing | VerifyProblemKind::Corrupt { .. } => {
                p.serialize_field("expected", &None::<u64>)?;
                p.serialize_field("actual", &None::<u64>)?;
            }
            VerifyProblemKind::SizeMismatch { expected, actual } => {
                p.serialize_field("expected", expected)?;
                p.serialize_field("actual", actual)?;
            }
            VerifyProblemKind::ChecksumMismatch { expected, actual } => {
                p.serialize_field("expected", expected)?;
                p.serialize_field("actual", actual)?;
            }
        }
        p.serialize_field("message", &self.to_string())?;
        p.end()
    }
}

/// What `prune` did: the plan, and for an executed plan what was deleted.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneReport {
    /// Whether the plan was only shown (`dry_run`).
    pub dry_run: bool,
    /// Every backup with keep/delete and the deciding rule (serialised as `entries`).
    #[serde(rename = "entries", serialize_with = "plan_entries")]
    pub plan: Plan,
    /// The backups deleted (empty for a dry run), as `"P/C/N"` texts.
    #[serde(serialize_with = "with::id_texts")]
    pub deleted: Vec<BackupId>,
    /// Backups whose delete failed, `[{id, error}]`; a later prune (or delete) finishes them.
    #[serde(serialize_with = "failed_deletes")]
    pub failed: Vec<(BackupId, Error)>,
    /// Backups the plan deletes that Object Lock still retains (§12), skipped, with their
    /// retain-until date: `[{id, lockedUntil}]`. A later prune deletes them.
    #[serde(serialize_with = "locked_backups")]
    pub locked: Vec<(BackupId, OffsetDateTime)>,
    /// What garbage collection deleted: set for an executed prune of a format 2 store,
    /// `null` otherwise (a dry run, or format 1, which has no shared packs).
    pub gc: Option<GcReport>,
}

/// What garbage collection of a format 2 store did (an executed prune; docs/FORMAT.md,
/// "Garbage collection"). Counts of objects; bytes in bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GcReport {
    /// Backups whose chunks were kept (COMPLETED, and CORRUPT ones with a manifest).
    pub backups_referenced: u64,
    /// Packs kept because a backup uses them.
    pub packs_used: u64,
    /// Packs no backup uses, kept because they are younger than the grace period (the lock
    /// stale limit): a later prune deletes them.
    pub packs_too_young: u64,
    /// Packs no backup uses, kept because Object Lock still retains them (§12).
    pub packs_locked: u64,
    /// Packs deleted.
    pub packs_deleted: u64,
    /// Bytes of the packs deleted.
    pub bytes_deleted: u64,
    /// Index objects written (the index rewritten without the dead packs).
    pub index_objects_written: u64,
    /// Index objects deleted (replaced by the ones written).
    pub index_objects_deleted: u64,
}

fn locked_backups<S: Serializer>(locked: &[(BackupId, OffsetDateTime)], s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Locked {
        id: String,
        locked_until: String,
    }
    let list: Vec<Locked> = locked
        .iter()
        .map(|(id, until)| Locked {
            id: id.to_string(),
            locked_until: crate::format2::retain::format_date(*until),
        })
        .collect();
    list.serialize(s)
}

fn plan_entries<S: Serializer>(plan: &Plan, s: S) -> Result<S::Ok, S::Error> {
    plan.entries.serialize(s)
}

fn failed_deletes<S: Serializer>(failed: &[(BackupId, Error)], s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Failed<'a> {
        id: String,
        error: &'a Error,
    }
    s.collect_seq(failed.iter().map(|(id, error)| Failed {
        id: id.to_string(),
        error,
    }))
}

/// One entry of a prune plan: the backup's four id fields, `status`, `createdAt`, `action`
/// (`keep` | `delete`), `reason` (the deciding rule, e.g. `keep-daily`) and `matched` (every
/// keep rule that kept it).
impl Serialize for PlanEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Entry<'a> {
            #[serde(flatten)]
            id: &'a BackupId,
            status: StatusCode,
            #[serde(serialize_with = "with::time")]
            created_at: &'a OffsetDateTime,
            action: Action,
            reason: Reason,
            matched: &'a [Rule],
        }
        Entry {
            id: &self.id,
            status: self.status,
            created_at: &self.created_at,
            action: self.action,
            reason: self.reason,
            matched: &self.matched,
        }
        .serialize(s)
    }
}

/// What `cleanup_uploads` did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CleanupReport {
    /// Uploads initiated at or before this instant were aborted (now − `older_than`).
    #[serde(serialize_with = "with::time")]
    pub cutoff_at: OffsetDateTime,
    /// The uploads aborted, in listing order (by key).
    pub aborted: Vec<AbortedUpload>,
}

/// A multipart upload `cleanup_uploads` aborted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AbortedUpload {
    /// Its object key.
    pub key: String,
    /// Its UploadId.
    pub upload_id: String,
    /// When it was started (ListMultipartUploads' `Initiated`); `None` if the store did not
    /// say (such uploads are never aborted, so this is always set in a report).
    #[serde(serialize_with = "with::opt_time")]
    pub initiated_at: Option<OffsetDateTime>,
}

/// What `check` (the CLI's `doctor`) found: where it looked and one line per check.
/// Serialised with `ok` ([`is_ok`](Self::is_ok)) first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckReport {
    /// The endpoint requests went to (never with credentials).
    pub endpoint: String,
    /// The bucket.
    pub bucket: String,
    /// The key prefix, normalised.
    pub prefix: String,
    /// The checks, in the order they ran.
    pub checks: Vec<CheckResult>,
}

impl CheckReport {
    /// Whether no check failed (warnings and skipped checks are fine).
    pub fn is_ok(&self) -> bool {
        !self.checks.iter().any(|c| c.state == CheckState::Failed)
    }
}

impl Serialize for CheckReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut r = s.serialize_struct("CheckReport", 5)?;
        r.serialize_field("ok", &self.is_ok())?;
        r.serialize_field("endpoint", &self.endpoint)?;
        r.serialize_field("bucket", &self.bucket)?;
        r.serialize_field("prefix", &self.prefix)?;
        r.serialize_field("checks", &self.checks)?;
        r.end()
    }
}

/// The outcome of one check of `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckState {
    /// Works.
    Ok,
    /// Works, but something deserves attention.
    Warning,
    /// Does not work; `hint` says what to do.
    Failed,
    /// Not tried, because an earlier check failed.
    Skipped,
}

impl CheckState {
    /// `ok`, `warning`, `failed` or `skipped`.
    pub fn as_str(&self) -> &'static str {
        match self {
            CheckState::Ok => "ok",
            CheckState::Warning => "warning",
            CheckState::Failed => "failed",
            CheckState::Skipped => "skipped",
        }
    }
}

/// One line of the doctor's report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckResult {
    /// What was checked: `endpoint`, `credentials`, `bucket`, `put`, `get`, `list`,
    /// `delete`, `clock`, `addressing`.
    pub name: &'static str,
    /// The outcome.
    pub state: CheckState,
    /// What was found.
    pub message: String,
    /// What to do about it (empty when fine).
    pub hint: String,
    /// The S3 error code behind a failure, if any.
    pub code: Option<String>,
}

/// How far a save or restore has got. Bytes in bytes; files counted when finished. The
/// snapshots of one operation arrive in order: every field only grows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// Bytes transferred so far.
    pub bytes_done: u64,
    /// Bytes to transfer in all (unknown stream sizes count as 0).
    pub bytes_total: u64,
    /// Files finished.
    pub files_done: u64,
    /// Files in all.
    pub files_total: u64,
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
