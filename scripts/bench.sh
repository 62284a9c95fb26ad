#!/usr/bin/env bash
# npm run bench: the baseline benchmark (bench/run.mjs) — llmux against bare fetch on a loopback
# mock, in Node, Deno and workerd, then the shared-state overhead (bench/state.mjs, starts a
# redis-server on loopback). Builds the wasm only when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f dist/wasm/llmux_bg.wasm ]; then
  npm run build --silent
fi
node bench/run.mjs
# Shared-state overhead per strategy: no store, in-memory store, Redis on loopback.
node bench/state.mjs
