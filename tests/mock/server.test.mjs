// Tests for the loopback mock LLM provider. Run: node --test tests/mock/
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import { ERROR_KINDS, mockEmbedding, mockError, startMockServer } from "./server.mjs";

const SERVER = fileURLToPath(new URL("./server.mjs", import.meta.url));

/** @type {import("./server.mjs").MockServer} */
let mock;
let tmp = "";

/** POST JSON to a deployment endpoint. */
const post = (name, endpoint, body, init = {}) =>
  fetch(`${mock.base(name)}/${endpoint}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer sk-real-secret-1234" },
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...init,
  });
const chat = (name, extra = {}, init = {}) =>
  post(
    name,
    "chat/completions",
    { model: "gpt-4o-mini", messages: [{ role: "user", content: "Hi there!" }], ...extra },
    init,
  );

/** Raw GET that does not normalise `..` (fetch/URL would). */
const rawRequest = (urlPath, method = "GET") =>
  new Promise((resolve, reject) => {
    const { hostname, port } = new URL(mock.url);
    const req = http.request({ hostname, port, path: urlPath, method, agent: false }, (res) => {
      let data = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (data += c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on("error", reject);
    req.end();
  });

async function waitFor(pred, ms = 2000) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error("waitFor timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Parses an SSE body into its `data:` payloads. */
const sseData = (text) =>
  text
    .split("\n\n")
    .filter(Boolean)
    .map((e) => e.replace(/^data: /, ""));

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "llmux-mock-"));
  const root = path.join(tmp, "root");
  fs.mkdirSync(path.join(root, "pkg"), { recursive: true });
  fs.writeFileSync(path.join(root, "index.html"), "<!doctype html><title>t</title>");
  fs.writeFileSync(
    path.join(root, "pkg", "app.wasm"),
    Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]),
  );
  fs.writeFileSync(path.join(root, "pkg", "mod.mjs"), "export const x = 1;\n");
  fs.writeFileSync(path.join(root, "pkg", "types.d.ts"), "export declare const x: number;\n");
  fs.writeFileSync(path.join(tmp, "secret.txt"), "TOP-SECRET");
  mock = await startMockServer({ port: 0, staticRoot: root, seed: 1 });
});
after(async () => {
  await mock.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => mock.reset());

describe("healthy replies", () => {
  it("chat.completion shape, headers, usage, n", async () => {
    const res = await chat("alpha", { n: 2 });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type"), /application\/json/);
    assert.match(res.headers.get("x-request-id"), /^req_/);
    assert.match(res.headers.get("openai-processing-ms"), /^\d+$/);
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    const j = await res.json();
    assert.match(j.id, /^chatcmpl-\d+$/);
    assert.equal(j.object, "chat.completion");
    assert.equal(typeof j.created, "number");
    assert.equal(j.model, "gpt-4o-mini");
    assert.equal(typeof j.system_fingerprint, "string");
    assert.equal(j.choices.length, 2);
    assert.deepEqual(j.choices[1], {
      index: 1,
      message: { role: "assistant", content: "Hello from alpha", refusal: null },
      logprobs: null,
      finish_reason: "stop",
    });
    // "Hi there!" = 9 chars -> ceil(9/4)=3, +3 per message; 3 words x 2 choices
    assert.deepEqual(j.usage, {
      prompt_tokens: 6,
      completion_tokens: 6,
      total_tokens: 12,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });
    const [call] = mock.callsTo("alpha");
    assert.equal(call.method, "POST");
    assert.equal(call.path, "/alpha/v1/chat/completions");
    assert.equal(call.headers.authorization, "Bearer sk-real-secret-1234");
    assert.equal(call.body.model, "gpt-4o-mini");
    assert.equal(typeof call.at, "number");
  });

  it("also answers without /v1 and honours max_tokens", async () => {
    const res = await fetch(`${mock.url}/beta/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "m", messages: [], max_tokens: 1 }),
    });
    const j = await res.json();
    assert.equal(j.choices[0].message.content, "Hello");
    assert.equal(j.choices[0].finish_reason, "length");
  });

  it("embeddings: floats, token arrays, base64", async () => {
    const j = await (
      await post("emb", "embeddings", { model: "text-embedding-3-small", input: ["a", "bb"] })
    ).json();
    assert.equal(j.object, "list");
    assert.equal(j.model, "text-embedding-3-small");
    assert.equal(j.data.length, 2);
    assert.deepEqual(j.data[1], { object: "embedding", index: 1, embedding: mockEmbedding("bb") });
    assert.equal(j.data[0].embedding.length, 8);
    assert.notDeepEqual(j.data[0].embedding, j.data[1].embedding);
    assert.deepEqual(j.usage, { prompt_tokens: 2, total_tokens: 2 });

    const t = await (await post("emb", "embeddings", { model: "e", input: [1, 2, 3] })).json();
    assert.equal(t.data.length, 1);
    assert.equal(t.usage.prompt_tokens, 3);

    const b = await (
      await post("emb", "embeddings", { model: "e", input: "a", encoding_format: "base64" })
    ).json();
    const buf = Buffer.from(b.data[0].embedding, "base64");
    const floats = Array.from(new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4));
    assert.deepEqual(floats, j.data[0].embedding);
  });

  it("legacy completions shape", async () => {
    const j = await (
      await post("leg", "completions", { model: "gpt-3.5-turbo-instruct", prompt: "Say hi" })
    ).json();
    assert.match(j.id, /^cmpl-/);
    assert.equal(j.object, "text_completion");
    assert.deepEqual(j.choices, [
      { text: "Hello from leg", index: 0, logprobs: null, finish_reason: "stop" },
    ]);
    assert.deepEqual(j.usage, { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
  });

  it("streams chat.completion.chunk SSE with usage and [DONE]", async () => {
    const res = await chat("s", { stream: true, stream_options: { include_usage: true } });
    assert.match(res.headers.get("content-type"), /text\/event-stream/);
    const data = sseData(await res.text());
    assert.equal(data.at(-1), "[DONE]");
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    assert.ok(chunks.every((c) => c.object === "chat.completion.chunk"));
    assert.deepEqual(chunks[0].choices[0].delta, { role: "assistant", content: "", refusal: null });
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    assert.equal(text, "Hello from s");
    assert.equal(chunks.at(-2).choices[0].finish_reason, "stop");
    assert.deepEqual(chunks.at(-2).choices[0].delta, {});
    assert.deepEqual(chunks.at(-1).choices, []);
    assert.equal(chunks.at(-1).usage.completion_tokens, 3);
  });

  it("malformed JSON -> 400 and raw body recorded; unknown path -> 404", async () => {
    const res = await post("bad", "chat/completions", "{not json");
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.type, "invalid_request_error");
    assert.equal(mock.callsTo("bad")[0].body, "{not json");
    const nf = await post("bad", "nope", {});
    assert.equal(nf.status, 404);
    assert.match((await nf.json()).error.message, /Invalid URL/);
  });
});

describe("image edits and files", () => {
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2]);
  const edit = (form) => fetch(`${mock.base("ie")}/images/edits`, { method: "POST", body: form });

  it("parses the multipart edit and answers OpenAI's ImagesResponse", async () => {
    const form = new FormData();
    form.append("model", "gpt-image-1");
    form.append("prompt", "hat");
    form.append("n", "2");
    form.append("image[]", new Blob([png], { type: "image/png" }), "a.png");
    form.append("image[]", new Blob([png], { type: "image/webp" }), "b.webp");
    const r = await edit(form);
    assert.equal(r.status, 200);
    const body = await r.json();
    assert.equal(body.data.length, 2);
    assert.equal(typeof body.created, "number");
    assert.equal(body.usage.total_tokens, 150);
    const made = JSON.parse(Buffer.from(body.data[0].b64_json, "base64").toString());
    assert.equal(made.deployment, "ie");
    assert.equal(made.images.length, 2);
    const [call] = mock.callsTo("ie");
    assert.deepEqual(
      call.form.files.map((f) => [f.field, f.filename, f.type, f.size]),
      [
        ["image[]", "a.png", "image/png", 6],
        ["image[]", "b.webp", "image/webp", 6],
      ],
    );
  });

  it("refuses what OpenAI refuses: no image, a non-image type, several `image` parts", async () => {
    const base = () => {
      const form = new FormData();
      form.append("model", "gpt-image-1");
      form.append("prompt", "hat");
      return form;
    };
    const none = await edit(base());
    assert.equal(none.status, 400);
    assert.equal((await none.json()).error.param, "image");
    const text = base();
    text.append("image", new Blob([png], { type: "text/plain" }), "a.txt");
    const bad = await (await edit(text)).json();
    assert.equal(bad.error.code, "invalid_image_format");
    const two = base();
    two.append("image", new Blob([png], { type: "image/png" }), "a.png");
    two.append("image", new Blob([png], { type: "image/png" }), "b.png");
    assert.equal((await edit(two)).status, 400);
  });

  it("lists, retrieves and deletes files per deployment", async () => {
    const form = new FormData();
    form.append("purpose", "batch");
    form.append("file", new Blob(["{}"]), "in.jsonl");
    const made = await (
      await fetch(`${mock.base("fl")}/files`, { method: "POST", body: form })
    ).json();
    const list = await (await fetch(`${mock.base("fl")}/files?purpose=batch`)).json();
    assert.deepEqual(
      list.data.map((f) => f.id),
      [made.id],
    );
    const other = await (await fetch(`${mock.base("fl2")}/files`)).json();
    assert.deepEqual(other.data, []);
    const got = await (await fetch(`${mock.base("fl")}/files/${made.id}`)).json();
    assert.equal(got.filename, "in.jsonl");
    const del = await fetch(`${mock.base("fl")}/files/${made.id}`, { method: "DELETE" });
    assert.deepEqual(await del.json(), { id: made.id, object: "file", deleted: true });
    assert.equal((await fetch(`${mock.base("fl")}/files/${made.id}`)).status, 404);
  });
});

describe("scripts and modes", () => {
  it("consumes scripted steps in order, then the mode applies", async () => {
    mock.script("q", { error: "rate_limit", headers: { "Retry-After": "1" } }, { reply: "second" });
    mock.script("q", { status: 200, body: { custom: true } });
    mock.mode("q", { kind: "down", error: "unavailable" });
    const r1 = await chat("q");
    assert.equal(r1.status, 429);
    assert.equal(r1.headers.get("retry-after"), "1");
    await r1.body.cancel();
    assert.equal((await (await chat("q")).json()).choices[0].message.content, "second");
    assert.deepEqual(await (await chat("q")).json(), { custom: true });
    const r4 = await chat("q");
    assert.equal(r4.status, 503);
    await r4.body.cancel();
    assert.equal((await chat("other")).status, 200);
    assert.equal(mock.callsTo("q").length, 4);
    assert.equal(mock.calls.length, 5);
  });

  it("every error shorthand has OpenAI's status and body", async () => {
    const expected = {
      rate_limit: [429, "requests", "rate_limit_exceeded"],
      server: [500, "server_error", null],
      bad_gateway: [502, "cf_bad_gateway", 502],
      unavailable: [503, "server_error", null],
      auth: [401, "invalid_request_error", "invalid_api_key"],
      not_found: [404, "invalid_request_error", "model_not_found"],
      bad_request: [400, "invalid_request_error", null],
      context_window: [400, "invalid_request_error", "context_length_exceeded"],
      content_policy: [400, "invalid_request_error", "content_policy_violation"],
    };
    assert.deepEqual(Object.keys(expected).sort(), [...ERROR_KINDS].sort());
    for (const [kind, [status, type, code]] of Object.entries(expected)) {
      mock.script("e", { error: kind });
      const res = await chat("e");
      assert.equal(res.status, status, kind);
      const json = await res.json();
      assert.deepEqual(json, mockError(kind, "gpt-4o-mini").body, kind);
      const { error } = json;
      assert.deepEqual(Object.keys(error).sort(), ["code", "message", "param", "type"], kind);
      assert.equal(error.type, type, kind);
      assert.equal(error.code, code, kind);
      assert.equal(error.param, null, kind);
      assert.equal(typeof error.message, "string", kind);
      assert.doesNotMatch(error.message, /real-secret/, kind);
      if (kind === "context_window")
        assert.match(error.message, /maximum context length is 8192 tokens/);
      if (kind === "not_found") assert.match(error.message, /gpt-4o-mini/);
    }
    assert.throws(() => mock.script("e", { error: "nope" }), TypeError);
  });

  it("delay_ms delays the reply", async () => {
    mock.script("d", { delay_ms: 150 });
    const t = performance.now();
    const res = await chat("d");
    assert.ok(performance.now() - t >= 140);
    assert.equal(res.status, 200);
    await res.json();
  });

  it("reset before_headers: fetch rejects", async () => {
    mock.script("r", { reset: "before_headers" });
    await assert.rejects(chat("r"));
    assert.equal(mock.callsTo("r").length, 1);
    assert.equal(mock.stats.aborted, 0);
  });

  it("reset mid_body: headers arrive, reading the body rejects (json and stream)", async () => {
    mock.script("m", { reset: "mid_body" }, { reset: "mid_body" });
    const res = await chat("m");
    assert.equal(res.status, 200);
    await assert.rejects(res.text());
    const s = await chat("m", { stream: true });
    assert.equal(s.status, 200);
    await assert.rejects(s.text());
  });

  it("body_raw HTML / empty bodies", async () => {
    mock.script(
      "h",
      { status: 502, body_raw: "<html><body>Bad Gateway</body></html>" },
      { body_raw: "" },
    );
    const r1 = await chat("h");
    assert.equal(r1.status, 502);
    assert.match(r1.headers.get("content-type"), /text\/html/);
    assert.match(await r1.text(), /Bad Gateway/);
    const r2 = await chat("h");
    assert.equal(r2.status, 200);
    assert.equal(await r2.text(), "");
  });

  it("hang + client abort counts as aborted", async () => {
    mock.script("hang", { hang: true });
    const ac = new AbortController();
    const p = chat("hang", {}, { signal: ac.signal });
    await waitFor(() => mock.stats.open === 1 && mock.callsTo("hang").length === 1);
    ac.abort();
    await assert.rejects(p);
    await waitFor(() => mock.stats.aborted === 1 && mock.stats.open === 0);
  });

  it("sse step: objects as data lines, strings raw, then [DONE]", async () => {
    mock.script("sse", { sse: [{ a: 1 }, ": keep-alive\n\n", { b: 2 }], chunk_delay_ms: 10 });
    const res = await chat("sse", { stream: true });
    assert.match(res.headers.get("content-type"), /text\/event-stream/);
    const text = await res.text();
    assert.equal(text, 'data: {"a":1}\n\n: keep-alive\n\ndata: {"b":2}\n\ndata: [DONE]\n\n');
  });

  it("flaky mode is deterministic for a seed", async () => {
    const run = async (m) => {
      m.mode("f", { kind: "flaky", fail_rate: 0.5, error: "server" });
      const out = [];
      for (let i = 0; i < 20; i++) {
        const res = await fetch(`${m.base("f")}/chat/completions`, {
          method: "POST",
          body: JSON.stringify({ model: "x", messages: [] }),
        });
        out.push(res.status);
        await res.arrayBuffer();
      }
      return out;
    };
    const a = await run(mock);
    const b = await run(mock);
    const other = await startMockServer({ seed: 1 });
    try {
      assert.deepEqual(await run(other), a);
    } finally {
      await other.close();
    }
    assert.deepEqual(a, b);
    assert.ok(a.includes(200) && a.includes(500), String(a));
  });

  it("slow mode and healthy mode with delay_ms / reply", async () => {
    mock.mode("slow", { kind: "slow", delay_ms: 100 });
    mock.mode("hd", { kind: "healthy", delay_ms: 60, reply: "custom" });
    let t = performance.now();
    await (await chat("slow")).json();
    assert.ok(performance.now() - t >= 90);
    t = performance.now();
    assert.equal((await (await chat("hd")).json()).choices[0].message.content, "custom");
    assert.ok(performance.now() - t >= 50);
  });
});

describe("control, static, CORS, lifecycle", () => {
  it("HTTP control endpoints", async () => {
    const ctl = (p, body) =>
      fetch(
        `${mock.url}/__mock/${p}`,
        body ? { method: "POST", body: JSON.stringify(body) } : {},
      ).then((r) => r.json().then((j) => ({ status: r.status, j })));
    assert.deepEqual((await ctl("script", { name: "c", steps: [{ error: "auth" }] })).j.queued, 1);
    assert.equal(
      (await ctl("mode", { name: "c", spec: { kind: "down", error: "not_found" } })).status,
      200,
    );
    assert.equal((await ctl("mode", { name: "c", spec: { kind: "weird" } })).status, 400);
    assert.equal((await ctl("script", { name: "c", steps: [{ error: "weird" }] })).status, 400);
    assert.equal((await chat("c")).status, 401);
    assert.equal((await chat("c")).status, 404);
    await chat("z");
    assert.equal((await ctl("calls")).j.calls.length, 3);
    const only = (await ctl("calls?name=c")).j.calls;
    assert.equal(only.length, 2);
    assert.equal(only[0].body.model, "gpt-4o-mini");
    assert.deepEqual((await ctl("stats")).j, { open: 0, aborted: 0 });
    await ctl("reset", {});
    assert.equal(mock.calls.length, 0);
    assert.equal((await chat("c")).status, 200);
  });

  it("serves static files with MIME types and rejects traversal", async () => {
    const get = (p) => fetch(`${mock.url}/__static/${p}`);
    const wasm = await get("pkg/app.wasm");
    assert.equal(wasm.headers.get("content-type"), "application/wasm");
    assert.equal((await wasm.arrayBuffer()).byteLength, 8);
    const js = await get("pkg/mod.mjs");
    assert.match(js.headers.get("content-type"), /^text\/javascript/);
    assert.equal(await js.text(), "export const x = 1;\n");
    const html = await get("");
    assert.match(html.headers.get("content-type"), /^text\/html/);
    await html.text();
    assert.match(
      (await get("pkg/types.d.ts").then((r) => r.headers.get("content-type"))) ?? "",
      /typescript/,
    );
    assert.equal(await get("missing.js").then((r) => r.status), 404);
    for (const p of [
      "../secret.txt",
      "%2e%2e/secret.txt",
      "..%2fsecret.txt",
      "pkg/..%5c..%5csecret.txt",
      "pkg/../../secret.txt",
    ]) {
      const r = await rawRequest(`/__static/${p}`);
      assert.ok(r.status === 403 || r.status === 404, `${p} -> ${r.status}`);
      assert.doesNotMatch(r.body, /TOP-SECRET/);
    }
    assert.equal(mock.calls.length, 0);
  });

  it("answers CORS preflight with 204 and records nothing", async () => {
    const r = await rawRequest("/x/v1/chat/completions", "OPTIONS");
    assert.equal(r.status, 204);
    assert.equal(r.headers["access-control-allow-origin"], "*");
    assert.match(r.headers["access-control-allow-headers"], /authorization/);
    assert.match(r.headers["access-control-allow-headers"], /openai-organization/);
    assert.equal(r.headers["access-control-allow-methods"], "GET,POST,DELETE,OPTIONS");
    assert.equal(r.headers["access-control-expose-headers"], "*");
    assert.equal(mock.calls.length, 0);
  });

  it("close() ends hung requests promptly", async () => {
    const m = await startMockServer();
    m.script("h", { hang: true });
    const p = fetch(`${m.base("h")}/chat/completions`, { method: "POST", body: "{}" });
    await waitFor(() => m.stats.open === 1);
    const t = performance.now();
    await m.close();
    await assert.rejects(p);
    assert.ok(performance.now() - t < 1000);
    assert.equal(m.stats.aborted, 0);
  });

  it("CLI prints MOCK_URL and stops on SIGTERM", async () => {
    const child = spawn(process.execPath, [SERVER, "--port", "0"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const exited = new Promise((r) => child.on("exit", (code, signal) => r({ code, signal })));
    const url = await new Promise((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (c) => {
        out += c;
        const m = out.match(/^MOCK_URL=(http:\/\/127\.0\.0\.1:\d+)\n/);
        if (m) resolve(m[1]);
      });
      child.on("exit", () => reject(new Error(`exited early: ${out}`)));
    });
    const j = await (
      await fetch(`${url}/cli/v1/chat/completions`, {
        method: "POST",
        body: JSON.stringify({ messages: [] }),
      })
    ).json();
    assert.equal(j.choices[0].message.content, "Hello from cli");
    child.kill("SIGTERM");
    assert.deepEqual(await exited, { code: 0, signal: null });
  });
});
