// See packet_summary.h.
#include "packet_summary.h"

#include "apps/common/ipv4.h"
#include "homa/proto/stats.h"

namespace homa::perf {
namespace {

using wire::PacketType;

constexpr PacketType kControl[] = {
    PacketType::kGrant, PacketType::kResend,     PacketType::kAck,    PacketType::kNeedAck,
    PacketType::kBusy,  PacketType::kRpcUnknown, PacketType::kCutoffs};

size_t idx(PacketType t) { return static_cast<uint8_t>(t) - wire::kFirstPacketType; }

std::string per_type(const uint64_t (&v)[EngineSummary::kTypes]) {
    std::string out;
    for (uint8_t t = wire::kFirstPacketType; t <= wire::kLastPacketType; ++t) {
        out += std::string(out.empty() ? "" : ", ") + wire::packet_type_name(t) + " " +
               std::to_string(v[t - wire::kFirstPacketType]);
    }
    return out;
}

}  // namespace

EngineSummary summarize_engine(dp::Worker &worker, const std::string &role) {
    const EngineStats &e = worker.engine().stats();
    const dp::WorkerStats &w = worker.stats();
    EngineSummary s;
    s.ip = apps::format_ipv4(worker.local_ip());
    s.role = role;
    for (uint8_t t = wire::kFirstPacketType; t <= wire::kLastPacketType; ++t) {
        s.tx[t - wire::kFirstPacketType] = e.packets_tx[t];
        s.rx[t - wire::kFirstPacketType] = e.packets_rx[t];
    }
    for (PacketType t : kControl) s.control_tx += s.tx[idx(t)];
    s.completed_rpcs = e.client_rpcs_completed ? e.client_rpcs_completed : e.server_rpcs_completed;
    s.retransmitted = e.retransmitted_packets;
    s.resends = e.resends_sent;
    s.resend_probes = e.resend_probes_sent;
    s.busy = e.busy_sent;
    s.rpc_unknown = e.rpc_unknown_sent;
    s.client_restarts = e.client_rpcs_restarted;
    s.client_timeouts = e.client_rpcs_timed_out;
    s.server_timeouts = e.server_rpcs_timed_out;
    s.server_forgotten = e.server_rpcs_forgotten;
    s.buffer_waits = e.buffer_waits;
    // Frames we built and did not send (the engine believes they left).
    const std::pair<const char *, uint64_t> worker_tx_drops[] = {
        {"tx_no_mbuf", w.tx_no_mbuf},
        {"tx_queue_full", w.tx_queue_full},
        {"steer_ring_full", w.steer_ring_full},
        {"tx_fault_dropped", w.tx_fault_dropped}};
    for (const auto &[name, v] : worker_tx_drops) {
        if (v) s.drops.push_back({std::string("worker ") + name, v});
        s.tx_drops += v;
    }
    for (size_t d = 0; d < kNumEngineDrops; ++d) {
        const uint64_t v = e.drops[d];
        if (!v) continue;
        s.drops.push_back(
            {std::string("engine ") + engine_drop_name(static_cast<EngineDrop>(d)), v});
        // A control packet the engine could not queue never left either.
        if (static_cast<EngineDrop>(d) == EngineDrop::kTxQueueFull) s.tx_drops += v;
    }
    s.cycles_rx = w.cycles_rx;
    s.cycles_engine = w.cycles_engine;
    s.cycles_tx = w.cycles_tx;
    s.cycles_completions = w.cycles_completions;
    s.rx_frames = w.rx_frames;
    s.tx_frames = w.tx_frames;
    s.tx_local = w.tx_local;
    s.poll_gap_threshold_ns = worker.poll_gap_threshold_ns();
    s.poll_gaps = w.poll_gaps;
    s.poll_gap_ns = w.poll_gap_ns;
    s.poll_gap_max_ns = w.poll_gap_max_ns;
    return s;
}

std::string describe(const EngineSummary &s) {
    char line[256];
    std::string out = "homa-perf: where packets went at " + s.ip + " (" + s.role + " engine):\n";
    out += "  sent:     " + per_type(s.tx) + "\n";
    out += "  received: " + per_type(s.rx) + "\n";
    if (s.completed_rpcs) {
        snprintf(line, sizeof(line),
                 "  control packets sent %lu, per completed RPC %.4f (%lu completed)\n",
                 s.control_tx, s.control_per_rpc(), s.completed_rpcs);
    } else {
        snprintf(line, sizeof(line),
                 "  control packets sent %lu, per completed RPC n/a (none completed)\n",
                 s.control_tx);
    }
    out += line;
    snprintf(line, sizeof(line),
             "  recovery: resends %lu (probes %lu), retransmitted %lu, busy %lu, "
             "rpc_unknown %lu, client restarts %lu, client timeouts %lu, "
             "server timeouts %lu, server forgotten %lu, buffer waits %lu\n",
             s.resends, s.resend_probes, s.retransmitted, s.busy, s.rpc_unknown, s.client_restarts,
             s.client_timeouts, s.server_timeouts, s.server_forgotten, s.buffer_waits);
    out += line;
    out += "  drops: tx " + std::to_string(s.tx_drops);
    for (const auto &[name, v] : s.drops) out += ", " + name + " " + std::to_string(v);
    out += "\n";
    if (s.buffer_waits) {
        // Resent, so nothing is lost, but every wait costs a RESEND and the data sent twice:
        // a pool too small for the messages in flight looks like a slow network otherwise.
        out += "  the bpage pool ran out: " + std::to_string(s.buffer_waits) +
               " messages waited for bpages, their DATA dropped (no_buffers) and asked for "
               "again once they had them; --pool_mb sets the pool's size\n";
    }
    if (s.poll_gap_threshold_ns) {
        snprintf(line, sizeof(line),
                 "  poll gaps (a poll begun over %.0f us after the last: the lcore was away): "
                 "%lu, %.3f ms in all, the longest %.3f ms\n",
                 double(s.poll_gap_threshold_ns) / 1e3, s.poll_gaps, double(s.poll_gap_ns) / 1e6,
                 double(s.poll_gap_max_ns) / 1e6);
        out += line;
    }
    if (s.has_stage_cycles()) {
        // Per frame moved (received + sent), whole run, idle polls included: what each stage
        // of the poll costs per packet, next to what a forwarding loop spends.
        snprintf(line, sizeof(line),
                 "  poll stages, TSC cycles per frame (%lu in, %lu out, %lu of the in local): "
                 "rx %.1f, engine %.1f, tx %.1f, completions %.1f, total %.1f\n",
                 s.rx_frames, s.tx_frames, s.tx_local, s.per_frame(s.cycles_rx),
                 s.per_frame(s.cycles_engine), s.per_frame(s.cycles_tx),
                 s.per_frame(s.cycles_completions), s.per_frame(s.stage_cycles_total()));
        out += line;
    }
    return out;
}

void print_json(FILE *out, const EngineSummary &s) {
    fprintf(out,
            "{\"ip\": \"%s\", \"role\": \"%s\", \"completed_rpcs\": %lu, \"control_tx\": %lu, "
            "\"retransmitted\": %lu, \"resends\": %lu, "
            "\"resend_probes\": %lu, \"busy\": %lu, \"rpc_unknown\": %lu, "
            "\"client_restarts\": %lu, \"client_timeouts\": %lu, \"server_timeouts\": %lu, "
            "\"server_forgotten\": %lu, \"buffer_waits\": %lu, \"tx_drops\": %lu",
            s.ip.c_str(), s.role.c_str(), s.completed_rpcs, s.control_tx, s.retransmitted,
            s.resends, s.resend_probes, s.busy, s.rpc_unknown, s.client_restarts, s.client_timeouts,
            s.server_timeouts, s.server_forgotten, s.buffer_waits, s.tx_drops);
    if (s.completed_rpcs) {
        fprintf(out, ", \"control_per_rpc\": %.5f", s.control_per_rpc());
    } else {
        fprintf(out, ", \"control_per_rpc\": null");  // nothing completed: no such ratio
    }
    for (const char *dir : {"tx", "rx"}) {
        const uint64_t *v = dir[0] == 't' ? s.tx : s.rx;
        fprintf(out, ", \"%s\": {", dir);
        for (uint8_t t = wire::kFirstPacketType; t <= wire::kLastPacketType; ++t) {
            fprintf(out, "%s\"%s\": %lu", t == wire::kFirstPacketType ? "" : ", ",
                    wire::packet_type_name(t), v[t - wire::kFirstPacketType]);
        }
        fprintf(out, "}");
    }
    if (s.has_stage_cycles()) {
        fprintf(out,
                ", \"stage_cycles_per_frame\": {\"rx\": %.2f, \"engine\": %.2f, \"tx\": %.2f, "
                "\"completions\": %.2f}",
                s.per_frame(s.cycles_rx), s.per_frame(s.cycles_engine), s.per_frame(s.cycles_tx),
                s.per_frame(s.cycles_completions));
    }
    if (s.poll_gap_threshold_ns) {
        fprintf(out,
                ", \"poll_gaps\": {\"threshold_ns\": %lu, \"count\": %lu, \"total_ns\": %lu, "
                "\"max_ns\": %lu}",
                s.poll_gap_threshold_ns, s.poll_gaps, s.poll_gap_ns, s.poll_gap_max_ns);
    }
    fprintf(out, ", \"drops\": {");
    for (size_t i = 0; i < s.drops.size(); ++i) {
        fprintf(out, "%s\"%s\": %lu", i ? ", " : "", s.drops[i].first.c_str(), s.drops[i].second);
    }
    fprintf(out, "}}");
}

}  // namespace homa::perf
