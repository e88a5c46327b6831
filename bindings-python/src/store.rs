//! `BackupStore`: the core's store, each operation as a blocking method (GIL released) and
//! as an `*_async` method returning an asyncio awaitable. Both forms share one `*_call`
//! that reads the Python arguments and returns the work still to do as a [`Call`].

use std::future::Future;
use std::path::PathBuf;

use futures::future::BoxFuture;
use futures::FutureExt as _;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use s3keep::backup::{DeleteOptions, ListFilter, RestoreOptions, SaveOptions};
use s3keep::runtime::CancelToken;
use s3keep::{BackupStore, ConfigKey, StoreConfig};

use crate::convert::{duration, store_config};
use crate::errors::to_pyerr;
use crate::filesets;
use crate::ids::backup_id;
use crate::progress::ProgressSink;
use crate::results::{document, to_py, to_py_list};
use crate::retention::PyRetentionPolicy;
use crate::runtime::{awaitable, block, Control};

/// One bucket and prefix of an S3-compatible store, holding backups (§3, §4).
///
/// Construct with `BackupStore(bucket, **options)`, `BackupStore.from_url("s3://bucket/prefix?
/// endpoint=...", **options)` or `BackupStore.from_env(**options)`: the options of
/// docs/OPTIONS.md by their canonical names; what they leave unset comes from the URL, the
/// `S3KEEP_*` and `AWS_*` variables, the shared profile, then the defaults. Creating a
/// store sends no request; with `create_bucket=True` the first operation creates the
/// bucket if it is missing.
///
/// Every method blocks with the GIL released (other Python threads run meanwhile), and has
/// an `*_async` twin for asyncio. Safe to share between threads.
#[pyclass(frozen, module = "s3keep", name = "BackupStore")]
pub struct PyBackupStore {
    store: BackupStore,
}

/// The work of one method call, ready to run blocking or as an awaitable.
struct Call<R> {
    work: BoxFuture<'static, s3keep::Result<R>>,
    control: Control,
    convert: fn(Python<'_>, R) -> PyResult<Py<PyAny>>,
}

impl<R: Send + 'static> Call<R> {
    fn new(
        work: impl Future<Output = s3keep::Result<R>> + Send + 'static,
        convert: fn(Python<'_>, R) -> PyResult<Py<PyAny>>,
    ) -> Self {
        Self {
            work: work.boxed(),
            control: Control::default(),
            convert,
        }
    }

    fn with(mut self, control: Control) -> Self {
        self.control = control;
        self
    }

    fn run(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let value = block(py, self.work, &self.control)?;
        (self.convert)(py, value)
    }

    fn spawn(self, py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        awaitable(py, self.work, self.control, self.convert)
    }
}

fn info(py: Python<'_>, b: s3keep::BackupInfo) -> PyResult<Py<PyAny>> {
    to_py(py, "BackupInfo", &b)
}

fn infos(py: Python<'_>, list: Vec<s3keep::BackupInfo>) -> PyResult<Py<PyAny>> {
    to_py_list(py, "BackupInfo", &list)
}

impl PyBackupStore {
    fn from_config(py: Python<'_>, config: StoreConfig) -> PyResult<Self> {
        Ok(Self {
            store: BackupStore::new(config).map_err(|e| to_pyerr(py, e))?,
        })
    }

    /// Runs `f` on a clone of the store (with `create_bucket`, the core creates a missing
    /// bucket before the first operation).
    fn op<R, Fut>(
        &self,
        f: impl FnOnce(BackupStore) -> Fut + Send + 'static,
    ) -> impl Future<Output = s3keep::Result<R>> + Send + 'static
    where
        Fut: Future<Output = s3keep::Result<R>> + Send + 'static,
    {
        f(self.store.clone())
    }

    fn save_call(
        &self,
        id: &Bound<'_, PyAny>,
        file_sets: &Bound<'_, PyAny>,
        metadata: Option<&Bound<'_, PyAny>>,
        descriptor: Option<&Bound<'_, PyAny>>,
        progress: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Call<s3keep::BackupInfo>> {
        let id = backup_id(id)?;
        let specs = filesets::read(file_sets)?;
        let sink = ProgressSink::new(progress)?;
        let cancel = CancelToken::new();
        let options = SaveOptions {
            user_metadata: filesets::metadata(metadata)?,
            descriptor: filesets::descriptor(descriptor)?,
            progress: sink.as_ref().map(ProgressSink::core_callback),
            cancel: Some(cancel.clone()),
        };
        let token = cancel.clone();
        let work = self.op(move |store| async move {
            let scan = store.config().scan;
            let sets = tokio::task::spawn_blocking(move || filesets::resolve(specs, &scan))
                .await
                .expect("walking the file sets does not panic")?;
            if token.is_cancelled() {
                let message = "the save was cancelled before it started";
                return Err(s3keep::Error::Cancelled(s3keep::ErrorDetails::message(message)));
            }
            store.save(id, sets, options).await
        });
        Ok(Call::new(work, info).with(Control {
            cancel: Some(cancel),
            progress: sink,
        }))
    }

    fn status_call(&self, id: &Bound<'_, PyAny>) -> PyResult<Call<s3keep::BackupInfo>> {
        let id = backup_id(id)?;
        Ok(Call::new(self.op(move |s| async move { s.status(id).await }), info))
    }

    fn list_call(
        &self,
        py: Python<'_>,
        partition: Option<i128>,
        checkpoint: Option<i128>,
        node: Option<i128>,
    ) -> PyResult<Call<Vec<s3keep::BackupInfo>>> {
        let mut filter = ListFilter::default();
        for (name, value) in [("partition", partition), ("checkpoint", checkpoint), ("node", node)] {
            if let Some(n) = value {
                filter.set(name, &n.to_string()).map_err(|e| to_pyerr(py, e))?;
            }
        }
        Ok(Call::new(self.op(move |s| async move { s.list(filter).await }), infos))
    }

    fn restore_call(
        &self,
        id: &Bound<'_, PyAny>,
        target: PathBuf,
        sets: Option<Vec<String>>,
        root_set: Option<String>,
        progress: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Call<s3keep::backup::RestoreReport>> {
        let id = backup_id(id)?;
        let sink = ProgressSink::new(progress)?;
        let cancel = CancelToken::new();
        let options = RestoreOptions {
            sets,
            root_set,
            progress: sink.as_ref().map(ProgressSink::core_callback),
            cancel: Some(cancel.clone()),
        };
        // A directory, or a bucket `s3://BUCKET/PREFIX?...` (§13) that the core parses.
        let work = self.op(move |s| async move { s.restore_to(id, &target, options).await });
        let convert = |py: Python<'_>, r| to_py(py, "RestoreReport", &r);
        Ok(Call::new(work, convert).with(Control {
            cancel: Some(cancel),
            progress: sink,
        }))
    }

    fn mark_failed_call(&self, id: &Bound<'_, PyAny>, reason: String) -> PyResult<Call<s3keep::BackupInfo>> {
        let id = backup_id(id)?;
        Ok(Call::new(
            self.op(move |s| async move { s.mark_failed(id, &reason).await }),
            info,
        ))
    }

    fn delete_call(&self, id: &Bound<'_, PyAny>, force: bool) -> PyResult<Call<s3keep::backup::DeleteReport>> {
        let id = backup_id(id)?;
        let work = self.op(move |s| async move { s.delete(id, DeleteOptions { force }).await });
        let convert = |py: Python<'_>, r: s3keep::backup::DeleteReport| {
            Ok(r.objects_deleted.into_pyobject(py)?.into_any().unbind())
        };
        Ok(Call::new(work, convert))
    }

    fn verify_call(&self, id: &Bound<'_, PyAny>, deep: bool) -> PyResult<Call<s3keep::backup::VerifyReport>> {
        let id = backup_id(id)?;
        let work = self.op(move |s| async move { s.verify(id, deep).await });
        Ok(Call::new(work, |py, r| to_py(py, "VerifyReport", &r)))
    }

    fn prune_call(
        &self,
        policy: &Bound<'_, PyRetentionPolicy>,
        dry_run: bool,
    ) -> PyResult<Call<s3keep::backup::PruneReport>> {
        let policy = policy.get().0.clone();
        let work = self.op(move |s| async move { s.prune(&policy, dry_run).await });
        Ok(Call::new(work, |py, r| to_py(py, "PruneReport", &r)))
    }

    fn cleanup_uploads_call(
        &self,
        older_than: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Call<s3keep::backup::CleanupReport>> {
        let older_than = older_than.map(|v| duration("older_than", v)).transpose()?;
        let work = self.op(move |s| async move { s.cleanup_uploads(older_than).await });
        Ok(Call::new(work, |py, r| to_py(py, "CleanupReport", &r)))
    }

    fn check_call(&self) -> PyResult<Call<s3keep::backup::CheckReport>> {
        // No bucket creation first: check reports what is there.
        let store = self.store.clone();
        let work = async move { Ok(store.check().await) };
        Ok(Call::new(work, |py, r| to_py(py, "CheckReport", &r)))
    }
}

/// Defines the Python methods: `plain` as written, and each operation twice from its
/// `*_call`: the blocking method (GIL released while it waits) and its `*_async` twin, which
/// returns an awaitable. Both take the operation's arguments and pyo3 attributes.
macro_rules! methods {
    (
        { $($plain:tt)* }
        $(
            $(#[$attr:meta])*
            fn $name:ident / $name_async:ident($py:ident $(, $arg:ident: $ty:ty)*) => $call:ident($($carg:expr),*);
        )*
    ) => {
        #[pymethods]
        impl PyBackupStore {
            $($plain)*
            $(
                $(#[$attr])*
                fn $name<'py>(&self, $py: Python<'py> $(, $arg: $ty)*) -> PyResult<Py<PyAny>> {
                    self.$call($($carg),*)?.run($py)
                }

                $(#[$attr])*
                fn $name_async<'py>(&self, $py: Python<'py> $(, $arg: $ty)*) -> PyResult<Bound<'py, PyAny>> {
                    self.$call($($carg),*)?.spawn($py)
                }
            )*
        }
    };
}

methods! {
{
    #[new]
    #[pyo3(signature = (bucket, **options))]
    fn new(py: Python<'_>, bucket: String, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        Self::from_config(py, store_config(py, Some((ConfigKey::Bucket, bucket)), options)?)
    }

    /// The store at `url`: `s3://BUCKET[/PREFIX][?key=value&...]`. Keyword arguments win
    /// over the URL's parts.
    #[staticmethod]
    #[pyo3(signature = (url, **options))]
    fn from_url(py: Python<'_>, url: String, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        Self::from_config(py, store_config(py, Some((ConfigKey::Url, url)), options)?)
    }

    /// The store the environment names, as the CLI reads it (`S3KEEP_URL`, `S3KEEP_BUCKET`,
    /// `S3KEEP_PREFIX`...); arguments win over it.
    #[staticmethod]
    #[pyo3(signature = (bucket = None, **options))]
    fn from_env(py: Python<'_>, bucket: Option<String>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let first = bucket.map(|b| (ConfigKey::Bucket, b));
        Self::from_config(py, store_config(py, first, options)?)
    }

    /// The effective options (no secrets): a dict, the same document as `s3keep config --json`.
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        document(py, &self.store.config().describe())
    }

    #[getter]
    fn bucket(&self) -> &str {
        &self.store.config().client.bucket
    }
    #[getter]
    fn prefix(&self) -> &str {
        &self.store.config().prefix
    }
    #[getter]
    fn endpoint(&self) -> Option<&str> {
        self.store.config().client.endpoint.as_deref()
    }
    #[getter]
    fn region(&self) -> &str {
        &self.store.config().client.region
    }

    /// Never shows the secret access key or the session token.
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let c = self.store.config();
        let q = |s: &str| -> PyResult<String> { Ok(PyString::new(py, s).repr()?.to_string()) };
        let mut s = format!("BackupStore(bucket={}, prefix={}", q(&c.client.bucket)?, q(&c.prefix)?);
        if let Some(endpoint) = &c.client.endpoint {
            s.push_str(&format!(", endpoint={}", q(endpoint)?));
        }
        s.push_str(&format!(", region={}", q(&c.client.region)?));
        match &c.client.credentials {
            Some(creds) => s.push_str(&format!(", access_key_id={})", q(&creds.access_key_id)?)),
            None => s.push_str(", credentials=None)"),
        }
        Ok(s)
    }
}

    #[pyo3(signature = (id, file_sets, *, metadata = None, descriptor = None, progress = None))]
    fn save / save_async(
        py,
        id: &Bound<'py, PyAny>,
        file_sets: &Bound<'py, PyAny>,
        metadata: Option<&Bound<'py, PyAny>>,
        descriptor: Option<&Bound<'py, PyAny>>,
        progress: Option<Bound<'py, PyAny>>
    ) => save_call(id, file_sets, metadata, descriptor, progress);

    fn status / status_async(py, id: &Bound<'py, PyAny>) => status_call(id);

    #[pyo3(signature = (partition = None, checkpoint = None, node = None))]
    fn list / list_async(py, partition: Option<i128>, checkpoint: Option<i128>, node: Option<i128>)
        => list_call(py, partition, checkpoint, node);

    #[pyo3(
        signature = (id, target, *, sets = None, root_set = Some("files".to_string()), progress = None),
        text_signature = "($self, id, target, *, sets=None, root_set='files', progress=None)"
    )]
    fn restore / restore_async(
        py,
        id: &Bound<'py, PyAny>,
        target: PathBuf,
        sets: Option<Vec<String>>,
        root_set: Option<String>,
        progress: Option<Bound<'py, PyAny>>
    ) => restore_call(id, target, sets, root_set, progress);

    fn mark_failed / mark_failed_async(py, id: &Bound<'py, PyAny>, reason: String) => mark_failed_call(id, reason);

    #[pyo3(signature = (id, *, force = false))]
    fn delete / delete_async(py, id: &Bound<'py, PyAny>, force: bool) => delete_call(id, force);

    #[pyo3(signature = (id, *, deep = false))]
    fn verify / verify_async(py, id: &Bound<'py, PyAny>, deep: bool) => verify_call(id, deep);

    #[pyo3(signature = (policy, *, dry_run = true))]
    fn prune / prune_async(py, policy: &Bound<'py, PyRetentionPolicy>, dry_run: bool) => prune_call(policy, dry_run);

    #[pyo3(signature = (older_than = None))]
    fn cleanup_uploads / cleanup_uploads_async(py, older_than: Option<&Bound<'py, PyAny>>)
        => cleanup_uploads_call(older_than);

    fn check / check_async(py) => check_call();
}
