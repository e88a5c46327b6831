//! `list [--partition P] [--checkpoint C] [--node N]` and `status ID`.

use s3keep::backup::ListFilter;
use s3keep::{BackupId, Result};

use super::open_store;
use crate::args::{GlobalArgs, ListArgs};
use crate::exit;
use crate::output::{backup_lines, render_pairs, short_time, Output};

/// Lists the backups (JSON: an array of backup objects), sorted by partition, node, checkpoint.
pub async fn list(global: &GlobalArgs, args: ListArgs, out: Output) -> Result<i32> {
    let store = open_store(global).await?;
    let filter = ListFilter {
        partition: args.partition,
        checkpoint: args.checkpoint,
        node: args.node,
    };
    let backups = store.list(filter).await?;
    if out.json {
        out.document(&backups);
    } else if backups.is_empty() {
        out.line("no backups");
    } else {
        let rows: Vec<Vec<String>> = backups
            .iter()
            .map(|b| {
                vec![
                    b.id.to_string(),
                    b.status.to_string(),
                    short_time(b.created_at),
                    short_time(b.updated_at),
                    b.failure_reason.clone().unwrap_or_default(),
                ]
            })
            .collect();
        out.table(&["ID", "STATUS", "CREATED", "UPDATED", "FAILURE REASON"], &rows);
    }
    Ok(exit::OK)
}

/// Shows one backup's status; a missing backup is reported as DOES_NOT_EXIST (exit 0), as
/// the API reports it.
pub async fn status(global: &GlobalArgs, id: BackupId, out: Output) -> Result<i32> {
    let store = open_store(global).await?;
    let info = store.status(id).await?;
    if out.json {
        out.document(&info);
    } else {
        out.line(render_pairs(&backup_lines(&info)).trim_end());
    }
    Ok(exit::OK)
}
