//! Rerank (`rerank()`, `POST /v1/rerank`): the caller's Cohere-style request checked once, and
//! each rerank API's body, URL and reply translated to and from Cohere's shape.
//!
//! The request is Cohere's: `query` (a non-empty string), `documents` (1 to
//! [`MAX_DOCUMENTS`] strings or objects), `top_n`, `return_documents`, `rank_fields`,
//! `max_chunks_per_doc` (Cohere v1), `max_tokens_per_doc` (Cohere v2, vLLM). Each API gets
//! the fields it takes (the table in the README, as LiteLLM 1.110.2 maps them); any other
//! field passes through as is, for the provider's own options (Voyage's `truncation`, vLLM's
//! `truncate_prompt_tokens`, …).
//!
//! The reply is Cohere's: `{id, results: [{index, relevance_score, document?}], meta}`, with
//! `meta.billed_units.search_units` (Cohere, Bedrock) or `meta.billed_units.total_tokens` and
//! `meta.tokens.input_tokens` (token-billed APIs), which the cost reads.

use super::{join_url, RequestContext};
use crate::config::Deployment;
use crate::error::LlmError;
use crate::ports::HttpRequest;
use crate::reliability::classify;
use crate::types::object::Put;
use serde_json::{Map, Value};

/// Documents one rerank request may carry (Cohere recommends at most 1,000).
pub const MAX_DOCUMENTS: usize = 10_000;

/// The rerank APIs llmux speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Cohere `POST /v2/rerank`.
    CohereV2,
    /// Cohere `POST /v1/rerank` (also the shape of Azure AI's Cohere deployments).
    CohereV1,
    /// Voyage `POST /v1/rerank` (`top_k`, replies in `data`).
    Voyage,
    /// Jina `POST /v1/rerank`.
    Jina,
    /// vLLM's Cohere/Jina-compatible `POST /rerank`.
    Vllm,
    /// Infinity's `POST /rerank`.
    Infinity,
    /// Hugging Face Text Embeddings Inference's `POST /rerank` (`texts`, `return_text`; the
    /// reply is a bare list of `{index, score, text?}`), as LiteLLM's `huggingface/` rerank.
    Tei,
}

/// The caller's fields each API takes (everything not in [`KNOWN`] passes through).
fn accepted(api: Api) -> &'static [&'static str] {
    match api {
        Api::CohereV2 => &[
            "top_n",
            "rank_fields",
            "return_documents",
            "max_tokens_per_doc",
        ],
        Api::CohereV1 => &[
            "top_n",
            "rank_fields",
            "return_documents",
            "max_chunks_per_doc",
        ],
        Api::Voyage | Api::Jina => &["top_n", "return_documents"],
        Api::Vllm => &[
            "top_n",
            "rank_fields",
            "return_documents",
            "max_tokens_per_doc",
        ],
        Api::Infinity | Api::Tei => &["top_n", "return_documents"],
    }
}

/// The Cohere fields the router knows; those an API does not take are dropped.
const KNOWN: &[&str] = &[
    "top_n",
    "rank_fields",
    "return_documents",
    "max_chunks_per_doc",
    "max_tokens_per_doc",
];

fn bad(message: impl Into<String>) -> LlmError {
    LlmError::bad_request(message)
}

/// Checks the caller's request: `query` and `documents` present and well typed, the numbers
/// positive integers, `return_documents` a boolean.
pub fn check(body: &Map<String, Value>) -> Result<(), LlmError> {
    match body.get("query") {
        Some(Value::String(q)) if !q.is_empty() => {}
        Some(Value::String(_)) => return Err(bad("rerank: `query` is empty")),
        Some(_) => return Err(bad("rerank: `query` must be a string")),
        None => return Err(bad("rerank: `query` is required")),
    }
    match body.get("documents") {
        Some(Value::Array(docs)) if docs.is_empty() => {
            return Err(bad("rerank: `documents` is empty"))
        }
        Some(Value::Array(docs)) if docs.len() > MAX_DOCUMENTS => {
            return Err(bad(format!(
                "rerank: `documents` has {} entries, more than the {MAX_DOCUMENTS} allowed",
                docs.len()
            )))
        }
        Some(Value::Array(docs)) => {
            if let Some(i) = docs.iter().position(|d| !(d.is_string() || d.is_object())) {
                return Err(bad(format!(
                    "rerank: `documents[{i}]` must be a string or an object"
                )));
            }
        }
        Some(_) => return Err(bad("rerank: `documents` must be a list")),
        None => return Err(bad("rerank: `documents` is required")),
    }
    for key in ["top_n", "max_chunks_per_doc", "max_tokens_per_doc"] {
        match body.get(key) {
            None | Some(Value::Null) => {}
            Some(v) if v.as_u64().is_some_and(|n| n > 0) => {}
            Some(_) => return Err(bad(format!("rerank: `{key}` must be a positive integer"))),
        }
    }
    match body.get("return_documents") {
        None | Some(Value::Null) | Some(Value::Bool(_)) => {}
        Some(_) => return Err(bad("rerank: `return_documents` must be a boolean")),
    }
    match body.get("rank_fields") {
        None | Some(Value::Null) => {}
        Some(Value::Array(f)) if f.iter().all(Value::is_string) => {}
        Some(_) => return Err(bad("rerank: `rank_fields` must be a list of strings")),
    }
    Ok(())
}

/// The Cohere API version for a Cohere deployment, as LiteLLM picks it: v1 when `api_base`
/// ends in `/v1/rerank`, or when it is set and the call names `max_chunks_per_doc` but not
/// `max_tokens_per_doc` (and the base does not end in `/v2/rerank`); v2 otherwise.
pub fn cohere_version(api_base: Option<&str>, body: &Map<String, Value>) -> Api {
    let Some(base) = api_base.map(|b| b.trim_end_matches('/')) else {
        return Api::CohereV2;
    };
    let present = |k: &str| body.get(k).is_some_and(|v| !v.is_null());
    let v1_params = present("max_chunks_per_doc") && !present("max_tokens_per_doc");
    if base.ends_with("/v1/rerank") || (v1_params && !base.ends_with("/v2/rerank")) {
        Api::CohereV1
    } else {
        Api::CohereV2
    }
}

/// The request body for `api`: `{model, query, documents, …}` with the API's field names.
pub fn body(api: Api, model: &str, mut body: Map<String, Value>) -> Result<Value, LlmError> {
    check(&body)?;
    let takes = accepted(api);
    body.retain(|k, v| {
        !v.is_null() && (!KNOWN.contains(&k.as_str()) || takes.contains(&k.as_str()))
    });
    if api == Api::Voyage {
        if let Some(n) = body.remove("top_n") {
            body.put("top_k", n);
        }
    }
    if api == Api::Tei {
        return tei_body(body);
    }
    body.put("model", Value::String(model.to_string()));
    Ok(Value::Object(body))
}

/// TEI's body, as LiteLLM's `HuggingFaceRerankConfig` sends it: `documents` as `texts` (a
/// string, or an object's `text`; TEI ranks text only), `return_documents` as `return_text`,
/// `raw_scores: false`, `truncate: false`, `truncation_direction: "Right"` unless the caller set
/// them; no `model` (the server serves one). `top_n` is sent as LiteLLM sends it; TEI ranks
/// every text.
fn tei_body(mut body: Map<String, Value>) -> Result<Value, LlmError> {
    body.remove("model");
    let mut texts = Vec::new();
    if let Some(Value::Array(docs)) = body.remove("documents") {
        for (i, doc) in docs.into_iter().enumerate() {
            match doc {
                Value::String(s) => texts.push(Value::String(s)),
                Value::Object(mut o) => match o.remove("text") {
                    Some(Value::String(s)) => texts.push(Value::String(s)),
                    _ => {
                        return Err(bad(format!(
                            "rerank: `documents[{i}]` has no string `text`; Text Embeddings Inference ranks text documents only"
                        )))
                    }
                },
                _ => return Err(bad(format!("rerank: `documents[{i}]` must be a string or an object"))),
            }
        }
    }
    if let Some(r) = body.remove("return_documents") {
        body.put("return_text", r);
    }
    body.put("texts", Value::Array(texts));
    for (key, default) in [
        ("raw_scores", Value::Bool(false)),
        ("truncate", Value::Bool(false)),
        ("truncation_direction", Value::String("Right".into())),
    ] {
        if !body.contains_key(key) {
            body.put(key, default);
        }
    }
    Ok(Value::Object(body))
}

/// `base` with `route` appended unless its path already ends in it (LiteLLM's
/// `ensure_api_route`).
fn ensure_route(base: &str, route: &str) -> String {
    let base = base.trim_end_matches('/');
    let path = base.split_once('?').map_or(base, |(p, _)| p);
    if path.ends_with(&format!("/{route}")) {
        base.to_string()
    } else {
        join_url(base, route)
    }
}

/// The URL of `api` for a deployment whose `api_base` is `base` (`default` when unset).
pub fn url(api: Api, base: Option<&str>, default: &str) -> String {
    match api {
        Api::CohereV2 | Api::CohereV1 => {
            let version = if api == Api::CohereV1 { "v1" } else { "v2" };
            let root = base.unwrap_or(default).trim_end_matches('/');
            let mut root = root;
            for suffix in ["/v1/rerank", "/v2/rerank", "/v1", "/v2"] {
                if let Some(r) = root.strip_suffix(suffix) {
                    root = r;
                    break;
                }
            }
            join_url(root, &format!("{version}/rerank"))
        }
        Api::Voyage => {
            let base = base.unwrap_or(default).trim_end_matches('/');
            if base.ends_with("/v1/rerank") {
                base.to_string()
            } else if base.ends_with("/v1") {
                join_url(base, "rerank")
            } else {
                join_url(base, "v1/rerank")
            }
        }
        // LiteLLM keeps Jina's scheme and host and sets the path to `/v1/rerank`.
        Api::Jina => {
            let base = base.unwrap_or(default);
            let origin_end = base
                .find("://")
                .map(|i| i + 3)
                .and_then(|start| base.get(start..).map(|rest| (start, rest)))
                .map_or(base.len(), |(start, rest)| {
                    start + rest.find(['/', '?', '#']).unwrap_or(rest.len())
                });
            format!("{}/v1/rerank", base.get(..origin_end).unwrap_or(base))
        }
        Api::Vllm => {
            let base = base.unwrap_or(default).trim_end_matches('/');
            if let Some(head) = base.strip_suffix("/v1/rerank") {
                format!("{head}/rerank")
            } else if base.ends_with("/rerank") {
                base.to_string()
            } else {
                join_url(base, "rerank")
            }
        }
        Api::Infinity | Api::Tei => ensure_route(base.unwrap_or(default), "rerank"),
    }
}

/// A JSON POST of `payload` to `url` with the deployment's Bearer key and extra headers.
pub fn post(
    url: String,
    d: &Deployment,
    payload: &Value,
    ctx: &RequestContext,
) -> Result<HttpRequest, LlmError> {
    let mut headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("accept".to_string(), "application/json".to_string()),
    ];
    if let Some(key) = &d.api_key {
        headers.push(("authorization".into(), format!("Bearer {}", key.expose())));
    }
    headers.extend(
        d.headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.expose().to_string())),
    );
    super::post_json(url, headers, payload, ctx)
}

/// A document in a reply as Cohere returns it: a string becomes `{text}`.
fn document(doc: &Value) -> Value {
    match doc {
        Value::String(s) => crate::obj! { "text": s.as_str() },
        other => other.clone(),
    }
}

/// The 2xx reply of `api` in Cohere's shape. `id` is the reply's, else derived from its bytes.
pub fn parse(api: Api, reply: &Value, raw: &[u8]) -> Result<Value, LlmError> {
    if api == Api::Tei {
        return tei_parse(reply, raw);
    }
    let list_key = if api == Api::Voyage {
        "data"
    } else {
        "results"
    };
    let list = reply
        .get(list_key)
        .and_then(Value::as_array)
        .ok_or_else(|| classify::malformed_body(&format!("rerank reply without `{list_key}`")))?;
    let mut results = Vec::with_capacity(list.len());
    for item in list {
        let index = item.get("index").and_then(Value::as_u64);
        let score = item.get("relevance_score").and_then(Value::as_f64);
        let (Some(index), Some(score)) = (index, score) else {
            return Err(classify::malformed_body(
                "rerank result without a numeric `index` and `relevance_score`",
            ));
        };
        let mut r = Map::new();
        r.put("index", index.into());
        r.put("relevance_score", Value::from(score));
        if let Some(doc) = item.get("document").filter(|d| !d.is_null()) {
            r.put("document", document(doc));
        }
        results.push(Value::Object(r));
    }
    let meta = match api {
        // Cohere and Cohere-compatible servers report `meta` themselves.
        Api::CohereV1 | Api::CohereV2 => {
            reply.get("meta").cloned().unwrap_or_else(|| crate::obj! {})
        }
        Api::Vllm if reply.get("meta").is_some_and(Value::is_object) => {
            reply.get("meta").cloned().unwrap_or_default()
        }
        Api::Infinity => {
            let prompt = reply
                .pointer("/usage/prompt_tokens")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            let total = reply
                .pointer("/usage/total_tokens")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            crate::obj! {
                "billed_units": crate::obj!{ "total_tokens": total },
                "tokens": crate::obj!{ "input_tokens": prompt, "output_tokens": total.saturating_sub(prompt) },
            }
        }
        // Answered above; kept exhaustive.
        Api::Tei => crate::obj! {},
        Api::Voyage | Api::Jina | Api::Vllm => {
            let total = reply
                .pointer("/usage/total_tokens")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            crate::obj! {
                "billed_units": crate::obj!{ "total_tokens": total },
                "tokens": crate::obj!{ "input_tokens": total, "output_tokens": 0 },
            }
        }
    };
    let id = reply
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| derived_id(raw));
    Ok(crate::obj! { "id": id, "results": results, "meta": meta })
}

/// TEI's reply, a list of `{index, score, text?}` (best first), in Cohere's shape. TEI reports
/// no usage: one search unit a call, as LiteLLM bills it.
fn tei_parse(reply: &Value, raw: &[u8]) -> Result<Value, LlmError> {
    let list = reply
        .as_array()
        .ok_or_else(|| classify::malformed_body("TEI rerank reply is not a list"))?;
    let mut results = Vec::with_capacity(list.len());
    for item in list {
        let index = item.get("index").and_then(Value::as_u64);
        let score = item.get("score").and_then(Value::as_f64);
        let (Some(index), Some(score)) = (index, score) else {
            return Err(classify::malformed_body(
                "TEI rerank result without a numeric `index` and `score`",
            ));
        };
        let mut r = Map::new();
        r.put("index", index.into());
        r.put("relevance_score", Value::from(score));
        if let Some(text) = item.get("text").and_then(Value::as_str) {
            r.put("document", crate::obj! { "text": text });
        }
        results.push(Value::Object(r));
    }
    Ok(crate::obj! {
        "id": derived_id(raw),
        "results": results,
        "meta": crate::obj! { "billed_units": crate::obj! { "search_units": 1 } },
    })
}

/// A stable id for a reply that has none: a hex digest of its bytes, shaped like a UUID.
pub fn derived_id(raw: &[u8]) -> String {
    let hex = crate::hash::sha256_hex(raw);
    let part = |a: usize, b: usize| hex.get(a..b).unwrap_or("0");
    format!(
        "{}-{}-{}-{}-{}",
        part(0, 8),
        part(8, 12),
        part(12, 16),
        part(16, 20),
        part(20, 32)
    )
}
