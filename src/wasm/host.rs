//! The JS host's clock, timers, entropy and logger behind the core's ports.

use crate::ports::{Clock, EventSink, LocalFuture, LogLevel, Logger, Sleeper, TokenCounter};
use wasm_bindgen::{JsCast, JsValue};

pub struct DateClock;

impl Clock for DateClock {
    fn now_ms(&self) -> f64 {
        js_sys::Date::now()
    }
}

/// `setTimeout` through gloo-timers (available in every runtime we target).
pub struct TimerSleeper;

impl Sleeper for TimerSleeper {
    fn sleep(&self, ms: u64) -> LocalFuture<'static, ()> {
        let ms = u32::try_from(ms).unwrap_or(u32::MAX);
        Box::pin(gloo_timers::future::TimeoutFuture::new(ms))
    }
}

/// A seed from `crypto.getRandomValues`; falls back to the clock if entropy is unavailable.
pub fn entropy_seed() -> u64 {
    let mut bytes = [0u8; 8];
    match getrandom::getrandom(&mut bytes) {
        Ok(()) => u64::from_le_bytes(bytes),
        Err(_) => js_sys::Date::now().to_bits(),
    }
}

/// Calls `logger.debug/info/warn/error(message)` on a JS object (default: `console`).
pub struct JsLogger {
    target: JsValue,
}

impl JsLogger {
    pub fn new(target: JsValue) -> JsLogger {
        let target = if target.is_object() {
            target
        } else {
            js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("console"))
                .unwrap_or(JsValue::UNDEFINED)
        };
        JsLogger { target }
    }
}

impl Logger for JsLogger {
    fn log(&self, level: LogLevel, message: &str) {
        let method = match level {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        };
        let f = js_sys::Reflect::get(&self.target, &JsValue::from_str(method))
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        if let Some(f) = f {
            // A throwing logger must not break a request.
            let _ = f.call1(&self.target, &JsValue::from_str(message));
        }
    }
}

/// The `tokenizer` option: `(request) => number`, called with the OpenAI request body for
/// pre-call context-window checks. A throw or a non-number falls back to the estimate.
pub struct JsTokenCounter {
    f: js_sys::Function,
}

impl JsTokenCounter {
    pub fn new(f: js_sys::Function) -> JsTokenCounter {
        JsTokenCounter { f }
    }
}

impl TokenCounter for JsTokenCounter {
    fn count(&self, model: &str, body: &serde_json::Map<String, serde_json::Value>) -> Option<u64> {
        let text = serde_json::to_string(body).ok()?;
        let request = js_sys::JSON::parse(&text).ok()?;
        let n = self
            .f
            .call2(&JsValue::UNDEFINED, &request, &JsValue::from_str(model))
            .ok()?
            .as_f64()?;
        (n.is_finite() && n >= 0.0).then_some(n.round() as u64)
    }
}

/// The `on` option: `{ success?, failure?, retry?, fallback?, cooldown? }` callbacks, each
/// called with the event's payload object. A throwing callback never breaks a request.
pub struct JsEvents {
    on: JsValue,
}

impl JsEvents {
    pub fn new(on: JsValue) -> JsEvents {
        JsEvents { on }
    }
}

impl EventSink for JsEvents {
    fn emit(&self, event: &str, payload: &serde_json::Value) {
        let f = js_sys::Reflect::get(&self.on, &JsValue::from_str(event))
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        if let Some(f) = f {
            if let Ok(arg) = js_sys::JSON::parse(&payload.to_string()) {
                let _ = f.call1(&self.on, &arg);
            }
        }
    }
}
