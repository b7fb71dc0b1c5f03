// homa-perf's mixed workload against a file service (docs/file_service.md; the launcher's
// --serve_file): an open loop of evenly spaced RPCs, every k-th a read of `file_bytes` from the
// served file (k = 1 / fraction), the rest small echoes. Phases side by side:
//   echo only        the same arrivals with no file traffic: the baseline echo latency;
//   prefetch         reads answered through the server's control lcore (the worker never waits);
//   no prefetch      reads flagged kFlagNoPrefetch: the server's worker reads the pages itself,
//                    as a plain sendfile would (the server must allow it).
// Before every phase the client asks the server to evict the file (pager memory and page
// cache, posix_fadvise DONTNEED there), so reads start cold; reads walk the file in order and
// count as cold until they wrap around. After each phase the server's counters are fetched
// (kCounters), so worker-blocked time and pulls are reported per phase.
// Rounds (FileMixOptions::rounds) repeat the phases, interleaved, so that every phase sees the
// same moments of the machine: on a 2-core host the echo tail is set by stalls of the host
// that come and go over seconds, and one long phase after another compares two different
// machines. Each phase's echo p99 is then compared with the echo-only p99 of its own round.
// Run on the client's worker lcore (run-to-completion: this thread polls the host's worker 0).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "apps/common/file_protocol.h"
#include "error_counts.h"
#include "homa/v2/host.h"
#include "homa/v2/socket.h"
#include "latency_histogram.h"

namespace homa::perf {

struct FileMixOptions {
    std::string file;       ///< Served name.
    Endpoint files;         ///< The file service.
    Endpoint echo;          ///< The echo service.
    double fraction = 0.1;  ///< Share of RPCs that read the file.
    uint32_t file_bytes = apps::file::kMaxRead;
    uint32_t echo_bytes = 100;
    double rate = 1000;   ///< RPCs per second, all kinds.
    double duration = 3;  ///< Seconds of arrivals per phase.
    double drain = 5;     ///< Seconds to wait for the last responses.
    uint32_t max_outstanding = 4096;
    /** Phases, in order: "echo", "prefetch", "noprefetch". */
    std::vector<std::string> phases = {"echo", "prefetch", "noprefetch"};
    /** Times through the phases. Round r starts at phase r mod (number of phases), so that no
     *  phase always follows the same one. */
    uint32_t rounds = 1;
    std::string verify_path;  ///< If set: compare read bytes with this local copy.
};

struct FileMixPhase {
    std::string name;
    uint32_t round = 0;  ///< 0-based; in pooled results, the number of rounds pooled.
    LatencyHistogram echo, file;
    uint64_t echo_errors = 0;
    uint64_t file_ok = 0, file_errors = 0, file_bad_bytes = 0;
    // The two error totals above, split by cause: a send the stack refused, an RPC that ended
    // with an error, and (reads) an answer that was not a whole read: a status other than ok,
    // a response that does not decode or has the wrong length, or wrong bytes.
    ErrorCounts echo_send_errors, echo_rpc_errors;
    uint64_t echo_bad_length = 0;
    ErrorCounts file_send_errors, file_rpc_errors;
    uint64_t file_bad_status = 0, file_malformed = 0;
    uint64_t cold_reads = 0;  ///< Reads before the walk wrapped around the file.
    uint64_t file_bytes = 0;  ///< Data bytes received.
    uint64_t skipped = 0;     ///< Arrivals with max_outstanding already in flight.
    uint64_t unfinished = 0;
    double seconds = 0;                   ///< From the first arrival to the last response.
    std::string evict;                    ///< What the evict before the phase answered.
    apps::file::ServerCounters server{};  ///< Server counters accrued during the phase.
    bool server_ok = false;
    std::string last_error;  ///< One example of a file error, for the report.
};

/** Runs every round's phases and appends one result per round and phase, in the order run;
 *  false with `error` if the file service cannot be reached at all (then `out` holds the
 *  phases that ran). */
bool run_file_mix(v2::Host &host, v2::Socket &client, const FileMixOptions &o,
                  const std::atomic<bool> &quit, std::vector<FileMixPhase> *out,
                  std::string *error);

/** The results of every round pooled per phase, in `o.phases` order: latencies merged, counts
 *  and server deltas summed (the server's pull percentiles are its last, which span its life),
 *  `round` set to the number of rounds pooled. */
std::vector<FileMixPhase> pool_file_mix(const FileMixOptions &o,
                                        const std::vector<FileMixPhase> &phases);

/** A phase's echo p99 over the echo-only phase's. */
struct EchoP99Ratio {
    std::string phase;
    double pooled = 0;              ///< Over the pooled results; 0 without echo-only samples.
    std::vector<double> per_round;  ///< Within each round that has both, sorted ascending.
};

/** One ratio per phase other than "echo"; empty when "echo" is not among the phases. */
std::vector<EchoP99Ratio> echo_p99_ratios(const FileMixOptions &o,
                                          const std::vector<FileMixPhase> &phases);

/** Text report: the pooled phases, then (with rounds) every round and the ratios. */
void print_file_mix(FILE *f, const FileMixOptions &o, const std::vector<FileMixPhase> &phases);
/** JSON report: "phases" pooled (as with one round), "rounds" every round's phases, and
 *  "echo_p99_ratios". */
void print_file_mix_json(FILE *f, const FileMixOptions &o, const std::vector<FileMixPhase> &phases);

}  // namespace homa::perf
