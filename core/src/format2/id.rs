//! The 32-byte ids of format 2 and how chunk ids are computed.
//!
//! - [`ChunkId`]: SHA-256 of the chunk's plaintext ([`ChunkIdScheme::Sha256`]), or HMAC-SHA256
//!   of it under the store's MAC key once the store is encrypted (§12,
//!   [`ChunkIdScheme::HmacSha256`]), so that equal plaintext is not recognisable from outside.
//!   The scheme is chosen in one place, the store descriptor (`chunkId`).
//! - [`PackId`]: 32 random bytes. A pack is uploaded as a multipart upload whose key must be
//!   known before its content is, so it cannot be named by its hash (restic names packs by
//!   hash because it writes them to a temporary file first).
//! - [`IndexId`]: SHA-256 of the index object's bytes (written whole, so content-addressed).
//!
//! All are written as 64 lowercase hex digits, in keys and in JSON.

use std::fmt;
use std::str::FromStr;

use hmac::{KeyInit, Mac};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// The 32 bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// 64 lowercase hex digits.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// Parses 64 hex digits (either case).
            ///
            /// # Errors
            /// [`Error::InvalidInput`] naming the text when it is not 64 hex digits.
            pub fn from_hex(text: &str) -> Result<Self> {
                let mut bytes = [0u8; 32];
                hex::decode_to_slice(text, &mut bytes).map_err(|_| {
                    Error::invalid_input(format!(
                        "{} {:?} is not 64 hex digits",
                        stringify!($name),
                        crate::format2::id::printable(text)
                    ))
                })?;
                Ok(Self(bytes))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                Self::from_hex(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
                let mut buf = [0u8; 64];
                hex::encode_to_slice(self.0, &mut buf).expect("64 bytes hold 32 in hex");
                serializer.serialize_str(std::str::from_utf8(&buf).expect("hex is ASCII"))
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Self::from_hex(&text).map_err(|e| serde::de::Error::custom(e.details().message.clone()))
            }
        }
    };
}

id_type!(
    /// A chunk's id: SHA-256 (or HMAC-SHA256, §12) of its plaintext.
    ChunkId
);
id_type!(
    /// A pack's id: 32 random bytes, the last part of its key `{prefix}data/xx/<id>`.
    PackId
);
id_type!(
    /// An index object's id: SHA-256 of its stored bytes, its key `{prefix}index/<id>`.
    IndexId
);
id_type!(
    /// A lock object's id: 32 random bytes, its key `{prefix}locks/<id>`.
    LockId
);
id_type!(
    /// A store's id: 32 random bytes chosen when `s3keep.json` is created (names local
    /// caches, tells stores apart).
    StoreId
);

impl PackId {
    /// A fresh random id (from the operating system's generator, or `crypto.getRandomValues`
    /// in wasm32).
    ///
    /// # Panics
    /// If the system has no random source (getrandom fails), which no supported target does.
    pub fn random() -> Self {
        Self(random_bytes())
    }
}

impl LockId {
    /// A fresh random id.
    pub fn random() -> Self {
        Self(random_bytes())
    }
}

impl StoreId {
    /// A fresh random id.
    pub fn random() -> Self {
        Self(random_bytes())
    }
}

impl IndexId {
    /// The id of an index object with these stored bytes.
    pub fn of(bytes: &[u8]) -> Self {
        Self(sha256(bytes))
    }
}

/// 32 random bytes (for pack and lock ids).
pub fn random_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the system random source is available");
    bytes
}

/// SHA-256 of `bytes` (with SHA-NI / ARMv8 SHA instructions when the CPU has them).
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// A name for messages: control characters escaped, at most 80 characters.
pub(crate) fn printable(text: &str) -> String {
    text.chars().take(80).flat_map(char::escape_default).collect()
}

/// The 32-byte key of HMAC-SHA256 chunk ids. `Debug` never shows it.
#[derive(Clone)]
pub struct MacKey([u8; 32]);

impl MacKey {
    /// A key from its bytes (as unwrapped from the store's key object, §12).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A fresh random key.
    pub fn random() -> Self {
        Self(random_bytes())
    }

    /// Parses 64 hex digits (the `mac_key` option, the key object's `macKey`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] that never shows the text (it is a secret).
    pub fn from_hex(text: &str) -> Result<Self> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes)
            .map_err(|_| Error::invalid_input("mac_key: not 64 hex digits (the macKey of the store's key object)"))?;
        Ok(Self(bytes))
    }

    /// The 64 hex digits: only for the key object, which is encrypted.
    pub(crate) fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for MacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MacKey(<redacted>)")
    }
}

/// How chunk ids are computed: the one place that knows (§11, §12).
#[derive(Clone)]
pub enum ChunkIdScheme {
    /// SHA-256 of the plaintext (unencrypted stores).
    Sha256,
    /// HMAC-SHA256 of the plaintext under the store's MAC key (encrypted stores, issue 13).
    HmacSha256(KeyedSha256),
}

/// HMAC-SHA256 keyed with a [`MacKey`] (the key schedule done once, cloned per chunk).
#[derive(Clone)]
pub struct KeyedSha256(Box<hmac::Hmac<Sha256>>);

impl ChunkIdScheme {
    /// The keyed scheme for `key`.
    pub fn hmac_sha256(key: &MacKey) -> Self {
        let mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&key.0).expect("HMAC accepts any key length");
        Self::HmacSha256(KeyedSha256(Box::new(mac)))
    }

    /// The name recorded in the store descriptor: `sha256` or `hmac-sha256`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::HmacSha256(_) => "hmac-sha256",
        }
    }

    /// The id of a chunk with this plaintext.
    pub fn id(&self, plaintext: &[u8]) -> ChunkId {
        match self {
            Self::Sha256 => ChunkId(sha256(plaintext)),
            Self::HmacSha256(keyed) => {
                let mut mac = (*keyed.0).clone();
                mac.update(plaintext);
                ChunkId(mac.finalize().into_bytes().into())
            }
        }
    }

    /// Checks that `plaintext` has id `expected`.
    ///
    /// # Errors
    /// [`Error::Integrity`] naming `key` (the object it came from) and both ids.
    pub fn verify(&self, key: &str, expected: &ChunkId, plaintext: &[u8]) -> Result<()> {
        let actual = self.id(plaintext);
        if actual == *expected {
            Ok(())
        } else {
            Err(Error::integrity(
                key,
                format!("chunk {expected} read from {key} hashes to {actual}: the stored data is corrupt"),
            ))
        }
    }
}

impl fmt::Debug for ChunkIdScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_ids_match_the_standard_vector() {
        // FIPS 180-2 appendix B.1: SHA-256("abc").
        let id = ChunkIdScheme::Sha256.id(b"abc");
        assert_eq!(
            id.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(ChunkId::from_hex(&id.to_hex()).unwrap(), id);
    }

    #[test]
    fn hmac_ids_are_keyed_and_repeatable() {
        let key = MacKey::from_bytes([7u8; 32]);
        let keyed = ChunkIdScheme::hmac_sha256(&key);
        let mut direct = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(&[7u8; 32]).unwrap();
        direct.update(b"chunk");
        let expected: [u8; 32] = direct.finalize().into_bytes().into();
        assert_eq!(keyed.id(b"chunk").0, expected);
        assert_eq!(
            keyed.id(b"chunk"),
            keyed.id(b"chunk"),
            "the cloned state is not consumed"
        );
        assert_ne!(keyed.id(b"chunk"), ChunkIdScheme::Sha256.id(b"chunk"));
        let other = ChunkIdScheme::hmac_sha256(&MacKey::from_bytes([8u8; 32]));
        assert_ne!(keyed.id(b"chunk"), other.id(b"chunk"));
        assert_eq!(keyed.name(), "hmac-sha256");
    }

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        // Key "Jefe", data "what do ya want for nothing?" (RFC 4231 §4.3). Checked through
        // the same Mac type the scheme uses, with the short key.
        let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn keys_and_schemes_never_print_secrets() {
        let key = MacKey::from_bytes([0xab; 32]);
        assert_eq!(format!("{key:?}"), "MacKey(<redacted>)");
        let scheme = ChunkIdScheme::hmac_sha256(&key);
        assert!(!format!("{scheme:?}").contains("ab"));
    }

    #[test]
    fn ids_serialise_as_hex_and_reject_bad_text() {
        let id = PackId([0x1f; 32]);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{}\"", "1f".repeat(32)));
        assert_eq!(serde_json::from_str::<PackId>(&json).unwrap(), id);
        for bad in ["\"1f\"", "\"zz\"", &format!("\"{}\"", "g".repeat(64))] {
            assert!(serde_json::from_str::<PackId>(bad).is_err(), "{bad}");
        }
        assert!(matches!(ChunkId::from_hex("x\n"), Err(Error::InvalidInput(_))));
        assert_ne!(PackId::random(), PackId::random());
    }

    #[test]
    fn verify_names_the_object_and_both_ids() {
        let scheme = ChunkIdScheme::Sha256;
        let id = scheme.id(b"good");
        scheme.verify("data/ab/pack", &id, b"good").unwrap();
        let err = scheme.verify("data/ab/pack", &id, b"bad").unwrap_err();
        assert!(matches!(err, Error::Integrity(_)));
        assert!(err.to_string().contains("data/ab/pack") && err.to_string().contains(&id.to_hex()));
    }
}
