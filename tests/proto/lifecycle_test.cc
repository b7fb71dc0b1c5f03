// RPC lifetimes under faults in the simulated network: silent peers and timeouts (timer.cc),
// slow applications kept alive by BUSY, bpage exhaustion (incoming.cc's waiting list),
// per-peer limits, and abort / close in every state with packets in flight. Each test ends by
// checking that nothing is left.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <vector>

#include <cstdio>
#include <ostream>
#include <random>

#include "homa/proto/engine.h"
#include "tests/proto/loss_helpers.h"

namespace homa {
namespace {

using namespace test;  // NOLINT: the fixtures of tests/fakes and tests/proto
using wire::PacketType;

// ----- silent peers and timeouts -----

TEST(Loss, SilentServer_ResendsAfterResendTicksThenEtimedout) {
    SimNetwork net;
    SimHost &s = net.add_host(kServerIp, test_config());
    SimHost &c = net.add_host(kClientIp, test_config());
    DropRule all_to_server;
    all_to_server.dst_ip = kServerIp;
    all_to_server.count = UINT64_MAX;
    net.add_drop_rule(all_to_server);
    EchoServer server(s, kPort);
    EchoClient client(c, /*tolerate_errors=*/true);
    uint64_t start = net.now();
    client.send({kServerIp, kPort}, 100'000, net.now());  // waits for grants after 40 KB
    client.send({kServerIp, kPort}, 100, net.now());      // sent whole, waits for the response
    uint64_t done_at = 0;
    ASSERT_TRUE(net.run_until(
        [&] {
            client.poll();
            if (client.completed() == 2 && done_at == 0) done_at = net.now();
            return client.completed() == 2;
        },
        200 * kStepsPerTick));
    const EngineConfig &cfg = c.engine.config();
    // First RESEND only after resend_ticks of silence, plus the per-RPC jitter of less than
    // resend_interval ticks (timer.cc).
    uint64_t first_resend = UINT64_MAX;
    std::map<uint64_t, std::vector<uint64_t>> resend_times;  // per RPC
    for (const auto &p : net.log()) {
        if (p.src_ip == kClientIp && p.type == PacketType::kResend) {
            first_resend = std::min(first_resend, p.time_ns);
            resend_times[p.sender_id].push_back(p.time_ns);
        }
    }
    EXPECT_GE(first_resend, start + (cfg.resend_ticks - 1) * kTickNs);
    EXPECT_LE(first_resend, start + (cfg.resend_ticks + cfg.resend_interval) * kTickNs);
    // Then with exponential backoff (issue 14): gaps of resend_interval, 2x, 4x, ... so a peer
    // that never answers gets about kMaxUnansweredProbes probes per RPC before the timeout,
    // instead of one every resend_interval.
    ASSERT_EQ(resend_times.size(), 2u);
    for (const auto &[id, times] : resend_times) {
        EXPECT_GE(times.size(), 4u) << id;
        EXPECT_LE(times.size(), 5u) << id;
        for (size_t i = 2; i < times.size(); ++i) {
            uint64_t prev = times[i - 1] - times[i - 2];
            EXPECT_GE(times[i] - times[i - 1], 2 * prev - kTickNs) << id << " probe " << i;
        }
    }
    EXPECT_GE(done_at, start + (cfg.timeout_ticks - 1) * kTickNs);
    EXPECT_LE(done_at, start + (cfg.timeout_ticks + 2) * kTickNs);
    EXPECT_EQ(client.errors(), 2u);
    for (int e : client.error_codes()) EXPECT_EQ(e, ETIMEDOUT);
    EXPECT_EQ(c.engine.stats().client_rpcs_timed_out, 2u);
    // Everything released: both request buffers back, no RPC, no bpage.
    net.step();
    client.poll();
    EXPECT_EQ(client.buffers_held(), 0u);
    EXPECT_TRUE(all_released(nullptr, {&client}, {&c}, {kServerIp}));
}

TEST(Loss, SilentClient_ServerRpcDestroyedAfterTimeout) {
    SimNetwork net;
    SimHost &s = net.add_host(kServerIp, test_config(), 1024);
    SimHost &c = net.add_host(kClientIp, test_config(), 1024);
    EchoServer server(s, kPort);
    EchoClient client(c, /*tolerate_errors=*/true);
    client.send({kServerIp, kPort}, 200'000, net.now());  // the reply needs grants
    ASSERT_TRUE(net.run_until(
        [&] {
            server.serve(net.now());
            return server.served() == 1;
        },
        100'000));
    DropRule client_gone;  // from now on the client says nothing
    client_gone.src_ip = kClientIp;
    client_gone.count = UINT64_MAX;
    net.add_drop_rule(client_gone);
    ASSERT_TRUE(net.run_until(
        [&] {
            server.serve(net.now());
            client.poll();
            return s.engine.live_rpcs() == 0 && client.completed() == 1;
        },
        300 * kStepsPerTick));
    EXPECT_EQ(s.engine.stats().server_rpcs_timed_out, 1u);
    EXPECT_EQ(client.error_codes(), std::vector<int>{ETIMEDOUT});
    server.serve(net.now());
    client.poll();
    EXPECT_TRUE(all_released(&server, {&client}, {&s, &c}, {kServerIp, kClientIp}));
}

// A server whose application takes longer than the timeout keeps the client waiting (BUSY).
TEST(Loss, SlowServerApplication_BusyKeepsClientWaiting) {
    SimNetwork net;
    SimHost &s = net.add_host(kServerIp, test_config());
    SimHost &c = net.add_host(kClientIp, test_config());
    EchoServer server(s, kPort);
    EchoClient client(c);
    client.send({kServerIp, kPort}, 1000, net.now());
    uint64_t serve_at = net.now() + 3 * c.engine.config().timeout_ticks * kTickNs;
    ASSERT_TRUE(net.run_until(
        [&] {
            if (net.now() >= serve_at) server.serve(net.now());
            client.poll();
            return all_released(&server, {&client}, {&s, &c}, {kServerIp, kClientIp});
        },
        500 * kStepsPerTick));
    EXPECT_EQ(client.completed(), 1u);
    EXPECT_EQ(c.engine.stats().client_rpcs_timed_out, 0u);
    EXPECT_GT(s.engine.stats().busy_sent, 10u);
}

// ----- bpage exhaustion -----

TEST(Loss, PoolExhausted_RequestsWaitShortestFirstAndCompleteWhenPagesReturn) {
    SimNetwork net;
    EngineConfig cfg = test_config();
    SimHost &s = net.add_host(kServerIp, cfg, 1024);
    SimHost &c1 = net.add_host(kClientIp, cfg);
    SimHost &c2 = net.add_host(kClientIp + 1, cfg);
    SimHost &c3 = net.add_host(kClientIp + 2, cfg);
    s.pool.set_cap(0);
    EchoServer server(s, kPort);
    EchoClient long_c(c1), mid_c(c2), short_c(c3);
    long_c.send({kServerIp, kPort}, 300'000, net.now());  // 5 bpages
    mid_c.send({kServerIp, kPort}, 100'000, net.now());   // 2 bpages
    short_c.send({kServerIp, kPort}, 10'000, net.now());  // 1 bpage
    std::vector<EchoClient *> clients = {&long_c, &mid_c, &short_c};
    std::vector<SimHost *> hosts = {&s, &c1, &c2, &c3};
    std::vector<uint32_t> ips = {kServerIp, kClientIp, kClientIp + 1, kClientIp + 2};
    // Much longer than the timeout: the senders' probes are answered with BUSY (issue 14:
    // waiting receivers no longer send BUSY on their own), so nothing expires.
    run_steps(net, 2 * cfg.timeout_ticks * kStepsPerTick, [&] { server.serve(net.now()); });
    EXPECT_EQ(s.engine.buffer_waiters(), 3u);
    EXPECT_EQ(s.engine.stats().grants_sent, 0u);  // nothing is granted to a waiting message
    EXPECT_GT(s.engine.stats().drop(EngineDrop::kNoBuffers), 0u);
    EXPECT_EQ(server.served(), 0u);
    uint64_t timeouts = 0;
    for (auto *h : hosts) timeouts += h->engine.stats().client_rpcs_timed_out;
    EXPECT_EQ(timeouts, 0u);
    // Room for 5 pages: the 1- and 2-page requests first, the 5-page one after they are done.
    s.pool.set_cap(5);
    ASSERT_TRUE(run_to_quiescence(net, server, clients, hosts, ips));
    ASSERT_EQ(server.served_from().size(), 3u);
    EXPECT_EQ(server.served_from()[0], kClientIp + 2);
    EXPECT_EQ(server.served_from()[1], kClientIp + 1);
    EXPECT_EQ(server.served_from()[2], kClientIp);
    for (auto *c : clients) {
        EXPECT_EQ(c->completed(), 1u);
        EXPECT_EQ(c->corrupt(), 0u);
    }
    EXPECT_EQ(s.engine.stats().buffer_waits_resumed, s.engine.stats().buffer_waits);
}

// Guards fair_share.cc's "heavy peers' waiters queue last": a peer that already has messages
// waiting for bpages queues its next ones behind another peer's, although both are the same
// size and the other's came later. One bpage at a time, so the service order is the queue's.
TEST(Loss, PoolExhausted_HeavyPeersWaitersQueueBehindOtherPeers) {
    SimNetwork net;
    EngineConfig cfg = test_config();
    SimHost &s = net.add_host(kServerIp, cfg, 1024);
    SimHost &heavy_host = net.add_host(kClientIp, cfg);
    SimHost &light_host = net.add_host(kClientIp + 1, cfg);
    s.pool.set_cap(0);
    EchoServer server(s, kPort);
    EchoClient heavy(heavy_host), light(light_host);
    for (int i = 0; i < 3; ++i) heavy.send({kServerIp, kPort}, 20'000, net.now());  // 1 bpage
    run_steps(net, 4 * kStepsPerTick, [&] { server.serve(net.now()); });
    light.send({kServerIp, kPort}, 20'000, net.now());
    run_steps(net, 4 * kStepsPerTick, [&] { server.serve(net.now()); });
    ASSERT_EQ(s.engine.buffer_waiters(), 4u);
    s.pool.set_cap(1);
    std::vector<EchoClient *> clients = {&heavy, &light};
    ASSERT_TRUE(run_to_quiescence(net, server, clients, {&s, &heavy_host, &light_host},
                                  {kServerIp, kClientIp, kClientIp + 1}));
    const auto &order = server.served_from();
    ASSERT_EQ(order.size(), 4u);
    // At most the heavy peer's first (waiting alone, it was not heavy yet) goes before the
    // light peer's; by size and arrival alone the light one would be last.
    auto light_at = std::find(order.begin(), order.end(), kClientIp + 1) - order.begin();
    EXPECT_LE(light_at, 1) << "the heavy peer's later requests went first";
    EXPECT_EQ(heavy.completed(), 3u);
    EXPECT_EQ(light.completed(), 1u);
}

TEST(Loss, PoolExhausted_ResponseWaitsLongerThanTimeoutAndServerKeepsIt) {
    SimNetwork net;
    EngineConfig cfg = test_config();
    SimHost &s = net.add_host(kServerIp, cfg, 1024);
    SimHost &c = net.add_host(kClientIp, cfg, 1024);
    c.pool.set_cap(0);
    EchoServer server(s, kPort);
    EchoClient client(c);
    client.send({kServerIp, kPort}, 150'000, net.now());
    run_steps(net, 3 * cfg.timeout_ticks * kStepsPerTick, [&] { server.serve(net.now()); });
    EXPECT_EQ(server.served(), 1u);
    EXPECT_EQ(c.engine.buffer_waiters(), 1u);
    EXPECT_EQ(s.engine.stats().server_rpcs_timed_out, 0u);
    EXPECT_GT(c.engine.stats().busy_sent, 0u);
    c.pool.set_cap(UINT32_MAX);
    ASSERT_TRUE(run_to_quiescence(net, server, {&client}, {&s, &c}, {kServerIp, kClientIp}));
    EXPECT_EQ(client.completed(), 1u);
    EXPECT_EQ(client.corrupt(), 0u);
}

// ----- per-peer limits -----

TEST(Loss, PeerServerRpcLimit_ExcessRefusedWithBusyThenServed) {
    SimNetwork net;
    EngineConfig scfg = test_config();
    scfg.max_peer_server_rpcs = 4;
    SimHost &s = net.add_host(kServerIp, scfg, 1024);
    SimHost &c = net.add_host(kClientIp, test_config());
    EchoServer server(s, kPort);
    EchoClient client(c);
    for (int i = 0; i < 10; ++i) client.send({kServerIp, kPort}, 2000, net.now());
    uint32_t most = 0;
    // The application is slow: for 50 ticks nobody serves.
    run_steps(net, 50 * kStepsPerTick, [&] {
        client.poll();
        most = std::max(most, s.engine.peer_server_rpcs(kClientIp));
    });
    EXPECT_EQ(most, 4u);
    EXPECT_GT(s.engine.stats().drop(EngineDrop::kPeerLimit), 0u);
    EXPECT_GT(s.engine.stats().busy_sent, 0u);
    ASSERT_TRUE(net.run_until(
        [&] {
            server.serve(net.now());
            client.poll();
            most = std::max(most, s.engine.peer_server_rpcs(kClientIp));
            return all_released(&server, {&client}, {&s, &c}, {kServerIp, kClientIp});
        },
        1'000'000));
    EXPECT_EQ(most, 4u);
    EXPECT_EQ(client.completed(), 10u);
    EXPECT_EQ(client.corrupt(), 0u);
    EXPECT_EQ(c.engine.stats().client_rpcs_timed_out, 0u);
}

TEST(Loss, PeerUnackedLimit_NewRequestsWaitForAcks) {
    SimNetwork net;
    EngineConfig scfg = test_config();
    scfg.max_peer_unacked = 2;
    SimHost &s = net.add_host(kServerIp, scfg);
    SimHost &c = net.add_host(kClientIp, test_config());
    EchoServer server(s, kPort);
    EchoClient client(c);
    DropRule no_acks;
    no_acks.type = PacketType::kAck;
    no_acks.src_ip = kClientIp;
    no_acks.count = UINT64_MAX;
    size_t rule = net.add_drop_rule(no_acks);
    client.send({kServerIp, kPort}, 100, net.now());
    client.send({kServerIp, kPort}, 100, net.now());
    // Both complete; their ACKs (answers to NEED_ACK) are lost, so both replies stay unacked.
    ASSERT_TRUE(net.run_until(
        [&] {
            server.serve(net.now());
            client.poll();
            return client.completed() == 2 && net.drop_rule(rule).dropped > 0;
        },
        100'000));
    EXPECT_EQ(s.engine.peer_unacked(kClientIp), 2u);
    client.send({kServerIp, kPort}, 100, net.now());
    run_steps(net, 20 * kStepsPerTick, [&] {
        server.serve(net.now());
        client.poll();
    });
    EXPECT_EQ(client.completed(), 2u);  // the third is refused while two replies are unacked
    EXPECT_GT(s.engine.stats().drop(EngineDrop::kPeerLimit), 0u);
    EXPECT_LE(s.engine.peer_unacked(kClientIp), 2u);
    net.clear_drop_rules();  // ACKs get through again: the third request is accepted
    ASSERT_TRUE(run_to_quiescence(net, server, {&client}, {&s, &c}, {kServerIp, kClientIp}));
    EXPECT_EQ(client.completed(), 3u);
    EXPECT_EQ(s.engine.stats().server_rpcs_timed_out, 0u);
}

// ----- abort and close in every state, with packets in flight -----

enum class ClientPhase {
    kSending,
    kWaitingForGrants,
    kWaitingForResponse,
    kReceiving,
    kWaitingForBuffers,
    kReady
};

void PrintTo(ClientPhase p, std::ostream *os) {
    const char *names[] = {"sending",   "waiting_for_grants",  "waiting_for_response",
                           "receiving", "waiting_for_buffers", "ready"};
    *os << names[static_cast<int>(p)];
}

class AbortInState : public ::testing::TestWithParam<std::tuple<ClientPhase, int>> {};

TEST_P(AbortInState, ClientAbortReleasesAndServerForgets) {
    auto [phase, error] = GetParam();
    SimNetwork net;
    SimHost &s = net.add_host(kServerIp, test_config(), 1024);
    SimHost &c = net.add_host(kClientIp, test_config(), 1024);
    EchoServer server(s, kPort);
    EchoClient client(c, /*tolerate_errors=*/true);
    bool serve = phase != ClientPhase::kWaitingForResponse;
    if (phase == ClientPhase::kWaitingForBuffers) c.pool.set_cap(0);
    uint32_t len =
        phase == ClientPhase::kWaitingForResponse || phase == ClientPhase::kReady ? 1000 : 500'000;
    uint64_t id = client.send({kServerIp, kPort}, len, net.now());
    auto reached = [&] {
        const EngineStats &cs = c.engine.stats();
        switch (phase) {
            case ClientPhase::kSending: return cs.tx(PacketType::kData) >= 5;
            case ClientPhase::kWaitingForGrants: return cs.rx(PacketType::kGrant) >= 1;
            case ClientPhase::kWaitingForResponse: return s.engine.stats().server_rpcs_started == 1;
            case ClientPhase::kReceiving: return cs.rx(PacketType::kData) >= 50;
            case ClientPhase::kWaitingForBuffers: return c.engine.buffer_waiters() == 1;
            case ClientPhase::kReady: return cs.rx(PacketType::kData) >= 1;
        }
        return false;
    };
    ASSERT_TRUE(net.run_until(
        [&] {
            if (serve) server.serve(net.now());
            return reached();
        },
        200'000));
    if (phase == ClientPhase::kReady) net.step();  // the one-packet response is complete
    // Packets are in flight in both directions right now.
    ASSERT_EQ(c.engine.abort(client.socket(), id, error, net.now()), 0);
    c.pool.set_cap(UINT32_MAX);
    EXPECT_EQ(c.engine.buffer_waiters(), 0u);
    EXPECT_EQ(c.engine.held_bpages(), phase == ClientPhase::kReady && error != 0 ? 1u : 0u);
    if (error == 0) {
        EXPECT_EQ(c.engine.live_rpcs(), 0u);
        client.forget(id);
    } else {
        EXPECT_EQ(c.engine.live_rpcs(), 1u);  // until recv takes the result
        client.poll();
        EXPECT_EQ(client.completed(), 1u);
        EXPECT_EQ(c.engine.live_rpcs(), 0u);
        // A complete response is not undone by abort; anything earlier fails with the error.
        EXPECT_EQ(client.error_codes(),
                  phase == ClientPhase::kReady ? std::vector<int>{} : std::vector<int>{error});
    }
    // The server lets go too (NEED_ACK / ACK, RPC_UNKNOWN, or its timeout).
    ASSERT_TRUE(net.run_until(
        [&] {
            server.serve(net.now());
            client.poll();
            return all_released(&server, {&client}, {&s, &c}, {kServerIp, kClientIp});
        },
        300 * kStepsPerTick));
    EXPECT_EQ(client.corrupt(), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Loss, AbortInState,
    ::testing::Combine(::testing::Values(ClientPhase::kSending, ClientPhase::kWaitingForGrants,
                                         ClientPhase::kWaitingForResponse, ClientPhase::kReceiving,
                                         ClientPhase::kWaitingForBuffers, ClientPhase::kReady),
                       ::testing::Values(0, ECANCELED)));

enum class ServerPhase { kReceiving, kReady, kInService, kSending, kAwaitAck };

void PrintTo(ServerPhase p, std::ostream *os) {
    const char *names[] = {"receiving", "ready", "in_service", "sending", "await_ack"};
    *os << names[static_cast<int>(p)];
}

class CloseServerInState : public ::testing::TestWithParam<ServerPhase> {};

TEST_P(CloseServerInState, ServerReleasesAndClientCompletesOrTimesOut) {
    ServerPhase phase = GetParam();
    SimNetwork net;
    SimHost &s = net.add_host(kServerIp, test_config(), 1024);
    SimHost &c = net.add_host(kClientIp, test_config(), 1024);
    if (phase == ServerPhase::kAwaitAck) {
        DropRule no_acks;  // keep the reply unacknowledged
        no_acks.type = PacketType::kAck;
        no_acks.count = UINT64_MAX;
        net.add_drop_rule(no_acks);
    }
    EchoServer server(s, kPort);
    EchoClient client(c, /*tolerate_errors=*/true);
    client.send({kServerIp, kPort}, 500'000, net.now());
    SocketId raw = server.socket();
    Message held;
    bool holding = false;
    auto reached = [&] {
        const EngineStats &ss = s.engine.stats();
        switch (phase) {
            case ServerPhase::kReceiving: return ss.rx(PacketType::kData) >= 50;
            case ServerPhase::kReady:
                return s.engine.live_rpcs() == 1 && ss.grants_sent > 0 &&
                       c.engine.stats().tx(PacketType::kData) >= 352;
            case ServerPhase::kInService:
                if (!holding && s.engine.recv(raw, kRecvRequest, 0, &held) == 0) holding = true;
                return holding;
            case ServerPhase::kSending:
                server.serve(net.now());
                return ss.tx(PacketType::kData) >= 50;
            case ServerPhase::kAwaitAck: server.serve(net.now()); return ss.need_acks_sent >= 1;
        }
        return false;
    };
    ASSERT_TRUE(net.run_until(reached, 200'000));
    ASSERT_EQ(s.engine.close_socket(raw, net.now()), 0);
    if (holding) s.pool.release(held.bpage_offsets, held.num_bpages);  // the app's copy
    server.serve(net.now());  // the app frees released replies
    EXPECT_EQ(s.engine.live_rpcs(), 0u);
    EXPECT_EQ(s.engine.held_bpages(), 0u);
    EXPECT_EQ(s.engine.peer_server_rpcs(kClientIp), 0u);
    EXPECT_EQ(s.engine.peer_unacked(kClientIp), 0u);
    ASSERT_TRUE(net.run_until(
        [&] {
            server.serve(net.now());
            client.poll();
            return all_released(&server, {&client}, {&s, &c}, {kServerIp, kClientIp});
        },
        300 * kStepsPerTick));
    EXPECT_EQ(client.completed(), 1u);
    EXPECT_EQ(client.corrupt(), 0u);
    if (phase == ServerPhase::kAwaitAck) {
        EXPECT_EQ(client.errors(), 0u);  // the whole reply had arrived
    } else {
        EXPECT_EQ(client.error_codes(), std::vector<int>{ETIMEDOUT});
    }
}

INSTANTIATE_TEST_SUITE_P(Loss, CloseServerInState,
                         ::testing::Values(ServerPhase::kReceiving, ServerPhase::kReady,
                                           ServerPhase::kInService, ServerPhase::kSending,
                                           ServerPhase::kAwaitAck));

}  // namespace
}  // namespace homa
