//! Garbage collection of format 2 (§11; docs/FORMAT.md, "Garbage collection"), run by
//! prune under the exclusive lock:
//!
//! 1. the **used set**: the chunk ids of every COMPLETED backup's manifest (and of a
//!    CORRUPT one's, whose state is unknown, when it has a manifest). A COMPLETED backup
//!    without a readable manifest, or a used chunk that no index object lists, stops GC
//!    before anything is deleted: the store is damaged, and deleting on a partial view
//!    could destroy what a repair needs;
//! 2. every index object and every pack under `data/` (with its LastModified);
//! 3. a pack is **kept** when it holds a used chunk (any copy of it: a reader merging old
//!    and new index objects may be sent to either), or when it is younger than the lock
//!    stale limit by the server's clock (the grace period); every other pack, indexed or
//!    not, is **dead**;
//! 4. new index objects listing exactly the kept indexed packs are written, then (own lock
//!    checked) the index objects read in step 2 that are not among them are deleted;
//! 5. the dead packs are deleted, the lock checked before each DeleteObjects batch; on a
//!    store with Object Lock (§12), a dead pack whose retain-until is still ahead
//!    (GetObjectRetention) is left alone and counted as locked.
//!
//! The order makes every crash harmless: before step 4 ends, extra index objects only
//! list packs that still exist; after it, dead packs are unindexed and the next GC deletes
//! them as such.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{self, StreamExt as _, TryStreamExt as _};
use time::OffsetDateTime;

use super::id::{ChunkId, IndexId, PackId};
use super::index::{IndexFile, IndexPack};
use super::lock::{server_now, Lock};
use crate::backup::layout::key_inside;
use crate::backup::{BackupStore, ListFilter, StatusCode};
use crate::error::{Error, Result};
use crate::report::GcReport;
use crate::s3::{PutOptions, DELETE_OBJECTS_MAX_KEYS};

/// Blobs per index object GC writes (about 10 MiB of JSON before compression).
const INDEX_OBJECT_BLOBS: usize = 50_000;

/// One pack under `data/` as the listing shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ListedPack {
    pub id: PackId,
    pub size: u64,
    /// Age by the server's clock; `None` when its LastModified could not be read (young).
    pub age: Option<Duration>,
}

/// What GC decided (the pure part, unit-tested).
#[derive(Debug, Default)]
pub(crate) struct GcPlan {
    /// Dead packs with their sizes, by id.
    pub dead: Vec<(PackId, u64)>,
    /// The index objects to write: every kept indexed pack, once, by id.
    pub index: Vec<IndexFile>,
    /// Packs kept because used.
    pub used: u64,
    /// Unused packs kept by the grace period.
    pub too_young: u64,
}

/// Step 3 and the index of step 4: which packs die, which index replaces the old one.
///
/// # Errors
/// [`Error::Integrity`] when a used chunk is in no index object.
pub(crate) fn plan(
    used: &HashSet<ChunkId>,
    index: &[IndexFile],
    listed: &[ListedPack],
    grace: Duration,
) -> Result<GcPlan> {
    let mut indexed: BTreeMap<PackId, &IndexPack> = BTreeMap::new();
    for file in index {
        for pack in &file.packs {
            indexed.entry(pack.id).or_insert(pack);
        }
    }
    let mut used_packs: HashSet<PackId> = HashSet::new();
    let mut found: HashSet<ChunkId> = HashSet::new();
    for (id, pack) in &indexed {
        for blob in &pack.blobs {
            if used.contains(&blob.id) {
                used_packs.insert(*id);
                found.insert(blob.id);
            }
        }
    }
    if found.len() < used.len() {
        let missing = used.iter().find(|c| !found.contains(*c)).expect("one is missing");
        return Err(Error::integrity(
            "index/",
            format!(
                "{} chunks that backups use are in no index object (for example {missing}): the store is damaged, so garbage collection deletes nothing; verify names the backups",
                used.len() - found.len()
            ),
        ));
    }
    let mut plan = GcPlan::default();
    let mut dead: HashSet<PackId> = HashSet::new();
    for pack in listed {
        if used_packs.contains(&pack.id) {
            plan.used += 1;
        } else if pack.age.is_none_or(|age| age < grace) {
            plan.too_young += 1;
        } else {
            dead.insert(pack.id);
            plan.dead.push((pack.id, pack.size));
        }
    }
    plan.dead.sort();
    // Indexed packs that are not listed stay indexed only if used (a damaged store that
    // verify reports; GC does not make it worse), so that a later save never dedups
    // against a pack that is gone.
    let listed_ids: HashSet<PackId> = listed.iter().map(|p| p.id).collect();
    let mut current = IndexFile::new();
    let mut blobs = 0;
    for (id, pack) in indexed {
        let keep = !dead.contains(&id) && (listed_ids.contains(&id) || used_packs.contains(&id));
        if !keep {
            continue;
        }
        if blobs > 0 && blobs + pack.blobs.len() > INDEX_OBJECT_BLOBS {
            plan.index.push(std::mem::replace(&mut current, IndexFile::new()));
            blobs = 0;
        }
        blobs += pack.blobs.len();
        current.packs.push(pack.clone());
    }
    if !current.packs.is_empty() {
        plan.index.push(current);
    }
    Ok(plan)
}

impl BackupStore {
    /// Garbage collection (steps 1–5 of the module documentation) under `lock`, which must
    /// be the exclusive lock, held and refreshed by the caller.
    ///
    /// # Errors
    /// [`Error::Integrity`] when the store is damaged (nothing is deleted then);
    /// [`Error::Conflict`] when the lock no longer stands (GC stops before its next delete);
    /// transfer errors. Whatever the error, every COMPLETED backup stays whole.
    pub(crate) async fn collect_garbage(&self, lock: &Lock) -> Result<GcReport> {
        let layout = &self.f2().layout;
        let descriptor = self.format2_descriptor().await?;
        let keys = self.store_keys(&descriptor).await?;
        if let Some(keys) = &keys {
            keys.require_identity("prune")?;
        }
        let level = descriptor
            .compression
            .as_ref()
            .map_or(super::compress::DEFAULT_LEVEL, |c| c.level);
        let mut report = GcReport::default();

        // Step 1.
        let (used, referenced) = self.used_chunks().await?;
        report.backups_referenced = referenced;

        // Step 2.
        let objects = self.index_objects().await?.ok_or_else(|| {
            Error::Conflict(crate::ErrorDetails::message(
                "an index object disappeared while garbage collection held the exclusive lock; retry",
            ))
        })?;
        let now = server_now(&self.client);
        let packs_prefix = layout.packs_prefix();
        let listed: Vec<ListedPack> = self
            .objects_below(&packs_prefix)
            .await?
            .into_iter()
            .filter_map(|o| {
                let id = layout.parse_pack_key(&o.key)?;
                let modified = OffsetDateTime::parse(&o.last_modified, &time::format_description::well_known::Rfc3339);
                let age = modified
                    .ok()
                    .map(|m| Duration::try_from(now - m).unwrap_or(Duration::ZERO));
                Some(ListedPack { id, size: o.size, age })
            })
            .collect();

        // Step 3.
        let files: Vec<IndexFile> = objects.iter().map(|(_, _, f)| f.clone()).collect();
        let plan = plan(&used, &files, &listed, self.lock_timing().stale)?;
        report.packs_used = plan.used;
        report.packs_too_young = plan.too_young;

        // Step 4: the new index first, then the objects it replaces.
        let old: HashMap<IndexId, &String> = objects.iter().map(|(key, id, _)| (*id, key)).collect();
        let mut new_ids = HashSet::new();
        for file in &plan.index {
            let (id, stored) = super::sealed::index_to_stored(file, level, keys.as_deref());
            if !old.contains_key(&id) {
                self.client
                    .put_object(&layout.index_key(&id), Bytes::from(stored), &PutOptions::default())
                    .await?;
                report.index_objects_written += 1;
            }
            new_ids.insert(id);
        }
        let index_prefix = layout.index_prefix();
        let replaced: Vec<String> = old
            .iter()
            .filter(|(id, key)| !new_ids.contains(*id) && key_inside(&index_prefix, key))
            .map(|(_, key)| (*key).clone())
            .collect();
        report.index_objects_deleted = self.delete_checked(lock, replaced).await?;

        // Step 5. On a locked store (§12) a dead pack still under its retention is left
        // alone: deleting it would only hide it behind a delete marker.
        #[cfg_attr(target_arch = "wasm32", allow(unused_mut))]
        let mut dead = plan.dead;
        #[cfg(not(target_arch = "wasm32"))]
        if descriptor.object_lock()?.is_some() && !dead.is_empty() {
            let locked = self.locked_packs(dead.iter().map(|(id, _)| *id), now).await?;
            dead.retain(|(id, _)| !locked.contains(id));
            report.packs_locked = locked.len() as u64;
        }
        let dead_keys: Vec<String> = dead
            .iter()
            .map(|(id, _)| layout.pack_key(id))
            .filter(|key| key_inside(&packs_prefix, key))
            .collect();
        report.packs_deleted = self.delete_checked(lock, dead_keys).await?;
        report.bytes_deleted = dead.iter().map(|(_, size)| size).sum();
        Ok(report)
    }

    /// The used set and how many backups contributed to it.
    async fn used_chunks(&self) -> Result<(HashSet<ChunkId>, u64)> {
        let protected: Vec<_> = self
            .list(ListFilter::default())
            .await?
            .into_iter()
            .filter(|b| matches!(b.status, StatusCode::Completed | StatusCode::Corrupt))
            .map(|b| (b.id, b.status))
            .collect();
        let manifests: Vec<Option<Vec<ChunkId>>> = stream::iter(protected)
            .map(|(id, status)| async move {
                match self.read_manifest(&id).await? {
                    Some(manifest) => Ok(Some(manifest.chunk_ids().copied().collect())),
                    None if status == StatusCode::Corrupt => Ok(None),
                    None => {
                        let key = self.f2().layout.manifest_key(&id);
                        Err(Error::integrity(
                            &key,
                            format!("backup {id} is COMPLETED but its {key} is missing: the store is damaged, so garbage collection deletes nothing; delete that backup first"),
                        ))
                    }
                }
            })
            .buffer_unordered(self.config.concurrency)
            .try_collect()
            .await?;
        let referenced = manifests.iter().filter(|m| m.is_some()).count() as u64;
        Ok((manifests.into_iter().flatten().flatten().collect(), referenced))
    }

    /// Deletes `keys` in DeleteObjects batches, checking `lock` before each; returns how
    /// many were deleted.
    async fn delete_checked(&self, lock: &Lock, mut keys: Vec<String>) -> Result<u64> {
        keys.sort();
        let mut deleted = 0;
        for batch in keys.chunks(DELETE_OBJECTS_MAX_KEYS) {
            lock.check(&self.client).await?;
            self.delete_batch(batch.to_vec()).await?;
            deleted += batch.len() as u64;
        }
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format2::compress::Compression;
    use crate::format2::index::IndexBlob;

    const GRACE: Duration = Duration::from_secs(60);

    fn chunk(n: u8) -> ChunkId {
        ChunkId([n; 32])
    }

    fn pack(n: u8, chunks: &[u8]) -> IndexPack {
        IndexPack {
            id: PackId([n; 32]),
            length: 1000,
            blobs: chunks
                .iter()
                .enumerate()
                .map(|(i, c)| IndexBlob {
                    id: chunk(*c),
                    offset: i as u64 * 10,
                    length: 10,
                    raw_length: 10,
                    compression: Compression::None,
                })
                .collect(),
        }
    }

    fn listed(n: u8, age_s: u64) -> ListedPack {
        ListedPack {
            id: PackId([n; 32]),
            size: 1000 + u64::from(n),
            age: Some(Duration::from_secs(age_s)),
        }
    }

    fn file(packs: Vec<IndexPack>) -> IndexFile {
        IndexFile {
            format_version: 2,
            packs,
        }
    }

    #[test]
    fn unused_old_packs_die_used_and_young_ones_stay() {
        let used: HashSet<ChunkId> = [chunk(1), chunk(3)].into();
        let index = [
            file(vec![pack(10, &[1, 2])]),
            file(vec![pack(11, &[2]), pack(12, &[4])]),
        ];
        // Pack 13 is unindexed and old (a killed save's), 14 unindexed and young, 12
        // indexed, unused but young.
        let packs = [
            listed(10, 600),
            listed(11, 600),
            listed(12, 5),
            listed(13, 600),
            listed(14, 1),
        ];
        let plan = plan(
            &used.iter().copied().filter(|c| *c != chunk(3)).collect(),
            &index,
            &packs,
            GRACE,
        )
        .unwrap();
        assert_eq!(plan.dead, vec![(PackId([11; 32]), 1011), (PackId([13; 32]), 1013)]);
        assert_eq!((plan.used, plan.too_young), (1, 2));
        let kept: Vec<PackId> = plan.index.iter().flat_map(|f| f.packs.iter().map(|p| p.id)).collect();
        assert_eq!(kept, vec![PackId([10; 32]), PackId([12; 32])]);
        // A used chunk that no index lists stops GC.
        let err = super::plan(&used, &index, &packs, GRACE).unwrap_err();
        assert!(matches!(err, Error::Integrity(_)), "{err}");
        assert!(err.to_string().contains("deletes nothing"), "{err}");
    }

    #[test]
    fn every_copy_of_a_used_chunk_is_kept() {
        let used: HashSet<ChunkId> = [chunk(1)].into();
        let index = [file(vec![pack(20, &[1, 2])]), file(vec![pack(21, &[1])])];
        let plan = plan(&used, &index, &[listed(20, 600), listed(21, 600)], GRACE).unwrap();
        assert!(plan.dead.is_empty());
        assert_eq!(plan.used, 2);
    }

    #[test]
    fn a_pack_listed_twice_is_indexed_once_and_missing_unused_packs_leave_the_index() {
        let used: HashSet<ChunkId> = [chunk(1), chunk(5)].into();
        let index = [
            file(vec![pack(30, &[1])]),
            file(vec![pack(30, &[1]), pack(31, &[2]), pack(32, &[5])]),
        ];
        // 31 is indexed but gone and unused: dropped from the index. 32 is gone but used:
        // kept in the index (verify reports it).
        let plan = plan(&used, &index, &[listed(30, 600)], GRACE).unwrap();
        let kept: Vec<PackId> = plan.index.iter().flat_map(|f| f.packs.iter().map(|p| p.id)).collect();
        assert_eq!(kept, vec![PackId([30; 32]), PackId([32; 32])]);
        assert!(plan.dead.is_empty());
        // A date that could not be read keeps the pack.
        let unknown = ListedPack {
            age: None,
            ..listed(33, 0)
        };
        let plan = super::plan(&HashSet::new(), &[], &[unknown], GRACE).unwrap();
        assert_eq!((plan.dead.len(), plan.too_young), (0, 1));
    }

    #[test]
    fn a_large_index_is_split_by_whole_packs() {
        let big: Vec<u8> = (0..200).collect();
        let mut packs = Vec::new();
        for n in 0..=(INDEX_OBJECT_BLOBS / 200) as u8 {
            let mut p = pack(n, &[]);
            p.blobs = pack(n, &big).blobs;
            packs.push(p);
        }
        let listed: Vec<ListedPack> = packs.iter().map(|p| listed(p.id.0[0], 1)).collect();
        let plan = plan(&HashSet::new(), &[file(packs)], &listed, GRACE).unwrap();
        assert_eq!(plan.index.len(), 2);
        assert_eq!(plan.index[0].blob_count(), INDEX_OBJECT_BLOBS);
        assert_eq!(plan.index[1].blob_count(), 200);
    }
}
