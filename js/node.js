// Node entry: Node 20's fetch cannot load file: URLs, so the wasm bytes are read from disk.
import { readFileSync } from "node:fs";
import { initSync, RouterCore, assembleChunks, version } from "../dist/wasm/llmux.js";
import { defineRouter } from "./router.js";
import { defineChunkBuilder } from "./stream.js";
import { redisStore } from "./stores/redis.js";

initSync({ module: readFileSync(new URL("../dist/wasm/llmux_bg.wasm", import.meta.url)) });

export const Router = defineRouter(RouterCore, { redis: redisStore, assembleChunks });
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
