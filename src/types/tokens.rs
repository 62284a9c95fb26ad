//! A cheap prompt-size estimate for pre-call context-window checks: about four characters
//! per token (tiktoken's average on English), counted over every text the model reads.

use serde_json::Value;

/// Tokens added per message for role and framing (OpenAI's chat format uses 3–4).
const PER_MESSAGE: u64 = 3;

fn text_chars(value: &Value) -> u64 {
    match value {
        Value::String(s) => s.chars().count() as u64,
        // Multi-part content: text parts count; images and audio are not estimated.
        Value::Array(parts) => parts
            .iter()
            .map(|p| match p {
                Value::String(s) => s.chars().count() as u64,
                Value::Object(o) => o.get("text").map_or(0, text_chars),
                _ => 0,
            })
            .sum(),
        _ => 0,
    }
}

/// Estimated input tokens of a chat, completion or embedding request body.
pub fn estimate_input_tokens(body: &serde_json::Map<String, Value>) -> u64 {
    let mut chars = 0u64;
    let mut framing = 0u64;
    if let Some(Value::Array(messages)) = body.get("messages") {
        for m in messages {
            framing += PER_MESSAGE;
            chars += m.get("content").map_or(0, text_chars);
            if let Some(calls) = m.get("tool_calls") {
                chars += calls.to_string().chars().count() as u64;
            }
        }
    }
    for key in ["prompt", "input"] {
        if let Some(v) = body.get(key) {
            chars += text_chars(v);
        }
    }
    if let Some(tools) = body.get("tools") {
        chars += tools.to_string().chars().count() as u64;
    }
    chars.div_ceil(4) + framing
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_text_of_every_message_and_part() {
        let body = json!({"messages": [
            {"role": "system", "content": "abcdefgh"},
            {"role": "user", "content": [{"type": "text", "text": "abcd"}, {"type": "image_url", "image_url": {"url": "x"}}]}
        ]});
        assert_eq!(
            estimate_input_tokens(body.as_object().unwrap_or(&Default::default())),
            3 + 6
        );
    }

    #[test]
    fn counts_prompt_and_embedding_input() {
        let body = json!({"input": ["abcd", "efgh"]});
        assert_eq!(
            estimate_input_tokens(body.as_object().unwrap_or(&Default::default())),
            2
        );
    }
}
