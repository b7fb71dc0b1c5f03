// Frames in: RX burst (when this worker has a queue), frames other workers steered to us, and
// frames we sent to ourselves. Each is classified: ARP and ICMP go to their responders
// (worker_arp_icmp.cc); Homa frames are validated by proto's decoder, counted by reason when
// rejected, and handed to the engine if this worker owns their RPC, or else to the owner
// through the steering ring (steering.h); acks that name another worker's RPC go to it through
// the ack rings. Chained frames (net_ring carries our own zero-copy chains to the peer as they
// are) are linearized into a scratch buffer first.
#include <rte_ethdev.h>
#include <rte_ring.h>

#include "homa/dataplane/steering.h"
#include "homa/proto/decode.h"
#include "icmp.h"
#include "ndp.h"
#include "worker_impl.h"

namespace homa::dp {
namespace {

// kDeliver: a Homa packet for our engine, handed over in handle_burst's second pass.
// kDeliverNow: a Homa packet linearized into the one scratch buffer, which the next chained
// frame would overwrite, so it cannot wait for the burst's second pass.
enum class Fate : uint8_t { kFree, kKept, kDeliver, kDeliverNow };

uint16_t be16(const uint8_t *p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// Hands `m` to worker `to`; returns false (counted) if its ring is full.
bool steer(Worker::Impl &w, rte_mbuf *m, uint16_t to) {
    rte_ring *r = w.cfg.steering->ring(w.cfg.worker_index, to);
    if (rte_ring_sp_enqueue(r, m) != 0) {
        ++w.stats.steer_ring_full;
        return false;
    }
    ++w.stats.steered_out;
    return true;
}

// Every other worker learns from an ARP (or ND) frame too (see worker_arp_icmp.cc's DESIGN NOTES).
void share_arp(Worker::Impl &w, rte_mbuf *m) {
    uint16_t n = w.cfg.steering->num_workers();
    for (uint16_t to = 0; to < n; ++to) {
        if (to == w.cfg.worker_index) continue;
        rte_mbuf_refcnt_update(m, 1);
        rte_ring *r = w.cfg.steering->ring(w.cfg.worker_index, to);
        if (rte_ring_sp_enqueue(r, m) != 0) {
            rte_mbuf_refcnt_update(m, -1);
            ++w.stats.steer_ring_full;
        } else {
            ++w.stats.arp_shared;
        }
    }
}

// Host protocols and validation of a frame that is not the common DATA frame: true when the
// frame was handled (ARP, ICMP, ND) or rejected (counted), false when `v` holds a Homa packet.
bool host_or_rejected(Worker::Impl &w, rte_mbuf *m, const uint8_t *data, uint32_t len, bool steered,
                      wire::PacketView &v) {
    if (len >= 14) {
        size_t l2 = 14;
        uint16_t vid = 0;
        if (be16(data + 12) == wire::kEtherTypeVlan && len >= 18) {
            vid = be16(data + 14) & 0x0FFF;
            l2 = 18;
        }
        if (vid != w.cfg.vlan_id) {
            ++w.stats.rx_wrong_vlan;
            return true;
        }
        uint16_t type = be16(data + l2 - 2);
        if (type == wire::kEtherTypeArp) {
            if (!handle_arp_icmp_frame(w, data, len, steered)) ++w.stats.rx_other;
            if (!steered && w.cfg.steering && w.cfg.steering->num_workers() > 1) share_arp(w, m);
            return true;  // share_arp took its own references
        }
        if (type == wire::kEtherTypeIpv4 && len >= l2 + 20 && data[l2 + 9] == kIpProtoIcmp) {
            if (!handle_arp_icmp_frame(w, data, len, steered)) ++w.stats.rx_other;
            return true;
        }
        if (type == wire::kEtherTypeIpv6 && len >= l2 + 40 && data[l2 + 6] == kIpProtoIcmp6) {
            bool handled = handle_ndp_icmp6_frame(w, data, len, steered);
            if (!handled) ++w.stats.rx_other;
            if (handled && !steered && w.cfg.steering && w.cfg.steering->num_workers() > 1 &&
                is_nd_frame(data, len)) {
                share_arp(w, m);
            }
            return true;
        }
    }
    if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_BAD) {
        ++w.stats.rx_bad_checksum_offload;
        return true;
    }
    // The general decoder directly: the shortcut has failed already, or cannot apply.
    wire::DecodeError e = wire::decode_frame_general({data, len}, v);
    if (e != wire::DecodeError::kOk) {
        ++w.stats.rx_decode_errors[static_cast<size_t>(e)];
        return true;
    }
    return false;
}

// Host protocols, validation and steering for one frame; a Homa packet for this worker is
// left in `v` (kDeliver, or kDeliverNow when it was linearized).
Fate classify_frame(Worker::Impl &w, rte_mbuf *m, bool steered, wire::PacketView &v) {
    ++w.stats.rx_frames;
    const uint8_t *data;
    uint32_t len = rte_pktmbuf_pkt_len(m);
    if (m->nb_segs == 1) {
        data = rte_pktmbuf_mtod(m, const uint8_t *);
    } else {
        if (len > w.scratch.size()) {
            ++w.stats.rx_too_big;
            return Fate::kFree;
        }
        data = static_cast<const uint8_t *>(rte_pktmbuf_read(m, 0, len, w.scratch.data()));
        ++w.stats.rx_linearized;
    }
    // The common frame (untagged IPv4 DATA, valid) is none of the host protocols, so it skips
    // their checks and the general decoder (docs/perf.md, forty-third session).
    const bool plain = w.cfg.vlan_id == 0 &&
                       (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) != RTE_MBUF_F_RX_IP_CKSUM_BAD &&
                       wire::decode_plain_data({data, len}, v);
    if (!plain && host_or_rejected(w, m, data, len, steered, v)) return Fate::kFree;
    if (v.is_ipv6() ? !is_local6(w, v.ip6().dst) : v.dst_ip() != w.cfg.engine.local_ip) {
        ++w.stats.rx_not_for_us;
        return Fate::kFree;
    }
    if (w.cfg.steering && !steered) {
        uint16_t owner = Steering::owner_of(v.src_addr(), v.common().sender_id.get(),
                                            w.cfg.steering->num_workers());
        if (owner != w.cfg.worker_index) return steer(w, m, owner) ? Fate::kKept : Fate::kFree;
    }
    return m->nb_segs != 1 ? Fate::kDeliverNow : Fate::kDeliver;
}

// The RPC itself is prefetched Engine::kRpcHintAhead packets ahead of the one being handled.
constexpr uint32_t kRpcPrefetchAhead = Engine::kRpcHintAhead;
// The hints start at Engine::kHintsFromLiveRpcs. The first A/B (three runs) put the line at
// 16384; the sixth session's scaling runs found 10^4 live RPCs the slowest point of the sweep,
// and a profile of that client had 8 % of its cycles in find_rpc_of, on the RPC's first line.
// With the line at 4096, 10 alternating pairs at 10^4 (memif, 100 B, 4 s each, machine
// otherwise stopped): median 676 k against 620 k RPC/s, client busy cycles per packet 1,380
// against 1,485; 7 of 10 pairs faster, run-to-run spread +-15 %. (Measured before link-time
// optimization, which then deleted the hints' calls until homa/mem/prefetch.h.)
constexpr uint32_t kChunk = std::tuple_size_v<decltype(Worker::Impl::rx_views)>;

// Hands the classified packets views[0, nhoma) to the engine in arrival order, their RPCs
// prefetched a few ahead, and appends their frames to the ones to free.
void deliver_classified(Worker::Impl &w, rte_mbuf **homa, uint32_t nhoma, bool hint,
                        rte_mbuf **frames, uint32_t &nfree) {
    const wire::PacketView *views = w.rx_views.data();
    for (uint32_t j = 0; j < nhoma; ++j) {
        if (hint) {
            if (j == 0) {
                for (uint32_t k = 1; k < kRpcPrefetchAhead && k < nhoma; ++k) {
                    w.engine.prefetch_rpc(views[k]);
                }
            }
            if (j + kRpcPrefetchAhead < nhoma) w.engine.prefetch_rpc(views[j + kRpcPrefetchAhead]);
        }
        w.engine.handle_packet(views[j], w.now_ns);
        frames[nfree++] = homa[j];  // nfree + (nhoma - j) <= n: still within the burst
    }
}

// Returns a chunk's frames to their pools. Almost all are direct, unshared, single-segment
// mbufs of one pool: those go back in one inline rte_mempool_put_bulk. rte_pktmbuf_free_bulk
// checks the same things through a call into librte_mbuf, about 42 instructions per frame in
// the one-core 100 B echo's profile (twenty-eighth session). Any other frame, and every frame
// of a second pool, takes rte_pktmbuf_free, which handles chains, attached and shared mbufs.
void free_frames(rte_mbuf **frames, uint32_t n) {
    rte_mempool *const pool = frames[0]->pool;
    uint32_t plain = 0;
    for (uint32_t i = 0; i < n; ++i) {
        rte_mbuf *m = frames[i];
        if (m->pool == pool && m->nb_segs == 1 && m->next == nullptr && RTE_MBUF_DIRECT(m) &&
            rte_mbuf_refcnt_read(m) == 1) {
            frames[plain++] = m;  // plain <= i: slot i was read already
        } else {
            rte_pktmbuf_free(m);
        }
    }
    if (plain) rte_mempool_put_bulk(pool, reinterpret_cast<void **>(frames), plain);
}

// At most kChunk frames in two passes: first every frame is classified (and, with many live
// RPCs, the engine's index slot for each Homa packet prefetched), then the packets go to the
// engine (with their RPCs prefetched a few ahead). With 10^5 live RPCs each lookup is a cache
// miss; done one packet at a time they were paid in series (issue 12's scaling).
// The engine sees the packets in arrival order, even a linearized one that cannot wait for the
// second pass: the packets classified before it go first. Homa relies on that order: a GRANT
// for a reply's last bytes handled after the DATA that acknowledges the reply finds no RPC.
void handle_chunk(Worker::Impl &w, rte_mbuf **frames, uint32_t n, bool steered) {
    wire::PacketView *views = w.rx_views.data();
    rte_mbuf *homa[kChunk];
    uint32_t nhoma = 0;
    const bool hint = w.engine.live_rpcs() >= Engine::kHintsFromLiveRpcs;
    uint32_t nfree = 0;
    for (uint32_t i = 0; i < n; ++i) {
        if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(frames[i + 1], void *));
        switch (classify_frame(w, frames[i], steered, views[nhoma])) {
            // Compacting in place is safe: slot nfree <= i was already classified.
            case Fate::kFree: frames[nfree++] = frames[i]; break;
            case Fate::kKept: break;
            case Fate::kDeliver:
                if (hint) w.engine.prefetch_index(views[nhoma]);
                homa[nhoma++] = frames[i];
                break;
            case Fate::kDeliverNow:
                deliver_classified(w, homa, nhoma, hint, frames, nfree);
                w.engine.handle_packet(views[nhoma], w.now_ns);
                nhoma = 0;
                frames[nfree++] = frames[i];
                break;
        }
    }
    deliver_classified(w, homa, nhoma, hint, frames, nfree);
    if (nfree) free_frames(frames, nfree);
}

// Handles a burst and frees the frames nobody kept.
uint32_t handle_burst(Worker::Impl &w, rte_mbuf **frames, uint32_t n, bool steered) {
    for (uint32_t at = 0; at < n; at += kChunk) {
        handle_chunk(w, frames + at, std::min(kChunk, n - at), steered);
    }
    return n;
}

// Acks other workers received for our server RPCs. Before this poll's frames: the ack was
// received earlier than they were.
uint32_t apply_forwarded_acks(Worker::Impl &w) {
    const Steering &st = *w.cfg.steering;
    StrayAck acks[32];
    uint32_t n = 0;
    for (uint16_t from = 0; from < st.num_workers(); ++from) {
        rte_ring *r = st.ack_ring(from, w.cfg.worker_index);
        if (r == nullptr) continue;
        unsigned got = rte_ring_sc_dequeue_burst_elem(r, acks, sizeof(acks[0]), 32, nullptr);
        for (unsigned i = 0; i < got; ++i) w.engine.apply_ack(acks[i].peer, acks[i].client_id);
        n += got;
    }
    w.stats.acks_received += n;
    return n;
}

// Acks this poll's packets carried for RPCs our engine does not have: each goes to the worker
// that owns its RPC. One we own is a repeat (the RPC is already gone).
void forward_stray_acks(Worker::Impl &w) {
    const Steering &st = *w.cfg.steering;
    for (const StrayAck &a : w.engine.stray_acks()) {
        uint16_t owner = Steering::owner_of(a.peer, a.client_id, st.num_workers());
        if (owner == w.cfg.worker_index) {
            ++w.stats.acks_repeated;
            continue;
        }
        // DPDK 22.11 takes the element as void *, and only reads it.
        void *elem = const_cast<StrayAck *>(&a);
        if (rte_ring_sp_enqueue_elem(st.ack_ring(w.cfg.worker_index, owner), elem, sizeof(a)) ==
            0) {
            ++w.stats.acks_forwarded;
        } else {
            ++w.stats.ack_ring_full;  // the owner's NEED_ACK recovers it
        }
    }
    w.engine.clear_stray_acks();
}

// The bursts each RX queue may give this poll (WorkerConfig::rx_match_tx_above).
uint16_t rx_bursts_this_poll(Worker::Impl &w, uint16_t want) {
    const uint16_t full = w.cfg.rx_budget_bursts;
    if (w.cfg.rx_match_tx_above == 0 || w.engine.queued_replies() <= w.cfg.rx_match_tx_above) {
        return full;
    }
    const uint32_t tx_frames = uint32_t{w.cfg.tx_data_budget} * w.cfg.tx_budget_scale;
    const uint32_t bursts = std::max<uint32_t>(1, (tx_frames + want - 1) / want);
    if (bursts >= full) return full;
    ++w.stats.rx_matched_polls;
    return static_cast<uint16_t>(bursts);
}

}  // namespace

uint32_t receive(Worker::Impl &w) {
    uint32_t n = poll_neighbours(w);
    if (!w.local_rx.empty()) {
        // Only build_and_send adds to local_rx, so handling cannot grow it under our feet.
        trace_stage(w);
        n += handle_burst(w, w.local_rx.data(), static_cast<uint32_t>(w.local_rx.size()), false);
        w.local_rx.clear();
    }
    rte_mbuf *burst[64];
    uint16_t want = std::min<uint16_t>(w.cfg.burst, 64);
    if (w.cfg.steering) {
        n += apply_forwarded_acks(w);
        for (uint16_t from = 0; from < w.cfg.steering->num_workers(); ++from) {
            rte_ring *r = w.cfg.steering->ring(from, w.cfg.worker_index);
            if (r == nullptr) continue;
            unsigned got =
                rte_ring_sc_dequeue_burst(r, reinterpret_cast<void **>(burst), want, nullptr);
            w.stats.steered_in += got;
            if (got) trace_stage(w);
            n += handle_burst(w, burst, got, true);
        }
    }
    const uint16_t max_bursts = w.cfg.rx_queue ? rx_bursts_this_poll(w, want) : 0;
    bool behind = false;  // a queue still delivered full bursts when its budget ended
    if (w.cfg.rx_queue) {
        // Drain (up to the budget) before the engine's timers run again, so that packets
        // already waiting in our ring are never mistaken for a peer's silence.
        uint16_t got = want;
        // The budget counts from the poll's start, or, in a poll that began with the last
        // poll's deferred TX (yield_to_app, microseconds of it), from the end of the first full
        // burst: the clock is read only once a burst comes back full.
        uint64_t until = 0;
        for (uint16_t b = 0; b < max_bursts && got == want; ++b) {
            got = rte_eth_rx_burst(w.cfg.port_id, w.cfg.queue_id, burst, want);
            if (got) {
                trace_stage(w);  // the burst's records share one clock read
                HOMA_TT(w.tt, "rx burst %u of %u", got, want);
            }
            n += handle_burst(w, burst, got, false);
            if (w.rx_budget_cycles != 0 && got == want) {
                const uint64_t t = rte_get_tsc_cycles();
                if (until == 0) until = (w.tx_deferred ? t : w.tsc) + w.rx_budget_cycles;
                if (t >= until) break;
            }
        }
        behind = got == want;
    }
    if (w.cfg.rx_queue && w.cfg.fast_queue_id != WorkerConfig::kNoQueue) {
        // The priority queue after the bulk one, to its end: it holds control packets and
        // short messages, few and cheap, which bulk frames must not hold up. Read last, what
        // it completes reaches a run-to-completion application right after this RX (the
        // poll's DATA waits for the next poll, WorkerConfig::yield_to_app), and what
        // arrived while the bulk frames were read is in it.
        uint16_t got = want;
        for (uint16_t b = 0; b < max_bursts && got == want; ++b) {
            got = rte_eth_rx_burst(w.cfg.port_id, w.cfg.fast_queue_id, burst, want);
            if (got) {
                trace_stage(w);  // the burst's records share one clock read
                HOMA_TT(w.tt, "rx fast burst %u of %u", got, want);
            }
            w.stats.rx_fast_frames += got;
            n += handle_burst(w, burst, got, false);
        }
        behind = behind || got == want;
    }
    if (behind) {
        HOMA_TT(w.tt, "rx budget of %u bursts spent: backlog", max_bursts);
        ++w.stats.rx_backlog_polls;
        w.engine.note_backlog();
    }
    if (w.cfg.steering) forward_stray_acks(w);
    return n;
}

}  // namespace homa::dp
