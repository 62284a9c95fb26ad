// LiteLLM's redis_username and redis_ssl against a real redis-server (an ACL user; TLS with a
// self-signed certificate made here by openssl), and redisStore({ client }) over node-redis.
import assert from "node:assert/strict";
import { execFile, execFileSync, spawn } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { createClient } from "redis";
import { Router, deployment, errors, startMockServer } from "../node/fixture.mjs";
import { RedisClient, redisStore } from "../../../js/stores/redis.js";
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

test(
  "redisStore({ client }) shares state through node-redis or an ioredis-style call()",
  T,
  async () => {
    const redis = await redisServer([]);
    const client = createClient({ url: `redis://127.0.0.1:${redis.port}` });
    client.on("error", () => {});
    await client.connect();
    try {
      const router = new Router({ model_list: model_list(), state: redisStore({ client }) });
      await router.completion({ model: "chat", messages });
      await router.syncState();
      const keys = await client.keys("llmux:*");
      assert.ok(keys.length > 0, "state written through the caller's client");
      // ioredis's shape: call(command, ...args), here over the same connection.
      const callStyle = { call: (command, ...args) => client.sendCommand([command, ...args]) };
      const store = redisStore({ client: callStyle });
      assert.deepEqual(await store.incr([{ key: "llmux:c:n", by: 3, ttl_ms: 60_000 }]), [3]);
      assert.deepEqual(await store.get(["llmux:c:n", "llmux:c:missing"]), ["3", null]);
      await store.set("llmux:c:v", { a: 1 }, { ttl: 60 });
      assert.equal(await store.get("llmux:c:v"), '{"a":1}');
      store.close();
      assert.equal(await client.ping(), "PONG", "close() leaves the caller's client open");
      assert.throws(() => redisStore({ client: {} }), /sendCommand|call/);
    } finally {
      await client.quit().catch(() => {});
      await redis.stop();
    }
  },
);

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
