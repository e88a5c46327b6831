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
    let mut lines = vec![
        ("backup".to_string(), info.id.to_string()),
        ("status".into(), info.status.to_string()),
    ];
    if let Some(reason) = &info.failure_reason {
        lines.push(("failure reason".into(), reason.clone()));
    }
    if info.created_at.is_some() {
        lines.push(("created".into(), short_time(info.created_at)));
    }
    if info.updated_at.is_some() {
        lines.push(("updated".into(), short_time(info.updated_at)));
    }
    if let Some(files) = info.file_count {
        lines.push(("files".into(), files.to_string()));
    }
    if info.total_size.is_some() {
        lines.push((
            "size".into(),
            format!("{} ({} bytes)", size(info.total_size), info.total_size.unwrap_or(0)),
        ));
    }
    if let Some(writer) = &info.writer {
        lines.push(("writer".into(), writer.clone()));
    }
    for (k, v) in &info.user_metadata {
        lines.push((format!("meta {k}"), v.clone()));
    }
    lines
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
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| shown(c)).collect()).collect();
    let rows = &rows[..];
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let render_row = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut line = String::new();
        for (i, cell) in cells.into_iter().enumerate() {
            if i == last {
                line.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        line.trim_end().to_string() + "\n"
    };
    let mut text = render_row(headers.to_vec());
    for row in rows {
        text.push_str(&render_row(row.iter().map(String::as_str).collect()));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3keep::{BackupId, StatusCode};
    use std::collections::BTreeMap;

    fn info() -> BackupInfo {
        BackupInfo {
            id: BackupId::new(1, 1_700_000_000_000, 2),
            status: StatusCode::Completed,
            failure_reason: None,
            created_at: Some(time::macros::datetime!(2024-05-01 13:45:12.5 UTC)),
            updated_at: None,
            writer: Some("s3keep/0.1.0".into()),
            total_size: Some(1536),
            file_count: Some(2),
            user_metadata: BTreeMap::from([("k".to_string(), "v".to_string())]),
        }
    }

    #[test]
    fn tables_pad_columns_to_the_widest_cell() {
        let text = render_table(
            &["ID", "STATUS"],
            &[
                vec!["0/1/0".into(), "COMPLETED".into()],
                vec!["0/12345/0".into(), "FAILED".into()],
            ],
        );
        assert_eq!(text, "ID         STATUS\n0/1/0      COMPLETED\n0/12345/0  FAILED\n");
    }

    #[test]
    fn values_from_the_store_are_printed_escaped() {
        let pairs = [("meta k\u{1b}".to_string(), "a\nforged: line\u{1b}[2J".to_string())];
        let text = render_pairs(&pairs);
        assert_eq!(text, "meta k\\u{1b}:  a\\nforged: line\\u{1b}[2J\n");
        let table = render_table(&["ID", "FAILURE REASON"], &[vec!["1/2/3".into(), "x\ny\u{7}".into()]]);
        assert_eq!(table.lines().count(), 2, "{table:?}");
        assert!(table.contains("x\\ny\\u{7}"), "{table:?}");
    }

    #[test]
    fn human_times_and_sizes_are_short() {
        assert_eq!(short_time(info().created_at), "2024-05-01 13:45:12Z");
        assert_eq!(short_time(None), "-");
        assert_eq!(size(Some(1536)), "1.50 KiB");
        assert_eq!(size(None), "-");
    }
}
