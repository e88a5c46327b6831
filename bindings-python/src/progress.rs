//! The `progress` callback: `progress(bytes_done, bytes_total, files_done, files_total)`.
//!
//! The core reports from its transfer tasks, often thousands of times a second. Those reports
//! only land in a [`ProgressSink`] (no Python, no GIL); the Python callable is called from
//! the waiting side at most every [`TICK`](crate::runtime::TICK) and once more at the end:
//! in the calling thread for blocking calls, on the event loop for `*_async` calls.

use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use s3keep::backup::{Progress, ProgressFn};

/// The latest progress of one operation and the Python callable to show it to.
pub struct ProgressSink {
    callback: Py<PyAny>,
    /// The latest report, until the callable saw it.
    latest: Mutex<Option<Progress>>,
}

impl ProgressSink {
    /// A sink calling `callback`; `None` when the callback is `None`.
    pub fn new(callback: Option<Bound<'_, PyAny>>) -> PyResult<Option<Arc<Self>>> {
        let Some(callback) = callback.filter(|c| !c.is_none()) else {
            return Ok(None);
        };
        if !callback.is_callable() {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "progress must be a callable taking (bytes_done, bytes_total, files_done, files_total)",
            ));
        }
        Ok(Some(Arc::new(Self {
            callback: callback.unbind(),
            latest: Mutex::new(None),
        })))
    }

    /// The callback handed to the core.
    pub fn core_callback(self: &Arc<Self>) -> Arc<dyn ProgressFn> {
        let sink = Arc::clone(self);
        // The core delivers snapshots in order: the latest is the furthest.
        Arc::new(move |p: Progress| *sink.latest.lock().expect("not poisoned") = Some(p))
    }

    /// The latest report, if one arrived since the last call.
    fn take(&self) -> Option<Progress> {
        self.latest.lock().expect("not poisoned").take()
    }

    /// Calls the callable with the latest report, if there is a new one.
    pub fn flush(&self, py: Python<'_>) -> PyResult<()> {
        match self.take() {
            Some(p) => self.callback.call1(py, args(p)).map(drop),
            None => Ok(()),
        }
    }

    /// Schedules the callable on `event_loop` (`*_async` calls) if there is a new report.
    pub fn post(&self, event_loop: &Py<PyAny>) {
        if let Some(p) = self.take() {
            let (a, b, c, d) = args(p);
            Python::attach(|py| {
                // Fails only when the loop is closed: nobody is left to show progress to.
                let _ = event_loop.call_method1(py, "call_soon_threadsafe", (&self.callback, a, b, c, d));
            });
        }
    }
}

/// The arguments of the callable for `p`.
fn args(p: Progress) -> (u64, u64, u64, u64) {
    (p.bytes_done, p.bytes_total, p.files_done, p.files_total)
}
