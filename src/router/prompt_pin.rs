//! `optional_pre_call_checks: ["prompt_caching"]`: a prompt whose `cache_control` prefix a
//! deployment answered goes back to that deployment, where the provider's prompt cache holds it.

use super::{Call, Router};
use crate::config::Deployment;
use crate::types::object::Put;
use crate::types::tokens::estimate_input_tokens;
use serde_json::{Map, Value};

/// LiteLLM's `DEFAULT_MINIMUM_PROMPT_CACHE_TOKEN_COUNT`: shorter prefixes are not cached.
pub const MIN_CACHEABLE_TOKENS: u64 = 1024;
/// LiteLLM's `PROMPT_CACHE_PIN_TTL_SECONDS` (5 min), and 1 h for `cache_control.ttl: "1h"`.
const PIN_TTL_MS: u64 = 300_000;
const ONE_HOUR_PIN_TTL_MS: u64 = 3_600_000;
/// Cache breakpoints looked at per request (Anthropic allows 4; more are ignored).
const MAX_BREAKPOINTS: usize = 8;

/// One cache breakpoint of a prompt: the digest of everything up to it, and its pin TTL.
struct Breakpoint {
    digest: [u8; 32],
    ttl_ms: u64,
}

fn ephemeral(mark: Option<&Value>) -> Option<u64> {
    let mark = mark?.as_object()?;
    (mark.get("type")?.as_str()? == "ephemeral").then(|| {
        if mark.get("ttl").and_then(Value::as_str) == Some("1h") {
            ONE_HOUR_PIN_TTL_MS
        } else {
            PIN_TTL_MS
        }
    })
}

/// The unit hashed for a block or message: its JSON without `cache_control` (a marker moved
/// to a later turn must not change the prefix), in canonical form.
fn unit(value: &Value, role: Option<&Value>) -> Vec<u8> {
    let mut v = value.clone();
    if let Value::Object(m) = &mut v {
        m.remove("cache_control");
        if let Some(role) = role {
            m.put("role", role.clone());
        }
    }
    crate::cache::canonical_json(&v).into_bytes()
}

fn chain(digest: &[u8; 32], unit: &[u8]) -> [u8; 32] {
    let mut data = Vec::with_capacity(32 + unit.len());
    data.extend_from_slice(digest);
    data.extend_from_slice(unit);
    crate::hash::sha256(&data)
}

/// The breakpoints of a chat body, when its cacheable prefix (up to the last one) reaches
/// [`MIN_CACHEABLE_TOKENS`]. Tools seed the chain: a different tool list is another prefix.
fn breakpoints(body: &Map<String, Value>) -> Vec<Breakpoint> {
    let Some(Value::Array(messages)) = body.get("messages") else {
        return Vec::new();
    };
    let mut digest = match body.get("tools") {
        Some(tools @ Value::Array(_)) => {
            let mut tools = tools.clone();
            if let Value::Array(items) = &mut tools {
                for t in items.iter_mut().filter_map(Value::as_object_mut) {
                    t.remove("cache_control");
                }
            }
            crate::hash::sha256(crate::cache::canonical_json(&tools).as_bytes())
        }
        _ => [0; 32],
    };
    let mut found = Vec::new();
    let mut last_message = None;
    for (i, message) in messages.iter().enumerate() {
        let Some(m) = message.as_object() else {
            continue;
        };
        let role = m.get("role");
        match m.get("content") {
            Some(Value::Array(blocks)) => {
                for block in blocks {
                    digest = chain(&digest, &unit(block, role));
                    if let Some(ttl_ms) = ephemeral(block.get("cache_control")) {
                        found.push(Breakpoint { digest, ttl_ms });
                        last_message = Some(i);
                    }
                }
            }
            _ => digest = chain(&digest, &unit(message, None)),
        }
        if let Some(ttl_ms) = ephemeral(m.get("cache_control")) {
            found.push(Breakpoint { digest, ttl_ms });
            last_message = Some(i);
        }
        if found.len() >= MAX_BREAKPOINTS {
            break;
        }
    }
    let Some(last) = last_message else {
        return Vec::new();
    };
    let mut prefix = Map::new();
    prefix.insert(
        "messages".into(),
        Value::Array(messages.iter().take(last + 1).cloned().collect()),
    );
    if estimate_input_tokens(&prefix) < MIN_CACHEABLE_TOKENS {
        return Vec::new();
    }
    found
}

fn key(group: &str, digest: &[u8; 32]) -> String {
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("prompt\u{0}{group}\u{0}{hex}")
}

impl Router {
    fn prompt_caching(&self) -> bool {
        self.inner.config.selection.prompt_caching
    }

    /// The deployment of `pool` that last answered this prompt's cacheable prefix (the latest
    /// breakpoint first), unless it was tried in this call.
    pub(super) fn prompt_pinned(
        &self,
        call: &Call,
        group: &str,
        pool: &[&Deployment],
        tried: &[String],
    ) -> Option<usize> {
        if !self.prompt_caching() || pool.len() < 2 {
            return None;
        }
        let now = self.now();
        let pins = self.inner.pins.borrow();
        breakpoints(&call.body).iter().rev().find_map(|b| {
            let id = pins.get(&key(group, &b.digest), now)?;
            if tried.iter().any(|t| t == id) {
                return None;
            }
            pool.iter().position(|d| d.id == id)
        })
    }

    /// After `d` answered: pins every breakpoint of the prompt to it.
    pub(super) fn pin_prompt(&self, call: &Call, d: &Deployment) {
        if !self.prompt_caching() {
            return;
        }
        let now = self.now();
        let mut pins = self.inner.pins.borrow_mut();
        for b in breakpoints(&call.body) {
            pins.repin(&key(&d.model_group, &b.digest), &d.id, now, b.ttl_ms);
        }
    }
}
