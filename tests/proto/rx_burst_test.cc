// Engine::handle_burst against handle_packet one packet at a time: twin engines, built and
// driven alike, take the same mixed bursts (new requests, multi-packet messages, duplicates,
// unknown RPCs, no socket, control packets of every type, frames whose checksum fails the
// decode), one engine through handle_burst and the other packet by packet. After every burst
// both must have the same counters, queue the same packets in the same order and hand out the
// same messages in the same order: a burst path that skipped, repeated or reordered a packet
// shows in one of these. Both of handle_burst's paths are covered: few live RPCs (no hints),
// and more than 4,096 (every index slot, then each RPC four packets ahead, prefetched).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "homa/proto/decode.h"
#include "homa/proto/encode.h"
#include "homa/proto/engine.h"
#include "tests/fakes/fake_pool.h"

namespace homa {
namespace {

using test::FakePool;

constexpr uint32_t kLocalIp = 0x0A000001;
constexpr uint16_t kPort = 99;
constexpr uint64_t kNow = 1'000'000;

// One engine and its pool; `burst` says how received packets are handed over.
struct Side {
    Side(const EngineConfig &cfg, bool burst)
        : pool(64, 8192), engine(cfg, pool.ops()), burst(burst) {}
    FakePool pool;
    Engine engine;
    bool burst;

    void take(const std::vector<wire::PacketView> &views, uint64_t now) {
        if (burst) {
            engine.handle_burst(views, now);
        } else {
            for (const wire::PacketView &v : views) engine.handle_packet(v, now);
        }
    }
};

// What an engine showed the outside world after a burst: its queued packets (bytes that
// matter), completions and delivered messages, in order.
struct Output {
    std::vector<std::vector<uint8_t>> tx;
    std::vector<uint64_t> completions;
    std::vector<std::vector<uint8_t>> messages;  // id, length, error, then the bytes
};

Output drain(Side &s, uint64_t now, SocketId sock) {
    Output o;
    s.engine.poll(now);
    for (const TxPacket &p : s.engine.tx_packets()) {
        std::vector<uint8_t> b(p.dst_ip.bytes().begin(), p.dst_ip.bytes().end());
        b.push_back(p.priority);
        b.insert(b.end(), p.header, p.header + p.header_len);
        uint32_t len = p.payload_len();
        b.insert(b.end(), reinterpret_cast<uint8_t *>(&len), reinterpret_cast<uint8_t *>(&len) + 4);
        o.tx.push_back(std::move(b));
    }
    s.engine.clear_tx();
    for (const Completion &c : s.engine.completions()) o.completions.push_back(c.token);
    s.engine.clear_completions();
    Message m;
    while (s.engine.recv(sock, kRecvRequest | kRecvResponse, 0, &m) == 0) {
        std::vector<uint8_t> b(reinterpret_cast<uint8_t *>(&m.id),
                               reinterpret_cast<uint8_t *>(&m.id) + 8);
        b.push_back(static_cast<uint8_t>(m.length));
        b.push_back(static_cast<uint8_t>(m.error));
        if (m.length) {
            auto piece = message_piece(s.pool.base(), m, 0);
            b.insert(b.end(), piece.begin(), piece.end());
        }
        o.messages.push_back(std::move(b));
        s.pool.release(m.bpage_offsets, m.num_bpages);
    }
    return o;
}

// Frames from peers to the engine under test.
class Frames {
  public:
    std::vector<std::vector<uint8_t>> list;

    void data(uint32_t src, uint16_t sport, uint16_t dport, uint64_t sender_id, uint32_t msg_len,
              uint32_t offset, uint32_t len, uint64_t ack_id = 0) {
        wire::Data d;
        d.common = {sport, dport, sender_id};
        d.message_length = msg_len;
        d.incoming = msg_len;
        d.offset = offset;
        d.ack = {ack_id, ack_id ? kPort : uint16_t{0}};
        std::vector<uint8_t> payload(len);
        for (uint32_t i = 0; i < len; ++i)
            payload[i] = static_cast<uint8_t>(sender_id * 31 + offset + i);
        add([&](std::span<uint8_t> out) { return wire::encode(out, addr(src), d, payload); });
    }
    void grant(uint32_t src, uint16_t sport, uint16_t dport, uint64_t id, uint32_t offset) {
        wire::Grant g{{sport, dport, id}, offset, 1};
        add([&](std::span<uint8_t> out) { return wire::encode(out, addr(src), g); });
    }
    void resend(uint32_t src, uint16_t sport, uint16_t dport, uint64_t id) {
        wire::Resend r{{sport, dport, id}, 0, 100, 0};
        add([&](std::span<uint8_t> out) { return wire::encode(out, addr(src), r); });
    }
    void bare(uint32_t src, wire::PacketType t, uint16_t sport, uint16_t dport, uint64_t id) {
        wire::Bare b{t, {sport, dport, id}};
        add([&](std::span<uint8_t> out) { return wire::encode(out, addr(src), b); });
    }
    void acks(uint32_t src, uint16_t sport, uint16_t dport, uint64_t acked) {
        wire::Acks a;
        a.common = {sport, dport, 0};
        a.num_acks = 1;
        a.acks[0] = {acked, kPort};
        add([&](std::span<uint8_t> out) { return wire::encode(out, addr(src), a); });
    }
    void cutoffs(uint32_t src, uint16_t sport, uint16_t dport, uint64_t id) {
        wire::Cutoffs c;
        c.common = {sport, dport, id};
        c.unsched_cutoffs = {100000, 50000, 20000, 10000, 5000, 2000, 1000, 500};
        c.cutoff_version = 7;
        add([&](std::span<uint8_t> out) { return wire::encode(out, addr(src), c); });
    }
    /** The last frame, with its IPv4 checksum broken: the decoder must refuse it. */
    void break_last_checksum() { list.back()[14 + 10] ^= 0x5A; }

    /** Decodes every frame as the worker does; the refused ones are counted, not handed over. */
    std::vector<wire::PacketView> decode(uint32_t *refused) const {
        std::vector<wire::PacketView> views;
        for (const auto &f : list) {
            wire::PacketView v;
            if (wire::decode_frame(f, v) == wire::DecodeError::kOk) {
                views.push_back(v);
            } else {
                ++*refused;
            }
        }
        return views;
    }

  private:
    static wire::FrameAddr addr(uint32_t src) {
        wire::FrameAddr a;
        a.src_mac = {2, 0, 0, 0, 0, 2};
        a.dst_mac = {2, 0, 0, 0, 0, 1};
        a.src_ip = src;
        a.dst_ip = kLocalIp;
        return a;
    }
    template <typename Encode>
    void add(Encode &&encode) {
        std::vector<uint8_t> f(2048);
        size_t n = encode(f);
        ASSERT_GT(n, 0u);
        f.resize(n);
        list.push_back(std::move(f));
    }
};

void expect_same(Side &a, Side &b, SocketId sock, uint64_t now, int burst) {
    SCOPED_TRACE("after burst " + std::to_string(burst));
    EXPECT_EQ(std::memcmp(&a.engine.stats(), &b.engine.stats(), sizeof(EngineStats)), 0)
        << "the counters differ";
    EXPECT_EQ(a.engine.live_rpcs(), b.engine.live_rpcs());
    Output oa = drain(a, now, sock), ob = drain(b, now, sock);
    EXPECT_EQ(oa.tx, ob.tx) << "queued packets differ (or their order)";
    EXPECT_EQ(oa.completions, ob.completions);
    EXPECT_EQ(oa.messages, ob.messages) << "delivered messages differ (or their order)";
    EXPECT_EQ(a.pool.in_use(), b.pool.in_use());
}

EngineConfig config(uint32_t max_rpcs) {
    EngineConfig c;
    c.local_ip = kLocalIp;
    c.max_rpcs = max_rpcs;
    c.tx_queue_packets = 1u << 16;
    return c;
}

// A server with a few live RPCs: handle_burst's unhinted path.
TEST(RxBurst, ServerBurstsOfEveryKindMatchPacketByPacket) {
    Side per(config(1024), false), burst(config(1024), true);
    SocketId sock = 0;
    for (Side *s : {&per, &burst}) ASSERT_EQ(s->engine.open_socket(kPort, &sock), 0);
    std::mt19937 rng(15);
    uint64_t delivered = 0, dropped = 0;
    for (int round = 0; round < 20; ++round) {
        Frames f;
        for (int k = 0; k < 24; ++k) {
            const uint32_t src = 0x0A000100 + rng() % 4;
            const uint16_t cport = static_cast<uint16_t>(0x8000 + rng() % 3);
            const uint64_t id = 2 * (1 + rng() % 40);  // client ids repeat: duplicates
            switch (rng() % 12) {
                case 0: f.data(src, cport, kPort, id, 120, 0, 120); break;
                case 1:  // a two-packet request, its first packet twice
                    f.data(src, cport, kPort, id, 2000, 0, 1000);
                    f.data(src, cport, kPort, id, 2000, 0, 1000);
                    f.data(src, cport, kPort, id, 2000, 1000, 1000);
                    break;
                case 2: f.data(src, cport, 77, id, 50, 0, 50); break;         // no socket
                case 3: f.data(src, kPort, cport, id + 1, 50, 0, 50); break;  // unknown response
                case 4: f.data(src, cport, kPort, id, 80, 0, 80, id + 200); break;  // with an ack
                case 5:
                    f.data(src, cport, kPort, id, 60, 0, 60);
                    f.break_last_checksum();
                    break;
                case 6: f.grant(src, cport, kPort, id, 500); break;
                case 7: f.resend(src, cport, kPort, id); break;
                case 8: f.bare(src, wire::PacketType::kNeedAck, kPort, cport, id + 1); break;
                case 9: f.bare(src, wire::PacketType::kBusy, cport, kPort, id); break;
                case 10: f.acks(src, cport, kPort, id); break;
                case 11: f.cutoffs(src, kPort, cport, id + 1); break;
            }
        }
        uint32_t refused = 0;
        std::vector<wire::PacketView> views = f.decode(&refused);
        dropped += refused;
        const uint64_t now = kNow + round * 10'000;
        per.take(views, now);
        burst.take(views, now);
        expect_same(per, burst, sock, now, round);
        delivered = burst.engine.stats().messages_delivered;
    }
    // The mix did reach every outcome it was built for.
    const EngineStats &st = burst.engine.stats();
    EXPECT_GT(delivered, 0u);
    EXPECT_GT(dropped, 0u);
    EXPECT_GT(st.duplicate_data_bytes, 0u);
    EXPECT_GT(st.drops[static_cast<size_t>(EngineDrop::kNoSocket)], 0u);
    EXPECT_GT(st.drops[static_cast<size_t>(EngineDrop::kUnknownRpc)], 0u);
    for (auto t : {wire::PacketType::kGrant, wire::PacketType::kResend, wire::PacketType::kNeedAck,
                   wire::PacketType::kBusy, wire::PacketType::kAck, wire::PacketType::kCutoffs}) {
        EXPECT_GT(st.packets_rx[static_cast<size_t>(t)], 0u) << static_cast<int>(t);
    }
}

// A client with more than 4,096 live RPCs: handle_burst's hinted path. Responses arrive in a
// shuffled order, two packets each, with duplicates, unknown ids, grants and broken frames in
// between; the order in which responses complete is the order recv hands them out.
TEST(RxBurst, ClientWithThousandsOfLiveRpcsMatchesPacketByPacket) {
    constexpr uint32_t kRpcs = 5000;
    constexpr uint32_t kServer = 0x0A000009;
    Side per(config(8192), false), burst(config(8192), true);
    SocketId sock = 0;
    std::vector<uint64_t> ids;
    static const uint8_t request[100] = {};
    for (Side *s : {&per, &burst}) {
        ASSERT_EQ(s->engine.open_socket(0, &sock), 0);
        ids.clear();
        for (uint32_t i = 0; i < kRpcs; ++i) {
            uint64_t id;
            ASSERT_EQ(s->engine.send_request(sock, {kServer, kPort},
                                             OutMessage::contiguous(request, sizeof request, i), i,
                                             kNow, &id),
                      0);
            ids.push_back(id);
            if (i % 1024 == 1023) drain(*s, kNow, sock);
        }
        drain(*s, kNow, sock);
        ASSERT_GE(s->engine.live_rpcs(), 4096u) << "the hinted path is not reached";
    }
    const uint16_t cport = per.engine.socket_port(sock);
    ASSERT_EQ(cport, burst.engine.socket_port(sock));
    // Every response's two packets, shuffled, with the second of each sometimes first.
    std::mt19937 rng(12);
    std::vector<std::pair<uint64_t, uint32_t>> packets;
    for (uint64_t id : ids) {
        packets.push_back({id, 0});
        packets.push_back({id, 1});
    }
    std::shuffle(packets.begin(), packets.end(), rng);
    uint64_t refused_total = 0;
    for (size_t at = 0, round = 0; at < packets.size(); ++round) {
        Frames f;
        for (int k = 0; k < 32 && at < packets.size(); ++k, ++at) {
            auto [id, part] = packets[at];
            f.data(kServer, kPort, cport, id | 1, 200, part * 100, 100, rng() % 4 ? 0 : id + 1);
            switch (rng() % 8) {
                case 0: f.data(kServer, kPort, cport, id | 1, 200, part * 100, 100); break;
                case 1:
                    f.data(kServer, kPort, cport, (id + 2 * kRpcs + 2 * k) | 1, 200, 0, 100);
                    break;
                case 2: f.grant(kServer, kPort, cport, id | 1, 100); break;
                case 3:
                    f.data(kServer, kPort, cport, id | 1, 200, 0, 100);
                    f.break_last_checksum();
                    break;
                default: break;
            }
        }
        uint32_t refused = 0;
        std::vector<wire::PacketView> views = f.decode(&refused);
        refused_total += refused;
        const uint64_t now = kNow + round * 1000;
        per.take(views, now);
        burst.take(views, now);
        expect_same(per, burst, sock, now, static_cast<int>(round));
        if (HasFailure()) return;
    }
    const EngineStats &st = burst.engine.stats();
    EXPECT_EQ(st.client_rpcs_completed, kRpcs);
    EXPECT_GT(refused_total, 0u);
    EXPECT_GT(st.duplicate_data_bytes, 0u);
    EXPECT_GT(st.drops[static_cast<size_t>(EngineDrop::kUnknownRpc)], 0u);
}

}  // namespace
}  // namespace homa
