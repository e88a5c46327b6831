//! The `s3keep` command line (§8) over the core crate.
//!
//! [`main_with_args`] is the whole program: the `s3keep` binary calls it, and so does the
//! Python package's `s3keep` entry point, so both run one implementation.
//!
//! Modules: [`args`] (clap definitions), [`options`] (the store options, from the core's table),
//! `commands` (one file per command or group), [`output`] (tables or `--json`),
//! [`progress`] (bars on a terminal), [`exit`] (exit codes), [`parse`] (durations, ids,
//! `NAME=PATH`, `KEY=VALUE`).
#![deny(missing_docs)]
// `s3keep::Error` is the core's one public error type; its size is the core's choice.
#![allow(clippy::result_large_err)]

use std::ffi::OsString;

use clap::Parser as _;
use serde_json::json;

pub mod args;
mod commands;
pub mod exit;
mod logging;
pub mod options;
pub mod output;
pub mod parse;
pub mod progress;

/// Runs the `s3keep` command with `args` (the program name first, as in
/// `std::env::args_os()`), on a tokio runtime of its own, and returns the exit code:
/// 0 ok, 1 failure, 2 usage error, 3 not found, 4 already exists / conflict, 5 saved without
/// files skipped by `--on-file-error skip`, 130 interrupted.
///
/// Prints results on stdout (tables, or one JSON document with `--json`), errors as one
/// line on stderr, progress bars on stderr when it is a terminal.
pub fn main_with_args<I: IntoIterator<Item = OsString>>(args: I) -> i32 {
    let args: Vec<OsString> = args.into_iter().collect();
    let cli = match args::Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return usage_error(&shown_error(e, &args), &args),
    };
    logging::init(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            output::stderr_line(&format!("error: cannot start the async runtime: {e}"));
            return exit::FAILURE;
        }
    };
    let code = runtime.block_on(commands::run(cli));
    // Let the workers drop what is left (a failed or cancelled transfer's tasks) before the
    // process exits, but wait at most a second for tasks still blocked on I/O: exiting
    // while worker threads are still tearing down was seen to end the process by a signal.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}

/// clap quotes a bad argument as typed, so one holding a newline or an ESC sequence would
/// forge lines or recolour the terminal: such a line is parsed once more with its arguments
/// escaped ([`s3keep::escape::escape_controls`]), and that error, which names the same
/// argument in its escaped form, is the one shown.
fn shown_error(e: clap::Error, args: &[OsString]) -> clap::Error {
    let unsafe_arg = |a: &OsString| a.to_string_lossy().chars().any(s3keep::escape::is_unsafe);
    if !args.iter().any(unsafe_arg) {
        return e;
    }
    let escaped = args
        .iter()
        .map(|a| OsString::from(s3keep::escape::escape_controls(&a.to_string_lossy()).as_ref()));
    args::Cli::try_parse_from(escaped).err().unwrap_or_else(|| {
        // Escaping made the line valid: show the first error, every line of it escaped.
        let text = e.render().to_string();
        let text = text.trim_start_matches("error: ").trim_end();
        clap::Error::raw(e.kind(), format!("{}\n", s3keep::escape::escape_controls(text)))
    })
}

/// Prints clap's message (help and version on stdout, errors on stderr) and, for an error
/// with `--json` anywhere on the line, the error document on stdout.
fn usage_error(e: &clap::Error, args: &[OsString]) -> i32 {
    let _ = e.print();
    let code = e.exit_code();
    if code != exit::OK && args.iter().any(|a| a == "--json") {
        let rendered = e.render().to_string();
        let message = rendered
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ");
        output::Output::default().document(&json!({ "error": s3keep::Error::invalid_input(message) }));
    }
    code
}
