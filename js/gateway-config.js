// The `gateway` option, validated when the Router is built (ConfigError at `gateway.*`), and
// the names js/router.js and the handler share. The handler itself (js/gateway.js) loads on
// the first `router.fetch`, so a Router that never serves HTTP does not download it.

import { ConfigError } from "./errors.js";
import { DashboardRecorder } from "./dashboard/recorder.js";

export const ENV_PREFIX = "os.environ/";

/** 25 MiB: OpenAI's own upload limit, so every request OpenAI would take fits. */
const DEFAULT_MAX_BODY_BYTES = 25 * 1024 * 1024;

const GATEWAY_FIELDS = [
  "master_key",
  "keys",
  "max_body_bytes",
  "prefix",
  "cors",
  "cache_scope",
  "ui",
  "metrics",
];

/** `gateway.ui: true` serves the dashboard here (under `prefix`). */
const DEFAULT_UI_PATH = "/ui";
/** Paths the dashboard may not take: they belong to the OpenAI routes. */
const RESERVED_UI_PATHS = [
  "/v1",
  "/v1beta",
  "/messages",
  "/chat",
  "/completions",
  "/embeddings",
  "/rerank",
  "/v2",
  "/images",
  "/moderations",
  "/audio",
  "/models",
  "/health",
  "/metrics",
];

/** `gateway.cache_scope`: whose requests share cached answers. */
const CACHE_SCOPES = ["key", "shared"];

/** An error answered to the caller as-is (status, OpenAI error body). */
export class HttpError extends Error {
  constructor(status, message, { type = "invalid_request_error", code = null, param = null } = {}) {
    super(message);
    this.status = status;
    this.type = type;
    this.code = code;
    this.param = param;
  }
}

export const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

function configError(field, message) {
  return new ConfigError(`${field}: ${message}`, { field });
}

/** A key or an `"os.environ/NAME"` reference to one. */
function checkKey(value, field) {
  if (typeof value !== "string" || value.trim() === "")
    throw configError(field, 'must be a non-empty string (or "os.environ/NAME")');
  if (value.startsWith(ENV_PREFIX) && value.length === ENV_PREFIX.length)
    throw configError(field, '"os.environ/" needs a variable name');
  return value;
}

/**
 * Validates the `gateway` option. `lookup(name)` reads a variable from the Router's `env`
 * option or the host environment; `aliases` are `model_group_alias` (name -> hidden).
 * @returns the normalised settings; with no `gateway` (or no keys) `entries` is empty and every
 *   request is a 401
 */
export function parseGateway(value, { lookup, logger, aliases, limits = {} }) {
  const base = {
    lookup,
    logger,
    aliases: aliasNames(aliases),
    created: nowSeconds(),
    limits: callerLimits(limits),
    // Whether the Router caches answers (only then does a request carry a cache scope, so
    // requests of a Router without a cache keep the host loop's fast path).
    caching: limits.cache_responses === true,
  };
  if (value === undefined || value === null) return { ...base, entries: [], ...defaults() };
  if (!isObject(value))
    throw configError(
      "gateway",
      "must be an object { master_key, keys, max_body_bytes, prefix, cors }",
    );
  for (const key of Object.keys(value)) {
    if (!GATEWAY_FIELDS.includes(key))
      throw configError(
        `gateway.${key}`,
        `unknown gateway option (one of ${GATEWAY_FIELDS.join(", ")})`,
      );
  }
  const entries = [];
  if (value.master_key !== undefined && value.master_key !== null)
    entries.push({
      key: checkKey(value.master_key, "gateway.master_key"),
      models: null,
      master: true,
    });
  if (value.keys !== undefined && value.keys !== null) {
    if (!isObject(value.keys))
      throw configError("gateway.keys", 'must be an object { "<key>": { models: ["group", …] } }');
    // Paths name an entry by position: the key itself is a secret and never goes into an error.
    Object.entries(value.keys).forEach(([key, spec], i) => {
      const field = `gateway.keys[${i}]`;
      checkKey(key, field);
      if (!isObject(spec)) throw configError(field, 'must be an object { models: ["group", …] }');
      for (const name of Object.keys(spec)) {
        if (name !== "models") throw configError(`${field}.${name}`, "unknown key option (models)");
      }
      const { models } = spec;
      if (!Array.isArray(models) || !models.every((m) => typeof m === "string" && m !== ""))
        throw configError(
          `${field}.models`,
          'must be an array of model group names ("*" allows every group)',
        );
      entries.push({ key, models: models.includes("*") ? null : new Set(models) });
    });
  }
  const max = value.max_body_bytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isSafeInteger(max) || max <= 0)
    throw configError("gateway.max_body_bytes", "must be a positive integer (bytes)");
  let prefix = value.prefix ?? "";
  if (typeof prefix !== "string" || (prefix !== "" && !/^\/[^?#]*$/.test(prefix)))
    throw configError("gateway.prefix", 'must be a path starting with "/", like "/llm"');
  prefix = prefix.replace(/\/+$/, "");
  const cacheScope = value.cache_scope ?? "key";
  if (!CACHE_SCOPES.includes(cacheScope))
    throw configError(
      "gateway.cache_scope",
      'must be "key" (default: each gateway key has its own cache entries) or "shared"',
    );
  return {
    ...base,
    entries,
    max_body_bytes: max,
    prefix,
    cors: parseCors(value.cors),
    cache_scope: cacheScope,
    ui: parseUi(value.ui),
    metrics: parseMetrics(value.metrics),
  };
}

/**
 * `gateway.metrics`: `GET /metrics` (Prometheus text) behind the master key (default, or
 * `true`), open to anyone (`{ public: true }`), or not served (`false`).
 */
function parseMetrics(m) {
  if (m === undefined || m === null || m === true) return { public: false };
  if (m === false) return null;
  const fail = () =>
    configError(
      "gateway.metrics",
      "must be true (default: GET /metrics with the master key), { public: true } (no key) or false (not served)",
    );
  if (!isObject(m)) throw fail();
  for (const key of Object.keys(m)) if (key !== "public") throw fail();
  if (m.public !== undefined && typeof m.public !== "boolean") throw fail();
  return { public: m.public === true };
}

/** `gateway.ui`: off (default), `true` (at `/ui`) or a path; null when off. */
function parseUi(ui) {
  if (ui === undefined || ui === null || ui === false) return null;
  const path = ui === true ? DEFAULT_UI_PATH : ui;
  const fail = () =>
    configError(
      "gateway.ui",
      `must be false (default), true (the dashboard at ${DEFAULT_UI_PATH}) or a path like "/dashboard" outside the API routes`,
    );
  if (typeof path !== "string" || !/^\/[A-Za-z0-9._~\-/]*[A-Za-z0-9._~-]$/.test(path)) throw fail();
  if (RESERVED_UI_PATHS.some((r) => path === r || path.startsWith(`${r}/`))) throw fail();
  return { path, recorder: new DashboardRecorder() };
}

const defaults = () => ({
  max_body_bytes: DEFAULT_MAX_BODY_BYTES,
  prefix: "",
  cors: null,
  cache_scope: "key",
  ui: null,
  metrics: { public: false },
});

function parseCors(cors) {
  if (cors === undefined || cors === null || cors === false) return null;
  if (cors === true || cors === "*") return { any: true, origins: new Set() };
  const list = typeof cors === "string" ? [cors] : cors;
  if (!Array.isArray(list) || list.length === 0 || !list.every((o) => typeof o === "string" && o))
    throw configError(
      "gateway.cors",
      'must be false (default), true / "*" (any origin), an origin or an array of origins',
    );
  if (list.includes("*")) return { any: true, origins: new Set() };
  return { any: false, origins: new Set(list.map((o) => o.replace(/\/+$/, ""))) };
}

function aliasNames(aliases) {
  const all = new Set();
  const listed = new Set();
  if (isObject(aliases)) {
    for (const [alias, target] of Object.entries(aliases)) {
      all.add(alias);
      if (!(isObject(target) && target.hidden === true)) listed.add(alias);
    }
  }
  return { all, listed };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

// ---- authentication -------------------------------------------------------------------------

/**
 * What a gateway caller may set per request (README, "Gateway": caller-set router options):
 * never more than the operator configured. `num_retries`, `max_fallbacks` and the timeouts
 * may only lower the Router's values; `mock_testing_fallbacks` is refused.
 */
function callerLimits({
  num_retries,
  timeout,
  stream_timeout,
  max_fallbacks,
  optional_pre_call_checks,
  model_group_affinity_config,
}) {
  const num = (v, fallback) => (typeof v === "number" && Number.isFinite(v) ? v : fallback);
  const operatorTimeout = num(timeout, 6000);
  const checks = Array.isArray(optional_pre_call_checks) ? optional_pre_call_checks : [];
  return {
    affinity:
      checks.includes("deployment_affinity") ||
      checks.includes("session_affinity") ||
      (isObject(model_group_affinity_config) &&
        Object.keys(model_group_affinity_config).length > 0),
    num_retries: num(num_retries, 2),
    max_fallbacks: num(max_fallbacks, 5),
    timeout: operatorTimeout,
    stream_timeout: num(stream_timeout, operatorTimeout),
  };
}

/** Internal Router methods the gateway reads wildcard groups through (js/router.js). */
export const MODEL_GROUP_OF = Symbol("llmux.modelGroupOf");
export const LISTED_MODELS = Symbol("llmux.listedModels");
/** The Router's `getRemainingModelGroupUsage`, synchronously (for the `x-ratelimit-*` headers). */
export const REMAINING_USAGE = Symbol("llmux.remainingUsage");
