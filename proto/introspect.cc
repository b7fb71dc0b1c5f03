// Introspection (snapshots of RPCs and peers) and live reconfiguration of the engine: the
// slow-path views behind the launcher's `show`/`set` commands and the telemetry endpoints.
#include <cerrno>

#include "engine_state.h"

namespace homa {

using namespace detail;

namespace {

const char *state_name(RpcState s) {
    switch (s) {
        case RpcState::kFree: return "free";
        case RpcState::kClientOutgoing: return "client_outgoing";
        case RpcState::kClientIncoming: return "client_incoming";
        case RpcState::kServerIncoming: return "server_incoming";
        case RpcState::kReady: return "ready";
        case RpcState::kInService: return "in_service";
        case RpcState::kServerOutgoing: return "server_outgoing";
        case RpcState::kAwaitAck: return "await_ack";
    }
    return "invalid";
}

}  // namespace

size_t Engine::snapshot_rpcs(std::span<RpcInfo> out) const {
    const State &s = *s_;
    size_t n = 0;
    for (uint32_t i = 0; i < s.rpcs_high_water && n < out.size(); ++i) {
        const Rpc &r = s.rpcs[i];
        if (r.state == RpcState::kFree) continue;
        RpcInfo &o = out[n++];
        o.id = r.key.id;
        o.peer = {s.peers[r.key.peer].ip, r.peer_port};
        o.local_port = s.sockets[r.socket].port;
        o.state = state_name(r.state);
        o.in_length = r.in.length;
        o.in_remaining = r.in.bytes_remaining;
        o.in_granted = r.in.granted;
        o.out_length = r.out.length;
        o.out_sent = r.out.next_xmit;
        o.out_granted = r.out.granted;
    }
    return n;
}

size_t Engine::snapshot_peers(std::span<PeerInfo> out) const {
    const State &s = *s_;
    size_t n = 0;
    for (const Peer &p : s.peers) {
        if (n == out.size()) break;
        if (!p.in_use) continue;  // a reclaimed slot
        out[n++] = PeerInfo{p.ip, p.cutoff_version, p.num_acks, p.rpcs};
    }
    return n;
}

int Engine::reconfigure(const EngineConfig &c, std::string *why) {
    State &s = *s_;
    if (!c.validate(why)) return -EINVAL;
    const EngineConfig &o = s.cfg;
    if (c.max_rpcs != o.max_rpcs || c.max_peers != o.max_peers || c.max_sockets != o.max_sockets ||
        c.tx_queue_packets != o.tx_queue_packets || c.first_client_id != o.first_client_id ||
        c.id_stride != o.id_stride || c.local_ip != o.local_ip ||
        c.stray_ack_capacity != o.stray_ack_capacity) {
        if (why) {
            *why =
                "max_rpcs, max_peers, max_sockets, tx_queue_packets, stray_ack_capacity, local_ip "
                "and the id space are fixed at start-up";
        }
        return -EBUSY;
    }
    s.cfg = c;
    s.grants_dirty = true;  // window or overcommit may have changed
    return 0;
}

int Engine::send_freeze(IpAddress ip) {
    wire::Bare b{.type = wire::PacketType::kFreeze, .common = {}};
    return push_control(*s_, ip, b, wire::PacketType::kFreeze, s_->now_ns) ? 0 : -ENOBUFS;
}

uint32_t Engine::send_freeze_to_peers() {
    uint32_t n = 0;
    for (const Peer &p : s_->peers) {
        if (p.in_use) n += send_freeze(p.ip) == 0;  // not to a reclaimed slot's "::"
    }
    return n;
}

void Engine::clear_stats() noexcept { s_->stats = EngineStats{}; }

void Engine::set_timetrace(Timetrace *trace) noexcept { s_->tt = trace; }
Timetrace *Engine::timetrace() const noexcept { return s_->tt; }

}  // namespace homa
