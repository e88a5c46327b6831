//! restore: §4 restore, on every target.
//!
//! - [`BackupStore::restore_plan`] checks that the backup is COMPLETED and returns its
//!   metadata, every set and file name re-validated (a tampered `metadata.json` is refused
//!   before anything is downloaded).
//! - [`BackupStore::open_file`] / [`BackupStore::read_file`] give one file as a stream or as
//!   bytes, CRC32C-verified: what the wasm binding hands to JS, file by file.
//! - [`BackupStore::restore`] (native) writes the files into a directory: each to a temporary
//!   name beside its final one, CRC32C checked while writing, then renamed; files already
//!   present with the right size and CRC32C are skipped, so a restore killed half-way is
//!   finished by running it again. It never follows a link below the target directory
//!   (`restore_native.rs` says how).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::{Stream, StreamExt as _};

use super::layout::{validate_relative_path, validate_set_name};
use super::manifest::{FileEntry, Metadata, StatusDoc, MAX_STATUS_BYTES, ZEEBE_SNAPSHOT_SET};
use super::progress::ProgressFn;
use super::{BackupId, BackupStore, StatusCode};
use crate::error::{Error, ErrorDetails, Result};
use crate::runtime::CancelToken;
use crate::s3::checksum::Crc32c;
use crate::s3::GetObjectOutput;

/// Where Zeebe's layout puts the `snapshot` set (§3: write `snapshot/`, read both).
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
        self.bucket_ready().await?;
        let metadata = self.completed_metadata(id).await?;
        if metadata.is_format2() {
            // The manifest's names were checked as it was read.
            return self.format2_plan(id, metadata).await;
        }
        self.remember_format1(id);
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
    ///
    /// On a store with Object Lock (§12) the backup is read as first written
    /// (`format2/pinned.rs`): asked when the bucket keeps versions or the ordinary read fails.
    pub(crate) async fn completed_metadata(&self, id: BackupId) -> Result<Metadata> {
        let (result, versioned) = self.latest_completed_metadata(id).await;
        #[cfg(not(target_arch = "wasm32"))]
        {
            // What an attacker's delete markers or overwrites produce; not transport errors.
            let tampered = matches!(
                result,
                Err(Error::NotFound(_) | Error::BackupNotCompleted(_) | Error::Integrity(_))
            );
            if (versioned || tampered) && self.read_pinned(versioned).await? {
                return self.pinned_completed_metadata(id).await;
            }
        }
        #[cfg(target_arch = "wasm32")]
        let _ = versioned;
        result
    }

    /// [`completed_metadata`](Self::completed_metadata) from the current versions, and
    /// whether the status came from a versioned bucket (`x-amz-version-id` other than `null`).
    async fn latest_completed_metadata(&self, id: BackupId) -> (Result<Metadata>, bool) {
        let key = self.layout.status_key(&id);
        let (bytes, head) = match self.get_small(&key, MAX_STATUS_BYTES, "status object").await {
            Ok(Some(found)) => found,
            Ok(None) => return (Err(super::not_found(&id)), false),
            Err(e) => return (Err(e), false),
        };
        let versioned = head.version_id.as_deref().is_some_and(|v| v != "null");
        let status = match StatusDoc::from_json(&key, &bytes) {
            Ok(doc) => doc,
            Err(e) => return (Err(e), versioned),
        };
        (self.metadata_if_completed(id, status).await, versioned)
    }

    async fn metadata_if_completed(&self, id: BackupId, status: StatusDoc) -> Result<Metadata> {
        let status = super::StatusObject {
            doc: status,
            etag: None,
            last_modified: None,
        };
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
    /// `snapshot/` is looked for under `snapshots/` (§3).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad set or file name; [`Error::NotFound`] when the object
    /// does not exist; transfer errors of GetObject.
    pub async fn open_file(&self, id: BackupId, set: &str, entry: &FileEntry) -> Result<GetObjectOutput> {
        validate_set_name(set)?;
        validate_relative_path(&entry.name)?;
        if let Some(session) = self.session_if_format2(id).await? {
            return self.format2_open_file(session, set, entry);
        }
        let (key, output) = self.get_file_object(&id, set, &entry.name).await?;
        let check = FileCheck::new(entry.size.or(Some(output.head.size)), entry.crc32c.clone());
        Ok(GetObjectOutput {
            head: output.head,
            body: verified_body(output.body, key, check),
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

    /// GetObject of a file, with §3's fallback from `snapshot/` to `snapshots/`.
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

/// `body` checked as it passes: ends with an [`Error::Integrity`] naming `key` instead of
/// ending normally when its size or CRC32C is not what `check` expects.
pub(crate) fn verified_body(body: crate::s3::ByteStream, key: String, check: FileCheck) -> crate::s3::ByteStream {
    Box::pin(VerifiedBody {
        body,
        key,
        check,
        done: false,
    })
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

#[path = "restore_plan.rs"]
mod plan;
pub use plan::{is_restored, DirectoryPlan, PlannedRestore};
#[cfg_attr(target_arch = "wasm32", allow(unused_imports))] // the directory restore is native
pub(crate) use plan::{plan_restore, temp_name, RestoreItem};

#[cfg(not(target_arch = "wasm32"))]
#[path = "restore_native.rs"]
pub(crate) mod native;

#[cfg(test)]
#[path = "restore_tests.rs"]
mod tests;
