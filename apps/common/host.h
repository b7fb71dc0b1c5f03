// What both apps need after EAL is up: an mbuf pool, one started port, a bpage pool and one
// worker bound to queue 0 (the single-worker configuration; multi-worker hosts come from the
// dataplane's steering support). Owns all of it and tears it down in reverse order.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "homa/dataplane/port.h"
#include "homa/dataplane/worker.h"
#include "homa/mem/bpage_pool.h"

struct rte_mempool;

namespace homa::apps {

struct HostOptions {
    uint16_t port_id = 0;
    uint32_t local_ip = 0;
    size_t pool_bytes = 256u << 20;
    uint32_t mbufs = 32767;
    uint32_t mtu = 1500;
    uint32_t max_zero_copy_sends = 1u << 16;  ///< Outgoing messages tracked at once.
    EngineConfig engine;  ///< local_ip and mtu are filled in from the fields above.
    std::vector<std::pair<uint32_t, dp::MacAddr>> neighbours;
};

class Host {
public:
    /** Builds everything; nullptr with `error` naming the failing piece. Main lcore only. */
    static std::unique_ptr<Host> create(const HostOptions &opts, std::string *error);
    ~Host();

    dp::Worker &worker() { return *worker_; }
    mem::BpagePool &pool() { return *pool_; }
    const dp::PortInfo &port_info() const { return info_; }
    uint16_t port_id() const { return port_id_; }

private:
    Host() = default;
    uint16_t port_id_ = 0;
    bool port_started_ = false;
    rte_mempool *mbufs_ = nullptr;
    dp::PortInfo info_;
    std::unique_ptr<mem::BpagePool> pool_;
    std::unique_ptr<dp::Worker> worker_;
};

/** Parses dotted-quad IPv4 into host order; false if malformed. */
bool parse_ipv4(const std::string &s, uint32_t *out);
/** Formats a host-order IPv4 address. */
std::string format_ipv4(uint32_t ip);

}  // namespace homa::apps
