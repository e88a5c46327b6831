//! Multipart upload: CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
//! AbortMultipartUpload, ListMultipartUploads (AWS S3 API Reference, same names).

use bytes::Bytes;
use futures::stream::{self, Stream};
use http::Method;

use super::address::check_key;
use super::body::MAX_XML_BYTES;
use super::client::{Request, S3Client};
use super::list::bad_xml;
use super::object::{put_result, PutResult};
use super::operation::Operation;
use super::paging::PageGuard;
use super::response::error_after_ok;
use super::xml::{self, CompleteOutcome, CompletedPart, UploadsPage};
use crate::config::ChecksumMode;
use crate::error::{Error, Result};
use crate::runtime::{self, Stopwatch};

/// The fewest parts any multipart upload may have besides the last: 5 MiB (S3 limit).
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// The largest part: 5 GiB (S3 limit).
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// The most parts of one upload (S3 limit).
pub const MAX_PARTS: u64 = 10_000;

impl S3Client {
    /// CreateMultipartUpload; returns the upload id. In CRC32C mode the upload is declared
    /// with `x-amz-checksum-algorithm: CRC32C` so every part's checksum is verified.
    pub async fn create_multipart_upload(&self, key: &str) -> Result<String> {
        self.create_upload(key, self.config().checksum == ChecksumMode::Crc32c, None)
            .await
    }

    /// [`create_multipart_upload`](Self::create_multipart_upload) of an object whose version
    /// gets `lock` (Object Lock retention) when the upload completes.
    pub async fn create_multipart_upload_locked(&self, key: &str, lock: Option<&super::Retention>) -> Result<String> {
        self.create_upload(key, self.config().checksum == ChecksumMode::Crc32c, lock)
            .await
    }

    /// CreateMultipartUpload of an upload whose parts are UploadPartCopy, declared without
    /// a checksum algorithm: MinIO refuses a part copy into an upload declared with one
    /// ("checksum missing, want CRC32C"), and a part copy cannot carry the checksum of bytes
    /// the client never sees.
    pub async fn create_multipart_upload_for_copy(&self, key: &str) -> Result<String> {
        self.create_upload(key, false, None).await
    }

    async fn create_upload(&self, key: &str, crc32c: bool, lock: Option<&super::Retention>) -> Result<String> {
        check_key(key)?;
        let mut request = Request::new(Operation::CreateMultipartUpload, Method::POST, Some(key)).query("uploads", "");
        if crc32c {
            request = request.header("x-amz-checksum-algorithm", "CRC32C");
        }
        if let Some(lock) = lock {
            request = lock.headers(request);
        }
        let answer = self
            .send_read(request, MAX_XML_BYTES, || self.xml_too_large("CreateMultipartUpload"))
            .await
            .map_err(|e| e.with_key(key))?;
        xml::parse_initiate_multipart_upload(&answer.body)
            .map(|r| r.upload_id)
            .map_err(|e| bad_xml("CreateMultipartUpload", e).with_key(key))
    }

    /// UploadPart number `part_number` (1-based) with its CRC32C (base64) for the server to
    /// verify.
    ///
    /// # Errors
    /// [`Error::Integrity`] when the server computes another checksum;
    /// [`Error::NotFound`] when the upload was aborted (`NoSuchUpload`).
    pub async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        body: Bytes,
        crc32c: &str,
    ) -> Result<CompletedPart> {
        check_key(key)?;
        let request = Request::new(Operation::UploadPart, Method::PUT, Some(key))
            .query("partNumber", part_number.to_string())
            .query("uploadId", upload_id.to_string());
        let request = self.checksum_header(request, &body, crc32c).body(body);
        self.send_part(key, part_number, request, crc32c).await
    }

    /// UploadPart of a range of a file, read while it is sent (`file_part.rs`), with the
    /// CRC32C of its first pass for the server to verify.
    ///
    /// # Errors
    /// As [`upload_part`](Self::upload_part); [`Error::Io`] naming the file when its bytes
    /// changed since [`file_part`](Self::file_part) read them.
    #[cfg(not(target_arch = "wasm32"))]
    pub async fn upload_part_file(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        part: super::FilePart,
    ) -> Result<CompletedPart> {
        check_key(key)?;
        let request = Request::new(Operation::UploadPart, Method::PUT, Some(key))
            .query("partNumber", part_number.to_string())
            .query("uploadId", upload_id.to_string());
        let crc32c = part.crc32c().to_base64();
        let request = self.file_checksum_header(request, &part).file_body(part);
        self.send_part(key, part_number, request, &crc32c).await
    }

    async fn send_part(
        &self,
        key: &str,
        part_number: u32,
        request: Request<'_>,
        crc32c: &str,
    ) -> Result<CompletedPart> {
        let response = self.send(request).await.map_err(|e| e.with_key(key))?;
        let result = put_result(response.headers());
        Ok(CompletedPart {
            part_number,
            etag: result.etag,
            checksum_crc32c: match self.config().checksum {
                ChecksumMode::Crc32c => Some(crc32c.to_string()),
                ChecksumMode::ContentMd5 => None,
            },
        })
    }

    /// CompleteMultipartUpload with every part, in part-number order.
    ///
    /// S3 may answer 200 OK and still fail: the body is then an `<Error>` document (AWS API
    /// Reference, CompleteMultipartUpload, "Special errors"); that is returned as an error,
    /// after retries when it is a temporary one (`InternalError`, `SlowDown`), as AWS advises.
    pub async fn complete_multipart_upload(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
    ) -> Result<PutResult> {
        check_key(key)?;
        let body = xml::complete_multipart_upload_body(parts);
        let request = Request::new(Operation::CompleteMultipartUpload, Method::POST, Some(key))
            .query("uploadId", upload_id.to_string())
            .header("content-type", "application/xml")
            .body(body);
        // `send` retries failed statuses; this loop retries the failures hidden in a 200 OK.
        let stopwatch = Stopwatch::start();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent_before = self.sent(Operation::CompleteMultipartUpload);
            let too_large = || self.xml_too_large("CompleteMultipartUpload");
            let answer = match self.send_read(request.clone(), MAX_XML_BYTES, too_large).await {
                Ok(answer) => answer,
                Err(Error::NotFound(d)) if self.sent(Operation::CompleteMultipartUpload) > sent_before + 1 => {
                    // A retry answered NoSuchUpload: the first attempt completed the upload and
                    // its answer was lost. The object is there; anything else is the error.
                    return match self.head_object(key).await {
                        Ok(head) => Ok(PutResult {
                            etag: head.etag.unwrap_or_default(),
                            checksum_crc32c: None,
                        }),
                        Err(_) => Err(Error::NotFound(d).with_key(key)),
                    };
                }
                Err(e) => return Err(e.with_key(key)),
            };
            let status = answer.status;
            let error = match xml::parse_complete_multipart_upload(&answer.body)
                .map_err(|e| bad_xml("CompleteMultipartUpload", e).with_key(key))?
            {
                CompleteOutcome::Completed(result) => {
                    return Ok(PutResult {
                        etag: result.etag.unwrap_or_else(|| put_result(&answer.headers).etag),
                        checksum_crc32c: result.checksum_crc32c,
                    })
                }
                CompleteOutcome::Failed(error) => error,
            };
            let err = error_after_ok(&error, status, key, self.endpoint(), "CompleteMultipartUpload");
            let delay = self.backoff_or_give_up(err, attempt, &stopwatch)?;
            runtime::sleep(delay).await;
        }
    }

    /// AbortMultipartUpload. Aborting an upload that no longer exists succeeds.
    pub async fn abort_multipart_upload(&self, key: &str, upload_id: &str) -> Result<()> {
        check_key(key)?;
        let request = Request::new(Operation::AbortMultipartUpload, Method::DELETE, Some(key))
            .query("uploadId", upload_id.to_string());
        match self.send(request).await {
            Ok(_) | Err(Error::NotFound(_)) => Ok(()),
            Err(e) => Err(e.with_key(key)),
        }
    }

    /// One ListMultipartUploads page under `prefix`, after the given markers.
    pub async fn list_multipart_uploads_page(
        &self,
        prefix: &str,
        markers: Option<(&str, &str)>,
    ) -> Result<UploadsPage> {
        let mut request = Request::new(Operation::ListMultipartUploads, Method::GET, None)
            .query("uploads", "")
            .query("encoding-type", "url");
        if !prefix.is_empty() {
            request = request.query("prefix", prefix.to_string());
        }
        if let Some((key_marker, upload_id_marker)) = markers {
            request = request
                .query("key-marker", key_marker.to_string())
                .query("upload-id-marker", upload_id_marker.to_string());
        }
        let too_large = || self.xml_too_large("ListMultipartUploads");
        let answer = self.send_read(request, MAX_XML_BYTES, too_large).await?;
        xml::parse_list_multipart_uploads(&answer.body).map_err(|e| bad_xml("ListMultipartUploads", e))
    }

    /// Every page of ListMultipartUploads under `prefix`, following the markers.
    ///
    /// # Errors
    /// Those of one page; [`Error::S3`] when the store hands out markers it gave before (the
    /// listing would never end), or after [`MAX_LIST_PAGES`](super::MAX_LIST_PAGES) pages.
    pub fn list_multipart_uploads<'a>(&'a self, prefix: &'a str) -> impl Stream<Item = Result<UploadsPage>> + 'a {
        let guard = PageGuard::new(Operation::ListMultipartUploads, self.endpoint());
        stream::try_unfold(
            (Some(None::<(String, String)>), guard),
            move |(state, mut guard)| async move {
                let Some(markers) = state else {
                    return Ok(None);
                };
                let page = self
                    .list_multipart_uploads_page(prefix, markers.as_ref().map(|(k, u)| (k.as_str(), u.as_str())))
                    .await?;
                let next = next_upload_markers(&page)?;
                if let Some(markers) = &next {
                    guard.next_page("key and upload id markers", markers)?;
                }
                Ok(Some((page, (next.map(Some), guard))))
            },
        )
    }
}

/// Where the page after `page` starts: `None` after the last page.
///
/// MinIO sends an empty `NextKeyMarker` on a truncated page, so the last upload listed stands
/// in for a missing marker (S3 defines the markers as that upload's key and id). A truncated
/// page that gives no way on is an error, never a silently shortened listing.
fn next_upload_markers(page: &UploadsPage) -> Result<Option<(String, String)>> {
    if !page.is_truncated {
        return Ok(None);
    }
    let last = page.uploads.last();
    let key = page.next_key_marker.clone().or_else(|| last.map(|u| u.key.clone()));
    let upload_id = page
        .next_upload_id_marker
        .clone()
        .or_else(|| last.map(|u| u.upload_id.clone()));
    match (key, upload_id) {
        (Some(key), Some(upload_id)) => Ok(Some((key, upload_id))),
        _ => Err(bad_xml(
            "ListMultipartUploads",
            "a truncated page without NextKeyMarker and NextUploadIdMarker",
        )),
    }
}

/// The part size for a file of `size` bytes (§5): the requested size, raised so the
/// file fits in 10,000 parts, never below 5 MiB nor above 5 GiB.
pub fn part_size_for(size: u64, requested: u64) -> u64 {
    let fit = size.div_ceil(MAX_PARTS);
    requested.max(fit).clamp(MIN_PART_SIZE, MAX_PART_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn upload(key: &str, upload_id: &str) -> crate::s3::UploadInfo {
        crate::s3::UploadInfo {
            key: key.into(),
            upload_id: upload_id.into(),
            initiated: String::new(),
        }
    }

    #[test]
    fn next_upload_markers_fall_back_to_the_last_upload_when_minio_leaves_them_empty() {
        let mut page = UploadsPage {
            uploads: vec![upload("k", "u1"), upload("k", "u2")],
            next_key_marker: None,
            next_upload_id_marker: Some("u2".into()),
            is_truncated: true,
        };
        assert_eq!(next_upload_markers(&page).unwrap(), Some(("k".into(), "u2".into())));
        page.next_key_marker = Some("k2".into());
        page.next_upload_id_marker = Some("u9".into());
        assert_eq!(next_upload_markers(&page).unwrap(), Some(("k2".into(), "u9".into())));
        page.is_truncated = false;
        assert_eq!(next_upload_markers(&page).unwrap(), None);
    }

    #[test]
    fn a_truncated_upload_page_without_markers_is_an_error_not_the_end() {
        let page = UploadsPage {
            uploads: Vec::new(),
            next_key_marker: None,
            next_upload_id_marker: None,
            is_truncated: true,
        };
        assert!(next_upload_markers(&page).is_err());
    }

    #[test]
    fn part_size_follows_spec() {
        assert_eq!(part_size_for(100 * MIB, 16 * MIB), 16 * MIB);
        assert_eq!(part_size_for(100 * MIB, MIB), MIN_PART_SIZE);
        // 1 TiB in 16 MiB parts would be 65,536 parts: raised to fit 10,000.
        let tib = 1024 * 1024 * MIB;
        let size = part_size_for(tib, 16 * MIB);
        assert!(tib.div_ceil(size) <= MAX_PARTS && size > 16 * MIB);
        // The S3 maximum object (5 TiB) still fits, at ≤ 5 GiB per part.
        let max_object = 5 * tib;
        let size = part_size_for(max_object, 16 * MIB);
        assert!(max_object.div_ceil(size) <= MAX_PARTS && size <= MAX_PART_SIZE);
        assert_eq!(part_size_for(MIB, 64 * 1024 * MIB), MAX_PART_SIZE);
    }
}
