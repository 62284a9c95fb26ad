//! Deployment selection beyond cooldowns: tag routing, health-check routing, affinity pins
//! and `optional_pre_call_checks`, on the scripted transport and the manual clock.
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
const B: &str = "http://b.test/v1";
const C: &str = "http://c.test/v1";

fn tagged(id: &str, base: &str, tags: Value) -> Value {
    json!({
        "model_name": "chat",
        "litellm_params": {"model": "openai/gpt-4o-mini", "api_base": base, "api_key": "sk-test", "tags": tags},
        "model_info": {"id": id}
    })
}

fn plain(id: &str, base: &str) -> Value {
    json!({
        "model_name": "chat",
        "litellm_params": {"model": "openai/gpt-4o-mini", "api_base": base, "api_key": "sk-test"},
        "model_info": {"id": id}
    })
}

fn router_with(options: Value, seed: u64) -> (Router, Fakes) {
    let fakes = Fakes::new(seed);
    let config = RouterConfig::parse(&options, &HashMap::new()).expect("valid config");
    (Router::new(config, fakes.ports.clone()), fakes)
}

fn config_error(options: Value) -> (String, String) {
    let e = RouterConfig::parse(&options, &HashMap::new()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::ConfigError);
    (e.field.unwrap_or_default(), e.message)
}

fn chat(extra: Value) -> Map<String, Value> {
    let mut body = json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]})
        .as_object()
        .cloned()
        .unwrap();
    if let Value::Object(m) = extra {
        body.extend(m);
    }
    body
}

fn answered_by(router: &Router, extra: Value) -> Result<String, llmux::error::LlmError> {
    block_on(router.call(Endpoint::ChatCompletion, chat(extra))).map(|r| r.hidden.model_id)
}

/// The three deployments of LiteLLM's comparison run (/tmp/sel/tags.py in the report).
fn team_list() -> Value {
    json!([
        tagged("a", A, json!(["teamA"])),
        tagged("b", B, json!(["default"])),
        tagged("c", C, json!(["teamC", "x"])),
    ])
}

#[test]
fn tagged_requests_go_to_deployments_carrying_the_tag() {
    let (router, fakes) = router_with(
        json!({"model_list": team_list(), "enable_tag_filtering": true}),
        1,
    );
    for _ in 0..5 {
        let id = answered_by(&router, json!({"metadata": {"tags": ["teamA"]}})).unwrap();
        assert_eq!(id, "a");
    }
    // Top-level `tags` route too, and never reach the upstream body.
    assert_eq!(
        answered_by(&router, json!({"tags": ["teamC"]})).unwrap(),
        "c"
    );
    let sent: Value = serde_json::from_str(
        fakes
            .transport
            .calls
            .borrow()
            .last()
            .unwrap()
            .request
            .body
            .as_deref()
            .unwrap(),
    )
    .unwrap();
    assert!(sent.get("tags").is_none() && sent.get("metadata").is_none());
    assert_eq!(fakes.transport.calls_to(A), 5);
}

#[test]
fn untagged_and_unknown_tags_go_to_the_default_deployments() {
    let (router, fakes) = router_with(
        json!({"model_list": team_list(), "enable_tag_filtering": true}),
        2,
    );
    for _ in 0..4 {
        assert_eq!(answered_by(&router, json!({})).unwrap(), "b");
        assert_eq!(
            answered_by(&router, json!({"metadata": {"tags": ["nope"]}})).unwrap(),
            "b"
        );
    }
    assert_eq!(fakes.transport.calls_to(B), 8);
}

#[test]
fn without_a_default_deployment_an_unknown_tag_is_refused_before_any_call() {
    let (router, fakes) = router_with(
        json!({"model_list": [tagged("a", A, json!(["teamA"])), tagged("c", C, json!(["teamC"]))],
               "enable_tag_filtering": true}),
        3,
    );
    let e = answered_by(&router, json!({"metadata": {"tags": ["nope"]}})).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequestError);
    assert_eq!(
        e.message,
        "Not allowed to access model due to tags configuration. Passed model=chat and tags=['nope']"
    );
    assert_eq!(fakes.transport.calls.borrow().len(), 0);
    // Untagged requests still go anywhere.
    assert!(answered_by(&router, json!({})).is_ok());
}

#[test]
fn match_all_requires_every_tag_and_a_known_tag_is_not_served_by_default() {
    let (router, _) = router_with(
        json!({"model_list": team_list(), "enable_tag_filtering": true, "tag_filtering_match_any": false}),
        4,
    );
    // teamC is known to the group, so the default deployment does not stand in for it.
    let e = answered_by(&router, json!({"metadata": {"tags": ["teamC", "y"]}})).unwrap_err();
    assert!(e.message.contains("tags=['teamC', 'y']"), "{}", e.message);
    assert_eq!(
        answered_by(&router, json!({"metadata": {"tags": ["teamC", "x"]}})).unwrap(),
        "c"
    );
    // With match-any, one shared tag is enough.
    let (any, _) = router_with(
        json!({"model_list": team_list(), "enable_tag_filtering": true}),
        4,
    );
    assert_eq!(
        answered_by(&any, json!({"metadata": {"tags": ["teamC", "y"]}})).unwrap(),
        "c"
    );
}

#[test]
fn negated_and_required_tags_constrain_the_pool() {
    let (router, _) = router_with(
        json!({"model_list": team_list(), "enable_tag_filtering": true}),
        5,
    );
    for _ in 0..4 {
        // "!teamA" alone: the default deployments, minus those carrying teamA.
        assert_eq!(
            answered_by(&router, json!({"metadata": {"tags": ["!teamA"]}})).unwrap(),
            "b"
        );
        assert_eq!(
            answered_by(&router, json!({"metadata": {"tags": ["&x"]}})).unwrap(),
            "c"
        );
    }
    let e = answered_by(&router, json!({"metadata": {"tags": ["&nope"]}})).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequestError);
}

#[test]
fn a_routing_prefix_routes_only_prefixed_tags() {
    let (router, _) = router_with(
        json!({"model_list": team_list(), "enable_tag_filtering": true, "tag_routing_prefix": "route:"}),
        6,
    );
    for _ in 0..4 {
        assert_eq!(
            answered_by(&router, json!({"metadata": {"tags": ["teamA"]}})).unwrap(),
            "b"
        );
        assert_eq!(
            answered_by(&router, json!({"metadata": {"tags": ["route:teamA"]}})).unwrap(),
            "a"
        );
    }
}

#[test]
fn tags_are_ignored_unless_tag_filtering_is_enabled() {
    let (router, fakes) = router_with(json!({"model_list": team_list()}), 7);
    for _ in 0..30 {
        answered_by(&router, json!({"metadata": {"tags": ["teamA"]}})).unwrap();
    }
    assert!(fakes.transport.calls_to(B) > 0 && fakes.transport.calls_to(C) > 0);
}

#[test]
fn a_tag_whose_deployment_is_cooling_down_fails_over_to_the_fallback_group() {
    let mut list = team_list().as_array().cloned().unwrap();
    list.push(json!({
        "model_name": "backup",
        "litellm_params": {"model": "openai/gpt-4o-mini", "api_base": "http://backup.test/v1", "api_key": "sk-test", "tags": ["default"]},
        "model_info": {"id": "backup"}
    }));
    let (router, fakes) = router_with(
        json!({"model_list": list, "enable_tag_filtering": true, "num_retries": 0,
               "fallbacks": [{"chat": ["backup"]}]}),
        8,
    );
    fakes.transport.script(A, [Step::error(429, "slow down")]);
    // The 429 cools `a` down; its request falls back to `backup`, where the tag filter
    // applies too (as in LiteLLM): its `default` deployment takes the unknown tag.
    let id = answered_by(&router, json!({"metadata": {"tags": ["teamA"]}})).unwrap();
    assert_eq!(id, "backup");
    // The next teamA request is refused by the tag filter (a is cooling), then falls back.
    let id = answered_by(&router, json!({"metadata": {"tags": ["teamA"]}})).unwrap();
    assert_eq!(id, "backup");
    assert_eq!(fakes.transport.calls_to(A), 1);
    assert_eq!(fakes.transport.calls_to(B), 0);
}

#[test]
fn the_host_loop_routes_untagged_requests_to_the_default_deployments() {
    let (router, _) = router_with(
        json!({"model_list": team_list(), "enable_tag_filtering": true}),
        9,
    );
    assert!(router.host_loop_allowed());
    for _ in 0..5 {
        let mut hc = router.begin_host(Endpoint::ChatCompletion, "chat");
        match router.step_host(&mut hc) {
            HostStep::Send(d) => assert_eq!(d.id, "b"),
            _ => panic!("expected a send"),
        }
        router.answered_host(&mut hc, None);
    }
}

#[test]
fn the_host_stream_routes_by_tags() {
    let (router, _) = router_with(
        json!({"model_list": team_list(), "enable_tag_filtering": true}),
        10,
    );
    let body = chat(json!({"stream": true, "metadata": {"tags": ["teamC"]}}));
    let mut hs = router
        .begin_host_stream(Endpoint::ChatCompletion, body)
        .unwrap();
    match router.stream_step(&mut hs) {
        llmux::router::StreamStep::Send(request, _) => assert!(request.url.starts_with(C)),
        _ => panic!("expected an attempt"),
    }
}

#[test]
fn tag_options_are_validated_by_field() {
    assert_eq!(
        config_error(json!({"model_list": [tagged("a", A, json!("teamA"))]})).0,
        "model_list[0].litellm_params.tags"
    );
    assert_eq!(
        config_error(json!({"model_list": [], "enable_tag_filtering": "yes"})).0,
        "enable_tag_filtering"
    );
    assert_eq!(
        config_error(json!({"model_list": [], "tag_routing_prefix": 3})).0,
        "tag_routing_prefix"
    );
}

// Health-check routing

fn health_router(extra: Value) -> (Router, Fakes) {
    let mut options =
        json!({"model_list": [plain("a", A), plain("b", B)], "enable_health_check_routing": true});
    if let (Value::Object(o), Value::Object(e)) = (&mut options, extra) {
        o.extend(e);
    }
    router_with(options, 11)
}

#[test]
fn a_deployment_that_failed_its_health_check_leaves_rotation_until_it_passes() {
    let (router, fakes) = health_router(json!({}));
    fakes.transport.script(A, [Step::error(500, "down")]);
    let report = block_on(router.health_check(None));
    assert_eq!(report["unhealthy_count"], 1);
    let before = fakes.transport.calls_to(A);
    for _ in 0..20 {
        assert_eq!(answered_by(&router, json!({})).unwrap(), "b");
    }
    assert_eq!(fakes.transport.calls_to(A), before);
    // The next check passes: `a` is back.
    block_on(router.health_check(None));
    for _ in 0..30 {
        answered_by(&router, json!({})).unwrap();
    }
    assert!(fakes.transport.calls_to(A) > before + 1);
}

#[test]
fn a_stale_health_result_is_ignored() {
    let (router, fakes) = health_router(json!({"health_check_staleness_threshold": 60}));
    fakes.transport.script(A, [Step::error(500, "down")]);
    block_on(router.health_check(None));
    for _ in 0..10 {
        assert_eq!(answered_by(&router, json!({})).unwrap(), "b");
    }
    fakes.clock.advance(60_000.0);
    let before = fakes.transport.calls_to(A);
    for _ in 0..30 {
        answered_by(&router, json!({})).unwrap();
    }
    assert!(fakes.transport.calls_to(A) > before);
}

#[test]
fn transient_health_failures_can_be_ignored() {
    let (router, fakes) = health_router(json!({"health_check_ignore_transient_errors": true}));
    fakes.transport.script(A, [Step::error(429, "busy")]);
    block_on(router.health_check(None));
    let before = fakes.transport.calls_to(A);
    for _ in 0..30 {
        answered_by(&router, json!({})).unwrap();
    }
    assert!(fakes.transport.calls_to(A) > before);
    // Without the option the same 429 takes `a` out of rotation.
    let (strict, fakes) = health_router(json!({}));
    fakes.transport.script(A, [Step::error(429, "busy")]);
    block_on(strict.health_check(None));
    let before = fakes.transport.calls_to(A);
    for _ in 0..20 {
        assert_eq!(answered_by(&strict, json!({})).unwrap(), "b");
    }
    assert_eq!(fakes.transport.calls_to(A), before);
}

#[test]
fn when_every_deployment_failed_its_health_check_all_stay_in_rotation() {
    let (router, fakes) = health_router(json!({}));
    fakes.transport.script(A, [Step::error(500, "down")]);
    fakes.transport.script(B, [Step::error(500, "down")]);
    block_on(router.health_check(None));
    assert!(answered_by(&router, json!({})).is_ok());
    // Without the option, health results change nothing.
    let (off, fakes) = router_with(json!({"model_list": [plain("a", A), plain("b", B)]}), 11);
    fakes.transport.script(A, [Step::error(500, "down")]);
    block_on(off.health_check(None));
    let before = fakes.transport.calls_to(A);
    for _ in 0..30 {
        answered_by(&off, json!({})).unwrap();
    }
    assert!(fakes.transport.calls_to(A) > before);
}

#[test]
fn the_host_loop_skips_unhealthy_deployments() {
    let (router, fakes) = health_router(json!({}));
    fakes.transport.script(B, [Step::error(503, "down")]);
    block_on(router.health_check(None));
    for _ in 0..10 {
        let mut hc = router.begin_host(Endpoint::ChatCompletion, "chat");
        match router.step_host(&mut hc) {
            HostStep::Send(d) => assert_eq!(d.id, "a"),
            _ => panic!("expected a send"),
        }
        router.answered_host(&mut hc, None);
    }
}

#[test]
fn health_routing_options_are_validated_by_field() {
    assert_eq!(
        config_error(json!({"model_list": [], "health_check_staleness_threshold": -1})).0,
        "health_check_staleness_threshold"
    );
    assert_eq!(
        config_error(json!({"model_list": [], "background_health_check_model_groups": "chat"})).0,
        "background_health_check_model_groups"
    );
    assert_eq!(
        config_error(json!({"model_list": [], "health_check_interval": 0.5})).0,
        "health_check_interval"
    );
}

// Affinity

fn affinity_router(extra: Value, seed: u64) -> (Router, Fakes) {
    let mut options = json!({"model_list": [plain("a", A), plain("b", B), plain("c", C)]});
    if let (Value::Object(o), Value::Object(e)) = (&mut options, extra) {
        o.extend(e);
    }
    router_with(options, seed)
}

#[test]
fn the_same_caller_key_stays_on_one_deployment() {
    let (router, _) = affinity_router(
        json!({"optional_pre_call_checks": ["deployment_affinity"]}),
        12,
    );
    let mut seen = std::collections::HashSet::new();
    for user in ["k1", "k2", "k3", "k4", "k5", "k6"] {
        let md = json!({"metadata": {"user_api_key_hash": user}});
        let first = answered_by(&router, md.clone()).unwrap();
        for _ in 0..10 {
            assert_eq!(answered_by(&router, md.clone()).unwrap(), first);
        }
        seen.insert(first);
    }
    // Different callers still spread over the deployments.
    assert!(seen.len() > 1);
    assert_eq!(router.affinity_pins(), 6);
}

#[test]
fn a_session_pin_holds_for_its_ttl_then_expires() {
    let (router, fakes) = affinity_router(
        json!({"optional_pre_call_checks": ["session_affinity"], "deployment_affinity_ttl_seconds": 10}),
        13,
    );
    let md = json!({"metadata": {"session_id": "s-1"}});
    let first = answered_by(&router, md.clone()).unwrap();
    for _ in 0..10 {
        fakes.clock.advance(5_000.0);
        assert_eq!(answered_by(&router, md.clone()).unwrap(), first);
    }
    // 10 s with no request: the pin expires and the strategy picks again.
    fakes.clock.advance(10_001.0);
    let mut ids = std::collections::HashSet::new();
    for _ in 0..20 {
        fakes.clock.advance(10_001.0);
        ids.insert(answered_by(&router, md.clone()).unwrap());
    }
    assert!(ids.len() > 1);
}

#[test]
fn a_failing_pinned_deployment_is_left_for_the_call_and_kept_without_repin() {
    let (router, fakes) = affinity_router(
        json!({"optional_pre_call_checks": ["session_affinity"]}),
        14,
    );
    let md = json!({"metadata": {"session_id": "s-1"}});
    let pinned = answered_by(&router, md.clone()).unwrap();
    let base = match pinned.as_str() {
        "a" => A,
        "b" => B,
        _ => C,
    };
    fakes.transport.script(base, [Step::error(500, "boom")]);
    // The retry goes elsewhere (the pin is skipped once tried).
    let other = answered_by(&router, md.clone()).unwrap();
    assert_ne!(other, pinned);
    // The pinned deployment is not cooling down (one failure): the pin still holds.
    assert_eq!(answered_by(&router, md.clone()).unwrap(), pinned);
}

#[test]
fn repin_on_failover_moves_the_session_to_the_deployment_that_answered() {
    for repin in [false, true] {
        let (router, fakes) = affinity_router(
            json!({"optional_pre_call_checks": ["session_affinity"],
                   "session_affinity_repin_on_failover": repin, "num_retries": 1}),
            15,
        );
        let md = json!({"metadata": {"session_id": "s-1"}});
        let pinned = answered_by(&router, md.clone()).unwrap();
        let base = match pinned.as_str() {
            "a" => A,
            "b" => B,
            _ => C,
        };
        // A 429 cools the pinned deployment down at once.
        fakes.transport.script(
            base,
            [Step::error(429, "slow down").with_header("retry-after", "60")],
        );
        let replacement = answered_by(&router, md.clone()).unwrap();
        assert_ne!(replacement, pinned);
        // After the cooldown, the session goes back (no repin) or stays (repin).
        fakes.clock.advance(61_000.0);
        let now = answered_by(&router, md.clone()).unwrap();
        if repin {
            assert_eq!(now, replacement);
        } else {
            assert_eq!(now, pinned);
        }
    }
}

#[test]
fn model_group_affinity_config_overrides_the_router_checks_per_group() {
    let (router, _) = affinity_router(
        json!({"optional_pre_call_checks": ["deployment_affinity"],
               "model_group_affinity_config": {"chat": ["session_affinity"]}}),
        16,
    );
    // The caller-key pin is off for "chat"; the session pin is on.
    let md = json!({"metadata": {"user_api_key_hash": "k1"}});
    let mut ids = std::collections::HashSet::new();
    for _ in 0..30 {
        ids.insert(answered_by(&router, md.clone()).unwrap());
    }
    assert!(ids.len() > 1);
    let md = json!({"metadata": {"session_id": "s"}});
    let first = answered_by(&router, md.clone()).unwrap();
    for _ in 0..10 {
        assert_eq!(answered_by(&router, md.clone()).unwrap(), first);
    }
}

#[test]
fn the_pin_table_is_bounded() {
    let (router, _) = affinity_router(
        json!({"optional_pre_call_checks": ["session_affinity"]}),
        17,
    );
    for i in 0..(llmux::router::MAX_PINS + 50) {
        answered_by(
            &router,
            json!({"metadata": {"session_id": format!("s{i}")}}),
        )
        .unwrap();
    }
    assert_eq!(router.affinity_pins(), llmux::router::MAX_PINS);
}

// optional_pre_call_checks

#[test]
fn proxy_only_and_responses_api_checks_are_refused_with_the_reason() {
    let (field, message) = config_error(
        json!({"model_list": [], "optional_pre_call_checks": ["forward_client_headers_by_model_group"]}),
    );
    assert_eq!(field, "optional_pre_call_checks[0]");
    assert!(message.contains("proxy"), "{message}");
    let (field, message) = config_error(
        json!({"model_list": [], "optional_pre_call_checks": ["session_affinity", "responses_api_deployment_check"]}),
    );
    assert_eq!(field, "optional_pre_call_checks[1]");
    assert!(message.contains("Responses API"), "{message}");
    let (field, _) = config_error(
        json!({"model_list": [], "model_group_affinity_config": {"chat": ["sticky"]}}),
    );
    assert_eq!(field, "model_group_affinity_config.chat[0]");
}

#[test]
fn enforce_model_rate_limits_makes_rpm_a_hard_limit_for_any_strategy() {
    let list = json!([{
        "model_name": "chat",
        "litellm_params": {"model": "openai/gpt-4o-mini", "api_base": A, "api_key": "sk-test", "rpm": 2},
        "model_info": {"id": "a"}
    }]);
    let (router, fakes) = router_with(
        json!({"model_list": list, "optional_pre_call_checks": ["enforce_model_rate_limits"], "num_retries": 0}),
        18,
    );
    fakes.clock.set(60_000.0 * 1000.0);
    assert!(answered_by(&router, json!({})).is_ok());
    assert!(answered_by(&router, json!({})).is_ok());
    let e = answered_by(&router, json!({})).unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimitError);
    assert_eq!(fakes.transport.calls_to(A), 2);
    // Without the check, simple-shuffle does not enforce rpm.
    let (free, fakes) = router_with(json!({"model_list": list}), 18);
    for _ in 0..3 {
        assert!(answered_by(&free, json!({})).is_ok());
    }
    assert_eq!(fakes.transport.calls_to(A), 3);
}

#[test]
fn model_info_enable_tag_filtering_overrides_the_router_option_per_group() {
    let mut list = team_list().as_array().cloned().unwrap();
    list[0]["model_info"]["enable_tag_filtering"] = json!(true);
    let (router, _) = router_with(json!({"model_list": list}), 19);
    for _ in 0..5 {
        assert_eq!(
            answered_by(&router, json!({"metadata": {"tags": ["teamA"]}})).unwrap(),
            "a"
        );
    }
    let mut off = team_list().as_array().cloned().unwrap();
    off[1]["model_info"]["enable_tag_filtering"] = json!(false);
    let (router, fakes) = router_with(json!({"model_list": off, "enable_tag_filtering": true}), 19);
    for _ in 0..30 {
        answered_by(&router, json!({"metadata": {"tags": ["teamA"]}})).unwrap();
    }
    assert!(fakes.transport.calls_to(B) > 0 && fakes.transport.calls_to(C) > 0);
    let mut bad = team_list().as_array().cloned().unwrap();
    bad[0]["model_info"]["enable_tag_filtering"] = json!("yes");
    assert_eq!(
        config_error(json!({"model_list": bad})).0,
        "model_list[0].model_info.enable_tag_filtering"
    );
}

// prompt_caching

fn cached_prompt(turns: &[&str], mark_last: bool) -> Value {
    let system = "You are a careful assistant. ".repeat(200);
    let mut messages = vec![json!({"role": "system", "content": [
        {"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}
    ]})];
    for (i, t) in turns.iter().enumerate() {
        let role = if i % 2 == 0 { "user" } else { "assistant" };
        if mark_last && i + 1 == turns.len() {
            messages.push(json!({"role": role, "content": [
                {"type": "text", "text": t, "cache_control": {"type": "ephemeral"}}
            ]}));
        } else {
            messages.push(json!({"role": role, "content": t}));
        }
    }
    json!({"messages": messages})
}

fn prompt_router(seed: u64) -> (Router, Fakes) {
    affinity_router(
        json!({"optional_pre_call_checks": ["prompt_caching"]}),
        seed,
    )
}

#[test]
fn a_cache_control_prefix_goes_back_to_the_deployment_that_answered_it() {
    let (router, _) = prompt_router(20);
    assert!(!router.host_loop_allowed());
    let first = answered_by(&router, cached_prompt(&["q1"], false)).unwrap();
    for q in ["q2", "q3", "q4", "q5", "q6", "q7", "q8"] {
        assert_eq!(
            answered_by(&router, cached_prompt(&[q], false)).unwrap(),
            first
        );
    }
    // A later turn that moves the breakpoint still finds the earlier prefix.
    let turn = cached_prompt(&["q1", "a1", "q2"], true);
    assert_eq!(answered_by(&router, turn).unwrap(), first);
}

#[test]
fn short_or_unmarked_prompts_are_not_pinned() {
    let (router, _) = prompt_router(21);
    let short = json!({"messages": [{"role": "system", "content": [
        {"type": "text", "text": "short", "cache_control": {"type": "ephemeral"}}]}]});
    let unmarked = json!({"messages": [{"role": "user", "content": "x ".repeat(5000)}]});
    for prompt in [short, unmarked] {
        let mut ids = std::collections::HashSet::new();
        for _ in 0..30 {
            ids.insert(answered_by(&router, prompt.clone()).unwrap());
        }
        assert!(ids.len() > 1);
    }
    assert_eq!(router.affinity_pins(), 0);
}

#[test]
fn a_failing_prompt_pin_moves_to_the_deployment_that_answered() {
    let (router, fakes) = prompt_router(22);
    let first = answered_by(&router, cached_prompt(&["q1"], false)).unwrap();
    let base = match first.as_str() {
        "a" => A,
        "b" => B,
        _ => C,
    };
    fakes.transport.script(base, [Step::error(500, "boom")]);
    let second = answered_by(&router, cached_prompt(&["q2"], false)).unwrap();
    assert_ne!(second, first);
    for q in ["q3", "q4", "q5", "q6"] {
        assert_eq!(
            answered_by(&router, cached_prompt(&[q], false)).unwrap(),
            second
        );
    }
    // Five minutes later the pin is gone.
    fakes.clock.advance(300_001.0);
    let mut ids = std::collections::HashSet::new();
    for q in 0..30 {
        fakes.clock.advance(300_001.0);
        ids.insert(answered_by(&router, cached_prompt(&[&format!("r{q}")], false)).unwrap());
    }
    assert!(ids.len() > 1);
}
