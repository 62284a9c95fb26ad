//! Per-second pricing on the manual clock, against LiteLLM 1.110.2's figures: a model with a
//! per-second price and no per-token price costs rate × the answering exchange's time (chat,
//! embeddings), transcription costs rate × the audio's duration, and token prices win.
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
use llmux::router::Router;
use llmux::testing::{block_on, Fakes, Step};
use llmux::types::audio::Upload;
use llmux::types::Endpoint;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::rc::Rc;

const BASE: &str = "http://d1.test/v1";

fn router(model: &str, params: Value, model_info: Value) -> (Router, Fakes) {
    let fakes = Fakes::new(3);
    let mut p = json!({"model": model, "api_base": BASE, "api_key": "k"});
    p.as_object_mut()
        .unwrap()
        .extend(params.as_object().unwrap().clone());
    let mut info = json!({"id": "d1"});
    info.as_object_mut()
        .unwrap()
        .extend(model_info.as_object().unwrap().clone());
    let options = json!({"num_retries": 0, "model_list": [
        {"model_name": "g", "litellm_params": p, "model_info": info}
    ]});
    let config = RouterConfig::parse(&options, &HashMap::new()).expect("valid config");
    (Router::new(config, fakes.ports.clone()), fakes)
}

fn body(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

/// The cost of one chat answer that takes `ms` of (virtual) time upstream.
fn chat_cost(model: &str, params: Value, model_info: Value, ms: u64) -> Option<f64> {
    let (r, fakes) = router(model, params, model_info);
    fakes
        .transport
        .script(BASE, [Step::ok_chat("hi").after(ms)]);
    let routed = block_on(r.call(
        Endpoint::ChatCompletion,
        body(json!({"model": "g", "messages": [{"role": "user", "content": "hi"}]})),
    ))
    .expect("answered");
    assert_eq!(fakes.transport.calls_to(BASE), 1);
    routed.hidden.response_cost
}

#[test]
fn a_chat_model_priced_per_second_costs_the_rate_times_the_response_time() {
    // 1.5 s × 0.25 USD/s (LiteLLM: 0.01 USD/s × 0.526 s gave 0.00526).
    assert_eq!(
        chat_cost(
            "openai/my-model",
            json!({"input_cost_per_second": 0.25}),
            json!({}),
            1500
        ),
        Some(0.375)
    );
    assert_eq!(
        chat_cost(
            "openai/my-model",
            json!({"output_cost_per_second": 0.5}),
            json!({}),
            1500
        ),
        Some(0.75)
    );
    assert_eq!(
        chat_cost(
            "openai/my-model",
            json!({"cost_per_second": 1.0}),
            json!({}),
            250
        ),
        Some(0.25)
    );
}

#[test]
fn with_both_per_second_prices_one_rate_applies_not_their_sum() {
    // LiteLLM: cost_per_second, else input_cost_per_second, else output_cost_per_second.
    let both = json!({"input_cost_per_second": 0.25, "output_cost_per_second": 4.0});
    assert_eq!(
        chat_cost("openai/my-model", both, json!({}), 2000),
        Some(0.5)
    );
}

#[test]
fn per_token_prices_win_over_per_second_prices() {
    // 10 prompt × 0.25 + 5 completion × 0.5 = 5 (LiteLLM: 0.02 at 0.001 / 0.002).
    let params = json!({"input_cost_per_second": 100.0, "input_cost_per_token": 0.25, "output_cost_per_token": 0.5});
    assert_eq!(
        chat_cost("openai/my-model", params, json!({}), 1000),
        Some(5.0)
    );
}

#[test]
fn a_per_second_price_on_a_listed_model_replaces_its_list_token_prices() {
    // gpt-4o-mini has token prices in the list; the deployment's own price is per second,
    // as LiteLLM prices it (0.01 USD/s × 0.59 s gave 0.0059 there).
    assert_eq!(
        chat_cost(
            "openai/gpt-4o-mini",
            json!({"input_cost_per_second": 0.25}),
            json!({}),
            1000
        ),
        Some(0.25)
    );
    // Without one, the list's token prices apply as before.
    let listed = chat_cost("openai/gpt-4o-mini", json!({}), json!({}), 1000).unwrap();
    assert!(listed > 0.0 && listed < 0.001, "{listed}");
}

#[test]
fn model_info_per_second_prices_count_like_litellm_params_ones() {
    assert_eq!(
        chat_cost(
            "openai/my-model",
            json!({}),
            json!({"input_cost_per_second": 0.25}),
            4000
        ),
        Some(1.0)
    );
    // litellm_params win over model_info.
    assert_eq!(
        chat_cost(
            "openai/my-model",
            json!({"input_cost_per_second": 0.5}),
            json!({"input_cost_per_second": 0.25}),
            4000
        ),
        Some(2.0)
    );
}

#[test]
fn an_embedding_priced_per_second_costs_its_response_time() {
    let (r, fakes) = router(
        "openai/my-embedder",
        json!({"input_cost_per_second": 0.25}),
        json!({}),
    );
    fakes.transport.script(
        BASE,
        [Step::json(
            200,
            json!({"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.5]}],
                   "model": "my-embedder", "usage": {"prompt_tokens": 1, "total_tokens": 1}}),
        )
        .after(3000)],
    );
    let routed = block_on(r.call(
        Endpoint::Embedding,
        body(json!({"model": "g", "input": "x"})),
    ))
    .unwrap();
    assert_eq!(routed.hidden.response_cost, Some(0.75));
}

fn transcription_cost(params: Value) -> Option<f64> {
    let (r, fakes) = router("openai/my-whisper", params, json!({}));
    fakes.transport.script(
        BASE,
        [Step::json(
            200,
            json!({"task": "transcribe", "language": "english", "duration": 12.5, "text": "hello"}),
        )
        .after(700)],
    );
    let upload = Upload {
        bytes: Rc::new(b"RIFF\0\0\0\0WAVEfmt ".to_vec()),
        filename: "a.wav".into(),
        content_type: "audio/wav".into(),
    };
    let routed = block_on(r.call_with_upload(
        Endpoint::Transcription,
        body(json!({"model": "g", "response_format": "verbose_json"})),
        Some(upload),
    ))
    .expect("answered");
    routed.hidden.response_cost
}

#[test]
fn a_transcription_costs_the_rate_times_the_audio_duration_output_rate_first() {
    // LiteLLM 1.110.2: 0.125 (input 0.01/s), 1.25 (output 0.1/s), 1.25 (both) for 12.5 s.
    assert_eq!(
        transcription_cost(json!({"input_cost_per_second": 0.25})),
        Some(3.125)
    );
    assert_eq!(
        transcription_cost(json!({"output_cost_per_second": 2.0})),
        Some(25.0)
    );
    assert_eq!(
        transcription_cost(json!({"input_cost_per_second": 0.25, "output_cost_per_second": 2.0})),
        Some(25.0)
    );
}

#[test]
fn a_bad_per_second_price_is_a_config_error_naming_the_field() {
    for (params, info, field) in [
        (
            json!({"input_cost_per_second": -1}),
            json!({}),
            "model_list[0].litellm_params.input_cost_per_second",
        ),
        (
            json!({"output_cost_per_second": "cheap"}),
            json!({}),
            "model_list[0].litellm_params.output_cost_per_second",
        ),
        (
            json!({}),
            json!({"cost_per_second": -0.5}),
            "model_list[0].model_info.cost_per_second",
        ),
    ] {
        let mut p = json!({"model": "openai/m", "api_key": "k"});
        p.as_object_mut()
            .unwrap()
            .extend(params.as_object().unwrap().clone());
        let options =
            json!({"model_list": [{"model_name": "g", "litellm_params": p, "model_info": info}]});
        let e = RouterConfig::parse(&options, &HashMap::new()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::ConfigError);
        assert_eq!(e.field.as_deref(), Some(field), "{}", e.message);
    }
}
