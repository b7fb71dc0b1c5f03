// Port bring-up; see port.h.
#include "homa/dataplane/port.h"

#include <rte_ethdev.h>

#include <cerrno>
#include <cstring>

namespace homa::dp {
namespace {

int fail(std::string *error, uint16_t port, const char *step, int rc) {
    if (error) {
        *error = "port " + std::to_string(port) + ": " + step + " failed: " + strerror(-rc) +
                 " (" + std::to_string(rc) + ")";
    }
    return rc;
}

}  // namespace

int setup_port(const PortSetup &ps, PortInfo *info, std::string *error) {
    if (!rte_eth_dev_is_valid_port(ps.port_id)) return fail(error, ps.port_id, "lookup", -ENODEV);
    if (ps.mbuf_pool == nullptr || info == nullptr || ps.num_queues == 0) {
        return fail(error, ps.port_id, "arguments", -EINVAL);
    }
    rte_eth_dev_info dev{};
    if (int rc = rte_eth_dev_info_get(ps.port_id, &dev); rc < 0) {
        return fail(error, ps.port_id, "rte_eth_dev_info_get", rc);
    }
    if (ps.num_queues > dev.max_rx_queues || ps.num_queues > dev.max_tx_queues) {
        if (error) {
            *error = "port " + std::to_string(ps.port_id) + " (" + dev.driver_name +
                     "): wants " + std::to_string(ps.num_queues) + " queue pairs, offers " +
                     std::to_string(dev.max_rx_queues) + " rx / " +
                     std::to_string(dev.max_tx_queues) + " tx";
        }
        return -EINVAL;
    }
    rte_eth_conf conf{};
    info->multi_seg_tx = (dev.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0;
    if (info->multi_seg_tx) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
    if (int rc = rte_eth_dev_configure(ps.port_id, ps.num_queues, ps.num_queues, &conf); rc < 0) {
        return fail(error, ps.port_id, "rte_eth_dev_configure", rc);
    }
    uint16_t rxd = ps.rx_desc, txd = ps.tx_desc;
    if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(ps.port_id, &rxd, &txd); rc < 0) {
        return fail(error, ps.port_id, "rte_eth_dev_adjust_nb_rx_tx_desc", rc);
    }
    int socket = rte_eth_dev_socket_id(ps.port_id);
    for (uint16_t q = 0; q < ps.num_queues; ++q) {
        if (int rc = rte_eth_rx_queue_setup(ps.port_id, q, rxd, socket, nullptr, ps.mbuf_pool);
            rc < 0) {
            return fail(error, ps.port_id, "rte_eth_rx_queue_setup", rc);
        }
        rte_eth_txconf txconf = dev.default_txconf;
        txconf.offloads = conf.txmode.offloads;
        if (int rc = rte_eth_tx_queue_setup(ps.port_id, q, txd, socket, &txconf); rc < 0) {
            return fail(error, ps.port_id, "rte_eth_tx_queue_setup", rc);
        }
    }
    // Virtual devices often cannot change their MTU; frames are sized by our own config then.
    info->mtu_set = rte_eth_dev_set_mtu(ps.port_id, static_cast<uint16_t>(ps.mtu)) == 0;
    if (int rc = rte_eth_dev_start(ps.port_id); rc < 0) {
        return fail(error, ps.port_id, "rte_eth_dev_start", rc);
    }
    if (ps.promiscuous) rte_eth_promiscuous_enable(ps.port_id);  // best effort: not all PMDs can
    rte_ether_addr mac{};
    if (int rc = rte_eth_macaddr_get(ps.port_id, &mac); rc < 0) {
        return fail(error, ps.port_id, "rte_eth_macaddr_get", rc);
    }
    std::memcpy(info->mac.data(), mac.addr_bytes, 6);
    info->driver = dev.driver_name;
    info->num_queues = ps.num_queues;
    return 0;
}

int close_port(uint16_t port_id) {
    if (!rte_eth_dev_is_valid_port(port_id)) return -ENODEV;
    int rc = rte_eth_dev_stop(port_id);
    int rc2 = rte_eth_dev_close(port_id);
    return rc < 0 ? rc : rc2;
}

}  // namespace homa::dp
