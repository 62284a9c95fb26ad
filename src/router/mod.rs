//! The orchestration: pick a deployment -> call it -> classify -> retry, cool down, fall back.
//! State lives in `RefCell`s borrowed only between awaits, never across one.

mod budget;
mod cache;
mod dispatch;
mod eligible;
mod groupinfo;
mod health;
mod hostloop;
mod hoststream;
mod manage;
mod operate;
mod prompt_pin;
mod request;
mod scheduler;
mod shared;
mod stream;
mod table;
mod usage;

pub use eligible::{Selector, MAX_PINS};
pub use hostloop::{HostCall, HostStep, Wire};
pub use hoststream::{Fed, HostStream, StreamStep};
pub use manage::deep_merge;
pub use request::{router_keys, CallOptions};
pub use stream::{ChunkStream, StreamAbort};
pub use table::DeploymentTable;
pub use usage::{CallOutcome, DeploymentUsage, GroupUsage, UsageBook};

use crate::config::RoutingStrategy;
use crate::config::{Deployment, FallbackMap, RouterConfig};
use crate::cost::{completion_cost, CostMap};
use crate::error::{ErrorKind, LlmError};
use crate::ports::{EventSink, HttpResponse, LogLevel, Ports};
use crate::providers;
use crate::providers::openai;
use crate::reliability::limits::{MinuteUsage, SlotSignal};
use crate::reliability::{
    backoff, classify,
    cooldown::{CooldownBook, CooldownRule},
};
use crate::routing::shuffle;
use crate::routing::strategy::{self, Candidate};
use dispatch::{Dispatch, Step};

/// The latency sample a timed-out attempt leaves (LiteLLM's penalty: 1,000 s).
const TIMEOUT_PENALTY_MS: f64 = 1_000_000.0;
use crate::types::audio::{Audio, AudioBody, Upload};
use crate::types::{text_completion, tokens::estimate_input_tokens, usage::token_usage, Endpoint};
use serde::Serialize;
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Router metadata for one answered request (`_hidden_params` in JS).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HiddenParams {
    pub model_id: String,
    pub model_group: String,
    pub custom_llm_provider: String,
    pub api_base: Option<String>,
    pub response_cost: Option<f64>,
    pub cache_hit: bool,
    /// Upstream calls made for this request, the successful one included.
    pub attempts: u32,
    /// Retries made (within groups; fallbacks are counted separately).
    pub retries: u32,
    /// The fallback group that answered, when the requested group did not.
    pub fallback_model_group: Option<String>,
    pub latency_ms: f64,
}

#[derive(Debug, Clone)]
pub struct Routed {
    pub body: Value,
    /// The audio of a `speech()` answer (`body` is then `{}`).
    pub audio: Option<Audio>,
    pub hidden: HiddenParams,
}

struct Inner {
    ports: Ports,
    /// Event callbacks set after construction (`on`), in addition to `ports.events`.
    events: RefCell<Option<Rc<dyn EventSink>>>,
    config: RouterConfig,
    table: RefCell<Rc<DeploymentTable>>,
    cooldowns: RefCell<CooldownBook>,
    usage: RefCell<UsageBook>,
    minute_usage: RefCell<MinuteUsage>,
    /// Notified whenever a request finishes, for requests waiting on a parallel limit.
    slots: SlotSignal,
    /// Calls waiting for room in a saturated group, by priority (the request scheduler).
    waiting: scheduler::WaitQueue,
    /// The response cache (`cache_responses: true`).
    cache: Option<Rc<cache::ResponseCache>>,
    /// The shared-state sync engine, when a store is attached.
    shared: RefCell<Option<Rc<crate::state::SharedState>>>,
    /// Health-check results, for `enable_health_check_routing`.
    health_book: RefCell<eligible::HealthBook>,
    /// Affinity pins (`deployment_affinity`, `session_affinity`).
    pins: RefCell<eligible::PinTable>,
    /// Spend per budget window (`budget.rs`).
    budgets: RefCell<budget::BudgetBook>,
}

/// A LiteLLM-compatible router over the host's ports. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Router {
    inner: Rc<Inner>,
}

/// Bookkeeping for one call across its retries and fallbacks.
struct Call {
    endpoint: Endpoint,
    body: Map<String, Value>,
    opts: CallOptions,
    attempts: u32,
    retries: u32,
    fallback_model_group: Option<String>,
    /// Input tokens, counted once when a pre-call check first needs them.
    input_tokens: Option<u64>,
    /// The file of a `transcription()` call.
    upload: Option<Upload>,
    /// The audio of the successful `speech()` exchange.
    audio: Option<Audio>,
    /// The stream the successful exchange of a streamed call opened.
    opened: Option<stream::OpenStream>,
    /// A mid-stream continuation: only deployments that take an assistant prefill serve it.
    prefill_only: bool,
}

impl Call {
    fn new(endpoint: Endpoint, body: Map<String, Value>, opts: CallOptions) -> Call {
        Call {
            endpoint,
            body,
            opts,
            attempts: 0,
            retries: 0,
            fallback_model_group: None,
            input_tokens: None,
            upload: None,
            audio: None,
            opened: None,
            prefill_only: false,
        }
    }
}

/// One attempt with a deployment, planned without I/O (`Router::plan_attempt`).
struct Plan {
    provider: &'static dyn providers::Provider,
    /// The endpoint the provider serves the call by (chat for a text completion via chat).
    endpoint: Endpoint,
    via_chat: bool,
    /// The upstream body (taken by `build_attempt`).
    body: Map<String, Value>,
    timeout_ms: u64,
    stream_ctx: crate::stream::StreamContext,
}

impl Plan {
    /// A decoder for the attempt's stream, or the error of a provider that cannot stream.
    fn decoder(
        &self,
        d: &Deployment,
        endpoint: Endpoint,
    ) -> Result<Box<dyn crate::stream::StreamDecoder>, LlmError> {
        self.provider
            .stream_decoder(d, self.endpoint, &self.stream_ctx)
            .ok_or_else(|| {
                LlmError::bad_request(format!(
                    "provider {} cannot stream {}()",
                    d.provider,
                    endpoint.method()
                ))
            })
    }
}

/// What answered a call.
struct Answer {
    body: Value,
    deployment: Rc<Deployment>,
    /// Time of the answering exchange alone (what the deployment's latency is made of).
    attempt_ms: f64,
}

impl Router {
    pub fn new(mut config: RouterConfig, ports: Ports) -> Router {
        let deployments = std::mem::take(&mut config.deployments);
        for skipped in &config.skipped_deployments {
            ports.logger.log(
                LogLevel::Warn,
                &format!("llmux: ignoring invalid deployment: {}", skipped.message),
            );
        }
        for warning in &config.warnings {
            ports.logger.log(LogLevel::Warn, warning);
        }
        let cache = config
            .cache
            .clone()
            .map(|c| Rc::new(cache::ResponseCache::new(c, &ports)));
        let created_ms = ports.clock.now_ms();
        Router {
            inner: Rc::new(Inner {
                cache,
                events: RefCell::new(ports.events.clone()),
                ports,
                config,
                table: RefCell::new(Rc::new(DeploymentTable::new(deployments))),
                cooldowns: RefCell::new(CooldownBook::default()),
                usage: RefCell::new(UsageBook::default()),
                minute_usage: RefCell::new(MinuteUsage::default()),
                slots: SlotSignal::default(),
                waiting: scheduler::WaitQueue::default(),
                shared: RefCell::new(None),
                health_book: RefCell::new(eligible::HealthBook::default()),
                pins: RefCell::new(eligible::PinTable::default()),
                budgets: RefCell::new(budget::BudgetBook::new(created_ms)),
            }),
        }
    }

    pub fn config(&self) -> &RouterConfig {
        &self.inner.config
    }

    /// The current deployment table (a snapshot).
    pub fn table(&self) -> Rc<DeploymentTable> {
        Rc::clone(&self.inner.table.borrow())
    }

    pub fn usage(&self, id: &str) -> Option<DeploymentUsage> {
        self.inner.usage.borrow().get(id).cloned()
    }

    pub fn usage_all(&self) -> HashMap<String, DeploymentUsage> {
        self.inner
            .usage
            .borrow()
            .all()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// When deployment `id` comes back, if it is cooling down now.
    pub fn cooling_until(&self, id: &str) -> Option<f64> {
        self.inner.cooldowns.borrow().cooling_until(id, self.now())
    }

    fn now(&self) -> f64 {
        self.inner.ports.clock.now_ms()
    }

    /// Sends an event to the host's `on` callbacks, if any (payloads carry no secrets).
    fn emit(&self, event: &str, payload: impl FnOnce() -> Value) {
        let sink = self.inner.events.borrow().clone();
        if let Some(sink) = sink {
            sink.emit(event, &payload());
        }
    }

    /// Replaces the event callbacks.
    pub fn set_events(&self, sink: Option<Rc<dyn EventSink>>) {
        *self.inner.events.borrow_mut() = sink;
    }

    /// Usage per deployment and per model group, with latency percentiles and cooldowns.
    pub fn usage_report(&self) -> Value {
        let now = self.now();
        let mut report = {
            let cooldowns = self.inner.cooldowns.borrow();
            self.inner
                .usage
                .borrow()
                .report(|id| cooldowns.cooling_until(id, now))
        };
        if let Some(obj) = report.as_object_mut() {
            obj.insert("budgets".into(), self.budget_report());
        }
        report
    }

    /// Zeroes the cost counters (`resetCost()`).
    pub fn reset_cost(&self) {
        self.inner.usage.borrow_mut().reset_cost();
    }

    fn log(&self, level: LogLevel, message: impl FnOnce() -> String) {
        if self.inner.config.log_level.is_some_and(|min| level >= min) || level >= LogLevel::Warn {
            self.inner.ports.logger.log(level, &message());
        }
    }

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
        mut body: Map<String, Value>,
        upload: Option<Upload>,
    ) -> Result<Routed, LlmError> {
        self.await_first_sync().await;
        let started = self.now();
        self.state_tick();
        let opts = CallOptions::extract(&mut body)?;
        if opts.stream {
            return Err(LlmError::bad_request(
                "stream: true is served by the streaming entry point (completion/textCompletion return a stream)",
            ));
        }
        let mut call = Call::new(endpoint, body, opts);
        call.upload = upload;
        match self.cache_plan(&call) {
            Some(plan) => self.call_cached(call, plan, started).await,
            None => self.call_upstream(call, started).await,
        }
    }

    /// Routes a call upstream (retries, fallbacks) and books its outcome.
    async fn call_upstream(&self, mut call: Call, started: f64) -> Result<Routed, LlmError> {
        let group = call.opts.model.clone();
        let result = self.route(&mut call).await;
        let latency_ms = self.now() - started;
        self.state_tick();
        match result {
            Ok(mut answer) => {
                // Providers that report no creation time get the router's (Unix seconds).
                if let Some(obj) = answer.body.as_object_mut() {
                    let created = obj.get("created").and_then(Value::as_u64).unwrap_or(0);
                    if created == 0 && obj.contains_key("choices") {
                        obj.insert("created".into(), Value::from((self.now() / 1000.0) as u64));
                    }
                }
                let d = Rc::clone(&answer.deployment);
                let usage = token_usage(&answer.body);
                let response_cost = response_cost(&call, &d, &answer.body, usage);
                let hidden = self.book_success(
                    &group,
                    &call,
                    &d,
                    usage,
                    response_cost,
                    latency_ms,
                    answer.attempt_ms,
                    None,
                );
                Ok(Routed {
                    hidden,
                    body: answer.body,
                    audio: call.audio.take(),
                })
            }
            Err(e) => Err(self.book_failure(&group, &call, e, latency_ms)),
        }
    }

    /// Books an answered call: usage and cost counters, tokens per minute and the `success`
    /// event; returns its `_hidden_params`. `deployment_ms`: the answering exchange alone
    /// (for a stream, from its request to its last chunk); `ttft_ms`: a stream's time to its
    /// first chunk.
    #[allow(clippy::too_many_arguments)]
    fn book_success(
        &self,
        group: &str,
        call: &Call,
        d: &Deployment,
        usage: Option<crate::cost::TokenUsage>,
        response_cost: Option<f64>,
        latency_ms: f64,
        deployment_ms: f64,
        ttft_ms: Option<f64>,
    ) -> HiddenParams {
        self.inner.usage.borrow_mut().call_finished(CallOutcome {
            group,
            error_kind: None,
            retries: call.retries,
            fell_back: call.fallback_model_group.is_some(),
            usage,
            cost: response_cost,
            latency_ms,
        });
        self.book_spend(d, response_cost);
        self.emit("success", || {
            serde_json::json!({
                "model_group": group, "model_id": d.id, "answered_by_group": d.model_group,
                "custom_llm_provider": d.provider, "latency_ms": latency_ms,
                "response_cost": response_cost, "attempts": call.attempts,
                "retries": call.retries, "fallback_model_group": call.fallback_model_group,
                "stream": call.opts.stream, "time_to_first_token_ms": ttft_ms,
                "deployment_latency_ms": deployment_ms,
            })
        });
        self.repin_after_success(call, d);
        self.pin_prompt(call, d);
        self.inner.usage.borrow_mut().succeeded(
            &d.id,
            &d.model_group,
            usage,
            response_cost,
            deployment_ms,
        );
        if let Some(u) = usage {
            let tokens = u.prompt_tokens + u.completion_tokens;
            self.inner
                .minute_usage
                .borrow_mut()
                .record_tokens(&d.id, tokens, self.now());
            self.share_tokens(&d.id, tokens, self.now());
        }
        self.hidden_params(call, d, response_cost, latency_ms)
    }

    fn hidden_params(
        &self,
        call: &Call,
        d: &Deployment,
        response_cost: Option<f64>,
        latency_ms: f64,
    ) -> HiddenParams {
        HiddenParams {
            model_id: d.id.clone(),
            model_group: d.model_group.clone(),
            custom_llm_provider: d.provider.clone(),
            api_base: d.api_base_shown.clone(),
            response_cost,
            cache_hit: false,
            attempts: call.attempts,
            retries: call.retries,
            fallback_model_group: call.fallback_model_group.clone(),
            latency_ms,
        }
    }

    /// Books a failed call (counters and the `failure` event); returns the error with the
    /// number of attempts made.
    fn book_failure(&self, group: &str, call: &Call, mut e: LlmError, latency_ms: f64) -> LlmError {
        e.attempts = Some(call.attempts);
        self.inner.usage.borrow_mut().call_finished(CallOutcome {
            group,
            error_kind: Some(e.kind.name()),
            retries: call.retries,
            fell_back: false,
            usage: None,
            cost: None,
            latency_ms,
        });
        self.emit("failure", || {
            serde_json::json!({
                "model_group": group, "error": e.kind.name(), "status": e.status,
                "message": e.message, "deployment_id": e.deployment_id,
                "attempts": call.attempts, "latency_ms": latency_ms, "stream": call.opts.stream,
            })
        });
        e
    }

    fn resolve_alias(&self, group: &str) -> String {
        self.inner
            .config
            .model_group_alias
            .get(group)
            .cloned()
            .unwrap_or_else(|| group.to_string())
    }

    /// The fallback groups for `err` in `group`: the specific list for context-window and
    /// content-policy errors when one applies, else `fallbacks` (the group's entry, the
    /// `"*"` entry, then `default_fallbacks`).
    fn fallback_targets(&self, opts: &CallOptions, group: &str, err: &LlmError) -> Vec<String> {
        let cfg = &self.inner.config;
        // A name served by a wildcard pattern also takes the pattern's entry.
        let table = self.table();
        let pattern = table.group_of(group).filter(|g| *g != group);
        let find = |map: &FallbackMap| -> Option<Vec<String>> {
            map.iter()
                .find(|(g, _)| g == group)
                .or_else(|| pattern.and_then(|p| map.iter().find(|(g, _)| g == p)))
                .or_else(|| map.iter().find(|(g, _)| g == "*"))
                .map(|(_, t)| t.clone())
        };
        let specific = match err.kind {
            ErrorKind::ContextWindowExceededError => find(
                opts.context_window_fallbacks
                    .as_ref()
                    .unwrap_or(&cfg.context_window_fallbacks),
            ),
            ErrorKind::ContentPolicyViolationError => find(
                opts.content_policy_fallbacks
                    .as_ref()
                    .unwrap_or(&cfg.content_policy_fallbacks),
            ),
            _ => None,
        };
        specific
            .or_else(|| find(opts.fallbacks.as_ref().unwrap_or(&cfg.fallbacks)))
            .unwrap_or_else(|| cfg.default_fallbacks.clone())
    }

    /// Drives the call's attempt loop (`dispatch.rs`) over the ports: each attempt through
    /// the `Transport`, each wait on the `Sleeper`.
    async fn route(&self, call: &mut Call) -> Result<Answer, LlmError> {
        self.route_from(call, Dispatch::new(&call.opts.model)).await
    }

    /// `route` from a given position of the attempt loop (a mid-stream continuation's).
    async fn route_from(
        &self,
        call: &mut Call,
        mut dispatch: Dispatch,
    ) -> Result<Answer, LlmError> {
        loop {
            match self.step(call, &mut dispatch) {
                Step::Attempt(d) => {
                    let (body, outcome) = match self.exchange(call, &d).await {
                        Ok(body) => (body, Ok(())),
                        Err(e) => (Value::Null, Err(annotate(e, &d))),
                    };
                    if let Some(settled) = self.settle(call, &mut dispatch, outcome) {
                        if let Some(open) = call.opened.as_mut() {
                            // A stream stays in flight until it ends.
                            open.in_flight = Some(settled.in_flight);
                        }
                        return Ok(Answer {
                            body,
                            deployment: settled.deployment,
                            attempt_ms: settled.attempt_ms,
                        });
                    }
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

    fn healthy_untried(&self, serving: &[Rc<Deployment>], tried: &[String]) -> usize {
        let now = self.now();
        let cooldowns = self.inner.cooldowns.borrow();
        serving
            .iter()
            .filter(|d| {
                !tried.contains(&d.id) && !cooldowns.is_cooling(&d.id, now) && !self.over_budget(d)
            })
            .count()
    }

    /// What the strategies look at for each deployment of `pool`.
    fn candidates(&self, pool: &[&Deployment], strategy: RoutingStrategy) -> Vec<Candidate> {
        let now = self.now();
        let usage = self.inner.usage.borrow();
        let minute = self.inner.minute_usage.borrow();
        pool.iter()
            .map(|d| Candidate {
                in_flight: self
                    .global_in_flight(&d.id, usage.get(&d.id).map_or(0, |u| u.in_flight)),
                minute_tokens: self.global_minute(&d.id, minute.current(&d.id, now), now).1,
                latency_ms: match strategy {
                    RoutingStrategy::LatencyBased { ttl_ms, .. } => self
                        .global_latency(&d.id, now)
                        .or_else(|| usage.recent_latency(&d.id, now, ttl_ms)),
                    _ => None,
                },
                cost_per_token: match strategy {
                    RoutingStrategy::CostBased => {
                        let cost = model_cost(d);
                        cost.input_cost_per_token
                            .zip(cost.output_cost_per_token)
                            .map(|(i, o)| i + o)
                    }
                    _ => None,
                },
            })
            .collect()
    }

    fn record_latency(&self, d: &Deployment, latency_ms: f64) {
        if let RoutingStrategy::LatencyBased { max_samples, .. } =
            self.inner.config.routing_strategy
        {
            let now = self.now();
            self.inner.usage.borrow_mut().record_latency(
                &d.id,
                &d.model_group,
                now,
                latency_ms,
                max_samples,
            );
            self.share_latency(&d.id, latency_ms, now);
        }
    }

    /// The parallel limit of a deployment: its own, else the router's default.
    fn parallel_limit(&self, d: &Deployment) -> Option<u64> {
        d.max_parallel_requests
            .or(self.inner.config.default_max_parallel_requests)
    }

    /// Context window of a deployment: model_info, else the bundled price data.
    fn max_input_tokens(d: &Deployment) -> Option<u64> {
        d.model_info
            .max_input_tokens
            .or(d.model_info.max_tokens)
            .or_else(|| {
                let cost = CostMap::bundled().lookup(&d.provider, &d.model)?;
                cost.max_input_tokens.or(cost.max_tokens)
            })
    }

    fn input_tokens(&self, call: &mut Call, model: &str) -> u64 {
        if let Some(n) = call.input_tokens {
            return n;
        }
        let counted = self
            .inner
            .ports
            .token_counter
            .as_ref()
            .and_then(|c| c.count(model, &call.body))
            .unwrap_or_else(|| estimate_input_tokens(&call.body));
        call.input_tokens = Some(counted);
        counted
    }

    /// The pre-call checks (`enable_pre_call_checks`): drops deployments whose context window
    /// is smaller than the prompt, then those at their `rpm`/`tpm` for this minute.
    fn pre_call_checks<'d>(
        &self,
        call: &mut Call,
        healthy: Vec<&'d Rc<Deployment>>,
        group: &str,
    ) -> Result<Vec<&'d Rc<Deployment>>, LlmError> {
        let model = healthy.first().map(|d| d.model.clone()).unwrap_or_default();
        let tokens = self.input_tokens(call, &model);
        let fitting: Vec<&Rc<Deployment>> = healthy
            .iter()
            .copied()
            .filter(|d| Self::max_input_tokens(d).is_none_or(|max| tokens <= max))
            .collect();
        if fitting.is_empty() {
            let largest = healthy
                .iter()
                .filter_map(|d| Self::max_input_tokens(d))
                .max()
                .unwrap_or(0);
            let mut e = LlmError::new(
                ErrorKind::ContextWindowExceededError,
                format!(
                    "the prompt (about {tokens} tokens) exceeds the context window of every deployment of {group} (largest: {largest} tokens)"
                ),
            );
            e.model_group = Some(group.to_string());
            return Err(e);
        }
        self.within_limits(fitting, group)
    }

    /// Drops deployments that reached their `rpm` (requests sent) or `tpm` (tokens of
    /// answered requests) this minute; all of them at their limit is a `RateLimitError`.
    fn within_limits<'d>(
        &self,
        candidates: Vec<&'d Rc<Deployment>>,
        group: &str,
    ) -> Result<Vec<&'d Rc<Deployment>>, LlmError> {
        let now = self.now();
        let minute = self.inner.minute_usage.borrow();
        let within: Vec<&Rc<Deployment>> = candidates
            .into_iter()
            .filter(|d| {
                let (requests, used_tokens) =
                    self.global_minute(&d.id, minute.current(&d.id, now), now);
                d.rpm.is_none_or(|limit| requests < limit)
                    && d.tpm.is_none_or(|limit| used_tokens < limit)
            })
            .collect();
        if within.is_empty() {
            let wait = MinuteUsage::ms_to_next_minute(now);
            let mut e = LlmError::new(
                ErrorKind::RateLimitError,
                format!(
                    "every deployment of {group} has reached its rpm/tpm limit for this minute; try again in {:.1} seconds",
                    wait as f64 / 1000.0
                ),
            )
            .with_retry_after(Some(wait));
            e.model_group = Some(group.to_string());
            return Err(e);
        }
        Ok(within)
    }

    /// Healthy deployments (not cooling down, passing the pre-call checks, below their
    /// parallel limit), preferring those not yet tried in this call; the strategy picks.
    /// `Ok(None)`: every eligible deployment is at its parallel limit.
    fn pick(
        &self,
        call: &mut Call,
        serving: &[Rc<Deployment>],
        tried: &[String],
        group: &str,
    ) -> Result<Option<Rc<Deployment>>, LlmError> {
        let now = self.now();
        let mut healthy: Vec<&Rc<Deployment>> = {
            let cooldowns = self.inner.cooldowns.borrow();
            serving
                .iter()
                .filter(|d| !cooldowns.is_cooling(&d.id, now))
                .collect()
        };
        if healthy.is_empty() {
            let cooldowns = self.inner.cooldowns.borrow();
            let soonest = serving
                .iter()
                .filter_map(|d| cooldowns.cooling_until(&d.id, now))
                .fold(f64::INFINITY, f64::min);
            let wait_ms = if soonest.is_finite() {
                (soonest - now).max(0.0)
            } else {
                0.0
            };
            let mut e = LlmError::new(
                ErrorKind::NoDeploymentsAvailableError,
                format!(
                    "No deployments available for selected model, Try again in {:.1} seconds. Passed model={group}. {} deployment(s) cooling down.",
                    wait_ms / 1000.0,
                    serving.len()
                ),
            )
            .with_retry_after(Some(wait_ms.ceil() as u64));
            e.model_group = Some(group.to_string());
            return Err(e);
        }
        healthy = self.within_budget(healthy, group)?;
        healthy = self.eligible(call, serving, healthy, group)?;
        if self.inner.config.enable_pre_call_checks {
            healthy = self.pre_call_checks(call, healthy, group)?;
        } else if self.inner.config.routing_strategy == RoutingStrategy::UsageBased
            || self.inner.config.selection.enforce_model_rate_limits
        {
            // Usage-based routing always respects rpm/tpm, as LiteLLM's does;
            // `enforce_model_rate_limits` makes them hard limits for every strategy.
            healthy = self.within_limits(healthy, group)?;
        }
        let free: Vec<&Rc<Deployment>> = {
            let usage = self.inner.usage.borrow();
            healthy
                .into_iter()
                .filter(|d| {
                    self.parallel_limit(d)
                        .is_none_or(|limit| usage.get(&d.id).map_or(0, |u| u.in_flight) < limit)
                })
                .collect()
        };
        if free.is_empty() {
            return Ok(None);
        }
        let fresh: Vec<&Deployment> = free
            .iter()
            .filter(|d| !tried.contains(&d.id))
            .map(|d| d.as_ref())
            .collect();
        let pool: Vec<&Deployment> = if fresh.is_empty() {
            free.iter().map(|d| d.as_ref()).collect()
        } else {
            fresh
        };
        let random = self.inner.ports.rng.next_f64();
        let pinned = self
            .pinned(call, group, &pool, tried)
            .or_else(|| self.prompt_pinned(call, group, &pool, tried));
        let index = match pinned {
            Some(pinned) => Some(pinned),
            None => match self.inner.config.routing_strategy {
                RoutingStrategy::SimpleShuffle => shuffle::pick(&pool, random),
                strategy => strategy::pick(strategy, &self.candidates(&pool, strategy), random),
            },
        }
        .unwrap_or(0);
        let id = pool.get(index).map(|d| d.id.as_str()).unwrap_or_default();
        self.claim_pins(call, group, id);
        Ok(free.iter().find(|d| d.id == id).map(|d| Rc::clone(d)))
    }

    fn record_failure(&self, d: &Deployment, err: &LlmError, single_deployment: bool) {
        let cfg = &self.inner.config;
        let allowed_fails = cfg
            .allowed_fails_policy
            .as_ref()
            .and_then(|p| p.allowed_fails_for(err))
            .unwrap_or(cfg.allowed_fails);
        let rule = CooldownRule {
            allowed_fails,
            cooldown_ms: d.cooldown_time_ms.unwrap_or(cfg.cooldown_ms),
            single_deployment,
            disabled: cfg.disable_cooldowns,
        };
        let now = self.now();
        let counted = !rule.disabled
            && !rule.single_deployment
            && crate::reliability::cooldown::counts_against_deployment(err.status);
        let elsewhere = if counted {
            let local = self.inner.cooldowns.borrow().fails_this_minute(&d.id, now);
            self.failures_elsewhere(&d.id, local, now)
        } else {
            0
        };
        let until = self
            .inner
            .cooldowns
            .borrow_mut()
            .record_failure_with(&d.id, err, rule, now, elsewhere);
        if counted {
            self.share_failure(&d.id, now, until);
        }
        self.inner
            .usage
            .borrow_mut()
            .failed(&d.id, &d.model_group, err.kind.name());
        if let Some(until) = until {
            self.emit("cooldown", || {
                serde_json::json!({
                    "model_id": d.id, "model_group": d.model_group, "until_ms": until,
                    "cooldown_ms": until - now, "error": err.kind.name(), "status": err.status,
                })
            });
            self.log(LogLevel::Info, || {
                format!(
                    "llmux: deployment {} ({}) cooling down for {:.1} s after {}",
                    d.id,
                    d.model_group,
                    (until - now) / 1000.0,
                    err.kind
                )
            });
        }
    }

    /// Everything about one attempt with `d` that needs no I/O: the provider, the endpoint
    /// it is served by, the upstream body and the timeout.
    fn plan_attempt(&self, call: &Call, d: &Deployment) -> Result<Plan, LlmError> {
        let provider = providers::lookup(&d.provider).ok_or_else(|| {
            LlmError::bad_request(format!("provider {} is not supported", d.provider))
        })?;
        // Text completion on a chat-only provider goes through chat, as in LiteLLM.
        let via_chat = call.endpoint == Endpoint::TextCompletion
            && !provider.supports(Endpoint::TextCompletion)
            && provider.supports(Endpoint::ChatCompletion);
        let endpoint = if via_chat {
            Endpoint::ChatCompletion
        } else {
            call.endpoint
        };
        if !provider.supports(endpoint) {
            return Err(LlmError::bad_request(format!(
                "provider {} does not serve {}()",
                d.provider,
                call.endpoint.method()
            )));
        }
        let mut body = d.request_defaults.clone();
        body.extend(call.body.iter().map(|(k, v)| (k.clone(), v.clone())));
        if via_chat {
            body = text_completion::to_chat_request(body)?;
        }
        let mut timeout_ms = call
            .opts
            .timeout_ms
            .or(d.timeout_ms)
            .unwrap_or(self.inner.config.timeout_ms);
        if call.opts.stream {
            // `stream_timeout` bounds the wait for the headers and for each later piece.
            timeout_ms = call
                .opts
                .stream_timeout_ms
                .or(d.stream_timeout_ms)
                .or(self.inner.config.stream_timeout_ms)
                .unwrap_or(timeout_ms);
        }
        let stream_ctx = crate::stream::StreamContext {
            id: format!(
                "chatcmpl-{:016x}",
                (self.inner.ports.rng.next_f64() * 2f64.powi(53)) as u64
            ),
            created: (self.now() / 1000.0) as u64,
            model: d.model.clone(),
        };
        let plan = Plan {
            provider,
            endpoint,
            via_chat,
            body,
            timeout_ms,
            stream_ctx,
        };
        if call.opts.stream {
            // Refuse before any upstream call when the provider cannot stream.
            plan.decoder(d, call.endpoint)?;
        }
        Ok(plan)
    }

    /// The upstream request of `plan` (with the access token `auth` obtained, if any).
    fn build_attempt(
        &self,
        call: &mut Call,
        d: &Deployment,
        plan: &mut Plan,
        bearer_token: Option<String>,
    ) -> Result<crate::ports::HttpRequest, LlmError> {
        let ctx = providers::RequestContext {
            timeout_ms: plan.timeout_ms,
            now_ms: self.now(),
            bearer_token,
            stream: call.opts.stream,
            entropy: self.inner.ports.rng.next_u64(),
        };
        let body = std::mem::take(&mut plan.body);
        match &call.upload {
            Some(upload) => plan
                .provider
                .build_upload(d, plan.endpoint, body, upload, &ctx),
            None => plan.provider.build_request(d, plan.endpoint, body, &ctx),
        }
    }

    /// One upstream exchange with a deployment (plus its own `max_retries`).
    async fn exchange(&self, call: &mut Call, d: &Deployment) -> Result<Value, LlmError> {
        let mut plan = self.plan_attempt(call, d)?;
        let provider = plan.provider;
        let (endpoint, via_chat, timeout_ms) = (plan.endpoint, plan.via_chat, plan.timeout_ms);
        let bearer_token = match provider.auth(d, &self.inner.ports) {
            Some(pending) => Some(pending.await?),
            None => None,
        };
        let request = self.build_attempt(call, d, &mut plan, bearer_token)?;
        let mut local_retries = 0;
        loop {
            call.attempts += 1;
            let outcome = if call.opts.stream {
                let decoder = plan.decoder(d, call.endpoint)?;
                self.open_stream(
                    provider,
                    d,
                    endpoint,
                    request.clone(),
                    decoder,
                    timeout_ms,
                    via_chat,
                )
                .await
                .map(|open| {
                    call.opened = Some(open);
                    Value::Null
                })
            } else if endpoint == Endpoint::Speech {
                self.send_speech(provider, d, request.clone(), timeout_ms)
                    .await
                    .map(|audio| {
                        call.audio = Some(audio);
                        Value::Object(Map::new())
                    })
            } else {
                match self.inner.ports.transport.send(request.clone()).await {
                    Ok(response) => provider.parse_response(d, endpoint, &response).map(|v| {
                        if via_chat {
                            text_completion::from_chat_response(v)
                        } else {
                            v
                        }
                    }),
                    Err(te) => Err(classify::from_transport(&te, Some(timeout_ms))),
                }
            };
            match outcome {
                Err(e) if e.retryable() && local_retries < d.max_retries => {
                    let delay = backoff::retry_delay_ms(
                        local_retries,
                        e.retry_after_ms,
                        0,
                        self.inner.ports.rng.next_f64(),
                    );
                    self.inner.ports.sleeper.sleep(delay).await;
                    local_retries += 1;
                }
                other => return other,
            }
        }
    }

    /// One speech exchange: the audio body is passed through unread when the host can
    /// stream it; otherwise (and for errors) the provider parses the read body.
    async fn send_speech(
        &self,
        provider: &dyn providers::Provider,
        d: &Deployment,
        request: crate::ports::HttpRequest,
        timeout_ms: u64,
    ) -> Result<Audio, LlmError> {
        let reply = self
            .inner
            .ports
            .transport
            .send_streamed(request)
            .await
            .map_err(|te| classify::from_transport(&te, Some(timeout_ms)))?;
        match reply.stream {
            Some(handle) => {
                let head = HttpResponse {
                    status: reply.status,
                    headers: reply.headers,
                    body: Vec::new(),
                };
                openai::audio_content_type(&head).map(|content_type| Audio {
                    content_type,
                    body: AudioBody::Stream(handle),
                })
            }
            None => provider.parse_audio(d, &reply.buffered()),
        }
    }
}

/// Counts a request in flight for as long as it lives, even if its future is dropped.
struct InFlight {
    router: Router,
    id: String,
    group: String,
}

impl InFlight {
    fn start(router: &Router, d: &Deployment) -> InFlight {
        router
            .inner
            .usage
            .borrow_mut()
            .started(&d.id, &d.model_group);
        router
            .inner
            .minute_usage
            .borrow_mut()
            .record_request(&d.id, router.now());
        router.share_request(&d.id, router.now());
        InFlight {
            router: router.clone(),
            id: d.id.clone(),
            group: d.model_group.clone(),
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut usage) = self.router.inner.usage.try_borrow_mut() {
            usage.finished(&self.id, &self.group);
        }
        self.router.share_request_end(&self.id);
        self.router.inner.slots.notify();
    }
}

/// Adds the deployment's identity to an error and scrubs its credentials (the API key, every
/// extra header value, provider credentials, `api_base` userinfo and query values) from the
/// message in any encoding, even when the upstream echoed them altered, and masks tokens that
/// look like credentials ([`crate::redact`]).
fn annotate(mut e: LlmError, d: &Deployment) -> LlmError {
    e.message = d.redactor().scrub(&e.message);
    e.llm_provider = Some(d.provider.clone());
    e.model = Some(d.model.clone());
    e.model_group = Some(d.model_group.clone());
    e.deployment_id = Some(d.id.clone());
    e
}

/// USD cost of an answer: per token from usage, per image, per second of transcribed audio
/// or per character of synthesised speech, as the price data prices the model.
fn response_cost(
    call: &Call,
    d: &Deployment,
    body: &Value,
    usage: Option<crate::cost::TokenUsage>,
) -> Option<f64> {
    let cost = model_cost(d);
    match call.endpoint {
        Endpoint::ImageGeneration => {
            let images = body
                .get("data")
                .and_then(Value::as_array)
                .map_or(0, |a| a.len() as u64);
            crate::cost::image_cost(&cost, images)
        }
        Endpoint::Moderation => Some(0.0),
        // Per second of audio, when the reply says how long it was (`verbose_json`).
        Endpoint::Transcription => body
            .get("duration")
            .and_then(Value::as_f64)
            .and_then(|seconds| crate::cost::audio_cost(&cost, seconds))
            .or_else(|| usage.and_then(|u| completion_cost(&cost, &u))),
        // Per character of the input text.
        Endpoint::Speech => {
            let chars = call
                .body
                .get("input")
                .and_then(Value::as_str)
                .map(|t| t.chars().count())?;
            cost.input_cost_per_character.map(|c| c * chars as f64)
        }
        // Per search unit or per token, as the price data prices the model (#18).
        Endpoint::Rerank => crate::cost::rerank_cost(&cost, body),
        _ => usage.and_then(|u| completion_cost(&cost, &u)),
    }
}

/// Prices for a deployment: litellm_params, then model_info, then the bundled cost map
/// (under `model_info.base_model` when set, else the deployment's model).
fn model_cost(d: &Deployment) -> Rc<crate::cost::ModelCost> {
    Rc::clone(d.priced.get_or_init(|| Rc::new(resolve_model_cost(d))))
}

fn resolve_model_cost(d: &Deployment) -> crate::cost::ModelCost {
    // `model_info.base_model` names the priced model behind a custom deployment name (Azure).
    let priced = d
        .model_info
        .raw
        .get("base_model")
        .and_then(Value::as_str)
        .unwrap_or(&d.model);
    let mut cost = CostMap::bundled()
        .lookup(&d.provider, priced)
        .cloned()
        .unwrap_or_default();
    if let Some(c) = d.input_cost_per_token.or(d.model_info.input_cost_per_token) {
        cost.input_cost_per_token = Some(c);
    }
    if let Some(c) = d
        .output_cost_per_token
        .or(d.model_info.output_cost_per_token)
    {
        cost.output_cost_per_token = Some(c);
    }
    cost
}
