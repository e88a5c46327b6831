//! The backup status codes of `status.json` (SPEC §3).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The `statusCode` of a backup's `status.json`, as Zeebe writes it.
///
/// `DoesNotExist` is never stored: it is what [`status`](crate::BackupStore::status) reports
/// when there is no `status.json` for an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StatusCode {
    /// `save` has started and not finished (or the writer died; see the stale threshold).
    InProgress,
    /// Every file and `metadata.json` were written; the only state restore accepts.
    Completed,
    /// `save` failed or the backup was marked failed; `failureReason` says why.
    Failed,
    /// `delete` has started; readers ignore the backup, a later delete finishes it.
    Deleting,
    /// No `status.json` exists for this id.
    DoesNotExist,
}

impl StatusCode {
    /// The wire form: `IN_PROGRESS`, `COMPLETED`, `FAILED`, `DELETING`, `DOES_NOT_EXIST`.
    pub fn as_str(&self) -> &'static str {
        match self {
            StatusCode::InProgress => "IN_PROGRESS",
            StatusCode::Completed => "COMPLETED",
            StatusCode::Failed => "FAILED",
            StatusCode::Deleting => "DELETING",
            StatusCode::DoesNotExist => "DOES_NOT_EXIST",
        }
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StatusCode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Ok(match s {
            "IN_PROGRESS" => StatusCode::InProgress,
            "COMPLETED" => StatusCode::Completed,
            "FAILED" => StatusCode::Failed,
            "DELETING" => StatusCode::Deleting,
            "DOES_NOT_EXIST" => StatusCode::DoesNotExist,
            other => {
                return Err(Error::invalid_input(format!(
                    "unknown backup status {other:?} (expected IN_PROGRESS, COMPLETED, FAILED, DELETING)"
                )))
            }
        })
    }
}
