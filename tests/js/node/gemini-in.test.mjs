// Gemini-format requests in (#21, LiteLLM's `agenerate_content`): the translation of a real
// generateContent body (tests/fixtures/gemini, from Google's API reference) to chat, the answer
// and stream chunks translated back, routed to an OpenAI deployment and to a Gemini one, and the
// gateway's `/v1beta/models/{model}:generateContent` routes under Google's own `@google/genai`
// client, with Google's error shape.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { after, before, beforeEach, describe, it } from "node:test";
import { GoogleGenAI } from "@google/genai";
import { chatRequestOf } from "../../../js/gemini.js";
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
  JSON.parse(readFileSync(new URL(`../../fixtures/gemini/${name}`, import.meta.url), "utf8"));

const MASTER = "sk-master-gemini-in-0123456";

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

/** A chat.completion the OpenAI mock sends, with tool calls. */
const toolReply = {
  id: "chatcmpl-tools",
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
            id: "call_w1",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris"}' },
          },
        ],
      },
      finish_reason: "tool_calls",
    },
  ],
  usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 },
};

describe("generateContent request translation", () => {
  it("turns Google's reference request into the equivalent chat request", T, () => {
    const gemini = fixture("chat_request.expected.json");
    const chat = chatRequestOf({ model: "g", ...gemini });
    assert.deepEqual(chat.messages, [
      { role: "system", content: "You are a terse weather assistant.\nAnswer in one sentence." },
      {
        role: "user",
        content: [
          { type: "text", text: "What's the weather where this photo was taken?" },
          {
            type: "image_url",
            image_url: {
              url: `data:image/png;base64,${gemini.contents[0].parts[1].inlineData.data}`,
            },
          },
          {
            type: "image_url",
            image_url: { url: "https://example.com/photos/eiffel.JPG?size=large" },
          },
        ],
      },
      {
        role: "assistant",
        content: "Let me check the weather in Paris.",
        tool_calls: [
          {
            id: "call_0",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris","unit":"celsius"}' },
          },
          {
            id: "call_1",
            type: "function",
            function: { name: "get_time", arguments: '{"timezone":"Europe/Paris"}' },
          },
        ],
      },
      // Each functionResponse answers its own call, by name, in order.
      {
        role: "tool",
        tool_call_id: "call_0",
        content: '{"temperature":21,"conditions":"sunny"}',
      },
      { role: "tool", tool_call_id: "call_1", content: '{"content":"14:05"}' },
      { role: "user", content: "Thanks! Is it warm?" },
    ]);
    assert.deepEqual(chat.tools[0].function.parameters.properties.unit, {
      type: ["string", "null"],
      enum: ["celsius", "fahrenheit"],
    });
    assert.deepEqual(chat.tools[2], { type: "function", function: { name: "ping" } });
    assert.equal(chat.tool_choice, "auto");
    const { temperature, top_p, max_tokens, stop, n, seed, presence_penalty, frequency_penalty } =
      chat;
    assert.deepEqual(
      { temperature, top_p, max_tokens, stop, n, seed, presence_penalty, frequency_penalty },
      {
        temperature: 0.2,
        top_p: 0.9,
        max_tokens: 256,
        stop: ["\n\n"],
        n: 1,
        seed: 42,
        presence_penalty: 0.1,
        frequency_penalty: 0.2,
      },
    );
  });

  it("translates structured output, tool choice and the SDKs' flattened config", T, () => {
    const chat = chatRequestOf({
      model: "g",
      contents: "Give me a city",
      config: {
        responseMimeType: "application/json",
        responseSchema: {
          type: "OBJECT",
          properties: { city: { type: "STRING" } },
          propertyOrdering: ["city"],
        },
        systemInstruction: "Be brief.",
        toolConfig: {
          functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["pick_city"] },
        },
        tools: [{ functionDeclarations: [{ name: "pick_city" }] }],
        topK: 40,
      },
      metadata: { tags: ["t"] },
    });
    assert.deepEqual(chat.messages, [
      { role: "system", content: "Be brief." },
      { role: "user", content: "Give me a city" },
    ]);
    assert.deepEqual(chat.response_format, {
      type: "json_schema",
      json_schema: {
        name: "response",
        schema: { type: "object", properties: { city: { type: "string" } } },
      },
    });
    assert.deepEqual(chat.tool_choice, { type: "function", function: { name: "pick_city" } });
    assert.deepEqual(chat.metadata, { tags: ["t"] }, "router fields pass through");
    assert.equal("topK" in chat || "top_k" in chat, false, "topK has no chat field: dropped");
  });

  it("refuses what it cannot translate, naming the field", T, () => {
    const bad = (request, param) =>
      assert.throws(
        () => chatRequestOf({ model: "g", contents: "hi", ...request }),
        (e) => e instanceof errors.BadRequestError && e.param === param,
      );
    bad({ tools: [{ googleSearch: {} }] }, "tools[0].googleSearch");
    bad(
      { generationConfig: { responseModalities: ["AUDIO"] } },
      "generationConfig.responseModalities",
    );
    bad({ contents: [{ role: "user", parts: [{ executableCode: {} }] }] }, "contents[0].parts[0]");
    bad({ contents: [{ role: "system", parts: [{ text: "x" }] }] }, "contents[0].role");
    bad({ contents: [] }, "contents");
    bad({ model: "" }, "model");
  });
});

describe("router.generateContent", () => {
  it("routes to an OpenAI deployment and answers in Gemini's shape", T, async () => {
    mock.script("a", { reply: "Paris is sunny." });
    const router = new Router({ model_list: [deployment(mock, "chat", "a")] });
    const out = await router.generateContent({
      model: "chat",
      contents: [{ role: "user", parts: [{ text: "Weather in Paris?" }] }],
      generationConfig: { maxOutputTokens: 20 },
    });
    const sent = mock.callsTo("a")[0].body;
    assert.deepEqual(sent.messages, [{ role: "user", content: "Weather in Paris?" }]);
    assert.equal(sent.max_tokens, 20);
    assert.equal(out.candidates[0].content.role, "model");
    assert.deepEqual(out.candidates[0].content.parts, [{ text: "Paris is sunny." }]);
    assert.equal(out.candidates[0].finishReason, "STOP");
    assert.equal(typeof out.usageMetadata.promptTokenCount, "number");
    assert.equal(
      out.usageMetadata.totalTokenCount,
      out.usageMetadata.promptTokenCount + out.usageMetadata.candidatesTokenCount,
    );
    assert.equal(out._hidden_params.model_id, "a");
    assert.equal(Object.keys(out).includes("_hidden_params"), false, "not serialised");
  });

  it("round-trips a function call: functionCall out, functionResponse back in", T, async () => {
    mock.script("a", { body: toolReply }, { reply: "It is 21°C." });
    const router = new Router({ model_list: [deployment(mock, "chat", "a")] });
    const tools = [{ functionDeclarations: [{ name: "get_weather" }] }];
    const first = await router.generate_content({
      model: "chat",
      contents: [{ role: "user", parts: [{ text: "Weather?" }] }],
      tools,
    });
    const call = first.candidates[0].content.parts[0].functionCall;
    assert.deepEqual(call, { id: "call_w1", name: "get_weather", args: { city: "Paris" } });
    const second = await router.agenerate_content({
      model: "chat",
      contents: [
        { role: "user", parts: [{ text: "Weather?" }] },
        first.candidates[0].content,
        { role: "user", parts: [{ functionResponse: { ...call, response: { temp: 21 } } }] },
      ],
      tools,
    });
    const sent = mock.callsTo("a")[1].body.messages;
    assert.equal(sent[1].tool_calls[0].id, "call_w1");
    assert.deepEqual(sent[2], { role: "tool", tool_call_id: "call_w1", content: '{"temp":21}' });
    assert.deepEqual(second.candidates[0].content.parts, [{ text: "It is 21°C." }]);
  });

  it("serves a Gemini deployment too, and falls back like any call", T, async () => {
    mock.script("a", { error: "server" });
    mock.script("gemini", { body: fixture("response_text.json") });
    const router = new Router({
      model_list: [deployment(mock, "chat", "a"), nativeDeployment(mock, "gemini", "gem", "g1")],
      fallbacks: [{ chat: ["gem"] }],
      num_retries: 0,
    });
    const out = await router.generateContent({ model: "chat", contents: "Capital of France?" });
    assert.equal(mock.callsTo("a").length, 1);
    assert.equal(mock.callsTo("gemini").length, 1);
    assert.equal(out._hidden_params.model_id, "g1");
    const text = out.candidates[0].content.parts
      .filter((p) => !p.thought)
      .map((p) => p.text)
      .join("");
    assert.equal(text, "The capital of France is Paris.");
    assert.equal(out.usageMetadata.cachedContentTokenCount, 2048);
  });

  it("streams text deltas, then the finish reason with usage", T, async () => {
    mock.script("a", { reply: "one two three" });
    const router = new Router({ model_list: [deployment(mock, "chat", "a")] });
    const stream = await router.generateContentStream({ model: "chat", contents: "count" });
    assert.equal(stream._hidden_params.model_id, "a");
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const text = chunks
      .flatMap((c) => c.candidates)
      .flatMap((c) => c.content.parts)
      .map((p) => p.text)
      .join("");
    assert.equal(text, "one two three");
    const last = chunks.at(-1);
    assert.equal(last.candidates[0].finishReason, "STOP");
    assert.ok(last.usageMetadata.totalTokenCount > 0, JSON.stringify(last));
    assert.equal(chunks.filter((c) => c.usageMetadata).length, 1);
  });

  it("a tool call streams as one whole functionCall part", T, async () => {
    mock.script("a", {
      sse: [
        {
          id: "s",
          object: "chat.completion.chunk",
          model: "m",
          choices: [
            {
              index: 0,
              delta: {
                role: "assistant",
                tool_calls: [
                  {
                    index: 0,
                    id: "call_s",
                    type: "function",
                    function: { name: "get_weather", arguments: '{"ci' },
                  },
                ],
              },
            },
          ],
        },
        {
          id: "s",
          object: "chat.completion.chunk",
          model: "m",
          choices: [
            {
              index: 0,
              delta: { tool_calls: [{ index: 0, function: { arguments: 'ty":"Oslo"}' } }] },
            },
          ],
        },
        {
          id: "s",
          object: "chat.completion.chunk",
          model: "m",
          choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }],
        },
        {
          id: "s",
          object: "chat.completion.chunk",
          model: "m",
          choices: [],
          usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
        },
      ],
    });
    const router = new Router({ model_list: [deployment(mock, "chat", "a")] });
    const stream = await router.generateContentStream({ model: "chat", contents: "weather" });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.equal(chunks.length, 1);
    assert.deepEqual(chunks[0].candidates[0].content.parts, [
      { functionCall: { id: "call_s", name: "get_weather", args: { city: "Oslo" } } },
    ]);
    assert.deepEqual(chunks[0].usageMetadata, {
      promptTokenCount: 5,
      candidatesTokenCount: 3,
      totalTokenCount: 8,
    });
  });

  it("an upstream error keeps its class", T, async () => {
    mock.script("a", { error: "auth" });
    const router = new Router({ model_list: [deployment(mock, "chat", "a")], num_retries: 0 });
    const e = await rejection(router.generateContent({ model: "chat", contents: "hi" }));
    assert.ok(e instanceof errors.AuthenticationError, String(e));
  });
});

describe("gateway Gemini routes under @google/genai", () => {
  let server;
  let base;
  let router;
  before(async () => {
    router = new Router({
      model_list: [deployment(mock, "chat", "a")],
      gateway: { master_key: MASTER },
    });
    server = createServer(nodeListener(router));
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${server.address().port}`;
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  const client = (apiKey = MASTER) => new GoogleGenAI({ apiKey, httpOptions: { baseUrl: base } });

  it("models.generateContent reaches the OpenAI deployment", T, async () => {
    mock.script("a", { reply: "Hello from the router." });
    const res = await client().models.generateContent({
      model: "chat",
      contents: "Say hello",
      config: { temperature: 0.3, systemInstruction: "Be kind." },
    });
    assert.equal(res.text, "Hello from the router.");
    const sent = mock.callsTo("a")[0];
    assert.deepEqual(sent.body.messages, [
      { role: "system", content: "Be kind." },
      { role: "user", content: "Say hello" },
    ]);
    assert.equal(sent.body.temperature, 0.3);
    assert.equal(sent.headers.authorization, "Bearer sk-test-a", "the deployment's own key");
  });

  it("models.generateContentStream streams the answer over SSE", T, async () => {
    mock.script("a", { reply: "streamed words here" });
    const stream = await client().models.generateContentStream({ model: "chat", contents: "go" });
    let text = "";
    let usage;
    for await (const chunk of stream) {
      text += chunk.text ?? "";
      usage = chunk.usageMetadata ?? usage;
    }
    assert.equal(text, "streamed words here");
    assert.ok(usage.totalTokenCount > 0);
  });

  it("answers errors in Google's shape: a wrong key, an unknown model", T, async () => {
    const wrong = await rejection(
      client("sk-wrong").models.generateContent({ model: "chat", contents: "x" }),
    );
    assert.equal(wrong.status, 401, String(wrong));
    const res = await fetch(`${base}/v1beta/models/nope:generateContent?key=${MASTER}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ contents: [{ parts: [{ text: "x" }] }] }),
    });
    assert.equal(res.status, 404);
    const body = await res.json();
    assert.equal(body.error.code, 404);
    assert.equal(body.error.status, "NOT_FOUND");
    const invalid = await fetch(`${base}/v1beta/models/chat:generateContent?key=${MASTER}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ contents: [{ parts: [{ executableCode: {} }] }] }),
    });
    assert.equal(invalid.status, 400);
    assert.equal((await invalid.json()).error.status, "INVALID_ARGUMENT");
    assert.equal(typeof body.error.message, "string");
    assert.equal(mock.calls.length, 0);
  });

  it("streams a JSON array without alt=sse, as Google's REST API does", T, async () => {
    mock.script("a", { reply: "array mode" });
    const res = await fetch(`${base}/v1beta/models/chat:streamGenerateContent`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-goog-api-key": MASTER },
      body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "x" }] }] }),
    });
    assert.equal(res.status, 200);
    const chunks = JSON.parse(await res.text());
    assert.ok(Array.isArray(chunks) && chunks.length >= 2);
    assert.equal(
      chunks
        .flatMap((c) => c.candidates.flatMap((k) => k.content.parts.map((p) => p.text)))
        .join(""),
      "array mode",
    );
  });

  it("never sends the gateway key upstream or the deployment key back", T, async () => {
    mock.script("a", { reply: "ok" });
    const res = await fetch(`${base}/v1beta/models/chat:generateContent`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-goog-api-key": MASTER },
      body: JSON.stringify({ contents: [{ parts: [{ text: "x" }] }], model: "other" }),
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.doesNotMatch(text, /sk-test-a/);
    assert.doesNotMatch(JSON.stringify(mock.calls[0].headers), new RegExp(MASTER));
    // The model comes from the path, whatever the body says.
    assert.equal(mock.callsTo("a").length, 1);
  });
});
