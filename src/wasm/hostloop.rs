//! The JS host's attempt loop (`js/router.js`, `#drive`): synchronous calls into the core
//! for every decision, numbers in and out, no promise on the hot path. See
//! `router/hostloop.rs` for the protocol.

use super::{endpoint_of, envelope, js_error, request_object, RouterCore};
use crate::config::Deployment;
use crate::cost::TokenUsage;
use crate::error::LlmError;
use crate::ports::HttpResponse;
use crate::router::{HostCall, HostStep, OpenSocket};
use crate::types::Endpoint;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// Wire ids by (deployment address, endpoint), with the deployment they were issued for.
type WireIds = HashMap<(usize, u8), (u32, Rc<Deployment>)>;

/// Host-driven calls in progress, by handle.
#[derive(Default)]
pub struct HostCalls {
    calls: RefCell<HashMap<u32, Slot>>,
    next_call: Cell<u32>,
    /// Wire ids by (deployment, endpoint). The `Rc` keeps the deployment's address from
    /// being reused while its id is known; cleared when the deployment table changes.
    wires: RefCell<WireIds>,
    next_wire: Cell<u32>,
    /// Open realtime sockets by the handle of the call that opened them: each holds its
    /// deployment's in-flight count until `closed`.
    sockets: RefCell<HashMap<u32, OpenSocket>>,
    /// The fallback group of the last call `answered` ended, until `answeredFallback`.
    fallback: RefCell<Option<String>>,
}

struct Slot {
    call: HostCall,
    /// The attempt's deployment, while the host sends it.
    sending: Option<Rc<Deployment>>,
    /// The error of a failed call, until `fail` takes it.
    failed: Option<LlmError>,
    /// The pick the custom routing strategy is making, until `chose` reports it.
    choosing: Option<crate::router::Choosing>,
}

/// How many host-driven calls may be open at once: a host that loses handles cannot grow
/// the table without bound (each call also holds an in-flight count).
const MAX_OPEN_CALLS: usize = 1 << 16;

/// How many realtime sockets may be open at once on one router (each holds an in-flight
/// count; a host that never reports `closed` cannot grow the table without bound).
pub const MAX_OPEN_SOCKETS: usize = 1 << 14;

/// How many wire ids are remembered at once.
const MAX_WIRE_IDS: usize = 4096;

impl HostCalls {
    pub fn clear_wires(&self) {
        self.wires.borrow_mut().clear();
    }

    pub(super) fn wire_id(&self, d: &Rc<Deployment>, endpoint: Endpoint) -> u32 {
        let key = (Rc::as_ptr(d) as usize, endpoint as u8);
        let mut wires = self.wires.borrow_mut();
        if let Some((id, _)) = wires.get(&key) {
            return *id;
        }
        let id = self.next_wire.get().wrapping_add(1).max(1);
        self.next_wire.set(id);
        // Wildcard groups make a deployment per requested model: bounded, since callers
        // choose the names (cleared ids are never reissued; the host re-reads new ones).
        if wires.len() >= MAX_WIRE_IDS {
            wires.clear();
        }
        wires.insert(key, (id, Rc::clone(d)));
        id
    }

    fn take(&self, handle: u32) -> Option<Slot> {
        self.calls.borrow_mut().remove(&handle)
    }

    fn put(&self, handle: u32, slot: Slot) {
        self.calls.borrow_mut().insert(handle, slot);
    }
}

/// A reply the host read: `headers` flat, `[name, value, …]`.
pub(super) fn host_reply(status: u16, body: String, headers: &[String]) -> HttpResponse {
    let headers = headers
        .chunks_exact(2)
        .filter_map(|pair| match pair {
            [k, v] => Some((k.to_ascii_lowercase(), v.clone())),
            _ => None,
        })
        .collect();
    HttpResponse {
        status,
        headers,
        body: body.into_bytes(),
    }
}

fn missing(handle: u32) -> JsValue {
    js_error(&LlmError::bad_request(format!(
        "no call in progress with handle {handle}"
    )))
}

#[wasm_bindgen(js_class = RouterCore)]
impl RouterCore {
    /// Every request key the router acts on (`router::router_keys`): a request with none
    /// of them may take the host loop.
    #[wasm_bindgen(js_name = routerKeys)]
    pub fn router_keys() -> Vec<String> {
        crate::router::router_keys().map(str::to_string).collect()
    }

    /// Whether the host may drive this router's calls (`Router::host_loop_allowed`).
    #[wasm_bindgen(js_name = hostLoop)]
    pub fn host_loop(&self) -> bool {
        self.router.host_loop_allowed()
    }

    /// `max_stream_duration` in ms: the host counts a stream's plain reads itself until a
    /// second short of it (`streamPlainCaughtUp`).
    #[wasm_bindgen(js_name = maxStreamDurationMs)]
    pub fn max_stream_duration_ms(&self) -> f64 {
        self.router.config().max_stream_duration_ms as f64
    }

    /// `max_response_bytes`: the host refuses larger replies before reading them.
    #[wasm_bindgen(js_name = maxResponseBytes)]
    pub fn max_response_bytes(&self) -> f64 {
        self.router.config().max_response_bytes as f64
    }

    /// Whether the response cache answers without awaiting (`cachedAnswer` can serve hits).
    #[wasm_bindgen(js_name = syncCache)]
    pub fn sync_cache(&self) -> bool {
        self.router
            .config()
            .cache
            .as_ref()
            .is_some_and(|c| !c.host_backend)
    }

    /// A cached answer to a chat or text request (JSON text, router kwargs included) found
    /// synchronously: the envelope `{hidden, body}` as JSON text, booked as a hit; undefined
    /// when there is none right now (take `call`, which decides fully).
    #[wasm_bindgen(js_name = cachedAnswer)]
    pub fn cached_answer(&self, endpoint: &str, request: &str) -> Option<String> {
        let endpoint = endpoint_of(endpoint)?;
        let (hidden, body) = self.router.cached_text(endpoint, request)?;
        let hidden = serde_json::to_string(&hidden).ok()?;
        Some(format!("{{\"hidden\":{hidden},\"body\":{body}}}"))
    }

    /// Starts a host-driven call; returns its handle. `call_id`: its `litellm_call_id`
    /// (carried by its events), at most `MAX_CALL_ID_BYTES`.
    pub fn begin(
        &self,
        endpoint: &str,
        model: &str,
        call_id: Option<String>,
    ) -> Result<u32, JsValue> {
        let call_id =
            call_id.filter(|id| !id.is_empty() && id.len() <= crate::router::MAX_CALL_ID_BYTES);
        // Realtime is host-driven only (the core's own paths have no socket).
        let endpoint = match endpoint {
            "realtime" => Some(Endpoint::Realtime),
            other => endpoint_of(other),
        }
        .ok_or_else(|| js_error(&LlmError::bad_request("unknown endpoint")))?;
        let hosts = &self.hosts;
        if endpoint == Endpoint::Realtime && hosts.sockets.borrow().len() >= MAX_OPEN_SOCKETS {
            return Err(js_error(&LlmError::new(
                crate::error::ErrorKind::RateLimitError,
                "16384 realtime sockets (MAX_OPEN_SOCKETS) are already open on this router",
            )));
        }
        if hosts.calls.borrow().len() >= MAX_OPEN_CALLS {
            return Err(js_error(&LlmError::bad_request(
                "too many calls in progress on this router",
            )));
        }
        let handle = hosts.next_call.get().wrapping_add(1);
        hosts.next_call.set(handle);
        let mut call = self.router.begin_host(endpoint, model);
        call.set_call_id(call_id);
        hosts.put(
            handle,
            Slot {
                call,
                sending: None,
                failed: None,
                choosing: None,
            },
        );
        Ok(handle)
    }

    /// The next step: `n > 0` send to wire `n` yourself (`wire(handle)` describes it; cache
    /// it by `n`); `0` let the core make the attempt (`exchange`); `-1` the call failed
    /// (`fail`); `n <= -2` wait `-n - 2` ms, then ask again; `0.5` ask the custom routing
    /// strategy (`choosing`), report with `chose`, then ask again.
    pub fn next(&self, handle: u32) -> f64 {
        let Some(mut slot) = self.hosts.take(handle) else {
            return -1.0;
        };
        let out = match self.router.step_host(&mut slot.call) {
            HostStep::Send(d) => {
                let id = self.hosts.wire_id(&d, slot.call.endpoint());
                slot.sending = Some(d);
                f64::from(id)
            }
            HostStep::Exchange => 0.0,
            HostStep::Choose(choosing) => {
                slot.choosing = Some(choosing);
                0.5
            }
            HostStep::Wait(ms) => -(ms as f64) - 2.0,
            HostStep::Fail(e) => {
                slot.failed = Some(e);
                -1.0
            }
        };
        self.hosts.put(handle, slot);
        out
    }

    /// The pick `next` asked the custom strategy for, as JSON text
    /// (`{ model, candidates, timeout_ms }`, candidates redacted).
    pub fn choosing(&self, handle: u32) -> Result<String, JsValue> {
        let calls = self.hosts.calls.borrow();
        let slot = calls.get(&handle).ok_or_else(|| missing(handle))?;
        let choosing = slot.choosing.as_ref().ok_or_else(|| missing(handle))?;
        Ok(choosing.to_json().to_string())
    }

    /// The custom strategy's answer: `id` (undefined: no opinion), or `error` (its message),
    /// or `timed_out`.
    pub fn chose(
        &self,
        handle: u32,
        id: Option<String>,
        error: Option<String>,
        timed_out: bool,
    ) -> Result<(), JsValue> {
        let mut slot = self.hosts.take(handle).ok_or_else(|| missing(handle))?;
        if let Some(choosing) = slot.choosing.take() {
            let answer = if timed_out {
                None
            } else {
                Some(error.map_or(Ok(id), Err))
            };
            self.router.chose_host(&mut slot.call, &choosing, answer);
        }
        self.hosts.put(handle, slot);
        Ok(())
    }

    /// How to send the attempt `next` asked for, as JSON text
    /// (`{ url, headers: [[name, value]…], model, defaults, timeout_ms }`). Holds credentials.
    pub fn wire(&self, handle: u32) -> Result<String, JsValue> {
        let calls = self.hosts.calls.borrow();
        let slot = calls.get(&handle).ok_or_else(|| missing(handle))?;
        let d = slot.sending.as_ref().ok_or_else(|| missing(handle))?;
        let wire = self
            .router
            .wire(d, slot.call.endpoint())
            .map_err(|e| js_error(&e))?;
        serde_json::to_string(&wire).map_err(|e| js_error(&LlmError::bad_request(e.to_string())))
    }

    /// The attempt answered with a valid body; `has_usage` and the token counts are its
    /// `usage`. Ends the call and returns what `_hidden_params` adds to the wire's
    /// `identity`, as numbers: `[response_cost (NaN: none), attempts, retries, latency_ms,
    /// fell back (1: ask answeredFallback for the group, else 0)]`.
    pub fn answered(
        &self,
        handle: u32,
        has_usage: bool,
        prompt_tokens: f64,
        completion_tokens: f64,
        cached_prompt_tokens: f64,
        cache_creation_tokens: f64,
    ) -> Result<Box<[f64]>, JsValue> {
        let mut slot = self.hosts.take(handle).ok_or_else(|| missing(handle))?;
        let n = |v: f64| {
            if v.is_finite() && v > 0.0 {
                v as u64
            } else {
                0
            }
        };
        let usage = has_usage.then(|| TokenUsage {
            prompt_tokens: n(prompt_tokens),
            completion_tokens: n(completion_tokens),
            cached_prompt_tokens: n(cached_prompt_tokens),
            cache_creation_tokens: n(cache_creation_tokens),
        });
        let answer = self
            .router
            .answer_host(&mut slot.call, usage)
            .ok_or_else(|| missing(handle))?;
        let fell_back = answer.fallback_model_group.is_some();
        *self.hosts.fallback.borrow_mut() = answer.fallback_model_group;
        Ok(Box::new([
            answer.response_cost.unwrap_or(f64::NAN),
            f64::from(answer.attempts),
            f64::from(answer.retries),
            answer.latency_ms,
            if fell_back { 1.0 } else { 0.0 },
        ]))
    }

    /// The fallback group that answered the call `answered` last ended, when it said one did.
    #[wasm_bindgen(js_name = answeredFallback)]
    pub fn answered_fallback(&self) -> Option<String> {
        self.hosts.fallback.borrow_mut().take()
    }

    /// The realtime upgrade `next` asked for succeeded: books it and returns `_hidden_params`
    /// as JSON text; the call ends and its socket counts in flight on the deployment until
    /// `closed(handle)`.
    pub fn opened(&self, handle: u32) -> Result<String, JsValue> {
        let mut slot = self.hosts.take(handle).ok_or_else(|| missing(handle))?;
        let (hidden, socket) = self
            .router
            .opened_host(&mut slot.call)
            .ok_or_else(|| missing(handle))?;
        self.hosts.sockets.borrow_mut().insert(handle, socket);
        serde_json::to_string(&hidden).map_err(|e| js_error(&LlmError::bad_request(e.to_string())))
    }

    /// The realtime socket `opened(handle)` returned closed (either side, or an error): its
    /// in-flight count is released. Idempotent: a second report does nothing.
    pub fn closed(&self, handle: u32) {
        let socket = self.hosts.sockets.borrow_mut().remove(&handle);
        drop(socket);
    }

    /// The attempt got a reply the host does not take as an answer: the provider classifies
    /// it. Returns the envelope `{hidden, body}` as JSON text when it is an answer after
    /// all (the call ends), else undefined (ask `next`).
    pub fn replied(
        &self,
        handle: u32,
        status: u16,
        body: String,
        headers: Vec<String>,
    ) -> Option<String> {
        let mut slot = self.hosts.take(handle)?;
        slot.sending = None;
        let response = host_reply(status, body, &headers);
        match self.router.replied_host(&mut slot.call, response) {
            Some(routed) => Some(envelope(&routed)),
            None => {
                self.hosts.put(handle, slot);
                None
            }
        }
    }

    /// The attempt produced no response: `timed_out`, or a connection failure (`message`).
    pub fn unreachable(&self, handle: u32, timed_out: bool, message: &str) {
        if let Some(mut slot) = self.hosts.take(handle) {
            slot.sending = None;
            self.router
                .unreachable_host(&mut slot.call, timed_out, message);
            self.hosts.put(handle, slot);
        }
    }

    /// Makes the attempt `next` answered `0` for, with the caller's request as JSON text.
    /// Resolves to the envelope when it answered (the call ends), else undefined.
    pub fn exchange(
        &self,
        handle: u32,
        request: String,
        cancel: Option<js_sys::Promise>,
    ) -> js_sys::Promise {
        let router = self.router.clone();
        let slot = self.hosts.take(handle);
        let hosts = Rc::clone(&self.hosts);
        wasm_bindgen_futures::future_to_promise(async move {
            let mut slot = slot.ok_or_else(|| missing(handle))?;
            let body = match request_object(&request) {
                Ok(body) => body,
                Err(e) => return Err(e),
            };
            let answer = super::or_cancelled(
                async { Ok(router.exchange_for_host(&mut slot.call, body).await) },
                cancel,
            )
            .await?;
            match answer {
                Some(routed) => Ok(JsValue::from_str(&envelope(&routed))),
                None => {
                    hosts.put(handle, slot);
                    Ok(JsValue::UNDEFINED)
                }
            }
        })
    }

    /// The error of a call whose `next` was `-1`, booked, as an error object; ends the call.
    pub fn fail(&self, handle: u32) -> JsValue {
        let Some(mut slot) = self.hosts.take(handle) else {
            return missing(handle);
        };
        let e = slot.failed.take().unwrap_or_else(|| {
            LlmError::new(
                crate::error::ErrorKind::InternalServerError,
                "the call ended without an answer",
            )
        });
        js_error(&self.router.fail_host(slot.call, e))
    }

    /// Ends a call the host abandons (an exception in the host's loop); no-op when ended.
    pub fn release(&self, handle: u32) {
        drop(self.hosts.take(handle));
    }
}
