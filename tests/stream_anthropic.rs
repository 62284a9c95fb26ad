//! The Anthropic stream decoder on streams recorded from Anthropic's documented streaming
//! examples (`tests/fixtures/anthropic/stream/*.sse`): replayed whole, byte by byte and at
//! every split point, they give the chunks in the `.chunks.json` next to them, and those
//! chunks assemble into the non-streaming answer in `tests/fixtures/anthropic/responses` (the cache-usage
//! stream into `stream/cached_stream.openai.json`).
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::result_large_err
)]

mod common;
#[path = "common/stream_replay.rs"]
mod stream_replay;

use llmux::config::Deployment;
use llmux::error::ErrorKind;
use llmux::providers::{self, Provider, RequestContext};
use llmux::stream::{assemble, StreamContext, StreamDecoder};
use llmux::types::Endpoint;
use serde_json::{json, Value};
use stream_replay::{expected_chunks, replay, replay_pieces, Outcome};

const MODEL: &str = "claude-haiku-4-5-20251001";

fn provider() -> &'static dyn Provider {
    providers::lookup("anthropic").expect("anthropic is registered")
}

fn deployment() -> Deployment {
    Deployment::parse(
        &json!({ "model_name": "claude", "litellm_params": {
            "model": format!("anthropic/{MODEL}"), "api_key": "sk-ant-api03-test-key",
        }}),
        "model_list[0]",
    )
    .unwrap()
}

fn stream_ctx() -> StreamContext {
    StreamContext {
        id: "chatcmpl-local".into(),
        created: 0,
        model: MODEL.into(),
    }
}

fn decoder() -> Box<dyn StreamDecoder> {
    provider()
        .stream_decoder(&deployment(), Endpoint::ChatCompletion, &stream_ctx())
        .expect("anthropic streams chat")
}

fn run(name: &str) -> Outcome {
    replay(
        &decoder,
        &common::fixture_bytes("anthropic", &format!("stream/{name}.sse")),
    )
}

/// The fixture's chunks equal its `.chunks.json` and assemble into `responses/<answer>`.
fn check(name: &str, answer: &str) -> Vec<Value> {
    let chunks = run(name).ok();
    let expected = expected_chunks("anthropic", &format!("stream/{name}.chunks.json"), &chunks);
    assert_eq!(chunks, expected, "{name}");
    let assembled = assemble(&chunks).unwrap();
    let want = common::fixture("anthropic", answer);
    assert_eq!(assembled, want, "{name} assembled");
    chunks
}

#[test]
fn text_stream_gives_role_content_finish_and_usage_chunks() {
    let chunks = check("text", "responses/text.openai.json");
    assert_eq!(
        chunks[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    assert_eq!(chunks[0]["id"], "msg_01XFDUDYJgAACzvnptvVoYEL");
    assert_eq!(chunks[0]["object"], "chat.completion.chunk");
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["usage"]["prompt_tokens"], 25);
    assert_eq!(last["usage"]["completion_tokens"], 10);
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
}

#[test]
fn tool_calls_are_numbered_in_tool_order_not_by_content_index() {
    let chunks = check("tool_use", "responses/tool_use.openai.json");
    let starts: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"].get("tool_calls"))
        .filter(|t| t[0].get("id").is_some())
        .collect();
    assert_eq!(starts.len(), 2);
    assert_eq!(
        starts[0],
        &json!([{"index": 0, "id": "toolu_01A09q90qw90lq917835lq9", "type": "function",
            "function": {"name": "get_weather", "arguments": ""}}])
    );
    assert_eq!(starts[1][0]["index"], 1);
    let finish: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0].get("finish_reason"))
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finish, [&json!("tool_calls")]);
}

#[test]
fn thinking_streams_as_reasoning_content_and_thinking_blocks() {
    let chunks = check("thinking", "responses/thinking.openai.json");
    assert!(chunks
        .iter()
        .any(|c| c["choices"][0]["delta"]["reasoning_content"] == "The user wants 27 * 453. "));
}

#[test]
fn cache_tokens_are_counted_as_the_non_streaming_parser_counts_them() {
    let chunks = check("cached", "stream/cached_stream.openai.json");
    let usage = &chunks.last().unwrap()["usage"];
    assert_eq!(usage["prompt_tokens"], 21 + 1800 + 2048);
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 2048);
    assert_eq!(usage["cache_creation_input_tokens"], 1800);
}

#[test]
fn json_schema_tool_input_streams_as_content() {
    let chunks = check("json_tool", "responses/json_tool.openai.json");
    assert!(chunks
        .iter()
        .all(|c| c["choices"][0]["delta"].get("tool_calls").is_none()));
}

#[test]
fn overloaded_error_event_is_a_529_internal_server_error_after_the_chunks_before_it() {
    let outcome = run("error_overloaded");
    let (kind, status, message) = outcome.err().clone();
    assert_eq!(kind, ErrorKind::InternalServerError);
    assert_eq!(status, 529);
    assert!(message.contains("Overloaded"), "{message}");
    let texts: Vec<&Value> = outcome
        .chunks
        .iter()
        .map(|c| &c["choices"][0]["delta"]["content"])
        .collect();
    assert_eq!(texts, [&json!(""), &json!("Hel")]);
}

#[test]
fn rate_limit_error_event_is_a_429_rate_limit_error() {
    let outcome = run("error_rate_limit");
    let (kind, status, _) = outcome.err();
    assert_eq!(*kind, ErrorKind::RateLimitError);
    assert_eq!(*status, 429);
}

#[test]
fn a_stream_cut_before_message_stop_is_a_connection_error() {
    let body = common::fixture_text("anthropic", "stream/text.sse");
    for cut in [
        body.find("event: message_stop").unwrap(),
        body.find("event: message_delta").unwrap(),
    ] {
        let outcome = replay(&decoder, &body.as_bytes()[..cut]);
        let (kind, _, message) = outcome.err();
        assert_eq!(*kind, ErrorKind::APIConnectionError, "cut at {cut}");
        assert!(message.contains("anthropic stream ended"), "{message}");
    }
    // Cut inside an event: its partial JSON cannot be read.
    let cut = body.find("Red").unwrap();
    let outcome = replay(&decoder, &body.as_bytes()[..cut]);
    assert_eq!(outcome.err().0, ErrorKind::APIConnectionError);
}

#[test]
fn malformed_events_are_connection_errors() {
    for body in [
        "event: message_start\ndata: {\"type\": \"message_st\n\n",
        "data: [1, 2]\n\n",
        "event: content_block_delta\ndata: {\"type\": \"content_block_delta\", \"delta\": {}}\n\n",
    ] {
        let outcome = replay_pieces(decoder(), &[body.as_bytes()]);
        let (kind, _, message) = outcome.err();
        assert_eq!(*kind, ErrorKind::APIConnectionError, "{body}");
        assert!(
            message.starts_with("Malformed anthropic stream event"),
            "{message}"
        );
    }
}

#[test]
fn events_after_message_stop_and_pings_are_ignored() {
    let mut body = common::fixture_text("anthropic", "stream/text.sse");
    let plain = replay_pieces(decoder(), &[body.as_bytes()]).ok();
    body.push_str("event: ping\ndata: {\"type\": \"ping\"}\n\n");
    body.push_str("event: content_block_delta\ndata: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": \"text_delta\", \"text\": \"late\"}}\n\n");
    assert_eq!(replay_pieces(decoder(), &[body.as_bytes()]).ok(), plain);
}

#[test]
fn streaming_request_adds_stream_true_and_nothing_else() {
    let body = json!({"model": "claude", "messages": [{"role": "user", "content": "Hi"}]});
    let Value::Object(map) = body else {
        unreachable!()
    };
    let plain = provider()
        .build_request(
            &deployment(),
            Endpoint::ChatCompletion,
            map.clone(),
            &RequestContext::default(),
        )
        .unwrap();
    let ctx = RequestContext {
        stream: true,
        ..RequestContext::default()
    };
    let streamed = provider()
        .build_request(&deployment(), Endpoint::ChatCompletion, map, &ctx)
        .unwrap();
    assert_eq!(streamed.url, "https://api.anthropic.com/v1/messages");
    assert_eq!(streamed.headers, plain.headers);
    let mut sent = common::sent_json(&streamed);
    assert_eq!(sent["stream"], true);
    sent.as_object_mut().unwrap().remove("stream");
    assert_eq!(sent, common::sent_json(&plain));
    assert!(common::sent_json(&plain).get("stream").is_none());
}

#[test]
fn only_chat_has_a_stream_decoder() {
    assert!(provider()
        .stream_decoder(&deployment(), Endpoint::Embedding, &stream_ctx())
        .is_none());
}
