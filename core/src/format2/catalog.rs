//! Reading what a format 2 store knows: the index (every index object merged), a backup's
//! manifest, the previous backup of a (partition, node) for change detection, and whether
//! the packs a backup references exist.

use std::collections::HashMap;

use futures::stream::{self, StreamExt as _, TryStreamExt as _};

use super::id::{IndexId, PackId};
use super::index::{Index, IndexFile, MAX_INDEX_OBJECT};
use super::manifest::{Manifest, MAX_MANIFEST};
use crate::backup::layout::key_inside;
use crate::backup::{BackupId, BackupStore, StatusCode};
use crate::error::{Error, Result};
use crate::s3::{ListOptions, ObjectInfo};

/// How many earlier checkpoints a save looks at to find its previous COMPLETED backup.
const PREVIOUS_CANDIDATES: usize = 16;
/// Above this many packs, one listing of `data/` is cheaper than a HeadObject per pack.
const HEAD_PACKS_MAX: usize = 64;

impl BackupStore {
    /// Every key (with its size) below `prefix`, all ListObjectsV2 pages; keys the listing
    /// names outside `prefix` are ignored.
    pub(crate) async fn list_below(&self, prefix: &str) -> Result<Vec<(String, u64)>> {
        Ok(self
            .objects_below(prefix)
            .await?
            .into_iter()
            .map(|o| (o.key, o.size))
            .collect())
    }

    /// Every object below `prefix` as the listing describes it (size, LastModified), all
    /// ListObjectsV2 pages; objects the listing names outside `prefix` are ignored.
    pub(crate) async fn objects_below(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        let options = ListOptions {
            prefix: prefix.to_string(),
            ..ListOptions::default()
        };
        let mut pages = std::pin::pin!(self.client.list_objects_v2(options));
        let mut objects = Vec::new();
        while let Some(page) = pages.try_next().await? {
            objects.extend(page.objects.into_iter().filter(|o| key_inside(prefix, &o.key)));
        }
        Ok(objects)
    }

    /// The store's index: every object under `index/` read (`concurrency` at a time),
    /// checked against its name, and merged. An object listed but gone when read (a prune
    /// replaced it) makes the whole load start again once.
    ///
    /// # Errors
    /// [`Error::Integrity`] naming a corrupt index object; transfer errors.
    pub(crate) async fn load_index(&self) -> Result<Index> {
        match self.load_index_once().await? {
            Some(index) => Ok(index),
            None => self.load_index_once().await?.ok_or_else(|| {
                Error::Conflict(crate::ErrorDetails::message(
                    "index objects kept disappearing while being read (a prune is running?); retry",
                ))
            }),
        }
    }

    async fn load_index_once(&self) -> Result<Option<Index>> {
        let Some(objects) = self.index_objects().await? else {
            return Ok(None);
        };
        let mut index = Index::new();
        for (_, _, file) in &objects {
            index.merge(file)?;
        }
        Ok(Some(index))
    }

    /// Every index object under `index/` with its key and id, read `concurrency` at a time
    /// and checked against its name; `None` when one listed was gone when read.
    ///
    /// # Errors
    /// [`Error::Integrity`] naming a corrupt index object; transfer errors.
    pub(crate) async fn index_objects(&self) -> Result<Option<Vec<(String, IndexId, IndexFile)>>> {
        let keys = self.read_keys().await?;
        let keys = keys.as_deref();
        let layout = &self.f2().layout;
        let ids: Vec<(String, IndexId)> = self
            .list_below(&layout.index_prefix())
            .await?
            .into_iter()
            .filter_map(|(key, _)| layout.parse_index_key(&key).map(|id| (key, id)))
            .collect();
        let files: Vec<Option<(String, IndexId, IndexFile)>> = stream::iter(ids)
            .map(|(key, id)| async move {
                let too_large = || Error::integrity(&key, format!("index object {key} is larger than 512 MiB"));
                match self
                    .client
                    .get_object_bytes(&key, MAX_INDEX_OBJECT as usize, too_large)
                    .await
                {
                    Ok((_, bytes)) => {
                        let file = super::sealed::index_from_stored(&key, &id, &bytes, keys)?;
                        Ok(Some((key, id, file)))
                    }
                    Err(Error::NotFound(_)) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .buffer_unordered(self.config.concurrency)
            .try_collect()
            .await?;
        Ok(files.into_iter().collect())
    }

    /// The keys of the store when it is encrypted (see [`BackupStore::store_keys`]).
    pub(crate) async fn read_keys(&self) -> Result<Option<std::sync::Arc<super::crypto::StoreKeys>>> {
        let descriptor = self.format2_descriptor().await?;
        self.store_keys(&descriptor).await
    }

    /// The manifest of backup `id`, checked (names, and that it is this backup's); `None`
    /// when there is none.
    ///
    /// # Errors
    /// [`Error::Integrity`] naming the key when it is corrupt or another backup's.
    pub(crate) async fn read_manifest(&self, id: &BackupId) -> Result<Option<Manifest>> {
        self.read_manifest_at(id, None).await
    }

    /// [`read_manifest`](Self::read_manifest) of one version when given (a locked store).
    pub(crate) async fn read_manifest_at(&self, id: &BackupId, version: Option<&str>) -> Result<Option<Manifest>> {
        let key = self.f2().layout.manifest_key(id);
        let too_large = || Error::integrity(&key, format!("manifest {key} is larger than 1 GiB"));
        let bytes = match self
            .client
            .get_object_bytes_at(&key, version, MAX_MANIFEST as usize, too_large)
            .await
        {
            Ok((_, bytes)) => bytes,
            Err(Error::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let keys = self.read_keys().await?;
        let manifest = super::sealed::manifest_from_stored(&key, &bytes, keys.as_deref())?;
        if manifest.backup_id() != *id {
            return Err(Error::integrity(
                &key,
                format!("manifest {key} describes backup {}, not {id}", manifest.backup_id()),
            ));
        }
        Ok(Some(manifest))
    }

    /// The manifest of backup `id`, which must exist (its status says COMPLETED).
    pub(crate) async fn completed_manifest(&self, id: &BackupId) -> Result<Manifest> {
        let key = self.f2().layout.manifest_key(id);
        self.read_manifest(id).await?.ok_or_else(|| {
            Error::integrity(
                &key,
                format!("backup {id} is COMPLETED but its {key} is missing: the backup is damaged"),
            )
        })
    }

    /// The manifest of the COMPLETED format 2 backup of the same (partition, node) with the
    /// largest checkpoint below `id`'s, for change detection; `None` when there is none
    /// among the [`PREVIOUS_CANDIDATES`] nearest checkpoints.
    pub(crate) async fn previous_manifest(&self, id: &BackupId) -> Result<Option<Manifest>> {
        if self.read_keys().await?.is_some_and(|k| !k.can_read()) {
            // A write-only host cannot read manifests: it reads every file (and still
            // deduplicates through the index).
            return Ok(None);
        }
        for checkpoint in self.previous_checkpoints(id).await? {
            let candidate = BackupId::new(id.partition, checkpoint, id.node);
            if !self.is_completed(&candidate).await {
                continue;
            }
            // A damaged or format 1 candidate only costs change detection: try the next.
            match self.read_manifest(&candidate).await {
                Ok(Some(manifest)) => return Ok(Some(manifest)),
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(backup = %candidate, error = %e, "previous backup unreadable; not used for change detection");
                    continue;
                }
            }
        }
        Ok(None)
    }

    /// The checkpoints of the same partition below `id`'s, nearest first, at most
    /// [`PREVIOUS_CANDIDATES`] (any node: the caller reads each candidate's status).
    pub(crate) async fn previous_checkpoints(&self, id: &BackupId) -> Result<Vec<u64>> {
        let folder = format!("{}{}/", self.layout.prefix(), id.partition);
        let options = ListOptions {
            prefix: folder.clone(),
            delimiter: Some("/".into()),
            ..ListOptions::default()
        };
        let pages: Vec<_> = self.client.list_objects_v2(options).try_collect().await?;
        let mut checkpoints: Vec<u64> = pages
            .iter()
            .flat_map(|p| p.common_prefixes.iter())
            .filter_map(|p| p.strip_prefix(folder.as_str())?.strip_suffix('/'))
            .filter(|name| name.bytes().all(|b| b.is_ascii_digit()))
            .filter_map(|name| name.parse().ok())
            .filter(|c| *c < id.checkpoint)
            .collect();
        checkpoints.sort_unstable_by(|a, b| b.cmp(a));
        checkpoints.dedup();
        checkpoints.truncate(PREVIOUS_CANDIDATES);
        Ok(checkpoints)
    }

    /// Whether `id`'s `status.json` says COMPLETED (an unreadable one does not).
    pub(crate) async fn is_completed(&self, id: &BackupId) -> bool {
        matches!(
            self.read_status(id).await,
            Ok(Some(s)) if s.doc.status_code == StatusCode::Completed
        )
    }

    /// The stored length of each of `packs` (`None`: missing): HeadObject each, or one
    /// listing of `data/` when there are more than [`HEAD_PACKS_MAX`].
    pub(crate) async fn pack_sizes(
        &self,
        packs: impl IntoIterator<Item = PackId>,
    ) -> Result<HashMap<PackId, Option<u64>>> {
        let layout = &self.f2().layout;
        let packs: Vec<PackId> = packs.into_iter().collect();
        if packs.len() > HEAD_PACKS_MAX {
            let listed: HashMap<PackId, u64> = self
                .list_below(&layout.packs_prefix())
                .await?
                .into_iter()
                .filter_map(|(key, size)| layout.parse_pack_key(&key).map(|id| (id, size)))
                .collect();
            return Ok(packs.into_iter().map(|p| (p, listed.get(&p).copied())).collect());
        }
        stream::iter(packs)
            .map(|pack| async move {
                match self.client.head_object(&layout.pack_key(&pack)).await {
                    Ok(head) => Ok((pack, Some(head.size))),
                    Err(Error::NotFound(_)) => Ok((pack, None)),
                    Err(e) => Err(e),
                }
            })
            .buffer_unordered(self.config.concurrency)
            .try_collect()
            .await
    }

    /// Checks that every pack exists with its length (HeadObject each, or one listing of
    /// `data/` when there are many).
    ///
    /// # Errors
    /// [`Error::Integrity`] naming the first pack missing or of another length.
    pub(crate) async fn check_packs_exist(&self, packs: &HashMap<PackId, u64>) -> Result<()> {
        let layout = &self.f2().layout;
        let found = self.pack_sizes(packs.keys().copied()).await?;
        let mut sorted: Vec<_> = packs.iter().collect();
        sorted.sort();
        for (pack, length) in sorted {
            let key = layout.pack_key(pack);
            match found.get(pack).copied().flatten() {
                None => return Err(Error::integrity(&key, format!("pack {key} is missing"))),
                Some(size) if size != *length => {
                    return Err(Error::integrity(
                        &key,
                        format!("pack {key} has {size} bytes where the index says {length}"),
                    ))
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}
