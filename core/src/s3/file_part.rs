//! Request bodies read from a range of a file while they are sent (native only), so that a
//! save holds no part in memory: PutObject and UploadPart of files on disk (§5).
//!
//! The checksum header goes before the body, so a part is read twice: a first pass over the
//! range ([`S3Client::file_part`]) computes its CRC32C (and the MD5 or SHA-256 the
//! configuration asks for), then each attempt streams the range from the file in blocks of
//! [`BLOCK`] bytes with positioned reads (`read_at` on a handle shared by every part),
//! checksumming again as it goes. A range whose bytes differ from the first pass (the file
//! was written meanwhile) or that comes up short ends the body with an error before its last
//! block is sent: the server never receives a complete part whose checksum is not that of
//! the bytes sent, and the upload fails with [`Error::Io`] naming the file. The second read
//! comes from the page cache.
//!
//! Memory per request in flight: one block (256 KiB) plus what hyper buffers.

use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bytes::Bytes;
use futures::Stream;
use md5::Digest as _;
use sha2::Digest as _;

use super::checksum::Crc32c;
use super::client::S3Client;
use crate::config::ChecksumMode;
use crate::error::{Error, ErrorDetails, Result};

/// Bytes read from the file per block (first pass and body alike).
pub const BLOCK: usize = 256 * 1024;

/// A byte range of an open file to send as a request body, with its checksums.
#[derive(Clone)]
pub struct FilePart {
    file: Arc<std::fs::File>,
    offset: u64,
    len: u64,
    /// The file's path, for errors.
    path: Arc<Path>,
    crc32c: Crc32c,
    /// `Content-MD5` (base64), in [`ChecksumMode::ContentMd5`].
    md5: Option<String>,
    /// Hex SHA-256 for the signature, when payloads are signed.
    sha256: Option<String>,
}

impl std::fmt::Debug for FilePart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilePart")
            .field("path", &self.path)
            .field("offset", &self.offset)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// What a body stream found wrong with the file, for the request to report instead of the
/// transport error its early end causes.
pub(crate) type BodyFailure = Arc<Mutex<Option<Error>>>;

impl FilePart {
    /// Bytes of the range.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the range is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// CRC32C of the range, as read by the first pass.
    pub fn crc32c(&self) -> Crc32c {
        self.crc32c
    }

    pub(crate) fn md5_base64(&self) -> Option<&str> {
        self.md5.as_deref()
    }

    pub(crate) fn sha256_hex(&self) -> Option<&str> {
        self.sha256.as_deref()
    }

    /// The body of one attempt: the range read block by block on blocking threads, checked
    /// against the first pass's CRC32C before its last block goes out. A failure is also
    /// recorded in `failure`.
    pub(crate) fn body(&self, failure: BodyFailure) -> impl Stream<Item = std::io::Result<Bytes>> + Send + 'static {
        let state = (self.clone(), 0u64, Crc32c::new(), failure);
        futures::stream::try_unfold(state, |(part, done, mut crc, failure)| async move {
            if done == part.len {
                return Ok(None);
            }
            let n = (part.len - done).min(BLOCK as u64) as usize;
            let (file, at) = (part.file.clone(), part.offset + done);
            let read = tokio::task::spawn_blocking(move || {
                let mut block = vec![0u8; n];
                read_exact_at(&file, &mut block, at).map(|()| block)
            })
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
            let fail = |err: Error| {
                let shown = err.to_string();
                failure.lock().expect("not poisoned").get_or_insert(err);
                Err(std::io::Error::other(shown))
            };
            let block = match read {
                Ok(block) => block,
                Err(e) => return fail(part.changed(Some(e))),
            };
            crc.update(&block);
            let done = done + n as u64;
            if done == part.len && crc != part.crc32c {
                return fail(part.changed(None));
            }
            Ok(Some((Bytes::from(block), (part, done, crc, failure))))
        })
    }

    fn changed(&self, err: Option<std::io::Error>) -> Error {
        let shown = crate::escape::shown_path(&self.path);
        let why = match err {
            Some(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => "shrank".to_string(),
            Some(e) => return Error::io(&self.path, e),
            None => "changed".to_string(),
        };
        Error::Io(ErrorDetails::message(format!(
            "{shown} {why} while being saved (bytes {}..{} read twice differ)",
            self.offset,
            self.offset + self.len
        )))
        .with_key(shown)
    }
}

impl S3Client {
    /// Bytes `offset..offset + len` of `file` (at `path`) as a request body: reads the range
    /// once for its checksums (CRC32C; MD5 in [`ChecksumMode::ContentMd5`]; SHA-256 when
    /// payloads are signed), on a blocking thread.
    ///
    /// # Errors
    /// [`Error::Io`] naming `path` when the range cannot be read whole (the file shrank).
    pub async fn file_part(
        &self,
        file: Arc<std::fs::File>,
        path: Arc<Path>,
        offset: u64,
        len: u64,
    ) -> Result<FilePart> {
        let want_md5 = self.config().checksum == ChecksumMode::ContentMd5;
        let want_sha256 = self.config().signed_payload;
        let scan_file = file.clone();
        let scanned = tokio::task::spawn_blocking(move || scan(&scan_file, offset, len, want_md5, want_sha256))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        let mut part = FilePart {
            file,
            offset,
            len,
            path,
            crc32c: Crc32c::new(),
            md5: None,
            sha256: None,
        };
        match scanned {
            Ok((crc32c, md5, sha256)) => {
                part.crc32c = crc32c;
                part.md5 = md5;
                part.sha256 = sha256;
                Ok(part)
            }
            Err(e) => Err(part.changed(Some(e))),
        }
    }
}

type Scanned = (Crc32c, Option<String>, Option<String>);

/// Blocking: the checksums of a file range, read in blocks.
fn scan(file: &std::fs::File, offset: u64, len: u64, md5: bool, sha256: bool) -> std::io::Result<Scanned> {
    let mut crc = Crc32c::new();
    let mut md5 = md5.then(md5::Md5::new);
    let mut sha = sha256.then(sha2::Sha256::new);
    let mut block = vec![0u8; BLOCK.min(len as usize)];
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(BLOCK as u64) as usize;
        read_exact_at(file, &mut block[..n], offset + done)?;
        crc.update(&block[..n]);
        if let Some(m) = &mut md5 {
            m.update(&block[..n]);
        }
        if let Some(s) = &mut sha {
            s.update(&block[..n]);
        }
        done += n as u64;
    }
    let md5 = md5.map(|m| base64::engine::general_purpose::STANDARD.encode(m.finalize()));
    let sha = sha.map(|s| hex::encode(s.finalize()));
    Ok((crc, md5, sha))
}

#[cfg(unix)]
fn read_exact_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &std::fs::File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt as _;
    while !buf.is_empty() {
        match file.seek_read(buf, offset) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use futures::TryStreamExt as _;

    use super::*;

    fn part_of(file: &Arc<std::fs::File>, path: &Path, offset: u64, len: u64) -> FilePart {
        let (crc, md5, sha) = scan(file, offset, len, true, true).unwrap();
        FilePart {
            file: file.clone(),
            offset,
            len,
            path: Arc::from(path),
            crc32c: crc,
            md5,
            sha256: sha,
        }
    }

    #[tokio::test]
    async fn a_range_is_sent_as_read_with_the_checksums_of_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..(BLOCK * 2 + 100)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let file = Arc::new(std::fs::File::open(&path).unwrap());
        let (start, end) = (10usize, BLOCK * 2 + 50);
        let part = part_of(&file, &path, start as u64, (end - start) as u64);
        let range = &data[start..end];
        let mut crc = Crc32c::new();
        crc.update(range);
        assert_eq!(part.crc32c(), crc);
        assert_eq!(part.md5_base64().unwrap(), super::super::checksum::md5_base64(range));
        assert_eq!(part.sha256_hex().unwrap(), hex::encode(sha2::Sha256::digest(range)));
        let failure = BodyFailure::default();
        let blocks: Vec<Bytes> = part.body(failure.clone()).try_collect().await.unwrap();
        assert!(blocks.iter().all(|b| b.len() <= BLOCK));
        assert_eq!(blocks.concat(), range);
        assert!(failure.lock().unwrap().is_none());
    }

    #[tokio::test]
    async fn a_range_written_after_the_first_pass_never_goes_out_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![1u8; BLOCK + 10]).unwrap();
        let file = Arc::new(std::fs::File::open(&path).unwrap());
        let part = part_of(&file, &path, 0, (BLOCK + 10) as u64);
        // Same size, other bytes in the last block.
        std::fs::write(&path, [vec![1u8; BLOCK], vec![2u8; 10]].concat()).unwrap();
        let failure = BodyFailure::default();
        let mut body = std::pin::pin!(part.body(failure.clone()));
        assert_eq!(body.try_next().await.unwrap().unwrap().len(), BLOCK);
        assert!(body.try_next().await.is_err(), "the last block is withheld");
        let err = failure.lock().unwrap().take().unwrap();
        assert!(
            matches!(err, Error::Io(_)) && err.to_string().contains("changed"),
            "{err}"
        );

        // Shrunk: the read comes up short.
        let part = part_of(&file, &path, 0, (BLOCK + 10) as u64);
        std::fs::write(&path, vec![1u8; 5]).unwrap();
        let failure = BodyFailure::default();
        let sent: std::io::Result<Vec<Bytes>> = part.body(failure.clone()).try_collect().await;
        assert!(sent.is_err());
        assert!(failure.lock().unwrap().take().unwrap().to_string().contains("shrank"));
    }
}
