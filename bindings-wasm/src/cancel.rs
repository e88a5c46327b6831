//! `WasmCancel`: the core's `CancelToken` as a JS object. The wrapper makes one per call
//! that has an `AbortSignal` and calls `cancel()` when the signal fires.

use std::future::Future;

use futures::{Stream, StreamExt as _};

use s3keep::runtime::CancelToken;
use s3keep::{Error, ErrorDetails};
use wasm_bindgen::prelude::*;

/// A cancellation handle shared by the JS wrapper and one running operation.
#[wasm_bindgen]
#[derive(Clone, Default)]
pub struct WasmCancel {
    token: CancelToken,
}

#[wasm_bindgen]
impl WasmCancel {
    /// A handle not yet cancelled.
    #[wasm_bindgen(constructor)]
    pub fn new() -> WasmCancel {
        WasmCancel::default()
    }

    /// Cancels the operations holding this handle (or a clone of it).
    pub fn cancel(&self) {
        self.token.cancel();
    }

    /// Another handle on the same token: a method argument consumes the handle it is given,
    /// so the wrapper passes a clone and keeps the original for `cancel()`.
    #[wasm_bindgen(js_name = cloneHandle)]
    pub fn clone_handle(&self) -> WasmCancel {
        self.clone()
    }
}

impl WasmCancel {
    /// The core's token.
    pub(crate) fn token(&self) -> CancelToken {
        self.token.clone()
    }

    /// `work`, or `Cancelled` as soon as the token fires (then `work` is dropped, which
    /// aborts its `fetch`es).
    pub(crate) async fn race<T>(&self, work: impl Future<Output = s3keep::Result<T>>) -> s3keep::Result<T> {
        if self.token.is_cancelled() {
            return Err(cancelled());
        }
        let stop = async {
            self.token.cancelled().await;
            Err(cancelled())
        };
        futures::pin_mut!(work, stop);
        futures::future::select(work, stop).await.factor_first().0
    }
}

impl WasmCancel {
    /// `stream`, failing with `Cancelled` as soon as the token fires; the rest of it is then
    /// dropped, which aborts its `fetch`.
    pub(crate) fn guard<T: 'static>(
        self,
        stream: impl Stream<Item = s3keep::Result<T>> + 'static,
    ) -> impl Stream<Item = s3keep::Result<T>> {
        futures::stream::unfold(Some((Box::pin(stream), self)), |state| async move {
            let (mut stream, cancel) = state?;
            match cancel.race(async { Ok(stream.next().await) }).await {
                Ok(Some(Ok(item))) => Some((Ok(item), Some((stream, cancel)))),
                Ok(Some(Err(e))) | Err(e) => Some((Err(e), None)),
                Ok(None) => None,
            }
        })
    }
}

pub(crate) fn cancelled() -> Error {
    Error::Cancelled(ErrorDetails::message("the operation was aborted (AbortSignal)"))
}
