// Shared state between two Workers in Miniflare (real workerd): one KV namespace and one
// Durable Object shared by both, each Worker keeping its Routers across requests.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { deployment, startMockServer } from "../node/fixture.mjs";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const T = { timeout: 60_000 };

let mock;
let mf;

const worker = (name) => ({
  name,
  modules: true,
  modulesRoot: root,
  scriptPath: fileURLToPath(new URL("worker.js", import.meta.url)),
  modulesRules: [
    { type: "ESModule", include: ["**/*.js"] },
    { type: "CompiledWasm", include: ["**/*.wasm"] },
  ],
  compatibilityDate: "2026-04-01",
  kvNamespaces: { STATE_KV: "llmux-shared-state" },
  durableObjects: { LLMUX_STATE: { className: "LlmuxStateObject", scriptName: "a" } },
});

before(async () => {
  mock = await startMockServer({ port: 0 });
  mf = new Miniflare({ workers: [worker("a"), worker("b")] });
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  await mock?.close();
});

async function call(name, route, body) {
  const w = await mf.getWorker(name);
  const res = await w.fetch(`http://${name}.test/${route}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return res.json();
}

async function awayFromMinuteEdge() {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 8_000) await new Promise((r) => setTimeout(r, left + 100));
}

for (const store of ["do", "kv"]) {
  test(
    `two Workers share cooldowns and rpm counts through ${store === "do" ? "a Durable Object" : "Workers KV"}`,
    T,
    async () => {
      mock.reset();
      await awayFromMinuteEdge();
      const p = (n) => `${store}-${n}`;
      const options = {
        enable_pre_call_checks: true,
        model_list: [
          deployment(mock, "chat", p("w1"), { weight: 1_000_000, rpm: 2 }),
          deployment(mock, "chat", p("w2"), { weight: 1 }),
          deployment(mock, "other", p("w3"), { weight: 1_000_000 }),
          deployment(mock, "other", p("w4"), { weight: 1 }),
        ],
      };
      for (const w of ["a", "b"])
        assert.deepEqual(await call(w, "init", { options }), { ok: true });
      // rpm: one request through each Worker, then both sync: w1 is full (2 of 2) for both.
      assert.equal((await call("a", "chat", { store })).id, p("w1"));
      assert.equal((await call("b", "chat", { store })).id, p("w1"));
      await call("a", "sync", { store });
      await call("b", "sync", { store });
      await call("a", "sync", { store });
      assert.equal((await call("a", "chat", { store })).id, p("w2"));
      assert.equal((await call("b", "chat", { store })).id, p("w2"));
      assert.equal(mock.callsTo(p("w1")).length, 2);
      // A cooldown set by Worker a keeps Worker b away from w3.
      mock.script(p("w3"), { error: "rate_limit" });
      assert.equal((await call("a", "chat", { store, model: "other" })).id, p("w4"));
      await call("a", "sync", { store });
      await call("b", "sync", { store });
      for (let i = 0; i < 3; i++) {
        assert.equal((await call("b", "chat", { store, model: "other" })).id, p("w4"));
      }
      assert.equal(mock.callsTo(p("w3")).length, 1);
      const { stats, warnings } = await call("b", "stats", { store });
      assert.equal(stats.state.store_down, false);
      assert.deepEqual(warnings, []);
    },
  );
}

for (const store of ["do", "kv"]) {
  test(
    `a Worker whose Router starts after another's cooldown and spend avoids both from its first call (${store === "do" ? "Durable Object" : "Workers KV"})`,
    T,
    async () => {
      mock.reset();
      const p = (n) => `cold-${store}-${n}`;
      // 4 prompt + 3 completion tokens at 1 USD each: 7 USD per answer, over the 5 USD budget.
      const prices = { input_cost_per_token: 1, output_cost_per_token: 1 };
      const options = {
        // Generous for a loaded machine; the default is 250 ms (README, "Shared state").
        state_first_sync_timeout_ms: 3000,
        model_list: [
          deployment(mock, "cold", p("c1"), { weight: 1_000_000 }),
          deployment(mock, "cold", p("c2"), { weight: 1 }),
          deployment(mock, "spend", p("s1"), {
            ...prices,
            weight: 1_000_000,
            max_budget: 5,
            budget_duration: "1d",
          }),
          deployment(mock, "spend", p("s2"), { ...prices, weight: 1 }),
        ],
      };
      // Worker a cools c1 down (a 429) and spends s1's budget, and writes both to the store.
      assert.deepEqual(await call("a", "init", { options }), { ok: true });
      mock.script(p("c1"), { error: "rate_limit", headers: { "retry-after": "60" } });
      assert.equal((await call("a", "chat", { store, model: "cold" })).id, p("c2"));
      assert.equal((await call("a", "chat", { store, model: "spend" })).id, p("s1"));
      await call("a", "sync", { store });
      // Worker b builds its Routers only now (a cold isolate) and routes at once, with no
      // syncState() of its own: the snapshot loaded before its first decision keeps it away.
      assert.deepEqual(await call("b", "init", { options }), { ok: true });
      assert.equal((await call("b", "chat", { store, model: "cold" })).id, p("c2"));
      assert.equal((await call("b", "chat", { store, model: "spend" })).id, p("s2"));
      assert.equal(mock.callsTo(p("c1")).length, 1, "only a's call reached the cooled deployment");
      assert.equal(mock.callsTo(p("s1")).length, 1, "only a's call reached the spent deployment");
      const { warnings } = await call("b", "stats", { store });
      assert.deepEqual(warnings, []);
    },
  );
}
