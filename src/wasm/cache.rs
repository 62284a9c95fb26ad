//! The `cache` option: a JS key-value object `{ get(key), set(key, value, { ttl }),
//! delete?(key) }` (Workers KV, Deno KV, Upstash, a Map, …) behind the core's cache port.
//! Methods may return values or Promises; values are strings; `ttl` is in seconds.

use crate::cache::CacheBackend;
use crate::ports::LocalFuture;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

pub struct JsCache {
    target: JsValue,
}

impl JsCache {
    /// `None` unless `target` is an object with `get` and `set` functions.
    pub fn new(target: JsValue) -> Option<JsCache> {
        let has = |name: &str| {
            js_sys::Reflect::get(&target, &JsValue::from_str(name))
                .ok()
                .is_some_and(|f| f.is_function())
        };
        (target.is_object() && has("get") && has("set")).then_some(JsCache { target })
    }

    /// Calls `target[name](...args)` and awaits the result when it is a Promise (or any
    /// thenable); a throw or a rejection becomes its message.
    fn invoke(
        &self,
        name: &str,
        args: js_sys::Array,
    ) -> LocalFuture<'static, Result<JsValue, String>> {
        let called = js_sys::Reflect::get(&self.target, &JsValue::from_str(name))
            .and_then(|f| f.dyn_into::<js_sys::Function>())
            .and_then(|f| f.apply(&self.target, &args));
        Box::pin(async move {
            let value = called.map_err(|e| message(&e))?;
            if value.is_object() || value.is_function() {
                JsFuture::from(js_sys::Promise::resolve(&value))
                    .await
                    .map_err(|e| message(&e))
            } else {
                Ok(value)
            }
        })
    }

    fn has(&self, name: &str) -> bool {
        js_sys::Reflect::get(&self.target, &JsValue::from_str(name))
            .ok()
            .is_some_and(|f| f.is_function())
    }
}

fn message(e: &JsValue) -> String {
    js_sys::Reflect::get(e, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "the cache object threw a non-Error value".into())
}

impl CacheBackend for JsCache {
    fn get(&self, key: &str) -> LocalFuture<'static, Result<Option<String>, String>> {
        let pending = self.invoke("get", js_sys::Array::of1(&JsValue::from_str(key)));
        Box::pin(async move {
            let value = pending.await?;
            if value.is_null() || value.is_undefined() {
                return Ok(None);
            }
            value
                .as_string()
                .map(Some)
                .ok_or_else(|| "cache.get() must return a string, null or undefined".to_string())
        })
    }

    fn set(
        &self,
        key: &str,
        value: String,
        ttl_ms: Option<u64>,
    ) -> LocalFuture<'static, Result<(), String>> {
        let options = js_sys::Object::new();
        if let Some(ms) = ttl_ms {
            // Whole seconds, rounded up (KV stores take integer seconds).
            let secs = ms.div_ceil(1000) as f64;
            let _ = js_sys::Reflect::set(
                &options,
                &JsValue::from_str("ttl"),
                &JsValue::from_f64(secs),
            );
        }
        let pending = self.invoke(
            "set",
            js_sys::Array::of3(
                &JsValue::from_str(key),
                &JsValue::from_str(&value),
                &options,
            ),
        );
        Box::pin(async move { pending.await.map(|_| ()) })
    }

    fn delete(&self, key: &str) -> LocalFuture<'static, Result<(), String>> {
        if !self.has("delete") {
            return Box::pin(std::future::ready(Ok(())));
        }
        let pending = self.invoke("delete", js_sys::Array::of1(&JsValue::from_str(key)));
        Box::pin(async move { pending.await.map(|_| ()) })
    }
}
