//! Cohere v2 chat stream (`"stream": true`) -> OpenAI `chat.completion.chunk`s.
//!
//! Events (SSE, each `data` a JSON object with `type`): `message-start` (the id) opens the
//! stream with the role chunk; `content-start` / `content-delta` of `text` content become
//! `content` deltas, of `thinking` content `reasoning_content` deltas; `tool-call-start` a
//! tool-call start (`id`, `name`, `arguments` so far) and `tool-call-delta` argument
//! fragments, numbered 0, 1, … in the order the calls start; `message-end` carries
//! `finish_reason` (mapped as the non-streaming parser maps it) and `usage` (`tokens`, else
//! `billed_units`, plus `cached_tokens`), which ends the stream as one usage chunk.
//! `tool-plan-delta`, `citation-start` / `citation-end`, `content-end`, `tool-call-end` and
//! unknown events carry nothing the non-streaming answer returns and are skipped. An error
//! event (`type: "error"`, or an object with a `message` and no `type`) is classified as the
//! same body would be over HTTP (its `status_code`/`code`, else 500). Cohere names no model
//! in the stream: chunks carry the deployment's.

use super::{chat_usage, error, finish_reason};
use crate::error::LlmError;
use crate::ports::HttpResponse;
use crate::stream::sse::SseDecoder;
use crate::stream::{chat_chunk, feed_events, finish_events, malformed_event, usage_chunk};
use crate::stream::{SseEvents, StreamContext, StreamDecoder};
use serde_json::Value;

const PROVIDER: &str = "cohere";

/// What an open content block streams as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Content {
    Text,
    Thinking,
}

pub struct CohereStream {
    sse: SseDecoder,
    ctx: StreamContext,
    id: Option<String>,
    /// Cohere content index -> its kind.
    contents: Vec<(u64, Content)>,
    /// Cohere tool-call index -> the OpenAI index.
    tools: Vec<(u64, usize)>,
    started: bool,
    done: bool,
    failed: Option<LlmError>,
}

impl CohereStream {
    pub fn new(ctx: &StreamContext) -> CohereStream {
        CohereStream {
            sse: SseDecoder::new(),
            ctx: ctx.clone(),
            id: None,
            contents: Vec::new(),
            tools: Vec::new(),
            started: false,
            done: false,
            failed: None,
        }
    }

    fn chunk(&self, delta: Value, finish: Option<&str>) -> Value {
        chat_chunk(
            &self.ctx,
            self.id.as_deref().unwrap_or(&self.ctx.id),
            &self.ctx.model,
            delta,
            finish,
        )
    }

    fn start(&mut self, out: &mut Vec<Value>) {
        if !self.started {
            self.started = true;
            out.push(self.chunk(crate::obj! {"role": "assistant", "content": ""}, None));
        }
    }

    fn emit(&mut self, delta: Value, out: &mut Vec<Value>) {
        self.start(out);
        out.push(self.chunk(delta, None));
    }

    fn on_event(&mut self, data: &str, out: &mut Vec<Value>) -> Result<(), LlmError> {
        let data = data.trim();
        if self.done || data.is_empty() || data == "[DONE]" {
            return Ok(());
        }
        let event: Value = serde_json::from_str(data).map_err(|e| malformed_event(PROVIDER, e))?;
        if !event.is_object() {
            return Err(malformed_event(PROVIDER, "not an object"));
        }
        let kind = event.get("type").and_then(Value::as_str);
        let message = |path: &str| event.pointer(&format!("/delta/message{path}"));
        let text = |path: &str| message(path).and_then(Value::as_str).unwrap_or("");
        match kind {
            Some("message-start") => {
                self.id = event.get("id").and_then(Value::as_str).map(str::to_string);
                self.start(out);
            }
            Some("content-start") => {
                let index = index_of(&event)?;
                let content =
                    if message("/content/type").and_then(Value::as_str) == Some("thinking") {
                        Content::Thinking
                    } else {
                        Content::Text
                    };
                self.contents.push((index, content));
                let delta = self.content_delta(content, &event);
                self.start(out);
                if let Some(delta) = delta {
                    out.push(self.chunk(delta, None));
                }
            }
            Some("content-delta") => {
                let index = index_of(&event)?;
                let content = self
                    .contents
                    .iter()
                    .rev()
                    .find(|(i, _)| *i == index)
                    .map_or(Content::Text, |(_, c)| *c);
                if let Some(delta) = self.content_delta(content, &event) {
                    self.emit(delta, out);
                }
            }
            Some("tool-call-start") => {
                let index = index_of(&event)?;
                let tool = self.tools.len();
                self.tools.push((index, tool));
                let delta = crate::obj! {"tool_calls": vec![crate::obj!{
                    "index": tool,
                    "id": text("/tool_calls/id"),
                    "type": "function",
                    "function": crate::obj!{
                        "name": text("/tool_calls/function/name"),
                        "arguments": text("/tool_calls/function/arguments"),
                    },
                }]};
                self.emit(delta, out);
            }
            Some("tool-call-delta") => {
                let index = index_of(&event)?;
                let tool = self
                    .tools
                    .iter()
                    .rev()
                    .find(|(i, _)| *i == index)
                    .map(|(_, t)| *t)
                    .ok_or_else(|| {
                        malformed_event(PROVIDER, "a tool-call-delta before its start")
                    })?;
                let fragment = text("/tool_calls/function/arguments");
                if !fragment.is_empty() {
                    let delta = crate::obj! {"tool_calls": vec![crate::obj!{
                        "index": tool,
                        "function": crate::obj!{"arguments": fragment},
                    }]};
                    self.emit(delta, out);
                }
            }
            Some("message-end") => {
                self.done = true;
                let reason = event
                    .pointer("/delta/finish_reason")
                    .and_then(Value::as_str);
                let finish = finish_reason(reason);
                self.start(out);
                out.push(self.chunk(crate::obj! {}, Some(finish)));
                if let Some(usage) = event.pointer("/delta/usage").filter(|u| u.is_object()) {
                    out.push(usage_chunk(
                        &self.ctx,
                        self.id.as_deref().unwrap_or(&self.ctx.id),
                        &self.ctx.model,
                        chat_usage(Some(usage)),
                    ));
                }
            }
            Some("error") => return Err(stream_error(&event)),
            None if event.get("message").is_some() => return Err(stream_error(&event)),
            None => return Err(malformed_event(PROVIDER, "no `type`")),
            // tool-plan-delta, citation-*, content-end, tool-call-end, new event types.
            Some(_) => {}
        }
        Ok(())
    }

    /// The delta of a content-start/content-delta event, `None` when it adds no text.
    fn content_delta(&self, content: Content, event: &Value) -> Option<Value> {
        let field = |key: &str| {
            event
                .pointer(&format!("/delta/message/content/{key}"))
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
        };
        match content {
            Content::Text => field("text").map(|t| crate::obj! {"content": t}),
            Content::Thinking => field("thinking").map(|t| crate::obj! {"reasoning_content": t}),
        }
    }
}

fn index_of(event: &Value) -> Result<u64, LlmError> {
    event
        .get("index")
        .and_then(Value::as_u64)
        .ok_or_else(|| malformed_event(PROVIDER, "no `index`"))
}

/// An error event, classified as the same `{message}` body with its status would be.
fn stream_error(event: &Value) -> LlmError {
    let status = ["status_code", "code", "status"]
        .iter()
        .find_map(|k| event.get(*k).and_then(Value::as_u64))
        .and_then(|s| u16::try_from(s).ok())
        .filter(|s| (400..600).contains(s))
        .unwrap_or(500);
    let message = event
        .get("message")
        .or_else(|| event.pointer("/error/message"))
        .or_else(|| event.pointer("/delta/error"))
        .cloned()
        .unwrap_or_else(|| Value::String("the provider reported an error in the stream".into()));
    let reply = HttpResponse {
        status,
        headers: Vec::new(),
        body: serde_json::to_vec(&crate::obj! { "message": message }).unwrap_or_default(),
    };
    error(&reply)
}

impl SseEvents for CohereStream {
    const PROVIDER: &'static str = PROVIDER;

    fn sse(&mut self) -> &mut SseDecoder {
        &mut self.sse
    }

    fn failed(&mut self) -> &mut Option<LlmError> {
        &mut self.failed
    }

    fn event(&mut self, data: &str, out: &mut Vec<Value>) -> Result<(), LlmError> {
        self.on_event(data, out)
    }

    fn done(&self) -> bool {
        self.done
    }
}

impl StreamDecoder for CohereStream {
    fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Value>, LlmError> {
        feed_events(self, bytes)
    }

    fn finish(&mut self) -> Result<Vec<Value>, LlmError> {
        finish_events(self)
    }
}
