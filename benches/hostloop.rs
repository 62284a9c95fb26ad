//! Instructions per routed call in the native core, for `valgrind --tool=callgrind`
//! (`npm run bench` prints the figure): the host loop's begin → next → answered for one
//! OpenAI deployment, as the JS host drives it, with no I/O at all.
//!
//! `cargo bench --bench hostloop -- N` runs N calls (default 100,000) and prints the time;
//! `-- stream N` runs N host-driven streams of 103 OpenAI chunks each (the per-chunk figure);
//! `-- stream host N` the same with the host reading the plain chunks itself
//! (`stream_plain_identity` / `stream_plain_read`, as js/host-stream.js does); `-- stream
//! wire N` the same on the wire path (`begin_wire_stream`: the host builds the request, and
//! tells the core its plain reads in one sum, `stream_plain_caught_up`);
//! `-- cache N` serves N in-memory cache hits as `cachedAnswer` does (request text in);
//! `-- construct` builds a 1,000-deployment Router.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    native::run();
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use llmux::config::RouterConfig;
    use llmux::cost::TokenUsage;
    use llmux::router::{Fed, HostStep, Router, StreamStep};
    use llmux::testing::Fakes;
    use llmux::types::Endpoint;
    use serde_json::json;
    use std::collections::HashMap;

    /// `construct`: builds a 1,000-deployment Router (config parse included) `n` times.
    fn construct(n: u64) {
        let model_list: Vec<_> = (0..1000)
            .map(|i| {
                json!({"model_name": format!("group-{}", i / 10), "litellm_params": {
                    "model": "openai/gpt-4o-mini", "api_base": format!("http://127.0.0.1:9/bench-{i}/v1"),
                    "api_key": format!("sk-bench-{i}"), "rpm": 100 + (i % 7)}})
            })
            .collect();
        let options = json!({"model_list": model_list, "num_retries": 2, "allowed_fails": 3, "cooldown_time": 30});
        // As the wasm constructor does: the options arrive as JSON text.
        let text = options.to_string();
        let started = std::time::Instant::now();
        for _ in 0..n {
            let fakes = Fakes::new(7);
            let options = serde_json::from_str(&text).expect("valid JSON");
            let config = RouterConfig::parse_owned(options, &HashMap::new()).expect("valid config");
            drop(Router::new(config, fakes.ports.clone()));
        }
        println!(
            "new Router with 1,000 deployments: {:.2} ms",
            started.elapsed().as_secs_f64() * 1e3 / n as f64
        );
    }

    /// The SSE body of a 100-word OpenAI answer, one event per piece, as the host reads it.
    fn openai_events() -> Vec<Vec<u8>> {
        let chunk = |delta: serde_json::Value, finish: serde_json::Value| {
            json!({"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1_700_000_000,
                   "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        };
        let mut events = vec![chunk(
            json!({"role": "assistant", "content": ""}),
            json!(null),
        )];
        events
            .extend((0..100).map(|i| chunk(json!({"content": format!("word{i} ")}), json!(null))));
        events.push(chunk(json!({}), json!("stop")));
        events.push(json!({"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1_700_000_000,
            "model": "gpt-4o-mini", "choices": [],
            "usage": {"prompt_tokens": 9, "completion_tokens": 100, "total_tokens": 109}}));
        let mut out: Vec<Vec<u8>> = events
            .iter()
            .map(|e| format!("data: {e}\n\n").into_bytes())
            .collect();
        out.push(b"data: [DONE]\n\n".to_vec());
        out
    }

    /// `stream`: `n` host-driven streams (begin → step → feed each event → end).
    fn streams(n: u64, host: bool, wire: bool) {
        let options = json!({"model_list": [
            {"model_name": "chat", "litellm_params": {"model": "openai/gpt-4o-mini", "api_base": "http://a.test/v1", "api_key": "sk-bench"}},
        ]});
        let mut fakes = Fakes::new(7);
        fakes.ports.events = None;
        let config = RouterConfig::parse(&options, &HashMap::new()).expect("valid config");
        let router = Router::new(config, fakes.ports.clone());
        let events = openai_events();
        let request = json!({"model": "chat", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
        let text = request.to_string();
        let request = request.as_object().cloned().expect("an object");
        let started = std::time::Instant::now();
        let mut chunks = 0u64;
        for _ in 0..n {
            let mut hs = if wire {
                // The wire path: the request's text, parsed only if the core needs it.
                router
                    .begin_wire_stream(Endpoint::ChatCompletion, "chat", false, None, text.clone())
                    .expect("a stream")
            } else {
                router
                    .begin_host_stream(Endpoint::ChatCompletion, request.clone())
                    .expect("a stream")
            };
            match router.stream_step(&mut hs) {
                StreamStep::Send(..) if !wire => {}
                StreamStep::Wire(..) if wire => {}
                _ => panic!("expected an attempt"),
            }
            let mut untold = (0usize, 0usize, false);
            for (i, event) in events.iter().enumerate() {
                // The host reads a plain chunk itself (the bench knows which are: every one
                // between the first and the finish); the core decodes the others.
                let plain = host && i > 0 && i + 2 < events.len();
                if plain && router.stream_plain_identity(&hs).is_some() {
                    let finished = i + 3 == events.len();
                    let chars = if finished { 0 } else { 6 };
                    if wire {
                        // As the host far from a ceiling: counted, told in one sum later.
                        untold = (
                            untold.0 + event.len(),
                            untold.1 + chars,
                            untold.2 | finished,
                        );
                        chunks += 1;
                        continue;
                    }
                    if router
                        .stream_plain_read(&mut hs, event.len(), chars, finished, false)
                        .is_some()
                    {
                        panic!("the stream failed");
                    }
                    chunks += 1;
                    continue;
                }
                if untold != (0, 0, false) {
                    router.stream_plain_caught_up(&mut hs, untold.0, untold.1, untold.2, false);
                    untold = (0, 0, false);
                }
                let fed = if host && i > 0 {
                    // As the host: the piece counted, then its events decoded by the core.
                    if router
                        .stream_plain_read(&mut hs, event.len(), 0, false, false)
                        .is_some()
                    {
                        panic!("the stream failed");
                    }
                    router.stream_feed_counted(&mut hs, event)
                } else {
                    router.stream_feed(&mut hs, event)
                };
                match fed {
                    Fed::Chunks(c) => chunks += c.len() as u64,
                    _ => panic!("the stream failed"),
                }
            }
            match router.stream_end(&mut hs) {
                Fed::Chunks(c) => chunks += c.len() as u64,
                _ => panic!("the stream failed at its end"),
            }
        }
        let elapsed = started.elapsed();
        println!(
            "{n} host-driven streams, {chunks} chunks in {:.1} ms: {:.3} µs a chunk",
            elapsed.as_secs_f64() * 1e3,
            elapsed.as_secs_f64() * 1e6 / chunks.max(1) as f64
        );
    }

    /// `cache`: `n` hits of the in-memory response cache, from the request's JSON text (what
    /// `cachedAnswer` receives, through `cached_text`) to the stored body's text and the hit's
    /// `_hidden_params`.
    fn cache_hits(n: u64) {
        let options = json!({"model_list": [
            {"model_name": "chat", "litellm_params": {"model": "openai/gpt-4o-mini", "api_base": "http://a.test/v1", "api_key": "sk-bench"}},
        ], "cache_responses": true});
        let mut fakes = Fakes::new(7);
        fakes.ports.events = None;
        let config = RouterConfig::parse(&options, &HashMap::new()).expect("valid config");
        let router = Router::new(config, fakes.ports.clone());
        let request = r#"{"model":"chat","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say hello in one word."}],"temperature":0.2,"max_tokens":16}"#;
        let body = || match serde_json::from_str::<serde_json::Value>(request) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => panic!("the request is an object"),
        };
        llmux::testing::block_on(router.call(Endpoint::ChatCompletion, body())).expect("primed");
        let started = std::time::Instant::now();
        let mut bytes = 0usize;
        for _ in 0..n {
            let (hidden, text) = router
                .cached_text(Endpoint::ChatCompletion, request)
                .expect("a hit");
            bytes += text.len() + usize::from(hidden.cache_hit);
        }
        let elapsed = started.elapsed();
        println!(
            "{n} cache hits ({bytes} bytes out) in {:.1} ms: {:.2} µs a hit",
            elapsed.as_secs_f64() * 1e3,
            elapsed.as_secs_f64() * 1e6 / n as f64
        );
    }

    pub fn run() {
        if std::env::args().any(|a| a == "construct") {
            construct(5);
            return;
        }
        let n: Option<u64> = std::env::args().skip(1).find_map(|a| a.parse().ok());
        if std::env::args().any(|a| a == "cache") {
            cache_hits(n.unwrap_or(10_000));
            return;
        }
        if std::env::args().any(|a| a == "stream") {
            let wire = std::env::args().any(|a| a == "wire");
            streams(
                n.unwrap_or(1_000),
                wire || std::env::args().any(|a| a == "host"),
                wire,
            );
            return;
        }
        let n = n.unwrap_or(100_000);
        let options = json!({"model_list": [
            {"model_name": "chat", "litellm_params": {"model": "openai/gpt-4o-mini", "api_base": "http://a.test/v1", "api_key": "sk-bench"}},
            {"model_name": "chat", "litellm_params": {"model": "openai/gpt-4o-mini", "api_base": "http://b.test/v1", "api_key": "sk-bench"}},
        ]});
        let mut fakes = Fakes::new(7);
        // No event callbacks, as in a router without `on`.
        fakes.ports.events = None;
        let config = RouterConfig::parse(&options, &HashMap::new()).expect("valid config");
        let router = Router::new(config, fakes.ports.clone());
        let usage = TokenUsage {
            prompt_tokens: 12,
            completion_tokens: 3,
            cached_prompt_tokens: 0,
            cache_creation_tokens: 0,
        };
        let started = std::time::Instant::now();
        let mut answered = 0u64;
        for _ in 0..n {
            let mut call = router.begin_host(Endpoint::ChatCompletion, "chat");
            match router.step_host(&mut call) {
                HostStep::Send(_) => {}
                _ => panic!("expected a passthrough attempt"),
            }
            if router.answered_host(&mut call, Some(usage)).is_some() {
                answered += 1;
            }
        }
        assert_eq!(answered, n);
        let elapsed = started.elapsed();
        println!(
            "{n} host-loop calls in {:.1} ms: {:.2} µs a call",
            elapsed.as_secs_f64() * 1e3,
            elapsed.as_secs_f64() * 1e6 / n as f64
        );
    }
}
