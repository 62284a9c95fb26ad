//! LiteLLM Router options -> RouterConfig: defaults, validation, field paths in errors.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::result_large_err
)]

use llmux::config::{
    RouterConfig, DEFAULT_ALLOWED_FAILS, DEFAULT_COOLDOWN_MS, DEFAULT_NUM_RETRIES,
};
use llmux::error::{ErrorKind, LlmError};
use serde_json::{json, Value};
use std::collections::HashMap;

fn parse(options: Value) -> Result<RouterConfig, LlmError> {
    RouterConfig::parse(&options, &HashMap::new())
}

fn field_of(options: Value) -> String {
    let err = parse(options).expect_err("should be rejected");
    assert_eq!(err.kind, ErrorKind::ConfigError);
    assert!(
        err.message.starts_with(err.field.as_deref().unwrap()),
        "{}",
        err.message
    );
    err.field.unwrap()
}

fn entry(params: Value) -> Value {
    json!({"model_list": [{"model_name": "chat", "litellm_params": params}]})
}

#[test]
fn defaults_match_litellm() {
    let c = parse(json!({"model_list": []})).unwrap();
    assert_eq!(c.num_retries, DEFAULT_NUM_RETRIES);
    assert_eq!(c.num_retries, 2);
    assert_eq!(c.allowed_fails, DEFAULT_ALLOWED_FAILS);
    assert_eq!(c.cooldown_ms, DEFAULT_COOLDOWN_MS);
    assert_eq!(c.max_fallbacks, 5);
    assert_eq!(c.timeout_ms, 6_000_000);
    assert_eq!(c.retry_after_ms, 0);
}

#[test]
fn provider_prefix_is_split_from_the_model() {
    let c = parse(entry(json!({"model": "openai/gpt-4o-mini"}))).unwrap();
    assert_eq!(c.deployments[0].provider, "openai");
    assert_eq!(c.deployments[0].model, "gpt-4o-mini");
}

#[test]
fn bare_openai_model_names_are_inferred_from_the_price_data() {
    let c = parse(entry(json!({"model": "gpt-4o-mini"}))).unwrap();
    assert_eq!(c.deployments[0].provider, "openai");
}

#[test]
fn custom_llm_provider_makes_any_model_name_openai_compatible() {
    let c = parse(entry(json!({"model": "meta-llama/Llama-3-8b", "custom_llm_provider": "openai", "api_base": "http://localhost:8000/v1"}))).unwrap();
    assert_eq!(c.deployments[0].model, "meta-llama/Llama-3-8b");
}

#[test]
fn unsupported_and_unknown_providers_name_the_model_field() {
    for model in [
        "sagemaker/my-endpoint",
        "nosuch/thing",
        "totally-unknown-model",
    ] {
        assert_eq!(
            field_of(entry(json!({"model": model}))),
            "model_list[0].litellm_params.model",
            "{model}"
        );
    }
    let e = parse(entry(json!({"model": "sagemaker/x"}))).unwrap_err();
    assert!(e.message.contains("not yet supported"));
}

#[test]
fn entry_errors_name_their_path() {
    assert_eq!(
        field_of(json!({"model_list": [{"litellm_params": {"model": "openai/x"}}]})),
        "model_list[0].model_name"
    );
    assert_eq!(
        field_of(json!({"model_list": [{"model_name": "a"}]})),
        "model_list[0].litellm_params"
    );
    assert_eq!(
        field_of(
            json!({"model_list": [{"model_name": "a", "litellm_params": {"model": "openai/x"}}, {"model_name": "b", "litellm_params": {}}]})
        ),
        "model_list[1].litellm_params.model"
    );
    assert_eq!(
        field_of(entry(json!({"model": "openai/x", "aws_role_name": "r"}))),
        "model_list[0].litellm_params.aws_role_name"
    );
    assert_eq!(
        field_of(entry(json!({"model": "openai/x", "rpm": -1}))),
        "model_list[0].litellm_params.rpm"
    );
    assert_eq!(
        field_of(entry(json!({"model": "openai/x", "timeout": "soon"}))),
        "model_list[0].litellm_params.timeout"
    );
    assert_eq!(
        field_of(entry(json!({"model": "openai/x", "api_base": "ftp://x"}))),
        "model_list[0].litellm_params.api_base"
    );
    assert_eq!(
        field_of(entry(json!({"model": "openai/x", "order": 1.5}))),
        "model_list[0].litellm_params.order"
    );
    assert_eq!(
        field_of(
            json!({"model_list": [{"model_name": "a", "litellm_params": {"model": "openai/x"}, "model_info": {"mode": ""}}]})
        ),
        "model_list[0].model_info.mode"
    );
}

#[test]
fn numbers_written_as_strings_are_accepted() {
    let c = parse(entry(
        json!({"model": "openai/x", "rpm": "100", "timeout": "2.5"}),
    ))
    .unwrap();
    assert_eq!(c.deployments[0].rpm, Some(100));
    assert_eq!(c.deployments[0].timeout_ms, Some(2500));
}

#[test]
fn unknown_and_unsupported_router_options_are_refused_by_name() {
    assert_eq!(
        field_of(json!({"model_list": [], "num_retrys": 3})),
        "num_retrys"
    );
    assert_eq!(
        field_of(json!({"model_list": [], "alerting_config": {"webhook_url": "x"}})),
        "alerting_config"
    );
    assert_eq!(
        field_of(json!({"model_list": [], "redis_url": "redis://x"})),
        "redis_url"
    );
    assert_eq!(
        field_of(json!({"model_list": [], "routing_strategy_args": {"ttl": 5}})),
        "routing_strategy_args.ttl"
    );
    assert_eq!(
        field_of(json!({"model_list": [], "routing_strategy": "fastest"})),
        "routing_strategy"
    );
    // Their defaults are fine: a LiteLLM config that spells them out still loads.
    parse(json!({"model_list": [], "cache_responses": false, "redis_url": null, "routing_strategy_args": {}, "client_ttl": 3600})).unwrap();
}

#[test]
fn duplicate_ids_of_different_entries_are_rejected() {
    let d = json!({"model_name": "a", "litellm_params": {"model": "openai/x"}, "model_info": {"id": "same"}});
    let e = json!({"model_name": "b", "litellm_params": {"model": "openai/y"}, "model_info": {"id": "same"}});
    assert_eq!(
        field_of(json!({"model_list": [d, e]})),
        "model_list[1].model_info.id"
    );
}

#[test]
fn generated_ids_are_stable_and_unique() {
    let options = json!({"model_list": [
        {"model_name": "a", "litellm_params": {"model": "openai/x", "api_base": "http://one"}},
        {"model_name": "a", "litellm_params": {"model": "openai/x", "api_base": "http://two"}}
    ]});
    let first = parse(options.clone()).unwrap();
    let second = parse(options).unwrap();
    assert_eq!(first.deployments[0].id, second.deployments[0].id);
    assert_ne!(first.deployments[0].id, first.deployments[1].id);
    assert_eq!(first.deployments[0].id.len(), 64);
}

#[test]
fn env_references_resolve_and_missing_ones_name_field_and_variable() {
    let env = HashMap::from([("OPENAI_KEY".to_string(), "sk-from-env".to_string())]);
    let c = RouterConfig::parse(
        &entry(json!({"model": "openai/x", "api_key": "os.environ/OPENAI_KEY"})),
        &env,
    )
    .unwrap();
    assert_eq!(
        c.deployments[0].api_key.as_ref().unwrap().expose(),
        "sk-from-env"
    );
    let e = parse(entry(
        json!({"model": "openai/x", "api_key": "os.environ/NOT_SET"}),
    ))
    .unwrap_err();
    assert_eq!(
        e.field.as_deref(),
        Some("model_list[0].litellm_params.api_key")
    );
    assert!(e.message.contains("NOT_SET"));
}

#[test]
fn default_litellm_params_merge_under_each_deployment() {
    let c = parse(json!({
        "default_litellm_params": {"api_key": "sk-shared", "temperature": 0.2, "timeout": 7},
        "model_list": [
            {"model_name": "a", "litellm_params": {"model": "openai/x"}},
            {"model_name": "b", "litellm_params": {"model": "openai/y", "timeout": 3}}
        ]
    }))
    .unwrap();
    assert_eq!(
        c.deployments[0].api_key.as_ref().unwrap().expose(),
        "sk-shared"
    );
    assert_eq!(c.deployments[0].timeout_ms, Some(7000));
    assert_eq!(
        c.deployments[1].timeout_ms,
        Some(3000),
        "the deployment's own value wins"
    );
    assert_eq!(c.deployments[1].request_defaults["temperature"], json!(0.2));
}

#[test]
fn ignore_invalid_deployments_keeps_the_valid_ones() {
    let c = parse(json!({
        "ignore_invalid_deployments": true,
        "model_list": [
            {"model_name": "a", "litellm_params": {"model": "openai/x"}},
            {"model_name": "b", "litellm_params": {"model": "sagemaker/y"}}
        ]
    }))
    .unwrap();
    assert_eq!(c.deployments.len(), 1);
    assert_eq!(
        c.skipped_deployments[0].field.as_deref(),
        Some("model_list[1].litellm_params.model")
    );
}

#[test]
fn fallbacks_and_policies_are_validated() {
    assert_eq!(
        field_of(json!({"model_list": [], "fallbacks": {"a": ["b"]}})),
        "fallbacks"
    );
    assert_eq!(
        field_of(json!({"model_list": [], "fallbacks": [{"a": "b"}]})),
        "fallbacks[0].a"
    );
    assert_eq!(
        field_of(json!({"model_list": [], "retry_policy": {"RateLimitErrorRetries": -1}})),
        "retry_policy.RateLimitErrorRetries"
    );
    assert_eq!(
        field_of(json!({"model_list": [], "allowed_fails_policy": {"Nope": 1}})),
        "allowed_fails_policy.Nope"
    );
    let c =
        parse(json!({"model_list": [], "fallbacks": [{"a": ["b", "c"]}, {"*": ["d"]}]})).unwrap();
    assert_eq!(
        c.fallbacks,
        vec![
            ("a".to_string(), vec!["b".to_string(), "c".to_string()]),
            ("*".to_string(), vec!["d".to_string()])
        ]
    );
}

#[test]
fn header_values_are_checked_and_never_debug_printed() {
    assert_eq!(
        field_of(entry(
            json!({"model": "openai/x", "extra_headers": {"x-a": "line\nbreak"}})
        )),
        "model_list[0].litellm_params.extra_headers.x-a"
    );
    let c = parse(entry(
        json!({"model": "openai/x", "extra_headers": {"x-api-key": "hdr-secret"}}),
    ))
    .unwrap();
    assert!(!format!("{:?}", c.deployments[0]).contains("hdr-secret"));
    assert!(!c.deployments[0]
        .redacted()
        .to_string()
        .contains("hdr-secret"));
}

#[test]
fn every_configured_duration_is_clamped_to_the_timer_range() {
    // 2,147,484 s would wrap `setTimeout`'s i32 of milliseconds to an immediate timeout.
    let max = llmux::reliability::bounds::MAX_TIMER_MS;
    let mut options = entry(json!({
        "model": "openai/gpt-4o-mini",
        "timeout": 2_147_484,
        "stream_timeout": 1.0e9,
    }));
    options["timeout"] = json!(2_147_484);
    options["stream_timeout"] = json!("999999999");
    options["cooldown_time"] = json!(1.0e8);
    let c = parse(options).unwrap();
    assert_eq!(c.timeout_ms, max);
    assert_eq!(c.stream_timeout_ms, Some(max));
    assert_eq!(c.cooldown_ms, max);
    assert_eq!(c.deployments[0].timeout_ms, Some(max));
    assert_eq!(c.deployments[0].stream_timeout_ms, Some(max));
    // Values inside the range are untouched.
    let c = parse(json!({"model_list": [], "timeout": 2_147_483})).unwrap();
    assert_eq!(c.timeout_ms, 2_147_483_000);
}
