//! Which deployments of a group may take a request, beyond cooldowns: tag routing,
//! health-check routing and affinity pins. Each filter is one function over the candidates.

use super::{Call, Router};
use crate::config::selection::TagRouting;
use crate::config::Deployment;
use crate::error::LlmError;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::rc::Rc;

/// The most tags one request routes by (more are ignored).
pub const MAX_REQUEST_TAGS: usize = 64;
/// The longest affinity key (caller key, session id) llmux pins; longer ones do not pin.
pub const MAX_AFFINITY_KEY_BYTES: usize = 256;
/// The most affinity pins kept; past it, the pin closest to expiry is dropped.
pub const MAX_PINS: usize = 10_000;

/// What a request says about where it may go (`metadata.tags`, the affinity keys).
#[derive(Debug, Clone, Default)]
pub struct Selector {
    /// `None`: the request carries no metadata (LiteLLM's untagged path).
    pub tags: Option<Vec<String>>,
    /// `metadata.user_api_key_hash`, else `"user_id:" + metadata.user_api_key_user_id`.
    pub user_key: Option<String>,
    /// `metadata.session_id`.
    pub session_id: Option<String>,
}

impl Selector {
    /// Reads the selection facts from the request's `metadata` / `litellm_metadata` and its
    /// top-level `tags` (called before those fields are stripped).
    pub fn from_request(body: &Map<String, Value>) -> Selector {
        let metadata: Vec<&Map<String, Value>> = ["litellm_metadata", "metadata"]
            .iter()
            .filter_map(|k| body.get(*k).and_then(Value::as_object))
            .collect();
        let mut tags: Option<Vec<String>> = None;
        let sources = metadata
            .iter()
            .map(|m| m.get("tags"))
            .chain(std::iter::once(body.get("tags")));
        for source in sources.flatten() {
            let list = tags.get_or_insert_with(Vec::new);
            if let Value::Array(items) = source {
                for tag in items.iter().filter_map(Value::as_str) {
                    if list.len() < MAX_REQUEST_TAGS && !list.iter().any(|t| t == tag) {
                        list.push(tag.to_string());
                    }
                }
            }
        }
        if tags.is_none() && !metadata.is_empty() {
            tags = Some(Vec::new());
        }
        let first = |key: &str| -> Option<String> {
            metadata.iter().find_map(|m| match m.get(key) {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            })
        };
        let bounded = |s: String| (!s.is_empty() && s.len() <= MAX_AFFINITY_KEY_BYTES).then_some(s);
        let user_key = first("user_api_key_hash")
            .or_else(|| first("user_api_key_user_id").map(|id| format!("user_id:{id}")))
            .and_then(bounded);
        let session_id = first("session_id").and_then(bounded);
        Selector {
            tags,
            user_key,
            session_id,
        }
    }
}

/// LiteLLM's `RouterErrors.no_deployments_with_tag_routing`.
fn tag_error(group: &str, tags: &[String]) -> LlmError {
    let list = tags
        .iter()
        .map(|t| format!("'{t}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut e = LlmError::bad_request(format!(
        "Not allowed to access model due to tags configuration. Passed model={group} and tags=[{list}]"
    ));
    e.model_group = Some(group.to_string());
    e
}

fn carries(d: &Deployment, tag: &str) -> bool {
    d.tags.iter().any(|t| t == tag)
}

/// Tag routing (LiteLLM's `get_deployments_for_tag`): `!tag` excludes deployments carrying
/// it, `&tag` requires it, plain tags select deployments carrying any (or, with
/// `match_any: false`, all) of them, else those tagged `default`. An untagged request goes
/// to the `default`-tagged deployments when there are any, else to all.
pub fn by_tags<'d>(
    cfg: &TagRouting,
    group: &str,
    all: &[Rc<Deployment>],
    healthy: Vec<&'d Rc<Deployment>>,
    tags: Option<&[String]>,
) -> Result<Vec<&'d Rc<Deployment>>, LlmError> {
    let defaults = |pool: &[&'d Rc<Deployment>]| -> Vec<&'d Rc<Deployment>> {
        pool.iter()
            .copied()
            .filter(|d| carries(d, "default"))
            .collect()
    };
    let Some(request_tags) = tags.filter(|t| !t.is_empty()) else {
        let tagged = defaults(&healthy);
        return Ok(if tagged.is_empty() { healthy } else { tagged });
    };
    // With a prefix, only prefixed tags route (the prefix stripped).
    let routing: Vec<&str> = if cfg.prefix.is_empty() {
        request_tags.iter().map(String::as_str).collect()
    } else {
        request_tags
            .iter()
            .filter_map(|t| t.strip_prefix(cfg.prefix.as_str()))
            .collect()
    };
    let confirmed = |tag: &str| !cfg.prefix.is_empty() && routing.contains(&tag);
    let marked = |mark: char| -> Vec<&str> {
        routing
            .iter()
            .filter_map(|t| t.strip_prefix(mark))
            .filter(|t| !t.is_empty())
            .collect()
    };
    let required = marked('&');
    let excluded = marked('!');
    let positive: Vec<&str> = routing
        .iter()
        .copied()
        .filter(|t| !t.starts_with('&') && !t.starts_with('!'))
        .collect();
    let allowed = |pool: Vec<&'d Rc<Deployment>>| -> Vec<&'d Rc<Deployment>> {
        pool.into_iter()
            .filter(|d| !excluded.iter().any(|t| carries(d, t)))
            .filter(|d| required.iter().all(|t| carries(d, t)))
            .collect()
    };
    if positive.is_empty() {
        if required.is_empty() && excluded.is_empty() {
            // Only unprefixed tags: the request routes as an untagged one.
            let tagged = defaults(&healthy);
            return Ok(if tagged.is_empty() { healthy } else { tagged });
        }
        let pool = if required.is_empty() {
            let tagged = defaults(&healthy);
            allowed(if tagged.is_empty() { healthy } else { tagged })
        } else {
            allowed(healthy)
        };
        return if pool.is_empty() {
            Err(tag_error(group, request_tags))
        } else {
            Ok(pool)
        };
    }
    let candidates = allowed(healthy);
    let matches: Vec<&Rc<Deployment>> = candidates
        .iter()
        .copied()
        .filter(|d| {
            if cfg.match_any {
                positive.iter().any(|t| carries(d, t))
            } else {
                !d.tags.is_empty() && positive.iter().all(|t| carries(d, t))
            }
        })
        .collect();
    if !matches.is_empty() {
        return Ok(matches);
    }
    let tagged = defaults(&candidates);
    // A tag some deployment of the group carries (one cooling down, say) is a real ask:
    // the default deployments do not stand in for it.
    let known = positive
        .iter()
        .any(|t| confirmed(t) || all.iter().any(|d| carries(d, t)));
    if tagged.is_empty() || known {
        return Err(tag_error(group, request_tags));
    }
    Ok(tagged)
}

/// One deployment's last health-check result (`enable_health_check_routing`).
#[derive(Debug, Clone, Copy)]
struct HealthState {
    healthy: bool,
    at_ms: f64,
}

/// The last health-check result per deployment id; only ids of the table are kept.
#[derive(Debug, Default)]
pub struct HealthBook {
    states: HashMap<String, HealthState>,
}

impl HealthBook {
    pub fn record(&mut self, id: &str, healthy: bool, now: f64) {
        self.states.insert(
            id.to_string(),
            HealthState {
                healthy,
                at_ms: now,
            },
        );
    }

    /// Drops results of deployments no longer in the table.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.states.retain(|id, _| keep(id));
    }

    /// Whether `id`'s last check failed less than `staleness_ms` ago.
    pub fn is_unhealthy(&self, id: &str, now: f64, staleness_ms: u64) -> bool {
        self.states
            .get(id)
            .is_some_and(|s| !s.healthy && now - s.at_ms < staleness_ms as f64)
    }
}

#[derive(Debug, Clone)]
struct Pin {
    id: String,
    expires_ms: f64,
}

/// Affinity pins: (group, caller key or session) -> deployment id, each with a TTL; at most
/// [`MAX_PINS`] entries.
#[derive(Debug, Default)]
pub struct PinTable {
    pins: HashMap<String, Pin>,
}

impl PinTable {
    pub fn get(&self, key: &str, now: f64) -> Option<&str> {
        self.pins
            .get(key)
            .filter(|p| p.expires_ms > now)
            .map(|p| p.id.as_str())
    }

    /// First writer wins: sets the pin when there is none (or it expired); refreshes its TTL
    /// when it already names `id`.
    pub fn claim(&mut self, key: &str, id: &str, now: f64, ttl_ms: u64) {
        let expires_ms = now + ttl_ms as f64;
        match self.pins.get_mut(key) {
            Some(p) if p.expires_ms > now => {
                if p.id == id {
                    p.expires_ms = expires_ms;
                }
            }
            _ => self.set(key, id, expires_ms, now),
        }
    }

    /// Moves the pin to `id` whatever it named.
    pub fn repin(&mut self, key: &str, id: &str, now: f64, ttl_ms: u64) {
        self.set(key, id, now + ttl_ms as f64, now);
    }

    fn set(&mut self, key: &str, id: &str, expires_ms: f64, now: f64) {
        if self.pins.len() >= MAX_PINS && !self.pins.contains_key(key) {
            self.pins.retain(|_, p| p.expires_ms > now);
            if self.pins.len() >= MAX_PINS {
                let soonest = self
                    .pins
                    .iter()
                    .min_by(|a, b| a.1.expires_ms.total_cmp(&b.1.expires_ms))
                    .map(|(k, _)| k.clone());
                if let Some(k) = soonest {
                    self.pins.remove(&k);
                }
            }
        }
        self.pins.insert(
            key.to_string(),
            Pin {
                id: id.to_string(),
                expires_ms,
            },
        );
    }

    pub fn count(&self) -> usize {
        self.pins.len()
    }
}

/// The pin keys of a request in `group`: (caller-key pin, session pin).
fn pin_keys(router: &Router, call: &Call, group: &str) -> (Option<String>, Option<String>) {
    let (by_user, by_session) = router.inner.config.selection.affinity.flags(group);
    let sel = &call.opts.selector;
    let user = sel
        .user_key
        .as_deref()
        .filter(|_| by_user)
        .map(|k| format!("user\u{0}{group}\u{0}{k}"));
    let session = sel.session_id.as_deref().filter(|_| by_session).map(|s| {
        let scope = sel.user_key.as_deref().unwrap_or("unscoped");
        format!("session\u{0}{group}\u{0}{scope}\u{0}{s}")
    });
    (user, session)
}

impl Router {
    /// The selection filters after cooldowns, in LiteLLM's order: tags, then health-check
    /// results. (A budget filter slots in here, on the same `Vec`.) Never empties the list
    /// but with an error.
    pub(super) fn eligible<'d>(
        &self,
        call: &Call,
        serving: &[Rc<Deployment>],
        healthy: Vec<&'d Rc<Deployment>>,
        group: &str,
    ) -> Result<Vec<&'d Rc<Deployment>>, LlmError> {
        let sel = &self.inner.config.selection;
        let mut healthy = healthy;
        // `model_info.enable_tag_filtering` on the group's first deployment that sets it
        // overrides the router-wide option for the group (as LiteLLM).
        let tags_on = serving
            .iter()
            .find_map(|d| d.model_info.raw.get("enable_tag_filtering")?.as_bool())
            .unwrap_or(sel.tags.enabled);
        if tags_on {
            healthy = by_tags(
                &sel.tags,
                group,
                serving,
                healthy,
                call.opts.selector.tags.as_deref(),
            )?;
        }
        if sel.health.enabled {
            let now = self.now();
            let book = self.inner.health_book.borrow();
            let passing: Vec<&Rc<Deployment>> = healthy
                .iter()
                .copied()
                .filter(|d| !book.is_unhealthy(&d.id, now, sel.health.staleness_ms))
                .collect();
            // Every deployment failing its check: route as if none had been checked.
            if !passing.is_empty() {
                healthy = passing;
            }
        }
        Ok(healthy)
    }

    /// The pinned deployment of `pool` for this request, if it has a live pin there that
    /// was not already tried in this call: session pin first, then the caller-key pin.
    pub(super) fn pinned(
        &self,
        call: &Call,
        group: &str,
        pool: &[&Deployment],
        tried: &[String],
    ) -> Option<usize> {
        if !self.inner.config.selection.affinity.any() {
            return None;
        }
        let (user, session) = pin_keys(self, call, group);
        let now = self.now();
        let pins = self.inner.pins.borrow();
        [session, user].iter().flatten().find_map(|key| {
            let id = pins.get(key, now)?;
            if tried.iter().any(|t| t == id) {
                return None;
            }
            pool.iter().position(|d| d.id == id)
        })
    }

    /// The pre-call half of affinity: pins the chosen deployment where no pin exists yet.
    pub(super) fn claim_pins(&self, call: &Call, group: &str, id: &str) {
        let affinity = &self.inner.config.selection.affinity;
        if !affinity.any() {
            return;
        }
        let (user, session) = pin_keys(self, call, group);
        let now = self.now();
        let mut pins = self.inner.pins.borrow_mut();
        for key in [user, session].iter().flatten() {
            pins.claim(key, id, now, affinity.ttl_ms);
        }
    }

    /// `session_affinity_repin_on_failover`: after `d` answered, a session pin naming a
    /// deployment that is cooling down, failing its health check or gone moves to `d`.
    pub(super) fn repin_after_success(&self, call: &Call, d: &Deployment) {
        let affinity = &self.inner.config.selection.affinity;
        if !affinity.repin_on_failover {
            return;
        }
        let (_, Some(key)) = pin_keys(self, call, &d.model_group) else {
            return;
        };
        let now = self.now();
        let pinned = self.inner.pins.borrow().get(&key, now).map(str::to_string);
        let Some(pinned) = pinned else {
            return;
        };
        if pinned == d.id {
            return;
        }
        let table = self.table();
        let gone = !table.deployments().iter().any(|x| x.id == pinned);
        let cooling = self.inner.cooldowns.borrow().is_cooling(&pinned, now);
        let health = &self.inner.config.selection.health;
        let failing = health.enabled
            && self
                .inner
                .health_book
                .borrow()
                .is_unhealthy(&pinned, now, health.staleness_ms);
        if gone || cooling || failing {
            self.inner
                .pins
                .borrow_mut()
                .repin(&key, &d.id, now, affinity.ttl_ms);
        }
    }

    /// Books a health-check result for health-check routing (`health_check` calls it).
    /// `status`: the failed probe's HTTP status, if any.
    pub(super) fn record_health(&self, d: &Deployment, healthy: bool, status: Option<u16>) {
        let health = &self.inner.config.selection.health;
        if !health.enabled {
            return;
        }
        // 429 and 408 keep the previous result (LiteLLM writes no state for them).
        if !healthy && health.ignore_transient_errors && matches!(status, Some(429 | 408)) {
            return;
        }
        let now = self.now();
        self.inner
            .health_book
            .borrow_mut()
            .record(&d.id, healthy, now);
    }

    /// Drops health results of deployments no longer in the table (after a health check).
    pub(super) fn prune_health(&self) {
        let table = self.table();
        let ids: std::collections::HashSet<&str> =
            table.deployments().iter().map(|d| d.id.as_str()).collect();
        self.inner
            .health_book
            .borrow_mut()
            .retain(|id| ids.contains(id));
    }

    /// The number of affinity pins held (for tests and metrics).
    pub fn affinity_pins(&self) -> usize {
        self.inner.pins.borrow().count()
    }
}
