// homa::v2::PollLoop: one lcore polling the workers of two hosts of this process (a net_ring
// pair) while this thread uses application-thread sockets on both (homa-perf's --app_threads
// --ring_pair); and the application-thread calls that do not wait for the worker
// (send_async, reply_self_async and the refusals counted later).
#include <gtest/gtest.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "homa/dataplane/socket_service.h"
#include "homa/homa.h"
#include "tests/dataplane/api_hosts.h"
#include "tests/dataplane/eal_environment.h"

namespace homa::v2 {
namespace {

class PollLoopPair : public HostPair<1> {
  protected:
    uint64_t polls(Host &h) { return h.raw().worker(0).stats().polls; }
};

TEST_F(PollLoopPair, OneLcorePollsBothHostsForApplicationThreadSockets) {
    Host *both[] = {&*client, &*server};
    auto loop = PollLoop::launch(both);
    ASSERT_TRUE(loop) << loop.message();
    EXPECT_EQ(loop->lcore(), rte_get_next_lcore(-1, 1, 0));
    // The hosts are the loop's while it runs.
    EXPECT_EQ(server->run([](unsigned) { return false; }), -EBUSY);
    EXPECT_EQ(client->launch([](unsigned) { return false; }), -EBUSY);
    Host *one[] = {&*server};
    EXPECT_EQ(PollLoop::launch(one).error(), -EBUSY);

    // Opening waits for each worker's answer: both are polled.
    auto srv = server->open_app(99, 0);
    auto sock = client->open_app(0, 0);
    ASSERT_TRUE(srv) << srv.message();
    ASSERT_TRUE(sock) << sock.message();
    ASSERT_EQ(sock->send_async(server_at, "hello", 7), 0);  // queued, not waited for
    Message req;
    ASSERT_EQ(take(*srv, kRecvRequest, &req, [] {}), 0);
    EXPECT_EQ(req.text(), "hello");
    ASSERT_EQ(req.reply_self_async(), 0);  // posted, not waited for
    Message resp;
    ASSERT_EQ(take(*sock, kRecvResponse, &resp, [] {}), 0);
    EXPECT_EQ(resp.text(), "hello");
    EXPECT_EQ(resp.cookie(), 7u);
    EXPECT_NE(resp.id(), 0u);
    // Both sides of each hand-off are in the host's timetrace: the application thread's in
    // its own ring (a0), the worker's in w0.
    const std::string tt = client->raw().timetrace_dump();
    EXPECT_NE(tt.find(" a0 app queued op 0x201 id 7 length 5 "), std::string::npos) << tt;
    EXPECT_NE(tt.find(" w0 ring op 0x201 id " + std::to_string(static_cast<uint32_t>(resp.id()))),
              std::string::npos);
    EXPECT_NE(tt.find(" a0 app answer id " + std::to_string(static_cast<uint32_t>(resp.id()))),
              std::string::npos);

    // A posted reply the worker refuses comes back as a count: this request is answered
    // already when its own bytes are posted as a second answer.
    ASSERT_EQ(sock->send_async(server_at, "twice", 8), 0);
    ASSERT_EQ(take(*srv, kRecvRequest, &req, [] {}), 0);
    const uint8_t first[] = {'1'};
    ASSERT_EQ(srv->reply(req.peer(), req.id(), first), 0);
    ASSERT_EQ(req.reply_self_async(), 0);
    Message none;
    for (int i = 0; i < 2'000'000 && srv->async_reply_errors().count == 0; ++i) {
        (void)srv->try_recv(kRecvRequest, &none);  // the worker's answers are read in calls
    }
    EXPECT_EQ(srv->async_reply_errors().count, 1u);
    EXPECT_EQ(srv->async_reply_errors().last, -ENOENT);
    ASSERT_EQ(take(*sock, kRecvResponse, &resp, [] {}), 0);
    EXPECT_EQ(resp.text(), "1");
    EXPECT_EQ(sock->worker_sends_in_flight(), 0u);  // not this thread's to read

    // Closing needs the workers polled too; then the loop stops and the hosts are free.
    EXPECT_EQ(srv->close(), 0);
    EXPECT_EQ(sock->close(), 0);
    // Each host's socket service counted the rings' traffic: two sends queued by the client,
    // two replies by the server, of which the worker refused the second.
    ASSERT_NE(client->socket_service(0), nullptr);
    EXPECT_EQ(client->socket_service(1), nullptr);  // one worker
    EXPECT_EQ(client->socket_service(0)->stats().requests_taken, 2u);
    EXPECT_EQ(client->socket_service(0)->stats().requests_refused, 0u);
    EXPECT_EQ(server->socket_service(0)->stats().requests_taken, 2u);
    EXPECT_EQ(server->socket_service(0)->stats().requests_refused, 1u);
    EXPECT_EQ(server->socket_service(0)->stats().refusals_lost_at_close, 0u);
    const uint64_t server_polls = polls(*server), client_polls = polls(*client);
    EXPECT_GT(server_polls, 0u);
    EXPECT_GT(client_polls, 0u);
    loop->stop();
    loop->wait();
    const uint64_t stopped = polls(*server);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(polls(*server), stopped);  // stopped for good
    EXPECT_EQ(server->run([](unsigned) { return false; }), 0);
    EXPECT_EQ(Host::drain_together(both), 0);
}

// send_burst on application-thread sockets: requests go in order, every one is answered with
// its own bytes and cookie, and the call stops at the first request it cannot take.
TEST_F(PollLoopPair, SendBurstHandsRequestsOverInOrderAndStopsAtTheFirstRefused) {
    Host *both[] = {&*client, &*server};
    auto loop = PollLoop::launch(both);
    ASSERT_TRUE(loop) << loop.message();
    auto srv = server->open_app(99, 0);
    auto sock = client->open_app(0, 0);
    ASSERT_TRUE(srv) << srv.message();
    ASSERT_TRUE(sock) << sock.message();

    constexpr unsigned kN = 40;  // more than one command-port burst (32)
    std::vector<std::vector<uint8_t>> bodies(kN);
    std::vector<BurstRequest> reqs(kN);
    for (unsigned i = 0; i < kN; ++i) {
        bodies[i].assign(10 + i, static_cast<uint8_t>('a' + i % 26));
        reqs[i] = {bodies[i], 1000 + i};
    }
    ASSERT_EQ(sock->send_burst(server_at, reqs), int(kN));
    for (auto &b : bodies) b.assign(b.size(), 0);  // copied: reusable at once
    // The server answers what it has in bursts too (reply_self_burst).
    std::vector<Message> reqs_in(kN);
    unsigned taken = 0, answered = 0;
    std::vector<bool> seen(kN);
    for (unsigned got = 0; got < kN;) {
        while (taken < kN && srv->try_recv(kRecvRequest, &reqs_in[taken]) == 0) ++taken;
        if (answered < taken) {
            const unsigned n = taken - answered;
            ASSERT_EQ(srv->reply_self_burst(std::span(reqs_in).subspan(answered, n)), int(n));
            for (unsigned i = answered; i < taken; ++i) EXPECT_FALSE(reqs_in[i].raw().valid());
            answered = taken;
        }
        Message resp;
        int rc = sock->try_recv(kRecvResponse, &resp);
        if (rc == -EAGAIN) continue;
        ASSERT_EQ(rc, 0);
        ASSERT_EQ(resp.error(), 0);
        const unsigned i = static_cast<unsigned>(resp.cookie() - 1000);
        ASSERT_LT(i, kN);
        EXPECT_FALSE(seen[i]);
        seen[i] = true;
        EXPECT_EQ(resp.text(), std::string(10 + i, static_cast<char>('a' + i % 26)));
        ++got;
    }
    EXPECT_EQ(srv->async_reply_errors().count, 0u);

    // Stops at the first that cannot go: an empty message in the middle.
    const uint8_t byte[] = {1};
    BurstRequest mixed[3] = {{byte, 1}, {{}, 2}, {byte, 3}};
    EXPECT_EQ(sock->send_burst(server_at, mixed), 1);
    EXPECT_EQ(sock->send_burst(server_at, std::span(mixed + 1, 2)), -EINVAL);  // says why
    std::vector<uint8_t> huge(kMaxMessageLength + 1);
    BurstRequest too_big[1] = {{huge, 4}};
    EXPECT_EQ(sock->send_burst(server_at, too_big), -EMSGSIZE);
    EXPECT_EQ(sock->send_burst(*SocketAddress::parse("10.0.0.1:0"), mixed), -EINVAL);
    EXPECT_EQ(sock->send_burst(server_at, {}), 0);
    Message req, resp;
    ASSERT_EQ(take(*srv, kRecvRequest, &req, [] {}), 0);  // cookie 1's
    ASSERT_EQ(req.reply_self_async(), 0);
    ASSERT_EQ(take(*sock, kRecvResponse, &resp, [] {}), 0);
    EXPECT_EQ(resp.cookie(), 1u);
    EXPECT_EQ(srv->try_recv(kRecvRequest, &req), -EAGAIN);  // nothing else was sent

    // reply_self_burst takes only requests of its own socket, and stops at the first other.
    ASSERT_EQ(sock->send_async(server_at, "abc", 5), 0);
    ASSERT_EQ(take(*srv, kRecvRequest, &req, [] {}), 0);
    Message pair[2];
    pair[0] = std::move(req);
    pair[1] = std::move(resp);  // a response: not a request to answer
    EXPECT_EQ(srv->reply_self_burst(std::span(pair + 1, 1)), -EINVAL);
    EXPECT_TRUE(pair[1].raw().valid());                              // left as it was
    EXPECT_EQ(sock->reply_self_burst(std::span(pair, 1)), -EINVAL);  // another socket's
    EXPECT_TRUE(pair[0].raw().valid());
    EXPECT_EQ(srv->reply_self_burst(pair), 1);
    EXPECT_FALSE(pair[0].raw().valid());
    EXPECT_EQ(srv->reply_self_burst({}), 0);
    ASSERT_EQ(take(*sock, kRecvResponse, &resp, [] {}), 0);
    EXPECT_EQ(resp.text(), "abc");

    EXPECT_EQ(srv->close(), 0);
    EXPECT_EQ(sock->close(), 0);
    EXPECT_EQ(sock->send_burst(server_at, mixed), -EBADF);
    EXPECT_EQ(srv->reply_self_burst(pair), -EBADF);
    loop->stop();
    loop->wait();
    EXPECT_EQ(Host::drain_together(both), 0);
}

TEST_F(PollLoopPair, RefusesWhatItCannotPoll) {
    EXPECT_EQ(PollLoop::launch({}).error(), -EINVAL);
    Host *null_host[] = {nullptr};
    EXPECT_EQ(PollLoop::launch(null_host).error(), -EINVAL);
    Host *twice[] = {&*server, &*server};
    EXPECT_EQ(PollLoop::launch(twice).error(), -EINVAL);
    Host *one[] = {&*server};
    EXPECT_EQ(PollLoop::launch(one, rte_get_main_lcore()).error(), -EINVAL);
    EXPECT_EQ(PollLoop::launch(one, RTE_MAX_LCORE - 1).error(), -EINVAL);  // not EAL's
    // The only worker lcore runs the client's launched loop: none is free.
    std::atomic<bool> stop{false};
    ASSERT_EQ(client->launch([&](unsigned) { return !stop.load(); }), 0);
    EXPECT_EQ(PollLoop::launch(one).error(), -EBUSY);
    EXPECT_EQ(PollLoop::launch(one, client->lcore(0)).error(), -EBUSY);
    stop = true;
    client->wait();
    // Free again; a loop destroyed without stop() stops and waits by itself.
    const uint64_t before = polls(*server);
    {
        auto loop = PollLoop::launch(one);
        ASSERT_TRUE(loop) << loop.message();
        while (polls(*server) < before + 100) std::this_thread::yield();
    }
    EXPECT_EQ(server->run([](unsigned) { return false; }), 0);
}

}  // namespace
}  // namespace homa::v2

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(
        new homa::test::EalEnvironment("api_poll_loop", 512, {"--lcores=0@0,1@0"}));
    return RUN_ALL_TESTS();
}
