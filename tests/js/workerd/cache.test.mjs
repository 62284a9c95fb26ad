// Tier 3c: response caching inside workerd (Miniflare) on a real Workers KV namespace through
// `workersKvCache`, against the loopback mock provider: hits across Router instances (as
// across isolates), KV's 60 s minimum TTL clamped while the entry keeps its own expiry.
import assert from "node:assert/strict";
import { after, before, beforeEach, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { startMockServer } from "../../mock/server.mjs";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const messages = [{ role: "user", content: "hi from workerd" }];

/** @type {Awaited<ReturnType<typeof startMockServer>>} */
let mock;
/** @type {Miniflare} */
let mf;

before(async () => {
  mock = await startMockServer({ port: 0 });
  mf = new Miniflare({
    modules: true,
    modulesRoot: root,
    scriptPath: fileURLToPath(new URL("cache-worker.js", import.meta.url)),
    modulesRules: [
      { type: "ESModule", include: ["**/*.js"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2026-04-01",
    kvNamespaces: ["CACHE"],
    bindings: { MOCK_URL: mock.url },
  });
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  await mock?.close();
});

beforeEach(() => mock.reset());

async function chat(spec) {
  const res = await mf.dispatchFetch("http://worker.test/chat", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(spec),
  });
  assert.equal(res.status, 200);
  const out = await res.json();
  assert.equal(out.error, undefined, JSON.stringify(out.error));
  return out;
}

test("a second identical request, in another Router, is answered from KV with no upstream call", async () => {
  const spec = { mock: "kv-a", request: { model: "chat", messages } };
  const first = await chat(spec);
  const second = await chat(spec);
  assert.equal(mock.callsTo("kv-a").length, 1);
  assert.equal(first.hidden.cache_hit, false);
  assert.equal(second.hidden.cache_hit, true);
  assert.equal(second.hidden.response_cost, 0);
  assert.equal(second.hidden.model_id, "kv-a");
  assert.deepEqual(second.body, first.body);
  // A different temperature is another key: a call.
  await chat({ ...spec, request: { ...spec.request, temperature: 0.3 } });
  assert.equal(mock.callsTo("kv-a").length, 2);
});

test("the KV entry carries its own expiry; KV's TTL is clamped to its 60 s minimum", async () => {
  const kv = await mf.getKVNamespace("CACHE");
  const before = Date.now();
  await chat({
    mock: "kv-b",
    request: { model: "chat", messages: [{ role: "user", content: "short ttl" }] },
    cache_kwargs: { ttl: 5, namespace: "wd" },
  });
  const { keys } = await kv.list({ prefix: "wd:" });
  assert.equal(keys.length, 1);
  assert.match(keys[0].name, /^wd:[0-9a-f]{64}$/);
  const kvExpiry = keys[0].expiration * 1000;
  assert.ok(kvExpiry >= before + 59_000, "KV expiry is at least 60 s away");
  const entry = JSON.parse(await kv.get(keys[0].name));
  assert.equal(entry.v, 1);
  assert.ok(entry.expires_at_ms >= before + 5_000 && entry.expires_at_ms < before + 60_000);
  assert.equal(entry.origin.model_id, "kv-b");
  assert.ok(!JSON.stringify(entry).includes("sk-workerd-cache"));
});

test("embeddings are cached per item in KV", async () => {
  await chat({
    mock: "kv-e",
    endpoint: "embedding",
    request: { model: "chat", input: ["x", "y"] },
  });
  const mixed = await chat({
    mock: "kv-e",
    endpoint: "embedding",
    request: { model: "chat", input: ["y", "z", "x"] },
  });
  const calls = mock.callsTo("kv-e");
  assert.equal(calls.length, 2);
  assert.deepEqual(calls[1].body.input, ["z"]);
  assert.deepEqual(
    mixed.body.data.map((d) => d.index),
    [0, 1, 2],
  );
});
