// Bundled by ai-sdk.test.mjs (esbuild) with the real `ai` package and served by the mock; runs
// llmux/ai-sdk in Chromium against the mock on the same origin and leaves what it saw in
// `window.__aiSdk`.
import { APICallError } from "@ai-sdk/provider";
import { generateText, streamText } from "ai";
import { Router } from "../../../js/browser.js";
import { createLlmux } from "../../../js/ai-sdk.js";

const dep = (group, name) => ({
  model_name: group,
  litellm_params: {
    model: `openai/mock-${name}`,
    api_base: `${location.origin}/${name}/v1`,
    api_key: `sk-test-${name}`,
  },
  model_info: { id: name },
});

async function main() {
  const router = new Router({
    model_list: [dep("chat", "br-ai-a"), dep("backup", "br-ai-b"), dep("solo", "br-ai-e")],
    fallbacks: [{ chat: ["backup"] }],
    num_retries: 0,
  });
  const llmux = createLlmux(router);
  const out = {};
  const res = await generateText({ model: llmux("chat"), prompt: "hi", maxRetries: 0 });
  out.fallback = { text: res.text, llmux: res.providerMetadata.llmux };
  const result = streamText({ model: llmux("backup"), prompt: "hi", maxRetries: 0 });
  const pieces = [];
  for await (const piece of result.textStream) pieces.push(piece);
  out.stream = { pieces, finish: await result.finishReason };
  try {
    await generateText({ model: llmux("solo"), prompt: "hi", maxRetries: 0 });
    out.error = { threw: false };
  } catch (e) {
    out.error = { api: APICallError.isInstance(e), status: e.statusCode };
  }
  return out;
}

main().then(
  (out) => (window.__aiSdk = out),
  (e) => (window.__aiSdk = { threw: String(e?.stack ?? e) }),
);
