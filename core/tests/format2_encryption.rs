//! Encrypted format 2 stores (§12) end to end against MinIO: save → restore byte-exact, no
//! plaintext name or content in any object, objects decrypted with the `age` crate's own
//! reader outside s3keep, wrong and missing keys refused before anything is written, and a
//! write-only host that saves (deduplicated) but can neither restore nor prune.

mod support;

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;

use age::secrecy::SecretString;
use s3keep::backup::{FileSet, RestoreOptions, SaveOptions};
use s3keep::retention::RetentionPolicy;
use s3keep::{BackupId, BackupStore, Error, Secret, StoreConfig};

const MIB: usize = 1024 * 1024;
const PASSWORD: &str = "correct horse battery staple";
/// A file name and a user metadata value that must appear in no object.
const SECRET_NAME: &str = "quarterly-merger-plans.txt";
const SECRET_HOST: &str = "db-host-with-a-telling-name";
/// A run of bytes inside a file that must appear in no object.
const MARKER: &[u8] = b"PLAINTEXT-MARKER-4f1c9a7e-that-must-not-be-stored-in-the-clear";

fn random(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..len).map(|_| rng.u8(..)).collect()
}

fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut secret = random(200_000, 1);
    secret.splice(1000..1000, MARKER.iter().copied());
    files.insert(format!("docs/{SECRET_NAME}"), secret);
    files.insert("empty".to_string(), Vec::new());
    files.insert("big/eleven.bin".to_string(), random(11 * MIB + 3, 2));
    for i in 0..20 {
        files.insert(
            format!("many/{i:02}.txt"),
            format!("small file {i}\n").repeat(i + 1).into_bytes(),
        );
    }
    for (rel, bytes) in &files {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    files
}

fn with_password(mut config: StoreConfig, password: &str) -> StoreConfig {
    config.encryption.password = Some(Secret::new(password));
    config
}

fn options() -> SaveOptions {
    SaveOptions {
        user_metadata: BTreeMap::from([("host".to_string(), SECRET_HOST.to_string())]),
        ..SaveOptions::default()
    }
}

async fn save(store: &BackupStore, id: BackupId, dir: &Path) -> s3keep::Result<s3keep::BackupInfo> {
    store
        .save(id, vec![FileSet::from_dir("files", dir).unwrap()], options())
        .await
}

async fn get(store: &BackupStore, key: &str) -> Vec<u8> {
    store
        .client()
        .get_object(key, None)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

async fn keys_under(store: &BackupStore, folder: &str) -> Vec<String> {
    let prefix = format!("{}{folder}", store.layout().prefix());
    let mut keys: Vec<String> = support::all_keys(store.client())
        .await
        .into_iter()
        .filter(|k| k.starts_with(&prefix))
        .collect();
    keys.sort();
    keys
}

/// The store's key document, decrypted with the `age` crate alone from the key object and
/// the passphrase.
async fn key_document(store: &BackupStore) -> serde_json::Value {
    let keys = keys_under(store, "keys/").await;
    assert_eq!(keys.len(), 1, "one key object: {keys:?}");
    let sealed = get(store, &keys[0]).await;
    let identity = age::scrypt::Identity::new(SecretString::from(PASSWORD.to_string()));
    let mut reader = age::Decryptor::new(&sealed[..])
        .unwrap()
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .unwrap();
    let mut json = Vec::new();
    reader.read_to_end(&mut json).unwrap();
    serde_json::from_slice(&json).unwrap()
}

fn age_decrypt(sealed: &[u8], identity: &age::x25519::Identity) -> Vec<u8> {
    let mut reader = age::Decryptor::new(sealed)
        .unwrap()
        .decrypt(std::iter::once(identity as &dyn age::Identity))
        .unwrap();
    let mut plain = Vec::new();
    reader.read_to_end(&mut plain).unwrap();
    plain
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn an_encrypted_tree_round_trips_and_no_object_holds_a_name_or_plaintext() {
    let config = with_password(support::fresh_format2_config().await, PASSWORD);
    let store = support::store_for(config.clone()).await;
    let src = tempfile::tempdir().unwrap();
    let files = tree(src.path());
    let id = BackupId::new(0, 1, 0);
    let info = save(&store, id, src.path()).await.unwrap();
    assert_eq!(info.file_count, Some(files.len() as u64));

    // The descriptor says encrypted, with keyed chunk ids.
    let descriptor: serde_json::Value =
        serde_json::from_slice(&get(&store, &format!("{}s3keep.json", store.layout().prefix())).await).unwrap();
    assert_eq!(descriptor["encryption"]["scheme"], "age");
    assert_eq!(descriptor["chunkId"], "hmac-sha256");

    // No object holds a file name, the user metadata or the marker, in any form we store
    // them in the clear (raw, or inside a zstd frame).
    let all = support::all_keys(store.client()).await;
    assert!(all.len() > 5, "{all:?}");
    for key in &all {
        assert!(!key.contains("quarterly"), "{key}");
        let body = get(&store, key).await;
        let mut views = vec![body.clone()];
        if let Ok(plain) = zstd::stream::decode_all(&body[..]) {
            views.push(plain);
        }
        for view in views {
            for needle in [SECRET_NAME.as_bytes(), SECRET_HOST.as_bytes(), MARKER, b"many/07.txt"] {
                assert!(
                    !contains(&view, needle),
                    "{key} shows {:?}",
                    String::from_utf8_lossy(needle)
                );
            }
        }
    }

    // Another process with the passphrase restores it byte-exact, and verifies it deeply.
    let reader = support::store_for(config).await;
    let dst = tempfile::tempdir().unwrap();
    let restored = reader.restore(id, dst.path(), RestoreOptions::default()).await.unwrap();
    assert_eq!(restored.files_restored, files.len() as u64);
    assert_eq!(support::tree(dst.path()), files);
    let plan = reader.restore_plan(id).await.unwrap();
    assert_eq!(plan.user_metadata.get("host").map(String::as_str), Some(SECRET_HOST));
    for entry in &plan.file_sets["files"] {
        let bytes = reader.read_file(id, "files", entry).await.unwrap();
        assert_eq!(&bytes[..], &files[&entry.name][..], "{}", entry.name);
    }
    for deep in [false, true] {
        let report = reader.verify(id, deep).await.unwrap();
        assert!(report.is_ok(), "deep={deep}: {:?}", report.problems);
    }
}

#[tokio::test]
async fn objects_decrypt_with_the_age_crate_alone() {
    let config = with_password(support::fresh_format2_config().await, PASSWORD);
    let store = support::store_for(config).await;
    let src = tempfile::tempdir().unwrap();
    tree(src.path());
    let id = BackupId::new(3, 7, 1);
    save(&store, id, src.path()).await.unwrap();

    let document = key_document(&store).await;
    assert_eq!(document["macKey"].as_str().unwrap().len(), 64);
    let identity: age::x25519::Identity = document["identity"].as_str().unwrap().parse().unwrap();

    // A pack decrypts to the documented pack layout (trailer "s3kpack" version 1).
    let packs = keys_under(&store, "data/").await;
    assert!(!packs.is_empty());
    let pack = age_decrypt(&get(&store, &packs[0]).await, &identity);
    assert_eq!(&pack[pack.len() - 8..], b"s3kpack\x01");
    // The manifest decrypts to a zstd frame of the JSON that names the files.
    let manifest = age_decrypt(
        &get(&store, &format!("{}3/7/1/manifest.json.zst", store.layout().prefix())).await,
        &identity,
    );
    let json: serde_json::Value = serde_json::from_slice(&zstd::stream::decode_all(&manifest[..]).unwrap()).unwrap();
    let names: Vec<&str> = json["fileSets"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&format!("docs/{SECRET_NAME}").as_str()), "{names:?}");
    assert_eq!(json["userMetadata"]["host"], SECRET_HOST);
}

#[tokio::test]
async fn a_wrong_or_missing_key_is_refused_before_anything_is_written() {
    let base = support::fresh_format2_config().await;
    let store = support::store_for(with_password(base.clone(), PASSWORD)).await;
    let src = tempfile::tempdir().unwrap();
    tree(src.path());
    let id = BackupId::new(0, 1, 0);
    save(&store, id, src.path()).await.unwrap();
    let before = support::all_keys(store.client()).await;

    let wrong = support::store_for(with_password(base.clone(), "not the passphrase")).await;
    let err = save(&wrong, BackupId::new(0, 2, 0), src.path()).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    assert_eq!(err.code(), Some("KeyWrong"), "{err}");
    assert!(err.to_string().contains("password") && !err.to_string().contains("not the passphrase"));
    let err = wrong
        .restore(id, tempfile::tempdir().unwrap().path(), RestoreOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("KeyWrong"), "{err}");

    let none = support::store_for(base).await;
    let err = save(&none, BackupId::new(0, 3, 0), src.path()).await.unwrap_err();
    assert_eq!(err.code(), Some("KeyMissing"), "{err}");
    assert!(err.to_string().contains("S3KEEP_PASSWORD"), "{err}");
    let err = none.restore_plan(id).await.unwrap_err();
    assert_eq!(err.code(), Some("KeyMissing"), "{err}");
    // list works without the key.
    assert_eq!(none.list(Default::default()).await.unwrap().len(), 1);

    assert_eq!(support::all_keys(store.client()).await, before, "nothing was written");
}

#[tokio::test]
async fn a_write_only_host_saves_deduplicated_but_cannot_restore_or_prune() {
    let base = support::fresh_format2_config().await;
    let owner = support::store_for(with_password(base.clone(), PASSWORD)).await;
    let src = tempfile::tempdir().unwrap();
    let mut files = tree(src.path());
    save(&owner, BackupId::new(0, 1, 0), src.path()).await.unwrap();
    let mac_key = key_document(&owner).await["macKey"].as_str().unwrap().to_string();

    // The write-only host: the descriptor's recipients and the MAC key, nothing else.
    let mut config = base.clone();
    config.encryption.mac_key = Some(Secret::new(&mac_key));
    let host = support::store_for(config).await;
    let packs_before = keys_under(&owner, "data/").await;
    std::fs::write(src.path().join("new.txt"), b"written by the write-only host").unwrap();
    files.insert("new.txt".into(), b"written by the write-only host".to_vec());
    let second = BackupId::new(0, 2, 0);
    save(&host, second, src.path()).await.unwrap();
    // Deduplicated through the index (it read every file: it cannot read the previous
    // manifest): only the new file's chunk was stored, in one small pack.
    let new_packs: Vec<String> = keys_under(&owner, "data/")
        .await
        .into_iter()
        .filter(|k| !packs_before.contains(k))
        .collect();
    assert_eq!(new_packs.len(), 1, "{new_packs:?}");
    let size = owner.client().head_object(&new_packs[0]).await.unwrap().size;
    assert!(size < 4096, "{size} bytes stored for a 30-byte file");

    let before = support::all_keys(owner.client()).await;
    let err = host
        .restore(second, tempfile::tempdir().unwrap().path(), RestoreOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("KeyMissing"), "{err}");
    assert!(err.to_string().contains("identity"), "{err}");
    let err = host.verify(second, false).await.unwrap_err();
    assert_eq!(err.code(), Some("KeyMissing"), "{err}");
    let err = host.prune(&RetentionPolicy::default(), false).await.unwrap_err();
    assert_eq!(err.code(), Some("KeyMissing"), "{err}");
    assert_eq!(
        support::all_keys(owner.client()).await,
        before,
        "nothing was deleted or written"
    );

    // The owner restores what the write-only host saved, byte-exact.
    let reader = support::store_for(with_password(base, PASSWORD)).await;
    let dst = tempfile::tempdir().unwrap();
    reader
        .restore(second, dst.path(), RestoreOptions::default())
        .await
        .unwrap();
    assert_eq!(support::tree(dst.path()), files);
}

#[tokio::test]
async fn encryption_of_a_format_1_store_is_refused_naming_format_2() {
    let err = StoreConfig::builder()
        .with_option("bucket", "some-bucket")
        .with_option("format", "1")
        .with_option("password", "pw")
        .build()
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput(_)) && err.to_string().contains("format 2"),
        "{err}"
    );

    // An existing format 1 store stays unencrypted.
    let plain = support::fresh_store().await;
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("a"), b"a").unwrap();
    save(&plain, BackupId::new(0, 1, 0), src.path()).await.unwrap();
    let mut config = plain.config().clone();
    config.format = None;
    let encrypted = support::store_for(with_password(config, PASSWORD)).await;
    let err = save(&encrypted, BackupId::new(0, 2, 0), src.path()).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput(_)) && err.to_string().contains("format 2"),
        "{err}"
    );
}
