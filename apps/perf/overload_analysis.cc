// See overload_step.h: the sliding-window analysis of a logged overload step. Pure
// arithmetic on the ArrivalLog, separate from the run so that it can be tested on made-up logs.
#include <algorithm>

#include "overload_step.h"

namespace homa::perf {
namespace {

constexpr uint64_t kLost = UINT64_MAX;  // failed, skipped or unfinished: infinitely late

// p99 of `v` (reordered); kLost if a lost arrival is at or above the 99th percentile.
uint64_t p99(std::vector<uint64_t> &v) {
    size_t k = (v.size() * 99 + 99) / 100 - 1;  // ceil(0.99 n) - 1
    std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
    return v[k];
}

bool is_short(const Arrival &a, const OverloadResult &r) { return a.length <= r.watched_bytes; }

// The upper bound of the size bucket (phase.h) that `length` falls in; beyond the last, any.
uint32_t size_class_bound(uint32_t length) {
    const uint32_t bound = kBucketBounds[bucket_of(length)];
    return length <= bound ? bound : UINT32_MAX;
}

uint64_t latency_of(const Arrival &a) {
    return a.outcome == Outcome::kCompleted ? a.latency_ns : kLost;
}

}  // namespace

void analyse_overload(const ArrivalLog &log, OverloadResult *out) {
    OverloadResult &r = *out;
    const OverloadConfig &c = r.cfg;
    const auto &a = log.arrivals;
    // What is watched: the short messages, or in a workload that has none (W5: 1,430 B to
    // 29 MB) its shortest size class. All messages' RTTs together would put a window's p99 on
    // whichever multi-megabyte messages fell into it, and with a fixed seed those fall into
    // the same windows in every run (always after the step in W5's case).
    uint32_t shortest = UINT32_MAX;
    for (const Arrival &x : a) shortest = std::min(shortest, x.length);
    r.short_only = shortest <= c.short_bytes;
    r.watched_bytes = r.short_only ? c.short_bytes : size_class_bound(shortest);
    const uint64_t ns = 1'000'000'000;
    const uint64_t step_start = static_cast<uint64_t>(c.before_s * ns);
    if (!r.short_only) {
        // Windows hold about 100 watched arrivals at the baseline's rate (the run sized them
        // for 100 arrivals of any length), or their p99 is just their maximum.
        uint64_t n = 0;
        for (const Arrival &x : a) {
            n += x.scheduled_ns >= step_start / 3 && x.scheduled_ns < step_start && is_short(x, r);
        }
        const double span_s = double(step_start - step_start / 3) / ns;
        if (n > 0) r.window_s = std::max(r.window_s, 100 * span_s / double(n));
    }
    const uint64_t step_end = static_cast<uint64_t>((c.before_s + c.step_s) * ns);
    const uint64_t end = static_cast<uint64_t>((c.before_s + c.step_s + c.after_s) * ns);
    std::vector<uint64_t> v;
    // Baseline: the last two thirds of the time before the step (the first third warms up).
    for (const Arrival &x : a) {
        if (x.scheduled_ns >= step_start / 3 && x.scheduled_ns < step_start && is_short(x, r)) {
            v.push_back(latency_of(x));
        }
    }
    r.baseline_p99_ns = v.empty() ? 0 : p99(v);
    r.baseline_lost = r.baseline_p99_ns == kLost;  // the host failed before the step began
    if (r.baseline_lost) r.baseline_p99_ns = 0;
    const uint64_t win = static_cast<uint64_t>(r.window_s * ns);
    const uint64_t slide = std::max<uint64_t>(static_cast<uint64_t>(c.slide_s * ns), 1);
    const double bound = c.recover_factor * double(r.baseline_p99_ns);
    // p99 of the short arrivals scheduled in [t, t + win); false if there were none. `lo` walks
    // with the windows, which only move forward (arrivals are in time order).
    size_t lo = 0;
    auto window_p99 = [&](uint64_t t, uint64_t *q) {
        while (lo < a.size() && a[lo].scheduled_ns < t) ++lo;
        v.clear();
        for (size_t i = lo; i < a.size() && a[i].scheduled_ns < t + win; ++i) {
            if (is_short(a[i], r)) v.push_back(latency_of(a[i]));
        }
        if (v.empty()) return false;
        *q = p99(v);
        return true;
    };
    auto over = [&](uint64_t q) { return q == kLost || double(q) > bound; };
    // The same windows over the baseline: how often the host exceeds the bound with no step at
    // all (its own stalls), the yardstick for the windows after the drain.
    r.baseline_windows = r.baseline_windows_over = 0;
    for (uint64_t t = step_start / 3, q; t + win <= step_start; t += slide) {
        if (!window_p99(t, &q)) continue;
        ++r.baseline_windows;
        r.baseline_windows_over += over(q);
    }
    r.series.clear();
    r.recovery_ms = r.drain_ms = -1;
    r.after_drain_windows = r.after_drain_over = 0;
    r.peak_p99_ms = 0;
    lo = 0;
    uint64_t last_bad = step_end;  // start of the last window after the step that was not fine
    bool any_after = false, bad_after = false;
    for (uint64_t t = step_start, q; t + win <= end; t += slide) {
        if (!window_p99(t, &q)) continue;
        const double t_ms = double(t - step_start) / 1e6;
        r.series.push_back({t_ms, q == kLost ? -1.0 : double(q) / 1e3});
        if (q == kLost) {
            r.peak_p99_ms = -1;
        } else if (r.peak_p99_ms >= 0) {
            r.peak_p99_ms = std::max(r.peak_p99_ms, double(q) / 1e6);
        }
        if (t < step_end) continue;
        any_after = true;
        if (r.drain_ms >= 0) {
            ++r.after_drain_windows;
            r.after_drain_over += over(q);
        } else if (!over(q) && r.baseline_p99_ns) {
            r.drain_ms = double(t - step_end) / 1e6;
        }
        if (over(q)) {
            bad_after = true;
            last_bad = t + slide;  // recovery can start at the next window at the earliest
        }
    }
    if (any_after && r.baseline_p99_ns && last_bad + win <= end) {
        r.recovery_ms = bad_after ? double(last_bad - step_end) / 1e6 : 0;
    }
    r.not_logged = log.not_logged;
}

}  // namespace homa::perf
