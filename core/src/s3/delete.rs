//! DeleteObjects (AWS S3 API Reference: DeleteObjects): up to 1000 keys per request.

use http::Method;

use super::body::MAX_XML_BYTES;
use super::checksum::md5_base64;
use super::client::{Request, S3Client};
use super::list::bad_xml;
use super::operation::Operation;
use super::xml::{self, DeleteOutcome};
use crate::error::{Error, Result};

/// The most keys one DeleteObjects request may name (S3 limit).
pub const DELETE_OBJECTS_MAX_KEYS: usize = 1000;

impl S3Client {
    /// DeleteObjects in Quiet mode: only failures are reported, per key, in the outcome.
    ///
    /// Carries `Content-MD5`, which S3 requires for this operation and MinIO enforces.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for more than 1000 keys or none (nothing is sent); the request's
    /// own errors otherwise. Per-key failures are not errors: see [`DeleteOutcome::errors`].
    pub async fn delete_objects(&self, keys: &[String]) -> Result<DeleteOutcome> {
        if keys.is_empty() || keys.len() > DELETE_OBJECTS_MAX_KEYS {
            return Err(Error::invalid_input(format!(
                "DeleteObjects takes 1 to {DELETE_OBJECTS_MAX_KEYS} keys, got {}",
                keys.len()
            )));
        }
        let body = xml::delete_objects_body(keys, true).map_err(|e| Error::invalid_input(e.to_string()))?;
        let request = Request::new(Operation::DeleteObjects, Method::POST, None)
            .query("delete", "")
            .header("content-md5", md5_base64(body.as_bytes()))
            .header("content-type", "application/xml")
            .body(body);
        let answer = self
            .send_read(request, MAX_XML_BYTES, || self.xml_too_large("DeleteObjects"))
            .await?;
        xml::parse_delete_result(&answer.body).map_err(|e| bad_xml("DeleteObjects", e))
    }
}
