/**
 * @file
 * Bringing up one DPDK port (any ethdev: NIC, net_null, net_ring, net_memif, net_af_packet,
 * net_tap, net_pcap) for homa-dp: queues, MTU, multi-segment transmit when offered, start.
 *
 * @code
 *   homa::dp::PortSetup ps{.port_id = 0, .mbuf_pool = pool};
 *   homa::dp::PortInfo info;
 *   std::string err;
 *   if (homa::dp::setup_port(ps, &info, &err) < 0) rte_exit(EXIT_FAILURE, "%s\n", err.c_str());
 * @endcode
 *
 * Threading: main lcore, before workers start. Errors: negative errno and a message naming the
 * port and the failing step.
 */
#pragma once

#include <array>
#include <cstdint>
#include <string>

struct rte_mempool;

namespace homa::dp {

struct PortSetup {
    uint16_t port_id = 0;
    uint16_t num_queues = 1;     ///< RX/TX queue pairs (one per worker).
    uint16_t rx_desc = 1024;
    uint16_t tx_desc = 1024;
    uint32_t mtu = 1500;
    rte_mempool *mbuf_pool = nullptr;  ///< RX buffers; must outlive the port.
    bool promiscuous = true;     ///< Needed on shared links (tap, af_packet) with our own MAC.
};

struct PortInfo {
    std::array<uint8_t, 6> mac{};
    std::string driver;          ///< e.g. "net_ring", "net_memif".
    bool multi_seg_tx = false;   ///< Chained mbufs (zero-copy payload) can be sent.
    bool mtu_set = false;        ///< The PMD accepted the MTU (some vdevs cannot set one).
    uint16_t num_queues = 0;
};

/** Configures and starts a port. Returns 0, or a negative errno with `error` naming the port
 *  and the step (-ENODEV: no such port; -EINVAL: more queues than the port offers; others from
 *  the PMD). The port is left stopped and unconfigured-as-far-as-possible on failure. */
int setup_port(const PortSetup &setup, PortInfo *info, std::string *error);

/** Stops and closes a port started by setup_port. Returns 0 or a negative errno. */
int close_port(uint16_t port_id);

}  // namespace homa::dp
