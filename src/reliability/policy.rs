//! LiteLLM's `RetryPolicy` and `AllowedFailsPolicy`: per-error-kind retry counts and
//! failure allowances, with LiteLLM's field names.

use crate::error::{ErrorKind, LlmError};
use serde_json::Value;

/// Which policy field applies to an error kind (the most specific one LiteLLM knows).
fn policy_key(kind: ErrorKind, status: u16) -> Option<&'static str> {
    if status == 404 {
        return Some("NotFoundError");
    }
    Some(match kind {
        ErrorKind::ContentPolicyViolationError => "ContentPolicyViolationError",
        ErrorKind::BadRequestError
        | ErrorKind::ContextWindowExceededError
        | ErrorKind::UnprocessableEntityError => "BadRequestError",
        ErrorKind::AuthenticationError => "AuthenticationError",
        ErrorKind::Timeout => "TimeoutError",
        ErrorKind::RateLimitError => "RateLimitError",
        ErrorKind::InternalServerError | ErrorKind::APIConnectionError if status == 502 => {
            "BadGatewayError"
        }
        ErrorKind::InternalServerError | ErrorKind::APIConnectionError => "InternalServerError",
        ErrorKind::ServiceUnavailableError => "ServiceUnavailableError",
        ErrorKind::NotFoundError => "NotFoundError",
        _ => return None,
    })
}

/// A table of `<ErrorName><suffix>` counts read from a JSON object.
#[derive(Debug, Clone, Default, PartialEq)]
struct KindCounts {
    entries: Vec<(&'static str, u32)>,
    default: Option<u32>,
}

impl KindCounts {
    fn parse(
        value: &Value,
        path: &str,
        suffix: &str,
        names: &[&'static str],
        default_field: Option<&str>,
    ) -> Result<Self, LlmError> {
        let obj = value
            .as_object()
            .ok_or_else(|| LlmError::config(path, "must be an object"))?;
        let mut counts = KindCounts::default();
        for (key, v) in obj {
            let field = format!("{path}.{key}");
            let n = match v {
                Value::Null => continue,
                Value::Number(n) => n
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| LlmError::config(&field, "must be a non-negative integer"))?,
                _ => return Err(LlmError::config(&field, "must be a non-negative integer")),
            };
            if Some(key.as_str()) == default_field {
                counts.default = Some(n);
                continue;
            }
            let name = key
                .strip_suffix(suffix)
                .and_then(|base| names.iter().find(|n| **n == base))
                .ok_or_else(|| {
                    let valid: Vec<String> = names.iter().map(|n| format!("{n}{suffix}")).collect();
                    LlmError::config(
                        &field,
                        format!("unknown field (expected one of {})", valid.join(", ")),
                    )
                })?;
            counts.entries.push((name, n));
        }
        Ok(counts)
    }

    fn get(&self, kind: ErrorKind, status: u16) -> Option<u32> {
        let key = policy_key(kind, status)?;
        self.entries
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, n)| *n)
            .or_else(|| {
                // A 502 is an InternalServerError when the policy has no BadGatewayError entry.
                (key == "BadGatewayError")
                    .then(|| {
                        self.entries
                            .iter()
                            .find(|(n, _)| *n == "InternalServerError")
                            .map(|(_, n)| *n)
                    })
                    .flatten()
            })
    }
}

const RETRY_NAMES: &[&str] = &[
    "BadRequestError",
    "AuthenticationError",
    "TimeoutError",
    "RateLimitError",
    "ContentPolicyViolationError",
    "InternalServerError",
    "ServiceUnavailableError",
    "NotFoundError",
];

const ALLOWED_FAILS_NAMES: &[&str] = &[
    "BadRequestError",
    "AuthenticationError",
    "TimeoutError",
    "RateLimitError",
    "ContentPolicyViolationError",
    "InternalServerError",
    "ServiceUnavailableError",
    "BadGatewayError",
    "NotFoundError",
];

/// `retry_policy`: `{ "RateLimitErrorRetries": 3, "DefaultRetries": 1, … }`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RetryPolicy(KindCounts);

impl RetryPolicy {
    pub fn parse(value: &Value, path: &str) -> Result<Self, LlmError> {
        KindCounts::parse(value, path, "Retries", RETRY_NAMES, Some("DefaultRetries"))
            .map(RetryPolicy)
    }

    /// Retries for this error, or `None` when the policy says nothing (the router's count applies).
    pub fn retries_for(&self, error: &LlmError) -> Option<u32> {
        self.0.get(error.kind, error.status).or(self.0.default)
    }
}

/// `allowed_fails_policy`: `{ "RateLimitErrorAllowedFails": 100, … }`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AllowedFailsPolicy(KindCounts);

impl AllowedFailsPolicy {
    pub fn parse(value: &Value, path: &str) -> Result<Self, LlmError> {
        KindCounts::parse(value, path, "AllowedFails", ALLOWED_FAILS_NAMES, None)
            .map(AllowedFailsPolicy)
    }

    pub fn allowed_fails_for(&self, error: &LlmError) -> Option<u32> {
        self.0.get(error.kind, error.status)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn retry_policy_reads_litellm_field_names() {
        let p = RetryPolicy::parse(
            &json!({"RateLimitErrorRetries": 4, "DefaultRetries": 1}),
            "retry_policy",
        )
        .unwrap();
        assert_eq!(
            p.retries_for(&LlmError::new(ErrorKind::RateLimitError, "x")),
            Some(4)
        );
        assert_eq!(
            p.retries_for(&LlmError::new(ErrorKind::InternalServerError, "x")),
            Some(1)
        );
    }

    #[test]
    fn context_window_errors_use_the_bad_request_count() {
        let p = RetryPolicy::parse(&json!({"BadRequestErrorRetries": 0}), "retry_policy").unwrap();
        assert_eq!(
            p.retries_for(&LlmError::new(ErrorKind::ContextWindowExceededError, "x")),
            Some(0)
        );
    }

    #[test]
    fn unknown_policy_field_is_a_config_error_naming_it() {
        let err = RetryPolicy::parse(&json!({"RateLimitRetries": 1}), "retry_policy").unwrap_err();
        assert_eq!(err.field.as_deref(), Some("retry_policy.RateLimitRetries"));
    }

    #[test]
    fn bad_gateway_falls_back_to_internal_server_error_allowance() {
        let p =
            AllowedFailsPolicy::parse(&json!({"InternalServerErrorAllowedFails": 7}), "p").unwrap();
        let e = LlmError::new(ErrorKind::InternalServerError, "x").with_status(502);
        assert_eq!(p.allowed_fails_for(&e), Some(7));
    }
}
