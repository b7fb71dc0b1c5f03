// Short messages ahead of bulk data inside the workers (issue 12, W4 at 80 % load): priority
// queues (PortSetup::priority_queues, WorkerConfig::fast_queue_id) carry control packets and
// short messages past bulk frames in the port's rings and the receiver's poll, and
// yield_to_app hands a run-to-completion application what RX just completed before a poll's
// worth of bulk frames is built. Each test runs the same exchange with the mechanism off, where
// the short message must come out behind the bulk, so that it fails if the mechanism breaks.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "homa/dataplane/ring_pair.h"
#include "tests/dataplane/dataplane_fixture.h"

namespace homa {
namespace {

using test::kIpA;
using test::kIpB;
using test::RingPair;

constexpr uint16_t kPort = 99;

void fast_link(EngineConfig &e) { e.link_mbps = 4'000'000'000u; }  // the pacer holds nothing

// One burst of 8 frames per poll and no time budget: what a poll reads first is all it reads.
void small_polls(dp::WorkerConfig &c) {
    c.burst = 8;
    c.rx_budget_bursts = 1;
    c.rx_budget_ns = 0;
}
void no_yield(dp::WorkerConfig &c) { c.yield_to_app = false; }
void keep_defaults(dp::WorkerConfig &) {}

// One echo each way, so that both workers have resolved the other's MAC (ARP frames travel on
// the bulk queue) and every frame of it is gone.
void warm_up(RingPair &pair, dp::Socket &server_a, dp::Socket &client_a, dp::Socket &server_b,
             dp::Socket &client_b) {
    std::vector<uint8_t> one(1, 7);
    uint64_t id;
    dp::RecvMessage m;
    ASSERT_EQ(client_a.send({kIpB, kPort}, one, 1, &id), 0);
    ASSERT_EQ(client_b.send({kIpA, kPort}, one, 2, &id), 0);
    int answered = 0;
    ASSERT_TRUE(pair.serve_until(server_b, [&] {
        while (server_a.recv(kRecvRequest, 0, &m) == 0)
            EXPECT_EQ(server_a.reply_with(std::move(m)), 0);
        while (client_a.recv(kRecvResponse, 0, &m) == 0) ++answered;
        while (client_b.recv(kRecvResponse, 0, &m) == 0) ++answered;
        return answered == 2;
    }));
    for (int i = 0; i < 50; ++i) pair.poll();  // the acks, and anything else still in flight
}

struct Hosts {
    explicit Hosts(RingPair &p) : pair(p) {
        EXPECT_EQ(dp::Socket::open(*pair.a.worker, kPort, &server_a), 0);
        EXPECT_EQ(dp::Socket::open(*pair.a.worker, 0, &client_a), 0);
        EXPECT_EQ(dp::Socket::open(*pair.b.worker, kPort, &server_b), 0);
        EXPECT_EQ(dp::Socket::open(*pair.b.worker, 0, &client_b), 0);
        warm_up(pair, server_a, client_a, server_b, client_b);
    }
    RingPair &pair;
    dp::Socket server_a, client_a, server_b, client_b;
};

// True if B's server has a request of `length` bytes ready (taking every ready request).
bool has_request(dp::Socket &server, uint32_t length) {
    bool found = false;
    dp::RecvMessage m;
    while (server.recv(kRecvRequest, 0, &m) == 0) found |= m.length() == length;
    return found;
}

TEST(ShortFirst, PriorityQueuesLetAShortRequestOvertakeBulkFramesSentBeforeIt) {
    for (bool priority_queues : {false, true}) {
        SCOPED_TRACE(priority_queues ? "priority queues" : "one queue pair");
        RingPair pair(priority_queues ? "sf_pq1" : "sf_pq0", 64u << 20, fast_link, small_polls, 1,
                      priority_queues);
        Hosts h(pair);
        // A long request first: its unscheduled bytes (40 KB, 29 frames at priority 4) go out
        // on the bulk queue while B reads nothing.
        std::vector<uint8_t> big(200'000, 1), small(100, 2);
        uint64_t id;
        ASSERT_EQ(h.client_a.send({kIpB, kPort}, big, 10, &id), 0);
        for (int i = 0; i < 4; ++i) pair.a.worker->poll();
        const dp::WorkerStats &sa = pair.a.worker->stats();
        uint64_t fast_before = sa.tx_fast_frames;
        // Then a short one (priority 7): behind those 29 frames on one queue pair.
        ASSERT_EQ(h.client_a.send({kIpB, kPort}, small, 11, &id), 0);
        pair.a.worker->poll();
        EXPECT_EQ(sa.tx_fast_frames - fast_before, priority_queues ? 1u : 0u);
        // One poll of B reads 8 frames of the bulk queue, after the whole priority queue.
        const dp::WorkerStats &sb = pair.b.worker->stats();
        const uint64_t b_fast = sb.tx_fast_frames, b_frames = sb.tx_frames;
        pair.b.worker->poll();
        EXPECT_EQ(has_request(h.server_b, 100), priority_queues);
        EXPECT_FALSE(has_request(h.server_b, 200'000));
        if (priority_queues) {
            EXPECT_GE(sb.rx_fast_frames, 1u);
            // All B sends are grants for the long request, control packets: the fast lane.
            for (int i = 0; i < 10; ++i) pair.b.worker->poll();
            EXPECT_GT(sb.tx_fast_frames, b_fast);
            EXPECT_EQ(sb.tx_frames - b_frames, sb.tx_fast_frames - b_fast);
        }
    }
}

TEST(ShortFirst, YieldToAppLeavesTheEnginesPollToTheNextPollAfterRxCompletedAMessage) {
    for (bool yield : {false, true}) {
        SCOPED_TRACE(yield ? "yield_to_app" : "no yield");
        RingPair pair(yield ? "sf_y1" : "sf_y0", 64u << 20, fast_link,
                      yield ? keep_defaults : no_yield);
        Hosts h(pair);
        // A has bulk to send: a long request whose unscheduled bytes take several polls (16
        // DATA packets each at most, WorkerConfig::tx_data_budget).
        std::vector<uint8_t> big(200'000, 1), small(100, 2);
        uint64_t id;
        ASSERT_EQ(h.client_a.send({kIpB, kPort}, big, 10, &id), 0);
        pair.a.worker->poll();
        const EngineStats &ea = pair.a.worker->engine().stats();
        const auto data = static_cast<uint8_t>(wire::PacketType::kData);
        // Every poll of A completes a short request from B. With yield_to_app each leaves its
        // engine poll and TX to the start of the next, after the application had the request;
        // the bulk still moves on in every poll but the first.
        for (int i = 0; i < 3; ++i) {
            SCOPED_TRACE(i);
            ASSERT_EQ(h.client_b.send({kIpA, kPort}, small, 11 + i, &id), 0);
            pair.b.worker->poll();
            const uint64_t data_before = ea.packets_tx[data];
            const uint64_t yields_before = pair.a.worker->stats().tx_yields;
            pair.a.worker->poll();
            EXPECT_TRUE(has_request(h.server_a, 100));
            EXPECT_EQ(ea.packets_tx[data] == data_before, yield && i == 0);
            EXPECT_EQ(pair.a.worker->stats().tx_yields - yields_before, yield ? 1u : 0u);
        }
        // A poll that completes nothing runs its engine poll after RX, as without the yield.
        uint64_t data_before = ea.packets_tx[data];
        pair.a.worker->poll();  // the deferred TX, then RX (nothing), then the engine again
        EXPECT_GT(ea.packets_tx[data], data_before);
        EXPECT_FALSE(has_request(h.server_a, 100));
    }
}

TEST(ShortFirst, ThePriorityQueueIsReadAfterTheBulkQueueSoItsMessagesAreTheLastReady) {
    RingPair pair("sf_order", 64u << 20, fast_link, keep_defaults, 1, true);
    Hosts h(pair);
    // A 5,000 B request (over the priority queue's 2,800 B) goes on the bulk queue, then a
    // 100 B one on the priority queue; B reads both in one poll.
    std::vector<uint8_t> medium(5'000, 1), small(100, 2);
    uint64_t id;
    ASSERT_EQ(h.client_a.send({kIpB, kPort}, medium, 10, &id), 0);
    ASSERT_EQ(h.client_a.send({kIpB, kPort}, small, 11, &id), 0);
    pair.a.worker->poll();
    const uint64_t fast_before = pair.b.worker->stats().rx_fast_frames;
    pair.b.worker->poll();
    EXPECT_EQ(pair.b.worker->stats().rx_fast_frames - fast_before, 1u);
    // Ready in the order RX completed them: the bulk queue's first, the priority queue's last
    // (read last, so that what arrived there while the bulk frames were read is in it, and
    // its messages reach the application right after).
    std::vector<uint32_t> order;
    dp::RecvMessage m;
    while (h.server_b.recv(kRecvRequest, 0, &m) == 0) order.push_back(m.length());
    EXPECT_EQ(order, (std::vector<uint32_t>{5'000, 100}));
}

TEST(ShortFirst, TimersRunAfterRxEvenAfterAYieldSoTheTickSeesOurBacklog) {
    RingPair pair("sf_gap", 64u << 20, fast_link, small_polls);
    Hosts h(pair);
    // B's poll completes a response: its engine poll waits for the next poll.
    std::vector<uint8_t> big(200'000, 1), small(100, 2);
    uint64_t id;
    ASSERT_EQ(h.client_b.send({kIpA, kPort}, small, 1, &id), 0);
    pair.b.worker->poll();
    pair.a.worker->poll();
    dp::RecvMessage m;
    ASSERT_EQ(h.server_a.recv(kRecvRequest, 0, &m), 0);
    ASSERT_EQ(h.server_a.reply_with(std::move(m)), 0);
    pair.a.worker->poll();
    const uint64_t yields = pair.b.worker->stats().tx_yields;
    pair.b.worker->poll();
    ASSERT_EQ(pair.b.worker->stats().tx_yields - yields, 1u);
    // Then B is away for two ticks while A's long request fills B's ring beyond one poll's
    // RX budget (8 frames here).
    ASSERT_EQ(h.client_a.send({kIpB, kPort}, big, 2, &id), 0);
    for (int i = 0; i < 2; ++i) pair.a.worker->poll();
    const uint64_t tick_ns = pair.b.worker->engine().config().tick_ns;
    std::this_thread::sleep_for(std::chrono::nanoseconds(2 * tick_ns));
    const EngineStats &eb = pair.b.worker->engine().stats();
    const uint64_t ticks = eb.timer_ticks, backlog_ticks = eb.backlog_ticks;
    pair.b.worker->poll();
    // RX ran before the engine's timers: its full burst was reported, and the tick that
    // followed did not count as the peers' silence.
    EXPECT_EQ(eb.timer_ticks - ticks, 1u);
    EXPECT_EQ(eb.backlog_ticks - backlog_ticks, 1u);
    EXPECT_EQ(pair.b.worker->stats().tx_yields - yields, 1u);  // and no new yield
}

TEST(ShortFirst, APortWithoutTheQueuesRefusesPriorityQueuesAndSaysWhy) {
    rte_mempool *mbufs = rte_pktmbuf_pool_create("sf_port_mb", 1023, 32, 0,
                                                 RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(mbufs, nullptr);
    uint16_t a, b;
    std::string err;
    ASSERT_EQ(dp::make_ring_pair("sf_port1", &a, &b, &err, 1), 0) << err;  // one queue pair
    dp::PortSetup ps;
    ps.port_id = a;
    ps.mbuf_pool = mbufs;
    ps.priority_queues = true;
    dp::PortInfo info;
    EXPECT_LT(dp::setup_port(ps, &info, &err), 0);
    EXPECT_NE(err.find("priority queues for 1 workers need 2 TX and RX queues"), std::string::npos)
        << err;
    ASSERT_EQ(dp::make_ring_pair("sf_port2", &a, &b, &err, 2), 0) << err;
    ps.port_id = a;
    ASSERT_EQ(dp::setup_port(ps, &info, &err), 0) << err;
    EXPECT_TRUE(info.priority_queues);
    EXPECT_EQ(info.num_queues, 1u);
    EXPECT_EQ(info.num_rx_queues, 1u);  // the ordinary ones; the priority pair is extra
    EXPECT_EQ(info.fast_queue(0), 1u);
    dp::close_port(a);
    EXPECT_EQ(dp::make_ring_pair("sf_port3", &a, &b, &err, 0), -EINVAL);
    EXPECT_NE(err.find("1-16 queues"), std::string::npos) << err;
}

}  // namespace
}  // namespace homa

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new homa::test::EalEnvironment("shortfirst"));
    return RUN_ALL_TESTS();
}
