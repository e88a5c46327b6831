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

/// `save(..., { metadata, descriptor })`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SaveJson {
    #[serde(default)]
    metadata: BTreeMap<String, String>,
    #[serde(default)]
    descriptor: ZeebeDescriptor,
}

pub(crate) fn save_options(json: &str) -> Result<SaveOptions> {
    let o: SaveJson = parse(json, "save options")?;
    Ok(SaveOptions {
        user_metadata: o.metadata,
        descriptor: o.descriptor,
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

/// `prune(policy)`: the core's settings by their camelCase names (`keepLast`, `keepWithin`...),
/// a duration in ms or text.
pub(crate) fn retention_policy(policy: &Object) -> Result<RetentionPolicy> {
    let mut out = RetentionPolicy::default();
    for entry in Object::entries(policy).iter() {
        let entry: Array = entry.unchecked_into();
        let (name, value) = (entry.get(0).as_string().unwrap_or_default(), entry.get(1));
        let setting = out.get(&name).filter(|_| !name.contains('_'));
        let setting = setting.ok_or_else(|| Error::invalid_input(format!("unknown retention setting {name:?}")))?;
        if !value.is_undefined() && !value.is_null() {
            out.set(&name, &option_text(&name, setting.kind(), &value)?)?;
        }
    }
    Ok(out)
}

/// An entry of `restorePlan`, handed back by the wrapper to open the file.
pub(crate) fn file_entry(json: &str) -> Result<FileEntry> {
    parse(json, "file entry")
}
