// Two ethdev ports joined back to back by a pair of rte_rings (net_ring's rte_eth_from_rings):
// two dataplanes in one process, each with its own port, talking through a real PMD.
#pragma once

#include <cstdint>
#include <string>

namespace homa::perf {

/** Creates the ports "<name>_a" and "<name>_b"; what one sends the other receives. Returns 0
 *  or a negative errno with `error` set. Main lcore, after EAL init. */
int make_ring_pair(const std::string &name, uint16_t *port_a, uint16_t *port_b, std::string *error);

}  // namespace homa::perf
