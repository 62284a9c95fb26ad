//! OpenAI and any OpenAI-compatible server (`api_base`): chat and legacy completions,
//! embeddings, images, moderation, transcription (multipart) and speech; Bearer auth,
//! organization and extra headers.

use super::{error_message, join_url, Provider, RequestContext};
use crate::config::Deployment;
use crate::error::LlmError;
use crate::ports::{HttpRequest, HttpResponse};
use crate::reliability::classify;
use crate::types::audio::{multipart, Audio, AudioBody, Upload};
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
                | Endpoint::Transcription
                | Endpoint::Speech
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
        build(base, &d.model, auth(d), d, endpoint, body, ctx)
    }

    fn build_upload(
        &self,
        d: &Deployment,
        endpoint: Endpoint,
        body: Map<String, Value>,
        upload: &Upload,
        ctx: &RequestContext,
    ) -> Result<HttpRequest, LlmError> {
        let base = d.api_base.as_deref().unwrap_or(DEFAULT_API_BASE);
        build_upload(
            &join_url(base, endpoint.path()),
            &d.model,
            auth(d),
            d,
            body,
            upload,
            ctx,
        )
    }

    fn parse_audio(&self, _d: &Deployment, response: &HttpResponse) -> Result<Audio, LlmError> {
        parse_audio(response)
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

/// `Authorization: Bearer <api_key>` and `OpenAI-Organization`, when set.
fn auth(d: &Deployment) -> Vec<(String, String)> {
    let mut auth = Vec::new();
    if let Some(key) = &d.api_key {
        auth.push(("authorization".into(), format!("Bearer {}", key.expose())));
    }
    if let Some(org) = &d.organization {
        auth.push(("openai-organization".into(), org.clone()));
    }
    auth
}

/// A multipart/form-data POST of `upload` and the request's fields to `url` (OpenAI's
/// `/audio/transcriptions` format, shared with Azure and the compatible presets).
pub fn build_upload(
    url: &str,
    model: &str,
    auth: Vec<(String, String)>,
    d: &Deployment,
    mut body: Map<String, Value>,
    upload: &Upload,
    ctx: &RequestContext,
) -> Result<HttpRequest, LlmError> {
    body.insert("model".into(), Value::String(model.to_string()));
    body.remove("file");
    let (content_type, bytes) = multipart(
        &body,
        upload,
        ctx.now_ms.to_bits() ^ upload.bytes.len() as u64,
    );
    let mut headers = vec![("content-type".to_string(), content_type)];
    headers.extend(auth);
    headers.extend(
        d.headers
            .iter()
            .map(|(k, v)| (k.clone(), v.expose().to_string())),
    );
    Ok(HttpRequest {
        method: "POST",
        url: url.to_string(),
        headers,
        body: None,
        binary_body: Some(std::rc::Rc::new(bytes)),
        timeout_ms: Some(ctx.timeout_ms),
    })
}

/// Binary audio from `/audio/speech` (2xx), else a classified error.
pub fn parse_audio(response: &HttpResponse) -> Result<Audio, LlmError> {
    if !(200..300).contains(&response.status) {
        return Err(classify::from_status(response, error_message(response)));
    }
    if response.body.is_empty() {
        return Err(classify::malformed_body("empty audio body"));
    }
    let content_type = audio_content_type(response)?;
    Ok(Audio {
        content_type,
        body: AudioBody::Bytes(response.body.clone()),
    })
}

/// The content type of a 2xx speech reply; JSON or HTML there is not audio.
pub fn audio_content_type(response: &HttpResponse) -> Result<String, LlmError> {
    let content_type = response.header("content-type").unwrap_or("audio/mpeg");
    if content_type.starts_with("application/json") || content_type.starts_with("text/html") {
        return Err(classify::malformed_body(&format!(
            "expected audio, got {content_type}"
        )));
    }
    Ok(content_type.to_string())
}

/// A transcription reply: JSON (`json`, `verbose_json`) with `text`, or the plain text of
/// the `text`, `srt` and `vtt` formats, returned as `{ "text": … }`.
fn parse_transcription(response: &HttpResponse) -> Result<Value, LlmError> {
    if !(200..300).contains(&response.status) {
        return Err(classify::from_status(response, error_message(response)));
    }
    let is_json = response
        .header("content-type")
        .is_none_or(|ct| ct.contains("json"));
    if is_json {
        let value: Value = serde_json::from_slice(&response.body)
            .map_err(|e| classify::malformed_body(&format!("invalid JSON ({e})")))?;
        if !value.get("text").is_some_and(Value::is_string) {
            return Err(classify::malformed_body("no `text` in the transcription"));
        }
        return Ok(value);
    }
    let text = String::from_utf8(response.body.clone())
        .map_err(|_| classify::malformed_body("the transcription is not UTF-8 text"))?;
    Ok(serde_json::json!({ "text": text }))
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
    crate::providers::post_json(
        join_url(base, endpoint.path()),
        headers,
        &Value::Object(body),
        ctx,
    )
}

/// An OpenAI-format reply: the body as is on 2xx (checked for `choices`/`data`), else a
/// classified error from the OpenAI-style error body.
pub fn parse(endpoint: Endpoint, response: &HttpResponse) -> Result<Value, LlmError> {
    if endpoint == Endpoint::Transcription {
        return parse_transcription(response);
    }
    if !(200..300).contains(&response.status) {
        return Err(classify::from_status(response, error_message(response)));
    }
    let value: Value = classify::json_body(&response.body)?;
    let expected = match endpoint {
        Endpoint::ChatCompletion | Endpoint::TextCompletion => "choices",
        Endpoint::Embedding | Endpoint::ImageGeneration => "data",
        Endpoint::Moderation => "results",
        Endpoint::Transcription | Endpoint::Speech => {
            return Err(LlmError::bad_request(
                "audio replies are parsed by parse_audio",
            ))
        }
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
