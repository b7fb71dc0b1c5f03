// Printing homa-perf results: a short human table, or JSON for scripts. Both carry the same
// facts: per phase the rates and latencies of the measured window, and everything that went
// wrong in the whole phase (errors by cause, skipped arrivals, unfinished RPCs), never hidden.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "echo_server.h"
#include "packet_summary.h"
#include "phase.h"
#include "runner.h"

namespace homa::perf {

struct RunInfo {
    std::string mode;    ///< e.g. "net_null local delivery, one worker lcore".
    std::string memory;  ///< "hugepages" or "--no-huge (no hugepages available)".
    std::string driver;
    double tsc_ghz = 0;
};

struct Report {
    RunInfo info;
    RunReport run;
    std::vector<EngineSummary> engines;  ///< Where packets went, per engine in this process.
    std::optional<ServerStats> server;   ///< The echo server in this process, if any.
};

void print_table(FILE *out, const Report &r);
void print_json(FILE *out, const Report &r);
/** Writes every phase's RTT CDF as text: "# phase <name> <workload> <outstanding>" then one
 *  "<rtt_us> <fraction <= rtt>" line per non-empty histogram bucket (about 1 % resolution),
 *  phases separated by two blank lines (gnuplot's `index`). */
void print_cdf(FILE *out, const std::vector<PhaseResult> &phases);

}  // namespace homa::perf
