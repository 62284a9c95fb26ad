//! The in-memory cache: least-recently-used eviction bounded in bytes, with TTL expiry on
//! the router's clock.

use super::CacheBackend;
use crate::ports::{Clock, LocalFuture};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

/// Bytes counted per entry on top of its key and value (map and order bookkeeping).
const ENTRY_OVERHEAD: u64 = 64;

struct Slot {
    value: String,
    expires_at_ms: Option<f64>,
    /// Position in the recency order (larger = used more recently).
    tick: u64,
    size: u64,
}

#[derive(Default)]
struct Lru {
    slots: HashMap<String, Slot>,
    /// tick -> key, oldest first.
    order: BTreeMap<u64, String>,
    next_tick: u64,
    bytes: u64,
}

impl Lru {
    fn remove(&mut self, key: &str) {
        if let Some(slot) = self.slots.remove(key) {
            self.order.remove(&slot.tick);
            self.bytes = self.bytes.saturating_sub(slot.size);
        }
    }

    fn tick(&mut self) -> u64 {
        self.next_tick += 1;
        self.next_tick
    }
}

/// An LRU of strings holding at most `max_bytes` of keys, values and bookkeeping.
pub struct LocalCache {
    clock: Rc<dyn Clock>,
    max_bytes: u64,
    lru: RefCell<Lru>,
}

impl LocalCache {
    pub fn new(clock: Rc<dyn Clock>, max_bytes: u64) -> LocalCache {
        LocalCache {
            clock,
            max_bytes,
            lru: RefCell::new(Lru::default()),
        }
    }

    /// The live value of `key`, marking it most recently used; expired values are dropped.
    pub fn get_now(&self, key: &str) -> Option<String> {
        let now = self.clock.now_ms();
        let mut lru = self.lru.borrow_mut();
        let expired = lru
            .slots
            .get(key)?
            .expires_at_ms
            .is_some_and(|at| now >= at);
        if expired {
            lru.remove(key);
            return None;
        }
        let tick = lru.tick();
        let slot = lru.slots.get_mut(key)?;
        let old = std::mem::replace(&mut slot.tick, tick);
        let value = slot.value.clone();
        lru.order.remove(&old);
        lru.order.insert(tick, key.to_string());
        Some(value)
    }

    /// Stores `value`, evicting the least recently used entries until the bound holds. A
    /// value larger than the whole bound is not stored.
    pub fn set_now(&self, key: &str, value: String, ttl_ms: Option<u64>) {
        let size = key.len() as u64 + value.len() as u64 + ENTRY_OVERHEAD;
        let mut lru = self.lru.borrow_mut();
        lru.remove(key);
        if size > self.max_bytes {
            return;
        }
        let tick = lru.tick();
        let expires_at_ms = ttl_ms.map(|ms| self.clock.now_ms() + ms as f64);
        lru.slots.insert(
            key.to_string(),
            Slot {
                value,
                expires_at_ms,
                tick,
                size,
            },
        );
        lru.order.insert(tick, key.to_string());
        lru.bytes += size;
        // Bounded: each pass removes one entry, and there are at most `slots.len()`.
        let limit = lru.slots.len();
        for _ in 0..limit {
            if lru.bytes <= self.max_bytes {
                break;
            }
            let Some((_, oldest)) = lru.order.pop_first() else {
                break;
            };
            if let Some(slot) = lru.slots.remove(&oldest) {
                lru.bytes = lru.bytes.saturating_sub(slot.size);
            }
        }
    }

    /// Bytes currently held (keys, values and bookkeeping).
    pub fn bytes(&self) -> u64 {
        self.lru.borrow().bytes
    }

    pub fn len(&self) -> usize {
        self.lru.borrow().slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl CacheBackend for LocalCache {
    fn get(&self, key: &str) -> LocalFuture<'static, Result<Option<String>, String>> {
        Box::pin(std::future::ready(Ok(self.get_now(key))))
    }

    fn set(
        &self,
        key: &str,
        value: String,
        ttl_ms: Option<u64>,
    ) -> LocalFuture<'static, Result<(), String>> {
        self.set_now(key, value, ttl_ms);
        Box::pin(std::future::ready(Ok(())))
    }

    fn delete(&self, key: &str) -> LocalFuture<'static, Result<(), String>> {
        self.lru.borrow_mut().remove(key);
        Box::pin(std::future::ready(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FixedClock(std::cell::Cell<f64>);
    impl Clock for FixedClock {
        fn now_ms(&self) -> f64 {
            self.0.get()
        }
    }

    #[test]
    fn evicts_least_recently_used_past_the_byte_bound() {
        let clock = Rc::new(FixedClock(std::cell::Cell::new(0.0)));
        // Each entry: 1-byte key + 35-byte value + 64 overhead = 100 bytes.
        let cache = LocalCache::new(clock, 300);
        let v = "x".repeat(35);
        cache.set_now("a", v.clone(), None);
        cache.set_now("b", v.clone(), None);
        cache.set_now("c", v.clone(), None);
        assert_eq!(cache.bytes(), 300);
        assert!(cache.get_now("a").is_some()); // a is now the most recent
        cache.set_now("d", v.clone(), None);
        assert_eq!(cache.get_now("b"), None, "b was the least recently used");
        assert!(cache.get_now("a").is_some());
        assert!(cache.get_now("c").is_some());
        assert!(cache.get_now("d").is_some());
        assert_eq!(cache.len(), 3);
        cache.set_now("big", "y".repeat(400), None);
        assert_eq!(
            cache.get_now("big"),
            None,
            "larger than the bound: not stored"
        );
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn entries_expire_on_the_clock() {
        let clock = Rc::new(FixedClock(std::cell::Cell::new(1000.0)));
        let cache = LocalCache::new(clock.clone(), 10_000);
        cache.set_now("k", "v".into(), Some(500));
        clock.0.set(1499.0);
        assert_eq!(cache.get_now("k").as_deref(), Some("v"));
        clock.0.set(1500.0);
        assert_eq!(cache.get_now("k"), None);
        assert_eq!(cache.bytes(), 0);
    }
}
