//! The rules of scan.rs on real trees (unix: links, FIFOs, non-UTF-8 names).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::symlink;

use super::*;

fn names(scan: &Scan) -> Vec<&str> {
    scan.set.files.iter().map(|f| f.name.as_str()).collect()
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

const FOLLOW: ScanOptions = ScanOptions {
    follow_symlinks: true,
    on_file_error: OnFileError::Fail,
};
const SKIP: ScanOptions = ScanOptions {
    follow_symlinks: false,
    on_file_error: OnFileError::Skip,
};

#[test]
fn links_are_skipped_with_a_note_unless_followed() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), b"s").unwrap();
    std::fs::create_dir(outside.path().join("d")).unwrap();
    std::fs::write(outside.path().join("d/inner"), b"i").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a"), b"a").unwrap();
    symlink(outside.path().join("secret"), dir.path().join("to-file")).unwrap();
    symlink(outside.path().join("d"), dir.path().join("to-dir")).unwrap();

    let scan = FileSet::scan("files", dir.path(), &ScanOptions::default()).unwrap();
    assert_eq!(names(&scan), ["a"]);
    let mut skipped: Vec<_> = scan.skipped.iter().map(|s| (s.path.as_str(), &s.reason)).collect();
    skipped.sort_by_key(|s| s.0);
    assert_eq!(
        skipped,
        [("to-dir", &SkipReason::Symlink), ("to-file", &SkipReason::Symlink)]
    );
    assert!(scan.skipped[0].to_string().contains("not followed"));

    let scan = FileSet::scan("files", dir.path(), &FOLLOW).unwrap();
    assert_eq!(names(&scan), ["a", "to-dir/inner", "to-file"]);
    assert!(scan.skipped.is_empty());
}

#[test]
fn a_link_loop_is_skipped_when_following() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/f"), b"f").unwrap();
    symlink("..", dir.path().join("sub/up")).unwrap();
    let scan = FileSet::scan("files", dir.path(), &FOLLOW).unwrap();
    assert_eq!(names(&scan), ["sub/f"]);
    assert_eq!(scan.skipped.len(), 1);
    assert_eq!(
        (scan.skipped[0].path.as_str(), &scan.skipped[0].reason),
        ("sub/up", &SkipReason::Loop)
    );
}

#[test]
fn a_dangling_link_followed_is_a_per_file_error_or_a_note() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ok"), b"1").unwrap();
    symlink("/nonexistent/s3keep-target", dir.path().join("gone\u{1b}[31m\n")).unwrap();
    let err = FileSet::scan("files", dir.path(), &FOLLOW).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::InvalidInput(_)), "{text}");
    assert!(
        text.contains("gone\\u{1b}[31m\\n") && text.contains("dangling"),
        "{text}"
    );
    assert!(!text.chars().any(char::is_control), "{text:?}");
    assert_eq!(text.matches("gone").count(), 1, "{text}");

    let options = ScanOptions {
        follow_symlinks: true,
        on_file_error: OnFileError::Skip,
    };
    let scan = FileSet::scan("files", dir.path(), &options).unwrap();
    assert_eq!(names(&scan), ["ok"]);
    assert_eq!(scan.skipped.len(), 1);
    assert!(scan.skipped[0].is_error());
    assert_eq!(scan.skipped[0].path, "gone\\u{1b}[31m\\n");
}

#[test]
fn bad_names_are_per_file_errors_naming_the_file_escaped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fine"), b"1").unwrap();
    std::fs::write(dir.path().join(OsStr::from_bytes(b"latin1-\xe9t\xe9")), b"2").unwrap();
    let err = FileSet::scan("files", dir.path(), &ScanOptions::default()).unwrap_err();
    assert!(err.to_string().contains("latin1-\\xE9t\\xE9"), "{err}");
    assert!(err.to_string().contains("not UTF-8"), "{err}");

    std::fs::remove_file(dir.path().join(OsStr::from_bytes(b"latin1-\xe9t\xe9"))).unwrap();
    std::fs::write(dir.path().join("esc\u{1b}]0;title\u{7}"), b"3").unwrap();
    let err = FileSet::scan("files", dir.path(), &ScanOptions::default()).unwrap_err();
    let text = err.to_string();
    assert!(!text.chars().any(char::is_control), "{text:?}");
    assert!(text.contains("esc\\u{1b}]0;title\\u{7}"), "{text}");

    let scan = FileSet::scan("files", dir.path(), &SKIP).unwrap();
    assert_eq!(names(&scan), ["fine"]);
    assert!(scan.skipped[0].is_error());
    assert!(!scan.skipped[0].to_string().chars().any(char::is_control));
}

#[test]
fn a_fifo_inside_a_tree_is_skipped_and_one_named_is_a_stream() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data"), b"d").unwrap();
    mkfifo(&dir.path().join("pipe"));
    let scan = FileSet::scan("files", dir.path(), &ScanOptions::default()).unwrap();
    assert_eq!(names(&scan), ["data"]);
    assert_eq!(
        scan.skipped,
        [Skipped {
            path: "pipe".into(),
            reason: SkipReason::Special("FIFO"),
        }]
    );

    let named = FileSet::scan("db", dir.path().join("pipe"), &ScanOptions::default()).unwrap();
    assert_eq!(names(&named), ["pipe"]);
    assert!(named.skipped.is_empty());
}

#[test]
fn on_file_error_parses_fail_and_skip_only() {
    assert_eq!("fail".parse::<OnFileError>().unwrap(), OnFileError::Fail);
    assert_eq!("skip".parse::<OnFileError>().unwrap(), OnFileError::Skip);
    assert!(matches!("warn".parse::<OnFileError>(), Err(Error::InvalidInput(_))));
}

#[test]
fn a_list_of_paths_names_files_by_their_names_and_trees_below_their_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("logs/old")).unwrap();
    std::fs::write(dir.path().join("logs/old/a.txt"), b"a").unwrap();
    symlink(dir.path().join("x"), dir.path().join("logs/link")).unwrap();
    std::fs::write(dir.path().join("db.dump"), b"d").unwrap();
    let paths = [dir.path().join("db.dump"), dir.path().join("logs")];
    let scan = FileSet::scan_paths("files", &paths, &ScanOptions::default()).unwrap();
    assert_eq!(scan.set.name, "files");
    assert_eq!(names(&scan), ["db.dump", "logs/old/a.txt"]);
    let skipped: Vec<_> = scan.skipped.iter().map(|s| (s.path.as_str(), &s.reason)).collect();
    assert_eq!(skipped, [("logs/link", &SkipReason::Symlink)]);
    let json = serde_json::to_value(&scan.skipped[0]).unwrap();
    assert_eq!(json["reason"], "symlink");
    assert_eq!(json["error"], false);
    assert!(FileSet::scan_paths("files", &[dir.path().join("missing")], &ScanOptions::default()).is_err());
}
