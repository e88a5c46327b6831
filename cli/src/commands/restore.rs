//! `restore ID DIR|s3://BUCKET/PREFIX?... [--set NAME]`

use s3keep::backup::RestoreOptions;
use s3keep::runtime::{CancelToken, Stopwatch};
use s3keep::Result;

use super::{open_store, with_ctrl_c};
use crate::args::{GlobalArgs, RestoreArgs};
use crate::exit;
use crate::output::{size, Output};
use crate::progress::Bar;

/// Restores a COMPLETED backup: the set `files` into DIR, every other set into DIR/NAME/;
/// with `--set`, only that set, straight into DIR.
pub async fn restore(global: &GlobalArgs, args: RestoreArgs, out: Output) -> Result<i32> {
    let store = open_store(global).await?;
    let bar = Bar::new("restoring", out.quiet);
    let cancel = CancelToken::new();
    let mut options = match &args.set {
        Some(set) => RestoreOptions::only_set(set.clone()),
        None => RestoreOptions::default(),
    };
    options.progress = bar.callback();
    options.cancel = Some(cancel.clone());
    let clock = Stopwatch::start();
    // A directory, or a bucket and prefix (§13) whose URL the core parses before any request.
    let result = with_ctrl_c(cancel, store.restore_to(args.id, &args.dir, options)).await;
    bar.finish();
    let summary = result?;
    let id = args.id;
    if out.json {
        out.document(&summary);
    } else {
        let skipped = match summary.files_skipped {
            0 => String::new(),
            n => format!(", {n} already present"),
        };
        out.info(&format!(
            "restored backup {id} into {}: {} files, {} in {:.1} s{skipped}",
            shown_target(&args.dir),
            summary.files_restored,
            size(Some(summary.bytes_restored)),
            clock.elapsed().as_secs_f64(),
        ));
    }
    Ok(exit::OK)
}

/// The target as messages show it: a directory as given, a bucket URL without its query
/// (nothing of it is secret, but it is noise).
fn shown_target(target: &std::path::Path) -> String {
    match target.to_str().filter(|t| t.starts_with("s3://")) {
        Some(url) => url.split('?').next().unwrap_or(url).to_string(),
        None => target.display().to_string(),
    }
}
