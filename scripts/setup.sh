#!/usr/bin/env bash
# Installs what the build and the test tiers need, only when missing (idempotent):
# the wasm32 target, wasm-bindgen-cli pinned to Cargo.lock's wasm-bindgen (its test runner
# runs tier 2; no wasm-pack),
# npm dependencies, and Debian's chromium + chromium-driver and redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# The CLI must equal the wasm-bindgen version in Cargo.lock exactly (its schema is versioned).
want=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  step "cargo install wasm-bindgen-cli $want (found: ${have:-none})"
  # No --locked: one locked dependency version is missing from the registry snapshot here.
  cargo install wasm-bindgen-cli --version "$want"
fi


# A stamp newer than package.json and package-lock.json means the install is current.
stamp=node_modules/.llmux-installed
if [ ! -f "$stamp" ] || [ package.json -nt "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  step "npm install"
  npm install --no-audit --no-fund
  touch "$stamp"
fi

apt_missing=()
command -v chromium >/dev/null 2>&1 || apt_missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || apt_missing+=(chromium-driver)
# The shared-state tests start a real redis-server on a loopback port.
command -v redis-server >/dev/null 2>&1 || apt_missing+=(redis-server)
if [ ${#apt_missing[@]} -gt 0 ]; then
  step "apt-get install ${apt_missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${apt_missing[@]}"
fi

# Debian's binaryen is too old and breaks the module: the build uses node_modules/.bin/wasm-opt.
if command -v wasm-opt >/dev/null 2>&1 && ! wasm-opt --version | grep -q "version 1[2-9][0-9]"; then
  echo "warning: $(command -v wasm-opt) is older than binaryen 120; npm run build uses node_modules/.bin/wasm-opt instead" >&2
fi
