//! The router's side of shared state (`src/state.rs`): what it queues for the store, and how
//! the remote snapshot enters its decisions. Every hook is synchronous; the store is only
//! reached from background syncs (or `sync_state`, which a host awaits on purpose).

use super::Router;
use crate::ports::Spawner;
use crate::state::{Counter, SharedState, StateStore};
use std::rc::Rc;

impl Router {
    /// Shares cooldowns, usage and latency through `store`; background syncs run on `spawner`.
    /// Uses the `state_prefix` and `state_sync_interval_ms` options.
    pub fn attach_state(&self, store: Rc<dyn StateStore>, spawner: Rc<dyn Spawner>) {
        let ports = &self.inner.ports;
        let shared = SharedState::new(
            store,
            spawner,
            Rc::clone(&ports.clock),
            Rc::clone(&ports.sleeper),
            Rc::clone(&ports.logger),
            &self.inner.config.state,
        );
        shared.set_budgets(self.budget_names());
        *self.inner.shared.borrow_mut() = Some(Rc::new(shared));
    }

    pub(super) fn shared(&self) -> Option<Rc<SharedState>> {
        self.inner.shared.borrow().clone()
    }

    fn routed_ids(&self) -> Vec<String> {
        self.table()
            .deployments()
            .iter()
            .map(|d| d.id.clone())
            .collect()
    }

    /// Per request: applies cooldowns seen in the last snapshot and starts a background sync
    /// when the last one is older than the sync interval. Never waits.
    pub(super) fn state_tick(&self) {
        let Some(shared) = self.shared() else {
            return;
        };
        self.apply_remote_cooldowns(&shared);
        if shared.sync_due() {
            shared.set_budgets(self.budget_names());
        }
        shared.maybe_sync(&self.routed_ids());
    }

    /// Whether the first routing decision is still waiting for the first snapshot (asks for
    /// it on the first call): the JS host awaits [`Router::await_first_sync`] while it is.
    pub fn first_sync_pending(&self) -> bool {
        self.shared()
            .is_some_and(|s| s.first_sync_wait(&self.routed_ids()).is_some())
    }

    /// Before the first routing decision: waits for the first snapshot of the shared state,
    /// at most `state_first_sync_timeout_ms` after it was asked for (fail-open: a store that
    /// does not answer by then is routed around with local state).
    pub async fn await_first_sync(&self) {
        let Some(shared) = self.shared() else {
            return;
        };
        let Some(wait_ms) = shared.first_sync_wait(&self.routed_ids()) else {
            return;
        };
        let arrived = Box::pin(shared.first_synced());
        let expired = self.inner.ports.sleeper.sleep(wait_ms);
        if let futures_util::future::Either::Right(_) =
            futures_util::future::select(arrived, expired).await
        {
            shared.give_up_first_sync();
        }
        self.apply_remote_cooldowns(&shared);
    }

    fn apply_remote_cooldowns(&self, shared: &SharedState) {
        let marks = shared.remote_cooldowns(self.now());
        if marks.is_empty() {
            return;
        }
        let mut book = self.inner.cooldowns.borrow_mut();
        for (id, until) in marks {
            book.mark(&id, until);
        }
    }

    /// Flushes queued deltas and reads the snapshot now (`router.syncState()` in JS).
    /// Resolves once done; a store failure is logged, never returned.
    pub async fn sync_state(&self) {
        let Some(shared) = self.shared() else {
            return;
        };
        shared.sync_ids(&self.routed_ids()).await;
        self.apply_remote_cooldowns(&shared);
    }

    /// `{ syncs, store_failures, store_down, pending_keys }`, or None without a store.
    pub fn state_report(&self) -> Option<serde_json::Value> {
        self.shared().map(|s| s.report())
    }

    pub(super) fn share_request(&self, id: &str, now: f64) {
        if let Some(shared) = self.shared() {
            shared.add(Counter::Requests, id, 1.0, now);
            shared.add_in_flight(id, 1.0);
        }
    }

    pub(super) fn share_request_end(&self, id: &str) {
        if let Ok(shared) = self.inner.shared.try_borrow() {
            if let Some(shared) = shared.as_ref() {
                shared.add_in_flight(id, -1.0);
            }
        }
    }

    pub(super) fn share_tokens(&self, id: &str, tokens: u64, now: f64) {
        if let Some(shared) = self.shared() {
            shared.add(Counter::Tokens, id, tokens as f64, now);
        }
    }

    pub(super) fn share_latency(&self, id: &str, latency_ms: f64, now: f64) {
        if let Some(shared) = self.shared() {
            shared.add(Counter::LatencySum, id, latency_ms.round(), now);
            shared.add(Counter::LatencyCount, id, 1.0, now);
        }
    }

    /// Failures of `id` this minute counted by other instances (0 without a store).
    pub(super) fn failures_elsewhere(&self, id: &str, local: u32, now: f64) -> u32 {
        self.shared().map_or(0, |s| {
            let global = s.minute_count(Counter::Failures, id, u64::from(local), now);
            u32::try_from(global.saturating_sub(u64::from(local))).unwrap_or(u32::MAX)
        })
    }

    pub(super) fn share_failure(&self, id: &str, now: f64, cooldown_until: Option<f64>) {
        if let Some(shared) = self.shared() {
            shared.add(Counter::Failures, id, 1.0, now);
            if let Some(until) = cooldown_until {
                shared.mark_cooldown(id, until, now);
            }
        }
    }

    /// `(requests, tokens)` of `id` this minute across instances, given this one's own.
    pub(super) fn global_minute(&self, id: &str, local: (u64, u64), now: f64) -> (u64, u64) {
        match self.shared() {
            None => local,
            Some(s) => (
                s.minute_count(Counter::Requests, id, local.0, now),
                s.minute_count(Counter::Tokens, id, local.1, now),
            ),
        }
    }

    /// Requests in flight to `id` across instances, given this one's own.
    pub(super) fn global_in_flight(&self, id: &str, local: u64) -> u64 {
        self.shared().map_or(local, |s| s.in_flight(id, local))
    }

    /// Mean latency of `id` across instances, when the store has samples of it.
    pub(super) fn global_latency(&self, id: &str, now: f64) -> Option<f64> {
        self.shared().and_then(|s| s.mean_latency(id, now))
    }
}
