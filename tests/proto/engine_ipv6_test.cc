// The engine keyed by 128-bit addresses (issue 17): the IpAddress type and its IPv4-mapped form,
// PacketView's canonical source address, and engines exchanging real frames (encoded with
// FrameAddr or FrameAddr6 by the destination's family, decoded by decode_frame) over IPv6 and
// over both families at once.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <vector>

#include "homa/proto/decode.h"
#include "homa/proto/encode.h"
#include "homa/proto/engine.h"
#include "tests/fakes/fake_pool.h"

namespace homa {
namespace {

using test::FakePool;

IpAddress v6(uint8_t last) {
    wire::Ipv6Addr b{0xfd, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last};
    return IpAddress::ipv6(b);
}

TEST(IpAddress, Ipv4IsHeldIpv4Mapped) {
    IpAddress a = 0x0A000001;
    const wire::Ipv6Addr mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1};
    EXPECT_EQ(a.bytes(), mapped);
    EXPECT_TRUE(a.is_ipv4());
    EXPECT_EQ(a.ipv4(), 0x0A000001u);
    EXPECT_EQ(IpAddress::ipv6(mapped), a);
    EXPECT_FALSE(IpAddress().is_ipv4());
    EXPECT_TRUE(IpAddress().is_unspecified());
    EXPECT_FALSE(IpAddress(0u).is_unspecified());  // 0.0.0.0 is ::ffff:0.0.0.0, not ::
    IpAddress b = v6(1);
    EXPECT_FALSE(b.is_ipv4());
    EXPECT_EQ(b.ipv4(), 0u);
    EXPECT_EQ(b.low_word(), 1u);
    // Almost mapped: ::fffe:a.b.c.d and ::1:ffff:a.b.c.d are IPv6.
    wire::Ipv6Addr near = mapped;
    near[11] = 0xfe;
    EXPECT_FALSE(IpAddress::ipv6(near).is_ipv4());
    near = mapped;
    near[7] = 1;
    EXPECT_FALSE(IpAddress::ipv6(near).is_ipv4());
    EXPECT_NE(v6(1), v6(2));
    for (size_t i = 0; i < 16; ++i) {  // == compares words: a difference in any byte counts
        wire::Ipv6Addr other = mapped;
        other[i] ^= 0x40;
        EXPECT_NE(IpAddress::ipv6(other), a) << "byte " << i;
    }
    const uint8_t header_bytes[4] = {10, 0, 0, 1};  // as an IPv4 header holds 10.0.0.1
    EXPECT_EQ(IpAddress::ipv4_network(header_bytes), a);
    EXPECT_NE(v6(1).hash_bits(), v6(2).hash_bits());
    EXPECT_NE(IpAddress(0x0A000001).hash_bits(), IpAddress(0x0A000002).hash_bits());
}

TEST(IpAddress, PacketViewGivesTheCanonicalSource) {
    std::vector<uint8_t> f(256);
    wire::Bare busy{.type = wire::PacketType::kBusy,
                    .common = {.sport = 0x8000, .dport = 99, .sender_id = 2}};
    wire::FrameAddr a4;
    a4.src_ip = 0x0A000002;
    a4.dst_ip = 0x0A000001;
    size_t n = wire::encode(f, a4, busy);
    wire::PacketView v;
    ASSERT_EQ(wire::decode_frame({f.data(), n}, v), wire::DecodeError::kOk);
    EXPECT_EQ(v.src_addr(), IpAddress(0x0A000002));
    EXPECT_EQ(v.dst_addr(), IpAddress(0x0A000001));
    wire::FrameAddr6 a6;
    a6.src_ip = v6(2).bytes();
    a6.dst_ip = v6(1).bytes();
    n = wire::encode(f, a6, busy);
    ASSERT_EQ(wire::decode_frame({f.data(), n}, v), wire::DecodeError::kOk);
    EXPECT_EQ(v.src_addr(), v6(2));
    EXPECT_EQ(v.dst_addr(), v6(1));
}

// Hosts with one or two addresses; every TxPacket becomes a frame of its destination's
// family, sent from the host's address of that family, and is decoded on arrival.
struct Host {
    Host(const EngineConfig &cfg, IpAddress a4, IpAddress a6)
        : pool(256), engine(cfg, pool.ops()), ipv4(a4), ipv6(a6) {}
    FakePool pool;
    Engine engine;
    IpAddress ipv4;  ///< :: when the host has none
    IpAddress ipv6;
};

class Net {
  public:
    Host &add(IpAddress a4, IpAddress a6) {
        EngineConfig cfg;
        cfg.local_ip = a4.ipv4();
        hosts_.push_back(std::make_unique<Host>(cfg, a4, a6));
        EXPECT_TRUE(hosts_.back()->engine.ok()) << hosts_.back()->engine.error();
        return *hosts_.back();
    }

    /** One round: every host polls, every frame is delivered. */
    void step() {
        now_ += 2000;
        for (auto &h : hosts_) {
            h->engine.poll(now_);
            for (const TxPacket &p : h->engine.tx_packets()) send(*h, p);
            h->engine.clear_tx();
            h->engine.clear_completions();
        }
    }

    uint64_t now() const { return now_; }
    uint64_t frames_v4 = 0, frames_v6 = 0;
    uint32_t largest_ip_datagram = 0;  ///< Bytes from the IP header on, of any frame.
    uint32_t largest_data_payload_v6 = 0;

  private:
    void send(Host &from, const TxPacket &p) {
        std::vector<uint8_t> f(128 + p.header_len + p.payload_len());
        size_t n;
        size_t homa = p.header_len + p.payload_len();
        if (p.dst_ip.is_ipv4()) {
            wire::FrameAddr a;
            a.src_ip = from.ipv4.ipv4();
            a.dst_ip = p.dst_ip.ipv4();
            a.priority = p.priority;
            n = wire::encode_l2l3(f, a, homa);
            ++frames_v4;
        } else {
            wire::FrameAddr6 a;
            a.src_ip = from.ipv6.bytes();
            a.dst_ip = p.dst_ip.bytes();
            a.priority = p.priority;
            n = wire::encode_l2l3(f, a, homa);
            ++frames_v6;
            largest_data_payload_v6 = std::max(largest_data_payload_v6, p.payload_len());
        }
        ASSERT_GT(n, 0u);
        largest_ip_datagram = std::max<uint32_t>(largest_ip_datagram, uint32_t(n - 14 + homa));
        std::copy_n(p.header, p.header_len, f.begin() + long(n));
        n += p.header_len;
        for (uint8_t i = 0; i < p.num_payload; ++i) {
            std::copy_n(p.payload[i].data, p.payload[i].length, f.begin() + long(n));
            n += p.payload[i].length;
        }
        wire::PacketView v;
        ASSERT_EQ(wire::decode_frame({f.data(), n}, v), wire::DecodeError::kOk);
        for (auto &h : hosts_) {
            if (v.dst_addr() == h->ipv4 || v.dst_addr() == h->ipv6)
                h->engine.handle_packet(v, now_);
        }
    }

    std::vector<std::unique_ptr<Host>> hosts_;
    uint64_t now_ = 0;
};

std::vector<uint8_t> pattern(uint32_t len, uint8_t seed) {
    std::vector<uint8_t> b(len);
    for (uint32_t i = 0; i < len; ++i) b[i] = uint8_t(seed + i * 7 + (i >> 8));
    return b;
}

std::vector<uint8_t> bytes_of(Host &h, const Message &m) {
    std::vector<uint8_t> b(m.length);
    EXPECT_EQ(message_copy(h.pool.base(), m, b, 0), m.length);
    return b;
}

// Serves every request on `sock` with its own bytes; returns how many it served.
int echo(Host &h, SocketId sock, std::vector<std::vector<uint8_t>> &keep, uint64_t now) {
    int served = 0;
    Message m;
    while (h.engine.recv(sock, kRecvRequest, 0, &m) == 0) {
        keep.push_back(bytes_of(h, m));
        h.pool.release(m.bpage_offsets, m.num_bpages);
        EXPECT_EQ(
            h.engine.send_reply(
                sock, m.peer, m.id,
                OutMessage::contiguous(keep.back().data(), uint32_t(keep.back().size())), now),
            0);
        ++served;
    }
    return served;
}

TEST(EngineIpv6, TwoEnginesEchoOverIpv6) {
    Net net;
    Host &srv = net.add(IpAddress(), v6(1));
    Host &cli = net.add(IpAddress(), v6(2));
    SocketId ss, cs;
    ASSERT_EQ(srv.engine.open_socket(99, &ss), 0);
    ASSERT_EQ(cli.engine.open_socket(0, &cs), 0);
    std::vector<std::vector<uint8_t>> keep;
    for (uint32_t len : {100u, 200000u}) {
        auto req = pattern(len, uint8_t(len));
        uint64_t id = 0;
        ASSERT_EQ(cli.engine.send_request(cs, {v6(1), 99}, OutMessage::contiguous(req.data(), len),
                                          5, net.now(), &id),
                  0);
        Message m;
        int got = -EAGAIN;
        for (int i = 0; i < 2000 && got != 0; ++i) {
            net.step();
            echo(srv, ss, keep, net.now());
            got = cli.engine.recv(cs, kRecvResponse, id, &m);
        }
        ASSERT_EQ(got, 0) << len;
        EXPECT_EQ(m.error, 0);
        EXPECT_EQ(m.peer.ip, v6(1));
        EXPECT_EQ(bytes_of(cli, m), req) << len;
        cli.pool.release(m.bpage_offsets, m.num_bpages);
    }
    EXPECT_EQ(net.frames_v4, 0u);
    const uint32_t full = wire::max_data_payload6(1500);
    EXPECT_GE(net.frames_v6, 2 * ((200000 + full - 1) / full));  // 200 KB both ways
    // Full DATA packets to an IPv6 peer fill the MTU with the 40-byte header, no more.
    EXPECT_EQ(net.largest_data_payload_v6, wire::max_data_payload6(1500));
    EXPECT_EQ(net.largest_ip_datagram, 1500u);
    std::vector<Engine::PeerInfo> peers(4);
    ASSERT_EQ(srv.engine.snapshot_peers(peers), 1u);
    EXPECT_EQ(peers[0].ip, v6(2));
}

TEST(EngineIpv6, OneHostServesAnIpv4AndAnIpv6PeerAtOnce) {
    Net net;
    Host &srv = net.add(IpAddress(0x0A000001), v6(1));
    Host &c4 = net.add(IpAddress(0x0A000002), IpAddress());
    Host &c6 = net.add(IpAddress(), v6(2));
    SocketId ss, s4, s6;
    ASSERT_EQ(srv.engine.open_socket(99, &ss), 0);
    ASSERT_EQ(c4.engine.open_socket(0, &s4), 0);
    ASSERT_EQ(c6.engine.open_socket(0, &s6), 0);
    // Both clients' engines number their RPCs alike: the server holds two RPCs with the same
    // id at once, told apart only by their peers.
    std::vector<uint8_t> r4 = pattern(30000, 4), r6 = pattern(30000, 6);
    uint64_t id4 = 0, id6 = 0;
    ASSERT_EQ(
        c4.engine.send_request(s4, {0x0A000001, 99},
                               OutMessage::contiguous(r4.data(), uint32_t(r4.size())), 1, 0, &id4),
        0);
    ASSERT_EQ(
        c6.engine.send_request(s6, {v6(1), 99},
                               OutMessage::contiguous(r6.data(), uint32_t(r6.size())), 1, 0, &id6),
        0);
    ASSERT_EQ(id4, id6);
    std::vector<std::vector<uint8_t>> keep;
    Message m4, m6;
    int got4 = -EAGAIN, got6 = -EAGAIN;
    uint32_t most_live = 0;
    for (int i = 0; i < 2000 && (got4 != 0 || got6 != 0); ++i) {
        net.step();
        most_live = std::max(most_live, srv.engine.live_rpcs());
        echo(srv, ss, keep, net.now());
        if (got4 != 0) got4 = c4.engine.recv(s4, kRecvResponse, id4, &m4);
        if (got6 != 0) got6 = c6.engine.recv(s6, kRecvResponse, id6, &m6);
    }
    ASSERT_EQ(got4, 0);
    ASSERT_EQ(got6, 0);
    EXPECT_EQ(most_live, 2u);
    EXPECT_EQ(bytes_of(c4, m4), r4);
    EXPECT_EQ(bytes_of(c6, m6), r6);
    EXPECT_EQ(m4.peer.ip, IpAddress(0x0A000001));
    EXPECT_EQ(m6.peer.ip, v6(1));
    EXPECT_GT(net.frames_v4, 20u);
    EXPECT_GT(net.frames_v6, 20u);
    EXPECT_EQ(srv.engine.live_peers(), 2u);
    EXPECT_EQ(srv.engine.stats().drops[size_t(EngineDrop::kUnknownRpc)], 0u);
}

TEST(EngineIpv6, ConfigRejectsAnMtuWithoutRoomForIpv6Data) {
    EngineConfig cfg;
    cfg.mtu = 96;  // room for IPv4 + DATA (76 bytes) but not IPv6 + DATA (96)
    std::string why;
    EXPECT_FALSE(cfg.validate(&why));
    EXPECT_EQ(why, "mtu too small for a DATA header");
    cfg.mtu = 97;
    EXPECT_TRUE(cfg.validate(&why)) << why;
}

}  // namespace
}  // namespace homa
