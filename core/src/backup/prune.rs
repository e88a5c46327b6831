//! prune: retention (§7) applied to the store. The plan comes from the pure planner in
//! [`crate::retention`]; executing it goes through the delete protocol, backup by backup.

use super::{BackupId, BackupStore, DeleteOptions, ListFilter, StatusCode};
use crate::error::{Error, Result};
use crate::retention::{plan, Candidate, Plan, RetentionPolicy};
use crate::runtime;

/// What [`BackupStore::prune`] did: the plan, and for an executed plan what was deleted.
#[derive(Clone, Debug)]
pub struct PruneOutcome {
    /// Every backup with keep/delete and the deciding rule.
    pub plan: Plan,
    /// Whether the plan was only shown (`dry_run`).
    pub dry_run: bool,
    /// The backups deleted (empty for a dry run).
    pub deleted: Vec<BackupId>,
    /// Backups whose delete failed; a later prune (or delete) finishes them.
    pub failed: Vec<(BackupId, Error)>,
}

impl BackupStore {
    /// prune(policy, dry_run): plans retention for every (partition, node) group and, unless
    /// `dry_run`, deletes what the plan says with the delete protocol.
    ///
    /// A failed delete does not stop the others; it is reported in [`PruneOutcome::failed`].
    ///
    /// # Errors
    /// Errors of the listing; delete errors are collected instead.
    pub async fn prune(&self, policy: &RetentionPolicy, dry_run: bool) -> Result<PruneOutcome> {
        let backups = self.list(ListFilter::default()).await?;
        let candidates: Vec<Candidate> = backups
            .iter()
            .map(|b| Candidate {
                id: b.id,
                status: b.status,
                // A status without any timestamp is treated as brand new: never stale.
                created_at: b.created_at.or(b.updated_at).unwrap_or_else(runtime::now_utc),
            })
            .collect();
        let policy = RetentionPolicy {
            stale_after: Some(policy.stale_after.unwrap_or(self.config.stale_after)),
            ..policy.clone()
        };
        let plan = plan(&policy, &candidates, runtime::now_utc());
        let mut outcome = PruneOutcome {
            plan,
            dry_run,
            deleted: Vec::new(),
            failed: Vec::new(),
        };
        if dry_run {
            return Ok(outcome);
        }
        let targets: Vec<(BackupId, StatusCode)> = outcome.plan.to_delete().map(|e| (e.id, e.status)).collect();
        for (id, status) in targets {
            // The planner only deletes IN_PROGRESS backups that are stale: force is safe.
            let options = DeleteOptions {
                force: status == StatusCode::InProgress,
            };
            match self.delete(id, options).await {
                Ok(_) | Err(Error::NotFound(_)) => outcome.deleted.push(id),
                Err(e) => {
                    tracing::warn!(%id, error = %e, "prune could not delete a backup");
                    outcome.failed.push((id, e));
                }
            }
        }
        Ok(outcome)
    }
}
