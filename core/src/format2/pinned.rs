//! Restore on a store with Object Lock (§12; docs/FORMAT.md, "Reading a locked store"):
//! read what was written, not what was written or deleted there later.
//!
//! A locked store's bucket is versioned. Overwriting a key adds a version; deleting it
//! without a version id adds a delete marker; neither touches the locked versions. So a
//! restore lists the versions (ListObjectVersions) of the backup's folder, `index/` and
//! `data/`, and reads every write-once object (manifest, `metadata.json`, index objects,
//! packs) at its **oldest** version, `status.json` at its oldest `COMPLETED` version, and
//! `s3keep.json` at its oldest version. Only the first version of a key is what s3keep
//! wrote: every later one is someone else's.

// wasm32 keeps only `Pins` (always empty there): the module stays within its size budget,
// and the WebAssembly face reads the current versions (docs/FORMAT.md, "Object Lock").
#![cfg_attr(target_arch = "wasm32", allow(unused_imports, dead_code))]

use std::collections::HashMap;
use std::sync::Arc;

use futures::{stream, StreamExt as _, TryStreamExt as _};

use super::descriptor::StoreDescriptor;
use super::index::{Index, IndexFile};
use crate::backup::manifest::{Metadata, StatusDoc};
use crate::backup::BackupStore;
use crate::error::{Error, ErrorDetails, Result};
use crate::id::BackupId;
use crate::status::StatusCode;

const MAX_SMALL: usize = 1 << 20;
const MAX_INDEX_OBJECT: usize = 512 << 20;

/// The oldest version of every key a restore of one backup reads, and the versions of its
/// `status.json`, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Pins {
    oldest: HashMap<String, String>,
    status: Vec<String>,
}

impl Pins {
    /// The version to read of `key`; `None` when the key has no version (missing).
    pub fn version(&self, key: &str) -> Option<&str> {
        self.oldest.get(key).map(String::as_str)
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn add(&mut self, versions: crate::s3::Versions) {
        // ListObjectVersions lists a key's versions newest first: the last one is the oldest.
        for v in versions.versions {
            self.oldest.insert(v.key, v.version_id);
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl BackupStore {
    /// The descriptor as first written, when the bucket keeps versions of it: its oldest
    /// version (ListObjectVersions of the one key), whatever was written or deleted since.
    /// `None` when it has no version at all.
    ///
    /// # Errors
    /// The requests' own; [`Error::Integrity`] when that version is not a descriptor.
    pub(crate) async fn original_descriptor(&self) -> Result<Option<Arc<StoreDescriptor>>> {
        let key = self.f2().layout.descriptor_key();
        let versions = match self.client.list_object_versions(&key).await {
            Ok(v) => v,
            // A store without ListObjectVersions keeps no versions to fall back on.
            Err(e) if crate::s3::is_not_implemented(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(oldest) = versions.versions.iter().filter(|v| v.key == key).last() else {
            return Ok(None);
        };
        let too_large = || Error::integrity(&key, format!("{key} is larger than 64 KiB"));
        let (_, bytes) = self
            .client
            .get_object_bytes_at(&key, Some(&oldest.version_id), 64 * 1024, too_large)
            .await?;
        let descriptor = Arc::new(StoreDescriptor::from_json(&key, &bytes)?);
        self.f2().set_descriptor(descriptor.clone());
        Ok(Some(descriptor))
    }

    /// Whether backup `id` must be read through [`Pins`]: the store's original descriptor
    /// says Object Lock. Asked only when the bucket is versioned (`versioned`) or the
    /// ordinary read failed, so a store in an unversioned bucket pays no request for it.
    pub(crate) async fn read_pinned(&self, versioned: bool) -> Result<bool> {
        if !versioned {
            // The ordinary read failed: was the store's descriptor hidden or replaced?
            if let Ok(Some(d)) = self.read_descriptor().await {
                if d.object_lock().is_ok_and(|l| l.is_some()) {
                    return Ok(true);
                }
            }
        }
        Ok(self
            .original_descriptor()
            .await
            .ok()
            .flatten()
            .is_some_and(|d| d.object_lock().is_ok_and(|l| l.is_some())))
    }

    /// The versions a restore of `id` reads (three ListObjectVersions: its folder,
    /// `index/`, `data/`), listed again and cached for the reads that follow.
    ///
    /// # Errors
    /// The listings' own.
    pub(crate) async fn pins(&self, id: &BackupId) -> Result<Arc<Pins>> {
        let layout = &self.f2().layout;
        let folder = self.layout.backup_prefix(id);
        let (index_prefix, packs_prefix) = (layout.index_prefix(), layout.packs_prefix());
        let (own, index, data) = futures::try_join!(
            self.client.list_object_versions(&folder),
            self.client.list_object_versions(&index_prefix),
            self.client.list_object_versions(&packs_prefix),
        )?;
        let status_key = self.layout.status_key(id);
        let mut pins = Pins {
            status: own
                .versions
                .iter()
                .filter(|v| v.key == status_key)
                .map(|v| v.version_id.clone())
                .rev()
                .collect(),
            ..Pins::default()
        };
        pins.add(own);
        pins.add(index);
        pins.add(data);
        let pins = Arc::new(pins);
        *self.f2().pins.lock().expect("not poisoned") = Some((*id, pins.clone()));
        // A session of this backup loaded before the pins must not be reused.
        let mut session = self.f2().session.lock().expect("not poisoned");
        if session.as_ref().is_some_and(|s| s.id == *id && s.pins.is_none()) {
            *session = None;
        }
        Ok(pins)
    }

    /// The metadata of `id` read through its pins: its oldest `COMPLETED` status and its
    /// oldest `metadata.json`.
    ///
    /// # Errors
    /// [`Error::NotFound`] when no version of its status exists; [`Error::BackupNotCompleted`]
    /// when none says COMPLETED; [`Error::Integrity`] for a missing or damaged summary.
    pub(crate) async fn pinned_completed_metadata(&self, id: BackupId) -> Result<Metadata> {
        let pins = self.pins(&id).await?;
        let status_key = self.layout.status_key(&id);
        if pins.status.is_empty() {
            return Err(crate::backup::not_found(&id));
        }
        let mut completed = false;
        for version in &pins.status {
            let too_large = || Error::integrity(&status_key, format!("{status_key} is too large"));
            let (_, bytes) = self
                .client
                .get_object_bytes_at(&status_key, Some(version), MAX_SMALL, too_large)
                .await?;
            if StatusDoc::from_json(&status_key, &bytes).is_ok_and(|d| d.status_code == StatusCode::Completed) {
                completed = true;
                break;
            }
        }
        if !completed {
            return Err(Error::BackupNotCompleted(ErrorDetails {
                message: format!("backup {id} never became COMPLETED (no version of its status says so)"),
                code: Some("IN_PROGRESS".into()),
                key: Some(id.to_string()),
                ..ErrorDetails::default()
            }));
        }
        let key = self.layout.metadata_key(&id);
        let missing = || {
            Error::integrity(
                &key,
                format!("backup {id} is COMPLETED but no version of its {key} exists: the backup is damaged"),
            )
        };
        let version = pins.version(&key).ok_or_else(missing)?;
        let too_large = || Error::integrity(&key, format!("{key} is too large"));
        let (_, bytes) = self
            .client
            .get_object_bytes_at(&key, Some(version), MAX_SMALL * 64, too_large)
            .await?;
        Metadata::from_json(&key, &bytes)
    }

    /// The index as first written: the oldest version of every key under `index/` that
    /// has one (delete markers over them included), each checked against its name.
    ///
    /// # Errors
    /// [`Error::Integrity`] naming a damaged index object; the requests' own.
    pub(crate) async fn pinned_index(&self, pins: &Pins) -> Result<Index> {
        let layout = &self.f2().layout;
        let keys = self.read_keys().await?;
        let keys = keys.as_deref();
        let objects: Vec<(String, super::id::IndexId, String)> = pins
            .oldest
            .iter()
            .filter_map(|(key, version)| layout.parse_index_key(key).map(|id| (key.clone(), id, version.clone())))
            .collect();
        let files: Vec<IndexFile> = stream::iter(objects)
            .map(|(key, id, version)| async move {
                let too_large = || Error::integrity(&key, format!("index object {key} is larger than 512 MiB"));
                let (_, bytes) = self
                    .client
                    .get_object_bytes_at(&key, Some(&version), MAX_INDEX_OBJECT, too_large)
                    .await?;
                super::sealed::index_from_stored(&key, &id, &bytes, keys)
            })
            .buffer_unordered(self.config.concurrency)
            .try_collect()
            .await?;
        let mut index = Index::new();
        for mut file in files {
            // A pack without any version (gone for good) must not be chosen over a copy.
            file.packs.retain(|p| pins.version(&layout.pack_key(&p.id)).is_some());
            index.merge(&file)?;
        }
        Ok(index)
    }
}
