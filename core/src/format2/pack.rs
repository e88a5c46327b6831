//! The pack object (§11): blobs back to back, then a header listing them, then a fixed
//! 16-byte trailer; and the [`PackWriter`] that builds one and hands it out in multipart parts.
//!
//! ```text
//! offset 0              blob 0 (stored bytes: a zstd frame or raw)
//!                       blob 1 ...
//! data_len              header: one 52-byte entry per blob, in offset order
//! data_len + hlen       trailer (16 bytes)
//! ```
//! Header entry (little-endian): `id` 32 bytes | `offset` u64 | `stored length` u32 |
//! `raw length` u32 | `kind` u8 (0 = data) | `compression` u8 (0 = none, 1 = zstd) |
//! 2 bytes zero. Trailer: `header length` u32 LE | `CRC32C of the header` u32 LE |
//! `b"s3kpack"` | `version` u8 (1). docs/FORMAT.md is the reference; the reader is in
//! [`super::pack_reader`].

use std::collections::VecDeque;

use bytes::Bytes;

use super::compress::Compression;
use super::id::{ChunkId, PackId};
use crate::error::{Error, Result};

/// Bytes of one header entry.
pub const ENTRY_LEN: usize = 52;
/// Bytes of the trailer.
pub const TRAILER_LEN: usize = 16;
/// The trailer's magic bytes (after the two u32 fields).
pub const MAGIC: &[u8; 7] = b"s3kpack";
/// The pack format version in the trailer's last byte.
pub const VERSION: u8 = 1;
/// The largest blob, stored or raw, in bytes: FastCDC's largest chunk (16 MiB). Readers
/// refuse larger lengths, which bounds what one blob can make them allocate.
pub const MAX_BLOB_SIZE: u32 = 16 * 1024 * 1024;
/// The largest pack a reader accepts, in bytes (offsets fit in u32 in the in-memory index).
pub const MAX_PACK_SIZE: u64 = 2 * 1024 * 1024 * 1024;
/// The most blobs in one pack (a header of at most 3.4 MB); a writer is full at this count.
pub const MAX_ENTRIES: usize = 65_536;

/// What a blob holds. Format 2 stores only file data in packs (manifests are objects of
/// their own); the byte leaves room for other kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlobKind {
    /// A chunk of file content (code 0).
    Data,
}

impl BlobKind {
    /// The byte written in the pack header.
    pub fn code(self) -> u8 {
        match self {
            BlobKind::Data => 0,
        }
    }

    /// The kind of a header byte, `None` for an unknown code.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(BlobKind::Data),
            _ => None,
        }
    }
}

/// Where a blob lies in its pack and how to turn it back into the chunk's plaintext.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobLocation {
    /// Offset of the stored bytes from the pack's first byte.
    pub offset: u64,
    /// Stored bytes (what a ranged GET fetches).
    pub length: u32,
    /// Bytes of plaintext after decompression.
    pub raw_length: u32,
    /// How the stored bytes are encoded.
    pub compression: Compression,
}

impl BlobLocation {
    /// The byte range of the stored bytes, for a ranged GET (`end` exclusive).
    pub fn range(&self) -> std::ops::Range<u64> {
        self.offset..self.offset + u64::from(self.length)
    }
}

/// One header entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackEntry {
    /// The chunk's id.
    pub id: ChunkId,
    /// What the blob holds.
    pub kind: BlobKind,
    /// Where it lies and how it is encoded.
    pub location: BlobLocation,
}

impl PackEntry {
    /// The 52 bytes of the header entry.
    pub fn encode(&self) -> [u8; ENTRY_LEN] {
        let mut out = [0u8; ENTRY_LEN];
        out[..32].copy_from_slice(self.id.as_bytes());
        out[32..40].copy_from_slice(&self.location.offset.to_le_bytes());
        out[40..44].copy_from_slice(&self.location.length.to_le_bytes());
        out[44..48].copy_from_slice(&self.location.raw_length.to_le_bytes());
        out[48] = self.kind.code();
        out[49] = self.location.compression.code();
        out
    }
}

/// Sizes of packs and of their multipart parts, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackConfig {
    /// A pack is full once its blobs reach this many bytes (16 MiB by default).
    pub target_size: u32,
    /// Bytes per multipart part handed out while the pack is built (5 MiB by default;
    /// every part has this size but the last, as R2 requires of multipart uploads).
    pub part_size: u32,
}

impl Default for PackConfig {
    fn default() -> Self {
        Self {
            target_size: 16 * 1024 * 1024,
            part_size: 5 * 1024 * 1024,
        }
    }
}

impl PackConfig {
    /// S3's smallest part but the last (AWS S3 API reference, UploadPart).
    pub const MIN_PART_SIZE: u32 = 5 * 1024 * 1024;

    /// Checks the sizes.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when a part is below S3's 5 MiB minimum or a pack target
    /// is outside 1 MiB..=1 GiB.
    pub fn validate(&self) -> Result<()> {
        if self.part_size < Self::MIN_PART_SIZE {
            return Err(Error::invalid_input(format!(
                "pack part size {} is below S3's minimum part size of 5 MiB",
                self.part_size
            )));
        }
        if !(1 << 20..=1 << 30).contains(&self.target_size) {
            return Err(Error::invalid_input(format!(
                "pack size {} is outside 1 MiB..1 GiB",
                self.target_size
            )));
        }
        Ok(())
    }
}

/// A pack being built. Blobs are appended with [`PackWriter::add`]; whenever a part's worth
/// of bytes is ready, [`PackWriter::take_part`] hands it out (to UploadPart) and the writer
/// forgets it, so the writer holds at most one part plus one blob (≤ 5 MiB + 8 MiB with the
/// defaults), never the whole pack. [`PackWriter::finish`] appends header and trailer and
/// returns the last part.
///
/// If no part was taken before `finish`, the whole pack is the last part: one PutObject.
/// The writer does not deduplicate: the caller checks the index and the chunks already
/// written by this save before adding a blob.
pub struct PackWriter {
    id: PackId,
    config: PackConfig,
    /// The part being filled: its own allocation, never larger than a part, so that a
    /// part handed out holds exactly its bytes (a view into a larger buffer would keep
    /// the rest alive until its upload ends).
    pending: Vec<u8>,
    /// Full parts not yet taken.
    ready: VecDeque<Bytes>,
    data_len: u64,
    parts_taken: u32,
    entries: Vec<PackEntry>,
}

/// A finished pack: its last part and what the index needs to know about it.
pub struct FinishedPack {
    /// The pack's id (its key is `Layout::pack_key(id)`).
    pub id: PackId,
    /// The remaining bytes, ending with the header and trailer: the last part of the
    /// multipart upload, or the whole object if `parts_taken == 0`.
    pub last_part: Bytes,
    /// How many parts [`PackWriter::take_part`] handed out before.
    pub parts_taken: u32,
    /// The pack's total length in bytes.
    pub length: u64,
    /// Its blobs, in offset order.
    pub entries: Vec<PackEntry>,
}

impl std::fmt::Debug for PackWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackWriter")
            .field("id", &self.id)
            .field("blobs", &self.entries.len())
            .field("data_len", &self.data_len)
            .field("buffered", &self.buffered())
            .field("parts_taken", &self.parts_taken)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for FinishedPack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FinishedPack")
            .field("id", &self.id)
            .field("length", &self.length)
            .field("blobs", &self.entries.len())
            .field("parts_taken", &self.parts_taken)
            .field("last_part_len", &self.last_part.len())
            .finish()
    }
}

impl PackWriter {
    /// An empty pack with this id.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `config` is invalid.
    pub fn new(id: PackId, config: PackConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            id,
            config,
            pending: Vec::new(),
            ready: VecDeque::new(),
            data_len: 0,
            parts_taken: 0,
            entries: Vec::new(),
        })
    }

    /// The pack's id.
    pub fn id(&self) -> PackId {
        self.id
    }

    /// Blobs added so far.
    pub fn entries(&self) -> &[PackEntry] {
        &self.entries
    }

    /// Bytes of blobs added so far.
    pub fn data_len(&self) -> u64 {
        self.data_len
    }

    /// Whether the pack reached its target size or [`MAX_ENTRIES`] (then `finish` it and
    /// start another).
    pub fn is_full(&self) -> bool {
        self.data_len >= u64::from(self.config.target_size) || self.entries.len() >= MAX_ENTRIES
    }

    /// Whether no blob was added.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes held in memory (not yet handed out).
    pub fn buffered(&self) -> usize {
        self.pending.len() + self.ready.iter().map(Bytes::len).sum::<usize>()
    }

    /// Appends a blob: `stored` is what [`super::compress::Compressor::compress`] returned
    /// for a chunk of `raw_length` bytes with id `id`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when a length is 0 or exceeds [`MAX_BLOB_SIZE`], or the pack already
    /// holds [`MAX_ENTRIES`] blobs or 1 GiB (half of [`MAX_PACK_SIZE`]).
    pub fn add(
        &mut self,
        id: ChunkId,
        kind: BlobKind,
        compression: Compression,
        raw_length: usize,
        stored: &[u8],
    ) -> Result<()> {
        let in_range = |n: usize| (1..=MAX_BLOB_SIZE as usize).contains(&n);
        if !in_range(raw_length) || !in_range(stored.len()) {
            return Err(Error::invalid_input(format!(
                "blob {id} of {raw_length} bytes ({} stored) is empty or larger than the 16 MiB a pack entry allows",
                stored.len()
            )));
        }
        if self.entries.len() >= MAX_ENTRIES || self.data_len + stored.len() as u64 > MAX_PACK_SIZE / 2 {
            return Err(Error::invalid_input(format!(
                "pack {} is full ({} blobs, {} bytes); finish it and start another",
                self.id,
                self.entries.len(),
                self.data_len
            )));
        }
        self.entries.push(PackEntry {
            id,
            kind,
            location: BlobLocation {
                offset: self.data_len,
                length: stored.len() as u32,
                raw_length: raw_length as u32,
                compression,
            },
        });
        let part = self.config.part_size as usize;
        let mut rest = stored;
        while !rest.is_empty() {
            let n = rest.len().min(part - self.pending.len());
            if self.pending.capacity() < self.pending.len() + n {
                // Grows by doubling, but never past one part.
                let want = (self.pending.len() + n).max(2 * self.pending.capacity()).min(part);
                self.pending.reserve_exact(want - self.pending.len());
            }
            self.pending.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if self.pending.len() == part {
                self.ready.push_back(Bytes::from(std::mem::take(&mut self.pending)));
            }
        }
        self.data_len += stored.len() as u64;
        Ok(())
    }

    /// The next complete part (exactly `part_size` bytes), once that many are buffered;
    /// the writer no longer holds those bytes. Parts are numbered from 1 in the order taken.
    pub fn take_part(&mut self) -> Option<Bytes> {
        let part = self.ready.pop_front()?;
        self.parts_taken += 1;
        Some(part)
    }

    /// Appends header and trailer and returns the last part with the pack's description.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the pack has no blob (an empty pack is never written).
    pub fn finish(mut self) -> Result<FinishedPack> {
        if self.entries.is_empty() {
            return Err(Error::invalid_input(format!("pack {} has no blob", self.id)));
        }
        let header_len = self.entries.len() * ENTRY_LEN;
        let mut header = Vec::with_capacity(header_len + TRAILER_LEN);
        for entry in &self.entries {
            header.extend_from_slice(&entry.encode());
        }
        let crc = crc32c::crc32c(&header);
        header.extend_from_slice(&(header_len as u32).to_le_bytes());
        header.extend_from_slice(&crc.to_le_bytes());
        header.extend_from_slice(MAGIC);
        header.push(VERSION);
        // Parts not taken go out with the last one (the caller takes them all after each
        // blob, so there are none in practice).
        let mut last = Vec::with_capacity(self.buffered() + header.len());
        for part in self.ready.drain(..) {
            last.extend_from_slice(&part);
        }
        last.extend_from_slice(&self.pending);
        last.extend_from_slice(&header);
        Ok(FinishedPack {
            id: self.id,
            length: self.data_len + header.len() as u64,
            last_part: Bytes::from(last),
            parts_taken: self.parts_taken,
            entries: self.entries,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format2::id::ChunkIdScheme;

    fn config() -> PackConfig {
        PackConfig {
            target_size: 12 << 20,
            part_size: 5 << 20,
        }
    }

    #[test]
    fn entries_encode_little_endian_in_the_documented_order() {
        let entry = PackEntry {
            id: ChunkId([0xaa; 32]),
            kind: BlobKind::Data,
            location: BlobLocation {
                offset: 0x0102,
                length: 0x0304,
                raw_length: 0x0506,
                compression: Compression::Zstd,
            },
        };
        let bytes = entry.encode();
        assert_eq!(&bytes[..32], &[0xaa; 32]);
        assert_eq!(&bytes[32..40], &[2, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&bytes[40..44], &[4, 3, 0, 0]);
        assert_eq!(&bytes[44..48], &[6, 5, 0, 0]);
        assert_eq!(&bytes[48..], &[0, 1, 0, 0]);
    }

    #[test]
    fn parts_are_handed_out_at_part_size_and_the_writer_keeps_little() {
        let mut w = PackWriter::new(PackId([1; 32]), config()).unwrap();
        let blob = vec![7u8; 3 << 20];
        let mut parts = Vec::new();
        let mut peak = 0;
        while !w.is_full() {
            let id = ChunkIdScheme::Sha256.id(&(w.entries().len() as u32).to_le_bytes());
            w.add(id, BlobKind::Data, Compression::None, blob.len(), &blob).unwrap();
            peak = peak.max(w.buffered());
            while let Some(part) = w.take_part() {
                parts.push(part);
            }
        }
        // 4 blobs of 3 MiB = 12 MiB: two 5 MiB parts, then 2 MiB + header + trailer.
        assert!(peak < (5 << 20) + blob.len(), "peak {peak}");
        let done = w.finish().unwrap();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.len() == 5 << 20));
        assert_eq!(done.parts_taken, 2);
        assert_eq!(done.entries.len(), 4);
        assert_eq!(done.length, (12 << 20) + 4 * ENTRY_LEN as u64 + TRAILER_LEN as u64);
        assert_eq!(done.last_part.len() as u64 + (10 << 20), done.length);
        let tail = &done.last_part[done.last_part.len() - TRAILER_LEN..];
        assert_eq!(&tail[..4], &(4 * ENTRY_LEN as u32).to_le_bytes());
        assert_eq!(&tail[8..15], MAGIC);
        assert_eq!(tail[15], VERSION);
    }

    #[test]
    fn the_smallest_pack_is_byte_for_byte_the_documented_example() {
        // docs/FORMAT.md, "Packs": one raw blob "hello". The CRC32C was cross-checked
        // with a bitwise Castagnoli implementation outside this crate.
        let mut w = PackWriter::new(PackId([0; 32]), config()).unwrap();
        let id = ChunkIdScheme::Sha256.id(b"hello");
        w.add(id, BlobKind::Data, Compression::None, 5, b"hello").unwrap();
        let expected = "68656c6c6f\
            2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\
            0000000000000000\
            05000000\
            05000000\
            00000000\
            34000000\
            2ae0bd4d\
            73336b7061636b\
            01";
        assert_eq!(hex::encode(&w.finish().unwrap().last_part), expected);
    }

    #[test]
    fn small_packs_are_one_object_and_empty_packs_are_refused() {
        let mut w = PackWriter::new(PackId([2; 32]), config()).unwrap();
        w.add(ChunkId([3; 32]), BlobKind::Data, Compression::None, 3, b"abc")
            .unwrap();
        assert!(w.take_part().is_none());
        let done = w.finish().unwrap();
        assert_eq!(done.parts_taken, 0);
        assert_eq!(done.last_part.len() as u64, done.length);
        assert!(PackWriter::new(PackId([2; 32]), config()).unwrap().finish().is_err());
    }

    #[test]
    fn oversized_blobs_and_bad_configs_are_refused() {
        let mut w = PackWriter::new(PackId([2; 32]), config()).unwrap();
        let big = vec![0u8; MAX_BLOB_SIZE as usize + 1];
        assert!(matches!(
            w.add(ChunkId([3; 32]), BlobKind::Data, Compression::None, big.len(), &big),
            Err(Error::InvalidInput(_))
        ));
        assert!(w
            .add(ChunkId([3; 32]), BlobKind::Data, Compression::None, 0, b"")
            .is_err());
        assert!(w.is_empty());
        let tiny_parts = PackConfig {
            target_size: 16 << 20,
            part_size: 1 << 20,
        };
        assert!(PackWriter::new(PackId([2; 32]), tiny_parts).is_err());
    }
}
