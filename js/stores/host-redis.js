// The `redis_*` options in the browser/Deno entry: an https:// URL is an Upstash REST endpoint
// (fetch only); redis:// needs TCP sockets, which Deno has (node:net) and browsers do not.
import { redisStore } from "./redis.js";
import { redisOverFetch } from "./fetch-only.js";

export function hostRedis(options) {
  if (typeof options.url === "string" && /^https:/i.test(options.url)) {
    return redisOverFetch(options);
  }
  if (globalThis.Deno?.version || globalThis.process?.versions?.node) return redisStore(options);
  return redisOverFetch(options);
}
