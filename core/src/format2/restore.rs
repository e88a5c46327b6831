//! Reading a format 2 backup (docs/FORMAT.md, "Reading a format 2 backup"): its manifest
//! and the store's index, held in a [`RestoreSession`]; each file's chunks located, the
//! neighbouring blobs of one pack fetched with one ranged GET (`concurrency` ranges at a
//! time), every blob decompressed and checked against its chunk id, and the whole file
//! against its size and CRC32C.
//!
//! [`BackupStore::open_file`] gives a file as a stream this way (what the wasm binding
//! hands to JS); the directory restore (`restore_dir.rs`) reads whole packs' ranges for many
//! files at once.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{self, StreamExt as _};

use super::compress::Decompressor;
use super::crypto::{header_length, sealed_range, StoreKeys, MAX_HEADER};
use super::id::{ChunkId, ChunkIdScheme, PackId};
use super::index::Index;
use super::manifest::{Manifest, ManifestFile};
use super::pack::BlobLocation;
use super::pack_reader::read_blob;
use crate::backup::manifest::{FileEntry, Metadata};
use crate::backup::restore::{verified_body, FileCheck};
use crate::backup::{BackupId, BackupStore};
use crate::error::{Error, ErrorDetails, Result};
use crate::s3::{GetObjectOutput, ObjectHead, S3Client};

/// The longest ranged GET of neighbouring blobs, in bytes (a single blob may be longer).
pub(crate) const MAX_RANGE: u64 = 8 * 1024 * 1024;
/// How many format 1 backups are remembered as such (so that `open_file` needs no lookup).
const FORMAT1_REMEMBERED: usize = 64;

/// A format 2 backup opened for reading: its manifest, the index, how ids are checked.
pub(crate) struct RestoreSession {
    pub id: BackupId,
    pub manifest: Manifest,
    pub index: Index,
    pub scheme: ChunkIdScheme,
    /// The keys of an encrypted store (with an identity).
    pub keys: Option<Arc<StoreKeys>>,
    /// A locked store: the version of each pack to read (`pinned.rs`).
    pub pins: Option<Arc<super::pinned::Pins>>,
}

impl std::fmt::Debug for RestoreSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestoreSession")
            .field("id", &self.id)
            .field("files", &self.manifest.file_count())
            .field("chunks_indexed", &self.index.len())
            .finish()
    }
}

/// Blobs of one pack fetched with one ranged GET.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RangePlan {
    pub pack: PackId,
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// The blobs, in offset order, tiling `start..end`.
    pub blobs: Vec<(ChunkId, BlobLocation)>,
}

impl RangePlan {
    fn new(pack: PackId, id: ChunkId, location: BlobLocation) -> Self {
        Self {
            pack,
            start: location.offset,
            end: location.range().end,
            blobs: vec![(id, location)],
        }
    }

    /// Adds the blob if it starts where this range ends, in the same pack, and the range
    /// stays within [`MAX_RANGE`].
    pub fn try_extend(&mut self, pack: PackId, id: ChunkId, location: BlobLocation) -> bool {
        if pack == self.pack && location.offset == self.end && location.range().end - self.start <= MAX_RANGE {
            self.end = location.range().end;
            self.blobs.push((id, location));
            true
        } else {
            false
        }
    }
}

impl BackupStore {
    /// The session of backup `id` (COMPLETED, format 2): the cached one, or loaded and
    /// cached when `reload` or when another backup's is cached.
    pub(crate) async fn format2_session(&self, id: BackupId, reload: bool) -> Result<Arc<RestoreSession>> {
        if !reload {
            if let Some(s) = self.cached_session(&id) {
                return Ok(s);
            }
        }
        let descriptor = self.format2_descriptor().await?;
        let keys = self.store_keys(&descriptor).await?;
        if let Some(keys) = &keys {
            keys.require_identity(&format!("reading backup {id}"))?;
        }
        let scheme = descriptor.chunk_id_scheme(keys.as_ref().map(|k| k.mac()))?;
        #[cfg(not(target_arch = "wasm32"))]
        let pins = self.f2().cached_pins(&id);
        #[cfg(target_arch = "wasm32")]
        let pins: Option<Arc<super::pinned::Pins>> = None;
        let (manifest, index) = match &pins {
            // A locked store (§12): as first written (pinned.rs).
            #[cfg(not(target_arch = "wasm32"))]
            Some(pins) => {
                let key = self.f2().layout.manifest_key(&id);
                let manifest = async {
                    self.read_manifest_at(&id, pins.version(&key)).await?.ok_or_else(|| {
                        Error::integrity(
                            &key,
                            format!("backup {id} is COMPLETED but no version of its {key} exists"),
                        )
                    })
                };
                futures::try_join!(manifest, self.pinned_index(pins))?
            }
            _ => futures::try_join!(self.completed_manifest(&id), self.load_index())?,
        };
        let session = Arc::new(RestoreSession {
            id,
            manifest,
            index,
            scheme,
            keys,
            pins,
        });
        *self.f2().session.lock().expect("not poisoned") = Some(session.clone());
        Ok(session)
    }

    fn cached_session(&self, id: &BackupId) -> Option<Arc<RestoreSession>> {
        let cached = self.f2().session.lock().expect("not poisoned");
        cached.as_ref().filter(|s| s.id == *id).cloned()
    }

    /// Remembers that `id` is a format 1 backup.
    pub(crate) fn remember_format1(&self, id: BackupId) {
        let mut known = self.f2().format1.lock().expect("not poisoned");
        if !known.contains(&id) {
            if known.len() >= FORMAT1_REMEMBERED {
                known.pop_front();
            }
            known.push_back(id);
        }
    }

    /// For `open_file`: the session when `id` is a format 2 backup, `None` for format 1
    /// (found out from `metadata.json` once per backup).
    pub(crate) async fn session_if_format2(&self, id: BackupId) -> Result<Option<Arc<RestoreSession>>> {
        if let Some(s) = self.cached_session(&id) {
            return Ok(Some(s));
        }
        if self.f2().format1.lock().expect("not poisoned").contains(&id) {
            return Ok(None);
        }
        match self.read_metadata(&id).await? {
            Some(m) if m.is_format2() => self.format2_session(id, true).await.map(Some),
            _ => {
                self.remember_format1(id);
                Ok(None)
            }
        }
    }

    /// The restore plan of a format 2 backup: `summary` (its `metadata.json`) with the
    /// file sets of its manifest (names, sizes, CRC32Cs).
    pub(crate) async fn format2_plan(&self, id: BackupId, mut summary: Metadata) -> Result<Metadata> {
        let session = self.format2_session(id, true).await?;
        summary.file_sets = plan_sets(&session.manifest);
        if session.keys.is_some() {
            // An encrypted store's summary holds none of this: the manifest does.
            let m = &session.manifest;
            summary.total_size = Some(m.total_size());
            summary.file_count = Some(m.file_count());
            summary.user_metadata = m.user_metadata.clone();
            summary.checkpoint_position = m.checkpoint_position;
            summary.number_of_partitions = m.number_of_partitions;
            summary.snapshot_id = m.snapshot_id.clone();
        }
        Ok(summary)
    }

    /// One file of a format 2 backup as a verified stream (see [`BackupStore::open_file`]).
    ///
    /// # Errors
    /// [`Error::NotFound`] when the manifest has no such file; [`Error::Integrity`] naming
    /// the file when one of its chunks is not indexed.
    pub(crate) fn format2_open_file(
        &self,
        session: Arc<RestoreSession>,
        set: &str,
        entry: &FileEntry,
    ) -> Result<GetObjectOutput> {
        let label = format!("{set}/{}", entry.name);
        let file = session.manifest.lookup(set, &entry.name).ok_or_else(|| {
            Error::NotFound(ErrorDetails::message(format!(
                "backup {} has no file {label}",
                session.id
            )))
            .with_key(label.clone())
        })?;
        let ranges = file_ranges(&session.index, file, &label)?;
        let check = FileCheck::new(Some(file.size), Some(file.crc32c.clone()));
        let head = ObjectHead {
            size: file.size,
            etag: None,
            last_modified: None,
            checksum_crc32c: Some(file.crc32c.clone()),
            version_id: None,
        };
        let (client, layout) = (self.client.clone(), self.f2().layout.clone());
        let fetches = stream::iter(ranges).map(move |range| {
            let (client, key, session, label) = (
                client.clone(),
                layout.pack_key(&range.pack),
                session.clone(),
                label.clone(),
            );
            async move {
                let bytes = fetch_range(&client, &key, &range, &session)
                    .await
                    .map_err(|e| name_file(&label, e))?;
                decode_range(&key, &range, &bytes, &session.scheme).map_err(|e| name_file(&label, e))
            }
        });
        let body = fetches
            .buffered(self.config.concurrency)
            .flat_map(|decoded: Result<Vec<Bytes>>| match decoded {
                Ok(chunks) => stream::iter(chunks.into_iter().map(Ok).collect::<Vec<_>>()),
                Err(e) => stream::iter(vec![Err(e)]),
            });
        #[cfg(not(target_arch = "wasm32"))]
        let body = body.boxed();
        #[cfg(target_arch = "wasm32")]
        let body = body.boxed_local();
        Ok(GetObjectOutput {
            head,
            body: verified_body(body, format!("{set}/{}", entry.name), check),
        })
    }
}

/// The manifest's files as restore plans list them.
pub(crate) fn plan_sets(manifest: &Manifest) -> BTreeMap<String, Vec<FileEntry>> {
    manifest
        .file_sets
        .iter()
        .map(|(set, files)| {
            let entries = files
                .iter()
                .map(|f| FileEntry {
                    name: f.name.clone(),
                    size: Some(f.size),
                    crc32c: Some(f.crc32c.clone()),
                    etag: f.etag.clone(),
                })
                .collect();
            (set.clone(), entries)
        })
        .collect()
}

/// The ranged GETs of one file's chunks, in file order, neighbours coalesced.
///
/// # Errors
/// [`Error::Integrity`] naming `label` when a chunk is not indexed.
pub(crate) fn file_ranges(index: &Index, file: &ManifestFile, label: &str) -> Result<Vec<RangePlan>> {
    let mut ranges: Vec<RangePlan> = Vec::new();
    for id in &file.chunks {
        let located = index.get(id).ok_or_else(|| {
            Error::integrity(
                label,
                format!("{label}: its chunk {id} is in no index object: the store is damaged"),
            )
        })?;
        let extended = ranges
            .last_mut()
            .is_some_and(|r| r.try_extend(located.pack, *id, located.location));
        if !extended {
            ranges.push(RangePlan::new(located.pack, *id, located.location));
        }
    }
    Ok(ranges)
}

/// The stored bytes of `range` from its pack: in an encrypted store, the age segments
/// that hold them are fetched (with the pack's age header, once per pack) and decrypted.
pub(crate) async fn fetch_range(
    client: &S3Client,
    key: &str,
    range: &RangePlan,
    session: &RestoreSession,
) -> Result<Bytes> {
    let missing = |e: Error| match e {
        Error::NotFound(_) => Error::integrity(key, format!("pack {key} is missing")),
        other => other,
    };
    let version = match &session.pins {
        Some(pins) => Some(
            pins.version(key)
                .ok_or_else(|| Error::integrity(key, format!("pack {key} is missing (no version of it)")))?,
        ),
        None => None,
    };
    let Some(keys) = &session.keys else {
        return client
            .get_object_range_bytes_at(key, version, range.start, range.end - 1)
            .await
            .map_err(missing);
    };
    let total = session
        .index
        .pack_length(&range.pack)
        .ok_or_else(|| Error::integrity(key, format!("pack {key} is in no index object")))?;
    let header = match keys.cached_header(&range.pack) {
        Some(header) => header,
        None => {
            let mut found = None;
            for want in [4096u64, MAX_HEADER as u64] {
                let first = client
                    .get_object_range_bytes_at(key, version, 0, want.min(total) - 1)
                    .await
                    .map_err(missing)?;
                if let Some(n) = header_length(key, &first)? {
                    found = Some(first.slice(..n));
                    break;
                }
            }
            let header =
                found.ok_or_else(|| Error::integrity(key, format!("pack {key}: its age header is over 64 KiB")))?;
            keys.remember_header(range.pack, header.clone());
            header
        }
    };
    let (first, last) = sealed_range(header.len() as u64, total, range.start, range.end);
    if first >= last {
        return Err(Error::integrity(
            key,
            format!("pack {key} is shorter than its index says"),
        ));
    }
    let sealed = client
        .get_object_range_bytes_at(key, version, first, last - 1)
        .await
        .map_err(missing)?;
    let plain = keys.open_range(key, &header, total, first, &sealed, (range.start, range.end))?;
    Ok(Bytes::from(plain))
}

/// Every blob of a fetched range as the chunk's plaintext, each checked against its id.
pub(crate) fn decode_range(key: &str, range: &RangePlan, bytes: &[u8], scheme: &ChunkIdScheme) -> Result<Vec<Bytes>> {
    let mut decompressor = Decompressor::new()?;
    let mut out = Vec::with_capacity(range.blobs.len());
    for (id, location) in &range.blobs {
        let from = (location.offset - range.start) as usize;
        let stored = &bytes[from..from + location.length as usize];
        let mut plain = Vec::new();
        read_blob(key, id, location, stored, scheme, &mut decompressor, &mut plain)?;
        out.push(Bytes::from(plain));
    }
    Ok(out)
}

/// An error reading a file's chunks, said of the file (the pack's key stays in the message).
pub(crate) fn name_file(label: &str, err: Error) -> Error {
    match err {
        Error::Integrity(mut d) => {
            d.message = format!("{label}: {}", d.message);
            Error::Integrity(d)
        }
        other => other,
    }
}

/// What `Format2State` remembers of format 1 backups.
pub(crate) type Format1Backups = VecDeque<BackupId>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format2::compress::Compression;

    fn loc(offset: u64, length: u32) -> BlobLocation {
        BlobLocation {
            offset,
            length,
            raw_length: length,
            compression: Compression::None,
        }
    }

    #[test]
    fn neighbouring_blobs_of_a_pack_share_a_range() {
        let (a, b) = (PackId([1; 32]), PackId([2; 32]));
        let mut index = Index::new();
        let id = |n: u8| ChunkId([n; 32]);
        index
            .add_pack(
                a,
                100 << 20,
                [(id(1), loc(0, 10)), (id(2), loc(10, 20)), (id(3), loc(40, 5))],
            )
            .unwrap();
        index
            .add_pack(b, 100 << 20, [(id(4), loc(0, 7)), (id(5), loc(7, 8 << 20))])
            .unwrap();
        let file = ManifestFile {
            name: "f".into(),
            size: 0,
            crc32c: String::new(),
            mode: None,
            mtime_ns: None,
            ctime_ns: None,
            inode: None,
            etag: None,
            chunks: vec![id(1), id(2), id(3), id(4), id(5), id(1)],
        };
        let ranges = file_ranges(&index, &file, "files/f").unwrap();
        let spans: Vec<(PackId, u64, u64, usize)> =
            ranges.iter().map(|r| (r.pack, r.start, r.end, r.blobs.len())).collect();
        assert_eq!(
            spans,
            vec![
                (a, 0, 30, 2),
                (a, 40, 45, 1),
                (b, 0, 7, 1),
                (b, 7, 7 + (8 << 20), 1),
                (a, 0, 10, 1)
            ],
            "a gap, another pack, a range over 8 MiB and a repeated chunk each start a range"
        );
        let mut missing = file.clone();
        missing.chunks.push(id(9));
        let err = file_ranges(&index, &missing, "files/f").unwrap_err();
        assert!(matches!(err, Error::Integrity(_)) && err.to_string().contains("files/f"));
    }
}
