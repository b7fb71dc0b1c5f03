// The peer table: one entry per remote host we have RPCs or pending acks with.
//
// DESIGN NOTES (issue 14: a thousand spoofed sources filled a fixed table of 1024 entries that
// were never freed, and every later peer was dropped for good):
// - Entries live in a vector reserved for max_peers (2^17 by default, about 200 B each: the
//   pending acks that made an entry 2 KB moved to a small shared pool, ack.cc), so the table
//   holds datacenter numbers of peers and costs memory only for the entries in use.
// - A peer with no live RPCs and no pending acks is idle: it sits on an idle list in the order
//   it became idle. Its entry is freed after peer_idle_ticks, or taken at once, least recently
//   idle first, when the table is full. So a flood of spoofed sources can occupy entries only
//   as long as their RPCs live (those are bounded in time, timer.cc), and a new peer always
//   finds one once they are gone.
// - What an entry holds (cutoffs a peer sent us, the version we last sent it) is worth keeping
//   only while we talk to it: a reclaimed peer starts again from the defaults, and the cutoffs
//   exchange restores them on its next DATA.
// - Control packets look peers up with find_peer and never create one: only DATA that creates
//   an RPC and our own requests do.
#include <cassert>

#include "engine_state.h"
#include "index_chain.h"

namespace homa::detail {
namespace {

void idle_unlink(State &s, uint32_t pi) {
    Peer &p = s.peers[pi];
    if (!p.idle) return;
    p.idle = false;
    chain_remove(s.peers, s.idle_head, s.idle_tail, pi, &Peer::idle_prev, &Peer::idle_next);
}

void idle_append(State &s, uint32_t pi) {
    Peer &p = s.peers[pi];
    p.idle = true;
    p.idle_since = s.tick;
    chain_append(s.peers, s.idle_head, s.idle_tail, pi, &Peer::idle_prev, &Peer::idle_next);
}

// Takes an idle peer out of the table; its slot goes to the free chain.
void release_peer(State &s, uint32_t pi) {
    Peer &p = s.peers[pi];
    assert(p.in_use && p.rpcs == 0 && p.num_acks == 0 && p.watch_head == kNil && !p.ack_listed);
    idle_unlink(s, pi);
    if (s.peer_hint == pi) s.peer_hint = kNil;
    s.peer_index.erase({p.ip});
    p = Peer{};
    p.idle_next = s.free_peers;
    s.free_peers = pi;
    --s.live_peers;
    ++s.stats.peers_reclaimed;
}

}  // namespace

uint32_t find_peer(const State &s, const IpAddress &ip) {
    if (s.peer_hint != kNil && s.peer_hint_ip == ip) return s.peer_hint;
    uint32_t i = s.peer_index.find({ip});
    if (i != kNil) {
        s.peer_hint = i;
        s.peer_hint_ip = ip;
    }
    return i;
}

uint32_t get_peer(State &s, const IpAddress &ip) {
    uint32_t i = find_peer(s, ip);
    if (i != kNil) return i;
    if (s.live_peers >= s.cfg.max_peers) {
        // Every entry has RPCs: a finished reply to a silent peer may go (fair_share.cc),
        // else the new peer waits until RPCs end (they all do, in time: timer.cc).
        if (s.idle_head == kNil && !evict_unacked(s, true)) return kNil;
        release_peer(s, s.idle_head);
    }
    if (s.free_peers != kNil) {
        i = s.free_peers;
        s.free_peers = s.peers[i].idle_next;
    } else {
        i = static_cast<uint32_t>(s.peers.size());
        s.peers.emplace_back();  // within the reservation: no reallocation
    }
    if (!s.peer_index.insert({ip}, i)) {
        s.peers[i].idle_next = s.free_peers;
        s.free_peers = i;
        return kNil;
    }
    Peer &p = s.peers[i];
    p = Peer{};
    p.ip = ip;
    p.key_bits = rpc_key_bits(ip.fold32());
    p.in_use = true;
    p.heard = s.quiet;
    s.peer_hint = i;  // the packets after a new peer's first are mostly its own
    s.peer_hint_ip = ip;
    ++s.live_peers;
    ++s.stats.peers_created;
    // Idle until something holds it: a peer made for a packet that then creates nothing is
    // the first to go.
    idle_append(s, i);
    return i;
}

void peer_rpc_added(State &s, uint32_t pi) {
    Peer &p = s.peers[pi];
    ++p.rpcs;
    idle_unlink(s, pi);
}

void peer_rpc_removed(State &s, uint32_t pi) {
    assert(s.peers[pi].rpcs > 0);
    --s.peers[pi].rpcs;
    peer_maybe_idle(s, pi);
}

void peer_maybe_idle(State &s, uint32_t pi) {
    Peer &p = s.peers[pi];
    if (p.idle || p.rpcs != 0 || p.num_acks != 0 || p.ack_listed) return;
    idle_append(s, pi);
}

void reclaim_idle_peers(State &s) {
    while (s.idle_head != kNil) {
        const Peer &p = s.peers[s.idle_head];
        if (s.tick - p.idle_since < s.cfg.peer_idle_ticks) return;
        release_peer(s, s.idle_head);
    }
}

}  // namespace homa::detail
