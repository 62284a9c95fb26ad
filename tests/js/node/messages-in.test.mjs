// Anthropic Messages requests in (#18, LiteLLM's `anthropic_messages`): the translation of a real
// Messages body (tests/fixtures/anthropic, from Anthropic's API reference), routed to an OpenAI
// deployment and to an Anthropic one (which receives Anthropic's body back, byte-equivalent), the
// stream as Anthropic's event sequence, count_tokens, and the gateway's `/v1/messages` under the
// official `@anthropic-ai/sdk` client with Anthropic's error shape.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { after, before, beforeEach, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import { chatRequestOf } from "../../../js/messages.js";
import { nodeListener } from "../../../examples/node/server.mjs";
import {
  Router,
  T,
  deployment,
  nativeDeployment,
  errors,
  rejection,
  startMockServer,
} from "./fixture.mjs";

const fixture = (name) =>
  JSON.parse(readFileSync(new URL(`../../fixtures/anthropic/${name}`, import.meta.url), "utf8"));

const MASTER = "sk-master-messages-in-01234";
const CLAUDE = "claude-haiku-4-5-20251001";

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

const toolReply = {
  id: "chatcmpl-t",
  object: "chat.completion",
  created: 1,
  model: "mock-a",
  choices: [
    {
      index: 0,
      message: {
        role: "assistant",
        content: "Checking.",
        tool_calls: [
          {
            id: "call_1",
            type: "function",
            function: { name: "get_weather", arguments: '{"location":"Oslo"}' },
          },
        ],
      },
      finish_reason: "tool_calls",
    },
  ],
  usage: {
    prompt_tokens: 40,
    completion_tokens: 9,
    total_tokens: 49,
    prompt_tokens_details: { cached_tokens: 30 },
  },
};

describe("Messages request translation", () => {
  it("turns Anthropic's reference tool conversation into the chat request", T, () => {
    const chat = chatRequestOf(fixture("requests/tools.anthropic.json"));
    const expected = fixture("requests/tools.openai.json");
    assert.deepEqual(
      chat.messages.map((m) => m.role),
      ["system", "user", "assistant", "tool", "tool", "user"],
    );
    assert.equal(chat.messages[0].content, "Use the tools when they help.");
    assert.deepEqual(
      chat.messages[2].tool_calls.map((c) => c.id),
      ["toolu_01A09q90qw90lq917835lq9", "toolu_01B19r91rx91mr928946mr0"],
    );
    assert.deepEqual(JSON.parse(chat.messages[2].tool_calls[1].function.arguments), {
      location: "Tokyo, Japan",
      unit: "celsius",
    });
    assert.deepEqual(chat.messages[3], expected.messages[3]);
    assert.deepEqual(chat.messages[4], expected.messages[4]);
    assert.deepEqual(chat.tools[0], expected.tools[0]);
    assert.equal(chat.tool_choice, "required");
    assert.equal(chat.parallel_tool_calls, false);
    assert.equal(chat.max_tokens, 1024);
  });

  it("keeps thinking and cache_control only for Anthropic-format groups", T, () => {
    const request = {
      model: "g",
      max_tokens: 100,
      thinking: { type: "enabled", budget_tokens: 2048 },
      system: [{ type: "text", text: "Long prompt", cache_control: { type: "ephemeral" } }],
      messages: [{ role: "user", content: "hi" }],
    };
    const other = chatRequestOf(request);
    assert.equal(other.thinking, undefined);
    assert.deepEqual(other.messages[0], { role: "system", content: "Long prompt" });
    const native = chatRequestOf(request, { native: true });
    assert.deepEqual(native.thinking, { type: "enabled", budget_tokens: 2048 });
    assert.deepEqual(native.messages[0].content, [
      { type: "text", text: "Long prompt", cache_control: { type: "ephemeral" } },
    ]);
  });

  it("refuses what it cannot translate, naming the field", T, () => {
    const base = { model: "g", max_tokens: 5, messages: [{ role: "user", content: "x" }] };
    const bad = (patch, param) =>
      assert.throws(
        () => chatRequestOf({ ...base, ...patch }),
        (e) => e instanceof errors.BadRequestError && e.param === param,
      );
    bad({ max_tokens: undefined }, "max_tokens");
    bad({ tools: [{ type: "web_search_20250305", name: "web_search" }] }, "tools[0].type");
    bad({ mcp_servers: [{}] }, "mcp_servers");
    bad({ messages: [{ role: "system", content: "x" }] }, "messages[0].role");
    bad(
      { messages: [{ role: "user", content: [{ type: "tool_use", id: "t", name: "n" }] }] },
      "messages[0].content[0]",
    );
  });
});

describe("router.messages", () => {
  it("an OpenAI deployment answers in Anthropic's shape, tool use included", T, async () => {
    mock.script("a", { body: toolReply });
    const router = new Router({ model_list: [deployment(mock, "chat", "a")] });
    const out = await router.messages({
      model: "chat",
      max_tokens: 64,
      messages: [{ role: "user", content: "Weather in Oslo?" }],
      tools: [{ name: "get_weather", input_schema: { type: "object" } }],
    });
    assert.equal(mock.callsTo("a")[0].body.max_tokens, 64);
    assert.equal(out.type, "message");
    assert.equal(out.role, "assistant");
    assert.match(out.id, /^msg_/);
    assert.deepEqual(out.content, [
      { type: "text", text: "Checking." },
      { type: "tool_use", id: "call_1", name: "get_weather", input: { location: "Oslo" } },
    ]);
    assert.equal(out.stop_reason, "tool_use");
    // Anthropic's input_tokens exclude cache reads.
    assert.deepEqual(out.usage, {
      input_tokens: 10,
      output_tokens: 9,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 30,
    });
    assert.equal(out._hidden_params.model_id, "a");
  });

  it("an Anthropic deployment receives Anthropic's own body back", T, async () => {
    mock.script("anthropic", { body: fixture("responses/tool_use.anthropic.json") });
    const router = new Router({
      model_list: [nativeDeployment(mock, "anthropic", "claude", "c1")],
      num_retries: 0,
    });
    const request = fixture("requests/tools.anthropic.json");
    const out = await router.anthropic_messages({ ...request, model: "claude" });
    const sent = mock.callsTo("anthropic")[0].body;
    const { model: _m, ...expected } = request;
    const { model, ...rest } = sent;
    assert.equal(model, CLAUDE);
    assert.deepEqual(rest.messages, expected.messages);
    assert.deepEqual(rest.tools, expected.tools);
    assert.deepEqual(rest.tool_choice, expected.tool_choice);
    assert.deepEqual(rest.system, expected.system);
    assert.equal(out.stop_reason, "tool_use");
    assert.ok(out.content.some((b) => b.type === "tool_use"));
  });

  it(
    "images (URL and base64) reach an OpenAI deployment as image_url parts, Claude as image blocks",
    T,
    async () => {
      // Anthropic's reference vision request: a URL image, a base64 image, text around them.
      const request = { ...fixture("requests/vision.anthropic.json"), max_tokens: 100 };
      const user = request.messages[0].content;
      mock.script("a", { reply: "Two ants." });
      mock.script("anthropic", { body: fixture("responses/text.anthropic.json") });
      const router = new Router({
        model_list: [
          deployment(mock, "gpt", "a"),
          nativeDeployment(mock, "anthropic", "claude", "c1"),
        ],
        num_retries: 0,
      });
      const out = await router.messages({ ...request, model: "gpt" });
      assert.equal(out.content[0].text, "Two ants.");
      const parts = mock.callsTo("a")[0].body.messages[0].content;
      assert.deepEqual(
        parts.filter((p) => p.type === "image_url").map((p) => p.image_url.url),
        [user[1].source.url, `data:image/png;base64,${user[2].source.data}`],
      );
      assert.deepEqual(
        parts.filter((p) => p.type === "text").map((p) => p.text),
        ["Compare these two images.", "Answer in one sentence."],
      );
      await router.messages({ ...request, model: "claude" });
      const sent = mock.callsTo("anthropic")[0].body.messages[0].content;
      assert.deepEqual(
        sent.filter((b) => b.type === "image").map((b) => b.source),
        [user[1].source, user[2].source],
      );
      assert.deepEqual(sent[0].cache_control, { type: "ephemeral" }, "kept for Claude");
    },
  );

  it("streams Anthropic's event sequence with usage at the end", T, async () => {
    mock.script("a", { reply: "Hello there friend" });
    const router = new Router({ model_list: [deployment(mock, "chat", "a")] });
    const stream = await router.messages({
      model: "chat",
      max_tokens: 20,
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    });
    const events = [];
    for await (const e of stream) events.push(e);
    const types = events.map((e) => e.type);
    assert.equal(types[0], "message_start");
    assert.equal(types[1], "content_block_start");
    assert.deepEqual(types.slice(-3), ["content_block_stop", "message_delta", "message_stop"]);
    const text = events
      .filter((e) => e.type === "content_block_delta")
      .map((e) => e.delta.text)
      .join("");
    assert.equal(text, "Hello there friend");
    const delta = events.at(-2);
    assert.equal(delta.delta.stop_reason, "end_turn");
    assert.ok(delta.usage.output_tokens > 0);
  });

  it(
    "streams an Anthropic deployment's thinking, signature and redacted_thinking blocks",
    T,
    async () => {
      const sse = readFileSync(
        new URL("../../fixtures/anthropic/stream/thinking.sse", import.meta.url),
        "utf8",
      ).split(/(?<=\n\n)/);
      mock.script("anthropic", { sse, done: false });
      const router = new Router({
        model_list: [nativeDeployment(mock, "anthropic", "claude", "c1")],
        num_retries: 0,
      });
      const stream = await router.messages({
        model: "claude",
        max_tokens: 2048,
        thinking: { type: "enabled", budget_tokens: 1024 },
        stream: true,
        messages: [{ role: "user", content: "27 * 453?" }],
      });
      const starts = [];
      let signature = null;
      for await (const e of stream) {
        if (e.type === "content_block_start") starts.push(e.content_block);
        if (e.delta?.type === "signature_delta") signature = e.delta.signature;
      }
      assert.deepEqual(
        starts.map((b) => b.type),
        ["thinking", "redacted_thinking", "text"],
      );
      assert.match(starts[1].data, /^EmwKAhgBEgy3va3pzix/);
      assert.match(signature, /^EqQBCgIYAhIM/);
      const sent = mock.callsTo("anthropic")[0].body;
      assert.deepEqual(sent.thinking, { type: "enabled", budget_tokens: 1024 });
    },
  );

  it("counts tokens with the tokenizer option when given, else estimates", T, async () => {
    const request = { model: "chat", messages: [{ role: "user", content: "a".repeat(400) }] };
    const estimated = new Router({ model_list: [deployment(mock, "chat", "a")] });
    const guess = await estimated.countMessageTokens(request);
    assert.equal(guess.exact, false);
    assert.ok(guess.input_tokens >= 100 && guess.input_tokens < 120, String(guess.input_tokens));
    const counted = new Router({
      model_list: [deployment(mock, "chat", "a")],
      tokenizer: (req) => req.messages.length * 1000,
    });
    assert.deepEqual(await counted.countMessageTokens(request), {
      input_tokens: 1000,
      exact: true,
    });
    assert.equal(mock.calls.length, 0);
  });

  it("an upstream error keeps its class", T, async () => {
    mock.script("a", { error: "rate_limit" });
    const router = new Router({ model_list: [deployment(mock, "chat", "a")], num_retries: 0 });
    const e = await rejection(
      router.messages({ model: "chat", max_tokens: 5, messages: [{ role: "user", content: "x" }] }),
    );
    assert.ok(e instanceof errors.RateLimitError, String(e));
  });
});

describe("gateway /v1/messages under @anthropic-ai/sdk", () => {
  let server;
  let base;
  before(async () => {
    const router = new Router({
      model_list: [deployment(mock, "chat", "a")],
      gateway: { master_key: MASTER },
      num_retries: 0,
    });
    server = createServer(nodeListener(router));
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${server.address().port}`;
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  const client = (apiKey = MASTER) => new Anthropic({ apiKey, baseURL: base, maxRetries: 0 });

  it("messages.create reaches the OpenAI deployment, with a tool round trip", T, async () => {
    mock.script("a", { body: toolReply }, { reply: "It is 5°C in Oslo." });
    const tools = [{ name: "get_weather", input_schema: { type: "object", properties: {} } }];
    const first = await client().messages.create({
      model: "chat",
      max_tokens: 50,
      messages: [{ role: "user", content: "Weather in Oslo?" }],
      tools,
    });
    assert.equal(first.stop_reason, "tool_use");
    const use = first.content.find((b) => b.type === "tool_use");
    const second = await client().messages.create({
      model: "chat",
      max_tokens: 50,
      tools,
      messages: [
        { role: "user", content: "Weather in Oslo?" },
        { role: "assistant", content: first.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "5°C" }] },
      ],
    });
    assert.equal(second.content[0].text, "It is 5°C in Oslo.");
    const sent = mock.callsTo("a")[1].body.messages;
    assert.deepEqual(sent.at(-1), { role: "tool", tool_call_id: "call_1", content: "5°C" });
    assert.equal(mock.callsTo("a")[0].headers.authorization, "Bearer sk-test-a");
  });

  it("messages.stream gives the SDK's final message", T, async () => {
    mock.script("a", { reply: "streamed reply" });
    const stream = client().messages.stream({
      model: "chat",
      max_tokens: 50,
      messages: [{ role: "user", content: "hi" }],
    });
    let text = "";
    stream.on("text", (t) => (text += t));
    const final = await stream.finalMessage();
    assert.equal(text, "streamed reply");
    assert.equal(final.content[0].text, "streamed reply");
    assert.equal(final.stop_reason, "end_turn");
  });

  it(
    "messages.stream with a tool: input_json deltas, then a tool_result round trip",
    T,
    async () => {
      const chunk = (delta, finish_reason = null) => ({
        id: "chatcmpl-s",
        object: "chat.completion.chunk",
        created: 1,
        model: "mock-a",
        choices: [{ index: 0, delta, finish_reason }],
      });
      const call = { index: 0, id: "call_s1", type: "function" };
      mock.script(
        "a",
        {
          sse: [
            chunk({ role: "assistant", content: "Checking." }),
            chunk({ tool_calls: [{ ...call, function: { name: "get_weather", arguments: "" } }] }),
            ...['{"loca', 'tion":"Os', 'lo"}'].map((a) =>
              chunk({ tool_calls: [{ index: 0, function: { arguments: a } }] }),
            ),
            chunk({}, "tool_calls"),
            { ...chunk({}), choices: [], usage: toolReply.usage },
          ],
        },
        { reply: "It is 5°C in Oslo." },
      );
      const tools = [{ name: "get_weather", input_schema: { type: "object", properties: {} } }];
      const question = { role: "user", content: "Weather in Oslo?" };
      const stream = client().messages.stream({
        model: "chat",
        max_tokens: 50,
        messages: [question],
        tools,
      });
      let json = "";
      stream.on("inputJson", (delta) => (json += delta));
      const first = await stream.finalMessage();
      assert.equal(json, '{"location":"Oslo"}');
      assert.equal(first.stop_reason, "tool_use");
      assert.deepEqual(first.content, [
        { type: "text", text: "Checking." },
        { type: "tool_use", id: "call_s1", name: "get_weather", input: { location: "Oslo" } },
      ]);
      assert.equal(first.usage.output_tokens, 9);
      const again = client().messages.stream({
        model: "chat",
        max_tokens: 50,
        tools,
        messages: [
          question,
          { role: "assistant", content: first.content },
          {
            role: "user",
            content: [{ type: "tool_result", tool_use_id: "call_s1", content: "5°C" }],
          },
        ],
      });
      assert.equal((await again.finalMessage()).content[0].text, "It is 5°C in Oslo.");
      const sent = mock.callsTo("a");
      assert.equal(sent.length, 2);
      assert.equal(sent[0].body.tools[0].function.name, "get_weather");
      assert.deepEqual(sent[1].body.messages.at(-2).tool_calls, [
        {
          id: "call_s1",
          type: "function",
          function: { name: "get_weather", arguments: '{"location":"Oslo"}' },
        },
      ]);
      assert.deepEqual(sent[1].body.messages.at(-1), {
        role: "tool",
        tool_call_id: "call_s1",
        content: "5°C",
      });
    },
  );

  it("count_tokens says whether it estimated", T, async () => {
    const res = await client().messages.countTokens({
      model: "chat",
      messages: [{ role: "user", content: "count me please" }],
    });
    assert.ok(res.input_tokens > 0);
    const raw = await fetch(`${base}/v1/messages/count_tokens`, {
      method: "POST",
      headers: { "x-api-key": MASTER, "content-type": "application/json" },
      body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "x" }] }),
    });
    assert.equal(raw.headers.get("x-llmux-token-count"), "estimate");
  });

  it("answers errors in Anthropic's shape, and the SDK raises its own classes", T, async () => {
    const wrong = await rejection(
      client("sk-wrong").messages.create({
        model: "chat",
        max_tokens: 5,
        messages: [{ role: "user", content: "x" }],
      }),
    );
    assert.ok(wrong instanceof Anthropic.AuthenticationError, String(wrong));
    const res = await fetch(`${base}/v1/messages`, {
      method: "POST",
      headers: {
        "x-api-key": MASTER,
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
      },
      body: JSON.stringify({
        model: "nope",
        max_tokens: 5,
        messages: [{ role: "user", content: "x" }],
      }),
    });
    assert.equal(res.status, 404);
    const body = await res.json();
    assert.equal(body.type, "error");
    assert.equal(body.error.type, "not_found_error");
    const invalid = await fetch(`${base}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": MASTER, "content-type": "application/json" },
      body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "x" }] }),
    });
    assert.equal(invalid.status, 400);
    const invalidBody = await invalid.json();
    assert.equal(invalidBody.error.type, "invalid_request_error");
    assert.match(invalidBody.error.message, /max_tokens/);
    mock.script("a", { error: "rate_limit" });
    const limited = await rejection(
      client().messages.create({
        model: "chat",
        max_tokens: 5,
        messages: [{ role: "user", content: "x" }],
      }),
    );
    assert.ok(limited instanceof Anthropic.RateLimitError, String(limited));
  });
});
