// The Router class: options in, OpenAI-format responses out. The wasm core does the work;
// this file only converts at the boundary and attaches `_hidden_params`.

import { ConfigError, BadRequestError, toError } from "./errors.js";
import { LlmuxStream, defineChunkBuilder } from "./stream.js";
import { MODEL_GROUP_OF, LISTED_MODELS, REMAINING_USAGE, parseGateway } from "./gateway-config.js";
import { batchAliases, installBatch } from "./batch.js";
import {
  CALL_ID,
  FILES_CALL,
  FORM_CALL,
  NATIVE_CALL,
  REALTIME_CALL,
  adapterAliases,
  installAdapters,
} from "./adapters.js";
import {
  MAX_TIMER_MS,
  abortReason,
  describeFetchError,
  headerPairs,
  sleep,
  tooLarge,
  uploadBytes,
  attachHidden,
  withHiddenParams,
} from "./wire.js";
import { openHostStream } from "./host-stream.js";
import { LOGGING_OPTIONS, OBSERVE, Observers, observersOf } from "./logging.js";

/** js/gateway.js, imported on the first `router.fetch`. */
let gatewayModule;

const ENV_PREFIX = "os.environ/";
/** What `#chooseFor`'s timer resolves with. */
const TIMED_OUT = Symbol("timed out");

/** Host-provided options that are JS values, not JSON. */
const JS_OPTIONS = [
  "fetch",
  "logger",
  "env",
  "tokenizer",
  "on",
  "gateway",
  "WebSocket",
  ...LOGGING_OPTIONS,
];

/** LiteLLM's Redis options: the JS entry turns them into a `state` store. */
const REDIS_OPTIONS = [
  "redis_url",
  "redis_host",
  "redis_port",
  "redis_username",
  "redis_password",
  "redis_db",
  "redis_ssl",
];

function hostEnv(name) {
  const proc = globalThis.process;
  if (proc?.env && typeof proc.env[name] === "string") return proc.env[name];
  try {
    const value = globalThis.Deno?.env?.get(name);
    if (typeof value === "string") return value;
  } catch {
    // Deno without --allow-env: only the `env` option is consulted.
  }
  return undefined;
}

/**
 * The variables providers read for credentials and endpoints a deployment leaves unset
 * (`RouterCore.credentialVariables()`: OPENAI_API_KEY, AWS_REGION_NAME, …), from `env` then
 * the host; only those set are handed to the core.
 */
function credentialEnv(names, env, out) {
  for (const name of names) {
    const found = env?.[name] ?? hostEnv(name);
    if (typeof found === "string") out[name] = found;
  }
  return out;
}

/** The variables the options reference as "os.environ/NAME", from `env` then the host. */
function referencedEnv(value, env, out = {}) {
  if (typeof value === "string") {
    if (value.startsWith(ENV_PREFIX)) {
      const name = value.slice(ENV_PREFIX.length);
      const found = env?.[name] ?? hostEnv(name);
      if (typeof found === "string") out[name] = found;
    }
  } else if (Array.isArray(value)) {
    for (const item of value) referencedEnv(item, env, out);
  } else if (value && typeof value === "object") {
    for (const item of Object.values(value)) referencedEnv(item, env, out);
  }
  return out;
}

function optionsJson(options) {
  const rest = {};
  for (const [key, value] of Object.entries(options)) {
    if (JS_OPTIONS.includes(key) || REDIS_OPTIONS.includes(key) || value === undefined) continue;
    // JSON would drop a function silently (LiteLLM's fallback_access_check and friends): it
    // crosses as a marker the core refuses by the option's name.
    if (typeof value === "function") {
      rest[key] = "<function>";
      continue;
    }
    // Callback objects (cache, state) cross as a flag; the core decides if it supports them.
    rest[key] = (key === "cache" || key === "state") && value !== null ? true : value;
  }
  try {
    return JSON.stringify(rest);
  } catch (e) {
    throw new ConfigError(`options: not serialisable to JSON (${e.message})`, { field: "options" });
  }
}

function requestJson(request) {
  if (request === null || typeof request !== "object" || Array.isArray(request)) {
    throw new BadRequestError("the request must be an object like { model, messages }", {
      status: 400,
    });
  }
  try {
    return JSON.stringify(request);
  } catch (e) {
    throw new BadRequestError(`the request is not serialisable to JSON (${e.message})`, {
      status: 400,
    });
  }
}

/** Audio formats by their first bytes, for uploads that carry no name or type. */
const AUDIO_SIGNATURES = [
  ["RIFF", "wav", "audio/wav"],
  ["fLaC", "flac", "audio/flac"],
  ["OggS", "ogg", "audio/ogg"],
  ["ID3", "mp3", "audio/mpeg"],
  ["\x1aE\xdf\xa3", "webm", "audio/webm"],
];

function sniffAudio(bytes) {
  const head = String.fromCharCode(...bytes.subarray(0, 12));
  for (const [magic, ext, type] of AUDIO_SIGNATURES) {
    if (head.startsWith(magic)) return [ext, type];
  }
  if (head.slice(4, 8) === "ftyp") return ["m4a", "audio/mp4"];
  if (bytes[0] === 0xff && (bytes[1] & 0xe0) === 0xe0) return ["mp3", "audio/mpeg"];
  return ["bin", "application/octet-stream"];
}

/** The bytes, file name and content type of a `Blob | File | ArrayBuffer | Uint8Array`. */
async function uploadOf(file, filename) {
  const { bytes, name, type } = await uploadBytes(file, filename, "transcription");
  const [ext, sniffed] = sniffAudio(bytes);
  return { bytes, name: name ?? `audio.${ext}`, type: type ?? sniffed };
}

/** Endpoints the host loop drives (`passthrough` in src/router/hostloop.rs). */
const HOST_ENDPOINTS = new Set(["chat", "text", "embedding"]);

/**
 * Whether `request` is a plain OpenAI request the host loop can serve: an object with a
 * group name and none of `routerKeys` (the core's list of router kwargs and refused fields).
 */
function plainRequest(request, routerKeys) {
  if (request === null || typeof request !== "object" || Array.isArray(request)) return false;
  if (typeof request.model !== "string" || request.model === "") return false;
  for (const key in request) if (routerKeys.has(key)) return false;
  return true;
}

/** Wires kept per router before the cache starts over (bounds memory under churn). */
const MAX_WIRES = 4096;

/**
 * Attempt timeouts, shared: attempts that start within one slice of time and have the same
 * timeout share one AbortController and one timer, which fires `timeout + slice` after the
 * slice opened. Each attempt is thus aborted between `timeout` and `timeout + slice` after
 * it started; a slice is 5 % of the timeout, at most 1 s. An AbortSignal per attempt is
 * the single largest cost of a call in Node, so it is paid once per slice instead.
 */
class Deadlines {
  #open = new Map();
  /** workerd forbids using one request's I/O objects in another: each attempt has its own. */
  #shared = globalThis.navigator?.userAgent !== "Cloudflare-Workers";

  /** A deadline for an attempt starting now; `release` it when the attempt is over. */
  acquire(timeoutMs) {
    const now = Date.now();
    let d = this.#shared ? this.#open.get(timeoutMs) : undefined;
    if (d === undefined || now >= d.closesAt || d.signal.aborted) {
      const slice = this.#shared ? Math.max(1, Math.min(1000, Math.floor(timeoutMs / 20))) : 0;
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), Math.min(timeoutMs + slice, MAX_TIMER_MS));
      // A pending deadline alone must not keep a process alive.
      if (typeof timer === "object") timer.unref?.();
      else globalThis.Deno?.unrefTimer?.(timer);
      d = { timeoutMs, signal: controller.signal, closesAt: now + slice, pending: 0, timer };
      if (this.#shared) this.#open.set(timeoutMs, d);
    }
    d.pending++;
    return d;
  }

  release(d) {
    if (--d.pending > 0 || (this.#shared && Date.now() < d.closesAt)) return;
    clearTimeout(d.timer);
    if (this.#open.get(d.timeoutMs) === d) this.#open.delete(d.timeoutMs);
  }
}

/**
 * The caller's `AbortSignal` (the second argument of a request method: `{ signal }`), checked.
 * @returns {AbortSignal | undefined}
 */
function callerSignal(options) {
  const signal = options?.signal;
  if (signal === undefined || signal === null) return undefined;
  if (typeof signal.aborted !== "boolean" || typeof signal.addEventListener !== "function")
    throw new TypeError("options.signal must be an AbortSignal");
  return signal;
}

/**
 * `promise` resolves when `signal` aborts (the core then drops the call and its fetch), or
 * undefined without a signal. `release()` once the core's call has settled: it detaches the
 * listener and settles the promise, so the core's side of it is freed too.
 */
function cancellation(signal) {
  if (signal === undefined) return { promise: undefined, release() {} };
  let resolve;
  const promise = new Promise((r) => {
    resolve = r;
  });
  const onAbort = () => resolve();
  if (signal.aborted) resolve();
  else signal.addEventListener("abort", onAbort, { once: true });
  return {
    promise,
    release() {
      signal.removeEventListener("abort", onAbort);
      resolve();
    },
  };
}

/** `run(cancelPromise)` with a cancellation of `signal`, released when it settles. */
async function cancellable(signal, run) {
  const c = cancellation(signal);
  try {
    return await run(c.promise);
  } finally {
    c.release();
  }
}

/** The attempt's deadline signal, joined with the caller's when there is one. */
function attemptSignal(deadline, signal) {
  if (signal === undefined) return deadline;
  if (typeof AbortSignal.any === "function") return AbortSignal.any([deadline, signal]);
  const controller = new AbortController();
  const abort = () => controller.abort();
  if (deadline.aborted || signal.aborted) abort();
  deadline.addEventListener("abort", abort, { once: true });
  signal.addEventListener("abort", abort, { once: true });
  return controller.signal;
}

/**
 * An answer's `_hidden_params`: the deployment's identity (kept with its wire) and the numbers
 * `core.answered` returns (`[cost or NaN, attempts, retries, latency_ms, fell back]`), in the
 * core's field order.
 */
function answeredHidden(identity, n, core) {
  return {
    model_id: identity.model_id,
    model_group: identity.model_group,
    custom_llm_provider: identity.custom_llm_provider,
    api_base: identity.api_base,
    response_cost: Number.isNaN(n[0]) ? null : n[0],
    cache_hit: false,
    attempts: n[1],
    retries: n[2],
    fallback_model_group: n[4] === 1 ? (core.answeredFallback() ?? null) : null,
    latency_ms: n[3],
  };
}

/** The parsed body of a 2xx OpenAI reply when it is an answer, else undefined. */
function openAiAnswer(text, endpoint) {
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (json === null || typeof json !== "object") return undefined;
  return Array.isArray(endpoint === "embedding" ? json.data : json.choices) ? json : undefined;
}

/** `request` with the call's id as `litellm_call_id` (the core's events carry it). */
function withCallId(request, callId) {
  if (callId === undefined || request === null || typeof request !== "object") return request;
  if (request.litellm_call_id === callId) return request;
  return { ...request, litellm_call_id: callId };
}

const METRIC_COLUMNS = [
  ["deployment", (id) => id],
  ["group", (id, d) => d.model_group],
  ["requests", (id, d) => d.requests],
  ["ok", (id, d) => d.successes],
  ["failed", (id, d) => d.failures],
  ["in flight", (id, d) => d.in_flight],
  ["p50 ms", (id, d) => d.latency_ms?.p50 ?? "-"],
  ["p95 ms", (id, d) => d.latency_ms?.p95 ?? "-"],
  ["p99 ms", (id, d) => d.latency_ms?.p99 ?? "-"],
  ["tokens in/out", (id, d) => `${d.prompt_tokens}/${d.completion_tokens}`],
  ["cost $", (id, d) => Number(d.cost.toPrecision(6))],
  [
    "cooldown",
    (id, d) =>
      d.cooldown_until_ms === null
        ? "-"
        : `${Math.max(0, (d.cooldown_until_ms - Date.now()) / 1000).toFixed(1)} s`,
  ],
];

/** An aligned plain-text table of per-deployment metrics (numbers right-aligned). */
function formatMetrics(report) {
  const rows = Object.entries(report.deployments).map(([id, d]) =>
    METRIC_COLUMNS.map(([, cell]) => String(cell(id, d))),
  );
  const header = METRIC_COLUMNS.map(([name]) => name);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(header), ...rows.map(line)].join("\n");
}

/**
 * The store LiteLLM's `redis_*` options describe, made by the entry's `redis` factory, or
 * null when none is set. `"os.environ/NAME"` values are resolved like the rest.
 */
function redisCacheOf(options, store) {
  const type = options.cache_kwargs?.type;
  const redis = REDIS_OPTIONS.some((k) => options[k] !== undefined && options[k] !== null);
  if (type === "redis" && !redis) {
    throw new ConfigError(
      'cache_kwargs.type: "redis" needs redis_url, or redis_host and redis_port (redis_password, redis_db)',
      { field: "cache_kwargs.type" },
    );
  }
  // As LiteLLM: with Redis configured, cache_responses caches in Redis unless type is "local".
  if (!options.cache_responses || !redis || type === "local") return null;
  return store;
}

function redisFromOptions(options, makeRedis) {
  const resolved = {};
  for (const key of REDIS_OPTIONS) {
    let value = options[key];
    if (value === undefined || value === null || value === "") continue;
    if (typeof value === "string" && value.startsWith(ENV_PREFIX)) {
      const name = value.slice(ENV_PREFIX.length);
      value = options.env?.[name] ?? hostEnv(name);
      if (typeof value !== "string") {
        throw new ConfigError(`${key}: environment variable ${name} is not set`, { field: key });
      }
    }
    resolved[key] = value;
  }
  // redis_ssl alone configures nothing (as redis_ssl: false next to `state`).
  if (Object.keys(resolved).every((k) => k === "redis_ssl")) return null;
  const ssl = resolved.redis_ssl;
  if (ssl !== undefined && typeof ssl !== "boolean" && ssl !== "true" && ssl !== "false") {
    throw new ConfigError("redis_ssl: must be true or false", { field: "redis_ssl" });
  }
  if (!makeRedis) {
    throw new ConfigError("redis_url: Redis is not available in this runtime", {
      field: "redis_url",
    });
  }
  try {
    return makeRedis({
      url: resolved.redis_url,
      host: resolved.redis_host,
      port: resolved.redis_port,
      username: resolved.redis_username,
      password: resolved.redis_password,
      db: resolved.redis_db,
      tls: ssl === true || ssl === "true",
    });
  } catch (e) {
    const field = resolved.redis_url !== undefined ? "redis_url" : "redis_host";
    throw new ConfigError(`${field}: ${e.message}`, { field });
  }
}

/**
 * Builds the Router class over an initialised wasm module's `RouterCore`. `hostStores.redis`
 * makes a StateStore from `{ url, host, port, password, db }` (the entry's Redis support).
 */
export function defineRouter(RouterCore, hostStores = {}) {
  const routerKeys = new Set(RouterCore.routerKeys());
  /** Router kwargs but the two a stream on the wire path reads itself (`plainRequest`). */
  const streamKeys = new Set(
    [...routerKeys].filter((k) => k !== "stream" && k !== "stream_options"),
  );
  const credentialVariables = RouterCore.credentialVariables();
  class Router {
    #core;

    constructor(options = {}) {
      if (options === null || typeof options !== "object" || Array.isArray(options)) {
        throw new ConfigError("options: Router options must be an object", { field: "options" });
      }
      if (options.fetch !== undefined && typeof options.fetch !== "function") {
        throw new ConfigError("fetch: must be a function like globalThis.fetch", {
          field: "fetch",
        });
      }
      if (
        options.logger !== undefined &&
        (options.logger === null || typeof options.logger !== "object")
      ) {
        throw new ConfigError("logger: must be an object with debug/info/warn/error methods", {
          field: "logger",
        });
      }
      if (options.tokenizer !== undefined && typeof options.tokenizer !== "function") {
        throw new ConfigError(
          "tokenizer: must be a function (request, model) => number of input tokens",
          {
            field: "tokenizer",
          },
        );
      }
      if (options.on !== undefined && (options.on === null || typeof options.on !== "object")) {
        throw new ConfigError(
          "on: must be an object of callbacks { start, attempt, success, failure, retry, fallback, cooldown }",
          { field: "on" },
        );
      }
      if (options.cache !== undefined && options.cache !== null) {
        const c = options.cache;
        if (
          typeof c !== "object" ||
          typeof c.get !== "function" ||
          typeof c.set !== "function" ||
          (c.delete !== undefined && typeof c.delete !== "function")
        ) {
          throw new ConfigError(
            "cache: must be an object { get(key), set(key, value, { ttl }), delete?(key) } (e.g. workersKvCache(env.KV))",
            { field: "cache" },
          );
        }
      }
      if (options.WebSocket !== undefined && typeof options.WebSocket !== "function") {
        throw new ConfigError(
          'WebSocket: must be a WebSocket constructor that accepts (url, { headers }), e.g. (await import("ws")).default',
          { field: "WebSocket" },
        );
      }
      this.#webSocket = options.WebSocket;
      if (options.env !== undefined && (options.env === null || typeof options.env !== "object")) {
        throw new ConfigError("env: must be an object of variable names to strings", {
          field: "env",
        });
      }
      const gateway = this.#gatewayOf(options);
      const observers = observersOf(options, gateway.ui?.recorder);
      const redis = REDIS_OPTIONS.find((k) => options[k] !== undefined && options[k] !== null);
      if (options.state != null && redis) {
        throw new ConfigError(`${redis}: set either \`state\` or the redis_* options, not both`, {
          field: redis,
        });
      }
      const store = options.state ?? redisFromOptions(options, hostStores.redis);
      // LiteLLM's redis_* options back the response cache too (cache_kwargs.type "redis").
      const cacheStore = options.cache ?? redisCacheOf(options, store);
      const cacheKwargs =
        cacheStore && options.cache === undefined && options.cache_kwargs
          ? { ...options.cache_kwargs, type: undefined }
          : options.cache_kwargs;
      const json = optionsJson({
        ...options,
        state: store ?? undefined,
        cache: cacheStore ?? undefined,
        cache_kwargs: cacheKwargs,
      });
      // The store is a JS object (a KV binding, a client): not walked for env references.
      const env = JSON.stringify(
        credentialEnv(
          credentialVariables,
          options.env,
          referencedEnv({ ...options, state: undefined, gateway: undefined }, options.env),
        ),
      );
      try {
        this.#core = new RouterCore(
          json,
          env,
          options.fetch,
          options.logger,
          options.tokenizer,
          cacheStore ?? undefined,
        );
        if (store) this.#core.setState(store);
        this.#warming = Boolean(store);
      } catch (e) {
        throw toError(e);
      }
      // Called with the global object as `this`, as workerd's fetch requires.
      const fetchFn = options.fetch ?? globalThis.fetch;
      this.#fetch =
        typeof fetchFn === "function" ? (url, init) => fetchFn.call(globalThis, url, init) : null;
      this.#maxBytes = this.#core.maxResponseBytes();
      this.#syncCache = this.#core.syncCache();
      this.#tableChanged();
      this.#logger = options.logger ?? globalThis.console;
      // The dashboard (gateway.ui), `on` and the logging callbacks share one event sink.
      this.#obs = observers;
      const aliases = options.model_group_alias;
      if (aliases && typeof aliases === "object") this.#aliases = aliases;
      if (observers) this.#core.setEvents(observers.sink);
      this.#gateway = gateway;
      this.#startHealthProbe();
      // Bound here, so `Deno.serve(router.fetch)` and `app.mount("/v1", router.fetch)` work.
      Object.defineProperty(this, "fetch", {
        value: Router.prototype.fetch.bind(this),
        writable: true,
        configurable: true,
      });
    }

    /** The background health probe's timer (`background_health_check_model_groups`). */
    #healthTimer = null;
    #healthGroups = [];
    #healthRunning = false;

    /**
     * Starts the periodic probe in hosts with a background timer (Node, Deno, browsers);
     * unref'd so it never keeps a process alive. Workers have none outside a request:
     * they call `runBackgroundHealthChecks()` from `scheduled()` or an alarm (README).
     */
    #startHealthProbe() {
      const plan = this.#core.backgroundHealthCheck();
      if (plan === undefined) return;
      const { groups, interval_ms } = JSON.parse(plan);
      this.#healthGroups = groups;
      const workerd = globalThis.navigator?.userAgent === "Cloudflare-Workers";
      if (workerd || typeof globalThis.setInterval !== "function") return;
      let timer;
      try {
        timer = globalThis.setInterval(() => {
          if (this.#healthRunning) return;
          this.runBackgroundHealthChecks().catch((e) =>
            this.#logger?.warn?.(`llmux: background health check failed: ${e?.message ?? e}`),
          );
        }, interval_ms);
      } catch {
        return; // a host that refuses timers here (a global scope): runBackgroundHealthChecks()
      }
      if (typeof timer?.unref === "function") timer.unref();
      else if (typeof globalThis.Deno?.unrefTimer === "function") globalThis.Deno.unrefTimer(timer);
      this.#healthTimer = timer;
    }

    /** Probes each group of `background_health_check_model_groups` once, one after another. */
    async runBackgroundHealthChecks() {
      this.#healthRunning = true;
      try {
        const results = [];
        for (const group of this.#healthGroups) results.push(await this.healthCheck(group));
        return results;
      } finally {
        this.#healthRunning = false;
      }
    }

    /** Stops the background health probe; the router keeps serving requests. */
    close() {
      if (this.#healthTimer !== null) globalThis.clearInterval(this.#healthTimer);
      this.#healthTimer = null;
    }

    #logger;
    #gateway;
    /** The event observers (js/logging.js), or null when nothing listens. */
    #obs = null;

    /** For llmux/otel: adds an event listener; returns its remover. */
    [OBSERVE](listener) {
      if (this.#obs === null) {
        this.#obs = new Observers({ logger: this.#logger });
        this.#core.setEvents(this.#obs.sink);
      }
      return this.#obs.add(listener);
    }

    /**
     * Resolves to the usage counters in Prometheus' text format 0.0.4 (README, "Prometheus
     * metrics"); the formatter loads on first use (as prom-client's `register.metrics()`).
     */
    async metrics() {
      const { prometheusText } = await import("./metrics.js");
      const names = JSON.parse(this.#core.modelNamesJson());
      return prometheusText({
        usage: JSON.parse(this.#core.usageJson()),
        status: this.getDeploymentStatus(),
        deployments: this.getDeployments(),
        groups: [...names, ...Object.keys(this.#aliases)],
      });
    }

    #aliases = {};
    /** The fetch the host loop sends with (the `fetch` option, else the global one). */
    #fetch;
    /** A store is attached and its first snapshot has not settled yet (`#warm`). */
    #warming = false;
    /** Whether calls go through the host loop (`#drive`); see RouterCore.hostLoop. */
    #hostLoop = false;
    /** Whether streams go through the host loop (js/host-stream.js); RouterCore.hostStream. */
    #hostStream = false;
    /** Whether cache hits are served synchronously (RouterCore.syncCache). */
    #syncCache = false;
    /** Wire descriptions by wire id: url, headers (with credentials), upstream model. */
    #wires = new Map();
    #deadlines = new Deadlines();
    /** The custom routing strategy, normalised: `(model, request, candidates) => Promise<id | null>`. */
    #choose = null;
    /** `max_response_bytes`: larger replies are refused before they are read. */
    #maxBytes = Infinity;

    /** The deployment table changed: wires are re-read, the host loop re-decided. */
    #tableChanged() {
      this.#wires.clear();
      this.#hostLoop = this.#fetch !== null && this.#core.hostLoop();
      this.#hostStream = this.#hostLoop && this.#core.hostStream();
    }

    /** The wire `id` (`stream`: named by a stream's `streamNext`, else by `next`). */
    #wire(id, handle, stream = false) {
      let wire = this.#wires.get(id);
      if (wire === undefined) {
        const raw = JSON.parse(stream ? this.#core.streamWire(handle) : this.#core.wire(handle));
        wire = {
          url: raw.url,
          headers: Object.fromEntries(raw.headers),
          model: raw.model,
          defaults: raw.defaults,
          timeout_ms: Math.min(raw.timeout_ms, MAX_TIMER_MS),
          identity: raw.identity,
          stream_timeout_ms: Math.min(raw.stream_timeout_ms, MAX_TIMER_MS),
        };
        if (this.#wires.size >= MAX_WIRES) this.#wires.clear();
        this.#wires.set(id, wire);
      }
      return wire;
    }

    /**
     * The host loop (README, "Architecture"): the core decides every step synchronously;
     * this loop sends with fetch, owns the timer and the abort signal, and reports back.
     */
    async #drive(endpoint, request, signal, callId) {
      const core = this.#core;
      const handle = core.begin(endpoint, request.model, callId);
      try {
        for (;;) {
          // A caller that went away ends the call: no further attempt, nothing booked.
          if (signal?.aborted) throw abortReason(signal);
          const step = core.next(handle);
          if (step === 0.5) {
            // The custom routing strategy chooses; the core then picks by its answer.
            await this.#chooseFor(handle, request);
          } else if (step > 0) {
            const wire = this.#wire(step, handle);
            const body = JSON.stringify(
              wire.defaults === null
                ? { ...request, model: wire.model }
                : { ...wire.defaults, ...request, model: wire.model },
            );
            const deadline = this.#deadlines.acquire(wire.timeout_ms);
            let res;
            let text;
            try {
              res = await this.#fetch(wire.url, {
                method: "POST",
                headers: wire.headers,
                body,
                // Credentials never follow a redirect: a 3xx is an answer like any other.
                redirect: "manual",
                signal: attemptSignal(deadline.signal, signal),
              });
              const declared = res.headers.get("content-length");
              if (declared !== null && Number(declared) > this.#maxBytes) {
                res.body?.cancel().catch(() => {});
                core.unreachable(handle, false, tooLarge(this.#maxBytes));
                continue;
              }
              text = await res.text();
              if (text.length > this.#maxBytes) {
                core.unreachable(handle, false, tooLarge(this.#maxBytes));
                continue;
              }
            } catch (e) {
              if (signal?.aborted) throw abortReason(signal);
              core.unreachable(handle, deadline.signal.aborted, describeFetchError(e));
              continue;
            } finally {
              this.#deadlines.release(deadline);
            }
            const status = res.status;
            if (status >= 200 && status < 300) {
              const json = openAiAnswer(text, endpoint);
              if (json !== undefined) {
                if (!json.created && json.choices) json.created = Math.floor(Date.now() / 1000);
                const u = json.usage;
                const numbers =
                  u !== null && typeof u === "object"
                    ? core.answered(
                        handle,
                        true,
                        Number(u.prompt_tokens) || 0,
                        Number(u.completion_tokens) || 0,
                        Number(u.prompt_tokens_details?.cached_tokens) || 0,
                        Number(
                          u.cache_creation_input_tokens ??
                            u.prompt_tokens_details?.cache_creation_tokens,
                        ) || 0,
                      )
                    : core.answered(handle, false, 0, 0, 0, 0);
                return attachHidden(json, answeredHidden(wire.identity, numbers, core));
              }
            }
            const envelope = core.replied(handle, status, text, headerPairs(res.headers, status));
            if (envelope !== undefined) return withHiddenParams(envelope);
          } else if (step === 0) {
            let envelope;
            try {
              envelope = await cancellable(signal, (cancel) =>
                core.exchange(handle, requestJson(request), cancel),
              );
            } catch (e) {
              if (signal?.aborted) throw abortReason(signal);
              throw e;
            }
            if (envelope !== undefined) return withHiddenParams(envelope);
          } else if (step === -1) {
            throw toError(core.fail(handle));
          } else {
            await sleep(-step - 2);
          }
        }
      } finally {
        core.release(handle);
      }
    }

    /**
     * The host loop's custom-strategy step: the strategy is asked with the core's candidates,
     * bounded by the call's timeout, and its answer (or throw) reported back to the core.
     */
    async #chooseFor(handle, request) {
      const core = this.#core;
      const { model, candidates, timeout_ms } = JSON.parse(core.choosing(handle));
      let timer;
      const expired = new Promise((resolve) => {
        timer = setTimeout(() => resolve(TIMED_OUT), Math.min(timeout_ms, MAX_TIMER_MS));
      });
      try {
        const chosen = await Promise.race([
          this.#choose(model, { ...request }, candidates),
          expired,
        ]);
        if (chosen === TIMED_OUT) core.chose(handle, undefined, undefined, true);
        else core.chose(handle, chosen ?? undefined, undefined, false);
      } catch (e) {
        const message = String(e?.message ?? e) || "it threw";
        core.chose(handle, undefined, message, false);
      } finally {
        clearTimeout(timer);
      }
    }

    /** The `gateway` option, validated once (ConfigError at `gateway.*`). */
    #gatewayOf(options) {
      return parseGateway(options.gateway, {
        lookup: (name) => options.env?.[name] ?? hostEnv(name),
        logger: options.logger ?? globalThis.console,
        aliases: options.model_group_alias,
        limits: options,
      });
    }

    /**
     * An OpenAI-compatible HTTP handler (README, "Gateway"): `export default { fetch: (r, e, c)
     * => router.fetch(r, e, c) }` is a whole Worker. Refuses every request (401) without keys.
     */
    fetch(request, env, ctx) {
      // The handler loads on the first request (a Router that never serves HTTP skips it).
      gatewayModule ??= import("./gateway.js");
      return gatewayModule.then((g) => g.handleFetch(this, this.#gateway, request, env, ctx));
    }

    #sync(fn) {
      try {
        return fn();
      } catch (e) {
        throw toError(e);
      }
    }

    /**
     * Before the first routing decision: the first shared-state snapshot, awaited at most
     * `state_first_sync_timeout_ms` (README, "Shared state"). Free once it has settled.
     */
    async #warm() {
      if (this.#core.firstSyncPending()) await this.#core.firstSync();
      this.#warming = false;
    }

    /**
     * `run(callId)` observed as one call (js/logging.js); plain `run(callId)` when nothing
     * listens. The id: the request's own `litellm_call_id`, else `options[CALL_ID]` (the
     * gateway's), else one the observers or the core make.
     */
    #observed(endpoint, request, stream, run, options) {
      const obs = this.#obs;
      const own = request?.litellm_call_id;
      const given = typeof own === "string" && own !== "" ? undefined : options?.[CALL_ID];
      return obs === null ? run(given) : this.#track(obs, endpoint, request, stream, run, given);
    }

    async #track(obs, endpoint, request, stream, run, given) {
      const id = obs.begin(endpoint, request, stream, !stream, given);
      let result;
      try {
        result = await run(id);
      } catch (e) {
        obs.end(id, e);
        throw e;
      }
      if (!stream) obs.end(id, undefined, result);
      return result;
    }

    #call(endpoint, request, options) {
      let json;
      if (
        this.#syncCache &&
        this.#obs === null &&
        !this.#warming &&
        (endpoint === "chat" || endpoint === "text")
      ) {
        // An in-memory hit of a call with no observer is answered here, without the async
        // call path (README, "Architecture"); a miss hands its JSON on to it.
        let hit;
        try {
          const signal = callerSignal(options);
          if (signal?.aborted) return Promise.reject(abortReason(signal));
          json = requestJson(request);
          hit = this.#core.cachedAnswer(endpoint, json);
        } catch (e) {
          return Promise.reject(toError(e));
        }
        if (hit !== undefined) return Promise.resolve(withHiddenParams(hit));
      }
      return this.#observed(
        endpoint,
        request,
        false,
        (id) => this.#callOnce(endpoint, request, options, id, json),
        options,
      );
    }

    /** `tried`: the request's JSON when `#call` already asked the in-memory cache (a miss). */
    async #callOnce(endpoint, request, options, callId, tried) {
      const signal = callerSignal(options);
      if (signal?.aborted) throw abortReason(signal);
      if (this.#warming) await this.#warm();
      if (this.#hostLoop && HOST_ENDPOINTS.has(endpoint) && plainRequest(request, routerKeys)) {
        return this.#drive(endpoint, request, signal, callId);
      }
      // `tried`: the JSON `#call` already asked the cache with (a miss); it lacks a given id.
      const json =
        tried !== undefined && callId === undefined
          ? tried
          : requestJson(withCallId(request, callId));
      if (tried === undefined && this.#syncCache && (endpoint === "chat" || endpoint === "text")) {
        // An in-memory hit is served synchronously (README, "Architecture"); anything else
        // (a miss, an identical request in flight) takes the core's path below.
        let hit;
        try {
          hit = this.#core.cachedAnswer(endpoint, json);
        } catch (e) {
          throw toError(e);
        }
        if (hit !== undefined) return withHiddenParams(hit);
      }
      let text;
      try {
        text = await cancellable(signal, (cancel) =>
          this.#core.call(endpoint, json, undefined, undefined, undefined, cancel),
        );
      } catch (e) {
        if (signal?.aborted) throw abortReason(signal);
        throw toError(e);
      }
      return withHiddenParams(text);
    }

    #stream(endpoint, request, options) {
      return this.#observed(
        endpoint,
        request,
        true,
        (id) => this.#streamOnce(endpoint, request, options, id),
        options,
      );
    }

    async #streamOnce(endpoint, request, options, callId) {
      const signal = callerSignal(options);
      if (signal?.aborted) throw abortReason(signal);
      if (this.#warming) await this.#warm();
      if (this.#hostStream) {
        // The wire path (README, "Architecture"): a request with no router kwargs but
        // `stream` / `stream_options` is sent by the host, built from the caller's object.
        const wire = plainRequest(request, streamKeys)
          ? { request, callId, of: (id, handle) => this.#wire(id, handle, true) }
          : null;
        const json = requestJson(wire === null ? withCallId(request, callId) : request);
        const source = await openHostStream(this.#core, this.#fetch, endpoint, json, signal, wire);
        const stream = new LlmuxStream(source);
        signal?.addEventListener("abort", () => stream.abort(), { once: true });
        return stream;
      }
      const json = requestJson(withCallId(request, callId));
      let core;
      try {
        core = await cancellable(signal, (cancel) => this.#core.stream(endpoint, json, cancel));
      } catch (e) {
        if (signal?.aborted) throw abortReason(signal);
        throw toError(e);
      }
      const stream = new LlmuxStream(core);
      // After the first chunk the signal still ends the stream (and its upstream fetch).
      signal?.addEventListener("abort", () => stream.abort(), { once: true });
      return stream;
    }

    /**
     * Chat completion (`/chat/completions`); with `stream: true`, an `LlmuxStream` of chunks.
     * `options.signal` (an AbortSignal) cancels the call and its upstream request, as for
     * every request method.
     */
    completion(request, options) {
      return request?.stream === true
        ? this.#stream("chat", request, options)
        : this.#call("chat", request, options);
    }

    /** Legacy text completion (`/completions`); `stream: true` streams `text_completion` chunks. */
    textCompletion(request, options) {
      return request?.stream === true
        ? this.#stream("text", request, options)
        : this.#call("text", request, options);
    }

    /** Embeddings (`/embeddings`). */
    embedding(request, options) {
      return this.#call("embedding", request, options);
    }

    /**
     * Rerank (Cohere's `/rerank`): `{ model, query, documents, top_n?, return_documents? }` →
     * `{ id, results: [{ index, relevance_score, document? }], meta }`.
     */
    rerank(request, options) {
      return this.#call("rerank", request, options);
    }

    /** A request of core endpoint `endpoint` sent as is (the adapters' native paths). */
    [NATIVE_CALL](endpoint, request, options) {
      return request?.stream === true
        ? this.#stream(endpoint, request, options)
        : this.#call(endpoint, request, options);
    }

    /**
     * One files or batches operation in the core (js/files.js validates and shapes): resolves
     * to `{ hidden, body }` as JSON text, or `{ hidden, contentType, bytes }` for file content.
     */
    async [FILES_CALL](op, request, upload, options) {
      const signal = callerSignal(options);
      if (signal?.aborted) throw abortReason(signal);
      const json = requestJson(request);
      try {
        return await cancellable(signal, (cancel) =>
          this.#core.call(op, json, upload?.bytes, upload?.name, upload?.type, cancel),
        );
      } catch (e) {
        if (signal?.aborted) throw abortReason(signal);
        throw toError(e);
      }
    }

    /**
     * One call whose files stay in JS (js/images.js validates and shapes): `blobs` (images,
     * then the mask) and `names` go to the core's transport as a `FormData`, never into wasm.
     */
    [FORM_CALL](endpoint, request, blobs, names, images, options) {
      return this.#observed(
        endpoint,
        request,
        false,
        async (callId) => {
          const signal = callerSignal(options);
          if (signal?.aborted) throw abortReason(signal);
          const json = requestJson(withCallId(request, callId));
          try {
            return withHiddenParams(
              await cancellable(signal, (cancel) =>
                this.#core.call(
                  endpoint,
                  json,
                  undefined,
                  undefined,
                  undefined,
                  cancel,
                  blobs,
                  names,
                  images,
                ),
              ),
            );
          } catch (e) {
            if (signal?.aborted) throw abortReason(signal);
            throw toError(e);
          }
        },
        options,
      );
    }

    /** The `WebSocket` option: a constructor taking `(url, { headers })` (realtime). */
    #webSocket;

    /**
     * The realtime host loop (js/realtime.js): the core picks the deployment and plans the
     * upgrade; `portFor(WebSocket, fetch)` opens it; a failed upgrade is reported as a failed
     * attempt (cooldowns, retries, fallbacks). `connected(socket, hidden, onClose)` makes the
     * answer; `onClose` releases the deployment's in-flight count, once.
     */
    async [REALTIME_CALL](model, options, portFor, connected) {
      const signal = callerSignal(options);
      if (signal?.aborted) throw abortReason(signal);
      const open = portFor(this.#webSocket, this.#fetch);
      if (this.#warming) await this.#warm();
      const core = this.#core;
      const handle = this.#sync(() => core.begin("realtime", model, undefined));
      const callerMs = options?.timeout === undefined ? Infinity : options.timeout * 1000;
      try {
        for (;;) {
          if (signal?.aborted) throw abortReason(signal);
          const step = core.next(handle);
          if (step === 0.5) {
            await this.#chooseFor(handle, { model });
          } else if (step > 0) {
            const wire = this.#sync(() => this.#wire(step, handle));
            const timeoutMs = Math.max(1, Math.min(wire.timeout_ms, callerMs));
            const out = await open(wire.url, wire.headers, timeoutMs, signal);
            if (out.socket) {
              const hidden = JSON.parse(this.#sync(() => core.opened(handle)));
              return connected(out.socket, hidden, () => core.closed(handle));
            }
            if (out.aborted) throw abortReason(signal);
            if (out.refused) throw out.refused;
            if (out.status !== undefined) {
              // An error status: the provider classifies it (401, 429 + retry-after, …).
              core.replied(handle, out.status, out.text, out.headers);
            } else {
              core.unreachable(handle, out.timedOut === true, out.error ?? "no socket");
            }
          } else if (step === -1) {
            throw toError(core.fail(handle));
          } else if (step <= -2) {
            await sleep(-step - 2);
          } else {
            throw new BadRequestError("realtime(): the core asked for an exchange it cannot make", {
              status: 500,
            });
          }
        }
      } finally {
        core.release(handle);
      }
    }

    /** Image generation (`/images/generations`). */
    imageGeneration(request, options) {
      return this.#call("image", request, options);
    }

    /** Moderation (`/moderations`). */
    moderation(request, options) {
      return this.#call("moderation", request, options);
    }

    /** Speech to text (`/audio/transcriptions`, multipart upload of `file`). */
    transcription(request, options) {
      if (request === null || typeof request !== "object")
        return this.#call("transcription", request, options);
      return this.#observed(
        "transcription",
        request,
        false,
        (id) => this.#transcribe(request, options, id),
        options,
      );
    }

    async #transcribe(request, options, callId) {
      const signal = callerSignal(options);
      if (signal?.aborted) throw abortReason(signal);
      const { file, filename, ...rest } = request;
      const upload = await uploadOf(file, filename);
      const json = requestJson(withCallId(rest, callId));
      try {
        return withHiddenParams(
          await cancellable(signal, (cancel) =>
            this.#core.call("transcription", json, upload.bytes, upload.name, upload.type, cancel),
          ),
        );
      } catch (e) {
        if (signal?.aborted) throw abortReason(signal);
        throw toError(e);
      }
    }

    /** Text to speech (`/audio/speech`): a `Response` whose body streams the upstream audio. */
    speech(request, options) {
      return this.#observed(
        "speech",
        request,
        false,
        (id) => this.#speak(request, options, id),
        options,
      );
    }

    async #speak(request, options, callId) {
      const signal = callerSignal(options);
      if (signal?.aborted) throw abortReason(signal);
      const json = requestJson(withCallId(request, callId));
      let out;
      try {
        out = await cancellable(signal, (cancel) =>
          this.#core.call("speech", json, undefined, undefined, undefined, cancel),
        );
      } catch (e) {
        if (signal?.aborted) throw abortReason(signal);
        throw toError(e);
      }
      // The upstream body, unread: the audio streams through to whoever reads this Response.
      const response = new Response(out.stream ?? out.bytes, {
        status: 200,
        headers: { "content-type": out.contentType },
      });
      return attachHidden(response, JSON.parse(out.hidden));
    }

    /** The deployments, with every credential replaced by "***". */
    /**
     * A custom routing strategy (README, "Custom routing strategy"): `strategy.getAvailableDeployment(
     * model, request, candidates)` (sync or async) returns one of `candidates` (the eligible
     * deployments, redacted), its `model_info.id`, or undefined to leave the pick to
     * `routing_strategy`. `null` removes it. Cooldowns, limits, retries and fallbacks stay the router's.
     */
    setCustomRoutingStrategy(strategy) {
      if (strategy === null || strategy === undefined) {
        this.#choose = null;
        this.#core.setChooser(undefined);
      } else {
        const pick = typeof strategy === "function" ? strategy : strategy.getAvailableDeployment;
        if (typeof pick !== "function") {
          throw new ConfigError(
            "setCustomRoutingStrategy: the strategy must be a function or an object with a getAvailableDeployment(model, request, candidates) method",
            { field: "strategy" },
          );
        }
        this.#choose = async (model, request, candidates) => {
          const chosen = await pick.call(strategy, model, request, candidates);
          if (chosen === null || chosen === undefined) return null;
          if (typeof chosen === "string") return chosen;
          const id = typeof chosen === "object" ? chosen.model_info?.id : undefined;
          if (typeof id === "string") return id;
          throw new TypeError(
            `getAvailableDeployment returned ${typeof chosen}, not a candidate, a candidate's model_info.id or undefined`,
          );
        };
        this.#core.setChooser(this.#choose);
      }
      this.#tableChanged();
    }

    getDeployments() {
      return JSON.parse(this.#core.modelListJson(undefined));
    }

    /** The deployments of one model group (or all), credentials redacted. */
    getModelList(modelGroup) {
      return JSON.parse(this.#core.modelListJson(modelGroup ?? undefined));
    }

    /** The model group names, in configuration order. */
    getModelNames() {
      return JSON.parse(this.#core.modelNamesJson());
    }

    /** For the gateway: the model_name serving `model` (itself or a wildcard), or null. */
    [MODEL_GROUP_OF](model) {
      return this.#core.modelGroupOf(String(model)) ?? null;
    }

    /** For the gateway's /v1/models: concrete groups and what the wildcards match. */
    [LISTED_MODELS]() {
      return JSON.parse(this.#core.listedModelsJson());
    }

    /** For the gateway's `x-ratelimit-*` headers: `getRemainingModelGroupUsage`, synchronously. */
    [REMAINING_USAGE](group) {
      return JSON.parse(this.#core.remainingGroupUsageJson(group));
    }

    /** One deployment by id (redacted), or null. */
    getModelInfo(id) {
      const json = this.#core.modelInfoJson(String(id));
      return json === undefined ? null : JSON.parse(json);
    }

    /** Adds a deployment; returns it redacted. Throws ConfigError (duplicate id, invalid entry). */
    addDeployment(deployment) {
      return this.#sync(() => {
        const added = JSON.parse(this.#core.addDeployment(JSON.stringify(deployment)));
        this.#tableChanged();
        return added;
      });
    }

    /** Removes a deployment; returns it redacted, or null when no deployment has that id. */
    deleteDeployment(id) {
      const json = this.#core.deleteDeployment(String(id));
      this.#tableChanged();
      return json === undefined ? null : JSON.parse(json);
    }

    /** Deep-merges `patch` into a deployment (null removes a key) and revalidates it. */
    updateDeployment(id, patch) {
      return this.#sync(() => {
        const updated = JSON.parse(
          this.#core.updateDeployment(String(id), JSON.stringify(patch ?? null)),
        );
        this.#tableChanged();
        return updated;
      });
    }

    /**
     * LiteLLM's `upsert_deployment`: adds the deployment when its id is new, replaces the one
     * with that id when the entry differs, and returns null when nothing changed.
     */
    upsertDeployment(deployment) {
      return this.#sync(() => {
        const json = this.#core.upsertDeployment(JSON.stringify(deployment));
        if (json === undefined) return null;
        this.#tableChanged();
        return JSON.parse(json);
      });
    }

    /** LiteLLM's `ModelGroupInfo` for a group, alias or wildcard-matched model, or null. */
    getModelGroupInfo(modelGroup) {
      const json = this.#core.modelGroupInfoJson(String(modelGroup));
      return json === undefined ? null : JSON.parse(json);
    }

    /** The group's rpm/tpm limits and what is left of them this minute (`x-ratelimit-*`). */
    async getRemainingModelGroupUsage(modelGroup) {
      return JSON.parse(this.#core.remainingGroupUsageJson(String(modelGroup)));
    }

    /**
     * Input tokens of a chat request for its model group: `{ input_tokens, exact }`, counted by
     * the `tokenizer` option when it gives a number (`exact: true`), else the built-in estimate.
     */
    countTokens(request) {
      return this.#sync(() =>
        JSON.parse(
          this.#core.countTokensJson(String(request?.model ?? ""), JSON.stringify(request ?? null)),
        ),
      );
    }

    /** `model_info.access_groups`: each access group with the model groups listing it. */
    getModelAccessGroups() {
      return JSON.parse(this.#core.modelAccessGroupsJson());
    }

    /** Replaces every deployment; state survives for ids that stay. */
    setModelList(modelList) {
      this.#sync(() => this.#core.setModelList(JSON.stringify(modelList ?? null)));
      this.#tableChanged();
    }

    /** Probes each deployment (of one group, or all); LiteLLM's health-check shape. */
    async healthCheck(model) {
      return JSON.parse(await this.#core.healthCheck(model ?? undefined));
    }

    /** Usage per deployment and per model group: counts, tokens, cost, latency, cooldowns. */
    async getUsageStats() {
      const stats = JSON.parse(this.#core.usageJson());
      const state = this.#core.stateJson();
      if (state !== undefined) stats.state = JSON.parse(state);
      return stats;
    }

    /**
     * Flushes the queued shared-state changes and reads the other instances' state now.
     * Resolves when done; never rejects (a store failure is logged, routing stays local).
     * In a Worker: `ctx.waitUntil(router.flushState())`.
     */
    syncState() {
      return this.#core.syncState();
    }

    /** Same as `syncState()`. */
    flushState() {
      return this.#core.syncState();
    }

    /** The bundled price map: model -> prices, limits and capability flags. */
    getModelCostMap() {
      return JSON.parse(this.#core.costMapJson());
    }

    /**
     * Every deployment's routing status now, in table order: `{ id, model_group, provider,
     * status, disabled, cooldown_until_ms, rpm, tpm, minute_requests, minute_tokens }`, where
     * `status` is "disabled", "cooling_down", "over_limit" (rpm/tpm reached this minute) or
     * "healthy".
     */
    getDeploymentStatus() {
      return JSON.parse(this.#core.deploymentStatusJson());
    }

    /** Ends a deployment's cooldown now; false when no deployment has that id. */
    clearCooldown(id) {
      return this.#core.clearCooldown(String(id));
    }

    /** Takes a deployment out of rotation until `enableDeployment`; false for an unknown id. */
    disableDeployment(id) {
      return this.#core.setDeploymentDisabled(String(id), true);
    }

    /** Puts a disabled deployment back in rotation; false for an unknown id. */
    enableDeployment(id) {
      return this.#core.setDeploymentDisabled(String(id), false);
    }

    /** Zeroes the cost counters of every deployment and model group. */
    resetCost() {
      this.#core.resetCost();
    }

    /** Logs (info) and returns an aligned table of per-deployment metrics. */
    printDeploymentMetrics() {
      const table = formatMetrics(JSON.parse(this.#core.usageJson()));
      this.#logger?.info?.(table);
      return table;
    }
  }

  // LiteLLM's names, so Python code ports by search-and-replace.
  const aliases = {
    acompletion: "completion",
    atext_completion: "textCompletion",
    text_completion: "textCompletion",
    aembedding: "embedding",
    arerank: "rerank",
    aimage_generation: "imageGeneration",
    image_generation: "imageGeneration",
    amoderation: "moderation",
    atranscription: "transcription",
    aspeech: "speech",
    get_deployments: "getDeployments",
    get_model_list: "getModelList",
    get_model_names: "getModelNames",
    get_model_info: "getModelInfo",
    get_deployment: "getModelInfo",
    add_deployment: "addDeployment",
    delete_deployment: "deleteDeployment",
    update_deployment: "updateDeployment",
    set_model_list: "setModelList",
    upsert_deployment: "upsertDeployment",
    get_model_group_info: "getModelGroupInfo",
    get_remaining_model_group_usage: "getRemainingModelGroupUsage",
    get_model_access_groups: "getModelAccessGroups",
    health_check: "healthCheck",
    ahealth_check: "healthCheck",
    get_usage_stats: "getUsageStats",
    get_model_cost_map: "getModelCostMap",
    reset_cost: "resetCost",
    print_deployment_metrics: "printDeploymentMetrics",
    set_custom_routing_strategy: "setCustomRoutingStrategy",
    register_plugin: "setCustomRoutingStrategy",
    registerPlugin: "setCustomRoutingStrategy",
    ...batchAliases,
    ...adapterAliases,
  };
  installBatch(Router, defineChunkBuilder(hostStores.assembleChunks));
  installAdapters(Router);
  for (const [alias, target] of Object.entries(aliases)) {
    Object.defineProperty(Router.prototype, alias, {
      value: Router.prototype[target],
      writable: true,
      configurable: true,
    });
  }
  return Router;
}
