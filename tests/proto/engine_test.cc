// The protocol engine end to end in a simulated network (pure proto, deterministic clock):
// echo of every size class with payload verification, many concurrent RPCs, SRPT, overcommit,
// the FIFO grant share, CUTOFFS, duplicates and reordering, and resource balance at the end.
#include "homa/proto/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include <random>
#include <set>

#include "tests/proto/echo_apps.h"
#include "tests/proto/engine_test_config.h"

namespace homa {
namespace {

using test::EchoClient;
using test::EchoServer;
using test::SimHost;
using test::SimNetwork;

using test::kClientIp;
using test::kPort;
using test::kServerIp;
using test::test_config;

// Runs until every client has its responses and both sides have let go of everything.
bool run_to_quiescence(SimNetwork &net, EchoServer &server, std::vector<EchoClient *> clients,
                       std::vector<SimHost *> hosts, uint64_t max_steps = 3'000'000) {
    return net.run_until(
        [&] {
            server.serve(net.now());
            bool idle = server.pending() == 0;
            for (auto *c : clients) {
                c->poll();
                idle = idle && c->outstanding() == 0 && c->buffers_held() == 0;
            }
            for (auto *h : hosts) {
                idle = idle && h->engine.live_rpcs() == 0 && h->engine.held_bpages() == 0 &&
                       h->pool.in_use() == 0;
            }
            return idle;
        },
        max_steps);
}

TEST(Engine, EchoMatrix_EverySizeVerifiedAndNothingLeft) {
    SimNetwork net;
    SimHost &s = net.add_host(kServerIp, test_config());
    SimHost &c = net.add_host(kClientIp, test_config());
    EchoServer server(s, kPort);
    EchoClient client(c);
    const std::vector<uint32_t> sizes = {1,     2,      100,    1423,   1424,   1425,   2800,
                                         2849,  15000,  39999,  40000,  40001,  65535,  65536,
                                         65537, 100000, 250000, 500000, 999999, 1000000};
    for (uint32_t len : sizes) client.send({kServerIp, kPort}, len, net.now());
    ASSERT_TRUE(run_to_quiescence(net, server, {&client}, {&s, &c}));
    EXPECT_EQ(client.completed(), sizes.size());
    EXPECT_EQ(client.corrupt(), 0u);
    EXPECT_EQ(server.served(), sizes.size());
    EXPECT_EQ(s.engine.stats().server_rpcs_completed, sizes.size());
    EXPECT_EQ(c.engine.stats().client_rpcs_completed, sizes.size());
    EXPECT_GT(s.engine.stats().grants_sent, 0u);
    for (auto *h : {&s, &c}) {
        for (uint64_t d : h->engine.stats().drops) EXPECT_EQ(d, 0u);
    }
}

TEST(Engine, ManyClients_ThousandsOfConcurrentRpcs) {
    SimNetwork net;
    EngineConfig cfg = test_config();
    SimHost &s = net.add_host(kServerIp, cfg, 4096);
    EchoServer server(s, kPort);
    std::vector<SimHost *> hosts = {&s};
    std::vector<std::unique_ptr<EchoClient>> clients;
    std::vector<EchoClient *> client_ptrs;
    std::mt19937 rng(5);
    for (uint32_t i = 0; i < 4; ++i) {
        SimHost &h = net.add_host(kClientIp + i, cfg, 2048);
        hosts.push_back(&h);
        clients.push_back(std::make_unique<EchoClient>(h));
        client_ptrs.push_back(clients.back().get());
    }
    uint64_t total = 0;
    for (int round = 0; round < 500; ++round) {
        for (auto &cl : clients) {
            uint32_t len = rng() % 4 == 0 ? 1 + rng() % 60000 : 1 + rng() % 3000;
            cl->send({kServerIp, kPort}, len, net.now());
            ++total;
        }
    }
    ASSERT_TRUE(run_to_quiescence(net, server, client_ptrs, hosts));
    uint64_t completed = 0;
    for (auto &cl : clients) {
        completed += cl->completed();
        EXPECT_EQ(cl->corrupt(), 0u);
    }
    EXPECT_EQ(completed, total);
    EXPECT_EQ(server.served(), total);
}

// A short (but still scheduled) request started after a long one is received first when both
// compete for the same receiver's grants.
TEST(Engine, Srpt_ShortMessageOvertakesLongOne) {
    SimNetwork net;
    EngineConfig cfg = test_config();
    cfg.max_overcommit = 1;  // only one message granted at a time: pure SRPT
    cfg.grant_fifo_fraction = 0;
    cfg.window = 50'000;  // small windows: the granted message cannot run far ahead
    SimHost &s = net.add_host(kServerIp, cfg, 1024);
    SimHost &c1 = net.add_host(kClientIp, cfg);
    SimHost &c2 = net.add_host(kClientIp + 1, cfg);
    EchoServer server(s, kPort);
    EchoClient long_client(c1), short_client(c2);
    long_client.send({kServerIp, kPort}, 1'000'000, net.now());
    for (int i = 0; i < 50; ++i) net.step();
    short_client.send({kServerIp, kPort}, 300'000, net.now());
    ASSERT_TRUE(run_to_quiescence(net, server, {&long_client, &short_client}, {&s, &c1, &c2}));
    ASSERT_EQ(server.served_from().size(), 2u);
    EXPECT_EQ(server.served_from()[0], kClientIp + 1);
    EXPECT_EQ(server.served_from()[1], kClientIp);
}

// With max_overcommit = 2 and five long messages arriving together, grants beyond the
// unscheduled bytes go to at most two messages until one of them completes.
TEST(Engine, Overcommit_AtMostNMessagesGranted) {
    SimNetwork net;
    EngineConfig cfg = test_config();
    cfg.max_overcommit = 2;
    cfg.grant_fifo_fraction = 0;
    SimHost &s = net.add_host(kServerIp, cfg, 2048);
    EchoServer server(s, kPort);
    std::vector<std::unique_ptr<EchoClient>> clients;
    std::vector<EchoClient *> ptrs;
    std::vector<SimHost *> hosts = {&s};
    for (uint32_t i = 0; i < 5; ++i) {
        SimHost &h = net.add_host(kClientIp + i, cfg);
        hosts.push_back(&h);
        clients.push_back(std::make_unique<EchoClient>(h));
        ptrs.push_back(clients.back().get());
        clients.back()->send({kServerIp, kPort}, 400'000 + i * 1000, net.now());
    }
    ASSERT_TRUE(run_to_quiescence(net, server, ptrs, hosts));
    // Grants from the server to clients, in order; requests complete in SRPT order, so at any
    // point the set of clients granted so far is at most (completed requests + 2).
    std::set<uint32_t> granted;
    std::set<uint32_t> done;
    uint32_t max_ahead = 0;
    std::map<uint32_t, uint32_t> last_offset;
    for (const auto &p : net.log()) {
        if (p.src_ip == kServerIp && p.type == wire::PacketType::kGrant && p.dst_ip != kServerIp) {
            granted.insert(p.dst_ip);
            if (p.offset >= 400'000) done.insert(p.dst_ip);  // fully granted
            max_ahead = std::max<uint32_t>(max_ahead, granted.size() - done.size());
        }
    }
    EXPECT_EQ(granted.size(), 5u);
    EXPECT_LE(max_ahead, 2u);
    EXPECT_GE(max_ahead, 2u);  // and the overcommit was actually used
}

// One long message, then 30 shorter ones that keep the receiver's single grant slot busy
// (max_overcommit = 1). Returns the FIFO grants the server sent and how many grants the long
// message got while the short ones' responses were still flowing.
struct FifoRun {
    uint64_t fifo_grants = 0;
    uint64_t long_grants_meanwhile = 0;
};

FifoRun run_fifo_scenario(uint32_t fifo_fraction) {
    SimNetwork net;
    EngineConfig cfg = test_config();
    cfg.max_overcommit = 1;
    cfg.grant_fifo_fraction = fifo_fraction;
    SimHost &s = net.add_host(kServerIp, cfg, 4096);
    SimHost &big = net.add_host(kClientIp, cfg);
    SimHost &small = net.add_host(kClientIp + 1, cfg, 2048);
    EchoServer server(s, kPort);
    EchoClient big_client(big), small_client(small);
    big_client.send({kServerIp, kPort}, 1'000'000, net.now());
    for (int i = 0; i < 20; ++i) net.step();
    for (int i = 0; i < 30; ++i) small_client.send({kServerIp, kPort}, 100'000, net.now());
    EXPECT_TRUE(run_to_quiescence(net, server, {&big_client, &small_client}, {&s, &big, &small}));
    EXPECT_EQ(big_client.corrupt() + small_client.corrupt(), 0u);
    uint64_t first_small = UINT64_MAX, last_small = 0;
    for (const auto &p : net.log()) {
        if (p.src_ip == kServerIp && p.type == wire::PacketType::kData &&
            p.dst_ip == kClientIp + 1) {
            first_small = std::min(first_small, p.time_ns);
            last_small = std::max(last_small, p.time_ns);
        }
    }
    FifoRun r;
    r.fifo_grants = s.engine.stats().fifo_grants_sent;
    for (const auto &p : net.log()) {
        if (p.src_ip == kServerIp && p.type == wire::PacketType::kGrant && p.dst_ip == kClientIp &&
            p.time_ns > first_small && p.time_ns < last_small) {
            ++r.long_grants_meanwhile;
        }
    }
    return r;
}

// The FIFO share gives the oldest message grants even while shorter ones keep arriving.
TEST(Engine, FifoShare_OldestMessageGetsGrants) {
    FifoRun r = run_fifo_scenario(200);  // 20 %: a clear signal in a short run
    EXPECT_GT(r.fifo_grants, 0u);
    EXPECT_GT(r.long_grants_meanwhile, 0u);
}

TEST(Engine, FifoShareOff_OldestWaitsForShorterOnes) {
    // (The long message still gets SRPT grants once every short one is fully granted: only
    // messages that need grants count against max_overcommit.)
    EXPECT_EQ(run_fifo_scenario(0).fifo_grants, 0u);
}

// A receiver's CUTOFFS decide the priority of a sender's unscheduled packets.
TEST(Engine, Cutoffs_SenderUsesReceiversCutoffs) {
    SimNetwork net;
    EngineConfig server_cfg = test_config();
    server_cfg.unsched_cutoffs = {0, 0, 0, 0, 0, 0, 0xFFFFFFFF, 500};  // <= 500 B: 7, else 6
    server_cfg.cutoff_version = 9;
    SimHost &s = net.add_host(kServerIp, server_cfg);
    SimHost &c = net.add_host(kClientIp, test_config());
    EchoServer server(s, kPort);
    EchoClient client(c);
    client.send({kServerIp, kPort}, 1000, net.now());  // default cutoffs: priority 6 (<= 2800)
    ASSERT_TRUE(run_to_quiescence(net, server, {&client}, {&s, &c}));
    EXPECT_EQ(s.engine.stats().cutoffs_sent, 1u);
    size_t mark = net.log().size();
    client.send({kServerIp, kPort}, 5000, net.now());  // default would be 5; server says 6
    client.send({kServerIp, kPort}, 300, net.now());   // server says 7
    ASSERT_TRUE(run_to_quiescence(net, server, {&client}, {&s, &c}));
    std::set<uint8_t> prio_5000, prio_300;
    for (size_t i = mark; i < net.log().size(); ++i) {
        const auto &p = net.log()[i];
        if (p.src_ip != kClientIp || p.type != wire::PacketType::kData) continue;
        (p.length == 300 ? prio_300 : prio_5000).insert(p.priority);
    }
    EXPECT_EQ(prio_5000, std::set<uint8_t>{6});
    EXPECT_EQ(prio_300, std::set<uint8_t>{7});
    EXPECT_EQ(s.engine.stats().cutoffs_sent, 1u);  // the client is now up to date
}

TEST(Engine, ScheduledDataUsesGrantPriority) {
    SimNetwork net;
    SimHost &s = net.add_host(kServerIp, test_config(), 1024);
    SimHost &c = net.add_host(kClientIp, test_config());
    EchoServer server(s, kPort);
    EchoClient client(c);
    client.send({kServerIp, kPort}, 300'000, net.now());
    ASSERT_TRUE(run_to_quiescence(net, server, {&client}, {&s, &c}));
    std::set<uint8_t> unsched, sched;
    for (const auto &p : net.log()) {
        if (p.src_ip != kClientIp || p.type != wire::PacketType::kData) continue;
        (p.offset < 40'000 ? unsched : sched).insert(p.priority);
    }
    EXPECT_EQ(unsched, std::set<uint8_t>{4});  // > 15,000 B: priority 4 under default cutoffs
    for (uint8_t p : sched) EXPECT_LE(p, 3);   // scheduled data at or below max_sched_prio
    EXPECT_FALSE(sched.empty());
}

TEST(Engine, DuplicatesAndReordering_EveryMessageIntact) {
    FaultConfig faults;
    faults.duplicate = {0.05, 42};
    faults.reorder = {0.05, 43};
    SimNetwork net(faults);
    SimHost &s = net.add_host(kServerIp, test_config(), 2048);
    SimHost &c = net.add_host(kClientIp, test_config(), 2048);
    EchoServer server(s, kPort);
    EchoClient client(c);
    std::mt19937 rng(3);
    for (int i = 0; i < 200; ++i) client.send({kServerIp, kPort}, 1 + rng() % 200'000, net.now());
    ASSERT_TRUE(run_to_quiescence(net, server, {&client}, {&s, &c}));
    EXPECT_EQ(client.completed(), 200u);
    EXPECT_EQ(client.corrupt(), 0u);
    EXPECT_GT(s.engine.stats().duplicate_data_bytes + c.engine.stats().duplicate_data_bytes, 0u);
}

TEST(Engine, PacerLimitsNicQueueUnlessDontThrottle) {
    for (bool dont_throttle : {false, true}) {
        SimNetwork net;
        SimHost &s = net.add_host(kServerIp, test_config(), 1024);
        SimHost &c = net.add_host(kClientIp, test_config());
        EchoServer server(s, kPort);
        EchoClient client(c);
        ASSERT_EQ(c.engine.set_dont_throttle(client.socket(), dont_throttle), 0);
        client.send({kServerIp, kPort}, 40'000, net.now());  // all unscheduled
        uint64_t t0 = net.now();
        net.step();  // the first poll sends what the pacer allows at once
        size_t first_burst = 0;
        for (const auto &p : net.log()) first_burst += p.src_ip == kClientIp && p.time_ns == t0;
        // 5 us of NIC queue at 25 Gbps is about 10 full packets; 40 KB is 29 packets.
        if (dont_throttle) {
            EXPECT_EQ(first_burst, 29u);
        } else {
            EXPECT_LE(first_burst, 12u);
            EXPECT_GT(c.engine.stats().pacer_throttled, 0u);
        }
        ASSERT_TRUE(run_to_quiescence(net, server, {&client}, {&s, &c}));
    }
}

TEST(Engine, PiggybackedAcksFreeServerRpcsWithoutNeedAck) {
    SimNetwork net;
    SimHost &s = net.add_host(kServerIp, test_config());
    SimHost &c = net.add_host(kClientIp, test_config());
    EchoServer server(s, kPort);
    EchoClient client(c);
    // Sequential RPCs: each new request carries the ack of the previous one.
    for (int i = 0; i < 20; ++i) {
        client.send({kServerIp, kPort}, 100, net.now());
        ASSERT_TRUE(net.run_until(
            [&] {
                server.serve(net.now());
                client.poll();
                return client.outstanding() == 0;
            },
            10'000, 100));
    }
    EXPECT_GE(c.engine.stats().acks_piggybacked, 19u);
    EXPECT_LE(s.engine.live_rpcs(), 1u);
    ASSERT_TRUE(run_to_quiescence(net, server, {&client}, {&s, &c}));
}

TEST(Engine, AWholeBurstOfResponsesIsAckedByTheNextRequestsNotByAckPackets) {
    // A worker's RX reads up to 8 bursts of 32 frames before the application runs (WorkerConfig
    // rx_budget_bursts and burst): a closed loop then completes 256 responses from one server
    // before it sends the 256 requests that carry their acks. With room for only 128 pending
    // acks per peer, half of them left in ACK packets of six (0.08 control packets per RPC
    // over memif at 10^3-10^6 live RPCs, docs/perf.md).
    constexpr int kBatch = 256;
    SimNetwork net;
    EngineConfig cfg = test_config();
    cfg.tick_ns = 1'000'000'000;  // no tick in the test: a tick flushes whatever is pending
    SimHost &s = net.add_host(kServerIp, cfg);
    SimHost &c = net.add_host(kClientIp, cfg);
    EchoServer server(s, kPort);
    EchoClient client(c);
    for (int round = 0; round < 2; ++round) {
        for (int i = 0; i < kBatch; ++i) client.send({kServerIp, kPort}, 100, net.now());
        const uint64_t completed = client.completed();
        uint64_t largest_step = 0;
        ASSERT_TRUE(net.run_until(
            [&] {
                server.serve(net.now());
                const uint64_t before = client.completed();
                client.poll();
                largest_step = std::max<uint64_t>(largest_step, client.completed() - before);
                return client.completed() == completed + kBatch;
            },
            10'000, 100));
        // The premise: the whole batch completed between two of the application's turns.
        EXPECT_EQ(largest_step, uint64_t{kBatch}) << "round " << round;
    }
    // The first batch's acks rode on the second batch's requests; none went alone.
    EXPECT_EQ(net.count(wire::PacketType::kAck, kClientIp), 0u);
    EXPECT_GE(c.engine.stats().acks_piggybacked, uint64_t{kBatch});
}

TEST(Engine, AcksOfLargeRepliesLeaveAtOnceSoTheServerFreesTheirBuffers) {
    // The server holds each finished reply until its ack arrives. Acks waiting for the next
    // requests would keep every byte of those replies from new requests: past 4 MB of them
    // (kPendingAckBytes) the client sends the acks at once. Five 1 MB replies pass it, four do
    // not.
    SimNetwork net;
    EngineConfig cfg = test_config();
    cfg.tick_ns = 1'000'000'000;  // no tick: neither a flush nor a NEED_ACK
    SimHost &s = net.add_host(kServerIp, cfg, 8192);
    SimHost &c = net.add_host(kClientIp, cfg, 8192);
    EchoServer server(s, kPort);
    EchoClient client(c);
    for (int i = 0; i < 6; ++i) client.send({kServerIp, kPort}, 1'000'000, net.now());
    // Every request whole at the server before it answers any: no request DATA is left to
    // carry an ack.
    ASSERT_TRUE(net.run_until([&] { return s.engine.stats().messages_ready == 6; }, 200'000, 100));
    ASSERT_TRUE(net.run_until(
        [&] {
            server.serve(net.now());
            client.poll();
            return client.completed() == 6;
        },
        200'000, 100));
    net.run_until([] { return false; }, 100, 100);  // the ACK reaches the server
    EXPECT_EQ(net.count(wire::PacketType::kAck, kClientIp), 1u);
    EXPECT_EQ(c.engine.stats().ack_packets_for_bytes, 1u);
    EXPECT_EQ(s.engine.live_rpcs(), 1u);  // the sixth reply waits for its ack
    Engine::PeerInfo peers[4];
    ASSERT_EQ(c.engine.snapshot_peers(peers), 1u);
    EXPECT_EQ(peers[0].pending_acks, 1u);
}

}  // namespace
}  // namespace homa
