//! Core errors as the plain object the JS wrapper turns into an `S3KeepError` subclass:
//! `{s3keepError: true, kind, code, status, requestId, key, endpoint, message, hint}`.

use s3keep::Error;
use wasm_bindgen::JsValue;

pub(crate) fn to_js(err: &Error) -> JsValue {
    let d = err.details();
    // `Display` is "Kind: message (code, status, key...); hint"; the JS class names the kind.
    let text = err.to_string();
    let message = text.strip_prefix(&format!("{}: ", err.kind())).unwrap_or(&text);
    crate::output::json_to_js(&serde_json::json!({
        "s3keepError": true,
        "kind": err.kind(),
        "code": d.code,
        "status": d.status,
        "requestId": d.request_id,
        "key": d.key,
        "endpoint": d.endpoint,
        "message": message,
        "hint": err.hint(),
    }))
}
