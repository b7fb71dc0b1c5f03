// Engine::set_send_now: a one-packet message's DATA queued from its send, skipping the send
// queue, only when transmit would have picked it first; the budget it spends; and an RPC that
// ends before its frame is built taking its packet back (its slot's bytes may be reused).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "tests/proto/echo_apps.h"

namespace homa {
namespace {

using test::EchoClient;
using test::EchoServer;
using test::SimHost;
using test::SimNetwork;

EngineConfig no_pacer() {
    EngineConfig cfg;
    cfg.link_mbps = 4'000'000'000u;
    return cfg;
}

// The sender ids of the DATA packets in h's TX queue, in order (not cleared).
std::vector<uint64_t> data_ids(const SimHost &h) {
    std::vector<uint64_t> ids;
    for (const TxPacket &p : h.engine.tx_packets()) {
        const auto *c = reinterpret_cast<const wire::CommonHeader *>(p.header);
        if (c->type == static_cast<uint8_t>(wire::PacketType::kData)) {
            ids.push_back(c->sender_id.get());
        }
    }
    return ids;
}

// One host (10.0.0.2 in the simulation's numbering: 2) with a client socket, on a network of
// its own.
struct Client {
    explicit Client(const EngineConfig &cfg) : h(net.add_host(2, cfg)) {
        EXPECT_EQ(h.engine.open_socket(0, &sock), 0);
    }
    SimNetwork net;
    SimHost &h;
    SocketId sock = 0;
};

uint64_t send(SimHost &h, SocketId sock, const uint8_t *body, uint32_t len, bool copy = false,
              uint32_t dst = 1) {
    OutMessage m = OutMessage::contiguous(body, len, 7);
    m.copy = copy;
    uint64_t id = 0;
    EXPECT_EQ(h.engine.send_request(sock, {dst, 99}, m, 1, 0, &id), 0);
    return id;
}

TEST(SendNow, OnePacketMessagesLeaveFromTheirSendWithinTheRoom) {
    Client client(no_pacer());
    SimHost &c = client.h;
    const SocketId sock = client.sock;
    std::vector<uint8_t> body(100, 3);
    c.engine.set_send_now(2);
    uint64_t a = send(c, sock, body.data(), 100);
    uint64_t b = send(c, sock, body.data(), 100);
    uint64_t third = send(c, sock, body.data(), 100);
    EXPECT_EQ(data_ids(c), (std::vector<uint64_t>{a, b})) << "no poll yet: the room of two";
    EXPECT_EQ(c.engine.stats().sent_now, 2u);
    c.engine.clear_tx();
    // The two came off this poll's budget of three: it hands out the third only.
    EXPECT_EQ(c.engine.poll(1'000, 3), 1u);
    EXPECT_EQ(data_ids(c), std::vector<uint64_t>{third});
    c.engine.clear_tx();
    // The room was used up: without a new set_send_now everything waits for poll() again.
    send(c, sock, body.data(), 100);
    EXPECT_TRUE(data_ids(c).empty());
}

TEST(SendNow, WithoutRoomEveryMessageWaitsForPoll) {
    Client client(no_pacer());
    SimHost &c = client.h;
    const SocketId sock = client.sock;
    std::vector<uint8_t> body(100, 3);
    send(c, sock, body.data(), 100);
    EXPECT_TRUE(c.engine.tx_packets().empty()) << "the default: packets leave from poll()";
    EXPECT_EQ(c.engine.stats().sent_now, 0u);
    EXPECT_EQ(c.engine.poll(1'000), 1u);
}

// Only when transmit would have picked it first: not behind another message down to its last
// packet (FIFO among them), not a message of more than one packet, not one beyond its
// unscheduled bytes, and not one the pacer would hold.
TEST(SendNow, OnlyWhatTransmitWouldPickFirst) {
    EngineConfig cfg = no_pacer();
    Client client(cfg);
    SimHost &c = client.h;
    const SocketId sock = client.sock;
    std::vector<uint8_t> body(100'000, 3);
    uint64_t first = send(c, sock, body.data(), 100);  // no room yet: queued
    c.engine.set_send_now(100);
    uint64_t second = send(c, sock, body.data(), 50);
    EXPECT_TRUE(data_ids(c).empty()) << "a last packet was queued before it";
    c.engine.poll(1'000);
    EXPECT_EQ(data_ids(c), (std::vector<uint64_t>{second, first})) << "shortest first";
    c.engine.clear_tx();

    send(c, sock, body.data(), cfg.max_payload() + 1);
    EXPECT_TRUE(data_ids(c).empty()) << "two packets: the send queue orders them";
    c.engine.poll(2'000);
    c.engine.clear_tx();

    // The pacer: a link estimate far behind holds a message of throttle_min_bytes or more,
    // never a shorter one.
    EngineConfig slow;
    slow.link_mbps = 1;  // every packet keeps the link busy for a long time
    Client paced(slow);
    SimHost &p = paced.h;
    p.engine.set_send_now(100);
    uint64_t paced_first = send(p, paced.sock, body.data(), slow.throttle_min_bytes);
    EXPECT_EQ(data_ids(p), std::vector<uint64_t>{paced_first}) << "the link was idle";
    send(p, paced.sock, body.data(), slow.throttle_min_bytes);
    EXPECT_EQ(data_ids(p).size(), 1u) << "the pacer holds the second";

    // Unscheduled bytes shorter than the message: it needs a grant first.
    EngineConfig tiny = no_pacer();
    tiny.unsched_bytes = 50;
    Client unsched(tiny);
    unsched.h.engine.set_send_now(100);
    send(unsched.h, unsched.sock, body.data(), 100);
    EXPECT_TRUE(data_ids(unsched.h).empty());
}

// An RPC that ends between its send and the next frame build (an abort here) takes its packet
// back: its slot is reused at once, and a packet still pointing into it would carry the next
// message's bytes. Another RPC's packet from the same borrowed buffer stays.
TEST(SendNow, AnRpcEndedBeforeItsFrameIsBuiltTakesItsPacketBack) {
    Client client(no_pacer());
    SimHost &c = client.h;
    const SocketId sock = client.sock;
    std::vector<uint8_t> secret(100, 0xAA), other(100, 0x55);
    c.engine.set_send_now(10);
    uint64_t to_one = send(c, sock, secret.data(), 100, /*copy=*/false, 1);
    uint64_t to_three = send(c, sock, secret.data(), 100, /*copy=*/false, 3);
    uint64_t copied = send(c, sock, secret.data(), 100, /*copy=*/true, 1);
    ASSERT_EQ(data_ids(c), (std::vector<uint64_t>{to_one, to_three, copied}));
    ASSERT_EQ(c.engine.abort(sock, to_one, ECANCELED, 0), 0);
    ASSERT_EQ(c.engine.abort(sock, copied, ECANCELED, 0), 0);
    EXPECT_EQ(data_ids(c), std::vector<uint64_t>{to_three});
    EXPECT_EQ(c.engine.stats().tx_withdrawn, 2u);
    Message m;
    while (c.engine.recv(sock, kRecvResponse, 0, &m) == 0) {}  // frees the aborted RPCs' slots
    // A new copied message may take the freed slot: the queue holds its bytes, not the old.
    uint64_t next = send(c, sock, other.data(), 100, /*copy=*/true, 1);
    ASSERT_EQ(data_ids(c), (std::vector<uint64_t>{to_three, next}));
    const TxPacket &p = c.engine.tx_packets()[1];
    ASSERT_EQ(p.num_payload, 1u);
    EXPECT_EQ(std::count(p.payload[0].data, p.payload[0].data + 100, 0x55), 100);
    c.engine.clear_tx();
    // After the build nothing is withdrawn: the frame has left.
    ASSERT_EQ(c.engine.abort(sock, next, ECANCELED, 0), 0);
    EXPECT_EQ(c.engine.stats().tx_withdrawn, 2u);
}

// Sends taken back again and again between two builds leave nothing behind: the TX queue and
// the list of packets sent now stay within tx_queue_packets.
TEST(SendNow, SendsTakenBackRepeatedlyLeaveNothingBehind) {
    EngineConfig cfg = no_pacer();
    cfg.tx_queue_packets = 16;
    Client client(cfg);
    SimHost &c = client.h;
    const SocketId sock = client.sock;
    std::vector<uint8_t> body(100, 1);
    c.engine.set_send_now(1'000);
    for (int i = 0; i < 100; ++i) {
        uint64_t id = send(c, sock, body.data(), 100, /*copy=*/true);
        ASSERT_EQ(c.engine.abort(sock, id, 0, 0), 0);  // error 0: freed at once
    }
    EXPECT_TRUE(c.engine.tx_packets().empty());
    EXPECT_EQ(c.engine.stats().sent_now, 100u);
    EXPECT_EQ(c.engine.stats().tx_withdrawn, 100u);
    std::vector<uint64_t> ids;
    for (int i = 0; i < 20; ++i) ids.push_back(send(c, sock, body.data(), 100, true));
    ids.resize(16);  // the TX queue's room: the other four wait for poll()
    EXPECT_EQ(data_ids(c), ids);
    c.engine.clear_tx();
    EXPECT_EQ(c.engine.poll(1'000), 4u);
}

// Echoes whose requests and replies leave from their sends complete, and a lost one is still
// recovered: the message is watched by the timers as if transmit had sent it.
TEST(SendNow, EchoesCompleteAndALostPacketIsRecovered) {
    SimNetwork net;
    SimHost &c = net.add_host(2, no_pacer());
    SimHost &s = net.add_host(1, no_pacer());
    test::DropRule lose_request;
    lose_request.type = wire::PacketType::kData;
    lose_request.src_ip = 2;
    lose_request.first = 3;
    size_t rule = net.add_drop_rule(lose_request);
    test::DropRule lose_reply;
    lose_reply.type = wire::PacketType::kData;
    lose_reply.src_ip = 1;
    lose_reply.first = 5;
    size_t rule2 = net.add_drop_rule(lose_reply);
    EchoServer server(s, 99);
    EchoClient client(c);
    const uint32_t total = 20;
    uint32_t started = 0;
    bool done = net.run_until([&] {
        c.engine.set_send_now(1'000);
        s.engine.set_send_now(1'000);
        server.serve(net.now());
        client.poll(net.now());
        while (started < total && started - client.completed() < 4) {
            client.send({1, 99}, 100 + started, net.now());
            ++started;
        }
        return client.completed() == total;
    });
    ASSERT_TRUE(done);
    EXPECT_EQ(net.drop_rule(rule).dropped, 1u);
    EXPECT_EQ(net.drop_rule(rule2).dropped, 1u);
    EXPECT_GT(c.engine.stats().sent_now, total / 2);
    EXPECT_GT(s.engine.stats().sent_now, total / 2);
    EXPECT_EQ(client.errors(), 0u);
}

}  // namespace
}  // namespace homa
