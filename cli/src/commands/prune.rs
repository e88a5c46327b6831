//! `prune [--keep-* N]... [--keep-within DURATION] [--prune-failed] [--prune-stale]
//! (--dry-run | --yes)`: retention (§7). The plan is always shown; deleting needs `--yes`.

use std::collections::HashMap;

use s3keep::retention::{PlanEntry, RetentionPolicy};
use s3keep::{BackupId, Error, Result};
use serde_json::{json, Value};

use super::{open_store, usage};
use crate::args::{GlobalArgs, PruneArgs};
use crate::exit;
use crate::output::{error_json, rfc3339, short_time, Output};

/// Plans retention and, with `--yes`, deletes. Without `--yes` or `--dry-run` the plan is
/// shown and the command exits 2 asking for one of them.
pub async fn prune(global: &GlobalArgs, args: PruneArgs, out: Output) -> Result<i32> {
    let policy = policy(&args);
    let store = open_store(global).await?;
    let execute = args.yes;
    let outcome = store.prune(&policy, !execute).await?;
    let entries = &outcome.plan.entries;
    let to_delete = outcome.plan.to_delete().count();
    let failed: HashMap<BackupId, &Error> = outcome.failed.iter().map(|(id, e)| (*id, e)).collect();
    let document = || Value::Array(entries.iter().map(|e| entry_json(e, execute, &failed)).collect());

    if !execute && !args.dry_run {
        if !out.json {
            print_plan(&out, entries);
        }
        let error = usage(format!(
            "nothing deleted: the plan deletes {to_delete} of {} backups; pass --yes to delete them, or --dry-run to only show the plan",
            entries.len()
        ));
        out.error(&error, Some(("plan", document())));
        return Ok(exit::USAGE);
    }
    if out.json {
        out.document(&document());
    } else if !execute || !out.quiet {
        print_plan(&out, entries);
    }
    if policy.is_empty() && !out.json {
        out.info("the policy has no --keep-* rule: no COMPLETED backup is deleted");
    }
    if !execute {
        out.info(&format!(
            "dry run: {to_delete} of {} backups would be deleted; nothing was deleted",
            entries.len()
        ));
        return Ok(exit::OK);
    }
    for (id, error) in &outcome.failed {
        out.problem(&format!("could not delete backup {id}: {error}"));
    }
    out.info(&format!(
        "deleted {} backups, kept {}{}",
        outcome.deleted.len(),
        outcome.plan.to_keep().count(),
        match outcome.failed.len() {
            0 => String::new(),
            n => format!(", {n} failed (run prune again to finish them)"),
        }
    ));
    Ok(if outcome.failed.is_empty() {
        exit::OK
    } else {
        exit::FAILURE
    })
}

/// The retention policy of the flags; stale after the store's `stale_after` option.
fn policy(args: &PruneArgs) -> RetentionPolicy {
    RetentionPolicy {
        keep_last: args.keep_last,
        keep_hourly: args.keep_hourly,
        keep_daily: args.keep_daily,
        keep_weekly: args.keep_weekly,
        keep_monthly: args.keep_monthly,
        keep_yearly: args.keep_yearly,
        keep_within: args.keep_within,
        prune_failed: args.prune_failed,
        prune_stale: args.prune_stale,
        stale_after: None,
    }
}

/// One plan entry as JSON: the backup fields, `action`, `reason`, `matched`; once executed,
/// `deleted` for entries planned for delete (and `error` when their delete failed).
fn entry_json(entry: &PlanEntry, executed: bool, failed: &HashMap<BackupId, &Error>) -> Value {
    let id = entry.id;
    let mut v = json!({
        "id": id.to_string(),
        "partition": id.partition,
        "checkpoint": id.checkpoint,
        "node": id.node,
        "status": entry.status.as_str(),
        "createdAt": rfc3339(entry.created_at),
        "action": entry.action.as_str(),
        "reason": entry.reason.as_str(),
        "matched": entry.matched.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
    });
    if executed && entry.action == s3keep::retention::Action::Delete {
        let error = failed.get(&id);
        v["deleted"] = Value::Bool(error.is_none());
        if let Some(error) = error {
            v["error"] = error_json(error);
        }
    }
    v
}

/// The plan as a table: id, status, created, action, and the deciding reason (with every
/// rule that matched, when more than one did).
fn print_plan(out: &Output, entries: &[PlanEntry]) {
    if entries.is_empty() {
        out.line("no backups");
        return;
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            let reason = if e.matched.len() > 1 {
                e.matched.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
            } else {
                e.reason.as_str().to_string()
            };
            vec![
                e.id.to_string(),
                e.status.to_string(),
                short_time(Some(e.created_at)),
                e.action.as_str().to_string(),
                reason,
            ]
        })
        .collect();
    out.table(&["ID", "STATUS", "CREATED", "ACTION", "REASON"], &rows);
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3keep::retention::{Action, Reason, Rule};
    use s3keep::StatusCode;

    fn entry(action: Action) -> PlanEntry {
        PlanEntry {
            id: BackupId::new(0, 5, 1),
            status: StatusCode::Completed,
            created_at: time::macros::datetime!(2024-01-02 03:04:05 UTC),
            action,
            reason: if action == Action::Keep {
                Reason::KeepLast
            } else {
                Reason::NoRuleMatched
            },
            matched: if action == Action::Keep {
                vec![Rule::Last, Rule::Daily]
            } else {
                vec![]
            },
        }
    }

    #[test]
    fn plan_entries_carry_action_reason_and_matched_rules() {
        let v = entry_json(&entry(Action::Keep), false, &HashMap::new());
        assert_eq!(v["action"], "keep");
        assert_eq!(v["reason"], "keep-last");
        assert_eq!(v["matched"], json!(["keep-last", "keep-daily"]));
        assert_eq!(v["createdAt"], "2024-01-02T03:04:05Z");
        assert_eq!(v["status"], "COMPLETED");
        assert!(v.get("deleted").is_none());
    }

    #[test]
    fn executed_deletes_report_success_or_the_error() {
        let ok = entry_json(&entry(Action::Delete), true, &HashMap::new());
        assert_eq!(ok["deleted"], true);
        let err = Error::AccessDenied(s3keep::ErrorDetails::message("denied"));
        let failed = HashMap::from([(BackupId::new(0, 5, 1), &err)]);
        let v = entry_json(&entry(Action::Delete), true, &failed);
        assert_eq!(v["deleted"], false);
        assert_eq!(v["error"]["kind"], "AccessDenied");
    }
}
