//! `cleanup-uploads [--older-than DURATION]` and `doctor`.

use s3keep::backup::{BackupStore, CheckState};
use s3keep::options::format_duration;
use s3keep::Result;
use serde_json::json;

use super::open_store;
use crate::args::{CleanupArgs, GlobalArgs};
use crate::exit;
use crate::output::Output;

/// Aborts the multipart uploads under the prefix older than `--older-than` (default: the
/// `stale_after` option).
pub async fn cleanup_uploads(global: &GlobalArgs, args: CleanupArgs, out: Output) -> Result<i32> {
    let store = open_store(global).await?;
    let older_than = args.older_than.unwrap_or(store.config().stale_after);
    let aborted = store.cleanup_uploads(older_than).await?;
    if out.json {
        out.document(&json!({
            "olderThan": format_duration(older_than),
            "olderThanSeconds": older_than.as_secs(),
            "aborted": aborted.iter().map(|u| json!({
                "key": u.key,
                "uploadId": u.upload_id,
                "initiated": u.initiated,
            })).collect::<Vec<_>>(),
        }));
    } else {
        let rows: Vec<Vec<String>> = aborted
            .iter()
            .map(|u| vec![u.initiated.clone(), u.key.clone()])
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

/// Runs every check of the store; one line per check with its hint; exit 1 if one failed.
pub async fn doctor(global: &GlobalArgs, out: Output) -> Result<i32> {
    // The bucket is not created here: the doctor reports the store as it is.
    let store = BackupStore::new(crate::options::store_config(&global.options)?)?;
    let checks = store.check().await;
    let ok = !checks.iter().any(|c| c.state == CheckState::Failed);
    if out.json {
        out.document(&json!({
            "ok": ok,
            "endpoint": store.client().endpoint(),
            "bucket": store.config().client.bucket,
            "prefix": store.config().prefix,
            "checks": checks.iter().map(|c| json!({
                "name": c.name,
                "state": c.state.as_str(),
                "message": c.message,
                "hint": c.hint,
                "code": c.code,
            })).collect::<Vec<_>>(),
        }));
    } else {
        let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        for c in &checks {
            let mut line = format!("{:<8} {:<width$}  {}", c.state.as_str(), c.name, c.message);
            if !c.hint.is_empty() {
                line.push_str(&format!(" — {}", c.hint));
            }
            out.line(&line);
        }
    }
    if ok {
        Ok(exit::OK)
    } else {
        if !out.json {
            let failed: Vec<&str> = checks
                .iter()
                .filter(|c| c.state == CheckState::Failed)
                .map(|c| c.name)
                .collect();
            out.problem(&format!("doctor: {} failed", failed.join(", ")));
        }
        Ok(exit::FAILURE)
    }
}
