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

use std::path::{Path, PathBuf};

use bytes::Bytes;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyByteArray, PyBytes, PyMapping, PyMemoryView, PyString};
use s3keep::backup::{FileSet, FileSpec, ScanOptions, Source};
use s3keep::Error;

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
        pyo3::exceptions::PyTypeError::new_err(format!(
            "{what} must be a path (str or os.PathLike), bytes, a list of paths or a dict of \
             {{name: bytes or path}}, not {type_name}"
        ))
    })
}

/// Reads the `file_sets` mapping.
pub fn read(file_sets: &Bound<'_, PyAny>) -> PyResult<Vec<SetSpec>> {
    let mapping = file_sets
        .cast::<PyMapping>()
        .map_err(|_| pyo3::exceptions::PyTypeError::new_err("file_sets must be a mapping {set name: source}"))?;
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
    let mut set = FileSet {
        name: spec.name,
        files: Vec::new(),
    };
    match spec.kind {
        // The core walks a directory, names a single file by its base name and lists an
        // `s3://` prefix.
        SetKind::Path(path) => return Ok(FileSet::scan(set.name, &path, scan)?.set),
        SetKind::Paths(paths) => {
            for path in paths {
                let dir = std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?.is_dir();
                let prefix = if dir {
                    format!("{}/", base_name(&path)?)
                } else {
                    String::new()
                };
                for f in FileSet::scan(String::new(), &path, scan)?.set.files {
                    set.files.push(FileSpec {
                        name: format!("{prefix}{}", f.name),
                        source: f.source,
                    });
                }
            }
        }
        SetKind::Named(files) => {
            for (name, named) in files {
                let source = match named {
                    Named::Bytes(b) => Source::Bytes(b),
                    Named::Path(p) => Source::Path(p),
                };
                set.files.push(FileSpec { name, source });
            }
        }
    }
    Ok(set)
}

fn base_name(path: &Path) -> s3keep::Result<String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| Error::invalid_input(format!("{} has no UTF-8 file name to save it under", path.display())))
}

/// Reads the `metadata` argument: any mapping of `str` to `str`.
pub fn metadata(value: Option<&Bound<'_, PyAny>>) -> PyResult<std::collections::BTreeMap<String, String>> {
    let mut out = std::collections::BTreeMap::new();
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(out);
    };
    let mapping = value
        .cast::<PyMapping>()
        .map_err(|_| pyo3::exceptions::PyTypeError::new_err("metadata must be a mapping of str to str"))?;
    for item in mapping.items()?.iter() {
        let (k, v): (String, String) = item
            .extract()
            .map_err(|_| pyo3::exceptions::PyTypeError::new_err("metadata must be a mapping of str to str"))?;
        out.insert(k, v);
    }
    Ok(out)
}

/// Reads the `descriptor` argument: Zeebe's backup descriptor fields, a mapping with any of
/// `checkpoint_position` (int), `number_of_partitions` (int) and `snapshot_id` (str), written
/// to `metadata.json` (§3). An unknown key or a value out of range is `InvalidInput`.
pub fn descriptor(value: Option<&Bound<'_, PyAny>>) -> PyResult<s3keep::backup::ZeebeDescriptor> {
    let mut out = s3keep::backup::ZeebeDescriptor::default();
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(out);
    };
    let py = value.py();
    let mapping = value
        .cast::<PyMapping>()
        .map_err(|_| pyo3::exceptions::PyTypeError::new_err("descriptor must be a mapping"))?;
    for item in mapping.items()?.iter() {
        let (key, v): (String, Bound<'_, PyAny>) = item.extract()?;
        let count = |max: u64| -> PyResult<Option<u64>> {
            let n: i128 = v
                .extract()
                .map_err(|_| pyo3::exceptions::PyTypeError::new_err(format!("descriptor {key} must be an int")))?;
            crate::convert::opt_count(py, &format!("descriptor {key}"), Some(n), max)
        };
        match key.as_str() {
            "checkpoint_position" => out.checkpoint_position = count(i64::MAX as u64)?,
            "number_of_partitions" => out.number_of_partitions = count(u32::MAX as u64)?.map(|n| n as u32),
            "snapshot_id" => {
                out.snapshot_id = Some(
                    v.extract()
                        .map_err(|_| pyo3::exceptions::PyTypeError::new_err("descriptor snapshot_id must be a str"))?,
                )
            }
            other => {
                return Err(crate::convert::invalid(
                    py,
                    format!(
                        "unknown descriptor field {other:?} (checkpoint_position, number_of_partitions, snapshot_id)"
                    ),
                ))
            }
        }
    }
    Ok(out)
}
