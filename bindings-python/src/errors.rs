//! Core errors → the exception classes of `s3keep/exceptions.py` (one per `Error` variant).
//!
//! The classes are written in Python because several of them also derive from a built-in
//! exception (`NotFound(S3KeepError, LookupError)`...), which `create_exception!` cannot do.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};

const MODULE: &str = "s3keep.exceptions";

/// The Python class name of a core error kind (`Error::kind()`).
fn class_name(kind: &str) -> &str {
    match kind {
        // `S3` alone reads badly as a class name.
        "S3" => "S3Error",
        other => other,
    }
}

/// The exception class for `kind`, imported once per kind.
fn exception_class<'py>(py: Python<'py>, kind: &str) -> PyResult<Bound<'py, PyType>> {
    static BASE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    let module = py.import(MODULE)?;
    match module.getattr(class_name(kind)) {
        Ok(class) => Ok(class.cast_into()?),
        // A variant added to the core before this binding knows it: still an S3KeepError.
        Err(_) => Ok(BASE.import(py, MODULE, "S3KeepError")?.clone()),
    }
}

/// Converts a core error into the matching Python exception, with `code`, `status`,
/// `request_id`, `key`, `endpoint` and `hint` set (and `errno`/`filename` for `Io`).
pub fn to_pyerr(py: Python<'_>, err: s3keep::Error) -> PyErr {
    build(py, &err).unwrap_or_else(|e| e)
}

fn build(py: Python<'_>, err: &s3keep::Error) -> PyResult<PyErr> {
    let class = exception_class(py, err.kind())?;
    let d = err.details();
    let kwargs = PyDict::new(py);
    kwargs.set_item("code", d.code.as_deref())?;
    kwargs.set_item("status", d.status)?;
    kwargs.set_item("request_id", d.request_id.as_deref())?;
    kwargs.set_item("key", d.key.as_deref())?;
    kwargs.set_item("endpoint", d.endpoint.as_deref())?;
    kwargs.set_item("hint", err.hint())?;
    let exc = class.call((message(err),), Some(&kwargs))?;
    if let s3keep::Error::Io(details) = err {
        let os = details
            .source
            .as_deref()
            .and_then(|s| s.downcast_ref::<std::io::Error>());
        if let Some(code) = os.and_then(|e| e.raw_os_error()) {
            exc.setattr("errno", code)?;
            exc.setattr("strerror", std::io::Error::from_raw_os_error(code).to_string())?;
        }
        if details.key.is_some() {
            exc.setattr("filename", details.key.as_deref())?;
        }
    }
    Ok(PyErr::from_value(exc))
}

/// The core's message without its leading `Kind: `, which the class name already says.
fn message(err: &s3keep::Error) -> String {
    let text = err.to_string();
    let prefix = format!("{}: ", err.kind());
    match text.strip_prefix(&prefix) {
        Some(rest) => rest.to_string(),
        None => text,
    }
}

/// A Rust task that panicked: a bug in s3keep, reported as `RuntimeError`.
pub fn panicked(err: tokio::task::JoinError) -> PyErr {
    let what = if err.is_panic() {
        let payload = err.into_panic();
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into())
    } else {
        "the task was cancelled".into()
    };
    PyRuntimeError::new_err(format!("s3keep internal error (please report it): {what}"))
}
