// Redis as a shared-state store (and a response-cache KV): a small RESP2 client of our own
// over `node:net` / `node:tls` (Node; Deno provides both), with pipelining, AUTH, SELECT and
// reconnect on the next command after a failure. An `https://` URL goes to Upstash's REST
// protocol over `fetch` instead (./upstash.js), which also works in Workers.
//
// `node:net` is imported on first use, so importing this module costs nothing in runtimes
// that have no TCP; using a `redis://` store there fails with an error saying so.

import { upstashStore } from "./upstash.js";

const CONNECT_TIMEOUT_MS = 2_000;
const COMMAND_TIMEOUT_MS = 2_000;

/** Redis's parts from `{ url } | { host, port, password, username, db, tls }`. */
export function redisOptions(options = {}) {
  const out = {
    host: options.host ?? "127.0.0.1",
    port: Number(options.port ?? 6379),
    username: options.username,
    password: options.password,
    db: Number(options.db ?? 0),
    tls: options.tls === true,
  };
  if (options.url) {
    let u;
    try {
      u = new URL(options.url);
    } catch {
      throw new TypeError("redis url: not a URL like redis://:password@host:6379/0");
    }
    if (u.protocol !== "redis:" && u.protocol !== "rediss:") {
      throw new TypeError(`redis url: unsupported scheme ${u.protocol} (redis:, rediss:, https:)`);
    }
    out.host = u.hostname.replace(/^\[|\]$/g, "") || out.host;
    out.port = Number(u.port || 6379);
    if (u.username) out.username = decodeURIComponent(u.username);
    if (u.password) out.password = decodeURIComponent(u.password);
    const db = u.pathname.replace(/^\//, "");
    if (db) out.db = Number(db);
    out.tls = u.protocol === "rediss:";
  }
  if (!Number.isInteger(out.port) || out.port <= 0 || out.port > 65535) {
    throw new TypeError("redis port: must be an integer between 1 and 65535");
  }
  if (!Number.isInteger(out.db) || out.db < 0) {
    throw new TypeError("redis db: must be a non-negative integer");
  }
  return out;
}

const utf8 = new TextEncoder();
const decoder = new TextDecoder();

function encode(args) {
  let out = `*${args.length}\r\n`;
  for (const a of args) {
    const s = String(a);
    out += `$${utf8.encode(s).length}\r\n${s}\r\n`;
  }
  return out;
}

/** Index of the next CRLF in `buf` from `pos`, or -1. */
function crlf(buf, pos) {
  for (let i = pos; i + 1 < buf.length; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10) return i;
  }
  return -1;
}

const text = (buf, from, to) => decoder.decode(buf.subarray(from, to));

function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Parses one RESP2 reply from `buf` at `pos`: `[value, next]`, or null when incomplete. */
function parseReply(buf, pos) {
  if (pos >= buf.length) return null;
  const end = crlf(buf, pos);
  if (end < 0) return null;
  const type = String.fromCharCode(buf[pos]);
  const line = text(buf, pos + 1, end);
  const next = end + 2;
  switch (type) {
    case "+":
      return [line, next];
    case "-":
      return [new RedisError(line), next];
    case ":":
      return [Number(line), next];
    case "$": {
      const len = Number(line);
      if (len < 0) return [null, next];
      if (buf.length < next + len + 2) return null;
      return [text(buf, next, next + len), next + len + 2];
    }
    case "*": {
      const count = Number(line);
      if (count < 0) return [null, next];
      const items = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const r = parseReply(buf, at);
        if (r === null) return null;
        items.push(r[0]);
        at = r[1];
      }
      return [items, at];
    }
    default:
      throw new RedisError(`protocol error: unexpected reply type ${JSON.stringify(type)}`);
  }
}

export class RedisError extends Error {
  name = "RedisError";
}

/** A pipelining RESP2 connection; reconnects on the next command after it breaks. */
export class RedisClient {
  #opts;
  #socket = null;
  #connecting = null;
  #buf = new Uint8Array(0);
  /** Callbacks of the replies still expected, in order. */
  #waiting = [];

  constructor(options) {
    this.#opts = redisOptions(options);
  }

  /** Where it connects, without credentials (for messages). */
  get address() {
    return `${this.#opts.host}:${this.#opts.port}`;
  }

  async #connect() {
    let net;
    try {
      // A computed specifier: bundlers for browsers and Workers leave it alone.
      const specifier = this.#opts.tls ? "node:tls" : "node:net";
      net = await import(/* webpackIgnore: true */ specifier);
    } catch {
      throw new RedisError(
        "redis: this runtime has no TCP sockets (node:net); use an https:// Upstash REST URL or another store",
      );
    }
    const { host, port } = this.#opts;
    const socket = await new Promise((resolve, reject) => {
      const s = this.#opts.tls
        ? net.connect({ host, port, servername: host })
        : net.connect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new RedisError(`redis: connecting to ${this.address} timed out`));
      }, CONNECT_TIMEOUT_MS);
      s.once(this.#opts.tls ? "secureConnect" : "connect", () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once("error", (e) => {
        clearTimeout(timer);
        reject(new RedisError(`redis: cannot connect to ${this.address} (${e.code ?? e.message})`));
      });
    });
    socket.setNoDelay(true);
    socket.on("data", (chunk) => this.#onData(chunk));
    socket.on("error", () => {});
    socket.on("close", () => this.#onClose(socket));
    this.#socket = socket;
    this.#buf = new Uint8Array(0);
    const hello = [];
    if (this.#opts.password !== undefined) {
      hello.push(
        this.#opts.username
          ? ["AUTH", this.#opts.username, this.#opts.password]
          : ["AUTH", this.#opts.password],
      );
    }
    if (this.#opts.db) hello.push(["SELECT", this.#opts.db]);
    if (hello.length) {
      const replies = await this.#send(hello);
      const failed = replies.find((r) => r instanceof RedisError);
      if (failed) {
        socket.destroy();
        // Redis's own AUTH/SELECT errors never echo the password.
        throw new RedisError(`redis: ${failed.message}`);
      }
    }
  }

  #onData(chunk) {
    this.#buf = this.#buf.length ? concat(this.#buf, chunk) : new Uint8Array(chunk);
    let pos = 0;
    try {
      while (this.#waiting.length) {
        const r = parseReply(this.#buf, pos);
        if (r === null) break;
        pos = r[1];
        this.#waiting.shift().resolve(r[0]);
      }
    } catch (e) {
      this.#socket?.destroy(e);
      return;
    }
    this.#buf = this.#buf.subarray(pos);
    if (!this.#waiting.length) this.#socket?.unref();
  }

  #onClose(socket) {
    if (this.#socket !== socket) return;
    this.#socket = null;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const w of waiting) w.reject(new RedisError(`redis: connection to ${this.address} lost`));
  }

  /** Writes commands in one go; resolves to their replies (errors as RedisError values). */
  #send(commands) {
    const socket = this.#socket;
    const replies = commands.map(
      () =>
        new Promise((resolve, reject) => {
          this.#waiting.push({ resolve, reject });
        }),
    );
    socket.ref();
    socket.write(commands.map(encode).join(""));
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new RedisError(`redis: no reply from ${this.address} within ${COMMAND_TIMEOUT_MS} ms`),
        );
        socket.destroy();
      }, COMMAND_TIMEOUT_MS);
    });
    return Promise.race([Promise.all(replies), timeout]).finally(() => clearTimeout(timer));
  }

  /** Sends `commands` (arrays of arguments) in one pipeline; resolves to their replies. */
  async pipeline(commands) {
    if (!this.#socket) {
      this.#connecting ??= this.#connect().finally(() => {
        this.#connecting = null;
      });
      await this.#connecting;
    }
    if (!this.#socket) throw new RedisError(`redis: connection to ${this.address} lost`);
    return this.#send(commands);
  }

  /** One command; a Redis error reply rejects. */
  async command(...args) {
    const [reply] = await this.pipeline([args]);
    if (reply instanceof RedisError) throw reply;
    return reply;
  }

  /** Closes the connection (a later command reconnects). */
  close() {
    this.#socket?.end();
    this.#socket?.destroy();
  }
}

function check(replies) {
  const failed = replies.find((r) => r instanceof RedisError);
  if (failed) throw failed;
  return replies;
}

const isInt = (n) => Number.isInteger(n) && Math.abs(n) < 2 ** 53;

/** The commands of StateStore.incr (shared with the Upstash store). */
export function incrCommands(ops) {
  const commands = [];
  for (const op of ops) {
    commands.push(["SET", op.key, "0", "PX", Math.max(1, Math.ceil(op.ttl_ms)), "NX"]);
    commands.push(isInt(op.by) ? ["INCRBY", op.key, op.by] : ["INCRBYFLOAT", op.key, op.by]);
  }
  return commands;
}

/**
 * A StateStore (and response-cache KV) over Redis. `{ url }` (`redis://`, `rediss://`, or an
 * `https://` Upstash REST URL with the token as password) or `{ host, port, password, db }`.
 * Each StateStore call is one pipelined round trip.
 */
export function redisStore(options = {}) {
  if (typeof options.url === "string" && /^https?:/i.test(options.url)) {
    return upstashStore({ url: options.url, token: options.password ?? options.token });
  }
  const client = new RedisClient(options);
  return {
    kind: "redis",
    client,
    /**
     * StateStore.incr: per op `SET key 0 PX ttl NX` (creates it with its expiry, only when
     * absent) then `INCRBY` (keeps the expiry), all in one pipeline. Works on any Redis ≥ 2.6.12.
     */
    async incr(ops) {
      const replies = check(await client.pipeline(incrCommands(ops)));
      return ops.map((_, i) => Number(replies[2 * i + 1]));
    },
    /** StateStore.get (an array of keys: MGET) or cache get (one key: GET). */
    async get(keys) {
      if (Array.isArray(keys)) {
        if (keys.length === 0) return [];
        return client.command("MGET", ...keys);
      }
      return client.command("GET", keys);
    },
    /**
     * StateStore.set (an array of `{ key, value, ttl_ms }`: SET PX each, one pipeline) or
     * cache set (`key, value, { ttl }`, ttl in seconds).
     */
    async set(ops, value, options) {
      if (Array.isArray(ops)) {
        if (ops.length === 0) return;
        check(
          await client.pipeline(
            ops.map((op) => ["SET", op.key, op.value, "PX", Math.max(1, Math.ceil(op.ttl_ms))]),
          ),
        );
        return;
      }
      const text = typeof value === "string" ? value : JSON.stringify(value);
      const ttl = options?.ttl;
      if (ttl !== undefined && ttl !== null) {
        await client.command("SET", ops, text, "PX", Math.max(1, Math.ceil(ttl * 1000)));
      } else {
        await client.command("SET", ops, text);
      }
    },
    /** Cache delete. */
    async delete(key) {
      await client.command("DEL", key);
    },
    /** Closes the connection. */
    close() {
      client.close();
    },
  };
}
