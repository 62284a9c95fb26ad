// The gemini provider (Google AI Studio) end to end: the router sends generateContent and
// batchEmbedContents requests to the loopback mock (scripted with Gemini's real reply payloads
// from tests/fixtures/gemini) and hands back OpenAI objects, priced, or the right error classes.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, beforeEach, describe, it } from "node:test";

import { Router, errors } from "../../../js/node.js";
import { startMockServer } from "../../mock/server.mjs";

const T = { timeout: 15_000 };
const KEY = "AIzaSyD-mock-key-0123456789abcdefghij";
// Bundled LiteLLM prices of gemini/gemini-2.5-flash (USD per token).
const PRICE = { input: 3e-7, output: 2.5e-6, cacheRead: 3e-8 };

/** @param {string} name under tests/fixtures/gemini */
const fixture = (name) =>
  JSON.parse(readFileSync(new URL(`../../fixtures/gemini/${name}`, import.meta.url), "utf8"));

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

/** One gemini deployment `id` (mock name "gemini") serving `group`. */
const geminiDeployment = (group, id, params = {}) => ({
  model_name: group,
  litellm_params: {
    model: "gemini/gemini-2.5-flash",
    api_base: `${mock.url}/gemini`,
    api_key: KEY,
    ...params,
  },
  model_info: { id },
});

/** A Router whose group "gemini-chat" is one gemini deployment ("gem-a"). */
const geminiRouter = (options = {}, params = {}) =>
  new Router({
    model_list: [geminiDeployment("gemini-chat", "gem-a", params)],
    num_retries: 0,
    ...options,
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

const close = (a, b) => Math.abs(a - b) <= 1e-15 + 1e-9 * Math.abs(b);
const GENERATE = "/gemini/v1beta/models/gemini-2.5-flash:generateContent";

describe("gemini provider", () => {
  it(
    "completion posts generateContent with x-goog-api-key and returns a priced chat.completion",
    T,
    async () => {
      mock.script("gemini", { status: 200, body: fixture("response_text.json") });
      const router = geminiRouter();
      const res = await router.completion(fixture("chat_request.json"));

      const calls = mock.callsTo("gemini");
      assert.equal(calls.length, 1);
      const call = calls[0];
      assert.equal(call.method, "POST");
      assert.equal(call.path, GENERATE);
      assert.deepEqual(call.query, {}, "the key is not a query parameter");
      assert.equal(call.headers["x-goog-api-key"], KEY);
      assert.equal(call.headers.authorization, undefined);
      assert.match(call.headers["content-type"], /^application\/json/);
      assert.deepEqual(call.body, fixture("chat_request.expected.json"));

      // The provider reports no creation time: the router stamps its clock (Unix seconds).
      const nowSeconds = Math.floor(Date.now() / 1000);
      assert.ok(Math.abs(res.created - nowSeconds) <= 5, `created ${res.created}`);
      assert.deepEqual(JSON.parse(JSON.stringify(res)), {
        ...fixture("response_text.expected.json"),
        created: res.created,
      });
      const hidden = res._hidden_params;
      assert.equal(hidden.custom_llm_provider, "gemini");
      assert.equal(hidden.model_id, "gem-a");
      assert.equal(hidden.api_base, `${mock.url}/gemini`);
      // 2061 prompt tokens of which 2048 cached, 8 + 43 thought completion tokens.
      const want = 13 * PRICE.input + 2048 * PRICE.cacheRead + 51 * PRICE.output;
      assert.ok(close(hidden.response_cost, want), `cost ${hidden.response_cost} != ${want}`);
    },
  );

  it(
    "function calls come back as tool_calls whose ids round-trip with their thought signatures",
    T,
    async () => {
      mock.script(
        "gemini",
        { status: 200, body: fixture("response_tool_calls.json") },
        { status: 200, body: fixture("response_text.json") },
      );
      const router = geminiRouter();
      const messages = [{ role: "user", content: "Weather and time in Paris?" }];
      const first = await router.completion({ model: "gemini-chat", messages });
      const choice = first.choices[0];
      assert.equal(choice.finish_reason, "tool_calls");
      assert.equal(choice.message.content, null);
      const calls = choice.message.tool_calls;
      assert.deepEqual(
        calls.map((c) => [c.function.name, JSON.parse(c.function.arguments)]),
        [
          ["get_weather", { city: "Paris", unit: "celsius" }],
          ["get_time", { timezone: "Europe/Paris" }],
        ],
      );
      assert.match(calls[0].id, /^call_[0-9a-f]{24}__thought__/);
      assert.match(calls[1].id, /^call_[0-9a-f]{24}$/);

      const followUp = [
        ...messages,
        choice.message,
        { role: "tool", tool_call_id: calls[0].id, content: '{"temperature": 21}' },
        { role: "tool", tool_call_id: calls[1].id, content: "14:05" },
      ];
      const second = await router.completion({ model: "gemini-chat", messages: followUp });
      assert.equal(second.choices[0].message.content, "The capital of France is Paris.");
      const sent = mock.callsTo("gemini")[1].body.contents;
      assert.deepEqual(
        sent[1].parts[0].thoughtSignature,
        fixture("response_tool_calls.json").candidates[0].content.parts[0].thoughtSignature,
      );
      assert.deepEqual(sent[2], {
        role: "user",
        parts: [
          { functionResponse: { name: "get_weather", response: { temperature: 21 } } },
          { functionResponse: { name: "get_time", response: { content: "14:05" } } },
        ],
      });
    },
  );

  it("embedding posts batchEmbedContents and returns an OpenAI embedding list", T, async () => {
    mock.script("gemini", { status: 200, body: fixture("embedding_response.json") });
    const router = new Router({
      model_list: [
        geminiDeployment("gemini-embed", "gem-e", { model: "gemini/gemini-embedding-001" }),
      ],
    });
    const res = await router.embedding(fixture("embedding_request.json"));
    const call = mock.callsTo("gemini")[0];
    assert.equal(call.path, "/gemini/v1beta/models/gemini-embedding-001:batchEmbedContents");
    assert.equal(call.headers["x-goog-api-key"], KEY);
    assert.deepEqual(call.body, fixture("embedding_request.expected.json"));
    assert.deepEqual(JSON.parse(JSON.stringify(res)), fixture("embedding_response.expected.json"));
    assert.equal(res._hidden_params.custom_llm_provider, "gemini");
    assert.equal(res._hidden_params.model_id, "gem-e");
  });

  it("RESOURCE_EXHAUSTED 429 is a RateLimitError carrying Gemini's retryDelay", T, async () => {
    mock.script("gemini", { status: 429, body: fixture("error_rate_limit.json") });
    const err = await rejection(geminiRouter().completion(fixture("chat_request.json")));
    assert.ok(err instanceof errors.RateLimitError, `${err?.name}: ${err?.message}`);
    assert.equal(err.status, 429);
    assert.equal(err.llm_provider, "gemini");
    assert.equal(err.deployment_id, "gem-a");
    assert.equal(err.retryable, true);
    assert.equal(err.retry_after_ms, 37_000);
    assert.match(err.message, /exceeded your current quota/);
    assert.ok(!err.message.includes(KEY));
    assert.equal(mock.callsTo("gemini").length, 1);
  });

  it(
    "an invalid API key (400 API_KEY_INVALID) is an AuthenticationError with status 401",
    T,
    async () => {
      mock.script("gemini", { status: 400, body: fixture("error_invalid_api_key.json") });
      const err = await rejection(geminiRouter().completion(fixture("chat_request.json")));
      assert.ok(err instanceof errors.AuthenticationError, `${err?.name}: ${err?.message}`);
      assert.equal(err.status, 401);
    },
  );

  it(
    "a too-long prompt is a ContextWindowExceededError and takes context_window_fallbacks",
    T,
    async () => {
      mock.script(
        "gemini",
        { status: 400, body: fixture("error_context_window.json") },
        { status: 400, body: fixture("error_context_window.json") },
      );
      const err = await rejection(geminiRouter().completion(fixture("chat_request.json")));
      assert.ok(err instanceof errors.ContextWindowExceededError, `${err?.name}: ${err?.message}`);
      assert.ok(err instanceof errors.BadRequestError);

      const router = new Router({
        model_list: [
          geminiDeployment("gemini-chat", "gem-a"),
          {
            model_name: "big",
            litellm_params: {
              model: "openai/mock-big",
              api_base: mock.base("big"),
              api_key: "sk-b",
            },
            model_info: { id: "big" },
          },
        ],
        num_retries: 0,
        context_window_fallbacks: [{ "gemini-chat": ["big"] }],
      });
      const res = await router.completion(fixture("chat_request.json"));
      assert.equal(res._hidden_params.model_id, "big");
      assert.equal(res._hidden_params.fallback_model_group, "big");
      assert.equal(mock.callsTo("gemini").length, 2);
    },
  );

  it(
    "a blocked prompt is a ContentPolicyViolationError and takes content_policy_fallbacks",
    T,
    async () => {
      mock.script("gemini", { status: 200, body: fixture("response_blocked_prompt.json") });
      const err = await rejection(geminiRouter().completion(fixture("chat_request.json")));
      assert.ok(err instanceof errors.ContentPolicyViolationError, `${err?.name}: ${err?.message}`);
      assert.ok(err instanceof errors.BadRequestError);
      assert.equal(err.status, 400);
      assert.equal(err.retryable, false);

      mock.script("gemini", { status: 200, body: fixture("response_blocked_prompt.json") });
      const router = new Router({
        model_list: [
          geminiDeployment("gemini-chat", "gem-a"),
          {
            model_name: "lenient",
            litellm_params: {
              model: "openai/mock-l",
              api_base: mock.base("lenient"),
              api_key: "sk-l",
            },
            model_info: { id: "lenient" },
          },
        ],
        num_retries: 0,
        content_policy_fallbacks: [{ "gemini-chat": ["lenient"] }],
      });
      const res = await router.completion(fixture("chat_request.json"));
      assert.equal(res._hidden_params.model_id, "lenient");
      assert.match(res.choices[0].message.content, /Hello from lenient/);
      assert.equal(mock.callsTo("gemini").length, 2);
    },
  );
  it(
    "stream: true posts streamGenerateContent?alt=sse and turns each GenerateContentResponse into chunks",
    T,
    async () => {
      const sse = readFileSync(
        new URL("../../fixtures/gemini/stream/tool_calls.sse", import.meta.url),
        "utf8",
      );
      mock.script("gemini", {
        sse: sse.split(/(?<=\r\n\r\n)/),
        done: false,
        chunk_delay_ms: 1,
      });
      const router = geminiRouter();
      const stream = await router.completion({
        ...fixture("chat_request.json"),
        stream: true,
        stream_options: { include_usage: true },
      });
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);

      const [call] = mock.callsTo("gemini");
      assert.equal(call.path, "/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent");
      assert.deepEqual(call.query, { alt: "sse" });
      assert.equal(call.headers["x-goog-api-key"], KEY);
      assert.deepEqual(call.body, fixture("chat_request.expected.json"));

      // Exactly the chunks of the native replay test, but for the router's clock.
      const expected = fixture("stream/tool_calls.chunks.json");
      assert.deepEqual(
        chunks.map(({ created, ...c }) => c),
        expected.map(({ created, ...c }) => c),
      );
      assert.equal(chunks.at(-2).choices[0].finish_reason, "tool_calls");
      const stats = await router.getUsageStats();
      assert.equal(stats.deployments["gem-a"].prompt_tokens, 61);
      assert.equal(stats.deployments["gem-a"].completion_tokens, 24);
    },
  );

  it(
    "an error event before any chunk rejects the call; after chunks the iterator throws its class",
    T,
    async () => {
      const text = (name) =>
        readFileSync(new URL(`../../fixtures/gemini/stream/${name}`, import.meta.url), "utf8");
      mock.script("gemini", { sse: [text("error_rate_limit.sse")], done: false });
      const err = await rejection(
        geminiRouter().completion({ ...fixture("chat_request.json"), stream: true }),
      );
      assert.ok(err instanceof errors.RateLimitError, `${err?.name}: ${err?.message}`);
      assert.equal(err.status, 429);

      mock.script("gemini", {
        sse: text("error_overloaded.sse").split(/(?<=\r\n\r\n)/),
        done: false,
      });
      const stream = await geminiRouter().completion({
        ...fixture("chat_request.json"),
        stream: true,
      });
      const seen = [];
      const thrown = await rejection(
        (async () => {
          for await (const chunk of stream) seen.push(chunk);
        })(),
      );
      assert.ok(thrown instanceof errors.ServiceUnavailableError, thrown.name);
      assert.equal(seen[0].choices[0].delta.content, "Once upon a time");
      assert.equal(mock.callsTo("gemini").length, 2);
    },
  );
});
