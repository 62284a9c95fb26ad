//! Bedrock rerank through the Agents runtime's `Rerank` API (`POST
//! https://bedrock-agent-runtime.{region}.amazonaws.com/rerank`, SigV4 service `bedrock`), as
//! LiteLLM 1.110.2 sends it: one text query, inline sources, `BEDROCK_RERANKING_MODEL`.

use crate::error::LlmError;
use crate::reliability::classify;
use crate::types::object::Put;
use serde_json::{Map, Value};

/// The `modelArn` for a model id: an ARN as is, else the region's foundation-model ARN
/// (LiteLLM sends the model as given, so it needs the ARN; a bare id is a convenience here).
pub fn model_arn(model: &str, region: Option<&str>) -> Result<String, LlmError> {
    if model.starts_with("arn:") {
        return Ok(model.to_string());
    }
    let region = region.ok_or_else(|| {
        LlmError::config(
            "litellm_params.aws_region_name",
            "is required for bedrock rerank with a model id that is not an ARN",
        )
    })?;
    Ok(format!(
        "arn:aws:bedrock:{region}::foundation-model/{model}"
    ))
}

/// The `Rerank` request: strings become `TEXT` sources, objects `JSON` sources;
/// `numberOfResults` is `top_n`, else the number of documents.
pub fn build_body(model_arn: &str, body: &Map<String, Value>) -> Result<Value, LlmError> {
    super::super::rerank::check(body)?;
    let query = body.get("query").cloned().unwrap_or(Value::Null);
    let documents = body
        .get("documents")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let sources: Vec<Value> = documents
        .iter()
        .map(|doc| match doc {
            Value::String(text) => crate::obj!{
                "type": "INLINE",
                "inlineDocumentSource": crate::obj!{ "type": "TEXT", "textDocument": crate::obj!{ "text": text.as_str() } },
            },
            other => crate::obj!{
                "type": "INLINE",
                "inlineDocumentSource": crate::obj!{ "type": "JSON", "jsonDocument": other.clone() },
            },
        })
        .collect();
    let results = body
        .get("top_n")
        .and_then(Value::as_u64)
        .unwrap_or(documents.len() as u64);
    Ok(crate::obj! {
        "queries": vec![crate::obj!{ "type": "TEXT", "textQuery": crate::obj!{ "text": query } }],
        "rerankingConfiguration": crate::obj!{
            "type": "BEDROCK_RERANKING_MODEL",
            "bedrockRerankingConfiguration": crate::obj!{
                "numberOfResults": results,
                "modelConfiguration": crate::obj!{ "modelArn": model_arn },
            },
        },
        "sources": sources,
    })
}

/// `{results: [{index, relevanceScore, document?}]}` in Cohere's shape; one search unit per
/// call, as LiteLLM bills it when the reply reports no usage.
pub fn parse(reply: &Value, raw: &[u8]) -> Result<Value, LlmError> {
    let list = reply
        .get("results")
        .and_then(Value::as_array)
        .ok_or_else(|| classify::malformed_body("rerank reply without `results`"))?;
    let mut results = Vec::with_capacity(list.len());
    for item in list {
        let index = item.get("index").and_then(Value::as_u64);
        let score = item.get("relevanceScore").and_then(Value::as_f64);
        let (Some(index), Some(score)) = (index, score) else {
            return Err(classify::malformed_body(
                "rerank result without a numeric `index` and `relevanceScore`",
            ));
        };
        let mut r = Map::new();
        r.put("index", index.into());
        r.put("relevance_score", Value::from(score));
        match item.get("document") {
            Some(doc) if doc.pointer("/textDocument/text").is_some() => {
                r.insert(
                    "document".into(),
                    crate::obj! { "text": doc.pointer("/textDocument/text").cloned() },
                );
            }
            Some(doc) if doc.get("jsonDocument").is_some() => {
                r.insert(
                    "document".into(),
                    doc.get("jsonDocument").cloned().unwrap_or_default(),
                );
            }
            _ => {}
        }
        results.push(Value::Object(r));
    }
    let billed = reply
        .get("usage")
        .cloned()
        .unwrap_or_else(|| crate::obj! { "search_units": 1 });
    Ok(crate::obj! {
        "id": super::super::rerank::derived_id(raw),
        "results": results,
        "meta": crate::obj!{ "billed_units": billed },
    })
}
