//! Lock objects `{prefix}locks/{id}` (docs/FORMAT.md, "Locks"): the shared side, which a
//! save holds so that garbage collection (which takes the exclusive lock) never removes a
//! pack the save relies on.
//!
//! A save creates its lock, lists `locks/` (list after create: two racing takers see each
//! other) and backs off while a fresh exclusive lock stands; it refreshes its lock every
//! [`LOCK_REFRESH`] with `If-Match` (a lock someone broke is never silently recreated); it
//! checks the lock before writing COMPLETED; it deletes the lock when done.
//!
//! Fresh or stale is judged by the server's clock only: a lock's age is the server's time
//! (our clock corrected by the skew seen in the answers' `Date`) minus its `LastModified`.

use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::id::LockId;
use crate::backup::layout::key_inside;
use crate::backup::{BackupId, BackupStore};
use crate::error::{Error, ErrorDetails, Result};
use crate::runtime::{self, Stopwatch};
use crate::s3::{PutOptions, S3Client};

/// A lock not refreshed for this long is stale: anyone may break it.
pub const LOCK_STALE: Duration = Duration::from_secs(30 * 60);
/// How often a holder refreshes its lock.
pub const LOCK_REFRESH: Duration = Duration::from_secs(5 * 60);
/// How long a save waits for an exclusive lock (a prune) to go before it gives up.
pub const LOCK_WAIT: Duration = Duration::from_secs(5 * 60);
/// The largest lock object read.
const MAX_LOCK_BYTES: usize = 64 * 1024;

/// Shared (saves, restores, verifies) or exclusive (garbage collection).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LockKind {
    /// Many at once.
    Shared,
    /// Alone.
    Exclusive,
}

/// The content of a lock object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockDoc {
    /// Shared or exclusive.
    pub kind: LockKind,
    /// `save`, `restore`, `verify`, `delete` or `prune`.
    pub operation: String,
    /// The backup concerned, `P/C/N`, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_id: Option<String>,
    /// The holder's host name.
    #[serde(default)]
    pub host: String,
    /// The holder's process id (0 where there is none, as in WebAssembly).
    #[serde(default)]
    pub pid: u32,
    /// When the lock was taken, by the holder's clock (informative only).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
    /// `s3keep/x.y.z`.
    #[serde(default)]
    pub writer: String,
}

impl LockDoc {
    fn describe(&self, age: Duration) -> String {
        let backup = self
            .backup_id
            .as_deref()
            .map(|b| format!(" of {b}"))
            .unwrap_or_default();
        format!(
            "{} {}{backup} by {} pid {} ({} s old)",
            match self.kind {
                LockKind::Shared => "shared",
                LockKind::Exclusive => "exclusive",
            },
            self.operation,
            crate::format2::id::printable(&self.host),
            self.pid,
            age.as_secs()
        )
    }
}

/// A shared lock held by this process. Refresh it with [`SharedLock::keep_fresh`], check it
/// with [`SharedLock::check`], delete it with [`SharedLock::release`].
#[derive(Debug)]
pub(crate) struct SharedLock {
    key: String,
    body: Bytes,
    /// The ETag of the last write (every write holds the same bytes, so it stays the same
    /// while nobody else writes the object; a retried refresh whose first try landed
    /// therefore still matches).
    etag: Mutex<String>,
}

impl BackupStore {
    /// Takes a shared lock for `operation` on `id`: PutObject, then list `locks/`; while a
    /// fresh exclusive lock stands, deletes its own, waits (jittered, growing up to 10 s)
    /// and tries again, for at most [`LOCK_WAIT`].
    ///
    /// # Errors
    /// [`Error::Conflict`] naming the holders when the store stayed locked; transfer errors.
    pub(crate) async fn take_shared_lock(&self, operation: &str, id: &BackupId) -> Result<SharedLock> {
        let doc = LockDoc {
            kind: LockKind::Shared,
            operation: operation.to_string(),
            backup_id: Some(id.to_string()),
            host: host_name(),
            pid: process_id(),
            created_at: Some(runtime::now_utc()),
            writer: crate::WRITER.to_string(),
        };
        let body = Bytes::from(serde_json::to_vec(&doc).expect("a lock always serialises"));
        let stopwatch = Stopwatch::start();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let key = self.f2().layout.lock_key(&LockId::random());
            let options = PutOptions {
                content_type: Some("application/json".into()),
                ..PutOptions::default()
            };
            let written = self.client.put_object(&key, body.clone(), &options).await?;
            let holders = match self.exclusive_holders(&key).await {
                Ok(holders) => holders,
                Err(e) => {
                    let _ = self.client.delete_object(&key).await;
                    return Err(e);
                }
            };
            if holders.is_empty() {
                return Ok(SharedLock {
                    key,
                    body,
                    etag: Mutex::new(written.etag),
                });
            }
            self.client.delete_object(&key).await?;
            if stopwatch.elapsed() >= LOCK_WAIT {
                return Err(Error::Conflict(ErrorDetails::message(format!(
                    "the store is busy: {}; waited {} s for it to finish",
                    holders.join("; "),
                    stopwatch.elapsed().as_secs()
                ))));
            }
            let cap = Duration::from_millis(500u64.saturating_mul(1 << attempt.min(5))).min(Duration::from_secs(10));
            runtime::sleep(cap.mul_f64(0.5 + fastrand::f64() / 2.0)).await;
        }
    }

    /// Fresh exclusive locks other than `own`, described for messages. A lock object that
    /// cannot be read counts as exclusive while fresh (it may be a newer writer's).
    async fn exclusive_holders(&self, own: &str) -> Result<Vec<String>> {
        let prefix = self.f2().layout.locks_prefix();
        let options = crate::s3::ListOptions {
            prefix: prefix.clone(),
            ..Default::default()
        };
        let pages: Vec<_> = futures::TryStreamExt::try_collect(self.client.list_objects_v2(options)).await?;
        let now = server_now(&self.client);
        let mut holders = Vec::new();
        for object in pages.into_iter().flat_map(|p| p.objects) {
            if object.key == own || !key_inside(&prefix, &object.key) {
                continue;
            }
            let modified = OffsetDateTime::parse(&object.last_modified, &time::format_description::well_known::Rfc3339);
            let age = match modified {
                Ok(modified) => age_of(now, modified),
                Err(_) => Duration::ZERO,
            };
            if age >= LOCK_STALE {
                continue;
            }
            let too_large = || Error::integrity(&object.key, "lock object larger than 64 KiB");
            let doc = match self
                .client
                .get_object_bytes(&object.key, MAX_LOCK_BYTES, too_large)
                .await
            {
                Ok((_, bytes)) => serde_json::from_slice::<LockDoc>(&bytes).ok(),
                // Released between the listing and now.
                Err(Error::NotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            match doc {
                Some(doc) if doc.kind == LockKind::Shared => {}
                Some(doc) => holders.push(doc.describe(age)),
                None => holders.push(format!(
                    "an unreadable lock object {} ({} s old)",
                    object.key,
                    age.as_secs()
                )),
            }
        }
        Ok(holders)
    }
}

impl SharedLock {
    /// Rewrites the lock with `If-Match` on its last ETag, which moves its LastModified.
    ///
    /// # Errors
    /// [`Error::Conflict`] when the lock is gone or was replaced (someone broke it).
    pub async fn refresh(&self, client: &S3Client) -> Result<()> {
        let etag = self.etag.lock().expect("not poisoned").clone();
        let options = PutOptions {
            if_match: Some(etag),
            content_type: Some("application/json".into()),
            ..PutOptions::default()
        };
        match client.put_object(&self.key, self.body.clone(), &options).await {
            Ok(written) => {
                *self.etag.lock().expect("not poisoned") = written.etag;
                Ok(())
            }
            Err(Error::Conflict(_) | Error::NotFound(_)) => Err(self.broken("it was removed or replaced")),
            Err(e) => Err(e),
        }
    }

    /// Refreshes the lock every [`LOCK_REFRESH`] until a refresh fails; returns that error.
    /// Run it beside the work it protects, and stop the work when it returns.
    pub async fn keep_fresh(&self, client: &S3Client) -> Error {
        loop {
            runtime::sleep(LOCK_REFRESH).await;
            if let Err(e) = self.refresh(client).await {
                return e;
            }
        }
    }

    /// Before an irreversible step: the lock must exist, hold our last ETag and be fresh by
    /// the server's clock.
    ///
    /// # Errors
    /// [`Error::Conflict`] when it was removed, replaced or went stale.
    pub async fn check(&self, client: &S3Client) -> Result<()> {
        let head = match client.head_object(&self.key).await {
            Ok(head) => head,
            Err(Error::NotFound(_)) => return Err(self.broken("it was removed")),
            Err(e) => return Err(e),
        };
        let ours = self.etag.lock().expect("not poisoned").clone();
        if head.etag.as_deref() != Some(ours.as_str()) {
            return Err(self.broken("it was replaced"));
        }
        let modified = head
            .last_modified
            .as_deref()
            .and_then(|d| httpdate::parse_http_date(d).ok())
            .map(OffsetDateTime::from);
        if let Some(modified) = modified {
            let age = age_of(server_now(client), modified);
            if age >= LOCK_STALE {
                return Err(self.broken(&format!(
                    "it was last refreshed {} s ago, past the {} s after which others may break it",
                    age.as_secs(),
                    LOCK_STALE.as_secs()
                )));
            }
        }
        Ok(())
    }

    /// Deletes the lock (best effort: a lock left behind goes stale).
    pub async fn release(&self, client: &S3Client) {
        if let Err(e) = client.delete_object(&self.key).await {
            tracing::warn!(key = %self.key, error = %e, "could not delete a lock; it goes stale in 30 minutes");
        }
    }

    fn broken(&self, why: &str) -> Error {
        Error::Conflict(ErrorDetails::message(format!(
            "this save's lock {} no longer stands ({why}): a prune may have removed data it relies on, so it stops",
            self.key
        )))
        .with_key(self.key.clone())
    }
}

/// The server's time: ours corrected by the skew its last `Date` showed.
fn server_now(client: &S3Client) -> OffsetDateTime {
    let skew = client.observed_clock_skew_ms().unwrap_or(0);
    runtime::now_utc() + time::Duration::milliseconds(skew)
}

fn age_of(now: OffsetDateTime, modified: OffsetDateTime) -> Duration {
    Duration::try_from(now - modified).unwrap_or(Duration::ZERO)
}

fn host_name() -> String {
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown".to_string())
    }
    #[cfg(target_arch = "wasm32")]
    {
        "wasm".to_string()
    }
}

fn process_id() -> u32 {
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::process::id()
    }
    #[cfg(target_arch = "wasm32")]
    {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn lock_documents_have_the_documented_shape() {
        let doc = LockDoc {
            kind: LockKind::Exclusive,
            operation: "prune".into(),
            backup_id: None,
            host: "db-1".into(),
            pid: 42,
            created_at: Some(datetime!(2026-11-30 10:00:00 UTC)),
            writer: "s3keep/0.1.0".into(),
        };
        let json: serde_json::Value = serde_json::to_value(&doc).unwrap();
        assert_eq!(json["kind"], "exclusive");
        assert_eq!(json["operation"], "prune");
        assert_eq!(json["createdAt"], "2026-11-30T10:00:00Z");
        assert!(json.get("backupId").is_none());
        let back: LockDoc = serde_json::from_value(json).unwrap();
        assert_eq!(back, doc);
        assert_eq!(
            back.describe(Duration::from_secs(7)),
            "exclusive prune by db-1 pid 42 (7 s old)"
        );
        let shared: LockDoc = serde_json::from_str(r#"{"kind":"shared","operation":"save"}"#).unwrap();
        assert_eq!(shared.kind, LockKind::Shared);
    }

    #[test]
    fn ages_are_never_negative() {
        let t = datetime!(2026-11-30 10:00:00 UTC);
        assert_eq!(age_of(t, t + time::Duration::seconds(5)), Duration::ZERO);
        assert_eq!(age_of(t + time::Duration::seconds(5), t), Duration::from_secs(5));
    }
}
