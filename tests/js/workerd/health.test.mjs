// Background health checks in workerd: no timer (a global-scope Router builds fine), and the
// probe runs from the Worker's scheduled() handler, taking a failing deployment out of rotation.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { startMockServer } from "../../mock/server.mjs";

const root = fileURLToPath(new URL("../../../", import.meta.url));
let mock;
let mf;

before(async () => {
  mock = await startMockServer({ port: 0 });
  mf = new Miniflare({
    modules: true,
    modulesRoot: root,
    scriptPath: fileURLToPath(new URL("health-worker.js", import.meta.url)),
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

test("a Router with background_health_check_model_groups builds at global scope", async () => {
  const res = await mf.dispatchFetch("http://worker.test/global");
  assert.deepEqual(await res.json(), { ok: true });
});

test("scheduled() runs the probe; the failing deployment leaves rotation; no timer runs", async () => {
  const chat = async () => (await (await mf.dispatchFetch("http://worker.test/chat")).json()).id;
  await chat();
  mock.mode("a", { kind: "down", error: "server" });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal(
    mock.calls.filter((c) => c.body?.max_tokens === 1).length,
    0,
    "no background timer probed in workerd",
  );
  const worker = await mf.getWorker();
  await worker.scheduled({ cron: "* * * * *" });
  assert.ok(
    mock.callsTo("a").some((c) => c.body?.max_tokens === 1),
    "the probe reached a",
  );
  const before = mock.callsTo("a").length;
  for (let i = 0; i < 10; i++) assert.equal(await chat(), "b");
  assert.equal(mock.callsTo("a").length, before);
});
