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

/** Creates the ports "<name>_a" and "<name>_b" (names unique in the process) with `queues`
 *  queue pairs each (1-16), each of `ring_size` slots (a power of two); what one sends on
 *  queue k the other receives on its queue k. Returns 0, or a negative errno (-EEXIST: the name
 *  is taken, -ENOMEM, -EINVAL: a bad count or size) with `error` set. */
int make_ring_pair(const std::string &name, uint16_t *port_a, uint16_t *port_b, std::string *error,
                   uint16_t queues = 1, unsigned ring_size = 4096);

}  // namespace homa::dp
