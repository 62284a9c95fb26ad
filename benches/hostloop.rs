//! Instructions per routed call in the native core, for `valgrind --tool=callgrind`
//! (`npm run bench` prints the figure): the host loop's begin → next → answered for one
//! OpenAI deployment, as the JS host drives it, with no I/O at all.
//!
//! `cargo bench --bench hostloop -- N` runs N calls (default 100,000) and prints the time.
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
    use llmux::router::{HostStep, Router};
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
        let started = std::time::Instant::now();
        for _ in 0..n {
            let fakes = Fakes::new(7);
            let config = RouterConfig::parse(&options, &HashMap::new()).expect("valid config");
            drop(Router::new(config, fakes.ports.clone()));
        }
        println!(
            "new Router with 1,000 deployments: {:.2} ms",
            started.elapsed().as_secs_f64() * 1e3 / n as f64
        );
    }

    pub fn run() {
        if std::env::args().any(|a| a == "construct") {
            construct(5);
            return;
        }
        let n: u64 = std::env::args()
            .skip(1)
            .find_map(|a| a.parse().ok())
            .unwrap_or(100_000);
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
