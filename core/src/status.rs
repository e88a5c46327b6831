//! The backup status codes of `status.json` (§3). A leaf module, like `id.rs`: the
//! backup protocols and the retention planner both use it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The `statusCode` of a backup's `status.json`, as Zeebe writes it.
///
/// `DoesNotExist` and `Corrupt` are never stored: they are what
/// [`status`](crate::BackupStore::status) and [`list`](crate::BackupStore::list) report when
/// there is no `status.json` for an id, or one that is not a status document.
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
    /// The `status.json` cannot be read as a status (not JSON, an unknown code, too large):
    /// `list` and `status` report it so instead of failing, `prune` keeps it, `delete` with
    /// force removes it. Never stored (and never read from a status object).
    #[serde(skip_deserializing)]
    Corrupt,
}

impl StatusCode {
    /// The wire form: `IN_PROGRESS`, `COMPLETED`, `FAILED`, `DELETING`, `DOES_NOT_EXIST`,
    /// `CORRUPT`.
    pub fn as_str(&self) -> &'static str {
        match self {
            StatusCode::InProgress => "IN_PROGRESS",
            StatusCode::Completed => "COMPLETED",
            StatusCode::Failed => "FAILED",
            StatusCode::Deleting => "DELETING",
            StatusCode::DoesNotExist => "DOES_NOT_EXIST",
            StatusCode::Corrupt => "CORRUPT",
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
            "CORRUPT" => StatusCode::Corrupt,
            other => {
                return Err(Error::invalid_input(format!(
                    "unknown backup status {other:?} (expected IN_PROGRESS, COMPLETED, FAILED, DELETING)"
                )))
            }
        })
    }
}
