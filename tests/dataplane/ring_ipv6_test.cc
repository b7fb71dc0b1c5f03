// Homa over IPv6 between two dataplanes on a net_ring pair (issue 17): next hops resolved by
// Neighbour Discovery through the worker's send path, messages of every size verified, DATA
// packets sized for the IPv6 header, a dual-stack host that holds an IPv4 and an IPv6 peer at
// once, and a worker without an IPv6 address that counts what it cannot send.
#include <gtest/gtest.h>

#include <vector>

#include "homa/proto/decode.h"
#include "tests/dataplane/dataplane_fixture.h"

namespace homa {
namespace {

using test::kIpA;
using test::kIpB;
using test::RingPair;

constexpr uint16_t kPort = 99;

// fd00::1 for side A (10.0.0.1), fd00::2 for side B.
wire::Ipv6Addr ip6_of(uint32_t ipv4) {
    return {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, uint8_t(ipv4 & 0xFF)};
}
const IpAddress kIp6A = IpAddress::ipv6(ip6_of(kIpA));

void dual_stack(dp::WorkerConfig &wc) { wc.local_ip6 = ip6_of(wc.engine.local_ip); }
void only_a_has_ipv6(dp::WorkerConfig &wc) {
    if (wc.engine.local_ip == kIpA) wc.local_ip6 = ip6_of(kIpA);
}

// Sends one request of each size to `dst` and checks every echo; returns how many came back.
size_t echo_sizes(RingPair &pair, dp::Socket &server, dp::Socket &client, Endpoint dst,
                  const std::vector<uint32_t> &sizes) {
    size_t verified = 0;
    for (uint32_t len : sizes) {
        std::vector<uint8_t> msg(len);
        for (uint32_t i = 0; i < len; ++i) msg[i] = test::pattern_byte(len, i);
        uint64_t id;
        EXPECT_EQ(client.send(dst, msg, len, &id), 0);
        bool ok = pair.serve_until(server, [&] {
            dp::RecvMessage resp;
            if (client.recv(kRecvResponse, id, &resp) != 0) return false;
            EXPECT_EQ(resp.peer(), dst);
            EXPECT_TRUE(test::matches_pattern(resp, len, len)) << len;
            ++verified;
            return true;
        });
        EXPECT_TRUE(ok) << len;
    }
    return verified;
}

TEST(RingIpv6, EchoOverIpv6ResolvedByNeighbourDiscovery) {
    RingPair pair("v6echo", 64u << 20, nullptr, dual_stack);
    dp::Socket server, client;
    ASSERT_EQ(dp::Socket::open(*pair.a.worker, kPort, &server), 0);
    ASSERT_EQ(dp::Socket::open(*pair.b.worker, 0, &client), 0);
    // 1404 bytes is one full IPv6 DATA packet at MTU 1500 (1424 over IPv4).
    const std::vector<uint32_t> sizes = {1, 100, 1403, 1404, 1405, 40'000, 100'000, 1'000'000};
    EXPECT_EQ(echo_sizes(pair, server, client, {kIp6A, kPort}, sizes), sizes.size());
    ASSERT_TRUE(pair.serve_until(server, [&] { return pair.quiescent(); }));
    // The peers were learned by NS/NA, not configured: each side solicited the other.
    EXPECT_GT(pair.b.worker->stats().nd_solicitations_sent, 0u);
    EXPECT_GT(pair.a.worker->stats().nd_advertisements_sent, 0u);
    EXPECT_EQ(pair.b.worker->stats().arp_requests_sent, 0u);  // no IPv4 at all
    for (auto *s : {&pair.a, &pair.b}) {
        for (uint64_t d : s->worker->engine().stats().drops) EXPECT_EQ(d, 0u);
        for (uint64_t d : s->worker->stats().rx_decode_errors) EXPECT_EQ(d, 0u);
        EXPECT_EQ(s->worker->stats().rx_not_for_us, 0u);
        EXPECT_EQ(s->worker->stats().tx_no_ipv6_address, 0u);
    }
    std::vector<Engine::PeerInfo> peers(4);
    ASSERT_EQ(pair.a.worker->engine().snapshot_peers(peers), 1u);
    EXPECT_EQ(peers[0].ip, IpAddress::ipv6(ip6_of(kIpB)));
}

TEST(RingIpv6, DualStackHostHoldsAnIpv4AndAnIpv6PeerAtOnce) {
    RingPair pair("v6mixed", 64u << 20, nullptr, dual_stack);
    dp::Socket server, client;
    ASSERT_EQ(dp::Socket::open(*pair.a.worker, kPort, &server), 0);
    ASSERT_EQ(dp::Socket::open(*pair.b.worker, 0, &client), 0);
    // Requests over both families in flight together; A sees two peers, one per family.
    constexpr int kEach = 50;
    const uint32_t len = 20'000;
    std::vector<uint8_t> msg(len);
    int received4 = 0, received6 = 0, bad = 0;
    for (int i = 0; i < 2 * kEach; ++i) {
        for (uint32_t j = 0; j < len; ++j) msg[j] = test::pattern_byte(i, j);
        uint64_t id;
        Endpoint dst = i % 2 ? Endpoint{kIp6A, kPort} : Endpoint{kIpA, kPort};
        ASSERT_EQ(client.send(dst, msg, i, &id), 0);
    }
    uint32_t most_peers = 0;
    ASSERT_TRUE(pair.serve_until(server, [&] {
        most_peers = std::max(most_peers, pair.a.worker->engine().live_peers());
        dp::RecvMessage resp;
        while (client.recv(kRecvResponse, 0, &resp) == 0) {
            bool v6 = resp.cookie() % 2 == 1;
            bad += !test::matches_pattern(resp, resp.cookie(), len);
            bad += !(resp.peer() == (v6 ? Endpoint{kIp6A, kPort} : Endpoint{kIpA, kPort}));
            (v6 ? received6 : received4)++;
        }
        return received4 + received6 == 2 * kEach;
    }));
    EXPECT_EQ(bad, 0);
    EXPECT_EQ(received4, kEach);
    EXPECT_EQ(received6, kEach);
    EXPECT_EQ(most_peers, 2u);
    std::vector<Engine::PeerInfo> peers(4);
    ASSERT_EQ(pair.a.worker->engine().snapshot_peers(peers), 2u);
    bool saw4 = false, saw6 = false;
    for (size_t i = 0; i < 2; ++i) {
        saw4 |= peers[i].ip == IpAddress(kIpB);
        saw6 |= peers[i].ip == IpAddress::ipv6(ip6_of(kIpB));
    }
    EXPECT_TRUE(saw4 && saw6);
    EXPECT_GT(pair.b.worker->stats().arp_requests_sent, 0u);
    EXPECT_GT(pair.b.worker->stats().nd_solicitations_sent, 0u);
    ASSERT_TRUE(pair.serve_until(server, [&] { return pair.quiescent(); }));
    for (auto *s : {&pair.a, &pair.b}) {
        for (uint64_t d : s->worker->engine().stats().drops) EXPECT_EQ(d, 0u);
    }
}

TEST(RingIpv6, WorkerWithoutIpv6CountsWhatItCannotSend) {
    RingPair pair("v6none", 64u << 20, nullptr, only_a_has_ipv6);
    dp::Socket server, client;
    ASSERT_EQ(dp::Socket::open(*pair.a.worker, kPort, &server), 0);
    ASSERT_EQ(dp::Socket::open(*pair.b.worker, 0, &client), 0);
    std::vector<uint8_t> msg(100, 7);
    uint64_t id;
    ASSERT_EQ(client.send({kIp6A, kPort}, msg, 1, &id), 0);
    EXPECT_TRUE(pair.serve_until(
        server, [&] { return pair.b.worker->stats().tx_no_ipv6_address > 0; }, 5));
    EXPECT_EQ(pair.a.worker->engine().stats().packets_rx[uint8_t(wire::PacketType::kData)], 0u);
    EXPECT_EQ(pair.b.worker->engine().stats().tx_dropped_by_owner,
              pair.b.worker->stats().tx_no_ipv6_address);
    ASSERT_EQ(client.abort(id, 0), 0);
    // Nothing leaks: the aborted request's send slot and its pool copy come back.
    EXPECT_TRUE(pair.serve_until(
        server, [&] { return pair.quiescent(); }, 5));
}

}  // namespace
}  // namespace homa

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new homa::test::EalEnvironment("ring_ipv6"));
    return RUN_ALL_TESTS();
}
