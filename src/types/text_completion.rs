//! Text completion on a chat-only provider, as LiteLLM does it: the prompt becomes one user
//! message, and the chat answer becomes a `text_completion` object.

use crate::error::LlmError;
use crate::types::object::Put;
use serde_json::{Map, Value};

/// `/completions` body -> `/chat/completions` body (other parameters kept).
pub fn to_chat_request(mut body: Map<String, Value>) -> Result<Map<String, Value>, LlmError> {
    let prompt = match body.remove("prompt") {
        Some(Value::String(s)) => s,
        Some(Value::Array(items)) if items.len() == 1 => match items.first() {
            Some(Value::String(s)) => s.clone(),
            _ => return Err(LlmError::bad_request("`prompt` must be a string or a list of one string")),
        },
        Some(Value::Array(_)) => {
            return Err(LlmError::bad_request(
                "this provider has no completions endpoint: send one prompt per request (a list of several prompts needs an OpenAI-compatible /completions endpoint)",
            ))
        }
        _ => return Err(LlmError::bad_request("`prompt` is required (a string)")),
    };
    for unsupported in ["echo", "best_of", "suffix", "logprobs"] {
        body.remove(unsupported);
    }
    body.insert(
        "messages".into(),
        serde_json::Value::from(vec![crate::obj! {"role": "user", "content": prompt}]),
    );
    Ok(body)
}

/// A `chat.completion` -> the `text_completion` a `/completions` caller expects.
pub fn from_chat_response(chat: Value) -> Value {
    convert(chat, "/message/content")
}

/// A `chat.completion.chunk` -> a streamed `text_completion` chunk.
pub fn from_chat_chunk(chunk: Value) -> Value {
    convert(chunk, "/delta/content")
}

fn convert(chat: Value, content: &str) -> Value {
    let choices: Vec<Value> = chat
        .get("choices")
        .and_then(Value::as_array)
        .map(|choices| {
            choices
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    crate::obj! {
                        "text": c.pointer(content).and_then(Value::as_str).unwrap_or_default(),
                        "index": c.get("index").cloned().unwrap_or(Value::from(i)),
                        "logprobs": Value::Null,
                        "finish_reason": c.get("finish_reason").cloned().unwrap_or(Value::Null),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let mut out = crate::obj! {
        "id": chat.get("id").cloned().unwrap_or(Value::Null),
        "object": "text_completion",
        "created": chat.get("created").cloned().unwrap_or(Value::Null),
        "model": chat.get("model").cloned().unwrap_or(Value::Null),
        "choices": choices,
    };
    if let (Some(usage), Value::Object(m)) = (chat.get("usage"), &mut out) {
        m.put("usage", usage.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use serde_json::json;

    #[test]
    fn prompt_becomes_one_user_message() {
        let body = json!({"model": "m", "prompt": "Say hi", "max_tokens": 5, "echo": false});
        let chat = to_chat_request(body.as_object().cloned().unwrap()).unwrap();
        assert_eq!(
            Value::Object(chat),
            json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "Say hi"}]})
        );
    }

    #[test]
    fn several_prompts_are_refused() {
        let body = json!({"prompt": ["a", "b"]});
        assert!(to_chat_request(body.as_object().cloned().unwrap()).is_err());
    }

    #[test]
    fn chat_answer_becomes_text_completion() {
        let chat = json!({"id": "x", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}});
        let text = from_chat_response(chat);
        assert_eq!(text["object"], "text_completion");
        assert_eq!(text["choices"][0]["text"], "hi");
        assert_eq!(text["usage"]["total_tokens"], 3);
    }
}
