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
    /// A stream's attempt timeout (`stream_timeout`, else `timeout`): for the headers, then
    /// for each later piece of the body.
    pub stream_timeout_ms: u64,
    /// The deployment as `_hidden_params` shows it (no credentials): the host keeps it with
    /// the wire and adds the numbers `answer_host` returns.
    pub identity: WireIdentity,
}

/// The constant part of an answer's `_hidden_params`, per deployment.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WireIdentity {
    pub model_id: String,
    pub model_group: String,
    pub custom_llm_provider: String,
    pub api_base: Option<String>,
}

impl WireIdentity {
    fn of(d: &Deployment) -> WireIdentity {
        WireIdentity {
            model_id: d.id.clone(),
            model_group: d.model_group.clone(),
            custom_llm_provider: d.provider.clone(),
            api_base: d.api_base_shown.clone(),
        }
    }
}

/// A host call answered, in numbers: what `_hidden_params` adds to the answering
/// deployment's [`WireIdentity`]. No string is copied unless the call fell back.
#[derive(Debug, Clone)]
pub struct HostAnswer {
    pub deployment: Rc<Deployment>,
    pub response_cost: Option<f64>,
    pub attempts: u32,
    pub retries: u32,
    pub fallback_model_group: Option<String>,
    pub latency_ms: f64,
}

impl HostAnswer {
    /// The `_hidden_params` these numbers and the deployment make.
    pub fn hidden(&self) -> HiddenParams {
        HiddenParams::of(
            &self.deployment,
            self.response_cost,
            self.attempts,
            self.retries,
            self.fallback_model_group.clone(),
            self.latency_ms,
        )
    }
}

/// An open realtime socket's hold on its deployment: counted in flight (least-busy,
/// `max_parallel_requests`) until this is dropped, exactly once.
pub struct OpenSocket {
    _in_flight: super::InFlight,
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
        // A realtime socket is always opened by the host (the core plans its upgrade).
        if endpoint == Endpoint::Realtime {
            return true;
        }
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
        if endpoint == Endpoint::Realtime {
            let plan = providers::realtime::plan(d)?;
            return Ok(Wire {
                url: plan.url,
                headers: plan.headers,
                model: d.model.clone(),
                defaults: None,
                timeout_ms: d.timeout_ms.unwrap_or(self.inner.config.timeout_ms),
                identity: WireIdentity::of(d),
                stream_timeout_ms: 0,
            });
        }
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
            defaults: (!d.request_defaults.is_empty()).then(|| d.request_defaults.0.clone()),
            timeout_ms: ctx.timeout_ms,
            identity: WireIdentity::of(d),
            // As `plan_attempt` for a stream without a per-request `stream_timeout`.
            stream_timeout_ms: d
                .stream_timeout_ms
                .or(self.inner.config.stream_timeout_ms)
                .unwrap_or(ctx.timeout_ms),
        })
    }

    /// The host's attempt answered 2xx with a valid body whose `usage` held these numbers:
    /// books the success and returns the call's `_hidden_params`.
    pub fn answered_host(
        &self,
        hc: &mut HostCall,
        usage: Option<TokenUsage>,
    ) -> Option<HiddenParams> {
        self.answer_host(hc, usage).map(|a| a.hidden())
    }

    /// [`Router::answered_host`] in numbers, for a host that keeps each deployment's
    /// [`WireIdentity`] (the JS host loop: nothing is serialised per call).
    pub fn answer_host(&self, hc: &mut HostCall, usage: Option<TokenUsage>) -> Option<HostAnswer> {
        let settled = self.settle(&mut hc.call, &mut hc.dispatch, Ok(()))?;
        let d = settled.deployment;
        let latency_ms = self.now() - hc.started;
        self.state_tick();
        let cost = crate::cost::call_cost(
            &super::book::model_cost(&d),
            usage.as_ref(),
            settled.attempt_ms,
        );
        let call = &hc.call;
        self.book_success(
            &call.opts.model,
            call,
            &d,
            usage,
            cost,
            latency_ms,
            settled.attempt_ms,
            None,
        );
        Some(HostAnswer {
            response_cost: cost,
            attempts: call.attempts,
            retries: call.retries,
            fallback_model_group: call.fallback_model_group.clone(),
            latency_ms,
            deployment: d,
        })
    }

    /// The host's realtime upgrade succeeded (101): books the success (a request, its
    /// upgrade latency, no tokens) and returns `_hidden_params` with the deployment's
    /// in-flight count, which the open socket holds until it is dropped (on close).
    pub fn opened_host(&self, hc: &mut HostCall) -> Option<(HiddenParams, OpenSocket)> {
        let settled = self.settle(&mut hc.call, &mut hc.dispatch, Ok(()))?;
        let d = settled.deployment;
        let latency_ms = self.now() - hc.started;
        self.state_tick();
        let group = hc.call.opts.model.clone();
        self.book_success(
            &group,
            &hc.call,
            &d,
            None,
            None,
            latency_ms,
            settled.attempt_ms,
            None,
        );
        let hidden = self.hidden_params(&hc.call, &d, None, latency_ms);
        Some((
            hidden,
            OpenSocket {
                _in_flight: settled.in_flight,
            },
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

// The fakes (`crate::testing`) are native only.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::config::RouterConfig;
    use crate::error::ErrorKind;
    use crate::testing::Fakes;

    fn router(options: Value) -> Router {
        let config = RouterConfig::parse(&options, &Default::default())
            .unwrap_or_else(|e| unreachable!("config: {e}"));
        Router::new(config, Fakes::new(7).ports)
    }

    fn sent(r: &Router, hc: &mut HostCall) -> Rc<Deployment> {
        match r.step_host(hc) {
            HostStep::Send(d) => d,
            _ => unreachable!("a realtime call is sent by the host"),
        }
    }

    #[test]
    fn an_open_socket_counts_in_flight_until_dropped_and_least_busy_avoids_it() {
        let r = router(serde_json::json!({
            "routing_strategy": "least-busy",
            "model_list": [
                {"model_name": "rt", "litellm_params": {"model": "openai/a", "api_key": "k"}, "model_info": {"id": "a"}},
                {"model_name": "rt", "litellm_params": {"model": "openai/b", "api_key": "k"}, "model_info": {"id": "b"}},
            ]
        }));
        let mut first = r.begin_host(Endpoint::Realtime, "rt");
        let d1 = sent(&r, &mut first);
        let wire = r
            .wire(&d1, Endpoint::Realtime)
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert!(wire
            .url
            .starts_with("wss://api.openai.com/v1/realtime?model="));
        let (hidden, socket) = r.opened_host(&mut first).unwrap_or_else(|| unreachable!());
        assert_eq!(hidden.model_id, d1.id);
        assert_eq!(r.usage(&d1.id).map(|u| u.in_flight), Some(1));
        // The next three sockets avoid the busy one while it stays open.
        for _ in 0..3 {
            let mut next = r.begin_host(Endpoint::Realtime, "rt");
            let d = sent(&r, &mut next);
            assert_ne!(d.id, d1.id);
            r.unreachable_host(&mut next, false, "refused");
        }
        drop(socket);
        assert_eq!(r.usage(&d1.id).map(|u| u.in_flight), Some(0));
    }

    #[test]
    fn a_failed_upgrade_moves_to_the_next_deployment_and_other_providers_are_refused() {
        let r = router(serde_json::json!({
            "num_retries": 1,
            "allowed_fails": 0,
            "model_list": [
                {"model_name": "rt", "litellm_params": {"model": "openai/a", "api_key": "k"}, "model_info": {"id": "a"}},
                {"model_name": "rt", "litellm_params": {"model": "openai/b", "api_key": "k"}, "model_info": {"id": "b"}},
                {"model_name": "claude", "litellm_params": {"model": "anthropic/claude-3-5-haiku-latest", "api_key": "k"}},
            ]
        }));
        let mut hc = r.begin_host(Endpoint::Realtime, "rt");
        let first = sent(&r, &mut hc);
        r.unreachable_host(&mut hc, true, "upgrade timed out");
        // A failed upgrade counts against allowed_fails as a failed call does.
        assert!(r.cooling_until(&first.id).is_some());
        let d = loop {
            match r.step_host(&mut hc) {
                HostStep::Send(d) => break d,
                HostStep::Wait(_) => continue,
                _ => unreachable!("the next deployment is tried"),
            }
        };
        assert_ne!(d.id, first.id);
        let mut refused = r.begin_host(Endpoint::Realtime, "claude");
        match r.step_host(&mut refused) {
            HostStep::Fail(e) => {
                assert_eq!(e.kind, ErrorKind::BadRequestError);
                assert!(e.message.contains("anthropic"), "{}", e.message);
            }
            _ => unreachable!("anthropic has no realtime socket"),
        }
    }
}
