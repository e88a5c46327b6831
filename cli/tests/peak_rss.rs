//! Peak memory of the command saving a large file (issue 15): files on disk are sent part by
//! part as they are read, never held, so the peak stays flat whatever the file size.
//!
//! Slow (`#[ignore]`d; scripts/test.sh runs them): each saves 1 GiB of random bytes (made
//! once, from the kernel's generator) to the harness MinIO with the default settings. The
//! peak is the kernel's high-water mark of the child's resident memory (`ru_maxrss` from
//! `wait4`), exact, no polling. Nothing here looks at the time taken.

mod common;

use std::process::{Command, Stdio};
use std::sync::OnceLock;

use common::{s, support, Store};

const MIB: u64 = 1024 * 1024;

/// 1 GiB of random bytes (incompressible, nothing to deduplicate), made once per run.
fn big_file() -> &'static std::path::Path {
    static FILE: OnceLock<(tempfile::TempDir, std::path::PathBuf)> = OnceLock::new();
    &FILE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("big.bin");
            let mut random = std::fs::File::open("/dev/urandom").unwrap();
            let mut out = std::fs::File::create(&path).unwrap();
            let copied = std::io::copy(&mut std::io::Read::take(&mut random, 1024 * MIB), &mut out).unwrap();
            assert_eq!(copied, 1024 * MIB);
            (dir, path)
        })
        .1
}

/// Runs `s3keep save` of the big file into a fresh store of `format`; returns the child's
/// peak RSS in KiB.
fn peak_rss_of_save(format: &str) -> u64 {
    let store = Store::new();
    let m = support::minio();
    let mut child = Command::new(env!("CARGO_BIN_EXE_s3keep"))
        .args(["--endpoint", &m.endpoint, "--bucket", &store.bucket, "--format", format])
        .args(["save", "0/1/0", s(big_file())])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .env("AWS_ACCESS_KEY_ID", &m.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &m.secret_key)
        .env("AWS_REGION", &m.region)
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/s3keep-test-credentials")
        .env_remove("S3KEEP_URL")
        .env_remove("RUST_LOG")
        .spawn()
        .expect("cannot run s3keep");
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the child is ours and not yet waited for; both pointers are valid.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t, "wait4 failed");
    let stderr = reader.join().unwrap();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the save failed: {stderr}"
    );
    let listed = store.run(&["status", "0/1/0", "--json"]).expect(0).json();
    assert_eq!(listed["status"], "COMPLETED", "{listed}");
    assert_eq!(listed["totalSize"], 1024 * MIB, "{listed}");
    usage.ru_maxrss as u64
}

fn check(format: &str, bound_mib: u64) {
    let kib = peak_rss_of_save(format);
    println!(
        "peak RSS of `s3keep save` of 1 GiB, format {format}: {} MiB",
        kib / 1024
    );
    assert!(
        kib <= bound_mib * 1024,
        "peak RSS {} MiB above the {bound_mib} MiB bound (format {format})",
        kib / 1024
    );
}

#[test]
#[ignore = "slow: saves 1 GiB; run by scripts/test.sh"]
fn saving_1_gib_in_format_1_peaks_under_48_mib() {
    check("1", 48);
}

#[test]
#[ignore = "slow: saves 1 GiB; run by scripts/test.sh"]
fn saving_1_gib_in_format_2_peaks_under_64_mib() {
    check("2", 64);
}
