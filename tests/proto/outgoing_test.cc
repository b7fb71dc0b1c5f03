// Sender-side SRPT: among messages with granted bytes, the one with the fewest bytes left goes
// first, so a short message queued behind a long one overtakes it at the sender.
#include <gtest/gtest.h>

#include "tests/proto/echo_apps.h"

namespace homa {
namespace {

using test::EchoClient;
using test::EchoServer;
using test::SimHost;
using test::SimNetwork;

TEST(Transmit, ShortMessageOvertakesLongOneAtTheSender) {
    SimNetwork net;
    EngineConfig cfg;
    cfg.tick_ns = 100'000;
    SimHost &s = net.add_host(1, cfg, 1024);
    SimHost &c = net.add_host(2, cfg, 1024);
    EchoServer server(s, 99);
    EchoClient client(c);
    uint64_t long_id = client.send({1, 99}, 1'000'000, net.now());
    uint64_t short_ids[3];
    for (auto &id : short_ids) id = client.send({1, 99}, 5'000, net.now());  // 4 packets each
    for (int i = 0; i < 20000 && client.completed() < 4; ++i) {
        net.step();
        server.serve(net.now());
        client.poll();
    }
    ASSERT_EQ(client.completed(), 4u);
    // Position of each request packet the client sent, in order.
    size_t long_packets = 0, last_short = 0, long_before_last_short = 0;
    for (size_t i = 0; i < net.log().size(); ++i) {
        const auto &p = net.log()[i];
        if (p.src_ip != 2 || p.type != wire::PacketType::kData || p.retransmit) continue;
        if (p.sender_id == long_id) {
            ++long_packets;
        } else if (p.sender_id == short_ids[0] || p.sender_id == short_ids[1] ||
                   p.sender_id == short_ids[2]) {
            last_short = i;
            long_before_last_short = long_packets;
        }
    }
    EXPECT_GT(last_short, 0u);
    // send_request puts the long message's first pacer burst (about 10 packets) on the wire
    // before the short ones exist; after that every short packet goes ahead of the long tail.
    EXPECT_LE(long_before_last_short, 12u);
    EXPECT_GT(long_packets, 700u);
}

}  // namespace
}  // namespace homa
