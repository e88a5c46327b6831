//! Where the bytes of a file to save come from, read sequentially in chunks so memory stays
//! bounded by the chunk (part) size whatever the file size (§4, §5).

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::StreamExt as _;

use crate::error::{Error, Result};
use crate::runtime::{BoxFuture, MaybeSend};
use crate::s3::ByteStream;

/// Random access to bytes by range: how the wasm binding reads a `Blob` (`blob.slice()`).
pub trait RangedSource: MaybeSend {
    /// Size in bytes.
    fn size(&self) -> u64;
    /// Bytes `start..end` (end exclusive).
    fn read(&self, start: u64, end: u64) -> BoxFuture<'_, Result<Bytes>>;
}

/// The bytes of one file.
pub enum Source {
    /// A file on disk, streamed (native only).
    #[cfg(not(target_arch = "wasm32"))]
    Path(std::path::PathBuf),
    /// Bytes in memory.
    Bytes(Bytes),
    /// Random access by ranges (a JS `Blob` or `File`).
    Ranged(Arc<dyn RangedSource>),
    /// A sequential stream (a JS `ReadableStream`), with its size if known.
    Stream {
        /// Size in bytes, if known in advance.
        size: Option<u64>,
        /// The chunks.
        stream: ByteStream,
    },
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            #[cfg(not(target_arch = "wasm32"))]
            Source::Path(p) => f.debug_tuple("Path").field(p).finish(),
            Source::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Source::Ranged(r) => write!(f, "Ranged({} bytes)", r.size()),
            Source::Stream { size, .. } => write!(f, "Stream({size:?} bytes)"),
        }
    }
}

/// One file of a file set: its name (relative path, `/`-separated) and its bytes.
#[derive(Debug)]
pub struct FileSpec {
    /// Path relative to the set; checked by [`super::layout::validate_relative_path`].
    pub name: String,
    /// The bytes.
    pub source: Source,
}

/// A named set of files (`files`, `snapshot`, `segments`...).
#[derive(Debug)]
pub struct FileSet {
    /// The set name, `[a-z0-9][a-z0-9_-]{0,62}`.
    pub name: String,
    /// Its files.
    pub files: Vec<FileSpec>,
}

impl FileSet {
    /// A set of in-memory files.
    pub fn from_bytes(name: impl Into<String>, files: impl IntoIterator<Item = (String, Bytes)>) -> Self {
        Self {
            name: name.into(),
            files: files
                .into_iter()
                .map(|(name, bytes)| FileSpec {
                    name,
                    source: Source::Bytes(bytes),
                })
                .collect(),
        }
    }

    /// Every regular file below `dir`, recursively, named by its path relative to `dir`
    /// (sorted), with the default [`super::scan::ScanOptions`]: links and special files are
    /// left out, and a file that cannot be saved is an error. [`FileSet::scan`] gives the
    /// options and the list of what was left out.
    ///
    /// # Errors
    /// As [`FileSet::scan`].
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_dir(name: impl Into<String>, dir: impl AsRef<std::path::Path>) -> Result<Self> {
        Ok(Self::scan(name, dir, &super::scan::ScanOptions::default())?.set)
    }
}

/// Reads a [`Source`] front to back in chunks of a requested size.
pub(crate) struct ChunkReader {
    kind: ReaderKind,
    /// Size in bytes, when known.
    size: Option<u64>,
    position: u64,
    /// For a name in errors.
    label: String,
}

enum ReaderKind {
    #[cfg(not(target_arch = "wasm32"))]
    Path {
        path: std::path::PathBuf,
        file: Option<tokio::fs::File>,
    },
    Bytes(Bytes),
    Ranged(Arc<dyn RangedSource>),
    Stream {
        stream: ByteStream,
        pending: Bytes,
        done: bool,
    },
}

impl ChunkReader {
    /// Prepares to read; for a path, finds its size (without opening it for reading yet).
    pub async fn new(source: Source, label: &str) -> Result<Self> {
        let (kind, size) = match source {
            #[cfg(not(target_arch = "wasm32"))]
            Source::Path(path) => {
                let meta = tokio::fs::metadata(&path).await.map_err(|e| Error::io(&path, e))?;
                // A FIFO or device named as a source is read to its end, its size unknown
                // (a FIFO's metadata says 0 bytes): it goes by multipart as it fills.
                let size = meta.is_file().then_some(meta.len());
                if !meta.is_file() && super::scan::special_kind(&meta.file_type()) == Some("socket") {
                    return Err(Error::invalid_input(format!(
                        "{} is a socket, not a file",
                        crate::escape::shown_path(&path)
                    )));
                }
                // A FIFO is opened now, while the save is still planning: the open waits
                // for its writer before anything is written to the store, so a FIFO nobody
                // feeds leaves no IN_PROGRESS backup behind (issue 16, class 4).
                let file = match size {
                    Some(_) => None,
                    None => Some(tokio::fs::File::open(&path).await.map_err(|e| Error::io(&path, e))?),
                };
                (ReaderKind::Path { path, file }, size)
            }
            Source::Bytes(b) => {
                let len = b.len() as u64;
                (ReaderKind::Bytes(b), Some(len))
            }
            Source::Ranged(r) => {
                let len = r.size();
                (ReaderKind::Ranged(r), Some(len))
            }
            Source::Stream { size, stream } => (
                ReaderKind::Stream {
                    stream,
                    pending: Bytes::new(),
                    done: false,
                },
                size,
            ),
        };
        Ok(Self {
            kind,
            size,
            position: 0,
            label: label.to_string(),
        })
    }

    /// The size in bytes, when known.
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// The next chunk of at most `max` bytes (exactly `max` unless at the end); `None` at
    /// the end.
    ///
    /// # Errors
    /// [`Error::Io`] when reading fails or a file changed size while being read.
    pub async fn next_chunk(&mut self, max: usize) -> Result<Option<Bytes>> {
        let chunk = match &mut self.kind {
            #[cfg(not(target_arch = "wasm32"))]
            ReaderKind::Path { path, file } => read_file_chunk(path, file, max).await?,
            ReaderKind::Bytes(b) => {
                let n = max.min(b.len());
                b.split_to(n)
            }
            ReaderKind::Ranged(r) => {
                let end = (self.position + max as u64).min(r.size());
                if end > self.position {
                    r.read(self.position, end).await?
                } else {
                    Bytes::new()
                }
            }
            ReaderKind::Stream { stream, pending, done } => {
                let mut buffer = BytesMut::new();
                while buffer.len() < max {
                    if pending.is_empty() {
                        if *done {
                            break;
                        }
                        match stream.next().await {
                            Some(chunk) => *pending = chunk?,
                            None => {
                                *done = true;
                                continue;
                            }
                        }
                    }
                    let n = (max - buffer.len()).min(pending.len());
                    buffer.extend_from_slice(&pending.split_to(n));
                }
                buffer.freeze()
            }
        };
        self.position += chunk.len() as u64;
        if let Some(size) = self.size {
            let short = chunk.len() < max && self.position < size;
            if self.position > size || short {
                return Err(Error::Io(crate::ErrorDetails::message(format!(
                    "{} changed size while being saved (expected {size} bytes)",
                    self.label
                )))
                .with_key(self.label.clone()));
            }
        }
        Ok(if chunk.is_empty() { None } else { Some(chunk) })
    }
}

#[cfg(not(target_arch = "wasm32"))]
async fn read_file_chunk(path: &std::path::Path, file: &mut Option<tokio::fs::File>, max: usize) -> Result<Bytes> {
    use tokio::io::AsyncReadExt as _;
    if file.is_none() {
        *file = Some(tokio::fs::File::open(path).await.map_err(|e| Error::io(path, e))?);
    }
    let f = file.as_mut().expect("opened above");
    // Reads into the spare capacity: zeroing a 16 MiB part first would cost a pass over it.
    let mut buffer = BytesMut::with_capacity(max);
    while buffer.len() < max {
        let n = f.read_buf(&mut buffer).await.map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
    }
    Ok(buffer.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stream_source_is_rechunked_to_the_requested_size() {
        let parts: Vec<Result<Bytes>> = vec![
            Ok(Bytes::from_static(b"abc")),
            Ok(Bytes::from_static(b"defgh")),
            Ok(Bytes::from_static(b"i")),
        ];
        let stream: ByteStream = Box::pin(futures::stream::iter(parts));
        let mut reader = ChunkReader::new(Source::Stream { size: None, stream }, "s")
            .await
            .unwrap();
        let mut chunks = Vec::new();
        while let Some(c) = reader.next_chunk(4).await.unwrap() {
            chunks.push(c);
        }
        assert_eq!(chunks, [&b"abcd"[..], b"efgh", b"i"]);
    }

    #[tokio::test]
    async fn bytes_and_files_read_in_chunks() {
        let mut reader = ChunkReader::new(Source::Bytes(Bytes::from_static(b"0123456789")), "b")
            .await
            .unwrap();
        assert_eq!(reader.size(), Some(10));
        assert_eq!(reader.next_chunk(6).await.unwrap().unwrap(), &b"012345"[..]);
        assert_eq!(reader.next_chunk(6).await.unwrap().unwrap(), &b"6789"[..]);
        assert!(reader.next_chunk(6).await.unwrap().is_none());

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![7u8; 10_000]).unwrap();
        let mut reader = ChunkReader::new(Source::Path(path), "f").await.unwrap();
        let mut total = 0;
        while let Some(c) = reader.next_chunk(4096).await.unwrap() {
            total += c.len();
        }
        assert_eq!(total, 10_000);
    }

    #[test]
    fn directories_are_walked_with_relative_slash_names() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/c.txt"), b"x").unwrap();
        std::fs::write(dir.path().join("top"), b"y").unwrap();
        let set = FileSet::from_dir("files", dir.path()).unwrap();
        let names: Vec<&str> = set.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a/b/c.txt", "top"]);
    }
}
