//! `verify ID [--deep]`: exit 1 when the backup has problems.

use s3keep::backup::{VerifyProblem, VerifyProblemKind};
use s3keep::Result;
use serde_json::{json, Value};

use super::open_store;
use crate::args::{GlobalArgs, VerifyArgs};
use crate::exit;
use crate::output::{size, Output};

/// Checks every file of the backup (with `--deep`, downloads it and checks its CRC32C).
pub async fn verify(global: &GlobalArgs, args: VerifyArgs, out: Output) -> Result<i32> {
    let store = open_store(global).await?;
    let report = store.verify(args.id, args.deep).await?;
    let id = args.id;
    if out.json {
        out.document(&json!({
            "id": id.to_string(),
            "partition": id.partition,
            "checkpoint": id.checkpoint,
            "node": id.node,
            "deep": args.deep,
            "ok": report.is_ok(),
            "filesChecked": report.files_checked,
            "bytesChecked": report.bytes_checked,
            "problems": report.problems.iter().map(problem_json).collect::<Vec<_>>(),
            "notes": report.notes,
        }));
    } else {
        for problem in &report.problems {
            out.line(&problem.to_string());
        }
        for note in &report.notes {
            out.line(&format!("note: {note}"));
        }
        let depth = if args.deep {
            "sizes and CRC32C"
        } else {
            "presence and sizes"
        };
        out.line(&format!(
            "backup {id}: {} files, {} checked ({depth}): {}",
            report.files_checked,
            size(Some(report.bytes_checked)),
            match report.problems.len() {
                0 => "OK".to_string(),
                n => format!("{n} problems"),
            }
        ));
    }
    if report.is_ok() {
        Ok(exit::OK)
    } else {
        if !out.json {
            out.problem(&format!(
                "backup {id} is damaged: {} problems found",
                report.problems.len()
            ));
        }
        Ok(exit::FAILURE)
    }
}

/// One problem: key, kind (`missing`, `size-mismatch`, `checksum-mismatch`), expected and
/// actual values where they apply, and the message.
fn problem_json(problem: &VerifyProblem) -> Value {
    let (kind, expected, actual) = match &problem.kind {
        VerifyProblemKind::Missing => ("missing", Value::Null, Value::Null),
        VerifyProblemKind::SizeMismatch { expected, actual } => ("size-mismatch", json!(expected), json!(actual)),
        VerifyProblemKind::ChecksumMismatch { expected, actual } => {
            ("checksum-mismatch", json!(expected), json!(actual))
        }
        VerifyProblemKind::Corrupt { .. } => ("corrupt", Value::Null, Value::Null),
    };
    json!({
        "key": problem.key,
        "kind": kind,
        "expected": expected,
        "actual": actual,
        "message": problem.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_their_kind_and_values() {
        let p = VerifyProblem {
            key: "0/1/0/files/a".into(),
            kind: VerifyProblemKind::SizeMismatch { expected: 3, actual: 2 },
        };
        let v = problem_json(&p);
        assert_eq!(v["kind"], "size-mismatch");
        assert_eq!(v["expected"], 3);
        assert_eq!(v["actual"], 2);
        assert_eq!(v["key"], "0/1/0/files/a");
        let missing = problem_json(&VerifyProblem {
            key: "k".into(),
            kind: VerifyProblemKind::Missing,
        });
        assert_eq!(missing["kind"], "missing");
        assert_eq!(missing["expected"], Value::Null);
    }
}
