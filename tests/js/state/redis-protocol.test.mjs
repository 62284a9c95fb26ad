// The Redis client's reply parser and its behaviour on a server that misbehaves: bytes fed
// one at a time or all at once, malformed lengths, unsolicited data and a server that accepts
// connections and never answers. No redis-server needed: fake TCP servers play Redis.
import assert from "node:assert/strict";
import net from "node:net";
import { describe, it } from "node:test";

import { RedisError, RedisProtocolError, redisStore } from "../../../js/stores/redis.js";
import { RedisClient, RespParser } from "../../../js/stores/resp.js";

const bytes = (s) => new TextEncoder().encode(s);

/** Every reply in `input`, fed in pieces of `size` bytes. */
function parseAll(input, size = input.length) {
  const p = new RespParser();
  const out = [];
  const data = bytes(input);
  for (let i = 0; i < data.length; i += size) {
    p.push(data.subarray(i, i + size));
    for (;;) {
      const r = p.next();
      if (r === RespParser.INCOMPLETE) break;
      out.push(r);
    }
  }
  return { out, pending: p.pending };
}

describe("RESP parser", () => {
  const stream =
    "+OK\r\n-ERR wrong\r\n:42\r\n$4\r\nhé!\r\n$-1\r\n*3\r\n$1\r\na\r\n*2\r\n:1\r\n$0\r\n\r\n*-1\r\n*0\r\n";
  const expected = ["OK", "ERR wrong", 42, "hé!", null, ["a", [1, ""], null], []];

  for (const size of [1, 2, 3, 7, 1000]) {
    it(`parses replies split every ${size} byte(s) like the whole`, () => {
      const { out, pending } = parseAll(stream, size);
      assert.equal(pending, false);
      assert.equal(out.length, expected.length);
      assert.ok(out[1] instanceof RedisError);
      assert.equal(out[1].message, "ERR wrong");
      assert.deepEqual([out[0], ...out.slice(2)], [expected[0], ...expected.slice(2)]);
    });
  }

  it("a NaN, fractional or out-of-range length is a protocol error, not a stall", () => {
    for (const bad of ["$abc\r\nxx\r\n", "$1.5\r\nx\r\n", "*x\r\n", "$-2\r\n", ":12a\r\n"]) {
      const p = new RespParser();
      p.push(bytes(bad));
      assert.throws(() => p.next(), RedisProtocolError, bad);
    }
    const p = new RespParser();
    p.push(bytes(`$${600 * 1024 * 1024}\r\n`));
    assert.throws(() => p.next(), /bulk length .* out of range/);
  });

  it("an unknown type byte, a bulk without its CRLF and an endless line are protocol errors", () => {
    for (const bad of ["!oops\r\n", "$2\r\nabXY"]) {
      const p = new RespParser();
      p.push(bytes(bad));
      assert.throws(() => p.next(), RedisProtocolError, bad);
    }
    const p = new RespParser();
    p.push(bytes(`+${"x".repeat(70 * 1024)}`));
    assert.throws(() => p.next(), /longer than 64 KiB/);
  });

  it("buffers a large reply arriving in small chunks in linear time", () => {
    const size = 8 * 1024 * 1024;
    const p = new RespParser();
    const header = bytes(`$${size}\r\n`);
    p.push(header);
    const chunk = new Uint8Array(1024).fill(97);
    const started = performance.now();
    for (let sent = 0; sent < size; sent += chunk.length) {
      p.push(chunk);
      assert.equal(p.next(), RespParser.INCOMPLETE);
    }
    p.push(bytes("\r\n"));
    const value = p.next();
    const elapsed = performance.now() - started;
    assert.equal(value.length, size);
    // 8,192 chunks: a concat per chunk copied ~32 GiB; linear buffering takes milliseconds.
    assert.ok(elapsed < 2000, `took ${elapsed} ms`);
  });

  it("an array of many items split byte by byte parses each item once", () => {
    const n = 20_000;
    const input = `*${n}\r\n${":1\r\n".repeat(n)}`;
    const started = performance.now();
    const { out } = parseAll(input, 3);
    assert.equal(out[0].length, n);
    assert.ok(performance.now() - started < 2000);
  });
});

/** A TCP server that runs `onSocket` for each connection. */
async function fakeRedis(onSocket) {
  const sockets = new Set();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    onSocket(s);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: server.address().port,
    connections: () => sockets.size,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(resolve);
      }),
  };
}

describe("RedisClient against a misbehaving server", () => {
  it("a malformed reply resets the connection with a RedisProtocolError", async () => {
    let accepted = 0;
    const srv = await fakeRedis((s) => {
      accepted++;
      s.once("data", () => s.write(accepted === 1 ? "$abc\r\nxyz\r\n" : "+PONG\r\n"));
    });
    const client = new RedisClient({ port: srv.port });
    try {
      await assert.rejects(client.command("PING"), RedisProtocolError);
      // The next command reconnects and works.
      assert.equal(await client.command("PING"), "PONG");
      assert.equal(accepted, 2);
    } finally {
      client.close();
      await srv.close();
    }
  });

  it("data with no command pending is a protocol error, not a growing buffer", async () => {
    let socket;
    const srv = await fakeRedis((s) => {
      socket = s;
      s.once("data", () => s.write("+OK\r\n"));
    });
    const client = new RedisClient({ port: srv.port });
    try {
      assert.equal(await client.command("PING"), "OK");
      socket.write("+unsolicited\r\n");
      // The client drops the connection at once.
      const closed = await new Promise((resolve) => {
        socket.once("close", () => resolve(true));
        setTimeout(() => resolve(false), 2000);
      });
      assert.equal(closed, true, "the connection was reset");
    } finally {
      client.close();
      await srv.close();
    }
  });

  it("extra bytes after the expected replies reset the connection", async () => {
    const srv = await fakeRedis((s) => s.once("data", () => s.write("+OK\r\n+EXTRA\r\n")));
    const client = new RedisClient({ port: srv.port });
    try {
      // The reply that was asked for still arrives; the connection is then dropped.
      assert.equal(await client.command("PING"), "OK");
    } finally {
      client.close();
      await srv.close();
    }
  });
});

describe("redisStore over llmux's own client (js/stores/resp.js, loaded on first use)", () => {
  it("checks its options when made, before any command loads the client", () => {
    assert.throws(() => redisStore({ port: 0 }), {
      name: "TypeError",
      message: /redis port: must be an integer between 1 and 65535/,
    });
    assert.throws(() => redisStore({ url: "ftp://x" }), {
      name: "TypeError",
      message: /unsupported scheme ftp:/,
    });
    assert.throws(() => redisStore({ db: -1 }), { message: /redis db: must be a non-negative/ });
  });

  it("concurrent first commands share one connection, and answer in order", async () => {
    const commands = [];
    const srv = await fakeRedis((s) => {
      let text = "";
      s.on("data", (d) => {
        text += d;
        // Each command here is `*2 $3 GET $n key`: answer each GET with its key's name.
        for (let m; (m = /^\*2\r\n\$3\r\nGET\r\n\$\d+\r\n([^\r]*)\r\n/.exec(text));) {
          commands.push(m[1]);
          s.write(`$${m[1].length + 2}\r\nv:${m[1]}\r\n`);
          text = text.slice(m[0].length);
        }
      });
    });
    const store = redisStore({ url: `redis://127.0.0.1:${srv.port}` });
    try {
      assert.equal(srv.connections(), 0, "making the store connects nothing");
      const replies = await Promise.all(["a", "b", "c"].map((k) => store.get(k)));
      assert.deepEqual(replies, ["v:a", "v:b", "v:c"]);
      assert.deepEqual(commands, ["a", "b", "c"]);
      assert.equal(srv.connections(), 1);
    } finally {
      store.close();
      await srv.close();
    }
  });
});

describe("a silent Redis behind the response cache", () => {
  it(
    "accepts connections and never replies: one timeout, then bypassed until a probe",
    {
      timeout: 30_000,
    },
    async () => {
      const { Router, redisStore } = await import("../../../js/node.js");
      const { startMockServer } = await import("../../mock/server.mjs");
      const mock = await startMockServer();
      let received = 0;
      const silent = await fakeRedis((s) => s.on("data", () => received++));
      const store = redisStore({ url: `redis://127.0.0.1:${silent.port}` });
      try {
        const router = new Router({
          model_list: [
            {
              model_name: "chat",
              litellm_params: { model: "openai/mock-a", api_base: mock.base("a"), api_key: "sk-x" },
            },
          ],
          cache_responses: true,
          cache: store,
          logger: { debug() {}, info() {}, warn() {}, error() {} },
        });
        const started = performance.now();
        for (let i = 0; i < 10; i++) {
          const res = await router.completion({
            model: "chat",
            messages: [{ role: "user", content: "hi" }],
          });
          assert.equal(res._hidden_params.cache_hit, false);
        }
        const elapsed = performance.now() - started;
        assert.equal(mock.callsTo("a").length, 10, "every request was answered upstream");
        // Before: every get and set waited for the 2 s command timeout (10 requests, ~22 s).
        // Now the first lookup waits once; the rest bypass the store (5 s before a probe).
        assert.equal(received, 1, "only the first lookup reached the store");
        assert.ok(elapsed < 5_000, `10 requests took ${Math.round(elapsed)} ms`);
      } finally {
        store.close();
        await silent.close();
        await mock.close();
      }
    },
  );
});
