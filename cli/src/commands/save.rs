//! `save [ID] [DIR] [--set NAME=PATH]... [--meta KEY=VALUE]...`

use std::collections::BTreeMap;
use std::path::PathBuf;

use s3keep::backup::{FileSet, SaveOptions};
use s3keep::runtime::{now_millis, CancelToken, Stopwatch};
use s3keep::{BackupId, Error, Result};

use super::{open_store, with_ctrl_c};
use crate::args::{GlobalArgs, SaveArgs};
use crate::exit;
use crate::output::{size, stderr_line, to_value, Output};
use crate::progress::Bar;
use serde_json::Value;

/// The set a plain `save ID DIR` writes (and `restore ID DIR` reads back into DIR itself).
const DEFAULT_SET: &str = "files";

/// Saves DIR as the set `files` plus every `--set`, with `--meta` as user metadata.
pub async fn save(global: &GlobalArgs, args: SaveArgs, out: Output) -> Result<i32> {
    let (id, dir) = id_and_dir(args.id.as_deref(), args.dir, now_millis())?;
    let mut named: Vec<(String, PathBuf)> = dir.map(|d| (DEFAULT_SET.to_string(), d)).into_iter().collect();
    for (name, path) in args.sets {
        if named.iter().any(|(n, _)| *n == name) {
            return Err(Error::invalid_input(format!(
                "file set {name:?} is given twice (DIR is saved as the set {DEFAULT_SET:?})"
            )));
        }
        named.push((name, path));
    }
    if named.is_empty() {
        return Err(Error::invalid_input(
            "nothing to save: give a DIR or at least one --set NAME=PATH",
        ));
    }
    let user_metadata = metadata(args.meta)?;
    // The store's options say how trees are read (`follow_symlinks`, `on_file_error`);
    // the trees are read before any request is sent.
    let scan_options = crate::options::store_config(&global.options)?.scan;
    let mut sets = Vec::new();
    let mut skipped = Vec::new();
    for (name, path) in &named {
        // A path, or an S3 prefix (§13) that the core lists when the save starts.
        let scan = FileSet::scan(name.as_str(), path, &scan_options)?;
        for note in scan.skipped {
            // Not quiet-able: a file left out of a backup is worth a line even in scripts.
            stderr_line(&format!("note: skipped {name}/{note}"));
            let mut entry = to_value(&note);
            entry["set"] = name.as_str().into();
            skipped.push(entry);
        }
        sets.push(scan.set);
    }
    let incomplete = skipped.iter().any(|s| s["error"] == true);

    let store = open_store(global).await?;
    let bar = Bar::new("saving", out.quiet);
    let cancel = CancelToken::new();
    let options = SaveOptions {
        user_metadata,
        progress: bar.callback(),
        cancel: Some(cancel.clone()),
        ..SaveOptions::default()
    };
    let clock = Stopwatch::start();
    let result = with_ctrl_c(cancel, store.save(id, sets, options)).await;
    bar.finish();
    let info = result?;
    if out.json {
        // The core's BackupInfo document, plus the entries the scan skipped (docs/SCHEMA.md).
        let mut doc = serde_json::to_value(&info).unwrap_or(Value::Null);
        doc["skipped"] = Value::Array(skipped);
        out.document(&doc);
    } else if out.quiet {
        // Scripts capture the id of a backup whose id was chosen for them.
        out.line(&id.to_string());
    } else {
        out.line(&format!(
            "saved backup {id}: {} files, {} in {:.1} s ({})",
            info.file_count.unwrap_or(0),
            size(info.total_size),
            clock.elapsed().as_secs_f64(),
            info.status
        ));
    }
    Ok(if incomplete { exit::INCOMPLETE } else { exit::OK })
}

/// Reads `[ID] [DIR]`: with one argument, an id if it parses as one, else the DIR (and the
/// id defaults to `0/<now_ms>/0`).
fn id_and_dir(id: Option<&str>, dir: Option<PathBuf>, now_ms: i64) -> Result<(BackupId, Option<PathBuf>)> {
    let default_id = BackupId::new(0, u64::try_from(now_ms).unwrap_or(0), 0);
    match (id, dir) {
        (Some(id), Some(dir)) => Ok((id.parse()?, Some(dir))),
        (Some(only), None) => match only.parse::<BackupId>() {
            Ok(id) => Ok((id, None)),
            Err(_) => Ok((default_id, Some(PathBuf::from(only)))),
        },
        (None, dir) => Ok((default_id, dir)),
    }
}

/// `--meta` pairs as a map; a key given twice is a usage error.
fn metadata(pairs: Vec<(String, String)>) -> Result<BTreeMap<String, String>> {
    let mut map = BTreeMap::new();
    for (key, value) in pairs {
        if map.insert(key.clone(), value).is_some() {
            return Err(Error::invalid_input(format!("--meta {key:?} is given twice")));
        }
    }
    Ok(map)
}
