//! A circuit breaker around a host cache store: a store that fails, or answers slower than
//! [`SLOW_MS`], costs the requests in flight at that moment one wait, and is then bypassed
//! (every operation a miss, at once) until a single probe after a backoff succeeds.
//!
//! - **Closed**: operations pass through. A failure or a slow answer opens the circuit.
//! - **Open** until `now + backoff`: operations fail at once without touching the store.
//! - **Half-open** once the backoff has passed: the next operation is the probe (the others
//!   still fail at once). A fast success closes the circuit and resets the backoff; a failure
//!   reopens it with the backoff doubled, from [`FIRST_BACKOFF_MS`] up to [`MAX_BACKOFF_MS`].

use super::CacheBackend;
use crate::ports::{Clock, LocalFuture};
use std::cell::Cell;
use std::rc::Rc;

/// An answer slower than this counts as a failure (the store is too slow to help).
pub const SLOW_MS: f64 = 1_000.0;
/// Bypass time after the first failure.
pub const FIRST_BACKOFF_MS: f64 = 5_000.0;
/// Longest bypass between probes.
pub const MAX_BACKOFF_MS: f64 = 60_000.0;

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Closed,
    /// Bypassed until this time; then the next operation probes.
    Open {
        until_ms: f64,
    },
    /// One probe in flight.
    Probing,
}

struct Shared {
    state: Cell<State>,
    backoff_ms: Cell<f64>,
}

/// `inner` behind a circuit breaker on `clock`.
pub struct Breaker {
    inner: Rc<dyn CacheBackend>,
    clock: Rc<dyn Clock>,
    shared: Rc<Shared>,
}

impl Breaker {
    pub fn new(inner: Rc<dyn CacheBackend>, clock: Rc<dyn Clock>) -> Breaker {
        Breaker {
            inner,
            clock,
            shared: Rc::new(Shared {
                state: Cell::new(State::Closed),
                backoff_ms: Cell::new(FIRST_BACKOFF_MS),
            }),
        }
    }

    /// Whether the circuit is open (the store is being bypassed) now.
    pub fn is_open(&self) -> bool {
        !matches!(self.shared.state.get(), State::Closed)
    }

    /// Admits an operation: `Some(is_probe)`, or `None` when it must be bypassed.
    fn admit(&self) -> Option<bool> {
        match self.shared.state.get() {
            State::Closed => Some(false),
            State::Probing => None,
            State::Open { until_ms } => {
                if self.clock.now_ms() >= until_ms {
                    self.shared.state.set(State::Probing);
                    Some(true)
                } else {
                    None
                }
            }
        }
    }

    /// Runs `op` through the breaker.
    fn guard<T: 'static>(
        &self,
        op: impl FnOnce() -> LocalFuture<'static, Result<T, String>>,
    ) -> LocalFuture<'static, Result<T, String>> {
        let Some(probe) = self.admit() else {
            return Box::pin(std::future::ready(Err(
                "bypassed: the cache store failed or was slow recently (circuit open)".to_string(),
            )));
        };
        let started = self.clock.now_ms();
        let pending = op();
        let clock = Rc::clone(&self.clock);
        let shared = Rc::clone(&self.shared);
        Box::pin(async move {
            let result = pending.await;
            let now = clock.now_ms();
            let slow = now - started > SLOW_MS;
            let failed = result.is_err() || slow;
            match (shared.state.get(), probe, failed) {
                (State::Probing, true, false) => {
                    shared.state.set(State::Closed);
                    shared.backoff_ms.set(FIRST_BACKOFF_MS);
                }
                (State::Probing, true, true) => {
                    let backoff = (shared.backoff_ms.get() * 2.0).min(MAX_BACKOFF_MS);
                    shared.backoff_ms.set(backoff);
                    shared.state.set(State::Open {
                        until_ms: now + backoff,
                    });
                }
                (State::Closed, _, true) => {
                    shared.backoff_ms.set(FIRST_BACKOFF_MS);
                    shared.state.set(State::Open {
                        until_ms: now + FIRST_BACKOFF_MS,
                    });
                }
                // Already open (another operation tripped it) or a success: nothing changes.
                _ => {}
            }
            // A slow answer is still used; the circuit is open for the next ones.
            result
        })
    }
}

impl CacheBackend for Breaker {
    fn get(&self, key: &str) -> LocalFuture<'static, Result<Option<String>, String>> {
        self.guard(|| self.inner.get(key))
    }

    fn set(
        &self,
        key: &str,
        value: String,
        ttl_ms: Option<u64>,
    ) -> LocalFuture<'static, Result<(), String>> {
        self.guard(|| self.inner.set(key, value, ttl_ms))
    }

    fn delete(&self, key: &str) -> LocalFuture<'static, Result<(), String>> {
        self.guard(|| self.inner.delete(key))
    }
}
