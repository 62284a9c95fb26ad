// The gateway examples started as they ship, each on a loopback port, for the tests: Node
// (examples/node), Deno (examples/deno, a real `deno` process) and workerd (examples/
// cloudflare-worker through Miniflare). Each resolves to { url, close }.
import { spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

export const root = fileURLToPath(new URL("../../../", import.meta.url));

/** examples/node/server.mjs in this process (`import "llmux"` resolves to the package itself). */
export async function startNode(env) {
  const { start } = await import("../../../examples/node/server.mjs");
  return start({ port: 0, env });
}

/** examples/deno/main.js in a `deno run` child; resolves once it printed its URL. */
export async function startDeno(env) {
  const deno = path.join(root, "node_modules", ".bin", "deno");
  const child = spawn(
    deno,
    [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-env",
      "--config",
      "examples/deno/deno.json",
      "examples/deno/main.js",
    ],
    {
      cwd: root,
      stdio: ["ignore", "pipe", "inherit"],
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1", PORT: "0", ...env },
    },
  );
  const url = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`deno did not start: ${out}`)), 30_000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = /llmux gateway on (http:\/\/[^\s]+)\/v1/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`deno exited with ${code}: ${out}`));
    });
  });
  const close = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve(undefined);
      child.once("exit", () => resolve(undefined));
      child.kill("SIGTERM");
    });
  return { url, close };
}

/**
 * examples/cloudflare-worker/src/index.js in workerd. Miniflare does not bundle and workerd
 * resolves a bare `import "llmux"` next to the importer, so a module of that name re-exports the
 * package's workerd entry (what wrangler's bundler picks through the "workerd" condition).
 */
export async function startWorkerd(env, extra = {}) {
  const file = (rel) => path.join(root, rel);
  const js = (rel) => ({ type: "ESModule", path: file(rel), contents: readFileSync(file(rel)) });
  const modules = [
    js("examples/cloudflare-worker/src/index.js"),
    {
      type: "ESModule",
      path: file("examples/cloudflare-worker/src/llmux"),
      contents: 'export * from "../../../js/workerd.js";',
    },
    ...readdirSync(file("js"), { recursive: true })
      .filter((f) => f.endsWith(".js"))
      .map((f) => js(`js/${f}`)),
    js("dist/wasm/llmux.js"),
    { type: "CompiledWasm", path: file("dist/wasm/llmux_bg.wasm") },
  ];
  const mf = new Miniflare({
    modules,
    modulesRoot: root,
    compatibilityDate: "2026-04-01",
    bindings: env,
    host: "127.0.0.1",
    port: 0,
    ...extra,
  });
  const url = (await mf.ready).origin;
  return { url, mf, close: () => mf.dispose() };
}
