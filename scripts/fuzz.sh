#!/usr/bin/env bash
# Fuzzes every decoder of what a peer, a file or a user wrote (MindAlphaFuzz's targets) with libFuzzer and
# AddressSanitizer, each from its corpus in Tests/Fuzz/corpus/<target>/, and fails on the first crash, leak or
# hang (a new crash input is left as crash-* in the working corpus: copy it into the corpus as a regression).
#   scripts/fuzz.sh [TARGET...]     FUZZ_RUNS (default 1000000) runs, or FUZZ_SECONDS (default 120) each
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${FUZZ_RUNS:-1000000}
seconds=${FUZZ_SECONDS:-120}
scratch="$here/.build-fuzz"
echo "== building the harness (-sanitize=fuzzer,address; the first build takes several minutes)"
swift build -c release --package-path "$here/Tests/Fuzz" --scratch-path "$scratch" \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library >/dev/null
bin="$scratch/release/mindalpha-fuzz"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(request-frames response-frames flatbuffers consul-health agent-http arguments repl-lines report)
failed=0
for target in "${targets[@]}"; do
  work="$scratch/corpus/$target"
  mkdir -p "$work"
  cp -n "$here/Tests/Fuzz/corpus/$target/"* "$work/" 2>/dev/null || true
  echo "== $target: up to $runs runs or ${seconds}s"
  if MINDALPHA_FUZZ_TARGET="$target" "$bin" "$work" -runs="$runs" -max_total_time="$seconds" -timeout=10 \
       -rss_limit_mb=2048 -artifact_prefix="$scratch/crash-$target-" -print_final_stats=1 2>"$scratch/$target.log"; then
    grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|Done [0-9]+ runs" "$scratch/$target.log" | tr '\n' ' '; echo
  else
    echo "fuzz: $target FAILED — see $scratch/$target.log and $scratch/crash-$target-*" >&2
    tail -30 "$scratch/$target.log" >&2
    failed=1
  fi
done
exit $failed
