//! ListObjectVersions and reads of one object version (AWS S3 API Reference: same names;
//! GetObject's `versionId`). Used on versioned (Object Lock) buckets to read what was
//! written first under a key, whatever was written or deleted there afterwards.

use http::Method;
use serde::Deserialize;

use super::body::MAX_XML_BYTES;
use super::client::{Request, S3Client};
use super::list::bad_xml;
use super::operation::Operation;
use super::xml::{read_document, XmlError};
use crate::error::{Error, Result};

/// One version of an object (not a delete marker), as ListObjectVersions lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectVersion {
    /// The key.
    pub key: String,
    /// The version id (`null` for an object written before versioning was enabled).
    pub version_id: String,
    /// Whether it is the current version.
    pub is_latest: bool,
    /// `LastModified` as listed (RFC 3339).
    pub last_modified: String,
    /// Size in bytes.
    pub size: u64,
}

/// Every version below a prefix: object versions (newest first per key, keys in order) and
/// the keys of delete markers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Versions {
    /// The object versions.
    pub versions: Vec<ObjectVersion>,
    /// Keys that have at least one delete marker.
    pub delete_markers: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListVersionsXml {
    is_truncated: Option<String>,
    next_key_marker: Option<String>,
    next_version_id_marker: Option<String>,
    #[serde(default)]
    version: Vec<VersionXml>,
    #[serde(default)]
    delete_marker: Vec<MarkerXml>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct VersionXml {
    key: String,
    version_id: Option<String>,
    is_latest: Option<String>,
    last_modified: Option<String>,
    size: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MarkerXml {
    key: String,
}

fn parse(body: &[u8]) -> Result<ListVersionsXml, XmlError> {
    read_document(body, "ListObjectVersions", "ListVersionsResult")
}

impl S3Client {
    /// ListObjectVersions of every version below `prefix`, all pages (`key-marker`,
    /// `version-id-marker`).
    ///
    /// # Errors
    /// The requests' own; [`Error::S3`]-style errors for a malformed answer.
    pub async fn list_object_versions(&self, prefix: &str) -> Result<Versions> {
        let mut out = Versions::default();
        let mut markers: Option<(String, String)> = None;
        loop {
            let mut request = Request::new(Operation::ListObjectVersions, Method::GET, None)
                .query("versions", "")
                .query("prefix", prefix.to_string());
            if let Some((key, version)) = &markers {
                request = request
                    .query("key-marker", key.clone())
                    .query("version-id-marker", version.clone());
            }
            let answer = self
                .send_read(request, MAX_XML_BYTES, || self.xml_too_large("ListObjectVersions"))
                .await?;
            let page = parse(&answer.body).map_err(|e| bad_xml("ListObjectVersions", e))?;
            for v in page.version {
                out.versions.push(ObjectVersion {
                    key: v.key,
                    version_id: v.version_id.unwrap_or_else(|| "null".into()),
                    is_latest: v.is_latest.as_deref() == Some("true"),
                    last_modified: v.last_modified.unwrap_or_default(),
                    size: v.size.unwrap_or(0),
                });
            }
            out.delete_markers.extend(page.delete_marker.into_iter().map(|m| m.key));
            if page.is_truncated.as_deref() != Some("true") {
                return Ok(out);
            }
            let next = (
                page.next_key_marker.unwrap_or_default(),
                page.next_version_id_marker.unwrap_or_default(),
            );
            if next.0.is_empty() || markers.as_ref() == Some(&next) {
                return Err(Error::integrity(
                    prefix,
                    "ListObjectVersions said it is truncated but gave no next marker",
                ));
            }
            markers = Some(next);
        }
    }

    /// DeleteObject of one version (`versionId`): removes that version for good. S3 refuses
    /// it (403 `AccessDenied`) while the version is under Object Lock retention, unless
    /// GOVERNANCE is bypassed by a principal allowed to (a header this client never sends).
    ///
    /// # Errors
    /// [`Error::AccessDenied`] for a locked version; the request's own.
    pub async fn delete_object_version(&self, key: &str, version: &str) -> Result<()> {
        super::address::check_key(key)?;
        let request =
            Request::new(Operation::DeleteObject, Method::DELETE, Some(key)).query("versionId", version.to_string());
        self.send(request).await.map_err(|e| e.with_key(key))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_delete_markers_are_read_in_order() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>p/</Prefix>
<KeyMarker></KeyMarker><VersionIdMarker></VersionIdMarker><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>
<DeleteMarker><Key>p/a</Key><VersionId>m1</VersionId><IsLatest>true</IsLatest><LastModified>2026-12-01T00:00:03Z</LastModified></DeleteMarker>
<Version><Key>p/a</Key><VersionId>v2</VersionId><IsLatest>false</IsLatest><LastModified>2026-12-01T00:00:02Z</LastModified><ETag>"x"</ETag><Size>3</Size></Version>
<Version><Key>p/a</Key><VersionId>v1</VersionId><IsLatest>false</IsLatest><LastModified>2026-12-01T00:00:01Z</LastModified><ETag>"y"</ETag><Size>4</Size></Version>
</ListVersionsResult>"#;
        let page = parse(body).unwrap();
        let ids: Vec<_> = page.version.iter().map(|v| v.version_id.clone().unwrap()).collect();
        assert_eq!(ids, ["v2", "v1"]);
        assert_eq!(page.delete_marker.len(), 1);
        assert_eq!(page.version[1].size, Some(4));
    }
}
