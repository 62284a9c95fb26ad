//! The OpenAI-format stream decoder (`OpenAiStream`, shared by OpenAI, Azure and the
//! compatible presets) on streams in the documented shapes of each server
//! (`tests/fixtures/{openai,azure,compat}/stream/*.sse`): replayed whole, byte by byte and at
//! every split point, they give the chunks in the `.chunks.json` next to them; usage, wherever
//! the server puts it, ends the stream as one usage chunk; the chunks assemble into the
//! answer the same call gives unstreamed (the providers' non-streaming fixtures).
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
use llmux::providers::{self, RequestContext};
use llmux::stream::{assemble, StreamContext, StreamDecoder};
use llmux::types::Endpoint;
use serde_json::{json, Value};
use stream_replay::{expected_chunks, replay, replay_pieces, Outcome};

fn deployment(params: Value) -> Deployment {
    Deployment::parse(
        &json!({"model_name": "chat", "litellm_params": params}),
        "model_list[0]",
    )
    .unwrap()
}

fn openai() -> Deployment {
    deployment(json!({"model": "openai/gpt-4o-mini", "api_key": "sk-test"}))
}

fn azure() -> Deployment {
    deployment(json!({
        "model": "azure/gpt-4o", "api_key": "azure-key",
        "api_base": "https://my-resource.openai.azure.com/", "api_version": "2024-10-21",
    }))
}

fn preset(model: &str) -> Deployment {
    deployment(json!({"model": model, "api_key": "key"}))
}

fn decoder_for(d: &Deployment, endpoint: Endpoint) -> Box<dyn StreamDecoder> {
    let ctx = StreamContext {
        id: "chatcmpl-local".into(),
        created: 1,
        model: d.model.clone(),
    };
    providers::lookup(&d.provider)
        .unwrap()
        .stream_decoder(d, endpoint, &ctx)
        .unwrap_or_else(|| panic!("{} streams {endpoint:?}", d.provider))
}

fn run(d: &Deployment, endpoint: Endpoint, dir: &str, name: &str) -> Outcome {
    let bytes = common::fixture_bytes(dir, &format!("stream/{name}.sse"));
    replay(&|| decoder_for(d, endpoint), &bytes)
}

/// Replays a fixture that must end cleanly and checks it against its `.chunks.json`.
fn chunks_of(d: &Deployment, endpoint: Endpoint, dir: &str, name: &str) -> Vec<Value> {
    let chunks = run(d, endpoint, dir, name).ok();
    let expected = expected_chunks(dir, &format!("stream/{name}.chunks.json"), &chunks);
    assert_eq!(chunks, expected, "{dir}/{name}");
    chunks
}

/// The assembled answer agrees with the non-streaming one on what a stream carries.
fn assert_same_answer(assembled: &Value, unstreamed: &Value) {
    for key in ["id", "model", "usage"] {
        assert_eq!(assembled[key], unstreamed[key], "{key}");
    }
    assert_eq!(
        assembled["choices"][0]["finish_reason"],
        unstreamed["choices"][0]["finish_reason"]
    );
    let want = unstreamed["choices"][0]["message"].as_object().unwrap();
    let got = assembled["choices"][0]["message"].as_object().unwrap();
    for (key, value) in want {
        // No content and an empty one are the same answer.
        if value.is_null() || value == &json!([]) || value == &json!("") {
            continue;
        }
        assert_eq!(got.get(key), Some(value), "message.{key}");
    }
}

#[test]
fn openai_chat_with_include_usage_ends_with_one_usage_chunk() {
    let chunks = chunks_of(&openai(), Endpoint::ChatCompletion, "openai", "chat_usage");
    assert!(chunks[..chunks.len() - 1]
        .iter()
        .all(|c| c.get("usage").is_none()));
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["usage"]["total_tokens"], 19);
    assert_eq!(last["id"], "chatcmpl-AyPM3ZrPkEyHNZBOesQrxnGMmgwHX");
    let answer = assemble(&chunks).unwrap();
    assert_eq!(
        answer["choices"][0]["message"],
        json!({"role": "assistant", "content": "Hello! How can I assist you today?", "refusal": null})
    );
    assert_eq!(answer["created"], 1_738_960_059);
    assert_eq!(answer["system_fingerprint"], "fp_bd83329f63");
}

#[test]
fn openai_parallel_tool_calls_pass_through_and_merge_by_index() {
    let chunks = chunks_of(
        &openai(),
        Endpoint::ChatCompletion,
        "openai",
        "chat_parallel_tools",
    );
    assert!(
        chunks.iter().all(|c| c.get("usage").is_none()),
        "no usage was reported"
    );
    let answer = assemble(&chunks).unwrap();
    assert_eq!(
        answer["choices"][0]["message"]["tool_calls"],
        json!([
            {"id": "call_DdmO9pD3xa9XTPNJ32zg2hcA", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"location\": \"Paris, France\"}"}},
            {"id": "call_ABCD1234efgh5678ijkl9012", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"location\": \"Tokyo, Japan\"}"}},
        ])
    );
    assert_eq!(answer["choices"][0]["message"]["content"], Value::Null);
    assert_eq!(answer["choices"][0]["finish_reason"], "tool_calls");
    assert!(answer.get("usage").is_none());
}

#[test]
fn legacy_completions_stream_ends_with_a_text_completion_usage_chunk() {
    let d = openai();
    let chunks = chunks_of(&d, Endpoint::TextCompletion, "openai", "completion_usage");
    let last = chunks.last().unwrap();
    assert_eq!(last["object"], "text_completion");
    assert_eq!(
        last["usage"],
        json!({"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12})
    );
    let answer = assemble(&chunks).unwrap();
    assert_eq!(answer["object"], "text_completion");
    assert_eq!(answer["choices"][0]["text"], "\n\nThis is indeed a test");
    assert_eq!(answer["choices"][0]["finish_reason"], "length");
}

#[test]
fn an_in_stream_error_is_typed_and_comes_after_the_chunks_before_it() {
    let outcome = run(
        &openai(),
        Endpoint::ChatCompletion,
        "openai",
        "error_in_stream",
    );
    let (kind, status, message) = outcome.err();
    assert_eq!(*kind, ErrorKind::InternalServerError);
    assert_eq!(*status, 500);
    assert!(message.contains("The server had an error"), "{message}");
    assert_eq!(outcome.chunks.len(), 2);
    assert_eq!(
        outcome.chunks[1]["choices"][0]["delta"]["content"],
        "Once upon"
    );
}

#[test]
fn in_stream_errors_are_classified_by_code_and_type() {
    let cases = [
        (
            r#"{"error":{"message":"Rate limit reached","type":"tokens","code":"rate_limit_exceeded"}}"#,
            ErrorKind::RateLimitError,
            429,
        ),
        (
            r#"{"error":{"message":"Provider returned error","code":502}}"#,
            ErrorKind::InternalServerError,
            502,
        ),
        (
            r#"{"error":{"message":"This model's maximum context length is 8192 tokens","type":"invalid_request_error","code":"context_length_exceeded"}}"#,
            ErrorKind::ContextWindowExceededError,
            400,
        ),
    ];
    for (data, kind, status) in cases {
        let body = format!("data: {data}\n\n");
        let outcome = replay_pieces(
            decoder_for(&openai(), Endpoint::ChatCompletion),
            &[body.as_bytes()],
        );
        assert_eq!((outcome.err().0, outcome.err().1), (kind, status), "{data}");
    }
    // An `event: error` event whose data is the error itself.
    let body =
        "event: error\ndata: {\"message\":\"overloaded\",\"type\":\"service_unavailable\"}\n\n";
    let outcome = replay_pieces(
        decoder_for(&openai(), Endpoint::ChatCompletion),
        &[body.as_bytes()],
    );
    assert_eq!(outcome.err().0, ErrorKind::ServiceUnavailableError);
}

#[test]
fn a_stream_cut_before_any_finish_reason_or_done_is_a_connection_error() {
    let body = common::fixture_text("openai", "stream/chat_usage.sse");
    let cut = body.find("\"finish_reason\":\"stop\"").unwrap();
    let cut = body[..cut].rfind("data:").unwrap();
    let outcome = replay(
        &|| decoder_for(&openai(), Endpoint::ChatCompletion),
        &body.as_bytes()[..cut],
    );
    let (kind, _, message) = outcome.err();
    assert_eq!(*kind, ErrorKind::APIConnectionError);
    assert!(message.contains("openai stream ended"), "{message}");
    assert_eq!(
        outcome.chunks.len(),
        10,
        "the chunks before the cut are delivered"
    );
    // Cut after the finish reason but before `[DONE]`: the answer is complete.
    let cut = body.find("data: [DONE]").unwrap();
    let outcome = replay(
        &|| decoder_for(&openai(), Endpoint::ChatCompletion),
        &body.as_bytes()[..cut],
    );
    assert_eq!(outcome.ok().len(), 12);
}

#[test]
fn azure_filter_results_pass_through_and_assemble_into_the_unstreamed_answer() {
    let chunks = chunks_of(
        &azure(),
        Endpoint::ChatCompletion,
        "azure",
        "chat_filter_results",
    );
    assert!(chunks[0].get("prompt_filter_results").is_some());
    let last = chunks.last().unwrap();
    assert_eq!(last["id"], "chatcmpl-B6yR7yHGU7YYj2CYEt5GurtH7q7oE");
    assert_eq!(last["usage"]["total_tokens"], 1010);
    let answer = assemble(&chunks).unwrap();
    assert_eq!(answer["created"], 1_741_001_985);
    assert_same_answer(&answer, &common::fixture("azure", "chat_response.json"));
}

#[test]
fn azure_output_filter_ends_the_stream_with_content_filter() {
    let chunks = chunks_of(
        &azure(),
        Endpoint::ChatCompletion,
        "azure",
        "chat_content_filter",
    );
    let answer = assemble(&chunks).unwrap();
    assert_eq!(answer["choices"][0]["finish_reason"], "content_filter");
    assert_eq!(answer["choices"][0]["message"]["content"], "Here is how");
}

#[test]
fn groq_x_groq_usage_becomes_the_usage_chunk() {
    let d = preset("groq/llama-3.1-8b-instant");
    let chunks = chunks_of(&d, Endpoint::ChatCompletion, "compat", "groq_chat");
    assert!(chunks[..chunks.len() - 1]
        .iter()
        .all(|c| c["x_groq"].get("usage").is_none()));
    let unstreamed = providers::lookup("groq")
        .unwrap()
        .parse_response(
            &d,
            Endpoint::ChatCompletion,
            &common::json_reply(
                200,
                common::fixture_bytes("compat", "groq_chat_response.json"),
            ),
        )
        .unwrap();
    assert_same_answer(&assemble(&chunks).unwrap(), &unstreamed);
}

#[test]
fn mistral_usage_on_the_last_content_chunk_and_thinking_blocks_are_normalised() {
    let d = preset("mistral/magistral-medium-latest");
    let chunks = chunks_of(&d, Endpoint::ChatCompletion, "compat", "mistral_thinking");
    assert_eq!(
        chunks[1]["choices"][0]["delta"],
        json!({"content": "", "reasoning_content": "The user asks for 2+2."})
    );
    let last_content = &chunks[chunks.len() - 2];
    assert_eq!(last_content["choices"][0]["finish_reason"], "stop");
    assert!(last_content.get("usage").is_none());
    let unstreamed = providers::lookup("mistral")
        .unwrap()
        .parse_response(
            &d,
            Endpoint::ChatCompletion,
            &common::json_reply(
                200,
                common::fixture_bytes("compat", "mistral_chat_thinking_response.json"),
            ),
        )
        .unwrap();
    assert_same_answer(&assemble(&chunks).unwrap(), &unstreamed);
}

#[test]
fn xai_empty_finish_reason_and_reasoning_tokens_are_normalised() {
    let d = preset("xai/grok-3-mini-beta");
    let chunks = chunks_of(&d, Endpoint::ChatCompletion, "compat", "xai_tool_calls");
    let unstreamed = providers::lookup("xai")
        .unwrap()
        .parse_response(
            &d,
            Endpoint::ChatCompletion,
            &common::json_reply(
                200,
                common::fixture_bytes("compat", "xai_tool_calls_response.json"),
            ),
        )
        .unwrap();
    assert_eq!(unstreamed["usage"]["completion_tokens"], 103);
    assert_same_answer(&assemble(&chunks).unwrap(), &unstreamed);
}

#[test]
fn chunks_without_id_or_model_take_the_context_s() {
    let body = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":\"stop\"}]}\n\n\
                data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}\n\ndata: [DONE]\n\n";
    let d = preset("ollama/llama3.2");
    let chunks = replay(
        &|| decoder_for(&d, Endpoint::ChatCompletion),
        body.as_bytes(),
    )
    .ok();
    assert_eq!(chunks.len(), 2);
    for chunk in &chunks {
        assert_eq!(chunk["id"], "chatcmpl-local");
        assert_eq!(chunk["model"], "llama3.2");
        assert_eq!(chunk["created"], 1);
        assert_eq!(chunk["object"], "chat.completion.chunk");
    }
    assert_eq!(
        chunks[1]["usage"]["total_tokens"], 2,
        "a missing total is added"
    );
}

#[test]
fn streaming_requests_ask_for_usage_in_the_stream() {
    let body = json!({"model": "chat", "messages": [{"role": "user", "content": "Hi"}]});
    let Value::Object(map) = body else {
        unreachable!()
    };
    let ctx = RequestContext {
        stream: true,
        ..RequestContext::default()
    };
    for d in [openai(), azure(), preset("groq/llama-3.1-8b-instant")] {
        let request = providers::lookup(&d.provider)
            .unwrap()
            .build_request(&d, Endpoint::ChatCompletion, map.clone(), &ctx)
            .unwrap();
        let sent = common::sent_json(&request);
        assert_eq!(sent["stream"], true, "{}", d.provider);
        assert_eq!(
            sent["stream_options"],
            json!({"include_usage": true}),
            "{}",
            d.provider
        );
    }
}

/// The host reads plain chunks itself only while the decoder says so (`plain_identity`): once
/// a chunk gave the stream its identity and no event is part-read; never after `[DONE]`.
/// `plain_read` records a finish as `feed_chunks` would: the stream then ends without
/// `cut_short`.
#[test]
fn plain_identity_allows_host_reads_only_between_events() {
    let mut d = decoder_for(&openai(), Endpoint::ChatCompletion);
    assert!(d.plain_identity().is_none(), "no chunk yet");
    let first = br#"data: {"id":"c1","object":"chat.completion.chunk","created":7,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}"#;
    d.feed_chunks(first).unwrap();
    assert!(d.plain_identity().is_none(), "the event is not complete");
    assert_eq!(d.feed_chunks(b"\n\n").unwrap().len(), 1);
    let id = d.plain_identity().expect("between events, identity known");
    assert_eq!(
        (id.id, id.model, id.object, id.created),
        ("c1", "m", "chat.completion.chunk", 7)
    );
    d.feed_chunks(b"data: {\"id\"").unwrap();
    assert!(d.plain_identity().is_none(), "an event part-read");
    let mut d = decoder_for(&openai(), Endpoint::ChatCompletion);
    d.feed_chunks(&[first.as_slice(), b"\n\n"].concat())
        .unwrap();
    // The host read the finishing chunk itself: the end is not a cut.
    d.plain_read(true, false);
    d.feed_chunks(b"data: [DONE]\n\n").unwrap();
    assert!(d.plain_identity().is_none(), "after [DONE]");
    d.finish().unwrap();
    // Without the finish (and without [DONE]) the same end is a cut stream.
    let mut d = decoder_for(&openai(), Endpoint::ChatCompletion);
    d.feed_chunks(&[first.as_slice(), b"\n\n"].concat())
        .unwrap();
    d.plain_read(false, true);
    assert_eq!(d.finish().unwrap_err().kind, ErrorKind::APIConnectionError);
}

/// `feed_chunks` (the host loop's decoder, with its borrowed fast paths: plain chunks, and
/// usage-only chunks read without a `Value` of the whole chunk) decodes every usage chunk
/// shape as `feed` (the general path) does: the same chunks, the same final usage chunk,
/// the same errors, for each of the shapes the fast path must refuse.
#[test]
fn usage_only_chunks_decode_as_the_general_path_does() {
    let first = r#"{"id":"c1","object":"chat.completion.chunk","created":7,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]}"#;
    let usage = [
        // OpenAI's own, with details.
        r#"{"id":"c1","object":"chat.completion.chunk","created":7,"model":"m","system_fingerprint":"fp","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11,"prompt_tokens_details":{"cached_tokens":4}}}"#,
        // A later id, model and created: the stream's identity follows them.
        r#"{"id":"c2","object":"chat.completion.chunk","created":8,"model":"m2","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#,
        // No identity at all, blank strings, a zero `created`.
        r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}}"#,
        r#"{"id":"","model":"","object":"","created":0,"choices":[],"usage":{"prompt_tokens":3}}"#,
        // Refused by the fast path: the general path decides.
        r#"{"id":"c1","choices":[],"usage":null}"#,
        r#"{"id":"c1","choices":[],"usage":{"prompt_tokens":1},"prompt_filter_results":null}"#,
        r#"{"id":"c1","choices":[],"usage":{"prompt_tokens":1},"x_groq":{"usage":{"prompt_tokens":5}}}"#,
        r#"{"id":"c1","choices":[],"usage":{"prompt_tokens":1},"error":{"message":"boom","code":500}}"#,
        r#"{"id":7,"choices":[],"usage":{"prompt_tokens":1}}"#,
        r#"{"id":"c1","created":1.5,"choices":[],"usage":{"prompt_tokens":1}}"#,
        r#"{"id":"c1","usage":{"prompt_tokens":1}}"#,
        r#"{"id":"c1","choices":[],"usage":{"prompt_tokens":1},"usage":{"prompt_tokens":2}}"#,
        r#"{"id":"c1","choices":[],"usage":7}"#,
    ];
    for u in usage {
        let body = format!("data: {first}\n\ndata: {u}\n\ndata: [DONE]\n\n");
        let general = {
            let mut d = decoder_for(&openai(), Endpoint::ChatCompletion);
            d.feed(body.as_bytes())
                .and_then(|mut out| d.finish().map(|rest| [out.split_off(0), rest].concat()))
                .map_err(|e| (e.kind, e.message))
        };
        let host = {
            let mut d = decoder_for(&openai(), Endpoint::ChatCompletion);
            d.feed_chunks(body.as_bytes())
                .and_then(|out| {
                    let mut out: Vec<Value> =
                        out.into_iter().map(|c| c.into_value().unwrap()).collect();
                    out.extend(d.finish()?);
                    Ok(out)
                })
                .map_err(|e| (e.kind, e.message))
        };
        assert_eq!(host, general, "usage chunk {u}");
    }
}
