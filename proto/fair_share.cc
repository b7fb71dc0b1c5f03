// Fair shares of RPC slots and bpages among the peers that send us requests.
//
// DESIGN NOTES (issue 14: 3,000 first packets of 500 KB messages that never completed held
// the whole pool, and a legitimate 1 B request waited behind them for buffers):
// - Only incomplete inbound server messages (kServerIncoming) are counted: what a peer makes us
//   hold without having delivered it. A complete request belongs to the application and a
//   reply to our own work; neither is ever evicted.
// - Per peer: in_rpcs (a hard cap, peer_rpc_share per mille of max_rpcs; beyond it a new
//   message is dropped without an answer, so refusals cannot be used to reflect traffic) and
//   in_bpages. The bpage share is work-conserving: one peer may use the whole pool while
//   nobody else needs it. When a message from another peer finds no bpages or no RPC slot,
//   and the heaviest peer holds more than peer_pool_share per mille of the bpages that
//   incomplete messages hold (and more than one message), that peer's oldest message that
//   makes no progress is evicted
//   (freed: a live client recovers it with RESEND -> RPC_UNKNOWN -> restart) and the request
//   tries again.
// - "No progress": waiting for bpages, no more than its first packet delivered, or nothing
//   heard of it for resend_ticks. A message that is arriving is never evicted.
// - The heaviest peer is the top of a heap of peers keyed by load (bpages, then messages),
//   updated when a message starts, gets bpages or ends: never per packet.
// - Finished replies waiting for their ACK (kAwaitAck) hold an RPC slot and a peer entry. A
//   spoofed source never acknowledges, so a flood of one-byte requests from many addresses
//   would hold both tables until NEED_ACK gives up. When a table is full, the oldest such
//   reply is freed instead: a real client acknowledges within a tick, so the oldest are the
//   sources that never will (a real client that lost part of that reply then fails the RPC
//   with ETIMEDOUT: only while a table is full).
#include <algorithm>

#include "engine_state.h"
#include "index_chain.h"

namespace homa::detail {
namespace {

// Heavier first: the heap pops its smallest key.
uint64_t load_key(const Peer &p) {
    uint64_t load = (uint64_t{p.in_bpages} << 32) | p.in_rpcs;
    return ~load;
}

void update_load(State &s, uint32_t pi) {
    const Peer &p = s.peers[pi];
    bool loaded = p.in_rpcs != 0 || p.in_bpages != 0;
    if (!loaded) {
        if (s.peer_load.contains(pi)) s.peer_load.erase(pi);
    } else if (s.peer_load.contains(pi)) {
        s.peer_load.update(pi, load_key(p));
    } else {
        s.peer_load.push(pi, load_key(p));
    }
}

// Progress is shown, not assumed: a message that has delivered no more than its first packet
// (all a flood of first packets ever sends) has shown none yet.
bool makes_progress(const State &s, const Rpc &r) {
    uint32_t received = r.in.length - r.in.bytes_remaining;
    return !r.in.waiting && received > s.cfg.max_payload() &&
           s.quiet - r.heard < s.cfg.resend_ticks;
}

// Bound on the messages looked at per eviction: an older message that is still arriving is
// skipped, but a peer whose every message arrives is not heavy for long.
constexpr uint32_t kMaxVictimScan = 16;

}  // namespace

void inbound_add(State &s, uint32_t idx) {
    Rpc &r = s.rpcs[idx];
    Peer &p = s.peers[r.key.peer];
    r.inbound = true;
    chain_append(s.rpcs, p.in_head, p.in_tail, idx, &Rpc::in_prev, &Rpc::in_next);
    ++p.in_rpcs;
    p.in_bpages += r.in.num_bpages;
    ++s.inbound_rpcs;
    s.inbound_bpages += r.in.num_bpages;
    update_load(s, r.key.peer);
}

void inbound_remove(State &s, uint32_t idx) {
    Rpc &r = s.rpcs[idx];
    if (!r.inbound) return;
    Peer &p = s.peers[r.key.peer];
    r.inbound = false;
    chain_remove(s.rpcs, p.in_head, p.in_tail, idx, &Rpc::in_prev, &Rpc::in_next);
    --p.in_rpcs;
    --s.inbound_rpcs;
    p.in_bpages -= r.in.num_bpages;
    s.inbound_bpages -= r.in.num_bpages;
    update_load(s, r.key.peer);
}

void inbound_bpages(State &s, uint32_t idx, int32_t delta) {
    Rpc &r = s.rpcs[idx];
    if (!r.inbound) return;
    Peer &p = s.peers[r.key.peer];
    p.in_bpages = static_cast<uint32_t>(static_cast<int64_t>(p.in_bpages) + delta);
    s.inbound_bpages = static_cast<uint64_t>(static_cast<int64_t>(s.inbound_bpages) + delta);
    update_load(s, r.key.peer);
}

bool inbound_allowed(const State &s, uint32_t pi) {
    uint64_t cap = std::max<uint64_t>(1, uint64_t{s.cfg.max_rpcs} * s.cfg.peer_rpc_share / 1000);
    return s.peers[pi].in_rpcs < cap;
}

bool over_share(const State &s, uint32_t pi) {
    if (s.cfg.peer_pool_share >= 1000) return false;
    const Peer &p = s.peers[pi];
    if (s.inbound_bpages == 0) {  // everything waits for bpages: judge by messages
        return uint64_t{p.in_rpcs} * 1000 > uint64_t{s.inbound_rpcs} * s.cfg.peer_pool_share;
    }
    return uint64_t{p.in_bpages} * 1000 > s.inbound_bpages * s.cfg.peer_pool_share;
}

bool evict_for(State &s, uint32_t requester) {
    if (s.peer_load.empty() || s.cfg.peer_pool_share >= 1000) return false;
    uint32_t heavy = s.peer_load.top();
    if (heavy == requester) return false;
    const Peer &hp = s.peers[heavy];
    const Peer &rp = s.peers[requester];
    // Heavier than the requester, and more than its share: a fair mix evicts nobody.
    bool heavier = hp.in_bpages > rp.in_bpages ||
                   (hp.in_bpages == rp.in_bpages && hp.in_rpcs > rp.in_rpcs + 1);
    // One message is never a flood, however large: only a peer with several is evicted from.
    if (!heavier || hp.in_rpcs < 2 || !over_share(s, heavy)) return false;
    uint32_t scanned = 0;
    for (uint32_t i = hp.in_head; i != kNil && scanned < kMaxVictimScan;
         i = s.rpcs[i].in_next, ++scanned) {
        if (makes_progress(s, s.rpcs[i])) continue;
        ++s.stats.evicted;
        HOMA_TT(s.tt, "evict id %u from heavy peer 0x%x (%u bpages) for 0x%x",
                static_cast<uint32_t>(s.rpcs[i].key.id), hp.ip.low_word(), hp.in_bpages,
                rp.ip.low_word());
        free_rpc(s, i);
        return true;
    }
    return false;
}

void await_link(State &s, uint32_t idx) {
    chain_append(s.rpcs, s.await_head, s.await_tail, idx, &Rpc::await_prev, &Rpc::await_next);
}

void await_unlink(State &s, uint32_t idx) {
    chain_remove(s.rpcs, s.await_head, s.await_tail, idx, &Rpc::await_prev, &Rpc::await_next);
}

bool evict_unacked(State &s, bool for_peer_slot) {
    uint32_t scanned = 0;
    for (uint32_t i = s.await_head; i != kNil && scanned < kMaxVictimScan;
         i = s.rpcs[i].await_next, ++scanned) {
        const Rpc &r = s.rpcs[i];
        const Peer &p = s.peers[r.key.peer];
        if (for_peer_slot && p.rpcs != 1) continue;
        ++s.stats.evicted;
        HOMA_TT(s.tt, "evict unacked reply id %u of silent peer 0x%x",
                static_cast<uint32_t>(r.key.id), p.ip.low_word());
        free_rpc(s, i);
        return true;
    }
    return false;
}

}  // namespace homa::detail
