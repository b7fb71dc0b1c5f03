// The Linux kernel as a real peer, through net_tap: the kernel resolves the dataplane's
// address by ARP (it shows in `ip neigh`) and `ping` gets ICMP echo replies; the dataplane
// resolves the kernel's address by ARP too; a link flap is seen, logged, and survived. Over
// IPv6 the kernel resolves us by Neighbour Discovery and `ping -6` is answered.
// Needs root (a tap interface and addresses on it): skipped with the reason otherwise.
#include <gtest/gtest.h>
#include <rte_bus_vdev.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "tests/dataplane/dataplane_fixture.h"
#include "tests/dataplane/host_harness.h"

namespace homa {
namespace {

std::string run_cmd(const std::string &cmd, int *status = nullptr) {
    std::string out;
    FILE *f = popen((cmd + " 2>&1").c_str(), "r");
    if (f == nullptr) return out;
    char buf[256];
    while (fgets(buf, sizeof(buf), f)) out += buf;
    int rc = pclose(f);
    if (status) *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    return out;
}

std::string mac_text(const dp::MacAddr &m) {
    char s[18];
    snprintf(s, sizeof(s), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    return s;
}

// The worker runs on its own lcore; it also sends one Homa request to the kernel so that the
// dataplane has to resolve the kernel's address (the kernel answers with an ICMP error,
// which is counted and dropped).
struct TapJob {
    dp::Worker *worker = nullptr;
    uint32_t kernel_ip = 0;
    std::atomic<bool> stop{false};
    std::atomic<bool> resolved{false};
    int send_rc = -1;
    static int run(void *arg) {
        auto &j = *static_cast<TapJob *>(arg);
        dp::Socket client;
        EXPECT_EQ(dp::Socket::open(*j.worker, 0, &client), 0);
        uint8_t msg[100] = {};
        uint64_t id;
        j.send_rc = client.send({j.kernel_ip, 99}, msg, 1, &id);
        while (!j.stop.load(std::memory_order_relaxed)) {
            j.worker->poll();
            if (j.worker->neighbours().state(j.kernel_ip) ==
                dp::NeighbourCache::State::kReachable) {
                j.resolved = true;
            }
        }
        (void)client.abort(0, 0);  // the kernel has no Homa: forget the request
        for (int i = 0; i < 1000; ++i) j.worker->poll();
        client.close();
        return 0;
    }
};

TEST(Tap, KernelPingsAndResolvesUs_LinkFlapSurvived) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (CAP_NET_ADMIN) to create a tap interface";
    if (access("/dev/net/tun", R_OK | W_OK) != 0) GTEST_SKIP() << "/dev/net/tun is not usable";
    int st = 0;
    run_cmd("ip -V", &st);
    if (st != 0) GTEST_SKIP() << "iproute2 (ip) is not installed";
    run_cmd("ping -V", &st);
    if (st != 0) GTEST_SKIP() << "ping is not installed";
    if (rte_lcore_count() < 2) GTEST_SKIP() << "needs a second lcore";

    const std::string ifname = "hdptap" + std::to_string(getpid() % 100000);
    const unsigned net = 1 + getpid() % 250;
    const std::string kernel_ip = "10.77." + std::to_string(net) + ".1";
    const std::string our_ip = "10.77." + std::to_string(net) + ".2";
    const uint32_t kernel_ip_n = 0x0A4D0001 | net << 8, our_ip_n = 0x0A4D0002 | net << 8;
    if (rte_dev_probe(("net_tap_hd,iface=" + ifname).c_str()) != 0) {
        GTEST_SKIP() << "cannot create the tap port (rte_dev_probe net_tap)";
    }
    uint16_t port;
    ASSERT_EQ(rte_eth_dev_get_port_by_name("net_tap_hd", &port), 0);
    rte_mempool *mp = rte_pktmbuf_pool_create("tap_mb", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                              static_cast<int>(rte_socket_id()));
    ASSERT_NE(mp, nullptr);
    {
        test::TestHost h;
        ASSERT_EQ(h.build("tap", port, our_ip_n, 1, mp, 16u << 20), "");
        EXPECT_TRUE(h.info.lsc_interrupt);  // tap reports link changes by interrupt
        ASSERT_EQ(run_cmd("ip addr add " + kernel_ip + "/24 dev " + ifname + " && ip link set " +
                              ifname + " up",
                          &st),
                  "");
        ASSERT_EQ(st, 0);

        TapJob job;
        job.worker = h.workers[0];
        job.kernel_ip = kernel_ip_n;
        unsigned lc = rte_get_next_lcore(-1, 1, 0);
        ASSERT_EQ(rte_eal_remote_launch(&TapJob::run, &job, lc), 0);

        std::string ping = run_cmd("ping -c 3 -i 0.2 -W 2 " + our_ip, &st);
        EXPECT_EQ(st, 0) << ping;
        std::string neigh = run_cmd("ip neigh show " + our_ip + " dev " + ifname);
        EXPECT_NE(neigh.find(mac_text(h.info.mac)), std::string::npos)
            << "ip neigh: " << neigh << " our mac " << mac_text(h.info.mac);

        // Flap the link: check_link sees down then up; the worker keeps running.
        dp::LinkState link;
        ASSERT_EQ(dp::check_link(port, &link), 1);
        EXPECT_TRUE(link.up);
        run_cmd("ip link set " + ifname + " down");
        auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
        while (link.up && std::chrono::steady_clock::now() < until) {
            dp::check_link(port, &link);
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        EXPECT_FALSE(link.up);
        run_cmd("ip link set " + ifname + " up");
        until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
        while (!link.up && std::chrono::steady_clock::now() < until) {
            dp::check_link(port, &link);
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        EXPECT_TRUE(link.up);
        EXPECT_EQ(link.changes, 2u);
        // Bringing the interface up again flushes the kernel's routes and neighbours: the
        // address and ARP have to work again.
        run_cmd("ip addr replace " + kernel_ip + "/24 dev " + ifname);
        ping = run_cmd("ping -c 2 -i 0.2 -W 2 " + our_ip, &st);
        EXPECT_EQ(st, 0) << "after the flap: " << ping;

        until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
        while (!job.resolved && std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        job.stop = true;
        rte_eal_wait_lcore(lc);
        EXPECT_EQ(job.send_rc, 0);
        EXPECT_TRUE(job.resolved.load()) << "the kernel's address was not resolved by ARP";
        const auto &ws = h.workers[0]->stats();
        EXPECT_GE(ws.rx_icmp_echo, 5u);
        EXPECT_GE(ws.arp_replies_sent, 1u);
        EXPECT_GE(ws.arp_requests_sent, 1u);
        test::dump_worker("tap worker", *h.workers[0]);
    }
    rte_mempool_free(mp);
}

// The worker alone on its lcore, until told to stop.
struct PollJob {
    dp::Worker *worker = nullptr;
    std::atomic<bool> stop{false};
    static int run(void *arg) {
        auto &j = *static_cast<PollJob *>(arg);
        while (!j.stop.load(std::memory_order_relaxed)) j.worker->poll();
        return 0;
    }
};

TEST(Tap, KernelResolvesUsByNeighbourDiscoveryAndPings6) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (CAP_NET_ADMIN) to create a tap interface";
    if (access("/dev/net/tun", R_OK | W_OK) != 0) GTEST_SKIP() << "/dev/net/tun is not usable";
    int st = 0;
    run_cmd("ip -V", &st);
    if (st != 0) GTEST_SKIP() << "iproute2 (ip) is not installed";
    run_cmd("ping -V", &st);
    if (st != 0) GTEST_SKIP() << "ping is not installed";
    if (rte_lcore_count() < 2) GTEST_SKIP() << "needs a second lcore";

    const std::string ifname = "hdptap6" + std::to_string(getpid() % 10000);
    const unsigned net = 1 + getpid() % 250;
    char prefix[32];
    snprintf(prefix, sizeof(prefix), "fd77:%x::", net);
    const std::string kernel_ip = std::string(prefix) + "1", our_ip = std::string(prefix) + "2";
    wire::Ipv6Addr our_ip_n = {0xfd,
                               0x77,
                               static_cast<uint8_t>(net >> 8),
                               static_cast<uint8_t>(net),
                               0,
                               0,
                               0,
                               0,
                               0,
                               0,
                               0,
                               0,
                               0,
                               0,
                               0,
                               2};
    if (rte_dev_probe(("net_tap_hd6,iface=" + ifname).c_str()) != 0) {
        GTEST_SKIP() << "cannot create the tap port (rte_dev_probe net_tap)";
    }
    uint16_t port;
    ASSERT_EQ(rte_eth_dev_get_port_by_name("net_tap_hd6", &port), 0);
    rte_mempool *mp = rte_pktmbuf_pool_create("tap6_mb", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                              static_cast<int>(rte_socket_id()));
    ASSERT_NE(mp, nullptr);
    {
        test::TestHost h;
        ASSERT_EQ(h.build("tap6", port, 0x0A4E0002 | net << 8, 1, mp, 16u << 20,
                          [&](dp::WorkerConfig &wc) { wc.local_ip6 = our_ip_n; }),
                  "");
        EXPECT_NE(h.info.multicast, dp::MulticastMode::kNotNeeded);
        // nodad: the kernel's own address is usable at once (no duplicate detection wait).
        std::string out = run_cmd("ip link set " + ifname + " up && ip -6 addr add " + kernel_ip +
                                      "/64 dev " + ifname + " nodad",
                                  &st);
        if (st != 0) {
            rte_mempool_free(mp);
            GTEST_SKIP() << "IPv6 is not available on the tap interface: " << out;
        }
        PollJob job;
        job.worker = h.workers[0];
        unsigned lc = rte_get_next_lcore(-1, 1, 0);
        ASSERT_EQ(rte_eal_remote_launch(&PollJob::run, &job, lc), 0);

        std::string ping = run_cmd("ping -6 -c 3 -i 0.2 -W 2 " + our_ip, &st);
        EXPECT_EQ(st, 0) << ping;
        std::string neigh = run_cmd("ip -6 neigh show " + our_ip + " dev " + ifname);
        EXPECT_NE(neigh.find(mac_text(h.info.mac)), std::string::npos)
            << "ip -6 neigh: " << neigh << " our mac " << mac_text(h.info.mac);
        job.stop = true;
        rte_eal_wait_lcore(lc);
        const auto &ws = h.workers[0]->stats();
        EXPECT_GE(ws.rx_icmp6_echo, 3u);
        EXPECT_GE(ws.nd_advertisements_sent, 1u);
        // The kernel's solicitation taught us its address too.
        EXPECT_EQ(h.workers[0]->neighbours6().state(wire::Ipv6Addr{
                      0xfd, 0x77, static_cast<uint8_t>(net >> 8), static_cast<uint8_t>(net), 0, 0,
                      0, 0, 0, 0, 0, 0, 0, 0, 0, 1}),
                  dp::NeighbourState::kReachable);
        test::dump_worker("tap6 worker", *h.workers[0]);
    }
    rte_mempool_free(mp);
}

}  // namespace
}  // namespace homa

int main(int argc, char **argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(
        new homa::test::EalEnvironment("tap", 1024, {"--lcores=0@0,1@1"}));
    return RUN_ALL_TESTS();
}
