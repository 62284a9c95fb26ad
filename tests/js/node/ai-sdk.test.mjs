// llmux/ai-sdk under the real `ai` package: generateText, streamText, generateObject, a tool
// round trip, embed/embedMany, aborts and fallbacks, against the loopback mock over HTTP.
import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import {
  embed,
  embedMany,
  generateObject,
  generateText,
  jsonSchema,
  stepCountIs,
  streamText,
  tool,
} from "ai";
import { APICallError } from "@ai-sdk/provider";
import { createLlmux } from "../../../js/ai-sdk.js";
import {
  T,
  deployment,
  mockEmbedding,
  rejection,
  routerOver,
  startMockServer,
  waitFor,
} from "./fixture.mjs";

let mock;
before(async () => {
  mock = await startMockServer();
});
after(() => mock.close());
beforeEach(() => mock.reset());

const prompt = "Hi there!";

test(
  "generateText answers through the router and names the deployment in providerMetadata",
  T,
  async () => {
    const llmux = createLlmux(routerOver(mock, { chat: ["a"] }));
    const res = await generateText({ model: llmux("chat"), prompt, maxRetries: 0 });
    assert.equal(res.text, "Hello from a");
    assert.equal(res.finishReason, "stop");
    assert.ok(res.usage.inputTokens > 0);
    assert.equal(res.usage.outputTokens, 3);
    assert.equal(res.providerMetadata.llmux.model_id, "a");
    assert.equal(res.providerMetadata.llmux.model_group, "chat");
    assert.equal(res.providerMetadata.llmux.attempts, 1);
    const calls = mock.callsTo("a");
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0].body.messages, [{ role: "user", content: prompt }]);
  },
);

test("call settings reach the upstream request in OpenAI's names", T, async () => {
  const llmux = createLlmux(routerOver(mock, { chat: ["a"] }));
  const res = await generateText({
    model: llmux("chat"),
    system: "Be brief.",
    prompt,
    maxOutputTokens: 2,
    temperature: 0.3,
    topP: 0.9,
    stopSequences: ["\n"],
    seed: 7,
    topK: 5,
    maxRetries: 0,
    providerOptions: { llmux: { user: "u-1", metadata: { tags: ["x"] } } },
  });
  assert.equal(res.finishReason, "length");
  assert.equal(res.text, "Hello from");
  assert.deepEqual(
    res.warnings.map((w) => w.feature),
    ["topK"],
  );
  const body = mock.callsTo("a")[0].body;
  assert.deepEqual(body.messages[0], { role: "system", content: "Be brief." });
  assert.equal(body.max_tokens, 2);
  assert.equal(body.temperature, 0.3);
  assert.equal(body.top_p, 0.9);
  assert.deepEqual(body.stop, ["\n"]);
  assert.equal(body.seed, 7);
  assert.equal(body.user, "u-1");
  assert.equal(body.top_k, undefined);
  assert.equal(body.metadata, undefined, "router kwargs stay in the router");
});

test("streamText delivers chunks, the finish reason, usage and the deployment", T, async () => {
  const llmux = createLlmux(routerOver(mock, { chat: ["a"] }));
  mock.script("a", { reply: "one two three four", chunk_delay_ms: 5 });
  const result = streamText({ model: llmux("chat"), prompt, maxRetries: 0 });
  const pieces = [];
  for await (const piece of result.textStream) pieces.push(piece);
  assert.deepEqual(pieces, ["one", " two", " three", " four"]);
  assert.equal(await result.finishReason, "stop");
  const usage = await result.usage;
  assert.equal(usage.outputTokens, 4);
  assert.ok(usage.inputTokens > 0);
  const meta = await result.providerMetadata;
  assert.equal(meta.llmux.model_id, "a");
  assert.equal(mock.callsTo("a")[0].body.stream, true);
  assert.equal(mock.callsTo("a")[0].body.stream_options.include_usage, true);
});

test(
  "generateObject sends the JSON schema as response_format and parses the answer",
  T,
  async () => {
    const llmux = createLlmux(routerOver(mock, { chat: ["a"] }));
    mock.script("a", { reply: '{"city":"Paris","population":2102650}' });
    const schema = {
      type: "object",
      properties: { city: { type: "string" }, population: { type: "integer" } },
      required: ["city", "population"],
      additionalProperties: false,
    };
    const { object } = await generateObject({
      model: llmux("chat"),
      schema: jsonSchema(schema),
      schemaName: "city",
      prompt: "The capital of France?",
      maxRetries: 0,
    });
    assert.deepEqual(object, { city: "Paris", population: 2102650 });
    const format = mock.callsTo("a")[0].body.response_format;
    assert.equal(format.type, "json_schema");
    assert.equal(format.json_schema.name, "city");
    assert.deepEqual(format.json_schema.schema.required, ["city", "population"]);
  },
);

/** An OpenAI chat.completion calling `weather` with `args`. */
const toolCallReply = (args) => ({
  body: {
    id: "chatcmpl-tool",
    object: "chat.completion",
    created: 1_700_000_000,
    model: "mock-a",
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: null,
          tool_calls: [
            {
              id: "call_1",
              type: "function",
              function: { name: "weather", arguments: JSON.stringify(args) },
            },
          ],
        },
        finish_reason: "tool_calls",
      },
    ],
    usage: { prompt_tokens: 20, completion_tokens: 5, total_tokens: 25 },
  },
});

test(
  "a tool call round trip: the call, the executed result sent back, the final answer",
  T,
  async () => {
    const llmux = createLlmux(routerOver(mock, { chat: ["a"] }));
    mock.script("a", toolCallReply({ city: "Oslo" }), { reply: "It is 3 degrees in Oslo." });
    const seen = [];
    const res = await generateText({
      model: llmux("chat"),
      prompt: "Weather in Oslo?",
      tools: {
        weather: tool({
          description: "The weather in a city",
          inputSchema: jsonSchema({
            type: "object",
            properties: { city: { type: "string" } },
            required: ["city"],
          }),
          execute: async ({ city }) => {
            seen.push(city);
            return { city, celsius: 3 };
          },
        }),
      },
      toolChoice: "auto",
      stopWhen: stepCountIs(2),
      maxRetries: 0,
    });
    assert.deepEqual(seen, ["Oslo"]);
    assert.equal(res.text, "It is 3 degrees in Oslo.");
    assert.equal(res.steps.length, 2);
    assert.equal(res.steps[0].finishReason, "tool-calls");
    const [first, second] = mock.callsTo("a").map((c) => c.body);
    assert.equal(first.tools[0].function.name, "weather");
    assert.equal(first.tools[0].function.description, "The weather in a city");
    assert.equal(first.tool_choice, "auto");
    const assistant = second.messages.find((m) => m.role === "assistant");
    assert.equal(assistant.tool_calls[0].id, "call_1");
    assert.deepEqual(JSON.parse(assistant.tool_calls[0].function.arguments), { city: "Oslo" });
    const toolMsg = second.messages.find((m) => m.role === "tool");
    assert.equal(toolMsg.tool_call_id, "call_1");
    assert.deepEqual(JSON.parse(toolMsg.content), { city: "Oslo", celsius: 3 });
  },
);

test("streamText assembles streamed tool-call arguments into one tool call", T, async () => {
  const llmux = createLlmux(routerOver(mock, { chat: ["a"] }));
  const base = { id: "c1", object: "chat.completion.chunk", created: 1_700_000_000, model: "m" };
  const delta = (d, finish = null) => ({
    ...base,
    choices: [{ index: 0, delta: d, finish_reason: finish }],
  });
  mock.script("a", {
    sse: [
      delta({ role: "assistant", content: null }),
      delta({
        tool_calls: [
          {
            index: 0,
            id: "call_9",
            type: "function",
            function: { name: "weather", arguments: "" },
          },
        ],
      }),
      delta({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
      delta({ tool_calls: [{ index: 0, function: { arguments: '"Rome"}' } }] }),
      delta({}, "tool_calls"),
    ],
  });
  const result = streamText({
    model: llmux("chat"),
    prompt: "Weather in Rome?",
    tools: {
      weather: tool({
        inputSchema: jsonSchema({ type: "object", properties: { city: { type: "string" } } }),
      }),
    },
    maxRetries: 0,
  });
  const calls = await result.toolCalls;
  assert.equal(calls.length, 1);
  assert.equal(calls[0].toolCallId, "call_9");
  assert.equal(calls[0].toolName, "weather");
  assert.deepEqual(calls[0].input, { city: "Rome" });
  assert.equal(await result.finishReason, "tool-calls");
});

test(
  "embed and embedMany return the upstream vectors; embedMany splits by maxEmbeddingsPerCall",
  T,
  async () => {
    const router = routerOver(mock, { embed: ["e"] });
    const llmux = createLlmux(router, { maxEmbeddingsPerCall: 2 });
    const one = await embed({ model: llmux.textEmbeddingModel("embed"), value: "sunny day" });
    assert.deepEqual(one.embedding, mockEmbedding("sunny day"));
    assert.equal(one.providerMetadata.llmux.model_id, "e");
    const values = ["a", "b", "c"];
    const many = await embedMany({
      model: llmux.embeddingModel("embed"),
      values,
      maxParallelCalls: 1,
    });
    assert.deepEqual(
      many.embeddings,
      values.map((v) => mockEmbedding(v)),
    );
    assert.ok(many.usage.tokens > 0);
    const inputs = mock.callsTo("e").map((c) => c.body.input);
    assert.deepEqual(inputs, [["sunny day"], ["a", "b"], ["c"]]);
  },
);

test("an abort signal cancels the upstream request of generateText", T, async () => {
  const llmux = createLlmux(routerOver(mock, { chat: ["a"] }));
  mock.script("a", { hang: true });
  const controller = new AbortController();
  const pending = generateText({
    model: llmux("chat"),
    prompt,
    abortSignal: controller.signal,
    maxRetries: 0,
  });
  assert.ok(await waitFor(() => mock.callsTo("a").length === 1));
  controller.abort();
  const e = await rejection(pending);
  assert.equal(e.name, "AbortError");
  assert.ok(await waitFor(() => mock.stats.aborted === 1), "the upstream connection was closed");
  assert.equal(mock.callsTo("a").length, 1, "no retry after the abort");
});

test("an abort signal ends a streamText mid-stream and closes the upstream", T, async () => {
  const llmux = createLlmux(routerOver(mock, { chat: ["a"] }));
  mock.script("a", { reply: "a b c d e f g h i j k l", chunk_delay_ms: 200 });
  const controller = new AbortController();
  const errors = [];
  const result = streamText({
    model: llmux("chat"),
    prompt,
    abortSignal: controller.signal,
    maxRetries: 0,
    onError: ({ error }) => errors.push(error),
  });
  const pieces = [];
  for await (const piece of result.textStream) {
    pieces.push(piece);
    if (pieces.length === 2) controller.abort();
  }
  assert.ok(pieces.length < 12, `stopped early (${pieces.length} pieces)`);
  assert.ok(await waitFor(() => mock.stats.aborted === 1), "the upstream connection was closed");
});

test("a fallback is visible in providerMetadata", T, async () => {
  const router = routerOver(
    mock,
    { chat: ["a"], backup: ["b"] },
    { fallbacks: [{ chat: ["backup"] }], num_retries: 0 },
  );
  mock.mode("a", { kind: "down", error: "server" });
  const llmux = createLlmux(router);
  const res = await generateText({ model: llmux("chat"), prompt, maxRetries: 0 });
  assert.equal(res.text, "Hello from b");
  assert.equal(res.providerMetadata.llmux.model_id, "b");
  assert.equal(res.providerMetadata.llmux.fallback_model_group, "backup");
  assert.equal(mock.callsTo("a").length, 1);
  assert.equal(mock.callsTo("b").length, 1);
});

test(
  "router errors are APICallErrors with the status, isRetryable and OpenAI's error body",
  T,
  async () => {
    const llmux = createLlmux(routerOver(mock, { chat: ["a"] }, { num_retries: 0 }));
    mock.script("a", { error: "rate_limit" }, { error: "bad_request" });
    const limited = await rejection(generateText({ model: llmux("chat"), prompt, maxRetries: 0 }));
    assert.ok(APICallError.isInstance(limited), `got ${limited?.name}`);
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.isRetryable, true);
    assert.equal(limited.cause.name, "RateLimitError");
    assert.equal(JSON.parse(limited.responseBody).error.type, "rate_limit_error");
    const bad = await rejection(generateText({ model: llmux("chat"), prompt, maxRetries: 2 }));
    assert.ok(APICallError.isInstance(bad));
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.isRetryable, false);
    assert.equal(mock.callsTo("a").length, 2, "the SDK did not retry the 400");
    assert.ok(!bad.responseBody.includes("sk-test-a"), "no secret in the body");
  },
);

test(
  "a user file part of an unsupported media type is a 400 APICallError, nothing sent",
  T,
  async () => {
    const llmux = createLlmux(routerOver(mock, { chat: ["a"] }));
    const e = await rejection(
      generateText({
        model: llmux("chat"),
        messages: [
          {
            role: "user",
            content: [{ type: "file", data: new Uint8Array([1, 2, 3]), mediaType: "video/mp4" }],
          },
        ],
        maxRetries: 0,
      }),
    );
    assert.ok(APICallError.isInstance(e));
    assert.equal(e.statusCode, 400);
    assert.match(e.message, /video\/mp4/);
    assert.equal(mock.callsTo("a").length, 0);
  },
);

test("createLlmux refuses what is not a Router, and models need a group name", () => {
  assert.throws(() => createLlmux({}), TypeError);
  const llmux = createLlmux(routerOver(mock, { chat: ["a"] }));
  assert.throws(() => llmux(""), TypeError);
  assert.throws(() => llmux.imageModel("x"), /imageGeneration/);
  assert.equal(llmux("chat").specificationVersion, "v3");
  assert.equal(llmux("chat").provider, "llmux.chat");
  void deployment;
});

test(
  "examples/ai-sdk-app.mjs runs against the mock: fallback, stream, tool, embeddings",
  T,
  async () => {
    const { execFile } = await import("node:child_process");
    const { promisify } = await import("node:util");
    const app = new URL("../../../examples/ai-sdk-app.mjs", import.meta.url);
    const { stdout } = await promisify(execFile)(process.execPath, [app.pathname, "--mock"], {
      timeout: 20_000,
    });
    assert.match(stdout, /answered by backup \(group backup\), fallback: backup/);
    assert.match(stdout, /finish: stop/);
    assert.match(stdout, /tools: "Sunny, 21 degrees in Lisbon\." after 2 step/);
    assert.match(stdout, /embedMany: 2 vectors of 8 dimensions/);
  },
);
