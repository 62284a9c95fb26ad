//! Choosing a deployment for one attempt: health, budgets, pre-call checks, rpm/tpm and
//! parallel limits, pins, then the routing strategy.

use super::book::model_cost;
use super::call::Call;
use super::Router;
use crate::config::{Deployment, RoutingStrategy};
use crate::cost::CostMap;
use crate::error::{ErrorKind, LlmError};
use crate::reliability::limits::MinuteUsage;
use crate::routing::{self, Signals};
use crate::types::tokens::estimate_input_tokens;
use futures_util::future::Either;
use std::cell::Ref;
use std::rc::Rc;

impl Router {
    /// The strategy that picks in model group `group`: its routing group's, else the router's.
    /// A call to a routing group's own name (the union of its members) uses the group's.
    pub(super) fn strategy_for(&self, group: &str) -> RoutingStrategy {
        let config = &self.inner.config;
        let groups = &config.routing_groups;
        if groups.members.is_empty() {
            return config.routing_strategy;
        }
        if let Some(strategy) = groups.members.get(group) {
            return *strategy;
        }
        match groups.groups.get(group) {
            Some((_, strategy)) if self.table().resolve(group).is_err() => *strategy,
            _ => config.routing_strategy,
        }
    }

    pub(super) fn healthy_untried(&self, serving: &[Rc<Deployment>], tried: &[String]) -> usize {
        let now = self.now();
        let cooldowns = self.inner.cooldowns.borrow();
        serving
            .iter()
            .filter(|d| {
                !tried.contains(&d.id) && !cooldowns.is_cooling(&d.id, now) && !self.over_budget(d)
            })
            .count()
    }

    /// The parallel limit of a deployment: its own, else the router's default.
    pub(super) fn parallel_limit(&self, d: &Deployment) -> Option<u64> {
        d.max_parallel_requests
            .or(self.inner.config.default_max_parallel_requests)
    }

    /// Context window of a deployment: model_info, else the bundled price data.
    pub(super) fn max_input_tokens(d: &Deployment) -> Option<u64> {
        d.model_info
            .max_input_tokens
            .or(d.model_info.max_tokens)
            .or_else(|| {
                let cost = CostMap::bundled().lookup(&d.provider, &d.model)?;
                cost.max_input_tokens.or(cost.max_tokens)
            })
    }

    pub(super) fn input_tokens(&self, call: &mut Call, model: &str) -> u64 {
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
    pub(super) fn pre_call_checks<'d>(
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
    pub(super) fn within_limits<'d>(
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
    pub(super) fn pick(
        &self,
        call: &mut Call,
        serving: &[Rc<Deployment>],
        tried: &[String],
        group: &str,
    ) -> Result<Picked, LlmError> {
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
        } else if self.strategy_for(group) == RoutingStrategy::UsageBased
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
            return Ok(Picked::Full);
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
        let custom = match pinned {
            Some(_) => None,
            None if self.inner.chooser.borrow().is_none() => None,
            // The custom strategy is asked once per pick: the driver awaits it and steps again.
            None => match call.chosen.take() {
                None => {
                    let candidates = free
                        .iter()
                        .filter(|d| pool.iter().any(|p| p.id == d.id))
                        .map(|d| Rc::clone(d))
                        .collect();
                    return Ok(Picked::Choose(candidates));
                }
                Some(Choice::Failed(e)) => return Err(e),
                // A candidate that became ineligible while the strategy ran (a concurrent call
                // cooled it down) is replaced by the configured strategy's pick.
                Some(Choice::Id(id)) => pool.iter().position(|d| d.id == id),
                Some(Choice::Declined) => None,
            },
        };
        let index = match pinned.or(custom) {
            Some(index) => Some(index),
            None => routing::pick(
                self.strategy_for(group),
                &pool,
                &RouterSignals::new(self),
                random,
            ),
        }
        .unwrap_or(0);
        let id = pool.get(index).map(|d| d.id.as_str()).unwrap_or_default();
        self.claim_pins(call, group, id);
        Ok(free
            .iter()
            .find(|d| d.id == id)
            .map_or(Picked::Full, |d| Picked::One(Rc::clone(d))))
    }

    /// Asks the custom routing strategy to choose among `candidates` of `group` for `call`,
    /// within the call's timeout. What it answers is checked here: an id that is not a
    /// candidate's, a throw or the timeout fail the pick with a typed error.
    pub(super) async fn choose(
        &self,
        call: &Call,
        group: &str,
        candidates: &[Rc<Deployment>],
    ) -> Choice {
        let chooser = self.inner.chooser.borrow().clone();
        let Some(chooser) = chooser else {
            return Choice::Declined;
        };
        let shown = candidates.iter().map(|d| d.redacted()).collect();
        let timeout_ms = self.choice_timeout_ms(call);
        let pending = chooser.choose(group, &call.body, shown);
        let expired = self.inner.ports.sleeper.sleep(timeout_ms);
        let answer = match futures_util::future::select(pending, expired).await {
            Either::Left((answer, _)) => Some(answer),
            Either::Right(_) => None,
        };
        Self::judge(group, candidates, answer, timeout_ms)
    }

    /// How long the custom strategy may take: the call's timeout.
    pub(super) fn choice_timeout_ms(&self, call: &Call) -> u64 {
        call.opts.timeout_ms.unwrap_or(self.inner.config.timeout_ms)
    }

    /// What the strategy's `answer` means for the pick (`None`: it timed out).
    pub(super) fn judge(
        group: &str,
        candidates: &[Rc<Deployment>],
        answer: Option<Result<Option<String>, String>>,
        timeout_ms: u64,
    ) -> Choice {
        let failed = |kind: ErrorKind, message: String| {
            let mut e = LlmError::new(kind, message);
            e.model_group = Some(group.to_string());
            Choice::Failed(e)
        };
        match answer {
            Some(Ok(Some(id))) if candidates.iter().any(|d| d.id == id) => Choice::Id(id),
            Some(Ok(Some(id))) => {
                let ids: Vec<&str> = candidates.iter().map(|d| d.id.as_str()).collect();
                let shown: String = id.chars().take(MAX_ECHOED_CHARS).collect();
                failed(
                    ErrorKind::InternalServerError,
                    format!(
                        "the custom routing strategy chose {shown:?}, which is not one of the candidates of {group} ({})",
                        ids.join(", ")
                    ),
                )
            }
            Some(Ok(None)) => Choice::Declined,
            Some(Err(message)) => failed(
                ErrorKind::InternalServerError,
                format!(
                    "the custom routing strategy failed for {group}: {}",
                    message.chars().take(MAX_ECHOED_CHARS).collect::<String>()
                ),
            ),
            None => failed(
                ErrorKind::Timeout,
                format!(
                    "the custom routing strategy did not choose a deployment of {group} within the call's timeout ({:.3} seconds)",
                    timeout_ms as f64 / 1000.0
                ),
            ),
        }
    }
}

/// The longest part of a strategy's answer or error message an error repeats.
const MAX_ECHOED_CHARS: usize = 200;

/// What one pick found.
pub(super) enum Picked {
    /// This deployment serves the attempt.
    One(Rc<Deployment>),
    /// Every eligible deployment is at its parallel limit.
    Full,
    /// The custom routing strategy chooses among these: ask it (`Router::choose`), record
    /// its answer in `Call::chosen` and pick again.
    Choose(Vec<Rc<Deployment>>),
}

/// The custom routing strategy's answer for the next pick.
pub(super) enum Choice {
    /// This candidate.
    Id(String),
    /// No opinion (`undefined` or `null`): the configured `routing_strategy` picks.
    Declined,
    /// The pick fails with this error (retries do not apply; tiers and fallbacks do).
    Failed(LlmError),
}

/// The router's books as the strategies see them, borrowed for one pick.
struct RouterSignals<'r> {
    router: &'r Router,
    now: f64,
    usage: Ref<'r, super::UsageBook>,
    minute: Ref<'r, MinuteUsage>,
}

impl<'r> RouterSignals<'r> {
    fn new(router: &'r Router) -> Self {
        RouterSignals {
            router,
            now: router.now(),
            usage: router.inner.usage.borrow(),
            minute: router.inner.minute_usage.borrow(),
        }
    }
}

impl Signals for RouterSignals<'_> {
    fn in_flight(&self, d: &Deployment) -> u64 {
        let local = self.usage.get(&d.id).map_or(0, |u| u.in_flight);
        self.router.global_in_flight(&d.id, local)
    }

    fn minute_tokens(&self, d: &Deployment) -> u64 {
        let local = self.minute.current(&d.id, self.now);
        self.router.global_minute(&d.id, local, self.now).1
    }

    fn latency_ms(&self, d: &Deployment, ttl_ms: u64) -> Option<f64> {
        self.router
            .global_latency(&d.id, self.now)
            .or_else(|| self.usage.recent_latency(&d.id, self.now, ttl_ms))
    }

    fn cost_per_token(&self, d: &Deployment) -> Option<f64> {
        let cost = model_cost(d);
        cost.input_cost_per_token
            .zip(cost.output_cost_per_token)
            .map(|(i, o)| i + o)
    }
}
