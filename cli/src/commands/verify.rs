//! `verify ID [--deep]`: exit 1 when the backup has problems.

use s3keep::Result;

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
        out.document(&report);
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
