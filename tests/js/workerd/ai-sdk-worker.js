// A Worker using llmux/ai-sdk with the real `ai` package, bundled by esbuild in
// ai-sdk.test.mjs (the .wasm stays a separate CompiledWasm module). GET /run?case=…
import { APICallError } from "@ai-sdk/provider";
import { generateText, streamText } from "ai";
import { Router } from "../../../js/workerd.js";
import { createLlmux } from "../../../js/ai-sdk.js";

const dep = (env, group, name) => ({
  model_name: group,
  litellm_params: {
    model: `openai/mock-${name}`,
    api_base: `${env.MOCK_URL}/${name}/v1`,
    api_key: `sk-test-${name}`,
  },
  model_info: { id: name },
});

const cases = {
  async fallback(env) {
    const router = new Router({
      model_list: [dep(env, "chat", "wd-ai-a"), dep(env, "backup", "wd-ai-b")],
      fallbacks: [{ chat: ["backup"] }],
      num_retries: 0,
    });
    const res = await generateText({
      model: createLlmux(router)("chat"),
      prompt: "hi",
      maxRetries: 0,
    });
    return { text: res.text, llmux: res.providerMetadata.llmux };
  },
  async stream(env) {
    const router = new Router({ model_list: [dep(env, "chat", "wd-ai-s")] });
    const result = streamText({ model: createLlmux(router)("chat"), prompt: "hi", maxRetries: 0 });
    const pieces = [];
    for await (const piece of result.textStream) pieces.push(piece);
    return { pieces, finish: await result.finishReason, usage: await result.usage };
  },
  async error(env) {
    const router = new Router({ model_list: [dep(env, "chat", "wd-ai-e")], num_retries: 0 });
    try {
      await generateText({ model: createLlmux(router)("chat"), prompt: "hi", maxRetries: 0 });
      return { threw: false };
    } catch (e) {
      return { api: APICallError.isInstance(e), status: e.statusCode, retryable: e.isRetryable };
    }
  },
};

export default {
  async fetch(request, env) {
    const name = new URL(request.url).searchParams.get("case");
    const run = cases[name];
    if (!run) return new Response("unknown case", { status: 404 });
    return Response.json(await run(env));
  },
};
