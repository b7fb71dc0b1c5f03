#!/usr/bin/env bash
# Two builds of homa-perf compared on issue 15's cycle measure, in alternating pairs: a 100 B
# echo with client and server on one core over net_null (32 outstanding), or with --memif a
# server and a client process over memif (server on core 1, client on core 0). Run to run this
# 2-vCPU guest moves by 10-40 % (docs/perf.md), so a change is judged by same-time pairs, never
# by two separate series: each pair runs A then B, the next pair B then A.
# Prints every run (RPC/s, cycles per RPC or p50 / p99 us and the client's busy cycles per
# packet), each pair's B/A ratio, the min / median / max per build and of the ratios, and the
# load average before and after.
#
# Usage: apps/bench/cycles_ab.sh BUILD_A BUILD_B [--pairs N] [--seconds S] [--memif]
#            [--outstanding N] [--outstanding-b N] [-- homa-perf flags for both roles]
#   defaults: --pairs 6 --seconds 2 --outstanding 32. BUILD_* are build directories (their
#   apps/homa-perf). --outstanding-b gives B its own number of RPCs in flight: with A = B,
#   issue 12's scaling ratio (e.g. 1000 against 10000) in same-time pairs. Hugepages when 600
#   2 MiB pages are free (so that one run's 512 MiB for each process fits), else --no-huge,
#   said so in the output. No root needed.
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,16p "$0" >&2; exit 2; }
A=$1 B=$2
shift 2
PAIRS=6 SECS=2 MEMIF=0 OUTST=32 OUTST_B= EXTRA=()
while [ $# -gt 0 ]; do
    case $1 in
        --pairs) PAIRS=$2; shift 2 ;;
        --seconds) SECS=$2; shift 2 ;;
        --memif) MEMIF=1; shift ;;
        --outstanding) OUTST=$2; shift 2 ;;
        --outstanding-b) OUTST_B=$2; shift 2 ;;
        --) shift; EXTRA=("$@"); break ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
OUTST_A=$OUTST
OUTST_B=${OUTST_B:-$OUTST}
for b in "$A" "$B"; do
    [ -x "$b/apps/homa-perf" ] || { echo "no $b/apps/homa-perf: build it first" >&2; exit 1; }
done
free_pages=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)
if [ "$free_pages" -ge 600 ]; then
    MEM="--huge-unlink -m 512"
    echo "memory: hugepages ($free_pages free 2 MiB pages)"
else
    MEM="--no-huge -m 512"
    echo "memory: no hugepages ($free_pages free 2 MiB pages): --no-huge, slower than the figures in docs/perf.md"
fi
EAL="--no-shconf --no-pci $MEM --log-level=lib.eal:error"
# shellcheck source=apps/bench/memif_pair.sh
. "$(dirname "$0")/memif_pair.sh"

# one_core <build> <outstanding>: "RPC/s cycles-per-RPC" of the one-core net_null echo.
one_core() {
    local OUTST=$2
    # Both roles share the process's engine: two RPCs per echo in flight.
    "$1/apps/homa-perf" -l 0 --file-prefix="cab$$" $EAL --vdev=net_null0,no-rx=1 -- \
        --role=both --workload=100 --outstanding="$OUTST" --duration="$SECS" \
        --max_rpcs=$((2 * OUTST + 65536)) "${EXTRA[@]}" > "$TMP/run.log" 2>&1 ||
        { cat "$TMP/run.log" >&2; return 1; }
    awk '/^run / { print $4, $(NF - 1) }' "$TMP/run.log"
}

# over_memif <build> <outstanding>: "RPC/s p50-us p99-us busy-cycles-per-packet" of the
# two-process memif echo (the last: the client's, homa-perf's own count).
over_memif() {
    local sock="$TMP/memif.sock" OUTST=$2
    # shellcheck disable=SC2086  # $EAL is a list of flags
    memif_server_start "$sock" "$TMP/server.log" "$1/apps/homa-perf" $EAL --lcores=0@1 \
        --file-prefix="cabs$$" --vdev=net_memif0,role=server,socket="$sock",socket-abstract=no \
        -- --role=server --local_ip=10.0.0.1 --duration=0 --max_rpcs=$((OUTST + 65536)) \
        "${EXTRA[@]}"
    "$1/apps/homa-perf" $EAL --lcores=0@0 --file-prefix="cabc$$" \
        --vdev=net_memif0,role=client,socket="$sock",socket-abstract=no -- --role=client \
        --local_ip=10.0.0.2 --server_ip=10.0.0.1 --workload=100 --outstanding="$OUTST" \
        --duration="$SECS" --max_rpcs=$((OUTST + 65536)) "${EXTRA[@]}" > "$TMP/run.log" 2>&1 ||
        { cat "$TMP/run.log" >&2; memif_server_stop "$sock"; return 1; }
    memif_server_stop "$sock"
    awk '/^run / { r = $4 " " $6 " " $8 } /client busy cycles per packet/ { b = $6 }
         END { print r, b }' "$TMP/run.log"
}

measure() { if [ "$MEMIF" = 1 ]; then over_memif "$1" "$2"; else one_core "$1" "$2"; fi; }

# The figure a pair's ratio and the summary use: cycles per RPC (lower is better) on one core,
# RPC/s over memif.
if [ "$MEMIF" = 1 ]; then
    what="memif, one core per process: RPC/s p50-us p99-us client-busy-cycles-per-packet"
    col=1
else
    what="net_null, both ends on core 0: RPC/s cycles-per-RPC"
    col=2
fi
echo "$what; A $OUTST_A, B $OUTST_B outstanding; $PAIRS pairs of ${SECS} s; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
: > "$TMP/a" ; : > "$TMP/b" ; : > "$TMP/r" ; : > "$TMP/a4" ; : > "$TMP/b4" ; : > "$TMP/r4"
for p in $(seq "$PAIRS"); do
    if [ $((p % 2)) = 1 ]; then
        ra=$(measure "$A" "$OUTST_A"); rb=$(measure "$B" "$OUTST_B")
    else
        rb=$(measure "$B" "$OUTST_B"); ra=$(measure "$A" "$OUTST_A")
    fi
    [ -n "$ra" ] && [ -n "$rb" ] || { echo "pair $p: a run printed no result" >&2; exit 1; }
    va=$(echo "$ra" | cut -d' ' -f$col); vb=$(echo "$rb" | cut -d' ' -f$col)
    echo "$va" >> "$TMP/a"; echo "$vb" >> "$TMP/b"
    ratio=$(awk -v a="$va" -v b="$vb" 'BEGIN { printf "%.3f", b / a }')
    echo "$ratio" >> "$TMP/r"
    if [ "$MEMIF" = 1 ]; then
        # The client's busy cycles per packet: what a CPU change moves even when the two
        # processes' exchange over memif, not a CPU, sets the RPC rate.
        ca=$(echo "$ra" | cut -d' ' -f4); cb=$(echo "$rb" | cut -d' ' -f4)
        if [ -n "$ca" ] && [ -n "$cb" ]; then
            echo "$ca" >> "$TMP/a4"; echo "$cb" >> "$TMP/b4"
            awk -v a="$ca" -v b="$cb" 'BEGIN { printf "%.3f\n", b / a }' >> "$TMP/r4"
        fi
    fi
    echo "pair $p: A $ra | B $rb | B/A $ratio"
done
summary() { sort -g "$1" | awk '{ v[NR] = $1 } END {
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "min %s median %s max %s\n", v[1], m, v[NR] }'; }
label=$([ "$MEMIF" = 1 ] && echo "RPC/s" || echo "cycles per RPC")
echo "A ($A) $label: $(summary "$TMP/a")"
echo "B ($B) $label: $(summary "$TMP/b")"
echo "B/A per pair: $(summary "$TMP/r")"
if [ -s "$TMP/r4" ]; then
    echo "A client busy cycles per packet: $(summary "$TMP/a4")"
    echo "B client busy cycles per packet: $(summary "$TMP/b4")"
    echo "B/A busy cycles per packet, per pair: $(summary "$TMP/r4")"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
