// The router's observers: one sink for the core's events that joins them with the call that
// caused them (by call id) and hands LiteLLM's StandardLoggingPayload to `on`, LiteLLM-style
// callbacks (`success_callback`, `failure_callback`, `callbacks`) and hooks (llmux/otel).

import { ConfigError } from "./errors.js";

/** `router[OBSERVE](listener)` adds a listener and returns its remover (used by llmux/otel). */
export const OBSERVE = Symbol.for("llmux.observe");

/**
 * Calls tracked at once (started, not yet reported). Beyond it the oldest is forgotten: its
 * later events are reported without the request's fields (a stream never read, for example).
 */
export const MAX_TRACKED_CALLS = 4096;

/** The core's events, plus `start` (made here, before the first attempt). */
const CORE_EVENTS = ["success", "failure", "retry", "fallback", "cooldown", "attempt"];
const ON_EVENTS = ["start", ...CORE_EVENTS];
/** The events the dashboard records (js/dashboard/recorder.js). */
const RECORDED = new Set(["success", "failure", "retry", "fallback", "cooldown"]);

/** The LiteLLM method name (`call_type`) of each endpoint. */
const CALL_TYPES = {
  chat: "acompletion",
  text: "atext_completion",
  embedding: "aembedding",
  image: "aimage_generation",
  imageEdit: "aimage_edit",
  moderation: "amoderation",
  transcription: "atranscription",
  speech: "aspeech",
};

/**
 * Request fields that are not model parameters (`model_parameters` leaves them out), among
 * them every credential or endpoint field a caller might send (the router refuses those, but
 * the `start` event comes first).
 */
const NOT_PARAMETERS = new Set([
  "api_key",
  "api_base",
  "base_url",
  "api_version",
  "organization",
  "extra_headers",
  "headers",
  "azure_ad_token",
  "aws_access_key_id",
  "aws_secret_access_key",
  "aws_session_token",
  "vertex_credentials",
  "model",
  "messages",
  "prompt",
  "input",
  "metadata",
  "litellm_metadata",
  "litellm_call_id",
  "user",
  "file",
  "tags",
]);

const CALLBACK_OPTIONS = ["success_callback", "failure_callback", "callbacks"];
const CALLBACK_METHODS = [
  "log_pre_api_call",
  "log_success_event",
  "log_failure_event",
  "async_log_pre_api_call",
  "async_log_success_event",
  "async_log_failure_event",
];

function randomId() {
  const c = globalThis.crypto;
  if (typeof c?.randomUUID === "function") {
    try {
      return c.randomUUID();
    } catch {
      // randomUUID needs a secure context in browsers: fall through.
    }
  }
  const b = new Uint8Array(16);
  c.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * Validates LiteLLM's callback options: each a list of functions or logger objects (a lone
 * one is taken as a list of one). A string names one of LiteLLM's bundled integrations, which
 * llmux does not have: a ConfigError at its index, never a silent no-op.
 */
export function parseCallbacks(options) {
  const out = { success: [], failure: [], both: [] };
  for (const field of CALLBACK_OPTIONS) {
    const value = options[field];
    if (value === undefined || value === null) continue;
    const list = Array.isArray(value) ? value : [value];
    list.forEach((cb, i) => {
      const at = Array.isArray(value) ? `${field}[${i}]` : field;
      if (typeof cb === "string")
        throw new ConfigError(
          `${at}: "${cb.slice(0, 64)}" names a LiteLLM integration, which runs LiteLLM's Python logging code; llmux has none. Pass a function (kwargs, response, startTime, endTime) or an object with log_success_event / log_failure_event / log_pre_api_call (README, "Logging callbacks"), or llmux/otel for OpenTelemetry`,
          { field: at },
        );
      if (typeof cb === "function") {
        if (field === "success_callback") out.success.push(cb);
        else if (field === "failure_callback") out.failure.push(cb);
        else out.both.push(cb);
        return;
      }
      if (isObject(cb) && CALLBACK_METHODS.some((m) => typeof cb[m] === "function")) {
        out.both.push(cb);
        return;
      }
      throw new ConfigError(
        `${at}: must be a function or an object with log_success_event / log_failure_event / log_pre_api_call (or their async_ versions)`,
        { field: at },
      );
    });
  }
  const any = out.success.length + out.failure.length + out.both.length > 0;
  return any ? out : null;
}

/** Logs a callback's failure at warn; a throwing logger is ignored too. */
function warn(logger, what, e) {
  try {
    logger?.warn?.(`llmux: ${what} failed: ${e?.message ?? e}`);
  } catch {
    // Nothing a logger does reaches a request.
  }
}

/** Calls `f`; a throw or a rejection never reaches the request (it is logged at warn). */
function safely(logger, what, f) {
  try {
    const r = f();
    if (r && typeof r.then === "function") r.then(undefined, (e) => warn(logger, what, e));
  } catch (e) {
    warn(logger, what, e);
  }
}

const seconds = (ms) => ms / 1000;

export class Observers {
  /** call id -> { endpoint, request, startMs, stream, pending } */
  #open = new Map();
  #on;
  #callbacks;
  #listeners = new Set();
  #logger;
  /** Whether success payloads carry `messages` and `response` (`turn_off_message_logging`). */
  #content;
  /** The object handed to the core's `setEvents`. */
  sink;

  constructor({ on, callbacks, recorder, logger, turnOffMessageLogging }) {
    this.#on = on ?? null;
    this.#callbacks = callbacks;
    this.#logger = logger;
    this.#content = !turnOffMessageLogging;
    if (recorder)
      this.#listeners.add({
        any: (name, e) => RECORDED.has(name) && recorder.record(name, e, Date.now()),
      });
    this.sink = {};
    for (const name of CORE_EVENTS) this.sink[name] = (e) => this.#core(name, e);
  }

  /** Adds a listener `{ start?, attempt?, success?, failure?, retry?, fallback?, cooldown? }`. */
  add(listener) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * A call starts: returns its id (the request's `litellm_call_id`, else `fallbackId`, else a
   * new UUID) and emits `start`. `defer`: the caller reports the answer with `end`, so
   * `success` waits for the response object.
   */
  begin(endpoint, request, stream, defer, fallbackId) {
    const given = request?.litellm_call_id;
    const id = typeof given === "string" && given !== "" ? given : (fallbackId ?? randomId());
    if (this.#open.size >= MAX_TRACKED_CALLS) this.#open.delete(this.#open.keys().next().value);
    const call = { endpoint, request, startMs: Date.now(), stream, defer, pending: null };
    this.#open.set(id, call);
    const payload = {
      id,
      litellm_call_id: id,
      call_type: CALL_TYPES[endpoint] ?? endpoint,
      stream,
      model: request?.model ?? null,
      model_group: request?.model ?? null,
      startTime: seconds(call.startMs),
      metadata: this.#metadata(request),
      end_user: typeof request?.user === "string" ? request.user : null,
      request_tags: this.#tags(request),
      model_parameters: this.#parameters(request),
    };
    if (this.#content) payload.messages = this.#messages(request);
    this.#dispatch("start", payload, call);
    return id;
  }

  /**
   * The call's caller-facing end (a non-stream answer, or a throw before a stream existed):
   * delivers a deferred `success` with `response`, or a `failure` the core did not report.
   */
  end(id, error, response) {
    const call = this.#open.get(id);
    if (call === undefined) return;
    this.#open.delete(id);
    if (call.pending !== null) {
      const { name, payload } = call.pending;
      if (name === "success" && this.#content && response !== undefined)
        payload.response = response;
      this.#deliver(name, payload, call, response, error);
      return;
    }
    if (error !== undefined) {
      const payload = this.#failurePayload(id, call, {
        model_group: call.request?.model ?? null,
        error: error?.name ?? "Error",
        status: error?.status ?? null,
        message: error?.message ?? String(error),
        llm_provider: error?.llm_provider ?? null,
        deployment_id: error?.deployment_id ?? null,
        attempts: error?.attempts ?? 0,
        latency_ms: Date.now() - call.startMs,
        stream: call.stream,
      });
      this.#deliver("failure", payload, call, undefined, error);
    }
  }

  #core(name, e) {
    if (!isObject(e)) return;
    const id = typeof e.call_id === "string" ? e.call_id : null;
    const call = id === null ? undefined : this.#open.get(id);
    if (name === "success" || name === "failure") {
      const payload =
        name === "success" ? this.#successPayload(id, call, e) : this.#failurePayload(id, call, e);
      if (call?.defer) {
        call.pending = { name, payload };
        return;
      }
      if (call !== undefined) this.#open.delete(id);
      this.#deliver(name, payload, call);
      return;
    }
    this.#dispatch(name, { ...e, id }, call);
  }

  #metadata(request) {
    const m = request?.metadata ?? request?.litellm_metadata;
    if (!isObject(m)) return {};
    // LiteLLM's proxy keeps the caller's metadata under `requester_metadata`.
    return { ...m, requester_metadata: m };
  }

  #tags(request) {
    const t = request?.metadata?.tags ?? request?.tags;
    return Array.isArray(t) ? t.filter((x) => typeof x === "string") : [];
  }

  #parameters(request) {
    const out = {};
    if (!isObject(request)) return out;
    for (const [k, v] of Object.entries(request)) if (!NOT_PARAMETERS.has(k)) out[k] = v;
    return out;
  }

  #messages(request) {
    return request?.messages ?? request?.prompt ?? request?.input ?? null;
  }

  /** Fields both payloads share (LiteLLM's StandardLoggingPayload). */
  #common(id, call, e, endMs) {
    const startMs = call?.startMs ?? endMs - (Number(e.latency_ms) || 0);
    const request = call?.request;
    const out = {
      ...e,
      id,
      litellm_call_id: id,
      trace_id: id,
      call_type: CALL_TYPES[call?.endpoint] ?? null,
      stream: call?.stream ?? e.stream ?? null,
      startTime: seconds(startMs),
      endTime: seconds(endMs),
      response_time: seconds(endMs - startMs),
      model_group: e.model_group ?? request?.model ?? null,
      metadata: this.#metadata(request),
      end_user: typeof request?.user === "string" ? request.user : null,
      request_tags: this.#tags(request),
      model_parameters: this.#parameters(request),
    };
    if (this.#content) out.messages = this.#messages(request);
    return out;
  }

  #successPayload(id, call, e) {
    const endMs = Date.now();
    const u = isObject(e.usage) ? e.usage : {};
    const out = this.#common(id, call, e, endMs);
    const ttft = Number(e.time_to_first_token_ms);
    const startMs = out.startTime * 1000;
    Object.assign(out, {
      status: "success",
      model: e.model ?? null,
      model_id: e.model_id ?? null,
      custom_llm_provider: e.custom_llm_provider ?? null,
      completionStartTime:
        e.stream === true && Number.isFinite(ttft) ? seconds(startMs + ttft) : out.endTime,
      prompt_tokens: u.prompt_tokens ?? 0,
      completion_tokens: u.completion_tokens ?? 0,
      total_tokens: u.total_tokens ?? 0,
      cache_read_input_tokens: u.cache_read_input_tokens ?? 0,
      cache_creation_input_tokens: u.cache_creation_input_tokens ?? 0,
      response_cost: e.response_cost ?? 0,
      cache_hit: e.cache_hit === true,
      error_str: null,
      error_information: null,
      hidden_params: {
        model_id: e.model_id ?? null,
        response_cost: e.response_cost ?? null,
        litellm_model_name: e.model ?? null,
        usage_object: isObject(e.usage) ? e.usage : null,
      },
    });
    if (this.#content) out.response = null;
    return out;
  }

  #failurePayload(id, call, e) {
    const endMs = Date.now();
    const out = this.#common(id, call, e, endMs);
    Object.assign(out, {
      status: "failure",
      model: call?.request?.model ?? null,
      model_id: e.deployment_id ?? null,
      custom_llm_provider: e.llm_provider ?? null,
      completionStartTime: out.endTime,
      prompt_tokens: 0,
      completion_tokens: 0,
      total_tokens: 0,
      response_cost: 0,
      cache_hit: false,
      error_str: e.message ?? null,
      error_information: {
        error_class: e.error ?? null,
        error_code: e.status === null || e.status === undefined ? null : String(e.status),
        llm_provider: e.llm_provider ?? null,
        error_message: e.message ?? null,
      },
    });
    if (this.#content) out.response = null;
    return out;
  }

  /** `on[name]` and the listeners. */
  #dispatch(name, payload, call, response, error) {
    const f = this.#on?.[name];
    if (typeof f === "function")
      safely(this.#logger, `on.${name}`, () => f.call(this.#on, payload));
    for (const l of this.#listeners) {
      if (typeof l[name] === "function")
        safely(this.#logger, `${name} listener`, () => l[name](payload, { response, error }));
      if (typeof l.any === "function") safely(this.#logger, "recorder", () => l.any(name, payload));
    }
    if (name === "start" && this.#callbacks) this.#preCall(payload, call);
  }

  /** success / failure: `on`, the listeners, then LiteLLM's callbacks. */
  #deliver(name, payload, call, response, error) {
    this.#dispatch(name, payload, call, response, error);
    if (this.#callbacks) this.#logEvent(name, payload, call, response, error);
  }

  /** The `kwargs` LiteLLM hands its callbacks: the request's fields and the payload. */
  #kwargs(payload, call, error) {
    const request = call?.request;
    const kwargs = {
      model: payload.model_group,
      messages: request?.messages ?? null,
      stream: payload.stream,
      litellm_call_id: payload.id,
      call_type: payload.call_type,
      metadata: payload.metadata,
      litellm_params: { metadata: payload.metadata, model_info: { id: payload.model_id ?? null } },
      response_cost: payload.response_cost ?? null,
      cache_hit: payload.cache_hit ?? null,
      standard_logging_object: payload,
      user: payload.end_user,
      ...payload.model_parameters,
    };
    if (error !== undefined || payload.status === "failure")
      kwargs.exception = error ?? { name: payload.error, message: payload.error_str };
    return kwargs;
  }

  #preCall(payload, call) {
    const kwargs = this.#kwargs(payload, call);
    for (const cb of this.#callbacks.both) {
      if (typeof cb !== "object") continue;
      const f = cb.async_log_pre_api_call ?? cb.log_pre_api_call;
      if (typeof f === "function")
        safely(this.#logger, "log_pre_api_call", () =>
          f.call(cb, payload.model, kwargs.messages, kwargs),
        );
    }
  }

  #logEvent(name, payload, call, response, error) {
    const kwargs = this.#kwargs(payload, call, error);
    const start = new Date(payload.startTime * 1000);
    const end = new Date(payload.endTime * 1000);
    const result = name === "success" ? (response ?? null) : null;
    const fns = name === "success" ? this.#callbacks.success : this.#callbacks.failure;
    for (const f of fns)
      safely(this.#logger, `${name}_callback`, () => f(kwargs, result, start, end));
    const method = name === "success" ? "log_success_event" : "log_failure_event";
    for (const cb of this.#callbacks.both) {
      if (typeof cb === "function") {
        safely(this.#logger, "callbacks", () => cb(kwargs, result, start, end));
        continue;
      }
      const f = cb[`async_${method}`] ?? cb[method];
      if (typeof f === "function")
        safely(this.#logger, method, () => f.call(cb, kwargs, result, start, end));
    }
  }
}

/** The observers the options ask for, or null when nothing listens (no events are emitted). */
export function observersOf(options, recorder) {
  const callbacks = parseCallbacks(options);
  if (options.on === undefined && callbacks === null && !recorder) return null;
  return new Observers({
    on: options.on,
    callbacks,
    recorder,
    logger: options.logger ?? globalThis.console,
    turnOffMessageLogging: options.turn_off_message_logging === true,
  });
}

/** Router options this file reads (JS values, not passed to the core). */
export const LOGGING_OPTIONS = [...CALLBACK_OPTIONS, "turn_off_message_logging"];

export { ON_EVENTS };
