//! list: every backup under the prefix, optionally filtered (§4 list).
//!
//! The folders `{partition}/{checkpoint}/{node}/` are walked with delimiter listings
//! (ListObjectsV2, every page), so the cost grows with the number of backups, not with the
//! number of files in them; the status objects are then read concurrently.

use futures::stream::{self, StreamExt as _, TryStreamExt as _};

use super::{info_from_corrupt, info_from_status, BackupId, BackupInfo, BackupStore, StatusRead};
use crate::error::Result;
use crate::s3::ListOptions;

/// Which backups to list: any of partition, checkpoint and node; `None` matches all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only this partition.
    pub partition: Option<u32>,
    /// Only this checkpoint.
    pub checkpoint: Option<u64>,
    /// Only this node.
    pub node: Option<u32>,
}

impl BackupStore {
    /// list(filter): the backups that have a `status.json`, sorted by (partition, node,
    /// checkpoint), with status and timestamps (size and file count are left to `status`).
    /// A backup whose `status.json` is not a status document is listed as `CORRUPT`, with
    /// why as its failure reason; the others are listed as usual. Only folders below the
    /// store prefix count, whatever else the store's listing names.
    pub async fn list(&self, filter: ListFilter) -> Result<Vec<BackupInfo>> {
        self.bucket_ready().await?;
        let root = self.layout.prefix().to_string();
        let partitions = match filter.partition {
            Some(p) => vec![p as u64],
            None => self.child_numbers(&root).await?,
        };
        let mut checkpoints = Vec::new();
        for partition in partitions {
            match filter.checkpoint {
                Some(c) => checkpoints.push((partition, c)),
                None => {
                    let folder = format!("{root}{partition}/");
                    for c in self.child_numbers(&folder).await? {
                        checkpoints.push((partition, c));
                    }
                }
            }
        }
        let root = &root;
        let ids: Vec<Vec<BackupId>> = stream::iter(checkpoints)
            .map(|(partition, checkpoint)| async move {
                let folder = format!("{root}{partition}/{checkpoint}/");
                let nodes = self.child_numbers(&folder).await?;
                Ok::<_, crate::Error>(
                    nodes
                        .into_iter()
                        .filter(|n| filter.node.is_none_or(|f| f as u64 == *n))
                        .filter_map(|n| {
                            Some(BackupId::new(
                                u32::try_from(partition).ok()?,
                                checkpoint,
                                u32::try_from(n).ok()?,
                            ))
                        })
                        .collect(),
                )
            })
            .buffer_unordered(self.config.concurrency)
            .try_collect()
            .await?;
        let mut infos: Vec<BackupInfo> = stream::iter(ids.into_iter().flatten())
            .map(|id| async move {
                Ok::<_, crate::Error>(match self.read_status_or_corrupt(&id).await? {
                    StatusRead::Missing => None,
                    StatusRead::Found(s) => Some(info_from_status(id, &s)),
                    corrupt => Some(info_from_corrupt(id, &corrupt)),
                })
            })
            .buffer_unordered(self.config.concurrency)
            .try_filter_map(|info| async move { Ok(info) })
            .try_collect()
            .await?;
        infos.sort_by_key(|i| (i.id.partition, i.id.node, i.id.checkpoint));
        Ok(infos)
    }

    /// The numeric folder names directly below `folder` (every ListObjectsV2 page); common
    /// prefixes elsewhere, as a store ignoring the prefix filter would name, are ignored.
    async fn child_numbers(&self, folder: &str) -> Result<Vec<u64>> {
        let options = ListOptions {
            prefix: folder.to_string(),
            delimiter: Some("/".into()),
            ..ListOptions::default()
        };
        let pages: Vec<_> = self.client.list_objects_v2(options).try_collect().await?;
        let mut numbers: Vec<u64> = pages
            .iter()
            .flat_map(|p| p.common_prefixes.iter())
            .filter_map(|p| p.strip_prefix(folder)?.strip_suffix('/'))
            .filter(|name| name.bytes().all(|b| b.is_ascii_digit()))
            .filter_map(|name| name.parse().ok())
            .collect();
        numbers.sort_unstable();
        numbers.dedup();
        Ok(numbers)
    }
}
