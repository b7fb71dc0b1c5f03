// decode_frame's shortcut for the common frame (untagged IPv4 without options, DATA) against
// decode_frame_general: every answer and every view the same, for valid frames, for every
// byte of one changed to every value, for every length, and at each field's limits.
#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <vector>

#include "decode_test_frames.h"
#include "homa/proto/decode.h"

namespace homa::wire {
namespace {

// Decodes `f` both ways; fails the test where they differ. Returns the shared answer.
DecodeError both_ways(std::span<const uint8_t> f) {
    PacketView fast, general;
    const DecodeError e = decode_frame(f, fast);
    const DecodeError eg = decode_frame_general(f, general);
    EXPECT_EQ(decode_error_name(e), std::string(decode_error_name(eg)));
    if (e != DecodeError::kOk || eg != DecodeError::kOk) return e;
    EXPECT_EQ(fast.is_ipv6(), general.is_ipv6());
    EXPECT_TRUE(general.is_ipv6() || &fast.ip() == &general.ip());
    EXPECT_EQ(&fast.common(), &general.common());
    EXPECT_EQ(fast.homa_offset(), general.homa_offset());
    EXPECT_EQ(fast.vlan_tci(), general.vlan_tci());
    EXPECT_EQ(fast.payload().data(), general.payload().data());
    EXPECT_EQ(fast.payload().size(), general.payload().size());
    return e;
}

DataHeader &data_of(std::vector<uint8_t> &f) {
    return *reinterpret_cast<DataHeader *>(f.data() + kHoma);
}

TEST(DecodePlain, ValidDataFramesGiveTheGeneralView) {
    for (size_t payload : {1u, 2u, 100u, 1400u}) {
        auto f = data_frame(static_cast<uint32_t>(payload) + 7, 7, payload);
        EXPECT_EQ(both_ways(f), DecodeError::kOk) << payload;
        PacketView v;
        ASSERT_EQ(decode_frame(f, v), DecodeError::kOk);
        EXPECT_EQ(v.payload().size(), payload);
        EXPECT_EQ(v.payload().data(), f.data() + kHoma + sizeof(DataHeader));
        // Ethernet padding after the datagram is not payload.
        f.resize(f.size() + 17, 0xEE);
        EXPECT_EQ(both_ways(f), DecodeError::kOk) << payload;
        ASSERT_EQ(decode_frame(f, v), DecodeError::kOk);
        EXPECT_EQ(v.payload().size(), payload);
    }
    // The frames it leaves to the general path still decode: tagged, and IP options.
    FrameAddr tagged = test_addr();
    tagged.vlan_id = 5;
    EXPECT_EQ(both_ways(data_frame(100, 0, 100, tagged)), DecodeError::kOk);
}

// Every byte of a valid frame set to every value, as it arrives (a wrong IPv4 checksum for a
// change in the IP header) and with the checksum made right again, so that each of the
// shortcut's field checks is reached with the header otherwise valid.
TEST(DecodePlain, EveryByteEveryValueSameAnswer) {
    const auto valid = data_frame(40, 16, 8);
    size_t accepted = 0, rejected = 0;
    for (size_t at = 0; at < valid.size(); ++at) {
        for (int value = 0; value < 256; ++value) {
            auto f = valid;
            f[at] = static_cast<uint8_t>(value);
            (both_ways(f) == DecodeError::kOk ? accepted : rejected) += 1;
            if (at >= kIp && at < kHoma && at != kIp + 10 && at != kIp + 11) {
                fix_ip_checksum(f);
                (both_ways(f) == DecodeError::kOk ? accepted : rejected) += 1;
            }
        }
    }
    // Both outcomes were reached many times: payload bytes, addresses, TOS, id and TTL may be
    // anything; type, lengths, ports, fragments and the checksum may not.
    EXPECT_GT(accepted, 10'000u);
    EXPECT_GT(rejected, 10'000u);
}

TEST(DecodePlain, EveryLengthSameAnswer) {
    const auto valid = data_frame(300, 0, 200);
    for (size_t n = 0; n <= valid.size(); ++n) {
        both_ways(std::span<const uint8_t>(valid.data(), n));
    }
    // total_length from below the headers to past the frame, the frame 8 bytes longer.
    for (uint32_t total = 0; total < 20 + 56 + 220; ++total) {
        auto f = valid;
        f.resize(valid.size() + 8);
        reinterpret_cast<Ipv4Header *>(f.data() + kIp)
            ->total_length.set(static_cast<uint16_t>(total));
        fix_ip_checksum(f);
        both_ways(f);
    }
}

// The ranges the shortcut checks itself, each at its limit and one past it.
TEST(DecodePlain, FieldLimitsSameAnswer) {
    struct Case {
        const char *what;
        void (*edit)(std::vector<uint8_t> &);
        DecodeError want;
    };
    const Case cases[] = {
        {"message_length at the maximum",
         [](auto &f) { data_of(f).message_length.set(kMaxMessageLength); }, DecodeError::kOk},
        {"message_length past the maximum",
         [](auto &f) { data_of(f).message_length.set(kMaxMessageLength + 1); },
         DecodeError::kDataMessageTooLong},
        {"message_length 0", [](auto &f) { data_of(f).message_length.set(0); },
         DecodeError::kDataMessageTooLong},
        {"payload ends at the message's end", [](auto &f) { data_of(f).seg_offset.set(92); },
         DecodeError::kOk},
        {"payload past the message's end", [](auto &f) { data_of(f).seg_offset.set(93); },
         DecodeError::kDataBeyondMessage},
        {"offset near 2^32", [](auto &f) { data_of(f).seg_offset.set(0xFFFFFFFF); },
         DecodeError::kDataBeyondMessage},
        {"incoming at the message's end", [](auto &f) { data_of(f).incoming.set(100); },
         DecodeError::kOk},
        {"incoming past it", [](auto &f) { data_of(f).incoming.set(101); },
         DecodeError::kDataIncomingBeyondMessage},
        {"source port 0", [](auto &f) { data_of(f).common.sport.set(0); }, DecodeError::kZeroPort},
        {"destination port 0", [](auto &f) { data_of(f).common.dport.set(0); },
         DecodeError::kZeroPort},
        {"don't fragment",
         [](auto &f) {
             reinterpret_cast<Ipv4Header *>(f.data() + kIp)->frag_off.set(kIpv4DontFragment);
             fix_ip_checksum(f);
         },
         DecodeError::kOk},
        {"the reserved flag",
         [](auto &f) {
             reinterpret_cast<Ipv4Header *>(f.data() + kIp)->frag_off.set(0x8000);
             fix_ip_checksum(f);
         },
         DecodeError::kOk},
        {"more fragments",
         [](auto &f) {
             reinterpret_cast<Ipv4Header *>(f.data() + kIp)->frag_off.set(kIpv4MoreFragments);
             fix_ip_checksum(f);
         },
         DecodeError::kIpFragment},
        {"a fragment offset",
         [](auto &f) {
             reinterpret_cast<Ipv4Header *>(f.data() + kIp)->frag_off.set(1);
             fix_ip_checksum(f);
         },
         DecodeError::kIpFragment},
        {"doff's low nibble", [](auto &f) { data_of(f).common.doff = kDataDoff | 0x0F; },
         DecodeError::kOk},
        {"doff of a control packet", [](auto &f) { data_of(f).common.doff = kControlDoff; },
         DecodeError::kBadDoff},
        {"a GRANT's type byte",
         [](auto &f) { data_of(f).common.type = static_cast<uint8_t>(PacketType::kGrant); },
         DecodeError::kBadDoff},
    };
    for (const Case &c : cases) {
        auto f = data_frame(100, 0, 8);
        c.edit(f);
        EXPECT_EQ(decode_error_name(both_ways(f)), std::string(decode_error_name(c.want)))
            << c.what;
    }
}

}  // namespace
}  // namespace homa::wire
