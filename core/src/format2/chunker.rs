//! Content-defined chunking (§11) with FastCDC 2020 (`fastcdc::v2020`), streaming with
//! bounded memory over any source.
//!
//! The [`Chunker`] is a push-pull state machine, so that the same code serves a
//! [`std::io::Read`], a [`futures::io::AsyncRead`], a tokio file, a JS `ReadableStream` or a
//! `Blob` read slice by slice: the caller writes bytes into [`Chunker::space`] (or calls
//! [`Chunker::feed`]) and takes complete chunks out with [`Chunker::next_chunk`], which borrows
//! them from the chunker's buffer (no copy per chunk).
//!
//! Cut points are exactly those of `fastcdc::v2020::FastCDC` over the whole input (a test
//! proves it for many feed sizes). A cut is only final once the chunker has seen `max_size`
//! bytes past the chunk's start, or the end of the input — except that a cut found *inside*
//! a shorter window is already final: FastCDC scans forward and returns the first position
//! whose gear hash matches, so more data after the window cannot change it. The chunker
//! therefore tries to cut after `2 × avg_size` bytes, then doubles the window until
//! `max_size`, which keeps the data waiting in the buffer small.
//!
//! Memory: the buffer holds at most `max_size + max_size / 2` bytes (12 MiB with the
//! default parameters) and grows by doubling from 64 KiB only as data arrives, so a small
//! file costs 64 KiB. Reuse one chunker per worker ([`Chunker::reset`]) so that its buffer
//! is allocated once, not once per file.

use std::io::{self, Read};

use fastcdc::v2020;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How many bytes [`Chunker::space`] offers at most per call (one read).
pub const READ_BLOCK: usize = 1 << 20;
/// The buffer's first allocation: a small file costs no more.
const FIRST_BLOCK: usize = 64 * 1024;
/// [`Chunker::space`] grows or compacts the buffer when less room than this is left.
const MIN_READ: usize = 16 * 1024;

/// FastCDC parameters, as recorded in the store descriptor (`chunker`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChunkerParams {
    /// Smallest chunk in bytes (except the last chunk of a file): 512 KiB by default.
    pub min_size: u32,
    /// Target average chunk size in bytes: 1 MiB by default.
    pub avg_size: u32,
    /// Largest chunk in bytes: 8 MiB by default.
    pub max_size: u32,
    /// FastCDC normalisation level, 0–3 (1, the crate's default, by default).
    pub normalization: u8,
}

impl Default for ChunkerParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl ChunkerParams {
    /// restic's sizes: 512 KiB min, 1 MiB average, 8 MiB max; normalisation level 1.
    pub const DEFAULT: Self = Self {
        min_size: 512 * 1024,
        avg_size: 1024 * 1024,
        max_size: 8 * 1024 * 1024,
        normalization: 1,
    };

    /// Checks the parameters against what `fastcdc::v2020` accepts (it panics otherwise):
    /// min in 64 B..=1 MiB, avg in 256 B..=4 MiB, max in 1 KiB..=16 MiB, min ≤ avg ≤ max,
    /// normalisation 0–3.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the parameter (a store descriptor with other values
    /// cannot be written to by this version).
    pub fn validate(&self) -> Result<()> {
        let in_range = |v: u32, lo: u32, hi: u32| (lo..=hi).contains(&v);
        let ok = in_range(self.min_size, v2020::MINIMUM_MIN, v2020::MINIMUM_MAX)
            && in_range(self.avg_size, v2020::AVERAGE_MIN, v2020::AVERAGE_MAX)
            && in_range(self.max_size, v2020::MAXIMUM_MIN, v2020::MAXIMUM_MAX)
            && self.min_size <= self.avg_size
            && self.avg_size <= self.max_size
            && self.normalization <= 3
            && v2020::logarithm2(self.avg_size) >= u32::from(self.normalization);
        if ok {
            Ok(())
        } else {
            Err(Error::invalid_input(format!(
                "chunker parameters min {} / avg {} / max {} / normalization {} are outside FastCDC's limits \
                 (min 64 B-1 MiB, avg 256 B-4 MiB, max 1 KiB-16 MiB, min <= avg <= max, normalization 0-3)",
                self.min_size, self.avg_size, self.max_size, self.normalization
            )))
        }
    }

    /// The largest buffer a [`Chunker`] with these parameters holds, in bytes.
    pub fn buffer_limit(&self) -> usize {
        let max = self.max_size as usize;
        max + max / 2
    }
}

/// A chunk borrowed from the chunker's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk<'a> {
    /// Where the chunk starts in the input, in bytes.
    pub offset: u64,
    /// The chunk's bytes (plaintext).
    pub data: &'a [u8],
}

/// Streaming FastCDC over input pushed in pieces. See the module documentation.
pub struct Chunker {
    params: ChunkerParams,
    mask_s: u64,
    mask_l: u64,
    /// Initialised bytes; the input not yet cut is `buf[start..end]`.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Input offset of `buf[start]`.
    offset: u64,
    eof: bool,
    /// Pending bytes at which the next cut is tried before `max_size` is reached.
    next_try: usize,
}

impl std::fmt::Debug for Chunker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chunker")
            .field("params", &self.params)
            .field("offset", &self.offset)
            .field("pending", &self.pending())
            .field("eof", &self.eof)
            .finish_non_exhaustive()
    }
}

impl Chunker {
    /// A chunker for one input (use [`Chunker::reset`] to reuse its buffer for the next).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the parameters are outside FastCDC's limits.
    pub fn new(params: ChunkerParams) -> Result<Self> {
        params.validate()?;
        let bits = v2020::logarithm2(params.avg_size);
        let level = u32::from(params.normalization);
        Ok(Self {
            params,
            mask_s: v2020::MASKS[(bits + level) as usize],
            mask_l: v2020::MASKS[(bits - level) as usize],
            buf: Vec::new(),
            start: 0,
            end: 0,
            offset: 0,
            eof: false,
            next_try: Self::first_try(&params),
        })
    }

    fn first_try(params: &ChunkerParams) -> usize {
        (2 * params.avg_size as usize).min(params.max_size as usize)
    }

    /// The parameters.
    pub fn params(&self) -> &ChunkerParams {
        &self.params
    }

    /// Starts a new input, keeping the allocated buffer.
    pub fn reset(&mut self) {
        self.start = 0;
        self.end = 0;
        self.offset = 0;
        self.eof = false;
        self.next_try = Self::first_try(&self.params);
    }

    /// Bytes received and not yet returned as chunks.
    pub fn pending(&self) -> usize {
        self.end - self.start
    }

    /// Bytes the buffer has allocated (its memory), at most [`ChunkerParams::buffer_limit`].
    pub fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Where the caller writes the next input bytes, then calls [`Chunker::commit`] with how
    /// many it wrote. Empty when chunks must be taken out first (call
    /// [`Chunker::next_chunk`] until it returns `None`) or after [`Chunker::finish`].
    pub fn space(&mut self) -> &mut [u8] {
        let max = self.params.max_size as usize;
        let pending = self.pending();
        if self.eof || pending >= max {
            return &mut [];
        }
        // Never hold more than max_size pending bytes: a cut is final by then.
        let allowed = max - pending;
        let needed = MIN_READ.min(allowed);
        let limit = self.params.buffer_limit();
        if self.end + needed > limit {
            // Move the pending bytes to the front. Pending is small after an early cut,
            // and at most max_size, copied once per at least max_size / 2 bytes consumed.
            self.buf.copy_within(self.start..self.end, 0);
            self.end = pending;
            self.start = 0;
        }
        if self.buf.len() - self.end < needed {
            // Grow by doubling from FIRST_BLOCK: a small input allocates (and zeroes) little,
            // and a chunker reused with `reset` never allocates again.
            let grown = (self.buf.len() * 2).max(FIRST_BLOCK).max(self.end + needed).min(limit);
            self.buf.reserve_exact(grown - self.buf.len());
            self.buf.resize(grown, 0);
        }
        let n = (self.buf.len() - self.end).min(allowed).min(READ_BLOCK);
        &mut self.buf[self.end..self.end + n]
    }

    /// Records that the first `n` bytes of [`Chunker::space`] hold input.
    ///
    /// # Panics
    /// If `n` is more than the space offered.
    pub fn commit(&mut self, n: usize) {
        let max = self.params.max_size as usize;
        assert!(
            self.end + n <= self.buf.len() && self.pending() + n <= max,
            "commit beyond space"
        );
        self.end += n;
    }

    /// Copies input from `data`; returns how many bytes were taken (fewer than `data.len()`
    /// when chunks must be taken out first).
    pub fn feed(&mut self, mut data: &[u8]) -> usize {
        let mut taken = 0;
        while !data.is_empty() {
            let space = self.space();
            if space.is_empty() {
                break;
            }
            let n = space.len().min(data.len());
            space[..n].copy_from_slice(&data[..n]);
            self.commit(n);
            data = &data[n..];
            taken += n;
        }
        taken
    }

    /// Marks the end of the input: the remaining bytes become the last chunks.
    pub fn finish(&mut self) {
        self.eof = true;
    }

    /// Whether the input has ended and every chunk was taken.
    pub fn is_done(&self) -> bool {
        self.eof && self.pending() == 0
    }

    /// The next complete chunk, or `None` when more input (or [`Chunker::finish`]) is needed
    /// or everything was taken.
    pub fn next_chunk(&mut self) -> Option<Chunk<'_>> {
        let pending = self.pending();
        if pending == 0 {
            return None;
        }
        let max = self.params.max_size as usize;
        let window = pending.min(max);
        let final_window = self.eof || pending >= max;
        if !final_window && pending < self.next_try {
            return None;
        }
        let (_, count) = v2020::cut(
            &self.buf[self.start..self.start + window],
            self.params.min_size as usize,
            self.params.avg_size as usize,
            max,
            self.mask_s,
            self.mask_l,
            self.mask_s << 1,
            self.mask_l << 1,
        );
        if !final_window && count >= window {
            // No cut point inside the window yet: it may lie in bytes not received.
            self.next_try = (self.next_try * 2).min(max);
            return None;
        }
        let chunk = Chunk {
            offset: self.offset,
            data: &self.buf[self.start..self.start + count],
        };
        self.start += count;
        self.offset += count as u64;
        self.next_try = Self::first_try(&self.params);
        Some(chunk)
    }

    /// Reads once from `reader` into [`Chunker::space`]; at the end of the input, calls
    /// [`Chunker::finish`]. Returns the bytes read (0 at the end or when chunks must be taken
    /// out first). Retries `Interrupted`.
    ///
    /// # Errors
    /// The reader's error.
    pub fn read_from<R: Read + ?Sized>(&mut self, reader: &mut R) -> io::Result<usize> {
        let space = self.space();
        if space.is_empty() {
            return Ok(0);
        }
        let n = loop {
            match reader.read(space) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        if n == 0 {
            self.finish();
        } else {
            self.commit(n);
        }
        Ok(n)
    }

    /// [`Chunker::read_from`] for a [`futures::io::AsyncRead`] (for tokio sources, write into
    /// [`Chunker::space`] and [`Chunker::commit`] directly).
    ///
    /// # Errors
    /// The reader's error.
    pub async fn read_from_async<R: futures::io::AsyncRead + Unpin + ?Sized>(
        &mut self,
        reader: &mut R,
    ) -> io::Result<usize> {
        use futures::io::AsyncReadExt as _;
        let space = self.space();
        if space.is_empty() {
            return Ok(0);
        }
        let n = reader.read(space).await?;
        if n == 0 {
            self.finish();
        } else {
            self.commit(n);
        }
        Ok(n)
    }
}

/// Calls `on_chunk` for every chunk of `reader`'s content, in order, with bounded memory.
/// `name` names the source in errors.
///
/// # Errors
/// [`Error::Io`] naming `name` when the reader fails, or the first error `on_chunk` returns.
pub fn chunk_reader<R: Read + ?Sized>(
    params: ChunkerParams,
    name: &str,
    reader: &mut R,
    mut on_chunk: impl FnMut(Chunk<'_>) -> Result<()>,
) -> Result<()> {
    let mut chunker = Chunker::new(params)?;
    while !chunker.is_done() {
        while let Some(chunk) = chunker.next_chunk() {
            on_chunk(chunk)?;
        }
        chunker.read_from(reader).map_err(|e| Error::io(name, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random bytes with repeated stretches, so that cut points come
    /// both from the gear hash and from the min/max limits.
    fn sample(len: usize, seed: u64) -> Vec<u8> {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut data = Vec::with_capacity(len);
        while data.len() < len {
            if rng.u8(..) < 16 {
                let run = rng.usize(1..200_000);
                data.extend(std::iter::repeat_n(rng.u8(..), run));
            } else {
                let run = rng.usize(1..100_000);
                data.extend((0..run).map(|_| rng.u8(..)));
            }
        }
        data.truncate(len);
        data
    }

    fn streamed(params: ChunkerParams, data: &[u8], block: usize) -> Vec<(u64, usize)> {
        let mut chunker = Chunker::new(params).unwrap();
        let mut cuts = Vec::new();
        let mut rest = data;
        loop {
            while let Some(c) = chunker.next_chunk() {
                assert_eq!(&data[c.offset as usize..c.offset as usize + c.data.len()], c.data);
                cuts.push((c.offset, c.data.len()));
            }
            assert!(chunker.buffer_capacity() <= params.buffer_limit());
            if chunker.is_done() {
                return cuts;
            }
            if rest.is_empty() {
                chunker.finish();
                continue;
            }
            let n = chunker.feed(&rest[..block.min(rest.len())]);
            rest = &rest[n..];
        }
    }

    fn whole(params: ChunkerParams, data: &[u8]) -> Vec<(u64, usize)> {
        v2020::FastCDC::new(data, params.min_size, params.avg_size, params.max_size)
            .map(|c| (c.offset as u64, c.length))
            .collect()
    }

    #[test]
    fn streaming_cuts_equal_fastcdc_over_the_whole_input() {
        let small = ChunkerParams {
            min_size: 2048,
            avg_size: 8192,
            max_size: 65536,
            normalization: 1,
        };
        let data = sample(3 << 20, 1);
        let expected = whole(small, &data);
        assert!(expected.len() > 100, "{} chunks", expected.len());
        for block in [1000, 4096, 65536 + 7, 1 << 20, 5 << 20] {
            assert_eq!(streamed(small, &data, block), expected, "feed block {block}");
        }
    }

    #[test]
    fn default_parameters_cut_like_fastcdc_and_stay_within_limits() {
        let params = ChunkerParams::DEFAULT;
        let data = sample(24 << 20, 2);
        let expected = whole(params, &data);
        assert_eq!(streamed(params, &data, 300_000), expected);
        assert_eq!(streamed(params, &data, READ_BLOCK), expected);
        let sizes: Vec<usize> = expected.iter().map(|c| c.1).collect();
        let (last, body) = sizes.split_last().unwrap();
        assert!(body.iter().all(|s| (512 << 10..=8 << 20).contains(s)), "{sizes:?}");
        assert!(*last <= 8 << 20);
        assert_eq!(sizes.iter().sum::<usize>(), data.len());
    }

    #[test]
    fn inputs_below_the_minimum_are_one_chunk_and_empty_input_none() {
        let data = sample(100_000, 3);
        assert_eq!(streamed(ChunkerParams::DEFAULT, &data, 4096), vec![(0, 100_000)]);
        assert_eq!(streamed(ChunkerParams::DEFAULT, &[], 4096), vec![]);
    }

    #[test]
    fn zeros_are_cut_at_max_size() {
        let data = vec![0u8; 20 << 20];
        let cuts = streamed(ChunkerParams::DEFAULT, &data, READ_BLOCK);
        assert_eq!(cuts, vec![(0, 8 << 20), (8 << 20, 8 << 20), (16 << 20, 4 << 20)]);
    }

    #[test]
    fn memory_stays_bounded_over_a_long_stream() {
        // 64 MiB through the chunker: the buffer never exceeds 1.5 × max_size.
        let params = ChunkerParams::DEFAULT;
        let mut chunker = Chunker::new(params).unwrap();
        let mut rng = fastrand::Rng::with_seed(9);
        let mut total = 0usize;
        let mut fed = 0usize;
        while !chunker.is_done() {
            while let Some(c) = chunker.next_chunk() {
                total += c.data.len();
            }
            let space = chunker.space();
            if fed >= 64 << 20 {
                chunker.finish();
            } else if !space.is_empty() {
                rng.fill(space);
                let n = space.len();
                chunker.commit(n);
                fed += n;
            }
            assert!(chunker.buffer_capacity() <= params.buffer_limit());
        }
        assert_eq!(total, fed);
    }

    #[test]
    fn a_reader_is_chunked_and_small_inputs_allocate_little() {
        let data = sample(5 << 20, 4);
        let mut reader = &data[..];
        let mut out = Vec::new();
        chunk_reader(ChunkerParams::DEFAULT, "sample", &mut reader, |c| {
            out.extend_from_slice(c.data);
            Ok(())
        })
        .unwrap();
        assert_eq!(out, data);

        let mut chunker = Chunker::new(ChunkerParams::DEFAULT).unwrap();
        let mut small = &data[..10_000];
        while chunker.read_from(&mut small).unwrap() > 0 {}
        assert_eq!(chunker.next_chunk().map(|c| c.data.len()), Some(10_000));
        assert!(
            chunker.buffer_capacity() <= FIRST_BLOCK,
            "{}",
            chunker.buffer_capacity()
        );
        // Reused, it chunks the next input without growing.
        chunker.reset();
        let mut again = &data[..30_000];
        while chunker.read_from(&mut again).unwrap() > 0 {}
        assert_eq!(
            chunker.next_chunk().map(|c| (c.offset, c.data.len())),
            Some((0, 30_000))
        );
        assert!(chunker.buffer_capacity() <= FIRST_BLOCK);
    }

    #[test]
    fn async_readers_are_chunked_too() {
        let data = sample(3 << 20, 5);
        let mut reader = futures::io::Cursor::new(data.clone());
        let mut chunker = Chunker::new(ChunkerParams::DEFAULT).unwrap();
        let mut out = Vec::new();
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            while !chunker.is_done() {
                while let Some(c) = chunker.next_chunk() {
                    out.extend_from_slice(c.data);
                }
                chunker.read_from_async(&mut reader).await.unwrap();
            }
        });
        assert_eq!(out, data);
    }

    #[test]
    fn out_of_range_parameters_are_refused() {
        let mut p = ChunkerParams::DEFAULT;
        p.max_size = 32 << 20;
        assert!(matches!(Chunker::new(p), Err(Error::InvalidInput(_))));
        let mut p = ChunkerParams::DEFAULT;
        p.min_size = 2 << 20;
        assert!(p.validate().is_err());
        let mut p = ChunkerParams::DEFAULT;
        p.normalization = 4;
        assert!(p.validate().is_err());
    }
}
