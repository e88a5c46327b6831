//! `delete ID [--force]` and `mark-failed ID [--reason R]`.

use s3keep::backup::DeleteOptions;
use s3keep::Result;

use super::open_store;
use crate::args::{DeleteArgs, GlobalArgs, MarkFailedArgs};
use crate::exit;
use crate::output::Output;

/// Deletes a backup with the delete protocol; exit 3 when it does not exist, 4 when it is
/// IN_PROGRESS and not stale (unless `--force`).
pub async fn delete(global: &GlobalArgs, args: DeleteArgs, out: Output) -> Result<i32> {
    let store = open_store(global).await?;
    let report = store.delete(args.id, DeleteOptions { force: args.force }).await?;
    if out.json {
        out.document(&report);
    } else {
        out.info(&format!(
            "deleted backup {} ({} objects)",
            report.id, report.objects_deleted
        ));
    }
    Ok(exit::OK)
}

/// Marks an IN_PROGRESS backup FAILED; exit 3 when it does not exist, 4 when COMPLETED.
pub async fn mark_failed(global: &GlobalArgs, args: MarkFailedArgs, out: Output) -> Result<i32> {
    let store = open_store(global).await?;
    let info = store.mark_failed(args.id, &args.reason).await?;
    if out.json {
        out.document(&info);
    } else {
        out.info(&format!("marked backup {} FAILED: {}", args.id, args.reason));
    }
    Ok(exit::OK)
}
