//! Smoke test of the test harness itself: MinIO runs and accepts SigV4-signed requests
//! made with the same crates the core uses (aws-sigv4 + reqwest).
mod support;

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

/// Signs a request (payload hash in x-amz-content-sha256, as S3 requires) and sends it.
async fn send(
    client: &reqwest::Client,
    m: &support::Minio,
    secret_key: &str,
    method: &str,
    url: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    let identity: Identity = Credentials::new(&m.access_key, secret_key, None, None, "test").into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&m.region)
        .name("s3")
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(method, url, std::iter::empty(), SignableBody::Bytes(&body)).unwrap();
    let (instructions, _signature) = sign(signable, &params).unwrap().into_parts();
    let mut request = client.request(method.parse().unwrap(), url);
    for (name, value) in instructions.headers() {
        request = request.header(name, value);
    }
    request.body(body).send().await.unwrap()
}

fn client() -> reqwest::Client {
    // reqwest is built with rustls but without a default crypto provider.
    #[cfg(feature = "tls")]
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

#[tokio::test]
async fn put_then_get_roundtrips_bytes() {
    let m = support::minio();
    let client = client();
    let bucket = format!("{}/{}", m.endpoint, support::fresh_bucket_name());
    let data: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();

    let created = send(&client, m, &m.secret_key, "PUT", &bucket, vec![]).await;
    assert_eq!(created.status(), 200, "{}", created.text().await.unwrap());

    let url = format!("{bucket}/dir/object.bin");
    let put = send(&client, m, &m.secret_key, "PUT", &url, data.clone()).await;
    assert_eq!(put.status(), 200, "{}", put.text().await.unwrap());

    let got = send(&client, m, &m.secret_key, "GET", &url, vec![]).await;
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().as_ref(), data.as_slice());
}

#[tokio::test]
async fn wrong_secret_is_refused() {
    let m = support::minio();
    let client = client();
    let bucket = format!("{}/{}", m.endpoint, support::fresh_bucket_name());
    let refused = send(&client, m, "wrong-secret", "PUT", &bucket, vec![]).await;
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap().contains("SignatureDoesNotMatch"));
}

#[test]
fn mc_alias_reaches_the_server() {
    let m = support::minio();
    let out = m.mc(&["ls", &m.mc_alias]);
    assert!(out.status.success());
}
