//! `save --set NAME=s3://...` and `restore ID s3://...` (§13): a bucket prefix saved by
//! the command and restored into another bucket, byte-exact, against the harness MinIO.

mod common;

use std::collections::BTreeMap;

use common::{support, Store};

fn objects() -> BTreeMap<String, Vec<u8>> {
    (0..30)
        .map(|i| (format!("src/dir{}/o{i}", i % 3), vec![i as u8; i * 97]))
        .collect()
}

#[test]
fn save_from_a_bucket_prefix_and_restore_into_another_bucket() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = Store::new();
    let source = Store::new();
    let target = Store::new();
    let objects = objects();
    let source_client = support::client_for(&source.bucket);
    runtime.block_on(async {
        for (key, bytes) in &objects {
            source_client
                .put_object(key, bytes.clone().into(), &Default::default())
                .await
                .unwrap();
        }
    });
    let m = support::minio();
    let query = format!("endpoint={}&region={}", m.endpoint, m.region);
    let set = format!("db=s3://{}/src?{query}", source.bucket);
    let saved = store.run(&["--json", "save", "0/5/0", "--set", &set]).expect(0).json();
    assert_eq!(saved["status"], "COMPLETED");
    assert_eq!(saved["fileCount"], objects.len());

    let url = format!("s3://{}/copy?{query}", target.bucket);
    let restored = store
        .run(&["--json", "restore", "0/5/0", &url, "--set", "db"])
        .expect(0)
        .json();
    assert_eq!(restored["filesRestored"], objects.len());
    let target_client = support::client_for(&target.bucket);
    let got: BTreeMap<String, Vec<u8>> = runtime.block_on(async {
        let mut got = BTreeMap::new();
        for key in support::all_keys(&target_client).await {
            let bytes = target_client
                .get_object(&key, None)
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            got.insert(key, bytes.to_vec());
        }
        got
    });
    let expected: BTreeMap<String, Vec<u8>> = objects
        .into_iter()
        .map(|(k, v)| (k.replacen("src/", "copy/", 1), v))
        .collect();
    assert!(got == expected, "the target bucket differs from the source");

    // A malformed URL is refused before any request, naming the part.
    let bad = store.run(&["save", "0/6/0", "--set", "db=s3://Bad_Bucket/x?nonsense=1"]);
    bad.expect(2);
    assert!(bad.stderr.contains("unknown option"), "{bad:?}");
}
