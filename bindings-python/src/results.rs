//! What the store's methods return: immutable objects with tz-aware UTC datetimes.

use std::collections::BTreeMap;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use s3keep::backup::{CheckResult, RestoreSummary, VerifyProblem, VerifyProblemKind, VerifyReport};
use s3keep::s3::UploadInfo;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcDateTime};

use crate::ids::PyBackupId;

/// A timestamp as Python sees it: UTC (`datetime` with `tzinfo=timezone.utc`).
pub fn utc(t: Option<OffsetDateTime>) -> Option<UtcDateTime> {
    t.map(OffsetDateTime::to_utc)
}

/// RFC 3339 text for reprs.
pub fn rfc3339(t: Option<UtcDateTime>) -> String {
    t.and_then(|t| t.format(&Rfc3339).ok())
        .map_or_else(|| "None".into(), |t| q(&t))
}

/// A string as Python's `repr` writes it (single quotes), for the reprs of this module.
pub fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn opt<T: std::fmt::Display>(value: &Option<T>) -> String {
    value.as_ref().map_or_else(|| "None".into(), |v| v.to_string())
}

/// One backup as `status`, `list`, `save` and `mark_failed` report it.
///
/// `status` is one of `IN_PROGRESS`, `COMPLETED`, `FAILED`, `DELETING`, `DOES_NOT_EXIST`, `CORRUPT`.
/// `total_size` (bytes), `file_count` and `user_metadata` come from `metadata.json`: they are
/// set by `status` and `save` for COMPLETED backups, `None`/empty in `list`.
#[pyclass(frozen, eq, module = "s3keep", name = "BackupInfo")]
#[derive(Clone, PartialEq)]
pub struct PyBackupInfo {
    id: PyBackupId,
    status: &'static str,
    failure_reason: Option<String>,
    created_at: Option<UtcDateTime>,
    updated_at: Option<UtcDateTime>,
    writer: Option<String>,
    total_size: Option<u64>,
    file_count: Option<u64>,
    user_metadata: BTreeMap<String, String>,
}

impl From<s3keep::BackupInfo> for PyBackupInfo {
    fn from(b: s3keep::BackupInfo) -> Self {
        Self {
            id: PyBackupId(b.id),
            status: b.status.as_str(),
            failure_reason: b.failure_reason,
            created_at: utc(b.created_at),
            updated_at: utc(b.updated_at),
            writer: b.writer,
            total_size: b.total_size,
            file_count: b.file_count,
            user_metadata: b.user_metadata,
        }
    }
}

#[pymethods]
impl PyBackupInfo {
    #[getter]
    fn id(&self) -> PyBackupId {
        self.id
    }
    #[getter]
    fn status(&self) -> &'static str {
        self.status
    }
    #[getter]
    fn failure_reason(&self) -> Option<&str> {
        self.failure_reason.as_deref()
    }
    #[getter]
    fn created_at(&self) -> Option<UtcDateTime> {
        self.created_at
    }
    #[getter]
    fn updated_at(&self) -> Option<UtcDateTime> {
        self.updated_at
    }
    #[getter]
    fn writer(&self) -> Option<&str> {
        self.writer.as_deref()
    }
    #[getter]
    fn total_size(&self) -> Option<u64> {
        self.total_size
    }
    #[getter]
    fn file_count(&self) -> Option<u64> {
        self.file_count
    }
    /// A new dict each time (the object itself stays immutable).
    #[getter]
    fn user_metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (k, v) in &self.user_metadata {
            dict.set_item(k, v)?;
        }
        Ok(dict)
    }

    fn __repr__(&self) -> String {
        let mut s = format!(
            "BackupInfo(id={}, status={}, created_at={}",
            q(&self.id.0.to_string()),
            q(self.status),
            rfc3339(self.created_at)
        );
        if let Some(reason) = &self.failure_reason {
            s.push_str(&format!(", failure_reason={}", q(reason)));
        }
        if self.file_count.is_some() || self.total_size.is_some() {
            s.push_str(&format!(
                ", file_count={}, total_size={}",
                opt(&self.file_count),
                opt(&self.total_size)
            ));
        }
        s.push(')');
        s
    }
}

/// What `restore` did: files downloaded, files already present (skipped), bytes written.
#[pyclass(frozen, eq, get_all, module = "s3keep", name = "RestoreSummary")]
#[derive(Clone, PartialEq)]
pub struct PyRestoreSummary {
    files_restored: u64,
    files_skipped: u64,
    bytes_restored: u64,
}

impl From<RestoreSummary> for PyRestoreSummary {
    fn from(s: RestoreSummary) -> Self {
        Self {
            files_restored: s.files_restored,
            files_skipped: s.files_skipped,
            bytes_restored: s.bytes_restored,
        }
    }
}

#[pymethods]
impl PyRestoreSummary {
    fn __repr__(&self) -> String {
        format!(
            "RestoreSummary(files_restored={}, files_skipped={}, bytes_restored={})",
            self.files_restored, self.files_skipped, self.bytes_restored
        )
    }
}

/// One object that does not match `metadata.json`. `kind` is `missing`, `size_mismatch` or
/// `checksum_mismatch`; `expected`/`actual` are sizes in bytes (int) or CRC32C (base64 str).
#[pyclass(frozen, eq, module = "s3keep", name = "VerifyProblem")]
#[derive(Clone, PartialEq)]
pub struct PyVerifyProblem(VerifyProblem);

#[derive(IntoPyObject)]
enum Value {
    Int(u64),
    Text(String),
}

#[pymethods]
impl PyVerifyProblem {
    #[getter]
    fn key(&self) -> &str {
        &self.0.key
    }
    #[getter]
    fn kind(&self) -> &'static str {
        match self.0.kind {
            VerifyProblemKind::Missing => "missing",
            VerifyProblemKind::SizeMismatch { .. } => "size_mismatch",
            VerifyProblemKind::ChecksumMismatch { .. } => "checksum_mismatch",
        }
    }
    #[getter]
    fn expected(&self) -> Option<Value> {
        match &self.0.kind {
            VerifyProblemKind::Missing => None,
            VerifyProblemKind::SizeMismatch { expected, .. } => Some(Value::Int(*expected)),
            VerifyProblemKind::ChecksumMismatch { expected, .. } => Some(Value::Text(expected.clone())),
        }
    }
    #[getter]
    fn actual(&self) -> Option<Value> {
        match &self.0.kind {
            VerifyProblemKind::Missing => None,
            VerifyProblemKind::SizeMismatch { actual, .. } => Some(Value::Int(*actual)),
            VerifyProblemKind::ChecksumMismatch { actual, .. } => Some(Value::Text(actual.clone())),
        }
    }
    fn __str__(&self) -> String {
        self.0.to_string()
    }
    fn __repr__(&self) -> String {
        format!("VerifyProblem({})", q(&self.0.to_string()))
    }
}

/// What `verify` found. `ok` is true when `problems` is empty; a damaged backup is a report
/// with problems, not an exception.
#[pyclass(frozen, module = "s3keep", name = "VerifyReport")]
pub struct PyVerifyReport {
    id: PyBackupId,
    files_checked: u64,
    bytes_checked: u64,
    problems: Py<PyTuple>,
}

impl PyVerifyReport {
    pub fn new(py: Python<'_>, report: VerifyReport) -> PyResult<Self> {
        let problems: Vec<PyVerifyProblem> = report.problems.into_iter().map(PyVerifyProblem).collect();
        Ok(Self {
            id: PyBackupId(report.id),
            files_checked: report.files_checked,
            bytes_checked: report.bytes_checked,
            problems: PyTuple::new(py, problems)?.unbind(),
        })
    }
}

#[pymethods]
impl PyVerifyReport {
    #[getter]
    fn id(&self) -> PyBackupId {
        self.id
    }
    #[getter]
    fn files_checked(&self) -> u64 {
        self.files_checked
    }
    #[getter]
    fn bytes_checked(&self) -> u64 {
        self.bytes_checked
    }
    #[getter]
    fn problems<'py>(&self, py: Python<'py>) -> Bound<'py, PyTuple> {
        self.problems.bind(py).clone()
    }
    #[getter]
    fn ok(&self, py: Python<'_>) -> bool {
        self.problems.bind(py).is_empty()
    }
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "VerifyReport(id={}, ok={}, files_checked={}, bytes_checked={}, problems={})",
            q(&self.id.0.to_string()),
            if self.ok(py) { "True" } else { "False" },
            self.files_checked,
            self.bytes_checked,
            self.problems.bind(py).len()
        )
    }
}

/// One line of `check()` (the CLI's `doctor`). `name` is what was checked (`endpoint`,
/// `credentials`, `bucket`, `put`, `get`, `list`, `delete`, `clock`, `addressing`), `state`
/// one of `ok`, `warning`, `failed`, `skipped`; `hint` says what to do (empty when fine).
#[pyclass(frozen, eq, get_all, module = "s3keep", name = "CheckResult")]
#[derive(Clone, PartialEq)]
pub struct PyCheckResult {
    name: &'static str,
    state: &'static str,
    message: String,
    hint: String,
    code: Option<String>,
}

impl From<CheckResult> for PyCheckResult {
    fn from(c: CheckResult) -> Self {
        Self {
            name: c.name,
            state: c.state.as_str(),
            message: c.message,
            hint: c.hint,
            code: c.code,
        }
    }
}

#[pymethods]
impl PyCheckResult {
    fn __repr__(&self) -> String {
        let mut s = format!(
            "CheckResult(name={}, state={}, message={}",
            q(self.name),
            q(self.state),
            q(&self.message)
        );
        if !self.hint.is_empty() {
            s.push_str(&format!(", hint={}", q(&self.hint)));
        }
        if let Some(code) = &self.code {
            s.push_str(&format!(", code={}", q(code)));
        }
        s.push(')');
        s
    }
}

/// A multipart upload aborted by `cleanup_uploads`.
#[pyclass(frozen, eq, get_all, module = "s3keep", name = "UploadInfo")]
#[derive(Clone, PartialEq)]
pub struct PyUploadInfo {
    key: String,
    upload_id: String,
    initiated: Option<UtcDateTime>,
}

impl From<UploadInfo> for PyUploadInfo {
    fn from(u: UploadInfo) -> Self {
        Self {
            initiated: utc(OffsetDateTime::parse(&u.initiated, &Rfc3339).ok()),
            key: u.key,
            upload_id: u.upload_id,
        }
    }
}

#[pymethods]
impl PyUploadInfo {
    fn __repr__(&self) -> String {
        format!(
            "UploadInfo(key={}, upload_id={}, initiated={})",
            q(&self.key),
            q(&self.upload_id),
            rfc3339(self.initiated)
        )
    }
}
