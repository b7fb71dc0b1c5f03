/**
 * @file
 * A worker: one protocol engine bound to one RX/TX queue pair of a DPDK port and to a bpage
 * pool, run by polling. Each poll() is one iteration of the poll-mode loop:
 * RX burst -> validate -> engine; commands from other threads, if a command port is attached
 * (attach_command_port); engine grants/transmit/timers; frames out (zero-copy); completions of
 * zero-copy sends. It is also a host on its link: it answers ARP and ICMP echo for its address
 * and resolves next hops by ARP (neighbour.h). Several workers of one host share a Steering
 * object: a frame whose RPC another worker owns is handed to it (steering.h, which also says
 * where sockets must be opened).
 *
 * @code
 *   homa::dp::WorkerConfig wc;
 *   wc.port_id = 0; wc.mbuf_pool = mp; wc.pool = bpages.get();
 *   wc.engine.local_ip = 0x0A000001;
 *   std::string err;
 *   auto w = homa::dp::Worker::create(wc, &err);
 *   homa::dp::Socket sock;  homa::dp::Socket::open(*w, 99, &sock);     // see socket.h
 *   while (!quit) { w->poll(); serve(sock); }                         // run-to-completion
 * @endcode
 *
 * Ownership: the Worker borrows the port queue, the mbuf pool and the bpage pool; they must
 * outlive it. Threading: a Worker belongs to the lcore that polls it; every method (and every
 * Socket on it) may be called only from that lcore. The one exception is the extbuf free
 * callback DPDK calls when a PMD frees a zero-copy frame, possibly on another lcore: it only
 * enqueues to a multi-producer rte_ring that the owning lcore drains.
 * Errors: create() returns nullptr with a message; the datapath counts what it drops.
 */
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "homa/dataplane/neighbour.h"
#include "homa/proto/engine.h"
#include "homa/proto/fault.h"
#include "homa/proto/timetrace.h"

struct rte_mempool;

namespace homa::mem {
class BpagePool;
}

namespace homa::dp {

class MessagePort;

using MacAddr = std::array<uint8_t, 6>;
class Steering;

struct WorkerConfig {
    static constexpr uint16_t kNoQueue = UINT16_MAX;
    uint16_t port_id = 0;
    uint16_t queue_id = 0;
    /** This worker's priority queue pair (PortInfo::fast_queue), or kNoQueue. Frames of
     *  priority fast_from_priority and up (by default the control packets and the unscheduled
     *  packets of messages up to 2,800 B, wire::kDefaultUnschedCutoffs) go out on it, and RX
     *  reads it to its end after queue_id's budget: on a point-to-point link they overtake
     *  bulk data in both rings, and what they complete reaches the application right after
     *  the poll's RX (yield_to_app), as a switch's priority queues would let them. A frame
     *  held for address resolution leaves on queue_id. */
    uint16_t fast_queue_id = kNoQueue;
    uint8_t fast_from_priority = 6;
    EngineConfig engine;               ///< engine.local_ip: this host's IPv4 address
                                       ///< (0: none; then local_ip6 is required).
    rte_mempool *mbuf_pool = nullptr;  ///< Header, copy and extbuf mbufs.
    mem::BpagePool *pool = nullptr;    ///< Incoming messages and copied sends.
    unsigned pool_cache = 0;           ///< This worker's cache in `pool`.
    MacAddr local_mac{};               ///< Source MAC (PortInfo::mac).
    MacAddr default_dst_mac = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    std::vector<std::pair<uint32_t, MacAddr>> neighbours;  ///< Static IP -> MAC entries.
    /// Resolve other next hops by ARP (frames held meanwhile). When false, frames to an
    /// address without a static entry go to default_dst_mac (a point-to-point link).
    bool resolve_neighbours = true;
    NeighbourConfig neighbour;  ///< Cache size, hold queue, probe timers.
    uint32_t netmask = 0;       ///< Our subnet (host order); 0: every address is
                                ///< on the link.
    uint32_t gateway = 0;       ///< Next hop for addresses outside the subnet.
    /// This host's IPv6 address (network order); :: = no IPv6. With one, Homa runs over IPv6
    /// to peers with IPv6 addresses, and the worker answers Neighbour Solicitations for it and
    /// ICMPv6 echo to it, and resolves IPv6 next hops by ND (every IPv6 destination is taken
    /// to be on the link: no IPv6 gateway yet).
    wire::Ipv6Addr local_ip6{};
    std::vector<std::pair<wire::Ipv6Addr, MacAddr>> neighbours6;  ///< Static IPv6 -> MAC.
    uint16_t vlan_id = 0;          ///< 802.1Q tag on our frames (PCP = priority); 0: none.
                                   ///< Frames of another VLAN (or untagged) are dropped.
    bool rx_queue = true;          ///< False: no RX queue of its own (the port has fewer
                                   ///< than the workers); frames come by steering only.
    Steering *steering = nullptr;  ///< Shared by the host's workers; nullptr: alone.
    uint16_t worker_index = 0;     ///< This worker's index in `steering`.
    bool multi_seg_tx = true;      ///< Port can send chains (PortInfo::multi_seg_tx).
    uint16_t burst = 32;
    /** RX bursts a poll may read before the engine's timers and TX run (in this poll, or at
     *  the start of the next with yield_to_app). RX drains before the timers run so
     *  that a slow peer's packets already in our ring are never taken for its silence; when
     *  the budget ends with the ring still delivering full bursts, the engine is told
     *  (Engine::note_backlog) and that tick does not count as silence. */
    uint16_t rx_budget_bursts = 8;
    /** While the engine holds more than this many replies it has not handed out
     *  (Engine::queued_replies), a poll reads from each RX queue at most the frames its TX may
     *  send (tx_data_budget x tx_budget_scale, in whole bursts, within rx_budget_bursts), and
     *  counts the rest as backlog. A server that takes in requests faster than it answers
     *  them turns frames waiting in its ring into RPCs waiting in its memory: at 10^5 live
     *  RPCs those are cache misses twice, when the reply leaves and when the client receives
     *  it (sent 10^5 RPCs earlier). Taking in what it sends leaves the queue with the senders
     *  of the requests, the client, whose replies then come back warm (issue 12, docs/perf.md,
     *  thirty-second session). Replies only: a client's RX completes RPCs, it never owes more
     *  for what it reads. 0: never (every poll may read rx_budget_bursts). */
    uint32_t rx_match_tx_above = 128;
    /** If not 0, RX also stops after the first full burst that ends this many ns after the
     *  poll began, however many bursts rx_budget_bursts still allows: a poll of bulk frames
     *  then lasts about this long, so short messages behind it (their next hop is the engine's
     *  TX or the application) wait no longer, while cheap small frames still fill a poll's
     *  bursts. A budget ended early counts as backlog like a spent one. With tx_data_budget 16
     *  this halved W4's short-message p50 slowdown at 80 % load over memif (11.8 to 5.1,
     *  medians of 4 alternating pairs) at the same 100 B echo rate and 1 MB goodput (issue 12,
     *  docs/perf.md). */
    uint64_t rx_budget_ns = 3'000;
    /** A poll that begins more than this many ns after the one before it counts as a gap
     *  (WorkerStats::poll_gaps, Worker::set_gap_log): for that long this lcore served no
     *  packet, because the host took its vCPU, the kernel preempted its thread, or the
     *  application between two polls (or one poll itself) took that long; an idle backoff's
     *  sleep counts too. A poll lasts a few us (rx_budget_ns, tx_data_budget), so on a
     *  busy-polling lcore gaps of tens of us are the lcore being away, and every open-loop
     *  arrival meanwhile waits for its end (docs/perf.md). 0: not counted. */
    uint64_t poll_gap_ns = 50'000;
    /** DATA packets the engine may hand out per poll while the port takes everything; when
     *  the port leaves frames behind, the engine gets only the room left, so unsent data stays
     *  in its SRPT order instead of in a queue it cannot see. */
    uint16_t tx_data_budget = 16;
    /** tx_data_budget counts a DATA packet of len bytes as ceil(len * tx_budget_scale /
     *  max_payload) / tx_budget_scale packets (Engine::poll's budget_scale; 1..64, 1: every
     *  packet one): the budget bounds a poll's bulk copying, and a 100 B message is an eighth
     *  of a full packet's work at most. With every packet counted as one, a poll that took 256
     *  responses from RX could start only 16 of the requests they freed: at 10^5 live RPCs over
     *  memif with priority queues, the closed loop swung between polls of all RX and polls of
     *  all TX, at 1.3-1.6 M RPC/s against 2.2 M with one queue (issue 12, docs/perf.md). */
    uint16_t tx_budget_scale = 8;
    /** When a poll's RX made messages ready for the application, that poll hands out no DATA
     *  (its timers, grants and control packets still run after RX): the DATA leaves at the
     *  start of the next poll (Engine::send_data), after the short messages the application
     *  queued meanwhile (short_before_rx). A run-to-completion application on this lcore then
     *  reads them at once instead of after a poll's worth of bulk frames (building and handing
     *  ~16 of them to memif took 5-7 us, most of a short message's wait at a loaded host).
     *  Every poll hands out DATA once, so bulk data leaves on every poll. With priority
     *  queues the priority queue is read after the bulk one, so that what arrived there
     *  meanwhile is delivered too. Applications on other threads gain nothing from it: turn
     *  it off for those hosts. */
    bool yield_to_app = true;
    /** A poll first hands out the messages down to their last packet (Engine::
     *  send_last_packets: what a run-to-completion application queued since the last poll,
     *  shortest first) and only then reads its RX queues. Under load RX is the long stage:
     *  reading and handling one burst of bulk frames took 5-7 us with the vCPUs apart, and a
     *  100 B request queued by the application waited for all of it (docs/load.md). Grants,
     *  timers and the rest of TX still run after RX. With it, a one-packet message the
     *  application sends between polls goes straight to the engine's TX queue (Engine::
     *  set_send_now, within the port's room), skipping the send queue. */
    bool short_before_rx = true;
    uint32_t copy_below = 256;  ///< Payloads shorter than this are copied, not attached.
    uint32_t max_zero_copy_sends = 1u << 16;  ///< Outgoing messages tracked at once.
    /** Count TSC cycles per stage of poll() (WorkerStats::cycles_*). Costs four extra TSC
     *  reads per poll (about 20 ns each on a VM), hence off by default. */
    bool stage_cycles = false;
    /** Timetrace ring of this worker's lcore (timetrace.h): records, a power of two from 16
     *  to 2^22 (32 bytes each), or 0 for none (the engine records nothing, FREEZE is ignored). */
    uint32_t timetrace_records = 1u << 16;
    /** Every record reads the TSC. By default the records written inside poll() share one read
     *  per stage of the poll (each RX burst, commands, engine timers, engine data, TX,
     *  completions; Timetrace::begin_stage_clock): about 10 % of a core's cycles on a busy
     *  one-core echo, at the price of times within a stage. The records between two polls
     *  (the application's calls on this lcore) are one stage of their own. */
    bool timetrace_precise = false;
    /** The host's freeze switch, shared by all its workers' rings (Host sets it); nullptr: this
     *  worker is a host of its own and makes one. Borrowed: must outlive the worker. */
    TraceFreeze *trace_freeze = nullptr;
    /** Test aid: faults applied to every frame this worker sends to the port (not to local
     *  delivery), after it is built and before tx_burst. Off unless a rule has a probability;
     *  counted in WorkerStats::tx_fault_*. */
    FaultConfig faults;
};

/** Counters of one worker (engine counters are in engine().stats()). */
struct WorkerStats {
    uint64_t polls = 0;
    uint64_t busy_polls = 0;          ///< Polls that did any work.
    uint64_t rx_frames = 0;           ///< Frames handled (a steered one by both workers).
    uint64_t rx_not_for_us = 0;       ///< Valid IPv4 but another destination address.
    uint64_t tx_no_ipv6_address = 0;  ///< Frames to an IPv6 peer from a worker without an
                                      ///< IPv6 address (local_ip6): dropped.
    uint64_t rx_decode_errors[wire::kNumDecodeErrors] = {};
    uint64_t rx_linearized = 0;  ///< Chained frames copied before decoding.
    uint64_t rx_too_big = 0;     ///< Chained frames beyond the scratch buffer.
    uint64_t tx_frames = 0;
    uint64_t tx_yields =
        0;  ///< Polls that left their engine poll and TX to the next (yield_to_app).
    uint64_t tx_fast_frames = 0;  ///< Of those, on the priority queue (fast_queue_id).
    uint64_t rx_fast_frames = 0;  ///< Frames read from the priority queue.
    uint64_t tx_zero_copy = 0;    ///< Frames whose payload was attached, not copied.
    uint64_t tx_copied = 0;
    uint64_t tx_local = 0;         ///< Frames delivered to ourselves (local delivery).
    uint64_t tx_retries = 0;       ///< Bursts the port did not take at once.
    uint64_t tx_no_mbuf = 0;       ///< Frames dropped: mbuf pool empty (resent later).
    uint64_t sends_completed = 0;  ///< Outgoing messages whose memory was given back.
    // ARP, ICMP echo and steering (worker_arp_icmp.cc, worker_rx.cc)
    uint64_t rx_arp = 0;  ///< ARP frames handled (received or steered to us).
    uint64_t arp_replies_sent = 0;
    uint64_t arp_requests_sent = 0;
    uint64_t rx_icmp_echo = 0;             ///< Echo requests to us, answered.
    uint64_t rx_other = 0;                 ///< Neither ARP, Homa nor ICMP echo to us: dropped.
    uint64_t rx_wrong_vlan = 0;            ///< Tagged for another VLAN (or untagged on a VLAN).
    uint64_t rx_bad_checksum_offload = 0;  ///< The port flagged a bad IPv4 checksum.
    uint64_t tx_queue_full = 0;     ///< Frames dropped: tx_batch full (link down, port stuck).
    uint64_t rx_backlog_polls = 0;  ///< Polls that ended their RX budget on a full burst.
    /** Polls whose RX budget was cut to their TX budget because replies queued up
     *  (WorkerConfig::rx_match_tx_above). */
    uint64_t rx_matched_polls = 0;
    uint64_t tx_backlog_polls = 0;  ///< Polls that left frames the port did not take.
    uint64_t steered_out = 0;       ///< Frames handed to their owner worker.
    uint64_t steered_in = 0;        ///< Frames another worker handed to us.
    uint64_t steer_ring_full = 0;   ///< Frames dropped: the owner's ring was full.
    uint64_t acks_forwarded = 0;    ///< Acks passed to the worker that owns their RPC.
    uint64_t acks_received = 0;     ///< Acks another worker passed to us (Engine::apply_ack).
    uint64_t acks_repeated = 0;     ///< Acks for no RPC whose owner is this worker: repeats.
    uint64_t ack_ring_full = 0;     ///< Acks dropped: the owner's ack ring was full.
    uint64_t arp_shared = 0;        ///< ARP frames copied to the other workers' caches.
    // IPv6 Neighbour Discovery and ICMPv6 echo (worker_ndp_icmp6.cc)
    uint64_t rx_nd = 0;                   ///< NS/NA frames handled (received or steered).
    uint64_t nd_advertisements_sent = 0;  ///< Answers to solicitations for our address.
    uint64_t nd_solicitations_sent = 0;   ///< Resolutions of IPv6 next hops (and retries).
    uint64_t rx_icmp6_echo = 0;           ///< ICMPv6 echo requests to us, answered.
    // TSC cycles per stage of poll(), when WorkerConfig::stage_cycles is on.
    uint64_t cycles_rx = 0;             ///< RX burst, validation, engine receive pipeline.
    uint64_t cycles_engine = 0;         ///< Grants, transmit decisions, timers.
    uint64_t cycles_tx = 0;             ///< Frame building, TX bursts (both passes).
    uint64_t cycles_completions = 0;    ///< Send completions.
    uint64_t poll_gaps = 0;             ///< Polls begun over poll_gap_ns after the one before,
    uint64_t poll_gap_ns = 0;           ///<   those gaps' total length (ns),
    uint64_t poll_gap_max_ns = 0;       ///<   the longest,
    uint64_t poll_gaps_not_logged = 0;  ///<  and those the gap log had no room for.
    uint64_t tx_fault_dropped = 0;      ///< WorkerConfig::faults: frames dropped,
    uint64_t tx_fault_duplicated = 0;   ///<   sent twice,
    uint64_t tx_fault_reordered = 0;    ///<   held back behind later frames,
    uint64_t tx_fault_corrupted = 0;    ///<   with a byte flipped.
};

/** One gap between two polls (WorkerConfig::poll_gap_ns), in TSC cycles: `start` is when the
 *  poll before it began, `end` when the late one began. `frames`: the frames the worker read
 *  and sent in between (WorkerStats::rx_frames + tx_frames), the work the gap may have been:
 *  a gap with none was the lcore away (or idle in a backoff sleep), one with hundreds may be
 *  one long poll of its own (or the application's work after it). */
struct PollGap {
    uint64_t start_tsc = 0;
    uint64_t end_tsc = 0;
    uint64_t frames = 0;
};

/** Where a worker logs its poll gaps (Worker::set_gap_log): `capacity` entries at `entries`,
 *  of which the first `*count` are written. The worker stores an entry before it raises the
 *  count (release), so a reader on another thread, or in another process that maps the same
 *  memory, sees whole entries up to the count it loads (acquire). The memory is the caller's. */
struct PollGapLog {
    PollGap *entries = nullptr;
    uint64_t capacity = 0;
    std::atomic<uint64_t> *count = nullptr;
};

/** Called on the worker's lcore when an outgoing message's memory may be reused. */
using SendDone = void (*)(void *ctx, uint64_t user_token);

/**
 * Serves a command port (see Worker::attach_command_port): called once per poll() with the
 * attached port; it takes one receive_burst() of at most kMessagePortBurst messages and serves
 * them, and may push completions to its clients. Returns the work it did (0: none). Runs on the
 * worker's lcore; must not block.
 */
using CommandHandler = uint32_t (*)(void *ctx, MessagePort &port);
/**
 * Optional second entry of a command port's owner (Worker::attach_command_port): called at the
 * start of a poll that follows a poll with no work, before the poll transmits or reads RX, to
 * take what the application queued since. Returns the work it did. Same lcore and rules as the
 * CommandHandler; it must not read the port (commands keep their place in the poll).
 */
using EarlyCommandHandler = uint32_t (*)(void *ctx);

class Worker {
  public:
    /** Creates a worker for an already started port queue. Returns nullptr and sets `error`
     *  for a missing pool or mbuf pool, an invalid engine or fault config, or ring creation
     *  failure. */
    static std::unique_ptr<Worker> create(const WorkerConfig &config, std::string *error);
    ~Worker();
    Worker(const Worker &) = delete;
    Worker &operator=(const Worker &) = delete;

    /** One loop iteration. Returns true if it did any work (frames in or out, completions). */
    bool poll();

    /** The engine, for sockets and statistics. Owning lcore only. */
    Engine &engine() noexcept;
    mem::BpagePool &pool() noexcept;
    unsigned pool_cache() const noexcept;
    const WorkerStats &stats() const noexcept;
    /** The neighbour cache (state and counters). Owning lcore only. */
    const NeighbourCache &neighbours() const noexcept;
    /** The IPv6 neighbour cache (state and counters). Owning lcore only. */
    const Neighbour6Cache &neighbours6() const noexcept;
    /** The neighbour cache's counters alone. Any thread, like stats(): plain integers that only
     *  the owning lcore writes, so a reader gets a possibly torn but never invalid snapshot. */
    const NeighbourStats &neighbour_stats() const noexcept;
    /** Zeroes the worker's counters (not the engine's). Owning lcore only. */
    void clear_stats() noexcept;
    /** The host-order IPv4 address (WorkerConfig::engine.local_ip); 0 on an IPv6-only host. */
    uint32_t local_ip() const noexcept;
    /** The address sockets on this worker are reached at: the IPv4 one if the worker has one
     *  (IPv4-mapped), else its IPv6 one. Any thread: configuration, never changed. */
    IpAddress local_address() const noexcept;
    /** The DPDK port this worker's queue pair belongs to (for the port's own counters). */
    uint16_t port_id() const noexcept;
    /** WorkerConfig::poll_gap_ns (0: gaps are not counted). Any thread: configuration. */
    uint64_t poll_gap_threshold_ns() const noexcept;
    /** Nanoseconds on the worker's clock (TSC based), read now. */
    uint64_t now_ns() const noexcept;
    /** The clock as of the start of the current poll (no TSC read): what sockets use. */
    uint64_t poll_time_ns() const noexcept;

    /**
     * Registers an outgoing message for zero-copy transmission and returns the OutMessage to
     * hand to the engine (its token identifies the registration). `done` runs on this lcore
     * once the engine has released the message and every frame referencing it was freed.
     * A message of up to OutMessage::kCopyMax bytes is not borrowed: `out` asks the engine to
     * copy it (OutMessage::copy), no slot is taken, and `done` runs at this worker's next
     * poll. Returns -ENOSPC when max_zero_copy_sends are in flight (nothing registered).
     * cancel_send must come before the next poll (right after the engine refused `out`).
     */
    int register_send(const OutMessage &pieces, SendDone done, void *ctx, uint64_t user_token,
                      OutMessage *out);
    /**
     * Like register_send for a message that lives in this worker's bpage pool (e.g. a
     * received request echoed back, or a copied send): `count` offsets as alloc_message gave
     * them, `length` bytes. The bpages go back to the pool when the send completes, then
     * `done` (may be nullptr) runs. Ownership of the offsets passes to the worker on success.
     */
    int register_pool_send(const uint32_t *offsets, uint32_t count, uint32_t length, SendDone done,
                           void *ctx, uint64_t user_token, OutMessage *out);
    /**
     * For a pool message short enough for the engine to copy when it is sent (one bpage of at
     * most OutMessage::kCopyMax bytes): fills `out` (OutMessage::copy set, pointing into the
     * bpage) and returns true; no slot is taken and no completion will come. The bpage stays
     * the caller's: it goes back to the pool after the engine's send call, whatever that
     * returned. False, `out` untouched, for any other message (register_pool_send then).
     * Any thread: reads only the pool's base.
     */
    bool copy_pool_send(const uint32_t *offsets, uint32_t count, uint32_t length,
                        OutMessage *out) const noexcept;
    /**
     * Undoes a registration whose OutMessage the engine refused (nothing was transmitted):
     * frees the slot without calling `done`; pool bpages of a register_pool_send go back to
     * the pool. Returns -EINVAL for a token that is not registered.
     */
    int cancel_send(const OutMessage &registered);
    /** Zero-copy sends registered and not yet completed. */
    uint32_t sends_in_flight() const noexcept;

    /** From now on, appends every poll gap (WorkerConfig::poll_gap_ns) to `log` while its
     *  capacity lasts, and counts the gaps that found it full in WorkerStats::
     *  poll_gaps_not_logged. A log without entries or count stops it. Its memory is borrowed:
     *  it must stay valid until replaced or the worker is gone. Call on the owning lcore (or
     *  while nothing polls the worker); read the log from anywhere (PollGapLog). */
    void set_gap_log(const PollGapLog &log) noexcept;

    /** This lcore's timetrace ring (nullptr when timetrace_records is 0). Records only on the
     *  owning lcore; snapshots and dumps from any thread (timetrace.h). */
    Timetrace *timetrace() noexcept;
    /** The host's freeze switch (WorkerConfig::trace_freeze, or the worker's own). Any thread.
     *  Its sync_freeze() makes this worker send FREEZE to every peer its engine knows at its
     *  next poll(). */
    TraceFreeze &trace_freeze() noexcept;

    /**
     * Makes poll() call handler(ctx, *port) once per iteration, which drains `port` (one
     * receive_burst per iteration): how application threads and other lcores reach
     * this worker (socket_service.h). The port, and ctx, must stay valid until detached with
     * port == nullptr. Unused, it costs poll() one predictable branch. Owning lcore only.
     * `early` (may be null) also runs at the start of every poll after an idle one: at low
     * load what the application queued then leaves in the poll that first sees it, ahead of
     * that poll's RX, instead of after it (and, sent to a socket on this worker, arrives in
     * the same poll rather than the next). A busy worker skips it and keeps its batches.
     * Returns 0, -EINVAL (port without handler), -EBUSY (another port is attached).
     */
    int attach_command_port(MessagePort *port, CommandHandler handler, void *ctx,
                            EarlyCommandHandler early = nullptr);

    struct Impl;

  private:
    explicit Worker(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

/**
 * Polls `workers` (each once per round, on the calling thread) until none has a send in flight
 * (Worker::sends_in_flight: replies acknowledged, zero-copy memory back), or `timeout_ns`
 * passes. What must happen before sockets' pools and workers are torn down; the workers that
 * answer each other's RPCs must be drained together. Returns 0, or -ETIMEDOUT (sends still
 * in flight: a peer went silent). The thread that polls them; none of them polled elsewhere.
 */
int drain_workers(std::span<Worker *const> workers, uint64_t timeout_ns);

}  // namespace homa::dp
