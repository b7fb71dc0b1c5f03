// homa-sim's output: the human table (with the targets as ratios), the one-object JSON that
// scripts read, and the gnuplot PNG of slowdown by message size (Homa beside the oracle).
//
// Threading: one thread. Errors: write_plot returns false with `why` set when gnuplot is
// missing or fails (the caller says so and carries on).
#pragma once

#include <cstdio>
#include <string>

#include "apps/sim/experiment.h"

namespace homa::sim {

/** Facts about the run that are not in the result. */
struct RunInfo {
    std::string command;       ///< The command line, for reproduction.
    double load_average = -1;  ///< 1-minute load average while it ran (-1: unknown).
    std::optional<double> max_sustainable_load;         ///< From a --find_max_load sweep (Homa).
    std::optional<double> max_sustainable_load_oracle;  ///< The same for the SRPT oracle.
    std::string sweep;  ///< The sweep's lines ("load sustained achieved ..."), if any.
};

void print_table(std::FILE *out, const ExperimentOptions &o, const ExperimentResult &r,
                 const RunInfo &info);
void print_json(std::FILE *out, const ExperimentOptions &o, const ExperimentResult &r,
                const RunInfo &info);
/** Writes `png` with gnuplot: p50 and p99 slowdown per bucket, Homa and (if run) the oracle. */
bool write_plot(const std::string &png, const ExperimentOptions &o, const ExperimentResult &r,
                std::string *why);

}  // namespace homa::sim
