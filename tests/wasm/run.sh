#!/usr/bin/env bash
# Tier 2: tests/wasm_host.rs under wasm-bindgen-test, in Node and in headless Chromium,
# against the loopback mock provider. Prints each runner's output unchanged; fails if a
# runner fails or runs no tests.
set -euo pipefail
cd "$(dirname "$0")/../.."

work="$(mktemp -d)"
mock_pid=""
cleanup() {
  if [[ -n "$mock_pid" ]] && kill -0 "$mock_pid" 2>/dev/null; then
    kill "$mock_pid" 2>/dev/null || true
    wait "$mock_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# The mock provider on an ephemeral loopback port.
node tests/mock/server.mjs --port 0 >"$work/mock.log" 2>&1 &
mock_pid=$!
LLMUX_MOCK_URL=""
for _ in $(seq 1 100); do
  LLMUX_MOCK_URL="$(sed -n 's/^MOCK_URL=//p' "$work/mock.log" | head -n 1)"
  [[ -n "$LLMUX_MOCK_URL" ]] && break
  if ! kill -0 "$mock_pid" 2>/dev/null; then break; fi
  sleep 0.1
done
if [[ -z "$LLMUX_MOCK_URL" ]]; then
  echo "tests/wasm/run.sh: the mock server did not start:" >&2
  cat "$work/mock.log" >&2
  exit 1
fi

# A loopback port with no listener (bound, then released), for the connection-refused test.
refused_port="$(node -e '
  const s = require("node:net").createServer();
  s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => console.log(port)); });
')"
LLMUX_REFUSED_URL="http://127.0.0.1:${refused_port}"

# Both are read at compile time (option_env!) by tests/wasm_host.rs.
export LLMUX_MOCK_URL LLMUX_REFUSED_URL

# Runs one runner, printing its output unchanged; fails unless it passed at least one test.
run() {
  local label="$1"
  shift
  local log="$work/$label.log"
  "$@" 2>&1 | tee "$log"
  local passed
  passed="$(sed -n 's/^test result: ok\. \([0-9][0-9]*\) passed;.*/\1/p' "$log" | tail -n 1)"
  if [[ -z "$passed" || "$passed" -eq 0 ]]; then
    echo "tests/wasm/run.sh: the $label runner ran no tests (or reported no passing result)" >&2
    exit 1
  fi
}

# wasm-bindgen's own test runner (installed with wasm-bindgen-cli, same version) as cargo's
# runner for the wasm target: Node by default, headless Chromium (Debian's chromedriver on
# PATH) with WASM_BINDGEN_USE_BROWSER. No wasm-pack, so nothing else to install.
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
run node cargo test --target wasm32-unknown-unknown --test wasm_host
WASM_BINDGEN_USE_BROWSER=1 run chrome \
  cargo test --target wasm32-unknown-unknown --test wasm_host
