// One side of a two-process homa-dp test: an echo server or a client that runs the echo
// matrix and then measures 100-byte echo RTT (one RPC outstanding) and RPC rate (many
// outstanding). The port is whatever --vdev names (net_memif between two processes, or
// net_af_packet on a veth end in a network namespace). EAL always runs unprivileged.
//
//   memif_peer --role=server --vdev=net_memif0,role=server,socket=/tmp/s,socket-abstract=no
//   memif_peer --role=client --vdev=net_memif0,role=client,socket=/tmp/s,socket-abstract=no
//
// --ip and --peer_ip take IPv4 or IPv6 (then the host is IPv6 only and Homa runs over IPv6).
//
// Exit status: 0 when the echo matrix (client) or the serving (server) succeeded, 1 otherwise.
#include <arpa/inet.h>
#include <gflags/gflags.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "homa/dataplane/eal.h"
#include "homa/dataplane/port.h"
#include "homa/dataplane/socket.h"
#include "homa/dataplane/worker.h"
#include "homa/mem/bpage_pool.h"
#include "tests/dataplane/host_harness.h"

DEFINE_string(role, "server", "server or client");
DEFINE_string(vdev, "", "the port, as an EAL --vdev argument");
DEFINE_string(prefix, "peer", "EAL file prefix (the pid is appended)");
DEFINE_int32(cpu, -1, "core for the one lcore (-1: EAL's default)");
DEFINE_string(ip, "10.0.0.1", "this host's address, IPv4 or IPv6");
DEFINE_string(peer_ip, "10.0.0.2", "the other host's address (client), IPv4 or IPv6");
DEFINE_int32(port, 99, "server port");
DEFINE_int32(timeout_s, 60, "give up after this long");
DEFINE_int32(rtt_rpcs, 20000, "100-byte RPCs timed one at a time (0: skip)");
DEFINE_double(rate_seconds, 2.0, "how long to measure the RPC rate (0: skip)");
DEFINE_int32(rate_outstanding, 64, "RPCs outstanding during the rate measurement");
DEFINE_int32(workers, 1, "workers (one queue pair each), all polled by the one lcore");

namespace {

using homa::Endpoint;
namespace dp = homa::dp;
using Clock = std::chrono::steady_clock;

homa::IpAddress parse_ip(const std::string &s) {
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) == 1) return homa::IpAddress(ntohl(a.s_addr));
    homa::wire::Ipv6Addr a6{};
    if (inet_pton(AF_INET6, s.c_str(), a6.data()) == 1) return homa::IpAddress::ipv6(a6);
    fprintf(stderr, "bad address %s\n", s.c_str());
    exit(1);
}

bool expired(Clock::time_point deadline) { return Clock::now() >= deadline; }

// Every worker of the host, polled in turn by this one lcore (run-to-completion); worker 0
// is the one the client's socket lives on.
struct Host {
    std::vector<dp::Worker *> workers;
    bool poll() {
        bool busy = false;
        for (dp::Worker *w : workers) busy |= w->poll();
        return busy;
    }
    dp::Worker &first() { return *workers[0]; }
};

int run_server(Host &h, Clock::time_point deadline) {
    // A server port is opened on every worker: each serves the RPCs it owns (steering.h).
    std::vector<dp::Socket> servers(h.workers.size());
    for (size_t k = 0; k < h.workers.size(); ++k) {
        if (dp::Socket::open(*h.workers[k], static_cast<uint16_t>(FLAGS_port), &servers[k]) < 0) {
            return 1;
        }
    }
    uint64_t served = 0;
    Clock::time_point quit_at = Clock::time_point::max();
    while (!expired(deadline) && Clock::now() < quit_at) {
        h.poll();
        dp::RecvMessage req;
        for (dp::Socket &server : servers) {
            while (server.recv(homa::kRecvRequest, 0, &req) == 0) {
                char head[4] = {};
                bool quit = req.length() == 4 &&
                            req.copy_to({reinterpret_cast<uint8_t *>(head), 4}) == 4 &&
                            std::memcmp(head, "quit", 4) == 0;
                if (server.reply_with(std::move(req)) != 0) return 1;
                ++served;
                // Keep polling a little so that the last replies are acknowledged.
                if (quit) quit_at = Clock::now() + std::chrono::milliseconds(300);
            }
        }
    }
    for (size_t k = 0; k < h.workers.size(); ++k) {
        const auto &ws = h.workers[k]->stats();
        printf(
            "server worker %zu: served %lu RPCs, rx %lu tx %lu arp replies %lu, steered "
            "out %lu in %lu\n",
            k, h.workers[k]->engine().stats().server_rpcs_started, ws.rx_frames, ws.tx_frames,
            ws.arp_replies_sent, ws.steered_out, ws.steered_in);
    }
    printf("server: served %lu requests\n", served);
    return quit_at == Clock::time_point::max() ? 1 : 0;
}

// Polls until `done` or the deadline.
template <typename Done>
bool poll_until(Host &h, Clock::time_point deadline, Done done) {
    while (!expired(deadline)) {
        h.poll();
        if (done()) return true;
    }
    return false;
}

int run_client(Host &h, Clock::time_point deadline) {
    dp::Worker &w = h.first();
    dp::Socket client;
    if (dp::Socket::open(w, 0, &client) < 0) return 1;
    Endpoint dst{parse_ip(FLAGS_peer_ip), static_cast<uint16_t>(FLAGS_port)};

    // 1. The echo matrix, every size outstanding at once, every byte checked.
    homa::test::EchoClient echo(client);
    for (uint32_t len : homa::test::kEchoSizes) {
        if (echo.send(dst, len) != 0) return 1;
    }
    if (!poll_until(h, deadline, [&] {
            echo.drain();
            return echo.outstanding() == 0;
        })) {
        fprintf(stderr, "client: echo matrix timed out, %zu outstanding\n", echo.outstanding());
        homa::test::dump_worker("client", w);
        return 1;
    }
    printf("client: echo matrix %lu/%zu verified, %lu bad\n", echo.verified(),
           homa::test::kEchoSizes.size(), echo.bad());
    if (echo.bad() != 0 || echo.verified() != homa::test::kEchoSizes.size()) return 1;

    std::vector<uint8_t> msg(100, 0x5A);
    uint64_t id;
    // 2. RTT: one 100-byte RPC at a time.
    if (FLAGS_rtt_rpcs > 0) {
        std::vector<double> rtt;
        rtt.reserve(FLAGS_rtt_rpcs);
        for (int i = 0; i < FLAGS_rtt_rpcs && !expired(deadline); ++i) {
            uint64_t t0 = rte_get_tsc_cycles();
            if (client.send(dst, msg, i, &id) != 0) return 1;
            dp::RecvMessage resp;
            if (!poll_until(h, deadline,
                            [&] { return client.recv(homa::kRecvResponse, id, &resp) == 0; })) {
                return 1;
            }
            rtt.push_back(double(rte_get_tsc_cycles() - t0) * 1e6 / double(rte_get_tsc_hz()));
        }
        std::sort(rtt.begin(), rtt.end());
        auto pct = [&](double p) { return rtt[std::min(rtt.size() - 1, size_t(p * rtt.size()))]; };
        printf("client: 100 B echo RTT over %zu RPCs: p50 %.1f us, p99 %.1f us, min %.1f us\n",
               rtt.size(), pct(0.50), pct(0.99), rtt.front());
    }
    // 3. Rate: keep many 100-byte RPCs outstanding.
    if (FLAGS_rate_seconds > 0) {
        int outstanding = 0, last_error = 0;
        uint64_t done = 0, refused = 0;
        auto stop = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(FLAGS_rate_seconds));
        auto t0 = Clock::now();
        while (Clock::now() < stop && !expired(deadline)) {
            while (outstanding < FLAGS_rate_outstanding) {
                int rc = client.send(dst, msg, 0, &id);
                if (rc != 0) {
                    ++refused;  // e.g. -ENOBUFS: the pool's bpages are all in flight
                    last_error = rc;
                    break;
                }
                ++outstanding;
            }
            h.poll();
            dp::RecvMessage resp;
            while (client.recv(homa::kRecvResponse, 0, &resp) == 0) {
                --outstanding;
                ++done;
            }
        }
        double secs = std::chrono::duration<double>(Clock::now() - t0).count();
        poll_until(h, deadline, [&] {
            dp::RecvMessage resp;
            while (client.recv(homa::kRecvResponse, 0, &resp) == 0) --outstanding;
            return outstanding == 0;
        });
        printf(
            "client: 100 B echo rate with %d outstanding: %.0f RPCs/s (%lu in %.2f s; "
            "sends refused %lu, last error %d)\n",
            FLAGS_rate_outstanding, double(done) / secs, done, secs, refused, last_error);
    }
    // 4. Tell the server to finish.
    if (client.send(dst, {reinterpret_cast<const uint8_t *>("quit"), 4}, 0, &id) != 0) return 1;
    dp::RecvMessage resp;
    if (!poll_until(h, deadline,
                    [&] { return client.recv(homa::kRecvResponse, id, &resp) == 0; })) {
        return 1;
    }
    // Acknowledge the last reply (NEED_ACK comes after a few ticks).
    poll_until(h, Clock::now() + std::chrono::milliseconds(100), [] { return false; });
    for (size_t k = 1; k < h.workers.size(); ++k) {
        const auto &ws = h.workers[k]->stats();
        printf("client worker %zu: rx %lu tx %lu, steered out %lu in %lu\n", k, ws.rx_frames,
               ws.tx_frames, ws.steered_out, ws.steered_in);
    }
    printf("client: rx %lu tx %lu arp requests %lu, neighbour resolved %lu\n", w.stats().rx_frames,
           w.stats().tx_frames, w.stats().arp_requests_sent, w.neighbours().stats().resolved);
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    gflags::ParseCommandLineFlags(&argc, &argv, true);
    std::vector<std::string> extra = {"--vdev=" + FLAGS_vdev};
    if (FLAGS_cpu >= 0) extra.push_back("--lcores=0@" + std::to_string(FLAGS_cpu));
    if (int rc = dp::init_eal(dp::unprivileged_eal_args(FLAGS_prefix, 512, extra)); rc < 0) {
        fprintf(stderr, "%s: rte_eal_init failed: %s\n", FLAGS_role.c_str(), rte_strerror(-rc));
        return 1;
    }
    auto deadline = Clock::now() + std::chrono::seconds(FLAGS_timeout_s);
    int rc = 1;
    {
        rte_mempool *mp = rte_pktmbuf_pool_create(
            "peer_mb", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id()));
        homa::test::TestHost host;
        const homa::IpAddress me = parse_ip(FLAGS_ip);
        std::string err = mp ? host.build("peer", 0, me.ipv4(),
                                          static_cast<uint16_t>(FLAGS_workers), mp, 128u << 20,
                                          [&](dp::WorkerConfig &wc) {
                                              if (!me.is_ipv4()) wc.local_ip6 = me.bytes();
                                          })
                             : "no mbuf pool";
        if (!err.empty()) {
            fprintf(stderr, "%s: %s\n", FLAGS_role.c_str(), err.c_str());
        } else {
            // Wait for the link (memif: the other process connected) before timing anything.
            dp::LinkState link;
            while (!expired(deadline) && (dp::check_link(0, &link) < 0 || !link.up)) {
                rte_delay_ms(10);
            }
            printf("%s: port %s, link %s, mac %02x:%02x:%02x:%02x:%02x:%02x\n", FLAGS_role.c_str(),
                   host.info.driver.c_str(), link.up ? "up" : "down", host.info.mac[0],
                   host.info.mac[1], host.info.mac[2], host.info.mac[3], host.info.mac[4],
                   host.info.mac[5]);
            fflush(stdout);
            Host h;
            h.workers = host.workers;
            rc = FLAGS_role == "server" ? run_server(h, deadline) : run_client(h, deadline);
        }
    }
    fflush(stdout);
    rte_eal_cleanup();
    return rc;
}
