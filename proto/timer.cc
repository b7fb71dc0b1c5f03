// Timer ticks: silence, RESEND requests and probes, NEED_ACK and timeouts.
// Runs at most once per tick_ns of caller-supplied time.
//
// DESIGN NOTES
// What each RPC waits for is classified as in Linux Homa's homa_timer_check_rpc, by who owes
// the next packet:
// - We owe it (granted bytes not yet sent, the application holds the RPC): nothing to do.
// - We are receiving and are ourselves the reason nothing arrives (no bpages yet, or every
//   granted byte arrived and we grant no more for now): we send nothing. The sender probes us
//   and gets BUSY. Such a message is dropped once its peer has been silent for timeout_ticks
//   (issue 14: "waiting for buffers" kept a flooder's messages forever, each sending a BUSY
//   every 5 ms to a possibly spoofed source).
// - The peer owes it (missing granted bytes, a grant, the response, an ACK): from resend_ticks
//   of silence on, a receiver asks for what is missing (RESEND per gap and for the granted
//   tail), a client whose request is out probes with RESEND(0, 100), a server whose reply waits
//   for grants probes with an empty RESEND, and a finished reply asks for its ACK (NEED_ACK,
//   from request_ack_ticks after it finished). The gaps between these double while they go
//   unanswered (resend_interval, 2x, 4x, 8x): a peer that never answers gets about four.
//
// What is different from Linux, and why (issue 12: the first version, a per-RPC scan of the
// whole slab every tick, collapsed from 1 M to 8 k RPC/s at 10^4 live RPCs):
// 1. Work follows what is due. An RPC that waits goes on its peer's watch list (watch(), at the
//    transitions that make it wait); per tick the timer looks only at the peers whose head is
//    due (a heap of peers keyed by their head's due time), until it meets a head not due.
//    Packets only stamp `heard` (no list surgery per packet); a head that was heard from recently
//    goes back to the tail, and one that no longer waits leaves the list. Each of these is paid for
//    by the packet or transition that caused it, so a tick costs O(what is due x log peers), not
//    O(live RPCs). When a head leaves, its peer's key is only lowered to the next tick (the new
//    head's due time is a cache miss away); that tick reads the true one (head_left).
// 2. Budgets. At most resend_budget control packets per peer per tick, longest silent first.
//    With 10^5 RPCs queued at a busy server, Linux would send 10^5 RESENDs every
//    resend_interval, each answered by a BUSY: the control traffic grows with the queue and
//    takes the capacity the queue needs to drain. Here it is a constant per peer.
// 3. Silence means the peer is silent. `heard` is kept per RPC and per peer. An RPC is probed
//    when it has heard nothing itself, but it times out only when its whole peer has been
//    silent for timeout_ticks (a server that answers other RPCs is alive and merely busy, and
//    queueing there is not loss), or when kMaxUnansweredProbes probes about it went
//    unanswered (a live peer that ignores one RPC must not keep it forever).
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
// RPCs one tick may look at, whatever they need: a tick is run inline by the poll loop, and
// one that walks 10^5 entries (~100 ns each, cache misses) stops the worker for milliseconds,
// long enough for its peers to count silence. The rest stay due and come first next tick.
constexpr uint32_t kMaxChecksPerTick = 8192;

// What one tick may still spend.
struct TickBudget {
    uint32_t timeouts = 0;
    uint32_t checks = 0;
};

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

// The timer heap holds every peer with a non-empty watch list, keyed by when its head comes
// due: a tick visits only the peers that have something due (with 10^5 peers, walking them
// all each tick cost more than the tick).
void heap_put(State &s, uint32_t pi, uint64_t key) {
    if (s.timer_heap.contains(pi)) {
        s.timer_heap.update(pi, key);
    } else {
        s.timer_heap.push(pi, key);
    }
}

void heap_set(State &s, uint32_t pi) {
    uint32_t head = s.peers[pi].watch_head;
    if (head != kNil) {
        heap_put(s, pi, s.rpcs[head].next_check);
    } else if (s.timer_heap.contains(pi)) {
        s.timer_heap.erase(pi);
    }
}

// After the head of pi's watch list left it (its RPC completed or stopped waiting). The new
// head's due time is a cache miss away (with 10^4 RPCs live it is the next-oldest, last
// touched 10^4 RPCs ago), so the peer's key is only made no later than the next tick, which
// is never late, and check_peer puts the true due time back when that tick pops the peer:
// one early visit per peer per tick instead of a miss per RPC (heap_set was ~2 % of a memif
// client's cycles at 10^4 live RPCs, sixteenth session).
void head_left(State &s, uint32_t pi) {
    if (s.peers[pi].watch_head == kNil) return heap_set(s, pi);  // reads no RPC: leaves the heap
    const uint64_t next_tick = s.quiet + 1;
    if (!s.timer_heap.contains(pi) || s.timer_heap.key_of(pi) > next_tick) {
        heap_put(s, pi, next_tick);
    }
}

// Watch lists are circular: the tail is the head's prev, so moving the head to the tail (the
// common case: a head that was heard from recently) is one pointer move, with no other RPC's
// links touched. The links live in State::watch_links, not in the RPCs: unlinking an RPC
// writes its neighbours' links, which with 10^5 RPCs live were two cold RPC lines, and a
// tick's walk can read ahead along the list (WalkAhead) without waiting for each RPC.
void append(State &s, uint32_t idx, uint64_t next_check) {
    Rpc &r = s.rpcs[idx];
    Peer &p = s.peers[r.key.peer];
    WatchLinks &l = s.watch_links[idx];
    r.next_check = next_check;
    r.watched = true;
    if (p.watch_head == kNil) {
        l.next = l.prev = idx;
        p.watch_head = idx;
        heap_set(s, r.key.peer);
        return;
    }
    uint32_t head = p.watch_head;
    uint32_t tail = s.watch_links[head].prev;
    l.prev = tail;
    l.next = head;
    s.watch_links[tail].next = idx;
    s.watch_links[head].prev = idx;
}

void unlink(State &s, uint32_t idx) {
    Rpc &r = s.rpcs[idx];
    Peer &p = s.peers[r.key.peer];
    WatchLinks &l = s.watch_links[idx];
    bool was_head = p.watch_head == idx;
    if (l.next == idx) {
        p.watch_head = kNil;
    } else {
        s.watch_links[l.prev].next = l.next;
        s.watch_links[l.next].prev = l.prev;
        if (was_head) p.watch_head = l.next;
    }
    r.watched = false;
    l.prev = l.next = kNil;
    if (was_head) head_left(s, r.key.peer);
}

// Moves the head of its peer's list to the tail. Only check_head calls it, inside check_peer's
// walk, which gives the peer its key in the timer heap when it stops (or run_timers defers the
// peer): keying it here too cost a heap update per check.
void requeue(State &s, uint32_t idx, uint64_t next_check) {
    Rpc &r = s.rpcs[idx];
    assert(s.peers[r.key.peer].watch_head == idx);
    r.next_check = next_check;
    s.peers[r.key.peer].watch_head = s.watch_links[idx].next;
}

// How many entries of a watch list a tick's walk prefetches ahead of the one it checks. A
// check is a few loads from an RPC and little else, so a walk that waited for each RPC before
// it learnt the next was a chain of misses (bench_rx_pipeline at 10^5 live RPCs, whose
// two-packet responses come due between their packets: a check per three packets).
constexpr uint32_t kCheckAhead = 6;

// Walks a watch list ahead of the checks, prefetching each RPC it passes. It follows only
// State::watch_links. A check may unlink the entry the walk is at (its links become kNil: the
// walk stops) or move it to the tail (the walk may come round to entries already checked):
// either way only hints are wrong, never a check.
struct WalkAhead {
    uint32_t at = kNil;
    void start(const State &s, uint32_t head) {
        at = head;
        for (uint32_t k = 0; k < kCheckAhead; ++k) step(s);
    }
    void step(const State &s) {
        if (at == kNil) return;
        at = s.watch_links[at].next;
        if (at != kNil) s.rpcs[at].prefetch_hot();
    }
};

void send_need_ack(State &s, Rpc &r, uint64_t now_ns) {
    wire::Bare b{
        .type = wire::PacketType::kNeedAck,
        .common = {.sport = local_port(s, r), .dport = r.peer_port, .sender_id = r.key.id}};
    if (push_control(s, s.peers[r.key.peer].ip, b, wire::PacketType::kNeedAck, now_ns)) {
        ++s.stats.need_acks_sent;
        HOMA_TT(s.tt, "tx NEED_ACK id %u", static_cast<uint32_t>(r.key.id));
    }
}

void time_out(State &s, uint32_t idx) {
    const Rpc &r = s.rpcs[idx];
    HOMA_TT(s.tt, "timeout id %u state %u silent %u peer silent %u",
            static_cast<uint32_t>(r.key.id), static_cast<uint32_t>(r.state),
            static_cast<uint32_t>(s.quiet - r.heard),
            static_cast<uint32_t>(s.quiet - s.peers[r.key.peer].heard));
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

// Gap before the next timer packet of an RPC that has sent `probes` unanswered: doubles per
// probe, up to 8 intervals (issue 14: RESENDs to a silent peer must back off).
uint64_t probe_gap(State &s, uint8_t probes) {
    uint32_t shift = probes == 0 ? 0 : std::min<uint32_t>(probes - 1, 3);
    if (shift > 0) ++s.stats.probes_backed_off;
    return uint64_t{s.cfg.resend_interval} << shift;
}

// A server whose reply waits for grants asks the client whether it is alive: a RESEND for
// nothing, at the end of the request. A client (ours or Linux's) answers it with BUSY.
void probe_client(State &s, Rpc &r, uint64_t now_ns) {
    wire::Resend rs{
        .common = {.sport = local_port(s, r), .dport = r.peer_port, .sender_id = r.key.id},
        .offset = r.in.length,
        .length = 0,
        .priority = static_cast<uint8_t>(s.cfg.num_priorities - 1)};
    if (push_control(s, s.peers[r.key.peer].ip, rs, wire::PacketType::kResend, now_ns)) {
        ++s.stats.resends_sent;
        ++s.stats.resend_probes_sent;
        HOMA_TT(s.tt, "tx RESEND id %u: reply waits for grants, is the client alive?",
                static_cast<uint32_t>(r.key.id));
    }
}

// Handles the head of a watch list, which is due. kStop: this peer is done for the tick.
Step check_head(State &s, uint32_t idx, uint64_t now_ns, TickBudget *tb) {
    Rpc &r = s.rpcs[idx];
    Peer &p = s.peers[r.key.peer];
    const EngineConfig &c = s.cfg;
    ++s.stats.timer_checks;
    uint64_t silent = s.quiet - r.heard;
    bool peer_silent = s.quiet - p.heard >= c.timeout_ticks;
    switch (who_owes(r)) {
        case Owes::kUs:
            unlink(s, idx);  // watch() puts it back when it waits again
            return Step::kNext;
        case Owes::kUsReceiving:
            // We are the reason nothing arrives (no bpages, or no grant yet): send nothing;
            // the sender probes us and we answer BUSY. But waiting is no proof that the
            // sender lives: once it has been silent for timeout_ticks, the message goes.
            if (silent >= c.timeout_ticks && peer_silent) {
                if (tb->timeouts >= kMaxTimeoutsPerTick) return Step::kStop;
                ++tb->timeouts;
                ++s.stats.expired_waiting;
                time_out(s, idx);
                return Step::kNext;
            }
            requeue(s, idx, std::max(r.heard, p.heard) + c.timeout_ticks);
            return Step::kNext;
        case Owes::kPeer: break;
    }
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
    // A peer that talks to us but disowns this RPC (RPC_UNKNOWN) has forgotten it. A client
    // that talks to us but ignores kMaxUnansweredProbes probes about one server RPC will not
    // answer it: the server drops it (a live client recovers it: its probe gets RPC_UNKNOWN
    // and restarts the request). A client RPC is not failed that way: on a lossy path four
    // probes can all be lost, and that must not become an error for the application.
    bool ignored = wire::is_server_id(r.key.id) && r.probes >= kMaxUnansweredProbes;
    if (silent >= c.timeout_ticks && (peer_silent || r.disowned || ignored)) {
        if (tb->timeouts >= kMaxTimeoutsPerTick) return Step::kStop;
        ++tb->timeouts;
        time_out(s, idx);  // unwatches it
        return Step::kNext;
    }
    if (!take_budget(s, p)) return Step::kStop;
    switch (r.state) {
        case RpcState::kAwaitAck: send_need_ack(s, r, now_ns); break;
        case RpcState::kServerOutgoing: probe_client(s, r, now_ns); break;  // waits for grants
        case RpcState::kClientIncoming:
        case RpcState::kServerIncoming:
            grant_stalled(s, idx);  // its granted bytes must not hold back other senders
            [[fallthrough]];
        default: request_retransmission(s, r, now_ns); break;  // incl. the client's probe
    }
    if (r.probes < UINT8_MAX) ++r.probes;
    uint64_t next = s.quiet + probe_gap(s, r.probes);
    if (r.heard + c.timeout_ticks > s.quiet) next = std::min(next, r.heard + c.timeout_ticks);
    requeue(s, idx, next);
    return Step::kNext;
}

// Returns false when the peer's budget (or the tick's) ran out with work still due.
bool check_peer(State &s, uint32_t pi, uint64_t now_ns, TickBudget *tb) {
    WalkAhead ahead;  // started at the first due head: a peer visited early has none
    bool walking = false;
    for (;;) {
        uint32_t head = s.peers[pi].watch_head;  // re-read: checks may free the peer's RPCs
        if (head == kNil) return true;
        if (s.rpcs[head].next_check > s.quiet) {
            heap_set(s, pi);  // its true due time (head_left may have left an earlier one)
            return true;
        }
        if (tb->checks >= kMaxChecksPerTick) return false;
        ++tb->checks;
        if (walking) {
            ahead.step(s);
        } else {
            ahead.start(s, head);
            walking = true;
        }
        if (check_head(s, head, now_ns, tb) == Step::kStop) {
            ++s.stats.timer_budget_deferrals;
            HOMA_TT(s.tt, "timer budget spent for peer 0x%x", s.peers[pi].ip.low_word());
            return false;
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

void unwatch_listed(State &s, uint32_t idx) { unlink(s, idx); }

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
    HOMA_TT(s.tt,
            s.backlog ? "tick %u quiet %u live %u: own backlog, not counted as silence"
                      : "tick %u quiet %u live %u",
            static_cast<uint32_t>(s.tick), static_cast<uint32_t>(s.quiet), s.live_rpcs);
    s.backlog = false;
    flush_peer_acks(s, now_ns);
    reclaim_idle_peers(s);
    TickBudget tb;
    // Peers whose budget ran out keep their due head; they are put back after the loop, due
    // in the next tick, so that this loop ends. When the tick's checks run out, the peers
    // still in the heap keep their (past) due times and come first in the next tick.
    while (!s.timer_heap.empty() && s.timer_heap.top_key() <= s.quiet) {
        uint32_t pi = s.timer_heap.pop();
        if (!check_peer(s, pi, now_ns, &tb) && s.peers[pi].watch_head != kNil) {
            if (s.timer_heap.contains(pi)) s.timer_heap.erase(pi);
            s.deferred_peers.push_back(pi);
        }
        if (tb.checks >= kMaxChecksPerTick) {
            ++s.stats.timer_ticks_capped;
            HOMA_TT(s.tt, "timer: %u checks in this tick, the rest next tick", tb.checks);
            break;
        }
    }
    for (uint32_t pi : s.deferred_peers) {
        if (s.peers[pi].watch_head == kNil || s.timer_heap.contains(pi)) continue;
        s.timer_heap.push(pi, s.quiet + 1);
    }
    s.deferred_peers.clear();
}

}  // namespace homa::detail
