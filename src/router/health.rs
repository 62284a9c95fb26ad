//! `healthCheck()`: the cheapest real probe each deployment's mode allows, sent directly to
//! the deployment (no retries, no fallbacks, no effect on cooldowns or usage counters).

use super::{Call, CallOptions, Router};
use crate::config::{Deployment, Mode};
use crate::types::object::Put;
use crate::types::Endpoint;
use futures_util::future::join_all;
use serde_json::{Map, Value};
use std::rc::Rc;

/// Probes in flight at once.
const CONCURRENCY: usize = 8;
/// Upper bound on one probe, whatever the deployment's own timeout.
const MAX_PROBE_MS: u64 = 60_000;

/// The probe for a mode: endpoint and body, or `None` when llmux does not probe it.
fn probe(mode: Option<Mode>) -> Option<(Endpoint, Value)> {
    match mode {
        None | Some(Mode::Chat) => Some((
            Endpoint::ChatCompletion,
            crate::obj! {"messages": vec![crate::obj!{"role": "user", "content": "ping"}], "max_tokens": 1},
        )),
        Some(Mode::Completion) => Some((
            Endpoint::TextCompletion,
            crate::obj! {"prompt": "ping", "max_tokens": 1},
        )),
        Some(Mode::Embedding) => Some((Endpoint::Embedding, crate::obj! {"input": "ping"})),
        Some(Mode::Rerank) => Some((
            Endpoint::Rerank,
            crate::obj! {"query": "ping", "documents": vec!["ping"], "top_n": 1},
        )),
        _ => None,
    }
}

enum Outcome {
    Healthy,
    Unhealthy(String, Option<u16>),
    Skipped(&'static str),
}

impl Router {
    /// LiteLLM's `ahealth_check` shape: `healthy_endpoints`, `unhealthy_endpoints` (each the
    /// redacted `litellm_params` plus `model_id`, `model_name`, and `error` when unhealthy),
    /// `healthy_count`, `unhealthy_count`, and llmux's `skipped_endpoints` for modes it does
    /// not probe.
    pub async fn health_check(&self, group: Option<&str>) -> Value {
        let table = self.table();
        let targets: Vec<Rc<Deployment>> = table
            .deployments()
            .iter()
            .filter(|d| group.is_none_or(|g| d.model_group == g))
            .cloned()
            .collect();
        let mut outcomes = Vec::with_capacity(targets.len());
        for chunk in targets.chunks(CONCURRENCY) {
            outcomes.extend(join_all(chunk.iter().map(|d| self.probe_one(d))).await);
        }
        let (mut healthy, mut unhealthy, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
        for (d, outcome) in targets.iter().zip(outcomes) {
            match &outcome {
                Outcome::Healthy => self.record_health(d, true, None),
                Outcome::Unhealthy(_, status) => self.record_health(d, false, *status),
                Outcome::Skipped(_) => {}
            }
            let mut entry = match d.redacted().get("litellm_params") {
                Some(Value::Object(m)) => m.clone(),
                _ => Map::new(),
            };
            entry.put("model_id", Value::from(d.id.clone()));
            entry.put("model_name", Value::from(d.model_group.clone()));
            match outcome {
                Outcome::Healthy => healthy.push(Value::Object(entry)),
                Outcome::Unhealthy(error, _) => {
                    entry.put("error", Value::from(error));
                    unhealthy.push(Value::Object(entry));
                }
                Outcome::Skipped(why) => {
                    entry.put("reason", Value::from(why));
                    skipped.push(Value::Object(entry));
                }
            }
        }
        self.prune_health();
        crate::obj! {
            "healthy_endpoints": healthy.clone(),
            "unhealthy_endpoints": unhealthy.clone(),
            "healthy_count": healthy.len(),
            "unhealthy_count": unhealthy.len(),
            "skipped_endpoints": skipped,
        }
    }

    async fn probe_one(&self, d: &Deployment) -> Outcome {
        if d.is_wildcard() {
            // Its model is made per request: there is no one model to probe.
            return Outcome::Skipped("a wildcard deployment (its model comes from each request)");
        }
        let Some((endpoint, body)) = probe(d.model_info.mode) else {
            return Outcome::Skipped("llmux does not probe this mode");
        };
        let Value::Object(mut body) = body else {
            return Outcome::Skipped("no probe");
        };
        body.put("model", Value::from(d.model_group.clone()));
        let timeout = d
            .timeout_ms
            .unwrap_or(self.inner.config.timeout_ms)
            .min(MAX_PROBE_MS);
        let mut call = Call::new(
            endpoint,
            body,
            CallOptions {
                model: d.model_group.clone(),
                timeout_ms: Some(timeout),
                ..CallOptions::default()
            },
        );
        match self.exchange(&mut call, d).await {
            Ok(_) => Outcome::Healthy,
            Err(e) => Outcome::Unhealthy(
                format!("{}: {}", e.kind, super::annotate(e.clone(), d).message),
                (e.status != 0).then_some(e.status),
            ),
        }
    }
}
