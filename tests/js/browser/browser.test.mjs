// Tier 3d: the package's browser entry (js/browser.js, top-level `await init(new URL(...))`) in
// Debian's headless Chromium driven by playwright-core. The mock serves the package, its wasm
// and page.html from /__static/ on the same origin as its API, so no CORS is involved; the
// page runs the scenarios and writes what it observed as JSON into #result.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { startMockServer } from "../../mock/server.mjs";
import { startRealtimeProvider } from "../../mock/realtime.mjs";

const root = fileURLToPath(new URL("../../../", import.meta.url));

/** @type {Awaited<ReturnType<typeof startMockServer>>} */
let mock;
/** @type {import("playwright-core").Browser} */
let browser;
/** The realtime provider the page's `realtime` scenario connects to. */
let realtime;
/** What page.html observed, per scenario. */
let result;
const pageErrors = [];

before(async () => {
  // @opentelemetry/api ships extensionless ESM imports: a browser app bundles it, so the page's
  // import map points at an esbuild bundle of it (llmux/otel's only dependency).
  await build({
    entryPoints: [path.join(root, "node_modules/@opentelemetry/api/build/esm/index.js")],
    bundle: true,
    format: "esm",
    outfile: path.join(root, "node_modules", ".cache", "llmux-browser", "otel-api.mjs"),
    logLevel: "error",
  });
  mock = await startMockServer({ port: 0, staticRoot: root });
  realtime = await startRealtimeProvider({ key: "sk-browser-realtime", model: "rt-a" });
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const page = await browser.newPage();
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    console.error(`[page console.error] ${msg.text()}`);
    // Chromium logs every fetch answered with an error status (the scripted 500) this way.
    if (!msg.text().startsWith("Failed to load resource:")) pageErrors.push(msg.text());
  });
  page.on("pageerror", (err) => {
    pageErrors.push(String(err));
    console.error(`[page error] ${err.stack ?? err}`);
  });
  await page.goto(
    `${mock.url}/__static/tests/js/browser/page.html?realtime=${encodeURIComponent(realtime.base)}`,
  );
  await page.waitForSelector("#result[data-done]", { state: "attached", timeout: 20_000 });
  result = JSON.parse(await page.textContent("#result"));
});

after(async () => {
  await browser?.close();
  await mock?.close();
  await realtime?.close();
});

/** One scenario's observations; fails with the page's error when the scenario threw. */
function scenario(name) {
  assert.equal(result.load_error, undefined, `the page failed to load llmux: ${result.load_error}`);
  const s = result.scenarios[name];
  assert.ok(s, `scenario ${name} did not run`);
  assert.equal(
    s.threw,
    undefined,
    `scenario ${name} threw: ${JSON.stringify(s.threw)}\n${s.stack}`,
  );
  return s;
}

test("the page loads the browser entry and its wasm from the mock's origin without errors", () => {
  assert.equal(result.load_error, undefined, result.load_error);
  assert.match(result.version, /^\d+\.\d+\.\d+/);
  assert.deepEqual(pageErrors, []);
  const names = new Set(mock.calls.map((c) => c.name));
  assert.deepEqual(
    [...names].filter((n) => !n.startsWith("br-")),
    [],
    "the page made no upstream call outside the scenarios' deployments",
  );
});

test("a chat completion in the browser is answered by the mock with _hidden_params", () => {
  const s = scenario("chat");
  assert.equal(s.content, "Hello from br-chat");
  assert.equal(s.hidden.model_group, "chat");
  assert.equal(s.hidden.model_id, "br-chat");
  assert.equal(s.hidden.api_base, mock.base("br-chat"));
  assert.equal(s.hidden.attempts, 1);
  assert.equal(s.hidden_enumerable, false, "_hidden_params is non-enumerable");
  assert.equal(s.calls, 1);
  assert.equal(mock.callsTo("br-chat").length, 1);
  assert.equal(mock.callsTo("br-chat")[0].headers.authorization, "Bearer sk-browser-test");
});

test("a scripted 500 on the first deployment is retried on the second deployment", () => {
  const s = scenario("retry");
  assert.equal(s.hidden.model_id, "br-r-b");
  assert.equal(s.hidden.attempts, 2);
  assert.equal(s.hidden.retries, 1);
  assert.equal(s.content, "Hello from br-r-b");
  assert.equal(s.calls_a, 1);
  assert.equal(s.calls_b, 1);
});

test("a hung upstream raises Timeout in the browser and the upstream request is aborted", () => {
  const s = scenario("timeout");
  assert.ok(s.error, "the call must fail");
  assert.equal(s.error.constructor, "Timeout");
  assert.ok(s.error.instance_of.includes("Timeout"), s.error.instance_of.join());
  assert.equal(s.error.status, 408);
  assert.equal(s.error.model_group, "slow");
  assert.ok(s.elapsed_ms >= 250 && s.elapsed_ms < 3000, `elapsed ${s.elapsed_ms} ms`);
  assert.equal(s.calls, 1);
  assert.equal(s.aborted_delta, 1, "the mock saw the upstream request aborted");
});

test("an invalid model string throws ConfigError naming the field in the browser", () => {
  const s = scenario("config_error");
  assert.ok(s.error, "new Router must throw");
  assert.equal(s.error.constructor, "ConfigError");
  assert.ok(s.error.instance_of.includes("ConfigError"));
  assert.equal(s.error.field, "model_list[1].litellm_params.model");
  assert.equal(mock.callsTo("br-cfg").length, 0);
});

test("50 concurrent completions in the browser are all answered", () => {
  const s = scenario("concurrent");
  assert.deepEqual(s.rejected, []);
  assert.equal(s.fulfilled, 50);
  assert.equal(s.matching_content, 50, "each reply names the deployment that answered it");
  assert.equal(s.calls_a + s.calls_b, 50, "one upstream call per completion");
  const prompts = new Set(
    [...mock.callsTo("br-many-a"), ...mock.callsTo("br-many-b")].map(
      (c) => c.body.messages[0].content,
    ),
  );
  assert.equal(prompts.size, 50, "every request reached the mock once");
});

test("a stream is iterated with for await in the browser", () => {
  const s = scenario("stream");
  assert.equal(s.text, "Streamed into the browser page");
  assert.ok(s.chunks >= 5, `chunks: ${s.chunks}`);
  assert.equal(s.model_id, "br-stream");
});

test("toReadableStream() in a Response reads back with the openai client in the browser", () => {
  assert.equal(scenario("stream_response").text, "Piped through a Response");
});

test("leaving for await in the browser closes the upstream connection", () => {
  assert.equal(scenario("stream_cancel").aborted_delta, 1);
});

test("a mid-stream reset in the browser throws APIConnectionError", () => {
  const s = scenario("stream_reset");
  assert.equal(s.calls, 1);
  assert.ok(s.error, "the iteration threw");
  assert.ok(s.error.instance_of.includes("APIConnectionError"), JSON.stringify(s.error));
});

test("llmux/otel, the logging callbacks and metrics() in the browser", () => {
  const s = scenario("observability");
  assert.equal(s.call_name, "chat chat");
  assert.ok(s.input_tokens > 0);
  assert.equal(s.retry_events, 1);
  assert.equal(s.attempts, 2);
  assert.equal(s.payload_metadata, "browser");
  assert.equal(s.payload_id_is_uuid, true);
  assert.match(s.metrics_line, /model_id="br-obs"/);
  assert.match(s.metrics_line, / 1$/);
  assert.equal(s.leaks_key, false);
});

test("rerank in the browser: Cohere's /v2/rerank answered, priced per search unit", () => {
  const s = scenario("rerank");
  assert.deepEqual(s.indexes, [1]);
  assert.equal(s.search_units, 1);
  assert.equal(s.hidden.model_id, "br-rerank");
  assert.equal(s.hidden.response_cost, 0.002);
  assert.equal(s.calls, 1);
  assert.equal(mock.callsTo("br-rerank")[0].path, "/br-rerank/v2/rerank");
});

test("a custom routing strategy chooses among candidates in the browser, cooldowns respected (#21)", () => {
  const s = scenario("custom_strategy");
  assert.deepEqual(s.answered, ["br-cs-b", "br-cs-b", "br-cs-b"]);
  // First pick: every deployment; c answers 429 and cools down, so the retry and the two
  // later calls are offered a and b only.
  assert.deepEqual(
    s.asked.map((a) => a.ids),
    [
      ["br-cs-a", "br-cs-b", "br-cs-c"],
      ["br-cs-a", "br-cs-b"],
      ["br-cs-a", "br-cs-b"],
      ["br-cs-a", "br-cs-b"],
    ],
  );
  assert.ok(s.asked.every((a) => a.model === "pick" && a.user === "hi"));
  assert.ok(
    s.asked.every((a) => a.keys.every((k) => k !== "sk-browser-test")),
    "candidates are redacted",
  );
  assert.equal(s.calls_c, 1);
  assert.equal(s.calls_a + s.calls_b, 4, "three strategy picks plus one after its removal");
  assert.ok(["br-cs-a", "br-cs-b"].includes(s.without));
});

test("imageEdit in the browser: a canvas Blob and bytes go as image[] parts of a FormData", () => {
  const s = scenario("image_edit");
  assert.equal(s.hidden.model_id, "br-img");
  assert.equal(s.made.deployment, "br-img");
  assert.equal(s.made.images.length, 2);
  assert.deepEqual(
    s.files.map((f) => [f.field, f.type, f.size]),
    [
      ["image[]", "image/png", s.sizes[0]],
      ["image[]", "image/png", s.sizes[1]],
    ],
  );
});

test("realtime in the browser: the key as OpenAI's subprotocol, events both ways, Azure refused (#21)", () => {
  const s = scenario("realtime");
  assert.equal(s.model_id, "br-rt");
  assert.equal(s.protocol, "realtime");
  assert.equal(s.first.type, "session.created");
  assert.deepEqual(s.echo.event, { type: "response.create" });
  const upgrade = realtime.log.upgrades.at(-1);
  assert.equal(upgrade.url, "/v1/realtime?model=rt-a");
  assert.equal(upgrade.subprotocolAuth, true, "the key came as the subprotocol");
  assert.equal(upgrade.headers.authorization, undefined, "a browser sends no auth header");
  assert.equal(s.refused.name, "BadRequestError");
  assert.match(s.refused.message, /api-key header/);
  assert.ok(!s.refused.message.includes("sk-browser-realtime"));
});
