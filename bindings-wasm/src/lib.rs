//! The WebAssembly binding of s3keep: translation only; behaviour lives in the core (§10).
//!
//! wasm-bindgen exports one class, `WasmStore`, wrapped by the JavaScript module
//! `bindings-wasm/js/api.js` (the `BackupStore` users see). Options cross the boundary as
//! JS objects whose fields become the core's option strings (`options.rs`); results as the
//! core's JSON documents (`s3keep::report`, docs/SCHEMA.md), parsed into JS objects (the
//! wrapper turns their `...At` timestamps into `Date`s and errors into `S3KeepError`
//! subclasses). File bytes cross as `Uint8Array`s: pulled by the core through JS callbacks
//! one part at a time to save (`source.rs`), so a `Blob` is never read whole; pushed as a
//! `ReadableStream` to restore.
//!
//! Every method returns a `Promise` (`openFile` a `ReadableStream`). A `WasmCancel` handle
//! (the wrapper ties it to an `AbortSignal`) cancels: `save` through the core's
//! `CancelToken` (uploads aborted, status FAILED), the other operations by dropping their
//! future, which aborts the `fetch`es in flight.
#![cfg(target_arch = "wasm32")]

mod cancel;
mod error;
mod options;
mod source;

use std::future::Future;
use std::sync::Arc;

use futures::{StreamExt as _, TryStreamExt as _};
use js_sys::{Array, Function, Promise};
use s3keep::backup::{BackupStore, DeleteOptions, FileEntry, Progress, SaveOptions};
use s3keep::BackupId;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

pub use cancel::WasmCancel;

use error::to_js;

/// A backup store (one bucket and prefix), as the JS wrapper's `BackupStore` holds it.
#[wasm_bindgen]
pub struct WasmStore {
    store: BackupStore,
}

#[wasm_bindgen]
impl WasmStore {
    /// `options`: the user's options object without `env`; `env(name)`: a variable of the
    /// environment or `undefined` (absent: no environment). Throws `InvalidInput` for an
    /// unknown option or a bad value, naming it.
    #[wasm_bindgen(constructor)]
    pub fn new(options: &js_sys::Object, env: Option<Function>) -> Result<WasmStore, JsValue> {
        let config = options::store_config(options, env).map_err(|e| to_js(&e))?;
        let store = BackupStore::new(config).map_err(|e| to_js(&e))?;
        Ok(WasmStore { store })
    }

    /// save(id, files, metadata, descriptor): `files` is an array of `[set, name, kind,
    /// payload, size]` (see `source.rs`); `metadata` the JSON `{key: value}`, `descriptor`
    /// the JSON of Zeebe's fields. Resolves to the backup's info (COMPLETED).
    pub fn save(
        &self,
        id: &str,
        files: Array,
        metadata: &str,
        descriptor: &str,
        on_progress: Option<Function>,
        cancel: Option<WasmCancel>,
    ) -> Result<Promise, JsValue> {
        let id = parse_id(id)?;
        let sets = source::file_sets(&files).map_err(|e| to_js(&e))?;
        let save = SaveOptions {
            user_metadata: options::parse(metadata, "metadata").map_err(|e| to_js(&e))?,
            descriptor: options::parse(descriptor, "descriptor").map_err(|e| to_js(&e))?,
            progress: on_progress.map(progress_callback),
            // The core cancels a save itself: it must abort uploads and mark the backup FAILED.
            cancel: cancel.map(|c| c.token()),
        };
        let store = self.store.clone();
        Ok(future_to_promise(async move {
            let info = store.save(id, sets, save).await.map_err(|e| to_js(&e))?;
            Ok(json(&info))
        }))
    }

    /// status(id): the backup's info; status `DOES_NOT_EXIST` when there is none.
    pub fn status(&self, id: &str, cancel: Option<WasmCancel>) -> Result<Promise, JsValue> {
        let id = parse_id(id)?;
        Ok(self.op(cancel, move |s| async move { s.status(id).await }))
    }

    /// Creates the bucket if it does not exist (only with `createBucket: true`).
    #[wasm_bindgen(js_name = ensureBucket)]
    pub fn ensure_bucket(&self, cancel: Option<WasmCancel>) -> Promise {
        let store = self.store.clone();
        run(cancel, async move {
            store.ensure_bucket().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// list(filter): `filter` is `{partition?, checkpoint?, node?}`.
    pub fn list(&self, filter: &js_sys::Object, cancel: Option<WasmCancel>) -> Result<Promise, JsValue> {
        let filter = options::list_filter(filter).map_err(|e| to_js(&e))?;
        Ok(self.op(cancel, move |s| async move { s.list(filter).await }))
    }

    /// The core's `DirectoryPlan` of a COMPLETED backup (names, sets, clashes checked):
    /// JSON `{bytesTotal, filesTotal, files: [{set, entry, path, temp}]}`.
    #[wasm_bindgen(js_name = directoryPlan)]
    pub fn directory_plan(
        &self,
        id: &str,
        sets: Option<Vec<String>>,
        root_set: Option<String>,
        cancel: Option<WasmCancel>,
    ) -> Result<Promise, JsValue> {
        let id = parse_id(id)?;
        Ok(self.op(
            cancel,
            move |s| async move { s.directory_plan(id, sets, root_set).await },
        ))
    }

    /// restoreToBucket(id, url, set?): restores into `s3://BUCKET/PREFIX?...` (§13); with
    /// `set`, only that set, straight under the prefix. Resolves to the restore report.
    #[wasm_bindgen(js_name = restoreToBucket)]
    pub fn restore_to_bucket(
        &self,
        id: &str,
        url: &str,
        set: Option<String>,
        on_progress: Option<Function>,
        cancel: Option<WasmCancel>,
    ) -> Result<Promise, JsValue> {
        let id = parse_id(id)?;
        let target = s3keep::backup::BucketUrl::parse(url).map_err(|e| to_js(&e))?;
        let mut options = match set {
            Some(set) => s3keep::backup::RestoreOptions::only_set(set),
            None => s3keep::backup::RestoreOptions::default(),
        };
        options.progress = on_progress.map(progress_callback);
        Ok(self.op(cancel, move |s| async move {
            s.restore_to_bucket(id, &target, options).await
        }))
    }

    /// One file of `directoryPlan` as a `ReadableStream` of `Uint8Array`s; its GetObject is
    /// sent on the first read. It errors (with the core's error object) instead of closing
    /// when the size or CRC32C is wrong, and with `Cancelled` when `cancel` fires.
    #[wasm_bindgen(js_name = openFile)]
    pub fn open_file(&self, id: &str, set: &str, entry: &str, cancel: Option<WasmCancel>) -> Result<JsValue, JsValue> {
        let id = parse_id(id)?;
        let entry: FileEntry = options::parse(entry, "file entry").map_err(|e| to_js(&e))?;
        let (store, set) = (self.store.clone(), set.to_string());
        let open = async move { store.open_file(id, &set, &entry).await.map(|output| output.body) };
        let body = futures::stream::once(open).try_flatten();
        let body = match cancel {
            Some(cancel) => cancel.guard(body).boxed_local(),
            None => body.boxed_local(),
        };
        let chunks = body.map(|item| match item {
            Ok(chunk) => Ok(js_sys::Uint8Array::from(&chunk[..]).into()),
            Err(e) => Err(to_js(&e)),
        });
        Ok(wasm_streams::ReadableStream::from_stream(chunks).into_raw().into())
    }

    /// Reads one file of `directoryPlan` whole, CRC32C verified: a `Uint8Array`.
    #[wasm_bindgen(js_name = readFile)]
    pub fn read_file(&self, id: &str, set: &str, entry: &str, cancel: Option<WasmCancel>) -> Result<Promise, JsValue> {
        let id = parse_id(id)?;
        let entry: FileEntry = options::parse(entry, "file entry").map_err(|e| to_js(&e))?;
        let (store, set) = (self.store.clone(), set.to_string());
        Ok(run(cancel, async move {
            let bytes = store.read_file(id, &set, &entry).await?;
            Ok(js_sys::Uint8Array::from(&bytes[..]).into())
        }))
    }

    /// markFailed(id, reason): IN_PROGRESS → FAILED.
    #[wasm_bindgen(js_name = markFailed)]
    pub fn mark_failed(&self, id: &str, reason: &str, cancel: Option<WasmCancel>) -> Result<Promise, JsValue> {
        let (id, reason) = (parse_id(id)?, reason.to_string());
        Ok(self.op(cancel, move |s| async move { s.mark_failed(id, &reason).await }))
    }

    /// delete(id, force): resolves to the report (`id`..., `objectsDeleted`).
    pub fn delete(&self, id: &str, force: bool, cancel: Option<WasmCancel>) -> Result<Promise, JsValue> {
        let id = parse_id(id)?;
        Ok(self.op(
            cancel,
            move |s| async move { s.delete(id, DeleteOptions { force }).await },
        ))
    }

    /// verify(id, deep): the report, `problems` empty when intact.
    pub fn verify(&self, id: &str, deep: bool, cancel: Option<WasmCancel>) -> Result<Promise, JsValue> {
        let id = parse_id(id)?;
        Ok(self.op(cancel, move |s| async move { s.verify(id, deep).await }))
    }

    /// prune(policy, dryRun): `policy` is the user's object of retention settings.
    pub fn prune(
        &self,
        policy: &js_sys::Object,
        dry_run: bool,
        cancel: Option<WasmCancel>,
    ) -> Result<Promise, JsValue> {
        let policy = options::retention_policy(policy).map_err(|e| to_js(&e))?;
        Ok(self.op(cancel, move |s| async move { s.prune(&policy, dry_run).await }))
    }

    /// cleanupUploads(olderThan): the report of the multipart uploads aborted; `olderThan` in
    /// ms or text (`"24h"`), `undefined` for the `staleAfter` option.
    #[wasm_bindgen(js_name = cleanupUploads)]
    pub fn cleanup_uploads(&self, older_than: JsValue, cancel: Option<WasmCancel>) -> Result<Promise, JsValue> {
        let given = !older_than.is_undefined() && !older_than.is_null();
        let older_than = given.then(|| options::duration("olderThan", &older_than).map_err(|e| to_js(&e)));
        let older_than = older_than.transpose()?;
        Ok(self.op(cancel, move |s| async move { s.cleanup_uploads(older_than).await }))
    }

    /// check(): the report, one line per probe (`endpoint`, `credentials`, `bucket`, ...).
    pub fn check(&self, cancel: Option<WasmCancel>) -> Promise {
        let store = self.store.clone();
        run(cancel, async move { Ok(json(&store.check().await)) })
    }

    /// The effective options, without secrets: the core's `ConfigReport`.
    pub fn config(&self) -> JsValue {
        json(&self.store.config().describe())
    }

    /// What the store points at, without secrets: `{bucket, prefix, endpoint, region}`.
    pub fn describe(&self) -> JsValue {
        let config = self.store.config();
        json(&serde_json::json!({
            "bucket": config.client.bucket,
            "prefix": config.prefix,
            "endpoint": self.store.client().endpoint(),
            "region": config.client.region,
        }))
    }
}

/// The resume check of `restoreToDirectory`: resolves to whether `bytes`, a `ReadableStream`
/// of the file already at the path of `entry` (JSON `{name, size, crc32c}`), is that entry
/// (the core's `is_restored`: size and CRC32C).
#[wasm_bindgen(js_name = isRestored)]
pub fn is_restored(entry: &str, bytes: wasm_streams::readable::sys::ReadableStream) -> Result<Promise, JsValue> {
    let entry: FileEntry = options::parse(entry, "file entry").map_err(|e| to_js(&e))?;
    let bytes = source::js_stream(bytes, entry.name.clone());
    Ok(future_to_promise(async move {
        let restored = s3keep::backup::is_restored(&entry, bytes).await;
        restored.map(JsValue::from).map_err(|e| to_js(&e))
    }))
}

impl WasmStore {
    /// Runs `f` on a clone of the store as a Promise of its result's JSON document (see [`run`]).
    fn op<T, F>(&self, cancel: Option<WasmCancel>, f: impl FnOnce(BackupStore) -> F) -> Promise
    where
        T: Serialize,
        F: Future<Output = s3keep::Result<T>> + 'static,
    {
        let work = f(self.store.clone());
        run(cancel, async move { Ok(json(&work.await?)) })
    }
}

/// The core's JSON document of `value` as a JS value (through `JSON.parse`, the cheapest way
/// across).
fn json(value: &impl Serialize) -> JsValue {
    let text = serde_json::to_string(value).expect("results always serialise");
    js_sys::JSON::parse(&text).expect("serde_json writes valid JSON")
}

/// Parses `P/C/N` (the wrapper turns `{partition, checkpoint, node}` into that form).
fn parse_id(id: &str) -> Result<BackupId, JsValue> {
    id.parse::<BackupId>().map_err(|e| to_js(&e))
}

/// Runs `work` as a Promise, rejected with an `S3KeepError` object on error and with
/// `Cancelled` when `cancel` fires first (dropping `work` aborts its requests).
fn run<F>(cancel: Option<WasmCancel>, work: F) -> Promise
where
    F: Future<Output = s3keep::Result<JsValue>> + 'static,
{
    future_to_promise(async move {
        let result = match cancel {
            Some(cancel) => cancel.race(work).await,
            None => work.await,
        };
        result.map_err(|e| to_js(&e))
    })
}

/// Calls `f({bytesDone, bytesTotal, filesDone, filesTotal})` with the core's snapshots, in
/// order; its exceptions are ignored (a progress bar must not fail a backup).
fn progress_callback(f: Function) -> Arc<dyn s3keep::backup::ProgressFn> {
    Arc::new(move |p: Progress| {
        let _ = f.call1(&JsValue::NULL, &json(&p));
    })
}
