//! XML bodies of the S3 REST API operations s3keep uses (AWS S3 API Reference, one section per
//! action: ListObjectsV2, DeleteObjects, CreateMultipartUpload, CompleteMultipartUpload,
//! ListMultipartUploads, CreateBucket, and the common `<Error>` response).
//!
//! Responses are read into a small element tree with `quick_xml::Reader` rather than through
//! `quick_xml::de`: the serde deserializer fails on interleaved `<Deleted>`/`<Error>` lists
//! ("duplicate field") unless quick-xml's `overlapped-lists` feature is on, and Ceph RGW writes
//! them interleaved (one entry per key, in request order: `RGWDeleteMultiObj_ObjStore_S3::
//! send_partial_response`); the tree also makes the root element visible, which the
//! `200 OK` + `<Error>` case of CompleteMultipartUpload needs. Text is kept untrimmed (keys may
//! begin or end with spaces) with entities resolved and XML 1.0 end-of-line normalisation.
//! Element names are matched by local name, so namespaces and prefixes are irrelevant, and
//! unknown elements are ignored: stores add fields.
//!
//! Request bodies are written by hand with every XML special character escaped, and `\r` / `\n`
//! as character references so XML end-of-line normalisation cannot alter a key (AWS "Object key
//! naming guidelines", XML related object key constraints).

use percent_encoding::percent_decode_str;
use quick_xml::events::Event;
use quick_xml::Reader;

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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
    let root = parse_tree(body, "Error").ok()?;
    (root.name == "Error").then(|| error_body(&root))
}

fn error_body(e: &Element) -> S3ErrorBody {
    S3ErrorBody {
        code: e.opt("Code"),
        message: e.opt("Message"),
        key: e.opt("Key"),
        bucket_name: e.opt("BucketName"),
        resource: e.opt("Resource"),
        request_id: e.opt("RequestId"),
        host_id: e.opt("HostId"),
        request_time: e.opt("RequestTime"),
        server_time: e.opt("ServerTime"),
        region: e.opt("Region"),
        endpoint: e.opt("Endpoint"),
    }
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
    let root = expect_root(body, DOC, "ListBucketResult")?;
    let encoding_type = root.opt("EncodingType");
    let f = Fields {
        doc: DOC,
        url: is_url(&encoding_type),
    };
    let entry = |c: &Element| -> Result<ListEntry, XmlError> {
        let size = parse_num(c, "Size", DOC)?;
        Ok(ListEntry {
            object: ObjectInfo {
                key: f.decoded_req(c, "Key")?,
                size: size.ok_or_else(|| invalid(DOC, "Size", "is missing from <Contents>"))?,
                etag: c.opt("ETag").unwrap_or_default(),
                last_modified: c.opt("LastModified").unwrap_or_default(),
            },
            storage_class: c.opt("StorageClass"),
            checksum_algorithm: c.all("ChecksumAlgorithm").map(|a| a.text.clone()).collect(),
        })
    };
    let result = ListBucketResult {
        name: root.opt("Name"),
        prefix: f.decoded(&root, "Prefix")?,
        delimiter: f.decoded(&root, "Delimiter")?,
        key_count: parse_num(&root, "KeyCount", DOC)?,
        max_keys: parse_num(&root, "MaxKeys", DOC)?,
        is_truncated: parse_bool(&root, "IsTruncated", DOC)?,
        continuation_token: non_empty(root.opt("ContinuationToken")),
        next_continuation_token: non_empty(root.opt("NextContinuationToken")),
        start_after: f.decoded(&root, "StartAfter")?,
        contents: root.all("Contents").map(entry).collect::<Result<_, _>>()?,
        common_prefixes: f.common_prefixes(&root)?,
        encoding_type,
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

/// Reads a ListMultipartUploads response page (AWS S3 API Reference, ListMultipartUploads).
pub(crate) fn parse_list_multipart_uploads(body: &[u8]) -> Result<UploadsPage, XmlError> {
    parse_list_multipart_uploads_result(body).map(|r| r.page)
}

/// Reads the whole `ListMultipartUploadsResult` document. A truncated page must carry a
/// `NextKeyMarker` or, as MinIO's do (their `NextKeyMarker` is empty), uploads whose last one
/// the next page starts after.
pub(crate) fn parse_list_multipart_uploads_result(body: &[u8]) -> Result<ListMultipartUploadsResult, XmlError> {
    const DOC: &str = "ListMultipartUploads";
    let root = expect_root(body, DOC, "ListMultipartUploadsResult")?;
    let encoding_type = root.opt("EncodingType");
    let f = Fields {
        doc: DOC,
        url: is_url(&encoding_type),
    };
    let upload = |u: &Element| -> Result<UploadInfo, XmlError> {
        Ok(UploadInfo {
            key: f.decoded_req(u, "Key")?,
            upload_id: u.req("UploadId", DOC)?.to_owned(),
            initiated: u.opt("Initiated").unwrap_or_default(),
        })
    };
    let page = UploadsPage {
        uploads: root.all("Upload").map(upload).collect::<Result<_, _>>()?,
        next_key_marker: non_empty(f.decoded(&root, "NextKeyMarker")?),
        next_upload_id_marker: non_empty(root.opt("NextUploadIdMarker")),
        is_truncated: parse_bool(&root, "IsTruncated", DOC)?,
    };
    if page.is_truncated && page.next_key_marker.is_none() && page.uploads.is_empty() {
        return Err(invalid(
            DOC,
            "NextKeyMarker",
            "is missing on a truncated page without uploads",
        ));
    }
    Ok(ListMultipartUploadsResult {
        bucket: root.opt("Bucket"),
        key_marker: f.decoded(&root, "KeyMarker")?,
        upload_id_marker: root.opt("UploadIdMarker"),
        prefix: f.decoded(&root, "Prefix")?,
        delimiter: f.decoded(&root, "Delimiter")?,
        max_uploads: parse_num(&root, "MaxUploads", DOC)?,
        common_prefixes: f.common_prefixes(&root)?,
        encoding_type,
        page,
    })
}

// ---------------------------------------------------------------------------------------------
// DeleteObjects

/// The most keys one DeleteObjects request may carry (AWS S3 API Reference, DeleteObjects).
const MAX_DELETE_KEYS: usize = 1000;

/// Writes the DeleteObjects request body `<Delete>` (AWS S3 API Reference, DeleteObjects).
///
/// Fails for an empty list, more than 1000 keys, or a key holding a character XML 1.0 cannot
/// carry (control characters other than tab, LF, CR; U+FFFE, U+FFFF): such a key cannot be
/// named in this request at all. The request also needs a `Content-MD5` header (not set here).
pub(crate) fn delete_objects_body<I, S>(keys: I, quiet: bool) -> Result<String, XmlError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let bad = |reason: String| XmlError::InvalidRequest {
        document: "DeleteObjects",
        reason,
    };
    let mut out = String::from(XML_DECL);
    out.push_str("<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    if quiet {
        out.push_str("<Quiet>true</Quiet>");
    }
    let mut count = 0;
    for key in keys {
        let key = key.as_ref();
        if let Some(c) = key.chars().find(|&c| xml_invalid(c)) {
            let c = c as u32;
            return Err(bad(format!(
                "object key {key:?} holds U+{c:04X}, which XML 1.0 cannot carry"
            )));
        }
        count += 1;
        out.push_str("<Object><Key>");
        push_escaped(&mut out, key);
        out.push_str("</Key></Object>");
    }
    if count == 0 || count > MAX_DELETE_KEYS {
        return Err(bad(format!("needs 1 to {MAX_DELETE_KEYS} keys, got {count}")));
    }
    out.push_str("</Delete>");
    Ok(out)
}

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

/// Reads the DeleteObjects response `DeleteResult` (AWS S3 API Reference, DeleteObjects).
/// `<Deleted>` and `<Error>` entries may come in any order.
pub(crate) fn parse_delete_result(body: &[u8]) -> Result<DeleteOutcome, XmlError> {
    let root = expect_root(body, "DeleteObjects", "DeleteResult")?;
    Ok(DeleteOutcome {
        deleted: root.all("Deleted").map(|d| d.opt("Key").unwrap_or_default()).collect(),
        errors: root
            .all("Error")
            .map(|e| DeleteError {
                key: e.opt("Key").unwrap_or_default(),
                code: e.opt("Code"),
                message: e.opt("Message"),
            })
            .collect(),
    })
}

// ---------------------------------------------------------------------------------------------
// Multipart uploads

/// The CreateMultipartUpload response, `InitiateMultipartUploadResult`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MultipartUploadInit {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
}

/// Reads the CreateMultipartUpload response (AWS S3 API Reference, CreateMultipartUpload).
pub(crate) fn parse_initiate_multipart_upload(body: &[u8]) -> Result<MultipartUploadInit, XmlError> {
    const DOC: &str = "CreateMultipartUpload";
    let root = expect_root(body, DOC, "InitiateMultipartUploadResult")?;
    let upload_id = root.req("UploadId", DOC)?;
    if upload_id.is_empty() {
        return Err(invalid(DOC, "UploadId", "is empty"));
    }
    Ok(MultipartUploadInit {
        bucket: root.opt("Bucket").unwrap_or_default(),
        key: root.opt("Key").unwrap_or_default(),
        upload_id: upload_id.to_owned(),
    })
}

/// One `<Part>` of a CompleteMultipartUpload request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedPart {
    /// 1 to 10000.
    pub part_number: u32,
    /// The `ETag` header UploadPart returned, quotes included.
    pub etag: String,
    /// Base64 CRC32C of the part, when the upload was created with that checksum algorithm.
    pub checksum_crc32c: Option<String>,
}

/// Writes the CompleteMultipartUpload request body (AWS S3 API Reference,
/// CompleteMultipartUpload). Parts go in the order given, which must be ascending part numbers;
/// the store checks that (`InvalidPartOrder`, `MalformedXML` for none, `InvalidPart`).
pub(crate) fn complete_multipart_upload_body(parts: &[CompletedPart]) -> String {
    let mut out = String::from(XML_DECL);
    out.push_str("<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for part in parts {
        out.push_str(&format!("<Part><PartNumber>{}</PartNumber><ETag>", part.part_number));
        push_escaped(&mut out, &part.etag);
        out.push_str("</ETag>");
        if let Some(crc) = &part.checksum_crc32c {
            out.push_str("<ChecksumCRC32C>");
            push_escaped(&mut out, crc);
            out.push_str("</ChecksumCRC32C>");
        }
        out.push_str("</Part>");
    }
    out.push_str("</CompleteMultipartUpload>");
    out
}

/// The CompleteMultipartUpload success document, `CompleteMultipartUploadResult`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CompletedUpload {
    pub location: Option<String>,
    pub bucket: Option<String>,
    pub key: Option<String>,
    /// The multipart ETag (`"…-N"`), quotes included; `None` if absent (then the `ETag`
    /// response header has it).
    pub etag: Option<String>,
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
    let root = parse_tree(body, DOC)?;
    match root.name.as_str() {
        "Error" => Ok(CompleteOutcome::Failed(error_body(&root))),
        "CompleteMultipartUploadResult" => Ok(CompleteOutcome::Completed(CompletedUpload {
            location: root.opt("Location"),
            bucket: root.opt("Bucket"),
            key: root.opt("Key"),
            etag: non_empty(root.opt("ETag")),
            checksum_crc32c: root.opt("ChecksumCRC32C"),
        })),
        other => Err(XmlError::UnexpectedRoot {
            document: DOC,
            expected: "CompleteMultipartUploadResult",
            found: other.to_owned(),
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// CreateBucket

/// Writes the CreateBucket request body (AWS S3 API Reference, CreateBucket). Returns `None`
/// for `us-east-1` (or an empty region), where no body is sent.
pub(crate) fn create_bucket_body(region: &str) -> Option<String> {
    if region.is_empty() || region == "us-east-1" {
        return None;
    }
    let mut out = String::from(XML_DECL);
    out.push_str("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    out.push_str("<LocationConstraint>");
    // Characters XML cannot carry become U+FFFD, so the store rejects the region rather than
    // a missing body silently creating the bucket in us-east-1.
    push_escaped(&mut out, region);
    out.push_str("</LocationConstraint></CreateBucketConfiguration>");
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// Reading and writing helpers

const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
/// Deeper documents are rejected; S3 documents are at most four levels deep.
const MAX_DEPTH: usize = 32;

/// An element: local name, its direct text content (entities resolved, untrimmed), children.
#[derive(Debug, Default)]
struct Element {
    name: String,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
    fn opt(&self, name: &str) -> Option<String> {
        self.all(name).next().map(|c| c.text.clone())
    }
    fn req(&self, name: &'static str, doc: &'static str) -> Result<&str, XmlError> {
        let el = self.all(name).next();
        el.map(|c| c.text.as_str())
            .ok_or_else(|| invalid(doc, name, format!("is missing from <{}>", self.name)))
    }
}

fn invalid(document: &'static str, element: &'static str, problem: impl Into<String>) -> XmlError {
    XmlError::InvalidField {
        document,
        element,
        problem: problem.into(),
    }
}

/// Parses `body` into its root element. Leading whitespace (CompleteMultipartUpload keep-alive
/// padding) and a UTF-8 byte order mark are skipped; anything after the root is ignored.
fn parse_tree(body: &[u8], doc: &'static str) -> Result<Element, XmlError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let body = body.trim_ascii_start();
    if body.is_empty() {
        return Err(XmlError::Empty { document: doc });
    }
    let malformed = |reason: String| XmlError::Malformed { document: doc, reason };
    let text = std::str::from_utf8(body).map_err(|e| malformed(format!("not UTF-8: {e}")))?;
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| malformed(format!("{e} at byte {}", reader.error_position())))?;
        let closed = match event {
            Event::Start(_) | Event::Empty(_) if stack.len() >= MAX_DEPTH => {
                return Err(malformed(format!("nested deeper than {MAX_DEPTH} elements")));
            }
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                stack.push(Element {
                    name,
                    ..Element::default()
                });
                None
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                Some(Element {
                    name,
                    ..Element::default()
                })
            }
            Event::End(_) => stack.pop(),
            Event::Text(t) => {
                let s = t.xml10_content().map_err(|e| malformed(e.to_string()))?;
                match stack.last_mut() {
                    Some(top) => top.text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => return Err(malformed("text outside the root element".into())),
                }
                None
            }
            Event::CData(t) => {
                let s = t.xml10_content().map_err(|e| malformed(e.to_string()))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&s);
                }
                None
            }
            Event::GeneralRef(r) => {
                let ch = match r.resolve_char_ref().map_err(|e| malformed(e.to_string()))? {
                    Some(ch) => ch,
                    None => match r.as_ref() {
                        b"amp" => '&',
                        b"lt" => '<',
                        b"gt" => '>',
                        b"quot" => '"',
                        b"apos" => '\'',
                        other => {
                            let name = String::from_utf8_lossy(other);
                            return Err(malformed(format!("unknown entity &{name};")));
                        }
                    },
                };
                match stack.last_mut() {
                    Some(top) => top.text.push(ch),
                    None => return Err(malformed("text outside the root element".into())),
                }
                None
            }
            Event::Eof => return Err(malformed("document ends before its root element".into())),
            // Declaration, comments, processing instructions, DOCTYPE.
            _ => None,
        };
        if let Some(el) = closed {
            match stack.last_mut() {
                Some(parent) => parent.children.push(el),
                None => return Ok(el),
            }
        }
    }
}

/// Parses `body` and checks its root; an `<Error>` root becomes [`XmlError::ErrorDocument`].
fn expect_root(body: &[u8], doc: &'static str, expected: &'static str) -> Result<Element, XmlError> {
    let root = parse_tree(body, doc)?;
    if root.name == expected {
        Ok(root)
    } else if root.name == "Error" {
        Err(XmlError::ErrorDocument {
            document: doc,
            error: Box::new(error_body(&root)),
        })
    } else {
        Err(XmlError::UnexpectedRoot {
            document: doc,
            expected,
            found: root.name,
        })
    }
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

fn parse_bool(e: &Element, name: &'static str, doc: &'static str) -> Result<bool, XmlError> {
    match e.req(name, doc)?.trim() {
        t if t.eq_ignore_ascii_case("true") || t == "1" => Ok(true),
        t if t.eq_ignore_ascii_case("false") || t == "0" => Ok(false),
        t => Err(invalid(doc, name, format!("is not a boolean: {t:?}"))),
    }
}

fn parse_num(e: &Element, name: &'static str, doc: &'static str) -> Result<Option<u64>, XmlError> {
    match e.opt(name) {
        None => Ok(None),
        Some(t) => t
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| invalid(doc, name, format!("is not an unsigned integer: {t:?}"))),
    }
}

/// Reads the text fields of one document, url-decoding those S3 encodes when `url` is set.
struct Fields {
    doc: &'static str,
    url: bool,
}

impl Fields {
    fn decoded(&self, e: &Element, name: &'static str) -> Result<Option<String>, XmlError> {
        e.opt(name).map(|v| url_decode(v, self.url, self.doc, name)).transpose()
    }
    fn decoded_req(&self, e: &Element, name: &'static str) -> Result<String, XmlError> {
        url_decode(e.req(name, self.doc)?.to_owned(), self.url, self.doc, name)
    }
    fn common_prefixes(&self, root: &Element) -> Result<Vec<String>, XmlError> {
        root.all("CommonPrefixes")
            .map(|p| self.decoded_req(p, "Prefix"))
            .collect()
    }
}

fn is_url(encoding_type: &Option<String>) -> bool {
    encoding_type
        .as_deref()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("url"))
}

/// Decodes a value of a response sent with `encoding-type=url`, when `url` is set.
///
/// The encoding is form-style: a space is written `+` and a literal `+` as `%2B` (MinIO
/// `s3URLEncode` in cmd/api-utils.go, "based on Golang's url.QueryEscape"; botocore decodes
/// these fields with `unquote_str = unquote_plus`, botocore/compat.py), so `+` is read as a
/// space here, and only here: keys themselves may contain `+`.
fn url_decode(value: String, url: bool, doc: &'static str, element: &'static str) -> Result<String, XmlError> {
    if !url {
        return Ok(value);
    }
    let spaced = value.replace('+', " ");
    match percent_decode_str(&spaced).decode_utf8() {
        Ok(s) => Ok(s.into_owned()),
        Err(_) => Err(invalid(
            doc,
            element,
            format!("is not UTF-8 once url-decoded: {value:?}"),
        )),
    }
}

/// Whether XML 1.0 cannot represent `c`, even as a character reference (XML 1.0 §2.2 `Char`).
fn xml_invalid(c: char) -> bool {
    (c < '\u{20}' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFE}' || c == '\u{FFFF}'
}

/// Appends `s` escaped for XML element content. Characters XML 1.0 cannot carry become
/// U+FFFD (callers that must not alter a value check with [`xml_invalid`] first).
fn push_escaped(out: &mut String, s: &str) {
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\n' => out.push_str("&#10;"),
            c if xml_invalid(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
#[path = "xml_tests.rs"]
mod tests;
