//! Google AI Studio Gemini (`gemini/<model>`): chat completions through `generateContent` and
//! embeddings through `batchEmbedContents`, translated to and from OpenAI's wire format the way
//! LiteLLM's `gemini/` route does.
//!
//! # Endpoint and auth
//!
//! `POST {base}/models/{model}:generateContent` (chat) and `:batchEmbedContents` (embeddings),
//! with the key in the `x-goog-api-key` header. LiteLLM sends the key as a `?key=` query
//! parameter on Google's own host; llmux always uses the header, which Google documents as
//! equivalent and which keeps the key out of URLs (logs, proxies, error messages).
//!
//! `base` is `https://generativelanguage.googleapis.com/v1beta` by default. An `api_base` is
//! used as given when its last path segment is an API version (`…/v1beta`, `…/v1`,
//! `…/v1alpha`, as LiteLLM expects, e.g. a Cloudflare AI Gateway URL ending in
//! `/google-ai-studio/v1beta`); otherwise `/{api_version or v1beta}` is appended, so a bare host
//! (`https://generativelanguage.googleapis.com`) works too. `api_version` also picks the version
//! of the default host (`v1` for the stable surface).
//!
//! # Chat request translation
//!
//! - `system`/`developer` messages → `systemInstruction.parts` (one text part each, wherever they
//!   appear); `user`/`assistant` → `contents` with roles `user`/`model`, consecutive turns of one
//!   role merged; `tool`/`function` results → `functionResponse` parts in their own `user` turn
//!   (consecutive results share it), named after the matching `tool_calls[].id` of any earlier
//!   assistant message (else the message's `name`); a JSON-object result is sent as the
//!   `response` object, anything else as `{"content": "<text>"}`. A conversation of system
//!   messages only gets a `" "` user turn, as LiteLLM sends (Gemini rejects empty `contents`).
//! - Content parts: `text`; `image_url` / `file` / `input_audio` data URLs → `inlineData
//!   {mimeType, data}`; `http(s)://` and `gs://` URLs → `fileData {fileUri, mimeType}` with the
//!   MIME type from `format` when given, else guessed from the URL's extension (jpg/jpeg, png,
//!   webp, gif, heic, heif, pdf, txt, mp3, wav, mp4, mov, mpeg/mpg, avi, wmv, flv, webm), else
//!   omitted. LiteLLM downloads https media and inlines it; llmux is a pure translation and never
//!   fetches, so Gemini reads the URL itself (Files API URIs, YouTube and public URLs).
//! - Assistant `tool_calls` → `functionCall {name, args}` parts (arguments parsed from their JSON
//!   string); a thought signature embedded in a tool-call id by this module (see below) is
//!   restored as the part's `thoughtSignature`, which Gemini 3 requires in multi-turn calling.
//! - `tools` (and legacy `functions`) → one `tools[{functionDeclarations}]` entry; parameter
//!   schemas are converted as LiteLLM does (`$ref`/`$defs` inlined, `anyOf` with `null` →
//!   `nullable`, type arrays, unsupported keywords such as `additionalProperties`/`strict`
//!   removed), and a tool without properties is declared without `parameters`. Gemini-native
//!   tools (`googleSearch`, `codeExecution`, `urlContext`, `googleSearchRetrieval`, also in
//!   snake_case) pass through into the same entry; `web_search_options` adds `googleSearch`.
//! - `tool_choice` (and legacy `function_call`) → `toolConfig.functionCallingConfig`: `auto` →
//!   `AUTO`, `none` → `NONE`, `required` → `ANY`, a named function → `ANY` with
//!   `allowedFunctionNames`; any other value is a `BadRequestError` (LiteLLM raises too).
//! - `generationConfig`: `temperature`, `top_p`→`topP`, `max_completion_tokens`/`max_tokens` →
//!   `maxOutputTokens` (the former wins), `stop` → `stopSequences`, `n` → `candidateCount`,
//!   `seed`, `presence_penalty`, `frequency_penalty`, `logprobs` → `responseLogprobs`,
//!   `top_logprobs` → `logprobs`, `modalities` → `responseModalities`, `response_format`
//!   (`json_object` → `responseMimeType: application/json`; `json_schema` → the same plus
//!   `responseSchema` with `propertyOrdering`; `text` → `text/plain`), `reasoning_effort` →
//!   `thinkingConfig` (budgets 1024/2048/4096 for low/medium/high, `minimal` → the model's
//!   smallest, `none`/`disable` → 0; `thinkingLevel` low/high for Gemini 3), Anthropic-style
//!   `thinking` → `thinkingConfig`, and Gemini's own `top_k`, `response_mime_type`,
//!   `response_schema`, `candidate_count`, `max_output_tokens`, `stop_sequences` (snake or camel
//!   case). LiteLLM does not forward `seed` on this route; Gemini documents it, so llmux does.
//! - Dropped (as LiteLLM's `drop_params` does for Gemini): `logit_bias`, `user`,
//!   `parallel_tool_calls`, `service_tier`, `store`, `prediction`, `audio`, `verbosity`,
//!   `stream_options`, `stream: false`, `dimensions`, `encoding_format`, `safety_identifier`,
//!   `prompt_cache_key`, null-valued parameters, and an assistant message's
//!   `reasoning_content`/`refusal`.
//! - `safety_settings`, `cached_content` → `safetySettings`, `cachedContent`. Any other key (an
//!   `extra_body` field, or the fields of a per-request `extra_body` object) is merged into the
//!   top level of the Gemini body (objects shallowly), so Gemini-native fields such as
//!   `safetySettings` or `generationConfig` reach the API.
//!
//! # Chat response translation
//!
//! Each candidate becomes a choice: text parts joined into `content` (thought parts into
//! `reasoning_content`, as LiteLLM), `functionCall` parts into `tool_calls` with ids
//! `call_<24 hex>` derived from the response and the part's position (plus
//! `__thought__<signature>` when Gemini sent a `thoughtSignature`, as LiteLLM does) and
//! JSON-string arguments. `finishReason`: `STOP` → `stop`, `MAX_TOKENS` → `length`, `SAFETY`,
//! `RECITATION`, `BLOCKLIST`, `PROHIBITED_CONTENT`, `SPII`, `IMAGE_SAFETY`, `LANGUAGE`, `OTHER`
//! → `content_filter` (for the flagged ones the message content is `null`, as LiteLLM), any
//! choice with tool calls → `tool_calls`, everything else → `stop`. `logprobsResult` →
//! `logprobs.content`. Usage: `promptTokenCount` → `prompt_tokens`; `candidatesTokenCount`
//! plus `thoughtsTokenCount` → `completion_tokens` (LiteLLM adds thoughts whenever
//! prompt + candidates ≠ total, which is always the case when thoughts are reported), with
//! `completion_tokens_details.reasoning_tokens`; `cachedContentTokenCount` →
//! `prompt_tokens_details.cached_tokens`; `totalTokenCount` → `total_tokens`. `id` is
//! Gemini's `responseId`, `model` the deployment's model, `created` the response's
//! `createTime` when present, else 0 (the parser has no clock). A prompt blocked by
//! `promptFeedback.blockReason` with no candidates is a `ContentPolicyViolationError` (400);
//! LiteLLM returns an empty `content_filter` choice instead. No candidates without a block
//! reason is an `InternalServerError` (malformed reply, retried).
//!
//! # Streaming
//!
//! A streamed chat posts the same body to `models/{model}:streamGenerateContent?alt=sse`; the
//! SSE reply is decoded by [`stream::GeminiStream`] (see its docs).
//!
//! # Errors
//!
//! Google's `{"error": {"code", "message", "status", "details"}}` (also wrapped in a one-element
//! array) is classified by HTTP status and message: `API key not valid` (a 400 with reason
//! `API_KEY_INVALID`) → `AuthenticationError` (401, as LiteLLM); `exceeds the maximum number of
//! tokens allowed` / `Request payload size exceeds the limit` → `ContextWindowExceededError`;
//! 429 `RESOURCE_EXHAUSTED` → `RateLimitError`, waiting for `RetryInfo.retryDelay` when no
//! `retry-after` header came; a 5xx whose body says code 429 → `RateLimitError` (LiteLLM);
//! 403 → `PermissionDeniedError` (LiteLLM maps any error text containing "403" to
//! `BadRequestError`; llmux keeps the class its status names); 503 `UNAVAILABLE` (model
//! overloaded) → `ServiceUnavailableError`; 504 `DEADLINE_EXCEEDED` → `Timeout`.
//!
//! # Embeddings
//!
//! `input` (a string or an array of strings) → `requests[{model: "models/{model}", content:
//! {parts: [{text}]}}]`, with `dimensions` → `outputDimensionality` and Gemini's `task_type` /
//! `taskType`, `title` passed on. The reply's `embeddings[].values` become the OpenAI list in
//! input order. Gemini reports no token usage for embeddings; LiteLLM estimates it with its
//! tokenizer, which needs the request text the parser never sees, so llmux reports
//! `usage: {prompt_tokens: 0, total_tokens: 0}` (a `usageMetadata.promptTokenCount`, should
//! Gemini send one, is used). `encoding_format` is dropped: vectors are always float arrays.

mod embedding;
/// Public so Vertex AI's Gemini models (same `generateContent` format) can reuse them.
pub mod request;
pub mod response;
pub mod schema;
pub mod stream;

use super::{join_url, Provider, RequestContext};
use crate::config::Deployment;
use crate::error::LlmError;
use crate::ports::{HttpRequest, HttpResponse};
use crate::stream::{StreamContext, StreamDecoder};
use crate::types::Endpoint;
use serde_json::{Map, Value};

/// Google AI Studio's host with its default API version.
pub const DEFAULT_API_BASE: &str = "https://generativelanguage.googleapis.com/v1beta";
const DEFAULT_HOST: &str = "https://generativelanguage.googleapis.com";
const DEFAULT_VERSION: &str = "v1beta";

/// The header Google reads the API key from.
pub const API_KEY_HEADER: &str = "x-goog-api-key";

pub struct Gemini;

impl Provider for Gemini {
    fn name(&self) -> &'static str {
        "gemini"
    }

    fn supports(&self, endpoint: Endpoint) -> bool {
        matches!(endpoint, Endpoint::ChatCompletion | Endpoint::Embedding)
    }

    fn build_request(
        &self,
        d: &Deployment,
        endpoint: Endpoint,
        body: Map<String, Value>,
        ctx: &RequestContext,
    ) -> Result<HttpRequest, LlmError> {
        let model = d.model.strip_prefix("models/").unwrap_or(&d.model);
        let (method, gemini_body) = match endpoint {
            Endpoint::ChatCompletion => ("generateContent", request::chat_body(model, body)?),
            Endpoint::Embedding => ("batchEmbedContents", embedding::request_body(model, &body)?),
            Endpoint::TextCompletion
            | Endpoint::ImageGeneration
            | Endpoint::ImageEdit
            | Endpoint::Moderation
            | Endpoint::Transcription
            | Endpoint::Speech
            | Endpoint::Rerank
            | Endpoint::Responses
            | Endpoint::Realtime => return Err(crate::providers::unsupported("gemini", endpoint)),
        };
        let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
        if let Some(key) = &d.api_key {
            headers.push((API_KEY_HEADER.into(), key.expose().to_string()));
        }
        headers.extend(
            d.headers
                .iter()
                .map(|(k, v)| (k.clone(), v.expose().to_string())),
        );
        let (method, query) = match endpoint {
            Endpoint::ChatCompletion if ctx.stream => ("streamGenerateContent", "?alt=sse"),
            _ => (method, ""),
        };
        let url = join_url(
            &versioned_base(d.api_base.as_deref(), d.api_version.as_deref()),
            &format!("models/{model}:{method}{query}"),
        );
        crate::providers::post_json(url, headers, &gemini_body, ctx)
    }

    fn stream_decoder(
        &self,
        _d: &Deployment,
        endpoint: Endpoint,
        ctx: &StreamContext,
    ) -> Option<Box<dyn StreamDecoder>> {
        (endpoint == Endpoint::ChatCompletion)
            .then(|| Box::new(stream::GeminiStream::new("gemini", ctx)) as Box<dyn StreamDecoder>)
    }

    fn parse_response(
        &self,
        d: &Deployment,
        endpoint: Endpoint,
        response: &HttpResponse,
    ) -> Result<Value, LlmError> {
        match endpoint {
            Endpoint::Embedding => embedding::parse(&d.model, response),
            Endpoint::ChatCompletion | Endpoint::TextCompletion => {
                response::parse_chat(&d.model, response)
            }
            Endpoint::ImageGeneration
            | Endpoint::ImageEdit
            | Endpoint::Moderation
            | Endpoint::Transcription
            | Endpoint::Speech
            | Endpoint::Rerank
            | Endpoint::Responses
            | Endpoint::Realtime => Err(crate::providers::unsupported("gemini", endpoint)),
        }
    }
}

/// The API base including its version segment (see the module docs).
fn versioned_base(api_base: Option<&str>, api_version: Option<&str>) -> String {
    let version = api_version
        .map(|v| v.trim_matches('/'))
        .filter(|v| !v.is_empty())
        .unwrap_or(DEFAULT_VERSION);
    let base = api_base.unwrap_or(DEFAULT_HOST).trim_end_matches('/');
    let last = base.rsplit('/').next().unwrap_or("");
    if api_base.is_some() && is_version_segment(last) {
        base.to_string()
    } else {
        format!("{base}/{version}")
    }
}

/// `v1`, `v1beta`, `v1alpha`, `v1beta1`, `v2`…
fn is_version_segment(segment: &str) -> bool {
    let Some(rest) = segment.strip_prefix('v') else {
        return false;
    };
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 {
        return false;
    }
    let tail: String = rest.chars().skip(digits).collect();
    let tail = tail.trim_end_matches(|c: char| c.is_ascii_digit());
    matches!(tail, "" | "alpha" | "beta")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn default_base_is_google_v1beta() {
        assert_eq!(versioned_base(None, None), DEFAULT_API_BASE);
        assert_eq!(
            versioned_base(None, Some("v1")),
            "https://generativelanguage.googleapis.com/v1"
        );
    }

    #[test]
    fn api_base_with_a_version_is_kept_and_a_bare_host_gets_one() {
        assert_eq!(
            versioned_base(Some("https://gw.example/google-ai-studio/v1beta/"), None),
            "https://gw.example/google-ai-studio/v1beta"
        );
        assert_eq!(
            versioned_base(Some("http://127.0.0.1:9/gemini"), None),
            "http://127.0.0.1:9/gemini/v1beta"
        );
        assert_eq!(
            versioned_base(Some("http://127.0.0.1:9/gemini"), Some("v1alpha")),
            "http://127.0.0.1:9/gemini/v1alpha"
        );
        assert!(is_version_segment("v1beta1"));
        assert!(!is_version_segment("vertex"));
        assert!(!is_version_segment("v"));
    }
}
