//! `status.json` and `metadata.json` (§3), written in format version 1 and read also
//! as Zeebe's S3 backup store writes them (`Status(statusCode, failureReason)` and
//! `Metadata(checkpointId, partitionId, nodeId, checkpointPosition, snapshotId,
//! numberOfPartitions, snapshotFileNames, segmentFileNames)`, Jackson camelCase).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{BackupId, StatusCode};
use crate::error::{Error, Result};
use crate::options::values::parse_count;

/// The most bytes of a `status.json` s3keep reads: 64 KiB. Ours are under 1 KiB (a failure
/// reason included); a larger object is not a status document and is reported as corrupt.
pub const MAX_STATUS_BYTES: usize = 64 * 1024;

/// The most bytes of a `metadata.json` s3keep reads or writes: 64 MiB. That holds 25,000 files
/// even with names of the longest kind (a 1,024-byte key, written twice for Zeebe's file lists,
/// about 2.1 KiB a file) and some 300,000 files with names of 100 bytes; `save` refuses a
/// backup whose metadata would be larger, so every backup it completes can be read back.
pub const MAX_METADATA_BYTES: usize = 64 * 1024 * 1024;

/// The content of `status.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusDoc {
    /// IN_PROGRESS, COMPLETED, FAILED or DELETING.
    pub status_code: StatusCode,
    /// Why the backup failed, for FAILED.
    #[serde(default)]
    pub failure_reason: Option<String>,
    /// When the save started (RFC 3339); absent in Zeebe's status objects.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<OffsetDateTime>,
    /// When the status last changed (RFC 3339); absent in Zeebe's status objects.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub updated_at: Option<OffsetDateTime>,
    /// `s3keep/x.y.z`; absent in Zeebe's status objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer: Option<String>,
}

impl StatusDoc {
    /// A fresh status written by this version of s3keep at `now`.
    pub fn new(status_code: StatusCode, created_at: OffsetDateTime, now: OffsetDateTime) -> Self {
        Self {
            status_code,
            failure_reason: None,
            created_at: Some(created_at),
            updated_at: Some(now),
            writer: Some(crate::WRITER.to_string()),
        }
    }

    /// The JSON bytes.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a status document always serialises")
    }

    /// Parses a status object (ours or Zeebe's).
    ///
    /// # Errors
    /// [`Error::Integrity`] when the object is not a status document.
    pub fn from_json(key: &str, bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes)
            .map_err(|e| Error::integrity(key, format!("status object {key} is not valid status JSON: {e}")))
    }
}

/// One file of a file set, as recorded in `metadata.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path relative to the set, `/`-separated.
    pub name: String,
    /// Size in bytes; `None` for Zeebe-written backups (taken from the listing instead).
    #[serde(default)]
    pub size: Option<u64>,
    /// CRC32C as S3 writes it (base64 of 4 big-endian bytes); `None` for Zeebe backups.
    #[serde(default)]
    pub crc32c: Option<String>,
    /// The ETag of the S3 source object this file was saved from (§13), quotes included;
    /// a later save skips an object with the same ETag and size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

/// The content of `metadata.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// 1 for s3keep's format; `None` in Zeebe-written metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format_version: Option<u32>,
    /// Zeebe's partitionId.
    pub partition_id: u32,
    /// Zeebe's checkpointId.
    pub checkpoint_id: u64,
    /// Zeebe's nodeId.
    pub node_id: u32,
    /// Every file of every set: set name → files.
    #[serde(default)]
    pub file_sets: BTreeMap<String, Vec<FileEntry>>,
    /// The caller's key/value metadata.
    #[serde(default)]
    pub user_metadata: BTreeMap<String, String>,
    /// When the save started.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<OffsetDateTime>,
    /// `s3keep/x.y.z`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer: Option<String>,
    /// Zeebe descriptor: the log position of the checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_position: Option<u64>,
    /// Zeebe descriptor: partitions in the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_of_partitions: Option<u32>,
    /// Zeebe descriptor: the snapshot's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_id: Option<String>,
    /// Zeebe's list of the `snapshot` set's files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_file_names: Option<Vec<String>>,
    /// Zeebe's list of the `segments` set's files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_file_names: Option<Vec<String>>,
    /// Format 2: bytes of all files (the file list is in the manifest, not here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_size: Option<u64>,
    /// Format 2: number of files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_count: Option<u64>,
}

/// Zeebe's descriptor fields, given by callers that write Zeebe-compatible backups (as JSON,
/// by their camelCase names).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ZeebeDescriptor {
    /// The log position of the checkpoint.
    pub checkpoint_position: Option<u64>,
    /// Partitions in the cluster.
    pub number_of_partitions: Option<u32>,
    /// The snapshot's id.
    pub snapshot_id: Option<String>,
}

impl ZeebeDescriptor {
    /// Sets a field by its snake_case name (`checkpoint_position`, `number_of_partitions`,
    /// `snapshot_id`) from its text, as the Python face hands it over.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the field: another name, or a count out of range.
    pub fn set(&mut self, name: &str, text: &str) -> Result<()> {
        let what = format!("descriptor {name}");
        match name {
            "checkpoint_position" => self.checkpoint_position = Some(parse_count(&what, text, 0, i64::MAX as u64)?),
            "number_of_partitions" => {
                self.number_of_partitions = Some(parse_count(&what, text, 0, u64::from(u32::MAX))? as u32)
            }
            "snapshot_id" => self.snapshot_id = Some(text.to_string()),
            _ => {
                let known = "checkpoint_position, number_of_partitions, snapshot_id";
                return Err(Error::invalid_input(format!(
                    "unknown descriptor field {name:?} ({known})"
                )));
            }
        }
        Ok(())
    }
}

/// The Zeebe set names and where Zeebe's own store puts them (§3).
pub const ZEEBE_SNAPSHOT_SET: &str = "snapshot";
/// Zeebe's segments set.
pub const ZEEBE_SEGMENTS_SET: &str = "segments";

impl Metadata {
    /// Metadata of a new backup (format version 1), with the Zeebe file lists filled in
    /// when the `snapshot` / `segments` sets exist.
    pub fn new(
        id: &BackupId,
        file_sets: BTreeMap<String, Vec<FileEntry>>,
        user_metadata: BTreeMap<String, String>,
        descriptor: ZeebeDescriptor,
        created_at: OffsetDateTime,
    ) -> Self {
        let names = |set: &str| {
            file_sets
                .get(set)
                .map(|files| files.iter().map(|f| f.name.clone()).collect())
        };
        Self {
            format_version: Some(1),
            partition_id: id.partition,
            checkpoint_id: id.checkpoint,
            node_id: id.node,
            snapshot_file_names: names(ZEEBE_SNAPSHOT_SET),
            segment_file_names: names(ZEEBE_SEGMENTS_SET),
            file_sets,
            user_metadata,
            created_at: Some(created_at),
            writer: Some(crate::WRITER.to_string()),
            checkpoint_position: descriptor.checkpoint_position,
            number_of_partitions: descriptor.number_of_partitions,
            snapshot_id: descriptor.snapshot_id,
            total_size: None,
            file_count: None,
        }
    }

    /// The `metadata.json` of a format 2 backup: a summary for `status` (sizes, counts,
    /// user metadata); the files are listed in its manifest.
    pub fn format2_summary(
        id: &BackupId,
        total_size: u64,
        file_count: u64,
        user_metadata: BTreeMap<String, String>,
        descriptor: ZeebeDescriptor,
        created_at: OffsetDateTime,
    ) -> Self {
        let mut metadata = Self::new(id, BTreeMap::new(), user_metadata, descriptor, created_at);
        metadata.format_version = Some(2);
        metadata.total_size = Some(total_size);
        metadata.file_count = Some(file_count);
        metadata
    }

    /// Whether this is a format 2 backup (its files are in `manifest.json.zst`).
    pub fn is_format2(&self) -> bool {
        self.format_version == Some(2)
    }

    /// The JSON bytes.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("metadata always serialises")
    }

    /// Parses a metadata object (ours or Zeebe's). For Zeebe's, the file sets are built from
    /// `snapshotFileNames` and `segmentFileNames`, without sizes or checksums.
    ///
    /// # Errors
    /// [`Error::Integrity`] when the object is not a metadata document.
    pub fn from_json(key: &str, bytes: &[u8]) -> Result<Self> {
        let mut metadata: Metadata = serde_json::from_slice(bytes)
            .map_err(|e| Error::integrity(key, format!("metadata object {key} is not valid metadata JSON: {e}")))?;
        if metadata.file_sets.is_empty() {
            for (set, names) in [
                (ZEEBE_SNAPSHOT_SET, &metadata.snapshot_file_names),
                (ZEEBE_SEGMENTS_SET, &metadata.segment_file_names),
            ] {
                if let Some(names) = names {
                    let entries = names
                        .iter()
                        .map(|n| FileEntry {
                            name: n.clone(),
                            size: None,
                            crc32c: None,
                            etag: None,
                        })
                        .collect();
                    metadata.file_sets.insert(set.to_string(), entries);
                }
            }
        }
        Ok(metadata)
    }

    /// Whether this metadata was written by Zeebe (no `formatVersion`).
    pub fn is_zeebe(&self) -> bool {
        self.format_version.is_none()
    }

    /// Total bytes of all files whose size is known.
    pub fn total_size(&self) -> u64 {
        match self.total_size {
            Some(total) if self.file_sets.is_empty() => total,
            _ => self.file_sets.values().flatten().filter_map(|f| f.size).sum(),
        }
    }

    /// Number of files in all sets.
    pub fn file_count(&self) -> u64 {
        match self.file_count {
            Some(count) if self.file_sets.is_empty() => count,
            _ => self.file_sets.values().map(|f| f.len() as u64).sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn status_round_trips_in_spec_shape() {
        let t = datetime!(2026-11-22 10:00:00 UTC);
        let doc = StatusDoc::new(StatusCode::InProgress, t, t);
        let json: serde_json::Value = serde_json::from_slice(&doc.to_json()).unwrap();
        assert_eq!(json["statusCode"], "IN_PROGRESS");
        assert_eq!(json["failureReason"], serde_json::Value::Null);
        assert_eq!(json["createdAt"], "2026-11-22T10:00:00Z");
        assert!(json["writer"].as_str().unwrap().starts_with("s3keep/"));
        assert_eq!(StatusDoc::from_json("k", &doc.to_json()).unwrap(), doc);
    }

    #[test]
    fn zeebe_status_and_metadata_are_read() {
        let status = StatusDoc::from_json("k", br#"{"statusCode":"COMPLETED","failureReason":null}"#).unwrap();
        assert_eq!(status.status_code, StatusCode::Completed);
        assert_eq!(status.created_at, None);
        let zeebe = br#"{"checkpointId":5,"partitionId":1,"nodeId":0,"checkpointPosition":99,
            "snapshotId":"1-1-2-3","numberOfPartitions":3,
            "snapshotFileNames":["a.sst","CURRENT"],"segmentFileNames":["raft-1.log"]}"#;
        let m = Metadata::from_json("k", zeebe).unwrap();
        assert!(m.is_zeebe());
        assert_eq!(m.file_sets["snapshot"].len(), 2);
        assert_eq!(m.file_sets["segments"][0].name, "raft-1.log");
        assert_eq!(m.file_count(), 3);
        assert_eq!(m.checkpoint_position, Some(99));
    }

    #[test]
    fn metadata_of_25000_files_with_the_longest_names_fits_the_read_limit() {
        // 1,000-byte names in the `snapshot` set, which Zeebe's file list repeats.
        let files: Vec<FileEntry> = (0..25_000)
            .map(|i| FileEntry {
                name: format!("{i:05}{}", "n".repeat(995)),
                size: Some(u64::from(u32::MAX)),
                crc32c: Some("AAAAAA==".into()),
                etag: None,
            })
            .collect();
        let sets = BTreeMap::from([(ZEEBE_SNAPSHOT_SET.to_string(), files)]);
        let t = datetime!(2026-11-22 10:00:00 UTC);
        let m = Metadata::new(
            &BackupId::new(1, 2, 3),
            sets,
            BTreeMap::new(),
            ZeebeDescriptor::default(),
            t,
        );
        let size = m.to_json().len();
        assert!(size > 50_000_000 && size < MAX_METADATA_BYTES, "{size}");
    }

    #[test]
    fn new_metadata_lists_zeebe_sets_and_totals() {
        let mut sets = BTreeMap::new();
        let file = |name: &str, size| FileEntry {
            name: name.into(),
            size: Some(size),
            crc32c: Some("AAAAAA==".into()),
            etag: None,
        };
        sets.insert("snapshot".to_string(), vec![file("s1", 10), file("s2", 5)]);
        sets.insert("files".to_string(), vec![file("f", 1)]);
        let t = datetime!(2026-11-22 10:00:00 UTC);
        let m = Metadata::new(
            &BackupId::new(1, 2, 3),
            sets,
            BTreeMap::new(),
            ZeebeDescriptor::default(),
            t,
        );
        assert_eq!(m.total_size(), 16);
        assert_eq!(m.snapshot_file_names, Some(vec!["s1".to_string(), "s2".to_string()]));
        assert_eq!(m.segment_file_names, None);
        let json: serde_json::Value = serde_json::from_slice(&m.to_json()).unwrap();
        assert_eq!(json["formatVersion"], 1);
        assert_eq!(json["fileSets"]["files"][0]["crc32c"], "AAAAAA==");
        assert_eq!(Metadata::from_json("k", &m.to_json()).unwrap(), m);
    }

    #[test]
    fn descriptor_fields_are_set_by_their_snake_case_names() {
        let mut d = ZeebeDescriptor::default();
        d.set("checkpoint_position", "1234").unwrap();
        d.set("number_of_partitions", "3").unwrap();
        d.set("snapshot_id", "1-2-3-4").unwrap();
        assert_eq!((d.checkpoint_position, d.number_of_partitions), (Some(1234), Some(3)));
        assert_eq!(d.snapshot_id.as_deref(), Some("1-2-3-4"));
        for (name, text) in [
            ("checkpointPosition", "1"),
            ("number_of_partitions", "-1"),
            ("checkpoint_position", "x"),
        ] {
            let e = d.set(name, text).unwrap_err();
            assert!(matches!(e, Error::InvalidInput(_)), "{name}={text}: {e}");
        }
    }
}
