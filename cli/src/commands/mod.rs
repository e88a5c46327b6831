//! The subcommands: each takes its parsed arguments, opens the store, prints its result and
//! returns the exit code; an error is printed and mapped by [`run`].

mod config;
mod delete;
mod maintenance;
mod prune;
mod query;
mod restore;
mod save;
mod verify;

use s3keep::backup::BackupStore;
use s3keep::runtime::CancelToken;
use s3keep::Result;

use crate::args::{Cli, Command, GlobalArgs};
use crate::exit;
use crate::output::{stderr_line, Output};

/// Runs the parsed command; prints an error as one line (and JSON with `--json`).
pub async fn run(cli: Cli) -> i32 {
    let out = Output {
        json: cli.global.json,
        quiet: cli.global.quiet,
    };
    let global = &cli.global;
    let result = match cli.command {
        Command::Save(args) => save::save(global, args, out).await,
        Command::List(args) => query::list(global, args, out).await,
        Command::Status(args) => query::status(global, args.id, out).await,
        Command::Restore(args) => restore::restore(global, args, out).await,
        Command::Delete(args) => delete::delete(global, args, out).await,
        Command::MarkFailed(args) => delete::mark_failed(global, args, out).await,
        Command::Prune(args) => prune::prune(global, args, out).await,
        Command::Verify(args) => verify::verify(global, args, out).await,
        Command::CleanupUploads(args) => maintenance::cleanup_uploads(global, args, out).await,
        Command::Doctor(args) => maintenance::doctor(global, args, out).await,
        Command::Config => config::config(global, out),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            out.error(&error, None);
            exit::code_for(&error)
        }
    }
}

/// Opens the store of the global options (with `create_bucket`, the core creates a
/// missing bucket before the first operation).
async fn open_store(global: &GlobalArgs) -> Result<BackupStore> {
    Ok(BackupStore::new(crate::options::store_config(&global.options)?)?)
}

/// Runs `work` with Ctrl-C wired to `token`: the first Ctrl-C cancels it, so that a save is
/// marked FAILED and its uploads aborted (the core's protocol) before the command exits with
/// 130; a second one exits at once.
async fn with_ctrl_c<T>(token: CancelToken, work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stderr_line("interrupted: stopping and cleaning up (Ctrl-C again to quit at once)");
            token.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(exit::INTERRUPTED);
            }
        }
    });
    let result = work.await;
    watcher.abort();
    result
}
