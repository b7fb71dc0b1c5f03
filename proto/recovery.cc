// Loss recovery packets: RESEND (receiver asks for missing bytes, or a client probes for its
// response), BUSY ("alive, not sending to you now") and RPC_UNKNOWN ("I have no such RPC").
//
// DESIGN NOTES (after Linux Homa's homa_resend_pkt / homa_rpc_unknown_pkt, same wire meaning):
// - A RESEND names [offset, offset + length) of the message its receiver is sending us;
//   length kResendAll means "everything from offset on". We retransmit the part we already
//   sent once; the rest we have not sent yet, and answer BUSY so the receiver knows we are
//   alive. A server that has no reply yet (the application is still working) answers BUSY.
// - A RESEND implies a grant of its range (as in Linux: the receiver asks only for bytes it
//   granted), so a lost GRANT is recovered by the receiver's next RESEND without a separate
//   grant-retransmission mechanism.
// - RESEND for an RPC we do not have is answered RPC_UNKNOWN. A client that gets RPC_UNKNOWN
//   while still in kClientOutgoing (the server never saw the request, or lost it) sends again
//   everything it had sent: the restart. In any later state the server must have had the
//   request, so a stray RPC_UNKNOWN (delayed, or duplicated) is ignored as Linux does; if the
//   server really forgot, the RESENDs keep failing and the client times out (RPC_UNKNOWN is not
//   a sign of life). A server RPC that gets RPC_UNKNOWN is freed: the client forgot it (it
//   aborted, or acknowledged and the ACK was lost).
// - BUSY only ever answers a RESEND (as in Linux): a side that is the reason nothing arrives
//   (no bpages, no grant yet) sends nothing on its own; the waiting side probes it (timer.cc)
//   and the answer keeps the RPC alive. A server whose reply waits for grants probes its
//   client with an empty RESEND at the end of the request, which a client answers with BUSY.
#include <algorithm>

#include "engine_state.h"
#include "homa/proto/encode.h"
#include "homa/proto/rpc_id.h"

namespace homa::detail {
namespace {

// Answers a packet about an RPC we do not have.
void send_rpc_unknown(State &s, const wire::PacketView &v, uint64_t now_ns) {
    const wire::CommonHeader &h = v.common();
    wire::Bare b{.type = wire::PacketType::kRpcUnknown,
                 .common = {.sport = h.dport.get(),
                            .dport = h.sport.get(),
                            .sender_id = wire::local_id(h.sender_id.get())}};
    if (push_control(s, v.src_addr(), b, wire::PacketType::kRpcUnknown, now_ns)) {
        ++s.stats.rpc_unknown_sent;
        HOMA_TT(s.tt, "tx RPC_UNKNOWN id %u to 0x%x",
                static_cast<uint32_t>(wire::local_id(h.sender_id.get())), v.src_addr().low_word());
    }
}

// A probe asks for this much; the sender always answers with at least one whole packet.
constexpr uint32_t kProbeBytes = 100;

void busy_for(State &s, Rpc &r, uint64_t now_ns) {
    send_busy(s, s.peers[r.key.peer].ip, local_port(s, r), r.peer_port, r.key.id, now_ns);
}

}  // namespace

void send_busy(State &s, const IpAddress &dst_ip, uint16_t sport, uint16_t dport, uint64_t id,
               uint64_t now_ns) {
    wire::Bare b{.type = wire::PacketType::kBusy,
                 .common = {.sport = sport, .dport = dport, .sender_id = id}};
    if (push_control(s, dst_ip, b, wire::PacketType::kBusy, now_ns)) {
        ++s.stats.busy_sent;
        HOMA_TT(s.tt, "tx BUSY id %u", static_cast<uint32_t>(id));
    }
}

void send_resend(State &s, Rpc &r, uint32_t offset, uint32_t length, uint64_t now_ns) {
    // Retransmissions are what the receiver waits for: ask for the highest priority.
    wire::Resend rs{
        .common = {.sport = local_port(s, r), .dport = r.peer_port, .sender_id = r.key.id},
        .offset = offset,
        .length = length,
        .priority = static_cast<uint8_t>(s.cfg.num_priorities - 1)};
    if (push_control(s, s.peers[r.key.peer].ip, rs, wire::PacketType::kResend, now_ns)) {
        ++s.stats.resends_sent;
        HOMA_TT(s.tt, "tx RESEND id %u offset %u length %u silent %u",
                static_cast<uint32_t>(r.key.id), offset, length,
                static_cast<uint32_t>(s.quiet - r.heard));
    }
}

void request_retransmission(State &s, Rpc &r, uint64_t now_ns) {
    const MsgIn &in = r.in;
    if (in.length == 0) {
        // Nothing of the response yet (the request was sent, or waits for grants): probe for
        // its first packet only, as Linux does. The server retransmits that packet (then we
        // know the length and ask for exact ranges), answers BUSY, or answers RPC_UNKNOWN if
        // the request never arrived, which restarts it. Asking for everything here turned a
        // slow path into a retransmission storm: each probe re-sent a whole reply that was
        // still queued on its way.
        send_resend(s, r, 0, kProbeBytes, now_ns);
        ++s.stats.resend_probes_sent;
        return;
    }
    for (uint32_t i = 0; i < in.num_gaps; ++i) {
        send_resend(s, r, r.bulk.gaps[i].start, r.bulk.gaps[i].end - r.bulk.gaps[i].start, now_ns);
    }
    if (in.recv_end < in.granted) send_resend(s, r, in.recv_end, in.granted - in.recv_end, now_ns);
}

void handle_resend(State &s, const wire::PacketView &v, uint64_t now_ns) {
    const wire::ResendHeader &h = *v.resend();
    Rpc *r = find_rpc(s, wire::local_id(h.common.sender_id.get()), v.src_addr());
    if (r == nullptr) {
        count_drop(s, EngineDrop::kUnknownRpc);
        send_rpc_unknown(s, v, now_ns);
        return;
    }
    heard_rpc(s, *r);
    bool server = wire::is_server_id(r->key.id);
    if (server && r->state != RpcState::kServerOutgoing && r->state != RpcState::kAwaitAck) {
        busy_for(s, *r, now_ns);  // no reply yet: the application is working on it
        return;
    }
    if (!server && r->state != RpcState::kClientOutgoing) {
        // The response has begun, so the whole request arrived. A server whose reply waits
        // for our grants asks whether we live (timer.cc): yes, and the reply is in progress.
        if (r->state == RpcState::kClientIncoming) {
            busy_for(s, *r, now_ns);
            return;
        }
        count_drop(s, EngineDrop::kUnexpectedState);  // a stale RESEND
        return;
    }
    MsgOut &out = r->out;
    uint32_t offset = std::min(h.offset.get(), out.length);
    uint32_t length = h.length.get();
    uint32_t end =
        length == wire::kResendAll || length > out.length - offset ? out.length : offset + length;
    if (length != wire::kResendAll && end > out.granted) {
        out.granted = end;  // the receiver asks only for bytes it has granted
        sendable_add(s, index_of(s, *r));
    }
    uint32_t sent_end = std::min(end, out.next_xmit);
    if (offset < sent_end) retransmit(s, *r, offset, sent_end, h.priority, now_ns);
    // The rest has not been sent yet (or nothing was asked for at all): we are alive.
    if (end > out.next_xmit || offset >= out.next_xmit) busy_for(s, *r, now_ns);
}

void handle_busy(State &s, const wire::PacketView &v) {
    Rpc *r = find_rpc(s, wire::local_id(v.common().sender_id.get()), v.src_addr());
    if (r == nullptr) {
        count_drop(s, EngineDrop::kUnknownRpc);
        return;
    }
    heard_rpc(s, *r);
}

void handle_rpc_unknown(State &s, const wire::PacketView &v, uint64_t now_ns) {
    Rpc *r = find_rpc(s, wire::local_id(v.common().sender_id.get()), v.src_addr());
    if (r == nullptr) {
        count_drop(s, EngineDrop::kUnknownRpc);
        return;
    }
    uint32_t idx = index_of(s, *r);
    if (wire::is_server_id(r->key.id)) {
        ++s.stats.server_rpcs_forgotten;
        free_rpc(s, idx);
        return;
    }
    if (r->state != RpcState::kClientOutgoing) {
        // Ignored as in Linux (it may be stale), but it is no sign of life: if the peer keeps
        // disowning the RPC while it hears nothing else of it, it times out (timer.cc).
        r->disowned = true;
        count_drop(s, EngineDrop::kUnexpectedState);
        return;
    }
    // The server has nothing of the request: send again everything sent so far, at the
    // priority its unscheduled bytes use.
    ++s.stats.client_rpcs_restarted;
    HOMA_TT(s.tt, "restart id %u: the server has no such RPC", static_cast<uint32_t>(r->key.id));
    retransmit(s, *r, 0, r->out.next_xmit, r->out.unsched_priority, now_ns);
}

}  // namespace homa::detail
