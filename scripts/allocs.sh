#!/usr/bin/env bash
# Heap allocations per request on each per-request path (target: 0), counted by scripts/refload/malloccount.c
# (LD_PRELOAD). Each path runs twice, for a short and a long load; the difference of the two counts over the
# difference of the requests leaves out start-up, connecting and the report.
#   scripts/allocs.sh [BINARY]   (make perf builds the release binary first)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$(realpath "${1:-$here/.build-release/release/mindalpha-pool}")
pool_bench="$(dirname "$bin")/pool-bench"
ref="$here/.build-refload"
mkdir -p "$ref"
for prog in refserver refclient; do
  [ -x "$ref/$prog" ] || cc -O2 -o "$ref/$prog" "$here/scripts/refload/$prog.c"
done
cc -O2 -shared -fPIC -o "$ref/malloccount.so" "$here/scripts/refload/malloccount.c"
count=$(mktemp)
trap 'rm -f "$count"; kill $srv 2>/dev/null || true' EXIT
srv=
counted() { : > "$count"; MALLOC_COUNT_FILE="$count" LD_PRELOAD="$ref/malloccount.so" "$@"; }
allocations() { grep -oE 'allocations=[0-9]+' "$count" | tail -1 | cut -d= -f2; }
per() { awk -v a1="$1" -v a2="$2" -v r1="$3" -v r2="$4" 'BEGIN { printf "%.3f", (a2 - a1) / (r2 - r1) }'; }

echo "== heap allocations per request (target: 0)"
port=17795
taskset -c 0 "$ref/refserver" -p $port -b 64 >/dev/null 2>&1 & srv=$!
sleep 0.3
declare -a a r
for n in 100000 300000; do
  counted taskset -c 1 "$bin" bench --target 127.0.0.1:$port --conns 30 --requests $n --json > /dev/null
  a+=("$(allocations)"); r+=("$n")
done
echo "bench closed loop (30 connections, 64-byte bodies), the whole process: $(per "${a[0]}" "${a[1]}" "${r[0]}" "${r[1]}") per request (${a[0]} for ${r[0]}, ${a[1]} for ${r[1]}; the report grows with the run)"
# The engine's own thread: every request's path (read, match, record, pick, write), without the report.
a=()
for n in 100000 300000; do
  MALLOC_COUNT_THREAD=pool-direct- counted taskset -c 1 "$bin" bench --target 127.0.0.1:$port --conns 30 --requests $n --json > /dev/null
  a+=("$(allocations)")
done
echo "bench closed loop, the direct engine's thread: $(per "${a[0]}" "${a[1]}" "${r[0]}" "${r[1]}") per request (${a[0]} for ${r[0]}, ${a[1]} for ${r[1]}: connects and once a second)"
a=(); r=()
for s in 2 5; do
  out=$(REF_PORT=$port REF_CONNS=30 REF_PAYLOAD=64 REF_SECONDS=$s counted taskset -c 1 "$pool_bench" closed-loop)
  rps=$(echo "$out" | grep -oE 'rps=[0-9.]+' | cut -d= -f2)
  a+=("$(allocations)"); r+=("$(awk -v x="$rps" -v s=$s 'BEGIN { printf "%d", x * s }')")
done
echo "pool-bench closed-loop (ConnectionPool alone): $(per "${a[0]}" "${a[1]}" "${r[0]}" "${r[1]}") per request"
kill $srv; wait $srv 2>/dev/null || true; srv=
for engine in direct nio; do
  a=(); r=()
  for s in 2 5; do
    : > "$count"
    MALLOC_COUNT_FILE="$count" LD_PRELOAD="$ref/malloccount.so" taskset -c 0 "$bin" serve --port $port --threads 1 --engine $engine \
      > /dev/null 2> "$count.err" & srv=$!
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
    taskset -c 1 "$ref/refclient" -p $port -c 30 -d $s -w 0 -P 64 > /dev/null
    kill -TERM $srv; wait $srv 2>/dev/null || true; srv=
    a+=("$(allocations)"); r+=("$(grep -oE 'answered [0-9]+' "$count.err" | grep -oE '[0-9]+')")
  done
  rm -f "$count.err"
  echo "serve --engine $engine: $(per "${a[0]}" "${a[1]}" "${r[0]}" "${r[1]}") per request"
done
