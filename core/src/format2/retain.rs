//! Object Lock on a format 2 store (§12; docs/FORMAT.md, "Object Lock"): extending the
//! retention of shared packs, and telling what is still locked before anything is deleted.
//!
//! A save locks what it writes with retain-until = its `createdAt` + the store's minimum
//! age (`save.rs`, `packer.rs`); a pack it reuses gets the later of its date and this one
//! (PutObjectRetention), so a pack is locked as long as the newest backup using it.

// wasm32 refuses to write to or collect a locked store (store.rs, prune.rs): the module
// keeps only the lock checks there, within the size budget.
#![cfg_attr(target_arch = "wasm32", allow(unused_imports))]

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use futures::{stream, StreamExt as _, TryStreamExt as _};
use time::OffsetDateTime;

use super::crypto::StoreKeys;
use super::id::PackId;
use super::index::{Index, IndexFile};
use super::packer::WrittenPack;
use crate::backup::BackupStore;
use crate::error::{Error, ErrorDetails, Result};
use crate::id::BackupId;
use crate::s3::{PutOptions, Retention};

#[cfg(not(target_arch = "wasm32"))]
/// Blobs per index object a locked save writes for the packs it reuses.
const INDEX_OBJECT_BLOBS: usize = 50_000;

/// The packs a save references but did not write, and index objects listing them (from
/// the index it loaded): a locked save locks both with its own date, so that the packs and
/// an index of them live as long as its backup.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) struct Reused {
    packs: Vec<PackId>,
    index: Vec<IndexFile>,
}

#[cfg(not(target_arch = "wasm32"))]
impl Reused {
    /// What a save that wrote `written` reuses of `referenced`.
    pub(crate) fn new(index: &Index, written: &[WrittenPack], referenced: &HashMap<PackId, u64>) -> Self {
        let mine: HashSet<PackId> = written.iter().map(|p| p.id).collect();
        let reused = |p: &PackId| referenced.contains_key(p) && !mine.contains(p);
        let mut packs: Vec<PackId> = referenced.keys().filter(|p| reused(p)).copied().collect();
        packs.sort();
        Self {
            index: index.to_files(reused, INDEX_OBJECT_BLOBS),
            packs,
        }
    }
}

impl BackupStore {
    /// Locks what a save reuses with its `retention` (§12): extends the date of each pack
    /// and of `s3keep.json`, and writes index objects listing those packs, locked.
    ///
    /// # Errors
    /// The requests' own.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) async fn lock_reused(
        &self,
        reused: &Reused,
        retention: &Retention,
        level: i32,
        keys: Option<&StoreKeys>,
    ) -> Result<()> {
        // The descriptor too: a restore needs it to know that the store is locked.
        let layout = &self.f2().layout;
        let mut objects: Vec<String> = reused.packs.iter().map(|p| layout.pack_key(p)).collect();
        objects.push(layout.descriptor_key());
        self.extend_retention(objects, retention).await?;
        let locked = PutOptions {
            lock: Some(*retention),
            ..PutOptions::default()
        };
        for file in &reused.index {
            let (id, stored) = super::sealed::index_to_stored(file, level, keys);
            self.client
                .put_object(&self.f2().layout.index_key(&id), Bytes::from(stored), &locked)
                .await?;
        }
        Ok(())
    }

    /// Extends the retention of each of `keys` to `lock` where its own date is earlier
    /// (GetObjectRetention, then PutObjectRetention), `concurrency` at a time.
    ///
    /// # Errors
    /// The requests' own (an object that vanished is [`Error::NotFound`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) async fn extend_retention(&self, keys: Vec<String>, lock: &Retention) -> Result<()> {
        let lock = *lock;
        stream::iter(keys)
            .map(|key| async move {
                let current = self.client.get_object_retention(&key).await?;
                if current.is_none_or(|c| c.retain_until < lock.retain_until) {
                    self.client.put_object_retention(&key, &lock).await?;
                }
                Ok::<_, Error>(())
            })
            .buffer_unordered(self.config.concurrency)
            .try_collect::<()>()
            .await
    }

    /// The store's lock retention of a backup created at `created_at`, when it is still in
    /// force at `now`; `None` for a store without Object Lock or a lock that has expired.
    ///
    /// # Errors
    /// The descriptor's (read once per store).
    pub(crate) async fn locked_until(
        &self,
        created_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>> {
        let Some(descriptor) = self.read_descriptor().await? else {
            return Ok(None);
        };
        let Some(settings) = descriptor.object_lock()? else {
            return Ok(None);
        };
        // Without a createdAt (not s3keep's) the backup is treated as locked from now.
        let until = settings.retention(created_at.unwrap_or(now)).retain_until;
        Ok((until > now).then_some(until))
    }

    /// Which of `packs` are still locked at `now` (GetObjectRetention each): GC must not
    /// delete or repack them.
    ///
    /// # Errors
    /// The requests' own.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) async fn locked_packs(
        &self,
        packs: impl IntoIterator<Item = PackId>,
        now: OffsetDateTime,
    ) -> Result<std::collections::HashSet<PackId>> {
        let layout = &self.f2().layout;
        let packs: Vec<PackId> = packs.into_iter().collect();
        let found: Vec<Option<PackId>> = stream::iter(packs)
            .map(|pack| async move {
                match self.client.get_object_retention(&layout.pack_key(&pack)).await {
                    Ok(Some(r)) if r.retain_until > now => Ok(Some(pack)),
                    Ok(_) | Err(Error::NotFound(_)) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .buffer_unordered(self.config.concurrency)
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().collect())
    }
}

/// The error of a delete refused because the backup is locked (code `ObjectLocked`).
pub(crate) fn locked_error(id: &BackupId, until: OffsetDateTime) -> Error {
    Error::Conflict(ErrorDetails {
        code: Some("ObjectLocked".into()),
        ..ErrorDetails::message(format!(
            "backup {id} is locked by Object Lock until {}: it cannot be deleted before then",
            format_date(until)
        ))
    })
}

/// A date as shown to users: RFC 3339, UTC, whole seconds.
pub(crate) fn format_date(t: OffsetDateTime) -> String {
    Retention {
        mode: crate::s3::LockMode::Governance,
        retain_until: t,
    }
    .retain_until_text()
}
