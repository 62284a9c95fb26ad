//! `routing_groups` on fakes: a member model group is picked by its routing group's strategy,
//! every other group by the router's; malformed groups are `ConfigError`s naming the field.
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
use llmux::router::Router;
use llmux::testing::{block_on, Fakes};
use llmux::types::Endpoint;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

fn base(name: &str) -> String {
    format!("http://{name}.test/v1")
}

/// Deployment `name` of `group`, priced at `input` per input token.
fn deployment(group: &str, name: &str, input: f64) -> Value {
    json!({
        "model_name": group,
        "litellm_params": {"model": "openai/gpt-4o-mini", "api_base": base(name), "api_key": "k",
                           "input_cost_per_token": input, "output_cost_per_token": 1e-6},
        "model_info": {"id": name},
    })
}

fn chat(group: &str) -> Map<String, Value> {
    json!({"model": group, "messages": [{"role": "user", "content": "hi"}]})
        .as_object()
        .cloned()
        .unwrap()
}

fn config_error(options: Value) -> llmux::error::LlmError {
    RouterConfig::parse(&options, &HashMap::new()).expect_err("a ConfigError")
}

#[test]
fn a_member_group_is_picked_by_its_routing_groups_strategy_and_the_others_by_the_routers() {
    let options = json!({
        "model_list": [
            deployment("cheapest", "pricey", 5e-6), deployment("cheapest", "cheap", 1e-7),
            deployment("chat", "pricey2", 5e-6), deployment("chat", "cheap2", 1e-7),
        ],
        "routing_strategy": "simple-shuffle",
        "routing_groups": [
            {"group_name": "by-cost", "models": ["cheapest"], "routing_strategy": "cost-based-routing"},
        ],
    });
    let fakes = Fakes::new(11);
    let config = RouterConfig::parse(&options, &HashMap::new()).unwrap();
    let router = Router::new(config, fakes.ports.clone());
    for _ in 0..20 {
        let routed = block_on(router.call(Endpoint::ChatCompletion, chat("cheapest"))).unwrap();
        assert_eq!(routed.hidden.model_id, "cheap");
        block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap();
    }
    assert_eq!(fakes.transport.calls_to(&base("pricey")), 0);
    // simple-shuffle still spreads the group outside every routing group.
    assert!(fakes.transport.calls_to(&base("pricey2")) > 0);
    assert!(fakes.transport.calls_to(&base("cheap2")) > 0);
}

#[test]
fn a_routing_groups_name_is_callable_and_picks_over_its_members_with_its_strategy() {
    let options = json!({
        "model_list": [
            deployment("small", "pricey", 5e-6), deployment("large", "cheap", 1e-7),
            deployment("other", "z", 1e-9),
        ],
        "routing_groups": [
            {"group_name": "by-cost", "models": ["small", "large"], "routing_strategy": "cost-based-routing"},
            {"group_name": "empty", "models": ["nowhere"], "routing_strategy": "least-busy"},
        ],
    });
    let fakes = Fakes::new(3);
    let router = Router::new(
        RouterConfig::parse(&options, &HashMap::new()).unwrap(),
        fakes.ports.clone(),
    );
    for _ in 0..10 {
        let routed = block_on(router.call(Endpoint::ChatCompletion, chat("by-cost"))).unwrap();
        assert_eq!(routed.hidden.model_id, "cheap");
    }
    assert_eq!(fakes.transport.urls().len(), 10);
    let e = block_on(router.call(Endpoint::ChatCompletion, chat("empty"))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequestError);
    assert!(
        e.message
            .contains("routing group \"empty\" has no deployment"),
        "{}",
        e.message
    );
}

#[test]
fn a_latency_routing_group_takes_its_own_routing_strategy_args() {
    let options = json!({
        "model_list": [deployment("chat", "a", 1e-6)],
        "routing_groups": [{"group_name": "fast", "models": ["chat"],
            "routing_strategy": "latency-based-routing",
            "routing_strategy_args": {"ttl": 60, "lowest_latency_buffer": 0.5}}],
    });
    RouterConfig::parse(&options, &HashMap::new()).unwrap();
    let e = config_error(json!({
        "model_list": [],
        "routing_groups": [{"group_name": "fast", "models": ["chat"],
            "routing_strategy": "least-busy", "routing_strategy_args": {"ttl": 60}}],
    }));
    assert_eq!(
        e.field.as_deref(),
        Some("routing_groups[0].routing_strategy_args.ttl")
    );
}

#[test]
fn malformed_routing_groups_are_config_errors_naming_the_field() {
    let group = |g: Value| json!({"model_list": [], "routing_groups": [g]});
    for (options, field, says) in [
        (
            group(
                json!({"group_name": "p", "models": ["a", "b"], "routing_strategy": "priority",
                         "model_priorities": {"a": 1, "b": 2}}),
            ),
            "routing_groups[0].routing_strategy",
            "priority routing groups",
        ),
        (
            group(json!({"group_name": "g", "models": ["a"], "routing_strategy": "fastest"})),
            "routing_groups[0].routing_strategy",
            "unknown strategy",
        ),
        (
            group(
                json!({"group_name": "default", "models": ["a"], "routing_strategy": "least-busy"}),
            ),
            "routing_groups[0].group_name",
            "reserved",
        ),
        (
            group(json!({"group_name": "g", "models": "a", "routing_strategy": "least-busy"})),
            "routing_groups[0].models",
            "list",
        ),
        (
            group(
                json!({"group_name": "g", "models": ["a"], "routing_strategy": "least-busy", "colour": 1}),
            ),
            "routing_groups[0].colour",
            "not a field",
        ),
        (
            json!({"model_list": [], "routing_groups": [
                {"group_name": "g", "models": ["a"], "routing_strategy": "least-busy"},
                {"group_name": "h", "models": ["b", "a"], "routing_strategy": "cost-based-routing"},
            ]}),
            "routing_groups[1].models[1]",
            "at most one group",
        ),
        (
            json!({"model_list": [], "routing_groups": [
                {"group_name": "g", "models": ["a"], "routing_strategy": "least-busy"},
                {"group_name": "g", "models": ["b"], "routing_strategy": "least-busy"},
            ]}),
            "routing_groups[1].group_name",
            "unique",
        ),
    ] {
        let e = config_error(options);
        assert_eq!(e.kind, ErrorKind::ConfigError);
        assert_eq!(e.field.as_deref(), Some(field), "{}", e.message);
        assert!(e.message.contains(says), "{}", e.message);
    }
}
