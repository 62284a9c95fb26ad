//! Bedrock `converse-stream`: the streaming request (URL, body, SigV4 against botocore) and the
//! AWS event-stream replies of `tests/fixtures/bedrock/stream/` (`<name>.bin`, encoded from
//! `<name>.events.json` by `encode.py` with Python's zlib) replayed whole, byte by byte and at
//! every split point into the chunks of `<name>.chunks.json`; exception events as typed errors;
//! cut-short and corrupt streams.
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
mod replay;

use llmux::config::Deployment;
use llmux::error::ErrorKind;
use llmux::ports::HttpRequest;
use llmux::providers::{self, Provider, RequestContext};
use llmux::stream::eventstream::{self, HeaderValue};
use llmux::stream::{StreamContext, StreamDecoder};
use llmux::types::Endpoint;
use replay::{replay, Outcome};
use serde_json::{json, Value};

const CLAUDE: &str = "anthropic.claude-3-5-sonnet-20241022-v2:0";
const SESSION_TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
/// 2025-11-25T23:15:00Z.
const NOW_MS: f64 = 1_764_112_500_000.0;

/// The stream context every fixture's expected chunks are stamped with.
fn ctx(model: &str) -> StreamContext {
    StreamContext {
        id: "chatcmpl-llmux-stream-test".into(),
        created: 1_764_112_500,
        model: model.into(),
    }
}

fn provider() -> &'static dyn Provider {
    providers::lookup("bedrock").expect("bedrock is registered")
}

fn deployment() -> Deployment {
    Deployment::parse(
        &json!({ "model_name": "group", "litellm_params": {
            "model": format!("bedrock/{CLAUDE}"),
            "aws_access_key_id": "AKIDEXAMPLE",
            "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "aws_session_token": SESSION_TOKEN,
            "aws_region_name": "us-east-1",
        }}),
        "model_list[0]",
    )
    .unwrap()
}

fn build(endpoint: Endpoint, body: Value, stream: bool) -> HttpRequest {
    let ctx = RequestContext {
        timeout_ms: 30_000,
        now_ms: NOW_MS,
        bearer_token: None,
        stream,
        entropy: 0,
    };
    provider()
        .build_request(
            &deployment(),
            endpoint,
            body.as_object().unwrap().clone(),
            &ctx,
        )
        .unwrap()
}

fn decoder() -> Box<dyn StreamDecoder> {
    provider()
        .stream_decoder(&deployment(), Endpoint::ChatCompletion, &ctx(CLAUDE))
        .expect("bedrock streams chat")
}

fn replayed(name: &str) -> Outcome {
    replay(
        &decoder,
        &common::fixture_bytes("bedrock/stream", &format!("{name}.bin")),
    )
}

fn assert_fixture(name: &str) -> Vec<Value> {
    let chunks = replayed(name).ok();
    assert_eq!(
        chunks,
        replay::expected_chunks("bedrock/stream", &format!("{name}.chunks.json"), &chunks),
        "{name}"
    );
    chunks
}

#[test]
fn fixtures_are_the_frames_llmux_itself_encodes_from_the_event_lists() {
    for name in [
        "text",
        "tool_use",
        "reasoning",
        "json_mode",
        "guardrail",
        "throttling",
        "model_stream_error",
        "service_unavailable",
        "validation",
        "internal",
    ] {
        let events = common::fixture("bedrock/stream", &format!("{name}.events.json"));
        let mut encoded = Vec::new();
        for event in events.as_array().unwrap() {
            let headers: Vec<(&str, HeaderValue)> = event["headers"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str(),
                        HeaderValue::String(v.as_str().unwrap().to_string()),
                    )
                })
                .collect();
            encoded.extend(eventstream::encode(
                &headers,
                event["payload"].as_str().unwrap().as_bytes(),
            ));
        }
        assert_eq!(
            encoded,
            common::fixture_bytes("bedrock/stream", &format!("{name}.bin")),
            "{name}"
        );
    }
}

#[test]
fn text_stream_gives_role_content_finish_and_usage_chunks() {
    let chunks = assert_fixture("text");
    let first = &chunks[0];
    assert_eq!(first["object"], "chat.completion.chunk");
    assert_eq!(first["id"], "chatcmpl-llmux-stream-test");
    assert_eq!(first["model"], CLAUDE);
    assert_eq!(first["created"], 1_764_112_500);
    assert_eq!(
        first["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(
        text,
        "Hello! I'm doing well, thank you — how can I help t\u{e9} today?"
    );
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(
        usage["usage"],
        json!({"prompt_tokens": 12, "completion_tokens": 18, "total_tokens": 30})
    );
}

#[test]
fn tool_use_streams_tool_call_starts_and_argument_fragments() {
    let chunks = assert_fixture("tool_use");
    let calls: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"].get("tool_calls"))
        .collect();
    assert_eq!(
        calls[0],
        &json!([{"index": 0, "id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "type": "function",
                 "function": {"name": "get_weather", "arguments": ""}}])
    );
    let args = |index: u64| -> String {
        calls
            .iter()
            .filter(|c| c[0]["index"] == index)
            .filter_map(|c| c[0]["function"]["arguments"].as_str())
            .collect()
    };
    assert_eq!(args(0), r#"{"location": "Paris", "unit": "celsius"}"#);
    assert_eq!(args(1), r#"{"city": "Paris"}"#);
    assert_eq!(
        chunks[chunks.len() - 2]["choices"][0]["finish_reason"],
        "tool_calls"
    );
    // Cache reads and writes count as prompt tokens, as the Converse parser counts them.
    assert_eq!(
        chunks.last().unwrap()["usage"],
        json!({"prompt_tokens": 2468, "completion_tokens": 96, "total_tokens": 2564,
               "prompt_tokens_details": {"cached_tokens": 2000}})
    );
}

#[test]
fn reasoning_streams_as_reasoning_content_and_max_tokens_is_length() {
    let chunks = assert_fixture("reasoning");
    let reasoning: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["reasoning_content"].as_str())
        .collect();
    assert_eq!(reasoning, "The user asks for 17 × 23. 17 × 23 = 391.");
    assert_eq!(
        chunks[chunks.len() - 2]["choices"][0]["finish_reason"],
        "length"
    );
}

#[test]
fn json_mode_tool_input_streams_as_content() {
    let chunks = assert_fixture("json_mode");
    assert!(chunks
        .iter()
        .all(|c| c["choices"][0]["delta"].get("tool_calls").is_none()));
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, r#"{"name": "Ada", "born": 1815}"#);
    assert_eq!(
        chunks[chunks.len() - 2]["choices"][0]["finish_reason"],
        "stop"
    );
}

#[test]
fn guardrail_intervention_is_a_content_filter_finish() {
    let chunks = assert_fixture("guardrail");
    assert_eq!(
        chunks[chunks.len() - 2]["choices"][0]["finish_reason"],
        "content_filter"
    );
}

#[test]
fn exception_events_are_typed_errors_with_their_http_status() {
    let cases = [
        (
            "throttling",
            ErrorKind::RateLimitError,
            429,
            "ThrottlingException: Too many tokens",
        ),
        (
            "model_stream_error",
            ErrorKind::InternalServerError,
            424,
            "ModelStreamErrorException: The model encountered an error",
        ),
        (
            "service_unavailable",
            ErrorKind::ServiceUnavailableError,
            503,
            "ServiceUnavailableException: Bedrock is unable",
        ),
        (
            "validation",
            ErrorKind::ContextWindowExceededError,
            400,
            "ValidationException: Input is too long",
        ),
        (
            "internal",
            ErrorKind::ServiceUnavailableError,
            500,
            "InternalServerException: The server encountered",
        ),
    ];
    for (name, kind, status, message) in cases {
        let outcome = replayed(name);
        let (k, s, m) = outcome.err();
        assert_eq!((k, *s), (&kind, status), "{name}: {m}");
        assert!(m.starts_with(message), "{name}: {m}");
    }
    // The chunks before the exception were delivered.
    let outcome = replayed("throttling");
    assert_eq!(outcome.chunks.len(), 2);
    assert_eq!(
        outcome.chunks[1]["choices"][0]["delta"]["content"],
        "Once upon"
    );
}

#[test]
fn generic_error_messages_are_server_errors() {
    let frame = eventstream::encode(
        &[
            (":message-type", HeaderValue::String("error".into())),
            (":error-code", HeaderValue::String("InternalFailure".into())),
            (
                ":error-message",
                HeaderValue::String("An internal error occurred".into()),
            ),
        ],
        b"",
    );
    let outcome = replay(&decoder, &frame);
    let (kind, status, message) = outcome.err();
    assert_eq!(*status, 500);
    assert_eq!(*kind, ErrorKind::ServiceUnavailableError);
    assert_eq!(message, "InternalFailure: An internal error occurred");
}

#[test]
fn a_stream_without_message_stop_is_cut_short() {
    let body = common::fixture_bytes("bedrock/stream", "text.bin");
    // The frames before messageStop, then the same body ending halfway through a frame.
    let mut d = eventstream::EventStreamDecoder::new();
    let frames = d.feed(&body).unwrap();
    let before_stop: usize = frames
        .iter()
        .take_while(|m| m.header_str(":event-type") != Some("messageStop"))
        .map(|m| {
            eventstream::encode(
                &m.headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.clone()))
                    .collect::<Vec<_>>(),
                &m.payload,
            )
            .len()
        })
        .sum();
    for cut in [before_stop, before_stop + 10, body.len() - 3] {
        let outcome = replay(&decoder, &body[..cut]);
        let (kind, _, message) = outcome.err();
        assert_eq!(*kind, ErrorKind::APIConnectionError, "cut at {cut}");
        assert!(
            message.contains("ended before the answer was complete"),
            "{message}"
        );
        // The text already received was delivered.
        assert!(outcome.chunks.len() >= 3, "cut at {cut}");
    }
}

#[test]
fn a_corrupt_frame_is_a_connection_error_naming_the_crc() {
    let mut body = common::fixture_bytes("bedrock/stream", "text.bin");
    let last = body.len() - 20;
    body[last] ^= 0x01;
    let outcome = replay(&decoder, &body);
    let (kind, _, message) = outcome.err();
    assert_eq!(*kind, ErrorKind::APIConnectionError);
    assert!(message.contains("message CRC mismatch"), "{message}");
}

#[test]
fn streaming_request_posts_the_converse_body_to_converse_stream_signed_as_botocore_does() {
    let body = common::fixture("bedrock", "converse/chat_request.openai.json");
    let plain = build(Endpoint::ChatCompletion, body.clone(), false);
    let streamed = build(Endpoint::ChatCompletion, body, true);
    assert_eq!(
        streamed.url,
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse-stream"
    );
    assert!(plain.url.ends_with("/converse"));
    assert_eq!(streamed.body, plain.body);
    assert_eq!(streamed.header("x-amz-date"), Some("20251125T231500Z"));
    assert_eq!(streamed.header("x-amz-security-token"), Some(SESSION_TOKEN));
    let expected = common::fixture("bedrock", "stream/request.signature.json");
    assert_eq!(streamed.url, expected["url"].as_str().unwrap());
    assert_eq!(
        streamed.header("authorization"),
        expected["authorization"].as_str()
    );
}

#[test]
fn only_chat_streams() {
    let d = deployment();
    assert!(provider()
        .stream_decoder(&d, Endpoint::Embedding, &ctx(CLAUDE))
        .is_none());
}
