//! Upstream failures -> `LlmError`: status codes, provider error bodies and transport faults
//! mapped the way LiteLLM's exception mapping does.

use crate::error::{ErrorKind, LlmError, UpstreamReply, MAX_ERROR_HEADERS};
use crate::ports::{HttpResponse, TransportError};

/// Substrings (lower-case) that mark a context-window error in any provider's message.
const CONTEXT_WINDOW_MARKERS: &[&str] = &[
    "context_length_exceeded",
    "exceed context limit",
    "this model's maximum context length is",
    "requested token count exceeds the model's maximum context length",
    "model's maximum context limit",
    "is longer than the model's context length",
    "input tokens exceed the configured limit",
    "exceeds the available context size",
    "exceeds the maximum number of tokens allowed",
    "prompt is too long",
];

/// Substrings (lower-case) that mark a content-policy refusal.
const CONTENT_POLICY_MARKERS: &[&str] = &[
    "content_policy_violation",
    "responsibleaipolicyviolation",
    "content_filter",
    "the response was filtered due to the prompt triggering",
    "your request was rejected as a result of our safety system",
    "your task failed as a result of our safety system",
    "violating our usage policy",
];

pub fn is_context_window_message(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    if lower.contains("string_above_max_length") {
        return false;
    }
    CONTEXT_WINDOW_MARKERS.iter().any(|m| lower.contains(m))
        || (lower.contains("current length is") && lower.contains("while limit is"))
}

pub fn is_content_policy_message(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    CONTENT_POLICY_MARKERS.iter().any(|m| lower.contains(m))
}

/// The error kind for an HTTP status, refined by the provider's error text.
pub fn kind_for_status(status: u16, text: &str) -> ErrorKind {
    match status {
        400 | 413 if is_context_window_message(text) => ErrorKind::ContextWindowExceededError,
        400 if is_content_policy_message(text) => ErrorKind::ContentPolicyViolationError,
        401 => ErrorKind::AuthenticationError,
        403 => ErrorKind::PermissionDeniedError,
        404 => ErrorKind::NotFoundError,
        408 | 504 => ErrorKind::Timeout,
        422 => ErrorKind::UnprocessableEntityError,
        429 => ErrorKind::RateLimitError,
        503 => ErrorKind::ServiceUnavailableError,
        // 409 (conflict/lock timeout) is retried by OpenAI's SDKs; treat it as transient.
        409 | 500..=599 => ErrorKind::InternalServerError,
        _ => ErrorKind::BadRequestError,
    }
}

/// Milliseconds from `retry-after-ms`, else `retry-after` (seconds; HTTP dates are ignored).
pub fn retry_after_ms(response: &HttpResponse) -> Option<u64> {
    if let Some(ms) = response
        .header("retry-after-ms")
        .and_then(|v| v.trim().parse::<f64>().ok())
    {
        if ms.is_finite() && ms >= 0.0 {
            return Some(ms as u64);
        }
    }
    response
        .header("retry-after")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| (s * 1000.0) as u64)
}

/// An HTTP error reply as an `LlmError`; `message` is the provider's own (already extracted).
pub fn from_status(response: &HttpResponse, message: String) -> LlmError {
    let kind = kind_for_status(response.status, &message);
    let mut err = LlmError::new(kind, message)
        .with_status(response.status)
        .with_retry_after(retry_after_ms(response));
    err.from_upstream = true;
    err.upstream = Some(Box::new(upstream_reply(response)));
    err
}

/// The headers, request id and OpenAI-style `error.{type,code,param}` of an error reply.
fn upstream_reply(response: &HttpResponse) -> UpstreamReply {
    let headers = response
        .headers
        .iter()
        .filter(|(k, v)| UpstreamReply::keeps_header(k, v))
        .take(MAX_ERROR_HEADERS)
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    let mut reply = UpstreamReply {
        headers,
        request_id: response.header("x-request-id").map(str::to_string),
        ..UpstreamReply::default()
    };
    let body: Option<serde_json::Value> = serde_json::from_slice(&response.body).ok();
    if let Some(error) = body.as_ref().and_then(|b| b.get("error")) {
        let text = |key: &str| error.get(key).and_then(|v| v.as_str()).map(str::to_string);
        reply.error_type = text("type");
        reply.param = text("param");
        reply.code = error
            .get("code")
            .filter(|c| c.is_string() || c.is_number())
            .cloned();
    }
    reply
}

pub fn from_transport(error: &TransportError, timeout_ms: Option<u64>) -> LlmError {
    match error {
        TransportError::Timeout => LlmError::new(
            ErrorKind::Timeout,
            match timeout_ms {
                Some(ms) => format!("Request timed out after {:.3} seconds", ms as f64 / 1000.0),
                None => "Request timed out".to_string(),
            },
        ),
        TransportError::Connection(detail) => LlmError::new(
            ErrorKind::APIConnectionError,
            format!("Connection error: {detail}"),
        ),
    }
}

/// A 2xx reply's JSON body; empty or invalid JSON is a [`malformed_body`] error.
pub fn json_body(body: &[u8]) -> Result<serde_json::Value, LlmError> {
    serde_json::from_slice(body).map_err(|e| {
        if body.is_empty() {
            malformed_body("empty body")
        } else {
            malformed_body(&format!("invalid JSON ({e})"))
        }
    })
}

/// A 2xx reply whose body could not be understood (not JSON, or not the expected shape): an
/// `InternalServerError` with status 500, as LiteLLM raises for OpenAI (its other providers
/// vary: `APIConnectionError`, `APIError`, even a non-retried 422; llmux answers one way).
/// Retried and counted toward cooldown as a 500 is.
pub fn malformed_body(what: &str) -> LlmError {
    LlmError::new(
        ErrorKind::InternalServerError,
        format!("Malformed response from provider: {what}"),
    )
    .with_status(500)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::error::MAX_ERROR_HEADER_BYTES;

    #[test]
    fn context_window_message_on_400_is_context_window_exceeded() {
        let msg = "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.";
        assert_eq!(
            kind_for_status(400, msg),
            ErrorKind::ContextWindowExceededError
        );
    }

    #[test]
    fn anthropic_prompt_too_long_is_context_window_exceeded() {
        assert_eq!(
            kind_for_status(400, "prompt is too long: 210000 tokens > 200000 maximum"),
            ErrorKind::ContextWindowExceededError
        );
    }

    #[test]
    fn content_policy_code_on_400_is_content_policy_violation() {
        assert_eq!(
            kind_for_status(400, "{\"code\":\"content_policy_violation\"}"),
            ErrorKind::ContentPolicyViolationError
        );
    }

    #[test]
    fn statuses_map_to_litellm_kinds() {
        let cases = [
            (401, ErrorKind::AuthenticationError),
            (403, ErrorKind::PermissionDeniedError),
            (404, ErrorKind::NotFoundError),
            (408, ErrorKind::Timeout),
            (409, ErrorKind::InternalServerError),
            (422, ErrorKind::UnprocessableEntityError),
            (429, ErrorKind::RateLimitError),
            (500, ErrorKind::InternalServerError),
            (502, ErrorKind::InternalServerError),
            (503, ErrorKind::ServiceUnavailableError),
            (504, ErrorKind::Timeout),
            (418, ErrorKind::BadRequestError),
        ];
        for (status, kind) in cases {
            assert_eq!(kind_for_status(status, "x"), kind, "status {status}");
        }
    }

    #[test]
    fn error_reply_keeps_headers_request_id_and_openai_fields_but_no_cookie() {
        let r = HttpResponse {
            status: 400,
            headers: vec![
                ("x-request-id".into(), "req_123".into()),
                ("Set-Cookie".into(), "session=1".into()),
                ("openai-processing-ms".into(), "12".into()),
            ],
            body: br#"{"error":{"message":"bad","type":"invalid_request_error","param":"messages","code":"empty_array"}}"#.to_vec(),
        };
        let e = from_status(&r, "bad".into());
        let up = e.upstream.as_deref().expect("upstream reply kept");
        assert_eq!(up.request_id.as_deref(), Some("req_123"));
        assert_eq!(up.error_type.as_deref(), Some("invalid_request_error"));
        assert_eq!(up.param.as_deref(), Some("messages"));
        assert_eq!(up.code, Some(serde_json::json!("empty_array")));
        let names: Vec<&str> = up.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["x-request-id", "openai-processing-ms"]);
        let json = e.to_json();
        assert_eq!(json["request_id"], "req_123");
        assert_eq!(json["headers"]["openai-processing-ms"], "12");
        assert_eq!(json["type"], "invalid_request_error");
    }

    #[test]
    fn error_reply_headers_are_bounded() {
        let mut headers: Vec<(String, String)> =
            (0..100).map(|i| (format!("x-h{i}"), "v".into())).collect();
        headers.push(("x-big".into(), "v".repeat(MAX_ERROR_HEADER_BYTES + 1)));
        let r = HttpResponse {
            status: 500,
            headers,
            body: b"not json".to_vec(),
        };
        let up = from_status(&r, "x".into()).upstream.expect("kept");
        assert_eq!(up.headers.len(), MAX_ERROR_HEADERS);
        assert!(up.error_type.is_none() && up.code.is_none());
    }

    #[test]
    fn retry_after_ms_wins_over_retry_after() {
        let r = HttpResponse {
            status: 429,
            headers: vec![
                ("retry-after".into(), "3".into()),
                ("retry-after-ms".into(), "1500".into()),
            ],
            body: vec![],
        };
        assert_eq!(retry_after_ms(&r), Some(1500));
        let r = HttpResponse {
            status: 429,
            headers: vec![("retry-after".into(), "2".into())],
            body: vec![],
        };
        assert_eq!(retry_after_ms(&r), Some(2000));
    }
}
