//! Object Lock (AWS S3 API Reference: GetObjectLockConfiguration; CreateBucket with
//! `x-amz-bucket-object-lock-enabled`).

use http::Method;

use super::body::MAX_XML_BYTES;
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

impl S3Client {
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
