// Background health checks in workerd: no timer (a global-scope Router builds fine), and the
// probe runs from the Worker's scheduled() handler or a Durable Object's alarm, taking a failing
// deployment out of rotation.
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
    durableObjects: { HEALTH_DO: "HealthObject" },
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

test("a Durable Object's alarm runs the probe of the Router it owns, and re-arms", async () => {
  const post = async (path) =>
    (await mf.dispatchFetch(`http://worker.test${path}`, { method: "POST" })).json();
  assert.ok(["do-a", "do-b"].includes((await post("/do/chat")).id));
  mock.mode("do-a", { kind: "down", error: "server" });
  assert.deepEqual(await post("/do/arm"), { ok: true });
  const deadline = Date.now() + 10_000;
  while ((await post("/do/alarms")).alarms < 1) {
    assert.ok(Date.now() < deadline, "the alarm ran");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.ok(
    mock.callsTo("do-a").some((c) => c.body?.max_tokens === 1),
    "the alarm's probe reached do-a",
  );
  const before = mock.callsTo("do-a").length;
  for (let i = 0; i < 10; i++) assert.equal((await post("/do/chat")).id, "do-b");
  assert.equal(mock.callsTo("do-a").length, before, "no request reached the failing deployment");
});
