#!/usr/bin/env bash
# npm run bench: the baseline benchmark (bench/run.mjs) — llmux against bare fetch on a loopback
# mock, in Node, Deno and workerd, with the streaming, cache-hit and gateway cases (router.fetch
# over HTTP in workerd and Node) — then the shared-state overhead (bench/state.mjs, starts a
# redis-server on loopback), then the cold start (bench/coldstart.mjs: fresh Node processes and
# fresh Miniflare instances). `npm run bench -- gateway` runs one part of bench/run.mjs only;
# `npm run bench -- coldstart` the cold start only.
# Builds the wasm only when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f dist/wasm/llmux_bg.wasm ]; then
  npm run build --silent
fi
if [ "${1:-}" = "coldstart" ]; then
  node bench/coldstart.mjs "${@:2}"
  exit 0
fi
node bench/run.mjs "$@"
# Shared-state overhead per strategy: no store, in-memory store, Redis on loopback; cold start.
if [ "$#" -eq 0 ]; then
  node bench/state.mjs
  node bench/coldstart.mjs
fi
