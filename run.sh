#!/usr/bin/env bash
# homa-dp quick start.
#   ./run.sh test   install what is missing, build (debug, assertions on), run every test but
#                   the pure layers' (proto, mem), run the proto, mem, dataplane and apps tests
#                   under ASan+UBSan (build-asan, built at idle priority while the debug tests
#                   run, then finished); proto and mem run only there (tests/sanitize_plan.py
#                   says why), so each of their cases counts once. The last line is
#                   "N passed, N failed[, N skipped]" counting test cases of every run. A
#                   bounded libFuzzer run of the wire decoder (build-fuzz, clang) goes beside
#                   the ASan+UBSan stage. ./run.sh test --sanitize runs only the
#                   ASan+UBSan stage.
#   ./run.sh perf   install what is missing, build optimised, reserve hugepages when possible,
#                   and run homa-perf's embedded default (client and server in one process over
#                   net_null local delivery: 100 B echo, then 1 MB echo) and print its table.
#                   Extra arguments go to homa-perf after `--` (e.g. ./run.sh perf --json).
#   ./run.sh build  install what is missing and build only.
#   ./run.sh bench  (optional, as root) the benchmarks side by side with testpmd and kernel
#                   UDP/TCP: apps/bench/run_bench.sh (arguments go to it, e.g. --quick).
# Works on a fresh Debian 12 machine; apt-get runs only when a package is missing.
set -euo pipefail
cd "$(dirname "$0")"

BUILD=${HOMA_BUILD_DIR:-build}
RELEASE_BUILD=${HOMA_RELEASE_BUILD_DIR:-build-release}
FUZZ_BUILD=${HOMA_FUZZ_BUILD_DIR:-build-fuzz}
ASAN_BUILD=${HOMA_ASAN_BUILD_DIR:-build-asan}
PACKAGES=(build-essential pkg-config meson ninja-build python3 libdpdk-dev dpdk-dev dpdk
          libgflags-dev libgtest-dev libgmock-dev libnuma-dev clang libclang-rt-14-dev tshark
          clang-format            # tests/format_check.sh enforces .clang-format
          iproute2 iputils-ping   # the tap and veth tests drive the kernel side with ip and ping
          golang-go)              # go test of the Go package (dataplane/go/homa)

log() { printf '[run.sh] %s\n' "$*" >&2; }

# "<stage> done: <wall> s since start, CPU <user+sys of finished children> s (+<this stage>)",
# with the load average: CPU time says what a stage costs even when the machine is shared.
CPU_LAST=0
stage_done() {
    # This shell's (or the fuzz subshell's) pid, read here: inside $(...) it would be the
    # command substitution's own.
    local ticks cpu pid=$BASHPID
    ticks=$(awk '{print $16 + $17}' "/proc/$pid/stat" 2>/dev/null || echo 0)
    cpu=$(( ticks / $(getconf CLK_TCK) ))
    log "$1 done: $SECONDS s, CPU $cpu s (+$(( cpu - CPU_LAST ))), load $(cut -d' ' -f1-3 /proc/loadavg)"
    CPU_LAST=$cpu
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        log "need root to run: $*"; return 1; fi
}

ensure_packages() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing missing packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The test builds carry line tables only (-g1, after meson's -g): backtraces and sanitizer
# reports still name file and line, and the builds, the longest part of ./run.sh test, take
# about a quarter less compile time than with full debug info. Reconfigure by hand for gdb.
# They are unity builds too: a target's sources compile 16 to a translation unit, so the
# DPDK, gflags and standard headers are parsed once per 16 files, not per file (the libraries
# and apps measured 44 instead of 191 CPU s; a changed file recompiles its whole chunk).
# A target whose files cannot share one says so with override_options: ['unity=off'].
TEST_BUILD_ARGS=(-Dcpp_args=-g1 -Dc_args=-g1 -Dunity=on -Dunity_size=16)

build() {
    if [ ! -f "$BUILD/build.ninja" ]; then
        meson setup "$BUILD" --buildtype=debug -Db_ndebug=false "${TEST_BUILD_ARGS[@]}" >/dev/null
    fi
    ninja -C "$BUILD" >/dev/null || ninja -C "$BUILD"
}

# The libFuzzer target needs clang; it runs for a bounded time and is skipped (not faked)
# when clang or its fuzzer runtime is absent.
run_fuzz() {
    if ! command -v clang++ >/dev/null; then
        log "clang++ not found: skipping the wire fuzz run (corpus replay still ran)"
        return 0
    fi
    if [ ! -f "$FUZZ_BUILD/build.ninja" ]; then
        CXX=clang++ meson setup "$FUZZ_BUILD" -Dfuzz=true -Dtests=false -Dunity=on \
            -Dunity_size=16 >/dev/null
    fi
    ninja -C "$FUZZ_BUILD" tests/wire_fuzz >/dev/null
    meson test -C "$FUZZ_BUILD" --no-rebuild --suite fuzz --print-errorlogs >/dev/null || true
    grep -hE '^(Done [0-9]+ runs|stat::number_of_executed_units)' \
        "$FUZZ_BUILD/meson-logs/testlog.txt" | sed 's/^/[fuzz] /' >&2 || true
}

# The proto, mem, dataplane and apps tests again in an ASan+UBSan build (issue 14: the
# sanitizers stay clean, the hostile-pcap test included). Only what those tests need is built
# there; tests/sanitize_plan.py chooses them and prints any test it leaves out, with the reason.
# A report stops the process with an error (halt_on_error), so its test fails; LeakSanitizer
# runs at every exit (no suppressions: DPDK's EAL, torn down by rte_eal_cleanup, leaks nothing
# it reports today).
ASAN_TARGETS=''
asan_setup() {
    if [ ! -f "$ASAN_BUILD/build.ninja" ]; then
        meson setup "$ASAN_BUILD" --buildtype=debug -Db_ndebug=false "${TEST_BUILD_ARGS[@]}" \
            -Db_sanitize=address,undefined -Db_lundef=false >/dev/null || return 1
    fi
    ASAN_TARGETS=$(python3 tests/sanitize_plan.py "$ASAN_BUILD" targets) || return 1
}

run_sanitized() {
    [ -n "$ASAN_TARGETS" ] || asan_setup || return 1
    local tests rc=0
    tests=$(python3 tests/sanitize_plan.py "$ASAN_BUILD" tests 2>/dev/null) || return 1
    # shellcheck disable=SC2086
    ninja -C "$ASAN_BUILD" $ASAN_TARGETS >/dev/null || ninja -C "$ASAN_BUILD" $ASAN_TARGETS ||
        return 1
    # shellcheck disable=SC2086
    ASAN_OPTIONS=halt_on_error=1:print_stacktrace=1:detect_leaks=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        meson test -C "$ASAN_BUILD" --no-rebuild --num-processes 2 --timeout-multiplier 3 \
        --print-errorlogs $tests >&2 || rc=$?
    return $rc
}

# The debug tests keep about one of two cores busy on average (many run alone, is_parallel:
# false, and wait on sleeps, EAL start-up and child processes), and the debug build's last
# links and compiles leave a core free at times. The ASan+UBSan build starts beside both at
# idle priority (SCHED_IDLE: it runs only on a core that nothing else wants, so the tests,
# timing assertions included, keep the CPU they had). When the debug tests end it goes on at
# normal priority (finish_idle_asan_build), so that no half-done compile is thrown away.
start_idle_asan_build() {
    command -v chrt >/dev/null && chrt --idle 0 true 2>/dev/null || return 1
    asan_setup || return 1
    # shellcheck disable=SC2086
    chrt --idle 0 ninja -j 2 -C "$ASAN_BUILD" $ASAN_TARGETS >/dev/null 2>&1 &
    ASAN_IDLE_PID=$!
}

# Moves a process and everything it started (ninja, its shells, compilers, assemblers) back to
# normal scheduling; what ninja starts from then on inherits that.
to_normal_priority() {
    local child
    chrt --other -p 0 "$1" >/dev/null 2>&1 || return 1
    for child in $(pgrep -P "$1"); do to_normal_priority "$child" || true; done
}

finish_idle_asan_build() {
    [ -n "${ASAN_IDLE_PID:-}" ] || return 0
    if ! to_normal_priority "$ASAN_IDLE_PID"; then
        # Not allowed to leave SCHED_IDLE (an unprivileged RLIMIT_NICE): stop it instead; ninja
        # stops its compilers and removes what they had half written, run_sanitized finishes.
        kill -TERM "$ASAN_IDLE_PID" 2>/dev/null || true
    fi
    wait "$ASAN_IDLE_PID" 2>/dev/null || true
}

# The debug stage's build: every default target but the executables of the tests that run only
# under ASan+UBSan (tests/sanitize_plan.py debug-targets), which it would build for nothing.
build_for_tests() {
    if [ ! -f "$BUILD/build.ninja" ]; then
        meson setup "$BUILD" --buildtype=debug -Db_ndebug=false "${TEST_BUILD_ARGS[@]}" >/dev/null
    fi
    local targets
    targets=$(python3 tests/sanitize_plan.py "$BUILD" debug-targets) || return 1
    # shellcheck disable=SC2086
    ninja -C "$BUILD" $targets >/dev/null || ninja -C "$BUILD" $targets
}

build_release() {
    if [ ! -f "$RELEASE_BUILD/build.ninja" ]; then
        meson setup "$RELEASE_BUILD" --buildtype=release -Db_ndebug=true -Db_lto=true -Dtests=false >/dev/null
    fi
    ninja -C "$RELEASE_BUILD" apps/homa-perf >/dev/null || ninja -C "$RELEASE_BUILD" apps/homa-perf
}

# Prints the EAL memory arguments: hugepages when we have (or, as root, can reserve) them,
# otherwise --no-huge with a note on stderr saying why.
eal_memory_args() {
    local want=512 free=0 nr_file=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
    if [ -r /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages ]; then
        free=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)
    fi
    if [ "$free" -lt "$want" ] && [ "$(id -u)" -eq 0 ] && [ -w "$nr_file" ]; then
        echo $(( $(cat "$nr_file") + want - free )) > "$nr_file" 2>/dev/null || true
        free=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)
    fi
    if ! grep -qs ' hugetlbfs ' /proc/mounts && [ "$(id -u)" -eq 0 ]; then
        mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null || true
    fi
    if [ "$free" -ge 256 ] && grep -qs ' hugetlbfs ' /proc/mounts; then
        log "using hugepages ($free free 2 MiB pages)"
        echo "--huge-unlink -m 512"
    else
        log "NOTE: no hugepages available (need root to reserve them, or 256 free 2 MiB pages):"
        log "      running with --no-huge (4 KiB pages); numbers will be lower than with hugepages"
        echo "--no-huge -m 1024"
    fi
}

cmd_perf() {
    ensure_packages
    build_release
    local mem
    mem=$(eal_memory_args)
    # shellcheck disable=SC2086
    "$RELEASE_BUILD/apps/homa-perf" $mem --no-shconf --no-pci -l 0 --file-prefix="homa-perf-$$" \
        --log-level=lib.eal:warning --vdev=net_null0,no-rx=1 -- "$@"
}

cmd_test() {
    ensure_packages
    local rc=0 dirs=() fuzz_pid='' fuzz_log
    if [ "${1:-}" != --sanitize ]; then
        ASAN_IDLE_PID=''
        start_idle_asan_build || log "the ASan+UBSan build waits for the debug tests"
        build_for_tests
        stage_done "debug build"
        local skip
        skip=$(python3 tests/sanitize_plan.py "$BUILD" debug-args) || rc=1
        # shellcheck disable=SC2086
        meson test -C "$BUILD" --no-rebuild --num-processes 2 --print-errorlogs $skip >&2 ||
            rc=$?
        stage_done "debug tests${ASAN_IDLE_PID:+ (ASan+UBSan build beside them, idle priority)}"
        dirs+=("$BUILD")
        # The fuzz run is bounded by wall time and uses one core: it runs beside the ASan+UBSan
        # stage (whose build and tests keep the other core busy) instead of before it. Its
        # output is printed once it is done, so the two stages' logs do not interleave.
        if command -v clang++ >/dev/null; then
            rm -f "$FUZZ_BUILD/meson-logs/testlog.junit.xml" "$FUZZ_BUILD/meson-logs/testlog.json"
            dirs+=("$FUZZ_BUILD")
        fi
        fuzz_log=$(mktemp)
        ( CPU_LAST=0; run_fuzz; stage_done "fuzz (beside the ASan+UBSan stage)" ) >"$fuzz_log" 2>&1 &
        fuzz_pid=$!
        # The idle ASan+UBSan build's CPU time counts in the next stage, once it has ended.
        finish_idle_asan_build
    fi
    # A stale log must not stand in for a stage that failed before running its tests.
    rm -f "$ASAN_BUILD/meson-logs/testlog.junit.xml" "$ASAN_BUILD/meson-logs/testlog.json"
    run_sanitized || rc=$?
    # Its CPU time includes the fuzz stage's once that has ended (printed below, on its own).
    stage_done "ASan+UBSan stage${fuzz_pid:+ (fuzz beside it)}"
    dirs+=("$ASAN_BUILD")
    if [ -n "$fuzz_pid" ]; then
        wait "$fuzz_pid" || { log "the fuzz stage failed"; rc=1; }
        cat "$fuzz_log" >&2
        rm -f "$fuzz_log"
    fi
    python3 tests/summarize_results.py "${dirs[@]}" || rc=1
    return $rc
}

case "${1:-}" in
    test) shift; cmd_test "$@" ;;
    perf) shift; cmd_perf "$@" ;;
    build) ensure_packages; build ;;
    bench) shift; exec apps/bench/run_bench.sh "$@" ;;
    *) echo "usage: $0 test [--sanitize]|perf [homa-perf flags]|build|bench [run_bench.sh flags]" >&2
       exit 2 ;;
esac
