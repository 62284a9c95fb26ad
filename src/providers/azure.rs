//! Azure OpenAI (`azure/<deployment>`) and Azure AI Foundry / serverless endpoints
//! (`azure_ai/<model>`), both speaking OpenAI's wire format; replies are parsed by
//! [`OpenAi`](super::openai::OpenAi), errors get Azure's extra detail (content-filter results).
//!
//! # `azure` (LiteLLM's `AzureChatCompletion`, i.e. the `AzureOpenAI` SDK client)
//! - `api_base` (the resource endpoint, `https://<resource>.openai.azure.com`) is required.
//!   `api_version` defaults to [`DEFAULT_API_VERSION`], LiteLLM's `AZURE_DEFAULT_API_VERSION`.
//! - URL: `{api_base}/openai/deployments/{deployment}/chat/completions?api-version={v}` (and
//!   `/completions`, `/embeddings`). An `api_base` that already holds `/openai/deployments/...`
//!   is used as is (LiteLLM passes it to the SDK as `base_url`); a trailing `/openai` is not
//!   doubled; an `api-version` already in `api_base`'s query wins. `api_version` `v1`, `latest`
//!   or `preview` selects Azure's v1 API: `{api_base}/openai/v1/chat/completions`, no
//!   `api-version`, `Authorization: Bearer <api_key>` (LiteLLM uses the plain OpenAI client).
//!   A Cloudflare AI Gateway `api_base` (`gateway.ai.cloudflare.com`) gets
//!   `/{deployment}/chat/completions` and no `model` in the body, as LiteLLM does.
//! - Deployment names prefixed `o_series/` or `gpt5_series/` (LiteLLM's family hints) lose
//!   the prefix in the URL and body.
//! - Auth: `api-key: <api_key>`; `litellm_params.azure_ad_token` wins when set and is sent as
//!   `Authorization: Bearer <token>` (as the SDK does). A header of the same name in
//!   `headers`/`extra_headers` wins over both.
//! - Body: the OpenAI body with `model` set to the deployment name (the SDK sends it too).
//!   Dropped, as LiteLLM's `drop_params` does for Azure: `service_tier` and `thinking` (not in
//!   LiteLLM's Azure parameter list), and `tool_choice` when there are no `tools`/`functions`.
//!   For reasoning-family deployments (name contains `o1`, `o3`, `o4`, `gpt-5`, or a family
//!   prefix) `max_tokens` becomes `max_completion_tokens`, as LiteLLM does. Everything else
//!   (`reasoning_effort`, `data_sources`, …) passes through: the deployment name does not say
//!   which model serves it, so Azure decides.
//! - Replies are returned untouched, including `prompt_filter_results` and each choice's
//!   `content_filter_results`. A 200 whose choice ends with `finish_reason: "content_filter"`
//!   is a normal reply here, as in LiteLLM's provider layer.
//!
//! # `azure_ai` (LiteLLM's `AzureAIStudioConfig`)
//! - `api_base` is required; `api_version` is added as `api-version` only when set.
//! - URL: chat goes to `{api_base}/models/chat/completions` when the host is
//!   `*.services.ai.azure.com`, else `{api_base}/chat/completions`; embeddings to
//!   `{api_base}/embeddings`. Path segments already at the end of `api_base` are not repeated
//!   (LiteLLM's `_add_path_to_api_base`).
//! - Auth: `api-key` for `*.services.ai.azure.com` and `*.openai.azure.com` hosts, else
//!   `Authorization: Bearer <api_key>` (LiteLLM sends Bearer for embeddings on every host).
//! - Body: OpenAI's, `model` = the model name. Message content given as a list of text parts
//!   is joined into one string (Azure AI models take strings) unless it holds an image, audio
//!   or file part.
//! - A model name that LiteLLM knows as an OpenAI model (`azure_ai/gpt-4o`) is sent the way
//!   `azure` sends it (LiteLLM switches such models to its Azure OpenAI path).

use super::openai::OpenAi;
use super::{error_message, Provider, RequestContext};
use crate::config::Deployment;
use crate::cost::CostMap;
use crate::error::LlmError;
use crate::ports::{HttpRequest, HttpResponse};
use crate::reliability::classify;
use crate::stream::{StreamContext, StreamDecoder};
use crate::types::audio::{Audio, FormUpload, Upload};
use crate::types::object::Put;
use crate::types::Endpoint;
use serde_json::{Map, Value};

/// The `api-version` sent when a deployment sets none: LiteLLM's `AZURE_DEFAULT_API_VERSION`.
pub const DEFAULT_API_VERSION: &str = "2025-02-01-preview";

/// LiteLLM's `AZURE_DEFAULT_RESPONSES_API_VERSION`: the v1 API.
const DEFAULT_RESPONSES_API_VERSION: &str = "preview";

/// `api_version` values that select Azure's version-less v1 API.
const V1_API_VERSIONS: &[&str] = &["v1", "latest", "preview"];

/// Model-family hints LiteLLM lets users put before an Azure deployment name.
const FAMILY_PREFIXES: &[&str] = &["o_series/", "gpt5_series/"];

/// Substrings of a deployment name that mark a reasoning model (max_completion_tokens only).
const REASONING_MARKERS: &[&str] = &["o1", "o3", "o4", "gpt-5", "gpt5"];

/// OpenAI chat parameters Azure does not take (not in LiteLLM's Azure list): dropped.
const DROPPED_CHAT_PARAMS: &[&str] = &["service_tier", "thinking"];

/// Message-content part types that keep an `azure_ai` message's content a list.
const NON_TEXT_PARTS: &[&str] = &["image_url", "input_audio", "file"];

pub struct Azure;
pub struct AzureAi;

impl Provider for Azure {
    fn name(&self) -> &'static str {
        "azure"
    }

    fn supports(&self, endpoint: Endpoint) -> bool {
        matches!(
            endpoint,
            Endpoint::ChatCompletion
                | Endpoint::TextCompletion
                | Endpoint::Embedding
                | Endpoint::ImageGeneration
                | Endpoint::ImageEdit
                | Endpoint::Transcription
                | Endpoint::Speech
                | Endpoint::Responses
        )
    }

    fn build_request(
        &self,
        d: &Deployment,
        endpoint: Endpoint,
        body: Map<String, Value>,
        ctx: &RequestContext,
    ) -> Result<HttpRequest, LlmError> {
        build_azure_openai(d, endpoint, body, ctx)
    }

    /// Whisper deployments: the same URL and auth as any Azure OpenAI call, multipart body.
    fn build_upload(
        &self,
        d: &Deployment,
        endpoint: Endpoint,
        body: Map<String, Value>,
        upload: &Upload,
        ctx: &RequestContext,
    ) -> Result<HttpRequest, LlmError> {
        let (url, auth) = multipart_target(d, endpoint, ctx)?;
        super::openai::build_upload(&url, deployment_name(&d.model), auth, d, body, upload, ctx)
    }

    /// Image edits: `/openai/deployments/{deployment}/images/edits?api-version=…` with the
    /// deployment's `api-key` (or Entra token), the form encoded by the host.
    fn build_form(
        &self,
        d: &Deployment,
        endpoint: Endpoint,
        body: Map<String, Value>,
        form: &FormUpload,
        ctx: &RequestContext,
    ) -> Result<HttpRequest, LlmError> {
        let (url, auth) = multipart_target(d, endpoint, ctx)?;
        super::openai::build_form(&url, deployment_name(&d.model), auth, d, body, form, ctx)
    }

    fn parse_audio(&self, _d: &Deployment, response: &HttpResponse) -> Result<Audio, LlmError> {
        if !(200..300).contains(&response.status) {
            return Err(classify::from_status(
                response,
                azure_error_message(response),
            ));
        }
        super::openai::parse_audio(response)
    }

    fn stream_decoder(
        &self,
        _d: &Deployment,
        endpoint: Endpoint,
        ctx: &StreamContext,
    ) -> Option<Box<dyn StreamDecoder>> {
        super::openai::stream_decoder(self.name(), endpoint, ctx)
    }

    fn parse_response(
        &self,
        d: &Deployment,
        endpoint: Endpoint,
        response: &HttpResponse,
    ) -> Result<Value, LlmError> {
        parse(d, endpoint, response)
    }
}

impl Provider for AzureAi {
    fn name(&self) -> &'static str {
        "azure_ai"
    }

    fn supports(&self, endpoint: Endpoint) -> bool {
        matches!(
            endpoint,
            Endpoint::ChatCompletion | Endpoint::Embedding | Endpoint::Rerank
        )
    }

    fn build_request(
        &self,
        d: &Deployment,
        endpoint: Endpoint,
        body: Map<String, Value>,
        ctx: &RequestContext,
    ) -> Result<HttpRequest, LlmError> {
        if is_openai_model(&d.model) {
            build_azure_openai(d, endpoint, body, ctx)
        } else {
            build_azure_ai(d, endpoint, body, ctx)
        }
    }

    fn stream_decoder(
        &self,
        _d: &Deployment,
        endpoint: Endpoint,
        ctx: &StreamContext,
    ) -> Option<Box<dyn StreamDecoder>> {
        super::openai::stream_decoder(self.name(), endpoint, ctx)
    }

    fn parse_response(
        &self,
        d: &Deployment,
        endpoint: Endpoint,
        response: &HttpResponse,
    ) -> Result<Value, LlmError> {
        parse(d, endpoint, response)
    }
}

/// Config checks for `azure` and `azure_ai` deployments (message only; the caller adds the path).
pub fn validate(d: &Deployment) -> Result<(), String> {
    if d.api_base.is_none() {
        return Err(if d.provider == "azure" {
            "azure deployments require api_base, the resource endpoint (e.g. \"https://<resource>.openai.azure.com\")".to_string()
        } else {
            format!(
                "{} deployments require api_base, the endpoint (e.g. \"https://<resource>.services.ai.azure.com/models\" or a serverless \"https://<endpoint>.<region>.models.ai.azure.com\")",
                d.provider
            )
        });
    }
    if d.api_version
        .as_deref()
        .is_some_and(|v| v.trim().is_empty())
    {
        return Err("api_version must not be empty".to_string());
    }
    if d.provider_param("azure_ad_token")
        .is_some_and(|t| t.starts_with("oidc/"))
    {
        return Err("azure_ad_token \"oidc/...\" (OIDC token exchange) is not yet supported by llmux; pass the Entra ID access token itself".to_string());
    }
    Ok(())
}

/// Whether LiteLLM counts `model` as an OpenAI model (and so sends `azure_ai/<model>` to Azure
/// OpenAI's deployment path).
fn is_openai_model(model: &str) -> bool {
    matches!(
        CostMap::bundled().provider_of(model),
        Some("openai" | "text-completion-openai")
    )
}

/// The deployment name in the URL: the model without a LiteLLM family prefix.
pub fn deployment_name(model: &str) -> &str {
    FAMILY_PREFIXES
        .iter()
        .find_map(|p| model.strip_prefix(p))
        .unwrap_or(model)
}

fn is_reasoning_deployment(model: &str) -> bool {
    FAMILY_PREFIXES.iter().any(|p| model.starts_with(p))
        || REASONING_MARKERS.iter().any(|m| model.contains(m))
}

fn missing_base(d: &Deployment) -> LlmError {
    LlmError::bad_request(format!("{} deployment has no api_base", d.provider))
}

/// A multipart call's URL and auth (`api-key` or the Entra token): those of any Azure OpenAI
/// call to `endpoint`; the body is the caller's form.
fn multipart_target(
    d: &Deployment,
    endpoint: Endpoint,
    ctx: &RequestContext,
) -> Result<(String, Vec<(String, String)>), LlmError> {
    let target = build_azure_openai(d, endpoint, Map::new(), ctx)?;
    let auth = target
        .headers
        .into_iter()
        .filter(|(k, _)| k == "api-key" || k == "authorization")
        .collect();
    Ok((target.url, auth))
}

fn build_azure_openai(
    d: &Deployment,
    endpoint: Endpoint,
    mut body: Map<String, Value>,
    ctx: &RequestContext,
) -> Result<HttpRequest, LlmError> {
    let base = d.api_base.as_deref().ok_or_else(|| missing_base(d))?;
    if ctx.stream {
        super::openai::request_stream(&mut body, endpoint, true);
    }
    let deployment = deployment_name(&d.model);
    // Responses live at the resource level (`/openai/responses?api-version=` or, by default,
    // the v1 API's `/openai/v1/responses`), as LiteLLM builds the URL.
    let version = match d.api_version.as_deref() {
        Some(v) => v,
        None if endpoint == Endpoint::Responses => DEFAULT_RESPONSES_API_VERSION,
        None => DEFAULT_API_VERSION,
    };
    let v1 = V1_API_VERSIONS.contains(&version);
    let (path, mut query) = split_query(base);
    let path = path.trim_end_matches('/');
    let cloudflare = path.contains("gateway.ai.cloudflare.com");
    let url_path = if v1 {
        let root = path
            .strip_suffix("/openai/v1")
            .or_else(|| path.strip_suffix("/openai"))
            .unwrap_or(path);
        format!("{root}/openai/v1{}", endpoint.path())
    } else if cloudflare {
        format!("{path}/{}{}", encode(deployment), endpoint.path())
    } else if endpoint == Endpoint::Responses {
        let root = path
            .strip_suffix("/openai/responses")
            .or_else(|| path.strip_suffix("/openai"))
            .unwrap_or(path);
        format!("{root}/openai/responses")
    } else if path.contains("/openai/deployments") {
        add_path(path, endpoint.path())
    } else {
        let root = path.strip_suffix("/openai").unwrap_or(path);
        format!(
            "{root}/openai/deployments/{}{}",
            encode(deployment),
            endpoint.path()
        )
    };
    if !v1 && !query.iter().any(|(k, _)| k == "api-version") {
        query.push(("api-version".to_string(), encode(version)));
    }

    if cloudflare {
        body.remove("model");
    } else {
        body.put("model", Value::String(deployment.to_string()));
    }
    if endpoint == Endpoint::ChatCompletion {
        adjust_chat_body(&mut body, &d.model);
    }

    let token = d.provider_param("azure_ad_token");
    let key = d.api_key.as_ref().map(|k| k.expose());
    let auth = if v1 {
        key.or(token)
            .map(|k| ("authorization", format!("Bearer {k}")))
    } else {
        match (token, key) {
            (Some(t), _) => Some(("authorization", format!("Bearer {t}"))),
            (None, Some(k)) => Some(("api-key", k.to_string())),
            (None, None) => None,
        }
    };
    finish(d, with_query(url_path, &query), auth, body, ctx)
}

fn build_azure_ai(
    d: &Deployment,
    endpoint: Endpoint,
    mut body: Map<String, Value>,
    ctx: &RequestContext,
) -> Result<HttpRequest, LlmError> {
    let base = d.api_base.as_deref().ok_or_else(|| missing_base(d))?;
    if ctx.stream {
        super::openai::request_stream(&mut body, endpoint, true);
    }
    let (path, mut query) = split_query(base);
    if endpoint == Endpoint::Rerank {
        return azure_ai_rerank(d, path, &query, body, ctx);
    }
    let services = host_of(path).ends_with(".services.ai.azure.com");
    let ending = match endpoint {
        Endpoint::ChatCompletion if services => "/models/chat/completions",
        Endpoint::ChatCompletion => "/chat/completions",
        Endpoint::Embedding => "/embeddings",
        Endpoint::TextCompletion
        | Endpoint::ImageGeneration
        | Endpoint::ImageEdit
        | Endpoint::Moderation
        | Endpoint::Transcription
        | Endpoint::Speech
        | Endpoint::Rerank
        | Endpoint::Responses
        | Endpoint::Realtime => return Err(crate::providers::unsupported("azure_ai", endpoint)),
    };
    if let Some(version) = &d.api_version {
        if !query.iter().any(|(k, _)| k == "api-version") {
            query.push(("api-version".to_string(), encode(version)));
        }
    }
    body.put("model", Value::String(d.model.clone()));
    if endpoint == Endpoint::ChatCompletion {
        flatten_text_content(&mut body);
    }
    let host = host_of(path);
    let auth = d.api_key.as_ref().map(|k| {
        if host.ends_with(".services.ai.azure.com") || host.ends_with(".openai.azure.com") {
            ("api-key", k.expose().to_string())
        } else {
            ("authorization", format!("Bearer {}", k.expose()))
        }
    });
    finish(
        d,
        with_query(add_path(path, ending), &query),
        auth,
        body,
        ctx,
    )
}

/// Cohere rerank models on Azure AI (LiteLLM's `AzureAIRerankConfig`: Cohere's v1 body): a base
/// ending in `/v1/rerank` or `/v2/rerank` as is, one ending in `/v1`, `/v2` or
/// `/providers/cohere/v2` gets `/rerank`, any other gets `/v1/rerank`.
fn azure_ai_rerank(
    d: &Deployment,
    path: &str,
    query: &[(String, String)],
    body: Map<String, Value>,
    ctx: &RequestContext,
) -> Result<HttpRequest, LlmError> {
    let path = path.trim_end_matches('/');
    let url_path = if path.ends_with("/v1/rerank") || path.ends_with("/v2/rerank") {
        path.to_string()
    } else if path.ends_with("/v1") || path.ends_with("/v2") {
        add_path(path, "/rerank")
    } else {
        add_path(path, "/v1/rerank")
    };
    let payload = super::rerank::body(super::rerank::Api::CohereV1, &d.model, body)?;
    let Value::Object(payload) = payload else {
        return Err(LlmError::bad_request(
            "rerank: the request must be an object",
        ));
    };
    let host = host_of(path);
    let auth = d.api_key.as_ref().map(|k| {
        if host.ends_with(".services.ai.azure.com") || host.ends_with(".openai.azure.com") {
            ("api-key", k.expose().to_string())
        } else {
            ("authorization", format!("Bearer {}", k.expose()))
        }
    });
    finish(d, with_query(url_path, query), auth, payload, ctx)
}

/// Headers (content type, auth unless the deployment's headers set it, then those headers)
/// and the serialised body.
fn finish(
    d: &Deployment,
    url: String,
    auth: Option<(&str, String)>,
    body: Map<String, Value>,
    ctx: &RequestContext,
) -> Result<HttpRequest, LlmError> {
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    if let Some((name, value)) = auth {
        if !d.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name)) {
            headers.push((name.to_string(), value));
        }
    }
    headers.extend(
        d.headers
            .iter()
            .map(|(k, v)| (k.clone(), v.expose().to_string())),
    );
    crate::providers::post_json(url, headers, &Value::Object(body), ctx)
}

/// LiteLLM's Azure chat mapping: drop what Azure does not take, `tool_choice` without tools,
/// and rename `max_tokens` for reasoning-family deployments.
fn adjust_chat_body(body: &mut Map<String, Value>, model: &str) {
    for p in DROPPED_CHAT_PARAMS {
        body.remove(*p);
    }
    if !(truthy(body.get("tools")) || truthy(body.get("functions"))) {
        body.remove("tool_choice");
    }
    if is_reasoning_deployment(model) {
        if let Some(max) = body.remove("max_tokens") {
            body.entry("max_completion_tokens").or_insert(max);
        }
    }
}

/// Python truthiness of an optional JSON value, as LiteLLM tests `optional_params.get(..)`.
fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

/// `azure_ai` models take string content: a list of text parts becomes their concatenation
/// (LiteLLM's `convert_content_list_to_str`), unless it holds an image, audio or file part.
fn flatten_text_content(body: &mut Map<String, Value>) {
    let Some(Value::Array(messages)) = body.get_mut("messages") else {
        return;
    };
    for message in messages.iter_mut() {
        let Some(Value::Array(parts)) = message.get("content") else {
            continue;
        };
        let non_text = parts.iter().any(|p| {
            p.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| NON_TEXT_PARTS.contains(&t))
        });
        if non_text {
            continue;
        }
        let text: String = parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect();
        if !text.is_empty() {
            if let Some(m) = message.as_object_mut() {
                m.put("content", Value::String(text));
            }
        }
    }
}

fn parse(d: &Deployment, endpoint: Endpoint, response: &HttpResponse) -> Result<Value, LlmError> {
    if !(200..300).contains(&response.status) {
        return Err(classify::from_status(
            response,
            azure_error_message(response),
        ));
    }
    if endpoint == Endpoint::Rerank {
        let reply: Value = classify::json_body(&response.body)?;
        return super::rerank::parse(super::rerank::Api::CohereV1, &reply, &response.body);
    }
    OpenAi.parse_response(d, endpoint, response)
}

/// The error text of an Azure reply: OpenAI's `error.message` and `code`, plus the inner error
/// code and the filtered content-filter categories (content-policy blocks), or the offending
/// parameter of an Azure AI validation error (`detail.loc`).
pub fn azure_error_message(response: &HttpResponse) -> String {
    let mut message = error_message(response);
    let Ok(v) = serde_json::from_slice::<Value>(&response.body) else {
        return message;
    };
    let err = v.get("error").filter(|e| e.is_object()).unwrap_or(&v);
    let inner = ["innererror", "inner_error"]
        .iter()
        .find_map(|k| err.get(*k).or_else(|| v.get(*k)))
        .filter(|i| i.is_object());
    if let Some(inner) = inner {
        if let Some(code) = inner.get("code").and_then(Value::as_str) {
            if !message.contains(code) {
                message.push_str(&format!(" (innererror: {code})"));
            }
        }
        let results = inner
            .get("content_filter_result")
            .or_else(|| inner.get("content_filter_results"));
        if let Some(Value::Object(categories)) = results {
            let filtered: Vec<String> = categories
                .iter()
                .filter(|(_, r)| r.get("filtered") == Some(&Value::Bool(true)))
                .map(
                    |(name, r)| match r.get("severity").and_then(Value::as_str) {
                        Some(severity) => format!("{name}={severity}"),
                        None => name.clone(),
                    },
                )
                .collect();
            if !filtered.is_empty() {
                message.push_str(&format!(" (filtered: {})", filtered.join(", ")));
            }
        }
    }
    if v.get("error").is_none() {
        if let Some(code) = v.get("code").and_then(Value::as_str) {
            if !message.contains(code) {
                message.push_str(&format!(" (code: {code})"));
            }
        }
    }
    if let Some(loc) = v.pointer("/detail/loc").and_then(Value::as_array) {
        let at: Vec<String> = loc
            .iter()
            .map(|p| match p {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        message.push_str(&format!(" (at {})", at.join(".")));
    }
    message
}

/// `"https://h/p?a=1&b=2"` -> (`"https://h/p"`, `[("a","1"), ("b","2")]`), values kept raw.
fn split_query(url: &str) -> (&str, Vec<(String, String)>) {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let pairs = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    (path, pairs)
}

fn with_query(path: String, query: &[(String, String)]) -> String {
    if query.is_empty() {
        return path;
    }
    let q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{path}?{}", q.join("&"))
}

/// `"https://host:1/a/b"` -> (`"https://host:1"`, `"/a/b"`).
fn split_origin(url: &str) -> (&str, &str) {
    let start = url.find("://").map_or(0, |i| i + 3);
    let path_at = url
        .get(start..)
        .and_then(|rest| rest.find('/'))
        .map_or(url.len(), |i| start + i);
    (
        url.get(..path_at).unwrap_or(url),
        url.get(path_at..).unwrap_or(""),
    )
}

/// The lower-cased host of a URL (no user info, no port).
fn host_of(url: &str) -> String {
    let (origin, _) = split_origin(url);
    let authority = origin.split_once("://").map_or(origin, |(_, a)| a);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host.split(':').next().unwrap_or(host);
    host.to_ascii_lowercase()
}

/// Appends `ending` to `base`'s path without repeating segments `base` already ends with
/// (LiteLLM's `_add_path_to_api_base`): `.../models` + `/models/chat/completions` gives
/// `.../models/chat/completions`.
pub fn add_path(base: &str, ending: &str) -> String {
    let (origin, path) = split_origin(base);
    let base_segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let end_segs: Vec<&str> = ending.split('/').filter(|s| !s.is_empty()).collect();
    let keep = (0..base_segs.len())
        .find(|&i| {
            base_segs
                .get(i..)
                .is_some_and(|tail| end_segs.starts_with(tail))
        })
        .unwrap_or(base_segs.len());
    let segs: Vec<&str> = base_segs
        .iter()
        .take(keep)
        .chain(end_segs.iter())
        .copied()
        .collect();
    format!("{origin}/{}", segs.join("/"))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The URL and auth headers of an Azure OpenAI resource-level path (files and batches:
/// `{root}/openai{path}?api-version={v}`, or `{root}/openai/v1{path}` on the v1 API), as
/// LiteLLM's Azure files and batches clients build them.
pub fn resource_target(
    d: &Deployment,
    path: &str,
) -> Result<(String, Vec<(String, String)>), LlmError> {
    let base = d.api_base.as_deref().ok_or_else(|| missing_base(d))?;
    let version = d.api_version.as_deref().unwrap_or(DEFAULT_API_VERSION);
    let v1 = V1_API_VERSIONS.contains(&version);
    let (root, mut query) = split_query(base);
    let root = root.trim_end_matches('/');
    let root = match root.find("/openai") {
        Some(at) => root.get(..at).unwrap_or(root),
        None => root,
    };
    let url_path = if v1 {
        format!("{root}/openai/v1{path}")
    } else {
        if !query.iter().any(|(k, _)| k == "api-version") {
            query.push(("api-version".to_string(), encode(version)));
        }
        format!("{root}/openai{path}")
    };
    let token = d.provider_param("azure_ad_token");
    let key = d.api_key.as_ref().map(|k| k.expose());
    let mut headers = Vec::new();
    match (token, key) {
        (Some(t), _) => headers.push(("authorization".to_string(), format!("Bearer {t}"))),
        (None, Some(k)) if v1 => headers.push(("authorization".to_string(), format!("Bearer {k}"))),
        (None, Some(k)) => headers.push(("api-key".to_string(), k.to_string())),
        (None, None) => {}
    }
    headers.extend(
        d.headers
            .iter()
            .map(|(k, v)| (k.clone(), v.expose().to_string())),
    );
    Ok((with_query(url_path, &query), headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_path_does_not_repeat_trailing_segments() {
        assert_eq!(
            add_path(
                "https://r.services.ai.azure.com/models",
                "/models/chat/completions"
            ),
            "https://r.services.ai.azure.com/models/chat/completions"
        );
        assert_eq!(
            add_path(
                "https://r.services.ai.azure.com",
                "/models/chat/completions"
            ),
            "https://r.services.ai.azure.com/models/chat/completions"
        );
        assert_eq!(
            add_path("https://e.models.ai.azure.com/v1/", "/chat/completions"),
            "https://e.models.ai.azure.com/v1/chat/completions"
        );
        assert_eq!(
            add_path(
                "https://e.models.ai.azure.com/chat/completions",
                "/chat/completions"
            ),
            "https://e.models.ai.azure.com/chat/completions"
        );
    }

    #[test]
    fn host_ignores_user_info_port_and_case() {
        assert_eq!(
            host_of("https://u:p@R.Openai.Azure.com:443/x"),
            "r.openai.azure.com"
        );
        assert_eq!(host_of("http://127.0.0.1:8080"), "127.0.0.1");
    }

    #[test]
    fn query_pairs_round_trip() {
        let (path, q) = split_query("https://h/p?api-version=2024-10-21&x=1");
        assert_eq!(path, "https://h/p");
        assert_eq!(
            with_query(path.to_string(), &q),
            "https://h/p?api-version=2024-10-21&x=1"
        );
    }

    #[test]
    fn deployment_names_are_percent_encoded() {
        assert_eq!(encode("my gpt/4o"), "my%20gpt%2F4o");
        assert_eq!(encode("gpt-4o_mini.v2~"), "gpt-4o_mini.v2~");
    }
}
