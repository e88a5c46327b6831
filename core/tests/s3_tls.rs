//! `AWS_CA_BUNDLE` is honoured natively (issue 16): a store whose certificate a private CA
//! signed is refused by default and reached once the bundle names that CA. The endpoint is
//! a TLS terminator (tokio-rustls, certificates made by `openssl`) in front of the test MinIO.
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use bytes::Bytes;
use s3keep::s3::{PutOptions, S3Client};
use s3keep::{ClientConfig, Credentials, Error, StoreConfig};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::{rustls, TlsAcceptor};

/// A private CA and a server certificate it signed for 127.0.0.1 and localhost, made by
/// `openssl` in `dir`: `(ca.pem, cert.pem, key.pem)`.
fn private_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let p = |name: &str| dir.join(name);
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .expect("openssl is installed");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    run(&[
        &["req", "-x509"][..],
        &ec,
        &[
            "-days",
            "2",
            "-subj",
            "/CN=s3keep test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
    ]
    .concat());
    run(&[
        &["req"][..],
        &ec,
        &["-subj", "/CN=127.0.0.1", "-keyout", "key.pem", "-out", "req.csr"],
    ]
    .concat());
    std::fs::write(p("ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n").unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "req.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "cert.pem",
    ]);
    (p("ca.pem"), p("cert.pem"), p("key.pem"))
}

/// Terminates TLS on 127.0.0.1 and forwards the plain bytes to `backend` (`host:port`);
/// returns the `https://` endpoint.
async fn tls_front(cert: &Path, key: &Path, backend: String) -> String {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(key).unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, backend) = (acceptor.clone(), backend.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let Ok(mut plain) = TcpStream::connect(&backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    format!("https://127.0.0.1:{port}")
}

fn config(endpoint: &str, bucket: &str) -> ClientConfig {
    let m = support::minio();
    let mut c = ClientConfig::new(bucket);
    c.endpoint = Some(endpoint.to_string());
    c.region = m.region.clone();
    c.credentials = Some(Credentials::new(&m.access_key, &m.secret_key));
    c.retry.max_attempts = 1;
    c
}

#[tokio::test]
async fn a_private_ca_store_is_refused_by_default_and_reached_through_aws_ca_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = private_ca(dir.path());
    let backend = support::minio()
        .endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let endpoint = tls_front(&cert, &key, backend).await;
    let bucket = support::fresh_bucket_name();

    // The system's roots do not know the certificate.
    let client = S3Client::new(config(&endpoint, &bucket)).unwrap();
    let err = client.create_bucket().await.unwrap_err();
    assert!(matches!(err, Error::Network(_)), "{err:?}");

    // AWS_CA_BUNDLE, read as the SDKs do, through the option table.
    let m = support::minio();
    let env = |name: &str| match name {
        "AWS_CA_BUNDLE" => Some(ca.to_str().unwrap().to_string()),
        "AWS_ACCESS_KEY_ID" => Some(m.access_key.clone()),
        "AWS_SECRET_ACCESS_KEY" => Some(m.secret_key.clone()),
        "AWS_SHARED_CREDENTIALS_FILE" => Some("/nonexistent/s3keep-test-credentials".into()),
        _ => None,
    };
    let filled = StoreConfig::builder()
        .with_option("bucket", bucket.clone())
        .with_option("endpoint", endpoint.clone())
        .with_option("region", m.region.clone())
        .with_option("max_attempts", "1")
        .with_env(env)
        .build()
        .unwrap();
    assert_eq!(filled.client.ca_bundle.as_deref(), Some(ca.as_path()));
    assert_eq!(filled.describe().ca_bundle.as_deref(), ca.to_str());
    let client = S3Client::new(filled.client).unwrap();
    client.create_bucket().await.unwrap();
    client
        .put_object("k", Bytes::from_static(b"over TLS"), &PutOptions::default())
        .await
        .unwrap();
    let body = client.get_object("k", None).await.unwrap().bytes().await.unwrap();
    assert_eq!(&body[..], b"over TLS");

    // A bundle that is not PEM: refused before any request, naming the file.
    let mut bad = config(&endpoint, &bucket);
    bad.ca_bundle = Some(key.with_file_name("missing.pem"));
    let err = S3Client::new(bad).unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    assert!(err.to_string().contains("missing.pem"), "{err}");
}
