//! `cleanup-uploads [--older-than DURATION]` and `doctor [--probe]`.

use s3keep::backup::{BackupStore, CheckState, ProbeReport, ProbeState};
use s3keep::options::format_duration;
use s3keep::Result;

use super::open_store;
use crate::args::{CleanupArgs, DoctorArgs, GlobalArgs};
use crate::exit;
use crate::output::{short_time, Output};

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
    // The bucket is not created here: the doctor reports the store as it is.
    let store = BackupStore::new(crate::options::store_config(&global.options)?)?;
    let report = store.check().await;
    let checks = &report.checks;
    let mut ok = report.is_ok();
    // The probe needs a working PutObject under the prefix: after a failed check it says nothing new.
    let probe: Option<std::result::Result<ProbeReport, s3keep::Error>> = match (args.probe, ok) {
        (true, true) => Some(store.probe().await),
        _ => None,
    };
    ok &= probe.as_ref().is_none_or(|p| p.as_ref().is_ok_and(ProbeReport::ok));
    if out.json {
        // The core's CheckReport document, plus the probe's (docs/SCHEMA.md).
        let mut doc = serde_json::to_value(&report).unwrap_or_default();
        doc["probe"] = match &probe {
            Some(Ok(report)) => serde_json::to_value(report).unwrap_or_default(),
            Some(Err(e)) => serde_json::json!({"error": e.to_string()}),
            None if args.probe => serde_json::json!({"error": "not run: a check failed"}),
            None => serde_json::Value::Null,
        };
        doc["ok"] = serde_json::Value::Bool(ok);
        out.document(&doc);
    } else {
        let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        for c in checks {
            let mut line = format!("{:<8} {:<width$}  {}", c.state.as_str(), c.name, c.message);
            if !c.hint.is_empty() {
                line.push_str(&format!(" — {}", c.hint));
            }
            out.line(&line);
        }
        match &probe {
            Some(Ok(report)) => probe_lines(report, &out),
            Some(Err(e)) => out.line(&format!("{:<8} {:<width$}  {e}", "failed", "probe")),
            None if args.probe => out.line(&format!(
                "{:<8} {:<width$}  not run: a check failed",
                "skipped", "probe"
            )),
            None => {}
        }
    }
    if ok {
        Ok(exit::OK)
    } else {
        if !out.json {
            let mut failed: Vec<&str> = checks
                .iter()
                .filter(|c| c.state == CheckState::Failed)
                .map(|c| c.name)
                .collect();
            match &probe {
                Some(Ok(report)) => failed.extend(
                    report
                        .lines
                        .iter()
                        .filter(|l| l.state == ProbeState::Fail)
                        .map(|l| l.name),
                ),
                Some(Err(_)) => failed.push("probe"),
                None => {}
            }
            out.problem(&format!("doctor: {} failed", failed.join(", ")));
        }
        Ok(exit::FAILURE)
    }
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
