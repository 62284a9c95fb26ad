// Fault-injection suite (issue 4) in workerd via Miniflare: every scenario of scenarios.mjs runs
// inside the worker (worker.js, the package's workerd entry) on a fresh Router; this side
// scripts the loopback mock before each dispatch and asserts the mock's call sequence and the
// outcomes, attempts and cooldown state the worker reports.
import assert from "node:assert/strict";
import { after, before, beforeEach, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

import { startMockServer } from "../../mock/server.mjs";
import { SCENARIOS, prepareMock, verify } from "./scenarios.mjs";

const root = fileURLToPath(new URL("../../../", import.meta.url));

/** @type {Awaited<ReturnType<typeof startMockServer>>} */
let mock;
/** @type {Miniflare} */
let mf;

before(async () => {
  mock = await startMockServer({ port: 0 });
  mf = new Miniflare({
    modules: true,
    modulesRoot: root,
    scriptPath: fileURLToPath(new URL("worker.js", import.meta.url)),
    modulesRules: [
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
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

beforeEach(() => mock?.reset());

for (const scenario of SCENARIOS) {
  test(scenario.name, { timeout: 20_000, todo: scenario.todo }, async () => {
    prepareMock(mock, scenario);
    const res = await mf.dispatchFetch("http://worker.test/run", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: scenario.name }),
    });
    const text = await res.text();
    assert.equal(res.status, 200, `worker /run: ${text}`);
    const observed = JSON.parse(text);
    const calls = mock.calls.map((c) => c.name);
    verify(assert, scenario, { ...observed, calls });
    // The answers really came through the mock deployment the worker reports.
    for (const [i, r] of observed.results.entries())
      if (r.ok) assert.equal(r.content, `Hello from ${scenario.requests[i].outcome.ok}`);
  });
}
