//! Cross-binding interop (conformance/README.md, "Interop"): in the write phase each
//! binding saves backup `<binding index>/1/0` into a shared bucket (Rust also writes a
//! Zeebe-format fixture as `90/1/0`); in the read phase each binding lists, deep-verifies
//! and restores every backup there, and prints one matrix line per (writer → reader) and
//! the status document of each backup read (compared with `s3keep status --json` by
//! scripts/interop.sh). Each phase also does the same with an encrypted store
//! (interop_encrypted.rs).

use std::collections::BTreeMap;

use bytes::Bytes;
use s3keep::backup::{FileSet, ListFilter, RestoreOptions, SaveOptions};
use s3keep::s3::PutOptions;
use s3keep::{BackupId, BackupInfo, BackupStore, StoreConfig};

use crate::check::compare_tree;
use crate::gen::{Content, Sets};
use crate::steps;

/// Binding names and their partition (the "binding index").
pub const BINDINGS: [(&str, u32); 7] = [
    ("rust", 1),
    ("python", 2),
    ("node", 3),
    ("deno", 4),
    ("bun", 5),
    ("workerd", 6),
    ("cli", 7),
];
/// This runner.
const ME: &str = "rust";
/// The partition of the Zeebe-format fixture written by the Rust writer.
pub const ZEEBE_PARTITION: u32 = 90;
const CHECKPOINT: u64 = 1;
const PREFIX: &str = "interop";
const FIVE_MIB: u64 = 5 * 1024 * 1024;

pub enum Phase {
    Write,
    Read,
}

pub struct Mode {
    bucket: String,
    phase: Phase,
    /// Writers whose backup must be present (`S3KEEP_INTEROP_EXPECT`, read phase).
    expect: Vec<String>,
}

impl Mode {
    /// The interop mode, when `S3KEEP_INTEROP_BUCKET` and `S3KEEP_INTEROP_PHASE` are set.
    pub fn from_env() -> Option<Mode> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let bucket = var("S3KEEP_INTEROP_BUCKET")?;
        let phase = match var("S3KEEP_INTEROP_PHASE")?.as_str() {
            "write" => Phase::Write,
            "read" => Phase::Read,
            other => {
                eprintln!("S3KEEP_INTEROP_PHASE must be write or read, not {other:?}");
                std::process::exit(2);
            }
        };
        let expect = var("S3KEEP_INTEROP_EXPECT")
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Some(Mode { bucket, phase, expect })
    }
}

/// The files every writer saves; `index` is its binding index (README, "Interop").
pub fn writer_sets(index: u32) -> Sets {
    let b = u64::from(index);
    let generated = |name: &str, size, seed| (name.to_string(), Content::Generated { size, seed });
    let mut sets = Sets::new();
    sets.insert(
        "files".into(),
        vec![
            generated("small.bin", 1000, b),
            generated("nested/dir/ünïcode name.txt", 100, b + 10),
            generated("empty.bin", 0, 0),
            generated("multipart.bin", FIVE_MIB + 1, b + 20),
        ],
    );
    sets.insert("segments".into(), vec![generated("00000001.log", 70_000, b + 30)]);
    sets
}

/// The Zeebe-format fixture's files (sets `snapshot` and `segments`).
fn zeebe_sets() -> Sets {
    let mut sets = Sets::new();
    sets.insert(
        "snapshot".into(),
        vec![
            ("000012.sst".into(), Content::Generated { size: 3000, seed: 91 }),
            ("CURRENT".into(), Content::Text("MANIFEST-000001\n".into())),
        ],
    );
    sets.insert(
        "segments".into(),
        vec![(
            "raft-partition-1.log".into(),
            Content::Generated { size: 70_000, seed: 92 },
        )],
    );
    sets
}

fn store_config(bucket: &str) -> StoreConfig {
    let mut config = StoreConfig::new(bucket).with_prefix(PREFIX);
    config.client = steps::client_config(bucket);
    config.part_size = FIVE_MIB;
    config.multipart_threshold = FIVE_MIB;
    config.create_bucket = true;
    config
}

pub async fn run(mode: Mode) -> bool {
    let store = match BackupStore::new(store_config(&mode.bucket)) {
        Ok(store) => store,
        Err(e) => {
            println!("interop: cannot open the store: {e}");
            return false;
        }
    };
    match mode.phase {
        Phase::Write => write(&store, &mode.bucket).await,
        Phase::Read => {
            let (passed, failed) = read(&store, &mode.expect).await;
            let (e_passed, e_failed) = crate::interop_encrypted::read(&mode.bucket, ME, &mode.expect).await;
            let (passed, failed) = (passed + e_passed, failed + e_failed);
            println!("{passed} passed, {failed} failed, 0 skipped");
            failed == 0
        }
    }
}

async fn write(store: &BackupStore, bucket: &str) -> bool {
    let index = BINDINGS.iter().find(|(n, _)| *n == ME).expect("listed").1;
    let result = async {
        store.ensure_bucket().await?;
        save_sets(store, index, ME, writer_sets(index)).await?;
        write_zeebe_fixture(store).await?;
        crate::interop_encrypted::write(bucket, ME, index).await
    }
    .await;
    match result {
        Ok(()) => {
            println!(
                "interop write {ME}: ok ({index}/{CHECKPOINT}/0 plain and encrypted, and zeebe {ZEEBE_PARTITION}/{CHECKPOINT}/0)"
            );
            true
        }
        Err(e) => {
            println!("interop write {ME}: FAILED: {e}");
            false
        }
    }
}

/// Saves `sets` as backup `INDEX/1/0` with the metadata `binding=ME`: what every writer
/// saves, into the plain and the encrypted store.
pub async fn save_sets(store: &BackupStore, index: u32, me: &str, sets: Sets) -> s3keep::Result<()> {
    let sets = sets
        .into_iter()
        .map(|(set, files)| FileSet::from_bytes(set, files.into_iter().map(|(n, c)| (n, Bytes::from(c.bytes())))))
        .collect();
    let options = SaveOptions {
        user_metadata: BTreeMap::from([("binding".to_string(), me.to_string())]),
        ..SaveOptions::default()
    };
    store.save(BackupId::new(index, CHECKPOINT, 0), sets, options).await?;
    Ok(())
}

/// Writes `90/1/0` as Zeebe's S3 backup store does: plain PutObjects, no `formatVersion`,
/// a status without timestamps.
async fn write_zeebe_fixture(store: &BackupStore) -> s3keep::Result<()> {
    let id = BackupId::new(ZEEBE_PARTITION, CHECKPOINT, 0);
    let folder = store.layout().backup_prefix(&id);
    let client = store.client();
    for (set, files) in zeebe_sets() {
        for (name, content) in files {
            client
                .put_object(
                    &format!("{folder}{set}/{name}"),
                    content.bytes().into(),
                    &PutOptions::default(),
                )
                .await?;
        }
    }
    let metadata = serde_json::json!({
        "checkpointId": CHECKPOINT, "partitionId": ZEEBE_PARTITION, "nodeId": 0,
        "checkpointPosition": 1234, "snapshotId": "1-2-3-4", "numberOfPartitions": 3,
        "snapshotFileNames": ["000012.sst", "CURRENT"],
        "segmentFileNames": ["raft-partition-1.log"],
    });
    let status = serde_json::json!({ "statusCode": "COMPLETED", "failureReason": null });
    for (name, doc) in [("metadata.json", metadata), ("status.json", status)] {
        let body = serde_json::to_vec(&doc).expect("JSON serialises");
        client
            .put_object(&format!("{folder}{name}"), body.into(), &PutOptions::default())
            .await?;
    }
    Ok(())
}

/// Reads every writer's plain backup; prints one line each; returns (passed, failed).
async fn read(store: &BackupStore, expect: &[String]) -> (u32, u32) {
    let listed = match store.list(ListFilter::default()).await {
        Ok(listed) => listed,
        Err(e) => {
            println!("interop read {ME}: FAILED: list: {e}");
            return (0, 1);
        }
    };
    let (mut passed, mut failed) = (0, 0);
    let mut seen = Vec::new();
    for info in &listed {
        let writer = match info.id.partition {
            ZEEBE_PARTITION => "zeebe",
            p => match BINDINGS.iter().find(|(_, i)| *i == p) {
                Some((name, _)) => name,
                None => continue,
            },
        };
        seen.push(writer.to_string());
        match read_one(store, info.id, writer).await {
            Ok(status) => {
                passed += 1;
                println!("interop {writer} -> {ME}: ok");
                let doc = serde_json::to_string(&status).expect("results serialise");
                println!("interop status-json {writer} -> {ME}: {doc}");
            }
            Err(why) => {
                failed += 1;
                println!("interop {writer} -> {ME}: FAILED: {why}");
            }
        }
    }
    for writer in expect.iter().filter(|w| !seen.contains(w)) {
        failed += 1;
        println!("interop {writer} -> {ME}: FAILED: no backup of {writer} in the bucket");
    }
    (passed, failed)
}

/// Its status, if the backup reads back exactly.
async fn read_one(store: &BackupStore, id: BackupId, writer: &str) -> Result<BackupInfo, String> {
    let info = store.status(id).await.map_err(|e| format!("status: {e}"))?;
    if info.status.as_str() != "COMPLETED" {
        return Err(format!("status {} (expected COMPLETED)", info.status));
    }
    let expected = if writer == "zeebe" {
        zeebe_sets()
    } else {
        let sets = writer_sets(id.partition);
        let size: u64 = sets.values().flatten().map(|(_, c)| c.size()).sum();
        let count = sets.values().map(|f| f.len() as u64).sum::<u64>();
        if info.file_count != Some(count) || info.total_size != Some(size) {
            return Err(format!(
                "status: {:?} files of {:?} bytes, expected {count} of {size}",
                info.file_count, info.total_size
            ));
        }
        if info.user_metadata.get("binding").map(String::as_str) != Some(writer) {
            return Err(format!("metadata {:?}, expected binding={writer}", info.user_metadata));
        }
        sets
    };
    verify_and_restore(store, id, expected).await?;
    Ok(info)
}

/// Deep-verifies backup `id`, restores it whole into a fresh directory and compares that
/// with `expected` (each set's files under `SET/`): the reader's check of every writer.
pub async fn verify_and_restore(store: &BackupStore, id: BackupId, expected: Sets) -> Result<(), String> {
    let report = store.verify(id, true).await.map_err(|e| format!("verify: {e}"))?;
    if !report.is_ok() {
        let problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
        return Err(format!("verify --deep: {}", problems.join("; ")));
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let all = RestoreOptions {
        root_set: None,
        ..RestoreOptions::default()
    };
    store
        .restore(id, dir.path(), all)
        .await
        .map_err(|e| format!("restore: {e}"))?;
    let tree = expected
        .into_iter()
        .flat_map(|(set, files)| files.into_iter().map(move |(n, c)| (format!("{set}/{n}"), c)))
        .collect();
    compare_tree(dir.path(), &tree).map_err(|f| format!("restore: {}", f.message()))
}
