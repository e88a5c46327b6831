//! Parsers of the command line's values: durations (the core's grammar), backup ids
//! (`PARTITION/CHECKPOINT/NODE`), `--set NAME=PATH` and `--meta KEY=VALUE`.
//!
//! Each returns `Result<_, String>` so clap can use it as a `value_parser` and report a bad
//! value as a usage error (exit 2) naming the flag.

use std::path::PathBuf;
use std::time::Duration;

use s3keep::BackupId;

/// Parses a duration with the core's grammar (`90s`, `30m`, `24h`, `7d`, `1h30m`).
///
/// # Errors
/// The core's message, naming the expected form.
pub fn duration(text: &str) -> Result<Duration, String> {
    s3keep::options::parse_duration("duration", text).map_err(|e| e.details().message.clone())
}

/// Parses a backup id `PARTITION/CHECKPOINT/NODE` (e.g. `0/1700000000000/0`).
///
/// # Errors
/// The core's message for anything but three non-negative integers.
pub fn backup_id(text: &str) -> Result<BackupId, String> {
    text.parse::<BackupId>().map_err(|e| e.details().message.clone())
}

/// Parses `--set NAME=PATH`: a file set name and the directory (or single file) to save.
///
/// # Errors
/// When there is no `=`, or the name or the path is empty. The name itself is checked by
/// the core (`[a-z0-9][a-z0-9_-]{0,62}`), before any request is sent.
pub fn set_arg(text: &str) -> Result<(String, PathBuf), String> {
    let (name, path) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not NAME=PATH (e.g. --set snapshot=/var/lib/app/snapshot)"))?;
    if name.is_empty() || path.is_empty() {
        return Err(format!(
            "{text:?} is not NAME=PATH: both the name and the path are needed"
        ));
    }
    Ok((name.to_string(), PathBuf::from(path)))
}

/// Parses `--meta KEY=VALUE` (the value may be empty and may contain `=`).
///
/// # Errors
/// When there is no `=` or the key is empty.
pub fn meta_arg(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("{text:?} is not KEY=VALUE (e.g. --meta source=nightly)")),
    }
}
