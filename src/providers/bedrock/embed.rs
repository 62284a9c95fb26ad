//! OpenAI embeddings <-> Bedrock `InvokeModel` (`POST /model/{modelId}/invoke`) for the
//! Amazon Titan text and Cohere embedding models.
//!
//! - Titan (`amazon.titan-embed-text-v1`, `amazon.titan-embed-g1-text-02`,
//!   `amazon.titan-embed-text-v2:0`): `{inputText}` — ONE text per call. LiteLLM loops over a
//!   batch, one HTTP call per input; an llmux provider module builds exactly one request, so a
//!   batch of more than one input is a `BadRequestError` (send one input per call, or use a
//!   Cohere model for batches). v2 maps `dimensions` -> `dimensions`; other non-OpenAI fields
//!   (`normalize`, `embeddingTypes`) pass through. Usage comes from `inputTextTokenCount`.
//! - Cohere (`cohere.embed-english-v3`, `cohere.embed-multilingual-v3`, `cohere.embed-v4:0`):
//!   `{texts, input_type}` for the whole batch; `input_type` defaults to `search_document` as in
//!   LiteLLM, `dimensions` -> `output_dimension`; other non-OpenAI fields (`truncate`,
//!   `embedding_types`, …) pass through. Bedrock's Cohere replies carry no token counts, so
//!   `usage` is estimated from the echoed `texts` (~4 characters per token) unless the reply
//!   has `meta.billed_units.input_tokens`.
//!
//! Dropped OpenAI parameters: `encoding_format` (replies are always float arrays), `user`, and
//! `dimensions` for Titan v1. Token-id inputs (arrays of integers) are a `BadRequestError`.

use crate::error::LlmError;
use crate::reliability::classify;
use crate::types::object::Put;
use crate::types::tokens::estimate_input_tokens;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    TitanV1,
    TitanV2,
    Cohere,
}

/// The embedding family of a base model id, if llmux speaks it.
pub fn family(base_model: &str) -> Option<Family> {
    if base_model.starts_with("amazon.titan-embed-text-v2") {
        Some(Family::TitanV2)
    } else if base_model.starts_with("amazon.titan-embed-text-v1")
        || base_model.starts_with("amazon.titan-embed-g1-text")
    {
        Some(Family::TitanV1)
    } else if base_model.starts_with("cohere.embed-") {
        Some(Family::Cohere)
    } else {
        None
    }
}

fn bad(message: impl Into<String>) -> LlmError {
    LlmError::bad_request(message)
}

fn inputs(input: Option<Value>) -> Result<Vec<String>, LlmError> {
    match input {
        Some(Value::String(s)) => Ok(vec![s]),
        Some(Value::Array(items)) if !items.is_empty() => items
            .into_iter()
            .map(|item| match item {
                Value::String(s) => Ok(s),
                _ => Err(bad(
                    "Bedrock embedding models take text input: `input` must be a string or an array of strings (token ids are not supported)",
                )),
            })
            .collect(),
        Some(Value::Array(_)) => Err(bad("`input` must not be empty")),
        Some(_) => Err(bad("`input` must be a string or an array of strings")),
        None => Err(bad("`input` is required")),
    }
}

/// The `InvokeModel` body for an embedding request.
pub fn build_body(
    base_model: &str,
    family: Family,
    mut body: Map<String, Value>,
) -> Result<Value, LlmError> {
    let texts = inputs(body.remove("input"))?;
    for key in ["model", "encoding_format", "user", "metadata"] {
        body.remove(key);
    }
    let dimensions = body.remove("dimensions").filter(|v| !v.is_null());
    let mut out = Map::new();
    match family {
        Family::TitanV1 | Family::TitanV2 => {
            let text = match <[String; 1]>::try_from(texts) {
                Ok([text]) => text,
                Err(texts) => {
                    return Err(bad(format!(
                        "{base_model} embeds one text per request and llmux sends one request per call: got {} inputs; call embedding() once per input, or use a Cohere embedding model (cohere.embed-*) for batches",
                        texts.len()
                    )))
                }
            };
            out.put("inputText", Value::String(text));
            if let (Family::TitanV2, Some(d)) = (family, dimensions) {
                out.put("dimensions", d);
            }
        }
        Family::Cohere => {
            out.put("texts", Value::from(texts));
            let input_type = body
                .remove("input_type")
                .filter(|v| !v.is_null())
                .unwrap_or_else(|| Value::from("search_document"));
            out.put("input_type", input_type);
            if let Some(d) = dimensions {
                out.put("output_dimension", d);
            }
        }
    }
    for (key, value) in body {
        if !value.is_null() {
            out.entry(key).or_insert(value);
        }
    }
    Ok(Value::Object(out))
}

/// An `InvokeModel` embedding reply as an OpenAI embedding list.
pub fn parse(reply: &Value, model: &str, family: Family) -> Result<Value, LlmError> {
    let (vectors, tokens): (Vec<Value>, u64) = match family {
        Family::TitanV1 | Family::TitanV2 => {
            let vector = reply
                .get("embedding")
                .filter(|v| v.is_array())
                .or_else(|| reply.pointer("/embeddingsByType/float"))
                .filter(|v| v.is_array())
                .cloned()
                .ok_or_else(|| classify::malformed_body("no `embedding` array in the reply"))?;
            let tokens = reply
                .get("inputTextTokenCount")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            (vec![vector], tokens)
        }
        Family::Cohere => {
            let embeddings = reply.get("embeddings").and_then(|e| match e {
                Value::Array(list) => Some(list.clone()),
                Value::Object(by_type) => by_type.get("float").and_then(Value::as_array).cloned(),
                _ => None,
            });
            let vectors = embeddings
                .ok_or_else(|| classify::malformed_body("no `embeddings` in the reply"))?;
            let tokens = reply
                .pointer("/meta/billed_units/input_tokens")
                .and_then(Value::as_u64)
                .unwrap_or_else(|| {
                    let mut echo = Map::new();
                    if let Some(texts) = reply.get("texts") {
                        echo.put("input", texts.clone());
                    }
                    estimate_input_tokens(&echo)
                });
            (vectors, tokens)
        }
    };
    let data: Vec<Value> = vectors
        .into_iter()
        .enumerate()
        .map(|(index, embedding)| crate::obj!{"object": "embedding", "index": index, "embedding": embedding})
        .collect();
    Ok(crate::obj! {
        "object": "list",
        "data": data,
        "model": model,
        "usage": crate::obj!{"prompt_tokens": tokens, "total_tokens": tokens},
    })
}
