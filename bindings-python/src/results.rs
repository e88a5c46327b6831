//! What the store's methods return: the core's result serialised (`s3keep::report`, the one
//! JSON schema of docs/SCHEMA.md) and handed as a document to its class in
//! `s3keep/_results.py`, which reads it with Python types. No field is converted here.

use pyo3::prelude::*;
use pyo3::types::PyList;
use serde::Serialize;

const MODULE: &str = "s3keep._results";

/// `value` as an instance of `s3keep._results.<class>`.
pub fn to_py(py: Python<'_>, class: &str, value: &impl Serialize) -> PyResult<Py<PyAny>> {
    let class = py.import(MODULE)?.getattr(class)?;
    Ok(class.call1((document(py, value)?,))?.unbind())
}

/// A list of results, each an instance of `s3keep._results.<class>`.
pub fn to_py_list<T: Serialize>(py: Python<'_>, class: &str, values: &[T]) -> PyResult<Py<PyAny>> {
    let class = py.import(MODULE)?.getattr(class)?;
    let items = values
        .iter()
        .map(|v| class.call1((document(py, v)?,)))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(PyList::new(py, items)?.into_any().unbind())
}

/// The JSON document of `value` as Python objects (`json.loads` of the core's text).
pub fn document<'py>(py: Python<'py>, value: &impl Serialize) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value).expect("results always serialise");
    py.import("json")?.call_method1("loads", (text,))
}
