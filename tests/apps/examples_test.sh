#!/usr/bin/env bash
# The API examples against each other in two processes joined by net_memif (TAP): the echo
# client's 100 verified RPCs against the echo server, then the client's errors for a bad
# server endpoint and for a server that does not answer.
# Usage: examples_test.sh <homa-echo-server> <homa-echo-client>
set -u
# shellcheck source=tests/apps/failure_lines.sh
. "$(dirname "$0")/failure_lines.sh"
SERVER=$1 CLIENT=$2
SOCK=/tmp/homa-examples-$$.sock
VDEV="socket=$SOCK,socket-abstract=no"
LOG=/tmp/homa-examples-$$.srv
EAL=(--no-huge --no-shconf --no-pci -m 512 -l 0)
echo "1..3"
failed=0
rm -f "$SOCK"   # a stale socket file makes the server's listen fail
"$SERVER" "${EAL[@]}" --file-prefix=exsrv-$$ --vdev="net_memif0,role=server,$VDEV" \
    -- --local=10.0.0.1 --pool_mb=32 >"$LOG" 2>&1 &
SRV=$!
# A test stopped midway leaves no server behind.
trap 'kill "$SRV" 2>/dev/null; rm -f "$SOCK" "$LOG"' EXIT
trap 'exit 1' INT TERM
# Ready once its port is started: Host::create then logs the link's first state.
for _ in $(seq 300); do grep -q "HOMA_PORT: port 0 link" "$LOG" && break; sleep 0.1; done
client() {
    timeout 60 "$CLIENT" "${EAL[@]}" --file-prefix=excli-$$ --vdev="net_memif0,role=client,$VDEV" \
        -- --local=10.0.0.2 --pool_mb=32 "$@" 2>&1
}
not_ok() {  # not_ok <case> <client output>
    echo "not ok $1"; failure_lines "$2"; server_lines "$SRV" "$LOG"; failed=1
}
out=$(client 10.0.0.1:99); rc=$?
if [ $rc -eq 0 ]; then echo "ok 1 - echo client: 100 RPCs (1..100 KB) verified against the echo server"
else not_ok "1 - echo client exit $rc" "$out"; fi
out=$(client 10.0.0.1:99999); rc=$?
if [ $rc -eq 1 ] && grep -q "bad endpoint '10.0.0.1:99999'" <<<"$out"; then
    echo "ok 2 - a bad server endpoint: exit 1 and the reason"
else not_ok "2 - bad endpoint: exit $rc" "$out"; fi
# Port 98 has no socket: the server drops the request, the client's engine gives up on
# the silent RPC (or call's 10 s pass) and the client says which call failed.
out=$(client 10.0.0.1:98); rc=$?   # the server listens on 99 only
if [ $rc -eq 1 ] && grep -q "call to 10.0.0.1:98" <<<"$out"; then
    echo "ok 3 - a port nobody listens on: exit 1 and the RPC's error"
else not_ok "3 - no listener: exit $rc" "$out"; fi
kill "$SRV"; wait "$SRV" 2>/dev/null
exit $failed
