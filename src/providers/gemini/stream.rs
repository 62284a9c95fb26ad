//! Gemini `streamGenerateContent?alt=sse` (Google AI Studio and Vertex AI) → OpenAI
//! `chat.completion.chunk`s.
//!
//! Each SSE `data:` is a `GenerateContentResponse` carrying the next piece of
//! `candidates[0].content.parts`: `text` parts → `content` deltas (`thought: true` ones →
//! `reasoning_content`), non-image inline data → a data-URL `content` delta (as the
//! non-streaming parser), `functionCall` parts → one complete tool-call delta each (`index`,
//! an `id` derived as the non-streaming parser derives it — from `responseId` and the part's
//! position in the stream —, `name` and the whole `arguments`). `finishReason` → the
//! `finish_reason` chunk (`tool_calls` when the answer called tools, otherwise the
//! non-streaming mapping: `SAFETY` and the other flagged reasons → `content_filter`,
//! `MAX_TOKENS` → `length`). `usageMetadata` is cumulative: the last one becomes the final
//! usage chunk, with the non-streaming usage fields. `id` is `responseId`, `model` the
//! reply's `modelVersion` (else the stream context's).
//!
//! A prompt blocked by `promptFeedback.blockReason` is a `ContentPolicyViolationError` (400),
//! an `{"error": {code, message, status}}` event is classified as the same Google error body
//! over HTTP with status `code`. A stream that ends before any `finishReason` is cut short.

use super::response;
use crate::error::LlmError;
use crate::ports::HttpResponse;
use crate::stream::sse::SseDecoder;
use crate::stream::{
    chat_chunk, cut_short, deliver, malformed_event, usage_chunk, StreamContext, StreamDecoder,
};
use serde_json::{json, Map, Value};

/// Decodes a `streamGenerateContent?alt=sse` reply body.
pub struct GeminiStream {
    sse: SseDecoder,
    provider: &'static str,
    ctx: StreamContext,
    id: Option<String>,
    model: Option<String>,
    started: bool,
    /// Parts of candidate 0 seen so far (positions for tool-call ids).
    parts: usize,
    tool_calls: usize,
    finished: bool,
    usage: Option<Value>,
    pending: Option<LlmError>,
}

impl GeminiStream {
    /// `provider` names the stream in errors (`gemini`, `vertex_ai`).
    pub fn new(provider: &'static str, ctx: &StreamContext) -> GeminiStream {
        GeminiStream {
            sse: SseDecoder::new(),
            provider,
            ctx: ctx.clone(),
            id: None,
            model: None,
            started: false,
            parts: 0,
            tool_calls: 0,
            finished: false,
            usage: None,
            pending: None,
        }
    }

    fn id(&self) -> &str {
        self.id.as_deref().unwrap_or(&self.ctx.id)
    }

    fn model(&self) -> &str {
        self.model.as_deref().unwrap_or(&self.ctx.model)
    }

    fn chunk(&mut self, delta: Map<String, Value>, finish: Option<&str>) -> Value {
        let delta = if self.started {
            delta
        } else {
            self.started = true;
            let mut first = Map::new();
            first.insert("role".into(), json!("assistant"));
            first.insert("content".into(), json!(""));
            first.extend(delta);
            first
        };
        chat_chunk(
            &self.ctx,
            self.id(),
            self.model(),
            Value::Object(delta),
            finish,
        )
    }

    fn event(&mut self, data: &str, out: &mut Vec<Value>) -> Result<(), LlmError> {
        let data = data.trim();
        if data.is_empty() {
            return Ok(());
        }
        let value: Value =
            serde_json::from_str(data).map_err(|e| malformed_event(self.provider, e))?;
        if value.get("error").is_some_and(Value::is_object) {
            let status = value
                .pointer("/error/code")
                .and_then(Value::as_u64)
                .and_then(|c| u16::try_from(c).ok())
                .filter(|c| *c >= 400)
                .unwrap_or(500);
            return Err(response::error(&HttpResponse {
                status,
                headers: Vec::new(),
                body: data.as_bytes().to_vec(),
            }));
        }
        if !value.is_object() {
            return Err(malformed_event(self.provider, "not an object"));
        }
        if let Some(id) = value.get("responseId").and_then(Value::as_str) {
            self.id.get_or_insert_with(|| id.to_string());
        }
        if let Some(model) = value.get("modelVersion").and_then(Value::as_str) {
            self.model.get_or_insert_with(|| model.to_string());
        }
        if let Some(usage) = value.get("usageMetadata").filter(|u| u.is_object()) {
            self.usage = Some(response::usage(Some(usage)));
        }
        let candidates = value
            .get("candidates")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let Some(candidate) = candidates.first() else {
            if let Some(e) = response::blocked_prompt(&value) {
                return Err(e);
            }
            return Ok(());
        };
        let index = candidate.get("index").and_then(Value::as_u64).unwrap_or(0);
        let parts = candidate
            .pointer("/content/parts")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for part in parts {
            let position = self.parts;
            self.parts += 1;
            if let Some(call) = part.get("functionCall") {
                let (name, arguments) = response::function_call(call);
                let signature = part.get("thoughtSignature").and_then(Value::as_str);
                let seed = self.id().to_string();
                let id = response::tool_call_id(&seed, index, position, signature);
                let mut delta = Map::new();
                delta.insert(
                    "tool_calls".into(),
                    json!([{
                        "index": self.tool_calls,
                        "id": id,
                        "type": "function",
                        "function": {"name": name, "arguments": arguments},
                    }]),
                );
                self.tool_calls += 1;
                out.push(self.chunk(delta, None));
                continue;
            }
            let Some(text) = response::part_text(part).filter(|t| !t.is_empty()) else {
                continue;
            };
            let key = if part.get("thought").and_then(Value::as_bool) == Some(true) {
                "reasoning_content"
            } else {
                "content"
            };
            let mut delta = Map::new();
            delta.insert(key.into(), Value::String(text));
            out.push(self.chunk(delta, None));
        }
        if let Some(reason) = candidate.get("finishReason").and_then(Value::as_str) {
            let finish = if self.tool_calls > 0 && !response::is_flagged(reason) {
                "tool_calls"
            } else {
                response::finish_reason(Some(reason))
            };
            self.finished = true;
            out.push(self.chunk(Map::new(), Some(finish)));
        }
        Ok(())
    }
}

impl StreamDecoder for GeminiStream {
    fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Value>, LlmError> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        let mut out = Vec::new();
        let result = self.sse.feed(bytes).and_then(|events| {
            events
                .iter()
                .try_for_each(|event| self.event(&event.data, &mut out))
        });
        deliver(out, result, &mut self.pending)
    }

    fn finish(&mut self) -> Result<Vec<Value>, LlmError> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        let mut out = Vec::new();
        if let Some(event) = self.sse.finish()? {
            // An event without its blank line is usually a body cut inside it.
            match self.event(&event.data, &mut out) {
                Err(_) if !self.finished => return Err(cut_short(self.provider)),
                result => result?,
            }
        }
        if !self.finished {
            return Err(cut_short(self.provider));
        }
        if let Some(usage) = self.usage.take() {
            out.push(usage_chunk(&self.ctx, self.id(), self.model(), usage));
        }
        Ok(out)
    }
}
