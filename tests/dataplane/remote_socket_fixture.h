// The remote-socket tests' fixture (remote_socket_test.cc, remote_socket_rings_test.cc, one
// binary): RemoteSocket on this test's main lcore (core 0) talks to SocketServices on two
// workers joined by a net_ring pair, which a poller polls on lcore 1 (core 1).
#pragma once

#include <gtest/gtest.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_pause.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "homa/dataplane/msgport.h"
#include "homa/dataplane/remote_socket.h"
#include "homa/dataplane/socket_service.h"
#include "tests/dataplane/dataplane_fixture.h"

namespace homa::rs_test {

using test::kIpA;
using test::kIpB;
using test::RingPair;

inline constexpr uint16_t kPort = 99;
inline constexpr uint16_t kRtcPort = 98;  // served run-to-completion by the poller
inline constexpr unsigned kAppCache = 1;  // the application thread's cache in both pools
inline constexpr uint64_t kSecond = 1'000'000'000;

inline uint8_t pattern(uint64_t seed, uint32_t i) {
    return static_cast<uint8_t>(seed * 31 + i * 7 + (i >> 9));
}

inline std::vector<uint8_t> make(uint64_t seed, uint32_t len) {
    std::vector<uint8_t> v(len);
    for (uint32_t i = 0; i < len; ++i) v[i] = pattern(seed, i);
    return v;
}

inline bool matches(const dp::RecvMessage &m, uint64_t seed, uint32_t len) {
    if (m.length() != len || m.error() != 0) return false;
    std::vector<uint8_t> got(len);
    if (m.copy_to(got) != len) return false;
    for (uint32_t i = 0; i < len; ++i) {
        if (got[i] != pattern(seed, i)) return false;
    }
    return true;
}

inline unsigned poller_lcore() { return rte_get_next_lcore(rte_get_main_lcore(), 1, 0); }

// Both workers, polled on their own lcore; optionally a run-to-completion echo server on side A.
// pause() parks it between polls, so a test can fill a command port deterministically.
struct Poller {
    RingPair *pair = nullptr;
    dp::Socket rtc;
    std::atomic<bool> stop{false}, pause{false}, paused{false};

    static int run(void *arg) {
        auto *p = static_cast<Poller *>(arg);
        while (!p->stop.load(std::memory_order_acquire)) {
            if (p->pause.load(std::memory_order_acquire)) {
                p->paused.store(true, std::memory_order_release);
                rte_pause();
                continue;
            }
            p->paused.store(false, std::memory_order_release);
            p->pair->poll();
            dp::RecvMessage req;
            while (p->rtc.worker() && p->rtc.recv(kRecvRequest, 0, &req) == 0) {
                (void)p->rtc.reply_with(std::move(req));
            }
        }
        return 0;
    }
    void hold() {
        pause.store(true, std::memory_order_release);
        while (!paused.load(std::memory_order_acquire)) rte_pause();
    }
    void resume() { pause.store(false, std::memory_order_release); }
};

class RemoteSocketTest : public ::testing::Test {
  protected:
    void SetUp() override { build(1024); }
    void build(unsigned port_capacity, void (*tweak)(EngineConfig &) = nullptr) {
        static int serial = 0;
        std::string n = "rs" + std::to_string(serial++);
        pair_ = std::make_unique<RingPair>(n, 64u << 20, tweak, nullptr, 2);
        std::string err;
        dp::SocketServiceConfig sc;
        sc.port_capacity = port_capacity;
        std::string na = n + "_cmda", nb = n + "_cmdb";
        sc.name = na.c_str();
        svc_a_ = dp::SocketService::create(*pair_->a.worker, sc, &err);
        ASSERT_NE(svc_a_, nullptr) << err;
        sc.name = nb.c_str();
        svc_b_ = dp::SocketService::create(*pair_->b.worker, sc, &err);
        ASSERT_NE(svc_b_, nullptr) << err;
        ASSERT_EQ(dp::Socket::open(*pair_->a.worker, kRtcPort, &poller_.rtc), 0);
        poller_.pair = pair_.get();
        poller_.stop.store(false);
        ASSERT_EQ(rte_eal_remote_launch(Poller::run, &poller_, poller_lcore()), 0);
        launched_ = true;
    }
    void TearDown() override {
        stop_poller();
        svc_a_.reset();
        svc_b_.reset();
        pair_.reset();
    }
    void stop_poller() {
        if (!launched_) return;
        poller_.resume();
        poller_.stop.store(true, std::memory_order_release);
        rte_eal_wait_lcore(poller_lcore());
        launched_ = false;
    }
    dp::RemoteSocketConfig app_config() const {
        dp::RemoteSocketConfig rc;
        rc.pool_cache = kAppCache;
        rc.op_timeout_ns = 10 * kSecond;  // a loaded 2-core machine
        return rc;
    }
    // After the poller stopped: this thread polls until nothing is alive, held or in flight.
    // Caches are flushed first: a cache keeps its tail bpage leased even when it is empty.
    bool quiescent() {
        stop_poller();
        pair_->a.pool->flush_cache(kAppCache);
        pair_->b.pool->flush_cache(kAppCache);
        for (int i = 0; i < 2'000'000; ++i) {
            pair_->poll();
            bool done = true;
            for (auto *s : {&pair_->a, &pair_->b}) {
                s->pool->flush_cache(s->worker->pool_cache());
                done = done && s->worker->engine().live_rpcs() == 0 &&
                       s->worker->sends_in_flight() == 0 &&
                       s->pool->free_bpages() == s->pool->total_bpages();
            }
            if (done) return true;
        }
        for (auto *s : {&pair_->a, &pair_->b}) {
            fprintf(stderr, "not quiescent: live %u inflight %u free %u/%u\n",
                    s->worker->engine().live_rpcs(), s->worker->sends_in_flight(),
                    s->pool->free_bpages(), s->pool->total_bpages());
        }
        return false;
    }

    std::unique_ptr<RingPair> pair_;
    std::unique_ptr<dp::SocketService> svc_a_, svc_b_;
    Poller poller_;
    bool launched_ = false;
};

}  // namespace homa::rs_test
