//! The Gemini (Google AI Studio) translation on fixtures from Google's API reference:
//! OpenAI request → Gemini request, Gemini reply → OpenAI response or classified error.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::result_large_err
)]

mod common;

use llmux::config::{provider_names, Deployment};
use llmux::error::{ErrorKind, LlmError};
use llmux::ports::{HttpRequest, HttpResponse};
use llmux::providers::{self, Provider, RequestContext};
use llmux::types::Endpoint;
use serde_json::{json, Map, Value};

const KEY: &str = "AIzaSyD-test-key-0123456789abcdefghij";

fn fixture(name: &str) -> Value {
    common::fixture("gemini", name)
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/gemini/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn deployment_with(params: Value) -> Deployment {
    let mut litellm_params = json!({"model": "gemini/gemini-2.5-flash", "api_key": KEY});
    litellm_params
        .as_object_mut()
        .unwrap()
        .extend(params.as_object().unwrap().clone());
    Deployment::parse(
        &json!({"model_name": "gemini-chat", "litellm_params": litellm_params}),
        "model_list[0]",
    )
    .unwrap()
}

fn deployment() -> Deployment {
    deployment_with(json!({}))
}

fn gemini() -> &'static dyn Provider {
    providers::lookup("gemini").expect("gemini is registered")
}

fn ctx() -> RequestContext {
    RequestContext {
        timeout_ms: 30_000,
        now_ms: 1_750_000_000_000.0,
        bearer_token: None,
        stream: false,
        entropy: 0,
    }
}

fn build(d: &Deployment, endpoint: Endpoint, body: Value) -> Result<HttpRequest, LlmError> {
    let body: Map<String, Value> = body.as_object().unwrap().clone();
    gemini().build_request(d, endpoint, body, &ctx())
}

fn sent_body(request: &HttpRequest) -> Value {
    common::sent_json(request)
}

fn reply(status: u16, body: Vec<u8>) -> HttpResponse {
    common::json_reply(status, body)
}

fn parse_chat(d: &Deployment, status: u16, fixture_name: &str) -> Result<Value, LlmError> {
    gemini().parse_response(
        d,
        Endpoint::ChatCompletion,
        &reply(status, fixture_bytes(fixture_name)),
    )
}

fn chat_error(status: u16, fixture_name: &str) -> LlmError {
    parse_chat(&deployment(), status, fixture_name).unwrap_err()
}

#[test]
fn bare_gemini_model_names_resolve_through_the_price_data() {
    // LiteLLM's price data files bare `gemini-2.5-flash` under vertex_ai-language-models, so
    // without a prefix it is a Vertex AI model; `gemini/…` is Google AI Studio.
    let (provider, model) = provider_names::split_model("gemini/gemini-2.5-flash", None).unwrap();
    assert_eq!(
        (provider.as_str(), model.as_str()),
        ("gemini", "gemini-2.5-flash")
    );
    match provider_names::split_model("gemini-2.5-flash", None) {
        Ok((provider, _)) => assert_eq!(provider, "vertex_ai"),
        Err(e) => assert!(e.contains("\"vertex_ai\""), "bare gemini-2.5-flash: {e}"),
    }
    let explicit = provider_names::split_model("gemini-2.5-flash", Some("gemini")).unwrap();
    assert_eq!(explicit.0, "gemini");
}

#[test]
fn serves_chat_and_embeddings_but_not_text_completion() {
    assert_eq!(gemini().name(), "gemini");
    assert!(gemini().supports(Endpoint::ChatCompletion));
    assert!(gemini().supports(Endpoint::Embedding));
    assert!(!gemini().supports(Endpoint::TextCompletion));
}

#[test]
fn chat_request_posts_generate_content_with_the_key_in_x_goog_api_key() {
    let request = build(
        &deployment(),
        Endpoint::ChatCompletion,
        fixture("chat_request.json"),
    )
    .unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.url,
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"
    );
    assert!(!request.url.contains(KEY), "the key never goes in the URL");
    assert_eq!(request.header("x-goog-api-key"), Some(KEY));
    assert_eq!(request.header("authorization"), None);
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.timeout_ms, Some(30_000));
}

#[test]
fn chat_request_translates_messages_tools_and_generation_params() {
    let request = build(
        &deployment(),
        Endpoint::ChatCompletion,
        fixture("chat_request.json"),
    )
    .unwrap();
    assert_eq!(sent_body(&request), fixture("chat_request.expected.json"));
}

#[test]
fn structured_output_reasoning_logprobs_named_tool_choice_and_gemini_fields_are_mapped() {
    let request = build(
        &deployment(),
        Endpoint::ChatCompletion,
        fixture("chat_request_structured.json"),
    )
    .unwrap();
    assert_eq!(
        sent_body(&request),
        fixture("chat_request_structured.expected.json")
    );
}

#[test]
fn api_base_and_api_version_and_extra_headers_shape_the_request() {
    let d = deployment_with(json!({
        "api_base": "https://gateway.ai.cloudflare.com/v1/acct/gw/google-ai-studio/v1beta/",
        "extra_headers": {"cf-aig-authorization": "Bearer gw-token"}
    }));
    let request = build(
        &d,
        Endpoint::ChatCompletion,
        json!({"messages": [{"role": "user", "content": "hi"}]}),
    )
    .unwrap();
    assert_eq!(
        request.url,
        "https://gateway.ai.cloudflare.com/v1/acct/gw/google-ai-studio/v1beta/models/gemini-2.5-flash:generateContent"
    );
    assert_eq!(
        request.header("cf-aig-authorization"),
        Some("Bearer gw-token")
    );
    let d = deployment_with(json!({"api_base": "http://127.0.0.1:9/gemini", "api_version": "v1"}));
    let request = build(
        &d,
        Endpoint::ChatCompletion,
        json!({"messages": [{"role": "user", "content": "hi"}]}),
    )
    .unwrap();
    assert_eq!(
        request.url,
        "http://127.0.0.1:9/gemini/v1/models/gemini-2.5-flash:generateContent"
    );
}

#[test]
fn extra_body_fields_reach_the_top_level_and_generation_config_merges() {
    let request = build(
        &deployment(),
        Endpoint::ChatCompletion,
        json!({
            "messages": [{"role": "user", "content": "hi"}],
            "temperature": 0.5,
            "generationConfig": {"topK": 3},
            "cachedContent": "cachedContents/abc123",
            "extra_body": {"labels": {"team": "search"}},
            "cache": null
        }),
    )
    .unwrap();
    let body = sent_body(&request);
    assert_eq!(
        body["generationConfig"],
        json!({"temperature": 0.5, "topK": 3})
    );
    assert_eq!(body["cachedContent"], "cachedContents/abc123");
    assert_eq!(body["labels"], json!({"team": "search"}));
    assert!(body.get("cache").is_none() && body.get("extra_body").is_none());
}

#[test]
fn system_only_conversation_gets_a_blank_user_turn() {
    let request = build(
        &deployment(),
        Endpoint::ChatCompletion,
        json!({"messages": [{"role": "system", "content": "Be brief."}]}),
    )
    .unwrap();
    let body = sent_body(&request);
    assert_eq!(
        body["contents"],
        json!([{"role": "user", "parts": [{"text": " "}]}])
    );
    assert_eq!(
        body["systemInstruction"],
        json!({"parts": [{"text": "Be brief."}]})
    );
}

#[test]
fn unsupported_inputs_are_bad_requests_before_any_call() {
    let d = deployment();
    let cases = [
        json!({"messages": "hi"}),
        json!({"messages": [{"role": "user", "content": "hi"}], "tool_choice": "sometimes"}),
        json!({"messages": [{"role": "tool", "tool_call_id": "call_x", "content": "42"}]}),
        json!({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}]}]}),
        json!({"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{not json"}}]}]}),
        json!({"messages": [{"role": "user", "content": "hi"}], "reasoning_effort": "extreme"}),
    ];
    for body in cases {
        let err = build(&d, Endpoint::ChatCompletion, body.clone()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadRequestError, "{body}");
    }
    let err = build(&d, Endpoint::TextCompletion, json!({"prompt": "hi"})).unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequestError);
}

#[test]
fn text_reply_joins_parts_and_counts_thoughts_and_cached_tokens() {
    let got = parse_chat(&deployment(), 200, "response_text.json").unwrap();
    assert_eq!(got, fixture("response_text.expected.json"));
}

#[test]
fn function_calls_become_tool_calls_with_ids_carrying_thought_signatures() {
    let got = parse_chat(&deployment(), 200, "response_tool_calls.json").unwrap();
    assert_eq!(got, fixture("response_tool_calls.expected.json"));
    // Parsing is deterministic: the same reply gives the same ids.
    let again = parse_chat(&deployment(), 200, "response_tool_calls.json").unwrap();
    assert_eq!(
        got["choices"][0]["message"]["tool_calls"],
        again["choices"][0]["message"]["tool_calls"]
    );
}

#[test]
fn tool_call_ids_from_a_reply_round_trip_into_the_next_request() {
    let reply = parse_chat(&deployment(), 200, "response_tool_calls.json").unwrap();
    let assistant = reply["choices"][0]["message"].clone();
    let calls = assistant["tool_calls"].as_array().unwrap().clone();
    let mut messages = vec![
        json!({"role": "user", "content": "Weather and time in Paris?"}),
        assistant,
    ];
    for (call, result) in calls.iter().zip(["{\"temperature\": 21}", "14:05"]) {
        messages.push(json!({"role": "tool", "tool_call_id": call["id"], "content": result}));
    }
    let request = build(
        &deployment(),
        Endpoint::ChatCompletion,
        json!({ "messages": messages }),
    )
    .unwrap();
    let body = sent_body(&request);
    assert_eq!(
        body["contents"][1]["parts"],
        json!([
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris", "unit": "celsius"}},
             "thoughtSignature": "CiQB0e2Kb7cK4ZrUq2Xv1mUo3Rq0bC8zJY3s1Qx0v2m9H1pA=="},
            {"functionCall": {"name": "get_time", "args": {"timezone": "Europe/Paris"}}}
        ])
    );
    assert_eq!(
        body["contents"][2],
        json!({"role": "user", "parts": [
            {"functionResponse": {"name": "get_weather", "response": {"temperature": 21}}},
            {"functionResponse": {"name": "get_time", "response": {"content": "14:05"}}}
        ]})
    );
}

#[test]
fn candidates_map_to_choices_with_finish_reasons_logprobs_and_create_time() {
    let d = deployment_with(json!({"model": "gemini/gemini-2.0-flash"}));
    let got = parse_chat(&d, 200, "response_candidates.json").unwrap();
    assert_eq!(got, fixture("response_candidates.expected.json"));
}

#[test]
fn safety_stopped_candidate_is_an_empty_content_filter_choice() {
    let got = parse_chat(&deployment(), 200, "response_safety_candidate.json").unwrap();
    assert_eq!(got, fixture("response_safety_candidate.expected.json"));
}

#[test]
fn blocked_prompt_is_a_content_policy_violation_with_status_400() {
    let err = chat_error(200, "response_blocked_prompt.json");
    assert_eq!(err.kind, ErrorKind::ContentPolicyViolationError);
    assert_eq!(err.status, 400);
    assert!(err.from_upstream);
    assert!(err.message.contains("SAFETY"), "{}", err.message);
    assert!(!err.retryable());
}

#[test]
fn google_error_bodies_map_to_litellm_error_kinds() {
    let cases = [
        (
            "error_invalid_api_key.json",
            400,
            ErrorKind::AuthenticationError,
            401,
        ),
        (
            "error_permission_denied.json",
            403,
            ErrorKind::PermissionDeniedError,
            403,
        ),
        ("error_not_found.json", 404, ErrorKind::NotFoundError, 404),
        ("error_rate_limit.json", 429, ErrorKind::RateLimitError, 429),
        (
            "error_context_window.json",
            400,
            ErrorKind::ContextWindowExceededError,
            400,
        ),
        (
            "error_invalid_argument.json",
            400,
            ErrorKind::BadRequestError,
            400,
        ),
        (
            "error_internal.json",
            500,
            ErrorKind::InternalServerError,
            500,
        ),
        (
            "error_overloaded.json",
            503,
            ErrorKind::ServiceUnavailableError,
            503,
        ),
    ];
    for (file, status, kind, want_status) in cases {
        let err = chat_error(status, file);
        assert_eq!(err.kind, kind, "{file}: {}", err.message);
        assert_eq!(err.status, want_status, "{file}");
        assert!(err.from_upstream, "{file}");
        let google_message = fixture(file)["error"]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            err.message.contains(google_message.trim()),
            "{file}: {}",
            err.message
        );
        assert!(!err.message.contains(KEY));
    }
}

#[test]
fn rate_limit_waits_for_retry_info_unless_a_retry_after_header_came() {
    let err = chat_error(429, "error_rate_limit.json");
    assert_eq!(err.retry_after_ms, Some(37_000));
    let mut with_header = reply(429, fixture_bytes("error_rate_limit.json"));
    with_header.headers.push(("retry-after".into(), "5".into()));
    let err = gemini()
        .parse_response(&deployment(), Endpoint::ChatCompletion, &with_header)
        .unwrap_err();
    assert_eq!(err.retry_after_ms, Some(5_000));
}

#[test]
fn array_wrapped_errors_and_429_inside_a_5xx_are_understood() {
    let body = format!(
        "[{}]",
        String::from_utf8(fixture_bytes("error_rate_limit.json")).unwrap()
    );
    let err = gemini()
        .parse_response(
            &deployment(),
            Endpoint::ChatCompletion,
            &reply(500, body.into_bytes()),
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::RateLimitError);
    assert_eq!(err.status, 429);
}

#[test]
fn malformed_or_empty_success_bodies_are_internal_server_errors() {
    let d = deployment();
    for body in [&b""[..], b"{\"candidates\": [", b"{\"usageMetadata\": {}}"] {
        let err = gemini()
            .parse_response(&d, Endpoint::ChatCompletion, &reply(200, body.to_vec()))
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InternalServerError, "{body:?}");
        assert!(err.retryable());
    }
    let html = HttpResponse {
        status: 502,
        headers: vec![("content-type".into(), "text/html".into())],
        body: b"<html><body>Bad Gateway</body></html>".to_vec(),
    };
    let err = gemini()
        .parse_response(&d, Endpoint::ChatCompletion, &html)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InternalServerError);
}

#[test]
fn embedding_request_posts_batch_embed_contents_per_input() {
    let d = deployment_with(json!({"model": "gemini/gemini-embedding-001"}));
    let request = build(&d, Endpoint::Embedding, fixture("embedding_request.json")).unwrap();
    assert_eq!(
        request.url,
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-embedding-001:batchEmbedContents"
    );
    assert_eq!(request.header("x-goog-api-key"), Some(KEY));
    assert_eq!(
        sent_body(&request),
        fixture("embedding_request.expected.json")
    );
    let single = build(&d, Endpoint::Embedding, json!({"input": "hello"})).unwrap();
    assert_eq!(
        sent_body(&single),
        json!({"requests": [{"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "hello"}]}}]})
    );
    for bad in [json!({"input": [1, 2, 3]}), json!({"input": []}), json!({})] {
        let err = build(&d, Endpoint::Embedding, bad).unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadRequestError);
    }
}

#[test]
fn embedding_reply_becomes_an_openai_list_in_input_order() {
    let d = deployment_with(json!({"model": "gemini/gemini-embedding-001"}));
    let got = gemini()
        .parse_response(
            &d,
            Endpoint::Embedding,
            &reply(200, fixture_bytes("embedding_response.json")),
        )
        .unwrap();
    assert_eq!(got, fixture("embedding_response.expected.json"));
    let err = gemini()
        .parse_response(
            &d,
            Endpoint::Embedding,
            &reply(429, fixture_bytes("error_rate_limit.json")),
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::RateLimitError);
}
