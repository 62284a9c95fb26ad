// The dashboard's JSON routes in Node (dashboard-worker.js called in-process) and in workerd
// (the same module under Miniflare), plus the `gateway.ui` option's validation.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { Miniflare } from "miniflare";
import { Router, errors } from "llmux";
import { dashboardSuite } from "./dashboard-scenarios.mjs";
import { MASTER_KEY } from "./dashboard-config.js";
import worker from "./dashboard-worker.js";
import { root } from "./hosts.mjs";

dashboardSuite("Node", async (env) => ({
  send: (p, init) => worker.fetch(new Request(`http://gateway.test${p}`, init), env),
  close: async () => {},
}));

dashboardSuite("workerd", async (env) => {
  const file = (rel) => path.join(root, rel);
  const js = (rel) => ({ type: "ESModule", path: file(rel), contents: readFileSync(file(rel)) });
  const mf = new Miniflare({
    modules: [
      js("tests/js/gateway/dashboard-worker.js"),
      js("tests/js/gateway/dashboard-config.js"),
      {
        type: "ESModule",
        path: file("tests/js/gateway/llmux"),
        contents: 'export * from "../../../js/workerd.js";',
      },
      ...readdirSync(file("js"), { recursive: true })
        .filter((f) => f.endsWith(".js"))
        .map((f) => js(`js/${f}`)),
      js("dist/wasm/llmux.js"),
      { type: "CompiledWasm", path: file("dist/wasm/llmux_bg.wasm") },
    ],
    modulesRoot: root,
    compatibilityDate: "2026-04-01",
    bindings: env,
  });
  await mf.ready;
  return {
    send: (p, init) => mf.dispatchFetch(`http://gateway.test${p}`, init),
    close: () => mf.dispose(),
  };
});

describe("gateway.ui option", () => {
  const model_list = [{ model_name: "m", litellm_params: { model: "openai/x", api_key: "k" } }];
  const send = (router, p, key = MASTER_KEY) =>
    router.fetch(new Request(`http://g.test${p}`, { headers: { authorization: `Bearer ${key}` } }));

  it("is off by default: /ui is a 404 like any unknown route", async () => {
    const router = new Router({ model_list, gateway: { master_key: MASTER_KEY } });
    assert.equal((await send(router, "/ui")).status, 404);
    assert.equal((await send(router, "/ui/state")).status, 404);
  });

  it("takes a path, under the gateway prefix", async () => {
    const router = new Router({
      model_list,
      gateway: { master_key: MASTER_KEY, prefix: "/llm", ui: "/ops/dash" },
    });
    assert.equal((await send(router, "/llm/ops/dash")).status, 200);
    assert.equal((await send(router, "/llm/ops/dash/state")).status, 200);
    assert.equal((await send(router, "/ui")).status, 404);
    assert.equal((await send(router, "/llm/ops/dash/state", "sk-wrong")).status, 401);
  });

  it("without any gateway key, even the page is a 401", async () => {
    const router = new Router({ model_list, gateway: { ui: true } });
    assert.equal((await send(router, "/ui")).status, 401);
  });

  it("refuses paths of the API routes and malformed values with a ConfigError at gateway.ui", () => {
    for (const ui of ["/v1/ui", "/models", "/health/ui", "ui", "/", "/a b", 3, {}]) {
      assert.throws(
        () => new Router({ model_list, gateway: { master_key: MASTER_KEY, ui } }),
        (e) => e instanceof errors.ConfigError && e.field === "gateway.ui",
        String(ui),
      );
    }
  });
});
