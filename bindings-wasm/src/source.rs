//! The bytes to save, pulled from JS one part at a time.
//!
//! The wrapper hands every file over as `[set, name, kind, read, size]`:
//! - `"ranged"` (`Uint8Array`, `Blob`, `File`): `read(start, end)` gives the bytes
//!   `start..end` as a `Uint8Array`, or a `next()` function yielding them in chunks (a
//!   `blob.slice(start, end).stream()`), so only the parts in flight are ever in memory;
//! - `"stream"`: a `ReadableStream` of `Uint8Array`s, read as the upload needs it; `size`
//!   is known only when the caller gave it;
//! - `"url"`: the whole set is every object under the S3 prefix `read` (a string
//!   `s3://BUCKET/PREFIX?endpoint=...`, §13), parsed and listed by the core.

use bytes::Bytes;
use futures::StreamExt as _;
use js_sys::{Array, Function, Promise, Uint8Array};
use s3keep::backup::{FileSet, FileSpec, RangedSource, Source};
use s3keep::runtime::BoxFuture;
use s3keep::s3::ByteStream;
use s3keep::{Error, ErrorDetails, Result};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Groups the wrapper's `[set, name, kind, read, size]` entries into file sets, in order.
pub(crate) fn file_sets(files: &Array) -> Result<Vec<FileSet>> {
    let mut sets: Vec<FileSet> = Vec::new();
    for entry in files.iter() {
        let entry: Array = entry.unchecked_into();
        let set = entry
            .get(0)
            .as_string()
            .ok_or_else(|| Error::invalid_input("file set names must be strings"))?;
        let name = entry
            .get(1)
            .as_string()
            .ok_or_else(|| Error::invalid_input("file names must be strings"))?;
        if entry.get(2).as_string().as_deref() == Some("url") {
            let url = entry
                .get(3)
                .as_string()
                .ok_or_else(|| Error::invalid_input(format!("file set {set:?}: the URL must be a string")))?;
            sets.push(FileSet::from_url(set, &url)?);
            continue;
        }
        let size = entry.get(4).as_f64().map(|s| s as u64);
        let source = match entry.get(2).as_string().as_deref() {
            Some("ranged") => {
                let read: Function = entry
                    .get(3)
                    .dyn_into()
                    .map_err(|_| Error::invalid_input(format!("file {name:?}: no reader")))?;
                let size = size.ok_or_else(|| Error::invalid_input(format!("file {name:?}: size missing")))?;
                Source::Ranged(std::sync::Arc::new(JsRanged {
                    size,
                    read,
                    name: name.clone(),
                }))
            }
            Some("stream") => Source::Stream {
                size,
                stream: js_stream(entry.get(3).unchecked_into(), name.clone()),
            },
            _ => return Err(Error::invalid_input(format!("file {name:?}: unknown source kind"))),
        };
        let spec = FileSpec { name, source };
        match sets.iter_mut().find(|s| s.name == set) {
            Some(s) => s.files.push(spec),
            None => sets.push(FileSet {
                name: set,
                files: vec![spec],
            }),
        }
    }
    Ok(sets)
}

/// A `Uint8Array`, `Blob` or `File`, read by ranges.
struct JsRanged {
    size: u64,
    read: Function,
    name: String,
}

impl RangedSource for JsRanged {
    fn size(&self) -> u64 {
        self.size
    }

    fn read(&self, start: u64, end: u64) -> BoxFuture<'_, Result<Bytes>> {
        Box::pin(async move {
            let value = self
                .read
                .call2(
                    &JsValue::NULL,
                    &JsValue::from_f64(start as f64),
                    &JsValue::from_f64(end as f64),
                )
                .map_err(|e| js_io_error(&self.name, e))?;
            let value = resolve(value).await.map_err(|e| js_io_error(&self.name, e))?;
            match value.dyn_into::<Function>() {
                Ok(next) => self.collect(next, (end - start) as usize).await,
                Err(bytes) => chunk_bytes(&self.name, bytes),
            }
        })
    }
}

impl JsRanged {
    /// Gathers a range handed over as a `next()` function (a Blob slice's stream): each
    /// chunk is copied into the part as it arrives, so JS never holds the whole range.
    async fn collect(&self, next: Function, len: usize) -> Result<Bytes> {
        let mut part = Vec::with_capacity(len);
        loop {
            let chunk = match next.call0(&JsValue::NULL) {
                Ok(value) => resolve(value).await,
                Err(e) => Err(e),
            }
            .map_err(|e| js_io_error(&self.name, e))?;
            if chunk.is_undefined() || chunk.is_null() {
                return Ok(Bytes::from(part));
            }
            let array = as_uint8_array(&self.name, chunk)?;
            let at = part.len();
            part.resize(at + array.length() as usize, 0);
            array.copy_to(&mut part[at..]);
        }
    }
}

/// A `ReadableStream` of `Uint8Array`s, chunk by chunk; dropping it (a save failed) cancels it.
pub(crate) fn js_stream(stream: wasm_streams::readable::sys::ReadableStream, name: String) -> ByteStream {
    let chunks = wasm_streams::ReadableStream::from_raw(stream).into_stream();
    Box::pin(chunks.map(move |chunk| match chunk {
        Ok(chunk) => chunk_bytes(&name, chunk),
        Err(e) => Err(js_io_error(&name, e)),
    }))
}

/// Awaits `value` if it is a Promise.
async fn resolve(value: JsValue) -> std::result::Result<JsValue, JsValue> {
    match value.dyn_into::<Promise>() {
        Ok(promise) => JsFuture::from(promise).await,
        Err(value) => Ok(value),
    }
}

/// Copies a chunk into wasm memory (the CRC32C and the request body need it there).
fn chunk_bytes(name: &str, value: JsValue) -> Result<Bytes> {
    Ok(Bytes::from(as_uint8_array(name, value)?.to_vec()))
}

fn as_uint8_array(name: &str, value: JsValue) -> Result<Uint8Array> {
    if value.is_instance_of::<Uint8Array>() {
        Ok(value.unchecked_into())
    } else if value.is_instance_of::<js_sys::ArrayBuffer>() {
        Ok(Uint8Array::new(&value))
    } else {
        Err(Error::invalid_input(format!(
            "file {name:?}: a chunk is not a Uint8Array (ReadableStreams must yield bytes)"
        ))
        .with_key(name.to_string()))
    }
}

/// A JS exception while reading a source: the caller's `Io` error, with the JS message.
fn js_io_error(name: &str, err: JsValue) -> Error {
    let text = js_sys::Reflect::get(&err, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| err.as_string())
        .unwrap_or_else(|| "unknown JavaScript error".into());
    Error::Io(ErrorDetails::message(format!("reading {name} failed: {text}")).with_key(name.to_string()))
}
