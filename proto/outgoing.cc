// Transmit: packetizing outgoing messages, the pacer, and releasing borrowed message memory.
//
// DESIGN NOTES: a message is sent in packets of its peer's max payload (peer_max_payload: IPv6
// headers take 20 bytes more of the MTU; the packet that reaches the unscheduled limit ends
// there), unscheduled bytes (the first unsched_bytes) at the priority the receiver's cutoffs give
// its length, the rest at the priority of the grant that allowed it. Among messages with granted
// bytes, the one with the fewest bytes left goes first (SRPT on the sender side too, among equals
// the oldest; a scan per packet made transmit quadratic with 10^5 messages queued, so send_queue.h
// keeps them in a heap, and messages down to their last packet in O(1) FIFO buckets). The pacer
// estimates when the NIC queue drains (link_idle_ns, advanced by each packet's wire time at
// link_mbps) and stops sending while that is more than max_nic_queue_ns ahead, so that short
// messages queued later are not stuck behind a long one inside the NIC; sockets with dont_throttle
// bypass it, and so do messages with fewer than throttle_min_bytes left (Linux's rule): a 100 B
// reply held back waited for the next poll, and with polls of 256 requests a server's pacer let out
// about 74 frames a poll, so its replies queued by the ten thousand at 10^5 live RPCs (eighteenth
// session, docs/perf.md).
// A one-packet message that transmit would pick first anyway (nothing else down to its last
// packet, the pacer willing, all bytes unscheduled) skips the send queue within the room the
// caller gives (Engine::set_send_now): send_or_queue emits it from its send, and an RPC that
// ends before the caller takes the packet withdraws it (withdraw_sent_now).
// Payloads are not copied here: TxPacket points into the borrowed OutMessage, or into the
// RPC's own copy of a short message sent with OutMessage::copy (copied once, at send).
// Retransmission (RESEND, RPC_UNKNOWN restarts) goes through the same packet builder with
// retransmit = 1, straight into the TX queue at the priority the RESEND asked for: it is
// rare, the receiver is waiting for exactly these bytes, and the pacer still accounts for
// them (link_idle_ns), so later fresh data waits instead.
#include <algorithm>
#include <cstring>
#include <vector>

#include "engine_state.h"
#include "homa/mem/prefetch.h"
#include "homa/proto/encode.h"
#include "homa/proto/rpc_id.h"

namespace homa::detail {
namespace {

// Ethernet header + FCS + preamble + inter-frame gap, plus IPv4: what a packet costs on the wire
// beyond its Homa bytes.
constexpr uint32_t kWireOverhead = 14 + 4 + 8 + 12 + 20;

// transmit() prefetches the messages about to be sent only when more than this many are
// queued: fewer were queued moments ago (by this poll's RX or the application's calls) and
// are still in cache, and the walk to the lane's lookahead entry then costs more than it saves.
constexpr size_t kPrefetchMinQueued = 64;

uint8_t unsched_priority_for(const Peer &p, uint8_t num_priorities, uint32_t length) {
    for (int i = num_priorities - 1; i > 0; --i) {
        if (p.cutoffs[i] >= length) return static_cast<uint8_t>(i);
    }
    return 0;
}

// The packet of a message that begins at `offset` (a packet boundary): its length. Packets are
// max_payload long, except that one ends at the unscheduled limit, so that no byte past it
// leaves before a grant allows it and the DATA `incoming` field says what really comes (Linux
// cuts its packets the same way). Packets after that limit start at unsched + k * max_payload.
uint32_t packet_len(const MsgOut &out, uint32_t offset) {
    uint32_t len = std::min<uint32_t>(out.max_payload, out.length - offset);
    if (offset < out.unsched && offset + len > out.unsched) len = out.unsched - offset;
    return len;
}

// The start of the packet that holds byte `offset`: every send of a message cuts it the same
// way, since the receiver takes a packet that partly overlaps what it has as a duplicate.
uint32_t packet_start(const MsgOut &out, uint32_t offset) {
    if (offset < out.unsched) return offset - offset % out.max_payload;
    return offset - (offset - out.unsched) % out.max_payload;
}

// Whether the pacer holds r's next packet now (`remaining`: its bytes left to send). Sockets
// with dont_throttle and messages with fewer than throttle_min_bytes left pass (Linux's rule).
bool pacer_holds(const State &s, const Rpc &r, uint32_t remaining, uint64_t now_ns) {
    return !s.sockets[r.socket].dont_throttle && remaining >= s.cfg.throttle_min_bytes &&
           s.link_idle_ns > now_ns + s.cfg.max_nic_queue_ns;
}

// A packet of len payload bytes as a share of the TX budget, in 1/scale packets (Engine::poll):
// len <= max_payload, so at scale 1 the share is 1, with no division on that path.
uint64_t budget_units(uint32_t len, uint32_t scale, uint32_t max_payload) {
    return scale == 1 ? 1 : (uint64_t{len} * scale + max_payload - 1) / max_payload;
}

// Splits [offset, offset + len) of r's message into at most two contiguous pieces.
uint8_t locate(const Rpc &r, uint32_t offset, uint32_t len, OutMessage::Piece out[2]) {
    if (r.out.copied) {
        out[0] = {r.bulk.copy + offset, len};
        return 1;
    }
    uint8_t n = 0;
    uint32_t base = 0;
    for (uint32_t i = 0; i < r.out.num_pieces && len > 0 && n < 2; ++i) {
        const auto &pc = r.bulk.pieces[i];
        if (offset < base + pc.length) {
            uint32_t within = offset - base;
            uint32_t take = std::min(len, pc.length - within);
            out[n++] = {pc.data + within, take};
            offset += take;
            len -= take;
        }
        base += pc.length;
    }
    return n;
}

// The only two places that add to and take from State::sendable, so that sendable_replies
// stays exact.
void queue_to_send(State &s, uint32_t idx) {
    Rpc &r = s.rpcs[idx];
    r.out.sendable = true;
    s.sendable.push(idx, r.out.length - r.out.next_xmit, send_key(r));
    s.sendable_replies += wire::is_server_id(r.key.id) ? 1 : 0;
}

void unqueue(State &s, uint32_t idx) {
    s.sendable.erase(idx);
    Rpc &r = s.rpcs[idx];
    r.out.sendable = false;
    s.sendable_replies -= wire::is_server_id(r.key.id) ? 1 : 0;
}

void finish_out(State &s, uint32_t idx) {
    Rpc &r = s.rpcs[idx];
    if (r.state == RpcState::kServerOutgoing) {
        // Keep the reply until the client acknowledges it (it may have to be resent).
        set_state(s, r, RpcState::kAwaitAck);
        r.done_tick = s.quiet;
        r.heard = s.quiet;
    }
}

// Queues one DATA packet for [offset, offset + len) of r's message; false if the TX queue is
// full.
bool emit_data(State &s, Rpc &r, uint32_t offset, uint32_t len, uint8_t priority, bool retransmit,
               uint64_t now_ns) {
    MsgOut &out = r.out;
    const Peer &peer = s.peers[r.key.peer];
    TxPacket *p = push_tx(s, peer.ip, priority);
    if (p == nullptr) return false;
    wire::Data d;
    d.common = {.sport = local_port(s, r), .dport = r.peer_port, .sender_id = r.key.id};
    d.message_length = out.length;
    d.incoming = std::max(out.granted, offset + len);
    if (wire::is_client_id(r.key.id)) {
        d.ack = take_peer_ack(s, r.key.peer);
        if (d.ack.client_id != 0) ++s.stats.acks_piggybacked;
    }
    d.cutoff_version = peer.cutoff_version;
    d.retransmit = retransmit;
    d.offset = offset;
    p->header_len = static_cast<uint8_t>(wire::encode_header(p->header, d));
    p->num_payload = locate(r, offset, len, p->payload);
    p->token = out.token;
    HOMA_TT(s.tt,
            retransmit ? "tx DATA id %u offset %u length %u priority %u retx"
                       : "tx DATA id %u offset %u length %u priority %u",
            static_cast<uint32_t>(r.key.id), offset, len, priority);
    pace_control(s, sizeof(wire::DataHeader) + len, now_ns);
    ++s.stats.packets_tx[static_cast<uint8_t>(wire::PacketType::kData)];
    s.stats.bytes_tx_by_priority[priority] += len;
    return true;
}

}  // namespace

void pace_control(State &s, uint32_t bytes, uint64_t now_ns) {
    uint64_t wire_ns = uint64_t{bytes + kWireOverhead} * 8000 / s.cfg.link_mbps;
    s.link_idle_ns = std::max(s.link_idle_ns, now_ns) + wire_ns;
}

void start_out(State &s, uint32_t idx, const OutMessage &msg, uint32_t length) {
    Rpc &r = s.rpcs[idx];
    MsgOut &out = r.out;
    if (msg.copy) {  // check_message kept it within kCopyMax
        uint8_t *to = r.bulk.copy;
        for (uint32_t i = 0; i < msg.num_pieces; ++i) {
            std::memcpy(to, msg.pieces[i].data, msg.pieces[i].length);
            to += msg.pieces[i].length;
        }
        out.num_pieces = 0;
        out.token = TxPacket::kCopied;
    } else {
        // Only the pieces in use are copied: OutMessage has room for 16.
        std::copy_n(msg.pieces, msg.num_pieces, r.bulk.pieces);
        out.num_pieces = static_cast<uint8_t>(msg.num_pieces);  // check_message: <= 16
        out.token = msg.token;
    }
    out.copied = msg.copy;
    out.length = length;
    out.next_xmit = 0;
    out.unsched = std::min(out.length, s.cfg.unsched_bytes);
    out.max_payload = static_cast<uint16_t>(peer_max_payload(s, r.key.peer));
    out.granted = out.unsched;
    out.unsched_priority =
        unsched_priority_for(s.peers[r.key.peer], s.cfg.num_priorities, out.length);
    out.sched_priority = 0;
    out.active = true;
}

void send_or_queue(State &s, uint32_t idx, uint64_t now_ns) {
    Rpc &r = s.rpcs[idx];
    MsgOut &out = r.out;
    // transmit() would pick this message first only while no other message is down to its
    // last packet (those go first, FIFO among equals; every longer one comes after it).
    // Skipping the queue saves its push, pick and removal: 3 % of a 100 B echo's
    // instructions and about 5 % of its cycles, both ends on one core (docs/perf.md,
    // forty-second session).
    const uint64_t units = budget_units(out.length, s.send_now_scale, s.cfg.max_payload());
    const bool now = units <= s.send_now_room && out.length <= out.max_payload &&
                     out.granted >= out.length && s.sendable.lane_size() == 0 &&
                     !pacer_holds(s, r, out.length, now_ns);
    if (!now || !emit_data(s, r, 0, out.length, out.unsched_priority, false, now_ns)) {
        queue_to_send(s, idx);
        return;
    }
    s.send_now_room -= static_cast<uint32_t>(units);
    ++s.stats.sent_now;
    out.in_tx = true;
    // One entry per packet of `tx` (withdraw_sent_now takes both back): room, as emit_data found.
    s.sent_now[s.sent_now_count++] = idx;
    const uint64_t spent = (units * 64 + s.send_now_scale - 1) / s.send_now_scale;
    s.early_tx_64ths += spent;
    s.send_now_64ths += spent;
    out.next_xmit = out.length;
    r.heard = s.quiet;
    watch(s, idx);
    finish_out(s, idx);
}

void release_out(State &s, Rpc &r) {
    if (!r.out.active) return;
    r.out.active = false;
    if (!r.out.copied) s.completions.push_back({Completion::Kind::kOutReleased, r.out.token});
}

void withdraw_sent_now(State &s, Rpc &r) {
    // Its DATA: this id to this peer (a server id is unique only per peer). Rare (an abort,
    // a close or an eviction between a send and the next frame build), so a scan.
    const IpAddress &ip = s.peers[r.key.peer].ip;
    std::erase_if(s.tx, [&](const TxPacket &p) {
        const auto *c = reinterpret_cast<const wire::CommonHeader *>(p.header);
        const bool his = c->type == static_cast<uint8_t>(wire::PacketType::kData) &&
                         c->sender_id.get() == r.key.id && p.dst_ip == ip;
        s.stats.tx_withdrawn += his ? 1 : 0;
        return his;
    });
    r.out.in_tx = false;
    const auto idx = static_cast<uint32_t>(&r - s.rpcs.data());
    for (uint32_t i = 0; i < s.sent_now_count; ++i) {
        if (s.sent_now[i] == idx) {
            s.sent_now[i] = s.sent_now[--s.sent_now_count];
            break;
        }
    }
}

void sendable_add(State &s, uint32_t idx) {
    MsgOut &out = s.rpcs[idx].out;
    if (out.sendable || !out.active || out.next_xmit >= out.granted) return;
    queue_to_send(s, idx);
}

uint32_t retransmit(State &s, Rpc &r, uint32_t start, uint32_t end, uint8_t priority,
                    uint64_t now_ns) {
    const MsgOut &out = r.out;
    end = std::min(end, out.length);
    if (start >= end) return 0;  // also a message never started: its max_payload is 0
    uint32_t sent = 0;
    for (uint32_t offset = packet_start(out, start), len = 0; offset < end; offset += len) {
        len = packet_len(out, offset);
        if (!emit_data(s, r, offset, len, priority, true, now_ns)) break;
        ++s.stats.retransmitted_packets;
        s.stats.retransmitted_bytes += len;
        ++sent;
    }
    return sent;
}

void sendable_remove(State &s, uint32_t idx) { unqueue(s, idx); }

uint32_t transmit(State &s, uint64_t now_ns, uint32_t budget, uint32_t max_remaining,
                  uint32_t scale, uint64_t used_before, uint64_t *used_out) {
    uint32_t sent = 0;
    // The budget in 1/scale packets: a full packet takes `scale` units, a short one fewer.
    const uint64_t units = uint64_t{budget} * scale;
    const uint32_t max_payload = s.cfg.max_payload();
    uint64_t used = used_before;
    bool paced = false;       // this call ended at the pacer
    bool only_short = false;  // ... at max_remaining: it says nothing about the pacer
    while (!s.sendable.empty() && used < units) {
        uint32_t idx = s.sendable.top();
        Rpc &r = s.rpcs[idx];
        // The next messages' structs are not in cache with 10^4+ RPCs queued: each miss here
        // was the largest single cost of transmit() (perf, memif). Every line of RpcHot:
        // emit_data reads fields of all of them (with two lines prefetched, it waited on the
        // third for 84 % of its time, tenth session); and the first two lines of a copied
        // message's bytes, which the frame build reads (the largest share of memmove's time
        // at 10^4 queued 100 B requests, sixteenth session).
        uint32_t next[2] = {kNotInHeap, kNotInHeap};
        if (s.sendable.size() > kPrefetchMinQueued) s.sendable.next_candidates(next);
        for (uint32_t n : next) {
            if (n == kNotInHeap) continue;
            s.rpcs[n].prefetch_hot();
            const auto *copy = reinterpret_cast<const char *>(s.rpcs[n].bulk.copy);
            mem::prefetch(copy);
            mem::prefetch(copy + 64);
        }
        MsgOut &out = r.out;
        if (out.length - out.next_xmit > max_remaining) {  // the rest are no shorter
            only_short = true;
            break;
        }
        if (pacer_holds(s, r, out.length - out.next_xmit, now_ns)) {
            ++s.stats.pacer_throttled;
            paced = true;
            break;
        }
        uint32_t offset = out.next_xmit;
        uint32_t len = packet_len(out, offset);
        bool unscheduled = offset < out.unsched;
        uint8_t priority = unscheduled ? out.unsched_priority : out.sched_priority;
        if (!emit_data(s, r, offset, len, priority, false, now_ns)) break;
        out.next_xmit += len;
        ++sent;
        used += budget_units(len, scale, max_payload);
        if (out.next_xmit >= out.granted) {
            // Everything granted is out: the peer owes us a grant, the response or an ACK.
            unqueue(s, idx);
            r.heard = s.quiet;  // silence starts now, not when the RPC began
            watch(s, idx);
        } else {
            s.sendable.update(idx, out.length - out.next_xmit, send_key(r));
        }
        if (out.next_xmit >= out.length) finish_out(s, idx);
    }
    // Bulk keeps the pacer the limit call after call: a record per call took more than half of
    // the ring at 1 MB. One when the calls start ending at the pacer, one when a call ends for
    // another reason (nothing left, the budget), except a call for last packets only
    // (send_last_packets), which stops at the first long message whatever the pacer says.
    if (paced) {
        if (s.pacer_streak++ == 0) {
            HOMA_TT(s.tt, "pacer throttled: %u messages queued, link busy for %u ns",
                    static_cast<uint32_t>(s.sendable.size()),
                    static_cast<uint32_t>(s.link_idle_ns - now_ns));
        }
    } else if (s.pacer_streak != 0 && !only_short) {
        // Saturated: about 9 M calls a second on one core would wrap 32 bits in 8 minutes.
        HOMA_TT(s.tt, "pacer released after %u throttled calls",
                static_cast<uint32_t>(std::min<uint64_t>(s.pacer_streak, UINT32_MAX)));
        s.pacer_streak = 0;
    }
    if (used_out != nullptr) *used_out = used;
    return sent;
}

}  // namespace homa::detail
