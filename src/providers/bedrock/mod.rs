//! AWS Bedrock: chat through the Converse API and embeddings (Titan, Cohere) through
//! InvokeModel, signed with SigV4 (service `bedrock`) in Rust.
//!
//! Deployment settings (LiteLLM's names, as `litellm_params`):
//! - `aws_access_key_id` + `aws_secret_access_key` (+ `aws_session_token` for STS credentials,
//!   sent and signed as `x-amz-security-token`): SigV4 signing; or `api_key` alone: a Bedrock
//!   API key sent as `Authorization: Bearer` (no signing);
//! - `aws_region_name` (required; taken from the model ARN when the model is one);
//! - endpoint: `api_base`, else `aws_bedrock_runtime_endpoint`, else
//!   `https://bedrock-runtime.{region}.amazonaws.com` (LiteLLM's precedence).
//!
//! Model ids: `bedrock/<modelId>`; LiteLLM's route prefixes `converse/` and `invoke/` are
//! accepted and stripped (chat always uses Converse). The model id (an inference profile such as
//! `us.anthropic…` or an ARN works too) is percent-encoded into the path — `:` becomes `%3A`,
//! which SigV4 encodes once more in the canonical URI. Chat: `POST /model/{id}/converse`
//! (see [`converse`]), streamed: `POST /model/{id}/converse-stream` with the same body and
//! signing (see [`stream`]); embeddings: `POST /model/{id}/invoke` (see [`embed`]).
//!
//! Errors: Bedrock's `{"message": …}` bodies, classified as LiteLLM's `_map_bedrock_exception`
//! does: "Input is too long" / "too many input tokens" / "expected maxLength:" / "prompt is too
//! long" / "too many tokens" on a 400 or 413 -> `ContextWindowExceededError` (not on a 429: a
//! `ThrottlingException` saying "Too many tokens" is a rate limit), "The security token included
//! in the request is invalid" / "…is expired" / "The request signature we calculated does not
//! match" -> `AuthenticationError` (Bedrock sends these as 403), other 403s
//! (`AccessDeniedException`) -> `PermissionDeniedError`, 429 (`ThrottlingException`,
//! `ModelNotReadyException`) -> `RateLimitError`, "Could not process image" ->
//! `InternalServerError`, 500 -> `ServiceUnavailableError` (as LiteLLM), then the usual status
//! mapping (408 `ModelTimeoutException` -> `Timeout`, 503 -> `ServiceUnavailableError`, …).

pub mod converse;
pub mod embed;
pub mod rerank;
pub mod sigv4;
pub mod stream;

use super::{error_message, join_url, Provider, RequestContext};
use crate::config::Deployment;
use crate::error::{ErrorKind, LlmError};
use crate::hash::sha256_hex;
use crate::ports::{HttpRequest, HttpResponse};
use crate::reliability::classify;
use crate::stream::{StreamContext, StreamDecoder};
use crate::types::Endpoint;
use serde_json::{Map, Value};

/// The SigV4 service name of `bedrock-runtime`.
pub const SIGNING_SERVICE: &str = "bedrock";

pub struct Bedrock;

/// The model id without LiteLLM's `converse/` or `invoke/` route prefix.
pub fn model_id(model: &str) -> &str {
    model
        .strip_prefix("converse/")
        .or_else(|| model.strip_prefix("invoke/"))
        .unwrap_or(model)
}

/// The foundation model behind a model id: an ARN's resource name and a cross-region inference
/// profile's geography prefix (`us.`, `eu.`, `apac.`, `global.`, …) removed.
pub fn base_model(model_id: &str) -> &str {
    let id = if model_id.starts_with("arn:") {
        model_id.rsplit('/').next().unwrap_or(model_id)
    } else {
        model_id
    };
    match id.split_once('.') {
        Some((geo, rest))
            if matches!(
                geo,
                "us" | "eu" | "apac" | "global" | "us-gov" | "jp" | "au" | "ca"
            ) && rest.contains('.') =>
        {
            rest
        }
        _ => id,
    }
}

/// `aws_region_name`, else the region of an ARN model id (`arn:aws:bedrock:<region>:…`).
pub fn region(d: &Deployment) -> Option<String> {
    if let Some(r) = d
        .provider_param("aws_region_name")
        .filter(|r| !r.is_empty())
    {
        return Some(r.to_string());
    }
    let id = model_id(&d.model);
    if id.starts_with("arn:") {
        return id
            .split(':')
            .nth(3)
            .filter(|r| !r.is_empty())
            .map(str::to_string);
    }
    None
}

/// The runtime endpoint: `api_base`, `aws_bedrock_runtime_endpoint`, or the regional default.
fn endpoint(d: &Deployment, region: Option<&str>) -> Option<String> {
    d.api_base
        .clone()
        .or_else(|| {
            d.provider_param("aws_bedrock_runtime_endpoint")
                .filter(|e| !e.is_empty())
                .map(str::to_string)
        })
        .or_else(|| region.map(|r| format!("https://bedrock-runtime.{r}.amazonaws.com")))
}

fn access_key(d: &Deployment) -> Option<&str> {
    d.provider_param("aws_access_key_id")
        .filter(|k| !k.is_empty())
}

/// Config-time checks: credentials and a region (or an explicit endpoint for API keys).
pub fn validate(d: &Deployment) -> Result<(), String> {
    let secret = d
        .provider_param("aws_secret_access_key")
        .filter(|s| !s.is_empty());
    let bearer = d.api_key.is_some();
    match (access_key(d), secret) {
        (Some(_), Some(_)) => {}
        (Some(_), None) => {
            return Err(
                "bedrock: aws_secret_access_key is required with aws_access_key_id".to_string(),
            )
        }
        (None, Some(_)) => {
            return Err(
                "bedrock: aws_access_key_id is required with aws_secret_access_key".to_string(),
            )
        }
        (None, None) if bearer => {}
        (None, None) => {
            return Err("bedrock: credentials are required: set aws_access_key_id and aws_secret_access_key (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment: the `env` option, else process.env / Deno.env; llmux reads no AWS profile files), or api_key for a Bedrock API key".to_string())
        }
    }
    let region = region(d);
    if region.is_none() && (access_key(d).is_some() || endpoint(d, None).is_none()) {
        return Err(
            "bedrock: aws_region_name is required (e.g. \"us-east-1\"; or AWS_REGION_NAME or AWS_REGION in the environment): it selects the endpoint and is part of the SigV4 signature"
                .to_string(),
        );
    }
    if let Some(e) = d.provider_param("aws_bedrock_runtime_endpoint") {
        if !(e.starts_with("http://") || e.starts_with("https://")) {
            return Err(
                "bedrock: aws_bedrock_runtime_endpoint must be an http:// or https:// URL"
                    .to_string(),
            );
        }
    }
    Ok(())
}

/// The message of a Bedrock error body (`{"message": …}` or `{"Message": …}`), prefixed with
/// the exception name when the body carries one (`__type`).
pub fn bedrock_error_message(response: &HttpResponse) -> String {
    let parsed: Option<Value> = serde_json::from_slice(&response.body).ok();
    let message = parsed.as_ref().and_then(|v| {
        v.get("message")
            .or_else(|| v.get("Message"))
            .and_then(Value::as_str)
    });
    let Some(message) = message else {
        return error_message(response);
    };
    let exception = parsed
        .as_ref()
        .and_then(|v| v.get("__type"))
        .and_then(Value::as_str)
        .map(|t| t.rsplit('#').next().unwrap_or(t))
        .map(|t| t.split(':').next().unwrap_or(t))
        .filter(|t| !t.is_empty());
    match exception {
        Some(t) if !message.contains(t) => format!("{t}: {message}"),
        _ => message.to_string(),
    }
}

/// LiteLLM's Bedrock-specific error kinds, then the status mapping.
pub fn error_kind(status: u16, message: &str) -> ErrorKind {
    let lower = message.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    if matches!(status, 400 | 413)
        && has(&[
            "too many tokens",
            "expected maxlength:",
            "input is too long",
            "prompt is too long",
            "prompt: length: 1..",
            "too many input tokens",
        ])
    {
        return ErrorKind::ContextWindowExceededError;
    }
    if has(&[
        "the security token included in the request is invalid",
        "the security token included in the request is expired",
        "unable to locate credentials",
        "the request signature we calculated does not match",
    ]) {
        return ErrorKind::AuthenticationError;
    }
    if has(&["throttlingexception"]) {
        return ErrorKind::RateLimitError;
    }
    if has(&["could not process image"]) {
        return ErrorKind::InternalServerError;
    }
    if status == 500 {
        return ErrorKind::ServiceUnavailableError;
    }
    classify::kind_for_status(status, message)
}

/// A non-2xx Bedrock reply as an `LlmError` (the upstream status kept).
pub fn error_from(response: &HttpResponse) -> LlmError {
    let message = bedrock_error_message(response);
    let kind = error_kind(response.status, &message);
    let mut err = LlmError::new(kind, message)
        .with_status(response.status)
        .with_retry_after(classify::retry_after_ms(response));
    err.from_upstream = true;
    err
}

fn bad(message: impl Into<String>) -> LlmError {
    LlmError::bad_request(message)
}

impl Provider for Bedrock {
    fn name(&self) -> &'static str {
        "bedrock"
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
        endpoint_kind: Endpoint,
        body: Map<String, Value>,
        ctx: &RequestContext,
    ) -> Result<HttpRequest, LlmError> {
        let model = model_id(&d.model);
        let base = base_model(model);
        let (payload, operation) = match endpoint_kind {
            Endpoint::ChatCompletion => (
                converse::build_body(base, body)?,
                if ctx.stream {
                    "converse-stream"
                } else {
                    "converse"
                },
            ),
            Endpoint::Embedding => {
                let family = embed::family(base).ok_or_else(|| {
                    bad(format!(
                        "bedrock embedding model {model:?} is not supported by llmux yet (supported: amazon.titan-embed-text-v1, amazon.titan-embed-g1-text-02, amazon.titan-embed-text-v2:0, cohere.embed-*)"
                    ))
                })?;
                (embed::build_body(base, family, body)?, "invoke")
            }
            Endpoint::Rerank => {
                let arn = rerank::model_arn(model, region(d).as_deref())?;
                (rerank::build_body(&arn, &body)?, "rerank")
            }
            other => {
                return Err(bad(format!(
                    "provider bedrock does not serve {}()",
                    other.method()
                )))
            }
        };
        let region = region(d);
        let base_url = endpoint(d, region.as_deref()).ok_or_else(|| {
            LlmError::config("litellm_params.aws_region_name", "is required for bedrock")
        })?;
        let url = if endpoint_kind == Endpoint::Rerank {
            // The Agents runtime serves `Rerank` (LiteLLM swaps the host the same way).
            join_url(
                &base_url.replace("bedrock-runtime", "bedrock-agent-runtime"),
                "/rerank",
            )
        } else {
            join_url(
                &base_url,
                &format!("/model/{}/{operation}", sigv4::uri_encode(model)),
            )
        };
        let body = serde_json::to_string(&payload)
            .map_err(|e| bad(format!("request is not serialisable: {e}")))?;
        let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
        headers.extend(
            d.headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.expose().to_string())),
        );
        let secret = d.provider_param("aws_secret_access_key");
        match (access_key(d), secret, region.as_deref()) {
            (Some(access_key_id), Some(secret_access_key), Some(region)) => {
                let amz_date = sigv4::amz_date(ctx.now_ms);
                let params = sigv4::SigningParams {
                    credentials: sigv4::Credentials {
                        access_key_id,
                        secret_access_key,
                        session_token: d
                            .provider_param("aws_session_token")
                            .filter(|t| !t.is_empty()),
                    },
                    region,
                    service: SIGNING_SERVICE,
                    amz_date: &amz_date,
                };
                let (added, _) =
                    sigv4::sign_request("POST", &url, &headers, body.as_bytes(), &params)
                        .map_err(bad)?;
                headers.extend(added);
            }
            _ => match &d.api_key {
                Some(key) => headers.push(("authorization".into(), format!("Bearer {}", key.expose()))),
                None => {
                    return Err(LlmError::config(
                        "litellm_params",
                        "bedrock needs aws_access_key_id, aws_secret_access_key and aws_region_name (or api_key)",
                    ))
                }
            },
        }
        Ok(HttpRequest {
            method: "POST",
            url,
            headers,
            body: Some(body),
            binary_body: None,
            form: None,
            timeout_ms: Some(ctx.timeout_ms),
        })
    }

    fn stream_decoder(
        &self,
        _d: &Deployment,
        endpoint: Endpoint,
        ctx: &StreamContext,
    ) -> Option<Box<dyn StreamDecoder>> {
        (endpoint == Endpoint::ChatCompletion)
            .then(|| Box::new(stream::ConverseStream::new(ctx)) as Box<dyn StreamDecoder>)
    }

    fn parse_response(
        &self,
        d: &Deployment,
        endpoint_kind: Endpoint,
        response: &HttpResponse,
    ) -> Result<Value, LlmError> {
        if !(200..300).contains(&response.status) {
            return Err(error_from(response));
        }
        let reply: Value = classify::json_body(&response.body)?;
        let model = model_id(&d.model);
        match endpoint_kind {
            Endpoint::Embedding => {
                let family = embed::family(base_model(model)).ok_or_else(|| {
                    classify::malformed_body("reply for an unsupported embedding model")
                })?;
                embed::parse(&reply, model, family)
            }
            Endpoint::Rerank => rerank::parse(&reply, &response.body),
            _ => {
                // Converse replies carry no id or timestamp: the id is derived from the body,
                // `created` from the `Date` header when the host passes it on (else 0).
                let digest = sha256_hex(&response.body);
                let id = format!("chatcmpl-{}", digest.get(..29).unwrap_or(&digest));
                let created = response
                    .header("date")
                    .and_then(sigv4::parse_http_date)
                    .unwrap_or(0);
                converse::parse(&reply, model, id, created)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_model_strips_geography_prefixes_and_arns() {
        assert_eq!(
            base_model("us.anthropic.claude-3-5-haiku-20241022-v1:0"),
            "anthropic.claude-3-5-haiku-20241022-v1:0"
        );
        assert_eq!(
            base_model("anthropic.claude-3-5-haiku-20241022-v1:0"),
            "anthropic.claude-3-5-haiku-20241022-v1:0"
        );
        assert_eq!(
            base_model(
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.amazon.nova-pro-v1:0"
            ),
            "amazon.nova-pro-v1:0"
        );
        assert_eq!(
            model_id("converse/meta.llama3-1-8b-instruct-v1:0"),
            "meta.llama3-1-8b-instruct-v1:0"
        );
    }

    #[test]
    fn throttling_with_too_many_tokens_is_a_rate_limit_not_a_context_error() {
        assert_eq!(
            error_kind(429, "Too many tokens, please wait before trying again."),
            ErrorKind::RateLimitError
        );
        assert_eq!(
            error_kind(400, "Input is too long for requested model."),
            ErrorKind::ContextWindowExceededError
        );
    }
}
