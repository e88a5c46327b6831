//! probe (`s3keep doctor --probe`, §14): tests, with throwaway keys under the prefix,
//! the store behaviour the protocols rely on, one [`ProbeLine`] each:
//!
//! | line | what is tried | why the protocols need it |
//! | --- | --- | --- |
//! | `if-none-match` | PutObject `If-None-Match: *` on a new key, then on the existing key (412) | save creates `status.json` only if absent: two writers never both own a backup |
//! | `if-match` | PutObject `If-Match` with a stale ETag (412), then with the current one | COMPLETED / FAILED / DELETING replace the status only if nobody changed it |
//! | `crc32c` | PutObject with a right, then a wrong `x-amz-checksum-crc32c` | the server verifies every upload (§6) |
//! | `multipart` | Create / UploadPart / Complete, and an aborted upload that takes no more parts | files above the threshold (§5) |
//! | `list-paging` | ListObjectsV2 with `max-keys=2` over 6 keys, following continuation tokens | list, delete and verify read every page |
//! | `delete-objects` | DeleteObjects of every probe key (Quiet, Content-MD5), then a listing | delete removes a backup 1000 keys a request |
//! | `object-lock` | GetObjectLockConfiguration of the bucket | immutable backups (§12) |
//!
//! Every key lives under `{prefix}.s3keep-probe-<16 hex>/` and is deleted at the end (by the
//! DeleteObjects being tested, else one by one). Stores differ (S3 answers 409 to concurrent
//! conditional writes and 404 to `If-Match` on a missing key; some S3-compatible servers ignore
//! `If-None-Match` altogether, then two writers both "win"): the probe reports what this one does.
//!
//! `save` runs the two conditional-write lines once per [`BackupStore`] (cached) and refuses a
//! store that ignores them unless `single_writer` is set (see `require_conditional_writes`);
//! a probe request that failed for a passing reason (a timeout while a node restarts) fails
//! that save with its own error, not with a refusal of the store.

use std::collections::BTreeSet;

use bytes::Bytes;
use serde::Serialize;

use super::BackupStore;
use crate::config::ChecksumMode;
use crate::error::{Error, ErrorDetails, Result};
use crate::s3::checksum::crc32c_base64;
use crate::s3::{is_not_implemented, ListOptions, PutOptions, PutResult, S3Client};

/// The names of the probe's lines, in the order it reports them.
pub const PROBE_LINES: [&str; 7] = [
    "if-none-match",
    "if-match",
    "crc32c",
    "multipart",
    "list-paging",
    "delete-objects",
    "object-lock",
];

/// The code of the error `save` returns on a store that ignores conditional writes.
pub const CONDITIONAL_WRITES_IGNORED: &str = "ConditionalWritesIgnored";

/// The outcome of one probe line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeState {
    /// The store behaves as the protocols need.
    Pass,
    /// The store answered, wrongly (it accepted what it must refuse, or refused what it must
    /// accept), or the request failed; `message` says which.
    Fail,
    /// The store does not implement it (HTTP 501), or the bucket does not have it (Object Lock).
    Unsupported,
}

impl ProbeState {
    /// `pass`, `fail` or `unsupported`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ProbeState::Pass => "pass",
            ProbeState::Fail => "fail",
            ProbeState::Unsupported => "unsupported",
        }
    }
}

/// One line of the probe's report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeLine {
    /// One of [`PROBE_LINES`].
    pub name: &'static str,
    /// The outcome.
    pub state: ProbeState,
    /// What was found, and for `fail` / `unsupported` what it means for s3keep.
    pub message: String,
    /// The S3 error code behind the outcome, if any (`PreconditionFailed`, `BadDigest`...).
    pub code: Option<String>,
}

impl ProbeLine {
    fn new(name: &'static str, state: ProbeState, message: impl Into<String>, code: Option<&str>) -> Self {
        Self {
            name,
            state,
            message: message.into(),
            code: code.map(str::to_string),
        }
    }

    fn pass(name: &'static str, message: impl Into<String>, code: Option<&str>) -> Self {
        Self::new(name, ProbeState::Pass, message, code)
    }

    fn fail(name: &'static str, message: impl Into<String>) -> Self {
        Self::new(name, ProbeState::Fail, message, None)
    }

    /// A request that failed unexpectedly: `fail`, or `unsupported` for a 501.
    fn from_error(name: &'static str, what: &str, err: &Error) -> Self {
        let state = if is_not_implemented(err) {
            ProbeState::Unsupported
        } else {
            ProbeState::Fail
        };
        let message = format!("{what}: {}", err.details().message);
        Self::new(name, state, message, err.code())
    }
}

/// What [`BackupStore::probe`] found: one line per name of [`PROBE_LINES`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeReport {
    /// The endpoint probed (never with credentials).
    pub endpoint: String,
    /// The bucket.
    pub bucket: String,
    /// The normalised prefix under which the probe keys lived.
    pub prefix: String,
    /// The lines, in the order of [`PROBE_LINES`].
    pub lines: Vec<ProbeLine>,
}

impl ProbeReport {
    /// The line called `name`.
    pub fn line(&self, name: &str) -> Option<&ProbeLine> {
        self.lines.iter().find(|l| l.name == name)
    }

    /// Whether no line failed (`unsupported` lines do not count).
    pub fn ok(&self) -> bool {
        !self.lines.iter().any(|l| l.state == ProbeState::Fail)
    }

    /// Whether the store honours `If-None-Match` and `If-Match`: save is safe to share.
    pub fn conditional_writes(&self) -> bool {
        ["if-none-match", "if-match"]
            .iter()
            .all(|n| self.line(n).is_some_and(|l| l.state == ProbeState::Pass))
    }
}

/// The two conditional-write lines: what save needs to know, cached per store.
#[derive(Clone, Debug)]
pub(crate) struct ConditionalWrites {
    if_none_match: ProbeLine,
    if_match: ProbeLine,
    /// An error that left a line without an answer ([`no_verdict`]): it says nothing about
    /// conditional writes, so save returns it instead of refusing the store, and the verdict
    /// is not kept.
    unanswered: Option<Error>,
}

impl ConditionalWrites {
    /// The error save returns when a line did not pass.
    fn refusal(&self, endpoint: &str) -> Option<Error> {
        let broken: Vec<&ProbeLine> = [&self.if_none_match, &self.if_match]
            .into_iter()
            .filter(|l| l.state != ProbeState::Pass)
            .collect();
        if broken.is_empty() {
            return None;
        }
        let why: Vec<String> = broken.iter().map(|l| format!("{}: {}", l.name, l.message)).collect();
        Some(Error::S3(ErrorDetails {
            code: Some(CONDITIONAL_WRITES_IGNORED.into()),
            endpoint: Some(endpoint.to_string()),
            message: format!(
                "save refuses this store: it does not honour conditional writes ({}), so two writers could both create or complete the same backup; if only one process ever writes under this prefix, set single_writer",
                why.join("; ")
            ),
            ..ErrorDetails::default()
        }))
    }
}

/// A random body, so that no other writer's object can have the same ETag.
fn random_body() -> Bytes {
    Bytes::from(format!(
        "s3keep probe {:016x}{:016x}",
        fastrand::u64(..),
        fastrand::u64(..)
    ))
}

async fn put(client: &S3Client, key: &str, options: &PutOptions) -> Result<PutResult> {
    client.put_object(key, random_body(), options).await
}

fn if_none_match() -> PutOptions {
    PutOptions {
        if_none_match: true,
        ..PutOptions::default()
    }
}

fn if_match(etag: &str) -> PutOptions {
    PutOptions {
        if_match: Some(etag.to_string()),
        ..PutOptions::default()
    }
}

/// A conditional PutObject of a random body; returns its ETag. A 412 on a key that holds
/// that body is a success: an attempt whose answer was lost (a reset connection) is retried,
/// and the retry meets the object the first attempt wrote.
async fn put_conditional(client: &S3Client, key: &str, options: &PutOptions) -> Result<String> {
    let body = random_body();
    match client.put_object(key, body.clone(), options).await {
        Ok(written) => Ok(written.etag),
        Err(e @ Error::Conflict(_)) => etag_if_ours(client, key, &body).await.ok_or(e),
        Err(e) => Err(e),
    }
}

/// The ETag of `key` when it holds `body` (the probe's own random bytes), else `None`.
async fn etag_if_ours(client: &S3Client, key: &str, body: &Bytes) -> Option<String> {
    let too_large = || Error::invalid_input("not the probe's object");
    match client.get_object_bytes(key, body.len() + 1, too_large).await {
        Ok((head, got)) if got == *body => head.etag,
        _ => None,
    }
}

/// Whether a failed probe request says nothing about conditional writes: a temporary error
/// after its retries, or a 404 for the key the probe has just written (a store that lost
/// sight of it, as a distributed MinIO may while a node rejoins).
fn no_verdict(err: &Error) -> bool {
    err.is_temporary() || matches!(err, Error::NotFound(_))
}

/// Runs the `if-none-match` and `if-match` lines on `key` (created, overwritten; the caller
/// deletes it). Five PutObjects.
///
/// # Errors
/// When a plain PutObject of the key fails: the store cannot be probed (the doctor's `put`
/// check says why).
async fn conditional_writes(client: &S3Client, key: &str) -> Result<ConditionalWrites> {
    const INM: &str = "if-none-match";
    const IM: &str = "if-match";
    let mut unanswered = None;
    let mut unexpected = |name: &'static str, what: &str, e: Error| {
        let line = ProbeLine::from_error(name, what, &e);
        if no_verdict(&e) && unanswered.is_none() {
            unanswered = Some(e);
        }
        line
    };
    let mut verdict = None;
    let mut current = match put_conditional(client, key, &if_none_match()).await {
        Ok(etag) => etag,
        Err(e) => {
            verdict = Some(match &e {
                Error::Conflict(_) => ProbeLine::new(
                    INM,
                    ProbeState::Fail,
                    "PutObject with If-None-Match: * was refused on a new key: save could never create a backup",
                    e.code(),
                ),
                e if is_not_implemented(e) => ProbeLine::from_error(INM, "If-None-Match: * is not implemented", e),
                _ => return Err(e),
            });
            put(client, key, &PutOptions::default()).await?.etag
        }
    };
    let if_none_match = match verdict {
        Some(line) => line,
        None => match put(client, key, &if_none_match()).await {
            Err(e @ Error::Conflict(_)) => ProbeLine::pass(
                INM,
                format!("an existing key is refused ({})", e.code().unwrap_or("412")),
                e.code(),
            ),
            Ok(written) => {
                current = written.etag;
                ProbeLine::fail(
                    INM,
                    "the store overwrote an existing key despite If-None-Match: *: two writers could both create the same backup",
                )
            }
            Err(e) => unexpected(INM, "PutObject with If-None-Match: * on an existing key failed", e),
        },
    };
    let stale = current;
    current = put(client, key, &PutOptions::default()).await?.etag;
    let if_match = match put(client, key, &if_match(&stale)).await {
        Err(e @ Error::Conflict(_)) => match put_conditional(client, key, &if_match(&current)).await {
            Ok(_) => ProbeLine::pass(
                IM,
                format!(
                    "a stale ETag is refused ({}), the current one accepted",
                    e.code().unwrap_or("412")
                ),
                e.code(),
            ),
            Err(e2) if no_verdict(&e2) => unexpected(IM, "PutObject with If-Match on the current ETag failed", e2),
            Err(e2) => ProbeLine::new(
                IM,
                ProbeState::Fail,
                format!(
                    "PutObject with If-Match on the current ETag was refused ({}): save could never mark a backup COMPLETED",
                    e2.details().message
                ),
                e2.code(),
            ),
        },
        Ok(_) => ProbeLine::fail(
            IM,
            "the store replaced an object whose ETag no longer matched If-Match: a status change could overwrite another writer's",
        ),
        Err(e) => unexpected(IM, "PutObject with If-Match on a stale ETag failed", e),
    };
    Ok(ConditionalWrites {
        if_none_match,
        if_match,
        unanswered,
    })
}

impl BackupStore {
    /// Refuses a store that does not honour conditional writes, unless `single_writer` is set.
    /// Probes once per store (five PutObjects and a DeleteObject of a throwaway key under the
    /// prefix); the verdict is cached for the life of the store and its clones. A probe
    /// request that still failed with a temporary error after its retries (timeout, lost
    /// connection, 5xx, throttling), or that found the probe's own key missing, is no
    /// verdict: that error is returned, nothing is cached, and the next save probes again.
    pub(crate) async fn require_conditional_writes(&self) -> Result<()> {
        if self.config.single_writer {
            return Ok(());
        }
        let verdict = self
            .conditional_writes
            .get_or_try_init(|| async {
                let key = format!("{}.s3keep-probe-{:016x}", self.layout.prefix(), fastrand::u64(..));
                let verdict = conditional_writes(&self.client, &key).await;
                if let Err(e) = self.client.delete_object(&key).await {
                    tracing::warn!(%key, error = %e, "could not delete the conditional-write probe object");
                }
                // A line the store left unanswered is no verdict: its error, and a probe again next time.
                match verdict {
                    Ok(ConditionalWrites {
                        unanswered: Some(e), ..
                    }) => Err(e),
                    verdict => verdict,
                }
            })
            .await?;
        match verdict.refusal(self.client.endpoint()) {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    /// probe: tests, with throwaway keys under the prefix, what the protocols rely on; one
    /// [`ProbeLine`] per name of [`PROBE_LINES`] (the module's table says what each tries).
    /// The keys are deleted at the end. About 20 requests.
    ///
    /// # Errors
    /// When a plain PutObject under the prefix fails (endpoint, credentials, bucket or
    /// permission: [`check`](Self::check) tells which); the keys written so far are deleted.
    pub async fn probe(&self) -> Result<ProbeReport> {
        let folder = format!("{}.s3keep-probe-{:016x}/", self.layout.prefix(), fastrand::u64(..));
        let mut written = BTreeSet::new();
        let conditional_key = format!("{folder}conditional");
        written.insert(conditional_key.clone());
        let conditional = conditional_writes(&self.client, &conditional_key).await;
        let mut lines = Vec::new();
        let outcome = match conditional {
            Ok(c) => {
                lines.push(c.if_none_match);
                lines.push(c.if_match);
                lines.push(self.probe_crc32c(&folder, &mut written).await);
                lines.push(self.probe_multipart(&folder, &mut written).await);
                lines.push(self.probe_list_paging(&folder, &mut written).await);
                Ok(())
            }
            Err(e) => Err(e),
        };
        let delete = self.probe_delete_objects(&folder, &written).await;
        outcome?;
        lines.push(delete);
        lines.push(self.probe_object_lock().await);
        Ok(ProbeReport {
            endpoint: self.client.endpoint().to_string(),
            bucket: self.config.client.bucket.clone(),
            prefix: self.layout.prefix().to_string(),
            lines,
        })
    }

    async fn probe_crc32c(&self, folder: &str, written: &mut BTreeSet<String>) -> ProbeLine {
        const NAME: &str = "crc32c";
        // Whatever the configured checksum mode, this line is about the CRC32C header.
        let mut config = self.config.client.clone();
        config.checksum = ChecksumMode::Crc32c;
        let client = match S3Client::new(config) {
            Ok(client) => client,
            Err(e) => return ProbeLine::from_error(NAME, "cannot build a client", &e),
        };
        let (right, wrong) = (format!("{folder}crc32c-right"), format!("{folder}crc32c-wrong"));
        let body = random_body();
        let checksum = crc32c_base64(&body);
        written.insert(right.clone());
        let options = PutOptions::default();
        if let Err(e) = client
            .put_object_with_checksum(&right, body.clone(), &checksum, &options)
            .await
        {
            let hint = "use the content-md5 checksum mode with this store";
            return ProbeLine::from_error(NAME, &format!("a right CRC32C was refused ({hint})"), &e);
        }
        let other = crc32c_base64(b"not the body");
        written.insert(wrong.clone());
        match client.put_object_with_checksum(&wrong, body, &other, &options).await {
            Err(e @ Error::Integrity(_)) => ProbeLine::pass(
                NAME,
                format!(
                    "a right CRC32C is accepted, a wrong one refused ({})",
                    e.code().unwrap_or("400")
                ),
                e.code(),
            ),
            Ok(_) => ProbeLine::fail(
                NAME,
                "the store accepted an upload whose x-amz-checksum-crc32c does not match: uploads are not verified (use the content-md5 checksum mode)",
            ),
            Err(e) => ProbeLine::from_error(NAME, "PutObject with a wrong CRC32C failed otherwise", &e),
        }
    }

    async fn probe_multipart(&self, folder: &str, written: &mut BTreeSet<String>) -> ProbeLine {
        const NAME: &str = "multipart";
        let client = &self.client;
        let (done, aborted) = (format!("{folder}multipart"), format!("{folder}multipart-aborted"));
        let body = Bytes::from(vec![7u8; 1024]);
        let checksum = crc32c_base64(&body);
        let upload = match client.create_multipart_upload(&done).await {
            Ok(id) => id,
            Err(e) => {
                return ProbeLine::from_error(
                    NAME,
                    "CreateMultipartUpload failed (files above the multipart threshold cannot be saved)",
                    &e,
                )
            }
        };
        written.insert(done.clone());
        let completed = async {
            let part = client.upload_part(&done, &upload, 1, body.clone(), &checksum).await?;
            client.complete_multipart_upload(&done, &upload, &[part]).await?;
            client.head_object(&done).await
        }
        .await;
        match completed {
            Ok(head) if head.size == body.len() as u64 => {}
            Ok(head) => {
                return ProbeLine::fail(
                    NAME,
                    format!("a completed 1-part upload of 1024 bytes reads back {} bytes", head.size),
                )
            }
            Err(e) => {
                let _ = client.abort_multipart_upload(&done, &upload).await;
                return ProbeLine::from_error(NAME, "UploadPart / CompleteMultipartUpload failed", &e);
            }
        }
        let second = match client.create_multipart_upload(&aborted).await {
            Ok(id) => id,
            Err(e) => return ProbeLine::from_error(NAME, "a second CreateMultipartUpload failed", &e),
        };
        if let Err(e) = client.abort_multipart_upload(&aborted, &second).await {
            return ProbeLine::from_error(NAME, "AbortMultipartUpload failed", &e);
        }
        match client.upload_part(&aborted, &second, 1, body, &checksum).await {
            Err(Error::NotFound(d)) => ProbeLine::pass(
                NAME,
                "an upload completes, and an aborted one takes no more parts",
                d.code.as_deref(),
            ),
            Ok(_) => ProbeLine::fail(
                NAME,
                "an aborted upload still took a part: aborted saves would leave their parts behind",
            ),
            Err(e) => ProbeLine::from_error(NAME, "UploadPart to an aborted upload failed otherwise", &e),
        }
    }

    async fn probe_list_paging(&self, folder: &str, written: &mut BTreeSet<String>) -> ProbeLine {
        const NAME: &str = "list-paging";
        for i in 0..3 {
            let key = format!("{folder}page-{i}");
            written.insert(key.clone());
            if let Err(e) = self
                .client
                .put_object(&key, random_body(), &PutOptions::default())
                .await
            {
                return ProbeLine::from_error(NAME, "PutObject of a listing key failed", &e);
            }
        }
        let options = |max_keys| ListOptions {
            prefix: folder.to_string(),
            max_keys: Some(max_keys),
            ..ListOptions::default()
        };
        let all = match self.client.list_objects_v2_page(&options(1000), None).await {
            Ok(page) => page.objects.into_iter().map(|o| o.key).collect::<BTreeSet<_>>(),
            Err(e) => return ProbeLine::from_error(NAME, "ListObjectsV2 failed", &e),
        };
        let (mut seen, mut pages, mut token) = (Vec::new(), 0, None::<String>);
        loop {
            pages += 1;
            let page = match self.client.list_objects_v2_page(&options(2), token.as_deref()).await {
                Ok(page) => page,
                Err(e) => return ProbeLine::from_error(NAME, &format!("ListObjectsV2 page {pages} failed"), &e),
            };
            if page.objects.len() > 2 {
                if pages == 1 && page.objects.len() == all.len() {
                    return ProbeLine::new(
                        NAME,
                        ProbeState::Unsupported,
                        format!(
                            "max-keys=2 is ignored ({} keys in one page): paging could not be forced",
                            all.len()
                        ),
                        None,
                    );
                }
                return ProbeLine::fail(
                    NAME,
                    format!("page {pages} of max-keys=2 holds {} keys", page.objects.len()),
                );
            }
            seen.extend(page.objects.into_iter().map(|o| o.key));
            match (page.is_truncated, page.next_continuation_token) {
                (true, Some(next)) if pages < 10 && token.as_ref() != Some(&next) => token = Some(next),
                (true, _) => {
                    return ProbeLine::fail(
                        NAME,
                        format!("page {pages} is truncated without a new continuation token"),
                    )
                }
                (false, _) => break,
            }
        }
        let unique: BTreeSet<String> = seen.iter().cloned().collect();
        if unique.len() != seen.len() || unique != all {
            return ProbeLine::fail(
                NAME,
                format!(
                    "{pages} pages of max-keys=2 gave {} keys ({} distinct) where one listing gives {}",
                    seen.len(),
                    unique.len(),
                    all.len()
                ),
            );
        }
        ProbeLine::pass(
            NAME,
            format!("{} keys in {pages} pages of max-keys=2, each once", all.len()),
            None,
        )
    }

    /// Deletes every probe key (the line tests DeleteObjects; one by one if it fails).
    async fn probe_delete_objects(&self, folder: &str, written: &BTreeSet<String>) -> ProbeLine {
        const NAME: &str = "delete-objects";
        let keys: Vec<String> = written.iter().cloned().collect();
        let line = match self.client.delete_objects(&keys).await {
            Ok(outcome) if outcome.errors.is_empty() => None,
            Ok(outcome) => {
                let e = &outcome.errors[0];
                Some(ProbeLine::new(
                    NAME,
                    ProbeState::Fail,
                    format!(
                        "DeleteObjects refused {} keys ({}: {})",
                        outcome.errors.len(),
                        e.key,
                        e.code.as_deref().unwrap_or("no code")
                    ),
                    e.code.as_deref(),
                ))
            }
            Err(e) => Some(ProbeLine::from_error(NAME, "DeleteObjects failed", &e)),
        };
        let listed = self
            .client
            .list_objects_v2_page(
                &ListOptions {
                    prefix: folder.to_string(),
                    ..ListOptions::default()
                },
                None,
            )
            .await;
        let left: Vec<String> = listed
            .map(|p| p.objects.into_iter().map(|o| o.key).collect())
            .unwrap_or_default();
        for key in &left {
            if let Err(e) = self.client.delete_object(key).await {
                tracing::warn!(%key, error = %e, "could not delete a probe object");
            }
        }
        match line {
            Some(line) => line,
            None if left.is_empty() => {
                ProbeLine::pass(NAME, format!("{} keys deleted in one request", keys.len()), None)
            }
            None => ProbeLine::fail(
                NAME,
                format!(
                    "DeleteObjects reported success but {} of {} keys remained",
                    left.len(),
                    keys.len()
                ),
            ),
        }
    }

    async fn probe_object_lock(&self) -> ProbeLine {
        const NAME: &str = "object-lock";
        let none = "the bucket has no Object Lock: anyone allowed to delete can delete backups (create the bucket with Object Lock for immutable backups)";
        match self.client.get_object_lock_configuration().await {
            Ok(Some(c)) if c.enabled => {
                let retention = match (&c.mode, c.days, c.years) {
                    (Some(mode), Some(days), _) => format!("default retention {mode} {days} days"),
                    (Some(mode), _, Some(years)) => format!("default retention {mode} {years} years"),
                    _ => "no default retention".to_string(),
                };
                let store = match self.read_descriptor().await.ok().flatten().map(|d| d.object_lock()) {
                    Some(Ok(Some(lock))) => format!(
                        "; this store locks every backup in {} mode for {} ({})",
                        lock.mode,
                        crate::options::format_duration(lock.minimum_age),
                        crate::object_lock::format_lock_policy(&lock.policy)
                    ),
                    _ => "; this store sets no retention of its own (object_lock, lock_policy)".to_string(),
                };
                ProbeLine::pass(
                    NAME,
                    format!("Object Lock is enabled on the bucket ({retention}){store}"),
                    None,
                )
            }
            Ok(_) => ProbeLine::new(
                NAME,
                ProbeState::Unsupported,
                none,
                Some("ObjectLockConfigurationNotFoundError"),
            ),
            Err(e) if is_not_implemented(&e) => ProbeLine::new(
                NAME,
                ProbeState::Unsupported,
                "the store does not implement Object Lock (GetObjectLockConfiguration: 501)",
                e.code(),
            ),
            Err(e) => ProbeLine::from_error(NAME, "GetObjectLockConfiguration failed", &e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(name: &'static str, state: ProbeState) -> ProbeLine {
        ProbeLine::new(name, state, "m", None)
    }

    #[test]
    fn lines_serialize_in_the_one_json_spelling() {
        let l = ProbeLine::new("if-none-match", ProbeState::Unsupported, "x", Some("NotImplemented"));
        let v = serde_json::to_value(&l).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"name": "if-none-match", "state": "unsupported", "message": "x", "code": "NotImplemented"})
        );
    }

    #[test]
    fn save_refuses_unless_both_conditional_lines_pass() {
        let both = ConditionalWrites {
            if_none_match: line("if-none-match", ProbeState::Pass),
            if_match: line("if-match", ProbeState::Pass),
            unanswered: None,
        };
        assert!(both.refusal("http://e").is_none());
        for (inm, im) in [
            (ProbeState::Fail, ProbeState::Pass),
            (ProbeState::Pass, ProbeState::Fail),
            (ProbeState::Unsupported, ProbeState::Pass),
        ] {
            let c = ConditionalWrites {
                if_none_match: line("if-none-match", inm),
                if_match: line("if-match", im),
                unanswered: None,
            };
            let err = c.refusal("http://e").expect("refused");
            assert_eq!(err.code(), Some(CONDITIONAL_WRITES_IGNORED));
            assert!(err.to_string().contains("single_writer"), "{err}");
        }
    }

    #[test]
    fn report_ok_ignores_unsupported_lines() {
        let mut report = ProbeReport {
            endpoint: "e".into(),
            bucket: "b".into(),
            prefix: String::new(),
            lines: PROBE_LINES.iter().map(|n| line(n, ProbeState::Pass)).collect(),
        };
        report.lines[6].state = ProbeState::Unsupported;
        assert!(report.ok() && report.conditional_writes());
        report.lines[0].state = ProbeState::Fail;
        assert!(!report.ok() && !report.conditional_writes());
    }
}
