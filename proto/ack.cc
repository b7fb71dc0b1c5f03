// Acknowledgements and cutoffs: what lets a server forget a finished RPC, and what tells a
// sender which priorities to use for unscheduled data.
//
// DESIGN NOTES (as in Linux Homa): a client that has received a whole response records
// {client id, server port} in the server's peer entry; the record rides to the server in the
// `ack` field of the next DATA packet to it, or in an ACK packet once five are pending, or in
// answer to the server's NEED_ACK. The server keeps a finished reply (it may have to be resent)
// until that ack arrives. CUTOFFS go to a peer whose DATA shows an outdated cutoff_version, at
// most once per timer tick per peer.
#include "engine_state.h"
#include "homa/proto/rpc_id.h"

namespace homa::detail {

void handle_ack_entry(State &s, const wire::AckEntry &a, uint32_t src_ip) {
    Rpc *r = find_rpc(s, wire::local_id(a.client_id.get()), src_ip);
    if (r == nullptr || !wire::is_server_id(r->key.id)) return;  // already gone: acks repeat
    heard_peer(s, *r);
    ++s.stats.server_rpcs_completed;
    free_rpc(s, static_cast<uint32_t>(r - s.rpcs.data()));
}

void handle_ack(State &s, const wire::PacketView &v) {
    const wire::AckHeader &h = *v.ack();
    // The packet's own sender_id is acknowledged too, then the listed ones.
    wire::AckEntry self{};
    self.client_id = h.common.sender_id;
    self.server_port = h.common.dport;
    handle_ack_entry(s, self, v.src_ip());
    for (uint16_t i = 0; i < h.num_acks.get(); ++i) handle_ack_entry(s, h.acks[i], v.src_ip());
}

namespace {

void send_acks(State &s, uint32_t peer_idx, uint64_t client_id, uint16_t client_port,
               uint16_t server_port, uint64_t now_ns) {
    Peer &peer = s.peers[peer_idx];
    wire::Acks a{.common = {.sport = client_port, .dport = server_port, .sender_id = client_id},
                 .num_acks = static_cast<uint16_t>(peer.num_acks),
                 .acks = {}};
    for (uint32_t i = 0; i < peer.num_acks; ++i) a.acks[i] = peer.acks[i];
    if (push_control(s, peer.ip, a, wire::PacketType::kAck, now_ns)) peer.num_acks = 0;
}

}  // namespace

void handle_need_ack(State &s, const wire::PacketView &v, uint64_t now_ns) {
    const wire::CommonHeader &h = v.common();
    uint64_t id = wire::local_id(h.sender_id.get());
    if (!wire::is_client_id(id)) return;
    Rpc *r = find_rpc(s, id, v.src_ip());
    // Only a client that has the whole response (or has forgotten the RPC) may acknowledge.
    if (r != nullptr) heard_peer(s, *r);
    if (r != nullptr && r->state != RpcState::kReady) return;
    uint32_t peer = get_peer(s, v.src_ip());
    if (peer == kNil) return;
    send_acks(s, peer, id, h.dport.get(), h.sport.get(), now_ns);
}

void add_peer_ack(State &s, uint32_t peer_idx, uint64_t client_id, uint16_t server_port,
                  uint16_t client_port, uint64_t now_ns) {
    Peer &peer = s.peers[peer_idx];
    if (peer.num_acks < wire::kMaxAcks) {
        peer.acks[peer.num_acks++] = {client_id, server_port};
        return;
    }
    // Five already wait: send them all, with this one as the packet's own id.
    send_acks(s, peer_idx, client_id, client_port, server_port, now_ns);
}

wire::Ack take_peer_ack(State &s, uint32_t peer_idx) {
    Peer &peer = s.peers[peer_idx];
    if (peer.num_acks == 0) return {};
    return peer.acks[--peer.num_acks];
}

void handle_cutoffs(State &s, const wire::PacketView &v) {
    uint32_t idx = get_peer(s, v.src_ip());
    if (idx == kNil) {
        ++s.stats.drops[static_cast<size_t>(EngineDrop::kPeerTableFull)];
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
