// Browser and Deno entry: the wasm file is fetched from next to the module (top-level await).
// Redis over TCP works in Deno (node:net); browsers use an https:// Upstash REST URL.
import init, { RouterCore, assembleChunks, version } from "../dist/wasm/llmux.js";
import { defineRouter } from "./router.js";
import { defineChunkBuilder } from "./stream.js";
import { hostRedis } from "./stores/host-redis.js";

await init({ module_or_path: new URL("../dist/wasm/llmux_bg.wasm", import.meta.url) });

export const Router = defineRouter(RouterCore, { redis: hostRedis, assembleChunks });
/** LiteLLM's `stream_chunk_builder`: a stream's chunks -> the full completion. */
export const streamChunkBuilder = defineChunkBuilder(assembleChunks);
export const stream_chunk_builder = streamChunkBuilder;
export { redisStore } from "./stores/redis.js";
export { version };
export * from "./errors.js";
export { workersKvCache } from "./stores/workers-kv-cache.js";
export { upstashStore } from "./stores/upstash.js";
export { workersKvStore } from "./stores/workers-kv.js";
export { durableObjectStore, LlmuxStateObject } from "./stores/durable-object.js";
export { denoKvStore } from "./stores/deno-kv.js";
