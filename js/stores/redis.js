// Redis as a shared-state store (and a response-cache KV): over our own RESP2 client
// (./resp.js: `node:net` / `node:tls` in Node, Deno's own TLS; pipelining, AUTH, SELECT,
// reconnect on the next command after a failure), over a caller's node-redis or ioredis client
// (`{ client }`), or, for an `https://` URL, over Upstash's REST protocol and `fetch`
// (./upstash.js), which also works in Workers.
//
// The RESP client is loaded with a store's first command, not with llmux: importing llmux
// does not pay for it, and in runtimes that have no TCP a `redis://` store fails on first use
// with an error saying so. The options are checked when the store is made.

import { upstashStore } from "./upstash.js";

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * Redis's parts from `{ url } | { host, port, password, username, db, tls }`; `tls` is `true`
 * or an object of `node:tls` connect options (`ca` for a private CA, …), `rediss://` sets it.
 */
export function redisOptions(options = {}) {
  const out = {
    host: options.host ?? "127.0.0.1",
    port: Number(options.port ?? 6379),
    username: options.username,
    password: options.password,
    db: Number(options.db ?? 0),
    tls: options.tls === true || isObject(options.tls),
    /** node:tls options (`ca`, `cert`, `key`, `rejectUnauthorized`, `servername`) when an object. */
    tlsOptions: isObject(options.tls) ? options.tls : {},
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
    out.tls = u.protocol === "rediss:" || out.tls;
  }
  if (!Number.isInteger(out.port) || out.port <= 0 || out.port > 65535) {
    throw new TypeError("redis port: must be an integer between 1 and 65535");
  }
  if (!Number.isInteger(out.db) || out.db < 0) {
    throw new TypeError("redis db: must be a non-negative integer");
  }
  return out;
}

export class RedisError extends Error {
  name = "RedisError";
}

/** The server sent bytes that are not RESP2, or a reply nobody asked for: the connection is reset. */
export class RedisProtocolError extends RedisError {
  name = "RedisProtocolError";
}

const decoder = new TextDecoder();

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
 * An existing Redis client as the store's connection. Duck-typed: ioredis `call(command,
 * ...args)` (checked first: ioredis's own `sendCommand` takes Command objects), else node-redis
 * (v4 and later) `sendCommand(args)`. The commands of one pipeline are
 * issued together (both clients pipeline them); the client is the caller's: `close()` leaves it.
 */
/** A client's reply as RedisClient's: bytes as text, arrays element by element. */
const plain = (reply) =>
  reply instanceof Uint8Array
    ? decoder.decode(reply)
    : Array.isArray(reply)
      ? reply.map(plain)
      : reply;

class ForeignClient {
  #send;
  /** Set once a Cluster refused an MGET across slots: later reads are one GET a key. */
  #split = false;
  constructor(client) {
    // ioredis first: it also has a sendCommand, which takes its own Command objects.
    if (typeof client?.call === "function") {
      this.#send = ([command, ...rest]) => client.call(String(command), ...rest.map(String));
    } else if (
      typeof client?.sendCommand === "function" &&
      typeof client.getSlotMaster === "function"
    ) {
      // node-redis's Cluster: sendCommand(firstKey, isReadonly, args). Every command the store
      // sends has its key first; reads go to the master, as writes do.
      this.#send = (args) => client.sendCommand(String(args[1]), false, args.map(String));
    } else if (
      typeof client?.sendCommand === "function" &&
      typeof client.getMasterNode === "function"
    ) {
      // node-redis's Sentinel: sendCommand(isReadonly, args), always on the master.
      this.#send = (args) => client.sendCommand(false, args.map(String));
    } else if (typeof client?.sendCommand === "function") {
      this.#send = (args) => client.sendCommand(args.map(String));
    } else {
      throw new TypeError(
        "redis client: must have sendCommand(args) (node-redis) or call(command, ...args) (ioredis)",
      );
    }
  }

  get address() {
    return "the client passed as `client`";
  }

  /** Replies in order; a command that failed is a RedisError value, as RedisClient's. */
  pipeline(commands) {
    return Promise.all(
      commands.map((args) =>
        Promise.resolve()
          .then(() => this.#send(args))
          .then(plain, (e) => new RedisError(`redis: ${e?.message ?? e}`)),
      ),
    );
  }

  async command(...args) {
    const [reply] = await this.pipeline([args]);
    if (reply instanceof RedisError) throw reply;
    return reply;
  }

  /**
   * MGET, or, on a Cluster whose keys live in several slots (CROSSSLOT), one GET a key in one
   * pipeline (the client routes each to its node).
   */
  async mget(keys) {
    if (!this.#split) {
      try {
        return await this.command("MGET", ...keys);
      } catch (e) {
        if (!/CROSSSLOT/.test(e?.message ?? "")) throw e;
        this.#split = true;
      }
    }
    return check(await this.pipeline(keys.map((key) => ["GET", key])));
  }

  close() {}
}

/**
 * Our RESP client (./resp.js) behind the store, loaded with its first command. The options
 * are checked here, when the store is made, so a bad one throws from `redisStore()`.
 */
class LazyRespClient {
  #options;
  #address;
  #client = null;
  #loading = null;

  constructor(options) {
    const parts = redisOptions(options);
    this.#options = options;
    this.#address = `${parts.host}:${parts.port}`;
  }

  get address() {
    return this.#address;
  }

  #connect() {
    this.#loading ??= import("./resp.js").then(({ RedisClient }) => {
      this.#client = new RedisClient(this.#options);
      return this.#client;
    });
    return this.#loading;
  }

  async pipeline(commands) {
    return (this.#client ?? (await this.#connect())).pipeline(commands);
  }

  async command(...args) {
    return (this.#client ?? (await this.#connect())).command(...args);
  }

  /** Closes the connection, if one was made. */
  close() {
    this.#client?.close();
  }
}

/**
 * A StateStore (and response-cache KV) over Redis. `{ url }` (`redis://`, `rediss://`, or an
 * `https://` Upstash REST URL with the token as password), `{ host, port, username, password,
 * db, tls }`, or `{ client }` (an existing node-redis or ioredis client, see ForeignClient).
 * Each StateStore call is one pipelined round trip.
 */
export function redisStore(options = {}) {
  if (typeof options.url === "string" && /^https?:/i.test(options.url)) {
    if (options.username)
      throw new TypeError("an Upstash REST URL takes a token (the password), not a username");
    return upstashStore({ url: options.url, token: options.password ?? options.token });
  }
  const client =
    options.client !== undefined ? new ForeignClient(options.client) : new LazyRespClient(options);
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
        return client.mget ? client.mget(keys) : client.command("MGET", ...keys);
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
