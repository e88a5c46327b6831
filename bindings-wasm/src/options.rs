//! The wrapper's options (JSON, camelCase) → the core's configuration and option structs.
//! The wrapper has already filled defaults from the environment (AWS_*) where it has one.

use std::collections::BTreeMap;
use std::time::Duration;

use s3keep::backup::{FileEntry, ListFilter, SaveOptions, ZeebeDescriptor};
use s3keep::retention::RetentionPolicy;
use s3keep::{Addressing, ChecksumMode, Credentials, Error, Result, Secret, StoreConfig};
use serde::Deserialize;

/// `new BackupStore({...})`. Durations in milliseconds, sizes in bytes.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StoreOptions {
    url: Option<String>,
    bucket: Option<String>,
    prefix: Option<String>,
    endpoint: Option<String>,
    region: Option<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
    addressing: Option<String>,
    create_bucket: Option<bool>,
    concurrency: Option<usize>,
    part_size: Option<u64>,
    multipart_threshold: Option<u64>,
    max_attempts: Option<u32>,
    max_elapsed_ms: Option<f64>,
    request_timeout_ms: Option<f64>,
    stale_after_ms: Option<f64>,
    checksum: Option<String>,
    signed_payload: Option<bool>,
    /// The AWS_* variables of the runtime's environment (or the caller's `env` object),
    /// used for what the options leave unset (SPEC §2).
    env: Option<BTreeMap<String, String>>,
}

fn parse<'a, T: Deserialize<'a>>(json: &'a str, what: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| Error::invalid_input(format!("bad {what}: {e}")))
}

/// A duration given in milliseconds: finite and not negative.
pub(crate) fn duration_ms(ms: f64, name: &str) -> Result<Duration> {
    if !ms.is_finite() || ms < 0.0 {
        return Err(Error::invalid_input(format!(
            "{name} must be a non-negative number of milliseconds, got {ms}"
        )));
    }
    Ok(Duration::from_secs_f64(ms / 1000.0))
}

pub(crate) fn store_config(json: &str) -> Result<StoreConfig> {
    let o: StoreOptions = parse(json, "BackupStore options")?;
    let mut config = match (&o.url, &o.bucket) {
        (Some(url), None) => StoreConfig::from_url(url)?,
        (None, Some(bucket)) => StoreConfig::new(bucket.as_str()),
        (Some(_), Some(_)) => return Err(Error::invalid_input("give either url or bucket, not both")),
        (None, None) => {
            return Err(Error::invalid_input(
                "bucket (or url: \"s3://bucket/prefix\") is required",
            ))
        }
    };
    if let Some(prefix) = &o.prefix {
        config = config.with_prefix(prefix);
    }
    let c = &mut config.client;
    if o.endpoint.is_some() {
        c.endpoint = o.endpoint;
    }
    let explicit_region = o.region.is_some() || o.url.as_deref().is_some_and(|u| u.contains("region="));
    if let Some(region) = o.region {
        c.region = region;
    }
    c.credentials = match (o.access_key_id, o.secret_access_key) {
        (Some(id), Some(secret)) => Some(Credentials {
            access_key_id: id,
            secret_access_key: Secret::new(secret),
            session_token: o.session_token.map(Secret::new),
        }),
        (None, None) => None,
        _ => {
            return Err(Error::invalid_input(
                "give both accessKeyId and secretAccessKey, or neither",
            ))
        }
    };
    if let Some(env) = &o.env {
        fill_from_env(c, env, explicit_region);
    }
    if let Some(addressing) = o.addressing.as_deref() {
        c.addressing = match addressing {
            "auto" => Addressing::Auto,
            "path" => Addressing::Path,
            "virtual" | "virtual-hosted" => Addressing::VirtualHosted,
            other => {
                return Err(Error::invalid_input(format!(
                    "addressing must be auto, path or virtual, got {other:?}"
                )))
            }
        };
    }
    if let Some(checksum) = o.checksum.as_deref() {
        c.checksum = match checksum {
            "crc32c" => ChecksumMode::Crc32c,
            "md5" | "content-md5" => ChecksumMode::ContentMd5,
            other => {
                return Err(Error::invalid_input(format!(
                    "checksum must be crc32c or md5, got {other:?}"
                )))
            }
        };
    }
    if let Some(signed) = o.signed_payload {
        c.signed_payload = signed;
    }
    if let Some(attempts) = o.max_attempts {
        if attempts == 0 {
            return Err(Error::invalid_input("maxAttempts must be at least 1"));
        }
        c.retry.max_attempts = attempts;
    }
    if let Some(ms) = o.max_elapsed_ms {
        c.retry.max_elapsed = duration_ms(ms, "maxElapsedMs")?;
    }
    if let Some(ms) = o.request_timeout_ms {
        c.request_timeout = duration_ms(ms, "requestTimeoutMs")?;
    }
    c.validate()?;
    if let Some(create) = o.create_bucket {
        config.create_bucket = create;
    }
    if let Some(n) = o.concurrency {
        config.concurrency = n;
    }
    if let Some(size) = o.part_size {
        config.part_size = size;
    }
    if let Some(threshold) = o.multipart_threshold {
        config.multipart_threshold = threshold;
    }
    if let Some(ms) = o.stale_after_ms {
        config.stale_after = duration_ms(ms, "staleAfterMs")?;
    }
    Ok(config)
}

/// The core's `StoreConfig::fill_from_env`, from the variables JS gave (std::env is empty
/// in wasm32).
fn fill_from_env(c: &mut s3keep::ClientConfig, env: &BTreeMap<String, String>, explicit_region: bool) {
    let get = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
    if !explicit_region {
        if let Some(region) = get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION")) {
            c.region = region;
        }
    }
    if c.endpoint.is_none() {
        c.endpoint = get("AWS_ENDPOINT_URL_S3").or_else(|| get("AWS_ENDPOINT_URL"));
    }
    if c.credentials.is_none() {
        if let (Some(id), Some(secret)) = (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) {
            c.credentials = Some(Credentials {
                access_key_id: id,
                secret_access_key: Secret::new(secret),
                session_token: get("AWS_SESSION_TOKEN").map(Secret::new),
            });
        }
    }
}

/// `save(..., { metadata, descriptor })`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SaveJson {
    #[serde(default)]
    metadata: BTreeMap<String, String>,
    #[serde(default)]
    descriptor: DescriptorJson,
}

/// Zeebe's backup descriptor fields (stored in `metadata.json` when given).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DescriptorJson {
    checkpoint_position: Option<u64>,
    number_of_partitions: Option<u32>,
    snapshot_id: Option<String>,
}

pub(crate) fn save_options(json: &str) -> Result<SaveOptions> {
    let o: SaveJson = parse(json, "save options")?;
    Ok(SaveOptions {
        user_metadata: o.metadata,
        descriptor: ZeebeDescriptor {
            checkpoint_position: o.descriptor.checkpoint_position,
            number_of_partitions: o.descriptor.number_of_partitions,
            snapshot_id: o.descriptor.snapshot_id,
        },
        ..SaveOptions::default()
    })
}

/// `list({partition, checkpoint, node})`; the checkpoint comes as text (it may exceed 2^53).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FilterJson {
    partition: Option<u32>,
    checkpoint: Option<String>,
    node: Option<u32>,
}

pub(crate) fn list_filter(json: &str) -> Result<ListFilter> {
    let f: FilterJson = parse(json, "list filter")?;
    let checkpoint = match f.checkpoint {
        Some(c) => Some(
            c.parse::<u64>()
                .map_err(|_| Error::invalid_input(format!("checkpoint must be a non-negative integer, got {c:?}")))?,
        ),
        None => None,
    };
    Ok(ListFilter {
        partition: f.partition,
        checkpoint,
        node: f.node,
    })
}

/// `prune(policy)`: restic's rules (SPEC §7); durations in milliseconds.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PolicyJson {
    keep_last: Option<u32>,
    keep_hourly: Option<u32>,
    keep_daily: Option<u32>,
    keep_weekly: Option<u32>,
    keep_monthly: Option<u32>,
    keep_yearly: Option<u32>,
    keep_within_ms: Option<f64>,
    #[serde(default)]
    prune_failed: bool,
    #[serde(default)]
    prune_stale: bool,
    stale_after_ms: Option<f64>,
}

pub(crate) fn retention_policy(json: &str) -> Result<RetentionPolicy> {
    let p: PolicyJson = parse(json, "retention policy")?;
    let mut policy = RetentionPolicy {
        keep_last: p.keep_last,
        keep_hourly: p.keep_hourly,
        keep_daily: p.keep_daily,
        keep_weekly: p.keep_weekly,
        keep_monthly: p.keep_monthly,
        keep_yearly: p.keep_yearly,
        keep_within: p.keep_within_ms.map(|ms| duration_ms(ms, "keepWithin")).transpose()?,
        prune_failed: p.prune_failed,
        prune_stale: p.prune_stale,
        ..RetentionPolicy::default()
    };
    if let Some(ms) = p.stale_after_ms {
        policy.stale_after = duration_ms(ms, "staleAfter")?;
    }
    Ok(policy)
}

/// An entry of `restorePlan`, handed back by the wrapper to open the file.
pub(crate) fn file_entry(json: &str) -> Result<FileEntry> {
    parse(json, "file entry")
}
