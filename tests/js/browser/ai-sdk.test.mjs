// Tier 3d: llmux/ai-sdk in headless Chromium with the real `ai` package: ai-sdk-page.js bundled
// by esbuild (the .wasm fetched next to it, as the browser entry does), served by the mock on
// its own origin: generateText with a fallback, streamText, an APICallError.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { startMockServer } from "../../mock/server.mjs";

const root = fileURLToPath(new URL("../../../", import.meta.url));
// js/browser.js fetches `../dist/wasm/llmux_bg.wasm` relative to itself: lay that path out.
const out = path.join(root, "target", "ai-sdk-browser");

let mock;
let browser;
let seen;
before(async () => {
  mkdirSync(path.join(out, "dist", "wasm"), { recursive: true });
  copyFileSync(
    path.join(root, "dist", "wasm", "llmux_bg.wasm"),
    path.join(out, "dist", "wasm", "llmux_bg.wasm"),
  );
  await build({
    entryPoints: [fileURLToPath(new URL("ai-sdk-page.js", import.meta.url))],
    bundle: true,
    format: "esm",
    platform: "browser",
    outfile: path.join(out, "js", "page.js"),
    logLevel: "error",
  });
  writeFileSync(
    path.join(out, "js", "page.html"),
    '<!doctype html><meta charset="utf-8"><script type="module" src="./page.js"></script>',
  );
  mock = await startMockServer({ port: 0, staticRoot: root });
  mock.script("br-ai-a", { error: "server" });
  mock.script("br-ai-b", {}, { reply: "one two three", chunk_delay_ms: 5 });
  mock.script("br-ai-e", { error: "rate_limit" });
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  const page = await browser.newPage();
  await page.goto(`${mock.url}/__static/target/ai-sdk-browser/js/page.html`);
  await page.waitForFunction(() => window.__aiSdk !== undefined, undefined, { timeout: 20_000 });
  seen = await page.evaluate(() => window.__aiSdk);
});

after(async () => {
  await browser?.close();
  await mock?.close();
});

test("Chromium: the page ran without throwing", () => {
  assert.equal(seen.threw, undefined, seen.threw);
});

test("Chromium: generateText falls back; providerMetadata.llmux names the deployment", () => {
  assert.equal(seen.fallback.text, "Hello from br-ai-b");
  assert.equal(seen.fallback.llmux.model_id, "br-ai-b");
  assert.equal(seen.fallback.llmux.fallback_model_group, "backup");
});

test("Chromium: streamText streams the chunks and the finish reason", () => {
  assert.deepEqual(seen.stream.pieces, ["one", " two", " three"]);
  assert.equal(seen.stream.finish, "stop");
});

test("Chromium: a router error is an APICallError", () => {
  assert.deepEqual(seen.error, { api: true, status: 429 });
});
