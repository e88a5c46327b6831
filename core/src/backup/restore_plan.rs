//! Restore planning, on every target: which files of a backup go where below the target
//! directory, under which temporary names, and the checks that come before any byte is
//! written (unknown sets, names that could escape, two files on one path, a file where
//! another needs a directory). The native restore (`restore_native.rs`) and the npm
//! package's `restoreToDirectory` (which only makes the `node:fs` calls) both follow it.

use std::collections::{BTreeSet, HashSet};
use std::ffi::{OsStr, OsString};
use std::path::{Component, PathBuf};

use futures::StreamExt as _;
use serde::Serialize;

use crate::backup::layout::{validate_relative_path, validate_set_name};
use crate::backup::manifest::{FileEntry, Metadata};
use crate::backup::{BackupId, BackupStore};
use crate::error::{Error, Result};
use crate::s3::checksum::Crc32c;
use crate::s3::ByteStream;

/// Suffix of the temporary files a restore writes before renaming them into place.
const PARTIAL_SUFFIX: &str = ".s3keep-partial";
/// Most file systems limit one path component to 255 bytes.
const NAME_MAX: usize = 255;

/// The temporary name a restore writes `final_name` under, in the same directory (so the
/// rename is atomic): `.{name}.s3keep-partial`, or `.s3keep-{crc32c of the name, 8 hex
/// digits}.s3keep-partial` when that would exceed 255 bytes.
pub(crate) fn temp_name(final_name: &OsStr) -> OsString {
    let mut name = OsString::from(".");
    name.push(final_name);
    name.push(PARTIAL_SUFFIX);
    if name.len() <= NAME_MAX {
        return name;
    }
    let mut crc = Crc32c::new();
    crc.update(final_name.as_encoded_bytes());
    OsString::from(format!(".s3keep-{:08x}{PARTIAL_SUFFIX}", crc.value()))
}

/// Where the files of a backup go below a target directory (see
/// [`BackupStore::directory_plan`]). One JSON shape in every face (camelCase).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryPlan {
    /// Sum of the sizes recorded for the planned files, in bytes (Zeebe-written entries,
    /// which record none, count 0).
    pub bytes_total: u64,
    /// Number of planned files.
    pub files_total: u64,
    /// The files, in set order then metadata order.
    pub files: Vec<PlannedRestore>,
}

/// One file of a [`DirectoryPlan`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedRestore {
    /// The file set it belongs to.
    pub set: String,
    /// Its entry in the backup's metadata: `{name, size, crc32c}`.
    pub entry: FileEntry,
    /// Its path below the target, one element per component (never `..`, never empty).
    pub path: Vec<String>,
    /// The name of its temporary file, in the same directory as `path`.
    pub temp: String,
}

/// The resume check of a directory restore, on every target: whether `bytes`, the content
/// of a regular file already at the planned path, is `entry` (its recorded size and CRC32C).
/// The native restore reads the file itself; the npm package's `restoreToDirectory` hands
/// its bytes over. An entry without both (written by Zeebe) is never taken as restored.
///
/// # Errors
/// The stream's error (reading the file failed).
pub async fn is_restored(entry: &FileEntry, mut bytes: ByteStream) -> Result<bool> {
    let (Some(size), Some(expected)) = (entry.size, &entry.crc32c) else {
        return Ok(false);
    };
    let (mut crc, mut len) = (Crc32c::new(), 0u64);
    while let Some(chunk) = bytes.next().await {
        let chunk = chunk?;
        len += chunk.len() as u64;
        if len > size {
            return Ok(false);
        }
        crc.update(&chunk);
    }
    Ok(len == size && crc.to_base64() == *expected)
}

impl BackupStore {
    /// Plans a restore of backup `id` into a directory without touching any: the files of
    /// `sets` (`None`: every set), the set `root_set` straight into the target and every
    /// other set `NAME` below `NAME/`. `root_set` `None` means the only set of `sets` when
    /// exactly one is given, else `files`, as the CLI's `restore ID DIR [--set NAME]`.
    ///
    /// Sends the two GetObject requests of [`restore_plan`](Self::restore_plan).
    ///
    /// # Errors
    /// Those of `restore_plan`, and [`Error::InvalidInput`] for a set the backup lacks, two
    /// files on one path, or a file where another needs a directory.
    pub async fn directory_plan(
        &self,
        id: BackupId,
        sets: Option<Vec<String>>,
        root_set: Option<String>,
    ) -> Result<DirectoryPlan> {
        let metadata = self.restore_plan(id).await?;
        let root_set = root_set.or_else(|| match sets.as_deref() {
            Some([only]) => Some(only.clone()),
            _ => Some(super::DEFAULT_ROOT_SET.to_string()),
        });
        let items = plan_restore(&metadata, sets.as_deref(), root_set.as_deref())?;
        let files: Vec<PlannedRestore> = items.into_iter().map(PlannedRestore::from).collect();
        Ok(DirectoryPlan {
            bytes_total: files.iter().filter_map(|f| f.entry.size).sum(),
            files_total: files.len() as u64,
            files,
        })
    }
}

impl From<RestoreItem> for PlannedRestore {
    fn from(item: RestoreItem) -> Self {
        let path: Vec<String> = item
            .relative
            .components()
            .map(|c| match c {
                Component::Normal(name) => name.to_string_lossy().into_owned(),
                _ => unreachable!("planned paths have only normal components"),
            })
            .collect();
        let last = path.last().expect("a planned path names a file");
        let temp = temp_name(OsStr::new(last)).to_string_lossy().into_owned();
        Self {
            set: item.set,
            entry: item.entry,
            path,
            temp,
        }
    }
}

/// One file to restore: its set, its entry and its path relative to the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RestoreItem {
    pub set: String,
    pub entry: FileEntry,
    pub relative: PathBuf,
}

/// Picks the sets and maps every file to its path below the target (pure: no I/O).
///
/// # Errors
/// [`Error::InvalidInput`] for a requested set the backup lacks, a name that could escape
/// the target, or two files that would land on the same path (or a file where another
/// needs a directory).
pub(crate) fn plan_restore(
    metadata: &Metadata,
    sets: Option<&[String]>,
    root_set: Option<&str>,
) -> Result<Vec<RestoreItem>> {
    let chosen: BTreeSet<&str> = match sets {
        Some(requested) => {
            let mut chosen = BTreeSet::new();
            for set in requested {
                if !metadata.file_sets.contains_key(set) {
                    let have: Vec<&str> = metadata.file_sets.keys().map(String::as_str).collect();
                    return Err(Error::invalid_input(format!(
                        "the backup has no file set {set:?}; it has: {}",
                        if have.is_empty() {
                            "none".to_string()
                        } else {
                            have.join(", ")
                        }
                    )));
                }
                chosen.insert(set.as_str());
            }
            chosen
        }
        None => metadata.file_sets.keys().map(String::as_str).collect(),
    };
    let mut items = Vec::new();
    let mut files = HashSet::new();
    let mut dirs = HashSet::new();
    for set in chosen {
        validate_set_name(set)?;
        for entry in &metadata.file_sets[set] {
            validate_relative_path(&entry.name)?;
            let mut relative = PathBuf::new();
            if root_set != Some(set) {
                relative.push(set);
            }
            relative.extend(entry.name.split('/'));
            for dir in relative.ancestors().skip(1).filter(|d| !d.as_os_str().is_empty()) {
                dirs.insert(dir.to_path_buf());
            }
            if !files.insert(relative.clone()) {
                return Err(Error::invalid_input(format!(
                    "two files of the backup would both be restored to {}",
                    relative.display()
                )));
            }
            items.push(RestoreItem {
                set: set.to_string(),
                entry: entry.clone(),
                relative,
            });
        }
    }
    if let Some(clash) = files.iter().find(|f| dirs.contains(*f)) {
        return Err(Error::invalid_input(format!(
            "{} is both a file and a directory in the restored tree (a set restored beside the root set?); restore the sets separately",
            clash.display()
        )));
    }
    Ok(items)
}
