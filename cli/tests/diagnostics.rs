//! `-v` / `RUST_LOG` diagnostics: one line per S3 request, never a secret.
//! Real processes against the harness MinIO.

mod common;

use common::{s, support, Store};

/// What no log line may hold: the secret, a session token, a signature or a credential scope.
#[track_caller]
fn assert_no_secret(text: &str, token: &str) {
    let secret = &support::minio().secret_key;
    for needle in [
        secret.as_str(),
        token,
        "Signature",
        "Credential",
        "X-Amz-",
        "Authorization",
    ] {
        assert!(!text.contains(needle), "{needle:?} was logged:\n{text}");
    }
}

#[test]
fn verbose_logs_one_line_per_request_without_secrets() {
    let store = Store::new();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("a.txt"), b"A").unwrap();
    // Format 1, whose requests are counted below (format 2 also reads and writes s3keep.json,
    // a lock, a pack and an index).
    let run = store.run(&["save", "0/1/0", s(src.path()), "-v", "--format", "1"]);
    run.expect(0);
    let lines: Vec<&str> = run.stderr.lines().filter(|l| l.contains("S3 request")).collect();
    // The first save of a store probes its conditional writes on a throwaway key (probe.rs):
    // logged like every request, then the backup's own requests.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("key=.s3keep-probe-") && l.contains("status=412")),
        "{}",
        run.stderr
    );
    // Before its own requests the save also reads s3keep.json and lists the prefix to learn
    // the store's format (format2/store.rs); count the backup's requests apart from them.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("operation=GetObject key=s3keep.json status=404")),
        "{}",
        run.stderr
    );
    let requests: Vec<&str> = lines.into_iter().filter(|l| l.contains("key=0/1/0/")).collect();
    // status.json, the file, metadata.json, status.json again.
    assert_eq!(requests.len(), 4, "{}", run.stderr);
    for line in &requests {
        assert!(
            line.contains("operation=PutObject") && line.contains("status=200"),
            "{line}"
        );
        assert!(line.contains(" ms="), "{line}");
    }
    assert!(requests[1].contains("key=0/1/0/files/a.txt"), "{}", requests[1]);
    assert_no_secret(&run.stderr, "no-token");

    // Without -v nor RUST_LOG: nothing but the result.
    let quiet = store.run(&["status", "0/1/0"]);
    quiet.expect(0);
    assert_eq!(quiet.stderr, "");

    // A session token the store refuses: the 403 is logged, the token is not.
    let token = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN0123456789";
    let run = store.run_with(
        &["status", "0/1/0"],
        &[("AWS_SESSION_TOKEN", token), ("RUST_LOG", "s3keep=debug")],
    );
    assert_ne!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .lines()
            .any(|l| l.contains("operation=GetObject") && l.contains("status=403")),
        "{}",
        run.stderr
    );
    assert_no_secret(&run.stderr, token);
    assert_no_secret(&run.stdout, token);
}
