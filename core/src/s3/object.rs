//! Bucket and single-object operations: HeadBucket, CreateBucket, PutObject, GetObject,
//! HeadObject, DeleteObject (AWS S3 API Reference, same names).

use bytes::Bytes;
use futures::StreamExt as _;
use http::{HeaderMap, Method};

use super::address::check_key;
use super::checksum::{crc32c_base64, md5_base64};
use super::client::{Request, S3Client};
use super::operation::Operation;
use super::resume::resuming_body;
use super::xml;
use super::ByteStream;
use crate::config::ChecksumMode;
use crate::error::{Error, ErrorDetails, Result};

/// Conditions and options of a PutObject.
#[derive(Clone, Debug, Default)]
pub struct PutOptions {
    /// `If-None-Match: *`: fail with [`Error::Conflict`] (412) if the key exists.
    pub if_none_match: bool,
    /// `If-Match: <etag>`: fail with [`Error::Conflict`] (412) unless the object has this ETag.
    pub if_match: Option<String>,
    /// `Content-Type` of the object.
    pub content_type: Option<String>,
    /// Object Lock retention of the version written (`x-amz-object-lock-*` headers).
    pub lock: Option<super::Retention>,
}

/// What PutObject and CompleteMultipartUpload return.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutResult {
    /// The object's ETag, quotes included as S3 sends it.
    pub etag: String,
    /// `x-amz-checksum-crc32c` as the server computed it, when it sent it.
    pub checksum_crc32c: Option<String>,
}

/// HeadObject's answer, also the head of a GetObject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectHead {
    /// Size of the object (or of the requested range, for a ranged GetObject) in bytes.
    pub size: u64,
    /// The ETag, quotes included.
    pub etag: Option<String>,
    /// `Last-Modified` as sent (RFC 7231 date).
    pub last_modified: Option<String>,
    /// `x-amz-checksum-crc32c`, sent only when asked for with `x-amz-checksum-mode: ENABLED`.
    pub checksum_crc32c: Option<String>,
    /// `x-amz-version-id`: set by a versioned bucket (`null` for objects written before
    /// versioning was enabled).
    pub version_id: Option<String>,
}

/// GetObject's answer: the head and the body as a stream of chunks, never buffered whole.
pub struct GetObjectOutput {
    /// Size, ETag, Last-Modified.
    pub head: ObjectHead,
    /// The body, chunk by chunk.
    pub body: ByteStream,
}

impl GetObjectOutput {
    /// Reads the whole body into memory (for small objects such as `status.json`).
    ///
    /// The server's `Content-Length` only sizes the first allocation, up to 8 MiB: a hostile
    /// length cannot make it allocate what the body never brings (the caller bounds the body
    /// itself, e.g. by the size the backup recorded).
    pub async fn bytes(self) -> Result<Bytes> {
        const FIRST_ALLOCATION: u64 = 8 * 1024 * 1024;
        let mut out = Vec::with_capacity(self.head.size.min(FIRST_ALLOCATION) as usize);
        let mut body = self.body;
        while let Some(chunk) = body.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out.into())
    }
}

impl S3Client {
    /// HeadBucket: checks that the bucket exists and is reachable with these credentials.
    ///
    /// # Errors
    /// [`Error::NoSuchBucket`] on 404; [`Error::AccessDenied`] on 403 (HEAD has no body, so
    /// on AWS wrong credentials also show as 403 here: use a ListObjectsV2 to tell them apart;
    /// MinIO names the code in a header, giving [`Error::InvalidCredentials`]).
    pub async fn head_bucket(&self) -> Result<()> {
        match self.send(Request::new(Operation::HeadBucket, Method::HEAD, None)).await {
            Ok(_) => Ok(()),
            Err(Error::NotFound(d) | Error::NoSuchBucket(d)) => Err(Error::NoSuchBucket(ErrorDetails {
                message: format!("bucket {:?} does not exist", self.config().bucket),
                code: Some("NoSuchBucket".into()),
                ..d
            })),
            Err(e) => Err(e),
        }
    }

    /// CreateBucket, in the configured region. An existing bucket of ours is not an error.
    ///
    /// # Errors
    /// [`Error::Conflict`] when the name is taken by another account (`BucketAlreadyExists`).
    pub async fn create_bucket(&self) -> Result<()> {
        self.send_create_bucket(Request::new(Operation::CreateBucket, Method::PUT, None))
            .await
    }

    /// Sends a CreateBucket `request` with the configured region's body; an existing bucket
    /// of ours (`BucketAlreadyOwnedByYou`) is not an error.
    pub(crate) async fn send_create_bucket(&self, request: Request<'_>) -> Result<()> {
        let mut request = request;
        if let Some(body) = xml::create_bucket_body(&self.config().region) {
            request = request.body(body);
        }
        match self.send(request).await {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("BucketAlreadyOwnedByYou") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// PutObject of `body` with a checksum the server verifies (`x-amz-checksum-crc32c`, or
    /// `Content-MD5` in [`ChecksumMode::ContentMd5`]).
    ///
    /// # Errors
    /// [`Error::Conflict`] when a condition fails (412); [`Error::Integrity`] when the server
    /// computes another checksum (`BadDigest`, `XAmzContentChecksumMismatch`).
    pub async fn put_object(&self, key: &str, body: Bytes, options: &PutOptions) -> Result<PutResult> {
        let checksum = crc32c_base64(&body);
        self.put_object_with_checksum(key, body, &checksum, options).await
    }

    /// PutObject with a CRC32C computed by the caller (base64 of the big-endian value).
    ///
    /// A wrong `crc32c` makes the server reject the upload: that is how a corrupted buffer is
    /// caught before it is stored.
    pub async fn put_object_with_checksum(
        &self,
        key: &str,
        body: Bytes,
        crc32c: &str,
        options: &PutOptions,
    ) -> Result<PutResult> {
        check_key(key)?;
        let request = Request::new(Operation::PutObject, Method::PUT, Some(key));
        let request = self.checksum_header(request, &body, crc32c).body(body);
        self.send_put(key, request, options).await
    }

    /// PutObject of a range of a file (usually all of it), read while it is sent
    /// (`file_part.rs`), with the CRC32C of its first pass for the server to verify.
    ///
    /// # Errors
    /// As [`put_object_with_checksum`](Self::put_object_with_checksum); [`Error::Io`] naming
    /// the file when its bytes changed since [`file_part`](Self::file_part) read them.
    #[cfg(not(target_arch = "wasm32"))]
    pub async fn put_object_file(&self, key: &str, part: super::FilePart, options: &PutOptions) -> Result<PutResult> {
        check_key(key)?;
        let request = Request::new(Operation::PutObject, Method::PUT, Some(key));
        let request = self.file_checksum_header(request, &part).file_body(part);
        self.send_put(key, request, options).await
    }

    async fn send_put(&self, key: &str, mut request: Request<'_>, options: &PutOptions) -> Result<PutResult> {
        if options.if_none_match {
            request = request.header("if-none-match", "*");
        }
        if let Some(etag) = &options.if_match {
            request = request.header("if-match", etag.clone());
        }
        if let Some(content_type) = &options.content_type {
            request = request.header("content-type", content_type.clone());
        }
        if let Some(lock) = &options.lock {
            request = lock.headers(request);
        }
        let response = self.send(request).await.map_err(|e| e.with_key(key))?;
        Ok(put_result(response.headers()))
    }

    /// Adds the configured upload checksum header.
    pub(crate) fn checksum_header<'a>(&self, request: Request<'a>, body: &[u8], crc32c: &str) -> Request<'a> {
        match self.config().checksum {
            ChecksumMode::Crc32c => request.header("x-amz-checksum-crc32c", crc32c.to_string()),
            ChecksumMode::ContentMd5 => request.header("content-md5", md5_base64(body)),
        }
    }

    /// [`checksum_header`](Self::checksum_header) of a file range, from its first pass.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn file_checksum_header<'a>(&self, request: Request<'a>, part: &super::FilePart) -> Request<'a> {
        match (self.config().checksum, part.md5_base64()) {
            (ChecksumMode::ContentMd5, Some(md5)) => request.header("content-md5", md5.to_string()),
            _ => request.header("x-amz-checksum-crc32c", part.crc32c().to_base64()),
        }
    }

    /// GetObject, streamed. `range` is an inclusive byte range `(first, last)`.
    ///
    /// A body that breaks off (connection reset, read timeout) is resumed where it stopped,
    /// with a ranged GetObject conditional on the first answer's ETag (`resume.rs`): the
    /// stream yields the bytes of one unbroken answer, or an error once retries are spent.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the key does not exist.
    pub async fn get_object(&self, key: &str, range: Option<(u64, u64)>) -> Result<GetObjectOutput> {
        self.get_object_if_match(key, range, None).await
    }

    /// GetObject as [`get_object`](Self::get_object), with `If-Match: etag` when given: an
    /// object that no longer has that ETag fails with [`Error::Conflict`] (412) instead of
    /// giving other bytes (the source of an S3-to-S3 save is read this way, §13).
    ///
    /// # Errors
    /// [`Error::NotFound`] when the key does not exist; [`Error::Conflict`] on another ETag.
    pub async fn get_object_if_match(
        &self,
        key: &str,
        range: Option<(u64, u64)>,
        etag: Option<&str>,
    ) -> Result<GetObjectOutput> {
        check_key(key)?;
        let mut request = Request::new(Operation::GetObject, Method::GET, Some(key));
        if let Some((first, last)) = range {
            request = request.header("range", format!("bytes={first}-{last}"));
        }
        if let Some(etag) = etag {
            request = request.header("if-match", etag.to_string());
        }
        let response = self.send(request).await.map_err(|e| e.with_key(key))?;
        let head = object_head(response.headers());
        let body = self.body_stream(response, Some(key));
        Ok(GetObjectOutput {
            body: resuming_body(self.clone(), key, range, head.etag.clone(), body),
            head,
        })
    }

    /// GetObject of a small object read whole, at most `limit` bytes, retried as one request
    /// (a body that stalls or breaks off is fetched again).
    ///
    /// # Errors
    /// [`Error::NotFound`] when the key does not exist; `too_large()` when the object (by its
    /// `Content-Length`, else by the bytes received) exceeds `limit`: the rest is never read.
    pub(crate) async fn get_object_bytes(
        &self,
        key: &str,
        limit: usize,
        too_large: impl Fn() -> Error,
    ) -> Result<(ObjectHead, Bytes)> {
        self.get_object_bytes_at(key, None, limit, too_large).await
    }

    /// [`get_object_bytes`](Self::get_object_bytes) of one version (`versionId`) when given.
    pub(crate) async fn get_object_bytes_at(
        &self,
        key: &str,
        version: Option<&str>,
        limit: usize,
        too_large: impl Fn() -> Error,
    ) -> Result<(ObjectHead, Bytes)> {
        check_key(key)?;
        let mut request = Request::new(Operation::GetObject, Method::GET, Some(key));
        if let Some(version) = version {
            request = request.query("versionId", version.to_string());
        }
        let answer = self
            .send_read(request, limit, too_large)
            .await
            .map_err(|e| e.with_key(key))?;
        Ok((object_head(&answer.headers), answer.body))
    }

    /// GetObject of bytes `first..=last` read whole, retried as one request (a body that
    /// stalls or breaks off is fetched again). Format 2 reads blobs of packs this way.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the key does not exist; [`Error::Integrity`] naming the key
    /// when the answer is not exactly the bytes asked for (a store that ignores `Range`, an
    /// object shorter than the range: S3 answers 416 `InvalidRange` when it starts past
    /// the end, and a short body when it ends past it).
    pub(crate) async fn get_object_range_bytes(&self, key: &str, first: u64, last: u64) -> Result<Bytes> {
        self.get_object_range_bytes_at(key, None, first, last).await
    }

    /// [`get_object_range_bytes`](Self::get_object_range_bytes) of one version when given.
    pub(crate) async fn get_object_range_bytes_at(
        &self,
        key: &str,
        version: Option<&str>,
        first: u64,
        last: u64,
    ) -> Result<Bytes> {
        check_key(key)?;
        let want = last - first + 1;
        let mut request =
            Request::new(Operation::GetObject, Method::GET, Some(key)).header("range", format!("bytes={first}-{last}"));
        if let Some(version) = version {
            request = request.query("versionId", version.to_string());
        }
        let too_long = || {
            Error::integrity(
                key,
                format!("{key}: the answer to a GetObject of bytes {first}..={last} is longer than that; the store ignores Range"),
            )
        };
        let answer = match self.send_read(request, want as usize, too_long).await {
            Ok(answer) => answer,
            Err(e) if e.code() == Some("InvalidRange") || e.status() == Some(416) => {
                return Err(Error::integrity(
                    key,
                    format!("{key} ends before byte {first}: it is shorter than expected"),
                ))
            }
            Err(e) => return Err(e.with_key(key)),
        };
        if answer.body.len() as u64 != want {
            return Err(Error::integrity(
                key,
                format!(
                    "{key}: bytes {first}..={last} came back as {} bytes; the object is shorter than expected",
                    answer.body.len()
                ),
            ));
        }
        Ok(answer.body)
    }

    /// HeadObject, asking for the stored checksum (`x-amz-checksum-mode: ENABLED`).
    ///
    /// # Errors
    /// [`Error::NotFound`] when the key does not exist.
    pub async fn head_object(&self, key: &str) -> Result<ObjectHead> {
        check_key(key)?;
        let request =
            Request::new(Operation::HeadObject, Method::HEAD, Some(key)).header("x-amz-checksum-mode", "ENABLED");
        let response = self.send(request).await.map_err(|e| e.with_key(key))?;
        Ok(object_head(response.headers()))
    }

    /// DeleteObject. Deleting a missing key succeeds, as in S3.
    pub async fn delete_object(&self, key: &str) -> Result<()> {
        check_key(key)?;
        self.send(Request::new(Operation::DeleteObject, Method::DELETE, Some(key)))
            .await
            .map_err(|e| e.with_key(key))?;
        Ok(())
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

pub(crate) fn put_result(headers: &HeaderMap) -> PutResult {
    PutResult {
        etag: header(headers, "etag").unwrap_or_default(),
        checksum_crc32c: header(headers, "x-amz-checksum-crc32c"),
    }
}

pub(crate) fn object_head(headers: &HeaderMap) -> ObjectHead {
    ObjectHead {
        size: header(headers, "content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        etag: header(headers, "etag"),
        last_modified: header(headers, "last-modified"),
        checksum_crc32c: header(headers, "x-amz-checksum-crc32c"),
        version_id: header(headers, "x-amz-version-id"),
    }
}
