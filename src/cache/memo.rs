//! What the core derived from a request's JSON text for an in-memory cache lookup (its
//! storage key and the controls the hit needs), kept by the text, so a repeated request's
//! hit skips parsing, canonicalising and hashing it again.
//!
//! The derivation is a pure function of the text: besides the text, the key depends only on
//! the Router's `RouterConfig` (`cache_kwargs`, `caching_groups`, `model_group_alias`), which
//! is immutable once the Router is built (deployment changes — `addDeployment`,
//! `setModelList` — leave it alone, and the key names the group, not a deployment). So an
//! entry is never stale and nothing invalidates it; the memo only has to stay bounded.
//!
//! Bounded in time and memory: [`SLOTS`] slots, one entry each, chosen by a hash of the
//! text. A lookup compares one stored text at most, whatever a caller sends (texts that
//! share a slot evict each other, and the loser takes the full derivation, as it would
//! without the memo). Texts over [`MAX_TEXT_BYTES`] are not kept, and the texts kept total
//! at most [`MAX_BYTES`].

use std::cell::{Cell, RefCell};
use std::hash::Hasher;
use std::rc::Rc;

/// Slots of the memo (one entry each).
pub const SLOTS: usize = 256;
/// The longest request text kept.
pub const MAX_TEXT_BYTES: usize = 16 * 1024;
/// The most text bytes kept in all.
pub const MAX_BYTES: usize = 1024 * 1024;

/// One slot: the text kept and what was derived from it.
type Slot<V> = Option<(Box<str>, Rc<V>)>;

/// A fixed-size, direct-mapped memo from request texts to `V`.
pub struct TextMemo<V> {
    slots: RefCell<Vec<Slot<V>>>,
    bytes: Cell<usize>,
}

impl<V> Default for TextMemo<V> {
    fn default() -> Self {
        TextMemo {
            slots: RefCell::new(Vec::new()),
            bytes: Cell::new(0),
        }
    }
}

fn slot_of(text: &str) -> usize {
    let mut h = crate::hash::FxHasher::default();
    h.write(text.as_bytes());
    // The high bits: FxHash's multiply moves the input's entropy up.
    (h.finish() >> 56) as usize % SLOTS
}

impl<V> TextMemo<V> {
    /// What was derived from exactly `text`, if it is kept.
    pub fn get(&self, text: &str) -> Option<Rc<V>> {
        let slots = self.slots.borrow();
        match slots.get(slot_of(text)) {
            Some(Some((kept, value))) if **kept == *text => Some(Rc::clone(value)),
            _ => None,
        }
    }

    /// Keeps `value` for `text` in its slot (replacing whatever was there), unless the text is
    /// too long or would take the memo past [`MAX_BYTES`].
    pub fn insert(&self, text: &str, value: Rc<V>) {
        if text.len() > MAX_TEXT_BYTES {
            return;
        }
        let mut slots = self.slots.borrow_mut();
        if slots.is_empty() {
            slots.resize_with(SLOTS, || None);
        }
        let Some(slot) = slots.get_mut(slot_of(text)) else {
            return;
        };
        let freed = slot.as_ref().map_or(0, |(kept, _)| kept.len());
        let bytes = self.bytes.get() - freed + text.len();
        if bytes > MAX_BYTES {
            return;
        }
        *slot = Some((text.into(), value));
        self.bytes.set(bytes);
    }

    /// The text bytes kept (for tests and the README's bound).
    pub fn bytes(&self) -> usize {
        self.bytes.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_only_the_exact_text() {
        let memo = TextMemo::default();
        memo.insert("{\"a\":1}", Rc::new(1));
        assert_eq!(memo.get("{\"a\":1}").as_deref(), Some(&1));
        assert_eq!(memo.get("{\"a\": 1}"), None);
        assert_eq!(memo.get("{\"a\":1} "), None);
        assert_eq!(memo.get(""), None);
    }

    #[test]
    fn a_slot_holds_one_text_and_the_bytes_follow_replacements() {
        let memo = TextMemo::default();
        let texts: Vec<String> = (0..4 * SLOTS).map(|i| format!("request {i}")).collect();
        for (i, t) in texts.iter().enumerate() {
            memo.insert(t, Rc::new(i));
        }
        let kept: Vec<usize> = texts
            .iter()
            .filter_map(|t| memo.get(t))
            .map(|v| *v)
            .collect();
        assert!(kept.len() <= SLOTS, "{} kept", kept.len());
        assert!(
            kept.len() > SLOTS / 2,
            "the hash spreads texts: {} kept",
            kept.len()
        );
        let kept_bytes: usize = texts
            .iter()
            .filter(|t| memo.get(t).is_some())
            .map(|t| t.len())
            .sum();
        assert_eq!(memo.bytes(), kept_bytes);
        // The last text of each slot wins.
        let last = texts.last().map(String::as_str).unwrap_or_default();
        assert_eq!(memo.get(last).as_deref(), Some(&(4 * SLOTS - 1)));
    }

    #[test]
    fn long_texts_are_not_kept_and_the_total_is_bounded() {
        let memo = TextMemo::default();
        memo.insert(&"x".repeat(MAX_TEXT_BYTES + 1), Rc::new(0));
        assert_eq!(memo.bytes(), 0);
        for i in 0..4 * SLOTS {
            let text = format!("{i:08}{}", "y".repeat(MAX_TEXT_BYTES - 8));
            memo.insert(&text, Rc::new(i));
            assert!(memo.bytes() <= MAX_BYTES, "{} bytes", memo.bytes());
        }
        assert!(memo.bytes() > MAX_BYTES - MAX_TEXT_BYTES);
    }
}
