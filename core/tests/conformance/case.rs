//! The case format of conformance/README.md, as serde types. Unknown fields are errors, so a
//! typo in a case file fails loudly instead of silently testing less.

use std::collections::BTreeMap;
use std::path::Path;

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::check::{fail, Failure};
use crate::gen::{ContentDoc, FileDoc};

/// The runner capabilities a case may require (README, "Capabilities"); it may also require
/// the store capabilities of conformance/providers.json (README, "Providers").
pub const RUNNER_CAPABILITIES: &[&str] = &["rawS3", "filesystem", "s3Bucket", "lockedStores"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Case {
    pub name: String,
    pub family: String,
    #[allow(dead_code)] // read by people, printed by nobody
    pub description: String,
    #[serde(default)]
    pub requires: Vec<String>,
    #[serde(default)]
    pub config: CaseConfig,
    pub steps: Vec<Step>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CaseConfig {
    /// Store prefix as given to the binding; default "backups".
    pub prefix: Option<String>,
    pub part_size: Option<u64>,
    pub multipart_threshold: Option<u64>,
    pub concurrency: Option<usize>,
    /// "valid" (default), "wrongSecret" or "unknownAccessKey".
    pub credentials: Option<String>,
    /// "fresh" (default), "objectLock" (fresh, with Object Lock enabled) or "missing".
    pub bucket: Option<String>,
    /// "harness" (default) or "unreachable".
    pub endpoint: Option<String>,
    /// The store format of a new store: 1 or 2 (default: the binding's, 2).
    pub format: Option<u8>,
    /// Encryption keys (options `password`, `identity`, `recipients`, `mac_key`).
    pub keys: Option<Keys>,
    /// The option `object_lock` of a new store: "governance" or "compliance".
    pub object_lock: Option<String>,
    /// The option `lock_policy`: restic's keep rules (`keep_within=1h`).
    pub lock_policy: Option<String>,
}

/// The encryption options of a store, as the option table spells their values.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Keys {
    pub password: Option<String>,
    pub identity: Option<String>,
    pub recipients: Option<String>,
    pub mac_key: Option<String>,
}

/// One step: the operation and what is expected of it.
#[derive(Debug)]
pub struct Step {
    pub op: Op,
    /// The error kind the step must fail with (`NotFound`, `InvalidInput`, ...).
    pub expect_error: Option<String>,
    /// With `expect_error`: the S3 error code (or status, for BackupNotCompleted) it carries.
    pub expect_error_code: Option<String>,
    /// With `expect_error`: the core's message (the binding's, up to `; hint`).
    pub expect_message: Option<String>,
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut map = serde_json::Map::<String, Value>::deserialize(d)?;
        let mut text = |key: &str| -> Result<Option<String>, D::Error> {
            match map.remove(key) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(other) => Err(D::Error::custom(format!("{key} must be a string, not {other}"))),
            }
        };
        let expect_error = text("expectError")?;
        let expect_error_code = text("expectErrorCode")?;
        let expect_message = text("expectMessage")?;
        let _comment = text("comment")?;
        if (expect_error_code.is_some() || expect_message.is_some()) && expect_error.is_none() {
            return Err(D::Error::custom("expectErrorCode and expectMessage need expectError"));
        }
        if expect_error.is_some() && map.contains_key("expect") {
            return Err(D::Error::custom("a step has expect or expectError, not both"));
        }
        let op = Op::deserialize(Value::Object(map)).map_err(D::Error::custom)?;
        Ok(Step {
            op,
            expect_error,
            expect_error_code,
            expect_message,
        })
    }
}

/// Every operation of the format. Ids are `"P/C/N"` text, parsed by the binding.
#[derive(Debug, Deserialize)]
#[serde(
    tag = "op",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum Op {
    Open {},
    Reopen {
        keys: Option<Keys>,
    },
    Config {
        url: Option<String>,
        #[serde(default)]
        options: BTreeMap<String, String>,
        #[serde(default)]
        env: BTreeMap<String, String>,
        expect: Option<serde_json::Map<String, Value>>,
    },
    Save {
        id: String,
        sets: BTreeMap<String, Vec<FileDoc>>,
        #[serde(default)]
        metadata: BTreeMap<String, String>,
        descriptor: Option<Descriptor>,
        expect: Option<Value>,
    },
    Status {
        id: String,
        expect: Option<Value>,
    },
    List {
        #[serde(default)]
        filter: Filter,
        expect: Option<Value>,
    },
    Restore {
        id: String,
        sets: Option<Vec<String>>,
        expect_files: Option<BTreeMap<String, Vec<FileDoc>>>,
    },
    RestoreDir {
        id: String,
        set: Option<String>,
        dir: Option<String>,
        expect_tree: Option<BTreeMap<String, ContentDoc>>,
        expect: Option<Value>,
    },
    Verify {
        id: String,
        deep: Option<bool>,
        expect: Option<Value>,
    },
    Delete {
        id: String,
        #[serde(default)]
        force: bool,
    },
    MarkFailed {
        id: String,
        reason: String,
        expect: Option<Value>,
    },
    Prune {
        #[serde(default)]
        policy: Policy,
        #[serde(default)]
        dry_run: bool,
        expect: Option<Value>,
    },
    Check {
        expect: Option<Value>,
    },
    CleanupUploads {
        older_than: String,
        expect: Option<Value>,
    },
    PutObject {
        key: String,
        #[serde(default)]
        absolute: bool,
        json: Option<Value>,
        text: Option<String>,
        generated: Option<ContentDoc>,
        repeat: Option<Repeat>,
    },
    DeleteObject {
        key: String,
        #[serde(default)]
        absolute: bool,
    },
    HeadObject {
        key: String,
        #[serde(default)]
        absolute: bool,
        expect: ObjectExpect,
    },
    GetObject {
        key: String,
        #[serde(default)]
        absolute: bool,
        expect_json: Option<Value>,
        expect_text: Option<String>,
        expect_generated: Option<ContentDoc>,
    },
    ListKeys {
        #[serde(default)]
        prefix: String,
        #[serde(default)]
        absolute: bool,
        expect_keys: Option<Vec<String>>,
        expect_count: Option<u64>,
    },
    ForgeBackup {
        id: String,
        status: String,
        created_at: String,
        failure_reason: Option<String>,
    },
    CreateMultipartUpload {
        key: String,
        #[serde(default)]
        absolute: bool,
    },
    SaveFromBucket {
        id: String,
        set: String,
        prefix: String,
        expect: Option<Value>,
    },
    RestoreToBucket {
        id: String,
        set: Option<String>,
        prefix: String,
        expect_objects: Option<BTreeMap<String, ContentDoc>>,
        expect_same_as: Option<String>,
        expect: Option<Value>,
    },
}

impl Op {
    pub fn name(&self) -> &'static str {
        match self {
            Op::Open {} => "open",
            Op::Reopen { .. } => "reopen",
            Op::Config { .. } => "config",
            Op::Save { .. } => "save",
            Op::Status { .. } => "status",
            Op::List { .. } => "list",
            Op::Restore { .. } => "restore",
            Op::RestoreDir { .. } => "restoreDir",
            Op::Verify { .. } => "verify",
            Op::Delete { .. } => "delete",
            Op::MarkFailed { .. } => "markFailed",
            Op::Prune { .. } => "prune",
            Op::Check { .. } => "check",
            Op::CleanupUploads { .. } => "cleanupUploads",
            Op::PutObject { .. } => "putObject",
            Op::DeleteObject { .. } => "deleteObject",
            Op::HeadObject { .. } => "headObject",
            Op::GetObject { .. } => "getObject",
            Op::ListKeys { .. } => "listKeys",
            Op::ForgeBackup { .. } => "forgeBackup",
            Op::CreateMultipartUpload { .. } => "createMultipartUpload",
            Op::SaveFromBucket { .. } => "saveFromBucket",
            Op::RestoreToBucket { .. } => "restoreToBucket",
        }
    }

    /// The capability the operation needs, if any (a case must list it in `requires`).
    pub fn capability(&self) -> Option<&'static str> {
        match self {
            Op::RestoreDir { .. } => Some("filesystem"),
            Op::SaveFromBucket { .. } | Op::RestoreToBucket { .. } => Some("s3Bucket"),
            Op::PutObject { .. }
            | Op::DeleteObject { .. }
            | Op::HeadObject { .. }
            | Op::GetObject { .. }
            | Op::ListKeys { .. }
            | Op::ForgeBackup { .. }
            | Op::CreateMultipartUpload { .. } => Some("rawS3"),
            _ => None,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Descriptor {
    pub checkpoint_position: Option<u64>,
    pub number_of_partitions: Option<u32>,
    pub snapshot_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    pub partition: Option<u32>,
    pub checkpoint: Option<u64>,
    pub node: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Policy {
    pub keep_last: Option<u32>,
    pub keep_hourly: Option<u32>,
    pub keep_daily: Option<u32>,
    pub keep_weekly: Option<u32>,
    pub keep_monthly: Option<u32>,
    pub keep_yearly: Option<u32>,
    pub keep_within: Option<String>,
    #[serde(default)]
    pub prune_failed: bool,
    #[serde(default)]
    pub prune_stale: bool,
    pub stale_after: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    pub count: u64,
    #[serde(default)]
    pub start: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectExpect {
    pub exists: Option<bool>,
    pub size: Option<u64>,
    pub parts: Option<u32>,
}

/// A case file holds one case (an object) or several (an array).
pub fn load(path: &Path) -> Result<Vec<Case>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    let cases: Vec<Value> = match value {
        Value::Array(items) => items,
        object => vec![object],
    };
    cases
        .into_iter()
        .map(|c| {
            let name = c.get("name").and_then(Value::as_str).unwrap_or("?").to_string();
            let case: Case = serde_json::from_value(c).map_err(|e| format!("case {name}: {e}"))?;
            case.validate().map_err(|e| format!("case {name}: {e}"))?;
            Ok(case)
        })
        .collect()
}

impl Case {
    /// What serde cannot check: capabilities named and declared, `open` only first.
    fn validate(&self) -> Result<(), String> {
        for cap in &self.requires {
            if !RUNNER_CAPABILITIES.contains(&cap.as_str()) && !crate::support::store_capabilities().contains(cap) {
                return Err(format!("unknown capability {cap:?}"));
            }
        }
        let needs = |cap: &str, what: &str| {
            if self.requires.iter().any(|c| c == cap) {
                Ok(())
            } else {
                Err(format!("{what} needs {cap:?} in requires"))
            }
        };
        if self.config.bucket.as_deref() == Some("objectLock") {
            needs("objectLock", "config.bucket \"objectLock\"")?;
        }
        if self.config.object_lock.is_some() || self.config.lock_policy.is_some() {
            needs("lockedStores", "config.objectLock or config.lockPolicy")?;
        }
        for (i, step) in self.steps.iter().enumerate() {
            if let Some(cap) = step.op.capability() {
                if !self.requires.iter().any(|c| c == cap) {
                    return Err(format!("step {} ({}) needs {cap:?} in requires", i + 1, step.op.name()));
                }
            }
            if matches!(step.op, Op::Open {}) && i != 0 {
                return Err("open can only be the first step".into());
            }
        }
        if self.steps.is_empty() {
            return Err("a case needs steps".into());
        }
        Ok(())
    }
}

/// README, "Durations": `<integer><s|m|h|d>`.
pub fn parse_duration(text: &str) -> Result<Duration, Failure> {
    let bad = || fail(format!("invalid case: duration {text:?} is not <integer><s|m|h|d>"));
    let unit = text.chars().last().ok_or_else(bad)?;
    let n: u64 = text[..text.len() - unit.len_utf8()].parse().map_err(|_| bad())?;
    let seconds = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(bad()),
    };
    Ok(Duration::from_secs(n * seconds))
}

/// README, "Time values": `$now`, `$now-<duration>`, `$now+<duration>`, or RFC 3339 as is.
pub fn resolve_time(text: &str) -> Result<String, Failure> {
    let Some(rest) = text.strip_prefix("$now") else {
        return Ok(text.to_string());
    };
    let now = OffsetDateTime::now_utc();
    let at = match rest.chars().next() {
        None => now,
        Some('-') => now - parse_duration(&rest[1..])?,
        Some('+') => now + parse_duration(&rest[1..])?,
        Some(_) => return Err(fail(format!("invalid case: time {text:?}"))),
    };
    Ok(at.format(&Rfc3339).expect("formats"))
}

/// Replaces every string value starting with `$now` in a JSON document (README, "Time values").
pub fn resolve_now(value: &Value) -> Result<Value, Failure> {
    Ok(match value {
        Value::String(s) if s.starts_with("$now") => Value::String(resolve_time(s)?),
        Value::Array(items) => Value::Array(items.iter().map(resolve_now).collect::<Result<_, _>>()?),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), resolve_now(v)?)))
                .collect::<Result<_, Failure>>()?,
        ),
        other => other.clone(),
    })
}
