//! OpenAI's Responses API passed through (`router.responses` on OpenAI and Azure deployments):
//! the request goes as is, and the reply's SSE events come back one chunk each, unchanged.
//!
//! Each `data:` of the stream is one event (`response.created`, `….delta`, …) and becomes one
//! chunk, its `type` kept; the terminal events are `response.completed`,
//! `response.incomplete` and `response.failed` (whose `response.usage` the router books). An
//! `error` event is a typed error; a stream that ends without a terminal event is an
//! `APIConnectionError`.

use crate::error::LlmError;
use crate::stream::sse::SseDecoder;
use crate::stream::StreamDecoder;
use serde_json::Value;

/// The events that end a Responses stream.
const TERMINAL: &[&str] = &[
    "response.completed",
    "response.incomplete",
    "response.failed",
];

/// Decodes a Responses SSE stream into its events.
#[derive(Default)]
pub struct ResponsesStream {
    sse: SseDecoder,
    done: bool,
    failed: Option<LlmError>,
}

impl ResponsesStream {
    pub fn new() -> ResponsesStream {
        ResponsesStream {
            sse: SseDecoder::new(),
            done: false,
            failed: None,
        }
    }

    fn event(&mut self, data: &str, out: &mut Vec<Value>) -> Result<(), LlmError> {
        let data = data.trim();
        if data.is_empty() || data == "[DONE]" {
            return Ok(());
        }
        let event: Value = serde_json::from_str(data).map_err(|e| {
            crate::stream::malformed_event("responses", format!("an event is not JSON: {e}"))
        })?;
        let kind = event
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if kind == "error" {
            let error = event.get("error").unwrap_or(&event);
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("the provider reported an error in the stream");
            let status = match error
                .get("code")
                .and_then(Value::as_str)
                .unwrap_or_default()
            {
                "rate_limit_exceeded" => 429,
                "invalid_request_error" | "context_length_exceeded" | "invalid_prompt" => 400,
                _ => 500,
            };
            return Err(crate::stream::stream_error(status, message));
        }
        if TERMINAL.contains(&kind) {
            self.done = true;
        }
        out.push(event);
        Ok(())
    }
}

impl StreamDecoder for ResponsesStream {
    fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Value>, LlmError> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let mut out = Vec::new();
        let mut result = Ok(());
        match self.sse.feed(bytes) {
            Ok(events) => {
                for ev in events {
                    if let Err(e) = self.event(&ev.data, &mut out) {
                        result = Err(e);
                        break;
                    }
                }
            }
            Err(e) => result = Err(e),
        }
        crate::stream::deliver(out, result, &mut self.failed)
    }

    fn finish(&mut self) -> Result<Vec<Value>, LlmError> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let mut out = Vec::new();
        if let Some(ev) = self.sse.finish()? {
            self.event(&ev.data, &mut out)?;
        }
        if !self.done {
            return Err(crate::stream::cut_short("responses"));
        }
        Ok(out)
    }
}
