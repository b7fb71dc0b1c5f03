// Application threads, the two rings: sends, bursts and replies queued in the request ring
// (a full ring is -ENOBUFS, refusals come back through recv and wait for room), and received
// messages through the answer ring with no port command per receive. Part of the remote_socket
// test binary (its main() and EAL are in remote_socket_test.cc).
#include <gtest/gtest.h>
#include <rte_pause.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "tests/dataplane/remote_socket_fixture.h"

namespace homa::rs_test {
namespace {

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

// A message short enough to travel in the request ring's entry goes from the entry into the
// engine's copy: the worker allocates no bpage for it (before, it copied the entry into bpages
// and the engine copied those again, an allocation, a copy and a release per message). The
// only allocations on the client's worker are its responses' receive buffers.
TEST_F(RemoteSocketTest, InlineSend_TakesNoBpageOnTheWorker) {
    std::unique_ptr<dp::RemoteSocket> client;
    ASSERT_EQ(dp::RemoteSocket::open(*svc_b_, 0, app_config(), &client), 0);
    const unsigned cache = pair_->b.worker->pool_cache();
    auto allocated = [&] { return pair_->b.pool->counters().caches.at(cache).messages_allocated; };
    constexpr uint32_t kRpcs = 32;
    for (uint32_t len : {1u, 100u, 192u}) {  // 192: Request::kInlineMax
        const uint64_t before = allocated();
        for (uint32_t i = 0; i < kRpcs; ++i) {
            ASSERT_EQ(client->send({kIpA, kRtcPort}, make(i, len), i, nullptr), 0);
        }
        for (uint32_t got = 0; got < kRpcs; ++got) {
            dp::RecvMessage m;
            ASSERT_EQ(client->recv_wait(kRecvResponse, 0, &m, 10 * kSecond), 0) << len;
            EXPECT_TRUE(matches(m, m.cookie(), len)) << len;
        }
        EXPECT_EQ(allocated() - before, kRpcs) << len << " B: one receive buffer per RPC";
    }
    EXPECT_EQ(client->close(), 0);
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

// The messages ready on the application's side are a FIFO whose oldest is taken in place:
// taken by id out of order (youngest, middle, oldest), across several wraps of the socket's
// slots, each is the one asked for, with its own bytes.
TEST_F(RemoteSocketTest, ReadyMessages_TakenByIdInAnyOrderAcrossWraps) {
    std::unique_ptr<dp::RemoteSocket> client;
    dp::RemoteSocketConfig rc = app_config();
    rc.recv_credits = 4;
    rc.max_async = 4;  // 9 slots: 7 rounds of 4 wrap them three times
    ASSERT_EQ(dp::RemoteSocket::open(*svc_b_, 0, rc, &client), 0);
    uint32_t cookie = 0;
    for (int round = 0; round < 7; ++round, cookie += 4) {
        uint64_t ids[4] = {};
        for (uint32_t k = 0; k < 4; ++k) {
            ASSERT_EQ(client->send({kIpA, kRtcPort}, make(cookie + k, 50 + k), cookie + k, &ids[k]),
                      0);
        }
        for (uint32_t k : {3u, 1u, 0u, 2u}) {  // the youngest first: all four are then ready
            dp::RecvMessage m;
            ASSERT_EQ(client->recv_wait(kRecvResponse, ids[k], &m, 10 * kSecond), 0) << round;
            EXPECT_EQ(m.id(), ids[k]) << round << " " << k;
            EXPECT_EQ(m.cookie(), cookie + k) << round << " " << k;
            EXPECT_TRUE(matches(m, cookie + k, 50 + k)) << round << " " << k;
        }
    }
    dp::RecvMessage none;
    EXPECT_EQ(client->recv(kRecvResponse | dp::kRecvNonblocking, 0, &none), -EAGAIN);
    EXPECT_EQ(client->close(), 0);
    EXPECT_EQ(client->slots_in_use(), 0u);
    ASSERT_TRUE(quiescent());
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

// A worker that idled takes the request ring first in its next poll, ahead of transmit and RX:
// a request to a socket on the same worker is in that socket's answer ring after one poll
// (before, it was taken after RX and arrived in the next poll's). A busy worker takes its
// rings after RX only, in bulk: a reply posted then needs a second poll.
TEST_F(RemoteSocketTest, RequestRing_IdleWorkerTakesItFirstBusyWorkerAfterRx) {
    std::unique_ptr<dp::RemoteSocket> server, client;
    ASSERT_EQ(dp::RemoteSocket::open(*svc_b_, kPort, app_config(), &server), 0);
    ASSERT_EQ(dp::RemoteSocket::open(*svc_b_, 0, app_config(), &client), 0);
    poller_.hold();  // this thread polls side B from here on, one poll at a time
    struct Resume {  // also when an assertion returns early: the sockets' close needs it
        Poller &p;
        ~Resume() { p.resume(); }
    } resume{poller_};
    dp::Worker &w = *pair_->b.worker;
    int polls = 0;
    while (w.poll() && ++polls < 1000) {}
    ASSERT_LT(polls, 1000) << "side B never went idle";

    ASSERT_EQ(client->send({kIpB, kPort}, make(5, 100), 5, nullptr), 0);
    EXPECT_TRUE(w.poll());
    dp::RecvMessage req;
    ASSERT_EQ(server->recv(kRecvRequest | dp::kRecvNonblocking, 0, &req), 0)
        << "the request did not arrive in the poll after an idle one";
    EXPECT_TRUE(matches(req, 5, 100));

    // The last poll did work: the reply waits for the poll's RX to pass.
    ASSERT_EQ(server->post_reply_with(std::move(req)), 0);
    EXPECT_TRUE(w.poll());
    dp::RecvMessage resp;
    EXPECT_EQ(client->recv(kRecvResponse | dp::kRecvNonblocking, 0, &resp), -EAGAIN);
    EXPECT_TRUE(w.poll());
    ASSERT_EQ(client->recv(kRecvResponse | dp::kRecvNonblocking, 0, &resp), 0);
    EXPECT_TRUE(matches(resp, 5, 100));
    EXPECT_EQ(resp.cookie(), 5u);
    resp.release();

    poller_.resume();
    EXPECT_EQ(client->close(), 0);
    EXPECT_EQ(server->close(), 0);
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

}  // namespace
}  // namespace homa::rs_test
