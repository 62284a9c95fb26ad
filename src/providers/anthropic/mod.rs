//! Anthropic Messages API: `POST {api_base}/v1/messages` (default base
//! `https://api.anthropic.com`; a base already ending in `/v1/messages` is used as is), chat
//! completions only. Headers: `x-api-key`, `anthropic-version: 2023-06-01`, `accept` and
//! `content-type: application/json`, then the deployment's `headers`, which replace a default
//! of the same name (e.g. to add `anthropic-beta`).
//!
//! The translation follows LiteLLM's `AnthropicConfig`:
//! - `system` and `developer` messages, wherever they are, become the top-level `system` text
//!   blocks; user, assistant and tool turns become alternating `user`/`assistant` turns, with
//!   consecutive turns of one role merged and `tool` messages merged into one user turn of
//!   `tool_result` blocks; the final assistant turn loses trailing whitespace.
//! - content parts: `text`; `image_url` with an http(s) URL -> `image` with a `url` source, a
//!   base64 `data:` URL -> a `base64` source (a PDF becomes a `document`); `file.file_data`
//!   -> `document`; `cache_control` is kept. Anthropic-native blocks pass through.
//! - assistant `tool_calls` -> `tool_use` blocks (arguments parsed), `thinking_blocks` first.
//! - `tools[].function` -> `{name, description, input_schema}`; `tool_choice` auto -> auto,
//!   required -> any, none -> none, a named function -> `{type: "tool", name}`;
//!   `parallel_tool_calls: false` -> `disable_parallel_tool_use: true`. Messages with tool
//!   blocks but no `tools` get LiteLLM's placeholder `dummy_tool` (Anthropic requires `tools`).
//! - `max_completion_tokens` / `max_tokens` -> `max_tokens`; when absent, the model's output
//!   limit from the bundled price data (`max_output_tokens`), else 4096
//!   (LiteLLM's `get_max_tokens_for_model` / `DEFAULT_ANTHROPIC_CHAT_MAX_TOKENS`).
//! - `stop` -> `stop_sequences` (whitespace-only ones dropped); `temperature`, `top_p` as is;
//!   `user` -> `metadata.user_id` unless it looks like an e-mail address or phone number.
//! - `response_format` `json_schema` -> a forced `json_tool_call` tool whose input is returned
//!   as the message content (not forced when `thinking` is on).
//! - Anthropic-native parameters (`top_k`, `thinking`, `service_tier` auto/standard_only, ...)
//!   and unknown ones pass through.
//! - `reasoning_effort` -> `thinking` with a budget of 1024 (minimal, low), 2048 (medium) or
//!   4096 (high) tokens unless `thinking` is given (`none`: no thinking); a default
//!   `max_tokens` at or below the budget becomes budget + 4096.
//!
//! Dropped (no Anthropic equivalent): `presence_penalty`, `frequency_penalty`, `logit_bias`,
//! `logprobs`, `top_logprobs`, `seed`, `n` (1), `stream: false`, `stream_options`, `store`,
//! `modalities`, `audio`, `prediction`,
//! `web_search_options`, `verbosity`, `safety_identifier`, `prompt_cache_key`, OpenAI's
//! `service_tier` values, and `response_format` `text` / `json_object` (no schema).
//! `n > 1` is a BadRequestError, as LiteLLM's UnsupportedParamsError.
//!
//! Reply: text blocks concatenated into `content` (null when none), `tool_use` ->
//! `tool_calls`, thinking -> `reasoning_content` + `thinking_blocks`; `stop_reason` end_turn /
//! stop_sequence -> stop, max_tokens -> length, tool_use -> tool_calls, refusal ->
//! content_filter (a 200 refusal is returned, not raised, as LiteLLM does). Usage: prompt
//! tokens = input + cache reads + cache writes, `prompt_tokens_details.cached_tokens` = cache
//! reads, `cache_read_input_tokens` / `cache_creation_input_tokens` passed through. `created`
//! is left 0 (Anthropic reports no time; the router stamps it).
//!
//! Streaming (`ctx.stream`): the same request with `"stream": true`; the SSE events are
//! decoded by [`AnthropicStream`] (see `stream.rs`), which Claude on Vertex can share.
//!
//! Errors (`{type: "error", error: {type, message}}`): "prompt is too long" ->
//! ContextWindowExceededError, `overloaded_error` (529) -> InternalServerError, "content
//! filtering policy" -> ContentPolicyViolationError, else by status.

mod request;
mod response;
mod stream;

use super::{Provider, RequestContext};
use crate::config::Deployment;
use crate::error::LlmError;
use crate::ports::{HttpRequest, HttpResponse};
use crate::stream::{StreamContext, StreamDecoder};
use crate::types::object::Put;
use crate::types::Endpoint;
use serde_json::{Map, Value};

pub use request::{default_max_tokens, DEFAULT_MAX_TOKENS, JSON_TOOL_NAME};
pub use response::finish_reason;
pub use stream::AnthropicStream;

pub const DEFAULT_API_BASE: &str = "https://api.anthropic.com";
pub const API_VERSION: &str = "2023-06-01";

pub struct Anthropic;

/// `{api_base}/v1/messages`, unless the base already names that path.
pub fn messages_url(api_base: Option<&str>) -> String {
    let base = api_base.unwrap_or(DEFAULT_API_BASE);
    let path = base.split(['?', '#']).next().unwrap_or_default();
    if path.trim_end_matches('/').ends_with("/v1/messages") {
        base.to_string()
    } else {
        super::join_url(base, "v1/messages")
    }
}

impl Provider for Anthropic {
    fn name(&self) -> &'static str {
        "anthropic"
    }

    fn supports(&self, endpoint: Endpoint) -> bool {
        matches!(endpoint, Endpoint::ChatCompletion)
    }

    fn build_request(
        &self,
        d: &Deployment,
        endpoint: Endpoint,
        body: Map<String, Value>,
        ctx: &RequestContext,
    ) -> Result<HttpRequest, LlmError> {
        if !self.supports(endpoint) {
            return Err(crate::providers::unsupported("anthropic", endpoint));
        }
        let mut body = request::translate(&d.model, body)?;
        if ctx.stream {
            body.put("stream", Value::Bool(true));
        }
        let mut headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            ("accept".to_string(), "application/json".to_string()),
            ("anthropic-version".to_string(), API_VERSION.to_string()),
        ];
        if let Some(key) = &d.api_key {
            headers.push(("x-api-key".into(), key.expose().to_string()));
        }
        for (name, value) in &d.headers {
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
            headers.push((name.clone(), value.expose().to_string()));
        }
        crate::providers::post_json(
            messages_url(d.api_base.as_deref()),
            headers,
            &Value::Object(body),
            ctx,
        )
    }

    fn stream_decoder(
        &self,
        _d: &Deployment,
        endpoint: Endpoint,
        ctx: &StreamContext,
    ) -> Option<Box<dyn StreamDecoder>> {
        self.supports(endpoint)
            .then(|| Box::new(AnthropicStream::new(ctx)) as Box<dyn StreamDecoder>)
    }

    fn parse_response(
        &self,
        _d: &Deployment,
        _endpoint: Endpoint,
        response: &HttpResponse,
    ) -> Result<Value, LlmError> {
        response::parse(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_url_appends_the_path_once() {
        assert_eq!(messages_url(None), "https://api.anthropic.com/v1/messages");
        assert_eq!(
            messages_url(Some("http://127.0.0.1:9/anthropic/")),
            "http://127.0.0.1:9/anthropic/v1/messages"
        );
        assert_eq!(
            messages_url(Some("https://proxy.example/v1/messages")),
            "https://proxy.example/v1/messages"
        );
    }
}
