//! The only place that knows wasm-bindgen: builds the ports from the JS host and exports
//! `RouterCore`, whose methods take and return JSON text (the cheapest boundary crossing).

mod fetch;
mod host;
mod state;

use crate::config::RouterConfig;
use crate::error::LlmError;
use crate::ports::{Ports, SplitMix64};
use crate::router::{Routed, Router};
use crate::types::audio::{AudioBody, Upload};
use crate::types::Endpoint;
use serde_json::Value;
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
        events: None,
        signer: Some(Rc::new(host::WebCryptoSigner)),
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
    /// with an error object. `file`, `filename`, `content_type`: the upload of a
    /// transcription. A speech answer resolves to `{ hidden, contentType, bytes }` instead.
    pub fn call(
        &self,
        endpoint: &str,
        request: String,
        file: Option<Vec<u8>>,
        filename: Option<String>,
        content_type: Option<String>,
    ) -> js_sys::Promise {
        let router = self.router.clone();
        let endpoint = match endpoint {
            "chat" => Some(Endpoint::ChatCompletion),
            "text" => Some(Endpoint::TextCompletion),
            "embedding" => Some(Endpoint::Embedding),
            "image" => Some(Endpoint::ImageGeneration),
            "moderation" => Some(Endpoint::Moderation),
            "transcription" => Some(Endpoint::Transcription),
            "speech" => Some(Endpoint::Speech),
            _ => None,
        };
        let upload = file.map(|bytes| Upload {
            bytes: Rc::new(bytes),
            filename: filename.unwrap_or_else(|| "audio".into()),
            content_type: content_type.unwrap_or_else(|| "application/octet-stream".into()),
        });
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
            match router.call_with_upload(endpoint, body, upload).await {
                Ok(Routed {
                    audio: Some(audio),
                    hidden,
                    ..
                }) => {
                    let out = js_sys::Object::new();
                    let hidden = serde_json::to_string(&hidden).unwrap_or_else(|_| "{}".into());
                    let set =
                        |k: &str, v: &JsValue| js_sys::Reflect::set(&out, &JsValue::from_str(k), v);
                    set("hidden", &JsValue::from_str(&hidden))?;
                    set("contentType", &JsValue::from_str(&audio.content_type))?;
                    match &audio.body {
                        AudioBody::Bytes(bytes) => {
                            set("bytes", &js_sys::Uint8Array::from(bytes.as_slice()).into())?;
                        }
                        AudioBody::Stream(handle) => {
                            if let Some(body) = handle.downcast_ref::<fetch::JsBody>() {
                                set("stream", &body.0)?;
                            }
                        }
                    }
                    Ok(out.into())
                }
                Ok(routed) => Ok(JsValue::from_str(&envelope(&routed))),
                Err(e) => Err(js_error(&e)),
            }
        })
    }

    /// The deployments as JSON text, credentials redacted.
    #[wasm_bindgen(js_name = deploymentsJson)]
    pub fn deployments_json(&self) -> String {
        self.model_list_json(None)
    }

    /// Model group names, in configuration order, as JSON text.
    #[wasm_bindgen(js_name = modelNamesJson)]
    pub fn model_names_json(&self) -> String {
        serde_json::to_string(self.router.table().group_names()).unwrap_or_else(|_| "[]".into())
    }

    /// Usage per deployment and per model group as JSON text (`getUsageStats()`).
    #[wasm_bindgen(js_name = usageJson)]
    pub fn usage_json(&self) -> String {
        self.router.usage_report().to_string()
    }

    /// Routes router events to `on.success/failure/retry/fallback/cooldown` callbacks.
    #[wasm_bindgen(js_name = setEvents)]
    pub fn set_events(&self, on: JsValue) {
        self.router.set_events(
            on.is_object()
                .then(|| Rc::new(host::JsEvents::new(on)) as Rc<dyn crate::ports::EventSink>),
        );
    }

    /// Adds a deployment (JSON text); returns it redacted.
    #[wasm_bindgen(js_name = addDeployment)]
    pub fn add_deployment(&self, entry: &str) -> Result<String, JsValue> {
        let entry = parse_json(entry, "deployment")?;
        self.router
            .add_deployment(&entry)
            .map(|v| v.to_string())
            .map_err(|e| js_error(&e))
    }

    /// Removes a deployment; returns it redacted, or undefined when there is none.
    #[wasm_bindgen(js_name = deleteDeployment)]
    pub fn delete_deployment(&self, id: &str) -> Option<String> {
        self.router.delete_deployment(id).map(|v| v.to_string())
    }

    /// Deep-merges a patch (JSON text) into a deployment; returns it redacted.
    #[wasm_bindgen(js_name = updateDeployment)]
    pub fn update_deployment(&self, id: &str, patch: &str) -> Result<String, JsValue> {
        let patch = parse_json(patch, "patch")?;
        self.router
            .update_deployment(id, &patch)
            .map(|v| v.to_string())
            .map_err(|e| js_error(&e))
    }

    /// Replaces every deployment (JSON text of a model_list).
    #[wasm_bindgen(js_name = setModelList)]
    pub fn set_model_list(&self, list: &str) -> Result<(), JsValue> {
        let list = parse_json(list, "model_list")?;
        self.router.set_model_list(&list).map_err(|e| js_error(&e))
    }

    /// The deployments (of one group, or all), redacted, as JSON text.
    #[wasm_bindgen(js_name = modelListJson)]
    pub fn model_list_json(&self, group: Option<String>) -> String {
        Value::Array(self.router.model_list(group.as_deref())).to_string()
    }

    /// One deployment by id, redacted, as JSON text.
    #[wasm_bindgen(js_name = modelInfoJson)]
    pub fn model_info_json(&self, id: &str) -> Option<String> {
        self.router.deployment_info(id).map(|v| v.to_string())
    }

    /// Probes deployments; resolves to LiteLLM's health-check shape as JSON text.
    #[wasm_bindgen(js_name = healthCheck)]
    pub fn health_check(&self, group: Option<String>) -> js_sys::Promise {
        let router = self.router.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            Ok(JsValue::from_str(
                &router.health_check(group.as_deref()).await.to_string(),
            ))
        })
    }

    /// The bundled price map as JSON text.
    #[wasm_bindgen(js_name = costMapJson)]
    pub fn cost_map_json(&self) -> String {
        crate::cost::CostMap::bundled().to_json().to_string()
    }

    /// Shares routing state through `store` (the `state` option: an object with `incr`, `get`
    /// and `set`, see StateStore in js/index.d.ts). Throws a ConfigError for anything else.
    #[wasm_bindgen(js_name = setState)]
    pub fn set_state(&self, store: JsValue) -> Result<(), JsValue> {
        let store = state::JsStateStore::new(store).ok_or_else(|| {
            js_error(&LlmError::config(
                "state",
                "must be a store object with incr, get and set methods (see StateStore)",
            ))
        })?;
        self.router
            .attach_state(Rc::new(store), Rc::new(state::SpawnLocal));
        Ok(())
    }

    /// Flushes queued shared-state deltas and reads the remote snapshot; resolves when done
    /// (never rejects: a store failure is logged and routing stays local).
    #[wasm_bindgen(js_name = syncState)]
    pub fn sync_state(&self) -> js_sys::Promise {
        let router = self.router.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            router.sync_state().await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// `{ syncs, store_failures, store_down, pending_keys }` as JSON text, or undefined.
    #[wasm_bindgen(js_name = stateJson)]
    pub fn state_json(&self) -> Option<String> {
        self.router.state_report().map(|v| v.to_string())
    }

    /// Zeroes the cost counters.
    #[wasm_bindgen(js_name = resetCost)]
    pub fn reset_cost(&self) {
        self.router.reset_cost();
    }
}

fn parse_json(text: &str, what: &str) -> Result<Value, JsValue> {
    serde_json::from_str(text)
        .map_err(|e| js_error(&LlmError::config(what, format!("not valid JSON: {e}"))))
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
