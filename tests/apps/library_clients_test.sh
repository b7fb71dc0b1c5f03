#!/usr/bin/env bash
# Programs written against the library, in each language, as clients of the homa-dp
# launcher's echo service in another process over net_memif (TAP): the C++ example
# (homa/homa.h), the C example (homa/homa_c.h) and the Go example (dataplane/go/homa, built
# here with go build; skipped with the reason when the go tool is missing).
# Usage: library_clients_test.sh <homa-dp> <homa-echo-client> <homa-echo-c> <go package dir>
#        <build dir> <dataplane include dir> <config dir>
set -u
# shellcheck source=tests/apps/failure_lines.sh
. "$(dirname "$0")/failure_lines.sh"
LAUNCHER=$1 CXX_CLIENT=$2 C_CLIENT=$3 GO_PKG=$4 BUILD=$5 INCLUDE=$6 CONFIG=$7
SOCK=/tmp/homa-libclients-$$.sock
VDEV="socket=$SOCK,socket-abstract=no"
EAL=(--no-huge --no-shconf --no-pci -m 512)
TMP=$(mktemp -d /tmp/homa-libclients.XXXXXX)
trap 'kill "$SRV" 2>/dev/null; rm -rf "$TMP" "$SOCK"' EXIT
trap 'exit 1' INT TERM   # so that a test stopped midway leaves no launcher
echo "1..3"
rm -f "$SOCK"
"$LAUNCHER" "${EAL[@]}" -l 0,1 --file-prefix=lcsrv-$$ --vdev="net_memif0,role=server,$VDEV" \
    -- --flagfile="$CONFIG/memif_server.conf" --stats_period=0 >"$TMP/launcher.log" 2>&1 &
SRV=$!
# Ready once it says where it serves (port started, worker polling); a client that connects
# to the memif socket before that may never see its link come up.
for _ in $(seq 300); do grep -q "echo on" "$TMP/launcher.log" && break; sleep 0.1; done
grep -q "echo on" "$TMP/launcher.log" || { echo "Bail out! the launcher did not start"; cat "$TMP/launcher.log"; exit 1; }
CLIENT_EAL=(-l 0 --vdev="net_memif0,role=client,$VDEV")
FLAGS=(-- --local=10.0.0.2 --pool_mb=32)
n=0 failed=0
verdict() {  # verdict <name> <expected output> <exit status> <output>
    n=$((n + 1))
    if [ "$3" -eq 0 ] && grep -q "$2" <<<"$4"; then echo "ok $n - $1"
    else
        echo "not ok $n - $1 (exit $3)"
        failure_lines "$4"
        server_lines "$SRV" "$TMP/launcher.log"
        failed=1
    fi
}
out=$(timeout 60 "$CXX_CLIENT" "${EAL[@]}" "${CLIENT_EAL[@]}" --file-prefix=lccxx-$$ "${FLAGS[@]}" \
      10.0.0.1:99 2>&1; echo "exit $?")
verdict "C++ example: 100 RPCs (1..100 KB) verified against the launcher" "exit 0" 0 "$out"
out=$(timeout 60 "$C_CLIENT" "${EAL[@]}" "${CLIENT_EAL[@]}" --file-prefix=lcc-$$ "${FLAGS[@]}" \
      10.0.0.1:99 2>&1)
verdict "C example: 10 RPCs verified against the launcher" "10 RPCs verified" $? "$out"
if ! command -v go >/dev/null; then
    n=$((n + 1)); echo "ok $n - Go example # SKIP the go tool is missing (apt-get install golang-go)"
else
    export CGO_ENABLED=1 CGO_CFLAGS="-I$INCLUDE" CGO_LDFLAGS="-L$BUILD" GOCACHE="$BUILD/go-cache" \
           GOPATH="$BUILD/go-path" GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local GOENV=off
    out=$(cd "$GO_PKG" && go build -o "$TMP/homa-echo" ./cmd/homa-echo 2>&1 &&
          LD_LIBRARY_PATH="$BUILD" timeout 60 "$TMP/homa-echo" "${EAL[@]}" "${CLIENT_EAL[@]}" \
              --file-prefix=lcgo-$$ "${FLAGS[@]}" 10.0.0.1:99 2>&1)
    verdict "Go example: 100 RPCs from 4 goroutines verified against the launcher" \
        "100 echoes verified" $? "$out"
fi
kill -INT "$SRV"; wait "$SRV" || exit $?   # the launcher's own failure
exit $failed
