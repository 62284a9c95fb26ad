//! The JS host's stream loop (`js/host-stream.js`): the host sends each attempt's request
//! with its own `fetch`, reads the body and feeds every piece to `streamFeed`, a synchronous
//! call that returns the chunks it completes. See `router/hoststream.rs`.

use super::{endpoint_of, js_error, request_object, RouterCore};
use crate::error::LlmError;
use crate::router::{Fed, HostStream, StreamStep};
use crate::stream::Chunk;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use wasm_bindgen::prelude::*;

/// Host-driven streams in progress, by handle.
#[derive(Default)]
pub struct HostStreams {
    streams: RefCell<HashMap<u32, HostStream>>,
    next: Cell<u32>,
}

/// How many host-driven streams may be open at once (each holds an in-flight count).
const MAX_OPEN_STREAMS: usize = 1 << 16;

/// What the host sends for one attempt of a stream.
#[derive(serde::Serialize)]
struct WireRequest<'a> {
    method: &'a str,
    url: &'a str,
    /// Includes the credentials: the host keeps this object private and never logs it.
    headers: &'a [(String, String)],
    body: Option<&'a str>,
    /// `stream_timeout`: for the headers, then for each later piece of the body.
    timeout_ms: u64,
}

fn missing(handle: u32) -> JsValue {
    js_error(&LlmError::bad_request(format!(
        "no stream in progress with handle {handle}"
    )))
}

/// Chunks as JSON text of an array (`""` for none: keep reading); raw chunks are copied
/// in as the upstream sent them.
fn chunks_text(chunks: &[Chunk]) -> JsValue {
    if chunks.is_empty() {
        return JsValue::from_str("");
    }
    let mut text = String::from("[");
    for (i, chunk) in chunks.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        match chunk {
            Chunk::Raw { text: raw, .. } => text.push_str(raw),
            Chunk::Value(v) => match serde_json::to_string(v) {
                Ok(t) => text.push_str(&t),
                Err(e) => return js_error(&LlmError::bad_request(e.to_string())),
            },
        }
    }
    text.push(']');
    JsValue::from_str(&text)
}

impl RouterCore {
    fn with_stream<T>(&self, handle: u32, f: impl FnOnce(&mut HostStream) -> T) -> Option<T> {
        // The stream leaves the table while the core works on it: nothing the core calls
        // out to (events, the logger) can reach the table borrowed.
        let mut hs = self.streams.streams.borrow_mut().remove(&handle)?;
        let out = f(&mut hs);
        self.streams.streams.borrow_mut().insert(handle, hs);
        Some(out)
    }

    fn insert_stream(&self, hs: HostStream) -> u32 {
        let handle = self.streams.next.get().wrapping_add(1).max(1);
        self.streams.next.set(handle);
        self.streams.streams.borrow_mut().insert(handle, hs);
        handle
    }

    fn fed(&self, fed: Fed) -> JsValue {
        match fed {
            Fed::Chunks(chunks) => chunks_text(&chunks),
            Fed::Retry => JsValue::UNDEFINED,
            Fed::Failed(e) => js_error(&e),
        }
    }
}

#[wasm_bindgen(js_class = RouterCore)]
impl RouterCore {
    /// Whether streams may take the host loop (`Router::host_stream_allowed`).
    #[wasm_bindgen(js_name = hostStream)]
    pub fn host_stream(&self) -> bool {
        self.router.host_stream_allowed()
    }

    /// Starts a host-driven stream of `endpoint` ("chat" or "text") for the caller's request
    /// (JSON text, router kwargs included); returns its handle. Throws a typed error.
    #[wasm_bindgen(js_name = beginStream)]
    pub fn begin_stream(&self, endpoint: &str, request: &str) -> Result<u32, JsValue> {
        let endpoint = endpoint_of(endpoint)
            .ok_or_else(|| js_error(&LlmError::bad_request("unknown endpoint")))?;
        if self.streams.streams.borrow().len() >= MAX_OPEN_STREAMS {
            return Err(js_error(&LlmError::bad_request(
                "too many streams in progress on this router",
            )));
        }
        let body = request_object(request)?;
        let hs = self
            .router
            .begin_host_stream(endpoint, body)
            .map_err(|e| js_error(&e))?;
        Ok(self.insert_stream(hs))
    }

    /// Starts a host-driven stream on the wire path (README, "Architecture"): the caller's
    /// request (`request`, JSON text) has no router kwargs but `stream: true` and
    /// `stream_options` (`include_usage`, read by the host). Nothing is parsed unless the
    /// core needs the body. `call_id`: its `litellm_call_id`. Returns its handle; throws a
    /// typed error.
    #[wasm_bindgen(js_name = beginWireStream)]
    pub fn begin_wire_stream(
        &self,
        endpoint: &str,
        model: &str,
        include_usage: bool,
        call_id: Option<String>,
        request: String,
    ) -> Result<u32, JsValue> {
        let endpoint = endpoint_of(endpoint)
            .ok_or_else(|| js_error(&LlmError::bad_request("unknown endpoint")))?;
        if self.streams.streams.borrow().len() >= MAX_OPEN_STREAMS {
            return Err(js_error(&LlmError::bad_request(
                "too many streams in progress on this router",
            )));
        }
        let hs = self
            .router
            .begin_wire_stream(endpoint, model, include_usage, call_id, request)
            .map_err(|e| js_error(&e))?;
        Ok(self.insert_stream(hs))
    }

    /// How the host sends the attempt `streamNext` named by a wire id (JSON
    /// `{url, headers, model, defaults, timeout_ms, stream_timeout_ms}`, as `wire`).
    #[wasm_bindgen(js_name = streamWire)]
    pub fn stream_wire(&self, handle: u32) -> Result<String, JsValue> {
        let streams = self.streams.streams.borrow();
        let hs = streams.get(&handle).ok_or_else(|| missing(handle))?;
        let (d, endpoint) = self
            .router
            .stream_deployment(hs)
            .ok_or_else(|| missing(handle))?;
        let wire = self.router.wire(d, endpoint).map_err(|e| js_error(&e))?;
        serde_json::to_string(&wire).map_err(|e| js_error(&LlmError::bad_request(e.to_string())))
    }

    /// The next step of a stream that has not opened: a string is the request to send
    /// (JSON `{method, url, headers: [[name, value]…], body, timeout_ms}`, with
    /// credentials); a number `n > 0` is a wire id: send the caller's request yourself as
    /// `streamWire` describes (cache it by `n` with the host loop's wires); `n <= -2` is a
    /// wait of `-n - 2` ms, then ask again; anything else is the call's error (booked; the
    /// stream is over).
    #[wasm_bindgen(js_name = streamNext)]
    pub fn stream_next(&self, handle: u32) -> JsValue {
        let step = self.with_stream(handle, |hs| match self.router.stream_step(hs) {
            StreamStep::Wire(d) => {
                let endpoint = self
                    .router
                    .stream_deployment(hs)
                    .map_or(crate::types::Endpoint::ChatCompletion, |(_, e)| e);
                JsValue::from_f64(f64::from(self.hosts.wire_id(&d, endpoint)))
            }
            StreamStep::Send(request, timeout_ms) => {
                let wire = WireRequest {
                    method: request.method,
                    url: &request.url,
                    headers: &request.headers,
                    body: request.body.as_deref(),
                    timeout_ms,
                };
                match serde_json::to_string(&wire) {
                    Ok(text) => JsValue::from_str(&text),
                    Err(e) => js_error(&LlmError::bad_request(e.to_string())),
                }
            }
            StreamStep::Wait(ms) => JsValue::from_f64(-(ms as f64) - 2.0),
            StreamStep::Fail(e) => js_error(&e),
        });
        step.unwrap_or_else(|| missing(handle))
    }

    /// The attempt's reply had a non-2xx status: `body` is its text, `headers` flat
    /// `[name, value, …]`. Ask `streamNext` again.
    #[wasm_bindgen(js_name = streamReplied)]
    pub fn stream_replied(&self, handle: u32, status: u16, body: String, headers: Vec<String>) {
        let response = super::hostloop::host_reply(status, body, &headers);
        self.with_stream(handle, |hs| self.router.stream_replied(hs, response));
    }

    /// The attempt produced no response, or a read of its body failed (`timed_out`: the
    /// `stream_timeout` passed). `undefined`: ask `streamNext` again (not opened yet);
    /// otherwise the stream's error (booked).
    #[wasm_bindgen(js_name = streamUnreachable)]
    pub fn stream_unreachable(&self, handle: u32, timed_out: bool, message: &str) -> JsValue {
        self.with_stream(handle, |hs| {
            self.router.stream_unreachable(hs, timed_out, message)
        })
        .flatten()
        .map_or(JsValue::UNDEFINED, |e| js_error(&e))
    }

    /// A piece of the body: a string is the chunks it completes (JSON text of an array; `""`
    /// for none); `undefined`: the attempt failed before its first chunk (cancel the body,
    /// ask `streamNext`); anything else is the stream's error (booked; it is over).
    #[wasm_bindgen(js_name = streamFeed)]
    pub fn stream_feed(&self, handle: u32, bytes: &[u8]) -> JsValue {
        match self.with_stream(handle, |hs| self.router.stream_feed(hs, bytes)) {
            Some(fed) => self.fed(fed),
            None => missing(handle),
        }
    }

    /// While the host may read a live stream's plain chunks itself: the identity they must
    /// carry, `[id, model, object, created]` (an array of three strings and a number: no
    /// JSON text to write and parse); `undefined`: feed every event.
    #[wasm_bindgen(js_name = streamPlain)]
    pub fn stream_plain(&self, handle: u32) -> Option<Vec<JsValue>> {
        let streams = self.streams.streams.borrow();
        let id = self.router.stream_plain_identity(streams.get(&handle)?)?;
        Some(vec![
            JsValue::from_str(id.id),
            JsValue::from_str(id.model),
            JsValue::from_str(id.object),
            JsValue::from_f64(id.created as f64),
        ])
    }

    /// The host read a piece of `bytes` bytes whose chunks were all plain and handed them
    /// out itself: `chars` characters of content; `flags` bit 0: one had a `finish_reason`,
    /// bit 1: one had tool-call deltas. `undefined`, or the stream's error (booked; over).
    #[wasm_bindgen(js_name = streamPlainRead)]
    pub fn stream_plain_read(&self, handle: u32, bytes: u32, chars: u32, flags: u32) -> JsValue {
        // Counted in place (once per read: no move out of the table and back); only a
        // failure, which books and may call out, takes the stream out of the table.
        let counted = {
            let mut streams = self.streams.streams.borrow_mut();
            let Some(hs) = streams.get_mut(&handle) else {
                return missing(handle);
            };
            self.router.stream_plain_count(
                hs,
                bytes as usize,
                chars as usize,
                flags & 1 != 0,
                flags & 2 != 0,
            )
        };
        match counted {
            Ok(()) => JsValue::UNDEFINED,
            Err(e) => self
                .with_stream(handle, |hs| self.router.stream_plain_failed(hs, e))
                .map_or_else(|| missing(handle), |e| js_error(&e)),
        }
    }

    /// Plain reads the host counted without asking (`Router::stream_plain_caught_up`), as one
    /// sum: `bytes`, `chars` and `flags` as for `streamPlainRead`. Never fails.
    #[wasm_bindgen(js_name = streamPlainCaughtUp)]
    pub fn stream_plain_caught_up(&self, handle: u32, bytes: f64, chars: f64, flags: u32) {
        let n = |v: f64| {
            if v.is_finite() && v > 0.0 {
                v as usize
            } else {
                0
            }
        };
        let mut streams = self.streams.streams.borrow_mut();
        if let Some(hs) = streams.get_mut(&handle) {
            self.router.stream_plain_caught_up(
                hs,
                n(bytes),
                n(chars),
                flags & 1 != 0,
                flags & 2 != 0,
            );
        }
    }

    /// Whole events of a piece `streamPlainRead` counted already: as `streamFeed`.
    #[wasm_bindgen(js_name = streamFeedCounted)]
    pub fn stream_feed_counted(&self, handle: u32, bytes: &[u8]) -> JsValue {
        match self.with_stream(handle, |hs| self.router.stream_feed_counted(hs, bytes)) {
            Some(fed) => self.fed(fed),
            None => missing(handle),
        }
    }

    /// The body ended: as `streamFeed`; after a string the stream is over and booked.
    #[wasm_bindgen(js_name = streamEnd)]
    pub fn stream_end(&self, handle: u32) -> JsValue {
        match self.with_stream(handle, |hs| self.router.stream_end(hs)) {
            Some(fed) => self.fed(fed),
            None => missing(handle),
        }
    }

    /// `_hidden_params` of an open stream as JSON text (final once it has ended).
    #[wasm_bindgen(js_name = streamHidden)]
    pub fn stream_hidden(&self, handle: u32) -> Option<String> {
        let streams = self.streams.streams.borrow();
        let hidden = self.router.stream_hidden(streams.get(&handle)?)?;
        serde_json::to_string(hidden).ok()
    }

    /// The consumer stopped the stream: what was delivered is booked as the answer.
    #[wasm_bindgen(js_name = streamAbort)]
    pub fn stream_abort(&self, handle: u32) {
        self.with_stream(handle, |hs| self.router.stream_abort(hs));
    }

    /// `streamHidden` then `streamRelease`, in one call: the stream's final `_hidden_params`
    /// as JSON text (`undefined` when unknown or it never opened), and the core forgets it.
    #[wasm_bindgen(js_name = streamClose)]
    pub fn stream_close(&self, handle: u32) -> Option<String> {
        let hs = self.streams.streams.borrow_mut().remove(&handle)?;
        let hidden = self
            .router
            .stream_hidden(&hs)
            .and_then(|h| serde_json::to_string(h).ok());
        // Dropped outside the table's borrow: a live stream books itself as stopped.
        drop(hs);
        hidden
    }

    /// Forgets a stream (booking it as stopped if it was still live); no-op when unknown.
    #[wasm_bindgen(js_name = streamRelease)]
    pub fn stream_release(&self, handle: u32) {
        let hs = self.streams.streams.borrow_mut().remove(&handle);
        drop(hs);
    }
}
