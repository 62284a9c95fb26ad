// Native Responses pass-through (#18): a group made only of OpenAI (or Azure) deployments gets
// the Responses request as is on the provider's own `/responses` (the mock sees it there),
// with routing, retries, fallbacks and cost from `input_tokens` / `output_tokens`;
// `previous_response_id` goes through. A group with another provider is translated to chat.
// Driven with the official `openai` client's `responses.create` and `.stream` via router.fetch.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, beforeEach, describe, it } from "node:test";
import OpenAI from "openai";
import { Router, T, deployment, nativeDeployment, rejection, startMockServer } from "./fixture.mjs";

const fixture = (path) =>
  JSON.parse(readFileSync(new URL(`../../fixtures/${path}`, import.meta.url), "utf8"));

const MASTER = "sk-master-responses-native-0123";

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

/** An OpenAI deployment priced like gpt-4o-mini (per token, so the cost is checkable). */
const openai = (group, name) =>
  deployment(mock, group, name, { input_cost_per_token: 1e-6, output_cost_per_token: 2e-6 });

/** An Azure OpenAI deployment on the mock (`/openai/v1/responses` by default). */
const azure = (group, name) => ({
  model_name: group,
  litellm_params: {
    model: `azure/dep-${name}`,
    api_base: `${mock.url}/${name}`,
    api_key: `azure-key-${name}-0123456789`,
  },
  model_info: { id: name },
});

/** An OpenAI client whose fetch is router.fetch (no socket between them). */
function clientOf(router) {
  return new OpenAI({
    apiKey: MASTER,
    baseURL: "http://gateway.test/v1",
    maxRetries: 0,
    fetch: (input, init) => router.fetch(new Request(input, init)),
  });
}

describe("router.responses on OpenAI and Azure groups: passed through", () => {
  it("the mock sees /v1/responses with the request as sent; cost from its usage", T, async () => {
    mock.script("a", { reply: "Passed through." });
    const router = new Router({ model_list: [openai("gpt", "a")] });
    const out = await router.responses({
      model: "gpt",
      input: "Hello",
      instructions: "Be brief.",
      store: true,
      tools: [{ type: "web_search" }],
    });
    const [call] = mock.callsTo("a");
    assert.equal(call.path, "/a/v1/responses");
    assert.equal(call.headers.authorization, "Bearer sk-test-a");
    assert.deepEqual(call.body, {
      model: "mock-a",
      input: "Hello",
      instructions: "Be brief.",
      store: true,
      tools: [{ type: "web_search" }],
    });
    assert.equal(out.object, "response");
    assert.equal(out.output[0].content[0].text, "Passed through.");
    assert.equal(out._hidden_params.model_id, "a");
    const { input_tokens, output_tokens } = out.usage;
    const want = input_tokens * 1e-6 + output_tokens * 2e-6;
    assert.ok(Math.abs(out._hidden_params.response_cost - want) < 1e-12);
  });

  it("previous_response_id goes to the provider, which keeps the conversation", T, async () => {
    const router = new Router({ model_list: [openai("gpt", "a")] });
    const out = await router.responses({
      model: "gpt",
      input: "And then?",
      previous_response_id: "resp_abc123",
    });
    assert.equal(mock.callsTo("a")[0].body.previous_response_id, "resp_abc123");
    assert.equal(out.previous_response_id, "resp_abc123");
  });

  it("a 500 is retried, then answered", T, async () => {
    mock.script("a", { error: "server" });
    const router = new Router({
      model_list: [openai("gpt", "a")],
      num_retries: 1,
      retry_after: 0,
    });
    const out = await router.responses({ model: "gpt", input: "Hi" });
    assert.deepEqual(
      mock.callsTo("a").map((c) => c.path),
      ["/a/v1/responses", "/a/v1/responses"],
    );
    assert.equal(out._hidden_params.model_id, "a");
    assert.equal(out._hidden_params.attempts, 2);
  });

  it("falls back to an Azure group, sent to Azure's /openai/v1/responses", T, async () => {
    mock.mode("a", { kind: "down", error: "unavailable" });
    const router = new Router({
      model_list: [openai("gpt", "a"), azure("gpt-azure", "z")],
      fallbacks: [{ gpt: ["gpt-azure"] }],
      num_retries: 0,
    });
    const out = await router.responses({ model: "gpt", input: "Hi" });
    const [call] = mock.callsTo("z");
    assert.equal(call.path, "/z/openai/v1/responses");
    assert.equal(call.body.model, "dep-z");
    assert.equal(out._hidden_params.model_id, "z");
    assert.equal(out._hidden_params.fallback_model_group, "gpt-azure");
  });

  it("an Azure api_version that is a date uses /openai/responses?api-version=", T, async () => {
    const d = azure("gpt-azure", "z");
    d.litellm_params.api_version = "2025-04-01-preview";
    const router = new Router({ model_list: [d] });
    await router.responses({ model: "gpt-azure", input: "Hi" });
    const [call] = mock.callsTo("z");
    assert.equal(call.path, "/z/openai/responses");
    assert.equal(call.query["api-version"], "2025-04-01-preview");
    assert.equal(call.headers["api-key"], "azure-key-z-0123456789");
  });

  it(
    "streams the provider's own events through, usage booked from response.completed",
    T,
    async () => {
      mock.script("a", { reply: "one two three" });
      const router = new Router({ model_list: [openai("gpt", "a")] });
      const stream = await router.responses({ model: "gpt", input: "count", stream: true });
      const events = [];
      for await (const e of stream) events.push(e);
      assert.equal(mock.callsTo("a")[0].path, "/a/v1/responses");
      assert.equal(mock.callsTo("a")[0].body.stream, true);
      assert.equal(events[0].type, "response.created");
      assert.equal(events.at(-1).type, "response.completed");
      assert.match(events[0].response.id, /^resp_mock\d+$/, "the provider's own ids, not new ones");
      const text = events
        .filter((e) => e.type === "response.output_text.delta")
        .map((e) => e.delta)
        .join("");
      assert.equal(text, "one two three");
      const usage = events.at(-1).response.usage;
      const { a } = (await router.getUsageStats()).deployments;
      assert.equal(a.prompt_tokens, usage.input_tokens);
      assert.equal(a.completion_tokens, usage.output_tokens);
      assert.equal(a.streams, 1);
    },
  );
});

describe("the openai client's responses API through router.fetch", () => {
  const router = () =>
    new Router({
      model_list: [openai("gpt", "a"), nativeDeployment(mock, "anthropic", "claude", "c1")],
      gateway: { master_key: MASTER },
      num_retries: 0,
    });

  it(
    "responses.create on an OpenAI group: passed through, the mock sees /v1/responses",
    T,
    async () => {
      mock.script("a", { reply: "Native." });
      const client = clientOf(router());
      const res = await client.responses.create({ model: "gpt", input: "Hi", store: true });
      assert.equal(res.output_text, "Native.");
      assert.match(res.id, /^resp_mock\d+$/);
      assert.equal(mock.callsTo("a")[0].path, "/a/v1/responses");
      assert.equal(mock.callsTo("a")[0].body.store, true);
    },
  );

  it("responses.stream on an OpenAI group: the provider's SSE events", T, async () => {
    mock.script("a", { reply: "streamed natively" });
    const client = clientOf(router());
    const stream = client.responses.stream({ model: "gpt", input: "go" });
    let text = "";
    stream.on("response.output_text.delta", (e) => (text += e.delta));
    const final = await stream.finalResponse();
    assert.equal(text, "streamed natively");
    assert.equal(final.output_text, "streamed natively");
    assert.match(final.id, /^resp_mock\d+$/);
    assert.equal(mock.callsTo("a")[0].path, "/a/v1/responses");
  });

  it(
    "responses.create on an Anthropic group: translated (the mock sees /v1/messages)",
    T,
    async () => {
      mock.script("anthropic", { body: fixture("anthropic/responses/text.anthropic.json") });
      const client = clientOf(router());
      const res = await client.responses.create({ model: "claude", input: "Hello" });
      assert.equal(res.status, "completed");
      assert.ok(res.output_text.length > 0);
      const [call] = mock.callsTo("anthropic");
      assert.match(call.path, /\/messages$/);
      assert.equal(mock.calls.filter((c) => c.path.endsWith("/responses")).length, 0);
    },
  );

  it("previous_response_id on a translated group is still a 400 that says why", T, async () => {
    const client = clientOf(router());
    const e = await rejection(
      client.responses.create({ model: "claude", input: "x", previous_response_id: "resp_1" }),
    );
    assert.equal(e.status, 400);
    assert.match(e.message, /keeps no responses/);
    assert.equal(mock.calls.length, 0);
  });
});
