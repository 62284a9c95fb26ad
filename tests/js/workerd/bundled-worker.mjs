// A Worker bundled by esbuild with its npm dependencies (workerd resolves no bare
// specifiers), its .wasm kept as a CompiledWasm module, run in Miniflare: for the tier 3c
// tests of the subpaths that take an optional peer (llmux/otel, llmux/ai-sdk).
import { copyFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Miniflare } from "miniflare";

const root = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * Bundles `worker` (a file next to this one) into `target/<name>/js/worker.js` and starts it
 * with `bindings`; resolves to the ready Miniflare (dispose it). The bundle keeps workerd.js's
 * `../dist/wasm/llmux_bg.wasm` import, so that path is laid out beside it.
 */
export async function startBundledWorker(worker, name, bindings) {
  const out = path.join(root, "target", name);
  mkdirSync(path.join(out, "dist", "wasm"), { recursive: true });
  copyFileSync(
    path.join(root, "dist", "wasm", "llmux_bg.wasm"),
    path.join(out, "dist", "wasm", "llmux_bg.wasm"),
  );
  await build({
    entryPoints: [fileURLToPath(new URL(worker, import.meta.url))],
    bundle: true,
    format: "esm",
    platform: "browser",
    conditions: ["workerd", "worker", "browser"],
    external: ["*.wasm"],
    outfile: path.join(out, "js", "worker.js"),
    logLevel: "error",
  });
  const mf = new Miniflare({
    modules: true,
    modulesRoot: out,
    scriptPath: path.join(out, "js", "worker.js"),
    modulesRules: [
      { type: "ESModule", include: ["**/*.js"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2026-04-01",
    bindings,
  });
  await mf.ready;
  return mf;
}
