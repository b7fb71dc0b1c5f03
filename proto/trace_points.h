// Timetrace events of the engine that take more than one HOMA_TT line: what a received packet
// says (its type, RPC id, offset, length), and FREEZE from a peer. Kept here, inline, so that
// engine.cc's dispatch gains one line per concern and the records cost no call.
//
// Ids are the receiving engine's own ids (sender_id ^ 1): a client's lines show even ids, the
// server's odd ones; id & ~1 names the RPC on both hosts (rpc_id.h). apps/timetrace/ttmerge.py
// parses "<verb> <TYPE> id <n>" lines, so keep that shape when adding events.
#pragma once

#include "engine_state.h"
#include "homa/proto/rpc_id.h"

namespace homa::detail {

/** Records one received packet (before it is handled). */
inline void trace_rx(State &s, const wire::PacketView &v) {
#if HOMA_TIMETRACE
    Timetrace *tt = s.tt;
    if (tt == nullptr) return;
    const auto id = static_cast<uint32_t>(wire::local_id(v.common().sender_id.get()));
    switch (v.type()) {
        case wire::PacketType::kData: {
            const wire::DataHeader &h = *v.data();
            tt->record("rx DATA id %u offset %u length %u retx %u", id, h.seg_offset.get(),
                       static_cast<uint32_t>(v.payload().size()), h.retransmit);
            break;
        }
        case wire::PacketType::kGrant:
            tt->record("rx GRANT id %u offset %u priority %u", id, v.grant()->offset.get(),
                       v.grant()->priority);
            break;
        case wire::PacketType::kResend:
            tt->record("rx RESEND id %u offset %u length %u priority %u", id,
                       v.resend()->offset.get(), v.resend()->length.get(), v.resend()->priority);
            break;
        case wire::PacketType::kRpcUnknown: tt->record("rx RPC_UNKNOWN id %u", id); break;
        case wire::PacketType::kBusy: tt->record("rx BUSY id %u", id); break;
        case wire::PacketType::kCutoffs:
            tt->record("rx CUTOFFS id %u version %u", id, v.cutoffs()->cutoff_version.get());
            break;
        case wire::PacketType::kFreeze:
            tt->record("rx FREEZE from 0x%x", v.src_addr().low_word());
            break;
        case wire::PacketType::kNeedAck: tt->record("rx NEED_ACK id %u", id); break;
        case wire::PacketType::kAck:
            tt->record("rx ACK id %u acks %u", id, v.ack()->num_acks.get());
            break;
    }
#else
    (void)s;
    (void)v;
#endif
}

/** FREEZE from a peer: freezes this host's rings, once per freeze (TraceFreeze). Without a
 *  ring there is nothing to freeze. */
inline void handle_freeze(State &s) {
    if (s.tt != nullptr) s.tt->freeze_state().freeze_from_peer();
}

}  // namespace homa::detail
