//! restore and verify (§4) against a real MinIO: round trips, status checks, integrity,
//! resumption, tampered metadata, Zeebe-written backups, cancellation.
mod support;

use support::tree;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use s3keep::backup::{
    BackupStore, FileSet, Progress, RestoreOptions, SaveOptions, StatusDoc, VerifyProblem, VerifyProblemKind,
};
use s3keep::runtime::CancelToken;
use s3keep::s3::PutOptions;
use s3keep::{BackupId, Credentials, Error, StatusCode, StoreConfig};

async fn store() -> BackupStore {
    let m = support::minio();
    let mut config = StoreConfig::new(support::fresh_bucket_name()).with_prefix("backups");
    config.client.endpoint = Some(m.endpoint.clone());
    config.client.region = m.region.clone();
    config.client.credentials = Some(Credentials::new(&m.access_key, &m.secret_key));
    config.create_bucket = true;
    // These tests are about format 1's objects (format2_*.rs has format 2's).
    config.format = Some(1);
    // Small multipart threshold so that the round trip also restores multipart objects.
    config.multipart_threshold = 5 * 1024 * 1024;
    config.part_size = 5 * 1024 * 1024;
    let store = BackupStore::new(config).unwrap();
    store.ensure_bucket().await.unwrap();
    store
}

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Hundreds of files in nested directories, empty ones, unicode and odd names, and one
/// file large enough to be saved by multipart.
fn sample_dir(root: &Path) -> BTreeMap<String, Vec<u8>> {
    for i in 0..300u32 {
        let content = format!("file {i}\n").repeat((i % 50) as usize); // i % 50 == 0: empty
        write(root, &format!("d{}/sub{}/f{i}.txt", i % 7, i % 3), content.as_bytes());
    }
    write(root, "é/ü ñ.txt", "ünïcødé".as_bytes());
    write(root, "日本語/データ.bin", &[0, 1, 2, 255]);
    write(root, "emoji-🙂.txt", b"smile");
    write(root, "a+b=c&d%20e.txt", b"reserved characters");
    write(root, ".hidden", b"");
    write(root, "top-empty", b"");
    let mut rng = fastrand::Rng::with_seed(7);
    let big: Vec<u8> = (0..11 * 1024 * 1024 + 123).map(|_| rng.u8(..)).collect();
    write(root, "big/blob.bin", &big);
    tree(root)
}

fn no_partial_files(root: &Path) {
    let partial: Vec<String> = tree(root)
        .into_keys()
        .filter(|k| k.contains("s3keep-partial"))
        .collect();
    assert!(partial.is_empty(), "temporary files left behind: {partial:?}");
}

async fn save_dir(store: &BackupStore, id: BackupId, dir: &Path) {
    let set = FileSet::from_dir("files", dir).unwrap();
    store.save(id, vec![set], SaveOptions::default()).await.unwrap();
}

async fn save_bytes(store: &BackupStore, id: BackupId, set: &str, files: &[(&str, &[u8])]) {
    let files = files.iter().map(|(n, b)| (n.to_string(), Bytes::copy_from_slice(b)));
    store
        .save(id, vec![FileSet::from_bytes(set, files)], SaveOptions::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn restore_round_trips_a_nested_dir_byte_exact() {
    let store = store().await;
    let src = tempfile::tempdir().unwrap();
    let expected = sample_dir(src.path());
    assert!(expected.len() > 300);
    let id = BackupId::new(0, 1, 0);
    save_dir(&store, id, src.path()).await;

    let dst = tempfile::tempdir().unwrap();
    let target = dst.path().join("restored");
    let files_done = Arc::new(AtomicU64::new(0));
    let last = Arc::new(std::sync::Mutex::new(Progress::default()));
    let (f, l) = (files_done.clone(), last.clone());
    let options = RestoreOptions {
        progress: Some(Arc::new(move |p: Progress| {
            f.store(p.files_done, Ordering::Relaxed);
            *l.lock().unwrap() = p;
        })),
        ..RestoreOptions::default()
    };
    let summary = store.restore(id, &target, options).await.unwrap();

    assert_eq!(tree(&target), expected, "restored tree differs from the saved one");
    let total: u64 = expected.values().map(|b| b.len() as u64).sum();
    assert_eq!(summary.files_restored, expected.len() as u64);
    assert_eq!(summary.files_skipped, 0);
    assert_eq!(summary.bytes_restored, total);
    let last = *last.lock().unwrap();
    assert_eq!((last.bytes_done, last.bytes_total), (total, total));
    assert_eq!(
        (last.files_done, last.files_total),
        (expected.len() as u64, expected.len() as u64)
    );
    no_partial_files(&target);

    let report = store.verify(id, true).await.unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.files_checked, expected.len() as u64);
    assert_eq!(report.bytes_checked, total);
}

#[tokio::test]
async fn other_sets_restore_into_subdirectories_or_alone_into_the_target() {
    let store = store().await;
    let id = BackupId::new(2, 5, 1);
    let sets = vec![
        FileSet::from_bytes("files", [("a.txt".to_string(), Bytes::from_static(b"A"))]),
        FileSet::from_bytes("segments", [("1.log".to_string(), Bytes::from_static(b"L"))]),
    ];
    store.save(id, sets, SaveOptions::default()).await.unwrap();

    let all = tempfile::tempdir().unwrap();
    store.restore(id, all.path(), RestoreOptions::default()).await.unwrap();
    let got: Vec<String> = tree(all.path()).into_keys().collect();
    assert_eq!(got, ["a.txt", "segments/1.log"]);

    let one = tempfile::tempdir().unwrap();
    store
        .restore(id, one.path(), RestoreOptions::only_set("segments"))
        .await
        .unwrap();
    assert_eq!(tree(one.path()), BTreeMap::from([("1.log".to_string(), b"L".to_vec())]));

    let none = tempfile::tempdir().unwrap();
    let err = store
        .restore(id, none.path(), RestoreOptions::only_set("nope"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    assert!(tree(none.path()).is_empty());
}

#[tokio::test]
async fn restore_and_verify_refuse_in_progress_failed_and_missing_backups() {
    let store = store().await;
    let in_progress = BackupId::new(0, 10, 0);
    let failed = BackupId::new(0, 11, 0);
    let now = time::OffsetDateTime::now_utc();
    for id in [in_progress, failed] {
        let doc = StatusDoc::new(StatusCode::InProgress, now, now);
        store
            .client()
            .put_object(
                &store.layout().status_key(&id),
                Bytes::from(doc.to_json()),
                &PutOptions::default(),
            )
            .await
            .unwrap();
    }
    store.mark_failed(failed, "disk full").await.unwrap();

    let dst = tempfile::tempdir().unwrap();
    let target = dst.path().join("t");
    for (id, code) in [(in_progress, "IN_PROGRESS"), (failed, "FAILED")] {
        let err = store.restore(id, &target, RestoreOptions::default()).await.unwrap_err();
        assert!(matches!(err, Error::BackupNotCompleted(_)), "{err}");
        assert_eq!(err.code(), Some(code));
        assert_eq!(err.key(), Some(id.to_string().as_str()));
        let err = store.verify(id, false).await.unwrap_err();
        assert!(matches!(err, Error::BackupNotCompleted(_)), "{err}");
    }
    let missing = BackupId::new(0, 12, 0);
    assert!(matches!(
        store.restore(missing, &target, RestoreOptions::default()).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(store.verify(missing, true).await, Err(Error::NotFound(_))));
    assert!(!target.exists(), "a refused restore created the target");
}

#[tokio::test]
async fn corrupted_object_fails_with_integrity_and_leaves_nothing_under_its_name() {
    let store = store().await;
    let id = BackupId::new(0, 20, 0);
    save_bytes(
        &store,
        id,
        "files",
        &[("dir/a.bin", b"original bytes"), ("b.txt", b"fine")],
    )
    .await;
    let key = store.layout().file_key(&id, "files", "dir/a.bin");
    // Same length, other bytes: only the CRC32C can tell.
    store
        .client()
        .put_object(&key, Bytes::from_static(b"tampered bytes"), &PutOptions::default())
        .await
        .unwrap();

    let dst = tempfile::tempdir().unwrap();
    let err = store
        .restore(id, dst.path(), RestoreOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Integrity(_)), "{err}");
    assert_eq!(err.key(), Some(key.as_str()));
    assert!(!dst.path().join("dir/a.bin").exists());
    no_partial_files(dst.path());

    // The file-by-file API (what the wasm binding uses) refuses the bytes as well.
    let metadata = store.restore_plan(id).await.unwrap();
    let entry = metadata.file_sets["files"]
        .iter()
        .find(|e| e.name == "dir/a.bin")
        .unwrap();
    assert!(matches!(
        store.read_file(id, "files", entry).await,
        Err(Error::Integrity(_))
    ));
    let good = metadata.file_sets["files"].iter().find(|e| e.name == "b.txt").unwrap();
    assert_eq!(
        store.read_file(id, "files", good).await.unwrap(),
        Bytes::from_static(b"fine")
    );

    // Shallow verify sees the right size; deep verify finds the checksum.
    assert!(store.verify(id, false).await.unwrap().is_ok());
    let deep = store.verify(id, true).await.unwrap();
    assert_eq!(deep.problems.len(), 1);
    assert_eq!(deep.problems[0].key, key);
    assert!(matches!(
        deep.problems[0].kind,
        VerifyProblemKind::ChecksumMismatch { .. }
    ));
}

#[tokio::test]
async fn verify_reports_missing_and_resized_objects_from_one_listing() {
    let store = store().await;
    let id = BackupId::new(0, 21, 0);
    save_bytes(&store, id, "files", &[("a", b"12345"), ("b", b"xyz"), ("c", b"")]).await;
    let key = |name| store.layout().file_key(&id, "files", name);
    store.client().delete_object(&key("a")).await.unwrap();
    store
        .client()
        .put_object(&key("b"), Bytes::from_static(b"longer"), &PutOptions::default())
        .await
        .unwrap();
    let report = store.verify(id, false).await.unwrap();
    assert!(!report.is_ok());
    assert_eq!(report.files_checked, 3);
    assert_eq!(
        report.problems,
        vec![
            VerifyProblem {
                key: key("a"),
                kind: VerifyProblemKind::Missing
            },
            VerifyProblem {
                key: key("b"),
                kind: VerifyProblemKind::SizeMismatch { expected: 3, actual: 6 }
            },
        ]
    );
}

#[tokio::test]
async fn restore_again_skips_files_already_present() {
    let store = store().await;
    let id = BackupId::new(0, 30, 0);
    let files: Vec<(String, Vec<u8>)> = (0..20).map(|i| (format!("f{i:02}"), vec![i as u8; i * 100])).collect();
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    save_bytes(&store, id, "files", &refs).await;

    let dst = tempfile::tempdir().unwrap();
    let first = store.restore(id, dst.path(), RestoreOptions::default()).await.unwrap();
    assert_eq!((first.files_restored, first.files_skipped), (20, 0));

    // Simulate a half-finished earlier run: one file damaged in place (same size), one
    // missing, one leftover temporary file.
    std::fs::write(dst.path().join("f05"), vec![0xEE; 500]).unwrap();
    std::fs::remove_file(dst.path().join("f07")).unwrap();
    std::fs::write(dst.path().join(".f07.s3keep-partial"), b"half").unwrap();
    // The object of an intact file is gone: a restore that downloaded it would fail.
    let gone = store.layout().file_key(&id, "files", "f10");
    store.client().delete_object(&gone).await.unwrap();

    let second = store.restore(id, dst.path(), RestoreOptions::default()).await.unwrap();
    assert_eq!((second.files_restored, second.files_skipped), (2, 18));
    assert_eq!(second.bytes_restored, 500 + 700);
    let expected: BTreeMap<String, Vec<u8>> = files.into_iter().collect();
    assert_eq!(tree(dst.path()), expected);
}

#[tokio::test]
async fn tampered_metadata_cannot_write_outside_the_target() {
    let store = store().await;
    let id = BackupId::new(0, 40, 0);
    save_bytes(&store, id, "files", &[("x", b"payload")]).await;
    let metadata_key = store.layout().metadata_key(&id);
    let original = store
        .client()
        .get_object(&metadata_key, None)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut json: serde_json::Value = serde_json::from_slice(&original).unwrap();

    let outer = tempfile::tempdir().unwrap();
    let target = outer.path().join("target");
    let attempts = [
        ("files", "../escaped"),
        ("files", "/tmp/s3keep-escaped"),
        ("files", "a/../../escaped"),
        ("files", "a\\..\\..\\escaped"),
        ("..", "escaped"),
    ];
    for (set, name) in attempts {
        // A good file first, so a restore that did not check every name first would write it.
        json["fileSets"] = serde_json::json!({
            set: [{"name": name, "size": 7, "crc32c": "AAAAAA=="}],
            "files0": [{"name": "x", "size": 7, "crc32c": "AAAAAA=="}],
        });
        store
            .client()
            .put_object(&metadata_key, Bytes::from(json.to_string()), &PutOptions::default())
            .await
            .unwrap();
        let err = store.restore(id, &target, RestoreOptions::default()).await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{set}/{name}: {err}");
        assert!(matches!(store.restore_plan(id).await, Err(Error::InvalidInput(_))));
    }
    assert!(
        tree(outer.path()).is_empty(),
        "something was written: {:?}",
        tree(outer.path()).keys()
    );
    assert!(!Path::new("/tmp/s3keep-escaped").exists());
}

#[tokio::test]
async fn zeebe_backup_restores_and_verifies_from_snapshots_folder() {
    let store = store().await;
    let id = BackupId::new(1, 50, 0);
    let folder = store.layout().backup_prefix(&id);
    let put = |key: String, body: &'static [u8]| {
        let client = store.client().clone();
        async move {
            client
                .put_object(&key, Bytes::from_static(body), &PutOptions::default())
                .await
                .unwrap()
        }
    };
    // As Zeebe's S3 backup store writes it, with the `snapshots/` folder some of its docs name (§3).
    put(
        format!("{folder}status.json"),
        br#"{"statusCode":"COMPLETED","failureReason":null}"#,
    )
    .await;
    put(
        format!("{folder}metadata.json"),
        br#"{"checkpointId":50,"partitionId":1,"nodeId":0,"checkpointPosition":9,
            "snapshotId":"1-1-1","numberOfPartitions":3,
            "snapshotFileNames":["CURRENT","000001.sst"],"segmentFileNames":["raft-1.log"]}"#,
    )
    .await;
    put(format!("{folder}snapshots/CURRENT"), b"MANIFEST-1\n").await;
    put(format!("{folder}snapshot/000001.sst"), b"sst bytes").await;
    put(format!("{folder}segments/raft-1.log"), b"").await;

    let dst = tempfile::tempdir().unwrap();
    let summary = store.restore(id, dst.path(), RestoreOptions::default()).await.unwrap();
    assert_eq!(summary.files_restored, 3);
    assert_eq!(
        tree(dst.path()),
        BTreeMap::from([
            ("segments/raft-1.log".to_string(), b"".to_vec()),
            ("snapshot/000001.sst".to_string(), b"sst bytes".to_vec()),
            ("snapshot/CURRENT".to_string(), b"MANIFEST-1\n".to_vec()),
        ])
    );
    let report = store.verify(id, true).await.unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!((report.files_checked, report.bytes_checked), (3, 20));
}

#[tokio::test]
async fn cancelled_restore_stops_and_removes_its_temporary_files() {
    let store = store().await;
    let id = BackupId::new(0, 60, 0);
    let big = vec![7u8; 8 * 1024 * 1024];
    save_bytes(&store, id, "files", &[("big.bin", &big)]).await;

    // Cancelled before it starts: nothing written.
    let cancel = CancelToken::new();
    cancel.cancel();
    let dst = tempfile::tempdir().unwrap();
    let options = RestoreOptions {
        cancel: Some(cancel),
        ..RestoreOptions::default()
    };
    let err = store.restore(id, &dst.path().join("t"), options).await.unwrap_err();
    assert!(matches!(err, Error::Cancelled(_)), "{err}");
    assert!(!dst.path().join("t").exists());

    // Cancelled by the first bytes received.
    let cancel = CancelToken::new();
    let trigger = cancel.clone();
    let options = RestoreOptions {
        cancel: Some(cancel),
        progress: Some(Arc::new(move |p: Progress| {
            if p.bytes_done > 0 {
                trigger.cancel();
            }
        })),
        ..RestoreOptions::default()
    };
    let err = store.restore(id, dst.path(), options).await.unwrap_err();
    assert!(matches!(err, Error::Cancelled(_)), "{err}");
    // No temporary file is left. The file itself may be there, whole, when its last bytes
    // and rename beat the cancellation (8 MiB can arrive in one burst): a later restore
    // skips it. The restore still reports the cancellation, whichever task won.
    let left = tree(dst.path());
    assert!(
        left.iter().all(|(name, bytes)| name == "big.bin" && *bytes == big),
        "left behind: {:?}",
        left.keys()
    );
}
