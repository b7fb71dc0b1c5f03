// Grant pipeline (receiver side) and GRANT handling (sender side).
//
// DESIGN NOTES: messages longer than what their sender may send unscheduled sit in `grantable`,
// kept in SRPT order (fewest bytes still to receive first, older first on ties). A batched
// update (once per poll, after a burst of DATA) walks the list: the first max_overcommit
// messages that still need grants each get their window (config.window, or max_incoming divided
// among the active messages), bounded by max_incoming bytes granted-but-not-received in total;
// rank 0 gets max_sched_prio, rank 1 one below, and so on. So that long messages never starve,
// grant_fifo_fraction per mille of the granted bytes accrue as credit, and each time the credit
// reaches fifo_grant_increment the *oldest* grantable message gets that increment. Grants
// smaller than one packet are withheld (unless they finish the message) to save packets.
#include <algorithm>

#include "engine_state.h"
#include "homa/proto/encode.h"
#include "homa/proto/rpc_id.h"

namespace homa::detail {
namespace {

bool srpt_before(const Rpc &a, const Rpc &b) {
    if (a.in.bytes_remaining != b.in.bytes_remaining) {
        return a.in.bytes_remaining < b.in.bytes_remaining;
    }
    return a.in.birth_ns < b.in.birth_ns;
}

uint32_t received(const MsgIn &in) { return in.length - in.bytes_remaining; }

void send_grant(State &s, Rpc &r, uint8_t priority, uint64_t now_ns) {
    wire::Grant g{.common = {.sport = local_port(s, r), .dport = r.peer_port,
                             .sender_id = r.key.id},
                  .offset = r.in.granted,
                  .priority = priority};
    if (!push_control(s, s.peers[r.peer].ip, g, wire::PacketType::kGrant, now_ns)) return;
    ++s.stats.grants_sent;
    r.in.sched_priority = priority;
}

}  // namespace

void grantable_add(State &s, uint32_t idx) {
    auto pos = std::upper_bound(s.grantable.begin(), s.grantable.end(), idx,
                                [&](uint32_t a, uint32_t b) { return srpt_before(s.rpcs[a], s.rpcs[b]); });
    s.grantable.insert(pos, idx);
    s.rpcs[idx].in.grantable = true;
    s.grants_dirty = true;
}

void grantable_remove(State &s, uint32_t idx) {
    auto it = std::find(s.grantable.begin(), s.grantable.end(), idx);
    if (it != s.grantable.end()) s.grantable.erase(it);
    s.rpcs[idx].in.grantable = false;
    s.grants_dirty = true;
}

void grantable_reposition(State &s, uint32_t idx) {
    // bytes_remaining only shrinks, so the entry can only move towards the front.
    auto it = std::find(s.grantable.begin(), s.grantable.end(), idx);
    while (it != s.grantable.begin() && srpt_before(s.rpcs[*it], s.rpcs[*(it - 1)])) {
        std::iter_swap(it, it - 1);
        --it;
    }
}

void update_grants(State &s, uint64_t now_ns) {
    s.grants_dirty = false;
    if (s.grantable.empty()) return;
    const EngineConfig &c = s.cfg;
    uint64_t outstanding = 0;
    uint32_t needing = 0;
    for (uint32_t idx : s.grantable) {
        const MsgIn &in = s.rpcs[idx].in;
        outstanding += in.granted > received(in) ? in.granted - received(in) : 0;
        if (in.granted < in.length) ++needing;
    }
    uint32_t active = std::min<uint32_t>(needing, c.max_overcommit);
    uint64_t window = c.window ? c.window : c.max_incoming / (active + 1);
    uint32_t rank = 0;
    for (uint32_t idx : s.grantable) {
        if (rank == active) break;
        Rpc &r = s.rpcs[idx];
        MsgIn &in = r.in;
        if (in.granted >= in.length) continue;
        uint8_t priority = static_cast<uint8_t>(rank >= c.max_sched_prio ? 0 : c.max_sched_prio - rank);
        ++rank;
        uint64_t target = std::min<uint64_t>(in.length, uint64_t{received(in)} + window);
        if (target <= in.granted) continue;
        uint64_t inc = target - in.granted;
        if (outstanding >= c.max_incoming) break;
        inc = std::min<uint64_t>(inc, c.max_incoming - outstanding);
        if (inc < c.max_payload() && in.granted + inc != in.length) continue;
        in.granted += static_cast<uint32_t>(inc);
        outstanding += inc;
        s.fifo_credit += inc * c.grant_fifo_fraction;
        s.stats.granted_bytes += inc;
        send_grant(s, r, priority, now_ns);
    }

    uint64_t fifo_cost = uint64_t{c.fifo_grant_increment} * 1000;
    if (c.grant_fifo_fraction == 0 || s.fifo_credit < fifo_cost) return;
    uint32_t oldest = kNil;
    for (uint32_t idx : s.grantable) {
        const MsgIn &in = s.rpcs[idx].in;
        if (in.granted >= in.length) continue;
        if (oldest == kNil || in.birth_ns < s.rpcs[oldest].in.birth_ns) oldest = idx;
    }
    if (oldest == kNil) return;
    s.fifo_credit -= fifo_cost;
    Rpc &r = s.rpcs[oldest];
    uint32_t inc = std::min(c.fifo_grant_increment, r.in.length - r.in.granted);
    r.in.granted += inc;
    s.stats.granted_bytes += inc;
    ++s.stats.fifo_grants_sent;
    send_grant(s, r, c.max_sched_prio, now_ns);
}

void handle_grant(State &s, const wire::PacketView &v) {
    const wire::GrantHeader &h = *v.grant();
    Rpc *r = find_rpc(s, wire::local_id(h.common.sender_id.get()), v.src_ip());
    if (r == nullptr) {
        ++s.stats.drops[static_cast<size_t>(EngineDrop::kUnknownRpc)];
        return;
    }
    r->silent_ticks = 0;
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
