//! The backup store's save and delete protocols against MinIO (§4, §5).

mod support;

use bytes::Bytes;
use futures::TryStreamExt as _;
use s3keep::backup::{DeleteOptions, FileSet, SaveOptions};
use s3keep::s3::ListOptions;
use s3keep::{BackupId, Error, StatusCode};

const MIB: usize = 1024 * 1024;

fn pattern(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect::<Vec<u8>>()
        .into()
}

async fn keys_under(store: &s3keep::BackupStore, prefix: &str) -> Vec<String> {
    let options = ListOptions {
        prefix: prefix.to_string(),
        ..ListOptions::default()
    };
    let pages: Vec<_> = store.client().list_objects_v2(options).try_collect().await.unwrap();
    pages.into_iter().flat_map(|p| p.objects).map(|o| o.key).collect()
}

#[tokio::test]
async fn file_above_threshold_takes_many_equal_parts_and_reads_back_exact() {
    let mut config = support::fresh_store_config().await;
    config.multipart_threshold = 5 * MIB as u64;
    config.part_size = 5 * MIB as u64;
    config.concurrency = 3;
    let store = support::store_for(config).await;
    let id = BackupId::new(0, 1, 0);
    let big = pattern(23 * MIB + 17, 3);
    let set = FileSet::from_bytes("files", [("big.bin".to_string(), big.clone())]);
    let info = store.save(id, vec![set], SaveOptions::default()).await.unwrap();
    assert_eq!(info.status, StatusCode::Completed);
    assert_eq!(info.total_size, Some(big.len() as u64));
    // 23 MiB + 17 bytes in 5 MiB parts: 5 parts.
    assert_eq!(store.client().request_count("UploadPart"), 5);
    assert_eq!(store.client().request_count("CompleteMultipartUpload"), 1);
    let metadata = store.restore_plan(id).await.unwrap();
    let entry = &metadata.file_sets["files"][0];
    let back = store.read_file(id, "files", entry).await.unwrap();
    assert!(back == big, "multipart object differs from the source");
}

#[tokio::test]
async fn second_save_of_same_id_is_backup_already_exists_and_first_is_untouched() {
    let store = support::fresh_store().await;
    let id = BackupId::new(1, 7, 0);
    let first = FileSet::from_bytes("files", [("a.txt".to_string(), Bytes::from_static(b"first"))]);
    store.save(id, vec![first], SaveOptions::default()).await.unwrap();
    let second = FileSet::from_bytes("files", [("a.txt".to_string(), Bytes::from_static(b"second"))]);
    let err = store.save(id, vec![second], SaveOptions::default()).await.unwrap_err();
    assert!(matches!(err, Error::BackupAlreadyExists(_)), "{err}");
    let status = store.status(id).await.unwrap();
    assert_eq!(status.status, StatusCode::Completed);
    let metadata = store.restore_plan(id).await.unwrap();
    let bytes = store
        .read_file(id, "files", &metadata.file_sets["files"][0])
        .await
        .unwrap();
    assert_eq!(&bytes[..], b"first");
}

#[tokio::test]
async fn bad_names_are_rejected_before_any_request() {
    let store = support::fresh_store().await;
    let sent_before: u64 = ["PutObject", "GetObject", "CreateMultipartUpload"]
        .iter()
        .map(|op| store.client().request_count(op))
        .sum();
    for bad in ["../x", "/etc/passwd", "a/../../b", "a\\b", "", "a//b", "nul\0byte"] {
        let set = FileSet::from_bytes("files", [(bad.to_string(), Bytes::from_static(b"x"))]);
        let err = store
            .save(BackupId::new(0, 2, 0), vec![set], SaveOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{bad:?}: {err}");
    }
    for bad_set in ["Files", "-x", "a/b", ""] {
        let set = FileSet::from_bytes(bad_set, [("f".to_string(), Bytes::from_static(b"x"))]);
        let err = store
            .save(BackupId::new(0, 2, 0), vec![set], SaveOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{bad_set:?}: {err}");
    }
    let long = FileSet::from_bytes("files", [("n".repeat(1100), Bytes::from_static(b"x"))]);
    let err = store
        .save(BackupId::new(0, 2, 0), vec![long], SaveOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    let sent_after: u64 = ["PutObject", "GetObject", "CreateMultipartUpload"]
        .iter()
        .map(|op| store.client().request_count(op))
        .sum();
    assert_eq!(sent_before, sent_after, "a request was sent for bad input");
    assert_eq!(
        store.status(BackupId::new(0, 2, 0)).await.unwrap().status,
        StatusCode::DoesNotExist
    );
}

#[tokio::test]
async fn delete_of_2500_files_lists_3_pages_and_sends_3_delete_objects() {
    let mut config = support::fresh_store_config().await;
    config.concurrency = 32;
    let store = support::store_for(config).await;
    let id = BackupId::new(2, 2500, 1);
    let files = (0..2500).map(|i| (format!("d{}/f{i:05}", i % 7), Bytes::from(format!("file {i}"))));
    store
        .save(id, vec![FileSet::from_bytes("files", files)], SaveOptions::default())
        .await
        .unwrap();
    let prefix = store.layout().backup_prefix(&id);
    assert_eq!(keys_under(&store, &prefix).await.len(), 2502);

    let lists_before = store.client().request_count("ListObjectsV2");
    let deletes_before = store.client().request_count("DeleteObjects");
    let removed = store.delete(id, DeleteOptions::default()).await.unwrap();
    assert_eq!(removed.objects_deleted, 2502);
    // 2502 keys under the folder: ceil(2502 / 1000) = 3 pages, one DeleteObjects per page.
    assert_eq!(store.client().request_count("ListObjectsV2") - lists_before, 3);
    assert_eq!(store.client().request_count("DeleteObjects") - deletes_before, 3);
    assert!(keys_under(&store, &prefix).await.is_empty(), "objects left behind");
    assert_eq!(store.status(id).await.unwrap().status, StatusCode::DoesNotExist);
}

#[tokio::test]
async fn interrupted_delete_is_finished_by_the_next_delete() {
    let mut config = support::fresh_store_config().await;
    config.concurrency = 32;
    let store = support::store_for(config).await;
    let id = BackupId::new(3, 1200, 0);
    let files = (0..1200).map(|i| (format!("f{i:04}"), Bytes::from_static(b"x")));
    store
        .save(id, vec![FileSet::from_bytes("files", files)], SaveOptions::default())
        .await
        .unwrap();
    // What a delete killed after its first batch leaves: status DELETING, 1000 keys gone.
    let status_key = store.layout().status_key(&id);
    let deleting = br#"{"statusCode":"DELETING","failureReason":null}"#;
    store
        .client()
        .put_object(&status_key, Bytes::from_static(deleting), &Default::default())
        .await
        .unwrap();
    let prefix = store.layout().backup_prefix(&id);
    let first_batch: Vec<String> = keys_under(&store, &format!("{prefix}files/"))
        .await
        .into_iter()
        .take(1000)
        .collect();
    store.client().delete_objects(&first_batch).await.unwrap();
    assert_eq!(store.status(id).await.unwrap().status, StatusCode::Deleting);
    let listed = store.list(Default::default()).await.unwrap();
    assert_eq!(
        listed.iter().find(|b| b.id == id).map(|b| b.status),
        Some(StatusCode::Deleting)
    );

    store.delete(id, DeleteOptions::default()).await.unwrap();
    assert!(
        keys_under(&store, &prefix).await.is_empty(),
        "the second delete left objects"
    );
    let err = store.delete(id, DeleteOptions::default()).await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err}");
}

#[tokio::test]
async fn in_progress_backup_is_not_deleted_without_force() {
    let store = support::fresh_store().await;
    let id = BackupId::new(0, 9, 0);
    let now = time::OffsetDateTime::now_utc();
    let doc = s3keep::backup::StatusDoc::new(StatusCode::InProgress, now, now);
    store
        .client()
        .put_object(
            &store.layout().status_key(&id),
            doc.to_json().into(),
            &Default::default(),
        )
        .await
        .unwrap();
    let err = store.delete(id, DeleteOptions::default()).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err}");
    store.delete(id, DeleteOptions { force: true }).await.unwrap();
    assert_eq!(store.status(id).await.unwrap().status, StatusCode::DoesNotExist);
}

#[tokio::test]
async fn mark_failed_turns_in_progress_into_failed_and_refuses_completed() {
    let store = support::fresh_store().await;
    let running = BackupId::new(0, 10, 0);
    let now = time::OffsetDateTime::now_utc();
    let doc = s3keep::backup::StatusDoc::new(StatusCode::InProgress, now, now);
    store
        .client()
        .put_object(
            &store.layout().status_key(&running),
            doc.to_json().into(),
            &Default::default(),
        )
        .await
        .unwrap();
    let failed = store.mark_failed(running, "node crashed").await.unwrap();
    assert_eq!(failed.status, StatusCode::Failed);
    let status = store.status(running).await.unwrap();
    assert_eq!(status.failure_reason.as_deref(), Some("node crashed"));
    assert_eq!(
        status.created_at.map(|t| t.unix_timestamp()),
        Some(now.unix_timestamp())
    );

    let done = BackupId::new(0, 11, 0);
    let set = FileSet::from_bytes("files", [("f".to_string(), Bytes::from_static(b"x"))]);
    store.save(done, vec![set], SaveOptions::default()).await.unwrap();
    let err = store.mark_failed(done, "no").await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err}");
    let err = store.mark_failed(BackupId::new(0, 12, 0), "no").await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err}");
}

#[tokio::test]
async fn list_filters_by_partition_checkpoint_and_node_and_sorts() {
    let store = support::fresh_store().await;
    let ids = [
        BackupId::new(2, 5, 1),
        BackupId::new(1, 9, 0),
        BackupId::new(1, 3, 0),
        BackupId::new(1, 3, 1),
        BackupId::new(2, 5, 0),
    ];
    for id in ids {
        let set = FileSet::from_bytes("files", [("f".to_string(), Bytes::from_static(b"x"))]);
        store.save(id, vec![set], SaveOptions::default()).await.unwrap();
    }
    let all: Vec<BackupId> = store
        .list(Default::default())
        .await
        .unwrap()
        .iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(
        all,
        [
            BackupId::new(1, 3, 0),
            BackupId::new(1, 9, 0),
            BackupId::new(1, 3, 1),
            BackupId::new(2, 5, 0),
            BackupId::new(2, 5, 1)
        ]
    );
    let filter = s3keep::backup::ListFilter {
        partition: Some(1),
        node: Some(0),
        checkpoint: None,
    };
    let some: Vec<BackupId> = store.list(filter).await.unwrap().iter().map(|b| b.id).collect();
    assert_eq!(some, [BackupId::new(1, 3, 0), BackupId::new(1, 9, 0)]);
    let filter = s3keep::backup::ListFilter {
        checkpoint: Some(5),
        ..Default::default()
    };
    assert_eq!(store.list(filter).await.unwrap().len(), 2);
}

#[tokio::test]
async fn failed_upload_marks_backup_failed_and_aborts_multipart_uploads() {
    let mut config = support::fresh_store_config().await;
    config.multipart_threshold = 5 * MIB as u64;
    config.part_size = 5 * MIB as u64;
    let store = support::store_for(config).await;
    let id = BackupId::new(0, 20, 0);
    // A stream that fails after two parts: the multipart upload is open when it fails.
    let chunks: Vec<s3keep::Result<Bytes>> = vec![
        Ok(pattern(5 * MIB, 1)),
        Ok(pattern(5 * MIB, 2)),
        Err(Error::Io(s3keep::ErrorDetails::message("disk gone"))),
    ];
    let stream: s3keep::s3::ByteStream = Box::pin(futures::stream::iter(chunks));
    let set = FileSet {
        name: "files".into(),
        files: vec![s3keep::backup::FileSpec {
            name: "big".into(),
            source: s3keep::backup::Source::Stream { size: None, stream },
        }],
    };
    let err = store.save(id, vec![set], SaveOptions::default()).await.unwrap_err();
    assert!(matches!(err, Error::Io(_)), "{err}");
    let status = store.status(id).await.unwrap();
    assert_eq!(status.status, StatusCode::Failed);
    assert!(status.failure_reason.unwrap().contains("disk gone"));
    // Bucket-wide: MinIO matches ListMultipartUploads prefixes only against whole keys.
    let uploads: Vec<_> = store.client().list_multipart_uploads("").try_collect().await.unwrap();
    assert!(
        uploads.iter().all(|p| p.uploads.is_empty()),
        "multipart uploads left open"
    );
}

#[tokio::test]
async fn large_file_restores_by_concurrent_ranged_gets_and_catches_corruption() {
    let mut config = support::fresh_store_config().await;
    config.multipart_threshold = 5 * MIB as u64;
    config.part_size = 5 * MIB as u64;
    config.concurrency = 4;
    let store = support::store_for(config).await;
    let id = BackupId::new(0, 30, 0);
    let big = pattern(21 * MIB + 3, 9);
    let set = FileSet::from_bytes("files", [("big.bin".to_string(), big.clone())]);
    store.save(id, vec![set], SaveOptions::default()).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let gets_before = store.client().request_count("GetObject");
    let summary = store.restore(id, dir.path(), Default::default()).await.unwrap();
    assert_eq!(summary.bytes_restored, big.len() as u64);
    // status.json, metadata.json, then 21 MiB + 3 bytes in 5 MiB ranges: 5 ranged GETs.
    assert_eq!(store.client().request_count("GetObject") - gets_before, 2 + 5);
    assert!(
        std::fs::read(dir.path().join("big.bin")).unwrap() == big[..],
        "restored bytes differ"
    );

    // The same length, other bytes, behind our back: the combined CRC32C catches it.
    let key = store.layout().file_key(&id, "files", "big.bin");
    store
        .client()
        .put_object(&key, pattern(big.len(), 10), &Default::default())
        .await
        .unwrap();
    let other = tempfile::tempdir().unwrap();
    let err = store.restore(id, other.path(), Default::default()).await.unwrap_err();
    assert!(matches!(err, Error::Integrity(_)), "{err}");
    let left: Vec<_> = std::fs::read_dir(other.path()).unwrap().collect();
    assert!(left.is_empty(), "a restore that failed its check left files: {left:?}");
}

#[tokio::test]
async fn stale_in_progress_backup_is_deleted_without_force_through_deleting() {
    let store = support::fresh_store().await;
    let id = BackupId::new(0, 40, 0);
    let two_days_ago = time::OffsetDateTime::now_utc() - time::Duration::days(2);
    let doc = s3keep::backup::StatusDoc::new(StatusCode::InProgress, two_days_ago, two_days_ago);
    let status_key = store.layout().status_key(&id);
    store
        .client()
        .put_object(&status_key, doc.to_json().into(), &Default::default())
        .await
        .unwrap();
    let puts_before = store.client().request_count("PutObject");
    store.delete(id, DeleteOptions::default()).await.unwrap();
    // The DELETING status is written first: it changes the ETag a live writer would need.
    assert_eq!(store.client().request_count("PutObject") - puts_before, 1);
    assert_eq!(store.status(id).await.unwrap().status, StatusCode::DoesNotExist);
}

#[tokio::test]
async fn a_connection_lost_in_a_ranged_download_restarts_that_range() {
    let mut config = support::fresh_store_config().await;
    config.multipart_threshold = 5 * MIB as u64;
    config.part_size = 5 * MIB as u64;
    let store = support::store_for(config.clone()).await;
    let id = BackupId::new(0, 50, 0);
    let big = pattern(12 * MIB, 4);
    let set = FileSet::from_bytes("files", [("big.bin".to_string(), big.clone())]);
    store.save(id, vec![set], SaveOptions::default()).await.unwrap();

    // status.json and metadata.json pass; the first ranged GET loses its connection after
    // 1 MiB of body; everything after passes.
    use support::proxy::{Fault, Proxy};
    let proxy = Proxy::start(
        &[Fault::Forward, Fault::Forward, Fault::ForwardTruncated(MIB)],
        Fault::Forward,
    )
    .await;
    config.client.endpoint = Some(proxy.endpoint.clone());
    config.create_bucket = false;
    let via_proxy = s3keep::BackupStore::new(config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    via_proxy.restore(id, dir.path(), Default::default()).await.unwrap();
    assert!(
        std::fs::read(dir.path().join("big.bin")).unwrap() == big[..],
        "restored bytes differ"
    );
    // 2 manifests + 3 ranges + the one range restarted.
    assert_eq!(via_proxy.client().request_count("GetObject"), 6);
}
