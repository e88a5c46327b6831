//! check (the CLI's `doctor`, §4) tells apart a wrong endpoint, wrong credentials, a
//! missing bucket, a missing permission and clock skew, against the real MinIO.

mod support;

use s3keep::backup::{CheckResult, CheckState};
use s3keep::{BackupStore, Credentials, StoreConfig};
use support::proxy::{Fault, Proxy};

fn state_of(results: &[CheckResult], name: &str) -> CheckState {
    results
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no {name} line in {results:?}"))
        .state
}

fn line<'a>(results: &'a [CheckResult], name: &str) -> &'a CheckResult {
    results.iter().find(|r| r.name == name).unwrap()
}

async fn check_with(tune: impl FnOnce(&mut StoreConfig)) -> Vec<CheckResult> {
    let mut config = support::fresh_store_config().await;
    support::store_for(config.clone()).await; // the bucket exists
    config.create_bucket = false;
    tune(&mut config);
    BackupStore::new(config).unwrap().check().await.checks
}

#[tokio::test]
async fn a_good_setup_passes_every_check() {
    let results = check_with(|_| {}).await;
    for r in &results {
        assert_eq!(r.state, CheckState::Ok, "{r:?}");
    }
    let names: Vec<&str> = results.iter().map(|r| r.name).collect();
    assert_eq!(
        names,
        [
            "endpoint",
            "credentials",
            "bucket",
            "put",
            "get",
            "list",
            "delete",
            "clock",
            "addressing"
        ]
    );
}

#[tokio::test]
async fn wrong_endpoint_fails_the_endpoint_line_and_skips_the_rest() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let results = check_with(|c| {
        c.client.endpoint = Some(format!("http://127.0.0.1:{port}"));
        c.client.retry.max_attempts = 1;
    })
    .await;
    let endpoint = line(&results, "endpoint");
    assert_eq!(endpoint.state, CheckState::Failed);
    assert!(endpoint.message.contains(&port.to_string()), "{endpoint:?}");
    assert!(endpoint.hint.contains("endpoint URL"));
    for name in ["credentials", "bucket", "put", "delete", "clock"] {
        assert_eq!(state_of(&results, name), CheckState::Skipped, "{name}");
    }
}

#[tokio::test]
async fn wrong_secret_fails_the_credentials_line() {
    let results = check_with(|c| {
        let id = c.client.credentials.as_ref().unwrap().access_key_id.clone();
        c.client.credentials = Some(Credentials::new(id, "not-the-secret"));
    })
    .await;
    assert_eq!(state_of(&results, "endpoint"), CheckState::Ok);
    let credentials = line(&results, "credentials");
    assert_eq!(credentials.state, CheckState::Failed);
    assert_eq!(credentials.code.as_deref(), Some("SignatureDoesNotMatch"));
    assert_eq!(state_of(&results, "bucket"), CheckState::Skipped);
    let text = format!("{results:?}");
    assert!(!text.contains("not-the-secret"), "a secret reached the report: {text}");
}

#[tokio::test]
async fn missing_bucket_fails_the_bucket_line() {
    let results = check_with(|c| c.client.bucket = support::fresh_bucket_name()).await;
    assert_eq!(state_of(&results, "credentials"), CheckState::Ok);
    let bucket = line(&results, "bucket");
    assert_eq!(bucket.state, CheckState::Failed);
    assert_eq!(bucket.code.as_deref(), Some("NoSuchBucket"));
    assert_eq!(state_of(&results, "put"), CheckState::Skipped);
}

#[tokio::test]
async fn a_user_without_delete_object_fails_only_the_delete_line() {
    let m = support::minio();
    let user = format!("nodelete{:08x}", fastrand::u32(..));
    let secret = format!("secret-{:016x}", fastrand::u64(..));
    let bucket_config = support::fresh_store_config().await;
    let bucket = bucket_config.client.bucket.clone();
    support::store_for(bucket_config.clone()).await;
    // Least privilege, created with mc: list, get and put on this bucket, no delete.
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": [format!("arn:aws:s3:::{bucket}")]},
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": [format!("arn:aws:s3:::{bucket}/*")]}
        ]
    });
    let dir = tempfile::tempdir().unwrap();
    let policy_file = dir.path().join("policy.json");
    std::fs::write(&policy_file, policy.to_string()).unwrap();
    let policy_name = format!("p-{user}");
    m.mc(&["admin", "user", "add", &m.mc_alias, &user, &secret]);
    m.mc(&[
        "admin",
        "policy",
        "create",
        &m.mc_alias,
        &policy_name,
        policy_file.to_str().unwrap(),
    ]);
    m.mc(&["admin", "policy", "attach", &m.mc_alias, &policy_name, "--user", &user]);

    let mut config = bucket_config;
    config.create_bucket = false;
    config.client.credentials = Some(Credentials::new(&user, &secret));
    let report = BackupStore::new(config).unwrap().check().await;
    assert!(!report.is_ok(), "a failed check fails the report");
    let results = report.checks;
    for name in ["endpoint", "credentials", "bucket", "put", "get", "list"] {
        assert_eq!(state_of(&results, name), CheckState::Ok, "{name}: {results:?}");
    }
    let delete = line(&results, "delete");
    assert_eq!(delete.state, CheckState::Failed, "{results:?}");
    assert_eq!(delete.code.as_deref(), Some("AccessDenied"));
    assert!(delete.hint.contains("s3:DeleteObject"), "{delete:?}");
}

#[tokio::test]
async fn clock_skew_is_reported_from_the_servers_date() {
    // The proxy moves every answer's Date: the server's clock seems 30 min (then 2 min) ahead.
    let proxy = Proxy::start(&[], Fault::ForwardWithDateShift(1800)).await;
    let results = check_with(|c| c.client.endpoint = Some(proxy.endpoint.clone())).await;
    let clock = line(&results, "clock");
    assert_eq!(clock.state, CheckState::Failed, "{results:?}");
    assert!(clock.message.contains("behind"), "{clock:?}");
    assert!(clock.hint.contains("NTP"));
    assert_eq!(state_of(&results, "put"), CheckState::Ok);

    let proxy = Proxy::start(&[], Fault::ForwardWithDateShift(-120)).await;
    let results = check_with(|c| c.client.endpoint = Some(proxy.endpoint.clone())).await;
    let clock = line(&results, "clock");
    assert_eq!(clock.state, CheckState::Warning, "{results:?}");
    assert!(clock.message.contains("ahead of"), "{clock:?}");
}
