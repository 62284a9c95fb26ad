//! Failover features on fakes (a scripted transport, a manual clock): `order` tiers, the
//! request scheduler, weighted failover, unsupported-parameter fallbacks and mid-stream
//! continuation. Each expectation that LiteLLM decides was observed through LiteLLM 1.110.2
//! (`scripts/litellm-failover.py`, `tests/fixtures/failover/`).
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
use llmux::router::{HostStep, Router};
use llmux::testing::{block_on, Fakes, Step};
use llmux::types::Endpoint;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

const A: &str = "http://a.test/v1";
const A2: &str = "http://a2.test/v1";
const B: &str = "http://b.test/v1";
const C: &str = "http://c.test/v1";
const F: &str = "http://f.test/v1";

/// A deployment of `group` on `base` with id `id` and these extra `litellm_params`.
fn dep(group: &str, base: &str, id: &str, extra: Value) -> Value {
    let mut params = json!({"model": "openai/gpt-4o-mini", "api_base": base, "api_key": "sk-test"});
    if let (Some(p), Some(e)) = (params.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    json!({"model_name": group, "litellm_params": params, "model_info": {"id": id}})
}

fn ordered(group: &str, base: &str, id: &str, order: i64) -> Value {
    dep(group, base, id, json!({ "order": order }))
}

fn router_with(options: Value) -> (Router, Fakes) {
    let fakes = Fakes::new(7);
    let config = RouterConfig::parse(&options, &HashMap::new()).expect("valid config");
    (Router::new(config, fakes.ports.clone()), fakes)
}

fn chat(model: &str) -> Map<String, Value> {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}]})
        .as_object()
        .cloned()
        .unwrap()
}

fn with(mut req: Map<String, Value>, key: &str, value: Value) -> Map<String, Value> {
    req.insert(key.into(), value);
    req
}

fn ask(
    router: &Router,
    req: Map<String, Value>,
) -> Result<llmux::router::Routed, llmux::error::LlmError> {
    block_on(router.call(Endpoint::ChatCompletion, req))
}

/// The deployments called, by base URL, in order.
fn called(fakes: &Fakes) -> Vec<&'static str> {
    fakes
        .transport
        .urls()
        .iter()
        .map(|u| {
            [A2, A, B, C, F]
                .into_iter()
                .find(|b| u.starts_with(b))
                .unwrap_or("?")
        })
        .collect()
}

fn tiers(extra: Value) -> Value {
    let mut options = json!({"model_list": [ordered("g", A, "a", 1), ordered("g", B, "b", 2)]});
    if let (Some(o), Some(e)) = (options.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    options
}

// ---- order tiers -------------------------------------------------------------------------

#[test]
fn only_the_lowest_order_answers_while_it_is_healthy() {
    let (router, fakes) = router_with(tiers(json!({})));
    for _ in 0..5 {
        assert_eq!(ask(&router, chat("g")).unwrap().hidden.model_id, "a");
    }
    assert_eq!(fakes.transport.calls_to(B), 0);
}

#[test]
fn a_failing_tier_hands_the_call_to_the_next_tier_after_its_retries() {
    // LiteLLM: a, a, a, b (num_retries 2 within the tier, then the next tier).
    let (router, fakes) = router_with(tiers(json!({})));
    fakes
        .transport
        .script(A, (0..3).map(|_| Step::error(500, "boom")));
    let routed = ask(&router, chat("g")).unwrap();
    assert_eq!(routed.hidden.model_id, "b");
    assert_eq!(called(&fakes), [A, A, A, B]);
    assert_eq!(routed.hidden.attempts, 4);
    assert_eq!(routed.hidden.retries, 2);
    // Same group: not a fallback group.
    assert_eq!(routed.hidden.fallback_model_group, None);
}

#[test]
fn every_error_class_moves_to_the_next_tier_without_retries() {
    // LiteLLM 1.110.2 with num_retries 0: a, b for each of these.
    let cases: Vec<(&str, Step)> = vec![
        ("500", Step::error(500, "boom")),
        ("503", Step::error(503, "overloaded")),
        ("429", Step::error(429, "slow down")),
        ("404", Step::error(404, "no such model")),
        ("401", Step::error(401, "bad key")),
        ("400", Step::error(400, "bad request")),
        ("timeout", Step::Hang),
        ("connection", Step::ConnectionError("refused".into())),
    ];
    for (name, step) in cases {
        let (router, fakes) = router_with(tiers(json!({"num_retries": 0, "timeout": 1})));
        fakes.transport.script(A, [step]);
        let routed = ask(&router, chat("g")).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(routed.hidden.model_id, "b", "{name}");
        assert_eq!(called(&fakes), [A, B], "{name}");
    }
}

#[test]
fn with_retries_a_retryable_error_is_retried_in_its_tier_first() {
    // LiteLLM: a connection reset is retried on a (a, a) before any other tier.
    let (router, fakes) = router_with(tiers(json!({})));
    fakes
        .transport
        .script(A, [Step::ConnectionError("reset".into())]);
    let routed = ask(&router, chat("g")).unwrap();
    assert_eq!(routed.hidden.model_id, "a");
    assert_eq!(called(&fakes), [A, A]);
}

#[test]
fn a_cooldown_keeps_the_failed_tier_out_of_later_calls_until_it_ends() {
    // LiteLLM: a 429 cools a down at once; later calls go to b directly.
    let (router, fakes) = router_with(tiers(json!({"cooldown_time": 10})));
    fakes.transport.script(A, [Step::error(429, "slow down")]);
    assert_eq!(ask(&router, chat("g")).unwrap().hidden.model_id, "b");
    assert_eq!(called(&fakes), [A, B]);
    for _ in 0..3 {
        assert_eq!(ask(&router, chat("g")).unwrap().hidden.model_id, "b");
    }
    assert_eq!(fakes.transport.calls_to(A), 1);
    fakes.clock.advance(10_001.0);
    assert_eq!(ask(&router, chat("g")).unwrap().hidden.model_id, "a");
}

#[test]
fn a_tier_of_two_is_tried_whole_before_the_next() {
    // LiteLLM: a1 429, a2 429 (both cooled), then b; the next call goes to b only.
    let (router, fakes) = router_with(json!({"model_list": [
        ordered("g", A, "a1", 1), ordered("g", A2, "a2", 1), ordered("g", B, "b", 2)
    ]}));
    fakes.transport.script(A, [Step::error(429, "slow down")]);
    fakes.transport.script(A2, [Step::error(429, "slow down")]);
    let routed = ask(&router, chat("g")).unwrap();
    assert_eq!(routed.hidden.model_id, "b");
    let mut first_two = called(&fakes)[..2].to_vec();
    first_two.sort();
    assert_eq!(first_two, [A, A2]);
    assert_eq!(called(&fakes)[2], B);
    assert_eq!(ask(&router, chat("g")).unwrap().hidden.model_id, "b");
    assert_eq!(fakes.transport.calls.borrow().len(), 4);
}

#[test]
fn every_tier_gets_its_own_retries_and_the_last_error_is_raised() {
    // LiteLLM: a x3, b x3, InternalServerError.
    let (router, fakes) = router_with(tiers(json!({})));
    fakes
        .transport
        .script(A, (0..3).map(|_| Step::error(500, "boom")));
    fakes
        .transport
        .script(B, (0..3).map(|_| Step::error(503, "overloaded")));
    let e = ask(&router, chat("g")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::ServiceUnavailableError);
    assert_eq!(e.deployment_id.as_deref(), Some("b"));
    assert_eq!(called(&fakes), [A, A, A, B, B, B]);
    assert_eq!(e.attempts, Some(6));
}

#[test]
fn tiers_come_before_the_fallback_groups() {
    // LiteLLM: a, b, f.
    let (router, fakes) = router_with(json!({
        "model_list": [ordered("g", A, "a", 1), ordered("g", B, "b", 2), dep("fb", F, "f", json!({}))],
        "num_retries": 0,
        "fallbacks": [{"g": ["fb"]}],
    }));
    fakes.transport.script(A, [Step::error(500, "boom")]);
    fakes.transport.script(B, [Step::error(500, "boom")]);
    let routed = ask(&router, chat("g")).unwrap();
    assert_eq!(routed.hidden.model_id, "f");
    assert_eq!(routed.hidden.fallback_model_group.as_deref(), Some("fb"));
    assert_eq!(called(&fakes), [A, B, F]);
}

#[test]
fn three_tiers_in_ascending_order_whatever_the_values_and_the_list_order() {
    let (router, fakes) = router_with(json!({
        "model_list": [ordered("g", C, "c", 70), ordered("g", A, "a", -3), ordered("g", B, "b", 5)],
        "num_retries": 0,
        "max_fallbacks": 1,
    }));
    fakes.transport.script(A, [Step::error(500, "boom")]);
    fakes.transport.script(B, [Step::error(500, "boom")]);
    assert_eq!(ask(&router, chat("g")).unwrap().hidden.model_id, "c");
    // The chain is not a fallback depth: max_fallbacks 1 still walks three tiers (LiteLLM).
    assert_eq!(called(&fakes), [A, B, C]);
}

#[test]
fn no_tier_chain_when_fallbacks_are_off_or_the_depth_is_spent() {
    // LiteLLM: max_fallbacks 0, disable_fallbacks, and a fallback group at the depth limit
    // all end the call with the first tier's error.
    let (router, fakes) = router_with(tiers(json!({"num_retries": 0, "max_fallbacks": 0})));
    fakes.transport.script(A, [Step::error(500, "boom")]);
    let e = ask(&router, chat("g")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InternalServerError);
    assert_eq!(called(&fakes), [A]);

    let (router, fakes) = router_with(tiers(json!({"num_retries": 0})));
    fakes.transport.script(A, [Step::error(500, "boom")]);
    let e = ask(&router, with(chat("g"), "disable_fallbacks", json!(true))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InternalServerError);
    assert_eq!(called(&fakes), [A]);

    let (router, fakes) = router_with(json!({
        "model_list": [dep("g", C, "x", json!({})), ordered("fb", A, "a", 1), ordered("fb", B, "b", 2)],
        "num_retries": 0, "max_fallbacks": 1, "fallbacks": [{"g": ["fb"]}],
    }));
    fakes.transport.script(C, [Step::error(500, "boom")]);
    fakes.transport.script(A, [Step::error(500, "boom")]);
    assert!(ask(&router, chat("g")).is_err());
    assert_eq!(called(&fakes), [C, A]);
}

#[test]
fn a_fallback_group_walks_its_own_tiers() {
    // LiteLLM: x, a, b.
    let (router, fakes) = router_with(json!({
        "model_list": [dep("g", C, "x", json!({})), ordered("fb", A, "a", 1), ordered("fb", B, "b", 2)],
        "num_retries": 0, "fallbacks": [{"g": ["fb"]}],
    }));
    fakes.transport.script(C, [Step::error(500, "boom")]);
    fakes.transport.script(A, [Step::error(500, "boom")]);
    assert_eq!(ask(&router, chat("g")).unwrap().hidden.model_id, "b");
    assert_eq!(called(&fakes), [C, A, B]);
}

#[test]
fn deployments_without_an_order_are_the_last_tier() {
    let (router, fakes) = router_with(json!({
        "model_list": [dep("g", C, "u", json!({})), ordered("g", A, "a", 1)],
        "num_retries": 0,
    }));
    assert_eq!(ask(&router, chat("g")).unwrap().hidden.model_id, "a");
    fakes.transport.script(A, [Step::error(500, "boom")]);
    // LiteLLM raises here (an unordered deployment is never a tier of the chain); llmux
    // walks on to it (README, "Order tiers").
    assert_eq!(ask(&router, chat("g")).unwrap().hidden.model_id, "u");
    assert_eq!(called(&fakes), [A, A, C]);
}

#[test]
fn a_cooling_lower_tier_is_skipped_by_the_chain() {
    let (router, fakes) = router_with(json!({
        "model_list": [ordered("g", A, "a", 1), ordered("g", B, "b", 2), ordered("g", C, "c", 3)],
        "num_retries": 0, "cooldown_time": 60,
    }));
    // b cools down (a 429 while a was out).
    fakes
        .transport
        .script(A, [Step::error(429, "slow"), Step::error(500, "boom")]);
    fakes.transport.script(B, [Step::error(429, "slow")]);
    assert_eq!(ask(&router, chat("g")).unwrap().hidden.model_id, "c");
    assert_eq!(called(&fakes), [A, B, C]);
    fakes.clock.advance(61_000.0);
    // a is back and fails; b is back too: the chain goes a -> b.
    assert_eq!(ask(&router, chat("g")).unwrap().hidden.model_id, "b");
}

#[test]
fn every_tier_cooling_down_is_no_deployments_available() {
    let (router, fakes) = router_with(tiers(json!({"num_retries": 0, "cooldown_time": 60})));
    fakes.transport.script(A, [Step::error(429, "slow")]);
    fakes.transport.script(B, [Step::error(429, "slow")]);
    let e = ask(&router, chat("g")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimitError);
    let e = ask(&router, chat("g")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NoDeploymentsAvailableError);
    assert!(e.message.contains("2 deployment(s)"), "{}", e.message);
    assert_eq!(called(&fakes), [A, B]);
}

#[test]
fn the_host_loop_walks_the_same_tiers() {
    let (router, _) = router_with(tiers(json!({"num_retries": 0})));
    assert!(router.host_loop_allowed());
    let mut hc = router.begin_host(Endpoint::ChatCompletion, "g");
    let HostStep::Send(d) = router.step_host(&mut hc) else {
        panic!("a send");
    };
    assert_eq!(d.id, "a");
    router.unreachable_host(&mut hc, false, "connection refused");
    let HostStep::Send(d) = router.step_host(&mut hc) else {
        panic!("a send");
    };
    assert_eq!(d.id, "b");
    let hidden = router.answered_host(&mut hc, None).unwrap();
    assert_eq!((hidden.model_id.as_str(), hidden.attempts), ("b", 2));
}

#[test]
fn order_must_be_an_integer() {
    let bad = json!({"model_list": [dep("g", A, "a", json!({"order": 1.5}))]});
    let e = RouterConfig::parse(&bad, &HashMap::new()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::ConfigError);
    assert!(
        e.message.contains("model_list[0].litellm_params.order"),
        "{}",
        e.message
    );
    let bad = json!({"model_list": [dep("g", A, "a", json!({"order": [1]}))]});
    assert!(RouterConfig::parse(&bad, &HashMap::new()).is_err());
    // An integral string is read as LiteLLM's pydantic model reads it.
    let ok = json!({"model_list": [dep("g", A, "a", json!({"order": "2"}))]});
    let config = RouterConfig::parse(&ok, &HashMap::new()).unwrap();
    assert_eq!(config.deployments[0].order, Some(2));
}

// ---- the request scheduler ---------------------------------------------------------------

fn tagged(tag: &str, priority: Option<i64>) -> Map<String, Value> {
    let req = with(chat("g"), "user", json!(tag));
    match priority {
        Some(p) => with(req, "priority", json!(p)),
        None => req,
    }
}

/// The `user` tags of the upstream calls, in the order they were sent.
fn sent_tags(fakes: &Fakes) -> Vec<String> {
    fakes
        .transport
        .calls
        .borrow()
        .iter()
        .map(|c| {
            let body: Value = serde_json::from_str(c.request.body.as_deref().unwrap()).unwrap();
            body["user"].as_str().unwrap_or("").to_string()
        })
        .collect()
}

/// One deployment with one parallel slot, held by a first call until `gate` opens, then the
/// `queued` requests (started in this order) wait for it.
fn run_queue(options: Value, queued: Vec<Map<String, Value>>) -> (Fakes, Vec<bool>) {
    use llmux::testing::{yield_now, Gate};
    use std::rc::Rc;
    let (router, fakes) = router_with(options);
    let gate = Rc::new(Gate::default());
    fakes
        .transport
        .script(A, [Step::Held(Rc::clone(&gate), "held".into())]);
    let first = router.call(Endpoint::ChatCompletion, tagged("first", None));
    let rest = async {
        yield_now().await;
        futures_util::future::join_all(
            queued
                .into_iter()
                .map(|r| router.call(Endpoint::ChatCompletion, r)),
        )
        .await
    };
    let opener = async {
        for _ in 0..10 {
            yield_now().await;
        }
        assert_eq!(fakes.transport.calls.borrow().len(), 1, "the others wait");
        gate.open();
    };
    let (first, rest, ()) = block_on(futures_util::future::join3(first, rest, opener));
    assert!(first.is_ok());
    let ok = rest.iter().map(Result::is_ok).collect();
    (fakes, ok)
}

fn one_slot(extra: Value) -> Value {
    let mut options =
        json!({"model_list": [dep("g", A, "a", json!({"max_parallel_requests": 1}))]});
    if let (Some(o), Some(e)) = (options.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    options
}

#[test]
fn queued_requests_are_served_by_priority_not_arrival() {
    let (fakes, ok) = run_queue(
        one_slot(json!({})),
        vec![
            tagged("p5", Some(5)),
            tagged("p1", Some(1)),
            tagged("p3", Some(3)),
            tagged("p1-later", Some(1)),
        ],
    );
    assert_eq!(ok, [true; 4]);
    assert_eq!(sent_tags(&fakes), ["first", "p1", "p1-later", "p3", "p5"]);
}

#[test]
fn default_priority_ranks_requests_that_set_none() {
    // default_priority 2: the unprioritized call ranks as 2, after 1 and before 3.
    let (fakes, _) = run_queue(
        one_slot(json!({"default_priority": 2})),
        vec![
            tagged("p3", Some(3)),
            tagged("none", None),
            tagged("p1", Some(1)),
        ],
    );
    assert_eq!(sent_tags(&fakes), ["first", "p1", "none", "p3"]);
}

#[test]
fn without_priorities_queued_requests_go_first_come_first_served() {
    let (fakes, _) = run_queue(
        one_slot(json!({})),
        vec![
            tagged("1", None),
            tagged("2", None),
            tagged("3", None),
            tagged("p9", Some(9)),
        ],
    );
    // Any priority goes before none.
    assert_eq!(sent_tags(&fakes), ["first", "p9", "1", "2", "3"]);
}

#[test]
fn the_wait_in_the_queue_is_bounded_by_the_timeout_with_a_timeout_error() {
    use llmux::ports::Clock;
    use llmux::testing::{yield_now, Gate};
    use std::rc::Rc;
    let (router, fakes) = router_with(one_slot(json!({"timeout": 2, "polling_interval": 0.5})));
    let gate = Rc::new(Gate::default());
    fakes
        .transport
        .script(A, [Step::Held(Rc::clone(&gate), "held".into())]);
    let first = router.call(Endpoint::ChatCompletion, tagged("first", None));
    let second = async {
        yield_now().await;
        let t0 = fakes.clock.now_ms();
        let r = router
            .call(Endpoint::ChatCompletion, tagged("p1", Some(1)))
            .await;
        let waited = fakes.clock.now_ms() - t0;
        gate.open();
        (r, waited)
    };
    let (_, (second, waited)) = block_on(futures_util::future::join(first, second));
    let e = second.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout);
    assert!(e.message.contains("request scheduler"), "{}", e.message);
    assert!((2000.0..=2001.0).contains(&waited), "waited {waited}");
    // It re-checked every polling_interval while it waited.
    let polls = fakes.sleeper.slept.borrow().clone();
    assert!(polls.iter().all(|ms| *ms <= 500), "{polls:?}");
    assert!(polls.len() >= 4, "{polls:?}");
}

#[test]
fn a_prioritized_request_waits_for_the_next_rpm_minute_an_unprioritized_one_fails() {
    use llmux::ports::Clock;
    let (router, fakes) = router_with(json!({
        "model_list": [dep("g", A, "a", json!({"rpm": 1}))],
        "routing_strategy": "usage-based-routing",
    }));
    // Start early in a minute, so the wait below is most of one.
    let minute = (fakes.clock.now_ms() / 60_000.0).ceil() * 60_000.0;
    fakes.clock.set(minute + 1_000.0);
    assert!(ask(&router, tagged("first", None)).is_ok());
    let e = ask(&router, tagged("none", None)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimitError);
    let t0 = fakes.clock.now_ms();
    assert!(ask(&router, tagged("p0", Some(0))).is_ok());
    let waited = fakes.clock.now_ms() - t0;
    assert!((59_000.0..=59_100.0).contains(&waited), "waited {waited}");
    assert_eq!(sent_tags(&fakes), ["first", "p0"]);
}

#[test]
fn a_priority_that_is_not_an_integer_is_a_bad_request() {
    let (router, fakes) = router_with(one_slot(json!({})));
    let e = ask(&router, with(chat("g"), "priority", json!("high"))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequestError);
    assert!(e.message.contains("priority"), "{}", e.message);
    assert_eq!(fakes.transport.calls.borrow().len(), 0);
    // Not sent upstream.
    assert!(ask(&router, with(chat("g"), "priority", json!(3))).is_ok());
    assert_eq!(sent_tags(&fakes), [""]);
    let body = fakes.transport.calls.borrow()[0]
        .request
        .body
        .clone()
        .unwrap();
    assert!(!body.contains("priority"), "{body}");
}

#[test]
fn scheduler_options_are_validated() {
    for (options, field) in [
        (json!({"default_priority": 1.5}), "default_priority"),
        (json!({"default_priority": "x"}), "default_priority"),
        (json!({"polling_interval": 0}), "polling_interval"),
        (json!({"polling_interval": -1}), "polling_interval"),
    ] {
        let e = RouterConfig::parse(&options, &HashMap::new()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::ConfigError);
        assert!(e.message.contains(field), "{}", e.message);
    }
    let c = RouterConfig::parse(
        &json!({"default_priority": 0, "polling_interval": 0.2}),
        &HashMap::new(),
    )
    .unwrap();
    assert_eq!((c.default_priority, c.polling_interval_ms), (Some(0), 200));
}

// ---- weighted failover -------------------------------------------------------------------

fn weighted(extra: Value) -> Value {
    let mut options = json!({"model_list": [
        dep("g", A, "a", json!({"weight": 1000})),
        dep("g", B, "b", json!({"weight": 1})),
        dep("g", C, "c", json!({"weight": 1})),
        dep("fb", F, "f", json!({})),
    ], "num_retries": 0, "fallbacks": [{"g": ["fb"]}]});
    if let (Some(o), Some(e)) = (options.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    options
}

#[test]
fn weighted_failover_repicks_in_the_group_before_the_fallback() {
    // LiteLLM: a, then b or c.
    let (router, fakes) = router_with(weighted(json!({"enable_weighted_failover": true})));
    fakes.transport.script(A, [Step::error(500, "boom")]);
    let routed = ask(&router, chat("g")).unwrap();
    assert!(["b", "c"].contains(&routed.hidden.model_id.as_str()));
    assert_eq!(routed.hidden.fallback_model_group, None);
    assert_eq!(fakes.transport.calls.borrow().len(), 2);
    assert_eq!(fakes.transport.calls_to(F), 0);
    // Off (the default): the fallback group answers.
    let (router, fakes) = router_with(weighted(json!({})));
    fakes.transport.script(A, [Step::error(500, "boom")]);
    assert_eq!(ask(&router, chat("g")).unwrap().hidden.model_id, "f");
    assert_eq!(called(&fakes), [A, F]);
}

#[test]
fn weighted_failover_tries_every_deployment_then_falls_back() {
    // LiteLLM: a, b, c (in either order), f; any error kind, a 400 included.
    let (router, fakes) = router_with(weighted(json!({"enable_weighted_failover": true})));
    fakes.transport.script(A, [Step::error(400, "bad")]);
    fakes.transport.script(B, [Step::error(401, "key")]);
    fakes.transport.script(C, [Step::error(503, "busy")]);
    assert_eq!(ask(&router, chat("g")).unwrap().hidden.model_id, "f");
    let calls = called(&fakes);
    assert_eq!((calls[0], calls[3], calls.len()), (A, F, 4));
}

#[test]
fn weighted_failover_is_bounded_by_max_fallbacks_and_needs_simple_shuffle() {
    // LiteLLM: max_fallbacks 1 -> a and one re-pick, then the error (no depth left either).
    let (router, fakes) = router_with(weighted(
        json!({"enable_weighted_failover": true, "max_fallbacks": 1, "fallbacks": []}),
    ));
    for base in [A, B, C] {
        fakes.transport.script(base, [Step::error(500, "boom")]);
    }
    let e = ask(&router, chat("g")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InternalServerError);
    assert_eq!(fakes.transport.calls.borrow().len(), 2);
    // least-busy: no failover (LiteLLM: simple-shuffle only).
    let (router, fakes) = router_with(weighted(json!({
        "enable_weighted_failover": true, "routing_strategy": "least-busy", "fallbacks": [],
    })));
    for base in [A, B, C] {
        fakes.transport.script(base, [Step::error(500, "boom")]);
    }
    assert!(ask(&router, chat("g")).is_err());
    assert_eq!(fakes.transport.calls.borrow().len(), 1);
}

// ---- fallback_on_unsupported_params ------------------------------------------------------

#[test]
fn without_fallback_on_unsupported_params_a_plain_400_ends_the_call() {
    let options = |on: bool| {
        json!({
            "model_list": [ordered("g", A, "a", 1), ordered("g", B, "b", 2), dep("fb", F, "f", json!({}))],
            "num_retries": 0, "fallbacks": [{"g": ["fb"]}], "fallback_on_unsupported_params": on,
        })
    };
    // LiteLLM: no fallback, no tier walk; the provider's BadRequestError.
    let (router, fakes) = router_with(options(false));
    fakes
        .transport
        .script(A, [Step::error(400, "unsupported parameter")]);
    let e = ask(&router, chat("g")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequestError);
    assert_eq!(called(&fakes), [A]);
    // Other errors still move on, a context-window error (a 400 too) included.
    let (router, fakes) = router_with(options(false));
    fakes.transport.script(A, [Step::error(500, "boom")]);
    assert_eq!(ask(&router, chat("g")).unwrap().hidden.model_id, "b");
    let (router, fakes) = router_with(options(false));
    fakes.transport.script(
        A,
        [Step::json(
            400,
            json!({"error": {"message": "This model's maximum context length is 8192 tokens.", "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}}),
        )],
    );
    fakes
        .transport
        .script(B, [Step::error(400, "unsupported parameter")]);
    assert!(ask(&router, chat("g")).is_err());
    assert_eq!(called(&fakes), [A, B]);
    // The default (true): the plain 400 walks on.
    let (router, fakes) = router_with(options(true));
    fakes
        .transport
        .script(A, [Step::error(400, "unsupported parameter")]);
    assert_eq!(ask(&router, chat("g")).unwrap().hidden.model_id, "b");
    assert_eq!(called(&fakes), [A, B]);
}

#[test]
fn failover_options_are_booleans() {
    for key in ["enable_weighted_failover", "fallback_on_unsupported_params"] {
        let e = RouterConfig::parse(&json!({ key: "yes" }), &HashMap::new()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some(key));
    }
    let c = RouterConfig::parse(
        &json!({"fallback_on_unsupported_params": true}),
        &HashMap::new(),
    )
    .unwrap();
    assert!(c.fallback_on_unsupported_params && !c.enable_weighted_failover);
}

// ---- mid-stream continuation -------------------------------------------------------------

/// OpenAI chunks answering `words` (a role chunk first) with this `id`, cut by a reset when
/// `cut`, else finished and `[DONE]`.
fn stream_of(id: &str, words: &[&str], cut: bool) -> Step {
    use llmux::testing::Piece;
    let chunk = |delta: Value, finish: Value| {
        json!({"id": id, "object": "chat.completion.chunk", "created": 1_700_000_000,
               "model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let mut chunks = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    chunks.extend(
        words
            .iter()
            .map(|w| chunk(json!({"content": w}), Value::Null)),
    );
    let mut pieces: Vec<Piece> = chunks
        .iter()
        .map(|c| Piece::Bytes(format!("data: {c}\n\n").into_bytes()))
        .collect();
    if cut {
        pieces.push(Piece::Reset("connection reset".into()));
    } else {
        pieces.push(Piece::text(&format!(
            "data: {}\n\n",
            chunk(json!({}), json!("stop"))
        )));
        pieces.push(Piece::text("data: [DONE]\n\n"));
    }
    Step::Stream(pieces)
}

fn continuation_router(extra: Value) -> (Router, Fakes) {
    let mut options = json!({
        "model_list": [
            dep("g", A, "a", json!({})),
            {"model_name": "fb", "litellm_params": {"model": "openai/m", "api_base": F, "api_key": "k"},
             "model_info": {"id": "f", "supports_assistant_prefill": true}},
        ],
        "num_retries": 0, "fallbacks": [{"g": ["fb"]}],
        "enable_mid_stream_fallback_continuation": true,
    });
    if let (Some(o), Some(e)) = (options.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    router_with(options)
}

fn read_all(
    router: &Router,
    body: Map<String, Value>,
) -> (
    Vec<Value>,
    Result<(), llmux::error::LlmError>,
    llmux::router::HiddenParams,
) {
    block_on(async {
        let mut stream = router
            .call_stream(Endpoint::ChatCompletion, body)
            .await
            .unwrap();
        let mut chunks = Vec::new();
        let end = loop {
            match stream.next().await {
                Ok(Some(c)) => chunks.extend(c),
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        (chunks, end, stream.hidden().clone())
    })
}

fn text_of(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect()
}

#[test]
fn a_stream_cut_after_text_continues_on_the_fallback_with_a_prefill() {
    let (router, fakes) = continuation_router(json!({}));
    fakes
        .transport
        .script(A, [stream_of("first", &["The", " quick"], true)]);
    // The fallback echoes the prefill (as Mistral does) before continuing.
    fakes.transport.script(
        F,
        [stream_of("second", &["The quick", " brown", " fox"], false)],
    );
    let body = with(
        with(chat("g"), "stream", json!(true)),
        "max_tokens",
        json!(50),
    );
    let (chunks, end, hidden) = read_all(&router, body);
    assert!(end.is_ok(), "{end:?}");
    assert_eq!(text_of(&chunks), "The quick brown fox");
    // One stream for the caller: the first id and created throughout, one role delta.
    assert!(chunks.iter().all(|c| c["id"] == "first"), "{chunks:?}");
    let roles = chunks
        .iter()
        .filter(|c| !c["choices"][0]["delta"]["role"].is_null())
        .count();
    assert_eq!(roles, 1);
    assert_eq!(hidden.model_id, "f");
    assert_eq!(hidden.fallback_model_group.as_deref(), Some("fb"));
    assert_eq!(hidden.attempts, 2);
    // The continuation request: the text so far as an assistant prefill, max_tokens reduced.
    let calls = fakes.transport.calls.borrow();
    let sent: Value = serde_json::from_str(calls[1].request.body.as_deref().unwrap()).unwrap();
    let last = sent["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        last,
        json!({"role": "assistant", "content": "The quick", "prefix": true})
    );
    assert!(sent["max_tokens"].as_u64().unwrap() < 50, "{sent}");
}

#[test]
fn without_the_option_or_an_eligible_fallback_the_stream_ends_with_the_error() {
    for options in [
        json!({"enable_mid_stream_fallback_continuation": false}),
        // A fallback whose model does not take a prefill.
        json!({"model_list": [dep("g", A, "a", json!({})), dep("fb", F, "f", json!({}))]}),
    ] {
        let (router, fakes) = continuation_router(options);
        fakes
            .transport
            .script(A, [stream_of("first", &["The", " quick"], true)]);
        let (chunks, end, _) = read_all(&router, with(chat("g"), "stream", json!(true)));
        assert_eq!(text_of(&chunks), "The quick");
        assert_eq!(end.unwrap_err().kind, ErrorKind::APIConnectionError);
        assert_eq!(fakes.transport.calls_to(F), 0);
    }
}

#[test]
fn a_continuation_that_breaks_again_is_bounded_by_max_fallbacks() {
    // Both groups fall back to each other; each leg breaks. max_fallbacks 1: one continuation.
    let (router, fakes) = continuation_router(json!({
        "max_fallbacks": 1, "fallbacks": [{"g": ["fb"]}, {"fb": ["g"]}],
    }));
    fakes
        .transport
        .script(A, [stream_of("first", &["one"], true)]);
    fakes
        .transport
        .script(F, [stream_of("second", &[" two"], true)]);
    let (chunks, end, _) = read_all(&router, with(chat("g"), "stream", json!(true)));
    assert_eq!(text_of(&chunks), "one two");
    assert!(end.is_err());
    assert_eq!(fakes.transport.calls.borrow().len(), 2);
}

#[test]
fn a_constrained_request_is_never_continued() {
    let (router, fakes) = continuation_router(json!({}));
    fakes
        .transport
        .script(A, [stream_of("first", &["{\"a\""], true)]);
    let body = with(
        with(chat("g"), "stream", json!(true)),
        "response_format",
        json!({"type": "json_object"}),
    );
    let (_, end, _) = read_all(&router, body);
    assert!(end.is_err());
    assert_eq!(fakes.transport.calls_to(F), 0);
}

#[test]
fn the_reply_ceilings_count_every_leg_of_a_continued_stream() {
    // Each leg alone fits in max_response_bytes; together they do not.
    let (router, fakes) = continuation_router(json!({"max_response_bytes": 800}));
    fakes
        .transport
        .script(A, [stream_of("first", &["one", " two"], true)]);
    fakes
        .transport
        .script(F, [stream_of("second", &[" three"], false)]);
    let (chunks, end, _) = read_all(&router, with(chat("g"), "stream", json!(true)));
    let e = end.unwrap_err();
    assert!(e.message.contains("max_response_bytes"), "{}", e.message);
    assert!(text_of(&chunks).starts_with("one two"));
    // Not continued a second time.
    assert_eq!(fakes.transport.calls.borrow().len(), 2);
}
