//! OpenAI chat request -> Anthropic Messages request body.

use crate::cost::CostMap;
use crate::error::LlmError;
use crate::types::object::Put;
use serde_json::{Map, Value};

/// `max_tokens` when the request sets none and the price data knows no limit for the model
/// (LiteLLM's `DEFAULT_ANTHROPIC_CHAT_MAX_TOKENS`).
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

/// The tool a `json_schema` response format becomes (LiteLLM's `RESPONSE_FORMAT_TOOL_NAME`).
pub const JSON_TOOL_NAME: &str = "json_tool_call";

/// OpenAI parameters Anthropic has no equivalent for, dropped as LiteLLM's `drop_params` does.
const DROPPED: &[&str] = &[
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "seed",
    "n",
    "stream",
    "stream_options",
    "store",
    "modalities",
    "audio",
    "prediction",
    "reasoning_effort",
    "web_search_options",
    "verbosity",
    "safety_identifier",
    "prompt_cache_key",
];

fn bad(message: impl Into<String>) -> LlmError {
    LlmError::bad_request(message)
}

/// The Anthropic body for an OpenAI chat request sent to `model`.
pub fn translate(
    model: &str,
    mut body: Map<String, Value>,
) -> Result<Map<String, Value>, LlmError> {
    let messages = match body.remove("messages") {
        Some(Value::Array(m)) => m,
        _ => return Err(bad("`messages` must be an array of chat messages")),
    };
    check_n(body.get("n"))?;
    // `reasoning_effort` → extended thinking, as LiteLLM maps it (a `thinking` given wins).
    let effort_budget = thinking_budget(body.remove("reasoning_effort").as_ref())?;
    let max_given = ["max_tokens", "max_completion_tokens"]
        .iter()
        .any(|k| body.get(*k).is_some_and(|v| !v.is_null()));
    if let Some(budget) = effort_budget {
        if !body.contains_key("thinking") {
            body.put(
                "thinking",
                crate::obj! { "type": "enabled", "budget_tokens": budget },
            );
        }
    }
    for key in DROPPED {
        body.remove(*key);
    }
    // Anthropic's own service tiers pass; OpenAI's ("default", "flex", ...) do not exist there.
    if !matches!(
        body.get("service_tier").and_then(Value::as_str),
        Some("auto" | "standard_only")
    ) {
        body.remove("service_tier");
    }
    body.remove("model");

    let mut max_tokens = max_tokens(&mut body, model)?;
    // Anthropic wants max_tokens above the thinking budget; a default below it is raised.
    if let (Some(budget), false) = (effort_budget, max_given) {
        if max_tokens <= budget {
            max_tokens = budget + 4096;
        }
    }
    let stop = body.remove("stop");
    let user = body.remove("user");
    let tools = body.remove("tools");
    let tool_choice = body.remove("tool_choice");
    let parallel = body.remove("parallel_tool_calls");
    let response_format = body.remove("response_format");

    let (system, turns) = translate_messages(&messages)?;

    let mut out = Map::new();
    out.put("model", Value::String(model.to_string()));
    out.put("messages", Value::Array(turns));
    if !system.is_empty() {
        out.put("system", Value::Array(system));
    } else if let Some(native) = body.remove("system") {
        out.put("system", native);
    }
    body.remove("system");
    out.put("max_tokens", Value::from(max_tokens));

    if let Some(stops) = stop_sequences(stop)? {
        out.put("stop_sequences", stops);
    }
    if let Some(Value::String(id)) = user {
        if is_valid_user_id(&id) {
            out.put("metadata", crate::obj! { "user_id": id });
        }
    }

    let mut anthropic_tools = match tools {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list.iter().map(map_tool).collect::<Result<_, _>>()?,
        Some(_) => return Err(bad("`tools` must be an array")),
    };
    let mut choice = match tool_choice {
        None | Some(Value::Null) => None,
        Some(v) => Some(map_tool_choice(&v)?),
    };
    if let Some(Value::Bool(p)) = parallel {
        if !anthropic_tools.is_empty() {
            match &mut choice {
                Some(Value::Object(c)) if c.get("type").and_then(Value::as_str) == Some("none") => {
                }
                Some(Value::Object(c)) => {
                    c.put("disable_parallel_tool_use", Value::Bool(!p));
                }
                _ => choice = Some(crate::obj! { "type": "auto", "disable_parallel_tool_use": !p }),
            }
        }
    }
    if let Some(schema) = response_format.as_ref().and_then(json_schema_of) {
        anthropic_tools.push(crate::obj! { "name": JSON_TOOL_NAME, "input_schema": schema });
        // Forcing a tool is refused while extended thinking is on.
        if !thinking_enabled(&body) {
            choice = Some(crate::obj! { "type": "tool", "name": JSON_TOOL_NAME });
        }
    }
    if anthropic_tools.is_empty() && has_tool_blocks(&messages) {
        // Anthropic refuses tool_use / tool_result blocks unless `tools` is set.
        anthropic_tools.push(crate::obj! {
            "name": "dummy_tool",
            "description": "This is a dummy tool call",
            "input_schema": crate::obj!{ "type": "object", "properties": crate::obj!{} },
        });
    }
    if !anthropic_tools.is_empty() {
        out.put("tools", Value::Array(anthropic_tools));
    }
    if let Some(c) = choice {
        out.put("tool_choice", c);
    }
    // What is left is either an Anthropic-native parameter (`top_k`, `thinking`, ...) or a
    // common one with the same meaning (`temperature`, `top_p`): passed through.
    for (k, v) in body {
        out.entry(k).or_insert(v);
    }
    Ok(out)
}

/// The thinking budget of a `reasoning_effort`: 1024 (minimal, low), 2048 (medium), 4096
/// (high) tokens, as for Claude on Bedrock; none for `"none"` or no effort.
fn thinking_budget(effort: Option<&Value>) -> Result<Option<u64>, LlmError> {
    match effort {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_str() {
            Some("none") => Ok(None),
            Some("minimal" | "low") => Ok(Some(1024)),
            Some("medium") => Ok(Some(2048)),
            Some("high") => Ok(Some(4096)),
            _ => Err(bad(format!(
                "reasoning_effort must be one of none, minimal, low, medium, high (got {v})"
            ))),
        },
    }
}

fn check_n(n: Option<&Value>) -> Result<(), LlmError> {
    match n {
        None | Some(Value::Null) => Ok(()),
        Some(v) => match v.as_f64() {
            Some(x) if x <= 1.0 => Ok(()),
            _ => Err(bad(format!(
                "anthropic does not support n={v}: it returns one choice per request"
            ))),
        },
    }
}

/// `max_completion_tokens`, else `max_tokens`, else the model's output limit from the price
/// data, else 4096 (LiteLLM's `AnthropicConfig.get_max_tokens_for_model`).
fn max_tokens(body: &mut Map<String, Value>, model: &str) -> Result<u64, LlmError> {
    let completion = body.remove("max_completion_tokens");
    let legacy = body.remove("max_tokens");
    let given = [completion, legacy]
        .into_iter()
        .flatten()
        .find(|v| !v.is_null());
    match given {
        Some(v) => match (v.as_u64(), v.as_f64()) {
            (Some(n), _) => Ok(n),
            (None, Some(x)) if x.is_finite() && x >= 0.0 => Ok((x.round() as u64).max(1)),
            _ => Err(bad(format!(
                "`max_tokens` must be a positive integer, got {v}"
            ))),
        },
        None => Ok(default_max_tokens(model)),
    }
}

/// The default `max_tokens` for `model`: its output limit in the bundled price data, else 4096.
pub fn default_max_tokens(model: &str) -> u64 {
    CostMap::bundled()
        .lookup("anthropic", model)
        .and_then(|c| c.max_output_tokens.or(c.max_tokens))
        .unwrap_or(DEFAULT_MAX_TOKENS)
}

/// `stop` -> `stop_sequences`; whitespace-only sequences (which Anthropic refuses) are dropped.
fn stop_sequences(stop: Option<Value>) -> Result<Option<Value>, LlmError> {
    let list: Vec<String> = match stop {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => vec![s],
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                other => Err(bad(format!("`stop` entries must be strings, got {other}"))),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(bad(format!(
                "`stop` must be a string or an array of strings, got {other}"
            )))
        }
    };
    let kept: Vec<Value> = list
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .map(Value::String)
        .collect();
    Ok((!kept.is_empty()).then_some(Value::Array(kept)))
}

/// Anthropic refuses e-mail addresses and phone numbers as `metadata.user_id`; LiteLLM then
/// leaves the field out.
fn is_valid_user_id(id: &str) -> bool {
    !(looks_like_email(id) || looks_like_phone(id))
}

fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._%+-".contains(c));
    let Some((host, tld)) = domain.rsplit_once('.') else {
        return false;
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-".contains(c));
    let tld_ok = tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic());
    local_ok && host_ok && tld_ok
}

fn looks_like_phone(s: &str) -> bool {
    let rest = s.strip_prefix('+').unwrap_or(s);
    rest.chars().count() >= 7
        && rest
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_whitespace() || "()-".contains(c))
}

/// An OpenAI function tool -> `{name, description?, input_schema}`. Tools already in
/// Anthropic's shape (`input_schema`) and Anthropic server tools (`web_search_...`, `bash_...`)
/// pass through unchanged.
fn map_tool(tool: &Value) -> Result<Value, LlmError> {
    let Some(obj) = tool.as_object() else {
        return Err(bad(format!("each tool must be an object, got {tool}")));
    };
    let is_function = obj.get("type").and_then(Value::as_str) == Some("function")
        || (obj.get("type").is_none() && obj.contains_key("function"));
    if obj.contains_key("input_schema") || !is_function {
        return Ok(tool.clone());
    }
    let function = obj
        .get("function")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("a function tool needs a `function` object"))?;
    let name = function
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("a function tool needs `function.name`"))?;
    let mut out = Map::new();
    out.put("name", Value::String(name.to_string()));
    if let Some(d) = function.get("description").filter(|d| !d.is_null()) {
        out.put("description", d.clone());
    }
    let schema = match function.get("parameters") {
        Some(p) if p.is_object() => p.clone(),
        _ => crate::obj! { "type": "object", "properties": crate::obj!{} },
    };
    out.put("input_schema", schema);
    if let Some(cc) = obj
        .get("cache_control")
        .or_else(|| function.get("cache_control"))
        .filter(|c| c.is_object())
    {
        out.put("cache_control", cc.clone());
    }
    Ok(Value::Object(out))
}

/// OpenAI `tool_choice` -> Anthropic's: auto -> auto, required -> any, none -> none, a named
/// function -> `{type: "tool", name}`.
fn map_tool_choice(choice: &Value) -> Result<Value, LlmError> {
    let simple = |t: &str| -> Option<Value> {
        match t {
            "auto" => Some(crate::obj! { "type": "auto" }),
            "required" | "any" => Some(crate::obj! { "type": "any" }),
            "none" => Some(crate::obj! { "type": "none" }),
            _ => None,
        }
    };
    match choice {
        Value::String(s) => simple(s).ok_or_else(|| bad(format!("unknown `tool_choice` {s:?}"))),
        Value::Object(obj) => {
            if let Some(name) = choice.pointer("/function/name").and_then(Value::as_str) {
                return Ok(crate::obj! { "type": "tool", "name": name });
            }
            match obj.get("type").and_then(Value::as_str) {
                Some("tool") if obj.get("name").is_some_and(Value::is_string) => Ok(choice.clone()),
                Some(t) => simple(t).ok_or_else(|| bad(format!("unknown `tool_choice` {choice}"))),
                None => Err(bad(format!("unknown `tool_choice` {choice}"))),
            }
        }
        other => Err(bad(format!("unknown `tool_choice` {other}"))),
    }
}

/// The JSON schema of a `json_schema` response format (or LiteLLM's `response_schema`).
/// `text` and schema-less `json_object` formats have no Anthropic equivalent and are dropped.
fn json_schema_of(format: &Value) -> Option<Value> {
    format
        .get("response_schema")
        .or_else(|| format.pointer("/json_schema/schema"))
        .filter(|s| s.is_object())
        .cloned()
}

fn thinking_enabled(body: &Map<String, Value>) -> bool {
    body.get("thinking")
        .and_then(|t| t.get("type"))
        .and_then(Value::as_str)
        .is_some_and(|t| t != "disabled")
}

fn has_tool_blocks(messages: &[Value]) -> bool {
    messages.iter().any(|m| {
        m.get("role").and_then(Value::as_str) == Some("tool")
            || m.get("tool_calls")
                .and_then(Value::as_array)
                .is_some_and(|c| !c.is_empty())
    })
}

/// OpenAI messages -> (Anthropic `system` blocks, alternating user/assistant turns).
/// System and developer messages (wherever they are) become `system`; tool results become
/// user `tool_result` blocks; consecutive turns of one role are merged into one.
fn translate_messages(messages: &[Value]) -> Result<(Vec<Value>, Vec<Value>), LlmError> {
    let mut system = Vec::new();
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for (i, msg) in messages.iter().enumerate() {
        let obj = msg
            .as_object()
            .ok_or_else(|| bad(format!("messages[{i}] must be an object")))?;
        let role = obj.get("role").and_then(Value::as_str).unwrap_or_default();
        let (turn_role, blocks) = match role {
            "system" | "developer" => {
                system.extend(system_blocks(obj, i)?);
                continue;
            }
            "user" => ("user", user_blocks(obj, i)?),
            "tool" => ("user", vec![tool_result(obj, i)?]),
            "assistant" => ("assistant", assistant_blocks(obj, i)?),
            "function" => {
                return Err(bad(format!(
                    "messages[{i}]: legacy `function` messages are not supported for anthropic; use tools and `tool` messages"
                )))
            }
            other => {
                return Err(bad(format!(
                    "messages[{i}].role {other:?} is not one of system, developer, user, assistant, tool"
                )))
            }
        };
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((r, existing)) if *r == turn_role => existing.extend(blocks),
            _ => turns.push((turn_role, blocks)),
        }
    }
    if turns.is_empty() {
        return Err(bad("anthropic requires at least one non-system message"));
    }
    // Anthropic refuses a final assistant turn that ends in whitespace.
    if let Some(("assistant", blocks)) = turns.last_mut() {
        for block in blocks.iter_mut() {
            if block.get("type").and_then(Value::as_str) == Some("text") {
                if let Some(Value::String(text)) = block.get_mut("text") {
                    let trimmed = text.trim_end().len();
                    text.truncate(trimmed);
                }
            }
        }
    }
    let turns = turns
        .into_iter()
        .map(|(role, content)| crate::obj! { "role": role, "content": content })
        .collect();
    Ok((system, turns))
}

fn text_block(text: &str, cache_control: Option<&Value>) -> Value {
    let mut block = Map::new();
    block.put("type", Value::String("text".into()));
    block.put("text", Value::String(text.to_string()));
    if let Some(cc) = cache_control.filter(|c| c.is_object()) {
        block.put("cache_control", cc.clone());
    }
    Value::Object(block)
}

fn system_blocks(msg: &Map<String, Value>, i: usize) -> Result<Vec<Value>, LlmError> {
    match msg.get("content") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) if s.is_empty() => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![text_block(s, msg.get("cache_control"))]),
        Some(Value::Array(parts)) => {
            let mut out = Vec::new();
            for (j, part) in parts.iter().enumerate() {
                match (part.get("type").and_then(Value::as_str), part.get("text")) {
                    (Some("text"), Some(Value::String(t))) => {
                        if !t.is_empty() {
                            out.push(text_block(t, part.get("cache_control")));
                        }
                    }
                    _ => {
                        return Err(bad(format!(
                            "messages[{i}].content[{j}]: system content must be text parts"
                        )))
                    }
                }
            }
            Ok(out)
        }
        Some(other) => Err(bad(format!(
            "messages[{i}].content must be a string or an array, got {other}"
        ))),
    }
}

fn user_blocks(msg: &Map<String, Value>, i: usize) -> Result<Vec<Value>, LlmError> {
    match msg.get("content") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![text_block(s, msg.get("cache_control"))]),
        Some(Value::Array(parts)) => parts
            .iter()
            .enumerate()
            .map(|(j, part)| user_part(part, i, j))
            .collect(),
        Some(other) => Err(bad(format!(
            "messages[{i}].content must be a string or an array, got {other}"
        ))),
    }
}

fn user_part(part: &Value, i: usize, j: usize) -> Result<Value, LlmError> {
    let at = format!("messages[{i}].content[{j}]");
    let Some(obj) = part.as_object() else {
        return Err(bad(format!("{at} must be an object")));
    };
    let cache_control = obj.get("cache_control");
    let mut block = match obj.get("type").and_then(Value::as_str) {
        Some("text") => match obj.get("text") {
            Some(Value::String(t)) => return Ok(text_block(t, cache_control)),
            _ => return Err(bad(format!("{at}.text must be a string"))),
        },
        Some("image_url") => {
            let (url, format) = match obj.get("image_url") {
                Some(Value::String(u)) => (u.as_str(), None),
                Some(Value::Object(o)) => (
                    o.get("url").and_then(Value::as_str).unwrap_or_default(),
                    o.get("format").and_then(Value::as_str),
                ),
                _ => ("", None),
            };
            media_block(url, format, &at)?
        }
        Some("file") => {
            let file = obj.get("file").and_then(Value::as_object);
            match file
                .and_then(|f| f.get("file_data"))
                .and_then(Value::as_str)
            {
                Some(data) => {
                    let format = file.and_then(|f| f.get("format")).and_then(Value::as_str);
                    let (media_type, data) = parse_data_url(data, &at)?;
                    let media_type = format.unwrap_or(media_type);
                    crate::obj! {
                        "type": "document",
                        "source": crate::obj!{ "type": "base64", "media_type": media_type, "data": data },
                    }
                }
                None => {
                    return Err(bad(format!(
                        "{at}: only `file.file_data` (a data: URL) is supported for anthropic"
                    )))
                }
            }
        }
        Some("input_audio") => {
            return Err(bad(format!("{at}: anthropic does not accept audio input")))
        }
        // Anthropic-native blocks (`image` with a source, `document`, ...) pass through.
        Some(_) => return Ok(part.clone()),
        None => return Err(bad(format!("{at} has no `type`"))),
    };
    if let (Some(cc), Value::Object(b)) = (cache_control.filter(|c| c.is_object()), &mut block) {
        b.put("cache_control", cc.clone());
    }
    Ok(block)
}

/// An `image_url` (http(s) or data: URL) -> an `image` block, or a `document` block for PDFs.
fn media_block(url: &str, format: Option<&str>, at: &str) -> Result<Value, LlmError> {
    if url.starts_with("data:") {
        let (media_type, data) = parse_data_url(url, at)?;
        let media_type = format.unwrap_or(media_type);
        let kind = if media_type == "application/pdf" {
            "document"
        } else {
            "image"
        };
        return Ok(crate::obj! {
            "type": kind,
            "source": crate::obj!{ "type": "base64", "media_type": media_type, "data": data },
        });
    }
    if url.starts_with("https://") || url.starts_with("http://") {
        let kind = if format == Some("application/pdf") {
            "document"
        } else {
            "image"
        };
        return Ok(
            crate::obj! { "type": kind, "source": crate::obj!{ "type": "url", "url": url } },
        );
    }
    Err(bad(format!(
        "{at}: image_url.url must be an http(s) URL or a base64 data: URL"
    )))
}

/// `data:<media type>;base64,<data>` -> (media type, data).
fn parse_data_url<'a>(url: &'a str, at: &str) -> Result<(&'a str, &'a str), LlmError> {
    url.strip_prefix("data:")
        .and_then(|rest| rest.split_once(','))
        .and_then(|(meta, data)| {
            meta.strip_suffix(";base64")
                .filter(|m| !m.is_empty())
                .map(|m| (m, data))
        })
        .ok_or_else(|| {
            bad(format!(
                "{at}: a data: URL must look like data:<media type>;base64,<data>"
            ))
        })
}

fn tool_result(msg: &Map<String, Value>, i: usize) -> Result<Value, LlmError> {
    let id = msg
        .get("tool_call_id")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            bad(format!(
                "messages[{i}]: a tool message needs `tool_call_id`"
            ))
        })?;
    let mut block = Map::new();
    block.put("type", Value::String("tool_result".into()));
    block.put("tool_use_id", Value::String(id.to_string()));
    match msg.get("content") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => {
            block.put("content", Value::String(s.clone()));
        }
        Some(Value::Array(parts)) => {
            let mut content = Vec::new();
            for (j, part) in parts.iter().enumerate() {
                let at = format!("messages[{i}].content[{j}]");
                match part.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        let t = part.get("text").and_then(Value::as_str).unwrap_or_default();
                        content.push(text_block(t, None));
                    }
                    Some("image_url") => {
                        let url = part
                            .pointer("/image_url/url")
                            .or_else(|| part.get("image_url"))
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        let format = part.pointer("/image_url/format").and_then(Value::as_str);
                        content.push(media_block(url, format, &at)?);
                    }
                    _ => content.push(part.clone()),
                }
            }
            block.put("content", Value::Array(content));
        }
        Some(other) => {
            return Err(bad(format!(
                "messages[{i}].content must be a string or an array, got {other}"
            )))
        }
    }
    if let Some(cc) = msg.get("cache_control").filter(|c| c.is_object()) {
        block.put("cache_control", cc.clone());
    }
    Ok(Value::Object(block))
}

fn assistant_blocks(msg: &Map<String, Value>, i: usize) -> Result<Vec<Value>, LlmError> {
    let mut out = Vec::new();
    // Thinking blocks of an earlier turn must come first, or Anthropic refuses the turn.
    if let Some(Value::Array(thinking)) = msg.get("thinking_blocks") {
        out.extend(thinking.iter().cloned());
    }
    match msg.get("content") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => {
            if !s.is_empty() {
                out.push(text_block(s, msg.get("cache_control")));
            }
        }
        Some(Value::Array(parts)) => {
            for part in parts {
                match part.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        let t = part.get("text").and_then(Value::as_str).unwrap_or_default();
                        if !t.is_empty() {
                            out.push(text_block(t, part.get("cache_control")));
                        }
                    }
                    Some("thinking") => {
                        let t = part
                            .get("thinking")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        if !t.is_empty() {
                            out.push(part.clone());
                        }
                    }
                    Some("refusal") => {}
                    _ => out.push(part.clone()),
                }
            }
        }
        Some(other) => {
            return Err(bad(format!(
                "messages[{i}].content must be a string, an array or null, got {other}"
            )))
        }
    }
    if msg.get("function_call").is_some_and(|f| !f.is_null()) {
        return Err(bad(format!(
            "messages[{i}]: legacy `function_call` is not supported for anthropic; use `tool_calls`"
        )));
    }
    if let Some(Value::Array(calls)) = msg.get("tool_calls") {
        for (j, call) in calls.iter().enumerate() {
            out.push(tool_use(call, i, j)?);
        }
    }
    Ok(out)
}

fn tool_use(call: &Value, i: usize, j: usize) -> Result<Value, LlmError> {
    let at = format!("messages[{i}].tool_calls[{j}]");
    let id = call
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("{at} needs an `id`")))?;
    let name = call
        .pointer("/function/name")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("{at} needs `function.name`")))?;
    let input = match call.pointer("/function/arguments") {
        None | Some(Value::Null) => crate::obj! {},
        Some(Value::String(s)) if s.trim().is_empty() => crate::obj! {},
        Some(Value::String(s)) => serde_json::from_str::<Value>(s).map_err(|e| {
            bad(format!(
                "{at}.function.arguments is not valid JSON ({e}); anthropic needs the parsed object"
            ))
        })?,
        Some(obj @ Value::Object(_)) => obj.clone(),
        Some(other) => {
            return Err(bad(format!(
                "{at}.function.arguments must be a JSON string, got {other}"
            )))
        }
    };
    let mut block = Map::new();
    block.put("type", Value::String("tool_use".into()));
    block.put("id", Value::String(id.to_string()));
    block.put("name", Value::String(name.to_string()));
    block.put("input", input);
    if let Some(cc) = call.get("cache_control").filter(|c| c.is_object()) {
        block.put("cache_control", cc.clone());
    }
    Ok(Value::Object(block))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use serde_json::json;

    #[test]
    fn user_ids_that_look_like_emails_or_phone_numbers_are_refused() {
        assert!(is_valid_user_id("user-123"));
        assert!(is_valid_user_id("a1b2c3d4"));
        assert!(!is_valid_user_id("jane.doe@example.com"));
        assert!(!is_valid_user_id("+1 (555) 123-4567"));
        assert!(!is_valid_user_id("5551234567"));
        assert!(is_valid_user_id("12345"));
    }

    #[test]
    fn data_urls_split_into_media_type_and_data() {
        assert_eq!(
            parse_data_url("data:image/png;base64,iVBORw0KGgo=", "x").unwrap(),
            ("image/png", "iVBORw0KGgo=")
        );
        assert!(parse_data_url("data:image/png,raw", "x").is_err());
        assert!(parse_data_url("data:;base64,abc", "x").is_err());
    }

    #[test]
    fn reasoning_effort_enables_thinking_unless_thinking_is_given() {
        let hi = || json!([{"role": "user", "content": "hi"}]);
        let body = |extra: Value| {
            let mut b = json!({"messages": hi()});
            if let (Some(b), Value::Object(e)) = (b.as_object_mut(), extra) {
                b.extend(e);
            }
            b.as_object().cloned().unwrap_or_default()
        };
        let out = translate(
            "claude-unknown-model",
            body(json!({"reasoning_effort": "high"})),
        )
        .unwrap_or_default();
        assert_eq!(
            out["thinking"],
            json!({"type": "enabled", "budget_tokens": 4096})
        );
        assert_eq!(
            out["max_tokens"], 8192,
            "the 4096 default is raised above the budget"
        );
        assert!(!out.contains_key("reasoning_effort"));
        let out = translate(
            "claude-haiku-4-5",
            body(json!({"reasoning_effort": "low", "max_tokens": 3000})),
        )
        .unwrap_or_default();
        assert_eq!(out["thinking"]["budget_tokens"], 1024);
        assert_eq!(out["max_tokens"], 3000);
        let own = json!({"type": "enabled", "budget_tokens": 5000});
        let out = translate(
            "claude-haiku-4-5",
            body(json!({"reasoning_effort": "medium", "thinking": own.clone()})),
        )
        .unwrap_or_default();
        assert_eq!(out["thinking"], own);
        let out = translate(
            "claude-haiku-4-5",
            body(json!({"reasoning_effort": "none"})),
        )
        .unwrap_or_default();
        assert!(!out.contains_key("thinking"));
        assert!(translate("claude-haiku-4-5", body(json!({"reasoning_effort": "max"}))).is_err());
    }

    #[test]
    fn default_max_tokens_is_the_models_output_limit_else_4096() {
        assert_eq!(default_max_tokens("claude-haiku-4-5"), 64000);
        assert_eq!(
            default_max_tokens("claude-unknown-model"),
            DEFAULT_MAX_TOKENS
        );
    }

    #[test]
    fn whitespace_only_stop_sequences_are_dropped() {
        assert_eq!(
            stop_sequences(Some(json!(["\n", "END"]))).unwrap(),
            Some(json!(["END"]))
        );
        assert_eq!(stop_sequences(Some(json!(" "))).unwrap(), None);
        assert_eq!(
            stop_sequences(Some(json!("STOP"))).unwrap(),
            Some(json!(["STOP"]))
        );
    }
}
