//! restore: SPEC §4 restore, on every target.
//!
//! - [`BackupStore::restore_plan`] checks that the backup is COMPLETED and returns its
//!   metadata, every set and file name re-validated (a tampered `metadata.json` is refused
//!   before anything is downloaded).
//! - [`BackupStore::open_file`] / [`BackupStore::read_file`] give one file as a stream or as
//!   bytes, CRC32C-verified: what the wasm binding hands to JS, file by file.
//! - [`BackupStore::restore`] (native) writes the files into a directory: each to a temporary
//!   name beside its final one, CRC32C checked while writing, then renamed; files already
//!   present with the right size and CRC32C are skipped, so a restore killed half-way is
//!   finished by running it again.

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::{Stream, StreamExt as _};

use super::layout::{validate_relative_path, validate_set_name};
use super::manifest::{FileEntry, Metadata, ZEEBE_SNAPSHOT_SET};
use super::progress::ProgressFn;
use super::{BackupId, BackupStore, StatusCode};
use crate::error::{Error, ErrorDetails, Result};
use crate::runtime::CancelToken;
use crate::s3::checksum::Crc32c;
use crate::s3::GetObjectOutput;

/// Where Zeebe's seed layout puts the `snapshot` set (SPEC §3: write `snapshot/`, read both).
pub(crate) const ZEEBE_SNAPSHOT_SET_ALT: &str = "snapshots";

/// The set the CLI restores into the target directory itself (`save ID DIR` saves `files`).
pub(crate) const DEFAULT_ROOT_SET: &str = "files";

/// Options of [`BackupStore::restore`].
///
/// The default restores every set: `files` straight into the target directory, every other
/// set `NAME` into `target/NAME/`, so that `save ID DIR` then `restore ID DIR2` makes `DIR2`
/// identical to `DIR`.
#[derive(Clone)]
pub struct RestoreOptions {
    /// The sets to restore; `None` restores all of them. A name the backup does not have is
    /// [`Error::InvalidInput`], before anything is downloaded.
    pub sets: Option<Vec<String>>,
    /// The set written straight into the target; the others go to `target/<set>/`.
    /// Default `Some("files")`; `None` puts every set in its own subdirectory.
    pub root_set: Option<String>,
    /// Called as bytes arrive and as files finish (skipped files count as done).
    pub progress: Option<Arc<dyn ProgressFn>>,
    /// Stops the restore: downloads stop, temporary files are removed, and
    /// [`Error::Cancelled`] is returned. Files already renamed into place stay.
    pub cancel: Option<CancelToken>,
}

impl Default for RestoreOptions {
    fn default() -> Self {
        Self {
            sets: None,
            root_set: Some(DEFAULT_ROOT_SET.to_string()),
            progress: None,
            cancel: None,
        }
    }
}

impl RestoreOptions {
    /// Restores only `set`, straight into the target (the CLI's `restore ID DIR --set NAME`).
    pub fn only_set(set: impl Into<String>) -> Self {
        let set = set.into();
        Self {
            sets: Some(vec![set.clone()]),
            root_set: Some(set),
            ..Self::default()
        }
    }
}

impl std::fmt::Debug for RestoreOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestoreOptions")
            .field("sets", &self.sets)
            .field("root_set", &self.root_set)
            .field("progress", &self.progress.is_some())
            .field("cancel", &self.cancel)
            .finish()
    }
}

/// What [`BackupStore::restore`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RestoreSummary {
    /// Files downloaded and renamed into place.
    pub files_restored: u64,
    /// Files already present with the right size and CRC32C, left as they were.
    pub files_skipped: u64,
    /// Bytes downloaded and written (skipped files not counted).
    pub bytes_restored: u64,
}

impl BackupStore {
    /// The metadata of a COMPLETED backup, ready to restore from: every set name and file
    /// name re-validated, as on save. Shared by [`restore`](Self::restore) and the bindings
    /// that restore file by file ([`open_file`](Self::open_file)).
    ///
    /// Sends two GetObject requests (`status.json`, `metadata.json`).
    ///
    /// # Errors
    /// - [`Error::NotFound`] when the backup has no `status.json`;
    /// - [`Error::BackupNotCompleted`] when it is IN_PROGRESS, FAILED or DELETING (`code` is
    ///   the status, `key` the backup id);
    /// - [`Error::Integrity`] when `metadata.json` is missing or is not metadata JSON;
    /// - [`Error::InvalidInput`] when it names a set or file that could escape the target
    ///   (`../x`, `/etc/passwd`, `a/../../b`...).
    pub async fn restore_plan(&self, id: BackupId) -> Result<Metadata> {
        let metadata = self.completed_metadata(id).await?;
        for (set, entries) in &metadata.file_sets {
            validate_set_name(set).map_err(|e| refused(&id, e))?;
            for entry in entries {
                validate_relative_path(&entry.name).map_err(|e| refused(&id, e))?;
            }
        }
        Ok(metadata)
    }

    /// The metadata of `id` if it is COMPLETED, names not checked (verify reports what it
    /// finds instead of refusing).
    pub(crate) async fn completed_metadata(&self, id: BackupId) -> Result<Metadata> {
        let status = self.read_status(&id).await?.ok_or_else(|| super::not_found(&id))?;
        let code = status.doc.status_code;
        if code != StatusCode::Completed {
            let reason = match &status.doc.failure_reason {
                Some(reason) => format!(" (failure reason: {reason})"),
                None => String::new(),
            };
            return Err(Error::BackupNotCompleted(ErrorDetails {
                message: format!("backup {id} is {code}{reason}, not COMPLETED"),
                code: Some(code.as_str().to_string()),
                key: Some(id.to_string()),
                ..ErrorDetails::default()
            }));
        }
        let key = self.layout.metadata_key(&id);
        self.read_metadata(&id).await?.ok_or_else(|| {
            Error::integrity(
                key.clone(),
                format!("backup {id} is COMPLETED but its {key} is missing: the backup is damaged"),
            )
        })
    }

    /// Opens one file of a backup as a verified stream: the body yields the file's bytes
    /// chunk by chunk, and ends with an [`Error::Integrity`] item instead of ending normally
    /// when the size or CRC32C differs from `entry` (for Zeebe-written entries, which carry
    /// neither, the bytes received are compared with the object's Content-Length).
    /// A consumer must therefore treat the data as good only once the stream has ended
    /// without error.
    ///
    /// `entry` comes from [`restore_plan`](Self::restore_plan) (which checked the status);
    /// `set` is the name of its set. For the `snapshot` set, a file missing under
    /// `snapshot/` is looked for under `snapshots/` (SPEC §3).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad set or file name; [`Error::NotFound`] when the object
    /// does not exist; transfer errors of GetObject.
    pub async fn open_file(&self, id: BackupId, set: &str, entry: &FileEntry) -> Result<GetObjectOutput> {
        validate_set_name(set)?;
        validate_relative_path(&entry.name)?;
        let (key, output) = self.get_file_object(&id, set, &entry.name).await?;
        let check = FileCheck::new(entry.size.or(Some(output.head.size)), entry.crc32c.clone());
        Ok(GetObjectOutput {
            head: output.head,
            body: Box::pin(VerifiedBody {
                body: output.body,
                key,
                check,
                done: false,
            }),
        })
    }

    /// Reads one file of a backup whole into memory, verified as in
    /// [`open_file`](Self::open_file). For small files; stream large ones with `open_file`.
    ///
    /// # Errors
    /// Those of `open_file`, and [`Error::Integrity`] on a size or CRC32C mismatch.
    pub async fn read_file(&self, id: BackupId, set: &str, entry: &FileEntry) -> Result<Bytes> {
        self.open_file(id, set, entry).await?.bytes().await
    }

    /// GetObject of a file, with SPEC §3's fallback from `snapshot/` to `snapshots/`.
    /// Returns the key that answered.
    pub(crate) async fn get_file_object(
        &self,
        id: &BackupId,
        set: &str,
        name: &str,
    ) -> Result<(String, GetObjectOutput)> {
        let key = self.layout.file_key(id, set, name);
        match self.client.get_object(&key, None).await {
            Ok(output) => Ok((key, output)),
            Err(Error::NotFound(d)) if set == ZEEBE_SNAPSHOT_SET => {
                let alt = self.layout.file_key(id, ZEEBE_SNAPSHOT_SET_ALT, name);
                match self.client.get_object(&alt, None).await {
                    Ok(output) => Ok((alt, output)),
                    // Name the key we write, not the legacy one.
                    Err(Error::NotFound(_)) => Err(Error::NotFound(d)),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }
}

/// A rejected name in `metadata.json`: says the metadata is at fault, not the caller.
fn refused(id: &BackupId, err: Error) -> Error {
    let mut details = err.details().clone();
    details.message = format!(
        "backup {id} has an unsafe metadata.json, nothing was restored: {}",
        details.message
    );
    Error::InvalidInput(details)
}

/// One file to restore: its set, its entry and its path relative to the target.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(target_arch = "wasm32", allow(dead_code))] // wasm restores file by file, no directory
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
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
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

/// What a downloaded file turned out to be, compared with its metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Mismatch {
    Size { expected: u64, actual: u64 },
    Checksum { expected: String, actual: String },
}

impl Mismatch {
    pub(crate) fn into_error(self, key: &str) -> Error {
        let message = match self {
            Mismatch::Size { expected, actual } => {
                format!("{key} gave {actual} bytes where {expected} were expected")
            }
            Mismatch::Checksum { expected, actual } => {
                format!("{key} has CRC32C {actual} where metadata.json says {expected}")
            }
        };
        Error::integrity(key, message)
    }
}

/// Size and CRC32C of bytes as they stream, against the expected ones.
#[derive(Clone, Debug)]
pub(crate) struct FileCheck {
    expected_size: Option<u64>,
    expected_crc32c: Option<String>,
    crc: Crc32c,
    seen: u64,
}

impl FileCheck {
    pub(crate) fn new(expected_size: Option<u64>, expected_crc32c: Option<String>) -> Self {
        Self {
            expected_size,
            expected_crc32c,
            crc: Crc32c::new(),
            seen: 0,
        }
    }

    /// Feeds a chunk; fails as soon as more bytes arrived than expected (so a wrong object
    /// cannot fill the disk).
    pub(crate) fn update(&mut self, chunk: &[u8]) -> Result<(), Mismatch> {
        self.crc.update(chunk);
        self.seen += chunk.len() as u64;
        match self.expected_size {
            Some(expected) if self.seen > expected => Err(Mismatch::Size {
                expected,
                actual: self.seen,
            }),
            _ => Ok(()),
        }
    }

    /// The verdict at the end of the bytes: size first, then CRC32C.
    pub(crate) fn finish(&self) -> Result<(), Mismatch> {
        if let Some(expected) = self.expected_size {
            if expected != self.seen {
                return Err(Mismatch::Size {
                    expected,
                    actual: self.seen,
                });
            }
        }
        if let Some(expected) = &self.expected_crc32c {
            let actual = self.crc.to_base64();
            if *expected != actual {
                return Err(Mismatch::Checksum {
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        Ok(())
    }
}

/// A GetObject body that checks size and CRC32C as it passes the chunks on, and turns a
/// mismatch into a final `Err` item.
struct VerifiedBody {
    body: crate::s3::ByteStream,
    key: String,
    check: FileCheck,
    done: bool,
}

impl Stream for VerifiedBody {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let this = &mut *self;
        match futures::ready!(this.body.poll_next_unpin(cx)) {
            Some(Ok(chunk)) => match this.check.update(&chunk) {
                Ok(()) => Poll::Ready(Some(Ok(chunk))),
                Err(mismatch) => {
                    this.done = true;
                    Poll::Ready(Some(Err(mismatch.into_error(&this.key))))
                }
            },
            Some(Err(e)) => {
                this.done = true;
                Poll::Ready(Some(Err(e)))
            }
            None => {
                this.done = true;
                match this.check.finish() {
                    Ok(()) => Poll::Ready(None),
                    Err(mismatch) => Poll::Ready(Some(Err(mismatch.into_error(&this.key)))),
                }
            }
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::ffi::OsString;
    use std::path::{Path, PathBuf};

    use futures::stream::{self, StreamExt as _, TryStreamExt as _};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::{plan_restore, RestoreItem, RestoreOptions, RestoreSummary};
    use crate::backup::manifest::FileEntry;
    use crate::backup::progress::Tracker;
    use crate::backup::{BackupId, BackupStore};
    use crate::error::{Error, ErrorDetails, Result};
    use crate::s3::checksum::Crc32c;

    /// Suffix of the temporary files a restore writes before renaming them into place.
    const PARTIAL_SUFFIX: &str = ".s3keep-partial";
    /// Most file systems limit one path component to 255 bytes.
    const NAME_MAX: usize = 255;
    /// Buffer between the network and the file, per file in flight.
    const WRITE_BUFFER: usize = 1 << 20;

    /// The temporary name a restore writes `final_name` under, in the same directory (so the
    /// rename is atomic): `.{name}.s3keep-partial`, or a hash of the name when that would
    /// exceed 255 bytes.
    pub(crate) fn temp_name(final_name: &std::ffi::OsStr) -> OsString {
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

    enum Outcome {
        Restored(u64),
        Skipped,
    }

    /// A temporary file removed when dropped unless it was renamed into place: a failed,
    /// cancelled or dropped download never leaves it behind.
    struct PartialFile {
        path: PathBuf,
        renamed: bool,
    }

    impl Drop for PartialFile {
        fn drop(&mut self) {
            if !self.renamed {
                // On Unix an in-flight write of a dropped tokio File goes to the unlinked
                // inode, so the name cannot come back.
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }

    impl BackupStore {
        /// Restores backup `id` into the directory `target` (created if missing) and returns
        /// what was done (SPEC §4 restore).
        ///
        /// Set `files` (or `options.root_set`) goes into `target` itself and every other set
        /// `NAME` into `target/NAME/`. Files are restored concurrently (`concurrency` at a
        /// time), each streamed to `.{name}.s3keep-partial` beside its final path, its size
        /// and CRC32C checked against `metadata.json` as it is written (for Zeebe-written
        /// backups, which record neither, its size against the object's), then renamed into
        /// place. A file already present with the right size and CRC32C is skipped, so
        /// running a restore again after a crash finishes it. Memory: 1 MiB of buffer per
        /// file in flight.
        ///
        /// Nothing is written before the status, the requested sets and every name in
        /// `metadata.json` have been checked: a tampered `../x` cannot escape `target`.
        ///
        /// # Errors
        /// - [`Error::NotFound`] / [`Error::BackupNotCompleted`] as in
        ///   [`restore_plan`](Self::restore_plan);
        /// - [`Error::InvalidInput`] for an unknown set in `options.sets` or a bad name;
        /// - [`Error::Integrity`] naming the key when a file's bytes do not match (its
        ///   temporary file is removed; nothing appears under its final name);
        /// - [`Error::Io`] for local files; [`Error::Cancelled`] when `options.cancel` fires;
        /// - transfer errors of GetObject.
        ///
        /// On any error the restore stops; files already renamed into place stay, and are
        /// skipped by the next run.
        pub async fn restore(&self, id: BackupId, target: &Path, options: RestoreOptions) -> Result<RestoreSummary> {
            let metadata = self.restore_plan(id).await?;
            let items = plan_restore(&metadata, options.sets.as_deref(), options.root_set.as_deref())?;
            if options.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
                return Err(cancelled(&id));
            }
            tokio::fs::create_dir_all(target)
                .await
                .map_err(|e| Error::io(target, e))?;
            let bytes_total = items.iter().filter_map(|i| i.entry.size).sum();
            let tracker = Tracker::new(bytes_total, items.len() as u64, options.progress.clone());
            let work = stream::iter(items)
                .map(|item| self.restore_item(id, target, item, &tracker))
                .buffer_unordered(self.config.concurrency)
                .try_fold(RestoreSummary::default(), |mut summary, outcome| async move {
                    match outcome {
                        Outcome::Restored(bytes) => {
                            summary.files_restored += 1;
                            summary.bytes_restored += bytes;
                        }
                        Outcome::Skipped => summary.files_skipped += 1,
                    }
                    Ok(summary)
                });
            match &options.cancel {
                Some(cancel) => {
                    let stop = async {
                        cancel.cancelled().await;
                        Err(cancelled(&id))
                    };
                    futures::pin_mut!(work, stop);
                    // Dropping the losing `work` drops every download in flight, and with
                    // them their temporary files.
                    futures::future::select(work, stop).await.factor_first().0
                }
                None => work.await,
            }
        }

        async fn restore_item(
            &self,
            id: BackupId,
            target: &Path,
            item: RestoreItem,
            tracker: &Tracker,
        ) -> Result<Outcome> {
            let path = target.join(&item.relative);
            if already_restored(&path, &item.entry).await? {
                tracker.add_bytes(item.entry.size.unwrap_or(0));
                tracker.file_done();
                return Ok(Outcome::Skipped);
            }
            let dir = path.parent().unwrap_or(target);
            tokio::fs::create_dir_all(dir).await.map_err(|e| Error::io(dir, e))?;
            let file_name = path.file_name().expect("validated names end in a file name");
            let mut partial = PartialFile {
                path: dir.join(temp_name(file_name)),
                renamed: false,
            };
            let file = tokio::fs::File::create(&partial.path)
                .await
                .map_err(|e| Error::io(&partial.path, e))?;
            let mut writer = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file);
            let mut body = self.open_file(id, &item.set, &item.entry).await?.body;
            let mut written = 0u64;
            while let Some(chunk) = body.next().await {
                let chunk = chunk?;
                writer
                    .write_all(&chunk)
                    .await
                    .map_err(|e| Error::io(&partial.path, e))?;
                written += chunk.len() as u64;
                tracker.add_bytes(chunk.len() as u64);
            }
            // No fsync: after a crash a truncated file under its final name fails the size
            // or CRC32C check of the next run and is downloaded again.
            writer.flush().await.map_err(|e| Error::io(&partial.path, e))?;
            drop(writer);
            tokio::fs::rename(&partial.path, &path)
                .await
                .map_err(|e| Error::io(&path, e))?;
            partial.renamed = true;
            tracker.file_done();
            Ok(Outcome::Restored(written))
        }
    }

    /// Whether `path` already holds the file: a regular file of the recorded size and
    /// CRC32C. Entries without a CRC32C (Zeebe-written) are always downloaded again.
    async fn already_restored(path: &Path, entry: &FileEntry) -> Result<bool> {
        let (Some(size), Some(expected)) = (entry.size, &entry.crc32c) else {
            return Ok(false);
        };
        let meta = match tokio::fs::symlink_metadata(path).await {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(Error::io(path, e)),
        };
        if !meta.is_file() || meta.len() != size {
            return Ok(false);
        }
        let mut file = tokio::fs::File::open(path).await.map_err(|e| Error::io(path, e))?;
        let mut crc = Crc32c::new();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = file.read(&mut buf).await.map_err(|e| Error::io(path, e))?;
            if n == 0 {
                break;
            }
            crc.update(&buf[..n]);
        }
        Ok(crc.to_base64() == *expected)
    }

    fn cancelled(id: &BackupId) -> Error {
        Error::Cancelled(
            ErrorDetails::message(format!("restore of backup {id} was cancelled")).with_key(id.to_string()),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;
    use crate::s3::checksum::crc32c_base64;

    fn entry(name: &str) -> FileEntry {
        FileEntry {
            name: name.into(),
            size: Some(1),
            crc32c: Some("AAAAAA==".into()),
        }
    }

    fn metadata(sets: &[(&str, &[&str])]) -> Metadata {
        let file_sets: BTreeMap<String, Vec<FileEntry>> = sets
            .iter()
            .map(|(set, names)| (set.to_string(), names.iter().map(|n| entry(n)).collect()))
            .collect();
        Metadata::new(
            &BackupId::new(0, 1, 0),
            file_sets,
            BTreeMap::new(),
            Default::default(),
            time::OffsetDateTime::UNIX_EPOCH,
        )
    }

    fn paths(items: &[RestoreItem]) -> Vec<String> {
        items
            .iter()
            .map(|i| i.relative.to_string_lossy().replace('\\', "/"))
            .collect()
    }

    #[test]
    fn root_set_goes_into_target_and_others_into_subdirectories() {
        let m = metadata(&[("files", &["a.txt", "d/b.txt"]), ("segments", &["1.log"])]);
        let items = plan_restore(&m, None, Some("files")).unwrap();
        assert_eq!(paths(&items), ["a.txt", "d/b.txt", "segments/1.log"]);
        let items = plan_restore(&m, None, None).unwrap();
        assert_eq!(paths(&items), ["files/a.txt", "files/d/b.txt", "segments/1.log"]);
    }

    #[test]
    fn one_set_restores_straight_into_target() {
        let m = metadata(&[("files", &["a"]), ("segments", &["1.log"])]);
        let o = RestoreOptions::only_set("segments");
        let items = plan_restore(&m, o.sets.as_deref(), o.root_set.as_deref()).unwrap();
        assert_eq!(paths(&items), ["1.log"]);
        assert_eq!(items[0].set, "segments");
    }

    #[test]
    fn unknown_set_is_invalid_input_naming_the_sets_there_are() {
        let m = metadata(&[("files", &["a"])]);
        let err = plan_restore(&m, Some(&["nope".to_string()]), None).unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)));
        assert!(err.to_string().contains("files"), "{err}");
    }

    #[test]
    fn escaping_names_in_metadata_are_refused() {
        for bad in ["../x", "/etc/passwd", "a/../../b", "a\\..\\b", ""] {
            let m = metadata(&[("files", &["ok", bad])]);
            let err = plan_restore(&m, None, Some("files")).unwrap_err();
            assert!(matches!(err, Error::InvalidInput(_)), "{bad:?}");
        }
        let m = metadata(&[("..", &["x"])]);
        assert!(plan_restore(&m, None, None).is_err());
    }

    #[test]
    fn clashing_destinations_are_refused() {
        // `files/segments/1.log` and set `segments`' `1.log` both land on segments/1.log.
        let m = metadata(&[("files", &["segments/1.log"]), ("segments", &["1.log"])]);
        assert!(plan_restore(&m, None, Some("files")).is_err());
        // A root file named like another set's directory.
        let m = metadata(&[("files", &["segments"]), ("segments", &["1.log"])]);
        assert!(plan_restore(&m, None, Some("files")).is_err());
        // Separately they are fine.
        assert!(plan_restore(&m, None, None).is_ok());
    }

    #[test]
    fn file_check_accepts_matching_bytes_in_any_chunking() {
        let data = b"hello world";
        let mut check = FileCheck::new(Some(11), Some(crc32c_base64(data)));
        check.update(b"hello").unwrap();
        check.update(b" world").unwrap();
        assert_eq!(check.finish(), Ok(()));
        // Empty file.
        assert_eq!(FileCheck::new(Some(0), Some("AAAAAA==".into())).finish(), Ok(()));
    }

    #[test]
    fn file_check_reports_size_then_checksum() {
        let mut short = FileCheck::new(Some(5), Some(crc32c_base64(b"hello")));
        short.update(b"hell").unwrap();
        assert_eq!(short.finish(), Err(Mismatch::Size { expected: 5, actual: 4 }));
        let mut long = FileCheck::new(Some(2), None);
        assert_eq!(long.update(b"abc"), Err(Mismatch::Size { expected: 2, actual: 3 }));
        let mut wrong = FileCheck::new(Some(5), Some(crc32c_base64(b"hello")));
        wrong.update(b"jello").unwrap();
        assert!(matches!(wrong.finish(), Err(Mismatch::Checksum { .. })));
        let err = wrong.finish().unwrap_err().into_error("0/1/0/files/a");
        assert!(matches!(err, Error::Integrity(_)));
        assert_eq!(err.key(), Some("0/1/0/files/a"));
        // Nothing expected (no size, no CRC): anything passes.
        let mut free = FileCheck::new(None, None);
        free.update(b"x").unwrap();
        assert_eq!(free.finish(), Ok(()));
    }

    #[tokio::test]
    async fn verified_body_ends_with_an_integrity_error_on_mismatch() {
        let body = |chunks: Vec<&'static [u8]>| -> crate::s3::ByteStream {
            Box::pin(futures::stream::iter(
                chunks.into_iter().map(|c| Ok(Bytes::from_static(c))),
            ))
        };
        let good = VerifiedBody {
            body: body(vec![b"hello ", b"world"]),
            key: "k".into(),
            check: FileCheck::new(Some(11), Some(crc32c_base64(b"hello world"))),
            done: false,
        };
        let items: Vec<Result<Bytes>> = good.collect().await;
        assert_eq!(items.len(), 2);
        assert!(items.iter().all(|i| i.is_ok()));
        let bad = VerifiedBody {
            body: body(vec![b"hello ", b"w0rld"]),
            key: "k".into(),
            check: FileCheck::new(Some(11), Some(crc32c_base64(b"hello world"))),
            done: false,
        };
        let items: Vec<Result<Bytes>> = bad.collect().await;
        assert_eq!(items.len(), 3);
        assert!(matches!(items[2], Err(Error::Integrity(_))));
    }

    /// The bindings run these futures on a multi-threaded runtime (pyo3, the CLI).
    #[allow(dead_code)]
    fn futures_are_send(store: &BackupStore, target: &Path, entry: &FileEntry) {
        fn is_send<T: Send>(_: T) {}
        let id = BackupId::new(0, 0, 0);
        is_send(store.restore(id, target, RestoreOptions::default()));
        is_send(store.restore_plan(id));
        is_send(store.open_file(id, "files", entry));
        is_send(store.read_file(id, "files", entry));
        is_send(store.verify(id, true));
    }

    #[test]
    fn temp_names_stay_beside_and_short() {
        assert_eq!(native::temp_name("a.txt".as_ref()), ".a.txt.s3keep-partial");
        let long = "x".repeat(250);
        let name = native::temp_name(Path::new(&long).as_os_str());
        assert!(name.len() <= 255);
        assert!(name.to_string_lossy().ends_with(".s3keep-partial"));
    }
}
