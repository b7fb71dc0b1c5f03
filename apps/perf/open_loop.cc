// The open loop: Poisson arrivals at the offered rate, whatever the host does. Each RPC's
// latency counts from its *scheduled* arrival, not from its send: when the host cannot keep up,
// the wait shows in the latency (no coordinated omission). An arrival that cannot be sent at
// once (send refused with -ENOBUFS / -ENOMEM, or the in-flight cap reached) waits in a FIFO
// backlog and is sent as soon as possible; only when the backlog itself is full is an arrival
// skipped, and skips are counted and reported, never hidden. Nothing allocates in the loop:
// the backlog is a ring sized before the run.
#include <rte_cycles.h>

#include <algorithm>
#include <cerrno>
#include <random>

#include "phase_run.h"

namespace homa::perf {
namespace {

struct Pending {
    uint64_t scheduled = 0;  ///< TSC of the arrival.
    uint32_t length = 0;
    uint32_t log_index = UINT32_MAX;
    bool refused = false;  ///< Already counted in PhaseResult::refused.
    bool waited = false;   ///< Already counted in PhaseResult::cap_waits.
};

/** A FIFO of fixed capacity. */
class Backlog {
  public:
    explicit Backlog(uint32_t capacity) : ring_(std::max<uint32_t>(capacity, 1)) {}
    bool full() const noexcept { return size_ == ring_.size(); }
    bool empty() const noexcept { return size_ == 0; }
    size_t size() const noexcept { return size_; }
    Pending &front() noexcept { return ring_[head_]; }
    void push(const Pending &p) noexcept {
        ring_[(head_ + size_) % ring_.size()] = p;
        ++size_;
    }
    void pop() noexcept {
        head_ = (head_ + 1) % ring_.size();
        --size_;
    }

  private:
    std::vector<Pending> ring_;
    size_t head_ = 0, size_ = 0;
};

/**
 * Arrival times of a Poisson process whose rate is constant per segment of the schedule. Each
 * gap draws an Exp(1) mass and spends it at the current segment's rate; what is left at a
 * segment's end is spent at the next one's (the time change of a non-homogeneous Poisson
 * process: exact, and a 0 rate simply skips its segment).
 */
class ArrivalClock {
  public:
    ArrivalClock(const std::vector<RateSegment> &schedule, uint64_t start, uint64_t hz)
        : hz_(double(hz)), next_(start) {
        uint64_t t = start;
        for (const auto &s : schedule) {
            t += static_cast<uint64_t>(s.seconds * hz_);
            ends_.push_back(t);
            rates_.push_back(s.rate_rps);
        }
    }
    bool done() const noexcept { return seg_ >= ends_.size(); }
    uint64_t next() const noexcept { return next_; }
    uint64_t end() const noexcept { return ends_.empty() ? next_ : ends_.back(); }
    void advance(std::mt19937_64 &rng) {
        double mass = exp1_(rng);
        while (seg_ < ends_.size()) {
            double rate = rates_[seg_];
            double room = double(ends_[seg_] - next_);  // TSC ticks left in this segment
            if (rate > 0 && mass * hz_ / rate < room) {
                next_ += static_cast<uint64_t>(mass * hz_ / rate);
                return;
            }
            if (rate > 0) mass -= room * rate / hz_;
            next_ = ends_[seg_++];
        }
    }

  private:
    double hz_;
    uint64_t next_;
    size_t seg_ = 0;
    std::vector<uint64_t> ends_;
    std::vector<double> rates_;
    std::exponential_distribution<double> exp1_{1.0};
};

}  // namespace

PhaseResult run_open_loop(LoadDriver &driver, const PhaseSpec &spec,
                          const std::atomic<bool> &quit) {
    PhaseResult r;
    r.name = spec.name;
    r.workload = spec.workload.name();
    r.open_loop = true;
    r.outstanding = spec.outstanding;
    r.rate_rps = spec.offered_rps();
    r.warmup_s = spec.warmup_s;
    r.backlog_cap = std::max<uint32_t>(spec.backlog_cap, 1);
    const uint32_t cap = std::max<uint32_t>(spec.outstanding, 1);
    Backlog backlog(spec.backlog_cap);
    PhaseRun run(driver, spec, cap, &r);
    const uint64_t hz = run.hz();
    const uint64_t start = run.start_tsc();
    if (spec.log) spec.log->start_tsc = start;
    ArrivalClock clock(spec.schedule, start, hz);
    const TicksToNs to_ns(hz);
    const uint64_t end = clock.end();
    run.set_window(start + static_cast<uint64_t>(spec.warmup_s * double(hz)), end);
    const uint64_t drain_end = end + static_cast<uint64_t>(spec.drain_s * double(hz));
    std::mt19937_64 rng(spec.seed);
    std::mt19937_64 size_rng(spec.seed + 1);  // sizes independent of the arrival times
    clock.advance(rng);

    while (!quit.load(std::memory_order_relaxed)) {
        bool work = driver.poll();
        work |= run.take_responses() > 0;
        // The clock is read after the poll: an arrival that came due while the poll ran is sent
        // now, not after one more poll (with bulk in the polls that added a whole poll, several
        // microseconds, to a short RPC's median at 80 % load).
        const uint64_t now = rte_rdtsc();
        if (clock.done() && backlog.empty() && run.in_flight() == 0) break;
        if (now >= drain_end) break;

        // Every arrival that is due joins the backlog (or is skipped if it is full).
        uint32_t due = 0;
        while (!clock.done() && clock.next() <= now) {
            const uint64_t t = clock.next();
            const uint32_t length = spec.workload.sample(size_rng);
            uint32_t log_index = UINT32_MAX;
            if (spec.log) {
                auto &a = spec.log->arrivals;
                if (a.size() < a.capacity()) {  // reserved up front: never reallocates here
                    a.push_back({to_ns(t - start), 0, length, Outcome::kPending});
                    log_index = static_cast<uint32_t>(a.size() - 1);
                } else {
                    ++spec.log->not_logged;
                }
            }
            if (run.measured(t)) ++r.arrivals;
            if (backlog.full()) {
                ++r.overload_skips;
                run.log_outcome(log_index, Outcome::kSkipped);
            } else {
                backlog.push({t, length, log_index, false, false});
            }
            clock.advance(rng);
            if ((++due & 4095) == 0 && quit.load(std::memory_order_relaxed)) break;
        }
        r.backlog_max = std::max<uint64_t>(r.backlog_max, backlog.size());

        // Oldest first, as long as the host takes them.
        while (!backlog.empty()) {
            Pending &p = backlog.front();
            if (run.in_flight() >= cap) {
                if (!p.waited) ++r.cap_waits;
                p.waited = true;
                break;
            }
            int rc = run.start(p.length, p.scheduled, p.log_index);
            if (rc == 0) {
                backlog.pop();
                work = true;
                continue;
            }
            if (retriable(rc)) {
                if (!p.refused) r.refused.add(rc);
                p.refused = true;
                break;
            }
            r.send_errors.add(rc);  // can never be sent: counted as a failed arrival
            run.log_outcome(p.log_index, Outcome::kError);
            backlog.pop();
        }
        const uint64_t after = rte_rdtsc();
        run.account(work, after);
        run.sample_queue(after, backlog.size());
        run.progress(after, backlog.size());
    }
    // The window's end can fall between one iteration's last clock read and the next one's
    // first, which then leaves at drain_end without a sample (with --drain=0 every time it
    // does; a preempted poller hits it often): the queue at the exit is the one at the end.
    run.sample_queue(rte_rdtsc(), backlog.size());
    // Arrivals never sent are unfinished too (the RPCs in flight are counted by finish()).
    while (!backlog.empty()) {
        ++r.unfinished;
        run.log_outcome(backlog.front().log_index, Outcome::kUnfinished);
        backlog.pop();
    }
    run.finish();
    return r;
}

}  // namespace homa::perf
