// Shared state through a real redis-server (started here on a loopback port) between router
// instances in separate Node processes: cooldowns, rpm counters, Redis dying mid-run, AUTH +
// SELECT, and the Upstash REST protocol (through a loopback REST shim in front of Redis).
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, test } from "node:test";
import { deployment, startMockServer } from "../node/fixture.mjs";
import { RedisClient } from "../../../js/stores/resp.js";
import { redisRaw, startInstance, startRedis } from "./harness.mjs";

const T = { timeout: 30_000 };

let mock;
before(async () => {
  mock = await startMockServer({ port: 0 });
});
after(() => mock.close());

/** Waits out the last 5 s of a clock minute, so per-minute counters stay in one window. */
async function awayFromMinuteEdge() {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 5_000) await new Promise((r) => setTimeout(r, left + 100));
}

const pairOf = (list) => [
  deployment(mock, "chat", list[0][0], list[0][1]),
  deployment(mock, "chat", list[1][0], list[1][1]),
];

async function withInstances(options, n, body) {
  const instances = [];
  try {
    for (let i = 0; i < n; i++) instances.push(await startInstance({ options }));
    await body(instances);
  } finally {
    await Promise.all(instances.map((x) => x.stop()));
  }
}

test("a cooldown set in one process is seen by a router in another", T, async () => {
  mock.reset();
  const redis = await startRedis();
  try {
    const model_list = pairOf([
      ["c1", { weight: 1_000_000 }],
      ["c2", { weight: 1 }],
    ]);
    await withInstances({ model_list, redis_url: redis.url }, 2, async ([a, b]) => {
      mock.script("c1", { error: "rate_limit" });
      assert.deepEqual(await a.send("chat"), { seq: 1, ok: true, id: "c2" });
      await a.send("sync");
      await b.send("sync");
      for (let i = 0; i < 4; i++) assert.equal((await b.send("chat")).id, "c2");
      assert.equal(mock.callsTo("c1").length, 1, "only A's request reached c1");
      const stats = (await b.send("stats")).stats;
      assert.equal(stats.state.store_down, false);
      assert.ok(stats.state.syncs >= 1);
      // The mark is in Redis under the namespaced key, holding the cooldown's end.
      const raw = await redisRaw(redis.port, "GET", "llmux:default:cooldown:c1");
      assert.match(raw, /^\$\d+\r\n\d{13}\r\n$/);
    });
  } finally {
    await redis.stop();
  }
});

test(
  "rpm counts are summed across processes (redis_host/port/password/db, AUTH + SELECT)",
  T,
  async () => {
    mock.reset();
    await awayFromMinuteEdge();
    const redis = await startRedis({ password: "s3cret-pw" });
    try {
      const model_list = pairOf([
        ["r1", { weight: 1_000_000, rpm: 2 }],
        ["r2", { weight: 1 }],
      ]);
      const options = {
        model_list,
        enable_pre_call_checks: true,
        redis_host: "127.0.0.1",
        redis_port: redis.port,
        redis_password: "s3cret-pw",
        redis_db: 3,
      };
      await withInstances(options, 2, async ([a, b]) => {
        assert.equal((await a.send("chat")).id, "r1");
        assert.equal((await b.send("chat")).id, "r1");
        await a.send("sync");
        await b.send("sync");
        await a.send("sync");
        // r1 had 1 request from each process: 2 of its rpm 2. Both now skip it.
        assert.equal((await a.send("chat")).id, "r2");
        assert.equal((await b.send("chat")).id, "r2");
        assert.equal(mock.callsTo("r1").length, 2);
        const minute = Math.floor(Date.now() / 60_000);
        const got = await new RedisClient({
          host: "127.0.0.1",
          port: redis.port,
          password: "s3cret-pw",
          db: 3,
        });
        try {
          assert.equal(await got.command("GET", `llmux:default:rpm:r1:${minute}`), "2");
          // The per-minute counter expires 2 minutes after its creation.
          const ttl = await got.command("PTTL", `llmux:default:rpm:r1:${minute}`);
          assert.ok(ttl > 100_000 && ttl <= 120_000, `PTTL ${ttl}`);
        } finally {
          got.close();
        }
        for (const x of [a, b]) {
          const w = (await x.send("warnings")).warnings;
          assert.ok(!w.some((m) => m.includes("s3cret-pw")), "no password in logs");
        }
      });
    } finally {
      await redis.stop();
    }
  },
);

test("Redis dying mid-run fails no request; each process warns once", T, async () => {
  mock.reset();
  const redis = await startRedis();
  const model_list = pairOf([
    ["k1", { weight: 1 }],
    ["k2", { weight: 1 }],
  ]);
  let stopped = false;
  try {
    await withInstances({ model_list, redis_url: redis.url }, 2, async ([a, b]) => {
      for (const x of [a, b]) assert.equal((await x.send("chat")).ok, true);
      await a.send("sync");
      await redis.stop();
      stopped = true;
      for (let i = 0; i < 5; i++) {
        for (const x of [a, b]) {
          const r = await x.send("chat");
          assert.equal(r.ok, true, JSON.stringify(r));
          await x.send("sync");
        }
      }
      for (const x of [a, b]) {
        const w = (await x.send("warnings")).warnings;
        assert.equal(w.length, 1, JSON.stringify(w));
        assert.match(w[0], /state store failed/);
        assert.equal((await x.send("stats")).stats.state.store_down, true);
      }
    });
  } finally {
    if (!stopped) await redis.stop();
  }
  assert.equal(mock.callsTo("k1").length + mock.callsTo("k2").length, 12);
});

/** A loopback stand-in for Upstash's REST API (`POST /pipeline`), forwarding to Redis. */
async function upstashShim(redisPort, token) {
  const client = new RedisClient({ host: "127.0.0.1", port: redisPort });
  const requests = [];
  const server = http.createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    requests.push({ path: req.url, auth: req.headers.authorization });
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401, { "content-type": "application/json" });
      return res.end(JSON.stringify({ error: "Unauthorized" }));
    }
    const replies = await client.pipeline(JSON.parse(body));
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify(
        replies.map((r) => (r instanceof Error ? { error: r.message } : { result: r })),
      ),
    );
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    async close() {
      client.close();
      await new Promise((r) => server.close(r));
    },
  };
}

test("an http(s) redis_url speaks Upstash's REST pipeline protocol", T, async () => {
  mock.reset();
  const redis = await startRedis();
  const shim = await upstashShim(redis.port, "tok-123");
  try {
    const model_list = pairOf([
      ["u1", { weight: 1_000_000 }],
      ["u2", { weight: 1 }],
    ]);
    const options = { model_list, redis_url: shim.url, redis_password: "tok-123" };
    await withInstances(options, 2, async ([a, b]) => {
      mock.script("u1", { error: "rate_limit" });
      assert.equal((await a.send("chat")).id, "u2");
      await a.send("sync");
      await b.send("sync");
      assert.equal((await b.send("chat")).id, "u2");
      assert.equal(mock.callsTo("u1").length, 1);
    });
    assert.ok(shim.requests.length >= 3);
    assert.ok(shim.requests.every((r) => r.path === "/pipeline" && r.auth === "Bearer tok-123"));
  } finally {
    await shim.close();
    await redis.stop();
  }
});

test("state and redis_* options are validated with ConfigErrors naming the field", async () => {
  const { Router, errors } = await import("../node/fixture.mjs");
  const model_list = [deployment(mock, "chat", "v1")];
  const field = (options) => {
    try {
      new Router({ model_list, ...options });
    } catch (e) {
      assert.ok(e instanceof errors.ConfigError, String(e));
      assert.ok(!e.message.includes("hunter2"), "no password in the message");
      return e.field;
    }
    assert.fail("no ConfigError");
  };
  assert.equal(field({ redis_url: "mysql://:hunter2@db:3306" }), "redis_url");
  assert.equal(field({ redis_host: "127.0.0.1", redis_port: 99999 }), "redis_host");
  assert.equal(field({ redis_password: "os.environ/LLMUX_TEST_UNSET_VAR" }), "redis_password");
  assert.equal(field({ state: "redis" }), "state");
  assert.equal(field({ state: { get() {} } }), "state");
  assert.equal(field({ state_prefix: "has space" }), "state_prefix");
  const store = { incr: async () => [], get: async () => [], set: async () => {} };
  assert.equal(field({ state: store, redis_url: "redis://127.0.0.1:1" }), "redis_url");
  // A router with a store object is fine, and its deployments never show the store.
  const memory = {
    incr: async (ops) => ops.map((o) => o.by),
    get: async (keys) => keys.map(() => null),
    set: async () => {},
  };
  const r = new Router({ model_list, state: memory, state_sync_interval_ms: 50 });
  assert.equal(
    (await r.completion({ model: "chat", messages: [{ role: "user", content: "x" }] }))
      ._hidden_params.model_id,
    "v1",
  );
  await r.syncState();
  assert.equal((await r.getUsageStats()).state.store_down, false);
});

test("cache_responses with redis_url caches answers in Redis for every router", T, async () => {
  mock.reset();
  const redis = await startRedis();
  const { Router } = await import("../../../js/node.js");
  const options = {
    model_list: [deployment(mock, "chat", "cache-a")],
    redis_url: redis.url,
    cache_responses: true,
    cache_kwargs: { ttl: 60 },
  };
  try {
    const a = new Router(options);
    const b = new Router(options);
    const request = { model: "chat", messages: [{ role: "user", content: "cache me" }] };
    const first = await a.completion(request);
    assert.equal(first._hidden_params.cache_hit, false);
    const hit = await b.completion(request);
    assert.equal(hit._hidden_params.cache_hit, true, "another router hits what A stored");
    assert.deepEqual(hit.choices, first.choices);
    // A streamed answer is stored once complete and replayed as chunks elsewhere.
    const streamed = { ...request, messages: [{ role: "user", content: "stream me" }] };
    let text = "";
    for await (const c of await a.completion({ ...streamed, stream: true }))
      text += c.choices[0]?.delta?.content ?? "";
    const replay = await b.completion({ ...streamed, stream: true });
    assert.equal(replay._hidden_params.cache_hit, true);
    let again = "";
    for await (const c of replay) again += c.choices[0]?.delta?.content ?? "";
    assert.equal(again, text);
    assert.equal(mock.callsTo("cache-a").length, 2, "one upstream call per distinct request");
    const keys = await redisRaw(redis.port, "KEYS", "*");
    assert.ok(!keys.includes("sk-test"), "no API key in any Redis key");
  } finally {
    await redis.stop();
  }
});

test('cache_kwargs.type "local" keeps the cache in memory even with redis_url', T, async () => {
  mock.reset();
  const redis = await startRedis();
  const { Router } = await import("../../../js/node.js");
  const options = {
    model_list: [deployment(mock, "chat", "cache-l")],
    redis_url: redis.url,
    cache_responses: true,
    cache_kwargs: { type: "local" },
  };
  try {
    const request = { model: "chat", messages: [{ role: "user", content: "local only" }] };
    await new Router(options).completion(request);
    const other = await new Router(options).completion(request);
    assert.equal(other._hidden_params.cache_hit, false, "a local cache is per router");
    assert.equal(mock.callsTo("cache-l").length, 2);
  } finally {
    await redis.stop();
  }
});
