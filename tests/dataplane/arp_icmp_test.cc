// ARP and ICMP echo frames (no EAL): parsing, and replies checked byte by byte against frames
// written out by hand (checksums computed independently).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dataplane/arp.h"
#include "dataplane/icmp.h"

namespace homa::dp {
namespace {

std::vector<uint8_t> hex(const std::string &s) {
    std::vector<uint8_t> out;
    for (size_t i = 0; i + 1 < s.size(); i += 2) {
        out.push_back(static_cast<uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
    }
    return out;
}

constexpr MacAddr kKernelMac = {0x3a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f};
constexpr MacAddr kOurMac = {0x02, 0, 0, 0, 0, 0x01};
constexpr uint32_t kKernelIp = 0x0A000001, kOurIp = 0x0A000002;

// "Who has 10.0.0.2? Tell 10.0.0.1" as Linux sends it (42 bytes, unpadded).
const std::string kRequest =
    "ffffffffffff3a1b2c3d4e5f0806"
    "0001080006040001"
    "3a1b2c3d4e5f0a000001"
    "0000000000000a000002";

TEST(ParseArp, Request) {
    auto f = hex(kRequest);
    ArpPacket a;
    ASSERT_TRUE(parse_arp(f, &a));
    EXPECT_EQ(a.op, kArpRequest);
    EXPECT_EQ(a.sha, kKernelMac);
    EXPECT_EQ(a.spa, kKernelIp);
    EXPECT_EQ(a.tpa, kOurIp);
    EXPECT_EQ(a.vlan_tci, 0);
}

TEST(ParseArp, VlanTagged) {
    auto f =
        hex("ffffffffffff3a1b2c3d4e5f8100a0070806"
            "0001080006040002"
            "3a1b2c3d4e5f0a000001"
            "0200000000010a000002");
    ArpPacket a;
    ASSERT_TRUE(parse_arp(f, &a));
    EXPECT_EQ(a.op, kArpReply);
    EXPECT_EQ(a.vlan_tci, 0xa007);
    EXPECT_EQ(a.tha, kOurMac);
}

TEST(ParseArp, RejectsWhatIsNotEthernetIpv4Arp) {
    ArpPacket a;
    auto f = hex(kRequest);
    EXPECT_FALSE(parse_arp(std::span(f).first(41), &a));  // truncated
    auto g = f;
    g[21] = 3;  // op 3 (RARP)
    EXPECT_FALSE(parse_arp(g, &a));
    g = f;
    g[16] = 0x86;  // ptype IPv6
    EXPECT_FALSE(parse_arp(g, &a));
    g = f;
    g[12] = 0x08, g[13] = 0x00;  // an IPv4 frame
    EXPECT_FALSE(parse_arp(g, &a));
}

TEST(BuildArp, ReplyBytesPaddedToMinimumFrame) {
    ArpPacket rep{
        .op = kArpReply, .sha = kOurMac, .spa = kOurIp, .tha = kKernelMac, .tpa = kKernelIp};
    std::vector<uint8_t> out(128, 0xEE);
    size_t n = build_arp(out, kKernelMac, 0, rep);
    ASSERT_EQ(n, 60u);
    out.resize(n);
    EXPECT_EQ(out, hex("3a1b2c3d4e5f0200000000010806"
                       "0001080006040002"
                       "0200000000010a000002"
                       "3a1b2c3d4e5f0a000001"
                       "000000000000000000000000000000000000"));
}

TEST(BuildArp, RequestBytesVlanTagged) {
    ArpPacket req{.op = kArpRequest, .sha = kOurMac, .spa = kOurIp, .tha = {}, .tpa = kKernelIp};
    std::vector<uint8_t> out(64);
    size_t n = build_arp(out, kBroadcastMac, 7, req);
    ASSERT_EQ(n, 60u);
    out.resize(n);
    EXPECT_EQ(out, hex("ffffffffffff0200000000018100000708060001080006040001"
                       "0200000000010a000002"
                       "0000000000000a000001"
                       "0000000000000000000000000000"));
    std::vector<uint8_t> tiny(59);
    EXPECT_EQ(build_arp(tiny, kBroadcastMac, 0, req), 0u);
}

// ping 10.0.0.2 from 10.0.0.1: id 0x1234, seq 7, 16 bytes of data 00..0f.
const std::string kEchoRequest =
    "0200000000013a1b2c3d4e5f0800"
    "4500002cabcd400040017b010a0000010a000002"
    "0800ad8412340007000102030405060708090a0b0c0d0e0f";

TEST(IcmpEchoReply, ReplyBytes) {
    auto req = hex(kEchoRequest);
    std::vector<uint8_t> out(256);
    size_t n = icmp_echo_reply(req, kOurIp, kOurMac, 0x0042, out);
    ASSERT_EQ(n, req.size());
    out.resize(n);
    EXPECT_EQ(out, hex("3a1b2c3d4e5f0200000000010800"
                       "4500002c004240004001268d0a0000020a000001"
                       "0000b58412340007000102030405060708090a0b0c0d0e0f"));
}

TEST(IcmpEchoReply, KeepsVlanTag) {
    auto req = hex(kEchoRequest);
    req.insert(req.begin() + 12, {0x81, 0x00, 0x20, 0x05});
    std::vector<uint8_t> out(256);
    size_t n = icmp_echo_reply(req, kOurIp, kOurMac, 0x0042, out);
    ASSERT_EQ(n, req.size());
    EXPECT_EQ(std::vector<uint8_t>(out.begin() + 12, out.begin() + 18), hex("810020050800"));
    EXPECT_EQ(out[18 + 20], 0);  // echo reply
}

TEST(IcmpEchoReply, IgnoresWhatItMustNotAnswer) {
    auto req = hex(kEchoRequest);
    std::vector<uint8_t> out(256);
    EXPECT_EQ(icmp_echo_reply(req, kOurIp + 1, kOurMac, 0, out), 0u);  // not our address
    auto bad = req;
    bad[14 + 20 + 8] ^= 1;  // ICMP checksum
    EXPECT_EQ(icmp_echo_reply(bad, kOurIp, kOurMac, 0, out), 0u);
    bad = req;
    bad[14 + 8] = 63;  // IP checksum
    EXPECT_EQ(icmp_echo_reply(bad, kOurIp, kOurMac, 0, out), 0u);
    bad = req;
    bad[14 + 20] = 0;  // an echo reply
    EXPECT_EQ(icmp_echo_reply(bad, kOurIp, kOurMac, 0, out), 0u);
    bad = req;
    bad[14 + 6] = 0x20;  // a fragment
    EXPECT_EQ(icmp_echo_reply(bad, kOurIp, kOurMac, 0, out), 0u);
    EXPECT_EQ(icmp_echo_reply(std::span(req).first(40), kOurIp, kOurMac, 0, out), 0u);
    std::vector<uint8_t> small(40);
    EXPECT_EQ(icmp_echo_reply(req, kOurIp, kOurMac, 0, small), 0u);  // no room
}

}  // namespace
}  // namespace homa::dp
