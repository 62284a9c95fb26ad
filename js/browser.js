// Browser and Deno entry: the wasm file is fetched from next to the module (top-level await).
// Redis over TCP works in Deno (node:net); browsers use an https:// Upstash REST URL.
import init, { RouterCore, version } from "../dist/wasm/llmux.js";
import { defineRouter } from "./router.js";
import { hostRedis } from "./stores/host-redis.js";

await init({ module_or_path: new URL("../dist/wasm/llmux_bg.wasm", import.meta.url) });

export const Router = defineRouter(RouterCore, { redis: hostRedis });
export { version };
export * from "./errors.js";
export { redisStore } from "./stores/redis.js";
export { upstashStore } from "./stores/upstash.js";
export { workersKvStore } from "./stores/workers-kv.js";
export { durableObjectStore, LlmuxStateObject } from "./stores/durable-object.js";
export { denoKvStore } from "./stores/deno-kv.js";
