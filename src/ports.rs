//! Everything the core needs from its host: HTTP, time, sleep, randomness, logging.
//! The wasm layer implements these with fetch/setTimeout/crypto; native tests with fakes.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

/// A boxed, single-threaded future (wasm has one thread; nothing here is `Send`).
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    /// A binary body (multipart uploads), sent instead of `body`; shared, not copied, on retries.
    pub binary_body: Option<Rc<Vec<u8>>>,
    /// A multipart/form-data body whose file parts the host holds (`imageEdit()`): sent
    /// instead of `body`; the host encodes it (and its boundary) itself.
    pub form: Option<Rc<HostForm>>,
    /// Abort the whole exchange (headers and body) after this many milliseconds.
    pub timeout_ms: Option<u64>,
}

/// A multipart/form-data body planned by the core and encoded by the host: the text fields,
/// then each file part as (form field name, index into the host's `parts`). The file bytes stay
/// in the host (JS `Blob`s) and are never copied into the core's memory.
#[derive(Debug, Clone, PartialEq)]
pub struct HostForm {
    pub fields: Vec<(String, String)>,
    pub files: Vec<(String, usize)>,
    pub parts: HostParts,
}

/// The host's file parts of a [`HostForm`] (a JS array of `Blob`s and their names), opaque to
/// the core.
#[derive(Clone)]
pub struct HostParts {
    pub handle: BodyHandle,
    /// How many parts the host holds.
    pub len: usize,
}

impl std::fmt::Debug for HostParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HostParts({} parts)", self.len)
    }
}

impl PartialEq for HostParts {
    fn eq(&self, other: &HostParts) -> bool {
        Rc::ptr_eq(&self.handle, &other.handle)
    }
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names are lower-case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Why an exchange produced no HTTP response.
#[derive(Debug, Clone, PartialEq)]
pub enum TransportError {
    /// The timeout elapsed; the request was aborted.
    Timeout,
    /// Connection refused or reset, DNS failure, or the body broke off.
    Connection(String),
}

/// A response body the core passes to the host without reading it (a JS `ReadableStream`).
pub type BodyHandle = Rc<dyn std::any::Any>;

/// A response body read piece by piece (a streamed reply).
pub trait ByteStream {
    /// The next piece of the body; `Ok(None)` once it has ended.
    fn read(&self) -> LocalFuture<'static, Result<Option<Vec<u8>>, TransportError>>;
    /// Stops the exchange: the upstream connection is closed and a pending `read` ends.
    fn cancel(&self);
    /// Hands the body to the host unread, once, instead of reading it here (a speech answer's
    /// audio passes through without entering the core's memory). `None` when the transport
    /// cannot, or a read has begun; the body is then read piece by piece.
    fn host_body(&self) -> Option<BodyHandle> {
        None
    }
}

/// The body of an opened response.
pub enum OpenBody {
    /// Read in full (every error reply, and every reply of a transport that cannot stream).
    Read(Vec<u8>),
    /// A 2xx body still arriving.
    Stream(Rc<dyn ByteStream>),
}

/// A response whose 2xx body is read by the core as it arrives.
pub struct OpenResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: OpenBody,
}

pub trait Transport {
    /// Like `send`, but a 2xx body is returned as a [`ByteStream`] as soon as the headers
    /// have arrived (the request's timeout covers the headers only). Transports that cannot
    /// stream read the body (the default).
    fn open(
        &self,
        request: HttpRequest,
    ) -> LocalFuture<'static, Result<OpenResponse, TransportError>> {
        let sent = self.send(request);
        Box::pin(async move {
            sent.await.map(|r| OpenResponse {
                status: r.status,
                headers: r.headers,
                body: OpenBody::Read(r.body),
            })
        })
    }

    fn send(
        &self,
        request: HttpRequest,
    ) -> LocalFuture<'static, Result<HttpResponse, TransportError>>;
}

/// Milliseconds on a monotonic-enough clock (wall clock in wasm, manual in tests).
pub trait Clock {
    fn now_ms(&self) -> f64;
}

pub trait Sleeper {
    fn sleep(&self, ms: u64) -> LocalFuture<'static, ()>;
}

/// Uniform randomness in `[0, 1)`.
pub trait Rng {
    fn next_f64(&self) -> f64;
    /// 64 random bits (53 from `next_f64` unless the implementation has more).
    fn next_u64(&self) -> u64 {
        (self.next_f64() * (1u64 << 53) as f64) as u64
    }
}

/// SplitMix64: a tiny, fast PRNG. Seeded from the host's entropy in production and from a
/// constant in tests; routing needs spread, not cryptographic strength.
pub struct SplitMix64 {
    state: std::cell::Cell<u64>,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64 {
            state: std::cell::Cell::new(seed),
        }
    }
}

impl Rng for SplitMix64 {
    fn next_f64(&self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn next_u64(&self) -> u64 {
        let mut z = self.state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.state.set(z);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A [`SplitMix64`] that takes its seed from `entropy` at its first draw, not when it is made:
/// Cloudflare Workers refuse random values at global scope (where a module-scope `new Router`
/// runs) and freeze the clock there, so a seed taken at construction would be the same in every
/// isolate and they would all pick deployments in step. Until `entropy` answers (`Some`), draws
/// continue the sequence of the construction-time `fallback` seed and each draw asks again.
pub struct FirstUseSeeded<E: Fn() -> Option<u64>> {
    entropy: E,
    rng: SplitMix64,
    seeded: std::cell::Cell<bool>,
}

impl<E: Fn() -> Option<u64>> FirstUseSeeded<E> {
    pub fn new(entropy: E, fallback: u64) -> Self {
        FirstUseSeeded {
            entropy,
            rng: SplitMix64::new(fallback),
            seeded: std::cell::Cell::new(false),
        }
    }
}

impl<E: Fn() -> Option<u64>> Rng for FirstUseSeeded<E> {
    fn next_f64(&self) -> f64 {
        if !self.seeded.get() {
            if let Some(seed) = (self.entropy)() {
                self.rng.state.set(seed);
                self.seeded.set(true);
            }
        }
        self.rng.next_f64()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

pub trait Logger {
    fn log(&self, level: LogLevel, message: &str);
}

/// Counts a request's input tokens exactly (a tokenizer the host supplies). `None` from
/// `count` falls back to the built-in estimate.
pub trait TokenCounter {
    fn count(&self, model: &str, body: &serde_json::Map<String, serde_json::Value>) -> Option<u64>;
}

/// Signs with RSASSA-PKCS1-v1_5 / SHA-256 (RS256), for service-account JWTs (Vertex AI).
/// The wasm host uses WebCrypto (`crypto.subtle`), available in every runtime llmux targets.
pub trait Signer {
    /// `pkcs8_pem`: a `-----BEGIN PRIVATE KEY-----` PEM; returns the raw signature bytes.
    fn sign_rs256(
        &self,
        pkcs8_pem: &str,
        data: &[u8],
    ) -> LocalFuture<'static, Result<Vec<u8>, String>>;
}

/// Runs background work (shared-state syncs) without the caller awaiting it:
/// `wasm_bindgen_futures::spawn_local` in wasm, a queue the test drives in native tests.
pub trait Spawner {
    fn spawn(&self, task: LocalFuture<'static, ()>);
}

/// Receives router events (`success`, `failure`, `retry`, `fallback`, `cooldown`) for the
/// host's callbacks. Payloads never contain credentials.
pub trait EventSink {
    fn emit(&self, event: &str, payload: &serde_json::Value);
}

/// A key-value store for cached answers. Values are strings (the entry JSON); `ttl_ms` is a
/// hint (the entry carries its own expiry, so a backend may ignore it). Errors are messages
/// that never contain credentials; the router bypasses a failing backend.
pub trait CacheBackend {
    fn get(&self, key: &str) -> LocalFuture<'static, Result<Option<String>, String>>;
    fn set(
        &self,
        key: &str,
        value: String,
        ttl_ms: Option<u64>,
    ) -> LocalFuture<'static, Result<(), String>>;
    fn delete(&self, key: &str) -> LocalFuture<'static, Result<(), String>>;
}

/// A custom routing strategy (`setCustomRoutingStrategy`): picks one of `candidates` (the
/// eligible deployments of `model`, as `getDeployments()` shows them: no credential) for
/// `request`. `Ok(Some(id))`: that deployment; `Ok(None)`: no opinion, the configured
/// `routing_strategy` picks; `Err`: the strategy failed (its message).
pub trait Chooser {
    fn choose(
        &self,
        model: &str,
        request: &serde_json::Map<String, serde_json::Value>,
        candidates: Vec<serde_json::Value>,
    ) -> LocalFuture<'static, Result<Option<String>, String>>;
}

/// The host's implementations of every port, shared by one router.
#[derive(Clone)]
pub struct Ports {
    pub transport: Rc<dyn Transport>,
    pub clock: Rc<dyn Clock>,
    pub sleeper: Rc<dyn Sleeper>,
    pub rng: Rc<dyn Rng>,
    pub logger: Rc<dyn Logger>,
    /// Optional exact token counting for pre-call checks.
    pub token_counter: Option<Rc<dyn TokenCounter>>,
    /// Optional event callbacks.
    pub events: Option<Rc<dyn EventSink>>,
    /// RS256 signing for OAuth service accounts; `None` where the host has no WebCrypto.
    pub signer: Option<Rc<dyn Signer>>,
    /// The host's KV store for cached answers (the `cache` option); `None`: in memory.
    pub cache: Option<Rc<dyn CacheBackend>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn draws(rng: &dyn Rng, n: usize) -> Vec<f64> {
        (0..n).map(|_| rng.next_f64()).collect()
    }

    #[test]
    fn first_use_seeded_takes_its_seed_at_the_first_draw_not_at_construction() {
        // Two "isolates" built where entropy is refused, with the same frozen clock.
        let available = Cell::new(false);
        let seeds = Cell::new(1u64);
        let entropy = || {
            available.get().then(|| {
                seeds.set(seeds.get() + 1);
                seeds.get() * 0x1234_5678_9abc
            })
        };
        let a = FirstUseSeeded::new(entropy, 0);
        let b = FirstUseSeeded::new(entropy, 0);
        // Entropy arrives with the first request: each draws from its own seed.
        available.set(true);
        let (da, db) = (draws(&a, 8), draws(&b, 8));
        assert_ne!(da, db);
        // Seeded once: later draws continue the sequence, entropy is not asked again.
        let asked = seeds.get();
        draws(&a, 4);
        assert_eq!(seeds.get(), asked);
        assert_eq!(
            draws(&FirstUseSeeded::new(|| Some(7), 0), 3),
            draws(&SplitMix64::new(7), 3)
        );
    }

    #[test]
    fn first_use_seeded_without_entropy_runs_on_its_fallback_and_keeps_asking() {
        let asked = Cell::new(0);
        let none = || {
            asked.set(asked.get() + 1);
            None
        };
        let rng = FirstUseSeeded::new(none, 42);
        assert_eq!(draws(&rng, 5), draws(&SplitMix64::new(42), 5));
        assert_eq!(asked.get(), 5);
        assert!(draws(&rng, 100).iter().all(|x| (0.0..1.0).contains(x)));
    }
}
