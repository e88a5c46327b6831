//! The `file_sets` argument of `save`: `{set name: source}` where a source is
//!
//! - a path (`str` or `os.PathLike`): a directory saves its whole tree, named by the paths
//!   relative to it; a file saves that one file under its base name;
//! - a list of paths: each file under its base name, each directory as its tree below the
//!   directory's base name;
//! - `bytes` (or any bytes-like object): one file named like the set;
//! - a mapping `{relative name: bytes or path}`: files under the names given;
//! - an `s3://BUCKET/PREFIX?endpoint=...` string: every object under that prefix (§13; the
//!   core parses and lists it).
//!
//! Reading Python objects needs the GIL, walking directories does not: [`SetSpec`]s are read
//! first (GIL held, no I/O), then [`resolve`] walks the file system in a tokio blocking task.

use std::collections::BTreeMap;
use std::path::PathBuf;

use bytes::Bytes;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyMapping, PyMemoryView, PyString};
use s3keep::backup::{FileSet, FileSpec, ScanOptions, Source, ZeebeDescriptor};
use s3keep::options::ValueKind;

use crate::convert::option_text;
use crate::errors::to_pyerr;

/// One set as given, before touching the file system.
pub struct SetSpec {
    name: String,
    kind: SetKind,
}

enum SetKind {
    Path(PathBuf),
    Paths(Vec<PathBuf>),
    Named(Vec<(String, Named)>),
}

enum Named {
    Bytes(Bytes),
    Path(PathBuf),
}

fn is_bytes_like(value: &Bound<'_, PyAny>) -> bool {
    value.is_instance_of::<PyBytes>() || value.is_instance_of::<PyByteArray>() || value.is_instance_of::<PyMemoryView>()
}

fn bytes_of(value: &Bound<'_, PyAny>) -> PyResult<Bytes> {
    if value.is_instance_of::<PyBytes>() {
        // Shares the Python bytes object's buffer instead of copying it.
        return Ok(Bytes::from_owner(value.extract::<PyBackedBytes>()?));
    }
    Ok(Bytes::from(value.extract::<Vec<u8>>()?))
}

fn path_of(value: &Bound<'_, PyAny>, what: &str) -> PyResult<PathBuf> {
    value.extract::<PathBuf>().map_err(|_| {
        let type_name = value.get_type().name().map(|n| n.to_string()).unwrap_or_default();
        PyTypeError::new_err(format!(
            "{what} must be a path (str or os.PathLike), bytes, a list of paths or a dict of \
             {{name: bytes or path}}, not {type_name}"
        ))
    })
}

/// Reads the `file_sets` mapping.
pub fn read(file_sets: &Bound<'_, PyAny>) -> PyResult<Vec<SetSpec>> {
    let mapping = file_sets
        .cast::<PyMapping>()
        .map_err(|_| PyTypeError::new_err("file_sets must be a mapping {set name: source}"))?;
    let mut specs = Vec::new();
    for item in mapping.items()?.iter() {
        let (name, source): (String, Bound<'_, PyAny>) = item.extract()?;
        let what = format!("file set {name:?}");
        let kind = if is_bytes_like(&source) {
            SetKind::Named(vec![(name.clone(), Named::Bytes(bytes_of(&source)?))])
        } else if let Ok(dict) = source.cast::<PyMapping>() {
            let mut files = Vec::new();
            for item in dict.items()?.iter() {
                let (file, value): (String, Bound<'_, PyAny>) = item.extract()?;
                let named = if is_bytes_like(&value) {
                    Named::Bytes(bytes_of(&value)?)
                } else {
                    Named::Path(path_of(&value, &format!("file {file:?} of {what}"))?)
                };
                files.push((file, named));
            }
            SetKind::Named(files)
        } else if source.is_instance_of::<PyString>() || source.hasattr("__fspath__")? {
            SetKind::Path(path_of(&source, &what)?)
        } else if let Ok(items) = source.try_iter() {
            let mut paths = Vec::new();
            for item in items {
                paths.push(path_of(&item?, &format!("an item of {what}"))?);
            }
            SetKind::Paths(paths)
        } else {
            return Err(path_of(&source, &what).unwrap_err());
        };
        specs.push(SetSpec { name, kind });
    }
    Ok(specs)
}

/// Turns the specs into the core's file sets, walking directories (blocking I/O) with the
/// store's `follow_symlinks` and `on_file_error` options. What a walk leaves out (links,
/// special files, skipped errors) is not reported to Python yet.
pub fn resolve(specs: Vec<SetSpec>, scan: &ScanOptions) -> s3keep::Result<Vec<FileSet>> {
    specs.into_iter().map(|spec| resolve_one(spec, scan)).collect()
}

fn resolve_one(spec: SetSpec, scan: &ScanOptions) -> s3keep::Result<FileSet> {
    // The core walks a directory, names a single file by its base name, lists an `s3://`
    // prefix and names a list's directories by their base names.
    match spec.kind {
        SetKind::Path(path) => Ok(FileSet::scan(spec.name, &path, scan)?.set),
        SetKind::Paths(paths) => Ok(FileSet::scan_paths(spec.name, &paths, scan)?.set),
        SetKind::Named(named) => {
            let files = named.into_iter().map(|(name, named)| FileSpec {
                name,
                source: match named {
                    Named::Bytes(b) => Source::Bytes(b),
                    Named::Path(p) => Source::Path(p),
                },
            });
            Ok(FileSet {
                name: spec.name,
                files: files.collect(),
            })
        }
    }
}

/// Reads the `metadata` argument: any mapping of `str` to `str`.
pub fn metadata(value: Option<&Bound<'_, PyAny>>) -> PyResult<BTreeMap<String, String>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(BTreeMap::new());
    };
    let wrong = || PyTypeError::new_err("metadata must be a mapping of str to str");
    let dict = PyDict::new(value.py());
    dict.update(value.cast::<PyMapping>().map_err(|_| wrong())?)?;
    dict.extract().map_err(|_| wrong())
}

/// Reads the `descriptor` argument: Zeebe's backup descriptor fields, a mapping with any of
/// `checkpoint_position` (int), `number_of_partitions` (int) and `snapshot_id` (str), written
/// to `metadata.json` (§3). An unknown key or a value out of range is `InvalidInput`.
pub fn descriptor(value: Option<&Bound<'_, PyAny>>) -> PyResult<ZeebeDescriptor> {
    let mut out = ZeebeDescriptor::default();
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(out);
    };
    let mapping = value
        .cast::<PyMapping>()
        .map_err(|_| PyTypeError::new_err("descriptor must be a mapping"))?;
    for item in mapping.items()?.iter() {
        let (key, v): (String, Bound<'_, PyAny>) = item.extract()?;
        let kind = if key == "snapshot_id" {
            ValueKind::Text
        } else {
            ValueKind::Count
        };
        let text = option_text(&format!("descriptor {key}"), kind, &v)?;
        out.set(&key, &text).map_err(|e| to_pyerr(value.py(), e))?;
    }
    Ok(out)
}
