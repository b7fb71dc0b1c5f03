// Worker setup, the poll loop iteration and the clock; see worker.h.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include <algorithm>
#include <cerrno>

#include "homa/dataplane/steering.h"
#include "homa/mem/table_memory.h"
#include "worker_impl.h"

namespace homa::dp {
namespace {

// Room for the acks one poll's RX finds for other workers' RPCs (EngineConfig::
// stray_ack_capacity; worker_rx.cc passes them on when RX ends): a poll reads a few hundred
// frames, each with at most 1 + kMaxAcks acks. 96 KB per worker of a steering group.
constexpr uint32_t kStrayAcks = 4096;

int pool_alloc(void *ctx, uint32_t length, uint32_t offsets[wire::kMaxBpages]) {
    auto *b = static_cast<PoolBinding *>(ctx);
    return b->pool->alloc_message(length, b->cache, offsets);
}

void pool_release(void *ctx, const uint32_t *offsets, uint32_t count) {
    auto *b = static_cast<PoolBinding *>(ctx);
    b->pool->release(offsets, count, b->cache);
}

uint64_t pool_generation(void *ctx) {
    return static_cast<PoolBinding *>(ctx)->pool->release_generation();
}

void *map_table(void *, size_t bytes) { return mem::map_table(bytes); }
void unmap_table(void *, void *p, size_t bytes) { mem::unmap_table(p, bytes); }

// The engine's RPC slab and index and our send slots: huge pages (mem/table_memory.h).
TableMemory huge_tables() { return TableMemory{nullptr, &map_table, &unmap_table}; }

PoolOps pool_ops(PoolBinding *b) {
    return PoolOps{b,
                   b->pool ? b->pool->base() : nullptr,
                   &pool_alloc,
                   &pool_release,
                   &pool_generation,
                   huge_tables()};
}

}  // namespace

Worker::Impl::Impl(const WorkerConfig &c)
    : cfg(c),
      binding{c.pool, c.pool_cache},
      engine(c.engine, pool_ops(&binding)),
      neighbours(c.neighbour),
      neighbours6(c.neighbour) {}

Worker::Impl::~Impl() {
    drop_held_frames(*this);
    for (rte_mbuf *m : tx_batch) rte_pktmbuf_free(m);
    for (rte_mbuf *m : tx_fast) rte_pktmbuf_free(m);
    for (rte_mbuf *m : local_rx) rte_pktmbuf_free(m);
    if (faults) faults->delayed.flush([](rte_mbuf *m) { rte_pktmbuf_free(m); });
    if (done_ring) rte_ring_free(done_ring);
}

uint64_t read_clock_ns(Worker::Impl &w) {
    uint64_t tsc = rte_get_tsc_cycles();
    w.tsc = tsc;
    uint64_t d = tsc - w.tsc_base;
    w.now_ns = static_cast<uint64_t>((static_cast<__uint128_t>(d) * w.ns_mult) >> 32);
    return w.now_ns;
}

namespace {

// A duration in TSC cycles, at least 1 for any duration above 0 (0 stays 0: "none").
uint64_t ns_to_tsc(uint64_t ns) {
    const auto c =
        static_cast<uint64_t>((static_cast<__uint128_t>(ns) * rte_get_tsc_hz()) / 1'000'000'000u);
    return ns != 0 && c == 0 ? 1 : c;
}

}  // namespace

std::unique_ptr<Worker> Worker::create(const WorkerConfig &config, std::string *error) {
    auto fail = [&](const std::string &m) -> std::unique_ptr<Worker> {
        if (error) *error = m;
        return nullptr;
    };
    if (config.pool == nullptr) return fail("worker: no bpage pool");
    if (config.mbuf_pool == nullptr) return fail("worker: no mbuf pool");
    if (config.burst == 0 || config.max_zero_copy_sends == 0 || config.rx_budget_bursts == 0 ||
        config.tx_data_budget == 0) {
        return fail(
            "worker: burst, rx_budget_bursts, tx_data_budget and max_zero_copy_sends "
            "must be > 0");
    }
    if (config.tx_budget_scale == 0 || config.tx_budget_scale > 64) {
        return fail("worker: tx_budget_scale must be 1-64");
    }
    if (config.engine.local_ip == 0 && config.local_ip6 == wire::Ipv6Addr{}) {
        return fail("worker: neither engine.local_ip nor local_ip6 is set");
    }
    if (std::string why; !config.faults.validate(&why)) return fail("worker: faults: " + why);
    if (config.vlan_id > 4094) return fail("worker: vlan_id must be 0..4094");
    if (config.steering != nullptr) {
        // Responses find their client RPC's worker by id: the id space must say who owns it.
        uint16_t n = config.steering->num_workers(), k = config.worker_index;
        if (k >= n) return fail("worker: worker_index beyond the steering group");
        if (config.engine.first_client_id != 2 + 2 * uint64_t{k} ||
            config.engine.id_stride != 2 * uint64_t{n}) {
            return fail("worker " + std::to_string(k) + " of " + std::to_string(n) +
                        ": engine ids must be first_client_id = 2 + 2k, id_stride = 2n "
                        "(Steering::configure_engine_ids)");
        }
    }
    WorkerConfig cfg = config;
    if (cfg.steering != nullptr && cfg.steering->num_workers() > 1 &&
        cfg.engine.stray_ack_capacity == 0) {
        cfg.engine.stray_ack_capacity = kStrayAcks;
    }
    auto impl = std::make_unique<Impl>(cfg);
    if (!impl->engine.ok())
        return fail(std::string("worker: engine config: ") + impl->engine.error());
    Impl &w = *impl;
    wire::FrameAddr shared;
    shared.src_mac = config.local_mac;
    shared.dst_mac = config.local_mac;  // send_to_next_hop writes the next hop's
    shared.vlan_id = config.vlan_id;
    shared.src_ip = config.engine.local_ip;
    if (!w.ipv4_template.build(shared)) return fail("worker: cannot build the IPv4 header");

    w.slots.create(config.max_zero_copy_sends, huge_tables());
    for (uint32_t i = config.max_zero_copy_sends; i-- > 0;) {
        w.slots[i].owner = &w;
        w.slots[i].next_free = w.free_slot;
        w.free_slot = i;
    }
    w.copied_sends.reserve(config.max_zero_copy_sends);
    char name[RTE_RING_NAMESIZE];
    // Ring names are process-wide: the Impl's address makes this one unique.
    snprintf(name, sizeof(name), "hdone_%lx", reinterpret_cast<unsigned long>(&w));
    w.done_ring = rte_ring_create(name, rte_align32pow2(config.max_zero_copy_sends + 1),
                                  rte_socket_id(), RING_F_SC_DEQ);
    if (w.done_ring == nullptr) {
        return fail(std::string("worker: rte_ring_create: ") + rte_strerror(rte_errno));
    }
    // Room for a poll's engine packets, ARP/ICMP answers and released held frames on top of
    // what a port that stopped taking frames left behind; beyond it frames are dropped.
    w.tx_batch_limit = 2 * config.engine.tx_queue_packets;
    size_t batch_room = w.tx_batch_limit + config.engine.tx_queue_packets;
    if (config.faults.enabled()) {
        w.faults = std::make_unique<TxFaults>(config.faults);
        // Duplicates and released delayed frames join a poll's batch: room for them too.
        batch_room += config.engine.tx_queue_packets + config.faults.delay_capacity;
        w.faults->fresh.reserve(config.engine.tx_queue_packets);
    }
    w.tx_batch.reserve(batch_room);
    if (config.fast_queue_id != WorkerConfig::kNoQueue) {
        if (config.fast_queue_id == config.queue_id) {
            return fail("worker: fast_queue_id must differ from queue_id");
        }
        w.tx_fast.reserve(batch_room);
    }
    for (const auto &[ip, mac] : config.neighbours) {
        if (!w.neighbours.add_static(ip, mac)) return fail("worker: too many static neighbours");
    }
    for (const auto &[ip, mac] : config.neighbours6) {
        if (!w.neighbours6.add_static(ip, mac)) {
            return fail("worker: too many static IPv6 neighbours");
        }
    }
    w.freeze = config.trace_freeze;
    if (w.freeze == nullptr) {
        w.own_freeze = std::make_unique<TraceFreeze>(kTraceClockIsTsc ? rte_get_tsc_hz() : 0);
        w.freeze = w.own_freeze.get();
    }
    w.freeze_syncs_served = w.freeze->sync_requests();
    if (config.timetrace_records != 0) {
        std::string why;
        w.trace = Timetrace::create(config.timetrace_records, *w.freeze, &why);
        if (!w.trace) return fail("worker: " + why);
        w.tt = w.trace.get();
        if (!config.timetrace_precise) w.stage_tt = w.tt;
        w.engine.set_timetrace(w.tt);
    }
    w.local_rx.reserve(config.engine.tx_queue_packets);
    w.scratch.resize(16384);
    w.iova_is_va = rte_eal_iova_mode() == RTE_IOVA_VA;
    w.tsc_base = rte_get_tsc_cycles();
    w.ns_mult = (uint64_t{1'000'000'000} << 32) / rte_get_tsc_hz();
    w.rx_budget_cycles = ns_to_tsc(config.rx_budget_ns);
    if (config.poll_gap_ns != 0) w.poll_gap_cycles = ns_to_tsc(config.poll_gap_ns);
    read_clock_ns(w);
    w.last_poll_tsc = w.tsc;
    return std::unique_ptr<Worker>(new Worker(std::move(impl)));
}

Worker::Worker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Worker::~Worker() = default;

namespace {

// True if this poll leaves its DATA to the start of the next one, because RX just gave the
// application something (WorkerConfig::yield_to_app).
bool yield_to_app(Worker::Impl &w, uint64_t ready_before) {
    w.tx_deferred = w.cfg.yield_to_app && w.engine.stats().messages_ready != ready_before;
    if (w.tx_deferred) ++w.stats.tx_yields;
    return w.tx_deferred;
}

// Engine::poll (grants, timers, control packets, the SRPT choice) with the port's room, or
// with none when this poll yields: its DATA then leaves at the start of the next poll.
uint32_t engine_poll(Worker::Impl &w, uint64_t now, uint64_t ready_before) {
    const uint32_t room = yield_to_app(w, ready_before) ? 0 : tx_room(w);
    return w.engine.poll(now, room, UINT32_MAX, w.cfg.tx_budget_scale);
}

// The DATA the last poll held back (yield_to_app), before RX.
uint32_t send_deferred_data(Worker::Impl &w, uint64_t now) {
    if (!w.tx_deferred) return 0;
    if (w.engine.send_data(now, tx_room(w), w.cfg.tx_budget_scale) == 0) return 0;
    uint32_t built = build_and_send(w);
    trace_stage(w);
    return built;
}

// Engine::send_last_packets and its frames, before RX (WorkerConfig::short_before_rx).
uint32_t send_short_first(Worker::Impl &w, uint64_t now) {
    if (!w.cfg.short_before_rx) return 0;
    // The application's one-packet messages may already be queued (Engine::set_send_now).
    if (w.engine.send_last_packets(now, tx_room(w), w.cfg.tx_budget_scale) == 0 &&
        w.engine.tx_packets().empty()) {
        return 0;
    }
    uint32_t built = build_and_send(w);
    trace_stage(w);
    return built;
}

// Frames this worker has read and sent: a gap's share of them says how much of it was work.
uint64_t poll_frames(const Worker::Impl &w) { return w.stats.rx_frames + w.stats.tx_frames; }

// The poll that begins now comes over poll_gap_ns after the last one began: the lcore was away,
// or the poll before (or the application after it) worked that long.
[[gnu::noinline, gnu::cold]] void note_poll_gap(Worker::Impl &w) {
    const uint64_t cycles = w.tsc - w.last_poll_tsc;
    const auto ns = static_cast<uint64_t>((static_cast<__uint128_t>(cycles) * w.ns_mult) >> 32);
    ++w.stats.poll_gaps;
    w.stats.poll_gap_ns += ns;
    w.stats.poll_gap_max_ns = std::max(w.stats.poll_gap_max_ns, ns);
    PollGapLog &log = w.gap_log;
    if (log.entries == nullptr || log.count == nullptr) return;
    const uint64_t n = log.count->load(std::memory_order_relaxed);  // only this lcore writes it
    if (n < log.capacity) {
        log.entries[n] = {w.last_poll_tsc, w.tsc, poll_frames(w) - w.last_poll_frames};
        log.count->store(n + 1, std::memory_order_release);
    } else {
        ++w.stats.poll_gaps_not_logged;
    }
}

}  // namespace

bool Worker::poll() {
    Impl &w = *impl_;
    uint64_t now = read_clock_ns(w);
    if (w.tsc - w.last_poll_tsc > w.poll_gap_cycles) [[unlikely]]
        note_poll_gap(w);
    w.last_poll_tsc = w.tsc;
    w.last_poll_frames = poll_frames(w);
    // One clock read per poll serves the pool's lease clock too (pools made with
    // PoolConfig::caller_ticks; others ignore the tick).
    w.cfg.pool->tick(w.cfg.pool_cache, w.tsc);
    // Someone on this host called sync_freeze(): our peers freeze too (FREEZE leaves with this
    // poll's frames). One load of a line that is only read until then.
    if (uint64_t n = w.freeze->sync_requests(); n != w.freeze_syncs_served) [[unlikely]] {
        w.freeze_syncs_served = n;
        w.engine.send_freeze_to_peers();
    }
    const uint64_t ready_before = w.engine.stats().messages_ready;
    if (HOMA_TIMETRACE && w.stage_tt != nullptr) w.stage_tt->begin_stage_clock();
    // What the application queued while this worker idled is taken first, so that it leaves
    // ahead of this poll's RX (a local destination gets it in this poll's RX). At 1 RPC in
    // flight over application threads, the request waited for the poll's RX and, sent to
    // this worker's own sockets, for the next poll: 6-11 % of the RTT (docs/perf.md). Only
    // after an idle poll: a busy worker takes its requests in bulk after RX, where splitting
    // the pass cost about 8 % of the RPC/s at 32 in flight.
    uint32_t work = w.cmd_early != nullptr && w.last_poll_idle ? w.cmd_early(w.cmd_ctx) : 0;
    // Commands before transmit: a send's first packets leave in this same iteration, and
    // messages the RX burst completed reach the sockets' answer rings at once. The engine's
    // timers run after RX in every poll (RX drains first); a poll whose RX gave the
    // application messages hands out no DATA, which the next poll sends before its RX.
    if (!w.cfg.stage_cycles) {
        work += send_short_first(w, now);
        work += send_deferred_data(w, now);
        work += receive(w);
        if (w.cmd_port != nullptr) work += serve_command_port(w);
        trace_stage(w);
        work += engine_poll(w, now, ready_before);
        trace_stage(w);
        work += build_and_send(w);
        trace_stage(w);
        work += drain_completions(w);
    } else {
        uint64_t t0 = w.tsc;  // the early take counts as TX: it is there to send sooner
        work += send_short_first(w, now);
        work += send_deferred_data(w, now);
        uint64_t t_short = rte_get_tsc_cycles();
        work += receive(w);
        if (w.cmd_port != nullptr) work += serve_command_port(w);
        uint64_t t1 = rte_get_tsc_cycles();
        trace_stage(w);
        work += engine_poll(w, now, ready_before);
        uint64_t t2 = rte_get_tsc_cycles();
        trace_stage(w);
        work += build_and_send(w);
        uint64_t t3 = rte_get_tsc_cycles();
        trace_stage(w);
        work += drain_completions(w);
        uint64_t t4 = rte_get_tsc_cycles();
        w.stats.cycles_rx += t1 - t_short;
        w.stats.cycles_engine += t2 - t1;
        w.stats.cycles_tx += (t3 - t2) + (t_short - t0);
        w.stats.cycles_completions += t4 - t3;
    }
    // The application's one-packet messages until the next poll go straight to the engine's
    // TX queue, as many as the port has room for: send_short_first builds them before RX.
    // Without it they would leave after RX, ahead of that poll's control packets.
    w.engine.set_send_now(w.cfg.short_before_rx ? tx_room(w) : 0, w.cfg.tx_budget_scale);
    // The application's calls until the next poll (its sends, receives and replies on this
    // lcore) are one more stage: on a one-core echo their four clock reads per RPC were 3-4 %
    // of its cycles (docs/perf.md, "Timetrace cost"). begin_stage_clock() at the next poll
    // ends it.
    if (HOMA_TIMETRACE && w.stage_tt != nullptr) w.stage_tt->new_stage();
    ++w.stats.polls;
    if (work) ++w.stats.busy_polls;
    w.last_poll_idle = work == 0;
    return work != 0;
}

Engine &Worker::engine() noexcept { return impl_->engine; }
mem::BpagePool &Worker::pool() noexcept { return *impl_->cfg.pool; }
unsigned Worker::pool_cache() const noexcept { return impl_->cfg.pool_cache; }
const WorkerStats &Worker::stats() const noexcept { return impl_->stats; }
const NeighbourCache &Worker::neighbours() const noexcept { return impl_->neighbours; }
const Neighbour6Cache &Worker::neighbours6() const noexcept { return impl_->neighbours6; }
const NeighbourStats &Worker::neighbour_stats() const noexcept { return impl_->neighbours.stats(); }
void Worker::clear_stats() noexcept {
    impl_->stats = WorkerStats{};
    impl_->last_poll_frames = 0;  // the next gap's frames count from the cleared counters
}
uint64_t Worker::poll_gap_threshold_ns() const noexcept { return impl_->cfg.poll_gap_ns; }
void Worker::set_gap_log(const PollGapLog &log) noexcept { impl_->gap_log = log; }
uint32_t Worker::local_ip() const noexcept { return impl_->cfg.engine.local_ip; }
IpAddress Worker::local_address() const noexcept {
    const WorkerConfig &c = impl_->cfg;
    return c.engine.local_ip != 0 ? IpAddress(c.engine.local_ip) : IpAddress::ipv6(c.local_ip6);
}
uint16_t Worker::port_id() const noexcept { return impl_->cfg.port_id; }
uint64_t Worker::now_ns() const noexcept { return read_clock_ns(*impl_); }
uint64_t Worker::poll_time_ns() const noexcept { return impl_->now_ns; }
uint32_t Worker::sends_in_flight() const noexcept {
    return impl_->slots_in_use + impl_->copied_pending;
}
Timetrace *Worker::timetrace() noexcept { return impl_->tt; }
TraceFreeze &Worker::trace_freeze() noexcept { return *impl_->freeze; }

int drain_workers(std::span<Worker *const> workers, uint64_t timeout_ns) {
    // Time, not a count of polls, bounds the wait: a poll's length varies by orders of
    // magnitude between an idle net_null port and a loaded NIC.
    uint64_t start = rte_get_timer_cycles();
    uint64_t limit = timeout_ns / 1000 * (rte_get_timer_hz() / 1'000'000);
    for (;;) {
        bool in_flight = false;
        for (Worker *w : workers) in_flight |= w->sends_in_flight() != 0;
        if (!in_flight) return 0;
        if (rte_get_timer_cycles() - start >= limit) return -ETIMEDOUT;
        for (Worker *w : workers) w->poll();
    }
}

}  // namespace homa::dp
