//! Per-chunk compression (§11): one zstd frame (RFC 8878) per chunk, or the raw bytes
//! when compression does not make the chunk strictly smaller; the choice is recorded per
//! blob ([`Compression`]) in the pack header and the index.
//!
//! Natively the `zstd` crate (the C library: fast, levels 1–22); in wasm32 the pure-Rust
//! `ruzstd` (the C library does not build for wasm32 here), whose encoder has one level
//! (`Fastest`, about zstd's level 1). Both write and read standard frames: a test below
//! decodes each one's output with the other.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How a blob is stored: its code in the pack header, its name in JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// The raw bytes (code 0).
    None,
    /// One zstd frame (code 1).
    Zstd,
}

impl Compression {
    /// The byte written in the pack header.
    pub fn code(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Zstd => 1,
        }
    }

    /// The compression of a pack header byte, `None` for an unknown code.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Compression::None),
            1 => Some(Compression::Zstd),
            _ => None,
        }
    }
}

/// The default zstd level of writers (natively; wasm32 always uses ruzstd's one level).
pub const DEFAULT_LEVEL: i32 = 3;

/// Compresses chunks, reusing its context and output buffer from chunk to chunk.
pub struct Compressor {
    #[cfg(not(target_arch = "wasm32"))]
    context: zstd::bulk::Compressor<'static>,
    out: Vec<u8>,
}

impl std::fmt::Debug for Compressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compressor").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decompressor").finish_non_exhaustive()
    }
}

impl Compressor {
    /// A compressor at zstd `level` (1–22 natively; ignored in wasm32).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the level is refused by zstd.
    pub fn new(level: i32) -> Result<Self> {
        #[cfg(target_arch = "wasm32")]
        let _ = level;
        Ok(Self {
            #[cfg(not(target_arch = "wasm32"))]
            context: zstd::bulk::Compressor::new(level)
                .map_err(|e| Error::invalid_input(format!("zstd level {level} is refused: {e}")))?,
            out: Vec::new(),
        })
    }

    /// The stored form of `raw`: `(Zstd, frame)` when the frame is strictly smaller than
    /// `raw`, else `(None, raw)`. The frame is borrowed from the compressor until its next call.
    pub fn compress<'a>(&'a mut self, raw: &'a [u8]) -> (Compression, &'a [u8]) {
        if raw.is_empty() {
            return (Compression::None, raw);
        }
        #[cfg(not(target_arch = "wasm32"))]
        let shrunk = native::compress(&mut self.context, raw, &mut self.out);
        #[cfg(target_arch = "wasm32")]
        let shrunk = pure::compress(raw, &mut self.out);
        if shrunk {
            (Compression::Zstd, &self.out)
        } else {
            (Compression::None, raw)
        }
    }
}

/// Decompresses blobs, reusing its context.
pub struct Decompressor {
    #[cfg(not(target_arch = "wasm32"))]
    context: zstd::bulk::Decompressor<'static>,
}

impl Decompressor {
    /// A decompressor.
    ///
    /// # Errors
    /// [`Error::Io`] if zstd cannot allocate its context.
    pub fn new() -> Result<Self> {
        Ok(Self {
            #[cfg(not(target_arch = "wasm32"))]
            context: zstd::bulk::Decompressor::new().map_err(|e| Error::io("zstd", e))?,
        })
    }

    /// Writes the raw bytes of a stored blob into `out` (cleared first). `raw_len` comes from
    /// the pack header or the index and bounds the output (no decompression bombs).
    ///
    /// # Errors
    /// [`Error::Integrity`] naming `key` (the pack) when the blob is not a valid zstd frame or
    /// does not decompress to exactly `raw_len` bytes.
    pub fn decompress(
        &mut self,
        key: &str,
        compression: Compression,
        stored: &[u8],
        raw_len: usize,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        out.clear();
        match compression {
            Compression::None => out.extend_from_slice(stored),
            Compression::Zstd => {
                #[cfg(not(target_arch = "wasm32"))]
                let result = native::decompress(&mut self.context, stored, raw_len, out);
                #[cfg(target_arch = "wasm32")]
                let result = pure::decompress(stored, raw_len, out);
                result.map_err(|why| Error::integrity(key, format!("a blob in {key} does not decompress: {why}")))?;
            }
        }
        if out.len() != raw_len {
            return Err(Error::integrity(
                key,
                format!("a blob in {key} holds {} bytes, its header says {raw_len}", out.len()),
            ));
        }
        Ok(())
    }
}

/// Compresses a whole object (an index or manifest JSON) into one zstd frame.
pub fn compress_object(bytes: &[u8], level: i32) -> Vec<u8> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        zstd::bulk::compress(bytes, level).expect("zstd compresses into a buffer of its own bound")
    }
    #[cfg(target_arch = "wasm32")]
    {
        let _ = level;
        ruzstd::encoding::compress_to_vec(bytes, ruzstd::encoding::CompressionLevel::Fastest)
    }
}

/// Decompresses a whole object written by [`compress_object`], refusing to produce more than
/// `limit` bytes (objects come from the store: trust nothing).
///
/// # Errors
/// [`Error::Integrity`] naming `key` when the object is not a zstd frame or is larger
/// than `limit` once decompressed.
pub fn decompress_object(key: &str, bytes: &[u8], limit: u64) -> Result<Vec<u8>> {
    use std::io::Read as _;
    let mut out = Vec::new();
    #[cfg(not(target_arch = "wasm32"))]
    let read = zstd::stream::read::Decoder::with_buffer(bytes).and_then(|d| d.take(limit + 1).read_to_end(&mut out));
    #[cfg(target_arch = "wasm32")]
    let read = ruzstd::decoding::StreamingDecoder::new(bytes)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))
        .and_then(|d| d.take(limit + 1).read_to_end(&mut out));
    read.map_err(|e| Error::integrity(key, format!("object {key} is not a valid zstd frame: {e}")))?;
    if out.len() as u64 > limit {
        return Err(Error::integrity(
            key,
            format!("object {key} decompresses to more than {limit} bytes"),
        ));
    }
    Ok(out)
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    /// Compresses into `out` and reports whether the frame is strictly smaller than `raw`:
    /// zstd is given a destination one byte shorter than `raw`, so it stops as soon as the
    /// frame cannot be smaller.
    pub(super) fn compress(context: &mut zstd::bulk::Compressor<'static>, raw: &[u8], out: &mut Vec<u8>) -> bool {
        out.clear();
        out.resize(raw.len() - 1, 0);
        match context.compress_to_buffer(raw, &mut out[..]) {
            Ok(n) => {
                out.truncate(n);
                true
            }
            Err(_) => false,
        }
    }

    pub(super) fn decompress(
        context: &mut zstd::bulk::Decompressor<'static>,
        stored: &[u8],
        raw_len: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        out.resize(raw_len, 0);
        let n = context
            .decompress_to_buffer(stored, &mut out[..])
            .map_err(|e| e.to_string())?;
        out.truncate(n);
        Ok(())
    }
}

#[cfg(any(target_arch = "wasm32", test))]
mod pure {
    use ruzstd::decoding::FrameDecoder;
    use ruzstd::encoding::{compress_to_vec, CompressionLevel};

    pub(super) fn compress(raw: &[u8], out: &mut Vec<u8>) -> bool {
        *out = compress_to_vec(raw, CompressionLevel::Fastest);
        out.len() < raw.len()
    }

    pub(super) fn decompress(stored: &[u8], raw_len: usize, out: &mut Vec<u8>) -> Result<(), String> {
        out.clear();
        out.reserve_exact(raw_len);
        FrameDecoder::new()
            .decode_all_to_vec(stored, out)
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(len: usize) -> Vec<u8> {
        let words = ["chunk ", "pack ", "index ", "manifest ", "checkpoint ", "retention\n"];
        let mut rng = fastrand::Rng::with_seed(1);
        let mut out = Vec::with_capacity(len + 16);
        while out.len() < len {
            out.extend_from_slice(words[rng.usize(..words.len())].as_bytes());
        }
        out.truncate(len);
        out
    }

    fn random(len: usize) -> Vec<u8> {
        let mut rng = fastrand::Rng::with_seed(2);
        (0..len).map(|_| rng.u8(..)).collect()
    }

    #[test]
    fn compressible_chunks_are_zstd_and_round_trip() {
        let raw = text(1 << 20);
        let mut c = Compressor::new(DEFAULT_LEVEL).unwrap();
        let (kind, stored) = c.compress(&raw);
        assert_eq!(kind, Compression::Zstd);
        assert!(stored.len() < raw.len() / 3, "{} bytes", stored.len());
        let stored = stored.to_vec();
        let mut out = Vec::new();
        Decompressor::new()
            .unwrap()
            .decompress("p", kind, &stored, raw.len(), &mut out)
            .unwrap();
        assert_eq!(out, raw);
    }

    #[test]
    fn incompressible_and_empty_chunks_are_stored_raw() {
        let raw = random(300_000);
        let mut c = Compressor::new(DEFAULT_LEVEL).unwrap();
        let (kind, stored) = c.compress(&raw);
        assert_eq!((kind, stored), (Compression::None, &raw[..]));
        assert_eq!(c.compress(b"").0, Compression::None);
        assert_eq!(c.compress(b"x").0, Compression::None, "one byte never shrinks");
    }

    #[test]
    fn ruzstd_reads_native_frames_and_native_reads_ruzstd_frames() {
        // The interoperability the wasm build relies on: frames written natively (C zstd)
        // are read by ruzstd (wasm32's decoder) and the other way round.
        let raw = text(700_000);
        let mut native_frame = Vec::new();
        let mut ctx = zstd::bulk::Compressor::new(DEFAULT_LEVEL).unwrap();
        assert!(native::compress(&mut ctx, &raw, &mut native_frame));
        let mut out = Vec::new();
        pure::decompress(&native_frame, raw.len(), &mut out).unwrap();
        assert_eq!(out, raw, "ruzstd decodes C zstd's frame");

        let mut pure_frame = Vec::new();
        assert!(pure::compress(&raw, &mut pure_frame));
        let mut d = Decompressor::new().unwrap();
        d.decompress("p", Compression::Zstd, &pure_frame, raw.len(), &mut out)
            .unwrap();
        assert_eq!(out, raw, "C zstd decodes ruzstd's frame");
        assert_eq!(
            &pure_frame[..4],
            &[0x28, 0xb5, 0x2f, 0xfd],
            "a standard zstd magic number"
        );
    }

    #[test]
    fn corrupt_or_mislabelled_blobs_are_integrity_errors_naming_the_pack() {
        let raw = text(100_000);
        let mut c = Compressor::new(1).unwrap();
        let (_, stored) = c.compress(&raw);
        let mut stored = stored.to_vec();
        let mut d = Decompressor::new().unwrap();
        let mut out = Vec::new();
        // A raw length that is too small (a bomb guard) or too large.
        for wrong in [raw.len() - 1, raw.len() + 1] {
            let err = d
                .decompress("data/ab/p1", Compression::Zstd, &stored, wrong, &mut out)
                .unwrap_err();
            assert!(matches!(err, Error::Integrity(_)), "{err}");
            assert!(err.to_string().contains("data/ab/p1"));
        }
        // Truncated and bit-flipped frames.
        let err = d
            .decompress("p", Compression::Zstd, &stored[..stored.len() / 2], raw.len(), &mut out)
            .unwrap_err();
        assert!(matches!(err, Error::Integrity(_)));
        stored[0] ^= 0xff;
        assert!(d
            .decompress("p", Compression::Zstd, &stored, raw.len(), &mut out)
            .is_err());
        // Raw blobs must have the recorded length too.
        assert!(d.decompress("p", Compression::None, b"abc", 4, &mut out).is_err());
        let mut pure_out = Vec::new();
        assert!(pure::decompress(&stored, raw.len(), &mut pure_out).is_err());
    }

    #[test]
    fn objects_round_trip_and_are_bounded() {
        let json = text(200_000);
        let stored = compress_object(&json, DEFAULT_LEVEL);
        assert!(stored.len() < json.len() / 3);
        assert_eq!(decompress_object("index/x", &stored, 1 << 20).unwrap(), json);
        let err = decompress_object("index/x", &stored, 1000).unwrap_err();
        assert!(matches!(err, Error::Integrity(_)) && err.to_string().contains("index/x"));
        assert!(decompress_object("index/x", b"not zstd", 1000).is_err());
        // Objects written by the wasm encoder read natively.
        let pure = ruzstd::encoding::compress_to_vec(&json[..], ruzstd::encoding::CompressionLevel::Fastest);
        assert_eq!(decompress_object("m", &pure, 1 << 20).unwrap(), json);
    }

    #[test]
    fn codes_round_trip_and_unknown_codes_are_refused() {
        for c in [Compression::None, Compression::Zstd] {
            assert_eq!(Compression::from_code(c.code()), Some(c));
        }
        assert_eq!(Compression::from_code(2), None);
        assert_eq!(serde_json::to_string(&Compression::Zstd).unwrap(), "\"zstd\"");
    }
}
