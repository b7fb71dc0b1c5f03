// The control lcore's service loop; see control_lcore.h.
//
// Why pulls advance a chunk per iteration instead of running to completion: a pull may fault
// in megabytes from disk. Done in one go, an abort of that RPC (or a residency check from
// another worker) would wait for all of it. A chunk bounds that wait to one chunk's faults,
// and the abort is seen on the very next receive_burst(): the port hands out abort commands
// before new commands.
#include "homa/dataplane/control_lcore.h"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <sched.h>
#include <sys/prctl.h>

#include <algorithm>
#include <new>

#include "homa/mem/residency.h"
#include "relaxed_counter.h"

namespace homa::dp {

ControlLcore *ControlLcore::create(const char *name, const ControlConfig &config, int socket_id) {
    if (config.max_pulls == 0 || config.pull_chunk == 0) {
        rte_errno = EINVAL;
        return nullptr;
    }
    void *mem = rte_zmalloc_socket(name, sizeof(ControlLcore), RTE_CACHE_LINE_SIZE, socket_id);
    void *pulls = rte_zmalloc_socket(name, sizeof(PortMessage *) * config.max_pulls,
                                     RTE_CACHE_LINE_SIZE, socket_id);
    if (mem == nullptr || pulls == nullptr) {
        rte_free(mem);
        rte_free(pulls);
        rte_errno = ENOMEM;
        return nullptr;
    }
    MessagePort *port =
        MessagePort::create(name, config.port_capacity, MessagePortMode::kMultiProducer, socket_id);
    if (port == nullptr) {
        int err = rte_errno;
        rte_free(mem);
        rte_free(pulls);
        rte_errno = err;
        return nullptr;
    }
    auto *ctl = new (mem) ControlLcore();
    ctl->port_ = port;
    ctl->config_ = config;
    ctl->pulls_ = static_cast<PortMessage **>(pulls);
    return ctl;
}

void ControlLcore::destroy(ControlLcore *ctl) {
    if (ctl == nullptr) return;
    MessagePort::destroy(ctl->port_);
    rte_free(ctl->pulls_);
    ctl->~ControlLcore();
    rte_free(ctl);
}

int ControlLcore::launch(unsigned lcore_id) {
    if (lcore_ != ~0u) return -EBUSY;
    if (lcore_id >= RTE_MAX_LCORE || lcore_id == rte_get_main_lcore() ||
        !rte_lcore_is_enabled(lcore_id)) {
        return -EINVAL;
    }
    stop_.store(false, std::memory_order_relaxed);
    if (rte_eal_remote_launch(main_loop, this, lcore_id) != 0) return -EBUSY;
    lcore_ = lcore_id;
    return 0;
}

int ControlLcore::stop() {
    if (lcore_ == ~0u) return -EINVAL;
    stop_.store(true, std::memory_order_release);
    bell_.ring();  // it may be asleep for up to max_sleep_ns
    rte_eal_wait_lcore(lcore_);
    lcore_ = ~0u;
    return 0;
}

int ControlLcore::main_loop(void *arg) {
    auto *self = static_cast<ControlLcore *>(arg);
    // The default 50 us timer slack would double a 50 us idle sleep; this thread only.
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    // The EAL thread outlives this loop (the lcore may be launched again for other work):
    // put its scheduling back as it was when the loop ends.
    const int old_policy = sched_getscheduler(0);
    sched_param old_param{};
    sched_getparam(0, &old_param);
    if (self->config_.realtime_priority != 0) {
        sched_param param{};
        param.sched_priority = self->config_.realtime_priority;
        self->sched_result_.store(sched_setscheduler(0, SCHED_FIFO, &param) == 0 ? 0 : -errno);
    }
    self->turn_wait_tsc_ = static_cast<uint64_t>(double(self->config_.turn_wait_ns) *
                                                 double(rte_get_timer_hz()) / 1e9);
    IdleBackoff backoff(self->config_.backoff);
    while (!self->stop_.load(std::memory_order_acquire)) {
        bool worked = self->serve_port();
        if (self->num_pulls_ > 0 && self->may_pull()) worked = self->advance_pull() || worked;
        if (worked) {
            backoff.reset();
            continue;
        }
        if (self->config_.pull_turns && self->num_pulls_ > 0) {
            self->wait_turn();
            continue;
        }
        auto has_work = [self] { return self->port_->has_input() || self->num_pulls_ > 0; };
        if (uint64_t ns = backoff.idle(self->bell_, has_work); ns != 0) {
            bump(self->counters_.sleeps);
            bump(self->counters_.slept_ns, ns);
        }
    }
    self->shutdown();
    if (self->config_.realtime_priority != 0 && self->sched_result_.load() == 0) {
        sched_setscheduler(0, old_policy, &old_param);
    }
    return 0;
}

bool ControlLcore::poll() noexcept {
    bool served = serve_port();
    bool pulled = advance_pull();
    return served || pulled;
}

// Pull in turns (ControlConfig::pull_turns): a chunk needs a turn from share_core(), or
// turn_wait_ns without one (a worker that never idles must not stop pulls altogether).
bool ControlLcore::may_pull() noexcept {
    if (!config_.pull_turns) return true;
    const uint64_t now = rte_get_timer_cycles();
    const bool turn = turn_.exchange(false, std::memory_order_acq_rel);
    if (!turn && now - last_chunk_tsc_ < turn_wait_tsc_) return false;
    if (turn) bump(turns_taken_);
    last_chunk_tsc_ = now;
    return true;
}

// Asleep until a turn, a request (an abort must not wait) or the end of turn_wait_ns.
void ControlLcore::wait_turn() noexcept {
    const uint64_t waited = rte_get_timer_cycles() - last_chunk_tsc_;
    if (waited >= turn_wait_tsc_) return;
    const auto left_ns =
        static_cast<uint64_t>(double(turn_wait_tsc_ - waited) * 1e9 / double(rte_get_timer_hz()));
    bell_.sleep([this] { return turn_.load(std::memory_order_acquire) || port_->has_input(); },
                left_ns);
}

bool ControlLcore::share_core() noexcept {
    if (!config_.pull_turns || !pulling_.load(std::memory_order_relaxed)) return false;
    if (!turn_.exchange(true, std::memory_order_acq_rel)) {
        turns_given_.fetch_add(1, std::memory_order_relaxed);
    }
    bell_.ring();
    sched_yield();
    return true;
}

bool ControlLcore::serve_port() noexcept {
    PortMessage *got[kMessagePortBurst];
    unsigned n = port_->receive_burst(got, kMessagePortBurst);
    for (unsigned i = 0; i < n; ++i) {
        switch (got[i]->delivery()) {
            case Delivery::kCommand: serve(got[i]); break;
            case Delivery::kAbort: on_abort(got[i]); break;
            case Delivery::kReply:  // the control lcore sends nothing, so gets no replies
                break;
        }
    }
    return n > 0;
}

void ControlLcore::serve(PortMessage *msg) noexcept {
    switch (msg->opcode()) {
        case kControlResidency: {
            if (config_.residency == nullptr) break;
            auto &r = msg->body<RegionRequest>();
            r.pulled = 0;
            r.resident = config_.residency->in_core(r.addr, r.len);
            bump(counters_.residency_checks);
            HOMA_TT(config_.timetrace, "ctl residency length %u resident %u", r.len, r.resident);
            reply_msg(msg, 0);
            return;
        }
        case kControlPull: {
            if (config_.residency == nullptr) break;
            if (num_pulls_ == config_.max_pulls) {
                reply_msg(msg, -EBUSY);
                return;
            }
            auto &r = msg->body<RegionRequest>();
            r.pulled = 0;
            r.resident = true;  // and-ed with each chunk's answer
            // A new pull waits for its first turn as if it had just pulled a chunk.
            if (num_pulls_ == 0) last_chunk_tsc_ = rte_get_timer_cycles();
            pulls_[num_pulls_++] = msg;
            pulling_.store(true, std::memory_order_relaxed);
            HOMA_TT(config_.timetrace, "ctl pull queued length %u pulls %u", r.len, num_pulls_);
            return;
        }
        case kControlCall: {
            const auto &c = msg->body<CallRequest>();
            if (c.fn == nullptr) {
                reply_msg(msg, -EINVAL);
                return;
            }
            int rc = c.fn(c.ctx);
            bump(counters_.calls);
            HOMA_TT(config_.timetrace, "ctl call rc %d", rc);
            reply_msg(msg, rc);
            return;
        }
        case kControlStats:
            msg->body<ControlStats>() = stats();
            reply_msg(msg, 0);
            return;
        default: break;
    }
    reply_msg(msg, -EOPNOTSUPP);
}

void ControlLcore::on_abort(PortMessage *msg) noexcept {
    bump(counters_.aborts_seen);
    PortMessage **end = pulls_ + num_pulls_;
    PortMessage **it = std::find(pulls_, end, msg);
    if (it != end) {  // still pulling: stop here
        std::copy(it + 1, end, it);
        --num_pulls_;
        pulling_.store(num_pulls_ != 0, std::memory_order_relaxed);
        msg->body<RegionRequest>().resident = false;
        bump(counters_.pulls_cancelled);
    }
    HOMA_TT(config_.timetrace, "ctl abort pull_cancelled %u", it != end);
    // Either the cancel, or (already answered) the acknowledgement msgport.h asks for.
    reply_msg(msg, -ECANCELED);
}

bool ControlLcore::advance_pull() noexcept {
    if (num_pulls_ == 0) return false;
    PortMessage *msg = pulls_[0];
    auto &r = msg->body<RegionRequest>();
    size_t chunk = std::min(config_.pull_chunk, r.len - r.pulled);
    if (chunk > 0) {
        const auto *base = static_cast<const char *>(r.addr);
        r.resident = config_.residency->pull(base + r.pulled, chunk) && r.resident;
        HOMA_TT(config_.timetrace, "ctl pull chunk offset %u length %u of %u", r.pulled, chunk,
                r.len);
        r.pulled += chunk;
        bump(counters_.pulled_bytes, chunk);
    }
    if (r.pulled < r.len) return true;
    // Pages pulled early may have been evicted meanwhile: answer for the whole region now.
    r.resident = r.resident && config_.residency->in_core(r.addr, r.len);
    std::copy(pulls_ + 1, pulls_ + num_pulls_, pulls_);
    --num_pulls_;
    pulling_.store(num_pulls_ != 0, std::memory_order_relaxed);
    bump(counters_.pulls_done);
    HOMA_TT(config_.timetrace, "ctl pull done length %u resident %u", r.len, r.resident);
    reply_msg(msg, 0);
    return true;
}

void ControlLcore::shutdown() noexcept {
    for (unsigned i = 0; i < num_pulls_; ++i) {
        pulls_[i]->body<RegionRequest>().resident = false;
        bump(counters_.pulls_cancelled);
        reply_msg(pulls_[i], -ECANCELED);
    }
    num_pulls_ = 0;
    pulling_.store(false, std::memory_order_relaxed);
    // Send everything still queued home; abort commands for messages replied just now (or
    // earlier) come out of receive_burst too and are acknowledged.
    PortMessage *got[kMessagePortBurst];
    while (unsigned n = port_->receive_burst(got, kMessagePortBurst)) {
        for (unsigned i = 0; i < n; ++i) {
            if (got[i]->delivery() == Delivery::kAbort) bump(counters_.aborts_seen);
            if (got[i]->delivery() != Delivery::kReply) reply_msg(got[i], -ESHUTDOWN);
        }
    }
}

ControlStats ControlLcore::stats() const noexcept {
    auto get = [](const std::atomic<uint64_t> &c) { return c.load(std::memory_order_relaxed); };
    return ControlStats{
        get(counters_.residency_checks), get(counters_.pulls_done), get(counters_.pulls_cancelled),
        get(counters_.pulled_bytes),     get(counters_.calls),      get(counters_.aborts_seen),
        get(counters_.sleeps),           get(counters_.slept_ns)};
}

void prepare_residency_check(PortMessage *msg, MessagePort *reply_port, const void *addr,
                             size_t len) {
    msg->init(kControlResidency, reply_port, kAbortable);
    msg->body<RegionRequest>() = RegionRequest{addr, len, 0, false};
}

void prepare_pull(PortMessage *msg, MessagePort *reply_port, const void *addr, size_t len) {
    msg->init(kControlPull, reply_port, kAbortable);
    msg->body<RegionRequest>() = RegionRequest{addr, len, 0, false};
}

void prepare_call(PortMessage *msg, MessagePort *reply_port, int (*fn)(void *ctx), void *ctx) {
    msg->init(kControlCall, reply_port, kAbortable);
    msg->body<CallRequest>() = CallRequest{fn, ctx};
}

void prepare_stats(PortMessage *msg, MessagePort *reply_port) {
    msg->init(kControlStats, reply_port, kAbortable);
    msg->body<ControlStats>() = ControlStats{};
}

}  // namespace homa::dp
