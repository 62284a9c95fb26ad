// A Durable Object as a shared-state store: one object (by name) serialises every call, so
// counters are exact and strongly consistent; values are kept in memory and written through
// to `state.storage` (so they survive the object's eviction). Export `LlmuxStateObject` from
// your Worker and bind it (`durable_objects.bindings`), then pass
// `state: durableObjectStore(env.LLMUX_STATE)`.

const STORAGE_BATCH = 128;

function chunks(items, size) {
  const out = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The Durable Object class holding the counters and marks. */
export class LlmuxStateObject {
  #storage;
  /** key -> { n } | { v } with `exp` (epoch ms). */
  #values = new Map();

  constructor(state) {
    this.#storage = state.storage;
  }

  async #load(keys) {
    const missing = [...new Set(keys)].filter((k) => !this.#values.has(k));
    for (const part of chunks(missing, STORAGE_BATCH)) {
      const found = await this.#storage.get(part);
      for (const k of part) this.#values.set(k, found.get(k) ?? null);
    }
  }

  #live(key, now) {
    const v = this.#values.get(key);
    return v && v.exp > now ? v : null;
  }

  async #persist(keys) {
    const entries = {};
    for (const k of keys) entries[k] = this.#values.get(k);
    for (const part of chunks(Object.keys(entries), STORAGE_BATCH)) {
      const batch = {};
      for (const k of part) batch[k] = entries[k];
      await this.#storage.put(batch);
    }
  }

  async fetch(request) {
    const { op, ops, keys } = await request.json();
    const now = Date.now();
    if (op === "incr") {
      await this.#load(ops.map((o) => o.key));
      const out = ops.map((o) => {
        const prev = this.#live(o.key, now);
        const next = prev ? { n: prev.n + o.by, exp: prev.exp } : { n: o.by, exp: now + o.ttl_ms };
        this.#values.set(o.key, next);
        return next.n;
      });
      await this.#persist(ops.map((o) => o.key));
      return Response.json(out);
    }
    if (op === "get") {
      await this.#load(keys);
      return Response.json(
        keys.map((k) => {
          const v = this.#live(k, now);
          return v === null ? null : "n" in v ? String(v.n) : v.v;
        }),
      );
    }
    if (op === "set") {
      for (const o of ops) this.#values.set(o.key, { v: String(o.value), exp: now + o.ttl_ms });
      await this.#persist(ops.map((o) => o.key));
      return Response.json(null);
    }
    if (op === "delete") {
      for (const k of keys) this.#values.delete(k);
      await this.#storage.delete(keys);
      return Response.json(null);
    }
    return new Response("unknown op", { status: 400 });
  }
}

/**
 * A StateStore over the `LlmuxStateObject` named `name` in `namespace` (a Durable Object
 * namespace binding). Each call is one request to the object.
 */
export function durableObjectStore(namespace, name = "llmux-state") {
  if (!namespace || typeof namespace.idFromName !== "function") {
    throw new TypeError("durableObjectStore: pass a Durable Object namespace binding");
  }
  const id = namespace.idFromName(name);
  async function call(body) {
    // A stub is bound to the request that made it (workerd refuses cross-request I/O).
    const stub = namespace.get(id);
    const res = await stub.fetch("https://llmux-state/", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`durable object: HTTP ${res.status}`);
    return res.json();
  }
  return {
    kind: "durable-object",
    incr: (ops) => call({ op: "incr", ops }),
    async get(keys) {
      if (Array.isArray(keys)) return call({ op: "get", keys });
      return (await call({ op: "get", keys: [keys] }))[0];
    },
    async set(ops, value, options) {
      if (Array.isArray(ops)) return void (await call({ op: "set", ops }));
      const text = typeof value === "string" ? value : JSON.stringify(value);
      const ttl_ms = options?.ttl != null ? options.ttl * 1000 : 100 * 365 * 86_400_000;
      await call({ op: "set", ops: [{ key: ops, value: text, ttl_ms }] });
    },
    async delete(key) {
      await call({ op: "delete", keys: [key] });
    },
    close() {},
  };
}
