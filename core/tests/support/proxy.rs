//! A fault-injecting HTTP proxy on 127.0.0.1 in front of the test MinIO.
//!
//! It reads one HTTP/1.1 request per connection and, as its script says, answers itself,
//! resets the connection, stalls, or forwards the bytes unchanged to MinIO (adding only
//! `Connection: close`) and pipes the answer back. The client signs the proxy's address as
//! `Host`; MinIO checks the signature against the `Host` it receives, which is the same.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does with one request.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// Pass it to MinIO and the answer back.
    Forward,
    /// Answer `503 SlowDown` itself.
    SlowDown,
    /// Answer `500 InternalError` itself.
    InternalError,
    /// Close the connection with a TCP reset, without answering.
    Reset,
    /// Wait, then forward.
    Delay(Duration),
    /// Never answer (until the client hangs up).
    Stall,
    /// Answer `403 RequestTimeTooSkewed` with a `Date` this many seconds ahead of ours.
    Skewed(u64),
    /// Answer `200 OK` with an `<Error>` body of this code, as CompleteMultipartUpload may.
    OkWithError(&'static str),
    /// Forward, and shift the answer's `Date` by this many seconds (a server whose clock
    /// differs from ours).
    ForwardWithDateShift(i64),
    /// Forward and let the server act, then reset the connection instead of answering: a
    /// request that landed whose answer was lost.
    ForwardThenReset,
    /// Forward, then pass on the answer's head and only this many bytes of its body before
    /// resetting the connection: a connection lost in the middle of a download.
    ForwardTruncated(usize),
}

pub struct Proxy {
    pub endpoint: String,
    /// Heads of the requests received, in order, with the length of their bodies.
    requests: Arc<Mutex<Vec<(String, usize)>>>,
}

impl Proxy {
    /// A proxy in front of the test MinIO: `script` for the first requests, `then` for the rest.
    pub async fn start(script: &[Fault], then: Fault) -> Proxy {
        let upstream = super::minio().endpoint.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let script = Arc::new(Mutex::new(script.iter().copied().collect::<VecDeque<_>>()));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        tokio::spawn(async move {
            loop {
                let (client, _) = listener.accept().await.unwrap();
                let (script, seen, upstream) = (script.clone(), seen.clone(), upstream.clone());
                tokio::spawn(async move {
                    let _ = serve(
                        client,
                        &upstream,
                        || script.lock().unwrap().pop_front().unwrap_or(then),
                        &seen,
                    )
                    .await;
                });
            }
        });
        Proxy { endpoint, requests }
    }

    pub fn requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|(head, _)| head.clone())
            .collect()
    }

    /// Body bytes of the PUT requests (PutObject, UploadPart) whose request line contains
    /// `path_part`, as received on the wire.
    pub fn put_bytes(&self, path_part: &str) -> u64 {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(head, _)| head.starts_with("PUT ") && head.lines().next().unwrap_or("").contains(path_part))
            .map(|(_, len)| *len as u64)
            .sum()
    }

    /// Forgets the requests seen so far.
    pub fn reset(&self) {
        self.requests.lock().unwrap().clear();
    }
}

async fn serve(
    mut client: TcpStream,
    upstream: &str,
    next_fault: impl FnOnce() -> Fault,
    seen: &Mutex<Vec<(String, usize)>>,
) -> std::io::Result<()> {
    let Some((head, body)) = read_request(&mut client).await? else {
        return Ok(());
    };
    seen.lock().unwrap().push((head.clone(), body.len()));
    let is_head = head.starts_with("HEAD ");
    match next_fault() {
        Fault::Forward => forward(client, upstream, &head, &body, None).await,
        Fault::ForwardWithDateShift(secs) => forward(client, upstream, &head, &body, Some(secs)).await,
        Fault::Delay(d) => {
            tokio::time::sleep(d).await;
            forward(client, upstream, &head, &body, None).await
        }
        Fault::SlowDown => answer(client, is_head, "503 Slow Down", "SlowDown", 0).await,
        Fault::InternalError => answer(client, is_head, "500 Internal Server Error", "InternalError", 0).await,
        Fault::Skewed(ahead) => answer(client, is_head, "403 Forbidden", "RequestTimeTooSkewed", ahead).await,
        Fault::OkWithError(code) => answer(client, is_head, "200 OK", code, 0).await,
        Fault::Reset => {
            client.set_zero_linger()?;
            Ok(())
        }
        Fault::ForwardTruncated(keep) => {
            let mut server = TcpStream::connect(upstream).await?;
            server.write_all(head.as_bytes()).await?;
            server.write_all(&body).await?;
            let mut answer = Vec::new();
            let mut chunk = [0u8; 64 * 1024];
            let cut = loop {
                let n = server.read(&mut chunk).await?;
                answer.extend_from_slice(&chunk[..n]);
                if let Some(i) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
                    if answer.len() >= i + 4 + keep || n == 0 {
                        break (i + 4 + keep).min(answer.len());
                    }
                }
                if n == 0 {
                    break answer.len();
                }
            };
            client.write_all(&answer[..cut]).await?;
            client.set_zero_linger()?;
            Ok(())
        }
        Fault::ForwardThenReset => {
            let mut server = TcpStream::connect(upstream).await?;
            server.write_all(head.as_bytes()).await?;
            server.write_all(&body).await?;
            let mut answer = [0u8; 1];
            // Wait until the server has answered (it acted), then drop its answer.
            let _ = server.read(&mut answer).await?;
            client.set_zero_linger()?;
            Ok(())
        }
        Fault::Stall => {
            let mut rest = Vec::new();
            client.read_to_end(&mut rest).await.map(drop)
        }
    }
}

/// Reads one request: the head up to the blank line, then `Content-Length` bytes of body.
pub(super) async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length = content_length(&head);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(Some((head, buf[head_end..head_end + length].to_vec())))
}

/// Sends one request to `upstream` and returns its whole answer (head and body).
pub(super) async fn exchange(upstream: &str, head: &str, body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut server = TcpStream::connect(upstream).await?;
    server.write_all(with_connection_close(head).as_bytes()).await?;
    server.write_all(body).await?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer).await?;
    Ok(answer)
}

pub(super) async fn forward(
    mut client: TcpStream,
    upstream: &str,
    head: &str,
    body: &[u8],
    date_shift_secs: Option<i64>,
) -> std::io::Result<()> {
    let mut server = TcpStream::connect(upstream).await?;
    // One request per connection: MinIO answers with `Connection: close` and hangs up, so
    // the client never reuses a connection the proxy is done with.
    server.write_all(with_connection_close(head).as_bytes()).await?;
    server.write_all(body).await?;
    match date_shift_secs {
        None => {
            tokio::io::copy(&mut server, &mut client).await?;
        }
        Some(secs) => {
            let mut answer = Vec::new();
            server.read_to_end(&mut answer).await?;
            client.write_all(&shift_date(&answer, secs)).await?;
        }
    }
    client.shutdown().await
}

/// `head` with `Connection: close` in place of any `Connection` header. One request per
/// connection: MinIO answers with `Connection: close` and hangs up, so the client never
/// reuses a connection the proxy is done with.
pub(super) fn with_connection_close(head: &str) -> String {
    let kept: Vec<&str> = head
        .trim_end_matches("\r\n")
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    format!("{}\r\nConnection: close\r\n\r\n", kept.join("\r\n"))
}

/// The answer with its `Date` header moved by `secs` seconds.
fn shift_date(answer: &[u8], secs: i64) -> Vec<u8> {
    let head_end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(answer.len(), |i| i + 4);
    let head = String::from_utf8_lossy(&answer[..head_end]);
    let shifted = SystemTime::now()
        .checked_add(Duration::from_secs(secs.unsigned_abs()))
        .filter(|_| secs >= 0)
        .or_else(|| SystemTime::now().checked_sub(Duration::from_secs(secs.unsigned_abs())))
        .unwrap();
    let lines: Vec<String> = head
        .split("\r\n")
        .map(|l| {
            if l.to_ascii_lowercase().starts_with("date:") {
                format!("Date: {}", httpdate::fmt_http_date(shifted))
            } else {
                l.to_string()
            }
        })
        .collect();
    let mut out = lines.join("\r\n").into_bytes();
    out.extend_from_slice(&answer[head_end..]);
    out
}

/// An S3 error answer. As MinIO does, a HEAD answer has no body and names the code in
/// `X-Minio-Error-Code` instead.
pub(super) async fn answer(
    mut client: TcpStream,
    is_head: bool,
    status: &str,
    code: &str,
    date_ahead_secs: u64,
) -> std::io::Result<()> {
    let body = if is_head {
        String::new()
    } else {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>injected by the test proxy</Message><RequestId>PROXY</RequestId></Error>"
        )
    };
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(date_ahead_secs));
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nDate: {date}\r\nX-Minio-Error-Code: {code}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    client.write_all(response.as_bytes()).await?;
    client.shutdown().await
}

/// The `Content-Length` of a request head (0 when it has none or it does not parse).
pub(super) fn content_length(head: &str) -> usize {
    head.lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        })
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0)
}
