//! The encrypted half of interop (conformance/README.md, "Interop", "Encrypted"): every
//! writer also saves `<binding index>/1/0` into an encrypted store (prefix
//! `interop-encrypted`, the test age identity 1) of the shared bucket; every reader
//! deep-verifies and restores each of them with that identity, and checks that another
//! identity is refused with `KeyWrong` and no key with `KeyMissing` (`InvalidInput`).

use s3keep::backup::{ListFilter, RestoreOptions};
use s3keep::{BackupId, BackupStore, EncryptionOptions, Secret, StoreConfig};

use crate::gen::{Content, Sets};
use crate::interop::BINDINGS;
use crate::steps;

const PREFIX: &str = "interop-encrypted";
/// The test age identity 1 of the encryption cases (its recipient `age10d8fpx...`).
const IDENTITY: &str = "AGE-SECRET-KEY-1ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYGSUZRZYL";
/// The test age identity 2: a key that opens no key object of the store.
const OTHER_IDENTITY: &str = "AGE-SECRET-KEY-1YG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3Q0KAHAN";

/// The files every writer saves encrypted; `index` is its binding index (README).
pub fn writer_sets(index: u32) -> Sets {
    let b = u64::from(index);
    let generated = |name: &str, size, seed| (name.to_string(), Content::Generated { size, seed });
    let mut sets = Sets::new();
    sets.insert(
        "files".into(),
        vec![
            generated("small.bin", 1000, b + 40),
            generated("nested/dir/ünïcode name.txt", 100, b + 50),
        ],
    );
    sets.insert("segments".into(), vec![generated("00000001.log", 70_000, b + 60)]);
    sets
}

fn store(bucket: &str, identity: Option<&str>) -> s3keep::Result<BackupStore> {
    let mut config = StoreConfig::new(bucket).with_prefix(PREFIX);
    config.client = steps::client_config(bucket);
    config.encryption = EncryptionOptions {
        identity: identity.map(Secret::new),
        ..EncryptionOptions::default()
    };
    BackupStore::new(config)
}

/// Saves this writer's encrypted backup.
pub async fn write(bucket: &str, me: &str, index: u32) -> s3keep::Result<()> {
    crate::interop::save_sets(&store(bucket, Some(IDENTITY))?, index, me, writer_sets(index)).await
}

/// Reads every writer's encrypted backup; prints one line each; returns (passed, failed).
pub async fn read(bucket: &str, me: &str, expect: &[String]) -> (u32, u32) {
    let listed = match store(bucket, Some(IDENTITY)) {
        Ok(s) => s.list(ListFilter::default()).await.map(|l| (s, l)),
        Err(e) => Err(e),
    };
    let (store, listed) = match listed {
        Ok(found) => found,
        Err(e) => {
            println!("interop-encrypted read {me}: FAILED: list: {e}");
            return (0, 1);
        }
    };
    let (mut passed, mut failed) = (0, 0);
    let mut seen = Vec::new();
    for info in &listed {
        let Some((writer, _)) = BINDINGS.iter().find(|(_, i)| *i == info.id.partition) else {
            continue;
        };
        seen.push(writer.to_string());
        match read_one(&store, bucket, info.id).await {
            Ok(()) => {
                passed += 1;
                println!("interop-encrypted {writer} -> {me}: ok");
            }
            Err(why) => {
                failed += 1;
                println!("interop-encrypted {writer} -> {me}: FAILED: {why}");
            }
        }
    }
    for writer in expect.iter().filter(|w| *w != "zeebe" && !seen.contains(w)) {
        failed += 1;
        println!("interop-encrypted {writer} -> {me}: FAILED: no encrypted backup of {writer} in the bucket");
    }
    (passed, failed)
}

async fn read_one(store: &BackupStore, bucket: &str, id: BackupId) -> Result<(), String> {
    let info = store.status(id).await.map_err(|e| format!("status: {e}"))?;
    if info.status.as_str() != "COMPLETED" {
        return Err(format!("status {} (expected COMPLETED)", info.status));
    }
    // Sizes, file count and user metadata are sealed in an encrypted store (docs/FORMAT.md,
    // "Encryption": status.json and metadata.json say nothing of them): the restore checks.
    let sets = writer_sets(id.partition);
    crate::interop::verify_and_restore(store, id, sets).await?;
    let all = RestoreOptions {
        root_set: None,
        ..RestoreOptions::default()
    };
    // Another identity, then none: refused with the typed error, before anything is written.
    for (identity, code) in [(Some(OTHER_IDENTITY), "KeyWrong"), (None, "KeyMissing")] {
        let target = tempfile::tempdir().map_err(|e| e.to_string())?;
        let other = self::store(bucket, identity).map_err(|e| format!("open: {e}"))?;
        match other.restore(id, target.path(), all.clone()).await {
            Err(e) if e.kind() == "InvalidInput" && e.code() == Some(code) => {}
            Err(e) => return Err(format!("restore with key {code}: {} ({:?}): {e}", e.kind(), e.code())),
            Ok(_) => return Err(format!("restore without the right key succeeded (expected {code})")),
        }
        let written = std::fs::read_dir(target.path()).map_err(|e| e.to_string())?.count();
        if written != 0 {
            return Err(format!(
                "restore refused with {code} left {written} entries in the target"
            ));
        }
    }
    Ok(())
}
