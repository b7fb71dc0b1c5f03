// The Homa side of homa-sim: every host of the cluster runs an unmodified homa::Engine (its own
// config, pool and clock reading), each on its own link to one OutputQueuedSwitch.
//
// What a host does: at a message's arrival its application calls send_request (the message is
// the request); the receiving application takes the request with recv, which is the message's
// completion, and answers with a 1-byte reply so that the RPC finishes as in real use (the
// replies, grants and acks are the protocol's overhead, counted per message by type). Every
// packet is a real frame (frame_builder.h) validated by decode_frame on arrival.
//
// The NIC: frames leave one at a time at link speed. The engine is polled with room for one
// DATA packet only when the link is idle and nothing waits for it, so data stays inside the
// engine in SRPT order until the link can take it (as the dataplane gives the engine the room
// its port has); control packets of a poll go to the NIC queue at once.
//
// Threading: one simulation thread. Ownership: the cluster owns its hosts, engines and frames;
// `messages` must outlive it. Errors: the constructor throws std::invalid_argument when an
// engine rejects its configuration; messages an engine refuses are counted (send_errors).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "apps/sim/arrivals.h"
#include "apps/sim/event_queue.h"
#include "apps/sim/output_queued_switch.h"
#include "apps/sim/topology.h"
#include "homa/proto/config.h"
#include "homa/proto/decode.h"
#include "homa/proto/engine.h"
#include "homa/proto/wire.h"

namespace homa::sim {

/** What a finished (or stopped) run measured. */
struct ClusterStats {
    uint64_t packets_by_type[wire::kLastPacketType + 1] = {};  ///< Sent by all engines.
    uint64_t frames = 0;                                       ///< Frames that entered a host link.
    uint64_t events = 0;                                       ///< Events processed.
    uint64_t switch_drops = 0;
    uint64_t max_port_queue_bytes = 0;
    uint64_t max_switch_buffer_bytes = 0;
    uint64_t send_errors = 0;   ///< send_request refused (e.g. RPC table full).
    uint64_t engine_drops = 0;  ///< Packets the engines dropped (all reasons).
    uint64_t retransmitted_packets = 0;
    uint64_t timeouts = 0;
    uint64_t grants = 0;
    uint64_t fifo_grants = 0;
    SimTime end = 0;  ///< Simulated time when the run stopped.
};

class HomaCluster {
  public:
    /** Host i has address Topology::host_ip(i); `engine` is copied to every host (local_ip,
     *  first_client_id set per host). `pool_pages` bpages per host (the receive buffer). */
    HomaCluster(const Topology &topo, const EngineConfig &engine,
                std::span<const MessageSpec> messages, uint32_t pool_pages = 1u << 20);
    ~HomaCluster();
    HomaCluster(const HomaCluster &) = delete;
    HomaCluster &operator=(const HomaCluster &) = delete;

    /** Simulates until every message completed or simulated time reaches `until`.
     *  `progress` (optional) is called about every 2^16 events with the time reached. */
    void run(SimTime until, const std::function<void(SimTime, uint64_t done)> &progress = {});

    /** Called for every frame a host receives, before its engine handles it (for tests and
     *  diagnosis: which priority, grant offsets, order). Empty: no tracing. */
    using PacketTrace = std::function<void(SimTime at, uint32_t src_host, uint32_t dst_host,
                                           const wire::PacketView &packet)>;
    void set_trace(PacketTrace trace);
    /** The same for every frame a host's engine emits, when it emits it (a DATA frame then
     *  leaves at once: the NIC is offered one only when idle). */
    void set_tx_trace(PacketTrace trace);

    /** Per message (same order as given): when the receiver's application got it; 0 if never. */
    const std::vector<SimTime> &completions() const noexcept { return completed_at_; }
    /** Per message: busy time of its receiver's link up to its completion (incast utilisation). */
    const std::vector<SimTime> &receiver_busy_at_completion() const noexcept {
        return busy_at_done_;
    }
    /** Time host `h`'s link started its first frame (0 if none yet). */
    SimTime first_downlink_start(uint32_t h) const noexcept;
    uint64_t completed() const noexcept { return done_; }
    /** Host `h`'s engine, for inspection (snapshot_rpcs, stats) between or after runs. */
    const Engine &engine(uint32_t h) const;
    ClusterStats stats() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::vector<SimTime> completed_at_;
    std::vector<SimTime> busy_at_done_;
    uint64_t done_ = 0;
};

}  // namespace homa::sim
