#!/usr/bin/env bash
# npm run demo: builds the package on first use (fresh clone), then runs the demo against a
# loopback mock provider. Set OPENAI_API_KEY to add one real gpt-4o-mini call at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f dist/wasm/llmux_bg.wasm ]; then
  echo "==> first run: installing the toolchain and building dist/wasm (a few minutes, once)"
  bash scripts/setup.sh
  npm run build --silent
fi

exec node examples/demo/demo.mjs "$@"
