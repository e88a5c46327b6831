//! One tokio runtime for the whole process, and the two ways Python waits on it.
//!
//! - [`block`]: the blocking methods. The operation runs as a task on the shared runtime
//!   while the calling thread, detached from the interpreter (GIL released), waits on it in
//!   slices of [`TICK`]. Between slices it re-attaches briefly to show progress and to run
//!   pending signal handlers: a Ctrl-C raises `KeyboardInterrupt` there, which cancels the
//!   operation's [`CancelToken`] and waits for its cleanup (a save aborts its multipart
//!   uploads and marks the backup FAILED) before the `KeyboardInterrupt` propagates.
//! - [`awaitable`]: the `*_async` methods, an asyncio future (pyo3-async-runtimes) over the
//!   same kind of task. Cancelling the asyncio task cancels the token the same way; the
//!   cleanup then finishes in the background.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use s3keep::runtime::CancelToken;
use tokio::runtime::Runtime;
use tokio::task::{AbortHandle, JoinHandle};

use crate::errors::{panicked, to_pyerr};
use crate::progress::ProgressSink;

/// How often a waiting thread checks for signals and shows progress.
pub const TICK: Duration = Duration::from_millis(100);

/// Configures the shared runtime; called once when the module is imported.
pub fn init() {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all().thread_name("s3keep-worker");
    pyo3_async_runtimes::tokio::init(builder);
}

/// The shared runtime (created on first use).
pub fn runtime() -> &'static Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
}

/// What the waiting side may do to a running operation.
#[derive(Clone, Default)]
pub struct Control {
    /// Given to operations that clean up when cancelled (save, restore); the others are
    /// simply dropped when interrupted (they are read-only or resumable).
    pub cancel: Option<CancelToken>,
    /// The Python progress callback, if any.
    pub progress: Option<Arc<ProgressSink>>,
}

/// Runs `work` to completion with the GIL released; see the module docs for Ctrl-C.
pub fn block<R, F>(py: Python<'_>, work: F, control: &Control) -> PyResult<R>
where
    F: Future<Output = s3keep::Result<R>> + Send + 'static,
    R: Send + 'static,
{
    let mut task = runtime().spawn(work);
    loop {
        if let Some(joined) = wait_slice(py, &mut task) {
            return match joined.map_err(panicked)? {
                Ok(value) => {
                    if let Some(sink) = &control.progress {
                        sink.flush(py)?;
                    }
                    Ok(value)
                }
                Err(e) => Err(to_pyerr(py, e)),
            };
        }
        let checked = match &control.progress {
            Some(sink) => sink.flush(py),
            None => Ok(()),
        };
        // Signal handlers run here, in the main thread: SIGINT raises KeyboardInterrupt.
        if let Err(err) = checked.and_then(|()| py.check_signals()) {
            stop(py, task, control);
            return Err(err);
        }
    }
}

/// Waits up to one [`TICK`] for `task`, detached from the interpreter.
fn wait_slice<T: Send>(py: Python<'_>, task: &mut JoinHandle<T>) -> Option<Result<T, tokio::task::JoinError>> {
    py.detach(|| runtime().block_on(async { tokio::time::timeout(TICK, task).await.ok() }))
}

/// Stops an interrupted operation: cancels it and waits for its cleanup, or drops it when
/// it has nothing to clean up. A second Ctrl-C stops the waiting (the cleanup then goes on
/// in the background, as far as the process lives).
fn stop<T: Send>(py: Python<'_>, mut task: JoinHandle<T>, control: &Control) {
    let Some(cancel) = &control.cancel else {
        task.abort();
        return;
    };
    cancel.cancel();
    while wait_slice(py, &mut task).is_none() {
        if py.check_signals().is_err() {
            return;
        }
    }
}

/// Returns an asyncio awaitable for `work`, whose result `convert` turns into Python.
pub fn awaitable<'py, R, F, C>(py: Python<'py>, work: F, control: Control, convert: C) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = s3keep::Result<R>> + Send + 'static,
    R: Send + 'static,
    C: FnOnce(Python<'_>, R) -> PyResult<Py<PyAny>> + Send + 'static,
{
    // Progress callbacks run on the caller's event loop, like any asyncio callback.
    let event_loop = match &control.progress {
        Some(_) => Some(
            pyo3_async_runtimes::tokio::get_current_locals(py)?
                .event_loop(py)
                .unbind(),
        ),
        None => None,
    };
    let mut task = runtime().spawn(work);
    let guard = StopOnDrop {
        cancel: control.cancel.clone(),
        abort: task.abort_handle(),
        armed: true,
    };
    let sink = control.progress;
    pyo3_async_runtimes::tokio::future_into_py(py, async move {
        // Owned by the future: dropping the future (asyncio cancelled it) stops the task.
        let mut guard = guard;
        let joined = match (&sink, &event_loop) {
            (Some(sink), Some(event_loop)) => loop {
                match tokio::time::timeout(TICK, &mut task).await {
                    Ok(joined) => break joined,
                    Err(_) => sink.post(event_loop),
                }
            },
            _ => (&mut task).await,
        };
        guard.armed = false;
        let result = joined.map_err(panicked)?;
        if let (Ok(_), Some(sink), Some(event_loop)) = (&result, &sink, &event_loop) {
            sink.post(event_loop);
        }
        Python::attach(|py| match result {
            Ok(value) => convert(py, value),
            Err(e) => Err(to_pyerr(py, e)),
        })
    })
}

/// Cancels (or aborts) the operation when the asyncio side drops it before it finished.
struct StopOnDrop {
    cancel: Option<CancelToken>,
    abort: AbortHandle,
    armed: bool,
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if self.armed {
            match &self.cancel {
                Some(cancel) => cancel.cancel(),
                None => self.abort.abort(),
            }
        }
    }
}
