// Timer ticks: NEED_ACK for replies the client has not acknowledged yet.
// Runs at most once per tick_ns of caller-supplied time, so its cost is independent of the
// packet rate; it scans only the part of the RPC slab that has ever been used.
#include "engine_state.h"
#include "homa/proto/rpc_id.h"

namespace homa::detail {
namespace {

void send_need_ack(State &s, Rpc &r, uint64_t now_ns) {
    wire::Bare b{.type = wire::PacketType::kNeedAck,
                 .common = {.sport = local_port(s, r), .dport = r.peer_port, .sender_id = r.key.id}};
    if (push_control(s, s.peers[r.peer].ip, b, wire::PacketType::kNeedAck, now_ns)) {
        ++s.stats.need_acks_sent;
    }
}

}  // namespace

void run_timers(State &s, uint64_t now_ns) {
    if (now_ns - s.last_tick_ns < s.cfg.tick_ns) return;
    s.last_tick_ns = now_ns;
    ++s.tick;
    for (uint32_t i = 0; i < s.rpcs_high_water; ++i) {
        Rpc &r = s.rpcs[i];
        if (r.state != RpcState::kAwaitAck) continue;
        uint64_t waited = s.tick - r.done_tick;
        if (waited >= s.cfg.request_ack_ticks && waited % s.cfg.request_ack_ticks == 0) {
            send_need_ack(s, r, now_ns);
        }
    }
}

}  // namespace homa::detail
