//! Streamed calls through the router on fakes: retries and fallbacks before the first chunk,
//! typed errors after it, stream_timeout, cancellation, backpressure and usage booking.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::result_large_err
)]

use llmux::config::RouterConfig;
use llmux::error::ErrorKind;
use llmux::ports::Clock;
use llmux::router::{ChunkStream, Router};
use llmux::testing::{block_on, chat_stream, Fakes, Piece, Step};
use llmux::types::Endpoint;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

const A: &str = "http://a.test/v1";
const B: &str = "http://b.test/v1";

fn deployment(group: &str, base: &str, id: &str) -> Value {
    json!({
        "model_name": group,
        "litellm_params": {"model": "openai/gpt-4o-mini", "api_base": base, "api_key": "sk-test"},
        "model_info": {"id": id}
    })
}

fn router_with(options: Value) -> (Router, Fakes) {
    let fakes = Fakes::new(7);
    let config = RouterConfig::parse(&options, &HashMap::new()).expect("valid config");
    (Router::new(config, fakes.ports.clone()), fakes)
}

fn two_deployments() -> (Router, Fakes) {
    router_with(json!({"model_list": [deployment("chat", A, "a"), deployment("chat", B, "b")]}))
}

fn request(extra: Value) -> Map<String, Value> {
    let mut req =
        json!({"model": "chat", "stream": true, "messages": [{"role": "user", "content": "hi"}]})
            .as_object()
            .cloned()
            .unwrap();
    if let Value::Object(m) = extra {
        req.extend(m);
    }
    req
}

/// Every chunk of the stream, or the error that ended it (with the chunks before it).
fn drain(stream: &mut ChunkStream) -> (Vec<Value>, Option<llmux::error::LlmError>) {
    let mut chunks = Vec::new();
    loop {
        match block_on(stream.next()) {
            Ok(Some(batch)) => chunks.extend(batch),
            Ok(None) => return (chunks, None),
            Err(e) => return (chunks, Some(e)),
        }
    }
}

fn text(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| {
            c.pointer("/choices/0/delta/content")
                .and_then(Value::as_str)
        })
        .collect()
}

#[test]
fn streams_chunks_and_sends_the_streaming_request() {
    let (router, fakes) = router_with(json!({"model_list": [deployment("chat", A, "a")]}));
    fakes
        .transport
        .script(A, [chat_stream(&["Hel", "lo", "!"])]);
    let mut stream =
        block_on(router.call_stream(Endpoint::ChatCompletion, request(json!({})))).unwrap();
    assert_eq!(stream.hidden().model_id, "a");
    let (chunks, err) = drain(&mut stream);
    assert!(err.is_none());
    assert_eq!(text(&chunks), "Hello!");
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "stop"
    );
    // Usage was not asked for: no usage chunk, but it is booked.
    assert!(chunks.iter().all(|c| c.get("usage").is_none()));
    let sent: Value = serde_json::from_str(
        fakes.transport.calls.borrow()[0]
            .request
            .body
            .as_deref()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["stream_options"], json!({"include_usage": true}));
    let usage = router.usage("a").unwrap();
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (9, 3));
    assert_eq!((usage.streams, usage.successes, usage.in_flight), (1, 1, 0));
}

#[test]
fn include_usage_delivers_the_usage_chunk_last() {
    let (router, fakes) = router_with(json!({"model_list": [deployment("chat", A, "a")]}));
    fakes.transport.script(A, [chat_stream(&["a", "b"])]);
    let mut stream = block_on(router.call_stream(
        Endpoint::ChatCompletion,
        request(json!({"stream_options": {"include_usage": true}})),
    ))
    .unwrap();
    let (chunks, _) = drain(&mut stream);
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["usage"]["total_tokens"], 11);
}

#[test]
fn a_failure_before_the_first_chunk_is_retried_on_another_deployment() {
    let (router, fakes) = two_deployments();
    for base in [A, B] {
        fakes.transport.script(
            base,
            [
                Step::Stream(vec![Piece::Reset("ECONNRESET".into())]),
                chat_stream(&["ok"]),
            ],
        );
    }
    let mut stream =
        block_on(router.call_stream(Endpoint::ChatCompletion, request(json!({})))).unwrap();
    // Both deployments fail once: A/B (in either order) fail, then the retry succeeds.
    assert_eq!(stream.hidden().attempts, 3);
    assert_eq!(stream.hidden().retries, 2);
    let first = fakes.transport.urls()[0].clone();
    let second = fakes.transport.urls()[1].clone();
    assert_ne!(
        first[..14],
        second[..14],
        "the retry goes to the other deployment"
    );
    let (chunks, err) = drain(&mut stream);
    assert!(err.is_none());
    assert_eq!(text(&chunks), "ok");
}

#[test]
fn an_error_status_before_the_stream_falls_back_to_another_group() {
    let (router, fakes) = router_with(json!({
        "model_list": [deployment("chat", A, "a"), deployment("backup", B, "b")],
        "fallbacks": [{"chat": ["backup"]}], "num_retries": 0,
    }));
    fakes.transport.script(A, [Step::error(500, "boom")]);
    fakes
        .transport
        .script(B, [chat_stream(&["from", " backup"])]);
    let mut stream =
        block_on(router.call_stream(Endpoint::ChatCompletion, request(json!({})))).unwrap();
    assert_eq!(stream.hidden().model_id, "b");
    assert_eq!(
        stream.hidden().fallback_model_group.as_deref(),
        Some("backup")
    );
    assert_eq!(text(&drain(&mut stream).0), "from backup");
}

#[test]
fn an_error_event_before_any_chunk_is_retried() {
    let (router, fakes) = two_deployments();
    let error = Step::Stream(vec![Piece::text(
        "data: {\"error\": {\"message\": \"overloaded\", \"type\": \"server_error\"}}\n\n",
    )]);
    fakes
        .transport
        .script(A, [error.clone(), chat_stream(&["x"])]);
    fakes.transport.script(B, [error, chat_stream(&["x"])]);
    let mut stream =
        block_on(router.call_stream(Endpoint::ChatCompletion, request(json!({})))).unwrap();
    assert_eq!(
        stream.hidden().attempts,
        3,
        "one failure on each deployment, then success"
    );
    assert_eq!(text(&drain(&mut stream).0), "x");
}

#[test]
fn a_reset_after_the_first_chunk_is_a_typed_error_without_retry() {
    let (router, fakes) = two_deployments();
    let first = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"par\"},\"finish_reason\":null}]}\n\n";
    let broken = Step::Stream(vec![Piece::text(first), Piece::Reset("ECONNRESET".into())]);
    fakes.transport.script(A, [broken.clone()]);
    fakes.transport.script(B, [broken]);
    let mut stream =
        block_on(router.call_stream(Endpoint::ChatCompletion, request(json!({})))).unwrap();
    let (chunks, err) = drain(&mut stream);
    assert_eq!(text(&chunks), "par");
    let err = err.expect("the stream ends with an error");
    assert_eq!(err.kind, ErrorKind::APIConnectionError);
    assert!(err.deployment_id.is_some());
    assert_eq!(
        fakes.transport.calls.borrow().len(),
        1,
        "no silent retry after the first chunk"
    );
    assert!(
        block_on(stream.next()).unwrap().is_none(),
        "the stream is over after its error"
    );
    let id = err.deployment_id.unwrap();
    let usage = router.usage(&id).unwrap();
    assert_eq!((usage.failures, usage.in_flight), (1, 0));
}

#[test]
fn a_stream_cut_before_done_is_an_error() {
    let (router, fakes) = router_with(json!({"model_list": [deployment("chat", A, "a")]}));
    let first = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"par\"},\"finish_reason\":null}]}\n\n";
    fakes
        .transport
        .script(A, [Step::Stream(vec![Piece::text(first)])]);
    let mut stream =
        block_on(router.call_stream(Endpoint::ChatCompletion, request(json!({})))).unwrap();
    let (_, err) = drain(&mut stream);
    assert_eq!(err.unwrap().kind, ErrorKind::APIConnectionError);
}

#[test]
fn stream_timeout_bounds_the_gap_between_chunks() {
    let (router, fakes) =
        router_with(json!({"model_list": [deployment("chat", A, "a")], "stream_timeout": 2}));
    let first = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"par\"},\"finish_reason\":null}]}\n\n";
    fakes
        .transport
        .script(A, [Step::Stream(vec![Piece::text(first), Piece::Stall])]);
    let mut stream =
        block_on(router.call_stream(Endpoint::ChatCompletion, request(json!({})))).unwrap();
    let t0 = fakes.clock.now_ms();
    let (chunks, err) = drain(&mut stream);
    assert_eq!(text(&chunks), "par");
    let err = err.unwrap();
    assert_eq!(err.kind, ErrorKind::Timeout);
    assert!(err.message.contains("stream_timeout"), "{}", err.message);
    assert_eq!(
        fakes.clock.now_ms() - t0,
        2000.0,
        "timed out after exactly stream_timeout"
    );
    assert!(
        fakes.transport.bodies()[0].cancelled.get(),
        "the stalled upstream is closed"
    );
}

#[test]
fn a_stall_before_the_first_chunk_is_retried_like_a_timeout() {
    let (router, fakes) = router_with(json!({
        "model_list": [deployment("chat", A, "a"), deployment("chat", B, "b")],
        "stream_timeout": 1,
    }));
    fakes.transport.script(
        A,
        [Step::Stream(vec![Piece::Stall]), chat_stream(&["late"])],
    );
    fakes.transport.script(
        B,
        [Step::Stream(vec![Piece::Stall]), chat_stream(&["late"])],
    );
    let mut stream = block_on(router.call_stream(
        Endpoint::ChatCompletion,
        request(json!({"stream_timeout": 0.5})),
    ))
    .unwrap();
    assert_eq!(stream.hidden().attempts, 3, "each deployment stalls once");
    assert_eq!(
        fakes.sleeper.slept.borrow()[0],
        500,
        "per-request stream_timeout wins"
    );
    assert!(fakes.transport.bodies()[0].cancelled.get());
    assert_eq!(text(&drain(&mut stream).0), "late");
}

#[test]
fn the_upstream_is_read_only_as_the_consumer_pulls() {
    let (router, fakes) = router_with(json!({"model_list": [deployment("chat", A, "a")]}));
    fakes
        .transport
        .script(A, [chat_stream(&["1", "2", "3", "4", "5", "6"])]);
    let mut stream =
        block_on(router.call_stream(Endpoint::ChatCompletion, request(json!({})))).unwrap();
    let body = fakes.transport.bodies()[0].clone();
    assert_eq!(
        body.reads.get(),
        1,
        "opening reads up to the first chunk only"
    );
    block_on(stream.next()).unwrap().unwrap();
    assert_eq!(
        body.reads.get(),
        1,
        "the buffered first chunk needs no read"
    );
    block_on(stream.next()).unwrap().unwrap();
    assert_eq!(body.reads.get(), 2, "one read per pull");
}

#[test]
fn abort_closes_the_upstream_and_books_the_delivered_part() {
    let (router, fakes) = router_with(json!({"model_list": [deployment("chat", A, "a")]}));
    fakes.transport.script(A, [chat_stream(&["1", "2", "3"])]);
    let mut stream =
        block_on(router.call_stream(Endpoint::ChatCompletion, request(json!({})))).unwrap();
    block_on(stream.next()).unwrap().unwrap();
    let handle = stream.abort_handle();
    handle.abort();
    assert!(fakes.transport.bodies()[0].cancelled.get());
    assert!(block_on(stream.next()).unwrap().is_none());
    let usage = router.usage("a").unwrap();
    assert_eq!((usage.in_flight, usage.failures), (0, 0));
}

#[test]
fn dropping_a_stream_closes_the_upstream_and_frees_its_slot() {
    let (router, fakes) = router_with(json!({"model_list": [deployment("chat", A, "a")]}));
    fakes.transport.script(A, [chat_stream(&["1", "2"])]);
    let stream =
        block_on(router.call_stream(Endpoint::ChatCompletion, request(json!({})))).unwrap();
    assert_eq!(
        router.usage("a").unwrap().in_flight,
        1,
        "an open stream is in flight"
    );
    drop(stream);
    assert!(fakes.transport.bodies()[0].cancelled.get());
    assert_eq!(router.usage("a").unwrap().in_flight, 0);
}

#[test]
fn time_to_first_chunk_feeds_latency_routing() {
    let (router, fakes) = router_with(json!({
        "model_list": [deployment("chat", A, "a")], "routing_strategy": "latency-based-routing",
    }));
    fakes.transport.script(A, [chat_stream(&["x"])]);
    let mut stream =
        block_on(router.call_stream(Endpoint::ChatCompletion, request(json!({})))).unwrap();
    drain(&mut stream);
    let report = router.usage_report();
    assert!(report["deployments"]["a"]["time_to_first_token_ms"]["p50"].is_number());
    assert_eq!(report["deployments"]["a"]["streams"], 1);
}

#[test]
fn text_completion_streams_over_a_chat_provider_as_text_chunks() {
    let (router, fakes) = router_with(json!({"model_list": [{
        "model_name": "chat",
        "litellm_params": {"model": "mistral/mistral-small", "api_base": A, "api_key": "k"},
    }]}));
    fakes.transport.script(A, [chat_stream(&["a", "b"])]);
    let mut req = request(json!({"prompt": "hi"}));
    req.remove("messages");
    let mut stream = block_on(router.call_stream(Endpoint::TextCompletion, req)).unwrap();
    let (chunks, err) = drain(&mut stream);
    assert!(err.is_none(), "{err:?}");
    assert!(chunks.iter().all(|c| c["object"] == "text_completion"));
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["text"].as_str())
        .collect();
    assert_eq!(text, "ab");
    assert!(fakes.transport.urls()[0].ends_with("/chat/completions"));
}

#[test]
fn endpoints_without_streams_and_providers_without_decoders_are_refused_before_any_call() {
    let (router, fakes) = router_with(json!({"model_list": [deployment("chat", A, "a")]}));
    let err = block_on(router.call_stream(Endpoint::Embedding, request(json!({"input": "x"}))))
        .err()
        .unwrap();
    assert_eq!(err.kind, ErrorKind::BadRequestError);
    let err = block_on(router.call(Endpoint::ChatCompletion, request(json!({}))))
        .err()
        .unwrap();
    assert_eq!(err.kind, ErrorKind::BadRequestError);
    assert_eq!(fakes.transport.calls.borrow().len(), 0);
}

fn cached_router() -> (Router, Fakes) {
    router_with(json!({"model_list": [deployment("chat", A, "a")], "cache_responses": true}))
}

#[test]
fn a_completed_stream_is_cached_and_replayed_as_chunks() {
    let (router, fakes) = cached_router();
    fakes.transport.script(A, [chat_stream(&["Hel", "lo"])]);
    let mut first =
        block_on(router.call_stream(Endpoint::ChatCompletion, request(json!({})))).unwrap();
    assert_eq!(text(&drain(&mut first).0), "Hello");
    let mut again = block_on(router.call_stream(
        Endpoint::ChatCompletion,
        request(json!({"stream_options": {"include_usage": true}})),
    ))
    .unwrap();
    assert!(again.hidden().cache_hit);
    let (chunks, err) = drain(&mut again);
    assert!(err.is_none());
    assert_eq!(text(&chunks), "Hello");
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert!(chunks
        .iter()
        .any(|c| c["choices"][0]["finish_reason"] == "stop"));
    assert_eq!(chunks.last().unwrap()["usage"]["completion_tokens"], 2);
    // A plain request for the same answer is a hit too (stream is not part of the key).
    let plain = block_on(router.call(Endpoint::ChatCompletion, {
        let mut r = request(json!({}));
        r.remove("stream");
        r
    }))
    .unwrap();
    assert!(plain.hidden.cache_hit);
    assert_eq!(plain.body["choices"][0]["message"]["content"], "Hello");
    assert_eq!(
        fakes.transport.calls.borrow().len(),
        1,
        "one upstream call in all"
    );
}

#[test]
fn failed_and_cancelled_streams_are_never_cached() {
    let (router, fakes) = cached_router();
    let first = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"par\"},\"finish_reason\":null}]}\n\n";
    fakes.transport.script(
        A,
        [
            Step::Stream(vec![Piece::text(first), Piece::Reset("ECONNRESET".into())]),
            chat_stream(&["1", "2", "3"]),
            chat_stream(&["whole"]),
        ],
    );
    let mut cut =
        block_on(router.call_stream(Endpoint::ChatCompletion, request(json!({})))).unwrap();
    assert!(drain(&mut cut).1.is_some());
    let mut left =
        block_on(router.call_stream(Endpoint::ChatCompletion, request(json!({})))).unwrap();
    block_on(left.next()).unwrap();
    left.abort();
    let mut whole =
        block_on(router.call_stream(Endpoint::ChatCompletion, request(json!({})))).unwrap();
    assert!(
        !whole.hidden().cache_hit,
        "neither the cut nor the cancelled stream was stored"
    );
    assert_eq!(text(&drain(&mut whole).0), "whole");
    assert_eq!(fakes.transport.calls.borrow().len(), 3);
}

#[test]
fn one_gap_timer_serves_many_reads_and_the_consumers_own_time_never_counts() {
    let (router, fakes) =
        router_with(json!({"model_list": [deployment("chat", A, "a")], "stream_timeout": 2}));
    let piece = |text: &str| {
        Piece::text(&format!("data: {{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{text}\"}},\"finish_reason\":null}}]}}\n\n"))
    };
    fakes.transport.script(
        A,
        [Step::Stream(vec![
            piece("a"),
            piece("b"),
            piece("c"),
            piece("d"),
            Piece::Stall,
        ])],
    );
    let mut stream =
        block_on(router.call_stream(Endpoint::ChatCompletion, request(json!({})))).unwrap();
    let mut seen = Vec::new();
    for _ in 0..4 {
        // A consumer slower than stream_timeout between reads is not a stalled upstream.
        fakes.clock.advance(5_000.0);
        seen.extend(block_on(stream.next()).unwrap().unwrap());
    }
    assert_eq!(text(&seen), "abcd");
    let asked = fakes.clock.now_ms();
    let err = block_on(stream.next()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout);
    assert_eq!(
        fakes.clock.now_ms() - asked,
        2000.0,
        "the stall is timed from its own read"
    );
    assert_eq!(
        fakes.sleeper.slept.borrow().len(),
        1,
        "one timer for every read of the stream"
    );
}
