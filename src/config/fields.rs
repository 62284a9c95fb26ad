//! Typed readers for optional JSON config fields; each error names the field path.

use crate::error::LlmError;
use serde_json::{Map, Value};
use std::fmt::Display;

/// The path of `key` inside the object at `parent` (`parent.key`), written out only when an
/// error names it: parsing a large config builds no path strings.
#[derive(Clone, Copy)]
pub struct Child<'a> {
    pub parent: &'a str,
    pub key: &'a str,
}

impl Display for Child<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.parent, self.key)
    }
}

impl From<Child<'_>> for String {
    fn from(c: Child<'_>) -> String {
        c.to_string()
    }
}

pub fn opt_str(
    obj: &Map<String, Value>,
    key: &str,
    path: &(impl Display + ?Sized),
) -> Result<Option<String>, LlmError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(LlmError::config(path.to_string(), "must be a string")),
    }
}

pub fn opt_f64(
    obj: &Map<String, Value>,
    key: &str,
    path: &(impl Display + ?Sized),
) -> Result<Option<f64>, LlmError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .map(Some)
            .ok_or_else(|| LlmError::config(path.to_string(), "must be a finite number")),
        // LiteLLM configs often come from YAML/env where numbers are strings.
        Some(Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Some)
            .ok_or_else(|| {
                LlmError::config(path.to_string(), format!("must be a number, got {s:?}"))
            }),
        Some(_) => Err(LlmError::config(path.to_string(), "must be a number")),
    }
}

pub fn opt_u64(
    obj: &Map<String, Value>,
    key: &str,
    path: &(impl Display + ?Sized),
) -> Result<Option<u64>, LlmError> {
    match opt_f64(obj, key, path)? {
        None => Ok(None),
        Some(f) if f >= 0.0 && f.fract() == 0.0 && f <= 9.0e15 => Ok(Some(f as u64)),
        Some(_) => Err(LlmError::config(
            path.to_string(),
            "must be a non-negative integer",
        )),
    }
}

pub fn opt_bool(
    obj: &Map<String, Value>,
    key: &str,
    path: &(impl Display + ?Sized),
) -> Result<Option<bool>, LlmError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(LlmError::config(path.to_string(), "must be true or false")),
    }
}

/// Seconds (LiteLLM's unit) to whole milliseconds; negative values are errors. Every
/// duration a config sets is clamped to `MAX_TIMER_MS` (2^31 - 1 ms, ~24.8 days), so no
/// timeout, TTL or cooldown can overflow `setTimeout` and wrap to an immediate timer.
pub fn seconds_to_ms(
    seconds: Option<f64>,
    path: &(impl Display + ?Sized),
) -> Result<Option<u64>, LlmError> {
    match seconds {
        None => Ok(None),
        Some(s) if (0.0..=1.0e9).contains(&s) => {
            Ok(crate::reliability::bounds::clamp_timeout_ms(s))
        }
        Some(_) => Err(LlmError::config(
            path.to_string(),
            "must be a number of seconds >= 0",
        )),
    }
}
