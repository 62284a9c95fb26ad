//! The router's state machines on fakes: a scripted transport and a manual clock, so
//! retries, backoffs, cooldowns and fallbacks are checked exactly, in virtual time.
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
use llmux::testing::{block_on, Fakes, Step};
use llmux::types::Endpoint;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

const A: &str = "http://a.test/v1";
const B: &str = "http://b.test/v1";
const C: &str = "http://c.test/v1";

fn deployment(group: &str, base: &str, id: &str) -> Value {
    json!({
        "model_name": group,
        "litellm_params": {"model": "openai/gpt-4o-mini", "api_base": base, "api_key": "sk-test"},
        "model_info": {"id": id}
    })
}

fn router_with(options: Value, seed: u64) -> (Router, Fakes) {
    let fakes = Fakes::new(seed);
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

#[test]
fn answers_from_the_only_deployment_with_hidden_params() {
    let (router, fakes) = router_with(json!({"model_list": [deployment("chat", A, "a")]}), 1);
    let routed = block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap();
    assert_eq!(routed.hidden.model_id, "a");
    assert_eq!(routed.hidden.attempts, 1);
    assert_eq!(routed.body["choices"][0]["message"]["content"], "hello");
    let call = &fakes.transport.calls.borrow()[0].request;
    assert_eq!(call.url, "http://a.test/v1/chat/completions");
    assert_eq!(call.header("authorization"), Some("Bearer sk-test"));
    let sent: Value = serde_json::from_str(call.body.as_deref().unwrap()).unwrap();
    assert_eq!(sent["model"], "gpt-4o-mini");
}

#[test]
fn retries_a_server_error_on_another_deployment_at_once() {
    let (router, fakes) = router_with(
        json!({"model_list": [deployment("chat", A, "a"), deployment("chat", B, "b")]}),
        7,
    );
    fakes.transport.script(A, [Step::error(500, "boom")]);
    fakes.transport.script(B, [Step::error(500, "boom")]);
    let routed = block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap();
    // One failure on each deployment, then a third call that succeeds. The first retry
    // goes to the untried deployment without waiting; only the second one backs off.
    assert_eq!(routed.hidden.attempts, 3);
    assert_eq!(routed.hidden.retries, 2);
    assert_eq!(fakes.transport.calls_to(A) + fakes.transport.calls_to(B), 3);
    let urls = fakes.transport.urls();
    assert_ne!(
        urls[0], urls[1],
        "the first retry must pick the other deployment"
    );
    assert_eq!(fakes.sleeper.slept.borrow().len(), 1);
}

#[test]
fn backs_off_exponentially_in_a_single_deployment_group() {
    let (router, fakes) = router_with(
        json!({"model_list": [deployment("chat", A, "a")], "num_retries": 3}),
        3,
    );
    fakes.transport.script(
        A,
        [
            Step::error(500, "x"),
            Step::error(500, "x"),
            Step::error(500, "x"),
        ],
    );
    let routed = block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap();
    assert_eq!(routed.hidden.attempts, 4);
    let slept = fakes.sleeper.slept.borrow().clone();
    assert_eq!(slept.len(), 3);
    for (delay, base) in slept.iter().zip([500u64, 1000, 2000]) {
        assert!(
            (base..=base + 750).contains(delay),
            "delay {delay} not in [{base}, {}]",
            base + 750
        );
    }
}

#[test]
fn honours_retry_after_on_a_rate_limit() {
    let (router, fakes) = router_with(
        json!({"model_list": [deployment("chat", A, "a")], "num_retries": 1}),
        3,
    );
    fakes.transport.script(
        A,
        [Step::error(429, "slow down").with_header("retry-after", "3")],
    );
    let t0 = fakes.clock.now_ms();
    block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap();
    let calls = fakes.transport.calls.borrow();
    let gap = calls[1].at_ms - calls[0].at_ms;
    assert!((3000.0..=3750.0).contains(&gap), "gap {gap}");
    assert!(fakes.clock.now_ms() - t0 >= 3000.0);
}

#[test]
fn stops_after_num_retries_and_reports_attempts() {
    let (router, fakes) = router_with(
        json!({"model_list": [deployment("chat", A, "a")], "num_retries": 1}),
        3,
    );
    fakes.transport.script(
        A,
        [
            Step::error(503, "down"),
            Step::error(503, "down"),
            Step::ok_chat("late"),
        ],
    );
    let err = block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::ServiceUnavailableError);
    assert_eq!(err.attempts, Some(2));
    assert_eq!(fakes.transport.calls_to(A), 2);
}

#[test]
fn per_request_num_retries_overrides_the_router() {
    let (router, fakes) = router_with(
        json!({"model_list": [deployment("chat", A, "a")], "num_retries": 5}),
        3,
    );
    fakes.transport.script(A, [Step::error(500, "x")]);
    let err = block_on(router.call(
        Endpoint::ChatCompletion,
        with(chat("chat"), "num_retries", json!(0)),
    ))
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InternalServerError);
    assert_eq!(fakes.transport.calls_to(A), 1);
}

#[test]
fn retry_policy_sets_counts_per_error_kind() {
    let options = json!({
        "model_list": [deployment("chat", A, "a")],
        "num_retries": 0,
        "retry_policy": {"RateLimitErrorRetries": 2, "InternalServerErrorRetries": 0}
    });
    let (router, fakes) = router_with(options, 3);
    fakes
        .transport
        .script(A, [Step::error(429, "x"), Step::error(429, "x")]);
    let routed = block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap();
    assert_eq!(routed.hidden.attempts, 3);
}

#[test]
fn bad_requests_are_not_retried() {
    let (router, fakes) = router_with(
        json!({"model_list": [deployment("chat", A, "a"), deployment("chat", B, "b")]}),
        3,
    );
    fakes.transport.script(A, [Step::error(400, "bad")]);
    fakes.transport.script(B, [Step::error(400, "bad")]);
    let err = block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequestError);
    assert_eq!(fakes.transport.calls.borrow().len(), 1);
}

#[test]
fn timeouts_are_retried_and_classified() {
    let options =
        json!({"model_list": [deployment("chat", A, "a")], "timeout": 2, "num_retries": 1});
    let (router, fakes) = router_with(options, 3);
    fakes.transport.script(A, [Step::Hang, Step::Hang]);
    let t0 = fakes.clock.now_ms();
    let err = block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout);
    assert_eq!(err.status, 408);
    assert_eq!(
        fakes.transport.calls.borrow()[0].request.timeout_ms,
        Some(2000)
    );
    // Two timeouts of 2 s plus one backoff of 0.5–1.25 s.
    let elapsed = fakes.clock.now_ms() - t0;
    assert!((4500.0..=5250.0).contains(&elapsed), "elapsed {elapsed}");
}

#[test]
fn deployment_timeout_overrides_router_and_request_overrides_both() {
    let mut d = deployment("chat", A, "a");
    d["litellm_params"]["timeout"] = json!(3);
    let (router, fakes) = router_with(json!({"model_list": [d], "timeout": 10}), 3);
    block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap();
    block_on(router.call(
        Endpoint::ChatCompletion,
        with(chat("chat"), "timeout", json!(1.5)),
    ))
    .unwrap();
    let calls = fakes.transport.calls.borrow();
    assert_eq!(calls[0].request.timeout_ms, Some(3000));
    assert_eq!(calls[1].request.timeout_ms, Some(1500));
}

#[test]
fn rate_limited_deployment_cools_down_and_returns_on_the_clock() {
    let options = json!({
        "model_list": [deployment("chat", A, "a"), deployment("chat", B, "b")],
        "cooldown_time": 10
    });
    let (router, fakes) = router_with(options, 11);
    fakes.transport.script(A, [Step::error(429, "limit")]);
    // A is rate limited the first time it is picked; B answers that request.
    let benched = "a";
    for _ in 0..20 {
        let r = block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap();
        assert_eq!(r.hidden.model_id, "b");
        if fakes.transport.calls_to(A) > 0 {
            break;
        }
    }
    let until = router.cooling_until(benched).expect("cooling down");
    assert_eq!(until - fakes.clock.now_ms(), 10_000.0);
    for _ in 0..10 {
        let r = block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap();
        assert_ne!(r.hidden.model_id, benched);
    }
    fakes.clock.advance(10_000.0);
    assert_eq!(router.cooling_until(benched), None);
    let picks: Vec<String> = (0..20)
        .map(|_| {
            block_on(router.call(Endpoint::ChatCompletion, chat("chat")))
                .unwrap()
                .hidden
                .model_id
        })
        .collect();
    assert!(
        picks.iter().any(|id| id == benched),
        "the deployment is back in rotation"
    );
}

#[test]
fn cools_down_after_more_than_allowed_fails_in_a_minute() {
    let options = json!({
        "model_list": [deployment("chat", A, "a"), deployment("chat", B, "b")],
        "allowed_fails": 1, "num_retries": 0, "cooldown_time": 5
    });
    let (router, fakes) = router_with(options, 5);
    fakes
        .transport
        .script(A, (0..10).map(|_| Step::error(500, "x")));
    let mut failures_on_a = 0;
    for _ in 0..20 {
        if let Err(e) = block_on(router.call(Endpoint::ChatCompletion, chat("chat"))) {
            assert_eq!(e.deployment_id.as_deref(), Some("a"));
            failures_on_a += 1;
        }
        if router.cooling_until("a").is_some() {
            break;
        }
    }
    assert_eq!(
        failures_on_a, 2,
        "the second failure within the minute benches the deployment"
    );
    assert!(router.cooling_until("a").is_some());
}

#[test]
fn single_deployment_groups_never_cool_down() {
    let (router, fakes) = router_with(
        json!({"model_list": [deployment("chat", A, "a")], "num_retries": 0}),
        5,
    );
    fakes
        .transport
        .script(A, [Step::error(429, "x"), Step::error(429, "x")]);
    for _ in 0..2 {
        let e = block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap_err();
        assert_eq!(e.kind, ErrorKind::RateLimitError);
    }
    assert_eq!(router.cooling_until("a"), None);
    assert!(block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).is_ok());
}

#[test]
fn all_deployments_cooling_down_is_no_deployments_available_with_retry_after() {
    let options = json!({
        "model_list": [deployment("chat", A, "a"), deployment("chat", B, "b")],
        "num_retries": 1, "cooldown_time": 30
    });
    let (router, fakes) = router_with(options, 5);
    fakes.transport.script(A, [Step::error(401, "bad key")]);
    fakes.transport.script(B, [Step::error(401, "bad key")]);
    let e = block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::AuthenticationError);
    fakes.clock.advance(10_000.0);
    let e = block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NoDeploymentsAvailableError);
    assert_eq!(e.status, 429);
    assert_eq!(e.retry_after_ms, Some(20_000));
    assert_eq!(
        fakes.transport.calls.borrow().len(),
        2,
        "no upstream call while everything cools down"
    );
}

#[test]
fn disable_cooldowns_keeps_failing_deployments_in_rotation() {
    let options = json!({
        "model_list": [deployment("chat", A, "a"), deployment("chat", B, "b")],
        "disable_cooldowns": true, "num_retries": 0
    });
    let (router, fakes) = router_with(options, 5);
    fakes.transport.script(A, [Step::error(429, "x")]);
    fakes.transport.script(B, [Step::error(429, "x")]);
    let _ = block_on(router.call(Endpoint::ChatCompletion, chat("chat")));
    assert_eq!(router.cooling_until("a"), None);
    assert_eq!(router.cooling_until("b"), None);
}

#[test]
fn falls_back_to_the_next_group_after_retries_are_exhausted() {
    let options = json!({
        "model_list": [deployment("primary", A, "a"), deployment("backup", B, "b")],
        "num_retries": 1,
        "fallbacks": [{"primary": ["backup"]}]
    });
    let (router, fakes) = router_with(options, 5);
    fakes
        .transport
        .script(A, [Step::error(500, "x"), Step::error(500, "x")]);
    let routed = block_on(router.call(Endpoint::ChatCompletion, chat("primary"))).unwrap();
    assert_eq!(routed.hidden.model_id, "b");
    assert_eq!(routed.hidden.model_group, "backup");
    assert_eq!(
        routed.hidden.fallback_model_group.as_deref(),
        Some("backup")
    );
    assert_eq!(routed.hidden.attempts, 3);
    assert_eq!(
        fakes.transport.urls(),
        vec![
            format!("{A}/chat/completions"),
            format!("{A}/chat/completions"),
            format!("{B}/chat/completions"),
        ]
    );
}

#[test]
fn context_window_errors_use_context_window_fallbacks_first() {
    let options = json!({
        "model_list": [deployment("small", A, "a"), deployment("big", B, "b"), deployment("other", C, "c")],
        "fallbacks": [{"small": ["other"]}],
        "context_window_fallbacks": [{"small": ["big"]}]
    });
    let (router, fakes) = router_with(options, 5);
    fakes.transport.script(A, [Step::json(400, json!({"error": {"message": "This model's maximum context length is 8192 tokens.", "code": "context_length_exceeded"}}))]);
    let routed = block_on(router.call(Endpoint::ChatCompletion, chat("small"))).unwrap();
    assert_eq!(routed.hidden.model_group, "big");
    assert_eq!(fakes.transport.calls_to(C), 0);
    assert_eq!(
        fakes.transport.calls_to(A),
        1,
        "context-window errors are not retried"
    );
}

#[test]
fn generic_fallbacks_catch_context_window_errors_without_a_specific_list() {
    let options = json!({
        "model_list": [deployment("small", A, "a"), deployment("other", C, "c")],
        "fallbacks": [{"small": ["other"]}]
    });
    let (router, fakes) = router_with(options, 5);
    fakes.transport.script(
        A,
        [Step::error(
            400,
            "prompt is too long: 300000 tokens > 200000 maximum",
        )],
    );
    let routed = block_on(router.call(Endpoint::ChatCompletion, chat("small"))).unwrap();
    assert_eq!(routed.hidden.model_group, "other");
}

#[test]
fn wildcard_and_default_fallbacks_apply_to_any_group() {
    let options = json!({
        "model_list": [deployment("x", A, "a"), deployment("star", B, "b"), deployment("dflt", C, "c")],
        "fallbacks": [{"*": ["star"]}], "num_retries": 0
    });
    let (router, fakes) = router_with(options, 5);
    fakes.transport.script(A, [Step::error(500, "x")]);
    assert_eq!(
        block_on(router.call(Endpoint::ChatCompletion, chat("x")))
            .unwrap()
            .hidden
            .model_group,
        "star"
    );

    let options = json!({
        "model_list": [deployment("x", A, "a"), deployment("dflt", C, "c")],
        "default_fallbacks": ["dflt"], "num_retries": 0
    });
    let (router, fakes) = router_with(options, 5);
    fakes.transport.script(A, [Step::error(500, "x")]);
    assert_eq!(
        block_on(router.call(Endpoint::ChatCompletion, chat("x")))
            .unwrap()
            .hidden
            .model_group,
        "dflt"
    );
}

#[test]
fn fallback_depth_is_bounded_by_max_fallbacks() {
    // a -> b -> c, every group failing; max_fallbacks 1 stops after b.
    let options = json!({
        "model_list": [deployment("a", A, "a"), deployment("b", B, "b"), deployment("c", C, "c")],
        "fallbacks": [{"a": ["b"]}, {"b": ["c"]}], "num_retries": 0, "max_fallbacks": 1
    });
    let (router, fakes) = router_with(options, 5);
    fakes.transport.script(A, [Step::error(500, "x")]);
    fakes.transport.script(B, [Step::error(500, "x")]);
    let e = block_on(router.call(Endpoint::ChatCompletion, chat("a"))).unwrap_err();
    assert_eq!(e.deployment_id.as_deref(), Some("b"));
    assert_eq!(fakes.transport.calls_to(C), 0);
    assert_eq!(e.attempts, Some(2));
}

#[test]
fn mock_testing_fallbacks_skips_the_primary_group() {
    let options = json!({
        "model_list": [deployment("primary", A, "a"), deployment("backup", B, "b")],
        "fallbacks": [{"primary": ["backup"]}]
    });
    let (router, fakes) = router_with(options, 5);
    let req = with(chat("primary"), "mock_testing_fallbacks", json!(true));
    let routed = block_on(router.call(Endpoint::ChatCompletion, req)).unwrap();
    assert_eq!(routed.hidden.model_group, "backup");
    assert_eq!(fakes.transport.calls_to(A), 0);
}

#[test]
fn model_group_alias_routes_to_its_group() {
    let options =
        json!({"model_list": [deployment("chat", A, "a")], "model_group_alias": {"gpt-4": "chat"}});
    let (router, _) = router_with(options, 5);
    let routed = block_on(router.call(Endpoint::ChatCompletion, chat("gpt-4"))).unwrap();
    assert_eq!(routed.hidden.model_group, "chat");
}

#[test]
fn unknown_model_group_is_a_bad_request_listing_the_groups() {
    let (router, _) = router_with(json!({"model_list": [deployment("chat", A, "a")]}), 5);
    let e = block_on(router.call(Endpoint::ChatCompletion, chat("nope"))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequestError);
    assert!(e.message.contains("[chat]"), "{}", e.message);
}

#[test]
fn embedding_group_refuses_chat_calls_by_mode() {
    let mut d = deployment("emb", A, "a");
    d["model_info"]["mode"] = json!("embedding");
    let (router, fakes) = router_with(json!({"model_list": [d]}), 5);
    let e = block_on(router.call(Endpoint::ChatCompletion, chat("emb"))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequestError);
    assert!(e.message.contains("embedding"));
    assert_eq!(fakes.transport.calls.borrow().len(), 0);
}

#[test]
fn credentials_never_reach_error_messages() {
    let mut d = deployment("chat", A, "a");
    d["litellm_params"]["api_key"] = json!("sk-live-SECRET-999");
    let (router, fakes) = router_with(json!({"model_list": [d], "num_retries": 0}), 5);
    fakes.transport.script(
        A,
        [Step::error(
            401,
            "Incorrect API key provided: sk-live-SECRET-999",
        )],
    );
    let e = block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::AuthenticationError);
    assert!(
        !e.to_json().to_string().contains("SECRET"),
        "{}",
        e.to_json()
    );
    assert!(!format!("{:?}", router.table().deployments()).contains("SECRET"));
    let listed = router.table().deployments()[0].redacted().to_string();
    assert!(!listed.contains("SECRET") && listed.contains("***"));
}

#[test]
fn deployment_max_retries_retries_the_same_deployment_first() {
    let mut d = deployment("chat", A, "a");
    d["litellm_params"]["max_retries"] = json!(2);
    let (router, fakes) = router_with(
        json!({"model_list": [d, deployment("chat", B, "b")], "num_retries": 0}),
        5,
    );
    fakes
        .transport
        .script(A, [Step::error(500, "x"), Step::error(500, "x")]);
    fakes.transport.script(B, [Step::error(500, "x")]);
    // Whichever is picked: A needs its two in-attempt retries; B has none and fails.
    match block_on(router.call(Endpoint::ChatCompletion, chat("chat"))) {
        Ok(r) => {
            assert_eq!(r.hidden.model_id, "a");
            assert_eq!(fakes.transport.calls_to(A), 3);
            assert_eq!(r.hidden.attempts, 3, "attempts counts every upstream call");
        }
        Err(e) => {
            assert_eq!(e.deployment_id.as_deref(), Some("b"));
            assert_eq!(fakes.transport.calls_to(B), 1);
        }
    }
}

#[test]
fn weighted_shuffle_follows_weights() {
    let mut heavy = deployment("chat", A, "a");
    heavy["litellm_params"]["weight"] = json!(3);
    let mut light = deployment("chat", B, "b");
    light["litellm_params"]["weight"] = json!(1);
    let (router, _) = router_with(json!({"model_list": [heavy, light]}), 42);
    let n = 4000;
    let heavy_picks = (0..n)
        .filter(|_| {
            block_on(router.call(Endpoint::ChatCompletion, chat("chat")))
                .unwrap()
                .hidden
                .model_id
                == "a"
        })
        .count();
    let share = heavy_picks as f64 / n as f64;
    assert!((0.72..=0.78).contains(&share), "share {share}");
}

#[test]
fn concurrent_calls_each_get_exactly_one_answer() {
    let (router, fakes) = router_with(
        json!({"model_list": [deployment("chat", A, "a"), deployment("chat", B, "b")], "num_retries": 1}),
        9,
    );
    fakes.transport.script(
        A,
        (0..30).map(|i| {
            if i % 3 == 0 {
                Step::error(500, "x")
            } else {
                Step::ok_chat("ok")
            }
        }),
    );
    let calls = (0..200).map(|_| router.call(Endpoint::ChatCompletion, chat("chat")));
    let results = block_on(futures_util::future::join_all(calls));
    assert_eq!(results.len(), 200);
    let attempts: u32 = results
        .iter()
        .map(|r| match r {
            Ok(x) => x.hidden.attempts,
            Err(e) => e.attempts.unwrap_or(0),
        })
        .sum();
    assert_eq!(attempts as usize, fakes.transport.calls.borrow().len());
    let usage = router.usage_all();
    assert_eq!(usage.values().map(|u| u.in_flight).sum::<u64>(), 0);
}

#[test]
fn falls_back_without_waiting_once_every_deployment_is_cooling_down() {
    let options = json!({
        "model_list": [deployment("chat", A, "a"), deployment("chat", B, "b"), deployment("fb", C, "c")],
        "num_retries": 2, "cooldown_time": 30, "fallbacks": [{"chat": ["fb"]}]
    });
    let (router, fakes) = router_with(options, 5);
    fakes.transport.script(A, [Step::error(429, "limit")]);
    fakes.transport.script(B, [Step::error(429, "limit")]);
    let t0 = fakes.clock.now_ms();
    let routed = block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap();
    assert_eq!(routed.hidden.model_group, "fb");
    assert_eq!(routed.hidden.attempts, 3);
    assert!(
        fakes.sleeper.slept.borrow().is_empty(),
        "no backoff: nothing in the group could answer"
    );
    assert_eq!(fakes.clock.now_ms(), t0);
}
