//! Progress reports of save and restore.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::runtime::MaybeSend;

/// How far a save or restore has got. Bytes in bytes; files counted when finished.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Bytes transferred so far.
    pub bytes_done: u64,
    /// Bytes to transfer in all (unknown stream sizes count as 0).
    pub bytes_total: u64,
    /// Files finished.
    pub files_done: u64,
    /// Files in all.
    pub files_total: u64,
}

/// A progress callback. Called from the task doing the transfer: keep it quick.
pub trait ProgressFn: Fn(Progress) + MaybeSend {}
impl<T: Fn(Progress) + MaybeSend> ProgressFn for T {}

/// Shared counters behind the callback.
#[derive(Clone)]
pub(crate) struct Tracker {
    inner: Arc<TrackerInner>,
}

struct TrackerInner {
    bytes_done: AtomicU64,
    files_done: AtomicU64,
    bytes_total: u64,
    files_total: u64,
    callback: Option<Arc<dyn ProgressFn>>,
}

impl Tracker {
    pub fn new(bytes_total: u64, files_total: u64, callback: Option<Arc<dyn ProgressFn>>) -> Self {
        let tracker = Self {
            inner: Arc::new(TrackerInner {
                bytes_done: AtomicU64::new(0),
                files_done: AtomicU64::new(0),
                bytes_total,
                files_total,
                callback,
            }),
        };
        tracker.report();
        tracker
    }

    pub fn add_bytes(&self, n: u64) {
        self.inner.bytes_done.fetch_add(n, Ordering::Relaxed);
        self.report();
    }

    pub fn file_done(&self) {
        self.inner.files_done.fetch_add(1, Ordering::Relaxed);
        self.report();
    }

    pub fn snapshot(&self) -> Progress {
        Progress {
            bytes_done: self.inner.bytes_done.load(Ordering::Relaxed),
            bytes_total: self.inner.bytes_total,
            files_done: self.inner.files_done.load(Ordering::Relaxed),
            files_total: self.inner.files_total,
        }
    }

    fn report(&self) {
        if let Some(callback) = &self.inner.callback {
            callback(self.snapshot());
        }
    }
}
