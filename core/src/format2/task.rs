//! Background tasks on every target: tokio tasks natively (aborted when their handle is
//! dropped, so a failed or cancelled save stops its uploads), `spawn_local` in wasm32.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::{Error, ErrorDetails, Result};

/// A spawned future's result.
pub(crate) struct Task<T> {
    #[cfg(not(target_arch = "wasm32"))]
    handle: tokio::task::JoinHandle<T>,
    #[cfg(target_arch = "wasm32")]
    receiver: futures::channel::oneshot::Receiver<T>,
}

/// Runs `future` in the background; await the [`Task`] for its output.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn spawn<F>(future: F) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Task {
        handle: tokio::spawn(future),
    }
}

/// Runs `future` in the background; await the [`Task`] for its output.
#[cfg(target_arch = "wasm32")]
pub(crate) fn spawn<F>(future: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let (sender, receiver) = futures::channel::oneshot::channel();
    wasm_bindgen_futures::spawn_local(async move {
        let _ = sender.send(future.await);
    });
    Task { receiver }
}

impl<T> Future for Task<T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        #[cfg(not(target_arch = "wasm32"))]
        let polled = Pin::new(&mut self.handle).poll(cx).map(|r| match r {
            Ok(value) => Ok(value),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(stopped()),
        });
        #[cfg(target_arch = "wasm32")]
        let polled = Pin::new(&mut self.receiver).poll(cx).map(|r| r.map_err(|_| stopped()));
        polled
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        #[cfg(not(target_arch = "wasm32"))]
        self.handle.abort();
    }
}

fn stopped() -> Error {
    Error::Cancelled(ErrorDetails::message("a background task of the operation was stopped"))
}

/// Runs blocking work (file reads, hashing, compression) off the async threads natively;
/// inline in wasm32, which has no threads.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("blocking task cancelled: {e}"),
    }
}
