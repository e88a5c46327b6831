//! prune: retention (§7) applied to the store. The plan comes from the pure planner in
//! [`crate::retention`]; executing it goes through the delete protocol, backup by backup.
//! In a format 2 store an executed prune holds the exclusive lock throughout and ends with
//! garbage collection (restic's `forget --prune`): packs no remaining backup uses are
//! deleted. A policy without keep rules deletes no COMPLETED backup, so it only collects.

use super::{BackupId, BackupStore, DeleteOptions, ListFilter, PruneReport, StatusCode};
use crate::error::{Error, Result};
use crate::format2::lock::LockKind;
use crate::retention::{plan, Candidate, RetentionPolicy};
use crate::runtime;

impl BackupStore {
    /// prune(policy, dry_run): plans retention for every (partition, node) group and, unless
    /// `dry_run`, deletes what the plan says with the delete protocol.
    ///
    /// A failed delete does not stop the others; it is reported in [`PruneReport::failed`].
    /// In a format 2 store, unless `dry_run`, the whole prune holds the exclusive lock and
    /// ends with garbage collection ([`PruneReport::gc`]); a store busy with saves for
    /// longer than the lock wait (5 minutes) is reported, holders named, before anything
    /// is deleted.
    ///
    /// # Errors
    /// Errors of the listing; [`Error::Conflict`] when the store stayed busy or the lock
    /// was lost; [`Error::Integrity`] when garbage collection found the store damaged
    /// (it then deletes no pack); delete errors are collected instead.
    pub async fn prune(&self, policy: &RetentionPolicy, dry_run: bool) -> Result<PruneReport> {
        self.bucket_ready().await?;
        let descriptor = self.read_descriptor().await?;
        let format2 = matches!(&descriptor, Some(d) if d.format_version == 2);
        #[cfg(target_arch = "wasm32")]
        if let Some(d) = descriptor.as_ref().filter(|_| format2 && !dry_run) {
            if d.object_lock()?.is_some() {
                return Err(Error::invalid_input(crate::format2::store::WASM_LOCKED));
            }
        }
        if let Some(descriptor) = descriptor.filter(|_| format2 && !dry_run) {
            // Garbage collection reads every manifest: a write-only host stops here, before
            // deleting anything.
            if let Some(keys) = self.store_keys(&descriptor).await? {
                keys.require_identity("prune")?;
            }
        }
        if dry_run || !format2 {
            return self.prune_backups(policy, dry_run).await;
        }
        let lock = self.take_lock(LockKind::Exclusive, "prune", None).await?;
        let work = async {
            let mut outcome = self.prune_backups(policy, dry_run).await?;
            outcome.gc = Some(self.collect_garbage(&lock).await?);
            Ok(outcome)
        };
        let refresh = lock.keep_fresh(&self.client);
        futures::pin_mut!(work, refresh);
        let result = match futures::future::select(work, refresh).await {
            futures::future::Either::Left((result, _)) => result,
            futures::future::Either::Right((broken, _)) => Err(broken),
        };
        lock.release(&self.client).await;
        result
    }

    /// The retention part of [`BackupStore::prune`].
    async fn prune_backups(&self, policy: &RetentionPolicy, dry_run: bool) -> Result<PruneReport> {
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
        let mut outcome = PruneReport {
            plan,
            dry_run,
            deleted: Vec::new(),
            failed: Vec::new(),
            locked: Vec::new(),
            gc: None,
        };
        // Object Lock (§12): what the store's locks still retain is skipped, before its
        // status becomes DELETING (a half-done delete, DELETING already, is finished).
        let now = runtime::now_utc();
        let mut targets: Vec<(BackupId, StatusCode)> = Vec::new();
        for entry in outcome.plan.to_delete() {
            let created_at = candidates.iter().find(|c| c.id == entry.id).map(|c| c.created_at);
            match self.locked_until(created_at, now).await? {
                Some(until) if entry.status != StatusCode::Deleting => outcome.locked.push((entry.id, until)),
                _ => targets.push((entry.id, entry.status)),
            }
        }
        if dry_run {
            return Ok(outcome);
        }
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
