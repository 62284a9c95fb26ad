//! Pre-call checks (context window, rpm/tpm) and parallel limits, on fakes in virtual time.
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
use llmux::router::Router;
use llmux::testing::{block_on, yield_now, Fakes, Gate, Step};
use llmux::types::Endpoint;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::rc::Rc;

const A: &str = "http://a.test/v1";
const B: &str = "http://b.test/v1";
const C: &str = "http://c.test/v1";

fn deployment(group: &str, base: &str, id: &str, extra: Value) -> Value {
    let mut params = json!({"model": "openai/gpt-4o-mini", "api_base": base, "api_key": "sk-test"});
    let mut info = json!({"id": id});
    if let Some(obj) = extra.as_object() {
        for (k, v) in obj {
            if k.starts_with("max_input") || k == "max_tokens" {
                info[k] = v.clone();
            } else {
                params[k] = v.clone();
            }
        }
    }
    json!({"model_name": group, "litellm_params": params, "model_info": info})
}

fn router_with(options: Value) -> (Router, Fakes) {
    let fakes = Fakes::new(17);
    let config = RouterConfig::parse(&options, &HashMap::new()).expect("valid config");
    (Router::new(config, fakes.ports.clone()), fakes)
}

fn chat_of(model: &str, chars: usize) -> Map<String, Value> {
    let content = "x".repeat(chars);
    json!({"model": model, "messages": [{"role": "user", "content": content}]})
        .as_object()
        .cloned()
        .unwrap()
}

#[test]
fn pre_call_checks_skip_deployments_whose_context_window_is_too_small() {
    let options = json!({
        "enable_pre_call_checks": true,
        "model_list": [
            deployment("chat", A, "small", json!({"max_input_tokens": 100})),
            deployment("chat", B, "big", json!({"max_input_tokens": 100_000}))
        ]
    });
    let (router, fakes) = router_with(options);
    for _ in 0..10 {
        // ~1,000 estimated tokens: only "big" fits.
        let r = block_on(router.call(Endpoint::ChatCompletion, chat_of("chat", 4000))).unwrap();
        assert_eq!(r.hidden.model_id, "big");
    }
    assert_eq!(fakes.transport.calls_to(A), 0);
}

#[test]
fn prompt_too_large_for_every_deployment_goes_to_context_window_fallbacks() {
    let options = json!({
        "enable_pre_call_checks": true,
        "model_list": [
            deployment("chat", A, "small", json!({"max_input_tokens": 100})),
            deployment("long", C, "long", json!({"max_input_tokens": 1_000_000}))
        ],
        "context_window_fallbacks": [{"chat": ["long"]}]
    });
    let (router, fakes) = router_with(options);
    let r = block_on(router.call(Endpoint::ChatCompletion, chat_of("chat", 4000))).unwrap();
    assert_eq!(r.hidden.model_group, "long");
    assert_eq!(
        fakes.transport.calls_to(A),
        0,
        "the small deployment is never called"
    );
}

#[test]
fn prompt_too_large_without_fallbacks_is_context_window_exceeded() {
    let options = json!({
        "enable_pre_call_checks": true,
        "model_list": [deployment("chat", A, "small", json!({"max_input_tokens": 100}))]
    });
    let (router, fakes) = router_with(options);
    let e = block_on(router.call(Endpoint::ChatCompletion, chat_of("chat", 4000))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::ContextWindowExceededError);
    assert_eq!(e.attempts, Some(0));
    assert_eq!(fakes.transport.calls.borrow().len(), 0);
}

#[test]
fn without_pre_call_checks_the_context_window_is_not_checked() {
    let options =
        json!({"model_list": [deployment("chat", A, "small", json!({"max_input_tokens": 100}))]});
    let (router, fakes) = router_with(options);
    block_on(router.call(Endpoint::ChatCompletion, chat_of("chat", 4000))).unwrap();
    assert_eq!(fakes.transport.calls_to(A), 1);
}

#[test]
fn bundled_price_data_supplies_the_context_window() {
    // gpt-4o-mini's context window in the bundled data is 128k tokens.
    let options = json!({
        "enable_pre_call_checks": true,
        "model_list": [deployment("chat", A, "mini", json!({}))]
    });
    let (router, _) = router_with(options);
    assert!(block_on(router.call(Endpoint::ChatCompletion, chat_of("chat", 100_000))).is_ok());
    let e =
        block_on(router.call(Endpoint::ChatCompletion, chat_of("chat", 1_000_000))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::ContextWindowExceededError);
}

#[test]
fn rpm_limits_skip_a_deployment_until_the_next_minute() {
    let options = json!({
        "enable_pre_call_checks": true,
        "model_list": [
            deployment("chat", A, "a", json!({"rpm": 2})),
            deployment("chat", B, "b", json!({"rpm": 3}))
        ]
    });
    let (router, fakes) = router_with(options);
    fakes.clock.set(120_000.0);
    for _ in 0..5 {
        block_on(router.call(Endpoint::ChatCompletion, chat_of("chat", 10))).unwrap();
    }
    assert_eq!(
        (fakes.transport.calls_to(A), fakes.transport.calls_to(B)),
        (2, 3)
    );
    let e = block_on(router.call(Endpoint::ChatCompletion, chat_of("chat", 10))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimitError);
    assert_eq!(e.retry_after_ms, Some(60_000));
    fakes.clock.set(180_000.0);
    assert!(block_on(router.call(Endpoint::ChatCompletion, chat_of("chat", 10))).is_ok());
}

#[test]
fn tpm_limits_count_the_tokens_of_answered_requests() {
    // Each fake answer reports 15 tokens; tpm 30 allows two answers per minute.
    let options = json!({
        "enable_pre_call_checks": true,
        "model_list": [deployment("chat", A, "a", json!({"tpm": 30}))]
    });
    let (router, fakes) = router_with(options);
    fakes.clock.set(60_000.0);
    for _ in 0..2 {
        block_on(router.call(Endpoint::ChatCompletion, chat_of("chat", 10))).unwrap();
    }
    let e = block_on(router.call(Endpoint::ChatCompletion, chat_of("chat", 10))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimitError);
    assert_eq!(fakes.transport.calls_to(A), 2);
}

#[test]
fn a_deployment_at_its_parallel_limit_is_skipped() {
    let options = json!({
        "model_list": [
            deployment("chat", A, "a", json!({"max_parallel_requests": 1, "weight": 1000})),
            deployment("chat", B, "b", json!({"weight": 1}))
        ]
    });
    let (router, fakes) = router_with(options);
    let gate = Rc::new(Gate::default());
    fakes
        .transport
        .script(A, [Step::Held(Rc::clone(&gate), "held".into())]);
    let first = router.call(Endpoint::ChatCompletion, chat_of("chat", 10));
    let rest = async {
        yield_now().await; // the first request is now in flight on A
        let mut ids = Vec::new();
        for _ in 0..5 {
            ids.push(
                router
                    .call(Endpoint::ChatCompletion, chat_of("chat", 10))
                    .await
                    .unwrap()
                    .hidden
                    .model_id,
            );
        }
        gate.open();
        ids
    };
    let (first, ids) = block_on(futures_util::future::join(first, rest));
    assert_eq!(first.unwrap().hidden.model_id, "a");
    assert_eq!(ids, vec!["b"; 5], "A is full while its one slot is taken");
}

#[test]
fn requests_queue_for_a_free_slot_when_every_deployment_is_full() {
    let options = json!({"model_list": [deployment("chat", A, "a", json!({}))], "default_max_parallel_requests": 1});
    let (router, fakes) = router_with(options);
    let gate = Rc::new(Gate::default());
    fakes
        .transport
        .script(A, [Step::Held(Rc::clone(&gate), "first".into())]);
    let first = router.call(Endpoint::ChatCompletion, chat_of("chat", 10));
    let second = async {
        yield_now().await;
        let waiting = router.call(Endpoint::ChatCompletion, chat_of("chat", 10));
        let opener = async {
            // Polled right after the second request started waiting: nothing reached the
            // upstream for it yet.
            assert_eq!(fakes.transport.calls_to(A), 1);
            gate.open();
        };
        futures_util::future::join(waiting, opener).await.0
    };
    let (first, second) = block_on(futures_util::future::join(first, second));
    assert_eq!(
        first.unwrap().body["choices"][0]["message"]["content"],
        "first"
    );
    assert!(second.is_ok());
    assert_eq!(fakes.transport.calls_to(A), 2);
}

#[test]
fn waiting_for_a_slot_is_bounded_by_the_timeout() {
    let options = json!({
        "model_list": [deployment("chat", A, "a", json!({"max_parallel_requests": 1}))],
        "timeout": 3
    });
    let (router, fakes) = router_with(options);
    let gate = Rc::new(Gate::default());
    fakes
        .transport
        .script(A, [Step::Held(Rc::clone(&gate), "held".into())]);
    let first = router.call(Endpoint::ChatCompletion, chat_of("chat", 10));
    let second = async {
        yield_now().await;
        let t0 = fakes.clock.now_ms();
        let r = router
            .call(Endpoint::ChatCompletion, chat_of("chat", 10))
            .await;
        let waited = fakes.clock.now_ms() - t0;
        gate.open();
        (r, waited)
    };
    let (_, (second, waited)) = block_on(futures_util::future::join(first, second));
    let e = second.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout);
    assert!(e.message.contains("max_parallel_requests"), "{}", e.message);
    assert!((3000.0..=3001.0).contains(&waited), "waited {waited}");
}

#[test]
fn client_side_timeouts_count_toward_allowed_fails_instead_of_benching_at_once() {
    let options = json!({
        "model_list": [deployment("chat", A, "a", json!({})), deployment("chat", B, "b", json!({}))],
        "timeout": 1, "num_retries": 0, "allowed_fails": 1
    });
    let (router, fakes) = router_with(options);
    fakes.transport.script(A, [Step::Hang, Step::Hang]);
    let mut timeouts = 0;
    for _ in 0..30 {
        if block_on(router.call(Endpoint::ChatCompletion, chat_of("chat", 10))).is_err() {
            timeouts += 1;
            if timeouts == 1 {
                assert_eq!(
                    router.cooling_until("a"),
                    None,
                    "one client timeout does not bench"
                );
            }
        }
        if timeouts == 2 {
            break;
        }
    }
    assert_eq!(timeouts, 2);
    assert!(
        router.cooling_until("a").is_some(),
        "the second timeout exceeds allowed_fails"
    );
}

#[test]
fn upstream_408_benches_at_once() {
    let options = json!({
        "model_list": [deployment("chat", A, "a", json!({})), deployment("chat", B, "b", json!({}))],
        "num_retries": 0
    });
    let (router, fakes) = router_with(options);
    fakes
        .transport
        .script(A, [Step::error(408, "request timeout")]);
    for _ in 0..30 {
        let _ = block_on(router.call(Endpoint::ChatCompletion, chat_of("chat", 10)));
        if fakes.transport.calls_to(A) == 1 {
            break;
        }
    }
    assert!(router.cooling_until("a").is_some());
}
