//! `Transport` over the runtime's `fetch` (global or caller-supplied), with the timeout
//! enforced by an `AbortController`: a timed-out or dropped request is really cancelled.

use crate::ports::{
    BodyHandle, ByteStream, HostForm, HttpRequest, HttpResponse, LocalFuture, OpenBody,
    OpenResponse, Transport, TransportError,
};
use std::cell::{Cell, RefCell};
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
    /// The largest body read into wasm memory (`max_response_bytes`).
    max_body: u64,
}

impl FetchTransport {
    /// Uses `custom` when it is a function, else `globalThis.fetch`.
    pub fn new(custom: JsValue) -> Result<FetchTransport, String> {
        let global: JsValue = js_sys::global().into();
        if let Ok(f) = custom.clone().dyn_into::<js_sys::Function>() {
            return Ok(FetchTransport {
                fetch: f,
                this: global,
                max_body: u64::MAX,
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
            max_body: u64::MAX,
        })
    }

    /// Refuses bodies larger than `bytes`: by their `content-length` before reading, and
    /// by their length before they are copied into wasm memory.
    pub fn with_max_body(mut self, bytes: u64) -> FetchTransport {
        self.max_body = bytes;
        self
    }
}

/// The file parts of a [`HostForm`]: JS `Blob`s and their filenames, never read by the core.
pub struct JsParts {
    pub blobs: js_sys::Array,
    pub names: Vec<String>,
}

/// A `FormData` of `form`'s text fields, then its file parts from the host's `Blob`s; `fetch`
/// encodes it (and picks its boundary) itself.
fn form_data(form: &HostForm) -> Result<JsValue, JsValue> {
    let parts = form
        .parts
        .handle
        .downcast_ref::<JsParts>()
        .ok_or_else(|| JsValue::from_str("the form's file parts are not JS Blobs"))?;
    let data = web_sys::FormData::new()?;
    for (name, value) in &form.fields {
        data.append_with_str(name, value)?;
    }
    for (name, index) in &form.files {
        let blob: web_sys::Blob = parts
            .blobs
            .get(u32::try_from(*index).unwrap_or(u32::MAX))
            .dyn_into()
            .map_err(|_| JsValue::from_str("a form file part is not a Blob"))?;
        let filename = parts.names.get(*index).map_or("file", String::as_str);
        data.append_with_blob_and_filename(name, &blob, filename)?;
    }
    Ok(data.into())
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
        let max_body = self.max_body;
        Box::pin(async move {
            let reply = send(fetch, this, request, false, max_body).await?;
            Ok(HttpResponse {
                status: reply.status,
                headers: reply.headers,
                body: match reply.body {
                    OpenBody::Read(body) => body,
                    OpenBody::Stream(_) => Vec::new(),
                },
            })
        })
    }

    fn open(
        &self,
        request: HttpRequest,
    ) -> LocalFuture<'static, Result<OpenResponse, TransportError>> {
        let fetch = self.fetch.clone();
        let this = self.this.clone();
        let max_body = self.max_body;
        Box::pin(send(fetch, this, request, true, max_body))
    }
}

/// A fetch body read chunk by chunk through its `ReadableStreamDefaultReader` (taken at the
/// first read), or handed to the host unread (`host_body`); `cancel` aborts the fetch, which
/// closes the connection and ends a pending read.
struct FetchBody {
    stream: JsValue,
    /// The reader and its `read`, once a read has begun.
    reader: RefCell<Option<(JsValue, js_sys::Function)>>,
    /// The body went to the host, which now owns the connection.
    handed_over: Cell<bool>,
    controller: AbortController,
}

impl FetchBody {
    fn new(stream: JsValue, controller: AbortController) -> FetchBody {
        FetchBody {
            stream,
            reader: RefCell::new(None),
            handed_over: Cell::new(false),
            controller,
        }
    }

    /// The reader and its `read` function, taken on first use.
    fn reader(&self) -> Result<(JsValue, js_sys::Function), TransportError> {
        if self.handed_over.get() {
            return Err(TransportError::Connection(
                "the response body was handed to the host".into(),
            ));
        }
        if let Some(reader) = self.reader.borrow().as_ref() {
            return Ok(reader.clone());
        }
        let stream = &self.stream;
        let method = |target: &JsValue, name: &str| {
            js_sys::Reflect::get(target, &JsValue::from_str(name))
                .ok()
                .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
                .ok_or_else(|| {
                    TransportError::Connection(format!("the response body has no {name}()"))
                })
        };
        let reader = method(stream, "getReader")?
            .call0(stream)
            .map_err(|e| TransportError::Connection(describe(&e)))?;
        let read = method(&reader, "read")?;
        *self.reader.borrow_mut() = Some((reader.clone(), read.clone()));
        Ok((reader, read))
    }
}

impl ByteStream for FetchBody {
    fn read(&self) -> LocalFuture<'static, Result<Option<Vec<u8>>, TransportError>> {
        let pending = self.reader().and_then(|(reader, read)| {
            read.call0(&reader)
                .map_err(|e| TransportError::Connection(describe(&e)))
        });
        Box::pin(async move {
            let promise: js_sys::Promise = pending?.dyn_into().map_err(|_| {
                TransportError::Connection("read() did not return a Promise".into())
            })?;
            let result = JsFuture::from(promise)
                .await
                .map_err(|e| TransportError::Connection(describe(&e)))?;
            let done = js_sys::Reflect::get(&result, &JsValue::from_str("done"))
                .map(|d| d.is_truthy())
                .unwrap_or(true);
            if done {
                return Ok(None);
            }
            let value = js_sys::Reflect::get(&result, &JsValue::from_str("value"))
                .map_err(|e| TransportError::Connection(describe(&e)))?;
            Ok(Some(js_sys::Uint8Array::new(&value).to_vec()))
        })
    }

    fn cancel(&self) {
        self.controller.abort();
    }

    fn host_body(&self) -> Option<BodyHandle> {
        if self.handed_over.get() || self.reader.borrow().is_some() {
            return None;
        }
        self.handed_over.set(true);
        Some(Rc::new(JsBody(self.stream.clone())))
    }
}

impl Drop for FetchBody {
    fn drop(&mut self) {
        // A body dropped unread must not keep its connection open (unless the host has it).
        if self.handed_over.get() {
            return;
        }
        self.controller.abort();
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

/// One fetch; with `streamed`, a 2xx body comes back unread, with the controller that aborts it.
async fn send(
    fetch: js_sys::Function,
    this: JsValue,
    request: HttpRequest,
    streamed: bool,
    max_body: u64,
) -> Result<OpenResponse, TransportError> {
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
        let ms = u32::try_from(crate::reliability::bounds::clamp_timer_ms(ms))
            .unwrap_or(i32::MAX as u32);
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
    if let Some(form) = &request.form {
        init.set_body(&form_data(form).map_err(|e| TransportError::Connection(describe(&e)))?);
    } else if let Some(bytes) = &request.binary_body {
        init.set_body(&js_sys::Uint8Array::from(bytes.as_slice()));
    } else if let Some(body) = &request.body {
        init.set_body(&JsValue::from_str(body));
    }
    init.set_signal(Some(&guard.controller.signal()));
    // Credentials never follow a redirect to another origin: a 3xx is an error reply.
    // ("manual", not "error": workerd accepts only "follow" and "manual".)
    let _ = js_sys::Reflect::set(
        &init,
        &JsValue::from_str("redirect"),
        &JsValue::from_str("manual"),
    );

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
    let resp_headers = response.headers();
    let out_headers = if status >= 400 {
        error_headers(&resp_headers)
    } else {
        let mut read = Vec::new();
        for name in READ_HEADERS {
            if let Ok(Some(v)) = resp_headers.get(name) {
                read.push(((*name).to_string(), v));
            }
        }
        read
    };
    if streamed && (200..300).contains(&status) {
        if let Some(stream) = response.body() {
            // The caller reads (or cancels) the body; the timeout covered the headers.
            guard.done = true;
            let body = FetchBody::new(stream.into(), guard.controller.clone());
            return Ok(OpenResponse {
                status,
                headers: out_headers,
                body: OpenBody::Stream(Rc::new(body)),
            });
        }
    }
    let too_large = || {
        TransportError::Connection(format!(
            "the upstream reply is larger than max_response_bytes ({max_body} bytes)"
        ))
    };
    let declared = resp_headers
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_body) {
        return Err(too_large());
    }
    let buffer = JsFuture::from(response.array_buffer().map_err(fail)?)
        .await
        .map_err(fail)?;
    let bytes = js_sys::Uint8Array::new(&buffer);
    if u64::from(bytes.length()) > max_body {
        return Err(too_large());
    }
    let body = bytes.to_vec();
    guard.done = true;
    Ok(OpenResponse {
        status,
        headers: out_headers,
        body: OpenBody::Read(body),
    })
}

/// Every header of an error reply (an error carries them, README "Errors"), bounded by
/// `MAX_ERROR_HEADERS` and `MAX_ERROR_HEADER_BYTES`; `set-cookie` is never kept.
fn error_headers(headers: &Headers) -> Vec<(String, String)> {
    use crate::error::{UpstreamReply, MAX_ERROR_HEADERS};
    let mut out = Vec::new();
    let Ok(Some(entries)) = js_sys::try_iter(headers.as_ref()) else {
        return out;
    };
    for entry in entries.flatten() {
        if out.len() >= MAX_ERROR_HEADERS {
            break;
        }
        let pair = js_sys::Array::from(&entry);
        let (Some(name), Some(value)) = (pair.get(0).as_string(), pair.get(1).as_string()) else {
            continue;
        };
        if UpstreamReply::keeps_header(&name, &value) {
            out.push((name.to_ascii_lowercase(), value));
        }
    }
    out
}
