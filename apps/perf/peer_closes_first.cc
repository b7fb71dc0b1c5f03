#include "peer_closes_first.h"

#include <rte_cycles.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "homa/dataplane/port.h"

namespace homa::perf {

void hold_until_peer_closes(uint16_t port_id, double hold_s, const std::atomic<bool> &quit) {
    if (hold_s <= 0) return;
    // What the run printed must be whole before a script acts on the lines below.
    fflush(stdout);
    const uint64_t hz = rte_get_tsc_hz();
    const uint64_t start = rte_get_tsc_cycles();
    const uint64_t end = start + static_cast<uint64_t>(hold_s * double(hz));
    dp::LinkState link;
    for (bool first = true;; first = false) {
        const uint64_t now = rte_get_tsc_cycles();
        const double ms = double(now - start) * 1e3 / double(hz);
        if (int rc = dp::check_link(port_id, &link); rc < 0) {
            fprintf(stderr, "homa-perf: --hold_port_s: cannot read port %u's link: %s\n", port_id,
                    strerror(-rc));
            return;
        }
        if (!link.up && first) {
            fprintf(stderr, "homa-perf: port %u's link was already down: nothing to hold\n",
                    port_id);
            return;
        }
        if (!link.up) {
            // memif marks the link down before it unmaps; give its control thread the time
            // to finish, so that the host's closing polls find a disconnected port.
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            fprintf(stderr, "homa-perf: the peer closed the link after %.0f ms of holding\n", ms);
            return;
        }
        if (first) {
            fprintf(stderr,
                    "homa-perf: holding port %u open, not polling, until the peer closes the "
                    "link (at most %.1f s)\n",
                    port_id, hold_s);
        } else if (quit.load(std::memory_order_relaxed)) {
            fprintf(stderr, "homa-perf: a signal ended the hold after %.0f ms\n", ms);
            return;
        } else if (now >= end) {
            fprintf(stderr,
                    "homa-perf: the link was still up after %.1f s of holding: closing it first "
                    "(a memif peer still polling may crash)\n",
                    ms / 1e3);
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

}  // namespace homa::perf
