//! Restore into a directory never follows a link below the target (issue 16), against a real
//! MinIO: a symlink as a directory, symlinks and hard links planted at the temporary names,
//! a symlink at a final name, and the resume check.
#![cfg(unix)]
mod support;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use s3keep::backup::{BackupStore, FileSet, RestoreOptions, SaveOptions};
use s3keep::{BackupId, Error};

const VICTIM: &[u8] = b"the victim's own bytes, which no restore may touch";

/// A store whose part size is small enough that `big.bin` is restored by ranged GETs.
async fn store() -> BackupStore {
    let mut config = support::fresh_store_config().await;
    config.multipart_threshold = 5 * 1024 * 1024;
    config.part_size = 5 * 1024 * 1024;
    support::store_for(config).await
}

async fn save(store: &BackupStore, id: BackupId, files: &[(&str, Vec<u8>)]) {
    let files = files.iter().map(|(n, b)| (n.to_string(), Bytes::from(b.clone())));
    store
        .save(id, vec![FileSet::from_bytes("files", files)], SaveOptions::default())
        .await
        .unwrap();
}

/// `base/target` (not created) and `base/outside/victim` holding [`VICTIM`].
struct Scene {
    _base: tempfile::TempDir,
    target: PathBuf,
    outside: PathBuf,
    victim: PathBuf,
}

fn scene() -> Scene {
    let base = tempfile::tempdir().unwrap();
    let target = base.path().join("target");
    let outside = base.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let victim = outside.join("victim");
    std::fs::write(&victim, VICTIM).unwrap();
    Scene {
        _base: base,
        target,
        outside,
        victim,
    }
}

impl Scene {
    #[track_caller]
    fn victim_untouched(&self) {
        assert_eq!(std::fs::read(&self.victim).unwrap(), VICTIM, "the victim was written");
        let names: Vec<String> = std::fs::read_dir(&self.outside)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["victim"], "something was written outside the target");
    }
}

/// `path` is a regular file (not a link) holding `bytes`.
#[track_caller]
fn regular_file_with(path: &Path, bytes: &[u8]) {
    let meta = std::fs::symlink_metadata(path).unwrap();
    assert!(
        meta.file_type().is_file(),
        "{} is not a regular file: {meta:?}",
        path.display()
    );
    assert_eq!(std::fs::read(path).unwrap(), bytes, "{}", path.display());
}

#[track_caller]
fn no_temporary_files(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name();
        assert!(
            !name.to_string_lossy().contains("s3keep-partial"),
            "left behind: {name:?}"
        );
    }
}

fn big() -> Vec<u8> {
    (0..5 * 1024 * 1024 + 4321u32).map(|i| (i * 7 % 251) as u8).collect()
}

#[tokio::test]
async fn a_symlink_as_a_directory_below_the_target_is_refused_not_followed() {
    let store = store().await;
    let id = BackupId::new(0, 1, 0);
    save(&store, id, &[("a.txt", b"A".to_vec()), ("sub/b.bin", b"B".to_vec())]).await;

    // The scenario: target/sub -> ../outside.
    let s = scene();
    std::fs::create_dir(&s.target).unwrap();
    symlink("../outside", s.target.join("sub")).unwrap();
    let err = store
        .restore(id, &s.target, RestoreOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Io(_)), "{err}");
    let sub = s.target.join("sub").display().to_string();
    assert_eq!(err.key(), Some(sub.as_str()), "{err}");
    assert!(err.to_string().contains("symbolic link"), "{err}");
    s.victim_untouched();

    // Not followed either when it points inside the target.
    let s = scene();
    std::fs::create_dir_all(s.target.join("inside")).unwrap();
    symlink("inside", s.target.join("sub")).unwrap();
    let err = store
        .restore(id, &s.target, RestoreOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Io(_)), "{err}");
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_dir(s.target.join("inside")).unwrap().count(), 0);

    // A plain file where a directory is needed stays an error naming it.
    let s = scene();
    std::fs::create_dir(&s.target).unwrap();
    std::fs::write(s.target.join("sub"), b"a file").unwrap();
    let err = store
        .restore(id, &s.target, RestoreOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Io(_)), "{err}");
    assert_eq!(err.key(), Some(s.target.join("sub").display().to_string().as_str()));
    assert_eq!(std::fs::read(s.target.join("sub")).unwrap(), b"a file");
}

#[tokio::test]
async fn symlinks_planted_at_the_temporary_names_are_not_written_through() {
    let store = store().await;
    let id = BackupId::new(0, 2, 0);
    let big = big();
    save(
        &store,
        id,
        &[("b.bin", b"restored b".to_vec()), ("big.bin", big.clone())],
    )
    .await;

    let s = scene();
    std::fs::create_dir(&s.target).unwrap();
    // One for a file streamed whole, one for a file written by ranges.
    symlink(&s.victim, s.target.join(".b.bin.s3keep-partial")).unwrap();
    symlink(&s.victim, s.target.join(".big.bin.s3keep-partial")).unwrap();
    let summary = store.restore(id, &s.target, RestoreOptions::default()).await.unwrap();

    assert_eq!(summary.files_restored, 2);
    s.victim_untouched();
    regular_file_with(&s.target.join("b.bin"), b"restored b");
    regular_file_with(&s.target.join("big.bin"), &big);
    no_temporary_files(&s.target);
}

#[tokio::test]
async fn a_hard_link_planted_at_a_temporary_name_is_not_written_through() {
    let store = store().await;
    let id = BackupId::new(0, 3, 0);
    let big = big();
    save(
        &store,
        id,
        &[("b.bin", b"restored b".to_vec()), ("big.bin", big.clone())],
    )
    .await;

    let s = scene();
    std::fs::create_dir(&s.target).unwrap();
    std::fs::hard_link(&s.victim, s.target.join(".b.bin.s3keep-partial")).unwrap();
    std::fs::hard_link(&s.victim, s.target.join(".big.bin.s3keep-partial")).unwrap();
    store.restore(id, &s.target, RestoreOptions::default()).await.unwrap();

    s.victim_untouched();
    regular_file_with(&s.target.join("b.bin"), b"restored b");
    regular_file_with(&s.target.join("big.bin"), &big);
    no_temporary_files(&s.target);
}

#[tokio::test]
async fn a_symlink_at_a_final_name_is_replaced_not_written_through() {
    let store = store().await;
    let id = BackupId::new(0, 4, 0);
    save(&store, id, &[("dir/b.bin", b"restored b".to_vec())]).await;

    let s = scene();
    std::fs::create_dir_all(s.target.join("dir")).unwrap();
    symlink(&s.victim, s.target.join("dir/b.bin")).unwrap();
    let summary = store.restore(id, &s.target, RestoreOptions::default()).await.unwrap();

    assert_eq!((summary.files_restored, summary.files_skipped), (1, 0));
    s.victim_untouched();
    regular_file_with(&s.target.join("dir/b.bin"), b"restored b");
}

#[tokio::test]
async fn the_resume_check_does_not_follow_a_symlink_to_the_right_content() {
    let store = store().await;
    let id = BackupId::new(0, 5, 0);
    save(&store, id, &[("b.bin", VICTIM.to_vec())]).await;

    // The link points to a file of the right size and CRC32C: a check that followed it
    // would count the file as restored and leave the link in place.
    let s = scene();
    std::fs::create_dir(&s.target).unwrap();
    symlink(&s.victim, s.target.join("b.bin")).unwrap();
    let summary = store.restore(id, &s.target, RestoreOptions::default()).await.unwrap();

    assert_eq!((summary.files_restored, summary.files_skipped), (1, 0));
    regular_file_with(&s.target.join("b.bin"), VICTIM);
    s.victim_untouched();

    // The regular file now there is the restored one: the next run skips it.
    let again = store.restore(id, &s.target, RestoreOptions::default()).await.unwrap();
    assert_eq!((again.files_restored, again.files_skipped), (0, 1));
}
