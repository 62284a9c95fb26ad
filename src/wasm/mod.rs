//! The only place that knows wasm-bindgen: builds the ports from the JS host and exports
//! `RouterCore`, whose methods take and return JSON text (the cheapest boundary crossing).

mod fetch;
mod host;

use crate::config::RouterConfig;
use crate::error::LlmError;
use crate::ports::{Ports, SplitMix64};
use crate::router::{Routed, Router};
use crate::types::Endpoint;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// An `LlmError` as a plain JS object (`{ kind, message, status, … }`); the package's JS
/// entry turns it into the matching `errors.*` class.
fn js_error(e: &LlmError) -> JsValue {
    js_sys::JSON::parse(&e.to_json().to_string()).unwrap_or_else(|_| JsValue::from_str(&e.message))
}

/// The JS host's ports: `fetch` (a function, else `globalThis.fetch`) with AbortController
/// timeouts, `setTimeout` sleeps, the `Date` clock, `crypto` entropy and `logger` (an object
/// with debug/info/warn/error, else `console`). Errs when there is no fetch at all.
pub fn host_ports(fetch: JsValue, logger: JsValue) -> Result<Ports, String> {
    Ok(Ports {
        transport: Rc::new(fetch::FetchTransport::new(fetch)?),
        clock: Rc::new(host::DateClock),
        sleeper: Rc::new(host::TimerSleeper),
        rng: Rc::new(SplitMix64::new(host::entropy_seed())),
        logger: Rc::new(host::JsLogger::new(logger)),
        token_counter: None,
    })
}

#[wasm_bindgen(js_name = RouterCore)]
pub struct RouterCore {
    router: Router,
}

#[wasm_bindgen(js_class = RouterCore)]
impl RouterCore {
    /// `options`: the Router options as JSON text (functions removed); `env`: JSON object
    /// of environment variables for `"os.environ/NAME"`; `fetch`/`logger`/`tokenizer`:
    /// optional JS values.
    #[wasm_bindgen(constructor)]
    pub fn new(
        options: &str,
        env: &str,
        fetch: JsValue,
        logger: JsValue,
        tokenizer: JsValue,
    ) -> Result<RouterCore, JsValue> {
        let options: Value = serde_json::from_str(options)
            .map_err(|e| js_error(&LlmError::config("options", format!("not valid JSON: {e}"))))?;
        let env: HashMap<String, String> = serde_json::from_str(env).unwrap_or_default();
        let config = RouterConfig::parse(&options, &env).map_err(|e| js_error(&e))?;
        let mut ports =
            host_ports(fetch, logger).map_err(|m| js_error(&LlmError::config("fetch", m)))?;
        if let Ok(f) = tokenizer.dyn_into::<js_sys::Function>() {
            ports.token_counter = Some(Rc::new(host::JsTokenCounter::new(f)));
        }
        Ok(RouterCore {
            router: Router::new(config, ports),
        })
    }

    /// Serves one request. Resolves to `{"hidden":{…},"body":{…}}` as JSON text; rejects
    /// with an error object.
    pub fn call(&self, endpoint: &str, request: String) -> js_sys::Promise {
        let router = self.router.clone();
        let endpoint = match endpoint {
            "chat" => Some(Endpoint::ChatCompletion),
            "text" => Some(Endpoint::TextCompletion),
            "embedding" => Some(Endpoint::Embedding),
            _ => None,
        };
        wasm_bindgen_futures::future_to_promise(async move {
            let endpoint =
                endpoint.ok_or_else(|| js_error(&LlmError::bad_request("unknown endpoint")))?;
            let body = match serde_json::from_str::<Value>(&request) {
                Ok(Value::Object(m)) => m,
                Ok(_) => {
                    return Err(js_error(&LlmError::bad_request(
                        "the request must be an object",
                    )))
                }
                Err(e) => {
                    return Err(js_error(&LlmError::bad_request(format!(
                        "the request is not valid JSON: {e}"
                    ))))
                }
            };
            match router.call(endpoint, body).await {
                Ok(routed) => Ok(JsValue::from_str(&envelope(&routed))),
                Err(e) => Err(js_error(&e)),
            }
        })
    }

    /// The deployments as JSON text, credentials redacted.
    #[wasm_bindgen(js_name = deploymentsJson)]
    pub fn deployments_json(&self) -> String {
        let list: Vec<Value> = self
            .router
            .table()
            .deployments()
            .iter()
            .map(|d| d.redacted())
            .collect();
        Value::Array(list).to_string()
    }

    /// Model group names, in configuration order, as JSON text.
    #[wasm_bindgen(js_name = modelNamesJson)]
    pub fn model_names_json(&self) -> String {
        serde_json::to_string(self.router.table().group_names()).unwrap_or_else(|_| "[]".into())
    }

    /// Per-deployment counters as JSON text.
    #[wasm_bindgen(js_name = usageJson)]
    pub fn usage_json(&self) -> String {
        let mut out = Map::new();
        for (id, u) in self.router.usage_all() {
            let mut v = serde_json::to_value(&u).unwrap_or(Value::Null);
            if let Value::Object(m) = &mut v {
                let until = self.router.cooling_until(&id);
                m.insert(
                    "cooldown_until_ms".into(),
                    until.map_or(Value::Null, Value::from),
                );
            }
            out.insert(id, v);
        }
        Value::Object(out).to_string()
    }
}

fn envelope(routed: &Routed) -> String {
    let hidden = serde_json::to_string(&routed.hidden).unwrap_or_else(|_| "{}".into());
    format!("{{\"hidden\":{hidden},\"body\":{}}}", routed.body)
}

/// The crate version, for diagnostics.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
