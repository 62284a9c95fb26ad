//! Budget settings: `max_budget` + `budget_duration` per deployment, `provider_budget_config`
//! per provider, and LiteLLM's duration strings ("30s", "1d", "2w", "1mo", "daily").

use super::fields::opt_str;
use crate::error::LlmError;
use serde_json::{Map, Value};

/// The longest budget window llmux accepts: ten years (a caller-visible TTL stays bounded).
const MAX_WINDOW_MS: f64 = 10.0 * 366.0 * 86_400_000.0;

/// A window length as LiteLLM writes it: a count and a unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Period {
    /// A fixed number of milliseconds (s, m, h, d, w).
    Fixed(f64),
    /// Calendar months (UTC), clamped to the target month's last day.
    Months(u32),
}

impl Period {
    /// Parses "30s", "5m", "1h", "1d", "2w", "1mo", or the words hourly, daily, weekly,
    /// monthly (1h, 24h, 7d, 30d, as LiteLLM's aliases).
    pub fn parse(text: &str) -> Result<Period, String> {
        let t = text.trim().to_ascii_lowercase();
        let t = match t.as_str() {
            "hourly" => "1h",
            "daily" => "24h",
            "weekly" => "7d",
            "monthly" => "30d",
            other => other,
        };
        let digits = t.bytes().take_while(u8::is_ascii_digit).count();
        let (number, unit) = t.split_at(digits);
        let n: u32 =
            number.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                format!("{text:?} is not a duration like \"30s\", \"1d\" or \"1mo\"")
            })?;
        let unit_ms = match unit {
            "s" => 1_000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            "d" => 86_400_000.0,
            "w" => 604_800_000.0,
            "mo" if n <= 120 => return Ok(Period::Months(n)),
            _ => {
                return Err(format!(
                    "{text:?} is not a duration like \"30s\", \"5m\", \"1h\", \"1d\", \"2w\" or \"1mo\" (at most 10 years)"
                ))
            }
        };
        let ms = f64::from(n) * unit_ms;
        if ms > MAX_WINDOW_MS {
            return Err(format!(
                "{text:?} is longer than llmux's ceiling of 10 years"
            ));
        }
        Ok(Period::Fixed(ms))
    }

    /// How long a window of this period lasts when it opens at `start_ms` (Unix ms, UTC).
    pub fn window_ms(&self, start_ms: f64) -> f64 {
        match *self {
            Period::Fixed(ms) => ms,
            Period::Months(n) => shift_months(start_ms, n) - start_ms,
        }
    }
}

/// `ms` moved forward by `months` calendar months (UTC), the day clamped to the month's end.
fn shift_months(ms: f64, months: u32) -> f64 {
    let day_ms = 86_400_000.0;
    let days = (ms / day_ms).floor();
    let time_of_day = ms - days * day_ms;
    let (y, m, d) = civil_from_days(days as i64);
    let total = y * 12 + i64::from(m) - 1 + i64::from(months);
    let (ny, nm) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32);
    let nd = d.min(days_in_month(ny, nm));
    days_from_civil(ny, nm, nd) as f64 * day_ms + time_of_day
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 -> (year, month 1-12, day 1-31), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A spending limit over a repeating window.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    /// USD per window. 0 means no limit, as in LiteLLM.
    pub limit: f64,
    pub period: Period,
    /// The duration as written ("1d"): part of the shared-state key, as in LiteLLM's.
    pub period_text: String,
}

fn parse_limit(value: &Value, path: &str) -> Result<f64, LlmError> {
    match value.as_f64() {
        Some(n) if n.is_finite() && n >= 0.0 => Ok(n),
        _ => Err(LlmError::config(path, "must be a number >= 0 (USD)")),
    }
}

fn parse_period(obj: &Map<String, Value>, key: &str, path: &str) -> Result<Budget, LlmError> {
    let text = opt_str(obj, key, path)?.unwrap_or_default();
    let period = Period::parse(&text).map_err(|msg| LlmError::config(path, msg))?;
    Ok(Budget {
        limit: 0.0,
        period,
        period_text: text.trim().to_string(),
    })
}

/// A deployment's `max_budget` and `budget_duration` (both or neither).
pub fn deployment_budget(
    params: &Map<String, Value>,
    lp_path: &str,
) -> Result<Option<Budget>, LlmError> {
    let limit = params.get("max_budget").filter(|v| !v.is_null());
    let duration = params.get("budget_duration").filter(|v| !v.is_null());
    match (limit, duration) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(LlmError::config(
            format!("{lp_path}.budget_duration"),
            "is required with max_budget (a window like \"1d\" or \"30d\")",
        )),
        (None, Some(_)) => Err(LlmError::config(
            format!("{lp_path}.max_budget"),
            "is required with budget_duration (USD per window)",
        )),
        (Some(limit), Some(_)) => {
            let mut budget = parse_period(
                params,
                "budget_duration",
                &format!("{lp_path}.budget_duration"),
            )?;
            budget.limit = parse_limit(limit, &format!("{lp_path}.max_budget"))?;
            Ok(Some(budget))
        }
    }
}

/// The most providers `provider_budget_config` may list.
pub const MAX_PROVIDER_BUDGETS: usize = 100;

/// `provider_budget_config`: `{ "<provider>": { budget_limit, time_period } }`.
pub fn provider_budgets(obj: &Map<String, Value>) -> Result<Vec<(String, Budget)>, LlmError> {
    let key = "provider_budget_config";
    let map = match obj.get(key) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(LlmError::config(
                key,
                "must be an object of provider name -> { budget_limit, time_period }",
            ))
        }
    };
    if map.len() > MAX_PROVIDER_BUDGETS {
        return Err(LlmError::config(
            key,
            format!("lists more than {MAX_PROVIDER_BUDGETS} providers"),
        ));
    }
    let mut out = Vec::with_capacity(map.len());
    for (provider, entry) in map {
        let path = format!("{key}.{provider}");
        let entry = entry.as_object().ok_or_else(|| {
            LlmError::config(&path, "must be an object { budget_limit, time_period }")
        })?;
        for field in entry.keys() {
            if !matches!(field.as_str(), "budget_limit" | "time_period") {
                return Err(LlmError::config(
                    format!("{path}.{field}"),
                    "unknown field (expected budget_limit, time_period)",
                ));
            }
        }
        let limit = entry
            .get("budget_limit")
            .filter(|v| !v.is_null())
            .ok_or_else(|| LlmError::config(format!("{path}.budget_limit"), "is required"))?;
        if entry.get("time_period").is_none_or(Value::is_null) {
            return Err(LlmError::config(
                format!("{path}.time_period"),
                "is required (a window like \"1d\")",
            ));
        }
        let mut budget = parse_period(entry, "time_period", &format!("{path}.time_period"))?;
        budget.limit = parse_limit(limit, &format!("{path}.budget_limit"))?;
        out.push((provider.clone(), budget));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::{shift_months, Period};

    #[test]
    fn durations_parse_as_litellm_writes_them() {
        assert_eq!(Period::parse("30s"), Ok(Period::Fixed(30_000.0)));
        assert_eq!(Period::parse("5m"), Ok(Period::Fixed(300_000.0)));
        assert_eq!(Period::parse("1d"), Ok(Period::Fixed(86_400_000.0)));
        assert_eq!(Period::parse("daily"), Ok(Period::Fixed(86_400_000.0)));
        assert_eq!(Period::parse("2w"), Ok(Period::Fixed(1_209_600_000.0)));
        assert_eq!(Period::parse("1mo"), Ok(Period::Months(1)));
        for bad in ["", "d", "0d", "1x", "1dd", "-1d", "1.5d", "99999999d"] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn months_are_calendar_months_clamped_to_the_last_day() {
        // 2026-01-31T10:00Z + 1 month = 2026-02-28T10:00Z.
        let jan31 = 1_769_853_600_000.0;
        let feb28 = 1_772_272_800_000.0;
        assert_eq!(shift_months(jan31, 1), feb28);
        assert_eq!(Period::Months(1).window_ms(jan31), feb28 - jan31);
        // 2024-02-29 + 12 months = 2025-02-28.
        assert_eq!(shift_months(1_709_164_800_000.0, 12), 1_740_700_800_000.0);
    }
}
