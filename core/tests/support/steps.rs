//! A proxy that numbers the requests of one process and kills that process at request k:
//! the kill points of §4 (an operation killed at any moment loses nothing COMPLETED),
//! chosen by request count (issue 16 item 5).
//!
//! Every request that arrives is numbered (1, 2, ...) and named by its S3 action, the key
//! below the bucket and, for a status write, the status it writes. When request `k` arrives
//! the proxy either kills the victim before the request goes further ([`Cut::Before`]: the
//! store never sees it), or forwards it, waits for the store's whole answer and kills the
//! victim before passing it on ([`Cut::AfterStore`]: the store acted, the process never
//! learnt it). Requests before `k` pass unchanged (with `Connection: close`, as in
//! `proxy.rs`).

use std::process::Child;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use super::proxy::{read_request, with_connection_close};

/// Where, relative to request k, the victim dies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// The request never reaches the store.
    Before,
    /// The store acted on the request; its answer is lost with the process.
    AfterStore,
}

impl Cut {
    pub fn as_str(self) -> &'static str {
        match self {
            Cut::Before => "before",
            Cut::AfterStore => "after store",
        }
    }
}

/// One request as the proxy saw it.
#[derive(Clone, Debug)]
pub struct Step {
    /// 1 for the first request of the process.
    pub number: usize,
    /// `PutObject 1/2/0/status.json = IN_PROGRESS`, `UploadPart 1/2/0/files/big.bin #2`...
    pub kind: String,
}

#[derive(Default)]
struct State {
    steps: Vec<Step>,
    kill_at: Option<(usize, Cut)>,
    victim: Option<Child>,
    killed: bool,
}

pub struct StepProxy {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
}

impl StepProxy {
    /// A proxy in front of the test MinIO that forwards everything until [`arm`](Self::arm)ed.
    pub async fn start() -> StepProxy {
        let upstream = super::minio().endpoint.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            loop {
                let (client, _) = listener.accept().await.unwrap();
                let (state, upstream) = (shared.clone(), upstream.clone());
                tokio::spawn(async move {
                    let _ = serve(client, &upstream, &state).await;
                });
            }
        });
        StepProxy { endpoint, state }
    }

    /// Numbers requests from now on and kills the victim (see
    /// [`wait_for_victim`](Self::wait_for_victim)) at request `k` as `cut` says.
    pub fn arm(&self, k: usize, cut: Cut) {
        *self.state.lock().unwrap() = State {
            kill_at: Some((k, cut)),
            ..State::default()
        };
    }

    /// Numbers requests from now on, killing nothing.
    pub fn watch(&self) {
        *self.state.lock().unwrap() = State::default();
    }

    /// The requests seen since the last `arm` or `watch`.
    pub fn steps(&self) -> Vec<Step> {
        self.state.lock().unwrap().steps.clone()
    }

    /// Hands the process to kill to the armed proxy and waits (blocking) until it has ended;
    /// returns whether the proxy killed it (`false`: it ended by itself before request k).
    /// Panics after 60 s.
    pub fn wait_for_victim(&self, victim: Child) -> bool {
        self.state.lock().unwrap().victim = Some(victim);
        for _ in 0..6000 {
            {
                let mut state = self.state.lock().unwrap();
                let killed = state.killed;
                if state.victim.as_mut().unwrap().try_wait().unwrap().is_some() {
                    return killed;
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("the process under test neither ended nor reached its kill point in 60 s");
    }
}

/// SIGKILLs the victim (no destructor or handler runs), waiting for it to be handed over.
async fn kill(state: &Mutex<State>) {
    loop {
        {
            let mut state = state.lock().unwrap();
            if let Some(victim) = state.victim.as_mut() {
                let _ = victim.kill();
                state.killed = true;
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}

async fn serve(mut client: TcpStream, upstream: &str, state: &Mutex<State>) -> std::io::Result<()> {
    let Some((head, body)) = read_request(&mut client).await? else {
        return Ok(());
    };
    let cut = {
        let mut state = state.lock().unwrap();
        let number = state.steps.len() + 1;
        state.steps.push(Step {
            number,
            kind: describe(&head, &body),
        });
        match state.kill_at {
            Some((k, cut)) if k == number => Some(cut),
            _ => None,
        }
    };
    let mut server = TcpStream::connect(upstream).await?;
    match cut {
        Some(Cut::Before) => {
            kill(state).await;
            return Ok(());
        }
        Some(Cut::AfterStore) => {
            server.write_all(with_connection_close(&head).as_bytes()).await?;
            server.write_all(&body).await?;
            let mut answer = Vec::new();
            server.read_to_end(&mut answer).await?;
            kill(state).await;
            return Ok(());
        }
        None => {}
    }
    server.write_all(with_connection_close(&head).as_bytes()).await?;
    server.write_all(&body).await?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer).await?;
    client.write_all(&answer).await?;
    client.shutdown().await
}

/// The S3 action of a request and what it acts on, from its head and body.
fn describe(head: &str, body: &[u8]) -> String {
    let first = head.lines().next().unwrap_or_default();
    let mut parts = first.split(' ');
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let has = |name: &str| {
        query
            .split('&')
            .any(|p| p == name || p.starts_with(&format!("{name}=")))
    };
    // Path-style: /bucket/key; the key without the test prefix `backups/`.
    let key = path.trim_start_matches('/').split_once('/').map_or("", |(_, key)| key);
    let key = key.strip_prefix("backups/").unwrap_or(key);
    let header = |name: &str| {
        head.lines().find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_string())
        })
    };
    let action = match method {
        "PUT" if has("partNumber") => {
            let part = query
                .split('&')
                .find_map(|p| p.strip_prefix("partNumber="))
                .unwrap_or("?");
            return format!("UploadPart {key} #{part}");
        }
        "PUT" => "PutObject",
        "POST" if has("uploads") => "CreateMultipartUpload",
        "POST" if has("uploadId") => "CompleteMultipartUpload",
        "POST" if has("delete") => {
            let keys = String::from_utf8_lossy(body).matches("<Key>").count();
            return format!("DeleteObjects ({keys} keys)");
        }
        "GET" if has("list-type") => "ListObjectsV2",
        "GET" if has("uploads") => "ListMultipartUploads",
        "GET" if key.is_empty() => "GetBucket",
        "GET" => "GetObject",
        "HEAD" if key.is_empty() => "HeadBucket",
        "HEAD" => "HeadObject",
        "DELETE" if has("uploadId") => "AbortMultipartUpload",
        "DELETE" => "DeleteObject",
        other => other,
    };
    let mut kind = if key.is_empty() {
        action.to_string()
    } else {
        format!("{action} {key}")
    };
    if action == "PutObject" && key.ends_with("status.json") {
        let doc: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        if let Some(code) = doc["statusCode"].as_str() {
            kind.push_str(&format!(" = {code}"));
        }
    }
    if let Some(range) = header("range") {
        kind.push_str(&format!(" ({range})"));
    }
    kind
}
