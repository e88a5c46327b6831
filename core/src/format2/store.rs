//! Which format a store holds (§11), and the per-store state format 2 keeps between
//! calls.
//!
//! `{prefix}s3keep.json` says it. It is read on first use and cached for the life of the
//! [`BackupStore`] (a descriptor is never rewritten). When it is absent:
//! - a store holding backups is format 1 (every store written before format 2, and Zeebe's),
//!   and stays so: nothing is written;
//! - an empty store becomes format 2 at its first save (the default), which creates the
//!   descriptor with `If-None-Match: *` (two first saves racing: the loser reads the
//!   winner's), unless the caller asked for format 1 — then nothing is written either, so a
//!   format 1 store stays byte for byte what it always was.
//!
//! The `format` option (1 or 2) must agree with an existing store: `save` refuses otherwise.

use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::descriptor::StoreDescriptor;
use super::layout::Format2Layout;
use super::restore::{Format1Backups, RestoreSession};
use crate::backup::BackupStore;
use crate::error::{Error, Result};
use crate::s3::{ListOptions, PutOptions};

/// Why the WebAssembly face does not write to a store with Object Lock.
pub(crate) const WASM_LOCKED: &str = "this store has Object Lock; in this version only the native faces (CLI, Python) write to or prune it (WebAssembly reads it)";

/// The largest `s3keep.json` read, in bytes.
const MAX_DESCRIPTOR_BYTES: usize = 64 * 1024;

/// The format a save writes.
#[derive(Clone, Debug)]
pub(crate) enum StoreFormat {
    /// One object per file (§3).
    One,
    /// Packs, index and manifests, with the store's descriptor.
    Two(Arc<StoreDescriptor>),
}

/// What a [`BackupStore`] remembers of format 2 between calls (shared by its clones).
#[derive(Debug)]
pub(crate) struct Format2State {
    pub layout: Format2Layout,
    descriptor: Mutex<Option<Arc<StoreDescriptor>>>,
    /// The last backup opened for reading (restore_plan / open_file), so that reading it
    /// file by file does not load its manifest and the index again per file.
    pub session: Mutex<Option<Arc<RestoreSession>>>,
    /// Backups known to be format 1, so that `open_file` looks each up once.
    pub format1: Mutex<Format1Backups>,
    /// The keys of an encrypted store, found once (scrypt runs once).
    pub keys: Mutex<Option<Arc<super::crypto::StoreKeys>>>,
    /// A locked store: the versions the last backup read as first written reads.
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    pub pins: Mutex<Option<(crate::id::BackupId, Arc<super::pinned::Pins>)>>,
}

impl Format2State {
    pub fn new(prefix: &str) -> Self {
        Self {
            layout: Format2Layout::new(prefix),
            descriptor: Mutex::new(None),
            session: Mutex::new(None),
            format1: Mutex::new(Format1Backups::new()),
            keys: Mutex::new(None),
            pins: Mutex::new(None),
        }
    }

    /// Replaces the cached descriptor (the original one of a locked store).
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    pub fn set_descriptor(&self, descriptor: Arc<StoreDescriptor>) {
        *self.descriptor.lock().expect("not poisoned") = Some(descriptor);
    }

    /// The pins of backup `id`, if they are cached.
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    pub fn cached_pins(&self, id: &crate::id::BackupId) -> Option<Arc<super::pinned::Pins>> {
        let pins = self.pins.lock().expect("not poisoned");
        pins.as_ref().filter(|(cached, _)| cached == id).map(|(_, p)| p.clone())
    }
}

impl BackupStore {
    pub(crate) fn f2(&self) -> &Format2State {
        &self.format2
    }

    /// `s3keep.json`, cached once found; `None` when the store has none.
    ///
    /// # Errors
    /// [`Error::Integrity`] when it is not a descriptor; [`Error::InvalidInput`] when it is a
    /// format this version does not know.
    pub(crate) async fn read_descriptor(&self) -> Result<Option<Arc<StoreDescriptor>>> {
        if let Some(found) = self.f2().descriptor.lock().expect("not poisoned").clone() {
            return Ok(Some(found));
        }
        let key = self.f2().layout.descriptor_key();
        let too_large = || {
            Error::integrity(
                key.clone(),
                format!("{key} is larger than 64 KiB: it is not an s3keep store descriptor"),
            )
        };
        let bytes = match self
            .client
            .get_object_bytes(&key, MAX_DESCRIPTOR_BYTES, too_large)
            .await
        {
            Ok((_, bytes)) => bytes,
            Err(Error::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let descriptor = Arc::new(StoreDescriptor::from_json(&key, &bytes)?);
        *self.f2().descriptor.lock().expect("not poisoned") = Some(descriptor.clone());
        Ok(Some(descriptor))
    }

    /// The descriptor of a format 2 store, for reading a format 2 backup.
    ///
    /// # Errors
    /// [`Error::Integrity`] when the store has no descriptor or a format 1 one (a format 2
    /// backup cannot be there).
    pub(crate) async fn format2_descriptor(&self) -> Result<Arc<StoreDescriptor>> {
        let key = self.f2().layout.descriptor_key();
        match self.read_descriptor().await? {
            Some(d) if d.format_version == 2 => Ok(d),
            Some(d) => Err(Error::integrity(
                &key,
                format!(
                    "{key} says format {}, yet a backup says format 2: the store is damaged",
                    d.format_version
                ),
            )),
            None => Err(Error::integrity(
                &key,
                format!("a backup says format 2 but the store has no {key}: the store is damaged"),
            )),
        }
    }

    /// The format `save` writes, creating the descriptor of a new format 2 store (and the
    /// key objects of a new encrypted one). For an encrypted store the keys are found here,
    /// before anything is written.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the `format` option contradicts the store, encryption is
    /// asked of a format 1 store, a key is missing or wrong, or the store promises what this
    /// version does not do (Object Lock retention).
    pub(crate) async fn format_for_save(&self) -> Result<StoreFormat> {
        let format = self.format_for_save_unkeyed().await?;
        if matches!(format, StoreFormat::One) && self.config.encryption.any() {
            return Err(Error::invalid_input(format!(
                "the store at {:?} is format 1, which cannot be encrypted: encryption needs format 2 (use another prefix)",
                self.layout.prefix()
            )));
        }
        if let StoreFormat::Two(descriptor) = &format {
            if descriptor.age_recipients().is_none() && self.config.encryption.any() {
                return Err(Error::invalid_input(format!(
                    "the store at {:?} is not encrypted (encryption is chosen when a store is created); drop the encryption options or use another prefix",
                    self.layout.prefix()
                )));
            }
            self.store_keys(descriptor).await?;
        }
        Ok(format)
    }

    async fn format_for_save_unkeyed(&self) -> Result<StoreFormat> {
        let wanted = self.config.format;
        if let Some(found) = self.read_descriptor().await? {
            return self.agree(wanted, &found).map(|()| format_of(found));
        }
        if self.has_backups().await? {
            if wanted == Some(2) {
                return Err(Error::invalid_input(format!(
                    "the store at {:?} holds format 1 backups and no s3keep.json: it stays format 1; drop format=2 or use another prefix",
                    self.layout.prefix()
                )));
            }
            return Ok(StoreFormat::One);
        }
        if wanted == Some(1) {
            return Ok(StoreFormat::One);
        }
        let lock = self.object_lock_for_new_store().await?;
        let (mut descriptor, keys) = match self.create_keys().await? {
            Some((recipients, keys)) => (
                StoreDescriptor::format2_encrypted(crate::runtime::now_utc(), recipients),
                Some(keys),
            ),
            None => (StoreDescriptor::format2(crate::runtime::now_utc()), None),
        };
        descriptor.retention = lock.as_ref().map(|l| l.to_json());
        let key = self.f2().layout.descriptor_key();
        let options = PutOptions {
            if_none_match: true,
            content_type: Some("application/json".into()),
            // A locked store's descriptor is locked as its first backup; every save extends it.
            lock: lock.map(|l| l.retention(crate::runtime::now_utc())),
            ..PutOptions::default()
        };
        match self
            .client
            .put_object(&key, Bytes::from(descriptor.to_json()), &options)
            .await
        {
            Ok(_) => {
                if let Some(keys) = keys {
                    self.keep_keys(Arc::new(keys));
                }
                let descriptor = Arc::new(descriptor);
                *self.f2().descriptor.lock().expect("not poisoned") = Some(descriptor.clone());
                Ok(StoreFormat::Two(descriptor))
            }
            // Another first save won the race (or our own retried PUT landed): read it.
            Err(Error::Conflict(_)) => {
                let found = self.read_descriptor().await?.ok_or_else(|| {
                    Error::Conflict(crate::ErrorDetails::message(format!(
                        "{key} was refused as existing, yet cannot be read; retry"
                    )))
                })?;
                self.agree(wanted, &found).map(|()| format_of(found))
            }
            Err(e) => Err(e),
        }
    }

    fn agree(&self, wanted: Option<u8>, found: &StoreDescriptor) -> Result<()> {
        let have = found.format_version;
        if let Some(wanted) = wanted {
            if u32::from(wanted) != have {
                return Err(Error::invalid_input(format!(
                    "the store at {:?} is format {have} (its s3keep.json says so); format={wanted} contradicts it",
                    self.layout.prefix()
                )));
            }
        }
        if have == 2 {
            found.check_writable()?;
            #[cfg(target_arch = "wasm32")]
            if found.object_lock()?.is_some() {
                return Err(Error::invalid_input(WASM_LOCKED));
            }
        }
        let asked = &self.config.object_lock;
        if let (Some(mode), Some(policy)) = (asked.mode, &asked.policy) {
            let wanted = crate::object_lock::ObjectLockSettings::new(mode, policy)?;
            let prefix = self.layout.prefix();
            match found.object_lock()? {
                None => {
                    return Err(Error::invalid_input(format!(
                        "the store at {prefix:?} has no Object Lock (it is chosen when a store is created); drop object_lock and lock_policy or use another prefix"
                    )))
                }
                Some(have) if have.mode != wanted.mode || have.policy != wanted.policy => {
                    return Err(Error::invalid_input(format!(
                        "the store at {prefix:?} is locked in {} mode with lock_policy {} (its s3keep.json says so); the options given contradict it",
                        have.mode,
                        crate::object_lock::format_lock_policy(&have.policy)
                    )))
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// The Object Lock settings a new store records, checking that the bucket has Object
    /// Lock enabled (else every locked PutObject would be refused, after the descriptor).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the options are given and the bucket has no Object Lock.
    async fn object_lock_for_new_store(&self) -> Result<Option<crate::object_lock::ObjectLockSettings>> {
        let asked = &self.config.object_lock;
        let (Some(mode), Some(policy)) = (asked.mode, &asked.policy) else {
            return Ok(None);
        };
        let settings = crate::object_lock::ObjectLockSettings::new(mode, policy)?;
        if cfg!(target_arch = "wasm32") {
            return Err(Error::invalid_input(WASM_LOCKED));
        }
        let enabled = match self.client.get_object_lock_configuration().await {
            Ok(config) => config.is_some_and(|c| c.enabled),
            Err(e) if crate::s3::is_not_implemented(&e) => false,
            Err(e) => return Err(e),
        };
        if !enabled {
            return Err(Error::invalid_input(format!(
                "object_lock: bucket {:?} has no Object Lock enabled; create it with Object Lock (create_bucket with object_lock does, as does `mc mb --with-lock`)",
                self.config.client.bucket
            )));
        }
        Ok(Some(settings))
    }

    /// Whether a backup folder (`{prefix}{number}/`) exists: the first page of a delimiter
    /// listing of the prefix is enough, as digits sort before the letters of `data/`,
    /// `index/`, `locks/` and `keys/`.
    async fn has_backups(&self) -> Result<bool> {
        let root = self.layout.prefix().to_string();
        let options = ListOptions {
            prefix: root.clone(),
            delimiter: Some("/".into()),
            ..ListOptions::default()
        };
        let page = self.client.list_objects_v2_page(&options, None).await?;
        Ok(page.common_prefixes.iter().any(|p| {
            p.strip_prefix(root.as_str())
                .and_then(|rest| rest.strip_suffix('/'))
                .is_some_and(|name| !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()))
        }))
    }
}

fn format_of(descriptor: Arc<StoreDescriptor>) -> StoreFormat {
    if descriptor.format_version == 2 {
        StoreFormat::Two(descriptor)
    } else {
        StoreFormat::One
    }
}
