// See ring_pair.h.
#include "homa/dataplane/ring_pair.h"

#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_lcore.h>
#include <rte_ring.h>

namespace homa::dp {
namespace {
constexpr uint16_t kMaxQueues = 16;
}  // namespace

int make_ring_pair(const std::string &name, uint16_t *port_a, uint16_t *port_b, std::string *error,
                   uint16_t queues, unsigned ring_size) {
    if (queues == 0 || queues > kMaxQueues || !rte_is_power_of_2(ring_size) || ring_size < 2) {
        *error = "ring pair: 1-16 queues of a power-of-two ring size >= 2";
        return -EINVAL;
    }
    unsigned socket = rte_socket_id();
    rte_ring *ab[kMaxQueues], *ba[kMaxQueues];
    for (uint16_t q = 0; q < queues; ++q) {
        // The first queue keeps the names rings had before there were several.
        // (append, not operator+: GCC 12 at -O3 warns falsely about the latter, -Wrestrict)
        std::string sfx;
        if (q) sfx.append("_").append(std::to_string(q));
        std::string ab_name = name, ba_name = name;
        ab_name.append("_ab").append(sfx);
        ba_name.append("_ba").append(sfx);
        ab[q] = rte_ring_create(ab_name.c_str(), ring_size, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
        ba[q] = rte_ring_create(ba_name.c_str(), ring_size, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (ab[q] == nullptr || ba[q] == nullptr) {
            *error = std::string("ring pair: rte_ring_create: ") + rte_strerror(rte_errno);
            return -rte_errno;
        }
    }
    int a = rte_eth_from_rings((name + "_a").c_str(), ba, queues, ab, queues, socket);
    int b = rte_eth_from_rings((name + "_b").c_str(), ab, queues, ba, queues, socket);
    if (a < 0 || b < 0) {
        *error = std::string("ring pair: rte_eth_from_rings: ") + rte_strerror(rte_errno);
        return -rte_errno;
    }
    *port_a = static_cast<uint16_t>(a);
    *port_b = static_cast<uint16_t>(b);
    return 0;
}

}  // namespace homa::dp
