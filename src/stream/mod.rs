//! Streaming: byte-level decoders (SSE, AWS event stream), the provider stream decoders'
//! common interface, OpenAI chunk construction and the chunk assembler.
//!
//! A provider's [`StreamDecoder`] turns the body of its streaming reply, fed in arbitrary
//! pieces, into OpenAI `chat.completion.chunk` objects (or `text_completion` chunks for the
//! legacy endpoint). Usage, wherever the provider reports it, ends the stream as one final
//! chunk with `choices: []` and `usage` (OpenAI's `stream_options.include_usage` shape); the
//! router drops that chunk when the caller did not ask for it.

pub mod assemble;
pub mod eventstream;
pub mod sse;

pub use assemble::assemble;

use crate::error::{ErrorKind, LlmError};
use crate::types::object::Put;
use serde_json::{Map, Value};

/// What a decoder needs to stamp chunks the provider leaves unstamped.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StreamContext {
    /// `chatcmpl-…` id for providers that send none.
    pub id: String,
    /// Unix seconds.
    pub created: u64,
    /// The deployment's model name (without provider prefix), for providers that send none.
    pub model: String,
}

/// A decoded chunk as the host loop hands it on.
#[derive(Debug, Clone, PartialEq)]
pub enum Chunk {
    Value(Value),
    /// A chunk that needed no change: its JSON text exactly as the upstream sent it, and the
    /// characters of content, reasoning, text and tool calls it carries.
    Raw {
        text: String,
        chars: usize,
    },
}

impl Chunk {
    /// The chunk as a value (a raw chunk is parsed).
    pub fn into_value(self) -> Result<Value, LlmError> {
        match self {
            Chunk::Value(v) => Ok(v),
            Chunk::Raw { text, .. } => {
                serde_json::from_str(&text).map_err(|e| malformed_event("the provider", e))
            }
        }
    }
}

/// Decodes one streaming reply body, incrementally.
pub trait StreamDecoder {
    /// Consumes the next piece of the body (split anywhere); returns the chunks it completes.
    /// A provider error event is returned as `Err` with its classified kind.
    fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Value>, LlmError>;

    /// Like `feed`, but chunks that need no change may come back as their text
    /// ([`Chunk::Raw`]), so that the host's `JSON.parse` is their only full parse.
    fn feed_chunks(&mut self, bytes: &[u8]) -> Result<Vec<Chunk>, LlmError> {
        Ok(self.feed(bytes)?.into_iter().map(Chunk::Value).collect())
    }

    /// The body ended: returns the last chunks, or an error when the stream was cut short
    /// (no terminal event). Called once.
    fn finish(&mut self) -> Result<Vec<Value>, LlmError>;

    /// The identity a plain chunk must carry for the host to read it itself (README,
    /// "Architecture": streams), or `None` when every event must be fed: only decoders that
    /// pass plain chunks through unchanged, holding no partial event and no held chunk.
    fn plain_identity(&self) -> Option<PlainIdentity<'_>> {
        None
    }

    /// The host read plain chunks itself (each matching [`Self::plain_identity`]): `finished`
    /// when one of them carried a `finish_reason`, `tool_calls` when one carried tool-call
    /// deltas. Records what `feed_chunks` would have.
    fn plain_read(&mut self, _finished: bool, _tool_calls: bool) {}
}

/// What every chunk of a stream read by the host must carry unchanged: its `id`, `model`,
/// `object` and `created`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PlainIdentity<'a> {
    pub id: &'a str,
    pub model: &'a str,
    pub object: &'a str,
    pub created: u64,
}

/// An OpenAI `chat.completion.chunk` with one choice.
pub fn chat_chunk(
    ctx: &StreamContext,
    id: &str,
    model: &str,
    delta: Value,
    finish_reason: Option<&str>,
) -> Value {
    crate::obj! {
        "id": id,
        "object": "chat.completion.chunk",
        "created": ctx.created,
        "model": model,
        "choices": vec![crate::obj!{
            "index": 0,
            "delta": delta,
            "logprobs": Value::Null,
            "finish_reason": finish_reason,
        }],
    }
}

/// The final usage chunk (`choices: []`), as OpenAI sends with `include_usage`.
pub fn usage_chunk(ctx: &StreamContext, id: &str, model: &str, usage: Value) -> Value {
    crate::obj! {
        "id": id,
        "object": "chat.completion.chunk",
        "created": ctx.created,
        "model": model,
        "choices": Vec::<Value>::new(),
        "usage": usage,
    }
}

/// OpenAI's usage object from prompt and completion token counts (plus optional details).
pub fn usage_value(
    prompt_tokens: u64,
    completion_tokens: u64,
    extra: Option<Map<String, Value>>,
) -> Value {
    let mut usage = Map::new();
    usage.put("prompt_tokens", prompt_tokens.into());
    usage.put("completion_tokens", completion_tokens.into());
    usage.insert(
        "total_tokens".into(),
        prompt_tokens.saturating_add(completion_tokens).into(),
    );
    if let Some(extra) = extra {
        usage.extend(extra);
    }
    Value::Object(usage)
}

/// A stream that ended without its terminal event (connection closed mid-answer).
pub fn cut_short(provider: &str) -> LlmError {
    LlmError::new(
        ErrorKind::APIConnectionError,
        format!("the {provider} stream ended before the answer was complete"),
    )
}

/// A stream event or chunk that could not be read.
pub fn malformed_event(provider: &str, detail: impl std::fmt::Display) -> LlmError {
    LlmError::new(
        ErrorKind::APIConnectionError,
        format!("Malformed {provider} stream event: {detail}"),
    )
}

/// An error reported inside a stream (an `error` event), classified as the same error
/// would be with `status` as its HTTP status.
pub fn stream_error(status: u16, message: impl Into<String>) -> LlmError {
    let message = message.into();
    let kind = crate::reliability::classify::kind_for_status(status, &message);
    let mut e = LlmError::new(kind, message).with_status(status);
    e.from_upstream = true;
    e
}

/// The result of one `feed`: the chunks made before an error are returned first and the error
/// is kept in `failed` for the next call, so a split of the body never changes what a
/// caller receives. Without chunks the error is returned at once.
pub fn deliver<T>(
    chunks: Vec<T>,
    result: Result<(), LlmError>,
    failed: &mut Option<LlmError>,
) -> Result<Vec<T>, LlmError> {
    match result {
        Ok(()) => Ok(chunks),
        Err(e) if chunks.is_empty() => Err(e),
        Err(e) => {
            *failed = Some(e);
            Ok(chunks)
        }
    }
}

/// A provider whose stream is SSE events, each `data` payload decoded on its own (Anthropic,
/// Cohere): [`feed_events`] and [`finish_events`] are its `StreamDecoder`.
pub trait SseEvents {
    /// The provider's name, for "stream ended before the answer was complete".
    const PROVIDER: &'static str;
    fn sse(&mut self) -> &mut sse::SseDecoder;
    /// The error met after chunks of the same feed (returned on the next call).
    fn failed(&mut self) -> &mut Option<LlmError>;
    /// One event's `data`: appends the chunks it completes.
    fn event(&mut self, data: &str, out: &mut Vec<Value>) -> Result<(), LlmError>;
    /// The terminal event arrived: the body may end here.
    fn done(&self) -> bool;
}

/// `StreamDecoder::feed` of an [`SseEvents`] decoder.
pub fn feed_events<D: SseEvents>(d: &mut D, bytes: &[u8]) -> Result<Vec<Value>, LlmError> {
    if let Some(e) = d.failed().take() {
        return Err(e);
    }
    let mut out = Vec::new();
    let result = d.sse().feed(bytes).and_then(|events| {
        events
            .iter()
            .try_for_each(|event| d.event(&event.data, &mut out))
    });
    deliver(out, result, d.failed())
}

/// `StreamDecoder::finish` of an [`SseEvents`] decoder: the last event, then `cut_short` unless
/// the terminal event came.
pub fn finish_events<D: SseEvents>(d: &mut D) -> Result<Vec<Value>, LlmError> {
    if let Some(e) = d.failed().take() {
        return Err(e);
    }
    let mut out = Vec::new();
    if let Some(event) = d.sse().finish()? {
        d.event(&event.data, &mut out)?;
    }
    if !d.done() {
        return Err(cut_short(D::PROVIDER));
    }
    Ok(out)
}

/// A complete answer (`chat.completion` or `text_completion`) as the chunks of a stream, for
/// replaying a cached answer to `stream: true`: per choice, one chunk with the whole message
/// (role, content, reasoning, tool calls with their index) and one with its `finish_reason`;
/// then, with `include_usage`, the usage chunk.
pub fn replay_chunks(answer: &Value, include_usage: bool) -> Vec<Value> {
    let text = answer.get("object").and_then(Value::as_str) == Some("text_completion");
    let head = |choices: Value| {
        let mut chunk = Map::new();
        for key in ["id", "created", "model", "system_fingerprint"] {
            if let Some(v) = answer.get(key) {
                chunk.insert(key.into(), v.clone());
            }
        }
        let object = if text {
            "text_completion"
        } else {
            "chat.completion.chunk"
        };
        chunk.put("object", object.into());
        chunk.put("choices", choices);
        Value::Object(chunk)
    };
    let mut out = Vec::new();
    let choices = answer.get("choices").and_then(Value::as_array);
    for (position, choice) in choices.into_iter().flatten().enumerate() {
        let index = choice
            .get("index")
            .cloned()
            .unwrap_or_else(|| position.into());
        let finish = choice.get("finish_reason").cloned().unwrap_or(Value::Null);
        if text {
            let t = choice.get("text").cloned().unwrap_or_else(|| "".into());
            out.push(head(
                serde_json::Value::from(vec![crate::obj!{"text": t, "index": index, "logprobs": Value::Null, "finish_reason": finish}]),
            ));
            continue;
        }
        let message = choice.get("message").and_then(Value::as_object);
        let mut delta = Map::new();
        delta.put("role", "assistant".into());
        let content = message.and_then(|m| m.get("content")).cloned();
        delta.put("content", content.unwrap_or(Value::Null));
        for key in ["reasoning_content", "refusal"] {
            if let Some(v) = message.and_then(|m| m.get(key)).filter(|v| !v.is_null()) {
                delta.insert(key.into(), v.clone());
            }
        }
        if let Some(calls) = message
            .and_then(|m| m.get("tool_calls"))
            .and_then(Value::as_array)
        {
            let indexed: Vec<Value> = calls
                .iter()
                .enumerate()
                .map(|(i, call)| {
                    let mut call = call.as_object().cloned().unwrap_or_default();
                    call.put("index", i.into());
                    Value::Object(call)
                })
                .collect();
            delta.put("tool_calls", Value::Array(indexed));
        }
        out.push(head(
            serde_json::Value::from(vec![crate::obj!{"index": index.clone(), "delta": delta, "logprobs": Value::Null, "finish_reason": Value::Null}]),
        ));
        out.push(head(
            serde_json::Value::from(vec![crate::obj!{"index": index, "delta": crate::obj!{}, "logprobs": Value::Null, "finish_reason": finish}]),
        ));
    }
    if include_usage {
        if let Some(usage) = answer.get("usage").filter(|u| !u.is_null()) {
            let mut last = head(Value::Array(Vec::new()));
            if let Value::Object(m) = &mut last {
                m.put("usage", usage.clone());
            }
            out.push(last);
        }
    }
    out
}
