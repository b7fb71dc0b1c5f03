// Private state of the protocol engine, shared by the files that implement it by concern:
// engine.cc (setup, sockets, dispatch), rpc_table.cc (RPC lookup, slots, ready lists),
// incoming.cc (DATA into bpages, delivery, the queue of messages waiting for bpages), grant.cc
// (receiver-side SRPT grants), outgoing.cc (packetizing, pacer, transmit, retransmission),
// recovery.cc (RESEND, BUSY, RPC_UNKNOWN), timer.cc (ticks: silence, RESEND requests, timeouts,
// NEED_ACK), ack.cc (acks and cutoffs).
//
// DESIGN NOTES
// - Every object lives in a preallocated vector and is named by its index; lists are intrusive
//   index chains or reserved vectors, so the datapath never allocates.
// - RPC state machines (legal order):
//     client: kClientOutgoing -> kClientIncoming -> kReady -> (freed by recv)
//             (a response packet may arrive before the last request byte left: Outgoing ->
//             Incoming directly; abort with an error: any -> kReady with `error` set)
//     server: kServerIncoming -> kReady -> kInService -> kServerOutgoing -> kAwaitAck -> (freed
//             when the client acknowledges)
//     Loss (recovery.cc, timer.cc): a client that times out goes from any state to kReady with
//     error ETIMEDOUT; a client in kClientOutgoing that gets RPC_UNKNOWN stays there and
//     retransmits what it sent (the restart). A server RPC is freed from any state by
//     RPC_UNKNOWN (the client forgot it) or a timeout; kReady / kInService never time out
//     (the application holds them). An incoming message whose bpages could not be allocated
//     stays in its *Incoming state with in.waiting set, on State::buffer_waiters.
// - Silence and timers (timer.cc DESIGN NOTES): an RPC that waits for its peer sits on its
//   peer's watch list; per tick the timer looks only at the heads of those lists, within a
//   per-peer budget of control packets, so timer work follows what is due, not how many RPCs
//   live. Silence is measured on the quiet clock, which does not advance in a tick in which
//   the owner reported its own RX or TX backlog (Engine::note_backlog). RPCs time out only when
//   their peer as a whole has been silent.
// - Per-peer limits (off by default, as in Linux): a peer may hold at most max_peer_server_rpcs
//   server RPCs and max_peer_unacked replies awaiting its ACK here; DATA that would create one
//   more is dropped (EngineDrop::kPeerLimit) and answered with BUSY. The client keeps waiting;
//   its probes, at most resend_budget per peer per tick, restart the request: bounded, no
//   restart storm.
// - Keys: an RPC is found by (local id, peer), the peer being its slot in the peer table, which
//   is found by its 16-byte address (IPv4 peers IPv4-mapped, ip_address.h). The slot, not the
//   address, is in the RPC key so that the key and the RPC index stay as small as they were
//   with 32-bit IPv4 keys; a peer's slot cannot change while it has RPCs (peer_table.cc frees
//   only idle peers). The key's hash mixes the id with a 32-bit fold of the address, not the
//   slot, so the RX burst's prefetches need only the header (an IPv4 packet's costs no more
//   than with IPv4 keys). Client ids are unique per host (engines on one host get disjoint id
//   sequences through first_client_id / id_stride), as in Linux.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "flat_index.h"
#include "homa/proto/encode.h"
#include "homa/proto/engine.h"
#include "homa/proto/timetrace.h"
#include "index_heap.h"
#include "rpc_slot.h"
#include "send_queue.h"

namespace homa {
namespace detail {

struct PeerKey {
    IpAddress ip;
    bool operator==(const PeerKey &) const = default;
    uint64_t hash() const noexcept { return mix64(ip.hash_bits()); }
};

/** Acks a peer entry holds before it sends an ACK packet (ack.cc DESIGN NOTES): a worker's
 *  RX budget of responses (8 bursts of 32), so that a closed loop's next requests carry them
 *  all. A block is 256 x 22 bytes; an engine has min(max_peers, 1024) of them. */
inline constexpr uint32_t kPendingAcks = 256;
/** ...and bytes of replies they let the server free: past this, the newest go out in ACK
 *  packets at once. The server holds a finished reply until its ack arrives, so 256 acks of
 *  1 MB replies would pin 256 MB of its buffers (ack.cc DESIGN NOTES). */
inline constexpr uint64_t kPendingAckBytes = 4u << 20;
/** Unanswered timer packets after which an RPC may time out although its peer still talks
 *  (timer.cc DESIGN NOTES: a live peer that ignores one RPC must not keep it forever). */
inline constexpr uint8_t kMaxUnansweredProbes = 4;

/** Pending acks of one peer; a small shared pool of these, taken while a peer has any
 *  (ack.cc), so that a peer entry stays small enough to hold 10^5 of them. */
struct AckBlock {
    wire::Ack acks[kPendingAcks];
    uint16_t client_port[kPendingAcks] = {};  ///< Our port of each, for ACK packets.
    uint32_t reply_bytes[kPendingAcks] = {};  ///< The reply each lets the server free.
    uint32_t next_free = UINT32_MAX;
};

struct Peer {
    IpAddress ip;           ///< IPv4-mapped for an IPv4 peer.
    uint32_t key_bits = 0;  ///< rpc_key_bits(ip.fold32()), kept for the RPC keys (peer_bits).
    std::array<uint32_t, wire::kNumPriorities> cutoffs = wire::kDefaultUnschedCutoffs;
    uint16_t cutoff_version = 0;  ///< Version of the cutoffs this peer sent us (0: defaults).
    uint64_t cutoffs_sent_tick = UINT64_MAX;  ///< Tick of our last CUTOFFS to this peer.
    /// Completed client RPCs this peer (a server) may forget, not yet sent (ack.cc): in
    /// State::ack_blocks[ack_block] while num_acks > 0.
    uint32_t ack_block = kNil;
    uint32_t num_acks = 0;
    uint64_t ack_bytes = 0;    ///< Sum of AckBlock::reply_bytes of the pending acks.
    bool ack_listed = false;   ///< In State::ack_peers.
    bool in_use = false;       ///< A slot of the peer table that holds a peer.
    uint32_t rpcs = 0;         ///< Live RPCs with this peer (peer_table.cc: idle at 0).
    uint32_t server_rpcs = 0;  ///< Live server RPCs this peer (a client) created here.
    uint32_t unacked = 0;      ///< Of those, replies in kAwaitAck.
    // --- fair_share.cc ---
    uint64_t incoming = 0;    ///< Its messages' part of State::total_incoming (grant.cc).
    uint32_t in_rpcs = 0;     ///< Incomplete inbound server messages from this peer.
    uint32_t in_bpages = 0;   ///< bpages those hold.
    uint32_t in_head = kNil;  ///< Those messages, oldest first (Rpc::in_next).
    uint32_t in_tail = kNil;
    // --- peer_table.cc: idle peers (no RPCs, no pending acks), least recently idle first ---
    uint32_t idle_prev = kNil;
    uint32_t idle_next = kNil;
    bool idle = false;
    uint64_t idle_since = 0;  ///< Tick it became idle.
    // --- timer.cc (quiet clock) ---
    uint64_t heard = 0;          ///< Last packet from this peer about a live RPC.
    uint32_t watch_head = kNil;  ///< RPCs waiting on this peer, least recently checked
                                 ///< first; a circular list (timer.cc).
    uint64_t budget_tick = 0;    ///< Tick of budget_used.
    uint32_t budget_used = 0;    ///< Timer control packets sent to this peer in that tick.
};

/** FIFO list of ready RPCs (intrusive through Rpc::next_ready). */
struct ReadyList {
    uint32_t head = kNil;
    uint32_t tail = kNil;
};

struct Socket {
    bool open = false;
    uint16_t port = 0;
    bool dont_throttle = false;
    ReadyList requests;
    ReadyList responses;
};

}  // namespace detail

struct Engine::State {
    explicit State(const EngineConfig &c, const PoolOps &p);

    EngineConfig cfg;
    PoolOps pool;
    std::string error;
    EngineStats stats;

    TableArray<detail::Rpc> rpcs;  ///< max_rpcs slots, in PoolOps::tables memory.
    /** Per slot of `rpcs`, its links in its peer's watch list (timer.cc), apart from the slab so
     *  that a tick can walk a list ahead of the checks and prefetch the RPCs it will reach. */
    TableArray<detail::WatchLinks> watch_links;
    uint32_t free_rpcs = detail::kNil;
    uint32_t live_rpcs = 0;
    uint32_t rpcs_high_water = 0;  ///< One past the highest slab index ever used.
    struct RpcKeyOf {
        const State *s;
        const detail::RpcKey &operator()(uint32_t i) const noexcept { return s->rpcs[i].key; }
    };
    struct PeerKeyOf {
        const State *s;
        detail::PeerKey operator()(uint32_t i) const noexcept { return {s->peers[i].ip}; }
    };
    detail::FlatIndex<detail::RpcKey, RpcKeyOf> rpc_index;
    struct LaneOf {
        State *s;
        uint64_t &operator()(uint32_t i) const noexcept { return s->rpcs[i].out.lane; }
    };

    std::vector<detail::Peer> peers;  ///< Slots; reserved for max_peers, grown on demand.
    detail::FlatIndex<detail::PeerKey, PeerKeyOf> peer_index;
    /// The slot find_peer last found and its address: a burst's packets mostly come from one
    /// peer, and comparing 16 bytes is cheaper than hashing them and probing the index. The
    /// address is kept here, not read from the slot, so a hit touches no peer entry;
    /// release_peer clears the hint when it frees that slot.
    mutable uint32_t peer_hint = detail::kNil;
    mutable IpAddress peer_hint_ip;
    uint32_t free_peers = detail::kNil;  ///< Reclaimed slots (chained through idle_next).
    uint32_t idle_head = detail::kNil;   ///< Idle peers, least recently idle first.
    uint32_t idle_tail = detail::kNil;
    uint32_t live_peers = 0;
    /// Peers with incomplete inbound messages, heaviest first (fair_share.cc).
    detail::IndexHeap peer_load;
    uint32_t await_head = detail::kNil;  ///< kAwaitAck RPCs, oldest reply first (set_state).
    uint32_t await_tail = detail::kNil;
    uint32_t inbound_rpcs = 0;    ///< Sum of the peers' in_rpcs.
    uint64_t inbound_bpages = 0;  ///< Sum of the peers' in_bpages.
    std::vector<detail::AckBlock> ack_blocks;
    uint32_t free_ack_blocks = detail::kNil;

    std::vector<detail::Socket> sockets;
    std::vector<uint32_t> socket_by_port;  ///< 65,536 entries: port -> socket or kNil.
    uint16_t next_client_port = wire::kFirstClientPort;
    uint64_t next_client_id = 2;

    // Grants (grant.cc): the max_overcommit best messages needing grants, SRPT order, and the
    // rest in a heap; a FIFO chain of all of them for the oldest-first share.
    std::vector<uint32_t> grant_active;
    /// Fully granted messages whose granted bytes are still on the way, SRPT order, at most
    /// max_overcommit: they get no grants and hold no slot, but rank in the priorities.
    std::vector<uint32_t> grant_inflight;
    detail::IndexHeap grant_rest;  ///< Keyed by srpt_key().
    uint32_t fifo_head = detail::kNil;
    uint32_t fifo_tail = detail::kNil;
    uint64_t total_incoming = 0;   ///< Granted-but-not-received bytes of scheduled messages.
    uint64_t incoming_excess = 0;  ///< Sum over peers of their part beyond their share.
    uint64_t next_in_seq = 0;      ///< MsgIn::seq of the next incoming message.
    /// RPCs with granted bytes to send, in SRPT order (send_queue.h, outgoing.cc).
    detail::SendQueue<LaneOf> sendable;
    /// How many of `sendable` are server RPCs (replies): Engine::queued_replies().
    uint32_t sendable_replies = 0;
    /// TX budget Engine::send_last_packets spent since the last poll(), in 1/64 packets:
    /// poll() takes it off its own data_budget, so that a poll's budget covers both.
    uint64_t early_tx_64ths = 0;
    /// One-packet messages send_request / send_reply may still queue at once, and the
    /// budget scale they count with (Engine::set_send_now; outgoing.cc send_or_queue).
    uint32_t send_now_room = 0;
    uint32_t send_now_scale = 1;
    /// Of early_tx_64ths, what those messages spent: send_last_packets starts from it.
    uint64_t send_now_64ths = 0;
    /// The RPCs whose packet send_or_queue put in `tx` since the last clear_tx (MsgOut::in_tx),
    /// the first sent_now_count entries: at most one per packet of `tx`, so sized as large
    /// once (a push_back was a call per message).
    std::vector<uint32_t> sent_now;
    uint32_t sent_now_count = 0;
    /// RPCs waiting for bpages, keyed by waiter_key() (incoming.cc).
    detail::IndexHeap buffer_waiters;
    uint64_t pool_generation = 0;  ///< PoolOps::generation when the waiters last tried.
    uint64_t waiters_tick = 0;     ///< Tick of the last retry (without a generation hook).
    bool pages_returned = false;   ///< The engine itself released bpages since the retry.
    bool grants_dirty = false;
    uint64_t fifo_credit = 0;  ///< Granted bytes * fraction owed to the oldest message.

    std::vector<TxPacket> tx;
    std::vector<Completion> completions;
    std::vector<StrayAck> stray_acks;  ///< Up to cfg.stray_ack_capacity (ack.cc).

    uint64_t link_idle_ns = 0;  ///< Pacer: when the NIC queue drains.
    /// Pacer: transmit() calls in a row that ended at the pacer (outgoing.cc traces the first
    /// and, when a call ends otherwise, the count: not every call).
    uint64_t pacer_streak = 0;
    uint64_t now_ns = 0;  ///< Latest time any call was given.
    uint64_t last_tick_ns = 0;
    uint64_t tick = 0;
    uint64_t quiet = 0;    ///< Ticks in which the owner reported no backlog.
    bool backlog = false;  ///< note_backlog() was called during this tick.
    /// Peers with a non-empty watch list, keyed by when the head comes due (timer.cc).
    detail::IndexHeap timer_heap;
    std::vector<uint32_t> deferred_peers;  ///< Scratch of run_timers (budget ran out).
    std::vector<uint32_t> ack_peers;       ///< Peers with pending acks, flushed each tick (ack.cc).
    uint32_t held_bpages = 0;
    Timetrace *tt = nullptr;  ///< This lcore's timetrace ring (HOMA_TT); nullptr: off.
};

namespace detail {

using State = Engine::State;

// SRPT among incoming messages: fewest bytes still to receive first, older first on ties.
inline bool srpt_before(const Rpc &a, const Rpc &b) {
    if (a.in.bytes_remaining != b.in.bytes_remaining) {
        return a.in.bytes_remaining < b.in.bytes_remaining;
    }
    return a.in.seq < b.in.seq;
}

// Heap keys (index_heap.h): a message length or byte count (at most 1,000,000 < 2^20) in the
// top 20 bits, an age in the low 44 (ties: the older first).
inline constexpr uint64_t kAgeMask = (uint64_t{1} << 44) - 1;
inline uint64_t srpt_key(const Rpc &r) {
    return uint64_t{r.in.bytes_remaining} << 44 | (r.in.seq & kAgeMask);
}
// Waiters: length in bits 43..62 (the top bit marks a heavy peer's waiter, incoming.cc).
inline uint64_t waiter_key(const Rpc &r) {
    return uint64_t{r.in.length} << 43 | (r.in.seq & (kAgeMask >> 1));
}
// Sender side: fewest bytes left to send first; among equals the older RPC (ids grow per
// peer), so that a queue of equal messages drains in order instead of starving some of them.
inline uint64_t send_key(const Rpc &r) {
    return uint64_t{r.out.length - r.out.next_xmit} << 44 | ((r.key.id >> 1) & kAgeMask);
}

// rpc_table.cc
/** The RPC (local id, peer at `peer_ip`); nullptr if there is none (or no such peer). */
Rpc *find_rpc(State &s, uint64_t local_id, const IpAddress &peer_ip);
/** The same with the peer's slot known (kNil: none). */
Rpc *find_rpc_of(State &s, uint64_t local_id, uint32_t peer);
inline uint32_t index_of(const State &s, const Rpc &r);
uint32_t new_rpc(State &s, RpcState st, uint64_t id, uint32_t peer, uint16_t peer_port,
                 uint32_t socket);
/** Takes an RPC off every list and returns what it holds (bpages, the borrowed message). */
void detach_rpc(State &s, uint32_t idx);
void free_rpc(State &s, uint32_t idx);
/** Completes a client RPC with `error` and no data: detached, then delivered by recv. */
void fail_client_rpc(State &s, uint32_t idx, int error);
/** Moves a server RPC into or out of kAwaitAck, keeping the peer's unacked count. */
void set_state(State &s, Rpc &r, RpcState st);

// peer_table.cc
/** The peer entry for `ip`, created if needed (reclaiming the least recently idle peer when
 *  the table is full); kNil when the table is full of peers in use. */
uint32_t get_peer(State &s, const IpAddress &ip);
/** The peer entry for `ip` if it exists (control packets never create peers). */
uint32_t find_peer(const State &s, const IpAddress &ip);
/** DATA bytes per packet to this peer: IPv6 headers take 20 bytes more of the MTU. */
inline uint32_t peer_max_payload(const State &s, uint32_t pi);
/** An RPC with the peer was created / freed (idle bookkeeping). */
void peer_rpc_added(State &s, uint32_t pi);
void peer_rpc_removed(State &s, uint32_t pi);
/** The peer's pending acks went to zero: it may be idle now. */
void peer_maybe_idle(State &s, uint32_t pi);
/** Timer tick: frees peers idle for peer_idle_ticks. */
void reclaim_idle_peers(State &s);

// fair_share.cc
/** A new incomplete inbound server message (kServerIncoming) from its peer. */
void inbound_add(State &s, uint32_t idx);
/** It completed or is being freed. */
void inbound_remove(State &s, uint32_t idx);
/** It got or returned bpages (`delta` may be negative). */
void inbound_bpages(State &s, uint32_t idx, int32_t delta);
/** Whether the peer may open one more incomplete inbound message (peer_rpc_share). */
bool inbound_allowed(const State &s, uint32_t pi);
/** Under pressure (no bpages or no RPC slot for a message from `requester`): frees the
 *  oldest incomplete message that makes no progress of the heaviest peer, if that peer holds
 *  more than its share and is not `requester`. Returns true if one was evicted. */
bool evict_for(State &s, uint32_t requester);
/** Whether the peer holds more than its fair share of what incomplete messages hold. */
bool over_share(const State &s, uint32_t pi);
/** Tables full: frees the oldest finished reply waiting for its ACK (kAwaitAck), among the
 *  first few; with `for_peer_slot`, only one that is its peer's last RPC (so the peer becomes
 *  idle). Returns true if one was freed. */
bool evict_unacked(State &s, bool for_peer_slot);
/** set_state's bookkeeping of the kAwaitAck chain. */
void await_link(State &s, uint32_t idx);
void await_unlink(State &s, uint32_t idx);
/** Queues a header-only control packet at the highest priority; counts it, or counts a drop
 *  when the TX queue is full. Returns false if it was not queued. */
template <typename Fields>
bool push_control(State &s, const IpAddress &dst_ip, const Fields &f, wire::PacketType type,
                  uint64_t now_ns);
// rpc_table.cc
TxPacket *push_tx(State &s, const IpAddress &dst_ip, uint8_t priority);
void ready_push(ReadyList &l, State &s, uint32_t idx);
void ready_remove(ReadyList &l, State &s, uint32_t idx);
uint16_t local_port(const State &s, const Rpc &r);

// incoming.cc
void handle_data(State &s, const wire::PacketView &v, uint64_t now_ns);
void release_in(State &s, Rpc &r);
void waiter_remove(State &s, uint32_t idx);
/** Gives bpages to waiting messages, shortest first, while the pool has them. */
void retry_buffer_waiters(State &s, uint64_t now_ns);

// grant.cc
/** Enters a message that needs grants into the grant set (and total_incoming). */
void grantable_add(State &s, uint32_t idx);
/** grantable_remove for a message in at least one grant structure. */
void grantable_remove_listed(State &s, uint32_t idx);
/** Takes a message out of the grant set and total_incoming (complete, or freed). Inline: most
 *  messages (all that fit the unscheduled bytes) were never in any of them, and every RPC side
 *  comes here twice (complete_in, detach_rpc). */
inline void grantable_remove(State &s, uint32_t idx) {
    const MsgIn &in = s.rpcs[idx].in;
    if (in.grantable || in.grant_inflight || in.scheduled) grantable_remove_listed(s, idx);
}
/** After DATA: the message's bytes_remaining and granted changed; re-ranks and recounts it. */
void grantable_received(State &s, uint32_t idx);
void update_grants(State &s, uint64_t now_ns);
/** The timer asks for r's granted bytes: they stop counting until the sender delivers. */
void grant_stalled(State &s, uint32_t idx);
/** DATA arrived for a stalled message: it competes for grants again. */
void grant_unstalled(State &s, uint32_t idx);
void handle_grant(State &s, const wire::PacketView &v);

// outgoing.cc
void start_out(State &s, uint32_t idx, const OutMessage &msg, uint32_t length);
void release_out(State &s, Rpc &r);
/** After start_out, from send_request / send_reply: the message's one packet goes to the TX
 *  queue at once when Engine::set_send_now allows it and transmit would pick it first;
 *  otherwise the message joins the send queue. */
void send_or_queue(State &s, uint32_t idx, uint64_t now_ns);
/** An RPC leaving (detach_rpc) whose packet send_or_queue queued is still in `tx`: takes that
 *  packet out, so that nothing is sent from a slot about to be reused. */
void withdraw_sent_now(State &s, Rpc &r);

/** Sends DATA in SRPT order within grants and the pacer, at most `budget` packets, a packet of
 *  len bytes counting as ceil(len * scale / max_payload) / scale of one (Engine::poll), of
 *  which `used_before` (in 1/scale packets) are already spent. `*used`, if given, gets the
 *  budget spent in the end, in the same units. */
uint32_t transmit(State &s, uint64_t now_ns, uint32_t budget, uint32_t max_remaining = UINT32_MAX,
                  uint32_t scale = 1, uint64_t used_before = 0, uint64_t *used = nullptr);
void sendable_remove(State &s, uint32_t idx);
void sendable_add(State &s, uint32_t idx);
void pace_control(State &s, uint32_t bytes, uint64_t now_ns);
/** Sends [start, end) of r's message again (retransmit = 1) at `priority`, as far as the TX
 *  queue allows; returns the packets queued. */
uint32_t retransmit(State &s, Rpc &r, uint32_t start, uint32_t end, uint8_t priority,
                    uint64_t now_ns);

// recovery.cc
void handle_resend(State &s, const wire::PacketView &v, uint64_t now_ns);
void handle_busy(State &s, const wire::PacketView &v);
void handle_rpc_unknown(State &s, const wire::PacketView &v, uint64_t now_ns);
/** Receiver side: asks the sender for every missing range of r's message (one RESEND per
 *  gap, and one for [recv_end, granted)), or probes for the first packet before any data. */
void request_retransmission(State &s, Rpc &r, uint64_t now_ns);
void send_busy(State &s, const IpAddress &dst_ip, uint16_t sport, uint16_t dport, uint64_t id,
               uint64_t now_ns);
void send_resend(State &s, Rpc &r, uint32_t offset, uint32_t length, uint64_t now_ns);

// ack.cc
/** An ack from the peer in slot `peer` (kNil: unknown peer, so no RPC to free). */
/** An ack listed in an ACK packet or riding on DATA from `src` (its peer entry, or kNil). */
void handle_ack_entry(State &s, const wire::AckEntry &a, uint32_t peer, const IpAddress &src);
void handle_ack(State &s, const wire::PacketView &v);
void handle_need_ack(State &s, const wire::PacketView &v, uint64_t now_ns);
void add_peer_ack(State &s, uint32_t peer, uint64_t client_id, uint32_t reply_bytes,
                  uint16_t server_port, uint16_t client_port, uint64_t now_ns);
wire::Ack take_peer_ack(State &s, uint32_t peer);
/** Timer tick: sends every ack still pending (not piggybacked within a tick) in ACK packets. */
void flush_peer_acks(State &s, uint64_t now_ns);
void handle_cutoffs(State &s, const wire::PacketView &v);
void maybe_send_cutoffs(State &s, uint32_t peer, uint16_t their_version, uint16_t their_port,
                        uint16_t our_port, uint64_t our_id, uint64_t now_ns);

// timer.cc
void run_timers(State &s, uint64_t now_ns);
/** The RPC now waits for its peer (or for us, as a receiver the sender must hear from): puts
 *  it on its peer's watch list if it is not there. */
void watch(State &s, uint32_t idx);
/** unwatch for an RPC on its peer's watch list. */
void unwatch_listed(State &s, uint32_t idx);
/** Takes the RPC off its peer's watch list if it is there (inline: it mostly is not). */
inline void unwatch(State &s, uint32_t idx) {
    if (s.rpcs[idx].watched) unwatch_listed(s, idx);
}
/** A packet about r arrived: r and its peer are not silent. */
inline void heard_rpc(State &s, Rpc &r) {
    r.heard = s.quiet;
    r.disowned = false;
    r.probes = 0;
    s.peers[r.key.peer].heard = s.quiet;
}
/** A packet from the peer arrived that does not speak for one RPC's progress. */
inline void heard_peer(State &s, Rpc &r) { s.peers[r.key.peer].heard = s.quiet; }
/** An arriving packet was dropped for reason d (incoming.cc, recovery.cc). */
inline void count_drop(State &s, EngineDrop d) { ++s.stats.drops[static_cast<size_t>(d)]; }

inline uint32_t index_of(const State &s, const Rpc &r) {
    return static_cast<uint32_t>(&r - s.rpcs.data());
}

inline uint32_t peer_max_payload(const State &s, uint32_t pi) {
    return s.peers[pi].ip.is_ipv4() ? s.cfg.max_payload() : wire::max_data_payload6(s.cfg.mtu);
}

template <typename Fields>
bool push_control(State &s, const IpAddress &dst_ip, const Fields &f, wire::PacketType type,
                  uint64_t now_ns) {
    TxPacket *p = push_tx(s, dst_ip, static_cast<uint8_t>(s.cfg.num_priorities - 1));
    if (p == nullptr) {
        ++s.stats.drops[static_cast<size_t>(EngineDrop::kTxQueueFull)];
        return false;
    }
    p->header_len = static_cast<uint8_t>(wire::encode_header(p->header, f));
    ++s.stats.packets_tx[static_cast<uint8_t>(type)];
    pace_control(s, p->header_len, now_ns);
    return true;
}

}  // namespace detail
}  // namespace homa
