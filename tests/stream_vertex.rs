//! Vertex AI streaming: Gemini models' `:streamGenerateContent?alt=sse` request (same body and
//! token as `generateContent`) and SSE replies (`tests/fixtures/vertex/stream/`, with Vertex's
//! `createTime` and `trafficType`) replayed at every split point through the Gemini decoder;
//! Claude's `:streamRawPredict` request.
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
use replay::replay;
use serde_json::{json, Value};

const PROJECT: &str = "llmux-test-project";
const TOKEN: &str = "ya29.c.c0ASRK0GbTestAccessToken";
const GEMINI: &str = "gemini-2.5-flash";
const CLAUDE: &str = "claude-sonnet-4-5@20250929";

/// The stream context every fixture's expected chunks are stamped with.
fn ctx(model: &str) -> StreamContext {
    StreamContext {
        id: "chatcmpl-llmux-stream-test".into(),
        created: 1_764_112_500,
        model: model.into(),
    }
}

fn deployment(model: &str, extra: Value) -> Deployment {
    let mut params = json!({
        "model": format!("vertex_ai/{model}"),
        "vertex_project": PROJECT,
        "vertex_location": "us-central1",
        "api_key": TOKEN,
    });
    params
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    Deployment::parse(
        &json!({"model_name": "vertex-group", "litellm_params": params}),
        "model_list[0]",
    )
    .unwrap()
}

fn vertex() -> &'static dyn Provider {
    providers::lookup("vertex_ai").expect("vertex_ai is registered")
}

fn build(d: &Deployment, body: Value, stream: bool) -> HttpRequest {
    let ctx = RequestContext {
        timeout_ms: 30_000,
        now_ms: 1_750_000_000_000.0,
        bearer_token: None,
        stream,
        entropy: 0,
    };
    vertex()
        .build_request(
            d,
            Endpoint::ChatCompletion,
            body.as_object().unwrap().clone(),
            &ctx,
        )
        .unwrap()
}

fn decoder() -> Box<dyn StreamDecoder> {
    vertex()
        .stream_decoder(
            &deployment(GEMINI, json!({})),
            Endpoint::ChatCompletion,
            &ctx(GEMINI),
        )
        .expect("vertex streams gemini chat")
}

fn chat() -> Value {
    json!({"messages": [{"role": "user", "content": "Say hello"}], "max_tokens": 50})
}

#[test]
fn gemini_streaming_request_posts_the_same_body_to_stream_generate_content() {
    let d = deployment(GEMINI, json!({}));
    let plain = build(&d, chat(), false);
    let streamed = build(&d, chat(), true);
    assert_eq!(
        streamed.url,
        format!("https://us-central1-aiplatform.googleapis.com/v1/projects/{PROJECT}/locations/us-central1/publishers/google/models/{GEMINI}:streamGenerateContent?alt=sse")
    );
    assert!(plain.url.ends_with(":generateContent"));
    assert_eq!(streamed.body, plain.body);
    assert_eq!(streamed.headers, plain.headers);
    assert_eq!(
        streamed.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );

    // An api_base that names the model gets the method appended, as for generateContent.
    let gateway = "https://gateway.ai.cloudflare.com/v1/acct/gw/google-vertex-ai/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash";
    let d = deployment(GEMINI, json!({"api_base": gateway}));
    assert_eq!(
        build(&d, chat(), true).url,
        format!("{gateway}:streamGenerateContent?alt=sse")
    );
}

#[test]
fn claude_streams_stream_raw_predict_through_the_anthropic_decoder_with_the_deployment_model() {
    let d = deployment(CLAUDE, json!({}));
    let plain = build(&d, chat(), false);
    let streamed = build(&d, chat(), true);
    assert!(streamed.url.ends_with(&format!(
        "/publishers/anthropic/models/{CLAUDE}:streamRawPredict"
    )));
    let mut expected = common::sent_json(&plain);
    expected["stream"] = json!(true);
    assert_eq!(common::sent_json(&streamed), expected);

    // Anthropic's recorded stream gives the anthropic decoder's chunks, but for the model,
    // which is the deployment's (as the non-streaming reply has it).
    let claude = || {
        vertex()
            .stream_decoder(&d, Endpoint::ChatCompletion, &ctx(CLAUDE))
            .expect("vertex streams claude chat")
    };
    let body = common::fixture_bytes("anthropic/stream", "text.sse");
    let chunks = replay(&claude, &body).ok();
    let want = common::fixture("anthropic/stream", "text.chunks.json");
    let strip = |c: &Value| {
        let mut c = c.clone();
        c.as_object_mut().unwrap().remove("created");
        c.as_object_mut().unwrap().remove("model");
        c
    };
    assert_eq!(
        chunks.iter().map(strip).collect::<Vec<_>>(),
        want.as_array()
            .unwrap()
            .iter()
            .map(strip)
            .collect::<Vec<_>>()
    );
    assert!(chunks.iter().all(|c| c["model"] == CLAUDE));
}

#[test]
fn gemini_stream_replays_into_the_expected_chunks() {
    let body = common::fixture_bytes("vertex/stream", "gemini_text.sse");
    let chunks = replay(&decoder, &body).ok();
    assert_eq!(
        chunks,
        replay::expected_chunks("vertex/stream", "gemini_text.chunks.json", &chunks)
    );
    assert_eq!(chunks[0]["id"], "x1RAaIbNOcbSmecP3Pn3uAk");
    // `created` is the router's clock, as for every stream.
    assert_eq!(chunks[0]["created"], 1_764_112_500);
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Vertex says hello ");
    assert_eq!(
        chunks[chunks.len() - 2]["choices"][0]["finish_reason"],
        "tool_calls"
    );
    assert_eq!(
        chunks.last().unwrap()["usage"],
        json!({"prompt_tokens": 6, "completion_tokens": 9, "total_tokens": 15})
    );
}

#[test]
fn quota_error_event_is_a_rate_limit_and_a_cut_stream_names_vertex() {
    let body = common::fixture_bytes("vertex/stream", "gemini_error_quota.sse");
    let outcome = replay(&decoder, &body);
    let (kind, status, message) = outcome.err();
    assert_eq!((*kind, *status), (ErrorKind::RateLimitError, 429));
    assert!(message.contains("RESOURCE_EXHAUSTED"), "{message}");

    let body = common::fixture_bytes("vertex/stream", "gemini_text.sse");
    let outcome = replay(&decoder, &body[..body.len() / 2]);
    let (kind, _, message) = outcome.err();
    assert_eq!(*kind, ErrorKind::APIConnectionError);
    assert!(
        message.contains("vertex_ai stream ended before the answer was complete"),
        "{message}"
    );
}

#[test]
fn embeddings_do_not_stream() {
    assert!(vertex()
        .stream_decoder(
            &deployment("text-embedding-005", json!({})),
            Endpoint::Embedding,
            &ctx("text-embedding-005"),
        )
        .is_none());
}
