//! Native fakes for every port: a scripted transport, a manual clock that sleeps in virtual
//! time, a seeded RNG and a recording logger. Tests drive the router deterministically.

use crate::ports::{
    ByteStream, Clock, EventSink, HttpRequest, HttpResponse, LocalFuture, LogLevel, Logger,
    OpenBody, OpenResponse, Ports, Sleeper, SplitMix64, Transport, TransportError,
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
    /// Answers an error (`Step::error(status, message)`) once the gate is open.
    HeldError(Rc<Gate>, u16, String),
    Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
        delay_ms: u64,
    },
    /// The request hangs until its timeout fires (the clock advances by the timeout).
    Hang,
    ConnectionError(String),
    /// A 200 reply whose body arrives in `pieces` (one per read of an opened stream).
    Stream(Vec<Piece>),
}

/// One read of a scripted streamed body.
#[derive(Debug, Clone)]
pub enum Piece {
    Bytes(Vec<u8>),
    /// The read never completes (a stalled upstream).
    Stall,
    /// The read fails (a reset connection).
    Reset(String),
}

impl Piece {
    pub fn text(s: &str) -> Piece {
        Piece::Bytes(s.as_bytes().to_vec())
    }
}

/// OpenAI-format SSE pieces: one `data:` event per chunk, then `[DONE]`.
pub fn sse_pieces(chunks: &[Value]) -> Vec<Piece> {
    let mut pieces: Vec<Piece> = chunks
        .iter()
        .map(|c| Piece::Bytes(format!("data: {c}\n\n").into_bytes()))
        .collect();
    pieces.push(Piece::text("data: [DONE]\n\n"));
    pieces
}

/// An OpenAI chat stream answering `words` one per chunk, with usage at the end.
pub fn chat_stream(words: &[&str]) -> Step {
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1_700_000_000,
               "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
    };
    let mut chunks = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    chunks.extend(
        words
            .iter()
            .map(|w| chunk(json!({"content": w}), Value::Null)),
    );
    chunks.push(chunk(json!({}), json!("stop")));
    chunks.push(json!({"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1_700_000_000,
        "model": "gpt-4o-mini", "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": words.len(), "total_tokens": 9 + words.len()}}));
    Step::Stream(sse_pieces(&chunks))
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
    bodies: RefCell<Vec<Rc<ScriptedBody>>>,
}

impl ScriptedTransport {
    pub fn new(clock: Rc<ManualClock>) -> Self {
        ScriptedTransport {
            clock,
            scripts: RefCell::default(),
            calls: RefCell::default(),
            bodies: RefCell::default(),
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
    fn open(
        &self,
        request: HttpRequest,
    ) -> LocalFuture<'static, Result<OpenResponse, TransportError>> {
        let url = request.url.clone();
        let step = {
            let mut scripts = self.scripts.borrow_mut();
            let best = scripts
                .iter_mut()
                .filter(|(prefix, _)| url.starts_with(prefix.as_str()))
                .max_by_key(|(prefix, _)| prefix.len());
            best.and_then(|(_, q)| {
                if matches!(q.front(), Some(Step::Stream(_))) {
                    q.pop_front()
                } else {
                    None
                }
            })
        };
        let Some(Step::Stream(pieces)) = step else {
            let sent = self.send(request);
            return Box::pin(async move {
                sent.await.map(|r| OpenResponse {
                    status: r.status,
                    headers: r.headers,
                    body: OpenBody::Read(r.body),
                })
            });
        };
        self.calls.borrow_mut().push(RecordedCall {
            request,
            at_ms: self.clock.now_ms(),
        });
        let body = Rc::new(ScriptedBody {
            pieces: RefCell::new(pieces.into()),
            reads: Cell::new(0),
            cancelled: Cell::new(false),
        });
        self.bodies.borrow_mut().push(Rc::clone(&body));
        Box::pin(async move {
            Ok(OpenResponse {
                status: 200,
                headers: vec![("content-type".into(), "text/event-stream".into())],
                body: OpenBody::Stream(body),
            })
        })
    }

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
            Step::Stream(pieces) => {
                let mut body = Vec::new();
                for piece in pieces {
                    match piece {
                        Piece::Bytes(b) => body.extend(b),
                        Piece::Stall => {
                            self.clock.advance(request.timeout_ms.unwrap_or(0) as f64);
                            return Box::pin(async { Err(TransportError::Timeout) });
                        }
                        Piece::Reset(m) => {
                            return Box::pin(async move { Err(TransportError::Connection(m)) })
                        }
                    }
                }
                Ok(HttpResponse {
                    status: 200,
                    headers: vec![("content-type".into(), "text/event-stream".into())],
                    body,
                })
            }
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
            Step::HeldError(gate, status, message) => {
                let body = json!({"error": {"message": message, "type": "error", "param": null, "code": null}});
                let reply = HttpResponse {
                    status,
                    headers: vec![("content-type".into(), "application/json".into())],
                    body: body.to_string().into_bytes(),
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

/// A scripted streamed body: one piece per read; records reads and cancellation.
pub struct ScriptedBody {
    pieces: RefCell<VecDeque<Piece>>,
    pub reads: Cell<usize>,
    pub cancelled: Cell<bool>,
}

impl ByteStream for ScriptedBody {
    fn read(&self) -> LocalFuture<'static, Result<Option<Vec<u8>>, TransportError>> {
        if self.cancelled.get() {
            return Box::pin(async { Err(TransportError::Connection("aborted".into())) });
        }
        self.reads.set(self.reads.get() + 1);
        match self.pieces.borrow_mut().pop_front() {
            None => Box::pin(async { Ok(None) }),
            Some(Piece::Bytes(b)) => Box::pin(async move { Ok(Some(b)) }),
            Some(Piece::Reset(m)) => Box::pin(async move { Err(TransportError::Connection(m)) }),
            Some(Piece::Stall) => Box::pin(std::future::pending()),
        }
    }

    fn cancel(&self) {
        self.cancelled.set(true);
    }
}

impl ScriptedTransport {
    /// The bodies of the streams opened so far, in order.
    pub fn bodies(&self) -> Vec<Rc<ScriptedBody>> {
        self.bodies.borrow().clone()
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
            cache: None,
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
