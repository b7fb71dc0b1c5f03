// Private state of a Worker, shared by worker.cc (setup, loop, clock), worker_tx.cc (frames out,
// zero-copy send slots) and worker_rx.cc (frames in).
//
// DESIGN NOTES (zero-copy send slots): every outgoing message gets a slot whose
// rte_mbuf_ext_shared_info is shared by all frames that attach its memory. The refcount starts
// at 1 for the engine's reference, and each attached frame adds one. Whoever drops it to zero
// finishes the slot: the engine's release (kOutReleased, on this lcore) finishes it directly;
// DPDK's extbuf free callback (on whatever lcore freed the last frame: with net_ring that is the
// receiving worker) only enqueues the slot to a multi-producer ring this worker drains, so the
// application's `done` callback always runs on the owning lcore.
#pragma once

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "homa/dataplane/worker.h"
#include "homa/mem/bpage_pool.h"
#include "homa/proto/frame_template.h"

namespace homa::dp {

inline constexpr uint32_t kNoSlot = UINT32_MAX;

/** One piece of a registered message: where it is, its IOVA (RTE_BAD_IOVA: copied, never
 *  attached) and, for a pool message, the bpage it lives in (returned when the send ends). */
struct SlotPiece {
    OutMessage::Piece piece;
    uint64_t iova;
    uint32_t pool_offset;
};

/** DESIGN NOTES: what every send and completion touches is in the first cache line, and the
 *  first pieces right after it: with 10^4 sends in flight a slot is cold when it is taken or
 *  finished, and the old layout (an OutMessage, then the IOVAs, then the pool offsets, each
 *  sized for 16 pieces) spread a one-piece message over five lines: take_slot was 8 % of a
 *  client's time at 10^4 live RPCs. */
struct alignas(64) SendSlot {
    rte_mbuf_ext_shared_info shinfo;
    Worker::Impl *owner = nullptr;
    SendDone done = nullptr;
    void *ctx = nullptr;
    uint64_t user_token = 0;
    uint32_t next_free = kNoSlot;
    uint8_t num_pieces = 0;
    uint8_t num_pool_offsets = 0;  ///< Pieces whose pool_offset is theirs to release.
    bool in_use = false;
    SlotPiece pieces[wire::kMaxBpages];  ///< [0, num_pieces) valid.
};
static_assert(offsetof(SendSlot, pieces) <= 64, "the slot's hot fields fit one cache line");

/** WorkerConfig::faults at work on the TX path (worker_tx.cc apply_tx_faults). */
struct TxFaults {
    explicit TxFaults(const FaultConfig &c) : injector(c), delayed(c.delay_capacity) {}
    FaultInjector injector;
    DelayLine<rte_mbuf *> delayed;  ///< Frames held back; freed with the worker.
    std::vector<rte_mbuf *> fresh;  ///< This poll's frames, before the faults.
};

/** The DPDK memseg most recently used for an IOVA lookup (see piece_iova). */
struct MemsegCache {
    const uint8_t *start = nullptr;
    size_t len = 0;
    uint64_t iova = 0;
};

/** What the engine's PoolOps point at: the pool and this worker's cache in it. */
struct PoolBinding {
    mem::BpagePool *pool = nullptr;
    unsigned cache = 0;
};

struct Worker::Impl {
    WorkerConfig cfg;
    PoolBinding binding;  ///< Declared before `engine`, which points at it.
    Engine engine;
    WorkerStats stats;
    TableArray<SendSlot> slots;  ///< max_zero_copy_sends, on huge pages (worker.cc).
    uint32_t free_slot = kNoSlot;
    uint32_t slots_in_use = 0;
    rte_ring *done_ring = nullptr;  ///< Slots whose last frame was freed elsewhere.
    /// register_send's short messages, which the engine copies (OutMessage::copy): no slot,
    /// only their `done` left to run, at the next drain_completions. Reserved to
    /// max_zero_copy_sends and never grown (a callback may add entries while they run).
    struct CopiedSend {
        SendDone done;
        void *ctx;
        uint64_t token;
        bool cancelled;
    };
    std::vector<CopiedSend> copied_sends;
    uint32_t copied_pending = 0;       ///< Entries of copied_sends not cancelled.
    std::vector<rte_mbuf *> tx_batch;  ///< Frames built this poll, not yet sent.
    std::vector<rte_mbuf *> tx_fast;   ///< The same for cfg.fast_queue_id (priority frames).
    /// Polls in a row whose TX burst the port refused outright, per queue (0: queue_id,
    /// 1: fast_queue_id): the timetrace records a streak's first and its end, not each poll.
    uint32_t tx_refused_streak[2] = {};
    std::vector<rte_mbuf *> local_rx;  ///< Frames to ourselves, handled next poll.
    std::vector<uint8_t> scratch;      ///< Linearizing chained frames.
    /// worker_rx.cc's decoded packets of one chunk of a burst (here, not on its stack: 64
    /// PacketViews would be cleared on every call).
    std::array<wire::PacketView, 64> rx_views;
    std::unique_ptr<TxFaults> faults;  ///< Only when cfg.faults is enabled.
    uint64_t tsc_base = 0;
    uint64_t ns_mult = 0;           ///< ns = (tsc - tsc_base) * ns_mult >> 32.
    uint64_t rx_budget_cycles = 0;  ///< WorkerConfig::rx_budget_ns in TSC cycles (0: none).
    uint64_t now_ns = 0;
    /** The last poll's RX gave the application messages, and it left its DATA to the start
     *  of this one (WorkerConfig::yield_to_app). */
    bool tx_deferred = false;
    uint64_t tsc = 0;                       ///< TSC at the last clock read.
    uint64_t last_poll_tsc = 0;             ///< When the last poll began.
    uint64_t last_poll_frames = 0;          ///< rx_frames + tx_frames when it began.
    uint64_t poll_gap_cycles = UINT64_MAX;  ///< WorkerConfig::poll_gap_ns (MAX: off).
    PollGapLog gap_log;                     ///< Worker::set_gap_log.
    MemsegCache memseg_cache;
    bool iova_is_va = false;  ///< rte_eal_iova_mode() == RTE_IOVA_VA
    uint16_t ip_id = 0;
    /// Ethernet + IPv4 headers of every IPv4 frame we send (source MAC, VLAN, local_ip),
    /// patched per frame (worker_tx.cc); the destination MAC is set per next hop.
    wire::Ipv4FrameTemplate ipv4_template;
    MessagePort *cmd_port = nullptr;  ///< attach_command_port(); nullptr: none.
    CommandHandler cmd_handler = nullptr;
    EarlyCommandHandler cmd_early = nullptr;  ///< Runs first in a poll after an idle one.
    bool last_poll_idle = true;               ///< The last poll did no work.
    void *cmd_ctx = nullptr;
    NeighbourCache neighbours;                ///< ARP-resolved next hops (worker_arp_icmp.cc).
    Neighbour6Cache neighbours6;              ///< ND-resolved IPv6 next hops (worker_ndp_icmp6.cc).
    uint32_t tx_batch_limit = 0;              ///< tx_batch never grows past this (no allocation).
    std::unique_ptr<TraceFreeze> own_freeze;  ///< When cfg.trace_freeze was not given.
    TraceFreeze *freeze = nullptr;            ///< The host's (or own_freeze).
    std::unique_ptr<Timetrace> trace;         ///< This lcore's ring; the engine points at it.
    Timetrace *tt = nullptr;                  ///< trace.get(), for HOMA_TT.
    /// tt unless WorkerConfig::timetrace_precise: poll() runs its ring on the stage clock.
    Timetrace *stage_tt = nullptr;
    uint64_t freeze_syncs_served = 0;  ///< TraceFreeze::sync_requests() last answered.

    explicit Impl(const WorkerConfig &c);
    ~Impl();
};

// worker.cc
uint64_t read_clock_ns(Worker::Impl &w);

/** A new stage of the poll starts: its first record reads the clock again (stage clock). */
inline void trace_stage(Worker::Impl &w) {
    if (HOMA_TIMETRACE && w.stage_tt != nullptr) w.stage_tt->new_stage();
}

/** True if the worker has an IPv6 address and `ip` (network order) is it. */
inline bool is_local6(const Worker::Impl &w, const uint8_t *ip) {
    // IpAddress compares words; memcmp here was a call per frame sent.
    const IpAddress local = IpAddress::ipv6(w.cfg.local_ip6);
    return !local.is_unspecified() && IpAddress::ipv6(ip) == local;
}
/** True if a packet to `ip` is for this host itself (looped back, never on the wire). */
inline bool is_local(const Worker::Impl &w, const IpAddress &ip) {
    return ip.is_ipv4() ? ip.ipv4() == w.cfg.engine.local_ip : is_local6(w, ip.bytes().data());
}

// worker_tx.cc
uint32_t build_and_send(Worker::Impl &w);
/** DATA packets the engine may hand out this poll: the room the port showed (tx_batch holds
 *  what it did not take last time). */
uint32_t tx_room(const Worker::Impl &w);
uint32_t drain_completions(Worker::Impl &w);

// worker_rx.cc
uint32_t receive(Worker::Impl &w);

// worker_commands.cc
uint32_t serve_command_port(Worker::Impl &w);
// worker_arp_icmp.cc
/** Sets the frame's destination MAC and queues it on tx_batch, or holds it while its next
 *  hop is resolved, or frees it (counted). Takes the mbuf in every case. */
void send_to_next_hop(Worker::Impl &w, rte_mbuf *m, uint32_t dst_ip, bool fast = false);
/** The same for an IPv6 frame, resolved through the IPv6 neighbour cache (worker_ndp_icmp6.cc);
 *  dropped and counted (tx_no_ipv6_address) when the worker has no IPv6 address. */
void send_to_next_hop6(Worker::Impl &w, rte_mbuf *m, const wire::Ipv6Addr &dst_ip,
                       bool fast = false);
/** Handles a non-Homa frame (ARP, ICMP echo); returns true if it was one of those. The
 *  frame is only read; `steered` says another worker already answered it. */
bool handle_arp_icmp_frame(Worker::Impl &w, const uint8_t *data, uint32_t len, bool steered);
/** Neighbour timers: ARP and ND retries, drops of frames whose next hop failed. */
uint32_t poll_neighbours(Worker::Impl &w);
/** Frees frames still held for resolution (shutdown). */
void drop_held_frames(Worker::Impl &w);
/** Queues a finished frame for the next TX burst (dropped and counted beyond the limit);
 *  `fast`: on the priority queue, when the worker has one. (send_to_next_hop's `fast` too.) */
void queue_tx(Worker::Impl &w, rte_mbuf *m, bool fast = false);
/** Writes the destination MAC (bytes 0..5) of a built frame. */
void set_dst_mac(rte_mbuf *m, const MacAddr &mac);

/** Builds a frame of at most `room` bytes in a fresh mbuf with `fill(span) -> length`;
 *  nullptr (counted as tx_no_mbuf) if there is no mbuf, or if fill returned 0. */
template <typename Fill>
rte_mbuf *build_frame(Worker::Impl &w, size_t room, Fill &&fill) {
    rte_mbuf *m = rte_pktmbuf_alloc(w.cfg.mbuf_pool);
    if (m == nullptr) {
        ++w.stats.tx_no_mbuf;
        return nullptr;
    }
    room = std::min<size_t>(room, rte_pktmbuf_tailroom(m));
    size_t len = fill(std::span<uint8_t>(rte_pktmbuf_mtod(m, uint8_t *), room));
    if (len == 0) {
        rte_pktmbuf_free(m);
        return nullptr;
    }
    rte_pktmbuf_append(m, static_cast<uint16_t>(len));
    return m;
}

// worker_ndp_icmp6.cc
/** Handles an ICMPv6 frame (NS, NA, echo request) when the worker has an IPv6 address;
 *  returns true if it was one of those. `steered`: another worker already answered it. */
bool handle_ndp_icmp6_frame(Worker::Impl &w, const uint8_t *data, uint32_t len, bool steered);
/** True if the frame is a Neighbour Solicitation or Advertisement (shared between workers). */
bool is_nd_frame(const uint8_t *data, uint32_t len);
/** ND timers: solicitations re-probing stale neighbours (and, once frames are held, retries
 *  and drops of frames whose next hop failed). */
uint32_t poll_neighbours6(Worker::Impl &w);

}  // namespace homa::dp
