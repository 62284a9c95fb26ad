// Cloudflare Workers (workerd) entry: the bundler imports the .wasm file as a compiled module.
// No TCP here: `redis_url` must be an https:// Upstash REST URL (node:net is never imported).
import wasmModule from "../dist/wasm/llmux_bg.wasm";
import { initSync, RouterCore, version } from "../dist/wasm/llmux.js";
import { defineRouter } from "./router.js";
import { redisOverFetch } from "./stores/fetch-only.js";

initSync({ module: wasmModule });

export const Router = defineRouter(RouterCore, { redis: redisOverFetch });
export { version };
export * from "./errors.js";
// Redis over TCP is unavailable here: `redisStore` takes https:// Upstash REST URLs only.
export { redisOverFetch as redisStore } from "./stores/fetch-only.js";
export { upstashStore } from "./stores/upstash.js";
export { workersKvStore } from "./stores/workers-kv.js";
export { durableObjectStore, LlmuxStateObject } from "./stores/durable-object.js";
export { denoKvStore } from "./stores/deno-kv.js";
