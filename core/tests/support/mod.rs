//! Shared support for core's integration tests: `mod support;` in a file under `core/tests/`.
//!
//! Every test talks to a real S3 server: MinIO by default, or the provider the harness was
//! asked for (`minio-dist`, `versitygw`: scripts/minio_harness.py). When the run was started
//! through `scripts/minio_harness.py run [--provider P] -- cargo test`, the server is named by
//! `S3KEEP_TEST_*`; otherwise the first call starts one with `minio_harness.py serve
//! --watch-pid <our pid>` (provider from `S3KEEP_TEST_PROVIDER`), which stops it and deletes
//! its data when this test binary exits.
#![allow(dead_code)] // each test binary uses a different part of this module

pub mod hostile;
pub mod opens;
pub mod proxy;
pub mod redirect;
pub mod steps;
pub mod throttle;
pub mod toxiproxy;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// Connection details of the test server (path-style addressing, root credentials).
#[derive(Debug, Clone)]
pub struct Minio {
    /// `minio`, `minio-dist` or `versitygw`.
    pub provider: String,
    /// What the provider can do (`ifNoneMatch`, `crc32c`, `mc`...: minio_harness.py).
    pub capabilities: Vec<String>,
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
    /// `mc` alias configured for this server (inside `mc_config_dir`).
    pub mc_alias: String,
    mc_config_dir: String,
    mc_bin: String,
}

impl Minio {
    /// Whether the provider has `capability`.
    pub fn has(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }

    /// Runs `mc ARGS` against this server; panics with mc's output if it fails.
    pub fn mc(&self, args: &[&str]) -> Output {
        assert!(self.has("mc"), "mc needs a MinIO provider; this is {}", self.provider);
        let out = Command::new(&self.mc_bin)
            .arg("--no-color")
            .args(args)
            .env("MC_CONFIG_DIR", &self.mc_config_dir)
            .output()
            .expect("cannot run mc");
        assert!(
            out.status.success(),
            "mc {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

/// conformance/providers.json: every store capability a case may require, and each provider's.
pub fn providers_doc() -> &'static serde_json::Value {
    static DOC: OnceLock<serde_json::Value> = OnceLock::new();
    DOC.get_or_init(|| {
        serde_json::from_str(include_str!("../../../conformance/providers.json")).expect("providers.json is JSON")
    })
}

/// The names of every store capability (providers.json, `capabilities`).
pub fn store_capabilities() -> Vec<String> {
    providers_doc()["capabilities"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// The capabilities providers.json declares for `provider`.
pub fn provider_capabilities(provider: &str) -> Vec<String> {
    providers_doc()["providers"][provider]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// The MinIO for this test binary, started on first use.
pub fn minio() -> &'static Minio {
    static SERVER: OnceLock<Minio> = OnceLock::new();
    SERVER.get_or_init(|| from_env().unwrap_or_else(spawn_harness))
}

/// A random, valid bucket name, so tests never share state.
pub fn fresh_bucket_name() -> String {
    format!("t-{:016x}", fastrand::u64(..))
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn from_env() -> Option<Minio> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let provider = var("S3KEEP_TEST_PROVIDER").unwrap_or_else(|| "minio".into());
    Some(Minio {
        capabilities: match var("S3KEEP_TEST_CAPABILITIES") {
            Some(list) => list.split(',').map(str::to_string).collect(),
            None => provider_capabilities(&provider),
        },
        provider,
        endpoint: var("S3KEEP_TEST_ENDPOINT")?,
        access_key: var("S3KEEP_TEST_ACCESS_KEY")?,
        secret_key: var("S3KEEP_TEST_SECRET_KEY")?,
        region: var("S3KEEP_TEST_REGION").unwrap_or_else(|| "us-east-1".into()),
        mc_alias: var("S3KEEP_TEST_MC_ALIAS").unwrap_or_else(|| "s3keep".into()),
        mc_config_dir: var("S3KEEP_TEST_MC_CONFIG_DIR").unwrap_or_default(),
        mc_bin: var("S3KEEP_MC_BIN").unwrap_or_else(|| "mc".into()),
    })
}

fn spawn_harness() -> Minio {
    let script = repo_root().join("scripts/minio_harness.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .args(["serve", "--watch-pid", &std::process::id().to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", script.display()));
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("cannot read from minio_harness.py");
    // The harness is not waited for: it watches our pid and cleans up after we exit.
    let j: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("minio_harness.py serve failed ({e}); output: {line:?}"));
    let s = |k: &str| j[k].as_str().unwrap_or_default().to_string();
    Minio {
        provider: s("provider"),
        capabilities: j["capabilities"]
            .as_array()
            .map(|a| a.iter().filter_map(|c| c.as_str().map(str::to_string)).collect())
            .unwrap_or_default(),
        endpoint: s("endpoint"),
        access_key: s("access_key"),
        secret_key: s("secret_key"),
        region: s("region"),
        mc_alias: s("mc_alias"),
        mc_config_dir: s("mc_config_dir"),
        mc_bin: s("mc_bin"),
    }
}

/// A store configuration for a fresh bucket on the test MinIO (the bucket is created), in
/// format 1: the tests written against format 1's objects (one per file, multipart parts,
/// keys under the backup's folder) say so here; format 2's use [`fresh_format2_config`].
pub async fn fresh_store_config() -> s3keep::StoreConfig {
    let mut config = fresh_format2_config().await;
    config.format = Some(1);
    config
}

/// A store on a fresh bucket of the test MinIO, in format 1 (see [`fresh_store_config`]).
pub async fn fresh_store() -> s3keep::BackupStore {
    store_for(fresh_store_config().await).await
}

/// A store configuration for a fresh bucket with the default format: a new store is
/// format 2.
pub async fn fresh_format2_config() -> s3keep::StoreConfig {
    let m = minio();
    let mut config = s3keep::StoreConfig::new(fresh_bucket_name()).with_prefix("backups");
    config.client.endpoint = Some(m.endpoint.clone());
    config.client.region = m.region.clone();
    config.client.credentials = Some(s3keep::Credentials::new(&m.access_key, &m.secret_key));
    config.create_bucket = true;
    config
}

/// A store on a fresh bucket with the default format (format 2).
pub async fn fresh_format2_store() -> s3keep::BackupStore {
    store_for(fresh_format2_config().await).await
}

/// A store for `config`, its bucket created if asked.
pub async fn store_for(config: s3keep::StoreConfig) -> s3keep::BackupStore {
    let store = s3keep::BackupStore::new(config).expect("valid test config");
    store.ensure_bucket().await.expect("bucket created");
    store
}

/// An S3 client for `bucket` on the test MinIO.
pub fn client_for(bucket: &str) -> s3keep::s3::S3Client {
    let m = minio();
    let mut c = s3keep::ClientConfig::new(bucket);
    c.endpoint = Some(m.endpoint.clone());
    c.region = m.region.clone();
    c.credentials = Some(s3keep::Credentials::new(&m.access_key, &m.secret_key));
    s3keep::s3::S3Client::new(c).unwrap()
}

/// Every key of `store` below `folder` (relative to its prefix: `"data/"`, `"index/"`), in
/// listing order.
pub async fn keys_under(store: &s3keep::BackupStore, folder: &str) -> Vec<String> {
    let prefix = format!("{}{folder}", store.layout().prefix());
    all_keys(store.client())
        .await
        .into_iter()
        .filter(|k| k.starts_with(&prefix))
        .collect()
}

/// Every key of the client's bucket (all ListObjectsV2 pages).
pub async fn all_keys(client: &s3keep::s3::S3Client) -> Vec<String> {
    let options = s3keep::s3::ListOptions::default();
    let (mut keys, mut token) = (Vec::new(), None::<String>);
    loop {
        let page = client.list_objects_v2_page(&options, token.as_deref()).await.unwrap();
        keys.extend(page.objects.into_iter().map(|o| o.key));
        match page.next_continuation_token {
            Some(t) if page.is_truncated => token = Some(t),
            _ => return keys,
        }
    }
}

/// Every regular file below `root`: `/`-separated relative path → bytes.
pub fn tree(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_str().unwrap().replace('\\', "/");
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    if root.exists() {
        walk(root, root, &mut out);
    }
    out
}
