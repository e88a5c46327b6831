//! Reading packs: the header from the pack's tail (to rebuild an index, or for
//! `verify --deep`) and single blobs from ranged reads (restore).
//!
//! Nothing read is trusted: every length and offset is checked against the pack's size and
//! the format's limits before it is used, the header against its CRC32C, every blob against
//! its length and its chunk id. A torn, truncated or corrupt pack gives [`Error::Integrity`]
//! naming the pack's key.

use std::ops::Range;

use super::compress::{Compression, Decompressor};
use super::id::{ChunkId, ChunkIdScheme};
use super::pack::{
    BlobKind, BlobLocation, PackEntry, ENTRY_LEN, MAGIC, MAX_BLOB_SIZE, MAX_ENTRIES, MAX_PACK_SIZE, TRAILER_LEN,
    VERSION,
};
use crate::error::{Error, Result};

/// How many bytes to fetch first from a pack's end (a suffix range): trailer plus a header
/// of up to 1,260 blobs. [`parse_tail`] says when it needs more.
pub const TAIL_HINT: u64 = 64 * 1024;

/// A pack's parsed header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackHeader {
    /// Its blobs, in offset order, contiguous from offset 0.
    pub entries: Vec<PackEntry>,
    /// Bytes of blob data (where the header starts).
    pub data_len: u64,
    /// The pack's total length.
    pub length: u64,
}

/// What [`parse_tail`] found in the bytes it was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tail {
    /// The header, complete and checked.
    Header(PackHeader),
    /// The header is longer than the bytes given: fetch this many bytes from the end.
    NeedLast(u64),
}

/// The byte range of a pack's last `n` bytes (as `bytes=-n` would fetch).
pub fn tail_range(pack_len: u64, n: u64) -> Range<u64> {
    pack_len.saturating_sub(n)..pack_len
}

fn corrupt(key: &str, why: impl std::fmt::Display) -> Error {
    Error::integrity(key, format!("pack {key} is truncated or corrupt: {why}"))
}

/// Parses a pack's header from its last bytes. `pack_len` is the object's size (from the
/// listing, HEAD or `Content-Range`), `tail` its last `tail.len()` bytes.
///
/// # Errors
/// [`Error::Integrity`] naming `key` when the trailer, the header or the blob layout is
/// inconsistent (a torn, truncated or overwritten pack); [`Error::InvalidInput`] when
/// `tail` is longer than the pack.
pub fn parse_tail(key: &str, pack_len: u64, tail: &[u8]) -> Result<Tail> {
    if tail.len() as u64 > pack_len {
        return Err(Error::invalid_input(format!(
            "{} tail bytes given for pack {key} of {pack_len} bytes",
            tail.len()
        )));
    }
    if pack_len < (TRAILER_LEN + ENTRY_LEN) as u64 {
        return Err(corrupt(key, format!("{pack_len} bytes is too short for a pack")));
    }
    if pack_len > MAX_PACK_SIZE {
        return Err(corrupt(
            key,
            format!("{pack_len} bytes is over the 2 GiB a pack may have"),
        ));
    }
    if tail.len() < TRAILER_LEN {
        return Ok(Tail::NeedLast(TAIL_HINT.min(pack_len)));
    }
    let trailer = &tail[tail.len() - TRAILER_LEN..];
    if &trailer[8..15] != MAGIC {
        return Err(corrupt(
            key,
            "no pack trailer at its end (the upload was torn or the object replaced)",
        ));
    }
    if trailer[15] != VERSION {
        return Err(corrupt(
            key,
            format!(
                "pack version {} is not {VERSION}, the one this s3keep reads",
                trailer[15]
            ),
        ));
    }
    let header_len = u64::from(u32::from_le_bytes(trailer[..4].try_into().expect("4 bytes")));
    let header_crc = u32::from_le_bytes(trailer[4..8].try_into().expect("4 bytes"));
    if header_len == 0 || header_len % ENTRY_LEN as u64 != 0 || header_len > (MAX_ENTRIES * ENTRY_LEN) as u64 {
        return Err(corrupt(key, format!("header length {header_len} is impossible")));
    }
    let needed = header_len + TRAILER_LEN as u64;
    if needed > pack_len {
        return Err(corrupt(
            key,
            format!("its header of {header_len} bytes is longer than the pack"),
        ));
    }
    if (tail.len() as u64) < needed {
        return Ok(Tail::NeedLast(needed));
    }
    let header = &tail[tail.len() - needed as usize..tail.len() - TRAILER_LEN];
    if crc32c::crc32c(header) != header_crc {
        return Err(corrupt(key, "its header does not match its CRC32C"));
    }
    let data_len = pack_len - needed;
    let mut entries = Vec::with_capacity(header.len() / ENTRY_LEN);
    let mut expected_offset = 0u64;
    for raw in header.chunks_exact(ENTRY_LEN) {
        let entry = decode_entry(key, raw)?;
        if entry.location.offset != expected_offset {
            return Err(corrupt(
                key,
                format!(
                    "blob {} starts at {}, expected {expected_offset}",
                    entry.id, entry.location.offset
                ),
            ));
        }
        expected_offset += u64::from(entry.location.length);
        entries.push(entry);
    }
    if expected_offset != data_len {
        return Err(corrupt(
            key,
            format!("its blobs cover {expected_offset} bytes, the pack holds {data_len} before its header"),
        ));
    }
    Ok(Tail::Header(PackHeader {
        entries,
        data_len,
        length: pack_len,
    }))
}

fn decode_entry(key: &str, raw: &[u8]) -> Result<PackEntry> {
    let u32_at = |at: usize| u32::from_le_bytes(raw[at..at + 4].try_into().expect("4 bytes"));
    let id = ChunkId(raw[..32].try_into().expect("32 bytes"));
    let offset = u64::from_le_bytes(raw[32..40].try_into().expect("8 bytes"));
    let (length, raw_length) = (u32_at(40), u32_at(44));
    let kind =
        BlobKind::from_code(raw[48]).ok_or_else(|| corrupt(key, format!("blob {id} has unknown kind {}", raw[48])))?;
    let compression = Compression::from_code(raw[49])
        .ok_or_else(|| corrupt(key, format!("blob {id} has unknown compression {}", raw[49])))?;
    if raw[50..52] != [0, 0] {
        return Err(corrupt(key, format!("blob {id} has non-zero reserved bytes")));
    }
    if length == 0 || raw_length == 0 || length > MAX_BLOB_SIZE || raw_length > MAX_BLOB_SIZE {
        return Err(corrupt(
            key,
            format!("blob {id} has impossible lengths {length}/{raw_length}"),
        ));
    }
    if compression == Compression::None && length != raw_length {
        return Err(corrupt(
            key,
            format!("raw blob {id} stores {length} bytes but records {raw_length}"),
        ));
    }
    Ok(PackEntry {
        id,
        kind,
        location: BlobLocation {
            offset,
            length,
            raw_length,
            compression,
        },
    })
}

/// Parses the header of a whole pack held in memory.
///
/// # Errors
/// As [`parse_tail`].
pub fn parse_pack(key: &str, pack: &[u8]) -> Result<PackHeader> {
    match parse_tail(key, pack.len() as u64, pack)? {
        Tail::Header(header) => Ok(header),
        Tail::NeedLast(_) => unreachable!("the whole pack was given"),
    }
}

/// Turns the stored bytes of one blob (fetched with a ranged GET of `location.range()`)
/// into the chunk's plaintext in `out`, and checks it against `id`.
///
/// # Errors
/// [`Error::Integrity`] naming `key` when fewer or more bytes arrived than the location
/// says, the blob does not decompress to its raw length, or its plaintext does not hash to
/// `id` (the pack was corrupted, or its bytes are not what the index says).
pub fn read_blob(
    key: &str,
    id: &ChunkId,
    location: &BlobLocation,
    stored: &[u8],
    scheme: &ChunkIdScheme,
    decompressor: &mut Decompressor,
    out: &mut Vec<u8>,
) -> Result<()> {
    if stored.len() as u64 != u64::from(location.length) {
        return Err(corrupt(
            key,
            format!(
                "blob {id} at {} should be {} bytes, {} arrived",
                location.offset,
                location.length,
                stored.len()
            ),
        ));
    }
    decompressor.decompress(key, location.compression, stored, location.raw_length as usize, out)?;
    scheme.verify(key, id, out)
}

/// `verify --deep` of a pack held in memory: parses the header and reads back every blob.
/// Returns the header.
///
/// # Errors
/// The first [`Error::Integrity`] found, naming `key`.
pub fn verify_pack(key: &str, pack: &[u8], scheme: &ChunkIdScheme) -> Result<PackHeader> {
    let header = parse_pack(key, pack)?;
    let mut decompressor = Decompressor::new()?;
    let mut out = Vec::new();
    for entry in &header.entries {
        let range = entry.location.range();
        let stored = &pack[range.start as usize..range.end as usize];
        read_blob(
            key,
            &entry.id,
            &entry.location,
            stored,
            scheme,
            &mut decompressor,
            &mut out,
        )?;
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format2::compress::Compressor;
    use crate::format2::id::PackId;
    use crate::format2::pack::{PackConfig, PackWriter};

    const KEY: &str = "data/ab/abcd";

    /// A pack of `n` chunks (text, so most compress), streamed out in parts and joined.
    fn pack(n: usize) -> (Vec<u8>, Vec<(ChunkId, Vec<u8>)>) {
        let config = PackConfig {
            target_size: 64 << 20,
            part_size: 5 << 20,
        };
        let mut writer = PackWriter::new(PackId([9; 32]), config).unwrap();
        let mut compressor = Compressor::new(3).unwrap();
        let mut chunks = Vec::new();
        let mut bytes = Vec::new();
        let mut rng = fastrand::Rng::with_seed(5);
        for i in 0..n {
            let len = rng.usize(1..600_000);
            let plain: Vec<u8> = if i % 3 == 0 {
                (0..len).map(|_| rng.u8(..)).collect()
            } else {
                format!("line {i}\n").repeat(len / 8 + 1).into_bytes()
            };
            let id = ChunkIdScheme::Sha256.id(&plain);
            let (compression, stored) = compressor.compress(&plain);
            writer
                .add(id, BlobKind::Data, compression, plain.len(), stored)
                .unwrap();
            while let Some(part) = writer.take_part() {
                bytes.extend_from_slice(&part);
            }
            chunks.push((id, plain));
        }
        bytes.extend_from_slice(&writer.finish().unwrap().last_part);
        (bytes, chunks)
    }

    #[test]
    fn a_written_pack_reads_back_blob_by_blob_from_ranges() {
        let (bytes, chunks) = pack(40);
        let tail = &bytes[tail_range(bytes.len() as u64, TAIL_HINT).start as usize..];
        let header = match parse_tail(KEY, bytes.len() as u64, tail).unwrap() {
            Tail::Header(h) => h,
            Tail::NeedLast(n) => panic!("40 entries fit in the hint, asked for {n}"),
        };
        assert_eq!(header.entries.len(), 40);
        assert!(header
            .entries
            .iter()
            .any(|e| e.location.compression == Compression::Zstd));
        assert!(header
            .entries
            .iter()
            .any(|e| e.location.compression == Compression::None));
        let mut d = Decompressor::new().unwrap();
        let mut out = Vec::new();
        for (entry, (id, plain)) in header.entries.iter().zip(&chunks) {
            assert_eq!(entry.id, *id);
            let r = entry.location.range();
            let stored = &bytes[r.start as usize..r.end as usize];
            read_blob(
                KEY,
                id,
                &entry.location,
                stored,
                &ChunkIdScheme::Sha256,
                &mut d,
                &mut out,
            )
            .unwrap();
            assert_eq!(&out, plain);
        }
        assert_eq!(verify_pack(KEY, &bytes, &ChunkIdScheme::Sha256).unwrap(), header);
    }

    #[test]
    fn a_short_tail_asks_for_exactly_the_header() {
        let (bytes, _) = pack(3);
        let len = bytes.len() as u64;
        assert_eq!(parse_tail(KEY, len, &[]).unwrap(), Tail::NeedLast(TAIL_HINT.min(len)));
        let need = (3 * ENTRY_LEN + TRAILER_LEN) as u64;
        let short = &bytes[bytes.len() - TRAILER_LEN - 1..];
        assert_eq!(parse_tail(KEY, len, short).unwrap(), Tail::NeedLast(need));
        let exact = &bytes[bytes.len() - need as usize..];
        assert!(matches!(parse_tail(KEY, len, exact).unwrap(), Tail::Header(_)));
    }

    fn integrity(result: Result<impl std::fmt::Debug>) -> String {
        match result {
            Err(e @ Error::Integrity(_)) => {
                assert_eq!(e.key(), Some(KEY));
                let text = e.to_string();
                assert!(text.contains(KEY), "{text}");
                text
            }
            other => panic!("expected an integrity error, got {other:?}"),
        }
    }

    #[test]
    fn torn_truncated_and_corrupt_packs_are_integrity_errors_naming_the_pack() {
        let (bytes, _) = pack(5);
        // Truncated (a torn upload, or a prefix of the pack): no trailer at the end.
        integrity(parse_pack(KEY, &bytes[..bytes.len() - 1]));
        integrity(parse_pack(KEY, &bytes[..bytes.len() / 2]));
        integrity(parse_pack(KEY, &bytes[..20]));
        // Extra bytes after the trailer.
        let mut longer = bytes.clone();
        longer.push(0);
        integrity(parse_pack(KEY, &longer));
        // A flipped bit in the header: its CRC32C no longer matches.
        let mut flipped = bytes.clone();
        let at = bytes.len() - TRAILER_LEN - 10;
        flipped[at] ^= 1;
        assert!(integrity(parse_pack(KEY, &flipped)).contains("CRC32C"));
        // A header length that points outside the pack, or is not a whole number of entries.
        let mut bad_len = bytes.clone();
        let t = bytes.len() - TRAILER_LEN;
        bad_len[t..t + 4].copy_from_slice(&(u32::MAX - 51).to_le_bytes());
        integrity(parse_pack(KEY, &bad_len));
        bad_len[t..t + 4].copy_from_slice(&51u32.to_le_bytes());
        integrity(parse_pack(KEY, &bad_len));
        // Another version.
        let mut v2 = bytes.clone();
        *v2.last_mut().unwrap() = 2;
        assert!(integrity(parse_pack(KEY, &v2)).contains("version 2"));
        // A flipped bit in a blob: the header is fine, deep verification is not.
        let mut blob_flip = bytes.clone();
        blob_flip[100] ^= 0x40;
        parse_pack(KEY, &blob_flip).unwrap();
        integrity(verify_pack(KEY, &blob_flip, &ChunkIdScheme::Sha256));
    }

    #[test]
    fn a_short_range_or_a_wrong_id_is_an_integrity_error() {
        let (bytes, chunks) = pack(2);
        let header = parse_pack(KEY, &bytes).unwrap();
        let entry = header.entries[1];
        let r = entry.location.range();
        let stored = &bytes[r.start as usize..r.end as usize];
        let mut d = Decompressor::new().unwrap();
        let mut out = Vec::new();
        let s = ChunkIdScheme::Sha256;
        integrity(read_blob(
            KEY,
            &entry.id,
            &entry.location,
            &stored[1..],
            &s,
            &mut d,
            &mut out,
        ));
        integrity(read_blob(
            KEY,
            &chunks[0].0,
            &entry.location,
            stored,
            &s,
            &mut d,
            &mut out,
        ));
    }

    #[test]
    fn a_forged_header_with_overlapping_or_oversized_blobs_is_refused() {
        let entry = |offset: u64, length: u32, raw_length: u32| PackEntry {
            id: ChunkId([1; 32]),
            kind: BlobKind::Data,
            location: BlobLocation {
                offset,
                length,
                raw_length,
                compression: Compression::None,
            },
        };
        let forge = |entries: &[PackEntry], data_len: usize| {
            let mut out = vec![0u8; data_len];
            let mut header = Vec::new();
            for e in entries {
                header.extend_from_slice(&e.encode());
            }
            let crc = crc32c::crc32c(&header);
            out.extend_from_slice(&header);
            out.extend_from_slice(&(header.len() as u32).to_le_bytes());
            out.extend_from_slice(&crc.to_le_bytes());
            out.extend_from_slice(MAGIC);
            out.push(VERSION);
            out
        };
        parse_pack(KEY, &forge(&[entry(0, 10, 10), entry(10, 5, 5)], 15)).unwrap();
        integrity(parse_pack(KEY, &forge(&[entry(0, 10, 10), entry(5, 10, 10)], 15)));
        integrity(parse_pack(KEY, &forge(&[entry(0, 10, 10)], 15)));
        integrity(parse_pack(KEY, &forge(&[entry(0, 10, 11)], 10)));
        let huge = MAX_BLOB_SIZE + 1;
        integrity(parse_pack(KEY, &forge(&[entry(0, 10, 10), entry(10, 5, huge)], 15)));
    }
}
