//! What an encrypted store keeps of each document (docs/FORMAT.md, "Encryption"): the
//! stored forms of index objects and manifests, in the clear or sealed by [`StoreKeys`].
//!
//! An encrypted index object keeps in the clear what a write-only host needs to deduplicate
//! and to check that packs exist — each pack's id and length and its chunk ids (keyed MACs,
//! which reveal nothing of the plaintext) — and seals the rest (offsets, stored and raw
//! lengths, compression) as one age file inside it:
//!
//! ```json
//! {"formatVersion": 2, "encrypted": true,
//!  "packs": [{"id": "5e7a…", "length": 16843210, "chunks": ["ba78…", "3f2c…"]}],
//!  "sealed": "<base64 of an age file of the plain index object's zstd frame>"}
//! ```
//! as one zstd frame, named by the SHA-256 of its bytes like every index object.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::compress::{compress_object, decompress_object, Compression};
use super::crypto::StoreKeys;
use super::id::{ChunkId, IndexId, PackId};
use super::index::{IndexBlob, IndexFile, IndexPack, MAX_INDEX_OBJECT};
use super::manifest::{Manifest, MAX_MANIFEST};
use crate::error::{Error, Result};

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SealedIndex {
    format_version: u32,
    encrypted: bool,
    packs: Vec<PublicPack>,
    sealed: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublicPack {
    id: PackId,
    length: u64,
    chunks: Vec<ChunkId>,
}

/// The stored index object of `file` and its id: plain, or as above with `keys`.
pub(crate) fn index_to_stored(file: &IndexFile, level: i32, keys: Option<&StoreKeys>) -> (IndexId, Vec<u8>) {
    let Some(keys) = keys else {
        return file.to_stored(level);
    };
    let (_, plain) = file.to_stored(level);
    let doc = SealedIndex {
        format_version: 2,
        encrypted: true,
        packs: file
            .packs
            .iter()
            .map(|p| PublicPack {
                id: p.id,
                length: p.length,
                chunks: p.blobs.iter().map(|b| b.id).collect(),
            })
            .collect(),
        sealed: base64::engine::general_purpose::STANDARD.encode(keys.seal(&plain)),
    };
    let json = serde_json::to_vec(&doc).expect("an index always serialises");
    let stored = compress_object(&json, level);
    (IndexId::of(&stored), stored)
}

/// Parses an index object read from `key` (see [`IndexFile::from_stored`]). In an
/// encrypted store a host that can read gets the sealed index, checked against the public
/// part; a write-only host gets each chunk's pack only (its locations are placeholders,
/// which nothing it may do reads).
///
/// # Errors
/// [`Error::Integrity`] naming `key` when the object is corrupt, not an index, of the
/// other kind than the store, or its two parts disagree.
pub(crate) fn index_from_stored(key: &str, id: &IndexId, stored: &[u8], keys: Option<&StoreKeys>) -> Result<IndexFile> {
    let Some(keys) = keys else {
        return IndexFile::from_stored(key, id, stored);
    };
    if IndexId::of(stored) != *id {
        return Err(Error::integrity(
            key,
            format!("index object {key} does not hash to its name: it is corrupt"),
        ));
    }
    let json = decompress_object(key, stored, MAX_INDEX_OBJECT)?;
    let doc: SealedIndex = serde_json::from_slice(&json).map_err(|e| {
        Error::integrity(
            key,
            format!("index object {key} is not an encrypted store's index object: {e}"),
        )
    })?;
    if doc.format_version != 2 || !doc.encrypted {
        return Err(Error::integrity(key, format!("index object {key} is not encrypted")));
    }
    if !keys.can_read() {
        let mut file = IndexFile::new();
        for pack in doc.packs {
            let blobs = pack
                .chunks
                .into_iter()
                .map(|id| IndexBlob {
                    id,
                    offset: 0,
                    length: 1,
                    raw_length: 1,
                    compression: Compression::None,
                })
                .collect();
            file.packs.push(IndexPack {
                id: pack.id,
                length: pack.length,
                blobs,
            });
        }
        return Ok(file);
    }
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(doc.sealed.as_bytes())
        .map_err(|_| Error::integrity(key, format!("index object {key}: its sealed part is not base64")))?;
    let plain = keys.open(key, &sealed, MAX_INDEX_OBJECT)?;
    let file = IndexFile::from_stored(key, &IndexId::of(&plain), &plain)?;
    let agree = file.packs.len() == doc.packs.len()
        && file.packs.iter().zip(&doc.packs).all(|(p, q)| {
            p.id == q.id && p.length == q.length && p.blobs.iter().map(|b| b.id).eq(q.chunks.iter().copied())
        });
    if !agree {
        return Err(Error::integrity(
            key,
            format!("index object {key}: its public and sealed parts disagree"),
        ));
    }
    Ok(file)
}

/// The stored manifest: its zstd frame, sealed with `keys` in an encrypted store.
pub(crate) fn manifest_to_stored(manifest: &mut Manifest, level: i32, keys: Option<&StoreKeys>) -> Result<Vec<u8>> {
    let plain = manifest.to_stored(level)?;
    Ok(match keys {
        Some(keys) => keys.seal(&plain),
        None => plain,
    })
}

/// Parses a stored manifest read from `key`.
///
/// # Errors
/// As [`Manifest::from_stored`]; [`Error::InvalidInput`] on a write-only host.
pub(crate) fn manifest_from_stored(key: &str, stored: &[u8], keys: Option<&StoreKeys>) -> Result<Manifest> {
    match keys {
        Some(keys) => {
            keys.require_identity("reading a backup's manifest")?;
            let plain = keys.open(key, stored, MAX_MANIFEST)?;
            Manifest::from_stored(key, &plain)
        }
        None => Manifest::from_stored(key, stored),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format2::id::MacKey;
    use crate::format2::pack::{BlobLocation, PackEntry};
    use age::x25519;

    #[test]
    fn encrypted_index_objects_show_only_ids_to_write_only_hosts() {
        let identity = x25519::Identity::generate();
        let reader = StoreKeys::new(
            vec![identity.to_public()],
            vec![identity.clone()],
            MacKey::from_bytes([1; 32]),
        );
        let writer = StoreKeys::new(vec![identity.to_public()], vec![], MacKey::from_bytes([1; 32]));
        let mut file = IndexFile::new();
        let entry = |n: u8, offset| PackEntry {
            id: ChunkId([n; 32]),
            kind: crate::format2::pack::BlobKind::Data,
            location: BlobLocation {
                offset,
                length: 10,
                raw_length: 20,
                compression: Compression::Zstd,
            },
        };
        file.push_pack(PackId([9; 32]), 1000, &[entry(1, 0), entry(2, 10)]);
        let (id, stored) = index_to_stored(&file, 3, Some(&writer));
        let json = decompress_object("k", &stored, 1 << 20).unwrap();
        let text = String::from_utf8(json).unwrap();
        assert!(!text.contains("offset") && !text.contains("rawLength"), "{text}");
        assert_eq!(index_from_stored("k", &id, &stored, Some(&reader)).unwrap(), file);
        let public = index_from_stored("k", &id, &stored, Some(&writer)).unwrap();
        assert_eq!(public.packs[0].blobs.len(), 2);
        assert_eq!(public.packs[0].length, 1000);
        assert!(index_from_stored("k", &id, &stored, None).is_err());
        let (plain_id, plain) = index_to_stored(&file, 3, None);
        assert!(index_from_stored("k", &plain_id, &plain, Some(&reader)).is_err());
    }
}
