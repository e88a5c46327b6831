//! The store descriptor `{prefix}s3keep.json` (§11): which format a store holds and
//! the parameters every writer of a format 2 store must share (chunker, chunk ids), plus
//! the writers' defaults (compression level, pack size) and the slots of §12 (encryption,
//! the retention policy behind Object Lock).
//!
//! Created once with `If-None-Match: *` when a store is first written; never rewritten by
//! this version. A store without it is format 1 (every store written before format 2, and
//! Zeebe's).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::chunker::ChunkerParams;
use super::compress::DEFAULT_LEVEL;
use super::id::{ChunkIdScheme, StoreId};
use super::pack::PackConfig;
use crate::error::{Error, Result};

/// The descriptor's name below the store prefix.
pub const DESCRIPTOR_NAME: &str = "s3keep.json";

/// The only chunker algorithm: FastCDC 2020 as the `fastcdc` crate's `v2020` module cuts.
pub const FASTCDC_2020: &str = "fastcdc-2020";

/// The chunker: algorithm and parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChunkerSettings {
    /// `fastcdc-2020`.
    pub algorithm: String,
    /// Sizes and normalisation.
    #[serde(flatten)]
    pub params: ChunkerParams,
}

/// How chunk ids are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChunkIdAlgorithm {
    /// SHA-256 of the plaintext.
    #[serde(rename = "sha256")]
    Sha256,
    /// HMAC-SHA256 under the store's MAC key (encrypted stores, §12).
    #[serde(rename = "hmac-sha256")]
    HmacSha256,
}

/// Compression of new blobs and objects (readers do not need it: every blob records its own).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompressionSettings {
    /// `zstd`.
    pub algorithm: String,
    /// The zstd level writers use natively (wasm32 writers use ruzstd's single level).
    pub level: i32,
}

/// Pack sizes of new packs, in bytes (readers do not need them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackSettings {
    /// A pack is finished once its blobs reach this many bytes.
    pub target_size: u32,
    /// Multipart part size used to upload packs.
    pub part_size: u32,
}

/// Encryption of packs, manifests and index objects (docs/FORMAT.md, "Encryption").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scheme", rename_all = "lowercase")]
pub enum EncryptionSettings {
    /// Objects are stored in the clear.
    None,
    /// Every pack, manifest and index object's private part is an age file encrypted to
    /// `recipients`: the store's own X25519 recipient first (its identity is in the key
    /// objects under `keys/`), then the extra recipients given when the store was created.
    Age {
        /// age X25519 recipients (`age1...`), public.
        recipients: Vec<String>,
    },
}

/// The content of `s3keep.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreDescriptor {
    /// 1 (one object per file, §3) or 2 (packs, §11).
    pub format_version: u32,
    /// Random id of the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<StoreId>,
    /// When the store was created.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<OffsetDateTime>,
    /// `s3keep/x.y.z` that created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer: Option<String>,
    /// Format 2: the chunker every writer must use (or deduplication across writers breaks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunker: Option<ChunkerSettings>,
    /// Format 2: how chunk ids are computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_id: Option<ChunkIdAlgorithm>,
    /// Format 2: compression of new blobs and objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<CompressionSettings>,
    /// Format 2: sizes of new packs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack: Option<PackSettings>,
    /// Format 2: encryption (`{"scheme": "none"}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<EncryptionSettings>,
    /// §12's Object Lock: the mode and the retention policy whose minimum age saves set as
    /// each object's retain-until ([`ObjectLockSettings`](crate::object_lock::ObjectLockSettings)
    /// JSON); `null` for a store without it. A writer that finds a value it does not
    /// understand refuses to write ([`StoreDescriptor::check_writable`]).
    #[serde(default)]
    pub retention: Option<serde_json::Value>,
}

impl StoreDescriptor {
    /// A new format 2 store with the default parameters.
    pub fn format2(created_at: OffsetDateTime) -> Self {
        let pack = PackConfig::default();
        Self {
            format_version: 2,
            store_id: Some(StoreId::random()),
            created_at: Some(created_at),
            writer: Some(crate::WRITER.to_string()),
            chunker: Some(ChunkerSettings {
                algorithm: FASTCDC_2020.to_string(),
                params: ChunkerParams::DEFAULT,
            }),
            chunk_id: Some(ChunkIdAlgorithm::Sha256),
            compression: Some(CompressionSettings {
                algorithm: "zstd".to_string(),
                level: DEFAULT_LEVEL,
            }),
            pack: Some(PackSettings {
                target_size: pack.target_size,
                part_size: pack.part_size,
            }),
            encryption: Some(EncryptionSettings::None),
            retention: None,
        }
    }

    /// A new encrypted format 2 store: objects are encrypted to `recipients`, chunk ids are
    /// HMAC-SHA256 (§12).
    pub fn format2_encrypted(created_at: OffsetDateTime, recipients: Vec<String>) -> Self {
        let mut d = Self::format2(created_at);
        d.chunk_id = Some(ChunkIdAlgorithm::HmacSha256);
        d.encryption = Some(EncryptionSettings::Age { recipients });
        d
    }

    /// The recipients of an encrypted store; `None` when it is not encrypted.
    pub fn age_recipients(&self) -> Option<&[String]> {
        match &self.encryption {
            Some(EncryptionSettings::Age { recipients }) => Some(recipients),
            _ => None,
        }
    }

    /// A new format 1 store (recorded so that a later default of format 2 keeps it format 1).
    pub fn format1(created_at: OffsetDateTime) -> Self {
        Self {
            format_version: 1,
            store_id: Some(StoreId::random()),
            created_at: Some(created_at),
            writer: Some(crate::WRITER.to_string()),
            chunker: None,
            chunk_id: None,
            compression: None,
            pack: None,
            encryption: None,
            retention: None,
        }
    }

    /// The JSON bytes (indented: people read this file).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("a descriptor always serialises")
    }

    /// Parses and checks `s3keep.json` read from `key`.
    ///
    /// # Errors
    /// [`Error::Integrity`] naming `key` when it is not a descriptor or a format 2 descriptor
    /// lacks or breaks a parameter; [`Error::InvalidInput`] when its format version is one
    /// this s3keep does not know (written by a newer version: upgrade).
    pub fn from_json(key: &str, bytes: &[u8]) -> Result<Self> {
        let descriptor: StoreDescriptor = serde_json::from_slice(bytes)
            .map_err(|e| Error::integrity(key, format!("{key} is not a valid store descriptor: {e}")))?;
        descriptor.validate(key)?;
        Ok(descriptor)
    }

    fn validate(&self, key: &str) -> Result<()> {
        let bad = |why: &str| Err(Error::integrity(key, format!("store descriptor {key}: {why}")));
        match self.format_version {
            1 => return Ok(()),
            2 => {}
            v => {
                return Err(Error::invalid_input(format!(
                    "store descriptor {key} says format {v}; this s3keep reads formats 1 and 2: upgrade s3keep"
                ))
                .with_key(key))
            }
        }
        let Some(chunker) = &self.chunker else {
            return bad("format 2 without chunker parameters");
        };
        if chunker.algorithm != FASTCDC_2020 {
            return bad(&format!("unknown chunker {:?}", chunker.algorithm));
        }
        if let Err(e) = chunker.params.validate() {
            return bad(&e.details().message);
        }
        if self.chunk_id.is_none() {
            return bad("format 2 without chunkId");
        }
        if let Some(c) = &self.compression {
            if c.algorithm != "zstd" {
                return bad(&format!("unknown compression {:?}", c.algorithm));
            }
        }
        let keyed = self.chunk_id == Some(ChunkIdAlgorithm::HmacSha256);
        match self.age_recipients() {
            Some([]) => return bad("encryption age without recipients"),
            Some(_) if !keyed => return bad("encrypted, yet its chunk ids are not keyed"),
            None if keyed => return bad("keyed chunk ids, yet not encrypted"),
            _ => {}
        }
        Ok(())
    }

    /// Checks that this version can add backups to the store without breaking a promise
    /// the descriptor makes (encryption, retention). Reading never needs this.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming what this version does not implement.
    pub fn check_writable(&self) -> Result<()> {
        self.object_lock().map(|_| ())
    }

    /// The store's Object Lock settings; `None` when it has none.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a `retention` this version does not understand.
    pub fn object_lock(&self) -> Result<Option<crate::object_lock::ObjectLockSettings>> {
        match &self.retention {
            Some(value) => crate::object_lock::ObjectLockSettings::from_json(value),
            None => Ok(None),
        }
    }

    /// The chunker parameters of a format 2 store.
    pub fn chunker_params(&self) -> Option<ChunkerParams> {
        self.chunker.as_ref().map(|c| c.params)
    }

    /// The chunk id scheme of a format 2 store; `mac` is the store's MAC key (from its key
    /// object or the `mac_key` option) for an encrypted one.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for keyed ids without `mac`, or a format 1 store.
    pub fn chunk_id_scheme(&self, mac: Option<&super::id::MacKey>) -> Result<ChunkIdScheme> {
        match self.chunk_id {
            Some(ChunkIdAlgorithm::Sha256) => Ok(ChunkIdScheme::Sha256),
            Some(ChunkIdAlgorithm::HmacSha256) => mac.map(ChunkIdScheme::hmac_sha256).ok_or_else(|| {
                Error::invalid_input("this store's chunk ids are keyed (encrypted store): its key is needed")
            }),
            None => Err(Error::invalid_input("a format 1 store has no chunk ids")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T: OffsetDateTime = datetime!(2026-11-30 12:00:00 UTC);

    #[test]
    fn a_format2_descriptor_has_the_documented_shape() {
        let d = StoreDescriptor::format2(T);
        let json: serde_json::Value = serde_json::from_slice(&d.to_json()).unwrap();
        assert_eq!(json["formatVersion"], 2);
        assert_eq!(json["chunker"]["algorithm"], "fastcdc-2020");
        assert_eq!(json["chunker"]["minSize"], 524_288);
        assert_eq!(json["chunker"]["avgSize"], 1_048_576);
        assert_eq!(json["chunker"]["maxSize"], 8_388_608);
        assert_eq!(json["chunker"]["normalization"], 1);
        assert_eq!(json["chunkId"], "sha256");
        assert_eq!(json["compression"]["algorithm"], "zstd");
        assert_eq!(json["pack"]["targetSize"], 16_777_216);
        assert_eq!(json["encryption"]["scheme"], "none");
        assert!(json["retention"].is_null());
        assert_eq!(json["storeId"].as_str().unwrap().len(), 64);
        let back = StoreDescriptor::from_json("s3keep.json", &d.to_json()).unwrap();
        assert_eq!(back, d);
        back.check_writable().unwrap();
        assert_eq!(back.chunker_params(), Some(ChunkerParams::DEFAULT));
        assert_eq!(back.chunk_id_scheme(None).unwrap().name(), "sha256");
    }

    #[test]
    fn format1_and_minimal_descriptors_are_read() {
        let d = StoreDescriptor::from_json("k", br#"{"formatVersion":1}"#).unwrap();
        assert_eq!(d.format_version, 1);
        assert!(d.chunk_id_scheme(None).is_err());
        let f1 = StoreDescriptor::format1(T);
        assert_eq!(StoreDescriptor::from_json("k", &f1.to_json()).unwrap(), f1);
    }

    #[test]
    fn unknown_versions_and_broken_format2_descriptors_are_refused() {
        let err = StoreDescriptor::from_json("p/s3keep.json", br#"{"formatVersion":3}"#).unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)) && err.to_string().contains("upgrade"));
        let mut no_chunker = StoreDescriptor::format2(T);
        no_chunker.chunker = None;
        let bad_sizes = {
            let mut d = StoreDescriptor::format2(T);
            d.chunker.as_mut().unwrap().params.max_size = 1 << 30;
            d
        };
        let other_algo = {
            let mut d = StoreDescriptor::format2(T);
            d.chunker.as_mut().unwrap().algorithm = "rabin".into();
            d
        };
        for d in [no_chunker, bad_sizes, other_algo] {
            let err = StoreDescriptor::from_json("p/s3keep.json", &d.to_json()).unwrap_err();
            assert!(matches!(err, Error::Integrity(_)) && err.to_string().contains("p/s3keep.json"));
        }
        assert!(StoreDescriptor::from_json("k", b"{").is_err());
        assert!(StoreDescriptor::from_json("k", br#"{"formatVersion":2,"encryption":{"scheme":"rot13"}}"#).is_err());
    }

    #[test]
    fn stores_with_features_this_version_lacks_are_not_written() {
        let mut locked = StoreDescriptor::format2(T);
        locked.retention = Some(serde_json::json!({"mode": "GOVERNANCE", "minimumAge": "30d"}));
        let back = StoreDescriptor::from_json("k", &locked.to_json()).unwrap();
        assert!(matches!(back.check_writable(), Err(Error::InvalidInput(_))));
        let policy = crate::object_lock::parse_lock_policy("keep_daily=7").unwrap();
        let settings = crate::object_lock::ObjectLockSettings::new(crate::s3::LockMode::Governance, &policy).unwrap();
        locked.retention = Some(settings.to_json());
        let back = StoreDescriptor::from_json("k", &locked.to_json()).unwrap();
        back.check_writable().unwrap();
        assert_eq!(back.object_lock().unwrap(), Some(settings));
        let mut keyed = StoreDescriptor::format2(T);
        keyed.chunk_id = Some(ChunkIdAlgorithm::HmacSha256);
        assert!(
            StoreDescriptor::from_json("k", &keyed.to_json()).is_err(),
            "keyed ids without encryption"
        );
        let encrypted = StoreDescriptor::format2_encrypted(T, vec!["age1x".into()]);
        let back = StoreDescriptor::from_json("k", &encrypted.to_json()).unwrap();
        back.check_writable().unwrap();
        assert!(back.chunk_id_scheme(None).is_err());
        let mac = super::super::id::MacKey::from_bytes([1; 32]);
        assert_eq!(back.chunk_id_scheme(Some(&mac)).unwrap().name(), "hmac-sha256");
        assert_eq!(back.age_recipients(), Some(&["age1x".to_string()][..]));
    }
}
