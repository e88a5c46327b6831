//! The S3 client against the real MinIO (issue #3): every operation, paging, batch delete,
//! conditional writes, multipart upload, server-side checksum verification, awkward keys,
//! and the typed errors of §6.
mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{StreamExt as _, TryStreamExt as _};
use s3keep::s3::checksum::crc32c_base64;
use s3keep::s3::{CompletedPart, ListOptions, PutOptions, S3Client};
use s3keep::{ClientConfig, Credentials, Error, RetryConfig};

const MIB: usize = 1024 * 1024;

fn config(bucket: &str) -> ClientConfig {
    let m = support::minio();
    let mut c = ClientConfig::new(bucket);
    c.endpoint = Some(m.endpoint.clone());
    c.region = m.region.clone();
    c.credentials = Some(Credentials::new(&m.access_key, &m.secret_key));
    c
}

/// A client on a new, empty bucket.
async fn fresh_bucket() -> S3Client {
    let client = S3Client::new(config(&support::fresh_bucket_name())).unwrap();
    client.create_bucket().await.unwrap();
    client
}

/// A client on a bucket that was never created.
fn missing_bucket() -> S3Client {
    S3Client::new(config(&support::fresh_bucket_name())).unwrap()
}

/// `len` bytes that differ from offset to offset, so a misplaced range or part shows.
fn pattern(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0] ^ seed)
        .collect::<Vec<u8>>()
        .into()
}

async fn get(client: &S3Client, key: &str, range: Option<(u64, u64)>) -> Result<Bytes, Error> {
    client.get_object(key, range).await?.bytes().await
}

async fn all_keys(client: &S3Client, prefix: &str) -> Vec<String> {
    let options = ListOptions {
        prefix: prefix.into(),
        ..ListOptions::default()
    };
    let pages: Vec<_> = client.list_objects_v2(options).try_collect().await.unwrap();
    pages.into_iter().flat_map(|p| p.objects).map(|o| o.key).collect()
}

async fn put(client: &S3Client, key: &str, body: impl Into<Bytes>) {
    client
        .put_object(key, body.into(), &PutOptions::default())
        .await
        .unwrap();
}

/// PutObject of each key (empty bodies), 32 at a time.
async fn put_many(client: &S3Client, keys: &[String]) {
    let options = PutOptions::default();
    futures::stream::iter(keys)
        .map(|k| client.put_object(k, Bytes::new(), &options))
        .buffer_unordered(32)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Buckets and single objects

#[tokio::test]
async fn create_bucket_then_head_bucket_succeeds_and_creating_again_is_not_an_error() {
    let client = missing_bucket();
    assert!(matches!(client.head_bucket().await, Err(Error::NoSuchBucket(_))));
    client.create_bucket().await.unwrap();
    client.head_bucket().await.unwrap();
    client.create_bucket().await.unwrap();
    assert_eq!(client.request_count("CreateBucket"), 2);
}

#[tokio::test]
async fn put_object_then_head_get_and_delete_object() {
    let client = fresh_bucket().await;
    let body = pattern(100_000, 1);
    let put = client
        .put_object("dir/object.bin", body.clone(), &PutOptions::default())
        .await
        .unwrap();
    assert!(put.etag.starts_with('"') && put.etag.len() > 2, "ETag {:?}", put.etag);

    let head = client.head_object("dir/object.bin").await.unwrap();
    assert_eq!(head.size, 100_000);
    assert_eq!(head.etag.as_deref(), Some(put.etag.as_str()));
    assert!(head.last_modified.is_some());
    // The server stored the CRC32C the client sent and hands it back on request.
    assert_eq!(head.checksum_crc32c.as_deref(), Some(crc32c_base64(&body).as_str()));

    let got = client.get_object("dir/object.bin", None).await.unwrap();
    assert_eq!(got.head.size, 100_000);
    assert_eq!(got.head.etag.as_deref(), Some(put.etag.as_str()));
    assert_eq!(got.bytes().await.unwrap(), body);

    client.delete_object("dir/object.bin").await.unwrap();
    let missing = client.head_object("dir/object.bin").await.unwrap_err();
    assert!(matches!(missing, Error::NotFound(_)), "{missing:?}");
    assert_eq!(missing.key(), Some("dir/object.bin"));
    let missing = get(&client, "dir/object.bin", None).await.unwrap_err();
    assert!(matches!(missing, Error::NotFound(_)), "{missing:?}");
    assert_eq!(missing.code(), Some("NoSuchKey"));
    assert_eq!(missing.status(), Some(404));
    // As in S3, deleting a missing key succeeds.
    client.delete_object("dir/object.bin").await.unwrap();
}

#[tokio::test]
async fn get_object_with_range_returns_the_inclusive_byte_range() {
    let client = fresh_bucket().await;
    let body = pattern(10_000, 2);
    put(&client, "r", body.clone()).await;
    let out = client.get_object("r", Some((1000, 1999))).await.unwrap();
    assert_eq!(out.head.size, 1000);
    assert_eq!(out.bytes().await.unwrap(), body.slice(1000..2000));
    assert_eq!(get(&client, "r", Some((9999, 9999))).await.unwrap(), body.slice(9999..));
}

#[tokio::test]
async fn empty_object_roundtrips() {
    let client = fresh_bucket().await;
    put(&client, "empty", Bytes::new()).await;
    assert_eq!(client.head_object("empty").await.unwrap().size, 0);
    assert!(get(&client, "empty", None).await.unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Listing and batch delete

#[tokio::test]
async fn list_objects_v2_returns_2500_keys_in_3_pages_and_delete_objects_removes_1000_in_one_request() {
    let client = fresh_bucket().await;
    let keys: Vec<String> = (0..2500).map(|i| format!("many/{i:05}")).collect();
    put_many(&client, &keys).await;

    let options = ListOptions {
        prefix: "many/".into(),
        ..ListOptions::default()
    };
    let pages: Vec<_> = client.list_objects_v2(options).try_collect().await.unwrap();
    assert_eq!(client.request_count("ListObjectsV2"), 3);
    let sizes: Vec<usize> = pages.iter().map(|p| p.objects.len()).collect();
    assert_eq!(sizes, [1000, 1000, 500]);
    assert!(pages[0].is_truncated && pages[1].is_truncated && !pages[2].is_truncated);
    let listed: Vec<String> = pages.into_iter().flat_map(|p| p.objects).map(|o| o.key).collect();
    assert_eq!(listed, keys, "every key once, in key order");

    let outcome = client.delete_objects(&keys[..1000]).await.unwrap();
    assert_eq!(client.request_count("DeleteObjects"), 1);
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    assert_eq!(all_keys(&client, "many/").await, keys[1000..]);
}

#[tokio::test]
async fn delete_objects_refuses_more_than_1000_keys_or_none_without_sending() {
    let client = fresh_bucket().await;
    let keys: Vec<String> = (0..1001).map(|i| format!("k{i}")).collect();
    assert!(matches!(
        client.delete_objects(&keys).await,
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(client.delete_objects(&[]).await, Err(Error::InvalidInput(_))));
    assert_eq!(client.request_count("DeleteObjects"), 0);
}

#[tokio::test]
async fn list_objects_v2_page_honours_delimiter_start_after_and_max_keys() {
    let client = fresh_bucket().await;
    let keys: Vec<String> = ["a/1", "a/2", "b/1", "c", "d"].iter().map(|k| k.to_string()).collect();
    put_many(&client, &keys).await;

    let grouped = ListOptions {
        delimiter: Some("/".into()),
        ..ListOptions::default()
    };
    let page = client.list_objects_v2_page(&grouped, None).await.unwrap();
    assert_eq!(page.common_prefixes, ["a/", "b/"]);
    let top: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(top, ["c", "d"]);

    let after = ListOptions {
        start_after: Some("b/1".into()),
        max_keys: Some(1),
        ..ListOptions::default()
    };
    let first = client.list_objects_v2_page(&after, None).await.unwrap();
    assert_eq!(first.objects.len(), 1);
    assert_eq!(first.objects[0].key, "c");
    assert!(first.is_truncated);
    let token = first.next_continuation_token.as_deref().expect("a continuation token");
    let second = client.list_objects_v2_page(&after, Some(token)).await.unwrap();
    assert_eq!(second.objects[0].key, "d");
    assert!(!second.is_truncated);
}

// ---------------------------------------------------------------------------------------------
// Conditional writes

#[tokio::test]
async fn put_object_if_none_match_on_an_existing_key_is_a_conflict_and_changes_nothing() {
    let client = fresh_bucket().await;
    let create_only = PutOptions {
        if_none_match: true,
        ..PutOptions::default()
    };
    client
        .put_object("status.json", Bytes::from_static(b"first"), &create_only)
        .await
        .unwrap();
    let err = client
        .put_object("status.json", Bytes::from_static(b"second"), &create_only)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_eq!(err.status(), Some(412));
    assert_eq!(err.key(), Some("status.json"));
    assert_eq!(client.request_count("PutObject"), 2, "412 is never retried");
    assert_eq!(get(&client, "status.json", None).await.unwrap(), "first");
}

#[tokio::test]
async fn put_object_if_match_succeeds_with_the_current_etag_only() {
    let client = fresh_bucket().await;
    let first = client
        .put_object("m", Bytes::from_static(b"v1"), &PutOptions::default())
        .await
        .unwrap();
    let wrong = PutOptions {
        if_match: Some("\"0123456789abcdef0123456789abcdef\"".into()),
        ..PutOptions::default()
    };
    let err = client
        .put_object("m", Bytes::from_static(b"v2"), &wrong)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_eq!(err.status(), Some(412));
    assert_eq!(get(&client, "m", None).await.unwrap(), "v1");

    let right = PutOptions {
        if_match: Some(first.etag),
        ..PutOptions::default()
    };
    client.put_object("m", Bytes::from_static(b"v3"), &right).await.unwrap();
    assert_eq!(get(&client, "m", None).await.unwrap(), "v3");
}

// ---------------------------------------------------------------------------------------------
// Integrity

#[tokio::test]
async fn put_object_with_a_wrong_crc32c_is_rejected_by_the_server_and_stores_nothing() {
    let client = fresh_bucket().await;
    let body = Bytes::from_static(b"hello world");
    let wrong = crc32c_base64(b"hello world!");
    let err = client
        .put_object_with_checksum("corrupt", body, &wrong, &PutOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Integrity(_)), "{err:?}");
    assert_eq!(err.key(), Some("corrupt"));
    assert_eq!(
        client.request_count("PutObject"),
        1,
        "a checksum mismatch is not retried"
    );
    assert!(matches!(client.head_object("corrupt").await, Err(Error::NotFound(_))));
}

#[tokio::test]
async fn upload_part_with_a_wrong_crc32c_is_rejected_by_the_server() {
    let client = fresh_bucket().await;
    let upload_id = client.create_multipart_upload("mp").await.unwrap();
    let part = pattern(MIB, 3);
    let wrong = crc32c_base64(&part[1..]);
    let err = client.upload_part("mp", &upload_id, 1, part, &wrong).await.unwrap_err();
    assert!(matches!(err, Error::Integrity(_)), "{err:?}");
    client.abort_multipart_upload("mp", &upload_id).await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Multipart upload

async fn upload_parts(client: &S3Client, key: &str, upload_id: &str, parts: &[Bytes]) -> Vec<CompletedPart> {
    let mut done = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let crc = crc32c_base64(part);
        done.push(
            client
                .upload_part(key, upload_id, i as u32 + 1, part.clone(), &crc)
                .await
                .unwrap(),
        );
    }
    done
}

#[tokio::test]
async fn multipart_upload_of_5_5_1_mib_reads_back_byte_exact() {
    let client = fresh_bucket().await;
    let parts = [pattern(5 * MIB, 10), pattern(5 * MIB, 11), pattern(MIB, 12)];
    let whole: Bytes = parts.concat().into();

    let upload_id = client.create_multipart_upload("big/file.bin").await.unwrap();
    let done = upload_parts(&client, "big/file.bin", &upload_id, &parts).await;
    assert_eq!(done.iter().map(|p| p.part_number).collect::<Vec<_>>(), [1, 2, 3]);
    let result = client
        .complete_multipart_upload("big/file.bin", &upload_id, &done)
        .await
        .unwrap();
    // A multipart ETag is "<md5 of the part md5s>-<part count>".
    assert!(result.etag.trim_matches('"').ends_with("-3"), "ETag {:?}", result.etag);

    assert_eq!(client.head_object("big/file.bin").await.unwrap().size, 11 * MIB as u64);
    let got = get(&client, "big/file.bin", None).await.unwrap();
    assert!(got == whole, "the object read back differs from the parts uploaded");
    // A range across the boundary between part 1 and part 2.
    let (first, last) = (5 * MIB - 10, 5 * MIB + 9);
    let range = get(&client, "big/file.bin", Some((first as u64, last as u64)))
        .await
        .unwrap();
    assert_eq!(range, whole.slice(first..=last));
    assert!(
        all_upload_ids(&client, "big/file.bin").await.is_empty(),
        "completed uploads are not listed"
    );
}

#[tokio::test]
async fn complete_multipart_upload_with_a_wrong_part_etag_fails() {
    let client = fresh_bucket().await;
    let parts = [pattern(5 * MIB, 20), pattern(MIB, 21)];
    let upload_id = client.create_multipart_upload("bad-etag").await.unwrap();
    let mut done = upload_parts(&client, "bad-etag", &upload_id, &parts).await;
    done[0].etag = "\"0123456789abcdef0123456789abcdef\"".into();
    let err = client
        .complete_multipart_upload("bad-etag", &upload_id, &done)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidPart"), "{err:?}");
    assert_eq!(err.key(), Some("bad-etag"));
    assert!(matches!(client.head_object("bad-etag").await, Err(Error::NotFound(_))));
    client.abort_multipart_upload("bad-etag", &upload_id).await.unwrap();
}

async fn all_upload_ids(client: &S3Client, prefix: &str) -> Vec<String> {
    let pages: Vec<_> = client.list_multipart_uploads(prefix).try_collect().await.unwrap();
    pages.into_iter().flat_map(|p| p.uploads).map(|u| u.upload_id).collect()
}

#[tokio::test]
async fn list_multipart_uploads_shows_open_uploads_and_abort_removes_them() {
    let client = fresh_bucket().await;
    // MinIO lists the uploads of one key (prefix = the whole key), so all three share it.
    let key = "uploads/one key";
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(client.create_multipart_upload(key).await.unwrap());
    }
    let mut listed = all_upload_ids(&client, key).await;
    listed.sort();
    ids.sort();
    assert_eq!(listed, ids);
    let pages: Vec<_> = client.list_multipart_uploads(key).try_collect().await.unwrap();
    assert!(pages.iter().flat_map(|p| &p.uploads).all(|u| u.key == key));

    for id in &ids {
        client.abort_multipart_upload(key, id).await.unwrap();
    }
    assert!(all_upload_ids(&client, key).await.is_empty());
    // Aborting again (the upload is gone) still succeeds.
    client.abort_multipart_upload(key, &ids[0]).await.unwrap();
    // Parts can no longer be uploaded to an aborted upload.
    let part = Bytes::from_static(b"late");
    let err = client
        .upload_part(key, &ids[0], 1, part.clone(), &crc32c_base64(&part))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

#[tokio::test]
async fn list_multipart_uploads_follows_the_markers_past_a_full_page() {
    // MinIO pages the uploads of one key 10,000 at a time (its MaxUploads), and leaves
    // NextKeyMarker empty on the truncated page.
    let client = fresh_bucket().await;
    let key = "many-uploads";
    let mut ids: Vec<String> = futures::stream::iter(0..10_001)
        .map(|_| client.create_multipart_upload(key))
        .buffer_unordered(32)
        .try_collect()
        .await
        .unwrap();
    let pages: Vec<_> = client.list_multipart_uploads(key).try_collect().await.unwrap();
    assert_eq!(client.request_count("ListMultipartUploads"), 2);
    assert!(pages[0].is_truncated && !pages[1].is_truncated);
    let mut listed: Vec<String> = pages.into_iter().flat_map(|p| p.uploads).map(|u| u.upload_id).collect();
    listed.sort();
    ids.sort();
    assert_eq!(listed, ids, "every upload once");
}

// ---------------------------------------------------------------------------------------------
// Awkward keys

#[tokio::test]
async fn keys_with_space_plus_percent_equals_tilde_and_unicode_roundtrip() {
    let client = fresh_bucket().await;
    let keys = [
        "odd/a b",
        "odd/a+b",
        "odd/100%",
        "odd/%2F",
        "odd/k=v&x=y",
        "odd/~tilde",
        "odd/é ü 日本 🎉",
        "odd/a b+c%d=e~f/é.txt",
    ];
    for (i, key) in keys.iter().enumerate() {
        put(&client, key, format!("body of {i}")).await;
    }
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(
            get(&client, key, None).await.unwrap(),
            format!("body of {i}"),
            "{key:?}"
        );
        assert_eq!(
            client.head_object(key).await.unwrap().size,
            format!("body of {i}").len() as u64
        );
    }
    let mut expected: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    expected.sort();
    assert_eq!(all_keys(&client, "odd/").await, expected);
    // Special characters in the prefix too.
    assert_eq!(all_keys(&client, "odd/a b+").await, ["odd/a b+c%d=e~f/é.txt"]);

    let outcome = client.delete_objects(&expected).await.unwrap();
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    assert!(all_keys(&client, "odd/").await.is_empty());
}

#[tokio::test]
async fn double_slash_keys_reach_minio_intact_and_minio_refuses_them() {
    // S3 stores `dir//file` as its own key; MinIO maps keys onto paths and refuses `//`
    // (XMinioInvalidObjectName). That it is not SignatureDoesNotMatch shows the path arrived
    // as signed, not collapsed to `dir/file` on the way.
    let client = fresh_bucket().await;
    let err = client
        .put_object("dir//file", Bytes::new(), &PutOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("XMinioInvalidObjectName"), "{err:?}");
    assert_eq!(err.key(), Some("dir//file"));
    assert!(all_keys(&client, "dir/").await.is_empty());
}

#[tokio::test]
async fn dot_segment_keys_are_refused_before_sending() {
    let client = fresh_bucket().await;
    let err = client
        .put_object("a/../b", Bytes::new(), &PutOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    assert_eq!(client.request_count("PutObject"), 0);
}

// ---------------------------------------------------------------------------------------------
// Errors

#[tokio::test]
async fn wrong_secret_key_is_invalid_credentials() {
    let bucket = fresh_bucket().await;
    let mut c = config(&bucket.config().bucket);
    c.credentials = Some(Credentials::new(&support::minio().access_key, "not-the-secret-key"));
    let client = S3Client::new(c).unwrap();

    let err = client
        .list_objects_v2_page(&ListOptions::default(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidCredentials(_)), "{err:?}");
    assert_eq!(err.code(), Some("SignatureDoesNotMatch"));
    assert_eq!(err.status(), Some(403));
    assert_eq!(
        client.request_count("ListObjectsV2"),
        1,
        "wrong credentials are not retried"
    );
    let err = client
        .put_object("k", Bytes::from_static(b"x"), &PutOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidCredentials(_)), "{err:?}");
    let err = get(&client, "k", None).await.unwrap_err();
    assert!(matches!(err, Error::InvalidCredentials(_)), "{err:?}");
    let err = client.head_bucket().await.unwrap_err();
    assert!(matches!(err, Error::InvalidCredentials(_)), "HeadBucket: {err:?}");
}

#[tokio::test]
async fn wrong_access_key_id_is_invalid_credentials() {
    let bucket = fresh_bucket().await;
    let mut c = config(&bucket.config().bucket);
    c.credentials = Some(Credentials::new("NO-SUCH-ACCESS-KEY", "whatever"));
    let client = S3Client::new(c).unwrap();
    let err = client
        .list_objects_v2_page(&ListOptions::default(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidCredentials(_)), "{err:?}");
    assert_eq!(err.code(), Some("InvalidAccessKeyId"));
}

#[tokio::test]
async fn missing_bucket_is_no_such_bucket_on_every_operation() {
    let client = missing_bucket();
    let name = client.config().bucket.clone();
    let results = [
        ("HeadBucket", client.head_bucket().await.err()),
        ("GetObject", get(&client, "k", None).await.err()),
        (
            "PutObject",
            client.put_object("k", Bytes::new(), &PutOptions::default()).await.err(),
        ),
        (
            "ListObjectsV2",
            client.list_objects_v2_page(&ListOptions::default(), None).await.err(),
        ),
        ("DeleteObjects", client.delete_objects(&["k".to_string()]).await.err()),
        ("CreateMultipartUpload", client.create_multipart_upload("k").await.err()),
    ];
    for (operation, err) in results {
        let err = err.unwrap_or_else(|| panic!("{operation} on a missing bucket succeeded"));
        assert!(matches!(err, Error::NoSuchBucket(_)), "{operation}: {err:?}");
        assert!(err.to_string().contains("create the bucket"), "{operation}: {err}");
        assert_eq!(client.request_count(operation), 1, "{operation} is not retried");
    }
    assert!(client.head_bucket().await.unwrap_err().to_string().contains(&name));
}

/// A local port with nothing listening on it.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn unreachable_endpoint_is_a_network_error_naming_the_endpoint_after_the_configured_attempts() {
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let mut c = config("any-bucket");
    c.endpoint = Some(endpoint.clone());
    c.connect_timeout = Duration::from_secs(2);
    c.retry = RetryConfig {
        max_attempts: 3,
        max_elapsed: Duration::from_secs(10),
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    };
    let client = S3Client::new(c).unwrap();
    let started = Instant::now();
    let err = client.head_object("k").await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(matches!(err, Error::Network(_)), "{err:?}");
    assert_eq!(err.details().endpoint.as_deref(), Some(endpoint.as_str()));
    let text = err.to_string();
    assert!(text.contains(&endpoint), "{text}");
    assert!(text.contains("3 attempts"), "{text}");
    assert_eq!(client.request_count("HeadObject"), 3);
}

#[tokio::test]
async fn a_transport_error_quotes_the_request_url_without_its_query() {
    let mut c = config("any-bucket");
    c.endpoint = Some(format!("http://127.0.0.1:{}", free_port()));
    c.retry.max_attempts = 1;
    let client = S3Client::new(c).unwrap();
    let options = ListOptions {
        prefix: "query-value".into(),
        ..ListOptions::default()
    };
    let err = client
        .list_objects_v2(options)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Network(_)), "{err:?}");
    // reqwest's message names the URL it tried; only its query is hidden.
    let text = format!("{err} {err:?}");
    assert!(text.contains("/any-bucket/?***"), "{text}");
    assert!(!text.contains("list-type") && !text.contains("query-value"), "{text}");
}
