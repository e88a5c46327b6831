//! Small argument conversions shared by the classes: durations and counts, with bad values
//! reported as `InvalidInput` (a `ValueError`) rather than `OverflowError`.

use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyDelta, PyFloat, PyInt};

use crate::errors::to_pyerr;

/// `InvalidInput` with `message`.
pub fn invalid(py: Python<'_>, message: impl Into<String>) -> PyErr {
    to_pyerr(py, s3keep::Error::invalid_input(message))
}

/// A duration argument: a `datetime.timedelta` or a number of seconds (int or float), >= 0.
pub fn duration(name: &str, value: &Bound<'_, PyAny>) -> PyResult<Duration> {
    let py = value.py();
    let seconds: f64 = if value.is_instance_of::<PyDelta>() {
        value.call_method0("total_seconds")?.extract()?
    } else if value.is_instance_of::<PyInt>() || value.is_instance_of::<PyFloat>() {
        value.extract()?
    } else {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "{name} must be a datetime.timedelta or a number of seconds, not {}",
            value.get_type().name()?
        )));
    };
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(invalid(
            py,
            format!("{name} must be a non-negative duration, got {seconds} s"),
        ));
    }
    Duration::try_from_secs_f64(seconds).map_err(|e| invalid(py, format!("{name}: {e}")))
}

/// An optional duration argument (`None` stays `None`).
pub fn opt_duration(name: &str, value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Duration>> {
    match value {
        Some(v) if !v.is_none() => duration(name, v).map(Some),
        _ => Ok(None),
    }
}

/// An optional count that must fit `max` (`None` stays `None`).
pub fn opt_count(py: Python<'_>, name: &str, value: Option<i64>, max: u64) -> PyResult<Option<u64>> {
    match value {
        None => Ok(None),
        Some(v) if v >= 0 && (v as u64) <= max => Ok(Some(v as u64)),
        Some(v) => Err(invalid(py, format!("{name} must be between 0 and {max}, got {v}"))),
    }
}
