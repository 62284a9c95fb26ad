//! The host-driven request path: the JS host runs the attempt loop of `dispatch.rs` itself
//! (`plan → fetch → settle → next step`) and owns `fetch`, the timer and the abort signal.
//! For OpenAI-format upstreams the host sends the caller's JSON with `model` replaced and
//! parses the reply with its own `JSON.parse`; only the numbers the core needs come back
//! in (status, token usage, `retry-after`). Every other deployment is served by the core's
//! own exchange (`exchange_for_host`), inside the same loop.

use super::dispatch::{Dispatch, Step};
use super::{annotate, Call, CallOptions, HiddenParams, Routed, Router};
use crate::config::Deployment;
use crate::cost::TokenUsage;
use crate::error::LlmError;
use crate::ports::{HttpResponse, TransportError};
use crate::providers;
use crate::reliability::classify;
use crate::types::Endpoint;
use serde_json::{Map, Value};
use std::rc::Rc;

/// What the host sends for a passthrough attempt: everything but the body, precomputed per
/// deployment and kept by the host until the deployment table changes.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Wire {
    pub url: String,
    /// Includes the credentials: the host keeps this object private and never logs it.
    pub headers: Vec<(String, String)>,
    /// The upstream `model` that replaces the group name in the caller's body.
    pub model: String,
    /// Request defaults from `litellm_params` (the caller's fields win), or null.
    pub defaults: Option<Map<String, Value>>,
    pub timeout_ms: u64,
}

/// One call the host is driving.
pub struct HostCall {
    call: Call,
    dispatch: Dispatch,
    started: f64,
    /// The deployment of the attempt in flight.
    current: Option<Rc<Deployment>>,
}

/// The host's next move.
pub enum HostStep {
    /// Send to this deployment yourself (`wire` describes how).
    Send(Rc<Deployment>),
    /// Let the core make this attempt (`exchange_for_host`): a provider that translates.
    Exchange,
    /// Ask the custom routing strategy (`candidates` for it), report with `chose_host`.
    Choose(Choosing),
    /// Wait this many milliseconds, then ask again.
    Wait(u64),
    /// The call failed: take the error with `fail_host`.
    Fail(LlmError),
}

/// A pick the custom routing strategy makes for a host-driven call.
pub struct Choosing {
    pub group: String,
    pub candidates: Vec<Rc<Deployment>>,
    /// The strategy's bound: the call's timeout.
    pub timeout_ms: u64,
}

impl Choosing {
    /// `{ model, candidates, timeout_ms }` for the host (candidates redacted).
    pub fn to_json(&self) -> Value {
        let candidates: Vec<Value> = self.candidates.iter().map(|d| d.redacted()).collect();
        serde_json::json!({
            "model": self.group, "candidates": candidates, "timeout_ms": self.timeout_ms,
        })
    }
}

impl HostCall {
    pub fn endpoint(&self) -> Endpoint {
        self.call.endpoint
    }

    /// The call's `litellm_call_id`, carried by its events.
    pub fn set_call_id(&mut self, id: Option<String>) {
        self.call.opts.call_id = id;
    }
}

impl Router {
    /// Whether the host may drive calls of this router: features whose waits or lookups
    /// live in the core's async path (the response cache, pre-call checks that count
    /// tokens, parallel-request limits) keep every call there.
    pub fn host_loop_allowed(&self) -> bool {
        let cfg = &self.inner.config;
        self.inner.cache.is_none()
            && !cfg.enable_pre_call_checks
            // Prompt pins are written from the request body, which the host keeps.
            && !cfg.selection.prompt_caching
            && cfg.default_max_parallel_requests.is_none()
            && self
                .table()
                .deployments()
                .iter()
                .all(|d| d.max_parallel_requests.is_none())
    }

    /// Starts a host-driven call of `endpoint` on model group `model`, with no router kwargs
    /// in the request (the host sends those calls down the core's path).
    pub fn begin_host(&self, endpoint: Endpoint, model: &str) -> HostCall {
        let started = self.now();
        self.state_tick();
        let opts = CallOptions {
            model: model.to_string(),
            ..CallOptions::default()
        };
        HostCall {
            call: Call::new(endpoint, Map::new(), opts),
            dispatch: Dispatch::new(model),
            started,
            current: None,
        }
    }

    /// The next step of a host-driven call.
    pub fn step_host(&self, hc: &mut HostCall) -> HostStep {
        match self.step(&mut hc.call, &mut hc.dispatch) {
            Step::Attempt(d) => {
                hc.current = Some(Rc::clone(&d));
                if Self::passthrough(&d, hc.call.endpoint) {
                    hc.call.attempts += 1;
                    HostStep::Send(d)
                } else {
                    HostStep::Exchange
                }
            }
            Step::Wait(ms) => HostStep::Wait(ms),
            // Not reached while `host_loop_allowed` holds; bounded by the slot deadline.
            Step::WaitSlot(deadline) => HostStep::Wait((deadline - self.now()).max(1.0) as u64),
            Step::Fail(e) => HostStep::Fail(e),
            Step::Choose(group, candidates) => {
                let choosing = Choosing {
                    timeout_ms: self.choice_timeout_ms(&hc.call),
                    group,
                    candidates,
                };
                HostStep::Choose(choosing)
            }
        }
    }

    /// Whether the host sends `endpoint` to `d` itself: OpenAI's own API, whose body is the
    /// caller's with `model` replaced and whose reply is already the answer.
    fn passthrough(d: &Deployment, endpoint: Endpoint) -> bool {
        d.provider == "openai"
            && d.max_retries == 0
            && matches!(
                endpoint,
                Endpoint::ChatCompletion | Endpoint::TextCompletion | Endpoint::Embedding
            )
    }

    /// The host's custom strategy answered `answer` for `choosing` (`None`: it timed out):
    /// the next `step_host` picks by it.
    pub fn chose_host(
        &self,
        hc: &mut HostCall,
        choosing: &Choosing,
        answer: Option<Result<Option<String>, String>>,
    ) {
        hc.call.chosen = Some(Self::judge(
            &choosing.group,
            &choosing.candidates,
            answer,
            choosing.timeout_ms,
        ));
    }

    /// How the host sends to `d` (a passthrough deployment).
    pub fn wire(&self, d: &Deployment, endpoint: Endpoint) -> Result<Wire, LlmError> {
        let ctx = providers::RequestContext {
            timeout_ms: d.timeout_ms.unwrap_or(self.inner.config.timeout_ms),
            now_ms: self.now(),
            bearer_token: None,
            stream: false,
            entropy: 0,
        };
        let provider = providers::lookup(&d.provider).ok_or_else(|| {
            LlmError::bad_request(format!("provider {} is not supported", d.provider))
        })?;
        // The provider's own request for an empty body: its URL and headers, exactly.
        let request = provider.build_request(d, endpoint, Map::new(), &ctx)?;
        Ok(Wire {
            url: request.url,
            headers: request.headers,
            model: d.model.clone(),
            defaults: (!d.request_defaults.is_empty()).then(|| d.request_defaults.clone()),
            timeout_ms: ctx.timeout_ms,
        })
    }

    /// The host's attempt answered 2xx with a valid body whose `usage` held these numbers:
    /// books the success and returns the call's `_hidden_params`.
    pub fn answered_host(
        &self,
        hc: &mut HostCall,
        usage: Option<TokenUsage>,
    ) -> Option<HiddenParams> {
        let settled = self.settle(&mut hc.call, &mut hc.dispatch, Ok(()))?;
        let d = settled.deployment;
        let latency_ms = self.now() - hc.started;
        self.state_tick();
        let cost = crate::cost::call_cost(
            &super::book::model_cost(&d),
            usage.as_ref(),
            settled.attempt_ms,
        );
        let group = hc.call.opts.model.clone();
        Some(self.book_success(
            &group,
            &hc.call,
            &d,
            usage,
            cost,
            latency_ms,
            settled.attempt_ms,
            None,
        ))
    }

    /// The host's attempt got a reply it does not take as an answer (an error status, or a
    /// 2xx body it could not use): the provider classifies it. `Some`: the provider made an
    /// answer of it after all.
    pub fn replied_host(&self, hc: &mut HostCall, response: HttpResponse) -> Option<Routed> {
        let d = hc.current.take()?;
        let provider = providers::lookup(&d.provider)?;
        match provider.parse_response(&d, hc.call.endpoint, &response) {
            Ok(body) => self.answered_with_body(hc, body),
            Err(e) => {
                self.settle(&mut hc.call, &mut hc.dispatch, Err(annotate(e, &d)));
                None
            }
        }
    }

    /// The host's attempt produced no response (`timed_out`, or a connection failure).
    pub fn unreachable_host(&self, hc: &mut HostCall, timed_out: bool, message: &str) {
        let Some(d) = hc.current.take() else {
            return;
        };
        let error = if timed_out {
            TransportError::Timeout
        } else {
            TransportError::Connection(message.to_string())
        };
        let timeout_ms = d.timeout_ms.unwrap_or(self.inner.config.timeout_ms);
        let e = annotate(classify::from_transport(&error, Some(timeout_ms)), &d);
        self.settle(&mut hc.call, &mut hc.dispatch, Err(e));
    }

    /// The attempt `HostStep::Exchange` asked for, made by the core with the caller's
    /// request (`body`, router kwargs already absent). `Some`: the call is answered.
    pub async fn exchange_for_host(
        &self,
        hc: &mut HostCall,
        body: Map<String, Value>,
    ) -> Option<Routed> {
        let d = hc.current.take()?;
        hc.call.body = body;
        match self.exchange(&mut hc.call, &d).await {
            Ok(reply) => match reply.into_json() {
                Ok(body) => self.answered_with_body(hc, body),
                Err(e) => {
                    self.settle(&mut hc.call, &mut hc.dispatch, Err(annotate(e, &d)));
                    None
                }
            },
            Err(e) => {
                self.settle(&mut hc.call, &mut hc.dispatch, Err(annotate(e, &d)));
                None
            }
        }
    }

    fn answered_with_body(&self, hc: &mut HostCall, mut body: Value) -> Option<Routed> {
        self.stamp_created(&mut body);
        let usage = crate::types::usage::token_usage(&body);
        let hidden = self.answered_host(hc, usage)?;
        // Costs that depend on the body (images, audio) do not pass through the host loop.
        Some(Routed {
            body,
            audio: None,
            hidden,
        })
    }

    /// The error of a failed host-driven call, booked.
    pub fn fail_host(&self, hc: HostCall, e: LlmError) -> LlmError {
        let latency_ms = self.now() - hc.started;
        self.state_tick();
        let group = hc.call.opts.model.clone();
        self.book_failure(&group, &hc.call, e, latency_ms)
    }
}
