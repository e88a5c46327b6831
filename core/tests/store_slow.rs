//! Crash safety, big files, big backups and memory, against MinIO (§4, §5).
//!
//! The slow tests are `#[ignore]`d so that a plain `cargo test` stays quick; the README's test
//! command (scripts/test.sh) runs them with `--include-ignored`. Tests that need a process to
//! kill or to measure re-run themselves in a child process with `S3KEEP_CHILD_BUCKET` set.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt as _;
use s3keep::backup::{DeleteOptions, FileSet, FileSpec, RestoreOptions, SaveOptions, Source};
use s3keep::{BackupId, StatusCode};

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

/// Runs the test `name` of this binary again in a child process with `env` (which holds
/// `S3KEEP_CHILD_BUCKET`, so the test plays the child's part); returns the child.
fn spawn_child(name: &str, env: &[(&str, String)]) -> std::process::Child {
    let m = support::minio();
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", name, "--include-ignored", "--nocapture", "--test-threads=1"])
        .env("S3KEEP_TEST_ENDPOINT", &m.endpoint)
        .env("S3KEEP_TEST_ACCESS_KEY", &m.access_key)
        .env("S3KEEP_TEST_SECRET_KEY", &m.secret_key)
        .env("S3KEEP_TEST_REGION", &m.region)
        .stdout(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    command.spawn().unwrap()
}

fn child_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

async fn store_on(bucket: &str, part_size: u64, concurrency: usize) -> s3keep::BackupStore {
    let mut config = support::fresh_store_config().await;
    config.client.bucket = bucket.to_string();
    config.part_size = part_size;
    config.multipart_threshold = part_size;
    config.concurrency = concurrency;
    support::store_for(config).await
}

/// A sparse file of `size` bytes with a few marked regions, so it is not all zeros.
fn sparse_file(dir: &std::path::Path, size: u64) -> std::path::PathBuf {
    use std::io::{Seek, SeekFrom, Write};
    let path = dir.join("sparse.bin");
    let mut f = std::fs::File::create(&path).unwrap();
    f.set_len(size).unwrap();
    for offset in [0, size / 3, size / 2 + 12345, size - 4096] {
        f.seek(SeekFrom::Start(offset)).unwrap();
        f.write_all(format!("marker at {offset}").as_bytes()).unwrap();
    }
    path
}

/// The child's part of `save_killed_midway_leaves_in_progress_never_completed`.
async fn child_slow_save(bucket: &str) {
    {
        let store = store_on(bucket, 5 * MIB, 2).await;
        // 40 MiB trickling in 1 MiB chunks, 100 ms apart: about 4 s, killed before the end.
        let chunks = futures::stream::unfold(0u32, |i| async move {
            if i == 40 {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            Some((Ok(Bytes::from(vec![i as u8; MIB as usize])), i + 1))
        });
        let set = FileSet {
            name: "files".into(),
            files: vec![FileSpec {
                name: "slow.bin".into(),
                source: Source::Stream {
                    size: Some(40 * MIB),
                    stream: Box::pin(chunks),
                },
            }],
        };
        println!("child: saving");
        let _ = store
            .save(BackupId::new(0, 1, 0), vec![set], SaveOptions::default())
            .await;
        println!("child: save returned (it should have been killed)");
    }
}

#[tokio::test]
async fn save_killed_midway_leaves_in_progress_never_completed() {
    if let Some(bucket) = child_env("S3KEEP_CHILD_BUCKET") {
        return child_slow_save(&bucket).await;
    }
    let bucket = support::fresh_bucket_name();
    let store = store_on(&bucket, 5 * MIB, 2).await;
    let id = BackupId::new(0, 1, 0);
    let mut child = spawn_child(
        "save_killed_midway_leaves_in_progress_never_completed",
        &[("S3KEEP_CHILD_BUCKET", bucket.clone())],
    );
    // Wait until the save has begun and its first parts are in flight, then kill -9.
    let mut begun = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if store.status(id).await.unwrap().status == StatusCode::InProgress {
            begun = true;
            break;
        }
    }
    assert!(begun, "the child never started its save");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child.kill().unwrap();
    child.wait().unwrap();

    let status = store.status(id).await.unwrap();
    assert_eq!(
        status.status,
        StatusCode::InProgress,
        "a killed save must stay IN_PROGRESS"
    );
    let metadata = store.client().head_object(&store.layout().metadata_key(&id)).await;
    assert!(
        matches!(metadata, Err(s3keep::Error::NotFound(_))),
        "metadata.json written by a killed save"
    );
    let restore = store
        .restore(id, tempfile::tempdir().unwrap().path(), RestoreOptions::default())
        .await;
    assert!(matches!(restore, Err(s3keep::Error::BackupNotCompleted(_))));

    // The next calls clean up: the orphaned multipart upload, then the backup itself.
    let aborted = store.cleanup_uploads(Duration::ZERO).await.unwrap().aborted;
    assert_eq!(aborted.len(), 1, "expected the killed save's multipart upload");
    store.delete(id, DeleteOptions { force: true }).await.unwrap();
    // Bucket-wide: MinIO matches ListMultipartUploads prefixes only against whole keys.
    let uploads: Vec<_> = store.client().list_multipart_uploads("").try_collect().await.unwrap();
    assert!(uploads.iter().all(|p| p.uploads.is_empty()));
    assert_eq!(store.status(id).await.unwrap().status, StatusCode::DoesNotExist);
}

#[tokio::test]
#[ignore = "slow: saves and restores 5 GiB + 1 MiB; run by scripts/test.sh"]
async fn file_just_over_5_gib_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let size = 5 * GIB + MIB;
    let path = sparse_file(dir.path(), size);
    let store = store_on(&support::fresh_bucket_name(), 16 * MIB, 8).await;
    let id = BackupId::new(0, 5, 0);
    let started = std::time::Instant::now();
    let set = FileSet {
        name: "files".into(),
        files: vec![FileSpec {
            name: "sparse.bin".into(),
            source: Source::Path(path.clone()),
        }],
    };
    let info = store.save(id, vec![set], SaveOptions::default()).await.unwrap();
    let saved = started.elapsed();
    assert_eq!(info.total_size, Some(size));
    // 5 GiB + 1 MiB in 16 MiB parts: 321 parts.
    assert_eq!(store.client().request_count("UploadPart"), 321);
    let target = tempfile::tempdir().unwrap();
    let summary = store
        .restore(id, target.path(), RestoreOptions::default())
        .await
        .unwrap();
    assert_eq!(summary.bytes_restored, size);
    let restored = target.path().join("sparse.bin");
    assert_eq!(std::fs::metadata(&restored).unwrap().len(), size);
    // restore verified the CRC32C of every byte; check the markers independently.
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(&restored).unwrap();
    for offset in [0, size / 3, size / 2 + 12345, size - 4096] {
        let expected = format!("marker at {offset}");
        let mut buf = vec![0u8; expected.len()];
        f.seek(SeekFrom::Start(offset)).unwrap();
        f.read_exact(&mut buf).unwrap();
        assert_eq!(buf, expected.as_bytes());
    }
    println!(
        "5 GiB + 1 MiB: save {:.1} s, save + restore {:.1} s",
        saved.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    store.delete(id, DeleteOptions::default()).await.unwrap();
}

/// The child's part of `saving_2_gib_keeps_peak_rss_under_the_bound`: saves, then prints
/// its peak RSS.
async fn child_save_2_gib(bucket: &str) {
    let path = std::path::PathBuf::from(child_env("S3KEEP_CHILD_FILE").unwrap());
    {
        let store = store_on(bucket, 16 * MIB, 4).await;
        let set = FileSet {
            name: "files".into(),
            files: vec![FileSpec {
                name: "big.bin".into(),
                source: Source::Path(path),
            }],
        };
        store
            .save(BackupId::new(0, 2, 0), vec![set], SaveOptions::default())
            .await
            .unwrap();
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let hwm = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = hwm.split_whitespace().nth(1).unwrap().parse().unwrap();
    println!("PEAK_RSS_KIB={kib}");
}

#[tokio::test]
#[ignore = "slow: saves 2 GiB in a child process; run by scripts/test.sh"]
async fn saving_2_gib_keeps_peak_rss_under_the_bound() {
    if let Some(bucket) = child_env("S3KEEP_CHILD_BUCKET") {
        return child_save_2_gib(&bucket).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = sparse_file(dir.path(), 2 * GIB);
    let bucket = support::fresh_bucket_name();
    store_on(&bucket, 16 * MIB, 4).await;
    let child = spawn_child(
        "saving_2_gib_keeps_peak_rss_under_the_bound",
        &[
            ("S3KEEP_CHILD_BUCKET", bucket),
            ("S3KEEP_CHILD_FILE", path.display().to_string()),
        ],
    );
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "the child save failed");
    let text = String::from_utf8_lossy(&output.stdout);
    let kib: u64 = text
        .lines()
        .find_map(|l| l.split("PEAK_RSS_KIB=").nth(1))
        .map(str::trim)
        .unwrap_or_else(|| panic!("the child printed no peak RSS; its output: {text}"))
        .parse()
        .unwrap();
    let bound = (16 * MIB * 4 + 64 * MIB) / 1024;
    println!(
        "peak RSS saving 2 GiB (16 MiB parts, 4 in flight): {} MiB, bound {} MiB",
        kib / 1024,
        bound / 1024
    );
    assert!(
        kib < bound,
        "peak RSS {kib} KiB is above part size × parts in flight + 64 MiB = {bound} KiB"
    );
}

#[tokio::test]
#[ignore = "slow: saves and deletes 25,000 files; run by scripts/test.sh"]
async fn delete_of_25000_files_leaves_nothing_behind() {
    let store = store_on(&support::fresh_bucket_name(), 16 * MIB, 64).await;
    let id = BackupId::new(4, 25_000, 0);
    let files = (0..25_000).map(|i| (format!("seg/{:03}/f{i:05}", i / 1000), Bytes::from(i.to_string())));
    store
        .save(id, vec![FileSet::from_bytes("segments", files)], SaveOptions::default())
        .await
        .unwrap();
    let deletes_before = store.client().request_count("DeleteObjects");
    let removed = store.delete(id, DeleteOptions::default()).await.unwrap();
    assert_eq!(removed.objects_deleted, 25_002);
    // ceil(25,002 / 1000) pages, one DeleteObjects each.
    assert_eq!(store.client().request_count("DeleteObjects") - deletes_before, 26);
    let page = store
        .client()
        .list_objects_v2_page(
            &s3keep::s3::ListOptions {
                prefix: store.layout().backup_prefix(&id),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert!(page.objects.is_empty(), "{} objects left behind", page.objects.len());
}
