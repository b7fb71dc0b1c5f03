// Shared by the loss tests: addresses, a fast-ticking engine configuration, and the checks
// that a simulated network has let go of everything.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "homa/proto/decode.h"
#include "homa/proto/encode.h"
#include "homa/proto/engine.h"
#include "tests/proto/echo_apps.h"

namespace homa::test {

constexpr uint32_t kServerIp = 0x0A000001;
constexpr uint32_t kClientIp = 0x0A000002;
constexpr uint16_t kPort = 99;
constexpr uint64_t kTickNs = 100'000;
constexpr uint64_t kStepNs = 1'000;
constexpr uint64_t kStepsPerTick = kTickNs / kStepNs;

inline EngineConfig test_config() {
    EngineConfig c;
    c.tick_ns = kTickNs;
    c.max_rpcs = 4096;
    return c;
}

// True when the applications and every engine hold nothing at all.
inline bool all_released(EchoServer *server, const std::vector<EchoClient *> &clients,
                         const std::vector<SimHost *> &hosts, const std::vector<uint32_t> &ips) {
    bool idle = server == nullptr || server->pending() == 0;
    for (auto *c : clients) idle = idle && c->outstanding() == 0 && c->buffers_held() == 0;
    for (auto *h : hosts) {
        idle = idle && h->engine.live_rpcs() == 0 && h->engine.held_bpages() == 0 &&
               h->pool.in_use() == 0 && h->engine.buffer_waiters() == 0;
        for (uint32_t ip : ips) {
            idle = idle && h->engine.peer_server_rpcs(ip) == 0 && h->engine.peer_unacked(ip) == 0;
        }
    }
    return idle;
}

inline bool run_to_quiescence(SimNetwork &net, EchoServer &server,
                              std::vector<EchoClient *> clients, std::vector<SimHost *> hosts,
                              std::vector<uint32_t> ips, uint64_t max_steps = 3'000'000) {
    return net.run_until(
        [&] {
            server.serve(net.now());
            for (auto *c : clients) c->poll();
            return all_released(&server, clients, hosts, ips);
        },
        max_steps);
}

/** Validates a handcrafted frame and hands it to `engine`, as the dataplane does. */
inline void handle_frame(Engine &engine, std::span<const uint8_t> frame, uint64_t now_ns) {
    wire::PacketView v;
    ASSERT_EQ(wire::decode_frame(frame, v), wire::DecodeError::kOk);
    engine.handle_packet(v, now_ns);
}

/** A frame address from `src` to `dst` (host-order IPv4). */
inline wire::FrameAddr frame_addr(uint32_t src, uint32_t dst) {
    wire::FrameAddr a;
    a.src_ip = src;
    a.dst_ip = dst;
    return a;
}

inline void run_steps(SimNetwork &net, uint64_t steps, const std::function<void()> &each = {}) {
    for (uint64_t i = 0; i < steps; ++i) {
        if (each) each();
        net.step(kStepNs);
    }
}

}  // namespace homa::test
