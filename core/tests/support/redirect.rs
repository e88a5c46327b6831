//! A store that redirects, and the other host it redirects to (issue 16, class 8).
//!
//! [`Recorder`] stands for the other host: it keeps every byte it receives and answers
//! `200 OK` to anything, so that a client that followed a redirect would carry on there.
//! [`Redirector`] answers every request as S3 does for a bucket of another region or a
//! bucket whose DNS is not ready (`301 PermanentRedirect`, `307 TemporaryRedirect`): an
//! `<Error>` body naming the recorder as `<Endpoint>`, `x-amz-bucket-region`, and a
//! `Location` to the recorder that carries userinfo and a presigned-style query, which no
//! error may echo. Plain threads, so that both the async core tests and the CLI's
//! synchronous tests can use them.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the `Location` of every redirect carries besides the recorder's address; none of
/// it may appear in an error.
pub const LOCATION_SECRETS: [&str; 3] = ["AK:SECRET", "REDIRECT-SIGNATURE", "REDIRECT-TOKEN"];

/// The region the redirects name.
pub const REDIRECT_REGION: &str = "eu-west-1";

/// The other host: records each connection's bytes, answers `200 OK`.
pub struct Recorder {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    received: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Recorder {
    pub fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let log = log.clone();
                std::thread::spawn(move || {
                    // A connection counts even if nothing arrives on it.
                    let index = {
                        let mut log = log.lock().unwrap();
                        log.push(Vec::new());
                        log.len() - 1
                    };
                    let mut bytes = Vec::new();
                    let complete = read_request(&mut stream, &mut bytes).is_some();
                    log.lock().unwrap()[index] = bytes;
                    if complete {
                        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    }
                });
            }
        });
        Recorder { endpoint, received }
    }

    /// One entry per connection accepted: the request's bytes (empty if none arrived).
    pub fn received(&self) -> Vec<Vec<u8>> {
        self.received.lock().unwrap().clone()
    }
}

/// The store that redirects every request to a [`Recorder`].
pub struct Redirector {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Redirector {
    /// Answers every request with `status` (301 or 307 as S3 does; any 3xx works).
    pub fn start(status: u16, target: &Recorder) -> Redirector {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let target_host = target.endpoint.trim_start_matches("http://").to_string();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let (seen, target_host) = (seen.clone(), target_host.clone());
                std::thread::spawn(move || {
                    if let Some((head, _)) = read_request(&mut stream, &mut Vec::new()) {
                        let answer = redirect_answer(status, &head, &target_host);
                        seen.lock().unwrap().push(head);
                        let _ = stream.write_all(answer.as_bytes());
                    }
                });
            }
        });
        Redirector { endpoint, requests }
    }

    /// Heads of the requests received, in order.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// S3's redirect answer for the request `head`, pointing at `target_host`.
fn redirect_answer(status: u16, head: &str, target_host: &str) -> String {
    let (code, reason) = match status {
        301 => ("PermanentRedirect", "Moved Permanently"),
        _ => ("TemporaryRedirect", "Temporary Redirect"),
    };
    let path = head.split(' ').nth(1).unwrap_or("/").split('?').next().unwrap_or("/");
    let body = if head.starts_with("HEAD ") {
        String::new()
    } else {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>Please re-send this request \
             to the specified temporary endpoint.</Message><Endpoint>{target_host}</Endpoint><RequestId>REDIRECT</RequestId></Error>"
        )
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\nLocation: http://AK:SECRET@{target_host}{path}?X-Amz-Signature=REDIRECT-SIGNATURE\
         &X-Amz-Security-Token=REDIRECT-TOKEN\r\nx-amz-bucket-region: {REDIRECT_REGION}\r\nx-amz-request-id: REDIRECT\r\n\
         Content-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Reads one request into `buf`: the head up to the blank line, then `Content-Length` bytes
/// of body. `None` when the connection ends (or stalls for 10 s) before that.
fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(String, Vec<u8>)> {
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length = super::proxy::content_length(&head);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    Some((head, buf[head_end..head_end + length].to_vec()))
}
