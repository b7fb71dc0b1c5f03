#!/usr/bin/env bash
# homa-dp quick start.
#   ./run.sh test   install what is missing, build (debug, assertions on), run every test;
#                   the last line is "N passed, N failed[, N skipped]" counting test cases.
#   ./run.sh build  install what is missing and build only.
# Works on a fresh Debian 12 machine; apt-get runs only when a package is missing.
set -euo pipefail
cd "$(dirname "$0")"

BUILD=${HOMA_BUILD_DIR:-build}
FUZZ_BUILD=${HOMA_FUZZ_BUILD_DIR:-build-fuzz}
PACKAGES=(build-essential pkg-config meson ninja-build python3 libdpdk-dev dpdk-dev dpdk
          libgflags-dev libgtest-dev libgmock-dev libnuma-dev clang libclang-rt-14-dev
          iproute2 iputils-ping)  # the tap and veth tests drive the kernel side with ip and ping

log() { printf '[run.sh] %s\n' "$*" >&2; }

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

build() {
    if [ ! -f "$BUILD/build.ninja" ]; then
        meson setup "$BUILD" --buildtype=debug -Db_ndebug=false >/dev/null
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
        CXX=clang++ meson setup "$FUZZ_BUILD" -Dfuzz=true -Dtests=false >/dev/null
    fi
    ninja -C "$FUZZ_BUILD" tests/wire_fuzz >/dev/null
    meson test -C "$FUZZ_BUILD" --no-rebuild --suite fuzz --print-errorlogs >/dev/null || true
    grep -hE '^(Done [0-9]+ runs|stat::number_of_executed_units)' \
        "$FUZZ_BUILD/meson-logs/testlog.txt" | sed 's/^/[fuzz] /' >&2 || true
}

cmd_test() {
    ensure_packages
    build
    local rc=0
    meson test -C "$BUILD" --no-rebuild --num-processes 2 --print-errorlogs >&2 || rc=$?
    run_fuzz
    local dirs=("$BUILD")
    [ -f "$FUZZ_BUILD/meson-logs/testlog.junit.xml" ] && dirs+=("$FUZZ_BUILD")
    python3 tests/summarize_results.py "${dirs[@]}" || rc=1
    return $rc
}

case "${1:-}" in
    test) cmd_test ;;
    build) ensure_packages; build ;;
    *) echo "usage: $0 test|build" >&2; exit 2 ;;
esac
