// openai-node ergonomics: errors with openai-node's APIError fields (type, code, param,
// headers, request_id), { signal } on the batch and adapter methods, router.fetch bound.
import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import {
  T,
  deployment,
  errors,
  rejection,
  routerOver,
  startMockServer,
  waitFor,
} from "./fixture.mjs";
import { Router } from "./fixture.mjs";

let mock;
before(async () => {
  mock = await startMockServer();
});
after(() => mock.close());
beforeEach(() => mock.reset());

const messages = [{ role: "user", content: "hi" }];

/** A 400 with every OpenAI error field set, one header to keep and a cookie to drop. */
const badParam = {
  status: 400,
  headers: { "x-custom": "kept", "set-cookie": "session=secret" },
  body: {
    error: {
      message: "Invalid 'messages[0].role': unknown role.",
      type: "invalid_request_error",
      param: "messages[0].role",
      code: "invalid_value",
    },
  },
};

/** What openai-node itself raises for `step` when it talks to the mock directly. */
async function openaiNodeError(step) {
  mock.script("direct", step);
  const client = new OpenAI({ apiKey: "sk-direct", baseURL: mock.base("direct"), maxRetries: 0 });
  return rejection(client.chat.completions.create({ model: "m", messages }));
}

const paths = [
  ["the host loop (a plain request)", {}],
  ["the core's fetch (router kwargs in the request)", { num_retries: 0 }],
  ["a stream that fails before its first chunk", { stream: true }],
];
for (const [name, extra] of paths) {
  test(
    `${name}: the error has openai-node's type, code, param, headers and request_id`,
    T,
    async () => {
      const oracle = await openaiNodeError(badParam);
      assert.ok(oracle instanceof OpenAI.APIError);
      const router = routerOver(mock, { chat: ["a"] }, { num_retries: 0 });
      mock.script("a", badParam);
      const e = await rejection(router.completion({ model: "chat", messages, ...extra }));
      assert.ok(e instanceof errors.BadRequestError, `got ${e?.name}: ${e?.message}`);
      for (const field of ["status", "type", "code", "param"])
        assert.equal(e[field], oracle[field], field);
      assert.equal(e.request_id, e.headers["x-request-id"]);
      assert.match(e.request_id, /\S/);
      assert.equal(e.requestID, e.request_id);
      assert.equal(oracle.requestID, oracle.headers.get("x-request-id"));
      assert.equal(e.headers["x-custom"], "kept");
      assert.equal(e.headers["content-type"], "application/json");
      assert.equal(e.headers["set-cookie"], undefined, "cookies are not kept");
      assert.ok(!JSON.stringify(e).includes("sk-test-a"), "no secret");
    },
  );
}

test("an error the router raised itself has llmux's type and code and no headers", T, async () => {
  const router = routerOver(mock, { chat: ["a"] }, { num_retries: 0 });
  const e = await rejection(router.completion({ model: "nope", messages }));
  assert.ok(e instanceof errors.LlmuxError);
  assert.equal(e.type, "invalid_request_error");
  assert.equal(e.headers, null);
  assert.equal(e.request_id, null);
  mock.script("a", { error: "context_window" });
  const cw = await rejection(router.completion({ model: "chat", messages }));
  assert.ok(cw instanceof errors.ContextWindowExceededError);
  assert.equal(cw.code, "context_length_exceeded");
  assert.equal(cw.type, "invalid_request_error");
});

test(
  "a 429 keeps the upstream's own type and code, and retry-after among its headers",
  T,
  async () => {
    const router = routerOver(mock, { chat: ["a"] }, { num_retries: 0 });
    mock.script("a", { error: "rate_limit", headers: { "retry-after": "1" } });
    const oracle = await openaiNodeError({ error: "rate_limit", headers: { "retry-after": "1" } });
    const e = await rejection(router.completion({ model: "chat", messages }));
    assert.ok(e instanceof errors.RateLimitError);
    assert.equal(e.type, oracle.type);
    assert.equal(e.code, oracle.code);
    assert.equal(e.headers["retry-after"], "1");
  },
);

test("the gateway answers llmux's own error type, whatever the upstream said", T, async () => {
  const router = routerOver(
    mock,
    { chat: ["a"] },
    { num_retries: 0, gateway: { master_key: "sk-m" } },
  );
  mock.script("a", { error: "rate_limit" });
  const res = await router.fetch(
    new Request("http://gw.test/v1/chat/completions", {
      method: "POST",
      headers: { authorization: "Bearer sk-m", "content-type": "application/json" },
      body: JSON.stringify({ model: "chat", messages }),
    }),
  );
  assert.equal(res.status, 429);
  assert.equal((await res.json()).error.type, "rate_limit_error");
});

test(
  "router.fetch is bound: a detached reference serves, also under gateway.prefix",
  T,
  async () => {
    const router = routerOver(
      mock,
      { chat: ["a"] },
      { gateway: { master_key: "sk-m", prefix: "/llm" } },
    );
    const f = router.fetch;
    const res = await f(
      new Request("http://gw.test/llm/v1/chat/completions", {
        method: "POST",
        headers: { authorization: "Bearer sk-m", "content-type": "application/json" },
        body: JSON.stringify({ model: "chat", messages }),
      }),
    );
    assert.equal(res.status, 200);
    assert.equal((await res.json()).choices[0].message.content, "Hello from a");
    const mounted = [router.fetch].map((handler) => (req) => handler(req))[0];
    const models = await mounted(
      new Request("http://gw.test/llm/v1/models", { headers: { authorization: "Bearer sk-m" } }),
    );
    assert.equal(models.status, 200);
  },
);

test("batchCompletion takes { signal }: aborting it aborts every upstream call", T, async () => {
  const router = routerOver(mock, { one: ["a"], two: ["b"] }, { num_retries: 0 });
  mock.script("a", { hang: true });
  mock.script("b", { hang: true });
  const c = new AbortController();
  const pending = router.batchCompletion(
    { models: ["one", "two"], messages },
    { signal: c.signal },
  );
  assert.ok(await waitFor(() => mock.calls.length === 2, 3000));
  c.abort(new Error("caller left"));
  const results = await pending;
  assert.deepEqual(
    results.map((r) => r.message),
    ["caller left", "caller left"],
  );
  assert.ok(await waitFor(() => mock.stats.aborted === 2, 3000), JSON.stringify(mock.stats));
});

test("batchCompletionFastestResponse and messages() take { signal } too", T, async () => {
  const router = new Router({
    model_list: [deployment(mock, "one", "a"), deployment(mock, "two", "b")],
    num_retries: 0,
  });
  mock.script("a", { hang: true });
  mock.script("b", { hang: true });
  const c = new AbortController();
  const race = router.batchCompletionFastestResponse(
    { model: ["one", "two"], messages },
    { signal: c.signal },
  );
  assert.ok(await waitFor(() => mock.calls.length === 2, 3000));
  c.abort(new Error("gone"));
  await assert.rejects(race, /gone/);
  assert.ok(await waitFor(() => mock.stats.aborted === 2, 3000));
  mock.reset();
  mock.script("a", { hang: true });
  const d = new AbortController();
  const msg = router.messages(
    { model: "one", max_tokens: 10, messages: [{ role: "user", content: "hi" }] },
    { signal: d.signal },
  );
  assert.ok(await waitFor(() => mock.callsTo("a").length === 1, 3000));
  d.abort(new Error("left"));
  await assert.rejects(msg, /left/);
  assert.ok(await waitFor(() => mock.stats.aborted === 1, 3000));
});

/** Every byte of a ReadableStream, as text. */
async function readAll(readable) {
  return new Response(readable).text();
}

test(
  "toNDJSONReadableStream is openai-node's toReadableStream format; toReadableStream stays SSE",
  T,
  async () => {
    const { Stream } = await import("openai/streaming");
    const router = routerOver(mock, { chat: ["a"] });
    mock.script("a", { reply: "one two three" });
    const request = { model: "chat", messages, stream: true };
    const ndjson = await readAll((await router.completion(request)).toNDJSONReadableStream());
    assert.ok(ndjson.endsWith("\n") && !ndjson.includes("[DONE]") && !ndjson.includes("data:"));
    const lines = ndjson
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    assert.ok(lines.length > 1 && lines.every((c) => c.object === "chat.completion.chunk"));
    const text = (chunks) => chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
    assert.equal(text(lines), "one two three");
    // openai-node reads it back: Stream.fromReadableStream, as a browser would after a fetch.
    mock.script("a", { reply: "one two three" });
    const back = Stream.fromReadableStream(
      (await router.completion(request)).toNDJSONReadableStream(),
      new AbortController(),
    );
    const chunks = [];
    for await (const chunk of back) chunks.push(chunk);
    assert.equal(text(chunks), "one two three");
    // The SSE method keeps its name and format.
    mock.script("a", { reply: "one two three" });
    const sse = await readAll((await router.completion(request)).toReadableStream());
    assert.ok(sse.startsWith("data: {") && sse.endsWith("data: [DONE]\n\n"));
    // One consumer: a stream read as NDJSON cannot also be iterated.
    mock.script("a", { reply: "x" });
    const once = await router.completion(request);
    once.toNDJSONReadableStream().cancel();
    assert.throws(() => once.toReadableStream(), TypeError);
    assert.equal(mock.calls.length, 4);
  },
);

test(
  "toNDJSONReadableStream: a reset after the first chunk errors the stream with the typed error",
  T,
  async () => {
    const { Stream } = await import("openai/streaming");
    const router = routerOver(mock, { chat: ["a"] }, { num_retries: 0 });
    mock.script("a", { reply: "one two three four five", reset: "mid_body" });
    const stream = await router.completion({ model: "chat", messages, stream: true });
    const back = Stream.fromReadableStream(stream.toNDJSONReadableStream(), new AbortController());
    const seen = [];
    const e = await rejection(
      (async () => {
        for await (const chunk of back) seen.push(chunk);
      })(),
    );
    assert.ok(e instanceof errors.APIConnectionError, `${e?.name}: ${e?.message}`);
    assert.equal(e.deployment_id, "a");
    assert.ok(seen.length > 0, "the chunks before the reset were delivered");
    assert.equal(mock.calls.length, 1, "no retry after the first chunk");
  },
);

test(
  "every request method takes { signal }: an aborted signal rejects with its reason, nothing sent",
  T,
  async () => {
    const router = new Router({
      model_list: [
        deployment(mock, "chat", "a"),
        deployment(mock, "emb", "e", {}, { mode: "embedding" }),
      ],
      num_retries: 0,
    });
    const msgs = [{ role: "user", content: "hi" }];
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
    const contents = [{ role: "user", parts: [{ text: "hi" }] }];
    const requests = {
      completion: { model: "chat", messages: msgs },
      acompletion: { model: "chat", messages: msgs, stream: true },
      textCompletion: { model: "chat", prompt: "hi" },
      embedding: { model: "emb", input: "x" },
      imageGeneration: { model: "chat", prompt: "x" },
      imageEdit: { model: "chat", image: png, prompt: "x" },
      moderation: { model: "chat", input: "x" },
      transcription: { model: "chat", file: new Blob([png]) },
      speech: { model: "chat", input: "x", voice: "alloy" },
      rerank: { model: "chat", query: "q", documents: ["a"] },
      responses: { model: "chat", input: "hi" },
      messages: { model: "chat", messages: msgs, max_tokens: 5 },
      generateContent: { model: "chat", contents },
      generateContentStream: { model: "chat", contents },
      createFile: { model: "chat", file: "{}\n", purpose: "batch" },
      createBatch: {
        input_file_id: "file-x",
        endpoint: "/v1/chat/completions",
        completion_window: "24h",
      },
      retrieveBatch: { batch_id: "batch-x" },
      cancelBatch: { batch_id: "batch-x" },
      listBatches: { model: "chat" },
      retrieveFile: { file_id: "file-x" },
      deleteFile: { file_id: "file-x" },
      fileContent: { file_id: "file-x" },
      listFiles: { model: "chat" },
      batchCompletionFastestResponse: { models: ["chat"], messages: msgs },
      realtime: "chat",
    };
    for (const [method, request] of Object.entries(requests)) {
      const c = new AbortController();
      const reason = new Error(`caller left ${method}`);
      c.abort(reason);
      const e = await rejection(router[method](request, { signal: c.signal }));
      assert.equal(e, reason, `${method}: ${e}`);
      const bad = await rejection(router[method](request, { signal: "not a signal" }));
      assert.ok(bad instanceof TypeError, `${method} refuses a non-signal: ${bad}`);
    }
    // The per-model batch methods answer one result a model, as LiteLLM does: each the reason.
    for (const [method, request] of [
      ["batchCompletion", { models: ["chat", "emb"], messages: msgs }],
      ["batchCompletionOneModelMultipleRequests", { model: "chat", messages: [msgs, msgs] }],
    ]) {
      const c = new AbortController();
      c.abort(new Error("caller left"));
      const results = await router[method](request, { signal: c.signal });
      assert.deepEqual(
        results.map((r) => r.message),
        ["caller left", "caller left"],
        method,
      );
    }
    assert.equal(mock.calls.length, 0, "no upstream request was made");
  },
);
