// The dashboard's JSON routes (`gateway.ui`) against dashboard-worker.js on one host (Node
// in-process, or workerd through Miniflare): the master key is required, the state shows
// cooldowns, fallbacks and calls, the operator actions change routing, and no key leaks.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startMockServer } from "../../mock/server.mjs";
import { MASTER_KEY, UPSTREAM_KEY, VIRTUAL_KEY } from "./dashboard-config.js";

const T = { timeout: 20_000 };
const messages = [{ role: "user", content: "hi" }];

/**
 * Registers the suite for one host. `start(env)` resolves to `{ send(path, init), close() }`,
 * where `send` answers a request to the gateway with a `Response`.
 */
export function dashboardSuite(name, start) {
  describe(`dashboard JSON routes in ${name}`, () => {
    let mock;
    let host;
    const auth = (key = MASTER_KEY) => ({ authorization: `Bearer ${key}` });
    const get = (path, key) => host.send(path, { headers: key === null ? {} : auth(key) });
    const post = (path, body, key) =>
      host.send(path, {
        method: "POST",
        headers: { ...(key === null ? {} : auth(key)), "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const state = async () => {
      const res = await get("/ui/state");
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("cache-control"), "no-store");
      const text = await res.text();
      assert.ok(!text.includes(UPSTREAM_KEY), "no upstream key in the state");
      assert.ok(!text.includes(MASTER_KEY) && !text.includes(VIRTUAL_KEY), "no gateway key");
      return JSON.parse(text);
    };
    const deployment = (s, id) =>
      s.groups.flatMap((g) => g.deployments).find((d) => d.id === id) ?? assert.fail(id);
    const chat = async (model) => {
      const res = await post("/v1/chat/completions", { model, messages });
      assert.equal(res.status, 200, await res.clone().text());
      return res;
    };

    before(async () => {
      mock = await startMockServer({ port: 0 });
      host = await start({ MOCK_URL: mock.url, MASTER_KEY, UPSTREAM_KEY });
    });
    after(async () => {
      await host?.close();
      await mock?.close();
    });

    it("serves the page without a key, with a strict CSP and nothing secret in it", T, async () => {
      const res = await get("/ui", null);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type"), /^text\/html/);
      const csp = res.headers.get("content-security-policy");
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /frame-ancestors 'none'/);
      const nonce = /script-src 'nonce-([^']+)'/.exec(csp)[1];
      const html = await res.text();
      assert.ok(html.includes(`<script nonce="${nonce}">`));
      assert.ok(!html.includes(UPSTREAM_KEY) && !html.includes(MASTER_KEY));
      assert.ok(!/https?:\/\/(?!www\.w3\.org)/.test(html), "no external resource");
    });

    it(
      "refuses the JSON routes without the master key: 401 without or with a wrong key, 403 for a virtual key",
      T,
      async () => {
        for (const [path, send] of [
          ["/ui/state", (key) => get("/ui/state", key)],
          ["/ui/health-check", (key) => post("/ui/health-check", {}, key)],
          ["disable", (key) => post("/ui/deployments/primary/disable", undefined, key)],
          [
            "clear-cooldown",
            (key) => post("/ui/deployments/primary/clear-cooldown", undefined, key),
          ],
        ]) {
          const none = await send(null);
          assert.equal(none.status, 401, path);
          assert.equal((await none.json()).error.code, "invalid_api_key");
          assert.equal((await send("sk-wrong")).status, 401, path);
          const virtual = await send(VIRTUAL_KEY);
          assert.equal(virtual.status, 403, path);
          assert.equal((await virtual.json()).error.code, "master_key_required");
        }
        assert.equal(mock.calls.length, 0, "no health check went upstream");
        assert.equal(
          deployment(await state(), "primary").status,
          "healthy",
          "nothing was disabled",
        );
      },
    );

    it(
      "shows a rate-limited deployment cooling down with its end, and the call that went around it",
      T,
      async () => {
        mock.script("primary", { error: "rate_limit" });
        const res = await chat("chat");
        assert.equal(res.headers.get("x-litellm-model-id"), "secondary");
        const s = await state();
        const primary = deployment(s, "primary");
        assert.equal(primary.status, "cooling_down");
        assert.ok(primary.cooldown_until_ms > s.now_ms);
        assert.ok(primary.cooldown_remaining_ms > 0 && primary.cooldown_remaining_ms <= 60_000);
        assert.equal(primary.failures_by_kind.RateLimitError, 1);
        assert.equal(primary.model, "openai/mock-primary");
        assert.equal(primary.provider, "openai");
        const call = s.calls[0];
        assert.equal(call.ok, true);
        assert.equal(call.deployment, "secondary");
        assert.equal(call.attempts, 2);
        assert.equal(call.retries, 1);
        assert.ok(s.events.some((e) => e.type === "cooldown" && e.model_id === "primary"));
        const secondary = deployment(s, "secondary");
        assert.equal(secondary.history.requests.length, 30);
        assert.equal(secondary.history.requests.at(-1), 1, "this bucket has its answer");
        assert.equal(typeof secondary.history.latency_ms.at(-1), "number");
        assert.equal(s.store.configured, false);
      },
    );

    it("shows a call answered by a fallback group, with tokens and cost per group", T, async () => {
      mock.script("solo", { error: "server" }, { error: "server" });
      const res = await chat("solo");
      assert.equal(res.headers.get("x-llmux-fallback-model-group"), "backup");
      const s = await state();
      const call = s.calls[0];
      assert.equal(call.model_group, "solo");
      assert.equal(call.fallback, "backup");
      assert.equal(call.deployment, "backup");
      assert.equal(call.attempts, 3);
      assert.ok(call.cost > 0);
      assert.ok(
        s.events.some((e) => e.type === "fallback" && e.from === "solo" && e.to === "backup"),
      );
      const solo = s.groups.find((g) => g.name === "solo");
      assert.equal(solo.fallbacks, 1);
      assert.ok(solo.prompt_tokens > 0 && solo.cost > 0);
    });

    it("clear-cooldown brings the deployment back at once", T, async () => {
      const before = deployment(await state(), "primary");
      assert.equal(before.status, "cooling_down");
      const res = await post("/ui/deployments/primary/clear-cooldown");
      assert.equal(res.status, 200);
      const row = await res.json();
      assert.equal(row.status, "healthy");
      assert.equal(row.cooldown_until_ms, null);
      assert.equal(deployment(await state(), "primary").status, "healthy");
      const answered = await chat("chat");
      assert.equal(answered.headers.get("x-litellm-model-id"), "primary");
      assert.ok(
        (await state()).events.some((e) => e.type === "clear_cooldown" && e.model_id === "primary"),
      );
    });

    it(
      "disable takes a deployment out of rotation and enable puts it back; readiness counts it",
      T,
      async () => {
        const res = await post("/ui/deployments/primary/disable");
        assert.equal(res.status, 200);
        assert.equal((await res.json()).status, "disabled");
        const s = await state();
        assert.equal(deployment(s, "primary").disabled, true);
        for (let i = 0; i < 3; i++)
          assert.equal((await chat("chat")).headers.get("x-litellm-model-id"), "secondary");
        const ready = await (await get("/health/readiness")).json();
        assert.equal(ready.available, ready.deployments - 1);
        assert.equal(
          (await (await post("/ui/deployments/primary/enable")).json()).status,
          "healthy",
        );
        assert.equal((await chat("chat")).headers.get("x-litellm-model-id"), "primary");
      },
    );

    it("runs a health check for a group and keeps its result in the state", T, async () => {
      const before = mock.calls.length;
      const res = await post("/ui/health-check", { model: "chat" });
      assert.equal(res.status, 200);
      const r = await res.json();
      assert.equal(r.model_group, "chat");
      assert.equal(r.healthy_count, 2);
      assert.equal(r.unhealthy_count, 0);
      assert.equal(mock.calls.length - before, 2, "one probe per deployment of the group");
      const text = JSON.stringify(r);
      assert.ok(!text.includes(UPSTREAM_KEY));
      assert.equal((await state()).last_health_check.healthy_count, 2);
    });

    it(
      "answers bad requests to the routes: unknown group or deployment 404, wrong method 405",
      T,
      async () => {
        const unknownGroup = await post("/ui/health-check", { model: "nope" });
        assert.equal(unknownGroup.status, 404);
        assert.equal((await unknownGroup.json()).error.code, "model_not_found");
        const unknown = await post("/ui/deployments/nope/disable");
        assert.equal(unknown.status, 404);
        assert.equal((await unknown.json()).error.code, "deployment_not_found");
        const wrong = await get("/ui/deployments/primary/disable");
        assert.equal(wrong.status, 405);
        assert.equal(wrong.headers.get("allow"), "POST");
        assert.equal((await post("/ui/state")).status, 405);
        assert.equal((await get("/ui/other")).status, 404);
        const big = await host.send("/ui/health-check", {
          method: "POST",
          headers: { ...auth(), "content-type": "application/json" },
          body: JSON.stringify({ model: "x".repeat(8192) }),
        });
        assert.equal(big.status, 413);
      },
    );

    it("shows a deployment whose budget is spent, with when its window resets", T, async () => {
      assert.equal(deployment(await state(), "capped").status, "healthy");
      await chat("capped");
      const row = deployment(await state(), "capped");
      assert.equal(row.status, "budget_spent");
      const hour = 3_600_000;
      assert.ok(row.budget_resets_at_ms > Date.now() + hour - 60_000, "the 1 h window");
      assert.ok(row.budget_resets_at_ms <= Date.now() + hour);
    });
  });
}
