/**
 * @file
 * One homa-dp host on one port: the port brought up with a queue pair per worker, one bpage
 * pool with a cache per worker, the steering rings, and N workers whose client ids name their
 * owner. What an application (or apps/homa-perf) does before launching its lcores.
 *
 * @code
 *   homa::dp::HostConfig hc;
 *   hc.name = "h0"; hc.port_id = 0; hc.num_workers = 2;
 *   hc.worker.engine.local_ip = 0x0A000001;           // every worker's template
 *   std::string err;
 *   auto host = homa::dp::Host::create(hc, &err);
 *   if (!host) rte_exit(EXIT_FAILURE, "%s\n", err.c_str());
 *   // lcore k: open a socket on host->worker(k) (server ports on every worker, see
 *   // steering.h), then loop { host->worker(k).poll(); ... }
 * @endcode
 *
 * Timetrace: every worker's ring (WorkerConfig::timetrace_records) shares the host's
 * TraceFreeze, so a FREEZE received by any worker, or a freeze by an operator, stops them all;
 * timetrace_dump() prints them merged.
 *
 * Ownership: the Host owns the workers, the pool, the steering rings, the freeze switch and
 * (when it created it) the mbuf pool, and stops and closes the port when destroyed; destroy it
 * only after
 * every lcore polling its workers has stopped. Threading: create and destroy on the main
 * lcore; worker(k) and everything on it belong to the one lcore that polls it.
 * Errors: create returns nullptr and a message naming the step (port, pool, steering or
 * worker) and the reason.
 */
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "homa/dataplane/port.h"
#include "homa/dataplane/worker.h"

struct rte_mempool;

namespace homa::mem {
class BpagePool;
}

namespace homa::dp {

class Steering;

struct HostConfig {
    std::string name = "host";  ///< Prefix of DPDK object names (process-wide).
    uint16_t port_id = 0;
    uint16_t num_workers = 1;
    PortSetup port;  ///< port_id, num_queues and mbuf_pool are filled in.
    /// Template for every worker: engine knobs (engine.local_ip or local_ip6 is required),
    /// neighbours, VLAN, ... Port, queue, pools, MAC, steering and id space are filled in per
    /// worker.
    WorkerConfig worker;
    rte_mempool *mbuf_pool = nullptr;  ///< nullptr: the host creates one of `mbufs` mbufs.
    uint32_t mbufs = 16383;
    size_t pool_bytes = 64u << 20;  ///< bpage pool (DPDK memory).
    /// Pool caches beyond the workers' (worker k uses cache k): application threads that copy
    /// into the pool (RemoteSocket) use caches num_workers, num_workers + 1, ...
    unsigned extra_pool_caches = 0;
    /// Timetrace rings for application threads ("a0", "a1", ... in timetrace_dump()), sized
    /// like the workers' (worker.timetrace_records; none when that is 0). A RemoteSocket of
    /// thread k records into ring k, so that its hand-offs line up with the worker's events.
    unsigned app_timetraces = 0;
    uint32_t steering_ring_size = 4096;
    /// Per-worker changes to `worker`: called for each worker k in order, on the calling
    /// thread, with k's config filled in as above; it must not change what ties k to the host
    /// (port, queue, pools, steering, index, id space). Returns 0, or a negative errno that
    /// fails create() with "worker k: " + *why. Empty: every worker runs the template.
    std::function<int(uint16_t k, WorkerConfig &config, std::string *why)> configure_worker;
};

class Host {
  public:
    static std::unique_ptr<Host> create(const HostConfig &config, std::string *error);
    ~Host();
    Host(const Host &) = delete;
    Host &operator=(const Host &) = delete;

    uint16_t num_workers() const noexcept { return static_cast<uint16_t>(workers_.size()); }
    Worker &worker(uint16_t k) noexcept { return *workers_[k]; }
    const PortInfo &port_info() const noexcept { return info_; }
    uint16_t port_id() const noexcept { return port_; }
    mem::BpagePool &pool() noexcept { return *pool_; }
    /** nullptr with one worker. */
    Steering *steering() noexcept { return steering_.get(); }
    /** The freeze switch of every worker's timetrace ring. Any thread. */
    TraceFreeze &trace_freeze() noexcept { return *freeze_; }
    /** Application thread k's timetrace ring (HostConfig::app_timetraces), or nullptr (no
     *  such ring, or timetraces off). Records only from that one thread; read from any. */
    Timetrace *app_timetrace(unsigned k) noexcept {
        return k < app_traces_.size() ? app_traces_[k].get() : nullptr;
    }
    /** Text dump of every worker's ring ("w0", "w1", ...) and application thread's ring
     *  ("a0", ...) merged in time order, headed by this host's address (format_timetraces).
     *  Any thread; allocates. */
    std::string timetrace_dump();

  private:
    Host() = default;
    uint16_t port_ = 0;
    bool port_started_ = false;
    PortInfo info_;
    rte_mempool *own_mbufs_ = nullptr;
    std::unique_ptr<mem::BpagePool> pool_;
    std::unique_ptr<Steering> steering_;
    std::unique_ptr<TraceFreeze> freeze_;  ///< Before workers_: they borrow it.
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<std::unique_ptr<Timetrace>> app_traces_;
};

}  // namespace homa::dp
