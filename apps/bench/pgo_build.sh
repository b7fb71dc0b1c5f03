#!/usr/bin/env bash
# A release build of homa-perf and bench_rx_pipeline with profile-guided optimisation (GCC's
# -fprofile-generate / -fprofile-use through meson's b_pgo), trained on a mix of what the data
# path does: short and long messages, W1-W5, one and 1,000 RPCs in flight, both roles in one
# process and a server and a client over memif, application threads, and the RX pipeline.
# The same options as the bench's release build otherwise (release, LTO, no assertions).
# Why: the data path is bound by instructions and branches spread over many small functions
# (docs/perf.md, the per-stage budget); a profile lets the compiler lay the hot paths out
# together and inline by what runs, which the source cannot say without a [[likely]] on every
# branch. Compare it with the plain release build with apps/bench/cycles_ab.sh.
#
# Usage: apps/bench/pgo_build.sh [BUILD_DIR]      (default build-pgo; no root needed)
# BUILD_DIR is made from scratch. A directory that exists and is not an earlier build of this
# script is refused, so that a mistyped path never deletes anything else. Each training run
# has a time limit; a run that fails stops the script with its output.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-build-pgo}
OUT=${OUT%/}
MARK=.homa-pgo-build
log() { printf '[pgo_build] %s\n' "$*" >&2; }
if [ -e "$OUT" ] && [ ! -e "$OUT/$MARK" ]; then
    log "$OUT exists and is not a build of this script: not touching it"
    exit 2
fi
rm -rf "$OUT"
targets=(apps/homa-perf apps/bench_rx_pipeline)
log "instrumented build in $OUT"
# -Wno-missing-profile: code the training never runs (error paths, tools) has no profile, and
# the project builds with -Werror.
meson setup "$OUT" --buildtype=release -Db_ndebug=true -Db_lto=true -Dtests=false \
    -Db_pgo=generate -Dcpp_args=-Wno-missing-profile > "$OUT.setup.log" 2>&1 ||
    { cat "$OUT.setup.log" >&2; exit 1; }
mv "$OUT.setup.log" "$OUT/pgo_setup.log"
touch "$OUT/$MARK"
ninja -C "$OUT" "${targets[@]}" > "$OUT/pgo_generate.log" 2>&1 ||
    { tail -30 "$OUT/pgo_generate.log" >&2; exit 1; }

PERF=$OUT/apps/homa-perf
EAL=(--no-shconf --no-pci --no-huge -m 512 --log-level=lib.eal:error)
# shellcheck source=apps/bench/memif_pair.sh
. apps/bench/memif_pair.sh

# train NAME CMD...: runs one training program, 60 s at most; stops the script if it fails.
train() {
    local name=$1
    shift
    if ! timeout -s INT 60 "$@" > "$TMP/$name.log" 2>&1; then
        log "training run $name failed:"
        tail -20 "$TMP/$name.log" >&2
        exit 1
    fi
}

n=0
both() {  # both roles in one process over net_null's local delivery
    n=$((n + 1))
    train "both$n" "$PERF" -l 0 --file-prefix="pgo$$_$n" "${EAL[@]}" \
        --vdev=net_null0,no-rx=1 -- --role=both --duration=1 "$@"
}
log "training: both roles in one process"
both --workload=100 --outstanding=1
both --workload=100 --outstanding=32
both --workload=100 --outstanding=1000
for w in w1 w2 w3 w4 w5; do both --workload="$w" --outstanding=32; done
both --workload=100000 --outstanding=8
both --workload=1000000 --outstanding=4
n=$((n + 1))
train "app_threads" "$PERF" --lcores=0@0,1@1 --file-prefix="pgo$$_$n" "${EAL[@]}" \
    --vdev=net_null0,no-rx=1 -- --role=both --app_threads --workload=100 --outstanding=32 \
    --duration=1

log "training: a server and a client over memif"
memif() {
    local sock=$TMP/memif.sock
    n=$((n + 1))
    memif_server_start "$sock" "$TMP/server$n.log" "$PERF" --lcores=0@1 \
        --file-prefix="pgos$$_$n" "${EAL[@]}" \
        --vdev=net_memif0,role=server,socket="$sock",socket-abstract=no -- --role=server \
        --local_ip=10.0.0.1 --duration=0
    train "client$n" "$PERF" --lcores=0@0 --file-prefix="pgoc$$_$n" "${EAL[@]}" \
        --vdev=net_memif0,role=client,socket="$sock",socket-abstract=no -- --role=client \
        --local_ip=10.0.0.2 --server_ip=10.0.0.1 --duration=1 "$@"
    # SIGINT (memif_server_stop): only a clean exit writes the server's profile.
    memif_server_stop "$sock"
}
memif --workload=100 --outstanding=256
memif --workload=w3 --outstanding=64
memif --workload=w4 --outstanding=32

log "training: the RX pipeline"
for payload in 64 1400; do
    train "rx$payload" "$OUT/apps/bench_rx_pipeline" --rpcs=1,1000,100000 \
        --payload="$payload" --seconds=0.3
done

profiles=$(find "$OUT" -name '*.gcda' | wc -l)
[ "$profiles" -gt 0 ] || { log "no profile was written (*.gcda)"; exit 1; }
log "optimised build from $profiles profiles"
meson configure "$OUT" -Db_pgo=use > /dev/null
ninja -C "$OUT" "${targets[@]}" > "$OUT/pgo_use.log" 2>&1 ||
    { tail -30 "$OUT/pgo_use.log" >&2; exit 1; }
log "done: $OUT/apps/homa-perf and $OUT/apps/bench_rx_pipeline"
