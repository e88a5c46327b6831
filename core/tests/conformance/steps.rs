//! Runs one case: a fresh bucket, the store its config describes, then every step in order
//! (conformance/README.md, "Steps"). The first step that fails ends the case. A step's
//! `expect` is matched against the JSON document of the core's result, as every face
//! serialises it.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use s3keep::backup::{DeleteOptions, FileSet, ListFilter, RestoreOptions, SaveOptions, ZeebeDescriptor};
use s3keep::retention::RetentionPolicy;
use s3keep::s3::S3Client;
use s3keep::{BackupId, BackupStore, ClientConfig, Credentials, StoreConfig};
use serde::Serialize;
use serde_json::Value;

use crate::case::*;
use crate::check::{compare_tree, fail, json_matches, Failure, StepResult};
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
    pub(crate) store: Option<BackupStore>,
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

/// The encryption options of a case's `keys`.
fn encryption(keys: Option<&crate::case::Keys>) -> Result<s3keep::EncryptionOptions, String> {
    let Some(keys) = keys else {
        return Ok(Default::default());
    };
    let recipients = match &keys.recipients {
        Some(text) => s3keep::format2::keys::parse_recipients(text).map_err(|e| format!("keys.recipients: {e}"))?,
        None => Vec::new(),
    };
    Ok(s3keep::EncryptionOptions {
        password: keys.password.as_deref().map(s3keep::Secret::new),
        identity: keys.identity.as_deref().map(s3keep::Secret::new),
        recipients,
        mac_key: keys.mac_key.as_deref().map(s3keep::Secret::new),
        ..Default::default()
    })
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
            "objectLock" => admin
                .create_bucket_with_object_lock()
                .await
                .map_err(|e| format!("cannot create the case bucket with Object Lock: {e}"))?,
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
        store_config.format = config.format;
        store_config.encryption = encryption(config.keys.as_ref())?;
        if let Some(mode) = &config.object_lock {
            store_config.object_lock.mode = Some(mode.parse().map_err(|e| format!("config.objectLock: {e}"))?);
        }
        if let Some(policy) = &config.lock_policy {
            store_config.object_lock.policy =
                Some(s3keep::object_lock::parse_lock_policy(policy).map_err(|e| format!("config.lockPolicy: {e}"))?);
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

    pub(crate) fn store(&self) -> &BackupStore {
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
            Op::Reopen { keys } => {
                self.config.encryption = encryption(keys.as_ref()).map_err(fail)?;
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
            Op::Status { id, expect } => expect_doc(&self.store().status(parse_id(id)?).await?, expect.as_ref()),
            Op::List { filter, expect } => {
                let filter = ListFilter {
                    partition: filter.partition,
                    checkpoint: filter.checkpoint,
                    node: filter.node,
                };
                expect_doc(&self.store().list(filter).await?, expect.as_ref())
            }
            Op::Restore { id, sets, expect_files } => self.restore(id, sets.as_ref(), expect_files.as_ref()).await,
            Op::RestoreDir {
                id,
                set,
                dir,
                expect_tree,
                expect,
            } => {
                self.restore_dir(
                    id,
                    set.as_deref(),
                    dir.as_deref(),
                    expect_tree.as_ref(),
                    expect.as_ref(),
                )
                .await
            }
            Op::Verify { id, deep, expect } => {
                let report = self.store().verify(parse_id(id)?, deep.unwrap_or(true)).await?;
                expect_doc(&report, expect.as_ref())
            }
            Op::Delete { id, force } => {
                self.store()
                    .delete(parse_id(id)?, DeleteOptions { force: *force })
                    .await?;
                Ok(())
            }
            Op::MarkFailed { id, reason, expect } => {
                expect_doc(&self.store().mark_failed(parse_id(id)?, reason).await?, expect.as_ref())
            }
            Op::Prune {
                policy,
                dry_run,
                expect,
            } => self.prune(policy, *dry_run, expect.as_ref()).await,
            Op::Check { expect } => expect_doc(&self.store().check().await, expect.as_ref()),
            Op::CleanupUploads { older_than, expect } => {
                let report = self.store().cleanup_uploads(parse_duration(older_than)?).await?;
                expect_doc(&report, expect.as_ref())
            }
            Op::PutObject { .. }
            | Op::DeleteObject { .. }
            | Op::HeadObject { .. }
            | Op::GetObject { .. }
            | Op::ListKeys { .. }
            | Op::ForgeBackup { .. }
            | Op::CreateMultipartUpload { .. } => self.run_raw(op).await,
            Op::SaveFromBucket { .. } | Op::RestoreToBucket { .. } => self.run_bucket(op).await,
        }
    }

    async fn save(
        &mut self,
        id: &str,
        sets: &BTreeMap<String, Vec<FileDoc>>,
        metadata: &BTreeMap<String, String>,
        descriptor: Option<&Descriptor>,
        expect: Option<&Value>,
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
        expect_doc(&info, expect)
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
        expect: Option<&Value>,
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
        expect_doc(&summary, expect)?;
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

    async fn prune(&self, policy: &Policy, dry_run: bool, expect: Option<&Value>) -> StepResult {
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
        expect_doc(&outcome, expect)
    }
}

pub(crate) fn parse_id(text: &str) -> Result<BackupId, Failure> {
    Ok(text.parse::<BackupId>()?)
}

/// A step's `expect` against the result's JSON document (README, "Results"), by the
/// subset match.
pub(crate) fn expect_doc(result: &impl Serialize, expect: Option<&Value>) -> StepResult {
    let Some(expected) = expect else { return Ok(()) };
    let actual = serde_json::to_value(result).expect("results serialise");
    json_matches(expected, &actual, "$").map_err(|why| {
        let mut doc = actual.to_string();
        if doc.len() > 1500 {
            doc.truncate(doc.floor_char_boundary(1500));
            doc.push_str("...");
        }
        fail(format!("{why}; document: {doc}"))
    })
}
