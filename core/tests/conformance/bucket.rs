//! The s3Bucket operations (conformance/README.md, "s3Bucket operations"): a prefix of the
//! case bucket saved as a file set (`s3://BUCKET/PREFIX?endpoint=...`, §13) and a backup
//! restored into a prefix of it, checked with the runner's own S3 access.

use std::collections::BTreeMap;

use futures::stream::{self, StreamExt as _, TryStreamExt as _};
use s3keep::backup::{BucketUrl, FileSet, RestoreOptions, SaveOptions};
use s3keep::s3::ListOptions;

use crate::case::*;
use crate::check::{fail, StepResult};
use crate::ensure;
use crate::steps::{expect_doc, parse_id, CaseRun};
use crate::support;

impl CaseRun {
    /// Runs an s3Bucket op.
    pub async fn run_bucket(&self, op: &Op) -> StepResult {
        match op {
            Op::SaveFromBucket {
                id,
                set,
                prefix,
                expect,
            } => {
                let set = FileSet::from_url(set.clone(), &self.bucket_url(prefix))?;
                let info = self
                    .store()
                    .save(parse_id(id)?, vec![set], SaveOptions::default())
                    .await?;
                ensure!(
                    info.status.as_str() == "COMPLETED",
                    "save returned status {}",
                    info.status
                );
                expect_doc(&info, expect.as_ref())
            }
            Op::RestoreToBucket {
                id,
                set,
                prefix,
                expect_objects,
                expect_same_as,
                expect,
            } => {
                let target = BucketUrl::parse(&self.bucket_url(prefix))?;
                let options = match set {
                    Some(set) => RestoreOptions::only_set(set.clone()),
                    None => RestoreOptions::default(),
                };
                let report = self.store().restore_to_bucket(parse_id(id)?, &target, options).await?;
                let got = self.objects_under(prefix).await?;
                if let Some(docs) = expect_objects {
                    let mut want = BTreeMap::new();
                    for (name, doc) in docs {
                        want.insert(name.clone(), doc.content().map_err(fail)?.bytes());
                    }
                    same_objects(&got, &want, "expectObjects")?;
                }
                if let Some(other) = expect_same_as {
                    let want = self.objects_under(other).await?;
                    same_objects(&got, &want, other)?;
                }
                expect_doc(&report, expect.as_ref())
            }
            other => Err(fail(format!("{} is not an s3Bucket op", other.name()))),
        }
    }

    /// `s3://CASE-BUCKET/PREFIX?endpoint=HARNESS&region=REGION`: on the store's endpoint.
    fn bucket_url(&self, prefix: &str) -> String {
        let m = support::minio();
        format!(
            "s3://{}/{prefix}?endpoint={}&region={}",
            self.admin.config().bucket,
            m.endpoint,
            m.region
        )
    }

    /// Every object under `prefix/` of the case bucket: name below the prefix → bytes.
    async fn objects_under(&self, prefix: &str) -> Result<BTreeMap<String, Vec<u8>>, crate::check::Failure> {
        let folder = s3keep::config::normalize_prefix(prefix);
        let options = ListOptions {
            prefix: folder.clone(),
            ..ListOptions::default()
        };
        let pages: Vec<_> = self.admin.list_objects_v2(options).try_collect().await?;
        let keys: Vec<String> = pages.into_iter().flat_map(|p| p.objects).map(|o| o.key).collect();
        let admin = &self.admin;
        let objects: Vec<(String, Vec<u8>)> = stream::iter(keys)
            .map(|key| async move {
                let bytes = admin.get_object(&key, None).await?.bytes().await?;
                Ok::<_, s3keep::Error>((key, bytes.to_vec()))
            })
            .buffer_unordered(16)
            .try_collect()
            .await?;
        Ok(objects
            .into_iter()
            .map(|(key, bytes)| (key[folder.len()..].to_string(), bytes))
            .collect())
    }
}

fn same_objects(got: &BTreeMap<String, Vec<u8>>, want: &BTreeMap<String, Vec<u8>>, what: &str) -> StepResult {
    for (name, bytes) in want {
        match got.get(name) {
            None => return Err(fail(format!("object {name:?} of {what} is missing from the target"))),
            Some(b) if b != bytes => {
                return Err(fail(format!(
                    "object {name:?} differs from {what} ({} bytes, expected {})",
                    b.len(),
                    bytes.len()
                )))
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = got.keys().find(|k| !want.contains_key(*k)) {
        return Err(fail(format!("the target has {extra:?}, which {what} does not")));
    }
    Ok(())
}
