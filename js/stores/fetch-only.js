// The `redis_*` options in the workerd entry: Workers have no TCP sockets here, so an https://
// URL is an Upstash REST endpoint (fetch only) and anything else fails saying why. This
// module must not import ./redis.js (workerd cannot load its node:net import).
import { upstashStore } from "./upstash.js";

export function redisOverFetch(options) {
  if (typeof options.url === "string" && /^https:/i.test(options.url)) {
    if (options.username)
      throw new TypeError("an Upstash REST URL takes a token (the password), not a username");
    return upstashStore({ url: options.url, token: options.password });
  }
  throw new TypeError(
    "this runtime has no TCP sockets: use an https:// Upstash REST URL (redis_url) or pass a store as `state`",
  );
}
