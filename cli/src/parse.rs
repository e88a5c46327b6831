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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_the_core_grammar() {
        assert_eq!(duration("1h30m"), Ok(Duration::from_secs(5400)));
        for bad in ["7", "1y", "1.5h", ""] {
            assert!(duration(bad).unwrap_err().contains("give e.g. 90s"), "{bad:?}");
        }
    }

    #[test]
    fn backup_ids_parse_and_bad_ones_explain_the_form() {
        assert_eq!(
            backup_id("1/1700000000000/2"),
            Ok(BackupId::new(1, 1_700_000_000_000, 2))
        );
        let err = backup_id("1/2").unwrap_err();
        assert!(err.contains("PARTITION/CHECKPOINT/NODE"), "{err}");
        assert!(backup_id("a/b/c").is_err());
    }

    #[test]
    fn set_args_split_at_the_first_equals() {
        assert_eq!(
            set_arg("snapshot=/data/snap"),
            Ok(("snapshot".into(), PathBuf::from("/data/snap")))
        );
        assert_eq!(set_arg("x=a=b"), Ok(("x".into(), PathBuf::from("a=b"))));
        for bad in ["snapshot", "=path", "name=", ""] {
            assert!(set_arg(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn meta_args_allow_empty_values_and_equals_in_values() {
        assert_eq!(meta_arg("k=v"), Ok(("k".into(), "v".into())));
        assert_eq!(meta_arg("k="), Ok(("k".into(), String::new())));
        assert_eq!(meta_arg("url=a=b"), Ok(("url".into(), "a=b".into())));
        assert!(meta_arg("novalue").is_err());
        assert!(meta_arg("=v").is_err());
    }
}
