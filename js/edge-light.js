// Vercel Edge (the `edge-light` condition): like workerd, it refuses to compile wasm from bytes;
// its bundler hands over the compiled module for a `.wasm?module` import.
import wasmModule from "../dist/wasm/llmux_bg.wasm?module";
import { initSync, RouterCore, assembleChunks, version } from "../dist/wasm/llmux.js";
import { defineRouter } from "./router.js";
import { defineChunkBuilder } from "./stream.js";
import { redisOverFetch } from "./stores/fetch-only.js";

initSync({ module: wasmModule });

export const Router = defineRouter(RouterCore, { redis: redisOverFetch, assembleChunks });
/** LiteLLM's `stream_chunk_builder`: a stream's chunks -> the full completion. */
export const streamChunkBuilder = defineChunkBuilder(assembleChunks);
export const stream_chunk_builder = streamChunkBuilder;
// Redis over TCP is unavailable here: `redisStore` takes https:// Upstash REST URLs only.
export { redisOverFetch as redisStore } from "./stores/fetch-only.js";
export { version };
export * from "./errors.js";
export { workersKvCache } from "./stores/workers-kv-cache.js";
export { upstashStore } from "./stores/upstash.js";
export { workersKvStore } from "./stores/workers-kv.js";
export { durableObjectStore, LlmuxStateObject } from "./stores/durable-object.js";
export { denoKvStore } from "./stores/deno-kv.js";
