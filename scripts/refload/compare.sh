#!/usr/bin/env bash
# The throughput of a command as a ratio to the C reference's, both measured in the same run, alternating.
#   compare.sh client [-c CONNS] [-P PAYLOAD] [-d SECONDS] [-n ROUNDS] -- COMMAND...
#       a load client: COMMAND and refclient take turns on cpu1 against refserver on cpu0. COMMAND reads
#       REF_PORT, REF_CONNS, REF_PAYLOAD and REF_SECONDS from the environment and prints rps=N or "rps": N.
#   compare.sh server [-c CONNS] [-P PAYLOAD] [-d SECONDS] [-n ROUNDS] -- SERVER_COMMAND...
#       a server: SERVER_COMMAND (listening on 127.0.0.1:$REF_PORT) and refserver take turns on cpu0 under
#       refclient on cpu1; each is stopped with SIGTERM after its round.
# Prints each side's rounds, their medians and ratio=. The C programs are built (plain cc) into .build-refload/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mode=${1:-}; shift || true
case $mode in client|server) ;; *) echo "usage: $0 client|server [-c C] [-P P] [-d S] [-n N] -- COMMAND..." >&2; exit 64;; esac
C=30; P=64; D=5; N=3
while [ $# -gt 0 ]; do case $1 in
  -c) C=$2; shift 2;; -P) P=$2; shift 2;; -d) D=$2; shift 2;; -n) N=$2; shift 2;;
  --) shift; break;; *) echo "usage: $0 $mode [-c C] [-P P] [-d S] [-n N] -- COMMAND..." >&2; exit 64;; esac; done
[ $# -gt 0 ] || { echo "compare.sh: no command given" >&2; exit 64; }
bin="$root/.build-refload"
mkdir -p "$bin"
for prog in refserver refclient; do
  if [ ! -x "$bin/$prog" ] || [ "$here/$prog.c" -nt "$bin/$prog" ]; then
    cc -O2 -o "$bin/$prog" "$here/$prog.c" || { echo "compare.sh: cannot build $prog (is a C compiler installed?)" >&2; exit 1; }
  fi
done
export REF_PORT=${REF_PORT:-17777} REF_CONNS=$C REF_PAYLOAD=$P REF_SECONDS=$D
srv=
stop() { if [ -n "$srv" ]; then kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true; fi; srv=; }
trap stop EXIT
listening() {
  for _ in $(seq 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$REF_PORT") 2>/dev/null; then
      # Someone answers; it must be the server just started, not one another run left on the port (a server that
      # cannot bind exits within milliseconds).
      sleep 0.1
      kill -0 "$srv" 2>/dev/null && return 0
      echo "compare.sh: the server exited and something else listens on 127.0.0.1:$REF_PORT (a run left behind?)" >&2
      return 1
    fi
    sleep 0.05
  done
  echo "compare.sh: nothing listens on 127.0.0.1:$REF_PORT" >&2; return 1
}
rps() { grep -oE '"?rps"?[=:] *[0-9.]+' | head -1 | grep -oE '[0-9.]+$'; }
refclient() { taskset -c 1 "$bin/refclient" -p "$REF_PORT" -c "$C" -d "$D" -w 0.5 -P "$P" | rps; }
refs=(); cmds=(); ref_steal=(); cmd_steal=()
# Steal: the share of cpu0 and cpu1 the hypervisor gave to others during a round (/proc/stat, 100 ticks a second).
# A round with much of it measured the host, not the program; the figures say so rather than hide it.
# steal prints "TICKS SECONDS" (cpu0 and cpu1's steal ticks, the clock); steal_since the percentage since such a line.
steal() { echo "$(awk '/^cpu[01] /{s+=$9} END {print s}' /proc/stat) $(date +%s.%N)"; }
steal_since() {
  read -r t0 w0 <<<"$1"
  read -r t1 w1 <<<"$(steal)"
  awk -v a="$t0" -v b="$t1" -v x="$w0" -v y="$w1" 'BEGIN { printf "%.0f", 100 * (b - a) / (200 * (y - x)) }'
}
if [ "$mode" = client ]; then
  taskset -c 0 "$bin/refserver" -p "$REF_PORT" -b 64 >/dev/null 2>&1 & srv=$!
  listening
  for _ in $(seq "$N"); do
    s=$(steal); refs+=("$(refclient)"); ref_steal+=("$(steal_since "$s")")
    s=$(steal); cmds+=("$(taskset -c 1 "$@" | rps)"); cmd_steal+=("$(steal_since "$s")")
  done
else
  for _ in $(seq "$N"); do
    taskset -c 0 "$bin/refserver" -p "$REF_PORT" -b 64 >/dev/null 2>&1 & srv=$!; listening
    s=$(steal); refs+=("$(refclient)"); ref_steal+=("$(steal_since "$s")"); stop
    taskset -c 0 "$@" >/dev/null 2>&1 & srv=$!; listening
    s=$(steal); cmds+=("$(refclient)"); cmd_steal+=("$(steal_since "$s")"); stop
  done
fi
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
r=$(median "${refs[@]}"); m=$(median "${cmds[@]}")
echo "reference rps: ${refs[*]} (median $r)"
echo "command   rps: ${cmds[*]} (median $m)"
echo "steal %: reference ${ref_steal[*]}, command ${cmd_steal[*]}"
for x in "${ref_steal[@]}" "${cmd_steal[@]}"; do
  if [ "$x" -ge 10 ]; then echo "compare.sh: the host took >= 10 % of the CPUs during some rounds (steal): this run's figures are unreliable" >&2; break; fi
done
awk -v m="$m" -v r="$r" 'BEGIN { printf "ratio=%.3f\n", m / r }'
