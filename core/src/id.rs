//! [`BackupId`]: which backup, in Zeebe's terms (§3). A leaf module: the backup
//! protocols and the retention planner both name backups with it.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// Identifies one backup: Zeebe's `partitionId` / `checkpointId` / `nodeId`.
///
/// Applications without partitions use partition 0 and node 0. The textual form,
/// used by the CLI and in error messages, is `PARTITION/CHECKPOINT/NODE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BackupId {
    /// Zeebe's partitionId.
    pub partition: u32,
    /// Zeebe's checkpointId; the CLI uses the Unix time in milliseconds by default.
    pub checkpoint: u64,
    /// Zeebe's nodeId.
    pub node: u32,
}

impl BackupId {
    /// A backup id from its three parts.
    pub fn new(partition: u32, checkpoint: u64, node: u32) -> Self {
        Self {
            partition,
            checkpoint,
            node,
        }
    }

    /// The key of the backup's folder below the store prefix: `{partition}/{checkpoint}/{node}/`.
    pub fn key_prefix(&self) -> String {
        format!("{}/{}/{}/", self.partition, self.checkpoint, self.node)
    }
}

impl fmt::Display for BackupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.partition, self.checkpoint, self.node)
    }
}

impl FromStr for BackupId {
    type Err = Error;

    /// Parses `PARTITION/CHECKPOINT/NODE`, e.g. `1/1700000000000/0`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when there are not three non-negative integers.
    fn from_str(s: &str) -> Result<Self, Error> {
        let parts: Vec<&str> = s.split('/').collect();
        let bad = || {
            Error::invalid_input(format!(
                "backup id {s:?} is not PARTITION/CHECKPOINT/NODE (three non-negative integers, e.g. 0/1700000000000/0)"
            ))
        };
        if parts.len() != 3 {
            return Err(bad());
        }
        Ok(Self {
            partition: parts[0].parse().map_err(|_| bad())?,
            checkpoint: parts[1].parse().map_err(|_| bad())?,
            node: parts[2].parse().map_err(|_| bad())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_round_trips_through_text() {
        let id: BackupId = "3/1700000000000/1".parse().unwrap();
        assert_eq!(id, BackupId::new(3, 1_700_000_000_000, 1));
        assert_eq!(id.to_string(), "3/1700000000000/1");
        assert_eq!(id.key_prefix(), "3/1700000000000/1/");
    }

    #[test]
    fn malformed_ids_are_invalid_input() {
        for bad in ["", "1/2", "1/2/3/4", "a/2/3", "-1/2/3", "1//3"] {
            let err = bad.parse::<BackupId>().unwrap_err();
            assert!(matches!(err, Error::InvalidInput(_)), "{bad}: {err}");
        }
    }
}
