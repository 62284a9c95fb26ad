//! Budgets: spend per deployment (`max_budget` per `budget_duration`) and per provider
//! (`provider_budget_config`), booked from each answer's cost; a spent one leaves rotation
//! until its window ends. Windows are LiteLLM's: one opens with the first spend after the
//! last one ended (a provider's first one when the router is made) and lasts its period.

use super::Router;
use crate::config::budget::Budget;
use crate::config::Deployment;
use crate::error::{ErrorKind, LlmError};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::rc::Rc;

/// Windows kept at most (one per budget; expired ones are dropped past this).
const MAX_WINDOWS: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    end_ms: f64,
    spend: f64,
}

/// This instance's spend per budget window.
#[derive(Debug)]
pub struct BudgetBook {
    windows: HashMap<String, Window>,
    /// When the router was made: a provider's first window opens then (as in LiteLLM).
    created_ms: f64,
}

impl BudgetBook {
    pub fn new(created_ms: f64) -> BudgetBook {
        BudgetBook {
            windows: HashMap::new(),
            created_ms,
        }
    }

    /// The live window of `name` at `now`; a provider's first window is anchored at creation.
    fn live(&self, name: &str, budget: &Budget, provider: bool, now: f64) -> Option<Window> {
        match self.windows.get(name) {
            Some(w) if now < w.end_ms => Some(*w),
            Some(_) => None,
            None if provider => {
                let end_ms = self.created_ms + budget.period.window_ms(self.created_ms);
                (now < end_ms).then_some(Window { end_ms, spend: 0.0 })
            }
            None => None,
        }
    }

    /// Books `usd` on `name`; returns the window's length when this spend opened it.
    fn book(
        &mut self,
        name: &str,
        budget: &Budget,
        provider: bool,
        usd: f64,
        now: f64,
    ) -> Option<f64> {
        let (window, opened) = match self.live(name, budget, provider, now) {
            Some(mut w) => {
                w.spend += usd;
                (w, None)
            }
            None => {
                let length = budget.period.window_ms(now);
                let w = Window {
                    end_ms: now + length,
                    spend: usd,
                };
                (w, Some(length))
            }
        };
        if self.windows.len() >= MAX_WINDOWS && !self.windows.contains_key(name) {
            self.windows.retain(|_, w| w.end_ms > now);
        }
        if self.windows.len() < MAX_WINDOWS || self.windows.contains_key(name) {
            self.windows.insert(name.to_string(), window);
        }
        opened
    }
}

/// One budget that applies to a deployment.
struct Applies<'a> {
    name: String,
    budget: &'a Budget,
    provider: Option<&'a str>,
}

fn deployment_budget_name(d: &Deployment, b: &Budget) -> String {
    format!("deployment:{}:{}", d.id, b.period_text)
}

fn provider_budget_name(provider: &str, b: &Budget) -> String {
    format!("provider:{provider}:{}", b.period_text)
}

impl Router {
    fn budgets_of<'a>(&'a self, d: &'a Deployment) -> impl Iterator<Item = Applies<'a>> {
        let provider = self
            .inner
            .config
            .provider_budgets
            .iter()
            .find(|(p, _)| *p == d.provider)
            .map(|(p, b)| Applies {
                name: provider_budget_name(p, b),
                budget: b,
                provider: Some(p.as_str()),
            });
        let own = d.budget.as_ref().map(|b| Applies {
            name: deployment_budget_name(d, b),
            budget: b,
            provider: None,
        });
        provider.into_iter().chain(own)
    }

    fn has_budgets(&self, serving: &[&Rc<Deployment>]) -> bool {
        !self.inner.config.provider_budgets.is_empty() || serving.iter().any(|d| d.budget.is_some())
    }

    /// `(spend, window end)` of one budget now, across instances when a store is attached.
    fn budget_state(&self, a: &Applies<'_>, now: f64) -> (f64, Option<f64>) {
        let live = self
            .inner
            .budgets
            .borrow()
            .live(&a.name, a.budget, a.provider.is_some(), now);
        let local = live.map_or(0.0, |w| w.spend);
        match self.shared() {
            None => (local, live.map(|w| w.end_ms)),
            Some(s) => {
                let spend = s.spend(&a.name, local);
                let reset = live
                    .map(|w| w.end_ms)
                    .or_else(|| s.spend_reset(&a.name, now));
                (spend, reset)
            }
        }
    }

    /// Whether `d` has spent a budget: `Some(why)` (LiteLLM's wording) and the window's end.
    pub(super) fn over_budget_info(
        &self,
        d: &Deployment,
        now: f64,
    ) -> Option<(String, Option<f64>)> {
        for a in self.budgets_of(d) {
            // A limit of 0 is no limit, as in LiteLLM.
            if a.budget.limit <= 0.0 {
                continue;
            }
            let (spend, reset) = self.budget_state(&a, now);
            if spend >= a.budget.limit {
                let why = match a.provider {
                    Some(p) => format!(
                        "Exceeded budget for provider {p}: {spend} >= {}",
                        a.budget.limit
                    ),
                    None => format!(
                        "Exceeded budget for deployment model_name: {}, litellm_params.model: {}/{}, model_id: {}: {spend} >= {}",
                        d.model_group, d.provider, d.model, d.id, a.budget.limit
                    ),
                };
                return Some((why, reset));
            }
        }
        None
    }

    /// Whether `d` is out of rotation for its budget.
    pub(super) fn over_budget(&self, d: &Deployment) -> bool {
        (!self.inner.config.provider_budgets.is_empty() || d.budget.is_some())
            && self.over_budget_info(d, self.now()).is_some()
    }

    /// Drops the deployments that spent a budget; every one of them spent is a
    /// `NoDeploymentsAvailableError` ("No deployments available - crossed budget: ...").
    pub(super) fn within_budget<'d>(
        &self,
        healthy: Vec<&'d Rc<Deployment>>,
        group: &str,
    ) -> Result<Vec<&'d Rc<Deployment>>, LlmError> {
        if !self.has_budgets(&healthy) {
            return Ok(healthy);
        }
        let now = self.now();
        let mut within = Vec::with_capacity(healthy.len());
        let mut reasons = Vec::new();
        let mut soonest = f64::INFINITY;
        for d in healthy {
            match self.over_budget_info(d, now) {
                None => within.push(d),
                Some((why, reset)) => {
                    reasons.push(why);
                    if let Some(t) = reset {
                        soonest = soonest.min(t);
                    }
                }
            }
        }
        if !within.is_empty() {
            return Ok(within);
        }
        let mut e = LlmError::new(
            ErrorKind::NoDeploymentsAvailableError,
            format!(
                "No deployments available - crossed budget: {}",
                reasons.join("\n")
            ),
        );
        if soonest.is_finite() {
            e = e.with_retry_after(Some((soonest - now).max(0.0).ceil() as u64));
        }
        e.model_group = Some(group.to_string());
        Err(e)
    }

    /// Books an answer's cost on the budgets of the deployment that gave it.
    pub(super) fn book_spend(&self, d: &Deployment, cost: Option<f64>) {
        let Some(usd) = cost.filter(|c| c.is_finite() && *c > 0.0) else {
            return;
        };
        let now = self.now();
        for a in self.budgets_of(d) {
            self.inner
                .budgets
                .borrow_mut()
                .book(&a.name, a.budget, a.provider.is_some(), usd, now);
            if let Some(s) = self.shared() {
                s.add_spend(&a.name, usd, a.budget.period.window_ms(now));
            }
        }
    }

    /// The budgets the shared snapshot reads (empty without budgets).
    pub(super) fn budget_names(&self) -> Vec<String> {
        let table = self.table();
        let mut names: Vec<String> = self
            .inner
            .config
            .provider_budgets
            .iter()
            .map(|(p, b)| provider_budget_name(p, b))
            .collect();
        for d in table.deployments() {
            if let Some(b) = &d.budget {
                names.push(deployment_budget_name(d, b));
            }
        }
        names
    }

    /// `{ deployments: { id: budget }, providers: { name: budget } }` with each budget's
    /// `spend`, `max_budget`, `budget_duration` and `resets_at_ms` (null: no window open).
    pub fn budget_report(&self) -> Value {
        let now = self.now();
        let entry = |a: &Applies<'_>| {
            let (spend, reset) = self.budget_state(a, now);
            crate::obj! {
                "spend": spend, "max_budget": a.budget.limit,
                "budget_duration": a.budget.period_text.clone(), "resets_at_ms": reset,
            }
        };
        let mut deployments = Map::new();
        let mut providers = Map::new();
        let table = self.table();
        for d in table.deployments() {
            if let Some(b) = &d.budget {
                let a = Applies {
                    name: deployment_budget_name(d, b),
                    budget: b,
                    provider: None,
                };
                deployments.insert(d.id.clone(), entry(&a));
            }
        }
        for (p, b) in &self.inner.config.provider_budgets {
            let a = Applies {
                name: provider_budget_name(p, b),
                budget: b,
                provider: Some(p.as_str()),
            };
            providers.insert(p.clone(), entry(&a));
        }
        crate::obj! { "deployments": deployments, "providers": providers }
    }
}
