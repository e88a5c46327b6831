//! Maintenance (§4): cleanup_uploads, which aborts the multipart uploads that crashed
//! saves left behind, and check (the CLI's `doctor`), the probe users run first.

use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt as _;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::layout::key_inside;
use super::{AbortedUpload, BackupStore, CheckReport, CheckResult, CheckState, CleanupReport};
use crate::config::Addressing;
use crate::error::{Error, Result};
use crate::runtime;
use crate::s3::{ListOptions, PutOptions};

/// Clock skew above which requests are refused (S3 and MinIO allow 15 minutes).
const SKEW_LIMIT: Duration = Duration::from_secs(15 * 60);
/// Clock skew worth a warning.
const SKEW_WARNING: Duration = Duration::from_secs(60);

impl BackupStore {
    /// cleanup_uploads(older_than): aborts every multipart upload under the prefix started
    /// more than `older_than` ago (ListMultipartUploads, every page; `None`: the
    /// `stale_after` option, the default of every face). Reports those aborted.
    ///
    /// A save in progress has young uploads: keep `older_than` above the longest save. Only
    /// uploads of keys inside the prefix are aborted, whatever else the listing names.
    pub async fn cleanup_uploads(&self, older_than: impl Into<Option<Duration>>) -> Result<CleanupReport> {
        let older_than = older_than.into().unwrap_or(self.config.stale_after);
        self.bucket_ready().await?;
        let cutoff = runtime::now_utc() - time::Duration::try_from(older_than).unwrap_or(time::Duration::MAX);
        let prefix = self.layout.prefix();
        // MinIO matches a ListMultipartUploads prefix only against whole object names
        // ("a/" lists nothing, "a/b.bin" lists that key's uploads): list the bucket, filter here.
        let pages: Vec<_> = self.client.list_multipart_uploads("").try_collect().await?;
        let ours = pages
            .into_iter()
            .flat_map(|p| p.uploads)
            .filter(|u| key_inside(prefix, &u.key));
        let mut aborted = Vec::new();
        for upload in ours {
            let initiated_at = OffsetDateTime::parse(&upload.initiated, &Rfc3339).ok();
            if initiated_at.is_some_and(|t| t <= cutoff) {
                self.client
                    .abort_multipart_upload(&upload.key, &upload.upload_id)
                    .await?;
                aborted.push(AbortedUpload {
                    key: upload.key,
                    upload_id: upload.upload_id,
                    initiated_at,
                });
            }
        }
        Ok(CleanupReport {
            cutoff_at: cutoff,
            aborted,
        })
    }

    /// check: endpoint reachable, credentials valid, bucket exists, PutObject / GetObject /
    /// ListObjectsV2 / DeleteObject of a probe object under the prefix, clock skew against
    /// the server's `Date`, addressing style. One [`CheckResult`] per check; never an error.
    pub async fn check(&self) -> CheckReport {
        // With `create_bucket` the bucket is created first, as before any operation; a
        // failure shows in the report's bucket line.
        let _ = self.bucket_ready().await;
        let mut results = Vec::new();
        let endpoint = self.client.endpoint().to_string();
        let bucket = self.config.client.bucket.clone();
        // ListObjectsV2 answers with an error body, unlike HeadBucket: it tells a wrong key
        // from a missing bucket from a missing permission.
        let probe_list = ListOptions {
            prefix: self.layout.prefix().to_string(),
            max_keys: Some(1),
            ..ListOptions::default()
        };
        let first = self.client.list_objects_v2_page(&probe_list, None).await;
        let reachable = !matches!(first, Err(Error::Network(_) | Error::Timeout(_)));
        results.push(match &first {
            Err(e @ (Error::Network(_) | Error::Timeout(_))) => failed(
                "endpoint",
                format!("cannot reach {endpoint}: {}", e.details().message),
                "check the endpoint URL (scheme, host, port) and that the store is running and reachable",
                e,
            ),
            _ => ok("endpoint", format!("{endpoint} answers")),
        });
        let credentials_ok = reachable && !matches!(first, Err(Error::InvalidCredentials(_)));
        results.push(match &first {
            _ if !reachable => skipped("credentials"),
            Err(e @ Error::InvalidCredentials(_)) => failed(
                "credentials",
                format!("the store rejects the credentials ({})", e.code().unwrap_or("403")),
                "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the profile), and the system clock",
                e,
            ),
            _ => ok("credentials", "the store accepts the credentials".to_string()),
        });
        let bucket_ok = credentials_ok && !matches!(first, Err(Error::NoSuchBucket(_)));
        results.push(match &first {
            _ if !credentials_ok => skipped("bucket"),
            Err(e @ Error::NoSuchBucket(_)) => failed(
                "bucket",
                format!("bucket {bucket:?} does not exist at {endpoint}"),
                "create the bucket (or pass create_bucket), or check its name and the endpoint",
                e,
            ),
            _ => ok("bucket", format!("bucket {bucket:?} exists")),
        });
        if bucket_ok {
            self.check_probe_object(&mut results, first.err()).await;
        } else {
            for name in ["put", "get", "list", "delete"] {
                results.push(skipped(name));
            }
        }
        results.push(self.check_clock(reachable));
        results.push(self.check_addressing());
        CheckReport {
            endpoint,
            bucket,
            prefix: self.layout.prefix().to_string(),
            checks: results,
        }
    }

    async fn check_probe_object(&self, results: &mut Vec<CheckResult>, list_error: Option<Error>) {
        let key = format!("{}.s3keep-probe-{:016x}", self.layout.prefix(), fastrand::u64(..));
        let body = Bytes::from_static(b"s3keep doctor probe");
        let put = self.client.put_object(&key, body.clone(), &PutOptions::default()).await;
        results.push(permission("put", "PutObject", "s3:PutObject", put.as_ref().err()));
        let get = match &put {
            Ok(_) => {
                let different = || Error::integrity(&key, "the probe object came back different");
                match self.client.get_object_bytes(&key, body.len(), different).await {
                    Ok((_, got)) if got == body => Ok(()),
                    Ok(_) => Err(different()),
                    Err(e) => Err(e),
                }
            }
            Err(_) => Ok(()),
        };
        results.push(match &put {
            Ok(_) => permission("get", "GetObject", "s3:GetObject", get.as_ref().err()),
            Err(_) => skipped("get"),
        });
        results.push(permission(
            "list",
            "ListObjectsV2",
            "s3:ListBucket",
            list_error.as_ref(),
        ));
        results.push(match &put {
            Ok(_) => {
                let delete = self.client.delete_object(&key).await;
                permission("delete", "DeleteObject", "s3:DeleteObject", delete.as_ref().err())
            }
            Err(_) => skipped("delete"),
        });
    }

    fn check_clock(&self, reachable: bool) -> CheckResult {
        let Some(skew_ms) = self.client.observed_clock_skew_ms().filter(|_| reachable) else {
            return skipped("clock");
        };
        let skew = Duration::from_millis(skew_ms.unsigned_abs());
        let direction = if skew_ms > 0 { "behind" } else { "ahead of" };
        let message = format!(
            "the local clock is {:.0} s {direction} the server's",
            skew.as_secs_f64()
        );
        let hint = "set the system clock right (enable NTP): requests are signed with the local time";
        let state = if skew >= SKEW_LIMIT {
            CheckState::Failed
        } else if skew >= SKEW_WARNING {
            CheckState::Warning
        } else {
            return ok(
                "clock",
                format!(
                    "the local clock is within {:.0} s of the server's",
                    SKEW_WARNING.as_secs_f64()
                ),
            );
        };
        CheckResult {
            name: "clock",
            state,
            message,
            hint: hint.to_string(),
            code: None,
        }
    }

    fn check_addressing(&self) -> CheckResult {
        let custom = self.config.client.endpoint.is_some();
        let style = match (self.config.client.addressing, custom) {
            (Addressing::Path, _) | (Addressing::Auto, true) => "path-style (https://endpoint/bucket/key)",
            _ => "virtual-hosted (https://bucket.endpoint/key)",
        };
        ok("addressing", format!("{style} requests"))
    }
}

fn ok(name: &'static str, message: String) -> CheckResult {
    CheckResult {
        name,
        state: CheckState::Ok,
        message,
        hint: String::new(),
        code: None,
    }
}

fn skipped(name: &'static str) -> CheckResult {
    CheckResult {
        name,
        state: CheckState::Skipped,
        message: "not checked: an earlier check failed".into(),
        hint: String::new(),
        code: None,
    }
}

fn failed(name: &'static str, message: String, hint: &str, err: &Error) -> CheckResult {
    CheckResult {
        name,
        state: CheckState::Failed,
        message,
        hint: hint.to_string(),
        code: err.code().map(str::to_string),
    }
}

/// The line for one probe request: a missing permission is named with its IAM action.
fn permission(name: &'static str, operation: &str, action: &str, err: Option<&Error>) -> CheckResult {
    match err {
        None => ok(name, format!("{operation} works under the prefix")),
        Some(e @ Error::AccessDenied(_)) => failed(
            name,
            format!("{operation} is denied (AccessDenied)"),
            &format!("grant {action} on the bucket and prefix to these credentials"),
            e,
        ),
        Some(e) => failed(name, format!("{operation} failed: {e}"), e.hint(), e),
    }
}
