#!/usr/bin/env bash
# Two homa-dp processes joined by net_memif (a server and a client, distinct EAL file
# prefixes, --no-huge --no-shconf): the client runs the echo matrix, then prints the 100 B
# echo RTT (p50/p99) and RPC rate. Usage: memif_echo.sh <memif_peer binary> [client flags...]
# HOMA_PEER_WORKERS sets the server's workers (the client's come from its flags);
# HOMA_PEER_IPS="server client" their addresses (default "10.0.0.1 10.0.0.2"; IPv6 runs Homa
# over IPv6).
set -u
PEER=$1
shift
SOCK=/tmp/homa-memif-$$.sock
rm -f "$SOCK"   # a stale socket file makes the server's listen fail
VDEV="socket=$SOCK,socket-abstract=no"
read -r SRV_IP CLI_IP <<< "${HOMA_PEER_IPS:-10.0.0.1 10.0.0.2}"

"$PEER" --role=server --vdev="net_memif0,role=server,$VDEV" --prefix=memif_srv --cpu=0 \
        --ip="$SRV_IP" --timeout_s=100 --workers="${HOMA_PEER_WORKERS:-1}" &
SRV=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
if [ ! -S "$SOCK" ]; then
    echo "memif server did not create $SOCK"; kill "$SRV" 2>/dev/null; exit 1
fi
"$PEER" --role=client --vdev="net_memif0,role=client,$VDEV" --prefix=memif_cli --cpu=1 \
        --ip="$CLI_IP" --peer_ip="$SRV_IP" --timeout_s=90 "$@"
CLI=$?
# The server ends by itself after the client's "quit"; stop it if the client failed early.
for _ in $(seq 50); do kill -0 "$SRV" 2>/dev/null || break; sleep 0.1; done
kill "$SRV" 2>/dev/null
wait "$SRV"
SRC=$?
rm -f "$SOCK"
echo "client exit $CLI, server exit $SRC"
[ "$CLI" -eq 0 ] && [ "$SRC" -eq 0 ]
