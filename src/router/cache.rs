//! Response caching around a call: lookup before routing, store after success, embeddings
//! cached per input item, identical concurrent requests coalesced onto one upstream call.
//! A failing backend never fails a request: it is bypassed and reported once.

use super::{Call, CallOptions, HiddenParams, Routed, Router};
use crate::cache::{self, CacheBackend, CacheConfig, Entry, LocalCache, Origin};
use crate::error::{ErrorKind, LlmError};
use crate::ports::{LogLevel, Ports};
use crate::reliability::limits::SlotSignal;
use crate::types::object::Put;
use crate::types::Endpoint;
use futures_util::FutureExt;
use serde_json::{Map, Value};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

/// The router's cache: its settings, its backend, and the requests in flight per key.
pub(super) struct ResponseCache {
    config: CacheConfig,
    backend: Rc<dyn CacheBackend>,
    /// Whether a backend failure was already logged.
    reported: Cell<bool>,
    flights: RefCell<HashMap<String, Rc<Flight>>>,
    /// The backend answers without awaiting (the in-memory LRU): hits can be served
    /// synchronously (`Router::cached_text`).
    sync: bool,
    /// What repeated request texts derived for a synchronous lookup (`cached_text`).
    lookups: cache::TextMemo<Lookup>,
}

/// What an in-memory lookup of one request needs, derived from its text: the storage key and
/// the request's own controls a hit reads.
pub(super) struct Lookup {
    endpoint: Endpoint,
    key: String,
    model: String,
    call_id: Option<String>,
    max_age_ms: Option<u64>,
    no_store: bool,
}

impl ResponseCache {
    pub(super) fn new(config: CacheConfig, ports: &Ports) -> ResponseCache {
        // A host store sits behind a circuit breaker: dead or slow, it is bypassed.
        let host = ports.cache.clone().map(|store| -> Rc<dyn CacheBackend> {
            Rc::new(cache::Breaker::new(store, Rc::clone(&ports.clock)))
        });
        let sync = host.is_none();
        let backend = host.unwrap_or_else(|| {
            Rc::new(LocalCache::new(
                Rc::clone(&ports.clock),
                config.max_size_bytes,
            ))
        });
        ResponseCache {
            config,
            backend,
            reported: Cell::new(false),
            flights: RefCell::new(HashMap::new()),
            sync,
            lookups: cache::TextMemo::default(),
        }
    }
}

/// An upstream call that identical requests wait for instead of making their own.
#[derive(Default)]
struct Flight {
    done: Cell<bool>,
    answer: RefCell<Option<Entry>>,
    signal: SlotSignal,
}

/// Held by the request that makes the upstream call; dropping it (success, failure or
/// cancellation) releases the waiters.
struct FlightGuard {
    cache: Rc<ResponseCache>,
    key: String,
    flight: Rc<Flight>,
}

impl FlightGuard {
    /// Hands the answer to the waiting requests (before it is stored, which may take a
    /// backend round trip); requests arriving until then take it too.
    fn publish(&self, entry: Entry) {
        *self.flight.answer.borrow_mut() = Some(entry);
        self.flight.done.set(true);
        self.flight.signal.notify();
    }
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        if let Ok(mut flights) = self.cache.flights.try_borrow_mut() {
            if flights
                .get(&self.key)
                .is_some_and(|f| Rc::ptr_eq(f, &self.flight))
            {
                flights.remove(&self.key);
            }
        }
        self.flight.done.set(true);
        self.flight.signal.notify();
    }
}

/// How caching applies to one call.
pub(super) enum Plan {
    /// One key for the whole answer (chat and text completions).
    Whole(String),
    /// One key per input item of an embedding call.
    Embedding {
        keys: Vec<String>,
        items: Vec<Value>,
    },
}

/// The items of an embedding `input`: a string or one token array is one item; an array of
/// strings or token arrays is one item each. `None` for shapes the upstream should judge.
fn embedding_items(input: Option<&Value>) -> Option<Vec<Value>> {
    match input? {
        Value::String(_) => Some(vec![input?.clone()]),
        Value::Array(a) if a.is_empty() => None,
        Value::Array(a) if a.iter().all(Value::is_number) => Some(vec![input?.clone()]),
        Value::Array(a) if a.iter().all(|v| v.is_string() || v.is_array()) => Some(a.clone()),
        _ => None,
    }
}

impl Router {
    fn response_cache(&self) -> Option<&Rc<ResponseCache>> {
        self.inner.cache.as_ref()
    }

    /// The cache key of a request (`body` without router kwargs; `opts` from
    /// `CallOptions::extract`), or `None` when caching is off for it (not configured, call
    /// type not cached, `caching: false`). The stream path uses this with `cache_lookup` and
    /// `cache_store`.
    pub fn cache_key(
        &self,
        endpoint: Endpoint,
        body: &Map<String, Value>,
        opts: &CallOptions,
    ) -> Option<String> {
        let cache = self.response_cache()?;
        let call = self.cacheable(&cache.config, endpoint, opts)?;
        Some(self.key_for(&cache.config, call, opts, body))
    }

    fn cacheable(
        &self,
        config: &CacheConfig,
        endpoint: Endpoint,
        opts: &CallOptions,
    ) -> Option<&'static str> {
        if opts.cache.disabled || opts.mock_testing_fallbacks || !config.call_types.covers(endpoint)
        {
            return None;
        }
        cache::call_name(endpoint)
    }

    fn key_for(
        &self,
        config: &CacheConfig,
        call: &str,
        opts: &CallOptions,
        body: &Map<String, Value>,
    ) -> String {
        let group = config.key_group(&self.resolve_alias(&opts.model));
        let namespace =
            cache::nested_namespace(config.namespace.as_deref(), opts.cache.namespace.as_deref());
        cache::storage_key(namespace.as_deref(), call, &group, body)
    }

    pub(super) fn cache_plan(&self, call: &Call) -> Option<Plan> {
        let cache = self.response_cache()?;
        let name = self.cacheable(&cache.config, call.endpoint, &call.opts)?;
        if call.upload.is_some() || call.form.is_some() {
            return None;
        }
        if call.endpoint != Endpoint::Embedding {
            return Some(Plan::Whole(self.key_for(
                &cache.config,
                name,
                &call.opts,
                &call.body,
            )));
        }
        let items = embedding_items(call.body.get("input"))?;
        // One copy of the body for all items: each item's key is the body's with its `input`.
        let mut body = call.body.clone();
        let keys = items
            .iter()
            .map(|item| {
                body.put("input", item.clone());
                self.key_for(&cache.config, name, &call.opts, &body)
            })
            .collect();
        Some(Plan::Embedding { keys, items })
    }

    fn report_backend_error(&self, cache: &ResponseCache, op: &str, message: &str) {
        if !cache.reported.replace(true) {
            let message = scrub_userinfo(message);
            self.inner.ports.logger.log(
                LogLevel::Warn,
                &format!(
                    "llmux: the response cache backend failed ({op}: {message}); requests bypass it while it fails (reported once)"
                ),
            );
        }
    }

    /// A fresh entry under `key`, honouring `s-maxage`; backend errors are misses.
    async fn cache_get(&self, key: &str, max_age_ms: Option<u64>) -> Option<Entry> {
        let cache = Rc::clone(self.response_cache()?);
        let text = match cache.backend.get(key).await {
            Ok(text) => text?,
            Err(e) => {
                self.report_backend_error(&cache, "get", &e);
                return None;
            }
        };
        let now = self.now();
        match Entry::decode(&text) {
            Some(entry) if entry.fresh(now, max_age_ms) => Some(entry),
            Some(entry) if entry.fresh(now, None) => None,
            // Expired (a backend without TTL) or unreadable: remove it.
            _ => {
                if let Err(e) = cache.backend.delete(key).await {
                    self.report_backend_error(&cache, "delete", &e);
                }
                None
            }
        }
    }

    async fn cache_put(&self, key: &str, body: Value, origin: Origin, opts: &CallOptions) {
        let Some(cache) = self.response_cache().map(Rc::clone) else {
            return;
        };
        if opts.cache.no_store {
            return;
        }
        let ttl_ms = cache::request_ttl_ms(opts.cache.ttl_ms, cache.config.ttl_ms);
        let now = self.now();
        let entry = Entry {
            stored_at_ms: now,
            expires_at_ms: Some(now + ttl_ms as f64),
            origin,
            body,
        };
        if let Err(e) = cache.backend.set(key, entry.encode(), Some(ttl_ms)).await {
            self.report_backend_error(&cache, "set", &e);
        }
    }

    /// A cached answer for `key` (honouring `no-cache` and `s-maxage`), counted as a hit and
    /// marked `cache_hit` with no cost. For the stream path: replay `body` as chunks.
    pub async fn cache_lookup(
        &self,
        key: &str,
        opts: &CallOptions,
        started_ms: f64,
    ) -> Option<Routed> {
        if opts.cache.no_cache {
            return None;
        }
        let entry = self.cache_get(key, opts.cache.max_age_ms).await?;
        Some(self.serve_hit(opts, entry.body, entry.origin, started_ms))
    }

    /// Stores a successful, complete answer under `key` (honouring `no-store` and `ttl`).
    /// Never fails; backend errors are reported once. For the stream path: call it with the
    /// assembled `chat.completion` once the stream has ended successfully.
    pub async fn cache_store(&self, key: &str, routed: &Routed, opts: &CallOptions) {
        self.cache_put(key, routed.body.clone(), origin_of(&routed.hidden), opts)
            .await;
    }

    /// Books a cache hit and builds its answer.
    fn serve_hit(
        &self,
        opts: &CallOptions,
        body: Value,
        origin: Origin,
        started_ms: f64,
    ) -> Routed {
        Routed {
            body,
            audio: None,
            hidden: self.book_hit(&opts.model, opts.call_id.as_deref(), origin, started_ms),
        }
    }

    /// Books a cache hit of `group` answered with what `origin` produced: its metadata.
    fn book_hit(
        &self,
        group: &str,
        call_id: Option<&str>,
        origin: Origin,
        started_ms: f64,
    ) -> HiddenParams {
        let latency_ms = self.now() - started_ms;
        {
            let mut usage = self.inner.usage.borrow_mut();
            usage.call_finished(super::CallOutcome {
                group,
                error_kind: None,
                retries: 0,
                fell_back: false,
                usage: None,
                cost: None,
                latency_ms,
            });
            let known = self
                .table()
                .deployments()
                .iter()
                .any(|d| d.id == origin.model_id);
            usage.cache_hit(
                group,
                known.then_some((origin.model_id.as_str(), origin.model_group.as_str())),
            );
        }
        self.emit("success", || {
            crate::obj! {
                "model_group": group, "model_id": origin.model_id.clone(),
                "answered_by_group": origin.model_group.clone(),
                "custom_llm_provider": origin.custom_llm_provider.clone(), "latency_ms": latency_ms,
                "response_cost": 0.0, "attempts": 0, "retries": 0,
                "fallback_model_group": Value::Null, "cache_hit": true, "call_id": call_id,
            }
        });
        HiddenParams {
            model_id: origin.model_id,
            model_group: origin.model_group,
            custom_llm_provider: origin.custom_llm_provider,
            api_base: origin.api_base,
            response_cost: Some(0.0),
            cache_hit: true,
            attempts: 0,
            retries: 0,
            fallback_model_group: None,
            latency_ms,
        }
    }

    /// A cached answer to a whole chat or text request, given as the JSON text the host sends
    /// (router kwargs included), found without awaiting anything: for the host's fast path,
    /// with the in-memory cache only. `None` when there is none *now* — no entry, a request
    /// that must not be served from the cache, an identical request still in flight, a
    /// backend that awaits, text that is not a JSON object — and the caller takes the core's
    /// path, which decides it fully. What a hit's text derives (its key and controls) is kept
    /// by the text ([`cache::TextMemo`]), so the next hit of the same text neither parses nor
    /// hashes it.
    pub fn cached_text(&self, endpoint: Endpoint, text: &str) -> Option<(HiddenParams, String)> {
        let started = self.now();
        let cache = self.sync_cache_for(endpoint)?;
        if let Some(lookup) = cache.lookups.get(text).filter(|l| l.endpoint == endpoint) {
            return self.hit_now(&cache, &lookup, started);
        }
        let body = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => m,
            _ => return None,
        };
        let lookup = Rc::new(self.lookup_of(endpoint, body)?);
        let hit = self.hit_now(&cache, &lookup, started)?;
        // Kept only once it hit: a text that is never repeated costs the memo nothing.
        cache.lookups.insert(text, lookup);
        Some(hit)
    }

    /// The response cache when it answers synchronously and serves `endpoint` on this path.
    fn sync_cache_for(&self, endpoint: Endpoint) -> Option<Rc<ResponseCache>> {
        let cache = self.response_cache()?;
        let served = matches!(
            endpoint,
            Endpoint::ChatCompletion | Endpoint::TextCompletion
        );
        (cache.sync && served).then(|| Rc::clone(cache))
    }

    /// What a lookup of `body` needs: `None` when the request is not to be answered from the
    /// cache (streamed, `no-cache`, caching off for it, invalid router kwargs: the core's
    /// path decides those).
    fn lookup_of(&self, endpoint: Endpoint, mut body: Map<String, Value>) -> Option<Lookup> {
        let opts = CallOptions::extract(&mut body).ok()?;
        if opts.stream || opts.cache.no_cache {
            return None;
        }
        let key = self.cache_key(endpoint, &body, &opts)?;
        Some(Lookup {
            endpoint,
            key,
            model: opts.model,
            call_id: opts.call_id,
            max_age_ms: opts.cache.max_age_ms,
            no_store: opts.cache.no_store,
        })
    }

    /// The hit of `lookup` now, booked: from an identical request that has landed, else from
    /// the in-memory backend if its entry is fresh enough.
    fn hit_now(
        &self,
        cache: &ResponseCache,
        lookup: &Lookup,
        started: f64,
    ) -> Option<(HiddenParams, String)> {
        let flight = cache.flights.borrow().get(&lookup.key).cloned();
        match flight {
            // Its waiters are served by the core's path when it lands.
            Some(f) if !f.done.get() => return None,
            Some(f) if !lookup.no_store => {
                if let Some(e) = f.answer.borrow().clone() {
                    let text = e.body.to_string();
                    return Some((self.book_lookup_hit(lookup, e.origin, started), text));
                }
            }
            _ => {}
        }
        // The in-memory backend answers at once; its body text is handed on unparsed.
        let text = cache.backend.get(&lookup.key).now_or_never()?.ok()??;
        let entry = cache::RawEntry::decode(&text)?;
        if !entry.fresh(self.now(), lookup.max_age_ms) {
            // Expired or too old for `s-maxage`: the core's path decides (and evicts).
            return None;
        }
        let body = entry.body.to_string();
        Some((self.book_lookup_hit(lookup, entry.origin, started), body))
    }

    fn book_lookup_hit(&self, lookup: &Lookup, origin: Origin, started: f64) -> HiddenParams {
        self.book_hit(&lookup.model, lookup.call_id.as_deref(), origin, started)
    }

    /// The answer of an identical request in flight, if there is one and it succeeds.
    async fn follow_flight(&self, key: &str) -> Option<Entry> {
        let cache = self.response_cache()?;
        let flight = cache.flights.borrow().get(key).cloned()?;
        if !flight.done.get() {
            flight.signal.changed().await;
        }
        let answer = flight.answer.borrow().clone();
        answer
    }

    pub(super) async fn call_cached(
        &self,
        call: Call,
        plan: Plan,
        started: f64,
    ) -> Result<Routed, LlmError> {
        match plan {
            Plan::Whole(key) => self.call_whole(call, key, started).await,
            Plan::Embedding { keys, items } => {
                self.call_embedding(call, keys, items, started).await
            }
        }
    }

    async fn call_whole(&self, call: Call, key: String, started: f64) -> Result<Routed, LlmError> {
        let controls = call.opts.cache.clone();
        // A `no-store` request neither joins an identical request in flight nor lets others
        // join its own: its answer is not to be shared.
        let coalesce = !controls.no_cache && !controls.no_store;
        if !controls.no_cache {
            if coalesce {
                if let Some(e) = self.follow_flight(&key).await {
                    return Ok(self.serve_hit(&call.opts, e.body, e.origin, started));
                }
            }
            if let Some(e) = self.cache_get(&key, controls.max_age_ms).await {
                return Ok(self.serve_hit(&call.opts, e.body, e.origin, started));
            }
            // Another request may have started the same call while the lookup awaited.
            if coalesce {
                if let Some(e) = self.follow_flight(&key).await {
                    return Ok(self.serve_hit(&call.opts, e.body, e.origin, started));
                }
            }
        }
        let guard = match self.response_cache() {
            Some(cache) if coalesce && !cache.flights.borrow().contains_key(&key) => {
                let flight = Rc::new(Flight::default());
                cache
                    .flights
                    .borrow_mut()
                    .insert(key.clone(), Rc::clone(&flight));
                Some(FlightGuard {
                    cache: Rc::clone(cache),
                    key: key.clone(),
                    flight,
                })
            }
            _ => None,
        };
        let opts = call.opts.clone();
        let routed = self.call_upstream(call, started).await?;
        if let Some(guard) = &guard {
            guard.publish(Entry {
                stored_at_ms: self.now(),
                expires_at_ms: None,
                origin: origin_of(&routed.hidden),
                body: routed.body.clone(),
            });
        }
        self.cache_store(&key, &routed, &opts).await;
        drop(guard);
        Ok(routed)
    }

    async fn call_embedding(
        &self,
        mut call: Call,
        keys: Vec<String>,
        items: Vec<Value>,
        started: f64,
    ) -> Result<Routed, LlmError> {
        let controls = call.opts.cache.clone();
        let group = call.opts.model.clone();
        let cached: Vec<Option<Entry>> = if controls.no_cache {
            keys.iter().map(|_| None).collect()
        } else {
            futures_util::future::join_all(
                keys.iter().map(|k| self.cache_get(k, controls.max_age_ms)),
            )
            .await
        };
        let missing: Vec<usize> = (0..keys.len())
            .filter(|i| cached.get(*i).is_none_or(Option::is_none))
            .collect();
        if missing.is_empty() {
            return Ok(self.embedding_hit(&call.opts, cached, started));
        }
        let partial = missing.len() < keys.len();
        if partial {
            let sent = missing
                .iter()
                .filter_map(|i| items.get(*i).cloned())
                .collect();
            call.body.put("input", Value::Array(sent));
        }
        let opts = call.opts.clone();
        let mut routed = self.call_upstream(call, started).await?;
        let fresh = embeddings_by_index(&routed.body, missing.len());
        let origin = origin_of(&routed.hidden);
        let model = routed.body.get("model").cloned().unwrap_or(Value::Null);
        let puts = missing.iter().enumerate().filter_map(|(j, i)| {
            let (Some(Some(item)), Some(key)) = (fresh.get(j), keys.get(*i)) else {
                return None;
            };
            let body = crate::obj! {"data": item.clone(), "model": model.clone()};
            Some(self.cache_put(key, body, origin.clone(), &opts))
        });
        futures_util::future::join_all(puts).await;
        if !partial {
            return Ok(routed);
        }
        // Merge: cached items and fresh ones, in the order of the request.
        let mut data = Vec::with_capacity(keys.len());
        let mut fresh_items = fresh.into_iter();
        for (i, entry) in cached.into_iter().enumerate() {
            let item = match entry {
                Some(e) => e.body.get("data").cloned(),
                None => fresh_items.next().flatten(),
            };
            let Some(mut item) = item else {
                let mut e = LlmError::new(
                    ErrorKind::InternalServerError,
                    format!(
                        "the upstream answered {} of the {} embedding inputs it was sent",
                        routed
                            .body
                            .get("data")
                            .and_then(Value::as_array)
                            .map_or(0, Vec::len),
                        missing.len()
                    ),
                );
                e.model_group = Some(group.clone());
                return Err(e);
            };
            if let Some(obj) = item.as_object_mut() {
                obj.put("index", Value::from(i));
            }
            data.push(item);
        }
        if let Some(obj) = routed.body.as_object_mut() {
            obj.put("data", Value::Array(data));
        }
        Ok(routed)
    }

    /// Every input of an embedding call answered from the cache.
    fn embedding_hit(
        &self,
        opts: &CallOptions,
        cached: Vec<Option<Entry>>,
        started: f64,
    ) -> Routed {
        let group = opts.model.as_str();
        let mut data = Vec::with_capacity(cached.len());
        let mut first: Option<(Origin, Value)> = None;
        for (i, entry) in cached.into_iter().flatten().enumerate() {
            let mut item = entry.body.get("data").cloned().unwrap_or(Value::Null);
            if let Some(obj) = item.as_object_mut() {
                obj.put("index", Value::from(i));
            }
            data.push(item);
            if first.is_none() {
                let model = entry.body.get("model").cloned().unwrap_or(Value::Null);
                first = Some((entry.origin, model));
            }
        }
        let (origin, model) = first.unwrap_or_else(|| {
            (
                Origin {
                    model_id: String::new(),
                    model_group: group.to_string(),
                    custom_llm_provider: String::new(),
                    api_base: None,
                },
                Value::Null,
            )
        });
        let body = crate::obj! {
            "object": "list",
            "data": data,
            "model": model,
            "usage": crate::obj!{"prompt_tokens": 0, "total_tokens": 0},
        };
        self.serve_hit(opts, body, origin, started)
    }
}

/// The `data` items of an embeddings answer placed by their `index` (else their position),
/// without the index; `None` where the answer has no item.
fn embeddings_by_index(body: &Value, n: usize) -> Vec<Option<Value>> {
    let mut out: Vec<Option<Value>> = vec![None; n];
    let data = body.get("data").and_then(Value::as_array);
    for (pos, item) in data.into_iter().flatten().enumerate() {
        let index = item
            .get("index")
            .and_then(Value::as_u64)
            .and_then(|i| usize::try_from(i).ok())
            .unwrap_or(pos);
        if let Some(slot) = out.get_mut(index) {
            let mut item = item.clone();
            if let Some(obj) = item.as_object_mut() {
                obj.remove("index");
            }
            *slot = Some(item);
        }
    }
    out
}

/// Replaces the `user:password@` part of URLs in a store's error message (a Redis client may
/// echo its connection URL) with `***@`, and bounds the message's length.
fn scrub_userinfo(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    // Bounded: each pass consumes at least the "://" it found.
    for _ in 0..message.len() {
        let Some(at) = rest.find("://") else {
            break;
        };
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| c == '/' || c.is_whitespace())
            .unwrap_or(tail.len());
        let (authority, after) = tail.split_at(authority_end);
        match authority.rfind('@') {
            Some(i) => {
                out.push_str("***");
                out.push_str(authority.get(i..).unwrap_or_default());
            }
            None => out.push_str(authority),
        }
        rest = after;
    }
    out.push_str(rest);
    out.chars().take(300).collect()
}

fn origin_of(hidden: &HiddenParams) -> Origin {
    Origin {
        model_id: hidden.model_id.clone(),
        model_group: hidden.model_group.clone(),
        custom_llm_provider: hidden.custom_llm_provider.clone(),
        api_base: hidden.api_base.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::scrub_userinfo;

    #[test]
    fn store_errors_lose_url_credentials() {
        assert_eq!(
            scrub_userinfo("connect failed: redis://default:hunter2@10.0.0.1:6379/0 refused"),
            "connect failed: redis://***@10.0.0.1:6379/0 refused"
        );
        assert_eq!(scrub_userinfo("ECONNREFUSED"), "ECONNREFUSED");
        assert_eq!(
            scrub_userinfo("https://x.test/a and rediss://u:p@h"),
            "https://x.test/a and rediss://***@h"
        );
    }
}
