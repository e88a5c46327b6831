//! `s3keep doctor --probe` and `--single-writer` driven as a user would (§14): the probe
//! against the harness's provider (MinIO, distributed MinIO or versitygw; each line as the
//! provider's declared capabilities say), and a store that ignores conditional writes (a
//! proxy in front of the server answers 200 where the server refused with 412): doctor fails
//! naming the lines, save refuses and writes nothing, save with `--single-writer` goes through.

mod common;

use common::{support, Run, Store};
use s3keep::backup::PROBE_LINES;
use serde_json::Value;
use support::hostile::{hostile, Reply};

/// `s3keep --endpoint ENDPOINT --bucket BUCKET --prefix backups ARGS...` with the harness's
/// credentials; checks that the secret is never printed.
fn s3keep(endpoint: &str, bucket: &str, args: &[&str]) -> Run {
    let store = Store {
        bucket: bucket.to_string(),
    };
    let mut all = vec!["--prefix", "backups"];
    all.extend_from_slice(args);
    let run = store.run_at(endpoint, &all, &[]);
    let secret = support::minio().secret_key.as_str();
    assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret), "{run:?}");
    run
}

/// The capability (conformance/providers.json) behind each probe line.
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

/// A fresh bucket, created through the command.
fn fresh_bucket() -> String {
    let bucket = support::fresh_bucket_name();
    let run = s3keep(&support::minio().endpoint, &bucket, &["list", "--create-bucket"]);
    assert_eq!(run.code, 0, "{run:?}");
    bucket
}

#[test]
fn doctor_probe_reports_each_line_as_the_provider_declares() {
    let m = support::minio();
    let bucket = fresh_bucket();
    let run = s3keep(&m.endpoint, &bucket, &["doctor", "--probe", "--json"]);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:?}"));
    let lines = doc["probe"]["lines"].as_array().unwrap_or_else(|| panic!("{doc}"));
    let names: Vec<&str> = lines.iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, PROBE_LINES);
    let mut all_pass = true;
    for line in lines {
        let name = line["name"].as_str().unwrap();
        let state = line["state"].as_str().unwrap();
        println!("{} {name:<14} {state:<11} {}", m.provider, line["message"]);
        let expected = match (name, m.has(capability(name))) {
            // A fresh bucket has no Object Lock, whatever the store can do.
            ("object-lock", _) => "unsupported",
            (_, true) => "pass",
            (_, false) => "fail",
        };
        assert_eq!(state, expected, "{}: {line}", m.provider);
        all_pass &= name == "object-lock" || state == "pass";
    }
    assert_eq!(doc["ok"], all_pass, "{doc}");
    assert_eq!(run.code, if all_pass { 0 } else { 1 }, "{run:?}");

    let text = s3keep(&m.endpoint, &bucket, &["doctor", "--probe"]);
    for name in PROBE_LINES {
        assert!(
            text.stdout.lines().any(|l| l.split_whitespace().nth(1) == Some(name)),
            "{name}: {}",
            text.stdout
        );
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let keys = rt.block_on(support::all_keys(&support::client_for(&bucket)));
    assert!(keys.is_empty(), "the probe left keys behind: {keys:?}");
}

#[test]
fn a_store_that_ignores_conditional_writes_fails_the_probe_and_save_needs_single_writer() {
    let bucket = fresh_bucket();
    let (_rt, server) = hostile(|_| Reply::ForwardIgnoringPreconditions);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), b"hello").unwrap();
    let dir_arg = dir.path().to_str().unwrap();

    let doctor = s3keep(&server.endpoint, &bucket, &["doctor", "--probe"]);
    assert_eq!(doctor.code, 1, "{doctor:?}");
    for name in ["if-none-match", "if-match"] {
        assert!(
            doctor.stdout.lines().any(|l| l.starts_with("fail") && l.contains(name)),
            "{name}: {}",
            doctor.stdout
        );
    }
    assert!(
        doctor.stdout.contains("unless single_writer is set"),
        "{}",
        doctor.stdout
    );

    let refused = s3keep(&server.endpoint, &bucket, &["save", "0/1/0", dir_arg]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert_eq!(refused.stderr.lines().count(), 1, "{refused:?}");
    assert!(
        refused.stderr.contains("ConditionalWritesIgnored") && refused.stderr.contains("single_writer"),
        "{refused:?}"
    );
    let status = s3keep(&server.endpoint, &bucket, &["status", "0/1/0", "--json"]);
    assert!(status.stdout.contains("DOES_NOT_EXIST"), "{status:?}");

    let saved = s3keep(
        &server.endpoint,
        &bucket,
        &["save", "0/1/0", dir_arg, "--single-writer"],
    );
    assert_eq!(saved.code, 0, "{saved:?}");
    let status = s3keep(&server.endpoint, &bucket, &["status", "0/1/0", "--json"]);
    assert!(status.stdout.contains("COMPLETED"), "{status:?}");
    // The store would let a second create overwrite the first: single-writer save reads first.
    let again = s3keep(
        &server.endpoint,
        &bucket,
        &["save", "0/1/0", dir_arg, "--single-writer"],
    );
    assert_eq!(again.code, 4, "{again:?}");
    assert!(again.stderr.contains("BackupAlreadyExists"), "{again:?}");
}
