//! `s3keep._s3keep`: the Python extension module of s3keep. Translation only: every
//! operation is the core's (`s3keep` crate); this crate converts arguments, results and
//! errors, and waits on the shared tokio runtime with the GIL released (`runtime.rs`).
//!
//! Map: `store.rs` (BackupStore, every method blocking and `*_async`), `convert.rs`
//! (arguments → the core's option strings), `filesets.rs` (the `file_sets` argument), `ids.rs`
//! (BackupId), `results.rs` (results: the core's JSON documents handed to the classes of
//! `s3keep/_results.py`), `retention.rs` (RetentionPolicy),
//! `errors.rs` (exceptions), `progress.rs` (progress callback), `runtime.rs` (blocking,
//! Ctrl-C, asyncio), `cli.rs` (the `s3keep` command).

// The core's `Error` is large by design (every variant carries its details); boxing it here
// alone would gain nothing.
#![allow(clippy::result_large_err)]

use pyo3::prelude::*;

mod cli;
mod convert;
mod errors;
mod filesets;
mod ids;
mod progress;
mod results;
mod retention;
mod runtime;
mod store;

#[pymodule]
fn _s3keep(m: &Bound<'_, PyModule>) -> PyResult<()> {
    runtime::init();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<store::PyBackupStore>()?;
    m.add_class::<ids::PyBackupId>()?;
    m.add_class::<retention::PyRetentionPolicy>()?;
    m.add_function(wrap_pyfunction!(cli::cli_main, m)?)?;
    Ok(())
}
