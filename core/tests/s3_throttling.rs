//! Throttling (§14): a store that answers `503 SlowDown` (or `429`) above N requests in
//! flight makes the client lower its concurrency (AIMD, `core/src/s3/limiter.rs`), and a save
//! at concurrency 16 completes instead of failing. The store is MinIO behind
//! `support::throttle::ThrottlingProxy`. Counts are asserted, never times.
//!
//! What tells the adaptive client from a plain one is the share of requests the store turns
//! away once the first burst is over: a client that keeps 16 requests in flight against a
//! store that bears 4 gets about half of them refused; the adaptive one keeps its limit near 4
//! and is refused only when it probes one above (about one request in ten).
mod support;

use std::time::Duration;

use bytes::Bytes;
use s3keep::backup::{FileSet, RestoreOptions, SaveOptions};
use s3keep::{BackupId, BackupStore, Error, RetryConfig, StatusCode, StoreConfig};
use support::throttle::{Arrival, Throttle, ThrottlingProxy};

const CAPACITY: usize = 4;

/// A store at concurrency 16 through `proxy`, on a bucket created directly.
async fn store_via(proxy: &ThrottlingProxy, adaptive: bool) -> BackupStore {
    let mut config: StoreConfig = support::fresh_store_config().await;
    support::store_for(config.clone()).await;
    config.client.endpoint = Some(proxy.endpoint.clone());
    config.create_bucket = false;
    config.concurrency = 16;
    config.client.adaptive_concurrency = adaptive;
    // Short sleeps keep the test quick; the attempts are the default's.
    config.client.retry = RetryConfig {
        max_attempts: 5,
        max_elapsed: Duration::from_secs(60),
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(500),
    };
    BackupStore::new(config).unwrap()
}

fn files(count: usize) -> Vec<(String, Bytes)> {
    (0..count)
        .map(|i| {
            (
                format!("d{:02}/f{i:04}.bin", i % 20),
                Bytes::from(format!("file {i} ").repeat(1 + i % 50)),
            )
        })
        .collect()
}

/// The share of requests (0..=1) answered with a throttle in the second half of `arrivals`.
fn throttled_share_of_second_half(arrivals: &[Arrival]) -> f64 {
    let tail = &arrivals[arrivals.len() / 2..];
    tail.iter().filter(|a| a.throttled).count() as f64 / tail.len().max(1) as f64
}

/// Saves `count` files at concurrency 16 through a proxy bearing [`CAPACITY`] requests that
/// answers the others with `throttle`; checks the save completed with the limit lowered, and
/// returns the store, the proxy and the backup.
async fn save_through_throttling_store(throttle: Throttle, count: usize) -> (BackupStore, ThrottlingProxy, BackupId) {
    let proxy = ThrottlingProxy::start(CAPACITY, throttle).await;
    let store = store_via(&proxy, true).await;
    let id = BackupId::new(0, 1, 0);
    let set = FileSet::from_bytes("files", files(count));
    let info = store.save(id, vec![set], SaveOptions::default()).await.unwrap();
    assert_eq!(info.status, StatusCode::Completed);
    assert_eq!(info.file_count, Some(count as u64));

    let arrivals = proxy.arrivals();
    let throttled = proxy.throttled();
    let share = throttled_share_of_second_half(&arrivals);
    let limit = store.client().concurrency_limit();
    println!(
        "{throttle:?}: save of {count} files at concurrency 16, store bearing {CAPACITY}: {} requests, {throttled} throttled, \
         {:.0}% throttled in the second half, limit at the end {limit:?}",
        arrivals.len(),
        share * 100.0
    );
    assert!(throttled > 0, "the proxy never throttled: the test proves nothing");
    // The limit came down from the caller's 16. Where it stands at the end is a point of the
    // saw (half to a little above what the store bears: the proxy counts a request only once
    // all of it has arrived, so the client may hold more in flight than the proxy sees); the
    // share of throttled requests below says that it stayed near the capacity.
    assert!(limit.is_some_and(|l| (1..16).contains(&l)), "limit {limit:?}");
    assert!(share < 0.2, "{:.0}% of the second half throttled", share * 100.0);
    assert_eq!(store.client().throttled_count(), throttled as u64);
    // Every throttled request was retried until it went through: the first save's probe of
    // conditional writes (five PutObjects and a DeleteObject, probe.rs), its choice of the
    // store format (GetObject of s3keep.json, one ListObjectsV2: format2/store.rs), one
    // PutObject per file, the two status writes and metadata.json, and one more for each
    // throttle.
    const PROBE_REQUESTS: usize = 6;
    const FORMAT_REQUESTS: usize = 2;
    let by_op: Vec<(&str, u64)> = ["PutObject", "DeleteObject", "GetObject", "HeadObject", "ListObjectsV2"]
        .into_iter()
        .map(|op| (op, store.client().request_count(op)))
        .collect();
    // Seen once in five runs since the probe landed: one PutObject more, not throttled (left
    // to explain; noted on issue 16). Every other figure is exact.
    let expected = PROBE_REQUESTS + FORMAT_REQUESTS + count + 3 + throttled;
    assert!(
        (expected..=expected + 1).contains(&arrivals.len()),
        "{} arrivals, expected {expected}: {by_op:?}",
        arrivals.len()
    );
    let client = store.client();
    assert_eq!(
        ["PutObject", "DeleteObject", "GetObject", "ListObjectsV2"]
            .into_iter()
            .map(|op| client.request_count(op) as usize)
            .sum::<usize>(),
        arrivals.len(),
        "{by_op:?}"
    );
    (store, proxy, id)
}

#[tokio::test]
#[ignore = "slow: 400 files through a throttling proxy; run by scripts/test.sh"]
async fn a_save_at_concurrency_16_against_a_store_bearing_4_completes_with_the_concurrency_lowered() {
    let files_count = 400;
    let (store, proxy, id) = save_through_throttling_store(Throttle::SlowDown, files_count).await;

    // Restore through the same throttling store: byte-exact, and the limit holds there too.
    let before = proxy.arrivals().len();
    let dir = tempfile::tempdir().unwrap();
    let summary = store.restore(id, dir.path(), RestoreOptions::default()).await.unwrap();
    assert_eq!(summary.files_restored, files_count as u64);
    let restored = support::tree(dir.path());
    for (name, bytes) in files(files_count) {
        assert_eq!(restored.get(&name).map(Vec::as_slice), Some(&bytes[..]), "{name}");
    }
    let restore_arrivals = &proxy.arrivals()[before..];
    let share = throttled_share_of_second_half(restore_arrivals);
    println!(
        "restore: {} requests, {:.0}% throttled in the second half",
        restore_arrivals.len(),
        share * 100.0
    );
    assert!(
        share < 0.2,
        "restore: {:.0}% of the second half throttled",
        share * 100.0
    );
}

#[tokio::test]
#[ignore = "slow: 150 files through a throttling proxy; run by scripts/test.sh"]
async fn answers_429_lower_the_concurrency_as_503_slowdown_does() {
    save_through_throttling_store(Throttle::TooManyRequests, 150).await;
}

/// The control: without the adaptive limit the caller's 16 requests keep reaching the store
/// and about half of them are turned away, so the tests above can fail.
#[tokio::test]
#[ignore = "slow: 400 files through a throttling proxy; run by scripts/test.sh"]
async fn without_adaptive_concurrency_the_store_keeps_turning_requests_away() {
    let proxy = ThrottlingProxy::start(CAPACITY, Throttle::SlowDown).await;
    let store = store_via(&proxy, false).await;
    let set = FileSet::from_bytes("files", files(400));
    // Retries alone rarely get the save through (a file refused 5 times in a row fails it);
    // either way, what is asserted is what the store saw.
    let outcome = store
        .save(BackupId::new(0, 2, 0), vec![set], SaveOptions::default())
        .await;
    let arrivals = proxy.arrivals();
    let share = throttled_share_of_second_half(&arrivals);
    println!(
        "without AIMD: {} requests, {} throttled, {:.0}% in the second half, save {}",
        arrivals.len(),
        proxy.throttled(),
        share * 100.0,
        match &outcome {
            Ok(_) => "completed".to_string(),
            Err(e) => format!("failed ({})", e.kind()),
        }
    );
    assert!(share > 0.3, "{:.0}% of the second half throttled", share * 100.0);
    if let Err(e) = outcome {
        assert!(matches!(e, Error::Throttled(_)), "{e}");
    }
    assert_eq!(store.client().concurrency_limit(), None);
}
