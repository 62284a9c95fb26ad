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
use std::cell::Ref;
use std::rc::Rc;

impl Router {
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
    /// `Ok(None)`: every eligible deployment is at its parallel limit.
    pub(super) fn pick(
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
            None => routing::pick(
                self.inner.config.routing_strategy,
                &pool,
                &RouterSignals::new(self),
                random,
            ),
        }
        .unwrap_or(0);
        let id = pool.get(index).map(|d| d.id.as_str()).unwrap_or_default();
        self.claim_pins(call, group, id);
        Ok(free.iter().find(|d| d.id == id).map(|d| Rc::clone(d)))
    }
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
