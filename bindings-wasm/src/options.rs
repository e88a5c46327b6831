//! The wrapper's arguments → the core's option strings and structs. The store options are
//! not parsed here (§10): each field becomes the string of its key's kind — a JS
//! number is milliseconds for a duration (`"1500ms"`), bytes for a size (`"1024B"`) — and
//! the core parses it, with the environment the wrapper hands over.

use std::time::Duration;

use js_sys::{Array, Function, Object};
use s3keep::backup::ListFilter;
use s3keep::options::{parse_duration, ValueKind};
use s3keep::retention::RetentionPolicy;
use s3keep::{ConfigKey, Error, Result, StoreConfig};
use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};

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
    for (name, value) in fields(options) {
        let key: ConfigKey = name.parse()?;
        builder = builder.with_config(key, option_text(&name, key.kind(), &value)?);
    }
    builder.build()
}

/// The fields of a JS object that are given (neither `undefined` nor `null`).
fn fields(object: &Object) -> impl Iterator<Item = (String, JsValue)> {
    Object::entries(object).into_iter().filter_map(|entry| {
        let entry: Array = entry.unchecked_into();
        let value = entry.get(1);
        let given = !value.is_undefined() && !value.is_null();
        given.then(|| (entry.get(0).as_string().unwrap_or_default(), value))
    })
}

/// A duration argument outside the options (`olderThan`): a number of ms or a string.
pub(crate) fn duration(name: &str, value: &JsValue) -> Result<Duration> {
    parse_duration(name, &option_text(name, ValueKind::Duration, value)?)
}

/// `list({partition, checkpoint, node})`: each a number or its text (the wrapper gives the
/// checkpoint, which may exceed 2^53, as text).
pub(crate) fn list_filter(filter: &Object) -> Result<ListFilter> {
    let mut out = ListFilter::default();
    for (name, value) in fields(filter) {
        out.set(&name, &option_text(&name, ValueKind::Count, &value)?)?;
    }
    Ok(out)
}

/// `prune(policy)`: the core's settings by their camelCase names (`keepLast`, `keepWithin`...),
/// a duration in ms or text.
pub(crate) fn retention_policy(policy: &Object) -> Result<RetentionPolicy> {
    let mut out = RetentionPolicy::default();
    for (name, value) in fields(policy) {
        let setting = out.get(&name).filter(|_| !name.contains('_'));
        let setting = setting.ok_or_else(|| Error::invalid_input(format!("unknown retention setting {name:?}")))?;
        out.set(&name, &option_text(&name, setting.kind(), &value)?)?;
    }
    Ok(out)
}

/// Parses the JSON text `json`, an argument the wrapper serialised (`what` names it).
pub(crate) fn parse<'a, T: Deserialize<'a>>(json: &'a str, what: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| Error::invalid_input(format!("bad {what}: {e}")))
}
