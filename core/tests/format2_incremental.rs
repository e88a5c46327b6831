//! Format 2's incremental saves against MinIO (§11): what a second save uploads and
//! reads. Bytes are counted on the wire by a proxy in front of MinIO
//! (`support::proxy::Proxy::put_bytes`); files opened are counted by the kernel
//! (`support::opens::OpenWatch`, inotify).

mod support;

use std::path::Path;
use std::time::{Duration, SystemTime};

use s3keep::backup::{FileSet, RestoreOptions, SaveOptions};
use s3keep::format2::Manifest;
use s3keep::{BackupId, BackupStore};
use support::proxy::{Fault, Proxy};

const MIB: usize = 1024 * 1024;

fn random(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..len).map(|_| rng.u8(..)).collect()
}

/// Writes the file and dates it an hour back, so that no save takes it for one written
/// within the timestamp granularity before it started (docs/FORMAT.md, change detection).
fn write_old(root: &Path, rel: &str, bytes: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();
}

/// The same store seen through a proxy that records every request and its body size.
async fn through_proxy(store: &BackupStore) -> (BackupStore, Proxy) {
    let proxy = Proxy::start(&[], Fault::Forward).await;
    let mut config = store.config().clone();
    config.client.endpoint = Some(proxy.endpoint.clone());
    (support::store_for(config).await, proxy)
}

async fn save(store: &BackupStore, id: BackupId, dir: &Path) {
    let set = FileSet::from_dir("files", dir).unwrap();
    store.save(id, vec![set], SaveOptions::default()).await.unwrap();
}

async fn manifest(store: &BackupStore, id: BackupId) -> Manifest {
    let key = format!(
        "{}{}/{}/{}/manifest.json.zst",
        store.layout().prefix(),
        id.partition,
        id.checkpoint,
        id.node
    );
    let bytes = store
        .client()
        .get_object(&key, None)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    Manifest::from_stored(&key, &bytes).unwrap()
}

async fn count_under(store: &BackupStore, folder: &str) -> usize {
    let prefix = format!("{}{folder}", store.layout().prefix());
    support::all_keys(store.client())
        .await
        .iter()
        .filter(|k| k.starts_with(&prefix))
        .count()
}

#[tokio::test]
async fn second_save_of_an_unchanged_10000_file_tree_uploads_no_data_and_opens_no_file() {
    let store = support::fresh_format2_store().await;
    let src = tempfile::tempdir().unwrap();
    let mut rng = fastrand::Rng::with_seed(10_000);
    for i in 0..10_000 {
        let len = rng.usize(0..3000);
        write_old(src.path(), &format!("d{:02}/f{i:05}.txt", i % 100), &random(len, i));
    }
    save(&store, BackupId::new(0, 1, 0), src.path()).await;
    let (packs, indexes) = (count_under(&store, "data/").await, count_under(&store, "index/").await);

    let (watched, proxy) = through_proxy(&store).await;
    let opens = support::opens::OpenWatch::new(src.path());
    let id = BackupId::new(0, 2, 0);
    save(&watched, id, src.path()).await;
    let opened = opens.opened_files();
    assert!(
        opened.is_empty(),
        "{} files opened, e.g. {:?}",
        opened.len(),
        opened.first()
    );
    assert_eq!(proxy.put_bytes("/data/"), 0, "no pack bytes uploaded");
    assert_eq!(watched.client().request_count("UploadPart"), 0);
    assert_eq!(watched.client().request_count("CreateMultipartUpload"), 0);
    assert_eq!(count_under(&store, "data/").await, packs);
    assert_eq!(count_under(&store, "index/").await, indexes);
    // What it did send: a handful of requests, not one per file. `watched` is a new store
    // object, so its first save also probes conditional writes (five PutObjects, probe.rs).
    const PROBE_PUTS: u64 = 5;
    let puts = watched.client().request_count("PutObject");
    assert!(
        puts <= 6 + PROBE_PUTS,
        "{puts} PutObjects (the probe's five; status twice, lock, manifest, metadata)"
    );
    println!(
        "second save of 10,000 unchanged files: {} requests, {} PutObject, 0 pack bytes",
        proxy.requests().len(),
        puts
    );

    // The reused entries describe the files: the backup restores byte-exact (shallow and
    // deep verify clean, then a restore compared with the tree).
    assert_eq!(
        manifest(&store, id).await.file_sets,
        manifest(&store, BackupId::new(0, 1, 0)).await.file_sets
    );
    assert!(store.verify(id, true).await.unwrap().is_ok());
    let dst = tempfile::tempdir().unwrap();
    store.restore(id, dst.path(), RestoreOptions::default()).await.unwrap();
    assert_eq!(support::tree(dst.path()), support::tree(src.path()));
}

#[tokio::test]
async fn editing_one_byte_in_the_middle_of_a_64_mib_file_uploads_one_or_two_chunks() {
    let store = support::fresh_format2_store().await;
    let src = tempfile::tempdir().unwrap();
    let mut data = random(64 * MIB, 64);
    write_old(src.path(), "db.bin", &data);
    let first = BackupId::new(0, 1, 0);
    save(&store, first, src.path()).await;

    data[32 * MIB] ^= 0xff;
    std::fs::write(src.path().join("db.bin"), &data).unwrap();
    let (counted, proxy) = through_proxy(&store).await;
    let second = BackupId::new(0, 2, 0);
    save(&counted, second, src.path()).await;
    let uploaded = proxy.put_bytes("/data/");

    let (before, after) = (manifest(&store, first).await, manifest(&store, second).await);
    let old: std::collections::HashSet<_> = before.chunk_ids().collect();
    let new_chunks = after.chunk_ids().filter(|c| !old.contains(c)).count();
    println!(
        "one byte edited in 64 MiB ({} chunks): {new_chunks} new chunks, {uploaded} bytes of packs uploaded",
        after.chunk_ids().count()
    );
    assert!((1..=2).contains(&new_chunks), "{new_chunks} chunks changed");
    // Random data does not compress: a chunk is at most 8 MiB stored, plus 52 bytes of
    // header per blob and a 16-byte trailer.
    assert!(
        uploaded > 0 && uploaded <= (new_chunks * 8 * MIB + 1024) as u64,
        "{uploaded} bytes uploaded"
    );
    assert!(
        uploaded < (64 * MIB / 8) as u64,
        "{uploaded} bytes is not 'a few chunks' of 64 MiB"
    );

    let dst = tempfile::tempdir().unwrap();
    store
        .restore(second, dst.path(), RestoreOptions::default())
        .await
        .unwrap();
    assert!(std::fs::read(dst.path().join("db.bin")).unwrap() == data);
}

#[tokio::test]
async fn the_same_file_in_two_partitions_is_stored_once() {
    let store = support::fresh_format2_store().await;
    let src = tempfile::tempdir().unwrap();
    write_old(src.path(), "state.bin", &random(5 * MIB, 2));
    write_old(src.path(), "small.txt", b"partition-independent");
    save(&store, BackupId::new(1, 100, 0), src.path()).await;
    let packs = count_under(&store, "data/").await;

    let (counted, proxy) = through_proxy(&store).await;
    save(&counted, BackupId::new(2, 100, 0), src.path()).await;
    assert_eq!(
        proxy.put_bytes("/data/"),
        0,
        "the second partition uploads no pack bytes"
    );
    assert_eq!(count_under(&store, "data/").await, packs);
    for partition in [1, 2] {
        let dst = tempfile::tempdir().unwrap();
        store
            .restore(BackupId::new(partition, 100, 0), dst.path(), RestoreOptions::default())
            .await
            .unwrap();
        assert_eq!(support::tree(dst.path()), support::tree(src.path()));
    }
}

#[tokio::test]
async fn a_file_edited_within_the_timestamp_tick_is_read_again() {
    // Written just before the first save: its mtime is within 2 s of that save's start, so
    // the second save cannot trust an unchanged mtime and reads it (restic's rule).
    let store = support::fresh_format2_store().await;
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("racy.txt"), b"first").unwrap();
    write_old(src.path(), "old.txt", b"old");
    save(&store, BackupId::new(0, 1, 0), src.path()).await;
    let opens = support::opens::OpenWatch::new(src.path());
    save(&store, BackupId::new(0, 2, 0), src.path()).await;
    let opened: Vec<String> = opens
        .opened_files()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(opened, ["racy.txt"]);
}
