//! Deployment selection: one entry, [`pick`], for every `routing_strategy`.
//!
//! A strategy sees the eligible pool (health, budgets, limits and pins already applied by the
//! router) and asks the router only for the signal it ranks by, through [`Signals`]:
//! `simple-shuffle` reads the deployments' weights, the others one number per deployment.

pub mod shuffle;
pub mod strategy;

use crate::config::{Deployment, RoutingStrategy};

/// What the router knows about a deployment now, asked for lazily by the strategy that
/// needs it (so `least-busy` never computes latencies, `simple-shuffle` nothing at all).
pub trait Signals {
    /// Requests in flight (across isolates when a shared store is attached).
    fn in_flight(&self, d: &Deployment) -> u64;
    /// Tokens booked this minute.
    fn minute_tokens(&self, d: &Deployment) -> u64;
    /// Mean latency of the samples younger than `ttl_ms`; `None` before the first sample.
    fn latency_ms(&self, d: &Deployment, ttl_ms: u64) -> Option<f64>;
    /// Input + output price per token; `None` when unpriced.
    fn cost_per_token(&self, d: &Deployment) -> Option<f64>;
}

/// Picks an index into `pool` by `strategy`; `random` is uniform in `[0, 1)` and breaks
/// ties. `None` only for an empty pool.
pub fn pick(
    strategy: RoutingStrategy,
    pool: &[&Deployment],
    signals: &dyn Signals,
    random: f64,
) -> Option<usize> {
    match strategy {
        RoutingStrategy::SimpleShuffle => shuffle::pick(pool, random),
        ranked => strategy::pick_lowest(ranked, pool, signals, random),
    }
}
