//! `cache_responses`, `cache_kwargs`, `caching_groups` and the `cache` host flag ->
//! a validated `CacheConfig` (every error names its field path).

use crate::config::fields::{opt_bool, opt_f64, opt_str, opt_u64, seconds_to_ms};
use crate::error::LlmError;
use crate::types::Endpoint;
use serde_json::{Map, Value};

/// Default bound of the in-memory cache: 4 MiB of keys and entries, so a Router fits a 128 MB
/// Workers isolate beside the app (set `cache_kwargs.max_size_bytes` for more).
pub const DEFAULT_MAX_SIZE_BYTES: u64 = 4 * 1024 * 1024;

/// The call types answered from the cache (`cache_kwargs.supported_call_types`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CallTypes {
    pub completion: bool,
    pub text_completion: bool,
    pub embedding: bool,
}

impl CallTypes {
    pub fn covers(&self, endpoint: Endpoint) -> bool {
        match endpoint {
            Endpoint::ChatCompletion => self.completion,
            Endpoint::TextCompletion => self.text_completion,
            Endpoint::Embedding => self.embedding,
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CacheConfig {
    /// Lifetime of stored answers (`cache_kwargs.ttl`, seconds; default 600 s).
    pub ttl_ms: u64,
    /// Key prefix (`cache_kwargs.namespace`).
    pub namespace: Option<String>,
    /// Bound of the in-memory LRU (`cache_kwargs.max_size_bytes`).
    pub max_size_bytes: u64,
    /// Answers go to the host's `cache` object instead of the in-memory LRU.
    pub host_backend: bool,
    pub call_types: CallTypes,
    /// `caching_groups`: model groups that share cache entries, each group listed once.
    pub caching_groups: Vec<Vec<String>>,
}

impl CacheConfig {
    /// The name a model group's entries are keyed under: its caching group (the member
    /// names joined with `|`), else the group itself.
    pub fn key_group(&self, group: &str) -> String {
        self.caching_groups
            .iter()
            .find(|members| members.iter().any(|m| m == group))
            .map_or_else(|| group.to_string(), |members| members.join("|"))
    }
}

const KWARGS: &[&str] = &[
    "type",
    "ttl",
    "namespace",
    "max_size_bytes",
    "supported_call_types",
];
/// Connection settings LiteLLM accepts for `type: "redis"`.
const REDIS_KWARGS: &[&str] = &[
    "host",
    "port",
    "password",
    "username",
    "db",
    "url",
    "redis_url",
    "redis_host",
    "redis_port",
    "redis_password",
    "ssl",
];
const CALL_TYPES: &str =
    "completion, acompletion, text_completion, atext_completion, embedding, aembedding";

/// `None` when `cache_responses` is not true (then the other cache options must be unset).
pub fn parse(obj: &Map<String, Value>) -> Result<Option<CacheConfig>, LlmError> {
    let enabled = opt_bool(obj, "cache_responses", "cache_responses")?.unwrap_or(false);
    let host_backend = match obj.get("cache") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::Bool(true)) => true,
        Some(_) => {
            return Err(LlmError::config(
                "cache",
                "must be an object { get(key), set(key, value, { ttl }), delete?(key) }",
            ))
        }
    };
    let kwargs = match obj.get("cache_kwargs") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(LlmError::config("cache_kwargs", "must be an object")),
    };
    let groups_set = obj
        .get("caching_groups")
        .is_some_and(|v| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()));
    if !enabled {
        let stray = [
            ("cache_kwargs", !kwargs.is_empty()),
            ("caching_groups", groups_set),
            ("cache", host_backend),
        ];
        if let Some((field, _)) = stray.iter().find(|(_, set)| *set) {
            return Err(LlmError::config(
                *field,
                "has no effect without cache_responses: true",
            ));
        }
        return Ok(None);
    }
    let kind = opt_str(&kwargs, "type", "cache_kwargs.type")?;
    match kind.as_deref() {
        None | Some("local") => {}
        Some("redis") => {
            return Err(LlmError::config(
                "cache_kwargs.type",
                "\"redis\" needs the Redis store (js/stores/redis.js), which is not wired into the cache yet; pass its client as the `cache` option meanwhile",
            ))
        }
        Some(other) => {
            return Err(LlmError::config(
                "cache_kwargs.type",
                format!("{other:?} is not supported by llmux (use \"local\", or the `cache` option for a KV store)"),
            ))
        }
    }
    if host_backend && kind.is_some() {
        return Err(LlmError::config(
            "cache_kwargs.type",
            "conflicts with the `cache` option (a KV object replaces the in-memory cache); remove one",
        ));
    }
    for key in kwargs.keys() {
        if REDIS_KWARGS.contains(&key.as_str()) {
            return Err(LlmError::config(
                format!("cache_kwargs.{key}"),
                "is a Redis setting; it needs cache_kwargs.type \"redis\"",
            ));
        }
        if !KWARGS.contains(&key.as_str()) {
            return Err(LlmError::config(
                format!("cache_kwargs.{key}"),
                format!(
                    "unknown cache option (expected one of {})",
                    KWARGS.join(", ")
                ),
            ));
        }
    }
    let ttl_ms = match seconds_to_ms(
        opt_f64(&kwargs, "ttl", "cache_kwargs.ttl")?,
        "cache_kwargs.ttl",
    )? {
        None => super::DEFAULT_TTL_MS,
        Some(0) => return Err(LlmError::config("cache_kwargs.ttl", "must be > 0 seconds")),
        Some(ms) => ms,
    };
    let max_size_bytes = match opt_u64(&kwargs, "max_size_bytes", "cache_kwargs.max_size_bytes")? {
        None => DEFAULT_MAX_SIZE_BYTES,
        Some(0) => {
            return Err(LlmError::config(
                "cache_kwargs.max_size_bytes",
                "must be > 0 bytes",
            ))
        }
        Some(n) => n,
    };
    if host_backend && kwargs.contains_key("max_size_bytes") {
        return Err(LlmError::config(
            "cache_kwargs.max_size_bytes",
            "bounds the in-memory cache only; the `cache` option's store manages its own size",
        ));
    }
    Ok(Some(CacheConfig {
        ttl_ms,
        namespace: opt_str(&kwargs, "namespace", "cache_kwargs.namespace")?
            .filter(|s| !s.is_empty()),
        max_size_bytes,
        host_backend,
        call_types: parse_call_types(kwargs.get("supported_call_types"))?,
        caching_groups: parse_caching_groups(obj.get("caching_groups"))?,
    }))
}

fn parse_call_types(value: Option<&Value>) -> Result<CallTypes, LlmError> {
    let path = "cache_kwargs.supported_call_types";
    let items = match value {
        None | Some(Value::Null) => {
            return Ok(CallTypes {
                completion: true,
                text_completion: true,
                embedding: true,
            })
        }
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(LlmError::config(
                path,
                format!("must be an array of call types ({CALL_TYPES})"),
            ))
        }
    };
    let mut types = CallTypes {
        completion: false,
        text_completion: false,
        embedding: false,
    };
    for (i, item) in items.iter().enumerate() {
        match item.as_str() {
            Some("completion" | "acompletion") => types.completion = true,
            Some("text_completion" | "atext_completion") => types.text_completion = true,
            Some("embedding" | "aembedding") => types.embedding = true,
            _ => {
                return Err(LlmError::config(
                    format!("{path}[{i}]"),
                    format!("must be one of {CALL_TYPES} (other calls are not cached)"),
                ))
            }
        }
    }
    Ok(types)
}

/// LiteLLM's `caching_groups`: `[["group-a", "group-b"], …]`.
fn parse_caching_groups(value: Option<&Value>) -> Result<Vec<Vec<String>>, LlmError> {
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(LlmError::config(
                "caching_groups",
                "must be an array of model group lists like [[\"gpt-a\", \"gpt-b\"]]",
            ))
        }
    };
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("caching_groups[{i}]");
        let members = item
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| LlmError::config(&path, "must be a non-empty array of model groups"))?;
        let mut names = Vec::with_capacity(members.len());
        for (j, m) in members.iter().enumerate() {
            let name = m.as_str().filter(|s| !s.is_empty()).ok_or_else(|| {
                LlmError::config(format!("{path}[{j}]"), "must be a model group name")
            })?;
            if seen.contains(&name) {
                return Err(LlmError::config(
                    format!("{path}[{j}]"),
                    format!("model group {name:?} is in more than one caching group"),
                ));
            }
            seen.push(name);
            names.push(name.to_string());
        }
        out.push(names);
    }
    Ok(out)
}
