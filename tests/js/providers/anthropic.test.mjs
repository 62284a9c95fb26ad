// The anthropic provider end to end: the router sends Anthropic Messages requests to the
// loopback mock (scripted with Anthropic's real reply payloads from tests/fixtures/anthropic)
// and hands back OpenAI chat.completion objects, priced, or the right error classes.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, beforeEach, describe, it } from "node:test";

import { Router, errors } from "../../../js/node.js";
import { startMockServer } from "../../mock/server.mjs";

const T = { timeout: 15_000 };
const MODEL = "claude-haiku-4-5-20251001";
const KEY = "sk-ant-api03-mock-key";
// Bundled LiteLLM prices of claude-haiku-4-5 (USD per token).
const PRICE = { input: 1e-6, output: 5e-6, cacheRead: 1e-7, cacheWrite: 1.25e-6 };

/** @param {string} path under tests/fixtures/anthropic */
const fixture = (path) =>
  JSON.parse(readFileSync(new URL(`../../fixtures/anthropic/${path}`, import.meta.url), "utf8"));

/** A recorded stream under tests/fixtures/anthropic, as the mock's raw SSE events. */
const sseEvents = (path) =>
  readFileSync(new URL(`../../fixtures/anthropic/${path}`, import.meta.url), "utf8")
    .split(/(?<=\n\n)/)
    .filter((e) => e.length > 0);

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

/** A Router with one anthropic deployment ("claude-a", group "claude") on the mock. */
function anthropicRouter(options = {}, params = {}) {
  return new Router({
    model_list: [
      {
        model_name: "claude",
        litellm_params: {
          model: `anthropic/${MODEL}`,
          api_base: `${mock.url}/anthropic`,
          api_key: KEY,
          ...params,
        },
        model_info: { id: "claude-a" },
      },
    ],
    num_retries: 0,
    ...options,
  });
}

/** The error `promise` rejects with. */
async function rejection(promise) {
  try {
    const value = await promise;
    assert.fail(`expected a rejection, got ${JSON.stringify(value)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    return e;
  }
}

const close = (a, b) => Math.abs(a - b) <= 1e-12 + 1e-9 * Math.abs(b);

describe("anthropic provider", () => {
  it("completion posts a Messages request and returns an OpenAI chat.completion", T, async () => {
    mock.script("anthropic", { status: 200, body: fixture("responses/text.anthropic.json") });
    const router = anthropicRouter();
    const request = fixture("requests/basic.openai.json");
    const res = await router.completion(request);

    const calls = mock.callsTo("anthropic");
    assert.equal(calls.length, 1);
    const call = calls[0];
    assert.equal(call.method, "POST");
    assert.equal(call.path, "/anthropic/v1/messages");
    assert.deepEqual(call.query, {});
    assert.equal(call.headers["x-api-key"], KEY);
    assert.equal(call.headers["anthropic-version"], "2023-06-01");
    assert.match(call.headers["content-type"], /^application\/json/);
    assert.equal(call.headers.authorization, undefined);
    assert.deepEqual(call.body, fixture("requests/basic.anthropic.json"));

    // The provider leaves `created` at 0 (Anthropic reports no time); the router stamps it.
    const { created, ...rest } = JSON.parse(JSON.stringify(res));
    const { created: zero, ...wantRest } = fixture("responses/text.openai.json");
    assert.equal(zero, 0);
    assert.deepEqual(rest, wantRest, "the OpenAI-format reply");
    assert.ok(Math.abs(created - Date.now() / 1000) < 60, `created ${created} is now`);
    const hidden = res._hidden_params;
    assert.equal(hidden.custom_llm_provider, "anthropic");
    assert.equal(hidden.model_id, "claude-a");
    assert.equal(hidden.model_group, "claude");
    assert.equal(hidden.api_base, `${mock.url}/anthropic`);
    const want = 25 * PRICE.input + 10 * PRICE.output;
    assert.ok(close(hidden.response_cost, want), `cost ${hidden.response_cost} != ${want}`);
  });

  it("tools and tool history translate, and tool_use comes back as tool_calls", T, async () => {
    mock.script("anthropic", { status: 200, body: fixture("responses/tool_use.anthropic.json") });
    const router = anthropicRouter();
    const res = await router.completion(fixture("requests/tools.openai.json"));

    assert.equal(mock.callsTo("anthropic").length, 1);
    assert.deepEqual(mock.callsTo("anthropic")[0].body, fixture("requests/tools.anthropic.json"));
    const choice = res.choices[0];
    assert.equal(choice.finish_reason, "tool_calls");
    assert.deepEqual(
      choice.message.tool_calls.map((c) => [
        c.id,
        c.function.name,
        JSON.parse(c.function.arguments),
      ]),
      [
        [
          "toolu_01A09q90qw90lq917835lq9",
          "get_weather",
          { location: "Paris, France", unit: "celsius" },
        ],
        ["toolu_01B19r91rx91mr928946mr0", "get_weather", { location: "Tokyo, Japan" }],
      ],
    );
    assert.equal(res.usage.prompt_tokens, 512);
    assert.equal(res.usage.completion_tokens, 96);
  });

  it("a json_schema response_format comes back as JSON message content", T, async () => {
    mock.script("anthropic", { status: 200, body: fixture("responses/json_tool.anthropic.json") });
    const router = anthropicRouter();
    const res = await router.completion(fixture("requests/json_schema.openai.json"));
    assert.deepEqual(
      mock.callsTo("anthropic")[0].body,
      fixture("requests/json_schema.anthropic.json"),
    );
    assert.deepEqual(JSON.parse(res.choices[0].message.content), { name: "Jane Doe", age: 31 });
    assert.equal(res.choices[0].finish_reason, "stop");
    assert.equal(res.choices[0].message.tool_calls, undefined);
  });

  it("cache reads and writes count as prompt tokens and are reported in usage", T, async () => {
    mock.script("anthropic", { status: 200, body: fixture("responses/cached.anthropic.json") });
    const res = await anthropicRouter().completion({
      model: "claude",
      messages: [{ role: "user", content: "Summarise the contract." }],
    });
    assert.equal(mock.callsTo("anthropic")[0].body.max_tokens, 64000, "model's output limit");
    assert.deepEqual(res.usage, fixture("responses/cached.openai.json").usage);
    assert.equal(res.choices[0].finish_reason, "length");
  });

  it("cache writes are priced at the cache-creation price, as LiteLLM does", T, async () => {
    mock.script("anthropic", { status: 200, body: fixture("responses/cached.anthropic.json") });
    const res = await anthropicRouter().completion({
      model: "claude",
      messages: [{ role: "user", content: "Summarise the contract." }],
    });
    const want =
      21 * PRICE.input + 1800 * PRICE.cacheWrite + 2048 * PRICE.cacheRead + 300 * PRICE.output;
    const got = res._hidden_params.response_cost;
    assert.ok(close(got, want), `cost ${got} != ${want}`);
  });

  it("Anthropic error bodies become the matching error classes", T, async () => {
    const cases = [
      ["rate_limit_error", 429, errors.RateLimitError, true],
      ["overloaded_error", 529, errors.InternalServerError, true],
      ["authentication_error", 401, errors.AuthenticationError, false],
      ["prompt_too_long", 400, errors.ContextWindowExceededError, false],
      ["content_filter", 400, errors.ContentPolicyViolationError, false],
      ["invalid_request_error", 400, errors.BadRequestError, false],
    ];
    for (const [name, status, cls, retryable] of cases) {
      mock.reset();
      mock.script("anthropic", {
        status,
        body: fixture(`errors/${name}.json`),
        headers: status === 429 ? { "retry-after": "3" } : {},
      });
      const err = await rejection(
        anthropicRouter().completion({
          model: "claude",
          messages: [{ role: "user", content: "Hi" }],
        }),
      );
      assert.ok(err instanceof cls, `${name}: got ${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.status, status, name);
      assert.equal(err.llm_provider, "anthropic", name);
      assert.equal(err.model, MODEL, name);
      assert.equal(err.deployment_id, "claude-a", name);
      assert.equal(err.retryable, retryable, name);
      assert.ok(err.message.includes(fixture(`errors/${name}.json`).error.message), name);
      assert.equal(mock.callsTo("anthropic").length, 1, `${name}: one upstream call`);
    }
    assert.ok(errors.ContextWindowExceededError.prototype instanceof errors.BadRequestError);
  });

  it(
    "a prompt too long for Claude falls back to the context_window_fallbacks group",
    T,
    async () => {
      mock.script("anthropic", { status: 400, body: fixture("errors/prompt_too_long.json") });
      const router = new Router({
        model_list: [
          {
            model_name: "claude",
            litellm_params: {
              model: `anthropic/${MODEL}`,
              api_base: `${mock.url}/anthropic`,
              api_key: KEY,
            },
            model_info: { id: "claude-a" },
          },
          {
            model_name: "big",
            litellm_params: {
              model: "openai/mock-big",
              api_base: mock.base("big"),
              api_key: "sk-big",
            },
            model_info: { id: "big" },
          },
        ],
        num_retries: 0,
        context_window_fallbacks: [{ claude: ["big"] }],
      });
      const res = await router.completion({
        model: "claude",
        messages: [{ role: "user", content: "Hi" }],
      });
      assert.equal(res._hidden_params.model_id, "big");
      assert.equal(mock.callsTo("anthropic").length, 1);
      assert.equal(mock.callsTo("big").length, 1);
    },
  );

  it(
    "embedding on an anthropic deployment is a BadRequestError with no upstream call",
    T,
    async () => {
      const err = await rejection(anthropicRouter().embedding({ model: "claude", input: "hello" }));
      assert.ok(
        err instanceof errors.BadRequestError,
        `${err?.constructor?.name}: ${err?.message}`,
      );
      assert.equal(mock.callsTo("anthropic").length, 0);
    },
  );

  it("n > 1 is refused before any upstream call", T, async () => {
    const err = await rejection(
      anthropicRouter().completion({
        model: "claude",
        n: 2,
        messages: [{ role: "user", content: "Hi" }],
      }),
    );
    assert.ok(err instanceof errors.BadRequestError, `${err?.constructor?.name}: ${err?.message}`);
    assert.equal(mock.callsTo("anthropic").length, 0);
  });

  it("stream: true streams Anthropic events as OpenAI chunks with usage", T, async () => {
    mock.script("anthropic", { sse: sseEvents("stream/text.sse"), done: false });
    const router = anthropicRouter();
    const stream = await router.completion({
      model: "claude",
      messages: [{ role: "user", content: "Name the primary colours." }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const sent = mock.callsTo("anthropic")[0];
    assert.equal(sent.path, "/anthropic/v1/messages");
    assert.equal(sent.body.stream, true);
    assert.equal(sent.body.stream_options, undefined);
    assert.ok(chunks.every((c) => c.object === "chat.completion.chunk"));
    assert.equal(chunks[0].choices[0].delta.role, "assistant");
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
    assert.equal(text, "Red, yellow and blue.");
    assert.equal(chunks.at(-2).choices[0].finish_reason, "stop");
    assert.deepEqual(chunks.at(-1).choices, []);
    assert.deepEqual(chunks.at(-1).usage, fixture("responses/text.openai.json").usage);
    // The usage Anthropic reported is what the router books.
    const stats = await router.getUsageStats();
    assert.equal(stats.deployments["claude-a"].completion_tokens, 10);
    assert.equal(stats.deployments["claude-a"].streams, 1);
  });

  it("streamed tool_use blocks become tool-call deltas numbered from 0", T, async () => {
    mock.script("anthropic", { sse: sseEvents("stream/tool_use.sse"), done: false });
    const stream = await anthropicRouter().completion({
      ...fixture("requests/tools.openai.json"),
      stream: true,
    });
    const calls = new Map();
    let finish;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (!choice) continue;
      finish = choice.finish_reason ?? finish;
      for (const call of choice.delta.tool_calls ?? []) {
        const seen = calls.get(call.index) ?? { id: call.id, name: call.function.name, args: "" };
        seen.args += call.function.arguments ?? "";
        calls.set(call.index, seen);
      }
    }
    assert.deepEqual([...calls.keys()], [0, 1]);
    assert.equal(calls.get(0).id, "toolu_01A09q90qw90lq917835lq9");
    assert.deepEqual(JSON.parse(calls.get(0).args), { location: "Paris, France", unit: "celsius" });
    assert.deepEqual(JSON.parse(calls.get(1).args), { location: "Tokyo, Japan" });
    assert.equal(finish, "tool_calls");
  });

  it(
    "a mid-stream overloaded_error event is an InternalServerError from the iterator",
    T,
    async () => {
      mock.script("anthropic", { sse: sseEvents("stream/error_overloaded.sse"), done: false });
      const stream = await anthropicRouter().completion({
        model: "claude",
        messages: [{ role: "user", content: "Hi" }],
        stream: true,
      });
      const seen = [];
      const err = await rejection(
        (async () => {
          for await (const chunk of stream) seen.push(chunk);
        })(),
      );
      assert.ok(err instanceof errors.InternalServerError, `${err?.name}: ${err?.message}`);
      assert.equal(err.status, 529);
      assert.match(err.message, /Overloaded/);
      assert.equal(seen.map((c) => c.choices[0]?.delta?.content ?? "").join(""), "Hel");
      assert.equal(mock.callsTo("anthropic").length, 1, "no retry after the first chunk");
    },
  );
});
