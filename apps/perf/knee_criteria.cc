// See capacity_search.h: the knee's pass/fail criteria for one probe, apart from the search so
// that they can be tested on made-up results.
#include <algorithm>
#include <cstdio>

#include "capacity_search.h"

namespace homa::perf {

UnloadedLatency combine_reference_windows(const std::vector<UnloadedLatency> &windows) {
    if (windows.empty()) return {};
    std::vector<uint64_t> p50, p99;
    for (const UnloadedLatency &w : windows) {
        p50.push_back(w.p50_ns);
        p99.push_back(w.p99_ns);
    }
    std::sort(p50.begin(), p50.end());
    std::sort(p99.begin(), p99.end());
    // The lower middle for an even count: with two windows a stall in one must not count.
    const size_t mid = (windows.size() - 1) / 2;
    return {p50[mid], p99[mid]};
}

CapacityProbe judge_probe(const PhaseResult &r, double offered_rps, const UnloadedLatency &unloaded,
                          const CapacityConfig &cfg) {
    CapacityProbe p;
    p.offered_rps = offered_rps;
    p.arrivals_rps = r.window_s > 0 ? double(r.arrivals) / r.window_s : 0;
    p.achieved_rps = r.elapsed_s > 0 ? double(r.rpcs) / r.elapsed_s : 0;
    p.p50_ns = r.rtt.quantile(0.5);
    p.p99_ns = r.rtt.quantile(0.99);
    p.errors = r.errors() + r.verify_failures;
    p.skips = r.overload_skips;
    p.unfinished = r.unfinished;
    p.queued_mid = r.queued_mid;
    p.queued_end = r.queued_end;
    const double bound = cfg.p99_factor * double(unloaded.p99_ns);
    const double p50_bound = cfg.p50_factor * double(unloaded.p50_ns);
    const double growth_bound =
        cfg.max_growth * double(r.arrivals) / 2 + double(cfg.max_growth_floor);
    char why[160] = "";
    if (r.rpcs == 0) {
        snprintf(why, sizeof(why), "nothing completed");
    } else if (p.errors) {
        snprintf(why, sizeof(why), "%lu errors", p.errors);
    } else if (p.skips) {
        snprintf(why, sizeof(why), "%lu arrivals skipped", p.skips);
    } else if (p.unfinished) {
        snprintf(why, sizeof(why), "%lu unfinished", p.unfinished);
    } else if (double(p.p99_ns) > bound) {
        snprintf(why, sizeof(why), "p99 %.1f us > %.0f x unloaded %.1f us", double(p.p99_ns) / 1e3,
                 cfg.p99_factor, double(unloaded.p99_ns) / 1e3);
    } else if (p50_bound > 0 && double(p.p50_ns) > p50_bound) {
        snprintf(why, sizeof(why), "p50 %.1f us > %.0f x unloaded %.1f us", double(p.p50_ns) / 1e3,
                 cfg.p50_factor, double(unloaded.p50_ns) / 1e3);
    } else if (double(r.queued_end) > double(r.queued_mid) + growth_bound) {
        snprintf(why, sizeof(why), "queue grew from %lu to %lu in the window's second half",
                 r.queued_mid, r.queued_end);
    } else if (p.achieved_rps < cfg.min_achieved * p.arrivals_rps) {
        snprintf(why, sizeof(why), "served %.0f of %.0f RPC/s arrived", p.achieved_rps,
                 p.arrivals_rps);
    }
    p.why = why;
    p.pass = p.why.empty();
    return p;
}

}  // namespace homa::perf
