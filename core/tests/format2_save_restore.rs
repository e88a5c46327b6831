//! Format 2 (§11) end to end against MinIO: which format a store gets, save → restore
//! byte-exact, file by file reads, status and list, verify, and delete leaving packs.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use bytes::Bytes;
use s3keep::backup::{DeleteOptions, FileSet, ListFilter, RestoreOptions, SaveOptions};
use s3keep::{BackupId, BackupStore, Error, StatusCode};

const MIB: usize = 1024 * 1024;

/// Deterministic bytes: random stretches and repeated runs (so zstd has work to do and some
/// chunks shrink while others do not).
fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let run = rng.usize(1..64 * 1024).min(len - out.len());
        if rng.bool() {
            out.extend(std::iter::repeat_n(rng.u8(..), run));
        } else {
            out.extend((0..run).map(|_| rng.u8(..)));
        }
    }
    out
}

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Empty files, small files, a 40 MiB file, nested directories, and two identical files.
fn sample_tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    files.insert("empty".to_string(), Vec::new());
    files.insert("a/b/c/also-empty".to_string(), Vec::new());
    files.insert("a/small.txt".to_string(), b"hello format 2\n".to_vec());
    for i in 0..40 {
        files.insert(format!("a/b/many/{i:03}.py"), content(300 + i * 997, i as u64));
    }
    files.insert("big/forty.bin".to_string(), content(40 * MIB, 99));
    files.insert("twin/one.bin".to_string(), content(3 * MIB + 17, 7));
    files.insert("twin/two.bin".to_string(), content(3 * MIB + 17, 7));
    for (rel, bytes) in &files {
        write(root, rel, bytes);
    }
    files
}

async fn format2_store() -> BackupStore {
    support::fresh_format2_store().await
}

async fn save_dir(store: &BackupStore, id: BackupId, dir: &Path) -> s3keep::BackupInfo {
    let set = FileSet::from_dir("files", dir).unwrap();
    store.save(id, vec![set], SaveOptions::default()).await.unwrap()
}

#[tokio::test]
async fn a_new_store_is_format_2_and_a_tree_round_trips_byte_exact() {
    let store = format2_store().await;
    let src = tempfile::tempdir().unwrap();
    let files = sample_tree(src.path());
    let id = BackupId::new(0, 1, 0);
    let info = save_dir(&store, id, src.path()).await;
    assert_eq!(info.status, StatusCode::Completed);
    let total: usize = files.values().map(Vec::len).sum();
    assert_eq!(info.total_size, Some(total as u64));
    assert_eq!(info.file_count, Some(files.len() as u64));

    // The store descriptor says format 2; the backup's folder holds no file objects.
    let descriptor = store
        .client()
        .get_object(&format!("{}s3keep.json", store.layout().prefix()), None)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let descriptor: serde_json::Value = serde_json::from_slice(&descriptor).unwrap();
    assert_eq!(descriptor["formatVersion"], 2);
    let mut folder = support::keys_under(&store, "0/1/0/").await;
    folder.sort();
    let prefix = store.layout().prefix();
    assert_eq!(
        folder,
        ["manifest.json.zst", "metadata.json", "status.json"].map(|k| format!("{prefix}0/1/0/{k}"))
    );
    let packs = support::keys_under(&store, "data/").await;
    let stored: u64 = {
        let mut sum = 0;
        for key in &packs {
            sum += store.client().head_object(key).await.unwrap().size;
        }
        sum
    };
    // The twins are stored once: what is stored is less than the tree minus one twin.
    assert!(
        stored < (total - (3 * MIB + 17)) as u64,
        "{stored} bytes stored for {total} bytes of files"
    );
    assert!(!support::keys_under(&store, "index/").await.is_empty());
    assert!(
        support::keys_under(&store, "locks/").await.is_empty(),
        "a finished save leaves no lock"
    );

    // status and list read format 2 backups as they read format 1 ones.
    let status = store.status(id).await.unwrap();
    assert_eq!(
        (status.total_size, status.file_count),
        (info.total_size, info.file_count)
    );
    let listed = store.list(ListFilter::default()).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].id, listed[0].status), (id, StatusCode::Completed));

    // Restore into a directory, byte-exact.
    let dst = tempfile::tempdir().unwrap();
    let summary = store.restore(id, dst.path(), RestoreOptions::default()).await.unwrap();
    assert_eq!(summary.files_restored, files.len() as u64);
    assert_eq!(support::tree(dst.path()), files);

    // File by file, as the wasm binding reads.
    let plan = store.restore_plan(id).await.unwrap();
    assert_eq!(plan.file_count(), files.len() as u64);
    for entry in &plan.file_sets["files"] {
        let bytes = store.read_file(id, "files", entry).await.unwrap();
        assert_eq!(&bytes[..], &files[&entry.name][..], "{}", entry.name);
    }

    // Verify, shallow and deep: clean, nothing unreferenced.
    for deep in [false, true] {
        let report = store.verify(id, deep).await.unwrap();
        assert!(report.is_ok(), "deep={deep}: {:?}", report.problems);
        assert_eq!(report.files_checked, files.len() as u64);
        assert_eq!(report.bytes_checked, total as u64);
        assert!(report.notes.is_empty(), "{:?}", report.notes);
    }
}

#[tokio::test]
async fn identical_files_in_two_sets_and_bytes_sources_round_trip() {
    let store = format2_store().await;
    let twin = Bytes::from(content(2 * MIB + 5, 3));
    let sets = vec![
        FileSet::from_bytes(
            "snapshot",
            [
                ("CURRENT".to_string(), Bytes::from_static(b"MANIFEST-1\n")),
                ("data/000012.sst".to_string(), twin.clone()),
            ],
        ),
        FileSet::from_bytes(
            "segments",
            [
                ("raft-1.log".to_string(), twin.clone()),
                ("empty.log".to_string(), Bytes::new()),
            ],
        ),
    ];
    let id = BackupId::new(3, 5, 1);
    store.save(id, sets, SaveOptions::default()).await.unwrap();
    let dst = tempfile::tempdir().unwrap();
    store
        .restore(
            id,
            dst.path(),
            RestoreOptions {
                root_set: None,
                ..RestoreOptions::default()
            },
        )
        .await
        .unwrap();
    let tree = support::tree(dst.path());
    assert_eq!(tree["snapshot/data/000012.sst"], twin.to_vec());
    assert_eq!(tree["segments/raft-1.log"], twin.to_vec());
    assert_eq!(tree["snapshot/CURRENT"], b"MANIFEST-1\n");
    assert_eq!(tree["segments/empty.log"], b"");
    assert_eq!(tree.len(), 4);
    assert!(store.verify(id, true).await.unwrap().is_ok());
}

#[tokio::test]
async fn the_format_option_picks_a_new_store_and_must_agree_with_an_existing_one() {
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "a.txt", b"a");

    // format=1 on a new store: no descriptor, file objects as always.
    let mut config = support::fresh_format2_config().await;
    config.format = Some(1);
    let one = support::store_for(config.clone()).await;
    save_dir(&one, BackupId::new(0, 1, 0), src.path()).await;
    let keys = support::all_keys(one.client()).await;
    assert!(keys.iter().any(|k| k.ends_with("0/1/0/files/a.txt")), "{keys:?}");
    assert!(!keys.iter().any(|k| k.ends_with("s3keep.json")), "{keys:?}");
    // The default keeps a store with format 1 backups format 1; format=2 is refused.
    config.format = None;
    let default = support::store_for(config.clone()).await;
    save_dir(&default, BackupId::new(0, 2, 0), src.path()).await;
    let keys = support::all_keys(default.client()).await;
    assert!(keys.iter().any(|k| k.ends_with("0/2/0/files/a.txt")), "{keys:?}");
    config.format = Some(2);
    let two = support::store_for(config.clone()).await;
    let err = two
        .save(
            BackupId::new(0, 3, 0),
            vec![FileSet::from_dir("files", src.path()).unwrap()],
            SaveOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    assert_eq!(
        two.status(BackupId::new(0, 3, 0)).await.unwrap().status,
        StatusCode::DoesNotExist
    );

    // A format 2 store refuses format=1.
    let store = format2_store().await;
    save_dir(&store, BackupId::new(0, 1, 0), src.path()).await;
    let mut config = store.config().clone();
    config.format = Some(1);
    let one = support::store_for(config).await;
    let err = one
        .save(
            BackupId::new(0, 2, 0),
            vec![FileSet::from_dir("files", src.path()).unwrap()],
            SaveOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput(_)) && err.to_string().contains("format 2"),
        "{err}"
    );
    // A format other than 1 or 2 is refused before anything is sent.
    let mut config = store.config().clone();
    config.format = Some(3);
    assert!(matches!(BackupStore::new(config), Err(Error::InvalidInput(_))));
}

#[tokio::test]
async fn delete_removes_the_backup_folder_and_leaves_the_packs_for_gc() {
    let store = format2_store().await;
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "shared.bin", &content(MIB, 5));
    let (first, second) = (BackupId::new(0, 1, 0), BackupId::new(0, 2, 0));
    save_dir(&store, first, src.path()).await;
    save_dir(&store, second, src.path()).await;
    let packs = support::keys_under(&store, "data/").await;
    assert_eq!(packs.len(), 1, "the second save of the same tree writes no pack");

    let deleted = store.delete(first, DeleteOptions::default()).await.unwrap();
    assert_eq!(
        deleted.objects_deleted, 3,
        "status.json, metadata.json and the manifest"
    );
    assert!(support::keys_under(&store, "0/1/0/").await.is_empty());
    assert_eq!(
        support::keys_under(&store, "data/").await,
        packs,
        "packs stay for garbage collection"
    );
    assert_eq!(store.status(first).await.unwrap().status, StatusCode::DoesNotExist);
    let dst = tempfile::tempdir().unwrap();
    store
        .restore(second, dst.path(), RestoreOptions::default())
        .await
        .unwrap();
    assert_eq!(support::tree(dst.path()), support::tree(src.path()));
    // With the only backup using them gone, verify notes the packs as unreferenced.
    store.delete(second, DeleteOptions::default()).await.unwrap();
    let third = BackupId::new(1, 1, 0);
    let other = tempfile::tempdir().unwrap();
    write(other.path(), "x", b"x");
    save_dir(&store, third, other.path()).await;
    let report = store.verify(third, false).await.unwrap();
    assert!(report.is_ok());
    assert_eq!(report.notes.len(), 1, "{:?}", report.notes);
    assert!(report.notes[0].contains(&packs[0]), "{:?}", report.notes);
}

#[tokio::test]
async fn an_in_progress_backup_is_not_restored() {
    let store = format2_store().await;
    let src = tempfile::tempdir().unwrap();
    write(src.path(), "a", b"a");
    save_dir(&store, BackupId::new(0, 1, 0), src.path()).await;
    // A save whose source fails half-way is FAILED, and leaves no lock.
    let parts: Vec<s3keep::Result<Bytes>> = vec![
        Ok(Bytes::from(content(MIB, 1))),
        Err(Error::Io(s3keep::ErrorDetails::message("the disk went away"))),
    ];
    let set = FileSet {
        name: "files".into(),
        files: vec![s3keep::backup::FileSpec {
            name: "broken".into(),
            source: s3keep::backup::Source::Stream {
                size: None,
                stream: Box::pin(futures::stream::iter(parts)),
            },
        }],
    };
    let id = BackupId::new(0, 2, 0);
    let err = store.save(id, vec![set], SaveOptions::default()).await.unwrap_err();
    assert!(
        matches!(err, Error::Io(_)) && err.to_string().contains("the disk went away"),
        "{err}"
    );
    assert_eq!(store.status(id).await.unwrap().status, StatusCode::Failed);
    assert!(support::keys_under(&store, "locks/").await.is_empty());
    let err = store
        .restore(id, tempfile::tempdir().unwrap().path(), RestoreOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BackupNotCompleted(_)), "{err}");
}

#[tokio::test]
async fn a_second_restore_skips_what_is_there_and_links_below_the_target_are_not_followed() {
    let store = format2_store().await;
    let src = tempfile::tempdir().unwrap();
    let files = sample_tree(src.path());
    let id = BackupId::new(0, 1, 0);
    save_dir(&store, id, src.path()).await;
    let dst = tempfile::tempdir().unwrap();
    store.restore(id, dst.path(), RestoreOptions::default()).await.unwrap();

    // Resume: a damaged file and a symlink planted at a final name are restored again (the
    // link replaced, its target untouched); everything else is skipped.
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, b"outside the target").unwrap();
    std::fs::write(dst.path().join("a/small.txt"), b"damaged").unwrap();
    std::fs::remove_file(dst.path().join("twin/one.bin")).unwrap();
    std::os::unix::fs::symlink(&victim, dst.path().join("twin/one.bin")).unwrap();
    let summary = store.restore(id, dst.path(), RestoreOptions::default()).await.unwrap();
    assert_eq!(
        (summary.files_restored, summary.files_skipped),
        (2, files.len() as u64 - 2)
    );
    assert_eq!(support::tree(dst.path()), files);
    assert!(!std::fs::symlink_metadata(dst.path().join("twin/one.bin"))
        .unwrap()
        .is_symlink());
    assert_eq!(std::fs::read(&victim).unwrap(), b"outside the target");

    // A symlink where the backup needs a directory is refused, not followed.
    let dst = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), dst.path().join("big")).unwrap();
    let err = store
        .restore(id, dst.path(), RestoreOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Io(_)), "{err}");
    assert_eq!(
        std::fs::read_dir(outside.path()).unwrap().count(),
        1,
        "nothing written outside"
    );
}
