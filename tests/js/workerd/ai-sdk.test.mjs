// Tier 3c: llmux/ai-sdk inside workerd (Miniflare) with the real `ai` package: a Worker
// (ai-sdk-worker.js) bundled by esbuild, its .wasm kept as a CompiledWasm module, against the
// loopback mock provider: generateText with a fallback, streamText, an APICallError.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { startMockServer } from "../../mock/server.mjs";

const root = fileURLToPath(new URL("../../../", import.meta.url));
// The bundle keeps workerd.js's `../dist/wasm/llmux_bg.wasm` import: lay that path out here.
const out = path.join(root, "target", "ai-sdk-workerd");

let mock;
let mf;
before(async () => {
  mock = await startMockServer({ port: 0 });
  mkdirSync(path.join(out, "dist", "wasm"), { recursive: true });
  copyFileSync(
    path.join(root, "dist", "wasm", "llmux_bg.wasm"),
    path.join(out, "dist", "wasm", "llmux_bg.wasm"),
  );
  await build({
    entryPoints: [fileURLToPath(new URL("ai-sdk-worker.js", import.meta.url))],
    bundle: true,
    format: "esm",
    platform: "browser",
    conditions: ["workerd", "worker", "browser"],
    external: ["*.wasm"],
    outfile: path.join(out, "js", "worker.js"),
    logLevel: "error",
  });
  mf = new Miniflare({
    modules: true,
    modulesRoot: out,
    scriptPath: path.join(out, "js", "worker.js"),
    modulesRules: [
      { type: "ESModule", include: ["**/*.js"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2026-04-01",
    bindings: { MOCK_URL: mock.url },
  });
  await mf.ready;
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
