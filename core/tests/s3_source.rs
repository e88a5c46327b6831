//! S3 to S3 against MinIO (§13): a bucket prefix saved into the store and restored into a
//! third bucket, byte-exact; incremental saves; the server-side copy path; a source that
//! disappears mid-save. Requests are counted on the wire by a proxy in front of MinIO
//! (`support::proxy::Proxy`): a source reached through it is on another endpoint than the
//! store (the streaming path), a store and source both reached through it share one.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt as _, TryStreamExt as _};
use s3keep::backup::{BucketUrl, FileSet, RestoreOptions, SaveOptions};
use s3keep::s3::{PutOptions, S3Client};
use s3keep::{BackupId, BackupStore, Credentials, StatusCode, StoreConfig};
use support::proxy::{Fault, Proxy};

const MIB: usize = 1024 * 1024;

fn random(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..len).map(|_| rng.u8(..)).collect()
}

/// A fresh bucket on the test MinIO and its client.
async fn fresh_bucket() -> (String, S3Client) {
    let bucket = support::fresh_bucket_name();
    let client = support::client_for(&bucket);
    client.create_bucket().await.unwrap();
    (bucket, client)
}

/// Puts every object (32 at once).
async fn put_all(client: &S3Client, objects: &BTreeMap<String, Vec<u8>>) {
    futures::stream::iter(objects.iter())
        .map(|(key, bytes)| async move {
            client
                .put_object(key, Bytes::from(bytes.clone()), &PutOptions::default())
                .await
                .unwrap();
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
}

/// Every object of the bucket under `prefix`, read with a plain client: key → bytes.
async fn read_all(client: &S3Client, prefix: &str) -> BTreeMap<String, Vec<u8>> {
    let keys: Vec<String> = support::all_keys(client)
        .await
        .into_iter()
        .filter(|k| k.starts_with(prefix))
        .collect();
    futures::stream::iter(keys)
        .map(|key| async move {
            let bytes = client.get_object(&key, None).await.unwrap().bytes().await.unwrap();
            (key, bytes.to_vec())
        })
        .buffer_unordered(32)
        .collect()
        .await
}

/// `count` objects under `data/` of 0 to 3 KiB, some in sub-folders, and two above the
/// multipart threshold (5 MiB here): the source of the round trip.
fn source_objects(count: usize, seed: u64) -> BTreeMap<String, Vec<u8>> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut objects = BTreeMap::new();
    for i in 0..count {
        let key = if i % 7 == 0 {
            format!("data/d{}/o{i:05}", i % 13)
        } else {
            format!("data/o{i:05}")
        };
        objects.insert(key, random(rng.usize(..3072), seed + i as u64));
    }
    objects.insert("data/big/one".into(), random(12 * MIB + 17, seed ^ 1));
    objects.insert("data/big/two".into(), random(5 * MIB + 1, seed ^ 2));
    objects
}

fn url(bucket: &str, prefix: &str, endpoint: &str) -> String {
    format!(
        "s3://{bucket}/{prefix}?endpoint={endpoint}&region={}",
        support::minio().region
    )
}

/// The store with small parts, so that the big objects go by multipart.
async fn store(format: u8) -> BackupStore {
    let mut config: StoreConfig = support::fresh_store_config().await;
    config.format = Some(format);
    config.part_size = 5 * MIB as u64;
    config.multipart_threshold = 5 * MIB as u64;
    let m = support::minio();
    // The source is reached through a proxy, another endpoint: it needs credentials of its own.
    config.remote.credentials = Some(Credentials::new(&m.access_key, &m.secret_key));
    support::store_for(config).await
}

/// GetObject requests the proxy saw for keys of `bucket`.
fn gets_of(proxy: &Proxy, bucket: &str) -> usize {
    let line = format!("GET /{bucket}/");
    proxy
        .requests()
        .iter()
        .filter(|h| h.starts_with(&line) && !h.lines().next().unwrap_or("").contains("list-type"))
        .count()
}

async fn round_trip_and_incremental(format: u8) {
    let store = store(format).await;
    let (src, src_client) = fresh_bucket().await;
    let mut objects = source_objects(2500, 7);
    put_all(&src_client, &objects).await;
    let proxy = Proxy::start(&[], Fault::Forward).await;
    let set = FileSet::from_url("db", &url(&src, "data", &proxy.endpoint)).unwrap();
    let first = BackupId::new(0, 1, 0);
    let info = store.save(first, vec![set], SaveOptions::default()).await.unwrap();
    assert_eq!(info.status, StatusCode::Completed);
    assert_eq!(info.file_count, Some(objects.len() as u64));
    // Every object was read once (empty ones need no GetObject).
    let non_empty = objects.values().filter(|v| !v.is_empty()).count();
    assert_eq!(gets_of(&proxy, &src), non_empty);

    // Restore into a third bucket (on the store's endpoint: the store's credentials).
    let (dst, dst_client) = fresh_bucket().await;
    let target = BucketUrl::parse(&url(&dst, "restored", &support::minio().endpoint)).unwrap();
    let report = store
        .restore_to_bucket(first, &target, RestoreOptions::only_set("db"))
        .await
        .unwrap();
    assert_eq!(report.files_restored, objects.len() as u64);
    let restored = read_all(&dst_client, "restored/").await;
    let expected: BTreeMap<String, Vec<u8>> = objects
        .iter()
        .map(|(k, v)| (format!("restored/{}", k.strip_prefix("data/").unwrap()), v.clone()))
        .collect();
    assert_eq!(restored.len(), expected.len());
    assert!(restored == expected, "the restored bucket differs from the source");

    // Change 10 objects: the next save reads only those.
    let changed: Vec<String> = objects.keys().step_by(250).take(10).cloned().collect();
    for (n, key) in changed.iter().enumerate() {
        let bytes = random(1000 + n, 99 + n as u64);
        objects.insert(key.clone(), bytes);
    }
    let changed_objects: BTreeMap<String, Vec<u8>> = changed.iter().map(|k| (k.clone(), objects[k].clone())).collect();
    put_all(&src_client, &changed_objects).await;
    proxy.reset();
    let second = BackupId::new(0, 2, 0);
    let set = FileSet::from_url("db", &url(&src, "data", &proxy.endpoint)).unwrap();
    store.save(second, vec![set], SaveOptions::default()).await.unwrap();
    assert_eq!(gets_of(&proxy, &src), 10, "only the 10 changed objects are read again");

    let (dst2, dst2_client) = fresh_bucket().await;
    let target = BucketUrl::parse(&url(&dst2, "", &support::minio().endpoint)).unwrap();
    store
        .restore_to_bucket(second, &target, RestoreOptions::only_set("db"))
        .await
        .unwrap();
    let restored = read_all(&dst2_client, "").await;
    let expected: BTreeMap<String, Vec<u8>> = objects
        .iter()
        .map(|(k, v)| (k.strip_prefix("data/").unwrap().to_string(), v.clone()))
        .collect();
    assert!(restored == expected, "the second backup restores the changed source");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn format2_bucket_to_store_to_bucket_2500_objects_and_incremental() {
    round_trip_and_incremental(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn format1_bucket_to_store_to_bucket_2500_objects_and_incremental() {
    round_trip_and_incremental(1).await;
}

/// Format 1, source and store on one endpoint with one access key: every object is copied
/// by the server. The proxy sees no GetObject of the source and no object bytes sent, and
/// the CRC32C recorded for each file is that of its bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_copy_moves_no_object_bytes_through_the_client() {
    let proxy = Proxy::start(&[], Fault::Forward).await;
    let mut config = support::fresh_store_config().await;
    config.client.endpoint = Some(proxy.endpoint.clone());
    let store = support::store_for(config).await;
    let (src, src_client) = fresh_bucket().await;
    let mut objects = BTreeMap::new();
    for i in 0..40 {
        objects.insert(format!("p/o{i:02}"), random(i * 300, i as u64));
    }
    objects.insert("p/big".into(), random(20 * MIB + 3, 5));
    put_all(&src_client, &objects).await;
    proxy.reset();
    let set = FileSet::from_url("db", &url(&src, "p", &proxy.endpoint)).unwrap();
    let id = BackupId::new(0, 1, 0);
    store.save(id, vec![set], SaveOptions::default()).await.unwrap();
    let requests = proxy.requests();
    assert_eq!(gets_of(&proxy, &src), 0, "no source object was read");
    let copies = requests.iter().filter(|h| h.contains("x-amz-copy-source:")).count();
    assert_eq!(copies, objects.len(), "one CopyObject per object");
    let bucket = store.config().client.bucket.clone();
    let files = format!("/{bucket}/backups/0/1/0/db/");
    assert_eq!(proxy.put_bytes(&files), 0);
    // The CRC32C came with each copy's answer (MinIO honours x-amz-checksum-algorithm on
    // CopyObject and answers it in the x-amz-checksum-crc32c header): no HeadObject, no
    // verifying read of the copies.
    let count = |method: &str| {
        requests
            .iter()
            .filter(|h| h.starts_with(method) && h.lines().next().unwrap_or("").contains(&files))
            .count()
    };
    assert_eq!(count("HEAD "), 0, "the copies' checksums were asked for");
    assert_eq!(count("GET "), 0, "the copies were read back");

    let metadata = store.restore_plan(id).await.unwrap();
    for entry in &metadata.file_sets["db"] {
        let bytes = &objects[&format!("p/{}", entry.name)];
        assert_eq!(entry.size, Some(bytes.len() as u64));
        assert_eq!(
            entry.crc32c.as_deref(),
            Some(s3keep::s3::checksum::crc32c_base64(bytes).as_str()),
            "{}",
            entry.name
        );
    }
    let report = store.verify(id, true).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

/// The whole source prefix is deleted once the save has begun uploading: the save fails,
/// the backup is FAILED and no multipart upload is left open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_that_disappears_mid_save_fails_the_save_cleanly() {
    let mut config = support::fresh_store_config().await;
    config.part_size = 5 * MIB as u64;
    config.multipart_threshold = 5 * MIB as u64;
    config.concurrency = 2;
    let m = support::minio();
    config.remote.credentials = Some(Credentials::new(&m.access_key, &m.secret_key));
    let store = support::store_for(config).await;
    let (src, src_client) = fresh_bucket().await;
    let objects: BTreeMap<String, Vec<u8>> = (0..12)
        .map(|i| (format!("gone/o{i:02}"), random(11 * MIB, i)))
        .collect();
    put_all(&src_client, &objects).await;
    let proxy = Proxy::start(&[], Fault::Forward).await;
    let (started, mut begun) = tokio::sync::mpsc::unbounded_channel::<()>();
    let progress: Arc<dyn s3keep::backup::ProgressFn> = Arc::new(move |p: s3keep::report::Progress| {
        if p.bytes_done > 0 {
            let _ = started.send(());
        }
    });
    let deleter = {
        let client = src_client.clone();
        let keys: Vec<String> = objects.keys().cloned().collect();
        tokio::spawn(async move {
            begun.recv().await;
            for key in keys {
                client.delete_object(&key).await.unwrap();
            }
        })
    };
    let set = FileSet::from_url("db", &url(&src, "gone", &proxy.endpoint)).unwrap();
    let id = BackupId::new(0, 1, 0);
    let options = SaveOptions {
        progress: Some(progress),
        ..SaveOptions::default()
    };
    let err = store.save(id, vec![set], options).await.unwrap_err();
    deleter.await.unwrap();
    assert!(
        matches!(err, s3keep::Error::NotFound(_) | s3keep::Error::Conflict(_)),
        "{err:?}"
    );
    let status = store.status(id).await.unwrap();
    assert_eq!(status.status, StatusCode::Failed);
    let uploads: Vec<_> = store
        .client()
        .list_multipart_uploads("")
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .into_iter()
        .flat_map(|p| p.uploads)
        .collect();
    assert!(uploads.is_empty(), "uploads left open: {uploads:?}");
}

/// The store's credentials never go to a source on another endpoint: without credentials
/// of its own, the source is read unsigned (and MinIO refuses it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_credentials_are_not_sent_to_another_endpoint() {
    let store = support::fresh_store().await;
    let (src, src_client) = fresh_bucket().await;
    src_client
        .put_object("x/a", Bytes::from_static(b"a"), &PutOptions::default())
        .await
        .unwrap();
    let proxy = Proxy::start(&[], Fault::Forward).await;
    let set = FileSet::from_url("db", &url(&src, "x", &proxy.endpoint)).unwrap();
    let err = store
        .save(BackupId::new(0, 1, 0), vec![set], SaveOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, s3keep::Error::AccessDenied(_)), "{err:?}");
    assert!(
        proxy
            .requests()
            .iter()
            .all(|h| !h.to_ascii_lowercase().contains("authorization:")),
        "a request to the other endpoint was signed"
    );
}

/// UploadPartCopy (the path of objects above 5 GiB) on a small object: two ranges copied
/// by the server into a multipart upload pinned to the source's ETag; MinIO answers no
/// CRC32C for a part copy (the save then reads the copy back once: DESIGN.md §13); a
/// stale ETag is refused (412).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_part_copy_is_pinned_and_answers_each_part_crc32c() {
    let (bucket, client) = fresh_bucket().await;
    let bytes = random(7 * MIB + 5, 11);
    let put = client
        .put_object("src/obj", Bytes::from(bytes.clone()), &PutOptions::default())
        .await
        .unwrap();
    let source = s3keep::s3::CopySource {
        bucket: bucket.clone(),
        key: "src/obj".into(),
        etag: Some(put.etag.clone()),
    };
    let upload = client.create_multipart_upload_for_copy("dst/obj").await.unwrap();
    let cut = 5 * MIB as u64;
    let last = bytes.len() as u64 - 1;
    let (first_part, first_crc) = client
        .upload_part_copy("dst/obj", &upload, 1, &source, (0, cut - 1))
        .await
        .unwrap();
    let (second_part, second_crc) = client
        .upload_part_copy("dst/obj", &upload, 2, &source, (cut, last))
        .await
        .unwrap();
    // A checksum, when a store sends one, must be the range's.
    let crc_of = |b: &[u8]| s3keep::s3::checksum::crc32c_base64(b);
    eprintln!("part copy checksums: {first_crc:?} {second_crc:?}");
    for (crc, range) in [
        (first_crc, &bytes[..cut as usize]),
        (second_crc, &bytes[cut as usize..]),
    ] {
        if let Some(crc) = crc {
            assert_eq!(crc, crc_of(range));
        }
    }
    client
        .complete_multipart_upload("dst/obj", &upload, &[first_part, second_part])
        .await
        .unwrap();
    let copied = client.get_object("dst/obj", None).await.unwrap().bytes().await.unwrap();
    assert!(copied == bytes, "the copy differs");

    let stale = s3keep::s3::CopySource {
        etag: Some("\"0123456789abcdef0123456789abcdef\"".into()),
        ..source
    };
    let upload = client.create_multipart_upload_for_copy("dst/stale").await.unwrap();
    let err = client
        .upload_part_copy("dst/stale", &upload, 1, &stale, (0, cut - 1))
        .await
        .unwrap_err();
    assert!(matches!(err, s3keep::Error::Conflict(_)), "{err:?}");
    client.abort_multipart_upload("dst/stale", &upload).await.unwrap();
    let err = client.copy_object("dst/stale", &stale).await.unwrap_err();
    assert!(matches!(err, s3keep::Error::Conflict(_)), "{err:?}");
}

/// Slow (ignored by default; about 10 GiB written to MinIO, several minutes): a source
/// object of 5 GiB + 1 byte, above CopyObject's limit, saved into a format 1 store on the
/// same endpoint by UploadPartCopy, and recorded with the right size and CRC32C. Run with
/// `cargo test -p s3keep --test s3_source -- --ignored server_side_copy_above_5_gib`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: writes 10 GiB to MinIO"]
async fn server_side_copy_above_5_gib() {
    let store = support::fresh_store().await;
    let (src, src_client) = fresh_bucket().await;
    let part = Bytes::from(vec![0u8; 64 * MIB]);
    let part_crc = s3keep::s3::checksum::crc32c_base64(&part);
    let upload = src_client.create_multipart_upload("huge/zeros").await.unwrap();
    let mut parts = Vec::new();
    let mut crc = 0u32;
    for number in 1..=80u32 {
        parts.push(
            src_client
                .upload_part("huge/zeros", &upload, number, part.clone(), &part_crc)
                .await
                .unwrap(),
        );
        crc = crc32c::crc32c_combine(crc, crc32c::crc32c(&part), part.len());
    }
    let tail = Bytes::from_static(b"!");
    parts.push(
        src_client
            .upload_part(
                "huge/zeros",
                &upload,
                81,
                tail.clone(),
                &s3keep::s3::checksum::crc32c_base64(&tail),
            )
            .await
            .unwrap(),
    );
    crc = crc32c::crc32c_combine(crc, crc32c::crc32c(&tail), 1);
    src_client
        .complete_multipart_upload("huge/zeros", &upload, &parts)
        .await
        .unwrap();
    let size = 80 * 64 * MIB as u64 + 1;

    let set = FileSet::from_url("db", &url(&src, "huge", &support::minio().endpoint)).unwrap();
    let id = BackupId::new(0, 1, 0);
    store.save(id, vec![set], SaveOptions::default()).await.unwrap();
    assert_eq!(store.client().request_count("CopyObject"), 0);
    assert!(store.client().request_count("UploadPartCopy") >= 2);
    let metadata = store.restore_plan(id).await.unwrap();
    let entry = &metadata.file_sets["db"][0];
    assert_eq!(entry.size, Some(size));
    let expected = s3keep::s3::checksum::Crc32c::from_value(crc).to_base64();
    assert_eq!(entry.crc32c.as_deref(), Some(expected.as_str()));
    // Free the disk for the next test.
    src_client.delete_object("huge/zeros").await.unwrap();
    let key = format!("{}0/1/0/db/zeros", store.layout().prefix());
    store.client().delete_object(&key).await.unwrap();
}
