// Files homa-perf writes after a run for analysis offline (apps/bench/stall_split.py): every
// open-loop arrival (--arrival_log) and every gap between two polls of a worker (--gap_log),
// both on the TSC, which the processes of one host share, so that a client's RPCs can be
// matched against both ends' gaps (docs/perf.md, "Tails and the lcores' gaps").
#pragma once

#include <string>
#include <vector>

#include "gap_share.h"
#include "homa/dataplane/worker.h"
#include "runner.h"

namespace homa::perf {

/** One worker's gaps and counters, for write_gap_log. */
struct GapSource {
    std::string role;  ///< "client", "server" or "client+server".
    const GapLogMemory *gaps = nullptr;
    const dp::Worker *worker = nullptr;  ///< Its threshold and not-logged count.
};

/** Writes `phases` (RunReport::arrival_logs) to `path`: a header with the TSC rate and the
 *  size buckets, then per phase a line naming it (its start TSC, measured-from offset,
 *  unloaded RTT per bucket, arrivals not logged) and a line per arrival: scheduled ns since
 *  the start, latency ns (0 unless completed), length, outcome letter (C completed, E error,
 *  S skipped, U unfinished, P pending). False and `error` set if the file cannot be written. */
bool write_arrival_log(const std::string &path, const std::vector<LoggedPhase> &phases,
                       std::string *error);

/** Writes every source's gaps to `path`: the TSC rate, then per source a line with its role,
 *  threshold, gaps counted and not logged, then "gap <role> <start_tsc> <end_tsc>" lines.
 *  False and `error` set if the file cannot be written. */
bool write_gap_log(const std::string &path, const std::vector<GapSource> &sources,
                   std::string *error);

}  // namespace homa::perf
