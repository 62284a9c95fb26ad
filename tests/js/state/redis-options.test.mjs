// LiteLLM's redis_username and redis_ssl against a real redis-server (an ACL user; TLS with a
// self-signed certificate made here by openssl), and redisStore({ client }) over the real ioredis and
// node-redis clients (plain, TLS, Cluster, Sentinel) as both the state store and the response cache.
import assert from "node:assert/strict";
import { execFile, execFileSync, spawn } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { createClient, createCluster, createSentinel } from "redis";
import IORedis from "ioredis";
import { Router, deployment, errors, startMockServer } from "../node/fixture.mjs";
import { redisStore } from "../../../js/stores/redis.js";
import { RedisClient } from "../../../js/stores/resp.js";
import { freePort, hasDeno, redisRaw, startInstance } from "./harness.mjs";

const T = { timeout: 30_000 };
const run = promisify(execFile);
const root = path.join(fileURLToPath(new URL(".", import.meta.url)), "..", "..", "..");

let mock;
let dir;
before(async () => {
  mock = await startMockServer({ port: 0 });
  dir = mkdtempSync(path.join(tmpdir(), "llmux-redis-"));
});
after(() => {
  mock.close();
  rmSync(dir, { recursive: true, force: true });
});

/** redis-server with `args` on a free port (plain or TLS); resolves once it listens. */
async function redisServer(args, { tls = false } = {}) {
  const port = await freePort();
  const listen = tls ? ["--port", "0", "--tls-port", String(port)] : ["--port", String(port)];
  const child = spawn(
    "redis-server",
    [...listen, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...args],
    { stdio: "ignore" },
  );
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const net = await import(tls ? "node:tls" : "node:net");
  for (let i = 0; ; i++) {
    const up = await new Promise((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
        s.end();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (up) break;
    if (i === 100) throw new Error("redis-server did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    async stop() {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

const model_list = () => [deployment(mock, "chat", "a")];
const messages = [{ role: "user", content: "hi" }];

/** The llmux keys in Redis, read through `client` (our RedisClient, already authenticated). */
const llmuxKeys = async (client) => (await client.command("KEYS", "llmux:*")).sort();

test(
  "redis_username: the router authenticates as an ACL user and writes its state",
  T,
  async () => {
    // Each word of an ACL rule is its own argument (redis-server joins them into one line).
    const acl = ["default off", "llmux on >user-pass-0123 ~llmux:* &* +@all"];
    const redis = await redisServer(acl.flatMap((rule) => ["--user", ...rule.split(" ")]));
    try {
      const options = {
        model_list: model_list(),
        redis_host: "127.0.0.1",
        redis_port: redis.port,
        redis_username: "llmux",
        redis_password: "user-pass-0123",
      };
      const router = new Router(options);
      const res = await router.completion({ model: "chat", messages });
      assert.equal(res._hidden_params.model_id, "a");
      await router.syncState();
      const reader = new RedisClient({
        port: redis.port,
        username: "llmux",
        password: "user-pass-0123",
      });
      try {
        assert.ok((await llmuxKeys(reader)).length > 0, "state keys written as user llmux");
      } finally {
        reader.close();
      }
      // The default user is off: without the username, AUTH fails (and says so, no password).
      const warnings = [];
      const logger = {
        debug() {},
        info() {},
        warn: (m) => warnings.push(m),
        error: (m) => warnings.push(m),
      };
      const anon = new Router({ ...options, redis_username: undefined, logger });
      await anon.completion({ model: "chat", messages });
      await anon.syncState();
      assert.ok(
        warnings.some((w) => /WRONGPASS|invalid username-password/i.test(String(w))),
        JSON.stringify(warnings),
      );
      assert.ok(!JSON.stringify(warnings).includes("user-pass-0123"), "no password in logs");
      const raw = await redisRaw(redis.port, "PING");
      assert.match(raw, /^-NOAUTH/, "the default user really is off");
    } finally {
      await redis.stop();
    }
  },
);

/**
 * A private CA and a server certificate for 127.0.0.1 signed by it (openssl), as file paths.
 * (rustls, under Deno.connectTls, refuses a self-signed CA certificate used as the server's.)
 */
function selfSigned() {
  const f = (name) => path.join(dir, name);
  const ssl = (...args) => execFileSync("openssl", args, { stdio: "ignore" });
  ssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    f("ca.key"),
    "-out",
    f("ca.pem"),
    "-days",
    "1",
    "-subj",
    "/CN=llmux test CA",
  );
  ssl(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    f("key.pem"),
    "-out",
    f("server.csr"),
    "-subj",
    "/CN=localhost",
  );
  writeFileSync(
    f("server.ext"),
    "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
  );
  ssl(
    "x509",
    "-req",
    "-in",
    f("server.csr"),
    "-CA",
    f("ca.pem"),
    "-CAkey",
    f("ca.key"),
    "-CAcreateserial",
    "-out",
    f("cert.pem"),
    "-days",
    "1",
    "-extfile",
    f("server.ext"),
  );
  return { ca: f("ca.pem"), cert: f("cert.pem"), key: f("key.pem") };
}

test(
  "redis_ssl / rediss:// talk TLS to redis-server (--tls-port), verifying its certificate",
  T,
  async () => {
    const { ca, cert, key } = selfSigned();
    const redis = await redisServer(
      [
        "--tls-cert-file",
        cert,
        "--tls-key-file",
        key,
        "--tls-ca-cert-file",
        ca,
        "--tls-auth-clients",
        "no",
        "--requirepass",
        "tls-pass-0123",
      ],
      { tls: true },
    );
    try {
      // The store, with the private CA passed as a node:tls option.
      const store = redisStore({
        url: `rediss://:tls-pass-0123@127.0.0.1:${redis.port}`,
        tls: { ca: readFileSync(ca) },
      });
      assert.deepEqual(await store.incr([{ key: "llmux:t:x", by: 2, ttl_ms: 60_000 }]), [2]);
      store.close();
      // Without the CA the certificate is refused: TLS is really verified.
      const untrusted = redisStore({ url: `rediss://:tls-pass-0123@127.0.0.1:${redis.port}` });
      await assert.rejects(untrusted.get("llmux:t:x"), /cannot connect|certificate/i);
      untrusted.close();
      // The Router's redis_ssl: true, in a process that trusts the CA (NODE_EXTRA_CA_CERTS).
      const script = `
      const { Router } = await import(${JSON.stringify(path.join(root, "js", "node.js"))});
      const router = new Router(JSON.parse(process.argv[1]));
      const res = await router.completion({ model: "chat", messages: [{ role: "user", content: "hi" }] });
      await router.syncState();
      console.log(JSON.stringify({ id: res._hidden_params.model_id }));
      process.exit(0);`;
      const options = {
        model_list: model_list(),
        redis_host: "127.0.0.1",
        redis_port: redis.port,
        redis_password: "tls-pass-0123",
        redis_ssl: true,
      };
      // Asynchronously: the mock provider answers from this process's event loop.
      const { stdout: out } = await run(
        process.execPath,
        ["--input-type=module", "-e", script, JSON.stringify(options)],
        { env: { ...process.env, NODE_EXTRA_CA_CERTS: ca }, encoding: "utf8", timeout: 20_000 },
      );
      assert.equal(JSON.parse(out.trim().split("\n").at(-1)).id, "a");
      const reader = new RedisClient({
        port: redis.port,
        password: "tls-pass-0123",
        tls: { ca: readFileSync(ca) },
      });
      try {
        const keys = await llmuxKeys(reader);
        assert.ok(
          keys.some((k) => k.startsWith("llmux:default:")),
          JSON.stringify(keys),
        );
      } finally {
        reader.close();
      }
    } finally {
      await redis.stop();
    }
  },
);

test(
  "redis_ssl in Deno: Deno.connectTls to redis-server, trusting the CA in DENO_CERT",
  { ...T, skip: !hasDeno() && "deno is not installed" },
  async () => {
    const { ca, cert, key } = selfSigned();
    const redis = await redisServer(
      [
        "--tls-cert-file",
        cert,
        "--tls-key-file",
        key,
        "--tls-ca-cert-file",
        ca,
        "--tls-auth-clients",
        "no",
      ],
      { tls: true },
    );
    const saved = process.env.DENO_CERT;
    process.env.DENO_CERT = ca; // the child's environment: Deno adds it to its root store
    let instance;
    try {
      instance = await startInstance(
        {
          options: {
            model_list: model_list(),
            redis_host: "127.0.0.1",
            redis_port: redis.port,
            redis_ssl: true,
          },
        },
        { runtime: "deno" },
      );
      const chat = await instance.send("chat");
      assert.equal(chat.id, "a", JSON.stringify(chat));
      await instance.send("sync");
      const { warnings } = await instance.send("warnings");
      assert.deepEqual(warnings, []);
      const reader = new RedisClient({ port: redis.port, tls: { ca: readFileSync(ca) } });
      try {
        assert.ok((await llmuxKeys(reader)).length > 0, "state written over TLS from Deno");
      } finally {
        reader.close();
      }
    } finally {
      if (saved === undefined) delete process.env.DENO_CERT;
      else process.env.DENO_CERT = saved;
      await instance?.stop();
      await redis.stop();
    }
  },
);

/** The caller's own clients, connected to `port` with `options` (TLS: `tls` = node:tls options). */
const CLIENTS = {
  async ioredis(port, { tls } = {}) {
    const client = new IORedis.Redis({
      host: "127.0.0.1",
      port,
      tls,
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
    });
    client.on("error", () => {});
    await client.connect();
    return { client, keys: (p) => client.keys(p), close: () => client.quit() };
  },
  async "node-redis"(port, { tls } = {}) {
    const client = createClient({
      socket: {
        host: "127.0.0.1",
        port,
        reconnectStrategy: false,
        ...(tls ? { tls: true, ...tls } : {}),
      },
    });
    client.on("error", () => {});
    await client.connect();
    return { client, keys: (p) => client.keys(p), close: () => client.quit() };
  },
};

for (const [name, connect] of Object.entries(CLIENTS)) {
  test(
    `redisStore({ client }) over a real ${name} client: shared state and the response cache`,
    T,
    async () => {
      const redis = await redisServer([]);
      const one = await connect(redis.port);
      const two = await connect(redis.port);
      try {
        // Two Routers (two instances), each over its own client of one Redis.
        const list = () => [
          deployment(mock, "chat", `${name}-a`, { weight: 1_000_000 }),
          deployment(mock, "chat", `${name}-b`, { weight: 1 }),
        ];
        const options = (client) => ({
          model_list: list(),
          state: redisStore({ client }),
          cache_responses: true,
          cache: redisStore({ client }),
        });
        const first = new Router(options(one.client));
        const second = new Router(options(two.client));
        // State: a 429 cools deployment a in the first Router; the second, after a sync, skips it.
        mock.script(`${name}-a`, { error: "rate_limit" });
        const r1 = await first.completion({
          model: "chat",
          messages: [{ role: "user", content: "1" }],
        });
        assert.equal(r1._hidden_params.model_id, `${name}-b`);
        await first.syncState();
        await second.syncState();
        for (let i = 0; i < 3; i++) {
          const r = await second.completion({
            model: "chat",
            messages: [{ role: "user", content: `state ${i}` }],
            caching: false,
          });
          assert.equal(r._hidden_params.model_id, `${name}-b`, "the cooldown came through Redis");
        }
        assert.equal(mock.callsTo(`${name}-a`).length, 1, "only the first Router reached a");
        assert.ok((await one.keys("llmux:default:cooldown:*")).length > 0);
        // Cache: the first Router's answer is stored through its client; the second hits it.
        const ask = { model: "chat", messages: [{ role: "user", content: "cache me" }] };
        const before = mock.calls.length;
        const fresh = await first.completion(ask);
        const hit = await second.completion(ask);
        assert.equal(mock.calls.length, before + 1, "the second Router's answer came from Redis");
        assert.equal(hit._hidden_params.cache_hit, true);
        assert.equal(hit.id, fresh.id);
        const stored = (await two.keys("*")).filter((k) => !k.startsWith("llmux:default:"));
        assert.ok(stored.length > 0, `a cache entry in Redis: ${stored}`);
        // The store's primitives over this client, and close() leaves the client open.
        const store = redisStore({ client: two.client });
        assert.deepEqual(await store.incr([{ key: "llmux:c:n", by: 3, ttl_ms: 60_000 }]), [3]);
        assert.deepEqual(await store.get(["llmux:c:n", "llmux:c:missing"]), ["3", null]);
        store.close();
        assert.equal(await two.client.ping(), "PONG", "close() leaves the caller's client open");
      } finally {
        await one.close().catch(() => {});
        await two.close().catch(() => {});
        await redis.stop();
      }
    },
  );

  test(
    `redisStore({ client }): a ${name} client with TLS options talks TLS to redis-server`,
    T,
    async () => {
      const { ca, cert, key } = selfSigned();
      const redis = await redisServer(
        [
          "--tls-cert-file",
          cert,
          "--tls-key-file",
          key,
          "--tls-ca-cert-file",
          ca,
          "--tls-auth-clients",
          "no",
        ],
        { tls: true },
      );
      const tls = { ca: readFileSync(ca) };
      const c = await connect(redis.port, { tls });
      try {
        const router = new Router({
          model_list: model_list(),
          state: redisStore({ client: c.client }),
          cache_responses: true,
          cache: redisStore({ client: c.client }),
        });
        const res = await router.completion({ model: "chat", messages });
        assert.equal(res._hidden_params.model_id, "a");
        await router.syncState();
        assert.ok((await c.keys("llmux:*")).length > 0, "state written over TLS");
        const again = await router.completion({ model: "chat", messages });
        assert.equal(again._hidden_params.cache_hit, true);
        // Without the CA the same client options are refused: TLS is really verified.
        // (node-redis reports the certificate error; ioredis closes the connection.)
        await assert.rejects(connect(redis.port, { tls: {} }), /certificate|connection is closed/i);
      } finally {
        await c.close().catch(() => {});
        await redis.stop();
      }
    },
  );
}

/**
 * Two Routers over two connections (`one`, `two`: the caller's clients of one Redis
 * deployment, `name` their label): a cooldown the first books reaches the second after a
 * sync (the snapshot's keys may live in several Cluster slots: read without a CROSSSLOT
 * MGET), and the first's cached answer is the second's hit, with nothing logged.
 */
async function twoRoutersShare(name, one, two) {
  const id = name.replace(/\W+/g, "-");
  const list = () => [
    deployment(mock, "chat", `${id}-a`, { weight: 1_000_000 }),
    deployment(mock, "chat", `${id}-b`, { weight: 1 }),
  ];
  const warnings = [];
  const logger = { warn: (m) => warnings.push(String(m)), info() {}, error() {}, debug() {} };
  const options = (client) => ({
    model_list: list(),
    state: redisStore({ client }),
    cache_responses: true,
    cache: redisStore({ client }),
    logger,
  });
  const first = new Router(options(one.client));
  const second = new Router(options(two.client));
  mock.script(`${id}-a`, { error: "rate_limit" });
  await first.completion({ model: "chat", messages: [{ role: "user", content: id }] });
  await first.syncState();
  await second.syncState();
  const r = await second.completion({ model: "chat", messages, caching: false });
  assert.equal(r._hidden_params.model_id, `${id}-b`, `${name}: the cooldown came through`);
  assert.equal(mock.callsTo(`${id}-a`).length, 1);
  const ask = { model: "chat", messages: [{ role: "user", content: `cache ${id}` }] };
  const fresh = await first.completion(ask);
  const hit = await second.completion(ask);
  assert.equal(hit._hidden_params.cache_hit, true, name);
  assert.equal(hit.id, fresh.id);
  assert.deepEqual(warnings, [], name);
  assert.equal((await second.getUsageStats()).state.store_down, false, name);
}

/** A three-master redis-server Cluster on free loopback ports (redis-cli --cluster create). */
async function redisCluster() {
  const nodes = [];
  try {
    for (let i = 0; i < 3; i++) {
      const conf = path.join(dir, `nodes-${Date.now()}-${i}.conf`);
      nodes.push(await redisServer(["--cluster-enabled", "yes", "--cluster-config-file", conf]));
    }
    await run(
      "redis-cli",
      ["--cluster", "create", ...nodes.map((n) => `127.0.0.1:${n.port}`), "--cluster-yes"],
      { timeout: 20_000 },
    );
    // Up means every node says so, knows the other two and agrees on all 16,384 slots: one
    // node's `cluster_state:ok` alone can precede the others' view of the slot map, and a
    // client reaching a node in that window gets CLUSTERDOWN or a stale MOVED.
    const up = async () => {
      for (const n of nodes) {
        const { stdout } = await run("redis-cli", ["-p", String(n.port), "cluster", "info"]);
        const ok =
          /cluster_state:ok/.test(stdout) &&
          /cluster_slots_ok:16384/.test(stdout) &&
          /cluster_known_nodes:3/.test(stdout);
        if (!ok) return false;
      }
      // `--cluster check` exits non-zero while the nodes disagree.
      const check = await run("redis-cli", ["--cluster", "check", `127.0.0.1:${nodes[0].port}`])
        .then((r) => r.stdout)
        .catch(() => "");
      return /All nodes agree about slots configuration/.test(check);
    };
    for (let i = 0; !(await up()); i++) {
      if (i === 200) throw new Error("the cluster did not come up in 20 s");
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (e) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw e;
  }
  return { port: nodes[0].port, stop: () => Promise.all(nodes.map((n) => n.stop())) };
}

const CLUSTER_CLIENTS = {
  async "ioredis Cluster"(port) {
    const client = new IORedis.Cluster([{ host: "127.0.0.1", port }], {
      clusterRetryStrategy: () => null,
    });
    client.on("error", () => {});
    return { client, close: () => client.quit() };
  },
  async "node-redis createCluster"(port) {
    const client = createCluster({ rootNodes: [{ url: `redis://127.0.0.1:${port}` }] });
    client.on("error", () => {});
    await client.connect();
    return { client, close: () => client.quit() };
  },
};

test(
  "redisStore({ client }) over a Redis Cluster (ioredis Cluster, node-redis createCluster): state across slots and the cache",
  { timeout: 60_000 },
  async () => {
    const cluster = await redisCluster();
    try {
      for (const [name, connect] of Object.entries(CLUSTER_CLIENTS)) {
        const one = await connect(cluster.port);
        const two = await connect(cluster.port);
        try {
          await twoRoutersShare(name, one, two);
        } finally {
          await one.close().catch(() => {});
          await two.close().catch(() => {});
        }
      }
    } finally {
      await cluster.stop();
    }
  },
);

/** A master redis-server and one Sentinel monitoring it as `llmux-master` (quorum 1). */
async function redisSentinel() {
  const master = await redisServer([]);
  const port = await freePort();
  const conf = path.join(dir, `sentinel-${port}.conf`);
  writeFileSync(
    conf,
    `port ${port}\nbind 127.0.0.1\nsentinel monitor llmux-master 127.0.0.1 ${master.port} 1\n`,
  );
  const child = spawn("redis-server", [conf, "--sentinel"], { stdio: "ignore" });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const stop = async () => {
    if (child.exitCode === null) child.kill("SIGKILL");
    await exited;
    await master.stop();
  };
  for (let i = 0; ; i++) {
    const answer = await run("redis-cli", [
      "-p",
      String(port),
      "sentinel",
      "get-master-addr-by-name",
      "llmux-master",
    ]).then(
      ({ stdout }) => stdout,
      () => "",
    );
    if (answer.includes(String(master.port))) break;
    if (i === 100) {
      await stop();
      throw new Error("the Sentinel did not come up");
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, stop };
}

const SENTINEL_CLIENTS = {
  async "ioredis (sentinels option)"(port) {
    const client = new IORedis.Redis({
      sentinels: [{ host: "127.0.0.1", port }],
      name: "llmux-master",
      sentinelRetryStrategy: () => null,
    });
    client.on("error", () => {});
    return { client, close: () => client.quit() };
  },
  async "node-redis createSentinel"(port) {
    const client = createSentinel({
      name: "llmux-master",
      sentinelRootNodes: [{ host: "127.0.0.1", port }],
    });
    client.on("error", () => {});
    await client.connect();
    return { client, close: () => client.close() };
  },
};

test(
  "redisStore({ client }) through Redis Sentinel (ioredis sentinels, node-redis createSentinel): state and the cache",
  { timeout: 60_000 },
  async () => {
    const sentinel = await redisSentinel();
    try {
      for (const [name, connect] of Object.entries(SENTINEL_CLIENTS)) {
        const one = await connect(sentinel.port);
        const two = await connect(sentinel.port);
        try {
          await twoRoutersShare(name, one, two);
        } finally {
          await one.close().catch(() => {});
          await two.close().catch(() => {});
        }
      }
    } finally {
      await sentinel.stop();
    }
  },
);

test("redisStore({ client }) refuses an object that is no Redis client", () => {
  assert.throws(() => redisStore({ client: {} }), /sendCommand|call/);
});

test("redis_username with an Upstash REST URL is refused, not ignored", () => {
  assert.throws(
    () =>
      new Router({
        model_list: [],
        redis_url: "https://example.upstash.io",
        redis_username: "u",
        redis_password: "token",
      }),
    (e) => e instanceof errors.ConfigError && e.field === "redis_url" && /username/.test(e.message),
  );
});

test("redis_ssl must be a boolean: ConfigError naming it", () => {
  assert.throws(
    () => new Router({ model_list: [], redis_host: "127.0.0.1", redis_ssl: "yes" }),
    (e) => e instanceof errors.ConfigError && e.field === "redis_ssl",
  );
});
