//! Which deployments are out of rotation, and until when: failures are counted per
//! minute; too many, or one immediate-cooldown status, benches a deployment; the operator
//! may clear a cooldown or disable a deployment.

use crate::error::LlmError;
use crate::hash::FxHashMap;
use crate::reliability::bounds::hint_cooldown_ms;

const MINUTE_MS: f64 = 60_000.0;

/// What decides a cooldown for one failure.
#[derive(Debug, Clone, Copy)]
pub struct CooldownRule {
    pub allowed_fails: u32,
    pub cooldown_ms: u64,
    /// LiteLLM never cools down the only deployment of a group.
    pub single_deployment: bool,
    pub disabled: bool,
}

#[derive(Debug, Clone, Default)]
struct Health {
    minute: i64,
    fails: u32,
    until_ms: Option<f64>,
    /// Taken out of rotation by the operator (`disableDeployment`) until enabled again.
    disabled: bool,
}

/// Cooldown state of every deployment, keyed by deployment id.
#[derive(Debug, Default)]
pub struct CooldownBook {
    entries: FxHashMap<String, Health>,
}

/// Statuses that cool a deployment down at once (LiteLLM: rate limit, bad key, unknown model, timeout).
pub fn cools_down_immediately(status: u16) -> bool {
    matches!(status, 429 | 401 | 404 | 408)
}

/// Whether the failure says something about the deployment (not about the request).
pub fn counts_against_deployment(status: u16) -> bool {
    !(400..500).contains(&status) || cools_down_immediately(status)
}

impl CooldownBook {
    /// When the deployment comes back, if it is cooling down at `now_ms`.
    pub fn cooling_until(&self, id: &str, now_ms: f64) -> Option<f64> {
        self.entries
            .get(id)
            .and_then(|h| h.until_ms)
            .filter(|until| *until > now_ms)
    }

    /// Whether the deployment is out of rotation at `now_ms`: cooling down, or disabled.
    pub fn is_cooling(&self, id: &str, now_ms: f64) -> bool {
        self.is_disabled(id) || self.cooling_until(id, now_ms).is_some()
    }

    /// Whether the operator disabled the deployment (`set_disabled`).
    pub fn is_disabled(&self, id: &str) -> bool {
        self.entries.get(id).is_some_and(|h| h.disabled)
    }

    /// Takes the deployment out of rotation (`true`) or puts it back (`false`); its failure
    /// count and any running cooldown are kept.
    pub fn set_disabled(&mut self, id: &str, disabled: bool) {
        if disabled {
            self.entries.entry(id.to_string()).or_default().disabled = true;
        } else if let Some(h) = self.entries.get_mut(id) {
            h.disabled = false;
        }
    }

    /// Ends the deployment's cooldown now and forgets its failures this minute (a disabled
    /// deployment stays disabled). Returns whether it was cooling down at `now_ms`.
    pub fn clear(&mut self, id: &str, now_ms: f64) -> bool {
        let Some(h) = self.entries.get_mut(id) else {
            return false;
        };
        let was = h.until_ms.is_some_and(|u| u > now_ms);
        h.until_ms = None;
        h.fails = 0;
        was
    }

    /// Failures counted for the deployment in the minute containing `now_ms`.
    pub fn fails_this_minute(&self, id: &str, now_ms: f64) -> u32 {
        let minute = (now_ms / MINUTE_MS).floor() as i64;
        self.entries
            .get(id)
            .filter(|h| h.minute == minute)
            .map_or(0, |h| h.fails)
    }

    /// Records a failure; returns the cooldown end when this failure starts a cooldown.
    pub fn record_failure(
        &mut self,
        id: &str,
        error: &LlmError,
        rule: CooldownRule,
        now_ms: f64,
    ) -> Option<f64> {
        self.record_failure_with(id, error, rule, now_ms, 0)
    }

    /// Like `record_failure`, with `elsewhere` failures of the deployment this minute counted
    /// by other router instances (shared state) added to this one's count.
    pub fn record_failure_with(
        &mut self,
        id: &str,
        error: &LlmError,
        rule: CooldownRule,
        now_ms: f64,
        elsewhere: u32,
    ) -> Option<f64> {
        if rule.disabled || rule.single_deployment || !counts_against_deployment(error.status) {
            return None;
        }
        let minute = (now_ms / MINUTE_MS).floor() as i64;
        let health = self.entries.entry(id.to_string()).or_default();
        if health.minute != minute {
            health.minute = minute;
            health.fails = 0;
        }
        health.fails = health.fails.saturating_add(1);
        if health.until_ms.is_some_and(|u| u > now_ms) {
            return None;
        }
        // A client-side timeout counts like a 5xx; an upstream 408 benches at once (LiteLLM).
        let immediate = error.from_upstream && cools_down_immediately(error.status);
        if immediate || health.fails.saturating_add(elsewhere) > rule.allowed_fails {
            let duration = match (error.status, error.retry_after_ms) {
                (429, Some(ra)) if ra > 0 => hint_cooldown_ms(ra, rule.cooldown_ms),
                _ => rule.cooldown_ms,
            };
            let until = now_ms + duration as f64;
            health.until_ms = Some(until);
            return Some(until);
        }
        None
    }

    /// Marks a deployment cooling down until `until_ms` (a cooldown set by another router
    /// instance); an existing later end is kept.
    pub fn mark(&mut self, id: &str, until_ms: f64) {
        let health = self.entries.entry(id.to_string()).or_default();
        if health.until_ms.is_none_or(|u| u < until_ms) {
            health.until_ms = Some(until_ms);
        }
    }

    pub fn forget(&mut self, id: &str) {
        self.entries.remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn rule() -> CooldownRule {
        CooldownRule {
            allowed_fails: 2,
            cooldown_ms: 5_000,
            single_deployment: false,
            disabled: false,
        }
    }

    fn err(status: u16) -> LlmError {
        let mut e = LlmError::new(ErrorKind::InternalServerError, "x").with_status(status);
        e.from_upstream = true;
        e
    }

    #[test]
    fn cools_down_after_allowed_fails_within_a_minute() {
        let mut book = CooldownBook::default();
        assert_eq!(book.record_failure("a", &err(500), rule(), 1_000.0), None);
        assert_eq!(book.record_failure("a", &err(500), rule(), 2_000.0), None);
        assert_eq!(
            book.record_failure("a", &err(500), rule(), 3_000.0),
            Some(8_000.0)
        );
        assert!(book.is_cooling("a", 7_999.0));
        assert!(!book.is_cooling("a", 8_000.0));
    }

    #[test]
    fn failures_in_different_minutes_do_not_add_up() {
        let mut book = CooldownBook::default();
        book.record_failure("a", &err(500), rule(), 59_000.0);
        book.record_failure("a", &err(500), rule(), 59_500.0);
        assert_eq!(book.record_failure("a", &err(500), rule(), 60_500.0), None);
        assert_eq!(book.fails_this_minute("a", 60_500.0), 1);
    }

    #[test]
    fn rate_limit_cools_down_at_once_for_its_retry_after() {
        let mut book = CooldownBook::default();
        let mut e = LlmError::new(ErrorKind::RateLimitError, "x")
            .with_status(429)
            .with_retry_after(Some(12_000));
        e.from_upstream = true;
        assert_eq!(book.record_failure("a", &e, rule(), 0.0), Some(12_000.0));
    }

    #[test]
    fn a_huge_retry_after_benches_for_at_most_the_hint_cap() {
        let mut book = CooldownBook::default();
        let mut e = LlmError::new(ErrorKind::RateLimitError, "x")
            .with_status(429)
            .with_retry_after(Some(1_000_000_000_000));
        e.from_upstream = true;
        let cap = crate::reliability::bounds::MAX_HINT_COOLDOWN_MS as f64;
        assert_eq!(book.record_failure("a", &e, rule(), 0.0), Some(cap));
        assert!(!book.is_cooling("a", cap));
    }

    #[test]
    fn client_side_timeouts_count_but_do_not_bench_at_once() {
        let mut book = CooldownBook::default();
        let timeout = LlmError::new(ErrorKind::Timeout, "timed out");
        assert_eq!(timeout.status, 408);
        assert_eq!(book.record_failure("a", &timeout, rule(), 0.0), None);
        assert_eq!(book.record_failure("a", &timeout, rule(), 1.0), None);
        assert_eq!(
            book.record_failure("a", &timeout, rule(), 2.0),
            Some(5_002.0)
        );
    }

    #[test]
    fn single_deployment_groups_never_cool_down() {
        let mut book = CooldownBook::default();
        let r = CooldownRule {
            single_deployment: true,
            ..rule()
        };
        assert_eq!(book.record_failure("a", &err(429), r, 0.0), None);
    }

    #[test]
    fn clearing_ends_the_cooldown_and_the_minute_count() {
        let mut book = CooldownBook::default();
        let until = book.record_failure("a", &err(429), rule(), 1_000.0);
        assert_eq!(until, Some(6_000.0));
        assert!(book.clear("a", 2_000.0));
        assert!(!book.is_cooling("a", 2_000.0));
        assert_eq!(book.fails_this_minute("a", 2_000.0), 0);
        // Counting starts over: two more failures are within allowed_fails again.
        assert_eq!(book.record_failure("a", &err(500), rule(), 2_100.0), None);
        assert_eq!(book.record_failure("a", &err(500), rule(), 2_200.0), None);
        assert!(!book.clear("a", 2_300.0), "nothing was cooling down");
        assert!(!book.clear("unknown", 0.0));
    }

    #[test]
    fn a_disabled_deployment_is_out_of_rotation_until_enabled() {
        let mut book = CooldownBook::default();
        book.set_disabled("a", true);
        assert!(book.is_disabled("a"));
        assert!(book.is_cooling("a", 0.0));
        assert_eq!(book.cooling_until("a", 0.0), None, "no end: not a cooldown");
        book.clear("a", 0.0);
        assert!(
            book.is_cooling("a", 0.0),
            "clearing a cooldown does not enable"
        );
        book.set_disabled("a", false);
        assert!(!book.is_cooling("a", 0.0));
        book.set_disabled("b", false);
        assert!(!book.is_disabled("b"));
        book.set_disabled("a", true);
        book.forget("a");
        assert!(!book.is_disabled("a"), "a deleted deployment forgets it");
    }

    #[test]
    fn bad_requests_do_not_count_against_a_deployment() {
        let mut book = CooldownBook::default();
        for t in 0..10 {
            assert_eq!(
                book.record_failure("a", &err(400), rule(), f64::from(t)),
                None
            );
        }
        assert_eq!(book.fails_this_minute("a", 5.0), 0);
    }
}
