//! Configuration types (§2). They are made from strings — options, the `s3://` URL,
//! the environment, the shared credentials profile — by [`crate::options`].
//!
//! Secrets live in [`Secret`], whose `Debug` and `Display` print `***`.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::options::{ConfigKey, Source};
use crate::redact::redact_url;

/// A secret string (secret access key, session token). Prints as `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for signing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// An access key pair, with an optional session token (temporary credentials).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The access key id (not secret; shown in `Debug`).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: Secret,
    /// The session token of temporary credentials.
    pub session_token: Option<Secret>,
}

impl Credentials {
    /// Credentials from an access key id and secret.
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: Secret::new(secret_access_key),
            session_token: None,
        }
    }
}

/// How the bucket appears in request URLs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Addressing {
    /// Path-style with a custom endpoint, virtual-hosted for AWS (§2).
    #[default]
    Auto,
    /// `https://endpoint/bucket/key` (MinIO without `MINIO_DOMAIN`, most S3-compatible stores).
    Path,
    /// `https://bucket.endpoint/key` (AWS's default).
    VirtualHosted,
}

/// Which checksum each PutObject/UploadPart carries for the server to verify (§6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ChecksumMode {
    /// `x-amz-checksum-crc32c` (AWS S3, MinIO, R2, and most current stores).
    #[default]
    Crc32c,
    /// `Content-MD5`, for stores without the flexible checksums of 2022.
    ContentMd5,
}

/// Retry policy: exponential backoff with full jitter (§6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryConfig {
    /// Attempts per request, the first included (default 5). 1 disables retries.
    pub max_attempts: u32,
    /// Total time budget per request, retries and their sleeps included (default 3 min:
    /// room for two retries after attempts that each waited the whole 60 s read timeout,
    /// as a request in flight to a node that crashed does).
    pub max_elapsed: Duration,
    /// The first backoff's upper bound (default 100 ms); doubles each retry.
    pub base_delay: Duration,
    /// The cap of one backoff (default 10 s).
    pub max_delay: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            max_elapsed: Duration::from_secs(180),
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
        }
    }
}

/// What the S3 client needs: where, as whom, and how to send requests.
///
/// `Debug` shows the endpoint through [`redact_url`] and the credentials without secrets.
#[derive(Clone)]
pub struct ClientConfig {
    /// The bucket name.
    pub bucket: String,
    /// `http(s)://host[:port]`; `None` means AWS's regional endpoint.
    pub endpoint: Option<String>,
    /// Signing region (default `us-east-1`).
    pub region: String,
    /// Credentials; `None` sends unsigned requests (public buckets only).
    pub credentials: Option<Credentials>,
    /// Path-style or virtual-hosted URLs.
    pub addressing: Addressing,
    /// Timeout to establish a connection (default 10 s; native only).
    pub connect_timeout: Duration,
    /// Timeout of one request attempt, body included (default 300 s).
    pub request_timeout: Duration,
    /// The longest wait for the next bytes of an answer: its head, once a request body of at
    /// most 1 MiB is sent, then each chunk of its body (default 60 s, botocore's
    /// `read_timeout`). A server that stalls longer gives [`Error::Timeout`], retried like
    /// any timeout. Answers that trickle in faster are bounded by `request_timeout` instead.
    pub read_timeout: Duration,
    /// Retry policy.
    pub retry: RetryConfig,
    /// Checksum header of uploads.
    pub checksum: ChecksumMode,
    /// Sign the SHA-256 of every payload instead of `UNSIGNED-PAYLOAD` (costs ~0.5 core-s/GB).
    pub signed_payload: bool,
    /// Lower the requests in flight when the store throttles (503 SlowDown, 429) and raise
    /// them back slowly (AIMD, §14; default true). Off, only retries answer throttling.
    pub adaptive_concurrency: bool,
    /// A PEM file of the certificate authorities to trust for HTTPS, instead of the
    /// system's (`AWS_CA_BUNDLE`, as the AWS CLI and SDKs read it; for a store behind a
    /// private CA or with a self-signed certificate). Native only: in wasm the host's
    /// `fetch` decides.
    pub ca_bundle: Option<std::path::PathBuf>,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Destructured, so that a new field cannot be left out (or shown unredacted) unnoticed.
        let ClientConfig {
            bucket,
            endpoint,
            region,
            credentials,
            addressing,
            connect_timeout,
            request_timeout,
            read_timeout,
            retry,
            checksum,
            signed_payload,
            adaptive_concurrency,
            ca_bundle,
        } = self;
        f.debug_struct("ClientConfig")
            .field("bucket", bucket)
            .field("endpoint", &endpoint.as_deref().map(redact_url))
            .field("region", region)
            .field("credentials", credentials)
            .field("addressing", addressing)
            .field("connect_timeout", connect_timeout)
            .field("request_timeout", request_timeout)
            .field("read_timeout", read_timeout)
            .field("retry", retry)
            .field("checksum", checksum)
            .field("signed_payload", signed_payload)
            .field("adaptive_concurrency", adaptive_concurrency)
            .field("ca_bundle", ca_bundle)
            .finish()
    }
}

impl ClientConfig {
    /// A configuration for `bucket` with every default of §2 and no credentials.
    pub fn new(bucket: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            endpoint: None,
            region: "us-east-1".into(),
            credentials: None,
            addressing: Addressing::Auto,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(300),
            read_timeout: Duration::from_secs(60),
            retry: RetryConfig::default(),
            checksum: ChecksumMode::Crc32c,
            signed_payload: false,
            adaptive_concurrency: true,
            ca_bundle: None,
        }
    }

    /// Checks the bucket name and endpoint before any request is sent.
    ///
    /// Messages name the endpoint only in its [`redact_url`] form: no userinfo, no query.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty or malformed bucket name, or an endpoint that is
    /// not `http(s)://host[:port][/path]`: one that carries credentials (`user:password@`),
    /// a query string or a fragment is refused.
    pub fn validate(&self) -> Result<()> {
        let b = &self.bucket;
        let ok = (3..=63).contains(&b.len())
            && b.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"-._".contains(&c))
            && b.as_bytes()[0].is_ascii_alphanumeric();
        if !ok {
            // A bucket typed as `AK:SECRET@host` (a mistaken URL) is not echoed (`shown`).
            return Err(Error::invalid_input(format!(
                "bucket: {} is not a bucket name; give 3 to 63 characters of a-z, 0-9, '-', '.', '_', starting with a letter or digit",
                crate::options::values::shown(b)
            )));
        }
        if let Some(endpoint) = &self.endpoint {
            crate::options::values::check_endpoint(endpoint)?;
        }
        Ok(())
    }
}

/// Everything a [`BackupStore`](crate::BackupStore) needs: the client, the prefix, transfers.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// The S3 client's configuration.
    pub client: ClientConfig,
    /// Key prefix of every backup, normalised by [`normalize_prefix`].
    pub prefix: String,
    /// Create the bucket when it does not exist (default false).
    pub create_bucket: bool,
    /// Requests in flight at once per operation (files and parts together; default 8).
    pub concurrency: usize,
    /// Files larger than this use multipart upload (bytes; default 16 MiB).
    pub multipart_threshold: u64,
    /// Requested part size (bytes; default 16 MiB), raised to fit 10,000 parts (§5).
    pub part_size: u64,
    /// An IN_PROGRESS backup older than this is stale: deletable and prunable (default 24 h);
    /// also the default age of `cleanup_uploads`.
    pub stale_after: Duration,
    /// The storage format of a new store: 1 (one object per file, §3) or 2 (packs,
    /// §11). `None` (the default) makes a new store format 2 and keeps an existing
    /// store's format; a value that contradicts an existing store is refused by `save`.
    pub format: Option<u8>,
    /// Only one process ever writes under this prefix (default false). Then save does not
    /// require a store that honours conditional writes (§14: some S3-compatible stores
    /// ignore `If-None-Match`), and checks that the backup does not exist with a read first.
    pub single_writer: bool,
    /// The shared-credentials profile the credentials came from, if they did.
    pub profile: Option<String>,
    /// How a local tree is read when saving a directory (option keys `follow_symlinks`,
    /// `on_file_error`; native only): [`crate::backup::FileSet::scan`].
    pub scan: crate::backup::ScanOptions,
    /// Client-side encryption of a format 2 store (§12; options `password`,
    /// `password_file`, `recipients`, `identity`, `identity_file`, `mac_key`).
    pub encryption: EncryptionOptions,
    /// Object Lock of a new format 2 store (§12; options `object_lock`, `lock_policy`).
    pub object_lock: ObjectLockOptions,
    /// Where the values set by [`StoreConfig::builder`] came from (empty otherwise).
    pub sources: BTreeMap<ConfigKey, Source>,
    /// The credentials of the *other* bucket of an S3-to-S3 transfer (§13: the source of a
    /// save, the target of a restore), never taken for the store itself.
    pub remote: RemoteCredentials,
}

/// Where the credentials of the other bucket of an S3-to-S3 transfer come from (§13,
/// docs/OPTIONS.md "S3 sources and targets"). Read by [`StoreConfig::builder`]'s `with_env`
/// from `S3KEEP_SOURCE_ACCESS_KEY_ID`, `S3KEEP_SOURCE_SECRET_ACCESS_KEY`,
/// `S3KEEP_SOURCE_SESSION_TOKEN` and `S3KEEP_SOURCE_PROFILE`; a `profile` in the bucket's
/// own URL wins over all of them. Without any, the store's credentials are used only for a
/// bucket on the store's own endpoint; elsewhere requests go unsigned.
#[derive(Clone, Debug, Default)]
pub struct RemoteCredentials {
    /// An access key pair given by the `S3KEEP_SOURCE_*` variables.
    pub credentials: Option<Credentials>,
    /// A profile of the shared credentials file (`S3KEEP_SOURCE_PROFILE`).
    pub profile: Option<String>,
    /// The shared credentials file (native targets), as the store's builder found it.
    pub credentials_file: Option<std::path::PathBuf>,
}

/// Object Lock of a new store (§12; docs/FORMAT.md, "Object Lock"): both or neither. A
/// store records them in its descriptor when it is created; afterwards they must agree
/// with it (or be absent).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectLockOptions {
    /// GOVERNANCE or COMPLIANCE.
    pub mode: Option<crate::s3::LockMode>,
    /// The retention policy whose minimum age every object is locked for.
    pub policy: Option<crate::retention::RetentionPolicy>,
}

impl ObjectLockOptions {
    /// Whether either option is given.
    pub fn any(&self) -> bool {
        self.mode.is_some() || self.policy.is_some()
    }
}

/// The error of encryption options with `format` 1.
pub(crate) const FORMAT1_ENCRYPTED: &str = "encryption needs format 2: format 1 stores each file as one object named by its file name; drop format=1 (or the encryption options)";

/// The keys of an encrypted store (§12; docs/FORMAT.md, "Encryption"). Empty by default:
/// a new store is then not encrypted. `Debug` never shows a secret.
///
/// - To create an encrypted store or read one: `password` (or `password_file`), or
///   `identity` (or `identity_file`), an age X25519 identity whose recipient was among
///   the store's `recipients`.
/// - To save into one without being able to read it (a write-only host): `mac_key` (the
///   key of chunk ids, from the store's key object) and nothing else; `recipients` adds
///   recipients to what this host writes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncryptionOptions {
    /// The passphrase that unwraps the store's key object.
    pub password: Option<Secret>,
    /// A file whose first line is the passphrase (native targets).
    pub password_file: Option<std::path::PathBuf>,
    /// Extra age recipients (`age1...`) every object is also encrypted to.
    pub recipients: Vec<String>,
    /// age identities (`AGE-SECRET-KEY-1...`, one a line; `#` comments).
    pub identity: Option<Secret>,
    /// A file of age identities, as `age -i` reads (native targets).
    pub identity_file: Option<std::path::PathBuf>,
    /// The 64-hex-digit key of chunk ids, for write-only hosts.
    pub mac_key: Option<Secret>,
}

impl EncryptionOptions {
    /// Whether any key is given (a new store is then created encrypted).
    pub fn any(&self) -> bool {
        self.password.is_some()
            || self.password_file.is_some()
            || !self.recipients.is_empty()
            || self.identity.is_some()
            || self.identity_file.is_some()
            || self.mac_key.is_some()
    }
}

impl StoreConfig {
    /// Defaults for `bucket`, no prefix, no credentials.
    pub fn new(bucket: impl Into<String>) -> Self {
        Self {
            client: ClientConfig::new(bucket),
            prefix: String::new(),
            create_bucket: false,
            concurrency: 8,
            multipart_threshold: 16 * 1024 * 1024,
            part_size: 16 * 1024 * 1024,
            stale_after: crate::retention::DEFAULT_STALE_AFTER,
            format: None,
            single_writer: false,
            profile: None,
            scan: crate::backup::ScanOptions::default(),
            encryption: EncryptionOptions::default(),
            object_lock: ObjectLockOptions::default(),
            sources: BTreeMap::new(),
            remote: RemoteCredentials::default(),
        }
    }

    /// Sets and normalises the prefix.
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = normalize_prefix(prefix);
        self
    }
}

/// Normalises a key prefix (§2): no leading `/`, exactly one trailing `/` when non-empty.
pub fn normalize_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("{trimmed}/")
    }
}

/// Reads one profile of an AWS shared credentials file (INI).
#[cfg_attr(target_arch = "wasm32", allow(dead_code))] // no files to read in wasm32
pub(crate) fn parse_credentials_file(text: &str, profile: &str) -> Option<Credentials> {
    let mut in_profile = false;
    let (mut id, mut secret, mut token) = (None, None, None);
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') && line.ends_with(']') {
            in_profile = line[1..line.len() - 1].trim() == profile;
        } else if in_profile {
            if let Some((k, v)) = line.split_once('=') {
                let v = v.trim().to_string();
                match k.trim() {
                    "aws_access_key_id" => id = Some(v),
                    "aws_secret_access_key" => secret = Some(v),
                    "aws_session_token" => token = Some(v),
                    _ => {}
                }
            }
        }
    }
    Some(Credentials {
        access_key_id: id?,
        secret_access_key: Secret::new(secret?),
        session_token: token.map(Secret::new),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_is_normalised() {
        assert_eq!(normalize_prefix(""), "");
        assert_eq!(normalize_prefix("/"), "");
        assert_eq!(normalize_prefix("/a/b"), "a/b/");
        assert_eq!(normalize_prefix("a/b//"), "a/b/");
    }

    #[test]
    fn secrets_never_print() {
        let mut c = ClientConfig::new("bk");
        c.credentials = Some(Credentials {
            access_key_id: "AKID".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI"),
            session_token: Some(Secret::new("TOKEN123")),
        });
        let text = format!("{c:?}");
        assert!(text.contains("AKID"));
        assert!(!text.contains("wJalrXUtnFEMI") && !text.contains("TOKEN123"), "{text}");
    }

    #[test]
    fn credentials_file_profile_is_read() {
        let text = "[default]\naws_access_key_id = A\naws_secret_access_key = B\n[other]\naws_access_key_id=C\naws_secret_access_key=D\naws_session_token=E\n";
        let c = parse_credentials_file(text, "other").unwrap();
        assert_eq!(c.access_key_id, "C");
        assert_eq!(c.secret_access_key.expose(), "D");
        assert_eq!(c.session_token.unwrap().expose(), "E");
        assert!(parse_credentials_file(text, "missing").is_none());
    }

    /// Fails when `err`'s message, `Display` or `Debug` shows any part of a secret.
    #[track_caller]
    fn assert_hides_secrets(err: &Error) {
        let text = format!("{err} {err:?}");
        for secret in ["SECRET", "AK:", "SIG", "TOKEN"] {
            assert!(!text.contains(secret), "{secret} shown in {text}");
        }
    }

    #[test]
    fn s3_url_errors_name_the_wrong_part_without_echoing_secrets() {
        for (url, says) in [
            ("https://AK:SECRET@host/b", "the scheme is not s3"),
            ("s3://AK:SECRET@host/b", "credentials do not belong"),
            (
                "s3://bk?endpoint=http://h:9000&colour=AK:SECRET",
                "unknown option \"colour\"",
            ),
            ("s3://bk?http://AK:SECRET@host", "unknown option http://***@host"),
            ("s3://bk?endpoint=http://h&addressing=sideways", "addressing"),
            ("s3://AK:SECRET@host", "credentials do not belong"),
        ] {
            let err = StoreConfig::builder().with_url(url).build().unwrap_err();
            assert!(matches!(err, Error::InvalidInput(_)), "{url}: {err}");
            assert!(err.to_string().contains(says), "{url}: {err}");
            assert_hides_secrets(&err);
        }
    }

    #[test]
    fn endpoint_errors_never_echo_userinfo_or_query() {
        for (endpoint, says) in [
            ("ftp://AK:SECRET@host", "the scheme is not http or https"),
            ("http://AK:SECRET@host:9000", "must not contain credentials"),
            ("http://AK:SECRET@host:99999", "is not a URL (invalid port number)"),
            ("http://AK:SECRET@[::1", "is not a URL (invalid IPv6 address)"),
            ("AK:SECRET@host", "the scheme is not http or https"),
            (
                "http://h:9000/?X-Amz-Signature=SIG&X-Amz-Credential=AK%3A&X-Amz-Security-Token=TOKEN",
                "must not carry a query string",
            ),
            ("http://h:9000/#SECRET", "must not carry a query string or fragment"),
        ] {
            let mut c = ClientConfig::new("good-bucket");
            c.endpoint = Some(endpoint.into());
            let err = c.validate().unwrap_err();
            assert!(err.to_string().contains(says), "{endpoint}: {err}");
            assert_hides_secrets(&err);
            // The same endpoint inside an s3:// URL: refused by the builder the same way.
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("endpoint", endpoint)
                .finish();
            let err = StoreConfig::builder()
                .with_url(&format!("s3://good-bucket?{query}"))
                .build()
                .unwrap_err();
            assert_hides_secrets(&err);
        }
    }

    #[test]
    fn debug_of_a_config_shows_the_endpoint_without_userinfo_or_query() {
        let mut c = StoreConfig::new("bk");
        c.client.endpoint = Some("http://AK:SECRET@h:9000/?X-Amz-Signature=SIG".into());
        let text = format!("{c:?}");
        assert!(text.contains("http://***@h:9000?***"), "{text}");
        assert!(!text.contains("SECRET") && !text.contains("SIG"), "{text}");
    }

    #[test]
    fn bad_bucket_and_endpoint_are_rejected() {
        assert!(ClientConfig::new("ab").validate().is_err());
        assert!(ClientConfig::new("Upper").validate().is_err());
        let mut c = ClientConfig::new("good-bucket");
        c.endpoint = Some("ftp://x".into());
        assert!(c.validate().is_err());
        c.endpoint = Some("http://user:pw@host:9000".into());
        assert!(c.validate().is_err());
        c.endpoint = Some("http://127.0.0.1:9000".into());
        assert!(c.validate().is_ok());
    }
}
