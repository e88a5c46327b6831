//! Zeebe-written backups (§3 compatibility) and prune (§7) against MinIO.

mod support;

use std::collections::BTreeSet;

use bytes::Bytes;
use s3keep::backup::{DeleteOptions, ListFilter, RestoreOptions};
use s3keep::retention::{Action, RetentionPolicy};
use s3keep::s3::PutOptions;
use s3keep::{BackupId, BackupStore, StatusCode};
use time::macros::datetime;
use time::OffsetDateTime;

/// Writes a backup the way Zeebe's S3 store does: plain PutObjects, Zeebe's JSON shapes,
/// `snapshot/` (or the seed's `snapshots/`) and `segments/` folders.
async fn put_zeebe_backup(store: &BackupStore, id: BackupId, snapshot_folder: &str, status: &str) {
    let folder = store.layout().backup_prefix(&id);
    let put = |key: String, body: Vec<u8>| async move {
        store
            .client()
            .put_object(&key, body.into(), &PutOptions::default())
            .await
            .unwrap();
    };
    put(
        format!("{folder}{snapshot_folder}/000012.sst"),
        b"snapshot table".to_vec(),
    )
    .await;
    put(format!("{folder}{snapshot_folder}/CURRENT"), b"MANIFEST-1\n".to_vec()).await;
    put(format!("{folder}segments/raft-partition-1.log"), vec![7u8; 70_000]).await;
    let metadata = serde_json::json!({
        "checkpointId": id.checkpoint, "partitionId": id.partition, "nodeId": id.node,
        "checkpointPosition": 1234, "snapshotId": "1-2-3-4", "numberOfPartitions": 3,
        "snapshotFileNames": ["000012.sst", "CURRENT"],
        "segmentFileNames": ["raft-partition-1.log"],
    });
    put(format!("{folder}metadata.json"), serde_json::to_vec(&metadata).unwrap()).await;
    let status = serde_json::json!({ "statusCode": status, "failureReason": null });
    put(format!("{folder}status.json"), serde_json::to_vec(&status).unwrap()).await;
}

#[tokio::test]
async fn zeebe_backups_list_restore_verify_and_delete_like_native_ones() {
    let store = support::fresh_store().await;
    let a = BackupId::new(1, 100, 0);
    let b = BackupId::new(1, 200, 0);
    put_zeebe_backup(&store, a, "snapshot", "COMPLETED").await;
    put_zeebe_backup(&store, b, "snapshots", "COMPLETED").await;

    let listed = store.list(ListFilter::default()).await.unwrap();
    assert_eq!(listed.iter().map(|i| i.id).collect::<Vec<_>>(), [a, b]);
    for info in &listed {
        assert_eq!(info.status, StatusCode::Completed);
        // Zeebe writes no timestamps: they come from the status object's LastModified.
        let created = info.created_at.expect("createdAt from LastModified");
        assert!((OffsetDateTime::now_utc() - created).whole_minutes() < 10);
    }
    let status = store.status(a).await.unwrap();
    assert_eq!(status.file_count, Some(3));

    for id in [a, b] {
        let dir = tempfile::tempdir().unwrap();
        let options = RestoreOptions {
            root_set: None,
            ..RestoreOptions::default()
        };
        store.restore(id, dir.path(), options).await.unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("snapshot/000012.sst")).unwrap(),
            b"snapshot table"
        );
        assert_eq!(
            std::fs::read(dir.path().join("snapshot/CURRENT")).unwrap(),
            b"MANIFEST-1\n"
        );
        assert_eq!(
            std::fs::read(dir.path().join("segments/raft-partition-1.log")).unwrap(),
            vec![7u8; 70_000]
        );
        let report = store.verify(id, true).await.unwrap();
        assert!(report.is_ok(), "{:?}", report.problems);
    }

    store.delete(a, DeleteOptions::default()).await.unwrap();
    store.delete(b, DeleteOptions::default()).await.unwrap();
    assert!(store.list(ListFilter::default()).await.unwrap().is_empty());
}

/// A COMPLETED native backup with a chosen `createdAt`, for retention tests.
async fn put_backup_at(store: &BackupStore, id: BackupId, created_at: OffsetDateTime, status: StatusCode) {
    let folder = store.layout().backup_prefix(&id);
    let client = store.client();
    client
        .put_object(
            &format!("{folder}files/data"),
            Bytes::from_static(b"x"),
            &PutOptions::default(),
        )
        .await
        .unwrap();
    let metadata = s3keep::backup::Metadata::new(
        &id,
        Default::default(),
        Default::default(),
        Default::default(),
        created_at,
    );
    client
        .put_object(
            &store.layout().metadata_key(&id),
            metadata.to_json().into(),
            &PutOptions::default(),
        )
        .await
        .unwrap();
    let doc = s3keep::backup::StatusDoc::new(status, created_at, created_at);
    client
        .put_object(
            &store.layout().status_key(&id),
            doc.to_json().into(),
            &PutOptions::default(),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn prune_of_40_backups_with_daily_and_weekly_policy_keeps_exactly_the_plan() {
    let mut config = support::fresh_store_config().await;
    config.concurrency = 16;
    let store = support::store_for(config).await;
    // 40 backups, one every 6 hours from Wed 2024-01-03 06:00 UTC.
    let start = datetime!(2024-01-03 06:00 UTC);
    let mut all = Vec::new();
    for i in 0..40u64 {
        let at = start + time::Duration::hours(6 * i as i64);
        let id = BackupId::new(1, 1000 + i, 0);
        put_backup_at(&store, id, at, StatusCode::Completed).await;
        all.push((id, at));
    }
    // A FAILED one that only prune_failed removes, in another group.
    let failed = BackupId::new(2, 5, 0);
    put_backup_at(&store, failed, start, StatusCode::Failed).await;

    let policy = RetentionPolicy {
        keep_daily: Some(3),
        keep_weekly: Some(2),
        ..RetentionPolicy::default()
    };
    let dry = store.prune(&policy, true).await.unwrap();
    assert!(dry.deleted.is_empty());
    assert_eq!(
        store.list(ListFilter::default()).await.unwrap().len(),
        41,
        "a dry run deleted something"
    );
    let planned_keep: BTreeSet<BackupId> = dry.plan.to_keep().map(|e| e.id).collect();

    // Worked out by hand. Backup i is at 01-03 06:00 + 6 h × i: day 01-03 holds i = 0..=2,
    // then each day four (00, 06, 12, 18 h). keep_daily=3 keeps the newest of the last three
    // days: 01-13 00:00 (i 39), 01-12 18:00 (i 38), 01-11 18:00 (i 34). keep_weekly=2 keeps
    // the newest of ISO week 2 (i 39) and of week 1, Sunday 01-07 18:00 (i 18).
    let at = |i: u64| BackupId::new(1, 1000 + i, 0);
    let expected: BTreeSet<BackupId> = [at(39), at(38), at(34), at(18), failed].into_iter().collect();
    assert_eq!(
        planned_keep,
        expected,
        "plan: {:?}",
        dry.plan
            .entries
            .iter()
            .map(|e| (e.id.to_string(), e.action, e.reason))
            .collect::<Vec<_>>()
    );

    let done = store.prune(&policy, false).await.unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    assert_eq!(done.deleted.len(), 36);
    let remaining: BTreeSet<BackupId> = store
        .list(ListFilter::default())
        .await
        .unwrap()
        .iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(remaining, expected);
    // Deleted backups leave no objects behind.
    for (id, _) in &all {
        if !expected.contains(id) {
            let prefix = store.layout().backup_prefix(id);
            let page = store
                .client()
                .list_objects_v2_page(
                    &s3keep::s3::ListOptions {
                        prefix,
                        ..Default::default()
                    },
                    None,
                )
                .await
                .unwrap();
            assert!(page.objects.is_empty(), "{id} left objects");
        }
    }

    let with_failed = RetentionPolicy {
        prune_failed: true,
        ..policy
    };
    let outcome = store.prune(&with_failed, false).await.unwrap();
    assert_eq!(outcome.deleted, [failed]);
    assert!(
        outcome
            .plan
            .entries
            .iter()
            .filter(|e| e.action == Action::Delete)
            .count()
            == 1
    );
}
