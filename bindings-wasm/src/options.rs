//! The wrapper's arguments → the core's option strings and structs. The store options are
//! not parsed here (§10): each field becomes the string of its key's kind — a JS
//! number is milliseconds for a duration (`"1500ms"`), bytes for a size (`"1024B"`) — and
//! the core parses it, with the environment the wrapper hands over.

use std::collections::BTreeMap;
use std::time::Duration;

use js_sys::{Array, Function, Object};
use s3keep::backup::{FileEntry, ListFilter, SaveOptions, ZeebeDescriptor};
use s3keep::options::{parse_duration, ValueKind};
use s3keep::retention::RetentionPolicy;
use s3keep::{ConfigKey, Error, Result, StoreConfig};
use serde::Deserialize;
use serde_json::Value;
use wasm_bindgen::{JsCast, JsValue};

fn parse<'a, T: Deserialize<'a>>(json: &'a str, what: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| Error::invalid_input(format!("bad {what}: {e}")))
}

/// A JS number as an integer where it is one (`1500`, not `1500.0`).
fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 9e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}") // a decimal or NaN: rejected by the core, naming the option
    }
}

/// The option string of a JS value for a key of `kind`.
fn option_text(name: &str, kind: ValueKind, value: &JsValue) -> Result<String> {
    if let Some(text) = value.as_string() {
        return Ok(text);
    }
    let text = match (kind, value.as_bool(), value.as_f64()) {
        (ValueKind::Bool, Some(b), _) => b.to_string(),
        (ValueKind::Count, _, Some(n)) => number_text(n),
        (ValueKind::Size, _, Some(n)) => format!("{}B", number_text(n)),
        (ValueKind::Duration, _, Some(n)) => format!("{}ms", number_text(n)),
        _ => {
            let expected = match kind {
                ValueKind::Bool => "a boolean",
                ValueKind::Count => "a number",
                ValueKind::Size => "a number of bytes or a string such as \"16MiB\"",
                ValueKind::Duration => "a number of milliseconds or a string such as \"90s\"",
                _ => "a string",
            };
            return Err(Error::invalid_input(format!("{name}: expected {expected}")));
        }
    };
    Ok(text)
}

/// `new BackupStore({...})`: every field but `env` is an option (any spelling of the
/// table; the typings list the camelCase ones); `env(name)` returns a variable or
/// `undefined` (the wrapper's view of `process.env`, `Deno.env` or the caller's object).
pub(crate) fn store_config(options: &Object, env: Option<Function>) -> Result<StoreConfig> {
    let mut builder = StoreConfig::builder();
    if let Some(env) = env {
        builder = builder.with_env(|name| env.call1(&JsValue::NULL, &name.into()).ok()?.as_string());
    }
    for entry in Object::entries(options).iter() {
        let entry: Array = entry.unchecked_into();
        let (name, value) = (entry.get(0).as_string().unwrap_or_default(), entry.get(1));
        let key: ConfigKey = name.parse()?;
        if !value.is_undefined() && !value.is_null() {
            builder = builder.with_config(key, option_text(&name, key.kind(), &value)?);
        }
    }
    builder.build()
}

/// A duration argument outside the options (`olderThan`): a number of ms or a string.
pub(crate) fn duration(name: &str, value: &JsValue) -> Result<Duration> {
    parse_duration(name, &option_text(name, ValueKind::Duration, value)?)
}

/// The same for a duration inside a JSON argument (`keepWithin`, `staleAfter`).
fn json_duration(name: &str, value: Option<Value>) -> Result<Option<Duration>> {
    let text = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(text)) => text,
        Some(Value::Number(n)) => format!("{n}ms"),
        Some(_) => {
            return Err(Error::invalid_input(format!(
                "{name}: expected a number of milliseconds or a string"
            )))
        }
    };
    parse_duration(name, &text).map(Some)
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

/// `prune(policy)`: restic's rules (§7); durations in milliseconds or strings.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PolicyJson {
    keep_last: Option<u32>,
    keep_hourly: Option<u32>,
    keep_daily: Option<u32>,
    keep_weekly: Option<u32>,
    keep_monthly: Option<u32>,
    keep_yearly: Option<u32>,
    keep_within: Option<Value>,
    #[serde(default)]
    prune_failed: bool,
    #[serde(default)]
    prune_stale: bool,
    stale_after: Option<Value>,
}

pub(crate) fn retention_policy(json: &str) -> Result<RetentionPolicy> {
    let p: PolicyJson = parse(json, "retention policy")?;
    Ok(RetentionPolicy {
        keep_last: p.keep_last,
        keep_hourly: p.keep_hourly,
        keep_daily: p.keep_daily,
        keep_weekly: p.keep_weekly,
        keep_monthly: p.keep_monthly,
        keep_yearly: p.keep_yearly,
        keep_within: json_duration("keepWithin", p.keep_within)?,
        prune_failed: p.prune_failed,
        prune_stale: p.prune_stale,
        stale_after: json_duration("staleAfter", p.stale_after)?,
    })
}

/// An entry of `restorePlan`, handed back by the wrapper to open the file.
pub(crate) fn file_entry(json: &str) -> Result<FileEntry> {
    parse(json, "file entry")
}
