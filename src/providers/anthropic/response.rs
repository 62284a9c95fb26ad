//! Anthropic Messages reply -> OpenAI `chat.completion`, or a classified error.

use super::request::JSON_TOOL_NAME;
use crate::error::{ErrorKind, LlmError};
use crate::ports::HttpResponse;
use crate::reliability::classify;
use crate::types::object::Put;
use serde_json::{Map, Value};

/// Any reply (2xx or not) -> an OpenAI `chat.completion` or an `LlmError`.
pub fn parse(response: &HttpResponse) -> Result<Value, LlmError> {
    if !(200..300).contains(&response.status) {
        return Err(upstream_error(response, response.status));
    }
    let value: Value = classify::json_body(&response.body)?;
    if value.get("type").and_then(Value::as_str) == Some("error") {
        // An error object in a 2xx reply: classify it by its type.
        let status = value
            .pointer("/error/type")
            .and_then(Value::as_str)
            .map_or(500, status_of_error_type);
        return Err(upstream_error(response, status));
    }
    let Some(content) = value.get("content").and_then(Value::as_array) else {
        return Err(classify::malformed_body("no `content` array"));
    };
    Ok(to_chat_completion(&value, content))
}

/// An `error` event inside a stream (`{type: "error", error: {type, message}}`), classified
/// exactly as the same body would be with the status Anthropic documents for its type.
pub fn stream_error(event: &Value) -> LlmError {
    let status = event
        .pointer("/error/type")
        .and_then(Value::as_str)
        .map_or(500, status_of_error_type);
    let reply = HttpResponse {
        status,
        headers: Vec::new(),
        body: serde_json::to_vec(event).unwrap_or_default(),
    };
    upstream_error(&reply, status)
}

/// The HTTP status Anthropic documents for each `error.type`.
fn status_of_error_type(kind: &str) -> u16 {
    match kind {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "billing_error" => 402,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "timeout_error" => 504,
        "overloaded_error" => 529,
        _ => 500,
    }
}

/// Anthropic's `{type: "error", error: {type, message}}` -> `LlmError`, mapped the way
/// LiteLLM's `exception_type` does for anthropic: "prompt is too long" is a context-window
/// error whatever the status, `overloaded_error` (HTTP 529) an InternalServerError,
/// "content filtering policy" a content-policy violation; the rest goes by status.
fn upstream_error(response: &HttpResponse, status: u16) -> LlmError {
    let parsed = serde_json::from_slice::<Value>(&response.body).ok();
    let error_type = parsed
        .as_ref()
        .and_then(|v| v.pointer("/error/type"))
        .and_then(Value::as_str);
    let message = match (
        parsed
            .as_ref()
            .and_then(|v| v.pointer("/error/message"))
            .and_then(Value::as_str),
        error_type,
    ) {
        (Some(m), Some(t)) => format!("{m} (type: {t})"),
        (Some(m), None) => m.to_string(),
        _ => crate::providers::error_message(response),
    };
    let reply = HttpResponse {
        status,
        ..response.clone()
    };
    let mut err = classify::from_status(&reply, message);
    let lower = err.message.to_ascii_lowercase();
    if lower.contains("prompt is too long")
        || lower.contains("prompt: length")
        || classify::is_context_window_message(&err.message)
    {
        err.kind = ErrorKind::ContextWindowExceededError;
    } else if error_type == Some("overloaded_error") || err.message.contains("Overloaded") {
        err.kind = ErrorKind::InternalServerError;
    } else if lower.contains("content filtering policy") {
        err.kind = ErrorKind::ContentPolicyViolationError;
    } else if err.message.contains("Invalid API Key") {
        err.kind = ErrorKind::AuthenticationError;
    }
    err
}

/// Anthropic `stop_reason` -> OpenAI `finish_reason` (LiteLLM's `map_finish_reason`, plus
/// `model_context_window_exceeded`, which stops the output like `max_tokens` does).
pub fn finish_reason(stop_reason: Option<&str>) -> &'static str {
    match stop_reason {
        Some("max_tokens" | "model_context_window_exceeded" | "compaction") => "length",
        Some("tool_use") => "tool_calls",
        Some("refusal") => "content_filter",
        // end_turn, stop_sequence, pause_turn, and anything new.
        _ => "stop",
    }
}

fn to_chat_completion(value: &Value, content: &[Value]) -> Value {
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    let mut json_output: Option<String> = None;
    let mut thinking_blocks = Vec::new();
    let mut reasoning = String::new();
    for block in content {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => text.push_str(block.get("text").and_then(Value::as_str).unwrap_or("")),
            Some("tool_use") => {
                let name = block
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let input = block
                    .get("input")
                    .cloned()
                    .unwrap_or_else(|| crate::obj! {});
                let arguments = serde_json::to_string(&input).unwrap_or_else(|_| "{}".into());
                if name == JSON_TOOL_NAME {
                    // The tool a json_schema response_format became: its input is the answer.
                    json_output.get_or_insert(arguments);
                    continue;
                }
                tool_calls.push(crate::obj! {
                    "id": block.get("id").cloned().unwrap_or(Value::Null),
                    "type": "function",
                    "function": crate::obj!{ "name": name, "arguments": arguments },
                });
            }
            Some("thinking") => {
                reasoning.push_str(block.get("thinking").and_then(Value::as_str).unwrap_or(""));
                thinking_blocks.push(block.clone());
            }
            Some("redacted_thinking") => thinking_blocks.push(block.clone()),
            _ => {}
        }
    }
    let mut finish = finish_reason(value.get("stop_reason").and_then(Value::as_str));
    if let Some(json_text) = json_output {
        if tool_calls.is_empty() {
            text = json_text;
            if finish == "tool_calls" {
                finish = "stop";
            }
        } else {
            text.push_str(&json_text);
        }
    }

    let mut message = Map::new();
    message.put("role", Value::String("assistant".into()));
    message.insert(
        "content".into(),
        if text.is_empty() {
            Value::Null
        } else {
            Value::String(text)
        },
    );
    if !tool_calls.is_empty() {
        message.put("tool_calls", Value::Array(tool_calls));
    }
    if !thinking_blocks.is_empty() {
        message.put("reasoning_content", Value::String(reasoning));
        message.put("thinking_blocks", Value::Array(thinking_blocks));
    }

    crate::obj! {
        "id": value.get("id").cloned().unwrap_or(Value::Null),
        "object": "chat.completion",
        // The Messages API reports no creation time; the router stamps a 0 with its clock.
        "created": 0,
        "model": value.get("model").cloned().unwrap_or(Value::Null),
        "choices": vec![crate::obj!{
            "index": 0,
            "message": Value::Object(message),
            "finish_reason": finish,
            "logprobs": Value::Null,
        }],
        "usage": usage(value.get("usage")),
    }
}

/// Anthropic usage -> OpenAI usage the way LiteLLM counts it: prompt tokens include cache
/// reads and cache writes; both are also reported on their own.
pub fn usage(usage: Option<&Value>) -> Value {
    let n = |key: &str| {
        usage
            .and_then(|u| u.get(key))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    let input = n("input_tokens");
    let output = n("output_tokens");
    let cache_read = n("cache_read_input_tokens");
    let cache_creation = n("cache_creation_input_tokens");
    let prompt = input
        .saturating_add(cache_read)
        .saturating_add(cache_creation);
    crate::obj! {
        "prompt_tokens": prompt,
        "completion_tokens": output,
        "total_tokens": prompt.saturating_add(output),
        "prompt_tokens_details": crate::obj!{
            "cached_tokens": cache_read,
            "cache_creation_tokens": cache_creation,
        },
        "cache_creation_input_tokens": cache_creation,
        "cache_read_input_tokens": cache_read,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_reasons_map_to_openai_finish_reasons() {
        let cases = [
            (Some("end_turn"), "stop"),
            (Some("stop_sequence"), "stop"),
            (Some("pause_turn"), "stop"),
            (Some("max_tokens"), "length"),
            (Some("model_context_window_exceeded"), "length"),
            (Some("tool_use"), "tool_calls"),
            (Some("refusal"), "content_filter"),
            (Some("something_new"), "stop"),
            (None, "stop"),
        ];
        for (stop, want) in cases {
            assert_eq!(finish_reason(stop), want, "{stop:?}");
        }
    }

    #[test]
    fn error_types_map_to_documented_statuses() {
        assert_eq!(status_of_error_type("overloaded_error"), 529);
        assert_eq!(status_of_error_type("rate_limit_error"), 429);
        assert_eq!(status_of_error_type("api_error"), 500);
        assert_eq!(status_of_error_type("new_kind"), 500);
    }
}
