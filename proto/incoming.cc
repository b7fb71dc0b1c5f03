// Receive pipeline: DATA packets, in any order and possibly duplicated, go straight into the
// message's bpages; a complete message is queued on its socket for recv().
//
// DESIGN NOTES: received ranges are tracked like Linux's homa_gap list: `recv_end` is one past
// the highest byte seen and `gaps` lists the holes below it. A packet is new only if it lies
// entirely at or beyond recv_end or entirely inside one gap; anything else is a duplicate (the
// sender always segments a message the same way, so partial overlaps do not occur on a sane
// network and are safely counted as duplicates). The gap list is fixed-size: a packet that would
// open a 17th hole is dropped (counted) and will be resent, which keeps this path allocation-free.
//
// Buffer exhaustion (as Linux's homa_pool queue): a message whose first packet finds the pool
// exhausted keeps its RPC, with its length and granted bytes known but no bpages, on
// `buffer_waiters` in order of length (shortest first; a new message longer than the shortest
// waiter queues without trying, so small messages are not starved by large ones and vice
// versa). It gets no grants and its DATA is dropped (counted kNoBuffers). When bpages return
// (poll() sees the pool's generation move, or the engine released some itself) the waiters
// are served shortest first until one does not fit; each then asks for [0, granted) with a
// RESEND at once, so what was dropped comes back without waiting for a timeout.
#include <algorithm>
#include <cstring>

#include "engine_state.h"
#include "homa/proto/rpc_id.h"

namespace homa::detail {
namespace {

enum class Accept { kNew, kDuplicate, kTooManyGaps };

Accept accept_range(Rpc &r, uint32_t off, uint32_t len) {
    MsgIn &in = r.in;
    Gap *gaps = r.bulk.gaps;
    uint32_t end = off + len;
    if (off >= in.recv_end) {
        if (off > in.recv_end) {
            if (in.num_gaps == kMaxGaps) return Accept::kTooManyGaps;
            gaps[in.num_gaps++] = {in.recv_end, off};
        }
        in.recv_end = end;
        return Accept::kNew;
    }
    for (uint32_t i = 0; i < in.num_gaps; ++i) {
        Gap &g = gaps[i];
        if (off < g.start || end > g.end) continue;
        if (off == g.start && end == g.end) {
            std::copy(gaps + i + 1, gaps + in.num_gaps, gaps + i);
            --in.num_gaps;
        } else if (off == g.start) {
            g.start = end;
        } else if (end == g.end) {
            g.end = off;
        } else {
            if (in.num_gaps == kMaxGaps) return Accept::kTooManyGaps;
            std::copy_backward(gaps + i + 1, gaps + in.num_gaps, gaps + in.num_gaps + 1);
            gaps[i + 1] = {end, g.end};
            g.end = off;
            ++in.num_gaps;
        }
        return Accept::kNew;
    }
    return Accept::kDuplicate;
}

void copy_into_bpages(State &s, const Rpc &r, uint32_t off, std::span<const uint8_t> data) {
    while (!data.empty()) {
        uint32_t page = off >> wire::kBpageShift;
        uint32_t within = off & (wire::kBpageSize - 1);
        uint32_t chunk =
            std::min<uint32_t>(static_cast<uint32_t>(data.size()), wire::kBpageSize - within);
        std::memcpy(s.pool.base + r.bulk.bpages[page] + within, data.data(), chunk);
        data = data.subspan(chunk);
        off += chunk;
    }
}

// Finds or (for a request to a bound port) creates the RPC a DATA packet belongs to; `known`
// is the sender's peer slot if it has one (kNil: none yet).
uint32_t rpc_for_data(State &s, const wire::DataHeader &h, const IpAddress &src_ip, uint32_t known,
                      uint64_t now_ns) {
    uint64_t id = wire::local_id(h.common.sender_id.get());
    if (Rpc *r = find_rpc_of(s, id, known)) return static_cast<uint32_t>(r - s.rpcs.data());
    if (wire::is_client_id(id)) {
        count_drop(s, EngineDrop::kUnknownRpc);  // a response for an RPC we no longer have
        return kNil;
    }
    uint16_t dport = h.common.dport.get();
    uint32_t sock = dport < wire::kFirstClientPort ? s.socket_by_port[dport] : kNil;
    if (sock == kNil) {
        count_drop(s, EngineDrop::kNoSocket);
        return kNil;
    }
    uint32_t peer = known != kNil ? known : get_peer(s, src_ip);
    if (peer == kNil) {
        count_drop(s, EngineDrop::kPeerTableFull);
        return kNil;
    }
    const Peer &p = s.peers[peer];
    const EngineConfig &c = s.cfg;
    if ((c.max_peer_server_rpcs && p.server_rpcs >= c.max_peer_server_rpcs) ||
        (c.max_peer_unacked && p.unacked >= c.max_peer_unacked)) {
        // Refused, not forgotten: BUSY keeps the client waiting; its probes (at most
        // resend_budget per peer per tick) find no RPC here and restart the request.
        count_drop(s, EngineDrop::kPeerLimit);
        send_busy(s, src_ip, dport, h.common.sport.get(), id, now_ns);
        return kNil;
    }
    if (!inbound_allowed(s, peer)) {
        // Beyond its share of RPC slots: dropped without an answer (an answer to a flood is
        // a reflection); a live client's probe gets RPC_UNKNOWN and restarts the request.
        count_drop(s, EngineDrop::kPeerShare);
        return kNil;
    }
    uint32_t idx = new_rpc(s, RpcState::kServerIncoming, id, peer, h.common.sport.get(), sock);
    if (idx == kNil && (evict_for(s, peer) || evict_unacked(s, false))) {
        idx = new_rpc(s, RpcState::kServerIncoming, id, peer, h.common.sport.get(), sock);
    }
    if (idx == kNil) {
        // The same at the hard limit: the client waits and retries at the probe rate.
        count_drop(s, EngineDrop::kRpcTableFull);
        send_busy(s, src_ip, dport, h.common.sport.get(), id, now_ns);
        return kNil;
    }
    // Not yet counted in the peer's fair share: handle_data adds it unless this first packet
    // completes it.
    ++s.stats.server_rpcs_started;
    return idx;
}

bool alloc_bpages(State &s, uint32_t idx) {
    MsgIn &in = s.rpcs[idx].in;
    int n = s.pool.alloc(s.pool.ctx, in.length, s.rpcs[idx].bulk.bpages);
    if (n <= 0) return false;
    in.num_bpages = static_cast<uint8_t>(n);  // at most kMaxBpages (PoolOps::alloc)
    s.held_bpages += in.num_bpages;
    inbound_bpages(s, idx, n);
    return true;
}

// Pool exhausted: a message from a peer within its share may take bpages from the heaviest
// peer's stalled messages (fair_share.cc), a few at most per message.
constexpr uint32_t kMaxEvictionsPerMessage = 4;

bool alloc_or_evict(State &s, uint32_t idx) {
    for (uint32_t i = 0;; ++i) {
        if (alloc_bpages(s, idx)) return true;
        if (i == kMaxEvictionsPerMessage || !wire::is_server_id(s.rpcs[idx].key.id) ||
            !evict_for(s, s.rpcs[idx].key.peer)) {
            return false;
        }
    }
}

// Waiters of a peer that holds more than its share queue behind everyone else's.
uint64_t waiter_key_of(const State &s, uint32_t idx) {
    const Rpc &r = s.rpcs[idx];
    // Every incoming request counts, also one whose first packet is waiting here and that
    // joins its peer's fair share (Rpc::inbound) only once that packet has been handled.
    bool heavy = r.state == RpcState::kServerIncoming && over_share(s, r.key.peer);
    return waiter_key(r) | (uint64_t{heavy} << 63);
}

void waiter_add(State &s, uint32_t idx) {
    s.buffer_waiters.push(idx, waiter_key_of(s, idx));
    s.rpcs[idx].in.waiting = true;
    ++s.stats.buffer_waits;
    HOMA_TT(s.tt, "pool wait id %u length %u waiters %u", s.rpcs[idx].key.id, s.rpcs[idx].in.length,
            static_cast<uint32_t>(s.buffer_waiters.size()));
}

// First packet of a message: learn its length, then bpages now or a place in the queue.
void start_in(State &s, uint32_t idx, const wire::DataHeader &h, uint64_t now_ns) {
    MsgIn &in = s.rpcs[idx].in;
    in.length = h.message_length.get();
    in.bytes_remaining = in.length;
    in.granted = std::min(in.length, h.incoming.get());
    in.seq = s.next_in_seq++;
    (void)now_ns;
    // A shorter message already waiting goes first (unless it belongs to a heavy peer).
    bool queue_first =
        !s.buffer_waiters.empty() && s.buffer_waiters.top_key() <= waiter_key(s.rpcs[idx]);
    if (queue_first || !alloc_or_evict(s, idx)) {
        waiter_add(s, idx);
        return;
    }
    if (in.granted < in.length) grantable_add(s, idx);
}

void complete_in(State &s, uint32_t idx) {
    Rpc &r = s.rpcs[idx];
    grantable_remove(s, idx);
    inbound_remove(s, idx);  // the application's now: never evicted
    // Nothing about it is owed by the peer any more. Left on the watch list, a queue of
    // unread messages would all come due in one tick (10^6 at a busy server: a 124 ms tick).
    unwatch(s, idx);
    r.state = RpcState::kReady;
    // A one-packet message completes at its rx DATA record: no second record for it.
    if (r.in.length > s.cfg.max_payload()) {
        HOMA_TT(s.tt, "msg complete id %u length %u", r.key.id, r.in.length);
    }
    Socket &sock = s.sockets[r.socket];
    ready_push(wire::is_server_id(r.key.id) ? sock.requests : sock.responses, s, idx);
}

// Takes one DATA packet's bytes into RPC idx's message (starting it on its first packet).
// True if the packet completed the message (complete_in ran); false otherwise, including when
// the packet was dropped or duplicated.
bool take_data(State &s, uint32_t idx, const wire::DataHeader &h, std::span<const uint8_t> payload,
               uint64_t now_ns) {
    Rpc &r = s.rpcs[idx];
    MsgIn &in = r.in;
    if (in.stalled) grant_unstalled(s, idx);
    if (in.length == 0) {
        start_in(s, idx, h, now_ns);
    } else if (h.message_length.get() != in.length) {
        count_drop(s, EngineDrop::kLengthMismatch);
        return false;
    }
    // The sender may announce more unscheduled bytes than we granted so far.
    uint32_t announced = std::min(in.length, h.incoming.get());
    bool more_granted = announced > in.granted;
    if (more_granted) in.granted = announced;
    if (in.waiting) {
        count_drop(s, EngineDrop::kNoBuffers);  // resent once the message has bpages
        return false;
    }

    uint32_t off = h.seg_offset.get();
    Accept accepted = accept_range(r, off, static_cast<uint32_t>(payload.size()));
    switch (accepted) {
        case Accept::kDuplicate:
        case Accept::kTooManyGaps:
            if (accepted == Accept::kDuplicate) {
                s.stats.duplicate_data_bytes += payload.size();
            } else {
                count_drop(s, EngineDrop::kTooManyGaps);
            }
            if (more_granted) grantable_received(s, idx);
            return false;
        case Accept::kNew: break;
    }
    copy_into_bpages(s, r, off, payload);
    in.bytes_remaining -= static_cast<uint32_t>(payload.size());
    if (in.bytes_remaining == 0) {
        complete_in(s, idx);
        return true;
    }
    grantable_received(s, idx);
    return false;
}

}  // namespace

void release_in(State &s, Rpc &r) {
    if (r.in.num_bpages == 0) return;
    inbound_bpages(s, index_of(s, r), -static_cast<int32_t>(r.in.num_bpages));
    s.pool.release(s.pool.ctx, r.bulk.bpages, r.in.num_bpages);
    s.held_bpages -= r.in.num_bpages;
    r.in.num_bpages = 0;
    s.pages_returned = true;
}

void waiter_remove(State &s, uint32_t idx) {
    s.buffer_waiters.erase(idx);
    s.rpcs[idx].in.waiting = false;
}

void retry_buffer_waiters(State &s, uint64_t now_ns) {
    bool changed = s.pages_returned;
    if (s.pool.generation != nullptr) {
        uint64_t g = s.pool.generation(s.pool.ctx);
        changed = changed || g != s.pool_generation;
        s.pool_generation = g;
    } else if (s.waiters_tick != s.tick) {
        changed = true;  // no way to know when pages return: try once per tick
    }
    s.waiters_tick = s.tick;
    s.pages_returned = false;
    if (!changed) return;
    while (!s.buffer_waiters.empty()) {
        uint32_t idx = s.buffer_waiters.top();
        Rpc &r = s.rpcs[idx];
        // Shortest first: a longer one fits no better. A light peer's waiter may take bpages
        // from a heavy peer's stalled messages (bounded: each eviction frees a message).
        if (!alloc_or_evict(s, idx)) break;
        s.buffer_waiters.pop();
        r.in.waiting = false;
        r.heard = s.quiet;  // the wait was ours, not the sender's silence
        ++s.stats.buffer_waits_resumed;
        HOMA_TT(s.tt, "pool resume id %u length %u", r.key.id, r.in.length);
        if (r.in.granted < r.in.length) grantable_add(s, idx);
        // Everything that arrived meanwhile was dropped: ask for it now.
        send_resend(s, r, 0, r.in.granted, now_ns);
        watch(s, idx);
    }
}

void handle_data(State &s, const wire::PacketView &v, uint64_t now_ns) {
    const wire::DataHeader &h = *v.data();
    const IpAddress src = v.src_addr();
    // One peer lookup serves the ack and the RPC: the ack may idle the peer, never free it.
    const uint32_t peer = find_peer(s, src);
    if (h.ack.client_id.get() != 0) handle_ack_entry(s, h.ack, peer, src);
    uint32_t idx = rpc_for_data(s, h, src, peer, now_ns);
    if (idx == kNil) return;
    Rpc &r = s.rpcs[idx];
    maybe_send_cutoffs(s, r.key.peer, h.cutoff_version.get(), h.common.sport.get(),
                       h.common.dport.get(), r.key.id, now_ns);

    if (r.state == RpcState::kClientOutgoing) {
        r.state = RpcState::kClientIncoming;  // the server answered: our request arrived whole
        if (r.out.sendable) sendable_remove(s, idx);
    } else if (r.state != RpcState::kClientIncoming && r.state != RpcState::kServerIncoming) {
        count_drop(s, EngineDrop::kUnexpectedState);  // e.g. a late retransmission
        return;
    }
    heard_rpc(s, r);
    if (take_data(s, idx, h, v.payload(), now_ns)) return;
    // Still arriving (or this packet was dropped): the timer watches what the peer owes (cheap
    // when already watched; it drops the RPC when nothing is owed), and a request counts in
    // its peer's fair share from now on (fair_share.cc). A message complete in its first
    // packet, most requests, never joins either: each join and leave is a heap update.
    watch(s, idx);
    if (r.state == RpcState::kServerIncoming && !r.inbound) inbound_add(s, idx);
}

}  // namespace homa::detail
