//! Turning failed responses and transport failures into typed errors (SPEC §6).

use http::HeaderMap;

use super::xml;
use crate::error::{Error, ErrorDetails};

/// The error for a non-2xx answer: the variant comes from the S3 code, else from the status.
///
/// HEAD answers carry no body, so a HEAD 404 or 403 is classified by status alone.
pub(crate) fn error_from_response(
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    key: Option<&str>,
    endpoint: &str,
) -> Error {
    let parsed = xml::parse_error(body);
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
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

/// The variant of SPEC §6 for an S3 code and HTTP status.
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

/// The error for a request that got no answer: timeout or network failure, naming the endpoint.
pub(crate) fn transport_error(err: &reqwest::Error, endpoint: &str, key: Option<&str>) -> Error {
    let details = ErrorDetails {
        message: format!("request to {endpoint} failed: {}", error_chain(err)),
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

    #[test]
    fn details_carry_code_status_request_id_key() {
        let e = err(404, &body("NoSuchKey"));
        assert_eq!(e.code(), Some("NoSuchKey"));
        assert_eq!(e.status(), Some(404));
        assert_eq!(e.request_id(), Some("R"));
        assert_eq!(e.key(), Some("k"));
    }
}
