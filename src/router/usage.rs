//! Per-deployment counters: requests, outcomes, tokens, cost, in-flight requests.

use crate::cost::TokenUsage;
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, Default, Serialize)]
pub struct DeploymentUsage {
    pub model_group: String,
    pub requests: u64,
    pub successes: u64,
    pub failures: u64,
    pub failures_by_kind: HashMap<String, u64>,
    pub in_flight: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost: f64,
    pub total_latency_ms: f64,
}

#[derive(Debug, Default)]
pub struct UsageBook {
    by_deployment: HashMap<String, DeploymentUsage>,
}

impl UsageBook {
    fn entry(&mut self, id: &str, group: &str) -> &mut DeploymentUsage {
        self.by_deployment
            .entry(id.to_string())
            .or_insert_with(|| DeploymentUsage {
                model_group: group.to_string(),
                ..DeploymentUsage::default()
            })
    }

    pub fn started(&mut self, id: &str, group: &str) {
        let u = self.entry(id, group);
        u.requests += 1;
        u.in_flight += 1;
    }

    pub fn finished(&mut self, id: &str, group: &str) {
        let u = self.entry(id, group);
        u.in_flight = u.in_flight.saturating_sub(1);
    }

    pub fn succeeded(
        &mut self,
        id: &str,
        group: &str,
        usage: Option<TokenUsage>,
        cost: Option<f64>,
        latency_ms: f64,
    ) {
        let u = self.entry(id, group);
        u.successes += 1;
        u.total_latency_ms += latency_ms;
        if let Some(t) = usage {
            u.prompt_tokens += t.prompt_tokens;
            u.completion_tokens += t.completion_tokens;
        }
        u.cost += cost.unwrap_or(0.0);
    }

    pub fn failed(&mut self, id: &str, group: &str, kind: &str) {
        let u = self.entry(id, group);
        u.failures += 1;
        *u.failures_by_kind.entry(kind.to_string()).or_default() += 1;
    }

    pub fn get(&self, id: &str) -> Option<&DeploymentUsage> {
        self.by_deployment.get(id)
    }

    pub fn all(&self) -> &HashMap<String, DeploymentUsage> {
        &self.by_deployment
    }
}
