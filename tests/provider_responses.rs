//! The native Responses pass-through (`Endpoint::Responses`): the URLs OpenAI and Azure
//! deployments send to, the body as given, usage from `input_tokens` / `output_tokens`, and
//! the stream decoder on OpenAI's documented event sequence (tests/fixtures/openai).
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
use llmux::error::ErrorKind;
use llmux::ports::HttpRequest;
use llmux::providers::{self, RequestContext};
use llmux::stream::{StreamContext, StreamDecoder};
use llmux::types::{usage::token_usage, Endpoint};
use serde_json::{json, Map, Value};

fn ctx(stream: bool) -> RequestContext {
    RequestContext {
        timeout_ms: 30_000,
        now_ms: 1_700_000_000_000.0,
        bearer_token: None,
        stream,
        entropy: 0,
    }
}

fn deployment(params: Value) -> Deployment {
    Deployment::parse(
        &json!({"model_name": "gpt", "litellm_params": params}),
        "model_list[0]",
    )
    .unwrap()
}

fn body() -> Map<String, Value> {
    json!({"input": "Hi", "store": true, "previous_response_id": "resp_1", "tools": [{"type": "web_search"}]})
        .as_object()
        .unwrap()
        .clone()
}

fn build(d: &Deployment, stream: bool) -> HttpRequest {
    providers::lookup(&d.provider)
        .unwrap()
        .build_request(d, Endpoint::Responses, body(), &ctx(stream))
        .unwrap()
}

#[test]
fn openai_sends_the_body_as_given_to_v1_responses() {
    let d = deployment(json!({"model": "openai/gpt-4.1", "api_key": "sk-x"}));
    let r = build(&d, false);
    assert_eq!(r.url, "https://api.openai.com/v1/responses");
    let sent = common::sent_json(&r);
    assert_eq!(sent["model"], "gpt-4.1");
    assert_eq!(sent["previous_response_id"], "resp_1");
    assert_eq!(sent["tools"][0]["type"], "web_search");
    assert!(sent.get("stream").is_none());
    let streamed = common::sent_json(&build(&d, true));
    assert_eq!(streamed["stream"], true);
    assert!(
        streamed.get("stream_options").is_none(),
        "Responses takes no include_usage"
    );
}

#[test]
fn azure_uses_the_v1_api_by_default_and_the_resource_route_for_a_dated_version() {
    let d = deployment(
        json!({"model": "azure/my-gpt", "api_key": "az-key", "api_base": "https://res.openai.azure.com"}),
    );
    let r = build(&d, false);
    assert_eq!(r.url, "https://res.openai.azure.com/openai/v1/responses");
    assert_eq!(common::sent_json(&r)["model"], "my-gpt");
    let d = deployment(
        json!({"model": "azure/my-gpt", "api_key": "az-key", "api_base": "https://res.openai.azure.com/", "api_version": "2025-04-01-preview"}),
    );
    let r = build(&d, false);
    assert_eq!(
        r.url,
        "https://res.openai.azure.com/openai/responses?api-version=2025-04-01-preview"
    );
    assert!(r
        .headers
        .iter()
        .any(|(k, v)| k == "api-key" && v == "az-key"));
}

#[test]
fn providers_without_a_responses_api_refuse_it() {
    for name in ["anthropic", "cohere", "gemini", "bedrock", "mistral"] {
        assert!(
            !providers::lookup(name)
                .unwrap()
                .supports(Endpoint::Responses),
            "{name}"
        );
    }
}

#[test]
fn usage_is_read_from_input_and_output_tokens() {
    let u = token_usage(&json!({"usage": {"input_tokens": 37, "output_tokens": 11, "input_tokens_details": {"cached_tokens": 5}}})).unwrap();
    assert_eq!(
        (u.prompt_tokens, u.completion_tokens, u.cached_prompt_tokens),
        (37, 11, 5)
    );
}

fn decoder() -> Box<dyn StreamDecoder> {
    let d = deployment(json!({"model": "openai/gpt-4.1", "api_key": "sk-x"}));
    let sctx = StreamContext {
        id: "x".into(),
        created: 0,
        model: "gpt-4.1".into(),
    };
    providers::lookup("openai")
        .unwrap()
        .stream_decoder(&d, Endpoint::Responses, &sctx)
        .unwrap()
}

#[test]
fn the_stream_passes_each_event_through_split_anywhere() {
    let sse = common::fixture_bytes("openai", "responses_stream.sse");
    for split in [1, 7, 64, sse.len()] {
        let mut dec = decoder();
        let mut events = Vec::new();
        for piece in sse.chunks(split) {
            events.extend(dec.feed(piece).unwrap());
        }
        events.extend(dec.finish().unwrap());
        let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(types.len(), 9, "split {split}");
        assert_eq!(types[0], "response.created");
        assert_eq!(types[8], "response.completed");
        assert_eq!(events[8]["response"]["usage"]["input_tokens"], 37);
        assert_eq!(events[4]["delta"], "Hi");
    }
}

#[test]
fn a_stream_without_a_terminal_event_is_a_connection_error() {
    let sse = common::fixture_text("openai", "responses_stream.sse");
    let cut = sse.split("event: response.completed").next().unwrap();
    let mut dec = decoder();
    dec.feed(cut.as_bytes()).unwrap();
    assert_eq!(
        dec.finish().unwrap_err().kind,
        ErrorKind::APIConnectionError
    );
}

#[test]
fn an_error_event_is_typed() {
    let mut dec = decoder();
    let e = dec
        .feed(b"event: error\ndata: {\"type\":\"error\",\"code\":\"rate_limit_exceeded\",\"message\":\"Slow down\",\"param\":null,\"sequence_number\":0}\n\n")
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimitError);
    assert!(e.message.contains("Slow down"));
}
