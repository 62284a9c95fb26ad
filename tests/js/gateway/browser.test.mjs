// The browser example (examples/browser) in Debian's headless Chromium (playwright-core): the
// page, served from its own origin, calls the Node gateway example cross-origin (CORS on for that
// origin only) and writes the answer into the DOM; the test reads the DOM and saves a
// screenshot under target/.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { after, before, beforeEach, test } from "node:test";
import { chromium } from "playwright-core";
import { start as startPage } from "../../../examples/browser/serve.mjs";
import { start as startGateway } from "../../../examples/node/server.mjs";
import { startMockServer } from "../../mock/server.mjs";
import { root } from "./hosts.mjs";

const KEY = "sk-browser-e2e";
const T = { timeout: 30_000 };
let mock;
let gateway;
let site;
let browser;

before(async () => {
  mock = await startMockServer({ port: 0 });
  site = await startPage({ port: 0 });
  gateway = await startGateway({
    port: 0,
    env: {
      LLMUX_MASTER_KEY: KEY,
      OPENAI_API_KEY: "sk-upstream-browser",
      OPENAI_BASE_URL: mock.base("gw"),
      LLMUX_CORS: site.url,
    },
  });
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
  await gateway?.close();
  await site?.close();
  await mock?.close();
});
beforeEach(() => mock.reset());

/** Loads the page with `params`, waits for it to finish, returns what it shows. */
async function ask(params, screenshot) {
  const page = await browser.newPage();
  try {
    const query = new URLSearchParams({ gateway: gateway.url, key: KEY, auto: "1", ...params });
    await page.goto(`${site.url}/?${query}`);
    await page.waitForSelector('#status[data-state="done"], #status[data-state="error"]', {
      timeout: 20_000,
    });
    const shown = {
      state: await page.getAttribute("#status", "data-state"),
      status: await page.textContent("#status"),
      answer: await page.textContent("#answer"),
      chunks: Number(await page.getAttribute("#answer", "data-chunks")),
    };
    if (screenshot) {
      const dir = path.join(root, "target");
      mkdirSync(dir, { recursive: true });
      await page.screenshot({ path: path.join(dir, screenshot), fullPage: true });
    }
    return shown;
  } finally {
    await page.close();
  }
}

test(
  "the page shows a streamed answer, chunk by chunk (screenshot: target/gateway-browser-stream.png)",
  T,
  async () => {
    const shown = await ask({ prompt: "Hi!" }, "gateway-browser-stream.png");
    assert.equal(shown.state, "done", shown.status);
    assert.equal(shown.answer, "Hello from gw");
    assert.ok(shown.chunks >= 3, `${shown.chunks} chunks`);
    const calls = mock.callsTo("gw");
    assert.equal(calls.length, 1);
    assert.equal(calls[0].body.stream, true);
    assert.equal(calls[0].headers.authorization, "Bearer sk-upstream-browser");
  },
);

test(
  "the page shows a non-streamed answer across origins (screenshot: target/gateway-browser.png)",
  T,
  async () => {
    const shown = await ask({ prompt: "Hi!", stream: "0" }, "gateway-browser.png");
    assert.equal(shown.state, "done", shown.status);
    assert.equal(shown.answer, "Hello from gw");
    assert.match(
      shown.status,
      /deployment [0-9a-f]{12}/,
      "x-litellm-model-id is exposed to the page",
    );
    assert.equal(mock.callsTo("gw")[0].body.messages[0].content, "Hi!");
  },
);

test("a wrong key shows the gateway's 401 on the page; nothing goes upstream", T, async () => {
  const shown = await ask({ key: "sk-wrong", stream: "0" });
  assert.equal(shown.state, "error");
  assert.match(shown.status, /^401: invalid API key/);
  assert.equal(mock.calls.length, 0);
});
