// Hostile and dead peers in the simulated network (issue 14), deterministic. Each attack runs
// beside a legitimate client on another address, which must get every RPC answered and
// verified, no slower than twice its latency without the attack; after the attack the
// server's state (RPCs, bpages, waiters, peers) must return to idle within timeout_ticks plus a
// stated margin; the frames the server sent to the attacker are counted against the frames it
// sent us (the amplification factor, printed). Each test names the mechanism it guards.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <functional>
#include <random>
#include <vector>

#include "homa/proto/encode.h"
#include "homa/proto/engine.h"
#include "homa/proto/rpc_id.h"
#include "tests/proto/loss_helpers.h"

namespace homa {
namespace {

using namespace test;  // NOLINT: the fixtures of tests/fakes and tests/proto
using wire::PacketType;

constexpr uint32_t kAttackerIp = 0x0B000001;
constexpr uint32_t kSpoofBase = 0x0C000000;  // spoofed sources: kSpoofBase + i

// Margin after timeout_ticks for the state to drain: the timer looks at an RPC when its next
// action is due (probes back off to 8 x resend_interval), so an expiry can be that late.
constexpr uint64_t kDrainMarginTicks = 50;
// Unanswered probes after which a server RPC goes (engine_state.h kMaxUnansweredProbes).
constexpr uint64_t kMaxUnansweredProbesForTest = 4;

EngineConfig hostile_config() {
    EngineConfig c = test_config();
    c.peer_idle_ticks = 20;  // so that peers, too, are seen to return to idle in the test
    return c;
}

// Frames from `src` (anything: the server cannot tell a spoofed source) into the server.
class Injector {
  public:
    Injector(SimNetwork &net, uint32_t server_ip) : net_(net), server_ip_(server_ip) {}

    template <typename Fields>
    void send(uint32_t src, const Fields &f) {
        deliver(src, [&](std::span<uint8_t> buf, const wire::FrameAddr &a) {
            return wire::encode(buf, a, f);
        });
    }
    void send(uint32_t src, const wire::Data &d, std::span<const uint8_t> payload) {
        deliver(src, [&](std::span<uint8_t> buf, const wire::FrameAddr &a) {
            return wire::encode(buf, a, d, payload);
        });
    }
    uint64_t sent() const { return sent_; }

  private:
    void deliver(uint32_t src,
                 const std::function<size_t(std::span<uint8_t>, const wire::FrameAddr &)> &encode) {
        wire::FrameAddr a;
        a.src_ip = src;
        a.dst_ip = server_ip_;
        std::array<uint8_t, 2048> buf{};
        size_t n = encode(buf, a);
        ASSERT_GT(n, 0u);
        net_.inject(server_ip_, std::vector<uint8_t>(buf.begin(), buf.begin() + n));
        ++sent_;
    }

    SimNetwork &net_;
    uint32_t server_ip_;
    uint64_t sent_ = 0;
};

// The first packet of a request of `length` bytes that announces `incoming` unscheduled
// bytes (and sends only this one, unless the caller sends more).
wire::Data first_data(uint64_t id, uint32_t length, uint32_t incoming, uint32_t offset = 0) {
    wire::Data d;
    d.common = {.sport = 0x9000, .dport = kPort, .sender_id = id};
    d.message_length = length;
    d.incoming = incoming;
    d.offset = offset;
    return d;
}

uint64_t frames_to(const SimNetwork &net, const std::function<bool(uint32_t)> &is_attacker) {
    return static_cast<uint64_t>(std::count_if(net.log().begin(), net.log().end(),
                                               [&](auto &p) { return is_attacker(p.dst_ip); }));
}

bool server_idle(const SimHost &s, uint32_t legit_peers) {
    return s.engine.live_rpcs() == 0 && s.engine.held_bpages() == 0 &&
           s.engine.buffer_waiters() == 0 && s.engine.live_peers() <= legit_peers;
}

// The legitimate client's workload: short and long requests, spread over time.
struct LegitRun {
    uint64_t max_short_ns = 0;
    uint64_t max_long_ns = 0;
    uint64_t completed = 0;
};

constexpr uint32_t kShort = 100, kLong = 100'000;
constexpr int kLegitRpcs = 40;  // every fourth one long
constexpr uint64_t kLegitGapSteps = 50;

class LegitClient {
  public:
    LegitClient(SimHost &h, SimNetwork &net) : client_(h), net_(net) {}

    // One step of the workload: sends the next request when due, polls.
    void step(uint64_t step) {
        if (next_ < kLegitRpcs && step >= start_ + next_ * kLegitGapSteps) {
            client_.send({kServerIp, kPort}, next_ % 4 == 3 ? kLong : kShort, net_.now());
            ++next_;
        }
        client_.poll(net_.now());
    }
    void start_at(uint64_t step) { start_ = step; }
    bool done() const { return next_ == kLegitRpcs && client_.outstanding() == 0; }
    LegitRun result() const {
        LegitRun r;
        for (const auto &l : client_.latencies()) {
            uint64_t &m = l.length == kShort ? r.max_short_ns : r.max_long_ns;
            m = std::max(m, l.ns);
        }
        r.completed = client_.completed();
        EXPECT_EQ(client_.errors(), 0u);
        EXPECT_EQ(client_.corrupt(), 0u);
        return r;
    }

  private:
    EchoClient client_;
    SimNetwork &net_;
    int next_ = 0;
    uint64_t start_ = 0;
};

// The legitimate workload alone: the reference latencies.
LegitRun unloaded_run(const EngineConfig &cfg, uint32_t pool_bpages) {
    SimNetwork net;
    SimHost &s = net.add_host(kServerIp, cfg, pool_bpages);
    SimHost &c = net.add_host(kClientIp, cfg);
    EchoServer server(s, kPort);
    LegitClient legit(c, net);
    uint64_t step = 0;
    EXPECT_TRUE(net.run_until([&] {
        server.serve(net.now());
        legit.step(step++);
        return legit.done();
    }));
    return legit.result();
}

void expect_within_twice(const LegitRun &alone, const LegitRun &attacked) {
    EXPECT_EQ(attacked.completed, uint64_t{kLegitRpcs});
    std::printf("[legit] short max %.1f us (alone %.1f), long max %.1f us (alone %.1f)\n",
                attacked.max_short_ns / 1e3, alone.max_short_ns / 1e3, attacked.max_long_ns / 1e3,
                alone.max_long_ns / 1e3);
    EXPECT_LE(attacked.max_short_ns, 2 * alone.max_short_ns);
    EXPECT_LE(attacked.max_long_ns, 2 * alone.max_long_ns);
}

// Runs the network until the server is idle again; returns the ticks it took.
uint64_t ticks_to_idle(SimNetwork &net, SimHost &s, EchoServer &server, uint32_t legit_peers) {
    uint64_t start = net.now();
    EXPECT_TRUE(net.run_until(
        [&] {
            server.serve(net.now());
            return server_idle(s, legit_peers);
        },
        (s.engine.config().timeout_ticks + 4 * kDrainMarginTicks) * kStepsPerTick));
    return (net.now() - start) / kTickNs;
}

// ----- a flood of partial messages -----

// Guards: fair shares (fair_share.cc: a lighter peer's message evicts the heavy peer's stalled
// ones when the pool is exhausted; heavy peers' waiters queue last) and the expiry of waiting
// messages whose peer fell silent (timer.cc). The capture: 3,000 first packets of
// 500 KB messages that never complete.
TEST(Hostile, PartialMessageFlood_LegitServedAndStateExpires) {
    EngineConfig cfg = hostile_config();
    constexpr uint32_t kPool = 128;  // 8 MB: 16 of the flood's messages fill it
    LegitRun alone = unloaded_run(cfg, kPool);
    SimNetwork net;
    SimHost &s = net.add_host(kServerIp, cfg, kPool);
    SimHost &c = net.add_host(kClientIp, cfg);
    EchoServer server(s, kPort);
    LegitClient legit(c, net);
    Injector attack(net, kServerIp);
    std::vector<uint8_t> payload(cfg.max_payload(), 0xEE);
    constexpr uint64_t kFlood = 3000;
    legit.start_at(100);
    uint64_t step = 0, sent = 0;
    ASSERT_TRUE(net.run_until([&] {
        for (int k = 0; k < 2 && sent < kFlood; ++k, ++sent) {
            attack.send(kAttackerIp, first_data(2 * sent + 2, 500'000, 40'000), payload);
        }
        server.serve(net.now());
        legit.step(step++);
        return legit.done() && sent == kFlood;
    }));
    expect_within_twice(alone, legit.result());
    const EngineStats &st = s.engine.stats();
    EXPECT_GT(st.evicted, 0u);
    uint64_t ticks = ticks_to_idle(net, s, server, 1);
    EXPECT_LE(ticks, cfg.timeout_ticks + kDrainMarginTicks);
    double factor = double(frames_to(net, [](uint32_t ip) { return ip == kAttackerIp; })) /
                    double(attack.sent());
    std::printf(
        "[partial flood] frames in %lu, out to attacker %.2f per frame in; evicted %lu "
        "expired waiting %lu timed out %lu; idle after %lu ticks\n",
        attack.sent(), factor, st.evicted, st.expired_waiting, st.server_rpcs_timed_out, ticks);
    EXPECT_LE(factor, 1.0);  // most waited for bpages and were never asked for anything
}

// ----- a flood of control packets for random ids -----

// Guards: control packets never create state (peer_table.cc find_peer: NEED_ACK and CUTOFFS
// used to create peer entries) and cost at most one answer each.
TEST(Hostile, ControlPacketFlood_NoStateAtMostOneAnswerEach) {
    EngineConfig cfg = hostile_config();
    LegitRun alone = unloaded_run(cfg, 512);
    SimNetwork net;
    SimHost &s = net.add_host(kServerIp, cfg);
    SimHost &c = net.add_host(kClientIp, cfg);
    EchoServer server(s, kPort);
    LegitClient legit(c, net);
    Injector attack(net, kServerIp);
    std::mt19937_64 rng(14);
    legit.start_at(100);
    uint64_t step = 0;
    constexpr uint64_t kFlood = 20'000;
    ASSERT_TRUE(net.run_until([&] {
        for (int k = 0; k < 8 && attack.sent() < kFlood; ++k) {
            uint32_t src = kSpoofBase + static_cast<uint32_t>(rng() % 5000);
            wire::Common common{.sport = static_cast<uint16_t>(0x8000 | rng()),
                                .dport = kPort,
                                .sender_id = rng() & ~uint64_t{0}};
            switch (rng() % 7) {
                case 0:
                    attack.send(
                        src,
                        wire::Resend{.common = common, .offset = 0, .length = 100, .priority = 7});
                    break;
                case 1:
                    attack.send(src,
                                wire::Grant{.common = common, .offset = 50'000, .priority = 3});
                    break;
                case 2:
                    attack.send(src, wire::Bare{.type = PacketType::kBusy, .common = common});
                    break;
                case 3:
                    attack.send(src, wire::Bare{.type = PacketType::kNeedAck, .common = common});
                    break;
                case 4:
                    attack.send(src, wire::Acks{.common = common, .num_acks = 0, .acks = {}});
                    break;
                case 5:
                    attack.send(src, wire::Bare{.type = PacketType::kRpcUnknown, .common = common});
                    break;
                default:
                    attack.send(src,
                                wire::Cutoffs{
                                    .common = common, .unsched_cutoffs = {}, .cutoff_version = 9});
                    break;
            }
        }
        server.serve(net.now());
        legit.step(step++);
        return legit.done() && attack.sent() == kFlood;
    }));
    expect_within_twice(alone, legit.result());
    const EngineStats &st = s.engine.stats();
    EXPECT_EQ(st.peers_created, 1u);  // the legitimate client only
    uint64_t ticks = ticks_to_idle(net, s, server, 1);
    EXPECT_LE(ticks, cfg.timeout_ticks + kDrainMarginTicks);
    uint64_t out = frames_to(net, [](uint32_t ip) { return ip >= kSpoofBase; });
    double factor = double(out) / double(attack.sent());
    std::printf("[control flood] frames in %lu, out %.2f per frame in (rpc_unknown %lu)\n",
                attack.sent(), factor, st.rpc_unknown_sent);
    EXPECT_LE(factor, 1.0);
}

// ----- a peer that stops answering in the middle of 1,000 RPCs -----

// Guards: exponential backoff of timer packets and the bound on probes per RPC (timer.cc), and
// the expiry of everything the dead peer left (its requests half-received, replies awaiting
// ACKs, replies waiting for grants).
TEST(Hostile, PeerDiesMidwayThrough1000Rpcs_StateFreedFewFramesToIt) {
    EngineConfig cfg = hostile_config();
    LegitRun alone = unloaded_run(cfg, 512);
    constexpr uint32_t kDeadIp = kAttackerIp;
    SimNetwork net;
    SimHost &s = net.add_host(kServerIp, cfg, 1024);
    SimHost &c = net.add_host(kClientIp, cfg);
    SimHost &d = net.add_host(kDeadIp, cfg, 1024);
    EchoServer server(s, kPort);
    LegitClient legit(c, net);
    EchoClient dying(d, /*tolerate_errors=*/true);
    std::mt19937 rng(3);
    for (int i = 0; i < 1000; ++i) {
        uint32_t len = i % 10 == 0 ? 50'000 + rng() % 150'000 : 1 + rng() % 5000;
        dying.send({kServerIp, kPort}, len, net.now());
    }
    uint64_t step = 0;
    ASSERT_TRUE(net.run_until([&] {
        server.serve(net.now());
        dying.poll();
        return dying.completed() >= 300;
    }));
    // The host dies: nothing it sends arrives any more.
    DropRule dead;
    dead.src_ip = kDeadIp;
    dead.count = UINT64_MAX;
    net.add_drop_rule(dead);
    uint32_t left = s.engine.live_rpcs();
    uint64_t out_before = frames_to(net, [](uint32_t ip) { return ip == kDeadIp; });
    legit.start_at(0);
    ASSERT_TRUE(net.run_until([&] {
        server.serve(net.now());
        legit.step(step++);
        return legit.done();
    }));
    expect_within_twice(alone, legit.result());
    uint64_t ticks = ticks_to_idle(net, s, server, 2);
    EXPECT_LE(ticks, cfg.timeout_ticks + kDrainMarginTicks);
    uint64_t after = frames_to(net, [](uint32_t ip) { return ip == kDeadIp; }) - out_before;
    std::printf(
        "[dead peer] server RPCs left %u; frames sent to it after it died %lu (%.2f per "
        "RPC); timed out %lu expired waiting %lu\n",
        left, after, double(after) / std::max(left, 1u), s.engine.stats().server_rpcs_timed_out,
        s.engine.stats().expired_waiting);
    ASSERT_GT(left, 0u);
    // A few frames per RPC it left (4 probes with backoff, and DATA already queued), not one
    // every resend_interval until the timeout (19).
    EXPECT_LE(after, uint64_t{left} * (kMaxUnansweredProbesForTest + 2));
}

// ----- a peer that sends only unscheduled bytes and never answers grants -----

// Guards: per-peer shares of max_incoming and stalled senders leaving the grant set
// (grant.cc): the attacker's messages claim max_incoming several times over with bytes it
// never sends, and would hold every grant back.
TEST(Hostile, UnscheduledOnlySender_OthersStillGranted) {
    EngineConfig cfg = hostile_config();
    LegitRun alone = unloaded_run(cfg, 512);
    SimNetwork net;
    SimHost &s = net.add_host(kServerIp, cfg);
    SimHost &c = net.add_host(kClientIp, cfg);
    EchoServer server(s, kPort);
    LegitClient legit(c, net);
    Injector attack(net, kServerIp);
    const uint32_t payload_len = cfg.max_payload();
    std::vector<uint8_t> payload(payload_len, 0xAB);
    constexpr uint64_t kMessages = 60;  // 1 MB each, all of the unscheduled 40 KB sent
    const uint32_t per_message = (cfg.unsched_bytes + payload_len - 1) / payload_len;
    legit.start_at(200);
    uint64_t step = 0, msg = 0, pkt = 0;
    ASSERT_TRUE(net.run_until([&] {
        for (int k = 0; k < 4 && msg < kMessages; ++k) {
            uint32_t off = pkt * payload_len;
            uint32_t len = std::min(payload_len, cfg.unsched_bytes - off);
            attack.send(kAttackerIp, first_data(2 * msg + 2, 1'000'000, cfg.unsched_bytes, off),
                        std::span<const uint8_t>(payload.data(), len));
            if (++pkt == per_message) {
                pkt = 0;
                ++msg;
            }
        }
        server.serve(net.now());
        legit.step(step++);
        return legit.done() && msg == kMessages;
    }));
    expect_within_twice(alone, legit.result());
    const EngineStats &st = s.engine.stats();
    uint64_t ticks = ticks_to_idle(net, s, server, 1);
    EXPECT_LE(ticks, cfg.timeout_ticks + kDrainMarginTicks);
    double factor = double(frames_to(net, [](uint32_t ip) { return ip == kAttackerIp; })) /
                    double(attack.sent());
    std::printf(
        "[unscheduled only] frames in %lu, out to attacker %.3f per frame in (grants "
        "%lu resends %lu); timed out %lu; idle after %lu ticks\n",
        attack.sent(), factor, st.grants_sent, st.resends_sent, st.server_rpcs_timed_out, ticks);
    EXPECT_LE(factor, 1.0);
}

// ----- spoofed sources, more than the peer table holds -----

// Guards: the peer table's reclaiming (peer_table.cc: idle peers go, least recently idle
// first; a finished reply to a silent peer is freed when the table is full) and control
// packets never creating peers. Each spoofed source sends a one-byte request: the server
// answers it and waits for an ACK that never comes.
TEST(Hostile, SpoofedSourceFloodBeyondPeerTable_NewClientServed) {
    EngineConfig cfg = hostile_config();
    cfg.max_peers = 256;
    LegitRun alone = unloaded_run(cfg, 512);
    SimNetwork net;
    SimHost &s = net.add_host(kServerIp, cfg);
    EchoServer server(s, kPort);
    Injector attack(net, kServerIp);
    std::vector<uint8_t> one{0x42};
    constexpr uint32_t kSources = 2000;
    uint32_t src = 0;
    auto flood_step = [&] {
        for (int k = 0; k < 2 && src < kSources; ++k, ++src) {
            attack.send(kSpoofBase + src, first_data(2, 1, 1), one);
        }
    };
    // The flood fills the table before the new client exists.
    ASSERT_TRUE(net.run_until([&] {
        flood_step();
        server.serve(net.now());
        return src >= 2 * cfg.max_peers;
    }));
    SimHost &c = net.add_host(kClientIp, cfg);
    LegitClient legit(c, net);
    uint64_t step = 0;
    ASSERT_TRUE(net.run_until([&] {
        flood_step();
        server.serve(net.now());
        legit.step(step++);
        return legit.done() && src == kSources;
    }));
    expect_within_twice(alone, legit.result());
    const EngineStats &st = s.engine.stats();
    uint64_t ticks = ticks_to_idle(net, s, server, 1);
    EXPECT_LE(ticks, cfg.timeout_ticks + kDrainMarginTicks);
    // And after it: another new client.
    SimHost &late = net.add_host(kClientIp + 1, cfg);
    EchoClient after(late);
    after.send({kServerIp, kPort}, 100, net.now());
    ASSERT_TRUE(net.run_until([&] {
        server.serve(net.now());
        after.poll();
        return after.completed() == 1;
    }));
    double factor = double(frames_to(net, [](uint32_t ip) { return ip >= kSpoofBase; })) /
                    double(attack.sent());
    std::printf(
        "[spoofed sources] %u sources, table %u: peers created %lu reclaimed %lu, "
        "evicted %lu, table-full drops %lu, served %lu; out %.2f frames per frame "
        "in\n",
        kSources, cfg.max_peers, st.peers_created, st.peers_reclaimed, st.evicted,
        st.drop(EngineDrop::kPeerTableFull), server.served(), factor);
    EXPECT_EQ(st.drop(EngineDrop::kPeerTableFull), 0u);
    EXPECT_LE(factor, 3.0);  // the reply, and a NEED_ACK or two before it is freed
}

// Guards: the hint of find_peer (peer_table.cc) is forgotten when its peer's slot is freed.
// Otherwise a peer that comes back after its entry was reclaimed is "found" in the freed slot
// (no longer in the table), and its new RPC hangs off an entry that holds no address.
TEST(Hostile, ReclaimedPeerReturns_GetsAFreshEntry) {
    EngineConfig cfg = hostile_config();
    SimNetwork net;
    SimHost &s = net.add_host(kServerIp, cfg);
    EchoServer server(s, kPort);
    Injector inject(net, kServerIp);
    std::vector<uint8_t> one{0x42};
    const uint32_t peer = kSpoofBase;
    auto count_replies = [&] {
        return std::count_if(net.log().begin(), net.log().end(), [&](auto &p) {
            return p.dst_ip == peer && p.type == PacketType::kData;
        });
    };
    for (uint64_t id : {2, 4}) {
        inject.send(peer, first_data(id, 1, 1), one);
        ASSERT_TRUE(net.run_until([&] {
            server.serve(net.now());
            return count_replies() == static_cast<long>(id / 2);  // the reply reached it
        })) << "request "
            << id;
        EXPECT_EQ(s.engine.live_peers(), 1u) << "request " << id;
        wire::Acks ack;
        ack.common = {.sport = 0x9000, .dport = kPort, .sender_id = id};
        inject.send(peer, ack);  // frees the reply: the peer is idle, then reclaimed
        ticks_to_idle(net, s, server, 0);
        ASSERT_EQ(s.engine.live_peers(), 0u);
    }
    EXPECT_EQ(s.engine.stats().peers_created, 2u);
}

// ----- peers at datacenter scale -----

// Guards: the peer table's size (2^17 by default; it was a fixed 1,024) and the reclaiming of
// idle entries (peer_table.cc). 100,000 clients each start a request; all are held at once,
// then expire when they fall silent, and their entries are freed.
TEST(Hostile, HundredThousandPeersHeldThenReclaimed) {
    EngineConfig cfg = hostile_config();
    cfg.max_rpcs = 1u << 17;
    SimNetwork net;
    SimHost &s = net.add_host(kServerIp, cfg, 1);
    s.pool.set_cap(0);  // every message waits for bpages: 10^5 peers without 10^5 bpages
    EchoServer server(s, kPort);
    Injector attack(net, kServerIp);
    std::vector<uint8_t> payload(1000, 0x11);
    constexpr uint32_t kPeers = 100'000;
    for (uint32_t i = 0; i < kPeers; ++i) {
        attack.send(kSpoofBase + i, first_data(2, 5000, 5000), payload);
        if (i % 1000 == 999) net.step();
    }
    net.step();
    std::vector<Engine::PeerInfo> peers(kPeers + 10);
    EXPECT_EQ(s.engine.snapshot_peers(peers), size_t{kPeers});
    EXPECT_EQ(s.engine.live_rpcs(), kPeers);
    EXPECT_EQ(s.engine.stats().drop(EngineDrop::kPeerTableFull), 0u);
    uint64_t ticks = ticks_to_idle(net, s, server, 0);
    // Timeouts are bounded per tick (4,096, timer.cc) so that a mass expiry cannot stall a
    // worker: 10^5 of them take 25 ticks more.
    EXPECT_LE(ticks, cfg.timeout_ticks + kDrainMarginTicks + kPeers / 4096 + 1);
    EXPECT_EQ(s.engine.snapshot_peers(peers), 0u);
    EXPECT_EQ(s.engine.stats().peers_reclaimed, uint64_t{kPeers});
    std::printf("[100k peers] held %u peers, idle and reclaimed after %lu ticks\n", kPeers, ticks);
}

}  // namespace
}  // namespace homa
