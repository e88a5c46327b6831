//! Retries (§6) through a fault-injecting proxy in front of the real MinIO: the client
//! retries 503 SlowDown, connection resets and slow answers, gives up with the attempts in
//! the message, times out a stalled request, and corrects its signing clock from a
//! `RequestTimeTooSkewed` answer's `Date`.
//! The proxy is `support::proxy`.
mod support;

use support::proxy::{Fault, Proxy};

use std::time::{Duration, Instant};

use bytes::Bytes;
use s3keep::s3::checksum::crc32c_base64;
use s3keep::s3::{CompletedPart, ListOptions, PutOptions, S3Client};
use s3keep::{ClientConfig, Credentials, Error, RetryConfig};

/// A client through `proxy` to a new bucket (created directly, not through the proxy).
async fn client_via(proxy: &Proxy, tune: impl FnOnce(&mut ClientConfig)) -> S3Client {
    let m = support::minio();
    let mut c = ClientConfig::new(support::fresh_bucket_name());
    c.endpoint = Some(m.endpoint.clone());
    c.region = m.region.clone();
    c.credentials = Some(Credentials::new(&m.access_key, &m.secret_key));
    c.retry = RetryConfig {
        max_attempts: 4,
        max_elapsed: Duration::from_secs(30),
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
    };
    S3Client::new(c.clone()).unwrap().create_bucket().await.unwrap();
    c.endpoint = Some(proxy.endpoint.clone());
    tune(&mut c);
    S3Client::new(c).unwrap()
}

/// The same bucket, straight to MinIO, to check what was stored.
fn direct(client: &S3Client) -> S3Client {
    let mut c = client.config().clone();
    c.endpoint = Some(support::minio().endpoint.clone());
    S3Client::new(c).unwrap()
}

async fn stored(client: &S3Client, key: &str) -> Bytes {
    direct(client)
        .get_object(key, None)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Retried until success

#[tokio::test]
async fn put_object_is_retried_after_two_503_slowdowns_and_succeeds() {
    let proxy = Proxy::start(&[Fault::SlowDown, Fault::SlowDown], Fault::Forward).await;
    let client = client_via(&proxy, |_| {}).await;
    client
        .put_object("k", Bytes::from_static(b"payload"), &PutOptions::default())
        .await
        .unwrap();
    assert_eq!(client.request_count("PutObject"), 3);
    assert_eq!(proxy.requests().len(), 3);
    assert_eq!(stored(&client, "k").await, "payload");
}

#[tokio::test]
async fn internal_error_500_is_retried() {
    let proxy = Proxy::start(&[Fault::InternalError], Fault::Forward).await;
    let client = client_via(&proxy, |_| {}).await;
    let page = client
        .list_objects_v2_page(&ListOptions::default(), None)
        .await
        .unwrap();
    assert!(page.objects.is_empty());
    assert_eq!(client.request_count("ListObjectsV2"), 2);
}

#[tokio::test]
async fn get_object_is_retried_after_connection_resets_and_succeeds() {
    let proxy = Proxy::start(&[Fault::Forward, Fault::Reset, Fault::Reset], Fault::Forward).await;
    let client = client_via(&proxy, |_| {}).await;
    client
        .put_object("k", Bytes::from_static(b"after resets"), &PutOptions::default())
        .await
        .unwrap();
    let body = client.get_object("k", None).await.unwrap().bytes().await.unwrap();
    assert_eq!(body, "after resets");
    assert_eq!(client.request_count("GetObject"), 3);
    assert_eq!(proxy.requests().len(), 4);
}

/// 3 MiB of varied bytes, so that a splice at the wrong offset shows.
fn three_mib() -> Bytes {
    Bytes::from((0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect::<Vec<u8>>())
}

#[tokio::test]
async fn a_get_object_body_cut_off_is_resumed_from_the_next_byte_with_a_ranged_if_match_request() {
    let data = three_mib();
    let proxy = Proxy::start(
        &[Fault::Forward, Fault::ForwardTruncated(1024 * 1024), Fault::Reset],
        Fault::Forward,
    )
    .await;
    let client = client_via(&proxy, |_| {}).await;
    let put = client
        .put_object("k", data.clone(), &PutOptions::default())
        .await
        .unwrap();
    let body = client.get_object("k", None).await.unwrap().bytes().await.unwrap();
    assert!(body == data, "resumed body differs ({} bytes)", body.len());
    // The cut GET, a reset resume, the resume that went through.
    assert_eq!(client.request_count("GetObject"), 3);
    // The resume asks for the rest from the first byte not received (the reset may discard
    // some of the 1 MiB the proxy passed on), on the first answer's ETag.
    let resume = proxy.requests()[3].to_ascii_lowercase();
    let (first, last) = range_asked(&resume);
    assert!(first > 0 && first <= 1024 * 1024 && last.is_empty(), "{resume}");
    assert!(
        resume.contains(&format!("\r\nif-match: {}\r\n", put.etag.to_ascii_lowercase())),
        "{resume}"
    );
}

/// The `Range: bytes=FIRST-LAST` of a request head: FIRST and LAST (empty when open-ended).
fn range_asked(head: &str) -> (u64, String) {
    let spec = head
        .split("\r\n")
        .find_map(|l| l.strip_prefix("range: bytes="))
        .unwrap_or_else(|| panic!("no range in {head}"));
    let (first, last) = spec.split_once('-').unwrap();
    (first.parse().unwrap(), last.to_string())
}

#[tokio::test]
async fn a_ranged_get_object_cut_off_resumes_within_its_range() {
    let data = three_mib();
    let proxy = Proxy::start(&[Fault::Forward, Fault::ForwardTruncated(1000)], Fault::Forward).await;
    let client = client_via(&proxy, |_| {}).await;
    client
        .put_object("k", data.clone(), &PutOptions::default())
        .await
        .unwrap();
    let body = client
        .get_object("k", Some((5000, 2_000_000)))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        body == data[5000..=2_000_000],
        "resumed range differs ({} bytes)",
        body.len()
    );
    let resume = proxy.requests()[2].to_ascii_lowercase();
    let (first, last) = range_asked(&resume);
    assert!(first >= 5000 && first <= 6000 && last == "2000000", "{resume}");
}

#[tokio::test]
async fn a_body_cut_off_after_the_object_was_replaced_is_an_error_not_a_splice() {
    let data = three_mib();
    let proxy = Proxy::start(&[Fault::Forward, Fault::ForwardTruncated(1000)], Fault::Forward).await;
    let client = client_via(&proxy, |_| {}).await;
    client
        .put_object("k", data.clone(), &PutOptions::default())
        .await
        .unwrap();
    let mut body = client.get_object("k", None).await.unwrap().body;
    // Replaced before the rest is asked for: If-Match on the first ETag refuses the resume.
    direct(&client)
        .put_object("k", Bytes::from_static(b"another object"), &PutOptions::default())
        .await
        .unwrap();
    let mut received = 0;
    let err = loop {
        match futures::StreamExt::next(&mut body).await {
            Some(Ok(chunk)) => received += chunk.len(),
            Some(Err(e)) => break e,
            None => panic!("the body ended after {received} bytes without an error"),
        }
    };
    assert!(matches!(err, Error::Conflict(_)), "{err}");
    assert!(received < data.len());
}

#[tokio::test]
async fn an_answer_slower_than_usual_but_within_the_timeout_is_waited_for_not_retried() {
    let proxy = Proxy::start(&[Fault::Delay(Duration::from_millis(700))], Fault::Forward).await;
    let client = client_via(&proxy, |c| c.request_timeout = Duration::from_secs(5)).await;
    let started = Instant::now();
    client
        .put_object("slow", Bytes::from_static(b"late"), &PutOptions::default())
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(700));
    assert_eq!(client.request_count("PutObject"), 1);
    assert_eq!(stored(&client, "slow").await, "late");
}

// ---------------------------------------------------------------------------------------------
// Giving up

#[tokio::test]
async fn persistent_503_slowdown_gives_up_with_throttled_after_max_attempts() {
    let proxy = Proxy::start(&[], Fault::SlowDown).await;
    let client = client_via(&proxy, |c| c.retry.max_attempts = 3).await;
    let err = client
        .put_object("k", Bytes::from_static(b"x"), &PutOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Throttled(_)), "{err:?}");
    assert_eq!(err.code(), Some("SlowDown"));
    assert_eq!(err.status(), Some(503));
    assert!(err.to_string().contains("gave up after 3 attempts"), "{err}");
    assert_eq!(client.request_count("PutObject"), 3);
    assert_eq!(proxy.requests().len(), 3);
}

#[tokio::test]
async fn persistent_resets_give_up_with_a_network_error_naming_the_endpoint_and_attempts() {
    let proxy = Proxy::start(&[], Fault::Reset).await;
    let client = client_via(&proxy, |c| c.retry.max_attempts = 3).await;
    let err = client.head_object("k").await.unwrap_err();
    assert!(matches!(err, Error::Network(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&proxy.endpoint), "{text}");
    assert!(text.contains("gave up after 3 attempts"), "{text}");
    assert_eq!(client.request_count("HeadObject"), 3);
}

#[tokio::test]
async fn a_request_stalled_beyond_the_request_timeout_is_a_timeout_error() {
    let proxy = Proxy::start(&[], Fault::Stall).await;
    let client = client_via(&proxy, |c| {
        c.request_timeout = Duration::from_millis(300);
        c.retry.max_attempts = 2;
    })
    .await;
    let started = Instant::now();
    let err = client
        .get_object("k", None)
        .await
        .err()
        .expect("a stalled GetObject fails");
    let elapsed = started.elapsed();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(err.to_string().contains("gave up after 2 attempts"), "{err}");
    assert!(
        elapsed >= Duration::from_millis(600) && elapsed < Duration::from_secs(3),
        "took {elapsed:?}"
    );
    assert_eq!(client.request_count("GetObject"), 2);
}

#[tokio::test]
async fn retries_stop_when_the_total_time_budget_is_spent() {
    let proxy = Proxy::start(&[], Fault::SlowDown).await;
    let client = client_via(&proxy, |c| {
        c.retry = RetryConfig {
            max_attempts: 1000,
            max_elapsed: Duration::from_millis(500),
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(100),
        };
    })
    .await;
    let started = Instant::now();
    let err = client.head_object("k").await.unwrap_err();
    assert!(matches!(err, Error::Throttled(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    let attempts = client.request_count("HeadObject");
    assert!((2..1000).contains(&attempts), "{attempts} attempts");
}

#[tokio::test]
async fn errors_that_cannot_improve_are_not_retried() {
    let proxy = Proxy::start(&[], Fault::Forward).await;
    let client = client_via(&proxy, |_| {}).await;
    let err = client.get_object("missing", None).await.err().expect("no such key");
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    client
        .put_object("k", Bytes::from_static(b"1"), &PutOptions::default())
        .await
        .unwrap();
    let create_only = PutOptions {
        if_none_match: true,
        ..PutOptions::default()
    };
    let err = client
        .put_object("k", Bytes::from_static(b"2"), &create_only)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_eq!(client.request_count("GetObject"), 1);
    assert_eq!(client.request_count("PutObject"), 2);
    assert_eq!(proxy.requests().len(), 3);
}

// ---------------------------------------------------------------------------------------------
// CompleteMultipartUpload's 200 OK with an error body (AWS API Reference, CompleteMultipartUpload)

/// Uploads one part of `key` through the proxy; the next request is the CompleteMultipartUpload.
async fn upload_one_part(client: &S3Client, key: &str) -> (String, Vec<CompletedPart>) {
    let upload_id = client.create_multipart_upload(key).await.unwrap();
    let part = Bytes::from_static(b"the only part");
    let crc = crc32c_base64(&part);
    let done = client.upload_part(key, &upload_id, 1, part, &crc).await.unwrap();
    (upload_id, vec![done])
}

#[tokio::test]
async fn complete_multipart_upload_answered_200_with_an_error_body_is_an_error() {
    let proxy = Proxy::start(&[Fault::Forward, Fault::Forward], Fault::OkWithError("AccessDenied")).await;
    let client = client_via(&proxy, |_| {}).await;
    let (upload_id, parts) = upload_one_part(&client, "mp").await;
    let err = client
        .complete_multipart_upload("mp", &upload_id, &parts)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::AccessDenied(_)), "{err:?}");
    assert_eq!(err.key(), Some("mp"));
    assert_eq!(client.request_count("CompleteMultipartUpload"), 1);
    assert!(
        direct(&client).head_object("mp").await.is_err(),
        "nothing was completed"
    );
}

#[tokio::test]
async fn complete_multipart_upload_answered_200_with_internal_error_is_retried() {
    let script = [Fault::Forward, Fault::Forward, Fault::OkWithError("InternalError")];
    let proxy = Proxy::start(&script, Fault::Forward).await;
    let client = client_via(&proxy, |_| {}).await;
    let (upload_id, parts) = upload_one_part(&client, "mp").await;
    client
        .complete_multipart_upload("mp", &upload_id, &parts)
        .await
        .unwrap();
    assert_eq!(client.request_count("CompleteMultipartUpload"), 2);
    assert_eq!(stored(&client, "mp").await, "the only part");
}

#[tokio::test]
async fn complete_multipart_upload_answered_200_with_internal_error_every_time_gives_up() {
    let proxy = Proxy::start(&[Fault::Forward, Fault::Forward], Fault::OkWithError("InternalError")).await;
    let client = client_via(&proxy, |c| c.retry.max_attempts = 3).await;
    let (upload_id, parts) = upload_one_part(&client, "mp").await;
    let err = client
        .complete_multipart_upload("mp", &upload_id, &parts)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InternalError"), "{err:?}");
    assert!(err.to_string().contains("gave up after 3 attempts"), "{err}");
    assert_eq!(client.request_count("CompleteMultipartUpload"), 3);
}

// ---------------------------------------------------------------------------------------------
// Clock skew

/// `x-amz-date` of a request head, as Unix seconds.
fn amz_date(head: &str) -> i64 {
    let value = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("x-amz-date")))
        .map(|(_, v)| v.trim().to_string())
        .expect("a signed request");
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::PrimitiveDateTime::parse(&value, &format)
        .unwrap()
        .assume_utc()
        .unix_timestamp()
}

#[tokio::test]
async fn clock_skew_is_corrected_from_the_servers_date_and_the_request_retried_once() {
    // The "server" says it is 10 minutes later than our clock; MinIO itself tolerates 15.
    let proxy = Proxy::start(&[Fault::Skewed(600)], Fault::Forward).await;
    let client = client_via(&proxy, |_| {}).await;
    assert_eq!(client.clock_offset_ms(), 0);
    client
        .put_object("k", Bytes::from_static(b"signed later"), &PutOptions::default())
        .await
        .unwrap();
    assert_eq!(client.request_count("PutObject"), 2);
    let offset = client.clock_offset_ms();
    assert!((595_000..=605_000).contains(&offset), "learnt offset {offset} ms");
    let requests = proxy.requests();
    let shift = amz_date(&requests[1]) - amz_date(&requests[0]);
    assert!((595..=605).contains(&shift), "the retry was signed {shift} s later");
    // Later requests keep the corrected clock.
    client.head_object("k").await.unwrap();
    assert!(amz_date(&proxy.requests()[2]) - amz_date(&requests[0]) >= 595);
}

#[tokio::test]
async fn persistent_clock_skew_gives_up_with_clock_skew_after_one_retry() {
    let proxy = Proxy::start(&[], Fault::Skewed(3600)).await;
    let client = client_via(&proxy, |c| c.retry.max_attempts = 5).await;
    let err = client.head_object("k").await.unwrap_err();
    assert!(matches!(err, Error::ClockSkew(_)), "{err:?}");
    assert_eq!(err.code(), Some("RequestTimeTooSkewed"));
    assert_eq!(client.request_count("HeadObject"), 2);
}

#[tokio::test]
async fn complete_multipart_upload_whose_answer_was_lost_is_recognised_as_done() {
    // Create and part go through; Complete lands at MinIO but its answer is lost; the retry
    // finds NoSuchUpload, and the client sees the object is there.
    let proxy = Proxy::start(
        &[Fault::Forward, Fault::Forward, Fault::ForwardThenReset],
        Fault::Forward,
    )
    .await;
    let client = client_via(&proxy, |_| {}).await;
    let (upload_id, parts) = upload_one_part(&client, "lost").await;
    let result = client
        .complete_multipart_upload("lost", &upload_id, &parts)
        .await
        .unwrap();
    assert!(!result.etag.is_empty());
    assert_eq!(client.request_count("CompleteMultipartUpload"), 2);
    assert_eq!(&stored(&client, "lost").await[..], b"the only part");
}
