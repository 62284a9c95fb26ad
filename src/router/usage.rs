//! Usage counters per deployment and per model group: requests, outcomes, retries,
//! fallbacks, tokens, cost, in-flight requests and latency percentiles.

use crate::cost::TokenUsage;
use crate::hash::{with_slot, FxHashMap};
use crate::types::object::Put;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{HashMap, VecDeque};

/// Latency samples kept per deployment or group (the most recent ones).
const LATENCY_WINDOW: usize = 1024;

/// The most recent latency samples, for percentiles.
#[derive(Debug, Clone, Default)]
pub struct LatencyWindow {
    samples: VecDeque<f64>,
}

impl LatencyWindow {
    pub fn push(&mut self, ms: f64) {
        if self.samples.len() == LATENCY_WINDOW {
            self.samples.pop_front();
        }
        self.samples.push_back(ms);
    }

    /// Nearest-rank percentiles `{p50, p95, p99}` in ms; nulls when there is no sample.
    pub fn percentiles(&self) -> Value {
        let mut sorted: Vec<f64> = self.samples.iter().copied().collect();
        crate::sort::sort_by(&mut sorted, f64::total_cmp);
        let rank = |p: f64| -> Value {
            if sorted.is_empty() {
                return Value::Null;
            }
            let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
            sorted
                .get(i)
                .map_or(Value::Null, |v| Value::from((v * 10.0).round() / 10.0))
        };
        crate::obj! {"p50": rank(0.50), "p95": rank(0.95), "p99": rank(0.99)}
    }
}

/// Upper bounds (seconds) of the latency histograms: LiteLLM's `LATENCY_BUCKETS`
/// (litellm/types/integrations/prometheus.py, 1.110.2); `+Inf` is implied.
pub const LATENCY_BUCKETS_S: [f64; 17] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 420.0,
    600.0,
];

/// A cumulative latency histogram over [`LATENCY_BUCKETS_S`] (for Prometheus): fixed size.
#[derive(Debug, Clone, Default)]
pub struct LatencyHistogram {
    /// Observations per bucket (not cumulative); the last slot counts those above every bound.
    counts: [u64; LATENCY_BUCKETS_S.len() + 1],
    sum_s: f64,
}

impl LatencyHistogram {
    pub fn observe_ms(&mut self, ms: f64) {
        if !ms.is_finite() || ms < 0.0 {
            return;
        }
        let s = ms / 1000.0;
        let i = LATENCY_BUCKETS_S
            .iter()
            .position(|le| s <= *le)
            .unwrap_or(LATENCY_BUCKETS_S.len());
        if let Some(c) = self.counts.get_mut(i) {
            *c += 1;
        }
        self.sum_s += s;
    }

    /// `{ le: [bounds], counts: [cumulative count per bound], count, sum }` (seconds).
    pub fn to_json(&self) -> Value {
        let mut running = 0u64;
        let cumulative: Vec<u64> = self
            .counts
            .iter()
            .take(LATENCY_BUCKETS_S.len())
            .map(|c| {
                running += c;
                running
            })
            .collect();
        let count: u64 = self.counts.iter().sum();
        crate::obj! {"le": LATENCY_BUCKETS_S, "counts": cumulative, "count": count, "sum": self.sum_s}
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DeploymentUsage {
    pub model_group: String,
    /// Upstream calls made to the deployment.
    pub requests: u64,
    pub successes: u64,
    pub failures: u64,
    pub failures_by_kind: HashMap<String, u64>,
    /// Calls answered from the cache with an answer this deployment produced.
    pub cache_hits: u64,
    pub in_flight: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost: f64,
    pub total_latency_ms: f64,
    #[serde(skip)]
    pub latency: LatencyWindow,
    /// Streams answered.
    pub streams: u64,
    /// Time to the first chunk of streams.
    #[serde(skip)]
    pub ttft: LatencyWindow,
    /// Times the deployment entered a cooldown.
    pub cooldowns: u64,
    /// Histograms of the answering exchanges' latency and of streams' time to first chunk.
    #[serde(skip)]
    pub latency_histogram: LatencyHistogram,
    #[serde(skip)]
    pub ttft_histogram: LatencyHistogram,
    /// Recent `(at_ms, latency_ms)` samples for latency-based routing (failures included
    /// as penalties).
    #[serde(skip)]
    pub recent: VecDeque<(f64, f64)>,
}

/// Counters of router calls per requested model group.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GroupUsage {
    /// Calls made to the group (`completion`, `embedding`, …).
    pub requests: u64,
    pub successes: u64,
    pub failures: u64,
    pub failures_by_kind: HashMap<String, u64>,
    /// Retries within groups made for calls to this group.
    pub retries: u64,
    /// Calls answered by a fallback group.
    pub fallbacks: u64,
    pub cache_hits: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost: f64,
    #[serde(skip)]
    pub latency: LatencyWindow,
    /// Histogram of answered calls' whole latency (retries and fallbacks included).
    #[serde(skip)]
    pub latency_histogram: LatencyHistogram,
}

/// Requested model names counted one by one (`getUsageStats().model_groups`, the metrics'
/// `model_group` label). A caller chooses the name, so past this many the calls naming a
/// name not yet counted are counted together under [`OTHER_GROUPS`].
pub const MAX_GROUPS: usize = 1024;

/// The entry that counts the calls of every requested name past [`MAX_GROUPS`].
pub const OTHER_GROUPS: &str = "__other__";

/// One more failure of class `kind`.
fn count_kind(by_kind: &mut HashMap<String, u64>, kind: &str) {
    with_slot(by_kind, kind, &u64::default, &mut |n| *n += 1);
}

#[derive(Debug, Default)]
pub struct UsageBook {
    by_deployment: FxHashMap<String, DeploymentUsage>,
    by_group: FxHashMap<String, GroupUsage>,
}

/// How one router call ended, for the group counters.
pub struct CallOutcome<'a> {
    pub group: &'a str,
    pub error_kind: Option<&'a str>,
    pub retries: u32,
    pub fell_back: bool,
    pub usage: Option<TokenUsage>,
    pub cost: Option<f64>,
    pub latency_ms: f64,
}

impl UsageBook {
    /// `f` applied to the deployment's counters (made, under `group`, on its first use).
    fn update(&mut self, id: &str, group: &str, f: &mut dyn FnMut(&mut DeploymentUsage)) {
        let make = || DeploymentUsage {
            model_group: group.to_string(),
            ..DeploymentUsage::default()
        };
        with_slot(&mut self.by_deployment, id, &make, f);
    }

    pub fn started(&mut self, id: &str, group: &str) {
        self.update(id, group, &mut |u| {
            u.requests += 1;
            u.in_flight += 1;
        });
    }

    /// A stream's first chunk arrived `ttft_ms` after its request.
    pub fn first_chunk(&mut self, id: &str, group: &str, ttft_ms: f64) {
        self.update(id, group, &mut |u| {
            u.streams += 1;
            u.ttft.push(ttft_ms);
            u.ttft_histogram.observe_ms(ttft_ms);
        });
    }

    pub fn finished(&mut self, id: &str, group: &str) {
        self.update(id, group, &mut |u| {
            u.in_flight = u.in_flight.saturating_sub(1);
        });
    }

    pub fn succeeded(
        &mut self,
        id: &str,
        group: &str,
        usage: Option<TokenUsage>,
        cost: Option<f64>,
        latency_ms: f64,
    ) {
        self.update(id, group, &mut |u| {
            u.successes += 1;
            u.total_latency_ms += latency_ms;
            u.latency.push(latency_ms);
            u.latency_histogram.observe_ms(latency_ms);
            if let Some(t) = usage {
                u.prompt_tokens = u.prompt_tokens.saturating_add(t.prompt_tokens);
                u.completion_tokens = u.completion_tokens.saturating_add(t.completion_tokens);
            }
            u.cost += cost.unwrap_or(0.0);
        });
    }

    /// Adds a latency sample for latency-based routing, keeping the last `cap`.
    pub fn record_latency(
        &mut self,
        id: &str,
        group: &str,
        at_ms: f64,
        latency_ms: f64,
        cap: usize,
    ) {
        self.update(id, group, &mut |u| {
            while u.recent.len() >= cap.max(1) {
                u.recent.pop_front();
            }
            u.recent.push_back((at_ms, latency_ms));
        });
    }

    /// Average of the deployment's samples taken within `ttl_ms` of `now_ms`.
    pub fn recent_latency(&self, id: &str, now_ms: f64, ttl_ms: u64) -> Option<f64> {
        let u = self.by_deployment.get(id)?;
        let fresh: Vec<f64> = u
            .recent
            .iter()
            .filter(|(at, _)| now_ms - at <= ttl_ms as f64)
            .map(|(_, ms)| *ms)
            .collect();
        (!fresh.is_empty()).then(|| fresh.iter().sum::<f64>() / fresh.len() as f64)
    }

    pub fn failed(&mut self, id: &str, group: &str, kind: &str) {
        self.update(id, group, &mut |u| {
            u.failures += 1;
            count_kind(&mut u.failures_by_kind, kind);
        });
    }

    /// The deployment entered a cooldown.
    pub fn cooled_down(&mut self, id: &str, group: &str) {
        self.update(id, group, &mut |u| u.cooldowns += 1);
    }

    /// The counters of the requested name `group`, or the shared [`OTHER_GROUPS`] ones when
    /// [`MAX_GROUPS`] names are counted already.
    fn update_group(&mut self, group: &str, f: &mut dyn FnMut(&mut GroupUsage)) {
        let name = if self.by_group.len() < MAX_GROUPS || self.by_group.contains_key(group) {
            group
        } else {
            OTHER_GROUPS
        };
        with_slot(&mut self.by_group, name, &GroupUsage::default, f);
    }

    /// Records a finished router call against the requested group.
    pub fn call_finished(&mut self, outcome: CallOutcome<'_>) {
        self.update_group(outcome.group, &mut |g| {
            g.requests += 1;
            g.retries += u64::from(outcome.retries);
            g.latency.push(outcome.latency_ms);
            match outcome.error_kind {
                None => {
                    g.successes += 1;
                    g.latency_histogram.observe_ms(outcome.latency_ms);
                }
                Some(kind) => {
                    g.failures += 1;
                    count_kind(&mut g.failures_by_kind, kind);
                }
            }
            if outcome.fell_back {
                g.fallbacks += 1;
            }
            if let Some(t) = outcome.usage {
                g.prompt_tokens = g.prompt_tokens.saturating_add(t.prompt_tokens);
                g.completion_tokens = g.completion_tokens.saturating_add(t.completion_tokens);
            }
            g.cost += outcome.cost.unwrap_or(0.0);
        });
    }

    /// Counts a call answered from the cache against its group and, when it is still in
    /// the table, the deployment that produced the cached answer.
    /// `deployment`: `(id, its model group)`.
    pub fn cache_hit(&mut self, group: &str, deployment: Option<(&str, &str)>) {
        self.update_group(group, &mut |g| g.cache_hits += 1);
        if let Some((id, deployment_group)) = deployment {
            self.update(id, deployment_group, &mut |u| u.cache_hits += 1);
        }
    }

    /// Zeroes every cost counter (`resetCost()`); other counters stay.
    pub fn reset_cost(&mut self) {
        for u in self.by_deployment.values_mut() {
            u.cost = 0.0;
        }
        for g in self.by_group.values_mut() {
            g.cost = 0.0;
        }
    }

    pub fn forget(&mut self, id: &str) {
        self.by_deployment.remove(id);
    }

    pub fn get(&self, id: &str) -> Option<&DeploymentUsage> {
        self.by_deployment.get(id)
    }

    pub fn all(&self) -> &FxHashMap<String, DeploymentUsage> {
        &self.by_deployment
    }

    pub fn groups(&self) -> &FxHashMap<String, GroupUsage> {
        &self.by_group
    }

    /// `{ deployments: { id: {…} }, model_groups: { group: {…} } }`, with latency
    /// percentiles; `cooldown_until` gives each deployment's cooldown end (epoch ms) or None.
    pub fn report(&self, cooldown_until: impl Fn(&str) -> Option<f64>) -> Value {
        let mut deployments = Map::new();
        let mut in_flight_by_group: HashMap<&str, u64> = HashMap::new();
        let mut ids: Vec<&String> = self.by_deployment.keys().collect();
        crate::sort::sort(&mut ids);
        for id in ids {
            let Some(u) = self.by_deployment.get(id) else {
                continue;
            };
            *in_flight_by_group
                .entry(u.model_group.as_str())
                .or_default() += u.in_flight;
            let mut v = serde_json::to_value(u).unwrap_or(Value::Null);
            if let Value::Object(m) = &mut v {
                m.put("latency_ms", u.latency.percentiles());
                m.put("time_to_first_token_ms", u.ttft.percentiles());
                m.put("latency_histogram", u.latency_histogram.to_json());
                m.put("ttft_histogram", u.ttft_histogram.to_json());
                m.insert(
                    "cooldown_until_ms".into(),
                    cooldown_until(id).map_or(Value::Null, Value::from),
                );
            }
            deployments.insert(id.clone(), v);
        }
        let mut groups = Map::new();
        let mut names: Vec<&String> = self.by_group.keys().collect();
        crate::sort::sort(&mut names);
        for name in names {
            let Some(g) = self.by_group.get(name) else {
                continue;
            };
            let mut v = serde_json::to_value(g).unwrap_or(Value::Null);
            if let Value::Object(m) = &mut v {
                m.put("latency_ms", g.latency.percentiles());
                m.put("latency_histogram", g.latency_histogram.to_json());
                m.insert(
                    "in_flight".into(),
                    Value::from(in_flight_by_group.get(name.as_str()).copied().unwrap_or(0)),
                );
            }
            groups.insert(name.clone(), v);
        }
        crate::obj! {"deployments": deployments, "model_groups": groups}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requested_names_past_the_ceiling_are_counted_together() {
        let mut book = UsageBook::default();
        fn outcome(group: &str) -> CallOutcome<'_> {
            CallOutcome {
                group,
                error_kind: Some("bad_request"),
                retries: 0,
                fell_back: false,
                usage: None,
                cost: None,
                latency_ms: 1.0,
            }
        }
        for i in 0..MAX_GROUPS + 10 {
            book.call_finished(outcome(&format!("nope-{i}")));
        }
        book.cache_hit("nope-new", None);
        book.call_finished(outcome("nope-0"));
        assert_eq!(book.groups().len(), MAX_GROUPS + 1);
        assert_eq!(book.groups()[OTHER_GROUPS].requests, 10);
        assert_eq!(book.groups()[OTHER_GROUPS].cache_hits, 1);
        assert_eq!(
            book.groups()["nope-0"].requests,
            2,
            "a counted name keeps its own entry"
        );
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut w = LatencyWindow::default();
        for ms in 1..=100 {
            w.push(f64::from(ms));
        }
        assert_eq!(
            w.percentiles(),
            json!({"p50": 50.0, "p95": 95.0, "p99": 99.0})
        );
        assert_eq!(
            LatencyWindow::default().percentiles(),
            json!({"p50": null, "p95": null, "p99": null})
        );
    }

    #[test]
    fn latency_histogram_is_cumulative_over_litellm_buckets() {
        let mut h = LatencyHistogram::default();
        for ms in [3.0, 10.0, 700.0, 700_000.0] {
            h.observe_ms(ms);
        }
        h.observe_ms(f64::NAN);
        let v = h.to_json();
        let counts: Vec<u64> = serde_json::from_value(v["counts"].clone()).unwrap();
        assert_eq!(counts.len(), LATENCY_BUCKETS_S.len());
        assert_eq!(counts.first(), Some(&1)); // <= 5 ms
        assert_eq!(counts.get(1), Some(&2)); // <= 10 ms
        assert_eq!(counts.get(7), Some(&3)); // <= 1 s
        assert_eq!(counts.last(), Some(&3)); // 700 s is above 600 s: only in +Inf
        assert_eq!(v["count"], json!(4));
        assert!((v["sum"].as_f64().unwrap() - 700.713).abs() < 1e-9);
    }

    #[test]
    fn latency_window_keeps_the_most_recent_samples() {
        let mut w = LatencyWindow::default();
        for _ in 0..LATENCY_WINDOW {
            w.push(1000.0);
        }
        for _ in 0..LATENCY_WINDOW {
            w.push(1.0);
        }
        assert_eq!(w.percentiles().get("p99"), Some(&json!(1.0)));
    }
}
