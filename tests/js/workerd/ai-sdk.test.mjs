// Tier 3c: llmux/ai-sdk inside workerd (Miniflare) with the real `ai` package: a Worker
// (ai-sdk-worker.js) bundled by esbuild, its .wasm kept as a CompiledWasm module, against the
// loopback mock provider: generateText with a fallback, streamText, an APICallError.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startMockServer } from "../../mock/server.mjs";
import { startBundledWorker } from "./bundled-worker.mjs";

let mock;
let mf;
before(async () => {
  mock = await startMockServer({ port: 0 });
  mf = await startBundledWorker("ai-sdk-worker.js", "ai-sdk-workerd", { MOCK_URL: mock.url });
});

after(async () => {
  await mf?.dispose();
  await mock?.close();
});

const run = async (name) => {
  const res = await mf.dispatchFetch(`http://worker.test/run?case=${name}`);
  assert.equal(res.status, 200, `case ${name}: ${res.status}`);
  return res.json();
};

test("workerd: generateText falls back; providerMetadata.llmux names the deployment", async () => {
  mock.script("wd-ai-a", { error: "server" });
  const { text, llmux } = await run("fallback");
  assert.equal(text, "Hello from wd-ai-b");
  assert.equal(llmux.model_id, "wd-ai-b");
  assert.equal(llmux.fallback_model_group, "backup");
  assert.equal(mock.callsTo("wd-ai-a").length, 1);
});

test("workerd: streamText streams the chunks, the finish reason and usage", async () => {
  mock.script("wd-ai-s", { reply: "one two three", chunk_delay_ms: 5 });
  const { pieces, finish, usage } = await run("stream");
  assert.deepEqual(pieces, ["one", " two", " three"]);
  assert.equal(finish, "stop");
  assert.equal(usage.outputTokens, 3);
});

test("workerd: a router error is an APICallError", async () => {
  mock.script("wd-ai-e", { error: "rate_limit" });
  assert.deepEqual(await run("error"), { api: true, status: 429, retryable: true });
});
