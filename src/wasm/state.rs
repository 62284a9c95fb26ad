//! The `state` option: a JS object with `incr(ops)`, `get(keys)` and `set(ops)` returning
//! Promises (the StateStore interface in js/index.d.ts), and `spawn_local` for background syncs.

use crate::ports::{LocalFuture, Spawner};
use crate::state::{IncrOp, SetOp, StateStore};
use wasm_bindgen::{JsCast, JsValue};

pub struct SpawnLocal;

impl Spawner for SpawnLocal {
    fn spawn(&self, task: LocalFuture<'static, ()>) {
        wasm_bindgen_futures::spawn_local(task);
    }
}

/// A StateStore implemented by a JS object. Its calls never throw into the router: a
/// throw, a rejection or a malformed answer becomes an error message.
pub struct JsStateStore {
    target: JsValue,
}

impl JsStateStore {
    /// `None` unless `target` has `incr`, `get` and `set` functions.
    pub fn new(target: JsValue) -> Option<JsStateStore> {
        let has = |name: &str| {
            js_sys::Reflect::get(&target, &JsValue::from_str(name))
                .ok()
                .is_some_and(|f| f.is_function())
        };
        (target.is_object() && has("incr") && has("get") && has("set"))
            .then_some(JsStateStore { target })
    }

    /// Calls `target[method](arg)` and awaits the result.
    fn call(
        &self,
        method: &'static str,
        arg: JsValue,
    ) -> LocalFuture<'static, Result<JsValue, String>> {
        let started = js_sys::Reflect::get(&self.target, &JsValue::from_str(method))
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            .ok_or_else(|| format!("state.{method} is not a function"))
            .and_then(|f| {
                f.call1(&self.target, &arg)
                    .map_err(|e| format!("state.{method} threw: {}", message(&e)))
            });
        Box::pin(async move {
            let value = started?;
            let promise = js_sys::Promise::resolve(&value);
            wasm_bindgen_futures::JsFuture::from(promise)
                .await
                .map_err(|e| format!("state.{method} failed: {}", message(&e)))
        })
    }
}

fn message(e: &JsValue) -> String {
    js_sys::Reflect::get(e, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".into())
}

fn json_arg(value: serde_json::Value) -> JsValue {
    js_sys::JSON::parse(&value.to_string()).unwrap_or(JsValue::NULL)
}

fn array_of(value: &JsValue, method: &str, len: usize) -> Result<js_sys::Array, String> {
    let array = value
        .dyn_ref::<js_sys::Array>()
        .ok_or_else(|| format!("state.{method} did not resolve to an array"))?;
    if array.length() as usize != len {
        return Err(format!(
            "state.{method} resolved to {} values for {len} keys",
            array.length()
        ));
    }
    Ok(array.clone())
}

impl StateStore for JsStateStore {
    fn incr(&self, ops: Vec<IncrOp>) -> LocalFuture<'static, Result<Vec<f64>, String>> {
        let len = ops.len();
        let arg = json_arg(serde_json::Value::Array(
            ops.into_iter()
                .map(|op| crate::obj! {"key": op.key, "by": op.by, "ttl_ms": op.ttl_ms})
                .collect(),
        ));
        let pending = self.call("incr", arg);
        Box::pin(async move {
            let value = pending.await?;
            let array = array_of(&value, "incr", len)?;
            Ok(array
                .iter()
                .map(|v| {
                    v.as_f64()
                        .or_else(|| v.as_string().and_then(|s| s.parse().ok()))
                        .unwrap_or(0.0)
                })
                .collect())
        })
    }

    fn get(&self, keys: Vec<String>) -> LocalFuture<'static, Result<Vec<Option<String>>, String>> {
        let len = keys.len();
        let pending = self.call("get", json_arg(serde_json::Value::from(keys)));
        Box::pin(async move {
            let value = pending.await?;
            let array = array_of(&value, "get", len)?;
            Ok(array
                .iter()
                .map(|v| v.as_string().or_else(|| v.as_f64().map(|n| n.to_string())))
                .collect())
        })
    }

    fn set(&self, ops: Vec<SetOp>) -> LocalFuture<'static, Result<(), String>> {
        let arg = json_arg(serde_json::Value::Array(
            ops.into_iter()
                .map(|op| crate::obj! {"key": op.key, "value": op.value, "ttl_ms": op.ttl_ms})
                .collect(),
        ));
        let pending = self.call("set", arg);
        Box::pin(async move { pending.await.map(|_| ()) })
    }
}
