//! Where the bytes of a file to save come from, read sequentially in chunks so memory stays
//! bounded by the chunk (part) size whatever the file size (§4, §5).

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures::StreamExt as _;

use crate::error::{Error, ErrorDetails, Result};
use crate::runtime::{BoxFuture, MaybeSend};
use crate::s3::ByteStream;
#[cfg(not(target_arch = "wasm32"))]
use crate::s3::{read_at, read_exact_at};

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
    /// Every object under an S3 prefix (§13), listed when the save starts: each becomes a
    /// file named by its key without the prefix, below this spec's name (`""`: at the top
    /// of the set). Made by [`FileSet::from_url`].
    Prefix(Box<super::remote::BucketUrl>),
    /// One object of an S3 source, as listed; read with `If-Match` on its ETag, or copied by
    /// the server (§13).
    Object(super::remote::RemoteObject),
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            #[cfg(not(target_arch = "wasm32"))]
            Source::Path(p) => f.debug_tuple("Path").field(p).finish(),
            Source::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Source::Ranged(r) => write!(f, "Ranged({} bytes)", r.size()),
            Source::Stream { size, .. } => write!(f, "Stream({size:?} bytes)"),
            Source::Prefix(url) => write!(f, "Prefix({})", url.shown()),
            Source::Object(object) => object.fmt(f),
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

    /// Every object under an S3 prefix, `s3://BUCKET[/PREFIX][?endpoint=...&region=...
    /// &profile=...]` (§13; credentials as docs/OPTIONS.md "S3 sources and targets" says),
    /// named by its key without the prefix. The prefix is listed when the save starts.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a malformed URL, before any request.
    pub fn from_url(name: impl Into<String>, url: &str) -> Result<Self> {
        Ok(Self {
            name: name.into(),
            files: vec![FileSpec {
                name: String::new(),
                source: Source::Prefix(Box::new(super::remote::BucketUrl::parse(url)?)),
            }],
        })
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

/// What planning found of a path on disk: a regular file's stat, or a special file opened.
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
struct OnDisk {
    /// For a regular file (format 2's change detection; its size is the file's).
    stat: Option<crate::format2::FileStat>,
    /// A FIFO or device, already open: read to its end, its size unknown.
    file: Option<std::fs::File>,
}

/// Stats `path` (following links) on a blocking thread. A FIFO or device named as a source
/// is read to its end, its size unknown (a FIFO's metadata says 0 bytes): it goes by
/// multipart as it fills. It is opened now, while the save is still planning: the open waits
/// for its writer before anything is written to the store, so a FIFO nobody feeds leaves no
/// IN_PROGRESS backup behind (issue 16, class 4). A socket is refused.
#[cfg(not(target_arch = "wasm32"))]
fn on_disk(path: &std::path::Path) -> Result<OnDisk> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_file() {
        return Ok(OnDisk {
            stat: Some(crate::format2::FileStat::from_metadata(&meta)),
            file: None,
        });
    }
    if super::scan::special_kind(&meta.file_type()) == Some("socket") {
        return Err(Error::invalid_input(format!(
            "{} is a socket, not a file",
            crate::escape::shown_path(path)
        )));
    }
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    Ok(OnDisk {
        stat: None,
        file: Some(file),
    })
}

/// Reads a [`Source`] front to back in chunks of a requested size.
pub(crate) struct ChunkReader {
    kind: ReaderKind,
    /// Size in bytes, when known.
    size: Option<u64>,
    /// What the file system says of a file on disk (format 2's change detection).
    stat: Option<crate::format2::FileStat>,
    position: u64,
    /// For a name in errors.
    label: String,
    /// An S3 source object, until its GetObject is sent (then `kind` streams its body).
    object: Option<super::remote::RemoteObject>,
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
    #[cfg(test)]
    pub async fn new(source: Source, label: &str) -> Result<Self> {
        let mut readers = Self::new_all(vec![(source, label.to_string())]).await?;
        Ok(readers.pop().expect("one reader per source"))
    }

    /// Readers for many sources (each with its label for errors). Natively, the files on
    /// disk are stat'ed together on one blocking thread: one `metadata` call each rather
    /// than one async hop each, which is most of a save of many unchanged files. A FIFO or
    /// device is opened there too ([`on_disk`]).
    ///
    /// # Errors
    /// [`Error::Io`] naming the first path that cannot be stat'ed (or opened, for a FIFO);
    /// [`Error::InvalidInput`] for a socket.
    pub async fn new_all(sources: Vec<(Source, String)>) -> Result<Vec<Self>> {
        #[cfg(not(target_arch = "wasm32"))]
        let mut stats = {
            let paths: Vec<Option<std::path::PathBuf>> = sources
                .iter()
                .map(|(s, _)| match s {
                    Source::Path(p) => Some(p.clone()),
                    _ => None,
                })
                .collect();
            let stat_all = move || -> Result<Vec<Option<OnDisk>>> {
                paths.into_iter().map(|p| p.map(|p| on_disk(&p)).transpose()).collect()
            };
            match tokio::task::spawn_blocking(stat_all).await {
                Ok(stats) => stats?.into_iter(),
                Err(e) => {
                    return Err(Error::Io(crate::ErrorDetails::message(format!(
                        "stat of the files failed: {e}"
                    ))))
                }
            }
        };
        let mut readers = Vec::with_capacity(sources.len());
        for (source, label) in sources {
            #[cfg(not(target_arch = "wasm32"))]
            let on_disk = stats.next().flatten();
            #[cfg(target_arch = "wasm32")]
            let on_disk = None;
            readers.push(Self::with_stat(source, on_disk, label));
        }
        Ok(readers)
    }

    fn with_stat(source: Source, on_disk: Option<OnDisk>, label: String) -> Self {
        let stat = on_disk.as_ref().and_then(|d| d.stat);
        let mut object = None;
        let (kind, size) = match source {
            #[cfg(not(target_arch = "wasm32"))]
            Source::Path(path) => {
                let file = on_disk.and_then(|d| d.file).map(tokio::fs::File::from_std);
                (ReaderKind::Path { path, file }, stat.map(|s| s.size))
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
            Source::Object(o) => {
                let size = o.size;
                object = Some(o);
                (ReaderKind::Bytes(Bytes::new()), Some(size))
            }
            Source::Prefix(url) => {
                // plan_files lists prefixes before making readers; an unlisted one reads as
                // an error rather than as an empty file.
                let failed: ByteStream = Box::pin(futures::stream::once(async move {
                    Err(Error::invalid_input(format!("{} was not listed", url.shown())))
                }));
                (
                    ReaderKind::Stream {
                        stream: failed,
                        pending: Bytes::new(),
                        done: false,
                    },
                    None,
                )
            }
        };
        Self {
            kind,
            size,
            stat,
            position: 0,
            label,
            object,
        }
    }

    /// The S3 source object this reader reads, while none of it has been read.
    pub(crate) fn remote_object(&self) -> Option<&super::remote::RemoteObject> {
        self.object.as_ref().filter(|_| self.position == 0)
    }

    /// The listed ETag of an S3 source object (format 2's change detection, §13).
    pub(crate) fn etag(&self) -> Option<&str> {
        self.object.as_ref().and_then(|o| o.etag.as_deref())
    }

    /// Sends the GetObject of an S3 source object, pinned to its listed ETag.
    async fn open_object(&mut self) -> Result<()> {
        if let (Some(object), ReaderKind::Bytes(_)) = (&self.object, &self.kind) {
            if self.position == 0 {
                let output = object
                    .client
                    .get_object_if_match(&object.key, None, object.etag.as_deref())
                    .await
                    .map_err(|e| source_error(e, &self.label))?;
                self.kind = ReaderKind::Stream {
                    stream: output.body,
                    pending: Bytes::new(),
                    done: false,
                };
            }
        }
        Ok(())
    }

    /// Reads an S3 source object of 1 to `limit` bytes (its listed size) now, whole, so
    /// that a save can fetch the small objects of a prefix several at a time ahead of the
    /// one chunker that reads them. Anything else is left to be read as usual. A transfer
    /// error, or bytes beyond `limit`, stay in the stream for the reader to meet in order.
    ///
    /// # Errors
    /// Those of the GetObject (the request, not the body).
    pub(crate) async fn prefetch(&mut self, limit: u64) -> Result<()> {
        // An empty object needs no GetObject (as when read in turn).
        if !self.object.as_ref().is_some_and(|o| (1..=limit).contains(&o.size)) || self.position != 0 {
            return Ok(());
        }
        self.open_object().await?;
        if let ReaderKind::Stream { stream, .. } = &mut self.kind {
            let (mut items, mut len, mut ended) = (Vec::new(), 0u64, false);
            while len <= limit && !ended {
                match stream.next().await {
                    Some(Ok(chunk)) => {
                        len += chunk.len() as u64;
                        items.push(Ok(chunk));
                    }
                    Some(Err(e)) => {
                        items.push(Err(e));
                        ended = true;
                    }
                    None => ended = true,
                }
            }
            // A body that ended is never polled again (some streams panic if they are).
            let rest = std::mem::replace(stream, Box::pin(futures::stream::empty()));
            let items = futures::stream::iter(items);
            *stream = if ended {
                Box::pin(items)
            } else {
                Box::pin(items.chain(rest))
            };
        }
        Ok(())
    }

    /// The size in bytes, when known.
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// Size, mode, times and inode of a file on disk, as found when the reader was made;
    /// for other sources only the size (0 when unknown), which change detection never
    /// takes for unchanged.
    pub fn stat(&self) -> crate::format2::FileStat {
        self.stat.unwrap_or(crate::format2::FileStat {
            size: self.size.unwrap_or(0),
            ..Default::default()
        })
    }

    /// The path of a file on disk not yet read from (format 2 reads those on worker
    /// threads, synchronously).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn unread_path(&self) -> Option<&std::path::Path> {
        match &self.kind {
            ReaderKind::Path { path, file: None } if self.position == 0 => Some(path),
            _ => None,
        }
    }

    /// A regular file on disk not yet read, opened on a blocking thread: up to
    /// `read_whole` bytes it is read there at once ([`OnDisk::Read`]); a larger one is
    /// kept open for positioned reads ([`OnDisk::Ranged`]), and save sends each part
    /// straight from the file (`s3/file_part.rs`) instead of reading it into memory.
    /// `None` for other sources (and FIFOs and devices, read front to back).
    ///
    /// # Errors
    /// [`Error::Io`] naming the path when it cannot be opened or read, or changed size.
    #[cfg(not(target_arch = "wasm32"))]
    pub async fn open_on_disk(&mut self, read_whole: u64) -> Result<Option<OnDiskFile>> {
        let (ReaderKind::Path { path, file: None }, Some(stat)) = (&self.kind, self.stat) else {
            return Ok(None);
        };
        if self.position != 0 {
            return Ok(None);
        }
        let path: Arc<std::path::Path> = Arc::from(path.as_path());
        let (open_path, size) = (path.clone(), stat.size);
        let opened = tokio::task::spawn_blocking(move || -> std::io::Result<(std::fs::File, Option<Bytes>)> {
            let file = std::fs::File::open(&open_path)?;
            if size > read_whole {
                return Ok((file, None));
            }
            let mut bytes = vec![0u8; size as usize];
            let mut more = [0u8; 1];
            let read = read_exact_at(&file, &mut bytes, 0).and_then(|()| read_at(&file, &mut more, size));
            match read {
                Ok(0) => Ok((file, Some(Bytes::from(bytes)))),
                Ok(_) => Err(std::io::Error::other(CHANGED_SIZE)),
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(std::io::Error::other(CHANGED_SIZE)),
                Err(e) => Err(e),
            }
        })
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        // Every byte goes through the `OnDiskFile` from now on.
        self.position = stat.size;
        let changed = || self.changed_size(stat.size);
        match opened {
            Ok((_, Some(bytes))) => Ok(Some(OnDiskFile::Read(bytes))),
            Ok((file, None)) => Ok(Some(OnDiskFile::Ranged(RangedFile {
                file: Arc::new(file),
                path,
                size: stat.size,
                label: self.label.clone(),
            }))),
            Err(e) if e.to_string() == CHANGED_SIZE => Err(changed()),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn changed_size(&self, size: u64) -> Error {
        Error::Io(crate::ErrorDetails::message(format!(
            "{} changed size while being saved (expected {size} bytes)",
            self.label
        )))
        .with_key(self.label.clone())
    }

    /// The next chunk of at most `max` bytes (exactly `max` unless at the end); `None` at
    /// the end.
    ///
    /// # Errors
    /// [`Error::Io`] when reading fails or a file changed size while being read.
    pub async fn next_chunk(&mut self, max: usize) -> Result<Option<Bytes>> {
        if self.object.is_some() && self.position == 0 && self.size != Some(0) {
            self.open_object().await?;
        }
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

/// An S3 source object that changed (412) or went (404) since it was listed: named as the
/// source's, not the store's.
fn source_error(err: Error, label: &str) -> Error {
    match err {
        Error::Conflict(d) => Error::Conflict(ErrorDetails {
            message: format!("the source object of {label} changed since it was listed (its ETag differs)"),
            ..d
        }),
        Error::NotFound(d) => Error::NotFound(ErrorDetails {
            message: format!("the source object of {label} is gone since it was listed"),
            ..d
        }),
        other => other,
    }
}

#[cfg(not(target_arch = "wasm32"))]
const CHANGED_SIZE: &str = "changed size";

/// A file on disk as save takes it ([`ChunkReader::open_on_disk`]).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) enum OnDiskFile {
    /// A small file, read whole.
    Read(Bytes),
    /// A larger one, open for positioned reads.
    Ranged(RangedFile),
}

/// A file on disk opened for positioned reads, with its size when planned.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) struct RangedFile {
    pub file: Arc<std::fs::File>,
    pub path: Arc<std::path::Path>,
    pub size: u64,
    label: String,
}

#[cfg(not(target_arch = "wasm32"))]
impl RangedFile {
    /// Checks, once every part was sent, that the file still has the size it was planned
    /// with: bytes appended meanwhile would otherwise be left out silently (a file that
    /// shrank fails its reads already).
    ///
    /// # Errors
    /// [`Error::Io`] naming the file when its size changed.
    pub async fn check_size(&self) -> Result<()> {
        let file = self.file.clone();
        let now = tokio::task::spawn_blocking(move || file.metadata().map(|m| m.len()))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
            .map_err(|e| Error::io(&self.path, e))?;
        if now != self.size {
            return Err(Error::Io(crate::ErrorDetails::message(format!(
                "{} changed size while being saved (expected {} bytes, now {now})",
                self.label, self.size
            )))
            .with_key(self.label.clone()));
        }
        Ok(())
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
