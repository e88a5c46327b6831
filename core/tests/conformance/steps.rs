//! Runs one case: a fresh bucket, the store its config describes, then every step in order
//! (conformance/README.md, "Steps"). The first step that fails ends the case.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use s3keep::backup::{DeleteOptions, FileSet, ListFilter, RestoreOptions, SaveOptions, ZeebeDescriptor};
use s3keep::retention::RetentionPolicy;
use s3keep::s3::S3Client;
use s3keep::{BackupId, BackupInfo, BackupStore, ClientConfig, Credentials, StoreConfig};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::case::*;
use crate::check::{compare_tree, expect_eq, fail, Failure, StepResult};
use crate::ensure;
use crate::gen::{expand_sets, Content, ContentDoc, FileDoc, Sets};
use crate::support;

/// The default store prefix of a case (README, "config").
pub const DEFAULT_PREFIX: &str = "backups";
/// An endpoint nothing listens on: port 1 of the loopback interface refuses connections.
const UNREACHABLE_ENDPOINT: &str = "http://127.0.0.1:1";

/// The state of one case while its steps run.
pub struct CaseRun {
    config: StoreConfig,
    store: Option<BackupStore>,
    /// The runner's own S3 access (valid credentials, same bucket) for the rawS3 steps.
    pub(crate) admin: S3Client,
    /// The store prefix, normalised: the base of every relative key.
    pub(crate) prefix: String,
    /// What each `save` of this case stored, by id text: the default expectation of restore.
    saved: HashMap<String, Sets>,
    /// Named restore directories, kept for the whole case.
    dirs: HashMap<String, tempfile::TempDir>,
}

/// Connection settings of the harness MinIO for `bucket`, with valid credentials.
pub fn client_config(bucket: &str) -> ClientConfig {
    let m = support::minio();
    let mut c = ClientConfig::new(bucket);
    c.endpoint = Some(m.endpoint.clone());
    c.region = m.region.clone();
    c.credentials = Some(Credentials::new(&m.access_key, &m.secret_key));
    c
}

impl CaseRun {
    /// Creates the case's bucket (unless `bucket: "missing"`) and prepares its store config.
    pub async fn new(config: &CaseConfig) -> Result<Self, String> {
        let bucket = support::fresh_bucket_name();
        let admin = S3Client::new(client_config(&bucket)).map_err(|e| format!("admin client: {e}"))?;
        match config.bucket.as_deref().unwrap_or("fresh") {
            "fresh" => admin
                .create_bucket()
                .await
                .map_err(|e| format!("cannot create the case bucket: {e}"))?,
            "missing" => {}
            other => return Err(format!("unknown config.bucket {other:?}")),
        }
        let mut store_config =
            StoreConfig::new(&bucket).with_prefix(config.prefix.as_deref().unwrap_or(DEFAULT_PREFIX));
        store_config.client = client_config(&bucket);
        let m = support::minio();
        match config.credentials.as_deref().unwrap_or("valid") {
            "valid" => {}
            "wrongSecret" => {
                store_config.client.credentials = Some(Credentials::new(
                    &m.access_key,
                    "wrong-secret-key-for-s3keep-conformance",
                ))
            }
            "unknownAccessKey" => {
                store_config.client.credentials = Some(Credentials::new("s3keep-unknown-access-key", &m.secret_key))
            }
            other => return Err(format!("unknown config.credentials {other:?}")),
        }
        match config.endpoint.as_deref().unwrap_or("harness") {
            "harness" => {}
            "unreachable" => store_config.client.endpoint = Some(UNREACHABLE_ENDPOINT.into()),
            other => return Err(format!("unknown config.endpoint {other:?}")),
        }
        if let Some(v) = config.part_size {
            store_config.part_size = v;
        }
        if let Some(v) = config.multipart_threshold {
            store_config.multipart_threshold = v;
        }
        if let Some(v) = config.concurrency {
            store_config.concurrency = v;
        }
        let prefix = s3keep::config::normalize_prefix(&store_config.prefix);
        Ok(Self {
            config: store_config,
            store: None,
            admin,
            prefix,
            saved: HashMap::new(),
            dirs: HashMap::new(),
        })
    }

    /// Runs one step and judges its outcome against `expectError`.
    pub async fn step(&mut self, step: &Step) -> Result<(), String> {
        if self.store.is_none() && !matches!(step.op, Op::Open {} | Op::Config { .. }) {
            let store = BackupStore::new(self.config.clone()).map_err(|e| format!("cannot open the store: {e}"))?;
            self.store = Some(store);
        }
        let outcome = self.run_op(&step.op).await;
        match (outcome, &step.expect_error) {
            (Ok(()), None) => Ok(()),
            (Ok(()), Some(kind)) => Err(format!("expected error {kind}, but the step succeeded")),
            (Err(Failure::Check(why)), _) => Err(why),
            (Err(Failure::Api(e)), None) => Err(format!("unexpected error {e}")),
            (Err(Failure::Api(e)), Some(kind)) => {
                if e.kind() != kind {
                    return Err(format!("expected error {kind}, got {e}"));
                }
                match (&step.expect_error_code, &step.expect_message) {
                    (Some(code), _) if e.code() != Some(code.as_str()) => {
                        Err(format!("expected error code {code}, got {:?} ({e})", e.code()))
                    }
                    (_, Some(message)) if &e.details().message != message => Err(format!(
                        "expected the message {message:?}, got {:?}",
                        e.details().message
                    )),
                    _ => Ok(()),
                }
            }
        }
    }

    fn store(&self) -> &BackupStore {
        self.store.as_ref().expect("opened before the step")
    }

    /// A key of a rawS3 step: relative to the store prefix unless `absolute`.
    pub(crate) fn key(&self, key: &str, absolute: bool) -> String {
        if absolute {
            key.to_string()
        } else {
            format!("{}{key}", self.prefix)
        }
    }

    async fn run_op(&mut self, op: &Op) -> StepResult {
        match op {
            Op::Open {} => {
                self.store = Some(BackupStore::new(self.config.clone())?);
                Ok(())
            }
            Op::Config {
                url,
                options,
                env,
                expect,
            } => {
                // The case's options and environment alone: no process variable, no profile.
                let mut builder = StoreConfig::builder().with_env(|name| env.get(name).cloned());
                if let Some(url) = url {
                    builder = builder.with_url(url);
                }
                for (name, value) in options {
                    builder = builder.with_option(name, value.as_str());
                }
                let report = serde_json::to_value(builder.build()?.describe()).expect("serialises");
                crate::check::config_matches(expect.as_ref(), &report)
            }
            Op::Save {
                id,
                sets,
                metadata,
                descriptor,
                expect,
            } => {
                self.save(id, sets, metadata, descriptor.as_ref(), expect.as_ref())
                    .await
            }
            Op::Status { id, expect } => {
                let info = self.store().status(parse_id(id)?).await?;
                check_status(&info, expect.as_ref())
            }
            Op::List { filter, expect } => self.list(filter, expect.as_ref()).await,
            Op::Restore { id, sets, expect_files } => self.restore(id, sets.as_ref(), expect_files.as_ref()).await,
            Op::RestoreDir {
                id,
                set,
                dir,
                expect_tree,
                expect_summary,
            } => {
                self.restore_dir(
                    id,
                    set.as_deref(),
                    dir.as_deref(),
                    expect_tree.as_ref(),
                    expect_summary.as_ref(),
                )
                .await
            }
            Op::Verify { id, deep, expect } => self.verify(id, deep.unwrap_or(true), expect.as_ref()).await,
            Op::Delete { id, force } => {
                self.store()
                    .delete(parse_id(id)?, DeleteOptions { force: *force })
                    .await?;
                Ok(())
            }
            Op::MarkFailed { id, reason, expect } => {
                let info = self.store().mark_failed(parse_id(id)?, reason).await?;
                check_status(&info, expect.as_ref())
            }
            Op::Prune {
                policy,
                dry_run,
                expect,
            } => self.prune(policy, *dry_run, expect.as_ref()).await,
            Op::Check { expect } => {
                let results = self.store().check().await;
                for (name, state) in expect.iter().flatten() {
                    let found = results.iter().find(|r| r.name == name.as_str());
                    let Some(found) = found else {
                        return Err(fail(format!("check has no line {name:?}")));
                    };
                    ensure!(
                        found.state.as_str() == state.as_str(),
                        "check {name}: expected {state}, got {} ({})",
                        found.state.as_str(),
                        found.message
                    );
                }
                Ok(())
            }
            Op::CleanupUploads { older_than, expect } => {
                let aborted = self.store().cleanup_uploads(parse_duration(older_than)?).await?;
                if let Some(expect) = expect {
                    expect_eq("aborted uploads", &expect.aborted, &aborted.len())?;
                }
                Ok(())
            }
            Op::PutObject { .. }
            | Op::DeleteObject { .. }
            | Op::HeadObject { .. }
            | Op::GetObject { .. }
            | Op::ListKeys { .. }
            | Op::ForgeBackup { .. }
            | Op::CreateMultipartUpload { .. } => self.run_raw(op).await,
        }
    }

    async fn save(
        &mut self,
        id: &str,
        sets: &BTreeMap<String, Vec<FileDoc>>,
        metadata: &BTreeMap<String, String>,
        descriptor: Option<&Descriptor>,
        expect: Option<&StatusExpect>,
    ) -> StepResult {
        let files = expand_sets(sets).map_err(fail)?;
        let file_sets = files
            .iter()
            .map(|(set, files)| {
                FileSet::from_bytes(
                    set.clone(),
                    files.iter().map(|(name, c)| (name.clone(), Bytes::from(c.bytes()))),
                )
            })
            .collect();
        let options = SaveOptions {
            user_metadata: metadata.clone(),
            descriptor: descriptor
                .map(|d| ZeebeDescriptor {
                    checkpoint_position: d.checkpoint_position,
                    number_of_partitions: d.number_of_partitions,
                    snapshot_id: d.snapshot_id.clone(),
                })
                .unwrap_or_default(),
            ..SaveOptions::default()
        };
        let info = self.store().save(parse_id(id)?, file_sets, options).await?;
        ensure!(
            info.status.as_str() == "COMPLETED",
            "save returned status {}",
            info.status
        );
        self.saved.insert(id.to_string(), files);
        check_status(&info, expect)
    }

    async fn list(&self, filter: &Filter, expect: Option<&ListExpect>) -> StepResult {
        let filter = ListFilter {
            partition: filter.partition,
            checkpoint: filter.checkpoint,
            node: filter.node,
        };
        let infos = self.store().list(filter).await?;
        let Some(expect) = expect else { return Ok(()) };
        let ids: Vec<String> = infos.iter().map(|i| i.id.to_string()).collect();
        expect_eq("ids", &expect.ids, &ids)?;
        let statuses: Vec<String> = infos.iter().map(|i| i.status.as_str().to_string()).collect();
        expect_eq("statuses", &expect.statuses, &statuses)?;
        expect_eq("count", &expect.count, &ids.len())?;
        expect_eq("first", &expect.first.as_ref().map(Some), &ids.first())?;
        expect_eq("last", &expect.last.as_ref().map(Some), &ids.last())?;
        Ok(())
    }

    /// The files restore must produce: `expectFiles`, else what this case saved under `id`.
    fn expected_files(
        &self,
        id: &str,
        sets: Option<&Vec<String>>,
        expect_files: Option<&BTreeMap<String, Vec<FileDoc>>>,
    ) -> Result<Sets, Failure> {
        let mut files = match expect_files {
            Some(docs) => return expand_sets(docs).map_err(fail),
            None => self.saved.get(id).cloned().ok_or_else(|| {
                fail(format!(
                    "invalid case: restore of {id} without expectFiles, and no save of it"
                ))
            })?,
        };
        if let Some(sets) = sets {
            files.retain(|set, _| sets.contains(set));
        }
        Ok(files)
    }

    async fn restore(
        &self,
        id: &str,
        sets: Option<&Vec<String>>,
        expect_files: Option<&BTreeMap<String, Vec<FileDoc>>>,
    ) -> StepResult {
        let backup = parse_id(id)?;
        let dir = tempfile::tempdir().map_err(|e| fail(format!("tempdir: {e}")))?;
        // Every set in its own subdirectory: the tree maps one-to-one onto (set, name).
        let options = RestoreOptions {
            sets: sets.cloned(),
            root_set: None,
            ..RestoreOptions::default()
        };
        self.store().restore(backup, dir.path(), options).await?;
        let expected: BTreeMap<String, Content> = self
            .expected_files(id, sets, expect_files)?
            .into_iter()
            .flat_map(|(set, files)| files.into_iter().map(move |(name, c)| (format!("{set}/{name}"), c)))
            .collect();
        compare_tree(dir.path(), &expected)
    }

    async fn restore_dir(
        &mut self,
        id: &str,
        set: Option<&str>,
        dir: Option<&str>,
        expect_tree: Option<&BTreeMap<String, ContentDoc>>,
        expect_summary: Option<&SummaryExpect>,
    ) -> StepResult {
        let backup = parse_id(id)?;
        let scratch;
        let path = match dir {
            Some(name) => {
                if !self.dirs.contains_key(name) {
                    let made = tempfile::tempdir().map_err(|e| fail(format!("tempdir: {e}")))?;
                    self.dirs.insert(name.to_string(), made);
                }
                self.dirs[name].path().to_path_buf()
            }
            None => {
                scratch = tempfile::tempdir().map_err(|e| fail(format!("tempdir: {e}")))?;
                scratch.path().to_path_buf()
            }
        };
        let options = match set {
            Some(set) => RestoreOptions::only_set(set),
            None => RestoreOptions::default(),
        };
        let summary = self.store().restore(backup, &path, options).await?;
        if let Some(expect) = expect_summary {
            expect_eq("files restored", &expect.restored, &summary.files_restored)?;
            expect_eq("files skipped", &expect.skipped, &summary.files_skipped)?;
        }
        if let Some(tree) = expect_tree {
            let expected = tree
                .iter()
                .map(|(path, doc)| Ok((path.clone(), doc.content()?)))
                .collect::<Result<BTreeMap<_, _>, String>>()
                .map_err(fail)?;
            compare_tree(&path, &expected)?;
        }
        Ok(())
    }

    async fn verify(&self, id: &str, deep: bool, expect: Option<&VerifyExpect>) -> StepResult {
        let report = self.store().verify(parse_id(id)?, deep).await?;
        let Some(expect) = expect else { return Ok(()) };
        expect_eq("ok", &expect.ok, &report.is_ok())?;
        expect_eq("files checked", &expect.files_checked, &report.files_checked)?;
        if let Some(expected) = &expect.problems {
            let actual: Vec<ProblemExpect> = report
                .problems
                .iter()
                .map(|p| ProblemExpect {
                    key: p.key.strip_prefix(&self.prefix).unwrap_or(&p.key).to_string(),
                    kind: problem_kind(&p.kind).to_string(),
                })
                .collect();
            ensure!(&actual == expected, "problems: expected {expected:?}, got {actual:?}");
        }
        Ok(())
    }

    async fn prune(&self, policy: &Policy, dry_run: bool, expect: Option<&PruneExpect>) -> StepResult {
        let policy = RetentionPolicy {
            keep_last: policy.keep_last,
            keep_hourly: policy.keep_hourly,
            keep_daily: policy.keep_daily,
            keep_weekly: policy.keep_weekly,
            keep_monthly: policy.keep_monthly,
            keep_yearly: policy.keep_yearly,
            keep_within: policy.keep_within.as_deref().map(parse_duration).transpose()?,
            prune_failed: policy.prune_failed,
            prune_stale: policy.prune_stale,
            stale_after: policy.stale_after.as_deref().map(parse_duration).transpose()?,
        };
        let outcome = self.store().prune(&policy, dry_run).await?;
        if let Some((id, e)) = outcome.failed.first() {
            return Err(fail(format!("prune could not delete {id}: {e}")));
        }
        let Some(expect) = expect else { return Ok(()) };
        let actions: BTreeMap<String, String> = outcome
            .plan
            .entries
            .iter()
            .map(|e| (e.id.to_string(), e.action.as_str().to_string()))
            .collect();
        expect_eq("plan actions", &expect.actions, &actions)?;
        for (id, reason) in expect.reasons.iter().flatten() {
            let entry = outcome.plan.entries.iter().find(|e| e.id.to_string() == *id);
            let actual = entry.map(|e| e.reason.as_str());
            ensure!(
                actual == Some(reason.as_str()),
                "reason of {id}: expected {reason}, got {actual:?}"
            );
        }
        let deleted: Vec<String> = outcome.deleted.iter().map(|id| id.to_string()).collect();
        expect_eq("deleted", &expect.deleted, &deleted)?;
        if expect.survivors.is_some() {
            let left = self.store().list(ListFilter::default()).await?;
            let left: Vec<String> = left.iter().map(|i| i.id.to_string()).collect();
            expect_eq("survivors", &expect.survivors, &left)?;
        }
        Ok(())
    }
}

fn parse_id(text: &str) -> Result<BackupId, Failure> {
    Ok(text.parse::<BackupId>()?)
}

fn check_status(info: &BackupInfo, expect: Option<&StatusExpect>) -> StepResult {
    let Some(e) = expect else { return Ok(()) };
    expect_eq("status", &e.status.as_deref(), &info.status.as_str())?;
    if e.file_count.is_some() {
        expect_eq("fileCount", &e.file_count.map(Some), &info.file_count)?;
    }
    if e.total_size.is_some() {
        expect_eq("totalSize", &e.total_size.map(Some), &info.total_size)?;
    }
    expect_eq("metadata", &e.metadata, &info.user_metadata)?;
    if let Some(part) = &e.failure_reason_contains {
        let reason = info.failure_reason.as_deref().unwrap_or("");
        ensure!(
            reason.contains(part.as_str()),
            "failureReason {reason:?} does not contain {part:?}"
        );
    }
    if let Some(text) = &e.created_at {
        let expected = OffsetDateTime::parse(text, &Rfc3339)
            .map_err(|e| fail(format!("invalid case: createdAt {text:?}: {e}")))?;
        ensure!(
            info.created_at == Some(expected),
            "createdAt: expected {text}, got {:?}",
            info.created_at
        );
    }
    if let Some(has) = e.has_timestamps {
        let actual = info.created_at.is_some() && info.updated_at.is_some();
        ensure!(
            actual == has,
            "createdAt/updatedAt present: expected {has}, got {actual}"
        );
    }
    Ok(())
}

fn problem_kind(kind: &s3keep::backup::VerifyProblemKind) -> &'static str {
    use s3keep::backup::VerifyProblemKind as K;
    match kind {
        K::Missing => "Missing",
        K::SizeMismatch { .. } => "SizeMismatch",
        K::ChecksumMismatch { .. } => "ChecksumMismatch",
    }
}
