// See host.h.
#include "host.h"

#include <arpa/inet.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <unistd.h>

namespace homa::apps {

std::unique_ptr<Host> Host::create(const HostOptions &opts, std::string *error) {
    std::unique_ptr<Host> h(new Host());
    h->port_id_ = opts.port_id;
    std::string name = "homa_mb_" + std::to_string(getpid()) + "_" + std::to_string(opts.port_id);
    h->mbufs_ = rte_pktmbuf_pool_create(name.c_str(), opts.mbufs, 256, 0,
                                        RTE_MBUF_DEFAULT_BUF_SIZE,
                                        static_cast<int>(rte_socket_id()));
    if (h->mbufs_ == nullptr) {
        *error = std::string("mbuf pool: ") + rte_strerror(rte_errno);
        return nullptr;
    }
    dp::PortSetup ps;
    ps.port_id = opts.port_id;
    ps.mbuf_pool = h->mbufs_;
    ps.mtu = opts.mtu;
    if (dp::setup_port(ps, &h->info_, error) < 0) return nullptr;
    h->port_started_ = true;
    mem::PoolConfig pc;
    pc.bytes = opts.pool_bytes;
    pc.backing = mem::PoolConfig::Backing::kEal;
    h->pool_ = mem::BpagePool::create(pc, error);
    if (!h->pool_) return nullptr;
    dp::WorkerConfig wc;
    wc.port_id = opts.port_id;
    wc.mbuf_pool = h->mbufs_;
    wc.pool = h->pool_.get();
    wc.local_mac = h->info_.mac;
    wc.multi_seg_tx = h->info_.multi_seg_tx;
    wc.neighbours = opts.neighbours;
    wc.max_zero_copy_sends = opts.max_zero_copy_sends;
    wc.engine = opts.engine;
    wc.engine.local_ip = opts.local_ip;
    wc.engine.mtu = opts.mtu;
    h->worker_ = dp::Worker::create(wc, error);
    if (!h->worker_) return nullptr;
    return h;
}

Host::~Host() {
    worker_.reset();  // frees queued frames before the port and pools go
    if (port_started_) dp::close_port(port_id_);
    pool_.reset();
    if (mbufs_) rte_mempool_free(mbufs_);
}

bool parse_ipv4(const std::string &s, uint32_t *out) {
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) return false;
    *out = ntohl(a.s_addr);
    return true;
}

std::string format_ipv4(uint32_t ip) {
    return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 0xFF) + "." +
           std::to_string((ip >> 8) & 0xFF) + "." + std::to_string(ip & 0xFF);
}

}  // namespace homa::apps
