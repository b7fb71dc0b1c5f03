// Host setup; see host.h.
#include "homa/dataplane/host.h"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "homa/dataplane/steering.h"
#include "homa/mem/bpage_pool.h"
#include "ndp.h"

#include <cstdio>

namespace homa::dp {

namespace {
// What a user can change when a pool does not fit: EAL without hugepages has 64 MB unless
// told otherwise with -m, which is too little for the default pools.
constexpr const char *kMemoryHint =
    " (EAL has too little memory: give it more with EAL's -m <MB> (or hugepages), or ask for "
    "smaller pools: --pool_mb, --mbufs)";
}  // namespace

std::unique_ptr<Host> Host::create(const HostConfig &hc, std::string *error) {
    std::unique_ptr<Host> h(new Host());
    auto fail = [&](const std::string &m) -> std::unique_ptr<Host> {
        if (error) *error = "host " + hc.name + ": " + m;
        return nullptr;  // h's destructor undoes what was done
    };
    if (hc.num_workers == 0) return fail("num_workers must be > 0");
    // Before anything is sized from it (the mbufs below from the MTU).
    if (std::string why; !hc.worker.engine.validate(&why)) return fail("engine: " + why);
    if (hc.worker.engine.local_ip == 0 && hc.worker.local_ip6 == wire::Ipv6Addr{}) {
        return fail("neither worker.engine.local_ip nor worker.local_ip6 is set");
    }
    rte_mempool *mbufs = hc.mbuf_pool;
    if (mbufs == nullptr) {
        // A frame larger than the default mbuf (an MTU over about 2,000 B: jumbo frames on
        // net_null or a NIC) gets mbufs that hold it whole: the RX path then needs no chained
        // mbufs from a port that cannot scatter, and TX builds each frame in one segment. The
        // engine's MTU is at most 9000 (validated above): the room fits the 16-bit size.
        const uint32_t frame = hc.worker.engine.mtu + 14 + 4;  // Ethernet + one VLAN tag
        const uint32_t room =
            std::max<uint32_t>(RTE_MBUF_DEFAULT_BUF_SIZE, frame + RTE_PKTMBUF_HEADROOM);
        h->own_mbufs_ =
            rte_pktmbuf_pool_create((hc.name + "_mb").c_str(), hc.mbufs, 256, 0,
                                    static_cast<uint16_t>(room), static_cast<int>(rte_socket_id()));
        if (h->own_mbufs_ == nullptr) {
            return fail(std::string("mbuf pool of ") + std::to_string(hc.mbufs) +
                        " mbufs: " + rte_strerror(rte_errno) + kMemoryHint);
        }
        mbufs = h->own_mbufs_;
    }
    std::string err;
    PortSetup ps = hc.port;
    ps.port_id = hc.port_id;
    ps.num_queues = hc.num_workers;
    ps.mbuf_pool = mbufs;
    ps.mtu = hc.worker.engine.mtu;
    ps.vlan_id = hc.worker.vlan_id;
    if (!is_unspecified(hc.worker.local_ip6)) {
        // Solicitations for our address, and advertisements answering probes from :: .
        ps.multicast_macs.push_back(multicast_mac(solicited_node(hc.worker.local_ip6)));
        ps.multicast_macs.push_back(multicast_mac(kAllNodes));
    }
    h->port_ = hc.port_id;
    if (setup_port(ps, &h->info_, &err) < 0) return fail(err);
    h->port_started_ = true;
    mem::PoolConfig pc;
    pc.bytes = hc.pool_bytes;
    pc.num_caches = hc.num_workers + hc.extra_pool_caches;
    pc.backing = mem::PoolConfig::Backing::kEal;
    pc.caller_ticks = true;  // each worker ticks its cache's lease clock once per poll
    h->pool_ = mem::BpagePool::create(pc, &err);
    if (!h->pool_) {
        return fail("bpage pool of " + std::to_string(hc.pool_bytes >> 20) + " MB: " + err +
                    kMemoryHint);
    }
    h->freeze_ = std::make_unique<TraceFreeze>(kTraceClockIsTsc ? rte_get_tsc_hz() : 0);
    if (hc.num_workers > 1) {
        h->steering_ = Steering::create(hc.name, hc.num_workers, hc.steering_ring_size, &err);
        if (!h->steering_) return fail(err);
    }
    for (uint16_t k = 0; k < hc.num_workers; ++k) {
        WorkerConfig wc = hc.worker;
        wc.port_id = hc.port_id;
        wc.queue_id = k;
        wc.rx_queue = k < h->info_.num_rx_queues;
        if (h->info_.priority_queues) wc.fast_queue_id = h->info_.fast_queue(k);
        wc.mbuf_pool = mbufs;
        wc.pool = h->pool_.get();
        wc.pool_cache = k;
        wc.local_mac = h->info_.mac;
        wc.multi_seg_tx = wc.multi_seg_tx && h->info_.multi_seg_tx;
        wc.steering = h->steering_.get();
        wc.worker_index = k;
        wc.trace_freeze = h->freeze_.get();
        Steering::configure_engine_ids(wc.engine, k, hc.num_workers);
        if (hc.configure_worker) {
            std::string why;
            if (int rc = hc.configure_worker(k, wc, &why); rc < 0) {
                return fail("worker " + std::to_string(k) + ": " +
                            (why.empty() ? std::string(rte_strerror(-rc)) : why));
            }
        }
        auto w = Worker::create(wc, &err);
        if (!w) return fail("worker " + std::to_string(k) + ": " + err);
        h->workers_.push_back(std::move(w));
    }
    for (unsigned k = 0; hc.worker.timetrace_records != 0 && k < hc.app_timetraces; ++k) {
        auto tt = Timetrace::create(hc.worker.timetrace_records, *h->freeze_, &err);
        if (!tt) return fail("timetrace of application thread " + std::to_string(k) + ": " + err);
        h->app_traces_.push_back(std::move(tt));
    }
    return h;
}

std::string Host::timetrace_dump() {
    std::vector<TraceSource> rings;
    for (size_t k = 0; k < workers_.size(); ++k) {
        char name[24];  // snprintf, not "w" + to_string: GCC 12 -O3 warns falsely on the latter
        snprintf(name, sizeof(name), "w%zu", k);
        rings.push_back({name, workers_[k]->timetrace()});
    }
    for (size_t k = 0; k < app_traces_.size(); ++k) {
        char name[24];
        snprintf(name, sizeof(name), "a%zu", k);
        rings.push_back({name, app_traces_[k].get()});
    }
    uint32_t ip = workers_.empty() ? 0 : workers_[0]->local_ip();
    char host[16];
    snprintf(host, sizeof(host), "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
             ip & 255);
    return format_timetraces(rings, *freeze_, host);
}

Host::~Host() {
    // Workers first (they free frames they hold), then the rings that may hold more, then the
    // port (which frees what its queues hold), and the mbuf pool last.
    workers_.clear();
    steering_.reset();
    if (port_started_) close_port(port_);
    pool_.reset();
    if (own_mbufs_) rte_mempool_free(own_mbufs_);
}

}  // namespace homa::dp
