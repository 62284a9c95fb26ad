// Issue #18's Responses test, provider by provider: the official `openai` client's
// `responses.create` and `responses.stream` against router.fetch, each with a function-tool round
// trip (the model calls a tool, the caller sends the output back, the model answers), on an
// OpenAI group (passed through to `/v1/responses`), an Anthropic group and a Gemini group (both
// translated to chat, then to the provider's own wire format). The mock answers with the
// providers' reference payloads (tests/fixtures), non-streamed and streamed.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, beforeEach, describe, it } from "node:test";
import OpenAI from "openai";
import { Router, T, deployment, nativeDeployment, startMockServer } from "./fixture.mjs";

const text = (path) => readFileSync(new URL(`../../fixtures/${path}`, import.meta.url), "utf8");
const fixture = (path) => JSON.parse(text(path));
/** A recorded SSE stream as the mock's raw events (one per blank-line-terminated block). */
const sse = (path) => text(path).split(/(?<=\n\n)/);

const MASTER = "sk-master-responses-sdk-0123";

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

const router = () =>
  new Router({
    model_list: [
      deployment(mock, "gpt", "a"),
      nativeDeployment(mock, "anthropic", "claude", "c1"),
      nativeDeployment(mock, "gemini", "gem", "g1"),
    ],
    gateway: { master_key: MASTER },
    num_retries: 0,
  });

/** The openai client, its fetch being router.fetch. */
const clientOf = (r) =>
  new OpenAI({
    apiKey: MASTER,
    baseURL: "http://gateway.test/v1",
    maxRetries: 0,
    fetch: (input, init) => r.fetch(new Request(input, init)),
  });

const tools = [
  {
    type: "function",
    name: "get_weather",
    description: "Current weather of a place",
    parameters: {
      type: "object",
      properties: { location: { type: "string" }, unit: { type: "string" } },
      required: ["location"],
    },
  },
];
const question = { role: "user", content: "Weather in Paris and Tokyo?" };

/** The second turn of the round trip: the question, the model's calls and their outputs. */
const secondInput = (calls) => [
  question,
  ...calls,
  ...calls.map((c, i) => ({
    type: "function_call_output",
    call_id: c.call_id,
    output: `{"temp":${18 + i}}`,
  })),
];

/** Whole Responses stream under the SDK: the final response and the argument deltas. */
async function streamed(client, request) {
  const stream = client.responses.stream(request);
  let args = "";
  const types = [];
  stream.on("event", (e) => types.push(e.type));
  stream.on("response.function_call_arguments.delta", (e) => (args += e.delta));
  const final = await stream.finalResponse();
  return { final, args, types };
}

/** The function calls of a response, as the caller sends them back (without the SDK's own field). */
const callsOf = (res) =>
  res.output
    .filter((o) => o.type === "function_call")
    .map(({ parsed_arguments: _, ...call }) => call);

// OpenAI's function-calling reply and stream (API reference, "Function calling" / streaming).
const FC = {
  type: "function_call",
  id: "fc_67ca09c6bedc8190a7abfec07b1a1332",
  call_id: "call_unLAR8MvFNptuiZK6K6HCy5k",
  name: "get_weather",
  arguments: '{"location":"Paris, France"}',
  status: "completed",
};
const openaiResponse = (status, output, usage = null) => ({
  id: "resp_67ca09c5efe0819096d0511c92b8c890",
  object: "response",
  created_at: 1741294021,
  status,
  model: "gpt-4.1-2025-04-14",
  output,
  usage,
});
const USAGE = {
  input_tokens: 291,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: 23,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 314,
};
const openaiToolStream = () => {
  let seq = 0;
  const ev = (type, fields) => ({ type, sequence_number: seq++, ...fields });
  const at = { item_id: FC.id, output_index: 0 };
  return [
    ev("response.created", { response: openaiResponse("in_progress", []) }),
    ev("response.in_progress", { response: openaiResponse("in_progress", []) }),
    ev("response.output_item.added", {
      output_index: 0,
      item: { ...FC, arguments: "", status: "in_progress" },
    }),
    ...['{"location":', '"Paris,', ' France"}'].map((delta) =>
      ev("response.function_call_arguments.delta", { ...at, delta }),
    ),
    ev("response.function_call_arguments.done", { ...at, arguments: FC.arguments }),
    ev("response.output_item.done", { output_index: 0, item: FC }),
    ev("response.completed", { response: openaiResponse("completed", [FC], USAGE) }),
  ].map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
};

describe("openai client responses.create / .stream, function-tool round trip", () => {
  it("OpenAI group (passed through): create", T, async () => {
    mock.script("a", { body: openaiResponse("completed", [FC], USAGE) }, { reply: "Paris: 18°C." });
    const client = clientOf(router());
    const first = await client.responses.create({ model: "gpt", input: [question], tools });
    const calls = callsOf(first);
    assert.deepEqual(calls, [FC]);
    const second = await client.responses.create({
      model: "gpt",
      tools,
      input: secondInput(calls),
    });
    assert.equal(second.output_text, "Paris: 18°C.");
    const sent = mock.callsTo("a");
    assert.equal(sent.length, 2);
    assert.deepEqual(
      sent.map((c) => c.path),
      ["/a/v1/responses", "/a/v1/responses"],
    );
    // Passed through: the items reach OpenAI exactly as the caller sent them.
    assert.deepEqual(sent[1].body.input, secondInput(calls));
    assert.deepEqual(sent[1].body.tools, tools);
  });

  it("OpenAI group (passed through): stream", T, async () => {
    mock.script("a", { sse: openaiToolStream(), done: false }, { reply: "Paris: 18°C." });
    const client = clientOf(router());
    const { final, args, types } = await streamed(client, {
      model: "gpt",
      input: [question],
      tools,
    });
    assert.equal(args, FC.arguments);
    assert.equal(types.at(-1), "response.completed");
    assert.deepEqual(callsOf(final), [FC]);
    const second = await streamed(client, { model: "gpt", tools, input: secondInput([FC]) });
    assert.equal(second.final.output_text, "Paris: 18°C.");
    assert.equal(mock.callsTo("a").length, 2);
    assert.equal(mock.callsTo("a")[1].body.stream, true);
    assert.deepEqual(mock.callsTo("a")[1].body.input, secondInput([FC]));
  });

  for (const [name, group, mockName, body, stream, answer, path, sentToolTurn] of [
    [
      "Anthropic",
      "claude",
      "anthropic",
      fixture("anthropic/responses/tool_use.anthropic.json"),
      sse("anthropic/stream/tool_use.sse"),
      fixture("anthropic/responses/text.anthropic.json"),
      /\/anthropic\/v1\/messages$/,
      // Anthropic's shape of the second turn: the calls as tool_use, their outputs as tool_result.
      (sent, calls) => {
        const assistant = sent.messages.find((m) => m.role === "assistant");
        assert.deepEqual(
          assistant.content.filter((b) => b.type === "tool_use").map((b) => [b.id, b.input]),
          calls.map((c) => [c.call_id, JSON.parse(c.arguments)]),
        );
        const results = sent.messages.at(-1).content.filter((b) => b.type === "tool_result");
        assert.deepEqual(
          results.map((b) => b.tool_use_id),
          calls.map((c) => c.call_id),
        );
        assert.deepEqual(sent.tools[0].input_schema, tools[0].parameters);
        assert.equal(sent.tools[0].name, "get_weather");
      },
    ],
    [
      "Gemini",
      "gem",
      "gemini",
      fixture("gemini/response_tool_calls.json"),
      sse("gemini/stream/tool_calls.sse"),
      fixture("gemini/response_text.json"),
      /\/gemini\/.*gemini-2\.5-flash:(stream)?[gG]enerateContent$/,
      // Gemini's shape: the calls as functionCall parts of a model turn, the outputs as
      // functionResponse parts naming the function.
      (sent, calls) => {
        const model = sent.contents.find((c) => c.role === "model");
        assert.deepEqual(
          model.parts.filter((p) => p.functionCall).map((p) => p.functionCall.args),
          calls.map((c) => JSON.parse(c.arguments)),
        );
        const responses = sent.contents.flatMap((c) => c.parts.filter((p) => p.functionResponse));
        assert.deepEqual(
          responses.map((p) => p.functionResponse.name),
          calls.map((c) => c.name),
        );
        assert.equal(sent.tools[0].functionDeclarations[0].name, "get_weather");
      },
    ],
  ]) {
    it(`${name} group (translated): create`, T, async () => {
      mock.script(mockName, { body }, { body: answer });
      const client = clientOf(router());
      const first = await client.responses.create({ model: group, input: [question], tools });
      assert.equal(first.status, "completed");
      const calls = callsOf(first);
      assert.ok(calls.length >= 1, JSON.stringify(first.output));
      for (const c of calls) {
        assert.ok(c.name.length > 0);
        assert.equal(typeof JSON.parse(c.arguments), "object");
      }
      const second = await client.responses.create({
        model: group,
        tools,
        input: secondInput(calls),
      });
      assert.equal(second.status, "completed");
      assert.ok(second.output_text.length > 0);
      const sent = mock.callsTo(mockName);
      assert.equal(sent.length, 2);
      for (const c of sent) assert.match(c.path, path);
      assert.equal(mock.calls.filter((c) => c.path.endsWith("/responses")).length, 0);
      sentToolTurn(sent[1].body, calls);
    });

    it(`${name} group (translated): stream`, T, async () => {
      mock.script(mockName, { sse: stream, done: false }, { body: answer });
      const client = clientOf(router());
      const { final, args, types } = await streamed(client, {
        model: group,
        input: [question],
        tools,
      });
      assert.equal(types[0], "response.created");
      assert.equal(types.at(-1), "response.completed");
      const calls = callsOf(final);
      assert.ok(calls.length >= 1, JSON.stringify(final.output));
      // The deltas the SDK saw add up to the calls' arguments.
      assert.equal(args, calls.map((c) => c.arguments).join(""));
      for (const c of calls) assert.equal(typeof JSON.parse(c.arguments), "object");
      const second = await client.responses.create({
        model: group,
        tools,
        input: secondInput(calls),
      });
      assert.ok(second.output_text.length > 0);
      const sent = mock.callsTo(mockName);
      assert.equal(sent.length, 2);
      sentToolTurn(sent[1].body, calls);
    });
  }

  it(
    "text.format and reasoning.effort reach Anthropic and Gemini in their own format",
    T,
    async () => {
      const client = clientOf(router());
      const schema = {
        type: "object",
        properties: { name: { type: "string" }, age: { type: "integer" } },
        required: ["name", "age"],
      };
      const format = { type: "json_schema", name: "person", schema, strict: true };
      mock.script("anthropic", { body: fixture("anthropic/responses/json_tool.anthropic.json") });
      const structured = await client.responses.create({
        model: "claude",
        input: "Jane Doe is 31.",
        text: { format },
      });
      // Anthropic's JSON mode: a forced tool whose input is the answer's text.
      assert.deepEqual(JSON.parse(structured.output_text), { name: "Jane Doe", age: 31 });
      const [json] = mock.callsTo("anthropic");
      assert.deepEqual(json.body.tool_choice, { type: "tool", name: "json_tool_call" });
      assert.deepEqual(json.body.tools.at(-1).input_schema, schema);

      mock.script("anthropic", { body: fixture("anthropic/responses/thinking.anthropic.json") });
      const reasoned = await client.responses.create({
        model: "claude",
        input: "27 * 453?",
        reasoning: { effort: "medium" },
      });
      assert.deepEqual(mock.callsTo("anthropic")[1].body.thinking, {
        type: "enabled",
        budget_tokens: 2048,
      });
      assert.equal(reasoned.output[0].type, "reasoning", "Claude's thinking as a reasoning item");

      mock.script(
        "gemini",
        { body: fixture("gemini/response_text.json") },
        {
          body: fixture("gemini/response_text.json"),
        },
      );
      await client.responses.create({ model: "gem", input: "Jane Doe is 31.", text: { format } });
      await client.responses.create({ model: "gem", input: "hi", reasoning: { effort: "low" } });
      const [g1, g2] = mock.callsTo("gemini");
      assert.equal(g1.body.generationConfig.responseMimeType, "application/json");
      assert.ok(
        g1.body.generationConfig.responseSchema ?? g1.body.generationConfig.responseJsonSchema,
        JSON.stringify(g1.body.generationConfig),
      );
      assert.ok(g2.body.generationConfig.thinkingConfig, JSON.stringify(g2.body.generationConfig));
    },
  );
});
