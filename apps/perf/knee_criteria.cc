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

uint64_t away_cycles(const GapInterval &g, uint64_t frame_cycles) {
    const uint64_t len = g.end_tsc - g.start_tsc;
    // Saturating: a frame count times the allowance may pass any length.
    const uint64_t work =
        frame_cycles != 0 && g.frames > len / frame_cycles ? len : g.frames * frame_cycles;
    return len - work;
}

std::vector<GapInterval> merged_absences(std::vector<GapInterval> gaps, uint64_t min_cycles,
                                         uint64_t frame_cycles) {
    std::erase_if(gaps,
                  [&](const GapInterval &g) { return away_cycles(g, frame_cycles) < min_cycles; });
    return merge_gaps(std::move(gaps));
}

std::vector<GapInterval> merge_gaps(std::vector<GapInterval> gaps) {
    std::sort(gaps.begin(), gaps.end(),
              [](const GapInterval &a, const GapInterval &b) { return a.start_tsc < b.start_tsc; });
    std::vector<GapInterval> out;
    for (const GapInterval &g : gaps) {
        if (!out.empty() && g.start_tsc <= out.back().end_tsc) {
            out.back().end_tsc = std::max(out.back().end_tsc, g.end_tsc);
        } else {
            out.push_back(g);
        }
    }
    return out;
}

UnloadedLatency latency_without_gaps(const ArrivalLog &log, uint64_t from_ns, double tsc_per_ns,
                                     const std::vector<GapInterval> &merged, uint64_t *clear,
                                     uint64_t *met) {
    std::vector<uint64_t> lat;
    uint64_t hit = 0;
    for (const Arrival &a : log.arrivals) {
        if (a.outcome != Outcome::kCompleted || a.scheduled_ns < from_ns) continue;
        const uint64_t s =
            log.start_tsc + static_cast<uint64_t>(double(a.scheduled_ns) * tsc_per_ns);
        const uint64_t e = s + static_cast<uint64_t>(double(a.latency_ns) * tsc_per_ns);
        // The last gap that starts at or before the response: it overlaps if it ends after
        // the arrival (the gaps are disjoint and sorted, so no earlier one can).
        auto it =
            std::upper_bound(merged.begin(), merged.end(), e,
                             [](uint64_t t, const GapInterval &g) { return t < g.start_tsc; });
        if (it != merged.begin() && std::prev(it)->end_tsc >= s) {
            ++hit;
        } else {
            lat.push_back(a.latency_ns);
        }
    }
    if (clear != nullptr) *clear = lat.size();
    if (met != nullptr) *met = hit;
    if (lat.empty()) return {};
    // Nearest rank, as the histograms' quantiles.
    auto at = [&](double q) {
        size_t k = static_cast<size_t>(q * double(lat.size()) + 0.5);
        k = std::clamp<size_t>(k, 1, lat.size()) - 1;
        std::nth_element(lat.begin(), lat.begin() + static_cast<std::ptrdiff_t>(k), lat.end());
        return lat[k];
    };
    const uint64_t p50 = at(0.5);
    return {p50, at(0.99)};
}

double gap_share_limit(const CapacityConfig &cfg, const UnloadedLatency &unloaded) {
    return std::max(cfg.max_gap_share, cfg.gap_share_factor * unloaded.gap_share);
}

CapacityProbe judge_probe(const PhaseResult &r, double offered_rps, const UnloadedLatency &unloaded,
                          const CapacityConfig &cfg, const GapSplit *split) {
    const UnloadedLatency *clear =
        split != nullptr && split->clear > 0 ? &split->clear_latency : nullptr;
    CapacityProbe p;
    p.offered_rps = offered_rps;
    p.arrivals_rps = r.window_s > 0 ? double(r.arrivals) / r.window_s : 0;
    p.achieved_rps = r.elapsed_s > 0 ? double(r.rpcs) / r.elapsed_s : 0;
    p.p50_all_ns = r.rtt.quantile(0.5);
    p.p99_all_ns = r.rtt.quantile(0.99);
    p.p50_ns = clear != nullptr ? clear->p50_ns : p.p50_all_ns;
    p.p99_ns = clear != nullptr ? clear->p99_ns : p.p99_all_ns;
    p.met_gap = split != nullptr ? split->met : 0;
    const double gap_share = split != nullptr && split->clear + split->met > 0
                                 ? double(split->met) / double(split->clear + split->met)
                                 : 0;
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
    } else if (gap_share > gap_share_limit(cfg, unloaded)) {
        snprintf(why, sizeof(why), "%.1f %% of its RPCs met an absence (at most %.1f %%)",
                 gap_share * 100, gap_share_limit(cfg, unloaded) * 100);
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
