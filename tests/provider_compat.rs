//! The OpenAI-compatible presets table (`compat`): every row's URL, auth and one or more
//! quirks, and replies parsed from payloads as the providers send them
//! (tests/fixtures/compat).
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::result_large_err
)]

mod common;

use llmux::config::Deployment;
use llmux::error::{ErrorKind, LlmError};
use llmux::ports::{HttpRequest, HttpResponse};
use llmux::providers::{self, compat, Provider, RequestContext};
use llmux::types::Endpoint;
use serde_json::{json, Map, Value};

const KEY: &str = "sk-compat-0123456789abcdef";
const CTX: RequestContext = RequestContext {
    timeout_ms: 12_000,
    now_ms: 1_700_000_000_000.0,
    bearer_token: None,
    stream: false,
    entropy: 0,
};

fn fixture_text(name: &str) -> String {
    common::fixture_text("compat", name)
}

fn fixture(name: &str) -> Value {
    common::fixture("compat", name)
}

fn parse_deployment(params: Value) -> Result<Deployment, LlmError> {
    Deployment::parse(
        &json!({"model_name": "group", "litellm_params": params}),
        "model_list[0]",
    )
}

fn deployment(params: Value) -> Deployment {
    parse_deployment(params).unwrap_or_else(|e| panic!("{e}"))
}

fn provider(d: &Deployment) -> &'static dyn Provider {
    providers::lookup(&d.provider).unwrap_or_else(|| panic!("{} is not registered", d.provider))
}

fn build(d: &Deployment, endpoint: Endpoint, body: Value) -> HttpRequest {
    let body: Map<String, Value> = body.as_object().unwrap().clone();
    provider(d).build_request(d, endpoint, body, &CTX).unwrap()
}

fn chat(d: &Deployment, body: Value) -> Value {
    sent_body(&build(d, Endpoint::ChatCompletion, body))
}

fn sent_body(r: &HttpRequest) -> Value {
    common::sent_json(r)
}

fn reply(status: u16, body: &str) -> HttpResponse {
    common::json_reply(status, body)
}

fn parse(d: &Deployment, endpoint: Endpoint, status: u16, name: &str) -> Result<Value, LlmError> {
    provider(d).parse_response(d, endpoint, &reply(status, &fixture_text(name)))
}

fn hi() -> Value {
    json!([{"role": "user", "content": "hi"}])
}

/// (provider, litellm_params.model, api_base, endpoint, URL, model sent upstream)
type Row = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Endpoint,
    &'static str,
    &'static str,
);

const TABLE: &[Row] = &[
    (
        "mistral",
        "mistral/mistral-small-latest",
        None,
        Endpoint::ChatCompletion,
        "https://api.mistral.ai/v1/chat/completions",
        "mistral-small-latest",
    ),
    (
        "groq",
        "groq/llama-3.1-8b-instant",
        None,
        Endpoint::ChatCompletion,
        "https://api.groq.com/openai/v1/chat/completions",
        "llama-3.1-8b-instant",
    ),
    (
        "deepseek",
        "deepseek/deepseek-chat",
        None,
        Endpoint::ChatCompletion,
        "https://api.deepseek.com/beta/chat/completions",
        "deepseek-chat",
    ),
    (
        "together_ai",
        "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo",
        None,
        Endpoint::ChatCompletion,
        "https://api.together.xyz/v1/chat/completions",
        "meta-llama/Llama-3.3-70B-Instruct-Turbo",
    ),
    (
        "fireworks_ai",
        "fireworks_ai/llama-v3p1-8b-instruct",
        None,
        Endpoint::ChatCompletion,
        "https://api.fireworks.ai/inference/v1/chat/completions",
        "accounts/fireworks/models/llama-v3p1-8b-instruct",
    ),
    (
        "openrouter",
        "openrouter/anthropic/claude-3.5-sonnet",
        None,
        Endpoint::ChatCompletion,
        "https://openrouter.ai/api/v1/chat/completions",
        "anthropic/claude-3.5-sonnet",
    ),
    (
        "xai",
        "xai/grok-3-mini",
        None,
        Endpoint::ChatCompletion,
        "https://api.x.ai/v1/chat/completions",
        "grok-3-mini",
    ),
    (
        "perplexity",
        "perplexity/sonar",
        None,
        Endpoint::ChatCompletion,
        "https://api.perplexity.ai/chat/completions",
        "sonar",
    ),
    (
        "deepinfra",
        "deepinfra/meta-llama/Meta-Llama-3.1-8B-Instruct",
        None,
        Endpoint::ChatCompletion,
        "https://api.deepinfra.com/v1/openai/chat/completions",
        "meta-llama/Meta-Llama-3.1-8B-Instruct",
    ),
    (
        "cerebras",
        "cerebras/llama3.1-8b",
        None,
        Endpoint::ChatCompletion,
        "https://api.cerebras.ai/v1/chat/completions",
        "llama3.1-8b",
    ),
    (
        "ollama",
        "ollama/llama3.2",
        None,
        Endpoint::ChatCompletion,
        "http://localhost:11434/v1/chat/completions",
        "llama3.2",
    ),
    (
        "ollama_chat",
        "ollama_chat/llama3.2:3b",
        None,
        Endpoint::ChatCompletion,
        "http://localhost:11434/v1/chat/completions",
        "llama3.2:3b",
    ),
    (
        "hosted_vllm",
        "hosted_vllm/Qwen/Qwen2.5-7B-Instruct",
        Some("http://vllm.internal:8000/v1"),
        Endpoint::ChatCompletion,
        "http://vllm.internal:8000/v1/chat/completions",
        "Qwen/Qwen2.5-7B-Instruct",
    ),
    (
        "lm_studio",
        "lm_studio/qwen2.5-7b-instruct",
        None,
        Endpoint::ChatCompletion,
        "http://localhost:1234/v1/chat/completions",
        "qwen2.5-7b-instruct",
    ),
    (
        "cloudflare",
        "cloudflare/@cf/meta/llama-3.1-8b-instruct",
        Some("https://api.cloudflare.com/client/v4/accounts/0123abcd"),
        Endpoint::ChatCompletion,
        "https://api.cloudflare.com/client/v4/accounts/0123abcd/ai/v1/chat/completions",
        "@cf/meta/llama-3.1-8b-instruct",
    ),
    (
        "voyage",
        "voyage/voyage-3.5",
        None,
        Endpoint::Embedding,
        "https://api.voyageai.com/v1/embeddings",
        "voyage-3.5",
    ),
    (
        "jina_ai",
        "jina_ai/jina-embeddings-v3",
        None,
        Endpoint::Embedding,
        "https://api.jina.ai/v1/embeddings",
        "jina-embeddings-v3",
    ),
    (
        "infinity",
        "infinity/BAAI/bge-small-en-v1.5",
        Some("http://infinity.internal:7997"),
        Endpoint::Embedding,
        "http://infinity.internal:7997/embeddings",
        "BAAI/bge-small-en-v1.5",
    ),
    // TEI serves rerank only, and its body names no model ("" below).
    (
        "huggingface",
        "huggingface/BAAI/bge-reranker-base",
        Some("http://tei.internal:8080"),
        Endpoint::Rerank,
        "http://tei.internal:8080/rerank",
        "",
    ),
];

#[test]
fn the_test_table_covers_every_preset() {
    let mut presets: Vec<&str> = compat::PRESETS.iter().map(|p| p.name).collect();
    let mut tested: Vec<&str> = TABLE.iter().map(|row| row.0).collect();
    presets.sort_unstable();
    tested.sort_unstable();
    assert_eq!(presets, tested);
}

#[test]
fn every_preset_posts_to_its_default_url_with_bearer_auth_and_the_upstream_model() {
    for (name, model, base, endpoint, url, upstream) in TABLE {
        let mut params = json!({"model": model, "api_key": KEY});
        if let Some(base) = base {
            params["api_base"] = json!(base);
        }
        let d = deployment(params);
        assert_eq!(d.provider, *name);
        let p = provider(&d);
        assert_eq!(p.name(), *name);
        assert!(p.supports(*endpoint), "{name}");
        let body = match endpoint {
            Endpoint::Embedding => json!({"model": "group", "input": ["a"]}),
            Endpoint::Rerank => json!({"model": "group", "query": "q", "documents": ["a"]}),
            _ => json!({"model": "group", "messages": hi()}),
        };
        let r = build(&d, *endpoint, body);
        assert_eq!(r.method, "POST", "{name}");
        assert_eq!(r.url, *url, "{name}");
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {KEY}").as_str()),
            "{name}"
        );
        assert_eq!(r.header("content-type"), Some("application/json"), "{name}");
        assert_eq!(r.timeout_ms, Some(12_000), "{name}");
        if upstream.is_empty() {
            assert_eq!(sent_body(&r).get("model"), None, "{name}");
        } else {
            assert_eq!(sent_body(&r)["model"], json!(upstream), "{name}");
        }
    }
}

#[test]
fn presets_serve_only_their_endpoints() {
    let serves = |name: &str| {
        let p = compat::provider(name).unwrap();
        (
            p.supports(Endpoint::ChatCompletion),
            p.supports(Endpoint::TextCompletion),
            p.supports(Endpoint::Embedding),
        )
    };
    assert_eq!(serves("mistral"), (true, false, true));
    assert_eq!(serves("groq"), (true, false, false));
    assert_eq!(serves("huggingface"), (false, false, false));
    assert_eq!(serves("deepseek"), (true, true, false));
    assert_eq!(serves("together_ai"), (true, true, true));
    assert_eq!(serves("fireworks_ai"), (true, true, true));
    assert_eq!(serves("openrouter"), (true, true, false));
    assert_eq!(serves("xai"), (true, false, false));
    assert_eq!(serves("perplexity"), (true, false, false));
    assert_eq!(serves("deepinfra"), (true, true, true));
    assert_eq!(serves("cerebras"), (true, true, false));
    assert_eq!(serves("ollama"), (true, true, true));
    assert_eq!(serves("hosted_vllm"), (true, true, true));
    assert_eq!(serves("lm_studio"), (true, true, true));
    assert_eq!(serves("cloudflare"), (true, false, true));
    assert_eq!(serves("voyage"), (false, false, true));
}

#[test]
fn cloud_presets_without_an_api_key_are_config_errors_naming_litellms_variable() {
    let err = parse_deployment(json!({"model": "groq/llama-3.1-8b-instant"})).unwrap_err();
    assert_eq!(err.kind, ErrorKind::ConfigError);
    assert_eq!(err.field.as_deref(), Some("model_list[0].litellm_params"));
    assert!(err.message.contains("GROQ_API_KEY"), "{}", err.message);
    // An Authorization header is a key too.
    let d = deployment(json!({
        "model": "groq/llama-3.1-8b-instant",
        "extra_headers": {"Authorization": "Bearer from-header"}
    }));
    let r = build(&d, Endpoint::ChatCompletion, json!({"messages": hi()}));
    assert_eq!(r.header("authorization"), Some("Bearer from-header"));
}

#[test]
fn local_presets_need_no_key_and_send_no_authorization() {
    for model in ["ollama/llama3.2", "lm_studio/qwen2.5-7b-instruct"] {
        let d = deployment(json!({"model": model}));
        let r = build(&d, Endpoint::ChatCompletion, json!({"messages": hi()}));
        assert_eq!(r.header("authorization"), None, "{model}");
    }
    let d = deployment(json!({"model": "hosted_vllm/m", "api_base": "http://10.0.0.5:8000/v1"}));
    let r = build(&d, Endpoint::ChatCompletion, json!({"messages": hi()}));
    assert_eq!(r.header("authorization"), None);
}

#[test]
fn presets_without_a_default_base_require_api_base() {
    let err =
        parse_deployment(json!({"model": "hosted_vllm/Qwen/Qwen2.5-7B-Instruct"})).unwrap_err();
    assert_eq!(err.kind, ErrorKind::ConfigError);
    assert_eq!(err.field.as_deref(), Some("model_list[0].litellm_params"));
    assert!(err.message.contains("api_base"), "{}", err.message);
    let err = parse_deployment(
        json!({"model": "cloudflare/@cf/meta/llama-3.1-8b-instruct", "api_key": KEY}),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::ConfigError);
    assert!(
        err.message.contains("/accounts/<account_id>"),
        "{}",
        err.message
    );
}

#[test]
fn mistral_renames_max_completion_tokens_and_seed_maps_tool_choice_and_cleans_messages() {
    let d = deployment(json!({"model": "mistral/mistral-small-latest", "api_key": KEY}));
    let body = chat(
        &d,
        json!({
            "model": "group",
            "messages": [
                {"role": "user", "content": "weather?", "name": "alice"},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "name": "get_weather", "content": "sunny"}
            ],
            "max_completion_tokens": 64,
            "seed": 7,
            "tool_choice": "required",
            "n": 2,
            "frequency_penalty": 0.5,
            "logit_bias": {"1": 2},
            "safe_prompt": true
        }),
    );
    assert_eq!(
        body,
        json!({
            "model": "mistral-small-latest",
            "messages": [
                {"role": "user", "content": "weather?"},
                {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "name": "get_weather", "content": "sunny"}
            ],
            "max_tokens": 64,
            "random_seed": 7,
            "tool_choice": "any",
            "safe_prompt": true
        })
    );
    let named = chat(
        &d,
        json!({"messages": hi(), "tool_choice": {"type": "function", "function": {"name": "f"}}}),
    );
    assert_eq!(named["tool_choice"], "any");
}

#[test]
fn mistral_base_gets_v1_and_embeddings_rename_dimensions() {
    let d = deployment(
        json!({"model": "mistral/mistral-embed", "api_key": KEY, "api_base": "https://mistral.proxy.example"}),
    );
    let r = build(
        &d,
        Endpoint::Embedding,
        json!({"input": ["a", "b"], "dimensions": 512, "user": "u1", "encoding_format": "float"}),
    );
    assert_eq!(r.url, "https://mistral.proxy.example/v1/embeddings");
    assert_eq!(
        sent_body(&r),
        json!({"model": "mistral-embed", "input": ["a", "b"], "output_dimension": 512, "encoding_format": "float"})
    );
}

#[test]
fn mistral_thinking_blocks_become_content_and_reasoning_content() {
    let d = deployment(json!({"model": "mistral/magistral-medium-latest", "api_key": KEY}));
    let got = parse(
        &d,
        Endpoint::ChatCompletion,
        200,
        "mistral_chat_thinking_response.json",
    )
    .unwrap();
    let message = &got["choices"][0]["message"];
    assert_eq!(message["content"], "2 + 2 = 4.");
    assert_eq!(
        message["reasoning_content"],
        "The user asks for 2+2. That is 4."
    );
    assert_eq!(got["usage"]["total_tokens"], 130);
}

#[test]
fn mistral_errors_use_its_message_and_detect_context_overflow() {
    let d = deployment(json!({"model": "mistral/mistral-small-latest", "api_key": KEY}));
    let err = parse(
        &d,
        Endpoint::ChatCompletion,
        400,
        "mistral_error_context_length.json",
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::ContextWindowExceededError);
    assert_eq!(err.status, 400);
    assert!(
        err.message.contains("too large for model"),
        "{}",
        err.message
    );
    let err = parse(&d, Endpoint::ChatCompletion, 401, "mistral_error_401.json").unwrap_err();
    assert_eq!(err.kind, ErrorKind::AuthenticationError);
    assert_eq!(err.message, "Unauthorized");
}

#[test]
fn groq_drops_logprobs_logit_bias_and_message_names() {
    let d = deployment(json!({"model": "groq/llama-3.1-8b-instant", "api_key": KEY}));
    let body = chat(
        &d,
        json!({
            "messages": [
                {"role": "user", "content": "hi", "name": "alice"},
                {"role": "assistant", "content": "hello", "function_call": null, "tool_calls": null}
            ],
            "logprobs": true,
            "top_logprobs": 2,
            "logit_bias": {"1": 1},
            "max_completion_tokens": 10,
            "temperature": 0
        }),
    );
    assert_eq!(
        body,
        json!({
            "model": "llama-3.1-8b-instant",
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"}
            ],
            "max_completion_tokens": 10,
            "temperature": 0
        })
    );
}

#[test]
fn groq_replies_pass_through_and_errors_classify() {
    let d = deployment(json!({"model": "groq/llama-3.1-8b-instant", "api_key": KEY}));
    let got = parse(&d, Endpoint::ChatCompletion, 200, "groq_chat_response.json").unwrap();
    assert_eq!(got, fixture("groq_chat_response.json"));
    let limited = HttpResponse {
        status: 429,
        headers: vec![("retry-after".into(), "4".into())],
        body: fixture_text("groq_error_429.json").into_bytes(),
    };
    let err = provider(&d)
        .parse_response(&d, Endpoint::ChatCompletion, &limited)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::RateLimitError);
    assert_eq!(err.retry_after_ms, Some(4000));
    assert!(
        err.message.starts_with("Rate limit reached for model"),
        "{}",
        err.message
    );
    let err = parse(
        &d,
        Endpoint::ChatCompletion,
        400,
        "groq_error_context_length.json",
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::ContextWindowExceededError);
}

#[test]
fn deepseek_sends_text_only_content_lists_as_strings() {
    let d = deployment(json!({"model": "deepseek/deepseek-chat", "api_key": KEY}));
    let body = chat(
        &d,
        json!({"messages": [
            {"role": "system", "content": [{"type": "text", "text": "Be brief. "}, {"type": "text", "text": "Be kind."}]},
            {"role": "user", "content": [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}
        ]}),
    );
    assert_eq!(body["messages"][0]["content"], "Be brief. Be kind.");
    assert!(body["messages"][1]["content"].is_array());
    let r = build(
        &d,
        Endpoint::TextCompletion,
        json!({"prompt": "def fib(", "suffix": "return a"}),
    );
    assert_eq!(r.url, "https://api.deepseek.com/beta/completions");
}

#[test]
fn together_drops_a_text_response_format_and_detects_context_overflow() {
    let d = deployment(
        json!({"model": "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo", "api_key": KEY}),
    );
    let body = chat(
        &d,
        json!({"messages": hi(), "response_format": {"type": "text"}}),
    );
    assert!(body.get("response_format").is_none());
    let body = chat(
        &d,
        json!({"messages": hi(), "response_format": {"type": "json_object"}}),
    );
    assert_eq!(body["response_format"], json!({"type": "json_object"}));
    let err = parse(
        &d,
        Endpoint::ChatCompletion,
        422,
        "together_error_context_length.json",
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::ContextWindowExceededError);
    assert_eq!(err.status, 422);
}

#[test]
fn fireworks_prefixes_bare_models_and_maps_tool_choice_and_json_schema() {
    let d =
        deployment(json!({"model": "fireworks_ai/accounts/my-team/models/ft-1", "api_key": KEY}));
    assert_eq!(
        chat(&d, json!({"messages": hi()}))["model"],
        "accounts/my-team/models/ft-1"
    );
    let d = deployment(json!({"model": "fireworks_ai/llama-v3p1-8b-instruct", "api_key": KEY}));
    let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}});
    let body = chat(
        &d,
        json!({
            "messages": hi(),
            "tool_choice": "required",
            "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": schema.clone()}},
            "max_completion_tokens": 5,
            "logit_bias": {"1": 1},
            "seed": 3,
            "prompt_truncate_length": 100
        }),
    );
    assert_eq!(body["tool_choice"], "any");
    assert_eq!(
        body["response_format"],
        json!({"type": "json_object", "schema": schema})
    );
    assert_eq!(body["max_tokens"], 5);
    assert!(body.get("logit_bias").is_none() && body.get("seed").is_none());
    assert_eq!(body["prompt_truncate_length"], 100);
    let named = chat(
        &d,
        json!({"messages": hi(), "tool_choice": {"type": "function", "function": {"name": "f"}}}),
    );
    assert_eq!(named["tool_choice"]["function"]["name"], "f");
    let r = build(&d, Endpoint::Embedding, json!({"input": "x"}));
    assert_eq!(r.url, "https://api.fireworks.ai/inference/v1/embeddings");
    assert_eq!(
        sent_body(&r)["model"],
        "accounts/fireworks/models/llama-v3p1-8b-instruct"
    );
}

#[test]
fn openrouter_asks_for_usage_sends_attribution_headers_and_maps_errors_in_200_replies() {
    let d = deployment(json!({
        "model": "openrouter/anthropic/claude-3.5-sonnet",
        "api_key": KEY,
        "extra_headers": {"HTTP-Referer": "https://app.example", "X-Title": "Example App"}
    }));
    let r = build(&d, Endpoint::ChatCompletion, json!({"messages": hi()}));
    assert_eq!(sent_body(&r)["usage"], json!({"include": true}));
    assert_eq!(r.header("http-referer"), Some("https://app.example"));
    assert_eq!(r.header("x-title"), Some("Example App"));
    let body = chat(&d, json!({"messages": hi(), "usage": {"include": false}}));
    assert_eq!(body["usage"], json!({"include": false}));
    let err = parse(
        &d,
        Endpoint::ChatCompletion,
        200,
        "openrouter_error_in_200.json",
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::RateLimitError);
    assert_eq!(err.status, 429);
    assert!(
        err.message.contains("free-models-per-min"),
        "{}",
        err.message
    );
}

#[test]
fn xai_strips_strict_and_names_and_fixes_tool_call_replies() {
    let d = deployment(json!({"model": "xai/grok-3-mini", "api_key": KEY}));
    let body = chat(
        &d,
        json!({
            "messages": [{"role": "user", "content": "weather?", "name": "alice"}],
            "tools": [{"type": "function", "function": {"name": "get_weather", "strict": true, "parameters": {"type": "object", "properties": {}}}}],
            "max_completion_tokens": 9,
            "web_search_options": {}
        }),
    );
    assert_eq!(
        body,
        json!({
            "model": "grok-3-mini",
            "messages": [{"role": "user", "content": "weather?"}],
            "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}}],
            "max_tokens": 9
        })
    );
    let got = parse(
        &d,
        Endpoint::ChatCompletion,
        200,
        "xai_tool_calls_response.json",
    )
    .unwrap();
    assert_eq!(got["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(got["usage"]["completion_tokens"], 103);
    assert_eq!(got["usage"]["total_tokens"], 135);
}

#[test]
fn perplexity_keeps_only_the_params_it_knows_plus_its_own() {
    let d = deployment(json!({"model": "perplexity/sonar", "api_key": KEY}));
    let body = chat(
        &d,
        json!({
            "messages": hi(),
            "tools": [{"type": "function", "function": {"name": "f"}}],
            "tool_choice": "auto",
            "stop": ["x"],
            "n": 1,
            "seed": 1,
            "max_completion_tokens": 20,
            "web_search_options": {"search_context_size": "low"},
            "search_domain_filter": ["example.com"]
        }),
    );
    assert_eq!(
        body,
        json!({
            "model": "sonar",
            "messages": hi(),
            "max_tokens": 20,
            "web_search_options": {"search_context_size": "low"},
            "search_domain_filter": ["example.com"]
        })
    );
}

#[test]
fn deepinfra_keeps_only_auto_or_none_tool_choice() {
    let d = deployment(
        json!({"model": "deepinfra/meta-llama/Meta-Llama-3.1-8B-Instruct", "api_key": KEY}),
    );
    let body = chat(
        &d,
        json!({"messages": hi(), "tool_choice": "required", "seed": 1}),
    );
    assert!(body.get("tool_choice").is_none() && body.get("seed").is_none());
    let body = chat(&d, json!({"messages": hi(), "tool_choice": "none"}));
    assert_eq!(body["tool_choice"], "none");
}

#[test]
fn cerebras_drops_penalties_and_renames_max_completion_tokens() {
    let d = deployment(json!({"model": "cerebras/llama3.1-8b", "api_key": KEY}));
    let body = chat(
        &d,
        json!({"messages": hi(), "frequency_penalty": 1, "presence_penalty": 1, "max_completion_tokens": 3, "seed": 5}),
    );
    assert_eq!(
        body,
        json!({"model": "llama3.1-8b", "messages": hi(), "max_tokens": 3, "seed": 5})
    );
}

#[test]
fn ollama_uses_the_openai_compatible_v1_api_of_the_given_host() {
    for (base, url) in [
        (
            "http://gpu-box:11434",
            "http://gpu-box:11434/v1/chat/completions",
        ),
        (
            "http://gpu-box:11434/",
            "http://gpu-box:11434/v1/chat/completions",
        ),
        (
            "http://gpu-box:11434/v1",
            "http://gpu-box:11434/v1/chat/completions",
        ),
    ] {
        let d = deployment(json!({"model": "ollama_chat/llama3.2", "api_base": base}));
        assert_eq!(
            build(&d, Endpoint::ChatCompletion, json!({"messages": hi()})).url,
            url
        );
    }
    let d = deployment(json!({"model": "ollama/nomic-embed-text"}));
    let r = build(&d, Endpoint::Embedding, json!({"input": "x"}));
    assert_eq!(r.url, "http://localhost:11434/v1/embeddings");
}

#[test]
fn hosted_vllm_strips_strict_and_additional_properties_from_tool_schemas() {
    let d = deployment(json!({"model": "hosted_vllm/m", "api_base": "http://vllm:8000/v1"}));
    let body = chat(
        &d,
        json!({
            "messages": hi(),
            "tools": [{"type": "function", "function": {
                "name": "f",
                "strict": true,
                "parameters": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "strict": {"type": "boolean"},
                        "opts": {"type": "object", "additionalProperties": false, "properties": {}}
                    }
                }
            }}]
        }),
    );
    assert_eq!(
        body["tools"][0]["function"],
        json!({
            "name": "f",
            "parameters": {
                "type": "object",
                "properties": {
                    "strict": {"type": "boolean"},
                    "opts": {"type": "object", "properties": {}}
                }
            }
        })
    );
}

#[test]
fn lm_studio_serves_embeddings_on_its_local_default() {
    let d = deployment(json!({"model": "lm_studio/text-embedding-nomic-embed-text-v1.5"}));
    let r = build(&d, Endpoint::Embedding, json!({"input": ["a"]}));
    assert_eq!(r.url, "http://localhost:1234/v1/embeddings");
}

#[test]
fn cloudflare_turns_a_litellm_run_base_into_the_v1_api_and_reads_its_error_list() {
    let d = deployment(json!({
        "model": "cloudflare/@cf/baai/bge-base-en-v1.5",
        "api_key": KEY,
        "api_base": "https://api.cloudflare.com/client/v4/accounts/0123abcd/ai/run/"
    }));
    let r = build(&d, Endpoint::Embedding, json!({"input": "x"}));
    assert_eq!(
        r.url,
        "https://api.cloudflare.com/client/v4/accounts/0123abcd/ai/v1/embeddings"
    );
    let err = parse(&d, Endpoint::Embedding, 401, "cloudflare_error_401.json").unwrap_err();
    assert_eq!(err.kind, ErrorKind::AuthenticationError);
    assert_eq!(err.message, "Authentication error (code: 10000)");
}

#[test]
fn voyage_renames_dimensions_drops_float_encoding_and_fills_prompt_tokens() {
    let d = deployment(json!({"model": "voyage/voyage-3.5", "api_key": KEY}));
    let r = build(
        &d,
        Endpoint::Embedding,
        json!({"model": "group", "input": ["a", "b"], "dimensions": 256, "encoding_format": "float", "user": "u", "input_type": "query"}),
    );
    assert_eq!(
        sent_body(&r),
        json!({"model": "voyage-3.5", "input": ["a", "b"], "output_dimension": 256, "input_type": "query"})
    );
    let r = build(
        &d,
        Endpoint::Embedding,
        json!({"input": "a", "encoding_format": "base64"}),
    );
    assert_eq!(sent_body(&r)["encoding_format"], "base64");
    let got = parse(
        &d,
        Endpoint::Embedding,
        200,
        "voyage_embeddings_response.json",
    )
    .unwrap();
    let mut want = fixture("voyage_embeddings_response.json");
    want["usage"] = json!({"total_tokens": 10, "prompt_tokens": 10});
    assert_eq!(got, want);
    let err = parse(&d, Endpoint::Embedding, 401, "voyage_error_401.json").unwrap_err();
    assert_eq!(err.kind, ErrorKind::AuthenticationError);
    assert_eq!(err.message, "Provided API key is invalid.");
}

#[test]
fn malformed_success_replies_are_internal_server_errors() {
    let d = deployment(json!({"model": "groq/llama-3.1-8b-instant", "api_key": KEY}));
    for body in ["", "<html>oops</html>", "{\"id\": \"x\"}"] {
        let err = provider(&d)
            .parse_response(&d, Endpoint::ChatCompletion, &reply(200, body))
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InternalServerError, "{body:?}");
    }
}

#[test]
fn organization_is_not_sent_to_compatible_providers() {
    let d = deployment(json!({"model": "together_ai/m", "api_key": KEY, "organization": "org-1"}));
    let r = build(&d, Endpoint::ChatCompletion, json!({"messages": hi()}));
    assert_eq!(r.header("openai-organization"), None);
}
