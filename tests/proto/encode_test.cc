// Golden bytes: each of the nine packet types is built field by field from docs/wire.md by
// ByteWriter and compared byte for byte with the encoder; decoding that frame must give back
// every field.
#include "homa/proto/encode.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "homa/proto/decode.h"
#include "tests/proto/byte_writer.h"

namespace homa::wire {
namespace {

using test::ByteWriter;

constexpr uint8_t kDstMac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
constexpr uint8_t kSrcMac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
constexpr uint32_t kSrcIp = 0x0A000001;  // 10.0.0.1
constexpr uint32_t kDstIp = 0x0A000002;

FrameAddr addr(uint8_t priority, uint16_t ip_id = 0x1234) {
    FrameAddr a;
    std::copy(kSrcMac, kSrcMac + 6, a.src_mac.begin());
    std::copy(kDstMac, kDstMac + 6, a.dst_mac.begin());
    a.src_ip = kSrcIp;
    a.dst_ip = kDstIp;
    a.priority = priority;
    a.ip_id = ip_id;
    return a;
}

std::vector<uint8_t> golden(uint8_t priority, const ByteWriter &homa) {
    auto frame = ByteWriter::l2l3(kDstMac, kSrcMac, kSrcIp, kDstIp, priority, 0x1234, homa.size());
    frame.insert(frame.end(), homa.bytes().begin(), homa.bytes().end());
    return frame;
}

template <typename Fields>
std::vector<uint8_t> encoded(uint8_t priority, const Fields &f) {
    std::array<uint8_t, 256> buf{};
    size_t n = encode(buf, addr(priority), f);
    return {buf.begin(), buf.begin() + n};
}

PacketView decoded(const std::vector<uint8_t> &frame) {
    PacketView v;
    EXPECT_EQ(decode_frame(frame, v), DecodeError::kOk);
    return v;
}

void expect_common(const PacketView &v, uint16_t sport, uint16_t dport, uint64_t id) {
    EXPECT_EQ(v.common().sport.get(), sport);
    EXPECT_EQ(v.common().dport.get(), dport);
    EXPECT_EQ(v.common().sender_id.get(), id);
    EXPECT_EQ(v.src_ip(), kSrcIp);
    EXPECT_EQ(v.dst_ip(), kDstIp);
}

TEST(Encode, Data_GoldenBytes) {
    std::vector<uint8_t> payload = {'h', 'o', 'm', 'a', '!'};
    Data d;
    d.common = {.sport = 0x8001, .dport = 99, .sender_id = 0x1122334455667788};
    d.message_length = 10'000;
    d.incoming = 5'000;
    d.ack = {.client_id = 0xAABBCCDDEEFF0012, .server_port = 77};
    d.cutoff_version = 3;
    d.retransmit = true;
    d.offset = 1400;

    ByteWriter h;
    h.common(0x8001, 99, 1400, 0x10, 0xE0, 0x1122334455667788);
    h.u32(10'000).u32(5'000).u64(0xAABBCCDDEEFF0012).u16(77).u16(3).u8(1).zeros(3).u32(1400);
    ASSERT_EQ(h.size(), 56u);
    h.raw(payload);
    auto want = golden(5, h);

    std::array<uint8_t, 256> buf{};
    size_t n = encode(buf, addr(5), d, payload);
    ASSERT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + n), want);

    PacketView v = decoded(want);
    ASSERT_NE(v.data(), nullptr);
    expect_common(v, 0x8001, 99, 0x1122334455667788);
    EXPECT_EQ(v.ip_priority(), 5);
    EXPECT_EQ(v.common().sequence.get(), 1400u);
    EXPECT_EQ(v.data()->message_length.get(), 10'000u);
    EXPECT_EQ(v.data()->incoming.get(), 5'000u);
    EXPECT_EQ(v.data()->ack.client_id.get(), 0xAABBCCDDEEFF0012u);
    EXPECT_EQ(v.data()->ack.server_port.get(), 77);
    EXPECT_EQ(v.data()->cutoff_version.get(), 3);
    EXPECT_EQ(v.data()->retransmit, 1);
    EXPECT_EQ(v.data()->seg_offset.get(), 1400u);
    EXPECT_EQ(std::vector<uint8_t>(v.payload().begin(), v.payload().end()), payload);
}

TEST(Encode, DataHeaders_CountPayloadInIpLength) {
    Data d;
    d.common = {.sport = 1, .dport = 2, .sender_id = 4};
    d.message_length = 3000;
    d.offset = 1000;
    std::array<uint8_t, 128> buf{};
    size_t n = encode_data_headers(buf, addr(0), d, 1400);
    ASSERT_EQ(n, 14u + 20u + 56u);
    EXPECT_EQ(buf[16] << 8 | buf[17], 20 + 56 + 1400);
}

TEST(Encode, Grant_GoldenBytes) {
    ByteWriter h;
    h.common(99, 0x8001, 0, 0x11, 0x50, 0x1122334455667789).u32(50'000).u8(3);
    auto want = golden(7, h);
    Grant g{.common = {.sport = 99, .dport = 0x8001, .sender_id = 0x1122334455667789},
            .offset = 50'000,
            .priority = 3};
    ASSERT_EQ(encoded(7, g), want);
    PacketView v = decoded(want);
    ASSERT_NE(v.grant(), nullptr);
    expect_common(v, 99, 0x8001, 0x1122334455667789);
    EXPECT_EQ(v.grant()->offset.get(), 50'000u);
    EXPECT_EQ(v.grant()->priority, 3);
    EXPECT_EQ(v.data(), nullptr);
}

TEST(Encode, Resend_GoldenBytes) {
    ByteWriter h;
    h.common(7, 8, 0, 0x12, 0x50, 42).u32(2800).u32(0xFFFFFFFF).u8(6);
    auto want = golden(7, h);
    Resend r{.common = {.sport = 7, .dport = 8, .sender_id = 42},
             .offset = 2800,
             .length = kResendAll,
             .priority = 6};
    ASSERT_EQ(encoded(7, r), want);
    PacketView v = decoded(want);
    ASSERT_NE(v.resend(), nullptr);
    expect_common(v, 7, 8, 42);
    EXPECT_EQ(v.resend()->offset.get(), 2800u);
    EXPECT_EQ(v.resend()->length.get(), kResendAll);
    EXPECT_EQ(v.resend()->priority, 6);
}

class EncodeBare : public ::testing::TestWithParam<PacketType> {};

TEST_P(EncodeBare, GoldenBytes) {
    PacketType t = GetParam();
    ByteWriter h;
    h.common(0x8123, 1, 0, static_cast<uint8_t>(t), 0x50, 0xFEDCBA9876543210);
    auto want = golden(7, h);
    Bare b{.type = t, .common = {.sport = 0x8123, .dport = 1, .sender_id = 0xFEDCBA9876543210}};
    ASSERT_EQ(encoded(7, b), want);
    PacketView v = decoded(want);
    EXPECT_EQ(v.type(), t);
    expect_common(v, 0x8123, 1, 0xFEDCBA9876543210);
}

INSTANTIATE_TEST_SUITE_P(Encode, EncodeBare,
                         ::testing::Values(PacketType::kRpcUnknown, PacketType::kBusy,
                                           PacketType::kFreeze, PacketType::kNeedAck),
                         [](const auto &info) { return packet_type_name(uint8_t(info.param)); });

TEST(Encode, Bare_RejectsTypesWithBodies) {
    std::array<uint8_t, 128> buf{};
    Bare b{.type = PacketType::kGrant, .common = {}};
    EXPECT_EQ(encode(buf, addr(0), b), 0u);
}

TEST(Encode, Cutoffs_GoldenBytes) {
    ByteWriter h;
    h.common(5, 6, 0, 0x15, 0x50, 11);
    Cutoffs c{.common = {.sport = 5, .dport = 6, .sender_id = 11},
              .unsched_cutoffs = {},
              .cutoff_version = 0x0102};
    for (uint32_t i = 0; i < 8; ++i) {
        c.unsched_cutoffs[i] = kDefaultUnschedCutoffs[i];
        h.u32(kDefaultUnschedCutoffs[i]);
    }
    h.u16(0x0102);
    auto want = golden(7, h);
    ASSERT_EQ(encoded(7, c), want);
    PacketView v = decoded(want);
    ASSERT_NE(v.cutoffs(), nullptr);
    for (int i = 0; i < 8; ++i) {
        EXPECT_EQ(v.cutoffs()->unsched_cutoffs[i].get(), kDefaultUnschedCutoffs[i]);
    }
    EXPECT_EQ(v.cutoffs()->cutoff_version.get(), 0x0102);
}

TEST(Encode, Ack_GoldenBytes) {
    ByteWriter h;
    h.common(0x8000, 3, 0, 0x18, 0x50, 100).u16(2);
    h.u64(100).u16(3).u64(202).u16(4).zeros(30);
    auto want = golden(7, h);
    Acks a{.common = {.sport = 0x8000, .dport = 3, .sender_id = 100}, .num_acks = 2, .acks = {}};
    a.acks[0] = {100, 3};
    a.acks[1] = {202, 4};
    a.acks[2] = {999, 9};  // beyond num_acks: must not reach the wire
    ASSERT_EQ(encoded(7, a), want);
    PacketView v = decoded(want);
    ASSERT_NE(v.ack(), nullptr);
    EXPECT_EQ(v.ack()->num_acks.get(), 2);
    EXPECT_EQ(v.ack()->acks[1].client_id.get(), 202u);
    EXPECT_EQ(v.ack()->acks[1].server_port.get(), 4);
}

TEST(Encode, Vlan_TagCarriesPriorityInPcp) {
    FrameAddr a = addr(6);
    a.vlan_id = 100;
    std::array<uint8_t, 128> buf{};
    Bare b{.type = PacketType::kBusy, .common = {.sport = 0x8000, .dport = 1, .sender_id = 2}};
    size_t n = encode(buf, a, b);
    ASSERT_EQ(n, 14u + 4u + 20u + 28u);
    EXPECT_EQ(buf[12], 0x81);
    EXPECT_EQ(buf[13], 0x00);
    EXPECT_EQ(buf[14] << 8 | buf[15], 6 << 13 | 100);
    EXPECT_EQ(buf[16] << 8 | buf[17], 0x0800);
    PacketView v;
    ASSERT_EQ(decode_frame({buf.data(), n}, v), DecodeError::kOk);
    EXPECT_EQ(v.vlan_tci(), 6 << 13 | 100);
    EXPECT_EQ(v.ip_priority(), 6);
}

TEST(Encode, BufferTooSmall_WritesNothing) {
    std::array<uint8_t, 61> buf{};
    buf.fill(0xAB);
    Grant g{.common = {}, .offset = 1, .priority = 0};
    EXPECT_EQ(encode({buf.data(), 14 + 20 + 32}, addr(0), g), 0u);
    for (uint8_t b : buf) ASSERT_EQ(b, 0xAB);
}

TEST(Encode, InvalidFields_Rejected) {
    std::array<uint8_t, 2048> buf{};
    std::array<uint8_t, 10> payload{};
    EXPECT_EQ(encode(buf, addr(8), Bare{.type = PacketType::kBusy, .common = {}}), 0u);
    EXPECT_EQ(encode(buf, addr(0), Grant{.common = {}, .offset = 0, .priority = 8}), 0u);
    EXPECT_EQ(encode(buf, addr(0), Resend{.common = {}, .offset = 0, .length = 1, .priority = 9}),
              0u);
    Acks a;
    a.num_acks = 6;
    EXPECT_EQ(encode(buf, addr(0), a), 0u);
    Data d;
    d.message_length = 15;
    d.offset = 10;  // 10 + 10 > 15
    EXPECT_EQ(encode(buf, addr(0), d, payload), 0u);
    d.message_length = kMaxMessageLength + 1;
    d.offset = 0;
    EXPECT_EQ(encode(buf, addr(0), d, payload), 0u);
    d.message_length = 100;
    EXPECT_EQ(encode(buf, addr(0), d, std::span<const uint8_t>{}), 0u);
}

TEST(Encode, MaxDataPayload_FollowsMtu) {
    EXPECT_EQ(max_data_payload(1500), 1500u - 20u - 56u);
    EXPECT_EQ(max_data_payload(9000), 9000u - 76u);
    EXPECT_EQ(max_data_payload(76), 0u);
}

}  // namespace
}  // namespace homa::wire
