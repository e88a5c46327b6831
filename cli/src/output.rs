//! What the command prints: human tables and lines, or exactly one JSON document on stdout
//! with `--json` (§8): the core's serialisation of the result (`s3keep::report`,
//! docs/SCHEMA.md); errors as one line on stderr.
//!
//! Writes ignore a closed pipe (`s3keep list | head`), where `println!` would panic.

use std::io::Write as _;

use indicatif::HumanBytes;
use s3keep::backup::BackupInfo;
use s3keep::report::rfc3339;
use s3keep::Error;
use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// How to print: JSON or human, quiet or not.
#[derive(Clone, Copy, Debug, Default)]
pub struct Output {
    /// Print one JSON document on stdout instead of human text.
    pub json: bool,
    /// Leave out confirmation messages (and progress bars).
    pub quiet: bool,
}

impl Output {
    /// Prints the JSON document of a result (pretty, then a newline) on stdout.
    pub fn document(&self, value: &impl Serialize) {
        let text = serde_json::to_string_pretty(value).expect("results always serialise");
        stdout_line(&text);
    }

    /// Prints a result line on stdout (human mode only; no-op with `--json`).
    pub fn line(&self, text: &str) {
        if !self.json {
            stdout_line(text);
        }
    }

    /// Prints a confirmation message on stdout, unless `--json` or `--quiet`.
    pub fn info(&self, text: &str) {
        if !self.json && !self.quiet {
            stdout_line(text);
        }
    }

    /// Prints a table with a header row, columns padded to their widest cell (human only).
    pub fn table(&self, headers: &[&str], rows: &[Vec<String>]) {
        if !self.json {
            stdout_line(render_table(headers, rows).trim_end_matches('\n'));
        }
    }

    /// Reports an error: `error: <Display>` on stderr; with `--json` also
    /// `{"error": {...}}` on stdout (with `extra` added to the document, such as the plan
    /// of a prune that was not confirmed).
    pub fn error(&self, error: &Error, extra: Option<(&str, Value)>) {
        stderr_line(&format!("error: {error}"));
        if self.json {
            let mut doc = Map::new();
            doc.insert("error".into(), to_value(error));
            if let Some((key, value)) = extra {
                doc.insert(key.into(), value);
            }
            self.document(&Value::Object(doc));
        }
    }

    /// Prints a one-line problem on stderr (`error: ...`) that is not an [`Error`], such as
    /// a verify that found damage.
    pub fn problem(&self, text: &str) {
        stderr_line(&format!("error: {text}"));
    }
}

/// The JSON value of a result (for documents that combine results, such as an error and
/// the plan it refused).
pub fn to_value(result: &impl Serialize) -> Value {
    serde_json::to_value(result).expect("results always serialise")
}

/// Writes one line on stdout, ignoring a closed pipe.
fn stdout_line(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// Writes one line on stderr, ignoring failures.
pub fn stderr_line(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

/// A timestamp for tables: `2024-05-01 13:45:12Z` (UTC, whole seconds), `-` when unknown.
pub fn short_time(t: Option<OffsetDateTime>) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
    match t {
        Some(t) => t
            .to_offset(time::UtcOffset::UTC)
            .format(&format)
            .unwrap_or_else(|_| rfc3339(t)),
        None => "-".into(),
    }
}

/// Bytes in binary units (`1.50 MiB`), `-` when unknown.
pub fn size(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "-".into(), |b| HumanBytes(b).to_string())
}

/// The human lines of one backup's status: `key: value`, aligned.
pub fn backup_lines(info: &BackupInfo) -> Vec<(String, String)> {
    let known = [
        ("backup", Some(info.id.to_string())),
        ("status", Some(info.status.to_string())),
        ("failure reason", info.failure_reason.clone()),
        ("created", info.created_at.map(|t| short_time(Some(t)))),
        ("updated", info.updated_at.map(|t| short_time(Some(t)))),
        ("files", info.file_count.map(|n| n.to_string())),
        (
            "size",
            info.total_size.map(|b| format!("{} ({b} bytes)", size(Some(b)))),
        ),
        ("writer", info.writer.clone()),
    ];
    let known = known.into_iter().filter_map(|(k, v)| Some((k.to_string(), v?)));
    let meta = info.user_metadata.iter().map(|(k, v)| (format!("meta {k}"), v.clone()));
    known.chain(meta).collect()
}

/// Renders `key: value` pairs with the values aligned. Keys and values may come from the
/// store (user metadata, a failure reason): their control characters are escaped
/// (`s3keep::escape`), so no value can forge a line or move the cursor.
pub fn render_pairs(pairs: &[(String, String)]) -> String {
    let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (shown(k), shown(v))).collect();
    let width = pairs.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    pairs
        .iter()
        .map(|(k, v)| format!("{k:<width$}  {v}\n", width = width + 1, k = format!("{k}:")))
        .collect()
}

fn shown(text: &str) -> String {
    s3keep::escape::escape_controls(text).into_owned()
}

/// Renders a table: header row, then the rows, columns separated by two spaces and padded to
/// the widest cell; the last column is not padded.
pub fn render_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    // Cells may come from the store (a failure reason): escaped as in `render_pairs`.
    let header = headers.iter().map(|h| h.to_string()).collect();
    let rows: Vec<Vec<String>> = std::iter::once(header)
        .chain(rows.iter().map(|r| r.iter().map(|c| shown(c)).collect()))
        .collect();
    let width = |i: usize| rows.iter().filter_map(|r| r.get(i)).map(|c| c.chars().count()).max();
    let widths: Vec<usize> = (0..headers.len()).map(|i| width(i).unwrap_or(0)).collect();
    let mut text = String::new();
    for row in &rows {
        let last = row.len().saturating_sub(1);
        let cells = row.iter().enumerate().map(|(i, c)| match i == last {
            true => c.clone(),
            false => format!("{c:<0$}", widths[i]),
        });
        text.push_str(cells.collect::<Vec<_>>().join("  ").trim_end());
        text.push('\n');
    }
    text
}
