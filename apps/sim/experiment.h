// One homa-sim run: arrivals from the seed, the Homa cluster over them, optionally the SRPT
// oracle over the same arrivals, and everything the report shows. Used by main.cc and by the
// tests, so that the end-to-end test runs exactly what users run.
//
// Threading: one thread. Ownership: results are values. Errors: run_experiment throws
// std::invalid_argument for options that do not validate (validate_options says why first).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "apps/common/workload.h"
#include "apps/sim/homa_cluster.h"
#include "apps/sim/slowdown.h"
#include "apps/sim/topology.h"
#include "homa/proto/config.h"

namespace homa::sim {

struct IncastOptions {
    uint32_t senders = 0;  ///< 0: no incast (Poisson all-to-all instead).
    uint32_t big_bytes = 1'000'000;
    uint32_t probes = 200;
    uint32_t probe_bytes = 100;
};

struct ExperimentOptions {
    Topology topo;
    EngineConfig engine;  ///< local_ip is set per host.
    double load = 0.8;
    uint64_t messages = 10'000;
    uint64_t seed = 1;
    bool oracle = false;
    uint64_t drain_ns = 200'000'000;  ///< Simulated time allowed after the last arrival.
    IncastOptions incast;
};

/** Empty string if usable, else why not. */
std::string validate_options(const ExperimentOptions &o);

struct Targets {
    double small_half_p99 = 0;  ///< p99 slowdown of messages up to the median length.
    uint32_t small_half_max_bytes = 0;
    std::optional<double> worst_bucket_vs_oracle;  ///< max over buckets of homa p99 / oracle p99.
    uint32_t worst_bucket_bytes = 0;
    // Incast only.
    std::optional<double> incast_link_busy;  ///< Receiver's link busy while the big ones ran.
    std::optional<double> incast_probe_p99;  ///< p99 slowdown of the short probe messages.
};

struct ExperimentResult {
    std::string workload;
    std::vector<MessageSpec> messages;
    std::vector<SimTime> homa_done;
    std::vector<SimTime> oracle_done;  ///< Empty without the oracle.
    std::vector<Bucket> buckets;
    LoadReport homa_load;
    std::optional<LoadReport> oracle_load;
    ClusterStats cluster;
    Targets targets;
    double wall_seconds = 0;  ///< The Homa run, after its engines were built.
    double oracle_wall_seconds = 0;
};

using ProgressFn = std::function<void(SimTime now, uint64_t done, uint64_t total)>;

/** Runs one experiment; `workload` supplies lengths (ignored with incast) and the buckets. */
ExperimentResult run_experiment(const ExperimentOptions &o, const apps::Workload &workload,
                                const ProgressFn &progress = {});

}  // namespace homa::sim
