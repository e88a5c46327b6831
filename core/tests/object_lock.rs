//! Object Lock tied to retention (§12) against MinIO: a locked store records its policy in
//! `s3keep.json`; saves lock every object they write for the policy's minimum age and
//! extend the packs they reuse; delete and prune skip what is still locked and say until
//! when; garbage collection leaves locked packs alone.

mod support;

use std::path::Path;
use std::time::Duration;

use s3keep::backup::{DeleteOptions, FileSet, RestoreOptions, SaveOptions};
use s3keep::object_lock::parse_lock_policy;
use s3keep::retention::RetentionPolicy;
use s3keep::s3::{LockMode, Retention};
use s3keep::{BackupId, BackupStore, Error, StoreConfig};
use time::OffsetDateTime;

fn skip() -> bool {
    let m = support::minio();
    if !m.has("objectLock") {
        println!("skipped: requires objectLock, which the provider {} lacks", m.provider);
        return true;
    }
    false
}

async fn locked_config(mode: LockMode, policy: &str) -> StoreConfig {
    let mut config = support::fresh_format2_config().await;
    config.object_lock.mode = Some(mode);
    config.object_lock.policy = Some(parse_lock_policy(policy).unwrap());
    config
}

fn write_tree(root: &Path, seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    std::fs::create_dir_all(root.join("sub")).unwrap();
    let big: Vec<u8> = (0..6 * 1024 * 1024 + 17).map(|_| rng.u8(..)).collect();
    std::fs::write(root.join("big.bin"), big).unwrap();
    std::fs::write(root.join("sub/small.txt"), b"a small file\n").unwrap();
}

async fn save(store: &BackupStore, checkpoint: u64, dir: &Path) -> s3keep::BackupInfo {
    let set = FileSet::from_dir("files", dir).unwrap();
    store
        .save(BackupId::new(1, checkpoint, 0), vec![set], SaveOptions::default())
        .await
        .unwrap()
}

/// Every key of the store but its descriptor and writer locks, with its retention.
async fn retentions(store: &BackupStore) -> Vec<(String, Option<Retention>)> {
    let prefix = store.layout().prefix().to_string();
    let mut out = Vec::new();
    for key in support::all_keys(store.client()).await {
        let rel = key.strip_prefix(&prefix).unwrap();
        if rel.starts_with("locks/") || rel.starts_with(".s3keep-probe") {
            continue;
        }
        out.push((key.clone(), store.client().get_object_retention(&key).await.unwrap()));
    }
    out
}

/// The retain-until date the store promises a backup created at `created_at`, whole seconds up.
fn until(created_at: OffsetDateTime, age: Duration) -> OffsetDateTime {
    let t = created_at + age;
    let whole = t.replace_nanosecond(0).unwrap();
    if whole < t {
        whole + time::Duration::SECOND
    } else {
        whole
    }
}

#[tokio::test]
async fn a_locked_store_records_its_policy_and_locks_every_object_of_every_save() {
    if skip() {
        return;
    }
    let store = support::store_for(locked_config(LockMode::Governance, "keep_daily=3,keep_within=1h").await).await;
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), 1);
    let first = save(&store, 1, dir.path()).await;

    let descriptor_key = format!("{}s3keep.json", store.layout().prefix());
    let descriptor: serde_json::Value = serde_json::from_slice(
        &store
            .client()
            .get_object(&descriptor_key, None)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(descriptor["retention"]["mode"], "GOVERNANCE", "{descriptor}");
    assert_eq!(descriptor["retention"]["keepDaily"], 3);
    assert_eq!(descriptor["retention"]["keepWithin"], "1h");
    assert_eq!(
        descriptor["retention"]["minimumAgeSeconds"],
        2 * 24 * 3600,
        "keep_daily=3 beats 1h"
    );

    let age = Duration::from_secs(2 * 24 * 3600);
    let first_until = until(first.created_at.unwrap(), age);
    let locked = retentions(&store).await;
    let kinds = ["data/", "index/", "status.json", "metadata.json", "manifest.json.zst"];
    for kind in kinds {
        assert!(
            locked.iter().any(|(k, _)| k.contains(kind)),
            "no {kind} object in {locked:?}"
        );
    }
    for (key, retention) in &locked {
        let r = retention.unwrap_or_else(|| panic!("{key} has no retention"));
        assert_eq!(r.mode, LockMode::Governance, "{key}");
        if key == &descriptor_key {
            // Locked when the store was created, moments after the backup started.
            assert!(r.retain_until >= first_until - time::Duration::SECOND, "{key}");
            continue;
        }
        assert_eq!(r.retain_until, first_until, "{key}");
    }

    // The second save writes only its own small objects and reuses the first one's packs:
    // they now carry its later date.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = save(&store, 2, dir.path()).await;
    let second_until = until(second.created_at.unwrap(), age);
    assert!(second_until > first_until);
    let mut index_locked_late = 0;
    for (key, retention) in retentions(&store).await {
        let r = retention.unwrap();
        if key.contains("/index/") {
            // The first save's own index objects, and the second's listing the packs it reuses.
            assert!(r.retain_until == first_until || r.retain_until == second_until, "{key}");
            index_locked_late += usize::from(r.retain_until == second_until);
            continue;
        }
        let expected = if key.contains("/1/1/0/") {
            first_until
        } else {
            second_until
        };
        assert_eq!(r.retain_until, expected, "{key}");
    }
    assert!(
        index_locked_late > 0,
        "the reused packs are listed by an index object locked as long"
    );
    let target = tempfile::tempdir().unwrap();
    store
        .restore(second.id, target.path(), RestoreOptions::default())
        .await
        .unwrap();
    assert_eq!(support::tree(target.path()), support::tree(dir.path()));

    // doctor --probe names the bucket's Object Lock and the store's own retention.
    let report = store.probe().await.unwrap();
    let line = report.line("object-lock").unwrap();
    assert_eq!(line.state, s3keep::backup::ProbeState::Pass, "{line:?}");
    assert!(line.message.contains("Object Lock is enabled"), "{line:?}");
    assert!(
        line.message
            .contains("locks every backup in GOVERNANCE mode for 2d (keep_daily=3,keep_within=1h)"),
        "{line:?}"
    );
}

#[tokio::test]
async fn delete_and_prune_skip_a_locked_backup_naming_the_date() {
    if skip() {
        return;
    }
    let store = support::store_for(locked_config(LockMode::Compliance, "keep_within=1h").await).await;
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), 2);
    let first = save(&store, 1, dir.path()).await;
    save(&store, 2, dir.path()).await;
    let date = until(first.created_at.unwrap(), Duration::from_secs(3600))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();

    let err = store.delete(first.id, DeleteOptions { force: true }).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_eq!(err.code(), Some("ObjectLocked"));
    assert!(err.to_string().contains(&date), "{err} names {date}");
    assert_eq!(
        store.status(first.id).await.unwrap().status,
        s3keep::StatusCode::Completed
    );

    let policy = RetentionPolicy {
        keep_last: Some(1),
        ..RetentionPolicy::default()
    };
    let report = store.prune(&policy, false).await.unwrap();
    assert!(report.deleted.is_empty(), "{report:?}");
    assert_eq!(report.locked.len(), 1, "{report:?}");
    assert_eq!(report.locked[0].0, first.id);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["locked"][0]["lockedUntil"], date.as_str());
    assert_eq!(
        store.status(first.id).await.unwrap().status,
        s3keep::StatusCode::Completed
    );
    let target = tempfile::tempdir().unwrap();
    store
        .restore(first.id, target.path(), RestoreOptions::default())
        .await
        .unwrap();
    assert_eq!(support::tree(target.path()), support::tree(dir.path()));
}

#[tokio::test]
async fn once_the_lock_expires_delete_works_and_gc_leaves_still_locked_packs_alone() {
    if skip() {
        return;
    }
    let mut config = locked_config(LockMode::Governance, "keep_within=3s").await;
    config.stale_after = Duration::from_secs(1); // GC's grace period for unused packs
    let store = support::store_for(config).await;
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), 3);
    let first = save(&store, 1, dir.path()).await;
    let packs = support::keys_under(&store, "data/").await;
    assert!(!packs.is_empty());
    // As a later save reusing them would: the packs stay locked longer than the backup.
    let later = Retention {
        mode: LockMode::Governance,
        retain_until: OffsetDateTime::now_utc() + Duration::from_secs(3600),
    };
    for pack in &packs {
        store.client().put_object_retention(pack, &later).await.unwrap();
    }
    assert!(matches!(
        store.delete(first.id, DeleteOptions::default()).await,
        Err(Error::Conflict(_))
    ));
    tokio::time::sleep(Duration::from_secs(4)).await;
    store.delete(first.id, DeleteOptions::default()).await.unwrap();
    assert_eq!(
        store.status(first.id).await.unwrap().status,
        s3keep::StatusCode::DoesNotExist
    );

    let report = store.prune(&RetentionPolicy::default(), false).await.unwrap();
    let gc = report.gc.unwrap();
    assert_eq!(gc.packs_locked, packs.len() as u64, "{gc:?}");
    assert_eq!(gc.packs_deleted, 0, "{gc:?}");
    assert_eq!(support::keys_under(&store, "data/").await, packs);
}

#[tokio::test]
async fn lock_options_are_checked_against_the_bucket_and_the_store() {
    if skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), 4);

    // A bucket without Object Lock: refused before anything is written.
    let plain = support::fresh_format2_store().await;
    let mut config = plain.config().clone();
    config.object_lock.mode = Some(LockMode::Governance);
    config.object_lock.policy = Some(parse_lock_policy("keep_daily=7").unwrap());
    let store = BackupStore::new(config).unwrap();
    let set = FileSet::from_dir("files", dir.path()).unwrap();
    let err = store
        .save(BackupId::new(1, 1, 0), vec![set], SaveOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    assert!(err.to_string().contains("has no Object Lock enabled"), "{err}");
    assert!(support::all_keys(plain.client()).await.is_empty());

    // A locked store: other lock options contradict it; none is fine.
    let locked = support::store_for(locked_config(LockMode::Governance, "keep_daily=7").await).await;
    save(&locked, 1, dir.path()).await;
    let mut other = locked.config().clone();
    other.object_lock.policy = Some(parse_lock_policy("keep_daily=8").unwrap());
    let set = FileSet::from_dir("files", dir.path()).unwrap();
    let err = BackupStore::new(other)
        .unwrap()
        .save(BackupId::new(1, 2, 0), vec![set], SaveOptions::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("keep_daily=7"), "{err}");
    let mut none = locked.config().clone();
    none.object_lock = Default::default();
    let unlocked_options = BackupStore::new(none).unwrap();
    let info = save(&unlocked_options, 3, dir.path()).await;
    let status_key = format!("{}1/3/0/status.json", locked.layout().prefix());
    let r = locked
        .client()
        .get_object_retention(&status_key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        r.retain_until,
        until(info.created_at.unwrap(), Duration::from_secs(6 * 86400))
    );
}

/// A user of the test MinIO allowed everything a writer does on `bucket` (read, write,
/// delete, delete versions, set retention) but not `s3:BypassGovernanceRetention`.
fn writer_user(bucket: &str) -> s3keep::s3::S3Client {
    let m = support::minio();
    let user = format!("writer{:08x}", fastrand::u32(..));
    let secret = format!("secret-{:016x}", fastrand::u64(..));
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject",
                       "s3:DeleteObjectVersion", "s3:ListBucket", "s3:ListBucketVersions",
                       "s3:PutObjectRetention", "s3:GetObjectRetention", "s3:GetBucketObjectLockConfiguration"],
            "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")]
        }]
    });
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), policy.to_string()).unwrap();
    let path = file.path().to_str().unwrap();
    m.mc(&["admin", "user", "add", &m.mc_alias, &user, &secret]);
    m.mc(&["admin", "policy", "create", &m.mc_alias, &user, path]);
    m.mc(&["admin", "policy", "attach", &m.mc_alias, &user, "--user", &user]);
    let mut c = s3keep::ClientConfig::new(bucket);
    c.endpoint = Some(m.endpoint.clone());
    c.region = m.region.clone();
    c.credentials = Some(s3keep::Credentials::new(&user, &secret));
    s3keep::s3::S3Client::new(c).unwrap()
}

#[tokio::test]
async fn a_ransomware_writer_cannot_change_what_a_locked_backup_restores() {
    let m = support::minio();
    if skip() || !m.has("mc") {
        println!("skipped: requires objectLock and mc");
        return;
    }
    let store = support::store_for(locked_config(LockMode::Governance, "keep_within=1d").await).await;
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), 5);
    let first = save(&store, 1, dir.path()).await;
    std::fs::write(dir.path().join("sub/new.txt"), b"second backup only\n").unwrap();
    let second = save(&store, 2, dir.path()).await;
    let expected = support::tree(dir.path());

    // The attacker holds a writer's credentials.
    let attacker = writer_user(&store.config().client.bucket);
    let prefix = store.layout().prefix().to_string();
    let versions = attacker.list_object_versions(&prefix).await.unwrap();
    let keys: std::collections::BTreeSet<String> = versions.versions.iter().map(|v| v.key.clone()).collect();
    assert!(keys.len() > 8, "{keys:?}");
    // 1. Deleting versions for good: refused for every locked one.
    for v in &versions.versions {
        let rel = v.key.strip_prefix(&prefix).unwrap();
        let result = attacker.delete_object_version(&v.key, &v.version_id).await;
        if rel.starts_with("locks/") || rel.starts_with(".s3keep-probe") {
            continue; // not locked (writer locks, the conditional-write probe's): may go
        }
        // S3 answers 403 AccessDenied; MinIO 400 InvalidRequest "Object is WORM protected".
        assert!(result.is_err(), "{}: deleted a locked version", v.key);
    }
    let after = attacker.list_object_versions(&prefix).await.unwrap();
    for v in &versions.versions {
        let rel = v.key.strip_prefix(&prefix).unwrap();
        if !rel.starts_with("locks/") && !rel.starts_with(".s3keep-probe") {
            assert!(after.versions.contains(v), "{} {} is gone", v.key, v.version_id);
        }
    }
    // 2. Deleting without a version id: only delete markers. 3. Overwriting every key.
    for key in &keys {
        attacker.delete_object(key).await.unwrap();
    }
    assert!(
        support::all_keys(store.client()).await.is_empty(),
        "everything looks deleted"
    );
    for key in &keys {
        attacker
            .put_object(
                key,
                bytes::Bytes::from_static(b"encrypted by ransomware; pay 1 BTC"),
                &Default::default(),
            )
            .await
            .unwrap();
    }

    // A fresh process (nothing cached) still restores both backups byte-exact.
    let reader = BackupStore::new(store.config().clone()).unwrap();
    for (info, tree) in [
        (&second, &expected),
        (&first, &{
            let mut t = expected.clone();
            t.remove("sub/new.txt");
            t
        }),
    ] {
        let target = tempfile::tempdir().unwrap();
        reader
            .restore(info.id, target.path(), RestoreOptions::default())
            .await
            .unwrap();
        assert_eq!(&support::tree(target.path()), tree, "backup {}", info.id);
    }
}
