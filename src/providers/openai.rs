//! OpenAI and any OpenAI-compatible server (`api_base`): chat completions, legacy
//! completions and embeddings, Bearer auth, organization and extra headers.

use super::{error_message, join_url, Provider, RequestContext};
use crate::config::Deployment;
use crate::error::LlmError;
use crate::ports::{HttpRequest, HttpResponse};
use crate::reliability::classify;
use crate::types::Endpoint;
use serde_json::{Map, Value};

pub const DEFAULT_API_BASE: &str = "https://api.openai.com/v1";

pub struct OpenAi;

impl Provider for OpenAi {
    fn name(&self) -> &'static str {
        "openai"
    }

    fn supports(&self, endpoint: Endpoint) -> bool {
        matches!(
            endpoint,
            Endpoint::ChatCompletion
                | Endpoint::TextCompletion
                | Endpoint::Embedding
                | Endpoint::ImageGeneration
                | Endpoint::Moderation
        )
    }

    fn build_request(
        &self,
        d: &Deployment,
        endpoint: Endpoint,
        body: Map<String, Value>,
        ctx: &RequestContext,
    ) -> Result<HttpRequest, LlmError> {
        let base = d.api_base.as_deref().unwrap_or(DEFAULT_API_BASE);
        let mut auth = Vec::new();
        if let Some(key) = &d.api_key {
            auth.push(("authorization".into(), format!("Bearer {}", key.expose())));
        }
        if let Some(org) = &d.organization {
            auth.push(("openai-organization".into(), org.clone()));
        }
        build(base, &d.model, auth, d, endpoint, body, ctx)
    }

    fn parse_response(
        &self,
        _d: &Deployment,
        endpoint: Endpoint,
        response: &HttpResponse,
    ) -> Result<Value, LlmError> {
        parse(endpoint, response)
    }
}

/// An OpenAI-format POST to `base` + the endpoint path: `body` with `model` set, a JSON
/// content type, then `auth` headers, then the deployment's extra headers. Shared with the
/// OpenAI-compatible presets (`compat`).
pub fn build(
    base: &str,
    model: &str,
    auth: Vec<(String, String)>,
    d: &Deployment,
    endpoint: Endpoint,
    mut body: Map<String, Value>,
    ctx: &RequestContext,
) -> Result<HttpRequest, LlmError> {
    body.insert("model".into(), Value::String(model.to_string()));
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    headers.extend(auth);
    headers.extend(
        d.headers
            .iter()
            .map(|(k, v)| (k.clone(), v.expose().to_string())),
    );
    let body = serde_json::to_string(&Value::Object(body))
        .map_err(|e| LlmError::bad_request(format!("request is not serialisable: {e}")))?;
    Ok(HttpRequest {
        method: "POST",
        url: join_url(base, endpoint.path()),
        headers,
        body: Some(body),
        timeout_ms: Some(ctx.timeout_ms),
    })
}

/// An OpenAI-format reply: the body as is on 2xx (checked for `choices`/`data`), else a
/// classified error from the OpenAI-style error body.
pub fn parse(endpoint: Endpoint, response: &HttpResponse) -> Result<Value, LlmError> {
    if !(200..300).contains(&response.status) {
        return Err(classify::from_status(response, error_message(response)));
    }
    let value: Value = serde_json::from_slice(&response.body).map_err(|e| {
        if response.body.is_empty() {
            classify::malformed_body("empty body")
        } else {
            classify::malformed_body(&format!("invalid JSON ({e})"))
        }
    })?;
    let expected = match endpoint {
        Endpoint::ChatCompletion | Endpoint::TextCompletion => "choices",
        Endpoint::Embedding | Endpoint::ImageGeneration => "data",
        Endpoint::Moderation => "results",
    };
    if !value.get(expected).is_some_and(Value::is_array) {
        // Some compatible servers answer 200 with an error object.
        if value.get("error").is_some() {
            let reply = HttpResponse {
                status: 500,
                ..response.clone()
            };
            return Err(classify::from_status(&reply, error_message(response)));
        }
        return Err(classify::malformed_body(&format!("no `{expected}` array")));
    }
    Ok(value)
}
