// EAL bring-up in the unprivileged test mode, and proof that proto's own Ethernet/IPv4
// definitions agree with DPDK's (proto may not include rte_*.h, so this is where they meet).
#include "homa/dataplane/eal.h"

#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_lcore.h>

#include <random>

#include "homa/proto/encode.h"
#include "homa/proto/frame.h"

namespace homa::dp {
namespace {

class EalEnvironment : public ::testing::Environment {
  public:
    void SetUp() override {
        int rc = init_eal(unprivileged_eal_args("eal_test", 64));
        ASSERT_GE(rc, 0) << "rte_eal_init failed: " << -rc;
    }
    void TearDown() override { rte_eal_cleanup(); }
};

TEST(UnprivilegedEalArgs, NoHugeNoShconfUniquePrefix) {
    auto args = unprivileged_eal_args("x", 128, {"--vdev=net_null0"});
    ASSERT_EQ(args.size(), 7u);
    EXPECT_EQ(args[0], "--no-huge");
    EXPECT_EQ(args[1], "--no-shconf");
    EXPECT_EQ(args[2], "--no-pci");
    EXPECT_EQ(args[4], "128");
    EXPECT_EQ(args[5], "--file-prefix=x-" + std::to_string(getpid()));
    EXPECT_EQ(args[6], "--vdev=net_null0");
}

TEST(InitEal, MainLcoreRunning) {
    EXPECT_EQ(rte_lcore_id(), rte_get_main_lcore());
    EXPECT_GE(rte_lcore_count(), 1u);
}

TEST(InitEal, SecondInitFailsWithError) {
    // EAL refuses to initialise twice; the helper must turn that into a negative errno.
    EXPECT_LT(init_eal(unprivileged_eal_args("eal_test_again", 64)), 0);
}

TEST(WireVsDpdk, HeaderLayoutsAgree) {
    EXPECT_EQ(sizeof(wire::EthernetHeader), sizeof(rte_ether_hdr));
    EXPECT_EQ(sizeof(wire::VlanTag), sizeof(rte_vlan_hdr));
    EXPECT_EQ(sizeof(wire::Ipv4Header), sizeof(rte_ipv4_hdr));
    EXPECT_EQ(offsetof(wire::Ipv4Header, checksum), offsetof(rte_ipv4_hdr, hdr_checksum));
    EXPECT_EQ(offsetof(wire::Ipv4Header, src), offsetof(rte_ipv4_hdr, src_addr));
}

TEST(WireVsDpdk, ChecksumAgreesWithRteIpv4Cksum) {
    std::mt19937_64 rng(7);
    std::array<uint8_t, 128> buf{};
    for (int i = 0; i < 1000; ++i) {
        wire::FrameAddr a;
        a.src_ip = static_cast<uint32_t>(rng());
        a.dst_ip = static_cast<uint32_t>(rng());
        a.priority = rng() % 8;
        a.ip_id = static_cast<uint16_t>(rng());
        wire::Grant g{.common = {}, .offset = 1, .priority = 0};
        ASSERT_GT(wire::encode(buf, a, g), 0u);
        auto *ip = reinterpret_cast<rte_ipv4_hdr *>(buf.data() + sizeof(rte_ether_hdr));
        uint16_t ours = ip->hdr_checksum;
        ip->hdr_checksum = 0;
        ASSERT_EQ(rte_ipv4_cksum(ip), ours);
        EXPECT_EQ(ip->next_proto_id, 146);
        EXPECT_EQ(rte_be_to_cpu_16(ip->total_length), 20 + 33);
    }
}

}  // namespace
}  // namespace homa::dp

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new homa::dp::EalEnvironment);
    return RUN_ALL_TESTS();
}
