// Grant pipeline (receiver side) and GRANT handling (sender side).
//
// DESIGN NOTES: a message longer than what its sender may send unscheduled needs grants. Such
// messages are ranked by SRPT (fewest bytes still to receive first, older first on ties). The
// best max_overcommit of them form the active set (`grant_active`, a short sorted vector); the
// rest wait in a heap (`grant_rest`). Every active message always ranks ahead of every waiting
// one: when a waiting message's remaining bytes drop below the worst active one's (its
// unscheduled bytes keep arriving), the two swap. A batched update (once per poll, after a
// burst of DATA) walks only the active set: each gets its window (config.window, or
// max_incoming divided among the active messages), bounded by max_incoming bytes
// granted-but-not-received in total (`total_incoming`, kept up to date per packet instead of
// summed per update); rank 0 gets max_sched_prio, rank 1 one below, and so on (with fewer
// active messages than levels, the lowest levels, as Linux), and, when no level is spare, a
// message with more than one window still to grant one level lower still, so that a short
// message's grants go above the windows longer messages already hold (rank_priority).
//
// Per DATA packet the cost is O(max_overcommit) for an active message and O(log n) for a
// waiting one, whatever n is. The first version kept one sorted vector and searched it with
// std::find on every packet and walked it on every update: with 10^4 large messages waiting,
// every DATA packet paid for all of them (issue 12).
//
// So that long messages never starve, grant_fifo_fraction per mille of the granted bytes accrue
// as credit, and each time the credit reaches fifo_grant_increment the *oldest* message that
// still needs grants (the head of a FIFO chain kept in arrival order) gets that increment, at
// the lowest scheduled priority (Linux sends it near the top; here that let 50 KB of the
// oldest, usually longest, message overtake shorter messages' data in the switch: docs/sim.md).
// A message whose sender has not sent most of its FIFO grants is passed over for the next
// oldest (as Linux), so that one busy sender cannot pile up the receiver's max_incoming.
// Grants smaller than one packet are withheld (unless they finish the message) to save packets.
// A message leaves the grant set once fully granted; it stays in total_incoming until its last
// byte arrives (or it is freed). Until then it still ranks for priorities (`grant_inflight`, at
// most max_overcommit of them): the active messages' ranks count the in-flight ones ahead of
// them, so a longer message is granted below a shorter one's bytes still on the way. When it
// dropped out of the ranking at its last grant, the next message took rank 0 and the top level,
// and the shorter message's last packets waited behind its bytes in the receiver's switch port
// (docs/sim.md, finding 7). Linux keeps such an RPC in its active set, slot included; holding
// no slot here keeps a message whose granted bytes were lost from holding back the others
// until the timer asks for them (tests/proto/loss_test.cc lost half its throughput so).
//
// Stalled senders (issue 14: a flood of messages that sent their first packet and nothing more
// held max_incoming and the active set, and others got no grant for a second): when the timer
// has to ask for a message's granted bytes (nothing came for resend_ticks), the message is
// stalled: it leaves the grant set and its granted-not-received bytes stop counting in
// total_incoming, so the grants go to senders that deliver. Its next DATA puts it back.
// Before that, and for unscheduled bytes a sender claims and never sends (each first packet
// announces up to unsched_bytes), each peer's granted-not-received bytes count against
// max_incoming only up to its share (peer_incoming_share); beyond it the peer gets no grants,
// and others are granted as if the excess were not there.
#include <algorithm>

#include "engine_state.h"
#include "homa/proto/encode.h"
#include "homa/proto/rpc_id.h"

namespace homa::detail {
namespace {

uint32_t received(const MsgIn &in) { return in.length - in.bytes_remaining; }

constexpr uint32_t kFifoRank = UINT32_MAX;  // send_grant: the FIFO share, not an SRPT rank

void send_grant(State &s, Rpc &r, uint8_t priority, uint32_t rank, uint64_t now_ns) {
    wire::Grant g{
        .common = {.sport = local_port(s, r), .dport = r.peer_port, .sender_id = r.key.id},
        .offset = r.in.granted,
        .priority = priority};
    if (!push_control(s, s.peers[r.key.peer].ip, g, wire::PacketType::kGrant, now_ns)) return;
    ++s.stats.grants_sent;
    r.in.sched_priority = priority;
    HOMA_TT(s.tt,
            rank == kFifoRank ? "tx GRANT id %u offset %u priority %u fifo"
                              : "tx GRANT id %u offset %u priority %u rank %u",
            static_cast<uint32_t>(r.key.id), r.in.granted, priority, rank);
    // The sender now owes us the granted bytes.
    watch(s, index_of(s, r));
}

// A peer's share of max_incoming (peer_incoming_share): beyond it, its granted-not-received
// bytes do not hold back other peers' grants, and it gets no more grants itself.
uint64_t peer_incoming_cap(const State &s) {
    return std::max<uint64_t>(1, uint64_t{s.cfg.max_incoming} * s.cfg.peer_incoming_share / 1000);
}

uint64_t excess(const State &s, uint64_t incoming) {
    uint64_t cap = peer_incoming_cap(s);
    return incoming > cap ? incoming - cap : 0;
}

// Keeps total_incoming equal to the sum of every scheduled message's granted-not-received,
// and each peer's part of it (and what peers hold beyond their share) up to date.
void set_incoming(State &s, Rpc &r, uint32_t now) {
    MsgIn &in = r.in;
    Peer &p = s.peers[r.key.peer];
    uint64_t before = excess(s, p.incoming);
    p.incoming = p.incoming - in.incoming + now;
    s.incoming_excess = s.incoming_excess - before + excess(s, p.incoming);
    s.total_incoming = s.total_incoming - in.incoming + now;
    in.incoming = now;
}

void recount(State &s, Rpc &r) {
    const MsgIn &in = r.in;
    set_incoming(s, r, !in.stalled && in.granted > received(in) ? in.granted - received(in) : 0);
}

bool before(const State &s, uint32_t a, uint32_t b) { return srpt_before(s.rpcs[a], s.rpcs[b]); }

bool key_before(const State &s, uint64_t key, uint32_t b) { return key < srpt_key(s.rpcs[b]); }

// Moves entry `pos` of `v` (grant_active or grant_inflight) towards the front while it ranks
// ahead of its neighbour.
void bubble_up(State &s, std::vector<uint32_t> &v, size_t pos) {
    while (pos > 0 && before(s, v[pos], v[pos - 1])) {
        std::swap(v[pos], v[pos - 1]);
        --pos;
    }
}

void activate(State &s, uint32_t idx) {
    s.grant_active.push_back(idx);
    s.rpcs[idx].in.grant_active = true;
    bubble_up(s, s.grant_active, s.grant_active.size() - 1);
}

// Keeps the active set full with the best messages: promotes from the heap while there is
// room, or while the heap's best ranks ahead of the worst active message.
void rebalance(State &s) {
    while (!s.grant_rest.empty()) {
        uint32_t best = s.grant_rest.top();
        if (s.grant_active.size() < s.cfg.max_overcommit) {
            s.grant_rest.pop();
            activate(s, best);
            continue;
        }
        uint32_t worst = s.grant_active.back();
        if (!key_before(s, s.grant_rest.top_key(), worst)) return;
        s.grant_rest.pop();
        s.grant_active.pop_back();
        s.rpcs[worst].in.grant_active = false;
        s.grant_rest.push(worst, srpt_key(s.rpcs[worst]));
        activate(s, best);
    }
}

void fifo_unlink(State &s, uint32_t idx) {
    MsgIn &in = s.rpcs[idx].in;
    if (in.fifo_prev == kNil) {
        s.fifo_head = in.fifo_next;
    } else {
        s.rpcs[in.fifo_prev].in.fifo_next = in.fifo_next;
    }
    if (in.fifo_next == kNil) {
        s.fifo_tail = in.fifo_prev;
    } else {
        s.rpcs[in.fifo_next].in.fifo_prev = in.fifo_prev;
    }
    in.fifo_prev = in.fifo_next = kNil;
}

// Out of the grant set (fully granted, complete or freed); total_incoming is left alone.
void leave_grant_set(State &s, uint32_t idx) {
    MsgIn &in = s.rpcs[idx].in;
    if (!in.grantable) return;
    in.grantable = false;
    fifo_unlink(s, idx);
    if (in.grant_active) {
        in.grant_active = false;
        auto &v = s.grant_active;
        v.erase(std::find(v.begin(), v.end(), idx));  // at most max_overcommit entries
    } else {
        s.grant_rest.erase(idx);
    }
    rebalance(s);
    s.grants_dirty = true;
}

// A fully granted message starts waiting for its last bytes; among the max_overcommit best
// only (one ranked below all of those cannot lower anyone's priority).
void inflight_add(State &s, uint32_t idx) {
    auto &v = s.grant_inflight;
    if (v.size() >= s.cfg.max_overcommit) {
        if (v.empty() || !before(s, idx, v.back())) return;
        s.rpcs[v.back()].in.grant_inflight = false;
        v.pop_back();
    }
    v.push_back(idx);
    s.rpcs[idx].in.grant_inflight = true;
    bubble_up(s, v, v.size() - 1);
}

void inflight_remove(State &s, uint32_t idx) {
    MsgIn &in = s.rpcs[idx].in;
    if (!in.grant_inflight) return;
    in.grant_inflight = false;
    auto &v = s.grant_inflight;
    v.erase(std::find(v.begin(), v.end(), idx));  // at most max_overcommit entries
}

// Fully granted: out of the grant set, still ranked while its bytes come.
void fully_granted(State &s, uint32_t idx) {
    leave_grant_set(s, idx);
    if (s.rpcs[idx].in.bytes_remaining > 0) inflight_add(s, idx);
}

// The scheduled priority of SRPT rank `rank` among `active` granted messages: rank 0 gets
// max_sched_prio, each further rank one less. As Linux's homa_grant_priority: with fewer active
// messages than scheduled levels, the lowest ones, so that a shorter message that arrives later
// can be granted above data already granted (homa-sim: a 60 KB message behind a 1 MB one).
//
// One step further than Linux, once no level is spare: a message with more than one window
// still to grant goes one level lower, so that each rank's level is left to messages whose
// remaining grants fit in one window (short ones, and long ones in their last window). A short
// message that takes rank 0 while the previous rank 0 (usually a long message) still has a
// window of bytes queued in the receiver's switch port at the top level then goes above those
// bytes instead of behind them. Linux's spare levels give that headroom only while fewer
// messages than levels rank; at a busy receiver every level is in use, and homa-sim (W5 90 %,
// seed 3) found the slowest 16-19 KB messages' last packets behind 20 KB each of longer
// messages' bytes granted at their level before they arrived, nearly all of which had already
// left their senders (so no later GRANT could lower them; docs/sim.md finding 8). Keeping the
// level only for a grant that finishes its message (the first version) left a 17.6 KB
// message's first scheduled packet a level below its second, behind a 1 MB message's window.
// With a level spare this is Linux's rule unchanged.
uint8_t rank_priority(const EngineConfig &c, uint32_t rank, uint32_t active, bool last_window) {
    int prio = int{c.max_sched_prio} - static_cast<int>(rank);
    int spare = int{c.max_sched_prio} + 1 - static_cast<int>(active);
    if (spare > 0) prio -= spare;
    if (!last_window && spare <= 0) --prio;
    return static_cast<uint8_t>(prio < 0 ? 0 : prio);
}

// The oldest message that may take a FIFO grant: one with fewer than `limit` bytes granted and
// not yet received (Linux passes over a message at the window plus two increments). Without
// the limit, every FIFO grant went to the same oldest message while its sender, busy with shorter
// messages elsewhere, sent none of it: homa-sim (W5 90 %, seed 3) found 415 KB granted to one
// 1 MB message, far beyond its peer's share of max_incoming, so that peer's 19 KB message got no
// grant for 1 ms (docs/sim.md, finding 6). Only the kFifoCandidates oldest are looked at, so a
// grant costs O(1) however many messages wait.
constexpr uint32_t kFifoCandidates = 8;

uint32_t fifo_candidate(const State &s, uint64_t limit) {
    uint32_t idx = s.fifo_head;
    for (uint32_t i = 0; i < kFifoCandidates && idx != kNil; ++i) {
        const MsgIn &in = s.rpcs[idx].in;
        uint64_t outstanding = in.granted > received(in) ? in.granted - received(in) : 0;
        if (outstanding < limit) return idx;
        idx = in.fifo_next;
    }
    return kNil;
}

}  // namespace

void grantable_add(State &s, uint32_t idx) {
    MsgIn &in = s.rpcs[idx].in;
    if (in.grantable) return;
    in.grantable = true;
    in.scheduled = true;
    in.fifo_next = kNil;
    in.fifo_prev = s.fifo_tail;
    if (s.fifo_tail == kNil) {
        s.fifo_head = idx;
    } else {
        s.rpcs[s.fifo_tail].in.fifo_next = idx;
    }
    s.fifo_tail = idx;
    recount(s, s.rpcs[idx]);
    s.grant_rest.push(idx, srpt_key(s.rpcs[idx]));
    rebalance(s);
    s.grants_dirty = true;
}

void grantable_remove_listed(State &s, uint32_t idx) {
    MsgIn &in = s.rpcs[idx].in;
    leave_grant_set(s, idx);
    inflight_remove(s, idx);
    if (in.scheduled) {
        set_incoming(s, s.rpcs[idx], 0);
        in.scheduled = false;
    }
}

void grant_stalled(State &s, uint32_t idx) {
    MsgIn &in = s.rpcs[idx].in;
    if (!in.scheduled || in.stalled) return;
    in.stalled = true;
    leave_grant_set(s, idx);
    inflight_remove(s, idx);  // its bytes are not coming
    recount(s, s.rpcs[idx]);
    s.grants_dirty = true;
}

void grant_unstalled(State &s, uint32_t idx) {
    MsgIn &in = s.rpcs[idx].in;
    if (!in.stalled) return;
    in.stalled = false;
    if (in.granted < in.length && !in.waiting) {
        grantable_add(s, idx);  // recounts
    } else {
        recount(s, s.rpcs[idx]);
    }
}

void grantable_received(State &s, uint32_t idx) {
    MsgIn &in = s.rpcs[idx].in;
    if (!in.scheduled) return;
    recount(s, s.rpcs[idx]);
    // Bytes of a fully granted message arriving free room under max_incoming for the others
    // (homa-sim found a message waiting forever for that update).
    s.grants_dirty = true;
    if (in.grant_inflight) {
        auto &v = s.grant_inflight;  // bytes_remaining only shrinks: it can only move up
        bubble_up(s, v, static_cast<size_t>(std::find(v.begin(), v.end(), idx) - v.begin()));
    }
    if (!in.grantable) return;
    if (in.granted >= in.length) {
        fully_granted(s, idx);  // the sender announced everything (unscheduled)
        return;
    }
    // bytes_remaining only shrinks, so the message can only move up in rank.
    if (in.grant_active) {
        auto &v = s.grant_active;
        bubble_up(s, v, static_cast<size_t>(std::find(v.begin(), v.end(), idx) - v.begin()));
    } else {
        s.grant_rest.update(idx, srpt_key(s.rpcs[idx]));
        rebalance(s);
    }
    s.grants_dirty = true;
}

void update_grants(State &s, uint64_t now_ns) {
    s.grants_dirty = false;
    if (s.grant_active.empty()) return;
    const EngineConfig &c = s.cfg;
    auto active = static_cast<uint32_t>(s.grant_active.size());
    uint64_t window = c.window ? c.window : c.max_incoming / (active + 1);
    const uint64_t cap = peer_incoming_cap(s);
    bool finished_any = false;
    // Ranks count the fully granted messages still receiving that rank ahead (both lists are in
    // SRPT order, so one merge walk).
    const auto &inflight = s.grant_inflight;
    const auto ranked = static_cast<uint32_t>(active + inflight.size());
    size_t ahead = 0;
    for (uint32_t i = 0; i < active; ++i) {
        uint32_t idx = s.grant_active[i];
        while (ahead < inflight.size() && before(s, inflight[ahead], idx)) ++ahead;
        const auto rank = static_cast<uint32_t>(i + ahead);
        Rpc &r = s.rpcs[idx];
        MsgIn &in = r.in;
        uint64_t target = std::min<uint64_t>(in.length, uint64_t{received(in)} + window);
        uint8_t priority = rank_priority(c, rank, ranked, in.length - in.granted <= window);
        if (target <= in.granted) continue;
        // What peers hold beyond their share does not count against the others.
        uint64_t total = s.total_incoming - s.incoming_excess;
        if (total >= c.max_incoming) break;
        uint64_t peer_used = s.peers[r.key.peer].incoming;
        if (peer_used >= cap) continue;  // this peer has its share: the next one may not
        uint64_t inc =
            std::min<uint64_t>({target - in.granted, c.max_incoming - total, cap - peer_used});
        if (inc < c.max_payload() && in.granted + inc != in.length) continue;
        in.granted += static_cast<uint32_t>(inc);
        recount(s, s.rpcs[idx]);
        s.fifo_credit += inc * c.grant_fifo_fraction;
        s.stats.granted_bytes += inc;
        send_grant(s, r, priority, rank, now_ns);
        finished_any |= in.granted >= in.length;
    }
    if (finished_any) {
        // Fully granted messages make room for the next ones (granted on the next update).
        for (size_t i = 0; i < s.grant_active.size();) {
            uint32_t idx = s.grant_active[i];
            if (s.rpcs[idx].in.granted >= s.rpcs[idx].in.length) {
                fully_granted(s, idx);
            } else {
                ++i;
            }
        }
    }

    uint64_t fifo_cost = uint64_t{c.fifo_grant_increment} * 1000;
    if (c.grant_fifo_fraction == 0 || s.fifo_credit < fifo_cost) return;
    uint32_t oldest = fifo_candidate(s, window + 2 * uint64_t{c.fifo_grant_increment});
    if (oldest == kNil) return;  // the credit waits for a sender that responds
    s.fifo_credit -= fifo_cost;
    Rpc &r = s.rpcs[oldest];
    uint32_t inc = std::min(c.fifo_grant_increment, r.in.length - r.in.granted);
    r.in.granted += inc;
    recount(s, r);
    s.stats.granted_bytes += inc;
    ++s.stats.fifo_grants_sent;
    // The FIFO share is bandwidth beyond the SRPT windows, so its bytes go below every SRPT
    // grant's: at the lowest scheduled level. At max_sched_prio (before) its 50 KB jumped
    // ahead of every shorter message's scheduled data in the receiver's switch port; even at
    // the oldest message's own rank it did when that message ranked first (homa-sim, W5 at
    // 80 %, smallest half's p99: 2.62 before, 2.26 by rank, 2.12 here; docs/sim.md finding 4).
    send_grant(s, r, 0, kFifoRank, now_ns);
    if (r.in.granted >= r.in.length) fully_granted(s, oldest);
}

void handle_grant(State &s, const wire::PacketView &v) {
    const wire::GrantHeader &h = *v.grant();
    Rpc *r = find_rpc(s, wire::local_id(h.common.sender_id.get()), v.src_addr());
    if (r == nullptr) {
        ++s.stats.drops[static_cast<size_t>(EngineDrop::kUnknownRpc)];
        return;
    }
    heard_rpc(s, *r);
    if (r->state != RpcState::kClientOutgoing && r->state != RpcState::kServerOutgoing) {
        ++s.stats.drops[static_cast<size_t>(EngineDrop::kUnexpectedState)];
        return;
    }
    MsgOut &out = r->out;
    uint32_t offset = std::min(h.offset.get(), out.length);
    out.sched_priority = h.priority;
    if (offset <= out.granted) return;
    out.granted = offset;
    sendable_add(s, index_of(s, *r));
}

}  // namespace homa::detail
