//! The S3 client: builds, signs (aws-sigv4), sends (reqwest) and retries requests.
//!
//! One code path for native (tokio) and wasm32 (fetch). The operations themselves live in
//! the sibling modules (`object.rs`, `list.rs`, `delete.rs`, `multipart.rs`).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use futures::StreamExt as _;
use http::Method;

use super::address::BucketAddress;
use super::body::{read_limited, read_prefix, with_read_timeout, MAX_ERROR_BODY_BYTES};
use super::limiter::{Limiter, Permit};
use super::operation::{Operation, RequestCounts};
use super::response::{error_from_response, transport_error};
use super::retry::{backoff_delay, with_attempts};
use super::ByteStream;
use crate::config::ClientConfig;
use crate::error::{Error, ErrorDetails, Result};
use crate::runtime::{self, Stopwatch};

/// A client for one bucket of an S3-compatible store. Cheap to clone (shared state).
#[derive(Clone)]
pub struct S3Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClientConfig,
    address: BucketAddress,
    http: reqwest::Client,
    identity: Option<Identity>,
    /// Server time minus local time (ms), learnt from `RequestTimeTooSkewed` answers.
    clock_offset_ms: AtomicI64,
    /// Server `Date` minus local time (ms) at the last answer; `i64::MIN` before any.
    observed_skew_ms: AtomicI64,
    /// Requests sent per S3 action, retries included.
    counts: RequestCounts,
    /// The adaptive cap on requests in flight (§14), shared by every request.
    limiter: Arc<Limiter>,
}

impl std::fmt::Debug for S3Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Client")
            .field("bucket", &self.inner.config.bucket)
            .field("endpoint", &self.inner.address.endpoint)
            .field("region", &self.inner.config.region)
            .finish_non_exhaustive()
    }
}

/// A request body size up to which the answer's head must come within the read timeout.
const HEAD_WAIT_MAX_BODY: usize = 1024 * 1024;

/// An answer read whole: status, headers and body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

/// The error of a server that sent nothing for `read_timeout` while `waiting_for` came.
fn read_timed_out(endpoint: &str, key: Option<&str>, read_timeout: Duration, waiting_for: &str) -> Error {
    Error::Timeout(ErrorDetails {
        message: format!(
            "{endpoint} sent nothing for {} s while s3keep waited for {waiting_for} (read timeout)",
            read_timeout.as_secs_f64()
        ),
        endpoint: Some(endpoint.to_string()),
        key: key.map(str::to_string),
        ..ErrorDetails::default()
    })
}

/// One request, before signing. Keys and query values are given decoded.
#[derive(Clone, Debug)]
pub(crate) struct Request<'a> {
    /// The S3 action, for counts, logs and errors.
    pub operation: Operation,
    pub method: Method,
    /// The object key, or `None` for a bucket-level request.
    pub key: Option<&'a str>,
    pub query: Vec<(&'static str, String)>,
    pub headers: Vec<(&'static str, String)>,
    pub body: Payload,
}

/// A request body: bytes in memory, or (natively) a range of a file read while it is sent.
#[derive(Clone, Debug)]
pub(crate) enum Payload {
    Bytes(Bytes),
    #[cfg(not(target_arch = "wasm32"))]
    File(super::file_part::FilePart),
}

impl Payload {
    pub fn len(&self) -> u64 {
        match self {
            Payload::Bytes(b) => b.len() as u64,
            #[cfg(not(target_arch = "wasm32"))]
            Payload::File(part) => part.len(),
        }
    }
}

impl<'a> Request<'a> {
    /// A request without query, headers or body.
    pub fn new(operation: Operation, method: Method, key: Option<&'a str>) -> Self {
        Self {
            operation,
            method,
            key,
            query: Vec::new(),
            headers: Vec::new(),
            body: Payload::Bytes(Bytes::new()),
        }
    }

    /// Adds a query parameter.
    pub fn query(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.query.push((name, value.into()));
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Payload::Bytes(body.into());
        self
    }

    /// Sets a body read from a file while it is sent (`file_part.rs`).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn file_body(mut self, part: super::file_part::FilePart) -> Self {
        self.body = Payload::File(part);
        self
    }
}

impl S3Client {
    /// A client for `config`'s bucket.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad bucket name or endpoint (nothing is sent).
    pub fn new(config: ClientConfig) -> Result<Self> {
        let address = BucketAddress::new(&config)?;
        let identity = config.credentials.as_ref().map(|c| {
            aws_credential_types::Credentials::new(
                c.access_key_id.clone(),
                c.secret_access_key.expose().to_string(),
                c.session_token.as_ref().map(|t| t.expose().to_string()),
                None,
                "s3keep",
            )
            .into()
        });
        Ok(Self {
            inner: Arc::new(Inner {
                http: build_http(&config)?,
                address,
                identity,
                clock_offset_ms: AtomicI64::new(0),
                observed_skew_ms: AtomicI64::new(i64::MIN),
                counts: RequestCounts::default(),
                limiter: Limiter::new(config.adaptive_concurrency),
                config,
            }),
        })
    }

    /// The configuration this client was built from.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The endpoint requests go to, as errors name it.
    pub fn endpoint(&self) -> &str {
        &self.inner.address.endpoint
    }

    /// The signing clock's correction learnt from the server (server minus local), in ms.
    pub fn clock_offset_ms(&self) -> i64 {
        self.inner.clock_offset_ms.load(Ordering::Relaxed)
    }

    /// Server clock minus local clock (ms) from the `Date` of the last answer, if any.
    /// HTTP dates have 1 s resolution, so the value is accurate to about a second.
    pub fn observed_clock_skew_ms(&self) -> Option<i64> {
        Some(self.inner.observed_skew_ms.load(Ordering::Relaxed)).filter(|v| *v != i64::MIN)
    }

    /// How many requests of an S3 action (`"DeleteObjects"`, ...) this client has sent,
    /// retries included. Lets tests and benchmarks count round trips.
    /// 0 for an action the client never sends.
    pub fn request_count(&self, operation: &str) -> u64 {
        self.inner.counts.get_named(operation)
    }

    /// The cap on requests in flight this client has set itself after the store throttled
    /// (503 SlowDown, 429; §14), or `None` while it never throttled (or with
    /// `adaptive_concurrency` off): then only the callers' own concurrency counts.
    pub fn concurrency_limit(&self) -> Option<usize> {
        self.inner.limiter.limit()
    }

    /// Throttle answers (503 SlowDown, 429) this client has received, retries included.
    pub fn throttled_count(&self) -> u64 {
        self.inner.limiter.throttles()
    }

    /// Requests of `operation` sent so far, retries included.
    pub(crate) fn sent(&self, operation: Operation) -> u64 {
        self.inner.counts.get(operation)
    }

    /// Sends `request` with retries (§6); a non-2xx answer becomes a typed error. The
    /// body is the caller's to read (see [`S3Client::body_stream`]).
    pub(crate) async fn send(&self, request: Request<'_>) -> Result<reqwest::Response> {
        // The permit goes back with the head: a body read later must not hold it (limiter.rs).
        self.retrying(|| async { self.attempt(&request).await.map(|(response, _permit)| response) })
            .await
    }

    /// Sends `request` and reads its whole body, at most `limit` bytes, as one attempt: a body
    /// that stalls or breaks off is retried like a lost answer (§6).
    ///
    /// # Errors
    /// Those of [`send`](Self::send); `too_large()` when the body exceeds `limit` (not retried).
    pub(crate) async fn send_read(
        &self,
        request: Request<'_>,
        limit: usize,
        too_large: impl Fn() -> Error,
    ) -> Result<Answer> {
        self.retrying(|| async {
            // The permit is held until the body is read: the request is in flight until then.
            let (response, _permit) = self.attempt(&request).await?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let declared = response.content_length();
            let body = read_limited(self.body_stream(response, request.key), declared, limit, &too_large).await?;
            Ok(Answer { status, headers, body })
        })
        .await
    }

    /// The body of `response` as a stream whose chunks must each come within the read timeout
    /// ([`Error::Timeout`] otherwise); transport failures become typed errors naming `key`.
    pub(crate) fn body_stream(&self, response: reqwest::Response, key: Option<&str>) -> ByteStream {
        let endpoint = self.endpoint().to_string();
        let key = key.map(str::to_string);
        let (endpoint2, key2) = (endpoint.clone(), key.clone());
        let read_timeout = self.inner.config.read_timeout;
        let chunks = response
            .bytes_stream()
            .map(move |chunk| chunk.map_err(|e| transport_error(&e, &endpoint, key.as_deref())));
        #[cfg(not(target_arch = "wasm32"))]
        let chunks = chunks.boxed();
        #[cfg(target_arch = "wasm32")]
        let chunks = chunks.boxed_local();
        with_read_timeout(chunks, read_timeout, move || {
            read_timed_out(&endpoint2, key2.as_deref(), read_timeout, "the rest of the answer")
        })
    }

    /// Runs `attempt` until it succeeds or its error is final (§6).
    async fn retrying<T, F, Fut>(&self, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let stopwatch = Stopwatch::start();
        let mut skew_retried = false;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let err = match attempt().await {
                Ok(done) => return Ok(done),
                Err(err) => err,
            };
            if matches!(err, Error::ClockSkew(_)) && !skew_retried {
                // The offset was corrected from the server's Date: one more try (§6).
                skew_retried = true;
                continue;
            }
            let message = err.to_string();
            let delay = self.backoff_or_give_up(err, attempts, &stopwatch)?;
            tracing::debug!(attempts, ?delay, error = %message, "retrying S3 request");
            runtime::sleep(delay).await;
        }
    }

    /// The wait before try `attempt + 1` after `err`, or `err` itself (naming the attempts
    /// when there was more than one) once [`retry_delay`](Self::retry_delay) gives up.
    pub(crate) fn backoff_or_give_up(&self, err: Error, attempt: u32, stopwatch: &Stopwatch) -> Result<Duration> {
        match self.retry_delay(&err, attempt, stopwatch.elapsed()) {
            Some(delay) => Ok(delay),
            None if attempt > 1 => Err(with_attempts(err, attempt, stopwatch.elapsed())),
            None => Err(err),
        }
    }

    /// The sleep before retrying after `err` failed attempt number `attempt`, or `None` when
    /// `err` is final: not temporary, attempts used up, or the time budget spent (§6).
    pub(crate) fn retry_delay(&self, err: &Error, attempt: u32, elapsed: Duration) -> Option<Duration> {
        let retry = &self.inner.config.retry;
        let delay = backoff_delay(attempt, retry.base_delay, retry.max_delay);
        let out_of_time = elapsed + delay > retry.max_elapsed;
        (err.is_temporary() && attempt < retry.max_attempts && !out_of_time).then_some(delay)
    }

    /// One try of `request` under a permit of the limiter (§14): the answer's head and the
    /// permit, or the answer as a typed error; throttles and successes adjust the limit.
    /// Logged as one `debug` line on the target `s3keep::request` (the CLI's `-v`): the
    /// action, the key (escaped), the HTTP status or the error kind, the time in ms (the wait
    /// for a permit not included). Never the URL, a query, a header or a body: no signature,
    /// token or credential.
    async fn attempt(&self, request: &Request<'_>) -> Result<(reqwest::Response, Permit)> {
        // Signed after the wait for a permit, so that a long wait cannot age the signature.
        let permit = self.inner.limiter.acquire().await;
        let stopwatch = Stopwatch::start();
        let result = self.attempt_once(request, &permit).await;
        if tracing::enabled!(target: "s3keep::request", tracing::Level::DEBUG) {
            let key = crate::escape::escape_controls(request.key.unwrap_or("-"));
            let ms = stopwatch.elapsed().as_millis() as u64;
            let operation = request.operation.as_str();
            match &result {
                Ok(response) => {
                    let status = response.status().as_u16();
                    tracing::debug!(target: "s3keep::request", %operation, %key, status, ms, "S3 request");
                }
                Err(err) => {
                    let status = err.status().unwrap_or(0);
                    let error = err.kind();
                    tracing::debug!(target: "s3keep::request", %operation, %key, status, ms, error, "S3 request");
                }
            }
        }
        result.map(|response| (response, permit))
    }

    async fn attempt_once(&self, request: &Request<'_>, permit: &Permit) -> Result<reqwest::Response> {
        self.inner.counts.add(request.operation);
        let url = self.inner.address.url(request.key, &request.query);
        let mut headers = request.headers.clone();
        self.sign(request, &url, &mut headers)?;
        let mut builder = self
            .inner
            .http
            .request(request.method.clone(), &url)
            .timeout(self.inner.config.request_timeout);
        for (name, value) in &headers {
            builder = builder.header(*name, value.as_str());
        }
        #[cfg(not(target_arch = "wasm32"))]
        let failure = super::file_part::BodyFailure::default();
        match &request.body {
            Payload::Bytes(body) if !body.is_empty() => builder = builder.body(body.clone()),
            Payload::Bytes(_) => {}
            #[cfg(not(target_arch = "wasm32"))]
            Payload::File(part) => {
                // hyper sends a streamed body with the Content-Length given, not chunked.
                builder = builder
                    .header(http::header::CONTENT_LENGTH, part.len())
                    .body(reqwest::Body::wrap_stream(part.body(failure.clone())));
            }
        }
        // The head must come within the read timeout once the body is sent; a body above
        // HEAD_WAIT_MAX_BODY may take longer than that to send, so only the request timeout
        // bounds those.
        let sending = builder.send();
        let sent = if request.body.len() <= HEAD_WAIT_MAX_BODY as u64 {
            let read_timeout = self.inner.config.read_timeout;
            runtime::timeout(read_timeout, sending)
                .await
                .ok_or_else(|| read_timed_out(self.endpoint(), request.key, read_timeout, "an answer"))?
        } else {
            sending.await
        };
        // A file that changed under its body: that, not the broken-off request, is the error.
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(err) = failure.lock().expect("not poisoned").take() {
            return Err(err);
        }
        let response = sent.map_err(|e| transport_error(&e, self.endpoint(), request.key))?;
        if let Some(skew) = response.headers().get(http::header::DATE).and_then(skew_from_date) {
            self.inner.observed_skew_ms.store(skew, Ordering::Relaxed);
        }
        if response.status().is_success() {
            self.inner.limiter.succeeded(permit);
            return Ok(response);
        }
        let status = response.status().as_u16();
        let response_headers = response.headers().clone();
        let body = read_prefix(self.body_stream(response, request.key), MAX_ERROR_BODY_BYTES).await;
        let err = error_from_response(status, &response_headers, &body, request.key, self.endpoint());
        if matches!(err, Error::Throttled(_)) {
            self.inner.limiter.throttled(permit);
        }
        if let (Error::ClockSkew(_), Some(date)) = (&err, response_headers.get(http::header::DATE)) {
            self.learn_clock_offset(date);
        }
        Err(err)
    }

    fn learn_clock_offset(&self, date: &http::HeaderValue) {
        let Some(offset) = skew_from_date(date) else {
            return;
        };
        tracing::warn!(
            offset_ms = offset,
            "clock skew: correcting the signing clock from the server's Date"
        );
        self.inner.clock_offset_ms.store(offset, Ordering::Relaxed);
    }

    fn signing_time(&self) -> SystemTime {
        let offset = self.clock_offset_ms();
        let now = runtime::now();
        if offset >= 0 {
            now + Duration::from_millis(offset as u64)
        } else {
            now - Duration::from_millis(offset.unsigned_abs())
        }
    }

    fn sign(&self, request: &Request<'_>, url: &str, headers: &mut Vec<(&'static str, String)>) -> Result<()> {
        let Some(identity) = &self.inner.identity else {
            return Ok(());
        };
        let config = &self.inner.config;
        let context = SigningContext::s3(identity, &config.region, self.signing_time(), config.signed_payload);
        let body = match &request.body {
            Payload::Bytes(body) => signable(&context, body),
            #[cfg(not(target_arch = "wasm32"))]
            Payload::File(part) => match part.sha256_hex() {
                Some(sha256) if context.signed_payload => SignableBody::Precomputed(sha256.to_string()),
                _ => SignableBody::UnsignedPayload,
            },
        };
        sign_with(&context, request.method.as_str(), url, headers, body)
    }
}

/// Who signs, for which region and service, at what time and with which aws-sigv4 settings.
pub(crate) struct SigningContext<'a> {
    pub identity: &'a Identity,
    pub region: &'a str,
    pub service: &'a str,
    pub time: SystemTime,
    pub settings: SigningSettings,
    /// Hash the body into the signature; otherwise a non-empty body is `UNSIGNED-PAYLOAD`.
    pub signed_payload: bool,
}

impl<'a> SigningContext<'a> {
    /// S3's signing: service `s3`, the payload hash in `x-amz-content-sha256`, and the path
    /// encoded once and not normalised (`//` and `%2F` are meaningful in keys; AWS "Create a
    /// canonical request", S3 exception).
    pub fn s3(identity: &'a Identity, region: &'a str, time: SystemTime, signed_payload: bool) -> Self {
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        Self {
            identity,
            region,
            service: "s3",
            time,
            settings,
            signed_payload,
        }
    }
}

/// Signs `method url` (already percent-encoded, as [`BucketAddress::url`] builds it) with
/// `headers` and `body`, and appends the headers SigV4 adds: `authorization`, `x-amz-date`,
/// `x-amz-content-sha256`, `x-amz-security-token`. The body is hashed into the signature, or
/// sent as `UNSIGNED-PAYLOAD` unless `context.signed_payload` (an empty body is always hashed).
///
/// [`BucketAddress::url`]: super::address::BucketAddress::url
#[cfg(test)]
pub(crate) fn sign_request(
    context: &SigningContext<'_>,
    method: &str,
    url: &str,
    headers: &mut Vec<(&'static str, String)>,
    body: &[u8],
) -> Result<()> {
    sign_with(context, method, url, headers, signable(context, body))
}

/// How bytes in memory are signed: hashed, or `UNSIGNED-PAYLOAD` (see [`sign_request`]).
fn signable<'b>(context: &SigningContext<'_>, body: &'b [u8]) -> SignableBody<'b> {
    if context.signed_payload || body.is_empty() {
        SignableBody::Bytes(body)
    } else {
        SignableBody::UnsignedPayload
    }
}

/// [`sign_request`] with the body's hash already chosen.
fn sign_with(
    context: &SigningContext<'_>,
    method: &str,
    url: &str,
    headers: &mut Vec<(&'static str, String)>,
    body: SignableBody<'_>,
) -> Result<()> {
    let params: aws_sigv4::http_request::SigningParams<'_> = v4::SigningParams::builder()
        .identity(context.identity)
        .region(context.region)
        .name(context.service)
        .time(context.time)
        .settings(context.settings.clone())
        .build()
        .map_err(|e| Error::invalid_input(format!("cannot sign the request: {e}")))?
        .into();
    let signable = SignableRequest::new(method, url, headers.iter().map(|(k, v)| (*k, v.as_str())), body)
        .and_then(|r| sign(r, &params))
        .map_err(|e| Error::invalid_input(format!("cannot sign the request: {e}")))?;
    let (instructions, _signature) = signable.into_parts();
    let (signed_headers, _params) = instructions.into_parts();
    for h in signed_headers {
        headers.push((h.name(), h.value().to_string()));
    }
    Ok(())
}

/// Server time (from an HTTP `Date`) minus local time, in ms.
fn skew_from_date(date: &http::HeaderValue) -> Option<i64> {
    let server = httpdate::parse_http_date(date.to_str().ok()?).ok()?;
    let server_ms = server.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_millis() as i64;
    Some(server_ms - runtime::now_millis())
}

fn build_http(config: &ClientConfig) -> Result<reqwest::Client> {
    let builder = reqwest::Client::builder();
    #[cfg(not(target_arch = "wasm32"))]
    let builder = {
        #[cfg(feature = "tls")]
        {
            // reqwest is built without a default crypto provider; ring needs no C toolchain
            // beyond cc and no cmake. Ignoring the error: another part may have installed one.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        // Never follow a redirect: reqwest would re-send the session token and the body to
        // the new host (it only drops `Authorization`), unsigned for that host. A 3xx becomes
        // `Error::Redirect` instead (response.rs).
        let builder = builder
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .tcp_nodelay(true);
        // Without TLS there is no HTTPS to trust a bundle for.
        #[cfg(feature = "tls")]
        let builder = match &config.ca_bundle {
            Some(path) => builder.tls_certs_only(ca_bundle(path)?),
            None => builder,
        };
        builder
    };
    // In wasm32 reqwest has no redirect policy (reqwest issue #2071): the package's build
    // makes every fetch of the module carry `redirect: "manual"` (scripts/build-wasm.sh).
    #[cfg(target_arch = "wasm32")]
    let _ = config;
    builder.build().map_err(|e| {
        Error::Network(ErrorDetails {
            message: format!("cannot build the HTTP client: {e}"),
            ..ErrorDetails::default()
        })
    })
}

/// The certificates of a PEM CA bundle (`AWS_CA_BUNDLE`), trusted instead of the system's,
/// as the AWS CLI and SDKs do.
///
/// # Errors
/// [`Error::InvalidInput`] naming the file when it cannot be read or holds no certificate.
#[cfg(all(not(target_arch = "wasm32"), feature = "tls"))]
fn ca_bundle(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>> {
    let shown = crate::escape::shown_path(path);
    let bad = |why: String| Error::invalid_input(format!("the CA bundle {shown} (AWS_CA_BUNDLE) {why}"));
    let pem = std::fs::read(path).map_err(|e| bad(format!("cannot be read: {e}")))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| bad(format!("is not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(bad("holds no PEM certificate".into()));
    }
    Ok(certs)
}

#[cfg(test)]
#[path = "signing_tests.rs"]
mod signing_tests;
