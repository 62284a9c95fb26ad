//! The invariants the fuzz targets check, shared by the `cargo fuzz` targets
//! (`fuzz/fuzz_targets/*.rs`, nightly) and the corpus replay (`tests/fuzz_corpus.rs`, stable):
//! both include this file with `#[path]`, so the checks live once.
//!
//! Each `check_*` function takes one fuzz input and panics when an invariant fails. Inputs
//! start with a few header bytes that choose the variant (provider, endpoint, status) and the
//! split points; the rest is the body under test. Layout per target:
//!
//! | target | header | body |
//! |---|---|---|
//! | `sse`, `eventstream` | `[flags, split_hi, split_lo]` | stream bytes |
//! | `provider_stream` | `[provider, flags, split_hi, split_lo]` | stream bytes |
//! | `provider_response` | `[provider, endpoint, status]` | response body |
//!
//! `provider` indexes [`provider_params`], `endpoint` (and a stream's `flags >> 4`) indexes
//! [`ENDPOINTS`] (falling back to a supported one), `status` indexes [`STATUSES`] (all taken
//! modulo their length). `scripts/fuzz-seed.mjs` writes seeds in this layout.
//! | `config` | none | JSON of the Router options |
//! | `cache_key` | `[call]` | JSON of a request body |
//!
//! `flags == AMPLIFY` makes a stream target feed the body over and over (tens of MiB) and
//! check that the decoder's live heap stays within its documented caps. That takes seconds
//! per input, so it is on only when [`set_amplify`] turned it on (the corpus replay does) or
//! `LLMUX_FUZZ_AMPLIFY=1` is set (a long `npm run fuzz`); otherwise such an input gets the
//! ordinary checks.
#![allow(
    dead_code,
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use llmux::config::{Deployment, RouterConfig};
use llmux::error::{ErrorKind, LlmError};
use llmux::ports::HttpResponse;
use llmux::providers;
use llmux::stream::eventstream::{self, EventStreamDecoder, MAX_MESSAGE_BYTES};
use llmux::stream::sse::{SseDecoder, SseEvent, MAX_EVENT_BYTES, MAX_LINE_BYTES};
use llmux::stream::{StreamContext, StreamDecoder};
use llmux::types::Endpoint;
use serde_json::{json, Map, Value};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};

/// One target's check: panics when the input breaks an invariant.
pub type Check = fn(&[u8]);

/// Every target, by name: the fuzz targets and the corpus directories are named the same.
pub const TARGETS: &[(&str, Check)] = &[
    ("sse", check_sse),
    ("eventstream", check_eventstream),
    ("provider_stream", check_provider_stream),
    ("provider_response", check_provider_response),
    ("config", check_config),
    ("cache_key", check_cache_key),
];

/// The `flags` byte that selects the amplified (bounded-memory) check of a stream target.
pub const AMPLIFY: u8 = 0xA5;
/// `flags` bit: before decoding, rewrite the CRCs of the AWS event-stream frames in the body
/// so the fuzzer reaches header and payload decoding instead of stopping at a checksum.
pub const FIX_CRCS: u8 = 0x01;

static AMPLIFY_MODE: AtomicU8 = AtomicU8::new(0);

/// Turns the amplified checks on or off (default: `LLMUX_FUZZ_AMPLIFY=1` in the environment).
pub fn set_amplify(on: bool) {
    AMPLIFY_MODE.store(if on { 2 } else { 1 }, Ordering::Relaxed);
}

fn amplify_on(flags: u8) -> bool {
    if flags != AMPLIFY {
        return false;
    }
    match AMPLIFY_MODE.load(Ordering::Relaxed) {
        0 => {
            let on = std::env::var("LLMUX_FUZZ_AMPLIFY").is_ok_and(|v| v == "1");
            set_amplify(on);
            on
        }
        mode => mode == 2,
    }
}

/// A credential planted in every deployment and in the environment: no error message, no
/// parsed answer and no `Debug` output may ever contain it (unless the input itself does).
pub const SECRET: &str = "sk-fuzz-7f3a9c0e5b1d4286";
/// An environment variable holding [`SECRET`], for `"os.environ/FUZZ_SECRET"`.
pub const SECRET_ENV: &str = "FUZZ_SECRET";

// ---------------------------------------------------------------------------------------
// Live-heap accounting (per thread, so parallel tests do not disturb each other)

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn account(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

/// A global allocator that counts this thread's live heap bytes. Each binary that includes
/// this module registers it (`#[global_allocator] static A: Counting = Counting;`); without
/// it the memory checks measure nothing.
pub struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            account(layout.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            account(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        account(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            account(new_size as isize - layout.size() as isize);
        }
        p
    }
}

fn live_bytes() -> isize {
    LIVE.with(Cell::get)
}

/// Runs `f` and returns its result with the peak live-heap growth it caused.
pub fn peak_growth<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = live_bytes();
    PEAK.with(|p| p.set(base));
    let out = f();
    let peak = PEAK.with(Cell::get);
    (out, (peak - base).max(0) as usize)
}

// ---------------------------------------------------------------------------------------
// Input headers and split points

/// A tiny deterministic PRNG (SplitMix64) for split points.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The ways a body is cut for the split-anywhere checks: at the point the header's two
/// split bytes name, at 2–8 points derived from them, and (for bodies up to 16 KiB) byte by
/// byte. Each entry is a list of piece lengths' end offsets.
fn split_plans(split: u16, len: usize) -> Vec<Vec<usize>> {
    let mut plans = vec![vec![usize::from(split) % (len + 1)]];
    let mut mix = Mix(u64::from(split) ^ ((len as u64) << 16));
    let count = 2 + (mix.next() % 7) as usize;
    let mut points: Vec<usize> = (0..count)
        .map(|_| (mix.next() % (len as u64 + 1)) as usize)
        .collect();
    points.sort_unstable();
    plans.push(points);
    if len <= 16 * 1024 {
        plans.push((1..len).collect());
    }
    plans
}

/// `bytes` cut at the sorted `points` (repeated points give empty pieces, which must be
/// harmless too).
fn pieces<'a>(bytes: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::with_capacity(points.len() + 1);
    let mut from = 0;
    for &p in points {
        out.push(&bytes[from..p]);
        from = p;
    }
    out.push(&bytes[from..]);
    out
}

fn header<const N: usize>(data: &[u8]) -> Option<([u8; N], &[u8])> {
    let (h, body) = data.split_at_checked(N)?;
    Some((h.try_into().ok()?, body))
}

/// An error as compared across splits: kind, status and message.
type ErrorKey = (ErrorKind, u16, String);

fn key(e: &LlmError) -> ErrorKey {
    (e.kind, e.status, e.message.clone())
}

fn assert_no_secret(data: &[u8], what: &str, text: &str) {
    let planted = data.windows(SECRET.len()).any(|w| w == SECRET.as_bytes());
    assert!(
        planted || !text.contains(SECRET),
        "{what} contains the planted credential: {text}"
    );
}

// ---------------------------------------------------------------------------------------
// SSE decoder

/// What the SSE decoder made of a body: its events and the error that stopped it.
#[derive(Debug, PartialEq)]
struct SseOutcome {
    events: Vec<SseEvent>,
    error: Option<ErrorKey>,
}

fn sse_decode(pieces: &[&[u8]]) -> SseOutcome {
    let mut d = SseDecoder::new();
    let mut events = Vec::new();
    for p in pieces {
        match d.feed(p) {
            Ok(more) => events.extend(more),
            Err(e) => {
                return SseOutcome {
                    events,
                    error: Some(key(&e)),
                }
            }
        }
    }
    match d.finish() {
        Ok(last) => events.extend(last),
        Err(e) => {
            return SseOutcome {
                events,
                error: Some(key(&e)),
            }
        }
    }
    SseOutcome {
        events,
        error: None,
    }
}

/// SSE: no panic; any split of the body gives the events (and error) of the whole body;
/// dispatched events never exceed `MAX_EVENT_BYTES`; with `AMPLIFY`, feeding the body
/// forever keeps the decoder within `MAX_LINE_BYTES + MAX_EVENT_BYTES`.
pub fn check_sse(data: &[u8]) {
    let Some(([flags, hi, lo], body)) = header::<3>(data) else {
        return;
    };
    if amplify_on(flags) {
        amplify(body, MAX_LINE_BYTES + MAX_EVENT_BYTES, || {
            let mut d = SseDecoder::new();
            move |piece: &[u8]| d.feed(piece).map(drop).is_ok()
        });
        return;
    }
    let whole = sse_decode(&[body]);
    for e in &whole.events {
        assert!(e.data.len() <= MAX_EVENT_BYTES);
        assert!(!e.id.as_deref().unwrap_or("").contains('\0'), "id with NUL");
    }
    if whole.error.is_none() {
        // A body that decodes cleanly is UTF-8, and the decoder dropped nothing but
        // line endings, field names, comments and `retry:`.
        assert!(std::str::from_utf8(body).is_ok(), "non-UTF-8 body accepted");
    }
    for plan in split_plans(u16::from_be_bytes([hi, lo]), body.len()) {
        let split = sse_decode(&pieces(body, &plan));
        assert_eq!(split, whole, "split at {plan:?} changed the SSE events");
    }
}

/// Feeds `body` (repeated to at least 16 KiB per piece) until about `cap` plus 1 MiB bytes
/// went in, or the decoder refused; its live heap growth must stay within twice `cap`
/// (vectors grow by doubling) plus 1 MiB of slack.
fn amplify<F: FnMut(&[u8]) -> bool>(body: &[u8], cap: usize, make: impl FnOnce() -> F) {
    if body.is_empty() {
        return;
    }
    let reps = (16 * 1024) / body.len() + 1;
    let piece = body.repeat(reps);
    let budget = cap + (1 << 20);
    let ((), grown) = peak_growth(|| {
        let mut feed = make();
        let mut fed = 0;
        while fed < budget {
            if !feed(&piece) {
                break;
            }
            fed += piece.len();
        }
    });
    let limit = 2 * cap + piece.len() * 4 + (1 << 20);
    assert!(
        grown <= limit,
        "the decoder's heap grew by {grown} bytes (limit {limit}) on a repeated {}-byte piece",
        piece.len()
    );
}

// ---------------------------------------------------------------------------------------
// AWS event stream

/// Rewrites the prelude and message CRCs of the frames in `body` (as far as their lengths
/// reach), so mutated frames get past the checksums.
pub fn fix_crcs(body: &mut [u8]) {
    let mut at = 0;
    while at + 12 <= body.len() {
        let total = u32::from_be_bytes(body[at..at + 4].try_into().unwrap()) as usize;
        let crc = eventstream::crc32(&body[at..at + 8]);
        body[at + 8..at + 12].copy_from_slice(&crc.to_be_bytes());
        if total < 16 || at + total > body.len() {
            return;
        }
        let end = at + total;
        let crc = eventstream::crc32(&body[at..end - 4]);
        body[end - 4..end].copy_from_slice(&crc.to_be_bytes());
        at = end;
    }
}

#[derive(Debug, PartialEq)]
struct EsOutcome {
    messages: Vec<eventstream::Message>,
    error: Option<ErrorKey>,
}

fn es_decode(pieces: &[&[u8]]) -> EsOutcome {
    let mut d = EventStreamDecoder::new();
    let mut messages = Vec::new();
    let mut fed = 0;
    for p in pieces {
        fed += p.len();
        match d.feed(p) {
            Ok(more) => messages.extend(more),
            Err(e) => {
                return EsOutcome {
                    messages,
                    error: Some(key(&e)),
                }
            }
        }
        // Held back: only an incomplete message, which is never larger than the cap.
        assert!(
            d.partial_bytes() < MAX_MESSAGE_BYTES,
            "partial buffer over the cap"
        );
        assert!(d.partial_bytes() <= fed, "buffer holds more than was fed");
    }
    let error = d.finish().err().map(|e| key(&e));
    EsOutcome { messages, error }
}

/// Event stream: no panic; the partial buffer stays under `MAX_MESSAGE_BYTES`; any split
/// gives the messages and error of the whole body; decoded messages re-encode to the bytes
/// they came from.
pub fn check_eventstream(data: &[u8]) {
    let Some(([flags, hi, lo], body)) = header::<3>(data) else {
        return;
    };
    let mut body = body.to_vec();
    if flags & FIX_CRCS != 0 {
        fix_crcs(&mut body);
    }
    if amplify_on(flags) {
        amplify(&body, MAX_MESSAGE_BYTES, || {
            let mut d = EventStreamDecoder::new();
            move |piece: &[u8]| d.feed(piece).map(drop).is_ok()
        });
        return;
    }
    let whole = es_decode(&[&body]);
    // Messages are decoded from consecutive frames at the start of the body: encoding them
    // again gives those bytes back (the encoder is the decoder's inverse).
    let mut again = Vec::new();
    for m in &whole.messages {
        let headers: Vec<(&str, eventstream::HeaderValue)> = m
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        again.extend(eventstream::encode(&headers, &m.payload));
    }
    assert!(
        body.starts_with(&again),
        "re-encoding the decoded messages does not give the body back"
    );
    if whole.error.is_none() {
        assert_eq!(again.len(), body.len(), "bytes left over without an error");
    }
    for plan in split_plans(u16::from_be_bytes([hi, lo]), body.len()) {
        let split = es_decode(&pieces(&body, &plan));
        assert_eq!(split, whole, "split at {plan:?} changed the messages");
    }
}

// ---------------------------------------------------------------------------------------
// Providers

/// One deployment per provider shape the parsers distinguish: `(name, litellm_params)`.
pub fn provider_params() -> Vec<(&'static str, Value)> {
    let aws = |model: &str| {
        json!({
            "model": format!("bedrock/{model}"),
            "aws_access_key_id": "AKIDEXAMPLE",
            "aws_secret_access_key": SECRET,
            "aws_region_name": "us-east-1",
        })
    };
    let vertex = |model: &str| {
        json!({
            "model": format!("vertex_ai/{model}"),
            "vertex_project": "fuzz-project",
            "vertex_location": "us-central1",
            "api_key": SECRET,
        })
    };
    vec![
        (
            "openai",
            json!({"model": "openai/gpt-4o-mini", "api_key": SECRET}),
        ),
        (
            "azure",
            json!({
                "model": "azure/gpt-4o", "api_key": SECRET,
                "api_base": "https://fuzz.openai.azure.com/", "api_version": "2024-10-21",
            }),
        ),
        (
            "azure_ai",
            json!({
                "model": "azure_ai/Llama-3.3-70B-Instruct", "api_key": SECRET,
                "api_base": "https://fuzz.services.ai.azure.com/models",
            }),
        ),
        (
            "anthropic",
            json!({"model": "anthropic/claude-haiku-4-5-20251001", "api_key": SECRET}),
        ),
        (
            "gemini",
            json!({"model": "gemini/gemini-2.5-flash", "api_key": SECRET}),
        ),
        ("vertex_gemini", vertex("gemini-2.5-flash")),
        ("vertex_claude", vertex("claude-sonnet-4-5@20250929")),
        (
            "bedrock_claude",
            aws("anthropic.claude-3-5-sonnet-20241022-v2:0"),
        ),
        ("bedrock_titan", aws("amazon.titan-embed-text-v2:0")),
        ("bedrock_cohere", aws("cohere.embed-english-v3")),
        (
            "cohere",
            json!({"model": "cohere/command-r-08-2024", "api_key": SECRET}),
        ),
        (
            "groq",
            json!({"model": "groq/llama-3.1-8b-instant", "api_key": SECRET}),
        ),
        (
            "mistral",
            json!({"model": "mistral/mistral-small-latest", "api_key": SECRET}),
        ),
        (
            "openrouter",
            json!({"model": "openrouter/openai/gpt-4o", "api_key": SECRET}),
        ),
        ("xai", json!({"model": "xai/grok-3", "api_key": SECRET})),
        (
            "voyage",
            json!({"model": "voyage/voyage-3", "api_key": SECRET}),
        ),
    ]
}

thread_local! {
    static DEPLOYMENTS: Vec<(&'static str, Deployment)> = provider_params()
        .into_iter()
        .map(|(name, params)| {
            let entry = json!({"model_name": "fuzz", "litellm_params": params});
            let d = Deployment::parse(&entry, "model_list[0]")
                .unwrap_or_else(|e| panic!("fuzz deployment {name}: {}", e.message));
            (name, d)
        })
        .collect();
}

/// The deployment the selector byte chooses (`selector % count`).
fn with_deployment<T>(selector: u8, f: impl FnOnce(&'static str, &Deployment) -> T) -> T {
    DEPLOYMENTS.with(|all| {
        let (name, d) = &all[usize::from(selector) % all.len()];
        f(name, d)
    })
}

/// Index of a provider in [`provider_params`] (for the seed script and tests).
pub fn provider_index(name: &str) -> Option<u8> {
    provider_params()
        .iter()
        .position(|(n, _)| *n == name)
        .and_then(|i| u8::try_from(i).ok())
}

pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint::ChatCompletion,
    Endpoint::TextCompletion,
    Endpoint::Embedding,
    Endpoint::ImageGeneration,
    Endpoint::Moderation,
];

/// The statuses `provider_response` chooses among (`status % count`).
pub const STATUSES: &[u16] = &[
    200, 400, 401, 403, 404, 408, 413, 422, 429, 500, 502, 503, 529, 201, 498,
];

/// The endpoint a selector names: `ENDPOINTS[selector % 5]` when `usable` accepts it, else
/// the `selector % n`-th usable one; `None` when none is.
fn pick_endpoint(selector: u8, usable: impl Fn(Endpoint) -> bool) -> Option<Endpoint> {
    let wanted = ENDPOINTS[usize::from(selector) % ENDPOINTS.len()];
    if usable(wanted) {
        return Some(wanted);
    }
    let ok: Vec<Endpoint> = ENDPOINTS.iter().copied().filter(|e| usable(*e)).collect();
    ok.get(usize::from(selector) % ok.len().max(1)).copied()
}

/// Provider response parsers: no panic; deterministic; a non-2xx reply is always an error
/// carrying that status; an answer is a JSON object; the planted credential never shows.
pub fn check_provider_response(data: &[u8]) {
    let Some(([which, endpoint, status], body)) = header::<3>(data) else {
        return;
    };
    with_deployment(which, |name, d| {
        let provider = providers::lookup(&d.provider).unwrap();
        let Some(endpoint) = pick_endpoint(endpoint, |e| provider.supports(e)) else {
            return;
        };
        let status = STATUSES[usize::from(status) % STATUSES.len()];
        let response = HttpResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_vec(),
        };
        let first = provider.parse_response(d, endpoint, &response);
        let again = provider.parse_response(d, endpoint, &response);
        match (&first, &again) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{name}: two parses differ"),
            (Err(a), Err(b)) => assert_eq!(key(a), key(b), "{name}: two parses differ"),
            _ => panic!("{name}: two parses of one reply disagree"),
        }
        match first {
            Ok(answer) => {
                assert!(
                    (200..300).contains(&status),
                    "{name} {endpoint:?}: HTTP {status} parsed as an answer"
                );
                assert!(answer.is_object(), "{name}: the answer is not an object");
                assert_no_secret(data, name, &answer.to_string());
            }
            Err(e) => {
                if !(200..300).contains(&status) {
                    // Gemini's documented remaps (providers/gemini/response.rs): a 5xx whose
                    // body says `code: 429` is a rate limit, a 400 for an invalid key a 401.
                    // Vertex sends Google's error bodies through the same classifier.
                    let gemini = name.contains("gemini") || name.contains("vertex");
                    let remapped = gemini
                        && ((e.status == 429 && (500..600).contains(&status))
                            || (e.status == 401 && status == 400));
                    if !remapped {
                        assert_eq!(e.status, status, "{name}: error lost its HTTP status");
                    }
                }
                assert_no_secret(data, name, &e.message);
            }
        }
    });
}

/// What a provider stream decoder made of a body.
#[derive(Debug, PartialEq)]
struct StreamOutcome {
    chunks: Vec<Value>,
    error: Option<ErrorKey>,
}

fn stream_decode(make: &dyn Fn() -> Box<dyn StreamDecoder>, pieces: &[&[u8]]) -> StreamOutcome {
    let mut d = make();
    let mut chunks = Vec::new();
    for p in pieces {
        match d.feed(p) {
            Ok(more) => chunks.extend(more),
            Err(e) => {
                return StreamOutcome {
                    chunks,
                    error: Some(key(&e)),
                }
            }
        }
    }
    let error = match d.finish() {
        Ok(more) => {
            chunks.extend(more);
            None
        }
        Err(e) => Some(key(&e)),
    };
    StreamOutcome { chunks, error }
}

/// The provider name a `provider_stream` input selects, its chunk count and its error
/// message (whole-body decode), for tests that check the seeds reach the decoders.
pub fn provider_stream_summary(data: &[u8]) -> Option<(&'static str, usize, Option<String>)> {
    let ([which, flags, _, _], body) = header::<4>(data)?;
    with_deployment(which, |name, d| {
        let provider = providers::lookup(&d.provider)?;
        let ctx = StreamContext::default();
        let endpoint = pick_endpoint(flags >> 4, |e| {
            provider.supports(e) && provider.stream_decoder(d, e, &ctx).is_some()
        })?;
        let make = || provider.stream_decoder(d, endpoint, &ctx).unwrap();
        let mut body = body.to_vec();
        if flags & FIX_CRCS != 0 && d.provider == "bedrock" {
            fix_crcs(&mut body);
        }
        let out = stream_decode(&make, &[&body]);
        Some((name, out.chunks.len(), out.error.map(|e| e.2)))
    })
}

/// Provider stream decoders: no panic; any split gives the chunks and error of the whole
/// body; every chunk is a JSON object, and for the translating decoders (all but the
/// OpenAI-format pass-through) an OpenAI chunk with a `choices` list; the chunks assemble without panicking; the
/// planted credential never shows; with `AMPLIFY`, bounded memory as for SSE.
pub fn check_provider_stream(data: &[u8]) {
    let Some(([which, flags, hi, lo], body)) = header::<4>(data) else {
        return;
    };
    with_deployment(which, |name, d| {
        let provider = providers::lookup(&d.provider).unwrap();
        let ctx = StreamContext {
            id: "chatcmpl-fuzz".into(),
            created: 1_764_112_500,
            model: d.model.clone(),
        };
        let streams =
            |e: Endpoint| provider.supports(e) && provider.stream_decoder(d, e, &ctx).is_some();
        let Some(endpoint) = pick_endpoint(flags >> 4, streams) else {
            return;
        };
        let make = || provider.stream_decoder(d, endpoint, &ctx).unwrap();
        let mut body = body.to_vec();
        if flags & FIX_CRCS != 0 && d.provider == "bedrock" {
            fix_crcs(&mut body);
        }
        if amplify_on(flags) {
            let cap = MAX_LINE_BYTES.max(MAX_MESSAGE_BYTES) + MAX_EVENT_BYTES;
            amplify(&body, cap, || {
                let mut dec = make();
                move |piece: &[u8]| dec.feed(piece).map(drop).is_ok()
            });
            return;
        }
        let whole = stream_decode(&make, &[&body]);
        // OpenAI-format servers' chunks pass through as they are (documented on
        // `OpenAiStream`), so only the translating decoders promise OpenAI's chunk shape.
        let passthrough = matches!(d.provider.as_str(), "openai" | "azure" | "azure_ai")
            || providers::compat::preset(&d.provider).is_some();
        for chunk in &whole.chunks {
            assert!(
                chunk.is_object(),
                "{name}: a chunk is not an object: {chunk}"
            );
            if !passthrough {
                let object = chunk.get("object").and_then(Value::as_str);
                assert!(
                    matches!(object, Some("chat.completion.chunk" | "text_completion")),
                    "{name}: not an OpenAI chunk: {chunk}"
                );
                assert!(
                    chunk.get("choices").is_some_and(Value::is_array),
                    "{name}: chunk without a choices list: {chunk}"
                );
            }
            assert_no_secret(data, name, &chunk.to_string());
        }
        if let Some((_, _, message)) = &whole.error {
            assert_no_secret(data, name, message);
        }
        let _ = llmux::stream::assemble(&whole.chunks);
        for plan in split_plans(u16::from_be_bytes([hi, lo]), body.len()) {
            let split = stream_decode(&make, &pieces(&body, &plan));
            assert_eq!(split, whole, "{name}: split at {plan:?} changed the stream");
        }
    });
}

// ---------------------------------------------------------------------------------------
// Router configuration

/// Whether every string that names the planted credential sits under a secret field
/// (`api_key`, `aws_secret_access_key`, …) or a secret header. A value given to any other
/// field (`api_base`, `vertex_location`) is not a credential and may be shown.
fn secret_only_in_secret_fields(v: &Value, key: Option<&str>, in_headers: bool) -> bool {
    use llmux::config::{is_secret_field, is_secret_header};
    match v {
        Value::String(text) if text.contains(SECRET_ENV) || text.contains(SECRET) => {
            key.is_some_and(|k| is_secret_field(k) || (in_headers && is_secret_header(k)))
        }
        Value::Array(items) => items
            .iter()
            .all(|item| secret_only_in_secret_fields(item, key, in_headers)),
        Value::Object(m) => m.iter().all(|(k, item)| {
            let headers = matches!(key, Some("extra_headers" | "headers"));
            secret_only_in_secret_fields(item, Some(k), headers)
        }),
        _ => true,
    }
}

/// `RouterConfig::parse` on arbitrary JSON: no panic; errors are `ConfigError`; the planted
/// credential (given through `"os.environ/FUZZ_SECRET"`), when only secret fields name it,
/// never shows in an error, the parsed config's `Debug` or a redacted deployment.
pub fn check_config(data: &[u8]) {
    let Ok(options) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let guarded = secret_only_in_secret_fields(&options, None, false);
    let assert_no_secret = |data: &[u8], what: &str, text: &str| {
        if guarded {
            assert_no_secret(data, what, text);
        }
    };
    let env = HashMap::from([
        (SECRET_ENV.to_string(), SECRET.to_string()),
        ("FUZZ_NUMBER".to_string(), "3".to_string()),
    ]);
    match RouterConfig::parse(&options, &env) {
        Ok(config) => {
            assert_no_secret(data, "the parsed config's Debug", &format!("{config:?}"));
            for d in &config.deployments {
                assert_no_secret(data, "a redacted deployment", &d.redacted().to_string());
                // A wildcard whose provider is inferred per request (`"gpt-*"`) has none yet;
                // each request's deployment is checked when it is made (`for_match`).
                let inferred = d.wildcard.as_ref().is_some_and(|w| w.inferred);
                assert!(
                    inferred || providers::lookup(&d.provider).is_some(),
                    "deployment with unknown provider {:?} accepted",
                    d.provider
                );
            }
        }
        Err(e) => {
            assert_eq!(
                e.kind,
                ErrorKind::ConfigError,
                "config errors are ConfigError"
            );
            assert_no_secret(data, "a config error", &e.message);
            assert_no_secret(data, "a config error's Debug", &format!("{e:?}"));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Cache key canonicaliser

/// Reverses the key order of every object and spells every integer below 2^53 as a float:
/// a request that differs only so must get the same cache key.
fn respell(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .rev()
                .map(|(k, v)| (k.clone(), respell(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(respell).collect()),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) if i.unsigned_abs() < (1 << 53) => json!(i as f64),
            (_, Some(u)) if u < (1 << 53) => json!(u as f64),
            _ => v.clone(),
        },
        other => other.clone(),
    }
}

/// The cache key: canonical JSON is valid JSON and a fixed point; key order and number
/// spelling never change the key; ignored fields and stated defaults never change the
/// key; `answer_fields` is idempotent; the key written from the body is the key of its
/// answer fields; the key is `namespace:` plus 64 hex digits.
pub fn check_cache_key(data: &[u8]) {
    use llmux::cache::{
        answer_fields, canonical_json, storage_key, storage_key_of_fields, IGNORED_FIELDS,
    };
    let Some(([call], body)) = header::<1>(data) else {
        return;
    };
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let call = ["completion", "text_completion", "embedding"][usize::from(call) % 3];

    let text = canonical_json(&value);
    let reparsed: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("canonical JSON is not JSON ({e}): {text}"));
    assert_eq!(
        canonical_json(&reparsed),
        text,
        "canonical JSON is not a fixed point"
    );
    assert_eq!(
        canonical_json(&respell(&value)),
        text,
        "key order or number spelling changed it"
    );

    let Value::Object(request) = value else {
        return;
    };
    let fields = answer_fields(&request);
    assert_eq!(
        answer_fields(&fields),
        fields,
        "answer_fields is not idempotent"
    );
    for k in IGNORED_FIELDS {
        assert!(!fields.contains_key(*k), "ignored field {k} kept");
    }
    assert!(fields.values().all(|v| !v.is_null()), "null kept");

    let key = storage_key(Some("ns"), call, "group", &fields);
    assert_eq!(
        storage_key(Some("ns"), call, "group", &request),
        storage_key_of_fields(Some("ns"), call, "group", &fields),
        "the key written from the body differs from the key of its answer fields"
    );
    assert_eq!(key, storage_key(Some("ns"), call, "group", &request));
    let hash = key.strip_prefix("ns:").expect("namespace prefix");
    assert!(
        hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        "{key}"
    );
    assert_eq!(storage_key(None, call, "group", &fields), hash);

    let respelled = match respell(&Value::Object(request.clone())) {
        Value::Object(m) => m,
        _ => unreachable!(),
    };
    let same = |other: &Map<String, Value>, why: &str| {
        let k = storage_key(Some("ns"), call, "group", &answer_fields(other));
        assert_eq!(k, key, "{why} changed the cache key");
    };
    same(&respelled, "key order or number spelling");
    let mut extra = request.clone();
    extra.insert("user".into(), json!("someone-else"));
    extra.insert("stream".into(), json!(true));
    extra.insert("model".into(), json!("another-deployment"));
    same(&extra, "an ignored field");
    for (field, default) in [
        ("temperature", json!(1.0)),
        ("n", json!(1)),
        ("echo", json!(false)),
    ] {
        if !request.contains_key(field) {
            let mut with = request.clone();
            with.insert(field.into(), default);
            same(&with, "a stated default");
        }
    }
    let other_group = storage_key(Some("ns"), call, "other-group", &fields);
    assert_ne!(other_group, key, "the model group is not in the key");
}
