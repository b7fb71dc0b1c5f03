// Packet-type helpers and the Internet checksum.
#include "homa/proto/wire.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "homa/proto/frame.h"
#include "homa/proto/rpc_id.h"

namespace homa::wire {
namespace {

TEST(Wire, HeaderSize_EveryTypeMatchesWireMd) {
    const std::vector<std::pair<uint8_t, size_t>> want = {{0x10, 56}, {0x11, 33}, {0x12, 37},
                                                          {0x13, 28}, {0x14, 28}, {0x15, 62},
                                                          {0x16, 28}, {0x17, 28}, {0x18, 80}};
    for (auto [type, size] : want) EXPECT_EQ(header_size(type), size) << int(type);
    EXPECT_EQ(header_size(0x19), 0u);
    EXPECT_EQ(header_size(0x0F), 0u);
}

TEST(Wire, PacketTypeName_DistinctForKnownTypes) {
    std::set<std::string> names;
    for (uint8_t t = kFirstPacketType; t <= kLastPacketType; ++t) names.insert(packet_type_name(t));
    EXPECT_EQ(names.size(), 9u);
    EXPECT_EQ(names.count("unknown"), 0u);
    EXPECT_STREQ(packet_type_name(0x42), "unknown");
}

TEST(Wire, DefaultCutoffs_MatchLinux) {
    EXPECT_EQ(kDefaultUnschedCutoffs[7], 200u);
    EXPECT_EQ(kDefaultUnschedCutoffs[6], 2800u);
    EXPECT_EQ(kDefaultUnschedCutoffs[5], 15000u);
    EXPECT_EQ(kDefaultUnschedCutoffs[4], 0xFFFFFFFFu);
}

TEST(InternetChecksum, KnownHeader) {
    // The classic example IPv4 header from RFC 1071 discussions (checksum 0xB861).
    std::vector<uint8_t> h = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                              0x00, 0x00, 0xC0, 0xA8, 0x00, 0x01, 0xC0, 0xA8, 0x00, 0xC7};
    EXPECT_EQ(internet_checksum(h), 0xB861);
    h[10] = 0xB8;
    h[11] = 0x61;
    EXPECT_EQ(internet_checksum(h), 0);
}

TEST(InternetChecksum, OddLength) {
    std::vector<uint8_t> b = {0x01, 0x02, 0x03};
    EXPECT_EQ(internet_checksum(b), static_cast<uint16_t>(~(0x0102 + 0x0300)));
}

// The word-at-a-time sum against the definition (big-endian 16-bit words, carries folded) for
// every length up to 80 and every alignment, on random bytes and on all-0xFF (maximal carries).
TEST(InternetChecksum, MatchesTheDefinitionForEveryLengthAndAlignment) {
    auto reference = [](const uint8_t *p, size_t n) {
        uint32_t sum = 0;
        for (size_t i = 0; i < n; i += 2) {
            sum += uint32_t{p[i]} << 8 | (i + 1 < n ? p[i + 1] : 0);
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return static_cast<uint16_t>(~sum & 0xFFFF);
    };
    std::vector<uint8_t> buf(96);
    uint32_t x = 12345;
    for (int fill = 0; fill < 2; ++fill) {
        for (auto &b : buf) {
            x = x * 1103515245 + 12345;
            b = fill ? 0xFF : static_cast<uint8_t>(x >> 16);
        }
        for (size_t align = 0; align < 4; ++align) {
            for (size_t n = 0; n <= 80; ++n) {
                ASSERT_EQ(internet_checksum({buf.data() + align, n}),
                          reference(buf.data() + align, n))
                    << "length " << n << " alignment " << align << " fill " << fill;
            }
        }
    }
}

TEST(RpcId, LocalIdFlipsLowBit) {
    EXPECT_EQ(local_id(100), 101u);
    EXPECT_EQ(local_id(101), 100u);
    EXPECT_TRUE(is_client_id(100));
    EXPECT_TRUE(is_server_id(101));
    EXPECT_FALSE(is_server_id(100));
    EXPECT_EQ(client_id(101), 100u);
    EXPECT_EQ(client_id(100), 100u);
}

TEST(RpcId, ClientIdAllocator_EvenIncreasingNonZero) {
    ClientIdAllocator a;
    uint64_t prev = 0;
    for (int i = 0; i < 1000; ++i) {
        uint64_t id = a.next();
        EXPECT_TRUE(is_client_id(id));
        EXPECT_GT(id, prev);
        prev = id;
    }
    EXPECT_EQ(ClientIdAllocator(0).next(), 2u);
    EXPECT_EQ(ClientIdAllocator(7).next(), 8u);
    EXPECT_EQ(ClientIdAllocator(8).next(), 8u);
}

}  // namespace
}  // namespace homa::wire
