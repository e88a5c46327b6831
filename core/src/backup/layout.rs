//! The object layout of §3 and the rules that keep names inside it.
//!
//! ```text
//! {prefix}{partition}/{checkpoint}/{node}/status.json
//! {prefix}{partition}/{checkpoint}/{node}/metadata.json
//! {prefix}{partition}/{checkpoint}/{node}/{fileSet}/{relativePath}
//! ```

use super::BackupId;
use crate::error::{Error, Result};

/// The status object's name inside a backup folder.
pub const STATUS_JSON: &str = "status.json";
/// The metadata object's name inside a backup folder.
pub const METADATA_JSON: &str = "metadata.json";
/// S3's key length limit in bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// Keys of one store (bucket + normalised prefix).
#[derive(Clone, Debug)]
pub struct Layout {
    prefix: String,
}

impl Layout {
    /// The layout under `prefix`, which must already be normalised (`a/b/` or empty).
    pub fn new(prefix: impl Into<String>) -> Self {
        Self { prefix: prefix.into() }
    }

    /// The store prefix (`""` or ending in `/`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `{prefix}{partition}/{checkpoint}/{node}/`.
    pub fn backup_prefix(&self, id: &BackupId) -> String {
        format!("{}{}", self.prefix, id.key_prefix())
    }

    /// The key of `status.json`.
    pub fn status_key(&self, id: &BackupId) -> String {
        format!("{}{STATUS_JSON}", self.backup_prefix(id))
    }

    /// The key of `metadata.json`.
    pub fn metadata_key(&self, id: &BackupId) -> String {
        format!("{}{METADATA_JSON}", self.backup_prefix(id))
    }

    /// The key of a file of a set.
    pub fn file_key(&self, id: &BackupId, set: &str, path: &str) -> String {
        format!("{}{set}/{path}", self.backup_prefix(id))
    }

    /// Recognises `{prefix}{p}/{c}/{n}/status.json` and returns the id.
    pub fn parse_status_key(&self, key: &str) -> Option<BackupId> {
        let rest = key.strip_prefix(&self.prefix)?.strip_suffix(STATUS_JSON)?;
        let rest = rest.strip_suffix('/')?;
        rest.parse().ok()
    }
}

/// Whether `key`, named by a listing of `folder`, lies inside that folder: `folder` is an
/// exact prefix of it, something follows, and no `..` component (split on `/` or `\\`) does.
///
/// S3 treats keys as plain strings, but a store that ignores a listing's `prefix`, or one
/// that resolves `..` in keys like paths, would otherwise make a delete reach other objects:
/// every key delete, prune and cleanup act on passes this check first.
pub fn key_inside(folder: &str, key: &str) -> bool {
    key.strip_prefix(folder)
        .is_some_and(|rest| !rest.is_empty() && !rest.split(['/', '\\']).any(|c| c == ".."))
}

/// Checks a file set name: `[a-z0-9][a-z0-9_-]{0,62}`.
///
/// # Errors
/// [`Error::InvalidInput`] naming the rule.
pub fn validate_set_name(name: &str) -> Result<()> {
    let bytes = name.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= 63
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_' || *c == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "file set name {name:?} must match [a-z0-9][a-z0-9_-]{{0,62}} (e.g. files, snapshot, segments)"
        )))
    }
}

/// Checks a file's path relative to its set (§3): not empty, not absolute, no `.` or `..`
/// component, no empty component, no backslash, NUL or control character.
///
/// The same check runs on save (names from the caller) and on restore (names from a
/// `metadata.json` that may have been tampered with), so restore never writes outside its
/// target directory.
///
/// # Errors
/// [`Error::InvalidInput`] naming the path and the rule it breaks.
pub fn validate_relative_path(path: &str) -> Result<()> {
    let reject = |why: &str| Err(Error::invalid_input(format!("file name {path:?} {why}")).with_key(path));
    if path.is_empty() {
        return reject("is empty");
    }
    if path.starts_with('/') {
        return reject("is absolute; names must be relative to the file set");
    }
    if path.contains('\\') {
        return reject("contains a backslash; use '/' between directories");
    }
    if path.chars().any(char::is_control) {
        return reject("contains NUL or a control character");
    }
    for component in path.split('/') {
        match component {
            "" => return reject("has an empty component ('//' or a trailing '/')"),
            "." | ".." => return reject("has a '.' or '..' component"),
            _ => {}
        }
    }
    Ok(())
}

/// Checks that the full key of a file stays within S3's 1024-byte limit.
pub fn validate_key_length(key: &str) -> Result<()> {
    if key.len() > MAX_KEY_BYTES {
        return Err(Error::invalid_input(format!(
            "the object key would be {} bytes, above S3's limit of {MAX_KEY_BYTES}; shorten the prefix or the file name",
            key.len()
        ))
        .with_key(key));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_layout() {
        let layout = Layout::new("base/");
        let id = BackupId::new(1, 42, 2);
        assert_eq!(layout.status_key(&id), "base/1/42/2/status.json");
        assert_eq!(layout.metadata_key(&id), "base/1/42/2/metadata.json");
        assert_eq!(
            layout.file_key(&id, "segments", "a/b.log"),
            "base/1/42/2/segments/a/b.log"
        );
        assert_eq!(layout.parse_status_key("base/1/42/2/status.json"), Some(id));
        assert_eq!(layout.parse_status_key("base/1/42/2/files/status.json"), None);
        assert_eq!(layout.parse_status_key("other/1/42/2/status.json"), None);
    }

    #[test]
    fn only_keys_strictly_inside_the_folder_count() {
        let folder = "base/0/1/0/";
        for inside in [
            "base/0/1/0/files/a",
            "base/0/1/0/status.json",
            "base/0/1/0/..x/y",
            "base/0/1/0/a..b",
        ] {
            assert!(key_inside(folder, inside), "{inside}");
        }
        for outside in [
            "base/0/1/0/",
            "base/0/1/",
            "base/0/1/00/files/a",
            "base/0/2/0/status.json",
            "other-app/data.bin",
            "base/0/1/0/files/../../../2/0/status.json",
            "base/0/1/0/..",
            "base/0/1/0/files\\..\\x",
            "Base/0/1/0/files/a",
        ] {
            assert!(!key_inside(folder, outside), "{outside}");
        }
        // An empty store prefix: anything but `..` escapes is inside.
        assert!(key_inside("", "a/b"));
        assert!(!key_inside("", "../a"));
    }

    #[test]
    fn set_names_follow_the_pattern() {
        for good in ["files", "snapshot", "segments", "0", "a-b_c"] {
            validate_set_name(good).unwrap();
        }
        for bad in ["", "Files", "-a", "_a", "a/b", "a.b", &"a".repeat(64)] {
            assert!(validate_set_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn escaping_paths_are_rejected() {
        for bad in [
            "",
            "../x",
            "/etc/passwd",
            "a/../../b",
            "a/./b",
            "a//b",
            "a/",
            "a\\b",
            "a\0b",
            "a\nb",
            "..",
        ] {
            let err = validate_relative_path(bad).unwrap_err();
            assert!(matches!(err, Error::InvalidInput(_)), "{bad:?}");
        }
        for good in ["a", "a/b/c.txt", ".hidden", "..x", "x..", "é/ü ñ.txt", "a b+c%d=e~f"] {
            validate_relative_path(good).unwrap();
        }
    }

    #[test]
    fn keys_over_1024_bytes_are_rejected() {
        assert!(validate_key_length(&"k".repeat(1024)).is_ok());
        assert!(validate_key_length(&"k".repeat(1025)).is_err());
    }
}
