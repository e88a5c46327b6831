//! Toxiproxy (Shopify, pinned in scripts/versions.env and built by scripts/setup.sh) in front
//! of the test MinIO: latency, bandwidth, slicing and connection resets below HTTP.
//!
//! The test starts its own `toxiproxy` server on 127.0.0.1 (killed when dropped), creates one
//! TCP proxy to MinIO and sets the toxics through the server's HTTP API. The client does not
//! talk to Toxiproxy directly but through a [`CountingRelay`]: a plain TCP pipe that counts
//! the connections and the ones Toxiproxy reset, the figure the fault test prints (Toxiproxy
//! itself reports neither).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// The pinned `toxiproxy` binary: `S3KEEP_TOXIPROXY_BIN`, or setup.sh's cache
/// (`${S3KEEP_CACHE:-~/.cache/s3keep}/bin/toxiproxy-<pin>/toxiproxy`).
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("S3KEEP_TOXIPROXY_BIN").filter(|v| !v.is_empty()) {
        return path.into();
    }
    let versions = super::repo_root().join("scripts/versions.env");
    let text = std::fs::read_to_string(&versions).unwrap();
    let pin = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("TOXIPROXY_VERSION="))
        .unwrap_or_else(|| panic!("no TOXIPROXY_VERSION in {}", versions.display()))
        .trim();
    let cache = std::env::var_os("S3KEEP_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/s3keep"));
    cache.join(format!("bin/toxiproxy-{pin}/toxiproxy"))
}

/// A running Toxiproxy server and its API.
pub struct Toxiproxy {
    child: Child,
    /// `127.0.0.1:PORT` of the HTTP API.
    api: String,
}

impl Drop for Toxiproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Toxiproxy {
    /// Starts `toxiproxy -host 127.0.0.1 -port <free> -seed <seed>` and waits for its API.
    pub async fn start(seed: u64) -> Toxiproxy {
        let binary = binary();
        assert!(
            binary.exists(),
            "{} is missing: run scripts/setup.sh (it builds Toxiproxy's server)",
            binary.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&binary)
            .args([
                "-host",
                "127.0.0.1",
                "-port",
                &port.to_string(),
                "-seed",
                &seed.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let toxiproxy = Toxiproxy {
            child,
            api: format!("127.0.0.1:{port}"),
        };
        for _ in 0..200 {
            if let Ok((200, _)) = toxiproxy.request("GET", "/version", None).await {
                return toxiproxy;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("toxiproxy did not answer on {}", toxiproxy.api);
    }

    /// One HTTP/1.1 request to the API (a connection each): status and body.
    async fn request(&self, method: &str, path: &str, body: Option<&str>) -> std::io::Result<(u16, String)> {
        let mut stream = TcpStream::connect(&self.api).await?;
        let body = body.unwrap_or("");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.api,
            body.len()
        );
        stream.write_all(request.as_bytes()).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        let answer = String::from_utf8_lossy(&answer);
        let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        // The API answers with a length and closes; a chunked answer would need decoding.
        assert!(
            !head.to_ascii_lowercase().contains("transfer-encoding: chunked"),
            "{head}"
        );
        Ok((status, body.to_string()))
    }

    async fn call(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
        let body = body.map(|b| b.to_string());
        let (status, text) = self.request(method, path, body.as_deref()).await.unwrap();
        assert!(
            (200..300).contains(&status),
            "toxiproxy {method} {path}: {status} {text}"
        );
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
    }

    /// A proxy named `name` on a free port of 127.0.0.1 to `upstream` (`host:port`);
    /// returns the address it listens on.
    pub async fn create_proxy(&self, name: &str, upstream: &str) -> String {
        let body = serde_json::json!({ "name": name, "listen": "127.0.0.1:0", "upstream": upstream, "enabled": true });
        let proxy = self.call("POST", "/proxies", Some(body)).await;
        proxy["listen"].as_str().unwrap().to_string()
    }

    /// Adds `toxic` (Toxiproxy's JSON: name, type, stream, toxicity, attributes) to `proxy`.
    pub async fn add_toxic(&self, proxy: &str, toxic: serde_json::Value) {
        self.call("POST", &format!("/proxies/{proxy}/toxics"), Some(toxic))
            .await;
    }

    /// Removes every toxic of `proxy`.
    pub async fn clear_toxics(&self, proxy: &str) {
        let toxics = self.call("GET", &format!("/proxies/{proxy}/toxics"), None).await;
        for toxic in toxics.as_array().cloned().unwrap_or_default() {
            let name = toxic["name"].as_str().unwrap();
            self.call("DELETE", &format!("/proxies/{proxy}/toxics/{name}"), None)
                .await;
        }
    }
}

/// Connections through a [`CountingRelay`].
#[derive(Debug, Default)]
pub struct ConnectionCounts {
    opened: AtomicU64,
    reset: AtomicU64,
}

impl ConnectionCounts {
    /// Connections the client opened.
    pub fn opened(&self) -> u64 {
        self.opened.load(Ordering::SeqCst)
    }

    /// Connections the far side broke off (a read or write error, e.g. a TCP reset) while the
    /// client still had them open.
    pub fn reset(&self) -> u64 {
        self.reset.load(Ordering::SeqCst)
    }
}

/// A TCP pipe on 127.0.0.1 to `upstream` that counts connections and resets, and passes a
/// reset on to the client as a reset (zero linger), so that the client sees what Toxiproxy did.
pub struct CountingRelay {
    pub endpoint: String,
    pub counts: Arc<ConnectionCounts>,
}

impl CountingRelay {
    pub async fn start(upstream: &str) -> CountingRelay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let counts = Arc::new(ConnectionCounts::default());
        let (shared, upstream) = (counts.clone(), upstream.to_string());
        tokio::spawn(async move {
            loop {
                let (client, _) = listener.accept().await.unwrap();
                shared.opened.fetch_add(1, Ordering::SeqCst);
                let (counts, upstream) = (shared.clone(), upstream.clone());
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(&upstream).await else {
                        counts.reset.fetch_add(1, Ordering::SeqCst);
                        let _ = client.set_zero_linger();
                        return;
                    };
                    relay(client, server, &counts).await;
                });
            }
        });
        CountingRelay { endpoint, counts }
    }
}

/// Pipes bytes both ways until both sides closed. A failure on the far side while the client
/// is still connected counts as a reset and resets the client's connection.
async fn relay(mut client: TcpStream, mut server: TcpStream, counts: &ConnectionCounts) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut up, mut down) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    let (mut client_open, mut server_open) = (true, true);
    let server_failed = loop {
        if !client_open && !server_open {
            break false;
        }
        tokio::select! {
            read = client.read(&mut up), if client_open => match read {
                Ok(0) | Err(_) => {
                    client_open = false;
                    let _ = server.shutdown().await;
                }
                Ok(n) => {
                    if server.write_all(&up[..n]).await.is_err() {
                        break true;
                    }
                }
            },
            read = server.read(&mut down), if server_open => match read {
                Ok(0) => {
                    server_open = false;
                    let _ = client.shutdown().await;
                }
                Ok(n) => {
                    if client.write_all(&down[..n]).await.is_err() {
                        // The client went away: nothing to count.
                        break false;
                    }
                }
                Err(_) => break true,
            },
        }
    };
    if server_failed && client_open {
        counts.reset.fetch_add(1, Ordering::SeqCst);
        let _ = client.set_zero_linger();
    }
}
