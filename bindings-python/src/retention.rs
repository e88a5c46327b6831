//! `RetentionPolicy` (§7) and what `prune` returns: a `PrunePlan` of `PlanEntry`s.

use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyTuple;
use s3keep::backup::PruneOutcome;
use s3keep::retention::{PlanEntry, RetentionPolicy};
use time::UtcDateTime;

use crate::convert::{opt_count, opt_duration};
use crate::errors::to_pyerr;
use crate::ids::PyBackupId;
use crate::results::{q, rfc3339};

/// What to keep, with restic's semantics, applied per (partition, node) to COMPLETED backups:
/// `keep_last` N newest; `keep_hourly`/`keep_daily`/`keep_weekly`/`keep_monthly`/
/// `keep_yearly` N (the newest backup of each of the N most recent UTC periods that have
/// one); `keep_within` (a `timedelta`, measured from the group's newest backup). A backup is
/// kept if any rule keeps it. Safety: an empty policy deletes nothing, the newest COMPLETED
/// backup of a group is never deleted, FAILED backups are deleted only with `prune_failed`,
/// IN_PROGRESS ones only with `prune_stale` and when older than `stale_after` (default: the
/// store's `stale_after` option, 24 h unless set).
#[pyclass(frozen, eq, module = "s3keep", name = "RetentionPolicy")]
#[derive(Clone, PartialEq)]
pub struct PyRetentionPolicy(pub RetentionPolicy);

#[pymethods]
impl PyRetentionPolicy {
    #[new]
    #[pyo3(signature = (
        *,
        keep_last = None,
        keep_hourly = None,
        keep_daily = None,
        keep_weekly = None,
        keep_monthly = None,
        keep_yearly = None,
        keep_within = None,
        prune_failed = false,
        prune_stale = false,
        stale_after = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        keep_last: Option<i64>,
        keep_hourly: Option<i64>,
        keep_daily: Option<i64>,
        keep_weekly: Option<i64>,
        keep_monthly: Option<i64>,
        keep_yearly: Option<i64>,
        keep_within: Option<&Bound<'_, PyAny>>,
        prune_failed: bool,
        prune_stale: bool,
        stale_after: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let count = |name: &str, v: Option<i64>| -> PyResult<Option<u32>> {
            Ok(opt_count(py, name, v, u32::MAX as u64)?.map(|n| n as u32))
        };
        Ok(Self(RetentionPolicy {
            keep_last: count("keep_last", keep_last)?,
            keep_hourly: count("keep_hourly", keep_hourly)?,
            keep_daily: count("keep_daily", keep_daily)?,
            keep_weekly: count("keep_weekly", keep_weekly)?,
            keep_monthly: count("keep_monthly", keep_monthly)?,
            keep_yearly: count("keep_yearly", keep_yearly)?,
            keep_within: opt_duration("keep_within", keep_within)?,
            prune_failed,
            prune_stale,
            stale_after: opt_duration("stale_after", stale_after)?,
        }))
    }

    #[getter]
    fn keep_last(&self) -> Option<u32> {
        self.0.keep_last
    }
    #[getter]
    fn keep_hourly(&self) -> Option<u32> {
        self.0.keep_hourly
    }
    #[getter]
    fn keep_daily(&self) -> Option<u32> {
        self.0.keep_daily
    }
    #[getter]
    fn keep_weekly(&self) -> Option<u32> {
        self.0.keep_weekly
    }
    #[getter]
    fn keep_monthly(&self) -> Option<u32> {
        self.0.keep_monthly
    }
    #[getter]
    fn keep_yearly(&self) -> Option<u32> {
        self.0.keep_yearly
    }
    #[getter]
    fn keep_within(&self) -> Option<Duration> {
        self.0.keep_within
    }
    #[getter]
    fn prune_failed(&self) -> bool {
        self.0.prune_failed
    }
    #[getter]
    fn prune_stale(&self) -> bool {
        self.0.prune_stale
    }
    /// `None`: the store's `stale_after` option.
    #[getter]
    fn stale_after(&self) -> Option<Duration> {
        self.0.stale_after
    }
    /// True when no `keep_*` rule is set (such a policy deletes no COMPLETED backup).
    #[getter]
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let p = &self.0;
        let td = |d: Duration| -> PyResult<String> { Ok(d.into_pyobject(py)?.repr()?.to_string()) };
        let mut parts = Vec::new();
        for (name, value) in [
            ("keep_last", p.keep_last),
            ("keep_hourly", p.keep_hourly),
            ("keep_daily", p.keep_daily),
            ("keep_weekly", p.keep_weekly),
            ("keep_monthly", p.keep_monthly),
            ("keep_yearly", p.keep_yearly),
        ] {
            if let Some(n) = value {
                parts.push(format!("{name}={n}"));
            }
        }
        if let Some(d) = p.keep_within {
            parts.push(format!("keep_within={}", td(d)?));
        }
        if p.prune_failed {
            parts.push("prune_failed=True".into());
        }
        if p.prune_stale {
            parts.push("prune_stale=True".into());
        }
        if let Some(d) = p.stale_after {
            parts.push(format!("stale_after={}", td(d)?));
        }
        Ok(format!("RetentionPolicy({})", parts.join(", ")))
    }
}

/// The decision for one backup: `action` is `keep` or `delete`; `reason` the deciding rule
/// or safety rule (`keep-last`, `keep-daily`, ..., `newest-completed`, `empty-policy`,
/// `no-rule-matched`, `failed`, `failed-kept`, `stale-in-progress`, `in-progress`,
/// `deleting`, `no-status`); `matched` every keep rule that kept it.
#[pyclass(frozen, eq, module = "s3keep", name = "PlanEntry")]
#[derive(Clone, PartialEq)]
pub struct PyPlanEntry {
    id: PyBackupId,
    status: &'static str,
    created_at: UtcDateTime,
    action: &'static str,
    reason: &'static str,
    matched: Vec<&'static str>,
}

impl From<&PlanEntry> for PyPlanEntry {
    fn from(e: &PlanEntry) -> Self {
        Self {
            id: PyBackupId(e.id),
            status: e.status.as_str(),
            created_at: e.created_at.to_utc(),
            action: e.action.as_str(),
            reason: e.reason.as_str(),
            matched: e.matched.iter().map(|r| r.as_str()).collect(),
        }
    }
}

#[pymethods]
impl PyPlanEntry {
    #[getter]
    fn id(&self) -> PyBackupId {
        self.id
    }
    #[getter]
    fn status(&self) -> &'static str {
        self.status
    }
    #[getter]
    fn created_at(&self) -> UtcDateTime {
        self.created_at
    }
    #[getter]
    fn action(&self) -> &'static str {
        self.action
    }
    #[getter]
    fn reason(&self) -> &'static str {
        self.reason
    }
    #[getter]
    fn matched<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.matched)
    }
    fn __repr__(&self) -> String {
        format!(
            "PlanEntry(id={}, status={}, created_at={}, action={}, reason={})",
            q(&self.id.0.to_string()),
            q(self.status),
            rfc3339(Some(self.created_at)),
            q(self.action),
            q(self.reason)
        )
    }
}

/// What `prune` returns: every backup with its decision (`entries`, sorted by partition,
/// node, checkpoint), and for an executed plan (`dry_run=False`) the backups `deleted` and
/// those whose delete `failed`, as `(BackupId, S3KeepError)` pairs (a later prune finishes
/// them). Iterating a plan iterates its entries.
#[pyclass(frozen, module = "s3keep", name = "PrunePlan")]
pub struct PyPrunePlan {
    entries: Py<PyTuple>,
    dry_run: bool,
    deleted: Py<PyTuple>,
    failed: Py<PyTuple>,
}

impl PyPrunePlan {
    pub fn new(py: Python<'_>, outcome: PruneOutcome) -> PyResult<Self> {
        let entries: Vec<PyPlanEntry> = outcome.plan.entries.iter().map(PyPlanEntry::from).collect();
        let deleted: Vec<PyBackupId> = outcome.deleted.into_iter().map(PyBackupId).collect();
        let failed = outcome
            .failed
            .into_iter()
            .map(|(id, err)| -> PyResult<Bound<'_, PyTuple>> {
                let exc = to_pyerr(py, err).into_value(py);
                PyTuple::new(
                    py,
                    [
                        Bound::new(py, PyBackupId(id))?.into_any(),
                        exc.into_bound(py).into_any(),
                    ],
                )
            })
            .collect::<PyResult<Vec<_>>>()?;
        Ok(Self {
            entries: PyTuple::new(py, entries)?.unbind(),
            dry_run: outcome.dry_run,
            deleted: PyTuple::new(py, deleted)?.unbind(),
            failed: PyTuple::new(py, failed)?.unbind(),
        })
    }

    fn with_action<'py>(&self, py: Python<'py>, action: &str) -> PyResult<Bound<'py, PyTuple>> {
        let mut chosen = Vec::new();
        for entry in self.entries.bind(py).iter() {
            if entry.cast::<PyPlanEntry>()?.get().action == action {
                chosen.push(entry);
            }
        }
        PyTuple::new(py, chosen)
    }
}

#[pymethods]
impl PyPrunePlan {
    #[getter]
    fn entries<'py>(&self, py: Python<'py>) -> Bound<'py, PyTuple> {
        self.entries.bind(py).clone()
    }
    #[getter]
    fn dry_run(&self) -> bool {
        self.dry_run
    }
    #[getter]
    fn deleted<'py>(&self, py: Python<'py>) -> Bound<'py, PyTuple> {
        self.deleted.bind(py).clone()
    }
    #[getter]
    fn failed<'py>(&self, py: Python<'py>) -> Bound<'py, PyTuple> {
        self.failed.bind(py).clone()
    }
    /// The entries planned for delete.
    #[getter]
    fn to_delete<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        self.with_action(py, "delete")
    }
    /// The entries kept.
    #[getter]
    fn to_keep<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        self.with_action(py, "keep")
    }
    fn __len__(&self, py: Python<'_>) -> usize {
        self.entries.bind(py).len()
    }
    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.entries.bind(py).as_any().try_iter()?.into_any())
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "PrunePlan(dry_run={}, keep={}, delete={}, deleted={}, failed={})",
            if self.dry_run { "True" } else { "False" },
            self.to_keep(py)?.len(),
            self.to_delete(py)?.len(),
            self.deleted.bind(py).len(),
            self.failed.bind(py).len()
        ))
    }
}
