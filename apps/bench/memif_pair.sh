# Sourced, not run: the scratch directory and the memif echo server of the bench's A/B scripts
# (cycles_ab.sh, pgo_build.sh). One homa-perf server at a time runs in the background; the
# EXIT trap kills it if the script stops early, and removes the scratch directory.
# After sourcing: $TMP is the scratch directory, $SRV the server's pid (empty: none).
# shellcheck shell=bash

TMP=$(mktemp -d)
SRV=
# shellcheck disable=SC2317  # run by the trap
memif_pair_cleanup() { [ -n "$SRV" ] && kill "$SRV" 2>/dev/null; rm -rf "$TMP"; }
trap memif_pair_cleanup EXIT

# memif_server_start SOCK LOG CMD...: starts CMD (a homa-perf server whose memif vdev listens
# on SOCK) in the background with its output in LOG, and waits up to 5 s for the socket.
memif_server_start() {
    local sock=$1 log=$2
    shift 2
    "$@" > "$log" 2>&1 &
    SRV=$!
    for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
}

# memif_server_stop SOCK: stops the server with SIGINT, so that it exits cleanly (and writes
# what it writes at exit: its statistics, a profile), waits for it and removes the socket.
memif_server_stop() {
    [ -n "$SRV" ] && { kill -INT "$SRV" 2>/dev/null; wait "$SRV" 2>/dev/null || true; }
    SRV=
    rm -f "$1"
}
