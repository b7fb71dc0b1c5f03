// An MTU above Ethernet's 1500 on ports without an MTU operation of their own (net_ring,
// net_null; memif too, though DPDK 22.11's memif takes no frame over 1518 B): the port takes
// the MTU at configure time, the host's mbufs grow to hold a whole frame (net_null cannot chain
// them), and a message then crosses in frames of that size. Polled by this thread.
#include <gtest/gtest.h>
#include <rte_dev.h>
#include <rte_ethdev.h>

#include <cstdint>
#include <vector>

#include "homa/dataplane/host.h"
#include "homa/homa.h"
#include "tests/dataplane/api_hosts.h"
#include "tests/dataplane/eal_environment.h"

namespace homa::v2 {
namespace {

std::vector<uint8_t> patterned(size_t n) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = uint8_t(i * 13 + 1);
    return v;
}

// One echo of `payload` from `client` to port 99 of `server` at `to`, each message checked,
// calling poll() while it waits.
template <class Poll>
void echo_once(Host &server, Host &client, const char *to, const std::vector<uint8_t> &payload,
               Poll poll) {
    auto listen = server.listen(99);
    ASSERT_TRUE(listen) << listen.message();
    auto sock = client.open();
    ASSERT_TRUE(sock) << sock.message();
    auto id = sock->send(*SocketAddress::parse(to), payload, 5);
    ASSERT_TRUE(id) << id.message();
    Message req, resp;
    ASSERT_EQ(take((*listen)[0], kRecvRequest, &req, poll), 0);
    EXPECT_EQ(req.bytes(), payload);
    ASSERT_EQ(req.reply_self(), 0);
    ASSERT_EQ(take(*sock, kRecvResponse, &resp, poll), 0);
    EXPECT_EQ(resp.bytes(), payload);
    EXPECT_EQ(resp.cookie(), 5u);
    EXPECT_EQ(client.drain(), 0);
    EXPECT_EQ(server.drain(), 0);
}

// Echoes `payload` once between two hosts at `mtu` over a net_ring pair; returns the frames
// the server's port received (the request's DATA and the client's control packets; net_ring
// counts no bytes).
void echo_at_mtu(uint32_t mtu, const std::vector<uint8_t> &payload, uint64_t *frames) {
    RingPair ring;
    auto so = options(ring.a, "10.0.0.1");
    auto co = options(ring.b, "10.0.0.2");
    so.worker.engine.mtu = mtu;
    co.worker.engine.mtu = mtu;
    auto server = Host::create(so);
    ASSERT_TRUE(server) << server.message();
    auto client = Host::create(co);
    ASSERT_TRUE(client) << client.message();
    uint16_t mtu_now = 0;
    ASSERT_EQ(rte_eth_dev_get_mtu(ring.a, &mtu_now), 0);
    EXPECT_EQ(mtu_now, mtu);
    echo_once(*server, *client, "10.0.0.1:99", payload, [&] {
        server->poll();
        client->poll();
    });
    rte_eth_stats st{};
    ASSERT_EQ(rte_eth_stats_get(ring.a, &st), 0);
    *frames = st.ipackets;
}

TEST(Jumbo, AMessageCrossesInFramesOfTheConfiguredMtu) {
    const std::vector<uint8_t> payload = patterned(300'000);
    uint64_t frames_1500 = 0, frames_9000 = 0;
    echo_at_mtu(1500, payload, &frames_1500);
    echo_at_mtu(9000, payload, &frames_9000);
    // 300 KB is about 205 DATA frames at 1500 and 34 at 9000, plus a few control packets.
    EXPECT_GE(frames_1500, 200u) << frames_1500;
    EXPECT_LE(frames_9000, 45u) << frames_9000;
    EXPECT_GE(frames_9000, 34u) << frames_9000;
}

TEST(Jumbo, APortThatCannotChainMbufsGetsMbufsThatHoldAFrame) {
    ASSERT_EQ(rte_eal_hotplug_add("vdev", "net_null_jumbo", "no-rx=1"), 0);
    uint16_t port = 0;
    ASSERT_EQ(rte_eth_dev_get_port_by_name("net_null_jumbo", &port), 0);
    auto o = options(port, "10.0.0.7");
    o.worker.engine.mtu = 9000;
    auto host = Host::create(o);
    ASSERT_TRUE(host) << host.message();
    // Client and server sockets on one host: local delivery.
    echo_once(*host, *host, "10.0.0.7:99", patterned(100'000), [&] { host->poll(); });
}

TEST(Jumbo, AnMtuTheEngineRefusesFailsTheHostBeforeAnythingIsSizedFromIt) {
    RingPair ring;
    dp::HostConfig hc;
    hc.name = "jumbo_bad";
    hc.port_id = ring.a;
    hc.worker.engine.local_ip = 0x0A000001;
    hc.worker.engine.mtu = 70'000;  // would overflow an mbuf's 16-bit size
    std::string err;
    EXPECT_EQ(dp::Host::create(hc, &err), nullptr);
    EXPECT_EQ(err, "host jumbo_bad: engine: mtu larger than 9000");
}

}  // namespace
}  // namespace homa::v2

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new homa::test::EalEnvironment("jumbo", 512));
    return RUN_ALL_TESTS();
}
