//! Parsers of the command line's values: durations (`90s`, `30m`, `24h`, `7d`), backup ids
//! (`PARTITION/CHECKPOINT/NODE`), `--set NAME=PATH` and `--meta KEY=VALUE`.
//!
//! Each returns `Result<_, String>` so clap can use it as a `value_parser` and report a bad
//! value as a usage error (exit 2) naming the flag.

use std::path::PathBuf;
use std::time::Duration;

use s3keep::BackupId;

/// Parses a duration: one or more `<integer><unit>` with unit `s`, `m`, `h`, `d` or `w`
/// (seconds, minutes, hours, days of 24 h, weeks of 7 days), e.g. `90s`, `30m`, `24h`,
/// `7d`, `1d12h`.
///
/// # Errors
/// A message naming the expected form, for an empty string, a number without a unit, an
/// unknown unit or an overflowing value.
pub fn duration(text: &str) -> Result<Duration, String> {
    let bad = |why: &str| {
        format!("invalid duration {text:?}: {why}; write a number and a unit, like 90s, 30m, 24h, 7d or 1d12h")
    };
    let text_trimmed = text.trim();
    if text_trimmed.is_empty() {
        return Err(bad("it is empty"));
    }
    let mut total: u64 = 0;
    let mut rest = text_trimmed;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad("expected a number"));
        }
        let number: u64 = rest[..digits].parse().map_err(|_| bad("the number is too large"))?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_len] {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            "" => return Err(bad("the unit is missing")),
            other => return Err(bad(&format!("unknown unit {other:?} (use s, m, h, d or w)"))),
        };
        rest = &rest[unit_len..];
        total = number
            .checked_mul(seconds_per_unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| bad("it is too long"))?;
    }
    Ok(Duration::from_secs(total))
}

/// Formats a duration in whole seconds the way [`duration`] reads it (`7d`, `1d12h`, `90s`).
pub fn format_duration(d: Duration) -> String {
    let mut secs = d.as_secs();
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
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

/// `--on-file-error fail|skip`, as the core's option reads it.
pub fn on_file_error(text: &str) -> Result<s3keep::backup::OnFileError, String> {
    text.parse().map_err(|_| format!("expected fail or skip, not {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_with_each_unit_parse() {
        assert_eq!(duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(duration("2w"), Ok(Duration::from_secs(14 * 86_400)));
        assert_eq!(duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn compound_durations_add_up() {
        assert_eq!(duration("1d12h"), Ok(Duration::from_secs(36 * 3600)));
        assert_eq!(duration("1h30m15s"), Ok(Duration::from_secs(5415)));
    }

    #[test]
    fn malformed_durations_are_rejected_with_the_expected_form() {
        for bad in [
            "",
            "  ",
            "10",
            "h",
            "5x",
            "1.5h",
            "-1h",
            "10 m",
            "1h30",
            "99999999999999999999s",
            "18446744073709551615d",
        ] {
            let err = duration(bad).unwrap_err();
            assert!(err.contains("90s, 30m, 24h, 7d"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn durations_format_back_to_their_text() {
        for text in ["90s", "30m", "24h", "7d", "1d12h", "1h30m15s", "0s"] {
            let d = duration(text).unwrap();
            assert_eq!(duration(&format_duration(d)), Ok(d));
        }
        assert_eq!(format_duration(Duration::from_secs(86_400)), "1d");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
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
