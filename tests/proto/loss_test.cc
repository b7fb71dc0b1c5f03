// Loss recovery end to end in the simulated network (deterministic, fixed seeds): random drop /
// duplicate / reorder on every link, each packet type lost in turn (RESEND, BUSY, RPC_UNKNOWN
// handling in proto/recovery.cc), and corrupted frames. Each test ends by checking that nothing
// is left: no RPC, no per-peer count, no waiting message, no bpage, no borrowed buffer.
#include <gtest/gtest.h>

#include <cstdio>
#include <ostream>
#include <random>

#include "homa/proto/engine.h"
#include "homa/proto/rpc_id.h"
#include "tests/proto/loss_helpers.h"

namespace homa {
namespace {

using namespace test;  // NOLINT: the fixtures of tests/fakes and tests/proto
using wire::PacketType;

// ----- RESEND / RPC_UNKNOWN handling, with handcrafted packets -----

// One engine as a client whose server is not simulated: the test plays the server.
struct HandcraftedPeer {
    test::FakePool pool{64};
    Engine engine{test_config_at(kClientIp), pool.ops()};
    SocketId sock = 0;
    std::vector<uint8_t> buf = std::vector<uint8_t>(200'000, 0x5A);
    uint64_t id = 0;
    std::vector<uint8_t> frame = std::vector<uint8_t>(256);

    static EngineConfig test_config_at(uint32_t ip) {
        EngineConfig c = test_config();
        c.local_ip = ip;
        return c;
    }
    // Sends a request of `length` bytes; its unscheduled packets are out and, unless
    // `keep_tx`, cleared from the TX queue.
    explicit HandcraftedPeer(uint32_t length = 200'000, bool keep_tx = false) {
        EXPECT_EQ(engine.open_socket(0, &sock), 0);
        EXPECT_EQ(engine.send_request(sock, {kServerIp, kPort},
                                      OutMessage::contiguous(buf.data(), length, 1), 1, 0, &id),
                  0);
        for (uint64_t t = 0; t < 100'000; t += 1000) engine.poll(t);  // all unscheduled out
        if (!keep_tx) engine.clear_tx();
    }
    template <typename Fields>
    void deliver(const Fields &f) {
        size_t n = wire::encode(frame, frame_addr(kServerIp, kClientIp), f);
        ASSERT_GT(n, 0u);
        handle_frame(engine, {frame.data(), n}, 100'000);
    }
    wire::Grant grant(uint32_t offset) const {
        return {.common = {.sport = kPort,
                           .dport = engine.socket_port(sock),
                           .sender_id = wire::local_id(id)},
                .offset = offset,
                .priority = 2};
    }
    wire::Resend resend(uint64_t rpc, uint32_t offset, uint32_t length) const {
        return {.common = {.sport = kPort,
                           .dport = engine.socket_port(sock),
                           .sender_id = wire::local_id(rpc)},
                .offset = offset,
                .length = length,
                .priority = 5};
    }
    // Types of the packets queued since the last call, and the DATA among them.
    std::vector<wire::PacketType> sent(std::vector<const TxPacket *> *data = nullptr) {
        std::vector<wire::PacketType> types;
        for (const TxPacket &p : engine.tx_packets()) {
            auto t = static_cast<wire::PacketType>(p.header[11]);
            types.push_back(t);
            if (data && t == PacketType::kData) data->push_back(&p);
        }
        return types;
    }
};

TEST(Recovery, HandleResend_SentRangeRetransmittedWithFlag) {
    HandcraftedPeer h;
    h.deliver(h.resend(h.id, 1424, 2 * 1424));
    std::vector<const TxPacket *> data;
    EXPECT_EQ(h.sent(&data), (std::vector<PacketType>{PacketType::kData, PacketType::kData}));
    ASSERT_EQ(data.size(), 2u);
    auto *d = reinterpret_cast<const wire::DataHeader *>(data[0]->header);
    EXPECT_EQ(d->retransmit, 1);
    EXPECT_EQ(d->seg_offset.get(), 1424u);
    EXPECT_EQ(data[0]->priority, 5);  // the priority the RESEND asked for
    EXPECT_EQ(h.engine.stats().retransmitted_packets, 2u);
}

// [offset, end) and `incoming` of each DATA packet queued since the last clear.
struct SentData {
    uint32_t offset, end, incoming;
    bool operator==(const SentData &) const = default;
};
std::vector<SentData> sent_data(HandcraftedPeer &h) {
    std::vector<const TxPacket *> data;
    h.sent(&data);
    std::vector<SentData> out;
    for (const TxPacket *p : data) {
        auto *d = reinterpret_cast<const wire::DataHeader *>(p->header);
        uint32_t off = d->seg_offset.get();
        out.push_back({off, off + static_cast<uint32_t>(p->payload_len()), d->incoming.get()});
    }
    h.engine.clear_tx();
    return out;
}

// The packet that reaches the unscheduled limit (40,000 bytes, 1,424-byte packets) ends there,
// as in Linux: nothing past the limit leaves before a grant, and `incoming` says so exactly.
TEST(Transmit, UnscheduledPacketsEndAtTheUnscheduledLimit) {
    HandcraftedPeer h(40'001, true);
    std::vector<SentData> data = sent_data(h);
    ASSERT_EQ(data.size(), 29u);
    uint32_t expect = 0;
    for (const SentData &d : data) {
        EXPECT_EQ(d.offset, expect);
        EXPECT_EQ(d.incoming, 40'000u);
        expect = d.end;
    }
    EXPECT_EQ(data.back(), (SentData{28 * 1424, 40'000, 40'000}));
    for (uint64_t t = 100'000; t < 200'000; t += 1000) h.engine.poll(t);
    EXPECT_TRUE(sent_data(h).empty());  // the last byte waits for its grant
    h.deliver(h.grant(40'001));
    for (uint64_t t = 100'000; t < 110'000; t += 1000) h.engine.poll(t);
    EXPECT_EQ(sent_data(h), (std::vector<SentData>{{40'000, 40'001, 40'001}}));
}

// Scheduled packets start at the limit, not at multiples of the packet size, and a RESEND gets
// the same packets again: a receiver takes a packet that partly overlaps one it has as a
// duplicate, so a resend cut differently would never fill the gap.
TEST(Recovery, HandleResend_PastTheUnscheduledLimitResendsTheSamePackets) {
    HandcraftedPeer h;
    h.deliver(h.grant(45'000));
    for (uint64_t t = 100'000; t < 110'000; t += 1000) h.engine.poll(t);
    const std::vector<SentData> scheduled = {{40'000, 41'424, 45'000},
                                             {41'424, 42'848, 45'000},
                                             {42'848, 44'272, 45'000},
                                             {44'272, 45'696, 45'696}};
    EXPECT_EQ(sent_data(h), scheduled);
    h.deliver(h.resend(h.id, 41'000, 2'000));  // inside the first three packets
    std::vector<SentData> resent = sent_data(h);
    ASSERT_EQ(resent.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(resent[i].offset, scheduled[i].offset);
        EXPECT_EQ(resent[i].end, scheduled[i].end);
    }
    h.deliver(h.resend(h.id, 39'900, 100));  // the packet cut short at the limit
    resent = sent_data(h);
    ASSERT_EQ(resent.size(), 1u);
    EXPECT_EQ(resent[0].offset, 28u * 1424);
    EXPECT_EQ(resent[0].end, 40'000u);
    // A new limit applies to new messages only: this one is still cut where it was.
    EngineConfig c = h.engine.config();
    c.unsched_bytes = 10'000;
    ASSERT_EQ(h.engine.reconfigure(c, nullptr), 0);
    h.deliver(h.resend(h.id, 41'000, 2'000));
    resent = sent_data(h);
    ASSERT_EQ(resent.size(), 3u);
    EXPECT_EQ(resent[0].offset, 40'000u);
    EXPECT_EQ(resent[2].end, 44'272u);
}

// The MTU too: a message in flight keeps its packet size, sent or resent.
TEST(Recovery, HandleResend_AfterAnMtuChangeResendsTheSamePackets) {
    HandcraftedPeer h;
    EngineConfig c = h.engine.config();
    c.mtu = 1000;
    ASSERT_EQ(h.engine.reconfigure(c, nullptr), 0);
    h.deliver(h.resend(h.id, 1'500, 100));
    std::vector<SentData> resent = sent_data(h);
    ASSERT_EQ(resent.size(), 1u);
    EXPECT_EQ(resent[0].offset, 1'424u);
    EXPECT_EQ(resent[0].end, 2'848u);
    h.deliver(h.grant(42'000));
    for (uint64_t t = 100'000; t < 110'000; t += 1000) h.engine.poll(t);
    const std::vector<SentData> scheduled = sent_data(h);
    ASSERT_EQ(scheduled.size(), 2u);
    EXPECT_EQ(scheduled[1].offset, 41'424u);
    EXPECT_EQ(scheduled[1].end, 42'848u);
}

TEST(Recovery, HandleResend_UnsentRangeImpliesGrantAndAnswersBusy) {
    HandcraftedPeer h;
    h.deliver(h.resend(h.id, 100'000, 10'000));  // beyond the 40,000 unscheduled bytes
    EXPECT_EQ(h.sent(), std::vector<PacketType>{PacketType::kBusy});
    EXPECT_EQ(h.engine.stats().retransmitted_packets, 0u);
    h.engine.clear_tx();
    // The range counts as granted (a GRANT to 110,000 was lost): the data now flows.
    for (uint64_t t = 100'000; t < 300'000; t += 1000) h.engine.poll(t);
    std::vector<const TxPacket *> data;
    h.sent(&data);
    ASSERT_FALSE(data.empty());
    auto *last = reinterpret_cast<const wire::DataHeader *>(data.back()->header);
    EXPECT_EQ(last->retransmit, 0);
    EXPECT_GE(last->seg_offset.get() + data.back()->payload_len(), 110'000u);
}

TEST(Recovery, HandleResend_UnknownRpcAnsweredRpcUnknown) {
    HandcraftedPeer h;
    h.deliver(h.resend(h.id + 1000, 0, 100));
    EXPECT_EQ(h.sent(), std::vector<PacketType>{PacketType::kRpcUnknown});
    EXPECT_EQ(h.engine.stats().rpc_unknown_sent, 1u);
}

TEST(Recovery, HandleRpcUnknown_ClientResendsItsRequestFromTheStart) {
    HandcraftedPeer h;
    wire::Bare unknown{.type = PacketType::kRpcUnknown,
                       .common = {.sport = kPort,
                                  .dport = h.engine.socket_port(h.sock),
                                  .sender_id = wire::local_id(h.id)}};
    h.deliver(unknown);
    std::vector<const TxPacket *> data;
    h.sent(&data);
    ASSERT_EQ(data.size(), 29u);  // the 40,000 unscheduled bytes it had sent
    EXPECT_EQ(reinterpret_cast<const wire::DataHeader *>(data[0]->header)->seg_offset.get(), 0u);
    EXPECT_EQ(h.engine.stats().client_rpcs_restarted, 1u);
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
    const std::vector<uint32_t> sizes = {1,     2,      100,    1423,   1424,   1425,   2800,
                                         2849,  15000,  39999,  40000,  40001,  65535,  65536,
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
    uint64_t flagged = 0;
    for (const auto &p : net.log()) flagged += p.retransmit;
    EXPECT_EQ(flagged, retransmitted);  // every retransmission, and only those, says so
    EXPECT_EQ(c1.engine.stats().client_rpcs_timed_out + c2.engine.stats().client_rpcs_timed_out,
              0u);
    std::printf(
        "[fault run] rpcs %lu completed %lu frames %lu dropped %lu duplicated %lu "
        "reordered %lu resends %lu retransmitted %lu busy %lu rpc_unknown %lu "
        "restarts %lu timeouts %lu simulated_ms %lu\n",
        total, matrix.completed() + many.completed(), fs.frames, fs.dropped, fs.duplicated,
        fs.reordered, resends, retransmitted, busy, unknown, restarts, timeouts,
        (net.now() - 1'000'000) / 1'000'000);
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

void PrintTo(const LossCase &c, std::ostream *os) { *os << c.name; }

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
        LossResult base = run_loss_case(
            LossCase{lc.name, lc.request_len, {}, lc.serve_after_ticks, lc.server_cutoff_version},
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
    // The client flushes its pending ack within a tick, before any NEED_ACK: lose that ACK
    // first, so that the server needs NEED_ACK, and lose the first NEED_ACK too.
    {"NeedAck", 100, {{PacketType::kAck, false, 1}, {PacketType::kNeedAck, true, 1}}},
    {"Ack", 100, {{PacketType::kAck, false, 1}}},
    {"Cutoffs", 1'000'000, {{PacketType::kCutoffs, true, 1}}, 0, 9},
};

INSTANTIATE_TEST_SUITE_P(Loss, LossOfOnePacket, ::testing::ValuesIn(kLossCases),
                         [](const auto &info) { return std::string(info.param.name); });

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

}  // namespace
}  // namespace homa
