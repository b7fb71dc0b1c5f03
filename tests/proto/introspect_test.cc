// Snapshots of RPCs and peers, live reconfiguration and clearing counters.
#include <gtest/gtest.h>

#include "tests/proto/echo_apps.h"

namespace homa {
namespace {

using test::EchoClient;
using test::SimHost;
using test::SimNetwork;

TEST(Introspect, SnapshotRpcsAndPeers) {
    SimNetwork net;
    SimHost &s = net.add_host(1, EngineConfig{});
    SimHost &c = net.add_host(2, EngineConfig{});
    SocketId srv;
    ASSERT_EQ(s.engine.open_socket(7, &srv), 0);
    EchoClient client(c);
    client.send({1, 7}, 100'000, net.now());
    client.send({1, 7}, 10, net.now());
    for (int i = 0; i < 200; ++i) net.step();  // requests arrive; nobody answers them
    std::vector<Engine::RpcInfo> rpcs(8);
    ASSERT_EQ(c.engine.snapshot_rpcs(rpcs), 2u);
    EXPECT_STREQ(rpcs[0].state, "client_outgoing");
    EXPECT_EQ(rpcs[0].peer, (Endpoint{1, 7}));
    EXPECT_EQ(rpcs[0].out_length + rpcs[1].out_length, 100'010u);
    size_t n = s.engine.snapshot_rpcs(rpcs);
    ASSERT_EQ(n, 2u);
    for (size_t i = 0; i < n; ++i) {
        EXPECT_STREQ(rpcs[i].state, "ready");
        EXPECT_EQ(rpcs[i].local_port, 7);
        EXPECT_EQ(rpcs[i].in_remaining, 0u);
    }
    std::vector<Engine::PeerInfo> peers(4);
    ASSERT_EQ(s.engine.snapshot_peers(peers), 1u);
    EXPECT_EQ(peers[0].ip, 2u);
    EXPECT_EQ(peers[0].live_rpcs, 2u);
    // A short output span truncates.
    std::vector<Engine::RpcInfo> one(1);
    EXPECT_EQ(s.engine.snapshot_rpcs(one), 1u);
}

TEST(Introspect, ReconfigureLiveKnobsOnly) {
    test::FakePool pool(4);
    Engine e(EngineConfig{}, pool.ops());
    EngineConfig c = e.config();
    c.unsched_bytes = 60'000;
    c.max_overcommit = 2;
    std::string why;
    EXPECT_EQ(e.reconfigure(c, &why), 0) << why;
    EXPECT_EQ(e.config().unsched_bytes, 60'000u);
    c.max_rpcs = 12;
    EXPECT_EQ(e.reconfigure(c, &why), -EBUSY);
    EXPECT_NE(why.find("max_rpcs"), std::string::npos);
    c = e.config();
    c.max_sched_prio = 9;
    EXPECT_EQ(e.reconfigure(c, &why), -EINVAL);
    EXPECT_EQ(e.config().max_sched_prio, 3);
}

TEST(Introspect, SendFreezeReachesPeer) {
    SimNetwork net;
    SimHost &a = net.add_host(1, EngineConfig{});
    SimHost &b = net.add_host(2, EngineConfig{});
    ASSERT_EQ(a.engine.send_freeze(2), 0);
    net.flush(1);
    net.step();
    EXPECT_EQ(a.engine.stats().tx(wire::PacketType::kFreeze), 1u);
    EXPECT_EQ(b.engine.stats().rx(wire::PacketType::kFreeze), 1u);
}

TEST(Introspect, ClearStatsZeroesCounters) {
    SimNetwork net;
    SimHost &c = net.add_host(2, EngineConfig{});
    EchoClient client(c);
    client.send({1, 7}, 10, net.now());
    net.step();
    EXPECT_GT(c.engine.stats().client_rpcs_started, 0u);
    c.engine.clear_stats();
    EXPECT_EQ(c.engine.stats().client_rpcs_started, 0u);
    EXPECT_EQ(c.engine.stats().tx(wire::PacketType::kData), 0u);
}

}  // namespace
}  // namespace homa
