//! The JSON schema of the results (docs/SCHEMA.md), one test per result.

use serde_json::json;
use time::macros::datetime;

use super::*;
use crate::error::ErrorDetails;
use crate::retention::{plan, Candidate, RetentionPolicy};

fn doc(value: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap()
}

#[test]
fn timestamps_are_utc_with_three_fractional_digits() {
    assert_eq!(
        rfc3339(datetime!(2024-05-01 13:45:12.5 UTC)),
        "2024-05-01T13:45:12.500Z"
    );
    assert_eq!(rfc3339(datetime!(2024-05-01 13:45:12 UTC)), "2024-05-01T13:45:12.000Z");
    assert_eq!(
        rfc3339(datetime!(2024-05-01 15:45:12.123456789 +02:00)),
        "2024-05-01T13:45:12.123Z"
    );
}

#[test]
fn backup_info_names_the_backup_by_four_fields_and_keeps_nulls() {
    let info = BackupInfo {
        id: BackupId::new(1, 9_007_199_254_740_993, 2),
        status: StatusCode::Completed,
        failure_reason: None,
        created_at: Some(datetime!(2024-05-01 13:45:12.5 UTC)),
        updated_at: None,
        writer: Some("s3keep/0.1.0".into()),
        total_size: Some(1536),
        file_count: Some(2),
        user_metadata: BTreeMap::from([("k".to_string(), "v".to_string())]),
    };
    assert_eq!(
        doc(&info),
        json!({
            "id": "1/9007199254740993/2", "partition": 1, "checkpoint": "9007199254740993", "node": 2,
            "status": "COMPLETED", "failureReason": null, "createdAt": "2024-05-01T13:45:12.500Z",
            "updatedAt": null, "writer": "s3keep/0.1.0", "totalSize": 1536, "fileCount": 2,
            "userMetadata": {"k": "v"},
        })
    );
    assert_eq!(
        doc(&BackupInfo::missing(BackupId::new(0, 1, 0)))["status"],
        "DOES_NOT_EXIST"
    );
}

#[test]
fn verify_problems_have_one_kebab_spelling_and_their_values() {
    let report = VerifyReport {
        id: BackupId::new(0, 1, 0),
        deep: true,
        files_checked: 3,
        bytes_checked: 10,
        problems: vec![
            VerifyProblem {
                key: "0/1/0/files/a".into(),
                kind: VerifyProblemKind::ChecksumMismatch {
                    expected: "AAAAAA==".into(),
                    actual: "yZRlqg==".into(),
                },
            },
            VerifyProblem {
                key: "0/1/0/files/b".into(),
                kind: VerifyProblemKind::SizeMismatch { expected: 3, actual: 2 },
            },
            VerifyProblem {
                key: "0/1/0/files/c".into(),
                kind: VerifyProblemKind::Missing,
            },
            VerifyProblem {
                key: "data/ab/abcd".into(),
                kind: VerifyProblemKind::Corrupt {
                    reason: "torn\npack".into(),
                },
            },
        ],
        notes: vec!["1 pack no COMPLETED backup uses".into()],
    };
    let v = doc(&report);
    assert_eq!(v["ok"], false);
    assert_eq!(v["deep"], true);
    assert_eq!(v["checkpoint"], "1");
    assert_eq!(
        v["problems"],
        json!([
            {"key": "0/1/0/files/a", "kind": "checksum-mismatch", "expected": "AAAAAA==", "actual": "yZRlqg==",
             "message": "0/1/0/files/a: checksum mismatch: CRC32C yZRlqg==, expected AAAAAA=="},
            {"key": "0/1/0/files/b", "kind": "size-mismatch", "expected": 3, "actual": 2,
             "message": "0/1/0/files/b: size mismatch: 2 bytes, expected 3"},
            {"key": "0/1/0/files/c", "kind": "missing", "expected": null, "actual": null,
             "message": "0/1/0/files/c: missing"},
            {"key": "data/ab/abcd", "kind": "corrupt", "expected": null, "actual": null,
             "message": "data/ab/abcd: corrupt: torn\\npack"},
        ])
    );
    assert_eq!(v["notes"], json!(["1 pack no COMPLETED backup uses"]));
}

#[test]
fn prune_reports_entries_deleted_ids_and_failed_deletes_with_their_error() {
    let completed = |checkpoint, created_at| Candidate {
        id: BackupId::new(0, checkpoint, 0),
        status: StatusCode::Completed,
        created_at,
    };
    let candidates = [
        completed(1, datetime!(2024-01-01 00:00 UTC)),
        completed(2, datetime!(2024-01-02 00:00 UTC)),
    ];
    let policy = RetentionPolicy {
        keep_last: Some(1),
        ..RetentionPolicy::default()
    };
    let report = PruneReport {
        dry_run: false,
        plan: plan(&policy, &candidates, datetime!(2024-01-03 00:00 UTC)),
        deleted: vec![],
        failed: vec![(
            BackupId::new(0, 1, 0),
            Error::AccessDenied(ErrorDetails {
                code: Some("AccessDenied".into()),
                status: Some(403),
                ..ErrorDetails::message("DeleteObjects is denied")
            }),
        )],
        locked: vec![(BackupId::new(0, 2, 0), datetime!(2024-01-09 00:00:00.25 UTC))],
        gc: None,
    };
    let v = doc(&report);
    assert_eq!(v["dryRun"], false);
    assert_eq!(
        v["entries"][0],
        json!({
            "id": "0/1/0", "partition": 0, "checkpoint": "1", "node": 0, "status": "COMPLETED",
            "createdAt": "2024-01-01T00:00:00.000Z", "action": "delete", "reason": "no-rule-matched", "matched": [],
        })
    );
    assert_eq!(v["entries"][1]["reason"], "keep-last");
    assert_eq!(v["entries"][1]["matched"], json!(["keep-last"]));
    assert_eq!(v["deleted"], json!([]));
    let failed = &v["failed"][0];
    assert_eq!(failed["id"], "0/1/0");
    assert_eq!(
        (
            &failed["error"]["kind"],
            &failed["error"]["code"],
            &failed["error"]["status"]
        ),
        (&json!("AccessDenied"), &json!("AccessDenied"), &json!(403))
    );
    assert_eq!(failed["error"]["message"], "DeleteObjects is denied");
    assert_eq!(failed["error"]["requestId"], serde_json::Value::Null);
    assert_eq!(v["gc"], serde_json::Value::Null);
    assert_eq!(
        v["locked"],
        json!([{"id": "0/2/0", "lockedUntil": "2024-01-09T00:00:01Z"}])
    );

    let collected = PruneReport {
        gc: Some(GcReport {
            backups_referenced: 1,
            packs_used: 2,
            packs_too_young: 3,
            packs_locked: 8,
            packs_deleted: 4,
            bytes_deleted: 5,
            index_objects_written: 6,
            index_objects_deleted: 7,
        }),
        failed: vec![],
        ..report
    };
    assert_eq!(
        doc(&collected)["gc"],
        json!({"backupsReferenced": 1, "packsUsed": 2, "packsTooYoung": 3, "packsLocked": 8, "packsDeleted": 4,
               "bytesDeleted": 5, "indexObjectsWritten": 6, "indexObjectsDeleted": 7})
    );
}

#[test]
fn restore_delete_cleanup_check_and_progress_documents() {
    let id = BackupId::new(3, 4, 5);
    let restore = RestoreReport {
        files_restored: 2,
        ..RestoreReport::empty(id)
    };
    assert_eq!(
        doc(&restore),
        json!({"id": "3/4/5", "partition": 3, "checkpoint": "4", "node": 5,
               "filesRestored": 2, "filesSkipped": 0, "bytesRestored": 0})
    );
    let delete = DeleteReport { id, objects_deleted: 7 };
    assert_eq!(doc(&delete)["objectsDeleted"], 7);
    let cleanup = CleanupReport {
        cutoff_at: datetime!(2024-01-02 00:00 UTC),
        aborted: vec![AbortedUpload {
            key: "p/0/1/0/files/big".into(),
            upload_id: "U1".into(),
            initiated_at: Some(datetime!(2024-01-01 00:00 UTC)),
        }],
    };
    assert_eq!(
        doc(&cleanup),
        json!({"cutoffAt": "2024-01-02T00:00:00.000Z", "aborted": [
            {"key": "p/0/1/0/files/big", "uploadId": "U1", "initiatedAt": "2024-01-01T00:00:00.000Z"}]})
    );
    let line = |name, state| CheckResult {
        name,
        state,
        message: "m".into(),
        hint: String::new(),
        code: None,
    };
    let mut check = CheckReport {
        endpoint: "http://127.0.0.1:9000".into(),
        bucket: "b".into(),
        prefix: "p/".into(),
        checks: vec![line("endpoint", CheckState::Ok), line("clock", CheckState::Warning)],
    };
    let v = doc(&check);
    assert_eq!(v["ok"], true);
    assert_eq!(
        v["checks"][1],
        json!({"name": "clock", "state": "warning", "message": "m", "hint": "", "code": null})
    );
    check.checks.push(line("put", CheckState::Failed));
    assert_eq!(doc(&check)["ok"], false);
    let progress = Progress {
        bytes_done: 1,
        bytes_total: 2,
        files_done: 3,
        files_total: 4,
    };
    assert_eq!(
        doc(&progress),
        json!({"bytesDone": 1, "bytesTotal": 2, "filesDone": 3, "filesTotal": 4})
    );
}
