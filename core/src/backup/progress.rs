//! Progress reports of save and restore, delivered in order.

use std::sync::{Arc, Mutex};

use crate::report::Progress;
use crate::runtime::MaybeSend;

/// A progress callback. Called from the task doing the transfer, one call at a time, with
/// snapshots in order (every field only grows): keep it quick, since transfers wait for it.
pub trait ProgressFn: Fn(Progress) + MaybeSend {}
impl<T: Fn(Progress) + MaybeSend> ProgressFn for T {}

/// The counters behind the callback, shared by the transfer tasks.
#[derive(Clone)]
pub(crate) struct Tracker {
    inner: Arc<TrackerInner>,
}

struct TrackerInner {
    /// Concurrent tasks update the counters and call the callback under this lock, so that
    /// snapshots reach the callback in the order they were taken.
    state: Mutex<Progress>,
    callback: Option<Arc<dyn ProgressFn>>,
}

impl Tracker {
    pub fn new(bytes_total: u64, files_total: u64, callback: Option<Arc<dyn ProgressFn>>) -> Self {
        let tracker = Self {
            inner: Arc::new(TrackerInner {
                state: Mutex::new(Progress {
                    bytes_total,
                    files_total,
                    ..Progress::default()
                }),
                callback,
            }),
        };
        tracker.update(|_| {});
        tracker
    }

    pub fn add_bytes(&self, n: u64) {
        self.update(|p| p.bytes_done += n);
    }

    pub fn file_done(&self) {
        self.update(|p| p.files_done += 1);
    }

    fn update(&self, change: impl FnOnce(&mut Progress)) {
        // A callback that panicked leaves the counters as they were: keep counting.
        let mut state = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut state);
        if let Some(callback) = &self.inner.callback {
            callback(*state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_from_concurrent_threads_arrive_in_order() {
        let seen = Arc::new(Mutex::new(Vec::<Progress>::new()));
        let sink = Arc::clone(&seen);
        let tracker = Tracker::new(
            8 * 1000,
            8,
            Some(Arc::new(move |p: Progress| sink.lock().unwrap().push(p))),
        );
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let tracker = tracker.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        tracker.add_bytes(1);
                    }
                    tracker.file_done();
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1 + 8 * 1000 + 8);
        for pair in seen.windows(2) {
            assert!(pair[1].bytes_done >= pair[0].bytes_done, "{pair:?}");
            assert!(pair[1].files_done >= pair[0].files_done, "{pair:?}");
        }
        let last = seen.last().unwrap();
        assert_eq!((last.bytes_done, last.files_done), (8000, 8));
    }
}
