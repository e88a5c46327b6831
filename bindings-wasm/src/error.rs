//! Core errors as the plain object the JS wrapper turns into an `S3KeepError` subclass: the
//! core's error document (`kind`, `code`, `status`, `requestId`, `key`, `endpoint`, `hint`)
//! with `message` as users read it and the marker `s3keepError: true`.

use s3keep::Error;
use wasm_bindgen::JsValue;

pub(crate) fn to_js(err: &Error) -> JsValue {
    let mut doc = serde_json::to_value(err).expect("errors always serialise");
    // The JS class names the kind.
    doc["message"] = err.message_line().into();
    doc["s3keepError"] = true.into();
    js_sys::JSON::parse(&doc.to_string()).expect("serde_json writes valid JSON")
}
