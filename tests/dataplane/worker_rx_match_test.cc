// A server whose replies queue up takes in no more frames per poll than it sends
// (WorkerConfig::rx_match_tx_above): the rest wait in its RX ring, as backlog, instead of
// becoming RPCs whose replies wait in its memory. A client is never held back by it: its RX
// completes RPCs. Each test runs the same exchange with the mechanism off, where the server's
// poll reads its whole budget, so that it fails if the mechanism breaks.
#include <gtest/gtest.h>

#include <vector>

#include "tests/dataplane/dataplane_fixture.h"

namespace homa {
namespace {

using test::kIpA;
using test::kIpB;
using test::RingPair;

constexpr uint16_t kPort = 99;
constexpr int kRequests = 80;

// Bursts of 4, at most 8 a poll, no time budget; one DATA packet out per poll (every packet
// counts as one), so that a matched poll reads one burst.
void small_tx(dp::WorkerConfig &c) {
    c.burst = 4;
    c.rx_budget_bursts = 8;
    c.rx_budget_ns = 0;
    c.tx_data_budget = 1;
    c.tx_budget_scale = 1;
    c.yield_to_app = false;
    c.rx_match_tx_above = 2;
}
void small_tx_unmatched(dp::WorkerConfig &c) {
    small_tx(c);
    c.rx_match_tx_above = 0;
}

// What the server's second poll read: kRequests requests arrive at A, A's first poll reads 32
// frames (nothing queued yet) and the test answers every request among them; then A polls once
// more.
struct SecondPoll {
    uint64_t read = 0;
    uint64_t matched = 0;
    uint64_t backlog = 0;
};

SecondPoll run(const std::string &name, void (*tweak)(dp::WorkerConfig &),
               bool priority_queues = false) {
    SecondPoll out;
    RingPair pair(name, 64u << 20, nullptr, tweak, 1, priority_queues);
    dp::Socket server, client;
    EXPECT_EQ(dp::Socket::open(*pair.a.worker, kPort, &server), 0);
    EXPECT_EQ(dp::Socket::open(*pair.b.worker, 0, &client), 0);
    // One echo first, so that both sides know each other's MAC and nothing is left in flight.
    std::vector<uint8_t> body(100, 7);
    uint64_t id;
    dp::RecvMessage m;
    EXPECT_EQ(client.send({kIpA, kPort}, body, 1, &id), 0);
    int answered = 0;
    EXPECT_TRUE(pair.serve_until(server, [&] {
        while (client.recv(kRecvResponse, 0, &m) == 0) ++answered;
        return answered == 1;
    }));
    for (int i = 0; i < 50; ++i) pair.poll();

    for (int i = 0; i < kRequests; ++i) EXPECT_EQ(client.send({kIpA, kPort}, body, 2, &id), 0);
    for (int i = 0; i < 4 * kRequests; ++i) pair.b.worker->poll();  // one frame out per poll
    dp::Worker &a = *pair.a.worker;
    uint64_t rx0 = a.stats().rx_frames;
    a.poll();
    EXPECT_EQ(a.stats().rx_frames - rx0, 32u) << "the first poll reads its whole budget";
    int replies = 0;
    const uint64_t sent_now0 = a.engine().stats().sent_now;
    while (server.recv(kRecvRequest, 0, &m) == 0) {
        EXPECT_EQ(server.reply_with(std::move(m)), 0);
        ++replies;
    }
    // Most of the 32 frames are requests; a slow build's client may have slipped a control
    // packet (an ack, a probe) in among them.
    EXPECT_GE(replies, 24);
    // The first reply may have left from its send, within the room the poll left
    // (Engine::set_send_now: one packet here); the rest wait in the engine.
    const uint64_t sent_now = a.engine().stats().sent_now - sent_now0;
    EXPECT_LE(sent_now, 1u);
    EXPECT_EQ(a.engine().queued_replies(), static_cast<uint32_t>(replies - sent_now));
    const dp::WorkerStats before = a.stats();
    a.poll();
    out.read = a.stats().rx_frames - before.rx_frames;
    out.matched = a.stats().rx_matched_polls - before.rx_matched_polls;
    out.backlog = a.stats().rx_backlog_polls - before.rx_backlog_polls;

    // Everything still completes, and the client was never held back.
    EXPECT_TRUE(pair.serve_until(server, [&] {
        while (client.recv(kRecvResponse, 0, &m) == 0) ++answered;
        return answered == 1 + kRequests;
    }));
    EXPECT_EQ(pair.b.worker->stats().rx_matched_polls, 0u);
    EXPECT_EQ(a.engine().queued_replies(), 0u);
    // The acks that free the server's RPCs come on the client's timer: poll until they did.
    m.release();  // the last response's bpage
    EXPECT_TRUE(pair.serve_until(server, [&] { return pair.quiescent(); }));
    return out;
}

TEST(WorkerRxMatch, AServerWithRepliesQueuedReadsOnlyWhatItSends) {
    SecondPoll on = run("rxm_on", small_tx);
    EXPECT_EQ(on.read, 4u);  // one burst: the one packet a poll sends, in whole bursts
    EXPECT_EQ(on.matched, 1u);
    EXPECT_EQ(on.backlog, 1u);  // the rest waits in the ring, and the engine is told
    SecondPoll off = run("rxm_off", small_tx_unmatched);
    EXPECT_EQ(off.read, 32u);
    EXPECT_EQ(off.matched, 0u);
}

// With priority queues the requests arrive on the priority queue, which is read to its end
// within the budget: the same cut applies there, and a cut that leaves it delivering full
// bursts counts as backlog too (before, only the bulk queue's did).
TEST(WorkerRxMatch, ThePriorityQueueIsCutTooAndItsBacklogCounts) {
    SecondPoll on = run("rxm_pq_on", small_tx, true);
    EXPECT_EQ(on.read, 4u);
    EXPECT_EQ(on.matched, 1u);
    EXPECT_EQ(on.backlog, 1u);
    SecondPoll off = run("rxm_pq_off", small_tx_unmatched, true);
    EXPECT_EQ(off.read, 32u);
    EXPECT_EQ(off.matched, 0u);
}

}  // namespace
}  // namespace homa