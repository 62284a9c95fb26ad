// Browser and Deno entry: the wasm file is fetched from next to the module (top-level await).
import init, { RouterCore, version } from "../dist/wasm/llmux.js";
import { defineRouter } from "./router.js";

await init({ module_or_path: new URL("../dist/wasm/llmux_bg.wasm", import.meta.url) });

export const Router = defineRouter(RouterCore);
export { version };
export * from "./errors.js";
export { workersKvCache } from "./stores/workers-kv-cache.js";
