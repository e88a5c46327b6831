//! The keys of an encrypted store (§12; docs/FORMAT.md, "Key objects").
//!
//! A new encrypted store gets its own age X25519 identity and a random 32-byte MAC key for
//! chunk ids. Both go, as one small JSON document, into key objects `{prefix}keys/<id>`:
//! one age file wrapped by the passphrase (age's scrypt recipient) when a password is
//! given, and one to the extra recipients when any are given. Every other object is
//! encrypted to the store's recipient plus the extra recipients, which the store descriptor
//! lists (public).
//!
//! This process finds its keys once per [`BackupStore`] (so scrypt runs once):
//! - `password` / `password_file`: the key objects wrapped by a passphrase are tried;
//! - `identity` / `identity_file`: the key objects wrapped to recipients are tried, and the
//!   identities themselves also read objects encrypted to them;
//! - `mac_key` alone: a write-only host, which can save (encrypting to the descriptor's
//!   recipients, naming chunks with the MAC key, deduplicating through the index's chunk
//!   ids) but not restore, verify or prune.
//!
//! A wrong or missing key is a typed error (`InvalidInput`, codes `KeyWrong` and
//! `KeyMissing`) before anything is written.

use std::sync::Arc;

use age::secrecy::{ExposeSecret, SecretString};
use age::x25519;
use bytes::Bytes;
use futures::stream::{self, StreamExt as _, TryStreamExt as _};
use serde::{Deserialize, Serialize};

use super::crypto::StoreKeys;
use super::descriptor::StoreDescriptor;
use super::id::{random_bytes, MacKey};
use crate::backup::BackupStore;
use crate::config::EncryptionOptions;
use crate::error::{Error, ErrorDetails, Result};
use crate::s3::PutOptions;

/// The largest key object read, in bytes.
const MAX_KEY_OBJECT: usize = 64 * 1024;

/// The JSON inside a key object.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyFile {
    /// 1.
    format_version: u32,
    /// The store's age identity (`AGE-SECRET-KEY-1...`).
    identity: String,
    /// The chunk-id MAC key, 64 hex digits.
    mac_key: String,
}

/// Parses the `recipients` option: age X25519 recipients (`age1...`) separated by commas
/// or white space.
///
/// # Errors
/// [`Error::InvalidInput`] naming the one that does not parse (recipients are public).
pub fn parse_recipients(text: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for word in text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
    {
        word.parse::<x25519::Recipient>().map_err(|_| {
            Error::invalid_input(format!(
                "recipients: {:?} is not an age X25519 recipient (age1...)",
                super::id::printable(word)
            ))
        })?;
        out.push(word.to_string());
    }
    Ok(out)
}

/// Parses age identities, one a line, `#` comments and blank lines ignored (an identity
/// file as `age-keygen` writes it).
///
/// # Errors
/// [`Error::InvalidInput`] naming the option `name` and the line number, never the text.
pub fn parse_identities(name: &str, text: &str) -> Result<Vec<x25519::Identity>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(line.parse::<x25519::Identity>().map_err(|_| {
            Error::invalid_input(format!(
                "{name}: line {} is not an age X25519 identity (AGE-SECRET-KEY-1...)",
                n + 1
            ))
        })?);
    }
    if out.is_empty() {
        return Err(Error::invalid_input(format!("{name}: holds no age identity")));
    }
    Ok(out)
}

fn key_error(code: &str, message: String) -> Error {
    Error::InvalidInput(ErrorDetails {
        code: Some(code.into()),
        ..ErrorDetails::message(message)
    })
}

/// The keys the options give, read from files where they name files.
struct Given {
    password: Option<SecretString>,
    identities: Vec<x25519::Identity>,
    recipients: Vec<x25519::Recipient>,
    mac: Option<MacKey>,
}

fn read_secret_file(option: &str, path: &std::path::Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        Error::invalid_input(format!(
            "{option}: cannot read {}: {}",
            crate::escape::shown_path(path),
            e.kind()
        ))
    })
}

fn given(options: &EncryptionOptions) -> Result<Given> {
    let password = match (&options.password, &options.password_file) {
        (Some(p), _) => Some(p.expose().to_string()),
        (None, Some(path)) => {
            let text = read_secret_file("password_file", path)?;
            Some(text.lines().next().unwrap_or_default().to_string())
        }
        (None, None) => None,
    };
    if password.as_deref() == Some("") {
        return Err(Error::invalid_input("password: is empty"));
    }
    let mut identities = Vec::new();
    if let Some(identity) = &options.identity {
        identities.extend(parse_identities("identity", identity.expose())?);
    }
    if let Some(path) = &options.identity_file {
        identities.extend(parse_identities(
            "identity_file",
            &read_secret_file("identity_file", path)?,
        )?);
    }
    let recipients = options
        .recipients
        .iter()
        .map(|r| r.parse::<x25519::Recipient>())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| Error::invalid_input("recipients: not an age X25519 recipient"))?;
    let mac = options
        .mac_key
        .as_ref()
        .map(|m| MacKey::from_hex(m.expose()))
        .transpose()?;
    Ok(Given {
        password: password.map(SecretString::from),
        identities,
        recipients,
        mac,
    })
}

fn recipients_of(descriptor_recipients: &[String], extra: &[x25519::Recipient]) -> Result<Vec<x25519::Recipient>> {
    let mut out = Vec::new();
    for r in descriptor_recipients {
        out.push(r.parse::<x25519::Recipient>().map_err(|_| {
            Error::integrity(
                "s3keep.json",
                "the store descriptor lists a recipient that is not an age X25519 recipient",
            )
        })?);
    }
    for r in extra {
        if !out.iter().any(|o| o.to_string() == r.to_string()) {
            out.push(r.clone());
        }
    }
    Ok(out)
}

impl BackupStore {
    /// The keys of an encrypted store (found once, then cached); `None` when the store is not
    /// encrypted.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] with code `KeyMissing` when no key is given, `KeyWrong` when
    /// the password or identity opens no key object; transfer errors.
    pub(crate) async fn store_keys(&self, descriptor: &StoreDescriptor) -> Result<Option<Arc<StoreKeys>>> {
        let Some(store_recipients) = descriptor.age_recipients() else {
            return Ok(None);
        };
        if let Some(keys) = self.f2().keys.lock().expect("not poisoned").clone() {
            return Ok(Some(keys));
        }
        let given = given(&self.config.encryption)?;
        let recipients = recipients_of(store_recipients, &given.recipients)?;
        let keys = if given.password.is_some() || !given.identities.is_empty() {
            let (identity, mac) = self.open_key_objects(&given).await?;
            let mut identities = vec![identity];
            identities.extend(given.identities);
            StoreKeys::new(recipients, identities, mac)
        } else if let Some(mac) = given.mac {
            StoreKeys::new(recipients, Vec::new(), mac)
        } else {
            return Err(key_error(
                "KeyMissing",
                format!(
                    "the store at {:?} is encrypted: give password (S3KEEP_PASSWORD or password_file) or identity (S3KEEP_IDENTITY or identity_file); a write-only host gives mac_key",
                    self.layout.prefix()
                ),
            ));
        };
        let keys = Arc::new(keys);
        *self.f2().keys.lock().expect("not poisoned") = Some(keys.clone());
        Ok(Some(keys))
    }

    /// The store identity and MAC key from the first key object the given password or
    /// identities open.
    async fn open_key_objects(&self, given: &Given) -> Result<(x25519::Identity, MacKey)> {
        let prefix = self.f2().layout.keys_prefix();
        let listed = self.list_below(&prefix).await?;
        let objects: Vec<(String, Bytes)> = stream::iter(listed)
            .map(|(key, _)| async move {
                let too_large = || Error::integrity(&key, format!("key object {key} is larger than 64 KiB"));
                let (_, bytes) = self.client.get_object_bytes(&key, MAX_KEY_OBJECT, too_large).await?;
                Ok::<_, Error>((key, bytes))
            })
            .buffer_unordered(self.config.concurrency)
            .try_collect()
            .await?;
        let scrypt = given.password.clone().map(age::scrypt::Identity::new);
        for (key, bytes) in &objects {
            let Ok(decryptor) = age::Decryptor::new_buffered(&bytes[..]) else {
                continue;
            };
            let opened = match (&scrypt, decryptor.is_scrypt()) {
                (Some(scrypt), true) => decryptor.decrypt(std::iter::once(scrypt as &dyn age::Identity)),
                (_, false) if !given.identities.is_empty() => {
                    decryptor.decrypt(given.identities.iter().map(|i| i as &dyn age::Identity))
                }
                _ => continue,
            };
            let Ok(mut reader) = opened else { continue };
            let mut json = Vec::new();
            std::io::Read::read_to_end(&mut reader, &mut json)
                .map_err(|_| Error::integrity(key, format!("key object {key} does not decrypt")))?;
            let file: KeyFile = serde_json::from_slice(&json)
                .map_err(|_| Error::integrity(key, format!("key object {key} is not a key document")))?;
            let identity = file
                .identity
                .parse::<x25519::Identity>()
                .map_err(|_| Error::integrity(key, format!("key object {key} holds no age identity")))?;
            return Ok((identity, MacKey::from_hex(&file.mac_key)?));
        }
        let what = match (&given.password, given.identities.is_empty()) {
            (Some(_), true) => "the password",
            (None, false) => "the identity",
            _ => "neither the password nor the identity",
        };
        Err(key_error(
            "KeyWrong",
            format!(
                "{what} opens none of the {} key objects under {prefix}: wrong key",
                objects.len()
            ),
        ))
    }

    /// Creates the keys of a new encrypted store and writes its key objects; returns the
    /// recipients for its descriptor (the store's own first) and the keys. `None` when the
    /// options ask for no encryption.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a key option that cannot create a store (`mac_key` alone);
    /// transfer errors.
    pub(crate) async fn create_keys(&self) -> Result<Option<(Vec<String>, StoreKeys)>> {
        let options = &self.config.encryption;
        if !options.any() {
            return Ok(None);
        }
        let given = given(options)?;
        let mut wrap_to: Vec<x25519::Recipient> = given.recipients.clone();
        for identity in &given.identities {
            let public = identity.to_public();
            if !wrap_to.iter().any(|r| r.to_string() == public.to_string()) {
                wrap_to.push(public);
            }
        }
        if given.password.is_none() && wrap_to.is_empty() {
            return Err(key_error(
                "KeyMissing",
                "mac_key alone cannot create an encrypted store: give password or recipients".into(),
            ));
        }
        let identity = x25519::Identity::generate();
        // A MAC key given at creation is used (so write-only hosts can be provisioned
        // before the store exists); otherwise a random one.
        let mac = given.mac.clone().unwrap_or_else(MacKey::random);
        let document = serde_json::to_vec(&KeyFile {
            format_version: 1,
            identity: identity.to_string().expose_secret().to_string(),
            mac_key: mac.to_hex(),
        })
        .expect("a key document always serialises");
        let mut sealed = Vec::new();
        if let Some(password) = &given.password {
            let recipient = age::scrypt::Recipient::new(password.clone());
            sealed.push(seal_to(std::iter::once(&recipient as &dyn age::Recipient), &document));
        }
        if !wrap_to.is_empty() {
            sealed.push(seal_to(wrap_to.iter().map(|r| r as &dyn age::Recipient), &document));
        }
        let put = PutOptions {
            if_none_match: true,
            ..PutOptions::default()
        };
        for bytes in sealed {
            let key = format!("{}{}", self.f2().layout.keys_prefix(), hex::encode(random_bytes()));
            self.client.put_object(&key, Bytes::from(bytes), &put).await?;
        }
        let mut recipients = vec![identity.to_public()];
        recipients.extend(wrap_to);
        let names = recipients.iter().map(|r| r.to_string()).collect();
        let mut identities = vec![identity];
        identities.extend(given.identities);
        Ok(Some((names, StoreKeys::new(recipients, identities, mac))))
    }

    /// Remembers the keys of the store this process created.
    pub(crate) fn keep_keys(&self, keys: Arc<StoreKeys>) {
        *self.f2().keys.lock().expect("not poisoned") = Some(keys);
    }
}

fn seal_to<'a>(recipients: impl Iterator<Item = &'a dyn age::Recipient>, plain: &[u8]) -> Vec<u8> {
    let encryptor = age::Encryptor::with_recipients(recipients).expect("one kind of recipient");
    let mut out = Vec::new();
    let mut writer = encryptor.wrap_output(&mut out).expect("writing to a Vec");
    std::io::Write::write_all(&mut writer, plain).expect("writing to a Vec");
    writer.finish().expect("writing to a Vec");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse_without_echoing_secrets() {
        let identity = x25519::Identity::generate();
        let public = identity.to_public().to_string();
        assert_eq!(parse_recipients(&format!("{public}, {public}")).unwrap().len(), 2);
        assert!(parse_recipients("age1nope").is_err());
        let text = format!("# created: now\n{}\n", identity.to_string().expose_secret());
        assert_eq!(parse_identities("identity", &text).unwrap().len(), 1);
        let err = parse_identities("identity", "AGE-SECRET-KEY-1SECRETSECRET")
            .err()
            .unwrap();
        assert!(!err.to_string().contains("SECRETSECRET"), "{err}");
        assert!(parse_identities("identity", "# only a comment").is_err());
        let mac = MacKey::from_hex(&"ab".repeat(32)).unwrap();
        assert_eq!(mac.to_hex(), "ab".repeat(32));
        let err = MacKey::from_hex("secretsecret").unwrap_err();
        assert!(!err.to_string().contains("secretsecret"));
    }
}
