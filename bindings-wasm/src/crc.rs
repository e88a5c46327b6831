//! Restore, file by file: `WasmFileReader` hands a verified GetObject body to JS chunk by
//! chunk (the wrapper builds a `ReadableStream` on it); `WasmCrc32c` lets the Node helper
//! check files already on disk.

use std::cell::RefCell;
use std::rc::Rc;

use futures::StreamExt as _;
use js_sys::{Promise, Uint8Array};
use s3keep::s3::checksum::Crc32c;
use s3keep::s3::ByteStream;
use s3keep::{Error, ErrorDetails};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::cancel::WasmCancel;
use crate::error::to_js;

/// One file being read: `next()` resolves to the next `Uint8Array`, or `undefined` once the
/// file ended and its size and CRC32C matched (else it rejects with `Integrity`).
#[wasm_bindgen]
pub struct WasmFileReader {
    state: Rc<RefCell<State>>,
    cancel: Option<WasmCancel>,
}

enum State {
    Ready(ByteStream),
    /// A `next()` is pending (the body is in its future).
    Busy,
    /// Ended, failed or closed.
    Done,
}

impl WasmFileReader {
    pub(crate) fn new(body: ByteStream, cancel: Option<WasmCancel>) -> Self {
        Self {
            state: Rc::new(RefCell::new(State::Ready(body))),
            cancel,
        }
    }
}

#[wasm_bindgen]
impl WasmFileReader {
    /// The next chunk; `undefined` at the (verified) end. One call at a time.
    pub fn next(&self) -> Promise {
        let cell = self.state.clone();
        let cancel = self.cancel.clone();
        future_to_promise(async move {
            let taken = std::mem::replace(&mut *cell.borrow_mut(), State::Busy);
            let mut body = match taken {
                State::Ready(body) => body,
                State::Busy => return Err(to_js(&busy())),
                State::Done => {
                    *cell.borrow_mut() = State::Done;
                    return Ok(JsValue::UNDEFINED);
                }
            };
            let item = match &cancel {
                Some(c) => c.race(async { Ok(body.next().await) }).await,
                None => Ok(body.next().await),
            };
            match item {
                Ok(Some(Ok(chunk))) => {
                    // close() during the read wins: the body is dropped.
                    let mut state = cell.borrow_mut();
                    if matches!(*state, State::Busy) {
                        *state = State::Ready(body);
                    }
                    Ok(Uint8Array::from(&chunk[..]).into())
                }
                Ok(None) => {
                    *cell.borrow_mut() = State::Done;
                    Ok(JsValue::UNDEFINED)
                }
                Ok(Some(Err(e))) | Err(e) => {
                    *cell.borrow_mut() = State::Done;
                    Err(to_js(&e))
                }
            }
        })
    }

    /// Stops reading: the download is dropped (its `fetch` aborted).
    pub fn close(&self) {
        *self.state.borrow_mut() = State::Done;
    }
}

/// CRC32C as S3 writes it (base64 of the 4 big-endian bytes), fed chunk by chunk.
#[wasm_bindgen]
#[derive(Default)]
pub struct WasmCrc32c {
    crc: Crc32c,
}

#[wasm_bindgen]
impl WasmCrc32c {
    /// An empty checksum.
    #[wasm_bindgen(constructor)]
    pub fn new() -> WasmCrc32c {
        WasmCrc32c::default()
    }

    /// Adds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.crc.update(bytes);
    }

    /// The checksum so far, base64.
    pub fn digest(&self) -> String {
        self.crc.to_base64()
    }
}

fn busy() -> Error {
    Error::InvalidInput(ErrorDetails::message("a read of this file is already pending"))
}
