// WorkerConfig::short_before_rx: a poll hands out the short messages its application queued
// before it reads its RX queue, so they do not wait for the RX stage (bulk frames read, copied
// and handled). Observable on the wire: a poll that reads a long message's first packets owes
// its sender a GRANT, and a poll's control packets leave ahead of its DATA; so a short request
// queued before that poll leaves ahead of the GRANT only if it was sent before RX ran. The
// test runs the same exchange with the mechanism off, where the GRANT comes first.
#include <gtest/gtest.h>
#include <rte_ring.h>

#include <vector>

#include "homa/proto/decode.h"
#include "tests/dataplane/dataplane_fixture.h"

namespace homa {
namespace short_before_rx_test {
namespace {

using test::kIpA;
using test::kIpB;
using test::RingPair;

constexpr uint16_t kServerPort = 99;
constexpr uint32_t kLong = 500'000;  // needs grants beyond its unscheduled bytes
constexpr uint32_t kShort = 100;

void before_rx_on(dp::WorkerConfig &c) {
    c.short_before_rx = true;
    c.yield_to_app = false;
}
void before_rx_off(dp::WorkerConfig &c) {
    c.short_before_rx = false;
    c.yield_to_app = false;
}

// One frame A put on the wire: its Homa type and, for DATA, the message length.
struct WireFrame {
    wire::PacketType type;
    uint32_t message_length = 0;
};

// Takes every frame A sent and not yet read by B off the A -> B ring, in order, and puts
// them back, so that B still receives them.
std::vector<WireFrame> peek_a_to_b(const std::string &name) {
    rte_ring *ring = rte_ring_lookup((name + "_ab").c_str());
    EXPECT_NE(ring, nullptr);
    std::vector<WireFrame> out;
    if (ring == nullptr) return out;
    void *objs[512];
    unsigned n = rte_ring_sc_dequeue_burst(ring, objs, 512, nullptr);
    for (unsigned i = 0; i < n; ++i) {
        auto *m = static_cast<rte_mbuf *>(objs[i]);
        std::vector<uint8_t> scratch(rte_pktmbuf_pkt_len(m));
        const auto *linear = static_cast<const uint8_t *>(
            rte_pktmbuf_read(m, 0, static_cast<uint32_t>(scratch.size()), scratch.data()));
        std::span<const uint8_t> frame(linear, scratch.size());
        wire::PacketView v;
        EXPECT_EQ(wire::decode_frame(frame, v), wire::DecodeError::kOk);
        WireFrame f{v.type()};
        if (const wire::DataHeader *d = v.data()) f.message_length = d->message_length.get();
        out.push_back(f);
    }
    EXPECT_EQ(rte_ring_sp_enqueue_bulk(ring, objs, n, nullptr), n);
    return out;
}

// Positions in A's output of the first GRANT and of the short request's DATA, after the one
// poll of A that reads B's long request while A's application has just sent the short one.
struct Order {
    int grant = -1;
    int short_data = -1;
    uint64_t sent_now = 0;  ///< A's one-packet messages queued from their send.
};

Order run(const std::string &name, void (*tweak)(dp::WorkerConfig &)) {
    Order order;
    RingPair pair(name, 64u << 20, nullptr, tweak);
    dp::Socket a_server, a_client, b_server, b_client;
    EXPECT_EQ(dp::Socket::open(*pair.a.worker, kServerPort, &a_server), 0);
    EXPECT_EQ(dp::Socket::open(*pair.a.worker, 0, &a_client), 0);
    EXPECT_EQ(dp::Socket::open(*pair.b.worker, kServerPort, &b_server), 0);
    EXPECT_EQ(dp::Socket::open(*pair.b.worker, 0, &b_client), 0);
    // One echo first, so that both sides know each other's MAC and nothing is in flight.
    std::vector<uint8_t> small(kShort, 7);
    uint64_t id;
    dp::RecvMessage m;
    EXPECT_EQ(b_client.send({kIpA, kServerPort}, small, 1, &id), 0);
    EXPECT_TRUE(
        pair.serve_until(a_server, [&] { return b_client.recv(kRecvResponse, 0, &m) == 0; }));
    m.release();
    for (int i = 0; i < 50; ++i) pair.poll();
    EXPECT_TRUE(peek_a_to_b(name).empty());

    // B's long request: its unscheduled packets wait in A's RX ring.
    std::vector<uint8_t> big(kLong, 3);
    EXPECT_EQ(b_client.send({kIpA, kServerPort}, big, 2, &id), 0);
    for (int i = 0; i < 8; ++i) pair.b.worker->poll();
    // A's application queues a short request, then A polls once.
    EXPECT_EQ(a_client.send({kIpB, kServerPort}, small, 3, &id), 0);
    order.sent_now = pair.a.worker->engine().stats().sent_now;
    pair.a.worker->poll();
    std::vector<WireFrame> sent = peek_a_to_b(name);
    for (size_t i = 0; i < sent.size(); ++i) {
        if (sent[i].type == wire::PacketType::kGrant && order.grant < 0) order.grant = int(i);
        if (sent[i].type == wire::PacketType::kData && sent[i].message_length == kShort &&
            order.short_data < 0) {
            order.short_data = int(i);
        }
    }

    // Everything still completes: both requests answered, both ends quiescent.
    int answers = 0;
    EXPECT_TRUE(pair.serve_until(a_server, [&] {
        dp::RecvMessage req;
        while (b_server.recv(kRecvRequest, 0, &req) == 0) {
            EXPECT_EQ(b_server.reply_with(std::move(req)), 0);
        }
        dp::RecvMessage resp;
        while (b_client.recv(kRecvResponse, 0, &resp) == 0) {
            EXPECT_EQ(resp.length(), kLong);
            ++answers;
        }
        while (a_client.recv(kRecvResponse, 0, &resp) == 0) {
            EXPECT_EQ(resp.length(), kShort);
            ++answers;
        }
        return answers == 2;
    }));
    EXPECT_TRUE(pair.serve_until(a_server, [&] { return pair.quiescent(); }));
    return order;
}

TEST(WorkerShortBeforeRx, AShortRequestLeavesBeforeTheGrantThatRxOwes) {
    Order on = run("sbr_on", before_rx_on);
    ASSERT_GE(on.grant, 0) << "reading the long request's first packets must owe a GRANT";
    ASSERT_GE(on.short_data, 0);
    EXPECT_LT(on.short_data, on.grant);
    // With it, the short request went to the engine's TX queue from its send (set_send_now).
    EXPECT_GE(on.sent_now, 1u);
    // Off, the same poll sends both after RX, control packets first.
    Order off = run("sbr_off", before_rx_off);
    ASSERT_GE(off.grant, 0);
    ASSERT_GE(off.short_data, 0);
    EXPECT_GT(off.short_data, off.grant);
    EXPECT_EQ(off.sent_now, 0u) << "without it, no room to send from inside send_request";
}

}  // namespace
}  // namespace short_before_rx_test
}  // namespace homa
