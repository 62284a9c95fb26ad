//! Cohere v2 (`cohere/`): chat and embed requests built from OpenAI bodies and replies parsed,
//! on payloads as Cohere's API reference documents them (tests/fixtures/cohere).
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
use llmux::providers::{self, Provider, RequestContext};
use llmux::types::Endpoint;
use serde_json::{json, Map, Value};

const KEY: &str = "co-test-0123456789abcdef";
const CTX: RequestContext = RequestContext {
    timeout_ms: 30_000,
    now_ms: 1_700_000_000_000.0,
    bearer_token: None,
    stream: false,
    entropy: 0,
};

fn fixture_text(name: &str) -> String {
    common::fixture_text("cohere", name)
}

fn fixture(name: &str) -> Value {
    common::fixture("cohere", name)
}

fn body_of(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn deployment(params: Value) -> Deployment {
    Deployment::parse(
        &json!({"model_name": "group", "litellm_params": params}),
        "model_list[0]",
    )
    .unwrap()
}

fn chat_deployment() -> Deployment {
    deployment(json!({"model": "cohere/command-r-08-2024", "api_key": KEY}))
}

fn embed_deployment() -> Deployment {
    deployment(json!({"model": "cohere/embed-v4.0", "api_key": KEY}))
}

fn cohere() -> &'static dyn Provider {
    providers::lookup("cohere").expect("cohere is registered")
}

fn build(d: &Deployment, endpoint: Endpoint, body: Value) -> Result<HttpRequest, LlmError> {
    cohere().build_request(d, endpoint, body_of(body), &CTX)
}

fn sent_body(r: &HttpRequest) -> Value {
    common::sent_json(r)
}

fn reply(status: u16, body: &str) -> HttpResponse {
    common::json_reply(status, body)
}

fn parse(d: &Deployment, endpoint: Endpoint, status: u16, name: &str) -> Result<Value, LlmError> {
    cohere().parse_response(d, endpoint, &reply(status, &fixture_text(name)))
}

#[test]
fn cohere_is_registered_for_chat_and_embeddings_only() {
    let p = cohere();
    assert_eq!(p.name(), "cohere");
    assert!(p.supports(Endpoint::ChatCompletion));
    assert!(p.supports(Endpoint::Embedding));
    assert!(!p.supports(Endpoint::TextCompletion));
}

#[test]
fn chat_request_posts_to_v2_chat_with_bearer_key_and_cohere_body() {
    let d = chat_deployment();
    let r = build(
        &d,
        Endpoint::ChatCompletion,
        fixture("chat_request.openai.json"),
    )
    .unwrap();
    assert_eq!(r.method, "POST");
    assert_eq!(r.url, "https://api.cohere.com/v2/chat");
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.timeout_ms, Some(30_000));
    assert_eq!(sent_body(&r), fixture("chat_request.cohere.json"));
}

#[test]
fn api_base_may_be_the_root_the_version_or_the_full_endpoint_url() {
    for base in [
        "https://proxy.example/cohere",
        "https://proxy.example/cohere/",
        "https://proxy.example/cohere/v2",
        "https://proxy.example/cohere/v2/chat",
    ] {
        let d = deployment(json!({"model": "cohere/command-r", "api_key": KEY, "api_base": base}));
        let chat = build(&d, Endpoint::ChatCompletion, json!({"messages": []})).unwrap();
        assert_eq!(chat.url, "https://proxy.example/cohere/v2/chat", "{base}");
        let embed = build(&d, Endpoint::Embedding, json!({"input": "x"})).unwrap();
        assert_eq!(embed.url, "https://proxy.example/cohere/v2/embed", "{base}");
    }
}

#[test]
fn extra_headers_are_sent_after_auth() {
    let d = deployment(json!({
        "model": "cohere/command-r",
        "api_key": KEY,
        "extra_headers": {"X-Client-Name": "llmux-tests"}
    }));
    let r = build(&d, Endpoint::ChatCompletion, json!({"messages": []})).unwrap();
    assert_eq!(r.header("x-client-name"), Some("llmux-tests"));
}

#[test]
fn max_tokens_is_used_when_max_completion_tokens_is_absent() {
    let r = build(
        &chat_deployment(),
        Endpoint::ChatCompletion,
        json!({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 7, "stop": ["a", "b"]}),
    )
    .unwrap();
    let body = sent_body(&r);
    assert_eq!(body["max_tokens"], 7);
    assert_eq!(body["stop_sequences"], json!(["a", "b"]));
}

#[test]
fn tool_choice_maps_none_and_named_functions_and_omits_auto() {
    let cases = [
        (json!("none"), Some("NONE")),
        (json!("auto"), None),
        (
            json!({"type": "function", "function": {"name": "lookup"}}),
            Some("REQUIRED"),
        ),
    ];
    for (choice, want) in cases {
        let r = build(
            &chat_deployment(),
            Endpoint::ChatCompletion,
            json!({"messages": [], "tool_choice": choice.clone()}),
        )
        .unwrap();
        assert_eq!(
            sent_body(&r).get("tool_choice").and_then(Value::as_str),
            want,
            "{choice}"
        );
    }
}

#[test]
fn json_schema_response_format_becomes_json_object_with_json_schema() {
    let schema =
        json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]});
    let r = build(
        &chat_deployment(),
        Endpoint::ChatCompletion,
        json!({"messages": [], "response_format": {"type": "json_schema", "json_schema": {"name": "person", "schema": schema.clone(), "strict": true}}}),
    )
    .unwrap();
    assert_eq!(
        sent_body(&r)["response_format"],
        json!({"type": "json_object", "json_schema": schema})
    );
}

#[test]
fn n_greater_than_one_is_a_bad_request() {
    let err = build(
        &chat_deployment(),
        Endpoint::ChatCompletion,
        json!({"messages": [], "n": 2}),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequestError);
    assert!(err.message.contains("n must be 1"), "{}", err.message);
}

#[test]
fn text_reply_becomes_a_chat_completion_with_token_usage() {
    let got = parse(
        &chat_deployment(),
        Endpoint::ChatCompletion,
        200,
        "chat_response.json",
    )
    .unwrap();
    assert_eq!(got, fixture("chat_response.openai.json"));
}

#[test]
fn tool_call_reply_becomes_tool_calls_with_null_content_and_cached_tokens() {
    let got = parse(
        &chat_deployment(),
        Endpoint::ChatCompletion,
        200,
        "chat_tool_calls_response.json",
    )
    .unwrap();
    assert_eq!(got, fixture("chat_tool_calls_response.openai.json"));
}

#[test]
fn max_tokens_finish_reason_is_length() {
    let got = parse(
        &chat_deployment(),
        Endpoint::ChatCompletion,
        200,
        "chat_max_tokens_response.json",
    )
    .unwrap();
    assert_eq!(got["choices"][0]["finish_reason"], "length");
    assert_eq!(got["choices"][0]["message"]["content"], "The answer is");
}

#[test]
fn embed_request_posts_texts_with_default_input_type_and_float_type() {
    let d = embed_deployment();
    let r = build(
        &d,
        Endpoint::Embedding,
        fixture("embed_request.openai.json"),
    )
    .unwrap();
    assert_eq!(r.url, "https://api.cohere.com/v2/embed");
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(sent_body(&r), fixture("embed_request.cohere.json"));
}

#[test]
fn embed_input_type_and_encoding_format_can_be_chosen() {
    let r = build(
        &embed_deployment(),
        Endpoint::Embedding,
        json!({"input": "query text", "input_type": "search_query", "encoding_format": "base64"}),
    )
    .unwrap();
    let body = sent_body(&r);
    assert_eq!(body["texts"], json!(["query text"]));
    assert_eq!(body["input_type"], "search_query");
    assert_eq!(body["embedding_types"], json!(["base64"]));
}

#[test]
fn embed_data_uri_images_are_sent_as_images() {
    let r = build(
        &embed_deployment(),
        Endpoint::Embedding,
        json!({"input": ["data:image/png;base64,iVBORw0KGgo="]}),
    )
    .unwrap();
    let body = sent_body(&r);
    assert_eq!(
        body["images"],
        json!(["data:image/png;base64,iVBORw0KGgo="])
    );
    assert_eq!(body["input_type"], "image");
    assert!(body.get("texts").is_none());
}

#[test]
fn embed_token_arrays_are_a_bad_request() {
    let err = build(
        &embed_deployment(),
        Endpoint::Embedding,
        json!({"input": [[1, 2, 3]]}),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequestError);
}

#[test]
fn embed_reply_becomes_an_openai_embedding_list() {
    let got = parse(
        &embed_deployment(),
        Endpoint::Embedding,
        200,
        "embed_response.json",
    )
    .unwrap();
    assert_eq!(got, fixture("embed_response.openai.json"));
}

#[test]
fn error_bodies_map_to_kinds_by_status_and_message() {
    let d = chat_deployment();
    let cases = [
        (401, "error_401.json", ErrorKind::AuthenticationError),
        (429, "error_429.json", ErrorKind::RateLimitError),
        (
            400,
            "error_400_too_many_tokens.json",
            ErrorKind::ContextWindowExceededError,
        ),
        (
            498,
            "error_498_blocked.json",
            ErrorKind::ContentPolicyViolationError,
        ),
        (500, "error_500.json", ErrorKind::InternalServerError),
    ];
    for (status, name, kind) in cases {
        let err = parse(&d, Endpoint::ChatCompletion, status, name).unwrap_err();
        assert_eq!(err.kind, kind, "{name}");
        assert_eq!(err.status, status, "{name}");
        assert!(err.from_upstream, "{name}");
        let want = fixture(name)["message"].as_str().unwrap().to_string();
        assert_eq!(err.message, want, "{name}");
    }
}

#[test]
fn retry_after_of_a_429_is_kept() {
    let resp = HttpResponse {
        status: 429,
        headers: vec![("retry-after".into(), "7".into())],
        body: fixture_text("error_429.json").into_bytes(),
    };
    let err = cohere()
        .parse_response(&chat_deployment(), Endpoint::ChatCompletion, &resp)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::RateLimitError);
    assert_eq!(err.retry_after_ms, Some(7000));
}

#[test]
fn malformed_success_bodies_are_internal_server_errors() {
    let d = chat_deployment();
    for body in ["", "{not json", "{\"id\": \"x\"}"] {
        let err = cohere()
            .parse_response(&d, Endpoint::ChatCompletion, &reply(200, body))
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InternalServerError, "{body:?}");
    }
}
