#!/usr/bin/env node
// npm run size: what an app downloads for `import { Router } from "llmux"` — the wasm module
// plus every JS module the entry loads statically — raw and gzip -9, per file, and checked
// against the budget in scripts/size-budget.json (exit 1 when over). `--json` prints the figures.
//
// The JS is counted per entry (js/browser.js, js/node.js, js/workerd.js): each file the entry
// reaches through static `import … from` / `export … from`, gzipped one by one (as an unbundled
// download is served); a bundler's minified output is smaller.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const budget = JSON.parse(readFileSync(join(root, "scripts", "size-budget.json"), "utf8"));
const gz = (buf) => gzipSync(buf, { level: 9 }).length;

/** Files reached from `entry` by static relative imports (bare specifiers are the host's). */
function closure(entry) {
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    const re = /(?:^|\n)\s*(?:import|export)\s+(?:[^'";]*?\sfrom\s+)?["'](\.{1,2}\/[^"']+)["']/g;
    for (const m of text.matchAll(re)) {
      const target = resolve(dirname(file), m[1]);
      if (target.endsWith(".js")) visit(target);
    }
  };
  visit(resolve(root, entry));
  return [...seen];
}

const wasmBytes = readFileSync(join(root, "dist", "wasm", "llmux_bg.wasm"));
const wasm = { raw: wasmBytes.length, gzip: gz(wasmBytes) };
const entries = {};
for (const entry of ["js/browser.js", "js/node.js", "js/workerd.js"]) {
  const files = closure(entry).map((f) => {
    const buf = readFileSync(f);
    return { file: relative(root, f), raw: buf.length, gzip: gz(buf) };
  });
  const js = files.reduce((a, f) => ({ raw: a.raw + f.raw, gzip: a.gzip + f.gzip }), {
    raw: 0,
    gzip: 0,
  });
  entries[entry] = { files, js, total: { raw: wasm.raw + js.raw, gzip: wasm.gzip + js.gzip } };
}

const worst = Math.max(...Object.values(entries).map((e) => e.total.gzip));
const over = worst > budget.max_gzip_bytes;
if (process.argv.includes("--json")) {
  console.log(JSON.stringify({ budget, wasm, entries, worst, over }, null, 2));
} else {
  const kb = (n) => `${(n / 1024).toFixed(1)} KiB`.padStart(10);
  console.log(`dist/wasm/llmux_bg.wasm   raw ${kb(wasm.raw)}   gzip ${kb(wasm.gzip)}`);
  for (const [entry, e] of Object.entries(entries)) {
    console.log(
      `${entry.padEnd(24)}  JS: ${e.files.length} files, raw ${kb(e.js.raw)}   gzip ${kb(e.js.gzip)}   ` +
        `wasm + JS gzip ${kb(e.total.gzip)}`,
    );
  }
  console.log(
    `budget: ${kb(budget.max_gzip_bytes)} gzipped (target ${kb(budget.target_gzip_bytes).trim()}); ` +
      `largest entry ${kb(worst).trim()}: ${over ? "OVER BUDGET" : "ok"}`,
  );
}
process.exit(over ? 1 : 0);
