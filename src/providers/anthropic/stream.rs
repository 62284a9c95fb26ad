//! Anthropic Messages stream (`"stream": true`) -> OpenAI `chat.completion.chunk`s.
//!
//! Events: `message_start` (id, model, input usage) opens the stream with the role chunk;
//! `content_block_start` / `content_block_delta` of `text` blocks become `content` deltas,
//! of `tool_use` blocks a tool-call start (`id`, `name`, `arguments: ""`) then argument
//! fragments (`input_json_delta`), numbered 0, 1, … in the order the tool blocks come (not
//! by Anthropic's content index); `thinking` blocks become `reasoning_content` deltas plus
//! LiteLLM's `thinking_blocks` fragments (the text, then the `signature`), and a
//! `redacted_thinking` block one `thinking_blocks` entry. The `json_tool_call` tool a
//! `json_schema` response format became streams its input as `content`, as the
//! non-streaming parser returns it. `message_delta` carries `stop_reason` (mapped by
//! [`finish_reason`]) and the output usage; `message_stop` ends the stream with one usage
//! chunk counted as the non-streaming parser counts it (cache reads and writes included).
//! `ping` and unknown events are skipped; an `error` event is classified as the same error
//! body would be over HTTP (`overloaded_error` -> 529 InternalServerError,
//! `rate_limit_error` -> 429 RateLimitError, …).

use super::request::JSON_TOOL_NAME;
use super::response::{finish_reason, stream_error, usage};
use crate::error::LlmError;
use crate::stream::sse::SseDecoder;
use crate::stream::{chat_chunk, feed_events, finish_events, malformed_event, usage_chunk};
use crate::stream::{SseEvents, StreamContext, StreamDecoder};
use serde_json::{Map, Value};

const PROVIDER: &str = "anthropic";

/// What an open content block streams as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Text,
    /// A tool call with its OpenAI index.
    Tool(usize),
    /// The `json_tool_call` tool: its input is the answer's content.
    JsonTool,
    Thinking,
    /// Blocks with nothing to stream (redacted thinking, server tools, new kinds).
    Other,
}

pub struct AnthropicStream {
    sse: SseDecoder,
    ctx: StreamContext,
    id: Option<String>,
    model: Option<String>,
    /// Anthropic content index -> what it streams as.
    blocks: Vec<(u64, Block)>,
    tools: usize,
    json_tool: bool,
    /// `message_start.usage`, updated by `message_delta.usage`.
    usage: Option<Map<String, Value>>,
    started: bool,
    done: bool,
    /// An error met after chunks of the same feed: those are returned first, then it.
    failed: Option<LlmError>,
}

impl AnthropicStream {
    pub fn new(ctx: &StreamContext) -> AnthropicStream {
        AnthropicStream {
            sse: SseDecoder::new(),
            ctx: ctx.clone(),
            id: None,
            model: None,
            blocks: Vec::new(),
            tools: 0,
            json_tool: false,
            usage: None,
            started: false,
            done: false,
            failed: None,
        }
    }

    fn chunk(&self, delta: Value, finish: Option<&str>) -> Value {
        chat_chunk(
            &self.ctx,
            self.id.as_deref().unwrap_or(&self.ctx.id),
            self.model.as_deref().unwrap_or(&self.ctx.model),
            delta,
            finish,
        )
    }

    /// The role chunk, once, before anything else.
    fn start(&mut self, out: &mut Vec<Value>) {
        if !self.started {
            self.started = true;
            out.push(self.chunk(crate::obj! {"role": "assistant", "content": ""}, None));
        }
    }

    fn block(&self, index: u64) -> Block {
        self.blocks
            .iter()
            .rev()
            .find(|(i, _)| *i == index)
            .map_or(Block::Other, |(_, b)| *b)
    }

    fn merge_usage(&mut self, reported: Option<&Value>) {
        let Some(reported) = reported.and_then(Value::as_object) else {
            return;
        };
        let usage = self.usage.get_or_insert_with(Map::new);
        for (k, v) in reported {
            if !v.is_null() {
                usage.insert(k.clone(), v.clone());
            }
        }
    }

    fn on_event(&mut self, data: &str, out: &mut Vec<Value>) -> Result<(), LlmError> {
        if self.done || data.trim().is_empty() {
            return Ok(());
        }
        let event: Value = serde_json::from_str(data).map_err(|e| malformed_event(PROVIDER, e))?;
        let kind = event
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed_event(PROVIDER, "no `type`"))?;
        match kind {
            "message_start" => {
                let message = event.get("message");
                let text = |key: &str| {
                    message
                        .and_then(|m| m.get(key))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                };
                self.id = text("id");
                self.model = text("model");
                self.merge_usage(message.and_then(|m| m.get("usage")));
                self.start(out);
            }
            "content_block_start" => {
                let index = index_of(&event)?;
                let block = event
                    .get("content_block")
                    .ok_or_else(|| malformed_event(PROVIDER, "no `content_block`"))?;
                let field = |key: &str| block.get(key).and_then(Value::as_str).unwrap_or("");
                self.start(out);
                let kind = match block.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        if !field("text").is_empty() {
                            out.push(self.chunk(crate::obj! {"content": field("text")}, None));
                        }
                        Block::Text
                    }
                    Some("tool_use") if field("name") == JSON_TOOL_NAME => {
                        self.json_tool = true;
                        Block::JsonTool
                    }
                    Some("tool_use") => {
                        let tool = self.tools;
                        self.tools += 1;
                        out.push(self.chunk(
                            crate::obj! {"tool_calls": vec![crate::obj!{
                                "index": tool,
                                "id": field("id"),
                                "type": "function",
                                "function": crate::obj!{"name": field("name"), "arguments": ""},
                            }]},
                            None,
                        ));
                        Block::Tool(tool)
                    }
                    Some("thinking") => {
                        if !field("thinking").is_empty() {
                            out.push(self.chunk(thinking_delta(field("thinking")), None));
                        }
                        Block::Thinking
                    }
                    Some("redacted_thinking") => {
                        out.push(
                            self.chunk(crate::obj! {"thinking_blocks": vec![block.clone()]}, None),
                        );
                        Block::Other
                    }
                    _ => Block::Other,
                };
                self.blocks.push((index, kind));
            }
            "content_block_delta" => {
                let index = index_of(&event)?;
                let delta = event
                    .get("delta")
                    .ok_or_else(|| malformed_event(PROVIDER, "no `delta`"))?;
                let field = |key: &str| delta.get(key).and_then(Value::as_str).unwrap_or("");
                let chunk = match (delta.get("type").and_then(Value::as_str), self.block(index)) {
                    (Some("text_delta"), _) => Some(crate::obj! {"content": field("text")}),
                    (Some("input_json_delta"), Block::Tool(tool))
                        if !field("partial_json").is_empty() =>
                    {
                        Some(crate::obj! {"tool_calls": vec![crate::obj!{
                            "index": tool,
                            "function": crate::obj!{"arguments": field("partial_json")},
                        }]})
                    }
                    (Some("input_json_delta"), Block::JsonTool)
                        if !field("partial_json").is_empty() =>
                    {
                        Some(crate::obj! {"content": field("partial_json")})
                    }
                    (Some("thinking_delta"), _) => Some(thinking_delta(field("thinking"))),
                    (Some("signature_delta"), _) => {
                        Some(crate::obj! {"thinking_blocks": vec![crate::obj!{
                            "type": "thinking",
                            "thinking": "",
                            "signature": field("signature"),
                        }]})
                    }
                    // Citations, empty fragments and new delta kinds.
                    _ => None,
                };
                if let Some(delta) = chunk {
                    self.start(out);
                    out.push(self.chunk(delta, None));
                }
            }
            "message_delta" => {
                self.merge_usage(event.get("usage"));
                let stop = event.pointer("/delta/stop_reason").and_then(Value::as_str);
                let mut finish = finish_reason(stop);
                if self.json_tool && self.tools == 0 && finish == "tool_calls" {
                    finish = "stop";
                }
                self.start(out);
                out.push(self.chunk(crate::obj! {}, Some(finish)));
            }
            "message_stop" => {
                self.done = true;
                if let Some(reported) = self.usage.take() {
                    let usage = usage(Some(&Value::Object(reported)));
                    out.push(usage_chunk(
                        &self.ctx,
                        self.id.as_deref().unwrap_or(&self.ctx.id),
                        self.model.as_deref().unwrap_or(&self.ctx.model),
                        usage,
                    ));
                }
            }
            "error" => return Err(stream_error(&event)),
            // `ping`, `content_block_stop` and event types added later.
            _ => {}
        }
        Ok(())
    }
}

/// A thinking fragment: `reasoning_content` plus LiteLLM's `thinking_blocks` fragment.
fn thinking_delta(text: &str) -> Value {
    crate::obj! {
        "reasoning_content": text,
        "thinking_blocks": vec![crate::obj!{"type": "thinking", "thinking": text}],
    }
}

fn index_of(event: &Value) -> Result<u64, LlmError> {
    event
        .get("index")
        .and_then(Value::as_u64)
        .ok_or_else(|| malformed_event(PROVIDER, "no content block `index`"))
}

impl SseEvents for AnthropicStream {
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

impl StreamDecoder for AnthropicStream {
    fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Value>, LlmError> {
        feed_events(self, bytes)
    }

    fn finish(&mut self) -> Result<Vec<Value>, LlmError> {
        finish_events(self)
    }
}
