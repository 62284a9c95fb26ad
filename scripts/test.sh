#!/usr/bin/env bash
# npm test: installs what is missing, builds, then runs every tier (DESIGN.md §4).
# Each runner's own summary line is printed unchanged; the first failing tier fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

tier() { printf '\n======== %s ========\n' "$*"; }

tier "setup"
bash scripts/setup.sh

tier "build"
npm run build --silent

tier "size budget: wasm + entry JS, gzipped (scripts/size-budget.json)"
node scripts/size.mjs

tier "lint: cargo fmt, clippy, prettier, tsc (the .d.ts, and tests/types against them)"
cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo clippy --target wasm32-unknown-unknown --all-targets -- -D warnings
npx prettier --check "js/**/*.js" "tests/**/*.mjs" "bench/**/*.mjs" "examples/**/*.{js,mjs,ts}" scripts/*.mjs
npx tsc -p tsconfig.json
npx tsc -p tests/types/tsconfig.json

tier "1. native: cargo test"
cargo test --all-targets

tier "2. wasm-bindgen-test in Node and headless Chromium"
bash tests/wasm/run.sh

tier "3a. end-to-end in Node (node:test)"
node --test --test-concurrency=1 tests/mock/ tests/js/node/ tests/js/providers/

tier "3b. end-to-end in Deno"
node tests/js/deno/run.mjs

tier "3c. end-to-end in workerd (Miniflare): the package, then every provider"
node --test tests/js/workerd/ tests/js/providers-workerd/

tier "3d. end-to-end in headless Chromium: the package, the dashboard page (gateway.ui)"
node --test tests/js/browser/

tier "3e. fault injection (Node + workerd) and soak"
node --test --test-concurrency=1 tests/js/faults/

tier "3f. shared state: redis-server + Node processes, Miniflare KV + Durable Object, Deno KV"
node --test --test-concurrency=1 tests/js/state/

tier "3g. gateway (router.fetch): handler; Node, Deno and workerd examples under the openai client; browser example in headless Chromium; dashboard JSON routes in Node and workerd"
node --test --test-concurrency=1 tests/js/gateway/

tier "4. packaging: npm pack from a clean checkout (prepack builds dist/), install, import in Node and Deno, subpaths"
node --test tests/js/pack/

tier "5. bundlers: esbuild, Vite and webpack 5 bundles making a routed call in headless Chromium"
node --test --test-concurrency=1 tests/js/bundlers/

tier "6. fuzz smoke: every cargo-fuzz target ~5 s (no sanitizer in the smoke build) from the committed corpus (nightly; skipped without it)"
bash scripts/fuzz.sh --smoke

tier "done"
echo "all tiers passed"
