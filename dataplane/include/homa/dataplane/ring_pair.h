/**
 * @file
 * Two ethdev ports joined back to back by a pair of rte_rings (net_ring's rte_eth_from_rings):
 * two dataplanes in one process, each with its own port, talking through a real PMD (homa-perf
 * --ring_pair, the C ABI's homa_ring_pair). A net_ring port made from EAL arguments cannot do
 * this: it receives from the rings it sends into.
 *
 * Ownership: the ports live until EAL is cleaned up (close them to free them earlier).
 * Threading: a thread EAL knows, after EAL is up. Errors: a negative errno and a message.
 */
#pragma once

#include <cstdint>
#include <string>

namespace homa::dp {

/** Creates the ports "<name>_a" and "<name>_b" (names unique in the process); what one sends
 *  the other receives. Returns 0, or a negative errno (-EEXIST: the name is taken, -ENOMEM)
 *  with `error` set. */
int make_ring_pair(const std::string &name, uint16_t *port_a, uint16_t *port_b, std::string *error);

}  // namespace homa::dp
