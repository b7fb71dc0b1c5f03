#!/usr/bin/env bash
# IPv4 against IPv6 for homa-dp over net_memif (issue 17): the same two-process homa-perf run
# (server on core 1, client on core 0, 100 B echo) over IPv4 and over IPv6, alternating, so
# that the machine's drift hits both families alike. Each repetition runs four clients: RTT
# with one RPC outstanding and RPC/s with 32 outstanding, per family. Prints one line per run
# and the min / median / max of each series; the JSON of every run stays in <out>.
# Then the paired RTT: per repetition one bench_family_rtt run against one dual-stack server,
# the two families alternating RPC by RPC, so that both see the same moment of the machine
# (separate runs fall in one of two RTT modes ~1.5 us apart, which decides a median of
# medians). Prints each run's ratio of medians and per-pair difference, and their spread.
#
# Usage: apps/bench/ipv6_ab.sh [--build DIR] [--repeat N] [--seconds S] [--out DIR]
#   defaults: --build build-release --repeat 5 --seconds 5 --out /tmp/homa-ipv6-ab
# No root needed (--no-huge). Run from the repository root.
set -euo pipefail
BUILD=build-release REPEAT=5 SECS=5 OUT=/tmp/homa-ipv6-ab
while [ $# -gt 0 ]; do
    case $1 in
        --build) BUILD=$2; shift 2 ;;
        --repeat) REPEAT=$2; shift 2 ;;
        --seconds) SECS=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
PERF=$BUILD/apps/homa-perf
PAIRED=$BUILD/apps/bench_family_rtt
for b in "$PERF" "$PAIRED"; do
    [ -x "$b" ] || { echo "no $b: build it first (meson setup $BUILD --buildtype=release)" >&2; exit 1; }
done
mkdir -p "$OUT"
SOCK=/tmp/homa-ipv6-ab-$$.sock
TAG=ipv6ab$$
SRV=
cleanup() { [ -n "$SRV" ] && kill "$SRV" 2>/dev/null; rm -f "$SOCK"; }
trap cleanup EXIT

eal() { echo "--lcores=$1 --no-pci --no-huge --no-shconf -m 1024 --file-prefix=${TAG}_$(date +%s%N) --log-level=lib.eal:warning"; }

# run <name> <server ip> <client ip> <client flags...>
run() {
    local name=$1 sip=$2 cip=$3
    shift 3
    rm -f "$SOCK" "$OUT/$name.server.log"  # a stale "serving echo" would start the client early
    # shellcheck disable=SC2046
    "$PERF" $(eal 0@1) --vdev=net_memif0,role=server,socket=$SOCK,socket-abstract=no -- \
        --role=server --local_ip="$sip" --duration=0 > "$OUT/$name.server.log" 2>&1 &
    SRV=$!
    for _ in $(seq 1 100); do grep -qs "serving echo" "$OUT/$name.server.log" && break; sleep 0.1; done
    # shellcheck disable=SC2046
    timeout -k 10 -s INT $((SECS + 60)) "$PERF" $(eal 0@0) \
        --vdev=net_memif0,role=client,socket=$SOCK,socket-abstract=no -- \
        --role=client --local_ip="$cip" --server_ip="$sip" --workload=100 --duration="$SECS" \
        --json "$@" > "$OUT/$name.json" 2> "$OUT/$name.log" || echo "  $name: homa-perf exited $?" >&2
    kill -INT "$SRV" 2>/dev/null || true
    wait "$SRV" 2>/dev/null || true
    SRV=
}

field() {  # field <json> rtt|rate
    python3 -c 'import json,sys
p = json.load(open(sys.argv[1]))["phases"][0]
print(p["rtt_us"]["p50"] if sys.argv[2] == "rtt" else p["rpc_per_s"])' "$1" "$2" 2>/dev/null || echo nan
}

echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for rep in $(seq 1 "$REPEAT"); do
    for fam in v4 v6; do
        if [ $fam = v4 ]; then s=10.0.0.1 c=10.0.0.2; else s=fd00::1 c=fd00::2; fi
        run "${fam}_rtt_$rep" $s $c --outstanding=1
        run "${fam}_rate_$rep" $s $c --outstanding=32
        echo "run $rep $fam: rtt_p50_us $(field "$OUT/${fam}_rtt_$rep.json" rtt)" \
             "rpc_per_s $(field "$OUT/${fam}_rate_$rep.json" rate)"
    done
done
# paired <rep>: bench_family_rtt against a server on both families.
paired() {
    rm -f "$SOCK" "$OUT/paired_$1.server.log"  # a stale "serving echo" would start the client early
    # shellcheck disable=SC2046
    "$PERF" $(eal 0@1) --vdev=net_memif0,role=server,socket=$SOCK,socket-abstract=no -- \
        --role=server --local_ip=10.0.0.1,fd00::1 --duration=0 > "$OUT/paired_$1.server.log" 2>&1 &
    SRV=$!
    for _ in $(seq 1 100); do grep -qs "serving echo" "$OUT/paired_$1.server.log" && break; sleep 0.1; done
    # shellcheck disable=SC2046
    timeout -k 10 -s INT $((SECS + 60)) "$PAIRED" $(eal 0@0) \
        --vdev=net_memif0,role=client,socket=$SOCK,socket-abstract=no -- \
        --local=10.0.0.2,fd00::2 --v4=10.0.0.1:99 --v6='[fd00::1]:99' --seconds="$SECS" \
        > "$OUT/paired_$1.txt" 2> "$OUT/paired_$1.log" || echo "  paired $1: exited $?" >&2
    kill -INT "$SRV" 2>/dev/null || true
    wait "$SRV" 2>/dev/null || true
    SRV=
    grep -h "ratio\|IPv6 p50" "$OUT/paired_$1.txt" | sed "s/^/paired run $1: /"
}
for rep in $(seq 1 "$REPEAT"); do paired "$rep"; done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$OUT" "$REPEAT" <<'EOF'
import json, statistics, sys
out, n = sys.argv[1], int(sys.argv[2])
def series(fam, kind):
    v = []
    for r in range(1, n + 1):
        try:
            p = json.load(open(f"{out}/{fam}_{kind}_{r}.json"))["phases"][0]
            v.append(p["rtt_us"]["p50"] if kind == "rtt" else p["rpc_per_s"])
        except Exception:
            pass
    return v
for kind, label in (("rtt", "100 B RTT p50 (us), 1 outstanding"), ("rate", "100 B RPC/s, 32 outstanding")):
    med = {}
    for fam in ("v4", "v6"):
        v = series(fam, kind)
        if not v:
            print(f"{label} {fam}: no runs"); continue
        med[fam] = statistics.median(v)
        print(f"{label} {fam}: min {min(v):.1f} median {med[fam]:.1f} max {max(v):.1f} ({len(v)} runs)")
    if len(med) == 2:
        print(f"{label}: IPv6 median / IPv4 median = {med['v6'] / med['v4']:.3f}")
import re
ratios, diffs = [], []
for r in range(1, n + 1):
    try:
        m = re.search(r"= ([0-9.]+); median per-pair difference \(IPv6 - IPv4\) (-?[0-9.]+) us",
                      open(f"{out}/paired_{r}.txt").read())
    except OSError:
        m = None
    if m:
        ratios.append(float(m.group(1)))
        diffs.append(float(m.group(2)))
if ratios:
    print(f"paired RTT (IPv6 p50 / IPv4 p50 per run): min {min(ratios):.3f} "
          f"median {statistics.median(ratios):.3f} max {max(ratios):.3f} ({len(ratios)} runs); "
          f"per-pair difference median {statistics.median(diffs):.3f} us")
else:
    print("paired RTT: no runs")
EOF
