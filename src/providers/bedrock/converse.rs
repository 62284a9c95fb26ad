//! OpenAI chat completions <-> the Bedrock Converse API (`POST /model/{modelId}/converse`).
//!
//! Request, as LiteLLM's `AmazonConverseConfig` translates it:
//! - `system`/`developer` messages -> `system: [{text}]` (a `cache_control` -> `{cachePoint}`);
//! - `user`/`assistant` messages -> `messages: [{role, content: [...]}]`, consecutive turns of one
//!   role merged; text parts -> `{text}`, `image_url` data URLs -> `{image: {format, source:
//!   {bytes}}}`, `file` data URLs -> `{document: {format, name, source: {bytes}}}` (or `{image}`),
//!   assistant `tool_calls` -> `{toolUse: {toolUseId, name, input}}`;
//! - `tool` (and legacy `function`) messages -> `{toolResult: {toolUseId, content: [{text}]}}` in
//!   a user turn;
//! - `max_tokens`/`max_completion_tokens` -> `inferenceConfig.maxTokens`, `temperature`,
//!   `top_p` -> `topP`, `stop` -> `stopSequences` (an empty string is dropped);
//! - `tools` -> `toolConfig.tools[].toolSpec {name, description (the name when absent),
//!   inputSchema: {json}}`; `tool_choice` `auto` -> `{auto}`, `required` -> `{any}`, a named
//!   function -> `{tool: {name}}`, `none` -> dropped; `toolChoice` is only sent to models that
//!   accept it (Anthropic, Mistral, Amazon Nova) and dropped for the others;
//! - `response_format` `json_object`/`json_schema` -> a forced tool named `json_tool_call` whose
//!   input schema is the requested schema; the reply's tool input comes back as the message
//!   `content` (LiteLLM's JSON mode). `{"type": "text"}` is a no-op;
//! - `reasoning_effort` (Anthropic models) -> `additionalModelRequestFields.thinking` with a
//!   budget of 1024 (minimal, low), 2048 (medium) or 4096 (high) tokens, and `maxTokens` =
//!   budget + 4096 when unset; `top_k` -> `additionalModelRequestFields.top_k` (Anthropic) or
//!   `.inferenceConfig.topK` (Nova), dropped elsewhere;
//! - Converse's own top-level fields given in the body (e.g. via `extra_body`) pass through:
//!   `guardrailConfig`, `performanceConfig`, `promptVariables`, `requestMetadata`,
//!   `additionalModelResponseFieldPaths`, `serviceTier`, and `inferenceConfig` /
//!   `additionalModelRequestFields` (merged under the translated values);
//! - any other non-OpenAI field -> `additionalModelRequestFields` (as LiteLLM does).
//!
//! OpenAI parameters Converse has no equivalent for are dropped (LiteLLM's `drop_params`):
//! `frequency_penalty`, `presence_penalty`, `logit_bias`, `logprobs`, `top_logprobs`, `n`,
//! `seed`, `user`, `parallel_tool_calls`, `service_tier`, `store`, `modalities`, `prediction`,
//! `audio`, `web_search_options`, `verbosity`, `stream_options`, `functions`, `function_call`,
//! `stream` (false), `dimensions`, `encoding_format`, `metadata`.
//!
//! Response: text blocks -> `content`, `toolUse` -> `tool_calls` (arguments as JSON text),
//! `reasoningContent` -> `reasoning_content`; `stopReason` `end_turn`/`stop_sequence` -> `stop`,
//! `max_tokens`/`model_context_window_exceeded` -> `length`, `tool_use` -> `tool_calls`,
//! `guardrail_intervened`/`content_filtered` -> `content_filter` (a normal reply, as LiteLLM);
//! `usage.inputTokens` (+ cache read and write tokens) -> `prompt_tokens`, with
//! `prompt_tokens_details.cached_tokens` = `cacheReadInputTokens` when the reply reports caching.

use crate::error::LlmError;
use crate::reliability::classify;
use crate::types::object::Put;
use serde_json::{Map, Value};

/// The tool name LiteLLM's JSON mode forces; its input becomes the reply's content.
pub const JSON_TOOL_NAME: &str = "json_tool_call";

/// OpenAI parameters Bedrock Converse cannot express: dropped.
const DROPPED: &[&str] = &[
    "model",
    "stream",
    "metadata",
    "frequency_penalty",
    "presence_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "n",
    "seed",
    "user",
    "parallel_tool_calls",
    "service_tier",
    "store",
    "modalities",
    "prediction",
    "audio",
    "web_search_options",
    "verbosity",
    "stream_options",
    "functions",
    "function_call",
    "dimensions",
    "encoding_format",
];

/// Converse request fields passed through as given.
const PASSTHROUGH: &[&str] = &[
    "guardrailConfig",
    "performanceConfig",
    "promptVariables",
    "requestMetadata",
    "additionalModelResponseFieldPaths",
    "serviceTier",
];

const DEFAULT_MAX_TOKENS: u64 = 4096;

fn bad(message: impl Into<String>) -> LlmError {
    LlmError::bad_request(message)
}

/// Whether Converse accepts `toolConfig.toolChoice` for this (base) model.
fn supports_tool_choice(base_model: &str) -> bool {
    ["anthropic.", "mistral.", "amazon.nova"]
        .iter()
        .any(|p| base_model.starts_with(p))
}

/// Builds the Converse body. `base_model` is the model id without region prefix or ARN.
pub fn build_body(base_model: &str, mut body: Map<String, Value>) -> Result<Value, LlmError> {
    let messages = match body.remove("messages") {
        Some(Value::Array(m)) if !m.is_empty() => m,
        Some(Value::Array(_)) => return Err(bad("messages must not be empty")),
        Some(_) => return Err(bad("messages must be an array")),
        None => return Err(bad("messages is required")),
    };
    let (system, turns) = translate_messages(&messages)?;

    // inferenceConfig: anything given as-is, then the translated OpenAI parameters.
    let mut inference = match body.remove("inferenceConfig") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let max_tokens = match body.remove("max_completion_tokens") {
        Some(v) if !v.is_null() => {
            body.remove("max_tokens");
            Some(v)
        }
        _ => body.remove("max_tokens").filter(|v| !v.is_null()),
    };
    if let Some(v) = max_tokens {
        inference.put("maxTokens", v);
    }
    if let Some(v) = body.remove("temperature").filter(|v| !v.is_null()) {
        inference.put("temperature", v);
    }
    if let Some(v) = body.remove("top_p").filter(|v| !v.is_null()) {
        inference.put("topP", v);
    }
    match body.remove("stop") {
        Some(Value::String(s)) if !s.is_empty() => {
            inference.put("stopSequences", serde_json::Value::from(vec![s]));
        }
        Some(Value::Array(list)) if !list.is_empty() => {
            inference.put("stopSequences", Value::Array(list));
        }
        _ => {}
    }

    let mut additional = match body.remove("additionalModelRequestFields") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };

    // Extended thinking (Anthropic models only).
    let anthropic = base_model.starts_with("anthropic.");
    if let Some(effort) = body.remove("reasoning_effort") {
        let budget = match effort.as_str() {
            Some("minimal" | "low") => Some(1024),
            Some("medium") => Some(2048),
            Some("high") => Some(4096),
            Some("none") | None => None,
            Some(other) => {
                return Err(bad(format!(
                "reasoning_effort must be one of none, minimal, low, medium, high (got {other:?})"
            )))
            }
        };
        if let (Some(budget), true) = (budget, anthropic) {
            additional.insert(
                "thinking".into(),
                crate::obj! {"type": "enabled", "budget_tokens": budget},
            );
            if !inference.contains_key("maxTokens") {
                inference.put("maxTokens", Value::from(budget + DEFAULT_MAX_TOKENS));
            }
        }
    }
    if let Some(thinking) = body.remove("thinking") {
        additional.put("thinking", thinking);
    }
    let thinking_enabled = additional
        .get("thinking")
        .and_then(|t| t.get("type"))
        .and_then(Value::as_str)
        == Some("enabled");
    if let Some(k) = body.remove("top_k").or_else(|| body.remove("topK")) {
        if anthropic {
            additional.put("top_k", k);
        } else if base_model.starts_with("amazon.nova") {
            additional.put("inferenceConfig", crate::obj! { "topK": k });
        }
    }

    // Tools, tool choice and JSON mode.
    let mut tools = match body.remove("tools") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list.iter().map(tool_spec).collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(bad("tools must be an array")),
    };
    let mut tool_choice = match body.remove("tool_choice") {
        None | Some(Value::Null) => None,
        Some(choice) => map_tool_choice(&choice)?,
    };
    match body.remove("response_format") {
        Some(format) if !format.is_null() => {
            if let Some((schema, description)) = json_mode_schema(&format)? {
                let spec = crate::obj! {
                    "name": JSON_TOOL_NAME,
                    "description": description.as_deref().unwrap_or(JSON_TOOL_NAME),
                    "inputSchema": crate::obj!{"json": schema},
                };
                tools.push(crate::obj! { "toolSpec": spec });
                if !thinking_enabled {
                    tool_choice = Some(crate::obj! {"tool": crate::obj!{"name": JSON_TOOL_NAME}});
                }
            }
        }
        _ => {}
    }
    if tools.is_empty() && history_has_tool_blocks(&turns) {
        return Err(bad(
            "Bedrock doesn't support tool calling without `tools=` param specified: the conversation contains tool calls or tool results, so pass the `tools` they used",
        ));
    }

    let mut out = Map::new();
    out.put("messages", Value::Array(turns));
    if !system.is_empty() {
        out.put("system", Value::Array(system));
    }
    if !inference.is_empty() {
        out.put("inferenceConfig", Value::Object(inference));
    }
    if !tools.is_empty() {
        let mut config = Map::new();
        config.put("tools", Value::Array(tools));
        if let Some(choice) = tool_choice.filter(|_| supports_tool_choice(base_model)) {
            config.put("toolChoice", choice);
        }
        out.put("toolConfig", Value::Object(config));
    }
    for key in PASSTHROUGH {
        if let Some(v) = body.remove(*key).filter(|v| !v.is_null()) {
            out.insert((*key).to_string(), v);
        }
    }
    for key in DROPPED {
        body.remove(*key);
    }
    // Whatever is left is model-specific: Converse takes it in additionalModelRequestFields.
    for (key, value) in body {
        if !value.is_null() {
            additional.insert(key, value);
        }
    }
    if !additional.is_empty() {
        out.insert(
            "additionalModelRequestFields".into(),
            Value::Object(additional),
        );
    }
    Ok(Value::Object(out))
}

/// `(schema, description)` of a JSON-mode `response_format`; `None` for `{"type": "text"}`.
fn json_mode_schema(format: &Value) -> Result<Option<(Value, Option<String>)>, LlmError> {
    let generic = || crate::obj! {"type": "object", "additionalProperties": true, "properties": crate::obj!{}};
    match format.get("type").and_then(Value::as_str) {
        Some("text") => Ok(None),
        Some("json_object") => Ok(Some((
            format
                .get("response_schema")
                .cloned()
                .unwrap_or_else(generic),
            None,
        ))),
        Some("json_schema") => {
            let spec = format.get("json_schema");
            let schema = spec
                .and_then(|s| s.get("schema"))
                .cloned()
                .unwrap_or_else(generic);
            let description = spec
                .and_then(|s| s.get("description"))
                .and_then(Value::as_str)
                .map(str::to_string);
            Ok(Some((schema, description)))
        }
        _ => Err(bad(
            "response_format.type must be \"text\", \"json_object\" or \"json_schema\"",
        )),
    }
}

fn tool_spec(tool: &Value) -> Result<Value, LlmError> {
    let kind = tool
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("function");
    if kind != "function" {
        return Err(bad(format!(
            "Bedrock Converse supports only function tools (got type {kind:?})"
        )));
    }
    let function = tool
        .get("function")
        .ok_or_else(|| bad("each tool needs a `function` object"))?;
    let name = function
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| bad("each tool function needs a name"))?;
    let description = function
        .get("description")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty())
        .unwrap_or(name);
    let schema = function
        .get("parameters")
        .filter(|p| p.is_object())
        .cloned()
        .unwrap_or_else(|| crate::obj! {"type": "object", "properties": crate::obj!{}});
    Ok(crate::obj! {
        "toolSpec": crate::obj!{
            "name": name,
            "description": description,
            "inputSchema": crate::obj!{"json": schema},
        }
    })
}

fn map_tool_choice(choice: &Value) -> Result<Option<Value>, LlmError> {
    match choice {
        Value::String(s) => match s.as_str() {
            "auto" => Ok(Some(crate::obj!{"auto": crate::obj!{}})),
            "required" => Ok(Some(crate::obj!{"any": crate::obj!{}})),
            "none" => Ok(None),
            other => Err(bad(format!(
                "Bedrock doesn't support tool_choice={other:?}; supported: \"auto\", \"required\", \"none\" (dropped) or a named function"
            ))),
        },
        Value::Object(obj) => {
            let name = obj
                .get("function")
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(|| bad("tool_choice object needs function.name"))?;
            Ok(Some(crate::obj!{"tool": crate::obj!{"name": name}}))
        }
        _ => Err(bad("tool_choice must be a string or an object")),
    }
}

fn history_has_tool_blocks(turns: &[Value]) -> bool {
    turns.iter().any(|t| {
        t.get("content")
            .and_then(Value::as_array)
            .is_some_and(|blocks| {
                blocks
                    .iter()
                    .any(|b| b.get("toolUse").is_some() || b.get("toolResult").is_some())
            })
    })
}

fn cache_point() -> Value {
    crate::obj! {"cachePoint": crate::obj!{"type": "default"}}
}

/// `(system blocks, message turns)`.
fn translate_messages(messages: &[Value]) -> Result<(Vec<Value>, Vec<Value>), LlmError> {
    let mut system = Vec::new();
    let mut turns: Vec<Value> = Vec::new();
    let mut documents = 0usize;
    for (index, message) in messages.iter().enumerate() {
        let role = message
            .get("role")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(format!("messages[{index}] has no role")))?;
        let content = message.get("content").unwrap_or(&Value::Null);
        let message_cache = message.get("cache_control").is_some_and(|c| !c.is_null());
        let (turn_role, mut blocks) = match role {
            "system" | "developer" => {
                match content {
                    Value::String(s) if !s.is_empty() => {
                        system.push(crate::obj! { "text": s.as_str() })
                    }
                    Value::Array(parts) => {
                        for part in parts {
                            if let Some(text) = part.get("text").and_then(Value::as_str) {
                                if !text.is_empty() {
                                    system.push(crate::obj! { "text": text });
                                    if part.get("cache_control").is_some_and(|c| !c.is_null()) {
                                        system.push(cache_point());
                                    }
                                }
                            }
                        }
                    }
                    _ => {}
                }
                if message_cache {
                    system.push(cache_point());
                }
                continue;
            }
            "user" => (
                "user",
                content_blocks(content, index, false, &mut documents)?,
            ),
            "assistant" => {
                let mut blocks = content_blocks(content, index, true, &mut documents)?;
                if let Some(calls) = message.get("tool_calls").and_then(Value::as_array) {
                    for call in calls {
                        blocks.push(tool_use_block(call, index)?);
                    }
                }
                ("assistant", blocks)
            }
            "tool" | "function" => {
                let id_key = if role == "tool" {
                    "tool_call_id"
                } else {
                    "name"
                };
                let id = message
                    .get(id_key)
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad(format!("messages[{index}] ({role}) needs {id_key}")))?;
                let result_content = tool_result_content(content, index)?;
                (
                    "user",
                    vec![
                        crate::obj! {"toolResult": crate::obj!{"toolUseId": id, "content": result_content}},
                    ],
                )
            }
            other => {
                return Err(bad(format!(
                    "messages[{index}] has role {other:?}, which Bedrock Converse cannot express"
                )))
            }
        };
        if message_cache && !blocks.is_empty() {
            blocks.push(cache_point());
        }
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some(last) if last.get("role").and_then(Value::as_str) == Some(turn_role) => {
                if let Some(Value::Array(existing)) = last.get_mut("content") {
                    existing.extend(blocks);
                }
            }
            _ => turns.push(crate::obj! {"role": turn_role, "content": blocks}),
        }
    }
    Ok((system, turns))
}

/// Content blocks of a user or assistant message (empty assistant text is skipped).
fn content_blocks(
    content: &Value,
    index: usize,
    assistant: bool,
    documents: &mut usize,
) -> Result<Vec<Value>, LlmError> {
    match content {
        Value::Null => Ok(Vec::new()),
        Value::String(s) if assistant && s.is_empty() => Ok(Vec::new()),
        Value::String(s) => Ok(vec![crate::obj! { "text": s.as_str() }]),
        Value::Array(parts) => {
            let mut blocks = Vec::new();
            for part in parts {
                let kind = part.get("type").and_then(Value::as_str).unwrap_or("text");
                match kind {
                    "text" => {
                        let text = part.get("text").and_then(Value::as_str).unwrap_or("");
                        if assistant && text.is_empty() {
                            continue;
                        }
                        blocks.push(crate::obj!{ "text": text });
                    }
                    "image_url" => {
                        let url = part
                            .get("image_url")
                            .and_then(|u| u.get("url").or(Some(u)))
                            .and_then(Value::as_str)
                            .ok_or_else(|| {
                                bad(format!("messages[{index}]: image_url part needs a url"))
                            })?;
                        blocks.push(media_block(url, None, index, documents)?);
                    }
                    "file" => {
                        let file = part.get("file").unwrap_or(&Value::Null);
                        let data = file
                            .get("file_data")
                            .and_then(Value::as_str)
                            .ok_or_else(|| {
                                bad(format!(
                                    "messages[{index}]: Bedrock needs files inline as file.file_data (a base64 data URL); file_id is not supported"
                                ))
                            })?;
                        let name = file.get("filename").and_then(Value::as_str);
                        blocks.push(media_block(data, name, index, documents)?);
                    }
                    other => {
                        return Err(bad(format!(
                            "messages[{index}]: content part type {other:?} is not supported by Bedrock Converse"
                        )))
                    }
                }
                if part.get("cache_control").is_some_and(|c| !c.is_null()) {
                    blocks.push(cache_point());
                }
            }
            Ok(blocks)
        }
        _ => Err(bad(format!(
            "messages[{index}].content must be a string or an array of parts"
        ))),
    }
}

/// `(mime type, base64 data)` of a `data:<mime>;base64,<data>` URL.
fn parse_data_url(url: &str) -> Option<(String, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    let mime = meta.strip_suffix(";base64")?;
    Some((mime.trim().to_ascii_lowercase(), data))
}

/// An `{image}` or `{document}` block from a base64 data URL.
fn media_block(
    url: &str,
    filename: Option<&str>,
    index: usize,
    documents: &mut usize,
) -> Result<Value, LlmError> {
    let (mime, data) = parse_data_url(url).ok_or_else(|| {
        bad(format!(
            "messages[{index}]: Bedrock needs images and files inline as base64 data URLs (data:image/png;base64,...); llmux does not download URLs"
        ))
    })?;
    if let Some(subtype) = mime.strip_prefix("image/") {
        let format = match subtype {
            "jpeg" | "jpg" => "jpeg",
            "png" => "png",
            "gif" => "gif",
            "webp" => "webp",
            other => {
                return Err(bad(format!(
                    "messages[{index}]: unsupported image format {other:?} (Bedrock takes png, jpeg, gif, webp)"
                )))
            }
        };
        return Ok(
            crate::obj! {"image": crate::obj!{"format": format, "source": crate::obj!{"bytes": data}}},
        );
    }
    let format = match mime.as_str() {
        "application/pdf" => "pdf",
        "text/csv" => "csv",
        "application/msword" => "doc",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/vnd.ms-excel" => "xls",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        "text/html" => "html",
        "text/plain" => "txt",
        "text/markdown" => "md",
        other => {
            return Err(bad(format!(
                "messages[{index}]: unsupported document type {other:?} (Bedrock takes pdf, csv, doc, docx, xls, xlsx, html, txt, md)"
            )))
        }
    };
    *documents += 1;
    // Document names allow letters, digits, single spaces, hyphens, parentheses and brackets.
    let name: String = filename
        .map(|f| f.rsplit_once('.').map_or(f, |(stem, _)| stem))
        .unwrap_or("")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '(' | ')' | '[' | ']') {
                c
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let name = if name.is_empty() {
        format!("document {documents}")
    } else {
        name
    };
    Ok(
        crate::obj! {"document": crate::obj!{"format": format, "name": name, "source": crate::obj!{"bytes": data}}},
    )
}

fn tool_use_block(call: &Value, index: usize) -> Result<Value, LlmError> {
    let id = call
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("messages[{index}]: each tool call needs an id")))?;
    let function = call.get("function").unwrap_or(&Value::Null);
    let name = function.get("name").and_then(Value::as_str).unwrap_or("");
    let input = match function.get("arguments") {
        None | Some(Value::Null) => crate::obj! {},
        Some(Value::String(s)) if s.trim().is_empty() => crate::obj! {},
        Some(Value::String(s)) => serde_json::from_str::<Value>(s).map_err(|e| {
            bad(format!(
                "messages[{index}]: tool call {id} has arguments that are not JSON ({e})"
            ))
        })?,
        Some(other) => other.clone(),
    };
    Ok(crate::obj! {"toolUse": crate::obj!{"toolUseId": id, "name": name, "input": input}})
}

fn tool_result_content(content: &Value, index: usize) -> Result<Vec<Value>, LlmError> {
    match content {
        Value::Null => Ok(vec![crate::obj! {"text": ""}]),
        Value::String(s) => Ok(vec![crate::obj! { "text": s.as_str() }]),
        Value::Array(parts) => {
            let mut out = Vec::new();
            for part in parts {
                match part.get("type").and_then(Value::as_str).unwrap_or("text") {
                    "text" => out.push(crate::obj! {
                        "text": part.get("text").and_then(Value::as_str).unwrap_or("")
                    }),
                    "image_url" => {
                        let url = part
                            .get("image_url")
                            .and_then(|u| u.get("url").or(Some(u)))
                            .and_then(Value::as_str)
                            .unwrap_or("");
                        out.push(media_block(url, None, index, &mut 0)?);
                    }
                    other => {
                        return Err(bad(format!(
                            "messages[{index}]: tool result part type {other:?} is not supported"
                        )))
                    }
                }
            }
            Ok(out)
        }
        other => Ok(vec![crate::obj! { "text": other.to_string() }]),
    }
}

/// OpenAI `finish_reason` of a Converse `stopReason`.
pub fn finish_reason(stop_reason: &str) -> &'static str {
    match stop_reason {
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "guardrail_intervened" | "content_filtered" => "content_filter",
        _ => "stop",
    }
}

/// The OpenAI `usage` of a Converse `usage` object.
pub fn usage(usage: Option<&Value>) -> Value {
    let n = |key: &str| usage.and_then(|u| u.get(key)).and_then(Value::as_u64);
    let input = n("inputTokens").unwrap_or(0);
    let output = n("outputTokens").unwrap_or(0);
    let cache_read = n("cacheReadInputTokens");
    let cache_write = n("cacheWriteInputTokens");
    let prompt = input
        .saturating_add(cache_read.unwrap_or(0))
        .saturating_add(cache_write.unwrap_or(0));
    let total = n("totalTokens").unwrap_or(prompt.saturating_add(output));
    let mut out = crate::obj! {
        "prompt_tokens": prompt,
        "completion_tokens": output,
        "total_tokens": total,
    };
    if cache_read.is_some() || cache_write.is_some() {
        if let Some(obj) = out.as_object_mut() {
            obj.insert(
                "prompt_tokens_details".into(),
                crate::obj! {"cached_tokens": cache_read.unwrap_or(0)},
            );
        }
    }
    out
}

/// A Converse reply as an OpenAI `chat.completion`.
pub fn parse(reply: &Value, model: &str, id: String, created: i64) -> Result<Value, LlmError> {
    let message = reply
        .pointer("/output/message")
        .filter(|m| m.is_object())
        .ok_or_else(|| classify::malformed_body("no `output.message` in the Converse reply"))?;
    let stop_reason = reply
        .get("stopReason")
        .and_then(Value::as_str)
        .unwrap_or("end_turn");
    let blocks = message
        .get("content")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut text: Option<String> = None;
    let mut reasoning: Option<String> = None;
    let mut tool_calls = Vec::new();
    for block in blocks {
        if let Some(t) = block.get("text").and_then(Value::as_str) {
            text.get_or_insert_with(String::new).push_str(t);
        }
        if let Some(t) = block
            .pointer("/reasoningContent/reasoningText/text")
            .and_then(Value::as_str)
        {
            reasoning.get_or_insert_with(String::new).push_str(t);
        }
        if let Some(tool) = block.get("toolUse") {
            let input = tool.get("input").cloned().unwrap_or_else(|| crate::obj! {});
            tool_calls.push((
                tool.get("toolUseId")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                tool.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                input,
            ));
        }
    }
    let mut finish = finish_reason(stop_reason);
    let mut out_message = Map::new();
    out_message.put("role", Value::from("assistant"));
    let json_mode = matches!(tool_calls.as_slice(), [(_, name, _)] if name == JSON_TOOL_NAME);
    if json_mode {
        let input = tool_calls
            .first()
            .map(|(_, _, input)| input.to_string())
            .unwrap_or_default();
        out_message.put("content", Value::String(input));
        if finish == "tool_calls" {
            finish = "stop";
        }
    } else {
        out_message.put("content", text.map_or(Value::Null, Value::String));
    }
    if let Some(r) = reasoning {
        out_message.put("reasoning_content", Value::String(r));
    }
    if !json_mode && !tool_calls.is_empty() {
        let calls: Vec<Value> = tool_calls
            .into_iter()
            .map(|(id, name, input)| {
                crate::obj! {
                    "id": id,
                    "type": "function",
                    "function": crate::obj!{"name": name, "arguments": input.to_string()},
                }
            })
            .collect();
        out_message.put("tool_calls", Value::Array(calls));
    }
    Ok(crate::obj! {
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": vec![crate::obj!{
            "index": 0,
            "message": Value::Object(out_message),
            "finish_reason": finish,
            "logprobs": Value::Null,
        }],
        "usage": usage(reply.get("usage")),
    })
}
