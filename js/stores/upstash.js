// Redis over Upstash's REST protocol: `POST <url>/pipeline` with a JSON array of commands and
// `Authorization: Bearer <token>`, answered by `[{ result } | { error }, …]`. Uses only
// `fetch`, so it works in Workers, Deno, Node and browsers. One StateStore call is one request.

const TIMEOUT_MS = 2_000;

/**
 * A StateStore (and response-cache KV) over an Upstash REST endpoint.
 * `{ url, token }`; the token may also be the URL's password (`https://:token@host`).
 */
export function upstashStore({ url, token, fetch: fetchFn } = {}) {
  let base;
  try {
    base = new URL(url);
  } catch {
    throw new TypeError("upstash url: not a URL like https://<name>.upstash.io");
  }
  const auth = token ?? (base.password ? decodeURIComponent(base.password) : undefined);
  base.username = "";
  base.password = "";
  const endpoint = `${base.origin}${base.pathname.replace(/\/$/, "")}/pipeline`;
  const doFetch = fetchFn ?? globalThis.fetch;

  async function pipeline(commands) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    let res;
    try {
      res = await doFetch(endpoint, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(auth ? { authorization: `Bearer ${auth}` } : {}),
        },
        body: JSON.stringify(commands.map((c) => c.map(String))),
        signal: controller.signal,
      });
    } catch (e) {
      throw new Error(`upstash: request to ${base.host} failed (${e?.name ?? "error"})`);
    } finally {
      clearTimeout(timer);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`upstash: ${base.host} answered HTTP ${res.status}`);
    }
    const replies = await res.json();
    if (!Array.isArray(replies) || replies.length !== commands.length) {
      throw new Error("upstash: malformed pipeline reply");
    }
    const failed = replies.find((r) => r && r.error);
    if (failed) throw new Error(`upstash: ${failed.error}`);
    return replies.map((r) => r.result);
  }

  const one = async (...args) => (await pipeline([args]))[0];

  return {
    kind: "upstash",
    async incr(ops) {
      // As Redis: SET key 0 PX ttl NX (expiry at creation), then INCRBY, in one pipeline.
      const commands = [];
      for (const op of ops) {
        commands.push(["SET", op.key, "0", "PX", Math.max(1, Math.ceil(op.ttl_ms)), "NX"]);
        commands.push(
          Number.isInteger(op.by) ? ["INCRBY", op.key, op.by] : ["INCRBYFLOAT", op.key, op.by],
        );
      }
      const replies = await pipeline(commands);
      return ops.map((_, i) => Number(replies[2 * i + 1]));
    },
    async get(keys) {
      if (Array.isArray(keys)) {
        if (keys.length === 0) return [];
        return one("MGET", ...keys);
      }
      return one("GET", keys);
    },
    async set(ops, value, options) {
      if (Array.isArray(ops)) {
        if (ops.length === 0) return;
        await pipeline(
          ops.map((op) => ["SET", op.key, op.value, "PX", Math.max(1, Math.ceil(op.ttl_ms))]),
        );
        return;
      }
      const text = typeof value === "string" ? value : JSON.stringify(value);
      const ttl = options?.ttl;
      await (ttl !== undefined && ttl !== null
        ? one("SET", ops, text, "PX", Math.max(1, Math.ceil(ttl * 1000)))
        : one("SET", ops, text));
    },
    async delete(key) {
      await one("DEL", key);
    },
    close() {},
  };
}
