// Test hosts made of N workers on one port (with steering when N > 1), and the echo matrix
// run through the socket API: an echo server (zero-copy replies) and a client that sends
// patterned requests and checks every byte of every response.
#pragma once

#include <gtest/gtest.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "homa/dataplane/host.h"
#include "homa/dataplane/port.h"
#include "homa/dataplane/socket.h"
#include "homa/dataplane/steering.h"
#include "homa/dataplane/worker.h"
#include "homa/mem/bpage_pool.h"

namespace homa::test {

/** The echo matrix: message sizes around every boundary (one packet, unscheduled bytes,
 *  a bpage, the maximum message). */
inline const std::vector<uint32_t> kEchoSizes = {
    1, 100, 1423, 1424, 1425, 10'000, 40'000, 40'001, 65'536, 100'000, 500'000, 1'000'000};

inline uint8_t echo_pattern(uint64_t seed, uint32_t i) {
    return static_cast<uint8_t>(seed * 31 + i * 7 + (i >> 9));
}

/** N workers on an already created port, through dp::Host, with the pieces at hand. */
struct TestHost {
    std::unique_ptr<dp::Host> host;
    dp::PortInfo info;
    uint16_t port = 0;
    mem::BpagePool *pool = nullptr;
    std::vector<dp::Worker *> workers;

    /** Returns an empty string on success, else why it failed. */
    std::string build(const std::string &name, uint16_t port_id, uint32_t ip, uint16_t n,
                      rte_mempool *mbufs, size_t pool_bytes = 64u << 20,
                      const std::function<void(dp::WorkerConfig &)> &tweak = {}) {
        dp::HostConfig hc;
        hc.name = name;
        hc.port_id = port_id;
        hc.num_workers = n;
        hc.mbuf_pool = mbufs;
        hc.pool_bytes = pool_bytes;
        hc.worker.engine.local_ip = ip;
        if (tweak) tweak(hc.worker);
        std::string err;
        host = dp::Host::create(hc, &err);
        if (!host) return err;
        info = host->port_info();
        port = host->port_id();
        pool = &host->pool();
        for (uint16_t k = 0; k < n; ++k) workers.push_back(&host->worker(k));
        return {};
    }

    /** No RPC alive, nothing in flight, every bpage back (caches flushed). Only when no
     *  worker runs. */
    bool quiescent() {
        for (unsigned k = 0; k < workers.size(); ++k) pool->flush_cache(k);
        for (auto *w : workers) {
            if (w->engine().live_rpcs() != 0 || w->sends_in_flight() != 0) return false;
        }
        return pool->free_bpages() == pool->total_bpages();
    }
};

/** Answers every request on `server` with its own bytes, zero-copy. Returns the count. */
inline int serve_echo(dp::Socket &server) {
    int n = 0;
    dp::RecvMessage req;
    while (server.recv(kRecvRequest, 0, &req) == 0) {
        EXPECT_EQ(server.reply_with(std::move(req)), 0);
        ++n;
    }
    return n;
}

/** Sends patterned requests and verifies each response byte by byte. */
class EchoClient {
  public:
    explicit EchoClient(dp::Socket &sock, uint64_t first_cookie = 1)
        : sock_(sock), next_cookie_(first_cookie) {}

    /** Sends one request of `len` bytes; returns the send's result. */
    int send(Endpoint dst, uint32_t len) {
        std::vector<uint8_t> &msg = scratch_;
        msg.resize(len);
        uint64_t cookie = next_cookie_++;
        for (uint32_t i = 0; i < len; ++i) msg[i] = echo_pattern(cookie, i);
        uint64_t id;
        int rc = sock_.send(dst, msg, cookie, &id);
        if (rc == 0) expected_[cookie] = len;
        return rc;
    }
    /** Takes every ready response; returns how many came. */
    int drain() {
        int n = 0;
        dp::RecvMessage resp;
        while (sock_.recv(kRecvResponse, 0, &resp) == 0) {
            ++n;
            auto it = expected_.find(resp.cookie());
            if (it == expected_.end() || resp.error() != 0 ||
                !matches(resp, it->first, it->second)) {
                ++bad_;
            } else {
                ++verified_;
            }
            if (it != expected_.end()) expected_.erase(it);
        }
        return n;
    }
    size_t outstanding() const { return expected_.size(); }
    uint64_t verified() const { return verified_; }
    uint64_t bad() const { return bad_; }

  private:
    static bool matches(const dp::RecvMessage &m, uint64_t seed, uint32_t len) {
        if (m.length() != len) return false;
        std::vector<uint8_t> got(len);
        if (m.copy_to(got) != len) return false;
        for (uint32_t i = 0; i < len; ++i) {
            if (got[i] != echo_pattern(seed, i)) return false;
        }
        return true;
    }
    dp::Socket &sock_;
    uint64_t next_cookie_;
    std::map<uint64_t, uint32_t> expected_;
    std::vector<uint8_t> scratch_;
    uint64_t verified_ = 0, bad_ = 0;
};

/** Prints a worker's counters (for a failing test's log). */
inline void dump_worker(const char *name, const dp::Worker &w_) {
    auto &w = const_cast<dp::Worker &>(w_);
    const auto &ws = w.stats();
    const auto &es = w.engine().stats();
    fprintf(stderr,
            "%s: rx %lu tx %lu local %lu steered out %lu in %lu ring_full %lu arp %lu "
            "arp_req %lu arp_rep %lu icmp %lu other %lu txq_full %lu live %u inflight %u "
            "srv %lu/%lu cli %lu/%lu drops:",
            name, ws.rx_frames, ws.tx_frames, ws.tx_local, ws.steered_out, ws.steered_in,
            ws.steer_ring_full, ws.rx_arp, ws.arp_requests_sent, ws.arp_replies_sent,
            ws.rx_icmp_echo, ws.rx_other, ws.tx_queue_full, w.engine().live_rpcs(),
            w.sends_in_flight(), es.server_rpcs_started, es.server_rpcs_completed,
            es.client_rpcs_started, es.client_rpcs_completed);
    for (size_t i = 0; i < kNumEngineDrops; ++i) fprintf(stderr, " %lu", es.drops[i]);
    fprintf(stderr, " decode:");
    for (size_t i = 0; i < wire::kNumDecodeErrors; ++i)
        fprintf(stderr, " %lu", ws.rx_decode_errors[i]);
    fprintf(stderr, " rx by type (DATA..ACK):");
    for (size_t i = wire::kFirstPacketType; i <= wire::kLastPacketType; ++i)
        fprintf(stderr, " %lu", es.packets_rx[i]);
    fprintf(stderr, " tx by type:");
    for (size_t i = wire::kFirstPacketType; i <= wire::kLastPacketType; ++i)
        fprintf(stderr, " %lu", es.packets_tx[i]);
    fprintf(stderr, " acks strayed %lu forwarded %lu received %lu repeated %lu ring_full %lu\n",
            es.acks_strayed, ws.acks_forwarded, ws.acks_received, ws.acks_repeated,
            ws.ack_ring_full);
    // The first RPCs still alive, so that a test stuck on one says which and where it is.
    std::vector<Engine::RpcInfo> live(8);
    live.resize(w.engine().snapshot_rpcs(live));
    for (const auto &r : live) {
        fprintf(stderr,
                "  %s rpc %lu port %u->%u %s in %u/%u granted %u out %u sent %u granted %u\n", name,
                r.id, r.local_port, r.peer.port, r.state, r.in_length - r.in_remaining, r.in_length,
                r.in_granted, r.out_length, r.out_sent, r.out_granted);
    }
}

}  // namespace homa::test
