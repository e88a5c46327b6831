//! The one public error type (§6).
//!
//! Every variant carries the same [`ErrorDetails`]: the S3 error code, HTTP status, request
//! id, key and endpoint where there is one, and a message. `Display` adds what to do about it.
//! Secrets never reach an error: messages are built from codes, keys and endpoints only.

use std::fmt;
use std::sync::Arc;

use crate::escape::escape_controls;

/// What is known about a failure: S3 code, HTTP status, request id, key, endpoint, message.
#[derive(Clone, Default)]
pub struct ErrorDetails {
    /// The S3 error code from the response body (`NoSuchKey`, `SlowDown`, ...), if any.
    pub code: Option<String>,
    /// The HTTP status of the last response, if a response arrived.
    pub status: Option<u16>,
    /// The `x-amz-request-id` of the failing response, for the store's support.
    pub request_id: Option<String>,
    /// The object key (or backup id) concerned, if any.
    pub key: Option<String>,
    /// The endpoint the request went to (never with credentials).
    pub endpoint: Option<String>,
    /// A human-readable description of what failed.
    pub message: String,
    /// The underlying error (I/O, transport), if any.
    pub source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl ErrorDetails {
    /// Details with only a message.
    pub fn message(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            ..Self::default()
        }
    }

    /// Sets the key concerned.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }
}

impl fmt::Debug for ErrorDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ErrorDetails");
        d.field("message", &self.message);
        for (name, value) in [
            ("code", &self.code),
            ("request_id", &self.request_id),
            ("key", &self.key),
            ("endpoint", &self.endpoint),
        ] {
            if let Some(v) = value {
                d.field(name, v);
            }
        }
        if let Some(status) = self.status {
            d.field("status", &status);
        }
        if let Some(source) = &self.source {
            d.field("source", &source.to_string());
        }
        d.finish()
    }
}

/// Every error s3keep returns. Match on the variant; read details with the accessors.
///
/// The variants are those of §6. [`Error::S3`] covers S3 errors none of the others
/// describe (its `code` says which).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// The bucket does not exist (S3 `NoSuchBucket`).
    NoSuchBucket(ErrorDetails),
    /// The object or backup does not exist (S3 `NoSuchKey`, `NoSuchUpload`, 404).
    NotFound(ErrorDetails),
    /// `save` found a `status.json` for this id already; nothing was overwritten.
    BackupAlreadyExists(ErrorDetails),
    /// Restore (or another operation) needs a COMPLETED backup; `code` holds the status.
    BackupNotCompleted(ErrorDetails),
    /// The credentials are valid but lack a permission (S3 `AccessDenied`, 403).
    AccessDenied(ErrorDetails),
    /// Wrong access key or secret (`InvalidAccessKeyId`, `SignatureDoesNotMatch`).
    InvalidCredentials(ErrorDetails),
    /// The client clock differs too much from the server's (`RequestTimeTooSkewed`).
    ClockSkew(ErrorDetails),
    /// The store kept asking to slow down (`SlowDown`, 503, 429) after every retry.
    Throttled(ErrorDetails),
    /// The endpoint could not be reached (connection refused, reset, DNS), after retries.
    Network(ErrorDetails),
    /// A request or the whole retry budget ran out of time.
    Timeout(ErrorDetails),
    /// Bad input, rejected before any request was sent.
    InvalidInput(ErrorDetails),
    /// A checksum did not match: the data was corrupted in transit or at rest.
    Integrity(ErrorDetails),
    /// A precondition failed (412) or a concurrent change conflicted (409).
    Conflict(ErrorDetails),
    /// A local file could not be read or written.
    Io(ErrorDetails),
    /// The operation was cancelled by the caller (Ctrl-C, `AbortSignal`).
    Cancelled(ErrorDetails),
    /// The store answered with a redirect (`301 PermanentRedirect`, `307 TemporaryRedirect`,
    /// any 3xx but 304) to another endpoint or region. Redirects are never followed: the
    /// request would carry the credentials' session token and the data to another host.
    Redirect(ErrorDetails),
    /// Any other error answered by the store; `code` names it.
    S3(ErrorDetails),
}

/// Applies `$body` to the details of whichever variant `$error` is.
macro_rules! for_each_variant {
    ($error:expr, $d:ident => $body:expr) => {
        match $error {
            Error::NoSuchBucket($d)
            | Error::NotFound($d)
            | Error::BackupAlreadyExists($d)
            | Error::BackupNotCompleted($d)
            | Error::AccessDenied($d)
            | Error::InvalidCredentials($d)
            | Error::ClockSkew($d)
            | Error::Throttled($d)
            | Error::Network($d)
            | Error::Timeout($d)
            | Error::InvalidInput($d)
            | Error::Integrity($d)
            | Error::Conflict($d)
            | Error::Io($d)
            | Error::Cancelled($d)
            | Error::Redirect($d)
            | Error::S3($d) => $body,
        }
    };
}

impl Error {
    /// The details of any variant.
    pub fn details(&self) -> &ErrorDetails {
        for_each_variant!(self, d => d)
    }

    pub(crate) fn details_mut(&mut self) -> &mut ErrorDetails {
        for_each_variant!(self, d => d)
    }

    /// The variant's name, as the bindings name their exception classes (`NotFound`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::NoSuchBucket(_) => "NoSuchBucket",
            Error::NotFound(_) => "NotFound",
            Error::BackupAlreadyExists(_) => "BackupAlreadyExists",
            Error::BackupNotCompleted(_) => "BackupNotCompleted",
            Error::AccessDenied(_) => "AccessDenied",
            Error::InvalidCredentials(_) => "InvalidCredentials",
            Error::ClockSkew(_) => "ClockSkew",
            Error::Throttled(_) => "Throttled",
            Error::Network(_) => "Network",
            Error::Timeout(_) => "Timeout",
            Error::InvalidInput(_) => "InvalidInput",
            Error::Integrity(_) => "Integrity",
            Error::Conflict(_) => "Conflict",
            Error::Io(_) => "Io",
            Error::Cancelled(_) => "Cancelled",
            Error::Redirect(_) => "Redirect",
            Error::S3(_) => "S3",
        }
    }

    /// The S3 error code, if the store sent one.
    pub fn code(&self) -> Option<&str> {
        self.details().code.as_deref()
    }

    /// The HTTP status of the failing response, if one arrived.
    pub fn status(&self) -> Option<u16> {
        self.details().status
    }

    /// The store's request id of the failing response.
    pub fn request_id(&self) -> Option<&str> {
        self.details().request_id.as_deref()
    }

    /// The one line of `Display` without its leading `Kind: `, for the faces whose exception
    /// class already names the kind.
    pub fn message_line(&self) -> String {
        let text = self.to_string();
        text.strip_prefix(&format!("{}: ", self.kind()))
            .unwrap_or(&text)
            .to_string()
    }

    /// The object key or backup id concerned.
    pub fn key(&self) -> Option<&str> {
        self.details().key.as_deref()
    }

    /// What the user should do about it (one sentence).
    pub fn hint(&self) -> &'static str {
        match self {
            Error::NoSuchBucket(_) => "create the bucket first, or check the bucket name and endpoint",
            Error::NotFound(_) => "check the backup id or key; `list` shows what exists",
            Error::BackupAlreadyExists(_) => "choose a new checkpoint id; an existing backup is never overwritten",
            Error::BackupNotCompleted(_) => "only COMPLETED backups can be restored; pick another backup with `list`",
            Error::AccessDenied(_) => {
                "grant the missing permission to these credentials (run `s3keep doctor` to see which)"
            }
            Error::InvalidCredentials(_) => {
                "check the access key id and the secret key, and that the system clock is right"
            }
            Error::ClockSkew(_) => "set the system clock right (enable NTP); requests are signed with the current time",
            Error::Throttled(_) => "the store asks to slow down: lower the concurrency or retry later",
            Error::Network(_) => "check the endpoint URL and that the store is reachable from here",
            Error::Timeout(_) => "the store is slow or unreachable: check the network or raise the timeout",
            Error::InvalidInput(_) => "fix the input; nothing was sent",
            Error::Integrity(_) => "the data was corrupted in transit or in the store; retry, then verify the backup",
            Error::Conflict(d) if d.code.as_deref() == Some("ObjectLocked") => {
                "wait until the date named; in GOVERNANCE mode a principal allowed s3:BypassGovernanceRetention can lift the lock"
            }
            Error::Conflict(_) => "another writer changed the object at the same time; check its status and retry",
            Error::Io(_) => "check the local path, its permissions and free disk space",
            Error::Cancelled(_) => "the operation was stopped on request; run it again to finish",
            Error::S3(d) if d.code.as_deref() == Some(crate::backup::CONDITIONAL_WRITES_IGNORED) => {
                "use a store that honours If-None-Match and If-Match, or set single_writer if only one process writes here"
            }
            Error::Redirect(_) => {
                "set the endpoint (and region) to the one the store names; redirects are not followed, so that credentials and data never go to another host"
            }
            Error::S3(_) => "see the S3 error code in the store's documentation",
        }
    }

    /// Whether retrying the same request may succeed (§6's retried cases).
    pub fn is_temporary(&self) -> bool {
        matches!(self, Error::Throttled(_) | Error::Network(_) | Error::Timeout(_))
            || matches!(self.code(), Some("InternalError" | "RequestTimeout" | "SlowDown"))
            || matches!(self.status(), Some(500 | 502 | 503 | 504 | 429))
    }

    /// Sets the key concerned, returning the error.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.details_mut().key = Some(key.into());
        self
    }

    /// An [`Error::InvalidInput`] with this message.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Error::InvalidInput(ErrorDetails::message(message))
    }

    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        let path = crate::escape::shown_path(path.as_ref());
        Error::Io(ErrorDetails {
            message: format!("{path}: {source}"),
            key: Some(path),
            source: Some(Arc::new(source)),
            ..ErrorDetails::default()
        })
    }

    /// An [`Error::Integrity`] for `key`.
    pub fn integrity(key: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Integrity(ErrorDetails::message(message).with_key(key))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names in messages and keys come from outside (file names, metadata.json, server
        // text): whatever built the message, no raw control character is printed, and a key
        // the message already shows (raw or escaped, quoted or not) is not repeated.
        let d = self.details();
        let message = escape_controls(&d.message);
        write!(f, "{}: {message}", self.kind())?;
        let mut extra = Vec::new();
        if let Some(code) = &d.code {
            extra.push(format!("S3 code {code}"));
        }
        if let Some(status) = d.status {
            extra.push(format!("HTTP {status}"));
        }
        if let Some(key) = &d.key {
            let shown = escape_controls(key);
            let quoted = format!("{key:?}");
            if !message.contains(shown.as_ref()) && !message.contains(&quoted[1..quoted.len() - 1]) {
                extra.push(format!("key {shown}"));
            }
        }
        if let Some(endpoint) = &d.endpoint {
            if !d.message.contains(endpoint.as_str()) {
                extra.push(format!("endpoint {endpoint}"));
            }
        }
        if let Some(id) = &d.request_id {
            extra.push(format!("request id {}", escape_controls(id)));
        }
        if !extra.is_empty() {
            write!(f, " ({})", extra.join(", "))?;
        }
        write!(f, "; {}", self.hint())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.details()
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The result type of every fallible s3keep call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_code_status_key_and_hint() {
        let err = Error::InvalidCredentials(ErrorDetails {
            code: Some("SignatureDoesNotMatch".into()),
            status: Some(403),
            request_id: Some("R1".into()),
            key: Some("a/b".into()),
            message: "the request signature does not match".into(),
            ..ErrorDetails::default()
        });
        let text = err.to_string();
        for part in [
            "InvalidCredentials",
            "SignatureDoesNotMatch",
            "HTTP 403",
            "key a/b",
            "R1",
            "clock",
        ] {
            assert!(text.contains(part), "{text:?} lacks {part:?}");
        }
        assert_eq!(err.code(), Some("SignatureDoesNotMatch"));
        assert_eq!(err.status(), Some(403));
        assert!(!err.is_temporary());
    }

    #[test]
    fn a_locked_delete_hints_at_the_lock_not_at_another_writer() {
        let locked = Error::Conflict(ErrorDetails {
            code: Some("ObjectLocked".into()),
            ..ErrorDetails::message("backup 1/1/0 is locked by Object Lock until 2030-01-01T00:00:00Z")
        });
        assert!(locked.hint().contains("wait until the date"), "{}", locked.hint());
        let race = Error::Conflict(ErrorDetails::message("status.json changed"));
        assert!(race.hint().contains("another writer"), "{}", race.hint());
    }

    #[test]
    fn names_are_shown_escaped_once_never_raw() {
        let name = "evil\u{1b}[2Jname\nforged line";
        let quoted = Error::invalid_input(format!("file name {name:?} is bad")).with_key(name);
        let raw = Error::Io(ErrorDetails::message(format!("{name} changed size")).with_key(name));
        let unrelated = Error::integrity(name, "checksum mismatch");
        for err in [quoted, raw, unrelated] {
            let text = err.to_string();
            assert!(!text.chars().any(char::is_control), "{text:?}");
            assert_eq!(text.matches("evil").count(), 1, "the name is shown once: {text:?}");
        }
    }

    #[test]
    fn throttling_and_server_errors_are_temporary() {
        assert!(Error::Throttled(ErrorDetails::message("x")).is_temporary());
        let internal = Error::S3(ErrorDetails {
            code: Some("InternalError".into()),
            status: Some(500),
            ..ErrorDetails::default()
        });
        assert!(internal.is_temporary());
        assert!(!Error::Conflict(ErrorDetails::message("412")).is_temporary());
    }
}
