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

# `npm run demo --ui` (npm keeps --ui as a config flag: npm_config_ui) or `npm run demo -- --ui`:
# the dashboard over live traffic instead of the scripted tour.
if [ "${npm_config_ui:-}" = "true" ] || [ "${1:-}" = "--ui" ]; then
  exec node examples/demo/dashboard.mjs
fi
exec node examples/demo/demo.mjs "$@"
