//! Fault injection below HTTP with a real tool (§14, issue 16 item 4): Toxiproxy in
//! front of MinIO resets about 5% of the connections (`reset_peer` with toxicity 0.05: on the
//! request side, so it never or only partly reaches MinIO, or on the answer side, so MinIO
//! acted and the answer is lost or cut), and in some runs adds latency, a bandwidth cap or
//! slices the stream into small segments. 100 saves, restores and deep verifies of mixed
//! sizes (empty files to multipart uploads of several parts, from memory and from disk) must
//! all succeed within the default retry budget, every restore must be byte-exact, and every
//! COMPLETED backup must verify deep afterwards, read directly from MinIO.
//!
//! The client talks to Toxiproxy through `support::toxiproxy::CountingRelay`, which counts
//! the connections and the resets the figure reports.
mod support;

use std::collections::BTreeMap;
use std::time::Instant;

use bytes::Bytes;
use s3keep::backup::{FileSet, ListFilter, RestoreOptions, SaveOptions};
use s3keep::{BackupId, BackupStore, StatusCode, StoreConfig};
use serde_json::json;
use support::toxiproxy::{CountingRelay, Toxiproxy};

const RUNS: u64 = 100;
const MIB: usize = 1024 * 1024;
/// The multipart threshold and part size of these runs: S3's minimum part size, so that a
/// file of a few MiB already takes several parts.
const PART: usize = 5 * MIB;
const PROXY: &str = "minio";

/// The toxics of run `run`: always the resets, plus one of four other faults.
fn toxics(run: u64) -> (String, Vec<serde_json::Value>) {
    let stream = if run % 2 == 0 { "upstream" } else { "downstream" };
    // 0: at the first byte; a few ms: in the middle of a larger body; 40 ms: later, often
    // on a connection the client has kept alive for its next request.
    let after_ms = [0, 3, 40][(run % 3) as usize];
    let mut list = vec![json!({
        "name": "reset", "type": "reset_peer", "stream": stream, "toxicity": 0.05,
        "attributes": { "timeout": after_ms }
    })];
    let extra: String = match run % 5 {
        1 => {
            list.push(json!({ "name": "latency", "type": "latency", "stream": "downstream",
                "attributes": { "latency": 8, "jitter": 6 } }));
            "latency 8±6 ms".to_string()
        }
        2 => {
            for stream in ["upstream", "downstream"] {
                list.push(json!({ "name": format!("bandwidth-{stream}"), "type": "bandwidth",
                    "stream": stream, "attributes": { "rate": 40_000 } }));
            }
            "bandwidth 40 MB/s".to_string()
        }
        3 => {
            list.push(json!({ "name": "slicer", "type": "slicer", "stream": "downstream",
                "attributes": { "average_size": 1500, "size_variation": 1000, "delay": 10 } }));
            "answers sliced ~1500 B".to_string()
        }
        4 => {
            list.push(json!({ "name": "latency", "type": "latency", "stream": "upstream",
                "attributes": { "latency": 4, "jitter": 3 } }));
            list.push(json!({ "name": "slicer", "type": "slicer", "stream": "upstream",
                "attributes": { "average_size": 4000, "size_variation": 3000, "delay": 5 } }));
            "latency 4±3 ms + requests sliced ~4000 B".to_string()
        }
        _ => {
            // A connection closed after so many bytes of answers (on a kept-alive connection,
            // often in the middle of a later answer's body): the body breaks off.
            let bytes = [2_000, 90_000, 700_000, 3_000_000][(run / 5 % 4) as usize];
            list.push(
                json!({ "name": "cut", "type": "limit_data", "stream": "downstream", "toxicity": 0.25,
                "attributes": { "bytes": bytes } }),
            );
            format!("a quarter of the connections closed after {bytes} bytes of answers")
        }
    };
    (format!("reset {stream} after {after_ms} ms; {extra}"), list)
}

/// The files of run `run`: 2 to 11 of mixed sizes (empty, a few bytes, KiB, up to 1 MiB),
/// and on every fourth run one of 5 to 12 MiB (a multipart upload of 2 or 3 parts).
fn files(rng: &mut fastrand::Rng, run: u64) -> BTreeMap<String, Bytes> {
    let count = rng.usize(2..12);
    let mut out = BTreeMap::new();
    for i in 0..count {
        let size = match rng.u8(0..4) {
            0 => rng.usize(0..3),
            1 => rng.usize(3..4096),
            2 => rng.usize(4096..128 * 1024),
            _ => rng.usize(128 * 1024..MIB),
        };
        out.insert(format!("d{}/f{i:02}.bin", i % 3), random_bytes(rng, size));
    }
    if run % 4 == 0 {
        let size = rng.usize(PART + 1..12 * MIB);
        out.insert("big/part.bin".into(), random_bytes(rng, size));
    }
    out
}

fn random_bytes(rng: &mut fastrand::Rng, size: usize) -> Bytes {
    let mut bytes = vec![0u8; size];
    rng.fill(&mut bytes);
    Bytes::from(bytes)
}

/// The file set of `files`: from memory, or (`on_disk`) written below `dir` and read from there.
fn file_set(files: &BTreeMap<String, Bytes>, on_disk: bool, dir: &std::path::Path) -> FileSet {
    if !on_disk {
        return FileSet::from_bytes("files", files.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    for (name, bytes) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    FileSet::from_dir("files", dir).unwrap()
}

/// Sum of the requests `store`'s client sent, retries included.
fn requests_sent(store: &BackupStore) -> u64 {
    [
        "PutObject",
        "GetObject",
        "HeadObject",
        "ListObjectsV2",
        "CreateMultipartUpload",
        "UploadPart",
        "CompleteMultipartUpload",
        "AbortMultipartUpload",
    ]
    .iter()
    .map(|op| store.client().request_count(op))
    .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: 100 saves and restores through Toxiproxy; run by scripts/test.sh"]
async fn saves_and_restores_through_resets_latency_bandwidth_and_slicing_all_complete_and_verify_deep() {
    let seed = std::env::var("S3KEEP_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..1 << 40));
    println!("faults: seed {seed} (S3KEEP_FAULT_SEED={seed} repeats the files and Toxiproxy's draws)");
    let mut rng = fastrand::Rng::with_seed(seed);

    let direct: StoreConfig = support::fresh_store_config().await;
    let truth = support::store_for(direct.clone()).await;
    let toxiproxy = Toxiproxy::start(seed).await;
    let minio = support::minio().endpoint.trim_start_matches("http://").to_string();
    let listen = toxiproxy.create_proxy(PROXY, &minio).await;
    let relay = CountingRelay::start(&listen).await;
    let mut config = direct.clone();
    config.client.endpoint = Some(relay.endpoint.clone());
    config.create_bucket = false;
    config.multipart_threshold = PART as u64;
    config.part_size = PART as u64;
    // The retry budget is the default one (5 attempts, 3 minutes per request).
    assert_eq!(config.client.retry, s3keep::RetryConfig::default());

    let started = Instant::now();
    let (mut requests, mut bytes_moved, mut multipart_runs) = (0u64, 0u64, 0u64);
    for run in 0..RUNS {
        let (label, list) = toxics(run);
        toxiproxy.clear_toxics(PROXY).await;
        for toxic in list {
            toxiproxy.add_toxic(PROXY, toxic).await;
        }
        // A new store per run: new connections, so the per-connection draws keep coming.
        let store = BackupStore::new(config.clone()).unwrap();
        let id = BackupId::new(1, run, 0);
        let expected = files(&mut rng, run);
        let source = tempfile::tempdir().unwrap();
        let set = file_set(&expected, run % 3 == 1, source.path());
        let saved = store.save(id, vec![set], SaveOptions::default()).await;
        let info = saved.unwrap_or_else(|e| panic!("run {run} ({label}): save failed: {e}"));
        assert_eq!(info.status, StatusCode::Completed, "run {run}");

        let target = tempfile::tempdir().unwrap();
        let summary = store
            .restore(id, target.path(), RestoreOptions::default())
            .await
            .unwrap_or_else(|e| panic!("run {run} ({label}): restore failed: {e}"));
        assert_eq!(summary.files_restored, expected.len() as u64, "run {run}");
        let restored = support::tree(target.path());
        assert_eq!(restored.len(), expected.len(), "run {run}: files restored");
        for (name, bytes) in &expected {
            assert!(
                restored.get(name).map(Vec::as_slice) == Some(&bytes[..]),
                "run {run} ({label}): {name} differs after restore"
            );
        }
        // Deep verify through the same faults: it downloads every file again (GetObject
        // bodies cut by a reset are resumed by the client, not restarted by the caller).
        let report = store
            .verify(id, true)
            .await
            .unwrap_or_else(|e| panic!("run {run} ({label}): verify failed: {e}"));
        assert!(report.is_ok(), "run {run} ({label}): {:?}", report.problems);
        requests += requests_sent(&store);
        bytes_moved += 3 * expected.values().map(|b| b.len() as u64).sum::<u64>();
        multipart_runs += u64::from(expected.values().any(|b| b.len() > PART));
    }
    toxiproxy.clear_toxics(PROXY).await;
    let elapsed = started.elapsed();

    // Every COMPLETED backup, read directly from MinIO, verifies deep.
    let listed = truth.list(ListFilter::default()).await.unwrap();
    let completed: Vec<BackupId> = listed
        .iter()
        .filter(|b| b.status == StatusCode::Completed)
        .map(|b| b.id)
        .collect();
    assert_eq!(completed.len() as u64, RUNS, "{listed:?}");
    for id in &completed {
        let report = truth.verify(*id, true).await.unwrap();
        assert!(report.is_ok(), "backup {id}: {:?}", report.problems);
    }
    let (opened, reset) = (relay.counts.opened(), relay.counts.reset());
    println!(
        "faults: {RUNS} saves and {RUNS} restores completed ({multipart_runs} with a multipart upload, {:.0} MiB moved, \
         {requests} requests), {opened} connections of which {reset} reset ({:.1}%); {} COMPLETED backups verified deep; \
         {:.0} s",
        bytes_moved as f64 / MIB as f64,
        100.0 * reset as f64 / opened.max(1) as f64,
        completed.len(),
        elapsed.as_secs_f64()
    );
    assert!(reset > 0, "no connection was reset: the test proved nothing");
}
