// Deno KV as a shared-state store: `Deno.openKv(path)` (a local SQLite file shared by the
// processes that open it, or Deno Deploy's KV). Counters are updated with optimistic
// transactions (check + set, retried on conflict), so concurrent increments are exact.
// Values carry their own expiry (`exp`, epoch ms) and are also written with `expireIn`.

const ROOT = "llmux";
/** Deno KV's getMany takes at most 10 keys. */
const CHUNK = 10;
const MAX_ATTEMPTS = 20;

function chunks(items, size) {
  const out = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const live = (entry, now) =>
  entry.value && typeof entry.value === "object" && entry.value.exp > now ? entry.value : null;

/**
 * A StateStore over Deno KV. `kv`: an open `Deno.Kv`, or a path (or nothing: Deno's default
 * database) to open with `Deno.openKv` on first use.
 */
export function denoKvStore(kv) {
  let opened = null;
  const db = () => {
    if (kv && typeof kv === "object") return Promise.resolve(kv);
    if (!globalThis.Deno?.openKv) {
      return Promise.reject(
        new Error("deno kv: Deno.openKv is not available (run with --unstable-kv)"),
      );
    }
    opened ??= globalThis.Deno.openKv(kv);
    return opened;
  };

  async function incrChunk(kvdb, ops) {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = Date.now();
      const entries = await kvdb.getMany(ops.map((op) => [ROOT, op.key]));
      const tx = kvdb.atomic();
      const values = [];
      const pending = new Map();
      ops.forEach((op, i) => {
        const entry = entries[i];
        tx.check(entry);
        const prev = pending.get(op.key) ?? live(entry, now);
        const next = prev
          ? { n: prev.n + op.by, exp: prev.exp }
          : { n: op.by, exp: now + op.ttl_ms };
        pending.set(op.key, next);
        values.push(next.n);
      });
      for (const [key, value] of pending) {
        tx.set([ROOT, key], value, { expireIn: Math.max(1, value.exp - now) });
      }
      const res = await tx.commit();
      if (res.ok) return values;
    }
    throw new Error("deno kv: too many conflicting updates");
  }

  return {
    kind: "deno-kv",
    async incr(ops) {
      const kvdb = await db();
      const out = [];
      for (const part of chunks(ops, CHUNK)) out.push(...(await incrChunk(kvdb, part)));
      return out;
    },
    async get(keys) {
      const kvdb = await db();
      const single = !Array.isArray(keys);
      const list = single ? [keys] : keys;
      const now = Date.now();
      const out = [];
      for (const part of chunks(list, CHUNK)) {
        const entries = await kvdb.getMany(part.map((k) => [ROOT, k]));
        for (const e of entries) {
          const v = live(e, now);
          out.push(v === null ? null : "n" in v ? String(v.n) : v.v);
        }
      }
      return single ? out[0] : out;
    },
    async set(ops, value, options) {
      const kvdb = await db();
      const now = Date.now();
      const list = Array.isArray(ops)
        ? ops
        : [
            {
              key: ops,
              value: typeof value === "string" ? value : JSON.stringify(value),
              ttl_ms: options?.ttl != null ? options.ttl * 1000 : 100 * 365 * 86_400_000,
            },
          ];
      for (const part of chunks(list, CHUNK)) {
        const tx = kvdb.atomic();
        for (const op of part) {
          const ttl = Math.max(1, Math.ceil(op.ttl_ms));
          tx.set([ROOT, op.key], { v: String(op.value), exp: now + ttl }, { expireIn: ttl });
        }
        await tx.commit();
      }
    },
    async delete(key) {
      const kvdb = await db();
      await kvdb.delete([ROOT, key]);
    },
    close() {
      if (opened) opened.then((k) => k.close()).catch(() => {});
    },
  };
}
