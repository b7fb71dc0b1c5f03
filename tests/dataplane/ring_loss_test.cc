// Loss recovery on real DPDK ports: two workers over a net_ring pair, each worker's TX fault
// layer (WorkerConfig::faults) dropping 5 % of its frames, so both directions lose packets;
// then duplicating (rte_pktmbuf_copy of zero-copy chains), reordering and corrupting them.
// The echo matrix (1 B .. 1 MB) completes with every payload verified, the recovery machinery
// visibly worked, and at the end nothing is alive, held or in flight on either side.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <vector>

#include "tests/dataplane/dataplane_fixture.h"

namespace homa {
namespace {

using test::kIpA;
using test::RingPair;

constexpr uint16_t kPort = 99;

void lossy_engine(EngineConfig &c) {
    c.tick_ns = 100'000;  // 100 us ticks: the first RESEND comes 500 us after a loss
    // Ticks are wall-clock and an unoptimized build polls more slowly than one tick, so both
    // engines tick on every poll; a frame behind a full net_ring (4,096 frames, drained a
    // burst per poll) can then be "silent" for over 100 ticks. The timeout is raised so that
    // this test measures recovery, not the speed of a debug build.
    c.timeout_ticks = 2000;
}

void lossy_worker(dp::WorkerConfig &w) {
    w.faults.drop = {0.05, w.engine.local_ip};  // a different stream per side
}

// Sends the echo matrix (twice) and a crowd of small requests from b to a; returns the number
// of responses verified byte for byte, counting failed RPCs in `errors`.
size_t echo_matrix(RingPair &pair, dp::Socket &server, dp::Socket &client, size_t *errors) {
    const std::vector<uint32_t> sizes = {1,      100,    1423,   1424,    1425,    10'000,
                                         40'000, 40'001, 65'536, 100'000, 500'000, 1'000'000};
    std::map<uint64_t, uint32_t> expected;  // cookie -> length
    uint64_t cookie = 1;
    auto send = [&](uint32_t len) {
        std::vector<uint8_t> msg(len);
        for (uint32_t i = 0; i < len; ++i) msg[i] = test::pattern_byte(cookie, i);
        uint64_t id;
        EXPECT_EQ(client.send({kIpA, kPort}, msg, cookie, &id), 0);
        expected[cookie++] = len;
    };
    for (int round = 0; round < 2; ++round) {
        for (uint32_t len : sizes) send(len);
    }
    for (uint32_t i = 0; i < 200; ++i) send(1 + i * 7);
    size_t verified = 0;
    bool done = pair.serve_until(
        server,
        [&] {
            dp::RecvMessage resp;
            while (client.recv(kRecvResponse, 0, &resp) == 0) {
                auto it = expected.find(resp.cookie());
                EXPECT_NE(it, expected.end());
                if (it == expected.end()) continue;
                if (resp.error() != 0) {
                    ++*errors;
                } else {
                    EXPECT_TRUE(test::matches_pattern(resp, it->first, it->second))
                        << "cookie " << it->first;
                    ++verified;
                }
                expected.erase(it);
            }
            return expected.empty();
        },
        15);
    EXPECT_TRUE(done) << expected.size() << " responses missing";
    return verified;
}

void print_run(const char *what, RingPair &pair, size_t rpcs) {
    uint64_t dropped = 0, dup = 0, reordered = 0, corrupted = 0, rejected = 0, resends = 0,
             retransmitted = 0;
    for (auto *s : {&pair.a, &pair.b}) {
        const dp::WorkerStats &ws = s->worker->stats();
        dropped += ws.tx_fault_dropped;
        dup += ws.tx_fault_duplicated;
        reordered += ws.tx_fault_reordered;
        corrupted += ws.tx_fault_corrupted;
        for (uint64_t d : ws.rx_decode_errors) rejected += d;
        resends += s->worker->engine().stats().resends_sent;
        retransmitted += s->worker->engine().stats().retransmitted_packets;
    }
    std::printf(
        "[dpdk %s] rpcs %zu dropped %lu duplicated %lu reordered %lu corrupted %lu "
        "rejected %lu resends %lu retransmitted %lu\n",
        what, rpcs, dropped, dup, reordered, corrupted, rejected, resends, retransmitted);
}

TEST(RingLoss, EchoMatrix_FivePercentDropBothWays) {
    RingPair pair("rloss", 64u << 20, lossy_engine, lossy_worker);
    dp::Socket server, client;
    ASSERT_EQ(dp::Socket::open(*pair.a.worker, kPort, &server), 0);
    ASSERT_EQ(dp::Socket::open(*pair.b.worker, 0, &client), 0);
    size_t errors = 0;
    size_t verified = echo_matrix(pair, server, client, &errors);
    EXPECT_EQ(errors, 0u);
    EXPECT_EQ(verified, 224u);
    ASSERT_TRUE(pair.serve_until(
        server, [&] { return pair.quiescent(); }, 5));
    uint64_t resends = 0, retransmitted = 0;
    for (auto *s : {&pair.a, &pair.b}) {
        const EngineStats &es = s->worker->engine().stats();
        resends += es.resends_sent;
        retransmitted += es.retransmitted_packets;
        EXPECT_EQ(es.client_rpcs_timed_out + es.server_rpcs_timed_out, 0u);
        for (uint64_t d : s->worker->stats().rx_decode_errors) EXPECT_EQ(d, 0u);
    }
    EXPECT_GT(pair.a.worker->stats().tx_fault_dropped, 0u);
    EXPECT_GT(pair.b.worker->stats().tx_fault_dropped, 0u);
    EXPECT_GT(resends, 0u);
    EXPECT_GT(retransmitted, 0u);
    print_run("drop 5%", pair, verified);
}

void messy_worker(dp::WorkerConfig &w) {
    w.faults.duplicate = {0.03, w.engine.local_ip + 1};  // copies of zero-copy chains too
    w.faults.reorder = {0.03, w.engine.local_ip + 2};
    w.faults.corrupt = {0.02, w.engine.local_ip + 3};
    w.faults.corrupt_begin = 14;  // the IPv4 header: every corrupted frame must be rejected
    w.faults.corrupt_end = 34;
}

TEST(RingLoss, EchoMatrix_DuplicateReorderCorruptBothWays) {
    RingPair pair("rmess", 64u << 20, lossy_engine, messy_worker);
    dp::Socket server, client;
    ASSERT_EQ(dp::Socket::open(*pair.a.worker, kPort, &server), 0);
    ASSERT_EQ(dp::Socket::open(*pair.b.worker, 0, &client), 0);
    size_t errors = 0;
    size_t verified = echo_matrix(pair, server, client, &errors);
    EXPECT_EQ(errors, 0u);
    EXPECT_EQ(verified, 224u);
    ASSERT_TRUE(pair.serve_until(
        server, [&] { return pair.quiescent(); }, 5));
    for (auto *s : {&pair.a, &pair.b}) {
        const dp::WorkerStats &ws = s->worker->stats();
        EXPECT_GT(ws.tx_fault_duplicated, 0u);
        EXPECT_GT(ws.tx_fault_reordered, 0u);
        EXPECT_GT(ws.tx_fault_corrupted, 0u);
        EXPECT_EQ(ws.tx_no_mbuf, 0u);
    }
    // Each corrupted frame (and each copy of one) is rejected by the peer's validator.
    uint64_t rejected_by_a = 0, rejected_by_b = 0;
    for (uint64_t d : pair.a.worker->stats().rx_decode_errors) rejected_by_a += d;
    for (uint64_t d : pair.b.worker->stats().rx_decode_errors) rejected_by_b += d;
    EXPECT_GE(rejected_by_a, pair.b.worker->stats().tx_fault_corrupted);
    EXPECT_GE(rejected_by_b, pair.a.worker->stats().tx_fault_corrupted);
    print_run("duplicate+reorder+corrupt", pair, verified);
}

TEST(RingLoss, CreateRejectsBadFaultConfig) {
    RingPair pair("rbad");
    dp::WorkerConfig wc;
    wc.pool = pair.a.pool.get();
    wc.mbuf_pool = reinterpret_cast<rte_mempool *>(1);  // not reached: faults are checked first
    wc.engine.local_ip = 0x0A000009;
    wc.faults.drop.probability = 2.0;
    std::string err;
    EXPECT_EQ(dp::Worker::create(wc, &err), nullptr);
    EXPECT_NE(err.find("faults"), std::string::npos);
}

}  // namespace
}  // namespace homa

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new homa::test::EalEnvironment("ring_loss"));
    return RUN_ALL_TESTS();
}
