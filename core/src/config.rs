//! Configuration (SPEC §2): explicit values, the AWS environment variables, the shared
//! credentials profile (native only), and the `s3://bucket/prefix?endpoint=...` URL form.
//!
//! Secrets live in [`Secret`], whose `Debug` and `Display` print `***`.

use std::fmt;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::redact::{self, redact_url};

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
    /// Path-style with a custom endpoint, virtual-hosted for AWS (SPEC §2).
    #[default]
    Auto,
    /// `https://endpoint/bucket/key` (MinIO without `MINIO_DOMAIN`, most S3-compatible stores).
    Path,
    /// `https://bucket.endpoint/key` (AWS's default).
    VirtualHosted,
}

/// Which checksum each PutObject/UploadPart carries for the server to verify (SPEC §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ChecksumMode {
    /// `x-amz-checksum-crc32c` (AWS S3, MinIO, R2, and most current stores).
    #[default]
    Crc32c,
    /// `Content-MD5`, for stores without the flexible checksums of 2022.
    ContentMd5,
}

/// Retry policy: exponential backoff with full jitter (SPEC §6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryConfig {
    /// Attempts per request, the first included (default 5). 1 disables retries.
    pub max_attempts: u32,
    /// Total time budget per request, retries and their sleeps included (default 60 s).
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
            max_elapsed: Duration::from_secs(60),
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
    /// them back slowly (AIMD, SPEC §14; default true). Off, only retries answer throttling.
    pub adaptive_concurrency: bool,
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
            .finish()
    }
}

impl ClientConfig {
    /// A configuration for `bucket` with every default of SPEC §2 and no credentials.
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
            // A bucket typed as `AK:SECRET@host` (a mistaken URL) is not echoed.
            let name =
                redact::shown_name(b).map_or_else(|| "the bucket name".to_string(), |n| format!("bucket name {n}"));
            return Err(Error::invalid_input(format!(
                "{name} is not valid: 3 to 63 characters of a-z, 0-9, '-', '.', '_', starting with a letter or digit"
            )));
        }
        if let Some(endpoint) = &self.endpoint {
            let url = url::Url::parse(endpoint).map_err(|e| {
                Error::invalid_input(format!(
                    "the endpoint is not a URL ({e}): it must look like http(s)://host[:port]"
                ))
            })?;
            let shown = redact_url(endpoint);
            if !url.username().is_empty() || url.password().is_some() {
                return Err(Error::invalid_input(format!(
                    "the endpoint {shown} must not contain credentials (user:password@); pass them as access key and secret"
                )));
            }
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(Error::invalid_input(format!(
                    "the endpoint {shown} must look like http(s)://host[:port]"
                )));
            }
            if url.query().is_some() || url.fragment().is_some() {
                return Err(Error::invalid_input(format!(
                    "the endpoint {shown} must not carry a query string or fragment: it must look like http(s)://host[:port]"
                )));
            }
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
    /// Requested part size (bytes; default 16 MiB), raised to fit 10,000 parts (SPEC §5).
    pub part_size: u64,
    /// An IN_PROGRESS backup older than this is stale: deletable and prunable (default 24 h).
    pub stale_after: Duration,
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
            stale_after: Duration::from_secs(24 * 3600),
        }
    }

    /// Sets and normalises the prefix.
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = normalize_prefix(prefix);
        self
    }

    /// Fills what is unset from the environment (SPEC §2): `AWS_REGION`/`AWS_DEFAULT_REGION`,
    /// `AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/
    /// `AWS_SESSION_TOKEN`, then the shared credentials file (`AWS_PROFILE`,
    /// `AWS_SHARED_CREDENTIALS_FILE`, `~/.aws/credentials`) on native targets.
    pub fn fill_from_env(mut self, explicit_region: bool) -> Self {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let c = &mut self.client;
        if !explicit_region {
            if let Some(region) = env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")) {
                c.region = region;
            }
        }
        if c.endpoint.is_none() {
            c.endpoint = env("AWS_ENDPOINT_URL_S3").or_else(|| env("AWS_ENDPOINT_URL"));
        }
        if c.credentials.is_none() {
            c.credentials = match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
                (Some(id), Some(secret)) => Some(Credentials {
                    access_key_id: id,
                    secret_access_key: Secret::new(secret),
                    session_token: env("AWS_SESSION_TOKEN").map(Secret::new),
                }),
                _ => profile_credentials(),
            };
        }
        self
    }

    /// Parses `s3://BUCKET[/PREFIX][?endpoint=URL&region=R&addressing=path|virtual]`.
    ///
    /// Messages name the part that is wrong, never the whole URL (its endpoint may carry
    /// credentials); the endpoint itself is checked by [`ClientConfig::validate`].
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the URL is not of that form, carries credentials
    /// (`s3://user:password@...`) or names an unknown option.
    pub fn from_url(url: &str) -> Result<Self> {
        let bad = |why: &str| {
            Error::invalid_input(format!(
                "the store URL must look like s3://BUCKET[/PREFIX][?endpoint=URL&region=R]: {why}"
            ))
        };
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| bad(&format!("it must start with s3:// (got {})", redact_url(url))))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
        if bucket.is_empty() {
            return Err(bad("the bucket is missing"));
        }
        if bucket.contains('@') {
            return Err(bad(
                "credentials (user:password@) do not belong in it; pass them as access key and secret",
            ));
        }
        let mut config = StoreConfig::new(bucket).with_prefix(prefix);
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "endpoint" => config.client.endpoint = Some(v.into_owned()),
                "region" => config.client.region = v.into_owned(),
                "addressing" => {
                    config.client.addressing = match v.as_ref() {
                        "path" => Addressing::Path,
                        "virtual" | "virtual-hosted" => Addressing::VirtualHosted,
                        _ => return Err(bad("addressing must be path or virtual")),
                    }
                }
                other => {
                    let name = redact::shown_name(other).unwrap_or_else(|| "(not shown)".into());
                    return Err(bad(&format!("unknown option {name}")));
                }
            }
        }
        Ok(config)
    }
}

/// Normalises a key prefix (SPEC §2): no leading `/`, exactly one trailing `/` when non-empty.
pub fn normalize_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("{trimmed}/")
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn profile_credentials() -> Option<Credentials> {
    let path = std::env::var_os("AWS_SHARED_CREDENTIALS_FILE")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".aws/credentials")))?;
    let text = std::fs::read_to_string(path).ok()?;
    let profile = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".into());
    parse_credentials_file(&text, &profile)
}

#[cfg(target_arch = "wasm32")]
fn profile_credentials() -> Option<Credentials> {
    None
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
    fn s3_url_gives_bucket_prefix_endpoint_region() {
        let c = StoreConfig::from_url("s3://bk/x/y?endpoint=http://127.0.0.1:9000&region=eu-west-1").unwrap();
        assert_eq!(c.client.bucket, "bk");
        assert_eq!(c.prefix, "x/y/");
        assert_eq!(c.client.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(c.client.region, "eu-west-1");
        assert!(matches!(
            StoreConfig::from_url("http://bk"),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            StoreConfig::from_url("s3://bk?colour=red"),
            Err(Error::InvalidInput(_))
        ));
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
            (
                "https://AK:SECRET@host/b",
                "must start with s3:// (got https://***@host/b)",
            ),
            ("s3://AK:SECRET@host/b", "credentials (user:password@) do not belong"),
            (
                "s3://bk?endpoint=http://h:9000&colour=AK:SECRET",
                "unknown option \"colour\"",
            ),
            ("s3://bk?http://AK:SECRET@host", "unknown option (not shown)"),
            (
                "s3://bk?endpoint=http://h&addressing=SECRET",
                "addressing must be path or virtual",
            ),
        ] {
            let err = StoreConfig::from_url(url).unwrap_err();
            assert!(matches!(err, Error::InvalidInput(_)), "{url}: {err}");
            assert!(err.to_string().contains(says), "{url}: {err}");
            assert_hides_secrets(&err);
        }
    }

    #[test]
    fn endpoint_errors_never_echo_userinfo_or_query() {
        for (endpoint, says) in [
            (
                "ftp://AK:SECRET@host",
                "the endpoint ftp://***@host must not contain credentials",
            ),
            (
                "http://AK:SECRET@host:9000",
                "the endpoint http://***@host:9000 must not contain credentials",
            ),
            (
                "http://AK:SECRET@host:99999",
                "the endpoint is not a URL (invalid port number)",
            ),
            (
                "http://AK:SECRET@[::1",
                "the endpoint is not a URL (invalid IPv6 address)",
            ),
            (
                "AK:SECRET@host",
                "the endpoint <an unparsable URL> must look like http(s)://host[:port]",
            ),
            (
                "http://h:9000/?X-Amz-Signature=SIG&X-Amz-Credential=AK%3A&X-Amz-Security-Token=TOKEN",
                "the endpoint http://h:9000?*** must not carry a query string",
            ),
            ("http://h:9000/#SECRET", "must not carry a query string or fragment"),
        ] {
            let mut c = ClientConfig::new("good-bucket");
            c.endpoint = Some(endpoint.into());
            let err = c.validate().unwrap_err();
            assert!(err.to_string().contains(says), "{endpoint}: {err}");
            assert_hides_secrets(&err);
            // The same endpoint inside an s3:// URL: parsed, then refused by validate.
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("endpoint", endpoint)
                .finish();
            let config = StoreConfig::from_url(&format!("s3://good-bucket?{query}")).unwrap();
            assert_hides_secrets(&config.client.validate().unwrap_err());
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
