// Local delivery over net_null: client and server sockets on one dataplane complete the echo
// matrix without a frame reaching the port; with two workers, frames to ourselves are also
// steered to the worker that owns their RPC. Workers are polled from the test thread.
#include <gtest/gtest.h>
#include <rte_ethdev.h>

#include <chrono>
#include <type_traits>
#include <utility>

#include "tests/dataplane/dataplane_fixture.h"
#include "tests/dataplane/host_harness.h"

namespace homa {
namespace {

using test::EchoClient;
using test::TestHost;

constexpr uint32_t kIp = 0x0A000001;
constexpr uint16_t kPort = 99;

uint16_t port_by_name(const char *name) {
    uint16_t id = UINT16_MAX;
    EXPECT_EQ(rte_eth_dev_get_port_by_name(name, &id), 0) << name;
    return id;
}

template <typename Step>
bool run_until(TestHost &h, Step step, int seconds = 20) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
        for (auto &w : h.workers) w->poll();
        if (step()) return true;
    }
    for (unsigned k = 0; k < h.workers.size(); ++k) {
        test::dump_worker(("worker " + std::to_string(k)).c_str(), *h.workers[k]);
    }
    return false;
}

rte_mempool *mbufs(const char *name) {
    rte_mempool *mp = rte_pktmbuf_pool_create(name, 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                              static_cast<int>(rte_socket_id()));
    EXPECT_NE(mp, nullptr);
    return mp;
}

TEST(LocalDelivery, EchoMatrix_OneWorkerNothingReachesThePort) {
    TestHost h;
    ASSERT_EQ(h.build("ld1", port_by_name("net_null0"), kIp, 1, mbufs("ld1_mb")), "");
    dp::Socket server, client;
    ASSERT_EQ(dp::Socket::open(*h.workers[0], kPort, &server), 0);
    ASSERT_EQ(dp::Socket::open(*h.workers[0], 0, &client), 0);
    EchoClient echo(client);
    for (uint32_t len : test::kEchoSizes) ASSERT_EQ(echo.send({kIp, kPort}, len), 0);
    ASSERT_TRUE(run_until(h, [&] {
        test::serve_echo(server);
        echo.drain();
        return echo.outstanding() == 0;
    }));
    EXPECT_EQ(echo.verified(), test::kEchoSizes.size());
    EXPECT_EQ(echo.bad(), 0u);
    ASSERT_TRUE(run_until(h, [&] { return h.quiescent(); }));
    const auto &ws = h.workers[0]->stats();
    EXPECT_GT(ws.tx_local, 0u);
    EXPECT_EQ(ws.tx_frames, 0u);          // nothing was given to the port
    EXPECT_EQ(ws.arp_requests_sent, 0u);  // our own address is never resolved
    // Every frame reached the engine and found its socket and RPC.
    const auto &es = h.workers[0]->engine().stats();
    for (EngineDrop d : {EngineDrop::kNoSocket, EngineDrop::kUnknownRpc, EngineDrop::kNoBuffers,
                         EngineDrop::kTxQueueFull}) {
        EXPECT_EQ(es.drop(d), 0u) << engine_drop_name(d);
    }
}

// A copy of a socket could outlive close() and act on the socket that reuses its id: dp::Socket
// is move-only, and a moved-from socket is closed while the moved-to one owns the port. (Each
// test has its own net_null: a host closes its port when it goes.)
static_assert(!std::is_copy_constructible_v<dp::Socket> && !std::is_copy_assignable_v<dp::Socket>);
static_assert(std::is_nothrow_move_constructible_v<dp::Socket>);
TEST(LocalDelivery, Socket_MovedFromIsClosedAndTheMovedToOwnsThePort) {
    TestHost h;
    ASSERT_EQ(h.build("ldmv", port_by_name("net_null2"), kIp, 1, mbufs("ldmv_mb")), "");
    dp::Socket first;
    ASSERT_EQ(dp::Socket::open(*h.workers[0], kPort, &first), 0);
    dp::Socket second = std::move(first);
    dp::RecvMessage m;
    EXPECT_EQ(first.recv(kRecvRequest, 0, &m), -EBADF);
    EXPECT_EQ(first.close(), -EBADF);
    EXPECT_EQ(second.local_addr().port, kPort);
    EXPECT_EQ(second.recv(kRecvRequest, 0, &m), -EAGAIN);
    dp::Socket third;
    third = std::move(second);
    EXPECT_EQ(second.close(), -EBADF);
    EXPECT_EQ(third.close(), 0);
    dp::Socket again;  // the port is free once its one owner closed it
    ASSERT_EQ(dp::Socket::open(*h.workers[0], kPort, &again), 0);
    EXPECT_EQ(again.close(), 0);
}

// One RecvMessage type reaches every reply_with(), so each checks that the message's bpages
// are in the pool it sends from: a request received on one host cannot be echoed by another.
TEST(LocalDelivery, ReplyWith_RefusesAMessageFromAnotherPool) {
    TestHost a, b;
    ASSERT_EQ(a.build("ldpa", port_by_name("net_null3"), kIp, 1, mbufs("ldpa_mb")), "");
    ASSERT_EQ(b.build("ldpb", port_by_name("net_null4"), kIp + 1, 1, mbufs("ldpb_mb")), "");
    dp::Socket server, client, other;
    ASSERT_EQ(dp::Socket::open(*a.workers[0], kPort, &server), 0);
    ASSERT_EQ(dp::Socket::open(*a.workers[0], 0, &client), 0);
    ASSERT_EQ(dp::Socket::open(*b.workers[0], kPort, &other), 0);
    const uint8_t body[] = {1, 2, 3};
    uint64_t id = 0;
    ASSERT_EQ(client.send({kIp, kPort}, body, 0, &id), 0);
    dp::RecvMessage req;
    ASSERT_TRUE(run_until(a, [&] { return server.recv(kRecvRequest, 0, &req) == 0; }));
    EXPECT_EQ(other.reply_with(std::move(req)), -EINVAL);
    EXPECT_FALSE(req.valid());  // released to its own pool, not sent
    EXPECT_EQ(client.abort(id, 0), 0);
    EXPECT_EQ(server.close(), 0);  // ends the request nobody answered
    EXPECT_EQ(client.close(), 0);
    EXPECT_EQ(other.close(), 0);
    EXPECT_TRUE(run_until(a, [&] { return a.quiescent(); }));  // every bpage back in a's pool
}

// Socket::recv fills an empty RecvMessage in place and hands a held one's bpages back first:
// a receive that finds nothing leaves the held message alone, one that finds a message releases
// it (else its bpages would leak), and either way the received content is the new message's.
TEST(LocalDelivery, Recv_IntoAHeldMessageReleasesItOnlyWhenANewOneComes) {
    TestHost h;
    ASSERT_EQ(h.build("ldr", port_by_name("net_null5"), kIp, 1, mbufs("ldr_mb")), "");
    dp::Socket server, client;
    ASSERT_EQ(dp::Socket::open(*h.workers[0], kPort, &server), 0);
    ASSERT_EQ(dp::Socket::open(*h.workers[0], 0, &client), 0);
    const uint8_t first[] = {1, 2, 3}, second[] = {4, 5, 6, 7};
    uint64_t id1 = 0, id2 = 0;
    ASSERT_EQ(client.send({kIp, kPort}, first, 0, &id1), 0);
    dp::RecvMessage req;
    ASSERT_TRUE(run_until(h, [&] { return server.recv(kRecvRequest, 0, &req) == 0; }));
    EXPECT_EQ(req.length(), sizeof first);
    const uint32_t free_holding_one = h.workers[0]->pool().free_bpages();
    EXPECT_EQ(server.recv(kRecvRequest, 0, &req), -EAGAIN);
    ASSERT_TRUE(req.valid());  // nothing new: the held message stays
    uint8_t got[8] = {};
    EXPECT_EQ(req.copy_to(got), sizeof first);
    EXPECT_EQ(got[2], 3);
    ASSERT_EQ(client.send({kIp, kPort}, second, 0, &id2), 0);
    ASSERT_TRUE(run_until(h, [&] { return server.recv(kRecvRequest, 0, &req) == 0; }));
    EXPECT_EQ(req.length(), sizeof second);
    EXPECT_EQ(req.copy_to(got), sizeof second);
    EXPECT_EQ(got[3], 7);
    // The first message's tail went back; the pool holds only the second's.
    EXPECT_GE(h.workers[0]->pool().free_bpages(), free_holding_one);
    req.release();
    EXPECT_EQ(client.abort(id1, 0), 0);
    EXPECT_EQ(client.abort(id2, 0), 0);
    EXPECT_EQ(server.close(), 0);
    EXPECT_EQ(client.close(), 0);
    EXPECT_TRUE(run_until(h, [&] { return h.quiescent(); }));  // every bpage back in the pool
}

TEST(LocalDelivery, EchoMatrix_TwoWorkersSteerFramesToTheirOwner) {
    TestHost h;
    ASSERT_EQ(h.build("ld2", port_by_name("net_null1"), kIp, 2, mbufs("ld2_mb")), "");
    EXPECT_EQ(h.info.num_rx_queues, 2);
    // A server port is opened on every worker (see steering.h); a client on each.
    dp::Socket server[2], client[2];
    std::vector<std::unique_ptr<EchoClient>> echo;
    for (int k = 0; k < 2; ++k) {
        ASSERT_EQ(dp::Socket::open(*h.workers[k], kPort, &server[k]), 0);
        ASSERT_EQ(dp::Socket::open(*h.workers[k], 0, &client[k]), 0);
        echo.push_back(std::make_unique<EchoClient>(client[k], 1000 * (k + 1)));
        for (uint32_t len : test::kEchoSizes) ASSERT_EQ(echo[k]->send({kIp, kPort}, len), 0);
    }
    ASSERT_TRUE(run_until(h, [&] {
        for (int k = 0; k < 2; ++k) {
            test::serve_echo(server[k]);
            echo[k]->drain();
        }
        return echo[0]->outstanding() == 0 && echo[1]->outstanding() == 0;
    }));
    ASSERT_TRUE(run_until(h, [&] { return h.quiescent(); }));
    for (int k = 0; k < 2; ++k) {
        EXPECT_EQ(echo[k]->verified(), test::kEchoSizes.size());
        EXPECT_EQ(echo[k]->bad(), 0u);
        const auto &ws = h.workers[k]->stats();
        const auto &es = h.workers[k]->engine().stats();
        // Both workers handed frames over and served RPCs of their own.
        EXPECT_GT(ws.steered_out, 0u) << k;
        EXPECT_GT(ws.steered_in, 0u) << k;
        EXPECT_EQ(ws.steer_ring_full, 0u);
        EXPECT_GT(es.server_rpcs_started, 0u) << k;
        EXPECT_EQ(es.client_rpcs_completed, test::kEchoSizes.size());
        EXPECT_EQ(es.drop(EngineDrop::kUnknownRpc), 0u);
        EXPECT_EQ(es.drop(EngineDrop::kNoSocket), 0u);
    }
    EXPECT_EQ(h.workers[0]->stats().steered_out, h.workers[1]->stats().steered_in);
}

}  // namespace
}  // namespace homa

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new homa::test::EalEnvironment(
        "local_delivery", 1024,
        {"--vdev=net_null0,no-rx=1", "--vdev=net_null1,no-rx=1", "--vdev=net_null2,no-rx=1",
         "--vdev=net_null3,no-rx=1", "--vdev=net_null4,no-rx=1", "--vdev=net_null5,no-rx=1"}));
    return RUN_ALL_TESTS();
}
