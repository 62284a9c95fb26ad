// Realtime in workerd (Miniflare): router.realtime() opens the upstream with fetch +
// `Upgrade: websocket` (workerd's WebSocket constructor cannot set headers); a refused
// upgrade cools its deployment down and the next answers; the gateway's GET /v1/realtime
// pairs the client with the upstream through WebSocketPair, after its auth, both ways.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { startRealtimeProvider } from "../../mock/realtime.mjs";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const KEY = "sk-workerd-realtime-secret-31";
const GW_KEY = "sk-workerd-gateway-key";
let good;
let busy;
let mf;

before(async () => {
  good = await startRealtimeProvider({ key: KEY, model: "rt-a", name: "good" });
  busy = await startRealtimeProvider({ key: KEY, refuse: 503, name: "busy" });
  mf = new Miniflare({
    modules: true,
    modulesRoot: root,
    scriptPath: fileURLToPath(new URL("realtime-worker.js", import.meta.url)),
    modulesRules: [
      { type: "ESModule", include: ["**/*.js"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2026-04-01",
    bindings: { GOOD_URL: good.base, BUSY_URL: busy.base, KEY, GW_KEY },
  });
});
after(async () => {
  await mf?.dispose();
  await good?.close();
  await busy?.close();
});

const T = { timeout: 60_000 };

test(
  "router.realtime() in workerd: fetch upgrade, a refused deployment cooled down, the next answers",
  T,
  async () => {
    const res = await mf.dispatchFetch("http://w.test/direct");
    const out = await res.json();
    assert.equal(res.status, 200, JSON.stringify(out));
    assert.equal(out.model_id, "good");
    assert.equal(out.first.type, "session.created");
    assert.deepEqual(out.echo.event, { type: "response.create" });
    assert.equal(out.busy, "cooling_down");
    assert.equal(busy.log.upgrades.length, 1);
    const upgrade = good.log.upgrades.at(-1);
    assert.equal(upgrade.url, "/v1/realtime?model=rt-a");
    assert.equal(upgrade.headers.authorization, `Bearer ${KEY}`);
    assert.equal(upgrade.headers["openai-beta"], "realtime=v1");
  },
);

test(
  "the gateway's GET /v1/realtime in workerd: auth first, then relayed both ways and closed together",
  T,
  async () => {
    const upgrades = good.log.upgrades.length;
    const unauth = await mf.dispatchFetch("http://w.test/v1/realtime?model=voice", {
      headers: { upgrade: "websocket" },
    });
    assert.equal(unauth.status, 401);
    await unauth.arrayBuffer();
    const denied = await mf.dispatchFetch("http://w.test/v1/realtime?model=private", {
      headers: { upgrade: "websocket", authorization: `Bearer ${GW_KEY}` },
    });
    assert.equal(denied.status, 403);
    await denied.arrayBuffer();
    assert.equal(good.log.upgrades.length, upgrades, "no upstream upgrade for refused clients");

    const res = await mf.dispatchFetch("http://w.test/v1/realtime?model=voice", {
      headers: { upgrade: "websocket", authorization: `Bearer ${GW_KEY}` },
    });
    assert.equal(res.status, 101);
    const ws = res.webSocket;
    assert.ok(ws, "a WebSocket in the 101");
    const messages = [];
    let wake;
    ws.addEventListener("message", (e) => {
      messages.push(e.data);
      wake?.();
    });
    const closed = new Promise((resolve) => ws.addEventListener("close", resolve, { once: true }));
    ws.accept();
    const waitFor = async (n) => {
      while (messages.length < n) await new Promise((r) => (wake = r));
    };
    await waitFor(1);
    assert.equal(JSON.parse(messages[0]).type, "session.created");
    ws.send(JSON.stringify({ type: "conversation.item.create" }));
    await waitFor(2);
    assert.deepEqual(JSON.parse(messages[1]).event, { type: "conversation.item.create" });
    ws.send(new Uint8Array([4, 5, 6]));
    await waitFor(3);
    assert.deepEqual([...new Uint8Array(messages[2])], [4, 5, 6], "binary relayed as binary");
    const before = good.log.closes.length;
    ws.close(4005, "client done");
    await closed;
    for (let i = 0; i < 100 && good.log.closes.length === before; i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(good.log.closes.at(-1), { code: 4005, reason: "client done" });
  },
);
