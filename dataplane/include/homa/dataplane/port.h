/**
 * @file
 * Bringing up one DPDK port (any ethdev: NIC, net_null, net_ring, net_memif, net_af_packet,
 * net_tap, net_pcap) for homa-dp's workers, and watching its link.
 *
 * setup_port configures what the port offers and leaves the rest to software:
 *  - queues: one TX queue per worker (required: a TX queue is never shared, so there is no
 *    lock); one RX queue per worker while the port has them, the other workers receive only
 *    through software steering (steering.h). PortInfo::num_rx_queues says how many;
 *  - RSS over IPv4 addresses when there are several RX queues and the port hashes IP
 *    (Homa's ports cannot be hashed by NICs: steering fixes the rest);
 *  - MTU: set when the PMD can; otherwise the port must already carry frames of that size;
 *    RX mbufs must hold a whole frame, or the port must scatter into chains;
 *  - checksums: the IPv4 header checksum is always written in software (the encoder does it,
 *    20 bytes); RX IPv4 checksum offload is enabled when offered and its verdict dropped early;
 *  - multi-segment TX (zero-copy payloads) when offered, else payloads are copied;
 *  - VLAN: the port's VLAN filter admits `vlan_id` when it has one (tags are written by the
 *    workers, with the priority in the PCP bits);
 *  - link: link-state-change interrupts are used when the port has them (the change is
 *    logged from EAL's interrupt thread); otherwise call check_link periodically;
 *  - priority queues (PortSetup::priority_queues): a second TX and RX queue per worker, for
 *    Homa's highest priorities (WorkerConfig::fast_queue_id). Only on point-to-point ports
 *    without RSS (memif, a ring pair), where the frames sent on queue k arrive in the peer's
 *    queue k: there they play the part of a switch's priority queues, which such a link does
 *    not have. Both ends must use them.
 *
 * @code
 *   homa::dp::PortSetup ps{.port_id = 0, .num_queues = 2, .mbuf_pool = pool};
 *   homa::dp::PortInfo info;
 *   std::string err;
 *   if (homa::dp::setup_port(ps, &info, &err) < 0) rte_exit(EXIT_FAILURE, "%s\n", err.c_str());
 *   // worker k: queue_id = k, rx_queue = k < info.num_rx_queues
 * @endcode
 *
 * Threading: setup_port, close_port and check_link on the main (or control) lcore, never on
 * a worker: some PMDs ask the kernel (tap, af_packet) and may block. Errors: negative errno
 * and a message naming the port, its driver, the failing step and the reason.
 */
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

struct rte_mempool;

namespace homa::dp {

struct PortSetup {
    uint16_t port_id = 0;
    uint16_t num_queues = 1;  ///< Workers: one TX queue each, and an RX queue each if offered.
    uint16_t rx_desc = 1024;
    uint16_t tx_desc = 1024;
    uint32_t mtu = 1500;               ///< IP MTU (EngineConfig::mtu).
    rte_mempool *mbuf_pool = nullptr;  ///< RX buffers; must outlive the port.
    bool promiscuous = true;  ///< Needed on shared links (tap, af_packet) with our own MAC.
    uint16_t vlan_id = 0;     ///< Admitted by the port's VLAN filter, if it has one.
    bool watch_link = true;   ///< Log link changes from the LSC interrupt where available.
    /// Multicast MACs the port must receive: IPv6 Neighbour Discovery's solicited-node and
    /// all-nodes groups (33:33:...). Empty: IPv4 only, nothing to do.
    std::vector<std::array<uint8_t, 6>> multicast_macs;
    /// One more TX and RX queue per worker, after the num_queues ordinary ones: worker k's
    /// priority queue pair is num_queues + k (PortInfo::fast_queue). Refused (with why) when
    /// the port has too few queues or would spread RX frames by RSS.
    bool priority_queues = false;
};

/** How a port receives PortSetup::multicast_macs (best first). */
enum class MulticastMode : uint8_t {
    kNotNeeded,     ///< No multicast MAC was asked for.
    kFilter,        ///< rte_eth_dev_set_mc_addr_list: exactly those groups.
    kAllMulticast,  ///< rte_eth_allmulticast_enable: the PMD has no filter list.
    kPromiscuous,   ///< Neither, but the port is promiscuous and so receives them anyway.
    kNone,          ///< Nothing worked: ND will fail unless the link delivers them regardless
                    ///< (virtual PMDs such as net_ring and memif do); logged as a warning.
};

struct PortInfo {
    std::array<uint8_t, 6> mac{};
    std::string driver;           ///< e.g. "net_ring", "net_memif".
    bool multi_seg_tx = false;    ///< Chained mbufs (zero-copy payload) can be sent.
    bool mtu_set = false;         ///< The PMD accepted the MTU (some vdevs cannot set one).
    uint32_t mtu = 0;             ///< MTU the port runs with (>= the one asked for).
    uint16_t num_queues = 0;      ///< TX queues = workers.
    uint16_t num_rx_queues = 0;   ///< Workers [0, num_rx_queues) have an RX queue.
    bool rss = false;             ///< RX queues are filled by RSS over IPv4 addresses.
    bool rx_scatter = false;      ///< Frames larger than an mbuf arrive chained.
    bool rx_ip_checksum = false;  ///< The port flags bad IPv4 header checksums.
    bool vlan_filter = false;     ///< The port filters VLANs and admits vlan_id.
    bool lsc_interrupt = false;   ///< Link changes are logged by the interrupt callback.
    MulticastMode multicast = MulticastMode::kNotNeeded;
    bool priority_queues = false;  ///< Worker k also has queue pair fast_queue(k).
    uint16_t fast_queue(uint16_t worker) const noexcept {
        return static_cast<uint16_t>(num_queues + worker);
    }
};

/** Configures and starts a port. Returns 0, or a negative errno with `error` naming the port,
 *  its driver and the step: -ENODEV (no such port), -EINVAL (bad arguments; fewer TX queues
 *  than workers; MTU beyond what the port or the mbufs carry), others from the PMD. On
 *  failure after configuration the port is left stopped. */
int setup_port(const PortSetup &setup, PortInfo *info, std::string *error);

/** Stops and closes a port started by setup_port (unregistering its link callback).
 *  Returns 0 or a negative errno (-ENODEV for an unknown port). */
int close_port(uint16_t port_id);

/** What check_link last saw of a port's link. */
struct LinkState {
    bool known = false;  ///< False until the first check.
    bool up = false;
    uint32_t speed_mbps = 0;
    uint64_t changes = 0;  ///< Transitions seen (up <-> down) since the first check.
};

/**
 * Reads a port's link without waiting and compares with `last`: a change (or the first
 * reading) is logged at INFO on port_log_type() and recorded in `last`. Workers need not
 * stop while the link is down: frames the port refuses wait in the worker's TX batch, and
 * beyond its limit are dropped and counted (WorkerStats::tx_queue_full).
 * Returns 1 if the link changed, 0 if not, or a negative errno (-ENODEV, -ENOTSUP).
 */
int check_link(uint16_t port_id, LinkState *last);

/** homa-dp's rte_log type for ports ("homa.dp.port"), registered on first use. */
int port_log_type();

}  // namespace homa::dp
