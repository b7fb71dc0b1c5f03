#!/usr/bin/env bash
# Instructions per 100 B echo RPC, both ends on one core over net_null (issue 15), counted by
# valgrind's callgrind inside homa-perf's closed loop only (start-up and teardown excluded).
# A count, not a time: the same binary gives the same figure within about 0.3 % whatever else
# the machine does, so it judges a change to the data path where the RPC/s of a shared 2-vCPU
# guest swing by 30 % from run to run. It does not see cache misses or stalls: confirm a gain
# in cycles with homa-perf's own cyc/RPC (docs/perf.md). Under valgrind the run is ~50x
# slower, so time-driven work (timer ticks, TX and RX time budgets) weighs more per RPC than
# at full speed; compare builds with each other, not with a cycle count.
#
# Usage: apps/bench/instr_per_rpc.sh [--stages] BUILD_DIR... [-- homa-perf flags]
# Prints "<build> <instructions> <rpcs> <instructions per RPC>" per build. No root needed.
# --stages: then each build's instructions per RPC by stage of the data path (decode, lookup,
# reassembly, TX build, ...; apps/bench/stage_budget.py), as a markdown table.
set -euo pipefail
builds=()
stages=0
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    if [ "$1" = "--stages" ]; then stages=1; else builds+=("$1"); fi
    shift
done
[ $# -gt 0 ] && shift
[ ${#builds[@]} -gt 0 ] || { echo "usage: $0 BUILD_DIR... [-- homa-perf flags]" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for b in "${builds[@]}"; do
    perf=$b/apps/homa-perf
    [ -x "$perf" ] || { echo "no $perf: build it first" >&2; exit 1; }
    valgrind --tool=callgrind --toggle-collect='homa::perf::run_closed_loop*' \
        --callgrind-out-file="$tmp/cg.out" \
        "$perf" -l 0 --file-prefix="ipr$$" --no-shconf --no-pci --no-huge -m 512 \
        --log-level=lib.eal:error --vdev=net_null0,no-rx=1 -- --role=both --workload=100 \
        --outstanding=32 --duration=2 --max_rpcs=65600 "$@" >"$tmp/run.log" 2>&1 ||
        { cat "$tmp/run.log" >&2; exit 1; }
    instr=$(callgrind_annotate "$tmp/cg.out" | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
    # Every RPC the closed loop started, warm-up included, is one the echo server served.
    rpcs=$(sed -n 's/.*served \([0-9]*\).*/\1/p' "$tmp/run.log" | head -1)
    [ -n "$instr" ] && [ -n "$rpcs" ] && [ "$rpcs" -gt 0 ] ||
        { echo "$b: no count (see the run's output below)" >&2; cat "$tmp/run.log" >&2; exit 1; }
    echo "$b $instr $rpcs $((instr / rpcs))"
    if [ "$stages" = 1 ]; then
        callgrind_annotate --auto=no "$tmp/cg.out" > "$tmp/cg.txt"
        python3 "$(dirname "$0")/stage_budget.py" callgrind "$tmp/cg.txt" --rpcs "$rpcs"
    fi
done
