//! Request bodies of the S3 REST API operations s3keep uses (AWS S3 API Reference:
//! DeleteObjects, CompleteMultipartUpload, CreateBucket), written by hand.
//!
//! Every XML special character is escaped, and `\r` / `\n` are written as character
//! references so XML end-of-line normalisation cannot alter a key (AWS "Object key naming
//! guidelines", XML related object key constraints). A serializer would not promise either.

use super::xml::XmlError;

const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

/// The most keys one DeleteObjects request may carry (AWS S3 API Reference, DeleteObjects).
pub(crate) const MAX_DELETE_KEYS: usize = 1000;

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

// Escaping

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
