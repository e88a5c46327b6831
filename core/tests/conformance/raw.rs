//! The rawS3 operations (conformance/README.md, "rawS3 operations"): the runner's own S3
//! access to the case bucket through the core's `S3Client`, never through the store, to
//! forge fixtures (Zeebe-format backups, corrupted objects, dated statuses) and to look at
//! the objects a binding wrote.

use bytes::Bytes;
use futures::stream::{self, StreamExt as _, TryStreamExt as _};
use s3keep::s3::{ListOptions, PutOptions};
use s3keep::{BackupId, Error};
use serde_json::Value;

use crate::case::*;
use crate::check::{expect_eq, fail, json_matches, StepResult};
use crate::ensure;
use crate::gen::ContentDoc;
use crate::steps::CaseRun;

impl CaseRun {
    /// Runs a rawS3 op (`op.capability() == Some("rawS3")`).
    pub async fn run_raw(&self, op: &Op) -> StepResult {
        match op {
            Op::PutObject {
                key,
                absolute,
                json,
                text,
                generated,
                repeat,
            } => {
                self.put_object(
                    key,
                    *absolute,
                    json.as_ref(),
                    text.as_ref(),
                    generated.as_ref(),
                    repeat.as_ref(),
                )
                .await
            }
            Op::DeleteObject { key, absolute } => {
                self.admin.delete_object(&self.key(key, *absolute)).await?;
                Ok(())
            }
            Op::HeadObject { key, absolute, expect } => self.head_object(&self.key(key, *absolute), expect).await,
            Op::GetObject {
                key,
                absolute,
                expect_json,
                expect_text,
                expect_generated,
            } => {
                let bytes = self
                    .admin
                    .get_object(&self.key(key, *absolute), None)
                    .await?
                    .bytes()
                    .await?;
                if let Some(expected) = expect_json {
                    let actual: Value =
                        serde_json::from_slice(&bytes).map_err(|e| fail(format!("{key} is not JSON: {e}")))?;
                    json_matches(expected, &actual, "$")
                        .map_err(|why| fail(format!("{key}: {why}; document: {actual}")))?;
                }
                if let Some(expected) = expect_text {
                    ensure!(
                        bytes == expected.as_bytes(),
                        "{key}: expected text {expected:?}, got {:?}",
                        String::from_utf8_lossy(&bytes)
                    );
                }
                if let Some(expected) = expect_generated {
                    let content = expected.content().map_err(fail)?;
                    ensure!(
                        bytes[..] == content.bytes()[..],
                        "{key}: bytes differ from {content:?} ({} bytes)",
                        bytes.len()
                    );
                }
                Ok(())
            }
            Op::ListKeys {
                prefix,
                absolute,
                expect_keys,
                expect_count,
            } => {
                self.list_keys(prefix, *absolute, expect_keys.as_ref(), *expect_count)
                    .await
            }
            Op::ForgeBackup {
                id,
                status,
                created_at,
                failure_reason,
            } => {
                self.forge_backup(id, status, created_at, failure_reason.as_deref())
                    .await
            }
            Op::CreateMultipartUpload { key, absolute } => {
                self.admin.create_multipart_upload(&self.key(key, *absolute)).await?;
                Ok(())
            }
            other => unreachable!("{} is not a rawS3 op", other.name()),
        }
    }

    async fn put_object(
        &self,
        key: &str,
        absolute: bool,
        json: Option<&Value>,
        text: Option<&String>,
        generated: Option<&ContentDoc>,
        repeat: Option<&Repeat>,
    ) -> StepResult {
        let body: Bytes = match (json, text, generated) {
            (Some(json), None, None) => serde_json::to_vec(&resolve_now(json)?).expect("JSON serialises").into(),
            (None, Some(text), None) => Bytes::from(text.clone()),
            (None, None, Some(doc)) => doc.content().map_err(fail)?.bytes().into(),
            _ => {
                return Err(fail(
                    "invalid case: putObject needs exactly one of json, text, generated",
                ))
            }
        };
        let keys: Vec<String> = match repeat {
            None => vec![self.key(key, absolute)],
            Some(r) => (r.start..r.start + r.count)
                .map(|i| self.key(&key.replace("{i}", &i.to_string()), absolute))
                .collect(),
        };
        let admin = &self.admin;
        stream::iter(keys)
            .map(|k| {
                let body = body.clone();
                async move { admin.put_object(&k, body, &PutOptions::default()).await }
            })
            .buffer_unordered(16)
            .try_collect::<Vec<_>>()
            .await?;
        Ok(())
    }

    async fn head_object(&self, key: &str, expect: &ObjectExpect) -> StepResult {
        let head = match self.admin.head_object(key).await {
            Ok(head) => Some(head),
            Err(Error::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        };
        expect_eq(&format!("{key} exists"), &expect.exists, &head.is_some())?;
        let Some(head) = head else {
            ensure!(expect.size.is_none() && expect.parts.is_none(), "{key} does not exist");
            return Ok(());
        };
        expect_eq(&format!("{key} size"), &expect.size, &head.size)?;
        // A multipart object's ETag ends in "-<number of parts>" (S3, MinIO, Ceph...).
        let etag = head.etag.unwrap_or_default();
        let parts = etag
            .trim_matches('"')
            .rsplit_once('-')
            .and_then(|(_, n)| n.parse::<u32>().ok())
            .unwrap_or(0);
        expect_eq(&format!("{key} parts (ETag {etag})"), &expect.parts, &parts)
    }

    async fn list_keys(
        &self,
        prefix: &str,
        absolute: bool,
        expect_keys: Option<&Vec<String>>,
        expect_count: Option<u64>,
    ) -> StepResult {
        let base = if absolute { String::new() } else { self.prefix.clone() };
        let options = ListOptions {
            prefix: format!("{base}{prefix}"),
            ..ListOptions::default()
        };
        let pages: Vec<_> = self.admin.list_objects_v2(options).try_collect().await?;
        let mut keys: Vec<String> = pages
            .into_iter()
            .flat_map(|p| p.objects)
            .map(|o| o.key.strip_prefix(&base).unwrap_or(&o.key).to_string())
            .collect();
        keys.sort();
        if let Some(expected) = expect_keys {
            let mut expected = expected.clone();
            expected.sort();
            ensure!(
                keys == expected,
                "keys under {prefix:?}: expected {expected:?}, got {keys:?}"
            );
        }
        expect_eq(
            &format!("number of keys under {prefix:?}"),
            &expect_count,
            &(keys.len() as u64),
        )
    }

    /// README, "forgeBackup": the exact documents every runner writes.
    async fn forge_backup(&self, id: &str, status: &str, created_at: &str, failure_reason: Option<&str>) -> StepResult {
        let backup: BackupId = id.parse().map_err(|e| fail(format!("invalid case: {e}")))?;
        let created_at = resolve_time(created_at)?;
        let folder = format!("{}{}", self.prefix, backup.key_prefix());
        let metadata = serde_json::json!({
            "formatVersion": 1,
            "partitionId": backup.partition,
            "checkpointId": backup.checkpoint,
            "nodeId": backup.node,
            "fileSets": {},
            "userMetadata": {},
            "createdAt": created_at,
            "writer": "s3keep-conformance",
        });
        let status = serde_json::json!({
            "statusCode": status,
            "failureReason": failure_reason,
            "createdAt": created_at,
            "updatedAt": created_at,
            "writer": "s3keep-conformance",
        });
        for (name, doc) in [("metadata.json", metadata), ("status.json", status)] {
            let body = serde_json::to_vec(&doc).expect("JSON serialises");
            self.admin
                .put_object(&format!("{folder}{name}"), body.into(), &PutOptions::default())
                .await?;
        }
        Ok(())
    }
}
