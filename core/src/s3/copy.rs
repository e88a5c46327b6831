//! Server-side copies: CopyObject (up to 5 GiB) and UploadPartCopy (a range of the source as
//! one part of a multipart upload, for larger objects) (AWS S3 API Reference, same names).
//!
//! Both are sent to the *destination* bucket's endpoint, signed by the destination's
//! credentials, which must also be allowed to read the source: only a store on the same
//! endpoint with the same access key as the source may use them (§13). Each copy is pinned
//! with `x-amz-copy-source-if-match` to the ETag the source was listed with, so an object
//! changed since the listing fails the copy (412, [`Error::Conflict`]) instead of copying
//! other bytes. `x-amz-checksum-algorithm: CRC32C` asks the server to compute the copy's
//! CRC32C and return it (AWS, MinIO): that is the checksum recorded for the file.

use http::Method;
use serde::Deserialize;

use super::address::{check_key, encode_key};
use super::body::MAX_XML_BYTES;
use super::client::{Request, S3Client};
use super::list::bad_xml;
use super::operation::Operation;
use super::response::classify;
use super::retry::with_attempts;
use super::xml::{non_empty, read_document, XmlError};
use super::CompletedPart;
use crate::error::{ErrorDetails, Result};
use crate::runtime::{self, Stopwatch};

/// The object a server-side copy reads: bucket, key, and the ETag it must still have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopySource {
    /// The source bucket (on the same endpoint as the destination).
    pub bucket: String,
    /// The source key.
    pub key: String,
    /// The ETag the source was listed with, quotes included; the copy fails (412) otherwise.
    pub etag: Option<String>,
}

impl CopySource {
    /// `x-amz-copy-source`: `bucket/key`, the key percent-encoded (AWS: "The value must be
    /// URL-encoded").
    fn header(&self) -> String {
        format!("{}/{}", self.bucket, encode_key(&self.key))
    }
}

/// What CopyObject and UploadPartCopy return.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CopyResult {
    /// The new object's (or part's) ETag, quotes included.
    pub etag: String,
    /// The CRC32C the server computed for the copy (base64), when it sent one.
    pub checksum_crc32c: Option<String>,
}

/// `CopyObjectResult` and `CopyPartResult` share their members.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CopyResultXml {
    #[serde(rename = "ETag")]
    etag: Option<String>,
    #[serde(rename = "ChecksumCRC32C")]
    checksum_crc32c: Option<String>,
}

impl S3Client {
    /// CopyObject of `source` (at most 5 GiB) to `key` of this client's bucket, pinned to
    /// the source's ETag, asking for the copy's CRC32C.
    ///
    /// # Errors
    /// [`Error::Conflict`](crate::Error::Conflict) when the source no longer has its ETag; [`Error::NotFound`](crate::Error::NotFound) when
    /// it is gone; an error sent in a `200 OK` body is returned as the error it names.
    pub async fn copy_object(&self, key: &str, source: &CopySource) -> Result<CopyResult> {
        check_key(key)?;
        check_key(&source.key)?;
        let mut request = Request::new(Operation::CopyObject, Method::PUT, Some(key))
            .header("x-amz-copy-source", source.header())
            .header("x-amz-checksum-algorithm", "CRC32C");
        if let Some(etag) = &source.etag {
            request = request.header("x-amz-copy-source-if-match", etag.clone());
        }
        self.send_copy(request, key, "CopyObject", "CopyObjectResult").await
    }

    /// UploadPartCopy of bytes `first..=last` of `source` as part `part_number` of the
    /// upload `upload_id` of `key`, pinned to the source's ETag.
    ///
    /// # Errors
    /// As [`copy_object`](Self::copy_object).
    pub async fn upload_part_copy(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        source: &CopySource,
        (first, last): (u64, u64),
    ) -> Result<(CompletedPart, Option<String>)> {
        check_key(key)?;
        check_key(&source.key)?;
        let mut request = Request::new(Operation::UploadPartCopy, Method::PUT, Some(key))
            .query("partNumber", part_number.to_string())
            .query("uploadId", upload_id.to_string())
            .header("x-amz-copy-source", source.header())
            .header("x-amz-copy-source-range", format!("bytes={first}-{last}"));
        if let Some(etag) = &source.etag {
            request = request.header("x-amz-copy-source-if-match", etag.clone());
        }
        let result = self.send_copy(request, key, "UploadPartCopy", "CopyPartResult").await?;
        let part = CompletedPart {
            part_number,
            etag: result.etag,
            checksum_crc32c: result.checksum_crc32c.clone(),
        };
        Ok((part, result.checksum_crc32c))
    }

    /// Sends a copy, retrying failures hidden in a `200 OK` body as AWS advises (a copy may
    /// answer 200 and fail later, like CompleteMultipartUpload).
    async fn send_copy(
        &self,
        request: Request<'_>,
        key: &str,
        doc: &'static str,
        root: &'static str,
    ) -> Result<CopyResult> {
        let stopwatch = Stopwatch::start();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let answer = self
                .send_read(request.clone(), MAX_XML_BYTES, || self.xml_too_large(doc))
                .await
                .map_err(|e| e.with_key(key))?;
            let error = match read_document::<CopyResultXml>(&answer.body, doc, root) {
                Ok(result) => {
                    let etag = non_empty(result.etag).ok_or_else(|| bad_xml(doc, "it has no ETag").with_key(key))?;
                    let header = answer
                        .headers
                        .get("x-amz-checksum-crc32c")
                        .and_then(|v| v.to_str().ok());
                    return Ok(CopyResult {
                        etag,
                        checksum_crc32c: non_empty(result.checksum_crc32c).or(header.map(str::to_string)),
                    });
                }
                Err(XmlError::ErrorDocument { error, .. }) => error,
                Err(e) => return Err(bad_xml(doc, e).with_key(key)),
            };
            let details = ErrorDetails {
                code: error.code.clone(),
                status: Some(answer.status),
                request_id: error.request_id.clone(),
                key: Some(key.to_string()),
                endpoint: Some(self.endpoint().to_string()),
                message: error
                    .message
                    .clone()
                    .unwrap_or_else(|| format!("{doc} failed after 200 OK")),
                source: None,
            };
            let err = classify(error.code.as_deref(), answer.status, details);
            let Some(delay) = self.retry_delay(&err, attempt, stopwatch.elapsed()) else {
                return Err(if attempt > 1 {
                    with_attempts(err, attempt, stopwatch.elapsed())
                } else {
                    err
                });
            };
            runtime::sleep(delay).await;
        }
    }
}
