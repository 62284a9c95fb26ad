//! The custom routing strategy (`setCustomRoutingStrategy`) on fakes: it chooses among the
//! eligible candidates the core computed, and cooldowns, retries and fallbacks stay the core's.
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
use llmux::ports::{Chooser, LocalFuture};
use llmux::router::{HostStep, Router};
use llmux::testing::{block_on, Fakes, Step};
use llmux::types::Endpoint;
use serde_json::{json, Map, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

fn base(name: &str) -> String {
    format!("http://{name}.test/v1")
}

fn deployment(group: &str, name: &str) -> Value {
    json!({
        "model_name": group,
        "litellm_params": {"model": "openai/gpt-4o-mini", "api_base": base(name), "api_key": "sk-secret-key"},
        "model_info": {"id": name},
    })
}

fn router(options: Value) -> (Router, Fakes) {
    let fakes = Fakes::new(7);
    let config = RouterConfig::parse(&options, &HashMap::new()).expect("valid config");
    (Router::new(config, fakes.ports.clone()), fakes)
}

fn chat(group: &str) -> Map<String, Value> {
    json!({"model": group, "messages": [{"role": "user", "content": "hi"}]})
        .as_object()
        .cloned()
        .unwrap()
}

type Rule = dyn Fn(&[String]) -> Result<Option<String>, String>;

/// A strategy that answers by `rule` from the candidates' ids and records every ask:
/// (model group, candidate ids, whether any candidate showed a credential).
struct Recording {
    rule: Box<Rule>,
    asks: RefCell<Vec<(String, Vec<String>, bool)>>,
    hang: bool,
}

impl Recording {
    fn new(rule: impl Fn(&[String]) -> Result<Option<String>, String> + 'static) -> Rc<Self> {
        Rc::new(Recording {
            rule: Box::new(rule),
            asks: RefCell::default(),
            hang: false,
        })
    }

    fn asked(&self) -> Vec<Vec<String>> {
        self.asks.borrow().iter().map(|a| a.1.clone()).collect()
    }
}

impl Chooser for Recording {
    fn choose(
        &self,
        model: &str,
        request: &Map<String, Value>,
        candidates: Vec<Value>,
    ) -> LocalFuture<'static, Result<Option<String>, String>> {
        assert!(request.contains_key("messages"));
        let ids: Vec<String> = candidates
            .iter()
            .map(|c| c["model_info"]["id"].as_str().unwrap().to_string())
            .collect();
        let leaked = candidates
            .iter()
            .any(|c| c.to_string().contains("sk-secret-key"));
        self.asks
            .borrow_mut()
            .push((model.to_string(), ids.clone(), leaked));
        if self.hang {
            return Box::pin(futures_util::future::pending());
        }
        let answer = (self.rule)(&ids);
        Box::pin(async move { answer })
    }
}

#[test]
fn the_strategy_chooses_among_candidates_without_credentials() {
    let (router, fakes) = router(json!({"model_list": [
        deployment("chat", "a"), deployment("chat", "b"), deployment("chat", "c"),
    ]}));
    let strategy = Recording::new(|_| Ok(Some("c".into())));
    router.set_custom_strategy(Some(strategy.clone()));
    for _ in 0..5 {
        let routed = block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap();
        assert_eq!(routed.hidden.model_id, "c");
    }
    assert_eq!(fakes.transport.calls_to(&base("c")), 5);
    assert_eq!(fakes.transport.calls_to(&base("a")), 0);
    let asks = strategy.asks.borrow();
    assert_eq!(asks.len(), 5);
    assert!(asks
        .iter()
        .all(|(group, ids, leaked)| group == "chat" && ids == &["a", "b", "c"] && !leaked));
}

#[test]
fn a_cooled_down_deployment_is_not_a_candidate_and_retries_ask_again() {
    let (router, fakes) = router(json!({"model_list": [
        deployment("chat", "a"), deployment("chat", "b"), deployment("chat", "c"),
    ]}));
    // c answers 429 once: it cools down at once (three deployments in the group).
    fakes
        .transport
        .script(&base("c"), [Step::error(429, "slow down")]);
    let strategy = Recording::new(|ids| {
        Ok(Some(
            if ids.iter().any(|i| i == "c") {
                "c"
            } else {
                &ids[0]
            }
            .to_string(),
        ))
    });
    router.set_custom_strategy(Some(strategy.clone()));
    let first = block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap();
    assert_eq!(first.hidden.model_id, "a");
    assert_eq!(first.hidden.attempts, 2);
    let second = block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap();
    assert_eq!(second.hidden.model_id, "a");
    assert_eq!(
        strategy.asked(),
        vec![vec!["a", "b", "c"], vec!["a", "b"], vec!["a", "b"]]
    );
    assert_eq!(fakes.transport.calls_to(&base("c")), 1);
}

#[test]
fn declining_leaves_the_pick_to_the_configured_strategy() {
    let (router, fakes) = router(json!({"model_list": [
        deployment("chat", "a"), deployment("chat", "b"),
    ]}));
    let strategy = Recording::new(|_| Ok(None));
    router.set_custom_strategy(Some(strategy.clone()));
    for _ in 0..20 {
        block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap();
    }
    assert_eq!(strategy.asks.borrow().len(), 20);
    // simple-shuffle spreads the calls over both.
    assert!(fakes.transport.calls_to(&base("a")) > 0);
    assert!(fakes.transport.calls_to(&base("b")) > 0);
}

#[test]
fn an_id_that_is_not_a_candidate_fails_the_call_without_an_upstream_call() {
    let (router, fakes) = router(json!({"model_list": [
        deployment("chat", "a"), deployment("chat", "b"),
    ]}));
    router.set_custom_strategy(Some(Recording::new(|_| Ok(Some("zzz".into())))));
    let e = block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InternalServerError);
    assert!(e.message.contains("\"zzz\""), "{}", e.message);
    assert!(e.message.contains("a, b"), "{}", e.message);
    assert_eq!(e.model_group.as_deref(), Some("chat"));
    assert!(fakes.transport.urls().is_empty());
}

#[test]
fn a_throwing_strategy_fails_its_group_and_fallbacks_still_apply() {
    let (router, fakes) = router(json!({
        "model_list": [deployment("chat", "a"), deployment("chat", "b"), deployment("backup", "z")],
        "fallbacks": [{"chat": ["backup"]}],
    }));
    let strategy = Recording::new(|ids| {
        if ids.iter().any(|i| i == "z") {
            Ok(Some("z".into()))
        } else {
            Err("no idea".into())
        }
    });
    router.set_custom_strategy(Some(strategy.clone()));
    let routed = block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap();
    assert_eq!(routed.hidden.model_id, "z");
    assert_eq!(
        routed.hidden.fallback_model_group.as_deref(),
        Some("backup")
    );
    assert_eq!(fakes.transport.urls().len(), 1);
    let groups: Vec<String> = strategy.asks.borrow().iter().map(|a| a.0.clone()).collect();
    assert_eq!(groups, vec!["chat", "backup"]);

    // Without a fallback, the strategy's error is the call's, its message kept.
    let (router, _) = router_without_fallbacks();
    router.set_custom_strategy(Some(Recording::new(|_| Err("no idea".into()))));
    let e = block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InternalServerError);
    assert!(e.message.contains("no idea"), "{}", e.message);
}

fn router_without_fallbacks() -> (Router, Fakes) {
    router(json!({"model_list": [deployment("chat", "a"), deployment("chat", "b")]}))
}

#[test]
fn a_strategy_that_never_answers_times_out_with_the_call() {
    let (router, fakes) = router(json!({
        "model_list": [deployment("chat", "a"), deployment("chat", "b")],
        "timeout": 3,
    }));
    let strategy = Rc::new(Recording {
        rule: Box::new(|_| Ok(None)),
        asks: RefCell::default(),
        hang: true,
    });
    router.set_custom_strategy(Some(strategy));
    let e = block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout);
    assert!(e.message.contains("3.000 seconds"), "{}", e.message);
    assert!(fakes.sleeper.slept.borrow().contains(&3000));
    assert!(fakes.transport.urls().is_empty());
}

#[test]
fn removing_the_strategy_restores_the_configured_one() {
    let (router, _) = router_without_fallbacks();
    let strategy = Recording::new(|_| Ok(Some("b".into())));
    assert!(router.host_stream_allowed());
    router.set_custom_strategy(Some(strategy.clone()));
    // Streams await the strategy on the core's path; the host loop asks it itself.
    assert!(router.host_loop_allowed());
    assert!(!router.host_stream_allowed());
    block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap();
    router.set_custom_strategy(None);
    assert!(router.host_stream_allowed());
    block_on(router.call(Endpoint::ChatCompletion, chat("chat"))).unwrap();
    assert_eq!(strategy.asks.borrow().len(), 1);
}

#[test]
fn the_host_loop_asks_with_a_choose_step_and_sends_to_the_chosen_candidate() {
    let (router, _) = router_without_fallbacks();
    router.set_custom_strategy(Some(Recording::new(|_| Ok(None))));
    let mut hc = router.begin_host(Endpoint::ChatCompletion, "chat");
    let HostStep::Choose(choosing) = router.step_host(&mut hc) else {
        panic!("expected a choose step");
    };
    let shown = choosing.to_json();
    assert_eq!(shown["model"], "chat");
    assert_eq!(shown["candidates"].as_array().unwrap().len(), 2);
    assert!(!shown.to_string().contains("sk-secret-key"));
    router.chose_host(&mut hc, &choosing, Some(Ok(Some("b".into()))));
    let HostStep::Send(d) = router.step_host(&mut hc) else {
        panic!("expected a send step");
    };
    assert_eq!(d.id, "b");

    // An id that is not a candidate fails the call (no fallback configured).
    let mut hc = router.begin_host(Endpoint::ChatCompletion, "chat");
    let HostStep::Choose(choosing) = router.step_host(&mut hc) else {
        panic!("expected a choose step");
    };
    router.chose_host(&mut hc, &choosing, Some(Ok(Some("zzz".into()))));
    let HostStep::Fail(e) = router.step_host(&mut hc) else {
        panic!("expected the call to fail");
    };
    assert_eq!(e.kind, ErrorKind::InternalServerError);

    // Timed out (the host's timer fired): a Timeout.
    let mut hc = router.begin_host(Endpoint::ChatCompletion, "chat");
    let HostStep::Choose(choosing) = router.step_host(&mut hc) else {
        panic!("expected a choose step");
    };
    router.chose_host(&mut hc, &choosing, None);
    let HostStep::Fail(e) = router.step_host(&mut hc) else {
        panic!("expected the call to fail");
    };
    assert_eq!(e.kind, ErrorKind::Timeout);
}
