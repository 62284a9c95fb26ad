//! LiteLLM configs that load unchanged: provider settings from the environment, an entry's
//! own rpm/tpm, repeated entries, LiteLLM settings llmux does not use, malformed 2xx bodies.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::result_large_err
)]

use llmux::config::RouterConfig;
use llmux::error::{ErrorKind, LlmError};
use llmux::ports::LogLevel;
use llmux::router::Router;
use llmux::testing::{block_on, Fakes, Step};
use llmux::types::Endpoint;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn one(params: Value) -> Value {
    json!({"model_list": [{"model_name": "chat", "litellm_params": params}]})
}

fn chat(model: &str) -> Map<String, Value> {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}]})
        .as_object()
        .cloned()
        .unwrap()
}

fn router(options: Value, env: &HashMap<String, String>) -> (Router, Fakes) {
    let fakes = Fakes::new(3);
    let config = RouterConfig::parse(&options, env).expect("valid config");
    (Router::new(config, fakes.ports.clone()), fakes)
}

fn warnings(fakes: &Fakes) -> Vec<String> {
    fakes
        .logger
        .lines
        .borrow()
        .iter()
        .filter(|(level, _)| *level == LogLevel::Warn)
        .map(|(_, m)| m.clone())
        .collect()
}

fn config_error(options: Value, env: &HashMap<String, String>) -> LlmError {
    let err = RouterConfig::parse(&options, env).expect_err("should be refused");
    assert_eq!(err.kind, ErrorKind::ConfigError);
    err
}

const AWS: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "AKIAENVEXAMPLE"),
    ("AWS_SECRET_ACCESS_KEY", "env-secret-access-key-value"),
    ("AWS_SESSION_TOKEN", "env-session-token-value"),
    ("AWS_REGION", "eu-west-1"),
];

// ---------------------------------------------------------------- credentials from env

#[test]
fn bedrock_without_keys_signs_with_the_aws_variables_of_the_environment() {
    let (router, fakes) = router(
        one(json!({"model": "bedrock/anthropic.claude-3-haiku-20240307-v1:0"})),
        &env(AWS),
    );
    let table = router.table();
    let d = &table.deployments()[0];
    assert_eq!(d.provider_param("aws_region_name"), Some("eu-west-1"));
    let url = "https://bedrock-runtime.eu-west-1.amazonaws.com";
    fakes.transport.script(
        url,
        [Step::json(
            200,
            json!({"output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}},
                   "stopReason": "end_turn", "usage": {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4}}),
        )],
    );
    block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap();
    let call = &fakes.transport.calls.borrow()[0].request;
    assert!(call.url.starts_with(url), "{}", call.url);
    let auth = call.header("authorization").unwrap();
    assert!(auth.contains("Credential=AKIAENVEXAMPLE/"), "{auth}");
    assert!(auth.contains("/eu-west-1/bedrock/"), "{auth}");
    assert_eq!(
        call.header("x-amz-security-token"),
        Some("env-session-token-value")
    );
}

#[test]
fn aws_region_name_is_read_before_aws_region() {
    let mut e = env(AWS);
    e.insert("AWS_REGION_NAME".into(), "ap-south-1".into());
    let c =
        RouterConfig::parse(&one(json!({"model": "bedrock/amazon.nova-lite-v1:0"})), &e).unwrap();
    assert_eq!(
        c.deployments[0].provider_param("aws_region_name"),
        Some("ap-south-1")
    );
}

#[test]
fn keys_in_the_entry_win_and_never_mix_with_a_session_token_from_the_environment() {
    let c = RouterConfig::parse(
        &one(json!({"model": "bedrock/amazon.nova-lite-v1:0",
                    "aws_access_key_id": "AKIAOWN", "aws_secret_access_key": "own-secret"})),
        &env(AWS),
    )
    .unwrap();
    let d = &c.deployments[0];
    assert_eq!(d.provider_param("aws_access_key_id"), Some("AKIAOWN"));
    assert_eq!(d.provider_param("aws_session_token"), None);
    assert_eq!(d.provider_param("aws_region_name"), Some("eu-west-1"));
}

#[test]
fn missing_bedrock_credentials_name_the_field_and_the_variables() {
    let err = config_error(
        one(json!({"model": "bedrock/amazon.nova-lite-v1:0"})),
        &env(&[]),
    );
    assert_eq!(err.field.as_deref(), Some("model_list[0].litellm_params"));
    assert!(err.message.contains("AWS_ACCESS_KEY_ID"), "{}", err.message);
    let err = config_error(
        one(json!({"model": "bedrock/amazon.nova-lite-v1:0"})),
        &env(&AWS[..2]),
    );
    assert!(
        err.message.contains("AWS_REGION_NAME or AWS_REGION"),
        "{}",
        err.message
    );
    let err = config_error(
        one(json!({"model": "groq/llama-3.1-8b-instant"})),
        &env(&[]),
    );
    assert!(err.message.contains("GROQ_API_KEY"), "{}", err.message);
}

#[test]
fn provider_keys_and_bases_come_from_litellms_variables() {
    let e = env(&[
        ("OPENAI_API_KEY", "sk-openai-env"),
        ("OPENAI_BASE_URL", "http://openai.env.test/v1"),
        ("ANTHROPIC_API_KEY", "sk-ant-env"),
        ("AZURE_API_KEY", "azure-env-key"),
        ("AZURE_API_BASE", "https://env.openai.azure.com"),
        ("AZURE_API_VERSION", "2024-10-21"),
        ("GEMINI_API_KEY", "gemini-env-key"),
        ("VERTEXAI_PROJECT", "env-project"),
        ("VERTEXAI_LOCATION", "europe-west4"),
        ("COHERE_API_KEY", "co-env-key"),
        ("OR_API_KEY", "or-env-key"),
    ]);
    let options = json!({"model_list": [
        {"model_name": "o", "litellm_params": {"model": "openai/gpt-4o-mini"}},
        {"model_name": "a", "litellm_params": {"model": "anthropic/claude-3-5-haiku-latest"}},
        {"model_name": "z", "litellm_params": {"model": "azure/my-gpt"}},
        {"model_name": "g", "litellm_params": {"model": "gemini/gemini-2.0-flash"}},
        {"model_name": "v", "litellm_params": {"model": "vertex_ai/gemini-2.0-flash", "api_key": "ya29.token"}},
        {"model_name": "c", "litellm_params": {"model": "cohere/command-r"}},
        {"model_name": "r", "litellm_params": {"model": "openrouter/openai/gpt-4o"}},
    ]});
    let c = RouterConfig::parse(&options, &e).unwrap();
    let d = &c.deployments;
    let key = |i: usize| d[i].api_key.as_ref().map(|k| k.expose().to_string());
    assert_eq!(key(0).as_deref(), Some("sk-openai-env"));
    assert_eq!(d[0].api_base.as_deref(), Some("http://openai.env.test/v1"));
    assert_eq!(key(1).as_deref(), Some("sk-ant-env"));
    assert_eq!(key(2).as_deref(), Some("azure-env-key"));
    assert_eq!(
        d[2].api_base.as_deref(),
        Some("https://env.openai.azure.com")
    );
    assert_eq!(d[2].api_version.as_deref(), Some("2024-10-21"));
    assert_eq!(key(3).as_deref(), Some("gemini-env-key"));
    assert_eq!(d[4].provider_param("vertex_project"), Some("env-project"));
    assert_eq!(d[4].provider_param("vertex_location"), Some("europe-west4"));
    assert_eq!(key(5).as_deref(), Some("co-env-key"));
    assert_eq!(key(6).as_deref(), Some("or-env-key"));
}

#[test]
fn settings_from_the_environment_change_neither_the_id_nor_the_listing() {
    let params = json!({"model": "anthropic/claude-3-5-haiku-latest"});
    let without = RouterConfig::parse(&one(params.clone()), &env(&[])).unwrap();
    let with = RouterConfig::parse(
        &one(params),
        &env(&[("ANTHROPIC_API_KEY", "sk-ant-secret-from-env")]),
    )
    .unwrap();
    let d = &with.deployments[0];
    assert_eq!(d.id, without.deployments[0].id);
    let listed = d.redacted().to_string();
    assert!(!listed.contains("sk-ant-secret-from-env"), "{listed}");
    assert!(!format!("{d:?}").contains("sk-ant-secret-from-env"));
    // Errors are scrubbed of it like of any key the entry gives.
    assert!(d.secrets().contains(&"sk-ant-secret-from-env"));
}

#[test]
fn an_explicit_empty_key_in_the_entry_is_filled_from_the_environment() {
    let c = RouterConfig::parse(
        &one(json!({"model": "openai/gpt-4o-mini", "api_key": ""})),
        &env(&[("OPENAI_API_KEY", "sk-env")]),
    )
    .unwrap();
    assert_eq!(
        c.deployments[0].api_key.as_ref().unwrap().expose(),
        "sk-env"
    );
}

#[test]
fn a_wildcard_inferring_its_provider_takes_no_credentials_from_the_environment() {
    let c = RouterConfig::parse(
        &json!({"model_list": [{"model_name": "*", "litellm_params": {"model": "*"}}]}),
        &env(&[("OPENAI_API_KEY", "sk-env")]),
    )
    .unwrap();
    assert!(c.deployments[0].api_key.is_none());
}

#[test]
fn deployments_added_later_read_the_environment_given_at_construction() {
    let (router, _fakes) = router(
        json!({"model_list": []}),
        &env(&[("MISTRAL_API_KEY", "mistral-env-key")]),
    );
    router
        .add_deployment(&json!({"model_name": "m", "litellm_params": {"model": "mistral/mistral-small-latest"}}))
        .unwrap();
    let table = router.table();
    let d = &table.deployments()[0];
    assert_eq!(d.api_key.as_ref().unwrap().expose(), "mistral-env-key");
}

// ---------------------------------------------------------------- entry shape

#[test]
fn an_entrys_own_rpm_and_tpm_are_copied_into_litellm_params_unless_set_there() {
    let c = RouterConfig::parse(
        &json!({"model_list": [
            {"model_name": "a", "litellm_params": {"model": "openai/x"}, "rpm": 3, "tpm": 20000},
            {"model_name": "a", "litellm_params": {"model": "openai/y", "rpm": 10}, "rpm": 3},
        ]}),
        &env(&[]),
    )
    .unwrap();
    assert_eq!(c.deployments[0].rpm, Some(3));
    assert_eq!(c.deployments[0].tpm, Some(20000));
    assert_eq!(c.deployments[1].rpm, Some(10));
    let err = config_error(
        json!({"model_list": [{"model_name": "a", "litellm_params": {"model": "openai/x"}, "rpm": "many"}]}),
        &env(&[]),
    );
    assert_eq!(err.field.as_deref(), Some("model_list[0].rpm"));
}

#[test]
fn other_keys_of_an_entry_are_ignored_with_a_warning() {
    let (router, fakes) = router(
        json!({"model_list": [{"model_name": "a", "litellm_params": {"model": "openai/x"}, "blocked": false, "note": "x"}]}),
        &env(&[]),
    );
    assert_eq!(router.table().deployments().len(), 1);
    let w = warnings(&fakes);
    assert!(
        w.iter()
            .any(|m| m.contains("model_list[0]: ignoring blocked, note")),
        "{w:?}"
    );
}

#[test]
fn an_entry_without_litellm_params_is_refused_as_litellm_refuses_it() {
    let err = config_error(
        json!({"model_list": [{"model_name": "gpt-3.5-turbo"}]}),
        &env(&[]),
    );
    assert_eq!(err.field.as_deref(), Some("model_list[0].litellm_params"));
    // With ignore_invalid_deployments it is skipped (LiteLLM raises a KeyError even then).
    let c = RouterConfig::parse(
        &json!({"ignore_invalid_deployments": true, "model_list": [{"model_name": "gpt-3.5-turbo"}]}),
        &env(&[]),
    )
    .unwrap();
    assert!(c.deployments.is_empty());
    assert_eq!(c.skipped_deployments.len(), 1);
}

#[test]
fn a_repeated_entry_is_skipped_with_a_warning() {
    let e = json!({"model_name": "claude", "litellm_params": {"model": "anthropic/claude-sonnet-4-5", "api_key": "k"}});
    let other = json!({"model_name": "claude", "litellm_params": {"model": "anthropic/claude-haiku-4-5", "api_key": "k"}});
    let (router, fakes) = router(
        json!({"model_list": [e.clone(), other, e.clone()]}),
        &env(&[]),
    );
    let table = router.table();
    assert_eq!(table.deployments().len(), 2);
    let w = warnings(&fakes);
    assert!(
        w.iter()
            .any(|m| m.contains("model_list[2] repeats model_list[0]")),
        "{w:?}"
    );
    // setModelList treats a repeat the same way.
    router.set_model_list(&json!([e.clone(), e])).unwrap();
    assert_eq!(router.table().deployments().len(), 1);
}

#[test]
fn a_mode_llmux_does_not_serve_loads_and_answers_no_call() {
    let (router, fakes) = router(
        json!({"model_list": [{"model_name": "batch", "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "k"},
                               "model_info": {"mode": "batch"}}]}),
        &env(&[]),
    );
    assert!(warnings(&fakes)
        .iter()
        .any(|m| m.contains("mode \"batch\"")));
    let err = block_on(router.call(Endpoint::ChatCompletion, chat("batch"))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequestError);
    assert!(err.message.contains("serves mode batch"), "{}", err.message);
    assert_eq!(fakes.transport.calls.borrow().len(), 0);
}

// ---------------------------------------------------------------- unknown litellm_params

#[test]
fn litellm_settings_llmux_does_not_use_are_ignored_with_one_warning() {
    let (router, fakes) = router(
        one(
            json!({"model": "openai/gpt-5-mini", "api_key": "k", "region_name": "eu",
                   "s3_bucket_name": "b", "use_in_pass_through": false, "drop_params": true}),
        ),
        &env(&[]),
    );
    let table = router.table();
    let d = &table.deployments()[0];
    assert!(d.request_defaults.is_empty(), "{:?}", d.request_defaults);
    let w = warnings(&fakes);
    assert!(
        w.iter().any(|m| m.contains(
            "model_list[0].litellm_params: ignoring LiteLLM settings llmux does not use: region_name, s3_bucket_name, drop_params"
        )),
        "{w:?}"
    );
}

#[test]
fn litellm_settings_that_would_change_the_call_are_refused_with_the_reason() {
    for (key, value, says) in [
        (
            "aws_role_name",
            json!("arn:aws:iam::1:role/x"),
            "role assumption",
        ),
        ("litellm_credential_name", json!("prod"), "credential store"),
        ("mock_response", json!("hi"), "mock"),
        (
            "adaptive_router_config",
            json!({"available_models": ["a"]}),
            "auto routers",
        ),
        ("use_litellm_proxy", json!(true), "LiteLLM proxy"),
    ] {
        let mut params = json!({"model": "openai/x", "api_key": "k"});
        params[key] = value;
        let err = config_error(one(params), &env(&[]));
        assert_eq!(
            err.field.as_deref(),
            Some(format!("model_list[0].litellm_params.{key}").as_str())
        );
        assert!(err.message.contains(says), "{key}: {}", err.message);
    }
    // At their defaults they change nothing and load.
    RouterConfig::parse(
        &one(json!({"model": "openai/x", "use_litellm_proxy": false, "mock_response": null})),
        &env(&[]),
    )
    .unwrap();
}

#[test]
fn unknown_params_are_sent_to_the_provider_with_a_warning() {
    let (router, fakes) = router(
        one(
            json!({"model": "openai/gpt-4o-mini", "api_key": "k", "api_base": "http://a.test/v1",
                   "safe_prompt": true, "temprature": 0.3}),
        ),
        &env(&[]),
    );
    fakes
        .transport
        .script("http://a.test", [Step::ok_chat("hello")]);
    block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap();
    let call = &fakes.transport.calls.borrow()[0].request;
    let sent: Value = serde_json::from_str(call.body.as_deref().unwrap()).unwrap();
    assert_eq!(sent["safe_prompt"], true);
    assert_eq!(sent["temprature"], 0.3);
    let w = warnings(&fakes);
    assert!(
        w.iter()
            .any(|m| m.contains("model_list[0].litellm_params.temprature: not a LiteLLM setting")),
        "{w:?}"
    );
}

#[test]
fn an_unknown_field_named_like_a_credential_is_refused_not_forwarded() {
    let err = RouterConfig::parse(
        &one(json!({"model": "openai/x", "vendor_secret": "v-secret-value"})),
        &env(&[]),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::ConfigError);
    assert_eq!(
        err.field.as_deref(),
        Some("model_list[0].litellm_params.vendor_secret")
    );
    assert!(!err.message.contains("v-secret-value"), "{}", err.message);
}

// ---------------------------------------------------------------- malformed 2xx bodies

#[test]
fn a_malformed_200_is_an_internal_server_error_retried_on_another_deployment() {
    let dep = |base: &str, id: &str| {
        json!({"model_name": "chat", "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "k", "api_base": base},
               "model_info": {"id": id}})
    };
    let (router, fakes) = router(
        json!({"model_list": [dep("http://a.test/v1", "a"), dep("http://b.test/v1", "b")], "num_retries": 1}),
        &env(&[]),
    );
    let bad = Step::Reply {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: "{not json".into(),
        delay_ms: 0,
    };
    fakes.transport.script("http://a.test", [bad.clone()]);
    fakes.transport.script("http://b.test", [bad]);
    let err = block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InternalServerError);
    assert_eq!(err.status, 500);
    assert!(
        err.message.contains("Malformed response"),
        "{}",
        err.message
    );
    assert_eq!(fakes.transport.calls.borrow().len(), 2);
}

// ---------------------------------------------------------------- Router options

#[test]
fn router_options_llmux_does_not_have_are_refused_with_the_reason() {
    for (key, value, says) in [
        ("plugins", json!([{}]), "Python objects"),
        (
            "assistants_config",
            json!({"custom_llm_provider": "openai", "litellm_params": {}}),
            "Assistants API",
        ),
        (
            "search_tools",
            json!([{"search_tool_name": "s"}]),
            "search endpoint",
        ),
        (
            "guardrail_list",
            json!([{"guardrail_name": "g"}]),
            "guardrails",
        ),
        (
            "alerting_config",
            json!({"webhook_url": "https://hooks.slack.test/x"}),
            "Slack",
        ),
        (
            "fallback_access_check",
            json!("<function>"),
            "Python callable",
        ),
        (
            "fallback_budget_check",
            json!("<function>"),
            "Python callable",
        ),
        (
            "auto_router_capability_limit",
            json!("<function>"),
            "auto routers",
        ),
    ] {
        let err = config_error(json!({"model_list": [], key: value}), &env(&[]));
        assert_eq!(err.field.as_deref(), Some(key));
        assert!(
            err.message.contains("not supported by llmux"),
            "{}",
            err.message
        );
        assert!(err.message.contains(says), "{key}: {}", err.message);
    }
    // Their defaults load (a config that spells them out unchanged).
    RouterConfig::parse(
        &json!({"model_list": [], "routing_groups": [], "plugins": null, "alerting_config": null}),
        &env(&[]),
    )
    .unwrap();
}

#[test]
fn router_general_settings_accepts_litellms_defaults_and_refuses_pass_through() {
    RouterConfig::parse(
        &json!({"model_list": [], "router_general_settings": {"async_only_mode": true, "pass_through_all_models": false}}),
        &env(&[]),
    )
    .unwrap();
    let err = config_error(
        json!({"model_list": [], "router_general_settings": {"pass_through_all_models": true}}),
        &env(&[]),
    );
    assert_eq!(
        err.field.as_deref(),
        Some("router_general_settings.pass_through_all_models")
    );
    assert!(
        err.message.contains("wildcard deployment"),
        "{}",
        err.message
    );
    let err = config_error(
        json!({"model_list": [], "router_general_settings": {"async_only": true}}),
        &env(&[]),
    );
    assert_eq!(
        err.field.as_deref(),
        Some("router_general_settings.async_only")
    );
}
