// router.fetch(request, env?, ctx?): an OpenAI-compatible HTTP handler over a Router (README,
// "Gateway"). This file authenticates callers in constant time, refuses caller-supplied
// credentials and endpoints, limits body sizes, maps routes to the Router's methods, and answers
// in OpenAI's wire format (errors included), with CORS when asked. The `gateway` option is
// parsed by js/gateway-config.js when the Router is built; this module loads on the first
// request.

import { LlmuxError } from "./errors.js";
import { httpStatus, openAiErrorBody } from "./openai-error.js";
import { CALL_ID, geminiErrorBody, messagesErrorBody } from "./adapters.js";
import {
  ENV_PREFIX,
  HttpError,
  LISTED_MODELS,
  MODEL_GROUP_OF,
  REMAINING_USAGE,
  isObject,
} from "./gateway-config.js";

export { HttpError, parseGateway } from "./gateway-config.js";

/**
 * Request fields a caller may not set: they would aim the router's credentials at another
 * server, change which credentials or provider are used, or rewrite pricing and routing.
 * The core refuses the first seven too; the gateway refuses all of them before any call.
 */
const FORBIDDEN_FIELDS = new Set([
  "api_key",
  "api_base",
  "base_url",
  "api_version",
  "organization",
  "extra_headers",
  "headers",
  "custom_llm_provider",
  "azure_ad_token",
  "azure_ad_token_provider",
  "azure_username",
  "azure_password",
  "tenant_id",
  "client_id",
  "client_secret",
  "vertex_credentials",
  "vertex_project",
  "vertex_location",
  "vertex_ai_project",
  "vertex_ai_location",
  "litellm_params",
  "model_list",
  "specific_deployment",
  "deployment_id",
  "mock_response",
  "input_cost_per_token",
  "output_cost_per_token",
  "input_cost_per_second",
  "output_cost_per_second",
  "cost_per_second",
  "user_config",
  "proxy_server_request",
  "secret_fields",
]);
/** Whole families: every `aws_*` (Bedrock credentials, region, endpoint) and `vertex_*` field. */
const FORBIDDEN_PREFIXES = ["aws_", "vertex_", "azure_"];

/** Per-request fallback lists name model groups: a restricted key may only name its own. */
const FALLBACK_FIELDS = ["fallbacks", "context_window_fallbacks", "content_policy_fallbacks"];

/** The response headers router.fetch sets (and exposes to browsers when CORS is on). */
const GATEWAY_HEADERS = [
  "x-litellm-call-id",
  "x-litellm-model-id",
  "x-litellm-model-group",
  "x-litellm-response-cost",
  "x-litellm-attempted-retries",
  "x-litellm-response-duration-ms",
  "x-llmux-attempts",
  "x-llmux-provider",
  "x-llmux-fallback-model-group",
  "x-llmux-cache-hit",
  "x-ratelimit-remaining-requests",
  "x-ratelimit-limit-requests",
  "x-ratelimit-remaining-tokens",
  "x-ratelimit-limit-tokens",
  "x-llmux-token-count",
];

const TEXT_TRANSCRIPTION_FORMATS = new Set(["text", "srt", "vtt"]);

/** `GET /metrics`: the router's counters in Prometheus' text format. */
async function serveMetrics(router, gw, request, env) {
  if (!gw.metrics.public) {
    const principal = authenticate(gw, request, env);
    if (principal.master !== true)
      throw new HttpError(403, "/metrics needs the gateway's master key", {
        type: "permission_error",
        code: "master_key_required",
      });
  }
  const { PROMETHEUS_CONTENT_TYPE } = await import("./metrics.js");
  return new Response(await router.metrics(), {
    status: 200,
    headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" },
  });
}

const encoder = new TextEncoder();
/** UTF-8 bytes of configured key values (a handful; keyed by value). */
const keyBytes = new Map();

function bytesOf(key) {
  let b = keyBytes.get(key);
  if (!b) {
    b = encoder.encode(key);
    keyBytes.set(key, b);
  }
  return b;
}

/**
 * Whether `presented` equals the configured `key`, in time that depends only on the configured
 * key's length: every byte is compared (no early exit) and the lengths are folded in.
 */
function sameKey(key, presented) {
  let diff = key.length ^ presented.length;
  for (let i = 0; i < key.length; i++)
    diff |= key[i] ^ (presented[i % (presented.length || 1)] ?? 0);
  return diff === 0;
}

/** The key the caller presented: `Authorization: Bearer <key>` or `api-key: <key>` (Azure's). */
function presentedKey(request, queryKey) {
  const auth = request.headers.get("authorization");
  if (auth !== null) {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    return m ? m[1].trim() : null;
  }
  const apiKey =
    request.headers.get("api-key") ??
    request.headers.get("x-api-key") ??
    request.headers.get("x-goog-api-key") ??
    queryKey;
  return apiKey === null || apiKey === undefined ? null : apiKey.trim();
}

/** Key values for this request: references resolve from `env` (router.fetch's) first. */
function resolvedEntries(gw, env) {
  const out = [];
  for (const entry of gw.entries) {
    let key = entry.key;
    if (key.startsWith(ENV_PREFIX)) {
      const name = key.slice(ENV_PREFIX.length);
      const found = (isObject(env) ? env[name] : undefined) ?? gw.lookup(name);
      if (typeof found !== "string" || found === "") {
        warnOnce(gw, `router.fetch: ${key} is not set; that gateway key accepts no request`);
        continue;
      }
      key = found;
    }
    out.push({ key, models: entry.models, master: entry.master === true });
  }
  return out;
}

function warnOnce(gw, message) {
  gw.warned ??= new Set();
  if (gw.warned.has(message)) return;
  gw.warned.add(message);
  try {
    gw.logger?.warn?.(message);
  } catch {
    // A throwing logger never affects a request.
  }
}

/** The matching key's permissions; every configured key is compared (no early exit). */
function authenticate(gw, request, env, queryKey) {
  const entries = resolvedEntries(gw, env);
  if (entries.length === 0)
    throw new HttpError(
      401,
      "this gateway has no key configured (gateway.master_key or gateway.keys)",
      {
        type: "authentication_error",
        code: "invalid_api_key",
      },
    );
  const presented = presentedKey(request, queryKey);
  if (!presented)
    throw new HttpError(401, "missing API key: send `Authorization: Bearer <key>`", {
      type: "authentication_error",
      code: "invalid_api_key",
    });
  const bytes = encoder.encode(presented);
  let match = null;
  for (const entry of entries) {
    const same = sameKey(bytesOf(entry.key), bytes);
    if (same && match === null) match = entry;
  }
  if (match === null)
    throw new HttpError(401, "invalid API key", {
      type: "authentication_error",
      code: "invalid_api_key",
    });
  return { models: match.models, key: match.key, master: match.master };
}

/** Cache scopes by key value: `k<first 16 hex digits of SHA-256(key)>` (never the key). */
const keyScopes = new Map();

async function cacheScopeOf(key) {
  let scope = keyScopes.get(key);
  if (scope === undefined) {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(key)));
    scope = `k${Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("")}`;
    if (keyScopes.size >= 1024) keyScopes.clear();
    keyScopes.set(key, scope);
  }
  return scope;
}

/**
 * With `cache_scope: "key"` (the default), a request's cache namespace is the caller key's
 * scope, with the caller's own `cache.namespace` nested inside it: two keys never share an
 * answer, and `x-llmux-cache-hit` never tells one key what another asked. The core nests the
 * result inside the operator's `cache_kwargs.namespace`.
 */
async function scopeCache(body, principal, gw) {
  if (!gw.caching || gw.cache_scope !== "key" || typeof principal.key !== "string") return;
  const cache = body.cache;
  if (cache !== undefined && cache !== null && !isObject(cache)) return; // the core refuses it
  const scope = await cacheScopeOf(principal.key);
  const own = isObject(cache) ? cache.namespace : undefined;
  if (own !== undefined && own !== null && typeof own !== "string") return; // refused likewise
  const namespace = own ? `${scope}:${own}` : scope;
  body.cache = { ...(isObject(cache) ? cache : {}), namespace };
}

/**
 * With affinity configured (README, "Affinity"), the caller key's scope is the request's
 * `metadata.user_api_key_hash`, as LiteLLM's proxy sets it: a caller cannot pose as another
 * key (a `user_api_key_user_id` of its own is dropped).
 */
async function stampCallerKey(body, principal, gw) {
  if (!gw.limits.affinity || typeof principal.key !== "string") return;
  const { user_api_key_user_id: _, ...metadata } = isObject(body.metadata) ? body.metadata : {};
  body.metadata = { ...metadata, user_api_key_hash: await cacheScopeOf(principal.key) };
  if (isObject(body.litellm_metadata)) {
    const { user_api_key_hash: _h, user_api_key_user_id: _u, ...rest } = body.litellm_metadata;
    body.litellm_metadata = rest;
  }
}

const CALLER_LIMITED = [
  ["num_retries", "num_retries"],
  ["max_fallbacks", "max_fallbacks"],
  ["timeout", "timeout"],
  ["request_timeout", "timeout"],
  ["stream_timeout", "stream_timeout"],
];

/** Refuses router options above the operator's limits (400, naming the field). */
function checkCallerOptions(body, limits) {
  if (body.mock_testing_fallbacks !== undefined && body.mock_testing_fallbacks !== false)
    throw new HttpError(400, "`mock_testing_fallbacks` cannot be set through the gateway", {
      code: "forbidden_parameter",
      param: "mock_testing_fallbacks",
    });
  for (const [field, limit] of CALLER_LIMITED) {
    const value = body[field];
    if (value === undefined || value === null) continue;
    const max = limits[limit];
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > max)
      throw new HttpError(
        400,
        `\`${field}\` must be a number from 0 to ${max} through this gateway (the Router's ${limit})`,
        { code: "invalid_parameter", param: field },
      );
  }
}

/** Whether a key's `models` entry (a name, or a pattern with one `*`) covers `model`. */
function scopeMatches(entry, model) {
  const star = entry.indexOf("*");
  if (star < 0) return entry === model;
  const prefix = entry.slice(0, star);
  const suffix = entry.slice(star + 1);
  return (
    model.length > prefix.length + suffix.length &&
    model.startsWith(prefix) &&
    model.endsWith(suffix)
  );
}

/**
 * Whether the key may use `model`: it is listed, or a pattern in the key's list matches it, or
 * it is served by a wildcard group the key lists (`"gpt-4.1"` under `"openai/*"`), or the key
 * lists an access group (`model_info.access_groups`) of its model group.
 */
function allows(principal, model, router) {
  if (principal.models === null || principal.models.has(model)) return true;
  for (const entry of principal.models) if (scopeMatches(entry, model)) return true;
  const group = router?.[MODEL_GROUP_OF]?.(model);
  if (typeof group === "string" && group !== model && principal.models.has(group)) return true;
  // A key may name a `model_info.access_groups` entry in place of the groups listing it.
  const access = router?.getModelAccessGroups?.() ?? {};
  for (const name of principal.models) {
    const groups = Object.hasOwn(access, name) ? access[name] : null;
    if (groups && (groups.includes(model) || (typeof group === "string" && groups.includes(group))))
      return true;
  }
  return false;
}

// ---- requests -------------------------------------------------------------------------------

/** The body, at most `limit` bytes (a declared larger length is refused before reading). */
export async function readBody(request, limit) {
  const tooLarge = () =>
    new HttpError(413, `request body larger than ${limit} bytes (gateway.max_body_bytes)`, {
      code: "request_too_large",
    });
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw tooLarge();
  if (!request.body) return new Uint8Array(0);
  // A declared length within the limit is what the host's HTTP framing will deliver.
  if (declared !== null && /^\d+$/.test(declared)) {
    const bytes = new Uint8Array(await request.arrayBuffer());
    if (bytes.byteLength > limit) throw tooLarge();
    return bytes;
  }
  const reader = request.body.getReader();
  const chunks = [];
  let size = 0;
  // Bounded: each read adds bytes until the limit, and empty reads are capped too.
  for (let reads = 0; reads <= limit; reads++) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      // Not cancelled: the host discards the rest (cancelling would reset some connections
      // before the 413 is read).
      reader.releaseLock();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return bytes;
}

async function jsonBody(request, gw) {
  const bytes = await readBody(request, gw.max_body_bytes);
  let body;
  try {
    body = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new HttpError(400, "the request body is not valid JSON");
  }
  if (!isObject(body)) throw new HttpError(400, "the request body must be a JSON object");
  return body;
}

/**
 * A multipart/form-data request body, read within `max_body_bytes` and parsed; `expects`
 * ends the message of a 400 for another content type.
 */
async function readForm(request, gw, expects) {
  const type = request.headers.get("content-type") ?? "";
  if (!/^multipart\/form-data/i.test(type))
    throw new HttpError(400, `this endpoint takes multipart/form-data${expects}`);
  const bytes = await readBody(request, gw.max_body_bytes);
  try {
    return await new Response(bytes, { headers: { "content-type": type } }).formData();
  } catch {
    throw new HttpError(400, "the multipart body could not be parsed");
  }
}

/** Multipart fields (`name[]` repeated -> an array) and the uploaded `file`. */
async function formBody(request, gw) {
  const form = await readForm(request, gw, " with a `file` part");
  const body = {};
  for (const [name, value] of form.entries()) {
    if (name === "file") {
      body.file = value;
    } else if (name.endsWith("[]")) {
      const key = name.slice(0, -2);
      (body[key] ??= []).push(String(value));
    } else {
      body[name] = typeof value === "string" ? value : String(value);
    }
  }
  if (typeof Blob === "undefined" || !(body.file instanceof Blob))
    throw new HttpError(400, "the `file` part (an audio file) is required", { param: "file" });
  return body;
}

/** Refuses caller-supplied credentials/endpoints and, for restricted keys, foreign models. */
function checkRequest(body, principal, gw, router) {
  for (const field of Object.keys(body)) {
    if (FORBIDDEN_FIELDS.has(field) || FORBIDDEN_PREFIXES.some((p) => field.startsWith(p)))
      throw new HttpError(
        400,
        `\`${field}\` cannot be set through the gateway: credentials, endpoints and providers belong to the deployments`,
        { code: "forbidden_parameter", param: field },
      );
  }
  checkCallerOptions(body, gw.limits);
  const { model } = body;
  if (typeof model !== "string" || model === "")
    throw new HttpError(400, "`model` is required (a model group name; see GET /v1/models)", {
      param: "model",
    });
  if (!allows(principal, model, router))
    throw new HttpError(403, `this key may not use model \`${model}\``, {
      type: "permission_error",
      code: "model_not_allowed",
      param: "model",
    });
  if (!modelExists(router, gw, model))
    throw new HttpError(404, `The model \`${model}\` does not exist`, {
      code: "model_not_found",
      param: "model",
    });
  if (principal.models !== null) {
    for (const field of FALLBACK_FIELDS) {
      for (const group of groupsIn(body[field])) {
        if (!allows(principal, group, router))
          throw new HttpError(403, `this key may not use model \`${group}\` (in \`${field}\`)`, {
            type: "permission_error",
            code: "model_not_allowed",
            param: field,
          });
      }
    }
  }
}

/** Group names a fallbacks value targets: `["g"]` or `[{ "from": ["g", …] }]`. */
function groupsIn(value) {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item) =>
    typeof item === "string"
      ? [item]
      : isObject(item)
        ? Object.values(item).flatMap((v) => (Array.isArray(v) ? v.map(String) : [String(v)]))
        : [],
  );
}

// A router without the internal methods (a stand-in) is read through its public names.
const modelExists = (router, gw, model) =>
  gw.aliases.all.has(model) ||
  (typeof router[MODEL_GROUP_OF] === "function"
    ? typeof router[MODEL_GROUP_OF](model) === "string"
    : router.getModelNames().includes(model));

function modelObject(gw, id) {
  return { id, object: "model", created: gw.created, owned_by: "llmux" };
}

function listModels(router, gw, principal) {
  const listed =
    typeof router[LISTED_MODELS] === "function" ? router[LISTED_MODELS]() : router.getModelNames();
  const names = [...new Set([...listed, ...gw.aliases.listed])];
  return {
    object: "list",
    data: names.filter((n) => allows(principal, n, router)).map((n) => modelObject(gw, n)),
  };
}

// ---- responses ------------------------------------------------------------------------------

export function jsonResponse(value, status = 200, headers = {}) {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/**
 * `x-litellm-*` / `x-llmux-*` headers from a result's `_hidden_params`, and, as LiteLLM's
 * proxy sends them, the model group's remaining rpm/tpm this minute (`x-ratelimit-*`).
 */
function routerHeaders(hidden, router) {
  if (!isObject(hidden)) return {};
  const h =
    hidden.model_group && typeof router?.[REMAINING_USAGE] === "function"
      ? router[REMAINING_USAGE](String(hidden.model_group))
      : {};
  for (const [name, value] of Object.entries(h)) h[name] = String(value);
  if (hidden.model_id) h["x-litellm-model-id"] = String(hidden.model_id);
  if (hidden.model_group) h["x-litellm-model-group"] = String(hidden.model_group);
  if (typeof hidden.response_cost === "number")
    h["x-litellm-response-cost"] = String(hidden.response_cost);
  if (typeof hidden.retries === "number") h["x-litellm-attempted-retries"] = String(hidden.retries);
  if (typeof hidden.latency_ms === "number")
    h["x-litellm-response-duration-ms"] = String(Math.round(hidden.latency_ms * 1000) / 1000);
  if (typeof hidden.attempts === "number") h["x-llmux-attempts"] = String(hidden.attempts);
  if (hidden.custom_llm_provider) h["x-llmux-provider"] = String(hidden.custom_llm_provider);
  if (hidden.fallback_model_group)
    h["x-llmux-fallback-model-group"] = String(hidden.fallback_model_group);
  if (typeof hidden.cache_hit === "boolean") h["x-llmux-cache-hit"] = String(hidden.cache_hit);
  return h;
}

function resultResponse(result, router) {
  return jsonResponse(result, 200, routerHeaders(result?._hidden_params, router));
}

/** The list of model groups in the core's "no model group named …" message. */
const GROUP_LIST = /;\s*available:\s*\[[^\]]*\]/;

/** OpenAI's error body for anything thrown while serving; never a stack or a secret. */
function errorResponse(e) {
  if (e instanceof HttpError) {
    const { status, type, code, param } = e;
    const headers = status === 405 ? { allow: e.allow } : {};
    return jsonResponse({ error: { message: e.message, type, param, code } }, status, headers);
  }
  if (e instanceof LlmuxError) {
    const status = httpStatus(e);
    // The core names every model group when one is missing; a key holder may not learn them.
    if (typeof e.message === "string" && GROUP_LIST.test(e.message))
      e.message = e.message.replace(GROUP_LIST, "");
    const headers = {};
    if (typeof e.retry_after_ms === "number" && e.retry_after_ms >= 0)
      headers["retry-after"] = String(Math.ceil(e.retry_after_ms / 1000));
    if (e.model_group) headers["x-litellm-model-group"] = String(e.model_group);
    if (typeof e.attempts === "number") headers["x-llmux-attempts"] = String(e.attempts);
    return jsonResponse(openAiErrorBody(e), status, headers);
  }
  return jsonResponse(
    { error: { message: "internal gateway error", type: "server_error", param: null, code: null } },
    500,
  );
}

/** A streaming result (`toReadableStream()`, `_hidden_params`) as an SSE response. */
function streamResponse(stream, router) {
  return new Response(stream.toReadableStream(), {
    status: 200,
    headers: {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      ...routerHeaders(stream._hidden_params, router),
    },
  });
}

async function speechResponse(audio, router) {
  const headers = { ...routerHeaders(audio._hidden_params, router) };
  const type = audio.headers.get("content-type");
  if (type) headers["content-type"] = type;
  return new Response(audio.body, { status: 200, headers });
}

function transcriptionResponse(result, format, router) {
  if (TEXT_TRANSCRIPTION_FORMATS.has(format))
    return new Response(String(result.text ?? ""), {
      status: 200,
      headers: {
        "content-type": "text/plain; charset=utf-8",
        ...routerHeaders(result._hidden_params, router),
      },
    });
  return resultResponse(result, router);
}

// ---- routing --------------------------------------------------------------------------------

/** path (without prefix and `/v1`) -> [method, handler]. */
const ROUTES = {
  "/chat/completions": ["POST", (c) => c.generate("completion")],
  "/completions": ["POST", (c) => c.generate("textCompletion")],
  "/embeddings": ["POST", (c) => c.call("embedding")],
  // Cohere's routes, as LiteLLM's proxy serves them (`/rerank`, `/v1/rerank`, `/v2/rerank`).
  "/rerank": ["POST", (c) => c.call("rerank")],
  "/v2/rerank": ["POST", (c) => c.call("rerank")],
  "/images/generations": ["POST", (c) => c.call("imageGeneration")],
  "/moderations": ["POST", (c) => c.call("moderation")],
  "/audio/speech": ["POST", (c) => c.speech()],
  "/audio/transcriptions": ["POST", (c) => c.transcription()],
  "/models": ["GET", (c) => jsonResponse(listModels(c.router, c.gw, c.principal))],
  "/responses": ["POST", (c) => c.generate("responses")],
  "/messages": ["POST", (c) => c.messages()],
  "/messages/count_tokens": ["POST", (c) => c.countTokens()],
  "/realtime": ["GET", (c) => c.realtime()],
};

/** Image edits, files and batches: served by js/gateway-files.js, loaded on first use. */
const FILES_PATH = /^\/(?:images\/edits|(?:files|batches)(?:\/[^/]+(?:\/[a-z]+)?)?)$/;

/** The key a browser client sends as OpenAI's `openai-insecure-api-key.<key>` subprotocol. */
function subprotocolKey(request) {
  const offered = (request.headers.get("sec-websocket-protocol") ?? "").split(",");
  const prefix = "openai-insecure-api-key.";
  const key = offered.map((p) => p.trim()).find((p) => p.startsWith(prefix));
  return key === undefined ? null : key.slice(prefix.length);
}

const HEALTH = new Set(["/health", "/health/liveness", "/health/liveliness"]);

/**
 * Gemini's REST routes (`/v1beta/models/{model}:generateContent`, `:streamGenerateContent`,
 * also under `/v1`), served by `generateContent` over any deployment.
 */
const GEMINI_ROUTE = /^(?:\/v1beta)?\/models\/(.+):(generateContent|streamGenerateContent)$/;

function geminiRoute(path) {
  const m = path === null ? null : GEMINI_ROUTE.exec(path);
  if (!m) return null;
  let model;
  try {
    model = decodeURIComponent(m[1]);
  } catch {
    throw new HttpError(400, "the model id in the path is not valid percent-encoding", {
      code: "invalid_path",
    });
  }
  return { model, stream: m[2] === "streamGenerateContent" };
}

/** A Gemini route's answer: `generateContent`, or its stream as SSE (`alt=sse`) or a JSON array. */
async function serveGemini(c, route, url) {
  if (c.request.method !== "POST") {
    const e = new HttpError(405, `${c.request.method} is not allowed here; use POST`, {
      code: "method_not_allowed",
    });
    e.allow = "POST";
    throw e;
  }
  const body = await jsonBody(c.request, c.gw);
  body.model = route.model;
  checkRequest(body, c.principal, c.gw, c.router);
  await scopeCache(body, c.principal, c.gw);
  if (!route.stream)
    return resultResponse(await c.router.generateContent(body, c.options), c.router);
  const stream = await c.router.generateContentStream(body, c.options);
  const sse = url.searchParams.get("alt") === "sse";
  return new Response(stream.toReadableStream({ sse }), {
    status: 200,
    headers: {
      "content-type": sse ? "text/event-stream" : "application/json",
      "cache-control": "no-cache",
      ...routerHeaders(stream._hidden_params, c.router),
    },
  });
}

/** The Anthropic Messages routes, whose errors are answered in Anthropic's shape. */
const MESSAGES_ROUTES = new Set(["/messages", "/messages/count_tokens"]);

/**
 * An error answered on a Gemini or Messages route, in that API's own error shape
 * (`shape(status, message)`), so its SDKs raise their usual errors.
 */
async function reshapeError(response, shape) {
  if (response.ok) return response;
  let message = response.statusText || "error";
  try {
    message = (await response.clone().json())?.error?.message ?? message;
  } catch {
    // not JSON: keep the status text
  }
  const headers = new Headers(response.headers);
  headers.set("content-type", "application/json");
  return new Response(JSON.stringify(shape(response.status, message)), {
    status: response.status,
    headers,
  });
}

/** The path inside the mount prefix, without `/v1`; null when outside the prefix. */
function routePath(gw, pathname) {
  let path = pathname;
  if (gw.prefix) {
    if (path !== gw.prefix && !path.startsWith(`${gw.prefix}/`)) return null;
    path = path.slice(gw.prefix.length) || "/";
  }
  if (path === "/v1" || path.startsWith("/v1/")) path = path.slice(3) || "/";
  return path.length > 1 ? path.replace(/\/+$/, "") : path;
}

/** The path below `gateway.ui` ("" for the page itself), or null outside it. */
function uiPath(gw, pathname) {
  const base = `${gw.prefix}${gw.ui.path}`;
  if (pathname === base) return "";
  return pathname.startsWith(`${base}/`) ? pathname.slice(base.length) : null;
}

/** Ready when at least one deployment exists and is neither cooling down nor disabled. */
async function readiness(router, detailed) {
  let ids;
  let available;
  if (typeof router.getDeploymentStatus === "function") {
    const status = router.getDeploymentStatus();
    ids = status;
    available = status.filter((s) => s.status !== "cooling_down" && s.status !== "disabled").length;
  } else {
    const usage = (await router.getUsageStats()).deployments ?? {};
    const now = Date.now();
    ids = router.getDeployments().map((d) => d.model_info?.id);
    available = ids.filter((id) => !(usage[id]?.cooldown_until_ms > now)).length;
  }
  const ready = available > 0;
  const status = ready ? "ready" : "not ready";
  return jsonResponse(
    detailed ? { status, deployments: ids.length, available } : { status },
    ready ? 200 : 503,
  );
}

function corsHeaders(gw, request) {
  if (!gw.cors) return null;
  const origin = request.headers.get("origin");
  if (origin === null) return null;
  const allowed = gw.cors.any || gw.cors.origins.has(origin);
  if (!allowed) return null;
  return {
    "access-control-allow-origin": gw.cors.any ? "*" : origin,
    "access-control-expose-headers": GATEWAY_HEADERS.join(", "),
    ...(gw.cors.any ? {} : { vary: "Origin" }),
  };
}

function preflight(request, cors) {
  return new Response(null, {
    status: 204,
    headers: {
      ...cors,
      "access-control-allow-methods": "GET, POST, OPTIONS",
      "access-control-allow-headers":
        request.headers.get("access-control-request-headers") ??
        "authorization, api-key, content-type",
      "access-control-max-age": "600",
    },
  });
}

/** Adds headers to a response (every response here is built by us, so its headers are mutable). */
function withHeaders(response, extra) {
  try {
    for (const [k, v] of Object.entries(extra)) response.headers.set(k, v);
    return response;
  } catch {
    // A WebSocket upgrade (101) cannot be rebuilt: it goes out as the host made it.
    if (response.status === 101) return response;
    const headers = new Headers(response.headers);
    for (const [k, v] of Object.entries(extra)) headers.set(k, v);
    return new Response(response.body, { status: response.status, headers });
  }
}

/**
 * The request names its own call id (`litellm_call_id`, a non-empty string): the response's
 * `x-litellm-call-id` echoes it, as the call's events carry it.
 */
function adoptCallId(body, call) {
  const own = body?.litellm_call_id;
  if (typeof own === "string" && own !== "") call.id = own;
}

/** `call.id`: the call's id, named in the response's `x-litellm-call-id` and its events. */
async function serve(router, gw, request, env, call) {
  const url = new URL(request.url);
  const path = routePath(gw, url.pathname);
  const noKeys = gw.entries.length === 0;
  if (path !== null && !noKeys && request.method === "GET") {
    if (HEALTH.has(path)) return jsonResponse({ status: "healthy" });
    if (path === "/health/readiness") {
      // Counts only for a key holder: without one, the status alone.
      let detailed = false;
      try {
        authenticate(gw, request, env);
        detailed = true;
      } catch {
        detailed = false;
      }
      return readiness(router, detailed);
    }
  }
  const ui = gw.ui && path !== null && !noKeys ? uiPath(gw, url.pathname) : null;
  if (ui !== null) {
    const { serveDashboard } = await import("./dashboard/routes.js");
    return serveDashboard(router, gw.ui.recorder, request, ui, () =>
      authenticate(gw, request, env),
    );
  }
  if (path === "/metrics" && request.method === "GET" && gw.metrics)
    return serveMetrics(router, gw, request, env);
  const gemini = geminiRoute(path);
  // Google's clients may send the key as `?key=`; only the Gemini routes read it.
  // Browser WebSockets cannot send headers: `/realtime` also reads OpenAI's key subprotocol.
  const principal = authenticate(
    gw,
    request,
    env,
    gemini ? url.searchParams.get("key") : path === "/realtime" ? subprotocolKey(request) : null,
  );
  if (path === null) throw new HttpError(404, `no route ${url.pathname}`, { code: "not_found" });
  const modelPath = /^\/models\/(.+)$/.exec(path);
  if (modelPath && request.method === "GET") {
    let id;
    try {
      id = decodeURIComponent(modelPath[1]);
    } catch {
      throw new HttpError(400, "the model id in the path is not valid percent-encoding", {
        code: "invalid_path",
      });
    }
    if (!allows(principal, id, router) || !modelExists(router, gw, id))
      throw new HttpError(404, `The model \`${id}\` does not exist`, { code: "model_not_found" });
    return jsonResponse(modelObject(gw, id));
  }
  const options = { signal: request.signal ?? undefined, [CALL_ID]: call.id };
  if (gemini) return serveGemini({ router, gw, principal, request, options }, gemini, url);
  if (FILES_PATH.test(path)) {
    const { serveFiles } = await import("./gateway-files.js");
    const h = { readForm, jsonBody, checkRequest, allows, resultResponse, routerHeaders };
    return serveFiles({ router, gw, principal, request, options, url, path, h });
  }
  const route = ROUTES[path];
  if (!route)
    throw new HttpError(404, `no route ${request.method} ${url.pathname}`, { code: "not_found" });
  const [method, handler] = route;
  if (request.method !== method) {
    const e = new HttpError(405, `${request.method} is not allowed here; use ${method}`, {
      code: "method_not_allowed",
    });
    e.allow = method;
    throw e;
  }
  // The incoming request's signal (`options`: fired when the client goes away, where the host
  // supports it) cancels the router call and its upstream request, on every route.
  const c = {
    router,
    gw,
    principal,
    async body() {
      const body = await jsonBody(request, gw);
      checkRequest(body, principal, gw, router);
      await scopeCache(body, principal, gw);
      await stampCallerKey(body, principal, gw);
      adoptCallId(body, call);
      return body;
    },
    async call(name) {
      return resultResponse(await router[name](await c.body(), options), router);
    },
    async generate(name) {
      const body = await c.body();
      const result = await router[name](body, options);
      if (body.stream === true && typeof result?.toReadableStream === "function")
        return streamResponse(result, router);
      return resultResponse(result, router);
    },
    async messages() {
      const body = await c.body();
      const result = await router.messages(body, options);
      if (body.stream === true && typeof result?.toReadableStream === "function")
        return new Response(result.toReadableStream(), {
          status: 200,
          headers: {
            "content-type": "text/event-stream",
            "cache-control": "no-cache",
            ...routerHeaders(result._hidden_params, router),
          },
        });
      return resultResponse(result, router);
    },
    async countTokens() {
      const { input_tokens, exact } = await router.countMessageTokens(await c.body());
      return jsonResponse({ input_tokens }, 200, {
        "x-llmux-token-count": exact ? "tokenizer" : "estimate",
      });
    },
    async speech() {
      return speechResponse(await router.speech(await c.body(), options), router);
    },
    async realtime() {
      // README, "Realtime": the key and its model access are checked before any upgrade.
      if ((request.headers.get("upgrade") ?? "").toLowerCase() !== "websocket")
        throw new HttpError(
          426,
          "GET /v1/realtime upgrades to a WebSocket: send Upgrade: websocket",
          {
            code: "upgrade_required",
          },
        );
      const model = url.searchParams.get("model");
      checkRequest({ model: model ?? undefined }, principal, gw, router);
      const { upgrade } = await import("./realtime.js");
      const response = await upgrade(router, request, model);
      if (response === null)
        throw new HttpError(
          501,
          "this host cannot upgrade router.fetch's Request to a WebSocket (workerd and Deno can); in Node, accept the client with the ws package and relay it to router.realtime()",
          { type: "server_error", code: "not_implemented" },
        );
      return response;
    },
    async transcription() {
      const body = await formBody(request, gw);
      checkRequest(body, principal, gw, router);
      adoptCallId(body, call);
      return transcriptionResponse(
        await router.transcription(body, options),
        body.response_format,
        router,
      );
    },
  };
  return handler(c);
}

/**
 * router.fetch: answers one HTTP request. `env` (Workers' bindings) resolves
 * `"os.environ/NAME"` keys first; `ctx.waitUntil` receives the router's post-response work.
 */
export async function handleFetch(router, gw, request, env, ctx) {
  const call = { id: globalThis.crypto?.randomUUID?.() ?? String(Date.now()) };
  const cors = corsHeaders(gw, request);
  let response;
  if (
    request.method === "OPTIONS" &&
    cors &&
    request.headers.has("access-control-request-method")
  ) {
    response = preflight(request, cors);
  } else {
    try {
      response = await serve(router, gw, request, env, call);
    } catch (e) {
      response = errorResponse(e);
    }
    let gemini = false;
    try {
      gemini = geminiRoute(routePath(gw, new URL(request.url).pathname)) !== null;
    } catch {
      gemini = true; // a Gemini route with a malformed model id
    }
    if (gemini) response = await reshapeError(response, geminiErrorBody);
    else if (MESSAGES_ROUTES.has(routePath(gw, new URL(request.url).pathname)))
      response = await reshapeError(response, messagesErrorBody);
  }
  if (typeof router.flushState === "function" && typeof ctx?.waitUntil === "function") {
    try {
      ctx.waitUntil(Promise.resolve(router.flushState()).catch(() => {}));
    } catch {
      // waitUntil outside a request context: nothing to keep alive.
    }
  }
  return withHeaders(response, { "x-litellm-call-id": call.id, ...cors });
}
