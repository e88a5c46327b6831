//! The S3 client: hand-built requests signed with aws-sigv4 and sent with reqwest.
//!
//! It knows nothing of backups. Each operation is named as in the AWS S3 API Reference:
//! - bucket and objects (`object.rs`): HeadBucket, CreateBucket, PutObject, GetObject,
//!   HeadObject, DeleteObject;
//! - `list.rs`: ListObjectsV2; `delete.rs`: DeleteObjects;
//! - `multipart.rs`: CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
//!   AbortMultipartUpload, ListMultipartUploads;
//! - `copy.rs`: CopyObject, UploadPartCopy (server-side copies);
//! - `lock.rs`: GetObjectLockConfiguration, CreateBucket with Object Lock,
//!   PutObjectRetention, GetObjectRetention; `versions.rs`: ListObjectVersions, GetObject of
//!   a version;
//! - `client.rs`: signing, sending, retries; `limiter.rs`: the adaptive cap on requests in
//!   flight (AIMD on throttling); `operation.rs`: the actions and their counts;
//!   `file_part.rs`: request bodies read from a file range while they are sent (native);
//!   `response.rs`: typed errors; `resume.rs`: GetObject bodies resumed after a lost
//!   connection; `xml.rs`: response bodies (serde); `xml_request.rs`:
//!   request bodies.

mod address;
mod body;
pub mod checksum;
mod client;
mod copy;
mod delete;
#[cfg(not(target_arch = "wasm32"))]
mod file_part;
mod limiter;
mod list;
mod lock;
mod multipart;
mod object;
mod operation;
mod paging;
mod response;
mod resume;
mod retry;
#[cfg(not(target_arch = "wasm32"))]
mod versions;
mod xml;
mod xml_request;

pub(crate) use body::human_size;
pub use body::{MAX_ERROR_BODY_BYTES, MAX_XML_BYTES};
pub use client::S3Client;
pub use copy::{CopyResult, CopySource};
pub use delete::DELETE_OBJECTS_MAX_KEYS;
#[cfg(not(target_arch = "wasm32"))]
pub use file_part::FilePart;
#[cfg(not(target_arch = "wasm32"))]
pub(crate) use file_part::{read_at, read_exact_at};
pub use list::{ListOptions, MAX_LIST_PAGES};
pub use lock::{is_not_implemented, retain_until_text, LockMode, ObjectLockConfiguration, Retention};
pub use multipart::{part_size_for, MAX_PARTS, MAX_PART_SIZE, MIN_PART_SIZE};
pub use object::{GetObjectOutput, ObjectHead, PutOptions, PutResult};
#[cfg(not(target_arch = "wasm32"))]
pub use versions::{ObjectVersion, Versions};
pub use xml::{DeleteError, DeleteOutcome, ListPage, ObjectInfo, UploadInfo, UploadsPage};
pub use xml_request::CompletedPart;

/// A response body as a stream of chunks (`Send` natively; wasm32 futures are not `Send`).
#[cfg(not(target_arch = "wasm32"))]
pub type ByteStream = futures::stream::BoxStream<'static, crate::error::Result<bytes::Bytes>>;
/// A response body as a stream of chunks (`Send` natively; wasm32 futures are not `Send`).
#[cfg(target_arch = "wasm32")]
pub type ByteStream = futures::stream::LocalBoxStream<'static, crate::error::Result<bytes::Bytes>>;
