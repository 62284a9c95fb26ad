//! Helpers shared by the provider tests: fixture files, sent bodies, scripted replies.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use llmux::ports::{HttpRequest, HttpResponse};
use serde_json::Value;

/// `tests/fixtures/<dir>/<name>` as bytes.
pub fn fixture_bytes(dir: &str, name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{dir}/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `tests/fixtures/<dir>/<name>` as text.
pub fn fixture_text(dir: &str, name: &str) -> String {
    String::from_utf8(fixture_bytes(dir, name)).unwrap_or_else(|e| panic!("{dir}/{name}: {e}"))
}

/// `tests/fixtures/<dir>/<name>` as JSON.
pub fn fixture(dir: &str, name: &str) -> Value {
    serde_json::from_slice(&fixture_bytes(dir, name))
        .unwrap_or_else(|e| panic!("{dir}/{name}: {e}"))
}

/// The JSON body a built request would send.
pub fn sent_json(request: &HttpRequest) -> Value {
    serde_json::from_str(request.body.as_deref().unwrap()).unwrap()
}

/// An upstream reply with these headers (lower-case names) and body.
pub fn reply(status: u16, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> HttpResponse {
    HttpResponse {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.into(),
    }
}

/// A JSON reply (`content-type: application/json`).
pub fn json_reply(status: u16, body: impl Into<Vec<u8>>) -> HttpResponse {
    reply(status, &[("content-type", "application/json")], body)
}
