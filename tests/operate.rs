//! Operator actions (the dashboard's buttons) on fakes: clearing a cooldown puts a deployment
//! back at once, a disabled deployment is never picked until enabled, and the status of every
//! deployment says which of those it is in.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::result_large_err
)]

use llmux::config::RouterConfig;
use llmux::ports::Clock;
use llmux::router::Router;
use llmux::state::{MemoryStore, StateStore};
use llmux::testing::{block_on, Fakes, QueueSpawner, Step};
use llmux::types::Endpoint;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::rc::Rc;

fn base(id: &str) -> String {
    format!("http://{id}.test/v1")
}

fn deployment(id: &str, extra: Value) -> Value {
    let mut params =
        json!({"model": "openai/gpt-4o-mini", "api_base": base(id), "api_key": "sk-op"});
    if let (Some(p), Some(e)) = (params.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    json!({"model_name": "chat", "litellm_params": params, "model_info": {"id": id}})
}

fn router_with(options: Value) -> (Router, Fakes) {
    let fakes = Fakes::new(3);
    let config = RouterConfig::parse(&options, &HashMap::new()).expect("valid config");
    (Router::new(config, fakes.ports.clone()), fakes)
}

fn chat() -> Map<String, Value> {
    json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]})
        .as_object()
        .cloned()
        .unwrap()
}

fn answer(router: &Router) -> String {
    block_on(router.call(Endpoint::ChatCompletion, chat()))
        .unwrap()
        .hidden
        .model_id
}

fn status_of(router: &Router, id: &str) -> Value {
    router
        .deployment_status()
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == id)
        .cloned()
        .expect("listed")
}

/// `a` is preferred a million to one; its first answer is a 429 (an immediate cooldown).
fn benched_a() -> (Router, Fakes) {
    let (router, fakes) = router_with(json!({
        "model_list": [deployment("a", json!({"weight": 1_000_000})), deployment("b", json!({"weight": 1}))],
        "cooldown_time": 30,
    }));
    fakes
        .transport
        .script(&base("a"), [Step::error(429, "slow down")]);
    assert_eq!(answer(&router), "b", "a's 429 is retried on b");
    assert!(router.cooling_until("a").is_some());
    (router, fakes)
}

#[test]
fn clearing_a_cooldown_puts_the_deployment_back_at_once() {
    let (router, fakes) = benched_a();
    assert_eq!(answer(&router), "b");
    assert_eq!(status_of(&router, "a")["status"], "cooling_down");
    assert!(router.clear_cooldown("a"));
    assert_eq!(router.cooling_until("a"), None);
    assert_eq!(status_of(&router, "a")["status"], "healthy");
    assert_eq!(answer(&router), "a", "picked again without waiting 30 s");
    assert_eq!(fakes.transport.calls_to(&base("a")), 2);
}

#[test]
fn a_disabled_deployment_is_never_picked_until_enabled() {
    let (router, fakes) = router_with(json!({
        "model_list": [deployment("a", json!({"weight": 1_000_000})), deployment("b", json!({"weight": 1}))],
    }));
    assert!(router.set_deployment_disabled("a", true));
    for _ in 0..10 {
        assert_eq!(answer(&router), "b");
    }
    assert_eq!(fakes.transport.calls_to(&base("a")), 0);
    let shown = status_of(&router, "a");
    assert_eq!(shown["status"], "disabled");
    assert_eq!(shown["disabled"], true);
    assert_eq!(shown["cooldown_until_ms"], Value::Null);
    // Clearing a cooldown does not enable it; enabling does.
    assert!(router.clear_cooldown("a"));
    assert_eq!(answer(&router), "b");
    assert!(router.set_deployment_disabled("a", false));
    assert_eq!(answer(&router), "a");
    assert_eq!(status_of(&router, "a")["status"], "healthy");
}

#[test]
fn a_group_whose_deployments_are_all_disabled_has_no_deployment_available() {
    let (router, fakes) = router_with(json!({"model_list": [deployment("a", json!({}))]}));
    router.set_deployment_disabled("a", true);
    let e = block_on(router.call(Endpoint::ChatCompletion, chat())).unwrap_err();
    assert_eq!(e.kind, llmux::error::ErrorKind::NoDeploymentsAvailableError);
    assert_eq!(fakes.transport.calls_to(&base("a")), 0);
}

#[test]
fn actions_on_an_unknown_deployment_report_false_and_change_nothing() {
    let (router, _) = router_with(json!({"model_list": [deployment("a", json!({}))]}));
    assert!(!router.clear_cooldown("nope"));
    assert!(!router.set_deployment_disabled("nope", true));
    let all = router.deployment_status();
    assert_eq!(all.as_array().unwrap().len(), 1);
}

#[test]
fn deleting_a_disabled_deployment_forgets_that_it_was_disabled() {
    let (router, _) = router_with(json!({
        "model_list": [deployment("a", json!({})), deployment("b", json!({}))],
    }));
    router.set_deployment_disabled("a", true);
    router.delete_deployment("a");
    router.add_deployment(&deployment("a", json!({}))).unwrap();
    assert_eq!(status_of(&router, "a")["status"], "healthy");
}

#[test]
fn status_says_over_limit_once_this_minutes_requests_reach_rpm() {
    let (router, _) = router_with(json!({
        "model_list": [deployment("a", json!({"rpm": 2, "weight": 1_000_000})), deployment("b", json!({"weight": 1}))],
    }));
    assert_eq!(status_of(&router, "a")["status"], "healthy");
    answer(&router);
    answer(&router);
    let a = status_of(&router, "a");
    assert_eq!(a["minute_requests"], 2);
    assert_eq!(a["rpm"], 2);
    assert_eq!(a["status"], "over_limit");
    assert_eq!(status_of(&router, "b")["status"], "healthy");
}

#[test]
fn a_cleared_cooldown_is_not_brought_back_by_the_shared_store() {
    let fakes = Fakes::new(5);
    let store: Rc<dyn StateStore> = Rc::new(MemoryStore::new(fakes.clock.clone()));
    let spawner = Rc::new(QueueSpawner::default());
    let options = json!({
        "model_list": [deployment("a", json!({"weight": 1_000_000})), deployment("b", json!({"weight": 1}))],
        "cooldown_time": 30,
    });
    let make = || {
        let config = RouterConfig::parse(&options, &HashMap::new()).unwrap();
        let r = Router::new(config, fakes.ports.clone());
        r.attach_state(Rc::clone(&store), spawner.clone());
        r
    };
    let router = make();
    fakes
        .transport
        .script(&base("a"), [Step::error(429, "slow down")]);
    assert_eq!(answer(&router), "b");
    spawner.run_all();
    block_on(router.sync_state());
    assert!(
        router.cooling_until("a").is_some(),
        "the store holds the mark"
    );
    assert!(router.clear_cooldown("a"));
    spawner.run_all();
    block_on(router.sync_state());
    assert_eq!(
        router.cooling_until("a"),
        None,
        "not re-applied from the store"
    );
    // A router starting now does not pick the old cooldown up either.
    let fresh = make();
    block_on(fresh.sync_state());
    assert_eq!(fresh.cooling_until("a"), None);
    assert_eq!(answer(&router), "a");
}

#[test]
fn status_says_budget_spent_until_the_window_resets() {
    let (router, fakes) = router_with(json!({
        "model_list": [
            deployment("a", json!({"weight": 1_000_000, "max_budget": 1e-9, "budget_duration": "1m",
                                   "input_cost_per_token": 1, "output_cost_per_token": 1})),
            deployment("b", json!({"weight": 1})),
        ],
    }));
    assert_eq!(status_of(&router, "a")["status"], "healthy");
    assert_eq!(status_of(&router, "a")["budget_resets_at_ms"], Value::Null);
    assert_eq!(answer(&router), "a");
    let a = status_of(&router, "a");
    assert_eq!(a["status"], "budget_spent");
    let reset = a["budget_resets_at_ms"].as_f64().unwrap();
    assert!(reset > fakes.clock.now_ms() && reset <= fakes.clock.now_ms() + 60_000.0);
    assert_eq!(answer(&router), "b");
    assert_eq!(status_of(&router, "b")["status"], "healthy");
    fakes.clock.set(reset + 1.0);
    assert_eq!(status_of(&router, "a")["status"], "healthy");
}
