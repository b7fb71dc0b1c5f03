// See phase_run.h. Nothing here allocates after the constructor: the slot table and its free
// list are sized for the phase's most RPCs in flight up front.
#include "phase_run.h"
#include "homa/mem/prefetch.h"

#include <rte_cycles.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

namespace homa::perf {

PhaseRun::PhaseRun(LoadDriver &driver, const PhaseSpec &spec, uint32_t slots, PhaseResult *result)
    : driver_(driver),
      spec_(spec),
      r_(*result),
      hz_(rte_get_tsc_hz()),
      to_ns_(hz_),
      generation_(driver.next_generation()),
      slots_(std::max<uint32_t>(slots, 1)) {
    free_.reserve(slots_.size());
    for (uint32_t i = static_cast<uint32_t>(slots_.size()); i-- > 0;) free_.push_back(i);
    start_ = rte_rdtsc();  // after the tables: their set-up (ms for 10^6 slots) is not the run's
    last_ = start_;
    next_progress_ = start_ + hz_;
}

void PhaseRun::set_window(uint64_t w0, uint64_t w1) noexcept {
    w0_ = w0;
    w1_ = w1;
}

int PhaseRun::start(uint32_t length, uint64_t intended, uint32_t log_index) {
    if (free_.empty()) return -EAGAIN;
    uint32_t idx = free_.back();
    if (int rc = driver_.send(length, generation_ << 32 | idx); rc < 0) return rc;
    free_.pop_back();
    slots_[idx] = {intended, length, log_index, true};
    ++in_flight_;
    r_.max_in_flight = std::max(r_.max_in_flight, in_flight_);
    return 0;
}

void PhaseRun::log_outcome(uint32_t i, Outcome o, uint64_t latency_ns) {
    if (spec_.log == nullptr || i >= spec_.log->arrivals.size()) return;
    Arrival &a = spec_.log->arrivals[i];
    a.outcome = o;
    a.latency_ns = latency_ns;
}

uint32_t PhaseRun::take_responses() {
    uint32_t n = 0;
    // One clock read for every response taken here: each was complete before the first was
    // taken, so none is stamped before it completed (a TSC read per response was a third of
    // this function's cycles on our VMs).
    uint64_t now = 0;
    // Taken in batches whose slots are prefetched before any is read: with 10^4 RPCs in
    // flight a slot was last touched 10^4 RPCs ago, and the wait for it was half of this
    // function's time, ~37 cycles per RPC that the scaling ratio counted as the stack's
    // (perf, memif client, sixteenth session).
    Completed *const batch = batch_.data();
    uint32_t got = 0, next = 0;
    for (;;) {
        if (next == got) {
            got = next = 0;
            while (got < batch_.size() && driver_.next_response(&batch[got], spec_.verify)) {
                const uint64_t i = batch[got].cookie & 0xffffffffu;
                if (i < slots_.size()) mem::prefetch(&slots_[i]);
                ++got;
            }
            if (got == 0) break;
        }
        const Completed &resp = batch[next++];
        ++n;
        uint64_t idx = resp.cookie & 0xffffffffu;
        if (resp.cookie >> 32 != generation_ || idx >= slots_.size() || !slots_[idx].busy) {
            ++r_.stale;  // an earlier phase's RPC (it was aborted, but its answer was queued)
            continue;
        }
        Slot &s = slots_[idx];
        if (now == 0) now = rte_rdtsc();
        const uint64_t rtt_ns = to_ns_(now - s.intended);
        if (!resp.error && now >= w0_ && now < w1_) {
            ++r_.completions_in_window;
            r_.completed_bytes_in_window += 2ull * s.length;
        }
        if (resp.error) {
            r_.response_errors.add(resp.error);
            log_outcome(s.log_index, Outcome::kError);
        } else if (measured(s.intended)) {
            ++r_.rpcs;
            last_measured_done_ = now;
            r_.payload_bytes += 2ull * s.length;
            r_.rtt.record(rtt_ns);
            size_t b = bucket_of(s.length);
            r_.buckets[b].rtt.record(rtt_ns);
            if (spec_.unloaded_ns[b]) {
                r_.buckets[b].slowdown_x100.record(rtt_ns * 100 / spec_.unloaded_ns[b]);
            }
            if (spec_.verify) {
                if (resp.payload_ok && resp.length == s.length) {
                    ++r_.verified;
                } else {
                    ++r_.verify_failures;
                }
            }
            log_outcome(s.log_index, Outcome::kCompleted, rtt_ns);
        } else {
            ++r_.unmeasured_rpcs;
            log_outcome(s.log_index, Outcome::kCompleted, rtt_ns);
        }
        s.busy = false;
        free_.push_back(static_cast<uint32_t>(idx));
        --in_flight_;
    }
    return n;
}

void PhaseRun::account(bool work, uint64_t now) {
    if (!seen_w0_ && now >= w0_) {
        seen_w0_ = true;
        packets_at_w0_ = driver_.packets();
        last_ = std::max(last_, w0_);
    }
    if (seen_w0_ && !seen_w1_) {
        uint64_t until = std::min(now, w1_);
        if (work && until > last_) r_.busy_cycles += until - last_;
        if (now >= w1_) {
            seen_w1_ = true;
            packets_at_w1_ = driver_.packets();
        }
    }
    last_ = now;
}

void PhaseRun::sample_queue(uint64_t now, uint64_t backlog) noexcept {
    if (w1_ == UINT64_MAX || w1_ <= w0_) return;
    if (!seen_mid_ && now >= w0_ + (w1_ - w0_) / 2) {
        seen_mid_ = true;
        r_.queued_mid = in_flight_ + backlog;
    }
    if (!seen_end_ && now >= w1_) {
        seen_end_ = true;
        r_.queued_end = in_flight_ + backlog;
    }
}

void PhaseRun::progress(uint64_t now, uint64_t backlog) {
    if (!spec_.progress || now < next_progress_) return;
    next_progress_ += hz_;
    double t = double(now - start_) / double(hz_);
    fprintf(stderr,
            "[%s] %5.1fs  %10lu RPCs  p50 %9.1f us  p99 %9.1f us  in flight %7u  "
            "backlog %8lu  skipped %lu  errors %lu\n",
            spec_.name.c_str(), t, r_.rpcs, double(r_.rtt.quantile(0.5)) / 1000,
            double(r_.rtt.quantile(0.99)) / 1000, in_flight_, backlog, r_.overload_skips,
            r_.errors());
}

void PhaseRun::finish() {
    if (in_flight_) {
        driver_.abort_all();
        for (uint32_t i = 0; i < slots_.size(); ++i) {
            Slot &s = slots_[i];
            if (!s.busy) continue;
            ++r_.unfinished;
            log_outcome(s.log_index, Outcome::kUnfinished);
            s.busy = false;
            free_.push_back(i);
        }
        in_flight_ = 0;
    }
    const uint64_t now = rte_rdtsc();
    if (w0_ == UINT64_MAX || now <= w0_) return;  // the window never started (SIGINT early)
    const uint64_t w1 = std::min(w1_, now);
    r_.window_s = double(w1 - w0_) / double(hz_);
    r_.elapsed_s = double(std::max(w1, last_measured_done_) - w0_) / double(hz_);
    r_.total_cycles = w1 - w0_;
    if (seen_w0_) r_.packets = (seen_w1_ ? packets_at_w1_ : driver_.packets()) - packets_at_w0_;
}

}  // namespace homa::perf
