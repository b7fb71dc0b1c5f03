// One RPC's slot in the engine's table (State::rpcs): its key, its state machine's states, and
// the per-RPC fields laid out for the cache, hot ones (RpcHot, reset on reuse) apart from the
// arrays (RpcBulk, never cleared). Private to the engine (engine_state.h); pure data, no code
// beyond the slot's reset and prefetch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "flat_index.h"
#include "homa/mem/prefetch.h"
#include "homa/proto/engine.h"

namespace homa::detail {

inline constexpr uint32_t kNil = UINT32_MAX;

struct RpcKey {
    uint64_t id = 0;
    uint32_t peer = 0;       ///< Slot in State::peers.
    uint32_t peer_bits = 0;  ///< rpc_key_bits() of the peer's address: what the hash uses.
    bool operator==(const RpcKey &) const = default;
    // Consecutive ids of one peer (ids are allocated in sequence) land half a cache line (4
    // slots) apart: lookups walk memory in order, which the prefetcher follows, two ids share
    // a line, and probe runs stay short (every other slot of a run stays empty even on a host
    // that is both client and server of one peer); the peer's address spreads different peers
    // apart. See flat_index.h. At 10^5 live RPCs every line of the index is cold when it is
    // touched: a line per id (8 slots apart, until the thirtieth session) cost a client two
    // index misses per RPC (the new id's insert, the old one's lookup), now one. The hash uses
    // the address, not the slot, so that a packet's lookups can be prefetched from its header
    // alone, before its peer is looked up (engine.cc, keys_of).
    // The low bit (client or server id) moves a server RPC two slots from the client RPC of
    // the same number: a host that is both client and server of one peer (each side numbers
    // from the same first id) had the two share a hash, and a lookup of the one inserted
    // second compared the other's key first, reading a second RPC (homa-perf --role=both:
    // find_rpc_of 6.2 -> 4.5 % of the samples, 1.4 % fewer instructions per RPC).
    uint64_t hash() const noexcept { return ((id >> 1) << 2) + ((id & 1) << 1) + peer_bits; }
};

/** RpcKey::peer_bits of a peer whose address folds to `fold32` (IpAddress::fold32): mixed once
 *  per peer (and per prefetched header), not at every lookup. */
inline uint32_t rpc_key_bits(uint32_t fold32) noexcept {
    return static_cast<uint32_t>(mix64(fold32));
}

enum class RpcState : uint8_t {
    kFree,
    kClientOutgoing,
    kClientIncoming,
    kServerIncoming,
    kReady,
    kInService,
    kServerOutgoing,
    kAwaitAck,
};

/** Missing byte ranges of an incoming message beyond `recv_end` tracking (Linux's gaps). */
struct Gap {
    uint32_t start;  // no initialisers: RpcBulk is not cleared when an RPC slot is reused
    uint32_t end;
};
inline constexpr uint32_t kMaxGaps = 16;
struct MsgIn {
    uint32_t length = 0;              ///< 0 until the first DATA packet.
    uint32_t recv_end = 0;            ///< Highest byte received + 1.
    uint32_t bytes_remaining = 0;     ///< Bytes not yet received.
    uint32_t granted = 0;             ///< Bytes the sender may send.
    uint32_t incoming = 0;            ///< This message's share of State::total_incoming.
    uint32_t fifo_prev = UINT32_MAX;  ///< Chain of grantable messages, oldest first.
    uint32_t fifo_next = UINT32_MAX;
    // Counts up to 16 in bytes, beside the flags: MsgIn fits 48 bytes (RpcHot's size note).
    uint8_t num_bpages = 0;       ///< Valid entries of RpcBulk::bpages (<= kMaxBpages).
    uint8_t num_gaps = 0;         ///< Valid entries of RpcBulk::gaps (<= kMaxGaps).
    bool grantable = false;       ///< Needs grants: in the active set or grant_rest (grant.cc).
    bool grant_active = false;    ///< Of those, in State::grant_active.
    bool grant_inflight = false;  ///< Fully granted, bytes still coming: State::grant_inflight.
    bool scheduled = false;       ///< Counted in State::total_incoming (grant.cc).
    bool waiting = false;         ///< length known, no bpages yet: in State::buffer_waiters.
    bool stalled = false;         ///< Sender silent on granted bytes: out of the grant set
                                  ///< and of total_incoming until its next DATA (grant.cc).
    uint8_t sched_priority = 0;
    uint64_t seq = 0;  ///< Arrival order of the first packet (SRPT ties, FIFO).
};
static_assert(sizeof(MsgIn) == 48);

struct MsgOut {
    uint64_t token = 0;  ///< The borrowed message's OutMessage::token.
    /** Bytes sent before any grant, fixed when the message starts: its packets are cut at
     *  this limit (outgoing.cc), the same way on every send even if reconfigure changes
     *  unsched_bytes meanwhile. */
    uint32_t unsched = 0;
    uint32_t length = 0;
    uint32_t next_xmit = 0;  ///< Next byte to send.
    uint32_t granted = 0;    ///< Bytes the receiver allows.
    /** State::sendable's lane word (send_queue.h): where this message waits in the
     *  last-packet lane, 0 when it is not there. Here, not in an array of the queue's own,
     *  because the send path reads this line anyway: at 10^5 queued RPCs such an array is
     *  one more cold line per send. */
    uint64_t lane = 0;
    uint8_t num_pieces = 0;  ///< Valid entries of RpcBulk::pieces (<= kMaxBpages).
    uint8_t unsched_priority = 0;
    uint8_t sched_priority = 0;
    bool active = false;  ///< Being sent or kept for resending (until release_out).
    bool copied = false;  ///< In RpcBulk::copy (OutMessage::copy): nothing borrowed, no
                          ///< kOutReleased completion owed.
    // Two bits of one byte, so that MsgOut keeps its 40 bytes (RpcHot's size note).
    bool sendable : 1 = false;  ///< In State::sendable.
    /** Its packet, queued by send_or_queue, is still in State::tx (listed in
     *  State::sent_now): a slot reused before the frame is built would send other bytes. */
    bool in_tx : 1 = false;
    /** Payload bytes per packet (the peer's family and the MTU), fixed when the message starts
     *  for the same reason as `unsched`: reconfigure may change the MTU. */
    uint16_t max_payload = 0;
};
static_assert(sizeof(MsgOut) == 40, "MsgOut fills 40 bytes with no padding: RpcHot's size note");

/** The per-RPC fields every RPC touches, reset in full when a slot is reused (new_rpc). Kept
 *  apart from RpcBulk so that a short RPC's state spans a few cache lines and its reset is
 *  ~200 bytes, not the ~650 it was with the arrays inline (issue 12's scaling: at 10^4+ live
 *  RPCs every touch of an Rpc is a cache miss).
 *  Packed to 176 bytes, so that RpcBulk::bpages[0] is in the third line and `copy` starts the
 *  fifth: a short RPC (its copied request or reply, one bpage for what comes back) touches
 *  lines 0-2, 4 and 5, five lines; at 224 bytes it touched six (lines 0-3, 5, 6). The peer's
 *  slot is key.peer, not a second field; the small fields fill the gaps between wide ones. */
struct RpcHot {
    RpcState state = RpcState::kFree;
    bool on_ready = false;  ///< In its socket's requests or responses list.
    // --- timer.cc ---
    bool watched = false;
    bool disowned = false;  ///< The peer answered RPC_UNKNOWN since we last heard of it.
    uint8_t probes = 0;     ///< Timer packets sent since we last heard of it (backoff).
    // --- fair_share.cc ---
    bool inbound = false;  ///< Counted in its peer's in_rpcs / in_bpages.
    uint16_t peer_port = 0;
    RpcKey key;  ///< key.peer is the peer's slot in State::peers.
    uint32_t socket = kNil;
    int error = 0;
    uint64_t cookie = 0;
    MsgIn in;
    MsgOut out;
    uint32_t next_ready = kNil;  ///< Intrusive chain in the socket's ready list.
    uint32_t next_free = kNil;
    // --- fair_share.cc: incomplete inbound server messages, per peer, oldest first ---
    uint32_t in_prev = kNil;
    uint32_t in_next = kNil;
    uint32_t await_prev = kNil;  ///< Chain of State's kAwaitAck RPCs, oldest reply first.
    uint32_t await_next = kNil;
    // --- timer.cc; times are on the quiet clock (State::quiet) ---
    uint64_t done_tick = 0;   ///< When a server reply finished (for NEED_ACK).
    uint64_t heard = 0;       ///< Last DATA, GRANT, BUSY or RESEND about this RPC.
    uint64_t next_check = 0;  ///< When the timer looks at it again (while watched).
};
/** Cache lines of RpcHot, all of which prefetch_hot loads. */
inline constexpr int kRpcHotLines = 3;
static_assert(sizeof(RpcHot) == 176, "see RpcHot's size note");
static_assert(sizeof(RpcHot) <= kRpcHotLines * 64);

/** Per-RPC arrays, valid only up to their counts in RpcHot (in.num_bpages, out.num_pieces,
 *  in.num_gaps) and never cleared: a short message uses the first entry of each. */
struct RpcBulk {
    uint32_t bpages[wire::kMaxBpages];  ///< The incoming message's bpage offsets.
    // `copy` starts a cache line: transmit() prefetches a copied message's first two lines,
    // which then hold all of a message up to 128 bytes. At byte 288 of the Rpc, a 100 B
    // request spanned three lines and the build's copy waited on the third (at 10^5 queued
    // requests memmove went from 6 to 65 client cycles per packet, eighteenth session). The
    // pad does it, not alignas: aligning RpcBulk would move bpages[0] out of RpcHot's last
    // line, which prefetch_rpc loads for the RX path's copy.
    uint8_t pad_[16];
    union {
        OutMessage::Piece pieces[wire::kMaxBpages];  ///< The outgoing message (borrowed),
        uint8_t copy[OutMessage::kCopyMax];          ///< or its bytes (MsgOut::copied).
    };
    Gap gaps[kMaxGaps];  ///< Holes below in.recv_end (incoming.cc).
};

static_assert(sizeof(RpcBulk::copy) == sizeof(RpcBulk::pieces));
// Rpc places RpcBulk right after RpcHot (Rpc::bulk is its first member).
static_assert((sizeof(RpcHot) + offsetof(RpcBulk, copy)) % 64 == 0,
              "RpcBulk::copy must start a cache line of the Rpc: adjust pad_");
static_assert(sizeof(RpcHot) + offsetof(RpcBulk, bpages) + sizeof(uint32_t) <= kRpcHotLines * 64,
              "bpages[0] must stay within the lines prefetch_rpc loads");

/** What new_rpc copies into a reused slot. */
inline constexpr RpcHot kFreshRpc{};

struct alignas(64) Rpc : RpcHot {
    RpcBulk bulk;
    /** Makes a slot fresh without touching `bulk`: a copy of one fresh RpcHot. Assigning
     *  RpcHot{} compiled (GCC 12, after a bool was added to MsgOut) to a temporary on the
     *  stack built with narrow stores and read back with wide loads: store-forwarding stalls
     *  that took new_rpc from 2 % to 9 % of a 100 B echo's cycles. */
    void reset() noexcept { std::memcpy(static_cast<RpcHot *>(this), &kFreshRpc, sizeof(RpcHot)); }
    /** Starts loading every line of RpcHot for writing: the prefetch of an RPC about to be
     *  used (received into, sent from, or reset). A hint only. */
    void prefetch_hot() const noexcept {
        const auto *p = reinterpret_cast<const char *>(this);
        for (int line = 0; line < kRpcHotLines; ++line) mem::prefetch_for_write(p + 64 * line);
    }
};

/** A slot's links in its peer's watch list (timer.cc), kept in State::watch_links rather than
 *  in the slot: a tick that walks a list of 10^5 waiting RPCs follows the links through this
 *  array (8 bytes per slot, mostly cached) and prefetches the RPCs it will check next. With the
 *  links in the RPCs, each check waited for the one before to arrive from memory. kNil both
 *  while the slot is not watched. */
struct WatchLinks {
    uint32_t prev = kNil;
    uint32_t next = kNil;
};

}  // namespace homa::detail
