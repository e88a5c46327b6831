//! Redirects are never followed (issue 16, class 8): a store answering 301/307 with a
//! `Location` on another host gets a typed [`Error::Redirect`], and the other host receives
//! nothing: no session token, no body. Real HTTP servers on 127.0.0.1 (support/redirect.rs).
mod support;

use bytes::Bytes;
use s3keep::backup::{FileSet, SaveOptions};
use s3keep::s3::{PutOptions, S3Client};
use s3keep::{BackupId, BackupStore, ClientConfig, Credentials, Error, RetryConfig, Secret, StoreConfig};
use support::redirect::{Recorder, Redirector, LOCATION_SECRETS, REDIRECT_REGION};

const SESSION_TOKEN: &str = "SESSION-TOKEN-SECRET";
const BODY: &[u8] = b"FILE-CONTENTS-SECRET";

fn config(endpoint: &str) -> ClientConfig {
    let mut c = ClientConfig::new("redirected-bucket");
    c.endpoint = Some(endpoint.to_string());
    c.credentials = Some(Credentials {
        session_token: Some(Secret::new(SESSION_TOKEN)),
        ..Credentials::new("AKIDREDIRECT", "SECRET-KEY")
    });
    c.retry = RetryConfig {
        max_attempts: 3,
        ..RetryConfig::default()
    };
    c
}

/// The error is a `Redirect` naming the other host and region, without any part of the
/// `Location`'s userinfo or query, nor the token or the body.
#[track_caller]
fn assert_typed_redirect(err: &Error, status: u16, recorder: &Recorder) {
    assert!(matches!(err, Error::Redirect(_)), "{err:?}");
    assert_eq!(err.status(), Some(status));
    let code = if status == 301 {
        "PermanentRedirect"
    } else {
        "TemporaryRedirect"
    };
    assert_eq!(err.code(), Some(code));
    let host = recorder.endpoint.trim_start_matches("http://");
    let text = format!("{err} {err:?}");
    assert!(
        text.contains(&format!("the store redirected to {host} (region {REDIRECT_REGION})")),
        "{text}"
    );
    for secret in LOCATION_SECRETS.iter().chain(&[SESSION_TOKEN, "FILE-CONTENTS"]) {
        assert!(!text.contains(secret), "{secret} shown in {text}");
    }
}

#[tokio::test]
async fn a_307_on_put_object_fails_typed_and_the_other_host_receives_nothing() {
    let recorder = Recorder::start();
    let redirector = Redirector::start(307, &recorder);
    let client = S3Client::new(config(&redirector.endpoint)).unwrap();
    let err = client
        .put_object("dir/file.bin", Bytes::from_static(BODY), &PutOptions::default())
        .await
        .unwrap_err();
    assert_typed_redirect(&err, 307, &recorder);
    assert!(!err.is_temporary(), "a redirect is not retried");
    assert_eq!(redirector.requests().len(), 1, "{:?}", redirector.requests());
    assert_eq!(
        recorder.received(),
        Vec::<Vec<u8>>::new(),
        "the other host was contacted"
    );
}

#[tokio::test]
async fn a_301_on_reads_lists_and_heads_fails_typed_and_the_other_host_receives_nothing() {
    let recorder = Recorder::start();
    let redirector = Redirector::start(301, &recorder);
    let client = S3Client::new(config(&redirector.endpoint)).unwrap();
    let Err(get) = client.get_object("k", None).await else {
        panic!("GetObject succeeded")
    };
    assert_typed_redirect(&get, 301, &recorder);
    assert_typed_redirect(
        &client
            .put_object("k", Bytes::from_static(BODY), &PutOptions::default())
            .await
            .unwrap_err(),
        301,
        &recorder,
    );
    assert_typed_redirect(&client.create_bucket().await.unwrap_err(), 301, &recorder);
    // HEAD answers have no body: the host then comes from `Location`.
    let head = client.head_object("k").await.unwrap_err();
    assert_typed_redirect(&head, 301, &recorder);
    assert_eq!(redirector.requests().len(), 4);
    assert_eq!(
        recorder.received(),
        Vec::<Vec<u8>>::new(),
        "the other host was contacted"
    );
}

#[tokio::test]
async fn a_save_against_a_redirecting_store_fails_and_sends_nothing_elsewhere() {
    let recorder = Recorder::start();
    let redirector = Redirector::start(307, &recorder);
    let mut config = StoreConfig::new("redirected-bucket");
    config.client = self::config(&redirector.endpoint);
    let store = BackupStore::new(config).unwrap();
    let set = FileSet::from_bytes("files", [("a.bin".to_string(), Bytes::from_static(BODY))]);
    let err = store
        .save(BackupId::new(0, 1, 0), vec![set], SaveOptions::default())
        .await
        .unwrap_err();
    assert_typed_redirect(&err, 307, &recorder);
    assert!(!redirector.requests().is_empty());
    assert_eq!(
        recorder.received(),
        Vec::<Vec<u8>>::new(),
        "the other host was contacted"
    );
}
