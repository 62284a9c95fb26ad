//! Routing strategies on fakes with fixed seeds and a manual clock: each shown statistically
//! or by the traffic it sends.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::result_large_err
)]

use llmux::config::{RouterConfig, RoutingStrategy};
use llmux::error::ErrorKind;
use llmux::router::Router;
use llmux::testing::{block_on, yield_now, Fakes, Gate, Step};
use llmux::types::Endpoint;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::rc::Rc;

fn base(name: &str) -> String {
    format!("http://{name}.test/v1")
}

fn deployment(name: &str, params: Value, info: Value) -> Value {
    let mut p = json!({"model": "openai/gpt-4o-mini", "api_base": base(name), "api_key": "k"});
    if let (Some(p), Some(extra)) = (p.as_object_mut(), params.as_object()) {
        p.extend(extra.clone());
    }
    let mut i = json!({"id": name});
    if let (Some(i), Some(extra)) = (i.as_object_mut(), info.as_object()) {
        i.extend(extra.clone());
    }
    json!({"model_name": "chat", "litellm_params": p, "model_info": i})
}

fn router(options: Value, seed: u64) -> (Router, Fakes) {
    let fakes = Fakes::new(seed);
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

#[test]
fn weighted_shuffle_matches_weights_by_chi_square_over_10000_picks() {
    let weights = [1.0, 2.0, 3.0, 4.0];
    let list: Vec<Value> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| deployment(&format!("d{i}"), json!({"weight": w}), json!({})))
        .collect();
    let (router, _) = router(json!({"model_list": list}), 2024);
    let n = 10_000;
    let mut counts = [0f64; 4];
    for _ in 0..n {
        let id = answer(&router);
        counts[id[1..].parse::<usize>().unwrap()] += 1.0;
    }
    let total: f64 = weights.iter().sum();
    let chi: f64 = counts
        .iter()
        .zip(weights)
        .map(|(o, w)| {
            let e = n as f64 * w / total;
            (o - e).powi(2) / e
        })
        .sum();
    // 3 degrees of freedom: 16.27 is the 0.1 % critical value.
    assert!(chi < 16.27, "chi-square {chi}, counts {counts:?}");
}

#[test]
fn least_busy_spreads_concurrent_load_evenly() {
    let list: Vec<Value> = ["a", "b", "c"]
        .iter()
        .map(|n| deployment(n, json!({}), json!({})))
        .collect();
    let (router, fakes) = router(
        json!({"model_list": list, "routing_strategy": "least-busy"}),
        1,
    );
    let gate = Rc::new(Gate::default());
    for n in ["a", "b", "c"] {
        fakes.transport.script(
            &base(n),
            (0..30).map(|_| Step::Held(Rc::clone(&gate), "held".into())),
        );
    }
    let calls = (0..30).map(|_| router.call(Endpoint::ChatCompletion, chat()));
    let opener = async {
        yield_now().await;
        gate.open();
    };
    let (results, ()) = block_on(futures_util::future::join(
        futures_util::future::join_all(calls),
        opener,
    ));
    let mut per: HashMap<String, usize> = HashMap::new();
    for r in results {
        *per.entry(r.unwrap().hidden.model_id).or_default() += 1;
    }
    assert_eq!(per.get("a"), Some(&10));
    assert_eq!(per.get("b"), Some(&10));
    assert_eq!(per.get("c"), Some(&10));
}

#[test]
fn latency_based_shifts_to_the_faster_deployment_and_back_after_it_recovers() {
    let list = vec![
        deployment("slow", json!({}), json!({})),
        deployment("fast", json!({}), json!({})),
    ];
    let options = json!({
        "model_list": list,
        "routing_strategy": "latency-based-routing",
        "routing_strategy_args": {"ttl": 60, "max_latency_list_size": 3}
    });
    let (router, fakes) = router(options, 3);
    let replies = |n, ms| (0..n).map(move |_| Step::ok_chat("x").after(ms));
    fakes.transport.script(&base("slow"), replies(100, 800));
    // "fast" answers in 50 ms eleven times, then degrades to 2 s, then recovers.
    fakes.transport.script(
        &base("fast"),
        replies(11, 50)
            .chain(replies(2, 2_000))
            .chain(replies(100, 50)),
    );
    // Both get measured once (unmeasured deployments go first), then traffic stays on "fast".
    let first: Vec<String> = (0..2).map(|_| answer(&router)).collect();
    assert!(first.contains(&"slow".to_string()) && first.contains(&"fast".to_string()));
    for _ in 0..10 {
        assert_eq!(answer(&router), "fast");
    }
    // Two 2 s samples put fast's average (of its last 3) above slow's 800 ms.
    assert_eq!(answer(&router), "fast");
    assert_eq!(answer(&router), "fast");
    assert_eq!(
        answer(&router),
        "slow",
        "traffic moves to the deployment that is now faster"
    );
    // Once the ttl has passed, old samples no longer count: fast is measured afresh and wins.
    fakes.clock.advance(61_000.0);
    let ids: Vec<String> = (0..6).map(|_| answer(&router)).collect();
    assert!(ids[2..].iter().all(|id| id == "fast"), "{ids:?}");
}

#[test]
fn latency_based_penalises_timeouts() {
    let list = vec![
        deployment("a", json!({}), json!({})),
        deployment("b", json!({}), json!({})),
    ];
    let options = json!({
        "model_list": list, "routing_strategy": "latency-based-routing",
        "timeout": 1, "num_retries": 1, "allowed_fails": 100
    });
    let (router, fakes) = router(options, 5);
    fakes.transport.script(&base("a"), [Step::Hang]);
    fakes.transport.script(&base("b"), [Step::Hang]);
    // One of them times out first and the retry lands on the other, which also hangs once.
    let _ = block_on(router.call(Endpoint::ChatCompletion, chat()));
    fakes
        .transport
        .script(&base("b"), (0..5).map(|_| Step::ok_chat("x").after(300)));
    fakes
        .transport
        .script(&base("a"), (0..5).map(|_| Step::ok_chat("x").after(300)));
    // Both carry a timeout penalty now; whichever answers normally is preferred afterwards.
    let winner = answer(&router);
    for _ in 0..5 {
        assert_eq!(answer(&router), winner);
    }
}

#[test]
fn usage_based_prefers_the_fewest_tokens_and_respects_rpm_until_the_minute_turns() {
    let list = vec![
        deployment("a", json!({"rpm": 2}), json!({})),
        deployment("b", json!({"rpm": 3}), json!({})),
    ];
    let (router, fakes) = router(
        json!({"model_list": list, "routing_strategy": "usage-based-routing-v2"}),
        9,
    );
    fakes.clock.set(600_000.0);
    let picks: Vec<String> = (0..5).map(|_| answer(&router)).collect();
    // Each answer costs 15 tokens; the strategy alternates towards the less used one.
    assert_eq!(picks.iter().filter(|p| *p == "a").count(), 2);
    assert_eq!(picks.iter().filter(|p| *p == "b").count(), 3);
    let e = block_on(router.call(Endpoint::ChatCompletion, chat())).unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimitError);
    assert_eq!(e.retry_after_ms, Some(60_000));
    fakes.clock.set(660_000.0);
    assert!(block_on(router.call(Endpoint::ChatCompletion, chat())).is_ok());
}

#[test]
fn cost_based_picks_the_cheapest_deployment() {
    let list = vec![
        deployment(
            "pricey",
            json!({}),
            json!({"input_cost_per_token": 5e-6, "output_cost_per_token": 15e-6}),
        ),
        deployment(
            "cheap",
            json!({}),
            json!({"input_cost_per_token": 1e-7, "output_cost_per_token": 4e-7}),
        ),
        deployment(
            "mid",
            json!({}),
            json!({"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}),
        ),
    ];
    let (router, fakes) = router(
        json!({"model_list": list, "routing_strategy": "cost-based-routing", "num_retries": 1}),
        4,
    );
    for _ in 0..10 {
        assert_eq!(answer(&router), "cheap");
    }
    // When the cheapest fails, the retry goes to the next cheapest.
    fakes
        .transport
        .script(&base("cheap"), [Step::error(500, "x")]);
    let routed = block_on(router.call(Endpoint::ChatCompletion, chat())).unwrap();
    assert_eq!(routed.hidden.model_id, "mid");
}

#[test]
fn strategies_and_their_arguments_are_validated() {
    let parse = |o: Value| RouterConfig::parse(&o, &HashMap::new());
    let c = parse(
        json!({"model_list": [], "routing_strategy": "latency-based-routing",
        "routing_strategy_args": {"ttl": 30, "lowest_latency_buffer": 0.5}}),
    )
    .unwrap();
    assert_eq!(
        c.routing_strategy,
        RoutingStrategy::LatencyBased {
            ttl_ms: 30_000,
            buffer: 0.5,
            max_samples: 10
        }
    );
    let e = parse(json!({"model_list": [], "routing_strategy": "least-busy", "routing_strategy_args": {"ttl": 1}})).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("routing_strategy_args.ttl"));
    let e = parse(json!({"model_list": [], "routing_strategy": "fastest"})).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("routing_strategy"));
}
