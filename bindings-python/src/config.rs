//! The keyword arguments of `BackupStore(...)`, `from_url` and `from_env` → `StoreConfig`.
//!
//! All three take the same keywords, spelled out in each signature (so that stubtest can
//! hold the stubs to them); whatever they leave unset comes from the environment as SPEC §2
//! says (region, endpoint, credentials, shared profile), exactly as for the CLI.

use pyo3::prelude::*;
use s3keep::{Addressing, ChecksumMode, Credentials, Secret, StoreConfig};

use crate::convert::{invalid, opt_count, opt_duration};

/// The keyword arguments every constructor takes (the stubs list them with their types).
pub struct Options<'py> {
    pub prefix: Option<String>,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    pub create_bucket: bool,
    pub concurrency: Option<i64>,
    pub part_size: Option<i64>,
    pub multipart_threshold: Option<i64>,
    pub max_attempts: Option<i64>,
    pub connect_timeout: Option<Bound<'py, PyAny>>,
    pub request_timeout: Option<Bound<'py, PyAny>>,
    pub addressing: Option<String>,
    pub checksum: Option<String>,
    pub signed_payload: bool,
    pub stale_after: Option<Bound<'py, PyAny>>,
}

/// Applies `options` over `config`, then fills the rest from the environment.
/// `explicit_region` says whether `config` already holds a region chosen by the caller.
pub fn apply(
    py: Python<'_>,
    mut config: StoreConfig,
    o: Options<'_>,
    mut explicit_region: bool,
) -> PyResult<StoreConfig> {
    let count = |key: &str, value: Option<i64>, max: u64| opt_count(py, key, value, max);
    if let Some(prefix) = &o.prefix {
        config = config.with_prefix(prefix);
    }
    let c = &mut config.client;
    if o.endpoint.is_some() {
        c.endpoint = o.endpoint;
    }
    if let Some(region) = o.region {
        c.region = region;
        explicit_region = true;
    }
    match (o.access_key_id, o.secret_access_key) {
        (Some(id), Some(secret)) => {
            c.credentials = Some(Credentials {
                access_key_id: id,
                secret_access_key: Secret::new(secret),
                session_token: o.session_token.map(Secret::new),
            })
        }
        (None, None) => {}
        _ => {
            return Err(invalid(
                py,
                "access_key_id and secret_access_key go together: pass both or neither",
            ))
        }
    }
    if let Some(a) = o.addressing {
        c.addressing = match a.as_str() {
            "auto" => Addressing::Auto,
            "path" => Addressing::Path,
            "virtual" | "virtual-hosted" => Addressing::VirtualHosted,
            _ => {
                return Err(invalid(
                    py,
                    format!("addressing must be 'auto', 'path' or 'virtual', not {a:?}"),
                ))
            }
        };
    }
    if let Some(m) = o.checksum {
        c.checksum = match m.as_str() {
            "crc32c" => ChecksumMode::Crc32c,
            "md5" | "content-md5" => ChecksumMode::ContentMd5,
            _ => return Err(invalid(py, format!("checksum must be 'crc32c' or 'md5', not {m:?}"))),
        };
    }
    c.signed_payload = o.signed_payload;
    if let Some(n) = count("max_attempts", o.max_attempts, u32::MAX as u64)? {
        c.retry.max_attempts = n as u32;
    }
    if let Some(v) = opt_duration("connect_timeout", o.connect_timeout.as_ref())? {
        c.connect_timeout = v;
    }
    if let Some(v) = opt_duration("request_timeout", o.request_timeout.as_ref())? {
        c.request_timeout = v;
    }
    config.create_bucket = o.create_bucket;
    if let Some(n) = count("concurrency", o.concurrency, u16::MAX as u64)? {
        config.concurrency = n as usize;
    }
    if let Some(n) = count("part_size", o.part_size, u64::MAX)? {
        config.part_size = n;
    }
    if let Some(n) = count("multipart_threshold", o.multipart_threshold, u64::MAX)? {
        config.multipart_threshold = n;
    }
    if let Some(v) = opt_duration("stale_after", o.stale_after.as_ref())? {
        config.stale_after = v;
    }
    Ok(config.fill_from_env(explicit_region))
}

/// The store named by `S3KEEP_URL`, else `S3KEEP_BUCKET` (and `S3KEEP_PREFIX`): the same
/// variables the CLI reads.
pub fn from_env_vars(py: Python<'_>, bucket: Option<String>) -> PyResult<(StoreConfig, bool)> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let (mut config, explicit_region) = match (bucket, env("S3KEEP_URL")) {
        (Some(bucket), _) => (StoreConfig::new(bucket), false),
        (None, Some(url)) => from_url(py, &url)?,
        (None, None) => match env("S3KEEP_BUCKET") {
            Some(bucket) => (StoreConfig::new(bucket), false),
            None => {
                return Err(invalid(
                    py,
                    "no bucket given: pass one, or set S3KEEP_BUCKET or S3KEEP_URL (s3://BUCKET/PREFIX)",
                ))
            }
        },
    };
    if let Some(prefix) = env("S3KEEP_PREFIX") {
        config = config.with_prefix(&prefix);
    }
    Ok((config, explicit_region))
}

/// Parses an `s3://` URL; the bool says whether it chose the region.
pub fn from_url(py: Python<'_>, url: &str) -> PyResult<(StoreConfig, bool)> {
    let config = StoreConfig::from_url(url).map_err(|e| crate::errors::to_pyerr(py, e))?;
    let region_given = url
        .split_once('?')
        .is_some_and(|(_, q)| q.split('&').any(|kv| kv.split('=').next() == Some("region")));
    Ok((config, region_given))
}
