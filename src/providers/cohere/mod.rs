//! Cohere v2: chat (`POST /v2/chat`) and embeddings (`POST /v2/embed`), Bearer auth.
//!
//! Requests go to `{api_base}/v2/chat` and `{api_base}/v2/embed`, the base defaulting to
//! `https://api.cohere.com`; an `api_base` already ending in `/v2`, `/v2/chat` or `/v2/embed`
//! (LiteLLM takes the full URL) is accepted too.
//!
//! Chat, OpenAI -> Cohere (as LiteLLM's `CohereV2ChatConfig`):
//! - messages map nearly 1:1: `developer` becomes `system`; `name`, `refusal`, `audio`,
//!   `function_call` and null fields are removed; an assistant turn keeps `content` (unless
//!   empty), `tool_calls` (`{id, type, function: {name, arguments}}`) and `tool_plan`; a tool
//!   result is `{role: "tool", tool_call_id, content}`.
//! - `tools` keep the OpenAI shape minus `function.strict` (any strict tool sets Cohere's
//!   `strict_tools: true`); `tool_choice` `"required"` and a named function become
//!   `"REQUIRED"` (Cohere cannot force one particular tool), `"none"` becomes `"NONE"`,
//!   `"auto"` is left out.
//! - `max_completion_tokens` (preferred) or `max_tokens` -> `max_tokens`; `stop` ->
//!   `stop_sequences` (a string becomes a one-element list); `top_p` -> `p`; `temperature`,
//!   `seed`, `frequency_penalty`, `presence_penalty` as is; `response_format`
//!   `json_object` as is, `json_schema` -> `{type: "json_object", json_schema: <schema>}`,
//!   `text` left out; `n` must be 1 (Cohere returns one generation; `n > 1` is a
//!   `BadRequestError`). `stream: false` is sent, `stream: true` for a streamed call.
//! - Dropped OpenAI params (LiteLLM's drop_params for Cohere): `logit_bias`, `logprobs`,
//!   `top_logprobs`, `user`, `parallel_tool_calls`, `stream_options`, `service_tier`, `store`,
//!   `modalities`, `audio`, `prediction`, `reasoning_effort`, `web_search_options`,
//!   `functions`, `function_call`, `verbosity`, `metadata`. Any other field (Cohere's own
//!   `k`, `p`, `safety_mode`, `documents`, `citation_options`, `thinking`, `priority`, …)
//!   passes through.
//!
//! Chat, Cohere -> OpenAI: the text blocks of `message.content` are joined into `content`
//! (`thinking` blocks and citations are not returned); `tool_calls` are copied;
//! `finish_reason` COMPLETE/STOP_SEQUENCE/ERROR -> `stop`, MAX_TOKENS/TIMEOUT -> `length`,
//! TOOL_CALL -> `tool_calls` (LiteLLM leaves TOOL_CALL as `stop`), ERROR_TOXIC ->
//! `content_filter`; usage from `usage.tokens` (falling back to `usage.billed_units`), with
//! `usage.cached_tokens` as `prompt_tokens_details.cached_tokens`. `created` is 0: Cohere
//! sends no timestamp and parsing has no clock.
//!
//! Streaming (`ctx.stream`): `stream: true`, decoded by [`CohereStream`] (`stream.rs`).
//!
//! Embeddings: `input` (a string or a list of strings; token arrays are a `BadRequestError`)
//! -> `texts`, or `images` with `input_type: "image"` when every input is a `data:image/`
//! URI; `input_type` defaults to `"search_document"` (LiteLLM's
//! `COHERE_DEFAULT_EMBEDDING_INPUT_TYPE`); `encoding_format` -> `embedding_types` (default
//! `["float"]`); `dimensions` -> `output_dimension`; `user` dropped; Cohere's own
//! `input_type`, `truncate`, `max_tokens`, `embedding_types` pass through. The reply's
//! embeddings of the requested type become the OpenAI list; usage is
//! `meta.billed_units.input_tokens`.
//!
//! Errors are `{message}` / `{id, message}`; the status decides the kind, refined by the
//! message: "too many tokens" on 400/413/422 -> `ContextWindowExceededError`; 498 (a
//! deny-listed token) and "blocked input"/"blocked output" on 400/422 ->
//! `ContentPolicyViolationError`.

mod stream;

pub use stream::CohereStream;

use super::{error_message, join_url, rerank, Provider, RequestContext};
use crate::config::Deployment;
use crate::error::{ErrorKind, LlmError};
use crate::ports::{HttpRequest, HttpResponse};
use crate::reliability::classify;
use crate::stream::{StreamContext, StreamDecoder};
use crate::types::object::Put;
use crate::types::Endpoint;
use serde_json::{Map, Value};

pub const DEFAULT_API_BASE: &str = "https://api.cohere.com";

/// The input type LiteLLM sends when the caller names none.
pub const DEFAULT_EMBEDDING_INPUT_TYPE: &str = "search_document";

/// OpenAI chat parameters Cohere has no equivalent for (dropped).
const DROPPED_CHAT_PARAMS: &[&str] = &[
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "user",
    "parallel_tool_calls",
    "stream_options",
    "service_tier",
    "store",
    "modalities",
    "audio",
    "prediction",
    "reasoning_effort",
    "web_search_options",
    "functions",
    "function_call",
    "verbosity",
    "metadata",
];

/// Embedding types in the order a reply's are preferred when several came back.
const EMBEDDING_TYPES: &[&str] = &["float", "base64", "int8", "uint8", "binary", "ubinary"];

pub struct Cohere;

impl Provider for Cohere {
    fn name(&self) -> &'static str {
        "cohere"
    }

    fn supports(&self, endpoint: Endpoint) -> bool {
        matches!(
            endpoint,
            Endpoint::ChatCompletion | Endpoint::Embedding | Endpoint::Rerank
        )
    }

    fn build_request(
        &self,
        d: &Deployment,
        endpoint: Endpoint,
        body: Map<String, Value>,
        ctx: &RequestContext,
    ) -> Result<HttpRequest, LlmError> {
        if endpoint == Endpoint::Rerank {
            let api = rerank::cohere_version(d.api_base.as_deref(), &body);
            let payload = rerank::body(api, &d.model, body)?;
            let url = rerank::url(api, d.api_base.as_deref(), DEFAULT_API_BASE);
            return rerank::post(url, d, &payload, ctx);
        }
        let (path, payload) = match endpoint {
            Endpoint::ChatCompletion => ("v2/chat", chat_body(&d.model, body, ctx.stream)?),
            Endpoint::Embedding => ("v2/embed", embed_body(&d.model, body)?),
            Endpoint::TextCompletion
            | Endpoint::ImageGeneration
            | Endpoint::ImageEdit
            | Endpoint::Moderation
            | Endpoint::Transcription
            | Endpoint::Speech
            | Endpoint::Rerank
            | Endpoint::Responses
            | Endpoint::Realtime => return Err(crate::providers::unsupported("cohere", endpoint)),
        };
        let mut headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            ("accept".to_string(), "application/json".to_string()),
        ];
        if let Some(key) = &d.api_key {
            headers.push(("authorization".into(), format!("Bearer {}", key.expose())));
        }
        headers.extend(
            d.headers
                .iter()
                .map(|(k, v)| (k.clone(), v.expose().to_string())),
        );
        crate::providers::post_json(
            join_url(&api_root(d.api_base.as_deref()), path),
            headers,
            &Value::Object(payload),
            ctx,
        )
    }

    fn stream_decoder(
        &self,
        _d: &Deployment,
        endpoint: Endpoint,
        ctx: &StreamContext,
    ) -> Option<Box<dyn StreamDecoder>> {
        (endpoint == Endpoint::ChatCompletion)
            .then(|| Box::new(CohereStream::new(ctx)) as Box<dyn StreamDecoder>)
    }

    fn parse_response(
        &self,
        d: &Deployment,
        endpoint: Endpoint,
        response: &HttpResponse,
    ) -> Result<Value, LlmError> {
        if !(200..300).contains(&response.status) {
            return Err(error(response));
        }
        let value: Value = classify::json_body(&response.body)?;
        match endpoint {
            Endpoint::ChatCompletion => chat_response(&d.model, &value),
            Endpoint::Embedding => embed_response(&d.model, &value),
            // v1 and v2 replies have the same shape.
            Endpoint::Rerank => rerank::parse(rerank::Api::CohereV2, &value, &response.body),
            Endpoint::TextCompletion
            | Endpoint::ImageGeneration
            | Endpoint::ImageEdit
            | Endpoint::Moderation
            | Endpoint::Transcription
            | Endpoint::Speech
            | Endpoint::Responses
            | Endpoint::Realtime => Err(crate::providers::unsupported("cohere", endpoint)),
        }
    }
}

/// The API root (`https://api.cohere.com`) from a configured base that may already name
/// the version or the endpoint.
fn api_root(base: Option<&str>) -> String {
    let mut root = base.unwrap_or(DEFAULT_API_BASE).trim_end_matches('/');
    for suffix in ["/v2/chat", "/v2/embed", "/v2"] {
        if let Some(stripped) = root.strip_suffix(suffix) {
            root = stripped;
            break;
        }
    }
    root.to_string()
}

/// A Cohere error reply as an `LlmError`, refined by Cohere's messages.
fn error(response: &HttpResponse) -> LlmError {
    let message = error_message(response);
    let lower = message.to_ascii_lowercase();
    let mut err = classify::from_status(response, message);
    let status = response.status;
    if matches!(status, 400 | 413 | 422) && lower.contains("too many tokens") {
        err.kind = ErrorKind::ContextWindowExceededError;
    } else if status == 498
        || (matches!(status, 400 | 422)
            && (lower.contains("blocked input") || lower.contains("blocked output")))
    {
        err.kind = ErrorKind::ContentPolicyViolationError;
    }
    err
}

fn chat_body(
    model: &str,
    body: Map<String, Value>,
    stream: bool,
) -> Result<Map<String, Value>, LlmError> {
    let mut out = Map::new();
    out.put("model", Value::String(model.to_string()));
    let messages = match body.get("messages") {
        Some(Value::Array(list)) => list.iter().map(message).collect::<Vec<_>>(),
        _ => return Err(LlmError::bad_request("messages must be a list of messages")),
    };
    out.put("messages", Value::Array(messages));
    out.put("stream", Value::Bool(stream));
    let mut max_tokens = None;
    let mut max_completion_tokens = None;
    for (key, value) in body {
        if value.is_null() || DROPPED_CHAT_PARAMS.contains(&key.as_str()) {
            continue;
        }
        match key.as_str() {
            "model" | "messages" | "stream" => {}
            "max_tokens" => max_tokens = Some(value),
            "max_completion_tokens" => max_completion_tokens = Some(value),
            "top_p" => {
                out.put("p", value);
            }
            "stop" => {
                let list = match value {
                    Value::String(s) => Value::Array(vec![Value::String(s)]),
                    other => other,
                };
                out.put("stop_sequences", list);
            }
            "n" => {
                if value.as_f64() != Some(1.0) {
                    return Err(LlmError::bad_request(format!(
                        "cohere returns one generation per request: n must be 1 (got {value})"
                    )));
                }
            }
            "tools" => {
                let (tools, strict) = tools(value);
                out.put("tools", tools);
                if strict {
                    out.entry("strict_tools").or_insert(Value::Bool(true));
                }
            }
            "tool_choice" => {
                if let Some(choice) = tool_choice(&value) {
                    out.put("tool_choice", Value::String(choice.into()));
                }
            }
            "response_format" => {
                if let Some(format) = response_format(value) {
                    out.put("response_format", format);
                }
            }
            _ => {
                out.insert(key, value);
            }
        }
    }
    if let Some(v) = max_completion_tokens.or(max_tokens) {
        out.put("max_tokens", v);
    }
    Ok(out)
}

/// One OpenAI message in Cohere v2's shape.
fn message(m: &Value) -> Value {
    let Some(obj) = m.as_object() else {
        return m.clone();
    };
    let role = match obj.get("role").and_then(Value::as_str) {
        Some("developer") => "system",
        Some(r) => r,
        None => return m.clone(),
    };
    let keep: &[&str] = match role {
        "system" | "user" => &["content"],
        "assistant" => &["content", "tool_calls", "tool_plan", "citations"],
        "tool" => &["tool_call_id", "content"],
        _ => return m.clone(),
    };
    let mut out = Map::new();
    out.put("role", Value::String(role.to_string()));
    for key in keep {
        match obj.get(*key) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if *key == "content" && role == "assistant" && s.is_empty() => {}
            Some(Value::Array(calls)) if *key == "tool_calls" => {
                if !calls.is_empty() {
                    out.insert(
                        "tool_calls".into(),
                        Value::Array(calls.iter().map(tool_call).collect()),
                    );
                }
            }
            Some(v) => {
                out.insert((*key).to_string(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// `{id, type, function: {name, arguments}}`, the shape both APIs share, minus extras.
fn tool_call(call: &Value) -> Value {
    let mut out = Map::new();
    for key in ["id", "type", "function"] {
        if let Some(v) = call.get(key).filter(|v| !v.is_null()) {
            let v = match (key, v) {
                ("function", Value::Object(f)) => Value::Object(
                    f.iter()
                        .filter(|(k, _)| matches!(k.as_str(), "name" | "arguments"))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                ),
                _ => v.clone(),
            };
            out.insert(key.to_string(), v);
        }
    }
    out.entry("type")
        .or_insert(Value::String("function".into()));
    Value::Object(out)
}

/// OpenAI tools minus `function.strict`, and whether any tool asked to be strict.
fn tools(value: Value) -> (Value, bool) {
    let Value::Array(list) = value else {
        return (value, false);
    };
    let mut strict = false;
    let list = list
        .into_iter()
        .map(|mut tool| {
            if let Some(Value::Object(f)) = tool.get_mut("function") {
                if f.remove("strict") == Some(Value::Bool(true)) {
                    strict = true;
                }
            }
            tool
        })
        .collect();
    (Value::Array(list), strict)
}

fn tool_choice(value: &Value) -> Option<&'static str> {
    match value {
        Value::String(s) => match s.as_str() {
            "none" => Some("NONE"),
            "required" => Some("REQUIRED"),
            _ => None,
        },
        Value::Object(_) => Some("REQUIRED"),
        _ => None,
    }
}

fn response_format(value: Value) -> Option<Value> {
    match value.get("type").and_then(Value::as_str) {
        Some("json_object") => Some(crate::obj! {"type": "json_object"}),
        Some("json_schema") => {
            let mut out = crate::obj! {"type": "json_object"};
            if let (Some(obj), Some(schema)) = (
                out.as_object_mut(),
                value.pointer("/json_schema/schema").cloned(),
            ) {
                obj.put("json_schema", schema);
            }
            Some(out)
        }
        Some("text") | None => None,
        Some(_) => Some(value),
    }
}

fn finish_reason(reason: Option<&str>) -> &'static str {
    match reason {
        Some("MAX_TOKENS") | Some("TIMEOUT") => "length",
        Some("TOOL_CALL") => "tool_calls",
        Some("ERROR_TOXIC") => "content_filter",
        _ => "stop",
    }
}

/// Cohere chat `usage` -> OpenAI usage: `tokens` (falling back to `billed_units`), with
/// `cached_tokens` as `prompt_tokens_details.cached_tokens`.
fn chat_usage(usage: Option<&Value>) -> Value {
    let count = |path: &str| usage.and_then(|u| u.pointer(path)).and_then(Value::as_f64);
    let prompt = count("/tokens/input_tokens")
        .or_else(|| count("/billed_units/input_tokens"))
        .unwrap_or(0.0) as u64;
    let completion = count("/tokens/output_tokens")
        .or_else(|| count("/billed_units/output_tokens"))
        .unwrap_or(0.0) as u64;
    let mut out = crate::obj! {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt.saturating_add(completion),
    };
    if let (Some(cached), Some(u)) = (count("/cached_tokens"), out.as_object_mut()) {
        u.insert(
            "prompt_tokens_details".into(),
            crate::obj! {"cached_tokens": cached as u64},
        );
    }
    out
}

fn chat_response(model: &str, v: &Value) -> Result<Value, LlmError> {
    let message = v
        .get("message")
        .and_then(Value::as_object)
        .ok_or_else(|| classify::malformed_body("no `message` object"))?;
    let text: String = message
        .get("content")
        .and_then(Value::as_array)
        .map(|blocks| {
            blocks
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
                .filter_map(|b| b.get("text").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    let tool_calls: Vec<Value> = message
        .get("tool_calls")
        .and_then(Value::as_array)
        .map(|calls| calls.iter().map(tool_call).collect())
        .unwrap_or_default();
    let mut msg = Map::new();
    msg.put("role", Value::String("assistant".into()));
    let content = if text.is_empty() && !tool_calls.is_empty() {
        Value::Null
    } else {
        Value::String(text)
    };
    msg.put("content", content);
    if !tool_calls.is_empty() {
        msg.put("tool_calls", Value::Array(tool_calls));
    }
    let finish = finish_reason(v.get("finish_reason").and_then(Value::as_str));
    let usage = chat_usage(v.get("usage"));
    Ok(crate::obj! {
        "id": v.get("id").cloned().unwrap_or(Value::Null),
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": vec![crate::obj!{
            "index": 0,
            "message": Value::Object(msg),
            "finish_reason": finish,
            "logprobs": Value::Null,
        }],
        "usage": usage,
    })
}

fn embed_body(model: &str, body: Map<String, Value>) -> Result<Map<String, Value>, LlmError> {
    let inputs: Vec<String> = match body.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                LlmError::bad_request(
                    "cohere embeddings take text: input must be a string or a list of strings",
                )
            })?,
        _ => {
            return Err(LlmError::bad_request(
                "input must be a non-empty string or list of strings",
            ))
        }
    };
    let images = inputs.iter().all(|i| i.starts_with("data:image/"));
    let mut out = Map::new();
    out.put("model", Value::String(model.to_string()));
    let inputs = Value::Array(inputs.into_iter().map(Value::String).collect());
    if images {
        out.put("images", inputs);
        out.put("input_type", Value::String("image".into()));
    } else {
        out.put("texts", inputs);
        out.insert(
            "input_type".into(),
            Value::String(DEFAULT_EMBEDDING_INPUT_TYPE.into()),
        );
    }
    out.put("embedding_types", serde_json::Value::from(vec!["float"]));
    for (key, value) in body {
        if value.is_null() {
            continue;
        }
        match key.as_str() {
            "model" | "input" | "user" => {}
            "encoding_format" => {
                let types = match value {
                    Value::Array(list) => Value::Array(list),
                    other => Value::Array(vec![other]),
                };
                out.put("embedding_types", types);
            }
            "dimensions" => {
                out.put("output_dimension", value);
            }
            _ => {
                out.insert(key, value);
            }
        }
    }
    Ok(out)
}

fn embed_response(model: &str, v: &Value) -> Result<Value, LlmError> {
    let list = match v.get("embeddings") {
        // v1-style `embeddings_floats` replies carry the float list directly.
        Some(Value::Array(list)) => list,
        Some(Value::Object(by_type)) => EMBEDDING_TYPES
            .iter()
            .find_map(|t| by_type.get(*t).and_then(Value::as_array))
            .or_else(|| by_type.values().find_map(Value::as_array))
            .ok_or_else(|| classify::malformed_body("no embeddings in `embeddings`"))?,
        _ => return Err(classify::malformed_body("no `embeddings`")),
    };
    let data: Vec<Value> = list
        .iter()
        .enumerate()
        .map(|(index, embedding)| {
            crate::obj! {"object": "embedding", "index": index, "embedding": embedding.clone()}
        })
        .collect();
    let tokens = (v
        .pointer("/meta/billed_units/input_tokens")
        .and_then(Value::as_f64)
        .unwrap_or(0.0) as u64)
        .saturating_add(
            v.pointer("/meta/billed_units/images")
                .and_then(Value::as_f64)
                .unwrap_or(0.0) as u64,
        );
    Ok(crate::obj! {
        "object": "list",
        "data": data,
        "model": model,
        "usage": crate::obj!{"prompt_tokens": tokens, "total_tokens": tokens},
    })
}
