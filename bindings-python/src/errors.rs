//! Core errors → the exception classes of `s3keep/exceptions.py` (one per `Error` variant).
//!
//! The classes are written in Python because several of them also derive from a built-in
//! exception (`NotFound(S3KeepError, LookupError)`...), which `create_exception!` cannot do.
//! An error crosses as the core's error document (docs/SCHEMA.md), which
//! `exceptions._from_dict` turns into its class, as it does for a prune's failed deletes.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::results::document;

/// Converts a core error into the matching Python exception, with `code`, `status`,
/// `request_id`, `key`, `endpoint` and `hint` set (and `errno`/`filename` for `Io`).
pub fn to_pyerr(py: Python<'_>, err: s3keep::Error) -> PyErr {
    build(py, &err).unwrap_or_else(|e| e)
}

fn build(py: Python<'_>, err: &s3keep::Error) -> PyResult<PyErr> {
    let doc = document(py, err)?;
    doc.set_item("message", err.message_line())?;
    let exc = py.import("s3keep.exceptions")?.getattr("_from_dict")?.call1((doc,))?;
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

/// A Rust task that panicked: a bug in s3keep, reported as `RuntimeError` (tokio's message
/// names the task and the panic's text).
pub fn panicked(err: tokio::task::JoinError) -> PyErr {
    PyRuntimeError::new_err(format!("s3keep internal error (please report it): {err}"))
}
