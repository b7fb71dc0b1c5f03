// homa::v2::PollLoop: one lcore polling the workers of two hosts of this process (a net_ring
// pair) while this thread uses application-thread sockets on both (homa-perf's --app_threads
// --ring_pair); and the application-thread calls that do not wait for the worker
// (send_async, reply_self_async and the refusals counted later).
#include <gtest/gtest.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include <atomic>
#include <optional>
#include <thread>

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
