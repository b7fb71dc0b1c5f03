// Printing homa-perf results: a short human table, or JSON for scripts.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "echo_load.h"

namespace homa::perf {

struct RunInfo {
    std::string mode;        ///< e.g. "net_null local delivery, one worker lcore".
    std::string memory;      ///< "hugepages" or "--no-huge (no hugepages available)".
    std::string driver;
    double tsc_ghz = 0;
};

void print_table(FILE *out, const RunInfo &info, const std::vector<PhaseResult> &phases);
void print_json(FILE *out, const RunInfo &info, const std::vector<PhaseResult> &phases);
/** Writes every phase's RTT CDF as text: "# phase <name> <workload> <outstanding>" then one
 *  "<rtt_us> <fraction <= rtt>" line per non-empty histogram bucket (about 1 % resolution),
 *  phases separated by two blank lines (gnuplot's `index`). */
void print_cdf(FILE *out, const std::vector<PhaseResult> &phases);

}  // namespace homa::perf
