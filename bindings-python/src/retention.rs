//! `RetentionPolicy` (§7), the argument of `prune` (its result is `s3keep._results.PruneReport`).
//! Its keyword arguments and attributes are the core's settings (`RetentionPolicy::SETTINGS`).

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use s3keep::retention::{RetentionPolicy, Setting};

use crate::convert::option_text;
use crate::errors::to_pyerr;

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

/// The Python methods: `methods` as written, and one read-only attribute per setting of
/// the core (`keep_*` an int or `None`, `keep_within` and `stale_after` a `timedelta` or
/// `None` (`stale_after` `None`: the store's option), `prune_failed` and `prune_stale` bools).
macro_rules! methods_and_settings {
    ({ $($methods:tt)* } $($name:ident),*) => {
        #[pymethods]
        impl PyRetentionPolicy {
            $($methods)*
            $(
                #[getter]
                fn $name(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
                    let value = match self.0.get(stringify!($name)).expect("a setting of the core") {
                        Setting::Count(n) => n.into_pyobject(py)?.into_any(),
                        Setting::Duration(d) => d.into_pyobject(py)?.into_any(),
                        Setting::Flag(b) => b.into_pyobject(py)?.to_owned().into_any(),
                    };
                    Ok(value.unbind())
                }
            )*
        }
    };
}

methods_and_settings! {
{
    /// Counts are ints, durations a `timedelta`, seconds or text (`"7d"`); `None`: not set.
    #[new]
    #[pyo3(
        signature = (**settings),
        text_signature = "(*, keep_last=None, keep_hourly=None, keep_daily=None, keep_weekly=None, \
                          keep_monthly=None, keep_yearly=None, keep_within=None, prune_failed=False, \
                          prune_stale=False, stale_after=None)"
    )]
    fn new(py: Python<'_>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let mut policy = RetentionPolicy::default();
        for (name, value) in settings.into_iter().flat_map(|d| d.iter()) {
            let name: String = name.extract()?;
            let Some(setting) = policy.get(&name).filter(|_| !name.contains(char::is_uppercase)) else {
                let message = format!("RetentionPolicy() got an unexpected keyword argument '{name}'");
                return Err(PyTypeError::new_err(message));
            };
            if !value.is_none() {
                let text = option_text(&name, setting.kind(), &value)?;
                policy.set(&name, &text).map_err(|e| to_pyerr(py, e))?;
            }
        }
        Ok(Self(policy))
    }

    /// True when no `keep_*` rule is set (such a policy deletes no COMPLETED backup).
    #[getter]
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The settings that differ from the default, as keyword arguments.
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let mut parts = Vec::new();
        for (name, _) in RetentionPolicy::SETTINGS {
            if slf.get().0.get(name) != RetentionPolicy::default().get(name) {
                parts.push(format!("{name}={}", slf.getattr(name)?.repr()?));
            }
        }
        Ok(format!("RetentionPolicy({})", parts.join(", ")))
    }
}
    keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly,
    keep_within, prune_failed, prune_stale, stale_after
}
