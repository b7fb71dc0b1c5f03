// The v2 C++ API (homa/homa.h): Host bring-up errors and flags, and two Hosts over a net_ring
// pair exchanging RPCs through v2 Sockets and Messages (address parsing: api_address_test.cc).
#include <gtest/gtest.h>
#include <rte_eth_ring.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "homa/homa.h"
#include "tests/dataplane/api_hosts.h"
#include "tests/dataplane/eal_environment.h"

namespace homa::v2 {
namespace {

// Polls both hosts until `sock` has a message of `flags` (non-blocking) or 2 s pass.
Result<Message> exchange(Host &x, Host &y, Socket &sock, uint32_t flags, uint64_t id = 0) {
    for (int i = 0; i < 2'000'000; ++i) {
        x.poll();
        y.poll();
        auto m = sock.recv(flags | kRecvNonblocking, id);
        if (m || m.error() != -EAGAIN) return m;
    }
    return Error{-ETIMEDOUT, "exchange: nothing arrived"};
}

using ApiPair = HostPair<>;

TEST_F(ApiPair, EchoCarriesBytesCookiePeerAndKind) {
    auto listen = server->listen(99);
    ASSERT_TRUE(listen) << listen.message();
    ASSERT_EQ(listen->size(), 1u);
    auto sock = client->open();
    ASSERT_TRUE(sock) << sock.message();
    EXPECT_GE(sock->local_addr().port(), 0x8000);
    EXPECT_EQ(sock->local_addr().ipv4_address(), 0x0A000002u);

    std::vector<uint8_t> big(200'000);
    for (size_t i = 0; i < big.size(); ++i) big[i] = uint8_t(i * 7 + 3);
    auto id = sock->send(server_at, big, 42);
    ASSERT_TRUE(id) << id.message();

    auto req = exchange(*server, *client, (*listen)[0], kRecvRequest);
    ASSERT_TRUE(req) << req.message();
    EXPECT_TRUE(req->is_request());
    EXPECT_EQ(req->error(), 0);
    EXPECT_EQ(req->peer(), sock->local_addr());
    EXPECT_EQ(req->bytes(), big);
    ASSERT_EQ(req->reply_self(), 0);

    auto resp = exchange(*server, *client, *sock, kRecvResponse, *id);
    ASSERT_TRUE(resp) << resp.message();
    EXPECT_FALSE(resp->is_request());
    EXPECT_EQ(resp->id(), *id);
    EXPECT_EQ(resp->cookie(), 42u);
    EXPECT_EQ(resp->peer(), server_at);
    EXPECT_EQ(resp->bytes(), big);
    EXPECT_EQ(resp->reply("no"), -EINVAL);  // a response cannot be answered

    // Copying reply, text helpers, and Socket::reply as the Go bindings call it.
    auto id2 = sock->send(server_at, "ping", 7);
    ASSERT_TRUE(id2);
    auto req2 = exchange(*server, *client, (*listen)[0], kRecvRequest);
    ASSERT_TRUE(req2);
    EXPECT_EQ(req2->text(), "ping");
    std::string pong = "pong";
    ASSERT_EQ((*listen)[0].reply(req2->peer(), req2->id(),
                                 std::span(reinterpret_cast<const uint8_t *>(pong.data()), 4)),
              0);
    auto resp2 = exchange(*server, *client, *sock, kRecvResponse);
    ASSERT_TRUE(resp2);
    EXPECT_EQ(resp2->text(), "pong");
    EXPECT_EQ(resp2->cookie(), 7u);
    EXPECT_EQ(client->drain(), 0);
    EXPECT_EQ(server->drain(), 0);
}

TEST_F(ApiPair, ErrorsAreNegativeErrnos) {
    auto sock = client->open();
    ASSERT_TRUE(sock);
    auto none = sock->recv(kRecvResponse | kRecvNonblocking);
    EXPECT_EQ(none.error(), -EAGAIN);
    EXPECT_EQ(sock->recv(kRecvNonblocking).error(), -EINVAL);
    EXPECT_EQ(sock->recv(kRecvResponse, 0, 1'000'000).error(), -ETIMEDOUT);
    EXPECT_EQ(sock->send(server_at, "").error(), -EINVAL);
    EXPECT_EQ(sock->send(server_at.with_port(0), "x").error(), -EINVAL);
    EXPECT_EQ(sock->send(SocketAddress(), "x").error(), -EINVAL);
    std::vector<uint8_t> huge(kMaxMessageLength + 1);
    EXPECT_EQ(sock->send(server_at, huge).error(), -EMSGSIZE);
    EXPECT_EQ(sock->abort(12346), -ENOENT);  // client ids are even
    EXPECT_EQ(sock->abort(12345), -EINVAL);
    EXPECT_EQ(server->open(0x8000).error(), -EINVAL);
    EXPECT_EQ(server->open(99, 1).error(), -EINVAL);  // one worker only
    EXPECT_EQ(server->listen(0).error(), -EINVAL);
    auto first = server->listen(99);
    ASSERT_TRUE(first);
    EXPECT_EQ(server->listen(99).error(), -EADDRINUSE);
    EXPECT_EQ(sock->close(), 0);
    EXPECT_FALSE(sock->is_open());
    EXPECT_EQ(sock->send(server_at, "x").error(), -EBADF);
    EXPECT_EQ(sock->close(), -EBADF);
}

TEST_F(ApiPair, AbortCompletesTheRpcWithANegativeErrnoWhateverTheSign) {
    auto sock = client->open();
    ASSERT_TRUE(sock);
    // Nobody listens on 98 yet the send is accepted; the abort ends it.
    auto a = sock->send(server_at.with_port(98), "a", 1);
    auto b = sock->send(server_at.with_port(98), "b", 2);
    ASSERT_TRUE(a);
    ASSERT_TRUE(b);
    ASSERT_EQ(sock->abort(*a, ECANCELED), 0);  // positive, as Linux's homa_abort takes it
    ASSERT_EQ(sock->abort(*b, -EPIPE), 0);
    auto ra = sock->recv(kRecvResponse, *a, 1'000'000'000);
    auto rb = sock->recv(kRecvResponse, *b, 1'000'000'000);
    ASSERT_TRUE(ra) << ra.message();
    ASSERT_TRUE(rb) << rb.message();
    EXPECT_EQ(ra->error(), -ECANCELED);
    EXPECT_EQ(ra->cookie(), 1u);
    EXPECT_EQ(ra->length(), 0u);
    EXPECT_EQ(rb->error(), -EPIPE);
    EXPECT_EQ(rb->cookie(), 2u);
}

TEST_F(ApiPair, DrainWaitsForSendsInFlight) {
    auto listen = server->listen(99);
    auto sock = client->open();
    ASSERT_TRUE(listen);
    ASSERT_TRUE(sock);
    auto id = sock->send(server_at, std::vector<uint8_t>(200'000, 5));
    ASSERT_TRUE(id);
    // The server is not polled: the request cannot complete, so neither can the drain.
    EXPECT_EQ(client->drain(20'000'000), -ETIMEDOUT);
    EXPECT_GT(sock->worker_sends_in_flight(), 0u);
    auto req = exchange(*server, *client, (*listen)[0], kRecvRequest);
    ASSERT_TRUE(req);
    ASSERT_EQ(req->reply("ok"), 0);
    auto resp = exchange(*server, *client, *sock, kRecvResponse, *id);
    ASSERT_TRUE(resp);
    // Both drained together: acknowledgements flow both ways.
    Host *both[] = {&*client, &*server};
    EXPECT_EQ(Host::drain_together(both), 0);
    EXPECT_EQ(sock->worker_sends_in_flight(), 0u);
    EXPECT_EQ((*listen)[0].worker_sends_in_flight(), 0u);
}

TEST_F(ApiPair, SocketMovesKeepMessagesAnswerable) {
    auto listen = server->listen(99);
    ASSERT_TRUE(listen);
    Socket srv = std::move((*listen)[0]);
    EXPECT_FALSE((*listen)[0].is_open());
    auto sock = client->open();
    ASSERT_TRUE(sock);
    auto id = sock->send(server_at, "moved");
    ASSERT_TRUE(id);
    auto req = exchange(*server, *client, srv, kRecvRequest);
    ASSERT_TRUE(req);
    Socket moved_again = std::move(srv);  // the message refers to the socket's state, not it
    ASSERT_EQ(req->reply(req->bytes()), 0);
    auto resp = exchange(*server, *client, *sock, kRecvResponse);
    ASSERT_TRUE(resp);
    EXPECT_EQ(resp->text(), "moved");
}

// Application threads: a server socket and a client socket, each opened by its own plain
// thread through the worker's message ports while the test thread polls both hosts. Same
// calls, flags and errors as the run-to-completion sockets above.
TEST(Host_AppThreads, SocketsOnApplicationThreadsBehaveTheSame) {
    RingPair ring;
    auto so = options(ring.a, "10.0.0.1");
    auto co = options(ring.b, "10.0.0.2");
    so.app_threads = 1;
    co.app_threads = 1;
    // The smallest rings: every hand-off waits for room, and nothing may be lost to it.
    so.app_socket.recv_credits = 1;
    so.app_socket.max_async = 1;
    auto server = Host::create(so);
    auto client = Host::create(co);
    ASSERT_TRUE(server) << server.message();
    ASSERT_TRUE(client) << client.message();
    const SocketAddress server_at = *SocketAddress::parse("10.0.0.1:99");
    std::mutex mu;
    std::vector<std::string> failures;
    auto fail = [&](const std::string &what) {
        std::lock_guard lock(mu);
        failures.push_back(what);
    };
    std::atomic<bool> listening{false}, client_done{false}, server_done{false};
    std::thread srv([&] {
        auto sock = server->open_app(99, 0);
        listening = true;
        if (!sock) fail("server open_app: " + sock.message());
        while (sock && !client_done) {
            auto req = sock->recv(kRecvRequest, 0, 10'000'000);
            if (!req) continue;
            if (!req->is_request()) fail("server got a response");
            int rc = req->text().starts_with("self") ? req->reply_self() : req->reply(req->bytes());
            if (rc != 0) fail("server reply: " + error_string(rc));
        }
        // Closed while the worker is still polled: it must answer the close.
        if (sock && sock->close() != 0) fail("server close");
        server_done = true;
    });
    std::thread app([&] {
        while (!listening) std::this_thread::yield();
        auto sock = client->open_app(0, 0);
        if (!sock) {
            fail("client open_app: " + sock.message());
            client_done = true;
            return;
        }
        if (!sock->is_app_thread_socket()) fail("not an application-thread socket");
        if (sock->local_addr().ipv4_address() != 0x0A000002u ||
            sock->local_addr().port() < 0x8000) {
            fail("local_addr " + sock->local_addr().to_string());
        }
        for (size_t n : {1u, 5000u, 300'000u}) {
            std::vector<uint8_t> req(n);
            for (size_t i = 0; i < n; ++i) req[i] = uint8_t(i * 3 + n);
            auto resp = sock->call(server_at, req, 5'000'000'000);
            if (!resp || resp->bytes() != req || resp->peer() != server_at) {
                fail("call of " + std::to_string(n) + " bytes: " + resp.message());
            }
        }
        auto id = sock->send(server_at, "self-echo", 9);
        auto r = id ? sock->recv(kRecvResponse, *id, 5'000'000'000)
                    : Result<Message>(Error{id.error(), id.message()});
        if (!r || r->cookie() != 9 || r->text() != "self-echo" || r->is_request()) {
            fail("send/recv with cookie: " + r.message());
        }
        if (sock->recv(kRecvResponse | kRecvNonblocking).error() != -EAGAIN) fail("not -EAGAIN");
        if (sock->recv(kRecvResponse, 0, 1'000'000).error() != -ETIMEDOUT) fail("not -ETIMEDOUT");
        if (sock->recv(kRecvNonblocking).error() != -EINVAL) fail("no kind: not -EINVAL");
        if (sock->send(server_at, "").error() != -EINVAL) fail("empty send: not -EINVAL");
        auto lost = sock->send(server_at.with_port(98), "x", 3);
        if (!lost || sock->abort(*lost, ECANCELED) != 0) fail("abort");
        auto aborted = lost ? sock->recv(kRecvResponse, *lost, 5'000'000'000)
                            : Result<Message>(Error{-EIO, "x"});
        if (!aborted || aborted->error() != -ECANCELED || aborted->cookie() != 3) {
            fail("aborted rpc: " + aborted.message() + " " +
                 std::to_string(aborted ? aborted->error() : 0));
        }
        if (client->open_app(0, 1).error() != -EINVAL) fail("thread slot 1 of 1: not -EINVAL");
        if (sock->close() != 0) fail("close");
        if (sock->send(server_at, "x").error() != -EBADF) fail("send after close: not -EBADF");
        client_done = true;
    });
    while (!server_done || !client_done) {
        server->poll();
        client->poll();
    }
    app.join();
    srv.join();
    std::string all;
    for (const auto &f : failures) all += f + "; ";
    EXPECT_TRUE(failures.empty()) << all;
}

TEST(Host_AppThreads, SocketOptionsReachEveryApplicationSocket) {
    RingPair ring;
    auto o = options(ring.a, "10.0.0.1");
    o.app_threads = 1;
    o.app_socket.recv_credits = 4097;  // above the answer ring's 4096
    auto host = Host::create(o);
    ASSERT_TRUE(host) << host.message();
    auto sock = host->open_app(0, 0);
    ASSERT_FALSE(sock);
    EXPECT_EQ(sock.error(), -EINVAL) << sock.message();
    EXPECT_NE(sock.message().find("open_app"), std::string::npos) << sock.message();
}

// Hosts on IPv6, and a host on both families: the client reaches the dual-stack server at
// either address from one socket, and each reply comes from the address it was sent to.
// Next hops are found by neighbour discovery and ARP over the ring pair.
TEST(Host_Ipv6, EchoOverIpv6AndToADualStackHostAtBothAddresses) {
    RingPair ring;
    auto so = options(ring.a, "10.0.0.1");
    so.local_ipv6 = *SocketAddress::parse("[fd00::1]:0");
    auto co = options(ring.b, "10.0.0.2");
    co.local_ipv6 = *SocketAddress::parse("[fd00::2]:0");
    auto s = Host::create(so);
    auto c = Host::create(co);
    ASSERT_TRUE(s) << s.message();
    ASSERT_TRUE(c) << c.message();
    auto listen = s->listen(99);
    ASSERT_TRUE(listen) << listen.message();
    auto sock = c->open();
    ASSERT_TRUE(sock) << sock.message();
    for (const char *at : {"[fd00::1]:99", "10.0.0.1:99", "[fd00::1]:99"}) {
        const SocketAddress server_at = *SocketAddress::parse(at);
        auto id = sock->send(server_at, std::string(3000, 'x') + at);
        ASSERT_TRUE(id) << id.message();
        auto req = exchange(*s, *c, (*listen)[0], kRecvRequest);
        ASSERT_TRUE(req) << at << ": " << req.message();
        EXPECT_EQ(req->peer().family(), server_at.family()) << at;
        EXPECT_EQ(req->text(), std::string(3000, 'x') + at);
        ASSERT_EQ(req->reply_self(), 0);
        auto resp = exchange(*s, *c, *sock, kRecvResponse, *id);
        ASSERT_TRUE(resp) << at << ": " << resp.message();
        EXPECT_EQ(resp->peer(), server_at) << at;
        EXPECT_EQ(resp->text(), std::string(3000, 'x') + at);
    }
    EXPECT_EQ(c->drain(), 0);
    EXPECT_EQ(s->drain(), 0);

    // An IPv6-only host talks to the dual-stack one over IPv6.
    RingPair ring2;
    auto v6o = options(ring2.a, "fd00::3");
    auto v6 = Host::create(v6o);
    ASSERT_TRUE(v6) << v6.message();
    EXPECT_EQ(v6->local_addr().to_string(), "[fd00::3]:0");
    auto peer_o = options(ring2.b, "10.0.0.4");
    peer_o.local_ipv6 = *SocketAddress::parse("[fd00::4]:0");
    auto peer = Host::create(peer_o);
    ASSERT_TRUE(peer) << peer.message();
    auto l2 = peer->listen(7);
    ASSERT_TRUE(l2) << l2.message();
    auto s2 = v6->open();
    ASSERT_TRUE(s2) << s2.message();
    EXPECT_EQ(s2->local_addr().family(), SocketAddress::Family::kIpv6);
    auto id = s2->send(*SocketAddress::parse("[fd00::4]:7"), "six");
    ASSERT_TRUE(id) << id.message();
    auto req = exchange(*peer, *v6, (*l2)[0], kRecvRequest);
    ASSERT_TRUE(req) << req.message();
    EXPECT_EQ(req->peer(), s2->local_addr());
    ASSERT_EQ(req->reply_self(), 0);
    auto resp = exchange(*peer, *v6, *s2, kRecvResponse, *id);
    ASSERT_TRUE(resp) << resp.message();
    EXPECT_EQ(resp->text(), "six");
    EXPECT_EQ(v6->drain(), 0);
    EXPECT_EQ(peer->drain(), 0);
}

TEST(Host_Create, RejectsBadOptionsWithReasons) {
    HostOptions o;
    auto none = Host::create(o);
    EXPECT_EQ(none.error(), -EINVAL);
    EXPECT_NE(none.message().find("local"), std::string::npos);
    o.local = SocketAddress::ipv4(0x0A000001, 0);
    o.port_id = RTE_MAX_ETHPORTS - 1;
    EXPECT_EQ(Host::create(o).error(), -ENODEV);
    o.eal_args = {"--no-huge"};
    EXPECT_EQ(Host::create(o).error(), -EALREADY);
    o.eal_args.clear();
    o.workers = 0;
    EXPECT_EQ(Host::create(o).error(), -EINVAL);
    o.workers = 1;
    o.local_ipv6 = SocketAddress::ipv4(0x0A000002, 0);  // the second address must be IPv6
    auto not6 = Host::create(o);
    EXPECT_EQ(not6.error(), -EINVAL);
    EXPECT_NE(not6.message().find("local_ipv6"), std::string::npos) << not6.message();
    o.local = *SocketAddress::parse("[fd00::1]:0");  // and the first one IPv4
    o.local_ipv6 = *SocketAddress::parse("[fd00::2]:0");
    EXPECT_EQ(Host::create(o).error(), -EINVAL);
    o.local = SocketAddress::ipv6({}, 0);  // "::"
    o.local_ipv6 = SocketAddress();
    EXPECT_EQ(Host::create(o).error(), -EINVAL);
}

TEST(Host_Create, PoolsThatDoNotFitNameTheFlagsToChange) {
    RingPair ring;
    auto o = options(ring.a, "10.0.0.7");
    o.mbufs = 1u << 22;  // about 9 GB of mbufs; EAL has 512 MB here
    auto many_mbufs = Host::create(o);
    EXPECT_FALSE(many_mbufs);
    EXPECT_NE(many_mbufs.message().find("mbuf pool of 4194304 mbufs"), std::string::npos)
        << many_mbufs.message();
    EXPECT_NE(many_mbufs.message().find("-m <MB>"), std::string::npos) << many_mbufs.message();
    EXPECT_NE(many_mbufs.message().find("--mbufs"), std::string::npos) << many_mbufs.message();
    o.mbufs = 4095;
    o.pool_mb = 2048;
    auto big_pool = Host::create(o);  // fails after the port is up: the port is closed again
    EXPECT_FALSE(big_pool);
    EXPECT_NE(big_pool.message().find("bpage pool of 2048 MB"), std::string::npos)
        << big_pool.message();
    EXPECT_NE(big_pool.message().find("--pool_mb"), std::string::npos) << big_pool.message();
    // Neither failure kept its memory: a host that fits still comes up.
    auto fits = Host::create(options(ring.b, "10.0.0.8"));
    EXPECT_TRUE(fits) << fits.message();
}

TEST(Host_Create, CommandLineFlagsAndLeftovers) {
    RingPair ring(2);
    std::string port = "--port=" + std::to_string(ring.a);
    std::vector<const char *> argv = {"prog",         "--",          "--local=10.1.2.3",
                                      port.c_str(),   "--workers=2", "--pool_mb=16",
                                      "--mbufs=4095", "10.0.0.9:99", "--mine"};
    auto h = Host::create(int(argv.size()), const_cast<char **>(argv.data()));
    ASSERT_TRUE(h) << h.message();
    EXPECT_EQ(h->num_workers(), 2);
    EXPECT_EQ(h->local_addr().to_string(), "10.1.2.3:0");
    EXPECT_EQ(h->args(), (std::vector<std::string>{"10.0.0.9:99", "--mine"}));
    auto socks = h->listen(5);
    ASSERT_TRUE(socks) << socks.message();
    ASSERT_EQ(socks->size(), 2u);  // one per worker
    EXPECT_EQ((*socks)[1].local_addr().port(), 5);
    socks->clear();
    for (const char *bad :
         {"--local=10.0.0", "--local=10.0.0.1,", "--local=10.0.0.1,10.0.0.2", "--local=ff02::1",
          "--workers=0", "--workers=x", "--pool_mb=0", "--mbufs=5"}) {
        std::vector<const char *> b = {"prog", "--", bad};
        auto r = Host::create(int(b.size()), const_cast<char **>(b.data()));
        EXPECT_EQ(r.error(), -EINVAL) << bad;
        EXPECT_NE(r.message().find("bad --"), std::string::npos) << r.message();
    }
}

TEST(Host_Create, CommandLineTakesIpv6AndBothFamilies) {
    RingPair ring;
    std::string pa = "--port=" + std::to_string(ring.a), pb = "--port=" + std::to_string(ring.b);
    std::vector<const char *> both = {"prog",     "--",           "--local=10.1.2.4,fd00::9",
                                      pa.c_str(), "--pool_mb=16", "--mbufs=4095"};
    auto h = Host::create(int(both.size()), const_cast<char **>(both.data()));
    ASSERT_TRUE(h) << h.message();
    EXPECT_EQ(h->local_addr().to_string(), "10.1.2.4:0");
    std::vector<const char *> six = {"prog",     "--",           "--local=fd00::a",
                                     pb.c_str(), "--pool_mb=16", "--mbufs=4095"};
    auto h6 = Host::create(int(six.size()), const_cast<char **>(six.data()));
    ASSERT_TRUE(h6) << h6.message();
    EXPECT_EQ(h6->local_addr().to_string(), "[fd00::a]:0");
}

// net_ring reports 10 Gbps: the pacer keeps the configured speed unless told to take the
// port's, on every worker, from the options or the command line.
TEST(Host_Create, PacerTakesThePortsLinkSpeedOnlyWhenAsked) {
    RingPair ring(2), other;
    auto o = options(ring.a, "10.0.0.11", 2);
    o.worker.engine.link_mbps = 40'000;
    auto kept = Host::create(o);
    ASSERT_TRUE(kept) << kept.message();
    EXPECT_EQ(kept->port_link_mbps(), 10'000u);
    o.port_id = ring.b;
    o.pace_at_link_speed = true;
    auto paced = Host::create(o);
    ASSERT_TRUE(paced) << paced.message();
    for (uint16_t w = 0; w < 2; ++w) {
        EXPECT_EQ(kept->raw().worker(w).engine().config().link_mbps, 40'000u) << w;
        EXPECT_EQ(paced->raw().worker(w).engine().config().link_mbps, 10'000u) << w;
    }
    std::string port = "--port=" + std::to_string(other.a);
    std::vector<const char *> argv = {
        "prog",         "--",           "--local=10.0.0.12",   port.c_str(),
        "--pool_mb=16", "--mbufs=4095", "--pace_at_link_speed"};
    auto flagged = Host::create(int(argv.size()), const_cast<char **>(argv.data()));
    ASSERT_TRUE(flagged) << flagged.message();
    EXPECT_EQ(flagged->raw().worker(0).engine().config().link_mbps, 10'000u);
    EXPECT_TRUE(flagged->args().empty());
}

TEST(Host_Run, EveryWorkerRunsOnItsLcoreUntilItsCallbackStops) {
    RingPair ring(3);
    auto o = options(ring.a, "10.0.0.5", 2);
    auto h = Host::create(o);
    ASSERT_TRUE(h) << h.message();
    std::vector<unsigned> lcore(2, ~0u), calls(2, 0);
    ASSERT_EQ(h->run([&](unsigned w) {
        lcore[w] = rte_lcore_id();
        return ++calls[w] < 100;
    }),
              0);
    EXPECT_EQ(calls, (std::vector<unsigned>{100, 100}));
    EXPECT_EQ(lcore[0], rte_lcore_id());
    EXPECT_NE(lcore[1], lcore[0]);
    auto three = Host::create(options(ring.b, "10.0.0.6", 3));
    ASSERT_TRUE(three) << three.message();
    EXPECT_EQ(three->run([](unsigned) { return false; }), -EINVAL);  // EAL has 2 lcores
}

// The launcher's shape: the worker's loop on another lcore while this thread stays free.
TEST(Host_Launch, LoopsRunOnWorkerLcoresWhileTheCallerIsFree) {
    RingPair ring(2);
    auto h = Host::create(options(ring.a, "10.0.0.7"));
    ASSERT_TRUE(h) << h.message();
    EXPECT_EQ(h->lcore(0), unsigned(RTE_MAX_LCORE));  // nothing launched yet
    std::atomic<bool> stop{false};
    std::atomic<unsigned> ran_on{~0u}, turns{0};
    ASSERT_EQ(h->launch([&](unsigned w) {
        ran_on = rte_lcore_id();
        ++turns;
        return w == 0 && !stop.load();
    }),
              0);
    while (turns.load() < 100) std::this_thread::yield();  // this thread is free meanwhile
    EXPECT_EQ(ran_on.load(), rte_get_next_lcore(-1, 1, 0));
    EXPECT_EQ(h->lcore(0), ran_on.load());
    EXPECT_NE(ran_on.load(), rte_lcore_id());
    EXPECT_EQ(h->launch([](unsigned) { return false; }), -EBUSY);  // one set of loops at a time
    EXPECT_EQ(h->run([](unsigned) { return false; }), -EBUSY);
    stop = true;
    h->wait();
    const unsigned after = turns.load();
    EXPECT_EQ(turns.load(), after);  // stopped for good
    h->wait();                       // nothing left to wait for
    // The lcore is free again: a second launch runs, and ~Host waits for it.
    EXPECT_EQ(h->launch([](unsigned) { return false; }), 0);
    auto two = Host::create(options(ring.b, "10.0.0.8", 2));
    ASSERT_TRUE(two) << two.message();
    EXPECT_EQ(two->launch([](unsigned) { return false; }), -EINVAL);  // 2 workers, 1 spare lcore
}

// Loop::kCallOnly leaves polling to the callback: the launcher pauses its port that way.
TEST(Host_Launch, CallOnlyLoopsPollOnlyWhenTheCallbackDoes) {
    RingPair ring;
    auto h = Host::create(options(ring.a, "10.0.0.9"));
    ASSERT_TRUE(h) << h.message();
    const uint64_t before = h->raw().worker(0).stats().polls;
    unsigned calls = 0;
    ASSERT_EQ(h->run([&](unsigned) { return ++calls < 50; }, Loop::kCallOnly), 0);
    EXPECT_EQ(h->raw().worker(0).stats().polls, before);
    calls = 0;
    ASSERT_EQ(h->run(
                  [&](unsigned w) {
                      (void)h->poll(uint16_t(w));
                      return ++calls < 50;
                  },
                  Loop::kCallOnly),
              0);
    EXPECT_EQ(h->raw().worker(0).stats().polls, before + 50);
    ASSERT_EQ(h->run([&](unsigned) { return ++calls < 60; }), 0);  // the usual: host polls
    EXPECT_EQ(h->raw().worker(0).stats().polls, before + 60);
}

// What the apps set beyond the basic options reaches every worker, and per worker.
TEST(Host_Create, CarriesTheWorkersFullConfiguration) {
    RingPair ring(2);
    auto o = options(ring.a, "10.0.0.10", 2);
    o.worker.engine.unsched_bytes = 12345;
    o.worker.timetrace_records = 1u << 10;
    o.worker.neighbours.push_back({0x0A00000B, {2, 0, 0, 0, 0, 0x0B}});
    std::vector<uint16_t> configured;
    o.configure_worker = [&](uint16_t w, dp::WorkerConfig &c, std::string *) {
        configured.push_back(w);
        if (w == 1) c.timetrace_records = 0;  // worker 1 without a ring
        return 0;
    };
    auto h = Host::create(o);
    ASSERT_TRUE(h) << h.message();
    EXPECT_EQ(configured, (std::vector<uint16_t>{0, 1}));
    for (uint16_t w = 0; w < 2; ++w) {
        EXPECT_EQ(h->raw().worker(w).engine().config().unsched_bytes, 12345u) << w;
        EXPECT_EQ(h->raw().worker(w).engine().config().local_ip, 0x0A00000Au) << w;
        dp::MacAddr mac{};
        (void)h->raw().worker(w).neighbours().state(0x0A00000B, &mac);
        EXPECT_EQ(mac, (dp::MacAddr{2, 0, 0, 0, 0, 0x0B})) << w;  // the static entry
    }
    EXPECT_NE(h->raw().worker(0).timetrace(), nullptr);
    EXPECT_EQ(h->raw().worker(1).timetrace(), nullptr);
    EXPECT_FALSE(h->memory_lock().locked);  // lock_memory defaults to kOff
}

TEST(Host_Create, RefusesBadWorkerConfigurationWithItsReason) {
    RingPair ring;
    auto o = options(ring.a, "10.0.0.12");
    o.worker.engine.max_sched_prio = 9;  // priorities are 0..7
    auto bad = Host::create(o);
    EXPECT_EQ(bad.error(), -EINVAL);
    EXPECT_NE(bad.message().find("engine"), std::string::npos) << bad.message();
    o = options(ring.a, "10.0.0.12");
    o.configure_worker = [](uint16_t, dp::WorkerConfig &, std::string *why) {
        *why = "no such NUMA node";
        return -ENXIO;
    };
    auto refused = Host::create(o);
    EXPECT_EQ(refused.error(), -ENXIO);
    EXPECT_NE(refused.message().find("worker 0: no such NUMA node"), std::string::npos)
        << refused.message();
    // Neither failure left anything behind (names, memory): a good host comes up beside.
    auto good = Host::create(options(ring.b, "10.0.0.12"));
    EXPECT_TRUE(good) << good.message();
}

}  // namespace
}  // namespace homa::v2

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(
        new homa::test::EalEnvironment("api", 512, {"--lcores=0@0,1@0"}));
    return RUN_ALL_TESTS();
}
