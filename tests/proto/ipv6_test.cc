// Homa over IPv6: golden bytes built field by field from RFC 8200's header layout (byte_writer.h),
// the decoder's IPv6 rejection reasons (one per test, each breaking one thing in a valid frame),
// the extension headers it skips, and the per-RPC flow label.
#include <gtest/gtest.h>

#include <array>
#include <set>
#include <vector>

#include "homa/proto/decode.h"
#include "homa/proto/encode.h"
#include "tests/proto/byte_writer.h"

namespace homa::wire {
namespace {

using test::ByteWriter;

constexpr uint8_t kDstMac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
constexpr uint8_t kSrcMac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
// fd00::1 and fd00::2 with distinct bytes in every position a swap could hide in.
constexpr uint8_t kSrcIp[16] = {0xfd, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
                                0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0x01};
constexpr uint8_t kDstIp[16] = {0xfd, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
                                0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0x02};
constexpr size_t kIp6 = 14;         // IPv6 header offset in an untagged frame
constexpr size_t kHoma6 = 14 + 40;  // Homa header offset
constexpr Common kPorts{.sport = 0x8000, .dport = 1, .sender_id = 2};

FrameAddr6 addr6(uint8_t priority, uint32_t flow_label = 0, uint16_t vlan = 0) {
    FrameAddr6 a;
    std::copy(kSrcMac, kSrcMac + 6, a.src_mac.begin());
    std::copy(kDstMac, kDstMac + 6, a.dst_mac.begin());
    std::copy(kSrcIp, kSrcIp + 16, a.src_ip.begin());
    std::copy(kDstIp, kDstIp + 16, a.dst_ip.begin());
    a.priority = priority;
    a.flow_label = flow_label;
    a.vlan_id = vlan;
    return a;
}

std::vector<uint8_t> golden(uint8_t priority, uint32_t label, uint16_t vlan,
                            const ByteWriter &homa) {
    auto f =
        ByteWriter::l2l3_ipv6(kDstMac, kSrcMac, kSrcIp, kDstIp, priority, label, vlan, homa.size());
    f.insert(f.end(), homa.bytes().begin(), homa.bytes().end());
    return f;
}

template <typename Fields>
std::vector<uint8_t> encoded(const FrameAddr6 &a, const Fields &f) {
    std::array<uint8_t, 2048> buf{};
    size_t n = encode(buf, a, f);
    EXPECT_GT(n, 0u);
    return {buf.begin(), buf.begin() + n};
}

std::vector<uint8_t> busy6() {
    return encoded(addr6(4), Bare{.type = PacketType::kBusy, .common = kPorts});
}

DecodeError decode(const std::vector<uint8_t> &f) {
    PacketView v;
    return decode_frame(f, v);
}

void set_payload_length(std::vector<uint8_t> &f, size_t n) {
    f[kIp6 + 4] = static_cast<uint8_t>(n >> 8);
    f[kIp6 + 5] = static_cast<uint8_t>(n);
}

// Inserts an extension header `ext` (its first byte, next header, is filled in here) between
// the IPv6 header and the Homa header, chaining next-header values as RFC 8200 section 4 says.
std::vector<uint8_t> with_extension(std::vector<uint8_t> f, uint8_t ext_type,
                                    std::vector<uint8_t> ext) {
    ext[0] = f[kIp6 + 6];
    f[kIp6 + 6] = ext_type;
    f.insert(f.begin() + kHoma6, ext.begin(), ext.end());
    set_payload_length(f, f.size() - kHoma6);
    return f;
}

TEST(Ipv6, Data_GoldenBytes) {
    std::vector<uint8_t> payload = {'h', 'o', 'm', 'a', '6'};
    Data d;
    d.common = {.sport = 0x8001, .dport = 99, .sender_id = 0x1122334455667788};
    d.message_length = 10'000;
    d.incoming = 5'000;
    d.ack = {.client_id = 0xAABBCCDDEEFF0012, .server_port = 77};
    d.cutoff_version = 3;
    d.offset = 1400;
    ByteWriter h;
    h.common(0x8001, 99, 1400, 0x10, 0xE0, 0x1122334455667788);
    h.u32(10'000).u32(5'000).u64(0xAABBCCDDEEFF0012).u16(77).u16(3).u8(0).zeros(3).u32(1400);
    h.raw(payload);
    auto want = golden(5, 0xABCDE, 0, h);
    // The first four bytes spelled out: 6 | tclass 0xA0 | label 0xABCDE.
    EXPECT_EQ(want[kIp6], 0x6A);
    EXPECT_EQ(want[kIp6 + 1], 0x0A);
    EXPECT_EQ(want[kIp6 + 2], 0xBC);
    EXPECT_EQ(want[kIp6 + 3], 0xDE);

    std::array<uint8_t, 256> buf{};
    size_t n = encode(buf, addr6(5, 0xABCDE), d, payload);
    ASSERT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + n), want);

    PacketView v;
    ASSERT_EQ(decode_frame(want, v), DecodeError::kOk);
    ASSERT_TRUE(v.is_ipv6());
    ASSERT_NE(v.data(), nullptr);
    EXPECT_EQ(v.ip_priority(), 5);
    EXPECT_EQ(v.flow_label(), 0xABCDEu);
    EXPECT_EQ(v.homa_offset(), kHoma6);
    EXPECT_EQ(std::vector<uint8_t>(v.ip6().src, v.ip6().src + 16),
              std::vector<uint8_t>(kSrcIp, kSrcIp + 16));
    EXPECT_EQ(std::vector<uint8_t>(v.ip6().dst, v.ip6().dst + 16),
              std::vector<uint8_t>(kDstIp, kDstIp + 16));
    EXPECT_EQ(v.data()->seg_offset.get(), 1400u);
    EXPECT_EQ(std::vector<uint8_t>(v.payload().begin(), v.payload().end()), payload);
}

TEST(Ipv6, EveryPriority_InTrafficClassTopBits) {
    for (uint8_t p = 0; p <= kMaxPriority; ++p) {
        ByteWriter h;
        h.common(99, 0x8001, 0, 0x11, 0x50, 7).u32(50'000).u8(p);
        auto want = golden(p, 0, 0, h);
        Grant g{.common = {.sport = 99, .dport = 0x8001, .sender_id = 7},
                .offset = 50'000,
                .priority = p};
        ASSERT_EQ(encoded(addr6(p), g), want) << int(p);
        // Traffic class = p << 5: DSCP class selector p, ECN bits 0.
        uint8_t tclass = static_cast<uint8_t>((want[kIp6] & 0x0F) << 4 | want[kIp6 + 1] >> 4);
        EXPECT_EQ(tclass, p << 5);
        PacketView v;
        ASSERT_EQ(decode_frame(want, v), DecodeError::kOk);
        EXPECT_EQ(v.ip_priority(), p);
    }
}

TEST(Ipv6, Vlan_GoldenBytes_PcpCarriesPriority) {
    Acks ak{.common = {.sport = 1, .dport = 0x8002, .sender_id = 9}, .num_acks = 1, .acks = {}};
    ak.acks[0] = {.client_id = 0x100, .server_port = 5};
    ByteWriter h;
    h.common(1, 0x8002, 0, 0x18, 0x50, 9).u16(1).u64(0x100).u16(5).zeros(40);
    auto want = golden(6, 0x12345, 42, h);
    ASSERT_EQ(encoded(addr6(6, 0x12345, 42), ak), want);
    PacketView v;
    ASSERT_EQ(decode_frame(want, v), DecodeError::kOk);
    EXPECT_EQ(v.vlan_tci() >> 13, 6);
    EXPECT_EQ(v.vlan_tci() & 0x0FFF, 42);
    EXPECT_EQ(v.homa_offset(), kHoma6 + 4);
    ASSERT_NE(v.ack(), nullptr);
}

TEST(Ipv6, EveryType_RoundTrips) {
    Common c{.sport = 0x8000, .dport = 100, .sender_id = 1234};
    std::vector<std::vector<uint8_t>> frames = {
        encoded(addr6(1), Grant{.common = c, .offset = 1, .priority = 2}),
        encoded(addr6(1), Resend{.common = c, .offset = 0, .length = kResendAll, .priority = 7}),
        encoded(addr6(1), Bare{.type = PacketType::kRpcUnknown, .common = c}),
        encoded(addr6(1), Bare{.type = PacketType::kBusy, .common = c}),
        encoded(addr6(1), Bare{.type = PacketType::kFreeze, .common = c}),
        encoded(addr6(1), Bare{.type = PacketType::kNeedAck, .common = c}),
        encoded(
            addr6(1),
            Cutoffs{.common = c, .unsched_cutoffs = kDefaultUnschedCutoffs, .cutoff_version = 1}),
    };
    for (const auto &f : frames) {
        PacketView v;
        ASSERT_EQ(decode_frame(f, v), DecodeError::kOk);
        EXPECT_TRUE(v.is_ipv6());
        EXPECT_EQ(f.size(), kHoma6 + header_size(v.common().type));
        EXPECT_EQ(size_t{f[kIp6 + 4]} << 8 | f[kIp6 + 5], f.size() - kHoma6);
    }
}

TEST(Ipv6, Encoder_RejectsBadFields) {
    std::array<uint8_t, 256> buf{};
    Bare b{.type = PacketType::kBusy, .common = kPorts};
    EXPECT_EQ(encode(buf, addr6(8), b), 0u);            // priority > 7
    EXPECT_EQ(encode(buf, addr6(1, 0x100000), b), 0u);  // flow label > 20 bits
    EXPECT_EQ(encode(buf, addr6(1, 0, 4095), b), 0u);   // VLAN id
    EXPECT_EQ(encode(std::span<uint8_t>(buf.data(), kHoma6 + 27), addr6(1), b), 0u);
    EXPECT_EQ(encode(std::span<uint8_t>(buf.data(), kHoma6 + 28), addr6(1), b), kHoma6 + 28);
}

TEST(Ipv6, DataHeaders_CountPayloadInPayloadLength) {
    Data d;
    d.common = kPorts;
    d.message_length = 3000;
    d.offset = 1000;
    std::array<uint8_t, 128> buf{};
    ASSERT_EQ(encode_data_headers(buf, addr6(0), d, 1400), kHoma6 + 56);
    EXPECT_EQ(buf[kIp6 + 4] << 8 | buf[kIp6 + 5], 56 + 1400);
    EXPECT_EQ(max_data_payload6(1500), 1500u - 40 - 56);
}

TEST(Ipv6, Ip6TooShort) {
    auto f = busy6();
    f.resize(kIp6 + 39);
    EXPECT_EQ(decode(f), DecodeError::kIp6TooShort);
}

TEST(Ipv6, Ip6BadVersion) {
    auto f = busy6();
    f[kIp6] = static_cast<uint8_t>(0x40 | (f[kIp6] & 0x0F));
    EXPECT_EQ(decode(f), DecodeError::kIp6BadVersion);
}

TEST(Ipv6, Ip6BadPayloadLength) {
    auto f = busy6();
    set_payload_length(f, f.size() - kHoma6 + 1);  // one byte beyond the frame
    EXPECT_EQ(decode(f), DecodeError::kIp6BadPayloadLength);
    set_payload_length(f, 0);  // jumbogram
    EXPECT_EQ(decode(f), DecodeError::kIp6BadPayloadLength);
    // Shorter than the frame is fine (Ethernet padding), but then Homa sees fewer bytes.
    f = busy6();
    f.resize(f.size() + 10, 0);
    EXPECT_EQ(decode(f), DecodeError::kOk);
    set_payload_length(f, 27);
    EXPECT_EQ(decode(f), DecodeError::kHomaTooShort);
}

TEST(Ipv6, Ip6WrongNextHeader) {
    auto f = busy6();
    f[kIp6 + 6] = 17;  // UDP
    EXPECT_EQ(decode(f), DecodeError::kIp6WrongNextHeader);
    f[kIp6 + 6] = 59;  // No Next Header
    EXPECT_EQ(decode(f), DecodeError::kIp6WrongNextHeader);
    f[kIp6 + 6] = 253;  // experimental extension header: not skipped
    EXPECT_EQ(decode(f), DecodeError::kIp6ExtensionHeader);
}

TEST(Ipv6, Ip6Fragment) {
    auto f = with_extension(busy6(), 44, {0, 0, 0, 0, 0, 0, 0, 1});
    EXPECT_EQ(decode(f), DecodeError::kIp6Fragment);
}

TEST(Ipv6, SkippedExtensions_LikeLinuxInput) {
    // Hop-by-Hop with a PadN option (6 bytes of options: type 1, length 4).
    auto f = with_extension(busy6(), 0, {0, 0, 1, 4, 0, 0, 0, 0});
    PacketView v;
    ASSERT_EQ(decode_frame(f, v), DecodeError::kOk);
    EXPECT_EQ(v.homa_offset(), kHoma6 + 8);
    EXPECT_EQ(v.common().sport.get(), kPorts.sport);
    // Then Destination Options (16 bytes: length 1, Pad1s and an unknown skippable option),
    // then a Routing header with no segments left.
    f = with_extension(f, 43, {0, 0, 4, 0, 0, 0, 0, 0});
    f = with_extension(f, 60, {0, 1, 0, 0, 0x1E, 2, 0xAA, 0xBB, 0, 0, 0, 0, 0, 0, 0, 0});
    // with_extension inserts right after the IPv6 header, so the order is now DO, RH, HBH:
    // HBH is no longer first, which RFC 8200 forbids.
    EXPECT_EQ(decode(f), DecodeError::kIp6ExtensionHeader);
    f = with_extension(busy6(), 43, {0, 0, 4, 0, 0, 0, 0, 0});
    f = with_extension(f, 60, {0, 1, 0, 0, 0x1E, 2, 0xAA, 0xBB, 0, 0, 0, 0, 0, 0, 0, 0});
    f = with_extension(f, 0, {0, 0, 1, 4, 0, 0, 0, 0});
    ASSERT_EQ(decode_frame(f, v), DecodeError::kOk);
    EXPECT_EQ(v.homa_offset(), kHoma6 + 8 + 16 + 8);
}

TEST(Ipv6, RejectedExtensions) {
    // A routing header with segments left would have to be forwarded.
    EXPECT_EQ(decode(with_extension(busy6(), 43, {0, 0, 4, 1, 0, 0, 0, 0})),
              DecodeError::kIp6ExtensionHeader);
    // An unknown option whose action bits say "discard".
    EXPECT_EQ(decode(with_extension(busy6(), 60, {0, 0, 0x5E, 4, 0, 0, 0, 0})),
              DecodeError::kIp6ExtensionHeader);
    // A jumbo payload option.
    EXPECT_EQ(decode(with_extension(busy6(), 0, {0, 0, 0xC2, 4, 0, 0, 0, 0})),
              DecodeError::kIp6ExtensionHeader);
    // An option that runs past its header.
    EXPECT_EQ(decode(with_extension(busy6(), 60, {0, 0, 1, 5, 0, 0, 0, 0})),
              DecodeError::kIp6ExtensionHeader);
    // AH and ESP (IPsec).
    EXPECT_EQ(decode(with_extension(busy6(), 51, {0, 0, 0, 0, 0, 0, 0, 0})),
              DecodeError::kIp6ExtensionHeader);
    EXPECT_EQ(decode(with_extension(busy6(), 50, {0, 0, 0, 0, 0, 0, 0, 0})),
              DecodeError::kIp6ExtensionHeader);
    // A header whose length runs past the payload.
    auto f = with_extension(busy6(), 60, {0, 0, 1, 4, 0, 0, 0, 0});
    f[kHoma6 + 1] = 200;
    EXPECT_EQ(decode(f), DecodeError::kIp6ExtensionHeader);
}

TEST(Ipv6, HomaChecksRunAfterIpv6) {
    auto f = busy6();
    f[kHoma6 + 11] = 0x42;  // unknown type
    EXPECT_EQ(decode(f), DecodeError::kUnknownType);
    f = busy6();
    f[kHoma6] = f[kHoma6 + 1] = 0;  // source port 0
    EXPECT_EQ(decode(f), DecodeError::kZeroPort);
}

TEST(Ipv6, ViewForgetsThePreviousFamily) {
    // A view reused from an IPv6 frame for an IPv4 one must not claim IPv6 (and vice versa).
    PacketView v;
    ASSERT_EQ(decode_frame(busy6(), v), DecodeError::kOk);
    ASSERT_TRUE(v.is_ipv6());
    FrameAddr a4;
    a4.src_ip = 0x0A000001;
    a4.dst_ip = 0x0A000002;
    a4.priority = 3;
    std::array<uint8_t, 128> buf{};
    size_t n = encode(buf, a4, Bare{.type = PacketType::kBusy, .common = kPorts});
    ASSERT_EQ(decode_frame({buf.data(), n}, v), DecodeError::kOk);
    EXPECT_FALSE(v.is_ipv6());
    EXPECT_EQ(v.src_ip(), 0x0A000001u);
    EXPECT_EQ(v.ip_priority(), 3);
    EXPECT_EQ(v.flow_label(), 0u);
}

TEST(Ipv6, RpcFlowLabel_SameForBothHalvesNonZero20Bits) {
    std::set<uint32_t> seen;
    for (uint64_t id = 0; id < 20'000; id += 2) {
        uint32_t l = rpc_flow_label(id);
        ASSERT_NE(l, 0u);
        ASSERT_LE(l, kIpv6FlowLabelMask);
        ASSERT_EQ(l, rpc_flow_label(id | 1));
        seen.insert(l);
    }
    // Consecutive client ids spread out: nearly all 10,000 labels are distinct.
    EXPECT_GT(seen.size(), 9'900u);
}

}  // namespace
}  // namespace homa::wire
