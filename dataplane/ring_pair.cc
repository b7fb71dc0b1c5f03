// See ring_pair.h.
#include "homa/dataplane/ring_pair.h"

#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_lcore.h>
#include <rte_ring.h>

namespace homa::dp {

int make_ring_pair(const std::string &name, uint16_t *port_a, uint16_t *port_b,
                   std::string *error) {
    unsigned socket = rte_socket_id();
    rte_ring *ab =
        rte_ring_create((name + "_ab").c_str(), 4096, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    rte_ring *ba =
        rte_ring_create((name + "_ba").c_str(), 4096, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (ab == nullptr || ba == nullptr) {
        *error = std::string("ring pair: rte_ring_create: ") + rte_strerror(rte_errno);
        return -rte_errno;
    }
    int a = rte_eth_from_rings((name + "_a").c_str(), &ba, 1, &ab, 1, socket);
    int b = rte_eth_from_rings((name + "_b").c_str(), &ab, 1, &ba, 1, socket);
    if (a < 0 || b < 0) {
        *error = std::string("ring pair: rte_eth_from_rings: ") + rte_strerror(rte_errno);
        return -rte_errno;
    }
    *port_a = static_cast<uint16_t>(a);
    *port_b = static_cast<uint16_t>(b);
    return 0;
}

}  // namespace homa::dp
