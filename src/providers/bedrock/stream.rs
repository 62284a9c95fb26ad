//! Bedrock `converse-stream` (`POST /model/{modelId}/converse-stream`, the Converse body,
//! signed the same way) → OpenAI `chat.completion.chunk`s.
//!
//! The reply is an AWS event stream (see [`crate::stream::eventstream`]). Messages with
//! `:message-type` `event` carry one Converse stream event named by `:event-type`, its JSON as
//! the payload (Bedrock pads payloads with a `p` field, ignored):
//! - `messageStart` → the first chunk (`role: "assistant"`, `content: ""`);
//! - `contentBlockStart` with `start.toolUse {toolUseId, name}` → a tool-call start
//!   (`index` counts tool calls, `id`, `name`, `arguments: ""`); for the JSON-mode tool
//!   (`json_tool_call`, see [`super::converse`]) nothing: its input is streamed as `content`;
//! - `contentBlockDelta`: `delta.text` → `content`, `delta.toolUse.input` → the block's
//!   `arguments` fragment (`content` for the JSON-mode tool), `delta.reasoningContent.text` →
//!   `reasoning_content` (signatures and redacted reasoning are not text and are skipped);
//! - `contentBlockStop` → nothing;
//! - `messageStop.stopReason` → the `finish_reason` chunk, mapped as the Converse parser maps
//!   it (`tool_use` → `tool_calls`, `stop` when only the JSON-mode tool was called);
//! - `metadata.usage` → the final usage chunk, with the Converse parser's usage fields.
//!
//! Bedrock sends no message id or model: chunks carry the stream context's. Messages with
//! `:message-type` `exception` are typed errors with the status the same exception has over
//! HTTP (`:exception-type` `throttlingException` 429, `serviceUnavailableException` 503,
//! `validationException` 400, `internalServerException` 500, `modelTimeoutException` 408;
//! `modelStreamErrorException` keeps AWS's 424 and is an `InternalServerError`, since AWS
//! asks for a retry), classified as Bedrock's HTTP errors are (`error_kind`); `error` messages
//! (`:error-code`, `:error-message`) are 500s. A stream that ends before `messageStop` is cut
//! short.

use super::converse::{self, JSON_TOOL_NAME};
use crate::error::{ErrorKind, LlmError};
use crate::stream::eventstream::{EventStreamDecoder, Message};
use crate::stream::StreamDecoder;
use crate::stream::{chat_chunk, cut_short, deliver, malformed_event, usage_chunk, StreamContext};
use crate::types::object::Put;
use serde_json::{Map, Value};

const PROVIDER: &str = "bedrock";

/// Decodes a `converse-stream` reply body.
pub struct ConverseStream {
    events: EventStreamDecoder,
    ctx: StreamContext,
    /// The first chunk (carrying the role) has been sent.
    started: bool,
    /// Content block index → OpenAI tool-call index (`None` for the JSON-mode tool).
    tool_blocks: Vec<(u64, Option<usize>)>,
    tool_calls: usize,
    stopped: bool,
    usage: Option<Value>,
    /// An error met after chunks of the same feed: those are returned first, it next.
    pending: Option<LlmError>,
}

impl ConverseStream {
    pub fn new(ctx: &StreamContext) -> ConverseStream {
        ConverseStream {
            events: EventStreamDecoder::new(),
            ctx: ctx.clone(),
            started: false,
            tool_blocks: Vec::new(),
            tool_calls: 0,
            stopped: false,
            usage: None,
            pending: None,
        }
    }

    fn chunk(&mut self, delta: Map<String, Value>, finish: Option<&str>) -> Value {
        let delta = if self.started {
            delta
        } else {
            self.started = true;
            let mut first = Map::new();
            first.put("role", Value::from("assistant"));
            first.put("content", Value::from(""));
            first.extend(delta);
            first
        };
        chat_chunk(
            &self.ctx,
            &self.ctx.id,
            &self.ctx.model,
            Value::Object(delta),
            finish,
        )
    }

    fn content(&mut self, key: &str, text: &str, out: &mut Vec<Value>) {
        if text.is_empty() {
            return;
        }
        let mut delta = Map::new();
        delta.insert(key.into(), Value::from(text));
        out.push(self.chunk(delta, None));
    }

    fn message(&mut self, message: &Message, out: &mut Vec<Value>) -> Result<(), LlmError> {
        match message.header_str(":message-type") {
            Some("event") => {}
            Some("exception") => return Err(exception(message)),
            Some("error") => {
                let code = message.header_str(":error-code").unwrap_or("UnknownError");
                let text = message.header_str(":error-message").unwrap_or("");
                return Err(typed_error(500, format!("{code}: {text}")));
            }
            _ => return Ok(()),
        }
        let event = message.header_str(":event-type").unwrap_or_default();
        let payload: Value = if message.payload.is_empty() {
            crate::obj! {}
        } else {
            serde_json::from_slice(&message.payload)
                .map_err(|e| malformed_event(PROVIDER, format_args!("{event}: {e}")))?
        };
        if !payload.is_object() {
            return Err(malformed_event(
                PROVIDER,
                format_args!("{event}: not an object"),
            ));
        }
        let block = payload
            .get("contentBlockIndex")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        match event {
            "messageStart" if !self.started => out.push(self.chunk(Map::new(), None)),
            "contentBlockStart" => {
                let Some(tool) = payload.pointer("/start/toolUse") else {
                    return Ok(());
                };
                let name = tool.get("name").and_then(Value::as_str).unwrap_or_default();
                if name == JSON_TOOL_NAME {
                    self.tool_blocks.push((block, None));
                    return Ok(());
                }
                let index = self.tool_calls;
                self.tool_calls += 1;
                self.tool_blocks.push((block, Some(index)));
                let id = tool
                    .get("toolUseId")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let mut delta = Map::new();
                delta.insert(
                    "tool_calls".into(),
                    Value::from(vec![crate::obj! {
                        "index": index,
                        "id": id,
                        "type": "function",
                        "function": crate::obj!{"name": name, "arguments": ""},
                    }]),
                );
                out.push(self.chunk(delta, None));
            }
            "contentBlockDelta" => {
                let Some(delta) = payload.get("delta") else {
                    return Err(malformed_event(PROVIDER, "contentBlockDelta without delta"));
                };
                if let Some(text) = delta.get("text").and_then(Value::as_str) {
                    self.content("content", text, out);
                }
                if let Some(text) = delta
                    .pointer("/reasoningContent/text")
                    .and_then(Value::as_str)
                {
                    self.content("reasoning_content", text, out);
                }
                if let Some(input) = delta.pointer("/toolUse/input").and_then(Value::as_str) {
                    let target = self
                        .tool_blocks
                        .iter()
                        .find(|(b, _)| *b == block)
                        .map(|(_, index)| *index);
                    match target {
                        Some(Some(index)) => {
                            if !input.is_empty() {
                                let mut d = Map::new();
                                d.insert(
                                    "tool_calls".into(),
                                    serde_json::Value::from(vec![crate::obj!{"index": index, "function": crate::obj!{"arguments": input}}]),
                                );
                                out.push(self.chunk(d, None));
                            }
                        }
                        Some(None) => self.content("content", input, out),
                        None => {
                            return Err(malformed_event(
                                PROVIDER,
                                format_args!("tool input for block {block}, which started no tool"),
                            ))
                        }
                    }
                }
            }
            "messageStop" => {
                let reason = payload
                    .get("stopReason")
                    .and_then(Value::as_str)
                    .unwrap_or("end_turn");
                let mut finish = converse::finish_reason(reason);
                if finish == "tool_calls" && self.tool_calls == 0 {
                    // Only the JSON-mode tool was called: its input was the content.
                    finish = "stop";
                }
                self.stopped = true;
                out.push(self.chunk(Map::new(), Some(finish)));
            }
            "metadata" => {
                if let Some(usage) = payload.get("usage").filter(|u| u.is_object()) {
                    self.usage = Some(converse::usage(Some(usage)));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// The HTTP status Bedrock gives each exception of the Converse stream.
fn exception_status(exception: &str) -> u16 {
    match exception.to_ascii_lowercase().as_str() {
        "throttlingexception" | "modelnotreadyexception" => 429,
        "serviceunavailableexception" => 503,
        "validationexception" => 400,
        "modeltimeoutexception" => 408,
        "accessdeniedexception" => 403,
        "resourcenotfoundexception" => 404,
        "modelstreamerrorexception" => 424,
        _ => 500,
    }
}

fn typed_error(status: u16, message: String) -> LlmError {
    let kind = if status == 424 {
        ErrorKind::InternalServerError
    } else {
        super::error_kind(status, &message)
    };
    let mut e = LlmError::new(kind, message).with_status(status);
    e.from_upstream = true;
    e
}

/// An `exception` message: `:exception-type` and the payload's `message`.
fn exception(message: &Message) -> LlmError {
    let kind = message
        .header_str(":exception-type")
        .unwrap_or("internalServerException");
    let text = serde_json::from_slice::<Value>(&message.payload)
        .ok()
        .and_then(|v| {
            v.get("message")
                .or_else(|| v.get("Message"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| String::from_utf8_lossy(&message.payload).into_owned());
    // `ThrottlingException: …`, as the HTTP error path names the exception.
    let mut name = kind.to_string();
    if let Some(first) = name.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    typed_error(exception_status(kind), format!("{name}: {text}"))
}

impl StreamDecoder for ConverseStream {
    fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Value>, LlmError> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        let mut out = Vec::new();
        let result = self.events.feed(bytes).and_then(|messages| {
            messages
                .iter()
                .try_for_each(|message| self.message(message, &mut out))
        });
        deliver(out, result, &mut self.pending)
    }

    fn finish(&mut self) -> Result<Vec<Value>, LlmError> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        let partial = self.events.partial_bytes() > 0;
        match self.events.finish() {
            Err(e) if !partial => return Err(e),
            _ => {}
        }
        if partial || !self.stopped {
            return Err(cut_short(PROVIDER));
        }
        let mut out = Vec::new();
        if let Some(usage) = self.usage.take() {
            out.push(usage_chunk(&self.ctx, &self.ctx.id, &self.ctx.model, usage));
        }
        Ok(out)
    }
}
