//! Response caching: the exact cache key (canonical JSON of the request fields that change
//! the answer, hashed), the stored entry format (which carries its own expiry), LiteLLM's
//! per-request controls, the backend port and the in-memory LRU. No I/O and no router state
//! here; `router::cache` wires it into calls.

pub mod breaker;
mod config;
mod lru;
mod memo;

pub use breaker::Breaker;
pub use config::{parse as parse_config, CacheConfig, CallTypes, DEFAULT_MAX_SIZE_BYTES};
pub use lru::LocalCache;
pub use memo::TextMemo;

use crate::error::LlmError;
pub use crate::ports::CacheBackend;
use crate::types::Endpoint;
use serde_json::{Map, Value};

/// Bumped when the key recipe or the entry format changes, so old entries stop matching.
pub const FORMAT_VERSION: u64 = 1;

/// LiteLLM's in-memory default TTL (600 s); llmux uses it for every backend.
pub const DEFAULT_TTL_MS: u64 = 600_000;

/// Request fields that never change the answer, left out of the key. `model` is replaced
/// by the model group (or its caching group); router kwargs (`metadata`, `num_retries`,
/// `timeout`, fallbacks, `cache`, …) are removed before the key is made.
pub const IGNORED_FIELDS: &[&str] = &[
    "model",
    "user",
    "stream",
    "stream_options",
    "store",
    "prompt_cache_key",
    "safety_identifier",
];

/// Fields dropped from the key when they hold the OpenAI default (so stating a default and
/// leaving it out share one entry).
pub const DEFAULT_VALUES: &[(&str, DefaultValue)] = &[
    ("temperature", DefaultValue::Number(1.0)),
    ("top_p", DefaultValue::Number(1.0)),
    ("n", DefaultValue::Number(1.0)),
    ("presence_penalty", DefaultValue::Number(0.0)),
    ("frequency_penalty", DefaultValue::Number(0.0)),
    ("best_of", DefaultValue::Number(1.0)),
    ("logprobs", DefaultValue::Bool(false)),
    ("echo", DefaultValue::Bool(false)),
    ("parallel_tool_calls", DefaultValue::Bool(true)),
    ("encoding_format", DefaultValue::Str("float")),
];

#[derive(Debug, Clone, Copy)]
pub enum DefaultValue {
    Number(f64),
    Bool(bool),
    Str(&'static str),
}

impl DefaultValue {
    fn matches(self, v: &Value) -> bool {
        match (self, v) {
            (DefaultValue::Number(d), Value::Number(n)) => n.as_f64() == Some(d),
            (DefaultValue::Bool(d), Value::Bool(b)) => *b == d,
            (DefaultValue::Str(d), Value::String(s)) => s == d,
            _ => false,
        }
    }
}

/// The name of the call type in keys and in `cache_kwargs.supported_call_types`.
pub fn call_name(endpoint: Endpoint) -> Option<&'static str> {
    match endpoint {
        Endpoint::ChatCompletion => Some("completion"),
        Endpoint::TextCompletion => Some("text_completion"),
        Endpoint::Embedding => Some("embedding"),
        _ => None,
    }
}

/// The answer-changing fields of a request body, canonicalised: ignored fields, `null`s,
/// defaults and empty `tools`/`functions`/`stop` removed; `stop: "x"` made `["x"]`;
/// `tool_choice` dropped when it is the default (`"auto"` with tools, `"none"` without).
/// (The key is written from the body in place by [`storage_key`]; this map is its reference,
/// for tests and the fuzz invariants.)
pub fn answer_fields(body: &Map<String, Value>) -> Map<String, Value> {
    let tools = has_tools(body);
    let mut out = Map::new();
    for (k, v) in body {
        if !kept(k, v, tools) {
            continue;
        }
        let v = match (k.as_str(), v) {
            ("stop", Value::String(s)) => Value::Array(vec![Value::String(s.clone())]),
            _ => v.clone(),
        };
        out.insert(k.clone(), v);
    }
    out
}

/// Whether the request has a non-empty `tools` or `functions` list.
fn has_tools(body: &Map<String, Value>) -> bool {
    ["tools", "functions"].iter().any(|k| {
        body.get(*k)
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
    })
}

/// Whether field `k` of a request is part of its key ([`answer_fields`]'s rules).
fn kept(k: &str, v: &Value, has_tools: bool) -> bool {
    if v.is_null() || IGNORED_FIELDS.contains(&k) {
        return false;
    }
    if DEFAULT_VALUES
        .iter()
        .any(|(name, d)| *name == k && d.matches(v))
    {
        return false;
    }
    !match (k, v) {
        ("tools" | "functions" | "stop", Value::Array(a)) => a.is_empty(),
        ("tool_choice" | "function_call", Value::String(s)) => {
            (has_tools && s == "auto") || (!has_tools && s == "none")
        }
        _ => false,
    }
}

/// The canonical JSON of `answer_fields(body)`, written from the body in place (no copy of
/// its values): the same text `write_canonical_map(&answer_fields(body), out)` writes.
fn write_answer_fields(body: &Map<String, Value>, out: &mut String) {
    write_map(body, Some(has_tools(body)), out);
}

/// `m` with its keys sorted; with `answer = Some(has_tools)`, only its answer fields
/// ([`kept`]), `stop: "x"` written as `["x"]`.
fn write_map(m: &Map<String, Value>, answer: Option<bool>, out: &mut String) {
    let mut entries: Vec<(&String, &Value)> = m
        .iter()
        .filter(|(k, v)| answer.is_none_or(|tools| kept(k, v, tools)))
        .collect();
    crate::sort::sort_by(&mut entries, |a, b| a.0.cmp(b.0));
    out.push('{');
    for (i, (k, v)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_str(k, out);
        out.push(':');
        match (answer, k.as_str(), v) {
            (Some(_), "stop", Value::String(s)) => {
                out.push('[');
                write_json_str(s, out);
                out.push(']');
            }
            _ => write_canonical(v, out),
        }
    }
    out.push('}');
}

/// JSON with object keys sorted at every level and integral floats written as integers, so
/// equal requests give equal text whatever their key order or number spelling.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical_map(m: &Map<String, Value>, out: &mut String) {
    write_map(m, None, out);
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(m) => write_canonical_map(m, out),
        Value::Array(a) => {
            out.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                out.push_str(&(f as i64).to_string());
            }
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => write_json_str(s, out),
        other => out.push_str(&other.to_string()),
    }
}

/// `s` as a JSON string, escaped exactly as serde_json writes it (so keys do not change):
/// `"` and `\\` escaped, control characters as `\n`-style escapes or `\u00XX`.
fn write_json_str(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len() + 2);
    out.push('"');
    let mut clean = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(s.get(clean..i).unwrap_or_default());
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(
                HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0'),
            ));
            out.push(char::from(
                HEX.get(usize::from(b & 0xf)).copied().unwrap_or(b'0'),
            ));
        } else {
            out.push_str(escape);
        }
        clean = i + 1;
    }
    out.push_str(s.get(clean..).unwrap_or_default());
    out.push('"');
}

/// The storage key: `<namespace>:<sha256 hex>` (the bare hash without a namespace) of the
/// canonical JSON of `{ v, call, group, request }`. `group` is the model group, or its
/// caching group's name; `request` is the answer fields of `body` (a request with its router
/// kwargs removed; see [`kept`]), written from the body in place with no copy of its values.
/// Credentials never enter it: they live on deployments, and per-request `api_key`/`api_base`
/// are refused.
pub fn storage_key(
    namespace: Option<&str>,
    call: &str,
    group: &str,
    body: &Map<String, Value>,
) -> String {
    key_of(namespace, call, group, |out| write_answer_fields(body, out))
}

/// The key of answer fields already picked: the recipe before 2026-12-04, kept as the
/// reference [`storage_key`] is checked against (tests, fuzz invariants).
pub fn storage_key_of_fields(
    namespace: Option<&str>,
    call: &str,
    group: &str,
    fields: &Map<String, Value>,
) -> String {
    key_of(namespace, call, group, |out| {
        write_canonical_map(fields, out)
    })
}

fn key_of(
    namespace: Option<&str>,
    call: &str,
    group: &str,
    request: impl FnOnce(&mut String),
) -> String {
    // The canonical JSON of the object, written directly (keys in sorted order).
    let mut material = String::with_capacity(256);
    material.push_str("{\"call\":");
    write_json_str(call, &mut material);
    material.push_str(",\"group\":");
    write_json_str(group, &mut material);
    material.push_str(",\"request\":");
    request(&mut material);
    material.push_str(&format!(",\"v\":{FORMAT_VERSION}}}"));
    let hash = crate::hash::sha256_hex(material.as_bytes());
    match namespace {
        Some(ns) if !ns.is_empty() => format!("{ns}:{hash}"),
        _ => hash,
    }
}

/// The longest a request's own `cache: { ttl }` may keep an answer: 24 hours, or the
/// operator's `cache_kwargs.ttl` when that is longer.
pub const MAX_REQUEST_TTL_MS: u64 = 24 * 60 * 60 * 1000;

/// The TTL of an answer: the request's `ttl` (clamped to [`MAX_REQUEST_TTL_MS`] or the
/// operator's TTL, whichever is longer), else the operator's.
pub fn request_ttl_ms(requested: Option<u64>, configured: u64) -> u64 {
    match requested {
        Some(ttl) => ttl.min(MAX_REQUEST_TTL_MS.max(configured)),
        None => configured,
    }
}

/// The key namespace of a request: the request's `cache.namespace` nested inside the
/// operator's `cache_kwargs.namespace` (`<operator>:<request>`), so a caller can partition
/// its own entries but never step outside the operator's.
pub fn nested_namespace(operator: Option<&str>, request: Option<&str>) -> Option<String> {
    let operator = operator.filter(|s| !s.is_empty());
    let request = request.filter(|s| !s.is_empty());
    match (operator, request) {
        (Some(op), Some(req)) => Some(format!("{op}:{req}")),
        (Some(op), None) => Some(op.to_string()),
        (None, Some(req)) => Some(req.to_string()),
        (None, None) => None,
    }
}

/// Which deployment produced a cached answer (restored into `_hidden_params` on a hit).
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    pub model_id: String,
    pub model_group: String,
    pub custom_llm_provider: String,
    pub api_base: Option<String>,
}

impl Origin {
    fn to_json(&self) -> Value {
        crate::obj! {
            "model_id": self.model_id.clone(),
            "model_group": self.model_group.clone(),
            "custom_llm_provider": self.custom_llm_provider.clone(),
            "api_base": self.api_base.clone(),
        }
    }

    fn from_json(v: &Value) -> Option<Origin> {
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        Some(Origin {
            model_id: text("model_id")?,
            model_group: text("model_group")?,
            custom_llm_provider: text("custom_llm_provider")?,
            api_base: text("api_base"),
        })
    }
}

/// One stored answer: `{"v":1,"stored_at_ms":…,"expires_at_ms":…|null,"origin":{…},"body":…}`.
/// The expiry travels inside the value, so a backend without TTL support still expires it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub stored_at_ms: f64,
    pub expires_at_ms: Option<f64>,
    pub origin: Origin,
    pub body: Value,
}

impl Entry {
    pub fn encode(&self) -> String {
        crate::obj! {
            "v": FORMAT_VERSION,
            "stored_at_ms": self.stored_at_ms,
            "expires_at_ms": self.expires_at_ms,
            "origin": self.origin.to_json(),
            "body": self.body.clone(),
        }
        .to_string()
    }

    /// `None` for another format version or a malformed value.
    pub fn decode(text: &str) -> Option<Entry> {
        let mut v: Value = serde_json::from_str(text).ok()?;
        let obj = v.as_object_mut()?;
        if obj.get("v").and_then(Value::as_u64) != Some(FORMAT_VERSION) {
            return None;
        }
        Some(Entry {
            stored_at_ms: obj.get("stored_at_ms").and_then(Value::as_f64)?,
            expires_at_ms: obj.get("expires_at_ms").and_then(Value::as_f64),
            origin: Origin::from_json(obj.get("origin")?)?,
            body: obj.remove("body")?,
        })
    }

    /// Whether the entry may answer at `now_ms`: not expired and, with `s-maxage`, young
    /// enough.
    pub fn fresh(&self, now_ms: f64, max_age_ms: Option<u64>) -> bool {
        fresh(self.stored_at_ms, self.expires_at_ms, now_ms, max_age_ms)
    }
}

fn fresh(stored_at_ms: f64, expires_at_ms: Option<f64>, now_ms: f64, max_age: Option<u64>) -> bool {
    expires_at_ms.is_none_or(|at| now_ms < at)
        && max_age.is_none_or(|age| now_ms - stored_at_ms <= age as f64)
}

/// A stored entry read without building its body: the body stays the text it was stored as
/// (a cache hit hands it on as it is).
pub struct RawEntry<'a> {
    pub stored_at_ms: f64,
    pub expires_at_ms: Option<f64>,
    pub origin: Origin,
    pub body: &'a str,
}

#[derive(serde::Deserialize)]
struct StoredEntry<'a> {
    v: u64,
    stored_at_ms: f64,
    expires_at_ms: Option<f64>,
    #[serde(borrow)]
    origin: StoredOrigin<'a>,
    #[serde(borrow)]
    body: &'a serde_json::value::RawValue,
}

#[derive(serde::Deserialize)]
struct StoredOrigin<'a> {
    #[serde(borrow)]
    model_id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    model_group: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    custom_llm_provider: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    api_base: Option<std::borrow::Cow<'a, str>>,
}

impl<'a> RawEntry<'a> {
    /// `None` for another format version or a malformed value (as `Entry::decode`).
    pub fn decode(text: &'a str) -> Option<RawEntry<'a>> {
        let e: StoredEntry = serde_json::from_str(text).ok()?;
        (e.v == FORMAT_VERSION).then(|| RawEntry {
            stored_at_ms: e.stored_at_ms,
            expires_at_ms: e.expires_at_ms,
            origin: Origin {
                model_id: e.origin.model_id.into_owned(),
                model_group: e.origin.model_group.into_owned(),
                custom_llm_provider: e.origin.custom_llm_provider.into_owned(),
                api_base: e.origin.api_base.map(std::borrow::Cow::into_owned),
            },
            body: e.body.get(),
        })
    }

    pub fn fresh(&self, now_ms: f64, max_age_ms: Option<u64>) -> bool {
        fresh(self.stored_at_ms, self.expires_at_ms, now_ms, max_age_ms)
    }
}

/// LiteLLM's per-request cache controls: `cache: { "no-cache", "no-store", ttl, namespace,
/// "s-maxage" }` and `caching: false`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CacheControls {
    /// `caching: false`: neither read nor write the cache for this call.
    pub disabled: bool,
    /// Skip the lookup (the fresh answer is still stored).
    pub no_cache: bool,
    /// Do not store this call's answer.
    pub no_store: bool,
    /// TTL of the stored answer, overriding `cache_kwargs.ttl`.
    pub ttl_ms: Option<u64>,
    /// Namespace of the key, overriding `cache_kwargs.namespace`.
    pub namespace: Option<String>,
    /// Accept only cached answers at most this old.
    pub max_age_ms: Option<u64>,
}

const CONTROL_KEYS: &str = "\"no-cache\", \"no-store\", \"ttl\", \"namespace\", \"s-maxage\"";

impl CacheControls {
    /// Parses the `cache` and `caching` request fields (already removed from the body).
    pub fn parse(cache: Option<Value>, caching: Option<Value>) -> Result<CacheControls, LlmError> {
        let mut c = CacheControls::default();
        match caching {
            None | Some(Value::Null) => {}
            Some(Value::Bool(b)) => c.disabled = !b,
            Some(_) => return Err(LlmError::bad_request("`caching` must be true or false")),
        }
        let obj = match cache {
            None | Some(Value::Null) => return Ok(c),
            Some(Value::Object(m)) => m,
            Some(_) => {
                return Err(LlmError::bad_request(format!(
                    "`cache` must be an object with any of {CONTROL_KEYS}"
                )))
            }
        };
        let flag = |key: &str| -> Result<bool, LlmError> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(false),
                Some(Value::Bool(b)) => Ok(*b),
                Some(_) => Err(LlmError::bad_request(format!(
                    "`cache[\"{key}\"]` must be true or false"
                ))),
            }
        };
        let seconds = |key: &str| -> Result<Option<u64>, LlmError> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_f64()
                    .filter(|s| s.is_finite() && *s >= 0.0 && *s <= 1.0e9)
                    .map(|s| Some((s * 1000.0).round() as u64))
                    .ok_or_else(|| {
                        LlmError::bad_request(format!(
                            "`cache[\"{key}\"]` must be a number of seconds >= 0"
                        ))
                    }),
            }
        };
        for key in obj.keys() {
            if !["no-cache", "no-store", "ttl", "namespace", "s-maxage"].contains(&key.as_str()) {
                return Err(LlmError::bad_request(format!(
                    "`cache[\"{key}\"]` is not a cache control (expected {CONTROL_KEYS})"
                )));
            }
        }
        c.no_cache = flag("no-cache")?;
        c.no_store = flag("no-store")?;
        c.ttl_ms = seconds("ttl")?;
        c.max_age_ms = seconds("s-maxage")?;
        c.namespace = match obj.get("namespace") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(LlmError::bad_request(
                    "`cache[\"namespace\"]` must be a string",
                ))
            }
        };
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn the_key_written_from_the_body_is_the_key_of_its_answer_fields() {
        let bodies = [
            json!({"model": "m", "messages": [{"role": "user", "content": "hi \"there\"\n"}]}),
            json!({"model": "m", "messages": [], "temperature": 1, "top_p": 0.5, "n": 1.0,
                   "stop": "x", "user": "u", "stream": false, "seed": null, "z": {"b": 1.0, "a": [2.5, "s"]}}),
            json!({"model": "m", "tools": [{"type": "function", "function": {"name": "f"}}],
                   "tool_choice": "auto", "stop": [], "functions": [], "logprobs": false, "echo": true}),
            json!({"model": "m", "tools": [], "tool_choice": "none", "function_call": "auto",
                   "stop": ["a", "b"], "encoding_format": "base64", "parallel_tool_calls": true}),
            json!({"prompt": "p", "max_tokens": 16, "best_of": 2, "presence_penalty": 0.0}),
        ];
        for body in bodies {
            let body = obj(body);
            for ns in [None, Some("team")] {
                assert_eq!(
                    storage_key(ns, "completion", "g", &body),
                    storage_key_of_fields(ns, "completion", "g", &answer_fields(&body)),
                    "{body:?}"
                );
            }
        }
    }

    #[test]
    fn strings_are_escaped_exactly_as_serde_json_escapes_them() {
        for s in [
            "plain",
            "quo\"te",
            "back\\slash",
            "nl\ncr\rtab\t",
            "\u{0}\u{1f}\u{7f}\u{8}\u{c}",
            "é ü 日本 🎉",
            "",
        ] {
            let mut out = String::new();
            write_json_str(s, &mut out);
            assert_eq!(out, Value::from(s).to_string(), "{s:?}");
        }
    }

    #[test]
    fn canonical_json_sorts_keys_and_normalises_integral_floats() {
        let a = json!({"b": 1.0, "a": {"y": [1, 2.5], "x": null}});
        assert_eq!(canonical_json(&a), r#"{"a":{"x":null,"y":[1,2.5]},"b":1}"#);
    }

    #[test]
    fn defaults_ignored_fields_and_spellings_share_a_key() {
        let plain = obj(json!({"model": "g", "messages": [{"role": "user", "content": "hi"}]}));
        let spelled = obj(json!({
            "messages": [{"content": "hi", "role": "user"}], "model": "other",
            "temperature": 1, "top_p": 1.0, "n": 1, "user": "u-1", "stream": true,
            "stop": [], "tool_choice": "none", "seed": null, "stream_options": {"include_usage": true}
        }));
        let k = |b: &Map<String, Value>| {
            storage_key_of_fields(None, "completion", "g", &answer_fields(b))
        };
        assert_eq!(k(&plain), k(&spelled));
        let hot = obj(
            json!({"model": "g", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.2}),
        );
        assert_ne!(k(&plain), k(&hot));
        assert_ne!(
            storage_key_of_fields(None, "completion", "g", &answer_fields(&plain)),
            storage_key_of_fields(None, "completion", "h", &answer_fields(&plain))
        );
        assert_ne!(
            storage_key_of_fields(None, "completion", "g", &answer_fields(&plain)),
            storage_key_of_fields(None, "text_completion", "g", &answer_fields(&plain))
        );
        let stop_str = obj(json!({"messages": [], "stop": "x"}));
        let stop_arr = obj(json!({"messages": [], "stop": ["x"]}));
        assert_eq!(k(&stop_str), k(&stop_arr));
    }

    #[test]
    fn keys_are_namespaced_hex() {
        let fields = obj(json!({"messages": []}));
        let bare = storage_key_of_fields(None, "completion", "g", &fields);
        assert_eq!(bare.len(), 64);
        assert!(bare.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(
            storage_key_of_fields(Some("ns"), "completion", "g", &fields),
            format!("ns:{bare}")
        );
    }

    #[test]
    fn entries_round_trip_and_expire_by_their_own_clock() {
        let e = Entry {
            stored_at_ms: 1000.0,
            expires_at_ms: Some(2000.0),
            origin: Origin {
                model_id: "a".into(),
                model_group: "g".into(),
                custom_llm_provider: "openai".into(),
                api_base: None,
            },
            body: json!({"x": 1}),
        };
        let back = Entry::decode(&e.encode());
        assert_eq!(back.as_ref(), Some(&e));
        assert!(e.fresh(1999.0, None));
        assert!(!e.fresh(2000.0, None));
        assert!(!e.fresh(1600.0, Some(500)));
        assert!(e.fresh(1500.0, Some(500)));
        assert_eq!(Entry::decode("{\"v\":99}"), None);
        assert_eq!(Entry::decode("not json"), None);
    }

    #[test]
    fn controls_parse_litellm_names_and_refuse_others() {
        let c = CacheControls::parse(
            Some(json!({"no-cache": true, "no-store": true, "ttl": 1.5, "namespace": "n", "s-maxage": 10})),
            Some(json!(false)),
        )
        .ok();
        assert_eq!(
            c,
            Some(CacheControls {
                disabled: true,
                no_cache: true,
                no_store: true,
                ttl_ms: Some(1500),
                namespace: Some("n".into()),
                max_age_ms: Some(10_000),
            })
        );
        assert!(CacheControls::parse(Some(json!({"nocache": true})), None).is_err());
        assert!(CacheControls::parse(Some(json!({"ttl": -1})), None).is_err());
        assert!(CacheControls::parse(Some(json!(true)), None).is_err());
        assert!(CacheControls::parse(None, Some(json!("no"))).is_err());
    }
}
