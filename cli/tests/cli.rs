//! The `s3keep` binary driven as a user would: real processes against the harness MinIO,
//! exit codes checked, `--json` parsed. Every run also checks that the secret key never
//! appears in what the command prints.

#[path = "../../core/tests/support/mod.rs"]
mod support;

use support::tree;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// What one run of the command gave.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON document ({e}): {:?}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }

    #[track_caller]
    fn expect(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code; stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// The stderr of a failed run: exactly one line, `error: ...`.
    #[track_caller]
    fn error_line(&self) -> &str {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "expected one error line, got: {:?}", self.stderr);
        assert!(lines[0].starts_with("error: "), "{:?}", lines[0]);
        lines[0]
    }
}

/// A fresh bucket on the test MinIO and the credentials to reach it.
struct Store {
    bucket: String,
    secret: String,
}

impl Store {
    fn new() -> Self {
        Self {
            bucket: support::fresh_bucket_name(),
            secret: support::minio().secret_key.clone(),
        }
    }

    /// `s3keep --endpoint E --bucket B ARGS...`
    fn run(&self, args: &[&str]) -> Run {
        let m = support::minio();
        let mut all = vec!["--endpoint", m.endpoint.as_str(), "--bucket", self.bucket.as_str()];
        all.extend_from_slice(args);
        s3keep(&all, &self.secret)
    }

    /// Creates the bucket through the command itself.
    fn create(&self) {
        self.run(&["list", "--create-bucket", "--json"]).expect(0);
    }
}

/// Runs the binary with the test credentials (and `secret`) in a clean AWS environment.
fn s3keep(args: &[&str], secret: &str) -> Run {
    let out = command(args, secret).output().expect("cannot run s3keep");
    finish(out)
}

fn command(args: &[&str], secret: &str) -> Command {
    let m = support::minio();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_s3keep"));
    cmd.args(args)
        .stdin(Stdio::null())
        .env("AWS_ACCESS_KEY_ID", &m.access_key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_REGION", &m.region)
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/s3keep-test-credentials");
    for var in [
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "S3KEEP_URL",
        "S3KEEP_BUCKET",
        "S3KEEP_PREFIX",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn finish(out: Output) -> Run {
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    let secret = &support::minio().secret_key;
    assert!(
        !run.stdout.contains(secret.as_str()) && !run.stderr.contains(secret.as_str()),
        "the secret key was printed: {run:?}"
    );
    assert!(
        !run.stderr.contains("panicked") && !run.stderr.contains("RUST_BACKTRACE"),
        "{run:?}"
    );
    run
}

/// A directory with nested, unicode, empty and binary files.
fn sample_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let files: [(&str, Vec<u8>); 6] = [
        ("top.txt", b"top level\n".to_vec()),
        ("empty.bin", Vec::new()),
        ("nested/deeper/leaf.txt", b"leaf".to_vec()),
        ("ünïcödé/日本語 ファイル.txt", "こんにちは".as_bytes().to_vec()),
        ("odd names/plus+percent%20hash#.txt", b"odd".to_vec()),
        (
            "nested/random.bin",
            (0..200_000u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect(),
        ),
    ];
    for (name, bytes) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    dir
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("list --json is an array")
        .iter()
        .map(|b| b["id"].as_str().unwrap().to_string())
        .collect()
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn save_list_status_restore_verify_delete_round_trip() {
    let store = Store::new();
    let src = sample_dir();
    let id = "0/1700000000000/0";

    let saved = store.run(&[
        "--create-bucket",
        "--json",
        "save",
        id,
        path_str(src.path()),
        "--meta",
        "source=cli-test",
    ]);
    let saved = saved.expect(0).json();
    assert_eq!(saved["status"], "COMPLETED");
    assert_eq!(saved["partition"], 0);
    // Checkpoints may exceed 2^53: a string in every face (docs/SCHEMA.md).
    assert_eq!(saved["checkpoint"], "1700000000000");
    assert_eq!(saved["node"], 0);
    assert_eq!(saved["fileCount"], 6);
    assert_eq!(
        saved["totalSize"],
        tree(src.path()).values().map(|v| v.len()).sum::<usize>()
    );

    let list = store.run(&["list", "--json"]).expect(0).json();
    assert_eq!(ids(&list), vec![id]);
    let entry = &list[0];
    for field in ["partition", "checkpoint", "node", "status", "createdAt"] {
        assert!(!entry[field].is_null(), "list entry lacks {field}: {entry}");
    }

    let status = store.run(&["status", id, "--json"]).expect(0).json();
    assert_eq!(status["status"], "COMPLETED");
    assert_eq!(status["userMetadata"]["source"], "cli-test");
    assert_eq!(status["fileCount"], 6);
    let created = status["createdAt"].as_str().unwrap();
    assert!(
        created.contains('T') && created.ends_with('Z'),
        "not RFC 3339: {created}"
    );

    let human = store.run(&["status", id]);
    human.expect(0);
    assert!(
        human.stdout.contains("COMPLETED") && human.stdout.contains("cli-test"),
        "{}",
        human.stdout
    );

    let target = tempfile::tempdir().unwrap();
    let restored = store
        .run(&["restore", id, path_str(target.path()), "--json"])
        .expect(0)
        .json();
    assert_eq!(restored["filesRestored"], 6);
    assert_eq!(tree(target.path()), tree(src.path()), "restored tree differs");

    let verified = store.run(&["verify", id, "--deep", "--json"]).expect(0).json();
    assert_eq!(verified["ok"], true);
    assert_eq!(verified["filesChecked"], 6);
    store.run(&["verify", id]).expect(0);

    let again = store.run(&["save", id, path_str(src.path())]);
    again.expect(4);
    assert!(again.error_line().contains("BackupAlreadyExists"), "{}", again.stderr);

    let missing = "0/42/0";
    let status = store.run(&["status", missing, "--json"]).expect(0).json();
    assert_eq!(status["status"], "DOES_NOT_EXIST");
    let restore_missing = store.run(&["restore", missing, path_str(target.path())]);
    restore_missing.expect(3);
    restore_missing.error_line();
    let delete_missing = store.run(&["delete", missing, "--json"]);
    delete_missing.expect(3);
    assert_eq!(delete_missing.json()["error"]["kind"], "NotFound");

    let deleted = store.run(&["delete", id, "--json"]).expect(0).json();
    assert_eq!(deleted["id"], id);
    // A format 2 store (the default): the manifest, metadata.json and status.json; the
    // packs stay for prune's garbage collection.
    assert_eq!(deleted["objectsDeleted"], 3, "{deleted}");
    assert_eq!(store.run(&["list", "--json"]).expect(0).json(), Value::Array(vec![]));
    assert_eq!(store.run(&["list"]).expect(0).stdout.trim(), "no backups");
}

#[test]
fn named_sets_restore_into_subdirectories_and_one_set_into_the_target() {
    let store = Store::new();
    store.create();
    let files = sample_dir();
    let extra = tempfile::tempdir().unwrap();
    std::fs::write(extra.path().join("segment-1.log"), b"segment").unwrap();
    let single = tempfile::tempdir().unwrap();
    let dump = single.path().join("dump.sql");
    std::fs::write(&dump, b"CREATE TABLE t;").unwrap();
    let extra_arg = format!("extra={}", path_str(extra.path()));
    let dump_arg = format!("db={}", path_str(&dump));
    store
        .run(&[
            "save",
            "2/10/1",
            path_str(files.path()),
            "--set",
            &extra_arg,
            "--set",
            &dump_arg,
        ])
        .expect(0);

    let all = tempfile::tempdir().unwrap();
    store.run(&["restore", "2/10/1", path_str(all.path())]).expect(0);
    let mut expected = tree(files.path());
    expected.insert("extra/segment-1.log".into(), b"segment".to_vec());
    expected.insert("db/dump.sql".into(), b"CREATE TABLE t;".to_vec());
    assert_eq!(tree(all.path()), expected);

    let only = tempfile::tempdir().unwrap();
    store
        .run(&["restore", "2/10/1", path_str(only.path()), "--set", "extra"])
        .expect(0);
    assert_eq!(tree(only.path()), tree(extra.path()));

    let unknown = store.run(&["restore", "2/10/1", path_str(only.path()), "--set", "nope"]);
    unknown.expect(2);

    let dup = store.run(&[
        "save",
        "2/11/1",
        path_str(files.path()),
        "--set",
        &format!("files={}", path_str(extra.path())),
    ]);
    dup.expect(2);
    assert_eq!(
        store.run(&["status", "2/11/1", "--json"]).json()["status"],
        "DOES_NOT_EXIST"
    );
}

/// Issue 16's report: a symlink `out/sub -> ../outside` made `restore ID out` write
/// `outside/b.bin`.
#[cfg(unix)]
#[test]
fn restore_refuses_a_symlink_below_the_target_and_writes_nothing_outside() {
    let store = Store::new();
    store.create();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("a.txt"), b"A").unwrap();
    std::fs::create_dir(src.path().join("sub")).unwrap();
    std::fs::write(src.path().join("sub/b.bin"), b"B").unwrap();
    store.run(&["save", "0/16/0", path_str(src.path())]).expect(0);

    let base = tempfile::tempdir().unwrap();
    let (out, outside) = (base.path().join("out"), base.path().join("outside"));
    std::fs::create_dir(&out).unwrap();
    std::fs::create_dir(&outside).unwrap();
    std::os::unix::fs::symlink("../outside", out.join("sub")).unwrap();
    let run = store.run(&["restore", "0/16/0", path_str(&out)]);
    run.expect(1);
    let line = run.error_line();
    assert!(
        line.contains("Io") && line.contains(path_str(&out.join("sub"))) && line.contains("symbolic link"),
        "{line}"
    );
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "written outside the target"
    );
}

#[test]
fn prune_dry_run_shows_the_plan_and_yes_deletes() {
    let store = Store::new();
    store.create();
    let src = sample_dir();
    for checkpoint in ["1", "2", "3"] {
        store
            .run(&["save", &format!("0/{checkpoint}/0"), path_str(src.path()), "-q"])
            .expect(0);
    }

    let unconfirmed = store.run(&["prune", "--keep-last", "1"]);
    unconfirmed.expect(2);
    assert!(
        unconfirmed.stdout.contains("delete") && unconfirmed.stdout.contains("keep-last"),
        "{}",
        unconfirmed.stdout
    );
    assert!(unconfirmed.error_line().contains("--yes"), "{}", unconfirmed.stderr);
    let unconfirmed_json = store.run(&["prune", "--keep-last", "1", "--json"]);
    unconfirmed_json.expect(2);
    let doc = unconfirmed_json.json();
    assert_eq!(doc["error"]["kind"], "InvalidInput");
    assert_eq!(doc["plan"]["entries"].as_array().unwrap().len(), 3);

    let plan = store
        .run(&["prune", "--keep-last", "1", "--dry-run", "--json"])
        .expect(0)
        .json();
    assert_eq!(plan["dryRun"], true);
    assert_eq!(plan["deleted"], serde_json::json!([]));
    assert_eq!(plan["gc"], Value::Null, "a dry run collects no garbage");
    let plan = plan["entries"].as_array().unwrap();
    assert_eq!(plan.len(), 3);
    let actions: Vec<(&str, &str)> = plan
        .iter()
        .map(|e| (e["id"].as_str().unwrap(), e["action"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        vec![("0/1/0", "delete"), ("0/2/0", "delete"), ("0/3/0", "keep")]
    );
    assert_eq!(plan[2]["reason"], "keep-last");
    assert_eq!(plan[2]["matched"], serde_json::json!(["keep-last"]));
    for e in plan {
        for field in [
            "partition",
            "checkpoint",
            "node",
            "status",
            "createdAt",
            "action",
            "reason",
        ] {
            assert!(!e[field].is_null(), "plan entry lacks {field}: {e}");
        }
    }
    assert_eq!(
        ids(&store.run(&["list", "--json"]).json()).len(),
        3,
        "a dry run deleted something"
    );

    let executed = store
        .run(&["prune", "--keep-last", "1", "--yes", "--json"])
        .expect(0)
        .json();
    assert_eq!(executed["deleted"], serde_json::json!(["0/1/0", "0/2/0"]), "{executed}");
    assert_eq!(executed["failed"], serde_json::json!([]));
    // Format 2: the executed prune ends with garbage collection. The three saves of one
    // tree share their chunks, so the kept backup uses the packs; none is deleted.
    assert_eq!(executed["gc"]["packsDeleted"], 0, "{executed}");
    assert!(executed["gc"]["packsUsed"].as_u64().unwrap() >= 1, "{executed}");
    assert_eq!(ids(&store.run(&["list", "--json"]).json()), vec!["0/3/0"]);

    // The store is format 2: prune also collects garbage (without keep rules, only that).
    // The packs of the deleted backups are younger than the grace period (30 minutes).
    let collected = store.run(&["prune", "--yes"]);
    collected.expect(0);
    let said = format!("{}{}", collected.stdout, collected.stderr);
    assert!(
        said.contains("garbage collection: deleted 0 packs") && said.contains("too young"),
        "{said}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let store = Store::new();
    for args in [
        &["status", "1/2"][..],
        &["restore", "a/b/c", "/tmp/x"],
        &["list", "--bogus"],
        &["prune", "--dry-run", "--yes"],
        &["prune", "--keep-within", "7", "--dry-run"],
        &["cleanup-uploads", "--older-than", "soon"],
        &["save", "--meta", "novalue", "/tmp"],
        &["save", "0/1/0"],
        &["frobnicate"],
        &[],
    ] {
        let run = store.run(args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.stderr.contains("error"), "{args:?}: {run:?}");
    }
    let json = store.run(&["status", "nope", "--json"]);
    json.expect(2);
    assert_eq!(json.json()["error"]["kind"], "InvalidInput");

    let no_bucket = s3keep(&["list"], &store.secret);
    no_bucket.expect(2);
    assert!(
        no_bucket.error_line().contains("no bucket given"),
        "{}",
        no_bucket.stderr
    );

    s3keep(&["--help"], &store.secret).expect(0);
    let version = s3keep(&["--version"], &store.secret);
    version.expect(0);
    assert!(version.stdout.starts_with("s3keep "), "{}", version.stdout);
}

/// clap quotes a bad argument as typed: a newline in it would forge a line of the error, an
/// ESC sequence would reach the terminal. Parsing fails before any request, so no store.
#[test]
fn usage_errors_show_control_characters_escaped() {
    for (args, shown) in [
        (&["list", "--bad\nforged\x1b[31m"][..], r"--bad\nforged\u{1b}[31m"),
        // Parsed by the core's option table, which escapes on its own.
        (&["--bucket", "b", "list", "--concurrency", "4\nforged"], r"4\nforged"),
        (&["frob\x1b]0;title\x07", "x"], r"frob\u{1b}]0;title\u{7}"),
    ] {
        let run = s3keep(args, "unused");
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        let first = run.stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error: ") && first.contains(shown),
            "{args:?}: {:?}",
            run.stderr
        );
        assert!(!run.stderr.contains(['\x1b', '\x07']), "{args:?}: {:?}", run.stderr);
        assert!(!run.stderr.lines().any(|l| l.starts_with("forged")), "{:?}", run.stderr);
    }
}

#[test]
fn wrong_credentials_fail_with_one_line_naming_the_s3_code() {
    let store = Store::new();
    store.create();
    let m = support::minio();
    let wrong = s3keep(
        &["list", "--endpoint", &m.endpoint, "--bucket", &store.bucket],
        "not-the-secret",
    );
    wrong.expect(1);
    let line = wrong.error_line();
    assert!(
        line.contains("SignatureDoesNotMatch") && line.contains("InvalidCredentials"),
        "{line}"
    );
    assert!(!line.contains("not-the-secret"), "{line}");

    let json = s3keep(
        &["list", "--json", "--endpoint", &m.endpoint, "--bucket", &store.bucket],
        "not-the-secret",
    );
    json.expect(1);
    let error = &json.json()["error"];
    assert_eq!(error["kind"], "InvalidCredentials");
    assert_eq!(error["code"], "SignatureDoesNotMatch");
    assert_eq!(error["status"], 403);
    assert!(error["requestId"].is_string(), "{error}");
}

#[test]
fn doctor_passes_on_a_good_setup_and_fails_with_a_wrong_secret() {
    let store = Store::new();
    store.create();
    let good = store.run(&["doctor"]);
    good.expect(0);
    for name in [
        "endpoint",
        "credentials",
        "bucket",
        "put",
        "get",
        "list",
        "delete",
        "clock",
    ] {
        assert!(
            good.stdout.lines().any(|l| l.starts_with("ok") && l.contains(name)),
            "{name}: {}",
            good.stdout
        );
    }
    let json = store.run(&["doctor", "--json"]).expect(0).json();
    assert_eq!(json["ok"], true);
    assert!(json["checks"].as_array().unwrap().len() >= 8);

    let m = support::minio();
    let bad = s3keep(
        &["doctor", "--endpoint", &m.endpoint, "--bucket", &store.bucket],
        "not-the-secret",
    );
    bad.expect(1);
    let line = bad.stdout.lines().find(|l| l.contains("credentials")).unwrap();
    assert!(
        line.starts_with("failed") && line.contains("AWS_SECRET_ACCESS_KEY"),
        "{line}"
    );

    let missing = Store::new();
    let no_bucket = missing.run(&["doctor", "--json"]);
    no_bucket.expect(1);
    let checks = no_bucket.json()["checks"].clone();
    let bucket = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "bucket")
        .unwrap()
        .clone();
    assert_eq!(bucket["state"], "failed");
}

#[test]
fn a_missing_bucket_is_not_found() {
    let store = Store::new();
    let run = store.run(&["list"]);
    run.expect(3);
    assert!(run.error_line().contains("NoSuchBucket"), "{}", run.stderr);
}

#[test]
fn url_form_and_options_after_the_command_reach_the_same_store() {
    let store = Store::new();
    store.create();
    let src = sample_dir();
    let m = support::minio();
    let url = format!("s3://{}/team/db?endpoint={}", store.bucket, m.endpoint);
    let quiet = s3keep(&["save", path_str(src.path()), "--url", &url, "--quiet"], &store.secret);
    quiet.expect(0);
    let id = quiet.stdout.trim().to_string();
    let parts: Vec<&str> = id.split('/').collect();
    assert_eq!(parts.len(), 3, "quiet save prints the id: {id:?}");
    assert_eq!((parts[0], parts[2]), ("0", "0"));
    let checkpoint: u64 = parts[1].parse().unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(
        now_ms - checkpoint < 600_000,
        "checkpoint {checkpoint} is not the time in ms"
    );

    let listed = store.run(&["list", "--prefix", "/team/db/", "--json"]).expect(0).json();
    assert_eq!(ids(&listed), vec![id.clone()]);
    assert_eq!(
        store.run(&["list", "--json"]).json(),
        Value::Array(vec![]),
        "the prefix was ignored"
    );
    let filtered = store
        .run(&["--prefix", "team/db", "list", "--partition", "1", "--json"])
        .expect(0)
        .json();
    assert_eq!(filtered, Value::Array(vec![]));
}

/// Fails when a run printed any part of the secrets that the URLs of these tests carry.
#[track_caller]
fn assert_no_secret_printed(run: &Run, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "{secret} printed: {run:?}"
        );
    }
}

#[test]
fn urls_with_credentials_are_refused_without_printing_them() {
    let secret = support::minio().secret_key.clone();
    for global in [
        &["--url", "s3://bkt?endpoint=ftp://AK:SECRET@host"][..],
        &["--url", "s3://bkt?endpoint=http://AK:SECRET@host&colour=red"],
        &["--url", "s3://bkt?endpoint=http://AK:SECRET@[::1"],
        &["--url", "https://AK:SECRET@host/b"],
        &[
            "--bucket",
            "bkt",
            "--endpoint",
            "http://host:9000/?X-Amz-Signature=SECRET",
        ],
    ] {
        let human = s3keep(&[global, &["list"]].concat(), &secret);
        human.expect(2);
        assert!(human.error_line().contains("InvalidInput"), "{}", human.stderr);
        assert_no_secret_printed(&human, &["SECRET", "AK:"]);
        let json = s3keep(&[global, &["list", "--json"]].concat(), &secret);
        json.expect(2);
        assert_eq!(json.json()["error"]["kind"], "InvalidInput");
        assert_no_secret_printed(&json, &["SECRET", "AK:"]);
    }
}

#[test]
fn save_against_a_redirecting_store_fails_and_the_other_host_receives_nothing() {
    use support::redirect::{Recorder, Redirector, LOCATION_SECRETS};
    let src = sample_dir();
    let secret = support::minio().secret_key.clone();
    for (status, json) in [(301, false), (307, false), (307, true)] {
        let recorder = Recorder::start();
        let redirector = Redirector::start(status, &recorder);
        let mut args = vec![
            "--endpoint",
            &redirector.endpoint,
            "--bucket",
            "redirected",
            "save",
            "0/1/0",
        ];
        args.extend([path_str(src.path())].iter().chain(json.then_some(&"--json")));
        let mut cmd = command(&args, &secret);
        cmd.env("AWS_SESSION_TOKEN", "SESSION-TOKEN-SECRET");
        let run = finish(cmd.output().expect("cannot run s3keep"));
        run.expect(1);
        assert!(!run.stdout.contains("COMPLETED"), "{run:?}");
        let host = recorder.endpoint.trim_start_matches("http://");
        let said = format!("the store redirected to {host} (region eu-west-1)");
        if json {
            let error = &run.json()["error"];
            assert_eq!(
                (error["kind"].as_str(), error["status"].as_u64()),
                (Some("Redirect"), Some(307))
            );
            assert!(error["message"].as_str().unwrap().contains(&said), "{error}");
        } else {
            let line = run.error_line();
            assert!(line.starts_with("error: Redirect: ") && line.contains(&said), "{line}");
        }
        assert_no_secret_printed(&run, &[&LOCATION_SECRETS[..], &["SESSION-TOKEN"]].concat());
        assert!(!redirector.requests().is_empty());
        assert_eq!(
            recorder.received(),
            Vec::<Vec<u8>>::new(),
            "{status}: the other host was contacted"
        );
    }
}

#[test]
fn mark_failed_refuses_completed_and_missing_backups() {
    let store = Store::new();
    store.create();
    let src = sample_dir();
    store.run(&["save", "0/5/0", path_str(src.path()), "-q"]).expect(0);
    store.run(&["mark-failed", "0/5/0"]).expect(4);
    store.run(&["mark-failed", "0/6/0", "--reason", "x"]).expect(3);
    let cleaned = store
        .run(&["cleanup-uploads", "--older-than", "0s", "--json"])
        .expect(0)
        .json();
    assert_eq!(cleaned["aborted"], Value::Array(vec![]));
    // With --older-than 0s the cutoff is now: a timestamp of the one format (docs/SCHEMA.md).
    let cutoff = cleaned["cutoffAt"].as_str().unwrap();
    assert!(cutoff.len() == 24 && cutoff.ends_with('Z'), "{cleaned}");
}

#[test]
fn ctrl_c_during_save_marks_it_failed_and_exits_130() {
    let store = Store::new();
    store.create();
    let src = tempfile::tempdir().unwrap();
    // Sparse: instant to create, long enough to upload that the signal lands mid-save.
    let big = std::fs::File::create(src.path().join("big.bin")).unwrap();
    big.set_len(1 << 30).unwrap();
    drop(big);
    let m = support::minio();
    let child = command(
        &[
            "--endpoint",
            &m.endpoint,
            "--bucket",
            &store.bucket,
            "save",
            "0/77/0",
            path_str(src.path()),
        ],
        &store.secret,
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = store.run(&["status", "0/77/0", "--json"]).json();
        if status["status"] == "IN_PROGRESS" {
            break;
        }
        assert_eq!(
            status["status"], "DOES_NOT_EXIST",
            "the save ended before it was interrupted"
        );
        assert!(Instant::now() < deadline, "the save never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let run = finish(child.wait_with_output().unwrap());
    run.expect(130);
    assert!(run.stderr.contains("Cancelled"), "{}", run.stderr);

    let status = store.run(&["status", "0/77/0", "--json"]).expect(0).json();
    assert_eq!(status["status"], "FAILED", "{status}");
    assert!(
        status["failureReason"].as_str().unwrap().contains("cancelled"),
        "{status}"
    );
    let uploads = store
        .run(&["cleanup-uploads", "--older-than", "0s", "--json"])
        .expect(0)
        .json();
    assert_eq!(
        uploads["aborted"],
        Value::Array(vec![]),
        "the save left multipart uploads open"
    );

    // A FAILED backup can be deleted and is what --prune-failed removes.
    store.run(&["delete", "0/77/0"]).expect(0);
}

// ---------------------------------------------------------------------------------------------
// Hostile servers (issue 16, classes 5, 6, 7, 9, 10): exit code and the one error line

use support::hostile::{hostile, list_page, Body, Hostile, Reply};

/// `s3keep --endpoint HOSTILE --bucket B --prefix backups ARGS...`
fn via(server: &Hostile, store: &Store, args: &[&str]) -> Run {
    let mut all = vec![
        "--endpoint",
        &server.endpoint,
        "--bucket",
        &store.bucket,
        "--prefix",
        "backups",
    ];
    all.extend_from_slice(args);
    s3keep(&all, &store.secret)
}

#[test]
fn a_listing_that_repeats_its_continuation_token_fails_list_with_one_line() {
    let store = Store::new();
    store.create();
    let (_rt, server) = hostile(|r| match r.is_list_objects_v2() {
        true => Reply::xml(list_page(&[], &["backups/0/".to_string()], Some("same"))),
        false => Reply::Forward,
    });
    let run = via(&server, &store, &["list"]);
    run.expect(1);
    assert!(
        run.error_line()
            .contains("ListObjectsV2 handed out the continuation token of an earlier page again after 2 pages"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_endless_listing_fails_list_after_16_mib_with_one_line() {
    let store = Store::new();
    store.create();
    let (_rt, server) = hostile(|r| match r.is_list_objects_v2() {
        true => Reply::with(
            200,
            Body::Endless {
                head: b"<ListBucketResult><IsTruncated>false</IsTruncated>".to_vec(),
                chunk: "<Contents><Key>k</Key><Size>1</Size></Contents>"
                    .repeat(4096)
                    .into_bytes(),
                limit: 1 << 30,
                declared: None,
            },
        ),
        false => Reply::Forward,
    });
    let run = via(&server, &store, &["list"]);
    run.expect(1);
    assert!(run.error_line().contains("larger than 16 MiB"), "{}", run.stderr);
}

#[test]
fn delete_against_a_listing_ignoring_its_prefix_leaves_other_objects_and_says_so() {
    let store = Store::new();
    store.create();
    let src = sample_dir();
    for id in ["0/1/0", "0/2/0"] {
        store
            .run(&["--prefix", "backups", "save", id, path_str(src.path())])
            .expect(0);
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = support::client_for(&store.bucket);
    let put = s3keep::s3::PutOptions::default();
    rt.block_on(client.put_object("other-app/data.bin", "theirs".into(), &put))
        .unwrap();
    let listing = list_page(&rt.block_on(support::all_keys(&client)), &[], None);
    let (_rt, server) = hostile(
        move |r| match r.is_list_objects_v2() && r.query("delimiter").is_none() {
            true => Reply::xml(listing.clone()),
            false => Reply::Forward,
        },
    );
    let run = via(&server, &store, &["delete", "0/1/0", "--force"]);
    run.expect(1);
    assert!(run.error_line().contains("which were left alone"), "{}", run.stderr);
    let status = store
        .run(&["--prefix", "backups", "status", "0/2/0", "--json"])
        .expect(0)
        .json();
    assert_eq!(status["status"], "COMPLETED");
    assert!(rt.block_on(client.head_object("other-app/data.bin")).is_ok());
}

#[test]
fn a_corrupt_status_is_listed_and_deleted_only_with_force() {
    let store = Store::new();
    store.create();
    let src = sample_dir();
    store.run(&["save", "0/1/0", path_str(src.path())]).expect(0);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let put = s3keep::s3::PutOptions::default();
    let client = support::client_for(&store.bucket);
    rt.block_on(client.put_object("0/2/0/status.json", "{not json".into(), &put))
        .unwrap();
    let listed = store.run(&["list", "--json"]).expect(0).json();
    let statuses: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["COMPLETED", "CORRUPT"]);
    let refused = store.run(&["delete", "0/2/0"]);
    refused.expect(1);
    assert!(
        refused.error_line().contains("only a forced delete removes it"),
        "{}",
        refused.stderr
    );
    store.run(&["delete", "0/2/0", "--force"]).expect(0);
    assert_eq!(ids(&store.run(&["list", "--json"]).expect(0).json()), ["0/1/0"]);
}

#[test]
fn a_server_that_stops_answering_ends_status_at_the_read_timeout() {
    let store = Store::new();
    store.create();
    let (_rt, server) = hostile(|r| match r.operation() {
        "GetObject" => Reply::with(200, Body::Silence),
        _ => Reply::Forward,
    });
    // A short read timeout and retry budget: the flag reaches the client.
    let run = via(
        &server,
        &store,
        &["status", "0/1/0", "--read-timeout", "1s", "--max-elapsed", "3s"],
    );
    run.expect(1);
    let line = run.error_line();
    assert!(line.contains("Timeout") && line.contains("(read timeout)"), "{line}");
}
