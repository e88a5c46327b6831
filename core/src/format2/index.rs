//! The index (§11): chunk id → (pack, offset, stored length, raw length, compression).
//!
//! Stored as index objects `{prefix}index/<sha256 of the object>`, each a zstd frame of a
//! JSON [`IndexFile`] describing whole packs. A save writes one for the packs it finished
//! (so that a killed save's packs are found by the next save); prune rewrites them into
//! fewer. Readers merge every index object into one in-memory [`Index`].
//!
//! Memory: one entry is a `ChunkId` (32 bytes) and an [`IndexEntry`] (20 bytes) in a
//! `HashMap` (one control byte per slot, load factor ≤ 7/8, capacity a power of two):
//! 60–120 bytes per chunk, [`Index::memory_bytes`] says how many exactly. At 1 MiB per chunk
//! that is about 100 MB per TiB of unique data.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::compress::{compress_object, decompress_object, Compression};
use super::id::{ChunkId, IndexId, PackId};
use super::pack::{BlobKind, BlobLocation, PackEntry, MAX_BLOB_SIZE, MAX_PACK_SIZE};
use crate::error::{Error, Result};

/// The largest index object accepted once decompressed, in bytes (about 4 million blobs).
pub const MAX_INDEX_OBJECT: u64 = 512 * 1024 * 1024;

/// One blob as an index object records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexBlob {
    /// The chunk's id.
    pub id: ChunkId,
    /// Offset of its stored bytes in the pack.
    pub offset: u64,
    /// Stored bytes.
    pub length: u32,
    /// Plaintext bytes.
    pub raw_length: u32,
    /// `none` or `zstd`.
    pub compression: Compression,
}

/// One pack as an index object records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexPack {
    /// The pack's id (its key is `data/<first two hex digits>/<id>`).
    pub id: PackId,
    /// The pack object's total length in bytes.
    pub length: u64,
    /// Every blob of the pack, in offset order.
    pub blobs: Vec<IndexBlob>,
}

/// The content of one index object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexFile {
    /// Always 2 (the store format).
    pub format_version: u32,
    /// Whole packs.
    pub packs: Vec<IndexPack>,
}

impl IndexFile {
    /// An empty index object.
    pub fn new() -> Self {
        Self {
            format_version: 2,
            packs: Vec::new(),
        }
    }

    /// Adds a pack from its header entries (a [`super::pack::FinishedPack`] or a parsed header).
    pub fn push_pack(&mut self, id: PackId, length: u64, entries: &[PackEntry]) {
        let blobs = entries
            .iter()
            .map(|e| IndexBlob {
                id: e.id,
                offset: e.location.offset,
                length: e.location.length,
                raw_length: e.location.raw_length,
                compression: e.location.compression,
            })
            .collect();
        self.packs.push(IndexPack { id, length, blobs });
    }

    /// Blobs in all packs.
    pub fn blob_count(&self) -> usize {
        self.packs.iter().map(|p| p.blobs.len()).sum()
    }

    /// The stored object (zstd of the JSON) and its id, which names its key.
    pub fn to_stored(&self, level: i32) -> (IndexId, Vec<u8>) {
        let json = serde_json::to_vec(self).expect("an index always serialises");
        let stored = compress_object(&json, level);
        (IndexId::of(&stored), stored)
    }

    /// Parses a stored index object read from `key`, checking that its bytes hash to `id`
    /// (the last part of its key) and that every pack and blob is possible.
    ///
    /// # Errors
    /// [`Error::Integrity`] naming `key` when the object is corrupt, not an index, or lists
    /// impossible offsets or lengths.
    pub fn from_stored(key: &str, id: &IndexId, stored: &[u8]) -> Result<Self> {
        if IndexId::of(stored) != *id {
            return Err(Error::integrity(
                key,
                format!("index object {key} does not hash to its name: it is corrupt"),
            ));
        }
        let json = decompress_object(key, stored, MAX_INDEX_OBJECT)?;
        let file: IndexFile = serde_json::from_slice(&json)
            .map_err(|e| Error::integrity(key, format!("index object {key} is not valid index JSON: {e}")))?;
        if file.format_version != 2 {
            return Err(Error::integrity(
                key,
                format!("index object {key} has format version {}, not 2", file.format_version),
            ));
        }
        for pack in &file.packs {
            check_pack(key, pack)?;
        }
        Ok(file)
    }
}

fn check_pack(key: &str, pack: &IndexPack) -> Result<()> {
    let bad = |why: String| Error::integrity(key, format!("index object {key}: pack {}: {why}", pack.id));
    if pack.length > MAX_PACK_SIZE {
        return Err(bad(format!("length {} is over 2 GiB", pack.length)));
    }
    for blob in &pack.blobs {
        let end = blob.offset.checked_add(u64::from(blob.length));
        if blob.length == 0
            || blob.length > MAX_BLOB_SIZE
            || blob.raw_length > MAX_BLOB_SIZE
            || end.is_none_or(|end| end > pack.length)
        {
            return Err(bad(format!(
                "blob {} at {} of {}/{} bytes does not fit",
                blob.id, blob.offset, blob.length, blob.raw_length
            )));
        }
    }
    Ok(())
}

/// Where the index places one chunk, compactly (20 bytes): `pack` is a slot in the
/// index's pack table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    pack: u32,
    offset: u32,
    length: u32,
    raw_length: u32,
    compression: Compression,
}

/// A chunk's location as [`Index::get`] returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Located {
    /// The pack holding the chunk.
    pub pack: PackId,
    /// Where in the pack, and how it is stored.
    pub location: BlobLocation,
}

/// How much of a pack the backups still use (for prune: delete unused packs, repack
/// mostly-unused ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackUsage {
    /// The pack.
    pub pack: PackId,
    /// Its total length in bytes.
    pub length: u64,
    /// Blobs the index places in it (duplicates placed elsewhere are not counted).
    pub blobs: u32,
    /// Of those, blobs some backup uses.
    pub used_blobs: u32,
    /// Stored bytes of the used blobs.
    pub used_bytes: u64,
}

/// The in-memory index: every index object merged.
#[derive(Debug, Default)]
pub struct Index {
    packs: Vec<(PackId, u64)>,
    pack_slots: HashMap<PackId, u32>,
    entries: HashMap<ChunkId, IndexEntry>,
    duplicates: u64,
}

impl Index {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Chunks indexed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no chunk is indexed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Packs known (including packs whose every blob is a duplicate placed elsewhere).
    pub fn pack_count(&self) -> usize {
        self.packs.len()
    }

    /// Every known pack with its length.
    pub fn packs(&self) -> impl Iterator<Item = (PackId, u64)> + '_ {
        self.packs.iter().copied()
    }

    /// How many chunks were found in more than one pack (a concurrent or resumed save wrote
    /// them twice; prune's repack removes the copies).
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Bytes the index's tables have allocated (an estimate from their capacities).
    pub fn memory_bytes(&self) -> usize {
        let entry = std::mem::size_of::<(ChunkId, IndexEntry)>() + 1;
        let slot = std::mem::size_of::<(PackId, u32)>() + 1;
        self.entries.capacity() * entry
            + self.pack_slots.capacity() * slot
            + self.packs.capacity() * std::mem::size_of::<(PackId, u64)>()
    }

    /// The length the index records for `pack`.
    pub fn pack_length(&self, pack: &PackId) -> Option<u64> {
        self.pack_slots.get(pack).map(|slot| self.packs[*slot as usize].1)
    }

    fn slot(&mut self, pack: PackId, length: u64) -> u32 {
        if let Some(slot) = self.pack_slots.get(&pack) {
            return *slot;
        }
        let slot = self.packs.len() as u32;
        self.packs.push((pack, length));
        self.pack_slots.insert(pack, slot);
        slot
    }

    /// Adds one pack's blobs. A chunk already indexed in another pack is placed in the
    /// pack with the smaller id, so that every reader, whatever order it merged the index
    /// objects in, places every chunk in the same pack.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the pack is over [`MAX_PACK_SIZE`] or a blob lies
    /// outside it (a checked [`IndexFile`] never does); the blobs before it are indexed.
    pub fn add_pack(
        &mut self,
        pack: PackId,
        length: u64,
        blobs: impl IntoIterator<Item = (ChunkId, BlobLocation)>,
    ) -> Result<()> {
        if length > MAX_PACK_SIZE {
            return Err(Error::invalid_input(format!(
                "pack {pack} of {length} bytes is over 2 GiB"
            )));
        }
        let slot = self.slot(pack, length);
        for (id, location) in blobs {
            if location.range().end > length {
                return Err(Error::invalid_input(format!(
                    "blob {id} at {} of {} bytes lies outside pack {pack} of {length} bytes",
                    location.offset, location.length
                )));
            }
            let entry = IndexEntry {
                pack: slot,
                offset: location.offset as u32,
                length: location.length,
                raw_length: location.raw_length,
                compression: location.compression,
            };
            match self.entries.get_mut(&id) {
                None => {
                    self.entries.insert(id, entry);
                }
                Some(existing) if existing.pack == slot && existing.offset == entry.offset => {}
                Some(existing) => {
                    self.duplicates += 1;
                    if pack < self.packs[existing.pack as usize].0 {
                        *existing = entry;
                    }
                }
            }
        }
        Ok(())
    }

    /// Merges one index object.
    pub fn merge(&mut self, file: &IndexFile) -> Result<()> {
        for pack in &file.packs {
            let blobs = pack.blobs.iter().map(|b| {
                (
                    b.id,
                    BlobLocation {
                        offset: b.offset,
                        length: b.length,
                        raw_length: b.raw_length,
                        compression: b.compression,
                    },
                )
            });
            self.add_pack(pack.id, pack.length, blobs)?;
        }
        Ok(())
    }

    /// Whether the chunk is stored.
    pub fn contains(&self, id: &ChunkId) -> bool {
        self.entries.contains_key(id)
    }

    /// Where the chunk is stored.
    pub fn get(&self, id: &ChunkId) -> Option<Located> {
        self.entries.get(id).map(|e| Located {
            pack: self.packs[e.pack as usize].0,
            location: BlobLocation {
                offset: u64::from(e.offset),
                length: e.length,
                raw_length: e.raw_length,
                compression: e.compression,
            },
        })
    }

    /// The packs holding `used` chunks (what GC must keep, what a save checks before
    /// COMPLETED), and the used chunks the index does not know (a damaged store).
    pub fn referenced_packs<'a>(&self, used: impl IntoIterator<Item = &'a ChunkId>) -> (HashSet<PackId>, Vec<ChunkId>) {
        let mut packs = HashSet::new();
        let mut missing = Vec::new();
        for id in used {
            match self.entries.get(id) {
                Some(e) => {
                    packs.insert(self.packs[e.pack as usize].0);
                }
                None => missing.push(*id),
            }
        }
        (packs, missing)
    }

    /// Usage of every known pack by the `used` chunks, in pack-table order.
    pub fn pack_usage(&self, used: &HashSet<ChunkId>) -> Vec<PackUsage> {
        let mut usage: Vec<PackUsage> = self
            .packs
            .iter()
            .map(|(pack, length)| PackUsage {
                pack: *pack,
                length: *length,
                blobs: 0,
                used_blobs: 0,
                used_bytes: 0,
            })
            .collect();
        for (id, e) in &self.entries {
            let u = &mut usage[e.pack as usize];
            u.blobs += 1;
            if used.contains(id) {
                u.used_blobs += 1;
                u.used_bytes += u64::from(e.length);
            }
        }
        usage
    }

    /// The whole index as index objects of at most `max_blobs` blobs each (whole packs; a
    /// pack larger than that gets an object of its own), keeping only `keep` packs. Prune
    /// writes these, then deletes the objects they replace. Blobs placed in another pack
    /// (duplicates) are left out, so a pack may be listed with fewer blobs than its header.
    pub fn to_files(&self, keep: impl Fn(&PackId) -> bool, max_blobs: usize) -> Vec<IndexFile> {
        let mut per_pack: Vec<Vec<IndexBlob>> = vec![Vec::new(); self.packs.len()];
        for (id, e) in &self.entries {
            per_pack[e.pack as usize].push(IndexBlob {
                id: *id,
                offset: u64::from(e.offset),
                length: e.length,
                raw_length: e.raw_length,
                compression: e.compression,
            });
        }
        let mut files = Vec::new();
        let mut current = IndexFile::new();
        let mut count = 0;
        for ((pack, length), mut blobs) in self.packs.iter().zip(per_pack) {
            if blobs.is_empty() || !keep(pack) {
                continue;
            }
            blobs.sort_by_key(|b| b.offset);
            if count > 0 && count + blobs.len() > max_blobs {
                files.push(std::mem::replace(&mut current, IndexFile::new()));
                count = 0;
            }
            count += blobs.len();
            current.packs.push(IndexPack {
                id: *pack,
                length: *length,
                blobs,
            });
        }
        if !current.packs.is_empty() {
            files.push(current);
        }
        files
    }
}

/// Header entries of an index object's pack, as [`super::pack_reader`] would parse them
/// (for comparing an index with a pack's own header in `verify --deep`).
pub fn entries_of(pack: &IndexPack) -> Vec<PackEntry> {
    pack.blobs
        .iter()
        .map(|b| PackEntry {
            id: b.id,
            kind: BlobKind::Data,
            location: BlobLocation {
                offset: b.offset,
                length: b.length,
                raw_length: b.raw_length,
                compression: b.compression,
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(offset: u64, length: u32) -> BlobLocation {
        BlobLocation {
            offset,
            length,
            raw_length: length * 2,
            compression: Compression::Zstd,
        }
    }

    fn id(n: u8) -> ChunkId {
        ChunkId([n; 32])
    }

    fn file(pack: u8, chunks: &[u8]) -> IndexFile {
        let mut f = IndexFile::new();
        let entries: Vec<PackEntry> = chunks
            .iter()
            .enumerate()
            .map(|(i, c)| PackEntry {
                id: id(*c),
                kind: BlobKind::Data,
                location: loc(i as u64 * 100, 100),
            })
            .collect();
        f.push_pack(PackId([pack; 32]), chunks.len() as u64 * 100 + 500, &entries);
        f
    }

    #[test]
    fn index_objects_round_trip_and_are_named_by_their_hash() {
        let mut f = file(1, &[1, 2, 3]);
        f.packs.extend(file(2, &[4]).packs);
        let (oid, stored) = f.to_stored(3);
        let back = IndexFile::from_stored("index/x", &oid, &stored).unwrap();
        assert_eq!(back, f);
        assert_eq!(back.blob_count(), 4);
        let json: serde_json::Value =
            serde_json::from_slice(&crate::format2::compress::decompress_object("k", &stored, 1 << 20).unwrap())
                .unwrap();
        assert_eq!(json["formatVersion"], 2);
        assert_eq!(json["packs"][0]["blobs"][1]["rawLength"], 200);
        assert_eq!(json["packs"][0]["blobs"][1]["compression"], "zstd");
        assert_eq!(json["packs"][0]["id"], "01".repeat(32));
    }

    #[test]
    fn corrupt_or_impossible_index_objects_are_integrity_errors() {
        let (oid, mut stored) = file(1, &[1]).to_stored(3);
        let last = stored.len() - 1;
        stored[last] ^= 1;
        let err = IndexFile::from_stored("index/x", &oid, &stored).unwrap_err();
        assert!(matches!(err, Error::Integrity(_)) && err.to_string().contains("index/x"));

        let mut f = file(1, &[1]);
        f.packs[0].blobs[0].offset = f.packs[0].length;
        let (oid, stored) = f.to_stored(3);
        assert!(matches!(
            IndexFile::from_stored("k", &oid, &stored),
            Err(Error::Integrity(_))
        ));

        let json = br#"{"formatVersion":2,"packs":[{"id":"00","length":1,"blobs":[]}]}"#;
        let stored = compress_object(json, 1);
        let oid = IndexId::of(&stored);
        assert!(matches!(
            IndexFile::from_stored("k", &oid, &stored),
            Err(Error::Integrity(_))
        ));
    }

    #[test]
    fn merging_places_duplicates_in_the_smaller_pack_whatever_the_order() {
        let a = file(5, &[1, 2]);
        let b = file(3, &[2, 3]);
        for order in [[&a, &b], [&b, &a]] {
            let mut index = Index::new();
            for f in order {
                index.merge(f).unwrap();
            }
            assert_eq!(index.len(), 3);
            assert_eq!(index.pack_count(), 2);
            assert_eq!(index.duplicates(), 1);
            assert_eq!(index.get(&id(2)).unwrap().pack, PackId([3; 32]));
            assert_eq!(index.get(&id(2)).unwrap().location, loc(0, 100));
            assert_eq!(index.get(&id(1)).unwrap().location, loc(0, 100));
            assert!(!index.contains(&id(9)));
        }
        // Merging the same object twice is not a duplicate.
        let mut index = Index::new();
        index.merge(&a).unwrap();
        index.merge(&a).unwrap();
        assert_eq!(index.duplicates(), 0);
    }

    #[test]
    fn referenced_packs_and_usage_drive_gc() {
        let mut index = Index::new();
        index.merge(&file(1, &[1, 2, 3])).unwrap();
        index.merge(&file(2, &[4, 5])).unwrap();
        index.merge(&file(3, &[6])).unwrap();
        let used: HashSet<ChunkId> = [id(1), id(4), id(5), id(7)].into_iter().collect();
        let (packs, missing) = index.referenced_packs(&used);
        assert_eq!(packs, [PackId([1; 32]), PackId([2; 32])].into_iter().collect());
        assert_eq!(missing, vec![id(7)]);
        let usage = index.pack_usage(&used);
        let of = |p: u8| usage.iter().find(|u| u.pack == PackId([p; 32])).copied().unwrap();
        assert_eq!((of(1).blobs, of(1).used_blobs, of(1).used_bytes), (3, 1, 100));
        assert_eq!((of(2).blobs, of(2).used_blobs), (2, 2));
        assert_eq!(of(3).used_blobs, 0);
    }

    #[test]
    fn rewriting_keeps_whole_packs_and_drops_removed_ones() {
        let mut index = Index::new();
        for p in 1..=4 {
            index.merge(&file(p, &[p * 10, p * 10 + 1, p * 10 + 2])).unwrap();
        }
        let files = index.to_files(|p| *p != PackId([2; 32]), 5);
        assert_eq!(files.len(), 3, "3 packs of 3 blobs, at most 5 blobs per object");
        let mut rebuilt = Index::new();
        for f in &files {
            assert!(f.packs.iter().all(|p| p.blobs.len() == 3));
            rebuilt.merge(f).unwrap();
        }
        assert_eq!(rebuilt.len(), 9);
        assert!(!rebuilt.contains(&id(20)));
        assert_eq!(rebuilt.get(&id(31)), index.get(&id(31)));
        assert_eq!(entries_of(&files[0].packs[0]).len(), 3);
    }

    #[test]
    fn memory_per_entry_is_as_documented() {
        let mut index = Index::new();
        let blobs: Vec<(ChunkId, BlobLocation)> = (0..100_000u32)
            .map(|i| {
                let mut bytes = [0u8; 32];
                bytes[..4].copy_from_slice(&i.to_le_bytes());
                (ChunkId(bytes), loc(u64::from(i) * 10, 10))
            })
            .collect();
        index.add_pack(PackId([1; 32]), 2_000_000, blobs).unwrap();
        assert!(index
            .add_pack(PackId([2; 32]), 5, [(ChunkId([9; 32]), loc(0, 10))])
            .is_err());
        assert_eq!(std::mem::size_of::<IndexEntry>(), 20);
        let per_entry = index.memory_bytes() / index.len();
        assert!((53..=130).contains(&per_entry), "{per_entry} bytes per entry");
    }
}
