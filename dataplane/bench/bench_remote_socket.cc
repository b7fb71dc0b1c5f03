// bench_remote_socket: 100 B echo over a net_ring pair in one process, run-to-completion
// (Socket, the application on the worker's lcore) against application-thread mode
// (RemoteSocket: the application on its own lcore, talking to the worker through message ports).
//
//   bench_remote_socket <EAL args> [-- --iters=N]
//   e.g. bench_remote_socket --no-huge --no-shconf -m 512 --lcores=0@0,1@1 --no-pci
//
// Run-to-completion: the main lcore polls both workers, is the client and serves the echo.
// Application thread: lcore 1 polls both workers and serves the echo (run-to-completion, as a
// server would); the main lcore is the client through a RemoteSocket on worker B.
// Reported for each: round trip p50/p99 (one RPC at a time, the client waits for each response)
// and RPC/s with 1 and with 16 RPCs outstanding.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "homa/dataplane/eal.h"
#include "homa/dataplane/port.h"
#include "homa/dataplane/remote_socket.h"
#include "homa/dataplane/socket.h"
#include "homa/dataplane/socket_service.h"
#include "homa/dataplane/worker.h"
#include "homa/mem/bpage_pool.h"

namespace homa::dp {
namespace {

constexpr uint32_t kIpA = 0x0A000001, kIpB = 0x0A000002;
constexpr uint16_t kPort = 99;
constexpr unsigned kOutstanding = 16;

struct Side {
    uint16_t port = 0;
    std::unique_ptr<mem::BpagePool> pool;
    std::unique_ptr<Worker> worker;
    std::unique_ptr<SocketService> svc;
};

void die(const std::string &m) {
    fprintf(stderr, "bench_remote_socket: %s\n", m.c_str());
    exit(1);
}

void build(Side &s, const char *name, rte_ring *rx, rte_ring *tx, rte_mempool *mbufs, uint32_t ip) {
    int p = rte_eth_from_rings(name, &rx, 1, &tx, 1, rte_socket_id());
    if (p < 0) die("rte_eth_from_rings");
    s.port = static_cast<uint16_t>(p);
    std::string err;
    PortSetup ps;
    ps.port_id = s.port;
    ps.mbuf_pool = mbufs;
    PortInfo info;
    if (setup_port(ps, &info, &err) < 0) die(err);
    mem::PoolConfig pc;
    pc.bytes = 64u << 20;
    pc.backing = mem::PoolConfig::Backing::kEal;
    pc.num_caches = 2;  // the worker's, and the application thread's
    s.pool = mem::BpagePool::create(pc, &err);
    if (!s.pool) die(err);
    WorkerConfig wc;
    wc.port_id = s.port;
    wc.mbuf_pool = mbufs;
    wc.pool = s.pool.get();
    wc.local_mac = info.mac;
    wc.multi_seg_tx = info.multi_seg_tx;
    wc.engine.local_ip = ip;
    wc.engine.first_client_id = ip == kIpA ? 2 : 4;
    wc.engine.id_stride = 4;
    s.worker = Worker::create(wc, &err);
    if (!s.worker) die(err);
    SocketServiceConfig sc;
    std::string cmd = std::string(name) + "_cmd";
    sc.name = cmd.c_str();
    s.svc = SocketService::create(*s.worker, sc, &err);
    if (!s.svc) die(err);
}

struct Pair {
    Side a, b;
    Socket server;
    std::atomic<bool> stop{false};

    void poll() {
        a.worker->poll();
        b.worker->poll();
        RecvMessage req;
        while (server.recv(kRecvRequest, 0, &req) == 0) (void)server.reply_with(std::move(req));
    }
    static int run(void *arg) {
        auto *p = static_cast<Pair *>(arg);
        while (!p->stop.load(std::memory_order_relaxed)) p->poll();
        return 0;
    }
};

double ns(uint64_t cycles) { return static_cast<double>(cycles) * 1e9 / rte_get_tsc_hz(); }

void report(const char *mode, std::vector<uint64_t> &rtt, double rate1, double rate16) {
    std::sort(rtt.begin(), rtt.end());
    double sum = 0;
    for (uint64_t c : rtt) sum += ns(c);
    // The mean is printed too: on a shared machine a few descheduled waits dominate it.
    printf(
        "%-20s RTT p50 %6.1f  p99 %6.1f  p99.9 %7.1f  max %7.0f  mean %6.1f us   "
        "RPC/s: %7.0f (1 outstanding)  %7.0f (%u)\n",
        mode, ns(rtt[rtt.size() / 2]) / 1000, ns(rtt[rtt.size() * 99 / 100]) / 1000,
        ns(rtt[rtt.size() * 999 / 1000]) / 1000, ns(rtt.back()) / 1000, sum / rtt.size() / 1000,
        rate1, rate16, kOutstanding);
}

void run_to_completion(Pair &pair, unsigned iters) {
    Socket client;
    if (Socket::open(*pair.b.worker, 0, &client) < 0) die("open");
    std::vector<uint8_t> msg(100, 0x5A);
    std::vector<uint64_t> rtt;
    rtt.reserve(iters);
    uint64_t start = rte_get_tsc_cycles();
    for (unsigned i = 0; i < iters; ++i) {
        uint64_t t0 = rte_get_tsc_cycles(), id;
        if (client.send({kIpA, kPort}, msg, i, &id) < 0) die("send");
        RecvMessage resp;
        while (client.recv(kRecvResponse, id, &resp) != 0) pair.poll();
        rtt.push_back(rte_get_tsc_cycles() - t0);
    }
    double rate1 = iters / (ns(rte_get_tsc_cycles() - start) / 1e9);
    unsigned sent = 0, got = 0;
    start = rte_get_tsc_cycles();
    while (got < iters) {
        uint64_t id;
        while (sent < iters && sent - got < kOutstanding) {
            if (client.send({kIpA, kPort}, msg, sent, &id) < 0) die("send");
            ++sent;
        }
        pair.poll();
        RecvMessage resp;
        while (client.recv(kRecvResponse, 0, &resp) == 0) ++got;
    }
    double rate16 = iters / (ns(rte_get_tsc_cycles() - start) / 1e9);
    report("run-to-completion", rtt, rate1, rate16);
    client.close();
}

void app_thread(Pair &pair, unsigned iters, unsigned poll_lcore) {
    if (rte_eal_remote_launch(Pair::run, &pair, poll_lcore) != 0) die("launch");
    std::unique_ptr<RemoteSocket> client;
    RemoteSocketConfig rc;
    rc.pool_cache = 1;
    if (RemoteSocket::open(*pair.b.svc, 0, rc, &client) < 0) die("remote open");
    std::vector<uint8_t> msg(100, 0x5A);
    std::vector<uint64_t> rtt;
    rtt.reserve(iters);
    uint64_t start = rte_get_tsc_cycles();
    for (unsigned i = 0; i < iters; ++i) {
        uint64_t t0 = rte_get_tsc_cycles(), id;
        if (client->send({kIpA, kPort}, msg, i, &id) < 0) die("remote send");
        RecvMessage resp;
        if (client->recv(kRecvResponse, id, &resp) < 0) die("remote recv");
        rtt.push_back(rte_get_tsc_cycles() - t0);
    }
    double rate1 = iters / (ns(rte_get_tsc_cycles() - start) / 1e9);
    unsigned sent = 0, got = 0;
    start = rte_get_tsc_cycles();
    while (got < iters) {
        while (sent < iters && sent - got < kOutstanding) {
            int r = client->send({kIpA, kPort}, msg, sent, nullptr);  // pipelined: no wait
            if (r == -ENOBUFS) break;
            if (r < 0) die("remote send");
            ++sent;
        }
        RecvMessage resp;
        if (client->recv(kRecvResponse, 0, &resp) == 0) {
            if (resp.error() != 0) die("remote RPC failed");
            ++got;
        }
    }
    double rate16 = iters / (ns(rte_get_tsc_cycles() - start) / 1e9);
    report("application thread", rtt, rate1, rate16);
    client->close();
    client.reset();
    pair.stop.store(true);
    rte_eal_wait_lcore(poll_lcore);
}

}  // namespace
}  // namespace homa::dp

int main(int argc, char **argv) {
    using namespace homa::dp;
    int used = rte_eal_init(argc, argv);
    if (used < 0) die("rte_eal_init failed");
    unsigned iters = 20000;
    for (int i = used + 1; i < argc; ++i) {
        if (std::strncmp(argv[i], "--iters=", 8) == 0)
            iters = static_cast<unsigned>(atoi(argv[i] + 8));
    }
    unsigned poll_lcore = rte_get_next_lcore(rte_get_main_lcore(), 1, 0);
    if (poll_lcore >= RTE_MAX_LCORE) die("need two lcores (e.g. --lcores=0@0,1@1)");
    printf("hugepages: %s (free 2 MiB pages: %lu); iterations %u; 100 B echo over net_ring\n",
           rte_eal_has_hugepages() ? "yes" : "no (--no-huge)",
           static_cast<unsigned long>(free_hugepages_2m()), iters);
    rte_ring *ab = rte_ring_create("b_ab", 4096, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
    rte_ring *ba = rte_ring_create("b_ba", 4096, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
    rte_mempool *mbufs = rte_pktmbuf_pool_create("b_mb", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                                 static_cast<int>(rte_socket_id()));
    if (!ab || !ba || !mbufs) die("rings / mbufs");
    {
        Pair pair;
        build(pair.a, "b_a", ba, ab, mbufs, kIpA);
        build(pair.b, "b_b", ab, ba, mbufs, kIpB);
        if (Socket::open(*pair.a.worker, kPort, &pair.server) < 0) die("server open");
        run_to_completion(pair, iters);
        app_thread(pair, iters, poll_lcore);
        pair.a.svc.reset();
        pair.b.svc.reset();
        pair.a.worker.reset();
        pair.b.worker.reset();
        close_port(pair.a.port);
        close_port(pair.b.port);
    }
    rte_eal_cleanup();
    return 0;
}
