//! Routing state shared across isolates: the store interface (counters with TTL, values with
//! expiry), an in-memory store, and the sync engine that keeps the request path off the store.
//!
//! The router keeps its local books and never awaits the store. [`SharedState`] queues what
//! happens (requests, tokens, failures, latency samples, in-flight changes per deployment and
//! minute; cooldown marks) and, at most every `sync_interval_ms`, flushes the queue in one
//! batched `incr` (+ one `set` for cooldowns) and reads back the keys of the routed
//! deployments with one `get`, in a background task. Decisions use
//! `max(local, remote snapshot + not-yet-flushed deltas)`, so this instance's flushed deltas
//! are counted once (they are in the snapshot, and no longer in the queue).

use crate::config::fields::{opt_str, opt_u64};
use crate::error::LlmError;
use crate::ports::{Clock, LocalFuture, LogLevel, Logger, Sleeper, Spawner};
use serde_json::{Map, Value};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

/// How long the sync engine waits between two store round trips by default.
pub const DEFAULT_SYNC_INTERVAL_MS: u64 = 1_000;
/// How long a fresh router waits for its first snapshot before its first decision, by
/// default (`state_first_sync_timeout_ms`), and the most it may be set to.
pub const DEFAULT_FIRST_SYNC_TIMEOUT_MS: u64 = 250;
pub const MAX_FIRST_SYNC_TIMEOUT_MS: u64 = 5_000;
/// A sync whose store calls have not all answered by then is abandoned as a store failure, so
/// a store that never settles a promise cannot stall every later sync (nor `syncState()`).
/// Above the shipped stores' own 2 s per call × at most 3 calls.
pub const SYNC_TIMEOUT_MS: u64 = 10_000;
const MINUTE_MS: f64 = 60_000.0;
/// Per-minute counters live two minutes (the current one, and the previous one for latency).
const MINUTE_KEY_TTL_MS: u64 = 120_000;
/// In-flight counters are refreshed by traffic; an abandoned one (a process died mid-request)
/// lapses after this long.
const IN_FLIGHT_TTL_MS: u64 = 600_000;
/// A cleared cooldown's mark (`0`: not cooling down) lapses after a minute; a missing key
/// means the same.
const CLEARED_MARK_TTL_MS: u64 = 60_000;

/// Add `by` to counter `key` (created at 0, expiring `ttl_ms` after creation).
#[derive(Debug, Clone, PartialEq)]
pub struct IncrOp {
    pub key: String,
    pub by: f64,
    pub ttl_ms: u64,
}

/// Set `key` to `value`, expiring after `ttl_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct SetOp {
    pub key: String,
    pub value: String,
    pub ttl_ms: u64,
}

/// What every shared-state store implements; each call is one round trip. Errors are
/// messages (never containing credentials).
pub trait StateStore {
    /// Atomically adds to each counter; returns the new values.
    fn incr(&self, ops: Vec<IncrOp>) -> LocalFuture<'static, Result<Vec<f64>, String>>;
    /// Values (counters as decimal strings); `None` when absent or expired.
    fn get(&self, keys: Vec<String>) -> LocalFuture<'static, Result<Vec<Option<String>>, String>>;
    /// Sets values with expiry.
    fn set(&self, ops: Vec<SetOp>) -> LocalFuture<'static, Result<(), String>>;
}

/// The in-memory store: one process, shared by every router given the same `Rc`.
pub struct MemoryStore {
    clock: Rc<dyn Clock>,
    entries: RefCell<HashMap<String, (String, f64)>>,
}

impl MemoryStore {
    pub fn new(clock: Rc<dyn Clock>) -> MemoryStore {
        MemoryStore {
            clock,
            entries: RefCell::default(),
        }
    }

    fn live(&self, key: &str, now: f64) -> Option<String> {
        self.entries
            .borrow()
            .get(key)
            .filter(|(_, expires)| *expires > now)
            .map(|(v, _)| v.clone())
    }
}

impl StateStore for MemoryStore {
    fn incr(&self, ops: Vec<IncrOp>) -> LocalFuture<'static, Result<Vec<f64>, String>> {
        let now = self.clock.now_ms();
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            let current = self.live(&op.key, now);
            let expires = match &current {
                Some(_) => self
                    .entries
                    .borrow()
                    .get(&op.key)
                    .map_or(now + op.ttl_ms as f64, |(_, e)| *e),
                None => now + op.ttl_ms as f64,
            };
            let value = current.and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) + op.by;
            self.entries
                .borrow_mut()
                .insert(op.key, (number_text(value), expires));
            out.push(value);
        }
        Box::pin(async move { Ok(out) })
    }

    fn get(&self, keys: Vec<String>) -> LocalFuture<'static, Result<Vec<Option<String>>, String>> {
        let now = self.clock.now_ms();
        let out: Vec<Option<String>> = keys.iter().map(|k| self.live(k, now)).collect();
        Box::pin(async move { Ok(out) })
    }

    fn set(&self, ops: Vec<SetOp>) -> LocalFuture<'static, Result<(), String>> {
        let now = self.clock.now_ms();
        let mut entries = self.entries.borrow_mut();
        entries.retain(|_, (_, expires)| *expires > now);
        for op in ops {
            entries.insert(op.key, (op.value, now + op.ttl_ms as f64));
        }
        Box::pin(async { Ok(()) })
    }
}

fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 9e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// Router options for the shared state: `state_prefix` (key namespace) and
/// `state_sync_interval_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct StateOptions {
    /// Set when the host attaches a store (`state` option).
    pub enabled: bool,
    pub prefix: String,
    pub sync_interval_ms: u64,
    /// The longest the first routing decision waits for the first snapshot (0: no wait).
    pub first_sync_timeout_ms: u64,
}

impl StateOptions {
    pub fn parse(obj: &Map<String, Value>) -> Result<StateOptions, LlmError> {
        let enabled = match obj.get("state") {
            None | Some(Value::Null) | Some(Value::Bool(false)) => false,
            Some(Value::Bool(true)) => true,
            Some(_) => {
                return Err(LlmError::config(
                    "state",
                    "must be a store object with incr/get/set methods",
                ))
            }
        };
        let prefix =
            opt_str(obj, "state_prefix", "state_prefix")?.unwrap_or_else(|| "default".into());
        if prefix.is_empty() || prefix.len() > 100 || prefix.chars().any(char::is_whitespace) {
            return Err(LlmError::config(
                "state_prefix",
                "must be 1 to 100 characters without spaces",
            ));
        }
        let sync_interval_ms = opt_u64(obj, "state_sync_interval_ms", "state_sync_interval_ms")?
            .unwrap_or(DEFAULT_SYNC_INTERVAL_MS);
        let first_sync_timeout_ms = opt_u64(
            obj,
            "state_first_sync_timeout_ms",
            "state_first_sync_timeout_ms",
        )?
        .unwrap_or(DEFAULT_FIRST_SYNC_TIMEOUT_MS);
        if first_sync_timeout_ms > MAX_FIRST_SYNC_TIMEOUT_MS {
            return Err(LlmError::config(
                "state_first_sync_timeout_ms",
                format!("must be at most {MAX_FIRST_SYNC_TIMEOUT_MS} (ms)"),
            ));
        }
        Ok(StateOptions {
            enabled,
            prefix,
            sync_interval_ms,
            first_sync_timeout_ms,
        })
    }
}

impl Default for StateOptions {
    fn default() -> Self {
        StateOptions {
            enabled: false,
            prefix: "default".into(),
            sync_interval_ms: DEFAULT_SYNC_INTERVAL_MS,
            first_sync_timeout_ms: DEFAULT_FIRST_SYNC_TIMEOUT_MS,
        }
    }
}

/// The kinds of per-deployment counters kept in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// Requests sent this minute (rpm).
    Requests,
    /// Tokens used this minute (tpm).
    Tokens,
    /// Failures this minute (cooldown's allowed_fails).
    Failures,
    /// Sum of latency samples this minute (ms, rounded).
    LatencySum,
    /// Number of latency samples this minute.
    LatencyCount,
}

impl Counter {
    fn name(self) -> &'static str {
        match self {
            Counter::Requests => "rpm",
            Counter::Tokens => "tpm",
            Counter::Failures => "fails",
            Counter::LatencySum => "lat_ms",
            Counter::LatencyCount => "lat_n",
        }
    }
}

fn minute_of(now_ms: f64) -> i64 {
    (now_ms / MINUTE_MS).floor() as i64
}

#[derive(Default)]
struct Pending {
    /// key -> (delta, ttl_ms)
    counters: HashMap<String, (f64, u64)>,
    /// Budget spend key -> (USD, window length if this add opens the window).
    spend: HashMap<String, (f64, u64)>,
    /// key -> (until_ms as text, ttl_ms)
    marks: HashMap<String, (String, u64)>,
}

/// Where a router is with its first snapshot (`state_first_sync_timeout_ms`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum FirstSync {
    NotAsked,
    /// Asked for; decisions wait for it until this time (ms).
    Awaited(f64),
    /// Arrived, failed, or its deadline passed.
    Settled,
}

/// The sync engine: queued deltas, the last remote snapshot, and the store's health.
pub struct SharedState {
    store: Rc<dyn StateStore>,
    spawner: Rc<dyn Spawner>,
    clock: Rc<dyn Clock>,
    sleeper: Rc<dyn Sleeper>,
    logger: Rc<dyn Logger>,
    prefix: String,
    sync_interval_ms: f64,
    pending: RefCell<Pending>,
    /// Values read at the last successful sync (counters parsed as numbers).
    remote: RefCell<HashMap<String, f64>>,
    /// Cooldown marks read at the last sync: deployment id -> until_ms.
    remote_cooldowns: RefCell<HashMap<String, f64>>,
    /// The deployments whose keys the snapshot reads.
    ids: RefCell<Vec<String>>,
    /// The budgets (`scope:name:period`) whose spend the snapshot reads.
    budgets: RefCell<Vec<String>>,
    /// Window ends read at the last sync: budget name -> reset time (ms).
    remote_resets: RefCell<HashMap<String, f64>>,
    /// The first snapshot: not asked for yet, awaited until a deadline, or settled.
    first: Cell<FirstSync>,
    first_waiters: RefCell<Vec<std::task::Waker>>,
    first_sync_timeout_ms: f64,
    last_sync_ms: Cell<f64>,
    in_progress: Cell<bool>,
    /// A sync was asked for (a new cooldown) while one was running: run another after it.
    rerun: Cell<bool>,
    /// The store failed at the last attempt (a warning was logged once for this outage).
    down: Cell<bool>,
    /// Store failures seen (for getUsageStats and tests).
    failures: Cell<u64>,
    syncs: Cell<u64>,
    /// Syncs started, and the newest one whose outcome was applied: a sync that finishes
    /// after a newer one (a background sync racing `sync_state`) does not overwrite it.
    started: Cell<u64>,
    applied: Cell<u64>,
}

impl SharedState {
    pub fn new(
        store: Rc<dyn StateStore>,
        spawner: Rc<dyn Spawner>,
        clock: Rc<dyn Clock>,
        sleeper: Rc<dyn Sleeper>,
        logger: Rc<dyn Logger>,
        options: &StateOptions,
    ) -> SharedState {
        SharedState {
            store,
            spawner,
            clock,
            sleeper,
            logger,
            prefix: format!("llmux:{}:", options.prefix),
            sync_interval_ms: options.sync_interval_ms as f64,
            pending: RefCell::default(),
            remote: RefCell::default(),
            remote_cooldowns: RefCell::default(),
            ids: RefCell::default(),
            budgets: RefCell::default(),
            remote_resets: RefCell::default(),
            first: Cell::new(FirstSync::NotAsked),
            first_waiters: RefCell::default(),
            first_sync_timeout_ms: options.first_sync_timeout_ms as f64,
            last_sync_ms: Cell::new(f64::NEG_INFINITY),
            in_progress: Cell::new(false),
            rerun: Cell::new(false),
            down: Cell::new(false),
            failures: Cell::new(0),
            syncs: Cell::new(0),
            started: Cell::new(0),
            applied: Cell::new(0),
        }
    }

    fn counter_key(&self, counter: Counter, id: &str, minute: i64) -> String {
        format!("{}{}:{id}:{minute}", self.prefix, counter.name())
    }

    fn in_flight_key(&self, id: &str) -> String {
        format!("{}inflight:{id}", self.prefix)
    }

    fn cooldown_key(&self, id: &str) -> String {
        format!("{}cooldown:{id}", self.prefix)
    }

    fn spend_key(&self, budget: &str) -> String {
        format!("{}spend:{budget}", self.prefix)
    }

    fn reset_key(&self, budget: &str) -> String {
        format!("{}spend_reset:{budget}", self.prefix)
    }

    /// Queues `usd` of spend on budget `name` (`deployment:<id>:<period>`); `window_ms` is
    /// the window's length should this add open it in the store.
    pub fn add_spend(&self, name: &str, usd: f64, window_ms: f64) {
        let key = self.spend_key(name);
        let ttl = window_ms.ceil().max(1.0) as u64;
        let mut pending = self.pending.borrow_mut();
        let entry = pending.spend.entry(key).or_insert((0.0, ttl));
        entry.0 += usd;
    }

    /// The spend of budget `name` in its current window across instances, given this
    /// instance's own.
    pub fn spend(&self, name: &str, local: f64) -> f64 {
        let key = self.spend_key(name);
        if self.down.get() {
            return local;
        }
        let remote = self.remote.borrow().get(&key).copied();
        let pending = self
            .pending
            .borrow()
            .spend
            .get(&key)
            .map_or(0.0, |(d, _)| *d);
        match remote {
            Some(remote) => local.max(remote + pending),
            None => local,
        }
    }

    /// When the window of budget `name` ends, as the instance that opened it wrote.
    pub fn spend_reset(&self, name: &str, now_ms: f64) -> Option<f64> {
        if self.down.get() {
            return None;
        }
        self.remote_resets
            .borrow()
            .get(name)
            .copied()
            .filter(|t| *t > now_ms)
    }

    /// Sets the budgets the snapshot reads.
    pub fn set_budgets(&self, names: Vec<String>) {
        let mut known = self.budgets.borrow_mut();
        if *known != names {
            *known = names;
        }
    }

    /// How long the caller may still wait for the first snapshot: `None` once it arrived or
    /// its deadline passed. The first call asks for it (reading `ids`' keys).
    pub fn first_sync_wait(self: &Rc<Self>, ids: &[String]) -> Option<u64> {
        let now = self.clock.now_ms();
        match self.first.get() {
            FirstSync::Settled => None,
            FirstSync::NotAsked => {
                if self.first_sync_timeout_ms <= 0.0 {
                    self.first.set(FirstSync::Settled);
                    return None;
                }
                self.first
                    .set(FirstSync::Awaited(now + self.first_sync_timeout_ms));
                self.set_ids(ids);
                self.spawn_sync();
                (self.first.get() != FirstSync::Settled)
                    .then(|| self.first_sync_timeout_ms.ceil() as u64)
            }
            FirstSync::Awaited(deadline) if now < deadline => Some((deadline - now).ceil() as u64),
            FirstSync::Awaited(_) => {
                self.give_up_first_sync();
                None
            }
        }
    }

    /// Resolves when the first sync has finished (answered or failed).
    pub fn first_synced(self: &Rc<Self>) -> impl std::future::Future<Output = ()> {
        let me = Rc::clone(self);
        std::future::poll_fn(move |cx| {
            if me.first.get() == FirstSync::Settled {
                std::task::Poll::Ready(())
            } else {
                me.first_waiters.borrow_mut().push(cx.waker().clone());
                std::task::Poll::Pending
            }
        })
    }

    /// The first snapshot's deadline passed: decisions go on without it (fail-open).
    pub fn give_up_first_sync(&self) {
        if let FirstSync::Awaited(_) = self.first.get() {
            self.first_sync_done();
            self.logger.log(
                LogLevel::Warn,
                &format!(
                    "llmux: the state store did not answer within state_first_sync_timeout_ms ({} ms); routing without the shared snapshot until it does",
                    self.first_sync_timeout_ms
                ),
            );
        }
    }

    fn first_sync_done(&self) {
        self.first.set(FirstSync::Settled);
        let waiters = std::mem::take(&mut *self.first_waiters.borrow_mut());
        for w in waiters {
            w.wake();
        }
    }

    fn queue(&self, key: String, by: f64, ttl_ms: u64) {
        let mut pending = self.pending.borrow_mut();
        let entry = pending.counters.entry(key).or_insert((0.0, ttl_ms));
        entry.0 += by;
    }

    /// Queues `by` on a per-minute counter of deployment `id`.
    pub fn add(&self, counter: Counter, id: &str, by: f64, now_ms: f64) {
        let key = self.counter_key(counter, id, minute_of(now_ms));
        self.queue(key, by, MINUTE_KEY_TTL_MS);
    }

    /// Queues an in-flight change (+1 when a request starts, -1 when it ends).
    pub fn add_in_flight(&self, id: &str, by: f64) {
        self.queue(self.in_flight_key(id), by, IN_FLIGHT_TTL_MS);
    }

    /// Queues a cooldown mark and asks for a sync now (cooldowns should spread fast).
    pub fn mark_cooldown(self: &Rc<Self>, id: &str, until_ms: f64, now_ms: f64) {
        let ttl = (until_ms - now_ms).ceil().max(1.0) as u64;
        self.pending
            .borrow_mut()
            .marks
            .insert(self.cooldown_key(id), (number_text(until_ms.ceil()), ttl));
        self.spawn_sync();
    }

    /// Forgets the cooldown of `id` seen in the store and overwrites the store's mark with 0
    /// (not cooling down), so neither this instance nor one starting later re-applies it.
    pub fn clear_cooldown(self: &Rc<Self>, id: &str) {
        self.remote_cooldowns.borrow_mut().remove(id);
        self.pending.borrow_mut().marks.insert(
            self.cooldown_key(id),
            ("0".to_string(), CLEARED_MARK_TTL_MS),
        );
        self.spawn_sync();
    }

    fn global(&self, key: &str, local: f64) -> f64 {
        if self.down.get() {
            return local;
        }
        let remote = self.remote.borrow().get(key).copied();
        let Some(remote) = remote else {
            return local;
        };
        let pending = self
            .pending
            .borrow()
            .counters
            .get(key)
            .map_or(0.0, |(d, _)| *d);
        local.max(remote + pending)
    }

    /// The global value of a per-minute counter of `id`, given this instance's own count.
    pub fn minute_count(&self, counter: Counter, id: &str, local: u64, now_ms: f64) -> u64 {
        let key = self.counter_key(counter, id, minute_of(now_ms));
        self.global(&key, local as f64).max(0.0) as u64
    }

    /// Requests in flight to `id` across instances, given this instance's own.
    pub fn in_flight(&self, id: &str, local: u64) -> u64 {
        self.global(&self.in_flight_key(id), local as f64).max(0.0) as u64
    }

    /// Mean latency of `id` over every instance's samples of this minute and the previous
    /// one, when the store has any (with this instance's unflushed samples).
    pub fn mean_latency(&self, id: &str, now_ms: f64) -> Option<f64> {
        if self.down.get() {
            return None;
        }
        let minute = minute_of(now_ms);
        let remote = self.remote.borrow();
        let pending = self.pending.borrow();
        let mut sum = 0.0;
        let mut count = 0.0;
        for m in [minute - 1, minute] {
            let s = self.counter_key(Counter::LatencySum, id, m);
            let n = self.counter_key(Counter::LatencyCount, id, m);
            let value = |k: &str| {
                remote.get(k).copied().unwrap_or(0.0)
                    + pending.counters.get(k).map_or(0.0, |(d, _)| *d)
            };
            sum += value(&s);
            count += value(&n);
        }
        (count >= 1.0 && remote_has_latency(&remote, &self.prefix, id)).then(|| sum / count)
    }

    /// Cooldowns marked elsewhere and still running: `(id, until_ms)`.
    pub fn remote_cooldowns(&self, now_ms: f64) -> Vec<(String, f64)> {
        self.remote_cooldowns
            .borrow()
            .iter()
            .filter(|(_, until)| **until > now_ms)
            .map(|(id, until)| (id.clone(), *until))
            .collect()
    }

    /// Whether the last store call failed (routing is on local state).
    pub fn is_down(&self) -> bool {
        self.down.get()
    }

    /// `{ syncs, store_failures, store_down, pending }` for `getUsageStats()`.
    pub fn report(&self) -> Value {
        crate::obj! {
            "syncs": self.syncs.get(),
            "store_failures": self.failures.get(),
            "store_down": self.down.get(),
            "pending_keys": self.pending.borrow().counters.len() + self.pending.borrow().marks.len() + self.pending.borrow().spend.len(),
        }
    }

    /// Whether `maybe_sync` would start a sync now.
    pub fn sync_due(&self) -> bool {
        !self.in_progress.get()
            && self.clock.now_ms() - self.last_sync_ms.get() >= self.sync_interval_ms
    }

    /// Starts a background sync when the last one is older than `sync_interval_ms`.
    pub fn maybe_sync(self: &Rc<Self>, ids: &[String]) {
        let now = self.clock.now_ms();
        if self.in_progress.get() || now - self.last_sync_ms.get() < self.sync_interval_ms {
            return;
        }
        self.set_ids(ids);
        self.spawn_sync();
    }

    fn set_ids(&self, ids: &[String]) {
        let mut known = self.ids.borrow_mut();
        if known.as_slice() != ids {
            *known = ids.to_vec();
        }
    }

    fn spawn_sync(self: &Rc<Self>) {
        if self.in_progress.get() {
            self.rerun.set(true);
            return;
        }
        let me = Rc::clone(self);
        self.in_progress.set(true);
        self.spawner.spawn(Box::pin(async move {
            // At most one follow-up: changes queued meanwhile go with it.
            for _ in 0..2 {
                me.rerun.set(false);
                me.sync().await;
                if !me.rerun.get() {
                    break;
                }
            }
            me.in_progress.set(false);
        }));
    }

    /// Flushes the queued deltas and marks, then reads the snapshot of `ids`' keys.
    /// Never fails: a store error is logged (once per outage) and routing stays local.
    pub async fn sync_ids(&self, ids: &[String]) {
        self.set_ids(ids);
        self.sync().await;
    }

    async fn sync(&self) {
        let now = self.clock.now_ms();
        self.last_sync_ms.set(now);
        let pending = std::mem::take(&mut *self.pending.borrow_mut());
        let seq = self.started.get() + 1;
        self.started.set(seq);
        let exchange = std::pin::pin!(self.exchange(pending, now, seq));
        let result =
            match futures_util::future::select(exchange, self.sleeper.sleep(SYNC_TIMEOUT_MS)).await
            {
                futures_util::future::Either::Left((result, _)) => result,
                futures_util::future::Either::Right(_) => {
                    Err(format!("no answer within {SYNC_TIMEOUT_MS} ms"))
                }
            };
        self.syncs.set(self.syncs.get() + 1);
        if self.first.get() != FirstSync::Settled {
            self.first_sync_done();
        }
        if seq < self.applied.get() {
            return;
        }
        self.applied.set(seq);
        match result {
            Ok(()) => {
                if self.down.replace(false) {
                    self.logger.log(
                        LogLevel::Info,
                        "llmux: the state store answers again; shared routing state resumed",
                    );
                }
            }
            Err(message) => {
                self.failures.set(self.failures.get() + 1);
                self.remote.borrow_mut().clear();
                if !self.down.replace(true) {
                    self.logger.log(
                        LogLevel::Warn,
                        &format!(
                            "llmux: the state store failed ({message}); routing on this instance's state until it answers again"
                        ),
                    );
                }
            }
        }
    }

    async fn exchange(&self, pending: Pending, now: f64, seq: u64) -> Result<(), String> {
        let incr: Vec<IncrOp> = pending
            .counters
            .into_iter()
            .filter(|(_, (by, _))| *by != 0.0)
            .map(|(key, (by, ttl_ms))| IncrOp { key, by, ttl_ms })
            .collect();
        let set: Vec<SetOp> = pending
            .marks
            .into_iter()
            .map(|(key, (value, ttl_ms))| SetOp { key, value, ttl_ms })
            .collect();
        let spend: Vec<IncrOp> = pending
            .spend
            .into_iter()
            .filter(|(_, (by, _))| *by != 0.0)
            .map(|(key, (by, ttl_ms))| IncrOp { key, by, ttl_ms })
            .collect();
        let counted = incr.len();
        let mut incr = incr;
        incr.extend(spend.iter().cloned());
        let mut set = set;
        if !incr.is_empty() {
            let totals = self.store.incr(incr).await?;
            // A total equal to this add opened the window: write when it ends, for the others.
            let spend_prefix = format!("{}spend:", self.prefix);
            for (op, total) in spend.iter().zip(totals.iter().skip(counted)) {
                if (total - op.by).abs() <= op.by.abs() * 1e-9 {
                    if let Some(name) = op.key.strip_prefix(&spend_prefix) {
                        set.push(SetOp {
                            key: self.reset_key(name),
                            value: number_text((now + op.ttl_ms as f64).ceil()),
                            ttl_ms: op.ttl_ms,
                        });
                    }
                }
            }
        }
        if !set.is_empty() {
            self.store.set(set).await?;
        }
        let ids = self.ids.borrow().clone();
        let budgets = self.budgets.borrow().clone();
        if ids.is_empty() && budgets.is_empty() {
            return Ok(());
        }
        let minute = minute_of(now);
        let mut keys: Vec<String> = Vec::with_capacity(ids.len() * 9);
        for id in &ids {
            keys.push(self.cooldown_key(id));
            keys.push(self.in_flight_key(id));
            for counter in [Counter::Requests, Counter::Tokens, Counter::Failures] {
                keys.push(self.counter_key(counter, id, minute));
            }
            for m in [minute - 1, minute] {
                keys.push(self.counter_key(Counter::LatencySum, id, m));
                keys.push(self.counter_key(Counter::LatencyCount, id, m));
            }
        }
        for name in &budgets {
            keys.push(self.spend_key(name));
            keys.push(self.reset_key(name));
        }
        let values = self.store.get(keys.clone()).await?;
        if values.len() != keys.len() {
            return Err(format!(
                "get returned {} values for {} keys",
                values.len(),
                keys.len()
            ));
        }
        let cooldown_prefix = format!("{}cooldown:", self.prefix);
        let reset_prefix = format!("{}spend_reset:", self.prefix);
        let mut remote = HashMap::with_capacity(keys.len());
        let mut cooldowns = HashMap::new();
        let mut resets = HashMap::new();
        for (key, value) in keys.into_iter().zip(values) {
            let Some(number) = value.and_then(|v| v.trim().parse::<f64>().ok()) else {
                continue;
            };
            if let Some(id) = key.strip_prefix(&cooldown_prefix) {
                cooldowns.insert(id.to_string(), number);
            } else if let Some(name) = key.strip_prefix(&reset_prefix) {
                resets.insert(name.to_string(), number);
            } else {
                remote.insert(key, number);
            }
        }
        if seq > self.applied.get() {
            *self.remote.borrow_mut() = remote;
            *self.remote_cooldowns.borrow_mut() = cooldowns;
            *self.remote_resets.borrow_mut() = resets;
        }
        Ok(())
    }
}

fn remote_has_latency(remote: &HashMap<String, f64>, prefix: &str, id: &str) -> bool {
    let head = format!("{prefix}{}:{id}:", Counter::LatencyCount.name());
    remote.keys().any(|k| k.starts_with(&head))
}
