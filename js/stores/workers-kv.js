// Cloudflare Workers KV as a shared-state store. KV has no atomic increment: counters are
// read, added to and written back, so increments racing from two isolates can be lost, and
// KV is eventually consistent (a write can take up to 60 s to be seen elsewhere). Its
// minimum TTL is 60 s (shorter TTLs are raised to 60 s; cooldown marks carry their own end,
// so a mark that outlives its cooldown is ignored). Use a Durable Object for exact counters.

const MIN_TTL_S = 60;

const ttlSeconds = (ms) => Math.max(MIN_TTL_S, Math.ceil(ms / 1000));

/** A StateStore over a KV namespace binding (`env.MY_KV`). */
export function workersKvStore(namespace) {
  if (!namespace || typeof namespace.get !== "function" || typeof namespace.put !== "function") {
    throw new TypeError("workersKvStore: pass a KV namespace binding (env.<NAME>)");
  }
  return {
    kind: "workers-kv",
    async incr(ops) {
      const merged = new Map();
      for (const op of ops) {
        const m = merged.get(op.key) ?? { by: 0, ttl_ms: op.ttl_ms };
        m.by += op.by;
        merged.set(op.key, m);
      }
      const keys = [...merged.keys()];
      const current = await Promise.all(keys.map((k) => namespace.get(k)));
      const values = new Map();
      await Promise.all(
        keys.map((k, i) => {
          const { by, ttl_ms } = merged.get(k);
          const next = (Number(current[i]) || 0) + by;
          values.set(k, next);
          return namespace.put(k, String(next), { expirationTtl: ttlSeconds(ttl_ms) });
        }),
      );
      return ops.map((op) => values.get(op.key));
    },
    async get(keys) {
      if (!Array.isArray(keys)) return namespace.get(keys);
      return Promise.all(keys.map((k) => namespace.get(k)));
    },
    async set(ops, value, options) {
      if (!Array.isArray(ops)) {
        const text = typeof value === "string" ? value : JSON.stringify(value);
        const ttl = options?.ttl;
        await namespace.put(
          ops,
          text,
          ttl != null ? { expirationTtl: ttlSeconds(ttl * 1000) } : {},
        );
        return;
      }
      await Promise.all(
        ops.map((op) =>
          namespace.put(op.key, String(op.value), { expirationTtl: ttlSeconds(op.ttl_ms) }),
        ),
      );
    },
    async delete(key) {
      await namespace.delete(key);
    },
    close() {},
  };
}
