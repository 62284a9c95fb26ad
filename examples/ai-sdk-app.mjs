// The Vercel AI SDK over a llmux Router (`llmux/ai-sdk`): generateText with a fallback the
// caller can see, streamText, a tool call and embeddings, all routed in-process.
//   node examples/ai-sdk-app.mjs           with OPENAI_API_KEY set (gpt-4o-mini, text-embedding-3-small)
//   node examples/ai-sdk-app.mjs --mock    against the repo's loopback mock provider
import { embedMany, generateText, jsonSchema, stepCountIs, streamText, tool } from "ai";
import { Router } from "../js/node.js";
import { createLlmux } from "../js/ai-sdk.js";

/** The model list: two chat groups (the first falls back to the second) and an embedding group. */
async function modelList() {
  if (!process.argv.includes("--mock")) {
    const key = "os.environ/OPENAI_API_KEY";
    return {
      model_list: [
        { model_name: "chat", litellm_params: { model: "openai/gpt-4o-mini", api_key: key } },
        { model_name: "backup", litellm_params: { model: "openai/gpt-4.1-mini", api_key: key } },
        {
          model_name: "embed",
          litellm_params: { model: "openai/text-embedding-3-small", api_key: key },
        },
      ],
      close() {},
    };
  }
  const { startMockServer } = await import("../tests/mock/server.mjs");
  const mock = await startMockServer();
  // The first call fails (the fallback serves it); the next asks for the weather tool.
  const call = {
    id: "call_1",
    type: "function",
    function: { name: "weather", arguments: '{"city":"Lisbon"}' },
  };
  const toolCall = {
    body: {
      id: "chatcmpl-1",
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: "gpt-4o-mini",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: null, tool_calls: [call] },
          finish_reason: "tool_calls",
        },
      ],
      usage: { prompt_tokens: 30, completion_tokens: 8, total_tokens: 38 },
    },
  };
  mock.script("primary", { error: "server" }, toolCall, { reply: "Sunny, 21 degrees in Lisbon." });
  const at = (name, model) => ({
    model: `openai/${model}`,
    api_base: mock.base(name),
    api_key: `sk-mock-${name}`,
  });
  return {
    model_list: [
      {
        model_name: "chat",
        litellm_params: at("primary", "gpt-4o-mini"),
        model_info: { id: "primary" },
      },
      {
        model_name: "backup",
        litellm_params: at("backup", "gpt-4.1-mini"),
        model_info: { id: "backup" },
      },
      {
        model_name: "embed",
        litellm_params: at("embed", "text-embedding-3-small"),
        model_info: { id: "embed", mode: "embedding" },
      },
    ],
    close: () => mock.close(),
  };
}

const { model_list, close } = await modelList();
const router = new Router({ model_list, num_retries: 0, fallbacks: [{ chat: ["backup"] }] });
const llmux = createLlmux(router);

// 1. generateText: the router falls back; providerMetadata.llmux says who answered.
// maxRetries: 0 — the router already retries and falls back; the SDK's retries would repeat that.
const first = await generateText({ model: llmux("chat"), prompt: "Say hi.", maxRetries: 0 });
const meta = first.providerMetadata.llmux;
console.log(`generateText: ${JSON.stringify(first.text)}`);
console.log(
  `  answered by ${meta.model_id} (group ${meta.model_group}), fallback: ${meta.fallback_model_group}`,
);

// 2. streamText: text as it arrives.
const stream = streamText({ model: llmux("backup"), prompt: "Count to five.", maxRetries: 0 });
process.stdout.write("streamText: ");
for await (const piece of stream.textStream) process.stdout.write(piece);
console.log(
  `\n  finish: ${await stream.finishReason}, tokens: ${(await stream.usage).totalTokens}`,
);

// 3. A tool: the model asks, the SDK runs it, the model answers.
const weather = await generateText({
  model: llmux("chat"),
  prompt: "What is the weather in Lisbon?",
  tools: {
    weather: tool({
      description: "Current weather in a city",
      inputSchema: jsonSchema({
        type: "object",
        properties: { city: { type: "string" } },
        required: ["city"],
      }),
      execute: async ({ city }) => ({ city, celsius: 21, sky: "sunny" }),
    }),
  },
  stopWhen: stepCountIs(3),
  maxRetries: 0,
});
console.log(`tools: ${JSON.stringify(weather.text)} after ${weather.steps.length} step(s)`);

// 4. Embeddings.
const { embeddings } = await embedMany({
  model: llmux.textEmbeddingModel("embed"),
  values: ["sunny", "rainy"],
});
console.log(`embedMany: ${embeddings.length} vectors of ${embeddings[0].length} dimensions`);

close();
