// The engine's knobs by name: one table that the launcher turns into command-line flags (each
// with the Linux default), `set <knob> <value>` at the prompt, `show config` and /homa/config.
// Adding a field to EngineConfig that users may tune means adding one line to HOMA_KNOBS.
#pragma once

#include <cstdint>
#include <string>

#include "homa/proto/config.h"

// X(name, help) for every integer knob of homa::EngineConfig.
#define HOMA_KNOBS(X)                                                                   \
    X(mtu, "IP MTU; DATA payload per packet is mtu - 76")                               \
    X(unsched_bytes, "bytes sent before any grant")                                     \
    X(max_incoming, "granted-but-not-received bytes over all messages")                 \
    X(max_overcommit, "messages granted at once")                                       \
    X(window, "per-message grant window (0: max_incoming / (active + 1))")              \
    X(grant_fifo_fraction, "per mille of grants given to the oldest message")           \
    X(fifo_grant_increment, "bytes per FIFO grant")                                     \
    X(num_priorities, "priority levels in use (1..8)")                                  \
    X(max_sched_prio, "highest priority for scheduled data")                            \
    X(cutoff_version, "version number sent with our unscheduled cutoffs")               \
    X(link_mbps, "link speed the pacer assumes")                                        \
    X(max_nic_queue_ns, "estimated NIC queue the pacer allows")                         \
    X(throttle_min_bytes, "messages with fewer bytes left are never held by the pacer") \
    X(tick_ns, "timer tick")                                                            \
    X(resend_ticks, "silent ticks before the first RESEND")                             \
    X(resend_interval, "ticks between RESENDs")                                         \
    X(timeout_ticks, "silent ticks before an RPC fails with ETIMEDOUT")                 \
    X(request_ack_ticks, "ticks a finished reply waits before NEED_ACK")                \
    X(resend_budget, "timer control packets per peer per tick (RESEND, NEED_ACK)")      \
    X(max_peer_server_rpcs, "server RPCs one peer may hold on this host (0: no limit)") \
    X(max_peer_unacked, "replies one peer may leave unacknowledged (0: no limit)")      \
    X(peer_rpc_share, "per mille of max_rpcs one peer's incomplete messages may hold")  \
    X(peer_pool_share, "per mille of held bpages above which a peer is evicted from")   \
    X(peer_incoming_share, "per mille of max_incoming one peer's grants may use")       \
    X(peer_idle_ticks, "ticks an idle peer entry is kept")                              \
    X(max_rpcs, "live RPCs per worker (start-up only)")                                 \
    X(max_peers, "peers per worker (start-up only)")                                    \
    X(max_sockets, "sockets per worker (start-up only)")                                \
    X(tx_queue_packets, "packets buffered between engine and port (start-up only)")

namespace homa::apps {

struct KnobInfo {
    const char *name;
    const char *help;
    uint64_t (*get)(const EngineConfig &);
    /** False (nothing changed) if `value` does not fit the field's type. */
    bool (*set)(EngineConfig &, uint64_t value);
};

/** Every knob, in HOMA_KNOBS order. */
const KnobInfo *knobs(size_t *count);
/** The knob called `name`, or nullptr. */
const KnobInfo *find_knob(const std::string &name);
/** "name = value" lines for every knob, one per line. */
std::string describe_config(const EngineConfig &c);
/** Applies "name=value,name=value" (knob names as above) to `c`. False with `error` set on an
 *  unknown name, a malformed item or a value out of range; `c` may then be partly changed.
 *  Does not validate the whole config (EngineConfig::validate does). */
bool apply_knob_list(const std::string &list, EngineConfig *c, std::string *error);

}  // namespace homa::apps
