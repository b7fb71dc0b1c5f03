// See counters.h.
#include "counters.h"

#include <rte_ethdev.h>

#include "homa/mem/bpage_pool.h"
#include "homa/proto/decode.h"
#include "homa/proto/stats.h"

namespace homa::launcher {

void for_each_counter(dp::Worker &worker, const CounterVisitor &visit) {
    const dp::WorkerStats &w = worker.stats();
    const EngineStats &e = worker.engine().stats();
    for (uint8_t t = wire::kFirstPacketType; t <= wire::kLastPacketType; ++t) {
        visit(std::string("rx_") + wire::packet_type_name(t), e.packets_rx[t]);
        visit(std::string("tx_") + wire::packet_type_name(t), e.packets_tx[t]);
    }
    for (size_t p = 0; p < wire::kNumPriorities; ++p) {
        visit("tx_bytes_prio" + std::to_string(p), e.bytes_tx_by_priority[p]);
    }
    visit("client_rpcs_started", e.client_rpcs_started);
    visit("client_rpcs_completed", e.client_rpcs_completed);
    visit("client_rpcs_aborted", e.client_rpcs_aborted);
    visit("server_rpcs_started", e.server_rpcs_started);
    visit("server_rpcs_completed", e.server_rpcs_completed);
    visit("server_rpcs_aborted", e.server_rpcs_aborted);
    visit("messages_delivered", e.messages_delivered);
    visit("messages_ready", e.messages_ready);
    visit("duplicate_data_bytes", e.duplicate_data_bytes);
    visit("grants_sent", e.grants_sent);
    visit("fifo_grants_sent", e.fifo_grants_sent);
    visit("granted_bytes", e.granted_bytes);
    visit("pacer_throttled", e.pacer_throttled);
    visit("acks_piggybacked", e.acks_piggybacked);
    visit("need_acks_sent", e.need_acks_sent);
    visit("ack_flushes", e.ack_flushes);
    visit("ack_packets_for_bytes", e.ack_packets_for_bytes);
    visit("cutoffs_sent", e.cutoffs_sent);
    visit("resends_sent", e.resends_sent);
    visit("resend_probes_sent", e.resend_probes_sent);
    visit("retransmitted_packets", e.retransmitted_packets);
    visit("retransmitted_bytes", e.retransmitted_bytes);
    visit("busy_sent", e.busy_sent);
    visit("rpc_unknown_sent", e.rpc_unknown_sent);
    visit("client_rpcs_restarted", e.client_rpcs_restarted);
    visit("client_rpcs_timed_out", e.client_rpcs_timed_out);
    visit("server_rpcs_timed_out", e.server_rpcs_timed_out);
    visit("server_rpcs_forgotten", e.server_rpcs_forgotten);
    visit("buffer_waits", e.buffer_waits);
    visit("buffer_waits_resumed", e.buffer_waits_resumed);
    visit("timer_ticks", e.timer_ticks);
    visit("backlog_ticks", e.backlog_ticks);
    visit("timer_checks", e.timer_checks);
    visit("timer_budget_deferrals", e.timer_budget_deferrals);
    visit("timer_ticks_capped", e.timer_ticks_capped);
    visit("tx_dropped_by_owner", e.tx_dropped_by_owner);
    visit("sent_now", e.sent_now);
    visit("tx_withdrawn", e.tx_withdrawn);
    visit("probes_backed_off", e.probes_backed_off);
    visit("expired_waiting", e.expired_waiting);
    visit("evicted", e.evicted);
    visit("peers_created", e.peers_created);
    visit("peers_reclaimed", e.peers_reclaimed);
    visit("ack_blocks_exhausted", e.ack_blocks_exhausted);
    visit("acks_strayed", e.acks_strayed);
    visit("acks_strayed_dropped", e.acks_strayed_dropped);
    visit("acks_applied", e.acks_applied);
    visit("acks_applied_stale", e.acks_applied_stale);
    for (size_t d = 0; d < kNumEngineDrops; ++d) {
        visit(std::string("drop_") + engine_drop_name(static_cast<EngineDrop>(d)), e.drops[d]);
    }
    for (size_t d = 1; d < wire::kNumDecodeErrors; ++d) {
        visit(std::string("rx_bad_") + wire::decode_error_name(static_cast<wire::DecodeError>(d)),
              w.rx_decode_errors[d]);
    }
    // Frames to a next hop that must be resolved first (a spoofed source never answers ARP:
    // replies and NEED_ACKs to it end here, not on the wire).
    const dp::NeighbourStats &n = worker.neighbour_stats();
    visit("neigh_hits", n.hits);
    visit("neigh_resolutions", n.resolutions);
    visit("neigh_probes", n.probes);
    visit("neigh_resolved", n.resolved);
    visit("neigh_failed", n.failed);
    visit("neigh_held", n.held);
    visit("neigh_released", n.released);
    visit("neigh_dropped_hold_full", n.dropped_hold_full);
    visit("neigh_dropped_failed", n.dropped_failed);
    visit("neigh_dropped_table_full", n.dropped_table_full);
    visit("neigh_learned", n.learned);
    visit("polls", w.polls);
    visit("busy_polls", w.busy_polls);
    visit("rx_frames", w.rx_frames);
    visit("rx_not_for_us", w.rx_not_for_us);
    visit("rx_linearized", w.rx_linearized);
    visit("rx_too_big", w.rx_too_big);
    // Where the frames that never reach the Homa decoder go: with these, rx_frames is the sum
    // of its fates (each rx_bad_*, rx_not_for_us, the engine's rx_<type>, ...), which is how
    // the hostile-pcap test proves that every frame was counted.
    visit("rx_wrong_vlan", w.rx_wrong_vlan);
    visit("rx_bad_checksum_offload", w.rx_bad_checksum_offload);
    visit("rx_arp", w.rx_arp);
    visit("rx_icmp_echo", w.rx_icmp_echo);
    visit("rx_other", w.rx_other);
    visit("steered_in", w.steered_in);
    visit("steered_out", w.steered_out);
    visit("steer_ring_full", w.steer_ring_full);
    visit("acks_forwarded", w.acks_forwarded);
    visit("acks_received", w.acks_received);
    visit("acks_repeated", w.acks_repeated);
    visit("ack_ring_full", w.ack_ring_full);
    visit("arp_requests_sent", w.arp_requests_sent);
    visit("arp_replies_sent", w.arp_replies_sent);
    visit("rx_nd", w.rx_nd);
    visit("nd_advertisements_sent", w.nd_advertisements_sent);
    visit("nd_solicitations_sent", w.nd_solicitations_sent);
    visit("rx_icmp6_echo", w.rx_icmp6_echo);
    visit("tx_queue_full", w.tx_queue_full);
    visit("tx_frames", w.tx_frames);
    visit("tx_yields", w.tx_yields);
    visit("tx_fast_frames", w.tx_fast_frames);
    visit("rx_fast_frames", w.rx_fast_frames);
    visit("tx_zero_copy", w.tx_zero_copy);
    visit("tx_copied", w.tx_copied);
    visit("tx_local", w.tx_local);
    visit("tx_retries", w.tx_retries);
    visit("rx_backlog_polls", w.rx_backlog_polls);
    visit("rx_matched_polls", w.rx_matched_polls);
    visit("tx_backlog_polls", w.tx_backlog_polls);
    visit("tx_no_mbuf", w.tx_no_mbuf);
    visit("tx_no_ipv6_address", w.tx_no_ipv6_address);
    visit("sends_completed", w.sends_completed);
    visit("tx_fault_dropped", w.tx_fault_dropped);
    visit("tx_fault_duplicated", w.tx_fault_duplicated);
    visit("tx_fault_reordered", w.tx_fault_reordered);
    visit("tx_fault_corrupted", w.tx_fault_corrupted);
    visit("cycles_rx", w.cycles_rx);
    visit("cycles_engine", w.cycles_engine);
    visit("cycles_tx", w.cycles_tx);
    visit("cycles_completions", w.cycles_completions);
    visit("poll_gaps", w.poll_gaps);
    visit("poll_gap_ns", w.poll_gap_ns);
    visit("poll_gap_max_ns", w.poll_gap_max_ns);
    visit("poll_gaps_not_logged", w.poll_gaps_not_logged);
    visit("sends_in_flight", worker.sends_in_flight());
    visit("live_rpcs", worker.engine().live_rpcs());
    visit("engine_held_bpages", worker.engine().held_bpages());
    mem::BpagePool &pool = worker.pool();
    visit("bpages_total", pool.total_bpages());
    visit("bpages_free", pool.free_bpages());
    // The port's own view: frames it dropped because its RX queue was full (imissed) or it had
    // no mbuf to receive into (rx_nombuf) never reach the worker's counters.
    rte_eth_stats ps{};
    if (rte_eth_stats_get(worker.port_id(), &ps) == 0) {
        visit("port_ipackets", ps.ipackets);
        visit("port_opackets", ps.opackets);
        visit("port_imissed", ps.imissed);
        visit("port_ierrors", ps.ierrors);
        visit("port_oerrors", ps.oerrors);
        visit("port_rx_nombuf", ps.rx_nombuf);
    }
}

std::string format_counters(dp::Worker &worker, bool all) {
    std::string out;
    for_each_counter(worker, [&](const std::string &name, uint64_t v) {
        if (all || v)
            out += "  " + name + std::string(name.size() < 28 ? 28 - name.size() : 1, ' ') +
                   std::to_string(v) + "\n";
    });
    return out;
}

}  // namespace homa::launcher
