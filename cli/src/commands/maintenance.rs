//! `cleanup-uploads [--older-than DURATION]` and `doctor [--probe]`.

use s3keep::backup::{CheckState, ProbeReport, ProbeState};
use s3keep::options::format_duration;
use s3keep::Result;

use super::open_store;
use crate::args::{CleanupArgs, DoctorArgs, GlobalArgs};
use crate::exit;
use crate::output::{short_time, to_value, Output};
use serde_json::{json, Value};

/// Aborts the multipart uploads under the prefix older than `--older-than` (default: the
/// `stale_after` option).
pub async fn cleanup_uploads(global: &GlobalArgs, args: CleanupArgs, out: Output) -> Result<i32> {
    let store = open_store(global).await?;
    let older_than = args.older_than.unwrap_or(store.config().stale_after);
    let report = store.cleanup_uploads(older_than).await?;
    let aborted = &report.aborted;
    if out.json {
        out.document(&report);
    } else {
        let rows: Vec<Vec<String>> = aborted
            .iter()
            .map(|u| vec![short_time(u.initiated_at), u.key.clone()])
            .collect();
        if !rows.is_empty() && !out.quiet {
            out.table(&["INITIATED", "KEY"], &rows);
        }
        out.info(&format!(
            "aborted {} multipart uploads older than {}",
            aborted.len(),
            format_duration(older_than)
        ));
    }
    Ok(exit::OK)
}

/// Runs every check of the store, and with `--probe` the probe; one line per check with its
/// hint; exit 1 if one failed.
pub async fn doctor(global: &GlobalArgs, args: DoctorArgs, out: Output) -> Result<i32> {
    let store = open_store(global).await?;
    let report = store.check().await;
    let checked = report.is_ok();
    // The probe needs a working PutObject under the prefix: after a failed check it says
    // nothing new, and is reported as not run.
    let probe = match (args.probe, checked) {
        (true, true) => Some(store.probe().await.map_err(|e| e.to_string())),
        (true, false) => Some(Err("not run: a check failed".to_string())),
        (false, _) => None,
    };
    let mut failed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| c.state == CheckState::Failed)
        .map(|c| c.name)
        .collect();
    match &probe {
        Some(Ok(p)) => failed.extend(p.lines.iter().filter(|l| l.state == ProbeState::Fail).map(|l| l.name)),
        Some(Err(_)) if checked => failed.push("probe"),
        _ => {}
    }
    if out.json {
        // The core's CheckReport document, plus the probe's (docs/SCHEMA.md).
        let mut doc = to_value(&report);
        doc["probe"] = match &probe {
            Some(Ok(p)) => to_value(p),
            Some(Err(e)) => json!({ "error": e }),
            None => Value::Null,
        };
        doc["ok"] = failed.is_empty().into();
        out.document(&doc);
    } else {
        let width = report.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        for c in &report.checks {
            let hint = if c.hint.is_empty() {
                String::new()
            } else {
                format!(" — {}", c.hint)
            };
            out.line(&format!(
                "{:<8} {:<width$}  {}{hint}",
                c.state.as_str(),
                c.name,
                c.message
            ));
        }
        match &probe {
            Some(Ok(p)) => probe_lines(p, &out),
            Some(Err(e)) => {
                let state = if checked { "failed" } else { "skipped" };
                out.line(&format!("{state:<8} {:<width$}  {e}", "probe"));
            }
            None => {}
        }
        if !failed.is_empty() {
            out.problem(&format!("doctor: {} failed", failed.join(", ")));
        }
    }
    Ok(if failed.is_empty() { exit::OK } else { exit::FAILURE })
}

/// The probe's lines, aligned like the checks: `pass|fail|unsupported  NAME  message`.
fn probe_lines(report: &ProbeReport, out: &Output) {
    let width = report.lines.iter().map(|l| l.name.len()).max().unwrap_or(0);
    for l in &report.lines {
        out.line(&format!("{:<11} {:<width$}  {}", l.state.as_str(), l.name, l.message));
    }
    if !report.conditional_writes() {
        out.line("save refuses this store unless single_writer is set: it does not honour conditional writes");
    }
}
