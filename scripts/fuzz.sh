#!/usr/bin/env bash
# npm run fuzz: runs every cargo-fuzz target (fuzz/fuzz_targets/) for FUZZ_SECONDS (default 60)
# each on the nightly toolchain, starting from the committed corpus fuzz/corpus/<target>/.
#   bash scripts/fuzz.sh [--smoke] [target ...]
# --smoke (npm test): about 5 s per target (FUZZ_SMOKE_SECONDS), no sanitizer. Installs cargo-fuzz when it is
# missing; without a nightly toolchain it prints why and exits 0 (skipped, not failed).
# New inputs libFuzzer finds go to fuzz/target/corpus-new/<target>/ (the committed corpus is
# never modified here); a failing input is saved in fuzz/artifacts/<target>/ and fails the run.
# Replay one: cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=0
targets=()
for arg in "$@"; do
  case "$arg" in
    --smoke) smoke=1 ;;
    -*)
      echo "usage: $0 [--smoke] [target ...]" >&2
      exit 2
      ;;
    *) targets+=("$arg") ;;
  esac
done
# The smoke run builds without AddressSanitizer (`-s none`): its first build is what CI pays,
# and the invariants, the panic check and libFuzzer's memory limits need no sanitizer.
if ((smoke)); then
  seconds=${FUZZ_SMOKE_SECONDS:-5}
  sanitizer=(-s none)
else
  seconds=${FUZZ_SECONDS:-60}
  sanitizer=()
fi
if ((${#targets[@]} == 0)); then
  for f in fuzz/fuzz_targets/*.rs; do targets+=("$(basename "$f" .rs)"); done
fi

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: SKIPPED: no nightly toolchain (rustup toolchain install nightly); cargo-fuzz needs one"
  exit 0
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz (first run only)"
  cargo install cargo-fuzz
fi

# Bounds every run enforces: a single allocation over 256 MiB or a resident set over 2 GiB
# is a failure (the decoders' documented caps are 16 MiB per line, event and message), as is
# one input taking over 60 s.
limits=(-rss_limit_mb=2048 -malloc_limit_mb=256 -timeout=60)

start=$(date +%s)
cargo +nightly fuzz build "${sanitizer[@]}"
echo "fuzz: built ${#targets[@]} targets in $(($(date +%s) - start)) s"

logs=fuzz/target/fuzz-logs
mkdir -p "$logs"
failed=()
for t in "${targets[@]}"; do
  work=fuzz/target/corpus-new/$t
  mkdir -p "$work" "fuzz/artifacts/$t"
  if cargo +nightly fuzz run "${sanitizer[@]}" "$t" "$work" "fuzz/corpus/$t" -- \
    -max_total_time="$seconds" -print_final_stats=1 "${limits[@]}" \
    >"$logs/$t.log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed+=("$t")
  fi
  # libFuzzer's last status line (executions, coverage, corpus, exec/s, rss) and its run count.
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$logs/$t.log" | tail -1 || true)
  runs=$(grep -E '^stat::number_of_executed_units' "$logs/$t.log" | awk '{print $2}' || true)
  echo "fuzz $t: $status, ${runs:-?} executions in ${seconds} s; ${done_line:-no final stats (see $logs/$t.log)}"
  if [[ $status == FAILED ]]; then
    grep -E 'panicked at|ERROR: libFuzzer|SUMMARY|Test unit written' "$logs/$t.log" | head -5 || true
  fi
done

if ((${#failed[@]})); then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]} (logs in $logs, inputs in fuzz/artifacts/)"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets passed"
