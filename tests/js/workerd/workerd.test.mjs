// Tier 3c: the package's workerd entry (js/workerd.js, wasm imported as a CompiledWasm module)
// inside workerd via Miniflare, against the loopback mock provider. The worker (worker.js)
// builds a Router per request from a JSON spec; the mock URL reaches it as a binding.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { startMockServer } from "../../mock/server.mjs";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const messages = [{ role: "user", content: "hi" }];

/** @type {Awaited<ReturnType<typeof startMockServer>>} */
let mock;
/** @type {Miniflare} */
let mf;

before(async () => {
  mock = await startMockServer({ port: 0 });
  mf = new Miniflare({
    modules: true,
    modulesRoot: root,
    scriptPath: fileURLToPath(new URL("worker.js", import.meta.url)),
    modulesRules: [
      { type: "ESModule", include: ["**/*.js"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2026-04-01",
    bindings: { MOCK_URL: mock.url, UPSTREAM_KEY: "sk-workerd-binding" },
  });
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  await mock?.close();
});

/** POSTs a spec to the worker's /run route and returns its JSON. */
async function run(spec) {
  const res = await mf.dispatchFetch("http://worker.test/run", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(spec),
  });
  assert.equal(res.status, 200, "worker /run status");
  return res.json();
}

/** Resolves once `check()` is true, polling every 20 ms for at most 2 s. */
async function eventually(check, what) {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test("the worker loads the workerd entry and version() answers", async () => {
  const res = await mf.dispatchFetch("http://worker.test/version");
  const { version } = await res.json();
  assert.match(version, /^\d+\.\d+\.\d+/);
});

test("a chat completion is answered by the mock with _hidden_params naming the deployment", async () => {
  const out = await run({
    deployments: [{ group: "chat", mock: "wd-chat", id: "wd-chat-1" }],
    request: { model: "chat", messages },
  });
  assert.equal(out.results.length, 1);
  const [r] = out.results;
  assert.equal(r.ok, true, JSON.stringify(r.error));
  assert.equal(r.body.object, "chat.completion");
  assert.equal(r.body.choices[0].message.content, "Hello from wd-chat");
  assert.equal(r.hidden.model_group, "chat");
  assert.equal(r.hidden.model_id, "wd-chat-1");
  assert.equal(r.hidden.api_base, mock.base("wd-chat"));
  assert.equal(r.hidden.custom_llm_provider, "openai");
  assert.equal(r.hidden.attempts, 1);
  assert.equal(r.hidden_enumerable, false, "_hidden_params is non-enumerable");
  const calls = mock.callsTo("wd-chat");
  assert.equal(calls.length, 1);
  assert.equal(calls[0].path, "/wd-chat/v1/chat/completions");
  assert.equal(calls[0].headers.authorization, "Bearer sk-workerd-binding", "os.environ/ key");
});

test("a scripted 500 on the first deployment is retried on the second deployment", async () => {
  mock.script("wd-r-a", { error: "server" });
  // weight 1 vs 0: the first pick is always wd-r-a; the retry can only go to wd-r-b.
  const out = await run({
    deployments: [
      { group: "retry", mock: "wd-r-a", id: "wd-r-a", weight: 1 },
      { group: "retry", mock: "wd-r-b", id: "wd-r-b", weight: 0 },
    ],
    options: { num_retries: 2 },
    request: { model: "retry", messages },
  });
  const [r] = out.results;
  assert.equal(r.ok, true, JSON.stringify(r.error));
  assert.equal(r.hidden.model_id, "wd-r-b");
  assert.equal(r.hidden.attempts, 2);
  assert.equal(r.hidden.retries, 1);
  assert.equal(r.body.choices[0].message.content, "Hello from wd-r-b");
  assert.equal(mock.callsTo("wd-r-a").length, 1);
  assert.equal(mock.callsTo("wd-r-b").length, 1);
});

test("a hung upstream raises Timeout and the upstream request is aborted", async () => {
  mock.script("wd-hang", { hang: true });
  const before = mock.stats.aborted;
  const out = await run({
    deployments: [{ group: "slow", mock: "wd-hang", id: "wd-hang-1" }],
    options: { timeout: 0.3, num_retries: 0 },
    request: { model: "slow", messages },
  });
  const [r] = out.results;
  assert.equal(r.ok, false, "the call must fail");
  assert.equal(r.error.constructor, "Timeout");
  assert.ok(r.error.instance_of.includes("Timeout"), r.error.instance_of.join());
  assert.equal(r.error.status, 408);
  assert.equal(r.error.model_group, "slow");
  assert.ok(out.elapsed_ms >= 250 && out.elapsed_ms < 3000, `elapsed ${out.elapsed_ms} ms`);
  assert.equal(mock.callsTo("wd-hang").length, 1);
  await eventually(() => mock.stats.aborted === before + 1, "the mock to see the abort");
  assert.equal(mock.stats.aborted, before + 1);
});

test("upstream error statuses map to the error classes, checked with instanceof in the worker", async () => {
  const cases = [
    { error: "rate_limit", cls: "RateLimitError", status: 429, not: "NoDeploymentsAvailableError" },
    { error: "auth", cls: "AuthenticationError", status: 401 },
    { error: "unavailable", cls: "ServiceUnavailableError", status: 503 },
    { error: "server", cls: "InternalServerError", status: 500 },
    {
      error: "content_policy",
      cls: "ContentPolicyViolationError",
      status: 400,
      also: "BadRequestError",
    },
  ];
  for (const c of cases) {
    const name = `wd-err-${c.error}`;
    mock.script(name, { error: c.error });
    const out = await run({
      deployments: [{ group: "errs", mock: name, id: name }],
      options: { num_retries: 0 },
      request: { model: "errs", messages },
    });
    const [r] = out.results;
    assert.equal(r.ok, false, `${c.error}: the call must fail`);
    assert.equal(r.error.constructor, c.cls, c.error);
    assert.equal(r.error.name, c.cls, c.error);
    assert.equal(r.error.status, c.status, c.error);
    assert.equal(r.error.is_error, true, c.error);
    assert.ok(r.error.instance_of.includes(c.cls), `${c.error}: ${r.error.instance_of}`);
    assert.ok(r.error.instance_of.includes("LlmuxError"), `${c.error}: ${r.error.instance_of}`);
    if (c.also) assert.ok(r.error.instance_of.includes(c.also), `${c.error}: ${c.also}`);
    if (c.not) assert.ok(!r.error.instance_of.includes(c.not), `${c.error}: not ${c.not}`);
    assert.equal(r.error.deployment_id, name, c.error);
    assert.equal(mock.callsTo(name).length, 1, `${c.error}: calls`);
  }
});

test("an invalid model string throws ConfigError naming the field inside the worker", async () => {
  const out = await run({
    model_list: [
      {
        model_name: "ok",
        litellm_params: { model: "openai/gpt-4o-mini", api_base: mock.base("x") },
      },
      { model_name: "bad", litellm_params: { model: "" } },
    ],
    request: { model: "ok", messages },
  });
  assert.ok(out.config_error, "new Router must throw");
  assert.equal(out.config_error.constructor, "ConfigError");
  assert.ok(out.config_error.instance_of.includes("ConfigError"));
  assert.equal(out.config_error.field, "model_list[1].litellm_params.model");
  assert.equal(mock.callsTo("x").length, 0);
});

test("50 concurrent completions in one worker invocation are all answered", async () => {
  const out = await run({
    deployments: [
      { group: "many", mock: "wd-many-a", id: "wd-many-a" },
      { group: "many", mock: "wd-many-b", id: "wd-many-b" },
    ],
    request: { model: "many", messages },
    count: 50,
  });
  assert.equal(out.results.length, 50);
  const failed = out.results.filter((r) => !r.ok);
  assert.deepEqual(failed, [], "no call fails");
  for (const r of out.results) {
    assert.equal(r.body.choices[0].message.content, `Hello from ${r.hidden.model_id}`);
    assert.equal(r.hidden.attempts, 1);
  }
  const a = mock.callsTo("wd-many-a").length;
  const b = mock.callsTo("wd-many-b").length;
  assert.equal(a + b, 50, "one upstream call per completion");
  const prompts = new Set(
    [...mock.callsTo("wd-many-a"), ...mock.callsTo("wd-many-b")].map(
      (c) => c.body.messages[0].content,
    ),
  );
  assert.equal(prompts.size, 50, "every request reached the mock once");
  const answeredBy = out.results.filter((r) => r.hidden.model_id === "wd-many-a").length;
  assert.equal(answeredBy, a, "answers from wd-many-a match its upstream calls");
});

/** POSTs a spec to the worker's /stream route. */
const streamRoute = (spec) =>
  mf.dispatchFetch("http://worker.test/stream", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(spec),
  });

const STREAM_REPLY = "Streaming from inside workerd works";

/** The text of an SSE response, parsed by the official openai client (throws its errors). */
async function openaiText(res) {
  const { Stream } = await import("openai/core/streaming");
  let text = "";
  for await (const chunk of Stream.fromSSEResponse(res, new AbortController()))
    text += chunk.choices[0]?.delta?.content ?? "";
  return text;
}

test("a stream piped into the worker's Response reads back with the openai client", async () => {
  mock.reset();
  mock.script("s", { reply: STREAM_REPLY });
  const res = await streamRoute({
    deployments: [{ group: "chat", mock: "s", id: "s" }],
    request: { model: "chat", messages },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-llmux-model-id"), "s");
  assert.equal(await openaiText(res), STREAM_REPLY);
  assert.equal(mock.callsTo("s")[0].body.stream, true);
});

test("leaving for-await inside the worker closes the upstream connection", async () => {
  mock.reset();
  mock.script("s", { reply: STREAM_REPLY, chunk_delay_ms: 50 });
  const res = await streamRoute({
    deployments: [{ group: "chat", mock: "s", id: "s" }],
    request: { model: "chat", messages },
    break_after: 1,
  });
  assert.deepEqual(await res.json(), { text: "Streaming" });
  await eventually(() => mock.stats.aborted === 1, "the mock to see the connection close");
});

test("a mid-stream reset in workerd reaches the openai client as an APIError", async () => {
  mock.reset();
  mock.script("s", { reply: STREAM_REPLY, reset: "mid_body" });
  const res = await streamRoute({
    deployments: [{ group: "chat", mock: "s", id: "s" }],
    request: { model: "chat", messages },
  });
  const { APIError } = await import("openai");
  await assert.rejects(openaiText(res), (e) => e instanceof APIError);
});

test("stream_timeout ends a stalled stream in workerd", async () => {
  mock.reset();
  mock.script("s", { reply: STREAM_REPLY, chunk_delay_ms: 3000 });
  const started = Date.now();
  const res = await streamRoute({
    deployments: [{ group: "chat", mock: "s", id: "s" }],
    options: { stream_timeout: 0.3 },
    request: { model: "chat", messages },
  });
  await assert.rejects(openaiText(res), /stream_timeout/);
  assert.ok(Date.now() - started < 2500, "did not wait for the stalled chunk");
});

test("an error before the first chunk is retried inside workerd", async () => {
  mock.reset();
  mock.script("a", { error: "server" });
  const res = await streamRoute({
    deployments: [
      { group: "chat", mock: "a", id: "a", weight: 1_000_000 },
      { group: "chat", mock: "b", id: "b", weight: 1 },
    ],
    request: { model: "chat", messages },
  });
  assert.equal(res.headers.get("x-llmux-model-id"), "b");
  assert.equal(await openaiText(res), "Hello from b");
  assert.equal(mock.calls.length, 2);
});

test("{ signal } aborts the upstream request in workerd (host loop and the core's fetch)", async () => {
  for (const [name, params] of [
    ["wd-sig-host", {}],
    ["wd-sig-core", { max_retries: 1 }],
  ]) {
    mock.script(name, { hang: true });
    const before = mock.stats.aborted;
    const out = await run({
      deployments: [{ group: "sig", mock: name, id: name, params }],
      options: { num_retries: 2, timeout: 30 },
      request: { model: "sig", messages },
      abort_after_ms: 300,
    });
    const [r] = out.results;
    assert.equal(r.ok, false, JSON.stringify(r));
    assert.equal(r.error.name, "AbortError", JSON.stringify(r.error));
    assert.ok(out.elapsed_ms < 5000, `${out.elapsed_ms} ms`);
    await eventually(() => mock.stats.aborted === before + 1, `${name} upstream aborted`);
    assert.equal(mock.callsTo(name).length, 1, "no retry after the caller left");
  }
});

test("router.fetch passes the Request's signal on in workerd", async () => {
  mock.script("wd-sig-gw", { hang: true });
  const before = mock.stats.aborted;
  const out = await run({
    deployments: [{ group: "sig", mock: "wd-sig-gw", id: "wd-sig-gw" }],
    options: { timeout: 30, gateway: { master_key: "sk-gw" } },
    request: { model: "sig", messages },
    abort_after_ms: 300,
    via_gateway: true,
  });
  assert.ok(out.elapsed_ms < 5000, `${out.elapsed_ms} ms`);
  await eventually(() => mock.stats.aborted === before + 1, "gateway upstream aborted");
  assert.equal(mock.callsTo("wd-sig-gw").length, 1);
});

test("a redirect is never followed in workerd: the key never reaches the other origin (#16)", async () => {
  for (const [name, params] of [
    // OpenAI takes the host loop; Anthropic (x-api-key) the core's own fetch.
    ["wd-redir-openai", {}],
    [
      "wd-redir-anthropic",
      { model: "anthropic/claude-3-5-haiku-latest", api_base: `${mock.url}/wd-redir-anthropic` },
    ],
  ]) {
    mock.script(name, {
      status: 307,
      headers: { location: `${mock.url}/wd-redir-elsewhere/v1/chat/completions` },
      body_raw: "",
    });
    const out = await run({
      deployments: [{ group: "redir", mock: name, id: name, params }],
      options: { num_retries: 0 },
      request: { model: "redir", messages },
    });
    const [r] = out.results;
    assert.equal(r.ok, false, `${name}: a 3xx is an error reply`);
    assert.equal(mock.callsTo(name).length, 1, name);
    assert.equal(mock.callsTo("wd-redir-elsewhere").length, 0, `${name}: not followed`);
    assert.ok(!JSON.stringify(r.error).includes("sk-workerd-binding"), `${name}: no key`);
  }
});

test("the API adapters load and translate in workerd: Messages, Responses, generateContent", async () => {
  const deployments = [{ group: "chat", mock: "wd-api", id: "wd-api-1" }];
  const messagesOut = await run({
    deployments,
    endpoint: "messages",
    request: { model: "chat", max_tokens: 16, messages: [{ role: "user", content: "hi" }] },
  });
  const [m] = messagesOut.results;
  assert.equal(m.ok, true, JSON.stringify(m.error));
  assert.equal(m.body.type, "message");
  assert.deepEqual(m.body.content, [{ type: "text", text: "Hello from wd-api" }]);
  assert.equal(m.body.stop_reason, "end_turn");
  assert.equal(m.hidden.model_id, "wd-api-1");

  const responsesOut = await run({
    deployments,
    endpoint: "responses",
    request: { model: "chat", input: "hi" },
  });
  const [r] = responsesOut.results;
  assert.equal(r.ok, true, JSON.stringify(r.error));
  assert.equal(r.body.object, "response");
  assert.equal(r.body.output[0].content[0].text, "Hello from wd-api");

  const geminiOut = await run({
    deployments,
    endpoint: "generateContent",
    request: { model: "chat", contents: "hi" },
  });
  const [g] = geminiOut.results;
  assert.equal(g.ok, true, JSON.stringify(g.error));
  assert.deepEqual(g.body.candidates[0].content.parts, [{ text: "Hello from wd-api" }]);
  assert.equal(mock.callsTo("wd-api").length, 3);
});

test("rerank in workerd: Cohere's /v2/rerank answered, priced per search unit", async () => {
  const out = await run({
    model_list: [
      {
        model_name: "rerank",
        litellm_params: {
          model: "cohere/rerank-v3.5",
          api_base: `${mock.url}/wd-rerank`,
          api_key: "os.environ/UPSTREAM_KEY",
        },
        model_info: { id: "wd-rerank-1" },
      },
    ],
    endpoint: "rerank",
    request: {
      model: "rerank",
      query: "capital of France",
      documents: ["Berlin is in Germany.", "Paris is the capital of France."],
      top_n: 1,
    },
  });
  const [r] = out.results;
  assert.equal(r.ok, true, JSON.stringify(r.error));
  assert.deepEqual(
    r.body.results.map((x) => x.index),
    [1],
  );
  assert.equal(r.hidden.model_id, "wd-rerank-1");
  assert.equal(r.hidden.response_cost, 0.002);
  const [call] = mock.callsTo("wd-rerank");
  assert.equal(call.path, "/wd-rerank/v2/rerank");
  assert.equal(call.headers.authorization, "Bearer sk-workerd-binding");
});

test("a deployment priced per second costs rate × its response time (workerd's clock)", async () => {
  const rate = 0.25;
  mock.script("wd-timed", { delay_ms: 200 });
  const out = await run({
    deployments: [
      { group: "chat", mock: "wd-timed", id: "t1", params: { input_cost_per_second: rate } },
    ],
    request: { model: "chat", messages },
  });
  const [r] = out.results;
  assert.equal(r.ok, true, JSON.stringify(r));
  const cost = r.hidden.response_cost;
  assert.ok(cost >= rate * 0.2, `cost ${cost} covers the 200 ms delay`);
  assert.ok(cost <= (rate * out.elapsed_ms) / 1000, `cost ${cost} within ${out.elapsed_ms} ms`);
});

test("a custom routing strategy chooses among candidates in workerd, cooldowns respected (#21)", async () => {
  mock.reset();
  // c is preferred but answers 429 once: it cools down and is offered no more.
  mock.script("c", { error: "rate_limit" });
  const out = await run({
    deployments: ["a", "b", "c"].map((n) => ({ group: "chat", mock: n, id: n })),
    prefer: "c",
    request: { model: "chat", messages },
    then: 2,
  });
  assert.deepEqual(
    out.results.map((r) => r.ok && r.hidden.model_id),
    ["b", "b", "b"],
  );
  assert.deepEqual(out.asked, [
    ["a", "b", "c"],
    ["a", "b"],
    ["a", "b"],
    ["a", "b"],
  ]);
  assert.equal(mock.callsTo("c").length, 1);
  assert.equal(mock.callsTo("a").length, 0);
});
