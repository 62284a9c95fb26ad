// Realtime over WebSocket (README, "Realtime"): `router.realtime(model, options?)` and the
// gateway's `GET /v1/realtime?model=…` upgrade. The core picks the deployment and plans the
// upgrade (URL and headers, src/providers/realtime.rs); this module opens the socket with
// the host's WebSocket and relays it. Loaded on first use.

import { ConfigError, BadRequestError, toError } from "./errors.js";
import { REALTIME_CALL } from "./adapters.js";
import { MAX_TIMER_MS, abortReason, attachHidden } from "./wire.js";

/**
 * The relay's ceiling per direction: bytes accepted from one side and not yet handed to the
 * other (queued while the other side is still connecting, or in its `bufferedAmount`). Past
 * it both sockets are closed with 1009 ("message too big"; 4009 where the host refuses 1009).
 */
export const MAX_RELAY_BUFFER_BYTES = 4 * 1024 * 1024;

/** The largest error body read from a refused upgrade (the core classifies it). */
const MAX_REFUSAL_BYTES = 64 * 1024;

const CONNECTING = 0;
const OPEN = 1;

const isWorkerd = () => globalThis.navigator?.userAgent === "Cloudflare-Workers";
const isDeno = () => typeof globalThis.Deno?.upgradeWebSocket === "function";
const isNode = () => typeof globalThis.process?.versions?.node === "string" && !isDeno();
const isBrowser = () => typeof globalThis.document === "object" && !isNode() && !isDeno();

/** A refused upgrade's body, bounded. */
async function refusalText(res) {
  try {
    const text = await res.text();
    return text.length > MAX_REFUSAL_BYTES ? text.slice(0, MAX_REFUSAL_BYTES) : text;
  } catch {
    return "";
  }
}

/** Response headers as flat `[name, value, …]` (the core reads retry-after and friends). */
function flatHeaders(headers) {
  const out = [];
  if (!headers) return out;
  if (typeof headers.forEach === "function" && typeof headers.get === "function") {
    headers.forEach((value, name) => out.push(name, value));
    return out;
  }
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === "string") out.push(name, value);
    else if (Array.isArray(value)) out.push(name, value.join(", "));
  }
  return out;
}

/**
 * Waits for a constructed socket to open. Resolves `{ socket }`, `{ status, text, headers }`
 * (a refused upgrade, where the socket reports it: the `ws` package) or `{ error, timedOut }`.
 */
function awaitOpen(socket, timeoutMs, signal) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (out) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      socket.removeEventListener?.("open", onOpen);
      socket.removeEventListener?.("error", onError);
      socket.removeEventListener?.("close", onClose);
      if (!out.socket) {
        resumers.get(socket)?.();
        drop(socket);
      }
      resolve(out);
    };
    const onOpen = () => finish({ socket });
    const onError = (e) => {
      const message = String(e?.message ?? e?.error?.message ?? "error");
      // Deno names a refused upgrade's status only in its message ("Invalid status code: 401").
      const status = /invalid status code:? (\d{3})/i.exec(message)?.[1];
      if (status) finish({ status: Number(status), text: message, headers: [] });
      else finish({ error: `the WebSocket upgrade failed (${message})` });
    };
    const onClose = (e) =>
      finish({ error: `the upstream closed during the upgrade (code ${e?.code ?? "?"})` });
    const onAbort = () => finish({ aborted: true });
    const timer = setTimeout(
      () =>
        finish({ error: `the WebSocket upgrade timed out after ${timeoutMs} ms`, timedOut: true }),
      Math.min(timeoutMs, MAX_TIMER_MS),
    );
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.addEventListener("open", onOpen);
    socket.addEventListener("error", onError);
    socket.addEventListener("close", onClose);
    // The `ws` package reports a non-101 answer with its status, headers and body.
    if (typeof socket.on === "function") {
      socket.on("unexpected-response", (req, res) => {
        const chunks = [];
        let size = 0;
        res.on("data", (c) => {
          size += c.length;
          if (size <= MAX_REFUSAL_BYTES) chunks.push(c);
        });
        const settle = () => {
          finish({
            status: res.statusCode,
            text: new TextDecoder().decode(concat(chunks)).slice(0, MAX_REFUSAL_BYTES),
            headers: flatHeaders(res.headers),
          });
          req.destroy?.();
        };
        res.on("end", settle);
        res.on("error", settle);
      });
    }
  });
}

function concat(chunks) {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Per socket: lets the messages `hold` kept back through (after the caller has listened). */
const resumers = new WeakMap();

/**
 * Holds back the messages a socket receives from its opening until `resumers.get(socket)()`:
 * the first ones (session.created) arrive in the same tick as 'open' (the `ws` package, Deno),
 * before the caller of `realtime()` could listen. `ws` is paused; an EventTarget socket has
 * them stopped by this first listener and re-dispatched, in order, on resume.
 */
function hold(socket) {
  if (typeof socket.pause === "function" && typeof socket.resume === "function") {
    const onOpen = () => socket.pause();
    socket.addEventListener("open", onOpen, { once: true });
    resumers.set(socket, () => {
      resumers.delete(socket);
      socket.removeEventListener("open", onOpen);
      socket.resume();
    });
    return;
  }
  if (typeof globalThis.MessageEvent !== "function" || typeof socket.dispatchEvent !== "function")
    return;
  const held = [];
  let holding = true;
  let replaying = false;
  const onMessage = (event) => {
    if (replaying || !holding) return;
    held.push(event.data);
    event.stopImmediatePropagation();
  };
  socket.addEventListener("message", onMessage);
  resumers.set(socket, () => {
    resumers.delete(socket);
    holding = false;
    socket.removeEventListener("message", onMessage);
    replaying = true;
    for (const data of held.splice(0)) socket.dispatchEvent(new MessageEvent("message", { data }));
    replaying = false;
  });
}

/** Closes a socket that will not be used; never throws. */
function drop(socket) {
  try {
    if (typeof socket.terminate === "function") socket.terminate();
    else socket.close();
  } catch {
    // already closed
  }
}

/** A socket from a constructor that takes `{ headers }` (the `ws` package, Deno, undici). */
function headerPort(WebSocketImpl) {
  return async (url, headers, timeoutMs, signal) => {
    let socket;
    try {
      socket = new WebSocketImpl(url, { headers });
    } catch (e) {
      return { error: `the WebSocket could not be created (${e?.message ?? e})` };
    }
    // An EventEmitter (the `ws` package) throws on an 'error' nobody listens to.
    if (typeof socket.on === "function") socket.on("error", () => {});
    setBinary(socket);
    hold(socket);
    return awaitOpen(socket, timeoutMs, signal);
  };
}

/** workerd: `fetch` with `Upgrade: websocket`, then `response.webSocket.accept()`. */
function fetchPort(fetchFn) {
  return async (url, headers, timeoutMs, signal) => {
    const httpUrl = url.replace(/^ws(s?):\/\//i, "http$1://");
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    let timedOut = false;
    const timer = setTimeout(
      () => {
        timedOut = true;
        controller.abort();
      },
      Math.min(timeoutMs, MAX_TIMER_MS),
    );
    try {
      const res = await fetchFn(httpUrl, {
        headers: { ...headers, upgrade: "websocket" },
        signal: controller.signal,
      });
      const socket = res.webSocket;
      if (res.status === 101 && socket) {
        hold(socket);
        socket.accept();
        setBinary(socket);
        return { socket };
      }
      if (res.status < 300) {
        res.body?.cancel?.().catch?.(() => {});
        return { error: `the upstream answered HTTP ${res.status} instead of upgrading (101)` };
      }
      return {
        status: res.status,
        text: await refusalText(res),
        headers: flatHeaders(res.headers),
      };
    } catch (e) {
      if (signal?.aborted) return { aborted: true };
      if (timedOut)
        return { error: `the WebSocket upgrade timed out after ${timeoutMs} ms`, timedOut };
      return { error: `the WebSocket upgrade failed (${e?.message ?? e})` };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  };
}

/**
 * Browsers: a WebSocket cannot carry headers, so OpenAI's documented subprotocols carry the
 * key (`openai-insecure-api-key.<key>`): the key is visible to the page and its extensions.
 */
function browserPort(WebSocketImpl) {
  return async (url, headers, timeoutMs, signal) => {
    const auth = headers.authorization ?? "";
    const key = /^Bearer\s+(.+)$/i.exec(auth)?.[1];
    if (headers["api-key"] !== undefined || key === undefined) {
      return {
        refused: new BadRequestError(
          "realtime(): a browser WebSocket cannot send the api-key header an Azure realtime session needs; open it from a server (the gateway's GET /v1/realtime)",
          { status: 400 },
        ),
      };
    }
    const protocols = ["realtime", `openai-insecure-api-key.${key}`, "openai-beta.realtime-v1"];
    if (headers["openai-organization"])
      protocols.push(`openai-organization.${headers["openai-organization"]}`);
    let socket;
    try {
      socket = new WebSocketImpl(url, protocols);
    } catch (e) {
      return { error: `the WebSocket could not be created (${e?.name ?? "error"})` };
    }
    setBinary(socket);
    hold(socket);
    return awaitOpen(socket, timeoutMs, signal);
  };
}

function setBinary(socket) {
  try {
    socket.binaryType = "arraybuffer";
  } catch {
    // a host without binaryType delivers ArrayBuffers already
  }
}

/**
 * The host's way to open a socket with headers: the `WebSocket` option, workerd's fetch
 * upgrade, Deno's `new WebSocket(url, { headers })`, or the browser's subprotocols. Throws a
 * ConfigError saying what to pass where there is none (Node).
 */
export function portFor(WebSocketImpl, fetchFn) {
  if (WebSocketImpl) return headerPort(WebSocketImpl);
  if (isWorkerd()) {
    if (typeof fetchFn !== "function")
      throw new ConfigError("realtime(): workerd opens sockets with fetch, and there is none", {
        field: "fetch",
      });
    return fetchPort(fetchFn);
  }
  if (isDeno() && typeof globalThis.WebSocket === "function")
    return headerPort(globalThis.WebSocket);
  if (isBrowser() && typeof globalThis.WebSocket === "function")
    return browserPort(globalThis.WebSocket);
  const where = isNode() ? `Node ${globalThis.process.versions.node}` : "this runtime";
  throw new ConfigError(
    `realtime(): ${where} has no WebSocket that can send the provider's auth headers; pass a constructor that accepts { headers }: new Router({ ...config, WebSocket: (await import("ws")).default })`,
    { field: "WebSocket" },
  );
}

/**
 * The upstream socket, connected: `_hidden_params` names the deployment; `onClose` runs once
 * when it closes, errors, or the caller calls `close()`.
 */
function connected(socket, hidden, onClose) {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    onClose();
  };
  socket.addEventListener("close", release);
  socket.addEventListener("error", release);
  const close = socket.close;
  if (typeof close === "function") {
    socket.close = function (...args) {
      release();
      return close.apply(this, args);
    };
  }
  // Held messages flow once the caller's continuation (a microtask) has attached listeners.
  const resume = resumers.get(socket);
  if (resume) setTimeout(resume, 0);
  return attachHidden(socket, hidden);
}

/**
 * `router.realtime(model, options?)`: the deployment picked by the router's rules, its socket
 * opened with the provider's auth. Resolves to the connected upstream WebSocket (standard
 * `send`/`close`/`addEventListener`; the `ws` package's object with the `WebSocket` option).
 */
export async function realtime(router, model, options) {
  if (model !== null && typeof model === "object" && typeof model.model === "string") {
    options = { ...model, ...options };
    model = model.model;
  }
  if (typeof model !== "string" || model === "")
    throw new BadRequestError("realtime(model, options?): `model` must be a model group name", {
      status: 400,
    });
  const timeout = options?.timeout;
  if (timeout !== undefined && !(typeof timeout === "number" && timeout > 0))
    throw new BadRequestError("realtime(): `timeout` must be a positive number of seconds", {
      status: 400,
    });
  return router[REALTIME_CALL](model, options, portFor, connected);
}

/** Whether close code `code` may be sent by an endpoint (RFC 6455 §7.4; not 1004–1006, 1015). */
const sendable = (code) =>
  Number.isInteger(code) &&
  ((code >= 1000 && code <= 1014 && ![1004, 1005, 1006].includes(code)) ||
    (code >= 3000 && code <= 4999));

/** Closes `socket` with `code`/`reason` where the host allows it, else the nearest it does. */
function closeWith(socket, code, reason) {
  if (socket.readyState >= 2) return;
  let text = String(reason ?? "");
  // A close reason is at most 123 bytes of UTF-8.
  while (new TextEncoder().encode(text).length > 123) text = text.slice(0, -1);
  const tries = sendable(code) ? [code, code >= 1000 && code < 2000 ? code + 3000 : 1000] : [1000];
  for (const c of tries) {
    try {
      socket.close(c, text);
      return;
    } catch {
      // the host refuses this code (browsers and Deno take only 1000 and 3000–4999)
    }
  }
  try {
    socket.close();
  } catch {
    // already closing
  }
}

const sizeOf = (data) =>
  typeof data === "string" ? data.length * 3 : (data?.byteLength ?? data?.size ?? 0);

/**
 * Relays messages both ways between `a` (the client) and `b` (the upstream): text stays text,
 * binary stays binary; at most MAX_RELAY_BUFFER_BYTES pending per direction (queued while the
 * receiver connects, or in its `bufferedAmount`) before both close with 1009. Closing either
 * side closes the other with its code and reason. Returns a promise settled when both closed.
 */
export function relay(a, b, limit = MAX_RELAY_BUFFER_BYTES) {
  setBinary(a);
  setBinary(b);
  let ended = false;
  let resolveEnd;
  const endPromise = new Promise((r) => (resolveEnd = r));
  const end = (code, reason) => {
    if (ended) return;
    ended = true;
    closeWith(a, code, reason);
    closeWith(b, code, reason);
    resolveEnd();
  };
  const pipe = (from, to) => {
    const queue = [];
    let queued = 0;
    const flush = () => {
      for (const data of queue.splice(0)) to.send(data);
      queued = 0;
    };
    to.addEventListener("open", flush);
    from.addEventListener("message", (event) => {
      if (ended) return;
      const data = event.data;
      const size = sizeOf(data);
      const pending = (to.readyState === CONNECTING ? queued : (to.bufferedAmount ?? 0)) + size;
      if (pending > limit) {
        end(1009, `llmux: more than ${limit} bytes waiting to be relayed`);
        return;
      }
      if (to.readyState === CONNECTING) {
        queue.push(data);
        queued += size;
      } else if (to.readyState === OPEN) {
        if (queue.length) flush();
        try {
          to.send(data);
        } catch {
          end(1011, "llmux: relay failed");
        }
      }
    });
    from.addEventListener("close", (event) => end(event?.code ?? 1000, event?.reason ?? ""));
    from.addEventListener("error", () => end(1011, "llmux: the other side failed"));
  };
  pipe(a, b);
  pipe(b, a);
  return endPromise;
}

/** The subprotocol a client offered that the gateway answers with (`realtime`), if any. */
function offeredProtocol(request) {
  const offered = (request.headers.get("sec-websocket-protocol") ?? "")
    .split(",")
    .map((p) => p.trim());
  return offered.includes("realtime") ? "realtime" : undefined;
}

/**
 * The gateway's `GET /v1/realtime?model=…` upgrade, after its auth: the upstream socket is
 * opened first (a refusal is an HTTP error before any upgrade), then the client's socket is
 * accepted and paired with it. workerd: `WebSocketPair`; Deno: `Deno.upgradeWebSocket`;
 * elsewhere a 501 saying so.
 */
export async function upgrade(router, request, model, options) {
  const protocol = offeredProtocol(request);
  if (typeof globalThis.WebSocketPair === "function") {
    const upstream = await router.realtime(model, options);
    const [client, server] = Object.values(new globalThis.WebSocketPair());
    server.accept();
    relay(server, upstream);
    const headers = protocol ? { "sec-websocket-protocol": protocol } : {};
    return new Response(null, { status: 101, webSocket: client, headers });
  }
  if (isDeno()) {
    const upstream = await router.realtime(model, options);
    let pair;
    try {
      pair = globalThis.Deno.upgradeWebSocket(request, protocol ? { protocol } : {});
    } catch (e) {
      upstream.close(1011, "llmux: the client upgrade failed");
      throw toError(e);
    }
    relay(pair.socket, upstream);
    return pair.response;
  }
  return null;
}
