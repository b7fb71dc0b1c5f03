// The yardstick: the same topology and arrivals scheduled by an idealised omniscient SRPT, the
// pFabric-style bound the Homa paper compares with. Every link serves the packet of the message
// with the fewest bytes left: a sender's link picks, among its messages, the one with the
// fewest unsent bytes; each switch output port picks the queued packet whose message had the
// fewest bytes left when that packet was sent (ties: first queued). No control packets, no
// grants, no buffer limit, no host CPU: only data, packetized exactly like Homa's DATA
// (Topology::data_frame_bytes), so a message alone finishes at Topology::unloaded_time. Like the
// Homa cluster's applications, the receiver answers each message with a kReplyBytes reply the
// moment it completes, so both carry the same traffic.
//
// Threading: a pure function of its arguments. Errors: none.
#pragma once

#include <span>
#include <vector>

#include "apps/sim/arrivals.h"
#include "apps/sim/topology.h"

namespace homa::sim {

/** Completion time of each message (same order as `messages`, which must be sorted by arrival). */
std::vector<SimTime> srpt_oracle(const Topology &topo, std::span<const MessageSpec> messages);

}  // namespace homa::sim
