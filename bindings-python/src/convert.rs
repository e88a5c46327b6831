//! Python arguments → what the core takes. Options are not parsed here (§10): a
//! Python value becomes the string form of its key's kind — a number of seconds or a
//! `timedelta` becomes whole milliseconds (`"1500ms"`), an int size bytes (`"1024B"`), a
//! bool `"true"`/`"false"` — and the core parses it like every other face's.

use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDelta, PyDict, PyFloat, PyInt, PyString};
use s3keep::options::{parse_duration, ValueKind};
use s3keep::{ConfigKey, StoreConfig};

use crate::errors::to_pyerr;

/// The option string of a Python value for a key of `kind`; `TypeError` for a type the
/// kind does not take.
pub fn option_text(name: &str, kind: ValueKind, value: &Bound<'_, PyAny>) -> PyResult<String> {
    use ValueKind as V;
    if value.is_instance_of::<PyString>() {
        return value.extract();
    }
    let number = value.is_instance_of::<PyInt>() && !value.is_instance_of::<PyBool>();
    let text = match kind {
        V::Bool if value.is_instance_of::<PyBool>() => value.extract::<bool>()?.to_string(),
        V::Count if number => value.str()?.to_string(),
        V::Size if number => format!("{}B", value.str()?),
        V::Duration if number => format!("{}s", value.str()?),
        V::Duration if value.is_instance_of::<PyFloat>() => {
            let seconds: f64 = value.extract()?;
            if seconds.is_finite() {
                format!("{}ms", (seconds * 1000.0).round() as i128)
            } else {
                format!("{seconds}s") // rejected by the core, naming the option
            }
        }
        V::Duration if value.is_instance_of::<PyDelta>() => {
            let part = |attr: &str| -> PyResult<i128> { Ok(i128::from(value.getattr(attr)?.extract::<i64>()?)) };
            let ms = part("days")? * 86_400_000 + part("seconds")? * 1000 + part("microseconds")? / 1000;
            format!("{ms}ms")
        }
        _ => {
            let expected = match kind {
                V::Bool => "a bool or a str",
                V::Count => "an int or a str",
                V::Size => "an int (bytes) or a str such as '16MiB'",
                V::Duration => "a timedelta, a number of seconds or a str such as '90s'",
                _ => "a str",
            };
            return Err(PyTypeError::new_err(format!(
                "{name} must be {expected}, not {}",
                value.get_type().name()?
            )));
        }
    };
    Ok(text)
}

/// A duration argument outside the options (`older_than`, `keep_within`): the same
/// conversion, then the core's grammar.
pub fn duration(name: &str, value: &Bound<'_, PyAny>) -> PyResult<Duration> {
    let text = option_text(name, ValueKind::Duration, value)?;
    parse_duration(name, &text).map_err(|e| to_pyerr(value.py(), e))
}

/// A count that must be in `0..=max`: `InvalidInput` naming it otherwise.
pub fn count(py: Python<'_>, name: &str, value: i128, max: u64) -> PyResult<u64> {
    let message = || format!("{name} must be between 0 and {max}, got {value}");
    u64::try_from(value)
        .ok()
        .filter(|n| *n <= max)
        .ok_or_else(|| to_pyerr(py, s3keep::Error::invalid_input(message())))
}

/// The store configuration of a constructor: `first` (its positional `bucket` or `url`),
/// the keyword arguments (canonical option names; `None` = not given) and the process
/// environment, with the core's precedence.
pub fn store_config(
    py: Python<'_>,
    first: Option<(ConfigKey, String)>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<StoreConfig> {
    let mut builder = StoreConfig::builder().with_env(|name| std::env::var(name).ok());
    let positional = first.as_ref().map(|(key, _)| *key);
    if let Some((key, value)) = first {
        builder = builder.with_config(key, value);
    }
    for (name, value) in options.into_iter().flat_map(|d| d.iter()) {
        let name: String = name.extract()?;
        let key = ConfigKey::ALL
            .into_iter()
            .find(|k| k.name() == name && positional != Some(*k))
            .ok_or_else(|| {
                PyTypeError::new_err(format!("BackupStore() got an unexpected keyword argument '{name}'"))
            })?;
        if !value.is_none() {
            builder = builder.with_config(key, option_text(&name, key.kind(), &value)?);
        }
    }
    builder.build().map_err(|e| to_pyerr(py, e))
}
