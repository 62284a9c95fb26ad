//! One call's entry and its attempt loop over the ports: the `Call` bookkeeping, the typed
//! `Reply` an exchange returns, and `route`, which drives `dispatch.rs` until an answer or an error.

use super::book::response_cost;
use super::dispatch::{Dispatch, Step};
use super::stream::OpenStream;
use super::{annotate, CallOptions, Routed, Router};
use crate::config::Deployment;
use crate::error::LlmError;
use crate::reliability::classify;
use crate::types::audio::{Audio, FormUpload, Upload};
use crate::types::object::Put;
use crate::types::{usage::token_usage, Endpoint};
use serde_json::{Map, Value};
use std::rc::Rc;

/// Bookkeeping for one call across its retries and fallbacks.
pub(super) struct Call {
    pub(super) endpoint: Endpoint,
    pub(super) body: Map<String, Value>,
    pub(super) opts: CallOptions,
    pub(super) attempts: u32,
    pub(super) retries: u32,
    pub(super) fallback_model_group: Option<String>,
    /// Input tokens, counted once when a pre-call check first needs them.
    pub(super) input_tokens: Option<u64>,
    /// The file of a `transcription()` call.
    pub(super) upload: Option<Upload>,
    /// The images of an `imageEdit()` call, held by the host.
    pub(super) form: Option<FormUpload>,
    /// A mid-stream continuation: only deployments that take an assistant prefill serve it.
    pub(super) prefill_only: bool,
    /// A files or batches call (`files.rs`): its operation and the upstream id it names.
    pub(super) files_op: Option<crate::providers::files::FilesOp>,
    pub(super) files_upstream_id: Option<String>,
    /// The custom routing strategy's answer, for the pick that asked for it.
    pub(super) chosen: Option<super::select::Choice>,
    /// A host-driven stream's request as the caller's JSON text, not parsed yet (README,
    /// "Architecture": the wire path). Parsed into `body` only when the core needs it.
    pub(super) raw_body: Option<String>,
}

impl Call {
    pub(super) fn new(endpoint: Endpoint, body: Map<String, Value>, opts: CallOptions) -> Call {
        Call {
            endpoint,
            body,
            opts,
            attempts: 0,
            retries: 0,
            fallback_model_group: None,
            input_tokens: None,
            upload: None,
            form: None,
            prefill_only: false,
            files_op: None,
            files_upstream_id: None,
            chosen: None,
            raw_body: None,
        }
    }
}

/// What one successful exchange returned, by the kind of request.
pub(super) enum Reply {
    /// A parsed JSON answer (every non-streamed endpoint but speech).
    Json(Value),
    /// The opened stream of a `stream: true` call; it stays in flight until it ends.
    Stream(OpenStream),
    /// The audio of a `speech()` answer.
    Audio(Audio),
}

impl Reply {
    fn kind(&self) -> &'static str {
        match self {
            Reply::Json(_) => "a JSON body",
            Reply::Stream(_) => "a stream",
            Reply::Audio(_) => "audio",
        }
    }

    /// The JSON answer; any other reply is a broken invariant, reported as a typed error.
    pub(super) fn into_json(self) -> Result<Value, LlmError> {
        match self {
            Reply::Json(body) => Ok(body),
            other => Err(classify::malformed_body(&format!(
                "expected a JSON answer, the exchange returned {}",
                other.kind()
            ))),
        }
    }

    /// The opened stream of a streamed call.
    pub(super) fn into_stream(self) -> Result<OpenStream, LlmError> {
        match self {
            Reply::Stream(open) => Ok(open),
            other => Err(classify::malformed_body(&format!(
                "expected a stream, the exchange returned {}",
                other.kind()
            ))),
        }
    }
}

/// Who answered a call.
pub(super) struct Answer {
    pub(super) deployment: Rc<Deployment>,
    /// Time of the answering exchange alone (what the deployment's latency is made of).
    pub(super) attempt_ms: f64,
}

impl Router {
    /// Serves one request: `body` is the OpenAI-format request with LiteLLM's per-call kwargs.
    pub async fn call(
        &self,
        endpoint: Endpoint,
        body: Map<String, Value>,
    ) -> Result<Routed, LlmError> {
        self.call_with_upload(endpoint, body, None).await
    }

    /// Serves one request that uploads a file (`transcription()`).
    pub async fn call_with_upload(
        &self,
        endpoint: Endpoint,
        body: Map<String, Value>,
        upload: Option<Upload>,
    ) -> Result<Routed, LlmError> {
        self.call_with_files(endpoint, body, upload, None).await
    }

    /// Serves one request with its files: an upload copied into the core (`transcription()`),
    /// or form parts the host holds (`imageEdit()`: never cached, never streamed).
    pub async fn call_with_files(
        &self,
        endpoint: Endpoint,
        mut body: Map<String, Value>,
        upload: Option<Upload>,
        form: Option<FormUpload>,
    ) -> Result<Routed, LlmError> {
        self.await_first_sync().await;
        let started = self.now();
        self.state_tick();
        let opts = CallOptions::extract(&mut body)?;
        if opts.stream {
            return Err(LlmError::bad_request(if form.is_some() {
                format!("{}() does not stream", endpoint.method())
            } else {
                "stream: true is served by the streaming entry point (completion/textCompletion return a stream)".to_string()
            }));
        }
        let mut call = Call::new(endpoint, body, opts);
        call.upload = upload;
        call.form = form;
        match self.cache_plan(&call) {
            Some(plan) => self.call_cached(call, plan, started).await,
            None => self.call_upstream(call, started).await,
        }
    }

    /// Routes a call upstream (retries, fallbacks) and books its outcome.
    pub(super) async fn call_upstream(
        &self,
        mut call: Call,
        started: f64,
    ) -> Result<Routed, LlmError> {
        let group = call.opts.model.clone();
        let result = self.route(&mut call).await;
        let latency_ms = self.now() - started;
        self.state_tick();
        let (reply, answer) = match result {
            Ok(answered) => answered,
            Err(e) => return Err(self.book_failure(&group, &call, e, latency_ms)),
        };
        let (mut body, audio) = match reply {
            Reply::Audio(audio) => (Value::Object(Map::new()), Some(audio)),
            other => match other.into_json() {
                Ok(body) => (body, None),
                Err(e) => return Err(self.book_failure(&group, &call, e, latency_ms)),
            },
        };
        self.stamp_created(&mut body);
        let d = answer.deployment;
        let usage = token_usage(&body);
        let response_cost = response_cost(&call, &d, &body, usage, answer.attempt_ms);
        self.book_success(
            &group,
            &call,
            &d,
            usage,
            response_cost,
            latency_ms,
            answer.attempt_ms,
            None,
        );
        let hidden = self.hidden_params(&call, &d, response_cost, latency_ms);
        Ok(Routed {
            hidden,
            body,
            audio,
        })
    }

    /// Gives an answer that reports no creation time the router's (Unix seconds).
    pub(super) fn stamp_created(&self, body: &mut Value) {
        if let Some(obj) = body.as_object_mut() {
            let created = obj.get("created").and_then(Value::as_u64).unwrap_or(0);
            if created == 0 && obj.contains_key("choices") {
                obj.put("created", Value::from((self.now() / 1000.0) as u64));
            }
        }
    }

    /// Drives the call's attempt loop (`dispatch.rs`) over the ports: each attempt through
    /// the `Transport`, each wait on the `Sleeper`.
    pub(super) async fn route(&self, call: &mut Call) -> Result<(Reply, Answer), LlmError> {
        self.route_from(call, Dispatch::new(&call.opts.model)).await
    }

    /// `route` from a given position of the attempt loop (a mid-stream continuation's).
    pub(super) async fn route_from(
        &self,
        call: &mut Call,
        mut dispatch: Dispatch,
    ) -> Result<(Reply, Answer), LlmError> {
        loop {
            match self.step(call, &mut dispatch) {
                Step::Attempt(d) => {
                    let (reply, outcome) = match self.exchange(call, &d).await {
                        Ok(reply) => (Some(reply), Ok(())),
                        Err(e) => (None, Err(annotate(e, &d))),
                    };
                    let settled = self.settle(call, &mut dispatch, outcome);
                    if let (Some(mut reply), Some(settled)) = (reply, settled) {
                        if let Reply::Stream(open) = &mut reply {
                            // A stream stays in flight until it ends.
                            open.in_flight = Some(settled.in_flight);
                        }
                        let answer = Answer {
                            deployment: settled.deployment,
                            attempt_ms: settled.attempt_ms,
                        };
                        return Ok((reply, answer));
                    }
                }
                Step::Choose(group, candidates) => {
                    call.chosen = Some(self.choose(call, &group, &candidates).await);
                }
                Step::Wait(ms) => self.inner.ports.sleeper.sleep(ms).await,
                Step::WaitSlot(deadline) => {
                    let remaining = (deadline - self.now()).max(0.0).ceil() as u64;
                    let freed = Box::pin(self.inner.slots.changed());
                    let expired = self.inner.ports.sleeper.sleep(remaining);
                    futures_util::future::select(freed, expired).await;
                }
                Step::Fail(e) => return Err(e),
            }
        }
    }
}
