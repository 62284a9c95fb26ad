//! The chunk assembler (LiteLLM's `stream_chunk_builder`): the chunks of one stream -> the
//! `chat.completion` (or `text_completion`) the same call would have answered unstreamed.
//!
//! Per choice (by `index`): `content` (and `refusal`, `reasoning_content`) fragments
//! concatenated, `null` when none came; tool calls merged by their `index` (the first `id`,
//! `type` and `name`, the `arguments` fragments concatenated), listed in index order without
//! the index; LiteLLM's `thinking_blocks` fragments merged into whole blocks (a `thinking`
//! block's text fragments joined and closed by its `signature`; other blocks as they came);
//! the last non-null `finish_reason` (`"stop"` when none came, as LiteLLM defaults). `id`,
//! `model`, `created` and `system_fingerprint` come from the first chunk that has them (not
//! empty, not 0: Azure's filter chunks carry neither);
//! `usage` from the last chunk that carries one (`usage`, else Groq's `x_groq.usage`), and is
//! left out when no chunk did. Legacy `text_completion` chunks join their `text` instead.

use crate::error::LlmError;
use crate::types::object::Put;
use serde_json::{Map, Value};

#[derive(Default)]
struct ToolCall {
    id: Option<Value>,
    kind: Option<Value>,
    name: Option<String>,
    arguments: String,
}

#[derive(Default)]
struct Choice {
    role: Option<String>,
    content: Option<String>,
    refusal: Option<String>,
    /// A delta carried a `refusal` key (OpenAI's messages then carry `refusal: null`).
    saw_refusal: bool,
    reasoning: Option<String>,
    /// By the tool call's index, in order of first appearance.
    tool_calls: Vec<(u64, ToolCall)>,
    thinking_blocks: Vec<Value>,
    /// The last `thinking` block still takes text (no signature yet).
    thinking_open: bool,
    finish_reason: Option<Value>,
    logprobs: Option<Value>,
}

fn bad(message: impl Into<String>) -> LlmError {
    LlmError::bad_request(format!("cannot assemble the stream: {}", message.into()))
}

fn append(target: &mut Option<String>, piece: Option<&Value>) {
    if let Some(text) = piece.and_then(Value::as_str) {
        target.get_or_insert_with(String::new).push_str(text);
    }
}

impl Choice {
    fn tool_call(&mut self, index: u64) -> Option<&mut ToolCall> {
        if !self.tool_calls.iter().any(|(i, _)| *i == index) {
            self.tool_calls.push((index, ToolCall::default()));
        }
        self.tool_calls
            .iter_mut()
            .find(|(i, _)| *i == index)
            .map(|(_, call)| call)
    }

    fn delta(&mut self, delta: &Map<String, Value>) -> Result<(), LlmError> {
        if let Some(role) = delta.get("role").and_then(Value::as_str) {
            self.role.get_or_insert_with(|| role.to_string());
        }
        append(&mut self.content, delta.get("content"));
        self.saw_refusal |= delta.contains_key("refusal");
        append(&mut self.refusal, delta.get("refusal"));
        append(&mut self.reasoning, delta.get("reasoning_content"));
        if let Some(calls) = delta.get("tool_calls").filter(|c| !c.is_null()) {
            let calls = calls
                .as_array()
                .ok_or_else(|| bad("`tool_calls` is not a list"))?;
            for (position, call) in calls.iter().enumerate() {
                let index = call
                    .get("index")
                    .and_then(Value::as_u64)
                    .unwrap_or(position as u64);
                let Some(merged) = self.tool_call(index) else {
                    continue;
                };
                if let Some(id) = call.get("id").filter(|v| !v.is_null()) {
                    merged.id.get_or_insert_with(|| id.clone());
                }
                if let Some(kind) = call.get("type").filter(|v| !v.is_null()) {
                    merged.kind.get_or_insert_with(|| kind.clone());
                }
                if let Some(name) = call
                    .pointer("/function/name")
                    .and_then(Value::as_str)
                    .filter(|n| !n.is_empty())
                {
                    merged.name.get_or_insert_with(|| name.to_string());
                }
                if let Some(args) = call.pointer("/function/arguments").and_then(Value::as_str) {
                    merged.arguments.push_str(args);
                }
            }
        }
        if let Some(blocks) = delta.get("thinking_blocks").and_then(Value::as_array) {
            for block in blocks {
                self.thinking_block(block);
            }
        }
        Ok(())
    }

    fn thinking_block(&mut self, block: &Value) {
        if block.get("type").and_then(Value::as_str) != Some("thinking") {
            self.thinking_blocks.push(block.clone());
            self.thinking_open = false;
            return;
        }
        if !self.thinking_open {
            self.thinking_blocks
                .push(crate::obj! {"type": "thinking", "thinking": ""});
            self.thinking_open = true;
        }
        let signature = block.get("signature").filter(|s| !s.is_null());
        if let Some(Value::Object(last)) = self.thinking_blocks.last_mut() {
            if let Some(text) = block.get("thinking").and_then(Value::as_str) {
                let mut joined = last
                    .get("thinking")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                joined.push_str(text);
                last.put("thinking", Value::String(joined));
            }
            if let Some(signature) = signature {
                last.put("signature", signature.clone());
            }
        }
        if signature.is_some() {
            self.thinking_open = false;
        }
    }

    fn message(self) -> Value {
        let mut message = Map::new();
        message.insert(
            "role".into(),
            Value::String(self.role.unwrap_or_else(|| "assistant".into())),
        );
        message.insert(
            "content".into(),
            self.content
                .filter(|c| !c.is_empty())
                .map_or(Value::Null, Value::String),
        );
        match self.refusal.filter(|r| !r.is_empty()) {
            Some(refusal) => {
                message.put("refusal", Value::String(refusal));
            }
            None if self.saw_refusal => {
                message.put("refusal", Value::Null);
            }
            None => {}
        }
        if !self.tool_calls.is_empty() {
            let mut calls = self.tool_calls;
            crate::sort::sort_by_key(&mut calls, |(index, _)| *index);
            let calls = calls
                .into_iter()
                .map(|(_, call)| {
                    crate::obj! {
                        "id": call.id.unwrap_or(Value::Null),
                        "type": call.kind.unwrap_or_else(|| Value::String("function".into())),
                        "function": crate::obj!{
                            "name": call.name.unwrap_or_default(),
                            "arguments": call.arguments,
                        },
                    }
                })
                .collect();
            message.put("tool_calls", Value::Array(calls));
        }
        if let Some(reasoning) = self.reasoning {
            message.put("reasoning_content", Value::String(reasoning));
        }
        if !self.thinking_blocks.is_empty() {
            message.put("thinking_blocks", Value::Array(self.thinking_blocks));
        }
        Value::Object(message)
    }
}

/// The chunks of one stream (chat or text completion, in order) -> the final response.
pub fn assemble(chunks: &[Value]) -> Result<Value, LlmError> {
    let first = chunks.first().ok_or_else(|| bad("no chunks"))?;
    let text = first.get("object").and_then(Value::as_str) == Some("text_completion");
    let pick = |key: &str| {
        chunks
            .iter()
            .filter_map(|c| c.get(key))
            .find(|v| !v.is_null() && v.as_str() != Some("") && v.as_u64() != Some(0))
            .cloned()
    };
    let mut choices: Vec<(u64, Choice)> = Vec::new();
    let mut usage = None;
    for chunk in chunks {
        let chunk = chunk
            .as_object()
            .ok_or_else(|| bad("a chunk is not an object"))?;
        if let Some(u) = chunk
            .get("usage")
            .filter(|u| !u.is_null())
            .or_else(|| chunk.get("x_groq").and_then(|x| x.get("usage")))
        {
            usage = Some(u.clone());
        }
        let Some(list) = chunk.get("choices").filter(|c| !c.is_null()) else {
            continue;
        };
        let list = list
            .as_array()
            .ok_or_else(|| bad("`choices` is not a list"))?;
        for (position, part) in list.iter().enumerate() {
            let index = part
                .get("index")
                .and_then(Value::as_u64)
                .unwrap_or(position as u64);
            let at = match choices.iter().position(|(i, _)| *i == index) {
                Some(at) => at,
                None => {
                    choices.push((index, Choice::default()));
                    choices.len() - 1
                }
            };
            let Some((_, choice)) = choices.get_mut(at) else {
                continue;
            };
            if text {
                append(&mut choice.content, part.get("text"));
            } else if let Some(delta) = part.get("delta").and_then(Value::as_object) {
                choice.delta(delta)?;
            }
            if let Some(reason) = part.get("finish_reason").filter(|f| !f.is_null()) {
                choice.finish_reason = Some(reason.clone());
            }
            if let Some(logprobs) = part.get("logprobs").filter(|l| !l.is_null()) {
                choice.logprobs = Some(logprobs.clone());
            }
        }
    }
    crate::sort::sort_by_key(&mut choices, |(index, _)| *index);
    let choices: Vec<Value> = choices
        .into_iter()
        .map(|(index, choice)| {
            let finish = choice
                .finish_reason
                .clone()
                .unwrap_or_else(|| Value::String("stop".into()));
            let logprobs = choice.logprobs.clone().unwrap_or(Value::Null);
            if text {
                crate::obj! {
                    "index": index,
                    "text": choice.content.unwrap_or_default(),
                    "logprobs": logprobs,
                    "finish_reason": finish,
                }
            } else {
                crate::obj! {
                    "index": index,
                    "message": choice.message(),
                    "finish_reason": finish,
                    "logprobs": logprobs,
                }
            }
        })
        .collect();
    let mut out = Map::new();
    out.put("id", pick("id").unwrap_or(Value::Null));
    out.insert(
        "object".into(),
        Value::String(
            if text {
                "text_completion"
            } else {
                "chat.completion"
            }
            .into(),
        ),
    );
    out.put("created", pick("created").unwrap_or(Value::from(0)));
    out.put("model", pick("model").unwrap_or(Value::Null));
    if let Some(fingerprint) = pick("system_fingerprint") {
        out.put("system_fingerprint", fingerprint);
    }
    out.put("choices", Value::Array(choices));
    if let Some(usage) = usage {
        out.put("usage", usage);
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chunk(delta: Value, finish: Option<&str>) -> Value {
        json!({
            "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 7, "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        })
    }

    #[test]
    fn no_chunks_is_an_error() {
        assert!(assemble(&[]).is_err());
        assert!(assemble(&[json!("text")]).is_err());
    }

    #[test]
    fn content_and_tool_calls_merge_by_index() {
        let chunks = [
            chunk(json!({"role": "assistant", "content": ""}), None),
            chunk(json!({"content": "Hi"}), None),
            chunk(
                json!({"tool_calls": [{"index": 1, "id": "b", "type": "function",
                    "function": {"name": "g", "arguments": ""}}]}),
                None,
            ),
            chunk(
                json!({"tool_calls": [{"index": 0, "id": "a", "type": "function",
                    "function": {"name": "f", "arguments": "{\"x\""}}]}),
                None,
            ),
            chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": ":1}"}},
                    {"index": 1, "function": {"arguments": "{}"}}]}),
                None,
            ),
            chunk(json!({}), Some("tool_calls")),
        ];
        let out = assemble(&chunks).unwrap_or_default();
        assert_eq!(
            out.pointer("/choices/0/message/content"),
            Some(&json!("Hi"))
        );
        assert_eq!(
            out.pointer("/choices/0/message/tool_calls"),
            Some(&json!([
                {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{\"x\":1}"}},
                {"id": "b", "type": "function", "function": {"name": "g", "arguments": "{}"}},
            ]))
        );
        assert_eq!(
            out.pointer("/choices/0/finish_reason"),
            Some(&json!("tool_calls"))
        );
        assert_eq!(out.get("usage"), None);
        assert_eq!(out.get("created"), Some(&json!(7)));
    }

    #[test]
    fn thinking_fragments_close_at_their_signature() {
        let chunks = [
            chunk(
                json!({"thinking_blocks": [{"type": "thinking", "thinking": "a"}]}),
                None,
            ),
            chunk(
                json!({"thinking_blocks": [{"type": "thinking", "thinking": "b"}]}),
                None,
            ),
            chunk(
                json!({"thinking_blocks": [{"type": "thinking", "thinking": "", "signature": "s"}]}),
                None,
            ),
            chunk(
                json!({"thinking_blocks": [{"type": "thinking", "thinking": "c"}]}),
                None,
            ),
        ];
        let out = assemble(&chunks).unwrap_or_default();
        assert_eq!(
            out.pointer("/choices/0/message/thinking_blocks"),
            Some(&json!([
                {"type": "thinking", "thinking": "ab", "signature": "s"},
                {"type": "thinking", "thinking": "c"},
            ]))
        );
        assert_eq!(
            out.pointer("/choices/0/finish_reason"),
            Some(&json!("stop"))
        );
    }

    #[test]
    fn choices_assemble_by_index_and_usage_comes_from_the_usage_chunk() {
        let two = |a: &str, b: &str, finish: Option<&str>| {
            json!({
                "id": "chatcmpl-2", "object": "chat.completion.chunk", "created": 9, "model": "m",
                "choices": [
                    {"index": 1, "delta": {"content": b}, "finish_reason": finish},
                    {"index": 0, "delta": {"content": a}, "finish_reason": finish},
                ],
            })
        };
        let usage = json!({"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7});
        let chunks = [
            two("Hel", "Bon", None),
            two("lo", "jour", Some("stop")),
            json!({"id": "chatcmpl-2", "object": "chat.completion.chunk", "created": 9,
                "model": "m", "choices": [], "usage": usage}),
        ];
        let out = assemble(&chunks).unwrap_or_default();
        assert_eq!(out.pointer("/choices/0/index"), Some(&json!(0)));
        assert_eq!(
            out.pointer("/choices/0/message/content"),
            Some(&json!("Hello"))
        );
        assert_eq!(
            out.pointer("/choices/1/message/content"),
            Some(&json!("Bonjour"))
        );
        assert_eq!(out.get("usage"), Some(&usage));
    }

    #[test]
    fn text_completion_chunks_join_their_text() {
        let chunk = |text: &str, finish: Option<&str>| {
            json!({"id": "cmpl-1", "object": "text_completion", "created": 5, "model": "m",
                "choices": [{"index": 0, "text": text, "logprobs": null, "finish_reason": finish}]})
        };
        let out = assemble(&[chunk("a", None), chunk("b", Some("length"))]).unwrap_or_default();
        assert_eq!(
            out,
            json!({"id": "cmpl-1", "object": "text_completion", "created": 5, "model": "m",
                "choices": [{"index": 0, "text": "ab", "logprobs": null, "finish_reason": "length"}]})
        );
    }
}
