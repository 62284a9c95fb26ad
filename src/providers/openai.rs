//! OpenAI and any OpenAI-compatible server (`api_base`): chat and legacy completions,
//! embeddings, images, moderation, transcription (multipart) and speech; Bearer auth,
//! organization and extra headers.

use super::{error_message, join_url, Provider, RequestContext};
use crate::config::Deployment;
use crate::error::LlmError;
use crate::ports::{HostForm, HttpRequest, HttpResponse};
use crate::reliability::classify;
use crate::stream::sse::{SseDecoder, SseEvent};
use crate::stream::{Chunk, StreamContext, StreamDecoder};
use crate::types::audio::{
    form_fields, multipart, Audio, AudioBody, FormUpload, Upload, MAX_EDIT_IMAGES,
};
use crate::types::object::Put;
use crate::types::Endpoint;
use serde::de::IgnoredAny;
use serde_json::{Map, Value};
use std::borrow::Cow;

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
                | Endpoint::ImageEdit
                | Endpoint::Moderation
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
        let base = d.api_base.as_deref().unwrap_or(DEFAULT_API_BASE);
        let mut body = body;
        if ctx.stream {
            request_stream(&mut body, endpoint, true);
        }
        build(base, &d.model, auth(d), d, endpoint, body, ctx)
    }

    fn stream_decoder(
        &self,
        _d: &Deployment,
        endpoint: Endpoint,
        ctx: &StreamContext,
    ) -> Option<Box<dyn StreamDecoder>> {
        stream_decoder(self.name(), endpoint, ctx)
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

    fn build_form(
        &self,
        d: &Deployment,
        endpoint: Endpoint,
        body: Map<String, Value>,
        form: &FormUpload,
        ctx: &RequestContext,
    ) -> Result<HttpRequest, LlmError> {
        let base = d.api_base.as_deref().unwrap_or(DEFAULT_API_BASE);
        build_form(
            &join_url(base, endpoint.path()),
            &d.model,
            auth(d),
            d,
            body,
            form,
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
pub(crate) fn auth(d: &Deployment) -> Vec<(String, String)> {
    let mut auth = Vec::new();
    if let Some(key) = &d.api_key {
        auth.push(("authorization".into(), format!("Bearer {}", key.expose())));
    }
    if let Some(org) = &d.organization {
        auth.push(("openai-organization".into(), org.clone()));
    }
    auth
}

/// A multipart/form-data POST of an image edit to `url` (OpenAI's `/images/edits`, shared
/// with Azure): the request's fields as text parts, then `image` (one image) or `image[]`
/// (several, as OpenAI documents), then `mask`. The host encodes the form from its own
/// `Blob`s (`HostForm`): the image bytes never enter the core.
pub fn build_form(
    url: &str,
    model: &str,
    auth: Vec<(String, String)>,
    d: &Deployment,
    mut body: Map<String, Value>,
    form: &FormUpload,
    ctx: &RequestContext,
) -> Result<HttpRequest, LlmError> {
    if form.images == 0 || form.images > MAX_EDIT_IMAGES {
        return Err(LlmError::bad_request(format!(
            "imageEdit() takes 1 to {MAX_EDIT_IMAGES} images (got {})",
            form.images
        )));
    }
    let needed = form.images + usize::from(form.mask);
    if form.parts.len != needed {
        return Err(LlmError::bad_request(format!(
            "imageEdit(): the host holds {} file parts, the request names {needed}",
            form.parts.len
        )));
    }
    body.put("model", Value::String(model.to_string()));
    body.remove("image");
    body.remove("mask");
    let fields = form_fields(&body)?;
    let image = if form.images > 1 { "image[]" } else { "image" };
    let mut files: Vec<(String, usize)> =
        (0..form.images).map(|i| (image.to_string(), i)).collect();
    if form.mask {
        files.push(("mask".to_string(), form.images));
    }
    let mut headers = auth;
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
        binary_body: None,
        form: Some(std::rc::Rc::new(HostForm {
            fields,
            files,
            parts: form.parts.clone(),
        })),
        timeout_ms: Some(ctx.timeout_ms),
    })
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
    body.put("model", Value::String(model.to_string()));
    body.remove("file");
    let (content_type, bytes) = multipart(&body, upload, ctx.entropy)?;
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
        form: None,
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
    Ok(crate::obj! { "text": text })
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
    body.put("model", Value::String(model.to_string()));
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
        Endpoint::Embedding | Endpoint::ImageGeneration | Endpoint::ImageEdit => "data",
        Endpoint::Moderation | Endpoint::Rerank => "results",
        Endpoint::Responses => "output",
        Endpoint::Realtime => return Err(super::unsupported("openai", endpoint)),
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

/// Adds what an OpenAI-format API needs to stream: `stream: true` and, when the server
/// accepts it, `stream_options.include_usage` (so the cost of a stream is known).
pub fn request_stream(body: &mut Map<String, Value>, endpoint: Endpoint, with_usage: bool) {
    if endpoint == Endpoint::Responses {
        // The Responses API reports usage on its terminal event; it takes no stream_options.
        body.put("stream", Value::Bool(true));
        return;
    }
    if !matches!(
        endpoint,
        Endpoint::ChatCompletion | Endpoint::TextCompletion
    ) {
        return;
    }
    body.put("stream", Value::Bool(true));
    if with_usage {
        body.insert(
            "stream_options".into(),
            crate::obj! { "include_usage": true },
        );
    }
}

/// The stream decoder of an OpenAI-format provider: chat and text completions stream.
pub fn stream_decoder(
    provider: &'static str,
    endpoint: Endpoint,
    ctx: &StreamContext,
) -> Option<Box<dyn StreamDecoder>> {
    if endpoint == Endpoint::Responses {
        return Some(Box::new(super::responses::ResponsesStream::new()));
    }
    matches!(
        endpoint,
        Endpoint::ChatCompletion | Endpoint::TextCompletion
    )
    .then(|| Box::new(OpenAiStream::new(provider, ctx)) as Box<dyn StreamDecoder>)
}

/// Decodes an OpenAI-format SSE stream (OpenAI, Azure and the compatible presets): chunks pass
/// through as they are, except that usage — wherever the server puts it (a final
/// `choices: []` chunk, the last content chunk, Groq's `x_groq.usage`) — is moved to one final
/// usage chunk (a `text_completion` one for the legacy endpoint). Chunks without an id, model,
/// object or `created` (Azure's filter-result chunks) are stamped with the stream's (held back
/// until the stream's first id is known; `ctx`'s when the server sends none), and a chat
/// choice without a `delta` gets an empty one. In-stream errors (an `{"error": …}` chunk, or
/// an `event: error` event) become typed errors, returned after the chunks before them.
pub struct OpenAiStream {
    sse: SseDecoder,
    provider: &'static str,
    ctx: StreamContext,
    done: bool,
    finished_choice: bool,
    usage: Option<Value>,
    /// The last non-empty id, model, created and object seen.
    id: String,
    model: String,
    created: u64,
    object: Option<String>,
    /// Chunks without an id that came before the first chunk with one.
    held: Vec<Value>,
    /// A tool-call delta was seen (an empty `finish_reason` then means `tool_calls`).
    tool_calls: bool,
    failed: Option<LlmError>,
}

impl OpenAiStream {
    pub fn new(provider: &'static str, ctx: &StreamContext) -> OpenAiStream {
        OpenAiStream {
            sse: SseDecoder::new(),
            provider,
            ctx: ctx.clone(),
            done: false,
            finished_choice: false,
            usage: None,
            id: String::new(),
            model: String::new(),
            created: 0,
            object: None,
            held: Vec::new(),
            tool_calls: false,
            failed: None,
        }
    }

    /// Fills what `chunk` lacks from the stream (or `ctx`): id, model, created, object, and an
    /// empty `delta` on chat choices without one.
    fn stamp(&self, chunk: &mut Value) {
        let Some(obj) = chunk.as_object_mut() else {
            return;
        };
        let blank = |v: Option<&Value>| {
            v.is_none_or(|v| v.is_null() || v.as_str() == Some("") || v.as_u64() == Some(0))
        };
        let pick = |own: &str, fallback: &str| {
            if own.is_empty() {
                fallback.to_string()
            } else {
                own.to_string()
            }
        };
        if blank(obj.get("id")) {
            obj.put("id", Value::String(pick(&self.id, &self.ctx.id)));
        }
        if blank(obj.get("model")) {
            obj.insert(
                "model".into(),
                Value::String(pick(&self.model, &self.ctx.model)),
            );
        }
        if blank(obj.get("created")) {
            let created = if self.created > 0 {
                self.created
            } else {
                self.ctx.created
            };
            obj.put("created", created.into());
        }
        let object = self.object.as_deref().unwrap_or("chat.completion.chunk");
        if blank(obj.get("object")) {
            obj.put("object", Value::String(object.to_string()));
        }
        if object == "chat.completion.chunk" {
            if let Some(Value::Array(choices)) = obj.get_mut("choices") {
                for choice in choices.iter_mut().filter_map(Value::as_object_mut) {
                    choice
                        .entry("delta")
                        .or_insert_with(|| Value::Object(Map::new()));
                }
            }
        }
    }

    /// Delivers `chunk`, stamped; chunks without an id wait for the stream's first id.
    fn push(&mut self, mut chunk: Value, out: &mut Vec<Value>) {
        let has_id = chunk
            .get("id")
            .and_then(Value::as_str)
            .is_some_and(|id| !id.is_empty());
        if !has_id && self.id.is_empty() {
            self.held.push(chunk);
            return;
        }
        for mut held in std::mem::take(&mut self.held) {
            self.stamp(&mut held);
            out.push(held);
        }
        self.stamp(&mut chunk);
        out.push(chunk);
    }

    fn event(&mut self, event: &SseEvent, out: &mut Vec<Value>) -> Result<(), LlmError> {
        let data = event.data.trim();
        if data == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        if data.is_empty() || self.done {
            return Ok(());
        }
        let mut chunk: Value = serde_json::from_str(data)
            .map_err(|e| crate::stream::malformed_event(self.provider, e))?;
        let Some(obj) = chunk.as_object_mut() else {
            return Err(crate::stream::malformed_event(
                self.provider,
                "not an object",
            ));
        };
        if let Some(error) = obj.get("error").filter(|e| !e.is_null()) {
            return Err(in_stream_error(error));
        }
        if event.name() == "error" {
            return Err(in_stream_error(&Value::Object(obj.clone())));
        }
        if let Some(usage) = obj.remove("usage").filter(|u| !u.is_null()) {
            self.usage = Some(usage);
        }
        if let Some(usage) = obj
            .get_mut("x_groq")
            .and_then(Value::as_object_mut)
            .and_then(|x| x.remove("usage"))
        {
            self.usage.get_or_insert(usage);
        }
        let text = |key: &str| {
            obj.get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        if let Some(id) = text("id") {
            self.id = id;
        }
        if let Some(model) = text("model") {
            self.model = model;
        }
        if let Some(object) = text("object") {
            self.object = Some(object);
        }
        if let Some(created) = obj
            .get("created")
            .and_then(Value::as_u64)
            .filter(|c| *c > 0)
        {
            self.created = created;
        }
        if let Some(Value::Array(choices)) = obj.get_mut("choices") {
            for choice in choices.iter_mut().filter_map(Value::as_object_mut) {
                self.normalize_choice(choice);
            }
        }
        let choices = obj.get("choices").and_then(Value::as_array);
        if choices.is_some_and(|c| {
            c.iter()
                .any(|choice| choice.get("finish_reason").is_some_and(|f| !f.is_null()))
        }) {
            self.finished_choice = true;
        }
        // A chunk that only carried usage is replaced by the final usage chunk.
        if choices.is_some_and(|c| !c.is_empty())
            || obj.keys().any(|k| k == "prompt_filter_results")
        {
            self.push(chunk, out);
        }
        Ok(())
    }
}

impl OpenAiStream {
    /// Normalises one streamed choice the way the compatible presets' replies are: a list
    /// `content` (Mistral's thinking blocks) becomes `content` text plus `reasoning_content`,
    /// and an empty `finish_reason` (xAI) becomes `tool_calls` after tool calls, else `stop`.
    fn normalize_choice(&mut self, choice: &mut Map<String, Value>) {
        if let Some(Value::Object(delta)) = choice.get_mut("delta") {
            if delta.get("tool_calls").is_some_and(|c| !c.is_null()) {
                self.tool_calls = true;
            }
            if delta.get("content").is_some_and(Value::is_array) {
                super::compat::flatten_reply_content(delta);
            }
        }
        if choice.get("finish_reason").and_then(Value::as_str) == Some("") {
            let reason = if self.tool_calls {
                "tool_calls"
            } else {
                "stop"
            };
            choice.put("finish_reason", Value::String(reason.into()));
        }
    }
}

/// An `{"error": {message, type, code}}` sent inside a stream.
fn in_stream_error(error: &Value) -> LlmError {
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .or_else(|| error.as_str())
        .unwrap_or("the provider reported an error in the stream");
    let kind = error
        .get("type")
        .and_then(Value::as_str)
        .or_else(|| error.get("code").and_then(Value::as_str))
        .unwrap_or_default();
    let code = error
        .get("code")
        .and_then(|c| c.as_u64())
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| (400..600).contains(c));
    let status = code.unwrap_or(match kind {
        "rate_limit_exceeded" | "rate_limit_error" | "tokens" | "requests" => 429,
        "invalid_request_error" | "context_length_exceeded" => 400,
        "authentication_error" | "invalid_api_key" => 401,
        "overloaded_error" | "service_unavailable" => 503,
        _ => 500,
    });
    let message = match error.get("code").and_then(Value::as_str) {
        // Keep the code: classification (context window, content policy) reads it.
        Some(code) if !message.contains(code) => format!("{message} (code: {code})"),
        _ => message.to_string(),
    };
    crate::stream::stream_error(status, message)
}

/// The fields of a streamed chunk the decoder reads, borrowed from its text: a chunk that
/// parses as this and needs no normalisation passes through as its text ([`Chunk::Raw`]).
/// Unknown fields are skipped; a field of another type (a list `content`) fails the parse,
/// and the chunk takes the general path.
#[derive(serde::Deserialize)]
struct PlainChunk<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    model: Cow<'a, str>,
    #[serde(borrow)]
    object: Cow<'a, str>,
    created: u64,
    #[serde(borrow)]
    choices: Vec<PlainChoice<'a>>,
    usage: Option<IgnoredAny>,
    error: Option<IgnoredAny>,
    x_groq: Option<IgnoredAny>,
}

/// A chunk that carries only usage (`choices: []`, OpenAI's last chunk with
/// `stream_options.include_usage`), read without building a `Value` of the whole chunk: its
/// identity is borrowed and only `usage` becomes a `Value`. Anything else (an error, Groq's
/// `x_groq`, `prompt_filter_results` even when null, a field of another type, a duplicate
/// field) fails the parse and the chunk takes the general path.
#[derive(serde::Deserialize)]
struct UsageOnlyChunk<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(borrow)]
    object: Option<Cow<'a, str>>,
    created: Option<u64>,
    choices: Vec<IgnoredAny>,
    #[serde(borrow)]
    usage: &'a serde_json::value::RawValue,
    error: Option<IgnoredAny>,
    x_groq: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "present")]
    prompt_filter_results: bool,
}

/// `true` for a field that is there, whatever its value (null included).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    <IgnoredAny as serde::Deserialize>::deserialize(d).map(|_| true)
}

#[derive(serde::Deserialize)]
struct PlainChoice<'a> {
    #[serde(borrow)]
    delta: Option<PlainDelta<'a>>,
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(serde::Deserialize)]
struct PlainDelta<'a> {
    #[serde(borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(borrow)]
    reasoning_content: Option<Cow<'a, str>>,
    #[serde(borrow)]
    tool_calls: Option<Vec<PlainToolCall<'a>>>,
}

#[derive(serde::Deserialize)]
struct PlainToolCall<'a> {
    #[serde(borrow)]
    function: Option<PlainFunction<'a>>,
}

#[derive(serde::Deserialize)]
struct PlainFunction<'a> {
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    arguments: Option<Cow<'a, str>>,
}

impl OpenAiStream {
    /// `event` as its own text when the general path would hand it on unchanged: stamped
    /// already, with choices, no usage, no error, no normalisation to make. Updates the
    /// stream's state as the general path would.
    /// `Err` gives the event back, for the general path.
    fn plain(&mut self, event: SseEvent) -> Result<Chunk, SseEvent> {
        match self.plain_chars(&event) {
            Some(chars) => {
                let whole = event.data.trim().len() == event.data.len();
                let text = if whole {
                    event.data
                } else {
                    event.data.trim().to_string()
                };
                Ok(Chunk::Raw { text, chars })
            }
            None => Err(event),
        }
    }

    /// A usage-only chunk (`UsageOnlyChunk`), handled as `event` would (the stream's
    /// identity updated, the usage kept for the final usage chunk, nothing delivered):
    /// true when it was one.
    fn usage_only(&mut self, event: &SseEvent) -> bool {
        if self.done || event.name() == "error" {
            return false;
        }
        let data = event.data.trim();
        if !data.starts_with('{') {
            return false;
        }
        let Ok(chunk) = serde_json::from_str::<UsageOnlyChunk>(data) else {
            return false;
        };
        if !chunk.choices.is_empty()
            || chunk.error.is_some()
            || chunk.x_groq.is_some()
            || chunk.prompt_filter_results
        {
            return false;
        }
        let usage = match serde_json::from_str::<Value>(chunk.usage.get()) {
            Ok(Value::Null) | Err(_) => return false,
            Ok(usage) => usage,
        };
        self.usage = Some(usage);
        let text = |v: Option<Cow<str>>| v.filter(|s| !s.is_empty()).map(Cow::into_owned);
        if let Some(id) = text(chunk.id) {
            self.id = id;
        }
        if let Some(model) = text(chunk.model) {
            self.model = model;
        }
        if let Some(object) = text(chunk.object) {
            self.object = Some(object);
        }
        if let Some(created) = chunk.created.filter(|c| *c > 0) {
            self.created = created;
        }
        true
    }

    /// The characters `event` delivers when it passes through as its text (state updated).
    fn plain_chars(&mut self, event: &SseEvent) -> Option<usize> {
        if self.done || !self.held.is_empty() || event.name() == "error" {
            return None;
        }
        let data = event.data.trim();
        if !data.starts_with('{') {
            return None;
        }
        let chunk: PlainChunk = serde_json::from_str(data).ok()?;
        let chat = chunk.object == "chat.completion.chunk";
        if chunk.id.is_empty()
            || chunk.model.is_empty()
            || chunk.object.is_empty()
            || chunk.created == 0
            || chunk.choices.is_empty()
            || chunk.usage.is_some()
            || chunk.error.is_some()
            || chunk.x_groq.is_some()
            || chunk
                .choices
                .iter()
                .any(|c| (chat && c.delta.is_none()) || c.finish_reason.as_deref() == Some(""))
        {
            return None;
        }
        let len = |s: &Option<Cow<str>>| s.as_deref().map_or(0, str::len);
        let mut chars = 0;
        for c in &chunk.choices {
            chars += len(&c.text);
            if c.finish_reason.is_some() {
                self.finished_choice = true;
            }
            if let Some(delta) = &c.delta {
                chars += len(&delta.content) + len(&delta.reasoning_content);
                if let Some(calls) = &delta.tool_calls {
                    self.tool_calls = true;
                    for f in calls.iter().filter_map(|c| c.function.as_ref()) {
                        chars += len(&f.name) + len(&f.arguments);
                    }
                }
            }
        }
        // The stream's identity rarely changes between chunks: copy it only when it does.
        if self.id != chunk.id {
            self.id = chunk.id.into_owned();
        }
        if self.model != chunk.model {
            self.model = chunk.model.into_owned();
        }
        if self.object.as_deref() != Some(&*chunk.object) {
            self.object = Some(chunk.object.into_owned());
        }
        self.created = chunk.created;
        Some(chars)
    }
}

impl StreamDecoder for OpenAiStream {
    fn feed_chunks(&mut self, bytes: &[u8]) -> Result<Vec<Chunk>, LlmError> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let mut out = Vec::new();
        let result = self.sse.feed(bytes).and_then(|events| {
            events.into_iter().try_for_each(|event| {
                let event = match self.plain(event) {
                    Ok(chunk) => {
                        out.push(chunk);
                        return Ok(());
                    }
                    Err(event) => event,
                };
                if self.usage_only(&event) {
                    return Ok(());
                }
                let mut values = Vec::new();
                let result = self.event(&event, &mut values);
                out.extend(values.into_iter().map(Chunk::Value));
                result
            })
        });
        crate::stream::deliver(out, result, &mut self.failed)
    }

    fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Value>, LlmError> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let mut out = Vec::new();
        let result = self.sse.feed(bytes).and_then(|events| {
            events
                .iter()
                .try_for_each(|event| self.event(event, &mut out))
        });
        crate::stream::deliver(out, result, &mut self.failed)
    }

    fn plain_identity(&self) -> Option<crate::stream::PlainIdentity<'_>> {
        if self.done
            || !self.held.is_empty()
            || self.failed.is_some()
            || self.id.is_empty()
            || self.model.is_empty()
            || self.created == 0
            || !self.sse.idle()
        {
            return None;
        }
        Some(crate::stream::PlainIdentity {
            id: &self.id,
            model: &self.model,
            object: self.object.as_deref().filter(|o| !o.is_empty())?,
            created: self.created,
        })
    }

    fn plain_read(&mut self, finished: bool, tool_calls: bool) {
        self.finished_choice |= finished;
        self.tool_calls |= tool_calls;
    }

    fn finish(&mut self) -> Result<Vec<Value>, LlmError> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let mut out = Vec::new();
        if let Some(event) = self.sse.finish()? {
            self.event(&event, &mut out)?;
        }
        if !self.done && !self.finished_choice {
            return Err(crate::stream::cut_short(self.provider));
        }
        for mut held in std::mem::take(&mut self.held) {
            self.stamp(&mut held);
            out.push(held);
        }
        if let Some(mut usage) = self.usage.take() {
            if let Some(usage) = usage.as_object_mut() {
                super::compat::normalize_usage(usage);
            }
            // Blank id, model and created, filled by `stamp` like any other chunk's.
            let blank = StreamContext::default();
            let mut chunk = crate::stream::usage_chunk(&blank, "", "", usage);
            if let (Some(object), Some(obj)) = (self.object.as_deref(), chunk.as_object_mut()) {
                obj.put("object", Value::String(object.to_string()));
            }
            self.stamp(&mut chunk);
            out.push(chunk);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RouterConfig;
    use crate::ports::HostParts;
    use serde_json::json;
    use std::rc::Rc;

    fn deployment(params: Value) -> Deployment {
        let options = json!({"model_list": [{"model_name": "g", "litellm_params": params}]});
        RouterConfig::parse(&options, &Default::default())
            .ok()
            .and_then(|c| c.deployments.into_iter().next())
            .unwrap_or_else(|| unreachable!("the test config parses"))
    }

    fn form(len: usize, images: usize, mask: bool) -> FormUpload {
        FormUpload {
            parts: HostParts {
                handle: Rc::new(()),
                len,
            },
            images,
            mask,
        }
    }

    #[test]
    fn an_image_edit_is_a_host_form_of_text_fields_then_image_parts_then_the_mask() {
        let d = deployment(json!({"model": "openai/gpt-image-1", "api_key": "sk"}));
        let ctx = RequestContext {
            timeout_ms: 1000,
            ..Default::default()
        };
        let body = json!({"prompt": "hat", "n": 2, "user": null, "image": "dropped"});
        let body = body.as_object().cloned().unwrap_or_default();
        let r = OpenAi.build_form(
            &d,
            Endpoint::ImageEdit,
            body.clone(),
            &form(3, 2, true),
            &ctx,
        );
        let r = r.unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(r.url, "https://api.openai.com/v1/images/edits");
        assert_eq!(r.header("authorization"), Some("Bearer sk"));
        // fetch sets the multipart content type (and boundary) from the FormData.
        assert_eq!(r.header("content-type"), None);
        assert!(r.body.is_none() && r.binary_body.is_none());
        let f = r.form.unwrap_or_else(|| unreachable!("a form"));
        assert_eq!(
            f.fields,
            vec![
                ("prompt".to_string(), "hat".to_string()),
                ("n".to_string(), "2".to_string()),
                ("model".to_string(), "gpt-image-1".to_string()),
            ]
        );
        assert_eq!(
            f.files,
            vec![
                ("image[]".to_string(), 0),
                ("image[]".to_string(), 1),
                ("mask".to_string(), 2)
            ]
        );
        let one = OpenAi.build_form(
            &d,
            Endpoint::ImageEdit,
            body.clone(),
            &form(1, 1, false),
            &ctx,
        );
        let one = one.ok().and_then(|r| r.form).map(|f| f.files.clone());
        assert_eq!(one, Some(vec![("image".to_string(), 0)]));
        for bad in [form(2, 1, false), form(0, 0, false), form(17, 17, false)] {
            let e = OpenAi.build_form(&d, Endpoint::ImageEdit, body.clone(), &bad, &ctx);
            assert!(e.is_err());
        }
    }
}
