// Timer ticks: silence, RESEND requests, BUSY from waiting receivers, NEED_ACK and timeouts.
// Runs at most once per tick_ns of caller-supplied time.
//
// DESIGN NOTES
// What each RPC waits for is classified as in Linux Homa's homa_timer_check_rpc, by who owes
// the next packet:
// - We owe it (granted bytes not yet sent, the application holds the RPC): nothing to do.
// - We are receiving and are ourselves the reason nothing arrives (no bpages yet, or every
//   granted byte arrived and we grant no more for now): the sender must hear that we are alive,
//   so it gets a BUSY every resend_interval.
// - The peer owes it (missing granted bytes, a grant, the response, an ACK): from resend_ticks
//   of silence on, every resend_interval, a receiver asks for what is missing (RESEND per gap
//   and for the granted tail), a client whose request is out probes with RESEND(0, 100), and a
//   finished reply asks for its ACK (NEED_ACK, from request_ack_ticks after it finished).
//
// What is different from Linux, and why (issue 12: the first version, a per-RPC scan of the
// whole slab every tick, collapsed from 1 M to 8 k RPC/s at 10^4 live RPCs):
// 1. Work follows what is due. An RPC that waits goes on its peer's watch list (watch(), at the
//    transitions that make it wait); per tick the timer looks only at the heads of the lists
//    of the peers that have any, until it meets one that is not due. Packets only stamp
//    `heard` (no list surgery per packet); a head that was heard from recently goes back to
//    the tail, and one that no longer waits leaves the list. Each of these is paid for by the
//    packet or transition that caused it, so a tick costs O(peers + what is due), not
//    O(live RPCs).
// 2. Budgets. At most resend_budget control packets per peer per tick, longest silent first.
//    With 10^5 RPCs queued at a busy server, Linux would send 10^5 RESENDs every
//    resend_interval, each answered by a BUSY: the control traffic grows with the queue and
//    takes the capacity the queue needs to drain. Here it is a constant per peer.
// 3. Silence means the peer is silent. `heard` is kept per RPC and per peer. An RPC is probed
//    when it has heard nothing itself, but it times out only when its whole peer has been
//    silent for timeout_ticks: a server that answers other RPCs (or BUSY) is alive and merely
//    busy, and queueing there is not loss.
// 4. Our own backlog is not the peer's silence. Silence is measured on the quiet clock
//    (State::quiet), which advances only in ticks in which the owner did not report an RX or
//    TX backlog (Engine::note_backlog): while our queues are behind, nothing counts as silent.
// 5. Jitter: the first check of an RPC is spread over resend_interval ticks by its id, so that
//    N RPCs started in one pass do not all come due in one tick.
// Watch lists are appended in time order, but the due times of their entries are only roughly
// sorted (RPCs join with different waits); a head that is not due stops the walk, which delays
// a later entry by at most a few ticks. That is the price of O(1) list work.
#include <algorithm>
#include <cassert>
#include <cerrno>

#include "engine_state.h"
#include "homa/proto/rpc_id.h"

namespace homa::detail {
namespace {

// Bounded so that a peer that dies with 10^6 RPCs costs ticks of bounded length.
constexpr uint32_t kMaxTimeoutsPerTick = 4096;

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

void link_active(State &s, uint32_t pi) {
    Peer &p = s.peers[pi];
    if (p.active) return;
    p.active = true;
    p.prev_active = kNil;
    p.next_active = s.active_peers;
    if (s.active_peers != kNil) s.peers[s.active_peers].prev_active = pi;
    s.active_peers = pi;
}

void unlink_active(State &s, uint32_t pi) {
    Peer &p = s.peers[pi];
    if (!p.active) return;
    p.active = false;
    if (p.prev_active == kNil) {
        s.active_peers = p.next_active;
    } else {
        s.peers[p.prev_active].next_active = p.next_active;
    }
    if (p.next_active != kNil) s.peers[p.next_active].prev_active = p.prev_active;
}

// Watch lists are circular: the tail is the head's prev, so moving the head to the tail (the
// common case: a head that was heard from recently) is one pointer move, with no other RPC's
// links touched (each of those is a cache miss with 10^5 RPCs live).
void append(State &s, uint32_t idx, uint64_t next_check) {
    Rpc &r = s.rpcs[idx];
    Peer &p = s.peers[r.peer];
    r.next_check = next_check;
    r.watched = true;
    if (p.watch_head == kNil) {
        r.watch_next = r.watch_prev = idx;
        p.watch_head = idx;
        link_active(s, r.peer);
        return;
    }
    uint32_t head = p.watch_head;
    uint32_t tail = s.rpcs[head].watch_prev;
    r.watch_prev = tail;
    r.watch_next = head;
    s.rpcs[tail].watch_next = idx;
    s.rpcs[head].watch_prev = idx;
}

void unlink(State &s, uint32_t idx) {
    Rpc &r = s.rpcs[idx];
    Peer &p = s.peers[r.peer];
    if (r.watch_next == idx) {
        p.watch_head = kNil;
        unlink_active(s, r.peer);
    } else {
        s.rpcs[r.watch_prev].watch_next = r.watch_next;
        s.rpcs[r.watch_next].watch_prev = r.watch_prev;
        if (p.watch_head == idx) p.watch_head = r.watch_next;
    }
    r.watched = false;
    r.watch_prev = r.watch_next = kNil;
}

// Moves the head of its peer's list to the tail.
void requeue(State &s, uint32_t idx, uint64_t next_check) {
    Rpc &r = s.rpcs[idx];
    assert(s.peers[r.peer].watch_head == idx);
    r.next_check = next_check;
    s.peers[r.peer].watch_head = r.watch_next;
}

void send_need_ack(State &s, Rpc &r, uint64_t now_ns) {
    wire::Bare b{.type = wire::PacketType::kNeedAck,
                 .common = {.sport = local_port(s, r), .dport = r.peer_port, .sender_id = r.key.id}};
    if (push_control(s, s.peers[r.peer].ip, b, wire::PacketType::kNeedAck, now_ns)) {
        ++s.stats.need_acks_sent;
        HOMA_TT(s.tt, "tx NEED_ACK id %u", static_cast<uint32_t>(r.key.id));
    }
}

void time_out(State &s, uint32_t idx) {
    const Rpc &r = s.rpcs[idx];
    HOMA_TT(s.tt, "timeout id %u state %u silent %u peer silent %u",
            static_cast<uint32_t>(r.key.id), static_cast<uint32_t>(r.state),
            static_cast<uint32_t>(s.quiet - r.heard),
            static_cast<uint32_t>(s.quiet - s.peers[r.peer].heard));
    if (wire::is_client_id(s.rpcs[idx].key.id)) {
        ++s.stats.client_rpcs_timed_out;
        fail_client_rpc(s, idx, ETIMEDOUT);
    } else {
        ++s.stats.server_rpcs_timed_out;
        free_rpc(s, idx);
    }
}

// Whether peer `pi` may get one more timer control packet in this tick.
bool take_budget(State &s, Peer &p) {
    if (p.budget_tick != s.tick) {
        p.budget_tick = s.tick;
        p.budget_used = 0;
    }
    if (p.budget_used >= s.cfg.resend_budget) return false;
    ++p.budget_used;
    return true;
}

enum class Step { kNext, kStop };

// Handles the head of a watch list, which is due. kStop: this peer is done for the tick.
Step check_head(State &s, uint32_t idx, uint64_t now_ns, uint32_t *timeouts) {
    Rpc &r = s.rpcs[idx];
    Peer &p = s.peers[r.peer];
    const EngineConfig &c = s.cfg;
    ++s.stats.timer_checks;
    switch (who_owes(r)) {
        case Owes::kUs:
            unlink(s, idx);  // watch() puts it back when it waits again
            return Step::kNext;
        case Owes::kUsReceiving:
            if (!take_budget(s, p)) return Step::kStop;
            send_busy(s, p.ip, local_port(s, r), r.peer_port, r.key.id, now_ns);
            requeue(s, idx, s.quiet + c.resend_interval);
            return Step::kNext;
        case Owes::kPeer: break;
    }
    uint64_t silent = s.quiet - r.heard;
    if (r.state == RpcState::kAwaitAck) {
        uint64_t waited = s.quiet - r.done_tick;
        if (waited < c.request_ack_ticks) {
            requeue(s, idx, r.done_tick + c.request_ack_ticks);
            return Step::kNext;
        }
    } else if (silent < c.resend_ticks) {
        requeue(s, idx, r.heard + c.resend_ticks);
        return Step::kNext;
    }
    // A peer that talks to us but disowns this RPC (RPC_UNKNOWN) has forgotten it.
    bool peer_silent = s.quiet - p.heard >= c.timeout_ticks || r.disowned;
    if (peer_silent && silent >= c.timeout_ticks) {
        if (*timeouts >= kMaxTimeoutsPerTick) return Step::kStop;
        ++*timeouts;
        time_out(s, idx);  // unwatches it
        return Step::kNext;
    }
    bool receiving = r.state == RpcState::kClientIncoming || r.state == RpcState::kServerIncoming;
    bool client_waiting = r.state == RpcState::kClientOutgoing;
    bool await_ack = r.state == RpcState::kAwaitAck;
    if (receiving || client_waiting || await_ack) {
        if (!take_budget(s, p)) return Step::kStop;
        if (await_ack) {
            send_need_ack(s, r, now_ns);
        } else {
            request_retransmission(s, r, now_ns);
        }
    }
    // A sender waiting for grants sends nothing: its receiver answers probes and keeps it
    // alive with BUSY (kUsReceiving above); it only needs to notice a dead peer. The next look
    // is at the next RESEND or at the timeout, whichever comes first.
    uint64_t next = s.quiet + c.resend_interval;
    if (r.heard + c.timeout_ticks > s.quiet) next = std::min(next, r.heard + c.timeout_ticks);
    requeue(s, idx, next);
    return Step::kNext;
}

void check_peer(State &s, uint32_t pi, uint64_t now_ns, uint32_t *timeouts) {
    for (;;) {
        uint32_t head = s.peers[pi].watch_head;  // re-read: checks may free the peer's RPCs
        if (head == kNil || s.rpcs[head].next_check > s.quiet) return;
        if (check_head(s, head, now_ns, timeouts) == Step::kStop) {
            ++s.stats.timer_budget_deferrals;
            HOMA_TT(s.tt, "timer budget spent for peer 0x%x", s.peers[pi].ip);
            return;
        }
    }
}

}  // namespace

void watch(State &s, uint32_t idx) {
    Rpc &r = s.rpcs[idx];
    if (r.watched) return;
    // Jitter by id so that RPCs started together come due over resend_interval ticks.
    uint64_t jitter = (r.key.id >> 1) % s.cfg.resend_interval;
    append(s, idx, s.quiet + s.cfg.resend_ticks + jitter);
}

void unwatch(State &s, uint32_t idx) {
    if (s.rpcs[idx].watched) unlink(s, idx);
}

void run_timers(State &s, uint64_t now_ns) {
    if (now_ns - s.last_tick_ns < s.cfg.tick_ns) return;
    s.last_tick_ns = now_ns;
    ++s.tick;
    ++s.stats.timer_ticks;
    if (s.backlog) {
        ++s.stats.backlog_ticks;
    } else {
        ++s.quiet;
    }
    HOMA_TT(s.tt, s.backlog ? "tick %u quiet %u live %u: own backlog, not counted as silence"
                            : "tick %u quiet %u live %u",
            static_cast<uint32_t>(s.tick), static_cast<uint32_t>(s.quiet), s.live_rpcs);
    s.backlog = false;
    flush_peer_acks(s, now_ns);
    uint32_t timeouts = 0;
    // A peer may leave the active list while checked (its last RPC left): take next first.
    for (uint32_t pi = s.active_peers; pi != kNil;) {
        uint32_t next = s.peers[pi].next_active;
        check_peer(s, pi, now_ns, &timeouts);
        pi = next;
    }
}

}  // namespace homa::detail
