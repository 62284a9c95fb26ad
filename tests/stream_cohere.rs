//! The Cohere v2 chat stream decoder on streams recorded from Cohere's documented streaming
//! examples (`tests/fixtures/cohere/stream/*.sse`): replayed whole, byte by byte and at
//! every split point, they give the chunks in the `.chunks.json` next to them, and the text
//! and tool-call streams assemble into the non-streaming answers in `tests/fixtures/cohere`.
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

const MODEL: &str = "command-r-08-2024";

fn provider() -> &'static dyn Provider {
    providers::lookup("cohere").expect("cohere is registered")
}

fn deployment() -> Deployment {
    Deployment::parse(
        &json!({"model_name": "group", "litellm_params": {
            "model": format!("cohere/{MODEL}"), "api_key": "co-test-0123456789abcdef",
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
        .expect("cohere streams chat")
}

fn run(name: &str) -> Outcome {
    replay(
        &decoder,
        &common::fixture_bytes("cohere", &format!("stream/{name}.sse")),
    )
}

fn chunks_of(name: &str) -> Vec<Value> {
    let chunks = run(name).ok();
    let expected = expected_chunks("cohere", &format!("stream/{name}.chunks.json"), &chunks);
    assert_eq!(chunks, expected, "{name}");
    chunks
}

#[test]
fn text_stream_assembles_into_the_non_streaming_answer() {
    let chunks = chunks_of("text");
    assert_eq!(
        chunks[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    assert!(chunks
        .iter()
        .all(|c| c["id"] == "c14c80c3-18eb-4519-9460-6c92edd8cfb4" && c["model"] == MODEL));
    assert_eq!(
        assemble(&chunks).unwrap(),
        common::fixture("cohere", "chat_response.openai.json")
    );
}

#[test]
fn tool_calls_stream_as_starts_and_argument_fragments() {
    let chunks = chunks_of("tool_calls");
    let first = chunks
        .iter()
        .find_map(|c| c["choices"][0]["delta"].get("tool_calls"))
        .unwrap();
    assert_eq!(
        first,
        &json!([{"index": 0, "id": "query_daily_sales_report_hgxxmkby3wta", "type": "function",
            "function": {"name": "query_daily_sales_report", "arguments": ""}}])
    );
    // The tool plan is not part of the answer (as in the non-streaming parser).
    assert!(chunks.iter().all(|c| c["choices"][0]["delta"]["content"]
        .as_str()
        .unwrap_or("")
        .is_empty()));
    let usage = &chunks.last().unwrap()["usage"];
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 512);
    assert_eq!(
        assemble(&chunks).unwrap(),
        common::fixture("cohere", "chat_tool_calls_response.openai.json")
    );
}

#[test]
fn thinking_streams_as_reasoning_content_and_citations_are_skipped() {
    let chunks = chunks_of("thinking_citations");
    let answer = assemble(&chunks).unwrap();
    assert_eq!(
        answer["choices"][0]["message"],
        json!({
            "role": "assistant",
            "content": "The tallest penguins are emperor penguins.",
            "reasoning_content": "The documents say the tallest penguin is the emperor penguin.",
        })
    );
    assert_eq!(answer["choices"][0]["finish_reason"], "length");
    assert_eq!(
        answer["usage"],
        json!({"prompt_tokens": 720, "completion_tokens": 20, "total_tokens": 740})
    );
}

#[test]
fn an_error_event_is_classified_by_its_status_after_the_chunks_before_it() {
    let outcome = run("error_429");
    let (kind, status, message) = outcome.err();
    assert_eq!(*kind, ErrorKind::RateLimitError);
    assert_eq!(*status, 429);
    assert!(message.contains("Trial key"), "{message}");
    assert_eq!(outcome.chunks.len(), 2);
    assert_eq!(outcome.chunks[1]["choices"][0]["delta"]["content"], "Hel");
}

#[test]
fn an_error_event_without_a_status_is_a_500() {
    let body = "event: error\ndata: {\"type\":\"error\",\"message\":\"internal failure\"}\n\n";
    let outcome = replay_pieces(decoder(), &[body.as_bytes()]);
    assert_eq!(outcome.err().0, ErrorKind::InternalServerError);
    assert_eq!(outcome.err().1, 500);
}

#[test]
fn a_stream_cut_before_message_end_is_a_connection_error() {
    let body = common::fixture_text("cohere", "stream/text.sse");
    let cut = body.find("event: message-end").unwrap();
    let outcome = replay(&decoder, &body.as_bytes()[..cut]);
    let (kind, _, message) = outcome.err();
    assert_eq!(*kind, ErrorKind::APIConnectionError);
    assert!(message.contains("cohere stream ended"), "{message}");
}

#[test]
fn malformed_events_are_connection_errors() {
    for body in [
        "data: {\"type\":\"content-delta\"\n\n",
        "data: {\"type\":\"content-delta\",\"delta\":{}}\n\n",
        "data: {\"type\":\"tool-call-delta\",\"index\":3,\"delta\":{}}\n\n",
        "data: {\"id\":\"x\"}\n\n",
    ] {
        let outcome = replay_pieces(decoder(), &[body.as_bytes()]);
        let (kind, _, message) = outcome.err();
        assert_eq!(*kind, ErrorKind::APIConnectionError, "{body}");
        assert!(
            message.starts_with("Malformed cohere stream event"),
            "{message}"
        );
    }
}

#[test]
fn streaming_request_sends_stream_true_and_is_otherwise_unchanged() {
    let body = json!({"model": "group", "messages": [{"role": "user", "content": "Hi"}]});
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
    assert_eq!(streamed.url, "https://api.cohere.com/v2/chat");
    assert_eq!(streamed.headers, plain.headers);
    let mut sent = common::sent_json(&streamed);
    assert_eq!(sent["stream"], true);
    assert_eq!(common::sent_json(&plain)["stream"], false);
    sent["stream"] = json!(false);
    assert_eq!(sent, common::sent_json(&plain));
}

#[test]
fn embeddings_have_no_stream_decoder() {
    assert!(provider()
        .stream_decoder(&deployment(), Endpoint::Embedding, &stream_ctx())
        .is_none());
}
