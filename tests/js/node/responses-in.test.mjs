// OpenAI Responses API requests in (#18, LiteLLM's `aresponses`): the translation to chat, the
// answer and the Responses event sequence back, routed to an OpenAI deployment and to Anthropic
// and Gemini ones, and the gateway's `/v1/responses` under the official `openai` client
// (`responses.create`, `responses.stream`, a function-tool round trip).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { after, before, beforeEach, describe, it } from "node:test";
import OpenAI from "openai";
import { chatRequestOf } from "../../../js/responses.js";
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

const fixture = (path) =>
  JSON.parse(readFileSync(new URL(`../../fixtures/${path}`, import.meta.url), "utf8"));

const MASTER = "sk-master-responses-in-0123";

/**
 * An OpenAI-compatible deployment that is not OpenAI's own API (vLLM), so Responses requests
 * to it are translated to chat; OpenAI and Azure groups get them passed through
 * (responses-native.test.mjs).
 */
const translated = (group, name) =>
  deployment(mock, group, name, { model: `hosted_vllm/mock-${name}` });

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
        content: null,
        tool_calls: [
          {
            id: "call_9",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Lima"}' },
          },
        ],
      },
      finish_reason: "tool_calls",
    },
  ],
  usage: { prompt_tokens: 20, completion_tokens: 6, total_tokens: 26 },
};

describe("Responses request translation", () => {
  it("translates input items, instructions, tools and structured output", T, () => {
    const chat = chatRequestOf({
      model: "g",
      instructions: "Be terse.",
      input: [
        { role: "developer", content: "Use metric units." },
        {
          role: "user",
          content: [
            { type: "input_text", text: "Weather here?" },
            { type: "input_image", image_url: "https://example.com/a.png", detail: "high" },
          ],
        },
        { type: "function_call", call_id: "c1", name: "get_weather", arguments: '{"city":"Lima"}' },
        { type: "function_call_output", call_id: "c1", output: '{"temp":19}' },
        { type: "reasoning", id: "rs_1", summary: [] },
      ],
      tools: [
        { type: "function", name: "get_weather", parameters: { type: "object" }, strict: true },
      ],
      tool_choice: { type: "function", name: "get_weather" },
      text: {
        format: { type: "json_schema", name: "w", schema: { type: "object" }, strict: true },
      },
      reasoning: { effort: "low" },
      max_output_tokens: 99,
      metadata: { k: "v" },
    });
    assert.deepEqual(chat.messages, [
      { role: "system", content: "Be terse." },
      { role: "system", content: "Use metric units." },
      {
        role: "user",
        content: [
          { type: "text", text: "Weather here?" },
          { type: "image_url", image_url: { url: "https://example.com/a.png", detail: "high" } },
        ],
      },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: "c1",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Lima"}' },
          },
        ],
      },
      { role: "tool", tool_call_id: "c1", content: '{"temp":19}' },
    ]);
    assert.deepEqual(chat.tools, [
      {
        type: "function",
        function: { name: "get_weather", parameters: { type: "object" }, strict: true },
      },
    ]);
    assert.deepEqual(chat.tool_choice, { type: "function", function: { name: "get_weather" } });
    assert.deepEqual(chat.response_format, {
      type: "json_schema",
      json_schema: { name: "w", schema: { type: "object" }, strict: true },
    });
    assert.equal(chat.reasoning_effort, "low");
    assert.equal(chat.max_tokens, 99);
  });

  it("translates OpenAI's reference function-calling turn to the chat request", T, () => {
    // The Responses API reference's function-calling conversation (tool defined, the model's
    // call, the caller's output), and the chat request it means.
    assert.deepEqual(
      chatRequestOf(fixture("openai/responses/function_call_request.json")),
      fixture("openai/responses/function_call_request.chat.json"),
    );
  });

  it("refuses what needs a stored response or a hosted tool", T, () => {
    const bad = (patch, param) =>
      assert.throws(
        () => chatRequestOf({ model: "g", input: "hi", ...patch }),
        (e) => e instanceof errors.BadRequestError && e.param === param,
      );
    bad({ previous_response_id: "resp_1" }, "previous_response_id");
    bad({ input: [{ type: "item_reference", id: "msg_1" }] }, "input[0]");
    bad({ tools: [{ type: "web_search" }] }, "tools[0].type");
    bad({ input: [] }, "input");
  });
});

describe("router.responses", () => {
  it("answers a plain request from an OpenAI deployment", T, async () => {
    mock.script("a", { reply: "Hi!" });
    const router = new Router({ model_list: [translated("chat", "a")] });
    const out = await router.aresponses({ model: "chat", input: "Hello", max_output_tokens: 8 });
    assert.equal(mock.callsTo("a")[0].body.max_tokens, 8);
    assert.equal(out.object, "response");
    assert.equal(out.status, "completed");
    assert.match(out.id, /^resp_/);
    assert.equal(out.output_text, "Hi!");
    assert.equal(out.output[0].content[0].text, "Hi!");
    assert.equal(out.store, false);
    assert.equal(out.usage.total_tokens, out.usage.input_tokens + out.usage.output_tokens);
    assert.equal(out._hidden_params.model_id, "a");
  });

  it("an Anthropic and a Gemini deployment answer it too", T, async () => {
    mock.script("anthropic", { body: fixture("anthropic/responses/text.anthropic.json") });
    mock.script("gemini", { body: fixture("gemini/response_text.json") });
    const router = new Router({
      model_list: [
        nativeDeployment(mock, "anthropic", "claude", "c1"),
        nativeDeployment(mock, "gemini", "gem", "g1"),
      ],
      num_retries: 0,
    });
    const a = await router.responses({ model: "claude", input: "Hello" });
    assert.equal(mock.callsTo("anthropic").length, 1);
    assert.equal(a.status, "completed");
    assert.ok(a.output_text.length > 0);
    const g = await router.responses({ model: "gem", input: "Capital of France?" });
    assert.equal(g.output_text, "The capital of France is Paris.");
    assert.equal(g.output[0].type, "reasoning", "Gemini's thoughts become a reasoning item");
  });

  it("streams the Responses event sequence", T, async () => {
    mock.script("a", { reply: "one two" });
    const router = new Router({ model_list: [translated("chat", "a")] });
    const stream = await router.responses({ model: "chat", input: "count", stream: true });
    const events = [];
    for await (const e of stream) events.push(e);
    const types = events.map((e) => e.type);
    assert.deepEqual(types.slice(0, 4), [
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
    ]);
    assert.deepEqual(types.slice(-4), [
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    assert.deepEqual(
      events.map((e) => e.sequence_number),
      events.map((_, i) => i),
    );
    const text = events
      .filter((e) => e.type === "response.output_text.delta")
      .map((e) => e.delta)
      .join("");
    assert.equal(text, "one two");
    const done = events.at(-1).response;
    assert.equal(done.output[0].content[0].text, "one two");
    assert.ok(done.usage.total_tokens > 0);
  });
});

describe("gateway /v1/responses under the openai client", () => {
  let server;
  let client;
  before(async () => {
    const router = new Router({
      model_list: [translated("chat", "a")],
      gateway: { master_key: MASTER },
      num_retries: 0,
    });
    server = createServer(nodeListener(router));
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    client = new OpenAI({
      apiKey: MASTER,
      baseURL: `http://127.0.0.1:${server.address().port}/v1`,
      maxRetries: 0,
    });
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  it("responses.create with a function-tool round trip", T, async () => {
    mock.script("a", { body: toolReply }, { reply: "Lima is 19°C." });
    const tools = [
      { type: "function", name: "get_weather", parameters: { type: "object", properties: {} } },
    ];
    const first = await client.responses.create({
      model: "chat",
      input: "Weather in Lima?",
      tools,
    });
    const call = first.output.find((o) => o.type === "function_call");
    assert.equal(call.call_id, "call_9");
    assert.deepEqual(JSON.parse(call.arguments), { city: "Lima" });
    const second = await client.responses.create({
      model: "chat",
      tools,
      input: [
        { role: "user", content: "Weather in Lima?" },
        call,
        { type: "function_call_output", call_id: call.call_id, output: '{"temp":19}' },
      ],
    });
    assert.equal(second.output_text, "Lima is 19°C.");
    const sent = mock.callsTo("a")[1].body.messages;
    assert.equal(sent[1].tool_calls[0].id, "call_9");
    assert.deepEqual(sent[2], { role: "tool", tool_call_id: "call_9", content: '{"temp":19}' });
  });

  it("responses.stream gives the SDK's final response", T, async () => {
    mock.script("a", { reply: "streamed answer" });
    const stream = client.responses.stream({ model: "chat", input: "go" });
    let text = "";
    stream.on("response.output_text.delta", (e) => (text += e.delta));
    const final = await stream.finalResponse();
    assert.equal(text, "streamed answer");
    assert.equal(final.output_text, "streamed answer");
  });

  it("a previous_response_id is a 400 that says why", T, async () => {
    const e = await rejection(
      client.responses.create({ model: "chat", input: "x", previous_response_id: "resp_1" }),
    );
    assert.equal(e.status, 400);
    assert.match(e.message, /keeps no responses/);
    assert.equal(mock.calls.length, 0);
  });
});
