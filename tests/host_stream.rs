//! Streams on the host loop (`router/hoststream.rs`), driven here as the JS host drives
//! them: the test sends nothing itself, it answers each request the core builds and feeds
//! the body in pieces. Retries and fallbacks before the first chunk, a typed error after
//! it, usage booked at the end, and a stopped stream booked as delivered.
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
use llmux::ports::HttpResponse;
use llmux::router::{Fed, HostStream, Router, StreamStep};
use llmux::testing::Fakes;
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

fn router(options: Value) -> (Router, Fakes) {
    let fakes = Fakes::new(7);
    let config = RouterConfig::parse(&options, &HashMap::new()).expect("valid config");
    (Router::new(config, fakes.ports.clone()), fakes)
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

/// SSE bytes of a chat stream answering `words`, with OpenAI's final usage chunk.
fn sse(words: &[&str]) -> String {
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1_700_000_000,
               "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let mut out = String::new();
    out += &format!(
        "data: {}\n\n",
        chunk(json!({"role": "assistant"}), Value::Null)
    );
    for w in words {
        out += &format!("data: {}\n\n", chunk(json!({"content": w}), Value::Null));
    }
    out += &format!("data: {}\n\n", chunk(json!({}), json!("stop")));
    out += &format!(
        "data: {}\n\n",
        json!({"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1_700_000_000,
               "model": "gpt-4o-mini", "choices": [],
               "usage": {"prompt_tokens": 9, "completion_tokens": words.len(), "total_tokens": 9 + words.len()}})
    );
    out + "data: [DONE]\n\n"
}

/// The next request the core wants sent: its URL and body.
fn send(r: &Router, hs: &mut HostStream) -> (String, Value) {
    match r.stream_step(hs) {
        StreamStep::Send(req, timeout_ms) => {
            assert!(timeout_ms > 0);
            let body = serde_json::from_str(req.body.as_deref().unwrap()).unwrap();
            (req.url, body)
        }
        StreamStep::Wait(ms) => panic!("unexpected wait of {ms} ms"),
        StreamStep::Fail(e) => panic!("unexpected failure: {e:?}"),
        StreamStep::Wire(_) => panic!("a parsed request is sent as the core builds it"),
    }
}

fn chunks(fed: Fed) -> Vec<Value> {
    match fed {
        Fed::Chunks(c) => c.into_iter().map(|c| c.into_value().unwrap()).collect(),
        Fed::Retry => panic!("unexpected retry"),
        Fed::Failed(e) => panic!("unexpected failure: {e:?}"),
    }
}

fn content(chunks: &[Value]) -> String {
    chunks
        .iter()
        .filter_map(|c| {
            c.pointer("/choices/0/delta/content")
                .and_then(Value::as_str)
        })
        .collect()
}

#[test]
fn a_failed_status_before_the_first_chunk_retries_on_the_other_deployment() {
    let (r, _f) = router(
        json!({"model_list": [deployment("chat", A, "a"), deployment("chat", B, "b")],
        "num_retries": 1}),
    );
    let mut hs = r
        .begin_host_stream(Endpoint::ChatCompletion, request(json!({})))
        .unwrap();
    let (url, body) = send(&r, &mut hs);
    assert_eq!(body["stream"], json!(true));
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    assert_eq!(body["model"], json!("gpt-4o-mini"));
    let first_is_a = url.starts_with(A);
    r.stream_replied(
        &mut hs,
        HttpResponse {
            status: 503,
            headers: vec![],
            body: br#"{"error":{"message":"overloaded"}}"#.to_vec(),
        },
    );
    // The retry may wait a backoff first.
    let url2 = loop {
        match r.stream_step(&mut hs) {
            StreamStep::Send(req, _) => break req.url,
            StreamStep::Wait(_) => continue,
            StreamStep::Fail(e) => panic!("{e:?}"),
            StreamStep::Wire(_) => panic!("a parsed request is sent as the core builds it"),
        }
    };
    assert_ne!(
        url2.starts_with(A),
        first_is_a,
        "the retry goes to the other deployment"
    );
    // The body split at every fourth byte: the chunks come out whole.
    let bytes = sse(&["Hel", "lo"]).into_bytes();
    let mut out = Vec::new();
    for piece in bytes.chunks(4) {
        out.extend(chunks(r.stream_feed(&mut hs, piece)));
    }
    out.extend(chunks(r.stream_end(&mut hs)));
    assert_eq!(content(&out), "Hello");
    // No usage chunk: the caller did not ask for `include_usage`.
    assert!(out
        .iter()
        .all(|c| c.get("usage").is_none_or(Value::is_null)));
    assert_eq!(out.len(), 4, "role, two words and the finish chunk");
    let answered = if first_is_a { "b" } else { "a" };
    let usage = r.usage(answered).unwrap();
    assert_eq!(
        (
            usage.successes,
            usage.prompt_tokens,
            usage.completion_tokens
        ),
        (1, 9, 2)
    );
    let hidden = serde_json::to_value(r.stream_hidden(&hs).unwrap()).unwrap();
    assert_eq!(hidden["model_id"], json!(answered));
    assert!(hidden["response_cost"].as_f64().unwrap() > 0.0);
}

#[test]
fn include_usage_keeps_the_usage_chunk_and_a_body_without_chunks_is_retried() {
    let (r, _f) = router(json!({"model_list": [deployment("chat", A, "a")], "num_retries": 1}));
    let mut hs = r
        .begin_host_stream(
            Endpoint::ChatCompletion,
            request(json!({"stream_options": {"include_usage": true}})),
        )
        .unwrap();
    send(&r, &mut hs);
    assert!(matches!(r.stream_feed(&mut hs, b"data: [DONE]\n\n"), Fed::Chunks(c) if c.is_empty()));
    assert!(matches!(r.stream_end(&mut hs), Fed::Retry));
    let _ = loop {
        match r.stream_step(&mut hs) {
            StreamStep::Send(req, _) => break req,
            StreamStep::Wait(_) => continue,
            StreamStep::Fail(e) => panic!("{e:?}"),
            StreamStep::Wire(_) => panic!("a parsed request is sent as the core builds it"),
        }
    };
    let mut out = chunks(r.stream_feed(&mut hs, sse(&["ok"]).as_bytes()));
    out.extend(chunks(r.stream_end(&mut hs)));
    assert_eq!(content(&out), "ok");
    assert_eq!(out.last().unwrap()["usage"]["prompt_tokens"], json!(9));
    assert_eq!(r.usage("a").unwrap().failures, 1);
}

#[test]
fn an_error_after_the_first_chunk_ends_the_stream_with_no_retry() {
    let (r, f) = router(
        json!({"model_list": [deployment("chat", A, "a"), deployment("chat", B, "b")],
        "num_retries": 3}),
    );
    let mut hs = r
        .begin_host_stream(Endpoint::ChatCompletion, request(json!({})))
        .unwrap();
    let (url, _) = send(&r, &mut hs);
    let id = if url.starts_with(A) { "a" } else { "b" };
    let first = sse(&["partial"]);
    // Up to the end of the second event (role, then "partial").
    let cut = first.match_indices("\n\n").nth(1).unwrap().0 + 2;
    let out = chunks(r.stream_feed(&mut hs, &first.as_bytes()[..cut]));
    assert!(!out.is_empty());
    let error = br#"data: {"error":{"message":"server had an error","type":"server_error"}}

"#;
    let Fed::Failed(e) = r.stream_feed(&mut hs, error) else {
        panic!("expected the stream to fail");
    };
    assert_eq!(e.kind, ErrorKind::InternalServerError);
    let usage = r.usage(id).unwrap();
    assert_eq!((usage.failures, usage.successes), (1, 0));
    assert_eq!(f.transport.urls().len(), 0, "the core sent nothing itself");
}

#[test]
fn a_timeout_after_the_first_chunk_is_a_timeout_error_and_a_stop_books_what_was_delivered() {
    let (r, _f) = router(json!({"model_list": [deployment("chat", A, "a")]}));
    let mut hs = r
        .begin_host_stream(Endpoint::ChatCompletion, request(json!({})))
        .unwrap();
    send(&r, &mut hs);
    let body = sse(&["a", "b"]);
    let out = chunks(r.stream_feed(&mut hs, &body.as_bytes()[..body.len() / 2]));
    assert!(!out.is_empty());
    let e = r.stream_unreachable(&mut hs, true, "aborted").unwrap();
    assert_eq!(e.kind, ErrorKind::Timeout);

    let mut hs = r
        .begin_host_stream(Endpoint::ChatCompletion, request(json!({})))
        .unwrap();
    send(&r, &mut hs);
    chunks(r.stream_feed(&mut hs, &body.as_bytes()[..body.len() / 2]));
    r.stream_abort(&mut hs);
    let usage = r.usage("a").unwrap();
    assert_eq!((usage.successes, usage.failures), (1, 1));
    assert!(
        usage.completion_tokens > 0,
        "the stopped stream's usage is estimated"
    );
}

#[test]
fn every_deployment_failing_before_a_chunk_fails_the_call_with_the_last_error() {
    let (r, _f) = router(json!({"model_list": [deployment("chat", A, "a")]}));
    let mut hs = r
        .begin_host_stream(Endpoint::ChatCompletion, request(json!({"num_retries": 0})))
        .unwrap();
    send(&r, &mut hs);
    r.stream_replied(
        &mut hs,
        HttpResponse {
            status: 401,
            headers: vec![],
            body: br#"{"error":{"message":"bad key"}}"#.to_vec(),
        },
    );
    match r.stream_step(&mut hs) {
        StreamStep::Fail(e) => assert_eq!(e.kind, ErrorKind::AuthenticationError),
        _ => panic!("expected the call to fail"),
    }
    assert!(r.stream_hidden(&hs).is_none());
}

#[test]
fn a_stream_longer_or_larger_than_its_ceilings_ends_with_a_typed_error() {
    let (r, f) = router(json!({"model_list": [deployment("chat", A, "a")],
        "max_response_bytes": 400, "max_stream_duration": 60}));
    let body = sse(&["x"; 20]);
    // Too large before the first chunk arrives: the attempt fails (retried if allowed).
    let mut hs = r
        .begin_host_stream(Endpoint::ChatCompletion, request(json!({"num_retries": 0})))
        .unwrap();
    send(&r, &mut hs);
    assert!(matches!(r.stream_feed(&mut hs, &[b' '; 401]), Fed::Retry));
    match r.stream_step(&mut hs) {
        StreamStep::Fail(e) => {
            assert_eq!(e.kind, ErrorKind::APIConnectionError);
            assert!(
                e.message.contains("max_response_bytes (400 bytes)"),
                "{}",
                e.message
            );
        }
        _ => panic!("expected the call to fail"),
    }
    // Too large after it: the stream ends with the error.
    let mut hs = r
        .begin_host_stream(Endpoint::ChatCompletion, request(json!({})))
        .unwrap();
    send(&r, &mut hs);
    let events: Vec<&str> = body.split_inclusive("\n\n").collect();
    let mut fed = 0;
    let mut failed = None;
    for e in events {
        fed += e.len();
        match r.stream_feed(&mut hs, e.as_bytes()) {
            Fed::Chunks(_) => {}
            Fed::Retry => panic!("retried after the first chunk"),
            Fed::Failed(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    let e = failed.expect("the stream exceeded 400 bytes");
    assert!(fed > 400);
    assert_eq!(e.kind, ErrorKind::APIConnectionError);
    // Longer than max_stream_duration (virtual time): a Timeout.
    let mut hs = r
        .begin_host_stream(Endpoint::ChatCompletion, request(json!({})))
        .unwrap();
    send(&r, &mut hs);
    let first = body.split_inclusive("\n\n").next().unwrap();
    let first2 = body.split_inclusive("\n\n").nth(1).unwrap();
    chunks(r.stream_feed(&mut hs, first.as_bytes()));
    chunks(r.stream_feed(&mut hs, first2.as_bytes()));
    f.clock.advance(60_001.0);
    let Fed::Failed(e) = r.stream_feed(&mut hs, b": ping\n\n") else {
        panic!("expected the stream to end");
    };
    assert_eq!(e.kind, ErrorKind::Timeout);
    assert!(e.message.contains("max_stream_duration"), "{}", e.message);
}

#[test]
fn response_ceilings_are_validated() {
    let bad = RouterConfig::parse(
        &json!({"model_list": [deployment("chat", A, "a")], "max_response_bytes": 0}),
        &HashMap::new(),
    )
    .unwrap_err();
    assert!(
        bad.message.contains("max_response_bytes"),
        "{}",
        bad.message
    );
    let bad = RouterConfig::parse(
        &json!({"model_list": [deployment("chat", A, "a")], "max_stream_duration": -1}),
        &HashMap::new(),
    )
    .unwrap_err();
    assert!(
        bad.message.contains("max_stream_duration"),
        "{}",
        bad.message
    );
}

#[test]
fn chunks_that_need_no_change_pass_through_as_their_text_and_the_rest_are_normalised() {
    let (r, _f) = router(json!({"model_list": [deployment("chat", A, "a")]}));
    let mut hs = r
        .begin_host_stream(Endpoint::ChatCompletion, request(json!({})))
        .unwrap();
    send(&r, &mut hs);
    // OpenAI's own shape (with `usage: null` and fields the router does not read): as sent.
    let plain = r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"caf\u00e9"},"logprobs":null,"finish_reason":null}],"usage":null}"#;
    let Fed::Chunks(out) = r.stream_feed(&mut hs, format!("data: {plain}\n\n").as_bytes()) else {
        panic!("expected chunks");
    };
    assert_eq!(
        out,
        vec![llmux::stream::Chunk::Raw {
            text: plain.to_string(),
            chars: 5
        }]
    );
    // A choice without a delta and an empty finish_reason: normalised, as a value.
    let odd = r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"finish_reason":""}]}"#;
    let Fed::Chunks(out) = r.stream_feed(
        &mut hs,
        format!("data: {odd}\n\ndata: [DONE]\n\n").as_bytes(),
    ) else {
        panic!("expected chunks");
    };
    let [llmux::stream::Chunk::Value(v)] = out.as_slice() else {
        panic!("expected one normalised chunk: {out:?}");
    };
    assert_eq!(v["choices"][0]["delta"], json!({}));
    assert_eq!(v["choices"][0]["finish_reason"], json!("stop"));
    chunks(r.stream_end(&mut hs));
    let usage = r.usage("a").unwrap();
    assert_eq!(usage.successes, 1);
    assert!(
        usage.completion_tokens >= 1,
        "estimated from the 5 characters delivered"
    );
}

/// Plain chunks the host reads itself (`stream_plain_read`): their bytes count against the
/// reply ceilings (virtual time too) and end the stream with the typed error, booked; the
/// host may read only while the stream is live and keeps no chunk text of its own.
#[test]
fn host_read_pieces_count_against_the_ceilings_and_only_live_streams_allow_them() {
    let (r, f) = router(json!({"model_list": [deployment("chat", A, "a")],
        "max_response_bytes": 400, "max_stream_duration": 60}));
    let body = sse(&["x"; 20]);
    let events: Vec<&str> = body.split_inclusive("\n\n").collect();
    let mut hs = r
        .begin_host_stream(Endpoint::ChatCompletion, request(json!({})))
        .unwrap();
    send(&r, &mut hs);
    assert!(r.stream_plain_identity(&hs).is_none(), "not live yet");
    assert!(r.stream_plain_read(&mut hs, 1, 0, false, false).is_some());
    chunks(r.stream_feed(&mut hs, events[0].as_bytes()));
    let id = r.stream_plain_identity(&hs).expect("live, between events");
    assert_eq!(id.id, "chatcmpl-s");
    let mut fed = events[0].len();
    let mut failed = None;
    for e in &events[1..] {
        fed += e.len();
        if let Some(e) = r.stream_plain_read(&mut hs, e.len(), 1, false, false) {
            failed = Some(e);
            break;
        }
    }
    let e = failed.expect("the host-read pieces exceeded 400 bytes");
    assert!(fed > 400);
    assert_eq!(e.kind, ErrorKind::APIConnectionError);
    assert!(e.message.contains("max_response_bytes"), "{}", e.message);
    assert!(r.stream_plain_identity(&hs).is_none(), "the stream is over");
    // Longer than max_stream_duration.
    let mut hs = r
        .begin_host_stream(Endpoint::ChatCompletion, request(json!({})))
        .unwrap();
    send(&r, &mut hs);
    chunks(r.stream_feed(&mut hs, events[0].as_bytes()));
    assert!(r.stream_plain_read(&mut hs, 10, 1, false, false).is_none());
    f.clock.advance(60_001.0);
    let e = r
        .stream_plain_read(&mut hs, 10, 1, false, false)
        .expect("too long");
    assert_eq!(e.kind, ErrorKind::Timeout);
    // A stream that may be continued on a fallback keeps its text: the core decodes it all.
    let (r, _f) = router(json!({"model_list": [deployment("chat", A, "a")],
        "enable_mid_stream_fallback_continuation": true}));
    let mut hs = r
        .begin_host_stream(Endpoint::ChatCompletion, request(json!({})))
        .unwrap();
    send(&r, &mut hs);
    chunks(r.stream_feed(&mut hs, events[0].as_bytes()));
    assert!(
        r.stream_plain_identity(&hs).is_none(),
        "continuable streams are decoded by the core"
    );
}

/// A stream on the wire path (`begin_wire_stream`): the request's JSON text, not parsed.
fn wire_stream(r: &Router, model: &str, include_usage: bool) -> HostStream {
    let text = json!({"model": model, "stream": true,
        "messages": [{"role": "user", "content": "a prompt of some forty characters, or so"}]})
    .to_string();
    r.begin_wire_stream(
        Endpoint::ChatCompletion,
        model,
        include_usage,
        Some("call-1".into()),
        text,
    )
    .unwrap()
}

#[test]
fn the_wire_path_lets_the_host_send_openai_attempts_and_builds_the_others_from_the_text() {
    let (r, _f) = router(json!({
        "model_list": [
            deployment("chat", A, "a"),
            {"model_name": "claude", "litellm_params": {"model": "anthropic/claude-3-5-haiku-latest", "api_key": "sk-ant"},
             "model_info": {"id": "c"}},
        ],
        "fallbacks": [{"chat": ["claude"]}],
        "num_retries": 0,
        "stream_timeout": 7,
    }));
    let mut hs = wire_stream(&r, "chat", false);
    // The OpenAI deployment: the host sends it, as the deployment's wire describes.
    let d = match r.stream_step(&mut hs) {
        StreamStep::Wire(d) => d,
        _ => panic!("an OpenAI attempt on the wire path is the host's to send"),
    };
    assert_eq!(d.id, "a");
    let wire = r.wire(&d, Endpoint::ChatCompletion).unwrap();
    assert_eq!(wire.url, format!("{A}/chat/completions"));
    assert_eq!(wire.model, "gpt-4o-mini");
    assert_eq!(wire.stream_timeout_ms, 7_000);
    let (deployment, endpoint) = r.stream_deployment(&hs).unwrap();
    assert_eq!(
        (deployment.id.as_str(), endpoint),
        ("a", Endpoint::ChatCompletion)
    );
    r.stream_replied(
        &mut hs,
        HttpResponse {
            status: 500,
            headers: vec![],
            body: br#"{"error":{"message":"down"}}"#.to_vec(),
        },
    );
    // The fallback translates: the core parses the request text and builds the attempt.
    let request = loop {
        match r.stream_step(&mut hs) {
            StreamStep::Send(req, _) => break req,
            StreamStep::Wait(_) => continue,
            StreamStep::Fail(e) => panic!("{e:?}"),
            StreamStep::Wire(_) => panic!("anthropic is not sent by the host"),
        }
    };
    let (url, body): (String, Value) = (
        request.url,
        serde_json::from_str(request.body.as_deref().unwrap()).unwrap(),
    );
    assert!(url.contains("anthropic.com"), "{url}");
    assert_eq!(
        body["messages"][0]["content"][0]["text"],
        json!("a prompt of some forty characters, or so")
    );
    assert_eq!(body["stream"], json!(true));
}

#[test]
fn a_wire_path_stream_books_usage_and_estimates_it_from_the_text_when_stopped() {
    let (r, _f) = router(json!({"model_list": [deployment("chat", A, "a")]}));
    let mut hs = wire_stream(&r, "chat", true);
    assert!(matches!(r.stream_step(&mut hs), StreamStep::Wire(_)));
    let body = sse(&["Hel", "lo"]);
    let mut out = chunks(r.stream_feed(&mut hs, body.as_bytes()));
    out.extend(chunks(r.stream_end(&mut hs)));
    assert_eq!(content(&out), "Hello");
    // `include_usage` read by the host: the usage chunk is delivered.
    assert_eq!(out.last().unwrap()["usage"]["prompt_tokens"], json!(9));
    let usage = r.usage("a").unwrap();
    assert_eq!((usage.successes, usage.prompt_tokens), (1, 9));

    // Stopped before any usage: the prompt is estimated from the request's text.
    let mut hs = wire_stream(&r, "chat", false);
    assert!(matches!(r.stream_step(&mut hs), StreamStep::Wire(_)));
    chunks(r.stream_feed(&mut hs, &body.as_bytes()[..body.len() / 2]));
    r.stream_abort(&mut hs);
    let after = r.usage("a").unwrap();
    assert_eq!(after.successes, 2);
    assert!(
        after.prompt_tokens > 9,
        "the stopped stream's prompt is estimated from its text"
    );
}

#[test]
fn the_wire_path_refuses_a_blank_group_and_endpoints_that_do_not_stream() {
    let (r, _f) = router(json!({"model_list": [deployment("chat", A, "a")]}));
    let e = r
        .begin_wire_stream(Endpoint::ChatCompletion, "", false, None, "{}".into())
        .err()
        .unwrap();
    assert!(e.message.contains("`model`"), "{}", e.message);
    let e = r
        .begin_wire_stream(Endpoint::Embedding, "chat", false, None, "{}".into())
        .err()
        .unwrap();
    assert!(e.message.contains("stream: true"), "{}", e.message);
}
