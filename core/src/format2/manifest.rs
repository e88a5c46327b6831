//! A format 2 backup's manifest (§11): what `metadata.json` is to format 1, plus each
//! file's chunk ids and the attributes change detection compares.
//!
//! Stored at `{prefix}{partition}/{checkpoint}/{node}/manifest.json.zst`: one zstd frame of
//! a JSON document. Why JSON under zstd rather than a binary encoding: anyone can read it
//! (`zstd -dc | jq`) and implement a reader from docs/FORMAT.md; field names cost almost
//! nothing once compressed; chunk ids are 64 hex digits, which zstd's entropy coder brings
//! back near their 32 bytes. Measured on 46,541 synthetic entries shaped like the Python
//! standard library (see `examples/format2_bench.rs`): the figures are in docs/FORMAT.md.
//!
//! Files are sorted by name within each set, so that [`Manifest::lookup`] is a binary search
//! without any extra table.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::compress::{compress_object, decompress_object};
use super::id::ChunkId;
use crate::backup::layout::{validate_relative_path, validate_set_name};
use crate::backup::{BackupId, ZeebeDescriptor};
use crate::error::{Error, Result};

/// The largest manifest accepted once decompressed, in bytes.
pub const MAX_MANIFEST: u64 = 1024 * 1024 * 1024;

/// One file of a format 2 backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestFile {
    /// Path relative to the set, `/`-separated (the rules of §3).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// CRC32C of the whole file as S3 writes it: base64 of 4 big-endian bytes (as format 1).
    pub crc32c: String,
    /// Unix permission bits (`st_mode & 0o7777`), where the source has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// Modification time, nanoseconds since the Unix epoch, where the source has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime_ns: Option<i64>,
    /// Status change time (`st_ctime`), nanoseconds since the Unix epoch (Unix sources).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctime_ns: Option<i64>,
    /// Inode number (Unix sources).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inode: Option<u64>,
    /// The ETag of the S3 source object the file was saved from (§13), quotes included: a
    /// later save reuses the entry for an object with the same ETag and size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The file's chunks in order; their plaintexts concatenated are the file.
    pub chunks: Vec<ChunkId>,
}

/// The content of a manifest object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub format_version: u32,
    /// Zeebe's partitionId.
    pub partition_id: u32,
    /// Zeebe's checkpointId.
    pub checkpoint_id: u64,
    /// Zeebe's nodeId.
    pub node_id: u32,
    /// When the save started (RFC 3339), for people and `list`.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<OffsetDateTime>,
    /// When the save started by the clock of the host that read the files, in nanoseconds
    /// since the Unix epoch: the reference of the "modified just before the save" rule of
    /// change detection ([`super::change`]). Absent when the source has no timestamps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_started_ns: Option<i64>,
    /// `s3keep/x.y.z`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer: Option<String>,
    /// The caller's key/value metadata.
    #[serde(default)]
    pub user_metadata: BTreeMap<String, String>,
    /// Zeebe descriptor: the log position of the checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_position: Option<u64>,
    /// Zeebe descriptor: partitions in the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_of_partitions: Option<u32>,
    /// Zeebe descriptor: the snapshot's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_id: Option<String>,
    /// Set name → its files, sorted by name.
    pub file_sets: BTreeMap<String, Vec<ManifestFile>>,
}

impl Manifest {
    /// A manifest for `id`; files are sorted and checked by [`Manifest::to_stored`].
    pub fn new(
        id: &BackupId,
        file_sets: BTreeMap<String, Vec<ManifestFile>>,
        user_metadata: BTreeMap<String, String>,
        descriptor: ZeebeDescriptor,
        created_at: OffsetDateTime,
        source_started_ns: Option<i64>,
    ) -> Self {
        Self {
            format_version: 2,
            partition_id: id.partition,
            checkpoint_id: id.checkpoint,
            node_id: id.node,
            created_at: Some(created_at),
            source_started_ns,
            writer: Some(crate::WRITER.to_string()),
            user_metadata,
            checkpoint_position: descriptor.checkpoint_position,
            number_of_partitions: descriptor.number_of_partitions,
            snapshot_id: descriptor.snapshot_id,
            file_sets,
        }
    }

    /// The backup this manifest describes.
    pub fn backup_id(&self) -> BackupId {
        BackupId::new(self.partition_id, self.checkpoint_id, self.node_id)
    }

    /// Sorts every set by name and checks set names, file names (§3's rules, the same
    /// as on save and restore) and that no name appears twice in a set.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the set or file.
    pub fn normalise(&mut self) -> Result<()> {
        for (set, files) in &mut self.file_sets {
            validate_set_name(set)?;
            if !files.is_sorted_by(|a, b| a.name < b.name) {
                files.sort_by(|a, b| a.name.cmp(&b.name));
            }
            for pair in files.windows(2) {
                if pair[0].name == pair[1].name {
                    return Err(Error::invalid_input(format!(
                        "file {:?} appears twice in set {set}",
                        pair[0].name
                    )));
                }
            }
            for file in files.iter() {
                validate_relative_path(&file.name)?;
            }
        }
        Ok(())
    }

    /// The stored object: zstd (at `level`) of the JSON, after [`Manifest::normalise`].
    ///
    /// # Errors
    /// As [`Manifest::normalise`].
    pub fn to_stored(&mut self, level: i32) -> Result<Vec<u8>> {
        self.normalise()?;
        let json = serde_json::to_vec(self).expect("a manifest always serialises");
        Ok(compress_object(&json, level))
    }

    /// Parses a manifest object read from `key`.
    ///
    /// # Errors
    /// [`Error::Integrity`] naming `key` when it is not a zstd frame of a format 2 manifest,
    /// or when a name breaks the rules of §3 (a tampered manifest must not make
    /// restore write outside its target).
    pub fn from_stored(key: &str, stored: &[u8]) -> Result<Self> {
        let json = decompress_object(key, stored, MAX_MANIFEST)?;
        let mut manifest: Manifest = serde_json::from_slice(&json)
            .map_err(|e| Error::integrity(key, format!("manifest {key} is not valid manifest JSON: {e}")))?;
        if manifest.format_version != 2 {
            return Err(Error::integrity(
                key,
                format!("manifest {key} has format version {}, not 2", manifest.format_version),
            ));
        }
        manifest
            .normalise()
            .map_err(|e| Error::integrity(key, format!("manifest {key}: {}", e.details().message)))?;
        Ok(manifest)
    }

    /// The file `name` of set `set`, by binary search (the manifest must be normalised,
    /// which [`Manifest::from_stored`] and [`Manifest::to_stored`] ensure).
    pub fn lookup(&self, set: &str, name: &str) -> Option<&ManifestFile> {
        let files = self.file_sets.get(set)?;
        files
            .binary_search_by(|f| f.name.as_str().cmp(name))
            .ok()
            .map(|i| &files[i])
    }

    /// Every file with its set, sets in name order, files in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ManifestFile)> {
        self.file_sets
            .iter()
            .flat_map(|(set, files)| files.iter().map(move |f| (set.as_str(), f)))
    }

    /// Every chunk id the backup references (with repeats), for GC and verify.
    pub fn chunk_ids(&self) -> impl Iterator<Item = &ChunkId> {
        self.iter().flat_map(|(_, f)| f.chunks.iter())
    }

    /// Total bytes of all files.
    pub fn total_size(&self) -> u64 {
        self.iter().map(|(_, f)| f.size).sum()
    }

    /// Number of files in all sets.
    pub fn file_count(&self) -> u64 {
        self.file_sets.values().map(|f| f.len() as u64).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn file(name: &str, size: u64, chunks: &[u8]) -> ManifestFile {
        ManifestFile {
            name: name.into(),
            size,
            crc32c: "AAAAAA==".into(),
            mode: Some(0o644),
            mtime_ns: Some(1_700_000_000_123_456_789),
            ctime_ns: Some(1_700_000_000_123_456_789),
            inode: Some(42),
            etag: None,
            chunks: chunks.iter().map(|c| ChunkId([*c; 32])).collect(),
        }
    }

    fn manifest(files: Vec<ManifestFile>) -> Manifest {
        let mut sets = BTreeMap::new();
        sets.insert("files".to_string(), files);
        sets.insert("segments".to_string(), vec![file("raft-1.log", 7, &[9])]);
        Manifest::new(
            &BackupId::new(1, 2, 3),
            sets,
            BTreeMap::from([("k".to_string(), "v".to_string())]),
            ZeebeDescriptor::default(),
            datetime!(2026-11-30 10:00:00 UTC),
            Some(1_764_496_800_000_000_000),
        )
    }

    #[test]
    fn manifests_round_trip_sorted_with_lookup() {
        let mut m = manifest(vec![
            file("b/z.py", 3, &[1, 2]),
            file("a.py", 0, &[]),
            file("b/a.py", 5, &[3]),
        ]);
        let stored = m.to_stored(3).unwrap();
        let back = Manifest::from_stored("1/2/3/manifest.json.zst", &stored).unwrap();
        assert_eq!(back, m);
        let names: Vec<&str> = back.iter().map(|(_, f)| f.name.as_str()).collect();
        assert_eq!(names, ["a.py", "b/a.py", "b/z.py", "raft-1.log"]);
        assert_eq!(back.lookup("files", "b/z.py").unwrap().chunks.len(), 2);
        assert!(back.lookup("files", "raft-1.log").is_none());
        assert!(back.lookup("nope", "a.py").is_none());
        assert_eq!(back.chunk_ids().count(), 4);
        assert_eq!((back.total_size(), back.file_count()), (15, 4));
        assert_eq!(back.backup_id(), BackupId::new(1, 2, 3));
    }

    #[test]
    fn the_json_has_the_documented_field_names() {
        let mut m = manifest(vec![file("a.py", 3, &[1])]);
        let stored = m.to_stored(3).unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&decompress_object("k", &stored, 1 << 20).unwrap()).unwrap();
        let f = &json["fileSets"]["files"][0];
        assert_eq!(json["formatVersion"], 2);
        assert_eq!(json["createdAt"], "2026-11-30T10:00:00Z");
        assert_eq!(json["sourceStartedNs"], 1_764_496_800_000_000_000i64);
        assert_eq!(json["userMetadata"]["k"], "v");
        assert_eq!(f["name"], "a.py");
        assert_eq!(f["crc32c"], "AAAAAA==");
        assert_eq!(f["mtimeNs"], 1_700_000_000_123_456_789i64);
        assert_eq!(f["mode"], 0o644);
        assert_eq!(f["chunks"][0], "01".repeat(32));
        // Absent attributes are left out, and read back as absent.
        let bare = br#"{"formatVersion":2,"partitionId":0,"checkpointId":1,"nodeId":0,
            "fileSets":{"files":[{"name":"x","size":0,"crc32c":"AAAAAA==","chunks":[]}]}}"#;
        let m = Manifest::from_stored("k", &compress_object(bare, 1)).unwrap();
        assert_eq!(m.lookup("files", "x").unwrap().mtime_ns, None);
    }

    #[test]
    fn tampered_manifests_are_integrity_errors() {
        let escape = br#"{"formatVersion":2,"partitionId":0,"checkpointId":1,"nodeId":0,
            "fileSets":{"files":[{"name":"../../etc/passwd","size":0,"crc32c":"AAAAAA==","chunks":[]}]}}"#;
        let dup = br#"{"formatVersion":2,"partitionId":0,"checkpointId":1,"nodeId":0,
            "fileSets":{"files":[{"name":"a","size":0,"crc32c":"","chunks":[]},{"name":"a","size":0,"crc32c":"","chunks":[]}]}}"#;
        let v1 = br#"{"formatVersion":1,"partitionId":0,"checkpointId":1,"nodeId":0,"fileSets":{}}"#;
        for bad in [&escape[..], &dup[..], &v1[..], b"[]"] {
            let err = Manifest::from_stored("p/manifest", &compress_object(bad, 1)).unwrap_err();
            assert!(matches!(err, Error::Integrity(_)), "{err}");
            assert!(err.to_string().contains("p/manifest"));
        }
        assert!(Manifest::from_stored("k", b"not zstd").is_err());
    }

    #[test]
    fn saving_refuses_bad_names() {
        let mut m = manifest(vec![file("a/../b", 1, &[1])]);
        assert!(matches!(m.to_stored(3), Err(Error::InvalidInput(_))));
    }
}
