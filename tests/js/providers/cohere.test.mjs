// Cohere v2 (`cohere/`) end to end: the request Cohere receives (/v2/chat and /v2/embed, Bearer
// key, translated body) and the OpenAI-format reply, priced, for Cohere's own payloads scripted
// on the loopback mock; Cohere's error bodies become the LiteLLM error classes.
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, beforeEach, describe, it } from "node:test";

import { Router, errors } from "../../../js/node.js";
import { startMockServer } from "../../mock/server.mjs";

const T = { timeout: 15_000 };
const KEY = "co-test-0123456789abcdef";
const MESSAGES = [{ role: "user", content: "Tell me about LLMs" }];

const fixture = (name) =>
  JSON.parse(fs.readFileSync(new URL(`../../fixtures/cohere/${name}`, import.meta.url), "utf8"));

/** A recorded stream under tests/fixtures/cohere, as the mock's raw SSE events. */
const sseEvents = (name) =>
  fs
    .readFileSync(new URL(`../../fixtures/cohere/${name}`, import.meta.url), "utf8")
    .split(/(?<=\n\n)/)
    .filter((e) => e.length > 0);

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

/** A Router whose group `g` is one Cohere deployment on mock deployment `name`. */
const routerFor = (name, model, options = {}) =>
  new Router({
    model_list: [
      {
        model_name: "g",
        litellm_params: { model, api_base: `${mock.url}/${name}`, api_key: KEY },
        model_info: { id: name },
      },
    ],
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

describe("cohere", () => {
  it(
    "completion posts a v2 chat body to /v2/chat with a Bearer key and returns a priced chat.completion",
    T,
    async () => {
      mock.script("co1", { status: 200, body: fixture("chat_response.json") });
      const router = routerFor("co1", "cohere/command-r-08-2024");
      const res = await router.completion({
        model: "g",
        messages: [{ role: "system", content: "Be brief." }, ...MESSAGES],
        max_completion_tokens: 100,
        top_p: 0.5,
        stop: "END",
        logit_bias: { 1: 1 },
      });

      const calls = mock.callsTo("co1");
      assert.equal(calls.length, 1);
      const [call] = calls;
      assert.equal(call.method, "POST");
      assert.equal(call.path, "/co1/v2/chat");
      assert.equal(call.headers.authorization, `Bearer ${KEY}`);
      assert.deepEqual(call.body, {
        model: "command-r-08-2024",
        messages: [{ role: "system", content: "Be brief." }, ...MESSAGES],
        stream: false,
        max_tokens: 100,
        p: 0.5,
        stop_sequences: ["END"],
      });

      // The provider reports no creation time: the router stamps its clock (Unix seconds).
      const nowSeconds = Math.floor(Date.now() / 1000);
      assert.ok(Math.abs(res.created - nowSeconds) <= 5, `created ${res.created}`);
      assert.deepEqual(JSON.parse(JSON.stringify(res)), {
        ...fixture("chat_response.openai.json"),
        created: res.created,
      });
      const h = res._hidden_params;
      assert.equal(h.custom_llm_provider, "cohere");
      assert.equal(h.model_id, "co1");
      // command-r-08-2024: 71 prompt tokens at 1.5e-7 + 418 completion tokens at 6e-7.
      assert.ok(close(h.response_cost, 71 * 1.5e-7 + 418 * 6e-7), `cost ${h.response_cost}`);
    },
  );

  it("a TOOL_CALL reply returns tool_calls with finish_reason tool_calls", T, async () => {
    mock.script("co2", { status: 200, body: fixture("chat_tool_calls_response.json") });
    const router = routerFor("co2", "cohere/command-r-08-2024");
    const res = await router.completion({
      model: "g",
      messages: MESSAGES,
      tools: [
        {
          type: "function",
          function: { name: "query_daily_sales_report", parameters: { type: "object" } },
        },
      ],
      tool_choice: "required",
    });
    const [call] = mock.callsTo("co2");
    assert.equal(call.body.tool_choice, "REQUIRED");
    assert.equal(res.choices[0].finish_reason, "tool_calls");
    assert.equal(res.choices[0].message.content, null);
    assert.deepEqual(
      res.choices[0].message.tool_calls.map((c) => c.function.name),
      ["query_daily_sales_report", "query_product_catalog"],
    );
  });

  it(
    "embedding posts texts to /v2/embed with input_type search_document and returns a priced OpenAI list",
    T,
    async () => {
      mock.script("co3", { status: 200, body: fixture("embed_response.json") });
      const router = routerFor("co3", "cohere/embed-v4.0");
      const res = await router.embedding({ model: "g", input: ["hello", "goodbye"] });

      const [call] = mock.callsTo("co3");
      assert.equal(call.path, "/co3/v2/embed");
      assert.equal(call.headers.authorization, `Bearer ${KEY}`);
      assert.deepEqual(call.body, {
        model: "embed-v4.0",
        texts: ["hello", "goodbye"],
        input_type: "search_document",
        embedding_types: ["float"],
      });
      assert.deepEqual(JSON.parse(JSON.stringify(res)), fixture("embed_response.openai.json"));
      assert.equal(res._hidden_params.custom_llm_provider, "cohere");
      // cohere/embed-v4.0: 2 tokens at 1.2e-7.
      assert.ok(close(res._hidden_params.response_cost, 2 * 1.2e-7));
    },
  );

  it("a 429 body is a RateLimitError carrying Cohere's message", T, async () => {
    mock.script("co4", { status: 429, body: fixture("error_429.json") });
    const router = routerFor("co4", "cohere/command-r-08-2024");
    const err = await rejection(router.completion({ model: "g", messages: MESSAGES }));
    assert.ok(err instanceof errors.RateLimitError, String(err));
    assert.equal(err.status, 429);
    assert.equal(err.llm_provider, "cohere");
    assert.match(err.message, /Trial key, which is limited to 10 API calls/);
    assert.equal(mock.callsTo("co4").length, 1);
  });

  it("a 'too many tokens' 400 is a ContextWindowExceededError", T, async () => {
    mock.script("co5", { status: 400, body: fixture("error_400_too_many_tokens.json") });
    const router = routerFor("co5", "cohere/command-r-08-2024");
    const err = await rejection(router.completion({ model: "g", messages: MESSAGES }));
    assert.ok(err instanceof errors.ContextWindowExceededError, String(err));
    assert.ok(err instanceof errors.BadRequestError);
    assert.equal(err.status, 400);
  });

  it("textCompletion goes through /v2/chat and answers a text_completion", T, async () => {
    const router = routerFor("co6", "cohere/command-r-08-2024");
    mock.script("co6", { status: 200, body: fixture("chat_response.json") });
    const res = await router.textCompletion({ model: "g", prompt: "hi" });
    const [call] = mock.callsTo("co6");
    assert.equal(call.path, "/co6/v2/chat");
    assert.deepEqual(call.body.messages, [{ role: "user", content: "hi" }]);
    assert.equal(res.object, "text_completion");
    assert.equal(
      res.choices[0].text,
      fixture("chat_response.openai.json").choices[0].message.content,
    );
  });

  it("stream: true sends stream: true and streams v2 events as OpenAI chunks", T, async () => {
    mock.script("co7", { sse: sseEvents("stream/tool_calls.sse"), done: false });
    const router = routerFor("co7", "cohere/command-r-08-2024");
    const stream = await router.completion({
      model: "g",
      messages: MESSAGES,
      stream: true,
      stream_options: { include_usage: true },
    });
    const calls = new Map();
    const chunks = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      for (const call of chunk.choices[0]?.delta?.tool_calls ?? []) {
        const seen = calls.get(call.index) ?? { id: call.id, name: call.function.name, args: "" };
        seen.args += call.function.arguments ?? "";
        calls.set(call.index, seen);
      }
    }
    const [call] = mock.callsTo("co7");
    assert.equal(call.path, "/co7/v2/chat");
    assert.equal(call.body.stream, true);
    const want = fixture("chat_tool_calls_response.openai.json");
    assert.deepEqual(
      [...calls.values()].map((c) => ({
        id: c.id,
        type: "function",
        function: { name: c.name, arguments: c.args },
      })),
      want.choices[0].message.tool_calls,
    );
    assert.equal(chunks.at(-2).choices[0].finish_reason, "tool_calls");
    assert.deepEqual(chunks.at(-1).usage, want.usage);
  });

  it("a cut Cohere stream is an APIConnectionError from the iterator", T, async () => {
    const events = sseEvents("stream/text.sse");
    mock.script("co8", { sse: events.slice(0, -1), done: false });
    const stream = await routerFor("co8", "cohere/command-r-08-2024").completion({
      model: "g",
      messages: MESSAGES,
      stream: true,
    });
    const err = await rejection(
      (async () => {
        for await (const _ of stream);
      })(),
    );
    assert.ok(err instanceof errors.APIConnectionError, `${err?.name}: ${err?.message}`);
    assert.match(err.message, /cohere stream ended/);
  });
});
