// Port bring-up and link watching; see port.h.
//
// DESIGN NOTES: a port is configured from what rte_eth_dev_info says it offers, and each
// missing feature has a software answer chosen here once, at setup (our rule: "choose
// variants once"): no RSS or too few RX queues -> software steering; no multi-segment TX ->
// copied payloads; no MTU setting -> accept the port's own MTU if large enough. Only what has
// no software answer fails: fewer TX queues than workers (sharing one would need a lock on
// the datapath), a frame that fits neither an mbuf nor a chain, an MTU the port cannot carry.
// Link state comes from the LSC interrupt where the PMD has one (a callback on EAL's
// interrupt thread that only reads and logs); PMDs without it (ring, null, memif) are polled
// by check_link from a non-worker lcore, because link_get may be a syscall.
#include "homa/dataplane/port.h"

#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_mbuf.h>

#include <cerrno>
#include <cstring>

namespace homa::dp {
namespace {

constexpr uint32_t kL2Overhead = 14 + 4;  // Ethernet + one VLAN tag

std::string name_of(uint16_t port, const char *driver) {
    return "port " + std::to_string(port) + (driver ? std::string(" (") + driver + ")" : "");
}

int fail(std::string *error, uint16_t port, const char *driver, const std::string &step, int rc) {
    if (error) {
        *error = name_of(port, driver) + ": " + step + " failed: " + strerror(-rc) + " (" +
                 std::to_string(rc) + ")";
    }
    return rc;
}

int fail_why(std::string *error, uint16_t port, const char *driver, const std::string &why) {
    if (error) *error = name_of(port, driver) + ": " + why;
    return -EINVAL;
}

void log_link(uint16_t port, const rte_eth_link &l, const char *how) {
    rte_log(RTE_LOG_INFO, port_log_type(), "HOMA_PORT: port %u %s: %s, %u Mbps, %s\n", port, how,
            l.link_status == RTE_ETH_LINK_UP ? "up" : "down", l.link_speed,
            l.link_duplex == RTE_ETH_LINK_FULL_DUPLEX ? "full-duplex" : "half-duplex");
}

// EAL's interrupt thread: read the new state and log it; nothing is changed.
int lsc_callback(uint16_t port, rte_eth_event_type, void *, void *) {
    rte_eth_link l{};
    if (rte_eth_link_get_nowait(port, &l) == 0) log_link(port, l, "link change");
    return 0;
}

}  // namespace

namespace {

// IPv6 ND arrives on multicast MACs that a NIC drops unless told otherwise: an exact filter
// where the PMD has one, else all-multicast, else whatever promiscuous mode already gives.
MulticastMode admit_multicast(uint16_t p, const std::vector<std::array<uint8_t, 6>> &macs) {
    if (macs.empty()) return MulticastMode::kNotNeeded;
    std::vector<rte_ether_addr> list(macs.size());
    for (size_t i = 0; i < macs.size(); ++i) std::memcpy(list[i].addr_bytes, macs[i].data(), 6);
    if (rte_eth_dev_set_mc_addr_list(p, list.data(), static_cast<uint32_t>(list.size())) == 0) {
        return MulticastMode::kFilter;
    }
    if (rte_eth_allmulticast_enable(p) == 0 && rte_eth_allmulticast_get(p) == 1) {
        return MulticastMode::kAllMulticast;
    }
    if (rte_eth_promiscuous_get(p) == 1) return MulticastMode::kPromiscuous;
    rte_log(RTE_LOG_WARNING, port_log_type(),
            "HOMA_PORT: port %u admits no multicast (no filter, all-multicast or promiscuous "
            "mode): IPv6 neighbour discovery depends on the link delivering it anyway\n",
            p);
    return MulticastMode::kNone;
}

}  // namespace

int port_log_type() {
    // Registered once, on first use; rte_log_register_type_and_pick_level returns the same
    // id for the same name, so a second registration would be harmless anyway.
    static const int type = rte_log_register_type_and_pick_level("homa.dp.port", RTE_LOG_INFO);
    return type < 0 ? RTE_LOGTYPE_USER1 : type;
}

int setup_port(const PortSetup &ps, PortInfo *info, std::string *error) {
    const uint16_t p = ps.port_id;
    if (!rte_eth_dev_is_valid_port(p)) return fail(error, p, nullptr, "lookup", -ENODEV);
    if (ps.mbuf_pool == nullptr || info == nullptr || ps.num_queues == 0) {
        return fail_why(error, p, nullptr, "needs an mbuf pool, an info and num_queues > 0");
    }
    rte_eth_dev_info dev{};
    if (int rc = rte_eth_dev_info_get(p, &dev); rc < 0) {
        return fail(error, p, nullptr, "rte_eth_dev_info_get", rc);
    }
    const char *drv = dev.driver_name;
    *info = PortInfo{};
    info->driver = drv;
    // Priority queues double both counts; RX frames must land in the queue the peer sent
    // them on, so a port that would hash them over its queues cannot have them.
    const uint16_t per_worker = ps.priority_queues ? 2 : 1;
    if (ps.priority_queues) {
        if (ps.num_queues * per_worker > dev.max_tx_queues ||
            ps.num_queues * per_worker > dev.max_rx_queues) {
            return fail_why(error, p, drv,
                            "priority queues for " + std::to_string(ps.num_queues) +
                                " workers need " + std::to_string(ps.num_queues * per_worker) +
                                " TX and RX queues; the port offers " +
                                std::to_string(dev.max_tx_queues) + " and " +
                                std::to_string(dev.max_rx_queues));
        }
        if ((dev.flow_type_rss_offloads & RTE_ETH_RSS_IP) != 0) {
            return fail_why(error, p, drv,
                            "priority queues need a point-to-point port (memif, a ring pair): "
                            "this one hashes RX frames over its queues (RSS)");
        }
    }
    const uint16_t ntx = static_cast<uint16_t>(ps.num_queues * per_worker);
    if (ps.num_queues > dev.max_tx_queues) {
        return fail_why(error, p, drv,
                        std::to_string(ps.num_queues) +
                            " workers need as many TX queues; the "
                            "port offers " +
                            std::to_string(dev.max_tx_queues));
    }
    uint16_t nrx = ps.priority_queues ? ntx : std::min<uint16_t>(ps.num_queues, dev.max_rx_queues);
    if (nrx == 0) return fail_why(error, p, drv, "the port has no RX queue");

    // Frame size: the MTU plus Ethernet and a VLAN tag must fit what the port receives and
    // what one RX mbuf holds (or the port must chain).
    uint32_t frame = ps.mtu + kL2Overhead;
    if (dev.max_mtu != 0 && ps.mtu > dev.max_mtu) {
        return fail_why(error, p, drv,
                        "MTU " + std::to_string(ps.mtu) +
                            " exceeds the port's "
                            "maximum " +
                            std::to_string(dev.max_mtu));
    }
    rte_eth_conf conf{};
    // Configured, not only set after start: a PMD without an MTU operation (memif, net_ring)
    // takes its MTU from here.
    conf.rxmode.mtu = ps.mtu;
    uint32_t room = rte_pktmbuf_data_room_size(ps.mbuf_pool) - RTE_PKTMBUF_HEADROOM;
    if (frame > room) {
        if ((dev.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER) == 0) {
            return fail_why(error, p, drv,
                            "frames of " + std::to_string(frame) +
                                " bytes do not fit RX mbufs of " + std::to_string(room) +
                                " and the port cannot scatter");
        }
        conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
        info->rx_scatter = true;
    }
    info->multi_seg_tx = (dev.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0;
    if (info->multi_seg_tx) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
    if (dev.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) {
        conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
        info->rx_ip_checksum = true;
    }
    if (ps.vlan_id && (dev.rx_offload_capa & RTE_ETH_RX_OFFLOAD_VLAN_FILTER)) {
        conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_VLAN_FILTER;
        info->vlan_filter = true;
    }
    uint64_t rss_hf = dev.flow_type_rss_offloads & RTE_ETH_RSS_IP;
    if (nrx > 1 && rss_hf != 0) {  // never with priority queues (refused above)
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
        info->rss = true;
    }
    if (ps.watch_link && dev.dev_flags != nullptr && (*dev.dev_flags & RTE_ETH_DEV_INTR_LSC) != 0) {
        conf.intr_conf.lsc = 1;
        info->lsc_interrupt = true;
    }
    if (int rc = rte_eth_dev_configure(p, nrx, ntx, &conf); rc < 0) {
        return fail(error, p, drv, "rte_eth_dev_configure", rc);
    }
    uint16_t rxd = ps.rx_desc, txd = ps.tx_desc;
    if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(p, &rxd, &txd); rc < 0) {
        return fail(error, p, drv, "rte_eth_dev_adjust_nb_rx_tx_desc", rc);
    }
    int socket = rte_eth_dev_socket_id(p);
    for (uint16_t q = 0; q < nrx; ++q) {
        rte_eth_rxconf rxconf = dev.default_rxconf;
        rxconf.offloads = conf.rxmode.offloads;
        if (int rc = rte_eth_rx_queue_setup(p, q, rxd, socket, &rxconf, ps.mbuf_pool); rc < 0) {
            return fail(error, p, drv, "rte_eth_rx_queue_setup " + std::to_string(q), rc);
        }
    }
    for (uint16_t q = 0; q < ntx; ++q) {
        rte_eth_txconf txconf = dev.default_txconf;
        txconf.offloads = conf.txmode.offloads;
        if (int rc = rte_eth_tx_queue_setup(p, q, txd, socket, &txconf); rc < 0) {
            return fail(error, p, drv, "rte_eth_tx_queue_setup " + std::to_string(q), rc);
        }
    }
    // Virtual devices often cannot change their MTU; then theirs must be large enough.
    info->mtu_set = rte_eth_dev_set_mtu(p, static_cast<uint16_t>(ps.mtu)) == 0;
    uint16_t mtu = 0;
    if (rte_eth_dev_get_mtu(p, &mtu) == 0 && !info->mtu_set && mtu < ps.mtu) {
        return fail_why(error, p, drv,
                        "cannot set MTU " + std::to_string(ps.mtu) + "; the port runs with " +
                            std::to_string(mtu));
    }
    info->mtu = info->mtu_set ? ps.mtu : mtu;
    if (info->vlan_filter) {
        if (int rc = rte_eth_dev_vlan_filter(p, ps.vlan_id, 1); rc < 0) {
            return fail(error, p, drv, "rte_eth_dev_vlan_filter", rc);
        }
    }
    if (info->lsc_interrupt) {
        rte_eth_dev_callback_register(p, RTE_ETH_EVENT_INTR_LSC, lsc_callback, nullptr);
    }
    if (int rc = rte_eth_dev_start(p); rc < 0) {
        if (info->lsc_interrupt) {
            rte_eth_dev_callback_unregister(p, RTE_ETH_EVENT_INTR_LSC, lsc_callback, nullptr);
        }
        return fail(error, p, drv, "rte_eth_dev_start", rc);
    }
    if (ps.promiscuous) rte_eth_promiscuous_enable(p);  // best effort: not all PMDs can
    info->multicast = admit_multicast(p, ps.multicast_macs);
    rte_ether_addr mac{};
    if (int rc = rte_eth_macaddr_get(p, &mac); rc < 0) {
        return fail(error, p, drv, "rte_eth_macaddr_get", rc);
    }
    std::memcpy(info->mac.data(), mac.addr_bytes, 6);
    info->num_queues = ps.num_queues;
    info->num_rx_queues = ps.priority_queues ? ps.num_queues : nrx;
    info->priority_queues = ps.priority_queues;
    return 0;
}

int close_port(uint16_t port_id) {
    if (!rte_eth_dev_is_valid_port(port_id)) return -ENODEV;
    // Unregistering a callback that was never registered is harmless (-ENOENT).
    rte_eth_dev_callback_unregister(port_id, RTE_ETH_EVENT_INTR_LSC, lsc_callback, nullptr);
    int rc = rte_eth_dev_stop(port_id);
    int rc2 = rte_eth_dev_close(port_id);
    return rc < 0 ? rc : rc2;
}

int check_link(uint16_t port_id, LinkState *last) {
    if (last == nullptr) return -EINVAL;
    rte_eth_link l{};
    if (int rc = rte_eth_link_get_nowait(port_id, &l); rc < 0) return rc;
    bool up = l.link_status == RTE_ETH_LINK_UP;
    if (last->known && last->up == up) return 0;
    if (last->known) ++last->changes;
    last->known = true;
    last->up = up;
    last->speed_mbps = l.link_speed;
    log_link(port_id, l, last->changes ? "link change" : "link");
    return 1;
}

}  // namespace homa::dp
