//! Object Lock (AWS S3 API Reference: GetObjectLockConfiguration; CreateBucket with
//! `x-amz-bucket-object-lock-enabled`; PutObjectRetention, GetObjectRetention; the
//! `x-amz-object-lock-*` headers of PutObject and CreateMultipartUpload).

use std::fmt;
use std::str::FromStr;

use http::Method;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[cfg(not(target_arch = "wasm32"))]
use super::address::check_key;
use super::body::MAX_XML_BYTES;
#[cfg(not(target_arch = "wasm32"))]
use super::checksum::md5_base64;
use super::client::{Request, S3Client};
use super::list::bad_xml;
use super::operation::Operation;
use super::xml;
use crate::error::{Error, Result};

/// A bucket's Object Lock configuration, as GetObjectLockConfiguration reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectLockConfiguration {
    /// `ObjectLockEnabled` is `Enabled`.
    pub enabled: bool,
    /// The default retention mode, `GOVERNANCE` or `COMPLIANCE`, if the bucket has one.
    pub mode: Option<String>,
    /// The default retention in days, if set.
    pub days: Option<u32>,
    /// The default retention in years, if set.
    pub years: Option<u32>,
}

/// The retention mode of a locked object version (AWS S3 User Guide, "Retention modes").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LockMode {
    /// Users with `s3:BypassGovernanceRetention` may shorten or remove the retention.
    Governance,
    /// Nobody, the root account included, may shorten it or delete the version before the date.
    Compliance,
}

impl LockMode {
    /// `GOVERNANCE` or `COMPLIANCE`, as in headers and XML.
    pub fn as_str(self) -> &'static str {
        match self {
            LockMode::Governance => "GOVERNANCE",
            LockMode::Compliance => "COMPLIANCE",
        }
    }
}

impl fmt::Display for LockMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LockMode {
    type Err = Error;

    /// `governance` or `compliance`, in any case.
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "governance" => Ok(LockMode::Governance),
            "compliance" => Ok(LockMode::Compliance),
            _ => Err(Error::invalid_input(format!(
                "Object Lock mode {} is neither governance nor compliance",
                crate::options::values::shown(s)
            ))),
        }
    }
}

/// The retention of one object version: its mode and the date until which it cannot be
/// deleted or overwritten in place (a new version can always be written over it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// GOVERNANCE or COMPLIANCE.
    pub mode: LockMode,
    /// The retain-until date (S3 keeps whole seconds).
    pub retain_until: OffsetDateTime,
}

impl Retention {
    /// The date as sent: RFC 3339 in UTC, whole seconds, rounded up (never earlier than asked).
    pub fn retain_until_text(&self) -> String {
        retain_until_text(self.retain_until)
    }

    /// Adds the `x-amz-object-lock-mode` and `x-amz-object-lock-retain-until-date` headers
    /// (PutObject, CreateMultipartUpload). S3 also requires `Content-MD5` or a checksum
    /// header on such a PutObject: the client always sends one.
    pub(crate) fn headers<'a>(&self, request: Request<'a>) -> Request<'a> {
        request
            .header("x-amz-object-lock-mode", self.mode.as_str())
            .header("x-amz-object-lock-retain-until-date", self.retain_until_text())
    }
}

impl S3Client {
    /// PutObjectRetention (`PUT /key?retention`) of the current version of `key`. Extending
    /// a date is always allowed; shortening one is refused (COMPLIANCE) or needs
    /// `s3:BypassGovernanceRetention` and a header this client never sends (GOVERNANCE).
    ///
    /// # Errors
    /// [`Error::NotFound`] when `key` does not exist; [`Error::AccessDenied`] when the date
    /// would shorten a retention; the request's own.
    #[cfg(not(target_arch = "wasm32"))]
    pub async fn put_object_retention(&self, key: &str, retention: &Retention) -> Result<()> {
        check_key(key)?;
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>{}</Mode><RetainUntilDate>{}</RetainUntilDate></Retention>",
            retention.mode.as_str(),
            retention.retain_until_text()
        );
        // AWS requires Content-MD5 (or an SDK checksum) on PutObjectRetention.
        let request = Request::new(Operation::PutObjectRetention, Method::PUT, Some(key))
            .query("retention", "")
            .header("content-md5", md5_base64(body.as_bytes()))
            .body(body);
        self.send(request).await.map_err(|e| e.with_key(key))?;
        Ok(())
    }

    /// GetObjectRetention (`GET /key?retention`) of the current version of `key`; `Ok(None)`
    /// when it has none (S3 and MinIO answer 404 `NoSuchObjectLockConfiguration`).
    ///
    /// # Errors
    /// [`Error::NotFound`] when `key` does not exist; the request's own.
    #[cfg(not(target_arch = "wasm32"))]
    pub async fn get_object_retention(&self, key: &str) -> Result<Option<Retention>> {
        check_key(key)?;
        let request = Request::new(Operation::GetObjectRetention, Method::GET, Some(key)).query("retention", "");
        let answer = match self
            .send_read(request, MAX_XML_BYTES, || self.xml_too_large("GetObjectRetention"))
            .await
        {
            Ok(answer) => answer,
            Err(e) if e.code() == Some("NoSuchObjectLockConfiguration") => return Ok(None),
            Err(e) => return Err(e.with_key(key)),
        };
        let (mode, date) = xml::parse_retention(&answer.body).map_err(|e| bad_xml("GetObjectRetention", e))?;
        let (Some(mode), Some(date)) = (mode, date) else {
            return Ok(None);
        };
        let bad = |why: String| Error::integrity(key, format!("GetObjectRetention of {key}: {why}"));
        let mode = mode
            .parse::<LockMode>()
            .map_err(|_| bad(format!("unknown mode {mode:?}")))?;
        let retain_until =
            OffsetDateTime::parse(date.trim(), &Rfc3339).map_err(|e| bad(format!("bad date {date:?}: {e}")))?;
        Ok(Some(Retention { mode, retain_until }))
    }

    /// GetObjectLockConfiguration of the bucket. `Ok(None)` when the bucket has no Object
    /// Lock configuration (S3 and MinIO answer 404 `ObjectLockConfigurationNotFoundError`).
    ///
    /// # Errors
    /// The request's own; a store that does not implement Object Lock answers
    /// `NotImplemented` (501), returned as [`Error::S3`] with that code.
    pub async fn get_object_lock_configuration(&self) -> Result<Option<ObjectLockConfiguration>> {
        let request = Request::new(Operation::GetObjectLockConfiguration, Method::GET, None).query("object-lock", "");
        let answer = match self
            .send_read(request, MAX_XML_BYTES, || {
                self.xml_too_large("GetObjectLockConfiguration")
            })
            .await
        {
            Ok(answer) => answer,
            Err(e) if e.code() == Some("ObjectLockConfigurationNotFoundError") => return Ok(None),
            Err(e) => return Err(e),
        };
        xml::parse_object_lock_configuration(&answer.body)
            .map(Some)
            .map_err(|e| bad_xml("GetObjectLockConfiguration", e))
    }

    /// CreateBucket with Object Lock enabled (which also turns versioning on), in the
    /// configured region. An existing bucket of ours is not an error (and is left as it is).
    ///
    /// # Errors
    /// As [`create_bucket`](Self::create_bucket).
    pub async fn create_bucket_with_object_lock(&self) -> Result<()> {
        let request =
            Request::new(Operation::CreateBucket, Method::PUT, None).header("x-amz-bucket-object-lock-enabled", "true");
        self.send_create_bucket(request).await
    }
}

/// Whether `err` says the store does not implement the request at all (HTTP 501,
/// `NotImplemented`), as opposed to refusing this one.
pub fn is_not_implemented(err: &Error) -> bool {
    err.status() == Some(501) || err.code() == Some("NotImplemented")
}

/// A retain-until date as the lock holds it: UTC RFC 3339 in whole seconds, rounded up
/// (S3 stores whole seconds; `2026-12-01T10:00:00Z`). What `delete` and `prune` show.
pub fn retain_until_text(retain_until: OffsetDateTime) -> String {
    let t = retain_until.to_offset(time::UtcOffset::UTC);
    let whole = t.replace_nanosecond(0).expect("0 is a valid nanosecond");
    let whole = if whole < t {
        whole + time::Duration::SECOND
    } else {
        whole
    };
    whole.format(&Rfc3339).expect("a UTC date formats")
}
