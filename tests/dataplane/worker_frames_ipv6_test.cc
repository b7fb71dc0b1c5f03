// A worker on its link over IPv6, frames in -> frames out (the net_ring harness of
// wire_harness.h, as in worker_frames_test.cc, whose main brings EAL up): Neighbour
// Solicitations answered byte by byte and solicitors learned, stale neighbours re-probed,
// duplicate address probes, advertisements, ICMPv6 echo, and Homa over IPv6 to the engine.
#include <gtest/gtest.h>
#include <rte_ip.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "homa/proto/encode.h"
#include "tests/dataplane/dataplane_fixture.h"
#include "tests/dataplane/wire_harness.h"

namespace homa {
namespace {

using test::Bytes;
using test::hex;
using test::hex_mac;
using test::kPeerMac;
using test::Wire;

constexpr wire::Ipv6Addr kOurIp6 = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
constexpr wire::Ipv6Addr kPeerIp6 = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
const std::string kOurIp6Hex = "fd000000000000000000000000000002";
const std::string kPeerIp6Hex = "fd000000000000000000000000000001";

// ICMPv6 checksum by DPDK's implementation (not ours), for frames written out by hand.
Bytes with_icmp6_checksum(Bytes f) {
    auto *ip = reinterpret_cast<const rte_ipv6_hdr *>(f.data() + 14);
    f[14 + 40 + 2] = f[14 + 40 + 3] = 0;
    uint16_t c = rte_ipv6_udptcp_cksum(ip, f.data() + 14 + 40);
    std::memcpy(f.data() + 14 + 40 + 2, &c, 2);
    return f;
}

void with_ipv6(dp::WorkerConfig &wc) { wc.local_ip6 = kOurIp6; }

// "Who has fd00::2?" from fd00::1, as Linux sends it: to ff02::1:ff00:2.
Bytes ns_for(const std::string &target_hex) {
    return with_icmp6_checksum(
        hex("3333ff000002"
            "3a1b2c3d4e5f"
            "86dd"
            "60000000"
            "0020"
            "3a"
            "ff" +
            kPeerIp6Hex + "ff0200000000000000000001ff000002" +
            "87000000"
            "00000000" +
            target_hex +
            "0101"
            "3a1b2c3d4e5f"));
}

TEST(WorkerNdp, SolicitationAnsweredByteByByteAndSolicitorLearned) {
    Wire wire("nd1", with_ipv6);
    ASSERT_EQ(wire.error, "");
    EXPECT_NE(wire.host.info.multicast, dp::MulticastMode::kNotNeeded);
    wire.inject(ns_for(kOurIp6Hex));
    auto out = wire.take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], with_icmp6_checksum(hex("3a1b2c3d4e5f" + hex_mac(wire.mac) + "86dd" +
                                              "60000000"
                                              "0020"
                                              "3a"
                                              "ff" +
                                              kOurIp6Hex + kPeerIp6Hex +
                                              "88000000"
                                              "60000000" +
                                              kOurIp6Hex + "0201" + hex_mac(wire.mac))));
    dp::MacAddr learned;
    EXPECT_EQ(wire.worker().neighbours6().state(kPeerIp6, &learned),
              dp::NeighbourState::kReachable);
    EXPECT_EQ(learned, kPeerMac);
    EXPECT_EQ(wire.worker().stats().nd_advertisements_sent, 1u);
    EXPECT_EQ(wire.worker().stats().rx_nd, 1u);
}

TEST(WorkerNdp, StaleNeighbourReprobedBySolicitation) {
    Wire wire("nd6", [](dp::WorkerConfig &wc) {
        wc.local_ip6 = kOurIp6;
        // Learned entries go stale after 30 ms; retries only after a second (never here), so
        // a slow machine cannot make a second probe appear.
        wc.neighbour.reachable_ns = 30'000'000;
        wc.neighbour.probe_interval_ns = 1'000'000'000;
    });
    ASSERT_EQ(wire.error, "");
    wire.inject(ns_for(kOurIp6Hex));
    ASSERT_EQ(wire.take().size(), 1u);  // our advertisement
    usleep(60'000);
    auto out = wire.take();
    // "Who has fd00::1?" from us to ff02::1:ff00:1 with our link-layer address.
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], with_icmp6_checksum(hex("3333ff000001" + hex_mac(wire.mac) + "86dd" +
                                              "60000000"
                                              "0020"
                                              "3a"
                                              "ff" +
                                              kOurIp6Hex + "ff0200000000000000000001ff000001" +
                                              "87000000"
                                              "00000000" +
                                              kPeerIp6Hex + "0101" + hex_mac(wire.mac))));
    EXPECT_EQ(wire.worker().stats().nd_solicitations_sent, 1u);
    EXPECT_EQ(wire.worker().neighbours6().stats().probes, 1u);
}

TEST(WorkerNdp, SolicitationSharedSoEveryWorkerLearns) {
    // net_ring has one RX queue: worker 0 receives, answers once, and hands the solicitation
    // to worker 1, which only learns from it (as for ARP).
    Wire wire("nd7", with_ipv6, 2);
    ASSERT_EQ(wire.error, "");
    wire.inject(ns_for(kOurIp6Hex));
    auto out = wire.take();
    ASSERT_EQ(out.size(), 1u);
    for (auto *w : wire.host.workers) {
        EXPECT_EQ(w->neighbours6().state(kPeerIp6), dp::NeighbourState::kReachable);
        EXPECT_EQ(w->stats().rx_nd, 1u);
    }
    EXPECT_EQ(wire.host.workers[0]->stats().arp_shared, 1u);
    EXPECT_EQ(wire.host.workers[0]->stats().nd_advertisements_sent +
                  wire.host.workers[1]->stats().nd_advertisements_sent,
              1u);
}

TEST(WorkerNdp, SolicitationForAnotherAddressIgnored_AndNoIpv6NoAnswer) {
    Wire wire("nd2", with_ipv6);
    ASSERT_EQ(wire.error, "");
    wire.inject(ns_for("fd000000000000000000000000000009"));
    EXPECT_TRUE(wire.take().empty());
    EXPECT_EQ(wire.worker().neighbours6().state(kPeerIp6), dp::NeighbourState::kFree);
    EXPECT_EQ(wire.worker().stats().rx_nd, 1u);

    Wire v4only("nd3");
    ASSERT_EQ(v4only.error, "");
    EXPECT_EQ(v4only.host.info.multicast, dp::MulticastMode::kNotNeeded);
    v4only.inject(ns_for(kOurIp6Hex));
    EXPECT_TRUE(v4only.take().empty());
    EXPECT_EQ(v4only.worker().stats().rx_other, 1u);
}

TEST(WorkerNdp, DuplicateAddressProbeAnsweredToAllNodes) {
    Wire wire("nd4", with_ipv6);
    ASSERT_EQ(wire.error, "");
    // From :: to our solicited-node group, no link-layer option (RFC 4862 DAD).
    wire.inject(
        with_icmp6_checksum(hex("3333ff000002"
                                "3a1b2c3d4e5f"
                                "86dd"
                                "60000000"
                                "0018"
                                "3a"
                                "ff" +
                                std::string(32, '0') + "ff0200000000000000000001ff000002" +
                                "87000000"
                                "00000000" +
                                kOurIp6Hex)));
    auto out = wire.take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], with_icmp6_checksum(hex("333300000001" + hex_mac(wire.mac) + "86dd" +
                                              "60000000"
                                              "0020"
                                              "3a"
                                              "ff" +
                                              kOurIp6Hex + "ff020000000000000000000000000001" +
                                              "88000000"
                                              "20000000" +
                                              kOurIp6Hex + "0201" + hex_mac(wire.mac))));
    EXPECT_EQ(wire.worker().neighbours6().state(wire::Ipv6Addr{}), dp::NeighbourState::kFree);
}

TEST(WorkerNdp, AdvertisementOnlyRefreshesKnownEntries) {
    Wire wire("nd5", [](dp::WorkerConfig &wc) {
        wc.local_ip6 = kOurIp6;
        wc.neighbours6.push_back({kPeerIp6, dp::MacAddr{2, 9, 9, 9, 9, 9}});
    });
    ASSERT_EQ(wire.error, "");
    // An unsolicited advertisement of fd00::7: no entry is created (RFC 4861 7.2.5).
    wire.inject(
        with_icmp6_checksum(hex(hex_mac(wire.mac) +
                                "3a1b2c3d4e5f"
                                "86dd"
                                "60000000"
                                "0020"
                                "3a"
                                "ff" +
                                kPeerIp6Hex + kOurIp6Hex +
                                "88000000"
                                "20000000" +
                                "fd000000000000000000000000000007" + "0201" + "3a1b2c3d4e5f")));
    EXPECT_TRUE(wire.take().empty());
    EXPECT_EQ(wire.worker().stats().rx_nd, 1u);
    wire::Ipv6Addr seven = kPeerIp6;
    seven[15] = 7;
    EXPECT_EQ(wire.worker().neighbours6().state(seven), dp::NeighbourState::kFree);
    EXPECT_EQ(wire.worker().neighbours6().state(kPeerIp6), dp::NeighbourState::kStatic);
}

TEST(WorkerIcmp6, EchoRequestAnsweredByteByByte) {
    Wire wire("icmp6", with_ipv6);
    ASSERT_EQ(wire.error, "");
    wire.inject(with_icmp6_checksum(hex(hex_mac(wire.mac) +
                                        "3a1b2c3d4e5f"
                                        "86dd"
                                        "6000beef"
                                        "0010"
                                        "3a"
                                        "40" +
                                        kPeerIp6Hex + kOurIp6Hex +
                                        "80000000"
                                        "4321"
                                        "0005"
                                        "0001020304050607")));
    auto out = wire.take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], with_icmp6_checksum(hex("3a1b2c3d4e5f" + hex_mac(wire.mac) + "86dd" +
                                              "60000000"
                                              "0010"
                                              "3a"
                                              "40" +
                                              kOurIp6Hex + kPeerIp6Hex +
                                              "81000000"
                                              "4321"
                                              "0005" +
                                              "0001020304050607")));
    EXPECT_EQ(wire.worker().stats().rx_icmp6_echo, 1u);
}

TEST(WorkerIpv6, HomaOverIpv6ReachesTheEngine) {
    Wire wire("homa6", with_ipv6);
    ASSERT_EQ(wire.error, "");
    wire::FrameAddr6 a;
    a.dst_mac = wire.mac;
    a.src_ip = kPeerIp6;
    a.dst_ip = kOurIp6;
    std::array<uint8_t, 128> buf{};
    size_t n = wire::encode(buf, a,
                            wire::Bare{.type = wire::PacketType::kBusy,
                                       .common = {.sport = 0x8000, .dport = 99, .sender_id = 2}});
    ASSERT_GT(n, 0u);
    wire.inject(Bytes(buf.begin(), buf.begin() + n));
    EXPECT_TRUE(wire.take().empty());  // a BUSY about no RPC: nothing to answer
    EXPECT_EQ(wire.worker().stats().rx_not_for_us, 0u);
    EXPECT_EQ(wire.worker().engine().stats().packets_rx[uint8_t(wire::PacketType::kBusy)], 1u);
}

}  // namespace
}  // namespace homa
