// See load_driver.h. Requests are sent zero-copy from one read-only DPDK buffer holding a
// position pattern, so a request costs no copy on send and the echo can be checked byte by byte.
#include <atomic>

#include <rte_cycles.h>

#include "load_driver.h"

namespace homa::perf {
namespace {

void send_done(void *, uint64_t) {}

}  // namespace

uint64_t engine_packets(const v2::Host &host) {
    const EngineStats &s = host.engine_stats(0);
    uint64_t n = 0;
    for (uint8_t t = wire::kFirstPacketType; t <= wire::kLastPacketType; ++t) {
        n += s.packets_rx[t] + s.packets_tx[t];
    }
    return n;
}

bool LocalDriver::poll() {
    bool work = host_.poll(0);
    if (server_host_) work |= server_host_->poll(0);
    if (server_) work |= echo_.serve(*server_) > 0;
    return work;
}

int LocalDriver::send(uint32_t length, uint64_t cookie) {
    return client_.send_zc(addr_, {pattern_, length}, cookie, send_done, nullptr).error();
}

bool LocalDriver::next_response(Completed *out, bool verify) {
    v2::Message resp;
    if (client_.try_recv(kRecvResponse, &resp) != 0) return false;
    out->cookie = resp.cookie();
    out->error = resp.error();
    out->length = resp.length();
    out->payload_ok = !verify || resp.error() || payload_matches(resp, resp.length());
    return true;
}

ServerStats serve_only(v2::Host &host, v2::Socket &server, EchoServer &echo, double seconds,
                       const std::atomic<bool> &quit) {
    const uint64_t hz = rte_get_tsc_hz();
    const uint64_t end = seconds > 0 ? rte_rdtsc() + uint64_t(seconds * double(hz)) : UINT64_MAX;
    while (!quit.load(std::memory_order_relaxed) && rte_rdtsc() < end) {
        host.poll(0);
        echo.serve(server);
    }
    return echo.stats();
}

}  // namespace homa::perf
