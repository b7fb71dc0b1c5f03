// The messages of a run, generated once from the seed and given unchanged to the Homa cluster
// and to the SRPT oracle, so that both schedule exactly the same arrivals.
//
// Threading: pure functions of their arguments. Errors: none (the caller validated the
// options); an empty list is returned for zero messages.
#pragma once

#include <cstdint>
#include <vector>

#include "apps/common/workload.h"
#include "apps/sim/topology.h"

namespace homa::sim {

/** One message from host `src` to host `dst`, created at `arrival`. */
struct MessageSpec {
    SimTime arrival = 0;
    uint32_t src = 0;
    uint32_t dst = 0;
    uint32_t length = 0;
    bool tagged = false;  ///< Incast: one of the short probe messages (reported separately).
};

/** Poisson arrivals at `load` per host, each to a destination drawn uniformly among the other
 *  hosts, lengths from `workload`. Load is the fraction of a host link's time the messages'
 *  frames occupy: DATA packets with all their headers, request plus 1-byte reply
 *  (Topology::rpc_wire_time), so that header-heavy workloads (W1) can be offered 90 % too.
 *  Sorted by arrival. */
std::vector<MessageSpec> poisson_all_to_all(const Topology &topo, const apps::Workload &workload,
                                            double load, uint64_t messages, uint64_t seed);

/** Incast: hosts 1..senders each send one `big_bytes` message to host 0 at time 0 (staggered
 *  by one packet time so that the order is defined), and `probes` short messages of
 *  `probe_bytes` go to host 0 from random senders at times uniformly random over the time the
 *  big messages need at line rate. The probes are tagged. Sorted by arrival. */
/** Mean Topology::rpc_wire_time over the workload's lengths, in ps. */
double mean_rpc_wire_time(const Topology &topo, const apps::Workload &workload);

std::vector<MessageSpec> incast(const Topology &topo, uint32_t senders, uint32_t big_bytes,
                                uint32_t probes, uint32_t probe_bytes, uint64_t seed);

}  // namespace homa::sim
