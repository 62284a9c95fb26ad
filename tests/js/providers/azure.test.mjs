// Azure OpenAI (`azure/`) and Azure AI (`azure_ai/`) end to end: the request Azure receives
// (deployment path, api-version, api-key / Bearer auth, translated body) and the OpenAI-format
// reply, priced, for Azure's own payloads scripted on the loopback mock.
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, beforeEach, describe, it } from "node:test";

import { Router, errors } from "../../../js/node.js";
import { startMockServer } from "../../mock/server.mjs";

const T = { timeout: 15_000 };
const KEY = "0123456789abcdef0123456789abcdef";
const MESSAGES = [{ role: "user", content: "Hi there!" }];

const fixture = (name) =>
  JSON.parse(fs.readFileSync(new URL(`../../fixtures/azure/${name}`, import.meta.url), "utf8"));

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

/** A Router whose group `chat` is one deployment with these litellm_params. */
const routerWith = (params, options = {}) =>
  new Router({
    model_list: [{ model_name: "chat", litellm_params: params, model_info: { id: "az" } }],
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

const close = (a, b) => Math.abs(a - b) < 1e-12;

describe("azure (Azure OpenAI)", () => {
  it(
    "completion posts to /openai/deployments/<deployment>/chat/completions with api-version and api-key, and returns Azure's reply priced",
    T,
    async () => {
      const reply = fixture("chat_response.json");
      mock.script("az1", { status: 200, body: reply });
      const router = routerWith({
        model: "azure/gpt-4o",
        api_base: `${mock.url}/az1`,
        api_version: "2024-10-21",
        api_key: KEY,
      });
      const res = await router.completion({
        model: "chat",
        messages: MESSAGES,
        max_tokens: 50,
        service_tier: "auto",
      });

      const calls = mock.callsTo("az1");
      assert.equal(calls.length, 1);
      const call = calls[0];
      assert.equal(call.method, "POST");
      assert.equal(call.path, "/az1/openai/deployments/gpt-4o/chat/completions");
      assert.deepEqual(call.query, { "api-version": "2024-10-21" });
      assert.equal(call.headers["api-key"], KEY);
      assert.equal(call.headers.authorization, undefined);
      assert.deepEqual(call.body, { model: "gpt-4o", messages: MESSAGES, max_tokens: 50 });

      assert.deepEqual(JSON.parse(JSON.stringify(res)), reply);
      assert.deepEqual(res.prompt_filter_results, reply.prompt_filter_results);
      const h = res._hidden_params;
      assert.equal(h.custom_llm_provider, "azure");
      assert.equal(h.model_id, "az");
      assert.equal(h.api_base, `${mock.url}/az1`);
      // azure/gpt-4o: 1000 prompt tokens at 2.5e-6 + 10 completion tokens at 1e-5.
      assert.ok(close(h.response_cost, 0.0026), `response_cost ${h.response_cost}`);
    },
  );

  it("an azure_ad_token is sent as Authorization: Bearer instead of api-key", T, async () => {
    mock.script("az2", { status: 200, body: fixture("chat_response.json") });
    const router = routerWith({
      model: "azure/my-deployment",
      api_base: `${mock.url}/az2`,
      azure_ad_token: "entra-access-token",
    });
    await router.completion({ model: "chat", messages: MESSAGES });
    const [call] = mock.callsTo("az2");
    assert.equal(call.path, "/az2/openai/deployments/my-deployment/chat/completions");
    assert.deepEqual(call.query, { "api-version": "2025-02-01-preview" });
    assert.equal(call.headers.authorization, "Bearer entra-access-token");
    assert.equal(call.headers["api-key"], undefined);
  });

  it("embedding posts to the deployment's /embeddings and is priced", T, async () => {
    const reply = fixture("embedding_response.json");
    mock.script("az3", { status: 200, body: reply });
    const router = routerWith({
      model: "azure/text-embedding-3-small",
      api_base: `${mock.url}/az3`,
      api_version: "2024-10-21",
      api_key: KEY,
    });
    const res = await router.embedding({ model: "chat", input: ["The food was delicious"] });
    const [call] = mock.callsTo("az3");
    assert.equal(call.path, "/az3/openai/deployments/text-embedding-3-small/embeddings");
    assert.deepEqual(call.query, { "api-version": "2024-10-21" });
    assert.deepEqual(call.body, {
      model: "text-embedding-3-small",
      input: ["The food was delicious"],
    });
    assert.deepEqual(JSON.parse(JSON.stringify(res)), reply);
    assert.equal(res._hidden_params.custom_llm_provider, "azure");
    assert.ok(close(res._hidden_params.response_cost, 4 * 2.2e-8));
  });

  it("Azure's 429 body is a RateLimitError carrying its retry-after", T, async () => {
    mock.script("az4", {
      status: 429,
      headers: { "retry-after": "6" },
      body: fixture("error_429.json"),
    });
    const router = routerWith({
      model: "azure/gpt-4o",
      api_base: `${mock.url}/az4`,
      api_key: KEY,
    });
    const err = await rejection(router.completion({ model: "chat", messages: MESSAGES }));
    assert.ok(err instanceof errors.RateLimitError, `${err.name}: ${err.message}`);
    assert.equal(err.status, 429);
    assert.equal(err.llm_provider, "azure");
    assert.equal(err.retry_after_ms, 6000);
    assert.match(err.message, /exceeded token rate limit/);
    assert.equal(mock.callsTo("az4").length, 1);
  });

  it(
    "Azure's content-filter 400 is a ContentPolicyViolationError and takes content_policy_fallbacks",
    T,
    async () => {
      mock.script("az5", { status: 400, body: fixture("error_400_content_filter.json") });
      const only = routerWith({ model: "azure/gpt-4o", api_base: `${mock.url}/az5`, api_key: KEY });
      const err = await rejection(only.completion({ model: "chat", messages: MESSAGES }));
      assert.ok(err instanceof errors.ContentPolicyViolationError, `${err.name}: ${err.message}`);
      assert.ok(err instanceof errors.BadRequestError);
      assert.equal(err.status, 400);
      assert.match(err.message, /ResponsibleAIPolicyViolation/);
      assert.match(err.message, /hate=high/);
      assert.ok(!err.message.includes(KEY));

      mock.script("az5", { status: 400, body: fixture("error_400_content_filter.json") });
      const withFallback = new Router({
        model_list: [
          {
            model_name: "chat",
            litellm_params: { model: "azure/gpt-4o", api_base: `${mock.url}/az5`, api_key: KEY },
          },
          {
            model_name: "backup",
            litellm_params: {
              model: "openai/mock-b",
              api_base: mock.base("b"),
              api_key: "sk-test-b",
            },
            model_info: { id: "b" },
          },
        ],
        num_retries: 0,
        content_policy_fallbacks: [{ chat: ["backup"] }],
      });
      const res = await withFallback.completion({ model: "chat", messages: MESSAGES });
      assert.equal(res._hidden_params.model_id, "b");
      assert.equal(res._hidden_params.fallback_model_group, "backup");
      assert.equal(mock.callsTo("az5").length, 2);
      assert.equal(mock.callsTo("b").length, 1);
    },
  );

  it("a context-length 400 is a ContextWindowExceededError", T, async () => {
    mock.script("az6", { status: 400, body: fixture("error_400_context_length.json") });
    const router = routerWith({ model: "azure/gpt-4o", api_base: `${mock.url}/az6`, api_key: KEY });
    const err = await rejection(router.completion({ model: "chat", messages: MESSAGES }));
    assert.ok(err instanceof errors.ContextWindowExceededError, `${err.name}: ${err.message}`);
    assert.equal(err.status, 400);
  });

  it("an azure deployment without api_base is a ConfigError naming api_base", () => {
    let err;
    try {
      routerWith({ model: "azure/gpt-4o", api_key: KEY });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof errors.ConfigError, String(err));
    assert.equal(err.field, "model_list[0].litellm_params");
    assert.match(err.message, /api_base/);
    assert.ok(!err.message.includes(KEY));
  });
});

describe("azure_ai (Azure AI Foundry / serverless)", () => {
  it(
    "completion posts to <api_base>/chat/completions with Bearer auth, flattened text content, and is priced",
    T,
    async () => {
      const reply = fixture("ai/chat_response.json");
      mock.script("ai1", { status: 200, body: reply });
      const router = routerWith({
        model: "azure_ai/Llama-3.3-70B-Instruct",
        api_base: `${mock.url}/ai1`,
        api_key: KEY,
      });
      const res = await router.completion({
        model: "chat",
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "How many languages are in the world? " },
              { type: "text", text: "Answer in one sentence." },
            ],
          },
        ],
        temperature: 0,
      });
      const calls = mock.callsTo("ai1");
      assert.equal(calls.length, 1);
      const [call] = calls;
      assert.equal(call.path, "/ai1/chat/completions");
      assert.deepEqual(call.query, {});
      assert.equal(call.headers.authorization, `Bearer ${KEY}`);
      assert.equal(call.headers["api-key"], undefined);
      assert.deepEqual(call.body, {
        model: "Llama-3.3-70B-Instruct",
        messages: [
          {
            role: "user",
            content: "How many languages are in the world? Answer in one sentence.",
          },
        ],
        temperature: 0,
      });
      assert.deepEqual(JSON.parse(JSON.stringify(res)), reply);
      assert.equal(res._hidden_params.custom_llm_provider, "azure_ai");
      // azure_ai/Llama-3.3-70B-Instruct: 1e6 prompt + 1000 completion tokens at 7.1e-7.
      assert.ok(close(res._hidden_params.response_cost, 0.71071));
    },
  );

  it("embedding posts to <api_base>/embeddings with api-version when set", T, async () => {
    const reply = fixture("ai/embedding_response.json");
    mock.script("ai2", { status: 200, body: reply });
    const router = routerWith({
      model: "azure_ai/Cohere-embed-v3-english",
      api_base: `${mock.url}/ai2/`,
      api_version: "2024-05-01-preview",
      api_key: KEY,
    });
    const res = await router.embedding({ model: "chat", input: ["first phrase", "second phrase"] });
    const [call] = mock.callsTo("ai2");
    assert.equal(call.path, "/ai2/embeddings");
    assert.deepEqual(call.query, { "api-version": "2024-05-01-preview" });
    assert.equal(call.body.model, "Cohere-embed-v3-english");
    assert.deepEqual(JSON.parse(JSON.stringify(res)), reply);
    // azure_ai/Cohere-embed-v3-english: 6 prompt tokens at 1e-7.
    assert.ok(close(res._hidden_params.response_cost, 6e-7));
  });

  it(
    "a 422 parameter_not_supported is an UnprocessableEntityError naming the parameter",
    T,
    async () => {
      mock.script("ai3", {
        status: 422,
        body: fixture("ai/error_422_parameter_not_supported.json"),
      });
      const router = routerWith({
        model: "azure_ai/Llama-3.3-70B-Instruct",
        api_base: `${mock.url}/ai3`,
        api_key: KEY,
      });
      const err = await rejection(
        router.completion({
          model: "chat",
          messages: MESSAGES,
          response_format: { type: "json_object" },
        }),
      );
      assert.ok(err instanceof errors.UnprocessableEntityError, `${err.name}: ${err.message}`);
      assert.equal(err.status, 422);
      assert.equal(err.llm_provider, "azure_ai");
      assert.match(err.message, /body\.response_format/);
    },
  );

  it(
    "textCompletion goes through chat: one user message up, a text_completion back",
    T,
    async () => {
      const router = routerWith({
        model: "azure_ai/Llama-3.3-70B-Instruct",
        api_base: `${mock.url}/ai4`,
        api_key: KEY,
      });
      const reply = fixture("ai/chat_response.json");
      mock.script("ai4", { status: 200, body: reply });
      const res = await router.textCompletion({ model: "chat", prompt: "Say hi", max_tokens: 5 });
      const [call] = mock.callsTo("ai4");
      assert.match(call.path, /\/chat\/completions$/);
      assert.deepEqual(call.body.messages, [{ role: "user", content: "Say hi" }]);
      assert.equal(call.body.prompt, undefined);
      assert.equal(res.object, "text_completion");
      assert.equal(res.choices[0].text, reply.choices[0].message.content);
      assert.deepEqual(res.usage, reply.usage);
    },
  );
});
