//! Time and sleep on every target: tokio and the system clock natively, JS timers and
//! `Date.now()` in wasm32, where `SystemTime::now()` panics (std has no clock on
//! wasm32-unknown-unknown).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The wall clock.
pub fn now() -> SystemTime {
    #[cfg(not(target_arch = "wasm32"))]
    {
        SystemTime::now()
    }
    #[cfg(target_arch = "wasm32")]
    {
        UNIX_EPOCH + Duration::from_secs_f64(js_sys::Date::now() / 1000.0)
    }
}

/// Milliseconds since the Unix epoch, by the wall clock.
pub fn now_millis() -> i64 {
    now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The wall clock as an `OffsetDateTime` in UTC.
pub fn now_utc() -> time::OffsetDateTime {
    time::OffsetDateTime::from(now())
}

/// Measures elapsed time with the best clock of the target.
#[derive(Clone, Copy, Debug)]
pub struct Stopwatch {
    #[cfg(not(target_arch = "wasm32"))]
    start: std::time::Instant,
    #[cfg(target_arch = "wasm32")]
    start_ms: f64,
}

impl Stopwatch {
    /// Starts measuring.
    pub fn start() -> Self {
        #[cfg(not(target_arch = "wasm32"))]
        {
            Self {
                start: std::time::Instant::now(),
            }
        }
        #[cfg(target_arch = "wasm32")]
        {
            Self {
                start_ms: js_sys::Date::now(),
            }
        }
    }

    /// Time since [`Stopwatch::start`].
    pub fn elapsed(&self) -> Duration {
        #[cfg(not(target_arch = "wasm32"))]
        {
            self.start.elapsed()
        }
        #[cfg(target_arch = "wasm32")]
        {
            Duration::from_secs_f64(((js_sys::Date::now() - self.start_ms) / 1000.0).max(0.0))
        }
    }
}

/// Sleeps without blocking the executor.
pub async fn sleep(duration: Duration) {
    #[cfg(not(target_arch = "wasm32"))]
    tokio::time::sleep(duration).await;
    #[cfg(target_arch = "wasm32")]
    js_sleep(duration).await;
}

/// Runs `future` for at most `duration`: `None` when the time ran out first (the future is
/// dropped, which cancels it).
pub async fn timeout<F: std::future::Future>(duration: Duration, future: F) -> Option<F::Output> {
    let sleep = sleep(duration);
    futures::pin_mut!(future, sleep);
    match futures::future::select(future, sleep).await {
        futures::future::Either::Left((output, _)) => Some(output),
        futures::future::Either::Right(_) => None,
    }
}

/// A JS timer (setTimeout exists in Node, Deno, Bun, browsers and workerd), cleared when the
/// future is dropped: timeouts that did not fire leave no timer behind (workerd reports a
/// request whose pending work is only stale timers as hung).
#[cfg(target_arch = "wasm32")]
async fn js_sleep(duration: Duration) {
    let ms = u32::try_from(duration.as_millis()).unwrap_or(u32::MAX);
    gloo_timers::future::TimeoutFuture::new(ms).await;
}

/// `Send + Sync` natively, nothing in wasm32 (where JS values are neither).
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSend: Send + Sync {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + Sync + ?Sized> MaybeSend for T {}
/// `Send + Sync` natively, nothing in wasm32 (where JS values are neither).
#[cfg(target_arch = "wasm32")]
pub trait MaybeSend {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> MaybeSend for T {}

/// A boxed future, `Send` natively.
#[cfg(not(target_arch = "wasm32"))]
pub type BoxFuture<'a, T> = futures::future::BoxFuture<'a, T>;
/// A boxed future, `Send` natively.
#[cfg(target_arch = "wasm32")]
pub type BoxFuture<'a, T> = futures::future::LocalBoxFuture<'a, T>;

/// A cancellation signal shared by a caller and a running operation (Ctrl-C in Python,
/// `AbortSignal` in JS). Cancelling makes `save` stop, abort its uploads and mark FAILED.
#[derive(Clone, Debug, Default)]
pub struct CancelToken {
    inner: std::sync::Arc<CancelInner>,
}

#[derive(Debug, Default)]
struct CancelInner {
    cancelled: std::sync::atomic::AtomicBool,
    notify: tokio::sync::Notify,
}

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels every operation holding this token.
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, std::sync::atomic::Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Resolves once cancelled.
    pub async fn cancelled(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}
