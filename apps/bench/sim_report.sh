#!/usr/bin/env bash
# The numbers of docs/sim.md: homa-sim (release build) for W1-W5 at 50/80/90 % load with the SRPT
# oracle, a --find_max_load sweep per workload, the incast case and the W3 speed run; then
# apps/bench/sim_report.py turns the JSON into tables. Needs neither root nor DPDK ports.
# Deterministic (seed 1): only the wall times change from run to run (and with the machine's
# load, which every speed figure is printed with).
#
#   apps/bench/sim_report.sh [--quick] [--out DIR] [--no-build] [--docs]
#
#   --quick     10x fewer messages, 80 % load only, no sweep (a check of the tooling)
#   --out DIR   where results go (default: build-release/bench/sim)
#   --no-build  use the homa-sim already in $HOMA_RELEASE_BUILD_DIR (default build-release)
#   --docs      also write the tables into docs/sim.md (between its sim:begin/sim:end marks)
#               and the PNG plots to docs/sim_<workload>.png
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
QUICK=0 BUILD=1 DOCS=0 OUT=""
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --out) OUT=$2; shift ;;
        --out=*) OUT=${1#--out=} ;;
        --no-build) BUILD=0 ;;
        --docs) DOCS=1 ;;
        -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;p}' "$0"; exit 0 ;;
        *) echo "sim_report.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
RELEASE_BUILD=${HOMA_RELEASE_BUILD_DIR:-build-release}
OUT=${OUT:-$RELEASE_BUILD/bench/sim}
SIM=$RELEASE_BUILD/apps/sim/homa-sim
log() { printf '[sim_report] %s\n' "$*" >&2; }

if [ "$BUILD" = 1 ]; then
    if [ ! -f "$RELEASE_BUILD/build.ninja" ]; then
        meson setup "$RELEASE_BUILD" --buildtype=release -Db_ndebug=true -Db_lto=true -Dtests=false >/dev/null
    fi
    ninja -C "$RELEASE_BUILD" apps/sim/homa-sim >/dev/null
fi
[ -x "$SIM" ] || { log "no $SIM (build it or drop --no-build)"; exit 1; }
mkdir -p "$OUT"

# Messages per workload: enough simulated time (several ms) for the heavy tails to reach a
# steady state, a few seconds of one core each.
declare -A MESSAGES=([w1]=300000 [w2]=300000 [w3]=200000 [w4]=30000 [w5]=5000)
LOADS="50 80 90"
SWEEP=1
if [ "$QUICK" = 1 ]; then
    for w in "${!MESSAGES[@]}"; do MESSAGES[$w]=$(( MESSAGES[$w] / 10 )); done
    LOADS="80"
    SWEEP=0
fi
COMMON=(--hosts=16 --link_gbps=25 --seed=1 --progress=false --workload_dir=config/workloads)

for w in w1 w2 w3 w4 w5; do
    for l in $LOADS; do
        args=("${COMMON[@]}" --workload=$w --load=0.$l --messages=${MESSAGES[$w]} --oracle --json)
        [ "$l" = 80 ] && args+=(--plot="$OUT/sim_$w.png")
        log "$SIM ${args[*]}"
        "$SIM" "${args[@]}" > "$OUT/${w}_$l.json"
    done
    if [ "$SWEEP" = 1 ]; then
        args=("${COMMON[@]}" --workload=$w --load=0.9 --messages=${MESSAGES[$w]} --find_max_load
              --sweep_loads=0.5,0.6,0.7,0.8,0.85,0.9,0.95 --json)
        log "$SIM ${args[*]}"
        "$SIM" "${args[@]}" > "$OUT/${w}_sweep.json"
    fi
done
args=(--hosts=16 --link_gbps=25 --seed=1 --progress=false --incast=15 --incast_bytes=1000000
      --incast_probes=200 --incast_probe_bytes=100 --oracle --json)
log "$SIM ${args[*]}"
"$SIM" "${args[@]}" > "$OUT/incast.json"
args=("${COMMON[@]}" --workload=w3 --load=0.8 --messages=$([ "$QUICK" = 1 ] && echo 10000 || echo 100000) --json)
log "$SIM ${args[*]}"
"$SIM" "${args[@]}" > "$OUT/speed_w3.json"

python3 apps/bench/sim_report.py "$OUT" > "$OUT/tables.md"
log "tables: $OUT/tables.md"
if [ "$DOCS" = 1 ]; then
    python3 apps/bench/sim_report.py "$OUT" --into docs/sim.md
    for w in w1 w2 w3 w4 w5; do
        [ -f "$OUT/sim_$w.png" ] && cp "$OUT/sim_$w.png" "docs/sim_$w.png"
    done
    log "docs/sim.md and docs/sim_w*.png updated"
fi
