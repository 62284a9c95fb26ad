// `llmux/wasm`: bring your own wasm. Nothing is loaded at import time; call `init(source)` once
// with the compiled module (`WebAssembly.Module`), its bytes, a URL or a `Response`, or
// `initSync(moduleOrBytes)`, then use `Router` (a live binding, set by init). For hosts the
// default entry cannot serve: a bundler that emits the .wasm as an asset URL, a platform that
// hands you the module its own way, or an app that wants to choose when the compile happens.
import initAsync, {
  initSync as initWasmSync,
  RouterCore,
  assembleChunks,
} from "../dist/wasm/llmux.js";
import { defineRouter } from "./router.js";
import { defineChunkBuilder } from "./stream.js";
import { redisOverFetch } from "./stores/fetch-only.js";

/** The Router class, once `init` or `initSync` has run (undefined before). */
export let Router;
/** LiteLLM's `stream_chunk_builder`, once `init` or `initSync` has run. */
export let streamChunkBuilder;
export let stream_chunk_builder;

let pending;

function define() {
  if (!Router) {
    Router = defineRouter(RouterCore, { redis: redisOverFetch, assembleChunks });
    streamChunkBuilder = defineChunkBuilder(assembleChunks);
    stream_chunk_builder = streamChunkBuilder;
  }
  return { Router, streamChunkBuilder };
}

/**
 * Instantiates the wasm module once (later calls return the same result). `source`: a
 * `WebAssembly.Module`, the `.wasm` bytes (`ArrayBuffer`, typed array), a `URL` or string URL,
 * a `Response` or a Promise of one; omitted, the `.wasm` next to this package's glue is fetched.
 */
export function init(source) {
  pending ??= (async () => {
    const input = source === undefined ? undefined : { module_or_path: await source };
    await initAsync(input);
    return define();
  })();
  return pending;
}

/** Synchronous init from a `WebAssembly.Module` or the `.wasm` bytes. */
export function initSync(source) {
  if (Router) return { Router, streamChunkBuilder };
  initWasmSync({ module: source });
  return define();
}

/** The crate version (callable once `init` or `initSync` has run). */
export { version } from "../dist/wasm/llmux.js";
export { redisOverFetch as redisStore } from "./stores/fetch-only.js";
export * from "./errors.js";
export { workersKvCache } from "./stores/workers-kv-cache.js";
export { upstashStore } from "./stores/upstash.js";
export { workersKvStore } from "./stores/workers-kv.js";
export { durableObjectStore, LlmuxStateObject } from "./stores/durable-object.js";
export { denoKvStore } from "./stores/deno-kv.js";
