// Timer ticks: silence, RESEND requests, BUSY from waiting receivers, timeouts and NEED_ACK.
// Runs at most once per tick_ns of caller-supplied time, so its cost is independent of the
// packet rate; it scans only the part of the RPC slab that has ever been used.
//
// DESIGN NOTES (after Linux Homa's homa_timer_check_rpc): each tick classifies every RPC by
// who owes the next packet.
// - We owe it (granted bytes not yet sent, the application holds the RPC, the message waits
//   for bpages, or every granted byte arrived and we choose not to grant more): no silence is
//   counted. A waiting *receiver* sends BUSY every resend_interval ticks, so the sender, which
//   otherwise would count silence, knows we are alive (Linux lets such senders wait forever;
//   here senders time out, so receivers must say they are alive).
// - The peer owes it: silent_ticks grows; from resend_ticks on, every resend_interval ticks, a
//   receiver asks for what is missing (RESEND per gap and for the granted tail) and a client
//   whose request is out probes with RESEND(0, 100) (its first packet); at timeout_ticks a client RPC completes
//   with ETIMEDOUT and a server RPC is destroyed.
// - A server reply in kAwaitAck asks for its ACK every request_ack_ticks (NEED_ACK) and is
//   destroyed after timeout_ticks of silence (the client is gone).
// Every packet about an RPC (except RPC_UNKNOWN) resets its silence.
#include <cerrno>

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

enum class Owes { kUs, kUsReceiving, kPeer };

Owes who_owes(const Rpc &r) {
    const MsgIn &in = r.in;
    switch (r.state) {
        case RpcState::kClientOutgoing:
        case RpcState::kServerOutgoing:
            return r.out.next_xmit < r.out.granted ? Owes::kUs : Owes::kPeer;
        case RpcState::kClientIncoming:
        case RpcState::kServerIncoming:
            if (in.waiting) return Owes::kUsReceiving;
            if (in.num_gaps == 0 && in.recv_end >= in.granted) return Owes::kUsReceiving;
            return Owes::kPeer;
        case RpcState::kAwaitAck: return Owes::kPeer;
        case RpcState::kFree:
        case RpcState::kReady:
        case RpcState::kInService: break;
    }
    return Owes::kUs;
}

void time_out(State &s, uint32_t idx) {
    if (wire::is_client_id(s.rpcs[idx].key.id)) {
        ++s.stats.client_rpcs_timed_out;
        fail_client_rpc(s, idx, ETIMEDOUT);
    } else {
        ++s.stats.server_rpcs_timed_out;
        free_rpc(s, idx);
    }
}

void check_rpc(State &s, uint32_t idx, uint64_t now_ns) {
    Rpc &r = s.rpcs[idx];
    const EngineConfig &c = s.cfg;
    if (r.state == RpcState::kAwaitAck) {
        uint64_t waited = s.tick - r.done_tick;
        if (waited >= c.request_ack_ticks && waited % c.request_ack_ticks == 0) {
            send_need_ack(s, r, now_ns);
        }
    }
    switch (who_owes(r)) {
        case Owes::kUs:
            r.silent_ticks = 0;
            r.idle_ticks = 0;
            return;
        case Owes::kUsReceiving:
            r.silent_ticks = 0;
            if (++r.idle_ticks % c.resend_interval == 0) {
                send_busy(s, s.peers[r.peer].ip, local_port(s, r), r.peer_port, r.key.id, now_ns);
            }
            return;
        case Owes::kPeer: break;
    }
    r.idle_ticks = 0;
    ++r.silent_ticks;
    if (r.silent_ticks >= c.timeout_ticks) {
        time_out(s, idx);
        return;
    }
    if (r.silent_ticks < c.resend_ticks || (r.silent_ticks - c.resend_ticks) % c.resend_interval) {
        return;
    }
    bool receiving = r.state == RpcState::kClientIncoming || r.state == RpcState::kServerIncoming;
    bool client_waiting = r.state == RpcState::kClientOutgoing;
    if (receiving || client_waiting) request_retransmission(s, r, now_ns);
}

}  // namespace

void run_timers(State &s, uint64_t now_ns) {
    if (now_ns - s.last_tick_ns < s.cfg.tick_ns) return;
    s.last_tick_ns = now_ns;
    ++s.tick;
    for (uint32_t i = 0; i < s.rpcs_high_water; ++i) {
        if (s.rpcs[i].state != RpcState::kFree) check_rpc(s, i, now_ns);
    }
}

}  // namespace homa::detail
