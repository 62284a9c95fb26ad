//! The sans-IO attempt loop: which deployment to try next, whether to retry and after how
//! long, which fallback group to enter. It performs no I/O and awaits nothing. A driver
//! asks for the next [`Step`], performs it (an upstream attempt, a wait) and reports the
//! attempt's outcome with [`Router::settle`]. Two drivers exist: [`Router::route`] (async
//! Rust over the `Transport` port: streams, uploads, translated providers, native tests)
//! and the JS host's loop in `js/router.js` (the hot path, through `RouterCore::step`).

use super::scheduler::{Ticket, MAX_QUEUE_WAIT_MS, MAX_WAITING};
use super::select::Picked;
use super::table::Unresolved;
use super::{Call, InFlight, Router, TIMEOUT_PENALTY_MS};
use crate::config::Deployment;
use crate::error::{ErrorKind, LlmError};
use crate::ports::LogLevel;
use crate::reliability::backoff;
use crate::reliability::policy::RetryPolicy;
use crate::types::Endpoint;
use std::collections::VecDeque;
use std::rc::Rc;

/// The most upstream attempts one request may make, across its retries and every
/// fallback group (each deployment's own `max_retries` included). A ceiling, not a target:
/// configs that would need more end with the last error once it is reached.
pub const MAX_ATTEMPTS_PER_REQUEST: u32 = 50;

/// What the driver does next.
pub enum Step {
    /// One upstream attempt with this deployment; report it with `settle`.
    Attempt(Rc<Deployment>),
    /// Ask the custom routing strategy to choose among these deployments of this group,
    /// record its answer in `Call::chosen`, then ask again.
    Choose(String, Vec<Rc<Deployment>>),
    /// Wait this many milliseconds (a retry's backoff), then ask again.
    Wait(u64),
    /// Every eligible deployment is at its `max_parallel_requests`: wait until a request
    /// finishes or until this time (ms on the router's clock), then ask again.
    WaitSlot(f64),
    /// The request failed for good.
    Fail(LlmError),
}

/// A group being tried within a call.
struct Frame {
    /// Shared, not copied: the step loop reads it on every pick.
    group: Rc<str>,
    depth: u32,
    phase: Phase,
}

enum Phase {
    /// Not entered yet.
    Enter,
    /// Trying the group's deployments.
    Trying(Retrying),
    /// The group failed with this error; its fallback targets are being tried.
    FallingBack {
        last: LlmError,
        targets: VecDeque<String>,
    },
}

struct Retrying {
    serving: Vec<Rc<Deployment>>,
    /// The group's `order` tiers, when any deployment has one.
    tiers: Option<Tiers>,
    tried: Vec<String>,
    retries_done: u32,
    default_retries: u32,
    policy: Option<RetryPolicy>,
    /// While waiting for room (a parallel slot, the next rpm/tpm minute, the calls queued
    /// before this one): when to give up.
    slot_deadline: Option<f64>,
    /// The call's place in the scheduler's queue while it waits.
    ticket: Option<Ticket>,
    /// Weighted failover (`enable_weighted_failover`): the deployments of the group (of its
    /// tier) not tried yet when it failed, and how many such re-picks the call made.
    failover: Option<Vec<Rc<Deployment>>>,
    failovers: u32,
    /// A backoff to wait before the next pick.
    pending_wait: u64,
}

/// A group's `order` tiers (README, "Order tiers"): its distinct `order` values ascending,
/// the deployments without one last. Only the current tier is eligible; a tier that fails
/// hands the call to the next tier with a healthy deployment, before any fallback group.
struct Tiers {
    orders: Vec<Option<i64>>,
    /// Index into `orders` of the tier being tried; `None` before the first pick.
    current: Option<usize>,
    /// The current tier's deployments.
    members: Vec<Rc<Deployment>>,
}

impl Tiers {
    fn of(serving: &[Rc<Deployment>]) -> Option<Tiers> {
        if serving.iter().all(|d| d.order.is_none()) {
            return None;
        }
        let mut orders: Vec<Option<i64>> = serving.iter().map(|d| d.order).collect();
        // `None` sorts first; the deployments without an order form the last tier.
        orders.sort_unstable_by_key(|o| (o.is_none(), *o));
        orders.dedup();
        Some(Tiers {
            orders,
            current: None,
            members: Vec::new(),
        })
    }

    fn enter(&mut self, index: usize, serving: &[Rc<Deployment>]) {
        let order = self.orders.get(index).copied().flatten();
        self.current = Some(index);
        self.members = serving
            .iter()
            .filter(|d| d.order == order)
            .cloned()
            .collect();
    }
}

impl Retrying {
    /// The deployments the next pick chooses among: the current tier's, else the group's.
    fn eligible(&self) -> &[Rc<Deployment>] {
        if let Some(rest) = &self.failover {
            return rest;
        }
        match &self.tiers {
            Some(t) if t.current.is_some() => &t.members,
            _ => &self.serving,
        }
    }
}

/// One call's position in its retries and fallbacks.
pub struct Dispatch {
    frames: Vec<Frame>,
    /// Groups entered by this call: a fallback never re-enters one (no cycles, whatever the
    /// fallback lists say).
    visited: Vec<String>,
    /// The attempt in flight: its deployment, its start and its in-flight count.
    current: Option<(Rc<Deployment>, f64, InFlight)>,
    /// The final error, once the outermost group has no fallback left.
    failed: Option<LlmError>,
    /// [`MAX_ATTEMPTS_PER_REQUEST`] was reached: no further fallback is entered.
    ceiling_reached: bool,
}

/// A successful attempt, as `settle` reports it.
pub struct Settled {
    pub deployment: Rc<Deployment>,
    /// Time of the answering exchange alone.
    pub attempt_ms: f64,
    /// The in-flight count of the attempt; a stream keeps it until it ends.
    pub in_flight: InFlight,
}

impl Dispatch {
    pub fn new(group: &str) -> Dispatch {
        Dispatch {
            frames: vec![Frame {
                group: Rc::from(group),
                depth: 0,
                phase: Phase::Enter,
            }],
            visited: Vec::new(),
            current: None,
            failed: None,
            ceiling_reached: false,
        }
    }
}

impl Router {
    /// The attempt loop of a mid-stream continuation: `group`'s stream failed with `err`
    /// after `depth` earlier continuations; its fallback targets are tried, never a group in
    /// `visited`.
    pub(super) fn continuation_dispatch(
        &self,
        call: &Call,
        visited: Vec<String>,
        depth: u32,
        group: &str,
        err: LlmError,
    ) -> Dispatch {
        let phase = self.fall_back(call, &visited, depth, group, err);
        Dispatch {
            frames: vec![Frame {
                group: Rc::from(group),
                depth,
                phase,
            }],
            visited,
            current: None,
            failed: None,
            ceiling_reached: false,
        }
    }

    /// The next step of `call`. Never blocks: a wait is returned, not performed.
    pub(super) fn step(&self, call: &mut Call, dispatch: &mut Dispatch) -> Step {
        loop {
            let Some(frame) = dispatch.frames.last_mut() else {
                let e = dispatch.failed.take().unwrap_or_else(|| {
                    LlmError::new(ErrorKind::InternalServerError, "the call made no attempt")
                });
                return Step::Fail(e);
            };
            match &mut frame.phase {
                Phase::Enter => {
                    if let Some(target) = self.alias_target(&frame.group) {
                        frame.group = Rc::from(target);
                    }
                    let group = Rc::clone(&frame.group);
                    dispatch.visited.push(group.to_string());
                    frame.phase = if call.opts.mock_testing_fallbacks && frame.depth == 0 {
                        let mut e = LlmError::new(
                            ErrorKind::InternalServerError,
                            format!("This is a mock exception for model={group}, to trigger a fallback (mock_testing_fallbacks)"),
                        );
                        e.model_group = Some(group.to_string());
                        self.fall_back(call, &dispatch.visited, frame.depth, &frame.group, e)
                    } else {
                        match self.enter(call, &group) {
                            Ok(r) => Phase::Trying(r),
                            Err(e) => {
                                self.fall_back(call, &dispatch.visited, frame.depth, &group, e)
                            }
                        }
                    };
                }
                Phase::Trying(r) => {
                    if r.pending_wait > 0 {
                        let ms = std::mem::take(&mut r.pending_wait);
                        return Step::Wait(ms);
                    }
                    if call.attempts >= MAX_ATTEMPTS_PER_REQUEST {
                        let mut e = LlmError::new(
                            ErrorKind::ServiceUnavailableError,
                            format!("the request reached llmux's ceiling of {MAX_ATTEMPTS_PER_REQUEST} upstream attempts"),
                        );
                        e.model_group = Some(frame.group.to_string());
                        dispatch.ceiling_reached = true;
                        frame.phase = Phase::FallingBack {
                            last: e,
                            targets: VecDeque::new(),
                        };
                        continue;
                    }
                    let group = Rc::clone(&frame.group);
                    if r.tiers.as_ref().is_some_and(|t| t.current.is_none()) {
                        self.first_tier(r);
                    }
                    // The scheduler: while calls of this group wait for room, they are served
                    // by priority (lower first), then in arrival order; a call with one before it
                    // waits without picking.
                    let priority = call.opts.priority.or(self.inner.config.default_priority);
                    let rank = priority.unwrap_or(i64::MAX);
                    let behind = self.inner.waiting.anyone_before(
                        &group,
                        rank,
                        r.ticket.as_ref().map(|t| t.rank),
                    );
                    let full = if behind {
                        "calls queued before it"
                    } else {
                        match self.pick(call, r.eligible(), &r.tried, &group) {
                            Ok(Picked::Choose(candidates)) => {
                                return Step::Choose(group.to_string(), candidates);
                            }
                            Ok(Picked::One(d)) => {
                                r.slot_deadline = None;
                                r.ticket = None;
                                let in_flight = InFlight::start(self, Rc::clone(&d));
                                dispatch.current = Some((Rc::clone(&d), self.now(), in_flight));
                                return Step::Attempt(d);
                            }
                            Ok(Picked::Full) => "a free slot (max_parallel_requests)",
                            // At its rpm/tpm, a prioritized call waits for the next minute.
                            Err(e) if e.kind == ErrorKind::RateLimitError && priority.is_some() => {
                                "room under rpm/tpm"
                            }
                            Err(e) => {
                                if !self.next_tier(call, frame.depth, r, &group, &e) {
                                    frame.phase = self.fall_back(
                                        call,
                                        &dispatch.visited,
                                        frame.depth,
                                        &group,
                                        e,
                                    );
                                }
                                continue;
                            }
                        }
                    };
                    if r.ticket.is_none() {
                        r.ticket = Ticket::join(self, &group, rank);
                    }
                    let timeout_ms = call
                        .opts
                        .timeout_ms
                        .unwrap_or(self.inner.config.timeout_ms)
                        .min(MAX_QUEUE_WAIT_MS);
                    let now = self.now();
                    let deadline = *r.slot_deadline.get_or_insert(now + timeout_ms as f64);
                    if r.ticket.is_some() && now < deadline {
                        let poll = self.inner.config.polling_interval_ms as f64;
                        return Step::WaitSlot(deadline.min(now + poll));
                    }
                    r.ticket = None;
                    let mut e = if now < deadline {
                        LlmError::new(
                            ErrorKind::RateLimitError,
                            format!("{MAX_WAITING} calls are already waiting for room in this router's model groups"),
                        )
                    } else {
                        LlmError::new(
                            ErrorKind::Timeout,
                            format!(
                                "the request waited {:.3} seconds for {full} in {group} (request scheduler)",
                                timeout_ms as f64 / 1000.0
                            ),
                        )
                    };
                    e.model_group = Some(group.to_string());
                    if !self.next_tier(call, frame.depth, r, &group, &e) {
                        frame.phase =
                            self.fall_back(call, &dispatch.visited, frame.depth, &group, e);
                    }
                }
                Phase::FallingBack { last, targets } => {
                    match targets.pop_front().filter(|_| !dispatch.ceiling_reached) {
                        Some(target) if !dispatch.visited.contains(&target) => {
                            let from = Rc::clone(&frame.group);
                            let depth = frame.depth + 1;
                            self.log(LogLevel::Info, || {
                                format!(
                                    "llmux: falling back from {from} to {target} after {}",
                                    last.kind
                                )
                            });
                            let error = last.kind.name();
                            let call_id = call.opts.call_id.as_deref();
                            self.emit("fallback", || {
                                crate::obj! {
                                    "from": &*from, "to": target.clone(), "error": error,
                                    "status": last.status, "call_id": call_id,
                                }
                            });
                            call.fallback_model_group = Some(target.clone());
                            dispatch.frames.push(Frame {
                                group: Rc::from(target),
                                depth,
                                phase: Phase::Enter,
                            });
                        }
                        Some(_) => {}
                        None => {
                            let Some(Frame {
                                phase: Phase::FallingBack { last, .. },
                                ..
                            }) = dispatch.frames.pop()
                            else {
                                continue;
                            };
                            // The parent tries its next target, remembering this error.
                            match dispatch.frames.last_mut() {
                                Some(Frame {
                                    phase: Phase::FallingBack { last: parent, .. },
                                    ..
                                }) => *parent = last,
                                _ => dispatch.failed = Some(last),
                            }
                        }
                    }
                }
            }
        }
    }

    /// Reports the outcome of the attempt `step` asked for: `Some` when it answered the
    /// call; `None` after a failure (ask for the next step) or when no attempt was in flight.
    pub(super) fn settle(
        &self,
        call: &mut Call,
        dispatch: &mut Dispatch,
        outcome: Result<(), LlmError>,
    ) -> Option<Settled> {
        let (deployment, started, in_flight) = dispatch.current.take()?;
        let attempt_ms = self.now() - started;
        self.emit_attempt(call, &deployment, attempt_ms, outcome.as_ref().err());
        let err = match outcome {
            Ok(()) => {
                self.record_latency(&deployment, attempt_ms);
                return Some(Settled {
                    deployment,
                    attempt_ms,
                    in_flight,
                });
            }
            Err(e) => e,
        };
        drop(in_flight);
        let frame = dispatch.frames.last_mut()?;
        let Phase::Trying(r) = &mut frame.phase else {
            return None;
        };
        let group = Rc::clone(&frame.group);
        // A timeout shorter than the operator's says nothing about the deployment.
        let caller_timeout = err.kind == ErrorKind::Timeout
            && call.opts.timeout_ms.is_some_and(|t| {
                t < deployment
                    .timeout_ms
                    .unwrap_or(self.inner.config.timeout_ms)
            });
        if !caller_timeout {
            self.record_failure(&deployment, &err, r.serving.len() <= 1);
            if err.kind == ErrorKind::Timeout {
                // LiteLLM's latency router penalises a timeout with a 1,000 s sample.
                self.record_latency(&deployment, TIMEOUT_PENALTY_MS);
            }
        }
        if !r.tried.contains(&deployment.id) {
            r.tried.push(deployment.id.clone());
        }
        let budget = r
            .policy
            .as_ref()
            .and_then(|p| p.retries_for(&err))
            .unwrap_or(r.default_retries);
        let others = self.healthy_untried(r.eligible(), &r.tried) > 0;
        // Every deployment of the group (of its tier) is cooling down: waiting out a backoff
        // cannot help, so the error goes to the next tier, the fallbacks or the caller now, as
        // in LiteLLM.
        let all_cooling = !others && self.healthy_untried(r.eligible(), &[]) == 0;
        // Request errors (400, context window, content policy) fail the same way anywhere.
        let deployment_specific = matches!(
            err.kind,
            ErrorKind::AuthenticationError
                | ErrorKind::PermissionDeniedError
                | ErrorKind::NotFoundError
        );
        let retry = !all_cooling
            && r.retries_done < budget
            && (err.retryable() || (deployment_specific && others));
        if !retry {
            if !self.weighted_failover(call, r, &group, &err)
                && !self.next_tier(call, frame.depth, r, &group, &err)
            {
                frame.phase = self.fall_back(call, &dispatch.visited, frame.depth, &group, err);
            }
            return None;
        }
        let delay = if others {
            0
        } else {
            backoff::retry_delay_ms(
                r.retries_done,
                err.retry_after_ms,
                self.inner.config.retry_after_ms,
                self.inner.ports.rng.next_f64(),
            )
        };
        self.log(LogLevel::Info, || {
            format!(
                "llmux: retry {} of {budget} for {group} after {} from deployment {} (waiting {delay} ms)",
                r.retries_done + 1,
                err.kind,
                deployment.id
            )
        });
        let retry_number = r.retries_done + 1;
        self.emit("retry", || {
            crate::obj! {
                "model_group": &*group, "model_id": deployment.id.clone(), "error": err.kind.name(),
                "status": err.status, "retry": retry_number, "delay_ms": delay,
                "call_id": call.opts.call_id.clone(),
            }
        });
        r.pending_wait = delay;
        r.retries_done += 1;
        call.retries += 1;
        None
    }

    /// The `attempt` event: one upstream attempt of `call` with `d` ended after `ms`, with
    /// `err` or an answer (for a stream: its first byte). Observability hooks build per-attempt
    /// spans from it; it carries no credential.
    fn emit_attempt(&self, call: &Call, d: &Deployment, ms: f64, err: Option<&LlmError>) {
        self.emit("attempt", || {
            crate::obj!{
                "call_id": call.opts.call_id.clone(), "model_group": d.model_group.clone(), "model_id": d.id.clone(),
                "custom_llm_provider": d.provider.clone(), "model": d.model.clone(), "attempt": call.attempts,
                "duration_ms": ms, "ok": err.is_none(), "error": err.map(|e| e.kind.name()),
                "status": err.map(|e| e.status), "message": err.map(|e| e.message.as_str()),
                "stream": call.opts.stream,
            }
        });
    }

    /// The deployments of `group` that serve the call's endpoint, and its retry budget.
    fn enter(&self, call: &Call, group: &str) -> Result<Retrying, LlmError> {
        let table = self.table();
        let resolved = match table.resolve(group) {
            Ok(r) => r,
            Err(Unresolved::Unknown)
                if self.inner.config.routing_groups.groups.contains_key(group) =>
            {
                let union = self.routing_group_members(group);
                if union.members.is_empty() {
                    let mut e = LlmError::bad_request(format!(
                        "routing group {group:?} has no deployment: none of its models is a model_name in model_list"
                    ));
                    e.model_group = Some(group.to_string());
                    return Err(e);
                }
                union
            }
            Err(why) => {
                let known = table.group_names().join(", ");
                let mut e = LlmError::bad_request(match why {
                    Unresolved::Unknown => format!(
                        "no model group named {group:?} (model_name in model_list), and no wildcard model_name matches it; available: [{known}]"
                    ),
                    Unresolved::Pattern => format!(
                        "{group:?} is a wildcard model_name: request a model it matches (\"openai/*\" serves \"openai/gpt-4o-mini\")"
                    ),
                    Unresolved::Invalid(msg) => msg,
                });
                e.model_group = Some(group.to_string());
                return Err(e);
            }
        };
        let members = &resolved.members[..];
        let serving: Vec<Rc<Deployment>> = members
            .iter()
            .filter(|d| call.endpoint.served_by(d.model_info.mode))
            .filter(|d| !call.prefill_only || super::stream::takes_prefill(d))
            .filter(|d| {
                call.files_op
                    .is_none_or(|op| crate::providers::files::check_provider(d, op).is_ok())
            })
            .filter(|d| call.endpoint != Endpoint::ImageEdit || edits_images(d))
            .filter(|d| {
                call.endpoint != Endpoint::Realtime || crate::providers::realtime::supports(d)
            })
            .cloned()
            .collect();
        if serving.is_empty() && call.endpoint == Endpoint::ImageEdit {
            let providers: Vec<&str> = members.iter().map(|d| d.provider.as_str()).collect();
            let mut e = LlmError::bad_request(format!(
                "imageEdit() is served by OpenAI and Azure OpenAI deployments; model group {group:?} has none (provider {})",
                providers.join(", ")
            ));
            e.model_group = Some(group.to_string());
            return Err(e);
        }
        if serving.is_empty() && call.endpoint == Endpoint::Realtime {
            // Named by the first provider without a realtime socket (or the mode that excluded
            // an OpenAI/Azure one).
            let mut e = match members
                .iter()
                .find(|d| !crate::providers::realtime::supports(d))
            {
                Some(d) => crate::providers::realtime::unsupported(&d.provider),
                None => LlmError::bad_request(
                    "realtime(): the group's openai/azure deployments have a model_info.mode other than realtime or chat",
                ),
            };
            e.model_group = Some(group.to_string());
            return Err(e);
        }
        if let (true, Some(op)) = (serving.is_empty(), call.files_op) {
            let mut e = LlmError::bad_request(format!(
                "{}() is for OpenAI and Azure deployments; model group {group:?} has none",
                op.method()
            ));
            e.model_group = Some(group.to_string());
            return Err(e);
        }
        if serving.is_empty() && call.prefill_only {
            let mut e = LlmError::bad_request(format!(
                "no deployment of {group:?} can continue a stream (model_info.supports_assistant_prefill)"
            ));
            e.model_group = Some(group.to_string());
            return Err(e);
        }
        if serving.is_empty() {
            let modes: Vec<&str> = members
                .iter()
                .filter_map(|d| {
                    d.model_info
                        .raw
                        .get("mode")
                        .and_then(serde_json::Value::as_str)
                })
                .collect();
            let mut e = LlmError::bad_request(format!(
                "model group {group:?} serves mode {} and cannot answer {}()",
                modes.first().copied().unwrap_or("?"),
                call.endpoint.method()
            ));
            e.model_group = Some(group.to_string());
            return Err(e);
        }
        let cfg = &self.inner.config;
        Ok(Retrying {
            tiers: Tiers::of(&serving),
            serving,
            tried: Vec::new(),
            retries_done: 0,
            default_retries: call.opts.num_retries.unwrap_or(cfg.num_retries),
            policy: cfg
                .model_group_retry_policy
                .get(group)
                .or_else(|| {
                    resolved
                        .wildcard
                        .then(|| cfg.model_group_retry_policy.get(&*resolved.group))
                        .flatten()
                })
                .or(cfg.retry_policy.as_ref())
                .cloned(),
            slot_deadline: None,
            ticket: None,
            failover: None,
            failovers: 0,
            pending_wait: 0,
        })
    }

    /// A routing group called by its name (no model group or alias shadows it): the
    /// deployments of its member model groups, in the order the group lists them.
    fn routing_group_members(&self, group: &str) -> super::table::Resolved {
        let table = self.table();
        let members: Vec<Rc<Deployment>> = self
            .inner
            .config
            .routing_groups
            .groups
            .get(group)
            .map(|(models, _)| {
                models
                    .iter()
                    .filter_map(|m| table.resolve(m).ok())
                    .flat_map(|r| r.members.iter().cloned().collect::<Vec<_>>())
                    .collect()
            })
            .unwrap_or_default();
        super::table::Resolved {
            group: Rc::from(group),
            wildcard: false,
            members: members.into(),
        }
    }

    /// Enters the lowest tier with a deployment not cooling down (LiteLLM's lowest healthy
    /// `order`); when every deployment cools down, the whole group, whose pick then reports it.
    fn first_tier(&self, r: &mut Retrying) {
        let Some(tiers) = r.tiers.as_mut() else {
            return;
        };
        let now = self.now();
        let cooldowns = self.inner.cooldowns.borrow();
        let healthy = (0..tiers.orders.len()).find(|&i| {
            let order = tiers.orders.get(i).copied().flatten();
            r.serving
                .iter()
                .any(|d| d.order == order && !cooldowns.is_cooling(&d.id, now))
        });
        match healthy {
            Some(i) => tiers.enter(i, &r.serving),
            None => {
                tiers.current = Some(tiers.orders.len());
                tiers.members = r.serving.clone();
            }
        }
    }

    /// The current tier failed with `err`: enters the next tier with a deployment not cooling
    /// down, with a fresh retry budget. `false` when there is none, or when the call may not
    /// fall back (`disable_fallbacks`, or the `max_fallbacks` depth spent: LiteLLM's order
    /// chain is part of its fallback step); the group has then failed.
    fn next_tier(
        &self,
        call: &Call,
        depth: u32,
        r: &mut Retrying,
        group: &str,
        err: &LlmError,
    ) -> bool {
        let Some(tiers) = r.tiers.as_mut() else {
            return false;
        };
        let Some(from) = tiers.current else {
            return false;
        };
        let max_depth = call
            .opts
            .max_fallbacks
            .unwrap_or(self.inner.config.max_fallbacks);
        if call.opts.disable_fallbacks || depth >= max_depth || self.ends_without_fallback(err) {
            return false;
        }
        let now = self.now();
        let next = {
            let cooldowns = self.inner.cooldowns.borrow();
            (from + 1..tiers.orders.len()).find(|&i| {
                let order = tiers.orders.get(i).copied().flatten();
                r.serving
                    .iter()
                    .any(|d| d.order == order && !cooldowns.is_cooling(&d.id, now))
            })
        };
        let Some(next) = next else {
            return false;
        };
        let shown = |o: Option<&Option<i64>>| match o.copied().flatten() {
            Some(n) => n.to_string(),
            None => "none".to_string(),
        };
        let (was, now_order) = (shown(tiers.orders.get(from)), shown(tiers.orders.get(next)));
        tiers.enter(next, &r.serving);
        r.failover = None;
        r.retries_done = 0;
        r.pending_wait = 0;
        r.slot_deadline = None;
        r.ticket = None;
        self.log(LogLevel::Info, || {
            format!(
                "llmux: {group}: order {was} failed with {}, trying order {now_order}",
                err.kind
            )
        });
        true
    }

    /// `fallback_on_unsupported_params: false`: a provider's plain 400 (not a context-window
    /// or content-policy error) ends the call, with no tier, failover or fallback (LiteLLM's
    /// `is_bad_request_without_fallback`).
    fn ends_without_fallback(&self, err: &LlmError) -> bool {
        !self.inner.config.fallback_on_unsupported_params
            && err.kind == ErrorKind::BadRequestError
            && err.status == 400
            && err.llm_provider.is_some()
    }

    /// Weighted failover (`enable_weighted_failover` with `simple-shuffle`): the group (its
    /// tier) failed with `err` once its retries were spent; the call re-picks, by weight,
    /// among its deployments not tried yet and not cooling down, with a fresh retry budget,
    /// at most `max_fallbacks` times per group, before the next tier and any fallback group.
    fn weighted_failover(
        &self,
        call: &Call,
        r: &mut Retrying,
        group: &str,
        err: &LlmError,
    ) -> bool {
        let cfg = &self.inner.config;
        let max = call.opts.max_fallbacks.unwrap_or(cfg.max_fallbacks);
        if !cfg.enable_weighted_failover
            || self.strategy_for(group) != crate::config::RoutingStrategy::SimpleShuffle
            || call.opts.disable_fallbacks
            || r.failovers >= max
            || self.ends_without_fallback(err)
        {
            return false;
        }
        let now = self.now();
        let rest: Vec<Rc<Deployment>> = {
            let cooldowns = self.inner.cooldowns.borrow();
            r.eligible()
                .iter()
                .filter(|d| !r.tried.contains(&d.id) && !cooldowns.is_cooling(&d.id, now))
                .cloned()
                .collect()
        };
        if rest.is_empty() {
            return false;
        }
        self.log(LogLevel::Info, || {
            format!(
                "llmux: {group}: weighted failover after {} to {} deployment(s) not tried yet",
                err.kind,
                rest.len()
            )
        });
        r.failover = Some(rest);
        r.failovers += 1;
        r.retries_done = 0;
        r.pending_wait = 0;
        true
    }

    /// `group` failed with `err`: its fallback targets, unless fallbacks are off, the depth
    /// is spent, or every target was already entered by this call.
    fn fall_back(
        &self,
        call: &Call,
        visited: &[String],
        depth: u32,
        group: &str,
        err: LlmError,
    ) -> Phase {
        let max_depth = call
            .opts
            .max_fallbacks
            .unwrap_or(self.inner.config.max_fallbacks);
        let targets = if call.opts.disable_fallbacks
            || depth >= max_depth
            || self.ends_without_fallback(&err)
        {
            VecDeque::new()
        } else {
            self.fallback_targets(&call.opts, group, &err)
                .into_iter()
                .filter(|t| t != group && !visited.contains(t))
                .collect()
        };
        Phase::FallingBack { last: err, targets }
    }
}

/// Whether `d`'s provider edits images (OpenAI and Azure OpenAI; the others are skipped).
fn edits_images(d: &Deployment) -> bool {
    crate::providers::lookup(&d.provider).is_some_and(|p| p.supports(Endpoint::ImageEdit))
}
