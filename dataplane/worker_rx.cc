// Frames in: RX burst plus frames we sent to ourselves, validated by proto's decoder, counted
// by reason when rejected, and handed to the engine. Chained frames (net_ring carries our own
// zero-copy chains to the peer as they are) are linearized into a scratch buffer first.
#include <rte_ethdev.h>

#include "homa/proto/decode.h"
#include "worker_impl.h"

namespace homa::dp {
namespace {

void handle_frame(Worker::Impl &w, rte_mbuf *m) {
    ++w.stats.rx_frames;
    const uint8_t *data;
    uint32_t len = rte_pktmbuf_pkt_len(m);
    if (m->nb_segs == 1) {
        data = rte_pktmbuf_mtod(m, const uint8_t *);
    } else {
        if (len > w.scratch.size()) {
            ++w.stats.rx_too_big;
            return;
        }
        data = static_cast<const uint8_t *>(rte_pktmbuf_read(m, 0, len, w.scratch.data()));
        ++w.stats.rx_linearized;
    }
    wire::PacketView v;
    wire::DecodeError e = wire::decode_frame({data, len}, v);
    if (e != wire::DecodeError::kOk) {
        ++w.stats.rx_decode_errors[static_cast<size_t>(e)];
        return;
    }
    if (v.dst_ip() != w.cfg.engine.local_ip) {
        ++w.stats.rx_not_for_us;
        return;
    }
    w.engine.handle_packet(v, w.now_ns);
}

}  // namespace

uint32_t receive(Worker::Impl &w) {
    uint32_t n = 0;
    if (!w.local_rx.empty()) {
        // Only build_and_send adds to local_rx, so handling cannot grow it under our feet.
        for (rte_mbuf *m : w.local_rx) handle_frame(w, m);
        rte_pktmbuf_free_bulk(w.local_rx.data(), static_cast<unsigned>(w.local_rx.size()));
        n += static_cast<uint32_t>(w.local_rx.size());
        w.local_rx.clear();
    }
    rte_mbuf *burst[64];
    uint16_t want = std::min<uint16_t>(w.cfg.burst, 64);
    uint16_t got = rte_eth_rx_burst(w.cfg.port_id, w.cfg.queue_id, burst, want);
    for (uint16_t i = 0; i < got; ++i) {
        if (i + 1 < got) rte_prefetch0(rte_pktmbuf_mtod(burst[i + 1], void *));
        handle_frame(w, burst[i]);
    }
    if (got) rte_pktmbuf_free_bulk(burst, got);
    return n + got;
}

}  // namespace homa::dp
