// The v2 C++ API's address parsing (homa/homa.h): SocketAddress and the host's local
// addresses, as Host::create and the apps read them. No EAL: parsing needs none.
#include <gtest/gtest.h>

#include <string>

#include "homa/homa.h"

namespace homa::v2 {
namespace {

TEST(SocketAddress_Parse, Ipv4RoundTrips) {
    auto e = SocketAddress::parse("10.0.0.1:99");
    ASSERT_TRUE(e) << e.message();
    EXPECT_EQ(e->family(), SocketAddress::Family::kIpv4);
    EXPECT_EQ(e->ipv4_address(), 0x0A000001u);
    EXPECT_EQ(e->port(), 99);
    EXPECT_EQ(e->to_string(), "10.0.0.1:99");
    EXPECT_EQ(SocketAddress::parse("255.255.255.255:65535")->to_string(), "255.255.255.255:65535");
    // IPv4-mapped storage, as Linux holds IPv4 peers on IPv6 sockets.
    EXPECT_EQ(e->bytes()[10], 0xFF);
    EXPECT_EQ(e->bytes()[15], 1);
    homa::Endpoint engine;
    ASSERT_TRUE(e->to_engine(&engine));
    EXPECT_EQ(engine.ip, 0x0A000001u);
    EXPECT_EQ(SocketAddress::from_engine(engine), *e);
}

TEST(SocketAddress_Parse, Ipv6RoundTrips) {
    auto e = SocketAddress::parse("[fd00:0::1]:99");
    ASSERT_TRUE(e) << e.message();
    EXPECT_EQ(e->family(), SocketAddress::Family::kIpv6);
    EXPECT_EQ(e->ipv4_address(), 0u);
    EXPECT_EQ(e->port(), 99);
    EXPECT_EQ(e->to_string(), "[fd00::1]:99");  // RFC 5952's form
    EXPECT_EQ(e->bytes()[0], 0xFD);
    EXPECT_EQ(e->bytes()[15], 1);
    homa::Endpoint engine;
    ASSERT_TRUE(e->to_engine(&engine));
    EXPECT_FALSE(engine.ip.is_ipv4());
    EXPECT_EQ(engine.ip.bytes(), e->bytes());
    EXPECT_EQ(engine.port, 99);
    EXPECT_EQ(SocketAddress::from_engine(engine), *e);
    // An IPv4-mapped literal is the IPv4 endpoint, as Linux takes it.
    auto mapped = SocketAddress::parse("[::ffff:10.0.0.1]:7");
    ASSERT_TRUE(mapped) << mapped.message();
    EXPECT_EQ(*mapped, SocketAddress::ipv4(0x0A000001, 7));
    EXPECT_EQ(mapped->to_string(), "10.0.0.1:7");
    EXPECT_EQ(SocketAddress::from_engine(homa::Endpoint{}), SocketAddress());
}

TEST(SocketAddress_Parse, BadInputIsEinvalWithAReason) {
    for (const char *bad : {"", "10.0.0.1", "10.0.0.1:", "10.0.0:99", "10.0.0.1.2:99",
                            "256.0.0.1:99", "10.0.0.1:65536", "10.0.0.1:-1", "a.b.c.d:1",
                            "10.0.0.1:99x", " 10.0.0.1:99", "10..0.1:99"}) {
        auto e = SocketAddress::parse(bad);
        EXPECT_FALSE(e) << bad;
        EXPECT_EQ(e.error(), -EINVAL) << bad;
        EXPECT_NE(e.message().find("bad endpoint"), std::string::npos) << e.message();
    }
    for (const char *bad : {"[fd00::1]", "[fd00::1]:", "[fd00::1:99", "[fd00::g]:99", "[]:99",
                            "[::]:99", "[ff02::1]:99", "[fd00::1]99", "[10.0.0.1]:99"}) {
        auto e = SocketAddress::parse(bad);
        EXPECT_FALSE(e) << bad;
        EXPECT_EQ(e.error(), -EINVAL) << bad;
        EXPECT_NE(e.message().find("bad endpoint"), std::string::npos) << e.message();
    }
    homa::Endpoint engine{7, 7};
    EXPECT_FALSE(SocketAddress().to_engine(&engine));
    EXPECT_EQ(engine.ip, 7u);
    EXPECT_EQ(SocketAddress().to_string(), "-");
}

// The one parser of a host's addresses (--local in Host::create, --local_ip in the apps).
TEST(LocalAddresses_Parse, EitherFamilyOrBothInEitherOrder) {
    const auto v4 = SocketAddress::ipv4(0x0A000001, 0);
    const auto v6 = *SocketAddress::parse("[fd00::1]:0");
    auto l = parse_local_addresses("10.0.0.1");
    ASSERT_TRUE(l) << l.message();
    EXPECT_EQ(l->ipv4, v4);
    EXPECT_EQ(l->ipv6, SocketAddress());
    l = parse_local_addresses("10.0.0.1,fd00::1");
    ASSERT_TRUE(l) << l.message();
    EXPECT_EQ(l->ipv4, v4);
    EXPECT_EQ(l->ipv6, v6);
    l = parse_local_addresses("[fd00::1],10.0.0.2");
    ASSERT_TRUE(l) << l.message();
    EXPECT_EQ(l->ipv4, SocketAddress::ipv4(0x0A000002, 0));
    EXPECT_EQ(l->ipv6, v6);
    l = parse_local_addresses("fd00::1");
    ASSERT_TRUE(l) << l.message();
    EXPECT_EQ(l->ipv4, SocketAddress());
    EXPECT_EQ(l->ipv6, v6);
    // Into HostOptions: IPv4 first when both, else the one there is.
    HostOptions o;
    set_local(*parse_local_addresses("fd00::1,10.0.0.1"), &o);
    EXPECT_EQ(o.local, v4);
    EXPECT_EQ(o.local_ipv6, v6);
    set_local(*parse_local_addresses("fd00::1"), &o);
    EXPECT_EQ(o.local, v6);
    EXPECT_EQ(o.local_ipv6, SocketAddress());
}

TEST(LocalAddresses_Parse, RefusesWhatIsNotOneAddressPerFamily) {
    for (const char *bad :
         {"", ",", "10.0.0.1,", "10.0.0.1,10.0.0.2", "fd00::1,fd00::2", "10.0.0.1,fd00::1,fd00::2",
          "0.0.0.0", "::", "ff02::1", "10.0.0.1,bogus", "10.0.0.1:99", "10.0.0"}) {
        auto l = parse_local_addresses(bad);
        EXPECT_EQ(l.error(), -EINVAL) << bad;
        EXPECT_NE(l.message().find(std::string("'") + bad + "'"), std::string::npos) << l.message();
    }
}

}  // namespace
}  // namespace homa::v2
