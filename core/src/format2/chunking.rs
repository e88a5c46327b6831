//! Turning files into chunks for a save: read, cut (FastCDC), id, CRC32C, deduplicate
//! against the index and this save's own chunks, compress what is new, hand it to the
//! packer as a [`Blob`].
//!
//! Natively, files on disk are read by worker threads (one per core, each with its own
//! chunker and compressor, reused file after file), synchronously: no async hop per read,
//! and hashing and compression run in parallel. Other sources (bytes, JS `Blob`s and
//! streams) go through the async path, one file after another, with the same code per
//! chunk. Blobs go to the packer through a bounded channel, which is how a slow upload
//! slows the readers down.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use super::chunker::{Chunker, ChunkerParams, READ_BLOCK};
use super::compress::{Compression, Compressor};
use super::id::{ChunkId, ChunkIdScheme};
use super::index::Index;
use crate::backup::progress::Tracker;
use crate::backup::source::ChunkReader;
use crate::error::{Error, ErrorDetails, Result};
use crate::s3::checksum::Crc32c;

/// A new chunk, compressed or not, for the packer.
pub(crate) struct Blob {
    pub id: ChunkId,
    pub compression: Compression,
    pub raw_len: usize,
    pub stored: Vec<u8>,
}

/// Chunks this save must store: neither in the index nor already claimed by this save.
pub(crate) struct Dedup {
    index: Arc<Index>,
    claimed: Mutex<HashSet<ChunkId>>,
}

impl Dedup {
    pub fn new(index: Arc<Index>) -> Self {
        Self {
            index,
            claimed: Mutex::new(HashSet::new()),
        }
    }

    /// Whether the caller must store `id` (true once per id per save).
    pub fn claim(&self, id: &ChunkId) -> bool {
        !self.index.contains(id) && self.claimed.lock().expect("not poisoned").insert(*id)
    }
}

/// What chunking one file gave.
#[derive(Debug)]
pub(crate) struct ChunkedFile {
    pub size: u64,
    pub crc32c: Crc32c,
    pub chunks: Vec<ChunkId>,
}

/// Per worker: a chunker and a compressor reused file after file, and the file in progress.
pub(crate) struct FileChunker {
    chunker: Chunker,
    compressor: Compressor,
    scheme: ChunkIdScheme,
    dedup: Arc<Dedup>,
    size: u64,
    crc: Crc32c,
    chunks: Vec<ChunkId>,
}

impl FileChunker {
    pub fn new(params: ChunkerParams, level: i32, scheme: ChunkIdScheme, dedup: Arc<Dedup>) -> Result<Self> {
        Ok(Self {
            chunker: Chunker::new(params)?,
            compressor: Compressor::new(level)?,
            scheme,
            dedup,
            size: 0,
            crc: Crc32c::new(),
            chunks: Vec::new(),
        })
    }

    fn start(&mut self) {
        self.chunker.reset();
        self.size = 0;
        self.crc = Crc32c::new();
        self.chunks = Vec::new();
    }

    /// Takes every complete chunk out of the chunker; new ones become blobs in `out`.
    fn drain(&mut self, out: &mut Vec<Blob>) {
        let Self {
            chunker,
            compressor,
            scheme,
            dedup,
            size,
            crc,
            chunks,
        } = self;
        while let Some(chunk) = chunker.next_chunk() {
            let id = scheme.id(chunk.data);
            crc.update(chunk.data);
            *size += chunk.data.len() as u64;
            chunks.push(id);
            if dedup.claim(&id) {
                let (compression, stored) = compressor.compress(chunk.data);
                out.push(Blob {
                    id,
                    compression,
                    raw_len: chunk.data.len(),
                    stored: stored.to_vec(),
                });
            }
        }
    }

    fn finish_file(&mut self) -> ChunkedFile {
        ChunkedFile {
            size: self.size,
            crc32c: self.crc,
            chunks: std::mem::take(&mut self.chunks),
        }
    }

    /// Chunks a source read through the async [`ChunkReader`] (bytes, ranged, streams; any
    /// source in wasm32), sending new blobs to `blobs`.
    pub async fn chunk_async(
        &mut self,
        reader: &mut ChunkReader,
        blobs: &mut mpsc::Sender<Blob>,
        tracker: &Tracker,
    ) -> Result<ChunkedFile> {
        self.start();
        let mut ready = Vec::new();
        loop {
            let input = reader.next_chunk(READ_BLOCK).await?;
            match &input {
                Some(bytes) => {
                    let mut rest = &bytes[..];
                    while !rest.is_empty() {
                        let taken = self.chunker.feed(rest);
                        rest = &rest[taken..];
                        self.drain(&mut ready);
                        send_all(blobs, &mut ready).await?;
                    }
                    tracker.add_bytes(bytes.len() as u64);
                }
                None => {
                    self.chunker.finish();
                    self.drain(&mut ready);
                    send_all(blobs, &mut ready).await?;
                    return Ok(self.finish_file());
                }
            }
        }
    }

    /// Chunks the file at `path`, which must be `expected` bytes long, reading it
    /// synchronously (call from a worker thread), sending new blobs to `blobs`.
    ///
    /// # Errors
    /// [`Error::Io`] naming the path when it cannot be read or changes size while read.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn chunk_path(
        &mut self,
        path: &std::path::Path,
        expected: u64,
        blobs: &mut mpsc::Sender<Blob>,
        tracker: &Tracker,
    ) -> Result<ChunkedFile> {
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        self.start();
        let mut ready = Vec::new();
        let mut read = 0u64;
        while !self.chunker.is_done() {
            self.drain(&mut ready);
            send_all_blocking(blobs, &mut ready)?;
            let n = self.chunker.read_from(&mut file).map_err(|e| Error::io(path, e))?;
            read += n as u64;
            tracker.add_bytes(n as u64);
            if read > expected {
                break;
            }
        }
        self.drain(&mut ready);
        send_all_blocking(blobs, &mut ready)?;
        if read != expected {
            return Err(Error::Io(ErrorDetails::message(format!(
                "{} changed size while being saved (expected {expected} bytes)",
                path.display()
            )))
            .with_key(path.display().to_string()));
        }
        Ok(self.finish_file())
    }
}

async fn send_all(blobs: &mut mpsc::Sender<Blob>, ready: &mut Vec<Blob>) -> Result<()> {
    for blob in ready.drain(..) {
        blobs.send(blob).await.map_err(|_| packer_gone())?;
    }
    Ok(())
}

#[cfg(not(target_arch = "wasm32"))]
fn send_all_blocking(blobs: &mut mpsc::Sender<Blob>, ready: &mut Vec<Blob>) -> Result<()> {
    for blob in ready.drain(..) {
        blobs.blocking_send(blob).map_err(|_| packer_gone())?;
    }
    Ok(())
}

/// The packer stopped (it failed, and its error is the one reported).
pub(crate) fn packer_gone() -> Error {
    Error::Cancelled(ErrorDetails::message("the save stopped while files were being read"))
}

/// One file for the worker threads.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) struct PathJob {
    /// Its position among the save's files.
    pub slot: usize,
    pub path: std::path::PathBuf,
    pub size: u64,
}

/// Chunks the `jobs` on `workers` threads; returns each file's result by slot.
///
/// # Errors
/// The first error of a worker (the others stop at their next file).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) async fn chunk_paths(
    jobs: Vec<PathJob>,
    workers: usize,
    make: impl Fn() -> Result<FileChunker>,
    blobs: mpsc::Sender<Blob>,
    tracker: &Tracker,
) -> Result<Vec<(usize, ChunkedFile)>> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let queue = Arc::new(Mutex::new(std::collections::VecDeque::from(jobs)));
    let stop = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for _ in 0..workers {
        let mut chunker = make()?;
        let (queue, stop, mut blobs, tracker) = (queue.clone(), stop.clone(), blobs.clone(), tracker.clone());
        handles.push(super::task::blocking(move || {
            let mut done = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let Some(job) = queue.lock().expect("not poisoned").pop_front() else {
                    break;
                };
                match chunker.chunk_path(&job.path, job.size, &mut blobs, &tracker) {
                    Ok(file) => {
                        tracker.file_done();
                        done.push((job.slot, file));
                    }
                    Err(e) => {
                        stop.store(true, Ordering::Relaxed);
                        return Err(e);
                    }
                }
            }
            Ok(done)
        }));
    }
    // The packer's input ends when the last worker's sender is gone.
    drop(blobs);
    // Stops the others as soon as one fails (its error is the one returned).
    let results = futures::future::try_join_all(handles.into_iter().map(|h| async {
        let result = h.await;
        if result.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        result
    }))
    .await?;
    Ok(results.into_iter().flatten().collect())
}
