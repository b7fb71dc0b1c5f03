// Two homa-dp dataplanes in one process, joined by a net_ring pair (two rte_rings crossed):
// EAL in test mode, one mbuf pool, a bpage pool and a worker per side. Both workers are polled
// from the test's thread, alternately, so the whole exchange is reproducible.
#pragma once

#include <gtest/gtest.h>
#include <rte_eth_ring.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "homa/dataplane/eal.h"
#include "homa/dataplane/port.h"
#include "homa/dataplane/ring_pair.h"
#include "homa/dataplane/socket.h"
#include "homa/dataplane/worker.h"
#include "homa/mem/bpage_pool.h"
#include "tests/dataplane/eal_environment.h"

namespace homa::test {

inline constexpr uint32_t kIpA = 0x0A000001;  // 10.0.0.1

/** Byte i of test message `seed`: position-dependent so that misplaced bytes are caught. */
inline uint8_t pattern_byte(uint64_t seed, uint32_t i) {
    return static_cast<uint8_t>(seed * 31 + i * 7 + (i >> 9));
}

/** True if a received message is exactly `len` bytes of message `seed`'s pattern. */
inline bool matches_pattern(const dp::RecvMessage &m, uint64_t seed, uint32_t len) {
    if (m.length() != len) return false;
    std::vector<uint8_t> got(len);
    if (m.copy_to(got) != len) return false;
    for (uint32_t i = 0; i < len; ++i) {
        if (got[i] != pattern_byte(seed, i)) return false;
    }
    return true;
}
inline constexpr uint32_t kIpB = 0x0A000002;

struct Side {
    uint16_t port = 0;
    dp::PortInfo info;
    std::unique_ptr<mem::BpagePool> pool;
    std::unique_ptr<dp::Worker> worker;
};

class RingPair {
  public:
    /** Creates the rings, ports, pools and workers; `tweak` may adjust each engine config
     *  and `tweak_worker` each worker config (e.g. its faults). `pool_caches`: caches per pool
     *  (the worker uses 0; application threads the others). `priority_queues`: two queue pairs
     *  per port, the second the workers' priority queue (PortSetup::priority_queues). */
    explicit RingPair(const std::string &name, size_t pool_bytes = 64u << 20,
                      void (*tweak)(EngineConfig &) = nullptr,
                      void (*tweak_worker)(dp::WorkerConfig &) = nullptr, unsigned pool_caches = 1,
                      bool priority_queues = false)
        : pool_caches_(pool_caches), priority_queues_(priority_queues) {
        unsigned socket = rte_socket_id();
        uint16_t pa = 0, pb = 0;
        std::string err;
        EXPECT_EQ(dp::make_ring_pair(name, &pa, &pb, &err, priority_queues ? 2 : 1), 0) << err;
        mbufs_ = rte_pktmbuf_pool_create((name + "_mb").c_str(), 16383, 256, 0,
                                         RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(socket));
        EXPECT_NE(mbufs_, nullptr);
        build(a, pa, kIpA, pool_bytes, tweak, tweak_worker);
        build(b, pb, kIpB, pool_bytes, tweak, tweak_worker);
    }

    ~RingPair() {
        a.worker.reset();
        b.worker.reset();
        dp::close_port(a.port);
        dp::close_port(b.port);
    }

    /** Polls both workers once. */
    void poll() {
        a.worker->poll();
        b.worker->poll();
    }

    /** Polls both sides, answering every request on `server` with a zero-copy echo, until
     *  `done()` holds or `seconds` of wall time pass. Returns whether `done()` held. */
    template <typename Done>
    bool serve_until(dp::Socket &server, Done done, int seconds = 20) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
        while (std::chrono::steady_clock::now() < deadline) {
            poll();
            dp::RecvMessage req;
            while (server.recv(kRecvRequest, 0, &req) == 0) {
                EXPECT_EQ(server.reply_with(std::move(req)), 0);
            }
            if (done()) return true;
        }
        return false;
    }

    /** Nothing left on either side: no RPC, no send in flight, no message waiting for
     *  buffers, every bpage free (each worker's cache flushed first). Only while no lcore
     *  polls the workers. */
    bool quiescent() {
        for (Side *s : {&a, &b}) {
            s->pool->flush_cache(s->worker->pool_cache());
            if (s->worker->engine().live_rpcs() != 0 || s->worker->sends_in_flight() != 0 ||
                s->worker->engine().buffer_waiters() != 0 ||
                s->pool->free_bpages() != s->pool->total_bpages()) {
                return false;
            }
        }
        return true;
    }

    Side a, b;

  private:
    void build(Side &s, uint16_t port, uint32_t ip, size_t pool_bytes,
               void (*tweak)(EngineConfig &), void (*tweak_worker)(dp::WorkerConfig &)) {
        s.port = port;
        std::string err;
        dp::PortSetup ps;
        ps.port_id = port;
        ps.mbuf_pool = mbufs_;
        ps.priority_queues = priority_queues_;
        ASSERT_EQ(dp::setup_port(ps, &s.info, &err), 0) << err;
        mem::PoolConfig pc;
        pc.bytes = pool_bytes;
        pc.backing = mem::PoolConfig::Backing::kEal;
        pc.caller_ticks = true;  // the worker ticks the lease clock once per poll
        pc.num_caches = pool_caches_;
        s.pool = mem::BpagePool::create(pc, &err);
        ASSERT_NE(s.pool, nullptr) << err;
        dp::WorkerConfig wc;
        wc.port_id = port;
        wc.mbuf_pool = mbufs_;
        wc.pool = s.pool.get();
        wc.local_mac = s.info.mac;
        wc.multi_seg_tx = s.info.multi_seg_tx;
        if (s.info.priority_queues) wc.fast_queue_id = s.info.fast_queue(0);
        wc.engine.local_ip = ip;
        // Distinct client id sequences keep ids unique even if both sides were one host.
        wc.engine.first_client_id = ip == kIpA ? 2 : 4;
        wc.engine.id_stride = 4;
        // Both workers are polled by one test thread in a debug build on a shared 2-core machine:
        // the last of thousands of queued RPCs can wait hundreds of ticks for its turn, which the
        // default 100-tick timeout would count as a dead peer (ETIMEDOUT). Resends keep their
        // default timing; tests about timeouts set their own.
        wc.engine.timeout_ticks = 2000;
        if (tweak) tweak(wc.engine);
        if (tweak_worker) tweak_worker(wc);
        s.worker = dp::Worker::create(wc, &err);
        ASSERT_NE(s.worker, nullptr) << err;
    }

    rte_mempool *mbufs_ = nullptr;
    unsigned pool_caches_ = 1;
    bool priority_queues_ = false;
};

}  // namespace homa::test
