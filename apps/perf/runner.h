// What one homa-perf run does, in order: the plain phases (the default run, or one closed or
// open loop), then, if asked, the capacity search, load phases at percentages of that
// capacity, and the overload step. main.cc turns flags into RunOptions; report.cc prints the
// RunReport.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

#include "capacity_search.h"
#include "load_driver.h"
#include "overload_step.h"
#include "phase.h"

namespace homa::perf {

struct RunOptions {
    std::vector<PhaseSpec> phases;  ///< Run first, in order.
    bool slowdown = false;          ///< Calibrate unloaded RTT per size bucket first.
    /** Workload, durations, backlog, seed ... of the capacity-based phases below; its
     *  `outstanding` is the open loop's in-flight cap. */
    PhaseSpec base;
    bool find_capacity = false;
    CapacityConfig capacity;
    double capacity_rps = 0;        ///< Given (> 0): no search.
    std::vector<double> load_pcts;  ///< Open-loop phases at these % of the capacity.
    bool overload_step = false;
    OverloadConfig overload;  ///< capacity_rps is filled in here.
    /** Keep every arrival of the open-loop phases (--rate and the load shares) in
     *  RunReport::arrival_logs, for --arrival_log. */
    bool log_arrivals = false;

    bool needs_capacity() const noexcept {
        return find_capacity || overload_step || !load_pcts.empty();
    }
};

/** One open-loop phase's arrivals (RunOptions::log_arrivals), with what turns their latencies
 *  into slowdowns. */
struct LoggedPhase {
    std::string name;
    uint64_t warmup_ns = 0;  ///< Arrivals scheduled before this are not measured.
    uint64_t unloaded_ns[kNumBuckets] = {};
    std::unique_ptr<ArrivalLog> log;  ///< On the heap: the phase held its address.
};

struct RunReport {
    std::vector<PhaseResult> phases;
    std::vector<LoggedPhase> arrival_logs;  ///< RunOptions::log_arrivals, in phase order.
    std::optional<CapacityResult> capacity;
    std::optional<OverloadResult> overload;
    uint64_t unloaded_p99_ns = 0;  ///< Of the calibration before the capacity phases.
    double capacity_rps = 0;       ///< What the capacity-based phases used (0: none).
};

RunReport run_all(LoadDriver &driver, const RunOptions &o, const std::atomic<bool> &quit);

/** The calibration phase: one RPC at a time, no load (`seconds` long). */
PhaseResult run_unloaded(LoadDriver &driver, const PhaseSpec &like, double seconds,
                         const std::atomic<bool> &quit);

}  // namespace homa::perf
