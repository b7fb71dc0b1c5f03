// The v2 calls a run-to-completion load loop makes every turn (homa-perf's drivers): a
// zero-copy send from the caller's memory with its completion, a receive that builds no
// Result, a send that does not wait for its id, the worker's send slots in use, and the
// engine's counters. Two hosts over a net_ring pair, polled by this thread.
#include <gtest/gtest.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "homa/homa.h"
#include "tests/dataplane/api_hosts.h"
#include "tests/dataplane/eal_environment.h"

namespace homa::v2 {
namespace {

class LoadLoopCalls : public HostPair<> {
  protected:
    void poll_both() {
        server->poll();
        client->poll();
    }
};

struct Completions {
    unsigned calls = 0;
    uint64_t last_token = 0;
};

void count_completion(void *ctx, uint64_t token) {
    auto *c = static_cast<Completions *>(ctx);
    ++c->calls;
    c->last_token = token;
}

TEST_F(LoadLoopCalls, SendZcEchoesCallerMemoryAndCompletesOnceWhenItIsFree) {
    auto listen = server->listen(99);
    auto sock = client->open();
    ASSERT_TRUE(listen) << listen.message();
    ASSERT_TRUE(sock) << sock.message();
    Socket &srv = (*listen)[0];
    // DPDK memory, so the frames attach it instead of copying it.
    const uint32_t n = 200'000;
    auto *body = static_cast<uint8_t *>(rte_malloc("api_zc", n, 64));
    ASSERT_NE(body, nullptr);
    for (uint32_t i = 0; i < n; ++i) body[i] = uint8_t(i * 13 + 5);
    Completions done;
    EXPECT_EQ(sock->worker_sends_in_flight(), 0u);
    auto id = sock->send_zc(server_at, {body, n}, 42, count_completion, &done);
    ASSERT_TRUE(id) << id.message();
    EXPECT_EQ(sock->worker_sends_in_flight(), 1u);  // the request's memory is the worker's

    Message req;
    ASSERT_EQ(take(srv, kRecvRequest, &req, [&] { poll_both(); }), 0);
    EXPECT_TRUE(req.is_request());
    EXPECT_EQ(req.length(), n);
    EXPECT_EQ(req.bytes(), std::vector<uint8_t>(body, body + n));
    EXPECT_EQ(req.reply_self_async(), 0);  // run-to-completion: the worker takes it at once
    EXPECT_EQ(srv.worker_sends_in_flight(), 1u);

    Message resp;
    ASSERT_EQ(take(*sock, kRecvResponse, &resp, [&] { poll_both(); }), 0);
    EXPECT_EQ(resp.id(), *id);
    EXPECT_EQ(resp.cookie(), 42u);
    EXPECT_EQ(resp.error(), 0);
    EXPECT_EQ(resp.bytes(), std::vector<uint8_t>(body, body + n));
    Host *both[] = {&*client, &*server};
    ASSERT_EQ(Host::drain_together(both), 0);
    EXPECT_EQ(done.calls, 1u);
    EXPECT_EQ(done.last_token, 42u);
    EXPECT_EQ(sock->worker_sends_in_flight(), 0u);
    EXPECT_EQ(srv.worker_sends_in_flight(), 0u);
    // The counters are the engine's own: the request left in DATA packets.
    EXPECT_EQ(&client->engine_stats(0), &client->raw().worker(0).engine().stats());
    EXPECT_GE(client->engine_stats(0).packets_tx[uint8_t(wire::PacketType::kData)],
              n / client->raw().worker(0).engine().config().mtu);
    rte_free(body);
}

TEST_F(LoadLoopCalls, TryRecvTakesWhatIsReadyAndReleasesWhatItHeld) {
    auto listen = server->listen(99);
    auto sock = client->open();
    ASSERT_TRUE(listen);
    ASSERT_TRUE(sock);
    Socket &srv = (*listen)[0];
    Message m;
    EXPECT_EQ(sock->try_recv(kRecvResponse, &m), -EAGAIN);
    EXPECT_EQ(sock->try_recv(kRecvNonblocking, &m), -EINVAL);  // no kind
    EXPECT_EQ(sock->try_recv(kRecvResponse, nullptr), -EINVAL);
    // send_async on a run-to-completion socket: sent at once, the id comes with the response.
    ASSERT_EQ(sock->send_async(server_at, std::span<const uint8_t>(), 1), -EINVAL);
    ASSERT_EQ(sock->send_async(server_at.with_port(0), "x", 1), -EINVAL);
    const uint8_t first[] = {'a', 'b'};
    ASSERT_EQ(sock->send_async(server_at, first, 5), 0);
    ASSERT_EQ(take(srv, kRecvRequest, &m, [&] { poll_both(); }), 0);
    EXPECT_EQ(m.text(), "ab");
    ASSERT_EQ(srv.reply(m.peer(), m.id(), std::span<const uint8_t>(first, 1)), 0);
    // Taking a message into `m` gives back the bpages `m` held (the pool would run dry).
    ASSERT_EQ(take(*sock, kRecvResponse, &m, [&] { poll_both(); }), 0);
    EXPECT_EQ(m.text(), "a");
    EXPECT_EQ(m.cookie(), 5u);
    EXPECT_NE(m.id(), 0u);
    EXPECT_EQ(m.reply_self_async(), -EINVAL);  // a response cannot be answered
    EXPECT_EQ(sock->try_recv(kRecvResponse, &m), -EAGAIN);
    EXPECT_EQ(m.length(), 0u);  // released, also when nothing came
    const auto errors = sock->async_reply_errors();
    EXPECT_EQ(errors.count, 0u);  // run-to-completion refusals are return values
    EXPECT_EQ(errors.last, 0);
}

TEST_F(LoadLoopCalls, RefusalsAreNegativeErrnos) {
    auto sock = client->open();
    ASSERT_TRUE(sock);
    const uint8_t byte = 1;
    Completions done;
    EXPECT_EQ(sock->send_zc(server_at.with_port(0), {&byte, 1}, 1, count_completion, &done).error(),
              -EINVAL);
    EXPECT_EQ(sock->send_zc(server_at, {}, 1, count_completion, &done).error(), -EINVAL);
    std::vector<uint8_t> huge(kMaxMessageLength + 1);
    EXPECT_EQ(sock->send_zc(server_at, huge, 1, count_completion, &done).error(), -EMSGSIZE);
    EXPECT_EQ(sock->close(), 0);
    Message m;
    EXPECT_EQ(sock->try_recv(kRecvResponse, &m), -EBADF);
    EXPECT_EQ(sock->send_zc(server_at, {&byte, 1}, 1, count_completion, &done).error(), -EBADF);
    EXPECT_EQ(sock->send_async(server_at, "x", 1), -EBADF);
    EXPECT_EQ(sock->worker_sends_in_flight(), 0u);
    EXPECT_EQ(done.calls, 0u);  // done runs only for sends that were taken
}

// send_burst on a run-to-completion socket: each request is sent at once, in order, and the
// call stops at the first that cannot be (the same contract as an application thread's).
TEST_F(LoadLoopCalls, SendBurstSendsEachInOrderAndStopsAtTheFirstRefused) {
    auto listen = server->listen(99);
    auto sock = client->open();
    ASSERT_TRUE(listen) << listen.message();
    ASSERT_TRUE(sock) << sock.message();
    const uint8_t one[] = {'x'}, two[] = {'y', 'y'};
    BurstRequest reqs[3] = {{one, 1}, {two, 2}, {{}, 3}};
    EXPECT_EQ(sock->send_burst(server_at, reqs), 2);
    EXPECT_EQ(sock->send_burst(server_at, std::span(reqs + 2, 1)), -EINVAL);
    EXPECT_EQ(sock->send_burst(server_at, {}), 0);
    for (int answered = 0; answered < 2;) {
        poll_both();
        Message req;
        if ((*listen)[0].try_recv(kRecvRequest, &req) == 0) {
            ASSERT_EQ(req.reply_self(), 0);
            ++answered;
        }
    }
    std::vector<uint64_t> cookies;
    for (int i = 0; i < 2; ++i) {
        Message resp;
        ASSERT_EQ(take(*sock, kRecvResponse, &resp, [&] { poll_both(); }), 0);
        EXPECT_EQ(resp.length(), resp.cookie());  // cookie 1: 1 byte, cookie 2: 2 bytes
        cookies.push_back(resp.cookie());
    }
    std::sort(cookies.begin(), cookies.end());
    EXPECT_EQ(cookies, (std::vector<uint64_t>{1, 2}));
    EXPECT_EQ(sock->close(), 0);
    EXPECT_EQ(sock->send_burst(server_at, reqs), -EBADF);
    Host *both[] = {&*client, &*server};
    EXPECT_EQ(Host::drain_together(both), 0);
}

}  // namespace
}  // namespace homa::v2

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new homa::test::EalEnvironment("api_load_loop", 512));
    return RUN_ALL_TESTS();
}
