#!/usr/bin/env bash
# homa-dp benchmarks side by side with the limits (testpmd) and the alternative (kernel UDP/TCP
# with sockperf), one after another on this machine. Writes <out>/results.json, <out>/table.md,
# the raw logs under <out>/raw and, with gnuplot, PNG plots under <out>/plots.
#
#   apps/bench/run_bench.sh [--quick] [--out DIR] [--no-build] [--no-install] [--no-profile]
#
#   --quick       tiny durations and fewer points (about a minute and a half): checks the tooling end to end
#   --out DIR     where results go (default: build-release/bench)
#   --no-build    use the binaries already in $HOMA_RELEASE_BUILD_DIR (default build-release)
#   --no-install  never call apt-get (fail if dpdk-testpmd is missing; skip what else is missing)
#   --no-profile  skip the perf record of the 100 B echo
#   --docs        also copy the PNG plots to docs/perf_<name>.png (for the report, docs/perf.md)
#   --only LIST   run only these stages (comma-separated: testpmd,kernel,memif,load,overload,
#                 scaling,null,appthreads,rx,profile,cold), keeping the other stages' raw logs from an
#                 earlier run in the same --out (memif: RTT, rate, 1 MB and goodput by size;
#                 cold: the file service, e.g. apps/bench/run_bench.sh --only cold)
#   --workloads L only these workloads in the load and overload stages (e.g. w1,w3)
#   --sim         only the cluster simulator (apps/bench/sim_report.sh: homa-sim, no root or
#                 DPDK needed), which regenerates docs/sim.md's numbers with --docs; --quick,
#                 --out and --no-build are passed on
#   --server-flags "F"  extra homa-perf flags for every memif server (e.g. engine knobs:
#   --client-flags "F"  "--max_peer_server_rpcs=65536"), and for every memif client
#   --no-priority-queues  homa-perf pairs over memif without --priority_queues (on by default
#                 in both processes: a second queue pair for control packets and short
#                 messages, docs/load.md), to compare
#
# Stage cold (issue 18): a plain sequential read (dd bs=1M) of a COLD_MB (default 512) file in
# COLD_DIR (default /var/tmp; must not be tmpfs) beside the pager's cold reads
# (bench_pager_cold), then the launcher serving that file over memif to homa-perf's mixed
# workload: 10 % of RPCs read 999,976 B (1 MB less the response header), the rest 100 B
# echoes, at COLD_RATE RPC/s (default 1000: 100 MB/s of cold reads, a tenth of what the pager
# reads, so that the phases compare interference, not overload), phases echo only / prefetch /
# no prefetch of COLD_SECS s (default 1) each, interleaved over COLD_ROUNDS rounds (default 10;
# homa-perf --file_rounds: every phase sees the same moments of the machine, whose own stalls
# set the echo tail), the file evicted (pager + posix_fadvise DONTNEED on the server) before
# each file phase. Each run has a fresh launcher in one of two layouts (COLD_LAYOUTS, default
# "turns core0": the control lcore pulling in turns beside the worker, or with reader threads
# on the client's core), alternated COLD_REPEAT (default 3) times. Writes <out>/cold.md: every
# run, min / median / max of the echo p99 ratios per layout, every round's paired ratio, the
# verdict on the 1.5x target, with the load average.
# Stages over memif (issue 12): load = per workload, the open-loop knee (homa-perf
# --find_capacity), then 50/80/90/95 % of it with --slowdown, each with a fresh server;
# overload = 2x the knee for 50 ms
# between stretches at 50 %, recovery time and errors; scaling = closed loop with ramp-up,
# 100 B at 10^2..10^6 and 100 KB at 10..10^4 live RPCs.
# A knee search or load run during which the host moved the two vCPUs (the ping-pong probes
# before and after it disagree), or a load run placed otherwise than its knee, is run again,
# up to KNEE_TRIES / LOAD_TRIES times (default 2 / 3): such a run is not judged per placement.
# The tries set aside keep their files as raw/<name>_try<n>.* and the table lists them.
# An overload step whose 50 % base was already beyond its knee's p99 bound in most windows
# (its reference capacity was wrong) is run again with a knee searched then, up to
# OVERLOAD_TRIES times (default 2), set aside and listed the same way.
# Scaling runs are probed too: their ratios pair runs of one placement (bench_report.py), and a
# point after the base (10^3 live RPCs for 100 B, 10 for 100 KB) placed otherwise than the
# base of its round is run again, up to SCALE_TRIES times (default 2), set aside the same way
# (the table counts them per point).
#
# Stage null also judges issue 15's 3x cut in cycles per RPC: the code of its start
# (ISSUE15_START, bc2e722) is built once into <release build>-issue15-start (git archive of that
# commit, built as the bench built it then: release, no LTO) and run against this build in
# NULL_PAIRS (default 8) alternating pairs of the one-core 100 B echo (cycles_ab.sh). Hosts
# differ by more than the cut: that code spends 1,838 cycles per RPC on the machine where the
# issue was filed and about 1,600 on another. Not with --quick, nor without the git history.
#
# Stage appthreads (issue 15): APP_ROUNDS (default 6) alternating rounds, each of the
# cache-line ping-pong between cores 0 and 1 (bench_core_pingpong: how the hypervisor placed
# the two vCPUs, which every hand-off between an application thread and its worker pays), then
# the 100 B echo over net_null run-to-completion (one core) and with --app_threads (the
# application loop on core 0, the worker on core 1), at 1 and 32 outstanding, APP_SECS (default
# 2) each, then the ping-pong again (a round whose placement changed is not judged by it). bench_report judges the medians of the per-round ratios, and per placement.
#
# As root it reserves 2 MiB hugepages (nr_hugepages back to its old value at exit) and uses
# --huge-unlink with unique --file-prefixes; otherwise it says so and runs with --no-huge.
# Cores: the machine is assumed to have 2; every two-process run puts one process per core
# (--lcores=0@0 and --lcores=0@1; testpmd, which needs two lcores, gets 0@0,1@1 and 0@1,1@0).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

QUICK=0 BUILD=1 INSTALL=1 PROFILE=1 DOCS=0 SIM=0 ONLY="" SERVER_FLAGS="" CLIENT_FLAGS="" ONLY_WORKLOADS=""
PAIR_FLAGS="--priority_queues"  # both ends of every homa-perf memif pair
OUT=""
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --out) OUT=$2; shift ;;
        --out=*) OUT=${1#--out=} ;;
        --no-build) BUILD=0 ;;
        --no-install) INSTALL=0 ;;
        --no-profile) PROFILE=0 ;;
        --docs) DOCS=1 ;;
        --sim) SIM=1 ;;
        --only) ONLY=$2; shift ;;
        --only=*) ONLY=${1#--only=} ;;
        --workloads) ONLY_WORKLOADS=$2; shift ;;
        --workloads=*) ONLY_WORKLOADS=${1#--workloads=} ;;
        --server-flags) SERVER_FLAGS=$2; shift ;;
        --server-flags=*) SERVER_FLAGS=${1#--server-flags=} ;;
        --client-flags) CLIENT_FLAGS=$2; shift ;;
        --client-flags=*) CLIENT_FLAGS=${1#--client-flags=} ;;
        --no-priority-queues) PAIR_FLAGS="" ;;
        -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;p}' "$0"; exit 0 ;;
        *) echo "run_bench.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
RELEASE_BUILD=${HOMA_RELEASE_BUILD_DIR:-build-release}
if [ "$SIM" = 1 ]; then
    sim_args=()
    [ "$QUICK" = 1 ] && sim_args+=(--quick)
    [ "$DOCS" = 1 ] && sim_args+=(--docs)
    [ "$BUILD" = 0 ] && sim_args+=(--no-build)
    [ -n "$OUT" ] && sim_args+=(--out "$OUT")
    exec "$ROOT/apps/bench/sim_report.sh" "${sim_args[@]}"
fi
OUT=${OUT:-$RELEASE_BUILD/bench}
RAW=$OUT/raw
mkdir -p "$RAW"
stage() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }
if [ -z "$ONLY" ]; then rm -f "$RAW"/*; fi
PERF=$RELEASE_BUILD/apps/homa-perf
LAUNCHER=$RELEASE_BUILD/apps/homa-dp
PAGER_BENCH=$RELEASE_BUILD/apps/bench_pager_cold
HICCUP=$RELEASE_BUILD/apps/bench_hiccup
PINGPONG=$RELEASE_BUILD/apps/bench_core_pingpong
RXBENCH=$RELEASE_BUILD/apps/bench_rx_pipeline
TAG=hbench$$
SOCK=/tmp/$TAG.sock
HUGE_NR=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
OLD_NR=""
PIDS=()

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# ---------------------------------------------------------------- durations per mode
# KNEE: homa-perf's knee-search flags (probe length, probes at most); LOAD_PCTS: the open-loop
# loads run at shares of the knee; SCALE_SWEEP / SCALE100K_SWEEP: live RPCs of the 100 B and
# 100 KB scaling runs, each SCALE_REPEAT times (two-process memif runs vary by tens of per cent
# from run to run: the report gives min / median / max and judges the median).
if [ "$QUICK" = 1 ]; then
    TP_SECS=2; SP_SECS=1; LAT_SECS=0.5; RATE_SECS=0.5; BIG_SECS=0.5; W_SECS=0.3; SCALE_SECS=0.5
    RATE_SWEEP="64"; WORKLOADS="w1"; SCALE_SWEEP="1000"; SCALE100K_SWEEP="100"; SIZE_SWEEP=""
    KNEE="--probe_duration=0.15 --probe_drain=0.1 --max_probes=3"; LOAD_PCTS="50,80,90,95"
    OVERLOAD_WORKLOADS="w1"
    RX_RPCS="1,1000"; RX_SECS=0.05; RX_REPEAT=1; NULL_SECS=0.5; PROFILE_DELAY_MS=0; SCALE_REPEAT=1; TP_REPEAT=1; RATE_REPEAT=1
    BIG_REPEAT=1
    APP_ROUNDS=${APP_ROUNDS:-1}; APP_SECS=${APP_SECS:-0.3}
    KNEE_TRIES=${KNEE_TRIES:-1}; LOAD_TRIES=${LOAD_TRIES:-1}; OVERLOAD_TRIES=${OVERLOAD_TRIES:-1}
    SCALE_TRIES=${SCALE_TRIES:-1}
else
    TP_SECS=10; SP_SECS=5; LAT_SECS=8; RATE_SECS=4; BIG_SECS=6; W_SECS=5; SCALE_SECS=4
    RATE_SWEEP="32 64 128 256 1000"; WORKLOADS="w1 w2 w3 w4 w5"
    SCALE_SWEEP="100 1000 10000 100000 1000000"; SCALE100K_SWEEP="10 100 1000 10000"
    SIZE_SWEEP="100 1000 10000 100000 1000000"
    KNEE="--probe_duration=3 --probe_drain=0.2 --max_probes=8"; LOAD_PCTS="50,80,90,95"
    OVERLOAD_WORKLOADS="w1 w2 w3 w4 w5"
    RX_RPCS="1,10,100,1000,10000,100000,1000000"; RX_SECS=0.5; NULL_SECS=4; SCALE_REPEAT=3
    RX_REPEAT=3  # the RX pipeline: rounds over every point, each point judged by its median run
    PROFILE_DELAY_MS=1500  # perf record -D: the profile starts after the EAL's start-up
    KNEE_TRIES=${KNEE_TRIES:-2}; LOAD_TRIES=${LOAD_TRIES:-3}; OVERLOAD_TRIES=${OVERLOAD_TRIES:-2}
    SCALE_TRIES=${SCALE_TRIES:-2}
    TP_REPEAT=3  # testpmd limits: each pair run this often (bench_report: min / median / max)
    RATE_REPEAT=3  # the 100 B rate sweep: each point this often, judged by its median run
    # The 1 MB echo: this many runs, each between two testpmd runs of the 1500 B memif link,
    # so that its ratio to the link is taken from measurements minutes do not separate.
    BIG_REPEAT=3
    APP_ROUNDS=${APP_ROUNDS:-6}; APP_SECS=${APP_SECS:-2}
    NULL_PAIRS=${NULL_PAIRS:-8}  # issue 15's start against this build, one core
fi

if [ -n "$ONLY_WORKLOADS" ]; then WORKLOADS=${ONLY_WORKLOADS//,/ }; OVERLOAD_WORKLOADS=$WORKLOADS; fi

# ---------------------------------------------------------------- clean-up (always)
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
    sleep 0.5
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    rm -f "$SOCK" /dev/hugepages/"$TAG"* 2>/dev/null || true
    if [ -n "$OLD_NR" ]; then echo "$OLD_NR" > "$HUGE_NR" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- packages and build
ensure_packages() {
    local want=(dpdk sockperf gnuplot-nox linux-perf valgrind python3 meson ninja-build pkg-config
                build-essential libdpdk-dev dpdk-dev libgflags-dev libnuma-dev) missing=() p
    for p in "${want[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$INSTALL" = 0 ] || [ "$(id -u)" -ne 0 ]; then
        log "missing packages (not installing: $([ "$INSTALL" = 0 ] && echo --no-install || echo not root)): ${missing[*]}"
        return 0
    fi
    log "installing missing packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() {
    if [ ! -f "$RELEASE_BUILD/build.ninja" ]; then
        # Debug information changes no code, and lets the profile stage place each sample
        # by its source file (stage_budget.py).
        meson setup "$RELEASE_BUILD" --buildtype=release -Ddebug=true -Db_ndebug=true -Db_lto=true \
            >/dev/null
    fi
    local targets=(apps/homa-perf apps/bench_rx_pipeline apps/homa-dp apps/bench_pager_cold
                   apps/bench_hiccup apps/bench_core_pingpong)
    ninja -C "$RELEASE_BUILD" "${targets[@]}" >/dev/null || ninja -C "$RELEASE_BUILD" "${targets[@]}"
}

# ---------------------------------------------------------------- memory
EAL_MEM=()
setup_memory() {
    if [ "$(id -u)" -eq 0 ] && [ -w "$HUGE_NR" ]; then
        OLD_NR=$(cat "$HUGE_NR")
        [ "$OLD_NR" -lt 1024 ] && echo 1024 > "$HUGE_NR"
        if ! grep -qs ' hugetlbfs ' /proc/mounts; then
            mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages
        fi
        local free
        free=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)
        if [ "$free" -ge 768 ]; then
            EAL_MEM=(--huge-unlink -m 512)
            MEMORY="hugepages"
            log "hugepages: $free free 2 MiB pages (nr_hugepages was $OLD_NR, restored at exit)"
            return
        fi
        log "NOTE: only $free free hugepages; falling back to --no-huge"
    else
        log "NOTE: not root: cannot reserve hugepages; running every DPDK program with --no-huge"
        log "      (4 KiB pages: slower than the hugepage figures in docs/perf.md)"
    fi
    EAL_MEM=(--no-huge --no-shconf -m 512)
    MEMORY="no-huge"
}

eal() {  # eal <lcores>: common EAL arguments with a fresh unique file prefix (runs in $(...))
    echo "--lcores=$1 --no-pci --file-prefix=${TAG}_$(date +%s%N) --log-level=lib.eal:warning ${EAL_MEM[*]}"
}

# Runs a command in the background, remembering its pid for clean-up.
bg() { "$@" & PIDS+=($!); }

# stop_pid <pid> [what]: SIGINT, wait up to 10 s, then SIGKILL, which the log then says: a
# homa-perf server killed so never printed its counters, and the report shows them as n/a.
stop_pid() {
    local pid=$1 what=${2:-pid $1} i
    kill -INT "$pid" 2>/dev/null || return 0
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -KILL "$pid" 2>/dev/null; then
        log "  $what did not stop within 10 s of SIGINT: killed (what it prints at exit is missing)"
    fi
    wait "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------- 1. limits: testpmd
# A limit is measured TP_REPEAT times; run 1 keeps the plain log name, run N adds _rN.
# bench_report.py takes each run's median of its per-second rates (without the first and last
# second), and reports the best run as the limit with min / median / max over the runs: a
# limit measured low (another process took the core, rates decaying within the run) would make
# homa-dp's ratios to it look better than they are.
rep_suffix() { [ "$1" = 1 ] || echo "_r$1"; }

testpmd_null() {
    local rep
    for rep in $(seq 1 "$TP_REPEAT"); do
        log "testpmd io forwarding on net_null ($TP_SECS s, run $rep of $TP_REPEAT)"
        # shellcheck disable=SC2046
        timeout -s INT $((TP_SECS + 3)) dpdk-testpmd $(eal 0@0,1@1) --vdev=net_null0 --vdev=net_null1 \
            -- --forward-mode=io --nb-cores=1 --stats-period=1 --auto-start \
            > "$RAW/testpmd_null$(rep_suffix "$rep").log" 2>&1 || true
    done
}

testpmd_memif() {  # testpmd_memif <frame bytes>
    local rep
    for rep in $(seq 1 "$TP_REPEAT"); do
        testpmd_memif_run "$1" "$(rep_suffix "$rep")" "run $rep of $TP_REPEAT"
    done
}

testpmd_memif_run() {  # testpmd_memif_run <frame bytes> <log suffix> <which run, for the log>
    local size=$1 sfx=$2 rx
    log "testpmd txonly -> rxonly over net_memif, $size B frames ($TP_SECS s, $3)"
    rm -f "$SOCK"
    # shellcheck disable=SC2046
    bg timeout -s INT $((TP_SECS + 6)) dpdk-testpmd $(eal 0@0,1@1) \
        --vdev=net_memif0,role=server,socket=$SOCK,socket-abstract=no \
        -- --forward-mode=rxonly --nb-cores=1 --stats-period=1 --auto-start \
        > "$RAW/testpmd_memif_${size}${sfx}_rx.log" 2>&1
    rx=$!
    sleep 1
    # shellcheck disable=SC2046
    timeout -s INT $((TP_SECS + 2)) dpdk-testpmd $(eal 0@1,1@0) \
        --vdev=net_memif0,role=client,socket=$SOCK,socket-abstract=no \
        -- --forward-mode=txonly --txpkts="$size" --nb-cores=1 --stats-period=1 --auto-start \
        > "$RAW/testpmd_memif_${size}${sfx}_tx.log" 2>&1 || true
    stop_pid "$rx"
    rm -f "$SOCK"
}

# ---------------------------------------------------------------- 2. the alternative: sockperf
sockperf_runs() {
    local proto flag port=$((20000 + $$ % 20000)) srv
    for proto in udp tcp; do
        flag=""; [ "$proto" = tcp ] && flag=--tcp
        log "sockperf $proto over loopback: ping-pong 100 B, throughput 1400 B ($SP_SECS s each)"
        bg taskset -c 1 sockperf sr -i 127.0.0.1 -p "$port" $flag > "$RAW/sockperf_${proto}_server.log" 2>&1
        srv=$!
        sleep 0.5
        taskset -c 0 sockperf pp -i 127.0.0.1 -p "$port" $flag -m 100 -t "$SP_SECS" --full-rtt \
            > "$RAW/sockperf_${proto}_pp.log" 2>&1 || true
        taskset -c 0 sockperf tp -i 127.0.0.1 -p "$port" $flag -m 1400 -t "$SP_SECS" \
            > "$RAW/sockperf_${proto}_tp.log" 2>&1 || true
        stop_pid "$srv"
        port=$((port + 1))
    done
}

# ---------------------------------------------------------------- 3. homa-dp over net_memif
# homa_memif <name> <server max_rpcs> <client flags...>: a fresh server process (core 1) and a
# client process (core 0) over a net_memif pair; the client's JSON goes to raw/<name>.json.
homa_memif() {
    local name=$1 max_rpcs=$2 srv cli i
    shift 2
    # A log left by an earlier run (--only reruns a stage) would say "serving echo" before this
    # server even opened it: the client would start too early and the server, still in EAL's
    # start-up with SIGINT ignored (a background job of a script), would never stop. An old
    # client log would say "holding port" and stop the new server before its client came.
    rm -f "$SOCK" "$RAW/$name.server.log" "$RAW/$name.log"
    # shellcheck disable=SC2046
    # shellcheck disable=SC2086
    bg "$PERF" $(eal 0@1) --vdev=net_memif0,role=server,socket=$SOCK,socket-abstract=no -- \
        --role=server --local_ip=10.0.0.1 --duration=0 --max_rpcs="$max_rpcs" --stats \
        $PAIR_FLAGS $SERVER_FLAGS ${SERVER_RUN_FLAGS:-} > "$RAW/$name.server.log" 2>&1
    srv=$!
    for i in $(seq 1 100); do grep -qs "serving echo" "$RAW/$name.server.log" && break; sleep 0.1; done
    # shellcheck disable=SC2046,SC2086
    timeout -k 30 -s INT "${CLIENT_TIMEOUT:-300}" "$PERF" $(eal 0@0) \
        --vdev=net_memif0,role=client,socket=$SOCK,socket-abstract=no -- \
        --role=client --local_ip=10.0.0.2 --server_ip=10.0.0.1 --workload_dir=config/workloads \
        --json --stats --hold_port_s=30 "$@" $PAIR_FLAGS $CLIENT_FLAGS \
        > "$RAW/$name.json" 2> "$RAW/$name.log" &
    cli=$!
    stop_server_when_held "$srv" "$cli" "$RAW/$name.log" "$name"
    rm -f "$SOCK"
}

# stop_server_when_held <server pid> <client pid> <client stderr log> <name>: the server of a
# memif pair stops first, once its homa-perf client (run with --hold_port_s) holds its port
# without polling or has ended; then the client, which sees the link go down and ends. DPDK
# 22.11's memif unmaps a process's shared regions when its peer leaves, under any burst still
# inside them: servers polling when their client left died that way (three in the fiftieth
# session's run, with their closing counters).
# The wait blocks: tail follows the log by inotify (by name, so from before the client's shell
# has created it; the caller removes an old one) and ends within a second of the client. A loop
# that forked grep and sleep every 50 ms took a pinned poller's core for 1-3 ms each time: the
# absences of 5-6 % every 56-60 ms that the first full run with it measured as load tails.
stop_server_when_held() {
    local srv=$1 cli=$2 clog=$3 name=$4
    grep -q -m1 "homa-perf: holding port" < <(tail -n +1 --pid="$cli" -F "$clog" 2>/dev/null) || true
    stop_pid "$srv" "$name: the server"
    wait "$cli" || log "  $name: homa-perf exited $?"
}

# homa_null <name> <flags...>: both roles in one process over net_null local delivery (core 0).
homa_null() {
    local name=$1
    shift
    # shellcheck disable=SC2046
    timeout -s INT 600 "$PERF" $(eal 0@0) --vdev=net_null0,no-rx=1 -- --role=both \
        --workload_dir=config/workloads --json "$@" > "$RAW/$name.json" 2> "$RAW/$name.log" ||
        log "  $name: homa-perf exited $?"
}

# The request goodput (Gbps) homa-dp sustained in a closed-loop run (echo: half the payload).
request_gbps() {
    python3 -c 'import json,sys
try: print(json.load(open(sys.argv[1]))["phases"][0]["goodput_gbps"] / 2)
except Exception: print(0)' "$1"
}

# rep_name PREFIX N REP: a repeated run's raw-file name. Run 1 keeps the plain name (older
# reports and tools read it); the rest get _rREP.
rep_name() {
    if [ "$3" = 1 ]; then echo "$1_$2"; else echo "$1_$2_r$3"; fi
}

# probe FILE: where the host put the two vCPUs now (bench_core_pingpong's cache-line round
# trip between cores 0 and 1), into raw/FILE.
probe() {
    "$PINGPONG" 200000 > "$RAW/$1" 2>&1 || log "  bench_core_pingpong exited $?"
}

# probed NAME CMD...: CMD between two probes, raw/NAME_pingpong.txt and
# raw/NAME_pingpong_after.txt (bench_raw.placement_of reads the pair).
probed() {
    local name=$1
    shift
    probe "${name}_pingpong.txt"
    "$@"
    probe "${name}_pingpong_after.txt"
}

# big_link_beside <k>: the k-th testpmd run of the 1500 B memif link beside the 1 MB echo runs,
# with where the host put the two vCPUs just before it (memif's 1500 B rate differs about 3.5x
# between the placements: 13 against 3.7 Mpps, thirty-fourth session).
big_link_beside() {
    probe "testpmd_memif_1500_adj$1_pingpong.txt"
    testpmd_memif_run 1500 "_adj$1" "beside the 1 MB echo, $1 of $((BIG_REPEAT + 2))"
}

homa_memif_all() {
    log "homa-dp over net_memif: 100 B echo RTT, one outstanding ($LAT_SECS s)"
    homa_memif memif_latency 65536 --workload=100 --outstanding=1 --duration="$LAT_SECS" \
        --cdf="$RAW/memif_latency.cdf"
    local o
    for o in $RATE_SWEEP; do
        for rep in $(seq 1 "$RATE_REPEAT"); do
            log "homa-dp over net_memif: 100 B echo, $o outstanding ($RATE_SECS s, run $rep of $RATE_REPEAT)"
            homa_memif "$(rep_name memif_rate "$o" "$rep")" 65536 --workload=100 --outstanding="$o" \
                --duration="$RATE_SECS"
        done
    done
    # Each 1 MB run sits between two runs of testpmd's 1500 B memif link (logs
    # testpmd_memif_1500_adj<k>_rx.log; run k between adj<k> and adj<k+1>): memif's own rate
    # drifts by 2x within minutes on this host, so a ratio to a limit measured at the start of
    # the bench says as much about the drift as about homa-dp.
    local adj=1
    command -v dpdk-testpmd >/dev/null || { adj=0; log "  dpdk-testpmd not found: 1 MB runs without the link beside them"; }
    for rep in $(seq 1 "$BIG_REPEAT"); do
        if [ "$adj" = 1 ]; then
            big_link_beside "$rep"
        fi
        log "homa-dp over net_memif: 1 MB echo, 4 outstanding ($BIG_SECS s, run $rep of $BIG_REPEAT)"
        homa_memif "$(rep_name memif 1mb "$rep")" 65536 --workload=1000000 --outstanding=4 \
            --duration="$BIG_SECS"
    done
    if [ "$adj" = 1 ]; then big_link_beside $((BIG_REPEAT + 1)); fi
    # Not judged: the same echo with the pacer at the port's reported speed (memif says
    # 100 Gbps), between the last link run and one more, to show what the default pacer's
    # 25 Gbps costs this echo (docs/perf.md, "The pacer's link speed").
    log "homa-dp over net_memif: 1 MB echo, 4 outstanding, --pace_at_link_speed ($BIG_SECS s)"
    homa_memif memif_1mb_paced 65536 --workload=1000000 --outstanding=4 --duration="$BIG_SECS" \
        --pace_at_link_speed
    if [ "$adj" = 1 ]; then big_link_beside $((BIG_REPEAT + 2)); fi
    for s in $SIZE_SWEEP; do
        log "homa-dp over net_memif: goodput, $s B echo, 8 outstanding ($SCALE_SECS s)"
        homa_memif "memif_size_$s" 65536 --workload="$s" --outstanding=8 --duration="$SCALE_SECS"
    done
}

# The knee (RPC/s) that the load stage found for workload $1, or nothing.
knee_of() {
    python3 -c 'import json,sys
try:
    c = json.load(open(sys.argv[1])).get("capacity") or {}
    print(c["knee_rps"] if c.get("found") else "")
except Exception: print("")' "$RAW/memif_$1_knee.json"
}

# set_aside NAME N: an earlier try of run NAME keeps its files as raw/NAME_tryN.* (JSON, logs,
# CDF, placement probes); the last try keeps the plain names and is the one judged.
set_aside() {
    local f
    for f in "$RAW/$1".* "$RAW/$1"_pingpong*.txt; do
        [ -e "$f" ] && mv "$f" "$RAW/$1_try$2${f#"$RAW/$1"}"
    done
    return 0
}

# try_of N OF: ", try N of OF" after the first try, nothing on it.
try_of() { [ "$1" = 1 ] || echo ", try $1 of $2"; }

# Load: per workload the open-loop knee (homa-perf --find_capacity), then one open-loop run per
# share of it, each with a fresh server and client: a probe beyond the knee can leave a host
# broken for a while (issue 12), and the loads must not inherit that. Latency counts from the
# scheduled arrival; --slowdown calibrates each run first.
homa_load_all() {
    local w knee pct try
    for w in $WORKLOADS; do
        for try in $(seq 1 "$KNEE_TRIES"); do
            [ "$try" = 1 ] || set_aside "memif_${w}_knee" $((try - 1))
            log "homa-dp over net_memif: $w knee (open-loop probes)$(try_of "$try" "$KNEE_TRIES")"
            # The knee is a capacity in one placement of the vCPUs: a share of it run in the
            # other placement is not that share of its own capacity (bench_report judges it so).
            SERVER_RUN_FLAGS=$(gap_share_server "memif_${w}_knee")
            # shellcheck disable=SC2046,SC2086
            probed "memif_${w}_knee" homa_memif "memif_${w}_knee" 65536 --workload="$w" \
                --find_capacity $KNEE $(gap_share_client "memif_${w}_knee")
            SERVER_RUN_FLAGS=""
            rm -f "$RAW/memif_${w}_knee.gapshare"
            [ "$(python3 "$ROOT/apps/bench/bench_raw.py" knee-moved "$RAW" "$w")" = yes ] || break
            log "  $w: the host moved the vCPUs during the knee search"
        done
        knee=$(knee_of "$w")
        if [ -z "$knee" ]; then
            log "  $w: no knee found: its loads are not run (see raw/memif_${w}_knee.log)"
            continue
        fi
        for pct in ${LOAD_PCTS//,/ }; do
            for try in $(seq 1 "$LOAD_TRIES"); do
                [ "$try" = 1 ] || set_aside "memif_${w}_load$pct" $((try - 1))
                log "homa-dp over net_memif: $w at $pct % of the knee ($knee RPC/s), $W_SECS s$(try_of "$try" "$LOAD_TRIES")"
                # Where the host put the two vCPUs, before and after: short messages' medians
                # differ about 3x between the placements (docs/perf.md).
                # At 80 %: both ends log their poll gaps and the client its arrivals, so that
                # the tail can be split by whether an RPC met a gap (apps/bench/stall_split.py).
                local name="memif_${w}_load$pct" logs=()
                if [ "$pct" = 80 ]; then
                    SERVER_RUN_FLAGS="--gap_log=$RAW/$name.server.gaps --poll_gap_us=20"
                    logs=(--gap_log="$RAW/$name.client.gaps" --poll_gap_us=20
                          --arrival_log="$RAW/$name.arrivals")
                fi
                probed "$name" homa_memif "$name" 65536 \
                    --workload="$w" --capacity_rps="$knee" --load_pcts="$pct" --slowdown \
                    --duration="$W_SECS" --cdf="$RAW/$name.cdf" "${logs[@]}"
                SERVER_RUN_FLAGS=""
                if [ ${#logs[@]} -gt 0 ]; then stall_split "$name" "$w"; fi
                [ "$(python3 "$ROOT/apps/bench/bench_raw.py" load-placed-as-knee "$RAW" "$w" "$pct")" = no ] ||
                    break
                log "  $w at $pct %: the vCPUs moved during the run or sat otherwise than around the knee"
            done
        done
    done
}

# The knee searches judge their RPCs that met no absence of 50 us or more of either end's
# lcore (homa-perf --knee_without_gaps; a poll gap less 0.5 us per frame handled in it): the
# server publishes its gaps in raw/NAME.gapshare, the client reads them there.
# gap_share_server NAME / gap_share_client NAME: their flags.
gap_share_server() { echo "--gap_share=$RAW/$1.gapshare"; }
gap_share_client() { echo "--knee_without_gaps --peer_gap_share=$RAW/$1.gapshare"; }

# stall_split NAME W: a load run's RPCs split by whether they met an absence of 50 us or more
# of either end's lcore (raw/NAME.stall.json, and the gaps by length in raw/NAME.stall.txt),
# and of 20 us or more (raw/NAME.stall20.json: an idle core sees about a thousand of those a
# second); the arrival log, the large file, is removed after. W5 has no message up to
# 1,000 B: 10,000.
stall_split() {
    local name=$1 max=1000
    [ "$2" = w5 ] && max=10000
    if [ -f "$RAW/$name.arrivals" ] && [ -f "$RAW/$name.client.gaps" ] &&
        [ -f "$RAW/$name.server.gaps" ]; then
        local args=(--arrivals "$RAW/$name.arrivals" --gaps "$RAW/$name.client.gaps"
                    "$RAW/$name.server.gaps" --max_bytes "$max")
        if ! python3 apps/bench/stall_split.py "${args[@]}" --min_gap_us 50 --json \
                > "$RAW/$name.stall.json" ||
            ! python3 apps/bench/stall_split.py "${args[@]}" --min_gap_us 50 \
                > "$RAW/$name.stall.txt" ||
            ! python3 apps/bench/stall_split.py "${args[@]}" --min_gap_us 20 --json \
                > "$RAW/$name.stall20.json"; then
            log "  $name: stall_split.py failed (see $RAW/$name.stall.txt)"
        fi
    else
        log "  $name: no arrival or gap log: its tail is not split by the lcores' gaps"
    fi
    rm -f "$RAW/$name.arrivals"
}

# Overload step: 2x the knee for 50 ms between stretches at 50 % (the knee from the load
# stage; homa-perf searches it again, in the same process, when that stage did not run or
# found none, or when the host placed the two vCPUs otherwise than while that knee was found:
# twice a capacity of the other placement is not twice this one's; docs/perf.md).
homa_overload_all() {
    local w knee capacity steps try
    for w in $OVERLOAD_WORKLOADS; do
        for try in $(seq 1 "$OVERLOAD_TRIES"); do
            [ "$try" = 1 ] || set_aside "memif_${w}_overload" $((try - 1))
            # After a try whose capacity was wrong, the step searches its own.
            if [ "$try" = 1 ]; then knee=$(knee_of "$w"); else knee=""; fi
            probe "memif_${w}_overload_pingpong.txt"
            if [ -n "$knee" ] &&
                [ "$(python3 "$ROOT/apps/bench/bench_raw.py" knee-placed-otherwise "$RAW" "$w")" = yes ]; then
                log "  $w: the vCPUs are placed otherwise than while its knee was found:" \
                    "the step searches its own"
                knee=""
            fi
            if [ -n "$knee" ]; then
                capacity="--capacity_rps=$knee"
            else
                capacity="--find_capacity $KNEE $(gap_share_client "memif_${w}_overload")"
                SERVER_RUN_FLAGS=$(gap_share_server "memif_${w}_overload")
            fi
            log "homa-dp over net_memif: $w overload step" \
                "(capacity: ${knee:-searched first})$(try_of "$try" "$OVERLOAD_TRIES")"
            # 1 s before and after: the baseline's windows are the yardstick for the later ones
            # (how often the host's own stalls push a window over the bound), so they need as many.
            # (--quick keeps homa-perf's 0.3 s and 0.5 s.)
            # W5 has no message of 1,000 B or less: homa-perf watches its shortest size class
            # (up to 10 KB, about 16 % of its RPCs, at about 1,200 RPC/s at 50 %), whose windows
            # must be about 0.6 s to hold 100 of them; 3 s on each side give them room.
            steps="--step_before=1 --step_after=1"
            [ "$w" = w5 ] && steps="--step_before=3 --step_after=3"
            [ "$QUICK" = 1 ] && steps=""
            # shellcheck disable=SC2086
            homa_memif "memif_${w}_overload" 65536 --workload="$w" --overload_step $steps $capacity
            SERVER_RUN_FLAGS=""
            rm -f "$RAW/memif_${w}_overload.gapshare"
            probe "memif_${w}_overload_pingpong_after.txt"
            [ "$(python3 "$ROOT/apps/bench/bench_raw.py" overload-base-above-knee "$RAW" \
                "$w")" = yes ] || break
            log "  $w: the step's 50 % base was beyond its knee's p99 bound in most windows:" \
                "its capacity was not this host's now"
        done
        overload_control "$w" "$steps"
    done
}

# overload_control W STEPS: the control of W's overload step, a run without a step (the "step"
# at the 50 % base), with the capacity, windows and seed the step run used. Its windows after
# the step's time show how often they go over the bound when nothing happened: the
# workload's own large messages and the host's stalls (docs/perf.md, "The overload step's
# control").
overload_control() {
    local w=$1 steps=$2 cap
    cap=$(python3 -c 'import json,sys
try: print(json.load(open(sys.argv[1]))["overload_step"]["capacity_rps"])
except Exception: print("")' "$RAW/memif_${w}_overload.json")
    [ -n "$cap" ] || { log "  $w: no overload step ran: no control run"; return 0; }
    log "homa-dp over net_memif: $w overload control, no step (50 % of $cap RPC/s throughout)"
    probe "memif_${w}_overload_control_pingpong.txt"
    # shellcheck disable=SC2086
    homa_memif "memif_${w}_overload_control" 65536 --workload="$w" --overload_step $steps \
        --capacity_rps="$cap" --step_pct=50 --step_base_pct=50
    probe "memif_${w}_overload_control_pingpong_after.txt"
}

# Scaling: closed loop with ramp-up (homa-perf's default: 2 us per RPC, at most 1 s; the ramp
# and a 50 ms warm-up are not measured). Bounded: SIGINT 40 s after the phase should have
# ended makes homa-perf stop and report what completed. The sweep runs in rounds (every point
# once, then again): the targets are ratios between points, and the VM's speed drifts by tens
# of per cent over minutes, which runs of one point back to back would count as the point's.
homa_scaling_all() {
    local o size prefix sweep base try
    for size in 100 100000; do
        # base: the point the others are divided by (bench_report.py's ratios).
        if [ "$size" = 100 ]; then
            prefix=memif_scale sweep=$SCALE_SWEEP base=1000
        else
            prefix=memif_scale100k sweep=$SCALE100K_SWEEP base=10
        fi
        for rep in $(seq 1 "$SCALE_REPEAT"); do
            for o in $sweep; do
                local name
                name=$(rep_name "$prefix" "$o" "$rep")
                for try in $(seq 1 "$SCALE_TRIES"); do
                    [ "$try" = 1 ] || set_aside "$name" $((try - 1))
                    log "homa-dp over net_memif: scaling, $size B echo with $o live RPCs ($SCALE_SECS s, run $rep of $SCALE_REPEAT)$(try_of "$try" "$SCALE_TRIES")"
                    # The placement before and after: a ratio between two runs is judged only
                    # when both kept the same one (memif's rate differs by it; docs/perf.md).
                    CLIENT_TIMEOUT=$(python3 -c "print(int($SCALE_SECS + 40))") \
                        probed "$name" homa_memif "$name" $((o + 65536)) --workload="$size" \
                        --outstanding="$o" --duration="$SCALE_SECS"
                    # A point after the base that did not keep the base's placement of this
                    # round gives no ratio: run it again (the tries set aside are not judged).
                    [ "$o" -gt "$base" ] || break
                    [ "$(python3 "$ROOT/apps/bench/bench_raw.py" scale-placed-as-base "$RAW" \
                        "$prefix" "$o" "$rep" "$base")" = no ] || break
                    log "  $o live RPCs: placed otherwise than the round's $base (or moved)"
                done
            done
        done
    done
}

homa_null_all() {
    log "homa-dp over net_null local delivery (one process, both roles)"
    homa_null null_latency --workload=100 --outstanding=1 --duration="$NULL_SECS" \
        --cdf="$RAW/null_latency.cdf"
    local o
    for o in $RATE_SWEEP; do
        for rep in $(seq 1 "$RATE_REPEAT"); do
            homa_null "$(rep_name null_rate "$o" "$rep")" --workload=100 --outstanding="$o" \
                --duration="$NULL_SECS"
        done
    done
    homa_null null_1mb --workload=1000000 --outstanding=4 --duration="$NULL_SECS"
    # A count, not a time: the one figure of this stage that the machine's drift does not move.
    rm -f "$RAW/null_instructions.txt"
    if [ "$QUICK" = 1 ]; then
        log "  instructions per RPC (callgrind): skipped with --quick (about a minute)"
    elif command -v valgrind >/dev/null; then
        log "homa-dp over net_null: instructions per 100 B echo RPC (callgrind, instr_per_rpc.sh)"
        apps/bench/instr_per_rpc.sh "$RELEASE_BUILD" > "$RAW/null_instructions.txt" \
            2> "$RAW/null_instructions.log" || log "  instr_per_rpc.sh exited $?"
    else
        log "  instructions per RPC: valgrind is not installed, not measured"
    fi
    rm -f "$RAW/null_vs_issue15_start.txt"
    if [ "$QUICK" = 1 ]; then
        log "  issue 15's start against this build: skipped with --quick (builds that code first)"
    elif issue15_start_build; then
        log "homa-dp over net_null: issue 15's start ($ISSUE15_START) against this build," \
            "$NULL_PAIRS alternating pairs (cycles_ab.sh)"
        apps/bench/cycles_ab.sh "$ISSUE15_BUILD" "$RELEASE_BUILD" --pairs "$NULL_PAIRS" \
            --seconds 2 > "$RAW/null_vs_issue15_start.txt" 2>&1 || log "  cycles_ab.sh exited $?"
    fi
    pgo_pairs
}

# The release build with profile-guided optimisation: shown beside the judged figures, against
# this build and against issue 15's start, in pairs of its own.
pgo_pairs() {
    rm -f "$RAW/null_pgo_vs_release.txt" "$RAW/null_vs_issue15_start_pgo.txt"
    if [ "$QUICK" = 1 ]; then
        log "  the profile-guided build: skipped with --quick (a second build and its training)"
        return 0
    fi
    local pgo
    pgo=$(realpath -m "${RELEASE_BUILD%/}-pgo")
    log "building the profile-guided build into $pgo (pgo_build.sh, about 2 minutes)"
    if ! apps/bench/pgo_build.sh "$pgo" 2> "$RAW/pgo_build.log"; then
        log "  the profile-guided build failed (raw/pgo_build.log), not measured"
        return 0
    fi
    log "homa-dp over net_null: this build against its profile-guided build," \
        "$NULL_PAIRS alternating pairs"
    apps/bench/cycles_ab.sh "$RELEASE_BUILD" "$pgo" --pairs "$NULL_PAIRS" --seconds 2 \
        > "$RAW/null_pgo_vs_release.txt" 2>&1 || log "  cycles_ab.sh exited $?"
    if [ -x "${ISSUE15_BUILD:-}/apps/homa-perf" ]; then
        apps/bench/cycles_ab.sh "$ISSUE15_BUILD" "$pgo" --pairs "$NULL_PAIRS" --seconds 2 \
            > "$RAW/null_vs_issue15_start_pgo.txt" 2>&1 || log "  cycles_ab.sh exited $?"
    fi
}

# The code issue 15 started from, built once beside the release build; sets ISSUE15_BUILD.
# Fails (saying why) without the git history or when that code does not build.
ISSUE15_START=bc2e722
issue15_start_build() {
    local dir
    dir=$(realpath -m "${RELEASE_BUILD%/}-issue15-start")
    ISSUE15_BUILD=$dir/build
    [ -x "$ISSUE15_BUILD/apps/homa-perf" ] && return 0
    if ! git -C "$ROOT" cat-file -e "$ISSUE15_START^{commit}" 2>/dev/null; then
        log "  issue 15's start: commit $ISSUE15_START is not in this clone's history, not measured"
        return 1
    fi
    log "building issue 15's start ($ISSUE15_START) into $dir (once)"
    rm -rf "$dir"
    mkdir -p "$dir/src"
    if ! git -C "$ROOT" archive "$ISSUE15_START" | tar -x -C "$dir/src"; then
        log "  issue 15's start: git archive of $ISSUE15_START failed, not measured"
        return 1
    fi
    if ! (cd "$dir/src" && meson setup "$ISSUE15_BUILD" --buildtype=release -Db_ndebug=true \
            -Dtests=false > "$dir/setup.log" 2>&1 &&
          ninja -C "$ISSUE15_BUILD" apps/homa-perf > "$dir/ninja.log" 2>&1); then
        log "  issue 15's start did not build (see $dir/*.log), not measured"
        return 1
    fi
}

# ---------------------------------------------------------------- application threads
app_threads_all() {
    log "application threads against run-to-completion: $APP_ROUNDS alternating rounds"
    rm -f "$RAW"/app_*
    local r o
    for r in $(seq 1 "$APP_ROUNDS"); do
        probe "app_pingpong_r$r.txt"
        for o in 1 32; do
            homa_null "app_rtc_${o}_r$r" --workload=100 --outstanding="$o" --duration="$APP_SECS"
            # shellcheck disable=SC2046
            timeout -s INT 120 "$PERF" $(eal 0@0,1@1) --vdev=net_null0,no-rx=1 -- --role=both \
                --app_threads --workload=100 --outstanding="$o" --duration="$APP_SECS" --json \
                > "$RAW/app_thr_${o}_r$r.json" 2> "$RAW/app_thr_${o}_r$r.log" ||
                log "  app_thr_${o}_r$r: homa-perf exited $?"
        done
        # Again after the round: a placement that changed during it is not judged as either.
        probe "app_pingpong_after_r$r.txt"
    done
}

# ---------------------------------------------------------------- 4. RX pipeline
rx_pipeline() {
    # One process per point, each bounded: a point that does not finish is reported as missing
    # (n/a), with its log kept, instead of holding up the whole run. RX_REPEAT rounds, each
    # over every point (a round is a few seconds, so a slow minute of the VM lands on every
    # point of one round rather than on every run of one point); the report judges each point
    # by its median run and prints min-max. Round 1 writes rx_pipeline_<payload>_<n>.json,
    # round k rx_pipeline_<payload>_<n>_r<k>.json.
    # Each round runs its own fresh copy of the binary. The forty-third session found that one
    # file of the binary ran the 10^5 and 10^6 points at half the rate of a byte-identical copy
    # (the engine stage's cycles doubled) while the copy ran at full speed, run after run: the
    # placement of the file's pages in this VM's memory, not the code. With a copy per round,
    # the rounds do not all share one placement, and the median of three is not hostage to it.
    local n payload limit round suffix rxbin
    limit=$([ "$QUICK" = 1 ] && echo 30 || echo 60)
    rm -f "$RAW"/rx_pipeline_*
    for round in $(seq 1 "$RX_REPEAT"); do
        suffix=$([ "$round" = 1 ] && echo "" || echo "_r$round")
        rxbin=$RAW/bench_rx_pipeline.copy$round
        cp "$RXBENCH" "$rxbin"
        for payload in 64 1400; do
            [ "$payload" = 1400 ] && [ "$QUICK" = 1 ] && continue
            local points=$RX_RPCS
            [ "$payload" = 1400 ] && points="1,1000,100000"
            for n in ${points//,/ }; do
                log "RX DATA pipeline on one core: $n live RPCs, $payload B payload, round" \
                    "$round of $RX_REPEAT (at most $limit s)"
                timeout -k 5 "$limit" taskset -c 0 "$rxbin" --rpcs="$n" --payload="$payload" \
                    --seconds="$RX_SECS" --json \
                    > "$RAW/rx_pipeline_${payload}_$n$suffix.json" \
                    2> "$RAW/rx_pipeline_${payload}_$n$suffix.log" ||
                    log "  bench_rx_pipeline --rpcs=$n --payload=$payload: exit $? (124: timed out)"
            done
        done
        rm -f "$rxbin"
    done
}

# ---------------------------------------------------------------- profile
profile() {
    if ! command -v perf >/dev/null; then
        log "perf not installed: no profile"
        return
    fi
    log "perf record of the 100 B echo (net_null, both roles, 32 outstanding)"
    # -D: samples start after the EAL's start-up (hugepage clearing, probing), so that the
    # profile is the echo's; the run's measured window is longer than what is skipped.
    # shellcheck disable=SC2046
    if perf record -D "$PROFILE_DELAY_MS" -e cpu-clock -F 4999 -o "$RAW/perf.data" -- "$PERF" $(eal 0@0) \
        --vdev=net_null0,no-rx=1 -- --role=both --workload=100 --outstanding=32 \
        --duration="$NULL_SECS" --json > "$RAW/profile_run.json" 2> "$RAW/profile_run.log"; then
        perf report -i "$RAW/perf.data" --stdio --no-children --sort symbol --percent-limit 1 \
            > "$RAW/perf_report.txt" 2>/dev/null || true
        # By source file and function, for the per-stage budget (bench_report.py).
        perf report -i "$RAW/perf.data" --stdio --no-children --sort srcfile,sym \
            --comm homa-perf > "$RAW/perf_stages.txt" 2>/dev/null || true
    else
        log "  perf record failed (see raw/profile_run.log)"
    fi
    rm -f "$RAW/perf.data" "$RAW/perf.data.old"
}

# ---------------------------------------------------------------- machine
# Processes other than this script's that used >= 10 % of a CPU over one second ("none").
other_busy() {
    local busy
    busy=$(top -b -n 2 -d 1 2>/dev/null | awk '/^ *PID/ {n++; next}
        n == 2 && $9 + 0 >= 10 {printf "%s(%s%%) ", $12, $9}')
    echo "${busy:-none}"
}

machine() {
    {
        echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
        echo "nproc: $(nproc)"
        echo "kernel: $(uname -r)"
        echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
        echo "dpdk: $(pkg-config --modversion libdpdk 2>/dev/null || dpkg-query -W -f='${Version}' dpdk)"
        echo "sockperf: $(dpkg-query -W -f='${Version}' sockperf 2>/dev/null || echo none)"
        echo "memory_mode: $MEMORY"
        echo "quick: $QUICK"
        echo "memif_pair_flags: ${PAIR_FLAGS:-none}"
        echo "loadavg: $(cut -d' ' -f1-3 /proc/loadavg)"
        # With autogroup on, a process from another session (even nice 19) gets half the
        # cores, and a memif pair then takes turns instead of running together: its rate drops
        # about 5x (docs/perf.md, "Measuring on this machine"). Recorded, not changed.
        echo "sched_autogroup: $(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo n/a)"
        echo "other_busy_processes: $(other_busy)"
        # The stall floor under every latency below: what a spinning poller loses per core.
        "$HICCUP" "$([ "$QUICK" = 1 ] && echo 0.5 || echo 5)" | sed -n 's/^total */hiccups: /p'
        lscpu | sed 's/^/lscpu: /'
    } > "$RAW/machine.txt"
}

# ---------------------------------------------------------------- cold data (file service)
cold_data() {
    local dir=${COLD_DIR:-/var/tmp} mb=${COLD_MB:-512} rate=${COLD_RATE:-1000}
    local secs=${COLD_SECS:-1} rounds=${COLD_ROUNDS:-10} file fstype srv i
    rm -f "$RAW"/cold.mix.* "$RAW"/cold.launcher.*
    local repeat=${COLD_REPEAT:-3}
    if [ "$QUICK" = 1 ]; then mb=64; rate=200; secs=1; rounds=2; repeat=1; fi
    fstype=$(stat -f -c %T "$dir")
    if [ "$fstype" = tmpfs ] || [ "$fstype" = ramfs ]; then
        log "cold: $dir is $fstype (pages never leave memory): skipped; set COLD_DIR to a disk"
        return 0
    fi
    file=$dir/homa_bench_cold_${mb}M.bin
    if [ "$(stat -c %s "$file" 2>/dev/null || echo 0)" != $((mb * 1048576)) ]; then
        log "cold: writing $file ($mb MiB of random bytes)"
        dd if=/dev/urandom of="$file" bs=1M count="$mb" status=none
    fi
    log "cold: plain sequential read (dd bs=1M) beside the pager's cold reads"
    {
        echo "loadavg: $(cut -d' ' -f1-3 /proc/loadavg)"
        for i in 1 2 3; do
            python3 -c 'import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd,0,0,os.POSIX_FADV_DONTNEED)' "$file"
            dd if="$file" of=/dev/null bs=1M 2>&1 | tail -1
        done
    } > "$RAW/cold.dd.txt"
    "$PAGER_BENCH" "$file" 3 0,1,4,8 > "$RAW/cold.pager.txt" 2>&1 || log "  cold: bench_pager_cold exited $?"
    "$HICCUP" 3 > "$RAW/cold.hiccup.txt" 2>&1 || log "  cold: bench_hiccup exited $?"
    # Layouts (COLD_LAYOUTS, default "turns core0"), run one after the other COLD_REPEAT times
    # (default 3) so that the host's noise falls on both alike:
    #   turns  control lcore on the worker's core 1, pulling 64 KiB per turn that the worker
    #          gives when it has nothing to do (--file_pull_turns), no reader threads;
    #   core0  control lcore and 4 reader threads on core 0, the client's core (the layout
    #          before 2026-12-01).
    # The launcher's main lcore is on core 0 either way (it only sleeps).
    local layout run lcores flags
    for run in $(seq 1 "$repeat"); do
        for layout in ${COLD_LAYOUTS:-turns core0}; do
            case $layout in
                turns) lcores=0@0,1@1,2@1
                       flags="--file_pull_turns --file_io_threads=0 --file_pull_chunk_kb=64" ;;
                core0) lcores=0@0,1@1,2@0; flags="--file_io_threads=4" ;;
                *) log "cold: unknown layout $layout"; continue ;;
            esac
            log "cold: run $run, layout $layout: launcher serving $file, homa-perf mixed workload ($rate RPC/s, ${secs} s per phase, $rounds rounds)"
            rm -f "$SOCK" "$RAW/cold.mix.$layout.$run.log"
            # shellcheck disable=SC2046,SC2086
            bg "$LAUNCHER" $(eal "$lcores") --vdev=net_memif0,role=server,socket=$SOCK,socket-abstract=no -- \
                --local_ip=10.0.0.1 --echo_ports=99 --serve_file="$file" --file_allow_no_prefetch \
                $flags > "$RAW/cold.launcher.$layout.$run.log" 2>&1
            srv=$!
            for i in $(seq 1 100); do grep -qs "worker lcore" "$RAW/cold.launcher.$layout.$run.log" && break; sleep 0.1; done
            echo "loadavg_before $layout $run: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RAW/cold.dd.txt"
            # shellcheck disable=SC2046,SC2086
            timeout -k 30 -s INT 600 "$PERF" $(eal 0@0) \
                --vdev=net_memif0,role=client,socket=$SOCK,socket-abstract=no -- \
                --role=client --local_ip=10.0.0.2 --server_ip=10.0.0.1 --server_port=99 \
                --file_name="$(basename "$file")" --file_fraction=0.1 --file_bytes=999976 \
                --rate="$rate" --duration="$secs" --file_phases=echo,prefetch,noprefetch \
                --file_rounds="$rounds" --json --hold_port_s=30 \
                $CLIENT_FLAGS > "$RAW/cold.mix.$layout.$run.json" 2> "$RAW/cold.mix.$layout.$run.log" &
            stop_server_when_held "$srv" $! "$RAW/cold.mix.$layout.$run.log" "cold $layout $run"
            echo "loadavg_after $layout $run: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RAW/cold.dd.txt"
            rm -f "$SOCK"
        done
    done
    python3 apps/bench/cold_report.py "$RAW" > "$OUT/cold.md" || log "  cold: no report"
    cat "$OUT/cold.md" >&2
}

# ---------------------------------------------------------------- main
# One function, so that bash has read all of it before it runs (editing the file meanwhile is safe).
main() {
    START=$(date +%s)
    ensure_packages
    if stage testpmd; then
        command -v dpdk-testpmd >/dev/null || { log "dpdk-testpmd not found (Debian package dpdk)"; exit 3; }
    fi
    [ "$BUILD" = 1 ] && build
    [ -x "$PERF" ] && [ -x "$RXBENCH" ] || { log "missing $PERF or $RXBENCH: build first"; exit 3; }
    setup_memory
    if [ -z "$ONLY" ]; then
        machine
        grep -q '^other_busy_processes: none' "$RAW/machine.txt" ||
            log "WARNING: other processes are busy ($(sed -n 's/^other_busy_processes: //p' "$RAW/machine.txt")): two-process numbers will be low"
    else
        echo "rerun ($ONLY) loadavg: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RAW/machine.txt"
    fi
    if stage testpmd; then
        testpmd_null
        testpmd_memif 64
        testpmd_memif 1500
    fi
    if stage kernel; then
        if command -v sockperf >/dev/null; then sockperf_runs; else log "sockperf missing: skipped"; fi
    fi
    if stage memif; then homa_memif_all; fi
    if stage load; then homa_load_all; fi
    if stage overload; then homa_overload_all; fi
    if stage scaling; then homa_scaling_all; fi
    if stage null; then homa_null_all; fi
    if stage appthreads; then app_threads_all; fi
    if stage rx; then rx_pipeline; fi
    if stage profile && [ "$PROFILE" = 1 ]; then profile; fi
    if stage cold; then cold_data; fi
    if [ -z "$ONLY" ]; then
        echo "loadavg_end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RAW/machine.txt"
        echo "elapsed_s: $(( $(date +%s) - START ))" >> "$RAW/machine.txt"
    fi
    python3 apps/bench/bench_report.py "$RAW" "$OUT"
    if [ "$DOCS" = 1 ]; then
        for f in "$OUT"/plots/*.png; do [ -f "$f" ] && cp "$f" "docs/perf_$(basename "$f")"; done
        cp "$OUT/table.md" docs/perf_table.md
        log "plots and table copied to docs/"
    fi
    log "done in $(( $(date +%s) - START )) s: $OUT/results.json, $OUT/table.md"
}

main
