// Timetrace across the wire: two dataplanes over a net_ring pair. After one side freezes and
// asks its peers to (TraceFreeze::sync_freeze), both ends' rings are frozen and stay unchanged
// while traffic goes on; both rings tell the same RPC's story. A host of two workers freezes
// as one: a FREEZE that reaches one worker stops both rings, a sync_freeze makes every worker
// tell its peers, and the host's dump merges both rings.
#include <gtest/gtest.h>
#include <rte_eth_ring.h>

#include <chrono>
#include <string>
#include <vector>

#include "homa/dataplane/host.h"
#include "tests/dataplane/dataplane_fixture.h"
#include "tests/dataplane/host_harness.h"

namespace homa {
namespace {

using test::kIpA;
using test::kIpB;
using test::RingPair;

constexpr uint16_t kPort = 99;

bool has_text(const Timetrace &t, const std::string &text) {
    for (const auto &r : t.snapshot()) {
        if (format_record(r).rfind(text, 0) == 0) return true;
    }
    return false;
}

// One 100 B RPC from b (client) to a (echo server); returns the client's id.
uint64_t one_rpc(RingPair &pair, dp::Socket &server, dp::Socket &client) {
    std::vector<uint8_t> msg(100, 7);
    uint64_t id = 0;
    EXPECT_EQ(client.send({kIpA, kPort}, msg, 1, &id), 0);
    int got = 0;
    EXPECT_TRUE(pair.serve_until(server, [&] {
        dp::RecvMessage resp;
        while (client.recv(kRecvResponse, 0, &resp) == 0) ++got;
        return got == 1;
    }));
    return id;
}

TEST(TimetracePair, SyncFreezeOnOneSideFreezesBothEnds) {
    RingPair pair("ttp");
    dp::Socket server, client;
    ASSERT_EQ(dp::Socket::open(*pair.a.worker, kPort, &server), 0);
    ASSERT_EQ(dp::Socket::open(*pair.b.worker, 0, &client), 0);
    Timetrace *ta = pair.a.worker->timetrace(), *tb = pair.b.worker->timetrace();
    ASSERT_NE(ta, nullptr);
    ASSERT_NE(tb, nullptr);
    TraceFreeze &fa = pair.a.worker->trace_freeze(), &fb = pair.b.worker->trace_freeze();
    ASSERT_NE(&fa, &fb);  // two hosts: only FREEZE on the wire links them

    uint64_t id = one_rpc(pair, server, client);
    if (HOMA_TIMETRACE) {
        const std::string cid = std::to_string(id), sid = std::to_string(id ^ 1);
        EXPECT_TRUE(has_text(*tb, "send request id " + cid + " length 100"));
        EXPECT_TRUE(has_text(*ta, "rx DATA id " + sid + " offset 0 length 100"));
        EXPECT_TRUE(has_text(*ta, "send reply id " + sid + " length 100"));
        EXPECT_TRUE(has_text(*tb, "rx DATA id " + cid + " offset 0 length 100"));
        EXPECT_TRUE(has_text(*tb, "recv id " + cid + " length 100 error 0"));
    }

    EXPECT_TRUE(fb.sync_freeze());  // the client's operator: freeze here and tell the peers
    EXPECT_TRUE(fb.frozen());
    EXPECT_TRUE(pair.serve_until(
        server, [&] { return fa.frozen(); }, 5));
    EXPECT_EQ(pair.b.worker->engine().stats().tx(wire::PacketType::kFreeze), 1u);
    if (HOMA_TIMETRACE) { EXPECT_TRUE(has_text(*ta, "rx FREEZE from 0xa000002")); }

    // Frozen: more traffic leaves both rings as they were.
    uint64_t ra = ta->recorded(), rb = tb->recorded();
    one_rpc(pair, server, client);
    EXPECT_EQ(ta->recorded(), ra);
    EXPECT_EQ(tb->recorded(), rb);

    // The server's own FREEZE back within the second does not re-freeze the client after an
    // unfreeze (no storms), and both resume recording.
    fa.unfreeze();
    fb.unfreeze();
    ASSERT_EQ(pair.a.worker->engine().send_freeze(kIpB), 0);
    one_rpc(pair, server, client);
    EXPECT_FALSE(fb.frozen());
    EXPECT_EQ(fb.ignored(), 1u);
    if (HOMA_TIMETRACE) {
        EXPECT_GT(ta->recorded(), ra);
        EXPECT_GT(tb->recorded(), rb);
    }
    ASSERT_TRUE(pair.serve_until(server, [&] { return pair.quiescent(); }));
}

TEST(TimetracePair, HostOfTwoWorkersFreezesAsOne) {
    unsigned socket = rte_socket_id();
    rte_ring *ab = rte_ring_create("tth_ab", 4096, socket, RING_F_SC_DEQ);
    rte_ring *ba = rte_ring_create("tth_ba", 4096, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    ASSERT_NE(ab, nullptr);
    ASSERT_NE(ba, nullptr);
    rte_ring *a_tx[2] = {ab, ab};
    int pa = rte_eth_from_rings("tth_a", &ba, 1, a_tx, 2, socket);
    int pb = rte_eth_from_rings("tth_b", &ab, 1, &ba, 1, socket);
    ASSERT_GE(pa, 0);
    ASSERT_GE(pb, 0);
    rte_mempool *mp = rte_pktmbuf_pool_create("tth_mb", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                              static_cast<int>(socket));
    ASSERT_NE(mp, nullptr);
    test::TestHost a, b;
    auto slow_timeouts = [](dp::WorkerConfig &wc) { wc.engine.timeout_ticks = 2000; };
    ASSERT_EQ(a.build("ttha", static_cast<uint16_t>(pa), kIpA, 2, mp, 64u << 20, slow_timeouts),
              "");
    ASSERT_EQ(b.build("tthb", static_cast<uint16_t>(pb), kIpB, 1, mp, 64u << 20, slow_timeouts),
              "");
    ASSERT_EQ(&a.workers[0]->trace_freeze(), &a.host->trace_freeze());
    ASSERT_EQ(&a.workers[1]->trace_freeze(), &a.host->trace_freeze());

    // Both of A's workers serve and send, so each engine knows B.
    dp::Socket srv[2], cli[2], bsrv, bcli;
    for (int k = 0; k < 2; ++k) {
        ASSERT_EQ(dp::Socket::open(*a.workers[k], kPort, &srv[k]), 0);
        ASSERT_EQ(dp::Socket::open(*a.workers[k], 0, &cli[k]), 0);
    }
    ASSERT_EQ(dp::Socket::open(*b.workers[0], kPort, &bsrv), 0);
    ASSERT_EQ(dp::Socket::open(*b.workers[0], 0, &bcli), 0);
    test::EchoClient ea0(cli[0], 1000), ea1(cli[1], 2000), eb(bcli, 3000);
    for (int i = 0; i < 20; ++i) {
        ASSERT_EQ(ea0.send({kIpB, kPort}, 100), 0);
        ASSERT_EQ(ea1.send({kIpB, kPort}, 100), 0);
        ASSERT_EQ(eb.send({kIpA, kPort}, 100), 0);
    }
    auto poll_all = [&] {
        for (dp::Worker *w : {a.workers[0], a.workers[1], b.workers[0]}) w->poll();
        test::serve_echo(srv[0]);
        test::serve_echo(srv[1]);
        test::serve_echo(bsrv);
        ea0.drain();
        ea1.drain();
        eb.drain();
    };
    auto poll_until = [&](auto done) {
        auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (!done() && std::chrono::steady_clock::now() < end) poll_all();
        return done();
    };
    ASSERT_TRUE(poll_until(
        [&] { return ea0.outstanding() == 0 && ea1.outstanding() == 0 && eb.outstanding() == 0; }));
    EXPECT_EQ(ea0.bad() + ea1.bad() + eb.bad(), 0u);

    // B freezes and tells A: whichever of A's workers gets the FREEZE, both rings stop.
    TraceFreeze &fa = a.host->trace_freeze();
    b.host->trace_freeze().sync_freeze();
    ASSERT_TRUE(poll_until([&] { return fa.frozen(); }));
    uint64_t r0 = a.workers[0]->timetrace()->recorded(), r1 = a.workers[1]->timetrace()->recorded();
    for (int i = 0; i < 5; ++i) ASSERT_EQ(ea1.send({kIpB, kPort}, 100), 0);
    ASSERT_TRUE(poll_until([&] { return ea1.outstanding() == 0; }));
    EXPECT_EQ(a.workers[0]->timetrace()->recorded(), r0);
    EXPECT_EQ(a.workers[1]->timetrace()->recorded(), r1);
    std::string dump = a.host->timetrace_dump();
    EXPECT_NE(dump.find("# host 10.0.0.1\n"), std::string::npos) << dump.substr(0, 500);
    EXPECT_NE(dump.find("# reference freeze"), std::string::npos);
    EXPECT_NE(dump.find("# ring w0 "), std::string::npos);
    EXPECT_NE(dump.find("# ring w1 "), std::string::npos);
    if (HOMA_TIMETRACE) {
        EXPECT_NE(dump.find(" rx FREEZE from 0xa000002\n"), std::string::npos);
        EXPECT_NE(dump.find(" w1 send request id "), std::string::npos);
        EXPECT_NE(dump.find(" w0 send request id "), std::string::npos);
    }

    // A's operator asks for a sync freeze: every worker of A sends FREEZE to its peers.
    fa.unfreeze();
    uint64_t before = b.workers[0]->engine().stats().rx(wire::PacketType::kFreeze);
    fa.sync_freeze();
    ASSERT_TRUE(poll_until([&] {
        return b.workers[0]->engine().stats().rx(wire::PacketType::kFreeze) == before + 2;
    }));
    EXPECT_EQ(a.workers[0]->engine().stats().tx(wire::PacketType::kFreeze), 1u);
    EXPECT_EQ(a.workers[1]->engine().stats().tx(wire::PacketType::kFreeze), 1u);
    // B froze less than a second ago: its rings stay as the operator left them.
    EXPECT_TRUE(b.host->trace_freeze().frozen());
    EXPECT_EQ(b.host->trace_freeze().freezes(), 1u);
    ASSERT_TRUE(poll_until([&] { return a.quiescent() && b.quiescent(); }));
}

// The records a worker writes inside one RX burst share the burst's clock read unless the
// worker is precise, and the next burst of the same poll reads it again. The application's
// records between two polls are one stage too: they share the first one's clock read unless
// the worker is precise, and a poll between two of them starts a new stage.
void rx_burst_times(bool precise) {
    SCOPED_TRACE(precise ? "precise" : "stage clock");
    // No RX time budget: a debug build's burst would spend it, and this poll needs two.
    auto tweak = precise ? [](dp::WorkerConfig &wc) {
        wc.timetrace_precise = true;
        wc.rx_budget_ns = 0;
    }
                         : [](dp::WorkerConfig &wc) { wc.rx_budget_ns = 0; };
    RingPair pair(precise ? "ttsp" : "ttss", 64u << 20, nullptr, tweak);
    dp::Socket server, client;
    ASSERT_EQ(dp::Socket::open(*pair.a.worker, kPort, &server), 0);
    ASSERT_EQ(dp::Socket::open(*pair.b.worker, 0, &client), 0);
    one_rpc(pair, server, client);  // ARP resolved
    std::vector<uint8_t> msg(100, 7);
    uint64_t id = 0;
    constexpr int kRpcs = 40;  // more than one RX burst of 32
    for (int i = 0; i < kRpcs; ++i) ASSERT_EQ(client.send({kIpA, kPort}, msg, i, &id), 0);
    for (int i = 0; i < 4; ++i) pair.b.worker->poll();  // every request is in a's RX ring
    Timetrace &ta = *pair.a.worker->timetrace();
    const uint64_t before = ta.recorded();
    pair.a.worker->poll();  // two RX bursts in one poll
    std::vector<Timetrace::Record> all = ta.snapshot();
    all.erase(all.begin(), all.end() - static_cast<ptrdiff_t>(ta.recorded() - before));
    std::vector<std::vector<Timetrace::Record>> bursts;  // each: its "rx burst", its "rx DATA"s
    for (const auto &r : all) {
        std::string t = format_record(r);
        if (t.rfind("rx burst ", 0) == 0) bursts.emplace_back();
        const bool data = t.rfind("rx DATA ", 0) == 0;
        if (data) { ASSERT_FALSE(bursts.empty()); }
        if (data || t.rfind("rx burst ", 0) == 0) bursts.back().push_back(r);
    }
    ASSERT_EQ(bursts.size(), 2u);
    ASSERT_GE(bursts[0].size(), 30u);  // an ACK may come with the requests
    ASSERT_GE(bursts[1].size(), 8u);
    for (const auto &burst : bursts) {
        for (size_t i = 1; i < burst.size(); ++i) {
            if (precise) {
                EXPECT_LT(burst[i - 1].ticks, burst[i].ticks) << i;
            } else {
                EXPECT_EQ(burst[i].ticks, burst[0].ticks) << i;
            }
        }
    }
    EXPECT_LT(bursts[0].back().ticks, bursts[1].front().ticks);  // each burst reads the clock
    std::vector<Timetrace::Record> sends;
    for (const auto &r : pair.b.worker->timetrace()->snapshot()) {
        if (format_record(r).rfind("send request ", 0) == 0) sends.push_back(r);
    }
    ASSERT_EQ(sends.size(), 1u + kRpcs);
    EXPECT_LT(sends[0].ticks, sends[1].ticks);  // one_rpc's send: polls came in between
    for (size_t i = 2; i < sends.size(); ++i) {
        if (precise) {
            EXPECT_LT(sends[i - 1].ticks, sends[i].ticks) << i;
        } else {
            EXPECT_EQ(sends[i].ticks, sends[1].ticks) << i;
        }
    }
    int got = 0;
    EXPECT_TRUE(pair.serve_until(server, [&] {
        dp::RecvMessage resp;
        while (client.recv(kRecvResponse, 0, &resp) == 0) ++got;
        return got == kRpcs;
    }));
    EXPECT_TRUE(pair.serve_until(server, [&] { return pair.quiescent(); }));
}

TEST(TimetracePair, AnRxBurstSharesOneClockReadUnlessPrecise) {
    if (!HOMA_TIMETRACE) GTEST_SKIP() << "built without timetraces";
    rx_burst_times(false);
    rx_burst_times(true);
}

// A port that refuses every TX burst for a while (b's ring to a is full and a is not polled)
// leaves one record when the refusals start and one, with the count, when they end, not a
// record per poll.
TEST(TimetracePair, RefusedTxBurstsAreOneStreakNotOneRecordPerPoll) {
    if (!HOMA_TIMETRACE) GTEST_SKIP() << "built without timetraces";
    RingPair pair("ttr");
    dp::Socket server, client;
    ASSERT_EQ(dp::Socket::open(*pair.a.worker, kPort, &server), 0);
    ASSERT_EQ(dp::Socket::open(*pair.b.worker, 0, &client), 0);
    one_rpc(pair, server, client);  // ARP resolved: from here on b sends without a's help
    constexpr int kRpcs = 800;      // 7 frames of unscheduled data each: more than the ring's 4096
    std::vector<uint8_t> msg(10'000, 3);
    uint64_t id = 0;
    for (int i = 0; i < kRpcs; ++i) ASSERT_EQ(client.send({kIpA, kPort}, msg, i, &id), 0);
    // Long enough for the pacer to offer all of it at the link's rate.
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    while (std::chrono::steady_clock::now() < until) pair.b.worker->poll();
    const uint64_t retries = pair.b.worker->stats().tx_retries;
    ASSERT_GT(retries, 100u) << "tx frames " << pair.b.worker->stats().tx_frames << " no mbuf "
                             << pair.b.worker->stats().tx_no_mbuf << " queue full "
                             << pair.b.worker->stats().tx_queue_full;
    auto count = [&](const std::string &prefix, const std::string &suffix) {
        int n = 0;
        for (const auto &r : pair.b.worker->timetrace()->snapshot()) {
            std::string t = format_record(r);
            if (t.rfind(prefix, 0) == 0 && t.ends_with(suffix)) ++n;
        }
        return n;
    };
    EXPECT_EQ(count("tx burst queue 0 offered ", " refused"), 1);
    EXPECT_EQ(count("tx burst queue 0 refused in ", ""), 0);
    pair.a.worker->poll();  // room again
    pair.b.worker->poll();
    // Every refused poll counts a retry; so does the partial burst just before the streak.
    const int ends =
        count("tx burst queue 0 refused in " + std::to_string(retries) + " polls", "") +
        count("tx burst queue 0 refused in " + std::to_string(retries - 1) + " polls", "");
    EXPECT_EQ(ends, 1);
    int got = 0;
    EXPECT_TRUE(pair.serve_until(server, [&] {
        dp::RecvMessage resp;
        while (client.recv(kRecvResponse, 0, &resp) == 0) ++got;
        return got == kRpcs;
    }));
    EXPECT_TRUE(pair.serve_until(server, [&] { return pair.quiescent(); }));  // acks included
}

}  // namespace
}  // namespace homa

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new homa::test::EalEnvironment("timetrace_pair"));
    return RUN_ALL_TESTS();
}
