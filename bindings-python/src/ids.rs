//! `BackupId`: which backup (Zeebe's partition / checkpoint / node, §3).

use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

use crate::convert::count;
use crate::errors::to_pyerr;

/// `BackupId(partition, checkpoint, node)`: identifies one backup. Immutable and hashable;
/// `str()` gives the textual form `PARTITION/CHECKPOINT/NODE` that `BackupId.parse` reads.
/// Applications without partitions use partition 0 and node 0.
#[pyclass(frozen, eq, ord, hash, module = "s3keep", name = "BackupId", from_py_object)]
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PyBackupId(pub s3keep::BackupId);

#[pymethods]
impl PyBackupId {
    #[new]
    fn new(py: Python<'_>, partition: i128, checkpoint: i128, node: i128) -> PyResult<Self> {
        Ok(Self(s3keep::BackupId::new(
            count(py, "partition", partition, u32::MAX as u64)? as u32,
            count(py, "checkpoint", checkpoint, u64::MAX)?,
            count(py, "node", node, u32::MAX as u64)? as u32,
        )))
    }

    /// Parses `"PARTITION/CHECKPOINT/NODE"`, e.g. `"0/1700000000000/0"`.
    /// Raises `InvalidInput` (a `ValueError`) for anything else.
    #[staticmethod]
    fn parse(py: Python<'_>, text: &str) -> PyResult<Self> {
        text.parse().map(Self).map_err(|e| to_pyerr(py, e))
    }

    /// A new id with the current Unix time in milliseconds as checkpoint (as the CLI's
    /// default id).
    #[staticmethod]
    #[pyo3(signature = (partition = 0, node = 0))]
    fn now(partition: u32, node: u32) -> Self {
        let checkpoint = s3keep::runtime::now_millis().max(0) as u64;
        Self(s3keep::BackupId::new(partition, checkpoint, node))
    }

    #[getter]
    fn partition(&self) -> u32 {
        self.0.partition
    }

    #[getter]
    fn checkpoint(&self) -> u64 {
        self.0.checkpoint
    }

    #[getter]
    fn node(&self) -> u32 {
        self.0.node
    }

    fn __repr__(&self) -> String {
        format!(
            "BackupId(partition={}, checkpoint={}, node={})",
            self.0.partition, self.0.checkpoint, self.0.node
        )
    }

    fn __str__(&self) -> String {
        self.0.to_string()
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let id = slf.get().0;
        let args = PyTuple::new(slf.py(), [id.partition as u64, id.checkpoint, id.node as u64])?;
        Ok((slf.get_type().into_any(), args))
    }
}

/// Reads a backup id argument: a `BackupId` or its text `"P/C/N"`.
pub fn backup_id(arg: &Bound<'_, PyAny>) -> PyResult<s3keep::BackupId> {
    if let Ok(id) = arg.cast::<PyBackupId>() {
        return Ok(id.get().0);
    }
    if let Ok(text) = arg.cast::<PyString>() {
        return PyBackupId::parse(arg.py(), &text.to_cow()?).map(|id| id.0);
    }
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "a backup id must be a BackupId or a 'PARTITION/CHECKPOINT/NODE' string, not {}",
        arg.get_type().name()?
    )))
}
