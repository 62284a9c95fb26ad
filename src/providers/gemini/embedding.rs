//! OpenAI embeddings ↔ Gemini `batchEmbedContents` (see the module docs of `gemini`).

use super::response::json_body;
use crate::error::LlmError;
use crate::ports::HttpResponse;
use crate::reliability::classify;
use crate::types::object::Put;
use serde_json::{Map, Value};

/// Builds the `batchEmbedContents` body: one request per input text.
pub fn request_body(model: &str, body: &Map<String, Value>) -> Result<Value, LlmError> {
    let not_text = || {
        LlmError::bad_request(
            "Gemini embeddings take text: 'input' must be a string or an array of strings",
        )
    };
    let texts: Vec<&str> = match body.get("input") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(Value::as_str)
            .collect::<Option<Vec<_>>>()
            .ok_or_else(not_text)?,
        _ => return Err(not_text()),
    };
    let mut options = Map::new();
    if let Some(d) = body.get("dimensions").filter(|v| !v.is_null()) {
        options.put("outputDimensionality", d.clone());
    }
    for (from, to) in [
        ("outputDimensionality", "outputDimensionality"),
        ("task_type", "taskType"),
        ("taskType", "taskType"),
        ("title", "title"),
    ] {
        if let Some(v) = body.get(from).filter(|v| !v.is_null()) {
            options.insert(to.into(), v.clone());
        }
    }
    let requests: Vec<Value> = texts
        .into_iter()
        .map(|text| {
            let mut r = Map::new();
            r.put("model", Value::String(format!("models/{model}")));
            r.put(
                "content",
                crate::obj! {"parts": vec![crate::obj!{"text": text}]},
            );
            r.extend(options.clone());
            Value::Object(r)
        })
        .collect();
    Ok(crate::obj! { "requests": requests })
}

/// The OpenAI embedding list from a `batchEmbedContents` reply.
pub fn parse(model: &str, response: &HttpResponse) -> Result<Value, LlmError> {
    let value = json_body(response)?;
    let embeddings = value
        .get("embeddings")
        .and_then(Value::as_array)
        .ok_or_else(|| classify::malformed_body("no `embeddings` array"))?;
    let mut data = Vec::with_capacity(embeddings.len());
    for (index, e) in embeddings.iter().enumerate() {
        let values = e
            .get("values")
            .filter(|v| v.is_array())
            .ok_or_else(|| classify::malformed_body("an embedding has no `values` array"))?;
        data.push(crate::obj! {"object": "embedding", "index": index, "embedding": values.clone()});
    }
    let prompt = value
        .pointer("/usageMetadata/promptTokenCount")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    Ok(crate::obj! {
        "object": "list",
        "data": data,
        "model": model,
        "usage": crate::obj!{"prompt_tokens": prompt, "total_tokens": prompt},
    })
}
