//! The orchestration: pick a deployment -> call it -> classify -> retry, cool down, fall back.
//! State lives in `RefCell`s borrowed only between awaits, never across one.

mod attempt;
mod book;
mod budget;
mod cache;
mod call;
mod dispatch;
mod eligible;
mod fallback;
pub mod files;
mod groupinfo;
mod health;
mod hostloop;
mod hoststream;
mod manage;
mod operate;
mod prompt_pin;
mod request;
mod scheduler;
mod select;
mod shared;
mod stream;
mod table;
mod usage;

pub use eligible::{Selector, MAX_PINS};
pub use hostloop::{Choosing, HostAnswer, HostCall, HostStep, OpenSocket, Wire, WireIdentity};
pub use hoststream::{Fed, HostStream, StreamStep};
pub use manage::deep_merge;
pub use request::{router_keys, CallOptions, MAX_CALL_ID_BYTES};
pub use stream::{ChunkStream, StreamAbort};
pub use table::DeploymentTable;
pub use usage::{CallOutcome, DeploymentUsage, GroupUsage, UsageBook};

use crate::types::object::Put;
use attempt::{annotate, InFlight, Plan};
use book::response_cost;
use call::{Answer, Call};

use crate::config::{Deployment, RouterConfig};
use crate::ports::{EventSink, LogLevel, Ports};
use crate::reliability::cooldown::CooldownBook;
use crate::reliability::limits::{MinuteUsage, SlotSignal};
use crate::types::audio::Audio;
use serde::Serialize;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// The latency sample a timed-out attempt leaves (LiteLLM's penalty: 1,000 s).
const TIMEOUT_PENALTY_MS: f64 = 1_000_000.0;

/// Router metadata for one answered request (`_hidden_params` in JS).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HiddenParams {
    pub model_id: String,
    pub model_group: String,
    pub custom_llm_provider: String,
    pub api_base: Option<String>,
    pub response_cost: Option<f64>,
    pub cache_hit: bool,
    /// Upstream calls made for this request, the successful one included.
    pub attempts: u32,
    /// Retries made (within groups; fallbacks are counted separately).
    pub retries: u32,
    /// The fallback group that answered, when the requested group did not.
    pub fallback_model_group: Option<String>,
    pub latency_ms: f64,
}

impl HiddenParams {
    /// An answer of deployment `d` (not from the cache).
    pub(crate) fn of(
        d: &Deployment,
        response_cost: Option<f64>,
        attempts: u32,
        retries: u32,
        fallback_model_group: Option<String>,
        latency_ms: f64,
    ) -> HiddenParams {
        HiddenParams {
            model_id: d.id.clone(),
            model_group: d.model_group.clone(),
            custom_llm_provider: d.provider.clone(),
            api_base: d.api_base_shown.clone(),
            response_cost,
            cache_hit: false,
            attempts,
            retries,
            fallback_model_group,
            latency_ms,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Routed {
    pub body: Value,
    /// The audio of a `speech()` answer (`body` is then `{}`).
    pub audio: Option<Audio>,
    pub hidden: HiddenParams,
}

struct Inner {
    ports: Ports,
    /// Event callbacks set after construction (`on`), in addition to `ports.events`.
    events: RefCell<Option<Rc<dyn EventSink>>>,
    config: RouterConfig,
    table: RefCell<Rc<DeploymentTable>>,
    cooldowns: RefCell<CooldownBook>,
    usage: RefCell<UsageBook>,
    minute_usage: RefCell<MinuteUsage>,
    /// Notified whenever a request finishes, for requests waiting on a parallel limit.
    slots: SlotSignal,
    /// Calls waiting for room in a saturated group, by priority (the request scheduler).
    waiting: scheduler::WaitQueue,
    /// The response cache (`cache_responses: true`).
    cache: Option<Rc<cache::ResponseCache>>,
    /// The shared-state sync engine, when a store is attached.
    shared: RefCell<Option<Rc<crate::state::SharedState>>>,
    /// Health-check results, for `enable_health_check_routing`.
    health_book: RefCell<eligible::HealthBook>,
    /// Affinity pins (`deployment_affinity`, `session_affinity`).
    pins: RefCell<eligible::PinTable>,
    /// Spend per budget window (`budget.rs`).
    budgets: RefCell<budget::BudgetBook>,
    /// The custom routing strategy (`setCustomRoutingStrategy`), if one is set.
    chooser: RefCell<Option<Rc<dyn crate::ports::Chooser>>>,
}

/// A LiteLLM-compatible router over the host's ports. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Router {
    inner: Rc<Inner>,
}

impl Router {
    pub fn new(mut config: RouterConfig, ports: Ports) -> Router {
        let deployments = std::mem::take(&mut config.deployments);
        for skipped in &config.skipped_deployments {
            ports.logger.log(
                LogLevel::Warn,
                &format!("llmux: ignoring invalid deployment: {}", skipped.message),
            );
        }
        for warning in &config.warnings {
            ports.logger.log(LogLevel::Warn, warning);
        }
        let cache = config
            .cache
            .clone()
            .map(|c| Rc::new(cache::ResponseCache::new(c, &ports)));
        let created_ms = ports.clock.now_ms();
        Router {
            inner: Rc::new(Inner {
                cache,
                events: RefCell::new(ports.events.clone()),
                ports,
                config,
                table: RefCell::new(Rc::new(DeploymentTable::new(deployments))),
                cooldowns: RefCell::new(CooldownBook::default()),
                usage: RefCell::new(UsageBook::default()),
                minute_usage: RefCell::new(MinuteUsage::default()),
                slots: SlotSignal::default(),
                waiting: scheduler::WaitQueue::default(),
                shared: RefCell::new(None),
                health_book: RefCell::new(eligible::HealthBook::default()),
                pins: RefCell::new(eligible::PinTable::default()),
                budgets: RefCell::new(budget::BudgetBook::new(created_ms)),
                chooser: RefCell::new(None),
            }),
        }
    }

    pub fn config(&self) -> &RouterConfig {
        &self.inner.config
    }

    /// The current deployment table (a snapshot).
    pub fn table(&self) -> Rc<DeploymentTable> {
        Rc::clone(&self.inner.table.borrow())
    }

    pub fn usage(&self, id: &str) -> Option<DeploymentUsage> {
        self.inner.usage.borrow().get(id).cloned()
    }

    pub fn usage_all(&self) -> HashMap<String, DeploymentUsage> {
        self.inner
            .usage
            .borrow()
            .all()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// When deployment `id` comes back, if it is cooling down now.
    pub fn cooling_until(&self, id: &str) -> Option<f64> {
        self.inner.cooldowns.borrow().cooling_until(id, self.now())
    }

    fn now(&self) -> f64 {
        self.inner.ports.clock.now_ms()
    }

    /// Sends an event to the host's `on` callbacks, if any (payloads carry no secrets).
    fn emit(&self, event: &str, payload: impl FnOnce() -> Value) {
        let sink = self.inner.events.borrow().clone();
        if let Some(sink) = sink {
            sink.emit(event, &payload());
        }
    }

    /// Replaces the event callbacks.
    pub fn set_events(&self, sink: Option<Rc<dyn EventSink>>) {
        *self.inner.events.borrow_mut() = sink;
    }

    /// Sets (or, with `None`, removes) the custom routing strategy.
    pub fn set_custom_strategy(&self, chooser: Option<Rc<dyn crate::ports::Chooser>>) {
        *self.inner.chooser.borrow_mut() = chooser;
    }

    /// Usage per deployment and per model group, with latency percentiles and cooldowns.
    pub fn usage_report(&self) -> Value {
        let now = self.now();
        let mut report = {
            let cooldowns = self.inner.cooldowns.borrow();
            self.inner
                .usage
                .borrow()
                .report(|id| cooldowns.cooling_until(id, now))
        };
        if let Some(obj) = report.as_object_mut() {
            obj.put("budgets", self.budget_report());
        }
        report
    }

    /// Zeroes the cost counters (`resetCost()`).
    pub fn reset_cost(&self) {
        self.inner.usage.borrow_mut().reset_cost();
    }

    fn log(&self, level: LogLevel, message: impl FnOnce() -> String) {
        if self.inner.config.log_level.is_some_and(|min| level >= min) || level >= LogLevel::Warn {
            self.inner.ports.logger.log(level, &message());
        }
    }
}
