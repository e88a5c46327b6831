//! The grammars of option values, one per kind (§10), and their printed forms.
//!
//! - Durations: one or more `<integer><unit>`, unit `ms`, `s`, `m`, `h`, `d` (24 h) or
//!   `w` (7 d): `90s`, `30m`, `24h`, `7d`, `1w`, `1h30m`. No decimals, no sign, no spaces,
//!   no bare number. The arithmetic is humantime's; the restriction is ours (humantime also
//!   reads `ns`, `y`, months and spaces, which would make two spellings of one value).
//! - Sizes: `<integer><unit>`, unit `B`, `KiB`, `MiB`, `GiB`, `TiB` (powers of 1024) or
//!   `KB`, `MB`, `GB`, `TB` (powers of 1000), case as written: `16MiB`, `5242881B`. Parsed
//!   here in integers: bytesize reads through `f64` and accepts bare numbers and decimals.
//! - Counts: a plain decimal integer. Booleans: `true` or `false`.
//!
//! Every error is an [`Error::InvalidInput`] naming the option and the accepted form.

use std::str::FromStr;
use std::time::Duration;

use crate::config::{Addressing, ChecksumMode};
use crate::error::{Error, Result};

const DURATION_UNITS: &[&str] = &["ms", "s", "m", "h", "d", "w"];
const DURATION_EXAMPLE: &str = "give e.g. 90s, 30m, 24h, 7d or 1h30m";

const SIZE_UNITS: &[(&str, u64)] = &[
    ("TiB", 1 << 40),
    ("TB", 1_000_000_000_000),
    ("GiB", 1 << 30),
    ("GB", 1_000_000_000),
    ("MiB", 1 << 20),
    ("MB", 1_000_000),
    ("KiB", 1 << 10),
    ("KB", 1_000),
    ("B", 1),
];

/// A value as it appears in a message: quoted, control characters escaped, at most 40
/// characters. A value that may hold a secret is never echoed: a URL is shown in its
/// [`redact_url`](crate::redact::redact_url) form, and anything with `@` (a mistyped
/// `user:password@host`) only as `(not shown)`.
pub(crate) fn shown(value: &str) -> String {
    if value.contains("://") {
        return crate::redact::redact_url(value);
    }
    if value.contains('@') {
        return "(not shown: it may hold a secret)".to_string();
    }
    let cut: String = value.chars().take(40).collect();
    let quoted = format!("{cut:?}");
    if cut.len() < value.len() {
        format!("{}...\"", &quoted[..quoted.len() - 1])
    } else {
        quoted
    }
}

fn invalid(name: &str, value: &str, why: &str) -> Error {
    Error::invalid_input(format!("{name}: {} {why}", shown(value)))
}

/// Splits `text` into `(digits, unit)` pairs, or says why it is not of that shape.
fn number_unit_pairs(text: &str) -> std::result::Result<Vec<(&str, &str)>, &'static str> {
    if text.is_empty() {
        return Err("is empty");
    }
    let mut pairs = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let after = &rest[digits..];
        let unit_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        if digits == 0 && rest.len() == text.len() && rest.starts_with(['-', '+']) {
            return Err("has a sign");
        }
        if digits > 0 && after.starts_with(['.', ',']) {
            return Err("has a decimal point; use a whole number of a smaller unit");
        }
        if digits > 0 && after.is_empty() && pairs.is_empty() {
            return Err("has no unit");
        }
        if digits == 0 || unit_len == 0 {
            return Err("is not numbers with units, without spaces");
        }
        pairs.push((&rest[..digits], &after[..unit_len]));
        rest = &after[unit_len..];
    }
    Ok(pairs)
}

/// Parses a duration of option `name` (`90s`, `30m`, `24h`, `7d`, `1w`, `1h30m`, `500ms`).
///
/// # Errors
/// [`Error::InvalidInput`] naming `name` for an empty text, a bare number, a decimal, a
/// sign, a space, a unit outside `ms s m h d w`, or an overflow.
pub fn parse_duration(name: &str, text: &str) -> Result<Duration> {
    let bad = |why: &str| invalid(name, text, &format!("{why}; {DURATION_EXAMPLE}"));
    for (_, unit) in number_unit_pairs(text).map_err(bad)? {
        if !DURATION_UNITS.contains(&unit) {
            return Err(bad(&format!("has the unit {unit:?}, not one of ms, s, m, h, d, w")));
        }
    }
    humantime::parse_duration(text).map_err(|_| bad("is too long"))
}

/// Prints a duration the way [`parse_duration`] reads it, largest units first: `1d`,
/// `1h30m`, `1s500ms`, `0s`. Below a millisecond is dropped.
pub fn format_duration(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("w", 604_800_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
    ] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    if ms > 0 {
        out.push_str(&format!("{ms}ms"));
    }
    out
}

/// Parses a size of option `name` in bytes (`16MiB`, `5GB`, `5242881B`).
///
/// # Errors
/// [`Error::InvalidInput`] naming `name` for an empty text, a bare number ("has no unit;
/// give e.g. 16MiB"), a decimal, an unknown unit or more than 2^64 - 1 bytes.
pub fn parse_size(name: &str, text: &str) -> Result<u64> {
    let bad = |why: &str| invalid(name, text, &format!("{why}; give e.g. 16MiB"));
    let pairs = number_unit_pairs(text).map_err(bad)?;
    let [(digits, unit)] = pairs[..] else {
        return Err(bad("is not one number and one unit"));
    };
    let Some((_, factor)) = SIZE_UNITS.iter().find(|(u, _)| *u == unit) else {
        return Err(bad(&format!(
            "has the unit {unit:?}, not one of B, KiB, MiB, GiB, TiB, KB, MB, GB, TB"
        )));
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(*factor))
        .ok_or_else(|| bad("is too large"))
}

/// Prints a size with the largest unit that divides it exactly (`16MiB`, `16MB`,
/// `5242881B`), as [`parse_size`] reads it.
pub fn format_size(bytes: u64) -> String {
    let (unit, factor) = SIZE_UNITS
        .iter()
        .find(|(_, f)| bytes % f == 0 && bytes >= *f)
        .unwrap_or(&("B", 1));
    format!("{}{unit}", bytes / factor)
}

/// Parses a count of option `name` in `min..=max`.
pub(crate) fn parse_count(name: &str, text: &str, min: u64, max: u64) -> Result<u64> {
    if text.is_empty() || !text.bytes().all(|c| c.is_ascii_digit()) {
        return Err(invalid(name, text, "is not a whole number; give e.g. 8"));
    }
    match text.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(invalid(name, text, &format!("is out of range; give {min} to {max}"))),
    }
}

/// Parses `true` or `false` of option `name`.
pub(crate) fn parse_bool(name: &str, text: &str) -> Result<bool> {
    match text {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(name, text, "is not true or false")),
    }
}

/// Checks an endpoint: `http(s)://host[:port]`, no credentials. The message names the
/// wrong part and never repeats the URL (it may hold a secret).
pub(crate) fn check_endpoint(text: &str) -> Result<()> {
    let bad = |why: &str| Error::invalid_input(format!("endpoint: {why}; give http(s)://host[:port]"));
    let url = url::Url::parse(text).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the scheme is not http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("the host is missing"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid_input(
            "endpoint: the URL must not contain credentials; pass them as access key and secret",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it must not carry a query string or fragment"));
    }
    Ok(())
}

/// Checks a region: the characters of a host name label (it becomes part of AWS's host).
pub(crate) fn check_region(text: &str) -> Result<()> {
    let ok = !text.is_empty() && text.bytes().all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(&c));
    if ok {
        Ok(())
    } else {
        Err(invalid("region", text, "is not a region name; give e.g. us-east-1"))
    }
}

impl FromStr for Addressing {
    type Err = Error;

    /// `auto`, `path` or `virtual` (also `virtual-hosted`).
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Addressing::Auto),
            "path" => Ok(Addressing::Path),
            "virtual" | "virtual-hosted" => Ok(Addressing::VirtualHosted),
            _ => Err(invalid("addressing", s, "is not one of auto, path, virtual")),
        }
    }
}

impl FromStr for ChecksumMode {
    type Err = Error;

    /// `crc32c` or `md5` (also `content-md5`).
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "crc32c" => Ok(ChecksumMode::Crc32c),
            "md5" | "content-md5" => Ok(ChecksumMode::ContentMd5),
            _ => Err(invalid("checksum", s, "is not one of crc32c, md5")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(e: Error) -> String {
        assert!(matches!(e, Error::InvalidInput(_)), "{e}");
        e.details().message.clone()
    }

    #[test]
    fn durations_of_every_unit_and_combinations_parse() {
        let d = |t| parse_duration("x", t).unwrap();
        assert_eq!(d("500ms"), Duration::from_millis(500));
        assert_eq!(d("90s"), Duration::from_secs(90));
        assert_eq!(d("30m"), Duration::from_secs(1800));
        assert_eq!(d("24h"), Duration::from_secs(86_400));
        assert_eq!(d("7d"), Duration::from_secs(7 * 86_400));
        assert_eq!(d("2w"), Duration::from_secs(14 * 86_400));
        assert_eq!(d("0s"), Duration::ZERO);
        assert_eq!(d("1h30m"), Duration::from_secs(5400));
        assert_eq!(d("1d12h"), Duration::from_secs(36 * 3600));
        assert_eq!(d("1m30s250ms"), Duration::from_millis(90_250));
    }

    #[test]
    fn durations_outside_the_grammar_are_rejected_naming_the_option() {
        for (text, why) in [
            ("", "is empty"),
            ("16", "has no unit"),
            ("1.5h", "has a decimal point"),
            ("-1h", "has a sign"),
            ("+1h", "has a sign"),
            ("1y", "has the unit \"y\""),
            ("2M", "has the unit \"M\""),
            ("10ns", "has the unit \"ns\""),
            ("1 h", "is not numbers with units"),
            ("1h 30m", "is not numbers with units"),
            ("h", "is not numbers with units"),
            ("1h30", "is not numbers with units"),
            ("1hour", "has the unit \"hour\""),
            ("99999999999999999999s", "is too long"),
        ] {
            let m = message(parse_duration("stale_after", text).unwrap_err());
            assert!(m.starts_with(&format!("stale_after: {text:?} {why}")), "{text:?}: {m}");
            assert!(m.ends_with("give e.g. 90s, 30m, 24h, 7d or 1h30m"), "{m}");
        }
    }

    #[test]
    fn durations_print_as_they_parse() {
        for text in ["90s", "30m", "1d", "1w", "1h30m", "1s500ms", "0s", "2w3d4h5m6s7ms"] {
            let d = parse_duration("x", text).unwrap();
            assert_eq!(parse_duration("x", &format_duration(d)).unwrap(), d);
        }
        assert_eq!(format_duration(Duration::from_secs(86_400)), "1d");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_secs(300)), "5m");
    }

    #[test]
    fn sizes_parse_in_binary_and_decimal_units() {
        let s = |t| parse_size("x", t).unwrap();
        assert_eq!(s("0B"), 0);
        assert_eq!(s("5242881B"), 5_242_881);
        assert_eq!(s("16KiB"), 16 << 10);
        assert_eq!(s("16MiB"), 16 << 20);
        assert_eq!(s("5GiB"), 5 << 30);
        assert_eq!(s("2TiB"), 2 << 40);
        assert_eq!(s("16MB"), 16_000_000);
        assert_eq!(s("1KB"), 1000);
        assert_eq!(s("5GB"), 5_000_000_000);
    }

    #[test]
    fn sizes_outside_the_grammar_are_rejected_naming_the_option() {
        assert_eq!(
            message(parse_size("part_size", "16").unwrap_err()),
            "part_size: \"16\" has no unit; give e.g. 16MiB"
        );
        for (text, why) in [
            ("", "is empty"),
            ("1.5MiB", "has a decimal point"),
            ("16mib", "has the unit \"mib\""),
            ("16M", "has the unit \"M\""),
            ("16 MiB", "is not numbers with units"),
            ("1MiB1KiB", "is not one number and one unit"),
            ("-1MiB", "has a sign"),
            ("99999999TiB", "is too large"),
        ] {
            let m = message(parse_size("part_size", text).unwrap_err());
            assert!(m.starts_with(&format!("part_size: {text:?} {why}")), "{text:?}: {m}");
        }
    }

    #[test]
    fn sizes_print_with_the_largest_exact_unit() {
        assert_eq!(format_size(16 << 20), "16MiB");
        assert_eq!(format_size(16_000_000), "16MB");
        assert_eq!(format_size(5_242_881), "5242881B");
        assert_eq!(format_size(0), "0B");
        assert_eq!(format_size(1 << 40), "1TiB");
        for n in [0, 1, 1000, 1024, 5_242_880, 16_000_000, u64::MAX] {
            assert_eq!(parse_size("x", &format_size(n)).unwrap(), n);
        }
    }

    #[test]
    fn counts_booleans_and_choices() {
        assert_eq!(parse_count("concurrency", "8", 1, 10).unwrap(), 8);
        assert_eq!(
            message(parse_count("concurrency", "0", 1, 10).unwrap_err()),
            "concurrency: \"0\" is out of range; give 1 to 10"
        );
        for bad in ["", "+1", "1.0", "8MiB", "x"] {
            assert!(parse_count("concurrency", bad, 1, 10).is_err(), "{bad:?}");
        }
        assert!(parse_bool("create_bucket", "true").unwrap());
        assert!(!parse_bool("create_bucket", "false").unwrap());
        assert!(parse_bool("create_bucket", "yes").is_err());
        assert_eq!("virtual".parse::<Addressing>().unwrap(), Addressing::VirtualHosted);
        assert_eq!("md5".parse::<ChecksumMode>().unwrap(), ChecksumMode::ContentMd5);
        assert_eq!(
            message("sideways".parse::<Addressing>().unwrap_err()),
            "addressing: \"sideways\" is not one of auto, path, virtual"
        );
    }

    #[test]
    fn endpoint_errors_name_the_part_and_never_repeat_the_url() {
        assert!(check_endpoint("http://127.0.0.1:9000").is_ok());
        assert!(check_endpoint("https://s3.example.com").is_ok());
        for (text, part) in [
            ("ftp://secret-host:21", "scheme"),
            ("http://AKIDSECRET:hunter2@host:9000", "credentials"),
            ("no-scheme-hunter2", "not a URL"),
            ("http://host:9000/?X-Amz-Signature=hunter2", "query string"),
        ] {
            let m = message(check_endpoint(text).unwrap_err());
            assert!(m.contains(part), "{m}");
            assert!(!m.contains("hunter2") && !m.contains("secret-host"), "{m}");
        }
    }

    #[test]
    fn long_or_odd_values_are_shown_on_one_line() {
        assert_eq!(shown("a\nb"), "\"a\\nb\"");
        assert_eq!(shown(&"x".repeat(50)), format!("\"{}...\"", "x".repeat(40)));
    }
}
