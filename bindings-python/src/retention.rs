//! `RetentionPolicy` (§7), the argument of `prune` (its result is `s3keep._results.PruneReport`).

use std::time::Duration;

use pyo3::prelude::*;
use s3keep::retention::RetentionPolicy;

use crate::convert::{opt_count, opt_duration};

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
