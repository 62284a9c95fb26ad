//! Providers are pure translations: OpenAI-format request -> `HttpRequest`, and
//! `HttpResponse` -> OpenAI-format response or `LlmError`. No I/O happens here.

pub mod anthropic;
pub mod azure;
pub mod bedrock;
pub mod cohere;
pub mod compat;
pub mod files;
pub mod gemini;
pub mod openai;
pub mod realtime;
pub mod rerank;
pub mod responses;
mod validate;
pub mod vertex;
pub use validate::validate;

use crate::config::Deployment;
use crate::error::LlmError;
use crate::ports::{HttpRequest, HttpResponse, LocalFuture, Ports};
use crate::stream::{StreamContext, StreamDecoder};
use crate::types::audio::{Audio, FormUpload, Upload};
use crate::types::Endpoint;
use serde_json::{Map, Value};

/// What a request builder may need besides the deployment and body.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RequestContext {
    /// Abort the exchange after this many milliseconds.
    pub timeout_ms: u64,
    /// The router clock (epoch milliseconds in production), for signatures such as SigV4.
    pub now_ms: f64,
    /// An access token obtained by `Provider::auth` for this request (OAuth providers).
    pub bearer_token: Option<String>,
    /// Ask for a streamed reply (the router has removed `stream`/`stream_options` from the
    /// body; the provider adds what its API needs, including usage in the stream).
    pub stream: bool,
    /// Random bits from the host's randomness port (seeded from its crypto), for values that
    /// must not be guessable, such as a multipart boundary.
    pub entropy: u64,
}

pub trait Provider {
    /// The `custom_llm_provider` name.
    fn name(&self) -> &'static str;
    fn supports(&self, endpoint: Endpoint) -> bool;
    /// `body` is the OpenAI-format request with router fields removed and defaults merged.
    fn build_request(
        &self,
        deployment: &Deployment,
        endpoint: Endpoint,
        body: Map<String, Value>,
        ctx: &RequestContext,
    ) -> Result<HttpRequest, LlmError>;
    /// An access token to obtain before building the request (e.g. an OAuth exchange),
    /// using the host's ports; `None` for providers authenticated by static credentials.
    fn auth<'a>(
        &'a self,
        _deployment: &'a Deployment,
        _ports: &'a Ports,
    ) -> Option<LocalFuture<'a, Result<String, LlmError>>> {
        None
    }

    /// Whether `auth` has an exchange to make for `deployment` (the host loop leaves such
    /// deployments to the core's async path).
    fn needs_auth(&self, _deployment: &Deployment) -> bool {
        false
    }

    /// A multipart upload request (`transcription()`); providers without one refuse.
    fn build_upload(
        &self,
        _deployment: &Deployment,
        endpoint: Endpoint,
        _body: Map<String, Value>,
        _upload: &Upload,
        _ctx: &RequestContext,
    ) -> Result<HttpRequest, LlmError> {
        Err(unsupported(self.name(), endpoint))
    }

    /// A multipart request whose file parts the host holds (`imageEdit()`); providers
    /// without one refuse.
    fn build_form(
        &self,
        _deployment: &Deployment,
        endpoint: Endpoint,
        _body: Map<String, Value>,
        _form: &FormUpload,
        _ctx: &RequestContext,
    ) -> Result<HttpRequest, LlmError> {
        Err(unsupported(self.name(), endpoint))
    }

    /// Binary audio from a speech reply; providers without one refuse.
    fn parse_audio(
        &self,
        _deployment: &Deployment,
        _response: &HttpResponse,
    ) -> Result<Audio, LlmError> {
        Err(LlmError::bad_request(format!(
            "provider {} does not serve speech()",
            self.name()
        )))
    }

    /// A decoder for the body of a 2xx streaming reply to a request built with
    /// `ctx.stream`; `None` when the provider cannot stream `endpoint`.
    fn stream_decoder(
        &self,
        _deployment: &Deployment,
        _endpoint: Endpoint,
        _ctx: &StreamContext,
    ) -> Option<Box<dyn StreamDecoder>> {
        None
    }

    /// Turns any reply (2xx or not) into an OpenAI-format body or a classified error.
    fn parse_response(
        &self,
        deployment: &Deployment,
        endpoint: Endpoint,
        response: &HttpResponse,
    ) -> Result<Value, LlmError>;
}

pub fn lookup(name: &str) -> Option<&'static dyn Provider> {
    match name {
        // LiteLLM's aliases: `text-completion-openai/` (the /completions endpoint, which the
        // OpenAI provider serves too), `cohere_chat/` (Cohere), `azure_text/` (Azure).
        "openai" | "text-completion-openai" => Some(&openai::OpenAi),
        "cohere_chat" => Some(&cohere::Cohere),
        "azure_text" => Some(&azure::Azure),
        "bedrock" => Some(&bedrock::Bedrock),
        "gemini" => Some(&gemini::Gemini),
        "cohere" => Some(&cohere::Cohere),
        "anthropic" => Some(&anthropic::Anthropic),
        "azure" => Some(&azure::Azure),
        "azure_ai" => Some(&azure::AzureAi),
        "vertex_ai" => Some(&vertex::VertexAi),
        name if compat::preset(name).is_some() => compat::provider(name),
        _ => None,
    }
}

/// A JSON POST: `payload` serialised as the body, with the call's timeout.
pub fn post_json<T: serde::Serialize + ?Sized>(
    url: impl Into<String>,
    headers: Vec<(String, String)>,
    payload: &T,
    ctx: &RequestContext,
) -> Result<HttpRequest, LlmError> {
    let body = serde_json::to_string(payload)
        .map_err(|e| LlmError::bad_request(format!("request is not serialisable: {e}")))?;
    Ok(HttpRequest {
        method: "POST",
        url: url.into(),
        headers,
        body: Some(body),
        binary_body: None,
        form: None,
        timeout_ms: Some(ctx.timeout_ms),
    })
}

/// The error for an endpoint a provider does not serve (no upstream call is made).
pub fn unsupported(provider: &str, endpoint: Endpoint) -> LlmError {
    LlmError::bad_request(format!(
        "provider {provider} does not serve {}()",
        endpoint.method()
    ))
}

/// Joins an API base and an endpoint path without doubling slashes. A query string on the
/// base stays a query string: the path goes before it (`https://h/v1?key=k` +
/// `chat/completions` → `https://h/v1/chat/completions?key=k`), and a query on the path is
/// appended to the base's.
pub fn join_url(base: &str, path: &str) -> String {
    let (base, fragment) = match base.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (base, None),
    };
    let (base_path, base_query) = match base.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (base, None),
    };
    let (path, path_query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    let mut url = format!(
        "{}/{}",
        base_path.trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    let queries: Vec<&str> = [base_query, path_query]
        .into_iter()
        .flatten()
        .filter(|q| !q.is_empty())
        .collect();
    if !queries.is_empty() {
        url.push('?');
        url.push_str(&queries.join("&"));
    }
    if let Some(f) = fragment {
        url.push('#');
        url.push_str(f);
    }
    url
}

/// The message inside an OpenAI-style error body, else a short, safe description of the body.
pub fn error_message(response: &HttpResponse) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(&response.body) {
        let msg = v
            .pointer("/error/message")
            .or_else(|| v.get("message"))
            .or_else(|| v.get("error").filter(|e| e.is_string()))
            .or_else(|| v.get("detail"))
            .and_then(Value::as_str);
        if let Some(m) = msg {
            // Keep the code: classification (context window, content policy) reads it.
            return match v.pointer("/error/code").and_then(Value::as_str) {
                Some(code) if !m.contains(code) => format!("{m} (code: {code})"),
                _ => m.to_string(),
            };
        }
    }
    let text = String::from_utf8_lossy(&response.body);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        format!("HTTP {} with an empty body", response.status)
    } else if trimmed.starts_with('<') {
        format!("HTTP {} with a non-JSON (HTML) body", response.status)
    } else {
        let cut: String = trimmed.chars().take(300).collect();
        format!("HTTP {}: {cut}", response.status)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::join_url;

    #[test]
    fn join_url_puts_the_path_before_the_query() {
        assert_eq!(
            join_url("http://h/v1/", "/chat/completions"),
            "http://h/v1/chat/completions"
        );
        assert_eq!(
            join_url("http://h/v1?key=k", "chat/completions"),
            "http://h/v1/chat/completions?key=k"
        );
        assert_eq!(
            join_url("http://h/v1/?key=k#f", "models/x:generate?alt=sse"),
            "http://h/v1/models/x:generate?key=k&alt=sse#f"
        );
    }
}
