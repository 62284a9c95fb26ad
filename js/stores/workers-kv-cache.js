// A `cache` store over a Cloudflare Workers KV namespace binding:
//   new Router({ ..., cache_responses: true, cache: workersKvCache(env.LLM_CACHE) })
// Values are the router's entry JSON, which carries its own expiry. KV refuses an
// `expirationTtl` under 60 s, so shorter TTLs are stored for 60 s and the router ignores
// the entry once its embedded expiry passes. KV is eventually consistent across locations:
// a fresh answer may take up to a minute to be visible elsewhere.

import { ConfigError } from "../errors.js";

/** KV's smallest accepted `expirationTtl`, in seconds. */
const KV_MIN_TTL = 60;

/** @param {{ get: Function, put: Function, delete: Function }} namespace a KV binding */
export function workersKvCache(namespace) {
  if (
    namespace === null ||
    typeof namespace !== "object" ||
    typeof namespace.get !== "function" ||
    typeof namespace.put !== "function"
  ) {
    throw new ConfigError("cache: workersKvCache() needs a Workers KV namespace binding", {
      field: "cache",
    });
  }
  return {
    get: (key) => namespace.get(key),
    set: (key, value, options) => {
      const ttl = options?.ttl;
      return typeof ttl === "number" && ttl > 0
        ? namespace.put(key, value, { expirationTtl: Math.max(KV_MIN_TTL, Math.ceil(ttl)) })
        : namespace.put(key, value);
    },
    delete: (key) => (typeof namespace.delete === "function" ? namespace.delete(key) : undefined),
  };
}
