//! Streams on the host loop. The host runs the attempt loop (`dispatch.rs`) as for a plain
//! call, sends the request the core builds for each attempt with its own `fetch`, reads the
//! body itself and hands each piece to a synchronous decoder call that returns zero or more
//! chunks: no promise crosses into wasm per read, and backpressure is the host's reads.
//!
//! Up to the first chunk an attempt can still fail and be retried or fall back (a status,
//! a connection error, `stream_timeout`, an error event, a body with no chunk). Once the
//! first chunk exists the attempt has answered: a later failure ends the stream with a
//! typed error, booked against the deployment, with no silent retry.

use super::dispatch::{Dispatch, Step};
use super::stream::{error_reply, stream_options, LiveStream, OpenStream, ReplyLimits};
use super::{annotate, Answer, Call, HiddenParams, Plan, Router};
use crate::config::Deployment;
use crate::error::{ErrorKind, LlmError};
use crate::ports::{HttpRequest, HttpResponse, TransportError};
use crate::providers;
use crate::reliability::classify;
use crate::stream::{Chunk, StreamDecoder};
use crate::types::Endpoint;
use serde_json::{Map, Value};
use std::rc::Rc;

/// One streamed call the host is driving.
pub struct HostStream {
    state: State,
    /// The current attempt's reply ceilings (`max_response_bytes`, `max_stream_duration`).
    limits: ReplyLimits,
}

// One per open stream, moved only when it goes live: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum State {
    /// Attempts are being made; no chunk has been decoded yet.
    Opening {
        call: Box<Call>,
        dispatch: Dispatch,
        started: f64,
        attempt: Option<Box<Attempt>>,
        /// A mid-stream continuation: the stream it continues, already delivering.
        resuming: Option<Box<LiveStream>>,
    },
    /// The first chunk arrived: the stream is the call's answer.
    Live(Box<LiveStream>),
    /// The call failed before any chunk; the error was handed out.
    Failed,
}

/// The attempt in flight while opening.
struct Attempt {
    deployment: Rc<Deployment>,
    provider: &'static dyn providers::Provider,
    endpoint: Endpoint,
    via_chat: bool,
    decoder: Box<dyn StreamDecoder>,
    timeout_ms: u64,
}

/// The host's next move while opening.
pub enum StreamStep {
    /// Send this request; report with `stream_feed`/`stream_end`, `stream_replied` (a
    /// non-2xx status) or `stream_unreachable`. `u64`: `stream_timeout` in ms (the wait for
    /// the headers, and for each later piece of the body).
    Send(HttpRequest, u64),
    /// Send to this deployment yourself, on the wire path (README, "Architecture"): the
    /// body is the caller's request with the deployment's `model`, `litellm_params`
    /// defaults, `stream: true` and `stream_options.include_usage`; URL, headers and
    /// timeout are the deployment's `Router::wire`. Report as for `Send`.
    Wire(Rc<Deployment>),
    /// Wait this many milliseconds, then ask again.
    Wait(u64),
    /// The call failed (booked).
    Fail(LlmError),
}

/// What a piece of the body (or its end) produced.
pub enum Fed {
    /// Chunks for the caller (possibly none: keep reading).
    Chunks(Vec<Chunk>),
    /// The attempt failed before its first chunk: cancel the body and ask for the next step.
    Retry,
    /// The stream failed after its first chunk (booked): it is over.
    Failed(LlmError),
}

/// Parses a wire-path stream's request text into its body (once), without the `stream`
/// and `stream_options` the host already read (as `CallOptions::extract` removes them).
pub(super) fn parse_raw_body(call: &mut Call) -> Result<(), LlmError> {
    let Some(raw) = call.raw_body.take() else {
        return Ok(());
    };
    let mut body = match serde_json::from_str::<Value>(&raw) {
        Ok(Value::Object(m)) => m,
        _ => return Err(LlmError::bad_request("the request must be a JSON object")),
    };
    body.remove("stream");
    body.remove("stream_options");
    call.body = body;
    Ok(())
}

impl Router {
    /// Whether streams may take the host loop: the host loop is allowed, and no deployment
    /// needs the core's async work per attempt (its own `max_retries`, an access-token
    /// exchange).
    pub fn host_stream_allowed(&self) -> bool {
        self.host_loop_allowed()
            // A custom routing strategy is awaited by the core's path for streams.
            && self.inner.chooser.borrow().is_none()
            && self.table().deployments().iter().all(|d| {
                d.max_retries == 0
                    && providers::lookup(&d.provider).is_some_and(|p| !p.needs_auth(d))
            })
    }

    /// Starts a host-driven stream of `endpoint` for the caller's request `body` (router
    /// kwargs included: they are parsed here, once).
    pub fn begin_host_stream(
        &self,
        endpoint: Endpoint,
        mut body: Map<String, Value>,
    ) -> Result<HostStream, LlmError> {
        let started = self.now();
        self.state_tick();
        let opts = stream_options(endpoint, &mut body)?;
        let dispatch = Dispatch::new(&opts.model);
        Ok(HostStream {
            state: State::Opening {
                call: Box::new(Call::new(endpoint, body, opts)),
                dispatch,
                started,
                attempt: None,
                resuming: None,
            },
            limits: ReplyLimits::new(&self.inner.config, started),
        })
    }

    /// Starts a host-driven stream on the wire path: the caller's request has no router
    /// kwargs but `stream` / `stream_options` (the host checked, and parsed those into
    /// `include_usage`), so nothing is parsed here. `raw` is the request's JSON text: the
    /// core parses it only if it needs the body (an attempt it builds itself, a usage
    /// estimate, a mid-stream continuation).
    pub fn begin_wire_stream(
        &self,
        endpoint: Endpoint,
        model: &str,
        include_usage: bool,
        call_id: Option<String>,
        raw: String,
    ) -> Result<HostStream, LlmError> {
        let started = self.now();
        self.state_tick();
        super::stream::streamable(endpoint)?;
        if model.is_empty() {
            return Err(LlmError::bad_request(
                "`model` must be a non-empty string (a model group name)",
            ));
        }
        let opts = super::CallOptions {
            model: model.to_string(),
            stream: true,
            include_usage,
            call_id: call_id.filter(|id| !id.is_empty() && id.len() <= super::MAX_CALL_ID_BYTES),
            ..Default::default()
        };
        let mut call = Call::new(endpoint, Map::new(), opts);
        call.raw_body = Some(raw);
        // A continuable stream re-sends the caller's messages: parsed once, now.
        if self.inner.config.enable_mid_stream_fallback_continuation {
            parse_raw_body(&mut call)?;
        }
        Ok(HostStream {
            state: State::Opening {
                call: Box::new(call),
                dispatch: Dispatch::new(model),
                started,
                attempt: None,
                resuming: None,
            },
            limits: ReplyLimits::new(&self.inner.config, started),
        })
    }

    /// The deployment of the attempt in flight (the one `StreamStep::Wire` named).
    pub fn stream_deployment<'a>(
        &self,
        hs: &'a HostStream,
    ) -> Option<(&'a Rc<Deployment>, Endpoint)> {
        match &hs.state {
            State::Opening {
                attempt: Some(a),
                call,
                ..
            } => Some((&a.deployment, call.endpoint)),
            _ => None,
        }
    }

    /// Whether the host sends `endpoint` to `d` itself on a stream's wire path: OpenAI's
    /// own API (its stream body is the caller's with `model`, `stream` and
    /// `stream_options.include_usage` set: `OpenAi::build_request`).
    fn stream_passthrough(d: &Deployment, endpoint: Endpoint) -> bool {
        d.provider == "openai"
            && d.max_retries == 0
            && matches!(
                endpoint,
                Endpoint::ChatCompletion | Endpoint::TextCompletion
            )
    }

    /// The next step of a stream that has not opened yet.
    pub fn stream_step(&self, hs: &mut HostStream) -> StreamStep {
        let State::Opening {
            call,
            dispatch,
            started,
            attempt,
            resuming,
        } = &mut hs.state
        else {
            return StreamStep::Fail(LlmError::bad_request("the stream has already opened"));
        };
        loop {
            match self.step(call, dispatch) {
                Step::Attempt(d) => {
                    let wire = call.raw_body.is_some()
                        && resuming.is_none()
                        && Self::stream_passthrough(&d, call.endpoint);
                    let planned = if wire {
                        self.plan_stream_attempt(call, &d, false)
                    } else {
                        parse_raw_body(call).and_then(|()| self.plan_stream_attempt(call, &d, true))
                    };
                    match planned {
                        Ok((request, next)) => {
                            let timeout_ms = next.timeout_ms;
                            call.attempts += 1;
                            *attempt = Some(Box::new(next));
                            // A continuation's legs count against the whole stream's ceilings.
                            if resuming.is_none() {
                                hs.limits = ReplyLimits::new(&self.inner.config, self.now());
                            }
                            return match request {
                                Some(request) => StreamStep::Send(request, timeout_ms),
                                None => StreamStep::Wire(d),
                            };
                        }
                        Err(e) => {
                            self.settle(call, dispatch, Err(annotate(e, &d)));
                        }
                    }
                }
                // Not reached while `host_loop_allowed` holds (a custom strategy keeps streams
                // on the core's path): the configured strategy picks.
                Step::Choose(..) => call.chosen = Some(super::select::Choice::Declined),
                Step::Wait(ms) => return StreamStep::Wait(ms),
                // Not reached while `host_loop_allowed` holds; bounded by the slot deadline.
                Step::WaitSlot(deadline) => {
                    return StreamStep::Wait((deadline - self.now()).max(1.0) as u64)
                }
                Step::Fail(e) => {
                    if let Some(mut live) = resuming.take() {
                        let call = std::mem::replace(
                            call,
                            Box::new(Call::new(
                                Endpoint::ChatCompletion,
                                Map::new(),
                                Default::default(),
                            )),
                        );
                        let e = live.continuation_failed(*call, e);
                        hs.state = State::Failed;
                        return StreamStep::Fail(e);
                    }
                    let latency_ms = self.now() - *started;
                    self.state_tick();
                    let group = call.opts.model.clone();
                    let e = self.book_failure(&group, call, e, latency_ms);
                    hs.state = State::Failed;
                    return StreamStep::Fail(e);
                }
            }
        }
    }

    /// The attempt on `d`, with the request to send when `build` (else the host builds it).
    fn plan_stream_attempt(
        &self,
        call: &mut Call,
        d: &Rc<Deployment>,
        build: bool,
    ) -> Result<(Option<HttpRequest>, Attempt), LlmError> {
        let mut plan: Plan = self.plan_attempt(call, d)?;
        let decoder = plan.decoder(d, call.endpoint)?;
        let request = if build {
            Some(self.build_attempt(call, d, &mut plan, None)?)
        } else {
            None
        };
        Ok((
            request,
            Attempt {
                deployment: Rc::clone(d),
                provider: plan.provider,
                endpoint: plan.endpoint,
                via_chat: plan.via_chat,
                decoder,
                timeout_ms: plan.timeout_ms,
            },
        ))
    }

    /// Settles the attempt in flight as failed with `e`.
    fn stream_attempt_failed(&self, hs: &mut HostStream, e: LlmError) {
        if let State::Opening {
            call,
            dispatch,
            attempt,
            ..
        } = &mut hs.state
        {
            if let Some(a) = attempt.take() {
                let e = annotate(e, &a.deployment);
                self.settle(call, dispatch, Err(e));
            }
        }
    }

    /// The attempt's reply had a non-2xx status (`response` holds its body): classified by
    /// the provider; ask for the next step.
    pub fn stream_replied(&self, hs: &mut HostStream, response: HttpResponse) {
        let e = match &hs.state {
            State::Opening {
                attempt: Some(a), ..
            } => error_reply(a.provider, &a.deployment, a.endpoint, &response),
            _ => return,
        };
        self.stream_attempt_failed(hs, e);
    }

    /// The attempt produced no response, or reading its body failed (`timed_out`: the
    /// `stream_timeout` passed). Before the first chunk: ask for the next step (`None`).
    /// After it: the stream's error (booked).
    pub fn stream_unreachable(
        &self,
        hs: &mut HostStream,
        timed_out: bool,
        message: &str,
    ) -> Option<LlmError> {
        let timeout_ms = match &hs.state {
            State::Opening {
                attempt: Some(a), ..
            } => a.timeout_ms,
            State::Live(_) => 0,
            _ => return None,
        };
        let error = if timed_out {
            TransportError::Timeout
        } else {
            TransportError::Connection(message.to_string())
        };
        match &mut hs.state {
            State::Live(live) => {
                let e = if timed_out {
                    LlmError::new(
                        ErrorKind::Timeout,
                        "the stream sent nothing within stream_timeout",
                    )
                } else {
                    classify::from_transport(&error, None)
                };
                let e = live.broke(e);
                match self.live_failed(hs, e) {
                    Fed::Failed(e) => Some(e),
                    _ => None,
                }
            }
            _ => {
                let e = classify::from_transport(&error, Some(timeout_ms));
                self.stream_attempt_failed(hs, e);
                None
            }
        }
    }

    /// The live stream failed with `e`: a continuation it prepared takes the stream back to
    /// attempts (`Fed::Retry`: cancel the body, ask for the next step); else it is over.
    fn live_failed(&self, hs: &mut HostStream, e: LlmError) -> Fed {
        let State::Live(live) = &mut hs.state else {
            return Fed::Failed(e);
        };
        let Some((call, dispatch)) = live.take_next_leg() else {
            return Fed::Failed(e);
        };
        let State::Live(live) = std::mem::replace(&mut hs.state, State::Failed) else {
            return Fed::Failed(e);
        };
        hs.state = State::Opening {
            call: Box::new(call),
            dispatch,
            started: self.now(),
            attempt: None,
            resuming: Some(live),
        };
        Fed::Retry
    }

    /// The host read `bytes` of the body.
    pub fn stream_feed(&self, hs: &mut HostStream, bytes: &[u8]) -> Fed {
        if let Err(e) = hs.limits.read(bytes.len(), self.now()) {
            return match &mut hs.state {
                // A ceiling passed ends the stream: no continuation.
                State::Live(live) => Fed::Failed(live.broke_for_good(e)),
                _ => {
                    self.stream_attempt_failed(hs, e);
                    Fed::Retry
                }
            };
        }
        self.stream_feed_counted(hs, bytes)
    }

    /// The identity of a live stream's plain chunks while the host may read them itself
    /// (README, "Architecture": an OpenAI-format stream's chunks that need no change are
    /// parsed once, by the host, and only their numbers come in through
    /// `stream_plain_read`); `None`: feed every event.
    pub fn stream_plain_identity<'a>(
        &self,
        hs: &'a HostStream,
    ) -> Option<crate::stream::PlainIdentity<'a>> {
        match &hs.state {
            State::Live(live) => live.plain_identity(),
            _ => None,
        }
    }

    /// The host read a piece of `bytes` bytes and handed out its plain chunks itself
    /// (`chars` characters of content; `finished`: one had a `finish_reason`; `tool_calls`:
    /// one had tool-call deltas). The ceilings count the piece; `Some`: the stream's error
    /// (booked; it is over).
    pub fn stream_plain_read(
        &self,
        hs: &mut HostStream,
        bytes: usize,
        chars: usize,
        finished: bool,
        tool_calls: bool,
    ) -> Option<LlmError> {
        match self.stream_plain_count(hs, bytes, chars, finished, tool_calls) {
            Ok(()) => None,
            Err(e) => Some(self.stream_plain_failed(hs, e)),
        }
    }

    /// `stream_plain_read` up to its failure, which it returns unbooked: it calls nothing
    /// outside the core (no event, no log), so the host may run it with its stream table
    /// borrowed.
    pub fn stream_plain_count(
        &self,
        hs: &mut HostStream,
        bytes: usize,
        chars: usize,
        finished: bool,
        tool_calls: bool,
    ) -> Result<(), LlmError> {
        let State::Live(live) = &mut hs.state else {
            return Err(LlmError::bad_request(
                "the stream is not live: its body cannot be read by the host",
            ));
        };
        hs.limits.read(bytes, self.now())?;
        live.plain_read(chars, finished, tool_calls);
        Ok(())
    }

    /// Plain reads the host counted itself and reports late, in one sum (`bytes` of the
    /// body, `chars` of content, a finish, tool calls): it reads one call a stream instead
    /// of one a chunk, and counts each read here only when no ceiling could have been
    /// passed at it (the bytes below `max_response_bytes`, the time over a second short of
    /// `max_stream_duration`; reads nearer a ceiling go through `stream_plain_read`, which
    /// checks them). Never fails; does nothing unless the stream is live.
    pub fn stream_plain_caught_up(
        &self,
        hs: &mut HostStream,
        bytes: usize,
        chars: usize,
        finished: bool,
        tool_calls: bool,
    ) {
        if let State::Live(live) = &mut hs.state {
            hs.limits.add(bytes);
            live.plain_read(chars, finished, tool_calls);
        }
    }

    /// Books the failure `stream_plain_count` returned: a ceiling passed ends the stream.
    pub fn stream_plain_failed(&self, hs: &mut HostStream, e: LlmError) -> LlmError {
        match &mut hs.state {
            State::Live(live) => live.broke_for_good(e),
            _ => e,
        }
    }

    /// `stream_feed` for bytes the ceilings counted already (`stream_plain_read`): the
    /// events of a piece the host did not read itself.
    pub fn stream_feed_counted(&self, hs: &mut HostStream, bytes: &[u8]) -> Fed {
        match &mut hs.state {
            State::Live(live) => match live.feed(bytes) {
                Ok(chunks) => Fed::Chunks(chunks),
                Err(e) => self.live_failed(hs, e),
            },
            State::Opening {
                attempt: Some(a), ..
            } => match a.decoder.feed_chunks(bytes) {
                Ok(chunks) if chunks.is_empty() => Fed::Chunks(chunks),
                Ok(chunks) => self.stream_opened(hs, chunks),
                Err(e) => {
                    self.stream_attempt_failed(hs, e);
                    Fed::Retry
                }
            },
            _ => Fed::Chunks(Vec::new()),
        }
    }

    /// The host reached the end of the body.
    pub fn stream_end(&self, hs: &mut HostStream) -> Fed {
        match &mut hs.state {
            State::Live(live) => match live.end() {
                Ok(chunks) => Fed::Chunks(chunks),
                Err(e) => self.live_failed(hs, e),
            },
            State::Opening {
                attempt: Some(a), ..
            } => match a.decoder.finish() {
                Ok(chunks) if chunks.is_empty() => {
                    let e = classify::malformed_body("the stream ended without any chunk");
                    self.stream_attempt_failed(hs, e);
                    Fed::Retry
                }
                Ok(chunks) => {
                    let chunks = chunks.into_iter().map(Chunk::Value).collect();
                    let Fed::Chunks(out) = self.stream_opened(hs, chunks) else {
                        return Fed::Retry;
                    };
                    match &mut hs.state {
                        State::Live(live) => match live.end() {
                            Ok(mut rest) => {
                                let mut all = out;
                                all.append(&mut rest);
                                Fed::Chunks(all)
                            }
                            Err(e) => Fed::Failed(e),
                        },
                        _ => Fed::Chunks(out),
                    }
                }
                Err(e) => {
                    self.stream_attempt_failed(hs, e);
                    Fed::Retry
                }
            },
            _ => Fed::Chunks(Vec::new()),
        }
    }

    /// The first chunks arrived: the attempt answered, the stream goes live.
    fn stream_opened(&self, hs: &mut HostStream, chunks: Vec<Chunk>) -> Fed {
        let State::Opening {
            call,
            dispatch,
            started,
            attempt,
            resuming,
        } = std::mem::replace(&mut hs.state, State::Failed)
        else {
            return Fed::Retry;
        };
        let (mut call, mut dispatch) = (call, dispatch);
        let Some(a) = attempt else {
            return Fed::Retry;
        };
        let Some(settled) = self.settle(&mut call, &mut dispatch, Ok(())) else {
            return Fed::Retry;
        };
        let group = call.opts.model.clone();
        let open = OpenStream::fed(a.decoder, a.via_chat, settled.in_flight);
        let answer = Answer {
            deployment: settled.deployment,
            attempt_ms: settled.attempt_ms,
        };
        let mut live = match resuming {
            Some(mut live) => {
                live.resume(*call, answer, open);
                live
            }
            None => Box::new(LiveStream::new(
                self.clone(),
                group,
                *call,
                answer,
                open,
                started,
                None,
            )),
        };
        let out = live.deliver_chunks(chunks);
        hs.state = State::Live(live);
        match out {
            Ok(out) => Fed::Chunks(out),
            Err(e) => Fed::Failed(e),
        }
    }

    /// Router metadata of an open stream (final once it has ended).
    pub fn stream_hidden<'a>(&self, hs: &'a HostStream) -> Option<&'a HiddenParams> {
        match &hs.state {
            State::Live(live)
            | State::Opening {
                resuming: Some(live),
                ..
            } => Some(live.hidden()),
            _ => None,
        }
    }

    /// The consumer stopped the stream: what was delivered is booked as the answer.
    pub fn stream_abort(&self, hs: &mut HostStream) {
        match &mut hs.state {
            State::Live(live)
            | State::Opening {
                resuming: Some(live),
                ..
            } => live.abort(),
            _ => {}
        }
    }
}
