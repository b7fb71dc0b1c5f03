#!/usr/bin/env bash
# Two homa-dp processes, each in its own network namespace, joined by a veth pair and reached
# through net_af_packet: the client runs the echo matrix against the server, resolving it by
# ARP on a real (virtual) Ethernet link. Needs root; exits 77 (skipped) with the reason when
# namespaces or veth pairs cannot be made. Usage: veth_echo.sh <memif_peer binary>
set -u
PEER=$1
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root to create network namespaces and a veth pair"
command -v ip >/dev/null || skip "iproute2 (ip) is not installed"

TAG=$$
NSA=hdp_a_$TAG NSB=hdp_b_$TAG VA=hdpa$TAG VB=hdpb$TAG
cleanup() {
    ip netns del "$NSA" 2>/dev/null
    ip netns del "$NSB" 2>/dev/null
    ip link del "$VA" 2>/dev/null
}
trap cleanup EXIT
ip netns add "$NSA" 2>/dev/null || skip "cannot create a network namespace (ip netns add)"
ip netns add "$NSB" || skip "cannot create a second network namespace"
ip link add "$VA" type veth peer name "$VB" 2>/dev/null || skip "cannot create a veth pair"
ip link set "$VA" netns "$NSA" && ip link set "$VB" netns "$NSB" || exit 1
for ns_if in "$NSA:$VA" "$NSB:$VB"; do
    ns=${ns_if%%:*} ifc=${ns_if#*:}
    # No kernel address on the veth ends: the dataplanes own 10.1.0.1 and 10.1.0.2, and the
    # kernels must not answer ARP for them or send ICMP errors. IPv6 off: no stray frames.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf."$ifc".disable_ipv6=1 2>/dev/null
    ip netns exec "$ns" ip link set "$ifc" up || exit 1
done

ip netns exec "$NSA" "$PEER" --role=server --vdev="net_af_packet0,iface=$VA,qpairs=1" \
    --prefix=veth_srv --cpu=0 --ip=10.1.0.1 --timeout_s=100 &
SRV=$!
sleep 0.5
ip netns exec "$NSB" "$PEER" --role=client --vdev="net_af_packet0,iface=$VB,qpairs=1" \
    --prefix=veth_cli --cpu=1 --ip=10.1.0.2 --peer_ip=10.1.0.1 --timeout_s=90 \
    --rtt_rpcs=2000 --rate_seconds=0
CLI=$?
for _ in $(seq 50); do kill -0 "$SRV" 2>/dev/null || break; sleep 0.1; done
kill "$SRV" 2>/dev/null
wait "$SRV"
SRC=$?
echo "client exit $CLI, server exit $SRC"
[ "$CLI" -eq 0 ] && [ "$SRC" -eq 0 ]
