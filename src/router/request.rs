//! A request's router-level kwargs (LiteLLM's per-call overrides), separated from the
//! OpenAI body that goes upstream.

use crate::cache::CacheControls;
use crate::config::{parse_fallbacks, FallbackMap};
use crate::error::LlmError;
use serde_json::{Map, Value};

/// Per-call settings LiteLLM accepts next to the OpenAI parameters.
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    pub model: String,
    pub num_retries: Option<u32>,
    pub timeout_ms: Option<u64>,
    pub fallbacks: Option<FallbackMap>,
    pub context_window_fallbacks: Option<FallbackMap>,
    pub content_policy_fallbacks: Option<FallbackMap>,
    /// `fallbacks: []` or `disable_fallbacks: true` turns fallbacks off for the call.
    pub disable_fallbacks: bool,
    pub max_fallbacks: Option<u32>,
    /// LiteLLM's `mock_testing_fallbacks`: fail the first group to exercise fallbacks.
    pub mock_testing_fallbacks: bool,
    /// `stream: true`.
    pub stream: bool,
    /// `stream_options.include_usage`: end the stream with a usage chunk.
    pub include_usage: bool,
    /// Per-request `stream_timeout` (to the first byte, and between chunks).
    pub stream_timeout_ms: Option<u64>,
    /// `cache` / `caching`: per-request cache controls (validated even with no cache).
    pub cache: CacheControls,
    /// Tags and affinity keys from `metadata` / `tags` (`router/eligible.rs`).
    pub selector: super::Selector,
    /// The scheduler priority (`priority`; lower is served first), else `default_priority`.
    pub priority: Option<i64>,
    /// LiteLLM's `litellm_call_id` (a string): the id every event of the call carries.
    pub call_id: Option<String>,
}

/// Fields a caller may not set per request: they would redirect our credentials.
const FORBIDDEN: &[&str] = &[
    "api_key",
    "api_base",
    "base_url",
    "api_version",
    "organization",
    "extra_headers",
    "headers",
];

/// The longest `litellm_call_id` accepted (it is copied into every event of the call).
pub const MAX_CALL_ID_BYTES: usize = 256;

/// Router-only fields removed from the upstream body (`cache`/`caching` are parsed into
/// `CallOptions::cache`).
const STRIPPED: &[&str] = &[
    "metadata",
    "litellm_metadata",
    "specific_deployment",
    "model_list",
    "litellm_call_id",
    "tags",
];

/// LiteLLM's per-call router kwargs that `extract` parses into `CallOptions`.
const OPTIONS: &[&str] = &[
    "cache",
    "caching",
    "stream",
    "stream_options",
    "stream_timeout",
    "num_retries",
    "timeout",
    "request_timeout",
    "max_fallbacks",
    "disable_fallbacks",
    "mock_testing_fallbacks",
    "fallbacks",
    "context_window_fallbacks",
    "content_policy_fallbacks",
    "priority",
];

/// Every request key the router, not the upstream, acts on: a request with none of them
/// is a plain OpenAI body (the JS host loop sends such requests itself).
pub fn router_keys() -> impl Iterator<Item = &'static str> {
    FORBIDDEN.iter().chain(STRIPPED).chain(OPTIONS).copied()
}

impl CallOptions {
    /// Removes router kwargs from `body`, leaving the OpenAI request.
    pub fn extract(body: &mut Map<String, Value>) -> Result<CallOptions, LlmError> {
        let model = match body.get("model") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(_) => {
                return Err(LlmError::bad_request(
                    "`model` must be a non-empty string (a model group name)",
                ))
            }
            None => {
                return Err(LlmError::bad_request(
                    "`model` is required (a model group name)",
                ))
            }
        };
        // A plain OpenAI body (no router key at all: the common case) has nothing to check
        // or remove: one pass of string compares over its keys instead of ~30 hashed map
        // lookups. Every option then holds its default, as the removals below would leave it.
        let plain = !body.keys().any(|k| {
            [FORBIDDEN, STRIPPED, OPTIONS]
                .iter()
                .any(|l| l.contains(&k.as_str()))
        });
        if !plain {
            for key in FORBIDDEN {
                if body.contains_key(*key) {
                    return Err(LlmError::bad_request(format!(
                        "`{key}` cannot be set per request; configure it on the deployment in model_list"
                    )));
                }
            }
        }
        let selector = super::Selector::from_request(body);
        let call_id = match body.get("litellm_call_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_CALL_ID_BYTES => {
                Some(s.clone())
            }
            Some(_) => {
                return Err(LlmError::bad_request(format!(
                "`litellm_call_id` must be a non-empty string of at most {MAX_CALL_ID_BYTES} bytes"
            )))
            }
        };
        if !plain {
            for key in STRIPPED {
                body.remove(*key);
            }
        }
        let mut opts = CallOptions {
            model,
            selector,
            call_id,
            cache: CacheControls::parse(body.remove("cache"), body.remove("caching"))?,
            ..CallOptions::default()
        };
        if plain {
            return Ok(opts);
        }
        opts.stream = match body.remove("stream") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => b,
            Some(_) => return Err(LlmError::bad_request("`stream` must be true or false")),
        };
        if let Some(options) = body.remove("stream_options") {
            opts.include_usage = options
                .get("include_usage")
                .and_then(Value::as_bool)
                .unwrap_or(false);
        }
        if let Some(v) = body.remove("stream_timeout") {
            if !v.is_null() {
                let secs = v
                    .as_f64()
                    .filter(|s| *s > 0.0 && s.is_finite())
                    .ok_or_else(|| {
                        LlmError::bad_request(
                            "`stream_timeout` must be a positive number of seconds",
                        )
                    })?;
                opts.stream_timeout_ms = crate::reliability::bounds::clamp_timeout_ms(secs);
            }
        }
        if let Some(v) = body.remove("num_retries") {
            opts.num_retries = match &v {
                Value::Null => None,
                _ => Some(
                    v.as_u64()
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| {
                            LlmError::bad_request("`num_retries` must be a non-negative integer")
                        })?,
                ),
            };
        }
        for key in ["timeout", "request_timeout"] {
            if let Some(v) = body.remove(key) {
                if v.is_null() {
                    continue;
                }
                let secs = v
                    .as_f64()
                    .filter(|s| *s > 0.0 && s.is_finite())
                    .ok_or_else(|| {
                        LlmError::bad_request(format!(
                            "`{key}` must be a positive number of seconds"
                        ))
                    })?;
                opts.timeout_ms = crate::reliability::bounds::clamp_timeout_ms(secs);
            }
        }
        opts.priority = match body.remove("priority") {
            None | Some(Value::Null) => None,
            // LiteLLM validates it as an int (an integral string too).
            Some(v) => Some(
                match &v {
                    Value::String(s) => s.trim().parse::<f64>().ok(),
                    _ => v.as_f64(),
                }
                .filter(|f| f.fract() == 0.0 && f.abs() <= 9.0e15)
                .map(|f| f as i64)
                .ok_or_else(|| {
                    LlmError::bad_request(format!("priority must be an integer, got {v}"))
                })?,
            ),
        };
        if let Some(v) = body.remove("max_fallbacks") {
            opts.max_fallbacks = v.as_u64().and_then(|n| u32::try_from(n).ok());
        }
        opts.disable_fallbacks = body
            .remove("disable_fallbacks")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        opts.mock_testing_fallbacks = body
            .remove("mock_testing_fallbacks")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let fb =
            |body: &mut Map<String, Value>, key: &str| -> Result<Option<FallbackMap>, LlmError> {
                match body.remove(key) {
                    None | Some(Value::Null) => Ok(None),
                    Some(v) => parse_fallbacks(Some(&v), key)
                        .map(Some)
                        .map_err(|e| LlmError::bad_request(e.message)),
                }
            };
        if let Some(Value::Array(a)) = body.get("fallbacks") {
            if a.is_empty() {
                opts.disable_fallbacks = true;
            }
        }
        // LiteLLM also accepts per-request fallbacks as a plain list of groups.
        if let Some(Value::Array(a)) = body.get("fallbacks") {
            if a.iter().all(Value::is_string) && !a.is_empty() {
                let groups = a
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect();
                body.remove("fallbacks");
                opts.fallbacks = Some(vec![(opts.model.clone(), groups)]);
            }
        }
        if opts.fallbacks.is_none() {
            opts.fallbacks = fb(body, "fallbacks")?;
        }
        opts.context_window_fallbacks = fb(body, "context_window_fallbacks")?;
        opts.content_policy_fallbacks = fb(body, "content_policy_fallbacks")?;
        Ok(opts)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn litellm_call_id_becomes_the_call_id_and_is_bounded() {
        let body = |id: Value| {
            let mut m = Map::new();
            m.insert("model".into(), Value::from("chat"));
            m.insert("litellm_call_id".into(), id);
            m
        };
        let mut ok = body(Value::from("call-1"));
        assert_eq!(
            CallOptions::extract(&mut ok).unwrap().call_id.as_deref(),
            Some("call-1")
        );
        assert!(!ok.contains_key("litellm_call_id"), "never sent upstream");
        for bad in [
            Value::from(""),
            Value::from(7),
            Value::from("x".repeat(MAX_CALL_ID_BYTES + 1)),
        ] {
            assert!(CallOptions::extract(&mut body(bad)).is_err());
        }
        let mut none = body(Value::Null);
        assert_eq!(CallOptions::extract(&mut none).unwrap().call_id, None);
    }

    #[test]
    fn a_plain_body_gets_the_options_the_general_path_gives() {
        let plain: Map<String, Value> = serde_json::from_str(
            r#"{"model":"chat","messages":[{"role":"user","content":"hi"}],"temperature":0.2}"#,
        )
        .unwrap();
        let mut fast = plain.clone();
        let fast_opts = CallOptions::extract(&mut fast).unwrap();
        // The same body with a router key set to null takes the general path.
        let mut general = plain.clone();
        general.insert("num_retries".into(), Value::Null);
        let general_opts = CallOptions::extract(&mut general).unwrap();
        assert_eq!(fast, plain, "nothing removed from a plain body");
        assert_eq!(general, plain);
        assert_eq!(format!("{fast_opts:?}"), format!("{general_opts:?}"));
    }

    #[test]
    fn router_keys_are_every_key_extract_consumes() {
        let mut body = Map::new();
        body.insert("model".into(), Value::from("chat"));
        body.insert("messages".into(), Value::Array(Vec::new()));
        for key in STRIPPED.iter().chain(OPTIONS) {
            body.insert((*key).into(), Value::Null);
        }
        CallOptions::extract(&mut body).unwrap();
        let left: Vec<&String> = body.keys().collect();
        assert_eq!(left, ["model", "messages"]);
        for key in FORBIDDEN {
            let mut body = Map::new();
            body.insert("model".into(), Value::from("chat"));
            body.insert((*key).into(), Value::from("x"));
            assert!(CallOptions::extract(&mut body).is_err(), "{key}");
        }
        assert_eq!(
            router_keys().count(),
            FORBIDDEN.len() + STRIPPED.len() + OPTIONS.len()
        );
    }
}
