// The IPv6 side of being a host on a link: next-hop resolution of the Homa frames we send to
// IPv6 peers (held while a solicitation is out, as for ARP), answering Neighbour Solicitations
// for our address, learning from solicitations and advertisements, re-probing learned
// neighbours by solicitations when they go stale (the neighbour cache's timers), and ICMPv6
// echo replies. Nothing here runs unless the worker has an IPv6 address
// (WorkerConfig::local_ip6). Every IPv6 destination is taken to be on the link (no router).
//
// DESIGN NOTES: it mirrors worker_arp_icmp.cc: per-worker caches, and an NS/NA received by one
// worker is also handed to every other worker (worker_rx.cc), which only learn from it. Learning
// follows RFC 4861 7.2.3 and 7.2.5 as Linux applies them: a solicitation for our address
// creates an entry for its sender (it will want our answer), an advertisement only completes or
// refreshes an entry we have. Solicitations from :: (duplicate address detection) are answered
// to all-nodes without the Solicited flag, and teach us nothing.
#include <rte_mbuf.h>

#include <cstring>

#include "ndp.h"
#include "worker_impl.h"

namespace homa::dp {
namespace {

constexpr size_t kNdFrameRoom = 18 + 40 + 32;

bool has_ipv6(const Worker::Impl &w) { return !is_unspecified(w.cfg.local_ip6); }

void send_ns(Worker::Impl &w, const Ipv6Addr &target) {
    rte_mbuf *m = build_frame(w, kNdFrameRoom, [&](std::span<uint8_t> out) {
        return build_ns(out, w.cfg.local_mac, w.cfg.vlan_id, w.cfg.local_ip6, target);
    });
    if (m == nullptr) return;
    ++w.stats.nd_solicitations_sent;
    queue_tx(w, m);
}

void handle_nd(Worker::Impl &w, const NdPacket &nd, bool steered) {
    ++w.stats.rx_nd;
    auto release = [&](void *f, const MacAddr &mac) {
        auto *m = static_cast<rte_mbuf *>(f);
        set_dst_mac(m, mac);
        queue_tx(w, m);
    };
    bool dad = is_unspecified(nd.src);
    if (nd.type == kNeighbourAdvertisement) {
        if (nd.has_lladdr) w.neighbours6.learn(nd.target, nd.lladdr, w.now_ns, false, release);
        return;
    }
    if (nd.target != w.cfg.local_ip6 || nd.src == w.cfg.local_ip6) return;
    if (!dad && nd.has_lladdr) w.neighbours6.learn(nd.src, nd.lladdr, w.now_ns, true, release);
    if (steered) return;
    // The answer goes to the asker's link-layer address (its option, else the frame's source);
    // a DAD probe has no address yet, so all-nodes hears the answer.
    const Ipv6Addr &to = dad ? kAllNodes : nd.src;
    MacAddr to_mac = dad ? multicast_mac(kAllNodes) : (nd.has_lladdr ? nd.lladdr : nd.eth_src);
    rte_mbuf *m = build_frame(w, kNdFrameRoom, [&](std::span<uint8_t> out) {
        return build_na(out, w.cfg.local_mac, to_mac, w.cfg.vlan_id, w.cfg.local_ip6, to, !dad);
    });
    if (m == nullptr) return;
    ++w.stats.nd_advertisements_sent;
    queue_tx(w, m);
}

}  // namespace

void send_to_next_hop6(Worker::Impl &w, rte_mbuf *m, const wire::Ipv6Addr &dst_ip, bool fast) {
    if (!has_ipv6(w)) {
        ++w.stats.tx_no_ipv6_address;
        w.engine.note_tx_dropped(1);
        rte_pktmbuf_free(m);
        return;
    }
    MacAddr mac;
    if (!w.cfg.resolve_neighbours) {
        if (w.neighbours6.state(dst_ip, &mac) != Neighbour6Cache::State::kStatic) {
            mac = w.cfg.default_dst_mac;
        }
        set_dst_mac(m, mac);
        queue_tx(w, m, fast);
        return;
    }
    switch (w.neighbours6.resolve(dst_ip, m, w.now_ns, &mac)) {
        case NeighbourResult::kSend:
            set_dst_mac(m, mac);
            queue_tx(w, m, fast);
            break;
        case NeighbourResult::kHoldAndProbe: send_ns(w, dst_ip); break;
        case NeighbourResult::kHold: break;
        case NeighbourResult::kDrop: rte_pktmbuf_free(m); break;
    }
}

bool is_nd_frame(const uint8_t *data, uint32_t len) {
    NdPacket nd;
    return parse_nd({data, len}, &nd);
}

bool handle_ndp_icmp6_frame(Worker::Impl &w, const uint8_t *data, uint32_t len, bool steered) {
    if (!has_ipv6(w)) return false;
    NdPacket nd;
    if (parse_nd({data, len}, &nd)) {
        handle_nd(w, nd, steered);
        return true;
    }
    if (steered) return false;  // only ND is shared between workers
    rte_mbuf *m = build_frame(w, len, [&](std::span<uint8_t> out) {
        return icmp6_echo_reply({data, len}, w.cfg.local_ip6, w.cfg.local_mac, out);
    });
    if (m == nullptr) return false;
    ++w.stats.rx_icmp6_echo;
    queue_tx(w, m);
    return true;
}

uint32_t poll_neighbours6(Worker::Impl &w) {
    return w.neighbours6.poll(
        w.now_ns, [&](const wire::Ipv6Addr &ip) { send_ns(w, ip); },
        [](void *f) { rte_pktmbuf_free(static_cast<rte_mbuf *>(f)); });
}

}  // namespace homa::dp
