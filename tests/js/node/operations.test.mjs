// Operating the router: deployments changed at runtime, health checks, cost, usage, metrics,
// events and logging — and no credential in any of their outputs.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import {
  T,
  Router,
  errors,
  startMockServer,
  deployment,
  routerOver,
  chatRequest,
  keyOf,
} from "./fixture.mjs";

let mock;
before(async () => {
  mock = await startMockServer();
});
after(() => mock.close());
beforeEach(() => mock.reset());

describe("deployments at runtime", () => {
  it("addDeployment is used by the next request; a duplicate id is a ConfigError", T, async () => {
    const router = routerOver(mock, { chat: ["a"] });
    const added = router.addDeployment(deployment(mock, "chat", "b", { weight: 1e6 }));
    assert.equal(added.model_info.id, "b");
    assert.equal(added.litellm_params.api_key, "***");
    const res = await router.completion(chatRequest());
    assert.equal(res._hidden_params.model_id, "b");
    assert.deepEqual(
      router.getModelList("chat").map((d) => d.model_info.id),
      ["a", "b"],
    );
    assert.throws(
      () => router.addDeployment(deployment(mock, "chat", "b")),
      (e) => e instanceof errors.ConfigError && e.field === "model_list[2].model_info.id",
    );
    assert.throws(
      () => router.addDeployment({ model_name: "x", litellm_params: { model: "nope/x" } }),
      (e) => e instanceof errors.ConfigError && e.field === "model_list[2].litellm_params.model",
    );
  });

  it(
    "a burst survives add, update and delete: nothing lost, the deleted deployment is never called again",
    T,
    async () => {
      mock.mode("a", { kind: "healthy", delay_ms: 20 });
      mock.mode("b", { kind: "healthy", delay_ms: 20 });
      mock.mode("c", { kind: "healthy", delay_ms: 20 });
      const router = routerOver(mock, { chat: ["a", "b"] });
      const burst = (n) => Array.from({ length: n }, () => router.completion(chatRequest()));
      const first = burst(40);
      await new Promise((r) => setTimeout(r, 5));
      router.addDeployment(deployment(mock, "chat", "c", { weight: 1 }));
      router.updateDeployment("a", { litellm_params: { weight: 1 } });
      assert.notEqual(router.deleteDeployment("b"), null);
      const second = burst(60);
      const results = await Promise.allSettled([...first, ...second]);
      assert.equal(results.length, 100);
      assert.ok(
        results.every((r) => r.status === "fulfilled"),
        "every request answered",
      );
      const ids = new Set(results.map((r) => r.value.id));
      assert.equal(ids.size, 100, "no answer duplicated");
      const later = results.slice(40).map((r) => r.value._hidden_params.model_id);
      assert.ok(!later.includes("b"), "requests after the deletion never use it");
      assert.ok(later.includes("c"), "the added deployment serves traffic");
      const answeredByB = results.filter((r) => r.value._hidden_params.model_id === "b").length;
      assert.equal(
        mock.callsTo("b").length,
        answeredByB,
        "b only served requests that started before its deletion",
      );
      assert.equal(router.deleteDeployment("b"), null);
    },
  );

  it("updateDeployment deep-merges params, keeps the id and revalidates", T, async () => {
    const router = routerOver(mock, { chat: ["a"] });
    const updated = router.updateDeployment("a", {
      litellm_params: { extra_headers: { "x-team": "blue" }, temperature: 0.3 },
      model_info: { mode: "chat" },
    });
    assert.equal(updated.model_info.id, "a");
    assert.equal(updated.litellm_params.api_key, "***");
    await router.completion(chatRequest());
    const call = mock.callsTo("a")[0];
    assert.equal(call.headers["x-team"], "blue");
    assert.equal(call.body.temperature, 0.3);
    assert.equal(call.headers.authorization, `Bearer ${keyOf("a")}`, "the key survives the merge");
    assert.throws(
      () => router.updateDeployment("a", { litellm_params: { timeout: "soon" } }),
      (e) => e instanceof errors.ConfigError && e.field === "model_list[0].litellm_params.timeout",
    );
    assert.throws(() => router.updateDeployment("zz", {}), errors.ConfigError);
  });

  it("setModelList replaces the deployments; cooldown state of kept ids survives", T, async () => {
    mock.script("a", { error: "rate_limit" });
    const router = routerOver(
      mock,
      {
        chat: [
          ["a", { weight: 1e6 }],
          ["b", { weight: 1 }],
        ],
      },
      { num_retries: 1 },
    );
    await router.completion(chatRequest());
    assert.notEqual((await router.getUsageStats()).deployments.a.cooldown_until_ms, null);
    router.setModelList([
      deployment(mock, "chat", "a"),
      deployment(mock, "chat", "b"),
      deployment(mock, "other", "c"),
    ]);
    assert.deepEqual(router.getModelNames(), ["chat", "other"]);
    const stats = (await router.getUsageStats()).deployments;
    assert.notEqual(stats.a.cooldown_until_ms, null, "a is still cooling down");
    router.setModelList([deployment(mock, "chat", "b")]);
    assert.equal((await router.getUsageStats()).deployments.a, undefined, "a's state is gone");
    assert.equal(router.getModelInfo("b").model_info.id, "b");
    assert.equal(router.getModelInfo("a"), null);
  });
});

describe("health checks", () => {
  it(
    "healthCheck probes each deployment and reports LiteLLM's shape without secrets",
    T,
    async () => {
      mock.mode("down", { kind: "down", error: "server" });
      mock.mode("slow", { kind: "slow", delay_ms: 2000 });
      mock.mode("unauth", { kind: "down", error: "auth" });
      const router = new Router({
        model_list: [
          deployment(mock, "chat", "up"),
          deployment(mock, "chat", "down"),
          deployment(mock, "chat", "slow", { timeout: 0.3 }),
          deployment(mock, "chat", "unauth"),
          deployment(mock, "emb", "vec", {}, { mode: "embedding" }),
          deployment(mock, "img", "pic", {}, { mode: "image_generation" }),
        ],
      });
      const report = await router.healthCheck();
      const ids = (list) => list.map((e) => e.model_id).sort();
      assert.deepEqual(ids(report.healthy_endpoints), ["up", "vec"]);
      assert.deepEqual(ids(report.unhealthy_endpoints), ["down", "slow", "unauth"]);
      assert.deepEqual(ids(report.skipped_endpoints), ["pic"]);
      assert.equal(report.healthy_count, 2);
      assert.equal(report.unhealthy_count, 3);
      const errorOf = (id) => report.unhealthy_endpoints.find((e) => e.model_id === id).error;
      assert.match(errorOf("down"), /^InternalServerError: /);
      assert.match(errorOf("slow"), /^Timeout: /);
      assert.match(errorOf("unauth"), /^AuthenticationError: /);
      assert.equal(mock.callsTo("up")[0].body.max_tokens, 1, "a 1-token probe");
      assert.equal(mock.callsTo("vec")[0].path, "/vec/v1/embeddings");
      assert.equal(mock.callsTo("pic").length, 0);
      assert.ok(!JSON.stringify(report).includes("sk-test-"), "no key in the report");
      // Probes neither cool deployments down nor count as traffic.
      const stats = await router.getUsageStats();
      assert.deepEqual(stats.deployments, {});
      const only = await router.healthCheck("emb");
      assert.deepEqual(ids(only.healthy_endpoints), ["vec"]);
      assert.equal(only.unhealthy_count, 0);
    },
  );
});

describe("cost and usage", () => {
  it(
    "response_cost matches the bundled price data by hand, and resetCost zeroes the totals",
    T,
    async () => {
      const router = new Router({
        model_list: [
          {
            model_name: "mini",
            litellm_params: { model: "openai/gpt-4o-mini", api_base: mock.base("m"), api_key: "k" },
            model_info: { id: "m" },
          },
        ],
      });
      const prices = router.getModelCostMap()["gpt-4o-mini"];
      assert.equal(prices.litellm_provider, "openai");
      assert.ok(prices.input_cost_per_token > 0 && prices.output_cost_per_token > 0);
      const res = await router.completion(chatRequest("mini"));
      const { prompt_tokens, completion_tokens } = res.usage;
      const expected =
        prompt_tokens * prices.input_cost_per_token +
        completion_tokens * prices.output_cost_per_token;
      assert.ok(Math.abs(res._hidden_params.response_cost - expected) < 1e-15);
      const stats = await router.getUsageStats();
      assert.ok(Math.abs(stats.deployments.m.cost - expected) < 1e-15);
      assert.ok(Math.abs(stats.model_groups.mini.cost - expected) < 1e-15);
      router.resetCost();
      const after = await router.getUsageStats();
      assert.equal(after.deployments.m.cost, 0);
      assert.equal(after.model_groups.mini.cost, 0);
      assert.equal(after.deployments.m.successes, 1, "other counters stay");
    },
  );

  it("usage totals equal the requests made, per deployment and per model group", T, async () => {
    mock.script("a", { error: "server" });
    const router = routerOver(
      mock,
      {
        chat: [
          ["a", { weight: 1e6 }],
          ["b", { weight: 1 }],
        ],
        backup: ["c"],
      },
      { num_retries: 1, fallbacks: [{ chat: ["backup"] }] },
    );
    mock.script("b", { error: "server" }, { error: "server" });
    for (let i = 0; i < 3; i++) await router.completion(chatRequest());
    const { deployments, model_groups } = await router.getUsageStats();
    const calls = (n) => mock.callsTo(n).length;
    for (const id of ["a", "b", "c"]) assert.equal(deployments[id]?.requests ?? 0, calls(id), id);
    assert.equal(model_groups.chat.requests, 3);
    assert.equal(model_groups.chat.successes, 3);
    assert.equal(model_groups.chat.fallbacks, calls("c"));
    assert.equal(
      model_groups.chat.retries,
      calls("a") + calls("b") + calls("c") - 3 - model_groups.chat.fallbacks,
    );
    assert.equal(model_groups.chat.in_flight, 0);
    for (const key of ["p50", "p95", "p99"]) {
      assert.equal(typeof model_groups.chat.latency_ms[key], "number");
    }
  });

  it("printDeploymentMetrics logs and returns an aligned table", T, async () => {
    const lines = [];
    const logger = { debug() {}, info: (m) => lines.push(m), warn() {}, error() {} };
    const router = routerOver(mock, { chat: ["a", "b"] }, { logger });
    for (let i = 0; i < 4; i++) await router.completion(chatRequest());
    const table = router.printDeploymentMetrics();
    assert.equal(lines.at(-1), table);
    const rows = table.split("\n");
    assert.match(rows[0], /^deployment\s+group\s+requests\s+ok\s+failed/);
    assert.equal(new Set(rows.map((r) => r.length)).size, 1, "every row has the same width");
    const requests = rows.slice(1).reduce((n, r) => n + Number(r.split(/\s+/)[2]), 0);
    assert.equal(requests, 4);
  });
});

describe("events and logging", () => {
  it("on callbacks receive success, retry, cooldown, fallback and failure events", T, async () => {
    const seen = [];
    const on = Object.fromEntries(
      ["success", "failure", "retry", "fallback", "cooldown"].map((k) => [
        k,
        (e) => seen.push([k, e]),
      ]),
    );
    mock.script("a", { error: "rate_limit" });
    mock.mode("x", { kind: "down", error: "server" });
    const router = routerOver(
      mock,
      {
        chat: [
          ["a", { weight: 1e6 }],
          ["b", { weight: 1 }],
        ],
        bad: ["x"],
        backup: ["c"],
      },
      { on, num_retries: 1, fallbacks: [{ bad: ["backup"] }] },
    );
    await router.completion(chatRequest());
    const kinds = seen.map(([k]) => k);
    assert.deepEqual(kinds, ["cooldown", "retry", "success"]);
    assert.equal(seen[0][1].model_id, "a");
    assert.equal(seen[0][1].error, "RateLimitError");
    assert.equal(seen[1][1].delay_ms, 0, "the retry goes to b at once");
    assert.equal(seen[2][1].model_id, "b");
    seen.length = 0;
    await router.completion(chatRequest("bad"));
    assert.deepEqual(
      seen.map(([k]) => k),
      ["retry", "fallback", "success"],
    );
    const { from, to, error, status, id } = seen[1][1];
    assert.deepEqual(
      { from, to, error, status },
      {
        from: "bad",
        to: "backup",
        error: "InternalServerError",
        status: 500,
      },
    );
    assert.equal(id, seen[2][1].id, "the fallback and the success carry the call's id");
    seen.length = 0;
    await assert.rejects(router.completion(chatRequest("bad", { disable_fallbacks: true })));
    assert.equal(seen.at(-1)[0], "failure");
    assert.equal(seen.at(-1)[1].error, "InternalServerError");
  });

  it("a throwing callback or logger never breaks a request", T, async () => {
    const boom = () => {
      throw new Error("boom");
    };
    const router = routerOver(
      mock,
      { chat: ["a"] },
      {
        on: { success: boom, failure: boom },
        set_verbose: true,
        logger: { debug: boom, info: boom, warn: boom, error: boom },
      },
    );
    const res = await router.completion(chatRequest());
    assert.equal(res._hidden_params.model_id, "a");
  });

  it(
    "no key appears in any output: responses, errors, listings, health, stats, metrics, logs, events",
    T,
    async () => {
      const out = [];
      const logger = Object.fromEntries(
        ["debug", "info", "warn", "error"].map((k) => [k, (m) => out.push(m)]),
      );
      const on = Object.fromEntries(
        ["success", "failure", "retry", "fallback", "cooldown"].map((k) => [k, (e) => out.push(e)]),
      );
      const secret = "sk-live-OPS-SECRET-4242";
      mock.script("a", {
        status: 401,
        body: {
          error: {
            message: `Incorrect API key provided: ${secret}`,
            type: "invalid_request_error",
          },
        },
      });
      mock.mode("down", { kind: "down", error: "server" });
      const router = new Router({
        model_list: [
          deployment(mock, "chat", "a", { api_key: secret }),
          deployment(mock, "chat", "b", {
            api_key: secret,
            extra_headers: { "x-api-key": secret },
          }),
          deployment(mock, "chat", "down", { api_key: secret }),
        ],
        set_verbose: true,
        debug_level: "DEBUG",
        logger,
        on,
        num_retries: 2,
      });
      for (let i = 0; i < 4; i++) {
        try {
          out.push(await router.completion(chatRequest()));
        } catch (e) {
          out.push(e, e.message, { ...e });
        }
      }
      out.push(router.getDeployments(), router.getModelList(), router.getModelInfo("a"));
      out.push(await router.healthCheck(), await router.getUsageStats());
      out.push(router.printDeploymentMetrics());
      router.updateDeployment("b", { litellm_params: { temperature: 0.1 } });
      out.push(router.getModelInfo("b"));
      const text = out.map((o) => (typeof o === "string" ? o : JSON.stringify(o))).join("\n");
      assert.ok(text.length > 1000, "outputs were collected");
      assert.ok(!text.includes("OPS-SECRET"), "the key leaked into an output");
    },
  );
});
