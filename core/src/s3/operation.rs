//! The S3 actions the client sends, named as in the AWS S3 API Reference, and a lock-free
//! count of the requests sent per action.

use std::sync::atomic::{AtomicU64, Ordering};

/// One S3 action. The names are the API Reference's, as logs, errors and counts show them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
    HeadBucket,
    CreateBucket,
    PutObject,
    GetObject,
    HeadObject,
    DeleteObject,
    ListObjectsV2,
    DeleteObjects,
    CreateMultipartUpload,
    UploadPart,
    CompleteMultipartUpload,
    AbortMultipartUpload,
    ListMultipartUploads,
    GetObjectLockConfiguration,
    CopyObject,
    UploadPartCopy,
    PutObjectRetention,
    GetObjectRetention,
    ListObjectVersions,
}

impl Operation {
    /// Every action, in the order of the counters.
    const ALL: [Operation; 19] = [
        Operation::HeadBucket,
        Operation::CreateBucket,
        Operation::PutObject,
        Operation::GetObject,
        Operation::HeadObject,
        Operation::DeleteObject,
        Operation::ListObjectsV2,
        Operation::DeleteObjects,
        Operation::CreateMultipartUpload,
        Operation::UploadPart,
        Operation::CompleteMultipartUpload,
        Operation::AbortMultipartUpload,
        Operation::ListMultipartUploads,
        Operation::GetObjectLockConfiguration,
        Operation::CopyObject,
        Operation::UploadPartCopy,
        Operation::PutObjectRetention,
        Operation::GetObjectRetention,
        Operation::ListObjectVersions,
    ];

    /// The action's name in the AWS S3 API Reference (`PutObject`, `ListObjectsV2`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::HeadBucket => "HeadBucket",
            Operation::CreateBucket => "CreateBucket",
            Operation::PutObject => "PutObject",
            Operation::GetObject => "GetObject",
            Operation::HeadObject => "HeadObject",
            Operation::DeleteObject => "DeleteObject",
            Operation::ListObjectsV2 => "ListObjectsV2",
            Operation::DeleteObjects => "DeleteObjects",
            Operation::CreateMultipartUpload => "CreateMultipartUpload",
            Operation::UploadPart => "UploadPart",
            Operation::CompleteMultipartUpload => "CompleteMultipartUpload",
            Operation::AbortMultipartUpload => "AbortMultipartUpload",
            Operation::ListMultipartUploads => "ListMultipartUploads",
            Operation::GetObjectLockConfiguration => "GetObjectLockConfiguration",
            Operation::CopyObject => "CopyObject",
            Operation::UploadPartCopy => "UploadPartCopy",
            Operation::PutObjectRetention => "PutObjectRetention",
            Operation::GetObjectRetention => "GetObjectRetention",
            Operation::ListObjectVersions => "ListObjectVersions",
        }
    }

    /// The action named `name`, if the client sends it.
    fn from_name(name: &str) -> Option<Operation> {
        Self::ALL.into_iter().find(|op| op.as_str() == name)
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Requests sent per action, retries included: one atomic per action, so counting costs no
/// lock on the request path.
#[derive(Debug, Default)]
pub(crate) struct RequestCounts([AtomicU64; Operation::ALL.len()]);

impl RequestCounts {
    /// Counts one request of `operation`.
    pub fn add(&self, operation: Operation) {
        self.0[operation as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Requests of `operation` so far.
    pub fn get(&self, operation: Operation) -> u64 {
        self.0[operation as usize].load(Ordering::Relaxed)
    }

    /// Requests of the action named `name` so far; 0 for a name the client never sends.
    pub fn get_named(&self, name: &str) -> u64 {
        Operation::from_name(name).map_or(0, |op| self.get(op))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_its_own_counter_found_by_name() {
        for (i, op) in Operation::ALL.into_iter().enumerate() {
            assert_eq!(op as usize, i, "ALL is in declaration order");
        }
        let counts = RequestCounts::default();
        counts.add(Operation::UploadPart);
        counts.add(Operation::UploadPart);
        counts.add(Operation::ListMultipartUploads);
        assert_eq!(counts.get_named("UploadPart"), 2);
        assert_eq!(counts.get_named("ListMultipartUploads"), 1);
        assert_eq!(counts.get(Operation::PutObject), 0);
        assert_eq!(counts.get_named("NoSuchAction"), 0);
    }
}
