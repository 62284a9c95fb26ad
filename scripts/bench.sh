#!/usr/bin/env bash
# npm run bench: the baseline benchmark (bench/run.mjs) — llmux against bare fetch on a loopback
# mock, in Node, Deno and workerd, then the gateway (router.fetch over HTTP in workerd and Node).
# Builds the wasm only when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f dist/wasm/llmux_bg.wasm ]; then
  npm run build --silent
fi
exec node bench/run.mjs "$@"
