//! Native fakes for every port: a scripted transport, a manual clock that sleeps in virtual
//! time, a seeded RNG and a recording logger. Tests drive the router deterministically.

use crate::ports::{
    Clock, EventSink, HttpRequest, HttpResponse, LocalFuture, LogLevel, Logger, Ports, Sleeper,
    SplitMix64, Transport, TransportError,
};
use serde_json::{json, Value};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// Milliseconds that only move when a test (or a virtual sleep) moves them.
#[derive(Default)]
pub struct ManualClock {
    now: Cell<f64>,
}

impl ManualClock {
    pub fn advance(&self, ms: f64) {
        self.now.set(self.now.get() + ms);
    }
    pub fn set(&self, ms: f64) {
        self.now.set(ms);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> f64 {
        self.now.get()
    }
}

/// Sleeping advances the manual clock at once, so backoffs cost no real time.
pub struct VirtualSleeper {
    pub clock: Rc<ManualClock>,
    pub slept: RefCell<Vec<u64>>,
}

impl Sleeper for VirtualSleeper {
    /// Yields once (so other futures in a `join`/`select` run), then advances the clock by
    /// `ms` and completes. A sleep dropped before completing leaves the clock alone.
    fn sleep(&self, ms: u64) -> LocalFuture<'static, ()> {
        self.slept.borrow_mut().push(ms);
        let clock = Rc::clone(&self.clock);
        let mut yielded = false;
        Box::pin(std::future::poll_fn(move |_| {
            if yielded {
                clock.advance(ms as f64);
                Poll::Ready(())
            } else {
                yielded = true;
                Poll::Pending
            }
        }))
    }
}

/// Records router events in order.
#[derive(Default)]
pub struct RecordingEvents {
    pub events: RefCell<Vec<(String, Value)>>,
}

impl RecordingEvents {
    pub fn names(&self) -> Vec<String> {
        self.events
            .borrow()
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    }
}

impl EventSink for RecordingEvents {
    fn emit(&self, event: &str, payload: &Value) {
        self.events
            .borrow_mut()
            .push((event.to_string(), payload.clone()));
    }
}

#[derive(Default)]
pub struct RecordingLogger {
    pub lines: RefCell<Vec<(LogLevel, String)>>,
}

impl Logger for RecordingLogger {
    fn log(&self, level: LogLevel, message: &str) {
        self.lines.borrow_mut().push((level, message.to_string()));
    }
}

/// Holds scripted replies until the test opens it (to keep requests in flight).
#[derive(Debug, Default)]
pub struct Gate {
    open: Cell<bool>,
}

impl Gate {
    pub fn open(&self) {
        self.open.set(true);
    }
}

/// What the scripted upstream does with one request.
#[derive(Debug, Clone)]
pub enum Step {
    /// Answers `ok_chat(content)` once the gate is open; pending until then.
    Held(Rc<Gate>, String),
    Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
        delay_ms: u64,
    },
    /// The request hangs until its timeout fires (the clock advances by the timeout).
    Hang,
    ConnectionError(String),
}

impl Step {
    pub fn json(status: u16, body: Value) -> Step {
        Step::Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
            delay_ms: 0,
        }
    }
    pub fn ok_chat(content: &str) -> Step {
        Step::json(200, chat_completion(content))
    }
    pub fn error(status: u16, message: &str) -> Step {
        Step::json(
            status,
            json!({"error": {"message": message, "type": "error", "param": null, "code": null}}),
        )
    }
    pub fn with_header(self, name: &str, value: &str) -> Step {
        match self {
            Step::Reply {
                status,
                mut headers,
                body,
                delay_ms,
            } => {
                headers.push((name.to_string(), value.to_string()));
                Step::Reply {
                    status,
                    headers,
                    body,
                    delay_ms,
                }
            }
            other => other,
        }
    }
    pub fn after(self, ms: u64) -> Step {
        match self {
            Step::Reply {
                status,
                headers,
                body,
                ..
            } => Step::Reply {
                status,
                headers,
                body,
                delay_ms: ms,
            },
            other => other,
        }
    }
}

/// A realistic OpenAI `chat.completion` body.
pub fn chat_completion(content: &str) -> Value {
    json!({
        "id": "chatcmpl-test", "object": "chat.completion", "created": 1_700_000_000, "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": null}, "logprobs": null, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15, "prompt_tokens_details": {"cached_tokens": 0}}
    })
}

#[derive(Debug, Clone)]
pub struct RecordedCall {
    pub request: HttpRequest,
    pub at_ms: f64,
}

/// Answers requests from per-host scripts (keyed by a URL prefix), healthy by default.
pub struct ScriptedTransport {
    clock: Rc<ManualClock>,
    scripts: RefCell<HashMap<String, VecDeque<Step>>>,
    pub calls: RefCell<Vec<RecordedCall>>,
}

impl ScriptedTransport {
    pub fn new(clock: Rc<ManualClock>) -> Self {
        ScriptedTransport {
            clock,
            scripts: RefCell::default(),
            calls: RefCell::default(),
        }
    }

    /// Queues steps for requests whose URL starts with `prefix`.
    pub fn script(&self, prefix: &str, steps: impl IntoIterator<Item = Step>) {
        self.scripts
            .borrow_mut()
            .entry(prefix.to_string())
            .or_default()
            .extend(steps);
    }

    /// URLs of the calls made so far, in order.
    pub fn urls(&self) -> Vec<String> {
        self.calls
            .borrow()
            .iter()
            .map(|c| c.request.url.clone())
            .collect()
    }

    pub fn calls_to(&self, prefix: &str) -> usize {
        self.calls
            .borrow()
            .iter()
            .filter(|c| c.request.url.starts_with(prefix))
            .count()
    }

    fn next_step(&self, url: &str) -> Step {
        let mut scripts = self.scripts.borrow_mut();
        let best = scripts
            .iter_mut()
            .filter(|(prefix, _)| url.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len());
        best.and_then(|(_, q)| q.pop_front())
            .unwrap_or_else(|| Step::ok_chat("hello"))
    }
}

impl Transport for ScriptedTransport {
    fn send(
        &self,
        request: HttpRequest,
    ) -> LocalFuture<'static, Result<HttpResponse, TransportError>> {
        self.calls.borrow_mut().push(RecordedCall {
            request: request.clone(),
            at_ms: self.clock.now_ms(),
        });
        let result = match self.next_step(&request.url) {
            Step::Reply {
                status,
                headers,
                body,
                delay_ms,
            } => match request.timeout_ms {
                Some(t) if delay_ms > t => {
                    self.clock.advance(t as f64);
                    Err(TransportError::Timeout)
                }
                _ => {
                    self.clock.advance(delay_ms as f64);
                    Ok(HttpResponse {
                        status,
                        headers,
                        body: body.into_bytes(),
                    })
                }
            },
            Step::Hang => {
                self.clock.advance(request.timeout_ms.unwrap_or(0) as f64);
                Err(TransportError::Timeout)
            }
            Step::ConnectionError(m) => Err(TransportError::Connection(m)),
            Step::Held(gate, content) => {
                let reply = HttpResponse {
                    status: 200,
                    headers: vec![],
                    body: chat_completion(&content).to_string().into_bytes(),
                };
                return Box::pin(std::future::poll_fn(move |_| {
                    if gate.open.get() {
                        Poll::Ready(Ok(reply.clone()))
                    } else {
                        Poll::Pending
                    }
                }));
            }
        };
        Box::pin(async move { result })
    }
}

/// Every fake, wired into `Ports`, with handles kept for assertions.
pub struct Fakes {
    pub clock: Rc<ManualClock>,
    pub sleeper: Rc<VirtualSleeper>,
    pub transport: Rc<ScriptedTransport>,
    pub logger: Rc<RecordingLogger>,
    pub events: Rc<RecordingEvents>,
    pub ports: Ports,
}

impl Fakes {
    pub fn new(seed: u64) -> Fakes {
        let clock = Rc::new(ManualClock::default());
        clock.set(1_000_000.0);
        let sleeper = Rc::new(VirtualSleeper {
            clock: Rc::clone(&clock),
            slept: RefCell::default(),
        });
        let transport = Rc::new(ScriptedTransport::new(Rc::clone(&clock)));
        let logger = Rc::new(RecordingLogger::default());
        let events = Rc::new(RecordingEvents::default());
        let ports = Ports {
            transport: transport.clone(),
            clock: clock.clone(),
            sleeper: sleeper.clone(),
            rng: Rc::new(SplitMix64::new(seed)),
            logger: logger.clone(),
            token_counter: None,
            events: Some(events.clone()),
            signer: None,
        };
        Fakes {
            clock,
            sleeper,
            transport,
            logger,
            events,
            ports,
        }
    }
}

struct NoopWake;
impl Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
}

/// Returns `Pending` once, letting other futures in a `join` make progress.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|_| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            Poll::Pending
        }
    })
    .await
}

/// Runs a future whose fakes never wait on real I/O to completion (busy-polls).
pub fn block_on<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(NoopWake));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// An RS256 signer for tests: the "signature" is the SHA-256 of the signed data
/// (deterministic, see [`FakeSigner::signature_of`]), produced after yielding once so that
/// concurrent callers overlap. Records every call; `fail_with` makes it fail.
#[derive(Default)]
pub struct FakeSigner {
    /// `(pem, data)` of every call, in order.
    pub calls: RefCell<Vec<(String, Vec<u8>)>>,
    pub fail_with: RefCell<Option<String>>,
}

impl FakeSigner {
    /// The bytes `sign_rs256` returns for `data`.
    pub fn signature_of(data: &[u8]) -> Vec<u8> {
        crate::hash::sha256(data).to_vec()
    }
}

impl crate::ports::Signer for FakeSigner {
    fn sign_rs256(
        &self,
        pkcs8_pem: &str,
        data: &[u8],
    ) -> LocalFuture<'static, Result<Vec<u8>, String>> {
        self.calls
            .borrow_mut()
            .push((pkcs8_pem.to_string(), data.to_vec()));
        let result = match self.fail_with.borrow().clone() {
            Some(message) => Err(message),
            None => Ok(FakeSigner::signature_of(data)),
        };
        Box::pin(async move {
            yield_now().await;
            result
        })
    }
}

/// A spawner that queues background tasks until the test runs them (`run_all`).
#[derive(Default)]
pub struct QueueSpawner {
    tasks: RefCell<Vec<LocalFuture<'static, ()>>>,
}

impl QueueSpawner {
    /// Runs every queued task (and any they queue) to completion; returns how many ran.
    pub fn run_all(&self) -> usize {
        let mut ran = 0;
        for _ in 0..1_000 {
            let tasks = std::mem::take(&mut *self.tasks.borrow_mut());
            if tasks.is_empty() {
                break;
            }
            for task in tasks {
                block_on(task);
                ran += 1;
            }
        }
        ran
    }

    pub fn queued(&self) -> usize {
        self.tasks.borrow().len()
    }
}

impl crate::ports::Spawner for QueueSpawner {
    fn spawn(&self, task: LocalFuture<'static, ()>) {
        self.tasks.borrow_mut().push(task);
    }
}
