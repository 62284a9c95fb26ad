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
        let ms = u32::try_from(crate::reliability::bounds::clamp_timer_ms(ms))
            .unwrap_or(i32::MAX as u32);
        Box::pin(gloo_timers::future::TimeoutFuture::new(ms))
    }
}

/// A seed from `crypto.getRandomValues`, `None` where it throws (Workers' global scope).
pub fn try_entropy() -> Option<u64> {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes)
        .ok()
        .map(|()| u64::from_le_bytes(bytes))
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

/// RS256 signing with WebCrypto (`globalThis.crypto.subtle`, present in Node 20, Deno,
/// workerd and browsers; reached through `js_sys::global()`, never `window`). The PEM is
/// decoded in Rust, imported once as a non-extractable PKCS#8 `RSASSA-PKCS1-v1_5`/SHA-256
/// key and cached per SHA-256 of the PEM text for the life of the realm. Error messages
/// never contain key material.
pub struct WebCryptoSigner;

thread_local! {
    static IMPORTED_KEYS: std::cell::RefCell<std::collections::HashMap<String, JsValue>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// A JS exception or rejection as text (its `message`, else its string form).
fn js_message(e: &JsValue) -> String {
    js_sys::Reflect::get(e, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".into())
}

fn subtle_crypto() -> Result<JsValue, String> {
    let crypto = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))
        .ok()
        .filter(JsValue::is_object)
        .ok_or("this runtime has no WebCrypto (globalThis.crypto)")?;
    js_sys::Reflect::get(&crypto, &JsValue::from_str("subtle"))
        .ok()
        .filter(JsValue::is_object)
        .ok_or_else(|| "this runtime has no WebCrypto (crypto.subtle)".to_string())
}

/// Calls `subtle[method](...args)` and awaits the promise it returns.
async fn subtle_call(
    subtle: &JsValue,
    method: &str,
    args: &js_sys::Array,
) -> Result<JsValue, String> {
    let f = js_sys::Reflect::get(subtle, &JsValue::from_str(method))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or_else(|| format!("crypto.subtle.{method} is not available"))?;
    let promise = f
        .apply(subtle, args)
        .map_err(|e| format!("crypto.subtle.{method} failed: {}", js_message(&e)))?
        .dyn_into::<js_sys::Promise>()
        .map_err(|_| format!("crypto.subtle.{method} returned no promise"))?;
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|e| format!("crypto.subtle.{method} failed: {}", js_message(&e)))
}

fn rsa_algorithm() -> Result<JsValue, String> {
    let algorithm = js_sys::Object::new();
    let set = |k: &str, v: &str| {
        js_sys::Reflect::set(&algorithm, &JsValue::from_str(k), &JsValue::from_str(v))
            .map_err(|e| js_message(&e))
    };
    set("name", "RSASSA-PKCS1-v1_5")?;
    set("hash", "SHA-256")?;
    Ok(algorithm.into())
}

async fn import_key(subtle: &JsValue, pem: &str) -> Result<JsValue, String> {
    let cache_key = crate::hash::sha256_hex(pem.as_bytes());
    if let Some(key) = IMPORTED_KEYS.with(|k| k.borrow().get(&cache_key).cloned()) {
        return Ok(key);
    }
    let der = crate::providers::vertex::jwt::pem_to_der(pem)
        .map_err(|e| format!("the private key is not a PEM: {e}"))?;
    let usages = js_sys::Array::of1(&JsValue::from_str("sign"));
    let args = js_sys::Array::of5(
        &JsValue::from_str("pkcs8"),
        &js_sys::Uint8Array::from(der.as_slice()).into(),
        &rsa_algorithm()?,
        &JsValue::FALSE,
        &usages.into(),
    );
    let key = subtle_call(subtle, "importKey", &args).await?;
    IMPORTED_KEYS.with(|k| k.borrow_mut().insert(cache_key, key.clone()));
    Ok(key)
}

impl crate::ports::Signer for WebCryptoSigner {
    fn sign_rs256(
        &self,
        pkcs8_pem: &str,
        data: &[u8],
    ) -> LocalFuture<'static, Result<Vec<u8>, String>> {
        let pem = pkcs8_pem.to_string();
        let data = data.to_vec();
        Box::pin(async move {
            let subtle = subtle_crypto()?;
            let key = import_key(&subtle, &pem).await?;
            let args = js_sys::Array::of3(
                &JsValue::from_str("RSASSA-PKCS1-v1_5"),
                &key,
                &js_sys::Uint8Array::from(data.as_slice()).into(),
            );
            let signature = subtle_call(&subtle, "sign", &args).await?;
            Ok(js_sys::Uint8Array::new(&signature).to_vec())
        })
    }
}

/// The custom routing strategy: a JS function `(model, request, candidates)` the entry
/// (`setCustomRoutingStrategy` in js/router.js) builds around the caller's object; it returns
/// (or resolves to) a candidate's id, or null/undefined for no opinion.
pub struct JsChooser {
    choose: js_sys::Function,
}

impl JsChooser {
    pub fn new(choose: js_sys::Function) -> JsChooser {
        JsChooser { choose }
    }
}

fn thrown_message(e: &JsValue) -> String {
    js_sys::Reflect::get(e, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "it threw a non-Error value".into())
}

impl crate::ports::Chooser for JsChooser {
    fn choose(
        &self,
        model: &str,
        request: &serde_json::Map<String, serde_json::Value>,
        candidates: Vec<serde_json::Value>,
    ) -> crate::ports::LocalFuture<'static, Result<Option<String>, String>> {
        let parse = |text: String| js_sys::JSON::parse(&text).unwrap_or(JsValue::NULL);
        let request = parse(serde_json::Value::Object(request.clone()).to_string());
        let candidates = parse(serde_json::Value::Array(candidates).to_string());
        let called = self.choose.call3(
            &JsValue::NULL,
            &JsValue::from_str(model),
            &request,
            &candidates,
        );
        Box::pin(async move {
            let value = called.map_err(|e| thrown_message(&e))?;
            let value = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&value))
                .await
                .map_err(|e| thrown_message(&e))?;
            if value.is_null() || value.is_undefined() {
                return Ok(None);
            }
            value
                .as_string()
                .map(Some)
                .ok_or_else(|| "it returned neither a candidate nor its id".to_string())
        })
    }
}
