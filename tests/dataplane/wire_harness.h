// A worker on its link for tests that feed frames in and read frames out: a net_ring port
// whose RX ring the test fills and whose TX ring it drains (worker_frames_test,
// worker_rx_budget_test). Threading: the test's thread polls the workers. Errors: construction
// failures go to `error` (and gtest); inject and take assert.
#pragma once

#include <gtest/gtest.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "homa/proto/encode.h"
#include "tests/dataplane/host_harness.h"

namespace homa::test {

using Bytes = std::vector<uint8_t>;

inline constexpr uint32_t kOurIp = 0x0A000002, kPeerIp = 0x0A000001;
inline constexpr dp::MacAddr kPeerMac = {0x3a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f};

inline Bytes hex(const std::string &s) {
    Bytes out;
    for (size_t i = 0; i + 1 < s.size(); i += 2) {
        out.push_back(static_cast<uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
    }
    return out;
}

// An ARP request for an address that is not ours: a worker reads it, looks at it and ignores
// it (no reply): a frame to keep a worker busy without side effects.
inline const Bytes kArpForSomeoneElse =
    hex("ffffffffffff3a1b2c3d4e5f08060001080006040001"
        "3a1b2c3d4e5f0a000001"
        "0000000000000a000063");

inline std::string hex_mac(const dp::MacAddr &m) {
    char s[13];
    snprintf(s, sizeof(s), "%02x%02x%02x%02x%02x%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    return s;
}

// One worker on a net_ring port whose RX ring the test fills and whose TX ring it drains.
class Wire {
  public:
    explicit Wire(const std::string &name,
                  const std::function<void(dp::WorkerConfig &)> &tweak = {}, uint16_t workers = 1) {
        unsigned socket = rte_socket_id();
        in_ = rte_ring_create((name + "_in").c_str(), 1024, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
        out_ =
            rte_ring_create((name + "_out").c_str(), 1024, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
        EXPECT_NE(in_, nullptr);
        EXPECT_NE(out_, nullptr);
        // One RX queue; a TX queue per worker, all into the one ring the test drains (the
        // test polls the workers from one thread, so the single-producer ring is safe).
        std::vector<rte_ring *> tx(workers, out_);
        int port = rte_eth_from_rings(name.c_str(), &in_, 1, tx.data(), workers, socket);
        EXPECT_GE(port, 0);
        mp_ = rte_pktmbuf_pool_create((name + "_mb").c_str(), 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                      static_cast<int>(socket));
        EXPECT_NE(mp_, nullptr);
        error =
            host.build(name, static_cast<uint16_t>(port), kOurIp, workers, mp_, 8u << 20, tweak);
        mac = host.info.mac;
    }
    dp::Worker &worker() { return *host.workers[0]; }
    rte_mempool *pool() { return mp_; }
    /** Frames injected that no worker has read yet. */
    unsigned pending_rx() const { return rte_ring_count(in_); }

    void inject(const Bytes &frame) {
        rte_mbuf *m = mbuf_of(frame.data(), frame.size());
        ASSERT_NE(m, nullptr);
        ASSERT_EQ(rte_ring_enqueue(in_, m), 0);
    }
    /** Injects `frame` as a chain of two mbufs split at byte `first` (as a sender's zero-copy
     *  DATA arrives through net_ring: headers, then the payload). */
    void inject_chained(const Bytes &frame, size_t first) {
        ASSERT_LT(first, frame.size());
        rte_mbuf *head = mbuf_of(frame.data(), first);
        rte_mbuf *tail = mbuf_of(frame.data() + first, frame.size() - first);
        ASSERT_NE(head, nullptr);
        ASSERT_NE(tail, nullptr);
        ASSERT_EQ(rte_pktmbuf_chain(head, tail), 0);
        ASSERT_EQ(rte_ring_enqueue(in_, head), 0);
    }
    /** Queues a frame the caller built (its ownership passes to the port). */
    void inject_mbuf(rte_mbuf *m) { ASSERT_EQ(rte_ring_enqueue(in_, m), 0); }

    /** Polls `polls` times, then returns every frame the worker sent, linearized. */
    std::vector<Bytes> take(int polls = 3) {
        for (int i = 0; i < polls; ++i) {
            for (auto *w : host.workers) w->poll();
        }
        std::vector<Bytes> frames;
        void *obj;
        while (rte_ring_dequeue(out_, &obj) == 0) {
            auto *m = static_cast<rte_mbuf *>(obj);
            Bytes b(rte_pktmbuf_pkt_len(m));
            const void *d = rte_pktmbuf_read(m, 0, static_cast<uint32_t>(b.size()), b.data());
            if (d != b.data()) memcpy(b.data(), d, b.size());
            frames.push_back(std::move(b));
            rte_pktmbuf_free(m);
        }
        return frames;
    }

    std::string error;
    dp::MacAddr mac{};
    TestHost host;

  private:
    // One mbuf holding a copy of [data, data + len); nullptr if the pool or the mbuf is short.
    rte_mbuf *mbuf_of(const uint8_t *data, size_t len) {
        rte_mbuf *m = rte_pktmbuf_alloc(mp_);
        if (m == nullptr) return nullptr;
        char *p = rte_pktmbuf_append(m, static_cast<uint16_t>(len));
        if (p == nullptr) {
            rte_pktmbuf_free(m);
            return nullptr;
        }
        std::memcpy(p, data, len);
        return m;
    }

    rte_ring *in_ = nullptr, *out_ = nullptr;
    rte_mempool *mp_ = nullptr;
};

/** A DATA frame from the peer (kPeerIp, port 40000) to `dst_ip`, port `dport`, of the RPC
 *  `client_id`: `payload` bytes (0x5a) at `offset` of a `length`-byte message, all of it
 *  unscheduled. */
inline Bytes peer_data_frame(const Wire &wire, uint16_t dport, uint64_t client_id, uint32_t length,
                             uint32_t offset, uint32_t payload, uint32_t dst_ip = kOurIp) {
    wire::FrameAddr addr{
        .src_mac = kPeerMac, .dst_mac = wire.mac, .src_ip = kPeerIp, .dst_ip = dst_ip};
    wire::Data d;
    d.common = {.sport = 40000, .dport = dport, .sender_id = client_id};
    d.message_length = length;
    d.incoming = length;
    d.offset = offset;
    Bytes frame(2048);
    Bytes body(payload, 0x5a);
    size_t n = wire::encode(frame, addr, d, body);
    EXPECT_GT(n, 0u);
    frame.resize(n);
    return frame;
}

}  // namespace homa::test
