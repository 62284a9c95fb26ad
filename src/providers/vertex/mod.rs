//! Google Cloud Vertex AI (`vertex_ai/<model>`): Gemini models through `generateContent`,
//! Anthropic Claude models through `rawPredict`, and text-embedding models through
//! `predict`, authenticated with OAuth access tokens, the way LiteLLM's `vertex_ai/` route
//! works.
//!
//! # Deployment settings
//!
//! - `vertex_project`: the Google Cloud project; defaults to the credentials' `project_id`
//!   (`quota_project_id` for authorized-user credentials).
//! - `vertex_location`: the region, default `us-central1`; `global` uses the global host.
//! - `vertex_credentials`: the JSON text (or object) of a service-account key file or of an
//!   authorized-user file (see [`auth`]); `"os.environ/NAME"` works as everywhere. LiteLLM
//!   also accepts a file path; llmux reads no files.
//! - `api_key`: when no `vertex_credentials` are given, used as the OAuth access token itself
//!   (`Authorization: Bearer <api_key>`), e.g. the output of `gcloud auth print-access-token`
//!   or a token your own service mints. LiteLLM would fall back to Application Default
//!   Credentials there; llmux cannot (no metadata server, no files), so one of the two is
//!   required. With both, the credentials win.
//! - `api_base`: replaces the host (`https://{location}-aiplatform.googleapis.com`); the
//!   `/v1/projects/…` path is appended unless the base already ends in a version segment
//!   (`…/v1`, `…/v1beta1`). A base that already names a model (its path contains
//!   `/models/`, e.g. a Cloudflare AI Gateway URL) is used as LiteLLM does: `{api_base}:{method}`.
//!
//! # Endpoints
//!
//! `POST {host}/v1/projects/{project}/locations/{location}/publishers/{publisher}/models/{model}:{method}`
//! with `Authorization: Bearer <token>` and `content-type: application/json`, then the
//! deployment's `headers` (replacing defaults of the same name).
//! - Gemini and other Google models: publisher `google`, method `generateContent`; request and
//!   response are translated by the `gemini` provider module (same format, same dropped
//!   parameters, see its docs), `created` from the reply's `createTime`.
//! - `claude-*` models: publisher `anthropic`, method `rawPredict`; the body is the
//!   `anthropic` module's Messages body without `model` and with
//!   `anthropic_version: "vertex-2023-10-16"` (LiteLLM's `VertexAIAnthropicConfig`). A missing
//!   `max_tokens` becomes the model's output limit from the bundled `vertex_ai` price data,
//!   else the `anthropic` module's default. The reply goes through the `anthropic` parser,
//!   with `model` set to the deployment's model, as LiteLLM does. Google-format errors
//!   (quota, auth) on this route are classified like Gemini's.
//! - Embeddings: method `predict` with `instances: [{content, task_type?, title?}]` (one per
//!   input string) and `parameters: {outputDimensionality?, autoTruncate?}` from `dimensions`
//!   (or `output_dimensionality`) and `auto_truncate`; `task_type` (or LiteLLM's
//!   `input_type`) and `title` go on every instance. Dropped: `encoding_format` (always
//!   floats), `user`. Usage is the sum of `statistics.token_count`. Token-array inputs are a
//!   `BadRequestError` (Vertex embeds text).
//!
//! Streaming (`stream: true`): Gemini models post the same body to
//! `:streamGenerateContent?alt=sse` and the SSE reply is decoded by the `gemini` module's
//! stream decoder; Claude models post to `:streamRawPredict` with `stream: true` and the reply
//! is decoded by the `anthropic` module's, with the deployment's model on every chunk.
//!
//! Text completion goes through chat (the router converts). Not yet supported (refused when
//! the deployment is configured): partner models other than Claude (Llama, Mistral,
//! Codestral, Jamba, `publisher/model` MaaS names), numeric endpoint ids and `gemini/<id>`
//! tuned-model endpoints.
//!
//! # Errors
//!
//! Google's `{"error": {code, message, status, details}}` bodies go through the `gemini`
//! classifier: 401 `UNAUTHENTICATED` → `AuthenticationError`, 403 `PERMISSION_DENIED` →
//! `PermissionDeniedError`, 404 → `NotFoundError`, 429 `RESOURCE_EXHAUSTED` →
//! `RateLimitError`, token-limit messages → `ContextWindowExceededError`; a 401 also drops
//! the cached access token of the deployment's credentials. Claude's own
//! `{type: "error"}` bodies go through the `anthropic` classifier. Token exchange failures:
//! see [`auth`].

pub mod auth;
pub mod jwt;

use super::anthropic::{self, Anthropic};
use super::gemini;
use super::{Provider, RequestContext};
use crate::config::Deployment;
use crate::cost::CostMap;
use crate::error::{ErrorKind, LlmError};
use crate::ports::{HttpRequest, HttpResponse, LocalFuture, Ports};
use crate::reliability::classify;
use crate::stream::{StreamContext, StreamDecoder};
use crate::types::object::Put;
use crate::types::Endpoint;
use auth::Credentials;
use serde_json::{Map, Value};

/// The region used when `vertex_location` is not set (LiteLLM's default).
pub const DEFAULT_LOCATION: &str = "us-central1";
/// The `anthropic_version` Claude on Vertex requires in the body.
pub const ANTHROPIC_VERSION: &str = "vertex-2023-10-16";
/// Bound of a token exchange when the deployment sets no `timeout`.
pub const DEFAULT_AUTH_TIMEOUT_MS: u64 = 60_000;

pub struct VertexAi;

/// Which wire format a Vertex model speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Google,
    Claude,
}

fn family(model: &str) -> Family {
    if model.to_ascii_lowercase().contains("claude") {
        Family::Claude
    } else {
        Family::Google
    }
}

fn non_empty(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

fn credentials(d: &Deployment) -> Option<Result<Credentials, String>> {
    non_empty(d.provider_param("vertex_credentials")).map(Credentials::parse)
}

fn location(d: &Deployment) -> &str {
    non_empty(d.provider_param("vertex_location")).unwrap_or(DEFAULT_LOCATION)
}

fn project(d: &Deployment) -> Option<String> {
    non_empty(d.provider_param("vertex_project"))
        .map(String::from)
        .or_else(|| credentials(d)?.ok()?.project_id)
}

/// True when `api_base` already names a model (LiteLLM's `{api_base}:{endpoint}` form).
fn names_a_model(api_base: &str) -> bool {
    api_base.contains("/models/")
}

/// `v1`, `v1beta1`, `v1alpha`…
fn is_version_segment(segment: &str) -> bool {
    segment
        .strip_prefix('v')
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        && segment.chars().all(|c| c.is_ascii_alphanumeric())
}

/// The host of a region: `global` → `aiplatform.googleapis.com`.
pub fn default_host(location: &str) -> String {
    if location == "global" {
        "https://aiplatform.googleapis.com".into()
    } else {
        format!("https://{location}-aiplatform.googleapis.com")
    }
}

/// The URL of `publisher`'s `model` `:method` for the deployment (see the module docs).
fn model_url(
    d: &Deployment,
    publisher: &str,
    model: &str,
    method: &str,
) -> Result<String, LlmError> {
    if let Some(base) = d.api_base.as_deref().filter(|b| names_a_model(b)) {
        return Ok(format!("{}:{method}", base.trim_end_matches('/')));
    }
    let location = location(d);
    let project = project(d).ok_or_else(|| {
        LlmError::bad_request("vertex_ai needs vertex_project (or credentials with a project_id)")
    })?;
    let base = match d.api_base.as_deref() {
        Some(base) => {
            let base = base.trim_end_matches('/');
            if is_version_segment(base.rsplit('/').next().unwrap_or("")) {
                base.to_string()
            } else {
                format!("{base}/v1")
            }
        }
        None => format!("{}/v1", default_host(location)),
    };
    Ok(format!(
        "{base}/projects/{project}/locations/{location}/publishers/{publisher}/models/{model}:{method}"
    ))
}

/// `max_tokens` for a Claude model on Vertex when the request sets none.
fn claude_max_tokens(model: &str) -> u64 {
    CostMap::bundled()
        .lookup("vertex_ai", model)
        .filter(|c| crate::cost::provider_family(&c.litellm_provider) == "vertex_ai")
        .and_then(|c| c.max_output_tokens.or(c.max_tokens))
        .unwrap_or_else(|| anthropic::default_max_tokens(model.split('@').next().unwrap_or(model)))
}

/// The Messages body of the `anthropic` module, adapted to `rawPredict`.
fn claude_body(
    d: &Deployment,
    mut body: Map<String, Value>,
    ctx: &RequestContext,
) -> Result<Value, LlmError> {
    let has = |k: &str| body.get(k).is_some_and(|v| !v.is_null());
    if !has("max_tokens") && !has("max_completion_tokens") {
        body.put("max_tokens", Value::from(claude_max_tokens(&d.model)));
    }
    let request = Anthropic.build_request(d, Endpoint::ChatCompletion, body, ctx)?;
    let mut value: Value = serde_json::from_str(request.body.as_deref().unwrap_or("{}"))
        .map_err(|e| LlmError::bad_request(format!("request is not serialisable: {e}")))?;
    if let Some(obj) = value.as_object_mut() {
        obj.remove("model");
        obj.put("anthropic_version", Value::from(ANTHROPIC_VERSION));
        if ctx.stream {
            obj.put("stream", Value::from(true));
        }
    }
    Ok(value)
}

/// OpenAI embedding request → Vertex `predict` body.
fn embedding_body(body: &Map<String, Value>) -> Result<Value, LlmError> {
    let texts: Vec<&str> = match body.get("input") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().ok_or_else(|| {
                    LlmError::bad_request(
                        "vertex_ai embeddings take text: 'input' must be a string or an array of strings",
                    )
                })
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(LlmError::bad_request(
                "'input' must be a string or an array of strings",
            ))
        }
    };
    if texts.is_empty() {
        return Err(LlmError::bad_request("'input' must not be empty"));
    }
    let get = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| body.get(*k).filter(|v| !v.is_null()))
            .cloned()
    };
    let task_type = get(&["task_type", "input_type"]);
    let title = get(&["title"]);
    let instances: Vec<Value> = texts
        .iter()
        .map(|text| {
            let mut instance = Map::new();
            instance.put("content", Value::from(*text));
            if let Some(t) = &task_type {
                instance.put("task_type", t.clone());
            }
            if let Some(t) = &title {
                instance.put("title", t.clone());
            }
            Value::Object(instance)
        })
        .collect();
    let mut parameters = Map::new();
    if let Some(d) = get(&[
        "dimensions",
        "output_dimensionality",
        "outputDimensionality",
    ]) {
        parameters.put("outputDimensionality", d);
    }
    if let Some(t) = get(&["auto_truncate", "autoTruncate"]) {
        parameters.put("autoTruncate", t);
    }
    let mut out = Map::new();
    out.put("instances", Value::Array(instances));
    if !parameters.is_empty() {
        out.put("parameters", Value::Object(parameters));
    }
    Ok(Value::Object(out))
}

/// Vertex `predict` reply → OpenAI embedding list.
fn parse_embedding(model: &str, response: &HttpResponse) -> Result<Value, LlmError> {
    let value = gemini::response::json_body(response)?;
    let Some(predictions) = value.get("predictions").and_then(Value::as_array) else {
        return Err(classify::malformed_body("no `predictions` array"));
    };
    let mut data = Vec::with_capacity(predictions.len());
    let mut tokens = 0u64;
    for (index, prediction) in predictions.iter().enumerate() {
        let Some(values) = prediction
            .pointer("/embeddings/values")
            .filter(|v| v.is_array())
        else {
            return Err(classify::malformed_body(
                "a prediction has no `embeddings.values`",
            ));
        };
        tokens = tokens.saturating_add(
            prediction
                .pointer("/embeddings/statistics/token_count")
                .and_then(Value::as_f64)
                .map_or(0, |n| n.max(0.0) as u64),
        );
        data.push(crate::obj! {"object": "embedding", "index": index, "embedding": values.clone()});
    }
    Ok(crate::obj! {
        "object": "list",
        "data": data,
        "model": model,
        "usage": crate::obj!{"prompt_tokens": tokens, "total_tokens": tokens},
    })
}

/// True when a reply body is Google's error format rather than Anthropic's.
fn is_google_error(response: &HttpResponse) -> bool {
    match serde_json::from_slice::<Value>(&response.body) {
        Ok(Value::Array(_)) => true,
        Ok(v) => v.pointer("/error/type").is_none() && v.get("error").is_some_and(Value::is_object),
        Err(_) => false,
    }
}

impl Provider for VertexAi {
    fn name(&self) -> &'static str {
        "vertex_ai"
    }

    fn supports(&self, endpoint: Endpoint) -> bool {
        matches!(endpoint, Endpoint::ChatCompletion | Endpoint::Embedding)
    }

    fn needs_auth(&self, d: &Deployment) -> bool {
        credentials(d).is_some()
    }

    fn auth<'a>(
        &'a self,
        d: &'a Deployment,
        ports: &'a Ports,
    ) -> Option<LocalFuture<'a, Result<String, LlmError>>> {
        let parsed = credentials(d)?;
        let timeout_ms = d.timeout_ms.unwrap_or(DEFAULT_AUTH_TIMEOUT_MS);
        Some(match parsed {
            Ok(creds) => auth::access_token(&creds, ports, timeout_ms),
            Err(m) => Box::pin(std::future::ready(Err(LlmError::new(
                ErrorKind::AuthenticationError,
                format!("vertex_credentials: {m}"),
            )))),
        })
    }

    fn build_request(
        &self,
        d: &Deployment,
        endpoint: Endpoint,
        body: Map<String, Value>,
        ctx: &RequestContext,
    ) -> Result<HttpRequest, LlmError> {
        let token = non_empty(ctx.bearer_token.as_deref())
            .or_else(|| non_empty(d.api_key.as_ref().map(|k| k.expose())))
            .ok_or_else(|| {
                LlmError::new(
                    ErrorKind::AuthenticationError,
                    "vertex_ai needs vertex_credentials or an access token as api_key",
                )
            })?
            .to_string();
        let model = d.model.as_str();
        let (url, payload) = match (endpoint, family(model)) {
            (Endpoint::ChatCompletion, Family::Google) => (
                model_url(
                    d,
                    "google",
                    model,
                    if ctx.stream {
                        "streamGenerateContent?alt=sse"
                    } else {
                        "generateContent"
                    },
                )?,
                gemini::request::chat_body(model, body)?,
            ),
            (Endpoint::ChatCompletion, Family::Claude) => (
                model_url(
                    d,
                    "anthropic",
                    model,
                    if ctx.stream {
                        "streamRawPredict"
                    } else {
                        "rawPredict"
                    },
                )?,
                claude_body(d, body, ctx)?,
            ),
            (Endpoint::Embedding, Family::Google) => (
                model_url(d, "google", model, "predict")?,
                embedding_body(&body)?,
            ),
            _ => {
                return Err(LlmError::bad_request(format!(
                    "vertex_ai/{model} does not serve {}()",
                    endpoint.method()
                )))
            }
        };
        let mut headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            ("authorization".to_string(), format!("Bearer {token}")),
        ];
        for (name, value) in &d.headers {
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
            headers.push((name.clone(), value.expose().to_string()));
        }
        crate::providers::post_json(url, headers, &payload, ctx)
    }

    /// Gemini models stream through the `gemini` decoder; Claude's `streamRawPredict` reply
    /// is Anthropic's SSE format, decoded by the `anthropic` decoder.
    fn stream_decoder(
        &self,
        d: &Deployment,
        endpoint: Endpoint,
        ctx: &StreamContext,
    ) -> Option<Box<dyn StreamDecoder>> {
        match (endpoint, family(&d.model)) {
            (Endpoint::ChatCompletion, Family::Google) => Some(Box::new(
                gemini::stream::GeminiStream::new("vertex_ai", ctx),
            )),
            (Endpoint::ChatCompletion, Family::Claude) => Some(Box::new(ClaudeStream {
                inner: anthropic::AnthropicStream::new(ctx),
                model: d.model.clone(),
            })),
            _ => None,
        }
    }

    fn parse_response(
        &self,
        d: &Deployment,
        endpoint: Endpoint,
        response: &HttpResponse,
    ) -> Result<Value, LlmError> {
        if response.status == 401 {
            if let Some(Ok(creds)) = credentials(d) {
                auth::forget(&creds);
            }
        }
        match (endpoint, family(&d.model)) {
            (Endpoint::Embedding, _) => parse_embedding(&d.model, response),
            (Endpoint::ChatCompletion | Endpoint::TextCompletion, Family::Google) => {
                gemini::response::parse_chat(&d.model, response)
            }
            (Endpoint::ChatCompletion | Endpoint::TextCompletion, Family::Claude) => {
                if !(200..300).contains(&response.status) && is_google_error(response) {
                    return Err(gemini::response::error(response));
                }
                let mut value = Anthropic.parse_response(d, Endpoint::ChatCompletion, response)?;
                if let Some(obj) = value.as_object_mut() {
                    obj.put("model", Value::from(d.model.clone()));
                }
                Ok(value)
            }
            _ => Err(crate::providers::unsupported("vertex_ai", endpoint)),
        }
    }
}

/// Claude's Anthropic-format stream, with the deployment's model on every chunk (as the
/// non-streaming reply has it, and LiteLLM).
struct ClaudeStream {
    inner: anthropic::AnthropicStream,
    model: String,
}

impl ClaudeStream {
    fn stamp(&self, mut chunks: Vec<Value>) -> Vec<Value> {
        for chunk in &mut chunks {
            if let Some(obj) = chunk.as_object_mut() {
                obj.put("model", Value::from(self.model.clone()));
            }
        }
        chunks
    }
}

impl StreamDecoder for ClaudeStream {
    fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Value>, LlmError> {
        let chunks = self.inner.feed(bytes)?;
        Ok(self.stamp(chunks))
    }

    fn finish(&mut self) -> Result<Vec<Value>, LlmError> {
        let chunks = self.inner.finish()?;
        Ok(self.stamp(chunks))
    }
}

/// Partner models LiteLLM routes to other formats, which llmux does not speak yet.
fn unsupported_model(model: &str) -> Option<&'static str> {
    let lower = model.to_ascii_lowercase();
    if lower.contains("claude") {
        return None;
    }
    if !lower.is_empty() && lower.chars().all(|c| c.is_ascii_digit()) {
        return Some("numeric endpoint ids");
    }
    if lower.starts_with("gemini/") {
        return Some("tuned-model endpoints (gemini/<endpoint id>)");
    }
    if ["llama", "mistral", "codestral", "jamba"]
        .iter()
        .any(|p| lower.contains(p))
        || lower.contains('/')
    {
        return Some("partner models other than Claude");
    }
    None
}

/// Configuration checks (message only; the caller adds the path).
pub fn validate(d: &Deployment) -> Result<(), String> {
    if let Some(what) = unsupported_model(&d.model) {
        return Err(format!(
            "vertex_ai/{}: {what} are not yet supported by llmux (Gemini, Claude and text-embedding models are)",
            d.model
        ));
    }
    let creds = match credentials(d) {
        Some(parsed) => Some(parsed.map_err(|m| format!("vertex_credentials: {m}"))?),
        None => None,
    };
    if creds.is_none() && non_empty(d.api_key.as_ref().map(|k| k.expose())).is_none() {
        return Err("vertex_ai needs vertex_credentials (a service-account JSON) or api_key (an OAuth access token, e.g. from `gcloud auth print-access-token`); llmux cannot use Application Default Credentials".into());
    }
    let loc = location(d);
    if !loc
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(format!(
            "vertex_location {loc:?} is not a region name (e.g. \"us-central1\", \"global\")"
        ));
    }
    let named = d.api_base.as_deref().is_some_and(names_a_model);
    if !named && project(d).is_none() {
        return Err(
            "vertex_ai needs vertex_project (or vertex_credentials with a project_id, or VERTEXAI_PROJECT in the environment)".into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_location_uses_the_global_host() {
        assert_eq!(default_host("global"), "https://aiplatform.googleapis.com");
        assert_eq!(
            default_host("europe-west4"),
            "https://europe-west4-aiplatform.googleapis.com"
        );
    }

    #[test]
    fn version_segments_are_recognised() {
        assert!(is_version_segment("v1"));
        assert!(is_version_segment("v1beta1"));
        assert!(!is_version_segment("vertex"));
        assert!(!is_version_segment("v"));
    }

    #[test]
    fn claude_models_are_detected_and_partner_models_refused() {
        assert_eq!(family("claude-sonnet-4-5@20250929"), Family::Claude);
        assert_eq!(family("gemini-2.5-flash"), Family::Google);
        assert_eq!(unsupported_model("claude-opus-4-1@20250805"), None);
        assert_eq!(unsupported_model("text-embedding-005"), None);
        assert!(unsupported_model("meta/llama-3.1-405b-instruct-maas").is_some());
        assert!(unsupported_model("mistral-large@2407").is_some());
        assert!(unsupported_model("1234567890").is_some());
        assert!(unsupported_model("gemini/1234567890").is_some());
    }

    #[test]
    fn claude_max_tokens_come_from_the_vertex_price_data() {
        // vertex_ai/claude-sonnet-4-5@20250929 has max_output_tokens 64000 in LiteLLM's map.
        assert_eq!(claude_max_tokens("claude-sonnet-4-5@20250929"), 64000);
        assert_eq!(
            claude_max_tokens("claude-unknown@1"),
            anthropic::DEFAULT_MAX_TOKENS
        );
    }
}
