//! What `save` makes of a source tree that is not plain files (issue 16 classes 3 and 4 and
//! the source-tree rules): names with control characters, a tampered metadata.json, FIFOs
//! named and met in a tree, symbolic links, per-file errors with `--on-file-error`.
//! Real processes against the harness MinIO.

mod common;

use std::io::Write as _;
use std::path::Path;
use std::process::Command;

use common::{s, support, Store};

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success());
}

const EVIL: &str = "evil\u{1b}[2J\nforged: line";
const EVIL_SHOWN: &str = "evil\\u{1b}[2J\\nforged: line";

#[test]
fn a_source_name_with_esc_and_newline_is_printed_escaped_once() {
    let store = Store::new();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("good.txt"), b"good").unwrap();
    std::fs::write(src.path().join(EVIL), b"evil").unwrap();

    let run = store.run(&["save", "0/1/0", s(src.path())]);
    run.expect(2).printable();
    assert_eq!(run.stderr.lines().count(), 1, "{:?}", run.stderr);
    assert!(run.stderr.contains(EVIL_SHOWN), "{}", run.stderr);
    assert_eq!(run.stderr.matches("evil").count(), 1, "named once: {}", run.stderr);
    assert!(store.run(&["status", "0/1/0", "--json"]).json()["status"] == "DOES_NOT_EXIST");

    // Skipped on request: saved without it, a note names it (escaped), exit 5.
    let run = store.run(&["save", "0/2/0", s(src.path()), "--on-file-error", "skip", "--json"]);
    run.expect(5).printable();
    assert!(
        run.stderr.contains(&format!("note: skipped files/{EVIL_SHOWN}")),
        "{}",
        run.stderr
    );
    let doc = run.json();
    assert_eq!(doc["status"], "COMPLETED");
    assert_eq!(doc["fileCount"], 1);
    assert_eq!(doc["skipped"][0]["path"], EVIL_SHOWN);
    assert_eq!(doc["skipped"][0]["error"], true);
}

#[test]
fn names_from_a_tampered_metadata_json_are_printed_escaped_once() {
    let store = Store::new();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("a.txt"), b"A").unwrap();
    // Format 1: its metadata.json lists the file names that are tampered with below.
    store.run(&["save", "0/3/0", s(src.path()), "--format", "1"]).expect(0);

    let m = support::minio();
    let cat = m.mc(&["cat", &store.mc_path("0/3/0/metadata.json")]);
    let metadata = String::from_utf8(cat.stdout).unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&metadata).unwrap();
    doc["userMetadata"] = serde_json::json!({ format!("k-{EVIL}"): format!("v-{EVIL}") });
    let tampered = doc
        .to_string()
        .replace("\"a.txt\"", &serde_json::to_string(EVIL).unwrap());
    assert_ne!(tampered, metadata, "the name is in metadata.json: {metadata}");
    let file = tempfile::NamedTempFile::new().unwrap();
    file.as_file().write_all(tampered.as_bytes()).unwrap();
    m.mc(&["cp", s(file.path()), &store.mc_path("0/3/0/metadata.json")]);

    let out = tempfile::tempdir().unwrap();
    let run = store.run(&["restore", "0/3/0", s(out.path())]);
    run.expect(2).printable();
    assert_eq!(run.stderr.lines().count(), 1, "{:?}", run.stderr);
    assert!(run.stderr.contains(EVIL_SHOWN), "{}", run.stderr);
    assert_eq!(run.stderr.matches("evil").count(), 1, "named once: {}", run.stderr);
    let run = store.run(&["status", "0/3/0"]);
    run.expect(0).printable();
    assert!(run.stdout.contains(&format!("v-{EVIL_SHOWN}")), "{}", run.stdout);
    for deep in [false, true] {
        let mut args = vec!["verify", "0/3/0"];
        if deep {
            args.push("--deep");
        }
        let run = store.run(&args);
        run.printable();
        assert!(run.code != 0, "{run:?}");
    }
}

#[test]
fn a_fifo_named_as_a_source_is_streamed_while_its_writer_feeds_it() {
    let store = Store::new();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("dump.fifo");
    mkfifo(&fifo);
    // 40 MiB + 5 bytes, written in pieces while the save runs: three 16 MiB parts.
    let expected: Vec<u8> = (0..40 * 1024 * 1024 + 5u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let writer = {
        let (fifo, bytes) = (fifo.clone(), expected.clone());
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
            for piece in bytes.chunks(3 * 1024 * 1024) {
                f.write_all(piece).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        })
    };
    let set = format!("db={}", s(&fifo));
    let run = store.run(&["save", "0/4/0", "--set", &set, "--json"]);
    writer.join().unwrap();
    run.expect(0);
    let doc = run.json();
    assert_eq!(doc["status"], "COMPLETED");
    assert_eq!(doc["totalSize"], expected.len() as u64);

    let out = tempfile::tempdir().unwrap();
    store.run(&["restore", "0/4/0", s(out.path())]).expect(0);
    let restored = std::fs::read(out.path().join("db/dump.fifo")).unwrap();
    assert!(
        restored == expected,
        "restored {} bytes, not the fed ones",
        restored.len()
    );
    store.run(&["verify", "0/4/0", "--deep"]).expect(0);
}

#[test]
fn a_save_waiting_for_a_fifo_writer_has_written_nothing_yet() {
    let store = Store::new();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("late.fifo");
    mkfifo(&fifo);
    let set = format!("db={}", s(&fifo));
    let saving = {
        let args: Vec<String> = ["save", "0/11/0", "--set", &set, "--json"].map(String::from).to_vec();
        let store = Store {
            bucket: store.bucket.clone(),
        };
        std::thread::spawn(move || store.run(&args.iter().map(String::as_str).collect::<Vec<_>>()))
    };
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // No writer yet: the save waits before its first request, so no IN_PROGRESS exists.
    let status = store.run(&["status", "0/11/0", "--json"]);
    assert_eq!(status.json()["status"], "DOES_NOT_EXIST", "{status:?}");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .unwrap()
        .write_all(b"late dump\n")
        .unwrap();
    let run = saving.join().unwrap();
    run.expect(0);
    assert_eq!(run.json()["totalSize"], 10);
}

#[test]
fn a_fifo_inside_a_tree_is_skipped_with_a_note() {
    let store = Store::new();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("data.bin"), b"data").unwrap();
    mkfifo(&src.path().join("nobody-writes.fifo"));
    let run = store.run(&["save", "0/5/0", s(src.path()), "--json"]);
    run.expect(0);
    assert!(
        run.stderr.contains("note: skipped files/nobody-writes.fifo: a FIFO"),
        "{}",
        run.stderr
    );
    let doc = run.json();
    assert_eq!(
        (doc["status"].as_str(), doc["fileCount"].as_u64()),
        (Some("COMPLETED"), Some(1))
    );
    assert_eq!(doc["skipped"][0]["reason"], "special-file");
    assert_eq!(doc["skipped"][0]["error"], false);
}

#[test]
fn symlinks_are_skipped_unless_followed_and_a_dangling_one_is_a_per_file_error() {
    let store = Store::new();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), b"outside").unwrap();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("a.txt"), b"A").unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), src.path().join("link.txt")).unwrap();

    let run = store.run(&["save", "0/6/0", s(src.path()), "--json"]);
    run.expect(0);
    assert!(run
        .stderr
        .contains("note: skipped files/link.txt: a symbolic link, not followed"));
    assert_eq!(run.json()["fileCount"], 1);

    let run = store.run(&["save", "0/7/0", s(src.path()), "--follow-symlinks", "--json"]);
    run.expect(0);
    assert_eq!(run.json()["fileCount"], 2);
    assert!(!run.stderr.contains("note:"), "{}", run.stderr);
    let out = tempfile::tempdir().unwrap();
    store.run(&["restore", "0/7/0", s(out.path())]).expect(0);
    assert_eq!(std::fs::read(out.path().join("link.txt")).unwrap(), b"outside");

    std::os::unix::fs::symlink("/nonexistent/s3keep", src.path().join("dangling")).unwrap();
    let run = store.run(&["save", "0/8/0", s(src.path()), "--follow-symlinks"]);
    run.expect(2);
    assert!(
        run.stderr.contains("dangling") && run.stderr.contains(&format!("{}/dangling", s(src.path()))),
        "{}",
        run.stderr
    );
    let run = store.run(&[
        "save",
        "0/9/0",
        s(src.path()),
        "--follow-symlinks",
        "--on-file-error",
        "skip",
    ]);
    run.expect(5);
    assert!(
        run.stderr.contains("note: skipped files/dangling: could not be saved"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("COMPLETED"), "{}", run.stdout);
}

#[test]
fn a_failed_restore_leaves_no_partial_file() {
    let store = Store::new();
    let src = tempfile::tempdir().unwrap();
    for i in 0..300 {
        std::fs::write(src.path().join(format!("f{i:03}")), vec![i as u8; 64 * 1024]).unwrap();
    }
    // Format 1: one object per file, so that one file's object can be replaced.
    store.run(&["save", "0/10/0", s(src.path()), "--format", "1"]).expect(0);
    // One object replaced by other bytes of the same size: its CRC32C no longer matches.
    let file = tempfile::NamedTempFile::new().unwrap();
    file.as_file().write_all(&vec![0xEE; 64 * 1024]).unwrap();
    support::minio().mc(&["cp", s(file.path()), &store.mc_path("0/10/0/files/f002")]);

    for round in 0..8 {
        let out = tempfile::tempdir().unwrap();
        let run = store.run(&["restore", "0/10/0", s(out.path()), "--concurrency", "64"]);
        run.expect(1);
        assert!(run.stderr.contains("Integrity"), "{}", run.stderr);
        let partial: Vec<String> = std::fs::read_dir(out.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("s3keep-partial"))
            .collect();
        assert!(partial.is_empty(), "round {round}: left behind: {partial:?}");
    }
}
