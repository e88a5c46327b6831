//! Turning failed responses and transport failures into typed errors (§6).

use http::HeaderMap;

use super::xml::{self, S3ErrorBody};
use crate::error::{Error, ErrorDetails};
use crate::redact::redact_urls_in;

/// The error for a non-2xx answer: the variant comes from the S3 code, else from the status.
///
/// HEAD answers carry no body, so a HEAD 404 or 403 is classified by status alone. A
/// redirect (3xx but 304) is [`Error::Redirect`]: the client never follows one.
pub(crate) fn error_from_response(
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    key: Option<&str>,
    endpoint: &str,
) -> Error {
    let parsed = xml::parse_error(body);
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    if is_redirect(status) {
        return redirect_error(status, headers, parsed.as_ref(), key, endpoint);
    }
    // MinIO names the code of a bodiless (HEAD) error in `x-minio-error-code`, with the message
    // quoted in `x-minio-error-desc`: wrong credentials and a missing bucket are then typed
    // as on other requests. AWS sends neither.
    let code = parsed
        .as_ref()
        .and_then(|e| e.code.clone())
        .or_else(|| header("x-minio-error-code"));
    let message = parsed
        .as_ref()
        .and_then(|e| e.message.clone())
        .or_else(|| header("x-minio-error-desc").map(|d| d.trim_matches('"').to_string()))
        .unwrap_or_else(|| default_message(status).to_string());
    let details = ErrorDetails {
        request_id: parsed
            .as_ref()
            .and_then(|e| e.request_id.clone())
            .or_else(|| header("x-amz-request-id")),
        key: key
            .map(str::to_string)
            .or_else(|| parsed.as_ref().and_then(|e| e.key.clone())),
        endpoint: Some(endpoint.to_string()),
        status: Some(status),
        message,
        code: code.clone(),
        source: None,
    };
    classify(code.as_deref(), status, details)
}

/// The error of an action answered `200 OK` with an `<Error>` document instead of its result
/// (CompleteMultipartUpload, CopyObject, UploadPartCopy: the S3 API reference says these may
/// fail after the 200 was sent). `action` names it when the document has no message.
pub(crate) fn error_after_ok(error: &S3ErrorBody, status: u16, key: &str, endpoint: &str, action: &str) -> Error {
    let details = ErrorDetails {
        code: error.code.clone(),
        status: Some(status),
        request_id: error.request_id.clone(),
        key: Some(key.to_string()),
        endpoint: Some(endpoint.to_string()),
        message: error
            .message
            .clone()
            .unwrap_or_else(|| format!("{action} failed after 200 OK")),
        source: None,
    };
    classify(error.code.as_deref(), status, details)
}

/// The variant of §6 for an S3 code and HTTP status.
pub(crate) fn classify(code: Option<&str>, status: u16, details: ErrorDetails) -> Error {
    match code {
        Some("NoSuchBucket") => Error::NoSuchBucket(details),
        Some("NoSuchKey" | "NoSuchUpload" | "NotFound") => Error::NotFound(details),
        // versitygw answers an unknown access key with 404 XAdminUserNotFound.
        Some(
            "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "InvalidToken" | "ExpiredToken" | "XAdminUserNotFound",
        ) => Error::InvalidCredentials(details),
        Some("AccessDenied" | "AllAccessDisabled" | "AccountProblem") => Error::AccessDenied(details),
        Some("RequestTimeTooSkewed") => Error::ClockSkew(details),
        Some("SlowDown" | "Throttling" | "TooManyRequests" | "ServiceUnavailable") => Error::Throttled(details),
        Some("RequestTimeout") => Error::Timeout(details),
        Some(
            "BadDigest"
            | "InvalidDigest"
            | "XAmzContentSHA256Mismatch"
            | "XAmzContentChecksumMismatch"
            | "InvalidChecksum",
        ) => Error::Integrity(details),
        Some("PreconditionFailed" | "ConditionalRequestConflict" | "OperationAborted" | "BucketAlreadyExists")
        | Some("BucketAlreadyOwnedByYou") => Error::Conflict(details),
        Some(_) => match status {
            412 | 409 => Error::Conflict(details),
            503 | 429 => Error::Throttled(details),
            _ => Error::S3(details),
        },
        None => match status {
            404 => Error::NotFound(details),
            403 => Error::AccessDenied(details),
            412 | 409 => Error::Conflict(details),
            503 | 429 => Error::Throttled(details),
            _ => Error::S3(details),
        },
    }
}

fn default_message(status: u16) -> &'static str {
    match status {
        404 => "not found",
        403 => "forbidden (a HEAD answer carries no reason: wrong credentials or a missing permission)",
        412 => "precondition failed",
        409 => "conflict",
        503 => "service unavailable",
        _ => "the store answered with an error",
    }
}

/// Whether `status` is a redirect: 3xx but `304 Not Modified` (an answer, not a redirect).
pub(crate) fn is_redirect(status: u16) -> bool {
    (300..400).contains(&status) && status != 304
}

/// The error for a redirect, naming the host and region the store points to without
/// following it: the host from the body's `<Endpoint>` (S3's `PermanentRedirect` and
/// `TemporaryRedirect`, "Error responses" in the S3 API reference), else from `Location`;
/// the region from `x-amz-bucket-region` (sent by AWS with a 301), else `<Region>`. Only
/// `host[:port]` of either is shown: never the `Location`'s userinfo, path or query.
fn redirect_error(
    status: u16,
    headers: &HeaderMap,
    parsed: Option<&S3ErrorBody>,
    key: Option<&str>,
    endpoint: &str,
) -> Error {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let default_code = match status {
        301 | 308 => "PermanentRedirect",
        _ => "TemporaryRedirect",
    };
    let host = parsed
        .and_then(|p| p.endpoint.as_deref())
        .and_then(|e| redirect_host(e, endpoint))
        .or_else(|| header("location").and_then(|l| redirect_host(l, endpoint)));
    let region = header("x-amz-bucket-region")
        .or_else(|| parsed.and_then(|p| p.region.as_deref()))
        .filter(|r| {
            (1..=32).contains(&r.len())
                && r.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        });
    let mut message = match host {
        Some(host) => format!("the store redirected to {host}"),
        None => "the store answered with a redirect".to_string(),
    };
    if let Some(region) = region {
        message.push_str(&format!(" (region {region})"));
    }
    message.push_str(", which is not followed");
    Error::Redirect(ErrorDetails {
        code: Some(
            parsed
                .and_then(|p| p.code.clone())
                .unwrap_or_else(|| default_code.into()),
        ),
        status: Some(status),
        request_id: parsed
            .and_then(|p| p.request_id.clone())
            .or_else(|| header("x-amz-request-id").map(str::to_string)),
        key: key.map(str::to_string),
        endpoint: Some(endpoint.to_string()),
        message,
        source: None,
    })
}

/// `host[:port]` of a redirect target: a URL, a path relative to `endpoint`, or a bare
/// host name as in S3's `<Endpoint>bucket.s3.eu-west-1.amazonaws.com</Endpoint>`.
fn redirect_host(target: &str, endpoint: &str) -> Option<String> {
    let target = target.trim();
    let url = if target.contains("://") {
        url::Url::parse(target).ok()?
    } else if target.starts_with('/') {
        url::Url::parse(endpoint).ok()?.join(target).ok()?
    } else {
        url::Url::parse(&format!("https://{target}")).ok()?
    };
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    })
}

/// The error for a request that got no answer: timeout or network failure, naming the endpoint.
///
/// URLs in the transport's message (reqwest, and Deno's fetch, quote the request URL) are
/// redacted. In a browser, fetch with `redirect: "manual"` hides a redirect behind an
/// "opaque redirect" of status 0, which reqwest refuses to build: that is [`Error::Redirect`].
pub(crate) fn transport_error(err: &reqwest::Error, endpoint: &str, key: Option<&str>) -> Error {
    if is_opaque_redirect(err) {
        return Error::Redirect(ErrorDetails {
            message: "the store answered with a redirect (its target hidden by the runtime), which is not followed"
                .into(),
            endpoint: Some(endpoint.to_string()),
            key: key.map(str::to_string),
            ..ErrorDetails::default()
        });
    }
    let details = ErrorDetails {
        message: format!("request to {endpoint} failed: {}", redact_urls_in(&error_chain(err))),
        endpoint: Some(endpoint.to_string()),
        key: key.map(str::to_string),
        ..ErrorDetails::default()
    };
    if err.is_timeout() {
        Error::Timeout(details)
    } else {
        Error::Network(details)
    }
}

/// Whether `err` or a cause of it is an HTTP response of an invalid status: fetch's
/// opaque-redirect response has status 0 (Fetch standard, "opaque-redirect filtered response").
fn is_opaque_redirect(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if e.downcast_ref::<http::Error>()
            .is_some_and(|h| h.is::<http::status::InvalidStatusCode>())
        {
            return true;
        }
        next = e.source();
    }
    false
}

/// reqwest's Display hides the cause ("error sending request"); the chain says what happened.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    // In wasm32 the cause is a JS exception rendered with its stack trace
    // (`JsValue(TypeError: fetch failed\n    at ...)`): its first line is the message.
    match text.split_once('\n') {
        Some((first, _)) if cfg!(target_arch = "wasm32") => first.trim_end().to_string(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(status: u16, body: &str) -> Error {
        error_from_response(status, &HeaderMap::new(), body.as_bytes(), Some("k"), "http://h")
    }

    fn body(code: &str) -> String {
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>m</Message><RequestId>R</RequestId></Error>")
    }

    #[test]
    fn codes_map_to_variants() {
        assert!(matches!(err(404, &body("NoSuchBucket")), Error::NoSuchBucket(_)));
        assert!(matches!(err(404, &body("NoSuchKey")), Error::NotFound(_)));
        assert!(matches!(
            err(403, &body("SignatureDoesNotMatch")),
            Error::InvalidCredentials(_)
        ));
        assert!(matches!(
            err(403, &body("InvalidAccessKeyId")),
            Error::InvalidCredentials(_)
        ));
        assert!(matches!(err(403, &body("AccessDenied")), Error::AccessDenied(_)));
        assert!(matches!(err(403, &body("RequestTimeTooSkewed")), Error::ClockSkew(_)));
        assert!(matches!(err(503, &body("SlowDown")), Error::Throttled(_)));
        assert!(matches!(err(400, &body("BadDigest")), Error::Integrity(_)));
        assert!(matches!(err(412, &body("PreconditionFailed")), Error::Conflict(_)));
        assert!(matches!(err(500, &body("InternalError")), Error::S3(_)));
        assert!(matches!(err(400, &body("InvalidArgument")), Error::S3(_)));
    }

    #[test]
    fn bodiless_answers_map_by_status() {
        assert!(matches!(err(404, ""), Error::NotFound(_)));
        assert!(matches!(err(403, ""), Error::AccessDenied(_)));
        assert!(matches!(err(412, ""), Error::Conflict(_)));
        assert!(matches!(err(503, ""), Error::Throttled(_)));
    }

    #[test]
    fn bodiless_minio_answers_map_by_their_error_code_header() {
        let mut headers = HeaderMap::new();
        headers.insert("x-minio-error-code", "SignatureDoesNotMatch".parse().unwrap());
        headers.insert(
            "x-minio-error-desc",
            "\"The request signature we calculated does not match\""
                .parse()
                .unwrap(),
        );
        let e = error_from_response(403, &headers, b"", None, "http://h");
        assert!(matches!(e, Error::InvalidCredentials(_)), "{e:?}");
        assert_eq!(e.code(), Some("SignatureDoesNotMatch"));
        assert_eq!(
            e.details().message,
            "The request signature we calculated does not match"
        );
        headers.insert("x-minio-error-code", "NoSuchBucket".parse().unwrap());
        assert!(matches!(
            error_from_response(404, &headers, b"", None, "http://h"),
            Error::NoSuchBucket(_)
        ));
    }

    #[test]
    fn retry_classification_follows_spec() {
        // Retried: 500/502/503/504, 429, SlowDown, InternalError, RequestTimeout.
        for (status, code) in [
            (500, "InternalError"),
            (503, "SlowDown"),
            (400, "RequestTimeout"),
            (502, "X"),
            (504, "X"),
            (429, "X"),
        ] {
            assert!(err(status, &body(code)).is_temporary(), "{status} {code}");
        }
        // Never retried: other 4xx, 412.
        for (status, code) in [
            (412, "PreconditionFailed"),
            (403, "AccessDenied"),
            (404, "NoSuchKey"),
            (400, "InvalidArgument"),
            (400, "BadDigest"),
        ] {
            assert!(!err(status, &body(code)).is_temporary(), "{status} {code}");
        }
    }

    fn redirect(status: u16, headers: &[(&'static str, &str)], body: &str) -> Error {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, value.parse().unwrap());
        }
        error_from_response(status, &map, body.as_bytes(), Some("k"), "http://h:9000")
    }

    #[track_caller]
    fn assert_redirect_says(err: &Error, says: &str) {
        assert!(matches!(err, Error::Redirect(_)), "{err:?}");
        let text = format!("{err} {err:?}");
        assert!(err.details().message.contains(says), "{text}");
        for secret in ["SECRET", "SIG", "TOKEN", "AK:", "\x1b"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }

    #[test]
    fn redirects_name_the_endpoint_and_region_of_s3s_answer() {
        let body = "<Error><Code>PermanentRedirect</Code><Message>m</Message>\
                    <Endpoint>bk.s3.eu-west-1.amazonaws.com</Endpoint><RequestId>R</RequestId></Error>";
        let e = redirect(301, &[("x-amz-bucket-region", "eu-west-1")], body);
        assert_redirect_says(
            &e,
            "the store redirected to bk.s3.eu-west-1.amazonaws.com (region eu-west-1)",
        );
        assert_eq!(
            (e.code(), e.status(), e.request_id()),
            (Some("PermanentRedirect"), Some(301), Some("R"))
        );
        assert!(!e.is_temporary());
        assert!(e.to_string().contains("set the endpoint"), "{e}");
    }

    #[test]
    fn redirects_show_only_the_host_of_location() {
        let location = "http://AK:SECRET@other:9000/bk/k?X-Amz-Signature=SIG&X-Amz-Security-Token=TOKEN";
        let e = redirect(307, &[("location", location)], "");
        assert_redirect_says(&e, "the store redirected to other:9000,");
        assert_eq!(e.code(), Some("TemporaryRedirect"));
        // A relative Location points back to the same store.
        assert_redirect_says(
            &redirect(302, &[("location", "/SECRET?SIG")], ""),
            "redirected to h:9000,",
        );
        // Nothing usable: the message says so instead of echoing it.
        let garbage = redirect(308, &[("location", "http://AK:SECRET@[bad/SIG")], "");
        assert_redirect_says(&garbage, "the store answered with a redirect, which is not followed");
        assert_eq!(garbage.code(), Some("PermanentRedirect"));
        let odd_region = redirect(301, &[("x-amz-bucket-region", "SECRET region")], "");
        assert_redirect_says(&odd_region, "answered with a redirect, which");
    }

    #[test]
    fn not_modified_is_not_a_redirect() {
        assert!(!is_redirect(304) && !is_redirect(200) && !is_redirect(400));
        assert!([300, 301, 302, 303, 307, 308].into_iter().all(is_redirect));
        assert!(!matches!(err(304, ""), Error::Redirect(_)));
    }

    #[test]
    fn an_opaque_redirect_of_status_0_is_recognised() {
        let status_0 = http::Response::builder().status(0u16).body(()).unwrap_err();
        assert!(is_opaque_redirect(&status_0));
        let other = http::Response::builder().header("bad\nname", "v").body(()).unwrap_err();
        assert!(!is_opaque_redirect(&other));
        assert!(!is_opaque_redirect(&std::io::Error::other("status 0")));
    }

    #[test]
    fn details_carry_code_status_request_id_key() {
        let e = err(404, &body("NoSuchKey"));
        assert_eq!(e.code(), Some("NoSuchKey"));
        assert_eq!(e.status(), Some(404));
        assert_eq!(e.request_id(), Some("R"));
        assert_eq!(e.key(), Some("k"));
    }
}
