// The apps' address text: IPv6 literals (bracketed or not), canonical formatting, and engine
// addresses of either family. --local_ip's "IPv4[,IPv6]" form is the library's parser,
// tested in tests/dataplane/api_test.cc (LocalAddresses_Parse).
#include <gtest/gtest.h>

#include "apps/common/ipv6.h"

namespace homa::apps {
namespace {

constexpr wire::Ipv6Addr kFd00_1 = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

TEST(Ipv6Text, ParsesLiteralsAndBrackets) {
    wire::Ipv6Addr a{};
    ASSERT_TRUE(parse_ipv6("fd00::1", &a));
    EXPECT_EQ(a, kFd00_1);
    a = {};
    ASSERT_TRUE(parse_ipv6("[fd00::1]", &a));
    EXPECT_EQ(a, kFd00_1);
    ASSERT_TRUE(parse_ipv6("::ffff:10.0.0.1", &a));
    EXPECT_EQ(a[10], 0xff);
    EXPECT_EQ(a[12], 10);
    EXPECT_FALSE(parse_ipv6("10.0.0.1", &a));
    EXPECT_FALSE(parse_ipv6("fd00::1::2", &a));
    EXPECT_FALSE(parse_ipv6("[fd00::1", &a));
    EXPECT_FALSE(parse_ipv6("", &a));
}

TEST(Ipv6Text, FormatsCanonically) {
    EXPECT_EQ(format_ipv6(kFd00_1), "fd00::1");
    wire::Ipv6Addr a;
    ASSERT_TRUE(parse_ipv6("FD00:0:0:0:0:0:0:00A", &a));
    EXPECT_EQ(format_ipv6(a), "fd00::a");
}

TEST(IpText, EngineAddressesOfEitherFamily) {
    IpAddress a;
    ASSERT_TRUE(parse_ip("10.0.0.1", &a));
    EXPECT_EQ(a, IpAddress(0x0A000001));
    EXPECT_EQ(format_ip(a), "10.0.0.1");
    ASSERT_TRUE(parse_ip("[fd00::1]", &a));
    EXPECT_EQ(a, IpAddress::ipv6(kFd00_1));
    EXPECT_EQ(format_ip(a), "fd00::1");
    ASSERT_TRUE(parse_ip("::ffff:10.0.0.2", &a));  // IPv4-mapped is the IPv4 address
    EXPECT_EQ(a, IpAddress(0x0A000002));
    EXPECT_EQ(format_ip(a), "10.0.0.2");
    EXPECT_FALSE(parse_ip("10.0.0", &a));
    EXPECT_FALSE(parse_ip("fd00::g", &a));
    EXPECT_FALSE(parse_ip("", &a));
}

}  // namespace
}  // namespace homa::apps
