// Application threads through message ports (fixture: remote_socket_fixture.h): the echo matrix
// with both ends on the application thread (copied sends, zero-copy and copied replies), an
// abort, a close with RPCs in flight, a registered non-EAL thread, errors, and at the end nothing
// alive, held or in flight, and every command port balanced. The rings' own cases are in
// remote_socket_rings_test.cc, in the same binary.
#include "homa/dataplane/remote_socket.h"

#include <gtest/gtest.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_pause.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "homa/dataplane/msgport.h"
#include "homa/dataplane/socket_service.h"
#include "tests/dataplane/remote_socket_fixture.h"

namespace homa::rs_test {
namespace {

TEST_F(RemoteSocketTest, EchoMatrix_BothEndsOnTheAppThreadVerifiedAndBalanced) {
    std::unique_ptr<dp::RemoteSocket> server, client;
    ASSERT_EQ(dp::RemoteSocket::open(*svc_a_, kPort, app_config(), &server), 0);
    ASSERT_EQ(dp::RemoteSocket::open(*svc_b_, 0, app_config(), &client), 0);
    EXPECT_EQ(server->local_addr(), (Endpoint{kIpA, kPort}));
    EXPECT_EQ(client->local_addr().ip, kIpB);
    EXPECT_GE(client->local_addr().port, 0x8000);
    const std::vector<uint32_t> sizes = {1,      100,    1423,    1424,    1425,     10'000,
                                         40'001, 65'536, 100'000, 500'000, 1'000'000};
    uint64_t cookie = 1;
    for (uint32_t len : sizes) {
        for (int zero_copy = 0; zero_copy < 2; ++zero_copy, ++cookie) {
            uint64_t id = 0;
            ASSERT_EQ(client->send({kIpA, kPort}, make(cookie, len), cookie, &id), 0);
            EXPECT_EQ(id % 2, 0u);
            dp::RecvMessage req;
            ASSERT_EQ(server->recv_wait(kRecvRequest, 0, &req, 10 * kSecond), 0) << len;
            ASSERT_TRUE(matches(req, cookie, len)) << len;
            EXPECT_EQ(req.peer(), client->local_addr());
            if (zero_copy) {
                ASSERT_EQ(server->reply_with(std::move(req)), 0);
                EXPECT_FALSE(req.valid());
            } else {
                ASSERT_EQ(server->reply(req.peer(), req.id(), make(cookie, len)), 0);
            }
            dp::RecvMessage resp;
            ASSERT_EQ(client->recv_wait(kRecvResponse, id, &resp, 10 * kSecond), 0) << len;
            EXPECT_EQ(resp.id(), id);
            EXPECT_EQ(resp.cookie(), cookie);
            EXPECT_TRUE(matches(resp, cookie, len)) << len;
        }
    }
    // Pipelined: every size in flight at once, sends that do not wait for their id.
    for (uint32_t len : sizes)
        ASSERT_EQ(client->send({kIpA, kPort}, make(len, len), len, nullptr), 0);
    size_t served = 0, verified = 0;
    while (verified < sizes.size()) {
        dp::RecvMessage m;
        if (served < sizes.size() &&
            server->recv(kRecvRequest | dp::kRecvNonblocking, 0, &m) == 0) {
            ASSERT_EQ(server->reply_with(std::move(m)), 0);
            ++served;
            continue;
        }
        int rc = client->recv_wait(kRecvResponse, 0, &m, 1'000'000);
        if (rc == -ETIMEDOUT) continue;
        ASSERT_EQ(rc, 0);
        EXPECT_TRUE(matches(m, m.cookie(), static_cast<uint32_t>(m.cookie())));
        ++verified;
    }
    dp::RecvMessage none;
    EXPECT_EQ(client->recv(kRecvResponse | dp::kRecvNonblocking, 0, &none), -EAGAIN);
    uint64_t sent = server->stats().commands + client->stats().commands;
    EXPECT_EQ(server->close(), 0);
    EXPECT_EQ(client->close(), 0);
    EXPECT_EQ(server->slots_in_use(), 0u);  // every command came home
    EXPECT_EQ(client->slots_in_use(), 0u);
    EXPECT_EQ(svc_a_->port().stats().aborts + svc_b_->port().stats().aborts, 0u);
    EXPECT_EQ(client->stats().backpressure, 0u);
    ASSERT_TRUE(quiescent());  // stops the poller: the services' own counters may be read now
    // Balanced: each command sent was received once by a worker and each request queued taken
    // once (the pipelined sends, the zero-copy replies), nothing else was.
    EXPECT_EQ(svc_a_->port().stats().commands + svc_b_->port().stats().commands +
                  svc_a_->stats().requests_taken + svc_b_->stats().requests_taken,
              sent + 2);
    EXPECT_EQ(svc_b_->stats().requests_taken, sizes.size());
    EXPECT_EQ(svc_a_->stats().requests_refused + svc_b_->stats().requests_refused, 0u);
    EXPECT_EQ(svc_a_->remote_sockets_open() + svc_b_->remote_sockets_open(), 0u);
    EXPECT_EQ(svc_b_->stats().receives_answered, sizes.size() * 3);
    EXPECT_GT(pair_->a.worker->stats().tx_zero_copy, 0u);
    for (auto *s : {&pair_->a, &pair_->b}) {
        for (uint64_t d : s->worker->engine().stats().drops) EXPECT_EQ(d, 0u);
    }
}

TEST_F(RemoteSocketTest, Abort_FromAppThreadCompletesWithTheError) {
    std::unique_ptr<dp::RemoteSocket> server, client;
    ASSERT_EQ(dp::RemoteSocket::open(*svc_a_, kPort, app_config(), &server), 0);
    ASSERT_EQ(dp::RemoteSocket::open(*svc_b_, 0, app_config(), &client), 0);
    uint64_t id;
    ASSERT_EQ(client->send({kIpA, kPort}, make(5, 200'000), 5, &id), 0);
    dp::RecvMessage req;  // the server takes the request and sits on it
    ASSERT_EQ(server->recv_wait(kRecvRequest, 0, &req, 10 * kSecond), 0);
    EXPECT_TRUE(matches(req, 5, 200'000));
    EXPECT_EQ(client->abort(id, ECONNABORTED), 0);
    EXPECT_EQ(client->abort(id + 400, ECONNABORTED), -ENOENT);
    dp::RecvMessage resp;
    ASSERT_EQ(client->recv_wait(kRecvResponse, id, &resp, 10 * kSecond), 0);
    EXPECT_EQ(resp.id(), id);
    EXPECT_EQ(resp.error(), ECONNABORTED);
    EXPECT_EQ(resp.length(), 0u);
    // Abort of everything, silently: an outstanding RPC just goes away.
    ASSERT_EQ(client->send({kIpA, kPort}, make(6, 100), 6, &id), 0);
    dp::RecvMessage req2;
    ASSERT_EQ(server->recv_wait(kRecvRequest, 0, &req2, 10 * kSecond), 0);
    EXPECT_EQ(client->abort(0, 0), 0);
    EXPECT_EQ(client->recv_wait(kRecvResponse, id, &resp, 20'000'000), -ETIMEDOUT);
    req.release();
    req2.release();
    EXPECT_EQ(client->close(), 0);
    EXPECT_EQ(server->close(), 0);  // the server's RPCs for the abandoned requests end here
    ASSERT_TRUE(quiescent());
    if (HOMA_TIMETRACE) {
        // The client's worker recorded the abort command and the posted receive it answered.
        const std::string first = std::to_string(resp.id());
        bool abort_cmd = false, answered = false;
        for (const auto &r : pair_->b.worker->timetrace()->snapshot()) {
            std::string t = format_record(r);
            abort_cmd |= t.rfind("cmd op 0x203 handle ", 0) == 0 && t.ends_with(" id " + first);
            answered |= t == "cmd recv answered id " + first + " length 0";
        }
        EXPECT_TRUE(abort_cmd);
        EXPECT_TRUE(answered);
    }
}

TEST_F(RemoteSocketTest, Close_WithRpcsInFlightReturnsEverything) {
    std::unique_ptr<dp::RemoteSocket> server, client;
    ASSERT_EQ(dp::RemoteSocket::open(*svc_a_, kPort, app_config(), &server), 0);
    ASSERT_EQ(dp::RemoteSocket::open(*svc_b_, 0, app_config(), &client), 0);
    for (uint64_t i = 0; i < 8; ++i) {  // the server never receives them
        ASSERT_EQ(client->send({kIpA, kPort}, make(i, 300'000), i, nullptr), 0);
    }
    uint64_t id;
    // One that completes: its response is taken (and so acknowledged) before the close; the
    // server would otherwise hold its reply until its own timeout.
    ASSERT_EQ(client->send({kIpA, kRtcPort}, make(9, 50'000), 9, &id), 0);
    dp::RecvMessage resp;
    ASSERT_EQ(client->recv_wait(kRecvResponse, id, &resp, 10 * kSecond), 0);
    EXPECT_TRUE(matches(resp, 9, 50'000));
    resp.release();
    // And one whose response arrives but is never taken: close releases it.
    ASSERT_EQ(client->send({kIpA, kRtcPort}, make(10, 70'000), 10, &id), 0);
    for (int i = 0; i < 20; ++i) {  // give the response time to arrive (it may or may not)
        (void)client->recv_wait(kRecvRequest, 0, &resp, 1'000'000);
    }
    EXPECT_EQ(client->close(), 0);
    EXPECT_EQ(client->slots_in_use(), 0u);
    EXPECT_EQ(client->send({kIpA, kPort}, make(1, 10), 1, nullptr), -EBADF);
    EXPECT_EQ(client->close(), -EBADF);
    EXPECT_EQ(server->close(), 0);
    client.reset();
    server.reset();
    ASSERT_TRUE(quiescent());
}

TEST_F(RemoteSocketTest, NonEalThread_RegisteredThreadExchangesRpcs) {
    std::atomic<int> verified{0}, failures{0};
    std::thread app([&] {
        if (rte_thread_register() != 0) {
            ++failures;
            return;
        }
        std::unique_ptr<dp::RemoteSocket> client;
        if (dp::RemoteSocket::open(*svc_b_, 0, app_config(), &client) != 0) {
            ++failures;
        } else {
            for (uint32_t len : {1u, 5000u, 300'000u}) {
                uint64_t id;
                dp::RecvMessage resp;
                if (client->send({kIpA, kRtcPort}, make(len, len), len, &id) != 0 ||
                    client->recv_wait(kRecvResponse, id, &resp, 10 * kSecond) != 0) {
                    ++failures;
                    continue;
                }
                verified += matches(resp, len, len);
            }
            if (client->close() != 0) ++failures;
        }
        client.reset();
        // This thread's cache: flushed by its owner, so quiescent() can count every bpage.
        pair_->b.pool->flush_cache(kAppCache);
        rte_thread_unregister();
    });
    app.join();
    EXPECT_EQ(failures, 0);
    EXPECT_EQ(verified, 3);
    ASSERT_TRUE(quiescent());
}

TEST_F(RemoteSocketTest, Errors) {
    std::unique_ptr<dp::RemoteSocket> a, b;
    dp::RemoteSocketConfig rc = app_config();
    rc.pool_cache = 2;  // the pools have two caches
    EXPECT_EQ(dp::RemoteSocket::open(*svc_a_, kPort, rc, &a), -EINVAL);
    rc = app_config();
    rc.recv_credits = 4097;  // the answer ring holds at most 4096
    EXPECT_EQ(dp::RemoteSocket::open(*svc_a_, kPort, rc, &a), -EINVAL);
    rc = app_config();
    rc.max_async = 4097;  // the request ring too
    EXPECT_EQ(dp::RemoteSocket::open(*svc_a_, kPort, rc, &a), -EINVAL);
    ASSERT_EQ(dp::RemoteSocket::open(*svc_a_, kPort, app_config(), &a), 0);
    EXPECT_EQ(dp::RemoteSocket::open(*svc_a_, kPort, app_config(), &b), -EADDRINUSE);
    EXPECT_EQ(dp::RemoteSocket::open(*svc_a_, 0x8001, app_config(), &b), -EINVAL);
    dp::RecvMessage m;
    EXPECT_EQ(a->recv(0, 0, &m), -EINVAL);
    EXPECT_EQ(a->recv(kRecvRequest | dp::kRecvNonblocking, 0, &m), -EAGAIN);
    EXPECT_EQ(a->recv_wait(kRecvRequest, 0, &m, 1'000'000), -ETIMEDOUT);
    EXPECT_EQ(a->send({kIpB, 1}, std::vector<uint8_t>(1'000'001), 0, nullptr), -EMSGSIZE);
    EXPECT_EQ(a->send({kIpB, 0}, std::vector<uint8_t>(10), 0, nullptr), -EINVAL);
    EXPECT_EQ(a->reply({kIpB, 0x8000}, 3, std::vector<uint8_t>(10)), -ENOENT);
    EXPECT_EQ(a->reply_with(dp::RecvMessage{}), -EINVAL);
    EXPECT_EQ(a->close(), 0);
    ASSERT_TRUE(quiescent());  // the failed reply's copy went back to the pool
}

}  // namespace
}  // namespace homa::rs_test

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(
        // Ten tests build ring pairs of 64 MB pools, four of them twice: 1 GB fragments.
        new homa::test::EalEnvironment("remote_socket", 2048, {"--lcores=0@0,1@1"}));
    return RUN_ALL_TESTS();
}
