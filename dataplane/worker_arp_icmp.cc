// What makes a worker a host on a real network: next-hop resolution (ARP requests, frames
// held until the answer, the neighbour cache's timers), the ARP responder, and ICMP echo
// replies. Frames are built into fresh mbufs and leave with the next TX burst.
//
// DESIGN NOTES: every worker keeps its own neighbour cache (no locks on the transmit path).
// An ARP frame is received by one worker only (the queue RSS or the single queue gave it),
// so the receiving worker answers it and also hands the same mbuf (reference count raised)
// to every other worker through the steering rings; they only learn from it. Each worker
// thus resolves an address once by itself, and one answer completes everyone's resolution.
// Frames held during resolution already carry every header: only the destination MAC
// (bytes 0..5 of the first segment) is written when the answer comes.
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <cstring>

#include "arp.h"
#include "homa/dataplane/steering.h"
#include "icmp.h"
#include "worker_impl.h"

namespace homa::dp {

// Queues a finished frame for the next TX burst; beyond the limit (a port that stopped
// taking frames, e.g. link down) it is dropped: Homa resends what matters.
void queue_tx(Worker::Impl &w, rte_mbuf *m, bool fast) {
    auto &batch = fast && w.cfg.fast_queue_id != WorkerConfig::kNoQueue ? w.tx_fast : w.tx_batch;
    if (batch.size() >= w.tx_batch_limit) {
        ++w.stats.tx_queue_full;
        w.engine.note_tx_dropped(1);
        rte_pktmbuf_free(m);
        return;
    }
    batch.push_back(m);
}

void set_dst_mac(rte_mbuf *m, const MacAddr &mac) {
    std::memcpy(rte_pktmbuf_mtod(m, uint8_t *), mac.data(), 6);
}

namespace {

void send_arp(Worker::Impl &w, const MacAddr &eth_dst, const ArpPacket &arp) {
    rte_mbuf *m = build_frame(w, kMinFrame + 4, [&](std::span<uint8_t> out) {
        return build_arp(out, eth_dst, w.cfg.vlan_id, arp);
    });
    if (m) queue_tx(w, m);
}

void send_arp_request(Worker::Impl &w, uint32_t ip) {
    ArpPacket req{.op = kArpRequest,
                  .sha = w.cfg.local_mac,
                  .spa = w.cfg.engine.local_ip,
                  .tha = {},
                  .tpa = ip};
    send_arp(w, kBroadcastMac, req);
    ++w.stats.arp_requests_sent;
}

void handle_arp(Worker::Impl &w, const ArpPacket &arp, bool steered) {
    ++w.stats.rx_arp;
    uint32_t me = w.cfg.engine.local_ip;
    // Probes (RFC 5227), our own echo, and everything on an IPv6-only host.
    if (me == 0 || arp.spa == 0 || arp.spa == me) return;
    bool for_us = arp.tpa == me;
    // Learn like Linux: create an entry when the frame is addressed to us, otherwise only
    // refresh one we have (gratuitous ARP, replies we are still waiting for).
    w.neighbours.learn(arp.spa, arp.sha, w.now_ns, for_us, [&](void *f, const MacAddr &mac) {
        auto *m = static_cast<rte_mbuf *>(f);
        set_dst_mac(m, mac);
        queue_tx(w, m);
    });
    if (for_us && arp.op == kArpRequest && !steered) {
        ArpPacket rep{
            .op = kArpReply, .sha = w.cfg.local_mac, .spa = me, .tha = arp.sha, .tpa = arp.spa};
        send_arp(w, arp.sha, rep);
        ++w.stats.arp_replies_sent;
    }
}

}  // namespace

void send_to_next_hop(Worker::Impl &w, rte_mbuf *m, uint32_t dst_ip, bool fast) {
    MacAddr mac;
    uint32_t mask = w.cfg.netmask;
    if (mask != 0 && w.cfg.gateway != 0 && (dst_ip & mask) != (w.cfg.engine.local_ip & mask)) {
        dst_ip = w.cfg.gateway;  // off the link: the router's MAC, the packet's own address
    }
    if (!w.cfg.resolve_neighbours) {
        if (w.neighbours.state(dst_ip, &mac) != NeighbourCache::State::kStatic) {
            mac = w.cfg.default_dst_mac;
        }
        set_dst_mac(m, mac);
        queue_tx(w, m, fast);
        return;
    }
    switch (w.neighbours.resolve(dst_ip, m, w.now_ns, &mac)) {
        case NeighbourResult::kSend:
            set_dst_mac(m, mac);
            queue_tx(w, m, fast);
            break;
        case NeighbourResult::kHoldAndProbe: send_arp_request(w, dst_ip); break;
        case NeighbourResult::kHold: break;
        case NeighbourResult::kDrop: rte_pktmbuf_free(m); break;
    }
}

bool handle_arp_icmp_frame(Worker::Impl &w, const uint8_t *data, uint32_t len, bool steered) {
    ArpPacket arp;
    if (parse_arp({data, len}, &arp)) {
        handle_arp(w, arp, steered);
        return true;
    }
    if (steered) return false;  // only ARP is shared between workers
    rte_mbuf *m = build_frame(w, len, [&](std::span<uint8_t> out) {
        return icmp_echo_reply({data, len}, w.cfg.engine.local_ip, w.cfg.local_mac, w.ip_id, out);
    });
    if (m == nullptr) return false;
    ++w.ip_id;
    ++w.stats.rx_icmp_echo;
    queue_tx(w, m);
    return true;
}

uint32_t poll_neighbours(Worker::Impl &w) {
    return w.neighbours.poll(
               w.now_ns, [&](uint32_t ip) { send_arp_request(w, ip); },
               [](void *f) { rte_pktmbuf_free(static_cast<rte_mbuf *>(f)); }) +
           poll_neighbours6(w);
}

void drop_held_frames(Worker::Impl &w) {
    auto drop = [](void *f) { rte_pktmbuf_free(static_cast<rte_mbuf *>(f)); };
    w.neighbours.clear_held(drop);
    w.neighbours6.clear_held(drop);
}

}  // namespace homa::dp
