//! The only place that knows wasm-bindgen: builds the ports from the JS host and exports
//! `RouterCore`, whose methods take and return JSON text (the cheapest boundary crossing).

mod cache;
mod fetch;
mod host;
mod hostloop;
mod hoststream;
mod state;

use crate::config::RouterConfig;
use crate::error::LlmError;
use crate::ports::{FirstUseSeeded, Ports};
use crate::router::{ChunkStream, Routed, Router, StreamAbort};
use crate::types::audio::{AudioBody, Upload};
use crate::types::Endpoint;
use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// An `LlmError` as a plain JS object (`{ kind, message, status, … }`); the package's JS
/// entry turns it into the matching `errors.*` class.
fn js_error(e: &LlmError) -> JsValue {
    js_sys::JSON::parse(&e.to_json().to_string()).unwrap_or_else(|_| JsValue::from_str(&e.message))
}

/// Runs `work` until it settles or `cancel` (a Promise the JS host resolves when the caller's
/// `AbortSignal` fires) does. Cancelled, `work` is dropped, which aborts its fetch (the
/// transport's AbortOnDrop) and ends its bookkeeping; the result is `Err(undefined)`, which
/// the JS side replaces with the signal's reason.
async fn or_cancelled<T>(
    work: impl std::future::Future<Output = Result<T, JsValue>>,
    cancel: Option<js_sys::Promise>,
) -> Result<T, JsValue> {
    let Some(cancel) = cancel else {
        return work.await;
    };
    let cancelled = wasm_bindgen_futures::JsFuture::from(cancel);
    futures_util::pin_mut!(work);
    match futures_util::future::select(work, cancelled).await {
        futures_util::future::Either::Left((result, _)) => result,
        futures_util::future::Either::Right(_) => Err(JsValue::UNDEFINED),
    }
}

/// The JS host's ports: `fetch` (a function, else `globalThis.fetch`) with AbortController
/// timeouts, `setTimeout` sleeps, the `Date` clock, `crypto` entropy and `logger` (an object
/// with debug/info/warn/error, else `console`). Errs when there is no fetch at all.
pub fn host_ports(fetch: JsValue, logger: JsValue) -> Result<Ports, String> {
    Ok(ports_over(fetch::FetchTransport::new(fetch)?, logger))
}

fn ports_over(transport: fetch::FetchTransport, logger: JsValue) -> Ports {
    Ports {
        transport: Rc::new(transport),
        clock: Rc::new(host::DateClock),
        sleeper: Rc::new(host::TimerSleeper),
        // Seeded at the first pick, not here: see `FirstUseSeeded`.
        rng: Rc::new(FirstUseSeeded::new(
            host::try_entropy,
            js_sys::Date::now().to_bits(),
        )),
        logger: Rc::new(host::JsLogger::new(logger)),
        token_counter: None,
        events: None,
        signer: Some(Rc::new(host::WebCryptoSigner)),
        cache: None,
    }
}

#[wasm_bindgen(js_name = RouterCore)]
pub struct RouterCore {
    router: Router,
    /// Calls the JS host drives (`hostloop.rs`).
    hosts: Rc<hostloop::HostCalls>,
    streams: hoststream::HostStreams,
}

#[wasm_bindgen(js_class = RouterCore)]
impl RouterCore {
    /// The environment variables providers read for unset credentials and endpoints
    /// (`config::credentials`): the host hands their values in with the others.
    #[wasm_bindgen(js_name = credentialVariables)]
    pub fn credential_variables() -> Vec<String> {
        crate::config::credentials::variable_names()
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    /// `options`: the Router options as JSON text (functions removed; `cache: true` when a
    /// cache object is given); `env`: JSON object of environment variables (those the options
    /// reference as `"os.environ/NAME"` and the `credentialVariables()` that are set);
    /// `fetch`/`logger`/`tokenizer`/`cache`: optional JS values.
    #[wasm_bindgen(constructor)]
    pub fn new(
        options: &str,
        env: &str,
        fetch: JsValue,
        logger: JsValue,
        tokenizer: JsValue,
        cache: JsValue,
    ) -> Result<RouterCore, JsValue> {
        let options: Value = serde_json::from_str(options)
            .map_err(|e| js_error(&LlmError::config("options", format!("not valid JSON: {e}"))))?;
        let env: HashMap<String, String> = serde_json::from_str(env).unwrap_or_default();
        let config = RouterConfig::parse_owned(options, &env).map_err(|e| js_error(&e))?;
        let transport = fetch::FetchTransport::new(fetch)
            .map_err(|m| js_error(&LlmError::config("fetch", m)))?
            .with_max_body(config.max_response_bytes);
        let mut ports = ports_over(transport, logger);
        if let Ok(f) = tokenizer.dyn_into::<js_sys::Function>() {
            ports.token_counter = Some(Rc::new(host::JsTokenCounter::new(f)));
        }
        if config.cache.as_ref().is_some_and(|c| c.host_backend) {
            let backend = cache::JsCache::new(cache).ok_or_else(|| {
                js_error(&LlmError::config(
                    "cache",
                    "must be an object { get(key), set(key, value, { ttl }), delete?(key) }",
                ))
            })?;
            ports.cache = Some(Rc::new(backend));
        }
        Ok(RouterCore {
            router: Router::new(config, ports),
            hosts: Rc::default(),
            streams: hoststream::HostStreams::default(),
        })
    }

    /// Serves one request. Resolves to `{"hidden":{…},"body":{…}}` as JSON text; rejects
    /// with an error object. `file`, `filename`, `content_type`: the upload of a
    /// transcription (or `createFile`). `endpoint` may name a files or batches operation
    /// (`createFile`, `fileContent`, …). A speech answer or file content resolves to
    /// `{ hidden, contentType, bytes }` instead.
    pub fn call(
        &self,
        endpoint: &str,
        request: String,
        file: Option<Vec<u8>>,
        filename: Option<String>,
        content_type: Option<String>,
        cancel: Option<js_sys::Promise>,
    ) -> js_sys::Promise {
        let router = self.router.clone();
        let files_op = crate::providers::files::FilesOp::parse(endpoint);
        let endpoint = endpoint_of(endpoint);
        let upload = file.map(|bytes| Upload {
            bytes: Rc::new(bytes),
            filename: filename.unwrap_or_else(|| "audio".into()),
            content_type: content_type.unwrap_or_else(|| "application/octet-stream".into()),
        });
        wasm_bindgen_futures::future_to_promise(async move {
            let body = request_object(&request)?;
            let routed = match (files_op, endpoint) {
                (Some(op), _) => {
                    or_cancelled(async { Ok(router.files(op, body, upload).await) }, cancel).await?
                }
                (None, Some(endpoint)) => {
                    or_cancelled(
                        async { Ok(router.call_with_upload(endpoint, body, upload).await) },
                        cancel,
                    )
                    .await?
                }
                (None, None) => return Err(js_error(&LlmError::bad_request("unknown endpoint"))),
            };
            match routed {
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

    /// Serves a `stream: true` request; resolves (once the first chunk has arrived) to a
    /// `StreamCore`, or rejects with an error object.
    pub fn stream(
        &self,
        endpoint: &str,
        request: String,
        cancel: Option<js_sys::Promise>,
    ) -> js_sys::Promise {
        let router = self.router.clone();
        let endpoint = endpoint_of(endpoint);
        wasm_bindgen_futures::future_to_promise(async move {
            let endpoint =
                endpoint.ok_or_else(|| js_error(&LlmError::bad_request("unknown endpoint")))?;
            let body = request_object(&request)?;
            let stream = or_cancelled(
                async {
                    router
                        .call_stream(endpoint, body)
                        .await
                        .map_err(|e| js_error(&e))
                },
                cancel,
            )
            .await?;
            Ok(StreamCore::new(stream).into())
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

    /// The configured `model_name` serving `model` (itself, or the wildcard pattern that
    /// matches it), if any.
    #[wasm_bindgen(js_name = modelGroupOf)]
    pub fn model_group_of(&self, model: &str) -> Option<String> {
        self.router.table().group_of(model).map(str::to_string)
    }

    /// The model names `/v1/models` lists (wildcards expanded from the price data), as JSON.
    #[wasm_bindgen(js_name = listedModelsJson)]
    pub fn listed_models_json(&self) -> String {
        serde_json::to_string(&self.router.table().listed_models()).unwrap_or_else(|_| "[]".into())
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

    /// Sets the custom routing strategy: `choose(model, request, candidates)` returns (or
    /// resolves to) a candidate's id or null; anything but a function removes it.
    #[wasm_bindgen(js_name = setChooser)]
    pub fn set_chooser(&self, choose: JsValue) {
        self.router.set_custom_strategy(
            choose
                .dyn_into::<js_sys::Function>()
                .ok()
                .map(|f| Rc::new(host::JsChooser::new(f)) as Rc<dyn crate::ports::Chooser>),
        );
    }

    /// Adds a deployment (JSON text); returns it redacted.
    #[wasm_bindgen(js_name = addDeployment)]
    pub fn add_deployment(&self, entry: &str) -> Result<String, JsValue> {
        self.hosts.clear_wires();
        let entry = parse_json(entry, "deployment")?;
        self.router
            .add_deployment(&entry)
            .map(|v| v.to_string())
            .map_err(|e| js_error(&e))
    }

    /// Removes a deployment; returns it redacted, or undefined when there is none.
    #[wasm_bindgen(js_name = deleteDeployment)]
    pub fn delete_deployment(&self, id: &str) -> Option<String> {
        self.hosts.clear_wires();
        self.router.delete_deployment(id).map(|v| v.to_string())
    }

    /// Deep-merges a patch (JSON text) into a deployment; returns it redacted.
    #[wasm_bindgen(js_name = updateDeployment)]
    pub fn update_deployment(&self, id: &str, patch: &str) -> Result<String, JsValue> {
        self.hosts.clear_wires();
        let patch = parse_json(patch, "patch")?;
        self.router
            .update_deployment(id, &patch)
            .map(|v| v.to_string())
            .map_err(|e| js_error(&e))
    }

    /// Adds, replaces or keeps a deployment by id (`upsertDeployment`); returns it redacted,
    /// or undefined when nothing changed.
    #[wasm_bindgen(js_name = upsertDeployment)]
    pub fn upsert_deployment(&self, entry: &str) -> Result<Option<String>, JsValue> {
        self.hosts.clear_wires();
        let entry = parse_json(entry, "deployment")?;
        self.router
            .upsert_deployment(&entry)
            .map(|v| v.map(|v| v.to_string()))
            .map_err(|e| js_error(&e))
    }

    /// LiteLLM's `ModelGroupInfo` of a group, alias or wildcard-matched model, as JSON text.
    #[wasm_bindgen(js_name = modelGroupInfoJson)]
    pub fn model_group_info_json(&self, name: &str) -> Option<String> {
        self.router.model_group_info(name).map(|v| v.to_string())
    }

    /// The group's remaining rpm/tpm this minute, as `x-ratelimit-*` fields (JSON text).
    #[wasm_bindgen(js_name = remainingGroupUsageJson)]
    pub fn remaining_group_usage_json(&self, name: &str) -> String {
        serde_json::Value::Object(self.router.remaining_group_usage(name)).to_string()
    }

    /// `{ input_tokens, exact }` of a chat request (JSON text) for a model group: the
    /// `tokenizer` option's count (`exact: true`) or the built-in estimate.
    #[wasm_bindgen(js_name = countTokensJson)]
    pub fn count_tokens_json(&self, model: &str, body: &str) -> Result<String, JsValue> {
        let body = parse_json(body, "request")?;
        let Some(body) = body.as_object() else {
            return Err(js_error(&crate::error::LlmError::bad_request(
                "the request must be an object",
            )));
        };
        let (n, exact) = self.router.count_input_tokens(model, body);
        Ok(crate::obj! { "input_tokens": n, "exact": exact }.to_string())
    }

    /// `model_info.access_groups` -> the model groups listing each (JSON text).
    #[wasm_bindgen(js_name = modelAccessGroupsJson)]
    pub fn model_access_groups_json(&self) -> String {
        serde_json::Value::Object(self.router.model_access_groups()).to_string()
    }

    /// Replaces every deployment (JSON text of a model_list).
    #[wasm_bindgen(js_name = setModelList)]
    pub fn set_model_list(&self, list: &str) -> Result<(), JsValue> {
        self.hosts.clear_wires();
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

    /// The background health probe (`background_health_check_model_groups`) as JSON text
    /// `{ "groups": [...], "interval_ms": n }`, or nothing when none is configured.
    #[wasm_bindgen(js_name = backgroundHealthCheck)]
    pub fn background_health_check(&self) -> Option<String> {
        let health = &self.router.config().selection.health;
        (!health.background_groups.is_empty()).then(|| {
            crate::obj! {
                "groups": health.background_groups.clone(),
                "interval_ms": health.interval_ms,
            }
            .to_string()
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

    /// Whether the first routing decision still waits for the first shared-state snapshot
    /// (asks for it on the first call); the host then awaits `firstSync()`.
    #[wasm_bindgen(js_name = firstSyncPending)]
    pub fn first_sync_pending(&self) -> bool {
        self.router.first_sync_pending()
    }

    /// Resolves once the first snapshot arrived or `state_first_sync_timeout_ms` passed.
    #[wasm_bindgen(js_name = firstSync)]
    pub fn first_sync(&self) -> js_sys::Promise {
        let router = self.router.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            router.await_first_sync().await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// `{ syncs, store_failures, store_down, pending_keys }` as JSON text, or undefined.
    #[wasm_bindgen(js_name = stateJson)]
    pub fn state_json(&self) -> Option<String> {
        self.router.state_report().map(|v| v.to_string())
    }

    /// Ends a deployment's cooldown now; false when no deployment has that id.
    #[wasm_bindgen(js_name = clearCooldown)]
    pub fn clear_cooldown(&self, id: &str) -> bool {
        self.router.clear_cooldown(id)
    }

    /// Takes a deployment out of rotation (`true`) or puts it back; false for an unknown id.
    #[wasm_bindgen(js_name = setDeploymentDisabled)]
    pub fn set_deployment_disabled(&self, id: &str, disabled: bool) -> bool {
        self.router.set_deployment_disabled(id, disabled)
    }

    /// Every deployment's routing status (`getDeploymentStatus()`) as JSON text.
    #[wasm_bindgen(js_name = deploymentStatusJson)]
    pub fn deployment_status_json(&self) -> String {
        self.router.deployment_status().to_string()
    }

    /// Zeroes the cost counters.
    #[wasm_bindgen(js_name = resetCost)]
    pub fn reset_cost(&self) {
        self.router.reset_cost();
    }
}

fn endpoint_of(name: &str) -> Option<Endpoint> {
    Some(match name {
        "chat" => Endpoint::ChatCompletion,
        "text" => Endpoint::TextCompletion,
        "embedding" => Endpoint::Embedding,
        "image" => Endpoint::ImageGeneration,
        "moderation" => Endpoint::Moderation,
        "transcription" => Endpoint::Transcription,
        "speech" => Endpoint::Speech,
        "rerank" => Endpoint::Rerank,
        "responses" => Endpoint::Responses,
        _ => return None,
    })
}

fn request_object(request: &str) -> Result<serde_json::Map<String, Value>, JsValue> {
    match serde_json::from_str::<Value>(request) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(js_error(&LlmError::bad_request(
            "the request must be an object",
        ))),
        Err(e) => Err(js_error(&LlmError::bad_request(format!(
            "the request is not valid JSON: {e}"
        )))),
    }
}

/// An open stream for JS: `next()` resolves to the next chunks as JSON text (an array) or
/// `undefined` at the end; `abort()` closes the upstream even while a `next()` is pending.
#[wasm_bindgen(js_name = StreamCore)]
pub struct StreamCore {
    /// `None` while a `next()` is pending, and once the stream is over.
    stream: Rc<RefCell<Option<ChunkStream>>>,
    hidden: Rc<RefCell<String>>,
    over: Rc<Cell<bool>>,
    abort: StreamAbort,
}

impl StreamCore {
    fn new(stream: ChunkStream) -> StreamCore {
        StreamCore {
            hidden: Rc::new(RefCell::new(hidden_json(&stream))),
            abort: stream.abort_handle(),
            stream: Rc::new(RefCell::new(Some(stream))),
            over: Rc::new(Cell::new(false)),
        }
    }
}

fn hidden_json(stream: &ChunkStream) -> String {
    serde_json::to_string(stream.hidden()).unwrap_or_else(|_| "{}".into())
}

#[wasm_bindgen(js_class = StreamCore)]
impl StreamCore {
    /// `_hidden_params` as JSON text (with `response_cost` once the stream has ended).
    pub fn hidden(&self) -> String {
        self.hidden.borrow().clone()
    }

    pub fn next(&self) -> js_sys::Promise {
        let cell = Rc::clone(&self.stream);
        let hidden = Rc::clone(&self.hidden);
        let over = Rc::clone(&self.over);
        wasm_bindgen_futures::future_to_promise(async move {
            if over.get() {
                return Ok(JsValue::UNDEFINED);
            }
            let taken = cell.borrow_mut().take();
            let Some(mut stream) = taken else {
                return Err(js_error(&LlmError::bad_request(
                    "next() was called while another next() was pending",
                )));
            };
            let result = stream.next().await;
            *hidden.borrow_mut() = hidden_json(&stream);
            match result {
                Ok(Some(chunks)) => {
                    if over.get() {
                        // Aborted while this read was pending.
                        return Ok(JsValue::UNDEFINED);
                    }
                    *cell.borrow_mut() = Some(stream);
                    Ok(JsValue::from_str(&Value::Array(chunks).to_string()))
                }
                Ok(None) => {
                    over.set(true);
                    Ok(JsValue::UNDEFINED)
                }
                Err(e) => {
                    over.set(true);
                    Err(js_error(&e))
                }
            }
        })
    }

    /// Stops the stream: the upstream fetch is aborted; later `next()` calls resolve to
    /// `undefined`.
    pub fn abort(&self) {
        self.over.set(true);
        self.abort.abort();
        let taken = self.stream.borrow_mut().take();
        if let Some(mut stream) = taken {
            stream.abort();
            *self.hidden.borrow_mut() = hidden_json(&stream);
        }
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

/// LiteLLM's `stream_chunk_builder`: the chunks of one stream (JSON text of an array) ->
/// the `chat.completion` (or `text_completion`) as JSON text; throws an error object.
#[wasm_bindgen(js_name = assembleChunks)]
pub fn assemble_chunks(chunks: &str) -> Result<String, JsValue> {
    let chunks: Vec<Value> = serde_json::from_str(chunks).map_err(|e| {
        js_error(&LlmError::bad_request(format!(
            "chunks must be an array of chunk objects: {e}"
        )))
    })?;
    crate::stream::assemble::assemble(&chunks)
        .map(|v| v.to_string())
        .map_err(|e| js_error(&e))
}

/// The crate version, for diagnostics.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
