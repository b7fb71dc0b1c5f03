// What the tests of the v2 API share: two ports joined back to back, and a host's options
// sized for a test (small pools).
#pragma once

#include <rte_cycles.h>
#include <rte_eth_ring.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "homa/homa.h"

namespace homa::v2 {

// Two ports joined by net_ring, `queues` queue pairs each (one per worker).
struct RingPair {
    uint16_t a = 0, b = 0;
    explicit RingPair(unsigned queues = 1) {
        static int n = 0;  // names are process-wide in DPDK
        std::string name = "api" + std::to_string(n++);
        unsigned socket = rte_socket_id();
        std::vector<rte_ring *> ab(queues), ba(queues);
        for (unsigned q = 0; q < queues; ++q) {
            std::string id = std::to_string(q);
            ab[q] = rte_ring_create((name + "ab" + id).c_str(), 1024, socket,
                                    RING_F_SP_ENQ | RING_F_SC_DEQ);
            ba[q] = rte_ring_create((name + "ba" + id).c_str(), 1024, socket,
                                    RING_F_SP_ENQ | RING_F_SC_DEQ);
        }
        int pa =
            rte_eth_from_rings((name + "a").c_str(), ba.data(), queues, ab.data(), queues, socket);
        int pb =
            rte_eth_from_rings((name + "b").c_str(), ab.data(), queues, ba.data(), queues, socket);
        EXPECT_GE(pa, 0);
        EXPECT_GE(pb, 0);
        a = uint16_t(pa);
        b = uint16_t(pb);
    }
};

inline HostOptions options(uint16_t port, const char *ip, uint16_t workers = 1) {
    HostOptions o;
    const bool v6 = std::string_view(ip).find(':') != std::string_view::npos;
    std::string text = v6 ? "[" : "";
    text.append(ip).append(v6 ? "]:0" : ":0");
    o.local = *SocketAddress::parse(text);
    o.port_id = port;
    o.workers = workers;
    o.pool_mb = 16;
    o.mbufs = 4095;
    return o;
}

// A server host (10.0.0.1) and a client host (10.0.0.2) over a fresh RingPair, `app_threads`
// application-thread slots each; the fixture of the v2 tests that need two hosts.
template <unsigned AppThreads = 0>
class HostPair : public ::testing::Test {
  protected:
    void SetUp() override {
        RingPair ring;
        auto so = options(ring.a, "10.0.0.1");
        auto co = options(ring.b, "10.0.0.2");
        so.app_threads = AppThreads;
        co.app_threads = AppThreads;
        auto s = Host::create(so);
        auto c = Host::create(co);
        ASSERT_TRUE(s) << s.message();
        ASSERT_TRUE(c) << c.message();
        server.emplace(std::move(*s));
        client.emplace(std::move(*c));
    }
    // Declared in the order Host requires: sockets (in the tests) die before the hosts.
    std::optional<Host> server, client;
    SocketAddress server_at = *SocketAddress::parse("10.0.0.1:99");
};

// try_recv() on `sock` until a message of `flags` is there, calling poll() between tries (a
// host's poll, or nothing while a PollLoop polls), for at most 2 s. 0, or the last error.
template <class Poll>
int take(Socket &sock, uint32_t flags, Message *out, Poll poll) {
    const uint64_t end = rte_get_timer_cycles() + 2 * rte_get_timer_hz();
    int rc;
    while ((rc = sock.try_recv(flags, out)) == -EAGAIN && rte_get_timer_cycles() < end) poll();
    return rc;
}

}  // namespace homa::v2
