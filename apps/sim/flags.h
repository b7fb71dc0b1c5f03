// homa-sim's command line: gflags in, validated ExperimentOptions out. Engine knobs are the
// project's knob table (apps/common/knobs.h) as flags with the Linux defaults, plus
// --unsched_cutoffs and the aliases --overcommit (max_overcommit) and --fifo_grant_fraction
// (grant_fifo_fraction). unsched_bytes and window default to the simulated RTTbytes rounded up
// to whole packets (the paper's sizing), link_mbps to --link_gbps, max_rpcs to 8192 per host
// and max_peers to the number of hosts (memory), unless given. The unscheduled cutoffs and
// max_sched_prio are sized for the workload as the paper does (workload_priorities.h) unless
// --priorities=linux, --unsched_cutoffs (or --max_sched_prio) is given, or the run is incast.
//
// Threading: main thread, after gflags parsed the command line. Errors: false with a message
// naming the bad flag.
#pragma once

#include <string>
#include <vector>

#include "apps/common/workload.h"
#include "apps/sim/experiment.h"

namespace homa::sim {

struct CliOptions {
    ExperimentOptions experiment;
    apps::Workload workload;
    bool json = false;
    std::string plot;                 ///< PNG path, or empty.
    std::vector<double> sweep_loads;  ///< Non-empty: find the maximum sustainable load.
    bool progress = true;
};

bool options_from_flags(CliOptions *out, std::string *error);

}  // namespace homa::sim
