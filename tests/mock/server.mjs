#!/usr/bin/env node
// @ts-check
/**
 * Loopback mock LLM provider speaking OpenAI's wire formats (chat completions, embeddings,
 * legacy completions, SSE streaming, real error bodies). Node 20 built-ins only.
 *
 * In-process: `const mock = await startMockServer({ port: 0 })`; other runtimes drive it over
 * HTTP under `/__mock/*`. CLI: `node tests/mock/server.mjs [--port N] [--host H] [--seed N]
 * [--static DIR]` prints `MOCK_URL=http://127.0.0.1:PORT` once listening.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * @typedef {"rate_limit" | "server" | "bad_gateway" | "unavailable" | "auth" | "not_found" | "bad_request" | "context_window" | "content_policy"} ErrorKind
 *
 * @typedef {object} Step One-shot behaviour; fields combine.
 * @property {number} [status] reply status (default 200, or the error's status)
 * @property {Record<string, string>} [headers] extra response headers (override defaults)
 * @property {string | object} [body] string sent as-is, object sent as JSON
 * @property {ErrorKind} [error] real OpenAI error status + body
 * @property {number} [delay_ms] wait before sending headers
 * @property {boolean} [hang] never answer
 * @property {"before_headers" | "mid_body"} [reset] destroy the socket
 * @property {string} [body_raw] raw body (HTML page, malformed JSON, "")
 * @property {Array<object | string | Uint8Array>} [sse] events: objects as `data: <json>\n\n`,
 *   strings and bytes (in-process only: binary streams such as AWS event streams) raw
 * @property {number} [chunk_delay_ms] delay between SSE events (also for healthy streams)
 * @property {boolean} [done] with `sse`: end with `data: [DONE]` (default true)
 * @property {string} [reply] assistant content of a healthy reply
 *
 * @typedef {object} ModeSpec Persistent behaviour once the script queue is empty.
 * @property {"healthy" | "flaky" | "slow" | "down"} kind
 * @property {number} [delay_ms] delay of successful replies (slow: default 800)
 * @property {number} [fail_rate] flaky: probability of failure (default 0.5)
 * @property {ErrorKind} [error] flaky/down: error to reply with (default "server")
 * @property {Step} [fail] flaky/down: full step used for failures instead of `error`
 * @property {string} [reply] assistant content of successful replies
 * @property {number} [seed] flaky: PRNG seed (default: server seed ^ hash(name))
 *
 * @typedef {object} Call
 * @property {string} name deployment name (first path segment)
 * @property {string} method
 * @property {string} path without the query string
 * @property {Record<string, string>} query
 * @property {http.IncomingHttpHeaders} headers lower-cased
 * @property {any} body parsed JSON, or the raw string when not JSON
 * @property {number} at ms since server start
 *
 * @typedef {object} MockServer
 * @property {string} url
 * @property {http.Server} server
 * @property {(name: string) => string} base api_base of a deployment: `${url}/${name}/v1`
 * @property {(name: string, ...steps: Array<Step | Step[]>) => MockServer} script
 * @property {(name: string, spec: ModeSpec) => MockServer} mode
 * @property {Call[]} calls live array, in arrival order
 * @property {(name: string) => Call[]} callsTo
 * @property {() => void} reset clears scripts, modes, calls and the aborted counter
 * @property {() => Promise<void>} close
 * @property {{ open: number, aborted: number }} stats snapshot
 */

const CORS = {
  "access-control-allow-origin": "*",
  "access-control-allow-headers": "*, authorization, content-type, openai-organization, x-custom",
  "access-control-allow-methods": "GET,POST,DELETE,OPTIONS",
  "access-control-expose-headers": "*",
};
const ENDPOINTS = new Map([
  ["chat/completions", "chat"],
  ["embeddings", "embeddings"],
  ["completions", "completions"],
  // Cohere's rerank (`/v1/rerank` and `/v2/rerank`, same reply shape).
  ["rerank", "rerank"],
  ["v2/rerank", "rerank"],
  // OpenAI's Responses API (and Azure's `/openai/v1/responses`).
  ["responses", "responses"],
  ["openai/v1/responses", "responses"],
  ["openai/responses", "responses"],
]);
const MIME = new Map([
  [".html", "text/html; charset=utf-8"],
  [".js", "text/javascript; charset=utf-8"],
  [".mjs", "text/javascript; charset=utf-8"],
  [".wasm", "application/wasm"],
  [".json", "application/json; charset=utf-8"],
  [".map", "application/json; charset=utf-8"],
  [".css", "text/css; charset=utf-8"],
  [".ts", "application/typescript; charset=utf-8"],
  [".txt", "text/plain; charset=utf-8"],
]);
const INVALID = "invalid_request_error";

/** @type {Record<ErrorKind, [status: number, type: string, code: string | number | null]>} */
const ERROR_CODES = {
  rate_limit: [429, "requests", "rate_limit_exceeded"],
  server: [500, "server_error", null],
  bad_gateway: [502, "cf_bad_gateway", 502],
  unavailable: [503, "server_error", null],
  auth: [401, INVALID, "invalid_api_key"],
  not_found: [404, INVALID, "model_not_found"],
  bad_request: [400, INVALID, null],
  context_window: [400, INVALID, "context_length_exceeded"],
  content_policy: [400, INVALID, "content_policy_violation"],
};
/** OpenAI's messages; `{model}` becomes the request's model. @type {Record<ErrorKind, string>} */
const ERROR_MESSAGES = {
  rate_limit:
    "Rate limit reached for {model} in organization org-mock on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s. Visit https://platform.openai.com/account/rate-limits to learn more.",
  server: "The server had an error while processing your request. Sorry about that!",
  bad_gateway: "Bad gateway.",
  unavailable: "The server is overloaded or not ready yet.",
  auth: "Incorrect API key provided: sk-mock*************abcd. You can find your API key at https://platform.openai.com/account/api-keys.",
  not_found: "The model `{model}` does not exist or you do not have access to it.",
  bad_request:
    "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
  context_window:
    "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages.",
  content_policy:
    "Your request was rejected as a result of our safety system. Your prompt may contain text that is not allowed by our safety system.",
};
const PARSE_ERROR =
  "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please visit https://platform.openai.com/docs/guides/error-codes/api-errors.)";

/**
 * `{"error":{"message","type","param","code"}}`.
 * @param {string} message @param {string} type @param {string | number | null} [code]
 * @param {string | null} [param]
 */
const errorBody = (message, type = INVALID, code = null, param = null) => ({
  error: { message, type, param, code },
});

/** The text parts and the file of a multipart/form-data body (the mock's uploads are text). */
function parseMultipart(raw, contentType) {
  const boundary = /boundary=([^;]+)/.exec(contentType ?? "")?.[1];
  /** @type {Record<string, string>} */
  const fields = {};
  let file;
  if (!boundary) return { fields, file };
  for (const part of raw.split(`--${boundary}`)) {
    const at = part.indexOf("\r\n\r\n");
    if (at < 0) continue;
    const head = part.slice(0, at);
    const value = part.slice(at + 4).replace(/\r\n$/, "");
    const name = /name="([^"]*)"/.exec(head)?.[1];
    const filename = /filename="([^"]*)"/.exec(head)?.[1];
    if (name === undefined) continue;
    if (filename !== undefined)
      file = {
        name,
        filename,
        content: value,
        type: /content-type: *(.+)/i.exec(head)?.[1]?.trim(),
      };
    else fields[name] = value;
  }
  return { fields, file };
}

/**
 * Status and body of an error shorthand, exactly as the mock sends them.
 * @param {ErrorKind} kind @param {string} [model]
 */
export function mockError(kind, model = "mock-model") {
  const [status, type, code] = ERROR_CODES[kind];
  return { status, body: errorBody(ERROR_MESSAGES[kind].replace("{model}", model), type, code) };
}
export const ERROR_KINDS = /** @type {ErrorKind[]} */ (Object.keys(ERROR_CODES));

/** Deterministic PRNG in [0, 1). @param {number} seed */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a 32-bit. @param {string} s */
function hash(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * The unit-length, Float32-exact vector the mock returns for one embedding input.
 * @param {string | number[]} input @param {number} [dims]
 */
export function mockEmbedding(input, dims = 8) {
  const rnd = mulberry32(hash(typeof input === "string" ? input : JSON.stringify(input)));
  const v = Array.from({ length: dims }, () => rnd() * 2 - 1);
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => Math.fround(x / norm));
}

/** @param {unknown} v @returns {v is Record<string, any>} */
const isObj = (v) => typeof v === "object" && v !== null && !Array.isArray(v);
/** @param {unknown} v @returns {v is number[]} */
const isTokens = (v) => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "number");
/** Token estimate of a string (chars / 4) or token array (length). @param {unknown} s */
const tokens = (s) =>
  typeof s === "string" ? Math.ceil(s.length / 4) : isTokens(s) ? s.length : 0;
/** @param {unknown} c message content: string or parts */
const chars = (c) =>
  typeof c === "string"
    ? c.length
    : Array.isArray(c)
      ? c.reduce((n, p) => n + (typeof p?.text === "string" ? p.text.length : 0), 0)
      : 0;
/** @param {Record<string, unknown> | undefined} h */
const lower = (h) =>
  Object.fromEntries(Object.entries(h ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
/** @param {string} s */
const decode = (s) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** @param {unknown} s @returns {Step} */
function checkStep(s) {
  if (!isObj(s)) throw new TypeError("mock step must be an object");
  if (s.error !== undefined && !Object.hasOwn(ERROR_CODES, s.error))
    throw new TypeError(`unknown mock error kind: ${s.error}`);
  if (s.reset !== undefined && s.reset !== "before_headers" && s.reset !== "mid_body")
    throw new TypeError(`unknown mock reset kind: ${s.reset}`);
  if (s.sse !== undefined && !Array.isArray(s.sse)) throw new TypeError("sse must be an array");
  return { ...s };
}

/** Resolves after `ms`, or as soon as the response closes. @param {number} ms @param {http.ServerResponse} res */
const sleep = (ms, res) =>
  new Promise((resolve) => {
    const done = () => (clearTimeout(timer), res.off("close", done), resolve(undefined));
    const timer = setTimeout(done, ms);
    res.once("close", done);
  });

/** Writes and waits for the flush (or the close). @param {http.ServerResponse} res @param {string | Uint8Array} data */
const write = (res, data) =>
  new Promise((resolve) => {
    if (res.destroyed) return resolve(undefined);
    const done = () => (res.off("close", done), resolve(undefined));
    res.once("close", done);
    res.write(data, done);
  });

/** @param {http.IncomingMessage} req @returns {Promise<Buffer>} */
const readBytes = (req) =>
  new Promise((resolve, reject) => {
    /** @type {Buffer[]} */
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
    req.on("close", () => reject(new Error("request closed before its body was read")));
  });

/** @param {http.IncomingMessage} req @returns {Promise<string>} */
const readBody = async (req) => (await readBytes(req)).toString("utf8");

/**
 * OpenAI's Responses API reply: one `message` output item with the content as `output_text`;
 * with `stream: true`, the event sequence OpenAI sends (each with its `sequence_number`).
 * @param {any} b @param {string} content @param {() => number} nextId
 */
function responsesReply(b, content, nextId) {
  if (b.input === undefined)
    return {
      status: 400,
      json: errorBody("Missing required parameter: 'input'.", INVALID, null, "input"),
    };
  const n = nextId();
  const id = `resp_mock${n}`;
  const msgId = `msg_mock${n}`;
  const model = typeof b.model === "string" ? b.model : "mock-model";
  const input = Math.ceil(JSON.stringify(b.input).length / 4);
  const words = /** @type {string[]} */ (content.match(/\s*\S+/g) ?? []);
  const usage = {
    input_tokens: input,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: words.length,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: input + words.length,
  };
  const part = { type: "output_text", text: content, annotations: [] };
  const item = {
    type: "message",
    id: msgId,
    status: "completed",
    role: "assistant",
    content: [part],
  };
  const response = (status, output, u) => ({
    id,
    object: "response",
    created_at: Math.floor(Date.now() / 1000),
    status,
    model,
    output,
    previous_response_id: b.previous_response_id ?? null,
    store: b.store ?? true,
    usage: u,
  });
  if (b.stream !== true) return { json: response("completed", [item], usage) };
  let seq = 0;
  const ev = (type, fields) => ({ type, sequence_number: seq++, ...fields });
  const at = { item_id: msgId, output_index: 0, content_index: 0 };
  const events = [
    ev("response.created", { response: response("in_progress", [], null) }),
    ev("response.in_progress", { response: response("in_progress", [], null) }),
    ev("response.output_item.added", {
      output_index: 0,
      item: { ...item, status: "in_progress", content: [] },
    }),
    ev("response.content_part.added", { ...at, part: { ...part, text: "" } }),
    ...words.map((delta) => ev("response.output_text.delta", { ...at, delta })),
    ev("response.output_text.done", { ...at, text: content }),
    ev("response.content_part.done", { ...at, part }),
    ev("response.output_item.done", { output_index: 0, item }),
    ev("response.completed", { response: response("completed", [item], usage) }),
  ];
  return { events };
}

/**
 * Cohere's rerank reply: documents scored by the share of query words they contain (ties by
 * index), best first, `top_n` of them, one search unit per 100 documents.
 * @param {any} b @param {() => number} nextId
 */
function rerankReply(b, nextId) {
  const docs = b.documents;
  if (typeof b.query !== "string" || !Array.isArray(docs) || docs.length === 0)
    return {
      status: 400,
      json: { id: `${nextId()}`, message: "invalid request: query and documents are required" },
    };
  const words = new Set(b.query.toLowerCase().match(/\w+/g) ?? []);
  const textOf = (d) => (typeof d === "string" ? d : JSON.stringify(d));
  const scored = docs.map((d, index) => {
    const w = textOf(d).toLowerCase().match(/\w+/g) ?? [];
    const hits = w.filter((x) => words.has(x)).length;
    return { index, relevance_score: w.length ? Math.round((hits / w.length) * 1e6) / 1e6 : 0 };
  });
  scored.sort((x, y) => y.relevance_score - x.relevance_score || x.index - y.index);
  const top = Number.isInteger(b.top_n) && b.top_n > 0 ? scored.slice(0, b.top_n) : scored;
  const results = top.map((r) =>
    b.return_documents === true ? { ...r, document: { text: textOf(docs[r.index]) } } : r,
  );
  const id = `00000000-0000-4000-8000-${String(nextId()).padStart(12, "0")}`;
  const meta = {
    api_version: { version: "2", is_experimental: false },
    billed_units: { search_units: Math.ceil(docs.length / 100) },
  };
  return { json: { id, results, meta } };
}

/**
 * Healthy reply to a parsed request: `{ json }`, `{ events }` (stream) or a 400 `{ status, json }`.
 * @param {string} endpoint @param {any} b request body @param {string} content
 * @param {() => number} nextId
 * @returns {{ status?: number, json?: object, events?: object[] }}
 */
function healthy(endpoint, b, content, nextId) {
  if (!isObj(b)) return { status: 400, json: errorBody(PARSE_ERROR) };
  const model = typeof b.model === "string" ? b.model : "mock-model";
  const created = Math.floor(Date.now() / 1000);
  const withUsage = b.stream_options?.include_usage === true;
  if (endpoint === "embeddings") {
    const items = typeof b.input === "string" || isTokens(b.input) ? [b.input] : b.input;
    if (!Array.isArray(items) || !items.every((x) => typeof x === "string" || isTokens(x)))
      return {
        status: 400,
        json: errorBody("'input' is a required property", INVALID, null, "input"),
      };
    const dims =
      Number.isInteger(b.dimensions) && b.dimensions > 0 ? Math.min(b.dimensions, 4096) : 8;
    const data = items.map((x, index) => {
      const v = mockEmbedding(x, dims);
      const b64 = b.encoding_format === "base64";
      const embedding = b64 ? Buffer.from(new Float32Array(v).buffer).toString("base64") : v;
      return { object: "embedding", index, embedding };
    });
    const used = items.reduce((n, x) => n + tokens(x), 0);
    const usage = { prompt_tokens: used, total_tokens: used };
    return { json: { object: "list", data, model, usage } };
  }
  if (endpoint === "rerank") return rerankReply(b, nextId);
  if (endpoint === "responses") return responsesReply(b, content, nextId);
  if (endpoint === "chat" && !Array.isArray(b.messages))
    return {
      status: 400,
      json: errorBody("'messages' is a required property", INVALID, null, "messages"),
    };
  // Word-ish pieces whose concatenation is the text; max_tokens truncates with "length".
  let words = /** @type {string[]} */ (content.match(/\s*\S+/g) ?? []);
  const limit = b.max_completion_tokens ?? b.max_tokens;
  const finish = Number.isInteger(limit) && limit >= 0 && words.length > limit ? "length" : "stop";
  if (finish === "length") words = words.slice(0, limit);
  const text = words.join("");
  const idx = Array.from(
    { length: Number.isInteger(b.n) && b.n > 1 ? Math.min(b.n, 16) : 1 },
    (_, i) => i,
  );
  const completion = words.length * idx.length;
  if (endpoint === "completions") {
    const prompts = Array.isArray(b.prompt) && !isTokens(b.prompt) ? b.prompt : [b.prompt];
    const prompt = prompts.reduce((s, p) => s + tokens(p), 0);
    const usage = {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
    };
    const base = { id: `cmpl-${nextId()}`, object: "text_completion", created, model };
    /** @param {number} index @param {string} t @param {string | null} f */
    const choice = (index, t, f) => ({ text: t, index, logprobs: null, finish_reason: f });
    if (b.stream !== true)
      return { json: { ...base, choices: idx.map((i) => choice(i, text, finish)), usage } };
    const events = idx.flatMap((i) => [
      ...words.map((w) => ({ ...base, choices: [choice(i, w, null)] })),
      { ...base, choices: [choice(i, "", finish)] },
    ]);
    return { events: withUsage ? [...events, { ...base, choices: [], usage }] : events };
  }
  /** @type {any[]} */
  const messages = b.messages;
  const prompt =
    Math.ceil(messages.reduce((s, m) => s + chars(m?.content), 0) / 4) + 3 * messages.length;
  const usage = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0 },
  };
  const id = `chatcmpl-${nextId()}`;
  const fp = { system_fingerprint: "fp_mock" };
  if (b.stream !== true) {
    const choices = idx.map((index) => ({
      index,
      message: { role: "assistant", content: text, refusal: null },
      logprobs: null,
      finish_reason: finish,
    }));
    return { json: { id, object: "chat.completion", created, model, ...fp, choices, usage } };
  }
  const base = { id, object: "chat.completion.chunk", created, model, ...fp };
  /** @param {number} index @param {object} delta @param {string | null} f */
  const chunk = (index, delta, f) => ({
    ...base,
    choices: [{ index, delta, logprobs: null, finish_reason: f }],
    ...(withUsage ? { usage: null } : {}),
  });
  const events = idx.flatMap((i) => [
    chunk(i, { role: "assistant", content: "", refusal: null }, null),
    ...words.map((w) => chunk(i, { content: w }, null)),
    chunk(i, {}, finish),
  ]);
  return { events: withUsage ? [...events, { ...base, choices: [], usage }] : events };
}

/**
 * @typedef {object} Ctx
 * @property {http.IncomingMessage} req
 * @property {http.ServerResponse} res
 * @property {number} started
 * @property {string} id x-request-id
 * @property {boolean} killed the mock destroyed the socket itself (not a client abort)
 */

/**
 * Starts the mock provider.
 * @param {{ port?: number, host?: string, staticRoot?: string, seed?: number }} [options]
 * @returns {Promise<MockServer>}
 */
export async function startMockServer(options = {}) {
  const { port = 0, host = "127.0.0.1", staticRoot, seed = 1 } = options;
  const t0 = performance.now();
  /** @type {Call[]} */
  const calls = [];
  /** @type {Map<string, Step[]>} */
  const scripts = new Map();
  /** @type {Map<string, ModeSpec>} */
  const modes = new Map();
  /** Files and batches per deployment name (`filesRoute`). */
  const files = new Map();
  let objectSeq = 0;
  /** @type {Map<string, () => number>} */
  const rngs = new Map();
  /** @type {Set<import("node:net").Socket>} */
  const sockets = new Set();
  const stats = { open: 0, aborted: 0 };
  let seq = 0;
  let reqSeq = 0;
  let closing = false;
  /** @type {Promise<void> | undefined} */
  let closed;

  /** @param {string} name @returns {Step} */
  function nextStep(name) {
    const queued = scripts.get(name)?.shift();
    if (queued) return queued;
    const m = modes.get(name) ?? { kind: "healthy" };
    const fail = m.fail ?? { error: m.error ?? "server" };
    const ok = { delay_ms: m.kind === "slow" ? (m.delay_ms ?? 800) : m.delay_ms, reply: m.reply };
    if (m.kind === "down") return fail;
    if (m.kind !== "flaky") return ok;
    let rnd = rngs.get(name);
    if (!rnd) rngs.set(name, (rnd = mulberry32(m.seed ?? seed ^ hash(name))));
    return rnd() < (m.fail_rate ?? 0.5) ? fail : ok;
  }

  /** @param {Ctx} ctx @param {number} status @param {Record<string, string>} headers */
  function head(ctx, status, headers) {
    const ms = String(Math.round(performance.now() - ctx.started));
    ctx.res.writeHead(status, {
      ...CORS,
      "x-request-id": ctx.id,
      "openai-processing-ms": ms,
      ...headers,
    });
  }

  /**
   * Full-body reply; with `cut`, sends headers + half the body, then destroys the socket.
   * @param {Ctx} ctx @param {number} status @param {string} type @param {string | Buffer} body
   * @param {Record<string, string>} [extra] @param {boolean} [cut]
   */
  async function send(ctx, status, type, body, extra = {}, cut = false) {
    const buf = Buffer.from(body);
    head(ctx, status, { "content-type": type, "content-length": String(buf.length), ...extra });
    if (!cut) return void ctx.res.end(ctx.req.method === "HEAD" ? undefined : buf);
    ctx.killed = true;
    await write(ctx.res, buf.subarray(0, Math.floor(buf.length / 2)));
    ctx.res.destroy();
  }

  /** @param {Ctx} ctx @param {number} status @param {unknown} obj @param {Record<string, string>} [extra] @param {boolean} [cut] */
  const sendJson = (ctx, status, obj, extra, cut) =>
    send(ctx, status, "application/json", JSON.stringify(obj), extra, cut);

  /**
   * SSE reply: each event, then `[DONE]` (unless `done: false`); with `cut`, destroys the
   * socket instead of sending `[DONE]`.
   * @param {Ctx} ctx @param {Array<object | string | Uint8Array>} events
   * @param {{ status?: number, headers: Record<string, string>, delayMs?: number, done?: boolean, cut: boolean }} o
   */
  async function writeSse(ctx, events, o) {
    const { res } = ctx;
    const type = {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
    };
    head(ctx, o.status ?? 200, { ...type, ...o.headers });
    const list = o.done === false || o.cut ? events : [...events, "data: [DONE]\n\n"];
    for (let i = 0; i < list.length; i++) {
      if (i > 0 && o.delayMs) await sleep(o.delayMs, res);
      if (res.destroyed) return;
      const e = list[i];
      const raw = typeof e === "string" || e instanceof Uint8Array;
      await write(res, raw ? e : `data: ${JSON.stringify(e)}\n\n`);
    }
    ctx.killed ||= o.cut;
    if (o.cut) res.destroy();
    else if (!res.destroyed) res.end();
  }

  /**
   * Applies one behaviour to a recorded deployment request.
   * @param {Ctx} ctx @param {Step} step @param {string} name @param {string} endpoint
   * @param {any} body parsed request body (undefined when it was not JSON)
   */
  async function respond(ctx, step, name, endpoint, body) {
    const { req, res } = ctx;
    if (step.hang) return;
    if (step.delay_ms && step.delay_ms > 0) await sleep(step.delay_ms, res);
    if (res.destroyed) return;
    if (step.reset === "before_headers") {
      ctx.killed = true;
      return void req.socket.destroy();
    }
    const cut = step.reset === "mid_body";
    const extra = lower(step.headers);
    const { status, chunk_delay_ms: delayMs } = step;
    if (step.sse)
      return writeSse(ctx, step.sse, { status, headers: extra, delayMs, done: step.done, cut });
    if (step.error) {
      const e = mockError(step.error, typeof body?.model === "string" ? body.model : undefined);
      return sendJson(ctx, status ?? e.status, e.body, extra, cut);
    }
    const raw = step.body_raw ?? (typeof step.body === "string" ? step.body : undefined);
    if (raw !== undefined) {
      const html = raw.trimStart().startsWith("<");
      return send(
        ctx,
        status ?? 200,
        html ? "text/html; charset=utf-8" : "application/json",
        raw,
        extra,
        cut,
      );
    }
    if (step.body !== undefined) return sendJson(ctx, status ?? 200, step.body, extra, cut);
    if (status && status >= 400) {
      const type = status >= 500 ? "server_error" : INVALID;
      return sendJson(ctx, status, errorBody(`Mock error ${status}`, type), extra, cut);
    }
    const h = healthy(endpoint, body, step.reply ?? `Hello from ${name}`, () => ++seq);
    if (!h.events) return sendJson(ctx, h.status ?? status ?? 200, h.json, extra, cut);
    const events = cut ? h.events.slice(0, Math.ceil(h.events.length / 2)) : h.events;
    return writeSse(ctx, events, { status, headers: extra, delayMs, cut });
  }

  /** `/__mock/*` control API. @param {Ctx} ctx @param {string} sub @param {URLSearchParams} query */
  async function control(ctx, sub, query) {
    const { req } = ctx;
    if (req.method === "GET" && sub === "calls") {
      const name = query.get("name");
      return sendJson(ctx, 200, { calls: name === null ? calls : mock.callsTo(name) });
    }
    if (req.method === "GET" && sub === "stats") return sendJson(ctx, 200, mock.stats);
    if (req.method !== "POST" || !["script", "mode", "reset"].includes(sub))
      return sendJson(ctx, 404, errorBody(`Unknown mock control: ${req.method} /__mock/${sub}`));
    const raw = await readBody(req);
    try {
      const b = raw.trim() ? JSON.parse(raw) : {};
      if (sub === "reset") mock.reset();
      else if (typeof b?.name !== "string") throw new TypeError("'name' (string) is required");
      else if (sub === "mode") mock.mode(b.name, b.spec);
      else mock.script(b.name, ...(Array.isArray(b.steps) ? b.steps : [b.steps ?? b.step]));
      const queued = sub === "script" ? scripts.get(b.name)?.length : undefined;
      return sendJson(ctx, 200, { ok: true, queued });
    } catch (e) {
      return sendJson(ctx, 400, errorBody(e instanceof Error ? e.message : String(e)));
    }
  }

  /** `/__static/*`: files under staticRoot. @param {Ctx} ctx @param {string} rel still URL-encoded */
  async function serveStatic(ctx, rel) {
    const notFound = () => sendJson(ctx, 404, errorBody("Not found"));
    if (!staticRoot || (ctx.req.method !== "GET" && ctx.req.method !== "HEAD")) return notFound();
    const decoded = decode(rel);
    const segs = decoded.split(/[\\/]+/).filter(Boolean);
    const root = path.resolve(staticRoot);
    let file = path.resolve(root, ...segs);
    const outside = file !== root && !file.startsWith(root + path.sep);
    if (segs.includes("..") || decoded.includes("\0") || outside)
      return sendJson(ctx, 403, errorBody("Forbidden path"));
    try {
      if ((await fs.promises.stat(file)).isDirectory()) file = path.join(file, "index.html");
      const data = await fs.promises.readFile(file);
      const type = MIME.get(path.extname(file).toLowerCase()) ?? "application/octet-stream";
      return send(ctx, 200, type, data, { "cache-control": "no-store" });
    } catch {
      return notFound();
    }
  }

  /**
   * OpenAI's files and batches (`/files`, `/files/{id}/content`, `/batches`, `/batches/{id}`,
   * `/batches/{id}/cancel`; Azure's under `/openai/`), kept per deployment name: an object
   * exists only on the deployment that created it. A batch completes at once; its output file
   * holds one chat completion per input line.
   * @param {Ctx} ctx @param {string} name @param {string[]} rest @param {string} raw @param {URLSearchParams} query
   */
  function filesRoute(ctx, name, rest, raw, query) {
    const method = ctx.req.method;
    const store = files.get(name) ?? { files: new Map(), batches: new Map() };
    files.set(name, store);
    const now = Math.floor(Date.now() / 1000);
    const notFound = (what) =>
      sendJson(ctx, 404, errorBody(`No such ${what} on ${name}`, INVALID, "not_found"));
    const addFile = (filename, purpose, content) => {
      const id = `file-${name}-${++objectSeq}`;
      const object = {
        id,
        object: "file",
        bytes: Buffer.byteLength(content),
        created_at: now,
        filename,
        purpose,
        status: "processed",
      };
      store.files.set(id, { object, content });
      return object;
    };
    if (rest[0] === "files" && rest.length === 1 && method === "POST") {
      const { fields, file } = parseMultipart(raw, ctx.req.headers["content-type"]);
      if (!file || !fields.purpose)
        return sendJson(ctx, 400, errorBody("purpose and file are required"));
      return sendJson(ctx, 200, addFile(file.filename, fields.purpose, file.content));
    }
    if (rest[0] === "files" && rest.length === 1 && method === "GET") {
      const purpose = query.get("purpose");
      const limit = Number(query.get("limit") ?? 10000);
      const all = [...store.files.values()]
        .map((f) => f.object)
        .filter((o) => !purpose || o.purpose === purpose)
        .reverse();
      const data = all.slice(0, limit);
      return sendJson(ctx, 200, {
        object: "list",
        data,
        first_id: data[0]?.id ?? null,
        last_id: data.at(-1)?.id ?? null,
        has_more: all.length > data.length,
      });
    }
    if (rest[0] === "files" && rest.length === 2 && (method === "GET" || method === "DELETE")) {
      const f = store.files.get(rest[1]);
      if (!f) return notFound("file");
      if (method === "GET") return sendJson(ctx, 200, f.object);
      store.files.delete(rest[1]);
      return sendJson(ctx, 200, { id: rest[1], object: "file", deleted: true });
    }
    if (rest[0] === "files" && rest[2] === "content" && method === "GET") {
      const f = store.files.get(rest[1]);
      if (!f) return notFound("file");
      return send(ctx, 200, "application/octet-stream", f.content);
    }
    if (rest[0] !== "batches") return notFound("route");
    if (rest.length === 1 && method === "POST") {
      let b;
      try {
        b = JSON.parse(raw);
      } catch {
        return sendJson(ctx, 400, errorBody("the body is not JSON"));
      }
      const input = store.files.get(b.input_file_id);
      if (!input) return notFound(`file ${b.input_file_id}`);
      const output = input.content
        .split("\n")
        .filter((l) => l.trim())
        .map((l, i) => {
          const line = JSON.parse(l);
          return JSON.stringify({
            id: `batch_req_${i}`,
            custom_id: line.custom_id,
            response: {
              status_code: 200,
              body: {
                id: `chatcmpl-batch-${i}`,
                object: "chat.completion",
                created: now,
                model: line.body?.model ?? "mock",
                choices: [
                  {
                    index: 0,
                    message: { role: "assistant", content: `batched by ${name}` },
                    finish_reason: "stop",
                  },
                ],
                usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
              },
            },
          });
        })
        .join("\n");
      const out = addFile("output.jsonl", "batch_output", output);
      const id = `batch_${name}_${++objectSeq}`;
      const batch = {
        id,
        object: "batch",
        endpoint: b.endpoint,
        errors: null,
        input_file_id: b.input_file_id,
        completion_window: b.completion_window,
        status: "completed",
        output_file_id: out.id,
        error_file_id: null,
        created_at: now,
        metadata: b.metadata ?? null,
        request_counts: {
          total: output ? output.split("\n").length : 0,
          completed: output ? output.split("\n").length : 0,
          failed: 0,
        },
      };
      store.batches.set(id, batch);
      return sendJson(ctx, 200, batch);
    }
    if (rest.length === 1 && method === "GET") {
      const limit = Number(query.get("limit") ?? 20);
      const data = [...store.batches.values()].reverse().slice(0, limit);
      return sendJson(ctx, 200, {
        object: "list",
        data,
        first_id: data[0]?.id ?? null,
        last_id: data.at(-1)?.id ?? null,
        has_more: store.batches.size > data.length,
      });
    }
    const batch = store.batches.get(rest[1]);
    if (!batch) return notFound("batch");
    if (rest.length === 2 && method === "GET") return sendJson(ctx, 200, batch);
    if (rest[2] === "cancel" && method === "POST") {
      batch.status = "cancelled";
      return sendJson(ctx, 200, batch);
    }
    return notFound("route");
  }

  /**
   * OpenAI's `POST /v1/images/edits` (Azure's `/openai/deployments/{d}/images/edits`): the
   * multipart body parsed for real (fields, `image` or `image[]` parts, `mask`), checked as
   * OpenAI does (model, prompt, at least one image, `image[]` for several, PNG/JPEG/WebP
   * parts), recorded on the call as `form` (each file's field, filename, type, size, sha256),
   * and answered in OpenAI's `ImagesResponse` shape; each `b64_json` decodes to JSON naming
   * the deployment and the sha256 of every image and of the mask.
   * @param {Ctx} ctx @param {string} name @param {Buffer} bytes @param {any} call
   */
  async function imageEditRoute(ctx, name, bytes, call) {
    const type = ctx.req.headers["content-type"] ?? "";
    if (!/^multipart\/form-data/i.test(type))
      return sendJson(ctx, 400, errorBody("images/edits takes multipart/form-data"));
    let form;
    try {
      form = await new Response(bytes, { headers: { "content-type": type } }).formData();
    } catch {
      return sendJson(ctx, 400, errorBody("the multipart body could not be parsed"));
    }
    /** @type {Record<string, string>} */
    const fields = {};
    const parts = [];
    for (const [field, value] of form.entries()) {
      if (typeof value === "string") {
        fields[field] = value;
        continue;
      }
      const buf = Buffer.from(await value.arrayBuffer());
      const sha256 = createHash("sha256").update(buf).digest("hex");
      parts.push({ field, filename: value.name, type: value.type, size: buf.length, sha256 });
    }
    call.form = { fields, files: parts };
    const images = parts.filter((p) => p.field === "image" || p.field === "image[]");
    const mask = parts.find((p) => p.field === "mask");
    if (!fields.model || !fields.prompt)
      return sendJson(
        ctx,
        400,
        errorBody("model and prompt are required", INVALID, null, "prompt"),
      );
    if (images.length === 0)
      return sendJson(ctx, 400, errorBody("image is required", INVALID, null, "image"));
    if (images.length > 1 && images.some((p) => p.field === "image"))
      return sendJson(
        ctx,
        400,
        errorBody("send several images as image[]", INVALID, null, "image"),
      );
    for (const p of parts)
      if (!/^image\/(png|jpeg|webp)$/.test(p.type) || p.size === 0)
        return sendJson(
          ctx,
          400,
          errorBody(
            `Invalid file '${p.field}': unsupported mimetype ('${p.type}'). Supported file formats are 'image/jpeg', 'image/png', and 'image/webp'.`,
            INVALID,
            "invalid_image_format",
            p.field,
          ),
        );
    const n = Math.min(Math.max(Number(fields.n ?? 1) || 1, 1), 10);
    const data = Array.from({ length: n }, (_, i) =>
      fields.response_format === "url"
        ? { url: `https://images.mock.invalid/${name}/${i}.png` }
        : {
            b64_json: Buffer.from(
              JSON.stringify({
                deployment: name,
                images: images.map((p) => p.sha256),
                mask: mask?.sha256 ?? null,
                i,
              }),
            ).toString("base64"),
          },
    );
    return sendJson(ctx, 200, {
      created: Math.floor(Date.now() / 1000),
      data,
      usage: {
        input_tokens: 50,
        output_tokens: 100,
        total_tokens: 150,
        input_tokens_details: { text_tokens: 10, image_tokens: 40 },
      },
    });
  }

  /** @param {http.IncomingMessage} req @param {http.ServerResponse} res */
  async function handle(req, res) {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const pathname = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? "" : url.slice(q + 1));
    const id = `req_${(++reqSeq).toString(16).padStart(32, "0")}`;
    /** @type {Ctx} */
    const ctx = { req, res, started: performance.now(), id, killed: false };
    if (req.method === "OPTIONS") {
      const asked = req.headers["access-control-request-headers"];
      const allow = [CORS["access-control-allow-headers"], asked].filter(Boolean).join(", ");
      res.writeHead(204, {
        ...CORS,
        "access-control-allow-headers": allow,
        "access-control-max-age": "600",
      });
      return void res.end();
    }
    if (pathname.startsWith("/__mock/")) return control(ctx, pathname.slice(8), query);
    if (pathname.startsWith("/__static/")) return serveStatic(ctx, pathname.slice(10));

    stats.open++;
    res.on("close", () => {
      stats.open--;
      if (!res.writableFinished && !ctx.killed && !closing) stats.aborted++;
    });
    const bytes = await readBytes(req);
    const raw = bytes.toString("utf8");
    /** @type {any} */
    let body;
    try {
      body = JSON.parse(raw);
    } catch {
      body = undefined;
    }
    const segs = pathname.split("/").filter(Boolean).map(decode);
    const name = segs[0] ?? "";
    calls.push({
      name,
      method: req.method ?? "GET",
      path: pathname,
      query: Object.fromEntries(query),
      headers: { ...req.headers },
      body: body === undefined ? raw : body,
      at: Math.round((performance.now() - t0) * 1000) / 1000,
    });
    const rest = segs.slice(
      segs[1] === "v1" ? 2 : segs[1] === "openai" ? (segs[2] === "v1" ? 3 : 2) : 1,
    );
    if ((rest[0] === "files" || rest[0] === "batches") && !(scripts.get(name)?.length ?? 0))
      return filesRoute(ctx, name, rest, raw, query);
    if (pathname.endsWith("/images/edits") && req.method === "POST") {
      if (scripts.get(name)?.length) return respond(ctx, nextStep(name), name, "raw", body);
      return imageEditRoute(ctx, name, bytes, calls[calls.length - 1]);
    }
    const endpoint = ENDPOINTS.get((segs[1] === "v1" ? segs.slice(2) : segs.slice(1)).join("/"));
    // Any other provider's path (Anthropic, Gemini, Azure, Bedrock, …) is answered by the
    // deployment's scripted steps, which carry that provider's real payloads.
    const filesPath = rest[0] === "files" || rest[0] === "batches";
    const scripted = (req.method === "POST" || filesPath) && (scripts.get(name)?.length ?? 0) > 0;
    if ((!endpoint || req.method !== "POST") && !scripted)
      return sendJson(ctx, 404, errorBody(`Invalid URL (${req.method} ${pathname})`));
    return respond(ctx, nextStep(name), name, endpoint ?? "raw", body);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (res.destroyed || res.headersSent || req.socket.destroyed) return void res.destroy();
      const body = errorBody(`mock server failure: ${err?.message ?? err}`, "server_error");
      res.writeHead(500, { ...CORS, "content-type": "application/json" }).end(JSON.stringify(body));
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(undefined));
  });
  const { port: bound } = /** @type {import("node:net").AddressInfo} */ (server.address());
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${bound}`;

  /** @type {MockServer} */
  const mock = {
    url,
    server,
    base: (name) => `${url}/${encodeURIComponent(name)}/v1`,
    script(name, ...steps) {
      const checked = steps.flat().map(checkStep);
      scripts.set(name, [...(scripts.get(name) ?? []), ...checked]);
      return mock;
    },
    mode(name, spec) {
      if (!isObj(spec) || !["healthy", "flaky", "slow", "down"].includes(spec.kind))
        throw new TypeError(`unknown mock mode: ${JSON.stringify(spec)}`);
      checkStep({ error: spec.error });
      if (spec.fail !== undefined) checkStep(spec.fail);
      modes.set(name, { ...spec });
      rngs.delete(name);
      return mock;
    },
    get calls() {
      return calls;
    },
    callsTo: (name) => calls.filter((c) => c.name === name),
    get stats() {
      return { ...stats };
    },
    reset() {
      scripts.clear();
      modes.clear();
      rngs.clear();
      files.clear();
      calls.length = 0;
      stats.aborted = 0;
    },
    close() {
      if (closed) return closed;
      closing = true;
      closed = new Promise((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      return closed;
    },
  };
  return mock;
}

/** CLI: `node tests/mock/server.mjs [--port N] [--host H] [--seed N] [--static DIR]`. */
async function main() {
  const args = process.argv.slice(2);
  /** @param {string} flag */
  const opt = (flag) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
  const staticDir = opt("--static");
  const mock = await startMockServer({
    port: Number(opt("--port") ?? 0),
    host: opt("--host") ?? "127.0.0.1",
    seed: Number(opt("--seed") ?? 1),
    staticRoot: staticDir ? path.resolve(staticDir) : undefined,
  });
  process.stdout.write(`MOCK_URL=${mock.url}\n`);
  const stop = () => mock.close().then(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
