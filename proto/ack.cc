// Acknowledgements and cutoffs: what lets a server forget a finished RPC, and what tells a
// sender which priorities to use for unscheduled data.
//
// DESIGN NOTES: a client that has received a whole response records {client id, server port}
// in the server's peer entry; the record rides to the server in the `ack` field of the next
// DATA packet to it (as in Linux Homa). Linux sends an ACK packet as soon as five are pending;
// a closed loop that takes a batch of responses before sending its next requests then sends an
// ACK packet for every six RPCs (measured: 0.16 control packets per RPC). Here up to
// kPendingAcks (256, a worker's whole RX budget of responses: with half that, a poll that
// completed 256 responses sent half their acks alone, 0.08 control packets per RPC over memif)
// wait, so that the next requests carry them, unless the replies they let the server free pass
// kPendingAckBytes (4 MB): the server holds each reply until its ack arrives, and 256 acks of
// 1 MB replies would pin 256 MB of its buffers, so past that the newest go out at once. Whatever is
// still pending at the next timer tick goes out in ACK packets of six, well before the server's
// NEED_ACK (request_ack_ticks). A NEED_ACK is answered with its own id plus up to five pending. The
// server keeps a finished reply (it may have to be resent) until that ack arrives. Pending acks
// live in blocks from a small shared pool (a peer holds one only while it has pending acks), so a
// peer entry stays small; when none is free the ack goes out at once in an ACK packet of its own. A
// NEED_ACK from a host that is not a peer is still answered (the client has nothing of that RPC: it
// is done) but creates no peer entry. CUTOFFS go to a peer whose DATA shows an outdated
// cutoff_version, at most once per timer tick per peer.
#include <algorithm>

#include "engine_state.h"
#include "homa/proto/rpc_id.h"

namespace homa::detail {

namespace {

// Frees our server RPC `client_id` (as the client numbers it) of `peer`; false if we have none.
bool free_acked(State &s, uint64_t client_id, uint32_t peer) {
    Rpc *r = find_rpc_of(s, wire::local_id(client_id), peer);
    if (r == nullptr || !wire::is_server_id(r->key.id)) return false;
    heard_peer(s, *r);
    ++s.stats.server_rpcs_completed;
    free_rpc(s, static_cast<uint32_t>(r - s.rpcs.data()));
    return true;
}

}  // namespace

void handle_ack_entry(State &s, const wire::AckEntry &a, uint32_t peer, const IpAddress &src) {
    const uint64_t id = a.client_id.get();
    if (free_acked(s, id, peer) || s.cfg.stray_ack_capacity == 0) return;  // acks repeat
    // Maybe another engine of this host owns it: the owner passes it on (apply_ack).
    if (s.stray_acks.size() == s.cfg.stray_ack_capacity) {
        ++s.stats.acks_strayed_dropped;
        return;
    }
    ++s.stats.acks_strayed;
    s.stray_acks.push_back({src, id});
}

void handle_ack(State &s, const wire::PacketView &v) {
    const wire::AckHeader &h = *v.ack();
    uint32_t peer = find_peer(s, v.src_addr());
    // The packet's own sender_id is acknowledged too (steering brought it to its owner, so a
    // miss is a repeat), then the listed ones.
    free_acked(s, h.common.sender_id.get(), peer);
    for (uint16_t i = 0; i < h.num_acks.get(); ++i) {
        handle_ack_entry(s, h.acks[i], peer, v.src_addr());
    }
}

namespace {

AckBlock &block_of(State &s, const Peer &p) { return s.ack_blocks[p.ack_block]; }

// Takes the `n` newest pending acks off the peer's count (the caller has sent them).
void drop_newest(State &s, Peer &p, uint32_t n) {
    const AckBlock &b = block_of(s, p);
    for (uint32_t i = 0; i < n; ++i) p.ack_bytes -= b.reply_bytes[p.num_acks - 1 - i];
    p.num_acks -= n;
}

// Returns the peer's block to the pool once it has no pending acks.
void maybe_release_block(State &s, uint32_t peer_idx) {
    Peer &p = s.peers[peer_idx];
    if (p.num_acks != 0 || p.ack_block == kNil) return;
    s.ack_blocks[p.ack_block].next_free = s.free_ack_blocks;
    s.free_ack_blocks = p.ack_block;
    p.ack_block = kNil;
}

// Sends up to 1 + kMaxAcks of the peer's pending acks in one ACK packet (the first as the
// packet's own id), newest first. Returns false if the TX queue was full.
bool send_ack_packet(State &s, uint32_t peer_idx, uint64_t now_ns) {
    Peer &peer = s.peers[peer_idx];
    uint32_t n = peer.num_acks;
    if (n == 0) return true;
    AckBlock &b = block_of(s, peer);
    const wire::Ack &self = b.acks[n - 1];
    wire::Acks a{.common = {.sport = b.client_port[n - 1],
                            .dport = self.server_port,
                            .sender_id = self.client_id},
                 .num_acks = 0,
                 .acks = {}};
    uint32_t take = std::min<uint32_t>(n - 1, wire::kMaxAcks);
    for (uint32_t i = 0; i < take; ++i) a.acks[i] = b.acks[n - 2 - i];
    a.num_acks = static_cast<uint16_t>(take);
    if (!push_control(s, peer.ip, a, wire::PacketType::kAck, now_ns)) return false;
    drop_newest(s, peer, 1 + take);
    maybe_release_block(s, peer_idx);
    return true;
}

}  // namespace

void handle_need_ack(State &s, const wire::PacketView &v, uint64_t now_ns) {
    const wire::CommonHeader &h = v.common();
    uint64_t id = wire::local_id(h.sender_id.get());
    if (!wire::is_client_id(id)) return;
    Rpc *r = find_rpc(s, id, v.src_addr());
    // Only a client that has the whole response (or has forgotten the RPC) may acknowledge.
    if (r != nullptr) heard_peer(s, *r);
    if (r != nullptr && r->state == RpcState::kClientIncoming) {
        // The server thinks it is done, but part of the response is missing here: the
        // answer is a request for it (the server drops an RPC whose probes go unanswered).
        heard_rpc(s, *r);
        request_retransmission(s, *r, now_ns);
        return;
    }
    if (r != nullptr && r->state != RpcState::kReady) return;
    // The asked-for id goes first, with whatever else is pending for this server.
    wire::Acks a{.common = {.sport = h.dport.get(), .dport = h.sport.get(), .sender_id = id},
                 .num_acks = 0,
                 .acks = {}};
    uint32_t peer_idx = find_peer(s, v.src_addr());
    uint32_t take = 0;
    if (peer_idx != kNil && s.peers[peer_idx].num_acks > 0) {
        const Peer &peer = s.peers[peer_idx];
        const AckBlock &b = block_of(s, peer);
        take = std::min<uint32_t>(peer.num_acks, wire::kMaxAcks);
        for (uint32_t i = 0; i < take; ++i) a.acks[i] = b.acks[peer.num_acks - 1 - i];
    }
    a.num_acks = static_cast<uint16_t>(take);
    if (push_control(s, v.src_addr(), a, wire::PacketType::kAck, now_ns) && take > 0) {
        drop_newest(s, s.peers[peer_idx], take);
        maybe_release_block(s, peer_idx);
        peer_maybe_idle(s, peer_idx);
    }
}

void add_peer_ack(State &s, uint32_t peer_idx, uint64_t client_id, uint32_t reply_bytes,
                  uint16_t server_port, uint16_t client_port, uint64_t now_ns) {
    Peer &peer = s.peers[peer_idx];
    if (peer.ack_block == kNil) {
        if (s.free_ack_blocks == kNil) {
            // Every block is in use this tick: this ack goes alone, now (if the TX queue is
            // full too, the server recovers it with NEED_ACK).
            ++s.stats.ack_blocks_exhausted;
            wire::Acks a{
                .common = {.sport = client_port, .dport = server_port, .sender_id = client_id},
                .num_acks = 0,
                .acks = {}};
            push_control(s, peer.ip, a, wire::PacketType::kAck, now_ns);
            return;
        }
        peer.ack_block = s.free_ack_blocks;
        s.free_ack_blocks = s.ack_blocks[peer.ack_block].next_free;
    }
    AckBlock &b = block_of(s, peer);
    if (peer.num_acks == kPendingAcks && !send_ack_packet(s, peer_idx, now_ns)) {
        // TX queue full: drop the oldest; the server recovers it with NEED_ACK.
        peer.ack_bytes -= b.reply_bytes[0];
        std::copy(b.acks + 1, b.acks + kPendingAcks, b.acks);
        std::copy(b.client_port + 1, b.client_port + kPendingAcks, b.client_port);
        std::copy(b.reply_bytes + 1, b.reply_bytes + kPendingAcks, b.reply_bytes);
        --peer.num_acks;
    }
    if (peer.ack_block == kNil) {  // the send emptied and released it: take it back
        peer.ack_block = s.free_ack_blocks;
        s.free_ack_blocks = s.ack_blocks[peer.ack_block].next_free;
    }
    AckBlock &blk = block_of(s, peer);
    blk.acks[peer.num_acks] = {client_id, server_port};
    blk.client_port[peer.num_acks] = client_port;
    blk.reply_bytes[peer.num_acks] = reply_bytes;
    ++peer.num_acks;
    peer.ack_bytes += reply_bytes;
    // The server holds each reply until its ack arrives: past kPendingAckBytes of them the
    // newest leave now rather than with the next requests (a full TX queue leaves them for the
    // tick's flush).
    while (peer.ack_bytes > kPendingAckBytes && send_ack_packet(s, peer_idx, now_ns)) {
        ++s.stats.ack_packets_for_bytes;
    }
    if (!peer.ack_listed) {
        peer.ack_listed = true;
        s.ack_peers.push_back(peer_idx);
    }
}

wire::Ack take_peer_ack(State &s, uint32_t peer_idx) {
    Peer &peer = s.peers[peer_idx];
    if (peer.num_acks == 0) return {};
    wire::Ack a = block_of(s, peer).acks[peer.num_acks - 1];
    drop_newest(s, peer, 1);
    maybe_release_block(s, peer_idx);
    return a;
}

void flush_peer_acks(State &s, uint64_t now_ns) {
    for (uint32_t p : s.ack_peers) {
        while (s.peers[p].num_acks > 0 && send_ack_packet(s, p, now_ns)) ++s.stats.ack_flushes;
        s.peers[p].ack_listed = s.peers[p].num_acks > 0;
    }
    std::erase_if(s.ack_peers, [&](uint32_t p) {
        if (s.peers[p].ack_listed) return false;
        peer_maybe_idle(s, p);
        return true;
    });
}

void handle_cutoffs(State &s, const wire::PacketView &v) {
    // Cutoffs matter only to a peer we send to (we have RPCs with it): never create one.
    uint32_t idx = find_peer(s, v.src_addr());
    if (idx == kNil) {
        ++s.stats.drops[static_cast<size_t>(EngineDrop::kUnknownRpc)];
        return;
    }
    Peer &peer = s.peers[idx];
    const wire::CutoffsHeader &h = *v.cutoffs();
    for (size_t i = 0; i < wire::kNumPriorities; ++i) peer.cutoffs[i] = h.unsched_cutoffs[i].get();
    peer.cutoff_version = h.cutoff_version.get();
}

void maybe_send_cutoffs(State &s, uint32_t peer_idx, uint16_t their_version, uint16_t their_port,
                        uint16_t our_port, uint64_t our_id, uint64_t now_ns) {
    if (their_version == s.cfg.cutoff_version) return;
    Peer &peer = s.peers[peer_idx];
    if (peer.cutoffs_sent_tick == s.tick) return;
    wire::Cutoffs c{.common = {.sport = our_port, .dport = their_port, .sender_id = our_id},
                    .unsched_cutoffs = s.cfg.unsched_cutoffs,
                    .cutoff_version = s.cfg.cutoff_version};
    if (push_control(s, peer.ip, c, wire::PacketType::kCutoffs, now_ns)) {
        peer.cutoffs_sent_tick = s.tick;
        ++s.stats.cutoffs_sent;
    }
}

}  // namespace homa::detail

namespace homa {

bool Engine::apply_ack(const IpAddress &peer, uint64_t client_id) noexcept {
    detail::State &s = *s_;
    // No peer entry: this engine never had an RPC of that client, or freed its last one.
    uint32_t pi = detail::find_peer(s, peer);
    if (pi != detail::kNil && detail::free_acked(s, client_id, pi)) {
        ++s.stats.acks_applied;
        return true;
    }
    ++s.stats.acks_applied_stale;
    return false;
}

}  // namespace homa
