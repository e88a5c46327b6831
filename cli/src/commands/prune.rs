//! `prune [--keep-* N]... [--keep-within DURATION] [--prune-failed] [--prune-stale]
//! (--dry-run | --yes)`: retention (§7). The plan is always shown; deleting needs `--yes`.

use s3keep::retention::PlanEntry;
use s3keep::{Error, Result};

use super::open_store;
use crate::args::{GlobalArgs, PruneArgs};
use crate::exit;
use crate::output::{short_time, to_value, Output};

/// Plans retention and, with `--yes`, deletes. Without `--yes` or `--dry-run` the plan is
/// shown and the command exits 2 asking for one of them.
pub async fn prune(global: &GlobalArgs, args: PruneArgs, out: Output) -> Result<i32> {
    let policy = args.policy();
    let store = open_store(global).await?;
    let execute = args.yes;
    let outcome = store.prune(&policy, !execute).await?;
    let entries = &outcome.plan.entries;
    let to_delete = outcome.plan.to_delete().count();

    if !execute && !args.dry_run {
        if !out.json {
            print_plan(&out, entries);
        }
        let error = Error::invalid_input(format!(
            "nothing deleted: the plan deletes {to_delete} of {} backups; pass --yes to delete them, or --dry-run to only show the plan",
            entries.len()
        ));
        out.error(&error, Some(("plan", to_value(&outcome))));
        return Ok(exit::USAGE);
    }
    if out.json {
        out.document(&outcome);
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
    // Object Lock (§12): what the plan deletes but the lock still retains is skipped.
    for (id, until) in &outcome.locked {
        let until = s3keep::s3::retain_until_text(*until);
        out.info(&format!(
            "skipped backup {id}: locked by Object Lock until {until}; a prune after that deletes it"
        ));
    }
    let more = |n: u64, what: &str| if n == 0 { String::new() } else { format!(", {n} {what}") };
    out.info(&format!(
        "deleted {} backups, kept {}{}{}",
        outcome.deleted.len(),
        outcome.plan.to_keep().count(),
        more(outcome.locked.len() as u64, "locked"),
        more(outcome.failed.len() as u64, "failed (run prune again to finish them)")
    ));
    if let Some(gc) = &outcome.gc {
        let locked = more(gc.packs_locked, "locked by Object Lock");
        out.info(&format!(
            "garbage collection: deleted {} packs ({} bytes), kept {} in use and {} too young to collect yet{locked}",
            gc.packs_deleted, gc.bytes_deleted, gc.packs_used, gc.packs_too_young
        ));
    }
    Ok(if outcome.failed.is_empty() {
        exit::OK
    } else {
        exit::FAILURE
    })
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
