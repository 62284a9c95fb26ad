//! Tier 2: the wasm host layer (`src/wasm/`) in a real JS runtime — Node and headless
//! Chromium — against the loopback mock provider (`tests/mock/server.mjs`).
//!
//! Run by `tests/wasm/run.sh`, which starts the mock and sets, at compile time,
//! `LLMUX_MOCK_URL` (the mock) and `LLMUX_REFUSED_URL` (a loopback port nobody listens on).
//! Both runners execute these tests one at a time against the same mock process, so every
//! test uses its own deployment names (`unique`) and reads counters as deltas.
#![cfg(target_arch = "wasm32")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use futures_util::future::{join_all, select, Either};
use gloo_timers::future::TimeoutFuture;
use llmux::config::RouterConfig;
use llmux::error::{ErrorKind, LlmError};
use llmux::ports::{HttpRequest, Ports};
use llmux::router::{Routed, Router};
use llmux::types::Endpoint;
use llmux::wasm::{host_ports, RouterCore};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::future::Future;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

// ---------------------------------------------------------------------------------------
// helpers

fn mock_url() -> &'static str {
    match option_env!("LLMUX_MOCK_URL") {
        Some(url) => url,
        None => panic!(
            "LLMUX_MOCK_URL is unset at compile time: run these tests with tests/wasm/run.sh"
        ),
    }
}

fn refused_url() -> &'static str {
    match option_env!("LLMUX_REFUSED_URL") {
        Some(url) => url,
        None => panic!(
            "LLMUX_REFUSED_URL is unset at compile time: run these tests with tests/wasm/run.sh"
        ),
    }
}

/// A deployment name no other test (nor the other runner's run) uses.
fn unique(name: &str) -> String {
    format!("{name}-{}", (js_sys::Math::random() * 1e12) as u64)
}

/// The mock's api_base for deployment `name`.
fn base(name: &str) -> String {
    format!("{}/{name}/v1", mock_url())
}

fn now() -> f64 {
    js_sys::Date::now()
}

fn ports() -> Ports {
    host_ports(JsValue::UNDEFINED, JsValue::UNDEFINED).expect("host ports over the global fetch")
}

/// `/__mock/*` control call through the host transport (the global fetch).
async fn control(method: &'static str, path: &str, body: Option<Value>) -> Value {
    let resp = ports()
        .transport
        .send(HttpRequest {
            method,
            url: format!("{}/__mock/{path}", mock_url()),
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.map(|b| b.to_string()),
            binary_body: None,
            form: None,
            timeout_ms: Some(5_000),
        })
        .await
        .unwrap_or_else(|e| panic!("mock control {method} {path} failed: {e:?}"));
    let text = String::from_utf8_lossy(&resp.body).into_owned();
    assert_eq!(resp.status, 200, "mock control {method} {path}: {text}");
    serde_json::from_str(&text).unwrap()
}

async fn script(name: &str, steps: Value) {
    control(
        "POST",
        "script",
        Some(json!({ "name": name, "steps": steps })),
    )
    .await;
}

async fn mode(name: &str, spec: Value) {
    control("POST", "mode", Some(json!({ "name": name, "spec": spec }))).await;
}

async fn calls_to(name: &str) -> Vec<Value> {
    let v = control("GET", &format!("calls?name={name}"), None).await;
    v["calls"].as_array().cloned().unwrap()
}

async fn aborted() -> u64 {
    control("GET", "stats", None).await["aborted"]
        .as_u64()
        .unwrap()
}

/// One `model_list` entry for mock deployment `name` in group `group`.
fn deployment(group: &str, name: &str) -> Value {
    json!({
        "model_name": group,
        "litellm_params": {
            "model": "openai/gpt-4o-mini",
            "api_base": base(name),
            "api_key": "sk-wasm-test",
        },
        "model_info": { "id": format!("{name}-id") },
    })
}

fn router_with(options: Value, ports: Ports) -> Router {
    let config = RouterConfig::parse(&options, &HashMap::new())
        .unwrap_or_else(|e| panic!("config rejected: {e}"));
    Router::new(config, ports)
}

fn router(options: Value) -> Router {
    router_with(options, ports())
}

fn chat(group: &str) -> Map<String, Value> {
    match json!({ "model": group, "messages": [{ "role": "user", "content": "hi there" }] }) {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

/// `fut`'s output, or a test failure (not a hang) when it takes longer than `ms`.
async fn within<T>(ms: u32, what: &str, fut: impl Future<Output = T>) -> T {
    match select(std::pin::pin!(fut), TimeoutFuture::new(ms)).await {
        Either::Left((out, _)) => out,
        Either::Right(_) => panic!("{what} did not settle within {ms} ms"),
    }
}

async fn ask(router: &Router, group: &str) -> Result<Routed, LlmError> {
    let call = router.call(Endpoint::ChatCompletion, chat(group));
    within(10_000, "a router call", call).await
}

/// Calls the exported `RouterCore` as JS does and awaits its promise.
async fn core_call(core: &RouterCore, endpoint: &str, request: String) -> Result<JsValue, JsValue> {
    within(
        10_000,
        "RouterCore.call",
        JsFuture::from(core.call(endpoint, request, None, None, None, None, None, None, None)),
    )
    .await
}

fn content(body: &Value) -> &str {
    body["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or("")
}

/// A JS function built from source: `make(arg)` runs `body` with `arg` bound to `name`.
fn js_factory(name: &str, body: &str, arg: &JsValue) -> JsValue {
    js_sys::Function::new_with_args(name, body)
        .call1(&JsValue::NULL, arg)
        .expect("factory runs")
}

fn to_json(v: &JsValue) -> Value {
    let text: String = js_sys::JSON::stringify(v).unwrap().into();
    serde_json::from_str(&text).unwrap()
}

fn is_node() -> bool {
    js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("process"))
        .map(|p| p.is_object())
        .unwrap_or(false)
}

// ---------------------------------------------------------------------------------------
// FetchTransport over the global fetch

#[wasm_bindgen_test]
async fn chat_completion_through_global_fetch_is_answered_with_hidden_params() {
    let name = unique("wasm-chat");
    let r = router(json!({ "model_list": [deployment("gpt", &name)], "num_retries": 0 }));

    let routed = ask(&r, "gpt").await.unwrap();

    assert_eq!(content(&routed.body), format!("Hello from {name}"));
    let h = &routed.hidden;
    assert_eq!(h.model_id, format!("{name}-id"));
    assert_eq!(h.model_group, "gpt");
    assert_eq!(h.custom_llm_provider, "openai");
    assert_eq!(h.api_base.as_deref(), Some(base(&name).as_str()));
    assert_eq!((h.attempts, h.retries), (1, 0));
    assert_eq!(h.fallback_model_group, None);
    assert!(!h.cache_hit);
    assert!(
        h.latency_ms >= 0.0 && h.latency_ms < 5_000.0,
        "latency {}",
        h.latency_ms
    );
    let usage = &routed.body["usage"];
    let expected_cost = usage["prompt_tokens"].as_f64().unwrap() * 1.5e-7
        + usage["completion_tokens"].as_f64().unwrap() * 6e-7;
    let cost = h.response_cost.unwrap();
    assert!(
        (cost - expected_cost).abs() < 1e-12,
        "cost {cost} vs {expected_cost}"
    );

    let calls = calls_to(&name).await;
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call["method"], "POST");
    assert_eq!(call["path"], format!("/{name}/v1/chat/completions"));
    assert_eq!(call["headers"]["authorization"], "Bearer sk-wasm-test");
    assert_eq!(call["body"]["model"], "gpt-4o-mini");
    assert_eq!(call["body"]["messages"][0]["content"], "hi there");
}

#[wasm_bindgen_test]
async fn hung_upstream_is_aborted_by_the_timeout_and_fails_with_timeout() {
    let name = unique("wasm-hang");
    script(&name, json!([{ "hang": true }])).await;
    let aborted_before = aborted().await;
    let r = router(json!({
        "model_list": [deployment("slow", &name)],
        "num_retries": 0,
        "timeout": 0.3,
    }));

    let started = now();
    let err = ask(&r, "slow").await.unwrap_err();
    let elapsed = now() - started;

    assert_eq!(err.kind, ErrorKind::Timeout, "{err}");
    assert_eq!(err.status, 408);
    assert_eq!(err.attempts, Some(1));
    assert!(
        (299.0..3_000.0).contains(&elapsed),
        "timed out after {elapsed} ms, expected about 300"
    );
    assert_eq!(
        calls_to(&name).await.len(),
        1,
        "the upstream saw the request"
    );
    // The abort really closed the connection: the mock counts a client-side close.
    let mut seen = aborted().await;
    for _ in 0..50 {
        if seen > aborted_before {
            break;
        }
        TimeoutFuture::new(20).await;
        seen = aborted().await;
    }
    assert_eq!(
        seen,
        aborted_before + 1,
        "mock stats.aborted after the timeout"
    );
}

#[wasm_bindgen_test]
async fn connection_refused_fails_with_api_connection_error() {
    let mut dep = deployment("nowhere", "unused");
    dep["litellm_params"]["api_base"] = json!(format!("{}/v1", refused_url()));
    let r = router(json!({ "model_list": [dep], "num_retries": 0 }));

    let started = now();
    let err = ask(&r, "nowhere").await.unwrap_err();

    assert_eq!(err.kind, ErrorKind::APIConnectionError, "{err}");
    assert_eq!(err.attempts, Some(1));
    assert!(err.retryable());
    assert!(
        err.message.starts_with("Connection error: "),
        "{}",
        err.message
    );
    if is_node() {
        // undici's TypeError("fetch failed") carries the reason on `cause`.
        assert!(err.message.contains("ECONNREFUSED"), "{}", err.message);
    }
    assert!(now() - started < 3_000.0);
}

#[wasm_bindgen_test]
async fn fifty_concurrent_calls_are_all_answered_and_overlap() {
    let name = unique("wasm-many");
    // Each reply takes 100 ms: 50 calls one after another would take 5 s.
    mode(&name, json!({ "kind": "slow", "delay_ms": 100 })).await;
    let r = router(json!({ "model_list": [deployment("many", &name)], "num_retries": 0 }));

    let started = now();
    let results = join_all((0..50).map(|_| ask(&r, "many"))).await;
    let elapsed = now() - started;

    let answered = results
        .iter()
        .filter(|res| {
            res.as_ref()
                .is_ok_and(|ok| content(&ok.body) == format!("Hello from {name}"))
        })
        .count();
    assert_eq!(
        answered,
        50,
        "errors: {:?}",
        results.iter().find(|r| r.is_err())
    );
    assert!(
        elapsed < 2_500.0,
        "50 concurrent 100 ms calls took {elapsed} ms"
    );
    assert_eq!(calls_to(&name).await.len(), 50);
    let usage = r.usage(&format!("{name}-id")).unwrap();
    assert_eq!(
        (usage.requests, usage.successes, usage.failures),
        (50, 50, 0)
    );
    assert_eq!(usage.in_flight, 0);
}

// ---------------------------------------------------------------------------------------
// custom fetch and logger

#[wasm_bindgen_test]
async fn custom_fetch_function_is_used_instead_of_the_global_fetch() {
    let name = unique("wasm-custom");
    let seen = js_sys::Array::new();
    let fetch = js_factory(
        "seen",
        r#"return (url, init) => {
            seen.push({
                url: String(url),
                method: init.method,
                authorization: init.headers.get("authorization"),
                has_signal: init.signal instanceof AbortSignal,
                body: JSON.parse(init.body),
            });
            const body = {
                id: "chatcmpl-custom", object: "chat.completion", created: 0, model: "gpt-4o-mini",
                choices: [{ index: 0, message: { role: "assistant", content: "Hello from custom fetch" },
                            finish_reason: "stop" }],
                usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 },
            };
            return Promise.resolve(new Response(JSON.stringify(body),
                { status: 200, headers: { "content-type": "application/json" } }));
        };"#,
        &seen,
    );
    let ports = host_ports(fetch, JsValue::UNDEFINED).unwrap();
    let r = router_with(
        json!({ "model_list": [deployment("gpt", &name)], "num_retries": 0 }),
        ports,
    );

    let routed = ask(&r, "gpt").await.unwrap();

    assert_eq!(content(&routed.body), "Hello from custom fetch");
    assert_eq!(routed.hidden.model_id, format!("{name}-id"));
    let seen = to_json(&seen);
    assert_eq!(seen.as_array().map(Vec::len), Some(1), "{seen}");
    assert_eq!(seen[0]["url"], format!("{}/chat/completions", base(&name)));
    assert_eq!(seen[0]["method"], "POST");
    assert_eq!(seen[0]["authorization"], "Bearer sk-wasm-test");
    assert_eq!(seen[0]["has_signal"], true);
    assert_eq!(seen[0]["body"]["model"], "gpt-4o-mini");
    assert!(
        calls_to(&name).await.is_empty(),
        "the global fetch must not reach the mock"
    );
}

#[wasm_bindgen_test]
async fn non_function_fetch_option_falls_back_to_the_global_fetch() {
    let name = unique("wasm-fallback-fetch");
    let ports = host_ports(JsValue::from_str("not a function"), JsValue::NULL).unwrap();
    let r = router_with(
        json!({ "model_list": [deployment("gpt", &name)], "num_retries": 0 }),
        ports,
    );

    let routed = ask(&r, "gpt").await.unwrap();

    assert_eq!(content(&routed.body), format!("Hello from {name}"));
    assert_eq!(calls_to(&name).await.len(), 1);
}

#[wasm_bindgen_test]
async fn throwing_logger_does_not_break_a_request() {
    let first = unique("wasm-log-a");
    let second = unique("wasm-log-b");
    script(&first, json!([{ "error": "server" }])).await;
    let messages = js_sys::Array::new();
    let logger = js_factory(
        "messages",
        r#"const f = (m) => { messages.push(String(m)); throw new Error("logger boom"); };
           return { debug: f, info: f, warn: f, error: f };"#,
        &messages,
    );
    let ports = host_ports(JsValue::UNDEFINED, logger).unwrap();
    // set_verbose: the fallback from `a` to `b` is logged at info level.
    let r = router_with(
        json!({
            "model_list": [deployment("a", &first), deployment("b", &second)],
            "num_retries": 0,
            "fallbacks": [{ "a": ["b"] }],
            "set_verbose": true,
        }),
        ports,
    );

    let routed = ask(&r, "a").await.unwrap();

    assert_eq!(content(&routed.body), format!("Hello from {second}"));
    assert_eq!(routed.hidden.fallback_model_group.as_deref(), Some("b"));
    assert_eq!(routed.hidden.model_id, format!("{second}-id"));
    let logged: Vec<String> = messages.iter().filter_map(|m| m.as_string()).collect();
    assert!(
        logged
            .iter()
            .any(|m| m.contains("falling back from a to b")),
        "the logger was called (and threw): {logged:?}"
    );
    assert_eq!(calls_to(&first).await.len(), 1);
    assert_eq!(calls_to(&second).await.len(), 1);
}

// ---------------------------------------------------------------------------------------
// sleeper, clock, entropy

#[wasm_bindgen_test]
async fn sleeper_sleeps_at_least_the_requested_time() {
    let p = ports();
    for ms in [0u64, 30, 120] {
        let started = now();
        p.sleeper.sleep(ms).await;
        let elapsed = now() - started;
        // Node's timers may fire up to 1 ms early relative to Date.now().
        assert!(elapsed + 1.0 >= ms as f64, "slept {elapsed} ms for {ms}");
        assert!(elapsed < ms as f64 + 1_000.0, "slept {elapsed} ms for {ms}");
    }
}

#[wasm_bindgen_test]
async fn clock_is_the_wall_clock_and_advances() {
    let p = ports();
    let t0 = p.clock.now_ms();
    let wall = now();
    assert!(
        (t0 - wall).abs() < 1_000.0,
        "clock {t0} vs Date.now() {wall}"
    );
    assert!(t0 > 1.7e12, "clock is epoch milliseconds: {t0}");
    TimeoutFuture::new(25).await;
    let t1 = p.clock.now_ms();
    assert!(
        t1 - t0 >= 24.0,
        "advanced {} ms over a 25 ms sleep",
        t1 - t0
    );
}

#[wasm_bindgen_test]
fn entropy_seeds_each_ports_rng_differently() {
    let draws: Vec<Vec<f64>> = (0..4)
        .map(|_| {
            let rng = ports().rng;
            (0..4).map(|_| rng.next_f64()).collect()
        })
        .collect();
    for d in draws.iter().flatten() {
        assert!((0.0..1.0).contains(d), "{d}");
    }
    for (i, a) in draws.iter().enumerate() {
        for b in draws.iter().skip(i + 1) {
            assert_ne!(a, b, "two host rngs produced the same sequence");
        }
    }
}

// ---------------------------------------------------------------------------------------
// the exported RouterCore JSON boundary

fn core_options(group: &str, name: &str) -> String {
    let mut dep = deployment(group, name);
    dep["litellm_params"]["api_key"] = json!("os.environ/MOCK_KEY");
    json!({ "model_list": [dep], "num_retries": 0 }).to_string()
}

#[wasm_bindgen_test]
async fn router_core_resolves_to_a_hidden_and_body_envelope() {
    let name = unique("wasm-core");
    let core = RouterCore::new(
        &core_options("gpt", &name),
        r#"{"MOCK_KEY":"sk-from-env"}"#,
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
    )
    .map_err(|e| to_json(&e))
    .unwrap();

    let request = json!({ "model": "gpt", "messages": [{ "role": "user", "content": "hi" }] });
    let out = core_call(&core, "chat", request.to_string())
        .await
        .map_err(|e| to_json(&e))
        .unwrap();
    let out: Value = serde_json::from_str(&out.as_string().unwrap()).unwrap();

    assert_eq!(content(&out["body"]), format!("Hello from {name}"));
    assert_eq!(out["hidden"]["model_id"], format!("{name}-id"));
    assert_eq!(out["hidden"]["model_group"], "gpt");
    assert_eq!(out["hidden"]["api_base"], base(&name));
    assert_eq!(out["hidden"]["attempts"], 1);
    let calls = calls_to(&name).await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["headers"]["authorization"], "Bearer sk-from-env");

    let deployments: Value = serde_json::from_str(&core.deployments_json()).unwrap();
    assert_eq!(deployments[0]["litellm_params"]["api_key"], "***");
    assert!(!core.deployments_json().contains("sk-from-env"));
    let names: Value = serde_json::from_str(&core.model_names_json()).unwrap();
    assert_eq!(names, json!(["gpt"]));
    let usage: Value = serde_json::from_str(&core.usage_json()).unwrap();
    assert_eq!(usage["deployments"][format!("{name}-id")]["successes"], 1);
    assert_eq!(
        usage["deployments"][format!("{name}-id")]["cooldown_until_ms"],
        Value::Null
    );
}

#[wasm_bindgen_test]
async fn router_core_rejects_with_an_error_object_of_the_right_kind() {
    let name = unique("wasm-core-err");
    script(&name, json!([{ "error": "auth" }])).await;
    let core = RouterCore::new(
        &core_options("gpt", &name),
        r#"{"MOCK_KEY":"sk-from-env"}"#,
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
    )
    .map_err(|e| to_json(&e))
    .unwrap();

    let request = json!({ "model": "gpt", "messages": [{ "role": "user", "content": "hi" }] });
    let err = core_call(&core, "chat", request.to_string())
        .await
        .unwrap_err();
    assert!(err.is_object() && !err.is_instance_of::<js_sys::Error>());
    let err = to_json(&err);
    assert_eq!(err["kind"], "AuthenticationError", "{err}");
    assert_eq!(err["status"], 401);
    assert_eq!(err["deployment_id"], format!("{name}-id"));
    assert_eq!(err["retryable"], false);
    assert!(
        !err.to_string().contains("sk-from-env"),
        "no secret in {err}"
    );

    let bad = core_call(&core, "chat", "[1]".into()).await.unwrap_err();
    assert_eq!(to_json(&bad)["kind"], "BadRequestError");
    let unknown = core_call(&core, "no-such-endpoint", "{}".into())
        .await
        .unwrap_err();
    assert_eq!(to_json(&unknown)["kind"], "BadRequestError");
    assert_eq!(
        calls_to(&name).await.len(),
        1,
        "only the first call reached the upstream"
    );
}

#[wasm_bindgen_test]
fn router_core_constructor_rejects_bad_options_with_a_config_error() {
    let bad_model =
        json!({ "model_list": [{ "model_name": "x", "litellm_params": { "model": 7 } }] });
    let err = RouterCore::new(
        &bad_model.to_string(),
        "{}",
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
    )
    .err()
    .map(|e| to_json(&e))
    .unwrap();
    assert_eq!(err["kind"], "ConfigError", "{err}");
    assert_eq!(err["field"], "model_list[0].litellm_params.model");

    let err = RouterCore::new(
        "{not json",
        "{}",
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
    )
    .err()
    .map(|e| to_json(&e))
    .unwrap();
    assert_eq!(err["kind"], "ConfigError");
    assert_eq!(err["field"], "options");
}

// ---------------------------------------------------------------------------------------
// fault injection: one Router through every fault the mock can script

/// A chat request for `group` with LiteLLM's per-call `num_retries`.
async fn ask_retries(router: &Router, group: &str, num_retries: u32) -> Result<Routed, LlmError> {
    let mut request = chat(group);
    request.insert("num_retries".into(), json!(num_retries));
    within(
        10_000,
        "a router call",
        router.call(Endpoint::ChatCompletion, request),
    )
    .await
}

#[wasm_bindgen_test]
async fn router_survives_every_fault_and_keeps_serving() {
    let solo = unique("wasm-fault-solo");
    let first = unique("wasm-fault-a");
    let second = unique("wasm-fault-b");
    let mut a = deployment("pair", &first);
    a["litellm_params"]["weight"] = json!(1_000_000);
    let mut b = deployment("pair", &second);
    b["litellm_params"]["weight"] = json!(1);
    // One Router for the whole sequence. "solo" (a single deployment, never cooled down)
    // surfaces each fault as a typed error; in "pair" the favoured deployment `a` takes the
    // fault and the retry is answered by `b`. allowed_fails is high so that only a 429 benches.
    let r = router(json!({
        "model_list": [deployment("solo", &solo), a, b],
        "timeout": 0.5,
        "allowed_fails": 1000,
        "cooldown_time": 30,
    }));
    let html_502 = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>";
    let html_200 = "<!DOCTYPE html><html><body><h1>Welcome to nginx!</h1></body></html>";
    let faults: Vec<(Value, ErrorKind, u16)> = vec![
        (
            json!({ "error": "server" }),
            ErrorKind::InternalServerError,
            500,
        ),
        (
            json!({ "error": "bad_gateway" }),
            ErrorKind::InternalServerError,
            502,
        ),
        (
            json!({ "error": "unavailable" }),
            ErrorKind::ServiceUnavailableError,
            503,
        ),
        (json!({ "status": 504 }), ErrorKind::Timeout, 504),
        (json!({ "hang": true }), ErrorKind::Timeout, 408),
        (
            json!({ "reset": "before_headers" }),
            ErrorKind::APIConnectionError,
            500,
        ),
        (
            json!({ "reset": "mid_body" }),
            ErrorKind::APIConnectionError,
            500,
        ),
        (
            json!({ "body_raw": "{\"id\": " }),
            ErrorKind::InternalServerError,
            500,
        ),
        (
            json!({ "body_raw": "" }),
            ErrorKind::InternalServerError,
            500,
        ),
        (
            json!({ "status": 502, "body_raw": html_502 }),
            ErrorKind::InternalServerError,
            502,
        ),
        (
            json!({ "status": 200, "body_raw": html_200 }),
            ErrorKind::InternalServerError,
            500,
        ),
        (
            json!({ "error": "auth" }),
            ErrorKind::AuthenticationError,
            401,
        ),
        (
            json!({ "error": "not_found" }),
            ErrorKind::NotFoundError,
            404,
        ),
        (
            json!({ "error": "bad_request" }),
            ErrorKind::BadRequestError,
            400,
        ),
        (
            json!({ "error": "context_window" }),
            ErrorKind::ContextWindowExceededError,
            400,
        ),
        (
            json!({ "error": "content_policy" }),
            ErrorKind::ContentPolicyViolationError,
            400,
        ),
        // Last: a 429 benches `a` for the rest of the test.
        (
            json!({ "error": "rate_limit", "headers": { "retry-after": "0" } }),
            ErrorKind::RateLimitError,
            429,
        ),
    ];

    // Upstream calls per deployment, counted step by step.
    let (mut solo_calls, mut first_calls, mut second_calls) = (0, 0, 0);
    for (step, kind, status) in &faults {
        // A browser silently resends a request whose reused keep-alive connection is reset
        // before any response byte (Chromium's ShouldResendRequest), so that fault is a mode
        // (every call resets) and may reach the mock more than once; anything else is one step.
        let resend = step["reset"] == "before_headers";
        let min_calls = |n: usize, delta: usize| {
            if resend && !is_node() {
                assert!(
                    delta >= n,
                    "{step}: {delta} upstream calls, expected at least {n}"
                );
            } else {
                assert_eq!(delta, n, "{step}: upstream calls");
            }
        };
        let fault = |name: String| {
            let step = step.clone();
            async move {
                if resend {
                    mode(&name, json!({ "kind": "down", "fail": step })).await;
                } else {
                    script(&name, json!([step])).await;
                }
            }
        };
        let heal = |name: String| async move {
            if resend {
                mode(&name, json!({ "kind": "healthy" })).await;
            }
        };

        // The fault surfaces as its typed error after one upstream attempt.
        fault(solo.clone()).await;
        let before = calls_to(&solo).await.len();
        let err = match ask_retries(&r, "solo", 0).await {
            Err(e) => e,
            Ok(ok) => panic!("{step}: answered by {}", ok.hidden.model_id),
        };
        heal(solo.clone()).await;
        let delta = calls_to(&solo).await.len() - before;
        min_calls(1, delta);
        solo_calls += delta;
        assert_eq!(err.kind, *kind, "{step}: {err}");
        assert_eq!(err.status, *status, "{step}: {err}");
        assert_eq!(err.attempts, Some(1), "{step}");
        assert_eq!(err.deployment_id, Some(format!("{solo}-id")), "{step}");
        assert_eq!(err.model_group.as_deref(), Some("solo"), "{step}");

        // A retryable fault is recovered: retried at once on the other deployment.
        if kind.retryable() {
            fault(first.clone()).await;
            let before = calls_to(&first).await.len();
            let routed = ask_retries(&r, "pair", 1)
                .await
                .unwrap_or_else(|e| panic!("{step}: not recovered: {e}"));
            heal(first.clone()).await;
            let delta = calls_to(&first).await.len() - before;
            min_calls(1, delta);
            first_calls += delta;
            second_calls += 1;
            assert_eq!(
                content(&routed.body),
                format!("Hello from {second}"),
                "{step}"
            );
            assert_eq!(routed.hidden.model_id, format!("{second}-id"), "{step}");
            assert_eq!(
                (routed.hidden.attempts, routed.hidden.retries),
                (2, 1),
                "{step}"
            );
        }
    }

    // After every fault, the same Router still answers healthy requests at once.
    let routed = ask_retries(&r, "solo", 0).await.unwrap();
    assert_eq!(content(&routed.body), format!("Hello from {solo}"));
    assert_eq!(routed.hidden.attempts, 1);
    let routed = ask_retries(&r, "pair", 0).await.unwrap();
    assert_eq!(content(&routed.body), format!("Hello from {second}"));
    assert_eq!(routed.hidden.attempts, 1);

    // Accounting: the mock saw exactly the calls counted above (plus the two healthy ones);
    // `a` took every retryable fault and is benched only by the final 429; nothing is left in
    // flight.
    assert_eq!(calls_to(&solo).await.len(), solo_calls + 1);
    assert_eq!(calls_to(&first).await.len(), first_calls);
    assert_eq!(calls_to(&second).await.len(), second_calls + 1);
    let usage = r.usage(&format!("{solo}-id")).unwrap();
    assert_eq!(
        (usage.requests, usage.successes, usage.failures),
        (faults.len() as u64 + 1, 1, faults.len() as u64)
    );
    assert!(
        r.cooling_until(&format!("{solo}-id")).is_none(),
        "a single deployment never cools down"
    );
    assert!(
        r.cooling_until(&format!("{first}-id")).is_some(),
        "the 429 benched a"
    );
    assert!(r.cooling_until(&format!("{second}-id")).is_none());
    for id in [&solo, &first, &second] {
        assert_eq!(
            r.usage(&format!("{id}-id")).unwrap().in_flight,
            0,
            "{id} in flight"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Streams through the fetch body reader

/// Chat stream request for `group`.
fn stream_request(group: &str) -> Map<String, Value> {
    let mut m = chat(group);
    m.insert("stream".into(), Value::Bool(true));
    m
}

#[wasm_bindgen_test]
async fn a_stream_is_read_piece_by_piece_from_the_fetch_body() {
    let name = unique("wasm-stream");
    script(
        &name,
        json!([{ "reply": "one two three four", "chunk_delay_ms": 20 }]),
    )
    .await;
    let r = router(json!({ "model_list": [deployment("gpt", &name)], "num_retries": 0 }));
    let mut stream = within(
        10_000,
        "opening a stream",
        r.call_stream(Endpoint::ChatCompletion, stream_request("gpt")),
    )
    .await
    .unwrap();
    let mut text = String::new();
    let mut batches = 0;
    while let Some(chunks) = within(10_000, "next()", stream.next()).await.unwrap() {
        batches += 1;
        for c in chunks {
            text.push_str(c["choices"][0]["delta"]["content"].as_str().unwrap_or(""));
        }
    }
    assert_eq!(text, "one two three four");
    assert!(
        batches >= 4,
        "chunks arrived over {batches} reads, expected one per event"
    );
    let sent = &calls_to(&name).await[0]["body"];
    assert_eq!(sent["stream"], true);
}

#[wasm_bindgen_test]
async fn aborting_a_stream_aborts_the_fetch_even_while_a_read_is_pending() {
    let name = unique("wasm-stream-abort");
    script(
        &name,
        json!([{ "reply": "one two three four", "chunk_delay_ms": 2000 }]),
    )
    .await;
    let before = aborted().await;
    let r = router(json!({ "model_list": [deployment("gpt", &name)], "num_retries": 0 }));
    let mut stream = within(
        10_000,
        "opening a stream",
        r.call_stream(Endpoint::ChatCompletion, stream_request("gpt")),
    )
    .await
    .unwrap();
    let first = within(10_000, "first chunks", stream.next()).await.unwrap();
    assert!(first.is_some());
    let handle = stream.abort_handle();
    // The next read waits 2 s for the mock; abort it from a timer while it is pending.
    gloo_timers::callback::Timeout::new(50, move || handle.abort()).forget();
    let started = now();
    let rest = within(5_000, "the aborted read", stream.next())
        .await
        .unwrap();
    assert!(rest.is_none(), "an aborted stream ends");
    assert!(
        now() - started < 1_500.0,
        "the pending read ended with the abort"
    );
    let mut seen = aborted().await;
    for _ in 0..50 {
        if seen > before {
            break;
        }
        TimeoutFuture::new(20).await;
        seen = aborted().await;
    }
    assert_eq!(seen, before + 1, "the mock saw the connection close");
}
