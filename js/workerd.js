// Cloudflare Workers (workerd) entry: the bundler imports the .wasm file as a compiled module.
import wasmModule from "../dist/wasm/llmux_bg.wasm";
import { initSync, RouterCore, version } from "../dist/wasm/llmux.js";
import { defineRouter } from "./router.js";

initSync({ module: wasmModule });

export const Router = defineRouter(RouterCore);
export { version };
export * from "./errors.js";
export { workersKvCache } from "./stores/workers-kv-cache.js";
