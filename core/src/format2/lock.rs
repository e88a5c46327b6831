//! Lock objects `{prefix}locks/{id}` (docs/FORMAT.md, "Locks"): saves hold shared locks,
//! garbage collection (prune) holds the exclusive lock, so that GC never removes a pack a
//! save relies on.
//!
//! A taker creates its lock with `If-None-Match: *`, lists `locks/` (list after create: two
//! racing takers see each other) and backs off while a conflicting fresh lock stands; it
//! refreshes its lock every [`LockTiming::refresh`] with `If-Match` (a lock someone broke is
//! never silently recreated); it checks the lock before every irreversible step; it deletes
//! the lock when done.
//!
//! An exclusive taker that meets only shared locks keeps its own while they finish (for at
//! most [`EXCLUSIVE_INTENT`]): new shared takers see it and wait, so a stream of saves that
//! overlap each other cannot starve prune. Between exclusive takers the smaller key goes
//! first; the others back off.
//!
//! Fresh or stale is judged by the server's clock only: a lock's age is the server's time
//! (our clock corrected by the skew seen in the answers' `Date`) minus its `LastModified`.
//! A holder gives up its lock (stops, fails) once it could not refresh it for half the
//! stale limit: the other half is the margin between its last check and the moment anyone
//! may judge the lock stale.

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

/// The longest stale limit: a lock not refreshed for this long is stale whatever the
/// store's `stale_after` says (§11: 30 minutes).
pub const LOCK_STALE_MAX: Duration = Duration::from_secs(30 * 60);
/// The shortest stale limit (a smaller `stale_after` is raised to it).
const LOCK_STALE_MIN: Duration = Duration::from_secs(1);
/// How long a taker waits for conflicting locks to go before it gives up (`busy`).
pub const LOCK_WAIT: Duration = Duration::from_secs(5 * 60);
/// How far a lock's age by the server's clock may be off: `Last-Modified` and `Date` are
/// HTTP dates, whole seconds (RFC 9110 §5.6.7).
const SERVER_AGE_SLACK: Duration = Duration::from_secs(1);
/// The largest lock object read.
const MAX_LOCK_BYTES: usize = 64 * 1024;
/// How long an exclusive taker keeps its lock while the shared locks it met are released
/// (new shared takers wait meanwhile); then it steps back, so that saves waiting behind it
/// are not held up by one long save, and tries again until [`LOCK_WAIT`].
pub const EXCLUSIVE_INTENT: Duration = Duration::from_secs(60);
/// The longest pause between two looks at the locks while an exclusive taker waits.
const INTENT_POLL_MAX: Duration = Duration::from_secs(2);

/// The times of the lock protocol, all derived from one stale limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockTiming {
    /// A lock not refreshed for this long (by the server's clock) is stale: anyone may
    /// ignore it, and an exclusive taker deletes it.
    pub stale: Duration,
    /// How often a holder refreshes its lock (a sixth of `stale`).
    pub refresh: Duration,
    /// A holder's lock must have been written less than this long ago for the holder to
    /// go on (half of `stale`): refresh and check fail beyond it.
    pub hold: Duration,
}

impl LockTiming {
    /// The timing of a stale limit of `min(stale_after, 30 min)` (at least 1 s).
    pub fn from_stale_after(stale_after: Duration) -> Self {
        let stale = stale_after.clamp(LOCK_STALE_MIN, LOCK_STALE_MAX);
        Self {
            stale,
            refresh: stale / 6,
            hold: stale / 2,
        }
    }
}

/// Shared (saves) or exclusive (garbage collection).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LockKind {
    /// Many at once.
    Shared,
    /// Alone.
    Exclusive,
}

impl LockKind {
    fn as_str(self) -> &'static str {
        match self {
            LockKind::Shared => "shared",
            LockKind::Exclusive => "exclusive",
        }
    }
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
    /// The holder's PID namespace (Linux: the target of `/proc/self/ns/pid`, such as
    /// `pid:[4026531836]`), so that `pid` is only looked up where it means the same process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_namespace: Option<String>,
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
            .map(|b| format!(" of {}", crate::format2::id::printable(b)))
            .unwrap_or_default();
        format!(
            "{} {}{backup} by {} pid {} ({} s old)",
            self.kind.as_str(),
            crate::format2::id::printable(&self.operation),
            crate::format2::id::printable(&self.host),
            self.pid,
            age.as_secs()
        )
    }
}

/// A lock held by this process. Refresh it with [`Lock::keep_fresh`], check it with
/// [`Lock::check`], delete it with [`Lock::release`].
#[derive(Debug)]
pub(crate) struct Lock {
    key: String,
    body: Bytes,
    kind: LockKind,
    operation: String,
    timing: LockTiming,
    /// The ETag of the last write (every write holds the same bytes, so it stays the same
    /// while nobody else writes the object; a retried refresh whose first try landed
    /// therefore still matches).
    etag: Mutex<String>,
    /// Started just before the last successful write: the lock's LastModified is later,
    /// so this overstates its age (the safe side).
    written: Mutex<Written>,
}

/// When a lock was last written, by two clocks: the monotonic one (immune to clock
/// changes) and the wall clock (which, unlike Linux's monotonic clock, also runs while the
/// machine sleeps). Its age is the larger of the two.
#[derive(Clone, Copy, Debug)]
struct Written {
    stopwatch: Stopwatch,
    wall: std::time::SystemTime,
}

impl Written {
    fn now() -> Self {
        Self {
            stopwatch: Stopwatch::start(),
            wall: runtime::now(),
        }
    }

    fn age(&self) -> Duration {
        let wall = runtime::now().duration_since(self.wall).unwrap_or(Duration::ZERO);
        self.stopwatch.elapsed().max(wall)
    }
}

/// One lock object as a taker sees it.
struct Seen {
    key: String,
    age: Duration,
    /// `None`: unreadable (counts as exclusive while fresh).
    doc: Option<LockDoc>,
}

/// A fresh lock of someone else that stands in a taker's way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Holder {
    /// Its object key.
    pub key: String,
    /// Exclusive, or unreadable (which counts as exclusive).
    pub exclusive: bool,
    /// Who holds it, for messages.
    pub description: String,
}

/// What a taker does once it has created its lock and listed the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// No conflicting lock: the lock is taken.
    Take,
    /// Keep the lock and look again: an exclusive taker that only waits for shared locks
    /// (or for exclusive ones that yield to it) to go.
    Wait,
    /// Delete the lock, back off and try again.
    BackOff,
}

/// The taker's next step. A shared taker backs off from any conflict. An exclusive taker
/// waits, keeping its lock, unless an exclusive (or unreadable) lock with a smaller key
/// stands: that one goes first. Keys are compared, not ages: every taker sees the same
/// keys, so two exclusive takers never both wait for each other, and a refresh (which moves
/// a lock's `LastModified`) never changes the order.
pub(crate) fn next_step(kind: LockKind, own: &str, holders: &[Holder]) -> Next {
    if holders.is_empty() {
        Next::Take
    } else if kind == LockKind::Exclusive && !holders.iter().any(|h| h.exclusive && h.key.as_str() < own) {
        Next::Wait
    } else {
        Next::BackOff
    }
}

impl BackupStore {
    /// The lock timing of this store (from its `stale_after` option).
    pub(crate) fn lock_timing(&self) -> LockTiming {
        LockTiming::from_stale_after(self.config.stale_after)
    }

    /// Takes a shared lock for `operation` on `id` (see [`BackupStore::take_lock`]).
    pub(crate) async fn take_shared_lock(&self, operation: &str, id: &BackupId) -> Result<Lock> {
        self.take_lock(LockKind::Shared, operation, Some(id)).await
    }

    /// Takes a lock: PutObject with `If-None-Match: *`, then list `locks/`. A shared lock
    /// conflicts with a fresh exclusive one; an exclusive lock with any other fresh lock.
    /// On conflict ([`next_step`]) a shared taker deletes its own, waits (jittered, growing
    /// up to 10 s) and tries again, for at most [`LOCK_WAIT`]; an exclusive taker first
    /// keeps its lock (refreshed) and looks again while only shared locks, or exclusive
    /// ones that yield to it, stand, for at most [`EXCLUSIVE_INTENT`], and then backs off
    /// the same way. An exclusive taker deletes the stale locks it sees (their holders have
    /// stopped: see [`LockTiming::hold`]), with a warning naming them.
    ///
    /// # Errors
    /// [`Error::Conflict`] naming the holders when the store stayed busy; transfer errors.
    pub(crate) async fn take_lock(&self, kind: LockKind, operation: &str, id: Option<&BackupId>) -> Result<Lock> {
        let doc = LockDoc {
            kind,
            operation: operation.to_string(),
            backup_id: id.map(ToString::to_string),
            host: host_name(),
            pid: process_id(),
            pid_namespace: pid_namespace(),
            created_at: Some(runtime::now_utc()),
            writer: crate::WRITER.to_string(),
        };
        let body = Bytes::from(serde_json::to_vec(&doc).expect("a lock always serialises"));
        let timing = self.lock_timing();
        let stopwatch = Stopwatch::start();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let key = self.f2().layout.lock_key(&LockId::random());
            let written = Written::now();
            let etag = match self.create_lock(&key, &body).await {
                Ok(etag) => etag,
                Err(e) => {
                    // The PutObject may have landed with its answer lost: no lock left behind.
                    let _ = self.client.delete_object(&key).await;
                    return Err(e);
                }
            };
            let lock = Lock {
                key,
                body: body.clone(),
                kind,
                operation: operation.to_string(),
                timing,
                etag: Mutex::new(etag),
                written: Mutex::new(written),
            };
            let holders = match self.wait_for_holders(&lock, &stopwatch).await {
                Ok(holders) if holders.is_empty() => return Ok(lock),
                Ok(holders) => holders,
                Err(e) => {
                    let _ = self.client.delete_object(&lock.key).await;
                    return Err(e);
                }
            };
            self.client.delete_object(&lock.key).await?;
            if stopwatch.elapsed() >= LOCK_WAIT {
                let described: Vec<&str> = holders.iter().map(|h| h.description.as_str()).collect();
                return Err(Error::Conflict(ErrorDetails::message(format!(
                    "the store is busy: {}; waited {} s for it to finish",
                    described.join("; "),
                    stopwatch.elapsed().as_secs()
                ))));
            }
            let cap = Duration::from_millis(100u64.saturating_mul(1 << attempt.min(7))).min(Duration::from_secs(10));
            runtime::sleep(cap.mul_f64(0.5 + fastrand::f64() / 2.0)).await;
        }
    }

    /// Looks at the other locks until `lock` may be taken (returns no holder) or its taker
    /// must back off (returns the holders in its way): an exclusive taker that may wait
    /// ([`Next::Wait`]) looks again, with pauses growing to [`INTENT_POLL_MAX`], keeping
    /// its lock fresh, for at most [`EXCLUSIVE_INTENT`] and until [`LOCK_WAIT`] since
    /// `since`.
    async fn wait_for_holders(&self, lock: &Lock, since: &Stopwatch) -> Result<Vec<Holder>> {
        let intent = Stopwatch::start();
        let mut pause = Duration::from_millis(100);
        loop {
            let holders = self.conflicting_locks(lock.kind, &lock.key, lock.timing).await?;
            let waiting = intent.elapsed() < EXCLUSIVE_INTENT && since.elapsed() < LOCK_WAIT;
            if next_step(lock.kind, &lock.key, &holders) != Next::Wait || !waiting {
                return Ok(holders);
            }
            pause = (pause * 2).min(INTENT_POLL_MAX).min(lock.timing.refresh);
            runtime::sleep(pause.mul_f64(0.5 + fastrand::f64() / 2.0)).await;
            if lock.written_age() >= lock.timing.refresh {
                lock.refresh(&self.client).await?;
            }
        }
    }

    /// PutObject of a new lock with `If-None-Match: *`; returns its ETag. A 412 can only be
    /// our own first try having landed (the id is 32 random bytes): then the object holds
    /// our bytes, and its ETag is read back.
    async fn create_lock(&self, key: &str, body: &Bytes) -> Result<String> {
        let options = PutOptions {
            if_none_match: true,
            content_type: Some("application/json".into()),
            ..PutOptions::default()
        };
        match self.client.put_object(key, body.clone(), &options).await {
            Ok(written) => Ok(written.etag),
            Err(Error::Conflict(details)) => {
                let too_large = || Error::integrity(key, "lock object larger than 64 KiB");
                let (head, found) = self.client.get_object_bytes(key, MAX_LOCK_BYTES, too_large).await?;
                match head.etag {
                    Some(etag) if found == *body => Ok(etag),
                    _ => Err(Error::Conflict(details)),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Every lock object but `own`, with its age by the server's clock.
    async fn seen_locks(&self, own: &str) -> Result<Vec<Seen>> {
        let prefix = self.f2().layout.locks_prefix();
        let options = crate::s3::ListOptions {
            prefix: prefix.clone(),
            ..Default::default()
        };
        let pages: Vec<_> = futures::TryStreamExt::try_collect(self.client.list_objects_v2(options)).await?;
        let now = server_now(&self.client);
        let mut seen = Vec::new();
        for object in pages.into_iter().flat_map(|p| p.objects) {
            if object.key == own || !key_inside(&prefix, &object.key) {
                continue;
            }
            let modified = OffsetDateTime::parse(&object.last_modified, &time::format_description::well_known::Rfc3339);
            // A date that cannot be read counts as brand new (never stale).
            let age = modified.map(|m| age_of(now, m)).unwrap_or(Duration::ZERO);
            seen.push(Seen {
                key: object.key,
                age,
                doc: None,
            });
        }
        Ok(seen)
    }

    /// Fresh locks that conflict with taking a `kind` lock. An exclusive taker deletes the
    /// stale ones.
    async fn conflicting_locks(&self, kind: LockKind, own: &str, timing: LockTiming) -> Result<Vec<Holder>> {
        let mut holders = Vec::new();
        for mut lock in self.seen_locks(own).await? {
            if lock.age >= timing.stale {
                if kind == LockKind::Exclusive {
                    tracing::warn!(key = %lock.key, age_s = lock.age.as_secs(), "breaking a stale lock (not refreshed within the stale limit)");
                    self.client.delete_object(&lock.key).await?;
                }
                continue;
            }
            let too_large = || Error::integrity(&lock.key, "lock object larger than 64 KiB");
            lock.doc = match self.client.get_object_bytes(&lock.key, MAX_LOCK_BYTES, too_large).await {
                Ok((_, bytes)) => serde_json::from_slice::<LockDoc>(&bytes).ok(),
                // Released between the listing and now.
                Err(Error::NotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            if lock.doc.as_ref().is_some_and(holder_is_gone) {
                // restic's rule: a lock of a process of this host that no longer runs is
                // stale, whatever its age (its DeleteObject was lost, or it was killed).
                if kind == LockKind::Exclusive {
                    tracing::warn!(key = %lock.key, age_s = lock.age.as_secs(), "breaking a lock whose holder, a process of this host, is gone");
                    self.client.delete_object(&lock.key).await?;
                }
                continue;
            }
            match &lock.doc {
                Some(doc) if kind == LockKind::Shared && doc.kind == LockKind::Shared => {}
                Some(doc) => holders.push(Holder {
                    exclusive: doc.kind == LockKind::Exclusive,
                    description: doc.describe(lock.age),
                    key: lock.key,
                }),
                None => holders.push(Holder {
                    exclusive: true,
                    description: format!("an unreadable lock object {} ({} s old)", lock.key, lock.age.as_secs()),
                    key: lock.key,
                }),
            }
        }
        Ok(holders)
    }
}

impl Lock {
    /// Rewrites the lock with `If-Match` on its last ETag, which moves its LastModified.
    ///
    /// # Errors
    /// [`Error::Conflict`] when the lock is gone, was replaced (someone broke it), or was
    /// last written longer than [`LockTiming::hold`] ago (others may soon judge it stale).
    pub async fn refresh(&self, client: &S3Client) -> Result<()> {
        self.held_long_enough()?;
        let etag = self.etag.lock().expect("not poisoned").clone();
        let options = PutOptions {
            if_match: Some(etag),
            content_type: Some("application/json".into()),
            ..PutOptions::default()
        };
        let started = Written::now();
        match client.put_object(&self.key, self.body.clone(), &options).await {
            Ok(written) => {
                *self.etag.lock().expect("not poisoned") = written.etag;
                *self.written.lock().expect("not poisoned") = started;
                Ok(())
            }
            Err(Error::Conflict(_) | Error::NotFound(_)) => Err(self.broken("it was removed or replaced")),
            Err(e) => Err(e),
        }
    }

    /// Refreshes the lock every [`LockTiming::refresh`]; a failed refresh is retried at the
    /// next tick until the lock is no longer held ([`LockTiming::hold`]), then this returns
    /// the error. Run it beside the work it protects, and stop the work when it returns.
    pub async fn keep_fresh(&self, client: &S3Client) -> Error {
        loop {
            runtime::sleep(self.timing.refresh).await;
            match self.refresh(client).await {
                Ok(()) => {}
                Err(e @ Error::Conflict(_)) => return e,
                Err(e) => {
                    if let Err(lost) = self.held_long_enough() {
                        return lost;
                    }
                    tracing::warn!(key = %self.key, error = %e, "could not refresh a lock; retrying");
                }
            }
        }
    }

    /// Before an irreversible step: the lock must exist, hold our last ETag, and have been
    /// written less than [`LockTiming::hold`] ago by our clock, and by the server's (within
    /// the one second its HTTP dates may be off).
    ///
    /// # Errors
    /// [`Error::Conflict`] when it was removed, replaced or is about to go stale.
    pub async fn check(&self, client: &S3Client) -> Result<()> {
        self.held_long_enough()?;
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
            if age >= self.timing.hold + SERVER_AGE_SLACK {
                return Err(self.broken(&format!(
                    "the server last saw it written {} s ago, past the {} s within which it must be refreshed",
                    age.as_secs(),
                    self.timing.hold.as_secs()
                )));
            }
        }
        self.held_long_enough()
    }

    /// Deletes the lock (best effort: a lock left behind goes stale).
    pub async fn release(&self, client: &S3Client) {
        if let Err(e) = client.delete_object(&self.key).await {
            tracing::warn!(key = %self.key, error = %e, "could not delete a lock; it goes stale");
        }
    }

    /// How long ago the last successful write of the lock was sent.
    fn written_age(&self) -> Duration {
        self.written.lock().expect("not poisoned").age()
    }

    fn held_long_enough(&self) -> Result<()> {
        let since = self.written_age();
        if since >= self.timing.hold {
            return Err(self.broken(&format!(
                "it was last written {} s ago, past the {} s within which it must be refreshed",
                since.as_secs(),
                self.timing.hold.as_secs()
            )));
        }
        Ok(())
    }

    fn broken(&self, why: &str) -> Error {
        let consequence = match self.kind {
            LockKind::Shared => "a prune may have removed data it relies on",
            LockKind::Exclusive => "a save may have started",
        };
        Error::Conflict(ErrorDetails::message(format!(
            "the {} lock {} of this {} no longer stands ({why}): {consequence}, so it stops",
            self.kind.as_str(),
            self.key,
            self.operation
        )))
        .with_key(self.key.clone())
    }
}

/// The server's time: ours corrected by the skew its last `Date` showed.
pub(crate) fn server_now(client: &S3Client) -> OffsetDateTime {
    let skew = client.observed_clock_skew_ms().unwrap_or(0);
    runtime::now_utc() + time::Duration::milliseconds(skew)
}

fn age_of(now: OffsetDateTime, modified: OffsetDateTime) -> Duration {
    Duration::try_from(now - modified).unwrap_or(Duration::ZERO)
}

/// Whether the process that wrote `doc` is known to be gone: it ran on this host, in this
/// PID namespace, and no process has its pid now (a reused pid counts as alive: the safe
/// side). Only on Linux, where the PID namespace can be compared; elsewhere never.
fn holder_is_gone(doc: &LockDoc) -> bool {
    let here = pid_namespace();
    here.is_some()
        && doc.pid_namespace == here
        && doc.pid != 0
        && doc.pid != process_id()
        && doc.host == host_name()
        && !process_alive(doc.pid)
}

/// This process's PID namespace (`/proc/self/ns/pid`); `None` off Linux or when unreadable.
fn pid_namespace() -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        static NAMESPACE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
        NAMESPACE
            .get_or_init(|| {
                std::fs::read_link("/proc/self/ns/pid")
                    .ok()
                    .and_then(|p| p.to_str().map(str::to_string))
            })
            .clone()
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// Whether a process `pid` exists in this PID namespace: `/proc/PID` is there. Only a
/// definite "no such file" counts as gone; anything unknown counts as alive.
fn process_alive(pid: u32) -> bool {
    #[cfg(target_os = "linux")]
    {
        match std::fs::symlink_metadata(format!("/proc/{pid}")) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            _ => true,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        true
    }
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
#[path = "lock_tests.rs"]
mod tests;
