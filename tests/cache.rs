//! Response caching on fakes: upstream call counts on the scripted transport, TTLs on the
//! manual clock, the key's fields, per-request controls, caching groups, embeddings cached
//! per item, coalesced concurrent requests and failing or TTL-less backends.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::result_large_err
)]

use llmux::cache::CacheBackend;
use llmux::config::RouterConfig;
use llmux::error::ErrorKind;
use llmux::ports::{Clock, LocalFuture, LogLevel};
use llmux::router::Router;
use llmux::testing::{block_on, yield_now, Fakes, Gate, Step};
use llmux::types::Endpoint;
use serde_json::{json, Map, Value};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

const A: &str = "http://a.test/v1";
const B: &str = "http://b.test/v1";

fn deployment(group: &str, base: &str, id: &str) -> Value {
    json!({
        "model_name": group,
        "litellm_params": {"model": "openai/gpt-4o-mini", "api_base": base, "api_key": "sk-secret-cache-test"},
        "model_info": {"id": id}
    })
}

fn cached_router(extra: Value) -> (Router, Fakes) {
    let mut options = json!({"model_list": [deployment("chat", A, "a")], "cache_responses": true});
    for (k, v) in extra.as_object().unwrap() {
        options[k] = v.clone();
    }
    let fakes = Fakes::new(7);
    let config = RouterConfig::parse(&options, &HashMap::new()).expect("valid config");
    (Router::new(config, fakes.ports.clone()), fakes)
}

fn request(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn chat(extra: Value) -> Map<String, Value> {
    let mut r = request(json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]}));
    r.extend(extra.as_object().cloned().unwrap());
    r
}

/// A request as the JSON text the host hands `cached_text`.
fn text(req: Map<String, Value>) -> String {
    serde_json::to_string(&req).unwrap()
}

fn complete(router: &Router, req: Map<String, Value>) -> llmux::router::Routed {
    block_on(router.call(Endpoint::ChatCompletion, req)).unwrap()
}

fn content(r: &llmux::router::Routed) -> String {
    r.body["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_repeated_request_is_answered_from_the_cache_with_no_upstream_call() {
    let (router, fakes) = cached_router(json!({}));
    fakes.transport.script(A, [Step::ok_chat("first")]);
    let first = complete(&router, chat(json!({})));
    assert!(!first.hidden.cache_hit);
    assert!(first.hidden.response_cost.unwrap() > 0.0);
    let second = complete(&router, chat(json!({})));
    assert_eq!(
        fakes.transport.calls_to(A),
        1,
        "second call made no upstream call"
    );
    assert!(second.hidden.cache_hit);
    assert_eq!(second.hidden.response_cost, Some(0.0));
    assert_eq!(second.hidden.attempts, 0);
    assert_eq!(second.hidden.model_id, "a");
    assert_eq!(second.body, first.body);
    let report = router.usage_report();
    assert_eq!(report["model_groups"]["chat"]["cache_hits"], 1);
    assert_eq!(report["model_groups"]["chat"]["requests"], 2);
    assert_eq!(report["deployments"]["a"]["cache_hits"], 1);
    assert_eq!(report["deployments"]["a"]["requests"], 1);
    assert_eq!(
        report["model_groups"]["chat"]["cost"], report["deployments"]["a"]["cost"],
        "the hit added no cost"
    );
    assert_eq!(report["model_groups"]["chat"]["prompt_tokens"], 10);
    let hit_event = fakes.events.events.borrow().last().cloned().unwrap();
    assert_eq!(hit_event.0, "success");
    assert_eq!(hit_event.1["cache_hit"], true);
}

#[test]
fn cached_text_serves_an_in_memory_hit_without_awaiting_and_declines_what_it_cannot_decide() {
    let (router, fakes) = cached_router(json!({}));
    fakes.transport.script(A, [Step::ok_chat("first")]);
    assert!(
        router
            .cached_text(Endpoint::ChatCompletion, &text(chat(json!({}))))
            .is_none(),
        "a miss"
    );
    let first = complete(&router, chat(json!({})));
    let (hidden, body) = router
        .cached_text(
            Endpoint::ChatCompletion,
            &text(chat(json!({"user": "ignored"}))),
        )
        .expect("a hit");
    assert!(hidden.cache_hit);
    assert_eq!(hidden.response_cost, Some(0.0));
    assert_eq!(hidden.model_id, "a");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), first.body);
    let report = router.usage_report();
    assert_eq!(report["model_groups"]["chat"]["cache_hits"], 1);
    assert_eq!(report["model_groups"]["chat"]["requests"], 2);
    // What the core's path must decide: no-cache, streams, embeddings, another answer.
    for (endpoint, req) in [
        (
            Endpoint::ChatCompletion,
            chat(json!({"cache": {"no-cache": true}})),
        ),
        (Endpoint::ChatCompletion, chat(json!({"stream": true}))),
        (Endpoint::ChatCompletion, chat(json!({"temperature": 0.5}))),
        (
            Endpoint::Embedding,
            request(json!({"model": "chat", "input": "hi"})),
        ),
    ] {
        assert!(router.cached_text(endpoint, &text(req)).is_none());
    }
    assert_eq!(fakes.transport.calls_to(A), 1);
}

#[test]
fn cached_text_keeps_what_a_hit_derived_and_still_decides_freshness_and_controls_each_time() {
    let (router, fakes) = cached_router(json!({"cache_kwargs": {"ttl": 60}}));
    let plain = text(chat(json!({})));
    assert!(
        router
            .cached_text(Endpoint::ChatCompletion, &plain)
            .is_none(),
        "a miss"
    );
    let first = complete(&router, chat(json!({})));
    // The first hit derives the key and keeps it; the next ones of the same text use it.
    for n in 1..=3 {
        let (hidden, body) = router
            .cached_text(Endpoint::ChatCompletion, &plain)
            .expect("a hit");
        assert!(hidden.cache_hit);
        assert_eq!(hidden.model_id, "a");
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), first.body);
        assert_eq!(
            router.usage_report()["model_groups"]["chat"]["cache_hits"],
            n
        );
    }
    // What the core's path decides is never answered here, however often it is sent (the
    // entry is there and fresh).
    for declined in [
        text(chat(json!({"cache": {"no-cache": true}}))),
        text(chat(json!({"stream": true}))),
        text(chat(json!({"caching": false}))),
        "{not json".to_string(),
        "[1]".to_string(),
    ] {
        for _ in 0..2 {
            assert!(router
                .cached_text(Endpoint::ChatCompletion, &declined)
                .is_none());
        }
    }
    // The same text as a text completion is another key (another call type): not this hit.
    assert!(router
        .cached_text(Endpoint::TextCompletion, &plain)
        .is_none());
    assert!(router
        .cached_text(Endpoint::ChatCompletion, &plain)
        .is_some());
    // Each hit carries its own call id, kept with its text.
    let with_id = text(chat(json!({"litellm_call_id": "call-7"})));
    for _ in 0..2 {
        assert!(router
            .cached_text(Endpoint::ChatCompletion, &with_id)
            .is_some());
        let event = fakes.events.events.borrow().last().cloned().unwrap();
        assert_eq!(event.1["call_id"], "call-7", "{}", event.1);
    }
    // Freshness is decided at each hit, not kept: `s-maxage` and the TTL still apply.
    let recent = text(chat(json!({"cache": {"s-maxage": 5}})));
    assert!(router
        .cached_text(Endpoint::ChatCompletion, &recent)
        .is_some());
    fakes.clock.advance(6_000.0);
    assert!(
        router
            .cached_text(Endpoint::ChatCompletion, &recent)
            .is_none(),
        "stored 6 s ago, s-maxage 5 s"
    );
    assert!(router
        .cached_text(Endpoint::ChatCompletion, &plain)
        .is_some());
    fakes.clock.advance(54_000.0);
    assert!(
        router
            .cached_text(Endpoint::ChatCompletion, &plain)
            .is_none(),
        "past the 60 s TTL"
    );
    assert_eq!(fakes.transport.calls_to(A), 1);
}

#[test]
fn answer_changing_fields_miss_and_ignored_fields_hit() {
    let (router, fakes) = cached_router(json!({}));
    complete(&router, chat(json!({"temperature": 0.5})));
    assert_eq!(fakes.transport.calls_to(A), 1);
    complete(&router, chat(json!({"temperature": 0.7})));
    assert_eq!(
        fakes.transport.calls_to(A),
        2,
        "another temperature: a call"
    );
    complete(&router, chat(json!({"temperature": 0.5, "seed": 3})));
    assert_eq!(fakes.transport.calls_to(A), 3, "a seed: a call");
    complete(&router, chat(json!({"temperature": 0.5, "max_tokens": 9})));
    assert_eq!(fakes.transport.calls_to(A), 4, "max_tokens: a call");
    let tools = json!([{"type": "function", "function": {"name": "f", "parameters": {}}}]);
    complete(&router, chat(json!({"temperature": 0.5, "tools": tools})));
    assert_eq!(fakes.transport.calls_to(A), 5, "tools: a call");
    complete(
        &router,
        chat(json!({"temperature": 0.5, "response_format": {"type": "json_object"}})),
    );
    assert_eq!(fakes.transport.calls_to(A), 6, "response_format: a call");
    // Same answer-changing fields; user, metadata, retries and a default stated differ.
    let hit = complete(
        &router,
        chat(json!({
            "temperature": 0.5, "user": "someone-else", "metadata": {"trace": "x"},
            "num_retries": 0, "timeout": 30, "top_p": 1, "tool_choice": "none"
        })),
    );
    assert!(hit.hidden.cache_hit);
    assert_eq!(fakes.transport.calls_to(A), 6);
    // Another message: a call.
    let mut other = chat(json!({"temperature": 0.5}));
    other["messages"] = json!([{"role": "user", "content": "bye"}]);
    complete(&router, other);
    assert_eq!(fakes.transport.calls_to(A), 7);
}

#[test]
fn no_cache_calls_upstream_and_stores_the_fresh_answer() {
    let (router, fakes) = cached_router(json!({}));
    fakes
        .transport
        .script(A, [Step::ok_chat("old"), Step::ok_chat("new")]);
    assert_eq!(content(&complete(&router, chat(json!({})))), "old");
    let fresh = complete(&router, chat(json!({"cache": {"no-cache": true}})));
    assert_eq!(fakes.transport.calls_to(A), 2, "no-cache: a call");
    assert!(!fresh.hidden.cache_hit);
    assert_eq!(content(&fresh), "new");
    let hit = complete(&router, chat(json!({})));
    assert_eq!(fakes.transport.calls_to(A), 2);
    assert_eq!(content(&hit), "new", "no-cache stored the fresh answer");
}

#[test]
fn no_store_and_caching_false_store_nothing() {
    let (router, fakes) = cached_router(json!({}));
    complete(&router, chat(json!({"cache": {"no-store": true}})));
    complete(&router, chat(json!({"caching": false})));
    assert_eq!(fakes.transport.calls_to(A), 2);
    let third = complete(&router, chat(json!({})));
    assert_eq!(fakes.transport.calls_to(A), 3, "nothing was stored");
    assert!(!third.hidden.cache_hit);
    // caching: false does not read either.
    complete(&router, chat(json!({"caching": false})));
    assert_eq!(fakes.transport.calls_to(A), 4);
    assert!(complete(&router, chat(json!({}))).hidden.cache_hit);
}

#[test]
fn entries_expire_after_the_ttl_on_the_router_clock() {
    let (router, fakes) = cached_router(json!({"cache_kwargs": {"ttl": 60}}));
    complete(&router, chat(json!({})));
    fakes.clock.advance(59_999.0);
    assert!(complete(&router, chat(json!({}))).hidden.cache_hit);
    fakes.clock.advance(1.0);
    assert!(!complete(&router, chat(json!({}))).hidden.cache_hit);
    assert_eq!(fakes.transport.calls_to(A), 2);
    // A per-request ttl overrides cache_kwargs.ttl for the answer it stores.
    let short = chat(json!({"temperature": 0.1, "cache": {"ttl": 5}}));
    complete(&router, short.clone());
    fakes.clock.advance(4_000.0);
    assert!(complete(&router, short.clone()).hidden.cache_hit);
    fakes.clock.advance(1_000.0);
    assert!(!complete(&router, short).hidden.cache_hit);
}

#[test]
fn the_default_ttl_is_600_seconds_and_s_maxage_refuses_older_entries() {
    let (router, fakes) = cached_router(json!({}));
    complete(&router, chat(json!({})));
    fakes.clock.advance(10_000.0);
    let too_old = complete(&router, chat(json!({"cache": {"s-maxage": 5}})));
    assert!(!too_old.hidden.cache_hit, "stored 10 s ago, s-maxage 5 s");
    assert!(
        complete(&router, chat(json!({"cache": {"s-maxage": 5}})))
            .hidden
            .cache_hit
    );
    fakes.clock.advance(599_999.0);
    assert!(complete(&router, chat(json!({}))).hidden.cache_hit);
    fakes.clock.advance(1.0);
    assert!(!complete(&router, chat(json!({}))).hidden.cache_hit);
    assert_eq!(fakes.transport.calls_to(A), 3);
}

#[test]
fn namespaces_separate_entries() {
    let (router, fakes) = cached_router(json!({"cache_kwargs": {"namespace": "team-a"}}));
    complete(&router, chat(json!({})));
    assert!(
        !complete(&router, chat(json!({"cache": {"namespace": "team-b"}})))
            .hidden
            .cache_hit
    );
    assert!(
        complete(&router, chat(json!({"cache": {"namespace": "team-b"}})))
            .hidden
            .cache_hit
    );
    assert!(complete(&router, chat(json!({}))).hidden.cache_hit);
    assert_eq!(fakes.transport.calls_to(A), 2);
}

#[test]
fn caching_groups_share_entries_and_other_groups_do_not() {
    let (router, fakes) = cached_router(json!({
        "model_list": [deployment("gpt-a", A, "a"), deployment("gpt-b", B, "b"), deployment("other", B, "o")],
        "caching_groups": [["gpt-a", "gpt-b"]]
    }));
    let first = complete(&router, chat(json!({"model": "gpt-a"})));
    assert_eq!(first.hidden.model_id, "a");
    let shared = complete(&router, chat(json!({"model": "gpt-b"})));
    assert!(shared.hidden.cache_hit, "gpt-b shares gpt-a's entry");
    assert_eq!(shared.hidden.model_id, "a", "answered by a, from the cache");
    assert_eq!(fakes.transport.calls_to(B), 0);
    assert!(
        !complete(&router, chat(json!({"model": "other"})))
            .hidden
            .cache_hit
    );
    assert_eq!(fakes.transport.calls_to(B), 1);
    let report = router.usage_report();
    assert_eq!(report["model_groups"]["gpt-b"]["cache_hits"], 1);
}

#[test]
fn errors_are_never_cached() {
    let (router, fakes) = cached_router(json!({"num_retries": 0}));
    fakes.transport.script(A, [Step::error(400, "bad")]);
    let e = block_on(router.call(Endpoint::ChatCompletion, chat(json!({})))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequestError);
    let ok = complete(&router, chat(json!({})));
    assert!(!ok.hidden.cache_hit);
    assert_eq!(fakes.transport.calls_to(A), 2);
}

#[test]
fn text_completions_are_cached_separately_from_chat() {
    let (router, fakes) = cached_router(json!({}));
    fakes.transport.script(
        A,
        [Step::json(
            200,
            json!({"id": "cmpl-1", "object": "text_completion", "created": 1, "model": "m",
                   "choices": [{"text": "yes", "index": 0, "logprobs": null, "finish_reason": "stop"}],
                   "usage": {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}}),
        )],
    );
    let req = request(json!({"model": "chat", "prompt": "hi"}));
    let first = block_on(router.call(Endpoint::TextCompletion, req.clone())).unwrap();
    let second = block_on(router.call(Endpoint::TextCompletion, req)).unwrap();
    assert!(!first.hidden.cache_hit);
    assert!(second.hidden.cache_hit);
    assert_eq!(second.body["choices"][0]["text"], "yes");
    assert_eq!(fakes.transport.calls_to(A), 1);
}

fn embeddings_reply(vectors: &[f64]) -> Step {
    let data: Vec<Value> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| json!({"object": "embedding", "index": i, "embedding": [v]}))
        .collect();
    let n = vectors.len();
    Step::json(
        200,
        json!({"object": "list", "data": data, "model": "text-embedding-3-small",
               "usage": {"prompt_tokens": n, "total_tokens": n}}),
    )
}

#[test]
fn embedding_batches_send_only_uncached_items_and_keep_the_order() {
    let (router, fakes) = cached_router(json!({}));
    fakes
        .transport
        .script(A, [embeddings_reply(&[1.0, 2.0]), embeddings_reply(&[3.0])]);
    let embed = |input: Value| {
        block_on(router.call(
            Endpoint::Embedding,
            request(json!({"model": "chat", "input": input})),
        ))
        .unwrap()
    };
    let first = embed(json!(["one", "two"]));
    assert!(!first.hidden.cache_hit);
    let mixed = embed(json!(["three", "two", "one"]));
    assert_eq!(fakes.transport.calls_to(A), 2);
    let sent: Value = serde_json::from_str(
        fakes.transport.calls.borrow()[1]
            .request
            .body
            .as_deref()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        sent["input"],
        json!(["three"]),
        "only the missing item went upstream"
    );
    let vectors: Vec<(u64, f64)> = mixed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["index"].as_u64().unwrap(),
                d["embedding"][0].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(vectors, vec![(0, 3.0), (1, 2.0), (2, 1.0)]);
    assert_eq!(
        mixed.body["usage"]["prompt_tokens"], 1,
        "usage is what was sent"
    );
    assert!(!mixed.hidden.cache_hit, "a partial hit called upstream");
    // Every item cached: no call, a hit with no usage; a single string is one item.
    let all = embed(json!(["two", "three"]));
    assert!(all.hidden.cache_hit);
    assert_eq!(all.hidden.response_cost, Some(0.0));
    assert_eq!(all.body["data"][1]["embedding"], json!([3.0]));
    assert_eq!(all.body["data"][1]["index"], 1);
    assert_eq!(all.body["usage"]["prompt_tokens"], 0);
    assert!(embed(json!("one")).hidden.cache_hit);
    assert_eq!(fakes.transport.calls_to(A), 2);
    // Another dimensions setting is another key.
    fakes.transport.script(A, [embeddings_reply(&[9.0])]);
    let other = block_on(router.call(
        Endpoint::Embedding,
        request(json!({"model": "chat", "input": "one", "dimensions": 4})),
    ))
    .unwrap();
    assert!(!other.hidden.cache_hit);
    assert_eq!(fakes.transport.calls_to(A), 3);
}

#[test]
fn concurrent_identical_requests_coalesce_onto_one_upstream_call() {
    let (router, fakes) = cached_router(json!({}));
    let gate = Rc::new(Gate::default());
    fakes
        .transport
        .script(A, [Step::Held(Rc::clone(&gate), "shared".into())]);
    let leader = router.call(Endpoint::ChatCompletion, chat(json!({})));
    let followers = async {
        yield_now().await; // the leader is now held upstream
        let waiting = futures_util::future::join_all(
            (0..3).map(|_| router.call(Endpoint::ChatCompletion, chat(json!({})))),
        );
        let opener = async {
            assert_eq!(fakes.transport.calls_to(A), 1, "followers made no call");
            gate.open();
        };
        futures_util::future::join(waiting, opener).await.0
    };
    let (leader, followers) = block_on(futures_util::future::join(leader, followers));
    let leader = leader.unwrap();
    assert!(!leader.hidden.cache_hit);
    for f in followers {
        let f = f.unwrap();
        assert!(
            f.hidden.cache_hit,
            "a follower is answered by the leader's call"
        );
        assert_eq!(content(&f), "shared");
    }
    assert_eq!(fakes.transport.calls_to(A), 1);
    assert_eq!(
        router.usage_report()["model_groups"]["chat"]["cache_hits"],
        3
    );
}

#[test]
fn followers_of_a_failed_call_make_their_own() {
    let (router, fakes) = cached_router(json!({"num_retries": 0}));
    let gate = Rc::new(Gate::default());
    fakes
        .transport
        .script(A, [Step::HeldError(Rc::clone(&gate), 400, "bad".into())]);
    let leader = router.call(Endpoint::ChatCompletion, chat(json!({})));
    let follower = async {
        yield_now().await; // the leader is held upstream
        let waiting = router.call(Endpoint::ChatCompletion, chat(json!({})));
        let opener = async {
            assert_eq!(fakes.transport.calls_to(A), 1);
            gate.open();
        };
        futures_util::future::join(waiting, opener).await.0
    };
    let (leader, follower) = block_on(futures_util::future::join(leader, follower));
    assert_eq!(leader.unwrap_err().kind, ErrorKind::BadRequestError);
    let follower = follower.unwrap();
    assert!(!follower.hidden.cache_hit, "the error was not shared");
    assert_eq!(fakes.transport.calls_to(A), 2);
}

/// A host store that ignores TTLs (like a plain Map), optionally failing every operation.
#[derive(Default)]
struct MapBackend {
    map: RefCell<HashMap<String, String>>,
    fail: Cell<bool>,
    ttls: RefCell<Vec<Option<u64>>>,
    /// Operations that reached the store.
    ops: Cell<u32>,
    /// A clock each operation advances by `delay_ms` (a slow store).
    slow: RefCell<Option<(Rc<llmux::testing::ManualClock>, f64)>>,
}

impl MapBackend {
    fn touch(&self) {
        self.ops.set(self.ops.get() + 1);
        if let Some((clock, ms)) = &*self.slow.borrow() {
            clock.advance(*ms);
        }
    }
}

impl CacheBackend for MapBackend {
    fn get(&self, key: &str) -> LocalFuture<'static, Result<Option<String>, String>> {
        self.touch();
        let r = if self.fail.get() {
            Err("connection refused".to_string())
        } else {
            Ok(self.map.borrow().get(key).cloned())
        };
        Box::pin(async move {
            yield_now().await;
            r
        })
    }
    fn set(
        &self,
        key: &str,
        value: String,
        ttl_ms: Option<u64>,
    ) -> LocalFuture<'static, Result<(), String>> {
        self.touch();
        let r = if self.fail.get() {
            Err("connection refused".to_string())
        } else {
            self.ttls.borrow_mut().push(ttl_ms);
            self.map.borrow_mut().insert(key.to_string(), value);
            Ok(())
        };
        Box::pin(async move { r })
    }
    fn delete(&self, key: &str) -> LocalFuture<'static, Result<(), String>> {
        self.touch();
        self.map.borrow_mut().remove(key);
        Box::pin(async { Ok(()) })
    }
}

fn router_on(backend: &Rc<MapBackend>, options: Value) -> (Router, Fakes) {
    let fakes = Fakes::new(3);
    let mut ports = fakes.ports.clone();
    ports.cache = Some(backend.clone());
    let config = RouterConfig::parse(&options, &HashMap::new()).unwrap();
    (Router::new(config, ports), fakes)
}

#[test]
fn a_host_store_without_ttl_support_still_expires_entries_and_keys_carry_no_secret() {
    let backend = Rc::new(MapBackend::default());
    let options = json!({"model_list": [deployment("chat", A, "a")], "cache_responses": true,
                         "cache": true, "cache_kwargs": {"ttl": 10, "namespace": "ns"}});
    let (router, fakes) = router_on(&backend, options.clone());
    complete(&router, chat(json!({})));
    assert_eq!(*backend.ttls.borrow(), vec![Some(10_000)]);
    let (key, value) = backend
        .map
        .borrow()
        .iter()
        .next()
        .map(|(k, v)| (k.clone(), v.clone()))
        .unwrap();
    assert!(key.starts_with("ns:") && key.len() == 3 + 64, "{key}");
    assert!(!value.contains("sk-secret-cache-test"));
    let entry: Value = serde_json::from_str(&value).unwrap();
    assert_eq!(entry["v"], 1);
    assert_eq!(entry["expires_at_ms"], fakes.clock.now_ms() + 10_000.0);
    assert_eq!(entry["origin"]["model_id"], "a");
    // A second router (another isolate) over the same store: a hit.
    let (other, other_fakes) = router_on(&backend, options);
    other_fakes.clock.set(fakes.clock.now_ms());
    assert!(complete(&other, chat(json!({}))).hidden.cache_hit);
    assert_eq!(other_fakes.transport.calls_to(A), 0);
    // The store never expires it; the embedded expiry does, and the stale value is removed.
    other_fakes.clock.advance(10_000.0);
    assert!(!complete(&other, chat(json!({}))).hidden.cache_hit);
    assert_eq!(other_fakes.transport.calls_to(A), 1);
}

#[test]
fn a_failing_backend_is_bypassed_and_reported_once() {
    let backend = Rc::new(MapBackend::default());
    backend.fail.set(true);
    let options =
        json!({"model_list": [deployment("chat", A, "a")], "cache_responses": true, "cache": true});
    let (router, fakes) = router_on(&backend, options);
    for _ in 0..3 {
        assert!(!complete(&router, chat(json!({}))).hidden.cache_hit);
    }
    assert_eq!(fakes.transport.calls_to(A), 3);
    let warnings: Vec<String> = fakes
        .logger
        .lines
        .borrow()
        .iter()
        .filter(|(l, m)| *l == LogLevel::Warn && m.contains("cache backend"))
        .map(|(_, m)| m.clone())
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("connection refused"));
    assert_eq!(
        backend.ops.get(),
        1,
        "the first failure opened the circuit: the store was not asked again"
    );
    // Once it recovers and the backoff has passed, a probe closes the circuit again.
    backend.fail.set(false);
    fakes.clock.advance(llmux::cache::breaker::FIRST_BACKOFF_MS);
    complete(&router, chat(json!({})));
    assert!(complete(&router, chat(json!({}))).hidden.cache_hit);
}

#[test]
fn a_silent_store_costs_one_wait_then_is_bypassed_until_a_probe_succeeds() {
    use llmux::cache::breaker::FIRST_BACKOFF_MS;
    let backend = Rc::new(MapBackend::default());
    let options =
        json!({"model_list": [deployment("chat", A, "a")], "cache_responses": true, "cache": true});
    let (router, fakes) = router_on(&backend, options);
    // Every operation takes 2 s (a store that answers only at its client's timeout).
    *backend.slow.borrow_mut() = Some((Rc::clone(&fakes.clock), 2_000.0));
    backend.fail.set(true);
    let start = fakes.clock.now_ms();
    for _ in 0..10 {
        assert!(!complete(&router, chat(json!({}))).hidden.cache_hit);
    }
    assert_eq!(
        backend.ops.get(),
        1,
        "one wait; nine requests bypassed the store"
    );
    assert_eq!(
        fakes.clock.now_ms() - start,
        2_000.0,
        "10 requests cost one timeout"
    );
    assert_eq!(fakes.transport.calls_to(A), 10);
    // After the backoff one probe goes through; it fails: the backoff doubles.
    fakes.clock.advance(FIRST_BACKOFF_MS);
    complete(&router, chat(json!({})));
    assert_eq!(backend.ops.get(), 2, "one probe");
    complete(&router, chat(json!({})));
    assert_eq!(backend.ops.get(), 2, "open again");
    fakes.clock.advance(FIRST_BACKOFF_MS);
    complete(&router, chat(json!({})));
    assert_eq!(backend.ops.get(), 2, "still within the doubled backoff");
    fakes.clock.advance(FIRST_BACKOFF_MS);
    // Healthy and fast again: the probe closes the circuit, answers are stored and hit.
    *backend.slow.borrow_mut() = None;
    backend.fail.set(false);
    complete(&router, chat(json!({})));
    assert!(complete(&router, chat(json!({}))).hidden.cache_hit);
}

#[test]
fn the_in_memory_cache_is_bounded_in_bytes() {
    // One chat entry takes about 800 bytes with its key: 1200 bytes hold one, not two.
    let (router, fakes) = cached_router(json!({"cache_kwargs": {"max_size_bytes": 1200}}));
    complete(&router, chat(json!({"seed": 1})));
    complete(&router, chat(json!({"seed": 2})));
    assert!(complete(&router, chat(json!({"seed": 2}))).hidden.cache_hit);
    assert!(
        !complete(&router, chat(json!({"seed": 1}))).hidden.cache_hit,
        "seed 1 was evicted"
    );
    assert_eq!(fakes.transport.calls_to(A), 3);
}

#[test]
fn supported_call_types_limit_what_is_cached() {
    let (router, fakes) =
        cached_router(json!({"cache_kwargs": {"supported_call_types": ["aembedding"]}}));
    complete(&router, chat(json!({})));
    assert!(!complete(&router, chat(json!({}))).hidden.cache_hit);
    assert_eq!(fakes.transport.calls_to(A), 2);
}

#[test]
fn invalid_cache_requests_are_bad_requests() {
    let (router, _) = cached_router(json!({}));
    for bad in [
        json!({"cache": {"no_cache": true}}),
        json!({"cache": {"ttl": "soon"}}),
        json!({"caching": "off"}),
    ] {
        let e = block_on(router.call(Endpoint::ChatCompletion, chat(bad.clone()))).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadRequestError, "{bad}");
    }
}

#[test]
fn cache_options_are_validated_with_their_field_path() {
    let base = || json!({"model_list": [deployment("chat", A, "a")], "cache_responses": true});
    let cases = [
        (
            json!({"cache_kwargs": {"type": "redis"}}),
            "cache_kwargs.type",
            "Redis store",
        ),
        (
            json!({"cache_kwargs": {"type": "s3"}}),
            "cache_kwargs.type",
            "not supported",
        ),
        (
            json!({"cache_kwargs": {"host": "localhost"}}),
            "cache_kwargs.host",
            "Redis setting",
        ),
        (
            json!({"cache_kwargs": {"ttl": -1}}),
            "cache_kwargs.ttl",
            ">= 0",
        ),
        (
            json!({"cache_kwargs": {"ttl": 0}}),
            "cache_kwargs.ttl",
            "> 0",
        ),
        (
            json!({"cache_kwargs": {"bogus": 1}}),
            "cache_kwargs.bogus",
            "unknown",
        ),
        (
            json!({"cache_kwargs": {"max_size_bytes": 0}}),
            "cache_kwargs.max_size_bytes",
            "> 0",
        ),
        (
            json!({"cache_kwargs": {"supported_call_types": ["speech"]}}),
            "cache_kwargs.supported_call_types[0]",
            "one of",
        ),
        (
            json!({"caching_groups": [["a", "b"], ["b"]]}),
            "caching_groups[1][0]",
            "more than one",
        ),
        (
            json!({"caching_groups": ["a"]}),
            "caching_groups[0]",
            "non-empty array",
        ),
        (
            json!({"cache": true, "cache_kwargs": {"type": "local"}}),
            "cache_kwargs.type",
            "conflicts",
        ),
        (
            json!({"cache_responses": false, "cache_kwargs": {"ttl": 5}}),
            "cache_kwargs",
            "cache_responses",
        ),
        (
            json!({"cache_responses": false, "cache": true}),
            "cache",
            "cache_responses",
        ),
        (
            json!({"cache_responses": "yes"}),
            "cache_responses",
            "true or false",
        ),
    ];
    for (extra, field, text) in cases {
        let mut options = base();
        for (k, v) in extra.as_object().unwrap() {
            options[k] = v.clone();
        }
        let e = RouterConfig::parse(&options, &HashMap::new()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::ConfigError, "{extra}");
        assert_eq!(e.field.as_deref(), Some(field), "{extra}: {}", e.message);
        assert!(e.message.contains(text), "{extra}: {}", e.message);
    }
    let ok = RouterConfig::parse(&base(), &HashMap::new()).unwrap();
    let c = ok.cache.unwrap();
    assert_eq!(c.ttl_ms, 600_000);
    // 4 MiB: a Router must fit a 128 MB Workers isolate beside the app.
    assert_eq!(c.max_size_bytes, 4 * 1024 * 1024);
}

#[test]
fn cache_key_lookup_and_store_serve_the_stream_path() {
    let (router, fakes) = cached_router(json!({}));
    let mut body = chat(json!({"stream": true}));
    let opts = llmux::router::CallOptions {
        model: "chat".into(),
        ..Default::default()
    };
    body.remove("model");
    let key = router
        .cache_key(Endpoint::ChatCompletion, &body, &opts)
        .unwrap();
    assert!(block_on(router.cache_lookup(&key, &opts, 0.0)).is_none());
    // The stream path stores the assembled answer once the stream ended...
    let answered = complete(&router, chat(json!({"cache": {"no-store": true}})));
    block_on(router.cache_store(&key, &answered, &opts));
    // ...and a non-streamed identical request hits it (stream is not part of the key).
    let hit = complete(&router, chat(json!({})));
    assert!(hit.hidden.cache_hit);
    assert_eq!(fakes.transport.calls_to(A), 1);
    let replay = block_on(router.cache_lookup(&key, &opts, 0.0)).unwrap();
    assert!(replay.hidden.cache_hit);
    assert_eq!(replay.body, answered.body);
}

#[test]
fn a_request_namespace_nests_inside_the_operator_namespace() {
    let backend = Rc::new(MapBackend::default());
    let options = json!({"model_list": [deployment("chat", A, "a")], "cache_responses": true,
                         "cache": true, "cache_kwargs": {"namespace": "op"}});
    let (router, _fakes) = router_on(&backend, options);
    complete(&router, chat(json!({"cache": {"namespace": "tenant"}})));
    complete(&router, chat(json!({"temperature": 0.2})));
    let mut keys: Vec<String> = backend.map.borrow().keys().cloned().collect();
    keys.sort();
    assert_eq!(keys.len(), 2);
    assert!(
        keys[0].starts_with("op:") && keys[0].len() == 3 + 64,
        "{keys:?}"
    );
    assert!(keys[1].starts_with("op:tenant:"), "{keys:?}");
}

#[test]
fn a_request_ttl_is_capped_at_a_day_or_the_operator_ttl() {
    let backend = Rc::new(MapBackend::default());
    let options = json!({"model_list": [deployment("chat", A, "a")], "cache_responses": true,
                         "cache": true});
    let (router, _fakes) = router_on(&backend, options);
    complete(&router, chat(json!({"cache": {"ttl": 1.0e9}})));
    complete(
        &router,
        chat(json!({"temperature": 0.3, "cache": {"ttl": 30}})),
    );
    assert_eq!(
        *backend.ttls.borrow(),
        vec![Some(86_400_000), Some(30_000)],
        "a 31-year ttl is held to 24 h; a short one is kept"
    );
    let backend = Rc::new(MapBackend::default());
    let options = json!({"model_list": [deployment("chat", A, "a")], "cache_responses": true,
                         "cache": true, "cache_kwargs": {"ttl": 172_800}});
    let (router, _fakes) = router_on(&backend, options);
    complete(&router, chat(json!({"cache": {"ttl": 1.0e9}})));
    assert_eq!(
        *backend.ttls.borrow(),
        vec![Some(172_800_000)],
        "the operator's longer ttl"
    );
}

#[test]
fn a_no_store_request_neither_joins_nor_is_joined_by_a_request_in_flight() {
    // A plain leader in flight: an identical no-store request makes its own call.
    let (router, fakes) = cached_router(json!({}));
    let gate = Rc::new(Gate::default());
    fakes.transport.script(
        A,
        [
            Step::Held(Rc::clone(&gate), "leader".into()),
            Step::ok_chat("own"),
        ],
    );
    let leader = router.call(Endpoint::ChatCompletion, chat(json!({})));
    let private = async {
        yield_now().await;
        let own = router
            .call(
                Endpoint::ChatCompletion,
                chat(json!({"cache": {"no-store": true}})),
            )
            .await;
        gate.open();
        own
    };
    let (leader, private) = block_on(futures_util::future::join(leader, private));
    assert_eq!(content(&leader.unwrap()), "leader");
    let private = private.unwrap();
    assert!(
        !private.hidden.cache_hit,
        "no-store did not join the flight"
    );
    assert_eq!(content(&private), "own");
    assert_eq!(fakes.transport.calls_to(A), 2);

    // A no-store leader in flight: an identical plain request is not answered from it.
    let (router, fakes) = cached_router(json!({}));
    let gate = Rc::new(Gate::default());
    fakes.transport.script(
        A,
        [
            Step::Held(Rc::clone(&gate), "private".into()),
            Step::ok_chat("public"),
        ],
    );
    let leader = router.call(
        Endpoint::ChatCompletion,
        chat(json!({"cache": {"no-store": true}})),
    );
    let follower = async {
        yield_now().await;
        let own = router.call(Endpoint::ChatCompletion, chat(json!({}))).await;
        gate.open();
        own
    };
    let (leader, follower) = block_on(futures_util::future::join(leader, follower));
    assert_eq!(content(&leader.unwrap()), "private");
    let follower = follower.unwrap();
    assert!(!follower.hidden.cache_hit);
    assert_eq!(
        content(&follower),
        "public",
        "the no-store answer was not shared"
    );
    assert_eq!(fakes.transport.calls_to(A), 2);
}
