// Tier 3b: llmux/ai-sdk in Deno with the real `ai` package (from node_modules) against the
// loopback mock: generateText with a fallback in providerMetadata, streamText, embed, an
// abort that closes the upstream, an APICallError. Run by run.mjs.
import { APICallError } from "@ai-sdk/provider";
import { embed, generateText, streamText } from "ai";
// @ts-types="../../../js/index.d.ts"
import { Router } from "../../../js/browser.js";
// @ts-types="../../../js/ai-sdk.d.ts"
import { createLlmux } from "../../../js/ai-sdk.js";

const MOCK_URL = Deno.env.get("MOCK_URL") ?? "";
if (!MOCK_URL.startsWith("http://127.0.0.1:")) {
  throw new Error("MOCK_URL is not set: run `node tests/js/deno/run.mjs`");
}

async function control(path: string, body?: object): Promise<any> {
  const res = await fetch(`${MOCK_URL}/__mock/${path}`, {
    method: body ? "POST" : "GET",
    body: body ? JSON.stringify(body) : undefined,
  });
  return await res.json();
}
const script = (name: string, ...steps: object[]) => control("script", { name, steps });
const callsTo = async (name: string): Promise<unknown[]> =>
  (await control(`calls?name=${name}`)).calls;

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}
async function waitFor(pred: () => Promise<boolean>, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

const dep = (group: string, name: string) => ({
  model_name: group,
  litellm_params: {
    model: `openai/mock-${name}`,
    api_base: `${MOCK_URL}/${name}/v1`,
    api_key: `sk-test-${name}`,
  },
  model_info: { id: name },
});

Deno.test("ai-sdk: generateText falls back and says so in providerMetadata", async () => {
  await control("reset", {});
  const router = new Router({
    model_list: [dep("chat", "deno-ai-a"), dep("backup", "deno-ai-b")],
    fallbacks: [{ chat: ["backup"] }],
    num_retries: 0,
  });
  await script("deno-ai-a", { error: "server" });
  const llmux = createLlmux(router);
  const res = await generateText({ model: llmux("chat"), prompt: "hi", maxRetries: 0 });
  assert(res.text === "Hello from deno-ai-b", res.text);
  const meta = res.providerMetadata?.llmux as Record<string, unknown>;
  assert(meta.model_id === "deno-ai-b", JSON.stringify(meta));
  assert(meta.fallback_model_group === "backup", JSON.stringify(meta));
});

Deno.test("ai-sdk: streamText streams; embed embeds", async () => {
  await control("reset", {});
  const router = new Router({ model_list: [dep("chat", "deno-ai-s"), dep("embed", "deno-ai-e")] });
  const llmux = createLlmux(router);
  await script("deno-ai-s", { reply: "one two three", chunk_delay_ms: 5 });
  const result = streamText({ model: llmux("chat"), prompt: "hi", maxRetries: 0 });
  const pieces: string[] = [];
  for await (const piece of result.textStream) pieces.push(piece);
  assert(pieces.join("|") === "one| two| three", pieces.join("|"));
  assert((await result.finishReason) === "stop", "finish");
  const { embedding } = await embed({ model: llmux.textEmbeddingModel("embed"), value: "x" });
  assert(embedding.length === 8, `${embedding.length} dimensions`);
});

Deno.test("ai-sdk: an abort closes the upstream; errors are APICallErrors", async () => {
  await control("reset", {});
  const router = new Router({ model_list: [dep("chat", "deno-ai-x")], num_retries: 0 });
  const llmux = createLlmux(router);
  await script("deno-ai-x", { hang: true });
  const c = new AbortController();
  const pending = generateText({
    model: llmux("chat"),
    prompt: "hi",
    abortSignal: c.signal,
    maxRetries: 0,
  });
  assert(await waitFor(async () => (await callsTo("deno-ai-x")).length === 1), "upstream reached");
  c.abort();
  const e = await pending.then(
    () => undefined,
    (err) => err,
  );
  assert((e as Error)?.name === "AbortError", String(e));
  assert(await waitFor(async () => (await control("stats")).aborted === 1), "upstream aborted");
  await script("deno-ai-x", { error: "rate_limit" });
  const limited = await generateText({ model: llmux("chat"), prompt: "hi", maxRetries: 0 }).then(
    () => undefined,
    (err) => err,
  );
  assert(APICallError.isInstance(limited), String(limited));
  assert(limited.statusCode === 429 && limited.isRetryable === true, "429, retryable");
});
