//! Issue 16's hostile servers, classes 5, 6, 7, 9 and 10, through `support::hostile` (a real
//! HTTP server in front of MinIO that answers some requests itself):
//! - 5: a listing that never ends (the same continuation token or markers again);
//! - 6: endless bodies (status.json, metadata.json, XML, error documents);
//! - 7: a listing that ignores its prefix, and keys with `..`, during delete and cleanup;
//! - 9: one corrupt status.json among good backups (a real object in MinIO);
//! - 10: a server that stops sending (read timeout) or trickles (request timeout).
mod support;

use support::hostile::{list_page, uploads_page, Body, Hostile, Reply};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt as _;
use s3keep::backup::{DeleteOptions, FileSet, ListFilter, SaveOptions};
use s3keep::retention::{Action, RetentionPolicy};
use s3keep::s3::{ListOptions, PutOptions};
use s3keep::{BackupId, BackupStore, Error, StatusCode, StoreConfig};

const MIB: u64 = 1024 * 1024;

/// A store on a fresh bucket (created directly), and the same store through `hostile`.
async fn stores(hostile: &Hostile, tune: impl FnOnce(&mut StoreConfig)) -> (BackupStore, BackupStore) {
    let config = support::fresh_store_config().await;
    let direct = support::store_for(config.clone()).await;
    let mut via = config;
    via.client.endpoint = Some(hostile.endpoint.clone());
    via.client.retry.base_delay = Duration::from_millis(10);
    via.client.retry.max_delay = Duration::from_millis(50);
    via.create_bucket = false;
    tune(&mut via);
    (direct, BackupStore::new(via).unwrap())
}

async fn save(store: &BackupStore, id: BackupId, files: &[&str]) {
    let files = files.iter().map(|f| (f.to_string(), Bytes::from(f.to_string())));
    store
        .save(id, vec![FileSet::from_bytes("files", files)], SaveOptions::default())
        .await
        .unwrap();
}

async fn keys(store: &BackupStore, prefix: &str) -> Vec<String> {
    let options = ListOptions {
        prefix: prefix.to_string(),
        ..ListOptions::default()
    };
    let pages: Vec<_> = store.client().list_objects_v2(options).try_collect().await.unwrap();
    pages.into_iter().flat_map(|p| p.objects).map(|o| o.key).collect()
}

// ---------------------------------------------------------------------------------------------
// 5. Listings that never end

/// For the first 50 listings, a truncated page with the same token; then a last page. A
/// client that does not notice the loop lists 51 pages and succeeds.
fn same_token_fifty_times() -> impl Fn(&support::hostile::Request) -> Reply {
    let served = AtomicUsize::new(0);
    move |r| {
        if !r.is_list_objects_v2() {
            return Reply::Forward;
        }
        let token = (served.fetch_add(1, Ordering::SeqCst) < 50).then_some("same");
        Reply::xml(list_page(&[], &["backups/0/".to_string()], token))
    }
}

#[tokio::test]
async fn list_stops_with_an_error_when_list_objects_v2_hands_out_the_same_token_again() {
    let hostile = Hostile::start(same_token_fifty_times()).await;
    let (_, via) = stores(&hostile, |_| {}).await;
    let err = via.list(ListFilter::default()).await.unwrap_err();
    assert!(matches!(err, Error::S3(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("ListObjectsV2 handed out the continuation token of an earlier page again after 2 pages"),
        "{text}"
    );
    assert_eq!(hostile.count("ListObjectsV2"), 2);
}

#[tokio::test]
async fn cleanup_uploads_stops_when_list_multipart_uploads_hands_out_the_same_markers_again() {
    let served = AtomicUsize::new(0);
    let hostile = Hostile::start(move |r| {
        if !r.is_list_multipart_uploads() {
            return Reply::Forward;
        }
        let next = (served.fetch_add(1, Ordering::SeqCst) < 50).then_some(("backups/k", "u1"));
        Reply::xml(uploads_page(&[("backups/k", "u1", "2099-01-01T00:00:00.000Z")], next))
    })
    .await;
    let (_, via) = stores(&hostile, |_| {}).await;
    let err = via.cleanup_uploads(Duration::ZERO).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("ListMultipartUploads handed out the key and upload id markers of an earlier page again"),
        "{err}"
    );
    assert_eq!(hostile.count("ListMultipartUploads"), 2);
}

// ---------------------------------------------------------------------------------------------
// 6. Endless bodies

/// `head`, then `chunk` repeated up to 256 MiB, without a Content-Length.
fn endless(head: &str, chunk: &str) -> Body {
    Body::Endless {
        head: head.as_bytes().to_vec(),
        chunk: chunk.repeat(4096).into_bytes(),
        limit: 256 * MIB,
        declared: None,
    }
}

#[tokio::test]
async fn an_endless_status_json_is_corrupt_after_64_kib_and_a_huge_declared_one_before_any_byte() {
    let declared_huge = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let huge = declared_huge.clone();
    let hostile = Hostile::start(move |r| {
        if !(r.method == "GET" && r.path_ends_with("/status.json")) {
            return Reply::Forward;
        }
        let mut body = endless(r#"{"statusCode":"COMPLETED","failureReason":""#, "a");
        if huge.load(Ordering::SeqCst) {
            if let Body::Endless { declared, .. } = &mut body {
                *declared = Some(10 << 30);
            }
        }
        Reply::with(200, body)
    })
    .await;
    let (direct, via) = stores(&hostile, |_| {}).await;
    let id = BackupId::new(0, 1, 0);
    save(&direct, id, &["a"]).await;

    let info = via.status(id).await.unwrap();
    assert_eq!(info.status, StatusCode::Corrupt);
    let reason = info.failure_reason.unwrap();
    assert!(
        reason.contains("backups/0/1/0/status.json is larger than 64 KiB (65536 bytes)"),
        "{reason}"
    );
    // The client stopped reading: far less than the 256 MiB on offer reached its socket.
    let after_counting = hostile.body_bytes_sent();
    assert!(after_counting < 16 * MIB, "{after_counting} bytes sent");
    // Restore and verify need the status: a typed error naming the key and the limit.
    let err = via.verify(id, false).await.unwrap_err();
    assert!(matches!(err, Error::Integrity(_)), "{err:?}");
    assert_eq!(err.key(), Some("backups/0/1/0/status.json"));

    declared_huge.store(true, Ordering::SeqCst);
    let before = hostile.body_bytes_sent();
    assert_eq!(via.status(id).await.unwrap().status, StatusCode::Corrupt);
    assert!(hostile.body_bytes_sent() - before < 16 * MIB);
}

#[tokio::test]
async fn an_endless_metadata_json_is_an_integrity_error_after_64_mib() {
    let hostile = Hostile::start(|r| match r.method == "GET" && r.path_ends_with("/metadata.json") {
        true => Reply::with(
            200,
            endless(r#"{"partitionId":0,"checkpointId":1,"nodeId":0,"x":""#, "b"),
        ),
        false => Reply::Forward,
    })
    .await;
    let (direct, via) = stores(&hostile, |_| {}).await;
    let id = BackupId::new(0, 1, 0);
    save(&direct, id, &["a"]).await;
    let err = via.status(id).await.unwrap_err();
    assert!(matches!(err, Error::Integrity(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("metadata object backups/0/1/0/metadata.json is larger than 64 MiB (67108864 bytes)"),
        "{err}"
    );
    assert!(hostile.body_bytes_sent() < 128 * MIB, "{}", hostile.body_bytes_sent());
}

/// A file's GET declaring a terabyte: the first allocation is not sized by the server's
/// `Content-Length` (it used to be, and the process aborted), and the body is cut at the size
/// the backup recorded.
#[tokio::test]
async fn a_file_declared_a_terabyte_long_is_an_integrity_error_not_an_allocation() {
    let hostile = Hostile::start(|r| match r.method == "GET" && r.path_ends_with("/a.bin") {
        true => Reply::with(
            200,
            Body::Endless {
                head: Vec::new(),
                chunk: "c".repeat(4096).into_bytes(),
                limit: 64 * MIB,
                declared: Some(1 << 40),
            },
        ),
        false => Reply::Forward,
    })
    .await;
    let (direct, via) = stores(&hostile, |c| c.format = Some(1)).await;
    let id = BackupId::new(0, 1, 0);
    let files = vec![("a.bin".to_string(), Bytes::from_static(b"small"))];
    let mut format1 = direct.config().clone();
    format1.format = Some(1);
    let direct = BackupStore::new(format1).unwrap();
    direct
        .save(id, vec![FileSet::from_bytes("files", files)], SaveOptions::default())
        .await
        .unwrap();
    let metadata = via.restore_plan(id).await.unwrap();
    let entry = &metadata.file_sets["files"][0];
    let err = via.read_file(id, "files", entry).await.unwrap_err();
    assert!(matches!(err, Error::Integrity(_)), "{err:?}");
    assert!(hostile.body_bytes_sent() < 64 * MIB, "{}", hostile.body_bytes_sent());
}

#[tokio::test]
async fn an_endless_listing_page_is_an_error_after_16_mib() {
    let head = "<?xml version=\"1.0\"?><ListBucketResult><IsTruncated>false</IsTruncated>";
    let hostile = Hostile::start(move |r| match r.is_list_objects_v2() {
        true => Reply::with(200, endless(head, "<Contents><Key>k</Key><Size>1</Size></Contents>")),
        false => Reply::Forward,
    })
    .await;
    let (_, via) = stores(&hostile, |_| {}).await;
    let err = via.list(ListFilter::default()).await.unwrap_err();
    assert!(matches!(err, Error::S3(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("the ListObjectsV2 answer is larger than 16 MiB (16777216 bytes)"),
        "{err}"
    );
    assert!(hostile.body_bytes_sent() < 64 * MIB, "{}", hostile.body_bytes_sent());
}

#[tokio::test]
async fn an_endless_error_document_is_cut_and_the_answer_still_typed_by_its_status() {
    let hostile = Hostile::start(|r| match r.operation() {
        "GetObject" => Reply::with(503, endless("<Error><Code>SlowDown</Code><Message>", "slow ")),
        _ => Reply::Forward,
    })
    .await;
    let (_, via) = stores(&hostile, |c| c.client.retry.max_attempts = 2).await;
    let err = via.status(BackupId::new(0, 1, 0)).await.unwrap_err();
    assert!(matches!(err, Error::Throttled(_)), "{err:?}");
    assert!(err.to_string().contains("gave up after 2 attempts"), "{err}");
    assert_eq!(hostile.count("GetObject"), 2);
    assert!(hostile.body_bytes_sent() < 32 * MIB, "{}", hostile.body_bytes_sent());
}

// ---------------------------------------------------------------------------------------------
// 7. Listings that ignore their prefix

#[tokio::test]
async fn delete_leaves_alone_every_key_the_listing_names_outside_the_backup() {
    let canned = Arc::new(std::sync::Mutex::new(String::new()));
    let listing = canned.clone();
    let hostile = Hostile::start(move |r| {
        // The delete's listing (no delimiter) is answered with the whole bucket.
        match r.is_list_objects_v2() && r.query("delimiter").is_none() {
            true => Reply::xml(listing.lock().unwrap().clone()),
            false => Reply::Forward,
        }
    })
    .await;
    let (direct, via) = stores(&hostile, |_| {}).await;
    let (id, other) = (BackupId::new(0, 1, 0), BackupId::new(0, 2, 0));
    save(&direct, id, &["a", "b"]).await;
    save(&direct, other, &["c"]).await;
    direct
        .client()
        .put_object(
            "other-app/data.bin",
            Bytes::from_static(b"not ours"),
            &PutOptions::default(),
        )
        .await
        .unwrap();
    let mut all = keys(&direct, "").await;
    all.push("backups/0/1/0/files/../../2/0/files/c".into());
    *canned.lock().unwrap() = list_page(&all, &[], None);

    let err = via.delete(id, DeleteOptions { force: true }).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("backup 0/1/0 was deleted, but the store's ListObjectsV2 of \"backups/0/1/0/\" also named 5 keys outside that folder, which were left alone"),
        "{text}"
    );
    // The backup is gone; everything else is where it was.
    assert_eq!(direct.status(id).await.unwrap().status, StatusCode::DoesNotExist);
    assert!(keys(&direct, "backups/0/1/0/").await.is_empty());
    assert_eq!(direct.status(other).await.unwrap().status, StatusCode::Completed);
    assert_eq!(keys(&direct, "backups/0/2/0/").await.len(), 3);
    assert_eq!(keys(&direct, "other-app/").await, ["other-app/data.bin"]);
    // No DeleteObjects request even named them.
    for r in hostile.requests().iter().filter(|r| r.operation() == "DeleteObjects") {
        let body = String::from_utf8_lossy(&r.body);
        assert!(
            !body.contains("other-app") && !body.contains("/2/0/") && !body.contains(".."),
            "{body}"
        );
    }
}

#[tokio::test]
async fn cleanup_uploads_and_list_ignore_what_the_listing_names_outside_the_prefix() {
    let hostile = Hostile::start(|r| {
        if r.is_list_multipart_uploads() {
            let old = "2000-01-01T00:00:00.000Z";
            return Reply::xml(uploads_page(
                &[
                    ("other-app/big.bin", "u1", old),
                    ("backups/../other-app/big.bin", "u2", old),
                ],
                None,
            ));
        }
        if r.is_list_objects_v2() && r.query("prefix") == Some("backups/") {
            let prefixes = ["other/7/", "backups/+5/", "backups/../9/"].map(String::from);
            return Reply::xml(list_page(&[], &prefixes, None));
        }
        Reply::Forward
    })
    .await;
    let (_, via) = stores(&hostile, |_| {}).await;
    assert!(via.cleanup_uploads(Duration::ZERO).await.unwrap().aborted.is_empty());
    assert_eq!(hostile.count("AbortMultipartUpload"), 0);
    assert!(via.list(ListFilter::default()).await.unwrap().is_empty());
    // Only the root was listed: none of the foreign prefixes was walked into.
    assert_eq!(hostile.count("ListObjectsV2"), 1);
}

// ---------------------------------------------------------------------------------------------
// 9. One corrupt status.json among good backups (real objects, no hostile server)

/// Backups 0/1/0 and 0/3/0 COMPLETED; 0/2/0 with a file and a status.json that is garbage;
/// 1/1/0 with a status whose code is the one s3keep reports, never stores.
async fn bucket_with_corrupt_statuses() -> BackupStore {
    let store = support::fresh_store().await;
    save(&store, BackupId::new(0, 1, 0), &["a"]).await;
    save(&store, BackupId::new(0, 3, 0), &["c"]).await;
    let put = |key: &'static str, body: &'static [u8]| {
        let store = store.clone();
        async move {
            let client = store.client();
            client
                .put_object(key, Bytes::from_static(body), &PutOptions::default())
                .await
                .unwrap();
        }
    };
    put("backups/0/2/0/files/x", b"x").await;
    put("backups/0/2/0/status.json", b"\x00garbage{").await;
    put("backups/1/1/0/status.json", br#"{"statusCode":"CORRUPT"}"#).await;
    store
}

#[tokio::test]
async fn a_corrupt_status_json_is_listed_as_corrupt_and_the_other_backups_as_usual() {
    let store = bucket_with_corrupt_statuses().await;
    let listed = store.list(ListFilter::default()).await.unwrap();
    let summary: Vec<(String, StatusCode)> = listed.iter().map(|b| (b.id.to_string(), b.status)).collect();
    assert_eq!(
        summary,
        [
            ("0/1/0".to_string(), StatusCode::Completed),
            ("0/2/0".to_string(), StatusCode::Corrupt),
            ("0/3/0".to_string(), StatusCode::Completed),
            ("1/1/0".to_string(), StatusCode::Corrupt),
        ]
    );
    let reason = listed[1].failure_reason.as_deref().unwrap();
    assert!(
        reason.contains("backups/0/2/0/status.json is not valid status JSON"),
        "{reason}"
    );
    assert!(listed[1].created_at.is_some(), "the object's LastModified stands in");
    assert_eq!(
        store.status(BackupId::new(1, 1, 0)).await.unwrap().status,
        StatusCode::Corrupt
    );
}

#[tokio::test]
async fn prune_keeps_a_corrupt_backup_with_its_reason_and_prunes_the_rest() {
    let store = bucket_with_corrupt_statuses().await;
    let policy = RetentionPolicy {
        keep_last: Some(1),
        prune_failed: true,
        prune_stale: true,
        ..RetentionPolicy::default()
    };
    let outcome = store.prune(&policy, false).await.unwrap();
    let corrupt: Vec<_> = outcome
        .plan
        .entries
        .iter()
        .filter(|e| e.status == StatusCode::Corrupt)
        .map(|e| (e.id.to_string(), e.action, e.reason.as_str()))
        .collect();
    assert_eq!(
        corrupt,
        [
            ("0/2/0".to_string(), Action::Keep, "corrupt-status"),
            ("1/1/0".to_string(), Action::Keep, "corrupt-status"),
        ]
    );
    assert_eq!(outcome.deleted, [BackupId::new(0, 1, 0)]);
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
}

#[tokio::test]
async fn delete_removes_a_corrupt_backup_only_when_forced() {
    let store = bucket_with_corrupt_statuses().await;
    let id = BackupId::new(0, 2, 0);
    let err = store.delete(id, DeleteOptions::default()).await.unwrap_err();
    assert!(matches!(err, Error::Integrity(_)), "{err:?}");
    assert!(err.to_string().contains("only a forced delete removes it"), "{err}");
    assert_eq!(keys(&store, "backups/0/2/0/").await.len(), 2);
    store.delete(id, DeleteOptions { force: true }).await.unwrap();
    assert!(keys(&store, "backups/0/2/0/").await.is_empty());
    assert_eq!(store.status(id).await.unwrap().status, StatusCode::DoesNotExist);
    assert_eq!(store.list(ListFilter::default()).await.unwrap().len(), 3);
}

// ---------------------------------------------------------------------------------------------
// 10. Servers that stop sending, or trickle

#[tokio::test]
async fn a_status_json_that_stops_coming_is_a_timeout_at_the_read_timeout_and_retried() {
    // 24 bytes, one a second: without a read timeout `status` would wait and succeed.
    let hostile = Hostile::start(|r| match r.method == "GET" && r.path_ends_with("/status.json") {
        true => Reply::with(
            200,
            Body::Trickle {
                bytes: br#"{"statusCode":"FAILED"}"#.to_vec(),
                interval: Duration::from_secs(1),
            },
        ),
        false => Reply::Forward,
    })
    .await;
    let (_, via) = stores(&hostile, |c| {
        c.client.read_timeout = Duration::from_millis(300);
        c.client.retry.max_attempts = 2;
    })
    .await;
    let err = via.status(BackupId::new(0, 1, 0)).await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("sent nothing for 0.3 s while s3keep waited for the rest of the answer (read timeout)"),
        "{text}"
    );
    assert!(text.contains("gave up after 2 attempts"), "{text}");
    assert_eq!(hostile.count("GetObject"), 2);
}

#[tokio::test]
async fn an_answer_that_never_starts_is_a_timeout_at_the_read_timeout() {
    let hostile = Hostile::start(|r| match r.operation() {
        "GetObject" => Reply::with(200, Body::Silence),
        _ => Reply::Forward,
    })
    .await;
    let (_, via) = stores(&hostile, |c| {
        c.client.read_timeout = Duration::from_millis(300);
        c.client.request_timeout = Duration::from_secs(10);
        c.client.retry.max_attempts = 1;
    })
    .await;
    let err = via.status(BackupId::new(0, 1, 0)).await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    // The read timeout ended it, not the request timeout.
    assert!(err.to_string().contains("waited for an answer (read timeout)"), "{err}");
}

#[tokio::test]
async fn a_body_trickling_faster_than_the_read_timeout_is_bounded_by_the_request_timeout() {
    let hostile = Hostile::start(|r| match r.operation() {
        "GetObject" => Reply::with(
            200,
            Body::Trickle {
                bytes: vec![b' '; 10_000],
                interval: Duration::from_millis(20),
            },
        ),
        _ => Reply::Forward,
    })
    .await;
    let (_, via) = stores(&hostile, |c| {
        c.client.read_timeout = Duration::from_secs(5);
        c.client.request_timeout = Duration::from_millis(500);
        c.client.retry.max_attempts = 1;
    })
    .await;
    let err = via.status(BackupId::new(0, 1, 0)).await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
}
