#include "peer_closes_first.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

namespace homa::perf {

namespace {

// < 0: the link cannot be read (-errno); 0: down; 1: up.
int link_up(uint16_t port_id) {
    rte_eth_link l{};
    if (int rc = rte_eth_link_get_nowait(port_id, &l); rc < 0) return rc;
    return l.link_status == RTE_ETH_LINK_UP ? 1 : 0;
}

}  // namespace

HoldEnd hold_until_peer_closes(uint16_t port_id, double hold_s, const std::atomic<bool> &quit) {
    if (hold_s <= 0) return HoldEnd::kNotAsked;
    // What the run printed must be whole before a script acts on the line below.
    fflush(stdout);
    int up = link_up(port_id);
    if (up < 0) {
        fprintf(stderr, "homa-perf: --hold_port_s: cannot read port %u's link: %s\n", port_id,
                strerror(-up));
        return HoldEnd::kNoLink;
    }
    if (up == 0) {
        fprintf(stderr, "homa-perf: port %u's link was already down: nothing to hold\n", port_id);
        return HoldEnd::kAlreadyDown;
    }
    fprintf(stderr,
            "homa-perf: holding port %u open, not polling, until the peer closes the link "
            "(at most %.1f s)\n",
            port_id, hold_s);
    const uint64_t hz = rte_get_tsc_hz();
    const uint64_t start = rte_get_tsc_cycles();
    const uint64_t end = start + static_cast<uint64_t>(hold_s * double(hz));
    for (;;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        const uint64_t now = rte_get_tsc_cycles();
        const double ms = double(now - start) * 1e3 / double(hz);
        if (quit.load(std::memory_order_relaxed)) {
            fprintf(stderr, "homa-perf: a signal ended the hold after %.0f ms\n", ms);
            return HoldEnd::kSignalled;
        }
        up = link_up(port_id);
        if (up == 0) {
            // memif marks the link down before it unmaps; give its control thread the time
            // to finish, so that the host's closing polls find a disconnected port.
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            fprintf(stderr, "homa-perf: the peer closed the link after %.0f ms of holding\n", ms);
            return HoldEnd::kPeerClosed;
        }
        if (up < 0) {
            fprintf(stderr, "homa-perf: --hold_port_s: port %u's link unreadable: %s\n", port_id,
                    strerror(-up));
            return HoldEnd::kNoLink;
        }
        if (now >= end) {
            fprintf(stderr,
                    "homa-perf: the link was still up after %.1f s of holding: closing it first "
                    "(a memif peer still polling may crash)\n",
                    ms / 1e3);
            return HoldEnd::kTimedOut;
        }
    }
}

}  // namespace homa::perf
