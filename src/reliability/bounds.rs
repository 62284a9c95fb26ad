//! Ceilings on the durations a config, a caller or an upstream can set: every timer the
//! host arms goes through `setTimeout`, whose delay is a signed 32-bit millisecond count
//! (a larger value wraps to an immediate timeout), and an upstream's `retry-after` may
//! bench a deployment only for a bounded time.

/// The longest delay `setTimeout` accepts: 2^31 - 1 ms (about 24.8 days).
pub const MAX_TIMER_MS: u64 = 2_147_483_647;

/// The longest cooldown one upstream `retry-after` hint can impose (5 minutes), unless the
/// operator's own `cooldown_time` is longer, in which case that is the ceiling.
pub const MAX_HINT_COOLDOWN_MS: u64 = 300_000;

/// Clamps a duration in milliseconds to what a timer can represent.
pub fn clamp_timer_ms(ms: u64) -> u64 {
    ms.min(MAX_TIMER_MS)
}

/// A timeout given in seconds (LiteLLM's unit, e.g. a per-request `timeout` or
/// `stream_timeout`) as timer milliseconds: `None` for a value that is not a finite number
/// `>= 0` (the caller reports it), otherwise rounded and clamped to [`MAX_TIMER_MS`].
pub fn clamp_timeout_ms(seconds: f64) -> Option<u64> {
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    let ms = (seconds * 1000.0).round();
    if ms >= MAX_TIMER_MS as f64 {
        Some(MAX_TIMER_MS)
    } else {
        Some(ms as u64)
    }
}

/// The cooldown a rate-limit `retry-after` of `hint_ms` imposes, given the operator's
/// `cooldown_ms`: the hint, capped at the larger of [`MAX_HINT_COOLDOWN_MS`] and the
/// operator's cooldown (and at [`MAX_TIMER_MS`]).
pub fn hint_cooldown_ms(hint_ms: u64, cooldown_ms: u64) -> u64 {
    hint_ms
        .min(MAX_HINT_COOLDOWN_MS.max(cooldown_ms))
        .min(MAX_TIMER_MS)
}

/// The error of an upstream reply larger than `max_response_bytes`: the deployment's fault,
/// retried elsewhere like a broken connection.
pub fn response_too_large(limit: u64) -> crate::error::LlmError {
    crate::error::LlmError::new(
        crate::error::ErrorKind::APIConnectionError,
        format!("the upstream reply is larger than max_response_bytes ({limit} bytes)"),
    )
}

/// The error of a stream that lasted longer than `max_stream_duration`.
pub fn stream_too_long(limit_ms: u64) -> crate::error::LlmError {
    crate::error::LlmError::new(
        crate::error::ErrorKind::Timeout,
        format!(
            "the stream lasted longer than max_stream_duration ({} seconds)",
            limit_ms as f64 / 1000.0
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_in_seconds_clamp_to_the_timer_range() {
        assert_eq!(clamp_timeout_ms(0.0), Some(0));
        assert_eq!(clamp_timeout_ms(0.001), Some(1));
        assert_eq!(clamp_timeout_ms(30.0), Some(30_000));
        // 2,147,484 s is the first whole second that would wrap an i32 of milliseconds.
        assert_eq!(clamp_timeout_ms(2_147_483.647), Some(MAX_TIMER_MS));
        assert_eq!(clamp_timeout_ms(2_147_484.0), Some(MAX_TIMER_MS));
        assert_eq!(clamp_timeout_ms(1.0e300), Some(MAX_TIMER_MS));
        assert!(MAX_TIMER_MS <= i32::MAX as u64);
    }

    #[test]
    fn non_numbers_and_negatives_are_refused() {
        assert_eq!(clamp_timeout_ms(-1.0), None);
        assert_eq!(clamp_timeout_ms(f64::NAN), None);
        assert_eq!(clamp_timeout_ms(f64::INFINITY), None);
    }

    #[test]
    fn a_hint_cannot_bench_longer_than_the_cap() {
        assert_eq!(hint_cooldown_ms(12_000, 5_000), 12_000);
        assert_eq!(
            hint_cooldown_ms(1_000_000_000_000, 5_000),
            MAX_HINT_COOLDOWN_MS
        );
        // An operator who configured a longer cooldown keeps it as the ceiling.
        assert_eq!(hint_cooldown_ms(1_000_000_000_000, 3_600_000), 3_600_000);
        assert_eq!(hint_cooldown_ms(u64::MAX, u64::MAX), MAX_TIMER_MS);
    }
}
