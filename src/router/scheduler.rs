//! The request scheduler's queue: calls waiting for room in a saturated model group, ranked by
//! priority (lower first, as LiteLLM's `priority`), then by arrival. `dispatch.rs` decides.

use super::Router;
use std::cell::{Cell, RefCell};

/// The most calls one Router keeps waiting at once; a call past it fails at once.
pub const MAX_WAITING: usize = 10_000;

/// The longest a call waits in the queue, whatever its timeout (10 minutes).
pub const MAX_QUEUE_WAIT_MS: u64 = 600_000;

/// A call's place: its priority (`i64::MAX` without one), then its arrival.
pub type Rank = (i64, u64);

#[derive(Default)]
pub struct WaitQueue {
    waiting: RefCell<Vec<(String, Rank)>>,
    arrivals: Cell<u64>,
}

impl WaitQueue {
    /// Whether a call of `group` ranked `rank` (or, without a place yet, of `priority`) has
    /// another call of the group waiting before it.
    pub fn anyone_before(&self, group: &str, priority: i64, rank: Option<Rank>) -> bool {
        self.waiting.borrow().iter().any(|(g, r)| {
            g == group
                && match rank {
                    Some(mine) => *r < mine,
                    // A newcomer queues behind every call of its priority already waiting.
                    None => r.0 <= priority,
                }
        })
    }

    fn join(&self, group: &str, priority: i64) -> Option<Rank> {
        let mut waiting = self.waiting.borrow_mut();
        if waiting.len() >= MAX_WAITING {
            return None;
        }
        let rank = (priority, self.arrivals.get());
        self.arrivals.set(self.arrivals.get().wrapping_add(1));
        waiting.push((group.to_string(), rank));
        Some(rank)
    }

    fn leave(&self, rank: Rank) {
        if let Ok(mut waiting) = self.waiting.try_borrow_mut() {
            waiting.retain(|(_, r)| *r != rank);
        }
    }
}

/// A call's place in the queue, given up when dropped (served, failed, or its future dropped).
pub struct Ticket {
    router: Router,
    pub rank: Rank,
}

impl Ticket {
    /// Takes a place for a call of `group`; `None` when [`MAX_WAITING`] calls already wait.
    pub fn join(router: &Router, group: &str, priority: i64) -> Option<Ticket> {
        let rank = router.inner.waiting.join(group, priority)?;
        Some(Ticket {
            router: router.clone(),
            rank,
        })
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.router.inner.waiting.leave(self.rank);
        // The next call in line may go now.
        self.router.inner.slots.notify();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ranks_by_priority_then_arrival_within_a_group() {
        let q = WaitQueue::default();
        let low = q.join("g", 5).unwrap();
        let high = q.join("g", 1).unwrap();
        let other = q.join("h", 0).unwrap();
        assert!(q.anyone_before("g", 0, Some(low)));
        assert!(!q.anyone_before("g", 0, Some(high)));
        assert!(!q.anyone_before("h", 0, Some(other)));
        // A newcomer of priority 1 waits behind the one already there; of 0, it does not.
        assert!(q.anyone_before("g", 1, None));
        assert!(!q.anyone_before("g", 0, None));
        q.leave(high);
        assert!(!q.anyone_before("g", 0, Some(low)));
    }
}
