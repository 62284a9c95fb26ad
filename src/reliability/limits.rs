//! Per-deployment capacity: requests and tokens in the current minute (for `rpm`/`tpm`
//! pre-call checks) and a wake-up signal for requests waiting on `max_parallel_requests`.

use crate::hash::{with_slot, FxHashMap};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

const MINUTE_MS: f64 = 60_000.0;

#[derive(Debug, Clone, Copy, Default)]
struct Window {
    minute: i64,
    requests: u64,
    tokens: u64,
}

/// Requests sent and tokens used per deployment in the current clock minute.
#[derive(Debug, Default)]
pub struct MinuteUsage {
    windows: FxHashMap<String, Window>,
}

fn minute_of(now_ms: f64) -> i64 {
    (now_ms / MINUTE_MS).floor() as i64
}

impl MinuteUsage {
    /// `f` applied to the deployment's window for the minute of `now_ms` (a new minute
    /// starts it from zero).
    fn update(&mut self, id: &str, now_ms: f64, f: &mut dyn FnMut(&mut Window)) {
        let minute = minute_of(now_ms);
        with_slot(&mut self.windows, id, &Window::default, &mut |w| {
            if w.minute != minute {
                *w = Window {
                    minute,
                    ..Window::default()
                };
            }
            f(w)
        });
    }

    pub fn record_request(&mut self, id: &str, now_ms: f64) {
        self.update(id, now_ms, &mut |w| w.requests += 1);
    }

    pub fn record_tokens(&mut self, id: &str, tokens: u64, now_ms: f64) {
        self.update(id, now_ms, &mut |w| {
            w.tokens = w.tokens.saturating_add(tokens)
        });
    }

    /// `(requests, tokens)` of the deployment in the minute containing `now_ms`.
    pub fn current(&self, id: &str, now_ms: f64) -> (u64, u64) {
        self.windows
            .get(id)
            .filter(|w| w.minute == minute_of(now_ms))
            .map_or((0, 0), |w| (w.requests, w.tokens))
    }

    /// Milliseconds until the next minute starts (when rpm/tpm windows reset).
    pub fn ms_to_next_minute(now_ms: f64) -> u64 {
        let next = (minute_of(now_ms) + 1) as f64 * MINUTE_MS;
        (next - now_ms).max(0.0).ceil() as u64
    }

    pub fn forget(&mut self, id: &str) {
        self.windows.remove(id);
    }
}

/// Wakes requests waiting for a free parallel slot whenever any request finishes.
#[derive(Debug, Default)]
pub struct SlotSignal {
    generation: Cell<u64>,
    waiters: RefCell<Vec<Waker>>,
}

impl SlotSignal {
    pub fn notify(&self) {
        self.generation.set(self.generation.get().wrapping_add(1));
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        for w in waiters {
            w.wake();
        }
    }

    /// Resolves at the next `notify` after this call.
    pub fn changed(&self) -> SlotChanged<'_> {
        SlotChanged {
            signal: self,
            seen: self.generation.get(),
        }
    }
}

pub struct SlotChanged<'a> {
    signal: &'a SlotSignal,
    seen: u64,
}

impl Future for SlotChanged<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.signal.generation.get() != self.seen {
            return Poll::Ready(());
        }
        self.signal.waiters.borrow_mut().push(cx.waker().clone());
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_reset_at_the_minute_boundary() {
        let mut usage = MinuteUsage::default();
        usage.record_request("a", 59_000.0);
        usage.record_tokens("a", 100, 59_500.0);
        assert_eq!(usage.current("a", 59_999.0), (1, 100));
        assert_eq!(usage.current("a", 60_000.0), (0, 0));
        usage.record_request("a", 60_001.0);
        assert_eq!(usage.current("a", 60_002.0), (1, 0));
        assert_eq!(MinuteUsage::ms_to_next_minute(59_000.0), 1_000);
    }

    #[test]
    fn slot_signal_resolves_only_after_a_notify() {
        let signal = SlotSignal::default();
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut fut = Box::pin(signal.changed());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        signal.notify();
        assert!(fut.as_mut().poll(&mut cx).is_ready());
    }
}
