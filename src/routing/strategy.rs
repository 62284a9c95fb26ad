//! The strategies other than `simple-shuffle`: each picks among eligible deployments from
//! what the router knows about them now (in flight, usage this minute, latency, price).

use crate::config::RoutingStrategy;

/// What a strategy may look at for one deployment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Candidate {
    pub in_flight: u64,
    pub minute_tokens: u64,
    /// Average latency of the recent samples, `None` when there are none yet.
    pub latency_ms: Option<f64>,
    /// Input + output price per token, `None` when unpriced.
    pub cost_per_token: Option<f64>,
}

/// Picks an index; ties are broken with `random` (uniform in `[0, 1)`). `None` for
/// `SimpleShuffle` (handled by `shuffle`) or an empty list.
pub fn pick(strategy: RoutingStrategy, candidates: &[Candidate], random: f64) -> Option<usize> {
    let score: Box<dyn Fn(&Candidate) -> f64> = match strategy {
        RoutingStrategy::SimpleShuffle => return None,
        RoutingStrategy::LeastBusy => Box::new(|c| c.in_flight as f64),
        RoutingStrategy::UsageBased => Box::new(|c| c.minute_tokens as f64),
        // A deployment without samples is tried first, so every one gets measured.
        RoutingStrategy::LatencyBased { .. } => Box::new(|c| c.latency_ms.unwrap_or(0.0)),
        // Unpriced deployments come last.
        RoutingStrategy::CostBased => Box::new(|c| c.cost_per_token.unwrap_or(f64::INFINITY)),
    };
    // With every candidate unpriced (infinite), all of them tie.
    let best = candidates.iter().map(&score).fold(f64::INFINITY, f64::min);
    let limit = match strategy {
        RoutingStrategy::LatencyBased { buffer, .. } => best * (1.0 + buffer),
        _ => best,
    };
    let ties: Vec<usize> = candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| score(c) <= limit)
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
    use super::*;

    fn c(in_flight: u64, tokens: u64, latency: Option<f64>, cost: Option<f64>) -> Candidate {
        Candidate {
            in_flight,
            minute_tokens: tokens,
            latency_ms: latency,
            cost_per_token: cost,
        }
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
