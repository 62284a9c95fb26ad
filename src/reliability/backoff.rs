//! How long to wait before a retry: LiteLLM's `calculate_retry_after` (exponential from
//! 0.5 s, capped at 8 s, up to 0.75 s of jitter, `retry-after` honoured up to 60 s).

pub const INITIAL_RETRY_DELAY_MS: f64 = 500.0;
pub const MAX_RETRY_DELAY_MS: f64 = 8_000.0;
pub const JITTER_MS: f64 = 750.0;
/// A `retry-after` longer than this is not trusted as a retry delay (LiteLLM: 60 s).
pub const MAX_RETRY_AFTER_MS: u64 = 60_000;

/// Delay before retry number `retries_done + 1`; `random` is uniform in `[0, 1)`.
pub fn retry_delay_ms(
    retries_done: u32,
    retry_after_ms: Option<u64>,
    min_delay_ms: u64,
    random: f64,
) -> u64 {
    let jitter = JITTER_MS * random.clamp(0.0, 1.0);
    if let Some(ra) = retry_after_ms.filter(|ms| *ms > 0 && *ms <= MAX_RETRY_AFTER_MS) {
        return (ra as f64 + jitter).round() as u64;
    }
    let exp = INITIAL_RETRY_DELAY_MS * 2f64.powi(retries_done.min(30) as i32);
    let base = exp.max(min_delay_ms as f64).min(MAX_RETRY_DELAY_MS);
    (base + jitter).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_half_a_second_and_caps_at_eight() {
        let d: Vec<u64> = (0..6).map(|n| retry_delay_ms(n, None, 0, 0.0)).collect();
        assert_eq!(d, vec![500, 1000, 2000, 4000, 8000, 8000]);
    }

    #[test]
    fn jitter_adds_at_most_three_quarters_of_a_second() {
        assert_eq!(retry_delay_ms(0, None, 0, 0.999_999), 1250);
    }

    #[test]
    fn retry_after_is_honoured_when_reasonable() {
        assert_eq!(retry_delay_ms(0, Some(3_000), 0, 0.0), 3_000);
        assert_eq!(retry_delay_ms(0, Some(120_000), 0, 0.0), 500);
    }

    #[test]
    fn min_delay_raises_the_floor_but_not_the_cap() {
        assert_eq!(retry_delay_ms(0, None, 2_000, 0.0), 2_000);
        assert_eq!(retry_delay_ms(0, None, 20_000, 0.0), 8_000);
    }
}
