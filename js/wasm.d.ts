// `llmux/wasm`: the default entry's API, with the wasm instantiated by the caller.
import type { Router as RouterClass, streamChunkBuilder as chunkBuilder } from "./index.js";

export * from "./index.js";

/** A compiled module, its bytes, a URL, a `Response`, or a Promise of one of these. */
export type WasmSource =
  | WebAssembly.Module
  | BufferSource
  | URL
  | string
  | Response
  | Promise<WebAssembly.Module | BufferSource | URL | string | Response>;

export interface Initialized {
  Router: typeof RouterClass;
  streamChunkBuilder: typeof chunkBuilder;
}

/** Instantiates the wasm once; omitted, the `.wasm` beside the package's glue is fetched. */
export declare function init(source?: WasmSource): Promise<Initialized>;
/** Synchronous init from a compiled module or the `.wasm` bytes. */
export declare function initSync(source: WebAssembly.Module | BufferSource): Initialized;
