// Browser and Deno entry: the wasm file is fetched from next to the module (top-level await).
import init, { RouterCore, assembleChunks, version } from "../dist/wasm/llmux.js";
import { defineRouter } from "./router.js";
import { defineChunkBuilder } from "./stream.js";

await init({ module_or_path: new URL("../dist/wasm/llmux_bg.wasm", import.meta.url) });

export const Router = defineRouter(RouterCore);
/** LiteLLM's `stream_chunk_builder`: a stream's chunks -> the full completion. */
export const streamChunkBuilder = defineChunkBuilder(assembleChunks);
export const stream_chunk_builder = streamChunkBuilder;
export { version };
export * from "./errors.js";
export { workersKvCache } from "./stores/workers-kv-cache.js";
