//! The object layout of format 2 (§11), beside format 1's ([`crate::backup::layout`]):
//!
//! ```text
//! {prefix}s3keep.json                                   store descriptor
//! {prefix}data/{id[0..2]}/{pack id}                     packs
//! {prefix}index/{index id}                              index objects
//! {prefix}locks/{lock id}                               lock objects
//! {prefix}keys/{key id}                                 key objects (encryption, issue 13)
//! {prefix}{partition}/{checkpoint}/{node}/status.json   as format 1
//! {prefix}{partition}/{checkpoint}/{node}/manifest.json.zst
//! ```
//! Ids are 64 lowercase hex digits. Packs are spread over 256 prefixes by their first byte
//! (S3 scales request rates per prefix; restic does the same). The top-level names `data`,
//! `index`, `locks`, `keys` and `s3keep.json` cannot be mistaken for backups, whose first
//! component is a partition number.

use super::id::{IndexId, LockId, PackId};
use crate::backup::layout::Layout;
use crate::backup::BackupId;

/// The manifest object's name inside a backup folder.
pub const MANIFEST_NAME: &str = "manifest.json.zst";
/// Folder of packs.
pub const DATA_DIR: &str = "data/";
/// Folder of index objects.
pub const INDEX_DIR: &str = "index/";
/// Folder of lock objects.
pub const LOCKS_DIR: &str = "locks/";
/// Folder of key objects.
pub const KEYS_DIR: &str = "keys/";

/// Keys of one format 2 store (bucket + normalised prefix).
#[derive(Clone, Debug)]
pub struct Format2Layout {
    backups: Layout,
}

impl Format2Layout {
    /// The layout under `prefix`, which must already be normalised (`a/b/` or empty).
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            backups: Layout::new(prefix),
        }
    }

    /// The store prefix (`""` or ending in `/`).
    pub fn prefix(&self) -> &str {
        self.backups.prefix()
    }

    /// Format 1's keys (status objects are shared by both formats).
    pub fn backups(&self) -> &Layout {
        &self.backups
    }

    /// `{prefix}s3keep.json`.
    pub fn descriptor_key(&self) -> String {
        format!("{}{}", self.prefix(), super::descriptor::DESCRIPTOR_NAME)
    }

    /// `{prefix}{partition}/{checkpoint}/{node}/manifest.json.zst`.
    pub fn manifest_key(&self, id: &BackupId) -> String {
        format!("{}{MANIFEST_NAME}", self.backups.backup_prefix(id))
    }

    /// `{prefix}data/`, to list every pack.
    pub fn packs_prefix(&self) -> String {
        format!("{}{DATA_DIR}", self.prefix())
    }

    /// `{prefix}data/{first two hex digits}/{pack id}`.
    pub fn pack_key(&self, id: &PackId) -> String {
        let hex = id.to_hex();
        format!("{}{DATA_DIR}{}/{hex}", self.prefix(), &hex[..2])
    }

    /// The pack id of a key under [`Format2Layout::packs_prefix`] (`None` for anything else,
    /// including a pack in the wrong fan-out folder).
    pub fn parse_pack_key(&self, key: &str) -> Option<PackId> {
        let rest = key.strip_prefix(self.prefix())?.strip_prefix(DATA_DIR)?;
        let (fan, hex) = rest.split_once('/')?;
        let id: PackId = hex.parse().ok()?;
        (id.to_hex()[..2] == *fan).then_some(id)
    }

    /// `{prefix}index/`.
    pub fn index_prefix(&self) -> String {
        format!("{}{INDEX_DIR}", self.prefix())
    }

    /// `{prefix}index/{index id}`.
    pub fn index_key(&self, id: &IndexId) -> String {
        format!("{}{INDEX_DIR}{id}", self.prefix())
    }

    /// The id of an index object's key.
    pub fn parse_index_key(&self, key: &str) -> Option<IndexId> {
        key.strip_prefix(self.prefix())?.strip_prefix(INDEX_DIR)?.parse().ok()
    }

    /// `{prefix}locks/`.
    pub fn locks_prefix(&self) -> String {
        format!("{}{LOCKS_DIR}", self.prefix())
    }

    /// `{prefix}locks/{lock id}`.
    pub fn lock_key(&self, id: &LockId) -> String {
        format!("{}{LOCKS_DIR}{id}", self.prefix())
    }

    /// The id of a lock object's key.
    pub fn parse_lock_key(&self, key: &str) -> Option<LockId> {
        key.strip_prefix(self.prefix())?.strip_prefix(LOCKS_DIR)?.parse().ok()
    }

    /// `{prefix}keys/`.
    pub fn keys_prefix(&self) -> String {
        format!("{}{KEYS_DIR}", self.prefix())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_layout() {
        let layout = Format2Layout::new("base/");
        let pack = PackId([0xab; 32]);
        let hex = "ab".repeat(32);
        assert_eq!(layout.descriptor_key(), "base/s3keep.json");
        assert_eq!(layout.pack_key(&pack), format!("base/data/ab/{hex}"));
        assert_eq!(layout.parse_pack_key(&layout.pack_key(&pack)), Some(pack));
        assert_eq!(layout.parse_pack_key(&format!("base/data/cd/{hex}")), None);
        assert_eq!(layout.parse_pack_key(&format!("base/data/{hex}")), None);
        assert_eq!(layout.parse_pack_key(&format!("other/data/ab/{hex}")), None);
        let index = IndexId([1; 32]);
        assert_eq!(layout.index_key(&index), format!("base/index/{}", "01".repeat(32)));
        assert_eq!(layout.parse_index_key(&layout.index_key(&index)), Some(index));
        assert_eq!(layout.parse_index_key("base/index/x"), None);
        let lock = LockId([2; 32]);
        assert_eq!(layout.parse_lock_key(&layout.lock_key(&lock)), Some(lock));
        assert_eq!(layout.locks_prefix(), "base/locks/");
        assert_eq!(layout.keys_prefix(), "base/keys/");
        assert_eq!(layout.packs_prefix(), "base/data/");
        assert_eq!(layout.index_prefix(), "base/index/");
        let id = BackupId::new(1, 42, 2);
        assert_eq!(layout.manifest_key(&id), "base/1/42/2/manifest.json.zst");
        assert_eq!(layout.backups().status_key(&id), "base/1/42/2/status.json");
        // Format 2's own objects are never taken for a backup's status.
        for key in [layout.descriptor_key(), layout.pack_key(&pack), layout.lock_key(&lock)] {
            assert_eq!(layout.backups().parse_status_key(&key), None);
        }
    }

    #[test]
    fn an_empty_prefix_works() {
        let layout = Format2Layout::new("");
        assert_eq!(layout.descriptor_key(), "s3keep.json");
        let pack = PackId([0x0f; 32]);
        assert!(layout.pack_key(&pack).starts_with("data/0f/"));
        assert_eq!(layout.parse_pack_key(&layout.pack_key(&pack)), Some(pack));
    }
}
