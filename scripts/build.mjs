// npm run build: Rust -> wasm32 (release, size-optimised) -> wasm-bindgen --target web ->
// wasm-opt -Oz (npm binaryen) -> dist/wasm. Prints the raw and gzipped sizes.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist", "wasm");
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: "inherit" });

run("cargo", ["build", "--release", "--target", "wasm32-unknown-unknown", "--lib"]);
mkdirSync(out, { recursive: true });
const input = join(root, "target", "wasm32-unknown-unknown", "release", "llmux.wasm");
run("wasm-bindgen", [
  "--target",
  "web",
  "--out-dir",
  out,
  "--out-name",
  "llmux",
  "--no-typescript",
  input,
]);

const wasm = join(out, "llmux_bg.wasm");
const wasmOpt = join(root, "node_modules", ".bin", "wasm-opt");
if (!existsSync(wasmOpt)) {
  console.error("wasm-opt (npm binaryen) is missing: run `npm install` first");
  process.exit(1);
}
const before = statSync(wasm).size;
run(wasmOpt, ["-Oz", wasm, "-o", wasm]);
const bytes = readFileSync(wasm);
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(
  `llmux_bg.wasm: ${kib(bytes.length)} (${kib(gzipSync(bytes, { level: 9 }).length)} gzipped; ${kib(before)} before wasm-opt)`,
);
