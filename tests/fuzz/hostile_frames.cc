// See hostile_frames.h.
#include "hostile_frames.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <span>

namespace homa::test {
namespace {

using wire::Ack;
using wire::Acks;
using wire::Bare;
using wire::Common;
using wire::Cutoffs;
using wire::Data;
using wire::FrameAddr;
using wire::Grant;
using wire::PacketType;
using wire::Resend;

constexpr size_t kL2 = sizeof(wire::EthernetHeader);         // untagged frames
constexpr size_t kHoma = kL2 + sizeof(wire::Ipv4Header);     // where the Homa header starts
constexpr uint32_t kPayload = wire::max_data_payload(1500);  // a full 1500-MTU packet
constexpr uint32_t kFloodMessage = 500'000;
constexpr uint32_t kUnschedBytes = 40'000;  // what a client of the default config claims

// Every corpus frame comes from an encoder; one that refuses is a bug in this generator.
Frame checked(std::span<const uint8_t> buf, size_t n, const char *what) {
    if (n == 0) {
        std::fprintf(stderr, "make_hostile_pcap: the encoder refused %s\n", what);
        std::exit(1);
    }
    return Frame(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
}

template <class Packet>
Frame frame_of(const FrameAddr &a, const Packet &p) {
    std::array<uint8_t, 256> buf{};
    return checked(buf, wire::encode(buf, a, p), "a control packet");
}

// Designated initialisers would have to spell out every field (-Wmissing-field-initializers).
Data data_header(Common c, uint32_t length, uint32_t incoming, uint32_t offset) {
    Data d;
    d.common = c;
    d.message_length = length;
    d.incoming = incoming;
    d.offset = offset;
    return d;
}

// DATA through the header-only encoder, which (unlike encode()) writes any offset and length:
// the way to put impossible ranges on the wire.
Frame raw_data(const FrameAddr &a, const Data &d, uint32_t payload_len) {
    std::vector<uint8_t> buf(wire::l2l3_size(a) + sizeof(wire::DataHeader) + payload_len, 0x5A);
    size_t l2l3 = wire::encode_l2l3(buf, a, sizeof(wire::DataHeader) + payload_len);
    size_t n = l2l3 ? wire::encode_header(std::span(buf).subspan(l2l3), d) : 0;
    return checked(buf, n ? buf.size() : 0, "a raw DATA frame");
}

Frame request_data(const FrameAddr &a, Common c, uint32_t length, uint32_t offset,
                   uint32_t payload_len) {
    return raw_data(a, data_header(c, length, std::min(length, kUnschedBytes), offset),
                    payload_len);
}

void fix_ipv4_checksum(Frame &f) {
    if (f.size() < kHoma) return;
    f[kL2 + 10] = f[kL2 + 11] = 0;
    uint16_t sum = wire::internet_checksum(std::span(f).subspan(kL2, sizeof(wire::Ipv4Header)));
    f[kL2 + 10] = static_cast<uint8_t>(sum >> 8);
    f[kL2 + 11] = static_cast<uint8_t>(sum);
}

// Overwrites one byte of the IPv4 header and keeps its checksum valid, so the decoder judges
// the field, not the checksum.
Frame with_ip_byte(Frame f, size_t ip_offset, uint8_t value) {
    f[kL2 + ip_offset] = value;
    fix_ipv4_checksum(f);
    return f;
}

Frame with_homa_byte(Frame f, size_t homa_offset, uint8_t value) {
    f[kHoma + homa_offset] = value;
    return f;
}

}  // namespace

void fix_ipv4_header(Frame &f) {
    if (f.size() < kHoma) return;
    size_t ip_len = f.size() - kL2;
    f[kL2 + 2] = static_cast<uint8_t>(ip_len >> 8);
    f[kL2 + 3] = static_cast<uint8_t>(ip_len);
    fix_ipv4_checksum(f);
}

std::vector<Frame> legitimate_request(const FrameAddr &addr, uint16_t client_port,
                                      uint16_t server_port, uint64_t id, uint32_t length,
                                      uint32_t max_payload) {
    std::vector<Frame> out;
    std::vector<uint8_t> payload(max_payload);
    std::vector<uint8_t> buf(wire::l2l3_size(addr) + sizeof(wire::DataHeader) + max_payload);
    for (uint32_t off = 0; off < length; off += max_payload) {
        uint32_t n = std::min(max_payload, length - off);
        for (uint32_t i = 0; i < n; ++i) payload[i] = static_cast<uint8_t>(id * 31 + off + i);
        Data d = data_header({client_port, server_port, id}, length, length, off);
        out.push_back(checked(buf, wire::encode(buf, addr, d, std::span(payload).first(n)),
                              "a legitimate request"));
    }
    return out;
}

FrameAddr HostileFrames::from_attacker(uint32_t src_ip) const {
    return FrameAddr{.src_mac = t_.attacker_mac,
                     .dst_mac = t_.server_mac,
                     .src_ip = src_ip ? src_ip : t_.attacker_ip,
                     .dst_ip = t_.server_ip,
                     .priority = 0,
                     .vlan_id = 0,
                     .ip_id = 0};
}

std::vector<Frame> HostileFrames::one_of_each_type() {
    FrameAddr a = from_attacker();
    uint16_t sport = client_port();
    std::vector<Frame> out;
    out.push_back(request_data(a, common(sport, t_.server_port), 1000, 0, 1000));
    out.push_back(frame_of(
        a, Grant{.common = common(sport, t_.server_port), .offset = 20000, .priority = 3}));
    out.push_back(frame_of(a, Resend{.common = common(sport, t_.server_port),
                                     .offset = 0,
                                     .length = wire::kResendAll,
                                     .priority = 7}));
    for (PacketType t :
         {PacketType::kRpcUnknown, PacketType::kBusy, PacketType::kFreeze, PacketType::kNeedAck}) {
        out.push_back(frame_of(a, Bare{.type = t, .common = common(sport, t_.server_port)}));
    }
    out.push_back(frame_of(a, Cutoffs{.common = common(sport, t_.server_port),
                                      .unsched_cutoffs = wire::kDefaultUnschedCutoffs,
                                      .cutoff_version = 3}));
    Acks ak{.common = common(sport, t_.server_port), .num_acks = wire::kMaxAcks, .acks = {}};
    for (Ack &e : ak.acks) e = {random_id() & ~uint64_t{1}, t_.server_port};
    out.push_back(frame_of(a, ak));
    return out;
}

std::vector<Frame> HostileFrames::truncated() {
    std::vector<Frame> out;
    for (const Frame &f : one_of_each_type()) {
        for (size_t len : {size_t{1}, size_t{6}, size_t{13}, kL2, kL2 + 9, kHoma - 1, kHoma,
                           kHoma + 11, kHoma + 27, kHoma + 28, f.size() - 1}) {
            if (len < f.size()) out.emplace_back(f.begin(), f.begin() + static_cast<long>(len));
        }
        for (size_t homa_len : {size_t{0}, size_t{1}, size_t{12}, size_t{27}, size_t{28},
                                size_t{29}, size_t{55}, size_t{56}, f.size() - kHoma - 1}) {
            if (kHoma + homa_len >= f.size()) continue;
            Frame g(f.begin(), f.begin() + static_cast<long>(kHoma + homa_len));
            fix_ipv4_header(g);
            out.push_back(std::move(g));
        }
    }
    return out;
}

std::vector<Frame> HostileFrames::impossible() {
    FrameAddr a = from_attacker();
    std::vector<Frame> out;
    auto data = [&](uint32_t length, uint32_t incoming, uint32_t offset, uint32_t payload) {
        out.push_back(raw_data(
            a, data_header(common(client_port(), t_.server_port), length, incoming, offset),
            payload));
    };
    data(5000, 5000, 5000, 100);           // starts at the end of its message
    data(5000, 5000, 4950, 100);           // runs past it
    data(5000, 5000, 0xFFFFFF00u, 100);    // offset near 2^32 (wraps when added)
    data(1000, 500'000, 0, 1000);          // incoming > message_length
    data(2000, 0xFFFFFFFFu, 0, kPayload);  // incoming = 2^32 - 1
    data(0, 0, 0, 10);                     // an empty message with bytes in it
    data(wire::kMaxMessageLength + 1, kUnschedBytes, 0, kPayload);
    data(0xFFFFFFFFu, kUnschedBytes, 0, kPayload);
    data(kFloodMessage, kUnschedBytes, 250'000, kPayload);  // a middle piece of nothing
    // One id, two different lengths.
    Common c = common(client_port(), t_.server_port);
    out.push_back(request_data(a, c, kFloodMessage, 0, kPayload));
    out.push_back(request_data(a, c, kFloodMessage + 100'000, kPayload, kPayload));
    // Frames bigger than a 2 KB mbuf: a jumbo DATA packet and the largest IPv4 packet.
    data(8000, 8000, 0, 8000);
    data(70'000, kUnschedBytes, 0, 0xFFFF - 20 - 56);
    // Control fields out of range: the encoders refuse them, so patch valid frames.
    Frame grant = frame_of(
        a, Grant{.common = common(client_port(), t_.server_port), .offset = 10000, .priority = 0});
    out.push_back(with_homa_byte(grant, 32, 8));
    out.push_back(with_homa_byte(grant, 32, 0xFF));
    Frame resend = frame_of(a, Resend{.common = common(client_port(), t_.server_port),
                                      .offset = 0xFFFFFFF0u,
                                      .length = wire::kResendAll,
                                      .priority = 0});
    out.push_back(resend);
    out.push_back(with_homa_byte(resend, 36, 9));
    out.push_back(frame_of(a, Resend{.common = common(client_port(), t_.server_port),
                                     .offset = 100,
                                     .length = 0,
                                     .priority = 1}));
    Acks ak{.common = common(client_port(), t_.server_port), .num_acks = 0, .acks = {}};
    Frame acks = frame_of(a, ak);
    out.push_back(acks);  // zero acks: valid, useless
    out.push_back(with_homa_byte(acks, 29, wire::kMaxAcks + 1));
    out.push_back(with_homa_byte(with_homa_byte(acks, 28, 0xFF), 29, 0xFF));
    Frame ok_data = request_data(a, common(client_port(), t_.server_port), 1000, 0, 1000);
    out.push_back(with_homa_byte(ok_data, 12, wire::kControlDoff));  // doff of the wrong type
    out.push_back(with_homa_byte(grant, 12, wire::kDataDoff));
    out.push_back(with_homa_byte(grant, 12, 0));
    for (uint8_t type : {uint8_t{0x00}, uint8_t{0x0F}, uint8_t{0x19}, uint8_t{0xFF}}) {
        out.push_back(with_homa_byte(grant, 11, type));
    }
    // IPv4 fields: protocol UDP and the legacy 253, version 6, IHL 4 and 15, a fragment, a
    // bad checksum, a total length shorter than the header, and other destinations.
    out.push_back(with_ip_byte(ok_data, 9, 17));
    out.push_back(with_ip_byte(ok_data, 9, 253));
    out.push_back(with_ip_byte(ok_data, 9, 1));  // "ICMP" that is a Homa header
    out.push_back(with_ip_byte(ok_data, 0, 0x65));
    out.push_back(with_ip_byte(ok_data, 0, 0x44));
    out.push_back(with_ip_byte(ok_data, 0, 0x4F));
    out.push_back(with_ip_byte(ok_data, 6, 0x20));  // more fragments
    out.push_back(with_ip_byte(ok_data, 7, 0x10));  // fragment offset 16
    Frame bad_sum = ok_data;
    bad_sum[kL2 + 10] ^= 0xFF;
    out.push_back(bad_sum);
    out.push_back(with_ip_byte(with_ip_byte(ok_data, 2, 0), 3, 12));
    out.push_back(with_ip_byte(ok_data, 19, 99));  // 10.0.0.99 (if the server is 10.0.0.x)
    out.push_back(with_ip_byte(
        with_ip_byte(with_ip_byte(with_ip_byte(ok_data, 16, 255), 17, 255), 18, 255), 19, 255));
    // Layer 2: another VLAN, IPv6, an ARP ethertype over garbage.
    FrameAddr tagged = a;
    tagged.vlan_id = 42;
    out.push_back(frame_of(
        tagged, Bare{.type = PacketType::kBusy, .common = common(client_port(), t_.server_port)}));
    Frame v6 = ok_data;
    v6[12] = 0x86, v6[13] = 0xDD;
    out.push_back(v6);
    Frame arp = ok_data;
    arp[12] = 0x08, arp[13] = 0x06;
    out.push_back(arp);
    // IPv6: a valid request the IPv4-only engine must not see, then one of each IPv6 rejection.
    wire::FrameAddr6 a6;
    a6.src_mac = t_.attacker_mac;
    a6.dst_mac = t_.server_mac;
    a6.src_ip = {0xfd, 0x66, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x66, 0x66};
    a6.dst_ip = {0xfd, 0x66, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    std::vector<uint8_t> payload(1000, 0x5A);
    std::array<uint8_t, 2048> buf{};
    Data d6 = data_header(common(client_port(), t_.server_port), 1000, 1000, 0);
    Frame ok6 = checked(buf, wire::encode(buf, a6, d6, payload), "an IPv6 DATA frame");
    out.push_back(ok6);
    constexpr size_t kIp6 = kL2;
    Frame f6 = ok6;
    f6[kIp6] = 0x40;  // version 4 in an IPv6 EtherType
    out.push_back(f6);
    f6 = ok6;
    f6[kIp6 + 4] = 0xFF;  // payload length beyond the frame
    out.push_back(f6);
    f6 = ok6;
    f6[kIp6 + 4] = f6[kIp6 + 5] = 0;  // jumbogram
    out.push_back(f6);
    f6 = ok6;
    f6[kIp6 + 6] = 17;  // UDP
    out.push_back(f6);
    f6 = ok6;
    f6[kIp6 + 6] = 44;  // a fragment header
    out.push_back(f6);
    f6 = ok6;
    f6[kIp6 + 6] = 51;  // AH
    out.push_back(f6);
    f6 = ok6;
    f6.resize(kIp6 + 39);  // not even an IPv6 header
    out.push_back(f6);
    return out;
}

std::vector<Frame> HostileFrames::port_zero() {
    std::vector<Frame> out;
    for (auto [sport, dport] : {std::pair<int, int>{0, 1}, {1, 0}, {0, 0}}) {
        for (Frame f : one_of_each_type()) {
            if (sport == 0) f[kHoma] = f[kHoma + 1] = 0;
            if (dport == 0) f[kHoma + 2] = f[kHoma + 3] = 0;
            out.push_back(std::move(f));
        }
    }
    return out;
}

std::vector<Frame> HostileFrames::mutated(uint32_t n) {
    std::vector<Frame> out;
    std::vector<Frame> seeds = one_of_each_type();
    for (uint32_t i = 0; i < n; ++i) {
        if (i % 64 == 0) seeds = one_of_each_type();  // fresh ids and ports now and then
        Frame f = seeds[rng_() % seeds.size()];
        for (uint32_t k = 1 + rng_() % 4; k > 0; --k) {
            f[rng_() % f.size()] = static_cast<uint8_t>(rng_());
        }
        if (i % 2) fix_ipv4_checksum(f);
        out.push_back(std::move(f));
    }
    return out;
}

std::vector<Frame> HostileFrames::partial_flood(uint32_t n) {
    FrameAddr a = from_attacker();
    std::vector<Frame> out;
    for (uint32_t i = 0; i < n; ++i) {
        Common c{client_port(), t_.server_port, random_id() & ~uint64_t{1}};
        out.push_back(request_data(a, c, kFloodMessage, 0, kPayload));
    }
    return out;
}

std::vector<Frame> HostileFrames::control_flood(uint32_t per_type) {
    FrameAddr a = from_attacker();
    std::vector<Frame> out;
    // Half to the echo port, half to any port; ids of either parity (client or server RPCs).
    auto c = [&](uint32_t i) {
        return Common{static_cast<uint16_t>(rng_()),
                      i % 2 ? t_.server_port : static_cast<uint16_t>(rng_()), random_id()};
    };
    for (uint32_t i = 0; i < per_type; ++i) {
        out.push_back(frame_of(a, Resend{.common = c(i),
                                         .offset = uint32_t(rng_() % 1'000'000),
                                         .length = i % 3 ? uint32_t(rng_()) : wire::kResendAll,
                                         .priority = uint8_t(rng_() % 8)}));
        out.push_back(frame_of(a, Grant{.common = c(i),
                                        .offset = uint32_t(rng_() % 1'000'000),
                                        .priority = uint8_t(rng_() % 8)}));
        for (PacketType t : {PacketType::kBusy, PacketType::kNeedAck, PacketType::kRpcUnknown,
                             PacketType::kFreeze}) {
            out.push_back(frame_of(a, Bare{.type = t, .common = c(i)}));
        }
        Acks ak{.common = c(i), .num_acks = uint16_t(rng_() % (wire::kMaxAcks + 1)), .acks = {}};
        for (Ack &e : ak.acks) e = {random_id(), static_cast<uint16_t>(rng_())};
        out.push_back(frame_of(a, ak));
        Cutoffs cu{.common = c(i), .unsched_cutoffs = {}, .cutoff_version = uint16_t(rng_())};
        for (uint32_t &v : cu.unsched_cutoffs) v = static_cast<uint32_t>(rng_());
        out.push_back(frame_of(a, cu));
    }
    return out;
}

std::vector<Frame> HostileFrames::spoofed_flood(uint32_t n) {
    std::vector<Frame> out;
    for (uint32_t i = 0; i < n; ++i) {
        FrameAddr a = from_attacker(t_.spoof_base_ip + 1 + i);
        a.src_mac[4] = static_cast<uint8_t>(i >> 8), a.src_mac[5] = static_cast<uint8_t>(i);
        Common c{client_port(), t_.server_port, random_id() & ~uint64_t{1}};
        out.push_back(request_data(a, c, 1, 0, 1));
    }
    return out;
}

}  // namespace homa::test
