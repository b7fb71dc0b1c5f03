// "Where packets went": a compact account of one engine's traffic for homa-perf's --stats and
// JSON. Data and control packets sent and received per type, control packets per completed
// RPC (issue 12 wants that figure small at any load), the recovery machinery's counters
// (RESENDs, BUSY, RPC_UNKNOWN, restarts, timeouts) and every place a packet was dropped.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "homa/dataplane/worker.h"
#include "homa/proto/wire.h"

namespace homa::perf {

struct EngineSummary {
    std::string ip;
    std::string role;  ///< "client", "server" or "client+server".
    static constexpr size_t kTypes = wire::kLastPacketType - wire::kFirstPacketType + 1;
    uint64_t tx[kTypes] = {}, rx[kTypes] = {};  ///< By packet type, in wire order (DATA first).
    uint64_t completed_rpcs = 0;  ///< Client completions (or server ones on a server engine).
    uint64_t control_tx = 0;      ///< GRANT + RESEND + ACK + NEED_ACK + BUSY + RPC_UNKNOWN
                                  ///< + CUTOFFS sent.
    uint64_t retransmitted = 0;
    uint64_t resends = 0, resend_probes = 0, busy = 0, rpc_unknown = 0;
    uint64_t client_restarts = 0, client_timeouts = 0, server_timeouts = 0, server_forgotten = 0;
    uint64_t buffer_waits = 0;
    /** Non-zero drop counters, by name (worker: tx_no_mbuf, tx_queue_full, ...; engine: its
     *  EngineDrop reasons). */
    std::vector<std::pair<std::string, uint64_t>> drops;
    uint64_t tx_drops = 0;  ///< Of those, frames we produced and did not send.
    /** The worker's TSC cycles per stage of its polls (WorkerConfig::stage_cycles; all 0
     *  without it), over every poll of the run, busy or not, and the frames it moved. */
    uint64_t cycles_rx = 0, cycles_engine = 0, cycles_tx = 0, cycles_completions = 0;
    uint64_t rx_frames = 0, tx_frames = 0;  ///< Received; sent to the port (not local).
    uint64_t tx_local = 0;                  ///< Sent to ourselves: counted in rx_frames too.
    /** The worker's poll gaps (WorkerConfig::poll_gap_ns, poll_gap_threshold_ns here; 0: not
     *  counted): time its lcore was away, which every open-loop arrival meanwhile waits out. */
    uint64_t poll_gap_threshold_ns = 0;
    uint64_t poll_gaps = 0, poll_gap_ns = 0, poll_gap_max_ns = 0;

    uint64_t stage_cycles_total() const noexcept {
        return cycles_rx + cycles_engine + cycles_tx + cycles_completions;
    }
    bool has_stage_cycles() const noexcept { return stage_cycles_total() != 0; }
    /** Cycles of a stage per frame received or sent to the port, so that a frame sent to
     *  ourselves counts once; 0 when no frame moved. */
    double per_frame(uint64_t cycles) const noexcept {
        const uint64_t frames = rx_frames + tx_frames;
        return frames ? double(cycles) / double(frames) : 0;
    }

    double control_per_rpc() const noexcept {
        return completed_rpcs ? double(control_tx) / double(completed_rpcs) : 0;
    }
};

/** Snapshot of `worker`'s counters (its own lcore, or any thread: racy by design). */
EngineSummary summarize_engine(dp::Worker &worker, const std::string &role);
/** The human form: a few indented lines. */
std::string describe(const EngineSummary &s);
void print_json(FILE *out, const EngineSummary &s);

}  // namespace homa::perf
