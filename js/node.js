// Node entry: Node 20's fetch cannot load file: URLs, so the wasm bytes are read from disk.
import { readFileSync } from "node:fs";
import { initSync, RouterCore, version } from "../dist/wasm/llmux.js";
import { defineRouter } from "./router.js";
import { redisStore } from "./stores/redis.js";

initSync({ module: readFileSync(new URL("../dist/wasm/llmux_bg.wasm", import.meta.url)) });

export const Router = defineRouter(RouterCore, { redis: redisStore });
export { version };
export * from "./errors.js";
export { redisStore } from "./stores/redis.js";
export { upstashStore } from "./stores/upstash.js";
export { workersKvStore } from "./stores/workers-kv.js";
export { durableObjectStore, LlmuxStateObject } from "./stores/durable-object.js";
export { denoKvStore } from "./stores/deno-kv.js";
