//! list: every backup under the prefix, optionally filtered (§4 list).
//!
//! The folders `{partition}/{checkpoint}/{node}/` are walked with delimiter listings
//! (ListObjectsV2, every page), so the cost grows with the number of backups, not with the
//! number of files in them; the status objects are then read concurrently.

use futures::stream::{self, StreamExt as _, TryStreamExt as _};

use super::{info_from_corrupt, info_from_status, BackupId, BackupInfo, BackupStore, StatusRead};
use crate::error::{Error, Result};
use crate::options::values::parse_count;
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

impl ListFilter {
    /// Sets `partition`, `checkpoint` or `node` from its text, as every face hands it over.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the field: another name, or not a whole number in the
    /// field's range.
    pub fn set(&mut self, name: &str, text: &str) -> Result<()> {
        let small = || parse_count(name, text, 0, u64::from(u32::MAX)).map(|n| Some(n as u32));
        match name {
            "partition" => self.partition = small()?,
            "checkpoint" => self.checkpoint = Some(parse_count(name, text, 0, u64::MAX)?),
            "node" => self.node = small()?,
            _ => {
                return Err(Error::invalid_input(format!(
                    "unknown list filter {name:?} (partition, checkpoint, node)"
                )))
            }
        }
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_fields_are_set_from_text_in_their_ranges() {
        let mut f = ListFilter::default();
        f.set("partition", "1").unwrap();
        f.set("checkpoint", "18446744073709551615").unwrap();
        f.set("node", "2").unwrap();
        assert_eq!(
            f,
            ListFilter {
                partition: Some(1),
                checkpoint: Some(u64::MAX),
                node: Some(2)
            }
        );
        for (name, text) in [
            ("partition", "4294967296"),
            ("node", "-1"),
            ("checkpoint", "1.5"),
            ("bucket", "1"),
        ] {
            assert!(
                matches!(f.set(name, text), Err(Error::InvalidInput(_))),
                "{name}={text}"
            );
        }
    }
}
