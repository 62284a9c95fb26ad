// The `redis_*` options in the browser/Deno and workerd entries: an https:// URL is an
// Upstash REST endpoint (fetch only); redis:// needs TCP sockets, which Deno has (node:net)
// and Workers and browsers do not.
import { redisStore } from "./redis.js";
import { upstashStore } from "./upstash.js";

export function hostRedis(options, { tcp = true } = {}) {
  if (typeof options.url === "string" && /^https:/i.test(options.url)) {
    return upstashStore({ url: options.url, token: options.password });
  }
  if (tcp && (globalThis.Deno?.version || globalThis.process?.versions?.node)) {
    return redisStore(options);
  }
  throw new TypeError(
    "this runtime has no TCP sockets: use an https:// Upstash REST URL (redis_url) or pass a store as `state`",
  );
}
