// Worker for anthropic-sdk.test.mjs: the official `@anthropic-ai/sdk` (bundled for the browser
// platform into tests/.tmp by the test) runs inside workerd and calls `router.fetch` in the same
// isolate as its `fetch`; the group is served by an OpenAI deployment on the mock (MOCK_URL).
//   GET /create → { message }   (messages.create)
//   GET /stream → { text, final } (messages.stream, finalMessage)
//   GET /error  → { status, type, message } (a model the gateway does not know)
//   GET /tools  → { first, second } (messages.create with a tool: tool_use, then tool_result)
//   GET /tools-stream → { json, final } (messages.stream with a tool: input_json deltas)
import { Router } from "../../../js/workerd.js";
import Anthropic from "../../.tmp/anthropic-sdk.js";

const json = (value) =>
  new Response(JSON.stringify(value), { headers: { "content-type": "application/json" } });

function clientOf(env) {
  const router = new Router({
    model_list: [
      {
        model_name: "claude-sonnet-4-5",
        litellm_params: {
          model: "openai/mock-wd-sdk",
          api_base: `${env.MOCK_URL}/wd-sdk/v1`,
          api_key: "sk-upstream-wd-sdk",
        },
        model_info: { id: "wd-sdk-1" },
      },
    ],
    gateway: { master_key: "sk-gw-wd-sdk" },
    num_retries: 0,
  });
  return new Anthropic({
    apiKey: "sk-gw-wd-sdk",
    baseURL: "http://gateway.internal",
    maxRetries: 0,
    fetch: (input, init) => router.fetch(new Request(input, init)),
  });
}

const request = {
  model: "claude-sonnet-4-5",
  max_tokens: 64,
  messages: [{ role: "user", content: "Hi" }],
};

const tools = [
  {
    name: "get_weather",
    description: "Current weather of a place",
    input_schema: { type: "object", properties: { location: { type: "string" } } },
  },
];

export default {
  async fetch(req, env) {
    const { pathname } = new URL(req.url);
    const client = clientOf(env);
    if (pathname === "/create") return json({ message: await client.messages.create(request) });
    if (pathname === "/stream") {
      const stream = client.messages.stream(request);
      let text = "";
      stream.on("text", (t) => (text += t));
      const final = await stream.finalMessage();
      return json({ text, final });
    }
    if (pathname === "/tools") {
      const first = await client.messages.create({ ...request, tools });
      const use = first.content.find((b) => b.type === "tool_use");
      const second = await client.messages.create({
        ...request,
        tools,
        messages: [
          ...request.messages,
          { role: "assistant", content: first.content },
          {
            role: "user",
            content: [{ type: "tool_result", tool_use_id: use?.id, content: "5°C" }],
          },
        ],
      });
      return json({ first, second });
    }
    if (pathname === "/tools-stream") {
      const stream = client.messages.stream({ ...request, tools });
      let partial = "";
      stream.on("inputJson", (delta) => (partial += delta));
      const final = await stream.finalMessage();
      return json({ json: partial, final });
    }
    if (pathname === "/error") {
      try {
        await client.messages.create({ ...request, model: "no-such-model" });
        return json({ status: 0 });
      } catch (e) {
        return json({ status: e.status, type: e.error?.error?.type, message: e.message });
      }
    }
    return new Response("not found", { status: 404 });
  },
};
