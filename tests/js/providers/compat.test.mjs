// OpenAI-compatible presets (`groq/`, `voyage/`, …) end to end: the request the provider
// receives (path under api_base, Bearer key, the preset's parameter quirks) and the reply,
// priced, for the providers' own payloads scripted on the loopback mock.
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, beforeEach, describe, it } from "node:test";

import { Router, errors } from "../../../js/node.js";
import { startMockServer } from "../../mock/server.mjs";

const T = { timeout: 15_000 };
const KEY = "sk-compat-0123456789abcdef";

const fixture = (name) =>
  JSON.parse(fs.readFileSync(new URL(`../../fixtures/compat/${name}`, import.meta.url), "utf8"));

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

/** A Router whose group `g` is one deployment on mock deployment `name`. */
const routerFor = (name, model, params = {}) =>
  new Router({
    model_list: [
      {
        model_name: "g",
        litellm_params: { model, api_base: mock.base(name), api_key: KEY, ...params },
        model_info: { id: name },
      },
    ],
    num_retries: 0,
  });

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

const close = (a, b) => Math.abs(a - b) < 1e-12;

describe("groq", () => {
  it(
    "completion posts to <api_base>/chat/completions without the params Groq rejects and returns Groq's reply priced",
    T,
    async () => {
      const reply = { ...fixture("groq_chat_response.json"), model: "openai/gpt-oss-20b" };
      mock.script("gq1", { status: 200, body: reply });
      const router = routerFor("gq1", "groq/openai/gpt-oss-20b");
      const res = await router.completion({
        model: "g",
        messages: [{ role: "user", content: "Explain fast LLMs", name: "alice" }],
        logprobs: true,
        top_logprobs: 3,
        logit_bias: { 50256: -100 },
        max_completion_tokens: 600,
      });

      const calls = mock.callsTo("gq1");
      assert.equal(calls.length, 1);
      const [call] = calls;
      assert.equal(call.path, "/gq1/v1/chat/completions");
      assert.equal(call.headers.authorization, `Bearer ${KEY}`);
      assert.deepEqual(call.body, {
        model: "openai/gpt-oss-20b",
        messages: [{ role: "user", content: "Explain fast LLMs" }],
        max_completion_tokens: 600,
      });

      assert.deepEqual(JSON.parse(JSON.stringify(res)), reply);
      const h = res._hidden_params;
      assert.equal(h.custom_llm_provider, "groq");
      assert.equal(h.model_id, "gq1");
      assert.equal(h.api_base, mock.base("gq1"));
      // groq/openai/gpt-oss-20b: 18 prompt tokens at 7.5e-8 + 556 completion tokens at 3e-7.
      assert.ok(close(h.response_cost, 18 * 7.5e-8 + 556 * 3e-7), `cost ${h.response_cost}`);
    },
  );

  it("Groq's 429 body is a RateLimitError with its retry-after", T, async () => {
    mock.script("gq2", {
      status: 429,
      headers: { "retry-after": "4" },
      body: fixture("groq_error_429.json"),
    });
    const router = routerFor("gq2", "groq/openai/gpt-oss-20b");
    const err = await rejection(
      router.completion({ model: "g", messages: [{ role: "user", content: "hi" }] }),
    );
    assert.ok(err instanceof errors.RateLimitError, String(err));
    assert.equal(err.status, 429);
    assert.equal(err.llm_provider, "groq");
    assert.match(err.message, /Rate limit reached for model/);
    assert.equal(mock.callsTo("gq2").length, 1);
  });

  it("a groq deployment without api_key is a ConfigError naming GROQ_API_KEY", T, () => {
    assert.throws(
      () =>
        new Router({
          model_list: [{ model_name: "g", litellm_params: { model: "groq/openai/gpt-oss-20b" } }],
        }),
      (e) =>
        e instanceof errors.ConfigError &&
        e.field === "model_list[0].litellm_params" &&
        /GROQ_API_KEY/.test(e.message),
    );
  });
});

describe("voyage", () => {
  it(
    "embedding posts to <api_base>/embeddings with output_dimension and returns the list with prompt_tokens, priced",
    T,
    async () => {
      mock.script("vo1", { status: 200, body: fixture("voyage_embeddings_response.json") });
      const router = routerFor("vo1", "voyage/voyage-3.5");
      const res = await router.embedding({
        model: "g",
        input: ["The food was delicious", "The waiter was rude"],
        dimensions: 256,
        encoding_format: "float",
        input_type: "document",
      });

      const [call] = mock.callsTo("vo1");
      assert.equal(call.path, "/vo1/v1/embeddings");
      assert.equal(call.headers.authorization, `Bearer ${KEY}`);
      assert.deepEqual(call.body, {
        model: "voyage-3.5",
        input: ["The food was delicious", "The waiter was rude"],
        output_dimension: 256,
        input_type: "document",
      });

      const want = fixture("voyage_embeddings_response.json");
      want.usage = { total_tokens: 10, prompt_tokens: 10 };
      assert.deepEqual(JSON.parse(JSON.stringify(res)), want);
      assert.equal(res._hidden_params.custom_llm_provider, "voyage");
      // voyage/voyage-3.5: 10 tokens at 6e-8.
      assert.ok(close(res._hidden_params.response_cost, 10 * 6e-8));
    },
  );

  it("Voyage's 401 detail body is an AuthenticationError", T, async () => {
    mock.script("vo2", { status: 401, body: fixture("voyage_error_401.json") });
    const router = routerFor("vo2", "voyage/voyage-3.5");
    const err = await rejection(router.embedding({ model: "g", input: "x" }));
    assert.ok(err instanceof errors.AuthenticationError, String(err));
    assert.equal(err.message.includes("Provided API key is invalid."), true);
  });

  it("completion on a voyage deployment is refused without a call", T, async () => {
    const router = routerFor("vo3", "voyage/voyage-3.5");
    const err = await rejection(
      router.completion({ model: "g", messages: [{ role: "user", content: "hi" }] }),
    );
    assert.ok(err instanceof errors.BadRequestError, String(err));
    assert.equal(mock.callsTo("vo3").length, 0);
  });
});

describe("openrouter", () => {
  it("a 200 reply carrying error.code 429 is a RateLimitError", T, async () => {
    mock.script("or1", { status: 200, body: fixture("openrouter_error_in_200.json") });
    const router = routerFor("or1", "openrouter/meta-llama/llama-3.3-70b-instruct:free", {
      extra_headers: { "HTTP-Referer": "https://app.example", "X-Title": "Example" },
    });
    const err = await rejection(
      router.completion({ model: "g", messages: [{ role: "user", content: "hi" }] }),
    );
    assert.ok(err instanceof errors.RateLimitError, String(err));
    assert.equal(err.status, 429);
    const [call] = mock.callsTo("or1");
    assert.equal(call.headers["http-referer"], "https://app.example");
    assert.equal(call.headers["x-title"], "Example");
    assert.deepEqual(call.body.usage, { include: true });
  });
});
