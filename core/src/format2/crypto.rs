//! age encryption of format 2 objects (§12; docs/FORMAT.md, "Encryption"). Only the `age`
//! crate's own encryptor and decryptor touch the bytes: this module decides what is sealed
//! and finds, for a ranged read of a pack, which age segments hold the wanted plaintext.
//!
//! - Whole objects (manifests, an index object's private part, key objects) are one age file
//!   each: [`StoreKeys::seal`] / [`StoreKeys::open`].
//! - A pack is one age file of the pack's plaintext layout, written as it fills
//!   ([`PackSealer`]: age's streaming writer, cut into multipart parts), so `age -d` of a
//!   pack gives the documented pack. A blob is read with one ranged GET of the age segments
//!   (64 KiB of plaintext, 65,552 bytes sealed) that hold it, plus the pack's age header
//!   (fetched once per pack and kept); age's seekable reader decrypts and authenticates just
//!   those segments ([`StoreKeys::open_range`]).

use std::collections::HashMap;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};

use age::x25519;
use bytes::{Bytes, BytesMut};

use super::id::{MacKey, PackId};
use crate::error::{Error, ErrorDetails, Result};

/// Plaintext bytes per age segment (age's STREAM chunk).
pub const SEGMENT: u64 = 64 * 1024;
/// Bytes of a sealed segment: the plaintext and its 16-byte Poly1305 tag.
pub const SEALED_SEGMENT: u64 = SEGMENT + 16;
/// The longest age header (with its 16-byte nonce) a pack may have.
pub const MAX_HEADER: usize = 64 * 1024;

/// The keys of an encrypted store for this process: what objects are encrypted to, what
/// reads them (none on a write-only host), and the chunk-id MAC key. `Debug` shows no secret.
pub struct StoreKeys {
    recipients: Vec<x25519::Recipient>,
    identities: Vec<x25519::Identity>,
    mac: MacKey,
    /// Each pack's age header (with its nonce), as read once.
    headers: Mutex<HashMap<PackId, Bytes>>,
}

impl std::fmt::Debug for StoreKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreKeys")
            .field("recipients", &self.recipients.len())
            .field("can_read", &self.can_read())
            .finish_non_exhaustive()
    }
}

/// The typed error of an operation that needs the store's identity on a host that has
/// only what writing needs.
pub fn identity_needed(what: &str) -> Error {
    Error::InvalidInput(ErrorDetails {
        code: Some("KeyMissing".into()),
        ..ErrorDetails::message(format!(
            "{what} needs the store's identity: this host has only the recipients and mac_key (a write-only host); give password, password_file, identity or identity_file"
        ))
    })
}

impl StoreKeys {
    /// Keys made of their parts (see [`super::keys`] for how they are found).
    pub fn new(recipients: Vec<x25519::Recipient>, identities: Vec<x25519::Identity>, mac: MacKey) -> Self {
        Self {
            recipients,
            identities,
            mac,
            headers: Mutex::new(HashMap::new()),
        }
    }

    /// Whether this host can decrypt (holds an identity).
    pub fn can_read(&self) -> bool {
        !self.identities.is_empty()
    }

    /// Refuses `what` on a write-only host.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] (code `KeyMissing`) naming `what` and the options that would do.
    pub fn require_identity(&self, what: &str) -> Result<()> {
        if self.can_read() {
            Ok(())
        } else {
            Err(identity_needed(what))
        }
    }

    /// The chunk-id MAC key.
    pub fn mac(&self) -> &MacKey {
        &self.mac
    }

    fn encryptor(&self) -> age::Encryptor {
        age::Encryptor::with_recipients(self.recipients.iter().map(|r| r as &dyn age::Recipient))
            .expect("X25519 recipients always combine, and there is at least one")
    }

    /// `plain` as one age file to the store's recipients.
    pub fn seal(&self, plain: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(plain.len() + 512 + plain.len() / SEGMENT as usize * 16);
        let mut writer = self.encryptor().wrap_output(&mut out).expect("writing to a Vec");
        writer.write_all(plain).expect("writing to a Vec");
        writer.finish().expect("writing to a Vec");
        out
    }

    /// The plaintext of the age file `sealed` read from `key`, at most `limit` bytes.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] on a write-only host; [`Error::Integrity`] naming `key` when
    /// it is not an age file for this store's key, fails authentication, or is too large.
    pub fn open(&self, key: &str, sealed: &[u8], limit: u64) -> Result<Vec<u8>> {
        self.require_identity("reading an encrypted object")?;
        let decryptor = age::Decryptor::new_buffered(sealed).map_err(|e| age_error(key, e))?;
        let reader = decryptor.decrypt(self.identity_refs()).map_err(|e| age_error(key, e))?;
        let mut out = Vec::new();
        reader
            .take(limit + 1)
            .read_to_end(&mut out)
            .map_err(|e| Error::integrity(key, format!("{key}: its age payload does not decrypt: {e}")))?;
        if out.len() as u64 > limit {
            return Err(Error::integrity(
                key,
                format!("{key} decrypts to more than {limit} bytes"),
            ));
        }
        Ok(out)
    }

    fn identity_refs(&self) -> impl Iterator<Item = &dyn age::Identity> {
        self.identities.iter().map(|i| i as &dyn age::Identity)
    }

    /// The writer of one pack's ciphertext, cut into multipart parts of `part_size` bytes.
    pub fn pack_sealer(&self, part_size: usize) -> PackSealer {
        let out = SharedBuf::default();
        let writer = self.encryptor().wrap_output(out.clone()).expect("writing to memory");
        PackSealer {
            writer,
            out,
            part_size,
            length: 0,
        }
    }

    /// The pack's age header (with nonce) when known.
    pub fn cached_header(&self, pack: &PackId) -> Option<Bytes> {
        self.headers.lock().expect("not poisoned").get(pack).cloned()
    }

    /// Remembers a pack's header, found by [`header_length`] in its first bytes.
    pub fn remember_header(&self, pack: PackId, header: Bytes) {
        self.headers.lock().expect("not poisoned").insert(pack, header);
    }

    /// The plaintext bytes `start..end` of a pack of `total` sealed bytes, from its `header`
    /// and the sealed bytes `sealed` that begin at `sealed_start` (as [`sealed_range`] says).
    ///
    /// # Errors
    /// [`Error::Integrity`] naming `key` when a segment fails authentication or is missing.
    pub fn open_range(
        &self,
        key: &str,
        header: &[u8],
        total: u64,
        sealed_start: u64,
        sealed: &[u8],
        (start, end): (u64, u64),
    ) -> Result<Vec<u8>> {
        self.require_identity("reading an encrypted pack")?;
        let view = SparseView {
            header,
            start: sealed_start,
            sealed,
            total,
            pos: 0,
        };
        let decryptor = age::Decryptor::new(view).map_err(|e| age_error(key, e))?;
        let mut reader = decryptor.decrypt(self.identity_refs()).map_err(|e| age_error(key, e))?;
        let failed = |e: io::Error| Error::integrity(key, format!("pack {key}: a segment does not decrypt: {e}"));
        if start % SEGMENT == 0 && start > 0 {
            // age's reader, sent to the first byte of a segment other than the first, reads
            // the last segment to learn the length; one byte in, it reads only this segment.
            reader.seek(SeekFrom::Start(start + 1)).map_err(failed)?;
        }
        reader.seek(SeekFrom::Start(start)).map_err(failed)?;
        let mut out = vec![0u8; (end - start) as usize];
        reader.read_exact(&mut out).map_err(failed)?;
        Ok(out)
    }
}

/// The sealed bytes `first..last` (exclusive) that hold plaintext `start..end` of a pack
/// whose age header (with nonce) has `header` bytes and whose object has `total` bytes.
pub fn sealed_range(header: u64, total: u64, start: u64, end: u64) -> (u64, u64) {
    let first = header + (start / SEGMENT) * SEALED_SEGMENT;
    let last = header + ((end - 1) / SEGMENT + 1) * SEALED_SEGMENT;
    (first, last.min(total))
}

/// The length of the age header (with its nonce) at the start of `bytes`; `None` when
/// `bytes` ends before it does.
///
/// # Errors
/// [`Error::Integrity`] naming `key` when the bytes are not an age file's start.
pub fn header_length(key: &str, bytes: &[u8]) -> Result<Option<usize>> {
    let mut counted = Counted { bytes, read: 0 };
    match age::Decryptor::new(&mut counted) {
        Ok(_) => Ok(Some(counted.read)),
        Err(age::DecryptError::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(age_error(key, e)),
    }
}

fn age_error(key: &str, e: age::DecryptError) -> Error {
    match e {
        age::DecryptError::NoMatchingKeys => Error::integrity(
            key,
            format!(
                "{key} is not encrypted to this store's key (the object was replaced, or the key is another store's)"
            ),
        ),
        e => Error::integrity(key, format!("{key} is not a readable age file: {e}")),
    }
}

/// Reads from a slice, counting what was read (age's unbuffered parser reads no further
/// than the header and nonce).
struct Counted<'a> {
    bytes: &'a [u8],
    read: usize,
}

impl Read for &mut Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (&self.bytes[self.read..]).read(buf)?;
        self.read += n;
        Ok(n)
    }
}

/// A pack as age's seekable reader sees it: the header, then only the fetched segments.
struct SparseView<'a> {
    header: &'a [u8],
    start: u64,
    sealed: &'a [u8],
    total: u64,
    pos: u64,
}

impl Read for SparseView<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let pos = self.pos;
        let from: &[u8] = if pos < self.header.len() as u64 {
            &self.header[pos as usize..]
        } else if pos >= self.start && pos < self.start + self.sealed.len() as u64 {
            &self.sealed[(pos - self.start) as usize..]
        } else if pos >= self.total {
            &[]
        } else {
            return Err(io::Error::other("a segment outside the fetched range was needed"));
        };
        let n = from.len().min(buf.len());
        buf[..n].copy_from_slice(&from[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for SparseView<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(n) => self.total.checked_add_signed(n),
            SeekFrom::Current(n) => self.pos.checked_add_signed(n),
        };
        self.pos = target.ok_or_else(|| io::Error::other("seek before the start"))?;
        Ok(self.pos)
    }
}

/// A `Write` into memory that the pack sealer drains part by part.
#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<BytesMut>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One pack's age writer: plaintext in, multipart parts of sealed bytes out. Memory: one
/// part plus one segment.
pub struct PackSealer {
    writer: age::stream::StreamWriter<SharedBuf>,
    out: SharedBuf,
    part_size: usize,
    length: u64,
}

impl PackSealer {
    /// Seals `plain` (the pack's next bytes); returns the parts now full.
    ///
    /// # Errors
    /// Never in practice (memory writes); an [`Error::Io`] otherwise.
    pub fn push(&mut self, plain: &[u8]) -> Result<Vec<Bytes>> {
        self.writer.write_all(plain).map_err(io_error)?;
        Ok(take_full(&self.out, self.part_size, &mut self.length))
    }

    /// Seals the pack's last bytes and ends the age file: the parts still full, then the
    /// last part (never empty), and the sealed length of the whole pack.
    ///
    /// # Errors
    /// As [`PackSealer::push`].
    pub fn finish(mut self, last: &[u8]) -> Result<(Vec<Bytes>, Bytes, u64)> {
        self.writer.write_all(last).map_err(io_error)?;
        self.writer.finish().map_err(io_error)?;
        let mut parts = take_full(&self.out, self.part_size, &mut self.length);
        let rest = std::mem::take(&mut *self.out.0.lock().expect("not poisoned")).freeze();
        self.length += rest.len() as u64;
        let last = if rest.is_empty() {
            parts.pop().expect("an age file is never empty")
        } else {
            rest
        };
        Ok((parts, last, self.length))
    }
}

fn take_full(out: &SharedBuf, part_size: usize, length: &mut u64) -> Vec<Bytes> {
    let mut out = out.0.lock().expect("not poisoned");
    let mut parts = Vec::new();
    while out.len() >= part_size {
        let part = out.split_to(part_size).freeze();
        *length += part.len() as u64;
        parts.push(part);
    }
    parts
}

fn io_error(e: io::Error) -> Error {
    Error::Io(ErrorDetails::message(format!("encrypting a pack: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> (StoreKeys, x25519::Identity) {
        let identity = x25519::Identity::generate();
        let keys = StoreKeys::new(
            vec![identity.to_public()],
            vec![identity.clone()],
            MacKey::from_bytes([3; 32]),
        );
        (keys, identity)
    }

    #[test]
    fn sealed_objects_open_with_the_age_decryptor_and_not_with_another_key() {
        let (keys, identity) = keys();
        let sealed = keys.seal(b"manifest bytes");
        assert!(sealed.starts_with(b"age-encryption.org/v1\n"));
        assert_eq!(keys.open("k", &sealed, 100).unwrap(), b"manifest bytes");
        let reader = age::Decryptor::new(&sealed[..])
            .unwrap()
            .decrypt(std::iter::once(&identity as &dyn age::Identity))
            .unwrap();
        let mut plain = Vec::new();
        { reader }.read_to_end(&mut plain).unwrap();
        assert_eq!(plain, b"manifest bytes");
        let (other, _) = self::keys();
        assert!(matches!(other.open("k", &sealed, 100), Err(Error::Integrity(_))));
        assert!(matches!(keys.open("k", &sealed, 3), Err(Error::Integrity(_))));
        let write_only = StoreKeys::new(vec![identity.to_public()], vec![], MacKey::from_bytes([3; 32]));
        let err = write_only.open("k", &sealed, 100).unwrap_err();
        assert_eq!(err.code(), Some("KeyMissing"));
    }

    #[test]
    fn a_sealed_pack_is_cut_into_parts_and_any_range_decrypts_alone() {
        let (keys, _) = keys();
        let plain: Vec<u8> = (0..700_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut sealer = keys.pack_sealer(100_000);
        let mut parts = sealer.push(&plain[..300_000]).unwrap();
        let (more, last, length) = sealer.finish(&plain[300_000..]).unwrap();
        parts.extend(more);
        assert!(parts.iter().all(|p| p.len() == 100_000));
        assert!(!last.is_empty() && last.len() <= 100_000);
        let mut object: Vec<u8> = parts.iter().flat_map(|p| p.iter().copied()).collect();
        object.extend_from_slice(&last);
        assert_eq!(object.len() as u64, length);
        assert_eq!(keys.open("p", &object, 1 << 20).unwrap(), plain);

        let header = header_length("p", &object[..4096]).unwrap().unwrap();
        assert!(header_length("p", &object[..20]).unwrap().is_none());
        for (start, end) in [
            (0, 1),
            (65_536, 65_537),
            (65_535, 131_073),
            (400_000, 700_000),
            (699_999, 700_000),
        ] {
            let (first, last) = sealed_range(header as u64, length, start, end);
            let got = keys
                .open_range(
                    "p",
                    &object[..header],
                    length,
                    first,
                    &object[first as usize..last as usize],
                    (start, end),
                )
                .unwrap();
            assert_eq!(got, &plain[start as usize..end as usize], "{start}..{end}");
        }
        let (first, last) = sealed_range(header as u64, length, 70_000, 70_010);
        let mut flipped = object[first as usize..last as usize].to_vec();
        flipped[10] ^= 1;
        let err = keys
            .open_range("p", &object[..header], length, first, &flipped, (70_000, 70_010))
            .unwrap_err();
        assert!(matches!(err, Error::Integrity(_)));
    }

    #[test]
    fn keys_never_print_secrets() {
        let (keys, identity) = keys();
        let text = format!("{keys:?}");
        assert!(!text.contains("AGE-SECRET-KEY"));
        use age::secrecy::ExposeSecret;
        assert!(!text.contains(identity.to_string().expose_secret()));
    }
}
