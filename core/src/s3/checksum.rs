//! Checksums in the forms S3 writes them: CRC32C and MD5, base64 of the big-endian bytes.

use base64::Engine as _;
use md5::{Digest as _, Md5};

/// A running CRC32C (Castagnoli), the checksum s3keep stores for every file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Crc32c(u32);

impl Crc32c {
    /// A fresh checksum (of zero bytes).
    pub fn new() -> Self {
        Self(0)
    }

    /// A checksum with a known value (e.g. combined from parts with `crc32c_combine`).
    pub fn from_value(value: u32) -> Self {
        Self(value)
    }

    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0 = crc32c::crc32c_append(self.0, bytes);
    }

    /// The checksum value.
    pub fn value(&self) -> u32 {
        self.0
    }

    /// The value as S3's `x-amz-checksum-crc32c` header carries it: base64 of 4 big-endian bytes.
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0.to_be_bytes())
    }
}

/// CRC32C of `bytes`, base64-encoded as in `x-amz-checksum-crc32c`.
pub fn crc32c_base64(bytes: &[u8]) -> String {
    let mut c = Crc32c::new();
    c.update(bytes);
    c.to_base64()
}

/// MD5 of `bytes`, base64-encoded as in `Content-MD5` (RFC 1864).
pub fn md5_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Md5::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_known_values() {
        // RFC 3720 B.4: 32 bytes of zeros → 0x8A9136AA.
        let mut c = Crc32c::new();
        c.update(&[0u8; 32]);
        assert_eq!(c.value(), 0x8A91_36AA);
        // S3's value for the empty object is AAAAAA==; "hello world" is yZRlqg== per AWS's docs.
        assert_eq!(crc32c_base64(b""), "AAAAAA==");
        assert_eq!(crc32c_base64(b"hello world"), "yZRlqg==");
    }

    #[test]
    fn crc32c_is_incremental() {
        let mut c = Crc32c::new();
        c.update(b"hello ");
        c.update(b"world");
        assert_eq!(c.to_base64(), crc32c_base64(b"hello world"));
    }

    #[test]
    fn md5_is_base64_of_digest() {
        assert_eq!(md5_base64(b""), "1B2M2Y8AsgTpgAmY7PhCfg==");
    }
}
