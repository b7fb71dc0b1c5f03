// Application threads through message ports: RemoteSocket (this test's main lcore, core 0) talks
// to SocketServices on two workers joined by a net_ring pair, which a poller polls on lcore 1
// (core 1). The echo matrix with both ends on the application thread (copied sends, zero-copy and
// copied replies), a full request ring reported as -ENOBUFS, an abort, a close with RPCs in
// flight, a registered non-EAL thread, and at the end nothing alive, held or in flight, and
// every command port balanced.
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
#include "tests/dataplane/dataplane_fixture.h"

namespace homa {
namespace {

using test::kIpA;
using test::kIpB;
using test::RingPair;

constexpr uint16_t kPort = 99;
constexpr uint16_t kRtcPort = 98;  // served run-to-completion by the poller
constexpr unsigned kAppCache = 1;  // the application thread's cache in both pools
constexpr uint64_t kSecond = 1'000'000'000;

uint8_t pattern(uint64_t seed, uint32_t i) {
    return static_cast<uint8_t>(seed * 31 + i * 7 + (i >> 9));
}

std::vector<uint8_t> make(uint64_t seed, uint32_t len) {
    std::vector<uint8_t> v(len);
    for (uint32_t i = 0; i < len; ++i) v[i] = pattern(seed, i);
    return v;
}

bool matches(const dp::RecvMessage &m, uint64_t seed, uint32_t len) {
    if (m.length() != len || m.error() != 0) return false;
    std::vector<uint8_t> got(len);
    if (m.copy_to(got) != len) return false;
    for (uint32_t i = 0; i < len; ++i) {
        if (got[i] != pattern(seed, i)) return false;
    }
    return true;
}

unsigned poller_lcore() { return rte_get_next_lcore(rte_get_main_lcore(), 1, 0); }

// Both workers, polled on their own lcore; optionally a run-to-completion echo server on side A.
// pause() parks it between polls, so a test can fill a command port deterministically.
struct Poller {
    RingPair *pair = nullptr;
    dp::Socket rtc;
    std::atomic<bool> stop{false}, pause{false}, paused{false};

    static int run(void *arg) {
        auto *p = static_cast<Poller *>(arg);
        while (!p->stop.load(std::memory_order_acquire)) {
            if (p->pause.load(std::memory_order_acquire)) {
                p->paused.store(true, std::memory_order_release);
                rte_pause();
                continue;
            }
            p->paused.store(false, std::memory_order_release);
            p->pair->poll();
            dp::RecvMessage req;
            while (p->rtc.worker() && p->rtc.recv(kRecvRequest, 0, &req) == 0) {
                (void)p->rtc.reply_with(std::move(req));
            }
        }
        return 0;
    }
    void hold() {
        pause.store(true, std::memory_order_release);
        while (!paused.load(std::memory_order_acquire)) rte_pause();
    }
    void resume() { pause.store(false, std::memory_order_release); }
};

class RemoteSocketTest : public ::testing::Test {
  protected:
    void SetUp() override { build(1024); }
    void build(unsigned port_capacity, void (*tweak)(EngineConfig &) = nullptr) {
        static int serial = 0;
        std::string n = "rs" + std::to_string(serial++);
        pair_ = std::make_unique<RingPair>(n, 64u << 20, tweak, nullptr, 2);
        std::string err;
        dp::SocketServiceConfig sc;
        sc.port_capacity = port_capacity;
        std::string na = n + "_cmda", nb = n + "_cmdb";
        sc.name = na.c_str();
        svc_a_ = dp::SocketService::create(*pair_->a.worker, sc, &err);
        ASSERT_NE(svc_a_, nullptr) << err;
        sc.name = nb.c_str();
        svc_b_ = dp::SocketService::create(*pair_->b.worker, sc, &err);
        ASSERT_NE(svc_b_, nullptr) << err;
        ASSERT_EQ(dp::Socket::open(*pair_->a.worker, kRtcPort, &poller_.rtc), 0);
        poller_.pair = pair_.get();
        poller_.stop.store(false);
        ASSERT_EQ(rte_eal_remote_launch(Poller::run, &poller_, poller_lcore()), 0);
        launched_ = true;
    }
    void TearDown() override {
        stop_poller();
        svc_a_.reset();
        svc_b_.reset();
        pair_.reset();
    }
    void stop_poller() {
        if (!launched_) return;
        poller_.resume();
        poller_.stop.store(true, std::memory_order_release);
        rte_eal_wait_lcore(poller_lcore());
        launched_ = false;
    }
    dp::RemoteSocketConfig app_config() const {
        dp::RemoteSocketConfig rc;
        rc.pool_cache = kAppCache;
        rc.op_timeout_ns = 10 * kSecond;  // a loaded 2-core machine
        return rc;
    }
    // After the poller stopped: this thread polls until nothing is alive, held or in flight.
    // Caches are flushed first: a cache keeps its tail bpage leased even when it is empty.
    bool quiescent() {
        stop_poller();
        pair_->a.pool->flush_cache(kAppCache);
        pair_->b.pool->flush_cache(kAppCache);
        for (int i = 0; i < 2'000'000; ++i) {
            pair_->poll();
            bool done = true;
            for (auto *s : {&pair_->a, &pair_->b}) {
                s->pool->flush_cache(s->worker->pool_cache());
                done = done && s->worker->engine().live_rpcs() == 0 &&
                       s->worker->sends_in_flight() == 0 &&
                       s->pool->free_bpages() == s->pool->total_bpages();
            }
            if (done) return true;
        }
        for (auto *s : {&pair_->a, &pair_->b}) {
            fprintf(stderr, "not quiescent: live %u inflight %u free %u/%u\n",
                    s->worker->engine().live_rpcs(), s->worker->sends_in_flight(),
                    s->pool->free_bpages(), s->pool->total_bpages());
        }
        return false;
    }

    std::unique_ptr<RingPair> pair_;
    std::unique_ptr<dp::SocketService> svc_a_, svc_b_;
    Poller poller_;
    bool launched_ = false;
};

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

TEST_F(RemoteSocketTest, Send_FullRequestRingIsReportedAsNoBufs) {
    std::unique_ptr<dp::RemoteSocket> client;
    dp::RemoteSocketConfig rc = app_config();
    rc.recv_credits = 4;
    rc.max_async = 16;  // the request ring
    ASSERT_EQ(dp::RemoteSocket::open(*svc_b_, 0, rc, &client), 0);
    poller_.hold();
    std::vector<uint8_t> msg = make(1, 1000);
    int accepted = 0, refused = 0;
    for (int i = 0; i < 20; ++i) {
        int r = client->send({kIpA, kRtcPort}, msg, i, nullptr);
        if (r == 0) ++accepted;
        if (r == -ENOBUFS) ++refused;
    }
    EXPECT_EQ(accepted, 16);  // exactly the ring's capacity
    EXPECT_EQ(refused, 4);
    EXPECT_EQ(client->stats().backpressure, 4u);
    poller_.resume();
    for (int got = 0; got < accepted; ++got) {
        dp::RecvMessage m;
        ASSERT_EQ(client->recv_wait(kRecvResponse, 0, &m, 10 * kSecond), 0);
        EXPECT_TRUE(matches(m, 1, 1000));
        EXPECT_LT(m.cookie(), 16u);  // the refused ones never went anywhere
    }
    EXPECT_EQ(client->close(), 0);
    EXPECT_EQ(client->slots_in_use(), 0u);
    ASSERT_TRUE(quiescent());
}

// post_reply_with: replies that do not wait for the worker arrive verified, a refusal is
// counted by errno instead of returned, a full request ring leaves the message with the caller, and
// every slot comes home.
TEST_F(RemoteSocketTest, PostReplyWith_EchoesWithoutWaitingAndCountsRefusals) {
    TearDown();
    build(16);  // command ports of 16
    std::unique_ptr<dp::RemoteSocket> server, client;
    ASSERT_EQ(dp::RemoteSocket::open(*svc_a_, kPort, app_config(), &server), 0);
    ASSERT_EQ(dp::RemoteSocket::open(*svc_b_, 0, app_config(), &client), 0);
    constexpr uint32_t kRpcs = 40;
    for (uint32_t i = 0; i < kRpcs; ++i) {
        ASSERT_EQ(client->send({kIpA, kPort}, make(i, 100 + i), i, nullptr), 0);
        dp::RecvMessage req;
        ASSERT_EQ(server->recv_wait(kRecvRequest, 0, &req, 10 * kSecond), 0);
        ASSERT_EQ(server->post_reply_with(std::move(req)), 0);
        EXPECT_FALSE(req.valid());
    }
    for (uint32_t got = 0; got < kRpcs; ++got) {
        dp::RecvMessage m;
        ASSERT_EQ(client->recv_wait(kRecvResponse, 0, &m, 10 * kSecond), 0);
        EXPECT_TRUE(matches(m, m.cookie(), 100 + static_cast<uint32_t>(m.cookie())));
    }
    EXPECT_EQ(server->stats().async_reply_errors, 0u);

    // A reply to a request that is not waiting: accepted here, refused by the worker.
    ASSERT_EQ(client->send({kIpA, kPort}, make(7, 300), 7, nullptr), 0);
    dp::RecvMessage req;
    ASSERT_EQ(server->recv_wait(kRecvRequest, 0, &req, 10 * kSecond), 0);
    Endpoint peer = req.peer();
    uint64_t id = req.id();
    ASSERT_EQ(server->post_reply_with(std::move(req), peer, id + 1000), 0);
    for (int i = 0; i < 10'000 && server->stats().async_reply_errors == 0; ++i) {
        dp::RecvMessage none;
        (void)server->recv_wait(kRecvRequest, 0, &none, 1'000'000);  // drains replies
    }
    EXPECT_EQ(server->stats().async_reply_errors, 1u);
    EXPECT_EQ(server->stats().last_async_reply_error, -ENOENT);

    // With the worker held and the server's request ring full, the message stays with the
    // caller, who posts it again once there is room.
    ASSERT_EQ(client->send({kIpA, kPort}, make(8, 500), 8, nullptr), 0);
    dp::RecvMessage late;
    ASSERT_EQ(server->recv_wait(kRecvRequest, 0, &late, 10 * kSecond), 0);
    poller_.hold();
    std::vector<uint8_t> filler = make(1, 10);
    int fillers = 0;
    while (server->send({kIpA, kRtcPort}, filler, 1000 + fillers, nullptr) == 0) ++fillers;
    EXPECT_GT(fillers, 0);
    EXPECT_EQ(server->post_reply_with(std::move(late)), -ENOBUFS);
    EXPECT_TRUE(late.valid());
    poller_.resume();
    int rc;
    while ((rc = server->post_reply_with(std::move(late))) == -ENOBUFS) {
        dp::RecvMessage none;
        (void)server->recv(kRecvRequest | dp::kRecvNonblocking, 0, &none);  // drains
    }
    ASSERT_EQ(rc, 0);
    for (;;) {
        dp::RecvMessage m;
        ASSERT_EQ(client->recv_wait(kRecvResponse, 0, &m, 10 * kSecond), 0);
        if (m.cookie() == 8) {
            EXPECT_TRUE(matches(m, 8, 500));
            break;
        }
    }
    EXPECT_EQ(client->close(), 0);
    EXPECT_EQ(server->close(), 0);
    EXPECT_EQ(server->slots_in_use(), 0u);
    EXPECT_EQ(client->slots_in_use(), 0u);
    ASSERT_TRUE(quiescent());
}

// post_replies_with: one burst echoes several requests; with the command port full nothing
// leaves and every message stays the caller's, valid, to post again.
TEST_F(RemoteSocketTest, PostRepliesWith_EchoesABurstAndLeavesAllWithTheCallerWhenFull) {
    TearDown();
    build(16);  // command ports of 16
    std::unique_ptr<dp::RemoteSocket> server, client;
    ASSERT_EQ(dp::RemoteSocket::open(*svc_a_, kPort, app_config(), &server), 0);
    ASSERT_EQ(dp::RemoteSocket::open(*svc_b_, 0, app_config(), &client), 0);
    constexpr uint32_t kN = 3;
    dp::RecvMessage reqs[kN];
    dp::RecvMessage *ptrs[kN] = {&reqs[0], &reqs[1], &reqs[2]};
    for (uint32_t i = 0; i < kN; ++i) {
        ASSERT_EQ(client->send({kIpA, kPort}, make(i, 200 + i), i, nullptr), 0);
        ASSERT_EQ(server->recv_wait(kRecvRequest, 0, &reqs[i], 10 * kSecond), 0);
    }
    while (svc_a_->port().count() != 0) rte_pause();
    poller_.hold();
    std::vector<uint8_t> filler = make(1, 10);
    int fillers = 0;
    while (server->send({kIpA, kRtcPort}, filler, 1000 + fillers, nullptr) == 0) ++fillers;
    EXPECT_GT(fillers, 0);
    EXPECT_EQ(server->post_replies_with(ptrs), -ENOBUFS);
    for (auto &r : reqs) EXPECT_TRUE(r.valid());  // none left: all still ours
    poller_.resume();
    int rc;
    while ((rc = server->post_replies_with(ptrs)) == -ENOBUFS) {
        dp::RecvMessage none;
        (void)server->recv(kRecvRequest | dp::kRecvNonblocking, 0, &none);  // drains
    }
    // Room for some but maybe not all: what was not taken is posted again.
    unsigned posted = 0;
    while (rc > 0 && (posted += static_cast<unsigned>(rc)) < kN) {
        while ((rc = server->post_replies_with(std::span(ptrs + posted, kN - posted))) ==
               -ENOBUFS) {}
    }
    ASSERT_EQ(posted, kN);
    for (auto &r : reqs) EXPECT_FALSE(r.valid());  // the worker's now
    std::vector<bool> seen(kN);
    for (uint32_t got = 0; got < kN; ++got) {
        dp::RecvMessage m;
        ASSERT_EQ(client->recv_wait(kRecvResponse, 0, &m, 10 * kSecond), 0);
        ASSERT_LT(m.cookie(), kN);
        seen[m.cookie()] = true;
        EXPECT_TRUE(matches(m, m.cookie(), 200 + static_cast<uint32_t>(m.cookie())));
    }
    EXPECT_EQ(std::count(seen.begin(), seen.end(), true), int(kN));
    dp::RecvMessage empty;
    dp::RecvMessage *bad[1] = {&empty};
    EXPECT_EQ(server->post_replies_with(bad), -EINVAL);
    for (int i = 0; i < fillers; ++i) {  // the fillers' responses, from the poller's server
        dp::RecvMessage m;
        ASSERT_EQ(server->recv_wait(kRecvResponse, 0, &m, 10 * kSecond), 0);
    }
    EXPECT_EQ(server->stats().async_reply_errors, 0u);
    EXPECT_EQ(client->close(), 0);
    EXPECT_EQ(server->close(), 0);
    EXPECT_EQ(server->post_replies_with(bad), -EBADF);
    EXPECT_EQ(server->slots_in_use(), 0u);
    ASSERT_TRUE(quiescent());
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

// send_burst: copies, queues in order in the request ring, stops at the first request it
// cannot take (a full request ring: nothing of that one sent or copied), and every response
// comes back verified.
TEST_F(RemoteSocketTest, SendBurst_QueuesInOrderAndStopsAtTheFirstItCannotTake) {
    std::unique_ptr<dp::RemoteSocket> client;
    dp::RemoteSocketConfig rc = app_config();
    rc.recv_credits = 4;
    rc.max_async = 16;  // the request ring
    ASSERT_EQ(dp::RemoteSocket::open(*svc_b_, 0, rc, &client), 0);
    const uint64_t commands = client->stats().commands;
    poller_.hold();
    std::vector<std::vector<uint8_t>> bodies;
    std::vector<dp::RemoteSocket::BurstRequest> reqs;
    for (uint32_t i = 0; i < 20; ++i) bodies.push_back(make(i, 100 + 10 * i));
    for (uint32_t i = 0; i < 20; ++i) reqs.push_back({bodies[i], i});
    EXPECT_EQ(client->send_burst({kIpA, kRtcPort}, reqs), 16);  // the ring's capacity
    EXPECT_EQ(client->stats().commands, commands + 16);
    EXPECT_EQ(client->stats().backpressure, 1u);
    EXPECT_EQ(client->send_burst({kIpA, kRtcPort}, std::span(reqs).subspan(16)), -ENOBUFS);
    EXPECT_EQ(client->stats().backpressure, 2u);
    poller_.resume();
    std::vector<bool> seen(20);
    auto collect = [&](unsigned n) {
        for (unsigned got = 0; got < n; ++got) {
            dp::RecvMessage m;
            ASSERT_EQ(client->recv_wait(kRecvResponse, 0, &m, 10 * kSecond), 0);
            const uint64_t i = m.cookie();
            ASSERT_LT(i, 20u);
            EXPECT_FALSE(seen[i]);
            seen[i] = true;
            EXPECT_TRUE(matches(m, i, 100 + 10 * static_cast<uint32_t>(i)));
        }
    };
    collect(16);
    for (uint32_t i = 16; i < 20; ++i) EXPECT_FALSE(seen[i]);  // refused: never sent
    EXPECT_EQ(client->send_burst({kIpA, kRtcPort}, std::span(reqs).subspan(16)), 4);
    collect(4);

    // Errors: the call stops before the first bad request and says why when it is first.
    const std::vector<uint8_t> byte(1, 7), huge(1'000'001);
    std::vector<dp::RemoteSocket::BurstRequest> bad = {{byte, 1}, {{}, 2}, {huge, 3}};
    EXPECT_EQ(client->send_burst({kIpA, kRtcPort}, bad), 1);
    EXPECT_EQ(client->send_burst({kIpA, kRtcPort}, std::span(bad).subspan(1)), -EINVAL);
    EXPECT_EQ(client->send_burst({kIpA, kRtcPort}, std::span(bad).subspan(2)), -EMSGSIZE);
    EXPECT_EQ(client->send_burst({kIpA, 0}, bad), -EINVAL);
    EXPECT_EQ(client->send_burst({kIpA, kRtcPort}, {}), 0);
    dp::RecvMessage m;
    ASSERT_EQ(client->recv_wait(kRecvResponse, 0, &m, 10 * kSecond), 0);
    EXPECT_EQ(m.cookie(), 1u);
    m.release();
    EXPECT_EQ(client->close(), 0);
    EXPECT_EQ(client->send_burst({kIpA, kRtcPort}, bad), -EBADF);
    EXPECT_EQ(client->slots_in_use(), 0u);
    ASSERT_TRUE(quiescent());  // the refused requests' copies went back to the pool
}

// Received messages come through the answer ring: no command per receive, at most a ring's
// worth (recv_credits, here 4) written ahead of the application, the rest waiting in the
// worker's engine until the application takes some, and whatever is left in the ring at close
// given back to the pool.
TEST_F(RemoteSocketTest, AnswerRing_NoCommandPerReceiveAndBackpressureFromTheRing) {
    std::unique_ptr<dp::RemoteSocket> client;
    dp::RemoteSocketConfig rc = app_config();
    rc.recv_credits = 4;
    ASSERT_EQ(dp::RemoteSocket::open(*svc_b_, 0, rc, &client), 0);
    EXPECT_EQ(client->stats().commands, 1u);  // the open, and nothing posted
    for (uint64_t i = 1; i <= 40; ++i) {
        ASSERT_EQ(client->send({kIpA, kRtcPort}, make(i, 50), i, nullptr), 0);
        dp::RecvMessage m;
        ASSERT_EQ(client->recv_wait(kRecvResponse, 0, &m, 10 * kSecond), 0) << i;
        EXPECT_TRUE(matches(m, i, 50));
    }
    EXPECT_EQ(client->stats().commands, 1u + 40u);  // the sends only

    // 12 responses with nobody taking them: the ring holds 4, the engine the other 8.
    const uint64_t answered = svc_b_->stats().receives_answered;
    for (uint64_t i = 0; i < 12; ++i) {
        ASSERT_EQ(client->send({kIpA, kRtcPort}, make(i, 50), 100 + i, nullptr), 0);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(svc_b_->stats().receives_answered, answered + 4);
    std::vector<bool> seen(12);
    for (int got = 0; got < 12;) {
        dp::RecvMessage m;
        ASSERT_EQ(client->recv_wait(kRecvResponse, 0, &m, 10 * kSecond), 0) << got;
        ASSERT_GE(m.cookie(), 100u);
        ASSERT_LT(m.cookie(), 112u);
        EXPECT_FALSE(seen[m.cookie() - 100]);
        seen[m.cookie() - 100] = true;
        EXPECT_TRUE(matches(m, m.cookie() - 100, 50));
        ++got;
    }
    EXPECT_EQ(svc_b_->stats().receives_answered, answered + 12);

    // Eight responses of two bpages never taken: four moved to this side by a recv for
    // requests (which takes none of them), four more in the ring. The close gives all their
    // bpages back.
    auto answered_reaches = [&](uint64_t n) {
        for (int i = 0; i < 10'000 && svc_b_->stats().receives_answered < n; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return svc_b_->stats().receives_answered == n;
    };
    for (uint64_t i = 0; i < 8; ++i) {
        ASSERT_EQ(client->send({kIpA, kRtcPort}, make(i, 70'000), 200 + i, nullptr), 0);
    }
    EXPECT_TRUE(answered_reaches(answered + 16));
    dp::RecvMessage none;
    EXPECT_EQ(client->recv(kRecvRequest | dp::kRecvNonblocking, 0, &none), -EAGAIN);
    EXPECT_TRUE(answered_reaches(answered + 20));
    EXPECT_EQ(client->close(), 0);
    EXPECT_EQ(client->slots_in_use(), 0u);
    ASSERT_TRUE(quiescent());
}

// Queued sends the worker refuses (here: its RPC table of 4 is full) come back through recv()
// as errors with their cookie. With the answer ring full (one entry, nobody reading) a refusal
// waits on the worker, and so do the requests behind it; nothing is lost either way.
TEST_F(RemoteSocketTest, RequestRing_RefusalsComeBackThroughRecvAndWaitForRoom) {
    TearDown();
    build(1024, [](EngineConfig &c) { c.max_rpcs = 4; });
    std::unique_ptr<dp::RemoteSocket> client;
    dp::RemoteSocketConfig rc = app_config();
    rc.recv_credits = 1;
    ASSERT_EQ(dp::RemoteSocket::open(*svc_b_, 0, rc, &client), 0);
    constexpr uint64_t kSends = 8;
    poller_.hold();  // all eight are taken in one pass once it resumes
    for (uint64_t i = 0; i < kSends; ++i) {
        ASSERT_EQ(client->send({kIpA, kRtcPort}, make(i, 300), i, nullptr), 0);
    }
    poller_.resume();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // a refusal waits meanwhile
    std::vector<int> outcome(kSends, 1);                          // 1: not seen
    unsigned refused = 0;
    for (uint64_t got = 0; got < kSends; ++got) {
        dp::RecvMessage m;
        ASSERT_EQ(client->recv_wait(kRecvResponse, 0, &m, 10 * kSecond), 0) << got;
        ASSERT_LT(m.cookie(), kSends);
        ASSERT_EQ(outcome[m.cookie()], 1) << "cookie " << m.cookie() << " twice";
        outcome[m.cookie()] = m.error();
        if (m.error() != 0) {
            EXPECT_EQ(m.error(), -ENOMEM);
            EXPECT_EQ(m.id(), 0u);
            ++refused;
        } else {
            EXPECT_TRUE(matches(m, m.cookie(), 300));
        }
    }
    EXPECT_GE(refused, 2u);  // the fifth and sixth at least: four RPCs fill the table
    EXPECT_EQ(client->stats().async_errors, refused);
    EXPECT_EQ(client->close(), 0);
    EXPECT_EQ(client->slots_in_use(), 0u);
    ASSERT_TRUE(quiescent());
    EXPECT_EQ(svc_b_->stats().requests_taken, kSends);
    EXPECT_EQ(svc_b_->stats().requests_refused, refused);
    EXPECT_EQ(svc_b_->stats().refusals_lost_at_close, 0u);
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
}  // namespace homa

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(
        // Ten tests build ring pairs of 64 MB pools, four of them twice: 1 GB fragments.
        new homa::test::EalEnvironment("remote_socket", 2048, {"--lcores=0@0,1@1"}));
    return RUN_ALL_TESTS();
}
