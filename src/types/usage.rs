//! Token usage as OpenAI reports it in `usage`.

use crate::cost::TokenUsage;
use serde_json::Value;

/// Reads `usage` from a chat, completion or embedding response; absent fields are 0.
pub fn token_usage(response: &Value) -> Option<TokenUsage> {
    let Some(usage) = response.get("usage") else {
        return rerank_usage(response);
    };
    Some(usage_counts(usage))
}

/// The token counts of a `usage` object (absent fields are 0). Direct lookups: a JSON
/// pointer splits and allocates per call, and this runs once per answer and per stream.
pub fn usage_counts(usage: &Value) -> TokenUsage {
    let n = |v: Option<&Value>| v.and_then(Value::as_u64).unwrap_or(0);
    let nested = |outer: &str, inner: &str| usage.get(outer).and_then(|o| o.get(inner));
    TokenUsage {
        // Responses API replies count `input_tokens` / `output_tokens`.
        prompt_tokens: n(usage
            .get("prompt_tokens")
            .or_else(|| usage.get("input_tokens"))),
        completion_tokens: n(usage
            .get("completion_tokens")
            .or_else(|| usage.get("output_tokens"))),
        cached_prompt_tokens: n(nested("prompt_tokens_details", "cached_tokens")
            .or_else(|| nested("input_tokens_details", "cached_tokens"))),
        // Anthropic-style cache writes, passed through by the providers that report them.
        cache_creation_tokens: n(usage
            .get("cache_creation_input_tokens")
            .or_else(|| nested("prompt_tokens_details", "cache_creation_tokens"))),
    }
}

/// The tokens of a rerank reply (Cohere's `meta.tokens`, else `meta.billed_units`), counted
/// as prompt tokens; None when it reports none (search-unit billing).
fn rerank_usage(response: &Value) -> Option<TokenUsage> {
    let meta = response.get("meta")?;
    let n = |p: &str| meta.pointer(p).and_then(Value::as_u64);
    let prompt = n("/tokens/input_tokens")
        .or_else(|| n("/billed_units/total_tokens"))
        .or_else(|| n("/billed_units/input_tokens"))?;
    Some(TokenUsage {
        prompt_tokens: prompt,
        completion_tokens: n("/tokens/output_tokens").unwrap_or(0),
        ..TokenUsage::default()
    })
}
