//! XML bodies of the S3 REST API operations s3keep uses (AWS S3 API Reference, one section per
//! action: ListObjectsV2, DeleteObjects, CreateMultipartUpload, CompleteMultipartUpload,
//! ListMultipartUploads, CreateBucket, and the common `<Error>` response).
//!
//! Responses are read with quick-xml's serde support (`quick_xml::de`), as object_store reads
//! them, into the private `*Xml` types below; the public types are then built from those,
//! with the checks serde cannot express (required elements, numbers, booleans, url-decoding)
//! naming the element at fault. What the deserializer gives us:
//! - text untrimmed (keys may begin or end with spaces), predefined entities and character
//!   references resolved, XML 1.0 end-of-line normalisation applied;
//! - elements matched by local name, so namespaces and prefixes are irrelevant; unknown
//!   elements and attributes ignored (stores add fields);
//! - any other entity refused: a `<!DOCTYPE>` may declare entities (XXE, "billion laughs"),
//!   but using one is an error, and nothing is ever fetched;
//! - with the `overlapped-lists` feature, list elements may interleave with others: Ceph RGW
//!   writes `<Deleted>` and `<Error>` in request order (`RGWDeleteMultiObj_ObjStore_S3::
//!   send_partial_response`). Looking ahead buffers events; at most
//!   [`MAX_BUFFERED_EVENTS`] are buffered, so a hostile body cannot grow memory unboundedly.
//!
//! The root element is read first (quick-xml's serde ignores its name): a `200 OK` whose body
//! is an `<Error>` document, as CompleteMultipartUpload may send, is recognised that way.
//!
//! Request bodies are written by hand, in `xml_request.rs` (re-exported here).

use std::num::NonZeroUsize;

use percent_encoding::percent_decode_str;
use quick_xml::events::Event;
use quick_xml::Reader;
use serde::de::DeserializeOwned;
use serde::Deserialize;

#[cfg(test)]
use super::xml_request::MAX_DELETE_KEYS;
pub(crate) use super::xml_request::{
    complete_multipart_upload_body, create_bucket_body, delete_objects_body, CompletedPart,
};

/// Why an XML body could not be read or written. `document` is the S3 action name.
#[derive(Debug, thiserror::Error)]
pub(crate) enum XmlError {
    #[error("{document}: empty response body")]
    Empty { document: &'static str },
    #[error("{document}: malformed XML: {reason}")]
    Malformed { document: &'static str, reason: String },
    #[error("{document}: expected root element <{expected}>, found <{found}>")]
    UnexpectedRoot {
        document: &'static str,
        expected: &'static str,
        found: String,
    },
    /// The body is an S3 `<Error>` document, even though the caller expected a result.
    #[error("{document}: the service returned an error document: {error}")]
    ErrorDocument {
        document: &'static str,
        error: Box<S3ErrorBody>,
    },
    #[error("{document}: element <{element}> {problem}")]
    InvalidField {
        document: &'static str,
        element: &'static str,
        problem: String,
    },
    /// A request body cannot be written from the given input.
    #[error("{document}: {reason}")]
    InvalidRequest { document: &'static str, reason: String },
}

/// The common S3 `<Error>` response body (AWS S3 API Reference, "Error responses").
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct S3ErrorBody {
    pub code: Option<String>,
    pub message: Option<String>,
    pub key: Option<String>,
    pub bucket_name: Option<String>,
    pub resource: Option<String>,
    pub request_id: Option<String>,
    pub host_id: Option<String>,
    /// `RequestTimeTooSkewed` only.
    pub request_time: Option<String>,
    /// `RequestTimeTooSkewed` only.
    pub server_time: Option<String>,
    /// Wrong-region errors (`AuthorizationHeaderMalformed`, `IllegalLocationConstraintException`).
    pub region: Option<String>,
    /// `PermanentRedirect` / `TemporaryRedirect`: the endpoint to use instead.
    pub endpoint: Option<String>,
}

impl std::fmt::Display for S3ErrorBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code.as_deref().unwrap_or("(no code)"))?;
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

/// Reads an S3 `<Error>` body. Returns `None` for an empty body, a body that is not well-formed
/// XML (an HTML page from a proxy, a truncated body) or a document whose root is not `<Error>`.
pub(crate) fn parse_error(body: &[u8]) -> Option<S3ErrorBody> {
    let text = document_text(body, "Error").ok()?;
    (root_name(text, "Error").ok()? == "Error")
        .then(|| deserialize(text, "Error").ok())
        .flatten()
}

// ---------------------------------------------------------------------------------------------
// ListObjectsV2

/// One object of a listing page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// The object key, url-decoded.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// As sent, including the surrounding double quotes; empty if the store omitted it.
    pub etag: String,
    /// RFC 3339 / ISO 8601 text as sent (`2009-10-12T17:50:30.000Z`); empty if omitted.
    pub last_modified: String,
}

/// One page of a ListObjectsV2 listing (AWS S3 API Reference, ListObjectsV2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPage {
    /// The objects of this page, in key order.
    pub objects: Vec<ObjectInfo>,
    /// Keys grouped up to the delimiter (`CommonPrefixes`), url-decoded.
    pub common_prefixes: Vec<String>,
    /// Pass as `continuation-token` for the next page; `None` when absent or empty.
    pub next_continuation_token: Option<String>,
    /// Whether more pages follow (always with a `next_continuation_token`).
    pub is_truncated: bool,
}

/// A `<Contents>` entry of `ListBucketResult`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListEntry {
    pub object: ObjectInfo,
    pub storage_class: Option<String>,
    pub checksum_algorithm: Vec<String>,
}

/// The ListObjectsV2 response document `ListBucketResult`, url-decoded when `EncodingType` is `url`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ListBucketResult {
    pub name: Option<String>,
    pub prefix: Option<String>,
    pub delimiter: Option<String>,
    pub key_count: Option<u64>,
    pub max_keys: Option<u64>,
    pub is_truncated: bool,
    pub continuation_token: Option<String>,
    pub next_continuation_token: Option<String>,
    pub start_after: Option<String>,
    pub encoding_type: Option<String>,
    pub contents: Vec<ListEntry>,
    pub common_prefixes: Vec<String>,
}

impl From<ListBucketResult> for ListPage {
    fn from(r: ListBucketResult) -> Self {
        ListPage {
            objects: r.contents.into_iter().map(|e| e.object).collect(),
            common_prefixes: r.common_prefixes,
            next_continuation_token: r.next_continuation_token,
            is_truncated: r.is_truncated,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListBucketResultXml {
    name: Option<String>,
    prefix: Option<String>,
    delimiter: Option<String>,
    key_count: Option<String>,
    max_keys: Option<String>,
    is_truncated: Option<String>,
    continuation_token: Option<String>,
    next_continuation_token: Option<String>,
    start_after: Option<String>,
    encoding_type: Option<String>,
    #[serde(default)]
    contents: Vec<ContentsXml>,
    #[serde(default)]
    common_prefixes: Vec<CommonPrefixXml>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ContentsXml {
    key: Option<String>,
    size: Option<String>,
    #[serde(rename = "ETag")]
    etag: Option<String>,
    last_modified: Option<String>,
    storage_class: Option<String>,
    #[serde(default)]
    checksum_algorithm: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CommonPrefixXml {
    prefix: Option<String>,
}

/// Reads a ListObjectsV2 response page (AWS S3 API Reference, ListObjectsV2).
pub(crate) fn parse_list_objects_v2(body: &[u8]) -> Result<ListPage, XmlError> {
    parse_list_bucket_result(body).map(ListPage::from)
}

/// Reads the whole ListObjectsV2 `ListBucketResult` document.
///
/// `IsTruncated` is required, and a truncated page must carry a `NextContinuationToken`, so a
/// listing can neither stop early nor loop forever on a malformed page.
pub(crate) fn parse_list_bucket_result(body: &[u8]) -> Result<ListBucketResult, XmlError> {
    const DOC: &str = "ListObjectsV2";
    let r: ListBucketResultXml = read_document(body, DOC, "ListBucketResult")?;
    let f = Fields::new(DOC, &r.encoding_type);
    let entry = |c: ContentsXml| -> Result<ListEntry, XmlError> {
        let size = parse_num(c.size, "Size", DOC)?;
        Ok(ListEntry {
            object: ObjectInfo {
                key: f.decoded(required(c.key, "Key", "Contents", DOC)?, "Key")?,
                size: size.ok_or_else(|| invalid(DOC, "Size", "is missing from <Contents>"))?,
                etag: c.etag.unwrap_or_default(),
                last_modified: c.last_modified.unwrap_or_default(),
            },
            storage_class: c.storage_class,
            checksum_algorithm: c.checksum_algorithm,
        })
    };
    let result = ListBucketResult {
        name: r.name,
        prefix: f.decoded_opt(r.prefix, "Prefix")?,
        delimiter: f.decoded_opt(r.delimiter, "Delimiter")?,
        key_count: parse_num(r.key_count, "KeyCount", DOC)?,
        max_keys: parse_num(r.max_keys, "MaxKeys", DOC)?,
        is_truncated: parse_bool(r.is_truncated, "IsTruncated", "ListBucketResult", DOC)?,
        continuation_token: non_empty(r.continuation_token),
        next_continuation_token: non_empty(r.next_continuation_token),
        start_after: f.decoded_opt(r.start_after, "StartAfter")?,
        contents: r.contents.into_iter().map(entry).collect::<Result<_, _>>()?,
        common_prefixes: f.common_prefixes(r.common_prefixes)?,
        encoding_type: r.encoding_type,
    };
    if result.is_truncated && result.next_continuation_token.is_none() {
        return Err(invalid(DOC, "NextContinuationToken", "is missing on a truncated page"));
    }
    Ok(result)
}

// ---------------------------------------------------------------------------------------------
// ListMultipartUploads

/// One in-progress multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadInfo {
    /// The object key, url-decoded.
    pub key: String,
    /// The upload id, as sent.
    pub upload_id: String,
    /// RFC 3339 text as sent; empty if omitted.
    pub initiated: String,
}

/// What a caller of ListMultipartUploads needs from one page. Pass both markers back as
/// `key-marker` / `upload-id-marker` to get the next page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadsPage {
    /// The uploads of this page.
    pub uploads: Vec<UploadInfo>,
    /// `NextKeyMarker`, url-decoded; `None` when absent or empty.
    pub next_key_marker: Option<String>,
    /// `NextUploadIdMarker`; `None` when absent or empty.
    pub next_upload_id_marker: Option<String>,
    /// Whether more pages follow. S3 then sends both markers; MinIO leaves `NextKeyMarker` empty.
    pub is_truncated: bool,
}

/// The ListMultipartUploads response document `ListMultipartUploadsResult`, url-decoded when
/// `EncodingType` is `url` (encoded elements: Delimiter, KeyMarker, Prefix, NextKeyMarker, Key).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ListMultipartUploadsResult {
    pub bucket: Option<String>,
    pub key_marker: Option<String>,
    pub upload_id_marker: Option<String>,
    pub prefix: Option<String>,
    pub delimiter: Option<String>,
    pub max_uploads: Option<u64>,
    pub encoding_type: Option<String>,
    pub common_prefixes: Vec<String>,
    pub page: UploadsPage,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListMultipartUploadsResultXml {
    bucket: Option<String>,
    key_marker: Option<String>,
    upload_id_marker: Option<String>,
    next_key_marker: Option<String>,
    next_upload_id_marker: Option<String>,
    prefix: Option<String>,
    delimiter: Option<String>,
    max_uploads: Option<String>,
    is_truncated: Option<String>,
    encoding_type: Option<String>,
    #[serde(default)]
    upload: Vec<UploadXml>,
    #[serde(default)]
    common_prefixes: Vec<CommonPrefixXml>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UploadXml {
    key: Option<String>,
    upload_id: Option<String>,
    initiated: Option<String>,
}

/// Reads a ListMultipartUploads response page (AWS S3 API Reference, ListMultipartUploads).
pub(crate) fn parse_list_multipart_uploads(body: &[u8]) -> Result<UploadsPage, XmlError> {
    parse_list_multipart_uploads_result(body).map(|r| r.page)
}

/// Reads the whole `ListMultipartUploadsResult` document. A truncated page must carry a
/// `NextKeyMarker` or, as MinIO's do (their `NextKeyMarker` is empty), uploads whose last one
/// the next page starts after.
pub(crate) fn parse_list_multipart_uploads_result(body: &[u8]) -> Result<ListMultipartUploadsResult, XmlError> {
    const DOC: &str = "ListMultipartUploads";
    let r: ListMultipartUploadsResultXml = read_document(body, DOC, "ListMultipartUploadsResult")?;
    let f = Fields::new(DOC, &r.encoding_type);
    let upload = |u: UploadXml| -> Result<UploadInfo, XmlError> {
        Ok(UploadInfo {
            key: f.decoded(required(u.key, "Key", "Upload", DOC)?, "Key")?,
            upload_id: required(u.upload_id, "UploadId", "Upload", DOC)?,
            initiated: u.initiated.unwrap_or_default(),
        })
    };
    let page = UploadsPage {
        uploads: r.upload.into_iter().map(upload).collect::<Result<_, _>>()?,
        next_key_marker: non_empty(f.decoded_opt(r.next_key_marker, "NextKeyMarker")?),
        next_upload_id_marker: non_empty(r.next_upload_id_marker),
        is_truncated: parse_bool(r.is_truncated, "IsTruncated", "ListMultipartUploadsResult", DOC)?,
    };
    if page.is_truncated && page.next_key_marker.is_none() && page.uploads.is_empty() {
        return Err(invalid(
            DOC,
            "NextKeyMarker",
            "is missing on a truncated page without uploads",
        ));
    }
    Ok(ListMultipartUploadsResult {
        bucket: r.bucket,
        key_marker: f.decoded_opt(r.key_marker, "KeyMarker")?,
        upload_id_marker: r.upload_id_marker,
        prefix: f.decoded_opt(r.prefix, "Prefix")?,
        delimiter: f.decoded_opt(r.delimiter, "Delimiter")?,
        max_uploads: parse_num(r.max_uploads, "MaxUploads", DOC)?,
        common_prefixes: f.common_prefixes(r.common_prefixes)?,
        encoding_type: r.encoding_type,
        page,
    })
}

// ---------------------------------------------------------------------------------------------
// DeleteObjects

/// A key that DeleteObjects could not delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteError {
    /// The key, as sent back (empty if the store left it out).
    pub key: String,
    /// The S3 error code, e.g. `AccessDenied`.
    pub code: Option<String>,
    /// The store's explanation.
    pub message: Option<String>,
}

/// The DeleteObjects response, `DeleteResult`. In quiet mode `deleted` is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOutcome {
    /// Keys reported deleted (none in quiet mode).
    pub deleted: Vec<String>,
    /// Keys that were not deleted, with why.
    pub errors: Vec<DeleteError>,
}

/// `DeleteResult`: with `overlapped-lists`, the two lists may interleave.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteResultXml {
    #[serde(default)]
    deleted: Vec<DeletedXml>,
    #[serde(default)]
    error: Vec<DeleteErrorXml>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeletedXml {
    key: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteErrorXml {
    key: Option<String>,
    code: Option<String>,
    message: Option<String>,
}

/// Reads the DeleteObjects response `DeleteResult` (AWS S3 API Reference, DeleteObjects).
/// `<Deleted>` and `<Error>` entries may come in any order.
pub(crate) fn parse_delete_result(body: &[u8]) -> Result<DeleteOutcome, XmlError> {
    let r: DeleteResultXml = read_document(body, "DeleteObjects", "DeleteResult")?;
    Ok(DeleteOutcome {
        deleted: r.deleted.into_iter().map(|d| d.key.unwrap_or_default()).collect(),
        errors: r
            .error
            .into_iter()
            .map(|e| DeleteError {
                key: e.key.unwrap_or_default(),
                code: e.code,
                message: e.message,
            })
            .collect(),
    })
}

// ---------------------------------------------------------------------------------------------
// Object Lock

/// The GetObjectLockConfiguration response, `ObjectLockConfiguration`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ObjectLockDoc {
    object_lock_enabled: Option<String>,
    rule: Option<ObjectLockRule>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ObjectLockRule {
    default_retention: Option<DefaultRetention>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DefaultRetention {
    mode: Option<String>,
    days: Option<u32>,
    years: Option<u32>,
}

/// Reads a GetObjectLockConfiguration response (AWS S3 API Reference, same name).
pub(crate) fn parse_object_lock_configuration(body: &[u8]) -> Result<super::ObjectLockConfiguration, XmlError> {
    let doc: ObjectLockDoc = read_document(body, "GetObjectLockConfiguration", "ObjectLockConfiguration")?;
    let retention = doc.rule.and_then(|r| r.default_retention).unwrap_or_default();
    Ok(super::ObjectLockConfiguration {
        enabled: doc.object_lock_enabled.as_deref() == Some("Enabled"),
        mode: retention.mode,
        days: retention.days,
        years: retention.years,
    })
}

/// The GetObjectRetention response, `Retention`.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RetentionDoc {
    mode: Option<String>,
    retain_until_date: Option<String>,
}

/// Reads a GetObjectRetention response (AWS S3 API Reference, same name): mode and date text.
/// The root is `Retention` on AWS and MinIO; versitygw v1.8.0 names it `ObjectLockRetention`
/// (its Go type's name) with the same children: both are read.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn parse_retention(body: &[u8]) -> Result<(Option<String>, Option<String>), XmlError> {
    const DOC: &str = "GetObjectRetention";
    let doc: RetentionDoc = match read_document(body, DOC, "Retention") {
        Err(XmlError::UnexpectedRoot { found, .. }) if found == "ObjectLockRetention" => {
            read_document(body, DOC, "ObjectLockRetention")?
        }
        other => other?,
    };
    Ok((doc.mode, doc.retain_until_date))
}

// ---------------------------------------------------------------------------------------------
// Multipart uploads

/// The CreateMultipartUpload response, `InitiateMultipartUploadResult`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct MultipartUploadInit {
    #[serde(default)]
    pub bucket: String,
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub upload_id: String,
}

/// Reads the CreateMultipartUpload response (AWS S3 API Reference, CreateMultipartUpload).
pub(crate) fn parse_initiate_multipart_upload(body: &[u8]) -> Result<MultipartUploadInit, XmlError> {
    const DOC: &str = "CreateMultipartUpload";
    let init: MultipartUploadInit = read_document(body, DOC, "InitiateMultipartUploadResult")?;
    if init.upload_id.is_empty() {
        return Err(invalid(DOC, "UploadId", "is missing or empty"));
    }
    Ok(init)
}

/// The CompleteMultipartUpload success document, `CompleteMultipartUploadResult`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CompletedUpload {
    pub location: Option<String>,
    pub bucket: Option<String>,
    pub key: Option<String>,
    /// The multipart ETag (`"…-N"`), quotes included; `None` if absent (then the `ETag`
    /// response header has it).
    #[serde(rename = "ETag")]
    pub etag: Option<String>,
    #[serde(rename = "ChecksumCRC32C")]
    pub checksum_crc32c: Option<String>,
}

/// A CompleteMultipartUpload response: the result, or an error sent with `200 OK`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CompleteOutcome {
    Completed(CompletedUpload),
    Failed(S3ErrorBody),
}

/// Reads a CompleteMultipartUpload response (AWS S3 API Reference, CompleteMultipartUpload).
///
/// S3 may answer `200 OK` and only later report a failure in the body as an `<Error>`
/// document, and pads the body with whitespace while it works; both are handled here. The
/// caller must treat [`CompleteOutcome::Failed`] as an error (retryable per its `code`).
pub(crate) fn parse_complete_multipart_upload(body: &[u8]) -> Result<CompleteOutcome, XmlError> {
    const DOC: &str = "CompleteMultipartUpload";
    match read_document::<CompletedUpload>(body, DOC, "CompleteMultipartUploadResult") {
        Ok(mut done) => {
            done.etag = non_empty(done.etag);
            Ok(CompleteOutcome::Completed(done))
        }
        Err(XmlError::ErrorDocument { error, .. }) => Ok(CompleteOutcome::Failed(*error)),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------------------------
// Reading and writing helpers

/// The most events the deserializer buffers while it looks past other elements for more
/// items of a list (`overlapped-lists`). A page of 1,000 entries with every field S3 sends
/// needs about 40,000; the limit stops a body built to make the buffer grow.
pub(crate) const MAX_BUFFERED_EVENTS: usize = 100_000;

/// The text of a response body: a UTF-8 byte order mark and leading whitespace
/// (CompleteMultipartUpload keep-alive padding) skipped.
fn document_text<'a>(body: &'a [u8], doc: &'static str) -> Result<&'a str, XmlError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let body = body.trim_ascii_start();
    if body.is_empty() {
        return Err(XmlError::Empty { document: doc });
    }
    std::str::from_utf8(body).map_err(|e| malformed(doc, format!("not UTF-8: {e}")))
}

/// The local name of the root element, read past the declaration, comments, processing
/// instructions and a DOCTYPE.
fn root_name(text: &str, doc: &'static str) -> Result<String, XmlError> {
    let mut reader = Reader::from_str(text);
    loop {
        let event = reader
            .read_event()
            .map_err(|e| malformed(doc, format!("{e} at byte {}", reader.error_position())))?;
        match event {
            Event::Start(e) | Event::Empty(e) => {
                return Ok(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
            }
            Event::Text(t) if t.iter().all(u8::is_ascii_whitespace) => {}
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                return Err(malformed(doc, "text outside the root element"));
            }
            Event::Eof => return Err(malformed(doc, "document ends before its root element")),
            // Declaration, comments, processing instructions, DOCTYPE.
            _ => {}
        }
    }
}

/// Deserializes the whole document into `T`, with the event buffer bounded.
fn deserialize<T: DeserializeOwned>(text: &str, doc: &'static str) -> Result<T, XmlError> {
    let mut de = quick_xml::de::Deserializer::from_str(text);
    de.event_buffer_size(NonZeroUsize::new(MAX_BUFFERED_EVENTS));
    T::deserialize(&mut de).map_err(|e| malformed(doc, e.to_string()))
}

/// Reads a response whose root must be `expected`; an `<Error>` root becomes
/// [`XmlError::ErrorDocument`].
pub(crate) fn read_document<T: DeserializeOwned>(
    body: &[u8],
    doc: &'static str,
    expected: &'static str,
) -> Result<T, XmlError> {
    let text = document_text(body, doc)?;
    match root_name(text, doc)? {
        root if root == expected => deserialize(text, doc),
        root if root == "Error" => Err(XmlError::ErrorDocument {
            document: doc,
            error: Box::new(deserialize(text, doc)?),
        }),
        found => Err(XmlError::UnexpectedRoot {
            document: doc,
            expected,
            found,
        }),
    }
}

fn malformed(document: &'static str, reason: impl Into<String>) -> XmlError {
    XmlError::Malformed {
        document,
        reason: reason.into(),
    }
}

fn invalid(document: &'static str, element: &'static str, problem: impl Into<String>) -> XmlError {
    XmlError::InvalidField {
        document,
        element,
        problem: problem.into(),
    }
}

fn required(
    value: Option<String>,
    element: &'static str,
    parent: &'static str,
    doc: &'static str,
) -> Result<String, XmlError> {
    value.ok_or_else(|| invalid(doc, element, format!("is missing from <{parent}>")))
}

pub(crate) fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

fn parse_bool(
    value: Option<String>,
    element: &'static str,
    parent: &'static str,
    doc: &'static str,
) -> Result<bool, XmlError> {
    match required(value, element, parent, doc)?.trim() {
        t if t.eq_ignore_ascii_case("true") || t == "1" => Ok(true),
        t if t.eq_ignore_ascii_case("false") || t == "0" => Ok(false),
        t => Err(invalid(doc, element, format!("is not a boolean: {t:?}"))),
    }
}

fn parse_num(value: Option<String>, element: &'static str, doc: &'static str) -> Result<Option<u64>, XmlError> {
    match value {
        None => Ok(None),
        Some(t) => t
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| invalid(doc, element, format!("is not an unsigned integer: {t:?}"))),
    }
}

/// Reads the text fields of one document, url-decoding those S3 encodes when the document's
/// `EncodingType` is `url`.
struct Fields {
    doc: &'static str,
    url: bool,
}

impl Fields {
    fn new(doc: &'static str, encoding_type: &Option<String>) -> Self {
        let url = encoding_type
            .as_deref()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("url"));
        Self { doc, url }
    }

    /// Decodes a value of a response sent with `encoding-type=url`, when `url` is set.
    ///
    /// The encoding is form-style: a space is written `+` and a literal `+` as `%2B` (MinIO
    /// `s3URLEncode` in cmd/api-utils.go, "based on Golang's url.QueryEscape"; botocore decodes
    /// these fields with `unquote_str = unquote_plus`, botocore/compat.py), so `+` is read as a
    /// space here, and only here: keys themselves may contain `+`.
    fn decoded(&self, value: String, element: &'static str) -> Result<String, XmlError> {
        if !self.url {
            return Ok(value);
        }
        let spaced = value.replace('+', " ");
        match percent_decode_str(&spaced).decode_utf8() {
            Ok(s) => Ok(s.into_owned()),
            Err(_) => Err(invalid(
                self.doc,
                element,
                format!("is not UTF-8 once url-decoded: {value:?}"),
            )),
        }
    }

    fn decoded_opt(&self, value: Option<String>, element: &'static str) -> Result<Option<String>, XmlError> {
        value.map(|v| self.decoded(v, element)).transpose()
    }

    fn common_prefixes(&self, prefixes: Vec<CommonPrefixXml>) -> Result<Vec<String>, XmlError> {
        prefixes
            .into_iter()
            .map(|p| self.decoded(required(p.prefix, "Prefix", "CommonPrefixes", self.doc)?, "Prefix"))
            .collect()
    }
}

#[cfg(test)]
#[path = "xml_tests.rs"]
mod tests;
