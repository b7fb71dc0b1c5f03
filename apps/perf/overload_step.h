// The overload step (issue 12): offer a load below capacity, then 2x capacity for 50 ms, then
// the lower load again, and measure how long latency takes to come back. Latency counts from
// each arrival's scheduled time (open loop), so the queue the step built shows until it is
// gone. Recovery is judged on a sliding window of scheduled arrival times: the p99 of the short
// messages that arrived in [t, t + window), an arrival that failed, was skipped or never
// finished counting as infinitely late.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "phase.h"  // (declares LoadDriver: these headers need no DPDK)

namespace homa::perf {

struct OverloadConfig {
    double capacity_rps = 0;  ///< 100 % (the knee).
    double base_pct = 50;     ///< Load before and after the step.
    double step_pct = 200;    ///< Load during the step.
    double before_s = 0.3;    ///< Baseline: its short messages' p99 is the reference.
    double step_s = 0.05;
    double after_s = 0.5;
    double window_s = 0.01;  ///< Sliding window (widened to hold >= 100 arrivals).
    double slide_s = 0.001;
    double recover_factor = 2;    ///< Recovered: every later window's p99 <= this x baseline.
    uint32_t short_bytes = 1000;  ///< "Short messages": at most this long.
};

struct OverloadResult {
    PhaseResult phase;  ///< The whole schedule as one open-loop phase (all measured).
    OverloadConfig cfg;
    double window_s = 0;  ///< The window really used.
    /** False: the workload has no message of at most short_bytes; its shortest size class
     *  was watched instead (watched_bytes), with windows widened to hold ~100 of those. */
    bool short_only = true;
    uint32_t watched_bytes = 0;  ///< The watched messages are at most this long.
    /** Short messages of the baseline (after its first third); 0 if there is none: no
     *  arrivals, or more than 1 % of them lost (then `baseline_lost`, and no recovery time). */
    uint64_t baseline_p99_ns = 0;
    bool baseline_lost = false;
    double recovery_ms = -1;  ///< From the step's end; < 0: not recovered by the end.
    /** From the step's end to the first window whose p99 is back within the bound: when the
     *  queue the step built is gone. < 0: never, or no baseline. Windows later than that can
     *  still exceed the bound for reasons the step did not cause (the host's own stalls), which
     *  recovery_ms counts and this does not; compare after_drain_over / after_drain_windows
     *  with baseline_windows_over / baseline_windows to see whether they are more frequent
     *  than before the step. */
    double drain_ms = -1;
    uint32_t baseline_windows = 0;       ///< Windows in the baseline (same size and slide).
    uint32_t baseline_windows_over = 0;  ///< Of those, with a p99 above the bound.
    uint32_t after_drain_windows = 0;    ///< Windows after the one drain_ms names.
    uint32_t after_drain_over = 0;       ///< Of those, with a p99 above the bound.
    double peak_p99_ms = 0;              ///< Worst window after the step began (inf as -1).
    /** (window start in ms since the step began, p99 in us; -1 = a lost arrival inside). */
    std::vector<std::pair<double, double>> series;
    uint64_t not_logged = 0;
};

OverloadResult run_overload_step(LoadDriver &driver, const PhaseSpec &base,
                                 const OverloadConfig &cfg, const std::atomic<bool> &quit);

/** The analysis alone, on a filled log (exposed for tests of the arithmetic). */
void analyse_overload(const ArrivalLog &log, OverloadResult *out);

}  // namespace homa::perf
