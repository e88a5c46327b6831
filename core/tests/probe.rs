//! `doctor --probe` (§14) against the harness's provider, and save's refusal of a store
//! that ignores conditional writes (unless single_writer).
//!
//! The provider's declared capabilities (scripts/minio_harness.py, exported as
//! `S3KEEP_TEST_CAPABILITIES`) say what each probe line must report: the probe and the
//! declaration are checked against each other on every provider.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use s3keep::backup::{FileSet, ProbeState, SaveOptions, CONDITIONAL_WRITES_IGNORED, PROBE_LINES};
use s3keep::{BackupId, Error, StatusCode};
use support::hostile::{Body, Hostile, Reply};

/// The capability (minio_harness.py) behind each probe line.
fn capability(line: &str) -> &'static str {
    match line {
        "if-none-match" => "ifNoneMatch",
        "if-match" => "ifMatch",
        "crc32c" => "crc32c",
        "multipart" => "multipart",
        "list-paging" => "listPaging",
        "delete-objects" => "deleteObjects",
        "object-lock" => "objectLock",
        other => panic!("unknown probe line {other}"),
    }
}

fn one_file(name: &str, bytes: &'static [u8]) -> Vec<FileSet> {
    vec![FileSet::from_bytes(
        "files",
        [(name.to_string(), bytes::Bytes::from_static(bytes))],
    )]
}

#[tokio::test]
async fn probe_reports_what_the_provider_declares_and_leaves_no_key() {
    let m = support::minio();
    let store = support::fresh_store().await;
    let report = store.probe().await.expect("probe runs");
    let names: Vec<&str> = report.lines.iter().map(|l| l.name).collect();
    assert_eq!(names, PROBE_LINES, "{report:#?}");
    for line in &report.lines {
        println!(
            "{} {:<14} {:<11} {}",
            m.provider,
            line.name,
            line.state.as_str(),
            line.message
        );
        let expected = match (line.name, m.has(capability(line.name))) {
            // A fresh bucket has no Object Lock, whatever the store can do.
            ("object-lock", true) => ProbeState::Unsupported,
            (_, true) => ProbeState::Pass,
            (_, false) => ProbeState::Fail,
        };
        if line.name == "object-lock" || m.has(capability(line.name)) {
            assert_eq!(line.state, expected, "{}: {line:?}", m.provider);
        } else {
            assert_ne!(line.state, ProbeState::Pass, "{}: {line:?}", m.provider);
        }
    }
    assert_eq!(report.conditional_writes(), m.has("ifNoneMatch") && m.has("ifMatch"));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["lines"][0]["name"], "if-none-match");
    assert!(json["lines"][0]["state"].is_string());
    let keys = support::all_keys(store.client()).await;
    assert!(keys.is_empty(), "the probe left keys behind: {keys:?}");
}

#[tokio::test]
async fn probe_sees_object_lock_on_a_bucket_created_with_it() {
    let m = support::minio();
    let config = support::fresh_store_config().await;
    let store = s3keep::BackupStore::new(config).unwrap();
    if !m.has("objectLock") {
        println!("skipped: requires objectLock, which the provider {} lacks", m.provider);
        return;
    }
    store.client().create_bucket_with_object_lock().await.unwrap();
    let report = store.probe().await.unwrap();
    let line = report.line("object-lock").unwrap();
    assert_eq!(line.state, ProbeState::Pass, "{line:?}");
    assert!(line.message.contains("enabled"), "{line:?}");
}

#[tokio::test]
async fn save_refuses_a_store_that_ignores_conditional_writes_and_writes_nothing() {
    let hostile = Hostile::start(|_| Reply::ForwardIgnoringPreconditions).await;
    let mut config = support::fresh_store_config().await;
    config.client.endpoint = Some(hostile.endpoint.clone());
    let store = support::store_for(config).await;

    let report = store.probe().await.unwrap();
    for name in ["if-none-match", "if-match"] {
        let line = report.line(name).unwrap();
        assert_eq!(line.state, ProbeState::Fail, "{line:?}");
    }
    assert!(!report.conditional_writes());

    let id = BackupId::new(1, 1, 0);
    let err = store
        .save(id, one_file("a.txt", b"hello"), SaveOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::S3(_)), "{err}");
    assert_eq!(err.code(), Some(CONDITIONAL_WRITES_IGNORED));
    let text = err.to_string();
    assert!(
        text.contains("if-none-match") && text.contains("single_writer"),
        "{text}"
    );
    let keys = support::all_keys(store.client()).await;
    assert!(keys.is_empty(), "a refused save wrote {keys:?}");
    assert_eq!(store.status(id).await.unwrap().status, StatusCode::DoesNotExist);
    let status_puts = hostile
        .requests()
        .iter()
        .filter(|r| r.operation() == "PutObject" && r.path_ends_with("/status.json"))
        .count();
    assert_eq!(status_puts, 0, "a refused save must not create its status");
}

#[tokio::test]
async fn single_writer_saves_on_such_a_store_and_reads_before_creating() {
    let hostile = Hostile::start(|_| Reply::ForwardIgnoringPreconditions).await;
    let mut config = support::fresh_store_config().await;
    config.client.endpoint = Some(hostile.endpoint.clone());
    config.single_writer = true;
    let store = support::store_for(config).await;
    let id = BackupId::new(1, 2, 0);
    let info = store
        .save(id, one_file("a.txt", b"first"), SaveOptions::default())
        .await
        .unwrap();
    assert_eq!(info.status, StatusCode::Completed);
    assert_eq!(
        hostile
            .requests()
            .iter()
            .filter(|r| r.path.contains(".s3keep-probe"))
            .count(),
        0
    );

    // The store would let a conditional create overwrite the status: save must look first.
    let before = hostile.requests().len();
    let err = store
        .save(id, one_file("a.txt", b"second"), SaveOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BackupAlreadyExists(_)), "{err}");
    let puts = hostile.requests()[before..]
        .iter()
        .filter(|r| r.operation() == "PutObject")
        .count();
    assert_eq!(puts, 0, "the second save wrote something");
    assert_eq!(store.status(id).await.unwrap().status, StatusCode::Completed);
}

#[tokio::test]
async fn the_conditional_write_check_runs_once_per_store() {
    let hostile = Hostile::start(|_| Reply::Forward).await;
    let mut config = support::fresh_store_config().await;
    config.client.endpoint = Some(hostile.endpoint.clone());
    let store = support::store_for(config).await;
    for checkpoint in 1..=3 {
        store
            .clone()
            .save(
                BackupId::new(1, checkpoint, 0),
                one_file("a.txt", b"x"),
                SaveOptions::default(),
            )
            .await
            .unwrap();
    }
    let probe_puts = hostile
        .requests()
        .iter()
        .filter(|r| r.operation() == "PutObject" && r.path.contains(".s3keep-probe"))
        .count();
    assert_eq!(
        probe_puts, 5,
        "three saves (two on clones) share one check of five PutObjects"
    );
    let keys = support::all_keys(store.client()).await;
    assert!(keys.iter().all(|k| !k.contains(".s3keep-probe")), "{keys:?}");
}

#[tokio::test]
async fn a_probe_request_the_store_could_not_answer_fails_that_save_with_its_error_and_is_not_kept() {
    // 503 SlowDown, and 404 for the key the probe has just written: what a distributed
    // MinIO answered while a node rejoined. Neither says anything about conditional writes.
    let slow_down = (503, "SlowDown", "Please reduce your request rate.");
    let lost_sight = (404, "NoSuchKey", "The specified key does not exist.");
    for answer in [slow_down, lost_sight] {
        probe_unanswered_then_answered(answer).await;
    }
}

/// While `busy`, the store gives `answer` to the probe's If-Match PutObjects.
async fn probe_unanswered_then_answered((status, code, message): (u16, &'static str, &'static str)) {
    let busy = Arc::new(AtomicBool::new(true));
    let flag = busy.clone();
    let hostile = Hostile::start(move |r| {
        if flag.load(Ordering::SeqCst) && r.path.contains(".s3keep-probe") && r.header("if-match").is_some() {
            let body = format!("<Error><Code>{code}</Code><Message>{message}</Message></Error>");
            Reply::with(status, Body::Bytes(body.into_bytes()))
        } else {
            Reply::Forward
        }
    })
    .await;
    let mut config = support::fresh_store_config().await;
    config.client.endpoint = Some(hostile.endpoint.clone());
    config.client.retry.base_delay = std::time::Duration::from_millis(5);
    let store = support::store_for(config).await;

    let id = BackupId::new(1, 1, 0);
    let err = store
        .save(id, one_file("a.txt", b"hello"), SaveOptions::default())
        .await
        .unwrap_err();
    assert_ne!(err.code(), Some(CONDITIONAL_WRITES_IGNORED), "{err}");
    assert_eq!(err.code(), Some(code), "the store's own answer: {err}");
    assert_eq!(store.status(id).await.unwrap().status, StatusCode::DoesNotExist);

    // Once the store answers, the same store probes again and saves.
    busy.store(false, Ordering::SeqCst);
    let info = store
        .save(id, one_file("a.txt", b"hello"), SaveOptions::default())
        .await
        .unwrap();
    assert_eq!(info.status, StatusCode::Completed);
    let keys = support::all_keys(store.client()).await;
    assert!(keys.iter().all(|k| !k.contains(".s3keep-probe")), "{keys:?}");
}
