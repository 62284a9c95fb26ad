// Realtime over WebSocket in Node with the `ws` adapter (README, "Realtime"): which deployment
// answered, a refused or timed-out upgrade cools its deployment down and the next answers,
// least-busy prefers the deployment with fewer open sockets, close propagates, the error
// without a WebSocket, and the api key never shows in errors.
import assert from "node:assert/strict";
import { after, afterEach, before, test } from "node:test";
import WebSocket from "ws";
import { T, Router, errors } from "./fixture.mjs";
import { startRealtimeProvider } from "../../mock/realtime.mjs";

const KEY = "sk-realtime-secret-0123456789";

let a;
let b;
let azure;
let refusing;
let hanging;
before(async () => {
  a = await startRealtimeProvider({ key: KEY, model: "rt-a", name: "a" });
  b = await startRealtimeProvider({ key: KEY, model: "rt-b", name: "b" });
  azure = await startRealtimeProvider({ key: KEY, azure: true, name: "azure" });
  refusing = await startRealtimeProvider({ key: KEY, refuse: 503, name: "refusing" });
  hanging = await startRealtimeProvider({ key: KEY, hang: true, name: "hanging" });
});
after(async () => {
  for (const p of [a, b, azure, refusing, hanging]) await p.close();
});

const routers = [];
afterEach(() => {
  for (const r of routers.splice(0)) r.close();
});

const entry = (provider, model, id, extra = {}) => ({
  model_name: "voice",
  litellm_params: { model: `openai/${model}`, api_base: provider.base, api_key: KEY, ...extra },
  model_info: { id },
});

function router(model_list, extra = {}) {
  const r = new Router({ model_list, WebSocket, num_retries: 2, ...extra });
  routers.push(r);
  return r;
}

/** The next message of `socket`, parsed when it is text. */
function nextMessage(socket) {
  return new Promise((resolve, reject) => {
    socket.addEventListener(
      "message",
      (e) => resolve(typeof e.data === "string" ? JSON.parse(e.data) : e.data),
      {
        once: true,
      },
    );
    socket.addEventListener("close", () => reject(new Error("closed")), { once: true });
  });
}

/** Open requests and sockets counted in flight, over every deployment. */
const inFlight = async (r) =>
  Object.values((await r.getUsageStats()).deployments).reduce((n, d) => n + d.in_flight, 0);

const closed = (socket) =>
  new Promise((resolve) => socket.addEventListener("close", (e) => resolve(e), { once: true }));

test(
  "realtime() opens the deployment's socket with its auth; session.created and echoes flow",
  T,
  async () => {
    const r = router([entry(a, "rt-a", "a")]);
    const first = a.log.upgrades.length;
    const socket = await r.realtime("voice");
    assert.equal(socket._hidden_params.model_id, "a");
    assert.equal(socket._hidden_params.model_group, "voice");
    assert.equal(socket._hidden_params.attempts, 1);
    assert.equal(socket._hidden_params.response_cost, null, "session tokens are not priced");
    assert.ok(!JSON.stringify(socket._hidden_params).includes(KEY));
    assert.ok(!Object.keys(socket).includes("_hidden_params"), "_hidden_params is not enumerable");
    const upgrade = a.log.upgrades[first];
    assert.equal(upgrade.url, "/v1/realtime?model=rt-a");
    assert.equal(upgrade.headers.authorization, `Bearer ${KEY}`);
    assert.equal(upgrade.headers["openai-beta"], "realtime=v1");
    const created = await nextMessage(socket);
    assert.equal(created.type, "session.created");
    socket.send(JSON.stringify({ type: "response.create" }));
    assert.deepEqual((await nextMessage(socket)).event, { type: "response.create" });
    socket.send(new Uint8Array([1, 2, 3]));
    assert.deepEqual([...new Uint8Array(await nextMessage(socket))], [1, 2, 3]);
    assert.equal(await inFlight(r), 1);
    socket.close(1000, "done");
    assert.equal(await inFlight(r), 0, "close() releases the in-flight count at once");
    await closed(socket);
    assert.equal(r.getUsageStats !== undefined, true);
    // The LiteLLM-style alias is the same method.
    assert.equal(r.arealtime, r.realtime);
  },
);

test("Azure: /openai/realtime?api-version&deployment with api-key", T, async () => {
  const r = router([
    {
      model_name: "voice",
      litellm_params: {
        model: "azure/my-realtime",
        api_base: azure.base,
        api_key: KEY,
        api_version: "2024-10-01-preview",
      },
      model_info: { id: "az" },
    },
  ]);
  const socket = await r.realtime("voice");
  const upgrade = azure.log.upgrades.at(-1);
  assert.equal(
    upgrade.url,
    "/openai/realtime?api-version=2024-10-01-preview&deployment=my-realtime",
  );
  assert.equal(upgrade.headers["api-key"], KEY);
  assert.equal(upgrade.headers.authorization, undefined);
  assert.equal((await nextMessage(socket)).session.model, "my-realtime");
  socket.close();
});

test(
  "a refused upgrade (503) cools its deployment down and the next deployment answers",
  T,
  async () => {
    const r = router(
      [entry(refusing, "rt-x", "refusing", { order: 1 }), entry(b, "rt-b", "b", { order: 2 })],
      {
        allowed_fails: 0,
        cooldown_time: 60,
      },
    );
    const before = refusing.log.upgrades.length;
    const socket = await r.realtime("voice");
    assert.equal(socket._hidden_params.model_id, "b");
    assert.ok(refusing.log.upgrades.length > before, "the refusing deployment was tried first");
    const status = r.getDeploymentStatus().find((d) => d.id === "refusing");
    assert.equal(status?.status, "cooling_down", JSON.stringify(status));
    // A second session does not try the cooled-down deployment again.
    const tried = refusing.log.upgrades.length;
    const again = await r.realtime("voice");
    assert.equal(again._hidden_params.model_id, "b");
    assert.equal(refusing.log.upgrades.length, tried);
    socket.close();
    again.close();
  },
);

test(
  "a timed-out upgrade counts as a failure of that deployment; the next one answers",
  T,
  async () => {
    const r = router(
      [entry(hanging, "rt-x", "hanging", { order: 1 }), entry(a, "rt-a", "a", { order: 2 })],
      {
        allowed_fails: 0,
        timeout: 0.3,
      },
    );
    const t0 = Date.now();
    const socket = await r.realtime("voice");
    assert.equal(socket._hidden_params.model_id, "a");
    assert.ok(Date.now() - t0 >= 250, "the upgrade waited for its timeout");
    assert.ok(hanging.log.upgrades.length >= 1);
    socket.close();
  },
);

test(
  "every deployment refusing: the typed error of the last one, bounded by num_retries",
  T,
  async () => {
    const r = router([entry(refusing, "rt-x", "refusing")], { num_retries: 1 });
    const before = refusing.log.upgrades.length;
    await assert.rejects(r.realtime("voice"), (e) => {
      assert.ok(e instanceof errors.ServiceUnavailableError, `${e.constructor.name}: ${e.message}`);
      assert.ok(!e.message.includes(KEY), "no key in the message");
      assert.ok(!JSON.stringify(e).includes(KEY), "no key in the error");
      return true;
    });
    assert.equal(refusing.log.upgrades.length - before, 2, "one attempt + num_retries 1");
  },
);

test("a wrong key: AuthenticationError without the key", T, async () => {
  const r = router([entry(a, "rt-a", "a", { api_key: "sk-wrong-key-123456789" })]);
  await assert.rejects(r.realtime("voice"), (e) => {
    assert.ok(e instanceof errors.AuthenticationError, `${e.constructor.name}: ${e.message}`);
    assert.ok(!e.message.includes("sk-wrong-key-123456789"));
    return true;
  });
});

test("least-busy prefers the deployment with fewer open sockets, until they close", T, async () => {
  const r = router([entry(a, "rt-a", "a"), entry(b, "rt-b", "b")], {
    routing_strategy: "least-busy",
  });
  const s1 = await r.realtime("voice");
  const s2 = await r.realtime("voice");
  assert.notEqual(
    s1._hidden_params.model_id,
    s2._hidden_params.model_id,
    "the second goes to the idle one",
  );
  const s3 = await r.realtime("voice");
  s3.close();
  await closed(s3);
  // s1's deployment freed: the next picks it (the other still holds s2).
  s1.close();
  await closed(s1);
  const s4 = await r.realtime("voice");
  assert.equal(s4._hidden_params.model_id, s1._hidden_params.model_id);
  assert.equal(await inFlight(r), 2);
  s2.close();
  s4.close();
  assert.equal(await inFlight(r), 0);
});

test("an upstream close reaches the caller with its code and releases the socket", T, async () => {
  const r = router([entry(a, "rt-a", "a")]);
  const socket = await r.realtime("voice");
  await nextMessage(socket);
  const ended = closed(socket);
  socket.send(JSON.stringify({ type: "test.close", code: 4001, reason: "bye" }));
  const e = await ended;
  assert.equal(e.code, 4001);
  assert.equal(e.reason, "bye");
  assert.equal(await inFlight(r), 0);
});

test("other providers are refused by name; an aborted call opens nothing", T, async () => {
  const r = router([
    {
      model_name: "claude",
      litellm_params: { model: "anthropic/claude-3-5-haiku-latest", api_key: KEY },
    },
    entry(hanging, "rt-x", "hanging"),
  ]);
  await assert.rejects(r.realtime("claude"), (e) => {
    assert.ok(e instanceof errors.BadRequestError, e.constructor.name);
    assert.match(e.message, /anthropic/);
    assert.ok(!e.message.includes(KEY));
    return true;
  });
  const controller = new AbortController();
  const pending = r.realtime("voice", { signal: controller.signal });
  setTimeout(() => controller.abort(), 50);
  await assert.rejects(pending, (e) => e.name === "AbortError");
  assert.equal(await inFlight(r), 0);
});

test("without a WebSocket option Node 20 throws a ConfigError saying what to pass", T, async () => {
  const r = new Router({ model_list: [entry(a, "rt-a", "a")] });
  routers.push(r);
  const upgrades = a.log.upgrades.length;
  await assert.rejects(r.realtime("voice"), (e) => {
    assert.ok(e instanceof errors.ConfigError, e.constructor.name);
    assert.equal(e.field, "WebSocket");
    assert.match(e.message, /import\("ws"\)/);
    return true;
  });
  assert.equal(a.log.upgrades.length, upgrades, "no upgrade attempted");
  assert.throws(() => new Router({ model_list: [], WebSocket: "ws" }), errors.ConfigError);
});

/** A WebSocket-shaped EventTarget that records what it was sent and how it was closed. */
class FakeSocket extends EventTarget {
  constructor(readyState = 1) {
    super();
    this.readyState = readyState;
    this.bufferedAmount = 0;
    this.sent = [];
    this.closedWith = null;
  }
  send(data) {
    this.sent.push(data);
  }
  close(code, reason) {
    if (code !== undefined && code !== 1000 && (code < 3000 || code > 4999))
      throw new DOMException("invalid code", "InvalidAccessError");
    this.closedWith = { code, reason };
    this.readyState = 3;
  }
  receive(data) {
    this.dispatchEvent(new MessageEvent("message", { data }));
  }
}

test(
  "the relay keeps order, holds while connecting, and closes both past its byte ceiling",
  T,
  async () => {
    const { relay, MAX_RELAY_BUFFER_BYTES } = await import("../../../js/realtime.js");
    assert.equal(MAX_RELAY_BUFFER_BYTES, 4 * 1024 * 1024);
    const client = new FakeSocket(0);
    const upstream = new FakeSocket(1);
    const ended = relay(client, upstream, 1000);
    upstream.receive("a");
    upstream.receive(new Uint8Array([1]).buffer);
    assert.deepEqual(client.sent, [], "held while the client connects");
    client.readyState = 1;
    client.dispatchEvent(new Event("open"));
    upstream.receive("b");
    assert.equal(client.sent.length, 3);
    assert.equal(client.sent[0], "a");
    assert.ok(client.sent[1] instanceof ArrayBuffer, "binary stays binary");
    assert.equal(client.sent[2], "b");
    client.receive("up");
    assert.deepEqual(upstream.sent, ["up"]);
    // The client stops reading: its bufferedAmount passes the ceiling.
    client.bufferedAmount = 990;
    upstream.receive("0123456789abcdef");
    await ended;
    // 1009 where the host takes it; the fake (like browsers and Deno) takes 1000/3000–4999 only.
    assert.equal(client.closedWith.code, 4009);
    assert.equal(upstream.closedWith.code, 4009);
    assert.match(client.closedWith.reason, /more than 1000 bytes/);
  },
);

test("a close on one side closes the other with the same code and reason", T, async () => {
  const { relay } = await import("../../../js/realtime.js");
  const client = new FakeSocket(1);
  const upstream = new FakeSocket(1);
  const ended = relay(client, upstream);
  upstream.dispatchEvent(Object.assign(new Event("close"), { code: 4321, reason: "upstream bye" }));
  await ended;
  assert.deepEqual(client.closedWith, { code: 4321, reason: "upstream bye" });
});

test(
  "the gateway in Node: auth and model access first, then a 501 saying the host cannot upgrade",
  T,
  async () => {
    const r = new Router({
      model_list: [entry(a, "rt-a", "a"), { ...entry(a, "rt-a", "p"), model_name: "private" }],
      WebSocket,
      gateway: { keys: { "sk-gw-node": { models: ["voice"] } } },
    });
    routers.push(r);
    const get = (model, headers) =>
      r.fetch(new Request(`http://gw.test/v1/realtime?model=${model}`, { headers }));
    assert.equal((await get("voice", { upgrade: "websocket" })).status, 401);
    const denied = await get("private", {
      upgrade: "websocket",
      authorization: "Bearer sk-gw-node",
    });
    assert.equal(denied.status, 403);
    const plain = await get("voice", { authorization: "Bearer sk-gw-node" });
    assert.equal(plain.status, 426);
    const upgrades = a.log.upgrades.length;
    const res = await get("voice", { upgrade: "websocket", authorization: "Bearer sk-gw-node" });
    assert.equal(res.status, 501);
    assert.match((await res.json()).error.message, /cannot upgrade/);
    assert.equal(a.log.upgrades.length, upgrades, "no upstream socket opened for a 501");
  },
);

test(
  "max_parallel_requests bounds a deployment's open sockets; a close makes room",
  T,
  async () => {
    const r = router([entry(a, "rt-a", "a", { max_parallel_requests: 1 })], { timeout: 0.5 });
    const first = await r.realtime("voice");
    const upgrades = a.log.upgrades.length;
    await assert.rejects(r.realtime("voice"), (e) => {
      assert.ok(e instanceof errors.Timeout, `${e.constructor.name}: ${e.message}`);
      return true;
    });
    assert.equal(a.log.upgrades.length, upgrades, "no upgrade while the slot is held");
    first.close();
    const second = await r.realtime("voice");
    assert.equal(second._hidden_params.model_id, "a");
    second.close();
  },
);
