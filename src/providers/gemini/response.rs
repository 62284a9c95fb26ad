//! Gemini `GenerateContentResponse` and Google error bodies → OpenAI `chat.completion` or
//! `LlmError` (see the module docs of `gemini`).

use super::request::THOUGHT_SIGNATURE_SEPARATOR;
use crate::error::{ErrorKind, LlmError};
use crate::hash::sha256_hex;
use crate::ports::HttpResponse;
use crate::reliability::classify;
use crate::types::object::Put;
use serde_json::{Map, Value};

/// Finish reasons that mean the candidate was filtered (LiteLLM's flagged list).
const FLAGGED: &[&str] = &[
    "SAFETY",
    "RECITATION",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "IMAGE_SAFETY",
];

/// Parses a 2xx JSON body, or classifies a non-2xx reply.
pub fn json_body(response: &HttpResponse) -> Result<Value, LlmError> {
    if !(200..300).contains(&response.status) {
        return Err(error(response));
    }
    let value: Value = classify::json_body(&response.body)?;
    if value.get("error").is_some_and(Value::is_object) {
        // An error object in a 2xx reply (some gateways): classify by the code it carries.
        let status = value
            .pointer("/error/code")
            .and_then(Value::as_u64)
            .and_then(|c| u16::try_from(c).ok())
            .filter(|c| *c >= 400)
            .unwrap_or(500);
        return Err(error(&HttpResponse {
            status,
            ..response.clone()
        }));
    }
    Ok(value)
}

/// The `{"error": {...}}` object of a Google error body (also inside a one-element array).
fn google_error(body: &Value) -> Option<&Map<String, Value>> {
    let inner = match body {
        Value::Array(items) => items.first()?,
        other => other,
    };
    inner.get("error").and_then(Value::as_object)
}

/// `"38s"` / `"1.5s"` (a protobuf Duration in JSON) → milliseconds.
fn duration_ms(text: &str) -> Option<u64> {
    let secs: f64 = text.trim().strip_suffix('s')?.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| (secs * 1000.0).round() as u64)
}

/// A non-2xx Gemini reply as an `LlmError`.
pub fn error(response: &HttpResponse) -> LlmError {
    let parsed = serde_json::from_slice::<Value>(&response.body).ok();
    let Some(err) = parsed.as_ref().and_then(google_error) else {
        return classify::from_status(response, super::super::error_message(response));
    };
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim();
    let status_name = err.get("status").and_then(Value::as_str).unwrap_or("");
    let details = err.get("details").and_then(Value::as_array);
    let reason = |wanted: &str| {
        details.is_some_and(|ds| {
            ds.iter()
                .any(|d| d.get("reason").and_then(Value::as_str) == Some(wanted))
        })
    };
    let text = match (message.is_empty(), status_name.is_empty()) {
        (true, true) => super::super::error_message(response),
        (true, false) => status_name.to_string(),
        (false, true) => message.to_string(),
        (false, false) => format!("{message} (status: {status_name})"),
    };
    let body_code = err.get("code").and_then(Value::as_u64);
    let lower = message.to_ascii_lowercase();
    let status = if response.status == 400
        && (reason("API_KEY_INVALID") || lower.contains("api key not valid"))
    {
        401
    } else if (500..600).contains(&response.status) && body_code == Some(429) {
        429
    } else {
        response.status
    };
    let mut e = classify::from_status(
        &HttpResponse {
            status,
            ..response.clone()
        },
        text,
    );
    if e.kind == ErrorKind::BadRequestError
        && lower.contains("request payload size exceeds the limit")
    {
        e.kind = ErrorKind::ContextWindowExceededError;
    }
    if e.retry_after_ms.is_none() {
        e.retry_after_ms = details.and_then(|ds| {
            ds.iter()
                .filter(|d| {
                    d.get("@type")
                        .and_then(Value::as_str)
                        .is_some_and(|t| t.ends_with("google.rpc.RetryInfo"))
                })
                .find_map(|d| {
                    d.get("retryDelay")
                        .and_then(Value::as_str)
                        .and_then(duration_ms)
                })
        });
    }
    e
}

fn n(v: Option<&Value>) -> u64 {
    v.and_then(Value::as_u64).unwrap_or(0)
}

/// `usageMetadata` → OpenAI `usage`, counting thoughts as completion tokens as LiteLLM does.
pub fn usage(meta: Option<&Value>) -> Value {
    let meta = meta.unwrap_or(&Value::Null);
    let prompt = n(meta.get("promptTokenCount"));
    let candidates = n(meta.get("candidatesTokenCount"));
    let thoughts = meta.get("thoughtsTokenCount").and_then(Value::as_u64);
    let total = meta.get("totalTokenCount").and_then(Value::as_u64);
    let mut completion = candidates;
    if let Some(t) = thoughts.filter(|t| *t > 0) {
        // LiteLLM: candidates exclude thoughts unless prompt + candidates == total.
        if total != prompt.checked_add(candidates) {
            completion = completion.saturating_add(t);
        }
    }
    let mut usage = Map::new();
    usage.put("prompt_tokens", prompt.into());
    usage.put("completion_tokens", completion.into());
    usage.insert(
        "total_tokens".into(),
        total.unwrap_or(prompt.saturating_add(completion)).into(),
    );
    if let Some(cached) = meta.get("cachedContentTokenCount").and_then(Value::as_u64) {
        usage.insert(
            "prompt_tokens_details".into(),
            crate::obj! { "cached_tokens": cached },
        );
    }
    if let Some(t) = thoughts {
        usage.insert(
            "completion_tokens_details".into(),
            crate::obj! { "reasoning_tokens": t },
        );
    }
    Value::Object(usage)
}

/// Whether a `finishReason` means the candidate was filtered (its tool calls do not count).
pub fn is_flagged(reason: &str) -> bool {
    FLAGGED.contains(&reason)
}

/// OpenAI `finish_reason` of a candidate's `finishReason` (tool calls aside).
pub fn finish_reason(reason: Option<&str>) -> &'static str {
    match reason {
        Some("MAX_TOKENS") => "length",
        Some(r) if FLAGGED.contains(&r) || r == "LANGUAGE" || r == "OTHER" => "content_filter",
        _ => "stop",
    }
}

/// `logprobsResult` → OpenAI `logprobs` (`null` when absent).
fn logprobs(result: Option<&Value>) -> Value {
    let Some(chosen) = result
        .and_then(|r| r.get("chosenCandidates"))
        .and_then(Value::as_array)
    else {
        return Value::Null;
    };
    let top = result
        .and_then(|r| r.get("topCandidates"))
        .and_then(Value::as_array);
    let token = |c: &Value| {
        crate::obj! {
            "token": c.get("token").and_then(Value::as_str).unwrap_or(""),
            "logprob": c.get("logProbability").cloned().unwrap_or(Value::from(0.0)),
            "bytes": Value::Null
        }
    };
    let content: Vec<Value> = chosen
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let alternatives: Vec<Value> = top
                .and_then(|t| t.get(i))
                .and_then(|t| t.get("candidates"))
                .and_then(Value::as_array)
                .map(|cs| cs.iter().map(token).collect())
                .unwrap_or_default();
            let mut entry = token(c);
            if let Value::Object(o) = &mut entry {
                o.put("top_logprobs", Value::Array(alternatives));
            }
            entry
        })
        .collect();
    crate::obj! { "content": content }
}

/// `createTime` (RFC 3339, UTC) → Unix seconds.
fn unix_seconds(rfc3339: &str) -> Option<u64> {
    let date = rfc3339.get(0..10)?;
    let time = rfc3339.get(11..19)?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.split(':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next()??);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()
}

/// The `ContentPolicyViolationError` of a reply whose prompt was blocked
/// (`promptFeedback.blockReason`), if it was.
pub fn blocked_prompt(value: &Value) -> Option<LlmError> {
    let reason = value
        .pointer("/promptFeedback/blockReason")
        .and_then(Value::as_str)?;
    let detail = value
        .pointer("/promptFeedback/blockReasonMessage")
        .and_then(Value::as_str)
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    let mut e = LlmError::new(
        ErrorKind::ContentPolicyViolationError,
        format!("Gemini blocked the prompt (blockReason: {reason}){detail}"),
    )
    .with_status(400);
    e.from_upstream = true;
    Some(e)
}

/// The id of the tool call of part `part` of candidate `index` (`call_<24 hex>` from `seed`,
/// plus the part's thought signature when it has one).
pub fn tool_call_id(seed: &str, index: u64, part: usize, signature: Option<&str>) -> String {
    let digest = sha256_hex(format!("{seed}/{index}/{part}").as_bytes());
    let id = format!("call_{}", digest.get(..24).unwrap_or(&digest));
    match signature {
        Some(sig) => format!("{id}{THOUGHT_SIGNATURE_SEPARATOR}{sig}"),
        None => id,
    }
}

/// A `functionCall` part's name and JSON-text arguments.
pub fn function_call(call: &Value) -> (&str, String) {
    let name = call.get("name").and_then(Value::as_str).unwrap_or("");
    let args = call.get("args").cloned().unwrap_or_else(|| crate::obj! {});
    let arguments = serde_json::to_string(&args).unwrap_or_else(|_| "{}".into());
    (name, arguments)
}

/// The text a non-call part contributes: its `text`, or non-image, non-audio inline data as a
/// data URL; `None` for anything else.
pub fn part_text(part: &Value) -> Option<String> {
    match (part.get("text"), part.get("inlineData")) {
        (Some(Value::String(t)), _) => Some(t.clone()),
        (_, Some(blob)) => {
            let mime = blob.get("mimeType").and_then(Value::as_str).unwrap_or("");
            // Images and audio are not text; other inline data is returned as a data URL.
            if mime.starts_with("image/") || mime.starts_with("audio/") {
                return None;
            }
            let data = blob.get("data").and_then(Value::as_str).unwrap_or("");
            Some(format!("data:{mime};base64,{data}"))
        }
        _ => None,
    }
}

/// A `chat.completion` from a `generateContent` reply.
pub fn parse_chat(model: &str, response: &HttpResponse) -> Result<Value, LlmError> {
    let value = json_body(response)?;
    let candidates = value
        .get("candidates")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if candidates.is_empty() {
        if let Some(e) = blocked_prompt(&value) {
            return Err(e);
        }
        return Err(classify::malformed_body("no candidates"));
    }
    let response_id = value.get("responseId").and_then(Value::as_str);
    // Seed for tool-call ids: the response id, else the body itself.
    let seed = match response_id {
        Some(id) => id.to_string(),
        None => sha256_hex(&response.body),
    };
    let mut choices = Vec::with_capacity(candidates.len());
    for (position, candidate) in candidates.iter().enumerate() {
        let index = candidate
            .get("index")
            .and_then(Value::as_u64)
            .unwrap_or(position as u64);
        let reason = candidate.get("finishReason").and_then(Value::as_str);
        let flagged = reason.is_some_and(|r| FLAGGED.contains(&r));
        let parts = candidate
            .pointer("/content/parts")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let mut text: Option<String> = None;
        let mut thoughts: Option<String> = None;
        let mut tool_calls = Vec::new();
        for (p, part) in parts.iter().enumerate() {
            if let Some(call) = part.get("functionCall") {
                let (name, arguments) = function_call(call);
                let signature = part.get("thoughtSignature").and_then(Value::as_str);
                let id = tool_call_id(&seed, index, p, signature);
                tool_calls.push(crate::obj! {
                    "id": id,
                    "type": "function",
                    "function": crate::obj!{"name": name, "arguments": arguments}
                });
                continue;
            }
            let Some(piece) = part_text(part) else {
                continue;
            };
            if piece.is_empty() {
                continue;
            }
            let target = if part.get("thought").and_then(Value::as_bool) == Some(true) {
                &mut thoughts
            } else {
                &mut text
            };
            target.get_or_insert_with(String::new).push_str(&piece);
        }
        let mut message = Map::new();
        message.put("role", Value::from("assistant"));
        let finish = if flagged {
            message.put("content", Value::Null);
            "content_filter"
        } else {
            message.put("content", text.map_or(Value::Null, Value::String));
            if let Some(t) = thoughts {
                message.put("reasoning_content", Value::String(t));
            }
            if tool_calls.is_empty() {
                finish_reason(reason)
            } else {
                message.put("tool_calls", Value::Array(tool_calls));
                "tool_calls"
            }
        };
        choices.push(crate::obj! {
            "index": index,
            "message": message,
            "finish_reason": finish,
            "logprobs": logprobs(candidate.get("logprobsResult")),
        });
    }
    let id = response_id
        .map(str::to_string)
        .unwrap_or_else(|| format!("chatcmpl-{}", seed.get(..29).unwrap_or(&seed)));
    let created = value
        .get("createTime")
        .and_then(Value::as_str)
        .and_then(unix_seconds)
        .unwrap_or(0);
    Ok(crate::obj! {
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": choices,
        "usage": usage(value.get("usageMetadata")),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc3339_create_time_to_unix_seconds() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            unix_seconds("2025-06-17T14:30:05.123456Z"),
            Some(1_750_170_605)
        );
        assert_eq!(unix_seconds("garbage"), None);
    }

    #[test]
    fn retry_delay_durations() {
        assert_eq!(duration_ms("38s"), Some(38_000));
        assert_eq!(duration_ms("0.5s"), Some(500));
        assert_eq!(duration_ms("5m"), None);
    }

    #[test]
    fn thoughts_count_as_completion_tokens_unless_already_included() {
        let u = usage(Some(
            &json!({"promptTokenCount": 10, "candidatesTokenCount": 5, "thoughtsTokenCount": 7, "totalTokenCount": 22}),
        ));
        assert_eq!(u["completion_tokens"], 12);
        assert_eq!(u["completion_tokens_details"]["reasoning_tokens"], 7);
        let u = usage(Some(
            &json!({"promptTokenCount": 10, "candidatesTokenCount": 12, "thoughtsTokenCount": 7, "totalTokenCount": 22}),
        ));
        assert_eq!(u["completion_tokens"], 12);
    }
}
