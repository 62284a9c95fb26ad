// Our RESP2 client: a pipelining connection over `node:net` / `node:tls` (Node; Deno provides
// both, and its own `Deno.connectTls` for TLS), with AUTH, SELECT and reconnect on the next
// command after a failure. ./redis.js loads it with a store's first command.
//
// `node:net` is imported on first connect, so loading this module costs nothing in runtimes
// that have no TCP; connecting there fails with an error saying so.

import { RedisError, RedisProtocolError, redisOptions } from "./redis.js";

const CONNECT_TIMEOUT_MS = 2_000;
const COMMAND_TIMEOUT_MS = 2_000;

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

/** Redis's own limit on one bulk string (proto-max-bulk-len). */
const MAX_BULK_BYTES = 512 * 1024 * 1024;
/** Longest header line (`+OK`, `-ERR …`, `$123`): longer is a protocol error. */
const MAX_LINE_BYTES = 64 * 1024;
/** Most elements in one array reply, and how deep arrays may nest. */
const MAX_ARRAY_ITEMS = 1 << 20;
const MAX_DEPTH = 16;

/** A RESP integer line (`-1`, `42`); anything else (`abc`, `1.5`, ``) is a protocol error. */
function integer(line, what) {
  if (!/^-?\d{1,16}$/.test(line))
    throw new RedisProtocolError(
      `redis: protocol error: ${what} ${JSON.stringify(line.slice(0, 32))}`,
    );
  return Number(line);
}

/**
 * An incremental RESP2 reply parser. `push(bytes)` appends to one growable buffer (amortised
 * linear: no concat per chunk); `next()` returns the next complete reply, or `INCOMPLETE`.
 * Finished elements of an array are consumed as they complete, so no byte is parsed twice;
 * only an incomplete header line or bulk string is looked at again (in O(1) for a bulk).
 * Malformed input throws a RedisProtocolError.
 */
export class RespParser {
  static INCOMPLETE = Symbol("incomplete");
  #buf = new Uint8Array(4096);
  #start = 0;
  #end = 0;
  /** Arrays being filled: `{ items, remaining }`, innermost last. */
  #stack = [];
  /** Where the CRLF search of an incomplete header line resumes. */
  #scanned = 0;

  /** Bytes buffered and not yet parsed into a reply. */
  get buffered() {
    return this.#end - this.#start;
  }

  /** Whether a reply is partly received (bytes buffered, or an array half filled). */
  get pending() {
    return this.#end > this.#start || this.#stack.length > 0;
  }

  push(chunk) {
    const bytes = chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk);
    if (this.#end + bytes.length > this.#buf.length) {
      const live = this.#end - this.#start;
      if (live + bytes.length <= this.#buf.length / 2) {
        this.#buf.copyWithin(0, this.#start, this.#end);
      } else {
        let size = this.#buf.length;
        while (size < (live + bytes.length) * 2) size *= 2;
        const grown = new Uint8Array(size);
        grown.set(this.#buf.subarray(this.#start, this.#end), 0);
        this.#buf = grown;
      }
      this.#scanned -= this.#start;
      this.#start = 0;
      this.#end = live;
    }
    this.#buf.set(bytes, this.#end);
    this.#end += bytes.length;
  }

  /** The CRLF ending the line at #start, or -1 (throws when the line is too long). */
  #lineEnd() {
    const buf = this.#buf;
    for (let i = Math.max(this.#start, this.#scanned); i + 1 < this.#end; i++) {
      if (buf[i] === 13 && buf[i + 1] === 10) return i;
    }
    this.#scanned = Math.max(this.#start, this.#end - 1);
    if (this.#end - this.#start > MAX_LINE_BYTES)
      throw new RedisProtocolError("redis: protocol error: a reply line longer than 64 KiB");
    return -1;
  }

  /** The next complete element (scalar, bulk or an array header), or INCOMPLETE. */
  #element() {
    const INCOMPLETE = RespParser.INCOMPLETE;
    if (this.#start >= this.#end) return INCOMPLETE;
    const end = this.#lineEnd();
    if (end < 0) return INCOMPLETE;
    const buf = this.#buf;
    const type = buf[this.#start];
    const line = decoder.decode(buf.subarray(this.#start + 1, end));
    const next = end + 2;
    switch (type) {
      case 43: // +
        this.#consume(next);
        return line;
      case 45: // -
        this.#consume(next);
        return new RedisError(line);
      case 58: // :
        this.#consume(next);
        return integer(line, "bad integer reply");
      case 36: {
        // $
        const len = integer(line, "bad bulk length");
        if (len < -1 || len > MAX_BULK_BYTES)
          throw new RedisProtocolError(`redis: protocol error: bulk length ${len} out of range`);
        if (len === -1) {
          this.#consume(next);
          return null;
        }
        if (this.#end < next + len + 2) return INCOMPLETE;
        if (buf[next + len] !== 13 || buf[next + len + 1] !== 10)
          throw new RedisProtocolError("redis: protocol error: bulk string without its CRLF");
        const value = decoder.decode(buf.subarray(next, next + len));
        this.#consume(next + len + 2);
        return value;
      }
      case 42: {
        // *
        const count = integer(line, "bad array length");
        if (count < -1 || count > MAX_ARRAY_ITEMS)
          throw new RedisProtocolError(`redis: protocol error: array length ${count} out of range`);
        this.#consume(next);
        if (count === -1) return null;
        if (count === 0) return [];
        if (this.#stack.length >= MAX_DEPTH)
          throw new RedisProtocolError("redis: protocol error: arrays nested too deep");
        this.#stack.push({ items: [], remaining: count });
        return ARRAY_OPENED;
      }
      default:
        throw new RedisProtocolError(
          `redis: protocol error: unexpected reply type ${JSON.stringify(String.fromCharCode(type))}`,
        );
    }
  }

  #consume(to) {
    this.#start = to;
    this.#scanned = to;
    if (this.#start === this.#end) {
      this.#start = 0;
      this.#end = 0;
      this.#scanned = 0;
    }
  }

  /** The next complete reply, or `RespParser.INCOMPLETE`. */
  next() {
    for (;;) {
      let value = this.#element();
      if (value === RespParser.INCOMPLETE) return value;
      if (value === ARRAY_OPENED) continue;
      // Close every array this element completes.
      for (;;) {
        const top = this.#stack.at(-1);
        if (top === undefined) return value;
        top.items.push(value);
        if (--top.remaining > 0) break;
        this.#stack.pop();
        value = top.items;
      }
    }
  }
}

const ARRAY_OPENED = Symbol("array opened");

/**
 * A `Deno.TlsConn` with the few `net.Socket` methods RedisClient uses: `on`/`once` for data,
 * error and close, `write` (in order), `setNoDelay`, `ref`/`unref`, `end`/`destroy`.
 */
function denoSocket(conn) {
  const handlers = { data: [], error: [], close: [] };
  let closed = false;
  const emit = (event, arg) => {
    for (const h of handlers[event]) h(arg);
  };
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch {
      // already closed by the peer
    }
    emit("close");
  };
  (async () => {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        emit("data", buf.slice(0, n));
      }
    } catch (e) {
      if (!closed) emit("error", e);
    }
    close();
  })();
  let writing = Promise.resolve();
  return {
    on(event, h) {
      handlers[event]?.push(h);
    },
    setNoDelay() {},
    write(text) {
      const bytes = utf8.encode(text);
      writing = writing
        .then(async () => {
          for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
        })
        .catch((e) => {
          emit("error", e);
          close();
        });
    },
    ref: () => conn.ref?.(),
    unref: () => conn.unref?.(),
    end: close,
    destroy: close,
  };
}

/** A pipelining RESP2 connection; reconnects on the next command after it breaks. */
export class RedisClient {
  #opts;
  #socket = null;
  #connecting = null;
  #parser = new RespParser();
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
    const socket =
      this.#opts.tls && typeof globalThis.Deno?.connectTls === "function"
        ? await this.#connectDenoTls()
        : await this.#connectNode();
    this.#attach(socket);
    await this.#hello(socket);
  }

  /**
   * TLS in Deno through `Deno.connectTls`, which trusts what Deno trusts (its root store,
   * `DENO_CERT`, `--cert`); Deno's `node:tls` does not read those. `tls` options: `ca`,
   * `cert`, `key` (client certificate); others are refused, not ignored.
   */
  async #connectDenoTls() {
    const { host, port, tlsOptions } = this.#opts;
    const unknown = Object.keys(tlsOptions).filter((k) => !["ca", "cert", "key"].includes(k));
    if (unknown.length)
      throw new RedisError(
        `redis: tls options ${unknown.join(", ")} are not supported in Deno (ca, cert, key are)`,
      );
    const pem = (v) => (typeof v === "string" ? v : decoder.decode(v));
    const opts = { hostname: host, port };
    if (tlsOptions.ca !== undefined)
      opts.caCerts = (Array.isArray(tlsOptions.ca) ? tlsOptions.ca : [tlsOptions.ca]).map(pem);
    if (tlsOptions.cert !== undefined) opts.cert = pem(tlsOptions.cert);
    if (tlsOptions.key !== undefined) opts.key = pem(tlsOptions.key);
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new RedisError(`redis: connecting to ${this.address} timed out`)),
        CONNECT_TIMEOUT_MS,
      );
    });
    const connecting = (async () => {
      const conn = await globalThis.Deno.connectTls(opts);
      try {
        await conn.handshake(); // certificate errors here, not at the first command
      } catch (e) {
        conn.close();
        throw e;
      }
      return conn;
    })();
    try {
      return denoSocket(await Promise.race([connecting, timeout]));
    } catch (e) {
      connecting.then((conn) => conn.close()).catch(() => {});
      if (e instanceof RedisError) throw e;
      throw new RedisError(`redis: cannot connect to ${this.address} (${e?.message ?? e})`);
    } finally {
      clearTimeout(timer);
    }
  }

  async #connectNode() {
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
    // SNI carries a host name, never an IP address (RFC 6066; Node warns otherwise).
    const ip = /^[\d.]+$/.test(host) || host.includes(":");
    const sni = ip ? {} : { servername: host };
    const socket = await new Promise((resolve, reject) => {
      const s = this.#opts.tls
        ? net.connect({ host, port, ...sni, ...this.#opts.tlsOptions })
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
    return socket;
  }

  #attach(socket) {
    socket.setNoDelay(true);
    socket.on("data", (chunk) => this.#onData(socket, chunk));
    socket.on("error", () => {});
    socket.on("close", () => this.#onClose(socket));
    this.#socket = socket;
    this.#parser = new RespParser();
  }

  /** AUTH and SELECT on a new connection. */
  async #hello(socket) {
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

  #onData(socket, chunk) {
    if (this.#socket !== socket) return;
    try {
      // Bytes nobody asked for are not Redis talking to us: reset rather than buffer them.
      if (this.#waiting.length === 0)
        throw new RedisProtocolError("redis: protocol error: data with no command pending");
      this.#parser.push(chunk);
      while (this.#waiting.length) {
        const reply = this.#parser.next();
        if (reply === RespParser.INCOMPLETE) break;
        this.#waiting.shift().resolve(reply);
      }
      if (this.#waiting.length === 0 && this.#parser.pending)
        throw new RedisProtocolError("redis: protocol error: a reply nobody asked for");
    } catch (e) {
      this.#reset(
        e instanceof RedisError ? e : new RedisProtocolError(`redis: protocol error: ${e}`),
      );
      return;
    }
    if (!this.#waiting.length) socket.unref();
  }

  /** Drops the connection: every waiting command rejects with `error`; the next reconnects. */
  #reset(error) {
    const socket = this.#socket;
    this.#socket = null;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const w of waiting) w.reject(error);
    socket?.destroy();
  }

  #onClose(socket) {
    if (this.#socket !== socket) return;
    this.#reset(new RedisError(`redis: connection to ${this.address} lost`));
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
