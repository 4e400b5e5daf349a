#!/usr/bin/env bash
# Speed figures, each a ratio to the project's C reference (scripts/refload) measured in the same run.
#   scripts/perf.sh [BINARY]   (make perf builds the release binary first)
# PERF_ROUNDS and PERF_SECONDS set the rounds (median taken) and seconds per round.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "$here" && realpath "${1:-.build-release/release/mindalpha-pool}")
refload="$here/scripts/refload"
rounds=${PERF_ROUNDS:-5}
seconds=${PERF_SECONDS:-5}
pool_bench="$(dirname "$bin")/pool-bench"
# Servers started in the background, stopped however the script ends (a failed step must not leave one holding
# its port for the next run).
servers=()
stop_servers() { for p in "${servers[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; servers=(); }
trap stop_servers EXIT
# Fails the run when the server just started has already exited (its port taken, say).
started() { kill -0 "${servers[-1]}" 2>/dev/null || { echo "perf: $1 did not start (is its port taken?)" >&2; exit 1; }; }
# The run's rate from a bench --json report on stdin: its top-level "rps" (each agent's entry has one too).
rps() { python3 -c 'import json,sys; print(json.load(sys.stdin)["rps"])'; }
[ -x "$bin" ] || { echo "perf: $bin is missing; run make perf (or make release) first" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "perf: needs 2 cores (server on cpu0, client on cpu1)" >&2; exit 1; }

echo "== serve vs refserver: C refclient, 30 connections, 64-byte requests and answers, server pinned to cpu0"
echo "   the direct engine (the default: per thread one epoll loop answering in place) (target: ratio >= 0.8)"
bash "$refload/compare.sh" server -c 30 -P 64 -d "$seconds" -n "$rounds" -- "$bin" serve --port 17777 --threads 1 --engine direct
echo "   the SwiftNIO engine (what fault injection runs on)"
bash "$refload/compare.sh" server -c 30 -P 64 -d "$seconds" -n "$rounds" -- "$bin" serve --port 17777 --threads 1 --engine nio

echo
echo "== pool: closed loop through ConnectionPool.submit (the embeddable API), 30 connections to one instance, one request"
echo "   in flight on each, 64-byte requests, vs the C refclient"
echo "   on the direct engine (one epoll loop) (target: ratio >= 0.8)"
bash "$refload/compare.sh" client -c 30 -P 64 -d "$seconds" -n "$rounds" -- "$pool_bench" closed-loop --engine direct
echo "   on the SwiftNIO engine (ConnectionPool's default), one event loop"
bash "$refload/compare.sh" client -c 30 -P 64 -d "$seconds" -n "$rounds" -- "$pool_bench" closed-loop --engine nio
echo "   the same load from a bare SwiftNIO handler (no pool: the ceiling for any SwiftNIO client on this machine)"
bash "$refload/compare.sh" client -c 30 -P 64 -d "$seconds" -n "$rounds" -- "$pool_bench" bare

echo
echo "== bench: the same closed loop through the whole command (HDR recording, per-instance accounting, report)"
echo "   on the direct engine (the default: one epoll loop owning its connections) (target: ratio >= 0.8)"
bash "$refload/compare.sh" client -c 30 -P 64 -d "$seconds" -n "$rounds" -- bash -c \
  '"$0" bench --target 127.0.0.1:$REF_PORT --conns $REF_CONNS --payload-size $REF_PAYLOAD --duration ${REF_SECONDS}s --warmup 500ms --json' "$bin"
echo "   on the SwiftNIO engine (--engine nio, what an embedding program's ConnectionPool has by default)"
bash "$refload/compare.sh" client -c 30 -P 64 -d "$seconds" -n "$rounds" -- bash -c \
  '"$0" bench --engine nio --target 127.0.0.1:$REF_PORT --conns $REF_CONNS --payload-size $REF_PAYLOAD --duration ${REF_SECONDS}s --warmup 500ms --json' "$bin"

echo
echo "== bench open loop at 50% of its closed-loop rate (target: achieved within 1% of the target; corrected p99 shown)"
taskset -c 0 "$here/.build-refload/refserver" -p 17779 -b 64 >/dev/null 2>&1 & servers+=($!)
sleep 0.3
started "refserver on port 17779"
closed=$(taskset -c 1 "$bin" bench --target 127.0.0.1:17779 --duration 3s --warmup 500ms --json | rps)
target=$(awk -v r="$closed" 'BEGIN { printf "%d", r / 2 }')
taskset -c 1 "$bin" bench --target 127.0.0.1:17779 --rate "$target" --duration "${seconds}s" --warmup 500ms --json \
  | python3 -c 'import json,sys; r=json.load(sys.stdin); l=r["latency"]; print("closed_rps=%s target_rps=%d achieved_rps=%.1f ratio=%.4f corrected_us p50=%s p90=%s p99=%s p99_uncorrected_us=%s" % (sys.argv[1], r["target_rps"], r["rps"], r["rps"]/r["target_rps"], l["p50"], l["p90"], l["p99"], r["latency_uncorrected"]["p99"]))' "$closed"
echo "== bench open loop at 10x its closed-loop rate (target: achieved >= 0.9 of the closed loop's; dropped counted)"
taskset -c 1 "$bin" bench --target 127.0.0.1:17779 --rate "$(awk -v r="$closed" 'BEGIN { printf "%d", r * 10 }')" \
  --duration "${seconds}s" --json 2>/dev/null \
  | python3 -c 'import json,sys; r=json.load(sys.stdin); c=float(sys.argv[1]); print("closed_rps=%.1f achieved_rps=%.1f ratio=%.3f dropped=%d of %d max_rss_mib=%.0f" % (c, r["rps"], r["rps"]/c, r["dropped"], r["requests"], r["client"]["max_rss_bytes"]/2**20))' "$closed"
stop_servers

echo
echo "== prediction requests (--model, 3 rows of 3 columns, scored by serve) ÷ raw 64-byte requests, both through bench"
echo "   against serve on cpu0 (its direct engine), alternating, medians of $rounds (target: ratio >= 0.7)"
features=$(mktemp -d)
printf 'user_id\ncreative_id\nslot\n' > "$features/columns"
printf 'u1\002c1\001c2\002s1\nu2\002c3\002s2\001s3\nu3\002c4\001c5\001c6\002s4\n' > "$features/rows"
taskset -c 0 "$bin" serve --port 17780 --threads 1 >/dev/null 2>&1 & servers+=($!)
sleep 0.5
started "serve on port 17780"
raw=(); predicted=()
for _ in $(seq "$rounds"); do
  raw+=("$(taskset -c 1 "$bin" bench --target 127.0.0.1:17780 --duration "${seconds}s" --warmup 500ms --json | rps)")
  predicted+=("$(taskset -c 1 "$bin" bench --target 127.0.0.1:17780 --duration "${seconds}s" --warmup 500ms --json \
    --model demo_model --features "$features/rows" --columns "$features/columns" --rows 3 | rps)")
done
stop_servers
rm -rf "$features"
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "raw       rps: ${raw[*]} (median $(median "${raw[@]}"))"
echo "predicted rps: ${predicted[*]} (median $(median "${predicted[@]}"))"
awk -v p="$(median "${predicted[@]}")" -v r="$(median "${raw[@]}")" 'BEGIN { printf "ratio=%.3f\n", p / r }'

echo
bash "$here/scripts/allocs.sh" "$bin"

echo
echo "== pool scale: 100 instances (serve --port 27000 --instances 100) x 100 connections = 10,000 (target: <= 16 KiB RSS each)"
"$bin" serve --port 27000 --instances 100 --threads 1 >/dev/null 2>&1 & servers+=($!)
sleep 1
started "serve on ports 27000-27099"
echo "   the direct engine"
"$pool_bench" scale --port 27000 --instances 100 --conns 100 --engine direct
echo "   the SwiftNIO engine"
"$pool_bench" scale --port 27000 --instances 100 --conns 100 --engine nio
stop_servers

echo
echo "== a change in Consul (consul-dev) to its line on discover --watch: 50 changes (target: p99 <= 100 ms)"
python3 "$here/scripts/watch-latency.py" "$bin" 50

echo
echo "== scheduler pick cost, 10 vs 10,000 instances, weights 1..100 (target: ratio <= 2)"
"$(dirname "$bin")/scheduler-bench"
