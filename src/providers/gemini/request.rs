//! OpenAI chat request → Gemini `GenerateContentRequest` (see the module docs of `gemini`).

use super::schema;
use crate::error::LlmError;
use crate::types::object::Put;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Separates a generated tool-call id from the Gemini thought signature it carries (LiteLLM's
/// `THOUGHT_SIGNATURE_SEPARATOR`), so a client echoing the id back restores the signature.
pub const THOUGHT_SIGNATURE_SEPARATOR: &str = "__thought__";

/// OpenAI parameters Gemini has no equivalent for: dropped, as LiteLLM's `drop_params` does.
const DROPPED: &[&str] = &[
    "logit_bias",
    "user",
    "parallel_tool_calls",
    "service_tier",
    "store",
    "prediction",
    "audio",
    "verbosity",
    "stream_options",
    "stream",
    "dimensions",
    "encoding_format",
    "safety_identifier",
    "prompt_cache_key",
    "model",
    "messages",
];

/// Gemini `generationConfig` fields a caller may pass directly (snake_case or camelCase).
const GENERATION_FIELDS: &[(&str, &str)] = &[
    ("top_k", "topK"),
    ("response_mime_type", "responseMimeType"),
    ("candidate_count", "candidateCount"),
    ("max_output_tokens", "maxOutputTokens"),
    ("stop_sequences", "stopSequences"),
    ("response_modalities", "responseModalities"),
    ("thinking_config", "thinkingConfig"),
    ("media_resolution", "mediaResolution"),
    ("speech_config", "speechConfig"),
];

/// Gemini-native tools accepted in `tools` next to OpenAI function tools.
const NATIVE_TOOLS: &[(&str, &str)] = &[
    ("google_search", "googleSearch"),
    ("google_search_retrieval", "googleSearchRetrieval"),
    ("code_execution", "codeExecution"),
    ("url_context", "urlContext"),
    ("enterprise_web_search", "enterpriseWebSearch"),
    ("google_maps", "googleMaps"),
];

fn bad(message: impl Into<String>) -> LlmError {
    LlmError::bad_request(message)
}

fn non_null(v: Option<Value>) -> Option<Value> {
    v.filter(|v| !v.is_null())
}

/// Builds the `generateContent` body for `model` from an OpenAI chat request.
pub fn chat_body(model: &str, mut body: Map<String, Value>) -> Result<Value, LlmError> {
    let messages = match body.get("messages") {
        Some(Value::Array(m)) => m.clone(),
        _ => return Err(bad("'messages' must be an array of chat messages")),
    };
    let (system, contents) = translate_messages(&messages)?;
    let mut out = Map::new();
    out.put("contents", Value::Array(contents));
    if !system.is_empty() {
        out.put("systemInstruction", crate::obj! { "parts": system });
    }

    let mut config = Map::new();
    let mut take = |key: &str| non_null(body.remove(key));
    if let Some(v) = take("temperature") {
        config.put("temperature", v);
    }
    if let Some(v) = take("top_p") {
        config.put("topP", v);
    }
    let max_tokens = take("max_tokens");
    if let Some(v) = take("max_completion_tokens").or(max_tokens) {
        config.put("maxOutputTokens", v);
    }
    match take("stop") {
        Some(Value::String(s)) => {
            config.put("stopSequences", serde_json::Value::from(vec![s]));
        }
        Some(v @ Value::Array(_)) => {
            config.put("stopSequences", v);
        }
        Some(_) => return Err(bad("'stop' must be a string or an array of strings")),
        None => {}
    }
    if let Some(v) = take("n") {
        config.put("candidateCount", v);
    }
    for (from, to) in [
        ("seed", "seed"),
        ("presence_penalty", "presencePenalty"),
        ("frequency_penalty", "frequencyPenalty"),
        ("logprobs", "responseLogprobs"),
        ("top_logprobs", "logprobs"),
    ] {
        if let Some(v) = take(from) {
            config.insert(to.into(), v);
        }
    }
    if let Some(v) = take("modalities") {
        let Value::Array(list) = v else {
            return Err(bad("'modalities' must be an array"));
        };
        let mapped = list
            .iter()
            .map(|m| match m.as_str() {
                Some("text") => "TEXT",
                Some("image") => "IMAGE",
                Some("audio") => "AUDIO",
                _ => "MODALITY_UNSPECIFIED",
            })
            .map(|s| Value::String(s.into()))
            .collect();
        config.put("responseModalities", Value::Array(mapped));
    }
    if let Some(format) = take("response_format") {
        response_format(&format, &mut config)?;
    }
    if let Some(Value::String(effort)) = take("reasoning_effort") {
        config.insert(
            "thinkingConfig".into(),
            thinking_for_effort(model, &effort)?,
        );
    }
    if let Some(thinking) = take("thinking") {
        config.put("thinkingConfig", thinking_from_anthropic(&thinking));
    }
    for (snake, camel) in GENERATION_FIELDS {
        for key in [*snake, *camel] {
            if let Some(v) = take(key) {
                config.insert((*camel).into(), v);
            }
        }
    }
    for key in ["response_schema", "responseSchema"] {
        if let Some(v) = take(key) {
            config.put("responseSchema", schema::convert(&v, true)?);
            config
                .entry("responseMimeType")
                .or_insert_with(|| Value::String("application/json".into()));
        }
    }

    let mut tool_entry = Map::new();
    for key in ["tools", "functions"] {
        if let Some(v) = take(key) {
            add_tools(&v, &mut tool_entry)?;
        }
    }
    if let Some(Value::Object(_)) = take("web_search_options") {
        tool_entry
            .entry("googleSearch")
            .or_insert_with(|| crate::obj! {});
    }
    if !tool_entry.is_empty() {
        out.put("tools", serde_json::Value::from(vec![tool_entry]));
    }
    let choice = take("tool_choice").or_else(|| take("function_call"));
    if let Some(choice) = choice {
        out.put("toolConfig", tool_config(&choice)?);
    }
    for (from, to) in [
        ("safety_settings", "safetySettings"),
        ("cached_content", "cachedContent"),
    ] {
        if let Some(v) = take(from) {
            out.insert(to.into(), v);
        }
    }
    if !config.is_empty() {
        out.put("generationConfig", Value::Object(config));
    }

    // Whatever is left and not an OpenAI parameter Gemini lacks came from extra_body (or is
    // Gemini-native): merged into the top level, objects shallowly (LiteLLM's extra_body merge).
    // A nested `extra_body` object is merged the same way; null values count as absent.
    let mut extra: Vec<(String, Value)> = Vec::new();
    for (key, value) in body {
        match value {
            Value::Object(nested) if key == "extra_body" => extra.extend(nested),
            Value::Null => {}
            _ if DROPPED.contains(&key.as_str()) => {}
            value => extra.push((key, value)),
        }
    }
    for (key, value) in extra {
        match (out.get_mut(&key), value) {
            (_, Value::Null) => {}
            (Some(Value::Object(existing)), Value::Object(fields)) => existing.extend(fields),
            (_, value) => {
                out.insert(key, value);
            }
        }
    }
    Ok(Value::Object(out))
}

fn response_format(format: &Value, config: &mut Map<String, Value>) -> Result<(), LlmError> {
    let kind = format.get("type").and_then(Value::as_str);
    let mime = |c: &mut Map<String, Value>, m: &str| {
        c.put("responseMimeType", Value::String(m.into()));
    };
    match kind {
        Some("json_object") => mime(config, "application/json"),
        Some("text") => mime(config, "text/plain"),
        Some("json_schema") => {
            mime(config, "application/json");
            if let Some(s) = format.pointer("/json_schema/schema") {
                config.put("responseSchema", schema::convert(s, true)?);
            }
        }
        _ => {}
    }
    if let Some(s) = format.get("response_schema") {
        mime(config, "application/json");
        config.put("responseSchema", schema::convert(s, true)?);
    }
    if kind.is_none() && format.get("response_schema").is_none() {
        return Err(bad(
            "'response_format' must be {\"type\": \"text\" | \"json_object\" | \"json_schema\"}",
        ));
    }
    Ok(())
}

fn is_gemini_3_or_newer(model: &str) -> bool {
    model.contains("gemini-3")
}

/// `reasoning_effort` → `thinkingConfig`, as LiteLLM maps it.
fn thinking_for_effort(model: &str, effort: &str) -> Result<Value, LlmError> {
    let invalid = || {
        bad(format!(
            "invalid reasoning_effort {effort:?} (expected none, minimal, low, medium or high)"
        ))
    };
    if is_gemini_3_or_newer(model) {
        let (level, thoughts) = match effort {
            "minimal" | "low" => ("low", true),
            "medium" | "high" => ("high", true),
            "none" | "disable" => ("low", false),
            _ => return Err(invalid()),
        };
        return Ok(crate::obj! {"thinkingLevel": level, "includeThoughts": thoughts});
    }
    let budget = match effort {
        "minimal" if model.contains("gemini-2.5-flash-lite") => 512,
        "minimal" if model.contains("gemini-2.5-flash") => 1,
        "minimal" => 128,
        "low" => 1024,
        "medium" => 2048,
        "high" => 4096,
        "none" | "disable" => {
            return Ok(crate::obj! {"thinkingBudget": 0, "includeThoughts": false})
        }
        _ => return Err(invalid()),
    };
    Ok(crate::obj! {"thinkingBudget": budget, "includeThoughts": true})
}

/// Anthropic-style `thinking: {type, budget_tokens}` → `thinkingConfig`.
fn thinking_from_anthropic(thinking: &Value) -> Value {
    let enabled = thinking.get("type").and_then(Value::as_str) == Some("enabled");
    let budget = thinking.get("budget_tokens").and_then(Value::as_i64);
    let mut config = Map::new();
    if enabled && budget != Some(0) {
        config.put("includeThoughts", Value::Bool(true));
    }
    if let Some(b) = budget {
        config.put("thinkingBudget", b.into());
    }
    Value::Object(config)
}

fn add_tools(tools: &Value, entry: &mut Map<String, Value>) -> Result<(), LlmError> {
    let Value::Array(list) = tools else {
        return Err(bad("'tools' must be an array"));
    };
    for (i, tool) in list.iter().enumerate() {
        let Value::Object(t) = tool else {
            return Err(bad(format!("tools[{i}] must be an object")));
        };
        let native = NATIVE_TOOLS
            .iter()
            .find_map(|(snake, camel)| t.get(*snake).or_else(|| t.get(*camel)).map(|v| (camel, v)));
        if let Some((camel, config)) = native {
            entry.insert((*camel).into(), config.clone());
            continue;
        }
        // {"type": "function", "function": {...}} or a legacy `functions` entry.
        let function = match t.get("function") {
            Some(Value::Object(f)) => f,
            _ if t.contains_key("name") => t,
            _ => {
                return Err(bad(format!(
                    "tools[{i}] is not a function tool (Gemini takes function tools and its own googleSearch, codeExecution, urlContext tools)"
                )))
            }
        };
        let name = function
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(format!("tools[{i}].function.name must be a string")))?;
        let mut decl = Map::new();
        decl.put("name", Value::String(name.into()));
        if let Some(Value::String(d)) = function.get("description") {
            decl.put("description", Value::String(d.clone()));
        }
        if let Some(params @ Value::Object(_)) = function.get("parameters") {
            let converted = schema::convert(params, false)?;
            if !schema::is_empty_object(&converted) {
                decl.put("parameters", converted);
            }
        }
        match entry
            .entry("functionDeclarations")
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            Value::Array(decls) => decls.push(Value::Object(decl)),
            other => *other = Value::Array(vec![Value::Object(decl)]),
        }
    }
    Ok(())
}

fn tool_config(choice: &Value) -> Result<Value, LlmError> {
    let config = match choice {
        Value::String(s) => match s.as_str() {
            "auto" => crate::obj!{"mode": "AUTO"},
            "none" => crate::obj!{"mode": "NONE"},
            "required" | "any" => crate::obj!{"mode": "ANY"},
            other => {
                return Err(bad(format!(
                    "Gemini doesn't support tool_choice={other:?} (supported: \"auto\", \"none\", \"required\" or {{\"type\": \"function\", \"function\": {{\"name\": …}}}})"
                )))
            }
        },
        Value::Object(o) => {
            let name = o
                .get("function")
                .and_then(|f| f.get("name"))
                .or_else(|| o.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(|| bad("tool_choice must name a function: {\"type\": \"function\", \"function\": {\"name\": …}}"))?;
            crate::obj!{"mode": "ANY", "allowedFunctionNames": vec![name]}
        }
        _ => return Err(bad("tool_choice must be a string or an object")),
    };
    Ok(crate::obj! { "functionCallingConfig": config })
}

/// Which turn a content entry is: tool results get a turn of their own.
#[derive(PartialEq, Clone, Copy)]
enum Turn {
    User,
    Model,
    ToolResults,
}

struct Contents(Vec<(Turn, Vec<Value>)>);

impl Contents {
    fn push(&mut self, turn: Turn, parts: Vec<Value>) {
        if parts.is_empty() {
            return;
        }
        match self.0.last_mut() {
            Some((last, existing)) if *last == turn => existing.extend(parts),
            _ => self.0.push((turn, parts)),
        }
    }

    fn into_values(self) -> Vec<Value> {
        self.0
            .into_iter()
            .map(|(turn, parts)| {
                let role = if turn == Turn::Model { "model" } else { "user" };
                crate::obj! {"role": role, "parts": parts}
            })
            .collect()
    }
}

/// Splits OpenAI messages into Gemini system parts and contents.
fn translate_messages(messages: &[Value]) -> Result<(Vec<Value>, Vec<Value>), LlmError> {
    let mut system = Vec::new();
    let mut contents = Contents(Vec::new());
    // Tool-call id → function name, from every assistant message seen so far.
    let mut call_names: HashMap<String, String> = HashMap::new();
    for (i, message) in messages.iter().enumerate() {
        let role = message
            .get("role")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(format!("messages[{i}].role must be a string")))?;
        let content = message.get("content").unwrap_or(&Value::Null);
        match role {
            "system" | "developer" => {
                let text = joined_text(content, i)?;
                if !text.is_empty() {
                    system.push(crate::obj!{ "text": text });
                }
            }
            "user" => contents.push(Turn::User, user_parts(content, i)?),
            "assistant" => {
                let mut parts = Vec::new();
                if !content.is_null() {
                    let text = joined_text(content, i)?;
                    if !text.is_empty() {
                        parts.push(crate::obj!{ "text": text });
                    }
                }
                if let Some(Value::Array(calls)) = message.get("tool_calls") {
                    for (j, call) in calls.iter().enumerate() {
                        let (part, id, name) = function_call_part(call, i, j)?;
                        if let Some(id) = id {
                            call_names.insert(id, name);
                        }
                        parts.push(part);
                    }
                } else if let Some(call @ Value::Object(_)) = message.get("function_call") {
                    let wrapped = crate::obj!{ "function": call.clone() };
                    parts.push(function_call_part(&wrapped, i, 0)?.0);
                }
                contents.push(Turn::Model, parts);
            }
            "tool" | "function" => {
                let id = message.get("tool_call_id").and_then(Value::as_str);
                let name = id
                    .and_then(|id| call_names.get(id).cloned())
                    .or_else(|| {
                        message
                            .get("name")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    })
                    .ok_or_else(|| {
                        bad(format!(
                            "messages[{i}] ({role}) answers tool call {:?}, which no earlier assistant message made (Gemini needs the function name)",
                            id.unwrap_or("")
                        ))
                    })?;
                let text = joined_text(content, i)?;
                let response = match serde_json::from_str::<Value>(text.trim()) {
                    Ok(obj @ Value::Object(_)) => obj,
                    _ => crate::obj!{ "content": text },
                };
                contents.push(
                    Turn::ToolResults,
                    vec![crate::obj!{"functionResponse": crate::obj!{"name": name, "response": response}}],
                );
            }
            other => {
                return Err(bad(format!(
                    "messages[{i}].role {other:?} is not supported (system, developer, user, assistant, tool, function)"
                )))
            }
        }
    }
    let mut contents = contents.into_values();
    if contents.is_empty() {
        // Gemini rejects empty contents; LiteLLM sends a blank user turn.
        contents.push(crate::obj! {"role": "user", "parts": vec![crate::obj!{"text": " "}]});
    }
    Ok((system, contents))
}

/// The text of a message's content: a string, or its text parts concatenated.
fn joined_text(content: &Value, i: usize) -> Result<String, LlmError> {
    match content {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s.clone()),
        Value::Array(parts) => Ok(parts
            .iter()
            .filter(|p| p.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect()),
        _ => Err(bad(format!(
            "messages[{i}].content must be a string or an array of parts"
        ))),
    }
}

fn function_call_part(
    call: &Value,
    i: usize,
    j: usize,
) -> Result<(Value, Option<String>, String), LlmError> {
    let function = call
        .get("function")
        .ok_or_else(|| bad(format!("messages[{i}].tool_calls[{j}] has no function")))?;
    let name = function
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            bad(format!(
                "messages[{i}].tool_calls[{j}].function.name is required"
            ))
        })?;
    let args = match function.get("arguments") {
        None | Some(Value::Null) => crate::obj! {},
        Some(Value::String(s)) if s.trim().is_empty() => crate::obj! {},
        Some(Value::String(s)) => serde_json::from_str::<Value>(s).map_err(|e| {
            bad(format!(
                "messages[{i}].tool_calls[{j}].function.arguments is not valid JSON ({e})"
            ))
        })?,
        Some(other) => other.clone(),
    };
    let id = call.get("id").and_then(Value::as_str).map(str::to_string);
    let mut part = Map::new();
    part.put("functionCall", crate::obj! {"name": name, "args": args});
    if let Some((_, signature)) = id
        .as_deref()
        .and_then(|id| id.split_once(THOUGHT_SIGNATURE_SEPARATOR))
    {
        if !signature.is_empty() {
            part.put("thoughtSignature", Value::String(signature.into()));
        }
    }
    Ok((Value::Object(part), id, name.to_string()))
}

/// The parts of a user message.
fn user_parts(content: &Value, i: usize) -> Result<Vec<Value>, LlmError> {
    match content {
        Value::Null => Ok(Vec::new()),
        Value::String(s) if s.is_empty() => Ok(Vec::new()),
        Value::String(s) => Ok(vec![crate::obj! { "text": s.as_str() }]),
        Value::Array(parts) => {
            let mut out = Vec::with_capacity(parts.len());
            for (j, part) in parts.iter().enumerate() {
                let kind = part.get("type").and_then(Value::as_str).unwrap_or("");
                match kind {
                    "text" => {
                        if let Some(t) = part.get("text").and_then(Value::as_str) {
                            if !t.is_empty() {
                                out.push(crate::obj!{ "text": t });
                            }
                        }
                    }
                    "image_url" => {
                        let (url, format) = match part.get("image_url") {
                            Some(Value::String(u)) => (u.as_str(), None),
                            Some(Value::Object(o)) => (
                                o.get("url").and_then(Value::as_str).unwrap_or(""),
                                o.get("format").and_then(Value::as_str),
                            ),
                            _ => ("", None),
                        };
                        out.push(media_part(url, format, i, j)?);
                    }
                    "input_audio" => {
                        let audio = part.get("input_audio");
                        let data = audio
                            .and_then(|a| a.get("data"))
                            .and_then(Value::as_str)
                            .ok_or_else(|| {
                                bad(format!("messages[{i}].content[{j}].input_audio.data is required"))
                            })?;
                        let format = audio
                            .and_then(|a| a.get("format"))
                            .and_then(Value::as_str)
                            .unwrap_or("wav");
                        let mime = if format.starts_with("audio/") {
                            format.to_string()
                        } else {
                            format!("audio/{format}")
                        };
                        out.push(crate::obj!{"inlineData": crate::obj!{"mimeType": mime, "data": data}});
                    }
                    "file" => {
                        let file = part.get("file");
                        let field = |k: &str| file.and_then(|f| f.get(k)).and_then(Value::as_str);
                        let source = field("file_data").or_else(|| field("file_id")).ok_or_else(
                            || bad(format!("messages[{i}].content[{j}].file needs file_data or file_id")),
                        )?;
                        out.push(media_part(source, field("format"), i, j)?);
                    }
                    other => {
                        return Err(bad(format!(
                            "messages[{i}].content[{j}].type {other:?} is not supported by Gemini (text, image_url, input_audio, file)"
                        )))
                    }
                }
            }
            Ok(out)
        }
        _ => Err(bad(format!(
            "messages[{i}].content must be a string or an array of parts"
        ))),
    }
}

/// A data URL → `inlineData`; an http(s)/gs URL or Files API URI → `fileData`.
fn media_part(url: &str, format: Option<&str>, i: usize, j: usize) -> Result<Value, LlmError> {
    if let Some(rest) = url.strip_prefix("data:") {
        let (meta, data) = rest.split_once(',').ok_or_else(|| {
            bad(format!(
                "messages[{i}].content[{j}] has a malformed data URL"
            ))
        })?;
        let Some(mime) = meta.strip_suffix(";base64") else {
            return Err(bad(format!(
                "messages[{i}].content[{j}] data URL must be base64-encoded"
            )));
        };
        let mime = format
            .filter(|f| !f.is_empty())
            .or_else(|| mime.split(';').next())
            .filter(|m| !m.is_empty())
            .unwrap_or("application/octet-stream");
        return Ok(crate::obj! {"inlineData": crate::obj!{"mimeType": mime, "data": data}});
    }
    let is_uri = ["https://", "http://", "gs://"]
        .iter()
        .any(|p| url.starts_with(p));
    if !is_uri {
        return Err(bad(format!(
            "messages[{i}].content[{j}] must be a data URL or an http(s)/gs URL"
        )));
    }
    let mut file = Map::new();
    if let Some(mime) = format.filter(|f| !f.is_empty()).or_else(|| guess_mime(url)) {
        file.put("mimeType", Value::String(mime.into()));
    }
    file.put("fileUri", Value::String(url.into()));
    Ok(crate::obj! { "fileData": file })
}

/// The MIME type of a media URL from its extension (query and fragment ignored).
pub fn guess_mime(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let last = path.rsplit('/').next().unwrap_or(path);
    let ext = last.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "mp3" => "audio/mp3",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        "mov" => "video/mov",
        "mpeg" | "mpg" => "video/mpeg",
        "avi" => "video/avi",
        "wmv" => "video/wmv",
        "flv" => "video/flv",
        "webm" => "video/webm",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn guesses_mime_from_the_extension_only() {
        assert_eq!(
            guess_mime("https://x.test/a/b.JPG?sig=1"),
            Some("image/jpeg")
        );
        assert_eq!(guess_mime("gs://bucket/doc.pdf"), Some("application/pdf"));
        assert_eq!(guess_mime("https://x.test/image"), None);
    }

    #[test]
    fn consecutive_user_turns_merge_and_tool_results_get_their_own_turn() {
        let out = chat_body(
            "gemini-2.5-flash",
            body(json!({"messages": [
                {"role": "user", "content": "a"},
                {"role": "user", "content": "b"},
                {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "{\"ok\": true}"},
                {"role": "user", "content": "c"}
            ]})),
        )
        .unwrap();
        assert_eq!(
            out["contents"],
            json!([
                {"role": "user", "parts": [{"text": "a"}, {"text": "b"}]},
                {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}]},
                {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"ok": true}}}]},
                {"role": "user", "parts": [{"text": "c"}]}
            ])
        );
    }

    #[test]
    fn unknown_tool_call_id_is_a_bad_request() {
        let err = chat_body(
            "gemini-2.5-flash",
            body(json!({"messages": [{"role": "tool", "tool_call_id": "nope", "content": "x"}]})),
        )
        .unwrap_err();
        assert_eq!(err.kind, crate::error::ErrorKind::BadRequestError);
    }

    #[test]
    fn thought_signature_in_a_tool_call_id_is_restored() {
        let out = chat_body(
            "gemini-3-pro-preview",
            body(json!({"messages": [
                {"role": "assistant", "tool_calls": [{"id": "call_1__thought__SIG", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]},
                {"role": "tool", "tool_call_id": "call_1__thought__SIG", "content": "done"}
            ]})),
        )
        .unwrap();
        assert_eq!(
            out["contents"][0]["parts"][0],
            json!({"functionCall": {"name": "f", "args": {"a": 1}}, "thoughtSignature": "SIG"})
        );
        assert_eq!(
            out["contents"][1]["parts"][0]["functionResponse"],
            json!({"name": "f", "response": {"content": "done"}})
        );
    }

    #[test]
    fn reasoning_effort_maps_to_budgets_and_levels() {
        assert_eq!(
            thinking_for_effort("gemini-2.5-pro", "low").unwrap(),
            json!({"thinkingBudget": 1024, "includeThoughts": true})
        );
        assert_eq!(
            thinking_for_effort("gemini-3-pro-preview", "high").unwrap(),
            json!({"thinkingLevel": "high", "includeThoughts": true})
        );
        assert!(thinking_for_effort("gemini-2.5-pro", "extreme").is_err());
    }
}
