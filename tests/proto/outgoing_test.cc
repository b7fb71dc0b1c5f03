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

// poll's max_remaining: a caller that wants the lcore back soon (the worker's yield_to_app)
// gets only DATA of messages down to their last packet; the long one waits for the next poll.
TEST(Transmit, MaxRemainingSendsOnlyLastPacketsAndLeavesTheRestForTheNextPoll) {
    SimNetwork net;
    EngineConfig cfg;
    cfg.link_mbps = 4'000'000'000u;  // no pacer: only max_remaining holds anything back
    SimHost &c = net.add_host(2, cfg, 1024);
    SocketId sock;
    ASSERT_EQ(c.engine.open_socket(0, &sock), 0);
    std::vector<uint8_t> big(100'000, 1), small(500, 2);
    uint64_t big_id = 0, small_id = 0;
    ASSERT_EQ(c.engine.send_request(sock, {1, 99}, OutMessage::contiguous(big.data(), 100'000, 1),
                                    1, 0, &big_id),
              0);
    ASSERT_EQ(c.engine.send_request(sock, {1, 99}, OutMessage::contiguous(small.data(), 500, 2), 2,
                                    0, &small_id),
              0);
    auto data_ids = [&] {
        std::vector<uint64_t> ids;
        for (const TxPacket &p : c.engine.tx_packets()) {
            const auto *h = reinterpret_cast<const wire::CommonHeader *>(p.header);
            if (h->type == static_cast<uint8_t>(wire::PacketType::kData)) {
                ids.push_back(h->sender_id.get());
            }
        }
        c.engine.clear_tx();
        return ids;
    };
    c.engine.poll(1'000, UINT32_MAX, cfg.max_payload());
    EXPECT_EQ(data_ids(), std::vector<uint64_t>{small_id});  // the long one is not touched
    c.engine.poll(2'000, UINT32_MAX, cfg.max_payload());
    EXPECT_TRUE(data_ids().empty());
    c.engine.poll(3'000, UINT32_MAX);  // no limit: the long message's unscheduled bytes
    std::vector<uint64_t> rest = data_ids();
    EXPECT_EQ(rest.size(), (cfg.unsched_bytes + cfg.max_payload() - 1) / cfg.max_payload());
    for (uint64_t id : rest) EXPECT_EQ(id, big_id);
}

}  // namespace
}  // namespace homa
