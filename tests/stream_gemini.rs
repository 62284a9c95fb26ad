//! Gemini `streamGenerateContent?alt=sse`: the streaming request, and the SSE replies of
//! `tests/fixtures/gemini/stream/` (shaped as Google's API reference shows them: one
//! `GenerateContentResponse` per `data:` line, CRLF line endings) replayed whole, byte by byte
//! and at every split point into the chunks of `<name>.chunks.json`; `error` events, blocked
//! prompts and cut-short streams.
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
use llmux::stream::{StreamContext, StreamDecoder};
use llmux::types::Endpoint;
use replay::{replay, Outcome};
use serde_json::{json, Value};

const KEY: &str = "AIzaSyD-test-key-0123456789abcdefghij";
const MODEL: &str = "gemini-2.5-flash";

/// The stream context every fixture's expected chunks are stamped with.
fn ctx(model: &str) -> StreamContext {
    StreamContext {
        id: "chatcmpl-llmux-stream-test".into(),
        created: 1_764_112_500,
        model: model.into(),
    }
}

fn deployment() -> Deployment {
    Deployment::parse(
        &json!({"model_name": "gemini-chat", "litellm_params": {
            "model": format!("gemini/{MODEL}"), "api_key": KEY,
        }}),
        "model_list[0]",
    )
    .unwrap()
}

fn gemini() -> &'static dyn Provider {
    providers::lookup("gemini").expect("gemini is registered")
}

fn build(body: Value, stream: bool) -> HttpRequest {
    let ctx = RequestContext {
        timeout_ms: 30_000,
        now_ms: 1_750_000_000_000.0,
        bearer_token: None,
        stream,
        entropy: 0,
    };
    gemini()
        .build_request(
            &deployment(),
            Endpoint::ChatCompletion,
            body.as_object().unwrap().clone(),
            &ctx,
        )
        .unwrap()
}

fn decoder() -> Box<dyn StreamDecoder> {
    gemini()
        .stream_decoder(&deployment(), Endpoint::ChatCompletion, &ctx(MODEL))
        .expect("gemini streams chat")
}

fn body(name: &str) -> Vec<u8> {
    common::fixture_bytes("gemini/stream", &format!("{name}.sse"))
}

fn replayed(name: &str) -> Outcome {
    replay(&decoder, &body(name))
}

fn assert_fixture(name: &str) -> Vec<Value> {
    let chunks = replayed(name).ok();
    assert_eq!(
        chunks,
        replay::expected_chunks("gemini/stream", &format!("{name}.chunks.json"), &chunks),
        "{name}"
    );
    chunks
}

fn joined(chunks: &[Value], key: &str) -> String {
    chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"][key].as_str())
        .collect()
}

fn finish_reason(chunks: &[Value]) -> &Value {
    &chunks[chunks.len() - 2]["choices"][0]["finish_reason"]
}

#[test]
fn streaming_request_posts_the_same_body_to_stream_generate_content_with_alt_sse() {
    let request = common::fixture("gemini", "chat_request.json");
    let plain = build(request.clone(), false);
    let streamed = build(request, true);
    assert_eq!(
        streamed.url,
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    );
    assert_eq!(
        plain.url,
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"
    );
    assert_eq!(streamed.body, plain.body);
    assert_eq!(streamed.headers, plain.headers);
    assert_eq!(streamed.header("x-goog-api-key"), Some(KEY));
    assert!(!streamed.url.contains(KEY));
}

#[test]
fn text_stream_gives_role_content_finish_and_cumulative_usage() {
    let chunks = assert_fixture("text");
    assert_eq!(
        chunks[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": "The"})
    );
    assert_eq!(chunks[0]["id"], "mlRAaOWCHZvhz7IPjqvT4QE");
    assert_eq!(chunks[0]["model"], MODEL);
    assert_eq!(chunks[0]["created"], 1_764_112_500);
    assert_eq!(
        joined(&chunks, "content"),
        "The quick brown fox jumps over the lazy dog — a pangram, with ünïcödé.\n"
    );
    assert_eq!(finish_reason(&chunks), "stop");
    // The last usageMetadata, not a sum of the cumulative ones.
    assert_eq!(
        chunks.last().unwrap()["usage"],
        json!({"prompt_tokens": 8, "completion_tokens": 17, "total_tokens": 25})
    );
    assert_eq!(chunks.last().unwrap()["choices"], json!([]));
}

#[test]
fn function_calls_are_complete_tool_call_deltas_with_the_non_streaming_ids() {
    let chunks = assert_fixture("tool_calls");
    let calls: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"].get("tool_calls"))
        .collect();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0][0]["index"], 0);
    assert_eq!(calls[1][0]["index"], 1);
    assert_eq!(calls[0][0]["type"], "function");
    assert_eq!(calls[0][0]["function"]["name"], "get_weather");
    assert_eq!(
        calls[0][0]["function"]["arguments"],
        r#"{"location":"Paris","unit":"celsius"}"#
    );
    assert_eq!(finish_reason(&chunks), "tool_calls");

    // The same parts in one generateContent reply get the same ids from the non-streaming
    // parser (the thought signature travels in the first id).
    let events: Vec<Value> = String::from_utf8(body("tool_calls"))
        .unwrap()
        .split("\r\n\r\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    let parts: Vec<Value> = events
        .iter()
        .flat_map(|e| {
            e["candidates"][0]["content"]["parts"]
                .as_array()
                .unwrap()
                .clone()
        })
        .collect();
    let mut whole = events.last().unwrap().clone();
    whole["candidates"][0]["content"]["parts"] = json!(parts);
    let parsed = gemini()
        .parse_response(
            &deployment(),
            Endpoint::ChatCompletion,
            &common::json_reply(200, whole.to_string()),
        )
        .unwrap();
    let ids: Vec<&Value> = parsed["choices"][0]["message"]["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert_eq!(ids, vec![&calls[0][0]["id"], &calls[1][0]["id"]]);
    assert!(calls[0][0]["id"]
        .as_str()
        .unwrap()
        .ends_with("CiQB0e2Kb7rW1x"));
}

#[test]
fn thought_parts_are_reasoning_content_and_max_tokens_is_length() {
    let chunks = assert_fixture("thinking");
    assert_eq!(
        joined(&chunks, "reasoning_content"),
        "**Multiplying**\n\nThe user wants 17 × 23."
    );
    assert_eq!(joined(&chunks, "content"), "17 × 23 = 391, because");
    assert_eq!(finish_reason(&chunks), "length");
    assert_eq!(
        chunks.last().unwrap()["usage"],
        json!({"prompt_tokens": 12, "completion_tokens": 36, "total_tokens": 48,
               "prompt_tokens_details": {"cached_tokens": 4},
               "completion_tokens_details": {"reasoning_tokens": 28}})
    );
}

#[test]
fn safety_finish_is_content_filter() {
    let chunks = assert_fixture("safety");
    assert_eq!(finish_reason(&chunks), "content_filter");
}

#[test]
fn a_blocked_prompt_is_a_content_policy_violation() {
    let outcome = replayed("blocked_prompt");
    assert!(outcome.chunks.is_empty());
    let (kind, status, message) = outcome.err();
    assert_eq!(*kind, ErrorKind::ContentPolicyViolationError);
    assert_eq!(*status, 400);
    assert!(message.contains("blockReason: SAFETY"), "{message}");
}

#[test]
fn error_events_are_classified_as_the_same_google_error_over_http() {
    let outcome = replayed("error_overloaded");
    assert_eq!(joined(&outcome.chunks, "content"), "Once upon a time");
    let (kind, status, message) = outcome.err();
    assert_eq!(*kind, ErrorKind::ServiceUnavailableError);
    assert_eq!(*status, 503);
    assert!(message.starts_with("The model is overloaded"), "{message}");

    let outcome = replayed("error_rate_limit");
    let (kind, status, _) = outcome.err();
    assert_eq!(*kind, ErrorKind::RateLimitError);
    assert_eq!(*status, 429);
    // RetryInfo's delay is kept, as for the HTTP error.
    let mut d = decoder();
    let e = d.feed(&body("error_rate_limit")).unwrap_err();
    assert_eq!(e.retry_after_ms, Some(38_000));
    assert!(e.from_upstream);
}

#[test]
fn a_stream_without_a_finish_reason_is_cut_short() {
    let whole = body("text");
    let last_event = String::from_utf8(whole.clone())
        .unwrap()
        .rfind("data: ")
        .unwrap();
    for cut in [last_event, last_event + 40, whole.len() - 30] {
        let outcome = replay(&decoder, &whole[..cut]);
        let (kind, _, message) = outcome.err();
        assert_eq!(*kind, ErrorKind::APIConnectionError, "cut at {cut}");
        assert!(
            message.contains("gemini stream ended before the answer was complete"),
            "{message}"
        );
        assert!(!outcome.chunks.is_empty());
    }
}

#[test]
fn an_unreadable_event_is_malformed() {
    let mut broken = body("text");
    broken.splice(0..0, b"data: {\"candidates\": [\r\n\r\n".iter().copied());
    let outcome = replay(&decoder, &broken);
    let (kind, _, message) = outcome.err();
    assert_eq!(*kind, ErrorKind::APIConnectionError);
    assert!(
        message.contains("Malformed gemini stream event"),
        "{message}"
    );
}

#[test]
fn each_candidate_is_its_own_choice_and_the_answer_ends_when_all_have_finished() {
    let chunks = assert_fixture("candidates");
    let of = |index: u64| -> Vec<&Value> {
        chunks
            .iter()
            .filter(|c| c["choices"][0]["index"] == index)
            .collect()
    };
    let text = |index: u64| -> String {
        of(index)
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect()
    };
    assert_eq!(text(0), "Red apples.");
    assert_eq!(text(1), "Blue skies and ");
    for index in [0, 1] {
        assert_eq!(of(index)[0]["choices"][0]["delta"]["role"], "assistant");
    }
    assert_eq!(of(0).last().unwrap()["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        of(1).last().unwrap()["choices"][0]["finish_reason"],
        "tool_calls"
    );
    let call = &of(1)[2]["choices"][0]["delta"]["tool_calls"][0];
    assert_eq!(call["index"], 0);
    assert_eq!(call["function"]["name"], "paint");
    // Candidate 1 never finished: the answer is incomplete.
    let whole = body("candidates");
    let last_event = String::from_utf8(whole.clone())
        .unwrap()
        .rfind("data: ")
        .unwrap();
    let (kind, _, _) = replay(&decoder, &whole[..last_event]).err().clone();
    assert_eq!(kind, ErrorKind::APIConnectionError);
}

#[test]
fn a_repeated_finish_reason_and_a_trailing_usage_event_end_the_choice_once() {
    let mut body = body("text");
    body.extend_from_slice(
        b"data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"\"}], \"role\": \"model\"}, \"finishReason\": \"STOP\", \"index\": 0}], \"usageMetadata\": {\"promptTokenCount\": 8, \"candidatesTokenCount\": 18, \"totalTokenCount\": 26}}\r\n\r\n",
    );
    let chunks = replay(&decoder, &body).ok();
    let finishes = chunks
        .iter()
        .filter(|c| !c["choices"][0]["finish_reason"].is_null())
        .count();
    assert_eq!(finishes, 1);
    assert_eq!(chunks.last().unwrap()["usage"]["total_tokens"], 26);
}

#[test]
fn only_chat_streams() {
    assert!(gemini()
        .stream_decoder(&deployment(), Endpoint::Embedding, &ctx(MODEL))
        .is_none());
}
