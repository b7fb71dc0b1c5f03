// Slowdown statistics of a run: per size bucket (the Homa paper's x-axis, deciles of the
// workload's message count), for Homa and the oracle from the same arrivals; the load a run
// achieved; and the targets as ratios (<= 1 meets the target).
//
// Slowdown = (completion - arrival) / Topology::unloaded_time(length). A message that never
// completed counts with its time up to the end of the run (a lower bound) and is reported as
// incomplete.
//
// Threading: pure functions. Errors: none.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "apps/common/workload.h"
#include "apps/sim/arrivals.h"
#include "apps/sim/topology.h"

namespace homa::sim {

struct Percentiles {
    double p50 = 0;
    double p99 = 0;
};

struct Bucket {
    uint32_t max_bytes = 0;  ///< Messages of (previous bucket's max, max_bytes] bytes.
    uint64_t count = 0;
    Percentiles homa;
    std::optional<Percentiles> oracle;
};

/** Upper bounds of the size buckets: the lengths at which the workload's CDF (by message
 *  count) reaches 10 %, 20 %, ... 100 %; a length reached by several deciles is one bucket. */
std::vector<uint32_t> decile_bounds(const apps::Workload &w);

/** The smallest length at which the workload's CDF (by message count) reaches `fraction`:
 *  0.5 gives the largest length of the smallest half of its messages. */
uint32_t length_at_fraction(const apps::Workload &w, double fraction);

/** Slowdown of every message (arrival order); incomplete ones measured up to `end`. */
std::vector<double> slowdowns(const Topology &topo, std::span<const MessageSpec> msgs,
                              std::span<const SimTime> completed, SimTime end);

/** p50 and p99 (nearest rank) of `values` (reordered). Zeros for an empty set. */
Percentiles percentiles(std::vector<double> values);

/** Buckets over `bounds`; only messages with `select` true (all when empty). */
std::vector<Bucket> bucketize(std::span<const uint32_t> bounds, std::span<const MessageSpec> msgs,
                              std::span<const double> homa, std::span<const double> oracle,
                              std::span<const bool> select = {});

/** How much of the offered load a run carried, in the units of --load: the fraction of the
 *  host links' time taken by the messages' request and reply frames (rpc_wire_time). The
 *  first half of the arrival window is warm-up; goodput is measured over the second half
 *  (mid = half the last arrival time). */
struct LoadReport {
    double offered = 0;         ///< The --load asked for.
    double arrived = 0;         ///< What the seeded arrivals offered in the second half.
    double achieved = 0;        ///< Of the messages completed in the second half.
    double backlog_mid_mb = 0;  ///< MB arrived but not completed at mid-window.
    double backlog_end_mb = 0;  ///< ... and at the last arrival.
    uint64_t incomplete = 0;    ///< Messages never completed (the run's drain limit passed).
    bool sustained = false;
};

/** Sustained: goodput in the second half >= 95 % of what arrived then (the backlog grew by
 *  less than 5 % of it), and every message completed before the drain limit. */
LoadReport load_report(const Topology &topo, std::span<const MessageSpec> msgs,
                       std::span<const SimTime> completed, double offered);

}  // namespace homa::sim
