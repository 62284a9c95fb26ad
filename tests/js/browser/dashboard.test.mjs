// The dashboard page (gateway.ui) in Debian's headless Chromium (playwright-core), against a
// Node gateway over the loopback mock with scripted failures: a rate-limited deployment shows
// as cooling down with a countdown, the call log shows a fallback, "Clear cooldown" (pressed
// from the keyboard) brings the deployment back, and no key is in the DOM, in storage or in
// the page's traffic beyond its own Authorization header. Screenshot: target/dashboard.png.
import assert from "node:assert/strict";
import http from "node:http";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { Router } from "llmux";
import { nodeListener } from "../../../examples/node/server.mjs";
import { startMockServer } from "../../mock/server.mjs";
import { dashboardConfig, MASTER_KEY, UPSTREAM_KEY } from "../gateway/dashboard-config.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const T = { timeout: 60_000 };
let mock;
let server;
let url;
let browser;

before(async () => {
  mock = await startMockServer({ port: 0 });
  const router = new Router({
    ...dashboardConfig(mock.url),
    env: { MASTER_KEY, UPSTREAM_KEY },
  });
  server = http.createServer(nodeListener(router));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${server.address().port}`;
  // The scripted failures: primary's 429 benches it for 60 s (chat is answered by secondary);
  // solo fails twice and its call falls back to backup.
  mock.script("primary", { error: "rate_limit" });
  mock.script("solo", { error: "server" }, { error: "server" });
  for (const model of ["chat", "solo", "chat"]) {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
    });
    assert.equal(res.status, 200, await res.text());
  }
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
  });
});

after(async () => {
  await browser?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
  await mock?.close();
});

test(
  "the dashboard shows the cooldown and the fallback, and clear cooldown brings the deployment back",
  T,
  async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    const traffic = [];
    page.on("request", (r) =>
      traffic.push({
        kind: "request",
        url: r.url(),
        headers: r.headers(),
        body: r.postData() ?? "",
      }),
    );
    page.on("response", async (r) => {
      let body = "";
      try {
        body = await r.text();
      } catch {
        // A response without a body (or already gone).
      }
      traffic.push({ kind: "response", url: r.url(), headers: r.headers(), body });
    });
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));

    await page.goto(`${url}/ui`);
    // Keyboard only: the key field has focus, Enter submits.
    await page.waitForFunction(() => document.activeElement?.id === "key");
    await page.keyboard.type(MASTER_KEY);
    await page.keyboard.press("Enter");

    const primary = page.locator('tr[data-deployment="primary"]');
    await primary.and(page.locator('[data-status="cooling_down"]')).waitFor({ timeout: 10_000 });
    const countdown = async () =>
      Number(
        /cooling down, (\d+) s left/.exec(await primary.locator(".status").textContent())?.[1],
      );
    const first = await countdown();
    assert.ok(first > 0 && first <= 60, `countdown ${first}`);
    await page.waitForTimeout(2100);
    const later = await countdown();
    assert.ok(later < first, `the countdown ticks: ${first} -> ${later}`);

    const fallback = page.locator("#calls tbody td.fallback", { hasText: "backup" });
    await fallback.first().waitFor();
    const row = fallback.first().locator("xpath=..");
    assert.match(await row.textContent(), /solo/);
    assert.match(await row.textContent(), /backup/);
    assert.equal(
      await page.locator('tr[data-deployment="secondary"]').getAttribute("data-status"),
      "healthy",
    );
    assert.ok((await page.locator("#events li", { hasText: "cooldown: primary" }).count()) >= 1);

    mkdirSync(path.join(root, "target"), { recursive: true });
    await page.screenshot({ path: path.join(root, "target", "dashboard.png"), fullPage: true });

    // Keyboard again: focus the row's "Clear cooldown" button and press Enter.
    await primary.locator("button.clear-cooldown").focus();
    await page.keyboard.press("Enter");
    await primary.and(page.locator('[data-status="healthy"]')).waitFor({ timeout: 10_000 });
    assert.match(await primary.locator(".status").textContent(), /healthy/);
    assert.ok(await primary.locator("button.clear-cooldown").isHidden());
    await page.locator("#events li", { hasText: "clear cooldown: primary" }).waitFor();

    // No key in the DOM, in storage or cookies; in the traffic the master key is only ever the
    // Authorization header of the page's own requests, and the upstream key nowhere.
    const dom = await page.evaluate(() => ({
      html: document.documentElement.outerHTML,
      inputs: [...document.querySelectorAll("input")].map((i) => i.value),
      local: JSON.stringify({ ...localStorage }),
      session: JSON.stringify({ ...sessionStorage }),
      cookie: document.cookie,
    }));
    for (const secret of [MASTER_KEY, UPSTREAM_KEY]) {
      assert.ok(!dom.html.includes(secret), "key in the DOM");
      assert.ok(!dom.inputs.some((v) => v.includes(secret)), "key left in an input");
      assert.ok(
        !dom.local.includes(secret) &&
          !dom.session.includes(secret) &&
          !dom.cookie.includes(secret),
      );
    }
    await page.waitForTimeout(200);
    assert.ok(traffic.some((t) => t.kind === "request" && t.url.endsWith("/ui/state")));
    for (const t of traffic) {
      assert.ok(new URL(t.url).origin === url, `the page only talks to its gateway: ${t.url}`);
      const text = JSON.stringify(t);
      assert.ok(!text.includes(UPSTREAM_KEY), `upstream key in ${t.kind} ${t.url}`);
      const { authorization, ...rest } = t.headers;
      const withoutAuth = JSON.stringify({ ...t, headers: rest });
      assert.ok(
        !withoutAuth.includes(MASTER_KEY),
        `master key outside Authorization: ${t.kind} ${t.url}`,
      );
      if (authorization !== undefined) assert.equal(authorization, `Bearer ${MASTER_KEY}`);
    }
    assert.deepEqual(errors, [], "no script or CSP errors");
    await context.close();
  },
);

test(
  "the page is readable at phone width and a wrong key brings the key form back",
  T,
  async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${url}/ui`);
    await page.fill("#key", "sk-not-the-key");
    await page.click("#login button[type=submit]");
    await page.locator("#login-error", { hasText: "invalid API key" }).waitFor();
    assert.ok(await page.locator("#login").isVisible());
    assert.ok(await page.locator("#app").isHidden());
    await page.fill("#key", MASTER_KEY);
    await page.keyboard.press("Enter");
    await page.locator('tr[data-deployment="secondary"]').waitFor();
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    assert.ok(overflow <= 0, `no horizontal page scroll at 375 px (${overflow} px)`);
    await page.screenshot({
      path: path.join(root, "target", "dashboard-phone.png"),
      fullPage: true,
    });
    await context.close();
  },
);
