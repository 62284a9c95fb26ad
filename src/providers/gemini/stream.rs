//! Gemini `streamGenerateContent?alt=sse` (Google AI Studio and Vertex AI) → OpenAI
//! `chat.completion.chunk`s.
//!
//! Each SSE `data:` is a `GenerateContentResponse` carrying the next piece of each candidate's
//! `content.parts` (candidate `index` → the choice's `index`, for `n > 1`): `text` parts →
//! `content` deltas (`thought: true` ones → `reasoning_content`), non-image inline data → a
//! data-URL `content` delta (as the non-streaming parser), `functionCall` parts → one complete tool-call delta each (`index`,
//! an `id` derived as the non-streaming parser derives it — from `responseId` and the part's
//! position in the stream —, `name` and the whole `arguments`). `finishReason` → the
//! `finish_reason` chunk (`tool_calls` when the answer called tools, otherwise the
//! non-streaming mapping: `SAFETY` and the other flagged reasons → `content_filter`,
//! `MAX_TOKENS` → `length`). `usageMetadata` is cumulative: the last one becomes the final
//! usage chunk, with the non-streaming usage fields. `id` is `responseId`, `model` the
//! reply's `modelVersion` (else the stream context's). The answer is complete when every
//! candidate has its `finishReason`.
//!
//! A prompt blocked by `promptFeedback.blockReason` is a `ContentPolicyViolationError` (400),
//! an `{"error": {code, message, status}}` event is classified as the same Google error body
//! over HTTP with status `code`. A stream that ends before that is cut short.

use super::response;
use crate::error::LlmError;
use crate::ports::HttpResponse;
use crate::stream::sse::SseDecoder;
use crate::stream::{
    chat_chunk, cut_short, deliver, malformed_event, usage_chunk, StreamContext, StreamDecoder,
};
use crate::types::object::Put;
use serde_json::{Map, Value};

/// Decodes a `streamGenerateContent?alt=sse` reply body.
pub struct GeminiStream {
    sse: SseDecoder,
    provider: &'static str,
    ctx: StreamContext,
    id: Option<String>,
    model: Option<String>,
    /// Every candidate seen so far, in order of appearance.
    candidates: Vec<Candidate>,
    usage: Option<Value>,
    pending: Option<LlmError>,
}

/// The progress of one candidate (one OpenAI choice).
#[derive(Debug, Clone, Copy)]
struct Candidate {
    index: u64,
    /// Its first chunk (carrying the role) has been sent.
    started: bool,
    /// Parts seen so far (positions for tool-call ids).
    parts: usize,
    tool_calls: usize,
    finished: bool,
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
            candidates: Vec::new(),
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

    /// The answer is complete once every candidate it started has a finish reason.
    fn finished(&self) -> bool {
        !self.candidates.is_empty() && self.candidates.iter().all(|c| c.finished)
    }

    /// A chunk of choice `c.index`; the choice's first chunk carries the role.
    fn chunk(&self, c: &mut Candidate, delta: Map<String, Value>, finish: Option<&str>) -> Value {
        let delta = if c.started {
            delta
        } else {
            c.started = true;
            let mut first = Map::new();
            first.put("role", Value::from("assistant"));
            first.put("content", Value::from(""));
            first.extend(delta);
            first
        };
        let mut chunk = chat_chunk(
            &self.ctx,
            self.id(),
            self.model(),
            Value::Object(delta),
            finish,
        );
        if let Some(choice) = chunk.pointer_mut("/choices/0") {
            choice["index"] = Value::from(c.index);
        }
        chunk
    }

    /// The chunks of one candidate's piece of the answer.
    fn candidate(&mut self, position: usize, candidate: &Value, out: &mut Vec<Value>) {
        let index = candidate
            .get("index")
            .and_then(Value::as_u64)
            .unwrap_or(position as u64);
        let slot = match self.candidates.iter().position(|c| c.index == index) {
            Some(slot) => slot,
            None => {
                self.candidates.push(Candidate {
                    index,
                    started: false,
                    parts: 0,
                    tool_calls: 0,
                    finished: false,
                });
                self.candidates.len() - 1
            }
        };
        // A copy while its chunks are built (they borrow the stream's id and model).
        let Some(mut c) = self.candidates.get(slot).copied() else {
            return;
        };
        let parts = candidate
            .pointer("/content/parts")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for part in parts {
            let part_position = c.parts;
            c.parts += 1;
            if let Some(call) = part.get("functionCall") {
                let (name, arguments) = response::function_call(call);
                let signature = part.get("thoughtSignature").and_then(Value::as_str);
                let id = response::tool_call_id(self.id(), index, part_position, signature);
                let mut delta = Map::new();
                delta.insert(
                    "tool_calls".into(),
                    Value::from(vec![crate::obj! {
                        "index": c.tool_calls,
                        "id": id,
                        "type": "function",
                        "function": crate::obj!{"name": name, "arguments": arguments},
                    }]),
                );
                c.tool_calls += 1;
                out.push(self.chunk(&mut c, delta, None));
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
            out.push(self.chunk(&mut c, delta, None));
        }
        // One finish chunk per choice, should a later event repeat the reason.
        let reason = candidate
            .get("finishReason")
            .and_then(Value::as_str)
            .filter(|_| !c.finished);
        if let Some(reason) = reason {
            let finish = if c.tool_calls > 0 && !response::is_flagged(reason) {
                "tool_calls"
            } else {
                response::finish_reason(Some(reason))
            };
            c.finished = true;
            out.push(self.chunk(&mut c, Map::new(), Some(finish)));
        }
        if let Some(stored) = self.candidates.get_mut(slot) {
            *stored = c;
        }
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
        if candidates.is_empty() {
            if let Some(e) = response::blocked_prompt(&value) {
                return Err(e);
            }
        }
        for (position, candidate) in candidates.iter().enumerate() {
            self.candidate(position, candidate, out);
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
                Err(_) if !self.finished() => return Err(cut_short(self.provider)),
                result => result?,
            }
        }
        if !self.finished() {
            return Err(cut_short(self.provider));
        }
        if let Some(usage) = self.usage.take() {
            out.push(usage_chunk(&self.ctx, self.id(), self.model(), usage));
        }
        Ok(out)
    }
}
