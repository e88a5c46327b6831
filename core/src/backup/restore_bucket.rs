//! restore into a bucket and prefix (§13), on every target (wasm32 too).
//!
//! The sets map to keys as [`BackupStore::restore`] maps them to paths: the root set
//! (`files` by default) straight under the prefix, every other set `NAME` under
//! `PREFIX/NAME/`. Each file is read from the store as a verified stream
//! ([`BackupStore::open_file`]: size and CRC32C checked) and uploaded as it comes, memory
//! bounded by the part size × `concurrency` as in a save (§5): a file up to the multipart
//! threshold by one PutObject sent once the whole file has arrived and checked; a larger one
//! by multipart upload, completed only after its last byte arrived and was checked. So an
//! object appears under its key once, complete; a failure aborts the open uploads.

use std::sync::{Arc, Mutex};

use futures::stream::{self, StreamExt as _, TryStreamExt as _};
use tokio::sync::Semaphore;

use super::layout::validate_key_length;
use super::progress::Tracker;
use super::remote::BucketUrl;
use super::restore::plan_restore;
use super::save::{abort_uploads, acquire, read_all, OpenUploads, Transfer};
use super::source::{ChunkReader, Source};
use super::{BackupId, BackupStore, RestoreOptions};
use crate::error::{Error, ErrorDetails, Result};
use crate::report::RestoreReport;
use crate::s3::S3Client;

impl BackupStore {
    /// Restores backup `id` into the bucket and prefix `target` (module documentation) and
    /// returns what was done. Credentials of the target: docs/OPTIONS.md, "S3 sources and
    /// targets" (the store's only on the store's endpoint).
    ///
    /// Nothing is written before the status, the requested sets, every name and every
    /// target key's length have been checked.
    ///
    /// # Errors
    /// As [`restore`](Self::restore) for the backup; [`Error::Integrity`] when a file's
    /// bytes do not match (nothing is written under its key); the target's transfer errors.
    pub async fn restore_to_bucket(
        &self,
        id: BackupId,
        target: &BucketUrl,
        options: RestoreOptions,
    ) -> Result<RestoreReport> {
        let metadata = self.restore_plan(id).await?;
        let items = plan_restore(&metadata, options.sets.as_deref(), options.root_set.as_deref())?;
        let client = target.client(&self.config)?;
        let mut planned = Vec::with_capacity(items.len());
        for item in items {
            let mut key = target.prefix().to_string();
            if options.root_set.as_deref() != Some(item.set.as_str()) {
                key.push_str(&item.set);
                key.push('/');
            }
            key.push_str(&item.entry.name);
            validate_key_length(&key)?;
            planned.push((key, item));
        }
        let bytes_total = planned.iter().filter_map(|(_, i)| i.entry.size).sum();
        let transfer = Transfer {
            id,
            permits: Arc::new(Semaphore::new(self.config.concurrency)),
            uploads: Arc::new(OpenUploads::default()),
            tracker: Tracker::new(bytes_total, planned.len() as u64, options.progress.clone()),
            lock: Mutex::new(None),
        };
        let work = stream::iter(planned)
            .map(|(key, item)| {
                let (client, transfer) = (&client, &transfer);
                async move {
                    let output = self.open_file(id, &item.set, &item.entry).await?;
                    let size = item.entry.size.unwrap_or(output.head.size);
                    let source = Source::Stream {
                        size: Some(size),
                        stream: output.body,
                    };
                    let reader = ChunkReader::new_all(vec![(source, key.clone())]).await?.pop();
                    let reader = reader.ok_or_else(|| Error::Io(ErrorDetails::message("no reader")))?;
                    let written = self.upload_to(client, transfer, &key, reader).await?;
                    transfer.tracker.file_done();
                    Ok::<_, Error>(written)
                }
            })
            .buffer_unordered(self.config.concurrency)
            .try_fold(RestoreReport::empty(id), |mut report, bytes| async move {
                report.files_restored += 1;
                report.bytes_restored += bytes;
                Ok(report)
            });
        let result = match &options.cancel {
            Some(cancel) => {
                let stop = Box::pin(async {
                    cancel.cancelled().await;
                    Err(Error::Cancelled(ErrorDetails::message(format!(
                        "restore of backup {id} was cancelled"
                    ))))
                });
                futures::future::select(Box::pin(work), stop).await.factor_first().0
            }
            None => work.await,
        };
        if result.is_err() {
            abort_uploads(&client, &transfer.uploads).await;
        }
        result
    }

    /// One file to `key` of `client`'s bucket: PutObject up to the threshold, multipart
    /// above. Returns the bytes written.
    async fn upload_to(
        &self,
        client: &S3Client,
        transfer: &Transfer,
        key: &str,
        mut reader: ChunkReader,
    ) -> Result<u64> {
        let threshold = self.config.multipart_threshold;
        let (size, _crc) = if reader.size().is_some_and(|size| size <= threshold) {
            let permit = acquire(&transfer.permits).await;
            let body = read_all(&mut reader, threshold).await?;
            self.put_small(client, transfer, key, body, permit).await?
        } else {
            self.upload_multipart(client, transfer, key, reader).await?
        };
        Ok(size)
    }
}
