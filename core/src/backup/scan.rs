//! Turning a local path into a file set (native only): what is saved, what is skipped with a
//! note, and what is a per-file error (§4 save; issue 16's source-tree rules).
//!
//! The rules, like rclone's defaults (and restic's warn-and-continue as an option):
//! - A path named by the caller is read through links (`--set db=/run/dump.fifo` or a link
//!   to a directory works): a directory is walked, anything else is one file named by its
//!   file name. A FIFO or a character/block device named this way is streamed as one file
//!   of unknown size (the `pg_dump > fifo` use); a socket is refused.
//! - Inside a walked tree, symbolic links are not followed unless
//!   [`ScanOptions::follow_symlinks`]: format 1 stores regular files only and cannot
//!   represent a link, so each link is skipped with a note. When following, a link to a
//!   directory that contains it (a loop) is skipped with a note.
//! - Special files met inside a tree (FIFOs, sockets, devices) are skipped with a note:
//!   reading a FIFO found by walking could block forever.
//! - A file that cannot be saved (a name that is not UTF-8 or holds a control character, a
//!   dangling link being followed, an entry that cannot be read) is a per-file error naming
//!   the file (escaped, [`crate::escape`]): with [`OnFileError::Fail`] (the default) the scan
//!   fails before any request is sent; with [`OnFileError::Skip`] the file is skipped with a
//!   note marked as an error, and the save goes on without it.

use std::fmt;
use std::fs::{FileType, Metadata};
use std::path::{Path, PathBuf};

use serde::ser::{Serialize, SerializeStruct as _, Serializer};

use super::layout::validate_relative_path;
pub use super::scan_options::{OnFileError, ScanOptions};
use super::source::{FileSet, FileSpec, Source};
use crate::error::{Error, Result};
use crate::escape::shown_path;

/// Why an entry of a tree was left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// A symbolic link, not followed.
    Symlink,
    /// A link (being followed) to a directory that contains it.
    Loop,
    /// A FIFO, socket or device (`"FIFO"`, `"socket"`, `"device"`).
    Special(&'static str),
    /// A per-file error, skipped because of [`OnFileError::Skip`]; the error's text.
    Error(String),
}

/// One entry of a tree left out of the file set, with its path relative to the tree
/// (escaped: fit to print).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The entry's path relative to the scanned directory, escaped ([`shown_path`]).
    pub path: String,
    /// Why it was left out.
    pub reason: SkipReason,
}

impl Skipped {
    /// Whether it was left out because of an error (rather than by rule).
    pub fn is_error(&self) -> bool {
        matches!(self.reason, SkipReason::Error(_))
    }
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = &self.path;
        match &self.reason {
            SkipReason::Symlink => write!(f, "{path}: a symbolic link, not followed (option follow_symlinks)"),
            SkipReason::Loop => write!(f, "{path}: a link to a directory that contains it (a loop)"),
            SkipReason::Special(kind) => write!(f, "{path}: a {kind}, not a regular file"),
            SkipReason::Error(text) => write!(f, "{path}: could not be saved: {text}"),
        }
    }
}

/// An entry a scan left out (`s3keep save --json` lists them under `skipped`): `path`,
/// `reason` (`symlink`, `loop`, `special-file`, `error`), `error` (left out because of an
/// error rather than by rule: the save is incomplete) and `message`.
impl Serialize for Skipped {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let reason = match self.reason {
            SkipReason::Symlink => "symlink",
            SkipReason::Loop => "loop",
            SkipReason::Special(_) => "special-file",
            SkipReason::Error(_) => "error",
        };
        let mut e = s.serialize_struct("Skipped", 4)?;
        e.serialize_field("path", &self.path)?;
        e.serialize_field("reason", reason)?;
        e.serialize_field("error", &self.is_error())?;
        e.serialize_field("message", &self.to_string())?;
        e.end()
    }
}

/// A file set made from a local path, and what was left out of it.
#[derive(Debug)]
pub struct Scan {
    /// The files to save.
    pub set: FileSet,
    /// Entries left out, in walk order.
    pub skipped: Vec<Skipped>,
}

impl FileSet {
    /// The file set of a local path named by the caller (see the module rules): every
    /// regular file below a directory (sorted by name), or one file named by its file name
    /// (a FIFO or device is streamed, of unknown size). A path `s3://...` names an S3
    /// prefix instead ([`FileSet::from_url`], §13).
    ///
    /// # Errors
    /// [`Error::Io`] when `path` cannot be read; [`Error::InvalidInput`] for a socket, a
    /// file name that is not UTF-8 or a malformed URL; with [`OnFileError::Fail`], the first
    /// per-file error of the tree (naming the file, escaped).
    pub fn scan(name: impl Into<String>, path: impl AsRef<Path>, options: &ScanOptions) -> Result<Scan> {
        let path = path.as_ref();
        let name = name.into();
        if let Some(url) = path.to_str().filter(|p| super::is_s3_url(p)) {
            let set = FileSet::from_url(name, url)?;
            return Ok(Scan {
                set,
                skipped: Vec::new(),
            });
        }
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if !meta.is_dir() {
            if special_kind(&meta.file_type()) == Some("socket") {
                return Err(Error::invalid_input(format!(
                    "{} is a socket: name a file, a FIFO or a directory",
                    shown_path(path)
                )));
            }
            let file_name = path
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| Error::invalid_input(format!("{} has no UTF-8 file name", shown_path(path))))?;
            let files = vec![FileSpec {
                name: file_name.to_string(),
                source: Source::Path(path.to_path_buf()),
            }];
            return Ok(Scan {
                set: FileSet { name, files },
                skipped: Vec::new(),
            });
        }
        let mut walk = Walk {
            root: path,
            options,
            files: Vec::new(),
            skipped: Vec::new(),
            ancestors: vec![identity(&meta)],
        };
        walk.dir(path)?;
        let mut files = walk.files;
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Scan {
            set: FileSet { name, files },
            skipped: walk.skipped,
        })
    }

    /// The file set of several paths (the Python face's list of paths): each file under its
    /// file name, each directory's tree below the directory's name (`logs/a.txt`).
    ///
    /// # Errors
    /// Those of [`scan`](Self::scan), and [`Error::InvalidInput`] for a directory whose name
    /// is not UTF-8.
    pub fn scan_paths(name: impl Into<String>, paths: &[PathBuf], options: &ScanOptions) -> Result<Scan> {
        let (mut files, mut skipped) = (Vec::new(), Vec::new());
        for path in paths {
            let scan = FileSet::scan(String::new(), path, options)?;
            let prefix = match std::fs::metadata(path).map_err(|e| Error::io(path, e))?.is_dir() {
                false => String::new(),
                true => match path.file_name().and_then(|n| n.to_str()) {
                    Some(dir) => format!("{dir}/"),
                    None => return Err(Error::invalid_input(format!("{} has no UTF-8 name", shown_path(path)))),
                },
            };
            let named = |f: FileSpec| FileSpec {
                name: format!("{prefix}{}", f.name),
                ..f
            };
            files.extend(scan.set.files.into_iter().map(named));
            skipped.extend(scan.skipped.into_iter().map(|s| Skipped {
                path: format!("{prefix}{}", s.path),
                ..s
            }));
        }
        let set = FileSet {
            name: name.into(),
            files,
        };
        Ok(Scan { set, skipped })
    }
}

struct Walk<'a> {
    root: &'a Path,
    options: &'a ScanOptions,
    files: Vec<FileSpec>,
    skipped: Vec<Skipped>,
    /// Identities of the directories from the root down to the one being walked.
    ancestors: Vec<Option<(u64, u64)>>,
}

impl Walk<'_> {
    fn dir(&mut self, dir: &Path) -> Result<()> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if dir == self.root => return Err(Error::io(dir, e)),
            Err(e) => return self.file_error(dir, Error::io(dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(dir, e))?;
            self.entry(&entry.path(), entry.file_type())?;
        }
        Ok(())
    }

    fn entry(&mut self, path: &Path, file_type: std::io::Result<FileType>) -> Result<()> {
        let file_type = match file_type {
            Ok(t) => t,
            Err(e) => return self.file_error(path, Error::io(path, e)),
        };
        let meta = if file_type.is_symlink() {
            if !self.options.follow_symlinks {
                return self.skip(path, SkipReason::Symlink);
            }
            match std::fs::metadata(path) {
                Ok(meta) => meta,
                Err(e) => {
                    let message = format!("{}: a dangling symbolic link ({e})", shown_path(path));
                    return self.file_error(path, Error::invalid_input(message));
                }
            }
        } else {
            match std::fs::symlink_metadata(path) {
                Ok(meta) => meta,
                Err(e) => return self.file_error(path, Error::io(path, e)),
            }
        };
        if meta.is_dir() {
            let id = identity(&meta);
            if id.is_some() && self.ancestors.contains(&id) {
                return self.skip(path, SkipReason::Loop);
            }
            self.ancestors.push(id);
            let walked = self.dir(path);
            self.ancestors.pop();
            return walked;
        }
        if let Some(kind) = special_kind(&meta.file_type()) {
            return self.skip(path, SkipReason::Special(kind));
        }
        let relative = path.strip_prefix(self.root).expect("walked below the root");
        let Some(text) = relative.to_str() else {
            let message = format!("file name {} is not UTF-8", shown_path(relative));
            return self.file_error(path, Error::invalid_input(message));
        };
        let name = text.replace(std::path::MAIN_SEPARATOR, "/");
        if let Err(e) = validate_relative_path(&name) {
            return self.file_error(path, e);
        }
        self.files.push(FileSpec {
            name,
            source: Source::Path(path.to_path_buf()),
        });
        Ok(())
    }

    fn skip(&mut self, path: &Path, reason: SkipReason) -> Result<()> {
        let relative = path.strip_prefix(self.root).unwrap_or(path);
        self.skipped.push(Skipped {
            path: shown_path(relative),
            reason,
        });
        Ok(())
    }

    /// A per-file error: returned, or noted and skipped, as the options say. The error is
    /// keyed by the path relative to the tree (escaped).
    fn file_error(&mut self, path: &Path, error: Error) -> Result<()> {
        let relative = shown_path(path.strip_prefix(self.root).unwrap_or(path));
        match self.options.on_file_error {
            OnFileError::Fail => Err(error.with_key(relative)),
            OnFileError::Skip => {
                let text = error.details().message.clone();
                self.skip(
                    path,
                    SkipReason::Error(crate::escape::escape_controls(&text).into_owned()),
                )
            }
        }
    }
}

/// What kind of special file this is, or `None` for a regular file, directory or link.
pub(crate) fn special_kind(file_type: &FileType) -> Option<&'static str> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if file_type.is_fifo() {
            return Some("FIFO");
        }
        if file_type.is_socket() {
            return Some("socket");
        }
        if file_type.is_block_device() || file_type.is_char_device() {
            return Some("device");
        }
    }
    (!file_type.is_file() && !file_type.is_dir() && !file_type.is_symlink()).then_some("special file")
}

/// A directory's (device, inode), to recognise a loop when following links.
fn identity(meta: &Metadata) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        Some((meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

#[cfg(all(test, unix))]
#[path = "scan_tests.rs"]
mod tests;
