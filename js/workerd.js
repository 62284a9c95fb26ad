// Cloudflare Workers (workerd) entry: the bundler imports the .wasm file as a compiled module.
import wasmModule from "../dist/wasm/llmux_bg.wasm";
import { initSync, RouterCore, assembleChunks, version } from "../dist/wasm/llmux.js";
import { defineRouter } from "./router.js";
import { defineChunkBuilder } from "./stream.js";

initSync({ module: wasmModule });

export const Router = defineRouter(RouterCore);
/** LiteLLM's `stream_chunk_builder`: a stream's chunks -> the full completion. */
export const streamChunkBuilder = defineChunkBuilder(assembleChunks);
export const stream_chunk_builder = streamChunkBuilder;
export { version };
export * from "./errors.js";
export { workersKvCache } from "./stores/workers-kv-cache.js";
