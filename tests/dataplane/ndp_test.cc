// Neighbour Discovery and ICMPv6 echo frames (no EAL): frames written out by hand from RFC 4861
// and RFC 4443, with every ICMPv6 checksum computed by DPDK's rte_ipv6_udptcp_cksum (an
// implementation independent of ours) rather than by the code under test.
#include <gtest/gtest.h>
#include <rte_ip.h>

#include <cstring>
#include <string>
#include <vector>

#include "dataplane/ndp.h"

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
// fd00::1 (the kernel) and fd00::a:bc:de02 (us): distinct low 24 bits for the group.
constexpr Ipv6Addr kKernelIp = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
constexpr Ipv6Addr kOurIp = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a, 0, 0xbc, 0xde, 0x02};
const std::string kKernelIpHex = "fd000000000000000000000000000001";
std::string our_ip_hex() { return "fd000000000000000000000a00bcde02"; }

// Fills the ICMPv6 checksum of a frame (untagged, IPv6 at 14) with DPDK's implementation.
void dpdk_checksum(std::vector<uint8_t> &f, size_t l3 = 14) {
    auto *ip = reinterpret_cast<const rte_ipv6_hdr *>(f.data() + l3);
    uint8_t *icmp = f.data() + l3 + 40;
    icmp[2] = icmp[3] = 0;
    uint16_t c = rte_ipv6_udptcp_cksum(ip, icmp);
    std::memcpy(icmp + 2, &c, 2);  // DPDK returns it ready to store
}

// True if the frame's ICMPv6 checksum is what DPDK computes for it.
bool dpdk_checksum_ok(const std::vector<uint8_t> &f, size_t l3 = 14) {
    auto g = f;
    dpdk_checksum(g, l3);
    return g == f;
}

// A Neighbour Solicitation for our address, as Linux sends it: to our solicited-node group
// ff02::1:ffbc:de02 (MAC 33:33:ff:bc:de:02), hop limit 255, source link-layer option.
std::vector<uint8_t> kernel_ns() {
    auto f =
        hex("3333ffbcde02"
            "3a1b2c3d4e5f"
            "86dd"
            "60000000"
            "0020"
            "3a"
            "ff" +
            kKernelIpHex + "ff0200000000000000000001ffbcde02" +
            "87"
            "00"
            "0000"
            "00000000" +
            our_ip_hex() +
            "01"
            "01"
            "3a1b2c3d4e5f");
    dpdk_checksum(f);
    return f;
}

TEST(Ndp, SolicitedNodeGroupAndMac) {
    Ipv6Addr g = solicited_node(kOurIp);
    EXPECT_EQ(g, (Ipv6Addr{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xbc, 0xde, 0x02}));
    EXPECT_EQ(multicast_mac(g), (MacAddr{0x33, 0x33, 0xff, 0xbc, 0xde, 0x02}));
    EXPECT_EQ(multicast_mac(kAllNodes), (MacAddr{0x33, 0x33, 0, 0, 0, 1}));
}

TEST(Ndp, ChecksumAgreesWithDpdk) {
    auto f = kernel_ns();
    ASSERT_EQ(f.size(), 14u + 40 + 32);
    Ipv6Addr src, dst;
    std::memcpy(src.data(), &f[22], 16);
    std::memcpy(dst.data(), &f[38], 16);
    EXPECT_EQ(icmp6_checksum(src, dst, {f.data() + 54, 32}), 0);  // verifies
    f[60] ^= 0x01;
    EXPECT_NE(icmp6_checksum(src, dst, {f.data() + 54, 32}), 0);
}

TEST(Ndp, ParsesKernelSolicitation) {
    NdPacket nd;
    ASSERT_TRUE(parse_nd(kernel_ns(), &nd));
    EXPECT_EQ(nd.type, kNeighbourSolicitation);
    EXPECT_EQ(nd.src, kKernelIp);
    EXPECT_EQ(nd.dst, solicited_node(kOurIp));
    EXPECT_EQ(nd.target, kOurIp);
    EXPECT_TRUE(nd.has_lladdr);
    EXPECT_EQ(nd.lladdr, kKernelMac);
    EXPECT_EQ(nd.eth_src, kKernelMac);
}

TEST(Ndp, RejectsInvalidSolicitations) {
    NdPacket nd;
    auto f = kernel_ns();
    f[21] = 254;  // hop limit: a router forwarded it
    dpdk_checksum(f);
    EXPECT_FALSE(parse_nd(f, &nd));
    f = kernel_ns();
    f[60] ^= 1;  // checksum no longer verifies
    EXPECT_FALSE(parse_nd(f, &nd));
    f = kernel_ns();
    f[55] = 1;  // code 1
    dpdk_checksum(f);
    EXPECT_FALSE(parse_nd(f, &nd));
    f = kernel_ns();
    f[79] = 0;  // option of length 0
    dpdk_checksum(f);
    EXPECT_FALSE(parse_nd(f, &nd));
    f = kernel_ns();
    f[62] = 0xff;  // multicast target
    dpdk_checksum(f);
    EXPECT_FALSE(parse_nd(f, &nd));
    f = kernel_ns();
    std::memset(&f[22], 0, 16);  // DAD (source ::) with a source link-layer option
    dpdk_checksum(f);
    EXPECT_FALSE(parse_nd(f, &nd));
    f.resize(f.size() - 8);  // ... and without one: valid
    f[19] = 24;
    dpdk_checksum(f);
    ASSERT_TRUE(parse_nd(f, &nd));
    EXPECT_FALSE(nd.has_lladdr);
    f = kernel_ns();
    f.resize(70);  // truncated
    EXPECT_FALSE(parse_nd(f, &nd));
}

TEST(Ndp, BuildsSolicitationByteForByte) {
    std::vector<uint8_t> out(128, 0xEE);
    size_t n = build_ns(out, kOurMac, 0, kOurIp, kKernelIp);
    ASSERT_EQ(n, 86u);
    out.resize(n);
    auto want =
        hex("3333ff000001"
            "020000000001"
            "86dd"
            "60000000"
            "0020"
            "3a"
            "ff" +
            our_ip_hex() + "ff0200000000000000000001ff000001" +
            "87"
            "00"
            "0000"
            "00000000" +
            kKernelIpHex +
            "01"
            "01"
            "020000000001");
    dpdk_checksum(want);
    EXPECT_EQ(out, want);
    NdPacket nd;
    ASSERT_TRUE(parse_nd(out, &nd));
    EXPECT_EQ(nd.target, kKernelIp);
}

TEST(Ndp, BuildsAdvertisementByteForByte_Tagged) {
    std::vector<uint8_t> out(128, 0xEE);
    size_t n = build_na(out, kOurMac, kKernelMac, 7, kOurIp, kKernelIp, true);
    ASSERT_EQ(n, 90u);
    out.resize(n);
    auto want =
        hex("3a1b2c3d4e5f"
            "020000000001"
            "8100"
            "0007"
            "86dd"
            "60000000"
            "0020"
            "3a"
            "ff" +
            our_ip_hex() + kKernelIpHex +
            "88"
            "00"
            "0000"
            "60000000" +
            our_ip_hex() +
            "02"
            "01"
            "020000000001");
    dpdk_checksum(want, 18);
    EXPECT_EQ(out, want);
    NdPacket nd;
    ASSERT_TRUE(parse_nd(out, &nd));
    EXPECT_EQ(nd.type, kNeighbourAdvertisement);
    EXPECT_TRUE(nd.solicited);
    EXPECT_TRUE(nd.override_);
    EXPECT_EQ(nd.lladdr, kOurMac);
    EXPECT_EQ(nd.vlan_tci, 7);
}

TEST(Ndp, RejectsSolicitedAdvertisementToMulticast) {
    std::vector<uint8_t> out(128);
    size_t n = build_na(out, kOurMac, multicast_mac(kAllNodes), 0, kOurIp, kAllNodes, true);
    out.resize(n);
    NdPacket nd;
    EXPECT_FALSE(parse_nd(out, &nd));
    n = build_na(out, kOurMac, multicast_mac(kAllNodes), 0, kOurIp, kAllNodes, false);
    EXPECT_TRUE(parse_nd({out.data(), n}, &nd));
}

// ping -6 fd00::a:bc:de02 as the kernel sends it: traffic class 0, flow label set.
std::vector<uint8_t> echo_request() {
    auto f =
        hex("020000000001"
            "3a1b2c3d4e5f"
            "86dd"
            "6000abcd"
            "0010"
            "3a"
            "40" +
            kKernelIpHex + our_ip_hex() +
            "80"
            "00"
            "0000"
            "1234"
            "0001"
            "6162636465666768");
    dpdk_checksum(f);
    return f;
}

TEST(Icmp6Echo, ReplyByteForByte) {
    std::vector<uint8_t> out(256, 0xEE);
    size_t n = icmp6_echo_reply(echo_request(), kOurIp, kOurMac, out);
    ASSERT_EQ(n, 14u + 40 + 16);
    out.resize(n);
    auto want =
        hex("3a1b2c3d4e5f"
            "020000000001"
            "86dd"
            "60000000"
            "0010"
            "3a"
            "40" +
            our_ip_hex() + kKernelIpHex +
            "81"
            "00"
            "0000"
            "1234"
            "0001"
            "6162636465666768");
    dpdk_checksum(want);
    EXPECT_EQ(out, want);
    EXPECT_TRUE(dpdk_checksum_ok(out));
}

TEST(Icmp6Echo, IgnoresWhatItMustNotAnswer) {
    std::vector<uint8_t> out(256);
    auto f = echo_request();
    f[54 + 6] ^= 1;  // bad checksum
    EXPECT_EQ(icmp6_echo_reply(f, kOurIp, kOurMac, out), 0u);
    EXPECT_EQ(icmp6_echo_reply(echo_request(), kKernelIp, kOurMac, out), 0u);  // not us
    f = echo_request();
    f[54] = 129;  // a reply, not a request
    dpdk_checksum(f);
    EXPECT_EQ(icmp6_echo_reply(f, kOurIp, kOurMac, out), 0u);
    f = echo_request();
    f[19] = 0x40;  // payload length beyond the frame
    EXPECT_EQ(icmp6_echo_reply(f, kOurIp, kOurMac, out), 0u);
    EXPECT_EQ(icmp6_echo_reply(echo_request(), kOurIp, kOurMac, std::span(out).first(60)), 0u);
}

}  // namespace
}  // namespace homa::dp
