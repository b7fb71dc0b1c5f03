// Loss recovery end to end in the simulated network (deterministic, fixed seeds): random drop /
// duplicate / reorder on every link, each packet type lost in turn, silent peers and timeouts,
// bpage exhaustion, per-peer limits, corrupted frames, and abort / close in every state. Each
// test ends by checking that nothing is left: no RPC, no per-peer count, no waiting message,
// no bpage, no borrowed buffer.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "homa/proto/engine.h"
#include "tests/proto/echo_apps.h"

namespace homa {
namespace {

using test::DropRule;
using test::EchoClient;
using test::EchoServer;
using test::SimHost;
using test::SimNetwork;
using wire::PacketType;

constexpr uint32_t kServerIp = 0x0A000001;
constexpr uint32_t kClientIp = 0x0A000002;
constexpr uint16_t kPort = 99;
constexpr uint64_t kTickNs = 100'000;
constexpr uint64_t kStepNs = 1'000;
constexpr uint64_t kStepsPerTick = kTickNs / kStepNs;

EngineConfig test_config() {
    EngineConfig c;
    c.tick_ns = kTickNs;
    c.max_rpcs = 4096;
    return c;
}

// True when the applications and every engine hold nothing at all.
bool all_released(EchoServer *server, const std::vector<EchoClient *> &clients,
                  const std::vector<SimHost *> &hosts, const std::vector<uint32_t> &ips) {
    bool idle = server == nullptr || server->pending() == 0;
    for (auto *c : clients) idle = idle && c->outstanding() == 0 && c->buffers_held() == 0;
    for (auto *h : hosts) {
        idle = idle && h->engine.live_rpcs() == 0 && h->engine.held_bpages() == 0 &&
               h->pool.in_use() == 0 && h->engine.buffer_waiters() == 0;
        for (uint32_t ip : ips) {
            idle = idle && h->engine.peer_server_rpcs(ip) == 0 && h->engine.peer_unacked(ip) == 0;
        }
    }
    return idle;
}

bool run_to_quiescence(SimNetwork &net, EchoServer &server, std::vector<EchoClient *> clients,
                       std::vector<SimHost *> hosts, std::vector<uint32_t> ips,
                       uint64_t max_steps = 3'000'000) {
    return net.run_until(
        [&] {
            server.serve(net.now());
            for (auto *c : clients) c->poll();
            return all_released(&server, clients, hosts, ips);
        },
        max_steps);
}

void run_steps(SimNetwork &net, uint64_t steps, const std::function<void()> &each = {}) {
    for (uint64_t i = 0; i < steps; ++i) {
        if (each) each();
        net.step(kStepNs);
    }
}

// ----- random faults on every link -----

TEST(Loss, Faults_EchoMatrixCompletesUnderDropDuplicateReorder) {
    FaultConfig f;
    f.drop = {0.10, 101};
    f.duplicate = {0.05, 102};
    f.reorder = {0.05, 103};
    f.reorder_depth = 4;
    SimNetwork net(f);
    SimHost &s = net.add_host(kServerIp, test_config(), 2048);
    SimHost &c1 = net.add_host(kClientIp, test_config(), 1024);
    SimHost &c2 = net.add_host(kClientIp + 1, test_config(), 1024);
    EchoServer server(s, kPort);
    EchoClient matrix(c1), many(c2);
    const std::vector<uint32_t> sizes = {1,     2,     100,    1423,   1424,    1425,   2800,
                                         2849,  15000, 39999,  40000,  40001,   65535,  65536,
                                         65537, 100000, 250000, 500000, 999999, 1000000};
    uint64_t total = 0;
    for (int round = 0; round < 2; ++round) {
        for (uint32_t len : sizes) {
            matrix.send({kServerIp, kPort}, len, net.now());
            ++total;
        }
    }
    std::mt19937 rng(7);
    for (int i = 0; i < 2000; ++i) {
        uint32_t len = i % 20 == 0 ? 1 + rng() % 60'000 : 1 + rng() % 3000;
        many.send({kServerIp, kPort}, len, net.now());
        ++total;
    }
    ASSERT_TRUE(run_to_quiescence(net, server, {&matrix, &many}, {&s, &c1, &c2},
                                  {kServerIp, kClientIp, kClientIp + 1}));
    EXPECT_EQ(matrix.completed() + many.completed(), total);
    EXPECT_EQ(matrix.corrupt() + many.corrupt(), 0u);
    EXPECT_EQ(matrix.errors() + many.errors(), 0u);
    EXPECT_GE(server.served(), total);  // a late duplicate may run a request twice
    FaultStats fs = net.fault_stats();
    EXPECT_GT(fs.dropped, fs.frames / 20);
    EXPECT_GT(fs.duplicated, 0u);
    EXPECT_GT(fs.reordered, 0u);
    uint64_t resends = 0, retransmitted = 0, timeouts = 0, busy = 0, unknown = 0, restarts = 0;
    for (auto *h : {&s, &c1, &c2}) {
        const EngineStats &st = h->engine.stats();
        resends += st.resends_sent;
        retransmitted += st.retransmitted_packets;
        timeouts += st.client_rpcs_timed_out + st.server_rpcs_timed_out;
        busy += st.busy_sent;
        unknown += st.rpc_unknown_sent;
        restarts += st.client_rpcs_restarted;
    }
    EXPECT_GT(resends, 0u);
    EXPECT_GT(retransmitted, 0u);
    EXPECT_EQ(c1.engine.stats().client_rpcs_timed_out + c2.engine.stats().client_rpcs_timed_out, 0u);
    std::printf("[fault run] rpcs %lu completed %lu frames %lu dropped %lu duplicated %lu "
                "reordered %lu resends %lu retransmitted %lu busy %lu rpc_unknown %lu "
                "restarts %lu timeouts %lu simulated_ms %lu\n",
                total, matrix.completed() + many.completed(), fs.frames, fs.dropped,
                fs.duplicated, fs.reordered, resends, retransmitted, busy, unknown, restarts,
                timeouts, (net.now() - 1'000'000) / 1'000'000);
}

// ----- each packet type lost in turn -----

struct LossCase {
    const char *name;
    uint32_t request_len;
    struct Drop {
        PacketType type;
        bool from_server;
        uint64_t nth;  ///< 1-based; 0 = the last one of a fault-free run.
    };
    std::vector<Drop> drops;
    uint32_t serve_after_ticks = 0;
    uint16_t server_cutoff_version = 0;  ///< Non-zero: the server announces new cutoffs.
};

struct LossResult {
    bool done = false;
    EngineStats server, client;
    std::vector<uint64_t> dropped;
    uint64_t completed = 0, corrupt = 0;
};

LossResult run_loss_case(const LossCase &lc, const std::vector<uint64_t> &nths) {
    SimNetwork net;
    EngineConfig scfg = test_config();
    if (lc.server_cutoff_version) {
        scfg.cutoff_version = lc.server_cutoff_version;
        scfg.unsched_cutoffs = {0, 0, 0, 0, 0, 0, 0xFFFFFFFF, 500};
    }
    SimHost &s = net.add_host(kServerIp, scfg, 1024);
    SimHost &c = net.add_host(kClientIp, test_config(), 1024);
    std::vector<size_t> rules;
    for (size_t i = 0; i < lc.drops.size(); ++i) {
        DropRule r;
        r.type = lc.drops[i].type;
        r.src_ip = lc.drops[i].from_server ? kServerIp : kClientIp;
        r.first = nths[i];
        rules.push_back(net.add_drop_rule(r));
    }
    EchoServer server(s, kPort);
    EchoClient client(c);
    client.send({kServerIp, kPort}, lc.request_len, net.now());
    uint64_t serve_at = net.now() + lc.serve_after_ticks * kTickNs;
    LossResult res;
    res.done = net.run_until(
        [&] {
            if (net.now() >= serve_at) server.serve(net.now());
            client.poll();
            return all_released(&server, {&client}, {&s, &c}, {kServerIp, kClientIp});
        },
        500'000);
    res.server = s.engine.stats();
    res.client = c.engine.stats();
    for (size_t r : rules) res.dropped.push_back(net.drop_rule(r).dropped);
    res.completed = client.completed();
    res.corrupt = client.corrupt();
    return res;
}

class LossOfOnePacket : public ::testing::TestWithParam<LossCase> {};

TEST_P(LossOfOnePacket, RpcCompletesAndEverythingIsReleased) {
    const LossCase &lc = GetParam();
    // "The last one" is found by a fault-free run of the same deterministic scenario.
    std::vector<uint64_t> nths;
    std::vector<uint64_t> none(lc.drops.size(), UINT64_MAX);
    LossCase clean = lc;
    for (auto &d : lc.drops) {
        if (d.nth != 0) {
            nths.push_back(d.nth);
            continue;
        }
        SimNetwork probe_net;  // count that type in a clean run
        LossResult base = run_loss_case(LossCase{lc.name, lc.request_len, {}, lc.serve_after_ticks,
                                                 lc.server_cutoff_version},
                                        {});
        ASSERT_TRUE(base.done);
        const EngineStats &from = d.from_server ? base.server : base.client;
        nths.push_back(from.tx(d.type));
    }
    LossResult r = run_loss_case(lc, nths);
    ASSERT_TRUE(r.done) << lc.name;
    for (size_t i = 0; i < r.dropped.size(); ++i) {
        EXPECT_EQ(r.dropped[i], 1u) << "drop rule " << i << " of " << lc.name << " never fired";
    }
    EXPECT_EQ(r.completed, 1u);
    EXPECT_EQ(r.corrupt, 0u);
    EXPECT_EQ(r.client.client_rpcs_timed_out, 0u);
    EXPECT_EQ(r.client.client_rpcs_completed, 1u);
    // The loss was repaired by the protocol, not by luck: some recovery action happened.
    uint64_t recovery = r.server.resends_sent + r.client.resends_sent +
                        r.server.retransmitted_packets + r.client.retransmitted_packets +
                        r.server.busy_sent + r.client.busy_sent;
    bool control_only = lc.drops[0].type == PacketType::kAck ||
                        lc.drops[0].type == PacketType::kNeedAck ||
                        lc.drops[0].type == PacketType::kCutoffs;
    if (control_only) {
        // Repeated by their own timers: one more of the same type went out.
        const EngineStats &from = lc.drops[0].from_server ? r.server : r.client;
        EXPECT_GE(from.tx(lc.drops[0].type), nths[0] + 1);
    } else {
        EXPECT_GT(recovery, 0u);
    }
}

const LossCase kLossCases[] = {
    {"FirstRequestData", 100, {{PacketType::kData, false, 1}}},
    {"LastRequestData", 5000, {{PacketType::kData, false, 4}}},
    {"FirstScheduledRequestData", 200'000, {{PacketType::kData, false, 30}}},
    {"LastRequestDataOfLongMessage", 200'000, {{PacketType::kData, false, 0}}},
    {"FirstResponseData", 100, {{PacketType::kData, true, 1}}},
    {"LastResponseData", 5000, {{PacketType::kData, true, 4}}},
    {"FirstGrant", 200'000, {{PacketType::kGrant, true, 1}}},
    {"LastGrant", 200'000, {{PacketType::kGrant, true, 0}}},
    {"LastGrantToServer", 200'000, {{PacketType::kGrant, false, 0}}},
    {"Resend", 5000, {{PacketType::kData, false, 4}, {PacketType::kResend, true, 1}}},
    {"ResendProbe", 100, {{PacketType::kData, true, 1}, {PacketType::kResend, false, 1}}},
    {"RpcUnknown", 100, {{PacketType::kData, false, 1}, {PacketType::kRpcUnknown, true, 1}}},
    {"Busy", 100, {{PacketType::kBusy, true, 1}}, 30},
    {"NeedAck", 100, {{PacketType::kNeedAck, true, 1}}},
    {"Ack", 100, {{PacketType::kAck, false, 1}}},
    {"Cutoffs", 1'000'000, {{PacketType::kCutoffs, true, 1}}, 0, 9},
};

INSTANTIATE_TEST_SUITE_P(Loss, LossOfOnePacket, ::testing::ValuesIn(kLossCases),
                         [](const auto &info) { return std::string(info.param.name); });

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
    ASSERT_TRUE(net.run_until([&] {
        client.poll();
        if (client.completed() == 2 && done_at == 0) done_at = net.now();
        return client.completed() == 2;
    }, 200 * kStepsPerTick));
    const EngineConfig &cfg = c.engine.config();
    // First RESEND only after resend_ticks of silence (within one tick of it).
    uint64_t first_resend = UINT64_MAX;
    uint64_t resends = 0;
    for (const auto &p : net.log()) {
        if (p.src_ip == kClientIp && p.type == PacketType::kResend) {
            first_resend = std::min(first_resend, p.time_ns);
            ++resends;
        }
    }
    EXPECT_GE(first_resend, start + (cfg.resend_ticks - 1) * kTickNs);
    EXPECT_LE(first_resend, start + (cfg.resend_ticks + 1) * kTickNs);
    // Then every resend_interval ticks for each RPC until the timeout.
    uint64_t per_rpc = (cfg.timeout_ticks - cfg.resend_ticks) / cfg.resend_interval;
    EXPECT_GE(resends, 2 * (per_rpc - 1));
    EXPECT_LE(resends, 2 * (per_rpc + 1));
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
    ASSERT_TRUE(net.run_until([&] {
        server.serve(net.now());
        return server.served() == 1;
    }, 100'000));
    DropRule client_gone;  // from now on the client says nothing
    client_gone.src_ip = kClientIp;
    client_gone.count = UINT64_MAX;
    net.add_drop_rule(client_gone);
    ASSERT_TRUE(net.run_until([&] {
        server.serve(net.now());
        client.poll();
        return s.engine.live_rpcs() == 0 && client.completed() == 1;
    }, 300 * kStepsPerTick));
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
    ASSERT_TRUE(net.run_until([&] {
        if (net.now() >= serve_at) server.serve(net.now());
        client.poll();
        return all_released(&server, {&client}, {&s, &c}, {kServerIp, kClientIp});
    }, 500 * kStepsPerTick));
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
    long_c.send({kServerIp, kPort}, 300'000, net.now());   // 5 bpages
    mid_c.send({kServerIp, kPort}, 100'000, net.now());    // 2 bpages
    short_c.send({kServerIp, kPort}, 10'000, net.now());   // 1 bpage
    std::vector<EchoClient *> clients = {&long_c, &mid_c, &short_c};
    std::vector<SimHost *> hosts = {&s, &c1, &c2, &c3};
    std::vector<uint32_t> ips = {kServerIp, kClientIp, kClientIp + 1, kClientIp + 2};
    // Much longer than the timeout: waiting messages keep their senders alive with BUSY.
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
    ASSERT_TRUE(net.run_until([&] {
        server.serve(net.now());
        client.poll();
        most = std::max(most, s.engine.peer_server_rpcs(kClientIp));
        return all_released(&server, {&client}, {&s, &c}, {kServerIp, kClientIp});
    }, 1'000'000));
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
    ASSERT_TRUE(net.run_until([&] {
        server.serve(net.now());
        client.poll();
        return client.completed() == 2 && net.drop_rule(rule).dropped > 0;
    }, 100'000));
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

// ----- corrupted frames -----

TEST(Loss, CorruptedIpHeaders_RejectedByValidatorAndRecovered) {
    FaultConfig f;
    f.corrupt = {0.05, 77};
    f.corrupt_begin = 14;  // the IPv4 header: what a link's CRC would protect
    f.corrupt_end = 34;
    SimNetwork net(f);
    SimHost &s = net.add_host(kServerIp, test_config(), 1024);
    SimHost &c = net.add_host(kClientIp, test_config(), 1024);
    EchoServer server(s, kPort);
    EchoClient client(c);
    std::mt19937 rng(9);
    for (int i = 0; i < 300; ++i) client.send({kServerIp, kPort}, 1 + rng() % 150'000, net.now());
    ASSERT_TRUE(run_to_quiescence(net, server, {&client}, {&s, &c}, {kServerIp, kClientIp}));
    EXPECT_EQ(client.completed(), 300u);
    EXPECT_EQ(client.corrupt(), 0u);
    uint64_t corrupted = net.fault_stats().corrupted;
    EXPECT_GT(corrupted, 100u);
    EXPECT_EQ(s.decode_error_total() + c.decode_error_total(), corrupted);
}

TEST(Loss, CorruptionAnywhere_NeverCrashesAndCloseReleasesEverything) {
    FaultConfig f;
    f.corrupt = {0.03, 78};
    f.drop = {0.02, 79};
    SimNetwork net(f);
    SimHost &s = net.add_host(kServerIp, test_config(), 1024);
    SimHost &c = net.add_host(kClientIp, test_config(), 1024);
    EchoServer server(s, kPort);
    EchoClient client(c, /*tolerate_errors=*/true);
    std::mt19937 rng(10);
    for (int i = 0; i < 300; ++i) client.send({kServerIp, kPort}, 1 + rng() % 150'000, net.now());
    // Corrupted Homa headers pass validation (Homa has no checksum), so some messages may
    // be garbled or fail; the engines must stay consistent regardless.
    run_steps(net, 300 * kStepsPerTick, [&] {
        server.serve(net.now());
        client.poll();
    });
    EXPECT_GT(net.fault_stats().corrupted, 100u);
    EXPECT_GT(s.decode_error_total() + c.decode_error_total(), 0u);
    EXPECT_GT(client.completed(), 250u);
    ASSERT_EQ(c.engine.close_socket(client.socket(), net.now()), 0);
    ASSERT_EQ(s.engine.close_socket(server.socket(), net.now()), 0);
    net.step();
    server.serve(net.now());
    client.poll();
    // Closing destroyed the unfinished RPCs, so the client application still "waits" for
    // them; the engines and the buffers must be clean.
    EXPECT_EQ(client.buffers_held(), 0u);
    EXPECT_TRUE(all_released(&server, {}, {&s, &c}, {kServerIp, kClientIp}));
}

// ----- abort and close in every state, with packets in flight -----

enum class ClientPhase { kSending, kWaitingForGrants, kWaitingForResponse, kReceiving,
                         kWaitingForBuffers, kReady };

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
    uint32_t len = phase == ClientPhase::kWaitingForResponse || phase == ClientPhase::kReady
                       ? 1000 : 500'000;
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
    ASSERT_TRUE(net.run_until([&] {
        if (serve) server.serve(net.now());
        return reached();
    }, 200'000));
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
    ASSERT_TRUE(net.run_until([&] {
        server.serve(net.now());
        client.poll();
        return all_released(&server, {&client}, {&s, &c}, {kServerIp, kClientIp});
    }, 300 * kStepsPerTick));
    EXPECT_EQ(client.corrupt(), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Loss, AbortInState,
    ::testing::Combine(::testing::Values(ClientPhase::kSending, ClientPhase::kWaitingForGrants,
                                         ClientPhase::kWaitingForResponse, ClientPhase::kReceiving,
                                         ClientPhase::kWaitingForBuffers, ClientPhase::kReady),
                       ::testing::Values(0, ECANCELED)));

enum class ServerPhase { kReceiving, kReady, kInService, kSending, kAwaitAck };

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
            case ServerPhase::kReady: return s.engine.live_rpcs() == 1 && ss.grants_sent > 0 &&
                                             c.engine.stats().tx(PacketType::kData) >= 352;
            case ServerPhase::kInService:
                if (!holding && s.engine.recv(raw, kRecvRequest, 0, &held) == 0) holding = true;
                return holding;
            case ServerPhase::kSending:
                server.serve(net.now());
                return ss.tx(PacketType::kData) >= 50;
            case ServerPhase::kAwaitAck:
                server.serve(net.now());
                return ss.need_acks_sent >= 1;
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
    ASSERT_TRUE(net.run_until([&] {
        server.serve(net.now());
        client.poll();
        return all_released(&server, {&client}, {&s, &c}, {kServerIp, kClientIp});
    }, 300 * kStepsPerTick));
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
