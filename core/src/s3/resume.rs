//! A GetObject body that picks up where a lost connection left it (§6: connection
//! errors and timeouts are retried, in the body of an answer too).
//!
//! When the body fails with a temporary error (a reset, a read timeout) after some bytes,
//! GetObject is sent again for the rest only: `Range: bytes=<next>-<last>` with
//! `If-Match: <ETag of the first answer>`, so that bytes of an object replaced in between are
//! never spliced onto the first ones (the store answers 412, which is final). The answer must
//! be `206 Partial Content` starting at the byte asked for; a store that ignores `Range`
//! (200) ends the body with an error instead of repeating bytes. Waits follow the client's
//! backoff; the attempts and the time budget start again whenever bytes arrive, so a long
//! download over a flaky link is not failed by faults spread over hours.
//!
//! What the caller gets is the same byte sequence a single unbroken answer would have given;
//! size and CRC32C checks stay the caller's (restore and verify make them).

use std::time::Duration;

use futures::StreamExt as _;
use http::Method;

use super::client::{Request, S3Client};
use super::operation::Operation;
use super::ByteStream;
use crate::error::{Error, ErrorDetails, Result};
use crate::runtime::{self, Stopwatch};

/// Where a resumable body stands.
struct Resume {
    client: S3Client,
    key: String,
    /// The range first asked for: `None` for the whole object.
    range: Option<(u64, u64)>,
    /// Absolute offset of the next byte expected.
    next: u64,
    etag: Option<String>,
    body: ByteStream,
    /// Failures since bytes last arrived, and since when.
    failures: u32,
    since: Stopwatch,
    done: bool,
}

/// Wraps the body of a GetObject of `key` (of `range`, or whole) whose answer carried `etag`.
pub(crate) fn resuming_body(
    client: S3Client,
    key: &str,
    range: Option<(u64, u64)>,
    etag: Option<String>,
    body: ByteStream,
) -> ByteStream {
    let state = Resume {
        client,
        key: key.to_string(),
        range,
        next: range.map_or(0, |(first, _)| first),
        etag,
        body,
        failures: 0,
        since: Stopwatch::start(),
        done: false,
    };
    let stream = futures::stream::unfold(state, |mut state| async move {
        if state.done {
            return None;
        }
        let item = state.next_chunk().await;
        state.done = !matches!(item, Some(Ok(_)));
        item.map(|item| (item, state))
    });
    #[cfg(not(target_arch = "wasm32"))]
    return stream.boxed();
    #[cfg(target_arch = "wasm32")]
    return stream.boxed_local();
}

impl Resume {
    /// The next chunk, resuming the answer as often as the retry policy allows.
    async fn next_chunk(&mut self) -> Option<Result<bytes::Bytes>> {
        loop {
            let err = match self.body.next().await? {
                Ok(chunk) => {
                    self.next += chunk.len() as u64;
                    self.failures = 0;
                    self.since = Stopwatch::start();
                    return Some(Ok(chunk));
                }
                Err(err) => err,
            };
            self.failures += 1;
            let Some(delay) = self.client.retry_delay(&err, self.failures, self.since.elapsed()) else {
                return Some(Err(err));
            };
            tracing::debug!(key = %self.key, at = self.next, error = %err, "resuming a GetObject body");
            if let Err(e) = self.reopen(delay).await {
                return Some(Err(e));
            }
        }
    }

    /// Sleeps `delay`, then asks for the rest of the object.
    async fn reopen(&mut self, delay: Duration) -> Result<()> {
        runtime::sleep(delay).await;
        let last = self.range.map(|(_, last)| last);
        let spec = match last {
            Some(last) => format!("bytes={}-{last}", self.next),
            None => format!("bytes={}-", self.next),
        };
        let mut request = Request::new(Operation::GetObject, Method::GET, Some(&self.key)).header("range", spec);
        if let Some(etag) = &self.etag {
            request = request.header("if-match", etag.clone());
        }
        let response = self.client.send(request).await.map_err(|e| e.with_key(&self.key))?;
        let starts_at = response
            .headers()
            .get(http::header::CONTENT_RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(content_range_start);
        if response.status().as_u16() != 206 || starts_at != Some(self.next) {
            return Err(Error::S3(ErrorDetails {
                message: format!(
                    "{} broke off after byte {} and the store did not answer the request for the rest with those bytes (status {}, no matching Content-Range)",
                    self.key,
                    self.next,
                    response.status().as_u16()
                ),
                status: Some(response.status().as_u16()),
                key: Some(self.key.clone()),
                endpoint: Some(self.client.endpoint().to_string()),
                ..ErrorDetails::default()
            }));
        }
        self.body = self.client.body_stream(response, Some(&self.key));
        Ok(())
    }
}

/// The first byte of a `Content-Range: bytes FIRST-LAST/TOTAL` (RFC 9110 §14.4).
fn content_range_start(value: &str) -> Option<u64> {
    let range = value.trim().strip_prefix("bytes ")?;
    let (first, _) = range.split_once('-')?;
    first.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_gives_its_first_byte() {
        assert_eq!(content_range_start("bytes 100-199/1000"), Some(100));
        assert_eq!(content_range_start("bytes 0-0/1"), Some(0));
        assert_eq!(content_range_start("bytes */1000"), None);
        assert_eq!(content_range_start("items 1-2/3"), None);
    }
}
