//! The ranking strategies (all but `simple-shuffle`): each scores the eligible deployments
//! by one signal, lower is better, and picks at random among the best.

use super::Signals;
use crate::config::{Deployment, RoutingStrategy};

/// The score `strategy` ranks `d` by; `None` for `simple-shuffle`, which does not rank.
fn score(strategy: RoutingStrategy, d: &Deployment, signals: &dyn Signals) -> Option<f64> {
    Some(match strategy {
        RoutingStrategy::SimpleShuffle => return None,
        RoutingStrategy::LeastBusy => signals.in_flight(d) as f64,
        RoutingStrategy::UsageBased => signals.minute_tokens(d) as f64,
        // A deployment without samples is tried first, so every one gets measured.
        RoutingStrategy::LatencyBased { ttl_ms, .. } => {
            signals.latency_ms(d, ttl_ms).unwrap_or(0.0)
        }
        // Unpriced deployments come last.
        RoutingStrategy::CostBased => signals.cost_per_token(d).unwrap_or(f64::INFINITY),
    })
}

/// Picks the index of a best-scored deployment; ties (and, for latency, everything within
/// `buffer` of the best) are broken with `random`. `None` for an empty pool or
/// `simple-shuffle`.
pub fn pick_lowest(
    strategy: RoutingStrategy,
    pool: &[&Deployment],
    signals: &dyn Signals,
    random: f64,
) -> Option<usize> {
    let scores: Vec<f64> = pool
        .iter()
        .map(|d| score(strategy, d, signals))
        .collect::<Option<_>>()?;
    // With every candidate unpriced (infinite), all of them tie.
    let best = scores.iter().copied().fold(f64::INFINITY, f64::min);
    let limit = match strategy {
        RoutingStrategy::LatencyBased { buffer, .. } => best * (1.0 + buffer),
        _ => best,
    };
    let ties: Vec<usize> = scores
        .iter()
        .enumerate()
        .filter(|(_, s)| **s <= limit)
        .map(|(i, _)| i)
        .collect();
    pick_among(&ties, random)
}

fn pick_among(indexes: &[usize], random: f64) -> Option<usize> {
    if indexes.is_empty() {
        return None;
    }
    let i = ((random.clamp(0.0, 1.0) * indexes.len() as f64) as usize).min(indexes.len() - 1);
    indexes.get(i).copied()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// One row of signals per deployment, indexed by the deployment's id.
    struct Table(Vec<(u64, u64, Option<f64>, Option<f64>)>);

    impl Table {
        fn row(&self, d: &Deployment) -> (u64, u64, Option<f64>, Option<f64>) {
            self.0[d.id.parse::<usize>().unwrap_or(0)]
        }
    }

    impl Signals for Table {
        fn in_flight(&self, d: &Deployment) -> u64 {
            self.row(d).0
        }
        fn minute_tokens(&self, d: &Deployment) -> u64 {
            self.row(d).1
        }
        fn latency_ms(&self, d: &Deployment, _ttl_ms: u64) -> Option<f64> {
            self.row(d).2
        }
        fn cost_per_token(&self, d: &Deployment) -> Option<f64> {
            self.row(d).3
        }
    }

    fn pick(
        strategy: RoutingStrategy,
        rows: &[(u64, u64, Option<f64>, Option<f64>)],
        random: f64,
    ) -> Option<usize> {
        let entry = serde_json::json!({"model_name": "g", "litellm_params": {"model": "openai/m"}});
        let deployments: Vec<Deployment> = (0..rows.len())
            .map(|i| {
                let mut d = Deployment::parse(&entry, "model_list[0]").unwrap();
                d.id = i.to_string();
                d
            })
            .collect();
        let pool: Vec<&Deployment> = deployments.iter().collect();
        super::super::pick(strategy, &pool, &Table(rows.to_vec()), random)
    }

    fn c(
        in_flight: u64,
        tokens: u64,
        latency: Option<f64>,
        cost: Option<f64>,
    ) -> (u64, u64, Option<f64>, Option<f64>) {
        (in_flight, tokens, latency, cost)
    }

    #[test]
    fn least_busy_picks_the_fewest_in_flight() {
        let cs = [
            c(3, 0, None, None),
            c(1, 0, None, None),
            c(2, 0, None, None),
        ];
        assert_eq!(pick(RoutingStrategy::LeastBusy, &cs, 0.9), Some(1));
    }

    #[test]
    fn ties_are_broken_at_random() {
        let cs = [c(1, 0, None, None), c(1, 0, None, None)];
        assert_eq!(pick(RoutingStrategy::LeastBusy, &cs, 0.1), Some(0));
        assert_eq!(pick(RoutingStrategy::LeastBusy, &cs, 0.9), Some(1));
    }

    #[test]
    fn usage_based_picks_the_fewest_tokens_this_minute() {
        let cs = [c(0, 500, None, None), c(0, 100, None, None)];
        assert_eq!(pick(RoutingStrategy::UsageBased, &cs, 0.0), Some(1));
    }

    #[test]
    fn latency_based_tries_unmeasured_first_then_the_fastest_within_the_buffer() {
        let lat = |buffer| RoutingStrategy::LatencyBased {
            ttl_ms: 1,
            buffer,
            max_samples: 10,
        };
        let cs = [c(0, 0, Some(100.0), None), c(0, 0, None, None)];
        assert_eq!(pick(lat(0.0), &cs, 0.0), Some(1));
        let cs = [
            c(0, 0, Some(100.0), None),
            c(0, 0, Some(120.0), None),
            c(0, 0, Some(300.0), None),
        ];
        assert_eq!(pick(lat(0.0), &cs, 0.99), Some(0));
        assert_eq!(
            pick(lat(0.5), &cs, 0.99),
            Some(1),
            "120 is within 50% of 100"
        );
    }

    #[test]
    fn cost_based_picks_the_cheapest_and_puts_unpriced_last() {
        let cs = [
            c(0, 0, None, None),
            c(0, 0, None, Some(2e-6)),
            c(0, 0, None, Some(1e-6)),
        ];
        assert_eq!(pick(RoutingStrategy::CostBased, &cs, 0.0), Some(2));
        let unpriced = [c(0, 0, None, None), c(0, 0, None, None)];
        assert_eq!(pick(RoutingStrategy::CostBased, &unpriced, 0.9), Some(1));
    }
}
