//! Core results → JSON values (camelCase, as the TypeScript types in `index.d.ts` say).
//! Times are RFC 3339 text here; the wrapper turns the `...At` fields into `Date`s.

use s3keep::backup::manifest::rfc3339;
use s3keep::backup::{BackupInfo, CheckResult, Metadata, PruneOutcome, VerifyProblemKind, VerifyReport};
use s3keep::s3::UploadInfo;
use serde_json::{json, Value};
use wasm_bindgen::JsValue;

/// A JSON value as a JS value (through `JSON.parse`, the cheapest way across).
pub(crate) fn json_to_js(value: &Value) -> JsValue {
    js_sys::JSON::parse(&value.to_string()).expect("serde_json writes valid JSON")
}

fn time(t: Option<time::OffsetDateTime>) -> Value {
    t.map_or(Value::Null, |t| Value::String(rfc3339(t)))
}

fn id_fields(id: &s3keep::BackupId) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("id".into(), json!(id.to_string()));
    m.insert("partition".into(), json!(id.partition));
    m.insert("checkpoint".into(), json!(id.checkpoint));
    m.insert("node".into(), json!(id.node));
    m
}

pub(crate) fn backup_info(info: &BackupInfo) -> Value {
    let mut m = id_fields(&info.id);
    m.insert("status".into(), json!(info.status.as_str()));
    m.insert("failureReason".into(), json!(info.failure_reason));
    m.insert("createdAt".into(), time(info.created_at));
    m.insert("updatedAt".into(), time(info.updated_at));
    m.insert("writer".into(), json!(info.writer));
    m.insert("totalSize".into(), json!(info.total_size));
    m.insert("fileCount".into(), json!(info.file_count));
    m.insert("metadata".into(), json!(info.user_metadata));
    Value::Object(m)
}

/// `{set: [{name, size, crc32c}]}` of a backup's `metadata.json`.
pub(crate) fn file_sets(metadata: &Metadata) -> Value {
    json!(metadata.file_sets)
}

pub(crate) fn verify_report(report: &VerifyReport) -> Value {
    let problems: Vec<Value> = report
        .problems
        .iter()
        .map(|p| {
            let (kind, expected, actual) = match &p.kind {
                VerifyProblemKind::Missing => ("missing", Value::Null, Value::Null),
                VerifyProblemKind::SizeMismatch { expected, actual } => {
                    ("size-mismatch", json!(expected), json!(actual))
                }
                VerifyProblemKind::ChecksumMismatch { expected, actual } => {
                    ("checksum-mismatch", json!(expected), json!(actual))
                }
                VerifyProblemKind::Corrupt { .. } => ("corrupt", Value::Null, Value::Null),
            };
            json!({ "key": p.key, "kind": kind, "expected": expected, "actual": actual, "message": p.to_string() })
        })
        .collect();
    json!({
        "id": report.id.to_string(),
        "ok": report.is_ok(),
        "filesChecked": report.files_checked,
        "bytesChecked": report.bytes_checked,
        "problems": problems,
        "notes": report.notes,
    })
}

/// The plan and what was deleted; `failed[].error` is the error object the wrapper turns
/// into an `S3KeepError`.
pub(crate) fn prune_outcome(outcome: &PruneOutcome) -> JsValue {
    let entries: Vec<Value> = outcome
        .plan
        .entries
        .iter()
        .map(|e| {
            let mut m = id_fields(&e.id);
            m.insert("status".into(), json!(e.status.as_str()));
            m.insert("createdAt".into(), json!(rfc3339(e.created_at)));
            m.insert("action".into(), json!(e.action.as_str()));
            m.insert("reason".into(), json!(e.reason.as_str()));
            m.insert(
                "matched".into(),
                json!(e.matched.iter().map(|r| r.as_str()).collect::<Vec<_>>()),
            );
            Value::Object(m)
        })
        .collect();
    let value = json_to_js(&json!({
        "dryRun": outcome.dry_run,
        "entries": entries,
        "deleted": outcome.deleted.iter().map(|id| id.to_string()).collect::<Vec<_>>(),
    }));
    let failed = js_sys::Array::new();
    for (id, err) in &outcome.failed {
        let item = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&item, &"id".into(), &id.to_string().into());
        let _ = js_sys::Reflect::set(&item, &"error".into(), &crate::error::to_js(err));
        failed.push(&item);
    }
    let _ = js_sys::Reflect::set(&value, &"failed".into(), &failed);
    value
}

pub(crate) fn uploads(uploads: &[UploadInfo]) -> Value {
    Value::Array(
        uploads
            .iter()
            .map(|u| json!({ "key": u.key, "uploadId": u.upload_id, "initiated": u.initiated }))
            .collect(),
    )
}

pub(crate) fn check_results(results: &[CheckResult]) -> Value {
    Value::Array(
        results
            .iter()
            .map(|r| {
                json!({
                    "name": r.name,
                    "state": r.state.as_str(),
                    "message": r.message,
                    "hint": r.hint,
                    "code": r.code,
                })
            })
            .collect(),
    )
}
