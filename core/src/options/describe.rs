//! The effective configuration as one serialisable, secret-free document: what
//! `s3keep config --json`, Python's `BackupStore.config()` and JS's `store.config()` show.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::values::{format_duration, format_size};
use super::Source;
use crate::config::{Addressing, ChecksumMode, StoreConfig};

/// The effective configuration (camelCase JSON). One field per option key, named by its
/// camelCase name (the `url` key is reported as its parts); sizes and durations in the
/// grammar the options take (`16MiB`, `1h30m`), so a report can be fed back as options.
/// Secrets show as `"***"` when set, `null` when not; the access key id shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigReport {
    /// The bucket.
    pub bucket: String,
    /// The normalised prefix (`""` or `"a/b/"`).
    pub prefix: String,
    /// The endpoint; `null`: AWS's regional endpoint.
    pub endpoint: Option<String>,
    /// The signing region.
    pub region: String,
    /// The access key id; `null` without credentials (unsigned requests).
    pub access_key_id: Option<String>,
    /// `"***"` when set.
    pub secret_access_key: Option<&'static str>,
    /// `"***"` when set.
    pub session_token: Option<&'static str>,
    /// The shared-credentials profile the credentials came from, if they did.
    pub profile: Option<String>,
    /// `auto`, `path` or `virtual`.
    pub addressing: String,
    /// Create the bucket on first use.
    pub create_bucket: bool,
    /// Requests in flight.
    pub concurrency: usize,
    /// Part size (`16MiB`).
    pub part_size: String,
    /// Multipart threshold (`16MiB`).
    pub multipart_threshold: String,
    /// Attempts per request.
    pub max_attempts: u32,
    /// Retry budget of one request (`1m`).
    pub max_elapsed: String,
    /// Connection timeout (`10s`).
    pub connect_timeout: String,
    /// Attempt timeout (`5m`).
    pub request_timeout: String,
    /// Longest silence of a server (`1m`).
    pub read_timeout: String,
    /// `crc32c` or `md5`.
    pub checksum: String,
    /// Payload signing.
    pub signed_payload: bool,
    /// Staleness threshold (`1d`).
    pub stale_after: String,
    /// The storage format asked for (1 or 2); `null`: a new store is format 2, an existing
    /// one keeps its own.
    pub format: Option<u8>,
    /// The CA bundle trusted for HTTPS; `null`: the system's roots.
    pub ca_bundle: Option<String>,
    /// Whether links inside a saved directory are followed.
    pub follow_symlinks: bool,
    /// `fail` or `skip`.
    pub on_file_error: &'static str,
    /// Whether save accepts a store that ignores conditional writes.
    pub single_writer: bool,
    /// `"***"` when set.
    pub password: Option<&'static str>,
    /// The passphrase file.
    pub password_file: Option<String>,
    /// Extra age recipients (public keys).
    pub recipients: Vec<String>,
    /// `"***"` when set.
    pub identity: Option<&'static str>,
    /// The identity file.
    pub identity_file: Option<String>,
    /// `"***"` when set.
    pub mac_key: Option<&'static str>,
    /// `governance` or `compliance` when given.
    pub object_lock: Option<&'static str>,
    /// The lock policy when given, as `lock_policy` takes it (`keep_daily=7,keep_within=30d`).
    pub lock_policy: Option<String>,
    /// The access key id for the other bucket of an `s3://` file set or restore target.
    pub source_access_key_id: Option<String>,
    /// `"***"` when set.
    pub source_secret_access_key: Option<&'static str>,
    /// `"***"` when set.
    pub source_session_token: Option<&'static str>,
    /// The shared-credentials profile for the other bucket.
    pub source_profile: Option<String>,
    /// Where each value not left at its default came from, by field name: `option`, `url`,
    /// an environment variable (`AWS_REGION`, `S3KEEP_URL`...) or `profile`.
    pub sources: BTreeMap<&'static str, Source>,
}

impl StoreConfig {
    /// The effective configuration, without secrets (see [`ConfigReport`]).
    pub fn describe(&self) -> ConfigReport {
        let c = &self.client;
        let credentials = c.credentials.as_ref();
        let remote = self.remote.credentials.as_ref();
        ConfigReport {
            bucket: c.bucket.clone(),
            prefix: self.prefix.clone(),
            endpoint: c.endpoint.clone(),
            region: c.region.clone(),
            access_key_id: credentials.map(|k| k.access_key_id.clone()),
            secret_access_key: credentials.map(|_| "***"),
            session_token: credentials.and_then(|k| k.session_token.as_ref()).map(|_| "***"),
            profile: self.profile.clone(),
            addressing: c.addressing.to_string(),
            create_bucket: self.create_bucket,
            concurrency: self.concurrency,
            part_size: format_size(self.part_size),
            multipart_threshold: format_size(self.multipart_threshold),
            max_attempts: c.retry.max_attempts,
            max_elapsed: format_duration(c.retry.max_elapsed),
            connect_timeout: format_duration(c.connect_timeout),
            request_timeout: format_duration(c.request_timeout),
            read_timeout: format_duration(c.read_timeout),
            checksum: c.checksum.to_string(),
            signed_payload: c.signed_payload,
            stale_after: format_duration(self.stale_after),
            format: self.format,
            ca_bundle: c.ca_bundle.as_deref().map(crate::escape::shown_path),
            follow_symlinks: self.scan.follow_symlinks,
            on_file_error: self.scan.on_file_error.as_str(),
            single_writer: self.single_writer,
            password: self.encryption.password.as_ref().map(|_| "***"),
            password_file: self.encryption.password_file.as_deref().map(crate::escape::shown_path),
            recipients: self.encryption.recipients.clone(),
            identity: self.encryption.identity.as_ref().map(|_| "***"),
            identity_file: self.encryption.identity_file.as_deref().map(crate::escape::shown_path),
            mac_key: self.encryption.mac_key.as_ref().map(|_| "***"),
            object_lock: self.object_lock.mode.map(|m| match m {
                crate::s3::LockMode::Governance => "governance",
                crate::s3::LockMode::Compliance => "compliance",
            }),
            lock_policy: self
                .object_lock
                .policy
                .as_ref()
                .map(crate::object_lock::format_lock_policy),
            source_access_key_id: remote.map(|k| k.access_key_id.clone()),
            source_secret_access_key: remote.map(|_| "***"),
            source_session_token: remote.and_then(|k| k.session_token.as_ref()).map(|_| "***"),
            source_profile: self.remote.profile.clone(),
            sources: self.sources.iter().map(|(k, s)| (k.camel_name(), *s)).collect(),
        }
    }
}

impl fmt::Display for Addressing {
    /// `auto`, `path` or `virtual`, as the `addressing` option takes them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Addressing::Auto => "auto",
            Addressing::Path => "path",
            Addressing::VirtualHosted => "virtual",
        })
    }
}

impl fmt::Display for ChecksumMode {
    /// `crc32c` or `md5`, as the `checksum` option takes them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChecksumMode::Crc32c => "crc32c",
            ChecksumMode::ContentMd5 => "md5",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::ConfigKey;
    use super::*;
    use crate::config::{Credentials, Secret};

    #[test]
    fn the_table_defaults_are_the_defaults_of_store_config_new() {
        let report = serde_json::to_value(StoreConfig::new("bk").describe()).unwrap();
        for key in ConfigKey::ALL {
            if key == ConfigKey::Url {
                continue;
            }
            let value = &report[key.camel_name()];
            assert!(
                !value.is_null() || key.default_text().is_empty() || key == ConfigKey::Profile,
                "{key}"
            );
            if key.default_text().is_empty() || key == ConfigKey::Profile {
                continue;
            }
            let shown = value.as_str().map_or_else(|| value.to_string(), str::to_string);
            assert_eq!(shown, key.default_text(), "{key}");
        }
        assert_eq!(
            report.as_object().unwrap().len(),
            ConfigKey::ALL.len() - 1 + 1,
            "one field per key but url, plus sources"
        );
    }

    #[test]
    fn secrets_show_as_stars() {
        let mut config = StoreConfig::new("bk");
        config.client.credentials = Some(Credentials {
            access_key_id: "AKIDSHOWN".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI"),
            session_token: Some(Secret::new("TOKEN123")),
        });
        let text = serde_json::to_string(&config.describe()).unwrap();
        assert!(text.contains("\"accessKeyId\":\"AKIDSHOWN\""), "{text}");
        assert!(text.contains("\"secretAccessKey\":\"***\""), "{text}");
        assert!(text.contains("\"sessionToken\":\"***\""), "{text}");
        assert!(!text.contains("wJalrXUtnFEMI") && !text.contains("TOKEN123"), "{text}");
    }
}
