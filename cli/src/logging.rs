//! `-v` and `RUST_LOG`: the core's `tracing` events as lines on stderr.
//!
//! Without either, nothing is logged (errors and notes are printed by the commands). `-v`
//! shows the core's debug events: one line per S3 request (`operation`, `key`, `status`,
//! `ms`; target `s3keep::request`) and each retry; `-vv` its trace events too. `RUST_LOG`
//! takes `target=level` directives (`s3keep=debug,warn`) and wins over `-v`. The core never
//! puts a URL, header, credential or body in an event, so neither can the log.

use std::str::FromStr as _;

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Installs the stderr logger when `RUST_LOG` is set or `verbose > 0`.
pub fn init(verbose: u8) {
    let from_env = std::env::var("RUST_LOG").ok().filter(|v| !v.trim().is_empty());
    let filter = match (from_env, verbose) {
        (Some(directives), _) => match Targets::from_str(&directives) {
            Ok(filter) => filter,
            Err(e) => {
                crate::output::stderr_line(&format!("warning: RUST_LOG ignored: {e}"));
                return;
            }
        },
        (None, 0) => return,
        (None, 1) => Targets::from_str("s3keep=debug,s3keep_cli=debug,warn").expect("valid directives"),
        (None, _) => Targets::from_str("s3keep=trace,s3keep_cli=trace,warn").expect("valid directives"),
    };
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(true);
    // A second init (the Python entry point run twice in one process) keeps the first.
    let _ = tracing_subscriber::registry().with(layer).with(filter).try_init();
}
