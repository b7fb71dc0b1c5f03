// The RPC table and the helpers every part of the engine shares: lookup by (id, peer), taking
// and giving back slots of State::rpcs (the free chain is first built by State's constructor,
// engine.cc), state changes, the sockets' ready lists, and the queue of packets to send.
#include <algorithm>
#include <cassert>

#include "engine_state.h"
#include "homa/mem/prefetch.h"
#include "homa/proto/rpc_id.h"

namespace homa {

namespace detail {

Rpc *find_rpc_of(State &s, uint64_t local_id, uint32_t peer) {
    if (peer == kNil) return nullptr;
    uint32_t i = s.rpc_index.find({local_id, peer, s.peers[peer].key_bits});
    return i == kNil ? nullptr : &s.rpcs[i];
}

Rpc *find_rpc(State &s, uint64_t local_id, const IpAddress &peer_ip) {
    return find_rpc_of(s, local_id, find_peer(s, peer_ip));
}

namespace {

// The slot the next new_rpc takes, asked for now so that its writes find it in cache: the
// lines it resets and the first two of `copy`, where a short message's bytes go. Freed slots
// are reused last-in first-out, but a closed loop with 10^5 RPCs in flight frees hundreds per
// poll before it sends again, and `copy` was last written when the slot's previous message
// was sent, 10^5 RPCs ago. Without it, send_request_as waited on those stores: 76 cycles per
// RPC of the memif client's at 10^5 (perf, nineteenth session).
void prefetch_fresh_slot(const State &s, uint32_t idx) {
    s.rpcs[idx].prefetch_hot();
    const auto *copy = reinterpret_cast<const char *>(s.rpcs[idx].bulk.copy);
    mem::prefetch_for_write(copy);
    mem::prefetch_for_write(copy + 64);
}

}  // namespace

uint32_t new_rpc(State &s, RpcState st, uint64_t id, uint32_t peer, uint16_t peer_port,
                 uint32_t socket) {
    if (s.free_rpcs == kNil) return kNil;
    uint32_t idx = s.free_rpcs;
    Rpc &r = s.rpcs[idx];
    RpcKey key{id, peer, s.peers[peer].key_bits};
    if (!s.rpc_index.insert(key, idx)) return kNil;
    s.free_rpcs = r.next_free;
    if (s.free_rpcs != kNil) prefetch_fresh_slot(s, s.free_rpcs);
    s.rpcs_high_water = std::max(s.rpcs_high_water, idx + 1);
    r.reset();
    r.state = st;
    r.key = key;
    r.peer_port = peer_port;
    r.socket = socket;
    r.heard = s.quiet;
    if (wire::is_server_id(id)) ++s.peers[peer].server_rpcs;
    peer_rpc_added(s, peer);
    ++s.live_rpcs;
    return idx;
}

void set_state(State &s, Rpc &r, RpcState st) {
    if (r.state == st) return;
    if (r.state == RpcState::kAwaitAck) {
        --s.peers[r.key.peer].unacked;
        await_unlink(s, index_of(s, r));
    }
    if (st == RpcState::kAwaitAck) {
        ++s.peers[r.key.peer].unacked;
        await_link(s, index_of(s, r));
    }
    r.state = st;
}

void detach_rpc(State &s, uint32_t idx) {
    Rpc &r = s.rpcs[idx];
    release_in(s, r);
    if (r.out.in_tx) [[unlikely]]
        withdraw_sent_now(s, r);
    release_out(s, r);
    grantable_remove(s, idx);
    inbound_remove(s, idx);
    if (r.out.sendable) sendable_remove(s, idx);
    if (r.in.waiting) waiter_remove(s, idx);
    unwatch(s, idx);
}

void free_rpc(State &s, uint32_t idx) {
    Rpc &r = s.rpcs[idx];
    assert(r.state != RpcState::kFree);
    detach_rpc(s, idx);
    if (r.on_ready) {
        Socket &sock = s.sockets[r.socket];
        ready_remove(wire::is_server_id(r.key.id) ? sock.requests : sock.responses, s, idx);
    }
    if (wire::is_server_id(r.key.id)) --s.peers[r.key.peer].server_rpcs;
    set_state(s, r, RpcState::kFree);
    peer_rpc_removed(s, r.key.peer);
    s.rpc_index.erase(r.key);
    r.next_free = s.free_rpcs;
    s.free_rpcs = idx;
    --s.live_rpcs;
}

TxPacket *push_tx(State &s, const IpAddress &dst_ip, uint8_t priority) {
    if (s.tx.size() >= s.cfg.tx_queue_packets) return nullptr;
    TxPacket &p = s.tx.emplace_back();
    p.dst_ip = dst_ip;
    p.priority = priority;
    return &p;
}

void fail_client_rpc(State &s, uint32_t idx, int error) {
    Rpc &r = s.rpcs[idx];
    assert(wire::is_client_id(r.key.id) && r.state != RpcState::kReady);
    detach_rpc(s, idx);
    r.error = error;
    r.state = RpcState::kReady;
    ready_push(s.sockets[r.socket].responses, s, idx);
}

void ready_push(ReadyList &l, State &s, uint32_t idx) {
    ++s.stats.messages_ready;
    s.rpcs[idx].next_ready = kNil;
    s.rpcs[idx].on_ready = true;
    if (l.tail == kNil) {
        l.head = idx;
    } else {
        s.rpcs[l.tail].next_ready = idx;
    }
    l.tail = idx;
}

void ready_remove(ReadyList &l, State &s, uint32_t idx) {
    uint32_t prev = kNil;
    if (!s.rpcs[idx].on_ready) return;
    s.rpcs[idx].on_ready = false;
    for (uint32_t i = l.head; i != kNil; prev = i, i = s.rpcs[i].next_ready) {
        if (i != idx) continue;
        uint32_t next = s.rpcs[i].next_ready;
        if (prev == kNil) {
            l.head = next;
        } else {
            s.rpcs[prev].next_ready = next;
        }
        if (l.tail == idx) l.tail = prev;
        return;
    }
}

uint16_t local_port(const State &s, const Rpc &r) { return s.sockets[r.socket].port; }

}  // namespace detail

}  // namespace homa
