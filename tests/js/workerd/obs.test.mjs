// Observability in workerd (Miniflare): LiteLLM-style success callbacks get StandardLoggingPayload
// fields, and the gateway's GET /metrics (Prometheus text, this isolate's counters) needs the
// master key.
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
    scriptPath: fileURLToPath(new URL("obs-worker.js", import.meta.url)),
    modulesRules: [
      { type: "ESModule", include: ["**/*.js"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2026-04-01",
    bindings: { MOCK_URL: mock.url, UPSTREAM_KEY: "sk-workerd-obs-secret" },
  });
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  await mock?.close();
});

test("callbacks and /metrics work in workerd", async () => {
  for (let i = 0; i < 2; i++) {
    const res = await mf.dispatchFetch("http://w.test/call", {
      method: "POST",
      body: JSON.stringify({ model: "chat" }),
    });
    assert.deepEqual(await res.json(), { ok: true, model_id: "wa" });
  }
  assert.equal(mock.callsTo("wa").length, 2);
  const payloads = await (await mf.dispatchFetch("http://w.test/payloads")).json();
  assert.equal(payloads.length, 2);
  assert.notEqual(payloads[0].id, payloads[1].id);
  assert.equal(payloads[0].model_id, "wa");
  assert.equal(payloads[0].call_type, "acompletion");
  assert.ok(payloads[0].prompt_tokens > 0);
  assert.equal(JSON.stringify(payloads).includes("sk-workerd-obs-secret"), false);
  assert.equal((await mf.dispatchFetch("http://w.test/metrics")).status, 401);
  const res = await mf.dispatchFetch("http://w.test/metrics", {
    headers: { authorization: "Bearer sk-obs-master" },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const text = await res.text();
  assert.match(text, /^# HELP /);
  const line = text
    .split("\n")
    .find((l) => l.startsWith("litellm_deployment_success_responses_total{"));
  assert.ok(line, text);
  assert.match(line, /model_id="wa"/);
  assert.match(line, / 2$/);
  assert.equal(text.includes("sk-workerd-obs-secret"), false);
});
