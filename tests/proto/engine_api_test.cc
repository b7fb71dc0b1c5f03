// The engine's API contract in a simulated network: argument errors, invalid configurations,
// reserved client ids, recv filling every field, abort, close, and packets for unbound ports.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "homa/proto/engine.h"
#include "tests/proto/echo_apps.h"
#include "tests/proto/engine_test_config.h"

namespace homa {
namespace {

using test::EchoClient;
using test::EchoServer;
using test::kClientIp;
using test::kPort;
using test::kServerIp;
using test::SimHost;
using test::SimNetwork;
using test::test_config;

// An echo server host and a client host with one socket, on a network of their own.
struct EchoPair {
    EchoPair()
        : s(net.add_host(kServerIp, test_config())), c(net.add_host(kClientIp, test_config())) {
        EXPECT_EQ(c.engine.open_socket(0, &cli), 0);
    }
    SimNetwork net;
    SimHost &s;
    SimHost &c;
    EchoServer server{s, kPort};
    SocketId cli = 0;
};

TEST(EngineApi, Errors) {
    test::FakePool pool(16);
    EngineConfig cfg = test_config();
    Engine e(cfg, pool.ops());
    ASSERT_TRUE(e.ok());
    SocketId srv, cli;
    EXPECT_EQ(e.open_socket(0x8000, &srv), -EINVAL);
    ASSERT_EQ(e.open_socket(7, &srv), 0);
    EXPECT_EQ(e.open_socket(7, &cli), -EADDRINUSE);
    ASSERT_EQ(e.open_socket(0, &cli), 0);
    EXPECT_GE(e.socket_port(cli), wire::kFirstClientPort);
    std::vector<uint8_t> big(wire::kMaxMessageLength + 1);
    uint64_t id;
    EXPECT_EQ(e.send_request(cli, {1, 7}, OutMessage::contiguous(big.data(), uint32_t(big.size())),
                             0, 0, &id),
              -EMSGSIZE);
    EXPECT_EQ(e.send_request(cli, {1, 7}, OutMessage::contiguous(big.data(), 0), 0, 0, &id),
              -EINVAL);
    EXPECT_EQ(e.send_request(cli, {1, 0}, OutMessage::contiguous(big.data(), 10), 0, 0, &id),
              -EINVAL);
    EXPECT_EQ(e.send_request(99, {1, 7}, OutMessage::contiguous(big.data(), 10), 0, 0, &id),
              -EBADF);
    Message m;
    EXPECT_EQ(e.recv(cli, kRecvResponse, 0, &m), -EAGAIN);
    EXPECT_EQ(e.recv(cli, 0, 0, &m), -EINVAL);
    EXPECT_EQ(e.recv(cli, kRecvResponse, 3, &m), -EINVAL);
    EXPECT_EQ(e.send_reply(srv, {1, 0x8000}, 5, OutMessage::contiguous(big.data(), 10), 0),
              -ENOENT);
    EXPECT_EQ(e.send_reply(srv, {1, 0x8000}, 4, OutMessage::contiguous(big.data(), 10), 0),
              -EINVAL);
    EXPECT_EQ(e.abort(cli, 1234, 0, 0), -ENOENT);
    EXPECT_EQ(e.close_socket(srv, 0), 0);
    EXPECT_EQ(e.close_socket(srv, 0), -EBADF);
    EXPECT_EQ(e.open_socket(7, &srv), 0);  // the port is free again
}

TEST(EngineApi, InvalidConfigRejected) {
    test::FakePool pool(1);
    EngineConfig cfg;
    cfg.max_sched_prio = 8;
    Engine e(cfg, pool.ops());
    EXPECT_FALSE(e.ok());
    EXPECT_NE(std::string(e.error()).find("max_sched_prio"), std::string::npos);
    SocketId s;
    EXPECT_EQ(e.open_socket(1, &s), -EINVAL);
}

TEST(EngineApi, ReservedId_StartsLaterOrFailsWithError) {
    EchoPair pair;
    auto &[net, s, c, server, cli] = pair;
    uint64_t reserved = c.engine.reserve_client_id();
    std::vector<uint8_t> body(3000, 0x33);
    uint64_t other;
    ASSERT_EQ(
        c.engine.send_request(cli, {kServerIp, kPort}, OutMessage::contiguous(body.data(), 3000), 1,
                              net.now(), &other),
        0);
    EXPECT_NE(other, reserved);  // the reservation is not handed out again
    EXPECT_EQ(
        c.engine.send_request_as(cli, {kServerIp, kPort}, OutMessage::contiguous(body.data(), 3000),
                                 2, net.now(), other),
        -EEXIST);
    EXPECT_EQ(c.engine.send_request_as(cli, {kServerIp, kPort},
                                       OutMessage::contiguous(body.data(), 3000), 2, net.now(), 3),
              -EINVAL);  // a server id
    // An id not handed out yet: send_request() would start it later without searching the
    // index for it, so taking it now would make two RPCs with one key.
    const uint64_t future = other + 100 * test_config().id_stride;
    EXPECT_EQ(
        c.engine.send_request_as(cli, {kServerIp, kPort}, OutMessage::contiguous(body.data(), 3000),
                                 2, net.now(), future),
        -EINVAL);
    EXPECT_EQ(c.engine.fail_request(cli, {kServerIp, kPort}, future, 9, -EIO), -EINVAL);
    ASSERT_EQ(
        c.engine.send_request_as(cli, {kServerIp, kPort}, OutMessage::contiguous(body.data(), 3000),
                                 2, net.now(), reserved),
        0);
    uint64_t failed = c.engine.reserve_client_id();
    EXPECT_EQ(c.engine.fail_request(cli, {kServerIp, kPort}, failed, 9, 0), -EINVAL);
    ASSERT_EQ(c.engine.fail_request(cli, {kServerIp, kPort}, failed, 9, -EIO), 0);
    Message m;
    ASSERT_EQ(c.engine.recv(cli, kRecvResponse, failed, &m), 0);
    EXPECT_EQ(m.error, -EIO);
    EXPECT_EQ(m.cookie, 9u);
    EXPECT_EQ(m.num_bpages, 0u);
    int got = 0;
    ASSERT_TRUE(net.run_until([&] {
        server.serve(net.now());
        while (c.engine.recv(cli, kRecvResponse, 0, &m) == 0) {
            EXPECT_EQ(m.error, 0);
            EXPECT_EQ(m.cookie, m.id == reserved ? 2u : 1u);
            c.pool.ops().release(c.pool.ops().ctx, m.bpage_offsets, m.num_bpages);
            ++got;
        }
        return got == 2;
    }));
    EXPECT_EQ(c.engine.live_rpcs(), 0u);
}

// recv writes every field of the Message it is given, whatever the caller left there: the
// bpages the message holds and zeros after them (recv no longer clears the whole struct
// first), also when the RPC's slot last held a longer message.
TEST(EngineApi, Recv_FillsEveryFieldOverGarbage) {
    EchoPair pair;
    auto &[net, s, c, server, cli] = pair;
    // Four bpages of response first, then one: the second RPC takes the first's freed slot.
    for (size_t len : {size_t{200'000}, size_t{150'000}, size_t{100}}) {
        std::vector<uint8_t> body(len);
        for (size_t i = 0; i < len; ++i) body[i] = static_cast<uint8_t>(i * 7 + len);
        uint64_t id;
        ASSERT_EQ(c.engine.send_request(cli, {kServerIp, kPort},
                                        OutMessage::contiguous(body.data(), body.size()), len,
                                        net.now(), &id),
                  0);
        Message m;
        ASSERT_TRUE(net.run_until([&] {
            server.serve(net.now());
            std::memset(static_cast<void *>(&m), 0xA5, sizeof(m));
            return c.engine.recv(cli, kRecvResponse, 0, &m) == 0;
        }));
        EXPECT_EQ(m.id, id);
        EXPECT_EQ(m.cookie, len);
        EXPECT_EQ(m.peer.ip, IpAddress(kServerIp));
        EXPECT_EQ(m.peer.port, kPort);
        EXPECT_EQ(m.error, 0);
        EXPECT_EQ(m.length, len);
        ASSERT_EQ(m.num_bpages, (len + wire::kBpageSize - 1) / wire::kBpageSize);
        for (uint32_t i = m.num_bpages; i < wire::kMaxBpages; ++i) {
            EXPECT_EQ(m.bpage_offsets[i], 0u) << "length " << len << " entry " << i;
        }
        std::vector<uint8_t> got(len);
        EXPECT_EQ(message_copy(c.pool.base(), m, got, 0), len);
        EXPECT_EQ(got, body);
        c.pool.ops().release(c.pool.ops().ctx, m.bpage_offsets, m.num_bpages);
    }
}

TEST(EngineApi, AbortWithErrorCompletesAndReleases) {
    SimNetwork net;
    SimHost &c = net.add_host(kClientIp, test_config());
    // No server host: packets vanish, so the RPCs stay outstanding until aborted.
    EchoClient client(c);
    uint64_t a = client.send({kServerIp, kPort}, 100'000, net.now());
    uint64_t b = client.send({kServerIp, kPort}, 10, net.now());
    net.step();
    EXPECT_EQ(c.engine.abort(client.socket(), a, ECANCELED, net.now()), 0);
    Message m;
    ASSERT_EQ(c.engine.recv(client.socket(), kRecvResponse, a, &m), 0);
    EXPECT_EQ(m.error, ECANCELED);
    EXPECT_EQ(m.num_bpages, 0u);
    EXPECT_EQ(c.engine.abort(client.socket(), 0, 0, net.now()), 0);  // b destroyed silently
    EXPECT_EQ(c.engine.recv(client.socket(), kRecvResponse, b, &m), -EAGAIN);
    EXPECT_EQ(c.engine.live_rpcs(), 0u);
    net.step();
    EXPECT_EQ(c.released_tokens.size(), 2u);  // both request buffers given back
    EXPECT_EQ(c.engine.stats().client_rpcs_aborted, 2u);
}

TEST(EngineApi, CloseSocketReleasesEverything) {
    SimNetwork net;
    SimHost &s = net.add_host(kServerIp, test_config());
    SimHost &c = net.add_host(kClientIp, test_config());
    SocketId srv;
    ASSERT_EQ(s.engine.open_socket(kPort, &srv), 0);
    EchoClient client(c);
    for (int i = 0; i < 10; ++i) client.send({kServerIp, kPort}, 70'000, net.now());
    for (int i = 0; i < 400; ++i) net.step();  // requests arrive; nobody serves them
    EXPECT_GT(s.engine.live_rpcs(), 0u);
    EXPECT_GT(s.pool.in_use(), 0u);
    ASSERT_EQ(s.engine.close_socket(srv, net.now()), 0);
    EXPECT_EQ(s.engine.live_rpcs(), 0u);
    EXPECT_EQ(s.engine.held_bpages(), 0u);
    EXPECT_EQ(s.pool.in_use(), 0u);
    ASSERT_EQ(c.engine.close_socket(client.socket(), net.now()), 0);
    EXPECT_EQ(c.engine.live_rpcs(), 0u);
    net.step();
    EXPECT_EQ(c.released_tokens.size(), 10u);
}

TEST(EngineApi, DataForUnboundPortCreatesNoState) {
    SimNetwork net;
    SimHost &s = net.add_host(kServerIp, test_config());
    SimHost &c = net.add_host(kClientIp, test_config());
    EchoClient client(c);
    client.send({kServerIp, 4242}, 5000, net.now());
    for (int i = 0; i < 50; ++i) net.step();
    EXPECT_EQ(s.engine.live_rpcs(), 0u);
    EXPECT_EQ(s.pool.in_use(), 0u);
    EXPECT_GT(s.engine.stats().drop(EngineDrop::kNoSocket), 0u);
}

}  // namespace
}  // namespace homa
