// One test per rejection reason (each starts from a valid frame and breaks exactly one thing),
// then a round-trip property over many random valid packets.
#include "homa/proto/decode.h"

#include <gtest/gtest.h>

#include <array>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "decode_test_frames.h"
#include "homa/proto/encode.h"

namespace homa::wire {
namespace {

// Valid ports: decode rejects port 0 (kZeroPort).
constexpr Common kPorts{.sport = 0x8000, .dport = 1, .sender_id = 2};

std::vector<uint8_t> busy_frame() {
    return frame_of(Bare{.type = PacketType::kBusy, .common = kPorts});
}

DecodeError decode(const std::vector<uint8_t> &f) {
    PacketView v;
    return decode_frame(f, v);
}

TEST(Decode, ValidFrames_Ok) {
    EXPECT_EQ(decode(busy_frame()), DecodeError::kOk);
    EXPECT_EQ(decode(data_frame(100, 0, 100)), DecodeError::kOk);
}

TEST(Decode, EthernetTooShort) {
    EXPECT_EQ(decode(std::vector<uint8_t>(13)), DecodeError::kEthernetTooShort);
    auto f = busy_frame();
    f[12] = 0x81;
    f[13] = 0x00;
    f.resize(16);  // VLAN EtherType but no room for the tag
    EXPECT_EQ(decode(f), DecodeError::kEthernetTooShort);
}

TEST(Decode, NotIp) {
    auto f = busy_frame();
    f[12] = 0x88;
    f[13] = 0xB5;  // local experimental EtherType
    EXPECT_EQ(decode(f), DecodeError::kNotIp);
}

TEST(Decode, IpTooShort) {
    auto f = busy_frame();
    f.resize(kIp + 19);
    EXPECT_EQ(decode(f), DecodeError::kIpTooShort);
}

TEST(Decode, IpBadVersion) {
    auto f = busy_frame();
    f[kIp] = 0x65;
    fix_ip_checksum(f);
    EXPECT_EQ(decode(f), DecodeError::kIpBadVersion);
}

TEST(Decode, IpBadHeaderLength) {
    auto f = busy_frame();
    f[kIp] = 0x44;  // IHL 4 < 5
    EXPECT_EQ(decode(f), DecodeError::kIpBadHeaderLength);
    f = busy_frame();
    f[kIp] = 0x4F;  // 60 bytes of header, but the frame is shorter than that after Ethernet
    f.resize(kIp + 40);
    EXPECT_EQ(decode(f), DecodeError::kIpBadHeaderLength);
}

TEST(Decode, IpBadTotalLength) {
    auto f = busy_frame();
    f[kIp + 2] = 0x01;  // total length 256+: more than the frame holds
    fix_ip_checksum(f);
    EXPECT_EQ(decode(f), DecodeError::kIpBadTotalLength);
    f = busy_frame();
    f[kIp + 2] = 0;
    f[kIp + 3] = 19;  // shorter than the IP header itself
    fix_ip_checksum(f);
    EXPECT_EQ(decode(f), DecodeError::kIpBadTotalLength);
}

TEST(Decode, IpBadChecksum) {
    auto f = busy_frame();
    f[kIp + 11] ^= 1;
    EXPECT_EQ(decode(f), DecodeError::kIpBadChecksum);
}

// The inline sum of an option-less header: every identification (so every checksum value,
// 0x0000 included) is accepted with its right checksum and refused with it off by one, also
// with all-ones addresses (the largest sums, whose folds carry more than once), and every
// single-bit error in the header is refused.
TEST(Decode, IpChecksum_EveryIdAccepted_EveryBitFlipRefused) {
    auto f = busy_frame();
    bool saw_zero = false;
    for (uint32_t id = 0; id <= 0x1FFFF; ++id) {
        if (id == 0x10000) {
            for (size_t i = 12; i < 20; ++i) f[kIp + i] = 0xFF;
        }
        f[kIp + 4] = static_cast<uint8_t>(id >> 8);
        f[kIp + 5] = static_cast<uint8_t>(id);
        fix_ip_checksum(f);
        saw_zero |= f[kIp + 10] == 0 && f[kIp + 11] == 0;
        ASSERT_EQ(decode(f), DecodeError::kOk) << "id " << id;
        f[kIp + 11] = static_cast<uint8_t>(f[kIp + 11] + 1);
        ASSERT_NE(decode(f), DecodeError::kOk) << "id " << id;
    }
    EXPECT_TRUE(saw_zero);
    f = busy_frame();
    for (size_t byte = 0; byte < 20; ++byte) {
        for (int bit = 0; bit < 8; ++bit) {
            auto g = f;
            g[kIp + byte] ^= static_cast<uint8_t>(1 << bit);
            EXPECT_NE(decode(g), DecodeError::kOk) << "byte " << byte << " bit " << bit;
        }
    }
}

TEST(Decode, IpFragment) {
    auto f = busy_frame();
    f[kIp + 6] = 0x20;  // MF
    f[kIp + 7] = 0;
    fix_ip_checksum(f);
    EXPECT_EQ(decode(f), DecodeError::kIpFragment);
    f = busy_frame();
    f[kIp + 6] = 0x00;
    f[kIp + 7] = 0x10;  // offset 16*8
    fix_ip_checksum(f);
    EXPECT_EQ(decode(f), DecodeError::kIpFragment);
}

TEST(Decode, WrongProtocol) {
    for (uint8_t proto : {uint8_t{17}, uint8_t{253}, uint8_t{6}}) {
        auto f = busy_frame();
        f[kIp + 9] = proto;
        fix_ip_checksum(f);
        EXPECT_EQ(decode(f), DecodeError::kWrongProtocol) << int(proto);
    }
}

TEST(Decode, HomaTooShort) {
    auto f = busy_frame();
    f.resize(kHoma + 27);
    f[kIp + 3] = 20 + 27;
    fix_ip_checksum(f);
    EXPECT_EQ(decode(f), DecodeError::kHomaTooShort);
}

TEST(Decode, UnknownType) {
    for (uint8_t t : {uint8_t{0x0F}, uint8_t{0x19}, uint8_t{0}, uint8_t{0xFF}}) {
        auto f = busy_frame();
        f[kHoma + 11] = t;
        EXPECT_EQ(decode(f), DecodeError::kUnknownType) << int(t);
    }
}

TEST(Decode, TooShortForType) {
    auto f = frame_of(Grant{.common = kPorts, .offset = 1, .priority = 1});
    f.pop_back();
    f[kIp + 3] -= 1;
    fix_ip_checksum(f);
    EXPECT_EQ(decode(f), DecodeError::kTooShortForType);
}

TEST(Decode, BadDoff) {
    auto f = busy_frame();
    f[kHoma + 12] = 0xE0;  // DATA's doff on a BUSY
    EXPECT_EQ(decode(f), DecodeError::kBadDoff);
    f = data_frame(100, 0, 100);
    f[kHoma + 12] = 0x50;
    EXPECT_EQ(decode(f), DecodeError::kBadDoff);
}

TEST(Decode, DataEmpty) {
    auto f = data_frame(100, 0, 1);
    f.pop_back();
    f[kIp + 3] -= 1;
    fix_ip_checksum(f);
    EXPECT_EQ(decode(f), DecodeError::kDataEmpty);
}

TEST(Decode, DataMessageTooLong) {
    auto f = data_frame(100, 0, 100);
    // message_length = 1,000,001
    f[kHoma + 28] = 0x00;
    f[kHoma + 29] = 0x0F;
    f[kHoma + 30] = 0x42;
    f[kHoma + 31] = 0x41;
    EXPECT_EQ(decode(f), DecodeError::kDataMessageTooLong);
    f[kHoma + 29] = f[kHoma + 30] = f[kHoma + 31] = 0;  // message_length = 0
    EXPECT_EQ(decode(f), DecodeError::kDataMessageTooLong);
}

TEST(Decode, DataBeyondMessage) {
    auto f = data_frame(100, 50, 50);
    EXPECT_EQ(decode(f), DecodeError::kOk);
    f[kHoma + 55] = 51;  // seg.offset 51 + 50 > 100
    EXPECT_EQ(decode(f), DecodeError::kDataBeyondMessage);
    f[kHoma + 52] = 0xFF;  // huge offset must not wrap around
    EXPECT_EQ(decode(f), DecodeError::kDataBeyondMessage);
}

TEST(Decode, BadPriority) {
    auto f = frame_of(Grant{.common = kPorts, .offset = 1, .priority = 7});
    f[kHoma + 32] = 8;
    EXPECT_EQ(decode(f), DecodeError::kBadPriority);
    f = frame_of(Resend{.common = kPorts, .offset = 1, .length = 2, .priority = 0});
    f[kHoma + 36] = 200;
    EXPECT_EQ(decode(f), DecodeError::kBadPriority);
}

TEST(Decode, TooManyAcks) {
    auto f = frame_of(Acks{.common = kPorts});
    f[kHoma + 29] = 6;
    EXPECT_EQ(decode(f), DecodeError::kTooManyAcks);
}

TEST(Decode, EthernetPaddingAccepted) {
    auto f = busy_frame();
    f.resize(f.size() + 12, 0);  // short frames are padded to 60 bytes on the wire
    PacketView v;
    ASSERT_EQ(decode_frame(f, v), DecodeError::kOk);
    EXPECT_EQ(v.payload().size(), 0u);
}

TEST(Decode, IpOptionsSkipped) {
    auto f = busy_frame();
    f.insert(f.begin() + kHoma, 4, 0x01);  // four NOP options
    f[kIp] = 0x46;
    f[kIp + 3] += 4;
    fix_ip_checksum(f);
    PacketView v;
    ASSERT_EQ(decode_frame(f, v), DecodeError::kOk);
    EXPECT_EQ(v.homa_offset(), kHoma + 4);
    EXPECT_EQ(v.type(), PacketType::kBusy);
}

TEST(Decode, ErrorNames_DistinctAndComplete) {
    std::set<std::string> names;
    for (size_t i = 0; i < kNumDecodeErrors; ++i) {
        std::string n = decode_error_name(static_cast<DecodeError>(i));
        EXPECT_NE(n, "invalid") << i;
        names.insert(n);
    }
    EXPECT_EQ(names.size(), kNumDecodeErrors);
}

// Property: any valid packet with random fields survives encode -> decode unchanged.
TEST(Decode, RoundTrip_RandomValidPackets) {
    std::mt19937_64 rng(20261121);
    auto r32 = [&] { return static_cast<uint32_t>(rng()); };
    auto r16 = [&] { return static_cast<uint16_t>(rng()); };
    std::array<uint8_t, 2048> buf{};
    std::vector<uint8_t> payload(1444);
    for (int iter = 0; iter < 20'000; ++iter) {
        FrameAddr a = test_addr();
        a.priority = rng() % 8;
        a.vlan_id = rng() % 3 == 0 ? 1 + rng() % 4094 : 0;
        a.src_ip = r32();
        a.dst_ip = r32();
        a.ip_id = r16();
        // Port 0 is rejected (kZeroPort): any other port round-trips.
        Common c{.sport = uint16_t(r16() | 1), .dport = uint16_t(r16() | 1), .sender_id = rng()};
        PacketView v;
        size_t n = 0;
        switch (rng() % 6) {
            case 0: {
                Data d;
                d.common = c;
                d.message_length = 1 + r32() % kMaxMessageLength;
                uint32_t len = 1 + r32() % std::min<uint32_t>(d.message_length, 1444);
                d.offset = r32() % (d.message_length - len + 1);
                d.incoming = r32() % (d.message_length + 1);  // beyond: kDataIncomingBeyondMessage
                d.ack = {rng(), r16()};
                d.cutoff_version = r16();
                d.retransmit = rng() & 1;
                for (uint32_t i = 0; i < len; ++i) payload[i] = static_cast<uint8_t>(rng());
                n = encode(buf, a, d, {payload.data(), len});
                ASSERT_EQ(decode_frame({buf.data(), n}, v), DecodeError::kOk);
                const DataHeader *h = v.data();
                ASSERT_NE(h, nullptr);
                ASSERT_EQ(h->message_length.get(), d.message_length);
                ASSERT_EQ(h->incoming.get(), d.incoming);
                ASSERT_EQ(h->ack.client_id.get(), d.ack.client_id);
                ASSERT_EQ(h->ack.server_port.get(), d.ack.server_port);
                ASSERT_EQ(h->cutoff_version.get(), d.cutoff_version);
                ASSERT_EQ(h->retransmit, d.retransmit ? 1 : 0);
                ASSERT_EQ(h->seg_offset.get(), d.offset);
                ASSERT_EQ(h->common.sequence.get(), d.offset);
                ASSERT_TRUE(std::equal(v.payload().begin(), v.payload().end(), payload.begin()));
                ASSERT_EQ(v.payload().size(), len);
                break;
            }
            case 1: {
                Grant g{.common = c, .offset = r32(), .priority = uint8_t(rng() % 8)};
                n = encode(buf, a, g);
                ASSERT_EQ(decode_frame({buf.data(), n}, v), DecodeError::kOk);
                ASSERT_EQ(v.grant()->offset.get(), g.offset);
                ASSERT_EQ(v.grant()->priority, g.priority);
                break;
            }
            case 2: {
                Resend rs{
                    .common = c, .offset = r32(), .length = r32(), .priority = uint8_t(rng() % 8)};
                n = encode(buf, a, rs);
                ASSERT_EQ(decode_frame({buf.data(), n}, v), DecodeError::kOk);
                ASSERT_EQ(v.resend()->offset.get(), rs.offset);
                ASSERT_EQ(v.resend()->length.get(), rs.length);
                ASSERT_EQ(v.resend()->priority, rs.priority);
                break;
            }
            case 3: {
                Cutoffs cu{.common = c, .unsched_cutoffs = {}, .cutoff_version = r16()};
                for (auto &x : cu.unsched_cutoffs) x = r32();
                n = encode(buf, a, cu);
                ASSERT_EQ(decode_frame({buf.data(), n}, v), DecodeError::kOk);
                for (size_t i = 0; i < 8; ++i) {
                    ASSERT_EQ(v.cutoffs()->unsched_cutoffs[i].get(), cu.unsched_cutoffs[i]);
                }
                ASSERT_EQ(v.cutoffs()->cutoff_version.get(), cu.cutoff_version);
                break;
            }
            case 4: {
                Acks ak{.common = c, .num_acks = uint16_t(rng() % 6), .acks = {}};
                for (auto &x : ak.acks) x = {rng(), r16()};
                n = encode(buf, a, ak);
                ASSERT_EQ(decode_frame({buf.data(), n}, v), DecodeError::kOk);
                ASSERT_EQ(v.ack()->num_acks.get(), ak.num_acks);
                for (size_t i = 0; i < ak.num_acks; ++i) {
                    ASSERT_EQ(v.ack()->acks[i].client_id.get(), ak.acks[i].client_id);
                    ASSERT_EQ(v.ack()->acks[i].server_port.get(), ak.acks[i].server_port);
                }
                break;
            }
            default: {
                static constexpr PacketType kBare[] = {PacketType::kRpcUnknown, PacketType::kBusy,
                                                       PacketType::kFreeze, PacketType::kNeedAck};
                Bare b{.type = kBare[rng() % 4], .common = c};
                n = encode(buf, a, b);
                ASSERT_EQ(decode_frame({buf.data(), n}, v), DecodeError::kOk);
                ASSERT_EQ(v.type(), b.type);
                break;
            }
        }
        ASSERT_EQ(v.common().sport.get(), c.sport);
        ASSERT_EQ(v.common().dport.get(), c.dport);
        ASSERT_EQ(v.common().sender_id.get(), c.sender_id);
        ASSERT_EQ(v.src_ip(), a.src_ip);
        ASSERT_EQ(v.dst_ip(), a.dst_ip);
        ASSERT_EQ(v.ip_priority(), a.priority);
        ASSERT_EQ(v.vlan_tci() & 0xFFF, a.vlan_id);
    }
}

// Issue 14: a reply to port 0 goes nowhere, and no socket has port 0.
TEST(Decode, ZeroPort_RejectedForEveryTypeButFreeze) {
    for (bool zero_source : {true, false}) {
        Common c = kPorts;
        (zero_source ? c.sport : c.dport) = 0;
        EXPECT_EQ(decode(frame_of(Bare{.type = PacketType::kBusy, .common = c})),
                  DecodeError::kZeroPort);
        EXPECT_EQ(decode(frame_of(Grant{.common = c, .offset = 1, .priority = 1})),
                  DecodeError::kZeroPort);
        Data d;
        d.common = c;
        d.message_length = 10;
        std::array<uint8_t, 10> payload{};
        std::array<uint8_t, 256> buf{};
        size_t n = encode(buf, test_addr(), d, payload);
        ASSERT_GT(n, 0u);
        EXPECT_EQ(decode({buf.begin(), buf.begin() + n}), DecodeError::kZeroPort);
    }
    // FREEZE is about hosts, not sockets.
    EXPECT_EQ(decode(frame_of(Bare{.type = PacketType::kFreeze, .common = {}})), DecodeError::kOk);
}

// Issue 14: `incoming` beyond the message would count bytes that cannot arrive.
TEST(Decode, DataIncomingBeyondMessage_Rejected) {
    auto f = data_frame(1000, 0, 100);
    ASSERT_EQ(decode(f), DecodeError::kOk);
    // incoming: bytes 32..35 of the DATA header, big-endian.
    auto set_incoming = [&](uint32_t v) {
        f[kHoma + 32] = uint8_t(v >> 24);
        f[kHoma + 33] = uint8_t(v >> 16);
        f[kHoma + 34] = uint8_t(v >> 8);
        f[kHoma + 35] = uint8_t(v);
    };
    set_incoming(1000);
    EXPECT_EQ(decode(f), DecodeError::kOk);
    set_incoming(1001);
    EXPECT_EQ(decode(f), DecodeError::kDataIncomingBeyondMessage);
}

}  // namespace
}  // namespace homa::wire
