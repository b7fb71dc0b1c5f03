// homa-perf --hold_port_s: at the end of a run, this process stops polling and keeps its port
// open until the peer process closes the link. DPDK 22.11's memif PMD unmaps the shared
// regions from its control thread the moment the peer disconnects, with nothing that waits
// for a burst already inside them, so a process still polling when its peer leaves can die
// in rx_burst or tx_burst. Two processes that agree on who closes first avoid it: the one
// holding has stopped polling, and the one closing is not disturbed by anyone.
#pragma once

#include <atomic>
#include <cstdint>

namespace homa::perf {

/**
 * Holds `port_id` open until its link goes down, `hold_s` seconds pass or `quit` is set,
 * printing to stderr a line when the hold begins ("homa-perf: holding port P open ...", which
 * scripts wait for before they stop the peer) and one that says how it ended.
 *
 * Threading: the main lcore, after every lcore that polls the port has stopped; the caller
 * must not poll the port while this runs. Reads the link with dp::check_link (no syscall for
 * memif) every millisecond and sleeps between reads.
 * Errors: a link that cannot be read (an invalid port) ends the hold, with the reason printed.
 */
void hold_until_peer_closes(uint16_t port_id, double hold_s, const std::atomic<bool> &quit);

/**
 * Calls hold_until_peer_closes when destroyed: declared right after the host, so that every
 * object declared later (poll loops, sockets, drivers) has stopped polling first and the host
 * (which drains and closes the port) goes after it, on every return path.
 * Ownership: borrows `quit`, which must outlive it.
 */
class PeerClosesFirst {
  public:
    PeerClosesFirst(uint16_t port_id, double hold_s, const std::atomic<bool> &quit) noexcept
        : port_id_(port_id), hold_s_(hold_s), quit_(quit) {}
    ~PeerClosesFirst() { hold_until_peer_closes(port_id_, hold_s_, quit_); }
    PeerClosesFirst(const PeerClosesFirst &) = delete;
    PeerClosesFirst &operator=(const PeerClosesFirst &) = delete;

  private:
    uint16_t port_id_;
    double hold_s_;
    const std::atomic<bool> &quit_;
};

}  // namespace homa::perf
