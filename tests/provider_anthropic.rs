//! The Anthropic provider on real payloads: OpenAI requests become the Messages API bodies in
//! `tests/fixtures/anthropic/requests`, Anthropic replies become the OpenAI responses in
//! `tests/fixtures/anthropic/responses`, and Anthropic error bodies become the right error kind.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::result_large_err
)]

mod common;

use llmux::config::Deployment;
use llmux::error::{ErrorKind, LlmError};
use llmux::ports::{HttpRequest, HttpResponse};
use llmux::providers::{self, Provider, RequestContext};
use llmux::types::Endpoint;
use serde_json::{json, Map, Value};

const KEY: &str = "sk-ant-api03-test-key";
const MODEL: &str = "claude-haiku-4-5-20251001";

fn fixture(path: &str) -> Value {
    common::fixture("anthropic", path)
}

fn provider() -> &'static dyn Provider {
    providers::lookup("anthropic").expect("anthropic is registered")
}

fn deployment(extra: Value) -> Deployment {
    let mut params = json!({ "model": format!("anthropic/{MODEL}"), "api_key": KEY });
    for (k, v) in extra.as_object().unwrap() {
        params[k] = v.clone();
    }
    Deployment::parse(
        &json!({ "model_name": "claude", "litellm_params": params }),
        "model_list[0]",
    )
    .unwrap()
}

fn ctx() -> RequestContext {
    RequestContext {
        timeout_ms: 30_000,
        now_ms: 1_700_000_000_000.0,
        bearer_token: None,
        stream: false,
        entropy: 0,
    }
}

fn build(d: &Deployment, body: Value) -> Result<HttpRequest, LlmError> {
    let Value::Object(map) = body else {
        panic!("request fixture must be an object")
    };
    provider().build_request(d, Endpoint::ChatCompletion, map, &ctx())
}

fn body_of(request: &HttpRequest) -> Value {
    common::sent_json(request)
}

fn translated(body: Value) -> Result<Value, LlmError> {
    build(&deployment(json!({})), body).map(|r| body_of(&r))
}

fn reply(status: u16, headers: &[(&str, &str)], body: &Value) -> HttpResponse {
    common::reply(status, headers, serde_json::to_vec(body).unwrap())
}

fn parse(response: &HttpResponse) -> Result<Value, LlmError> {
    provider().parse_response(&deployment(json!({})), Endpoint::ChatCompletion, response)
}

fn assert_translates(case: &str) {
    let got = translated(fixture(&format!("requests/{case}.openai.json"))).unwrap();
    let want = fixture(&format!("requests/{case}.anthropic.json"));
    assert_eq!(
        got,
        want,
        "{case}: got {}",
        serde_json::to_string_pretty(&got).unwrap()
    );
}

fn assert_parses(case: &str) {
    let upstream = fixture(&format!("responses/{case}.anthropic.json"));
    let got = parse(&reply(200, &[], &upstream)).unwrap();
    let want = fixture(&format!("responses/{case}.openai.json"));
    assert_eq!(
        got,
        want,
        "{case}: got {}",
        serde_json::to_string_pretty(&got).unwrap()
    );
}

fn base_request() -> Map<String, Value> {
    json!({ "model": "claude", "messages": [{ "role": "user", "content": "Hi" }] })
        .as_object()
        .unwrap()
        .clone()
}

fn with(extra: Value) -> Value {
    let mut body = base_request();
    for (k, v) in extra.as_object().unwrap() {
        body.insert(k.clone(), v.clone());
    }
    Value::Object(body)
}

// ---------------------------------------------------------------- request: URL and headers

#[test]
fn posts_to_the_messages_endpoint_with_api_key_and_version_headers() {
    let request = build(
        &deployment(json!({})),
        fixture("requests/basic.openai.json"),
    )
    .unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(request.url, "https://api.anthropic.com/v1/messages");
    assert_eq!(request.timeout_ms, Some(30_000));
    assert_eq!(request.header("x-api-key"), Some(KEY));
    assert!(request.header("x-api-key").unwrap().starts_with("sk-ant-"));
    assert_eq!(request.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("accept"), Some("application/json"));
    assert_eq!(request.header("authorization"), None, "no Bearer auth");
    let names: Vec<&str> = request.headers.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names.len(), 4, "only the expected headers: {names:?}");
}

#[test]
fn api_base_gets_v1_messages_appended_once() {
    let d = deployment(json!({ "api_base": "http://127.0.0.1:9/anthropic/" }));
    let request = build(&d, with(json!({}))).unwrap();
    assert_eq!(request.url, "http://127.0.0.1:9/anthropic/v1/messages");
    let d = deployment(json!({ "api_base": "https://gateway.example/v1/messages" }));
    let request = build(&d, with(json!({}))).unwrap();
    assert_eq!(request.url, "https://gateway.example/v1/messages");
}

#[test]
fn deployment_headers_are_added_and_replace_defaults_of_the_same_name() {
    let d = deployment(json!({ "headers": {
        "anthropic-beta": "prompt-caching-2024-07-31",
        "Anthropic-Version": "2024-01-01",
    }}));
    let request = build(&d, with(json!({}))).unwrap();
    assert_eq!(
        request.header("anthropic-beta"),
        Some("prompt-caching-2024-07-31")
    );
    assert_eq!(request.header("anthropic-version"), Some("2024-01-01"));
    let versions = request
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("anthropic-version"))
        .count();
    assert_eq!(versions, 1);
}

#[test]
fn embeddings_and_text_completions_are_not_served() {
    assert!(provider().supports(Endpoint::ChatCompletion));
    assert!(!provider().supports(Endpoint::Embedding));
    assert!(!provider().supports(Endpoint::TextCompletion));
}

// ---------------------------------------------------------------- request: bodies

#[test]
fn system_message_sampling_params_stop_and_user_translate_and_openai_only_params_are_dropped() {
    assert_translates("basic");
}

#[test]
fn tool_calls_and_tool_results_become_tool_use_and_one_merged_user_turn() {
    assert_translates("tools");
}

#[test]
fn images_become_url_and_base64_sources_and_consecutive_user_turns_merge() {
    assert_translates("vision");
}

#[test]
fn json_schema_response_format_becomes_a_forced_json_tool() {
    assert_translates("json_schema");
}

#[test]
fn max_tokens_defaults_to_the_models_output_limit_or_4096() {
    assert_eq!(translated(with(json!({}))).unwrap()["max_tokens"], 64000);
    let d = Deployment::parse(
        &json!({ "model_name": "claude", "litellm_params": {
            "model": "anthropic/claude-unreleased-model", "api_key": KEY } }),
        "model_list[0]",
    )
    .unwrap();
    assert_eq!(
        body_of(&build(&d, with(json!({}))).unwrap())["max_tokens"],
        4096
    );
}

#[test]
fn max_completion_tokens_wins_over_max_tokens() {
    let body = translated(with(
        json!({ "max_tokens": 10, "max_completion_tokens": 20 }),
    ))
    .unwrap();
    assert_eq!(body["max_tokens"], 20);
}

#[test]
fn tool_choice_values_map_to_anthropic_tool_choice() {
    let tools = json!([{ "type": "function", "function": { "name": "f" } }]);
    let cases = [
        (json!("auto"), json!({ "type": "auto" })),
        (json!("required"), json!({ "type": "any" })),
        (json!("none"), json!({ "type": "none" })),
        (
            json!({ "type": "function", "function": { "name": "f" } }),
            json!({ "type": "tool", "name": "f" }),
        ),
    ];
    for (choice, want) in cases {
        let body = translated(with(json!({ "tools": tools, "tool_choice": choice }))).unwrap();
        assert_eq!(body["tool_choice"], want, "tool_choice {choice}");
    }
}

#[test]
fn parallel_tool_calls_false_alone_disables_parallel_use_under_auto() {
    let body = translated(with(json!({
        "tools": [{ "type": "function", "function": { "name": "f" } }],
        "parallel_tool_calls": false,
    })))
    .unwrap();
    assert_eq!(
        body["tool_choice"],
        json!({ "type": "auto", "disable_parallel_tool_use": true })
    );
}

#[test]
fn tool_history_without_tools_gets_a_placeholder_tool() {
    let body = translated(json!({
        "model": "claude",
        "messages": [
            { "role": "user", "content": "Weather?" },
            { "role": "assistant", "content": null, "tool_calls": [
                { "id": "toolu_1", "type": "function",
                  "function": { "name": "get_weather", "arguments": "" } } ] },
            { "role": "tool", "tool_call_id": "toolu_1", "content": "sunny" },
        ],
    }))
    .unwrap();
    assert_eq!(body["tools"][0]["name"], "dummy_tool");
    assert_eq!(body["messages"][1]["content"][0]["input"], json!({}));
    assert_eq!(body["messages"][2]["content"][0]["type"], "tool_result");
}

#[test]
fn user_that_looks_like_an_email_is_not_sent_as_metadata() {
    let body = translated(with(json!({ "user": "jane@example.com" }))).unwrap();
    assert!(body.get("metadata").is_none());
    assert!(body.get("user").is_none());
}

#[test]
fn pdf_data_urls_become_document_blocks() {
    let body = translated(
        json!({ "model": "claude", "messages": [{ "role": "user", "content": [
        { "type": "file", "file": { "file_data": "data:application/pdf;base64,JVBERi0xLjQK" } },
        { "type": "image_url", "image_url": { "url": "data:application/pdf;base64,JVBERi0xLjUK" } },
    ] }] }),
    )
    .unwrap();
    let content = &body["messages"][0]["content"];
    for i in 0..2 {
        assert_eq!(content[i]["type"], "document");
        assert_eq!(content[i]["source"]["media_type"], "application/pdf");
        assert_eq!(content[i]["source"]["type"], "base64");
    }
}

#[test]
fn system_messages_anywhere_are_collected_in_order() {
    let body = translated(json!({ "model": "claude", "messages": [
        { "role": "system", "content": [{ "type": "text", "text": "A",
          "cache_control": { "type": "ephemeral" } }] },
        { "role": "user", "content": "Hi" },
        { "role": "system", "content": "B" },
    ] }))
    .unwrap();
    assert_eq!(
        body["system"],
        json!([
            { "type": "text", "text": "A", "cache_control": { "type": "ephemeral" } },
            { "type": "text", "text": "B" },
        ])
    );
    assert_eq!(body["messages"].as_array().unwrap().len(), 1);
}

#[test]
fn n_above_one_is_a_bad_request() {
    let err = translated(with(json!({ "n": 2 }))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequestError);
    assert!(err.message.contains("n=2"), "{}", err.message);
}

#[test]
fn malformed_requests_are_bad_requests_before_any_call() {
    let cases = [
        json!({ "model": "claude", "messages": [{ "role": "system", "content": "only" }] }),
        json!({ "model": "claude", "messages": [{ "role": "assistant", "content": "x",
            "tool_calls": [{ "id": "t", "type": "function",
                "function": { "name": "f", "arguments": "{not json" } }] }] }),
        json!({ "model": "claude", "messages": [{ "role": "user", "content": [
            { "type": "image_url", "image_url": { "url": "ftp://example.com/a.png" } }] }] }),
        json!({ "model": "claude", "messages": [{ "role": "user", "content": [
            { "type": "input_audio", "input_audio": { "data": "AAAA", "format": "wav" } }] }] }),
        json!({ "model": "claude", "messages": [{ "role": "tool", "content": "no id" }] }),
        json!({ "model": "claude" }),
    ];
    for body in cases {
        let err = translated(body.clone()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadRequestError, "{body}");
        assert_eq!(err.status, 400);
    }
}

// ---------------------------------------------------------------- responses

#[test]
fn text_reply_becomes_a_chat_completion() {
    assert_parses("text");
}

#[test]
fn tool_use_blocks_become_tool_calls() {
    assert_parses("tool_use");
}

#[test]
fn cache_reads_and_writes_count_as_prompt_tokens_and_are_reported() {
    assert_parses("cached");
}

#[test]
fn refusal_is_returned_with_finish_reason_content_filter() {
    assert_parses("refusal");
}

#[test]
fn json_tool_input_becomes_the_message_content() {
    assert_parses("json_tool");
}

#[test]
fn thinking_blocks_become_reasoning_content() {
    assert_parses("thinking");
}

#[test]
fn a_2xx_body_that_is_not_a_message_is_an_internal_server_error() {
    let cases = [
        HttpResponse {
            status: 200,
            headers: vec![],
            body: b"{\"id\":\"msg_1\",\"type\":\"mess".to_vec(),
        },
        HttpResponse {
            status: 200,
            headers: vec![],
            body: vec![],
        },
        reply(200, &[], &json!({ "id": "msg_1", "type": "message" })),
    ];
    for response in cases {
        let err = parse(&response).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InternalServerError);
        assert_eq!(err.status, 500);
    }
}

#[test]
fn an_error_object_in_a_2xx_reply_is_classified_by_its_type() {
    let err = parse(&reply(200, &[], &fixture("errors/overloaded_error.json"))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InternalServerError);
    assert_eq!(err.status, 529);
}

// ---------------------------------------------------------------- errors

#[test]
fn anthropic_error_bodies_map_to_litellm_error_kinds() {
    let cases = [
        ("authentication_error", 401, ErrorKind::AuthenticationError),
        ("permission_error", 403, ErrorKind::PermissionDeniedError),
        ("not_found_error", 404, ErrorKind::NotFoundError),
        ("request_too_large", 413, ErrorKind::BadRequestError),
        ("rate_limit_error", 429, ErrorKind::RateLimitError),
        ("api_error", 500, ErrorKind::InternalServerError),
        ("overloaded_error", 529, ErrorKind::InternalServerError),
        (
            "prompt_too_long",
            400,
            ErrorKind::ContextWindowExceededError,
        ),
        (
            "content_filter",
            400,
            ErrorKind::ContentPolicyViolationError,
        ),
        ("invalid_request_error", 400, ErrorKind::BadRequestError),
        ("billing", 400, ErrorKind::BadRequestError),
    ];
    for (name, status, kind) in cases {
        let body = fixture(&format!("errors/{name}.json"));
        let err = parse(&reply(status, &[], &body)).unwrap_err();
        assert_eq!(err.kind, kind, "{name}");
        assert_eq!(err.status, status, "{name}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(err.message.contains(message), "{name}: {}", err.message);
        assert!(
            err.message
                .contains(body["error"]["type"].as_str().unwrap()),
            "{name}: {}",
            err.message
        );
    }
}

#[test]
fn overloaded_529_is_retryable_and_prompt_too_long_is_not() {
    let overloaded = parse(&reply(529, &[], &fixture("errors/overloaded_error.json"))).unwrap_err();
    assert!(overloaded.retryable());
    let too_long = parse(&reply(400, &[], &fixture("errors/prompt_too_long.json"))).unwrap_err();
    assert!(!too_long.retryable());
}

#[test]
fn rate_limit_retry_after_header_is_kept() {
    let err = parse(&reply(
        429,
        &[("retry-after", "7")],
        &fixture("errors/rate_limit_error.json"),
    ))
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::RateLimitError);
    assert_eq!(err.retry_after_ms, Some(7000));
}

#[test]
fn non_json_error_bodies_still_classify_by_status() {
    let response = HttpResponse {
        status: 502,
        headers: vec![],
        body: b"<html><body>Bad Gateway</body></html>".to_vec(),
    };
    let err = parse(&response).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InternalServerError);
    assert!(err.message.contains("HTML"), "{}", err.message);
}
