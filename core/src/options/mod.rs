//! The option table (§2, §10): every setting a user can give, with its names and the
//! grammar of its value, defined once for the CLI, Python and JS.
//!
//! Modelled on object_store's `AmazonS3ConfigKey`: one enum of keys, each with its aliases;
//! [`ConfigBuilder`] takes `(key, value)` string pairs, an `s3://` URL and an environment,
//! and [`ConfigBuilder::build`] parses every value with one grammar per kind ([`values`])
//! and applies one precedence rule:
//!
//! explicit options > the URL's parts and query > `S3KEEP_*` variables (the specific ones,
//! then the parts of `S3KEEP_URL`) > `AWS_*` variables > the shared credentials profile
//! (native targets) > defaults.
//!
//! `docs/OPTIONS.md` describes the same for users. [`StoreConfig::describe`] reports the
//! effective configuration as a secret-free, serialisable [`ConfigReport`].
//!
//! [`StoreConfig::describe`]: crate::StoreConfig::describe

pub(crate) mod builder;
mod describe;
pub mod values;

use std::fmt;
use std::str::FromStr;

pub use builder::{ConfigBuilder, Source};
pub use describe::ConfigReport;
pub use values::{format_duration, format_size, parse_duration, parse_size};

use crate::error::{Error, Result};

/// One option. `FromStr` accepts every name of [`ConfigKey::names`] and the environment
/// variables of [`ConfigKey::env_names`]; `Display` prints the canonical name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ConfigKey {
    /// `s3://BUCKET[/PREFIX][?key=value&...]`: bucket, prefix and any options at once.
    Url,
    /// The bucket name.
    Bucket,
    /// The key prefix of every backup.
    Prefix,
    /// `http(s)://host[:port]` of an S3-compatible store.
    Endpoint,
    /// The signing region.
    Region,
    /// The access key id.
    AccessKeyId,
    /// The secret access key (a secret: never printed).
    SecretAccessKey,
    /// The session token of temporary credentials (a secret: never printed).
    SessionToken,
    /// The profile of the shared credentials file (native targets).
    Profile,
    /// Path-style or virtual-hosted URLs.
    Addressing,
    /// Create the bucket on first use when it is missing.
    CreateBucket,
    /// Requests in flight at once per operation.
    Concurrency,
    /// Multipart part size.
    PartSize,
    /// Files larger than this are uploaded by multipart.
    MultipartThreshold,
    /// Attempts per request, the first included.
    MaxAttempts,
    /// Time budget of one request, retries and their sleeps included.
    MaxElapsed,
    /// Timeout to establish a connection (native targets).
    ConnectTimeout,
    /// Timeout of one request attempt, body included.
    RequestTimeout,
    /// The longest a server may send nothing while an answer is awaited.
    ReadTimeout,
    /// Checksum header of uploads.
    Checksum,
    /// Sign the SHA-256 of every payload.
    SignedPayload,
    /// Age after which an IN_PROGRESS backup is stale (and the default age of
    /// `cleanup_uploads`).
    StaleAfter,
    /// The storage format of a new store, 1 or 2 (default: 2 for a new store; an existing
    /// store keeps its own).
    Format,
    /// A PEM file of the certificate authorities trusted for HTTPS instead of the system's
    /// (native targets).
    CaBundle,
    /// Follow symbolic links met inside a saved directory (native targets).
    FollowSymlinks,
    /// What a file of a saved directory that cannot be read does: `fail` or `skip`
    /// (native targets).
    OnFileError,
    /// Only one process writes under the prefix: save accepts a store that ignores
    /// conditional writes.
    SingleWriter,
    /// The passphrase of an encrypted store (a secret).
    Password,
    /// A file holding the passphrase (native targets).
    PasswordFile,
    /// Extra age recipients every object is encrypted to.
    Recipients,
    /// age identities that read an encrypted store (a secret).
    Identity,
    /// A file of age identities (native targets).
    IdentityFile,
    /// The key of chunk ids, for write-only hosts (a secret).
    MacKey,
    /// Object Lock mode of a new store: `governance` or `compliance` (§12).
    ObjectLock,
    /// The retention policy whose minimum age a new locked store's objects are locked for.
    LockPolicy,
    /// The access key id of the other bucket of an S3 source or target (§13).
    SourceAccessKeyId,
    /// Its secret access key (a secret: never printed).
    SourceSecretAccessKey,
    /// Its session token (a secret: never printed).
    SourceSessionToken,
    /// The profile of the shared credentials file for it (native targets).
    SourceProfile,
}

/// The grammar of an option's value, which tells a binding how to turn its native values
/// into the string the core parses (a Python number of seconds, a JS number of ms...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValueKind {
    /// Any text (names, URLs).
    Text,
    /// Text that is never printed.
    Secret,
    /// `true` or `false`.
    Bool,
    /// A plain decimal integer.
    Count,
    /// An integer and a unit: `16MiB` ([`parse_size`]).
    Size,
    /// Integers and units: `90s`, `1h30m` ([`parse_duration`]).
    Duration,
    /// One of a few words (`path`, `crc32c`...).
    Choice,
}

/// What the table says of one key.
struct Spec {
    key: ConfigKey,
    /// Canonical (snake_case, the Python keyword), camelCase (JS), kebab-case (CLI).
    names: [&'static str; 3],
    kind: ValueKind,
    /// `S3KEEP_*` first, then the `AWS_*` names, in precedence order.
    env: &'static [&'static str],
    /// The default as the parser reads it ("" when there is none).
    default: &'static str,
    /// One line for `--help` and the docs.
    doc: &'static str,
}

use ConfigKey as K;
use ValueKind as V;

/// The table. Defaults are checked against `StoreConfig::new` by a test (describe.rs).
#[rustfmt::skip]
const TABLE: &[Spec] = &[
    Spec { key: K::Url, names: ["url", "url", "url"], kind: V::Text, env: &["S3KEEP_URL"], default: "",
        doc: "the store as one URL: s3://BUCKET[/PREFIX][?key=value&...] (any option in the query)" },
    Spec { key: K::Bucket, names: ["bucket", "bucket", "bucket"], kind: V::Text, env: &["S3KEEP_BUCKET"], default: "",
        doc: "the bucket (must exist unless create_bucket)" },
    Spec { key: K::Prefix, names: ["prefix", "prefix", "prefix"], kind: V::Text, env: &["S3KEEP_PREFIX"], default: "",
        doc: "key prefix of every backup, normalised to \"\" or \"a/b/\"" },
    Spec { key: K::Endpoint, names: ["endpoint", "endpoint", "endpoint"], kind: V::Text,
        env: &["S3KEEP_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"], default: "",
        doc: "http(s)://host[:port] of an S3-compatible store (default: AWS's regional endpoint)" },
    Spec { key: K::Region, names: ["region", "region", "region"], kind: V::Text,
        env: &["S3KEEP_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"], default: "us-east-1",
        doc: "signing region" },
    Spec { key: K::AccessKeyId, names: ["access_key_id", "accessKeyId", "access-key-id"], kind: V::Text,
        env: &["AWS_ACCESS_KEY_ID"], default: "",
        doc: "access key id (with secret_access_key; else the shared credentials profile)" },
    Spec { key: K::SecretAccessKey, names: ["secret_access_key", "secretAccessKey", "secret-access-key"],
        kind: V::Secret, env: &["AWS_SECRET_ACCESS_KEY"], default: "", doc: "secret access key" },
    Spec { key: K::SessionToken, names: ["session_token", "sessionToken", "session-token"], kind: V::Secret,
        env: &["AWS_SESSION_TOKEN"], default: "", doc: "session token of temporary credentials" },
    Spec { key: K::Profile, names: ["profile", "profile", "profile"], kind: V::Text, env: &["AWS_PROFILE"],
        default: "default", doc: "profile of the shared credentials file (native only)" },
    Spec { key: K::Addressing, names: ["addressing", "addressing", "addressing"], kind: V::Choice,
        env: &["S3KEEP_ADDRESSING"], default: "auto",
        doc: "auto (path-style with a custom endpoint, virtual-hosted on AWS), path or virtual" },
    Spec { key: K::CreateBucket, names: ["create_bucket", "createBucket", "create-bucket"], kind: V::Bool,
        env: &["S3KEEP_CREATE_BUCKET"], default: "false", doc: "create the bucket on first use if it is missing" },
    Spec { key: K::Concurrency, names: ["concurrency", "concurrency", "concurrency"], kind: V::Count,
        env: &["S3KEEP_CONCURRENCY"], default: "8", doc: "requests in flight at once (files and parts together)" },
    Spec { key: K::PartSize, names: ["part_size", "partSize", "part-size"], kind: V::Size,
        env: &["S3KEEP_PART_SIZE"], default: "16MiB",
        doc: "multipart part size, 5MiB to 5GiB (raised to fit 10,000 parts)" },
    Spec { key: K::MultipartThreshold, names: ["multipart_threshold", "multipartThreshold", "multipart-threshold"],
        kind: V::Size, env: &["S3KEEP_MULTIPART_THRESHOLD"], default: "16MiB",
        doc: "files larger than this are uploaded by multipart" },
    Spec { key: K::MaxAttempts, names: ["max_attempts", "maxAttempts", "max-attempts"], kind: V::Count,
        env: &["S3KEEP_MAX_ATTEMPTS"], default: "5", doc: "attempts per request, the first included (1: no retry)" },
    Spec { key: K::MaxElapsed, names: ["max_elapsed", "maxElapsed", "max-elapsed"], kind: V::Duration,
        env: &["S3KEEP_MAX_ELAPSED"], default: "3m", doc: "time budget of one request, retries included" },
    Spec { key: K::ConnectTimeout, names: ["connect_timeout", "connectTimeout", "connect-timeout"],
        kind: V::Duration, env: &["S3KEEP_CONNECT_TIMEOUT"], default: "10s",
        doc: "timeout to establish a connection (native only)" },
    Spec { key: K::RequestTimeout, names: ["request_timeout", "requestTimeout", "request-timeout"],
        kind: V::Duration, env: &["S3KEEP_REQUEST_TIMEOUT"], default: "5m",
        doc: "timeout of one request attempt, body included" },
    Spec { key: K::ReadTimeout, names: ["read_timeout", "readTimeout", "read-timeout"],
        kind: V::Duration, env: &["S3KEEP_READ_TIMEOUT"], default: "1m",
        doc: "the longest a server may send nothing (no head, no next bytes) before the attempt is a retried Timeout" },
    Spec { key: K::Checksum, names: ["checksum", "checksum", "checksum"], kind: V::Choice,
        env: &["S3KEEP_CHECKSUM"], default: "crc32c",
        doc: "checksum of uploads: crc32c, or md5 for stores without flexible checksums" },
    Spec { key: K::SignedPayload, names: ["signed_payload", "signedPayload", "signed-payload"], kind: V::Bool,
        env: &["S3KEEP_SIGNED_PAYLOAD"], default: "false",
        doc: "sign the SHA-256 of every payload instead of UNSIGNED-PAYLOAD (slower)" },
    Spec { key: K::StaleAfter, names: ["stale_after", "staleAfter", "stale-after"], kind: V::Duration,
        env: &["S3KEEP_STALE_AFTER"], default: "1d",
        doc: "an IN_PROGRESS backup older than this is stale; also the default age of cleanup-uploads; format 2 locks go stale after it, at most 30m" },
    Spec { key: K::Format, names: ["format", "format", "format"], kind: V::Count,
        env: &["S3KEEP_FORMAT"], default: "",
        doc: "storage format of a new store: 1 (one object per file) or 2 (packs; the default); must agree with an existing store" },
    Spec { key: K::CaBundle, names: ["ca_bundle", "caBundle", "ca-bundle"], kind: V::Text,
        env: &["S3KEEP_CA_BUNDLE", "AWS_CA_BUNDLE"], default: "",
        doc: "PEM file of the certificate authorities trusted for HTTPS instead of the system's (native only)" },
    Spec { key: K::FollowSymlinks, names: ["follow_symlinks", "followSymlinks", "follow-symlinks"], kind: V::Bool,
        env: &["S3KEEP_FOLLOW_SYMLINKS"], default: "false",
        doc: "follow symbolic links inside a saved directory (default: skipped with a note; a loop is skipped)" },
    Spec { key: K::OnFileError, names: ["on_file_error", "onFileError", "on-file-error"], kind: V::Choice,
        env: &["S3KEEP_ON_FILE_ERROR"], default: "fail",
        doc: "a file of a saved directory that cannot be read (dangling link, name not UTF-8 or with a control character): fail, or skip it with a note" },
    Spec { key: K::SingleWriter, names: ["single_writer", "singleWriter", "single-writer"], kind: V::Bool,
        env: &["S3KEEP_SINGLE_WRITER"], default: "false",
        doc: "only one process ever writes under this prefix: save accepts a store that ignores conditional writes (If-None-Match, If-Match) and reads status.json before creating a backup" },
    Spec { key: K::Password, names: ["password", "password", "password"], kind: V::Secret,
        env: &["S3KEEP_PASSWORD"], default: "",
        doc: "passphrase of an encrypted store (format 2): creates one, or unwraps its key object to read and write it" },
    Spec { key: K::PasswordFile, names: ["password_file", "passwordFile", "password-file"], kind: V::Text,
        env: &["S3KEEP_PASSWORD_FILE"], default: "",
        doc: "file whose first line is the passphrase (native only)" },
    Spec { key: K::Recipients, names: ["recipients", "recipients", "recipients"], kind: V::Text,
        env: &["S3KEEP_RECIPIENTS"], default: "",
        doc: "age recipients (age1..., comma-separated) every new object is also encrypted to; with no password, creates an encrypted store" },
    Spec { key: K::Identity, names: ["identity", "identity", "identity"], kind: V::Secret,
        env: &["S3KEEP_IDENTITY"], default: "",
        doc: "age identity (AGE-SECRET-KEY-1...) of one of the store's recipients: reads an encrypted store" },
    Spec { key: K::IdentityFile, names: ["identity_file", "identityFile", "identity-file"], kind: V::Text,
        env: &["S3KEEP_IDENTITY_FILE"], default: "",
        doc: "file of age identities, as age -i reads (native only)" },
    Spec { key: K::MacKey, names: ["mac_key", "macKey", "mac-key"], kind: V::Secret,
        env: &["S3KEEP_MAC_KEY"], default: "",
        doc: "key of chunk ids (64 hex digits, from the store's key object): saves into an encrypted store without reading it (write-only host)" },
    Spec { key: K::ObjectLock, names: ["object_lock", "objectLock", "object-lock"], kind: V::Choice,
        env: &["S3KEEP_OBJECT_LOCK"], default: "",
        doc: "Object Lock mode of a new format 2 store, governance or compliance (the bucket must have Object Lock); with lock_policy" },
    Spec { key: K::LockPolicy, names: ["lock_policy", "lockPolicy", "lock-policy"], kind: V::Text,
        env: &["S3KEEP_LOCK_POLICY"], default: "",
        doc: "retention policy of a new locked store, restic's rules: keep_daily=7,keep_within=30d; every object is locked for the minimum age it guarantees" },
    Spec { key: K::SourceAccessKeyId, names: ["source_access_key_id", "sourceAccessKeyId", "source-access-key-id"],
        kind: V::Text, env: &["S3KEEP_SOURCE_ACCESS_KEY_ID"], default: "",
        doc: "access key id for the other bucket of an s3:// file set or restore target (with source_secret_access_key)" },
    Spec { key: K::SourceSecretAccessKey,
        names: ["source_secret_access_key", "sourceSecretAccessKey", "source-secret-access-key"], kind: V::Secret,
        env: &["S3KEEP_SOURCE_SECRET_ACCESS_KEY"], default: "", doc: "secret access key for the other bucket" },
    Spec { key: K::SourceSessionToken, names: ["source_session_token", "sourceSessionToken", "source-session-token"],
        kind: V::Secret, env: &["S3KEEP_SOURCE_SESSION_TOKEN"], default: "",
        doc: "session token for the other bucket" },
    Spec { key: K::SourceProfile, names: ["source_profile", "sourceProfile", "source-profile"], kind: V::Text,
        env: &["S3KEEP_SOURCE_PROFILE"], default: "",
        doc: "profile of the shared credentials file for the other bucket (native only)" },
];

impl ConfigKey {
    /// Every key, in table order.
    pub const ALL: [ConfigKey; 39] = [
        K::Url,
        K::Bucket,
        K::Prefix,
        K::Endpoint,
        K::Region,
        K::AccessKeyId,
        K::SecretAccessKey,
        K::SessionToken,
        K::Profile,
        K::Addressing,
        K::CreateBucket,
        K::Concurrency,
        K::PartSize,
        K::MultipartThreshold,
        K::MaxAttempts,
        K::MaxElapsed,
        K::ConnectTimeout,
        K::RequestTimeout,
        K::ReadTimeout,
        K::Checksum,
        K::SignedPayload,
        K::StaleAfter,
        K::Format,
        K::CaBundle,
        K::FollowSymlinks,
        K::OnFileError,
        K::SingleWriter,
        K::Password,
        K::PasswordFile,
        K::Recipients,
        K::Identity,
        K::IdentityFile,
        K::MacKey,
        K::ObjectLock,
        K::LockPolicy,
        K::SourceAccessKeyId,
        K::SourceSecretAccessKey,
        K::SourceSessionToken,
        K::SourceProfile,
    ];

    fn spec(self) -> &'static Spec {
        TABLE.iter().find(|s| s.key == self).expect("every key is in the table")
    }

    /// The canonical name: snake_case, also the Python keyword and the URL query name.
    pub fn name(self) -> &'static str {
        self.spec().names[0]
    }

    /// The JS option field (camelCase).
    pub fn camel_name(self) -> &'static str {
        self.spec().names[1]
    }

    /// The CLI flag without its dashes (kebab-case).
    pub fn kebab_name(self) -> &'static str {
        self.spec().names[2]
    }

    /// Canonical, camelCase and kebab-case names (some are equal).
    pub fn names(self) -> [&'static str; 3] {
        self.spec().names
    }

    /// The environment variables, in precedence order: `S3KEEP_*` first, then `AWS_*`.
    pub fn env_names(self) -> &'static [&'static str] {
        self.spec().env
    }

    /// How the value is written.
    pub fn kind(self) -> ValueKind {
        self.spec().kind
    }

    /// The default, in the value's grammar ("" when there is none).
    pub fn default_text(self) -> &'static str {
        self.spec().default
    }

    /// One line describing the option (CLI help, docs).
    pub fn doc(self) -> &'static str {
        self.spec().doc
    }

    /// Whether the value is a secret (never printed, no CLI flag: give it by environment).
    pub fn is_secret(self) -> bool {
        self.kind() == ValueKind::Secret
    }

    /// Whether the option means something only on native targets (wasm32 reads no files).
    pub fn native_only(self) -> bool {
        matches!(
            self,
            K::Profile
                | K::CaBundle
                | K::FollowSymlinks
                | K::OnFileError
                | K::PasswordFile
                | K::IdentityFile
                | K::SourceProfile
        )
    }

    /// Whether the option may appear in the query of an `s3://` URL: not the URL's own
    /// parts (bucket, prefix) and no credentials (a URL ends up in logs and shell history).
    pub fn allowed_in_url(self) -> bool {
        !matches!(
            self,
            K::Url
                | K::Bucket
                | K::Prefix
                | K::AccessKeyId
                | K::SecretAccessKey
                | K::SessionToken
                | K::Password
                | K::Identity
                | K::MacKey
                | K::SourceAccessKeyId
                | K::SourceSecretAccessKey
                | K::SourceSessionToken
                | K::SourceProfile
        )
    }

    /// A short placeholder of the value for help texts (`SIZE`, `DURATION`...).
    pub fn value_name(self) -> &'static str {
        match self.kind() {
            V::Bool => "BOOL",
            V::Count if self == K::Format => "1|2",
            V::Count => "N",
            V::Size => "SIZE",
            V::Duration => "DURATION",
            _ => match self {
                K::Url | K::Endpoint => "URL",
                K::Bucket => "BUCKET",
                K::Prefix => "PREFIX",
                K::Region => "REGION",
                K::Profile | K::SourceProfile => "PROFILE",
                K::CaBundle | K::PasswordFile | K::IdentityFile => "PATH",
                K::Recipients => "AGE1...",
                K::OnFileError => "fail|skip",
                K::Addressing => "auto|path|virtual",
                K::Checksum => "crc32c|md5",
                K::ObjectLock => "governance|compliance",
                K::LockPolicy => "keep_daily=N,...",
                _ => "TEXT",
            },
        }
    }
}

impl fmt::Display for ConfigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ConfigKey {
    type Err = Error;

    /// Any of the key's names or environment variables (`part_size`, `partSize`,
    /// `part-size`, `S3KEEP_PART_SIZE`; `region`, `AWS_REGION`...).
    fn from_str(s: &str) -> Result<Self> {
        TABLE
            .iter()
            .find(|spec| spec.names.contains(&s) || spec.env.contains(&s))
            .map(|spec| spec.key)
            .ok_or_else(|| {
                let known: Vec<&str> = TABLE.iter().map(|s| s.names[0]).collect();
                Error::invalid_input(format!(
                    "unknown option {}; the options are {}",
                    values::shown(s),
                    known.join(", ")
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_in_the_table_once_and_all_lists_them_in_order() {
        assert_eq!(TABLE.len(), ConfigKey::ALL.len());
        for (spec, key) in TABLE.iter().zip(ConfigKey::ALL) {
            assert_eq!(spec.key, key);
        }
    }

    #[test]
    fn names_follow_their_conventions() {
        for key in ConfigKey::ALL {
            let [snake, camel, kebab] = key.names();
            let words: Vec<&str> = snake.split('_').collect();
            let mut expected_camel = words[0].to_string();
            for w in &words[1..] {
                expected_camel.push_str(&w[..1].to_uppercase());
                expected_camel.push_str(&w[1..]);
            }
            assert_eq!(camel, expected_camel);
            assert_eq!(kebab, words.join("-"));
            for env in key.env_names() {
                assert!(env.starts_with("S3KEEP_") || env.starts_with("AWS_"), "{env}");
                if env.starts_with("S3KEEP_") {
                    assert_eq!(*env, format!("S3KEEP_{}", snake.to_uppercase()));
                }
            }
        }
    }

    #[test]
    fn every_name_and_variable_parses_back_to_its_key() {
        for key in ConfigKey::ALL {
            for name in key.names().iter().chain(key.env_names()) {
                assert_eq!(name.parse::<ConfigKey>().unwrap(), key, "{name}");
            }
            assert_eq!(key.to_string(), key.name());
        }
        assert_eq!("AWS_DEFAULT_REGION".parse::<ConfigKey>().unwrap(), ConfigKey::Region);
        let err = "colour".parse::<ConfigKey>().unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)));
        assert!(err
            .details()
            .message
            .starts_with("unknown option \"colour\"; the options are url, bucket"));
    }

    #[test]
    fn the_aws_variables_are_those_aws_defines() {
        assert_eq!(
            ConfigKey::Region.env_names(),
            ["S3KEEP_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"]
        );
        assert_eq!(
            ConfigKey::Endpoint.env_names(),
            ["S3KEEP_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
        );
        assert_eq!(ConfigKey::AccessKeyId.env_names(), ["AWS_ACCESS_KEY_ID"]);
        assert_eq!(ConfigKey::SecretAccessKey.env_names(), ["AWS_SECRET_ACCESS_KEY"]);
        assert_eq!(ConfigKey::SessionToken.env_names(), ["AWS_SESSION_TOKEN"]);
        assert_eq!(ConfigKey::Profile.env_names(), ["AWS_PROFILE"]);
    }
}
