//! Budgets on the manual clock: a deployment (`max_budget` per `budget_duration`) or a
//! provider (`provider_budget_config`) that has spent its limit leaves rotation until its
//! window ends; spend is booked from each answer's cost on every request path and shared
//! through the state store.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::result_large_err
)]

use llmux::config::RouterConfig;
use llmux::error::ErrorKind;
use llmux::ports::Clock;
use llmux::router::Router;
use llmux::state::{MemoryStore, StateStore};
use llmux::testing::{block_on, chat_stream, Fakes, QueueSpawner};
use llmux::types::Endpoint;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::rc::Rc;

fn base(name: &str) -> String {
    format!("http://{name}.test/v1")
}

/// Every scripted chat answer uses 10 prompt + 5 completion tokens: 0.25 * 10 + 0.5 * 5 =
/// 5 USD per answer at these prices (exact in binary floating point).
fn deployment(name: &str, group: &str, params: Value) -> Value {
    let mut p = json!({"model": "openai/gpt-4o-mini", "api_base": base(name), "api_key": "k",
        "input_cost_per_token": 0.25, "output_cost_per_token": 0.5});
    if let (Some(p), Some(extra)) = (p.as_object_mut(), params.as_object()) {
        p.extend(extra.clone());
    }
    json!({"model_name": group, "litellm_params": p, "model_info": {"id": name}})
}

fn router_with(options: Value, fakes: &Fakes) -> Router {
    let config = RouterConfig::parse(&options, &HashMap::new()).expect("valid config");
    Router::new(config, fakes.ports.clone())
}

fn chat(group: &str) -> Map<String, Value> {
    json!({"model": group, "messages": [{"role": "user", "content": "hi"}]})
        .as_object()
        .cloned()
        .unwrap()
}

fn answer(router: &Router, group: &str) -> String {
    block_on(router.call(Endpoint::ChatCompletion, chat(group)))
        .unwrap()
        .hidden
        .model_id
}

fn two_deployments(d1_budget: Value) -> Value {
    json!({"num_retries": 0, "model_list": [
        deployment("d1", "chat", d1_budget),
        deployment("d2", "chat", json!({"weight": 1})),
    ]})
}

#[test]
fn a_spent_deployment_leaves_rotation_until_its_window_resets() {
    let fakes = Fakes::new(1);
    let router = router_with(
        two_deployments(json!({"weight": 1_000_000, "max_budget": 10, "budget_duration": "1m"})),
        &fakes,
    );
    let opened = fakes.clock.now_ms();
    // Two answers (5 USD each) spend d1's 10 USD: the rest goes to d2.
    assert_eq!(answer(&router, "chat"), "d1");
    fakes.clock.advance(10_000.0);
    assert_eq!(answer(&router, "chat"), "d1");
    for _ in 0..3 {
        assert_eq!(answer(&router, "chat"), "d2");
    }
    assert_eq!(fakes.transport.calls_to(&base("d1")), 2);
    let report = router.usage_report();
    let b = &report["budgets"]["deployments"]["d1"];
    assert_eq!(b["spend"], json!(10.0));
    assert_eq!(b["max_budget"], json!(10.0));
    assert_eq!(b["budget_duration"], json!("1m"));
    // The window opened with the first spend and lasts a minute.
    assert_eq!(b["resets_at_ms"], json!(opened + 60_000.0));
    // Just before the reset d1 is still out; at the reset it is back, with a new window.
    fakes.clock.set(opened + 59_999.0);
    assert_eq!(answer(&router, "chat"), "d2");
    fakes.clock.set(opened + 60_000.0);
    assert_eq!(answer(&router, "chat"), "d1");
    assert_eq!(fakes.transport.calls_to(&base("d1")), 3);
    let report = router.usage_report();
    assert_eq!(report["budgets"]["deployments"]["d1"]["spend"], json!(5.0));
    assert_eq!(
        report["budgets"]["deployments"]["d1"]["resets_at_ms"],
        json!(opened + 120_000.0)
    );
}

#[test]
fn every_deployment_over_budget_is_no_deployments_available_with_the_reset_as_retry_after() {
    let fakes = Fakes::new(2);
    let router = router_with(
        json!({"model_list": [
            deployment("d1", "chat", json!({"max_budget": 5, "budget_duration": "30s"})),
        ]}),
        &fakes,
    );
    assert_eq!(answer(&router, "chat"), "d1");
    fakes.clock.advance(10_000.0);
    let e = block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NoDeploymentsAvailableError);
    assert_eq!(e.status, 429);
    assert_eq!(
        e.message,
        "No deployments available - crossed budget: Exceeded budget for deployment model_name: chat, litellm_params.model: openai/gpt-4o-mini, model_id: d1: 5 >= 5"
    );
    assert_eq!(e.retry_after_ms, Some(20_000));
    assert_eq!(e.model_group.as_deref(), Some("chat"));
    // No upstream call was made for the refused request, and no retry waited.
    assert_eq!(fakes.transport.calls_to(&base("d1")), 1);
    assert!(fakes.sleeper.slept.borrow().is_empty());
}

#[test]
fn a_group_over_budget_falls_back() {
    let fakes = Fakes::new(3);
    let router = router_with(
        json!({"fallbacks": [{"chat": ["backup"]}], "model_list": [
            deployment("d1", "chat", json!({"max_budget": 5, "budget_duration": "1d"})),
            deployment("b1", "backup", json!({})),
        ]}),
        &fakes,
    );
    assert_eq!(answer(&router, "chat"), "d1");
    let routed = block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap();
    assert_eq!(routed.hidden.model_id, "b1");
    assert_eq!(
        routed.hidden.fallback_model_group.as_deref(),
        Some("backup")
    );
    assert_eq!(fakes.transport.calls_to(&base("d1")), 1);
}

#[test]
fn a_budget_of_zero_is_no_limit_as_in_litellm() {
    let fakes = Fakes::new(4);
    let router = router_with(
        two_deployments(json!({"weight": 1_000_000, "max_budget": 0, "budget_duration": "1d"})),
        &fakes,
    );
    for _ in 0..3 {
        assert_eq!(answer(&router, "chat"), "d1");
    }
}

#[test]
fn a_provider_budget_covers_every_deployment_of_the_provider_from_router_start() {
    let fakes = Fakes::new(5);
    let started = fakes.clock.now_ms();
    let router = router_with(
        json!({"num_retries": 0,
        "provider_budget_config": {"openai": {"budget_limit": 10, "time_period": "30s"}},
        "model_list": [
            deployment("o1", "chat", json!({"weight": 1_000_000})),
            deployment("o2", "chat", json!({"weight": 1_000})),
            {"model_name": "chat", "litellm_params": {"model": "groq/llama-3.1-8b-instant",
                "api_base": base("g1"), "api_key": "k", "input_cost_per_token": 0.25,
                "output_cost_per_token": 0.5, "weight": 1}, "model_info": {"id": "g1"}},
        ]}),
        &fakes,
    );
    fakes.clock.advance(20_000.0);
    assert_eq!(answer(&router, "chat"), "o1");
    assert_eq!(answer(&router, "chat"), "o1");
    // OpenAI spent 10 USD: both OpenAI deployments are out, groq answers.
    assert_eq!(answer(&router, "chat"), "g1");
    assert_eq!(answer(&router, "chat"), "g1");
    let report = router.usage_report();
    let b = &report["budgets"]["providers"]["openai"];
    assert_eq!(b["spend"], json!(10.0));
    // The provider's first window opened with the router (LiteLLM's init), not the spend.
    assert_eq!(b["resets_at_ms"], json!(started + 30_000.0));
    fakes.clock.set(started + 30_000.0);
    assert_eq!(answer(&router, "chat"), "o1");
    assert_eq!(fakes.transport.calls_to(&base("o2")), 0);
    assert_eq!(fakes.transport.calls_to(&base("g1")), 2);
}

#[test]
fn a_provider_over_budget_everywhere_names_the_provider() {
    let fakes = Fakes::new(6);
    let router = router_with(
        json!({"provider_budget_config": {"openai": {"budget_limit": 5, "time_period": "1d"}},
            "model_list": [deployment("o1", "chat", json!({}))]}),
        &fakes,
    );
    assert_eq!(answer(&router, "chat"), "o1");
    let e = block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NoDeploymentsAvailableError);
    assert_eq!(
        e.message,
        "No deployments available - crossed budget: Exceeded budget for provider openai: 5 >= 5"
    );
    assert_eq!(e.retry_after_ms, Some(86_400_000));
}

#[test]
fn a_stream_books_its_cost_when_it_ends() {
    let fakes = Fakes::new(7);
    let router = router_with(
        two_deployments(json!({"weight": 1_000_000, "max_budget": 4, "budget_duration": "1h"})),
        &fakes,
    );
    // 9 prompt + 2 completion tokens: 0.25 * 9 + 0.5 * 2 = 3.25 USD.
    fakes
        .transport
        .script(&base("d1"), [chat_stream(&["a", "b"])]);
    let mut body = chat("chat");
    body.insert("stream".into(), json!(true));
    let mut stream = block_on(router.call_stream(Endpoint::ChatCompletion, body.clone())).unwrap();
    while block_on(stream.next()).unwrap().is_some() {}
    let report = router.usage_report();
    assert_eq!(report["budgets"]["deployments"]["d1"]["spend"], json!(3.25));
    // Still under 4: d1 streams again, which spends it.
    fakes
        .transport
        .script(&base("d1"), [chat_stream(&["c", "d"])]);
    let mut stream = block_on(router.call_stream(Endpoint::ChatCompletion, body)).unwrap();
    while block_on(stream.next()).unwrap().is_some() {}
    assert_eq!(answer(&router, "chat"), "d2");
    assert_eq!(fakes.transport.calls_to(&base("d1")), 2);
}

#[test]
fn the_host_loop_books_spend_and_skips_a_spent_deployment() {
    let fakes = Fakes::new(8);
    let router = router_with(
        two_deployments(json!({"weight": 1_000_000, "max_budget": 5, "budget_duration": "1d"})),
        &fakes,
    );
    assert!(router.host_loop_allowed());
    let usage = llmux::cost::TokenUsage {
        prompt_tokens: 10,
        completion_tokens: 5,
        ..Default::default()
    };
    let mut hc = router.begin_host(Endpoint::ChatCompletion, "chat");
    let llmux::router::HostStep::Send(d) = router.step_host(&mut hc) else {
        panic!("expected a send");
    };
    assert_eq!(d.id, "d1");
    let hidden = router.answered_host(&mut hc, Some(usage)).unwrap();
    assert_eq!(hidden.response_cost, Some(5.0));
    let mut hc = router.begin_host(Endpoint::ChatCompletion, "chat");
    let llmux::router::HostStep::Send(d) = router.step_host(&mut hc) else {
        panic!("expected a send");
    };
    assert_eq!(d.id, "d2");
}

#[test]
fn budget_settings_are_validated_naming_the_field() {
    let cases = [
        (
            json!({"model_list": [deployment("d1", "chat", json!({"max_budget": 5}))]}),
            "model_list[0].litellm_params.budget_duration",
        ),
        (
            json!({"model_list": [deployment("d1", "chat", json!({"budget_duration": "1d"}))]}),
            "model_list[0].litellm_params.max_budget",
        ),
        (
            json!({"model_list": [deployment("d1", "chat", json!({"max_budget": 5, "budget_duration": "1x"}))]}),
            "model_list[0].litellm_params.budget_duration",
        ),
        (
            json!({"model_list": [deployment("d1", "chat", json!({"max_budget": -1, "budget_duration": "1d"}))]}),
            "model_list[0].litellm_params.max_budget",
        ),
        (
            json!({"model_list": [], "provider_budget_config": {"openai": {"budget_limit": 5}}}),
            "provider_budget_config.openai.time_period",
        ),
        (
            json!({"model_list": [], "provider_budget_config": {"openai": {"budget_limit": "x", "time_period": "1d"}}}),
            "provider_budget_config.openai.budget_limit",
        ),
        (
            json!({"model_list": [], "provider_budget_config": {"openai": {"budget_limit": 1, "time_period": "1d", "extra": 1}}}),
            "provider_budget_config.openai.extra",
        ),
        (
            json!({"model_list": [], "provider_budget_config": []}),
            "provider_budget_config",
        ),
    ];
    for (options, field) in cases {
        let e = RouterConfig::parse(&options, &HashMap::new()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::ConfigError, "{field}");
        assert!(e.message.starts_with(field), "{field}: got {:?}", e.message);
    }
}

/// Two routers over one store: A spends d1's budget; after syncs B routes around d1.
#[test]
fn spend_is_shared_through_the_state_store() {
    let fakes = Fakes::new(9);
    let store: Rc<dyn StateStore> = Rc::new(MemoryStore::new(fakes.clock.clone()));
    let spawner = Rc::new(QueueSpawner::default());
    let options = json!({"num_retries": 0, "model_list": [
        deployment("d1", "chat", json!({"weight": 1_000_000, "max_budget": 10, "budget_duration": "1h"})),
        deployment("d2", "chat", json!({"weight": 1})),
    ]});
    let a = router_with(options.clone(), &fakes);
    let b = router_with(options, &fakes);
    a.attach_state(Rc::clone(&store), spawner.clone());
    b.attach_state(Rc::clone(&store), spawner.clone());
    assert_eq!(answer(&a, "chat"), "d1");
    assert_eq!(answer(&b, "chat"), "d1");
    // Each spent 5: neither alone is over, together they are.
    block_on(a.sync_state());
    block_on(b.sync_state());
    block_on(a.sync_state());
    assert_eq!(answer(&a, "chat"), "d2");
    assert_eq!(answer(&b, "chat"), "d2");
    assert_eq!(fakes.transport.calls_to(&base("d1")), 2);
    // B learnt when the window (opened by A's flush) resets, from the store.
    let report = b.usage_report();
    let budget = &report["budgets"]["deployments"]["d1"];
    assert_eq!(budget["spend"], json!(10.0));
    let reset = budget["resets_at_ms"].as_f64().unwrap();
    let report_a = a.usage_report();
    assert!(
        reset
            >= report_a["budgets"]["deployments"]["d1"]["resets_at_ms"]
                .as_f64()
                .unwrap()
    );
    // After the window, the store's key has expired and d1 is back for both.
    fakes.clock.set(reset + 1.0);
    block_on(b.sync_state());
    assert_eq!(answer(&b, "chat"), "d1");
}
