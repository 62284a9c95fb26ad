//! Streamed calls. Opening a stream is part of an attempt: everything up to the first chunk
//! (status, connection, `stream_timeout`, an error event) is retried and falls back like a
//! non-streaming call. After the first chunk has been handed out there is no silent retry:
//! a failure ends the stream with a typed error. Chunks are read from upstream only when
//! the consumer asks for the next ones (backpressure).

use super::{annotate, response_cost, Answer, Call, InFlight, Router};
use crate::config::Deployment;
use crate::error::{ErrorKind, LlmError};
use crate::ports::{ByteStream, HttpRequest, HttpResponse, LocalFuture, OpenBody, Ports};
use crate::providers::{self, Provider};
use crate::reliability::{bounds, classify};
use crate::stream::{Chunk, StreamDecoder};
use crate::types::object::Put;
use crate::types::{text_completion, tokens::estimate_input_tokens, usage::token_usage, Endpoint};
use futures_util::future::{select, Either};
use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

/// A stream whose first chunk has arrived.
pub(super) struct OpenStream {
    /// `None` when the transport read the whole body at once.
    body: Option<Rc<dyn ByteStream>>,
    decoder: Box<dyn StreamDecoder>,
    /// Decoded chunks not yet handed out.
    pending: VecDeque<Value>,
    ended: bool,
    /// The deployment's in-flight count, held until the stream ends.
    pub(super) in_flight: Option<InFlight>,
    via_chat: bool,
    /// `stream_timeout`: the longest wait for the next piece of the body.
    gap_ms: u64,
    /// The gap timer, kept across reads (see `read_within`).
    watchdog: Option<LocalFuture<'static, ()>>,
    /// `max_response_bytes` and `max_stream_duration` for this reply.
    limits: ReplyLimits,
}

/// The ceilings on one upstream reply being read (README, "Security bounds"): bytes
/// (`max_response_bytes`) and, for a stream, total time since the request was sent
/// (`max_stream_duration`). Both request paths count through it.
pub(super) struct ReplyLimits {
    read: u64,
    max_bytes: u64,
    sent_at: f64,
    max_ms: u64,
}

impl ReplyLimits {
    pub(super) fn new(config: &crate::config::RouterConfig, sent_at: f64) -> ReplyLimits {
        ReplyLimits {
            read: 0,
            max_bytes: config.max_response_bytes,
            sent_at,
            max_ms: config.max_stream_duration_ms,
        }
    }

    /// Whether a ceiling has been passed: such a stream is over, never continued.
    fn spent(&self, now_ms: f64) -> bool {
        self.read > self.max_bytes || now_ms - self.sent_at > self.max_ms as f64
    }

    /// `n` more bytes were read, counted without checking the ceilings: the host checked
    /// them when it read those bytes (`Router::stream_plain_caught_up`).
    pub(super) fn add(&mut self, n: usize) {
        self.read = self.read.saturating_add(n as u64);
    }

    /// `n` more bytes were read at `now_ms`: the typed error once a ceiling is passed.
    pub(super) fn read(&mut self, n: usize, now_ms: f64) -> Result<(), LlmError> {
        self.read = self.read.saturating_add(n as u64);
        if self.read > self.max_bytes {
            return Err(bounds::response_too_large(self.max_bytes));
        }
        if now_ms - self.sent_at > self.max_ms as f64 {
            return Err(bounds::stream_too_long(self.max_ms));
        }
        Ok(())
    }
}

impl OpenStream {
    /// A stream whose body the host reads and feeds in (`hoststream.rs`), in flight on
    /// `in_flight` until it ends.
    pub(super) fn fed(
        decoder: Box<dyn StreamDecoder>,
        via_chat: bool,
        in_flight: InFlight,
    ) -> OpenStream {
        OpenStream {
            body: None,
            decoder,
            pending: VecDeque::new(),
            ended: false,
            in_flight: Some(in_flight),
            via_chat,
            gap_ms: 0,
            watchdog: None,
            // The host stream counts its reads itself (`HostStream::limits`).
            limits: ReplyLimits {
                read: 0,
                max_bytes: u64::MAX,
                sent_at: 0.0,
                max_ms: u64::MAX,
            },
        }
    }

    fn cancel(&mut self) {
        if let Some(body) = self.body.take() {
            body.cancel();
        }
        self.ended = true;
    }

    /// Reads until a chunk is pending or the body has ended.
    async fn fill(&mut self, ports: &Ports) -> Result<(), LlmError> {
        while self.pending.is_empty() && !self.ended {
            let Some(body) = self.body.clone() else {
                self.ended = true;
                break;
            };
            match self.read_within(ports, body.as_ref()).await? {
                Some(bytes) => {
                    if let Err(e) = self.limits.read(bytes.len(), ports.clock.now_ms()) {
                        body.cancel();
                        return Err(e);
                    }
                    self.pending.extend(self.decoder.feed(&bytes)?)
                }
                None => {
                    self.ended = true;
                    self.body = None;
                    self.pending.extend(self.decoder.finish()?);
                }
            }
        }
        Ok(())
    }

    /// The next piece of `body`, or a `Timeout` when none arrives within `gap_ms` of asking.
    /// One timer serves many reads: armed for a whole gap, it is re-armed for the rest of the
    /// gap when it fires while the pending read is younger than the gap (the timer was armed
    /// for an earlier read). A fast stream thus costs one timer per gap, not one per read; time
    /// the consumer spends between reads never counts.
    async fn read_within(
        &mut self,
        ports: &Ports,
        body: &dyn ByteStream,
    ) -> Result<Option<Vec<u8>>, LlmError> {
        let gap = self.gap_ms;
        let asked = ports.clock.now_ms();
        let mut read = body.read();
        loop {
            let watchdog = self
                .watchdog
                .get_or_insert_with(|| ports.sleeper.sleep(gap));
            match select(read, watchdog).await {
                Either::Left((piece, _)) => {
                    return piece.map_err(|te| classify::from_transport(&te, Some(gap)))
                }
                Either::Right(((), pending)) => {
                    let waited = ports.clock.now_ms() - asked;
                    // Whole milliseconds: a host clock may tick coarser than the timer.
                    if waited + 1.0 >= gap as f64 {
                        self.watchdog = None;
                        body.cancel();
                        return Err(LlmError::new(
                            ErrorKind::Timeout,
                            format!(
                                "the stream sent nothing for {:.3} seconds (stream_timeout)",
                                gap as f64 / 1000.0
                            ),
                        ));
                    }
                    let rest = (gap as f64 - waited).ceil() as u64;
                    self.watchdog = Some(ports.sleeper.sleep(rest));
                    read = pending;
                }
            }
        }
    }
}

impl Router {
    /// One streamed exchange, up to its first chunk.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn open_stream(
        &self,
        provider: &dyn Provider,
        d: &Deployment,
        endpoint: Endpoint,
        request: HttpRequest,
        decoder: Box<dyn StreamDecoder>,
        timeout_ms: u64,
        via_chat: bool,
    ) -> Result<OpenStream, LlmError> {
        let sent_at = self.now();
        let response = self.open(request, timeout_ms).await?;
        let mut open = OpenStream {
            body: None,
            decoder,
            pending: VecDeque::new(),
            ended: false,
            in_flight: None,
            via_chat,
            gap_ms: timeout_ms,
            watchdog: None,
            limits: ReplyLimits::new(&self.inner.config, sent_at),
        };
        let ok = (200..300).contains(&response.status);
        match response.body {
            OpenBody::Read(bytes) => {
                open.limits.read(bytes.len(), self.now())?;
                let reply = HttpResponse {
                    status: response.status,
                    headers: response.headers,
                    body: bytes,
                };
                if !ok {
                    return Err(error_reply(provider, d, endpoint, &reply));
                }
                open.pending.extend(open.decoder.feed(&reply.body)?);
                open.pending.extend(open.decoder.finish()?);
                open.ended = true;
            }
            OpenBody::Stream(body) => {
                if !ok {
                    body.cancel();
                    let reply = HttpResponse {
                        status: response.status,
                        headers: response.headers,
                        body: Vec::new(),
                    };
                    return Err(error_reply(provider, d, endpoint, &reply));
                }
                open.body = Some(body);
                if let Err(e) = open.fill(&self.inner.ports).await {
                    open.cancel();
                    return Err(e);
                }
            }
        }
        if open.pending.is_empty() {
            return Err(classify::malformed_body(
                "the stream ended without any chunk",
            ));
        }
        Ok(open)
    }

    /// Serves a `stream: true` request (`completion`/`textCompletion`): resolves once the
    /// first chunk has arrived, with retries and fallbacks applied until then.
    pub async fn call_stream(
        &self,
        endpoint: Endpoint,
        mut body: serde_json::Map<String, Value>,
    ) -> Result<ChunkStream, LlmError> {
        self.await_first_sync().await;
        let started = self.now();
        self.state_tick();
        let opts = stream_options(endpoint, &mut body)?;
        let group = opts.model.clone();
        let cache_key = self.cache_key(endpoint, &body, &opts);
        if let Some(key) = &cache_key {
            if let Some(hit) = self.cache_lookup(key, &opts, started).await {
                let chunks = crate::stream::replay_chunks(&hit.body, opts.include_usage);
                return Ok(ChunkStream::replay(hit.hidden, chunks));
            }
        }
        let mut call = Call::new(endpoint, body, opts);
        let opened = self
            .route(&mut call)
            .await
            .and_then(|(reply, answer)| Ok((reply.into_stream()?, answer)));
        let (open, answer) = match opened {
            Ok(opened) => opened,
            Err(e) => return Err(self.book_failure(&group, &call, e, self.now() - started)),
        };
        Ok(ChunkStream::live(LiveStream::new(
            self.clone(),
            group,
            call,
            answer,
            open,
            started,
            cache_key,
        )))
    }
}

/// `Ok` for the endpoints that stream (chat, text completion, Responses), else the error a
/// `stream: true` request of another endpoint gets.
pub(super) fn streamable(endpoint: Endpoint) -> Result<(), LlmError> {
    if matches!(
        endpoint,
        Endpoint::ChatCompletion | Endpoint::TextCompletion | Endpoint::Responses
    ) {
        return Ok(());
    }
    Err(LlmError::bad_request(format!(
        "stream: true is supported by completion() and textCompletion(), not {}()",
        endpoint.method()
    )))
}

/// The router kwargs of a `stream: true` request of `endpoint` (removed from `body`), or the
/// error of an endpoint that does not stream.
pub(super) fn stream_options(
    endpoint: Endpoint,
    body: &mut serde_json::Map<String, Value>,
) -> Result<super::CallOptions, LlmError> {
    let mut opts = super::CallOptions::extract(body)?;
    streamable(endpoint)?;
    opts.stream = true;
    Ok(opts)
}

/// The classified error of a non-2xx reply to a streaming request.
pub(super) fn error_reply(
    provider: &dyn Provider,
    d: &Deployment,
    endpoint: Endpoint,
    reply: &HttpResponse,
) -> LlmError {
    match provider.parse_response(d, endpoint, reply) {
        Err(e) => e,
        Ok(_) => classify::from_status(reply, providers::error_message(reply)),
    }
}

/// Characters of content, reasoning, text and tool calls in one streamed choice (direct
/// lookups: JSON pointers allocate per call, and this runs for every chunk).
fn delivered_chars(choice: &Value) -> usize {
    let len = |v: Option<&Value>| v.and_then(Value::as_str).map_or(0, str::len);
    let mut n = len(choice.get("text"));
    if let Some(delta) = choice.get("delta") {
        n += len(delta.get("content")) + len(delta.get("reasoning_content"));
        if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
            for call in calls {
                let function = call.get("function");
                n += len(function.and_then(|f| f.get("arguments")))
                    + len(function.and_then(|f| f.get("name")));
            }
        }
    }
    n
}

/// Stops a stream from outside (`abort()`), even while a read is pending.
#[derive(Clone)]
pub struct StreamAbort {
    /// The body being read (a continuation replaces it).
    body: Rc<RefCell<Option<Rc<dyn ByteStream>>>>,
    aborted: Rc<Cell<bool>>,
}

impl StreamAbort {
    pub fn abort(&self) {
        self.aborted.set(true);
        let body = self.body.borrow().clone();
        if let Some(body) = body {
            body.cancel();
        }
    }
}

/// Whether deployment `d` may serve a mid-stream continuation: its model takes a trailing
/// assistant message as a prefill (`model_info.supports_assistant_prefill: true`; Anthropic
/// unless it says `false`).
pub(super) fn takes_prefill(d: &Deployment) -> bool {
    match d
        .model_info
        .raw
        .get("supports_assistant_prefill")
        .and_then(Value::as_bool)
    {
        Some(declared) => declared,
        None => d.provider == "anthropic",
    }
}

/// Whether a request's own parameters forbid continuing its stream from a prefill (LiteLLM's
/// `constrains_continuation`): several choices, a structured output, a forced tool call.
fn constrains_continuation(body: &serde_json::Map<String, Value>) -> bool {
    body.get("n").and_then(Value::as_u64).is_some_and(|n| n > 1)
        || body
            .get("response_format")
            .is_some_and(|f| !f.is_null() && f.get("type").and_then(Value::as_str) != Some("text"))
        || body
            .get("tool_choice")
            .is_some_and(|c| c.as_str() == Some("required") || c.is_object())
}

/// How a continuation's chunks join the stream the caller already has: the first stream's
/// `id` and `created`, no second role delta, and a leading echo of the prefill dropped.
struct Splice {
    id: Value,
    created: Value,
    /// The part of the prefill the continuation may still echo.
    echo: String,
    /// Echoed text withheld so far (given back if the echo turns out not to be one).
    held: String,
}

impl Splice {
    fn apply(&mut self, chunk: &mut Value) {
        if let Some(obj) = chunk.as_object_mut() {
            obj.put("id", self.id.clone());
            obj.put("created", self.created.clone());
        }
        let Some(delta) = chunk
            .get_mut("choices")
            .and_then(|c| c.get_mut(0))
            .and_then(|c| c.get_mut("delta"))
            .and_then(Value::as_object_mut)
        else {
            return;
        };
        delta.remove("role");
        if self.echo.is_empty() {
            return;
        }
        let Some(text) = delta.get("content").and_then(Value::as_str) else {
            return;
        };
        let text = text.to_string();
        let out = if self.echo.starts_with(&text) {
            self.echo.drain(..text.len());
            self.held.push_str(&text);
            String::new()
        } else if let Some(rest) = text.strip_prefix(self.echo.as_str()) {
            self.echo.clear();
            self.held.clear();
            rest.to_string()
        } else {
            self.echo.clear();
            std::mem::take(&mut self.held) + &text
        };
        delta.put("content", Value::String(out));
    }
}

/// An open stream of OpenAI chunks (`chat.completion.chunk`, or `text_completion` chunks for
/// `textCompletion`): read from upstream, or replayed from the response cache.
pub struct ChunkStream {
    source: Source,
}

enum Source {
    Live(Box<LiveStream>),
    /// A cached answer, replayed as chunks.
    Replay {
        chunks: VecDeque<Value>,
        hidden: super::HiddenParams,
        aborted: Rc<Cell<bool>>,
    },
}

impl ChunkStream {
    fn live(stream: LiveStream) -> ChunkStream {
        ChunkStream {
            source: Source::Live(Box::new(stream)),
        }
    }

    fn replay(hidden: super::HiddenParams, chunks: Vec<Value>) -> ChunkStream {
        ChunkStream {
            source: Source::Replay {
                chunks: chunks.into(),
                hidden,
                aborted: Rc::new(Cell::new(false)),
            },
        }
    }

    /// Router metadata: final (with `response_cost`) once the stream has ended.
    pub fn hidden(&self) -> &super::HiddenParams {
        match &self.source {
            Source::Live(s) => &s.hidden,
            Source::Replay { hidden, .. } => hidden,
        }
    }

    pub fn abort_handle(&self) -> StreamAbort {
        match &self.source {
            Source::Live(s) => s.abort_handle(),
            Source::Replay { aborted, .. } => StreamAbort {
                body: Rc::new(RefCell::new(None)),
                aborted: Rc::clone(aborted),
            },
        }
    }

    /// The next chunks (at least one), `Ok(None)` at the end, or the error that cut the
    /// stream short (after which it is over).
    pub async fn next(&mut self) -> Result<Option<Vec<Value>>, LlmError> {
        match &mut self.source {
            Source::Live(s) => s.next().await,
            Source::Replay {
                chunks, aborted, ..
            } => {
                if aborted.get() || chunks.is_empty() {
                    return Ok(None);
                }
                Ok(Some(chunks.drain(..).collect()))
            }
        }
    }

    /// Stops the stream now: the upstream connection is closed.
    pub fn abort(&mut self) {
        match &mut self.source {
            Source::Live(s) => s.abort(),
            Source::Replay {
                chunks, aborted, ..
            } => {
                aborted.set(true);
                chunks.clear();
            }
        }
    }
}

/// A stream being read from upstream. Usage and cost are booked when it ends; dropping it
/// before then closes the upstream connection and books what was delivered.
pub(super) struct LiveStream {
    router: Router,
    group: String,
    call: Call,
    deployment: Rc<Deployment>,
    open: OpenStream,
    started_ms: f64,
    /// When the answering exchange began (its request was sent).
    exchange_started_ms: f64,
    ttft_ms: f64,
    usage: Option<Value>,
    /// Characters of content delivered, for a usage estimate when the provider sent none.
    completion_chars: usize,
    aborted: Rc<Cell<bool>>,
    finished: bool,
    hidden: super::HiddenParams,
    /// Where the assembled answer is cached once the stream has ended well.
    cache_key: Option<String>,
    /// Every chunk (the usage chunk included), kept for the cache.
    delivered: Vec<Value>,
    /// The body `abort()` cancels (shared with the abort handle).
    abort_body: Rc<RefCell<Option<Rc<dyn ByteStream>>>>,
    /// Mid-stream continuation (`enable_mid_stream_fallback_continuation`): whether this
    /// stream may continue elsewhere, the text delivered so far, and how it went.
    continuable: bool,
    text: String,
    /// The first chunk's `id` and `created`.
    identity: Option<(Value, Value)>,
    splice: Option<Splice>,
    continuations: u32,
    /// Groups whose legs served this stream: a continuation never re-enters one.
    visited: Vec<String>,
    /// The continuation `fail` prepared: its call and attempt loop, for the driver to run.
    next_leg: Option<(Call, super::dispatch::Dispatch)>,
    /// The error that cut the stream, surfaced if its continuation fails (as LiteLLM does).
    cut: Option<LlmError>,
}

impl LiveStream {
    pub(super) fn new(
        router: Router,
        group: String,
        call: Call,
        answer: Answer,
        open: OpenStream,
        started_ms: f64,
        cache_key: Option<String>,
    ) -> LiveStream {
        let now = router.now();
        let d = answer.deployment;
        router
            .inner
            .usage
            .borrow_mut()
            .first_chunk(&d.id, &d.model_group, answer.attempt_ms);
        let hidden = router.hidden_params(&call, &d, None, now - started_ms);
        let continuable = router.inner.config.enable_mid_stream_fallback_continuation
            && call.endpoint == Endpoint::ChatCompletion
            && !constrains_continuation(&call.body);
        let mut visited = vec![call.opts.model.clone(), d.model_group.clone()];
        visited.extend(call.fallback_model_group.clone());
        LiveStream {
            abort_body: Rc::new(RefCell::new(open.body.clone())),
            continuable,
            text: String::new(),
            identity: None,
            splice: None,
            continuations: 0,
            visited,
            next_leg: None,
            cut: None,
            group,
            deployment: d,
            open,
            started_ms,
            exchange_started_ms: now - answer.attempt_ms,
            ttft_ms: answer.attempt_ms,
            usage: None,
            completion_chars: 0,
            aborted: Rc::new(Cell::new(false)),
            finished: false,
            hidden,
            cache_key,
            delivered: Vec::new(),
            call,
            router,
        }
    }

    /// Router metadata: final (with `response_cost`) once the stream has ended.
    pub(super) fn hidden(&self) -> &super::HiddenParams {
        &self.hidden
    }

    /// The host read `bytes` of the body: the chunks they complete, for the caller. An
    /// error ends the stream (booked; no retry after the first chunk).
    pub(super) fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Chunk>, LlmError> {
        if self.finished {
            return Ok(Vec::new());
        }
        match self.open.decoder.feed_chunks(bytes) {
            Ok(chunks) => self.deliver_chunks(chunks),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// The identity plain chunks must carry for the host to read them itself
    /// (`Router::stream_plain_identity`): only while every plain chunk would pass through
    /// as its text (no conversion for `textCompletion`, no cache entry or continuation text
    /// to keep) and the decoder allows it.
    pub(super) fn plain_identity(&self) -> Option<crate::stream::PlainIdentity<'_>> {
        if self.finished || self.open.via_chat || self.cache_key.is_some() || self.continuable {
            return None;
        }
        self.open.decoder.plain_identity()
    }

    /// The host read plain chunks itself: what `deliver_chunks` books for raw chunks (their
    /// characters) and what the decoder records (a finish, tool calls).
    pub(super) fn plain_read(&mut self, chars: usize, finished: bool, tool_calls: bool) {
        self.completion_chars = self.completion_chars.saturating_add(chars);
        self.open.decoder.plain_read(finished, tool_calls);
    }

    /// The host reached the end of the body: the last chunks; the stream is booked.
    pub(super) fn end(&mut self) -> Result<Vec<Chunk>, LlmError> {
        if self.finished {
            return Ok(Vec::new());
        }
        self.open.ended = true;
        match self.open.decoder.finish() {
            Ok(chunks) => {
                let out = self.deliver_chunks(chunks.into_iter().map(Chunk::Value).collect())?;
                self.finish_ok();
                Ok(out)
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// `deliver` for chunks that may be raw text: a raw chunk is passed on as it is unless
    /// it must be converted (`textCompletion` via chat) or kept for the cache.
    pub(super) fn deliver_chunks(&mut self, chunks: Vec<Chunk>) -> Result<Vec<Chunk>, LlmError> {
        let mut out = Vec::with_capacity(chunks.len());
        for chunk in chunks {
            match chunk {
                Chunk::Raw { text, chars }
                    if !self.open.via_chat && self.cache_key.is_none() && !self.continuable =>
                {
                    self.completion_chars += chars;
                    out.push(Chunk::Raw { text, chars });
                }
                other => match other.into_value() {
                    Ok(value) => out.extend(self.deliver(value).map(Chunk::Value)),
                    Err(e) => return Err(self.fail(e)),
                },
            }
        }
        Ok(out)
    }

    /// The host's read of the body failed (`e`): the stream ends with it, booked.
    pub(super) fn broke(&mut self, e: LlmError) -> LlmError {
        self.fail(e)
    }

    /// Like `broke`, for a failure that is never continued (a reply ceiling passed).
    pub(super) fn broke_for_good(&mut self, e: LlmError) -> LlmError {
        self.continuable = false;
        self.fail(e)
    }

    fn abort_handle(&self) -> StreamAbort {
        StreamAbort {
            body: Rc::clone(&self.abort_body),
            aborted: Rc::clone(&self.aborted),
        }
    }

    /// The continuation `fail` prepared, if any: the driver runs its attempt loop, then calls
    /// `resume` (it answered) or `continuation_failed`.
    pub(super) fn take_next_leg(&mut self) -> Option<(Call, super::dispatch::Dispatch)> {
        self.next_leg.take()
    }

    /// Prepares a continuation of this stream after `e` cut it, when allowed: the failure is
    /// charged to the deployment and the request is re-made with the delivered text as an
    /// assistant prefill (`prefix: true`), its `max_tokens` / `max_completion_tokens` reduced
    /// by the tokens already emitted, for the group's fallbacks.
    fn prepare_continuation(&mut self, e: &LlmError) -> bool {
        let cfg = &self.router.inner.config;
        let max = self.call.opts.max_fallbacks.unwrap_or(cfg.max_fallbacks);
        if !self.continuable
            || self.text.is_empty()
            || self.aborted.get()
            || e.kind == ErrorKind::ContentPolicyViolationError
            || self.continuations >= max
            || self.call.opts.disable_fallbacks
            || self.open.limits.spent(self.router.now())
        {
            return false;
        }
        let emitted = self
            .usage
            .as_ref()
            .and_then(|u| u.get("completion_tokens"))
            .and_then(Value::as_u64)
            .unwrap_or_else(|| self.text.len().div_ceil(4) as u64);
        let mut body = self.call.body.clone();
        for key in ["max_tokens", "max_completion_tokens"] {
            if let Some(limit) = body.get(key).and_then(Value::as_u64) {
                if limit <= emitted {
                    return false;
                }
                body.insert(key.into(), Value::from(limit - emitted));
            }
        }
        let Some(Value::Array(messages)) = body.get_mut("messages") else {
            return false;
        };
        if messages
            .last()
            .is_some_and(|m| m.get("role").and_then(Value::as_str) == Some("assistant"))
        {
            // A request that already ends in an assistant turn cannot take another prefill.
            return false;
        }
        messages.push(crate::obj! {
            "role": "assistant", "content": self.text.clone(), "prefix": true,
        });
        let d = Rc::clone(&self.deployment);
        let charged = annotate(e.clone(), &d);
        let single = self.router.table().group(&d.model_group).len() <= 1;
        self.router.record_failure(&d, &charged, single);
        self.open.cancel();
        self.open.in_flight = None;
        let mut call = Call::new(self.call.endpoint, body, self.call.opts.clone());
        call.attempts = self.call.attempts;
        call.retries = self.call.retries;
        call.prefill_only = true;
        let group = d.model_group.clone();
        let dispatch = self.router.continuation_dispatch(
            &call,
            self.visited.clone(),
            self.continuations,
            &group,
            charged.clone(),
        );
        self.cut = Some(charged);
        self.continuations += 1;
        self.router.log(crate::ports::LogLevel::Info, || {
            format!(
                "llmux: stream of {group} broke after {} characters ({}); continuing on a fallback",
                self.text.len(),
                e.kind
            )
        });
        self.next_leg = Some((call, dispatch));
        true
    }

    /// The continuation's attempt loop answered (`answer`, its stream `open`): the stream
    /// goes on from it, spliced onto what the caller has.
    pub(super) fn resume(&mut self, call: Call, answer: Answer, mut open: OpenStream) {
        let now = self.router.now();
        // The reply ceilings count the whole stream, every leg.
        open.limits.read = open.limits.read.saturating_add(self.open.limits.read);
        open.limits.sent_at = self.open.limits.sent_at;
        *self.abort_body.borrow_mut() = open.body.clone();
        self.open = open;
        self.deployment = answer.deployment;
        self.visited.push(self.deployment.model_group.clone());
        self.visited.extend(call.fallback_model_group.clone());
        self.call = call;
        self.exchange_started_ms = now - answer.attempt_ms;
        let (id, created) = self.identity.clone().unwrap_or((Value::Null, Value::Null));
        self.splice = Some(Splice {
            id,
            created,
            echo: self.text.clone(),
            held: String::new(),
        });
        self.hidden =
            self.router
                .hidden_params(&self.call, &self.deployment, None, now - self.started_ms);
    }

    /// The continuation's attempt loop failed with `e` (`call`: its attempts): the stream
    /// ends with the error that cut it (LiteLLM surfaces the original error), booked.
    pub(super) fn continuation_failed(&mut self, call: Call, e: LlmError) -> LlmError {
        self.router.log(crate::ports::LogLevel::Info, || {
            format!("llmux: the stream's continuation failed: {}", e.kind)
        });
        let e = self.cut.take().unwrap_or(e);
        self.finished = true;
        self.cache_key = None;
        self.call.attempts = call.attempts;
        self.call.retries = call.retries;
        let latency = self.router.now() - self.started_ms;
        self.open.in_flight = None;
        self.router
            .book_failure(&self.group, &self.call, e, latency)
    }

    async fn next(&mut self) -> Result<Option<Vec<Value>>, LlmError> {
        loop {
            if self.finished {
                return Ok(None);
            }
            if self.aborted.get() {
                self.finish_cancelled();
                return Ok(None);
            }
            if let Err(e) = self.open.fill(&self.router.inner.ports).await {
                if self.aborted.get() {
                    self.finish_cancelled();
                    return Ok(None);
                }
                let e = self.fail(e);
                let Some((mut call, dispatch)) = self.take_next_leg() else {
                    return Err(e);
                };
                let router = self.router.clone();
                let opened = router
                    .route_from(&mut call, dispatch)
                    .await
                    .and_then(|(reply, answer)| Ok((reply.into_stream()?, answer)));
                match opened {
                    Ok((open, answer)) => {
                        self.resume(call, answer, open);
                        if self.aborted.get() {
                            self.finish_cancelled();
                            return Ok(None);
                        }
                    }
                    Err(e) => return Err(self.continuation_failed(call, e)),
                }
                continue;
            }
            if self.open.pending.is_empty() {
                self.finish_ok();
                self.store_in_cache().await;
                return Ok(None);
            }
            let pending: Vec<Value> = self.open.pending.drain(..).collect();
            let out: Vec<Value> = pending
                .into_iter()
                .filter_map(|c| self.deliver(c))
                .collect();
            if !out.is_empty() {
                return Ok(Some(out));
            }
        }
    }

    pub(super) fn abort(&mut self) {
        self.aborted.set(true);
        self.finish_cancelled();
    }

    /// Books the usage chunk, counts content, converts for `textCompletion`; `None` for a
    /// chunk the caller did not ask for (usage without `include_usage`).
    fn deliver(&mut self, chunk: Value) -> Option<Value> {
        let chunk = if self.open.via_chat {
            text_completion::from_chat_chunk(chunk)
        } else {
            chunk
        };
        let mut chunk = chunk;
        if self.continuable {
            if let Some(splice) = self.splice.as_mut() {
                splice.apply(&mut chunk);
            } else if self.identity.is_none() {
                if let (Some(id), Some(created)) = (chunk.get("id"), chunk.get("created")) {
                    self.identity = Some((id.clone(), created.clone()));
                }
            }
            self.track_text(&chunk);
        }
        if self.cache_key.is_some() {
            self.delivered.push(chunk.clone());
        }
        let no_choices = chunk
            .get("choices")
            .and_then(Value::as_array)
            .is_none_or(|c| c.is_empty());
        // A Responses stream (#18) reports usage on its terminal event's `response`.
        if let Some(usage) = chunk.pointer("/response/usage").filter(|u| u.is_object()) {
            self.usage = Some(usage.clone());
        }
        if let Some(usage) = chunk.get("usage").filter(|u| !u.is_null()) {
            self.usage = Some(usage.clone());
            if no_choices && !self.call.opts.include_usage {
                return None;
            }
        }
        if let Some(choices) = chunk.get("choices").and_then(Value::as_array) {
            for c in choices {
                self.completion_chars += delivered_chars(c);
            }
        }
        Some(chunk)
    }

    /// Keeps the delivered text for a continuation; tool calls, reasoning or a second choice
    /// make the stream one that cannot continue from a prefill (as in LiteLLM).
    fn track_text(&mut self, chunk: &Value) {
        let Some(choices) = chunk.get("choices").and_then(Value::as_array) else {
            return;
        };
        for c in choices {
            let delta = c.get("delta");
            let other = c.get("index").and_then(Value::as_u64).unwrap_or(0) != 0
                || delta.is_some_and(|d| {
                    ["tool_calls", "function_call", "reasoning_content", "audio"]
                        .iter()
                        .any(|k| d.get(*k).is_some_and(|v| !v.is_null()))
                });
            if other {
                self.continuable = false;
                return;
            }
            if let Some(t) = delta.and_then(|d| d.get("content")).and_then(Value::as_str) {
                self.text.push_str(t);
            }
        }
    }

    /// Caches the assembled answer of a stream that ended well (never a partial one).
    async fn store_in_cache(&mut self) {
        let Some(key) = self.cache_key.take() else {
            return;
        };
        let chunks = std::mem::take(&mut self.delivered);
        if let Ok(body) = crate::stream::assemble::assemble(&chunks) {
            let routed = super::Routed {
                body,
                audio: None,
                hidden: self.hidden.clone(),
            };
            self.router
                .cache_store(&key, &routed, &self.call.opts)
                .await;
        }
    }

    /// Usage as reported, else estimated from the prompt and the delivered content.
    fn usage_now(&self) -> Option<crate::cost::TokenUsage> {
        let reported = self.usage.as_ref().map(crate::types::usage::usage_counts);
        reported.or_else(|| {
            // A wire-path stream's request is parsed only now, when its usage is estimated.
            let prompt_tokens = match &self.call.raw_body {
                Some(raw) => match serde_json::from_str::<Value>(raw) {
                    Ok(Value::Object(body)) => estimate_input_tokens(&body),
                    _ => 0,
                },
                None => estimate_input_tokens(&self.call.body),
            };
            let completion_tokens = self.completion_chars.div_ceil(4) as u64;
            token_usage(&crate::obj! {"usage": crate::obj!{
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens.saturating_add(completion_tokens),
            }})
        })
    }

    fn finish_ok(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        let now = self.router.now();
        let usage = self.usage_now();
        let d = Rc::clone(&self.deployment);
        let cost = response_cost(
            &self.call,
            &d,
            &Value::Null,
            usage,
            now - self.exchange_started_ms,
        );
        let latency_ms = now - self.started_ms;
        self.router.book_success(
            &self.group,
            &self.call,
            &d,
            usage,
            cost,
            latency_ms,
            now - self.exchange_started_ms,
            Some(self.ttft_ms),
        );
        self.hidden = self.router.hidden_params(&self.call, &d, cost, latency_ms);
        self.open.in_flight = None;
    }

    /// A stream stopped by its consumer: the upstream is closed and what was delivered is
    /// booked as the answer (usage estimated when the provider had not reported it yet).
    fn finish_cancelled(&mut self) {
        if self.finished {
            return;
        }
        self.cache_key = None;
        self.open.cancel();
        self.finish_ok();
    }

    /// A failure after the first chunk: no retry; the deployment is charged with it. With
    /// mid-stream continuation on, a continuation may be prepared instead (`take_next_leg`):
    /// the stream is then not over, and `e` is only what it would have ended with.
    fn fail(&mut self, e: LlmError) -> LlmError {
        if self.prepare_continuation(&e) {
            return e;
        }
        self.finished = true;
        self.cache_key = None;
        self.open.cancel();
        let d = Rc::clone(&self.deployment);
        let e = annotate(e, &d);
        let single = self.router.table().group(&d.model_group).len() <= 1;
        self.router.record_failure(&d, &e, single);
        let latency = self.router.now() - self.started_ms;
        let e = self
            .router
            .book_failure(&self.group, &self.call, e, latency);
        self.open.in_flight = None;
        e
    }
}

impl Drop for LiveStream {
    fn drop(&mut self) {
        if !self.finished {
            self.finish_cancelled();
        }
    }
}
