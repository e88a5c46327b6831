//! Format 2 when things go wrong, against MinIO: a save killed with SIGKILL (the next save
//! reuses its packs), and packs damaged behind the store's back (restore and verify name
//! what is wrong).
//!
//! The kill test re-runs this test binary in a child process (as `store_slow.rs` does),
//! with `S3KEEP_CHILD_BUCKET` set so that the test plays the child's part.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use s3keep::backup::{FileSet, RestoreOptions, SaveOptions, VerifyProblemKind};
use s3keep::{BackupId, BackupStore, Error, StatusCode};
use support::proxy::{Fault, Proxy};

const MIB: usize = 1024 * 1024;

fn random(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..len).map(|_| rng.u8(..)).collect()
}

/// Six files of 16 MiB of random (incompressible) bytes: 96 MiB, six or seven packs.
fn big_tree(root: &Path) {
    for i in 0..6u64 {
        std::fs::write(root.join(format!("part-{i}.bin")), random(16 * MIB, i)).unwrap();
    }
}

async fn store_on(bucket: &str, endpoint: Option<&str>) -> BackupStore {
    let mut config = support::fresh_format2_config().await;
    config.client.bucket = bucket.to_string();
    config.concurrency = 2;
    if let Some(endpoint) = endpoint {
        config.client.endpoint = Some(endpoint.to_string());
    }
    support::store_for(config).await
}

/// The child: saves the tree through a proxy that delays every request by 300 ms, so
/// that the parent can kill it half-way.
async fn child_slow_save(bucket: &str, dir: &str) {
    let proxy = Proxy::start(&[], Fault::Delay(Duration::from_millis(300))).await;
    let store = store_on(bucket, Some(&proxy.endpoint)).await;
    let set = FileSet::from_dir("files", dir).unwrap();
    println!("child: saving");
    let _ = store
        .save(BackupId::new(0, 1, 0), vec![set], SaveOptions::default())
        .await;
    println!("child: save returned (it should have been killed)");
}

#[tokio::test]
async fn a_save_killed_with_sigkill_is_resumed_by_the_next_save() {
    if let (Ok(bucket), Ok(dir)) = (std::env::var("S3KEEP_CHILD_BUCKET"), std::env::var("S3KEEP_CHILD_DIR")) {
        return child_slow_save(&bucket, &dir).await;
    }
    let src = tempfile::tempdir().unwrap();
    big_tree(src.path());
    let bucket = support::fresh_bucket_name();
    let store = store_on(&bucket, None).await;
    let m = support::minio();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_save_killed_with_sigkill_is_resumed_by_the_next_save",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("S3KEEP_TEST_ENDPOINT", &m.endpoint)
        .env("S3KEEP_TEST_ACCESS_KEY", &m.access_key)
        .env("S3KEEP_TEST_SECRET_KEY", &m.secret_key)
        .env("S3KEEP_TEST_REGION", &m.region)
        .env("S3KEEP_CHILD_BUCKET", &bucket)
        .env("S3KEEP_CHILD_DIR", src.path())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Kill -9 once four packs are complete and indexed (of six or seven).
    let mut indexed = 0;
    for _ in 0..600 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        indexed = support::keys_under(&store, "index/").await.len();
        if indexed >= 4 {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(indexed >= 4, "the child indexed only {indexed} packs in 60 s");
    let killed = BackupId::new(0, 1, 0);
    assert_eq!(store.status(killed).await.unwrap().status, StatusCode::InProgress);
    assert_eq!(
        support::keys_under(&store, "locks/").await.len(),
        1,
        "the killed save's lock stays until stale"
    );

    // The next save of the same tree (another checkpoint) uploads only what is missing.
    let proxy = Proxy::start(&[], Fault::Forward).await;
    let counted = store_on(&bucket, Some(&proxy.endpoint)).await;
    let resumed = BackupId::new(0, 2, 0);
    let set = FileSet::from_dir("files", src.path()).unwrap();
    counted.save(resumed, vec![set], SaveOptions::default()).await.unwrap();
    let uploaded = proxy.put_bytes("/data/");
    let total = (96 * MIB) as u64;
    println!("after SIGKILL with {indexed} packs indexed: the next save uploaded {uploaded} of {total} bytes");
    assert!(uploaded < total / 2, "{uploaded} bytes uploaded again of {total}");

    let dst = tempfile::tempdir().unwrap();
    store
        .restore(resumed, dst.path(), RestoreOptions::default())
        .await
        .unwrap();
    assert_eq!(support::tree(dst.path()), support::tree(src.path()));
    let report = store.verify(resumed, true).await.unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
}

/// Saves one incompressible file; returns the store, the backup and its only pack's key.
async fn one_pack_backup(src: &Path) -> (BackupStore, BackupId, String) {
    let store = support::fresh_format2_store().await;
    std::fs::write(src.join("db.bin"), random(3 * MIB, 8)).unwrap();
    let id = BackupId::new(0, 1, 0);
    let set = FileSet::from_dir("files", src).unwrap();
    store.save(id, vec![set], SaveOptions::default()).await.unwrap();
    let packs = support::keys_under(&store, "data/").await;
    assert_eq!(packs.len(), 1);
    (store, id, packs[0].clone())
}

async fn overwrite(store: &BackupStore, key: &str, edit: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = store
        .client()
        .get_object(key, None)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    edit(&mut bytes);
    let put = s3keep::s3::PutOptions::default();
    store.client().put_object(key, Bytes::from(bytes), &put).await.unwrap();
}

async fn restore_fails_naming_the_file(store: &BackupStore, id: BackupId) {
    let dst = tempfile::tempdir().unwrap();
    let err = store
        .restore(id, dst.path(), RestoreOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Integrity(_)), "{err}");
    assert!(err.to_string().contains("db.bin"), "the error names the file: {err}");
    assert!(support::tree(dst.path()).is_empty(), "nothing is left under the target");
}

#[tokio::test]
async fn a_corrupted_pack_fails_restore_naming_the_file_and_deep_verify_names_the_pack() {
    let src = tempfile::tempdir().unwrap();
    let (store, id, pack) = one_pack_backup(src.path()).await;
    overwrite(&store, &pack, |b| b[MIB] ^= 0x01).await;

    restore_fails_naming_the_file(&store, id).await;
    let shallow = store.verify(id, false).await.unwrap();
    assert!(shallow.is_ok(), "same size: shallow verify cannot tell");
    let deep = store.verify(id, true).await.unwrap();
    assert_eq!(deep.problems.len(), 1, "{:?}", deep.problems);
    assert_eq!(deep.problems[0].key, pack);
    assert!(matches!(deep.problems[0].kind, VerifyProblemKind::Corrupt { .. }));
}

#[tokio::test]
async fn a_truncated_pack_fails_restore_and_both_verifies_name_the_pack() {
    let src = tempfile::tempdir().unwrap();
    let (store, id, pack) = one_pack_backup(src.path()).await;
    overwrite(&store, &pack, |b| b.truncate(b.len() / 2)).await;

    restore_fails_naming_the_file(&store, id).await;
    for deep in [false, true] {
        let report = store.verify(id, deep).await.unwrap();
        assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
        assert_eq!(report.problems[0].key, pack);
        assert!(matches!(
            report.problems[0].kind,
            VerifyProblemKind::SizeMismatch { .. }
        ));
    }
    // A missing pack: Missing, and restore still names the file.
    store.client().delete_object(&pack).await.unwrap();
    restore_fails_naming_the_file(&store, id).await;
    let report = store.verify(id, false).await.unwrap();
    assert_eq!(report.problems[0].key, pack);
    assert_eq!(report.problems[0].kind, VerifyProblemKind::Missing);
}
