//! `Transport` over the runtime's `fetch` (global or caller-supplied), with the timeout
//! enforced by an `AbortController`: a timed-out or dropped request is really cancelled.

use crate::ports::{
    HttpRequest, HttpResponse, LocalFuture, StreamedResponse, Transport, TransportError,
};
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, Headers, RequestInit, Response};

/// Response headers the core reads; others are not copied out of JS.
const READ_HEADERS: &[&str] = &[
    "content-type",
    "retry-after",
    "retry-after-ms",
    "x-request-id",
    "x-amzn-errortype",
];

pub struct FetchTransport {
    fetch: js_sys::Function,
    this: JsValue,
}

impl FetchTransport {
    /// Uses `custom` when it is a function, else `globalThis.fetch`.
    pub fn new(custom: JsValue) -> Result<FetchTransport, String> {
        let global: JsValue = js_sys::global().into();
        if let Ok(f) = custom.clone().dyn_into::<js_sys::Function>() {
            return Ok(FetchTransport {
                fetch: f,
                this: global,
            });
        }
        let f = js_sys::Reflect::get(&global, &JsValue::from_str("fetch"))
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            .ok_or_else(|| {
                "this runtime has no global fetch; pass one in the `fetch` option".to_string()
            })?;
        Ok(FetchTransport {
            fetch: f,
            this: global,
        })
    }
}

/// Aborts the fetch when dropped before completion (caller cancelled or timed out).
struct AbortOnDrop {
    controller: AbortController,
    done: bool,
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if !self.done {
            self.controller.abort();
        }
    }
}

impl Transport for FetchTransport {
    fn send(
        &self,
        request: HttpRequest,
    ) -> LocalFuture<'static, Result<HttpResponse, TransportError>> {
        let fetch = self.fetch.clone();
        let this = self.this.clone();
        Box::pin(async move {
            send(fetch, this, request, false)
                .await
                .map(|r| HttpResponse {
                    status: r.status,
                    headers: r.headers,
                    body: r.body,
                })
        })
    }

    fn send_streamed(
        &self,
        request: HttpRequest,
    ) -> LocalFuture<'static, Result<StreamedResponse, TransportError>> {
        let fetch = self.fetch.clone();
        let this = self.this.clone();
        Box::pin(async move { send(fetch, this, request, true).await })
    }
}

fn describe(err: &JsValue) -> String {
    if let Some(e) = err.dyn_ref::<js_sys::Error>() {
        let msg: String = e.message().into();
        // undici puts the real reason (ECONNREFUSED, ECONNRESET, …) on `cause`.
        let cause = js_sys::Reflect::get(e, &JsValue::from_str("cause"))
            .ok()
            .filter(|c| !c.is_undefined() && !c.is_null())
            .and_then(|c| {
                js_sys::Reflect::get(&c, &JsValue::from_str("code"))
                    .ok()
                    .and_then(|code| code.as_string())
                    .or_else(|| {
                        c.dyn_ref::<js_sys::Error>()
                            .map(|ce| String::from(ce.message()))
                    })
            });
        match cause {
            Some(c) => format!("{msg} ({c})"),
            None => msg,
        }
    } else {
        err.as_string()
            .unwrap_or_else(|| "fetch failed".to_string())
    }
}

/// A 2xx body handed to JS unread: the fetch `Response`'s `ReadableStream`.
pub struct JsBody(pub JsValue);

async fn send(
    fetch: js_sys::Function,
    this: JsValue,
    request: HttpRequest,
    streamed: bool,
) -> Result<StreamedResponse, TransportError> {
    let controller =
        AbortController::new().map_err(|e| TransportError::Connection(describe(&e)))?;
    let mut guard = AbortOnDrop {
        controller,
        done: false,
    };
    let timed_out = Rc::new(Cell::new(false));
    let _timer = request.timeout_ms.map(|ms| {
        let controller = guard.controller.clone();
        let flag = Rc::clone(&timed_out);
        let ms = u32::try_from(ms).unwrap_or(u32::MAX);
        gloo_timers::callback::Timeout::new(ms, move || {
            flag.set(true);
            controller.abort();
        })
    });
    let fail = |e: JsValue| {
        if timed_out.get() {
            TransportError::Timeout
        } else {
            TransportError::Connection(describe(&e))
        }
    };

    let headers = Headers::new().map_err(|e| TransportError::Connection(describe(&e)))?;
    for (name, value) in &request.headers {
        headers
            .append(name, value)
            .map_err(|_| TransportError::Connection(format!("invalid header {name}")))?;
    }
    let init = RequestInit::new();
    init.set_method(request.method);
    init.set_headers(&headers);
    if let Some(bytes) = &request.binary_body {
        init.set_body(&js_sys::Uint8Array::from(bytes.as_slice()));
    } else if let Some(body) = &request.body {
        init.set_body(&JsValue::from_str(body));
    }
    init.set_signal(Some(&guard.controller.signal()));

    let promise = fetch
        .call2(&this, &JsValue::from_str(&request.url), &init)
        .map_err(fail)?
        .dyn_into::<js_sys::Promise>()
        .map_err(|_| TransportError::Connection("fetch did not return a Promise".into()))?;
    let response: Response = JsFuture::from(promise)
        .await
        .map_err(fail)?
        .dyn_into()
        .map_err(|_| TransportError::Connection("fetch did not resolve to a Response".into()))?;
    let status = response.status();
    let mut out_headers = Vec::new();
    let resp_headers = response.headers();
    for name in READ_HEADERS {
        if let Ok(Some(v)) = resp_headers.get(name) {
            out_headers.push(((*name).to_string(), v));
        }
    }
    if streamed && (200..300).contains(&status) {
        if let Some(stream) = response.body() {
            // The caller reads (or cancels) the body; the timeout covered the headers.
            guard.done = true;
            return Ok(StreamedResponse {
                status,
                headers: out_headers,
                body: Vec::new(),
                stream: Some(Rc::new(JsBody(stream.into()))),
            });
        }
    }
    let buffer = JsFuture::from(response.array_buffer().map_err(fail)?)
        .await
        .map_err(fail)?;
    let body = js_sys::Uint8Array::new(&buffer).to_vec();
    guard.done = true;
    Ok(StreamedResponse {
        status,
        headers: out_headers,
        body,
        stream: None,
    })
}
