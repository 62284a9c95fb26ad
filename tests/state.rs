//! Shared state across router instances: two Routers over one in-memory store and one manual
//! clock see each other's cooldowns, rpm counts and latency after a sync; a failing store
//! never fails a request.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::result_large_err
)]

use llmux::config::RouterConfig;
use llmux::ports::{Clock, LocalFuture, LogLevel};
use llmux::router::Router;
use llmux::state::{IncrOp, MemoryStore, SetOp, StateStore};
use llmux::testing::{block_on, Fakes, QueueSpawner, Step};
use llmux::types::Endpoint;
use serde_json::{json, Map, Value};
use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;

fn base(name: &str) -> String {
    format!("http://{name}.test/v1")
}

fn deployment(name: &str, params: Value) -> Value {
    let mut p = json!({"model": "openai/gpt-4o-mini", "api_base": base(name), "api_key": "k"});
    if let (Some(p), Some(extra)) = (p.as_object_mut(), params.as_object()) {
        p.extend(extra.clone());
    }
    json!({"model_name": "chat", "litellm_params": p, "model_info": {"id": name}})
}

/// Two routers (same options, one transport and clock) sharing `store`.
struct Pair {
    a: Router,
    b: Router,
    fakes: Fakes,
    spawner: Rc<QueueSpawner>,
}

fn pair(options: Value, store: Option<Rc<dyn StateStore>>) -> Pair {
    let fakes = Fakes::new(7);
    let store = store.unwrap_or_else(|| Rc::new(MemoryStore::new(fakes.clock.clone())));
    let spawner = Rc::new(QueueSpawner::default());
    let make = || {
        let config = RouterConfig::parse(&options, &HashMap::new()).expect("valid config");
        let r = Router::new(config, fakes.ports.clone());
        r.attach_state(Rc::clone(&store), spawner.clone());
        r
    };
    let a = make();
    let b = make();
    Pair {
        a,
        b,
        fakes,
        spawner,
    }
}

fn chat() -> Map<String, Value> {
    json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]})
        .as_object()
        .cloned()
        .unwrap()
}

/// Polls `future` to completion, running the spawner's queued tasks between polls (an event
/// loop in miniature: background syncs progress while a request waits).
fn drive<F: Future>(spawner: &QueueSpawner, future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        spawner.run_all();
    }
}

fn answer(router: &Router) -> String {
    block_on(router.call(Endpoint::ChatCompletion, chat()))
        .unwrap()
        .hidden
        .model_id
}

#[test]
fn a_cooldown_set_by_one_router_is_seen_by_another_after_a_sync() {
    let p = pair(
        json!({"model_list": [
            deployment("d1", json!({"weight": 1_000_000})),
            deployment("d2", json!({"weight": 1})),
        ]}),
        None,
    );
    p.fakes
        .transport
        .script(&base("d1"), [Step::error(429, "slow down")]);
    // A: d1 answers 429 (an immediate cooldown), the retry goes to d2.
    assert_eq!(answer(&p.a), "d2");
    assert!(p.a.cooling_until("d1").is_some());
    assert_eq!(
        p.b.cooling_until("d1"),
        None,
        "B knows nothing before a sync"
    );
    // The cooldown mark asked for a background sync of A; B then syncs.
    assert!(p.spawner.run_all() >= 1);
    block_on(p.b.sync_state());
    let until = p.b.cooling_until("d1").expect("B sees A's cooldown");
    assert_eq!(Some(until), p.a.cooling_until("d1"));
    // B routes around d1 without calling it: d1 was called once in all (by A).
    for _ in 0..5 {
        assert_eq!(answer(&p.b), "d2");
    }
    assert_eq!(p.fakes.transport.calls_to(&base("d1")), 1);
    // After the cooldown ends, B uses d1 again.
    p.fakes.clock.advance(until - p.fakes.clock.now_ms() + 1.0);
    assert_eq!(answer(&p.b), "d1");
}

#[test]
fn rpm_limits_count_the_requests_of_every_router() {
    let p = pair(
        json!({"enable_pre_call_checks": true, "model_list": [
            deployment("d1", json!({"weight": 1_000_000, "rpm": 2})),
            deployment("d2", json!({"weight": 1})),
        ]}),
        None,
    );
    // One request each: d1 is at 1 of 2 on each router, 2 of 2 in total.
    assert_eq!(answer(&p.a), "d1");
    assert_eq!(answer(&p.b), "d1");
    // A flushes its request; B flushes its own and reads both; A reads again.
    block_on(p.a.sync_state());
    block_on(p.b.sync_state());
    block_on(p.a.sync_state());
    // Both now know d1 is full for this minute and send the rest to d2.
    assert_eq!(answer(&p.a), "d2");
    assert_eq!(answer(&p.b), "d2");
    assert_eq!(p.fakes.transport.calls_to(&base("d1")), 2);
    // The next minute starts a new window everywhere.
    let now = p.fakes.clock.now_ms();
    p.fakes
        .clock
        .set((now / 60_000.0).floor() * 60_000.0 + 60_000.0);
    block_on(p.b.sync_state());
    assert_eq!(answer(&p.b), "d1");
}

#[test]
fn without_a_sync_each_router_counts_only_its_own_requests() {
    let p = pair(
        json!({"enable_pre_call_checks": true, "model_list": [
            deployment("d1", json!({"weight": 1_000_000, "rpm": 2})),
            deployment("d2", json!({"weight": 1})),
        ]}),
        None,
    );
    assert_eq!(answer(&p.a), "d1");
    assert_eq!(answer(&p.b), "d1");
    // No sync has run (background tasks are queued, not run): B still sees 1 of 2.
    assert_eq!(answer(&p.b), "d1");
    assert_eq!(p.fakes.transport.calls_to(&base("d1")), 3);
}

#[test]
fn latency_samples_of_one_router_steer_another() {
    let p = pair(
        json!({"routing_strategy": "latency-based-routing", "model_list": [
            deployment("fast", json!({})),
            deployment("slow", json!({})),
        ]}),
        None,
    );
    p.fakes.transport.script(
        &base("slow"),
        (0..20).map(|_| Step::ok_chat("late").after(800)),
    );
    p.fakes.transport.script(
        &base("fast"),
        (0..20).map(|_| Step::ok_chat("quick").after(20)),
    );
    // A measures both (unmeasured deployments are tried first).
    let mut seen: Vec<String> = (0..2).map(|_| answer(&p.a)).collect();
    seen.sort();
    assert_eq!(seen, ["fast", "slow"]);
    block_on(p.a.sync_state());
    block_on(p.b.sync_state());
    // B has measured nothing itself, yet goes to the fast deployment every time.
    for _ in 0..6 {
        assert_eq!(answer(&p.b), "fast");
    }
    assert_eq!(p.fakes.transport.calls_to(&base("slow")), 1);
}

/// A store whose every call fails (a Redis that is down).
#[derive(Default)]
struct DownStore {
    calls: Cell<u32>,
}

impl StateStore for DownStore {
    fn incr(&self, _ops: Vec<IncrOp>) -> LocalFuture<'static, Result<Vec<f64>, String>> {
        self.calls.set(self.calls.get() + 1);
        Box::pin(async { Err("connection refused".to_string()) })
    }
    fn get(&self, _keys: Vec<String>) -> LocalFuture<'static, Result<Vec<Option<String>>, String>> {
        self.calls.set(self.calls.get() + 1);
        Box::pin(async { Err("connection refused".to_string()) })
    }
    fn set(&self, _ops: Vec<SetOp>) -> LocalFuture<'static, Result<(), String>> {
        self.calls.set(self.calls.get() + 1);
        Box::pin(async { Err("connection refused".to_string()) })
    }
}

#[test]
fn a_failing_store_never_fails_a_request_and_warns_once() {
    let store = Rc::new(DownStore::default());
    let p = pair(
        json!({"state_sync_interval_ms": 100, "model_list": [
            deployment("d1", json!({"weight": 1_000_000})),
            deployment("d2", json!({"weight": 1})),
        ]}),
        Some(store.clone()),
    );
    p.fakes
        .transport
        .script(&base("d1"), [Step::error(429, "slow down")]);
    for i in 0..10 {
        // As a host's event loop would, the background sync runs while the call waits.
        let routed =
            drive(&p.spawner, p.a.call(Endpoint::ChatCompletion, chat())).expect("answered");
        // Local state still works: d1 cools down after its 429 and stays out.
        assert_eq!(routed.hidden.model_id, "d2", "request {i}");
        p.spawner.run_all();
        block_on(p.a.sync_state());
        p.fakes.clock.advance(150.0);
    }
    assert!(store.calls.get() >= 10, "the store was tried at every sync");
    let warnings: Vec<String> = p
        .fakes
        .logger
        .lines
        .borrow()
        .iter()
        .filter(|(level, _)| *level == LogLevel::Warn)
        .map(|(_, m)| m.clone())
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("state store failed"));
    assert_eq!(p.a.state_report().unwrap()["store_down"], json!(true));
}

#[test]
fn keys_are_namespaced_and_hold_deployment_ids_only() {
    let fakes = Fakes::new(1);
    let store = Rc::new(MemoryStore::new(fakes.clock.clone()));
    let spawner = Rc::new(QueueSpawner::default());
    let options = json!({"state_prefix": "team-a", "model_list": [
        {"model_name": "chat", "litellm_params": {"model": "openai/gpt-4o-mini", "api_base": base("d1"), "api_key": "sk-SECRET-1234"}, "model_info": {"id": "d1"}},
    ]});
    let config = RouterConfig::parse(&options, &HashMap::new()).unwrap();
    let r = Router::new(config, fakes.ports.clone());
    r.attach_state(store.clone(), spawner.clone());
    answer(&r);
    block_on(r.sync_state());
    let minute = (fakes.clock.now_ms() / 60_000.0).floor() as i64;
    let got = block_on(store.get(vec![
        format!("llmux:team-a:rpm:d1:{minute}"),
        format!("llmux:team-a:tpm:d1:{minute}"),
        "llmux:team-a:inflight:d1".into(),
    ]))
    .unwrap();
    assert_eq!(
        got,
        vec![Some("1".into()), Some("15".into()), None],
        "in-flight +1 and -1 in one batch cancel out (nothing written)"
    );
    assert_eq!(
        spawner.queued(),
        1,
        "the request started one background sync"
    );
}

#[test]
fn state_options_are_validated() {
    let bad = |options: Value| RouterConfig::parse(&options, &HashMap::new()).unwrap_err();
    assert_eq!(
        bad(json!({"state_prefix": ""})).field.as_deref(),
        Some("state_prefix")
    );
    assert_eq!(
        bad(json!({"state_sync_interval_ms": "soon"}))
            .field
            .as_deref(),
        Some("state_sync_interval_ms")
    );
    assert_eq!(
        bad(json!({"state": "redis"})).field.as_deref(),
        Some("state")
    );
}

#[test]
fn least_busy_counts_the_requests_in_flight_on_every_router() {
    let fakes = Fakes::new(11);
    let store: Rc<dyn StateStore> = Rc::new(MemoryStore::new(fakes.clock.clone()));
    let spawner = Rc::new(QueueSpawner::default());
    let make = |names: &[&str]| {
        let list: Vec<Value> = names.iter().map(|n| deployment(n, json!({}))).collect();
        let options = json!({"routing_strategy": "least-busy", "model_list": list});
        let r = Router::new(
            RouterConfig::parse(&options, &HashMap::new()).unwrap(),
            fakes.ports.clone(),
        );
        r.attach_state(Rc::clone(&store), spawner.clone());
        r
    };
    // A routes to x only; B to x and y.
    let a = make(&["x"]);
    let b = make(&["x", "y"]);
    // Both have their first snapshot (else A's held calls would still be waiting for it,
    // having told the store nothing, and B would walk into x's held gate).
    block_on(a.sync_state());
    block_on(b.sync_state());
    let gate = Rc::new(llmux::testing::Gate::default());
    fakes.transport.script(
        &base("x"),
        (0..3).map(|_| Step::Held(Rc::clone(&gate), "held".into())),
    );
    let mut held: Vec<_> = (0..3)
        .map(|_| Box::pin(a.call(Endpoint::ChatCompletion, chat())))
        .collect();
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    for f in &mut held {
        assert!(f.as_mut().poll(&mut cx).is_pending(), "held upstream");
    }
    block_on(a.sync_state());
    block_on(b.sync_state());
    // x has 3 requests in flight (on A), y none: B sends everything to y.
    for _ in 0..6 {
        assert_eq!(answer(&b), "y");
    }
    assert_eq!(fakes.transport.calls_to(&base("x")), 3);
    gate.open();
    for f in held {
        assert_eq!(block_on(f).unwrap().hidden.model_id, "x");
    }
    // A's requests are done: after a sync B sees x idle again and uses it.
    block_on(a.sync_state());
    block_on(b.sync_state());
    let picks: Vec<String> = (0..20).map(|_| answer(&b)).collect();
    assert!(picks.iter().any(|p| p == "x"), "{picks:?}");
}

#[test]
fn allowed_fails_counts_the_failures_of_every_router() {
    let p = pair(
        json!({"allowed_fails": 1, "model_list": [
            deployment("d1", json!({"weight": 1_000_000})),
            deployment("d2", json!({"weight": 1})),
        ]}),
        None,
    );
    p.fakes.transport.script(
        &base("d1"),
        [Step::error(500, "boom"), Step::error(500, "boom")],
    );
    // One 500 on each router: 1 failure each is within allowed_fails = 1 ...
    assert_eq!(answer(&p.a), "d2");
    assert_eq!(p.a.cooling_until("d1"), None);
    block_on(p.a.sync_state());
    block_on(p.b.sync_state());
    // ... but 2 in this minute across both routers: B's failure benches d1.
    assert_eq!(answer(&p.b), "d2");
    let until = p.b.cooling_until("d1").expect("d1 cools down on B");
    p.spawner.run_all();
    block_on(p.a.sync_state());
    assert_eq!(p.a.cooling_until("d1"), Some(until), "and A learns of it");
    assert_eq!(answer(&p.a), "d2");
    assert_eq!(p.fakes.transport.calls_to(&base("d1")), 2);
}

/// A store whose promises never settle (a blackholed connection, a custom store that drops a
/// reply).
#[derive(Default)]
struct HungStore {
    calls: Cell<u32>,
}

impl StateStore for HungStore {
    fn incr(&self, _ops: Vec<IncrOp>) -> LocalFuture<'static, Result<Vec<f64>, String>> {
        self.calls.set(self.calls.get() + 1);
        Box::pin(std::future::pending())
    }
    fn get(&self, _keys: Vec<String>) -> LocalFuture<'static, Result<Vec<Option<String>>, String>> {
        self.calls.set(self.calls.get() + 1);
        Box::pin(std::future::pending())
    }
    fn set(&self, _ops: Vec<SetOp>) -> LocalFuture<'static, Result<(), String>> {
        self.calls.set(self.calls.get() + 1);
        Box::pin(std::future::pending())
    }
}

#[test]
fn a_store_that_never_answers_delays_the_first_request_by_the_first_sync_timeout_only() {
    let store = Rc::new(HungStore::default());
    let p = pair(
        json!({"state_first_sync_timeout_ms": 300, "model_list": [deployment("d1", json!({}))]}),
        Some(store.clone()),
    );
    let t0 = p.fakes.clock.now_ms();
    assert_eq!(answer(&p.a), "d1");
    assert_eq!(
        p.fakes.clock.now_ms() - t0,
        300.0,
        "waited state_first_sync_timeout_ms for the snapshot, then routed on local state"
    );
    // Later requests do not wait again.
    let t1 = p.fakes.clock.now_ms();
    assert_eq!(answer(&p.a), "d1");
    assert_eq!(p.fakes.clock.now_ms(), t1);
}

#[test]
fn a_sync_the_store_never_answers_is_abandoned_after_the_sync_timeout_and_syncing_resumes() {
    let store = Rc::new(HungStore::default());
    let p = pair(
        json!({"state_first_sync_timeout_ms": 0, "model_list": [deployment("d1", json!({}))]}),
        Some(store.clone()),
    );
    assert_eq!(answer(&p.a), "d1");
    assert_eq!(
        p.spawner.queued(),
        1,
        "the request started a background sync"
    );
    // The sync's store call never settles: it is abandoned after SYNC_TIMEOUT_MS (virtual
    // time), counted as a store failure, and stops blocking later syncs.
    let t0 = p.fakes.clock.now_ms();
    assert_eq!(p.spawner.run_all(), 1);
    assert_eq!(
        p.fakes.clock.now_ms() - t0,
        llmux::state::SYNC_TIMEOUT_MS as f64
    );
    let report = p.a.state_report().unwrap();
    assert_eq!(report["store_down"], json!(true));
    assert_eq!(report["store_failures"], json!(1));
    let calls = store.calls.get();
    assert_eq!(answer(&p.a), "d1");
    assert_eq!(
        p.spawner.queued(),
        1,
        "the next request past the sync interval starts a new sync"
    );
    p.spawner.run_all();
    assert!(store.calls.get() > calls, "the store was tried again");
    // syncState() resolves too (bounded by the same timeout).
    block_on(p.a.sync_state());
    assert_eq!(p.a.state_report().unwrap()["store_failures"], json!(3));
    let warnings = p
        .fakes
        .logger
        .lines
        .borrow()
        .iter()
        .filter(|(level, m)| *level == LogLevel::Warn && m.contains("no answer within"))
        .count();
    assert_eq!(warnings, 1, "one warning for the outage");
}
