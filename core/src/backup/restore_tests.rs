//! Unit tests of restore (split out to keep restore.rs readable).

use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use crate::s3::checksum::crc32c_base64;

fn entry(name: &str) -> FileEntry {
    FileEntry {
        name: name.into(),
        size: Some(1),
        crc32c: Some("AAAAAA==".into()),
        etag: None,
    }
}

fn metadata(sets: &[(&str, &[&str])]) -> Metadata {
    let file_sets: BTreeMap<String, Vec<FileEntry>> = sets
        .iter()
        .map(|(set, names)| (set.to_string(), names.iter().map(|n| entry(n)).collect()))
        .collect();
    Metadata::new(
        &BackupId::new(0, 1, 0),
        file_sets,
        BTreeMap::new(),
        Default::default(),
        time::OffsetDateTime::UNIX_EPOCH,
    )
}

fn paths(items: &[RestoreItem]) -> Vec<String> {
    items
        .iter()
        .map(|i| i.relative.to_string_lossy().replace('\\', "/"))
        .collect()
}

#[test]
fn root_set_goes_into_target_and_others_into_subdirectories() {
    let m = metadata(&[("files", &["a.txt", "d/b.txt"]), ("segments", &["1.log"])]);
    let items = plan_restore(&m, None, Some("files")).unwrap();
    assert_eq!(paths(&items), ["a.txt", "d/b.txt", "segments/1.log"]);
    let items = plan_restore(&m, None, None).unwrap();
    assert_eq!(paths(&items), ["files/a.txt", "files/d/b.txt", "segments/1.log"]);
}

#[test]
fn one_set_restores_straight_into_target() {
    let m = metadata(&[("files", &["a"]), ("segments", &["1.log"])]);
    let o = RestoreOptions::only_set("segments");
    let items = plan_restore(&m, o.sets.as_deref(), o.root_set.as_deref()).unwrap();
    assert_eq!(paths(&items), ["1.log"]);
    assert_eq!(items[0].set, "segments");
}

#[test]
fn unknown_set_is_invalid_input_naming_the_sets_there_are() {
    let m = metadata(&[("files", &["a"])]);
    let err = plan_restore(&m, Some(&["nope".to_string()]), None).unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)));
    assert!(err.to_string().contains("files"), "{err}");
}

#[test]
fn escaping_names_in_metadata_are_refused() {
    for bad in ["../x", "/etc/passwd", "a/../../b", "a\\..\\b", ""] {
        let m = metadata(&[("files", &["ok", bad])]);
        let err = plan_restore(&m, None, Some("files")).unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{bad:?}");
    }
    let m = metadata(&[("..", &["x"])]);
    assert!(plan_restore(&m, None, None).is_err());
}

#[test]
fn clashing_destinations_are_refused() {
    // `files/segments/1.log` and set `segments`' `1.log` both land on segments/1.log.
    let m = metadata(&[("files", &["segments/1.log"]), ("segments", &["1.log"])]);
    assert!(plan_restore(&m, None, Some("files")).is_err());
    // A root file named like another set's directory.
    let m = metadata(&[("files", &["segments"]), ("segments", &["1.log"])]);
    assert!(plan_restore(&m, None, Some("files")).is_err());
    // Separately they are fine.
    assert!(plan_restore(&m, None, None).is_ok());
}

#[test]
fn file_check_accepts_matching_bytes_in_any_chunking() {
    let data = b"hello world";
    let mut check = FileCheck::new(Some(11), Some(crc32c_base64(data)));
    check.update(b"hello").unwrap();
    check.update(b" world").unwrap();
    assert_eq!(check.finish(), Ok(()));
    // Empty file.
    assert_eq!(FileCheck::new(Some(0), Some("AAAAAA==".into())).finish(), Ok(()));
}

#[test]
fn file_check_reports_size_then_checksum() {
    let mut short = FileCheck::new(Some(5), Some(crc32c_base64(b"hello")));
    short.update(b"hell").unwrap();
    assert_eq!(short.finish(), Err(Mismatch::Size { expected: 5, actual: 4 }));
    let mut long = FileCheck::new(Some(2), None);
    assert_eq!(long.update(b"abc"), Err(Mismatch::Size { expected: 2, actual: 3 }));
    let mut wrong = FileCheck::new(Some(5), Some(crc32c_base64(b"hello")));
    wrong.update(b"jello").unwrap();
    assert!(matches!(wrong.finish(), Err(Mismatch::Checksum { .. })));
    let err = wrong.finish().unwrap_err().into_error("0/1/0/files/a");
    assert!(matches!(err, Error::Integrity(_)));
    assert_eq!(err.key(), Some("0/1/0/files/a"));
    // Nothing expected (no size, no CRC): anything passes.
    let mut free = FileCheck::new(None, None);
    free.update(b"x").unwrap();
    assert_eq!(free.finish(), Ok(()));
}

#[tokio::test]
async fn verified_body_ends_with_an_integrity_error_on_mismatch() {
    let body = |chunks: Vec<&'static [u8]>| -> crate::s3::ByteStream {
        Box::pin(futures::stream::iter(
            chunks.into_iter().map(|c| Ok(Bytes::from_static(c))),
        ))
    };
    let good = VerifiedBody {
        body: body(vec![b"hello ", b"world"]),
        key: "k".into(),
        check: FileCheck::new(Some(11), Some(crc32c_base64(b"hello world"))),
        done: false,
    };
    let items: Vec<Result<Bytes>> = good.collect().await;
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|i| i.is_ok()));
    let bad = VerifiedBody {
        body: body(vec![b"hello ", b"w0rld"]),
        key: "k".into(),
        check: FileCheck::new(Some(11), Some(crc32c_base64(b"hello world"))),
        done: false,
    };
    let items: Vec<Result<Bytes>> = bad.collect().await;
    assert_eq!(items.len(), 3);
    assert!(matches!(items[2], Err(Error::Integrity(_))));
}

/// The bindings run these futures on a multi-threaded runtime (pyo3, the CLI).
#[allow(dead_code)]
fn futures_are_send(store: &BackupStore, target: &Path, entry: &FileEntry) {
    fn is_send<T: Send>(_: T) {}
    let id = BackupId::new(0, 0, 0);
    is_send(store.restore(id, target, RestoreOptions::default()));
    is_send(store.restore_plan(id));
    is_send(store.open_file(id, "files", entry));
    is_send(store.read_file(id, "files", entry));
    is_send(store.verify(id, true));
}

#[test]
fn temp_names_stay_beside_and_short() {
    assert_eq!(temp_name("a.txt".as_ref()), ".a.txt.s3keep-partial");
    let long = "x".repeat(250);
    let name = temp_name(Path::new(&long).as_os_str());
    assert!(name.len() <= 255);
    assert!(name.to_string_lossy().ends_with(".s3keep-partial"));
}

#[test]
fn a_planned_restore_gives_path_components_and_the_temporary_name_as_json() {
    let m = metadata(&[("files", &["d/b.txt"]), ("segments", &["1.log"])]);
    let planned: Vec<PlannedRestore> = plan_restore(&m, None, Some("files"))
        .unwrap()
        .into_iter()
        .map(PlannedRestore::from)
        .collect();
    let json = serde_json::to_value(&planned).unwrap();
    assert_eq!(json[0]["path"], serde_json::json!(["d", "b.txt"]));
    assert_eq!(json[0]["temp"], ".b.txt.s3keep-partial");
    assert_eq!(json[0]["entry"]["name"], "d/b.txt");
    assert_eq!(json[1]["path"], serde_json::json!(["segments", "1.log"]));
    assert_eq!(json[1]["set"], "segments");
    let long = "x".repeat(250);
    let item = RestoreItem {
        set: "files".into(),
        entry: m.file_sets["files"][0].clone(),
        relative: Path::new("d").join(&long),
    };
    let temp = PlannedRestore::from(item).temp;
    assert!(
        temp.starts_with(".s3keep-") && temp.ends_with(".s3keep-partial") && temp.len() <= 255,
        "{temp}"
    );
}

#[test]
fn the_resume_check_takes_a_file_only_with_its_size_and_crc32c() {
    let chunks = |parts: &[&'static [u8]]| -> crate::s3::ByteStream {
        let items: Vec<Result<bytes::Bytes>> = parts.iter().map(|p| Ok(bytes::Bytes::from_static(p))).collect();
        Box::pin(futures::stream::iter(items))
    };
    let file = FileEntry {
        name: "a".into(),
        size: Some(6),
        crc32c: Some(crc32c_base64(b"abcdef")),
        etag: None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let check = |entry: &FileEntry, bytes| runtime.block_on(is_restored(entry, bytes)).unwrap();
    assert!(check(&file, chunks(&[b"abc", b"def"])));
    assert!(!check(&file, chunks(&[b"abcdeg"])), "other bytes");
    assert!(!check(&file, chunks(&[b"abcdef", b"g"])), "longer");
    assert!(!check(&file, chunks(&[b"abc"])), "shorter");
    let zeebe = FileEntry {
        crc32c: None,
        ..file.clone()
    };
    assert!(!check(&zeebe, chunks(&[b"abcdef"])), "no CRC32C recorded");
    let failed: crate::s3::ByteStream = Box::pin(futures::stream::iter(vec![Err(Error::invalid_input("x"))]));
    assert!(runtime.block_on(is_restored(&file, failed)).is_err());
}
