//! Reading answer bodies from a server that may be hostile or broken: never more than a limit
//! into memory, and never waiting longer than the read timeout for the next bytes.
//!
//! Limits of the bodies read whole (the objects streamed to disk by restore have none):
//! - XML results (ListObjectsV2, ListMultipartUploads, DeleteObjects, CreateMultipartUpload,
//!   CompleteMultipartUpload): [`MAX_XML_BYTES`], 16 MiB. A page of 1,000 keys of the longest
//!   kind (1,024 bytes, url-encoded up to three times longer) is about 4 MiB.
//! - Error documents: the first [`MAX_ERROR_BODY_BYTES`] (64 KiB) are read, the rest is
//!   dropped with the connection; S3's are under 1 KiB.
//! - Objects the store reads whole (`status.json`, `metadata.json`): limits set by the caller.
//!
//! A declared `Content-Length` above the limit fails before any byte of the body is read;
//! without one (chunked answers) the bytes are counted as they come.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt as _};

use super::ByteStream;
use crate::error::{Error, ErrorDetails, Result};
use crate::runtime::{self, BoxFuture};

/// The most bytes of an XML result read into memory: 16 MiB.
pub const MAX_XML_BYTES: usize = 16 * 1024 * 1024;
/// The most bytes of an error document read: 64 KiB.
pub const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// Reads a whole body of at most `limit` bytes; `declared` is the answer's `Content-Length`.
///
/// # Errors
/// `too_large()` when the declared or actual length exceeds `limit` (the rest of the body is
/// never read); the stream's own errors (transport, read timeout).
pub(crate) async fn read_limited(
    mut body: ByteStream,
    declared: Option<u64>,
    limit: usize,
    too_large: impl FnOnce() -> Error,
) -> Result<Bytes> {
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut out = BytesMut::with_capacity(declared.map_or(0, |n| n as usize));
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        if out.len() + chunk.len() > limit {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out.freeze())
}

/// Reads at most the first `limit` bytes of a body, stopping quietly at the limit, at the end
/// or at the first failure: for error documents, which are parsed if they can be.
pub(crate) async fn read_prefix(mut body: ByteStream, limit: usize) -> Bytes {
    let mut out = BytesMut::new();
    while let Some(Ok(chunk)) = body.next().await {
        let room = limit - out.len();
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() == limit {
            break;
        }
    }
    out.freeze()
}

/// The error of a body larger than the limit the caller reads: names what, the cap and where.
pub(crate) fn too_large(what: &str, limit: usize, endpoint: &str, key: Option<&str>) -> ErrorDetails {
    ErrorDetails {
        message: format!(
            "{what} is larger than {}, the most s3keep reads of it",
            human_size(limit)
        ),
        key: key.map(str::to_string),
        endpoint: Some(endpoint.to_string()),
        ..ErrorDetails::default()
    }
}

/// `16 MiB (16777216 bytes)`, `64 KiB (65536 bytes)`.
pub(crate) fn human_size(bytes: usize) -> String {
    const KIB: usize = 1024;
    match bytes {
        b if b >= KIB * KIB && b % (KIB * KIB) == 0 => format!("{} MiB ({b} bytes)", b / (KIB * KIB)),
        b if b >= KIB && b % KIB == 0 => format!("{} KiB ({b} bytes)", b / KIB),
        b => format!("{b} bytes"),
    }
}

/// A body whose every chunk must arrive within `timeout` of the previous one (or of the
/// start); otherwise it ends with [`Error::Timeout`] built by `on_timeout`.
pub(crate) fn with_read_timeout(
    inner: ByteStream,
    timeout: Duration,
    on_timeout: impl Fn() -> Error + runtime::MaybeSend + 'static,
) -> ByteStream {
    let stream = ReadTimeout {
        inner,
        timer: None,
        timeout,
        on_timeout: Box::new(on_timeout),
        done: false,
    };
    #[cfg(not(target_arch = "wasm32"))]
    return stream.boxed();
    #[cfg(target_arch = "wasm32")]
    return stream.boxed_local();
}

#[cfg(not(target_arch = "wasm32"))]
type TimeoutError = Box<dyn Fn() -> Error + Send + Sync>;
#[cfg(target_arch = "wasm32")]
type TimeoutError = Box<dyn Fn() -> Error>;

struct ReadTimeout {
    inner: ByteStream,
    /// Started when the inner stream first has nothing to give; reset by every chunk.
    timer: Option<BoxFuture<'static, ()>>,
    timeout: Duration,
    on_timeout: TimeoutError,
    done: bool,
}

impl Stream for ReadTimeout {
    type Item = Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = this.inner.poll_next_unpin(cx) {
            this.timer = None;
            this.done = !matches!(item, Some(Ok(_)));
            return Poll::Ready(item);
        }
        let timeout = this.timeout;
        let timer = this.timer.get_or_insert_with(|| Box::pin(runtime::sleep(timeout)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                this.done = true;
                Poll::Ready(Some(Err((this.on_timeout)())))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(parts: &[&'static [u8]]) -> ByteStream {
        let items: Vec<Bytes> = parts.iter().map(|p| Bytes::from_static(p)).collect();
        futures::stream::iter(items).map(Ok::<_, Error>).boxed()
    }

    fn big() -> Error {
        Error::S3(ErrorDetails::message("too large"))
    }

    #[tokio::test]
    async fn a_body_within_the_limit_is_read_whole() {
        let body = read_limited(chunks(&[b"ab", b"cd"]), Some(4), 4, big).await.unwrap();
        assert_eq!(body, "abcd");
        let undeclared = read_limited(chunks(&[b"ab", b"cd"]), None, 4, big).await.unwrap();
        assert_eq!(undeclared, "abcd");
    }

    #[tokio::test]
    async fn a_longer_body_fails_by_its_declared_length_or_by_counting() {
        // Declared too long: nothing is read (the stream would panic if polled).
        let never = futures::stream::poll_fn(|_| -> Poll<Option<Result<Bytes>>> { panic!("read") }).boxed();
        assert!(read_limited(never, Some(5), 4, big).await.is_err());
        // Undeclared (or understated): stops at the chunk that crosses the limit.
        let endless = futures::stream::repeat(Bytes::from_static(b"xx"))
            .map(Ok::<_, Error>)
            .boxed();
        assert!(read_limited(endless, None, 1024, big).await.is_err());
        assert!(read_limited(chunks(&[b"abc", b"de"]), Some(3), 4, big).await.is_err());
    }

    #[tokio::test]
    async fn an_error_body_is_cut_at_the_limit() {
        let endless = futures::stream::repeat(Bytes::from_static(b"0123456789"))
            .map(Ok::<_, Error>)
            .boxed();
        assert_eq!(read_prefix(endless, 25).await, "0123456789012345678901234");
        assert_eq!(read_prefix(chunks(&[b"ab"]), 25).await, "ab");
    }

    #[tokio::test]
    async fn a_stalled_body_times_out_and_a_flowing_one_does_not() {
        let timeout = || Error::Timeout(ErrorDetails::message("stalled"));
        let stalled = chunks(&[b"a"]).chain(futures::stream::pending()).boxed();
        let mut body = with_read_timeout(stalled, Duration::from_millis(50), timeout);
        assert_eq!(body.next().await.unwrap().unwrap(), "a");
        assert!(matches!(body.next().await, Some(Err(Error::Timeout(_)))));
        assert!(body.next().await.is_none());
        let flowing = with_read_timeout(chunks(&[b"a", b"b"]), Duration::from_millis(50), timeout);
        assert_eq!(flowing.map(|c| c.unwrap()).collect::<Vec<_>>().await, ["a", "b"]);
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_size(MAX_XML_BYTES), "16 MiB (16777216 bytes)");
        assert_eq!(human_size(MAX_ERROR_BODY_BYTES), "64 KiB (65536 bytes)");
        assert_eq!(human_size(1000), "1000 bytes");
    }
}
