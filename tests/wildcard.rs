//! Wildcard model groups (`model_name: "openai/*"`, `"anthropic/claude-*"`, `"*"`): matching,
//! LiteLLM's precedence, substitution into the upstream model, and routing as usual
//! (load balancing, cooldowns per configured deployment, fallbacks, pre-call checks,
//! prices and caching under the requested model).
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::result_large_err
)]

use llmux::config::RouterConfig;
use llmux::cost::CostMap;
use llmux::error::ErrorKind;
use llmux::router::Router;
use llmux::testing::{block_on, Fakes, Step};
use llmux::types::Endpoint;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

const A: &str = "http://a.test/v1";
const B: &str = "http://b.test/v1";
const C: &str = "http://c.test/v1";

fn entry(name: &str, model: &str, base: &str, id: &str) -> Value {
    json!({
        "model_name": name,
        "litellm_params": {"model": model, "api_base": base, "api_key": "sk-wild-secret"},
        "model_info": {"id": id}
    })
}

fn router_with(options: Value, seed: u64) -> (Router, Fakes) {
    let fakes = Fakes::new(seed);
    let config = RouterConfig::parse(&options, &HashMap::new()).expect("valid config");
    (Router::new(config, fakes.ports.clone()), fakes)
}

fn config_error(options: Value) -> (String, String) {
    let e = RouterConfig::parse(&options, &HashMap::new()).expect_err("a ConfigError");
    assert_eq!(e.kind, ErrorKind::ConfigError);
    (e.field.unwrap_or_default(), e.message)
}

fn chat(model: &str) -> Map<String, Value> {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}]})
        .as_object()
        .cloned()
        .unwrap()
}

fn sent(fakes: &Fakes, i: usize) -> (String, Value) {
    let calls = fakes.transport.calls.borrow();
    let call = &calls[i].request;
    (
        call.url.clone(),
        serde_json::from_str(call.body.as_deref().unwrap()).unwrap(),
    )
}

fn answer(router: &Router, model: &str) -> llmux::router::Routed {
    block_on(router.call(Endpoint::ChatCompletion, chat(model))).expect("answered")
}

#[test]
fn provider_pattern_sends_the_matched_part_upstream() {
    let (router, fakes) = router_with(
        json!({"model_list": [entry("openai/*", "openai/*", A, "w")]}),
        1,
    );
    let r = answer(&router, "openai/gpt-4.1");
    let (url, body) = sent(&fakes, 0);
    assert_eq!(url, format!("{A}/chat/completions"));
    assert_eq!(body["model"], "gpt-4.1");
    assert_eq!(r.hidden.model_id, "w");
    assert_eq!(r.hidden.model_group, "openai/*");
    assert_eq!(r.hidden.custom_llm_provider, "openai");
    // Priced as the requested model: 10 prompt + 5 completion tokens of gpt-4.1.
    let price = CostMap::bundled().lookup("openai", "gpt-4.1").unwrap();
    let expected =
        10.0 * price.input_cost_per_token.unwrap() + 5.0 * price.output_cost_per_token.unwrap();
    let cost = r.hidden.response_cost.unwrap();
    assert!((cost - expected).abs() < 1e-12, "{cost} vs {expected}");
    // Usage: the requested model as the call's group, the pattern as the deployment's.
    let report = router.usage_report();
    assert_eq!(
        report["model_groups"]["openai/gpt-4.1"]["requests"], 1,
        "{report}"
    );
    assert_eq!(report["deployments"]["w"]["model_group"], "openai/*");
}

#[test]
fn a_pattern_with_a_prefix_and_a_model_fixed_by_the_deployment() {
    let (router, fakes) = router_with(
        json!({"model_list": [
            entry("team-a/*", "openai/*", A, "sub"),
            entry("legacy-*", "openai/gpt-4o-mini", B, "fixed"),
        ]}),
        1,
    );
    answer(&router, "team-a/gpt-4o");
    answer(&router, "legacy-anything");
    assert_eq!(sent(&fakes, 0).1["model"], "gpt-4o");
    // A deployment model without "*" serves every match as itself (LiteLLM's base case).
    assert_eq!(sent(&fakes, 1).0, format!("{B}/chat/completions"));
    assert_eq!(sent(&fakes, 1).1["model"], "gpt-4o-mini");
}

#[test]
fn catch_all_infers_the_provider_from_the_price_data() {
    let (router, fakes) = router_with(
        json!({"model_list": [{
            "model_name": "*", "litellm_params": {"model": "*", "api_base": C}, "model_info": {"id": "any"}
        }]}),
        1,
    );
    fakes.transport.script(
        C,
        [Step::json(
            200,
            json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
                   "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn",
                   "usage": {"input_tokens": 10, "output_tokens": 5}}),
        )],
    );
    let r = answer(&router, "claude-haiku-4-5");
    assert_eq!(r.hidden.custom_llm_provider, "anthropic");
    assert_eq!(r.hidden.model_group, "*");
    let (url, body) = sent(&fakes, 0);
    assert!(url.starts_with(C) && url.ends_with("/messages"), "{url}");
    assert_eq!(body["model"], "claude-haiku-4-5");
    // A provider prefix in the request picks the provider too.
    answer(&router, "openai/gpt-4o-mini");
    let (url, body) = sent(&fakes, 1);
    assert_eq!(url, format!("{C}/chat/completions"));
    assert_eq!(body["model"], "gpt-4o-mini");
    // A name the price data does not know cannot be served: a BadRequestError, no call.
    let e = block_on(router.call(Endpoint::ChatCompletion, chat("no-such-model-xyz"))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequestError);
    assert!(
        e.message.contains("cannot tell the provider"),
        "{}",
        e.message
    );
    assert_eq!(fakes.transport.calls.borrow().len(), 2);
}

#[test]
fn precedence_exact_then_most_specific_pattern_then_inferred_provider() {
    let (router, fakes) = router_with(
        json!({"model_list": [
            entry("*", "openai/*", A, "catch-all"),
            entry("openai/*", "openai/*", B, "provider"),
            entry("openai/gpt-4*", "openai/gpt-4*", C, "family"),
            entry("openai/gpt-4o", "openai/gpt-4o", C, "exact"),
        ]}),
        1,
    );
    assert_eq!(answer(&router, "openai/gpt-4o").hidden.model_id, "exact");
    assert_eq!(answer(&router, "openai/gpt-4.1").hidden.model_id, "family");
    assert_eq!(sent(&fakes, 1).1["model"], "gpt-4.1");
    assert_eq!(answer(&router, "openai/o3").hidden.model_id, "provider");
    assert_eq!(
        answer(&router, "mistral-large").hidden.model_id,
        "catch-all"
    );
    // Bare names match the patterns as written first: "*" takes "gpt-4.1" (as LiteLLM).
    assert_eq!(answer(&router, "gpt-4.1").hidden.model_id, "catch-all");
    // Without a catch-all, "gpt-4.1" matches "openai/*" as "openai/gpt-4.1".
    let (router, fakes) = router_with(
        json!({"model_list": [entry("openai/*", "openai/*", B, "provider")]}),
        1,
    );
    assert_eq!(answer(&router, "gpt-4.1").hidden.model_id, "provider");
    assert_eq!(sent(&fakes, 0).1["model"], "gpt-4.1");
    let e = block_on(router.call(Endpoint::ChatCompletion, chat("claude-haiku-4-5"))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequestError);
    assert!(
        e.message.contains("no wildcard model_name matches"),
        "{}",
        e.message
    );
}

#[test]
fn equally_specific_patterns_keep_configuration_order() {
    let (router, _) = router_with(
        json!({"model_list": [
            entry("x-*", "openai/*", A, "first"),
            entry("*-y", "openai/*", B, "second"),
        ]}),
        1,
    );
    assert_eq!(answer(&router, "x-y").hidden.model_id, "first");
    let (router, _) = router_with(
        json!({"model_list": [
            entry("*-y", "openai/*", B, "second"),
            entry("x-*", "openai/*", A, "first"),
        ]}),
        1,
    );
    assert_eq!(answer(&router, "x-y").hidden.model_id, "second");
}

#[test]
fn requesting_the_pattern_itself_is_a_bad_request() {
    let (router, fakes) = router_with(
        json!({"model_list": [entry("openai/*", "openai/*", A, "w")]}),
        1,
    );
    let e = block_on(router.call(Endpoint::ChatCompletion, chat("openai/*"))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequestError);
    assert!(e.message.contains("wildcard model_name"), "{}", e.message);
    assert!(fakes.transport.calls.borrow().is_empty());
}

#[test]
fn deployments_of_a_pattern_balance_and_cool_down_per_configured_deployment() {
    let (router, fakes) = router_with(
        json!({"model_list": [
            entry("openai/*", "openai/*", A, "a"),
            entry("openai/*", "openai/*", B, "b"),
        ], "cooldown_time": 10}),
        3,
    );
    let mut seen = std::collections::HashSet::new();
    for _ in 0..20 {
        seen.insert(answer(&router, "openai/gpt-4.1").hidden.model_id);
    }
    assert_eq!(seen.len(), 2, "both deployments serve the pattern");
    fakes.transport.script(A, [Step::error(429, "slow down")]);
    for _ in 0..20 {
        let r = answer(&router, "openai/gpt-4.1");
        assert_eq!(r.hidden.model_id, "b");
        if fakes.transport.calls_to(A) > 10 {
            break;
        }
        if router.cooling_until("a").is_some() {
            break;
        }
    }
    assert!(router.cooling_until("a").is_some(), "a cools down");
    // The cooldown is the configured deployment's: another requested model skips it too.
    let before = fakes.transport.calls_to(A);
    for _ in 0..10 {
        assert_eq!(answer(&router, "openai/gpt-4o").hidden.model_id, "b");
    }
    assert_eq!(fakes.transport.calls_to(A), before);
}

#[test]
fn a_patterns_fallbacks_and_the_star_entry_apply() {
    let (router, fakes) = router_with(
        json!({"model_list": [
            entry("openai/*", "openai/*", A, "w"),
            entry("backup", "openai/gpt-4o-mini", B, "backup"),
        ], "num_retries": 0, "fallbacks": [{"openai/*": ["backup"]}]}),
        1,
    );
    fakes.transport.script(A, [Step::error(500, "down")]);
    let r = answer(&router, "openai/gpt-4.1");
    assert_eq!(r.hidden.model_id, "backup");
    assert_eq!(r.hidden.fallback_model_group.as_deref(), Some("backup"));
    assert_eq!(fakes.transport.calls_to(A), 1);
    // An entry for the requested name wins over the pattern's.
    let (router, fakes) = router_with(
        json!({"model_list": [
            entry("openai/*", "openai/*", A, "w"),
            entry("backup", "openai/gpt-4o-mini", B, "backup"),
            entry("other", "openai/gpt-4o-mini", C, "other"),
        ], "num_retries": 0,
           "fallbacks": [{"openai/*": ["backup"]}, {"openai/gpt-4.1": ["other"]}]}),
        1,
    );
    fakes.transport.script(A, [Step::error(500, "down")]);
    assert_eq!(answer(&router, "openai/gpt-4.1").hidden.model_id, "other");
    // The "*" entry catches a pattern's requests too.
    let (router, fakes) = router_with(
        json!({"model_list": [
            entry("openai/*", "openai/*", A, "w"),
            entry("backup", "openai/gpt-4o-mini", B, "backup"),
        ], "num_retries": 0, "fallbacks": [{"*": ["backup"]}]}),
        1,
    );
    fakes.transport.script(A, [Step::error(500, "down")]);
    assert_eq!(answer(&router, "openai/gpt-4.1").hidden.model_id, "backup");
}

#[test]
fn pre_call_checks_use_the_requested_models_context_window() {
    let (router, fakes) = router_with(
        json!({"model_list": [entry("openai/*", "openai/*", A, "w")],
               "enable_pre_call_checks": true}),
        1,
    );
    let small = CostMap::bundled()
        .lookup("openai", "gpt-4")
        .and_then(|c| c.max_input_tokens.or(c.max_tokens))
        .expect("a context window");
    assert!(small < 100_000);
    let long = "word ".repeat((small as usize) * 2);
    let req = |model: &str| {
        json!({"model": model, "messages": [{"role": "user", "content": long}]})
            .as_object()
            .cloned()
            .unwrap()
    };
    let e = block_on(router.call(Endpoint::ChatCompletion, req("openai/gpt-4"))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::ContextWindowExceededError);
    assert!(fakes.transport.calls.borrow().is_empty());
    let r = block_on(router.call(Endpoint::ChatCompletion, req("openai/gpt-4.1"))).unwrap();
    assert_eq!(r.hidden.model_id, "w");
}

#[test]
fn the_cache_keys_on_the_requested_model() {
    let (router, fakes) = router_with(
        json!({"model_list": [entry("openai/*", "openai/*", A, "w")], "cache_responses": true}),
        1,
    );
    assert!(!answer(&router, "openai/gpt-4.1").hidden.cache_hit);
    assert!(answer(&router, "openai/gpt-4.1").hidden.cache_hit);
    assert!(!answer(&router, "openai/gpt-4o").hidden.cache_hit);
    assert_eq!(fakes.transport.calls.borrow().len(), 2);
}

#[test]
fn bad_patterns_are_config_errors_naming_the_field() {
    let (field, msg) =
        config_error(json!({"model_list": [entry("openai/*/*", "openai/*", A, "x")]}));
    assert_eq!(field, "model_list[0].model_name");
    assert!(msg.contains("more than one"), "{msg}");
    let (field, msg) = config_error(json!({"model_list": [entry("/*", "openai/*", A, "x")]}));
    assert_eq!(field, "model_list[0].model_name");
    assert!(msg.contains("empty provider prefix"), "{msg}");
    let (field, msg) =
        config_error(json!({"model_list": [entry("openai/*", "openai/**", A, "x")]}));
    assert_eq!(field, "model_list[0].litellm_params.model");
    assert!(msg.contains("more than one"), "{msg}");
    let (field, _) = config_error(json!({"model_list": [entry("chat", "openai/*", A, "x")]}));
    assert_eq!(field, "model_list[0].litellm_params.model");
    let (field, msg) = config_error(json!({"model_list": [entry("*", "*", A, "x")]}));
    // A catch-all's key would be sent to whichever provider a caller names.
    assert_eq!(field, "model_list[0].litellm_params.api_key");
    assert!(!msg.contains("sk-wild-secret"));
    // With the provider fixed, a catch-all may hold a key.
    let ok = json!({"model_list": [{"model_name": "*", "litellm_params": {
        "model": "*", "custom_llm_provider": "openai", "api_base": A, "api_key": "sk-wild-secret"}}]});
    let (router, fakes) = router_with(ok, 1);
    answer(&router, "my-local-model");
    assert_eq!(sent(&fakes, 0).1["model"], "my-local-model");
}

#[test]
fn secrets_stay_out_of_wildcard_errors_and_listings() {
    let (router, fakes) = router_with(
        json!({"model_list": [entry("openai/*", "openai/*", A, "w")], "num_retries": 0}),
        1,
    );
    fakes
        .transport
        .script(A, [Step::error(401, "bad key sk-wild-secret")]);
    let e = block_on(router.call(Endpoint::ChatCompletion, chat("openai/gpt-4.1"))).unwrap_err();
    assert!(!e.message.contains("sk-wild-secret"), "{}", e.message);
    for d in router.table().deployments() {
        assert!(!d.redacted().to_string().contains("sk-wild-secret"));
    }
}

/// LiteLLM's `litellm/proxy/wildcard_config.yaml` model list (1.110.2), as JSON with its
/// `os.environ/` references kept; bedrock and vertex_ai get the credentials llmux needs
/// explicitly (it reads no AWS profile and no Application Default Credentials).
#[test]
fn litellms_wildcard_config_routes() {
    let list: Value = serde_json::from_str(include_str!("fixtures/wildcard_config.json")).unwrap();
    let env: HashMap<String, String> = [
        ("ANTHROPIC_API_KEY", "sk-ant"),
        ("VERTEXAI_PROJECT", "proj"),
        ("AZURE_AI_API_BASE", "https://foundry.test"),
        ("AZURE_AI_API_KEY", "k1"),
        ("AZURE_API_BASE", "https://aoai.test"),
        ("AZURE_API_KEY", "k2"),
        ("GEMINI_API_KEY", "k3"),
        ("OPENAI_API_KEY", "sk-oai"),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("VERTEX_TOKEN", "ya29.token"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let config = RouterConfig::parse(&json!({"model_list": list, "num_retries": 0}), &env)
        .expect("the wildcard config is valid");
    let fakes = Fakes::new(1);
    let router = Router::new(config, fakes.ports.clone());
    let names = router.table().group_names().to_vec();
    assert_eq!(names.len(), 7);
    let cases = [
        (
            "openai/gpt-4.1",
            "https://api.openai.com/v1/chat/completions",
            "openai",
        ),
        (
            "anthropic/claude-haiku-4-5",
            "https://api.anthropic.com/v1/messages",
            "anthropic",
        ),
        (
            "gemini/gemini-2.0-flash",
            "https://generativelanguage.googleapis.com/",
            "gemini",
        ),
        (
            "azure/my-gpt4o",
            "https://aoai.test/openai/deployments/my-gpt4o/",
            "azure",
        ),
        (
            "bedrock/anthropic.claude-3-haiku-20240307-v1:0",
            "https://bedrock-runtime.us-east-1.amazonaws.com/",
            "bedrock",
        ),
        ("azure_ai/mistral-large", "https://foundry.test", "azure_ai"),
        (
            "vertex_ai/gemini-2.0-flash",
            "https://aiplatform.googleapis.com/",
            "vertex_ai",
        ),
    ];
    for (i, (model, url, provider)) in cases.iter().enumerate() {
        // The reply is not each provider's format: the URL and the provider are what count.
        let _ = block_on(router.call(Endpoint::ChatCompletion, chat(model)));
        let calls = fakes.transport.calls.borrow();
        let last = calls.last().expect("an upstream call");
        assert!(
            last.request.url.starts_with(url),
            "{model}: {} (call {i})",
            last.request.url
        );
        assert_eq!(calls.len(), i + 1, "{model}: one call");
        let _ = provider;
    }
}

#[test]
fn listings_expand_provider_patterns_from_the_price_data() {
    let (router, _) = router_with(
        json!({"model_list": [
            entry("chat", "openai/gpt-4o-mini", A, "c"),
            entry("anthropic/claude-haiku-*", "anthropic/claude-haiku-*", B, "h"),
            entry("team-a/*", "openai/*", A, "t"),
            {"model_name": "*", "litellm_params": {"model": "*"}, "model_info": {"id": "any"}},
        ]}),
        1,
    );
    let table = router.table();
    let listed = table.listed_models();
    assert_eq!(listed[0], "chat");
    assert!(
        listed.contains(&"anthropic/claude-haiku-4-5".to_string()),
        "{listed:?}"
    );
    assert!(listed
        .iter()
        .filter(|m| m.starts_with("anthropic/"))
        .all(|m| m.starts_with("anthropic/claude-haiku-")));
    assert!(!listed
        .iter()
        .any(|m| m.starts_with("anthropic/claude-sonnet")));
    // Patterns that name no provider are listed as themselves.
    assert!(listed.contains(&"team-a/*".to_string()));
    assert!(listed.contains(&"*".to_string()));
    assert_eq!(table.group_of("team-a/gpt-4o"), Some("team-a/*"));
    assert_eq!(table.group_of("chat"), Some("chat"));
    assert_eq!(table.group_of("claude-haiku-4-5"), Some("*"));
}

#[test]
fn the_host_loop_resolves_wildcards_the_same_way() {
    use llmux::router::HostStep;
    let (router, _) = router_with(
        json!({"model_list": [entry("openai/*", "openai/*", A, "w")]}),
        1,
    );
    assert!(router.host_loop_allowed());
    let mut hc = router.begin_host(Endpoint::ChatCompletion, "openai/gpt-4.1");
    let HostStep::Send(d) = router.step_host(&mut hc) else {
        panic!("the host sends an OpenAI passthrough itself");
    };
    assert_eq!((d.id.as_str(), d.model.as_str()), ("w", "gpt-4.1"));
    let wire = router.wire(&d, Endpoint::ChatCompletion).unwrap();
    assert_eq!(wire.model, "gpt-4.1");
    assert_eq!(wire.url, format!("{A}/chat/completions"));
    // The same requested name gets the same deployment object (a stable wire id).
    let mut again = router.begin_host(Endpoint::ChatCompletion, "openai/gpt-4.1");
    let HostStep::Send(d2) = router.step_host(&mut again) else {
        panic!("a send");
    };
    assert!(std::rc::Rc::ptr_eq(&d, &d2));
    let mut missing = router.begin_host(Endpoint::ChatCompletion, "anthropic/x");
    assert!(
        matches!(router.step_host(&mut missing), HostStep::Fail(e) if e.kind == ErrorKind::BadRequestError)
    );
}
