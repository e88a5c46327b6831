//! `cli_main(argv)`: the `s3keep` command of the Rust crate `s3keep-cli`, run in-process so
//! that `pip install` and `cargo install` give one implementation (§8).

use std::ffi::OsString;

use pyo3::prelude::*;

/// Runs the `s3keep` command line with `argv` (program name first, as `sys.argv`) and
/// returns its exit code. The GIL is released while it runs; it has its own tokio runtime
/// and its own Ctrl-C handling (exit code 130), as the binary does. Meant for the console
/// script (`s3keep._cli`), which first restores SIGINT's default disposition so that
/// Python's own handler does not also raise `KeyboardInterrupt` afterwards.
#[pyfunction]
pub fn cli_main(py: Python<'_>, argv: Vec<OsString>) -> i32 {
    py.detach(move || s3keep_cli::main_with_args(argv))
}
