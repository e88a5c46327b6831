//! A hostile S3 endpoint on 127.0.0.1 in front of the test MinIO (issue 16's classes of
//! servers that never end a listing, send endless or trickling bodies, or ignore a listing's
//! prefix).
//!
//! It reads one HTTP/1.1 request per connection and shows it to the test's rule, which
//! either forwards it unchanged to MinIO (as `support::proxy` does) or answers it with a
//! crafted [`Reply`]. Real sockets: the client under test runs unmodified.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpListener, TcpStream};

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct Request {
    /// `GET`, `PUT`...
    pub method: String,
    /// The path, percent-encoded as sent (`/bucket/key`).
    pub path: String,
    /// The query pairs, percent-decoded.
    pub query: Vec<(String, String)>,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// The value of query parameter `name`, if present.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A ListObjectsV2 (`GET /bucket?list-type=2`).
    pub fn is_list_objects_v2(&self) -> bool {
        self.method == "GET" && self.query("list-type") == Some("2")
    }

    /// A ListMultipartUploads (`GET /bucket?uploads`).
    pub fn is_list_multipart_uploads(&self) -> bool {
        self.method == "GET" && self.query("uploads").is_some()
    }

    /// The S3 action, for counting: the names the client uses.
    pub fn operation(&self) -> &'static str {
        let keyed = self.path.trim_start_matches('/').contains('/');
        match (self.method.as_str(), keyed) {
            ("GET", _) if self.is_list_objects_v2() => "ListObjectsV2",
            ("GET", _) if self.is_list_multipart_uploads() => "ListMultipartUploads",
            ("POST", false) if self.query("delete").is_some() => "DeleteObjects",
            ("DELETE", true) if self.query("uploadId").is_some() => "AbortMultipartUpload",
            ("GET", true) => "GetObject",
            ("HEAD", true) => "HeadObject",
            ("PUT", true) => "PutObject",
            ("DELETE", true) => "DeleteObject",
            _ => "other",
        }
    }

    /// The value of header `name` (lower case), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A PutObject with `If-None-Match` or `If-Match`.
    pub fn is_conditional_put(&self) -> bool {
        self.operation() == "PutObject" && (self.header("if-none-match").is_some() || self.header("if-match").is_some())
    }

    /// Whether the path ends with `suffix` (a key's tail such as `/status.json`).
    pub fn path_ends_with(&self, suffix: &str) -> bool {
        self.path.ends_with(suffix)
    }
}

/// What the server does with one request.
pub enum Reply {
    /// Pass it to MinIO and the answer back.
    Forward,
    /// Pass it to MinIO; if MinIO refuses a precondition (412), answer `200 OK` with a made-up
    /// ETag instead, as a store that ignores `If-None-Match` / `If-Match` does (without the
    /// write landing: what the client sees is what matters here).
    ForwardIgnoringPreconditions,
    /// Answer with this status, extra headers and body.
    Answer {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Body,
    },
}

impl Reply {
    /// `200 OK` with an XML body (Content-Length set).
    pub fn xml(body: impl Into<Vec<u8>>) -> Reply {
        Reply::Answer {
            status: 200,
            headers: vec![("Content-Type", "application/xml".into())],
            body: Body::Bytes(body.into()),
        }
    }

    /// `status` with this body.
    pub fn with(status: u16, body: Body) -> Reply {
        Reply::Answer {
            status,
            headers: Vec::new(),
            body,
        }
    }
}

/// The body of a crafted answer.
pub enum Body {
    /// These bytes, with their Content-Length.
    Bytes(Vec<u8>),
    /// `head`, then `chunk` over and over until `limit` bytes in all were sent or the client
    /// hung up. Without `declared`, no Content-Length: the body ends when the server closes.
    Endless {
        head: Vec<u8>,
        chunk: Vec<u8>,
        limit: u64,
        declared: Option<u64>,
    },
    /// These bytes with their Content-Length, one byte every `interval` after the head.
    Trickle { bytes: Vec<u8>, interval: Duration },
    /// The head is never sent: the server holds the connection open until the client leaves.
    Silence,
}

/// The running server.
pub struct Hostile {
    pub endpoint: String,
    requests: Arc<Mutex<Vec<Request>>>,
    body_bytes_sent: Arc<AtomicU64>,
}

impl Hostile {
    /// Starts a server that asks `rule` what to do with each request.
    pub async fn start(rule: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Hostile {
        let upstream = super::minio().endpoint.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let sent = Arc::new(AtomicU64::new(0));
        let (seen, counter, rule) = (requests.clone(), sent.clone(), Arc::new(rule));
        tokio::spawn(async move {
            loop {
                let (client, _) = listener.accept().await.unwrap();
                let (seen, counter, rule, upstream) = (seen.clone(), counter.clone(), rule.clone(), upstream.clone());
                tokio::spawn(async move {
                    let _ = serve(client, &upstream, &*rule, &seen, &counter).await;
                });
            }
        });
        Hostile {
            endpoint,
            requests,
            body_bytes_sent: sent,
        }
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// How many requests of an S3 action (see [`Request::operation`]) arrived.
    pub fn count(&self, operation: &str) -> usize {
        self.requests().iter().filter(|r| r.operation() == operation).count()
    }

    /// Body bytes of crafted answers the client accepted (written to its socket) so far.
    pub fn body_bytes_sent(&self) -> u64 {
        self.body_bytes_sent.load(Ordering::SeqCst)
    }
}

async fn serve(
    mut client: TcpStream,
    upstream: &str,
    rule: &(dyn Fn(&Request) -> Reply + Send + Sync),
    seen: &Mutex<Vec<Request>>,
    sent: &AtomicU64,
) -> std::io::Result<()> {
    let Some((head, body)) = super::proxy::read_request(&mut client).await? else {
        return Ok(());
    };
    let request = parse(&head, body.clone());
    seen.lock().unwrap().push(request.clone());
    let (status, headers, body) = match rule(&request) {
        Reply::Forward => return super::proxy::forward(client, upstream, &head, &body, None).await,
        Reply::ForwardIgnoringPreconditions => {
            let answer = super::proxy::exchange(upstream, &head, &body).await?;
            if !answer.starts_with(b"HTTP/1.1 412") {
                client.write_all(&answer).await?;
                return client.shutdown().await;
            }
            let etag = format!("\"ignored-{:016x}\"", fastrand::u64(..));
            (200, vec![("ETag", etag)], Body::Bytes(Vec::new()))
        }
        Reply::Answer { status, headers, body } => (status, headers, body),
    };
    let mut head = format!("HTTP/1.1 {status} {}\r\nConnection: close\r\n", reason(status));
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let length = match &body {
        Body::Bytes(b) => Some(b.len() as u64),
        Body::Trickle { bytes, .. } => Some(bytes.len() as u64),
        Body::Endless { declared, .. } => *declared,
        Body::Silence => None,
    };
    if let Some(n) = length {
        head.push_str(&format!("Content-Length: {n}\r\n"));
    }
    head.push_str("\r\n");
    if !matches!(body, Body::Silence) {
        client.write_all(head.as_bytes()).await?;
    }
    match body {
        Body::Bytes(b) => send(&mut client, &b, sent).await?,
        Body::Endless { head, chunk, limit, .. } => {
            let mut total = head.len() as u64;
            send(&mut client, &head, sent).await?;
            while total < limit {
                total += chunk.len() as u64;
                send(&mut client, &chunk, sent).await?;
            }
        }
        Body::Trickle { bytes, interval } => {
            for byte in bytes {
                tokio::time::sleep(interval).await;
                send(&mut client, &[byte], sent).await?;
            }
        }
        Body::Silence => {
            let mut rest = Vec::new();
            return tokio::io::AsyncReadExt::read_to_end(&mut client, &mut rest)
                .await
                .map(drop);
        }
    }
    client.shutdown().await
}

/// Writes body bytes and counts them once the client's socket took them.
async fn send(client: &mut TcpStream, bytes: &[u8], sent: &AtomicU64) -> std::io::Result<()> {
    client.write_all(bytes).await?;
    sent.fetch_add(bytes.len() as u64, Ordering::SeqCst);
    Ok(())
}

fn parse(head: &str, body: Vec<u8>) -> Request {
    let line = head.lines().next().unwrap_or_default();
    let mut parts = line.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Request {
        method,
        path: path.to_string(),
        query,
        headers,
        body,
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// [`Hostile::start`] on a runtime of its own, for tests that are not async (the CLI's).
pub fn hostile(rule: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> (tokio::runtime::Runtime, Hostile) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(Hostile::start(rule));
    (rt, server)
}

// ---------------------------------------------------------------------------------------------
// Documents

/// A ListObjectsV2 page (`encoding-type=url`, as the client asks) with these keys (size 1
/// each) and common prefixes; truncated with `token` when given.
pub fn list_page(keys: &[String], prefixes: &[String], token: Option<&str>) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name><EncodingType>url</EncodingType>");
    match token {
        Some(t) => out.push_str(&format!(
            "<IsTruncated>true</IsTruncated><NextContinuationToken>{t}</NextContinuationToken>"
        )),
        None => out.push_str("<IsTruncated>false</IsTruncated>"),
    }
    for key in keys {
        out.push_str(&format!(
            "<Contents><Key>{}</Key><Size>1</Size><ETag>\"e\"</ETag></Contents>",
            enc(key)
        ));
    }
    for prefix in prefixes {
        out.push_str(&format!(
            "<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>",
            enc(prefix)
        ));
    }
    out.push_str("</ListBucketResult>");
    out
}

/// A ListMultipartUploads page with these (key, upload id, initiated) uploads; truncated with
/// these next markers when given.
pub fn uploads_page(uploads: &[(&str, &str, &str)], next: Option<(&str, &str)>) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListMultipartUploadsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>b</Bucket>");
    match next {
        Some((key, id)) => out.push_str(&format!(
            "<IsTruncated>true</IsTruncated><NextKeyMarker>{key}</NextKeyMarker><NextUploadIdMarker>{id}</NextUploadIdMarker>"
        )),
        None => out.push_str("<IsTruncated>false</IsTruncated>"),
    }
    for (key, id, initiated) in uploads {
        out.push_str(&format!(
            "<Upload><Key>{key}</Key><UploadId>{id}</UploadId><Initiated>{initiated}</Initiated></Upload>"
        ));
    }
    out.push_str("</ListMultipartUploadsResult>");
    out
}
